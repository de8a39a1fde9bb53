/**
 * gitops/catalog.yaml: what to deploy where. Helm releases and plain manifests, grouped as
 * infrastructure controllers, infrastructure configs and apps, each on one or both clusters, with
 * per-cluster values. Every mistake is reported with file, line, key and fix; all of them at once.
 */
import * as path from "path";
import { parseYaml, pathString, readText, SourceError, YamlPath } from "./yaml-source";
import { tryParseImage } from "./reference";

export const CLUSTERS = ["global", "china"] as const;
export type ClusterName = (typeof CLUSTERS)[number];
export const GROUPS = ["controllers", "configs", "apps"] as const;
export type Group = (typeof GROUPS)[number];

export const DEFAULT_CATALOG_FILE = path.join(__dirname, "catalog.yaml");

/** The fluxcd-community chart the Pulumi bootstrap installs when the catalog names none. */
export const DEFAULT_FLUX_CHART: ChartRef = { repository: "https://fluxcd-community.github.io/helm-charts", name: "flux2", version: "2.18.3" };

/** Runs the ECR token refresher: needs sh, aws and kubectl. */
export const DEFAULT_ECR_REFRESHER_IMAGE = "docker.io/alpine/k8s:1.33.4";

export interface ChartRef {
    /** `https://…` Helm repository or `oci://…` registry path (with or without the chart name). */
    readonly repository: string;
    readonly name: string;
    /** An exact version: ranges cannot be mirrored into China ahead of time. */
    readonly version: string;
}

export interface Release {
    readonly kind: "release";
    readonly name: string;
    readonly namespace: string;
    readonly group: Group;
    readonly chart: ChartRef;
    readonly clusters: readonly ClusterName[];
    /** Releases that must be ready first (by name). @default [] */
    readonly dependsOn: readonly string[];
    /** Values for every cluster. @default {} */
    readonly values: Record<string, unknown>;
    /** Values merged over `values` on one cluster. @default {} */
    readonly clusterValues: Partial<Record<ClusterName, Record<string, unknown>>>;
    /** Images the chart sets in its templates rather than in values (rewritten by the post-renderer). @default [] */
    readonly extraImages: readonly string[];
    /** The chart's own default values.yaml (relative to the catalog), so defaults are scanned too. */
    readonly chartValues?: string;
}

export interface Manifests {
    readonly kind: "manifests";
    readonly name: string;
    readonly group: Group;
    readonly clusters: readonly ClusterName[];
    /** Kubernetes objects, applied as they are. */
    readonly objects: readonly Record<string, unknown>[];
}

export interface Catalog {
    readonly file: string;
    /** Flux's own controller images, pinned to the China registry on the china cluster. */
    readonly fluxImages: readonly string[];
    /** The flux2 chart the Pulumi bootstrap installs. */
    readonly fluxChart: ChartRef;
    /** Images the Pulumi program deploys itself (they are copied into the China registry too). */
    readonly platform: { readonly ecrRefresherImage: string };
    readonly releases: readonly Release[];
    readonly manifests: readonly Manifests[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const EXACT_VERSION = /^v?\d+(\.\d+){0,2}([-+][0-9A-Za-z.-]+)?$/;

function isObj(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function loadCatalog(file: string): Catalog {
    return parseCatalog(readText(file, "catalog"), file);
}

export function parseCatalog(text: string, file: string): Catalog {
    const src = parseYaml(text, file);
    const problems: string[] = [];
    const fail = (p: YamlPath, problem: string, fix: string) => problems.push(`${src.at(p)}: ${pathString(p) || "(top)"}: ${problem}; ${fix}`);
    const data = src.data;
    if (!isObj(data)) throw new SourceError(`${file}:1: a catalog must be a mapping with version, flux, releases and manifests`);
    for (const key of Object.keys(data)) if (!["version", "flux", "platform", "releases", "manifests"].includes(key)) fail([key], "is not a catalog setting", "remove it; settings are version, flux, platform, releases, manifests");
    if (data.version !== 1) fail(["version"], `must be 1, got ${JSON.stringify(data.version)}`, "set version: 1");

    const known = (p: YamlPath, obj: Record<string, unknown>, keys: string[]) => {
        for (const k of Object.keys(obj)) if (!keys.includes(k)) fail([...p, k], "is not a known setting", `remove it; settings are ${keys.join(", ")}`);
    };
    const name = (p: YamlPath, v: unknown, max: number, what: string): string => {
        if (typeof v !== "string" || !DNS_LABEL.test(v) || v.length > max) {
            fail(p, `${JSON.stringify(v)} is not a valid ${what}`, `use 1-${max} lowercase letters, digits or -, starting and ending with a letter or digit`);
            return "";
        }
        return v;
    };
    const clustersOf = (p: YamlPath, v: unknown): ClusterName[] => {
        if (v === undefined) return [...CLUSTERS];
        if (!Array.isArray(v) || v.length === 0 || v.some((c) => !(CLUSTERS as readonly unknown[]).includes(c))) {
            fail(p, `${JSON.stringify(v)} is not a list of clusters`, `list one or both of: ${CLUSTERS.join(", ")}`);
            return [];
        }
        return [...new Set(v as ClusterName[])].sort();
    };
    const groupOf = (p: YamlPath, v: unknown, dflt: Group): Group => {
        if (v === undefined) return dflt;
        if (!(GROUPS as readonly unknown[]).includes(v)) {
            fail(p, `${JSON.stringify(v)} is not a group`, `use one of: ${GROUPS.join(", ")}`);
            return dflt;
        }
        return v as Group;
    };
    const imageList = (p: YamlPath, v: unknown): string[] => {
        if (v === undefined) return [];
        if (!Array.isArray(v)) {
            fail(p, "must be a list of image references", "write a YAML list such as [ghcr.io/org/image:1.0]");
            return [];
        }
        return v.flatMap((s, i) => {
            if (typeof s !== "string" || !tryParseImage(s)) {
                fail([...p, i], `${JSON.stringify(s)} is not an image reference`, "write registry/repository:tag, e.g. ghcr.io/fluxcd/source-controller:v1.8.2");
                return [];
            }
            return [s];
        });
    };

    const chartOf = (p: YamlPath, raw: unknown): ChartRef => {
        if (!isObj(raw)) {
            fail(p, "is required", "give chart: {repository, name, version}");
            return { repository: "", name: "", version: "" };
        }
        known(p, raw, ["repository", "name", "version"]);
        const repository = raw.repository;
        if (typeof repository !== "string" || !/^(https|oci):\/\/[^\s/]+(\/[^\s]*)?$/.test(repository)) {
            fail([...p, "repository"], `${JSON.stringify(repository)} is not a chart repository`, "use an https:// Helm repository URL or an oci:// registry path");
        }
        const chartName = typeof raw.name === "string" && /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/.test(raw.name) ? raw.name : "";
        if (!chartName) fail([...p, "name"], `${JSON.stringify(raw.name)} is not a chart name`, "use the chart's name, e.g. ingress-nginx");
        const version = typeof raw.version === "number" ? String(raw.version) : raw.version;
        if (typeof version !== "string" || !EXACT_VERSION.test(version)) {
            fail([...p, "version"], `${JSON.stringify(raw.version)} is not an exact chart version`, "pin an exact version such as 4.15.1: the China registry must hold the chart before Flux asks for it, so ranges cannot be mirrored");
        }
        return { repository: typeof repository === "string" ? repository.replace(/\/+$/, "") : "", name: chartName, version: typeof version === "string" ? version : "" };
    };

    // flux
    let fluxImages: string[] = [];
    let fluxChart: ChartRef = DEFAULT_FLUX_CHART;
    if (data.flux !== undefined) {
        if (!isObj(data.flux)) fail(["flux"], "must be a mapping", "write flux: with images: [...]");
        else {
            known(["flux"], data.flux, ["images", "chart"]);
            fluxImages = imageList(["flux", "images"], data.flux.images);
            if (data.flux.chart !== undefined) fluxChart = chartOf(["flux", "chart"], data.flux.chart);
        }
    }

    // platform
    let ecrRefresherImage = DEFAULT_ECR_REFRESHER_IMAGE;
    if (data.platform !== undefined) {
        if (!isObj(data.platform)) fail(["platform"], "must be a mapping", "write platform: with ecrRefresherImage: <image>");
        else {
            known(["platform"], data.platform, ["ecrRefresherImage"]);
            if (data.platform.ecrRefresherImage !== undefined) ecrRefresherImage = imageList(["platform", "ecrRefresherImage"], [data.platform.ecrRefresherImage])[0] ?? DEFAULT_ECR_REFRESHER_IMAGE;
        }
    }

    // releases
    const releases: Release[] = [];
    const names = new Map<string, YamlPath>();
    const claim = (p: YamlPath, n: string) => {
        if (!n) return;
        if (names.has(n)) fail([...p, "name"], `"${n}" is already used at ${src.at(names.get(n)!)}`, "give every release and manifest set its own name");
        else names.set(n, [...p, "name"]);
    };
    if (data.releases !== undefined && !Array.isArray(data.releases)) fail(["releases"], "must be a list", "write releases: as a YAML list of releases");
    (Array.isArray(data.releases) ? data.releases : []).forEach((raw: unknown, i: number) => {
        const p: YamlPath = ["releases", i];
        if (!isObj(raw)) {
            fail(p, "must be a mapping", "give it name, namespace, chart and clusters");
            return;
        }
        known(p, raw, ["name", "namespace", "group", "chart", "clusters", "dependsOn", "values", "clusterValues", "extraImages", "chartValues"]);
        const n = name([...p, "name"], raw.name, 53, "release name (Helm allows 53 characters)");
        claim(p, n);
        const namespace = name([...p, "namespace"], raw.namespace ?? n, 63, "namespace");
        const chart = chartOf([...p, "chart"], raw.chart);
        const clusters = clustersOf([...p, "clusters"], raw.clusters);
        const values = raw.values === undefined ? {} : raw.values;
        if (!isObj(values)) fail([...p, "values"], "must be a mapping", "write Helm values as a YAML mapping");
        const clusterValues: Partial<Record<ClusterName, Record<string, unknown>>> = {};
        if (raw.clusterValues !== undefined) {
            if (!isObj(raw.clusterValues)) fail([...p, "clusterValues"], "must be a mapping of cluster: values", `use keys ${CLUSTERS.join(", ")}`);
            else
                for (const [c, v] of Object.entries(raw.clusterValues)) {
                    if (!(CLUSTERS as readonly string[]).includes(c)) fail([...p, "clusterValues", c], "is not a cluster", `use ${CLUSTERS.join(" or ")}`);
                    else if (!isObj(v)) fail([...p, "clusterValues", c], "must be a mapping", "write Helm values as a YAML mapping");
                    else if (!clusters.includes(c as ClusterName)) fail([...p, "clusterValues", c], `has values for ${c}, but the release is not deployed there`, `add ${c} to clusters or remove these values`);
                    else clusterValues[c as ClusterName] = v;
                }
        }
        let dependsOn: string[] = [];
        if (raw.dependsOn !== undefined) {
            if (!Array.isArray(raw.dependsOn) || raw.dependsOn.some((d) => typeof d !== "string")) fail([...p, "dependsOn"], "must be a list of release names", "write dependsOn: [cert-manager]");
            else dependsOn = [...new Set(raw.dependsOn as string[])].sort();
        }
        let chartValues: string | undefined;
        if (raw.chartValues !== undefined) {
            if (typeof raw.chartValues !== "string" || !raw.chartValues) fail([...p, "chartValues"], "must be a path", "give the path of the chart's values.yaml, relative to the catalog");
            else chartValues = raw.chartValues;
        }
        releases.push({
            kind: "release",
            name: n,
            namespace,
            group: groupOf([...p, "group"], raw.group, "apps"),
            chart,
            clusters,
            dependsOn,
            values: isObj(values) ? values : {},
            clusterValues,
            extraImages: imageList([...p, "extraImages"], raw.extraImages),
            chartValues,
        });
    });

    // manifests
    const manifests: Manifests[] = [];
    if (data.manifests !== undefined && !Array.isArray(data.manifests)) fail(["manifests"], "must be a list", "write manifests: as a YAML list");
    (Array.isArray(data.manifests) ? data.manifests : []).forEach((raw: unknown, i: number) => {
        const p: YamlPath = ["manifests", i];
        if (!isObj(raw)) {
            fail(p, "must be a mapping", "give it name, group, clusters and objects");
            return;
        }
        known(p, raw, ["name", "group", "clusters", "objects"]);
        const n = name([...p, "name"], raw.name, 63, "manifest set name");
        claim(p, n);
        const objects: Record<string, unknown>[] = [];
        if (!Array.isArray(raw.objects) || raw.objects.length === 0) fail([...p, "objects"], "must be a non-empty list of Kubernetes objects", "list objects with apiVersion, kind and metadata.name");
        else
            raw.objects.forEach((o: unknown, j: number) => {
                const meta = isObj(o) && isObj(o.metadata) ? o.metadata : undefined;
                if (!isObj(o) || typeof o.apiVersion !== "string" || typeof o.kind !== "string" || !meta || typeof meta.name !== "string" || !meta.name) {
                    fail([...p, "objects", j], "is not a Kubernetes object", "give it apiVersion, kind and metadata.name");
                } else objects.push(o);
            });
        manifests.push({ kind: "manifests", name: n, group: groupOf([...p, "group"], raw.group, "configs"), clusters: clustersOf([...p, "clusters"], raw.clusters), objects });
    });

    // dependencies: known, on the same clusters, not in a later group, no cycles
    const byName = new Map(releases.map((r) => [r.name, r]));
    releases.forEach((r, i) => {
        r.dependsOn.forEach((d) => {
            const dep = byName.get(d);
            const p: YamlPath = ["releases", i, "dependsOn"];
            if (!dep) fail(p, `names the unknown release "${d}"`, `use one of: ${[...byName.keys()].filter((k) => k !== r.name).join(", ") || "(no other releases)"}`);
            else if (dep === r) fail(p, "names the release itself", "remove it");
            else if (r.clusters.some((c) => !dep.clusters.includes(c))) fail(p, `"${d}" is not deployed on every cluster "${r.name}" is on`, `add ${r.clusters.filter((c) => !dep.clusters.includes(c)).join(", ")} to ${d}'s clusters`);
            else if (GROUPS.indexOf(dep.group) > GROUPS.indexOf(r.group)) fail(p, `"${d}" is in ${dep.group}, which Flux applies after ${r.group}`, `move ${d} to ${r.group} or an earlier group, or drop the dependency`);
        });
    });
    const visiting = new Set<string>();
    const done = new Set<string>();
    const cycle = (n: string, trail: string[]): string[] | undefined => {
        if (done.has(n)) return undefined;
        if (visiting.has(n)) return [...trail.slice(trail.indexOf(n)), n];
        visiting.add(n);
        for (const d of byName.get(n)?.dependsOn ?? []) {
            const c = cycle(d, [...trail, n]);
            if (c) return c;
        }
        visiting.delete(n);
        done.add(n);
        return undefined;
    };
    for (const r of releases) {
        const c = cycle(r.name, []);
        if (c) {
            fail(["releases", releases.indexOf(r), "dependsOn"], `forms a cycle: ${c.join(" -> ")}`, "remove one of these dependencies");
            break;
        }
    }

    if (problems.length > 0) throw new SourceError(problems.join("\n"));
    return { file, fluxImages, fluxChart, platform: { ecrRefresherImage }, releases, manifests };
}
