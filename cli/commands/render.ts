/** `crossborder render`: the Flux tree for both clusters from the catalog (cli/render.ts, gitops/render/). */
import { Command } from "commander";
import * as path from "path";
import * as o from "./options";

export interface RenderCommandOptions {
    readonly catalog: string;
    readonly mirrors: string;
    readonly stackOutputs?: string;
    readonly stacksDir: string;
    readonly out: string;
    readonly charts?: string;
    readonly strict?: boolean;
    readonly cache: boolean;
    readonly force?: boolean;
    readonly rewrite: boolean;
}

export function renderCommand(): Command {
    return new Command("render")
        .description(
            "render the Flux tree for both clusters from the catalog, each release proven on the Helm engine (china side rewritten to registries inside China)",
        )
        .option("--catalog <file>", "catalog file", "gitops/catalog.yaml")
        .addOption(o.mirrors())
        .option(
            "--stack-outputs <file>",
            'stack outputs: one stack\'s `pulumi stack output --json`, or {"global": ..., "china": ...}',
        )
        .addOption(o.stacksDir(o.STACKS_DIR_FALLBACK_HELP))
        .option("--out <dir>", "output directory", path.join("out", "gitops"))
        .option(
            "--charts <dir>",
            "the chart cache that crossborder charts pull fills (default: ~/.cache/crossborder/charts)",
        )
        .option("--strict", "refuse to render when a release's chart archive is not in the cache")
        .option("--no-cache", "neither read nor write the render cache")
        .option(
            "--force",
            "overwrite generated files edited by hand and user files in the way; write into /, home or a folder holding another repository",
        )
        .option("--no-rewrite", "leave the china cluster pulling from upstream (to audit the difference)")
        .action(async (opts: RenderCommandOptions) => {
            const { runRender } = require("../render") as typeof import("../render");
            const text = await runRender({
                ...opts,
                mirrorsFile: opts.mirrors,
                noRewrite: !opts.rewrite,
                noCache: !opts.cache,
            });
            process.stdout.write(text + "\n");
        });
}
