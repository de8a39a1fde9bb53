/**
 * `crossborder render`. The audit (cli/audit.ts) is a module of its own, so that a render does not load it.
 */
import { DEFAULT_CATALOG_FILE, isLocalChart, loadCatalog } from "../gitops/catalog";
import { ContextOptions, renderContext } from "../stacks/gitops-inputs";
import {
    archivePath,
    ChartCacheError,
    chartLabel,
    defaultChartCache,
    lockFileFor,
    readLock,
} from "../gitops/engine/charts";
import { helm } from "../gitops/engine/helm";
import { RenderCache } from "../gitops/engine/cache";
import { renderTree } from "../gitops/render";
import { resolveCharts } from "../gitops/render/scan";
import { writeTree } from "../gitops/writer";

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
