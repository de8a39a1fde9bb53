/**
 * verify-mirror: is every image of the inventory in the target registry, with the digest it must have,
 * and every chart, as the very archive the catalog locked? The expected image digest is the one the
 * inventory pins, or else the upstream's (asked when reachable); a chart's layer must be the locked
 * archive's sha256 (helm push stores the archive's bytes as its one layer). Runs with bounded concurrency;
 * every request has a timeout and retries (client.ts).
 */
import { Reference, tryParseImage } from "../../core/reference";
import { RegistryClient, RegistryError } from "./client";
import { SourceError } from "../../core/yaml-source";
import type { Doc } from "../objects/manifests";
import { HELM_CONTENT_MEDIA_TYPE as HELM_CHART_LAYER } from "../publish/artifact";

export interface InventoryEntry {
    readonly line: number;
    readonly source: Reference;
    readonly destination: Reference;
}

export type VerifyStatus = "ok" | "missing" | "mismatch" | "error";

/** One check of an image or a chart on the target registry. */
export interface CheckResult<Entry> {
    readonly entry: Entry;
    /** The reference actually checked (the destination, on the target registry). */
    readonly checked: string;
    readonly status: VerifyStatus;
    readonly expected?: string;
    readonly actual?: string;
    /** Why the digest was not compared, or what went wrong. */
    readonly note?: string;
    /**
     * Missing from the registry checked: whether the origin (the inventory's destination) holds it, which
     * tells "not copied" (run copy.sh) from "not replicated" (backfill the China instance).
     */
    readonly origin?: "present" | "absent" | "unknown";
}

export type VerifyResult = CheckResult<InventoryEntry>;

const strip = (s: string) => s.replace(/^docker:\/\//, "");

/** inventory/images.txt: `docker://SOURCE docker://DESTINATION` per line, `#` comments. */
export function parseInventory(text: string, file: string): InventoryEntry[] {
    const entries: InventoryEntry[] = [];
    text.split("\n").forEach((raw, i) => {
        const line = raw.trim();
        if (!line || line.startsWith("#")) return;
        const parts = line.split(/\s+/);
        const source = parts.length === 2 ? tryParseImage(strip(parts[0])) : undefined;
        const destination = parts.length === 2 ? tryParseImage(strip(parts[1])) : undefined;
        if (!source || !destination)
            throw new SourceError(
                `${file}:${i + 1}: expected "docker://SOURCE docker://DESTINATION" with two image references, got "${line}"; regenerate it with crossborder render`,
            );
        if (destination.tag === undefined && destination.digest === undefined)
            throw new SourceError(`${file}:${i + 1}: the destination ${strip(parts[1])} has no tag or digest to check`);
        entries.push({ line: i + 1, source, destination });
    });
    return entries;
}

export interface VerifyOptions {
    readonly client: RegistryClient;
    /** Check the destinations on this registry host instead (e.g. the China instance, same paths). */
    readonly registry?: string;
    /** @default 8 */
    readonly concurrency?: number;
    /** Ask the upstream for the digest when the inventory pins none. @default true */
    readonly compareUpstream?: boolean;
    /** For what `registry` lacks, ask the origin (the inventory's own destination) whether it holds it. @default true */
    readonly askOrigin?: boolean;
    readonly onResult?: (r: VerifyResult, done: number, total: number) => void;
}

/** Whether the origin holds what the China registry lacks (asked only when they are different hosts). */
async function inOrigin(
    entry: InventoryEntry,
    checkedHost: string,
    ref: string,
    opts: VerifyOptions,
): Promise<VerifyResult["origin"]> {
    if (opts.askOrigin === false || entry.destination.domain.toLowerCase() === checkedHost.toLowerCase())
        return undefined;
    try {
        return (await opts.client.checkManifest(entry.destination.domain, entry.destination.path, ref)).found
            ? "present"
            : "absent";
    } catch {
        return "unknown";
    }
}

export async function verifyMirror(entries: readonly InventoryEntry[], opts: VerifyOptions): Promise<VerifyResult[]> {
    const results: VerifyResult[] = new Array(entries.length);
    let next = 0;
    let done = 0;
    const one = async (entry: InventoryEntry): Promise<VerifyResult> => {
        const host = opts.registry ?? entry.destination.domain;
        const ref = entry.destination.digest ?? entry.destination.tag!;
        const checked = `${host}/${entry.destination.path}${entry.destination.digest ? `@${ref}` : `:${ref}`}`;
        let expected = entry.source.digest;
        let note: string | undefined;
        try {
            const found = await opts.client.checkManifest(host, entry.destination.path, ref);
            if (!found.found)
                return { entry, checked, status: "missing", expected, origin: await inOrigin(entry, host, ref, opts) };
            if (!expected && opts.compareUpstream !== false) {
                try {
                    const upstream = await opts.client.checkManifest(
                        entry.source.domain,
                        entry.source.path,
                        entry.source.tag ?? "latest",
                    );
                    if (upstream.found) expected = upstream.digest;
                    else note = "the upstream no longer has this tag; digest not compared";
                } catch (e) {
                    note = `upstream unreachable (${(e as Error).message}); digest not compared`;
                }
            } else if (!expected) {
                note = "no digest pinned; not compared";
            }
            if (expected && expected !== found.digest)
                return { entry, checked, status: "mismatch", expected, actual: found.digest };
            return { entry, checked, status: "ok", expected, actual: found.digest, note };
        } catch (e) {
            if (!(e instanceof RegistryError)) throw e;
            return { entry, checked, status: "error", expected, note: e.message };
        }
    };
    const worker = async () => {
        while (next < entries.length) {
            const i = next++;
            results[i] = await one(entries[i]);
            done++;
            opts.onResult?.(results[i], done, entries.length);
        }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 8, entries.length)) }, worker));
    return results;
}

// ---------------------------------------------------------------------------------------------------
// Charts

export { HELM_CHART_LAYER };

export interface ChartEntry {
    readonly line: number;
    readonly repository: string;
    readonly chart: string;
    readonly version: string;
    /** `host/path` of the OCI repository (helm push appends the chart name to its parent). */
    readonly host: string;
    readonly path: string;
    /** undefined when the chart was never pulled (the inventory says "-"). */
    readonly sha256?: string;
    /** The archive's path inside the chart cache. */
    readonly archive: string;
}

/** inventory/charts.txt: `REPOSITORY CHART VERSION DESTINATION SHA256 ARCHIVE` per line, `#` comments. */
export function parseChartInventory(text: string, file: string): ChartEntry[] {
    const entries: ChartEntry[] = [];
    text.split("\n").forEach((raw, i) => {
        const line = raw.trim();
        if (!line || line.startsWith("#")) return;
        const f = line.split(/\s+/);
        const m = f.length === 6 ? /^oci:\/\/([^/]+)\/(.+)$/.exec(f[3]) : null;
        if (!m || !(f[4] === "-" || /^[a-f0-9]{64}$/.test(f[4])))
            throw new SourceError(
                `${file}:${i + 1}: expected "REPOSITORY CHART VERSION oci://DESTINATION SHA256 ARCHIVE", got "${line}"; regenerate it with crossborder render`,
            );
        entries.push({
            line: i + 1,
            repository: f[0],
            chart: f[1],
            version: f[2],
            host: m[1],
            path: m[2],
            sha256: f[4] === "-" ? undefined : f[4],
            archive: f[5],
        });
    });
    return entries;
}

export type ChartResult = CheckResult<ChartEntry>;

/** Every chart of the inventory on the target registry, its layer the locked archive's bytes. */
export async function verifyCharts(
    entries: readonly ChartEntry[],
    opts: Omit<VerifyOptions, "compareUpstream" | "onResult">,
): Promise<ChartResult[]> {
    return Promise.all(
        entries.map(async (entry): Promise<ChartResult> => {
            const host = opts.registry ?? entry.host;
            // helm push tags a chart with its version, "+" written "_" (OCI tags cannot hold "+").
            const tag = entry.version.replace(/\+/g, "_");
            const checked = `${host}/${entry.path}:${tag}`;
            if (!entry.sha256)
                return {
                    entry,
                    checked,
                    status: "error",
                    note: "never pulled, so there is no locked archive to compare; run crossborder charts pull and render again",
                };
            const expected = `sha256:${entry.sha256}`;
            try {
                const got = await opts.client.getManifest(host, entry.path, tag);
                if (!got.found) {
                    let origin: ChartResult["origin"];
                    if (opts.askOrigin !== false && entry.host.toLowerCase() !== host.toLowerCase())
                        origin = await opts.client
                            .checkManifest(entry.host, entry.path, tag)
                            .then((c): ChartResult["origin"] => (c.found ? "present" : "absent"))
                            .catch((): ChartResult["origin"] => "unknown");
                    return { entry, checked, status: "missing", expected, origin };
                }
                const layer = (Array.isArray(got.manifest.layers) ? got.manifest.layers : []).find(
                    (l: Doc) => l?.mediaType === HELM_CHART_LAYER,
                );
                if (!layer) return { entry, checked, status: "mismatch", expected, actual: "(no Helm chart layer)" };
                return layer.digest === expected
                    ? { entry, checked, status: "ok", expected, actual: layer.digest }
                    : { entry, checked, status: "mismatch", expected, actual: String(layer.digest) };
            } catch (e) {
                if (!(e instanceof RegistryError)) throw e;
                return { entry, checked, status: "error", expected, note: e.message };
            }
        }),
    );
}
