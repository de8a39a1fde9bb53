/**
 * Fixtures for tests that run the real engines: a render context for the example stacks, isolated caches,
 * the corpus chart archives installed into a chart cache as `crossborder charts pull` would leave them,
 * and small charts written by the tests themselves.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { Catalog, parseCatalog } from "../gitops/catalog";
import { clusterSettings, mirrorVars, originRegistry } from "../stacks/gitops-inputs";
import { RenderCache } from "../gitops/engine/cache";
import { archivePath, ChartRef, lockText, readLock, sha256File } from "../gitops/engine/charts";
import { locateTool } from "../gitops/engine/tools";
import { DEFAULT_MIRRORS_FILE, loadMirrors, Mirrors, parseMirrors } from "../core/mirrors";
import { renderTree, RenderOutput } from "../gitops/render";
import { corpusFile } from "./corpus";
import { ROOT, tempDir } from "./helpers";

export const STACKS = path.join(ROOT, "stacks");
export const vars = mirrorVars({ stacksDir: STACKS });
export const mirrors = loadMirrors(DEFAULT_MIRRORS_FILE, vars);
export const clusters = clusterSettings({ stacksDir: STACKS });
export const origin = originRegistry({ stacksDir: STACKS });

/** A render on the engine with its own caches. */
export async function renderCatalog(
    catalog: Catalog,
    opts: { chartCache?: string; rewrite?: boolean; cache?: RenderCache; mirrors?: Mirrors } = {},
): Promise<RenderOutput> {
    const chartCache = opts.chartCache ?? tempDir("charts");
    return renderTree({
        catalog,
        mirrors: opts.mirrors ?? mirrors,
        vars,
        originRegistry: origin,
        clusters,
        rewrite: opts.rewrite ?? true,
        charts: {
            cacheDir: chartCache,
            lock: readLock(
                path.join(path.dirname(catalog.file), `${path.basename(catalog.file).replace(/\.ya?ml$/, "")}.lock`),
            ),
        },
        engine: { cache: opts.cache ?? new RenderCache(path.join(tempDir("renders"), "r")) },
    });
}

export function renderText(
    text: string,
    file: string,
    opts: Parameters<typeof renderCatalog>[1] = {},
): Promise<RenderOutput> {
    return renderCatalog(parseCatalog(text, file), opts);
}

/** Values the corpus charts need to render at all (they have no default for these). */
export const CORPUS_VALUES: Record<string, Record<string, unknown>> = {
    "aws-load-balancer-controller": { clusterName: "test" },
    "external-dns": { policy: "upsert-only" },
};

export interface CorpusSetup {
    readonly dir: string;
    readonly catalogFile: string;
    readonly chartCache: string;
    readonly charts: { name: string; ref: ChartRef; archive: string }[];
}

/**
 * The corpus chart archives as a catalog: each chart on both clusters, its archive in a chart cache and
 * its sha256 in the lock beside the catalog, as `crossborder charts pull` leaves them.
 */
export function corpusSetup(
    opts: { releases?: (name: string, ref: ChartRef) => Record<string, unknown> } = {},
): CorpusSetup {
    const dir = tempDir("corpus");
    const chartCache = path.join(dir, "charts");
    const chartsDir = corpusFile("charts");
    const charts = fs
        .readdirSync(chartsDir)
        .sort()
        .map((name) => {
            const tgz = fs.readdirSync(path.join(chartsDir, name)).find((f) => f.endsWith(".tgz"))!;
            const ref: ChartRef = {
                repository: `https://charts.example.com/${name}`,
                name,
                version: tgz.slice(name.length + 1, -".tgz".length),
            };
            const archive = archivePath(chartCache, ref);
            fs.mkdirSync(path.dirname(archive), { recursive: true });
            fs.copyFileSync(path.join(chartsDir, name, tgz), archive);
            return { name, ref, archive };
        });
    const releases = charts.map(
        ({ name, ref }) =>
            opts.releases?.(name, ref) ?? {
                name,
                namespace: name,
                group: "apps",
                chart: ref,
                values: CORPUS_VALUES[name] ?? {},
            },
    );
    const catalogFile = path.join(dir, "catalog.yaml");
    // The flux2 chart the bootstrap installs is the corpus one too: two flux2 charts would share a repository.
    const flux = charts.find((c) => c.name === "flux2")!.ref;
    fs.writeFileSync(catalogFile, stringify({ version: 1, flux: { chart: flux }, releases }, { lineWidth: 0 }));
    fs.writeFileSync(
        path.join(dir, "catalog.lock"),
        lockText(charts.map((c) => ({ ...c.ref, sha256: sha256File(c.archive) }))),
    );
    return { dir, catalogFile, chartCache, charts };
}

/** Write a chart directory: `files` maps paths inside it to their text. */
export function writeChart(dir: string, name: string, files: Record<string, string>, version = "0.1.0"): string {
    const chart = path.join(dir, name);
    fs.mkdirSync(path.join(chart, "templates"), { recursive: true });
    fs.writeFileSync(
        path.join(chart, "Chart.yaml"),
        `apiVersion: v2\nname: ${name}\nversion: ${version}\nappVersion: "1.0.0"\n`,
    );
    if (!files["values.yaml"]) fs.writeFileSync(path.join(chart, "values.yaml"), "{}\n");
    for (const [p, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(chart, p)), { recursive: true });
        fs.writeFileSync(path.join(chart, p), text);
    }
    return chart;
}

/** `helm package` a chart directory into `dest` (the real packager), returning the archive. */
export function packageChart(chartDir: string, dest: string): string {
    fs.mkdirSync(dest, { recursive: true });
    const r = spawnSync(locateTool("helm"), ["package", chartDir, "--destination", dest], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`helm package ${chartDir}: ${r.stderr}`);
    return path.join(dest, r.stdout.trim().split(/\s+/).pop()!.split("/").pop()!);
}

/** Plain `helm template` of an archive with values (the baseline global must equal). */
export function helmTemplate(
    archive: string,
    release: string,
    namespace: string,
    values: unknown,
    kubeVersion?: string,
): string {
    const args = [
        "template",
        release,
        archive,
        "--namespace",
        namespace,
        "--values",
        "-",
        ...(kubeVersion ? ["--kube-version", kubeVersion] : []),
    ];
    const r = spawnSync(locateTool("helm"), args, {
        encoding: "utf8",
        input: JSON.stringify(values),
        maxBuffer: 256 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`helm template ${archive}: ${r.stderr}`);
    return r.stdout;
}

/** The shipped mirrors file with a `prefixes:` section added (YAML lines under it). */
export function mirrorsWithPrefixes(lines: readonly string[]): Mirrors {
    const text = `${fs.readFileSync(DEFAULT_MIRRORS_FILE, "utf8")}\nprefixes:\n${lines.map((l) => `  ${l}`).join("\n")}\n`;
    return parseMirrors(text, DEFAULT_MIRRORS_FILE, vars);
}
