/**
 * The `crossborder` command. Exit codes: 0 clean, 1 findings (policy violations, cross-border pulls),
 * 2 usage or configuration errors. User mistakes print a message naming the file, key or line and the
 * fix, never a stack trace.
 */
import { Command, CommanderError, Option } from "commander";
import * as path from "path";
import { StackFileError } from "../stacks/stackfile";
import { SourceError } from "../core/yaml-source";
import { UsageError } from "./util";

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

/** Errors that are the user's to fix: printed as they are, exit 2. */
function isUserError(e: unknown): e is Error {
    return (
        e instanceof UsageError ||
        e instanceof StackFileError ||
        e instanceof SourceError ||
        (e instanceof Error &&
            [
                "PlanConfigError",
                "ConfigError",
                "MirrorError",
                "WriterError",
                "ToolError",
                "HelmError",
                "ChartCacheError",
                "ManifestError",
                "PublishError",
            ].includes(e.name))
    );
}

/**
 * A file-system refusal on a path the user gave (a file where a folder must be, a name too long, no
 * permission, a read-only or full disk): the user's to fix, so exit 2 with the path and the reason.
 */
const FS_CODES: Record<string, string> = {
    ENOENT: "does not exist",
    ENOTDIR: "a part of it is a file, not a folder",
    EISDIR: "is a folder, not a file",
    EEXIST: "already exists",
    ENAMETOOLONG: "the name is too long for the file system",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "the file system is read-only",
    ENOSPC: "no space left on the device",
    ELOOP: "too many symbolic links",
    EMFILE: "too many open files",
};

function fsProblem(e: unknown): string | undefined {
    const err = e as NodeJS.ErrnoException;
    if (!err || typeof err.code !== "string" || !(err.code in FS_CODES) || typeof err.path !== "string")
        return undefined;
    return `${err.path}: ${FS_CODES[err.code]} (${err.code}${err.syscall ? ` in ${err.syscall}` : ""}); check the path and its permissions`;
}

/** Findings: the check looked and found something (exit 1). */
function isFinding(e: unknown): e is Error {
    return e instanceof Error && ["RenderFindings", "PublishRefused", "RegistryError"].includes(e.name);
}

export function buildCli(): Command {
    const program = new Command("crossborder")
        .description(
            "Paired global and china Kubernetes stacks, and a Flux GitOps tree that never pulls across the border",
        )
        .version(require("../package.json").version, "--version", "print crossborder's version")
        .exitOverride()
        .configureOutput({ writeErr: (s) => process.stderr.write(s) });

    program
        .command("plan")
        .description(
            "offline plan of the stacks: runs the program under Pulumi's mock runtime and records every resource",
        )
        .addOption(
            new Option("--stack <stack>", "which stack to plan").choices(["global", "china", "all"]).default("all"),
        )
        .option("--out <dir>", "where to write <stack>.json", path.join("out", "plan"))
        .option("--stacks-dir <dir>", "directory holding Pulumi.global.yaml and Pulumi.china.yaml", "stacks")
        .action(async (opts: { stack: string; out: string; stacksDir: string }) => {
            const { runPlan } = require("./plan") as typeof import("./plan");
            const stacks =
                opts.stack === "all" ? (["global", "china"] as const) : ([opts.stack] as ["global" | "china"]);
            const result = await runPlan({ stacks, stacksDir: opts.stacksDir, outDir: opts.out });
            process.stdout.write(result.summary + "\n");
            if (result.failed) process.exitCode = EXIT_FINDINGS;
        });

    program
        .command("example")
        .description(
            "the embedded example end to end, offline: plan both stacks, render the tree, audit it, and say what to do next (npm start)",
        )
        .option("--out <dir>", "where out/plan and out/gitops go", "out")
        .action(async (opts: { out: string }) => {
            const { runExample } = require("./example") as typeof import("./example");
            process.exitCode = await runExample(opts.out);
        });

    program
        .command("verify-mirror")
        .description(
            "check that every image of an inventory is in the target registry with the upstream digest (exit 1 if not)",
        )
        .option("--inventory <file>", "inventory/images.txt of a rendered tree")
        .option(
            "--artifact <ref>",
            "a published tree, <repository>:<tag>@<digest> (crossborder publish prints it); needs --registry",
        )
        .option("--charts <file>", "the chart inventory (default: charts.txt beside --inventory, when present)")
        .option(
            "--registry <host>",
            "check on this registry host (e.g. the China instance) instead of the inventory's destination host; the only host credentials are sent to",
        )
        .option("--plain-http", "talk plain HTTP (loopback test registries)")
        .option("--concurrency <n>", "requests in flight", "8")
        .option("--timeout <ms>", "timeout per request", "10000")
        .option("--retries <n>", "retries on connection errors, 5xx and 429", "5")
        .option("--no-compare-upstream", "do not ask the upstream for digests the inventory does not pin")
        .option("--json", "machine-readable output")
        .action(async (opts: import("./verify").VerifyCliOptions) => {
            const { runVerify } = require("./verify") as typeof import("./verify");
            process.exitCode = await runVerify(opts);
        });

    program
        .command("order")
        .description("the first bring-up of the two stacks, step by step, and what each step creates")
        .option("--stacks-dir <dir>", "directory holding Pulumi.global.yaml and Pulumi.china.yaml", "stacks")
        .action((opts: { stacksDir: string }) => {
            const { bringUpOrder } = require("./order") as typeof import("./order");
            process.stdout.write(bringUpOrder(opts.stacksDir) + "\n");
        });

    program
        .command("publish")
        .description(
            "push the tree a cluster reconciles (default china) to the origin registry as a Flux OCI artifact; replication carries it into China",
        )
        .option("--tree <dir>", "the rendered tree", path.join("out", "gitops"))
        .option("--cluster <cluster>", "whose tree: china (or global)", "china")
        .option("--registry <host>", "where to push (default: the origin ACR EE instance of the global stack)")
        .option(
            "--repository <path>",
            "the artifact's repository (default: <registry namespace>/<gitops.artifact.repository>)",
        )
        .option(
            "--tag <tag>",
            "the candidate tag to push (default: <gitops.artifact.tag>-candidate; never the tag Flux follows: crossborder promote moves that)",
        )
        .option("--source <text>", "org.opencontainers.image.source annotation (default: crossborder render)")
        .option("--revision <text>", "org.opencontainers.image.revision annotation (default: the tag)")
        .option("--created <time>", "org.opencontainers.image.created (default: SOURCE_DATE_EPOCH, else the epoch)")
        .option("--plain-http", "talk plain HTTP (loopback test registries)")
        .option("--dry-run", "build the artifact and print its digest without pushing")
        .option("--stacks-dir <dir>", "directory holding Pulumi.global.yaml and Pulumi.china.yaml", "stacks")
        .action(async (opts: import("./publish").PublishCliOptions) => {
            const { runPublish } = require("./publish") as typeof import("./publish");
            process.exitCode = await runPublish(opts);
        });

    program
        .command("diff")
        .description(
            "what a change does to each cluster before it merges: objects added, removed and changed as Flux applies them (HelmReleases rendered), images and charts to copy into China, new hosts; exit 1 when anything changes",
        )
        .argument("<old>", "the old tree: a folder, or REVISION:PATH of this Git repository")
        .argument("<new>", "the new tree: a folder, or REVISION:PATH")
        .option("--json", "machine-readable output")
        .option("--sizes", "ask the upstream registries how big each image to copy is")
        .option(
            "--charts <dir>",
            "the chart cache HelmReleases are rendered from (default: ~/.cache/crossborder/charts)",
        )
        .option("--catalog <file>", "the catalog: its lock and its flux.version (default: gitops/catalog.yaml)")
        .option("--mirrors <file>", "mirrors file (its chinaHosts decide what is inside China)", "gitops/mirrors.yaml")
        .option("--stack-outputs <file>", "stack outputs, for the China registry's endpoint")
        .option("--stacks-dir <dir>", "where the stack files are, for what stack outputs do not give", "stacks")
        .action(
            async (
                oldTree: string,
                newTree: string,
                opts: {
                    json?: boolean;
                    sizes?: boolean;
                    charts?: string;
                    catalog?: string;
                    mirrors: string;
                    stackOutputs?: string;
                    stacksDir: string;
                },
            ) => {
                const { runDiff } = require("./diff") as typeof import("./diff");
                const { text, code } = await runDiff({
                    ...opts,
                    old: oldTree,
                    new: newTree,
                    mirrorsFile: opts.mirrors,
                });
                process.stdout.write(text + "\n");
                process.exitCode = code;
            },
        );

    program
        .command("promote")
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
        .option("--plain-http", "talk plain HTTP (loopback test registries)")
        .option("--stacks-dir <dir>", "directory holding Pulumi.global.yaml and Pulumi.china.yaml", "stacks")
        .action(async (opts: import("./promote").PromoteCliOptions) => {
            const { runPromote } = require("./promote") as typeof import("./promote");
            process.exitCode = await runPromote(opts);
        });

    program
        .command("policy-config")
        .description(
            "the policy pack config a stack file implies (side, ICP licence, public prefix), for pulumi preview --policy-pack-config",
        )
        .requiredOption("--stack <stack>", "global or china")
        .option("--stacks-dir <dir>", "directory holding Pulumi.global.yaml and Pulumi.china.yaml", "stacks")
        .action((opts: { stack: string; stacksDir: string }) => {
            if (opts.stack !== "global" && opts.stack !== "china")
                throw new UsageError(`--stack ${opts.stack}: use global or china`);
            const { StackSources } = require("../stacks/gitops-inputs") as typeof import("../stacks/gitops-inputs");
            const { stackPolicyConfig } = require("../policies/offline") as typeof import("../policies/offline");
            const cfg = new StackSources({ stacksDir: opts.stacksDir }).config(opts.stack);
            process.stdout.write(JSON.stringify(stackPolicyConfig(cfg), null, 2) + "\n");
        });

    program
        .command("images")
        .description("list every image a Helm release deploys and its China-side rewrite")
        .option("--values <file>", "Helm values file (the chart's values.yaml or a release's values)")
        .option("--chart <file>", "chart archive (.tgz): also finds images of bundled dependency charts")
        .option("--mirrors <file>", "mirrors file", "gitops/mirrors.yaml")
        .option("--stack-outputs <file>", "the china stack's outputs (pulumi stack output --json -s china)")
        .option("--stacks-dir <dir>", "where Pulumi.china.yaml is, when no stack outputs are given", "stacks")
        .option("--json", "machine-readable output")
        .option("--rewrite", "print the override values that rewrite every image")
        .action(
            (opts: {
                values?: string;
                chart?: string;
                mirrors: string;
                stackOutputs?: string;
                stacksDir: string;
                json?: boolean;
                rewrite?: boolean;
            }) => {
                const { runImages } = require("./images") as typeof import("./images");
                process.stdout.write(runImages({ ...opts, mirrorsFile: opts.mirrors }) + "\n");
            },
        );

    program
        .command("render")
        .description(
            "render the Flux tree for both clusters from the catalog, each release proven on the Helm engine (china side rewritten to registries inside China)",
        )
        .option("--catalog <file>", "catalog file", "gitops/catalog.yaml")
        .option("--mirrors <file>", "mirrors file", "gitops/mirrors.yaml")
        .option(
            "--stack-outputs <file>",
            'stack outputs: one stack\'s `pulumi stack output --json`, or {"global": ..., "china": ...}',
        )
        .option("--stacks-dir <dir>", "where the stack files are, for what stack outputs do not give", "stacks")
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
        .action(
            async (opts: {
                catalog: string;
                mirrors: string;
                stackOutputs?: string;
                stacksDir: string;
                out: string;
                charts?: string;
                strict?: boolean;
                cache: boolean;
                force?: boolean;
                rewrite: boolean;
            }) => {
                const { runRender } = require("./render") as typeof import("./render");
                process.stdout.write(
                    (await runRender({
                        ...opts,
                        mirrorsFile: opts.mirrors,
                        noRewrite: !opts.rewrite,
                        noCache: !opts.cache,
                    })) + "\n",
                );
            },
        );

    const charts = program.command("charts").description("the chart archives the catalog uses");
    charts
        .command("pull")
        .description(
            "fetch every catalog chart at its exact version into the chart cache, and lock its sha256 beside the catalog",
        )
        .option(
            "--catalog <file>",
            "catalog file (the lock is written beside it: catalog.yaml -> catalog.lock)",
            "gitops/catalog.yaml",
        )
        .option("--charts <dir>", "the chart cache (default: ~/.cache/crossborder/charts)")
        .option("--update", "accept archives whose bytes differ from the lock, and record the new sha256")
        .option("--plain-http", "talk plain HTTP to OCI registries (loopback test registries)")
        .action(async (opts: { catalog: string; charts?: string; update?: boolean; plainHttp?: boolean }) => {
            const { runChartsPull } = require("./charts") as typeof import("./charts");
            process.stdout.write((await runChartsPull(opts)) + "\n");
        });

    charts
        .command("add")
        .description(
            "place chart archives carried in by hand into the chart cache and the lock, without the network (each must be a catalog chart at its exact version)",
        )
        .argument("<archive...>", "chart archives (.tgz), e.g. from helm pull on another machine")
        .option("--catalog <file>", "catalog file (the lock beside it is written)", "gitops/catalog.yaml")
        .option("--charts <dir>", "the chart cache (default: ~/.cache/crossborder/charts)")
        .option("--repository <url>", "the catalog repository the archives come from, when two offer the same chart")
        .option("--update", "accept bytes that differ from the lock (a chart republished under its version)")
        .action(
            (archives: string[], opts: { catalog: string; charts?: string; repository?: string; update?: boolean }) => {
                const { runChartsAdd } = require("./charts") as typeof import("./charts");
                process.stdout.write(runChartsAdd({ ...opts, archives }) + "\n");
            },
        );

    program
        .command("audit")
        .description(
            "follow a Flux tree as Flux does, render its HelmReleases on the Helm engine, and fail (exit 1) when a china cluster pulls from outside China or a part cannot be read",
        )
        .argument("<dir>", "the root of a Flux tree (clusters/<name>/ per cluster)")
        .option("--json", "machine-readable output")
        .option("--verbose", "list every image and source, not only what is wrong")
        .option(
            "--charts <dir>",
            "the chart cache HelmReleases are rendered from (default: ~/.cache/crossborder/charts)",
        )
        .option("--strict", "a china HelmRelease that cannot be rendered is a failure too (use in pull requests)")
        .option("--no-render", "judge HelmReleases on their values only (never OK under --strict)")
        .option("--mirrors <file>", "mirrors file (its chinaHosts decide what is inside China)", "gitops/mirrors.yaml")
        .option("--stack-outputs <file>", "stack outputs, for the China registry's endpoint")
        .option("--stacks-dir <dir>", "where the stack files are, for what stack outputs do not give", "stacks")
        .option("--china-cluster <name...>", "clusters that must pull only from inside China", ["china"])
        .option("--assume-cluster <name>", "attribute files that no cluster's Kustomizations reach to this cluster")
        .option(
            "--catalog <file>",
            "the catalog: its lock identifies chart archives, its flux.version is the Flux the clusters run (default: gitops/catalog.yaml)",
        )
        .option("--flux-version <version>", "judge as this Flux release instead of the catalog's flux.version")
        .action(
            async (
                dir: string,
                opts: {
                    catalog?: string;
                    fluxVersion?: string;
                    json?: boolean;
                    verbose?: boolean;
                    charts?: string;
                    strict?: boolean;
                    render: boolean;
                    mirrors: string;
                    stackOutputs?: string;
                    stacksDir: string;
                    chinaCluster: string[];
                    assumeCluster?: string;
                },
            ) => {
                const { runAudit } = require("./render") as typeof import("./render");
                const { text, code } = await runAudit({
                    ...opts,
                    dir,
                    mirrorsFile: opts.mirrors,
                    chinaClusters: opts.chinaCluster,
                    noRender: !opts.render,
                });
                process.stdout.write(text + "\n");
                process.exitCode = code;
            },
        );

    return program;
}

export async function run(argv: readonly string[]): Promise<number> {
    const program = buildCli();
    try {
        await program.parseAsync([...argv], { from: "user" });
        return process.exitCode === undefined ? EXIT_OK : Number(process.exitCode);
    } catch (e) {
        if (e instanceof CommanderError) {
            // Help and version are not errors; everything else commander reports is a usage mistake.
            return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
        }
        if (isUserError(e)) {
            process.stderr.write(`crossborder: ${e.message}\n`);
            return EXIT_USAGE;
        }
        const fsError = fsProblem(e);
        if (fsError) {
            process.stderr.write(`crossborder: ${fsError}\n`);
            return EXIT_USAGE;
        }
        if (isFinding(e)) {
            process.stderr.write(`crossborder: ${e.message}\n`);
            return EXIT_FINDINGS;
        }
        process.stderr.write(`crossborder: internal error: ${(e as Error)?.message ?? String(e)}\n`);
        if (process.env.CROSSBORDER_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
        else process.stderr.write("(set CROSSBORDER_DEBUG=1 for the stack trace, and report it: it is a bug)\n");
        return 70;
    }
}

if (require.main === module) {
    run(process.argv.slice(2)).then((code) => process.exit(code));
}
