/**
 * `crossborder publish`: push the tree the china cluster reconciles to the origin registry as a Flux OCI
 * artifact (gitops/publish), and say how to verify it in China and pin it.
 */
import { registryEndpoints } from "../stacks/config/derived";
import { originRegistry, StackSources } from "../stacks/gitops-inputs";
import { ArtifactMeta, publish, PublishCluster, Published } from "../gitops/publish";
import { isValidTag, REPOSITORY_PATH } from "../core/reference";
import { RegistryClient } from "../gitops/registry/client";
import { registryCredentials, UsageError } from "./util";

export interface PublishCliOptions {
    readonly tree: string;
    readonly cluster: string;
    readonly registry?: string;
    readonly repository?: string;
    readonly tag?: string;
    readonly source?: string;
    readonly revision?: string;
    readonly created?: string;
    readonly plainHttp?: boolean;
    readonly dryRun?: boolean;
    readonly stacksDir: string;
}

/** The artifact's creation time: fixed (SOURCE_DATE_EPOCH, else the epoch), so the digest depends on the files only. */
function createdAt(given: string | undefined): string {
    const epoch = process.env.SOURCE_DATE_EPOCH;
    let time = new Date(0);
    if (given !== undefined) {
        if (Number.isNaN(Date.parse(given)) || !/^\d{4}-\d{2}-\d{2}T/.test(given))
            throw new UsageError(
                `publish: --created must be an RFC 3339 time such as 2026-11-27T00:00:00Z, got "${given}"`,
            );
        time = new Date(given);
    } else if (epoch !== undefined && /^\d+$/.test(epoch)) time = new Date(Number(epoch) * 1000);
    return time.toISOString().replace(/\.000Z$/, "Z");
}

/** The tag publish pushes a tree under: never the one Flux follows. */
export function candidateTag(followed: string): string {
    return `${followed}-candidate`.slice(0, 128);
}

export interface PublishOutcome {
    readonly result: Published;
    readonly cluster: PublishCluster;
    readonly repository: string;
    readonly tag: string;
    /** The China instance that replication serves it from. */
    readonly china: string;
}

/** Where a cluster's tree goes and under which names: from the options and the stack files. */
export function publishTarget(opts: PublishCliOptions) {
    if (opts.cluster !== "china" && opts.cluster !== "global")
        throw new UsageError(`publish: --cluster ${opts.cluster}: use china (or global)`);
    const cluster = opts.cluster as PublishCluster;
    const sources = new StackSources({ stacksDir: opts.stacksDir });
    const cfg = sources.config(cluster);
    const registry = opts.registry ?? originRegistry({ stacksDir: opts.stacksDir }, sources);
    const repository = opts.repository ?? `${cfg.registry.namespace}/${cfg.gitops.artifact.repository}`;
    if (!REPOSITORY_PATH.test(repository))
        throw new UsageError(
            `publish: --repository must be a registry path such as platform/fleet, got "${repository}"`,
        );
    const followed = cfg.gitops.artifact.tag;
    const meta: ArtifactMeta = {
        // Not the tree's folder name, nor the tag it is pushed under: the digest depends on the files (and
        // these three texts) only, so publish and promote build the same artifact.
        source: opts.source ?? "crossborder render",
        revision: opts.revision ?? followed,
        created: createdAt(opts.created),
    };
    const china = registryEndpoints(cfg).public;
    return { cluster, registry, repository, followed, meta, china };
}

/** Resolve the target, then build (and unless --dry-run, push) the artifact under a candidate tag. */
export async function publishTree(opts: PublishCliOptions): Promise<PublishOutcome> {
    const { cluster, registry, repository, followed, meta, china } = publishTarget(opts);
    // Publish never writes the tag Flux follows: crossborder promote does, once China holds everything.
    const tag = opts.tag ?? candidateTag(followed);
    if (tag === followed)
        throw new UsageError(
            `publish: --tag ${tag} is the tag the ${cluster} cluster's Flux follows (gitops.artifact.tag); publish pushes a candidate (default ${candidateTag(followed)}), and crossborder promote moves ${followed} once the China instance holds everything the tree pulls`,
        );
    if (!isValidTag(tag))
        throw new UsageError(
            `publish: --tag must be an OCI tag (letters, digits, _ . -, at most 128, not starting with . or -), got "${tag}"`,
        );
    const client = new RegistryClient({
        plainHttp: () => Boolean(opts.plainHttp),
        credentials: registryCredentials(registry),
    });
    const result = await publish({
        tree: opts.tree,
        cluster,
        registry,
        repository,
        tag,
        client,
        dryRun: opts.dryRun,
        meta,
    });
    return { result, cluster, repository, tag, china };
}

export async function runPublish(opts: PublishCliOptions, out: NodeJS.WriteStream = process.stdout): Promise<number> {
    const { result, cluster, china } = await publishTree(opts);
    out.write(
        [
            `${result.pushed ? "published" : "built (--dry-run, not pushed)"} ${result.files} files of the ${cluster} tree (${result.bytes} bytes): ${result.reference}`,
            `digest ${result.digest}`,
            ...result.charts.map(
                (c) => `${result.pushed ? "published" : "built"} the tree's chart beside it: ${c.reference}`,
            ),
            "",
            "Next:",
            `  npx crossborder promote --tree ${opts.tree}`,
            `      moves the tag the ${cluster} cluster follows to ${result.digest} once the China instance (${china}) serves it`,
            "      and every image and chart of its inventory; until then Flux keeps the tree it has",
            `  pulumi config set --path crossborder:gitops.artifact.digest ${result.digest} -s ${cluster}`,
            "      pins this digest instead (run promote first: it proves China holds what the tree pulls)",
            "",
        ].join("\n"),
    );
    return 0;
}
