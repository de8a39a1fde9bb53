/**
 * `crossborder publish`: the tree one cluster reconciles, as a Flux OCI artifact pushed to the origin
 * registry, whose replication carries it into China. The china cluster then reconciles a digest from a
 * registry inside China and needs no Git host at all.
 *
 * What goes in: the tree as Git would hold it, minus what the cluster never reads (another cluster's
 * clusters/, infrastructure/* and apps/ folders, inventory/, the README, the writer's state, .git). What
 * never goes in: a Kubernetes Secret with data, a kustomize secretGenerator, anything that reads as a key,
 * or a manifest that cannot be read to check; the publish is refused and names the file and line.
 */
import { FindingsError, InputError } from "../../core/errors";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import type { Doc } from "../objects/manifests";
import { isValidTag } from "../../core/reference";
import { chartArtifactOf } from "../render/emit";
import { RegistryClient } from "../registry/client";
import { Artifact, ArtifactMeta, buildArtifact } from "./artifact";
import { appliedProblems, fileProblems } from "./secrets";
import { JOURNAL_FILE } from "../writer";

export { buildArtifact, reproducibleTar } from "./artifact";
export type { Artifact, ArtifactMeta } from "./artifact";

const CLUSTERS = ["global", "china"] as const;
export type PublishCluster = (typeof CLUSTERS)[number];

/** A finding that stops the publish (exit 1): the tree holds something that must not travel. */
export class PublishRefused extends FindingsError {
    constructor(readonly problems: readonly string[]) {
        super(`refusing to publish:\n${problems.map((p) => `  ${p}`).join("\n")}`);
        this.name = "PublishRefused";
    }
}

/** A tree that cannot be published as given (exit 2). */
export class PublishError extends InputError {
    constructor(message: string) {
        super(message);
        this.name = "PublishError";
    }
}

function belongsToOther(rel: string, cluster: PublishCluster): boolean {
    const others = CLUSTERS.filter((c) => c !== cluster);
    const parts = rel.split("/");
    // Every other cluster's entry folder (an adopted fleet has clusters of its own names), and the other
    // side's folders of the rendered layout.
    if (parts[0] === "clusters" && parts.length > 2 && parts[1] !== cluster) return true;
    return others.some(
        (o) => (parts[0] === "apps" && parts[1] === o) || (parts[0] === "infrastructure" && parts[2] === o),
    );
}

const SKIP_TOP = new Set([".crossborder", "inventory", ".git", "README.md"]);

/** The files `cluster` reconciles, relative path → bytes. */
export function clusterFiles(tree: string, cluster: PublishCluster): Map<string, Buffer> {
    if (!fs.existsSync(path.join(tree, "clusters", cluster, "kustomization.yaml")))
        throw new PublishError(
            `${tree}: no clusters/${cluster}/kustomization.yaml; give the folder crossborder render wrote`,
        );
    const files = new Map<string, Buffer>();
    const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(tree, rel), { withFileTypes: true })) {
            const p = rel ? `${rel}/${e.name}` : e.name;
            if (!rel && SKIP_TOP.has(e.name)) continue;
            if (belongsToOther(p, cluster)) continue;
            if (e.isSymbolicLink())
                throw new PublishError(`${path.join(tree, p)}: a symbolic link; an artifact carries files only`);
            if (e.isDirectory()) walk(p);
            else if (e.isFile()) files.set(p, fs.readFileSync(path.join(tree, p)));
        }
    };
    walk("");
    return files;
}

/**
 * Why `files` must not be published, by file:line: credentials in any file (secretlint's recommended rules and
 * the project's own), Secrets with data and secret generators in the files and in what Flux builds from them,
 * and anything it cannot read or build (a check that could not look does not say OK). gitops/publish/secrets.ts.
 */
export async function secretProblems(files: ReadonlyMap<string, Buffer>, cluster?: PublishCluster): Promise<string[]> {
    const own = await fileProblems(files);
    const applied = cluster ? await appliedProblems(files, cluster) : [];
    return [...new Set([...own, ...applied])];
}

export interface PublishOptions {
    readonly tree: string;
    readonly cluster: PublishCluster;
    readonly registry: string;
    readonly repository: string;
    readonly tag: string;
    readonly meta: ArtifactMeta;
    readonly client: RegistryClient;
    /** Build and report the digest without pushing. */
    readonly dryRun?: boolean;
}

export interface Published {
    readonly digest: string;
    readonly reference: string;
    readonly files: number;
    readonly bytes: number;
    readonly pushed: boolean;
    /** The tree's own charts, pushed beside it as Helm OCI charts (the china cluster's OCIRepositories pin them). */
    readonly charts: readonly { readonly reference: string; readonly digest: string }[];
}

/** Refuse a tree a render did not finish writing: it may be half old, half new. */
export function assertComplete(tree: string): void {
    if (fs.existsSync(path.join(tree, JOURNAL_FILE)))
        throw new PublishError(
            `${path.join(tree, JOURNAL_FILE)}: a crossborder render into ${tree} did not finish, so the tree may be half old, half new; render into it again, then publish`,
        );
}

/** The artifact of a tree, refused if it is unfinished or holds a secret. */
export async function artifactOf(
    tree: string,
    cluster: PublishCluster,
    meta: ArtifactMeta,
): Promise<{ artifact: Artifact; files: number; charts: TreeChart[] }> {
    assertComplete(tree);
    const files = clusterFiles(tree, cluster);
    const problems = await secretProblems(files, cluster);
    const charts = treeCharts(files);
    problems.push(...pinProblems(files, charts));
    if (problems.length) throw new PublishRefused(problems);
    return { artifact: buildArtifact(files, meta), files: files.size, charts };
}

interface TreeChart {
    readonly name: string;
    readonly version: string;
    readonly artifact: Artifact;
}

/** Every chart the tree carries (charts/<name>/Chart.yaml), as the Helm OCI chart a cluster pulls. */
function treeCharts(files: ReadonlyMap<string, Buffer>): TreeChart[] {
    const out: TreeChart[] = [];
    for (const p of [...files.keys()].sort()) {
        const m = /^charts\/([^/]+)\/Chart\.yaml$/.exec(p);
        if (!m) continue;
        const prefix = `charts/${m[1]}/`;
        const own = new Map(
            [...files].filter(([f]) => f.startsWith(prefix)).map(([f, b]) => [f.slice(prefix.length), b]),
        );
        const artifact = chartArtifactOf(m[1], own);
        let version = "";
        try {
            version = String(parseYaml(files.get(p)!.toString("utf8"), { maxAliasCount: 100 })?.version ?? "");
        } catch {
            // secretProblems names the unreadable file
        }
        if (!isValidTag(version)) throw new PublishError(`${p}: version "${version}" cannot be an OCI tag`);
        out.push({ name: m[1], version, artifact });
    }
    return out;
}

/** An OCIRepository of the tree that pins a tree chart by a digest its files no longer give (a hand edit). */
function pinProblems(files: ReadonlyMap<string, Buffer>, charts: readonly TreeChart[]): string[] {
    const problems: string[] = [];
    for (const [p, bytes] of files) {
        if (!/\.ya?ml$/.test(p) || p.startsWith("charts/")) continue;
        for (const doc of parseAllDocuments(bytes.toString("utf8"), { logLevel: "silent" })) {
            let o: Doc | undefined;
            try {
                o = doc.toJS({ maxAliasCount: 100 }) as Doc;
            } catch {
                continue;
            }
            if (o?.kind !== "OCIRepository" || typeof o.spec?.ref?.digest !== "string") continue;
            const chart = charts.find((c) => String(o!.spec.url ?? "").endsWith(`/${c.name}`));
            if (chart && chart.artifact.manifest.digest !== o.spec.ref.digest)
                problems.push(
                    `${p}: OCIRepository ${o.metadata?.name} pins ${o.spec.ref.digest}, but charts/${chart.name} gives ${chart.artifact.manifest.digest}; render again instead of editing the tree`,
                );
        }
    }
    return problems;
}

async function pushArtifact(opts: PublishOptions, repository: string, tag: string, artifact: Artifact): Promise<void> {
    for (const b of [artifact.config, artifact.layer])
        await opts.client.pushBlob(opts.registry, repository, b.digest, b.bytes);
    await opts.client.pushManifest(
        opts.registry,
        repository,
        tag,
        artifact.manifest.mediaType,
        artifact.manifest.bytes,
    );
}

/** Where a tree's own chart goes: beside the tree's artifact, `<namespace>/<chart>`. */
export function treeChartRepository(treeRepository: string, chart: string): string {
    const slash = treeRepository.lastIndexOf("/");
    return slash >= 0 ? `${treeRepository.slice(0, slash)}/${chart}` : chart;
}

export async function publish(opts: PublishOptions): Promise<Published> {
    const { artifact, files, charts } = await artifactOf(opts.tree, opts.cluster, opts.meta);
    const reference = `${opts.registry}/${opts.repository}:${opts.tag}@${artifact.manifest.digest}`;
    // The tree's charts go before the tree: a tree never names a chart the registry does not hold yet.
    const pushedCharts = charts.map((c) => ({ c, repository: treeChartRepository(opts.repository, c.name) }));
    if (!opts.dryRun) {
        for (const { c, repository } of pushedCharts) await pushArtifact(opts, repository, c.version, c.artifact);
        await pushArtifact(opts, opts.repository, opts.tag, artifact);
    }
    return {
        digest: artifact.manifest.digest,
        reference,
        files,
        bytes: artifact.layer.bytes.length,
        pushed: !opts.dryRun,
        charts: pushedCharts.map(({ c, repository }) => ({
            reference: `${opts.registry}/${repository}:${c.version}@${c.artifact.manifest.digest}`,
            digest: c.artifact.manifest.digest,
        })),
    };
}
