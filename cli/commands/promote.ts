/** `crossborder promote`: move the followed tag once China holds everything (cli/promote.ts). */
import { Command } from "commander";
import * as path from "path";
import type { PromoteCliOptions } from "../promote";
import * as o from "./options";

export type PromoteCommandOptions = PromoteCliOptions;

export function promoteCommand(): Command {
    return new Command("promote")
        .description(
            "move the tag the china cluster's Flux follows to a published tree, only once the China instance serves it and everything it pulls (exit 1 naming what is missing)",
        )
        .option("--tree <dir>", "the rendered tree (the one published)", path.join("out", "gitops"))
        .option("--cluster <cluster>", "whose tree: china (or global)", "china")
        .option("--registry <host>", "the origin, where publish pushed (default: the global stack's ACR EE instance)")
        .option("--china <host>", "the China instance that must serve everything (default: the china stack's)")
        .option(
            "--repository <path>",
            "the artifact's repository (default: <registry namespace>/<gitops.artifact.repository>)",
        )
        .option("--source <text>", "as given to publish")
        .option("--revision <text>", "as given to publish")
        .option("--created <time>", "as given to publish")
        .option("--concurrency <n>", "registry requests at a time", "8")
        .addOption(o.plainHttp())
        .addOption(o.stacksDir())
        .action(async (opts: PromoteCommandOptions) => {
            const { runPromote } = require("../promote") as typeof import("../promote");
            process.exitCode = await runPromote(opts);
        });
}
