/**
 * `crossborder adopt`: the china cluster's side of a Flux fleet that already exists, written beside the
 * fleet's own files, which are never rewritten. The pipeline:
 *
 *   1. read     the fleet as Flux reads it from one cluster's path (gitops/audit/cluster.ts: Kustomizations,
 *               ExternalArtifacts of ArtifactGenerators, sources, HelmReleases with values and valuesFrom)
 *   2. charts   each HelmRelease's chart from the chart cache, at the newest version its range admits (charts.ts)
 *   3. prove    `helm template` of every release, the china post-renderer planned and proven on the real
 *               kustomize, as `crossborder render` does (gitops/render/index.ts prove); the plain objects of
 *               every Kustomization likewise, as kustomize `images` and patches of its overlay
 *   4. emit     clusters/<cluster>/ (the Kustomizations, now built from overlays), <cluster>/<kustomization>/
 *               (an overlay of each Kustomization's own folder: sources moved to the China registry, the
 *               post-renderers, the slow-link timings, the pull Secret references), inventory/ with the
 *               chart lock the audit identifies every chart by (emit.ts)
 *
 * What cannot be adopted is named with its file and a fix, and is left as the fleet has it, so the audit of
 * the result fails on it rather than passing over it.
 */
import * as fs from "fs";
import * as path from "path";
import { RenderCache } from "../engine/cache";
import { limit } from "../engine/pool";
import { removeTemporaryFolder, temporaryFolder } from "../engine/tools";
import { isChinaHost, Mirrors, MirrorVars, rewriteChartSource } from "../../core/mirrors";
import { FluxRelease } from "../../core/flux-releases";
import { KNOWN_REGISTRIES, scanObjects } from "../objects/images";
import { describeId } from "../objects/manifests";
import { buildCluster, isFluxKustomization, KustomizationBuild } from "../audit/cluster";
import { copyTree } from "../audit/copy";
import { BuiltObject } from "../audit/flux";
import { installTarget, isHelmRelease, valuesFrom } from "../audit/helm";
import { isFluxSource, judgeUrl, sourceUrl } from "../audit/sources";
import { EngineContext, ReleaseRender, renderAll, runsTests, storeObjects, withoutTests } from "../render/engine";
import { chinaPairs, hooksByValues, impliedPairs, Job, prefixCoverage, prove, Proven } from "../render/index";
import { Inventory, InventoryBuilder } from "../render/inventory";
import { postRender } from "../render/verify";
import { KustomizePostRenderer } from "../engine/kustomize";
import { ClusterSettings } from "../render/emit";
import { Release } from "../catalog";
import { FleetChart, fleetChart } from "./charts";
import { runtimeImageNeeds } from "../../core/runtime-images";
import { mergeValues } from "../values/scan";
import { AdoptedKustomization, AdoptedRelease, bootstrapOwned, emitAdopted, isImageAutomation, ROOT } from "./emit";
import { fromPrivateRegistry } from "../render/emit";
import { declaredRuntimeImages } from "./runtime";

export interface AdoptInput {
    /** The fleet repository's root. */
    readonly fleet: string;
    /** The path of the cluster to adopt, inside the fleet (`clusters/production`). */
    readonly from: string;
    /** The china cluster's settings (its name is the new clusters/<name>). */
    readonly cluster: ClusterSettings;
    readonly mirrors: Mirrors;
    readonly vars: MirrorVars;
    readonly originRegistry: string;
    /** The Flux the china cluster runs (the Pulumi bootstrap's). */
    readonly flux: FluxRelease;
    readonly chartCache: string;
    /** A folder of chart archives to add to the cache for the releases it lacks. */
    readonly chartArchives?: string;
    readonly engine?: { readonly cache?: RenderCache; readonly concurrency?: number };
}

export interface AdoptOutput {
    /** Relative path inside the fleet → file content. */
    readonly files: Map<string, string>;
    /** What could not be adopted, each with its file and a fix. */
    readonly problems: string[];
    readonly warnings: string[];
    readonly releases: readonly { readonly name: string; readonly chart: string }[];
    readonly inventory: Inventory;
    /** Namespaces whose chart sources name the China registry's pull Secret (the china stack creates it there). */
    readonly pullSecretNamespaces: readonly string[];
}

export async function adoptFleet(input: AdoptInput): Promise<AdoptOutput> {
    const copy = temporaryFolder("crossborder-adopt-");
    try {
        copyTree(path.resolve(input.fleet), copy);
        // The fleet is read without what an earlier adopt wrote into it: only the fleet's own files count.
        for (const owned of ownedFiles(path.resolve(input.fleet))) fs.rmSync(path.join(copy, owned), { force: true });
        return await adoptIn(copy, input);
    } finally {
        removeTemporaryFolder(copy);
    }
}

/** The files crossborder's writer owns in the fleet (its manifest), none when it has not written there. */
function ownedFiles(fleet: string): string[] {
    const file = path.join(fleet, ".crossborder", "manifest.json");
    if (!fs.existsSync(file)) return [];
    try {
        return Object.keys(JSON.parse(fs.readFileSync(file, "utf8"))?.files ?? {}).filter((p) => checkedPath(p));
    } catch {
        return []; // the writer refuses an unreadable manifest itself, naming it
    }
}

/** A manifest path that stays inside the fleet. */
const checkedPath = (p: string) => !path.isAbsolute(p) && !p.split(/[\\/]/).includes("..");

async function adoptIn(copy: string, input: AdoptInput): Promise<AdoptOutput> {
    const problems: string[] = [];
    const warnings: string[] = [];
    const ctx: EngineContext = {
        cache: input.engine?.cache ?? new RenderCache(),
        limit: limit(input.engine?.concurrency),
        registries: [...KNOWN_REGISTRIES, ...input.mirrors.upstreams.keys(), ...input.mirrors.chinaHosts],
    };
    // 1. read
    const build = await buildCluster(path.posix.basename(input.from), input.from, copy);
    problems.push(...build.problems);
    const kustomizations = build.kustomizations.filter((k) => {
        // The bootstrap's own sync Kustomization (flux-system) is the Pulumi bootstrap's on the china cluster.
        if (bootstrapOwned(k.object, input.from)) return false;
        if (k.treePath !== undefined) return true;
        problems.push(
            `${k.name} (${k.object.file}): its path ${k.object.object.spec?.path} in ${k.object.object.spec?.sourceRef?.kind} ${k.object.object.spec?.sourceRef?.name} is assembled from more than one folder of the repository, so no overlay of one folder can stand for it; copy each folder whole (from: "@source/<folder>/**", to: "@artifact/<folder>/")`,
        );
        return false;
    });
    const automation = build.objects.filter(isImageAutomation);
    if (automation.length)
        warnings.push(
            `${automation.map((o) => `${describeId(o.id)} (${o.file})`).join(", ")}: image automation stays on ${input.from}, which commits the new tags to the fleet; the ${input.cluster.name} cluster leaves it out (its Flux runs no image automation controllers), so adopt again after such a commit, and the inventory copies the new tags`,
        );
    // 2. charts
    const releases: AdoptedRelease[] = [];
    for (const hr of build.objects.filter(isHelmRelease)) {
        const label = `${describeId(hr.id)} (${hr.file})`;
        const owner = hr.appliedBy ?? ROOT;
        if (hr.appliedBy && !kustomizations.some((k) => k.name === hr.appliedBy)) continue; // its Kustomization is named
        const chart = fleetChart(hr, build.objects, input.chartCache, input.chartArchives);
        if ("problem" in chart) {
            problems.push(`${label}: cannot be adopted: ${chart.problem}`);
            continue;
        }
        const valueProblems: string[] = [];
        const values = valuesFrom(hr.object, build.objects, hr.id.namespace ?? "default", valueProblems);
        if (!values) {
            problems.push(...valueProblems.map((p) => `${label}: cannot be adopted: ${p}`));
            continue;
        }
        // What the operator pulls at runtime with no value naming it: named here, so it is rewritten and copied.
        let installs = values;
        for (const need of runtimeImageNeeds(chart.ref.name, chart.ref.version, values)) {
            if (need.values) installs = mergeValues(installs, need.values) as Record<string, unknown>;
            else problems.push(`${label}: cannot be adopted: ${need.message}`);
        }
        releases.push({ hr, owner, chart, values: installs, installed: values });
    }
    // 3. prove
    const inventory = new InventoryBuilder(input.vars.chinaRegistry, input.originRegistry, input.mirrors.prefixes);
    const { adopted: proven, coverage } = await proveReleases(releases, input, ctx, inventory, problems);
    const plain = await provePlain(kustomizations, build.objects, input, ctx, inventory, problems);
    for (const r of releases) declaredRuntimeImages(r, input.mirrors, inventory, warnings);
    for (const r of releases)
        inventory.addChart(r.chart.ref, chinaChartUrl(r.chart, input), input.chartCache, r.chart.sha256);
    const built = inventory.build();
    problems.push(...coverage(built));
    problems.push(...built.unresolved.map((u) => `inventory: ${u}`));
    problems.push(...sourceProblems(build.objects, input.mirrors));
    // 4. emit
    const files = emitAdopted({
        from: input.from,
        cluster: input.cluster,
        mirrors: input.mirrors,
        vars: input.vars,
        flux: input.flux,
        originRegistry: input.originRegistry,
        tree: copy,
        objects: build.objects,
        kustomizations: kustomizations.map((k): AdoptedKustomization => ({ build: k, plain: plain.get(k.name) })),
        rootPlain: plain.get(ROOT),
        releases: proven,
        inventory: built,
    });
    return {
        files,
        problems: [...new Set(problems)],
        warnings,
        releases: proven.map((r) => ({
            name: describeId(r.hr.id),
            chart: `${r.chart.ref.name} ${r.chart.ref.version}`,
        })),
        inventory: built,
        pullSecretNamespaces: [
            ...new Set(
                proven
                    .filter((r) => fromPrivateRegistry(input.mirrors, chinaChartUrl(r.chart, input)))
                    .map((r) => String((r.chart.via === "chartRef" ? r.chart.source : r.hr).id.namespace)),
            ),
        ].sort(),
    };
}

function chinaChartUrl(chart: FleetChart, input: AdoptInput): string {
    return rewriteChartSource(input.mirrors, {
        url: chart.ref.repository,
        chart: chart.ref.name,
        version: chart.ref.version,
    }).url;
}

/** A release of the render pipeline standing for what adopt proves: the proof stages are shared, not copied. */
function standIn(
    input: AdoptInput,
    r: Pick<Release, "name" | "namespace" | "chart" | "values" | "at" | "key">,
): Release {
    return {
        kind: "release",
        group: "apps",
        clusters: [input.cluster.name],
        dependsOn: [],
        clusterValues: {},
        extraImages: [],
        runtimeImages: [],
        ...r,
    };
}

/** A fleet HelmRelease as the render pipeline's job. */
function jobOf(r: AdoptedRelease, input: AdoptInput): Job {
    const spec = r.hr.object.spec ?? {};
    const { release: releaseName, namespace } = installTarget(r.hr);
    const release = standIn(input, {
        name: `${r.hr.id.namespace ?? "default"}/${r.hr.id.name}`,
        namespace,
        chart: r.chart.ref,
        values: r.values,
        at: r.hr.file,
        key: "HelmRelease",
    });
    return {
        release,
        cluster: input.cluster,
        values: r.values,
        tests: runsTests(spec),
        job: {
            label: `HelmRelease ${release.name} (${r.hr.file})`,
            release: releaseName,
            namespace,
            chart: { file: r.chart.archive, sha256: r.chart.sha256 },
            values: r.values,
            kubeVersion: input.cluster.kubernetesVersion,
        },
    };
}

/** The HelmReleases' own post-renderers, as helm-controller runs them before the ones adopt adds. */
function ownPostRenderers(hr: BuiltObject): KustomizePostRenderer[] {
    const out: KustomizePostRenderer[] = [];
    for (const pr of Array.isArray(hr.object.spec?.postRenderers) ? hr.object.spec.postRenderers : [])
        if (pr?.kustomize) out.push({ images: pr.kustomize.images, patches: pr.kustomize.patches ?? [] });
    return out;
}

async function proveReleases(
    releases: readonly AdoptedRelease[],
    input: AdoptInput,
    ctx: EngineContext,
    inventory: InventoryBuilder,
    problems: string[],
): Promise<{ adopted: AdoptedRelease[]; coverage: (built: Inventory) => string[] }> {
    const jobs = releases.map((r) => jobOf(r, input));
    const renders = await renderAll(
        jobs.map((j) => j.job!),
        ctx,
    );
    const proof = { mirrors: input.mirrors, flux: input.flux };
    const toProve: { job: Job; render: ReleaseRender }[] = [];
    for (let i = 0; i < jobs.length; i++) {
        // A chart's tests are created (and their images pulled) only when the HelmRelease runs them.
        let render = jobs[i].tests ? renders[i] : withoutTests(renders[i]);
        const own = ownPostRenderers(releases[i].hr);
        // What the fleet's own post-renderers make of the render is what the china post-renderer must rewrite.
        if (own.length)
            render = await postRender(
                { label: jobs[i].job!.label, render, postRenderers: own, strategy: "combined" },
                ctx,
            );
        toProve.push(await hooksByValues(jobs[i], render, proof, ctx, problems));
    }
    const proven: Proven[] = await prove(toProve, proof, ctx, problems);
    const adopted = proven.map((p, i) => {
        chinaPairs(toProve[i].job, p, inventory, input.mirrors);
        impliedPairs(toProve[i].job, toProve[i].render, inventory, input.mirrors);
        return { ...releases[i], values: toProve[i].job.values, proof: p };
    });
    // Judged on the complete inventory, as the render judges it: declared runtime images count too.
    return { adopted, coverage: (built) => prefixCoverage(proven, toProve, built) };
}

/**
 * The plain objects each Kustomization applies (not HelmReleases or Flux objects): their images outside China
 * move through the overlay's kustomize `images` and patches, planned and proven like a release's.
 */
async function provePlain(
    kustomizations: readonly KustomizationBuild[],
    objects: readonly BuiltObject[],
    input: AdoptInput,
    ctx: EngineContext,
    inventory: InventoryBuilder,
    problems: string[],
): Promise<Map<string, KustomizePostRenderer>> {
    const out = new Map<string, KustomizePostRenderer>();
    const proof = { mirrors: input.mirrors, flux: input.flux };
    const jobs: { job: Job; render: ReleaseRender }[] = [];
    const owners = [...kustomizations.map((k) => ({ name: k.name, k })), { name: ROOT, k: undefined }];
    for (const { name, k } of owners) {
        const mine = objects.filter(
            (o) =>
                (o.appliedBy ?? ROOT) === name &&
                // Flux's own components on the adopted cluster are the Pulumi bootstrap's on the china one.
                !bootstrapOwned(o, input.from) &&
                !isHelmRelease(o) &&
                !isFluxKustomization(o) &&
                !isFluxSource(o) &&
                o.id.kind !== "ArtifactGenerator" &&
                !isImageAutomation(o),
        );
        const scan = scanObjects(mine, { registries: ctx.registries });
        if (!scan.images.some((l) => !(l.parsed && isChinaHost(input.mirrors, l.parsed.domain)))) continue;
        const render: ReleaseRender = {
            key: `adopt:${name}`,
            objects: storeObjects(mine),
            locations: scan.images,
            prefixes: scan.prefixes,
            implied: scan.implied ?? [],
        };
        const release = standIn(input, {
            name,
            namespace: k?.object.id.namespace ?? "flux-system",
            chart: { repository: "file://.", name: "plain", version: "0" },
            values: {},
            at: k?.object.file ?? input.from,
            key: "Kustomization",
        });
        jobs.push({
            job: {
                release,
                cluster: input.cluster,
                values: {},
                job: {
                    label: k ? `${name} (${k.object.file})` : `${name} (${input.from})`,
                    release: name,
                    namespace: release.namespace,
                    chart: { file: ".", sha256: "" },
                    values: {},
                },
            },
            render,
        });
    }
    const proven = await prove(jobs, proof, ctx, problems);
    proven.forEach((p, i) => {
        chinaPairs(jobs[i].job, p, inventory, input.mirrors);
        out.set(jobs[i].job.release.name, p.plan.postRenderer);
    });
    return out;
}

/** Sources the china cluster would still fetch across the border, which adopt does not move. */
function sourceProblems(objects: readonly BuiltObject[], mirrors: Mirrors): string[] {
    const key = (kind: unknown, namespace: unknown, name: unknown) => `${kind}/${namespace}/${name}`;
    // Every HelmRelease's chart source: moved with its release, or named by that release's own problem.
    const charts = new Set<string>();
    for (const hr of objects.filter(isHelmRelease)) {
        const ref = hr.object.spec?.chartRef ?? hr.object.spec?.chart?.spec?.sourceRef;
        if (ref?.kind && ref?.name) charts.add(key(ref.kind, ref.namespace ?? hr.id.namespace, ref.name));
    }
    const out: string[] = [];
    for (const o of objects) {
        if (!isFluxSource(o)) continue;
        if (o.id.name === "flux-system" && o.id.namespace === "flux-system") continue;
        if (charts.has(key(o.id.kind, o.id.namespace, o.id.name))) continue;
        if (o.id.kind === "HelmRepository") continue; // deleted on the china cluster when no release is left on it
        const url = sourceUrl(o.id.kind, o.object.spec);
        if (url === undefined) continue;
        if (judgeUrl(url, mirrors).inChina) continue;
        out.push(
            `${describeId(o.id)} (${o.file}): fetches ${url}, outside China, and adopt moves only the charts of HelmReleases; mirror what it holds into a registry or Git host inside China and point it there, or keep it off the china cluster`,
        );
    }
    return out;
}
