/** `crossborder example`: the embedded example end to end, offline (cli/example.ts; npm start). */
import { Command } from "commander";

export interface ExampleCommandOptions {
    readonly out: string;
}

export function exampleCommand(): Command {
    return new Command("example")
        .description(
            "the embedded example end to end, offline: plan both stacks, render the tree, audit it, and say what to do next (npm start)",
        )
        .option("--out <dir>", "where out/plan and out/gitops go", "out")
        .action(async (opts: ExampleCommandOptions) => {
            const { runExample } = require("../example") as typeof import("../example");
            process.exitCode = await runExample(opts.out);
        });
}
