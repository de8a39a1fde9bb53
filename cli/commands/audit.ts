/** `crossborder audit DIR`: follow a Flux tree as Flux does and judge what the china clusters pull (cli/render.ts). */
import { Command } from "commander";
import * as o from "./options";

export interface AuditCommandOptions {
    readonly catalog?: string;
    readonly fluxVersion?: string;
    readonly json?: boolean;
    readonly verbose?: boolean;
    readonly charts?: string;
    readonly strict?: boolean;
    readonly render: boolean;
    readonly mirrors: string;
    readonly stackOutputs?: string;
    readonly stacksDir: string;
    readonly chinaCluster: string[];
    readonly assumeCluster?: string;
    readonly lock?: string;
}

export function auditCommand(): Command {
    return new Command("audit")
        .description(
            "follow a Flux tree as Flux does, render its HelmReleases on the Helm engine, and fail (exit 1) when a china cluster pulls from outside China or a part cannot be read",
        )
        .argument("<dir>", "the root of a Flux tree (clusters/<name>/ per cluster)")
        .option("--json", "machine-readable output")
        .option("--verbose", "list every image and source, not only what is wrong")
        .option("--charts <dir>", o.CHARTS_CACHE_HELP)
        .option("--strict", "a china HelmRelease that cannot be rendered is a failure too (use in pull requests)")
        .option("--no-render", "judge HelmReleases on their values only (never OK under --strict)")
        .addOption(o.mirrors(o.BORDER_MIRRORS_HELP))
        .option("--stack-outputs <file>", "stack outputs, for the China registry's endpoint")
        .addOption(o.stacksDir(o.STACKS_DIR_FALLBACK_HELP))
        .option("--china-cluster <name...>", "clusters that must pull only from inside China", ["china"])
        .option("--assume-cluster <name>", "attribute files that no cluster's Kustomizations reach to this cluster")
        .option(
            "--catalog <file>",
            "the catalog: its lock identifies chart archives, its flux.version is the Flux the clusters run (default: gitops/catalog.yaml)",
        )
        .option("--flux-version <version>", "judge as this Flux release instead of the catalog's flux.version")
        .option(
            "--lock <file>",
            "the chart lock that identifies the tree's chart archives instead of the catalog's (an adopted fleet: inventory/charts.lock)",
        )
        .action(async (dir: string, opts: AuditCommandOptions) => {
            const { runAudit } = require("../audit") as typeof import("../audit");
            const { text, code } = await runAudit({
                ...opts,
                dir,
                mirrorsFile: opts.mirrors,
                chinaClusters: opts.chinaCluster,
                noRender: !opts.render,
            });
            process.stdout.write(text + "\n");
            process.exitCode = code;
        });
}
