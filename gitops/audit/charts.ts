/**
 * The chart a HelmRelease gets, resolved as source-controller resolves it, from the source objects of the
 * tree alone: never from an annotation or a record the generator wrote.
 *
 *   chartRef OCIRepository   its URL and `ref`: a digest decides (only a chart of the tree, whose Helm OCI
 *                            digest the audit recomputes from its files, is known offline), then `semver`
 *                            (an exact version only), then `tag`
 *   chart.spec               a HelmRepository's URL with the chart name and an exact `version`, or a chart
 *                            directory of the tree itself (GitRepository flux-system)
 *
 * A remote chart is identified through the lock (the sha256 of every archive the catalog uses): the archive
 * whose upstream URL is the source's, or whose China name under the mirrors is. Its bytes in the chart cache
 * must have the locked sha256. Whatever cannot be matched to that exact identity is "not rendered", with
 * the reason: a range, `latest`, a moved URL, a digest from elsewhere, a chart nobody locked.
 */
import * as fs from "fs";
import * as path from "path";
import { archivePath, ChartLock, chartLabel, LockEntry, normalizeRepository, sha256File } from "../engine/charts";
import { Mirrors, MirrorError, rewriteChartSource } from "../../core/mirrors";
import type { Doc } from "../objects/manifests";
import { chartArtifactOf, localChartFiles } from "../render/emit";
import { directoryHash } from "../render/scan";
import { HELM_CONTENT_MEDIA_TYPE } from "../publish/artifact";
import { BuiltObject, sourcePath } from "./flux";
import { DISK, FileView } from "./view";

export type ResolvedChart =
    | {
          readonly file: string;
          readonly sha256: string;
          /** The locked chart's name and version (a chart directory of the tree has none here). */
          readonly locked?: { readonly name: string; readonly version: string };
      }
    | { readonly reason: string };

export interface ChartContext {
    /** The tree (charts reconciled from the tree's own source are read from here). */
    readonly root: string;
    /** How `root` is read: as it is on disk, or as its artifact holds it (view.ts). @default as it is */
    readonly view?: FileView;
    readonly chartCache: string;
    /** The catalog's lock; without it no remote chart can be identified. */
    readonly lock?: ChartLock;
    readonly mirrors: Mirrors;
    /** Chart directories of the tree (relative paths), for digests that pin one of them. */
    readonly chartDirs: readonly string[];
}

const EXACT = /^v?\d+(\.\d+){0,2}([-+][0-9A-Za-z.-]+)?$/;

/** A cluster's objects by kind and name (each HelmRelease looks its source up: 1,000 of them in 3,000 objects). */
const byKindName = new WeakMap<readonly BuiltObject[], { length: number; index: Map<string, BuiltObject[]> }>();

function find(objects: readonly BuiltObject[], kind: string, name: string, namespace: string): BuiltObject | undefined {
    let known = byKindName.get(objects);
    if (known?.length !== objects.length) {
        const index = new Map<string, BuiltObject[]>();
        for (const o of objects) {
            const key = `${o.id.kind}/${o.id.name}`;
            const list = index.get(key);
            if (list) list.push(o);
            else index.set(key, [o]);
        }
        known = { length: objects.length, index };
        byKindName.set(objects, known);
    }
    // The first in the cluster's order, as a scan of the objects finds it.
    return known.index
        .get(`${kind}/${name}`)
        ?.find((o) => o.id.kind === kind && o.id.name === name && (o.id.namespace ?? namespace) === namespace);
}

/** A chart directory of the tree, as a render input. */
function treeChart(ctx: ChartContext, rel: string): { file: string; sha256: string } {
    const dir = path.join(ctx.root, rel);
    return { file: dir, sha256: directoryHash(localChartFiles({ dir, path: rel, name: "", version: "" })) };
}

/** The tree chart whose Helm OCI chart (as crossborder publish builds it) has this manifest digest. */
const digestCache = new Map<string, string>();
function treeChartWithDigest(ctx: ChartContext, digest: string): string | undefined {
    for (const rel of ctx.chartDirs) {
        const dir = path.join(ctx.root, rel);
        const files = localChartFiles({ dir, path: rel, name: "", version: "" });
        const key = `${path.basename(rel)}|${directoryHash(files)}`;
        let d = digestCache.get(key);
        if (!d) {
            d = chartArtifactOf(path.basename(rel), files).manifest.digest;
            digestCache.set(key, d);
        }
        if (d === digest) return rel;
    }
    return undefined;
}

/** Where a lock entry is served from: its upstream URL, and its China name under the mirrors. */
function urlsOf(e: LockEntry, mirrors: Mirrors): { url: string; chart: string }[] {
    const upstream = normalizeRepository(e.repository);
    const out = [
        upstream.startsWith("oci://")
            ? { url: upstream.endsWith(`/${e.name}`) ? upstream : `${upstream}/${e.name}`, chart: e.name }
            : { url: upstream, chart: e.name },
    ];
    try {
        const china = rewriteChartSource(mirrors, { url: e.repository, chart: e.name, version: e.version });
        out.push({ url: normalizeRepository(china.url), chart: china.chart });
    } catch (err) {
        if (!(err instanceof MirrorError)) throw err;
    }
    return out;
}

/** The locked archive a source URL, chart name and exact version resolve to. */
function lockedFor(url: string, chart: string, version: string, ctx: ChartContext): ResolvedChart {
    const wanted = normalizeRepository(url);
    const what = `${wanted}${wanted.startsWith("oci://") ? "" : ` ${chart}`} ${version}`;
    if (!ctx.lock)
        return {
            reason: `no chart lock to identify ${what} by (give the catalog whose catalog.lock records it: --catalog)`,
        };
    const entry = ctx.lock.entries.find(
        (e) => e.version === version && urlsOf(e, ctx.mirrors).some((u) => u.url === wanted && u.chart === chart),
    );
    if (!entry)
        return {
            reason: `no chart of ${ctx.lock.file} is served as ${what}, so which archive Flux installs is not known (a changed URL, name or version?)`,
        };
    const file = archivePath(ctx.chartCache, entry);
    if (!fs.existsSync(file))
        return {
            reason: `no archive of ${chartLabel(entry)} in ${ctx.chartCache} (crossborder charts pull)`,
        };
    const sha256 = sha256File(file);
    if (sha256 !== entry.sha256)
        return { reason: `${file} has sha256 ${sha256}, but ${ctx.lock.file} locks ${entry.sha256}` };
    return { file, sha256, locked: { name: entry.name, version: entry.version } };
}

function fromOciRepository(src: BuiltObject, ctx: ChartContext): ResolvedChart {
    const spec = src.object.spec ?? {};
    const url = typeof spec.url === "string" ? spec.url : "";
    const media = spec.layerSelector?.mediaType;
    if (media !== undefined && media !== HELM_CONTENT_MEDIA_TYPE)
        return { reason: `its OCIRepository ${src.id.name} selects the layer ${media}, not a Helm chart` };
    const ref: Doc = spec.ref ?? {};
    if (typeof ref.digest === "string") {
        const rel = treeChartWithDigest(ctx, ref.digest);
        return rel
            ? treeChart(ctx, rel)
            : {
                  reason: `its OCIRepository ${src.id.name} is pinned to ${ref.digest}, which is no chart of this tree; the audit cannot tell offline which chart archive that digest is`,
              };
    }
    const version = typeof ref.semver === "string" ? ref.semver : typeof ref.tag === "string" ? ref.tag : "latest";
    if (!EXACT.test(version))
        return {
            reason: `its OCIRepository ${src.id.name} asks for ${typeof ref.semver === "string" ? `semver "${version}"` : `tag "${version}"`}, so which version Flux installs depends on the registry at reconcile time; pin an exact tag`,
        };
    const slash = url.lastIndexOf("/");
    return lockedFor(url, url.slice(slash + 1), version.replace(/^=/, ""), ctx);
}

/** The chart's bytes: a locked cache archive, or a chart directory of the tree. */
export function resolveChart(
    hr: Doc,
    objects: readonly BuiltObject[],
    namespace: string,
    ctx: ChartContext,
): ResolvedChart {
    const spec = hr.spec ?? {};
    if (spec.chartRef) {
        const kind = String(spec.chartRef.kind);
        const src = find(objects, kind, String(spec.chartRef.name), spec.chartRef.namespace ?? namespace);
        if (!src) return { reason: `its chartRef ${kind} ${spec.chartRef.name} is not in the tree` };
        if (kind !== "OCIRepository") return { reason: `its chartRef is a ${kind}, which the audit does not follow` };
        return fromOciRepository(src, ctx);
    }
    const cs = spec.chart?.spec;
    if (!cs) return { reason: "it names no chart" };
    const srcRef = cs.sourceRef ?? {};
    if (Array.isArray(cs.valuesFiles) && cs.valuesFiles.length)
        return { reason: `its chart uses valuesFiles (${cs.valuesFiles.join(", ")}), which the audit does not merge` };
    if (
        srcRef.kind === "GitRepository" &&
        srcRef.name === "flux-system" &&
        (srcRef.namespace ?? namespace) === "flux-system"
    ) {
        const rel = sourcePath(String(cs.chart ?? ""));
        if (rel === undefined || (ctx.view ?? DISK).kind(path.join(ctx.root, rel, "Chart.yaml")) !== "file")
            return { reason: `its chart ${cs.chart} is not a chart directory of the tree` };
        return treeChart(ctx, rel);
    }
    const src = find(objects, String(srcRef.kind), String(srcRef.name), srcRef.namespace ?? namespace);
    if (!src)
        return {
            reason: `its chart source ${srcRef.kind} ${srcRef.namespace ?? namespace}/${srcRef.name} is not in the tree`,
        };
    if (srcRef.kind !== "HelmRepository")
        return { reason: `its chart comes from a ${srcRef.kind}, which the audit does not follow` };
    const version = typeof cs.version === "string" && cs.version ? cs.version : "*";
    if (!EXACT.test(version))
        return {
            reason: `its chart version "${version}" is a range, so which archive it installs depends on the repository at reconcile time; pin an exact version`,
        };
    const url = String(src.object.spec?.url ?? "");
    const chart = String(cs.chart ?? "");
    // An OCI HelmRepository names the parent path; the chart is below it.
    return url.startsWith("oci://")
        ? lockedFor(`${url.replace(/\/+$/, "")}/${chart}`, chart, version, ctx)
        : lockedFor(url, chart, version, ctx);
}
