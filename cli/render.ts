/**
 * `crossborder render` and `crossborder audit`.
 */
import * as path from "path";
import { audit, AuditReport, ClusterReport, isCrossBorder, readTree } from "../gitops/audit";
import { DEFAULT_CATALOG_FILE, loadCatalog } from "../gitops/catalog";
import { ContextOptions, loadMirrorsFor, renderContext } from "../gitops/context";
import { renderTree } from "../gitops/tree";
import { writeTree } from "../gitops/writer";
import { SourceError } from "../gitops/yaml-source";
import * as fs from "fs";

export interface RenderOptions extends ContextOptions {
    readonly catalog?: string;
    readonly out: string;
    readonly force?: boolean;
    /** Leave the china cluster's sources and images upstream (to audit the difference). */
    readonly noRewrite?: boolean;
}

export function runRender(opts: RenderOptions): string {
    const catalog = loadCatalog(opts.catalog ?? DEFAULT_CATALOG_FILE);
    const result = renderTree({ catalog, ...renderContext(opts), rewrite: !opts.noRewrite });
    const written = writeTree(opts.out, result.files, { force: opts.force });
    const lines = [
        written.unchanged ? `${opts.out}: already up to date (${result.files.size} files)` : `${opts.out}: ${result.files.size} files (${written.written.length} written, ${written.removed.length} removed)`,
        `inventory: ${result.inventory.images.length} images, ${result.inventory.charts.length} charts to copy into the origin registry (inventory/)`,
        ...result.warnings.map((w) => `warning: ${w}`),
    ];
    return lines.join("\n");
}

export interface AuditOptions extends ContextOptions {
    readonly dir: string;
    readonly json?: boolean;
    /** Clusters that must pull nothing from outside China. @default ["china"] */
    readonly chinaClusters?: readonly string[];
    /** Attribute files no cluster reaches to this cluster. */
    readonly assumeCluster?: string;
}

export function runAudit(opts: AuditOptions): { text: string; code: number } {
    if (!fs.existsSync(opts.dir) || !fs.statSync(opts.dir).isDirectory()) throw new SourceError(`${opts.dir}: not a directory; pass the root of a Kubernetes/Flux tree`);
    const mirrors = loadMirrorsFor(opts);
    const report = audit(readTree(opts.dir), mirrors, { assumeCluster: opts.assumeCluster });
    const china = opts.chinaClusters ?? ["china"];
    const code = isCrossBorder(report, china) ? 1 : 0;
    return { text: opts.json ? JSON.stringify(auditJson(report), null, 2) : auditText(report, china, opts.dir), code };
}

function clusterJson(c: ClusterReport) {
    return { crossBorder: c.crossBorder, images: c.images, sources: c.sources };
}

export function auditJson(report: AuditReport) {
    return {
        clusters: Object.fromEntries([...report.clusters].map(([k, v]) => [k, clusterJson(v)])),
        unassigned: clusterJson(report.unassigned),
        warnings: report.warnings,
    };
}

function auditText(report: AuditReport, china: readonly string[], dir: string): string {
    const lines: string[] = [`border audit of ${path.resolve(dir)}`];
    const section = (name: string, c: ClusterReport) => {
        const strict = china.includes(name);
        lines.push("", `cluster ${name}${strict ? " (must pull only from inside China)" : ""}: ${c.images.length} image references, ${c.sources.length} sources, ${c.crossBorder} ${strict ? "cross-border" : "outside China"}`);
        const mark = (inChina: boolean) => (inChina ? "  in-China      " : strict ? "  CROSS-BORDER  " : "  outside China ");
        for (const i of [...c.images].sort((a, b) => (a.reference < b.reference ? -1 : 1))) lines.push(`${mark(i.inChina)} image  ${i.reference}   (${i.file}: ${i.where})`);
        for (const s of c.sources) lines.push(`${mark(s.inChina)} ${s.kind}  ${s.url}   (${s.file}: ${s.name})`);
    };
    for (const [name, c] of report.clusters) section(name, c);
    if (report.unassigned.images.length + report.unassigned.sources.length > 0) section("(files no cluster reaches)", report.unassigned);
    for (const w of report.warnings) lines.push(`warning: ${w}`);
    const bad = china.filter((c) => (report.clusters.get(c)?.crossBorder ?? 0) > 0);
    lines.push("", bad.length ? `FAIL: ${bad.map((c) => `${c} has ${report.clusters.get(c)!.crossBorder} cross-border reference(s)`).join("; ")}` : `OK: ${china.filter((c) => report.clusters.has(c)).join(", ") || "no china cluster found"} pulls nothing from outside China`);
    return lines.join("\n");
}
