/**
 * `crossborder publish`: push the tree the china cluster reconciles to the origin registry as a Flux OCI
 * artifact (gitops/publish), and say how to verify it in China and pin it.
 */
import { acrEndpoints } from "../components/registry/endpoints";
import { originRegistry, StackSources } from "../gitops/context";
import { publish, PublishCluster, Published } from "../gitops/publish";
import { isValidTag, REPOSITORY_PATH } from "../gitops/reference";
import { RegistryClient } from "../gitops/registry";
import { UsageError } from "./util";

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

export interface PublishOutcome {
    readonly result: Published;
    readonly cluster: PublishCluster;
    readonly repository: string;
    readonly tag: string;
    /** The China instance that replication serves it from. */
    readonly china: string;
}

/** Resolve the target from the options and the stack files, then build (and unless --dry-run, push) the artifact. */
export async function publishTree(opts: PublishCliOptions): Promise<PublishOutcome> {
    if (opts.cluster !== "china" && opts.cluster !== "global")
        throw new UsageError(`publish: --cluster ${opts.cluster}: use china (or global)`);
    const cluster = opts.cluster as PublishCluster;
    const sources = new StackSources({ stacksDir: opts.stacksDir });
    const cfg = sources.config(cluster);
    const registry = opts.registry ?? originRegistry({ stacksDir: opts.stacksDir }, sources);
    const repository = opts.repository ?? `${cfg.registry.namespace}/${cfg.gitops.artifact.repository}`;
    const tag = opts.tag ?? cfg.gitops.artifact.tag;
    if (!isValidTag(tag))
        throw new UsageError(
            `publish: --tag must be an OCI tag (letters, digits, _ . -, at most 128, not starting with . or -), got "${tag}"`,
        );
    if (!REPOSITORY_PATH.test(repository))
        throw new UsageError(
            `publish: --repository must be a registry path such as platform/fleet, got "${repository}"`,
        );
    const user = process.env.CROSSBORDER_REGISTRY_USERNAME;
    const password = process.env.CROSSBORDER_REGISTRY_PASSWORD;
    const client = new RegistryClient({
        plainHttp: () => Boolean(opts.plainHttp),
        credentials: user && password ? { host: registry, username: user, password } : undefined,
    });
    const result = await publish({
        tree: opts.tree,
        cluster,
        registry,
        repository,
        tag,
        client,
        dryRun: opts.dryRun,
        meta: {
            // Not the tree's folder name: the digest depends on the files (and these three texts) only.
            source: opts.source ?? "crossborder render",
            revision: opts.revision ?? tag,
            created: createdAt(opts.created),
        },
    });
    const china = acrEndpoints(cfg.registry.instanceName, cfg.alicloud.region).public;
    return { result, cluster, repository, tag, china };
}

export async function runPublish(opts: PublishCliOptions, out: NodeJS.WriteStream = process.stdout): Promise<number> {
    const { result, cluster, repository, tag, china } = await publishTree(opts);
    out.write(
        [
            `${result.pushed ? "published" : "built (--dry-run, not pushed)"} ${result.files} files of the ${cluster} tree (${result.bytes} bytes): ${result.reference}`,
            `digest ${result.digest}`,
            ...result.charts.map(
                (c) => `${result.pushed ? "published" : "built"} the tree's chart beside it: ${c.reference}`,
            ),
            "",
            "Next:",
            `  npx crossborder verify-mirror --artifact ${repository}:${tag}@${result.digest} --registry ${china}`,
            `      proves the China instance serves it (replication), before the ${cluster} cluster reconciles it`,
            `  pulumi config set --path crossborder:gitops.artifact.digest ${result.digest} -s ${cluster}`,
            `      pins this digest (otherwise Flux follows the tag ${tag})`,
            "",
        ].join("\n"),
    );
    return 0;
}
