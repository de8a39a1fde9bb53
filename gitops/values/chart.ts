/**
 * Helm chart archives (.tgz): the chart's own values and those of its bundled dependency charts, so that
 * images set only in a dependency's defaults are found too.
 *
 * How dependency images are handled: Helm renders a dependency with its own values.yaml merged under the
 * parent's `values[<alias or name>]`, and with the parent's `global` merged over its own. crossborder
 * builds the same effective values for every chart under `charts/` (directories or nested .tgz, to any
 * depth), scans them, and places the findings and overrides under `<alias>.` in the parent's values,
 * exactly where a HelmRelease must set them. Without the archive only the parent's values.yaml can be
 * scanned; the HelmRelease's kustomize post-renderer still rewrites images that come from templates.
 */
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { Parser } from "tar";
import { coalesceValues, FoundImage, scanValues, ScanResult, ValuesPath } from "./scan";
import { parseYaml, SourceError } from "../../core/yaml-source";
import { Doc } from "../objects/manifests";

export interface Chart {
    readonly name: string;
    readonly version: string;
    readonly appVersion?: string;
    /** Chart.yaml annotations (`artifacthub.io/images`, `helm.sh/images`: the images the chart says it uses). */
    readonly annotations: Readonly<Record<string, string>>;
    readonly values: unknown;
    /** Bundled dependency charts by the key their values live under (alias or name). */
    readonly dependencies: ReadonlyMap<string, Chart>;
}

type Files = Map<string, Buffer>;

/** A chart archive expands to at most this much, nested dependency archives included. */
export const MAX_CHART_BYTES = 64 * 1024 * 1024;
/** …and to at most this many times its compressed size: more is a decompression bomb, not a chart. */
export const MAX_EXPANSION = 200;

interface Budget {
    left: number;
}

/** gunzip with a bound on the output, decided before it is produced (zlib stops at the limit). */
function gunzipBounded(buffer: Buffer, what: string, budget: Budget): Buffer {
    const limit = Math.min(budget.left, Math.max(buffer.length * MAX_EXPANSION, 1024 * 1024));
    let out: Buffer;
    try {
        out = zlib.gunzipSync(buffer, { maxOutputLength: limit });
    } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
            throw new SourceError(
                `${what}: expands to more than ${limit} bytes from ${buffer.length} (at most ${MAX_EXPANSION} times its size, and ${MAX_CHART_BYTES} in all): a decompression bomb, not a chart; pass a .tgz made by helm package`,
            );
        }
        throw new SourceError(
            `${what}: byte ${corruptAt(buffer, limit)} of ${buffer.length}: not a gzip-compressed chart archive (${err.message}); pass a .tgz made by helm package`,
        );
    }
    budget.left -= out.length;
    return out;
}

/**
 * Where a damaged gzip stream goes wrong: the shortest prefix that fails with anything but "more input
 * expected" (found by bisection; the error path only). A bad checksum is found at the end, in the trailer.
 */
function corruptAt(buffer: Buffer, limit: number): number {
    const fails = (n: number) => {
        try {
            zlib.gunzipSync(buffer.subarray(0, n), {
                maxOutputLength: limit,
                finishFlush: zlib.constants.Z_SYNC_FLUSH,
            });
            return false;
        } catch (e) {
            return !/unexpected end of file/i.test((e as Error).message);
        }
    };
    let [lo, hi] = [0, buffer.length];
    if (!fails(hi)) return hi;
    while (lo + 1 < hi) {
        const mid = (lo + hi) >> 1;
        if (fails(mid)) hi = mid;
        else lo = mid;
    }
    return hi;
}

function untar(buffer: Buffer, what: string, budget: Budget): Files {
    const files: Files = new Map();
    let failure: unknown;
    const tarBytes = gunzipBounded(buffer, what, budget);
    const parser = new Parser({
        onReadEntry(entry) {
            const chunks: Buffer[] = [];
            entry.on("data", (c: Buffer) => chunks.push(c));
            entry.on("end", () => {
                if (entry.type === "File" || entry.type === "OldFile")
                    files.set(entry.path.replace(/^\.\//, ""), Buffer.concat(chunks));
            });
        },
    });
    parser.on("warn", (_code: string, message: string) => (failure = message));
    parser.on("error", (e: Error) => (failure = e.message));
    parser.end(tarBytes);
    if (failure || files.size === 0)
        throw new SourceError(
            `${what}: not a readable chart archive${failure ? ` (${String(failure)})` : ""}; pass a .tgz made by helm package`,
        );
    return files;
}

function yamlOf(files: Files, file: string, what: string): Doc | undefined {
    const buf = files.get(file);
    if (!buf) return undefined;
    return parseYaml(buf.toString("utf8"), `${what}: ${file}`).data as Doc | undefined;
}

/** Build a chart from the files under `root/` (the archive's top directory). */
function chartFrom(files: Files, root: string, what: string, budget: Budget): Chart {
    const meta = yamlOf(files, `${root}/Chart.yaml`, what);
    if (!meta || typeof meta.name !== "string")
        throw new SourceError(`${what}: ${root}/Chart.yaml is missing or has no name`);
    const values = yamlOf(files, `${root}/values.yaml`, what) ?? {};
    const declared: Doc[] = Array.isArray(meta.dependencies)
        ? meta.dependencies
        : (yamlOf(files, `${root}/requirements.yaml`, what)?.dependencies ?? []);
    const subcharts = new Map<string, Chart>();
    const prefix = `${root}/charts/`;
    const seen = new Set<string>();
    for (const name of [...files.keys()].sort()) {
        if (!name.startsWith(prefix)) continue;
        const rest = name.slice(prefix.length);
        if (rest.endsWith(".tgz") && !rest.includes("/")) {
            const nested = untar(files.get(name)!, `${what}: ${name}`, budget);
            const top = [...nested.keys()][0].split("/")[0];
            const sub = chartFrom(nested, top, `${what}: ${name}`, budget);
            subcharts.set(sub.name, sub);
        } else if (rest.includes("/") && !seen.has(rest.split("/")[0])) {
            const dir = rest.split("/")[0];
            seen.add(dir);
            if (files.has(`${prefix}${dir}/Chart.yaml`)) {
                const sub = chartFrom(files, `${prefix}${dir}`, what, budget);
                subcharts.set(sub.name, sub);
            }
        }
    }
    const dependencies = new Map<string, Chart>();
    for (const [name, sub] of subcharts) {
        const decl = declared.find((d) => d?.name === name);
        dependencies.set(typeof decl?.alias === "string" ? decl.alias : name, sub);
    }
    return {
        name: meta.name,
        version: String(meta.version ?? ""),
        appVersion: meta.appVersion === undefined ? undefined : String(meta.appVersion),
        annotations: Object.fromEntries(
            Object.entries(meta.annotations && typeof meta.annotations === "object" ? meta.annotations : {}).filter(
                ([, v]) => typeof v === "string",
            ) as [string, string][],
        ),
        values,
        dependencies,
    };
}

/**
 * Charts read in this process, by the archive's path and file identity (device, inode, size, times): a
 * render reads each archive for its hooks and for the images its Chart.yaml declares, a second untar and
 * YAML parse of megabytes of values (0.5 s for the ten corpus charts). A file replaced or touched is read
 * again. The charts are frozen: whoever reads one shares it.
 */
const READ_CHARTS = new Map<string, Chart>();
const READ_CHARTS_KEPT = 64;

function frozen<T>(value: T): T {
    if (value && typeof value === "object" && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const v of value instanceof Map ? value.values() : Object.values(value)) frozen(v);
    }
    return value;
}

export function readChartArchive(file: string): Chart {
    const st = fs.statSync(file, { throwIfNoEntry: false });
    const key = st && `${path.resolve(file)}\0${st.dev}\0${st.ino}\0${st.size}\0${st.mtimeMs}\0${st.ctimeMs}`;
    const known = key ? READ_CHARTS.get(key) : undefined;
    if (known) return known;
    const chart = frozen(readChartArchiveFile(file, st));
    if (key) {
        if (READ_CHARTS.size >= READ_CHARTS_KEPT) READ_CHARTS.delete(READ_CHARTS.keys().next().value!);
        READ_CHARTS.set(key, chart);
    }
    return chart;
}

/** `st`: the file's stat, when readChartArchive has it (undefined: stat here, where a missing file says so). */
function readChartArchiveFile(file: string, st: fs.Stats | undefined): Chart {
    let buffer: Buffer;
    try {
        if ((st ?? fs.statSync(file)).size > MAX_CHART_BYTES)
            throw new SourceError(
                `${file}: more than ${MAX_CHART_BYTES} bytes, larger than any chart archive crossborder reads`,
            );
        buffer = fs.readFileSync(file);
    } catch (e) {
        if (e instanceof SourceError) throw e;
        throw new SourceError(
            `${file}: cannot read the chart archive (${(e as NodeJS.ErrnoException).code ?? String(e)}); check the path`,
        );
    }
    const budget: Budget = { left: MAX_CHART_BYTES };
    const files = untar(buffer, file, budget);
    const top = [...files.keys()][0].split("/")[0];
    return chartFrom(files, top, file, budget);
}

/** A chart directory's files (relative path → bytes, as localChartFiles reads them) as a chart. */
export function readChartDirectory(files: ReadonlyMap<string, Buffer>, what: string): Chart {
    const prefixed: Files = new Map([...files].map(([p, b]) => [`chart/${p}`, b]));
    return chartFrom(prefixed, "chart", what, { left: MAX_CHART_BYTES });
}

/**
 * The values a release of `chart` renders with (user `values` over the chart's defaults, dependencies
 * filled in under their keys), and every image in them. Findings under a bundled dependency come from
 * the dependency's effective values.
 */
export function scanChart(chart: Chart, values: unknown = {}): { effective: unknown; scan: ScanResult } {
    const effective = effectiveValues(chart, values);
    const scan = scanTree(chart, effective, []);
    return { effective, scan };
}

function effectiveValues(chart: Chart, values: unknown): Doc {
    const merged = coalesceValues(chart.values ?? {}, values ?? {}) as Doc;
    for (const [key, sub] of chart.dependencies) {
        const own: Doc = merged[key] ?? {};
        const withGlobal = {
            ...own,
            global: coalesceValues((sub.values as Doc | undefined)?.global ?? {}, merged.global ?? {}),
        };
        merged[key] = effectiveValues(sub, withGlobal);
    }
    return merged;
}

function scanTree(chart: Chart, values: Doc | undefined, prefix: ValuesPath): ScanResult {
    const keys = new Set(chart.dependencies.keys());
    // The parent's own scan skips its dependencies' subtrees: they are scanned with their own effective values.
    const own = Object.fromEntries(Object.entries(values ?? {}).filter(([k]) => !keys.has(k)));
    const result = scanValues(own, prefix);
    const images: FoundImage[] = [...result.images];
    const warnings = [...result.warnings];
    for (const [key, sub] of chart.dependencies) {
        const subScan = scanTree(sub, values?.[key] ?? {}, [...prefix, key]);
        images.push(...subScan.images);
        warnings.push(...subScan.warnings);
    }
    return { images, warnings };
}

/** Annotation keys under which a chart lists the images it uses, a YAML list of `{name, image}`: Artifact Hub's, Helm's, and Bitnami's `images`. */
export const IMAGE_ANNOTATIONS = ["artifacthub.io/images", "helm.sh/images", "images"];

/** The images a chart's Chart.yaml declares it uses (Artifact Hub's and Helm's annotation), by annotation. */
export function declaredImages(chart: Chart): { readonly annotation: string; readonly image: string }[] {
    const out: { annotation: string; image: string }[] = [];
    for (const key of IMAGE_ANNOTATIONS) {
        const text = chart.annotations[key];
        if (!text) continue;
        let list: unknown;
        try {
            list = parseYaml(text, `${chart.name} Chart.yaml annotation ${key}`).data;
        } catch {
            continue; // an unreadable annotation declares nothing; what renders is still judged
        }
        for (const item of Array.isArray(list) ? list : [])
            if (item && typeof (item as Doc).image === "string")
                out.push({ annotation: key, image: (item as Doc).image });
    }
    return out;
}
