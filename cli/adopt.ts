/** `crossborder adopt`: read the fleet, adopt one cluster for China, write the result beside the fleet's files. */
import * as fs from "fs";
import * as path from "path";
import { adoptFleet } from "../gitops/adopt";
import { DEFAULT_CATALOG_FILE, loadCatalog } from "../gitops/catalog";
import { RenderCache } from "../gitops/engine/cache";
import { defaultChartCache } from "../gitops/engine/charts";
import { writeTree } from "../gitops/writer";
import { SourceError } from "../core/yaml-source";
import { ContextOptions, renderContext } from "../stacks/gitops-inputs";
import { sourcePath } from "../gitops/audit/flux";
import { REGISTRY_PULL_SECRET } from "../core/mirrors";

export interface AdoptOptions extends ContextOptions {
    readonly fleet: string;
    readonly from: string;
    readonly cluster?: string;
    readonly charts?: string;
    readonly chartArchives?: string;
    readonly catalog?: string;
    readonly noCache?: boolean;
}

const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Files below <fleet>/<cluster>/ that crossborder's writer does not own. */
function foreignFiles(fleet: string, cluster: string): string[] {
    const dir = path.join(fleet, cluster);
    if (!fs.existsSync(dir)) return [];
    const manifest = path.join(fleet, ".crossborder", "manifest.json");
    let owned = new Set<string>();
    try {
        owned = new Set(Object.keys(JSON.parse(fs.readFileSync(manifest, "utf8")).files ?? {}));
    } catch {
        // no manifest (or an unreadable one, which the writer names): nothing there is crossborder's
    }
    const out: string[] = [];
    const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(fleet, rel), { withFileTypes: true })) {
            const p = `${rel}/${e.name}`;
            if (e.isDirectory()) walk(p);
            else if (!owned.has(p)) out.push(p);
        }
    };
    walk(cluster);
    return out.sort();
}

export async function runAdopt(opts: AdoptOptions): Promise<{ text: string; code: number }> {
    const fleet = path.resolve(opts.fleet);
    if (!fs.existsSync(fleet) || !fs.statSync(fleet).isDirectory())
        throw new SourceError(`${opts.fleet}: not a directory; pass the root of the fleet repository`);
    const from = sourcePath(opts.from);
    if (
        from === undefined ||
        !from ||
        !fs.existsSync(path.join(fleet, from)) ||
        !fs.statSync(path.join(fleet, from)).isDirectory()
    )
        throw new SourceError(
            `--from ${opts.from}: not a folder of ${opts.fleet}; give the path of the cluster to adopt inside the fleet, e.g. clusters/production`,
        );
    if (opts.chartArchives && !(fs.existsSync(opts.chartArchives) && fs.statSync(opts.chartArchives).isDirectory()))
        throw new SourceError(
            `--chart-archives ${opts.chartArchives}: not a directory; give a folder of chart archives (.tgz)`,
        );
    const name = opts.cluster ?? "china";
    if (!NAME.test(name))
        throw new SourceError(
            `--cluster ${name}: a cluster name is lowercase letters, digits and "-" (it names clusters/<name>)`,
        );
    if (["clusters", "inventory"].includes(name))
        throw new SourceError(
            `--cluster ${name}: adopt writes clusters/${name}/ and ${name}/ overlays beside clusters/ and inventory/, so a cluster cannot be named ${name}; choose another name, e.g. china`,
        );
    if (from === `clusters/${name}`)
        throw new SourceError(
            `--from ${opts.from} is the cluster adopt would write (--cluster ${name}); adopt another cluster`,
        );
    const foreign = foreignFiles(fleet, name);
    if (foreign.length)
        throw new SourceError(
            `${path.join(opts.fleet, name)}/ holds files of the fleet's own (${foreign.slice(0, 3).join(", ")}${foreign.length > 3 ? ", ..." : ""}); adopt writes the ${name} cluster's overlays there, where a Kustomization of the fleet could pick them up: choose another --cluster, or move that folder`,
        );
    const ctx = renderContext(opts);
    const china = ctx.clusters.find((c) => c.china);
    if (!china) throw new SourceError("the stacks name no china cluster; adopt writes the china cluster's side");
    const catalog = loadCatalog(opts.catalog ?? DEFAULT_CATALOG_FILE);
    const out = await adoptFleet({
        fleet,
        from,
        cluster: { ...china, name: name as typeof china.name },
        mirrors: ctx.mirrors,
        vars: ctx.vars,
        originRegistry: ctx.originRegistry,
        flux: catalog.flux,
        chartCache: opts.charts ?? defaultChartCache(),
        chartArchives: opts.chartArchives,
        engine: { cache: new RenderCache(undefined, !opts.noCache) },
    });
    const written = writeTree(fleet, out.files, {
        intoRepository: true,
        conflictFix: `adopt writes only clusters/${name}/, ${name}/ and inventory/ of the fleet and never overwrites its files: move those out of the way (or choose another --cluster) and adopt again`,
    });
    const lines = [
        written.unchanged
            ? `${opts.fleet}: the ${name} cluster is up to date (${out.files.size} files)`
            : `${opts.fleet}: the ${name} cluster adopted from ${from}: ${out.files.size} files (${written.written.length} written, ${written.removed.length} removed)`,
        `releases: ${out.releases.length} rendered and proven on the Helm engine${out.releases.length ? ` (${out.releases.map((r) => `${r.name} ${r.chart}`).join(", ")})` : ""}`,
        `inventory: ${out.inventory.images.length} images, ${out.inventory.charts.length} charts to copy into the origin registry (inventory/)`,
        ...(out.pullSecretNamespaces.length
            ? [
                  `pull Secret: the chart sources name ${REGISTRY_PULL_SECRET}, which the china stack creates in these namespaces once they are in its config:`,
                  ...out.pullSecretNamespaces.map(
                      (n, i) =>
                          `  pulumi config set --path 'crossborder:gitops.pullSecretNamespaces[${i}]' ${n} -s china`,
                  ),
              ]
            : []),
        ...out.warnings.map((w) => `warning: ${w}`),
        ...out.problems.map((p) => `NOT ADOPTED: ${p}`),
        out.problems.length
            ? `${out.problems.length} part(s) could not be adopted: they stay as the fleet has them, and crossborder audit fails on them`
            : `next: crossborder audit ${opts.fleet} --strict --lock ${path.join(opts.fleet, "inventory", "charts.lock")}${opts.charts ? ` --charts ${opts.charts}` : ""}`,
    ];
    return { text: lines.join("\n"), code: out.problems.length ? 1 : 0 };
}
