/** `crossborder charts pull`: every catalog chart at its exact version into the chart cache, sha256 locked. */
import { DEFAULT_CATALOG_FILE, isLocalChart, loadCatalog } from "../gitops/catalog";
import { addCharts, ChartRef, chartLabel, defaultChartCache, lockFileFor, pullCharts } from "../gitops/engine/charts";

export interface ChartsPullOptions {
    readonly catalog?: string;
    readonly charts?: string;
    readonly update?: boolean;
    readonly plainHttp?: boolean;
}

export async function runChartsPull(opts: ChartsPullOptions): Promise<string> {
    const catalog = loadCatalog(opts.catalog ?? DEFAULT_CATALOG_FILE);
    const refs: ChartRef[] = [
        ...catalog.releases.flatMap((r) => (isLocalChart(r.chart) ? [] : [r.chart])),
        catalog.fluxChart,
    ];
    const cacheDir = opts.charts ?? defaultChartCache();
    const result = await pullCharts(refs, {
        cacheDir,
        lockFile: lockFileFor(catalog.file),
        update: opts.update,
        plainHttp: opts.plainHttp,
    });
    return [
        ...result.pulled.map((e) => `pulled  ${chartLabel(e)}  sha256:${e.sha256}`),
        ...result.cached.map((e) => `cached  ${chartLabel(e)}  sha256:${e.sha256}`),
        `${result.pulled.length + result.cached.length} chart(s) in ${cacheDir}; ${result.lockChanged ? "wrote" : "unchanged:"} ${result.lockFile}`,
    ].join("\n");
}

export interface ChartsAddOptions {
    readonly archives: readonly string[];
    readonly catalog?: string;
    readonly charts?: string;
    readonly repository?: string;
    readonly update?: boolean;
}

/** `crossborder charts add ARCHIVE…`: archives carried in by hand, into the cache and the lock, offline. */
export function runChartsAdd(opts: ChartsAddOptions): string {
    const catalog = loadCatalog(opts.catalog ?? DEFAULT_CATALOG_FILE);
    const refs: ChartRef[] = [
        ...catalog.releases.flatMap((r) => (isLocalChart(r.chart) ? [] : [r.chart])),
        catalog.fluxChart,
    ];
    const cacheDir = opts.charts ?? defaultChartCache();
    const result = addCharts(opts.archives, refs, {
        cacheDir,
        lockFile: lockFileFor(catalog.file),
        repository: opts.repository,
        update: opts.update,
    });
    return [
        ...result.added.map((e) => `added   ${chartLabel(e)}  sha256:${e.sha256}`),
        `${result.added.length} chart(s) placed in ${cacheDir}; wrote ${result.lockFile}`,
    ].join("\n");
}
