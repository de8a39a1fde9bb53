/**
 * The render pipeline: catalog + mirrors + the stacks' facts → the Flux tree for both clusters, proven
 * on the real engine. One stage per file:
 *
 *   1. scan.ts       what each release installs with (values, chart bytes); a values-level guess for a
 *                    release whose chart archive is not at hand
 *   2. engine.ts     `helm template` of every release (cached, in parallel), every image found
 *   3. plan.ts       the china rewrites: post-renderer images entries and JSON 6902 patches
 *   4. verify.ts     the post-renderers applied with the real kustomize; every image judged again
 *   5. inventory.ts  what the global side copies: rendered images, locked chart archives
 *   6. emit.ts       the tree itself
 *
 * Nothing outside China is rewritten: global HelmReleases carry the catalog's values and no
 * post-renderer, so what global installs is exactly `helm template` of the catalog's values.
 */
import * as path from "path";
import { FindingsError } from "../../core/errors";
import { withYamlMemo, YamlMemo } from "../emit";
import { Catalog, DEFAULT_CATALOG_FILE, isLocalChart, Release } from "../catalog";
import { RenderCache } from "../engine/cache";
import { ChartRef, chartLabel, normalizeRepository, sameChart } from "../engine/charts";
import { limit } from "../engine/pool";
import { removeTemporaryFolder, temporaryFolder } from "../engine/tools";
import { isChinaHost, Mirrors, MirrorVars, rewriteChartSource, rewriteReference } from "../../core/mirrors";
import { KNOWN_REGISTRIES } from "../objects/images";
import { parseNormalizedNamed, tryParseImage } from "../../core/reference";
import { declaredImages, readChartArchive, readChartDirectory } from "../values/chart";
import { ClusterName, LocalChart } from "../catalog";
import { localChartFiles } from "./emit";
import { SourceError } from "../../core/yaml-source";
import {
    ClusterSettings,
    emitClusters,
    emitInventoryAndReadme,
    localChartUrl,
    outcomeKey,
    ReleaseOutcome,
} from "./emit";
import { EngineContext, ReleaseRender, renderAll, RenderJob } from "./engine";
import { Inventory, InventoryBuilder } from "./inventory";
import { isEmptyPostRenderer, planRewrites, RewritePlan } from "./plan";
import { ChartSettings, releaseValues, resolveCharts, ResolvedChart, valuesGuess } from "./scan";
import { crossBorder, postRenderAll, PostRenderStrategy, prefixesAcross, VerifiedRender } from "./verify";
import { rewriteHooksByValues } from "./hooks";
import { effectivePostRenderStrategy } from "../../core/flux-releases";
import { KustomizeError } from "../engine/kustomize";
import { cacheKey, stableJson } from "../engine/cache";
import { createHash } from "crypto";
import { lockedArchive } from "../engine/charts";
import { CrdSchemas, crdSchemas, installedFluxCrdDocs } from "../engine/flux-crds";
import { helm } from "../engine/helm";
import type { Doc } from "../objects/manifests";
import { fluxSchemaProblems } from "./schema";
import { fluxValues } from "../../core/flux-releases";
import { runtimeImageNeeds } from "../../core/runtime-images";
import { mergeValues } from "../values/scan";

export type { ClusterSettings } from "./emit";

/** Bump when gitops/engine/flux-crds.ts crdSchemas judges differently: the objects that passed are checked again. */
const SCHEMA_CHECK_FORMAT = 1;

export interface RenderInput {
    readonly catalog: Catalog;
    readonly mirrors: Mirrors;
    readonly vars: MirrorVars;
    /** The ACR EE origin instance outside China (the inventory's destination). */
    readonly originRegistry: string;
    readonly clusters: readonly ClusterSettings[];
    /** Rewrite the china cluster's sources and images. @default true (false only to audit the raw tree) */
    readonly rewrite?: boolean;
    readonly charts: ChartSettings;
    /** @default the user's render cache, CPUs as concurrency */
    readonly engine?: { readonly cache?: RenderCache; readonly concurrency?: number };
}

export interface RenderOutput {
    /** Relative path → file content. */
    readonly files: Map<string, string | Buffer>;
    readonly warnings: string[];
    readonly inventory: Inventory;
    /** Releases rendered on the engine, and releases whose chart archive was not at hand. */
    readonly rendered: readonly string[];
    readonly unrendered: readonly string[];
    /** Render records read from the cache, and written to it. */
    readonly cache: { readonly hits: number; readonly misses: number; readonly rejected: number };
    /** YAML documents read back from this catalog's last render (unchanged), and dumped afresh. */
    readonly documents: { readonly reused: number; readonly dumped: number };
    /** The installed Flux CRDs every Flux object was checked against; undefined when its chart was not at hand. */
    readonly fluxSchemas?: string;
}

/** The china tree could not be proven: images outside China, or images the inventory cannot copy (exit 1). */
export class RenderFindings extends FindingsError {
    constructor(readonly findings: readonly string[]) {
        super(
            `the china cluster would pull from outside China, or pull what the inventory cannot copy; nothing was written:\n${findings.map((f) => `  ${f}`).join("\n")}`,
        );
        this.name = "RenderFindings";
    }
}

/** One release on one cluster, with the values it installs with and, when its chart is at hand, its render job. */
export interface Job {
    readonly release: Release;
    readonly cluster: ClusterSettings;
    readonly values: Record<string, unknown>;
    readonly job?: RenderJob;
    /** Whether helm-controller runs the chart's tests (render/engine.ts runsTests). @default true: the render's own releases count them */
    readonly tests?: boolean;
}

function jobsOf(input: RenderInput, charts: ReadonlyMap<string, ResolvedChart>): Job[] {
    const jobs: Job[] = [];
    for (const cluster of input.clusters) {
        for (const release of [...input.catalog.releases].sort((a, b) => (a.name < b.name ? -1 : 1))) {
            if (!release.clusters.includes(cluster.name)) continue;
            // On the china cluster, an operator's runtime default the values leave empty is named, so it moves too.
            let values = releaseValues(release, cluster.name);
            if (cluster.china && !isLocalChart(release.chart))
                for (const need of runtimeImageNeeds(release.chart.name, release.chart.version, values))
                    if (need.values) values = mergeValues(values, need.values) as Record<string, unknown>;
            const chart = charts.get(release.name)!;
            const file =
                chart.kind === "archive"
                    ? { file: chart.archive.file, sha256: chart.archive.sha256 }
                    : chart.kind === "local"
                      ? { file: chart.dir, sha256: chart.sha256 }
                      : undefined;
            jobs.push({
                release,
                cluster,
                values,
                job: file && {
                    label: `release ${release.name} (${cluster.name})`,
                    release: release.name,
                    namespace: release.namespace,
                    chart: file,
                    values,
                    kubeVersion: cluster.kubernetesVersion,
                },
            });
        }
    }
    return jobs;
}

export interface Proven {
    readonly plan: RewritePlan;
    readonly verified: VerifiedRender;
}

/** What proving the china rewrites needs to know: the mirrors, and the Flux the china cluster runs. */
export interface ProofContext {
    readonly mirrors: Mirrors;
    readonly flux: Catalog["flux"];
}

/** Only what the post-renderer sees under `strategy`: hooks are left out when they are applied as rendered. */
function postRenderedPart(render: ReleaseRender, strategy: PostRenderStrategy): ReleaseRender {
    const aside = (o: ReleaseRender["objects"][number]) => o.crds || (strategy === "nohooks" && Boolean(o.hook));
    return {
        ...render,
        locations: render.locations.filter((l) => !aside(render.objects[l.object])),
        prefixes: render.prefixes.filter((l) => !aside(render.objects[l.object])),
    };
}

/** Stages 3 and 4 for the china releases: plan, post-render (batched), judge, under the installed Flux's strategy. */
export async function prove(
    jobs: readonly { job: Job; render: ReleaseRender }[],
    input: ProofContext,
    ctx: EngineContext,
    findings: string[],
): Promise<Proven[]> {
    // The strategy the installed helm-controller applies to what the tree writes (core/flux-releases.ts).
    const strategy = effectivePostRenderStrategy(input.flux, "combined");
    const plans = jobs.map(({ job, render }) => {
        const plan = planRewrites(postRenderedPart(render, strategy), input.mirrors);
        findings.push(...plan.problems.map((p) => `release ${job.release.name}: ${p}`));
        return plan;
    });
    let verified: VerifiedRender[];
    try {
        verified = await postRenderAll(
            jobs.map(({ job, render }, i) => ({
                label: job.job!.label,
                render,
                postRenderers: isEmptyPostRenderer(plans[i].postRenderer) ? [] : [plans[i].postRenderer],
                strategy,
                onlyObjectsWithImages: true,
            })),
            ctx,
        );
    } catch (e) {
        if (!(e instanceof KustomizeError)) throw e;
        findings.push(e.message);
        return [];
    }
    return jobs.map(({ job }, i) => {
        for (const x of prefixesAcross(verified[i], input.mirrors)) {
            if (plans[i].refusedPrefixes.has(x.where)) continue;
            const o = verified[i].objects[x.location.object];
            if (strategy === "nohooks" && o.hook && !o.crds) continue;
            findings.push(
                `release ${job.release.name}: ${x.message}; ${o.crds ? `it is in the chart's crds/ folder (${o.source}), which Helm installs as written` : "the post-renderer did not reach it"}`,
            );
        }
        for (const x of crossBorder(verified[i], input.mirrors)) {
            const o = verified[i].objects[x.location.object];
            // Hooks applied as rendered were judged (and named) when their values were rewritten.
            if (strategy === "nohooks" && o.hook && !o.crds) continue;
            if (o.crds) {
                findings.push(
                    `release ${job.release.name}: ${x.message}; it is in the chart's crds/ folder (${o.source}), which Helm installs as written: no value or post-renderer reaches it. Use a chart without it, or install it yourself from the China registry and disable the chart's copy`,
                );
                continue;
            }
            if (x.location.parsed)
                findings.push(
                    `release ${job.release.name}: ${x.message}; the post-renderer did not reach it (${x.location.via})`,
                );
        }
        return { plan: plans[i], verified: verified[i] };
    });
}

/**
 * Hooks on a Flux that applies them as rendered: their images move through values, proven on the engine
 * (gitops/render/hooks.ts). Returns the job with the values it installs with, and its render.
 */
export async function hooksByValues(
    job: Job,
    render: ReleaseRender,
    input: ProofContext,
    ctx: EngineContext,
    findings: string[],
): Promise<{ job: Job; render: ReleaseRender }> {
    if (effectivePostRenderStrategy(input.flux, "combined") !== "nohooks") return { job, render };
    const r = await rewriteHooksByValues(
        { ...job.job!, local: isLocalChart(job.release.chart), tests: job.tests },
        render,
        input.mirrors,
        ctx,
        `Flux ${input.flux.version}`,
    );
    findings.push(...r.problems.map((p) => `release ${job.release.name}: ${p}`));
    if (Object.keys(r.overrides).length === 0) return { job, render };
    return { job: { ...job, values: r.values, job: { ...job.job!, values: r.values } }, render: r.render };
}

/**
 * A prefix setting an operator joins with image names at runtime needs the images it pulls through it in
 * China: at least one rendered or declared image under the upstream prefix, or nothing would be copied there.
 */
export function prefixCoverage(proven: readonly Proven[], jobs: readonly { job: Job }[], built: Inventory): string[] {
    const sources = built.images.map((i) => i.source.replace(/^docker:\/\//, ""));
    return proven.flatMap((p, i) =>
        p.plan.prefixes
            .filter((x) => !sources.some((s) => s.startsWith(`${x.upstream}/`)))
            .map(
                (x) =>
                    `release ${jobs[i].job.release.name}: ${x.where}: its operator pulls images through the registry prefix ${x.upstream} (now ${x.china}), and no image under it is rendered or declared, so none would be copied into China; declare the images it pulls there with their tags (catalog runtimeImages: [${x.upstream}/<name>:<tag>])`,
            ),
    );
}

/** Images an operator joins from a prefix setting, a name and a tag: copied like declared ones. */
export function impliedPairs(job: Job, render: ReleaseRender, inventory: InventoryBuilder, mirrors: Mirrors): void {
    for (const x of render.implied) {
        if (isChinaHost(mirrors, x.reference.domain)) continue;
        let china;
        try {
            china = rewriteReference(mirrors, x.reference);
        } catch {
            continue; // the prefix setting it comes from is a finding of its own
        }
        const o = render.objects[x.object].id;
        inventory.declare({
            upstream: x.reference,
            china,
            where: `release ${job.release.name} ${o.kind}/${o.name} (${x.from})`,
            container: false,
        });
    }
}

export function chinaPairs(job: Job, proven: Proven, inventory: InventoryBuilder, mirrors: Mirrors): void {
    const upstreamOf = new Map(proven.plan.renames.map((r) => [`${r.china.domain}/${r.china.path}`, r.upstream]));
    for (const l of proven.verified.locations) {
        if (!l.parsed || !isChinaHost(mirrors, l.parsed.domain)) continue;
        const where = `release ${job.release.name} ${proven.verified.objects[l.object].id.kind}/${proven.verified.objects[l.object].id.name}`;
        const container = l.via === "container" || l.path.includes("ephemeralContainers");
        const upstream = upstreamOf.get(`${l.parsed.domain}/${l.parsed.path}`);
        if (upstream)
            inventory.addImage({
                upstream: { ...upstream, tag: l.parsed.tag, digest: l.parsed.digest },
                china: l.parsed,
                where,
                container,
                disabled: l.disabled,
            });
        else inventory.addChinaOnly(l.parsed, where, container);
    }
}

/** Two charts of one name from different repositories would share a repository in a flat registry. */
function checkChartDestinations(input: RenderInput): void {
    const seen = new Map<string, { chart: ChartRef; owner: string }>();
    const charts = [
        ...input.catalog.releases
            .filter((r) => r.clusters.includes("china"))
            .flatMap((r) =>
                isLocalChart(r.chart) ? [] : [{ chart: r.chart, owner: `release "${r.name}" (${r.at})` }],
            ),
        {
            chart: input.catalog.fluxChart,
            owner: `flux.chart, the chart the Pulumi bootstrap installs (${input.catalog.file})`,
        },
    ];
    // A local chart delivered beside an OCI tree lands at <namespace>/<chart> too (emit.ts localChartUrl).
    if (input.clusters.some((c) => c.china && c.delivery === "oci"))
        for (const r of input.catalog.releases)
            if (isLocalChart(r.chart) && r.clusters.includes("china"))
                seen.set(localChartUrl(input.vars, r.chart), {
                    chart: { repository: `file://${r.chart.dir}`, name: r.chart.name, version: r.chart.version },
                    owner: `release "${r.name}" (${r.at}), a chart kept beside the catalog`,
                });
    for (const { chart, owner } of charts) {
        const url = rewriteChartSource(input.mirrors, {
            url: chart.repository,
            chart: chart.name,
            version: chart.version,
        }).url;
        const other = seen.get(url);
        if (other && normalizeRepository(other.chart.repository) !== normalizeRepository(chart.repository)) {
            throw new SourceError(
                `${owner}: chart ${chartLabel(chart)} would be mirrored to ${url}, like ${chartLabel(other.chart)} of ${other.owner}; a flat registry keeps one chart per name. Use one of the two repositories for both, or map one of them to a nested registry target in mirrors.yaml (charts:)`,
            );
        }
        seen.set(url, { chart, owner });
    }
}

export async function renderTree(input: RenderInput): Promise<RenderOutput> {
    let staging: string | undefined;
    try {
        return await renderStaged(input, () => (staging ??= temporaryFolder("crossborder-charts-")));
    } finally {
        if (staging) removeTemporaryFolder(staging);
    }
}

async function renderStaged(input: RenderInput, stageIn: () => string): Promise<RenderOutput> {
    const rewrite = input.rewrite ?? true;
    const cache = input.engine?.cache ?? new RenderCache();
    const ctx: EngineContext = {
        cache,
        limit: limit(input.engine?.concurrency),
        registries: [...KNOWN_REGISTRIES, ...input.mirrors.upstreams.keys(), ...input.mirrors.chinaHosts],
    };
    const warnings: string[] = [];
    const findings: string[] = [];
    checkChartDestinations(input);

    // 1-2: resolve every chart, render every release that has one.
    const charts = resolveCharts(input.catalog, input.charts, stageIn);
    const jobs = jobsOf(input, charts);
    const renders = await renderJobs(jobs, ctx);
    // 3-4: plan and prove the china rewrites; the values-level guess where no chart is at hand.
    const china = await proveChina(input, jobs, renders, ctx, { rewrite, warnings, findings });
    // 5: the inventory: rendered images, the Pulumi program's own images, and the locked charts.
    const chinaCluster = input.clusters.find((c) => c.china);
    const built =
        chinaCluster && rewrite
            ? completeInventory(input, chinaCluster.name, charts, china, { warnings, findings, cache })
            : undefined;
    if (cache.rejected)
        warnings.push(
            `${cache.rejected} render cache record(s) in ${cache.dir} failed their check (edited, or not written by this user's crossborder) and were rendered again`,
        );
    if (findings.length > 0) throw new RenderFindings([...new Set(findings)].sort());
    // 6: the tree.
    return emitTree(input, jobs, china.outcomes, built, { rewrite, ctx, warnings });
}

async function renderJobs(jobs: readonly Job[], ctx: EngineContext): Promise<Map<Job, ReleaseRender>> {
    const withJob = jobs.filter((j) => j.job);
    const renders = new Map<Job, ReleaseRender>();
    (
        await renderAll(
            withJob.map((j) => j.job!),
            ctx,
        )
    ).forEach((r, i) => renders.set(withJob[i], r));
    return renders;
}

const proofOf = (input: RenderInput): ProofContext => ({ mirrors: input.mirrors, flux: input.catalog.flux });

interface ChinaProof {
    readonly outcomes: Map<string, ReleaseOutcome>;
    readonly inventory: InventoryBuilder;
    readonly toProve: { job: Job; render: ReleaseRender }[];
    readonly proven: Awaited<ReturnType<typeof prove>>;
}

/** Each job's outcome: as rendered (global, or no rewrite), proven on the engine, or the values-level guess. */
async function proveChina(
    input: RenderInput,
    jobs: readonly Job[],
    renders: ReadonlyMap<Job, ReleaseRender>,
    ctx: EngineContext,
    run: { rewrite: boolean; warnings: string[]; findings: string[] },
): Promise<ChinaProof> {
    const outcomes = new Map<string, ReleaseOutcome>();
    const inventory = new InventoryBuilder(input.vars.chinaRegistry, input.originRegistry, input.mirrors.prefixes);
    const toProve: { job: Job; render: ReleaseRender }[] = [];
    for (const j of jobs) {
        const render = renders.get(j);
        const base = { release: j.release, cluster: j.cluster.name, values: j.values, rendered: Boolean(render) };
        if (!(j.cluster.china && run.rewrite)) outcomes.set(outcomeKey(j.release.name, j.cluster.name), base);
        else if (render) toProve.push(await hooksByValues(j, render, proofOf(input), ctx, run.findings));
        else {
            const guess = valuesGuess(j.release, j.values, input.mirrors, j.cluster.name);
            run.warnings.push(...guess.warnings);
            for (const pair of guess.pairs) inventory.addImage(pair);
            outcomes.set(outcomeKey(j.release.name, j.cluster.name), { ...base, guess });
        }
    }
    const proven = await prove(toProve, proofOf(input), ctx, run.findings);
    proven.forEach((p, i) => {
        const j = toProve[i].job;
        chinaPairs(j, p, inventory, input.mirrors);
        impliedPairs(j, toProve[i].render, inventory, input.mirrors);
        outcomes.set(outcomeKey(j.release.name, j.cluster.name), {
            release: j.release,
            cluster: j.cluster.name,
            values: j.values,
            rendered: true,
            postRenderer: p.plan.postRenderer,
        });
    });
    return { outcomes, inventory, toProve, proven };
}

/** The china inventory: what the renders pull, declared runtime images, the program's images, the locked charts. */
function completeInventory(
    input: RenderInput,
    chinaCluster: ClusterName,
    charts: ReadonlyMap<string, ResolvedChart>,
    china: ChinaProof,
    run: { warnings: string[]; findings: string[]; cache: RenderCache },
): Inventory {
    const { inventory } = china;
    declareRuntimeImages(input, chinaCluster, charts, inventory, run.warnings, run.cache);
    for (const image of [...input.catalog.fluxImages, input.catalog.platform.ecrRefresherImage]) {
        const upstream = parseNormalizedNamed(image);
        inventory.addImage({
            upstream,
            china: rewriteReference(input.mirrors, upstream),
            where: "the Pulumi program (catalog flux/platform images)",
            container: true,
        });
    }
    const chartRefs = [
        ...input.catalog.releases
            .filter((r) => r.clusters.includes(chinaCluster))
            .flatMap((r) => (isLocalChart(r.chart) ? [] : [r.chart])),
        input.catalog.fluxChart,
    ];
    for (const ref of chartRefs) {
        const locked = input.charts.lock?.entries.find((e) => sameChart(e, ref));
        inventory.addChart(
            ref,
            rewriteChartSource(input.mirrors, { url: ref.repository, chart: ref.name, version: ref.version }).url,
            input.charts.cacheDir,
            locked?.sha256,
        );
    }
    const built = inventory.build();
    run.findings.push(...prefixCoverage(china.proven, china.toProve, built));
    for (const u of built.unresolved)
        (/tag from the chart, which is not at hand|no upstream recorded/.test(u) ? run.warnings : run.findings).push(
            `inventory: ${u}`,
        );
    return built;
}

/** The tree's files: both clusters, the Flux objects checked against the installed CRDs, inventory and README. */
async function emitTree(
    input: RenderInput,
    jobs: readonly Job[],
    outcomes: Map<string, ReleaseOutcome>,
    built: Inventory | undefined,
    run: { rewrite: boolean; ctx: EngineContext; warnings: string[] },
): Promise<RenderOutput> {
    const { rewrite, ctx, warnings } = run;
    const cache = ctx.cache;
    const unrendered = [...new Set(jobs.filter((j) => !j.job).map((j) => j.release.name))].sort();
    const emitInput = {
        catalog: input.catalog,
        mirrors: input.mirrors,
        vars: input.vars,
        originRegistry: input.originRegistry,
        clusters: input.clusters,
        rewrite,
        outcomes,
    };
    const memo = yamlMemo(input, cache);
    const out = withYamlMemo(memo.memo, () => emitClusters(emitInput));
    const fluxSchemas = await checkFluxObjects(input, out.objects, ctx, warnings);
    withYamlMemo(memo.memo, () => emitInventoryAndReadme(emitInput, out, built, rewrite ? unrendered : []));
    memo.save();
    if (unrendered.length) {
        warnings.push(
            `${unrendered.length} release(s) not rendered on the Helm engine, their chart archive not in ${input.charts.cacheDir}: ${someOf(unrendered, 10)}. Their china rewrite is the values-level guess, which cannot see images set in templates; fetch the archives with crossborder charts pull${input.catalog.file === DEFAULT_CATALOG_FILE ? "" : ` --catalog ${input.catalog.file}`} and render again`,
        );
    }
    return {
        files: out.files,
        warnings: [...new Set(warnings)],
        inventory: built ?? { images: [], charts: [], unresolved: [] },
        rendered: [...new Set(jobs.filter((j) => j.job).map((j) => j.release.name))].sort(),
        unrendered,
        cache: { hits: cache.hits, misses: cache.misses, rejected: cache.rejected },
        documents: { reused: memo.memo.hits, dumped: memo.memo.misses },
        fluxSchemas,
    };
}

/** The first `n` names of a list, and how many more there are: a warning of a 1,000-release catalog stays readable. */
function someOf(names: readonly string[], n: number): string {
    return names.length <= n ? names.join(", ") : `${names.slice(0, n).join(", ")} and ${names.length - n} more`;
}

/**
 * The YAML of the last render of this catalog, read back for every document that did not change (the
 * incremental part of a re-render: gitops/emit.ts YamlMemo), kept as one checked record of the render cache.
 */
function yamlMemo(input: RenderInput, cache: RenderCache): { memo: YamlMemo; save: () => void } {
    const key = cacheKey({
        stage: "yaml-memo",
        format: YamlMemo.FORMAT,
        yaml: (require("yaml/package.json") as { version: string }).version,
        catalog: path.resolve(input.catalog.file),
    });
    const known = cache.get<unknown>(key, false);
    const memo = new YamlMemo(
        known && typeof known === "object" && !Array.isArray(known) ? (known as Record<string, string>) : {},
    );
    return { memo, save: () => memo.changed && cache.set(key, memo.entries()) };
}

/**
 * The emitted Flux objects against the CRDs the installed Flux has (those its chart carries, rendered on the
 * engine): a field the pinned Flux lacks is a finding, not a silent prune. Returns what they were checked
 * against, or undefined (with a warning) when the Flux chart's archive is not at hand.
 */
async function checkFluxObjects(
    input: RenderInput,
    objects: ReadonlyMap<string, readonly unknown[]>,
    ctx: EngineContext,
    warnings: string[],
): Promise<string | undefined> {
    const chart = input.catalog.fluxChart;
    const archive = lockedArchive(input.charts.cacheDir, input.charts.lock, chart);
    if (!archive) {
        warnings.push(
            `the Flux objects were not checked against the CRDs Flux ${input.catalog.flux.version} installs: its chart ${chartLabel(chart)} is not in ${input.charts.cacheDir}; crossborder charts pull fetches it`,
        );
        return undefined;
    }
    const label = `${chart.name} ${chart.version} (Flux ${input.catalog.flux.version})`;
    const key = cacheKey({ stage: "flux-crds", chart: archive.sha256, helm: (await helm()).version });
    let crds = ctx.cache.get<Doc[]>(key);
    if (!crds) {
        crds = await installedFluxCrdDocs({ file: archive.file, label }, fluxValues(new Map()));
        ctx.cache.set(key, crds);
    }
    if (!crds.some((c) => /\.toolkit\.fluxcd\.io$/.test(String(c?.spec?.group)))) {
        warnings.push(
            `the Flux objects were not checked against the CRDs Flux ${input.catalog.flux.version} installs: its chart ${chartLabel(chart)} renders no Flux CRDs (installed some other way?)`,
        );
        return undefined;
    }
    const passed = passedSchemas(key, crdSchemas(crds, label), ctx.cache);
    const problems = fluxSchemaProblems(objects, passed.schemas);
    if (problems.length) throw new RenderFindings(problems);
    passed.save();
    return label;
}

/** The images a release's chart declares in its Chart.yaml, kept in the render cache by the chart's sha256. */
function chartDeclaredImages(
    release: Release,
    chart: ResolvedChart | undefined,
    cache: RenderCache,
): readonly { readonly annotation: string; readonly image: string }[] {
    if (chart?.kind !== "archive" && chart?.kind !== "local") return [];
    const key = cacheKey({
        stage: "declared-images",
        chart: chart.kind === "archive" ? chart.archive.sha256 : chart.sha256,
    });
    const cached = cache.get<{ annotation: string; image: string }[]>(key, false);
    if (Array.isArray(cached)) return cached;
    try {
        const read =
            chart.kind === "archive"
                ? readChartArchive(chart.archive.file)
                : readChartDirectory(localChartFiles(release.chart as LocalChart), chart.dir);
        const declared = declaredImages(read);
        cache.set(key, declared);
        return declared;
    } catch {
        return []; // an unreadable chart fails its render, which says so
    }
}

/**
 * `schemas`, remembering the objects they found valid (by the digest of each object) in one checked record
 * of the render cache per set of CRDs: an object that passed these very CRDs before is not validated again.
 */
function passedSchemas(crdsKey: string, schemas: CrdSchemas, cache: RenderCache) {
    // What decides validity besides the CRDs: the validator, and how gitops/engine/flux-crds.ts reads a schema.
    const key = cacheKey({
        stage: "flux-schema-passed",
        crds: crdsKey,
        ajv: (require("ajv/package.json") as { version: string }).version,
        check: SCHEMA_CHECK_FORMAT,
    });
    const before = cache.get<unknown>(key, false);
    const known = new Set(Array.isArray(before) ? before.filter((x) => typeof x === "string") : []);
    const passed = new Set<string>();
    const digest = (doc: Doc) => createHash("sha256").update(stableJson(doc)).digest("base64url");
    return {
        schemas: {
            ...schemas,
            validate(doc: Doc) {
                const d = digest(doc);
                if (known.has(d)) {
                    passed.add(d);
                    return [];
                }
                const errors = schemas.validate(doc);
                if (errors?.length === 0) passed.add(d);
                return errors;
            },
        } satisfies CrdSchemas,
        save: () => {
            if (passed.size !== known.size || [...passed].some((d) => !known.has(d)))
                cache.set(key, [...passed].sort());
        },
    };
}

/**
 * Images the china releases' operators pull at runtime: the catalog's runtimeImages, and those the charts
 * declare in their Chart.yaml (artifacthub.io/images, helm.sh/images). Copied and verified like rendered ones.
 */
function declareRuntimeImages(
    input: RenderInput,
    cluster: ClusterName,
    charts: ReadonlyMap<string, ResolvedChart>,
    inventory: InventoryBuilder,
    warnings: string[],
    cache: RenderCache,
): void {
    for (const r of input.catalog.releases.filter((x) => x.clusters.includes(cluster))) {
        const declared: { image: string; where: string }[] = r.runtimeImages.map((image) => ({
            image,
            where: `release ${r.name} runtimeImages (${r.at})`,
        }));
        for (const d of chartDeclaredImages(r, charts.get(r.name), cache))
            declared.push({ image: d.image, where: `release ${r.name}: its chart's ${d.annotation} annotation` });
        for (const d of declared) {
            const upstream = tryParseImage(d.image);
            if (!upstream) {
                warnings.push(`${d.where}: "${d.image}" is not an image reference; it is not copied`);
                continue;
            }
            if (isChinaHost(input.mirrors, upstream.domain)) continue;
            try {
                inventory.declare({
                    upstream,
                    china: rewriteReference(input.mirrors, upstream),
                    where: d.where,
                    container: false,
                });
            } catch (e) {
                warnings.push(`${d.where}: ${(e as Error).message}`);
            }
        }
    }
}
