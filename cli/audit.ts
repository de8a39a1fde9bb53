/**
 * `crossborder audit`: the border audit of a tree, judged as the catalog's Flux and its installed CRDs run it.
 */
import * as fs from "fs";
import { AuditReport, auditTree, verdict, Verdict } from "../gitops/audit";
import { DEFAULT_CATALOG_FILE, loadCatalog } from "../gitops/catalog";
import { ContextOptions, loadMirrorsFor, StackSources } from "../stacks/gitops-inputs";
import { ChartLock, defaultChartCache, lockedArchive, lockFileFor, readLock } from "../gitops/engine/charts";
import { CrdSchemas, crdSchemas, installedFluxCrdDocs } from "../gitops/engine/flux-crds";
import { FLUX_RELEASES, fluxRelease, FluxRelease, fluxValues } from "../core/flux-releases";
import { UsageError } from "./util";
import { SourceError } from "../core/yaml-source";

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
