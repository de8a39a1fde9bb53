/** `crossborder diff OLD NEW`: what a change does to each cluster before it merges (cli/diff.ts). */
import { Command } from "commander";
import * as o from "./options";

export interface DiffCommandOptions {
    readonly json?: boolean;
    readonly sizes?: boolean;
    readonly charts?: string;
    readonly catalog?: string;
    readonly mirrors: string;
    readonly stackOutputs?: string;
    readonly stacksDir: string;
}

export function diffCommand(): Command {
    return new Command("diff")
        .description(
            "what a change does to each cluster before it merges: objects added, removed and changed as Flux applies them (HelmReleases rendered), images and charts to copy into China, new hosts; exit 1 when anything changes",
        )
        .argument("<old>", "the old tree: a folder, or REVISION:PATH of this Git repository")
        .argument("<new>", "the new tree: a folder, or REVISION:PATH")
        .option("--json", "machine-readable output")
        .option("--sizes", "ask the upstream registries how big each image to copy is")
        .option("--charts <dir>", o.CHARTS_CACHE_HELP)
        .option("--catalog <file>", "the catalog: its lock and its flux.version (default: gitops/catalog.yaml)")
        .addOption(o.mirrors(o.BORDER_MIRRORS_HELP))
        .option("--stack-outputs <file>", "stack outputs, for the China registry's endpoint")
        .addOption(o.stacksDir(o.STACKS_DIR_FALLBACK_HELP))
        .action(async (oldTree: string, newTree: string, opts: DiffCommandOptions) => {
            const { runDiff } = require("../diff") as typeof import("../diff");
            const { text, code } = await runDiff({ ...opts, old: oldTree, new: newTree, mirrorsFile: opts.mirrors });
            process.stdout.write(text + "\n");
            process.exitCode = code;
        });
}
