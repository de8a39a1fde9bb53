/**
 * Stage 1 of the render pipeline: what each release installs with on each cluster (its values and its
 * chart's bytes), and, for a release whose chart archive is not at hand, the values-level first guess:
 * the images its values name (plus the chart's own values.yaml when `chartValues` points at it, and
 * `extraImages`), rewritten by override values and post-renderer `images` entries. The guess cannot see
 * images a chart sets in its templates, so such releases are named as not rendered.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { Catalog, ClusterName, isLocalChart, LocalChart, Release } from "../catalog";
import { ChartLock, lockedArchive, LockedArchive } from "../engine/charts";
import { KustomizeImage } from "../engine/kustomize";
import { Mirrors } from "../../core/mirrors";
import { familiarName, nameOf, parseNormalizedNamed, Reference } from "../../core/reference";
import { coalesceValues, FoundImage, mergeValues, rewriteValues, scanValues } from "../values/scan";
import { readText, SourceError } from "../../core/yaml-source";
import { localChartFiles, tagFields, treeChartFiles } from "./emit";
import type { ImagePair } from "./inventory";

export interface ChartSettings {
    /** The chart cache folder. */
    readonly cacheDir: string;
    /** The catalog's lock; undefined when no chart was ever pulled. */
    readonly lock?: ChartLock;
}

/** The bytes a release's chart renders from: an archive from the cache, or a local chart directory. */
export type ResolvedChart =
    | { readonly kind: "archive"; readonly archive: LockedArchive }
    | { readonly kind: "local"; readonly dir: string; readonly sha256: string }
    | { readonly kind: "missing" };

export function releaseValues(r: Release, cluster: ClusterName): Record<string, unknown> {
    return mergeValues(r.values, r.clusterValues[cluster] ?? {}) as Record<string, unknown>;
}

/** The sha256 of a chart directory's files (names and bytes), for cache keys. */
export function directoryHash(files: ReadonlyMap<string, Buffer>): string {
    const h = createHash("sha256");
    for (const [name, content] of [...files].sort(([a], [b]) => (a < b ? -1 : 1)))
        h.update(name).update("\0").update(String(content.length)).update("\0").update(content);
    return h.digest("hex");
}

/**
 * Each release's chart, resolved once. A chart whose bytes differ from the lock stops the render. With
 * `stageIn` (a folder, made when first asked for), a local chart is written there as the tree carries it
 * (treeChartFiles: generated notes, what .helmignore excludes left out) and resolves to that copy: the
 * engine renders the bytes Flux builds the chart from, never the catalog's folder, so a difference between
 * the two can never pass unjudged.
 */
export function resolveCharts(
    catalog: Catalog,
    charts: ChartSettings,
    stageIn?: () => string,
): Map<string, ResolvedChart> {
    const out = new Map<string, ResolvedChart>();
    for (const r of catalog.releases) {
        if (isLocalChart(r.chart)) {
            out.set(r.name, stageIn ? stageLocalChart(catalog, r.name, r.chart, stageIn()) : localChart(r.chart));
            continue;
        }
        const archive = lockedArchive(charts.cacheDir, charts.lock, r.chart);
        out.set(r.name, archive ? { kind: "archive", archive } : { kind: "missing" });
    }
    return out;
}

function localChart(chart: LocalChart): ResolvedChart {
    return { kind: "local", dir: chart.dir, sha256: directoryHash(localChartFiles(chart)) };
}

function stageLocalChart(catalog: Catalog, release: string, chart: LocalChart, root: string): ResolvedChart {
    const files = new Map(
        [...treeChartFiles(catalog.file, chart)].map(([p, b]) => [p, Buffer.isBuffer(b) ? b : Buffer.from(b)]),
    );
    const dir = path.join(root, release);
    for (const [p, b] of files) {
        fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
        fs.writeFileSync(path.join(dir, p), b);
    }
    return { kind: "local", dir, sha256: directoryHash(files) };
}

/** Every way a manifest may spell an image's name, so the post-renderer catches all of them. */
function nameVariants(ref: Reference): string[] {
    const names = new Set([nameOf(ref)]);
    if (ref.domain === "docker.io") {
        names.add(familiarName(ref));
        names.add(ref.path);
        if (ref.path.startsWith("library/")) names.add(`docker.io/${ref.path.slice("library/".length)}`);
    }
    return [...names].sort();
}

export interface ValuesGuess {
    readonly overrides: Record<string, unknown>;
    readonly images: KustomizeImage[];
    readonly pairs: ImagePair[];
    readonly warnings: string[];
}

const chartValueCache = new Map<string, unknown>();

function chartDefaults(r: Release): unknown {
    if (!r.chartValues) return {};
    if (!chartValueCache.has(r.chartValues)) {
        try {
            chartValueCache.set(
                r.chartValues,
                parse(readText(r.chartValues, `chart values of release ${r.name}`), { maxAliasCount: 100 }) ?? {},
            );
        } catch (e) {
            if (e instanceof SourceError) throw e;
            throw new SourceError(
                `${r.chartValues}: invalid YAML in the chart values of release ${r.name} (${(e as Error).message.split("\n")[0]})`,
            );
        }
    }
    return chartValueCache.get(r.chartValues);
}

/** The values-level rewrite of a release whose chart is not at hand. */
export function valuesGuess(
    r: Release,
    values: Record<string, unknown>,
    mirrors: Mirrors,
    cluster: ClusterName,
): ValuesGuess {
    const scanned = coalesceValues(chartDefaults(r), values);
    const scan = scanValues(scanned);
    const extra: FoundImage[] = r.extraImages.map((s) => ({
        path: [],
        shape: "string",
        reference: parseNormalizedNamed(s),
        tagFrom: "values",
        edits: () => [],
    }));
    const { images, overrides } = rewriteValues(scanned, [...scan.images, ...extra], mirrors);
    const entries = new Map<string, KustomizeImage>();
    const pairs: ImagePair[] = [];
    for (const img of images) {
        const rewritten = parseNormalizedNamed(img.rewritten);
        // A tag the chart supplies (appVersion) is unknown without the chart: the inventory cannot copy it.
        const where = `release ${r.name} values ${img.image.path.join(".") || "extraImages"}${img.image.tagFrom === "chart" ? ", tag from the chart, which is not at hand" : ""}`;
        pairs.push({
            upstream: img.image.reference,
            china: rewritten,
            where,
            container: img.image.tagFrom === "values",
        });
        if (nameOf(rewritten) === nameOf(img.image.reference)) continue;
        // Images only the templates set carry their tag here: no values hold it.
        const pin = img.image.path.length === 0 ? tagFields(img.image.reference) : {};
        for (const n of nameVariants(img.image.reference))
            entries.set(n, { name: n, newName: nameOf(rewritten), ...pin });
    }
    return {
        overrides,
        images: [...entries.keys()].sort().map((k) => entries.get(k)!),
        pairs,
        warnings: scan.warnings.map((w) => `release ${r.name} (${cluster}): ${w}`),
    };
}
