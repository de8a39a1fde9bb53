/**
 * The border audit: reads any tree of Kubernetes/Flux YAML and lists, per cluster, every image and every
 * chart, Git, OCI and bucket source, each judged inside China or cross-border by the chinaHosts list of
 * gitops/mirrors.yaml. The same pass yields the sync inventory: what the global side must copy into the
 * ACR EE origin instance so that the China instance holds everything the china cluster pulls.
 *
 * Clusters are found the way Flux finds them: a Flux Kustomization under `clusters/<name>/` belongs to
 * cluster <name>, and so does everything its `spec.path` reaches, following kustomization.yaml
 * `resources`, `patches` and `components` (a directory without kustomization.yaml contributes all its
 * YAML files, as Flux's generated kustomization would).
 */
import * as fs from "fs";
import * as path from "path";
import { decodeFlat, isChinaHost, Mirrors } from "./mirrors";
import { format, nameOf, Reference, tryParseImage } from "./reference";
import { scanValues } from "./values";
import { parseYamlStream, SourceError } from "./yaml-source";

/** Path → YAML text, or the already-parsed documents of that file (the generator passes its objects). */
export type Tree = ReadonlyMap<string, string | readonly unknown[]>;

export interface ImageFinding {
    readonly reference: string;
    readonly inChina: boolean;
    readonly file: string;
    /** What sets it, e.g. `HelmRelease podinfo/podinfo spec.values.image`. */
    readonly where: string;
}

export interface SourceFinding {
    readonly kind: string;
    readonly name: string;
    readonly url: string;
    readonly inChina: boolean;
    readonly file: string;
    /** For chart sources: the upstream chart it mirrors (`crossborder/upstream-chart`), if recorded. */
    readonly upstream?: string;
}

export interface ClusterReport {
    readonly images: ImageFinding[];
    readonly sources: SourceFinding[];
    readonly crossBorder: number;
    /** Upstream name → China name, from post-renderer and kustomize `images` entries. */
    readonly renames: ReadonlyMap<string, string>;
}

export interface AuditReport {
    readonly clusters: ReadonlyMap<string, ClusterReport>;
    /** Files no cluster's Kustomizations reach. */
    readonly unassigned: ClusterReport;
    readonly warnings: string[];
}

/** Annotation the generator puts on a China chart source, naming the upstream chart it mirrors. */
export const UPSTREAM_CHART_ANNOTATION = "crossborder/upstream-chart";

const WORKLOAD_KINDS = new Set(["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"]);

type Obj = Record<string, any>;

const isYaml = (p: string) => /\.ya?ml$/.test(p);

/** Read every YAML file under `dir` (hidden directories such as .git are skipped). */
export function readTree(dir: string): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (rel: string) => {
        let entries: fs.Dirent[];
        try {
            entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
        } catch (e) {
            throw new SourceError(`${path.join(dir, rel)}: cannot read the directory (${(e as NodeJS.ErrnoException).code ?? String(e)}); check the path`);
        }
        for (const e of entries) {
            if (e.name.startsWith(".")) continue;
            const p = rel ? `${rel}/${e.name}` : e.name;
            if (e.isDirectory()) walk(p);
            else if (e.isFile() && isYaml(e.name)) out.set(p, fs.readFileSync(path.join(dir, p), "utf8"));
        }
    };
    walk("");
    return out;
}

function hostOfUrl(url: string): string | undefined {
    const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([^/:?#]+|\[[^\]]+\])(?::(\d+))?/i.exec(url) ?? /^(?:[^@/]+@)?([^:/]+):(?!\/)/.exec(url);
    if (!m) return undefined;
    return (m[2] ? `${m[1]}:${m[2]}` : m[1]).toLowerCase();
}

function normalizePath(p: string): string {
    return path.posix.normalize(p).replace(/^\.\/+/, "").replace(/\/+$/, "");
}

export function audit(tree: Tree, mirrors: Mirrors, opts: { assumeCluster?: string } = {}): AuditReport {
    const warnings: string[] = [];
    const docs = new Map<string, Obj[]>();
    for (const [file, content] of tree) {
        if (!isYaml(file)) continue;
        try {
            const parsed = typeof content === "string" ? parseYamlStream(content, file).map((d) => d.data) : content;
            docs.set(
                file,
                parsed.filter((d): d is Obj => d !== null && typeof d === "object" && !Array.isArray(d)),
            );
        } catch (e) {
            if (!(e instanceof SourceError)) throw e;
            warnings.push(`skipped ${e.message}`);
        }
    }
    const dirs = new Set<string>();
    for (const f of docs.keys()) for (let d = path.posix.dirname(f); d !== "."; d = path.posix.dirname(d)) dirs.add(d);
    dirs.add("");
    const filesUnder = (dir: string) => [...docs.keys()].filter((f) => dir === "" || f.startsWith(`${dir}/`));
    const kustomizeConfig = (dir: string): Obj | undefined => {
        for (const name of ["kustomization.yaml", "kustomization.yml", "Kustomization"]) {
            const f = dir ? `${dir}/${name}` : name;
            const d = docs.get(f)?.[0];
            if (d) return { ...d, __file: f };
        }
        return undefined;
    };

    /** Every file a directory or file contributes, following kustomization.yaml like kustomize does. */
    const reach = (target: string, seen: Set<string>): string[] => {
        const t = normalizePath(target) === "." ? "" : normalizePath(target);
        if (seen.has(t)) return [];
        seen.add(t);
        if (docs.has(t)) return [t];
        if (!dirs.has(t)) {
            if (t) warnings.push(`${t}: referenced but not found in the tree`);
            return [];
        }
        const k = kustomizeConfig(t);
        if (!k) return filesUnder(t);
        const out = [k.__file as string];
        const refs = [
            ...(Array.isArray(k.resources) ? k.resources : []),
            ...(Array.isArray(k.components) ? k.components : []),
            ...(Array.isArray(k.patchesStrategicMerge) ? k.patchesStrategicMerge : []),
            ...(Array.isArray(k.patches) ? k.patches.map((p: Obj) => p?.path).filter(Boolean) : []),
        ];
        for (const r of refs) if (typeof r === "string" && !/^[a-z]+:\/\//.test(r)) out.push(...reach(path.posix.join(t, r), seen));
        return out;
    };

    // Clusters and their files.
    const clusterFiles = new Map<string, Set<string>>();
    for (const [file, list] of docs) {
        const m = /^clusters\/([^/]+)\//.exec(file);
        for (const d of list) {
            if (d.kind !== "Kustomization" || !String(d.apiVersion ?? "").startsWith("kustomize.toolkit.fluxcd.io/")) continue;
            const cluster = m ? m[1] : opts.assumeCluster ?? "(no cluster)";
            const set = clusterFiles.get(cluster) ?? new Set<string>();
            clusterFiles.set(cluster, set);
            if (m) for (const f of reach(`clusters/${m[1]}`, new Set())) set.add(f);
            const spec = d.spec ?? {};
            if (typeof spec.path === "string") for (const f of reach(spec.path, new Set())) set.add(f);
        }
    }
    const assigned = new Set([...clusterFiles.values()].flatMap((s) => [...s]));
    const rest = [...docs.keys()].filter((f) => !assigned.has(f));
    if (opts.assumeCluster && rest.length > 0) {
        const set = clusterFiles.get(opts.assumeCluster) ?? new Set<string>();
        rest.forEach((f) => set.add(f));
        clusterFiles.set(opts.assumeCluster, set);
    }

    const report = (files: Iterable<string>): ClusterReport => {
        const images: ImageFinding[] = [];
        const sources: SourceFinding[] = [];
        const renames = new Map<string, string>();
        const addImage = (ref: string, file: string, where: string) => {
            // Normalised and judged from one parse; an unparseable reference is kept as written, cross-border.
            const parsed = tryParseImage(ref);
            images.push({ reference: parsed ? format(parsed) : ref, inChina: parsed ? isChinaHost(mirrors, parsed.domain) : false, file, where });
        };
        for (const file of [...files].sort()) {
            for (const d of docs.get(file) ?? []) {
                for (const found of documentImages(d)) {
                    if (found.rename) renames.set(found.rename.from, found.rename.to);
                    addImage(found.reference, file, found.where);
                }
                const kind = String(d.kind ?? "");
                const api = String(d.apiVersion ?? "");
                const meta = d.metadata ?? {};
                const id = `${kind} ${meta.namespace ? `${meta.namespace}/` : ""}${meta.name ?? "?"}`;
                if (api.startsWith("source.toolkit.fluxcd.io/") && ["HelmRepository", "OCIRepository", "GitRepository", "Bucket"].includes(kind)) {
                    const url = String(kind === "Bucket" ? d.spec?.endpoint ?? "" : d.spec?.url ?? "");
                    const host = kind === "Bucket" ? url.replace(/^https?:\/\//, "").split(/[/:]/)[0] : hostOfUrl(url);
                    sources.push({ kind, name: id, url, inChina: host ? isChinaHost(mirrors, host) : false, file, upstream: meta.annotations?.[UPSTREAM_CHART_ANNOTATION] });
                }
            }
        }
        const dedupe = <T>(xs: T[], key: (x: T) => string) => [...new Map(xs.map((x) => [key(x), x])).values()];
        const img = dedupe(images, (i) => `${i.reference}|${i.file}|${i.where}`);
        const src = dedupe(sources, (s) => `${s.kind}|${s.url}|${s.file}|${s.name}`);
        return { images: img, sources: src, crossBorder: img.filter((i) => !i.inChina).length + src.filter((s) => !s.inChina).length, renames };
    };

    const clusters = new Map([...clusterFiles.keys()].sort().map((c) => [c, report(clusterFiles.get(c)!)]));
    return { clusters, unassigned: report(opts.assumeCluster ? [] : rest), warnings };
}

/**
 * Every image one Kubernetes/Flux object makes a cluster pull: containers of workloads (Pods, Deployments,
 * StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs), HelmRelease values and post-renderer rewrites,
 * and kustomize `images` entries (with the rename they carry). Shared by the audit and the policy pack.
 */
export function documentImages(d: Obj): { reference: string; where: string; rename?: { from: string; to: string } }[] {
    const out: { reference: string; where: string; rename?: { from: string; to: string } }[] = [];
    const kind = String(d.kind ?? "");
    const api = String(d.apiVersion ?? "");
    const meta = d.metadata ?? {};
    const id = `${kind} ${meta.namespace ? `${meta.namespace}/` : ""}${meta.name ?? "?"}`;
    if (WORKLOAD_KINDS.has(kind)) {
        const pod = kind === "Pod" ? d.spec : kind === "CronJob" ? d.spec?.jobTemplate?.spec?.template?.spec : d.spec?.template?.spec;
        for (const field of ["initContainers", "containers", "ephemeralContainers"]) {
            for (const c of Array.isArray(pod?.[field]) ? pod[field] : []) if (typeof c?.image === "string") out.push({ reference: c.image, where: `${id} ${field} ${c.name ?? "?"}` });
        }
    } else if (kind === "HelmRelease" && api.startsWith("helm.toolkit.fluxcd.io/")) {
        for (const img of scanValues(d.spec?.values ?? {}).images) out.push({ reference: format(img.reference), where: `${id} spec.values.${img.path.join(".")}` });
        for (const pr of Array.isArray(d.spec?.postRenderers) ? d.spec.postRenderers : []) {
            for (const e of Array.isArray(pr?.kustomize?.images) ? pr.kustomize.images : []) {
                if (typeof e?.name !== "string") continue;
                out.push({ reference: kustomizeImage(e), where: `${id} spec.postRenderers images ${e.name}`, ...(typeof e.newName === "string" ? { rename: { from: e.name, to: e.newName } } : {}) });
            }
        }
    } else if (kind === "Kustomization" && api.startsWith("kustomize.config.k8s.io/")) {
        for (const e of Array.isArray(d.images) ? d.images : []) {
            if (typeof e?.name !== "string") continue;
            out.push({ reference: kustomizeImage(e), where: `kustomization images ${e.name}`, ...(typeof e.newName === "string" ? { rename: { from: e.name, to: e.newName } } : {}) });
        }
    }
    return out;
}

/** The image a kustomize `images` entry leaves in the manifests. */
function kustomizeImage(e: Obj): string {
    const name = typeof e.newName === "string" ? e.newName : e.name;
    return `${name}${typeof e.newTag === "string" ? `:${e.newTag}` : ""}${typeof e.digest === "string" ? `@${e.digest}` : ""}`;
}

// ---------------------------------------------------------------------------------------------------
// Inventory

export interface Inventory {
    /** skopeo transport references: `docker://upstream[:tag|@digest]` → `docker://origin/...:tag`. */
    readonly images: { readonly source: string; readonly destination: string }[];
    readonly charts: { readonly source: string; readonly version: string; readonly destination: string }[];
    /** China references the inventory cannot trace back to an upstream, or cannot copy (no tag). */
    readonly unresolved: string[];
}

/**
 * What the global side copies into the origin instance: every image and chart of `cluster` served by the
 * China ACR EE instance (`chinaRegistry`), traced back to its upstream through the rename entries the
 * tree carries (or, for a flat name, by decoding it), destined for the same path in the origin.
 */
export function inventoryFrom(
    report: ClusterReport,
    chinaRegistry: string,
    originRegistry: string,
    extra: readonly { upstream: Reference; china: Reference }[] = [],
): Inventory {
    const reverse = new Map<string, string>();
    for (const [upstream, china] of report.renames) {
        const u = tryParseImage(upstream);
        if (u && !reverse.has(china)) reverse.set(china, nameOf(u));
    }
    const images = new Map<string, { source: string; destination: string }>();
    const unresolved = new Set<string>();
    /** Copy `upstream` (a repository name) at `china`'s tag/digest to the same path in the origin. */
    const add = (upstream: string, china: Reference) => {
        const source = `docker://${upstream}${china.digest ? `@${china.digest}` : `:${china.tag}`}`;
        images.set(source, { source, destination: `docker://${originRegistry}/${china.path}:${china.tag ?? china.digest!.replace(":", "-")}` });
    };
    for (const finding of report.images) {
        const ref = tryParseImage(finding.reference);
        if (!ref || ref.domain !== chinaRegistry) continue;
        const upstream = reverse.get(nameOf(ref)) ?? decodeUpstream(ref);
        if (!upstream) {
            unresolved.add(`${finding.reference} (${finding.file}: ${finding.where}): no upstream recorded for this China name`);
            continue;
        }
        if (ref.tag === undefined && ref.digest === undefined) {
            if (!finding.where.includes("postRenderers") && !finding.where.startsWith("kustomization images")) {
                unresolved.add(`${finding.reference} (${finding.file}: ${finding.where}): no tag (the chart supplies it); pin the tag in gitops/catalog.yaml so it can be copied`);
            }
            continue;
        }
        add(upstream, ref);
    }
    for (const { upstream, china } of extra) {
        if (china.domain === chinaRegistry && (china.tag !== undefined || china.digest !== undefined)) add(nameOf(upstream), china);
    }
    const charts = new Map<string, { source: string; version: string; destination: string }>();
    for (const s of report.sources) {
        if (s.kind !== "OCIRepository" || !s.url.startsWith(`oci://${chinaRegistry}/`) || !s.upstream) continue;
        const at = s.upstream.lastIndexOf("@");
        const [source, version] = at > 0 ? [s.upstream.slice(0, at), s.upstream.slice(at + 1)] : [s.upstream, ""];
        const destination = s.url.replace(`oci://${chinaRegistry}/`, `oci://${originRegistry}/`);
        charts.set(`${destination}@${version}`, { source, version, destination });
    }
    const sortBy = <T>(xs: T[], key: (x: T) => string) => xs.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    return {
        images: sortBy([...images.values()], (i) => i.source),
        charts: sortBy([...charts.values()], (c) => c.destination),
        unresolved: [...unresolved].sort(),
    };
}

/** A flat ACR EE name decodes to its upstream (`<ns>/quay.io_s_jetstack_s_x` → `quay.io/jetstack/x`). */
function decodeUpstream(ref: Reference): string | undefined {
    const last = ref.path.split("/").pop()!;
    const decoded = decodeFlat(last);
    const upstream = tryParseImage(decoded);
    return upstream && nameOf(upstream) === decoded ? decoded : undefined;
}

export function isCrossBorder(report: AuditReport, chinaClusters: readonly string[]): boolean {
    return chinaClusters.some((c) => (report.clusters.get(c)?.crossBorder ?? 0) > 0);
}

