/** `crossborder order`: the first bring-up of the pair (stacks/bring-up.ts, printed by cli/order.ts). */
import { Command } from "commander";
import * as o from "./options";

export interface OrderCommandOptions {
    readonly stacksDir: string;
}

export function orderCommand(): Command {
    return new Command("order")
        .description("the first bring-up of the two stacks, step by step, and what each step creates")
        .addOption(o.stacksDir())
        .action((opts: OrderCommandOptions) => {
            const { bringUpOrder } = require("../order") as typeof import("../order");
            process.stdout.write(bringUpOrder(opts.stacksDir) + "\n");
        });
}
