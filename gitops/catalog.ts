/**
 * gitops/catalog.yaml: what to deploy where. Helm releases and plain manifests, grouped as
 * infrastructure controllers, infrastructure configs and apps, each on one or both clusters, with
 * per-cluster values. Every mistake is reported with file, line, key and fix; all of them at once.
 *
 * A release's chart is either remote (`repository` + `name` + exact `version`, fetched by
 * `crossborder charts pull`) or local (`path`: a chart directory inside the catalog's folder, carried
 * in the generated tree and reconciled from the tree's own source).
 */
import * as fs from "fs";
import * as path from "path";
import { parse as parseYamlText } from "yaml";
import { parseYaml, pathString, readText, SourceError, SourceReader, YamlPath, YamlSource } from "../core/yaml-source";
import { tryParseImage } from "../core/reference";
import { Doc } from "./objects/manifests";
import {
    DEFAULT_FLUX_VERSION,
    FLUX_IMAGE_REGISTRY,
    FLUX_RELEASES,
    fluxImages,
    fluxRelease,
    FluxRelease,
} from "../core/flux-releases";

export const CLUSTERS = ["global", "china"] as const;
export type ClusterName = (typeof CLUSTERS)[number];
export const GROUPS = ["controllers", "configs", "apps"] as const;
export type Group = (typeof GROUPS)[number];

export const DEFAULT_CATALOG_FILE = path.join(__dirname, "catalog.yaml");

/** Runs the ECR token refresher: needs sh, aws and kubectl. */
export const DEFAULT_ECR_REFRESHER_IMAGE = "docker.io/alpine/k8s:1.33.4";

export interface ChartRef {
    /** `https://…` Helm repository or `oci://…` registry path (with or without the chart name). */
    readonly repository: string;
    readonly name: string;
    /** An exact version: ranges cannot be mirrored into China ahead of time. */
    readonly version: string;
}

/** A chart directory kept beside the catalog (its name and version come from its Chart.yaml). */
export interface LocalChart {
    /** As written in the catalog, relative to the catalog's folder. */
    readonly path: string;
    /** Absolute. */
    readonly dir: string;
    readonly name: string;
    readonly version: string;
}

export type ChartSpec = ChartRef | LocalChart;

export function isLocalChart(c: ChartSpec): c is LocalChart {
    return "dir" in c;
}

export interface Release {
    readonly kind: "release";
    readonly name: string;
    readonly namespace: string;
    readonly group: Group;
    readonly chart: ChartSpec;
    readonly clusters: readonly ClusterName[];
    /** Releases that must be ready first (by name). @default [] */
    readonly dependsOn: readonly string[];
    /** Values for every cluster. @default {} */
    readonly values: Record<string, unknown>;
    /** Values merged over `values` on one cluster. @default {} */
    readonly clusterValues: Partial<Record<ClusterName, Record<string, unknown>>>;
    /** Images the chart sets only in its templates, for when its archive is not at hand. @default [] */
    readonly extraImages: readonly string[];
    /**
     * Images the release's operator pulls at runtime, which no rendered object names (compiled-in defaults,
     * images it builds from a prefix and a name): copied and verified like the rest. @default []
     */
    readonly runtimeImages: readonly string[];
    /** The chart's own default values.yaml (inside the catalog's folder), for when its archive is not at hand. */
    readonly chartValues?: string;
    /** `file:line` of the entry, and its key (`releases[2]`), for messages. */
    readonly at: string;
    readonly key: string;
}

export interface Manifests {
    readonly kind: "manifests";
    readonly name: string;
    readonly group: Group;
    readonly clusters: readonly ClusterName[];
    /** Kubernetes objects, applied as they are. */
    readonly objects: readonly Record<string, unknown>[];
    readonly at: string;
    readonly key: string;
}

export interface Catalog {
    readonly file: string;
    /** The Flux release the Pulumi bootstrap installs (flux.version): its images, chart and semantics. */
    readonly flux: FluxRelease;
    /** Flux's own controller images (of that release), pinned to the China registry on the china cluster. */
    readonly fluxImages: readonly string[];
    /** The flux2 chart the Pulumi bootstrap installs. */
    readonly fluxChart: ChartRef;
    /** Images the Pulumi program deploys itself (they are copied into the China registry too). */
    readonly platform: { readonly ecrRefresherImage: string };
    readonly releases: readonly Release[];
    readonly manifests: readonly Manifests[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CHART_NAME = /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/;
const EXACT_VERSION = /^v?\d+(\.\d+){0,2}([-+][0-9A-Za-z.-]+)?$/;
const RELEASE_KEYS = [
    "name",
    "namespace",
    "group",
    "chart",
    "clusters",
    "dependsOn",
    "values",
    "clusterValues",
    "extraImages",
    "runtimeImages",
    "chartValues",
];
/**
 * Value keys that hold credentials. Copied into a HelmRelease they would be pushed to Git in clear; such
 * values belong in a Secret the HelmRelease reads with valuesFrom.
 */
const SECRET_KEY =
    /(password|passwd|token|secret|api[_-]?key|private[_-]?key|secret[_-]?key|access[_-]?key|client[_-]?secret)$/i;

function isObj(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function loadCatalog(file: string): Catalog {
    return parseCatalog(readText(file, "catalog"), file);
}

/** The catalog's reader: the shared one, plus the catalog's own kinds of value. */
class CatalogReader extends SourceReader {
    readonly dir: string;

    constructor(src: YamlSource) {
        super(src);
        this.dir = path.dirname(path.resolve(src.file));
    }

    name(p: YamlPath, v: unknown, max: number, what: string): string {
        if (typeof v !== "string" || !DNS_LABEL.test(v)) {
            this.fail(
                p,
                `${JSON.stringify(v)} is not a valid ${what}`,
                "use lowercase letters, digits or -, starting and ending with a letter or digit",
            );
            return "";
        }
        if (v.length > max) {
            this.fail(
                p,
                `"${v}" is ${v.length} characters, longer than a ${what} may be (${max})`,
                `shorten it to at most ${max} characters`,
            );
            return "";
        }
        return v;
    }

    clusters(p: YamlPath, v: unknown): ClusterName[] {
        if (v === undefined) return [...CLUSTERS];
        if (!Array.isArray(v) || v.length === 0 || v.some((c) => !(CLUSTERS as readonly unknown[]).includes(c))) {
            this.fail(
                p,
                `${JSON.stringify(v)} is not a list of clusters`,
                `list one or both of: ${CLUSTERS.join(", ")}`,
            );
            return [];
        }
        return [...new Set(v as ClusterName[])].sort();
    }

    group(p: YamlPath, v: unknown, dflt: Group): Group {
        if (v === undefined) return dflt;
        if (!(GROUPS as readonly unknown[]).includes(v)) {
            this.fail(p, `${JSON.stringify(v)} is not a group`, `use one of: ${GROUPS.join(", ")}`);
            return dflt;
        }
        return v as Group;
    }

    images(p: YamlPath, v: unknown): string[] {
        if (v === undefined) return [];
        if (!Array.isArray(v)) {
            this.fail(p, "must be a list of image references", "write a YAML list such as [ghcr.io/org/image:1.0]");
            return [];
        }
        return v.flatMap((s, i) => {
            if (typeof s !== "string" || !tryParseImage(s)) {
                this.fail(
                    [...p, i],
                    `${JSON.stringify(s)} is not an image reference`,
                    "write registry/repository:tag, e.g. ghcr.io/acme/app:1.0",
                );
                return [];
            }
            return [s];
        });
    }

    /** An exact version, refusing YAML numbers: `version: 3.10` reads as 3.1. */
    version(p: YamlPath, raw: unknown): string {
        const scalar = this.src.scalar(p);
        if (typeof raw === "number") {
            const text = scalar?.text ?? String(raw);
            this.fail(
                p,
                `${text} is a YAML number (it reads as ${raw}), not a version`,
                `quote it: version: "${text}"`,
            );
            return "";
        }
        if (typeof raw !== "string" || !EXACT_VERSION.test(raw)) {
            this.fail(
                p,
                `${JSON.stringify(raw)} is not an exact chart version`,
                "pin an exact version such as 4.15.1: the China registry must hold the chart before Flux asks for it, so ranges cannot be mirrored",
            );
            return "";
        }
        return raw;
    }

    /** A path inside the catalog's folder (symbolic links resolved), or undefined after reporting why not. */
    insideCatalog(p: YamlPath, raw: unknown, what: string): string | undefined {
        if (typeof raw !== "string" || !raw) {
            this.fail(p, "must be a path", `give the path of the ${what}, relative to the catalog`);
            return undefined;
        }
        const resolved = path.resolve(this.dir, raw);
        let real: string;
        try {
            real = fs.realpathSync(resolved);
        } catch {
            this.fail(
                p,
                `${raw} does not exist (looked for ${resolved})`,
                `give the path of the ${what}, relative to the catalog's folder ${this.dir}`,
            );
            return undefined;
        }
        const root = fs.realpathSync(this.dir);
        if (path.isAbsolute(raw) || (real !== root && !real.startsWith(root + path.sep))) {
            this.fail(
                p,
                `${raw} is outside the catalog's folder ${this.dir}`,
                `keep the ${what} inside that folder: what it holds is copied into the generated tree`,
            );
            return undefined;
        }
        return real;
    }
}

function readChart(r: CatalogReader, p: YamlPath, raw: unknown): ChartSpec {
    const empty = { repository: "", name: "", version: "" };
    if (!isObj(raw)) {
        r.fail(
            p,
            "is required",
            "give chart: {repository, name, version}, or chart: {path} for a chart directory beside the catalog",
        );
        return empty;
    }
    if (raw.path !== undefined) {
        r.known(p, raw, ["path"]);
        return readLocalChart(r, [...p, "path"], raw.path) ?? empty;
    }
    r.known(p, raw, ["repository", "name", "version", "path"]);
    const repository = raw.repository;
    if (typeof repository !== "string" || !/^(https|oci):\/\/[^\s/@?#]+(\/[^\s?#]*)?$/.test(repository)) {
        r.fail(
            [...p, "repository"],
            `${JSON.stringify(repository)} is not a chart repository`,
            "use an https:// Helm repository URL or an oci:// registry path, without credentials, query or fragment",
        );
    }
    const name = typeof raw.name === "string" && CHART_NAME.test(raw.name) ? raw.name : "";
    if (!name)
        r.fail(
            [...p, "name"],
            `${JSON.stringify(raw.name)} is not a chart name`,
            "use the chart's name, e.g. ingress-nginx",
        );
    const version = r.version([...p, "version"], raw.version);
    return { repository: typeof repository === "string" ? repository.replace(/\/+$/, "") : "", name, version };
}

function readLocalChart(r: CatalogReader, p: YamlPath, raw: unknown): LocalChart | undefined {
    const dir = r.insideCatalog(p, raw, "chart directory");
    if (!dir) return undefined;
    let meta: Doc | undefined;
    try {
        meta = parseYamlText(fs.readFileSync(path.join(dir, "Chart.yaml"), "utf8"));
    } catch (e) {
        r.fail(
            p,
            `${raw}/Chart.yaml cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message.split("\n")[0]})`,
            "point it at a chart directory: one holding Chart.yaml, values.yaml and templates/",
        );
        return undefined;
    }
    if (
        typeof meta?.name !== "string" ||
        !CHART_NAME.test(meta.name) ||
        typeof meta?.version !== "string" ||
        !EXACT_VERSION.test(meta.version)
    ) {
        r.fail(
            p,
            `${raw}/Chart.yaml lacks a valid name and exact version`,
            "give the chart a name such as my-app and a version such as 0.1.0",
        );
        return undefined;
    }
    return { path: String(raw), dir, name: meta.name, version: meta.version };
}

/** Literal credentials anywhere in a values tree. */
function findLiteralSecrets(r: CatalogReader, p: YamlPath, values: unknown): void {
    if (Array.isArray(values)) values.forEach((v, i) => findLiteralSecrets(r, [...p, i], v));
    else if (isObj(values)) {
        for (const [k, v] of Object.entries(values)) {
            if (
                typeof v === "string" &&
                v.trim() !== "" &&
                SECRET_KEY.test(k) &&
                !/^existing/i.test(k) &&
                !v.includes("{{")
            ) {
                r.fail(
                    [...p, k],
                    "is a literal credential, which would be pushed to Git in clear in both clusters' HelmReleases",
                    "keep it in a Kubernetes Secret managed outside Git and read it with the HelmRelease's valuesFrom (or point the chart at an existing Secret)",
                );
            } else findLiteralSecrets(r, [...p, k], v);
        }
    }
}

function readValues(r: CatalogReader, p: YamlPath, raw: unknown): Record<string, unknown> {
    if (raw === undefined) return {};
    if (!isObj(raw)) {
        r.fail(p, "must be a mapping", "write Helm values as a YAML mapping");
        return {};
    }
    findLiteralSecrets(r, p, raw);
    return raw;
}

function readRelease(r: CatalogReader, p: YamlPath, raw: unknown): Release | undefined {
    if (!isObj(raw)) {
        r.fail(p, "must be a mapping", "give it name, namespace, chart and clusters");
        return undefined;
    }
    r.known(p, raw, RELEASE_KEYS);
    const name = r.name([...p, "name"], raw.name, 53, "release name (Helm allows 53 characters)");
    const clusters = r.clusters([...p, "clusters"], raw.clusters);
    const clusterValues: Partial<Record<ClusterName, Record<string, unknown>>> = {};
    if (raw.clusterValues !== undefined) {
        if (!isObj(raw.clusterValues))
            r.fail([...p, "clusterValues"], "must be a mapping of cluster: values", `use keys ${CLUSTERS.join(", ")}`);
        else
            for (const [c, v] of Object.entries(raw.clusterValues)) {
                const at = [...p, "clusterValues", c];
                if (!(CLUSTERS as readonly string[]).includes(c))
                    r.fail(at, "is not a cluster", `use ${CLUSTERS.join(" or ")}`);
                else if (!clusters.includes(c as ClusterName))
                    r.fail(
                        at,
                        `has values for ${c}, but the release is not deployed there`,
                        `add ${c} to clusters or remove these values`,
                    );
                else clusterValues[c as ClusterName] = readValues(r, at, v);
            }
    }
    let dependsOn: string[] = [];
    if (raw.dependsOn !== undefined) {
        if (!Array.isArray(raw.dependsOn) || raw.dependsOn.some((d) => typeof d !== "string"))
            r.fail([...p, "dependsOn"], "must be a list of release names", "write dependsOn: [cert-manager]");
        else dependsOn = [...new Set(raw.dependsOn as string[])].sort();
    }
    const chartValues =
        raw.chartValues === undefined
            ? undefined
            : r.insideCatalog([...p, "chartValues"], raw.chartValues, "chart's values.yaml");
    return {
        kind: "release",
        name,
        namespace: r.name([...p, "namespace"], raw.namespace ?? name, 63, "namespace"),
        group: r.group([...p, "group"], raw.group, "apps"),
        chart: readChart(r, [...p, "chart"], raw.chart),
        clusters,
        dependsOn,
        values: readValues(r, [...p, "values"], raw.values),
        clusterValues,
        extraImages: r.images([...p, "extraImages"], raw.extraImages),
        runtimeImages: r.images([...p, "runtimeImages"], raw.runtimeImages),
        chartValues,
        at: r.src.at([...p, "name"]),
        key: pathString(p),
    };
}

function readManifestSet(r: CatalogReader, p: YamlPath, raw: unknown): Manifests | undefined {
    if (!isObj(raw)) {
        r.fail(p, "must be a mapping", "give it name, group, clusters and objects");
        return undefined;
    }
    r.known(p, raw, ["name", "group", "clusters", "objects"]);
    const objects: Record<string, unknown>[] = [];
    if (!Array.isArray(raw.objects) || raw.objects.length === 0)
        r.fail(
            [...p, "objects"],
            "must be a non-empty list of Kubernetes objects",
            "list objects with apiVersion, kind and metadata.name",
        );
    else
        raw.objects.forEach((o: unknown, j: number) => {
            const meta = isObj(o) && isObj(o.metadata) ? o.metadata : undefined;
            if (
                !isObj(o) ||
                typeof o.apiVersion !== "string" ||
                typeof o.kind !== "string" ||
                !meta ||
                typeof meta.name !== "string" ||
                !meta.name
            ) {
                r.fail(
                    [...p, "objects", j],
                    "is not a Kubernetes object",
                    "give it apiVersion, kind and metadata.name",
                );
            } else objects.push(o);
        });
    return {
        kind: "manifests",
        name: r.name([...p, "name"], raw.name, 63, "manifest set name"),
        group: r.group([...p, "group"], raw.group, "configs"),
        clusters: r.clusters([...p, "clusters"], raw.clusters),
        objects,
        at: r.src.at([...p, "name"]),
        key: pathString(p),
    };
}

function readList<T>(
    r: CatalogReader,
    key: "releases" | "manifests",
    raw: unknown,
    read: (p: YamlPath, item: unknown) => T | undefined,
): T[] {
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) {
        r.fail([key], "must be a list", `write ${key}: as a YAML list`);
        return [];
    }
    return raw.flatMap((item, i) => {
        const x = read([key, i], item);
        return x ? [x] : [];
    });
}

/** Names are unique across releases and manifest sets. */
function checkUniqueNames(r: CatalogReader, releases: readonly Release[], manifests: readonly Manifests[]): void {
    const seen = new Map<string, string>();
    for (const item of [...releases, ...manifests]) {
        if (!item.name) continue;
        const first = seen.get(item.name);
        if (first)
            r.problems.push(
                `${item.at}: ${item.key}.name: "${item.name}" is already used at ${first}; give every release and manifest set its own name`,
            );
        else seen.set(item.name, item.at);
    }
}

/** Dependencies: known, on the same clusters, not in a later group, no cycles. */
function checkDependencies(r: CatalogReader, releases: readonly Release[], indexOf: (rel: Release) => number): void {
    const byName = new Map(releases.map((x) => [x.name, x]));
    for (const rel of releases) {
        const p: YamlPath = ["releases", indexOf(rel), "dependsOn"];
        for (const d of rel.dependsOn) {
            const dep = byName.get(d);
            if (!dep)
                r.fail(
                    p,
                    `names the unknown release "${d}"`,
                    `use one of: ${[...byName.keys()].filter((k) => k !== rel.name).join(", ") || "(no other releases)"}`,
                );
            else if (dep === rel) r.fail(p, "names the release itself", "remove it");
            else if (rel.clusters.some((c) => !dep.clusters.includes(c)))
                r.fail(
                    p,
                    `"${d}" is not deployed on every cluster "${rel.name}" is on`,
                    `add ${rel.clusters.filter((c) => !dep.clusters.includes(c)).join(", ")} to ${d}'s clusters`,
                );
            else if (GROUPS.indexOf(dep.group) > GROUPS.indexOf(rel.group))
                r.fail(
                    p,
                    `"${d}" is in ${dep.group}, which Flux applies after ${rel.group}`,
                    `move ${d} to ${rel.group} or an earlier group, or drop the dependency`,
                );
        }
    }
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
    for (const rel of releases) {
        const c = cycle(rel.name, []);
        if (c) {
            r.fail(
                ["releases", indexOf(rel), "dependsOn"],
                `forms a cycle: ${c.join(" -> ")}`,
                "remove one of these dependencies",
            );
            break;
        }
    }
}

interface FluxSettings {
    readonly release: FluxRelease;
    readonly chart: ChartRef;
    readonly images: string[];
}

function readFlux(r: CatalogReader, raw: unknown): FluxSettings {
    const fallback = fluxRelease(DEFAULT_FLUX_VERSION)!;
    const known = FLUX_RELEASES.map((x) => x.version).join(", ");
    const defaults = { release: fallback, chart: fallback.chart!, images: fluxImages(fallback) };
    if (raw === undefined) return defaults;
    if (!isObj(raw)) {
        r.fail(["flux"], "must be a mapping", `write flux: with version: "${DEFAULT_FLUX_VERSION}"`);
        return defaults;
    }
    if (raw.images !== undefined)
        r.fail(
            ["flux", "images"],
            "is no longer a setting: the Flux version decides every controller image",
            `remove it and pin the release instead (flux.version, one of ${known})`,
        );
    r.known(["flux"], raw, ["version", "chart", "registry", "images"]);
    let registry = FLUX_IMAGE_REGISTRY;
    if (raw.registry !== undefined) {
        const probe =
            typeof raw.registry === "string" ? tryParseImage(`${raw.registry}/source-controller:v1`) : undefined;
        if (!probe || !String(raw.registry).includes("."))
            r.fail(
                ["flux", "registry"],
                `${JSON.stringify(raw.registry)} is not a registry host and path`,
                `give where Flux's images are mirrored, e.g. harbor.example.com/fluxcd (default ${FLUX_IMAGE_REGISTRY})`,
            );
        else registry = String(raw.registry);
    }
    let release = fallback;
    if (raw.version !== undefined) {
        const found = typeof raw.version === "string" ? fluxRelease(raw.version) : undefined;
        if (!found)
            r.fail(
                ["flux", "version"],
                `${JSON.stringify(raw.version)} is not a Flux release crossborder knows (it must know which images, CRDs and hook semantics it brings)`,
                `use one of ${known} (quoted), or add the release to core/flux-releases.ts`,
            );
        else release = found;
    }
    let chart: ChartRef | undefined = release.chart;
    if (raw.chart !== undefined) {
        const c = readChart(r, ["flux", "chart"], raw.chart);
        if (isLocalChart(c))
            r.fail(
                ["flux", "chart", "path"],
                "must be a remote chart",
                "give repository, name and version: the Pulumi bootstrap installs it before any Git source exists",
            );
        else chart = c;
    }
    if (!chart) {
        r.fail(
            ["flux", "version"],
            `Flux ${release.version} has no published chart crossborder has tested (the fluxcd-community flux2 chart carries Flux 2.8)`,
            `give flux.chart: a chart whose CRDs are Flux ${release.version}'s (render checks the tree against them), or pin flux.version "${DEFAULT_FLUX_VERSION}"`,
        );
        chart = fallback.chart!;
    }
    return { release, chart, images: fluxImages(release, registry) };
}

function readPlatform(r: CatalogReader, raw: unknown): { ecrRefresherImage: string } {
    if (raw === undefined) return { ecrRefresherImage: DEFAULT_ECR_REFRESHER_IMAGE };
    if (!isObj(raw)) {
        r.fail(["platform"], "must be a mapping", "write platform: with ecrRefresherImage: <image>");
        return { ecrRefresherImage: DEFAULT_ECR_REFRESHER_IMAGE };
    }
    r.known(["platform"], raw, ["ecrRefresherImage"]);
    return {
        ecrRefresherImage:
            raw.ecrRefresherImage === undefined
                ? DEFAULT_ECR_REFRESHER_IMAGE
                : (r.images(["platform", "ecrRefresherImage"], [raw.ecrRefresherImage])[0] ??
                  DEFAULT_ECR_REFRESHER_IMAGE),
    };
}

export function parseCatalog(text: string, file: string): Catalog {
    const src = parseYaml(text, file);
    const data = src.data;
    if (!isObj(data))
        throw new SourceError(`${file}:1: a catalog must be a mapping with version, flux, releases and manifests`);
    const r = new CatalogReader(src);
    r.known([], data, ["version", "flux", "platform", "releases", "manifests"]);
    if (data.version !== 1) r.fail(["version"], `must be 1, got ${JSON.stringify(data.version)}`, "set version: 1");
    const flux = readFlux(r, data.flux);
    const platform = readPlatform(r, data.platform);
    const rawReleases = Array.isArray(data.releases) ? data.releases : [];
    const releases = readList(r, "releases", data.releases, (p, item) => readRelease(r, p, item));
    const manifests = readList(r, "manifests", data.manifests, (p, item) => readManifestSet(r, p, item));
    checkUniqueNames(r, releases, manifests);
    checkDependencies(r, releases, (rel) => rawReleases.findIndex((x: unknown) => isObj(x) && x.name === rel.name));
    r.finish();
    return {
        file,
        flux: flux.release,
        fluxImages: flux.images,
        fluxChart: flux.chart,
        platform,
        releases,
        manifests,
    };
}
