/**
 * Stage 6 of the render pipeline: the Flux tree (path → file text), laid out like
 * fluxcd/flux2-kustomize-helm-example:
 *
 *   clusters/<cluster>/                      infrastructure.yaml, apps.yaml (flux-system itself: the Pulumi bootstrap)
 *   infrastructure/controllers/<cluster>/    one file per controller: Namespace, source, HelmRelease
 *   infrastructure/configs/<cluster>/        configs: releases and plain manifests
 *   apps/base/<app>/                         the cluster-neutral part of each app
 *   apps/<cluster>/                          per-cluster overlay: the app's source and a HelmRelease patch
 *   apps/<cluster>/namespaces.yaml           each namespace of the cluster's apps, once
 *   charts/<chart>/                          local charts, reconciled from the tree's own source
 *   inventory/                               what the global side copies into the ACR EE origin instance
 *
 * On the china cluster every chart source becomes the China registry, every HelmRelease carries the
 * post-renderer the engine planned and proved, Flux's controller images are pinned to the China
 * registry, and every timeout and retry comes from the china slow-link profile.
 */
import * as fs from "fs";
import * as path from "path";
import ignore, { Ignore } from "ignore";
import { parse as parseYaml } from "yaml";
import { SlowLinkProfile } from "../../core/slow-link";
import { Catalog, ClusterName, Group, isLocalChart, LocalChart, Manifests, Release } from "../catalog";
import { GENERATED_HEADER, markdownFile, yamlFile } from "../emit";
import { KustomizeImage, KustomizePostRenderer } from "../engine/kustomize";
import {
    chartKey,
    ChinaChartSource,
    Mirrors,
    MirrorVars,
    REGISTRY_PULL_SECRET,
    rewriteChartSource,
} from "../../core/mirrors";
import { Reference } from "../../core/reference";
import { SourceError } from "../../core/yaml-source";
import { Inventory, renderInventoryFiles, UPSTREAM_CHART_ANNOTATION } from "./inventory";
import { mergeValues } from "../values/scan";
import { Artifact, buildChartArtifact, HELM_CONTENT_MEDIA_TYPE as HELM_CHART_LAYER } from "../publish/artifact";

export interface ClusterSettings {
    readonly name: ClusterName;
    /** Inside mainland China: sources and images are rewritten. */
    readonly china: boolean;
    readonly profile: SlowLinkProfile;
    readonly git: { readonly url: string; readonly branch: string; readonly path: string };
    /** How Flux receives the tree: a GitRepository, or an OCIRepository (crossborder publish). @default "git" */
    readonly delivery?: "git" | "oci";
    /** The cluster's Kubernetes version (helm template --kube-version). */
    readonly kubernetesVersion?: string;
}

/** Whether a chart source URL is served by a registry target of the mirrors (ACR EE: private). */
export function fromPrivateRegistry(mirrors: Mirrors, url: string): boolean {
    const host = url
        .replace(/^oci:\/\//, "")
        .split("/")[0]
        .toLowerCase();
    return [...mirrors.targets.values()].some((t) => t.kind === "registry" && t.host.toLowerCase() === host);
}

/** How one release is deployed on one cluster. */
export interface ReleaseOutcome {
    readonly release: Release;
    readonly cluster: ClusterName;
    /** The values the HelmRelease installs with (catalog values, then clusterValues). */
    readonly values: Record<string, unknown>;
    /** Rendered on the engine (true), or its chart archive was not at hand (false). */
    readonly rendered: boolean;
    /** china: the post-renderer the engine planned and proved. */
    readonly postRenderer?: KustomizePostRenderer;
    /** china, not rendered: the values-level first guess (override values and images entries). */
    readonly guess?: { readonly overrides: Record<string, unknown>; readonly images: readonly KustomizeImage[] };
}

export interface EmitInput {
    readonly catalog: Catalog;
    readonly mirrors: Mirrors;
    readonly vars: MirrorVars;
    readonly originRegistry: string;
    readonly clusters: readonly ClusterSettings[];
    readonly rewrite: boolean;
    readonly outcomes: ReadonlyMap<string, ReleaseOutcome>;
    readonly inventory?: Inventory;
}

export function outcomeKey(release: string, cluster: ClusterName): string {
    return `${release}|${cluster}`;
}

export { HELM_CHART_LAYER };
/** Namespaces that exist on every cluster and are never created by the tree. */
const SYSTEM_NAMESPACES = new Set(["default", "kube-system", "kube-public", "kube-node-lease", "flux-system"]);
const GROUP_DIRS: Record<Group, string> = {
    controllers: "infrastructure/controllers",
    configs: "infrastructure/configs",
    apps: "apps",
};

type Obj = Record<string, unknown>;

/** The tree being built: every file knows which catalog entry produced it. */
class TreeFiles {
    readonly files = new Map<string, string | Buffer>();
    /** The objects behind each YAML file, for the audit of what was just emitted. */
    readonly objects = new Map<string, readonly unknown[]>();
    private readonly owners = new Map<string, string>();

    put(p: string, text: string | Buffer, owner: string, docs?: readonly unknown[]): void {
        const first = this.owners.get(p);
        if (first !== undefined) {
            throw new SourceError(`${owner} and ${first} would both generate ${p}; rename one of them`);
        }
        this.owners.set(p, owner);
        this.files.set(p, text);
        if (docs) this.objects.set(p, docs);
    }

    yaml(p: string, docs: readonly unknown[], owner: string, comment?: string): void {
        this.put(p, yamlFile(docs, comment), owner, docs);
    }

    has(p: string): boolean {
        return this.files.has(p);
    }
}

function kustomization(resources: string[], extra: Obj = {}): Obj {
    return {
        apiVersion: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources: [...resources].sort(),
        ...extra,
    };
}

function byName<T extends { name: string }>(items: readonly T[]): T[] {
    return [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const ownerOf = (x: Release | Manifests) => `${x.key} "${x.name}" (${x.at})`;

/** How the inventory names an upstream chart: its oci:// reference, or "<https repository> <chart>". */
export function upstreamChartLabel(chart: { repository: string; name: string }): string {
    return chart.repository.startsWith("oci://")
        ? chartKey({ url: chart.repository, chart: chart.name })
        : `${chart.repository} ${chart.name}`;
}

/** newTag/digest entries that pin a kustomize `images` rewrite to the reference's own tag and digest. */
export function tagFields(ref: Reference): Obj {
    return {
        ...(ref.tag !== undefined ? { newTag: ref.tag } : {}),
        ...(ref.digest !== undefined ? { digest: ref.digest } : {}),
    };
}

/** The tree path of a local chart. */
export function localChartPath(chart: LocalChart): string {
    return `charts/${chart.name}`;
}

/** One cluster's part of the tree. */
class ClusterEmitter {
    private readonly c: ClusterName;
    private readonly p: SlowLinkProfile;
    private readonly moveToChina: boolean;
    private readonly namespaceOwner = new Map<string, string>();

    constructor(
        private readonly input: EmitInput,
        private readonly cluster: ClusterSettings,
        private readonly tree: TreeFiles,
    ) {
        this.c = cluster.name;
        this.p = cluster.profile;
        this.moveToChina = cluster.china && input.rewrite;
        for (const group of ["controllers", "configs", "apps"] as Group[]) {
            for (const r of this.releases(group))
                if (!SYSTEM_NAMESPACES.has(r.namespace) && !this.namespaceOwner.has(r.namespace))
                    this.namespaceOwner.set(r.namespace, r.name);
        }
    }

    private releases(group: Group): Release[] {
        return byName(this.input.catalog.releases).filter((x) => x.group === group && x.clusters.includes(this.c));
    }

    private manifests(group: Group): Manifests[] {
        return byName(this.input.catalog.manifests).filter((x) => x.group === group && x.clusters.includes(this.c));
    }

    private namespaceObject(r: Release): Obj[] {
        return this.namespaceOwner.get(r.namespace) === r.name
            ? [{ apiVersion: "v1", kind: "Namespace", metadata: { name: r.namespace } }]
            : [];
    }

    /**
     * A local chart on a cluster that receives its tree as an OCI artifact: no GitRepository exists there, so
     * the chart travels as a Helm OCI chart of its own (crossborder publish pushes it beside the tree), pinned
     * by the digest of exactly the files the tree carries.
     */
    private localChartSource(r: Release, chart: LocalChart): { source: Obj; ref: Obj } {
        const artifact = localChartArtifact(this.input.catalog.file, chart);
        const url = localChartUrl(this.input.vars, chart);
        return {
            source: {
                apiVersion: "source.toolkit.fluxcd.io/v1",
                kind: "OCIRepository",
                metadata: { name: r.name, namespace: r.namespace },
                spec: {
                    interval: this.p.sourceInterval,
                    timeout: this.p.sourceTimeout,
                    url,
                    ref: { tag: chart.version, digest: artifact.manifest.digest },
                    layerSelector: { mediaType: HELM_CHART_LAYER, operation: "copy" },
                    ...(fromPrivateRegistry(this.input.mirrors, url)
                        ? { secretRef: { name: REGISTRY_PULL_SECRET } }
                        : {}),
                },
            },
            ref: { chartRef: { kind: "OCIRepository", name: r.name } },
        };
    }

    /** The release's source object (none for local charts delivered with a Git tree) and how its HelmRelease refers to it. */
    private sourceOf(r: Release): { source?: Obj; ref: Obj } {
        const p = this.p;
        if (isLocalChart(r.chart) && this.moveToChina && this.cluster.delivery === "oci")
            return this.localChartSource(r, r.chart);
        if (isLocalChart(r.chart)) {
            return {
                ref: {
                    chart: {
                        spec: {
                            chart: `./${localChartPath(r.chart)}`,
                            sourceRef: { kind: "GitRepository", name: "flux-system", namespace: "flux-system" },
                            reconcileStrategy: "Revision",
                            interval: p.sourceInterval,
                        },
                    },
                },
            };
        }
        const chart = r.chart;
        const meta = { name: r.name, namespace: r.namespace };
        let target: ChinaChartSource = chart.repository.startsWith("oci://")
            ? {
                  type: "oci",
                  url: chartKey({ url: chart.repository, chart: chart.name }),
                  chart: chart.name,
                  version: chart.version,
              }
            : { type: "https", url: chart.repository, chart: chart.name, version: chart.version };
        let annotated: Obj = meta;
        if (this.moveToChina) {
            target = rewriteChartSource(this.input.mirrors, {
                url: chart.repository,
                chart: chart.name,
                version: chart.version,
            });
            // The China source names its upstream, so the audit can find the chart's archive.
            annotated = {
                ...meta,
                annotations: { [UPSTREAM_CHART_ANNOTATION]: `${upstreamChartLabel(chart)}@${chart.version}` },
            };
        }
        if (target.type === "oci") {
            return {
                source: {
                    apiVersion: "source.toolkit.fluxcd.io/v1",
                    kind: "OCIRepository",
                    metadata: annotated,
                    spec: {
                        interval: p.sourceInterval,
                        timeout: p.sourceTimeout,
                        url: target.url,
                        ref: { tag: target.version },
                        layerSelector: { mediaType: HELM_CHART_LAYER, operation: "copy" },
                        ...(this.moveToChina && fromPrivateRegistry(this.input.mirrors, target.url)
                            ? { secretRef: { name: REGISTRY_PULL_SECRET } }
                            : {}),
                    },
                },
                ref: { chartRef: { kind: "OCIRepository", name: r.name } },
            };
        }
        return {
            source: {
                apiVersion: "source.toolkit.fluxcd.io/v1",
                kind: "HelmRepository",
                metadata: annotated,
                spec: { interval: p.sourceInterval, timeout: p.sourceTimeout, url: target.url },
            },
            ref: {
                chart: {
                    spec: {
                        chart: target.chart,
                        version: chart.version,
                        sourceRef: { kind: "HelmRepository", name: r.name },
                        interval: p.sourceInterval,
                    },
                },
            },
        };
    }

    /** The HelmRelease spec for this cluster, without releaseName (the base holds it for apps). */
    private releaseSpec(r: Release, ref: Obj): Obj {
        const outcome = this.input.outcomes.get(outcomeKey(r.name, this.c));
        if (!outcome) throw new Error(`render: no outcome for release ${r.name} on ${this.c}`);
        let values: Obj = outcome.values;
        let postRenderers: Obj[] | undefined;
        let strategy: Obj = {};
        if (
            this.moveToChina &&
            outcome.postRenderer &&
            (outcome.postRenderer.images?.length || outcome.postRenderer.patches?.length)
        ) {
            postRenderers = [{ kustomize: outcome.postRenderer }];
            // Where the installed Flux has the field, hooks and tests go through the post-renderer too: say
            // so, so that a controller started with Helm 3 defaults (UseHelm3Defaults) cannot leave their images
            // upstream. Where it has not (Flux 2.8), the field would be pruned, and hooks were rewritten
            // through values instead (render/hooks.ts).
            if (this.input.catalog.flux.postRenderStrategyField) strategy = { postRenderStrategy: "combined" };
        } else if (this.moveToChina && outcome.guess) {
            values = mergeValues(values, outcome.guess.overrides) as Obj;
            if (outcome.guess.images.length) postRenderers = [{ kustomize: { images: outcome.guess.images } }];
        }
        const dependsOn = r.dependsOn.map((d) => ({
            name: d,
            namespace: this.input.catalog.releases.find((x) => x.name === d)!.namespace,
        }));
        const p = this.p;
        return {
            interval: p.helmInterval,
            timeout: p.helmTimeout,
            install: {
                crds: "CreateReplace",
                strategy: { name: "RetryOnFailure", retryInterval: p.helmRetryInterval },
            },
            upgrade: {
                crds: "CreateReplace",
                strategy: { name: "RetryOnFailure", retryInterval: p.helmRetryInterval },
            },
            ...ref,
            ...(dependsOn.length ? { dependsOn } : {}),
            ...(Object.keys(values).length ? { values } : {}),
            ...(postRenderers ? { postRenderers, ...strategy } : {}),
        };
    }

    private helmRelease(r: Release, spec: Obj): Obj {
        return {
            apiVersion: "helm.toolkit.fluxcd.io/v2",
            kind: "HelmRelease",
            metadata: { name: r.name, namespace: r.namespace },
            spec,
        };
    }

    /** infrastructure/controllers/<c> and infrastructure/configs/<c>: one complete file per item. */
    emitInfrastructure(): void {
        for (const group of ["controllers", "configs"] as Group[]) {
            const dir = `${GROUP_DIRS[group]}/${this.c}`;
            const resources: string[] = [];
            for (const r of this.releases(group)) {
                const { source, ref } = this.sourceOf(r);
                this.tree.yaml(
                    `${dir}/${r.name}.yaml`,
                    [
                        ...this.namespaceObject(r),
                        ...(source ? [source] : []),
                        this.helmRelease(r, { releaseName: r.name, ...this.releaseSpec(r, ref) }),
                    ],
                    ownerOf(r),
                    `${r.name} for the ${this.c} cluster`,
                );
                resources.push(`${r.name}.yaml`);
            }
            for (const m of this.manifests(group)) {
                this.tree.yaml(
                    `${dir}/${m.name}.yaml`,
                    m.objects,
                    ownerOf(m),
                    `manifests "${m.name}" for the ${this.c} cluster`,
                );
                resources.push(`${m.name}.yaml`);
            }
            this.tree.yaml(
                `${dir}/kustomization.yaml`,
                [kustomization(resources)],
                `the ${group} of the ${this.c} cluster`,
            );
        }
    }

    /** apps: the cluster-neutral base once, then this cluster's overlay. */
    emitApps(): void {
        const resources: string[] = [];
        const patches: Obj[] = [];
        // Each namespace once per cluster: kustomize refuses two objects of one id in a build ("may not add
        // resource with an already registered id"), so two apps of one namespace cannot each bring it, and the
        // shared base cannot hold it (which of its releases a cluster runs differs). One a controller or a
        // config of this cluster creates is left to it: it is applied before the apps.
        const apps = this.releases("apps");
        const namespaces = apps.flatMap((r) => this.namespaceObject(r));
        if (namespaces.length) {
            this.tree.yaml(
                `apps/${this.c}/namespaces.yaml`,
                namespaces,
                `the namespaces of the ${this.c} cluster's apps`,
            );
            resources.push("namespaces.yaml");
        }
        for (const r of apps) {
            const base = `apps/base/${r.name}`;
            if (!this.tree.has(`${base}/kustomization.yaml`)) {
                // interval is required by the schema; each overlay sets its own cluster's interval anyway.
                this.tree.yaml(
                    `${base}/release.yaml`,
                    [this.helmRelease(r, { releaseName: r.name, interval: this.p.helmInterval })],
                    ownerOf(r),
                    `${r.name}: the part shared by every cluster; apps/<cluster>/ adds its source, values and timeouts`,
                );
                this.tree.yaml(`${base}/kustomization.yaml`, [kustomization(["release.yaml"])], ownerOf(r));
            }
            const { source, ref } = this.sourceOf(r);
            if (source) {
                this.tree.yaml(`apps/${this.c}/${r.name}-source.yaml`, [source], ownerOf(r));
                resources.push(`${r.name}-source.yaml`);
            }
            this.tree.yaml(
                `apps/${this.c}/${r.name}-release.yaml`,
                [this.helmRelease(r, this.releaseSpec(r, ref))],
                ownerOf(r),
                `patch: ${r.name} on the ${this.c} cluster`,
            );
            resources.push(`../base/${r.name}`);
            // No target: the patch names its HelmRelease itself (kind, name, namespace), so kustomize matches it
            // by id. A `target` selector is matched against every resource of the build for every patch, which
            // made a build of 400 apps take 40 s (200: 5.4 s; without targets 0.7 s, the same output), and
            // kustomize-controller builds it on every reconciliation.
            patches.push({ path: `${r.name}-release.yaml` });
        }
        for (const m of this.manifests("apps")) {
            this.tree.yaml(
                `apps/${this.c}/${m.name}.yaml`,
                m.objects,
                ownerOf(m),
                `manifests "${m.name}" for the ${this.c} cluster`,
            );
            resources.push(`${m.name}.yaml`);
        }
        this.tree.yaml(
            `apps/${this.c}/kustomization.yaml`,
            [
                kustomization(
                    resources,
                    patches.length
                        ? { patches: patches.sort((a, b) => String(a.path).localeCompare(String(b.path))) }
                        : {},
                ),
            ],
            `the apps of the ${this.c} cluster`,
        );
    }

    /**
     * clusters/<c>: the three Kustomizations, controllers → configs → apps. Flux's own GitRepository and root
     * Kustomization (flux-system) are not in the tree: the Pulumi bootstrap owns them (it holds the Git
     * credentials), and two owners of one object conflict on every server-side apply.
     */
    emitSync(): void {
        const p = this.p;
        const owner = `the ${this.c} cluster`;
        const fluxMeta = (name: string) => ({ name, namespace: "flux-system" });
        const fluxKustomization = (name: string, kpath: string, dependsOn?: string): Obj => ({
            apiVersion: "kustomize.toolkit.fluxcd.io/v1",
            kind: "Kustomization",
            metadata: fluxMeta(name),
            spec: {
                ...(dependsOn ? { dependsOn: [{ name: dependsOn }] } : {}),
                interval: p.kustomizationInterval,
                retryInterval: p.kustomizationRetryInterval,
                timeout: p.kustomizationTimeout,
                // The source the Pulumi bootstrap creates: the tree's Git repository, or its OCI artifact.
                sourceRef: {
                    kind: this.cluster.delivery === "oci" ? "OCIRepository" : "GitRepository",
                    name: "flux-system",
                },
                path: kpath,
                prune: true,
                wait: true,
            },
        });
        this.tree.yaml(
            `clusters/${this.c}/infrastructure.yaml`,
            [
                fluxKustomization("infra-controllers", `./infrastructure/controllers/${this.c}`),
                fluxKustomization("infra-configs", `./infrastructure/configs/${this.c}`, "infra-controllers"),
            ],
            owner,
        );
        this.tree.yaml(
            `clusters/${this.c}/apps.yaml`,
            [fluxKustomization("apps", `./apps/${this.c}`, "infra-configs")],
            owner,
        );
        this.tree.yaml(
            `clusters/${this.c}/kustomization.yaml`,
            [kustomization(["infrastructure.yaml", "apps.yaml"])],
            owner,
        );
    }
}

/**
 * Every file of a local chart directory that Helm loads from it, as the tree carries it: what the chart's
 * .helmignore excludes is left out, as `helm package` and source-controller leave it out (templates/tests
 * of helm-unittest, editor files), and so are hidden files (the tree has none). Helm reads only the top
 * .helmignore, for bundled subcharts too (a subchart's own is not applied when loading the parent's
 * directory). The render stages these very files and renders them (scan.ts resolveCharts), so what Helm
 * loads from the tree is what was judged. test/gitops/engine.test.ts compares the list with `helm package`.
 */
export function localChartFiles(chart: LocalChart): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    const rules = helmIgnore(chart.dir);
    const walk = (rel: string) => {
        for (const e of fs
            .readdirSync(path.join(chart.dir, rel), { withFileTypes: true })
            .sort((a, b) => (a.name < b.name ? -1 : 1))) {
            if (e.name.startsWith(".")) continue;
            const p = rel ? `${rel}/${e.name}` : e.name;
            if (rules.ignores(e.isDirectory() ? `${p}/` : p)) continue;
            if (e.isDirectory()) walk(p);
            else if (e.isFile()) out.set(p, fs.readFileSync(path.join(chart.dir, p)));
        }
    };
    walk("");
    return out;
}

/** A chart directory's .helmignore rules (gitignore syntax, which Helm's is a subset of). */
function helmIgnore(dir: string): Ignore {
    const file = path.join(dir, ".helmignore");
    return ignore().add(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "");
}

/**
 * A generated-file note where it changes nothing Helm renders, at the end of the file so that every line
 * and column Helm names in an error is the one in the catalog's chart: a template comment after the last
 * character of every template (it renders to nothing, so a template that renders empty stays empty), a
 * YAML comment line after Chart.yaml, values.yaml and crds/ files (parsed as YAML). Any other file a
 * template may read with .Files.Get (files/*.yaml embedded in a ConfigMap) is copied byte for byte: a
 * note there would change the rendered objects, and the tree's chart must render exactly what was judged.
 */
function withGeneratedNote(file: string, content: Buffer, from: string): string | Buffer {
    const note = `Generated by crossborder render: a copy of ${from}. Do not edit here: change it there and render again.`;
    const text = content.toString("utf8");
    const at = file.replace(/^(charts\/[^/]+\/)+/, ""); // the same places in bundled subcharts
    if (/^templates\//.test(at) && /\.(ya?ml|tpl|txt|json)$/.test(at)) return `${text}{{/* ${note} */}}`;
    if (/^(Chart|values)\.ya?ml$/.test(at) || /^crds\/.*\.ya?ml$/.test(at))
        return `${text}${text === "" || text.endsWith("\n") ? "" : "\n"}# ${note}\n`;
    return content;
}

/** A local chart's files as the tree carries them (each with a generated header where the format allows). */
export function treeChartFiles(catalogFile: string, chart: LocalChart): Map<string, string | Buffer> {
    const from = path.posix.join(path.basename(path.dirname(catalogFile)), chart.path);
    const out = new Map<string, string | Buffer>();
    for (const [file, content] of localChartFiles(chart))
        out.set(file, withGeneratedNote(file, content, `${from}/${file}`));
    return out;
}

/** The Helm OCI chart of a local chart, exactly as the tree carries it (crossborder publish pushes this). */
export function localChartArtifact(catalogFile: string, chart: LocalChart): Artifact {
    return chartArtifactOf(chart.name, treeChartFiles(catalogFile, chart));
}

/** The Helm OCI chart of a chart directory's files (tree path inside the chart → bytes). */
export function chartArtifactOf(name: string, files: ReadonlyMap<string, string | Buffer>): Artifact {
    const bytes = new Map([...files].map(([p, b]) => [p, Buffer.isBuffer(b) ? b : Buffer.from(b)]));
    const meta = parseYaml(bytes.get("Chart.yaml")?.toString("utf8") ?? "{}", { maxAliasCount: 100 }) ?? {};
    return buildChartArtifact(name, bytes, meta);
}

/** Where a local chart lives in the China registry: beside the tree's artifact, under the registry namespace. */
export function localChartUrl(vars: MirrorVars, chart: { readonly name: string }): string {
    return `oci://${vars.chinaRegistry}/${vars.registryNamespace}/${chart.name}`;
}

function emitLocalCharts(input: EmitInput, tree: TreeFiles): void {
    const done = new Map<string, LocalChart>();
    for (const r of byName(input.catalog.releases)) {
        if (!isLocalChart(r.chart)) continue;
        const seen = done.get(r.chart.name);
        if (seen && seen.dir !== r.chart.dir)
            throw new SourceError(
                `${r.at}: chart ${r.chart.path} is named "${r.chart.name}" like ${seen.path}; local charts need distinct names (they share charts/<name> in the tree)`,
            );
        if (seen) continue;
        done.set(r.chart.name, r.chart);
        const base = localChartPath(r.chart);
        for (const [file, content] of treeChartFiles(input.catalog.file, r.chart))
            tree.put(`${base}/${file}`, content, ownerOf(r));
    }
}

export interface EmitOutput {
    readonly files: Map<string, string | Buffer>;
    readonly objects: ReadonlyMap<string, readonly unknown[]>;
}

/** The cluster part of the tree (everything but the inventory and README, which need the verdicts). */
export function emitClusters(input: EmitInput): EmitOutput {
    const tree = new TreeFiles();
    for (const cluster of input.clusters) {
        const e = new ClusterEmitter(input, cluster, tree);
        e.emitInfrastructure();
        e.emitApps();
        e.emitSync();
    }
    emitLocalCharts(input, tree);
    return { files: tree.files, objects: tree.objects };
}

/** The inventory files and the tree's README, added to an emitted tree. */
export function emitInventoryAndReadme(
    input: EmitInput,
    out: EmitOutput,
    inventory: Inventory | undefined,
    unrendered: readonly string[],
): void {
    const china = input.clusters.find((c) => c.china);
    if (china && inventory)
        for (const [p, text] of renderInventoryFiles(inventory, input.originRegistry, china.profile))
            out.files.set(p, text);
    out.files.set("README.md", treeReadme(input, unrendered));
}

function treeReadme(input: EmitInput, unrendered: readonly string[]): string {
    const rows = (c: ClusterName) =>
        input.catalog.releases
            .filter((r) => r.clusters.includes(c))
            .map((r) => r.name)
            .sort()
            .join(", ") || "(none)";
    const clusters = input.clusters
        .map((c) =>
            c.delivery === "oci"
                ? `- **${c.name}**: ${rows(c.name)}. Delivered as an OCI artifact (\`crossborder publish\`), path \`${c.git.path}\`.`
                : `- **${c.name}**: ${rows(c.name)}. Git: \`${c.git.url}\` (${c.git.branch}), path \`${c.git.path}\`.`,
        )
        .join("\n");
    const verdict = !input.rewrite
        ? "**This tree was rendered without rewriting: the china cluster pulls from upstream.**"
        : unrendered.length
          ? `On the china cluster every chart source comes from the China registry, and every image of the releases rendered on the Helm engine does too. **Not rendered (chart archive not at hand, values-level rewrite only): ${unrendered.join(", ")}.** Run \`crossborder charts pull\` and render again.`
          : "On the china cluster every chart source and every image comes from the China registry: each release was rendered on the Helm engine with its post-renderer and checked.";
    return markdownFile(`# Flux tree (generated by crossborder)

This tree is rendered from \`gitops/catalog.yaml\` and \`gitops/mirrors.yaml\` by \`crossborder render\`.
Do not edit it by hand: change the catalog and render again. The layout follows
fluxcd/flux2-kustomize-helm-example: \`clusters/<cluster>\` holds Flux's own sync and the Kustomizations, and
those apply \`infrastructure/controllers\`, then \`infrastructure/configs\`, then \`apps\`.

${clusters}

${verdict}
\`crossborder audit --charts <cache>\` proves it, and \`inventory/\` lists what the global side copies into the
origin registry.

\`\`\`mermaid
flowchart LR
    subgraph outside["outside China"]
        UP["upstream registries and chart repositories"]
        OR["ACR EE origin<br/>${input.originRegistry}"]
        GC["global cluster"]
    end
    subgraph inside["inside mainland China"]
        CR["ACR EE China<br/>${input.vars.chinaRegistry}"]
        CC["china cluster"]
    end
    UP -->|"inventory/copy.sh"| OR
    OR -->|"ACR EE replication<br/>namespace ${input.vars.registryNamespace}"| CR
    CR -->|"every image and chart"| CC
    UP --> GC
\`\`\`
`);
}

export { GENERATED_HEADER };
