/**
 * `crossborder render` and `crossborder audit`.
 */
import * as fs from "fs";
import { AuditReport, auditTree, verdict, Verdict } from "../gitops/audit";
import { DEFAULT_CATALOG_FILE, isLocalChart, loadCatalog } from "../gitops/catalog";
import { ContextOptions, loadMirrorsFor, renderContext, StackSources } from "../stacks/gitops-inputs";
import {
    archivePath,
    ChartCacheError,
    ChartLock,
    chartLabel,
    defaultChartCache,
    lockedArchive,
    lockFileFor,
    readLock,
} from "../gitops/engine/charts";
import { CrdSchemas, crdSchemas, installedFluxCrdDocs } from "../gitops/engine/flux-crds";
import { FLUX_RELEASES, fluxRelease, FluxRelease, fluxValues } from "../core/flux-releases";
import { UsageError } from "./util";
import { helm } from "../gitops/engine/helm";
import { RenderCache } from "../gitops/engine/cache";
import { renderTree } from "../gitops/render";
import { resolveCharts } from "../gitops/render/scan";
import { writeTree } from "../gitops/writer";
import { SourceError } from "../core/yaml-source";

export interface RenderOptions extends ContextOptions {
    readonly catalog?: string;
    readonly out: string;
    readonly force?: boolean;
    /** Leave the china cluster's sources and images upstream (to audit the difference). */
    readonly noRewrite?: boolean;
    /** The chart cache. @default the user's cache (see gitops/engine/paths.ts) */
    readonly charts?: string;
    /** Refuse to render a release whose chart archive is not in the cache. @default false */
    readonly strict?: boolean;
    /** Ignore and do not write the render cache. @default false */
    readonly noCache?: boolean;
}

export interface RenderSummary {
    readonly files: number;
    readonly written: number;
    readonly removed: number;
    readonly unchanged: boolean;
    readonly rendered: readonly string[];
    readonly unrendered: readonly string[];
    readonly images: number;
    readonly charts: number;
    readonly engine: string;
    readonly lines: string[];
}

export async function runRender(opts: RenderOptions): Promise<string> {
    return (await renderSummary(opts)).lines.join("\n");
}

export async function renderSummary(opts: RenderOptions): Promise<RenderSummary> {
    const catalog = loadCatalog(opts.catalog ?? DEFAULT_CATALOG_FILE);
    const charts = { cacheDir: opts.charts ?? defaultChartCache(), lock: readLock(lockFileFor(catalog.file)) };
    if (opts.strict) {
        const resolved = resolveCharts(catalog, charts);
        const missing = catalog.releases.filter((r) => resolved.get(r.name)?.kind === "missing");
        if (missing.length) {
            throw new ChartCacheError(
                `--strict: no chart archive for ${missing.map((r) => `${r.name} (${isLocalChart(r.chart) ? r.chart.path : `${chartLabel(r.chart)}, expected at ${archivePath(charts.cacheDir, r.chart)}`})`).join("; ")}; fetch them with: crossborder charts pull --catalog ${catalog.file}${opts.charts ? ` --charts ${opts.charts}` : ""}`,
            );
        }
    }
    const result = await renderTree({
        catalog,
        ...renderContext(opts),
        rewrite: !opts.noRewrite,
        charts,
        engine: { cache: new RenderCache(undefined, !opts.noCache) },
    });
    const written = writeTree(opts.out, result.files, { force: opts.force });
    const engine = result.rendered.length ? `helm ${(await helm()).version}` : "helm";
    const lines = [
        written.unchanged
            ? `${opts.out}: already up to date (${result.files.size} files)`
            : `${opts.out}: ${result.files.size} files (${written.written.length} written, ${written.removed.length} removed)`,
        `engine: ${result.rendered.length} release(s) rendered on ${engine}, ${result.unrendered.length} not rendered (render cache: ${result.cache.hits} hits, ${result.cache.misses} misses)`,
        `inventory: ${result.inventory.images.length} images, ${result.inventory.charts.length} charts to copy into the origin registry (inventory/)`,
        ...result.warnings.map((w) => `warning: ${w}`),
    ];
    return {
        files: result.files.size,
        written: written.written.length,
        removed: written.removed.length,
        unchanged: written.unchanged,
        rendered: result.rendered,
        unrendered: result.unrendered,
        images: result.inventory.images.length,
        charts: result.inventory.charts.length,
        engine,
        lines,
    };
}

export interface AuditOptions extends ContextOptions {
    readonly dir: string;
    readonly json?: boolean;
    /** Every image and source, not only what is wrong. @default false */
    readonly verbose?: boolean;
    /** Clusters that must pull nothing from outside China. @default ["china"] */
    readonly chinaClusters?: readonly string[];
    /** Attribute files no cluster reaches to this cluster. */
    readonly assumeCluster?: string;
    /** The chart cache HelmReleases are rendered from. @default the user's chart cache */
    readonly charts?: string;
    /** A china HelmRelease that cannot be rendered is a finding. @default false */
    readonly strict?: boolean;
    /** Judge HelmReleases on their values only. @default false */
    readonly noRender?: boolean;
    /** The catalog whose lock identifies chart archives and whose flux.version the clusters run. @default gitops/catalog.yaml */
    readonly catalog?: string;
    /** Judge as this Flux release instead of the catalog's. */
    readonly fluxVersion?: string;
    /** A chart lock to identify chart archives by instead of the catalog's (an adopted fleet's inventory/charts.lock). */
    readonly lock?: string;
}

/** What the audit needs from the catalog: the chart lock, the Flux release, and that Flux's installed CRDs. */
async function auditFlux(
    opts: AuditOptions,
): Promise<{ lock?: ChartLock; flux: FluxRelease; fluxSchemas?: CrdSchemas }> {
    const catalog = loadCatalog(opts.catalog ?? DEFAULT_CATALOG_FILE);
    if (opts.lock !== undefined && !fs.existsSync(opts.lock))
        throw new SourceError(
            `--lock ${opts.lock}: no such file; give the chart lock the tree's charts are identified by (crossborder adopt writes inventory/charts.lock)`,
        );
    const lock = readLock(opts.lock ?? lockFileFor(catalog.file));
    // The Flux chart's archive is locked by the catalog, whatever lock identifies the tree's charts.
    const catalogLock = opts.lock === undefined ? lock : readLock(lockFileFor(catalog.file));
    let flux = catalog.flux;
    if (opts.fluxVersion !== undefined) {
        const found = fluxRelease(opts.fluxVersion);
        if (!found)
            throw new UsageError(
                `audit: --flux-version ${opts.fluxVersion} is not a Flux release crossborder knows; use one of ${FLUX_RELEASES.map((r) => r.version).join(", ")}`,
            );
        flux = found;
    }
    const archive = lockedArchive(opts.charts ?? defaultChartCache(), catalogLock, catalog.fluxChart);
    if (!archive) return { lock, flux };
    const label = `${catalog.fluxChart.name} ${catalog.fluxChart.version}`;
    const crds = await installedFluxCrdDocs({ file: archive.file, label }, fluxValues(new Map()));
    if (!crds.some((c) => /\.toolkit\.fluxcd\.io$/.test(String(c?.spec?.group)))) return { lock, flux };
    return { lock, flux, fluxSchemas: crdSchemas(crds, label) };
}

/** Each stack's Kubernetes version, where the stack files can be read (helm template --kube-version). */
function kubeVersions(opts: ContextOptions): Record<string, string> {
    const src = new StackSources(opts);
    const out: Record<string, string> = {};
    for (const side of ["global", "china"] as const) {
        try {
            out[side] = src.config(side).cluster.kubernetesVersion;
        } catch {
            // An audit of a tree from elsewhere: helm's default Kubernetes version.
        }
    }
    return out;
}

export async function runAudit(
    opts: AuditOptions,
): Promise<{ text: string; code: number; report: AuditReport; verdict: Verdict }> {
    if (!fs.existsSync(opts.dir) || !fs.statSync(opts.dir).isDirectory())
        throw new SourceError(`${opts.dir}: not a directory; pass the root of a Kubernetes/Flux tree`);
    const mirrors = loadMirrorsFor(opts);
    const report = await auditTree(opts.dir, {
        ...(await auditFlux(opts)),
        // --strict trusts no cached render: a record cannot be verified without rendering again.
        trustCache: !opts.strict,
        mirrors,
        chinaClusters: opts.chinaClusters,
        assumeCluster: opts.assumeCluster,
        chartCache: opts.charts,
        render: !opts.noRender,
        kubeVersions: kubeVersions(opts),
    });
    const v = verdict(report, Boolean(opts.strict));
    return {
        text: opts.json
            ? JSON.stringify({ ...report, verdict: v }, null, 2)
            : auditText(report, v, Boolean(opts.verbose)),
        code: v.code,
        report,
        verdict: v,
    };
}

function auditText(report: AuditReport, v: Verdict, verbose: boolean): string {
    const lines: string[] = [`border audit of ${report.root}`];
    for (const c of report.clusters) {
        const rendered = c.releases.filter((r) => r.rendered).length;
        lines.push(
            `cluster ${c.name}${c.china ? " (must pull only from inside China)" : ""}: ${c.files} files, ${c.objects} objects, ${c.images.length} image references, ${c.sources.length} sources, ${rendered}/${c.releases.length} HelmReleases rendered; ${c.china ? `${c.crossBorder} cross-border or unreadable` : `${c.crossBorder} pulled from outside China, as a cluster outside China does`}`,
        );
        const mark = (inChina: boolean) =>
            inChina ? "  in-China     " : c.china ? "  CROSS-BORDER " : "  outside      ";
        for (const i of c.images)
            if (verbose || (c.china && !i.inChina))
                lines.push(`${mark(i.inChina)} image  ${i.reference}   (${i.file}: ${i.where})`);
        for (const s of c.sources)
            if (verbose || (c.china && !s.inChina))
                lines.push(
                    `${mark(s.inChina)} ${s.kind}  ${s.url}   (${s.file}: ${s.name})${s.problem ? `: ${s.problem}` : ""}`,
                );
        for (const r of c.releases)
            if (!r.rendered && (verbose || c.china)) lines.push(`  not rendered  ${r.name}: ${r.reason}`);
        for (const p of c.problems) lines.push(`  ${c.china ? "UNREADABLE   " : "not followed "} ${p}`);
    }
    for (const p of report.problems) lines.push(`  PROBLEM       ${p}`);
    lines.push(v.summary);
    return lines.join("\n");
}
