/**
 * `crossborder diff`: what a change does to each cluster, before it merges, judged as Flux applies it. Each tree
 * is built as kustomize-controller builds it (gitops/audit/cluster.ts) and every HelmRelease rendered on the
 * real engine with its post-renderers (gitops/audit/helm.ts), so the objects compared are the ones a cluster
 * would run, not the files. Beside the objects: the images and charts the global side must copy into China
 * (the inventories), those no longer used, and the registry and source hosts that appear, each said inside
 * or outside China. No live cluster is needed.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { FluxRelease } from "../core/flux-releases";
import { buildCluster, isFluxKustomization } from "./audit/cluster";
import { copyTree } from "./audit/copy";
import { ChartContext } from "./audit/charts";
import { judgeHelmRelease } from "./audit/helm";
import { judgeUrl, SOURCE_KINDS, sourceUrl } from "./audit/sources";
import { RenderCache, stableJson } from "./engine/cache";
import { ChartLock } from "./engine/charts";
import { limit } from "./engine/pool";
import { isChinaHost, Mirrors } from "../core/mirrors";
import { describeId, RenderedObject } from "./objects/manifests";
import { findImages, KNOWN_REGISTRIES } from "./objects/images";
import { EngineContext } from "./render/engine";
import { parseChartInventory, parseInventory } from "./registry/verify";
import { removeTemporaryFolder, temporaryFolder } from "./engine/tools";

export interface DiffOptions {
    readonly mirrors: Mirrors;
    readonly chartCache: string;
    readonly lock?: ChartLock;
    readonly flux: FluxRelease;
    readonly kubeVersions?: Readonly<Record<string, string>>;
    readonly cache?: RenderCache;
}

export interface ClusterDiff {
    readonly name: string;
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly changed: readonly string[];
}

export interface InventoryDiff {
    /** `SOURCE DESTINATION` lines (images) or `REPOSITORY CHART VERSION DESTINATION` (charts). */
    readonly copy: readonly string[];
    readonly unused: readonly string[];
}

export interface DiffReport {
    readonly clusters: readonly ClusterDiff[];
    readonly images: InventoryDiff;
    readonly charts: InventoryDiff;
    /** Hosts a cluster reaches that it did not before, and whether each is inside China. */
    readonly hosts: readonly { readonly cluster: string; readonly host: string; readonly inChina: boolean }[];
    /** HelmReleases that could not be rendered on one side: their rendered objects are not compared. */
    readonly notRendered: readonly string[];
    /** What could not be built: the diff is incomplete (exit 2). */
    readonly problems: readonly string[];
}

interface Snapshot {
    /** cluster → object key → hash of its content. */
    readonly objects: Map<string, Map<string, string>>;
    readonly hosts: Map<string, Set<string>>;
    readonly notRendered: string[];
    readonly problems: string[];
}

const hash = (s: string) => createHash("sha256").update(s).digest("hex");
const keyOf = (o: RenderedObject) => `${o.id.apiVersion} ${describeId(o.id)}`;
const isHelmRelease = (o: RenderedObject) =>
    o.id.kind === "HelmRelease" && o.id.apiVersion.startsWith("helm.toolkit.fluxcd.io/");

async function snapshot(root: string, opts: DiffOptions, label: string): Promise<Snapshot> {
    const copy = temporaryFolder("crossborder-diff-");
    const out: Snapshot = { objects: new Map(), hosts: new Map(), notRendered: [], problems: [] };
    try {
        copyTree(root, copy);
        const clustersDir = path.join(copy, "clusters");
        const names = fs.existsSync(clustersDir)
            ? fs
                  .readdirSync(clustersDir, { withFileTypes: true })
                  .filter((e) => e.isDirectory())
                  .map((e) => e.name)
                  .sort()
            : [];
        if (names.length === 0)
            out.problems.push(`${label} ${root}: no clusters/<name> folder, so there is no cluster to compare`);
        const engine: EngineContext = {
            cache: opts.cache ?? new RenderCache(),
            limit: limit(),
            registries: [...KNOWN_REGISTRIES, ...opts.mirrors.upstreams.keys(), ...opts.mirrors.chinaHosts],
        };
        const chartDirs = fs.existsSync(path.join(copy, "charts"))
            ? fs
                  .readdirSync(path.join(copy, "charts"))
                  .map((d) => `charts/${d}`)
                  .filter((d) => fs.existsSync(path.join(copy, d, "Chart.yaml")))
            : [];
        const charts: ChartContext = {
            root: copy,
            chartCache: opts.chartCache,
            lock: opts.lock,
            mirrors: opts.mirrors,
            chartDirs,
        };
        for (const name of names) {
            const build = await buildCluster(name, `clusters/${name}`, copy);
            out.problems.push(...build.problems.map((p) => `${label}: ${p}`));
            const objects = new Map<string, string>();
            const hosts = new Set<string>();
            const plain = build.objects.filter((o) => !isFluxKustomization(o) && !isHelmRelease(o));
            for (const o of build.objects) objects.set(keyOf(o), hash(stableJson(o.object)));
            for (const l of findImages(plain, { registries: engine.registries }))
                if (l.parsed) hosts.add(l.parsed.domain);
            for (const s of build.objects.filter((o) => SOURCE_KINDS.includes(o.id.kind))) {
                const url = sourceUrl(s.id.kind, s.object.spec);
                const host = url ? judgeUrl(url, opts.mirrors).host : undefined;
                if (host) hosts.add(host);
            }
            for (const hr of build.objects.filter(isHelmRelease)) {
                const judged = await judgeHelmRelease(hr, build.objects, {
                    engine,
                    charts,
                    flux: opts.flux,
                    kubeVersion: opts.kubeVersions?.[name],
                }).catch((e: Error) => ({ rendered: undefined, notRendered: e.message.split("\n")[0] }));
                if (!judged.rendered) {
                    out.notRendered.push(`${name}: ${describeId(hr.id)}: ${judged.notRendered}`);
                    continue;
                }
                const r = judged.rendered;
                for (const o of r.objects)
                    objects.set(`${keyOf(hr)} renders ${o.id.apiVersion} ${describeId(o.id)}`, hash(o.text));
                for (const l of r.locations) if (l.parsed) hosts.add(l.parsed.domain);
            }
            out.objects.set(name, objects);
            out.hosts.set(name, hosts);
        }
        return out;
    } finally {
        removeTemporaryFolder(copy);
    }
}

/** The non-comment lines of an inventory file, validated by its parser (a broken one is a problem). */
function inventoryLines(root: string, file: string, problems: string[]): Set<string> {
    const p = path.join(root, "inventory", file);
    if (!fs.existsSync(p)) return new Set();
    const text = fs.readFileSync(p, "utf8");
    try {
        if (file === "images.txt") parseInventory(text, p);
        else parseChartInventory(text, p);
    } catch (e) {
        problems.push((e as Error).message);
        return new Set();
    }
    const lines = text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("#"));
    // charts.txt: the archive's cache path and sha256 say where and what, not what is copied.
    return new Set(file === "charts.txt" ? lines.map((l) => l.split(/\s+/).slice(0, 5).join(" ")) : lines);
}

const minus = (a: ReadonlySet<string>, b: ReadonlySet<string>) => [...a].filter((x) => !b.has(x)).sort();

/** Releases not rendered, once each: "both" when neither side could, else the side that could not. */
function notRenderedOf(before: Snapshot, after: Snapshot): string[] {
    const a = new Set(before.notRendered);
    const b = new Set(after.notRendered);
    return [
        ...[...b].filter((n) => a.has(n)).map((n) => `both ${n}`),
        ...minus(a, b).map((n) => `old ${n}`),
        ...minus(b, a).map((n) => `new ${n}`),
    ].sort();
}

export async function diffTrees(oldRoot: string, newRoot: string, opts: DiffOptions): Promise<DiffReport> {
    const [before, after] = [await snapshot(oldRoot, opts, "old"), await snapshot(newRoot, opts, "new")];
    const problems = [...before.problems, ...after.problems];
    const clusters: ClusterDiff[] = [];
    for (const name of [...new Set([...before.objects.keys(), ...after.objects.keys()])].sort()) {
        const a = before.objects.get(name) ?? new Map<string, string>();
        const b = after.objects.get(name) ?? new Map<string, string>();
        clusters.push({
            name,
            added: [...b.keys()].filter((k) => !a.has(k)).sort(),
            removed: [...a.keys()].filter((k) => !b.has(k)).sort(),
            changed: [...b.keys()].filter((k) => a.has(k) && a.get(k) !== b.get(k)).sort(),
        });
    }
    const hosts: DiffReport["hosts"][number][] = [];
    for (const [cluster, set] of after.hosts)
        for (const host of minus(set, before.hosts.get(cluster) ?? new Set()))
            hosts.push({ cluster, host, inChina: isChinaHost(opts.mirrors, host) });
    const lines = (file: string) => [inventoryLines(oldRoot, file, problems), inventoryLines(newRoot, file, problems)];
    const [oldImages, newImages] = lines("images.txt");
    const [oldCharts, newCharts] = lines("charts.txt");
    return {
        clusters,
        images: { copy: minus(newImages, oldImages), unused: minus(oldImages, newImages) },
        charts: { copy: minus(newCharts, oldCharts), unused: minus(oldCharts, newCharts) },
        hosts: hosts.sort((x, y) => (x.cluster + x.host < y.cluster + y.host ? -1 : 1)),
        notRendered: notRenderedOf(before, after),
        problems: [...new Set(problems)].sort(),
    };
}

export function hasChanges(r: DiffReport): boolean {
    return (
        r.clusters.some((c) => c.added.length + c.removed.length + c.changed.length > 0) ||
        r.images.copy.length + r.images.unused.length + r.charts.copy.length + r.charts.unused.length > 0 ||
        r.hosts.length > 0
    );
}

/** The report as a person reads it (also the pull request's comment). */
export function diffText(r: DiffReport, sizes?: ReadonlyMap<string, number>): string {
    const out: string[] = [];
    for (const c of r.clusters) {
        out.push(
            `cluster ${c.name}: ${c.added.length} added, ${c.removed.length} removed, ${c.changed.length} changed`,
        );
        for (const k of c.added) out.push(`  + ${k}`);
        for (const k of c.removed) out.push(`  - ${k}`);
        for (const k of c.changed) out.push(`  ~ ${k}`);
    }
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    const total = r.images.copy.reduce((n, l) => n + (sizes?.get(l) ?? 0), 0);
    out.push(
        `images to copy into China: ${r.images.copy.length}${sizes && r.images.copy.length ? ` (${mb(total)} of layers)` : ""}`,
        ...r.images.copy.map((l) => `  + ${l}${sizes?.has(l) ? `   ${mb(sizes.get(l)!)}` : ""}`),
        `images no longer used: ${r.images.unused.length}`,
        ...r.images.unused.map((l) => `  - ${l}`),
        `charts to copy into China: ${r.charts.copy.length}`,
        ...r.charts.copy.map((l) => `  + ${l}`),
        `charts no longer used: ${r.charts.unused.length}`,
        ...r.charts.unused.map((l) => `  - ${l}`),
        `new hosts: ${r.hosts.length}`,
        ...r.hosts.map((h) => `  ${h.inChina ? "inside China " : "OUTSIDE CHINA"}  ${h.host} (cluster ${h.cluster})`),
    );
    if (r.notRendered.length)
        out.push(
            `not rendered (their objects not compared): ${r.notRendered.length}`,
            ...r.notRendered.map((n) => `  ${n}`),
        );
    for (const p of r.problems) out.push(`PROBLEM  ${p}`);
    out.push(hasChanges(r) ? "changes: yes" : "changes: none");
    return out.join("\n");
}
