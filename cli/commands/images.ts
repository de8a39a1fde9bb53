/** `crossborder images`: every image a Helm release deploys and its China-side rewrite (cli/images.ts). */
import { Command } from "commander";
import * as o from "./options";

export interface ImagesCommandOptions {
    readonly values?: string;
    readonly chart?: string;
    readonly mirrors: string;
    readonly stackOutputs?: string;
    readonly stacksDir: string;
    readonly json?: boolean;
    readonly rewrite?: boolean;
}

export function imagesCommand(): Command {
    return new Command("images")
        .description("list every image a Helm release deploys and its China-side rewrite")
        .option("--values <file>", "Helm values file (the chart's values.yaml or a release's values)")
        .option("--chart <file>", "chart archive (.tgz): also finds images of bundled dependency charts")
        .addOption(o.mirrors())
        .option("--stack-outputs <file>", "the china stack's outputs (pulumi stack output --json -s china)")
        .addOption(o.stacksDir("where Pulumi.china.yaml is, when no stack outputs are given"))
        .option("--json", "machine-readable output")
        .option("--rewrite", "print the override values that rewrite every image")
        .action((opts: ImagesCommandOptions) => {
            const { runImages } = require("../images") as typeof import("../images");
            process.stdout.write(runImages({ ...opts, mirrorsFile: opts.mirrors }) + "\n");
        });
}
