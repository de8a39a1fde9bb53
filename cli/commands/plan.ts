/** `crossborder plan`: the offline plan of the stacks (cli/plan.ts). */
import { Command, Option } from "commander";
import * as path from "path";
import { EXIT_FINDINGS } from "../../core/errors";
import * as o from "./options";

export interface PlanCommandOptions {
    readonly stack: "global" | "china" | "all";
    readonly out: string;
    readonly stacksDir: string;
}

export function planCommand(): Command {
    return new Command("plan")
        .description(
            "offline plan of the stacks: runs the program under Pulumi's mock runtime and records every resource",
        )
        .addOption(
            new Option("--stack <stack>", "which stack to plan").choices(["global", "china", "all"]).default("all"),
        )
        .option("--out <dir>", "where to write <stack>.json", path.join("out", "plan"))
        .addOption(o.stacksDir())
        .action(async (opts: PlanCommandOptions) => {
            const { runPlan } = require("../plan") as typeof import("../plan");
            const stacks = opts.stack === "all" ? (["global", "china"] as const) : [opts.stack];
            const result = await runPlan({ stacks, stacksDir: opts.stacksDir, outDir: opts.out });
            process.stdout.write(result.summary + "\n");
            if (result.failed) process.exitCode = EXIT_FINDINGS;
        });
}
