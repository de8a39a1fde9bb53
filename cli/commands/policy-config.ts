/** `crossborder policy-config`: the policy pack config a stack file implies (policies/offline.ts). */
import { Command } from "commander";
import { UsageError } from "../util";
import * as o from "./options";

export interface PolicyConfigCommandOptions {
    readonly stack: string;
    readonly stacksDir: string;
}

export function policyConfigCommand(): Command {
    return new Command("policy-config")
        .description(
            "the policy pack config a stack file implies (side, ICP licence, public prefix), for pulumi preview --policy-pack-config",
        )
        .requiredOption("--stack <stack>", "global or china")
        .addOption(o.stacksDir())
        .action((opts: PolicyConfigCommandOptions) => {
            if (opts.stack !== "global" && opts.stack !== "china")
                throw new UsageError(`--stack ${opts.stack}: use global or china`);
            const { StackSources } =
                require("../../stacks/gitops-inputs") as typeof import("../../stacks/gitops-inputs");
            const { stackPolicyConfig } = require("../../policies/offline") as typeof import("../../policies/offline");
            const cfg = new StackSources({ stacksDir: opts.stacksDir }).config(opts.stack);
            process.stdout.write(JSON.stringify(stackPolicyConfig(cfg), null, 2) + "\n");
        });
}
