/**
 * The gate between a published tree and the china cluster. `crossborder publish` pushes the tree's artifact
 * under a candidate tag only; the tag Flux follows moves when, and only when, `promote` has proven that the
 * China instance already serves everything the tree makes the cluster pull:
 *
 *   1. the tree is complete (no unfinished render in its writer's journal);
 *   2. the tree's artifact, by its digest, and every chart the tree carries, by theirs, are in China;
 *   3. every image of inventory/images.txt and every chart of inventory/charts.txt is in China, with its
 *      digest (verify-mirror against the China instance);
 *
 * then it writes the followed tag on the origin (replication carries it into China). Anything missing stops
 * it (exit 1), named, with what to do: copy (not in the origin either) or backfill (in the origin, never
 * replicated). A new tree therefore never reaches China before its images.
 */
import * as fs from "fs";
import * as path from "path";
import { RegistryClient, RegistryError } from "../registry/client";
import { parseChartInventory, parseInventory, verifyCharts, verifyMirror } from "../registry/verify";
import { format } from "../../core/reference";
import { readText } from "../../core/yaml-source";
import { ArtifactMeta } from "./artifact";
import { artifactOf, assertComplete, PublishCluster } from "./index";

export interface PromoteOptions {
    readonly tree: string;
    readonly cluster: PublishCluster;
    /** The origin instance (where publish pushed, and where the tag is written). */
    readonly registry: string;
    /** The China instance, which must already serve everything. */
    readonly china: string;
    readonly repository: string;
    /** The tag Flux follows. */
    readonly tag: string;
    readonly meta: ArtifactMeta;
    readonly client: RegistryClient;
    readonly concurrency?: number;
}

export interface Promoted {
    readonly digest: string;
    /** What China lacks; empty when the tag was moved. */
    readonly blocked: readonly string[];
    readonly moved: boolean;
    /** Images and charts checked in China. */
    readonly checked: { readonly images: number; readonly charts: number };
}

const fix = (origin: string | undefined) =>
    origin === "present"
        ? "in the origin but not in China: backfill it (README, Backfill)"
        : origin === "absent"
          ? "not in the origin either: run inventory/copy.sh"
          : "not in China";

async function inventoryGaps(opts: PromoteOptions): Promise<{ gaps: string[]; images: number; charts: number }> {
    const imagesFile = path.join(opts.tree, "inventory", "images.txt");
    const chartsFile = path.join(opts.tree, "inventory", "charts.txt");
    const images = parseInventory(readText(imagesFile, "inventory"), imagesFile);
    const charts = fs.existsSync(chartsFile)
        ? parseChartInventory(readText(chartsFile, "chart inventory"), chartsFile)
        : [];
    const gaps: string[] = [];
    const at = { client: opts.client, registry: opts.china, concurrency: opts.concurrency ?? 8 };
    for (const r of await verifyMirror(images, { ...at, compareUpstream: false })) {
        if (r.status === "ok") continue;
        const what = `image ${format(r.entry.source)} (${imagesFile}:${r.entry.line}) as ${r.checked}`;
        gaps.push(
            r.status === "missing"
                ? `${what}: ${fix(r.origin)}`
                : `${what}: ${r.status}: ${r.note ?? `${r.actual}, expected ${r.expected}`}`,
        );
    }
    for (const r of await verifyCharts(charts, at)) {
        if (r.status === "ok") continue;
        const what = `chart ${r.entry.chart} ${r.entry.version} (${chartsFile}:${r.entry.line}) as ${r.checked}`;
        gaps.push(
            r.status === "missing"
                ? `${what}: ${fix(r.origin)}`
                : `${what}: ${r.status}: ${r.note ?? `${r.actual}, expected ${r.expected}`}`,
        );
    }
    return { gaps, images: images.length, charts: charts.length };
}

/** Check everything the tree pulls is in China; only then write the followed tag on the origin. */
export async function promote(opts: PromoteOptions): Promise<Promoted> {
    assertComplete(opts.tree);
    const { artifact, charts } = await artifactOf(opts.tree, opts.cluster, opts.meta);
    const digest = artifact.manifest.digest;
    const blocked: string[] = [];
    const inChina = async (repository: string, d: string) => {
        try {
            return (await opts.client.checkManifest(opts.china, repository, d)).found;
        } catch (e) {
            if (!(e instanceof RegistryError)) throw e;
            blocked.push(`${opts.china}/${repository}@${d}: cannot be checked (${e.message})`);
            return true;
        }
    };
    if (!(await inChina(opts.repository, digest)))
        blocked.push(
            `the tree's artifact ${opts.china}/${opts.repository}@${digest} is not in China yet: publish this tree, then wait for replication`,
        );
    const namespace = opts.repository.includes("/") ? opts.repository.slice(0, opts.repository.lastIndexOf("/")) : "";
    for (const c of charts) {
        const repo = namespace ? `${namespace}/${c.name}` : c.name;
        if (!(await inChina(repo, c.artifact.manifest.digest)))
            blocked.push(
                `the tree's chart ${opts.china}/${repo}@${c.artifact.manifest.digest} is not in China yet: publish this tree, then wait for replication`,
            );
    }
    const inv = await inventoryGaps(opts);
    blocked.push(...inv.gaps);
    const checked = { images: inv.images, charts: inv.charts };
    if (blocked.length) return { digest, blocked, moved: false, checked };
    // Everything is there: the followed tag names the new digest (blobs are the origin's already; pushed again
    // only if the origin lost them).
    for (const b of [artifact.config, artifact.layer])
        await opts.client.pushBlob(opts.registry, opts.repository, b.digest, b.bytes);
    await opts.client.pushManifest(
        opts.registry,
        opts.repository,
        opts.tag,
        artifact.manifest.mediaType,
        artifact.manifest.bytes,
    );
    return { digest, blocked, moved: true, checked };
}
