/**
 * What `crossborder adopt` writes into the fleet, beside its own files (none of which it changes):
 *
 *   clusters/<cluster>/kustomization.yaml   the china cluster's root: the adopted cluster's Kustomizations
 *   clusters/<cluster>/<file>.yaml           each as the fleet has it, built from its china overlay instead
 *   <cluster>/<kustomization>/fleet/         what Flux builds for that Kustomization on the adopted cluster:
 *                                            its folder, with its own targetNamespace, patches, images and
 *                                            components (so nothing of the fleet changes order or meaning)
 *   <cluster>/<kustomization>/               the china layer on top: chart sources moved to the China
 *                                            registry at the exact version copied there, HelmRepositories
 *                                            no release needs any more removed, every HelmRelease with the
 *                                            post-renderer the engine proved, plain objects' images moved,
 *                                            nested Kustomizations pointed at their own overlays, and the
 *                                            china slow-link timeouts
 *   inventory/                               what the global side copies (as render writes it), and
 *                                            charts.lock: the sha256 the audit identifies each chart by
 */
import * as path from "path";
import { stringify } from "yaml";
import { Mirrors, MirrorVars, REGISTRY_PULL_SECRET, rewriteChartSource } from "../../core/mirrors";
import { FluxRelease } from "../../core/flux-releases";
import { ADOPTED_HEADER, yamlFile } from "../emit";
import { chartLabel, lockText } from "../engine/charts";
import { KustomizePostRenderer } from "../engine/kustomize";
import type { Doc } from "../objects/manifests";
import { describeId } from "../objects/manifests";
import { isEmptyPostRenderer } from "../render/plan";
import type { Proven } from "../render/index";
import { Inventory, renderInventoryFiles } from "../render/inventory";
import { ClusterSettings, fromPrivateRegistry, HELM_CHART_LAYER } from "../render/emit";
import type { KustomizationBuild } from "../audit/cluster";
import { generatedKustomization, kustomizationFile, type BuiltObject } from "../audit/flux";
import type { FleetChart } from "./charts";

/** What applies a release or object on the adopted cluster: a Flux Kustomization's name, or the cluster's root. */
export const ROOT = "(the cluster's root)";

/** Flux's image automation (image-reflector and image-automation controllers): it runs where the fleet's commits are made. */
export const isImageAutomation = (o: BuiltObject) => o.id.apiVersion.startsWith("image.toolkit.fluxcd.io/");

/**
 * What the china cluster's Pulumi bootstrap owns instead of the tree: the adopted cluster's flux-system/
 * folder (Flux's components and sync) and the flux-system source and Kustomization.
 */
export function bootstrapOwned(o: BuiltObject, from: string): boolean {
    return (
        o.file.startsWith(`${from.replace(/\/+$/, "")}/flux-system/`) ||
        (/\.toolkit\.fluxcd\.io\//.test(o.id.apiVersion) &&
            o.id.name === "flux-system" &&
            o.id.namespace === "flux-system")
    );
}

export interface AdoptedRelease {
    readonly hr: BuiltObject;
    /** The Kustomization that applies it (its name), or ROOT. */
    readonly owner: string;
    readonly chart: FleetChart;
    /** The values it installs with on the china cluster (hook images moved through values where needed). */
    readonly values: Record<string, unknown>;
    /** The values the fleet installs it with (valuesFrom, then values). */
    readonly installed: Record<string, unknown>;
    readonly proof?: Proven;
}

export interface AdoptedKustomization {
    readonly build: KustomizationBuild;
    /** The kustomize images entries and patches that move its plain objects' images. */
    readonly plain?: KustomizePostRenderer;
}

export interface EmitAdoptedInput {
    readonly from: string;
    readonly cluster: ClusterSettings;
    readonly mirrors: Mirrors;
    readonly vars: MirrorVars;
    readonly flux: FluxRelease;
    readonly originRegistry: string;
    /** The fleet (a copy of it), to read which folders have a kustomization file. */
    readonly tree: string;
    readonly objects: readonly BuiltObject[];
    readonly kustomizations: readonly AdoptedKustomization[];
    readonly releases: readonly AdoptedRelease[];
    /** The kustomize images and patches that move the root's plain objects' images. */
    readonly rootPlain?: KustomizePostRenderer;
    readonly inventory: Inventory;
}

/** The china layer of one folder: files to add as resources, patches, and the plain objects' images. */
interface Layer {
    readonly resources: string[];
    readonly patches: unknown[];
    readonly images: unknown[];
}

type Obj = Record<string, unknown>;
const KUSTOMIZE = { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization" };
/** Fields of a Flux Kustomization that shape the build: the fleet layer of the overlay carries them. */
const BUILD_FIELDS = ["targetNamespace", "patches", "patchesStrategicMerge", "patchesJson6902", "images", "components"];

const file = (docs: readonly unknown[], comment?: string) => yamlFile(docs, comment, ADOPTED_HEADER);
const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9.-]+/g, "-");

class Overlays {
    private readonly dirs = new Map<string, string>();

    constructor(
        private readonly input: EmitAdoptedInput,
        private readonly files: Map<string, string>,
    ) {
        const names = input.kustomizations.map((k) => k.build.object.id.name);
        for (const k of input.kustomizations) {
            const id = k.build.object.id;
            const unique = names.filter((n) => n === id.name).length === 1;
            this.dirs.set(
                k.build.name,
                `${input.cluster.name}/${slug(unique ? id.name : `${id.namespace}-${id.name}`)}`,
            );
        }
    }

    dirOf(name: string): string {
        return this.dirs.get(name)!;
    }

    private sourceRef(): Obj {
        return {
            kind: this.input.cluster.delivery === "oci" ? "OCIRepository" : "GitRepository",
            name: "flux-system",
            namespace: "flux-system",
        };
    }

    /** A Flux Kustomization of the fleet as the china cluster reconciles it: built from its overlay. */
    fluxKustomization(spec: Doc, name: string): Obj {
        const p = this.input.cluster.profile;
        const out: Obj = { ...spec };
        for (const f of BUILD_FIELDS) delete out[f];
        return {
            ...out,
            sourceRef: this.sourceRef(),
            path: `./${this.dirOf(name)}`,
            timeout: p.kustomizationTimeout,
            retryInterval: p.kustomizationRetryInterval,
        };
    }

    /** The fleet layer: the Kustomization's folder with its own build fields, as Flux builds it. */
    private fleetLayer(k: AdoptedKustomization): void {
        const dir = `${this.dirOf(k.build.name)}/fleet`;
        const spec: Doc = k.build.object.object.spec ?? {};
        const treePath = k.build.treePath!;
        const rel = (p: string) => path.posix.relative(dir, p) || ".";
        const abs = path.join(this.input.tree, treePath);
        const resources = kustomizationFile(abs)
            ? [rel(treePath || ".")]
            : (generatedKustomization(abs).resources as string[]).map((r) => rel(path.posix.join(treePath, r)));
        const patches = [
            ...(Array.isArray(spec.patches) ? spec.patches : []),
            ...(Array.isArray(spec.patchesStrategicMerge) ? spec.patchesStrategicMerge : []).map((p: unknown) => ({
                patch: typeof p === "string" ? p : stringify(p),
            })),
            ...(Array.isArray(spec.patchesJson6902) ? spec.patchesJson6902 : []).map((p: Doc) => ({
                target: p.target,
                patch: typeof p.patch === "string" ? p.patch : JSON.stringify(p.patch),
            })),
        ];
        const components = (Array.isArray(spec.components) ? spec.components : []).map((c: string) =>
            rel(path.posix.join(treePath, c)),
        );
        this.files.set(
            `${dir}/kustomization.yaml`,
            file(
                [
                    {
                        ...KUSTOMIZE,
                        resources,
                        ...(components.length ? { components } : {}),
                        ...(spec.targetNamespace ? { namespace: spec.targetNamespace } : {}),
                        ...(patches.length ? { patches } : {}),
                        ...(Array.isArray(spec.images) && spec.images.length ? { images: spec.images } : {}),
                    },
                ],
                `${k.build.name} as Flux builds it on ${this.input.from}: ./${treePath}${BUILD_FIELDS.some((f) => spec[f] !== undefined) ? " with its own build fields" : ""}`,
            ),
        );
    }

    /** The china layer of one Kustomization, over its fleet layer. */
    emit(k: AdoptedKustomization): void {
        this.fleetLayer(k);
        const dir = this.dirOf(k.build.name);
        const layer = this.chinaLayer(dir, k.build.name, k.plain);
        this.files.set(
            `${dir}/kustomization.yaml`,
            file(
                [kustomizationOf(["fleet", ...layer.resources], layer)],
                `${k.build.name} on the ${this.input.cluster.name} cluster: the fleet's folder, moved to the China registry`,
            ),
        );
    }

    /**
     * What moves one owner's objects to China, written into `dir`: chart sources, release patches, deletions
     * of HelmRepositories no release needs and of ArtifactGenerators, nested Kustomizations pointed at their
     * overlays, and the plain objects' images.
     */
    chinaLayer(dir: string, owner: string, plain: KustomizePostRenderer | undefined): Layer {
        const layer: Layer = { resources: [], patches: [], images: [] };
        const put = (name: string, doc: Obj, comment: string, target?: Obj) => {
            // One source serves several releases: its patch once.
            if (this.files.has(`${dir}/${name}`)) return;
            this.files.set(`${dir}/${name}`, file([doc], comment));
            layer.patches.push({ path: name, ...(target ? { target } : {}) });
        };
        for (const r of this.input.releases.filter((x) => x.owner === owner)) {
            if (r.chart.via === "chart.spec") {
                const name = `${slug(`${r.hr.id.namespace}-${r.hr.id.name}`)}-chart.yaml`;
                this.files.set(
                    `${dir}/${name}`,
                    file([newChartSource(r, this.input)], `the China source of ${describeId(r.hr.id)}'s chart`),
                );
                layer.resources.push(name);
            }
            put(
                `${slug(`${r.hr.id.namespace}-${r.hr.id.name}`)}-release.yaml`,
                releasePatch(r, this.input),
                `patch: ${describeId(r.hr.id)} (${r.hr.file}) on the ${this.input.cluster.name} cluster`,
                target(r.hr),
            );
        }
        const mine = this.input.objects.filter((o) => (o.appliedBy ?? ROOT) === owner);
        for (const o of mine) {
            // A release's OCIRepository is patched where it is applied, which may be another Kustomization.
            const served = this.input.releases.find((r) => r.chart.via === "chartRef" && r.chart.source === o);
            if (served) {
                const src = served.chart.source;
                put(
                    `${slug(`${src.id.namespace}-${src.id.name}`)}-source.yaml`,
                    sourcePatch(served, this.input),
                    `patch: ${describeId(src.id)} (${src.file}) serves ${served.chart.ref.name} ${served.chart.ref.version} from the China registry`,
                    target(src),
                );
            } else if (o.id.kind === "HelmRepository" && /\.fluxcd\.io\//.test(o.id.apiVersion)) {
                if (!this.stillUsed(o)) layer.patches.push(deletion(o)); // no release on the china cluster installs from it
            } else if (o.id.kind === "ArtifactGenerator" && owner !== ROOT)
                layer.patches.push(deletion(o)); // the china cluster builds every Kustomization from its overlay
            else if (isImageAutomation(o))
                layer.patches.push(deletion(o)); // image automation runs on the adopted cluster, which commits
            else if (
                owner !== ROOT &&
                o.id.kind === "Kustomization" &&
                /kustomize\.toolkit\.fluxcd\.io\//.test(o.id.apiVersion)
            )
                this.nested(o, put);
        }
        if (plain && !isEmptyPostRenderer(plain)) {
            layer.patches.push(...(plain.patches ?? []));
            layer.images.push(...(plain.images ?? []));
        }
        return layer;
    }

    /** Whether a release adopt could not move still installs from this HelmRepository. */
    private stillUsed(repo: BuiltObject): boolean {
        return this.input.objects.some(
            (hr) =>
                hr.id.kind === "HelmRelease" &&
                hr.object.spec?.chart?.spec?.sourceRef?.kind === "HelmRepository" &&
                hr.object.spec.chart.spec.sourceRef.name === repo.id.name &&
                (hr.object.spec.chart.spec.sourceRef.namespace ?? hr.id.namespace) === repo.id.namespace &&
                !this.input.releases.some((r) => r.hr === hr),
        );
    }

    /** A Kustomization another one applies: pointed at its own overlay, its build fields moved there. */
    private nested(o: BuiltObject, put: (name: string, doc: Obj, comment: string, target?: Obj) => void): void {
        const child = this.input.kustomizations.find((c) => c.build.name === describeId(o.id));
        if (!child) return;
        const spec = this.fluxKustomization(o.object.spec ?? {}, child.build.name);
        const nulls = Object.fromEntries(
            BUILD_FIELDS.filter((f) => o.object.spec?.[f] !== undefined).map((f) => [f, null]),
        );
        put(
            `${slug(`${o.id.namespace}-${o.id.name}`)}-kustomization.yaml`,
            {
                apiVersion: o.id.apiVersion,
                kind: o.id.kind,
                metadata: { name: o.id.name, namespace: o.id.namespace },
                spec: {
                    ...nulls,
                    sourceRef: spec.sourceRef,
                    path: spec.path,
                    timeout: spec.timeout,
                    retryInterval: spec.retryInterval,
                },
            },
            `patch: ${describeId(o.id)} builds its china overlay`,
            target(o),
        );
    }
}

function kustomizationOf(resources: readonly string[], layer: Layer): Obj {
    return {
        ...KUSTOMIZE,
        resources,
        ...(layer.patches.length ? { patches: layer.patches } : {}),
        ...(layer.images.length ? { images: layer.images } : {}),
    };
}

function target(o: BuiltObject): Obj {
    return { kind: o.id.kind, name: o.id.name, ...(o.id.namespace ? { namespace: o.id.namespace } : {}) };
}

function deletion(o: BuiltObject): Obj {
    return {
        patch: stringify({
            $patch: "delete",
            apiVersion: o.id.apiVersion,
            kind: o.id.kind,
            metadata: { name: o.id.name, ...(o.id.namespace ? { namespace: o.id.namespace } : {}) },
        }),
        target: target(o),
    };
}

/** The release's chart in the China registry, and the pull Secret where that registry is private. */
function chinaChart(r: AdoptedRelease, input: EmitAdoptedInput) {
    const { ref } = r.chart;
    const china = rewriteChartSource(input.mirrors, { url: ref.repository, chart: ref.name, version: ref.version });
    const secret = fromPrivateRegistry(input.mirrors, china.url) ? { secretRef: { name: REGISTRY_PULL_SECRET } } : {};
    return { china, secret };
}

/** A chartRef release's own OCIRepository, patched to the China registry at the exact version copied there. */
function sourcePatch(r: AdoptedRelease, input: EmitAdoptedInput): Obj {
    const { china, secret } = chinaChart(r, input);
    const src = r.chart.source;
    const s: Doc = src.object.spec ?? {};
    return {
        apiVersion: src.id.apiVersion,
        kind: src.id.kind,
        metadata: { name: src.id.name, namespace: src.id.namespace },
        spec: {
            url: china.url,
            // The exact version copied into China: a range would let the China registry decide.
            ref: {
                tag: china.version,
                ...(s.ref?.semver !== undefined ? { semver: null } : {}),
                ...(s.ref?.semverFilter !== undefined ? { semverFilter: null } : {}),
            },
            timeout: input.cluster.profile.sourceTimeout,
            ...secret,
            ...(s.provider !== undefined ? { provider: null } : {}),
            ...(s.verify !== undefined ? { verify: null } : {}),
        },
    };
}

/** A chart.spec release's new OCIRepository in the China registry, in place of its HelmRepository. */
function newChartSource(r: AdoptedRelease, input: EmitAdoptedInput): Obj {
    const { china, secret } = chinaChart(r, input);
    const p = input.cluster.profile;
    return {
        apiVersion: "source.toolkit.fluxcd.io/v1",
        kind: "OCIRepository",
        metadata: { name: chartSourceName(r, input), namespace: r.hr.id.namespace },
        spec: {
            interval: String(r.chart.source.object.spec?.interval ?? p.sourceInterval),
            timeout: p.sourceTimeout,
            url: china.url,
            ref: { tag: china.version },
            layerSelector: { mediaType: HELM_CHART_LAYER, operation: "copy" },
            ...secret,
        },
    };
}

/** The new OCIRepository's name: the release's own, unless the namespace already has an OCIRepository of it. */
function chartSourceName(r: AdoptedRelease, input: EmitAdoptedInput): string {
    const taken = (n: string) =>
        input.objects.some(
            (o) => o.id.kind === "OCIRepository" && o.id.name === n && o.id.namespace === r.hr.id.namespace,
        );
    return taken(r.hr.id.name) ? `${r.hr.id.name}-china` : r.hr.id.name;
}

/** Only what `after` changes of `before`: maps recursively, anything else whole. */
function changed(before: unknown, after: unknown): unknown {
    const isObj = (v: unknown): v is Obj => Boolean(v) && typeof v === "object" && !Array.isArray(v);
    if (!isObj(before) || !isObj(after)) return JSON.stringify(before) === JSON.stringify(after) ? undefined : after;
    const out: Obj = {};
    for (const [k, v] of Object.entries(after)) {
        const d = changed(before[k], v);
        if (d !== undefined) out[k] = d;
    }
    return Object.keys(out).length ? out : undefined;
}

function releasePatch(r: AdoptedRelease, input: EmitAdoptedInput): Obj {
    const p = input.cluster.profile;
    const spec: Doc = r.hr.object.spec ?? {};
    const own: Doc[] = Array.isArray(spec.postRenderers) ? spec.postRenderers : [];
    const ours = r.proof && !isEmptyPostRenderer(r.proof.plan.postRenderer) ? r.proof.plan.postRenderer : undefined;
    const retry = (s: Doc | undefined) =>
        s?.strategy?.name === "RetryOnFailure" ? { strategy: { retryInterval: p.helmRetryInterval } } : undefined;
    // Only what the proof changed (hook images moved through values): the fleet's own values stay its own.
    const values = changed(r.installed, r.values);
    return {
        apiVersion: r.hr.id.apiVersion,
        kind: "HelmRelease",
        metadata: { name: r.hr.id.name, namespace: r.hr.id.namespace },
        spec: {
            ...(r.chart.via === "chart.spec"
                ? { chart: null, chartRef: { kind: "OCIRepository", name: chartSourceName(r, input) } }
                : {}),
            timeout: p.helmTimeout,
            ...(retry(spec.install) ? { install: retry(spec.install) } : {}),
            ...(retry(spec.upgrade) ? { upgrade: retry(spec.upgrade) } : {}),
            ...(ours
                ? {
                      postRenderers: [...own, { kustomize: ours }],
                      ...(input.flux.postRenderStrategyField ? { postRenderStrategy: "combined" } : {}),
                  }
                : {}),
            ...(values !== undefined ? { values } : {}),
        },
    };
}

/** Every file adopt writes, path → text. */
export function emitAdopted(input: EmitAdoptedInput): Map<string, string> {
    const files = new Map<string, string>();
    const overlays = new Overlays(input, files);
    for (const k of input.kustomizations) overlays.emit(k);
    emitRoot(input, overlays, files);
    for (const [p, text] of renderInventoryFiles(
        input.inventory,
        input.originRegistry,
        input.cluster.profile,
        ADOPTED_HEADER,
    ))
        files.set(p, text);
    const locked = new Map(
        input.releases.map((r) => [chartLabel(r.chart.ref), { ...r.chart.ref, sha256: r.chart.sha256 }]),
    );
    files.set(
        "inventory/charts.lock",
        lockText(
            [...locked.values()],
            `${ADOPTED_HEADER}\n# The sha256 of every chart archive the ${input.cluster.name} cluster installs: crossborder audit --lock identifies each chart by it.`,
        ),
    );
    return files;
}

/** clusters/<cluster>: the adopted cluster's root Kustomizations (and its other objects), built from overlays. */
function emitRoot(input: EmitAdoptedInput, overlays: Overlays, files: Map<string, string>): void {
    const byFile = new Map<string, Obj[]>();
    for (const o of input.objects) {
        if (o.appliedBy || bootstrapOwned(o, input.from) || o.id.kind === "ArtifactGenerator") continue;
        const k = input.kustomizations.find((x) => x.build.name === describeId(o.id) && !x.build.parent);
        const doc: Obj = k
            ? { ...o.object, spec: overlays.fluxKustomization(o.object.spec ?? {}, k.build.name) }
            : o.object;
        const name = path.posix.basename(o.file);
        byFile.set(name, [...(byFile.get(name) ?? []), doc]);
    }
    const dir = `clusters/${input.cluster.name}`;
    for (const [name, docs] of byFile)
        files.set(`${dir}/${name}`, file(docs, `from ${input.from}/${name}, for the ${input.cluster.name} cluster`));
    const layer = overlays.chinaLayer(dir, ROOT, input.rootPlain);
    files.set(
        `${dir}/kustomization.yaml`,
        file(
            [kustomizationOf([...byFile.keys(), ...layer.resources].sort(), layer)],
            `the ${input.cluster.name} cluster, adopted from ${input.from}`,
        ),
    );
}
