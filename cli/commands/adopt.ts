/** `crossborder adopt FLEET --from <cluster path>`: the china side of an existing Flux fleet (cli/adopt.ts, gitops/adopt/). */
import { Command } from "commander";
import * as o from "./options";

export interface AdoptCommandOptions {
    readonly from: string;
    readonly cluster: string;
    readonly charts?: string;
    readonly chartArchives?: string;
    readonly mirrors: string;
    readonly stackOutputs?: string;
    readonly stacksDir: string;
    readonly catalog: string;
    readonly cache: boolean;
}

export function adoptCommand(): Command {
    return new Command("adopt")
        .description(
            "write the china cluster's side of an existing Flux fleet beside its own files (never changing them): overlays that move every chart and image to the China registry, proven on the Helm engine, and the inventory",
        )
        .argument("<fleet>", "the root of the fleet repository")
        .requiredOption("--from <path>", "the cluster path to adopt, inside the fleet (e.g. clusters/production)")
        .option("--cluster <name>", "the new cluster's name: clusters/<name> and <name>/ overlays", "china")
        .option("--charts <dir>", o.CHARTS_CACHE_HELP)
        .option(
            "--chart-archives <dir>",
            "a folder of chart archives (.tgz) you have: the ones the cache lacks are added to it, each identified by its own Chart.yaml",
        )
        .addOption(o.mirrors())
        .option("--stack-outputs <file>", "the china stack's outputs, for the China registry's endpoint")
        .addOption(o.stacksDir(o.STACKS_DIR_FALLBACK_HELP))
        .option("--catalog <file>", "the catalog whose flux.version the china cluster runs", "gitops/catalog.yaml")
        .option("--no-cache", "neither read nor write the render cache")
        .action(async (fleet: string, opts: AdoptCommandOptions) => {
            const { runAdopt } = require("../adopt") as typeof import("../adopt");
            const { text, code } = await runAdopt({ ...opts, fleet, mirrorsFile: opts.mirrors, noCache: !opts.cache });
            process.stdout.write(text + "\n");
            process.exitCode = code;
        });
}
