/** `crossborder bundle` / `crossborder bundle load`: air-gapped delivery (cli/bundle.ts, gitops/bundle). */
import { Command } from "commander";
import * as path from "path";
import type { BundleCliOptions } from "../bundle";
import * as o from "./options";

export type BundleCommandOptions = BundleCliOptions;

export function bundleCommand(): Command {
    const load = new Command("load")
        .description(
            "check a bundle against its bundle.json, then push it into the site's registry under the same China names (resumable); exit 1 if it does not match",
        )
        .argument("<bundle>", "the folder crossborder bundle wrote")
        .requiredOption("--registry <host>", "the site's registry (host[:port])")
        .addOption(o.plainHttp())
        .action(async (bundle: string, _opts: unknown, cmd: Command) => {
            const { runBundleLoad } = require("../bundle") as typeof import("../bundle");
            // bundle's own --plain-http may have taken the flag: read both levels.
            const opts = cmd.optsWithGlobals() as { registry: string; plainHttp?: boolean };
            process.stdout.write((await runBundleLoad(bundle, opts)) + "\n");
        });
    return new Command("bundle")
        .description(
            "write one folder with every image, chart and the china tree artifact the china cluster needs, for a site with no outbound traffic (resumable)",
        )
        .option("--tree <dir>", "the rendered tree", path.join("out", "gitops"))
        .option("--out <dir>", "the bundle folder", path.join("out", "bundle"))
        .option("--charts <dir>", o.CHARTS_CACHE_HELP)
        .option("--from-upstream", "read images from their upstream registries instead of the origin registry")
        .option("--source-registry <host>", "read the origin's images from this host instead of the inventory's")
        .addOption(o.plainHttp())
        .addOption(o.stacksDir())
        .action(async (opts: BundleCommandOptions) => {
            const { runBundle } = require("../bundle") as typeof import("../bundle");
            process.stdout.write((await runBundle(opts)) + "\n");
        })
        .addCommand(load);
}
