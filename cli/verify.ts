/**
 * `crossborder verify-mirror`: exit 0 when every inventory image is in the target registry with its digest,
 * and every chart of charts.txt (beside images.txt) is there as the locked archive's bytes.
 */
import * as fs from "fs";
import * as path from "path";
import { format, isValidTag, REPOSITORY_PATH } from "../core/reference";
import { RegistryClient } from "../gitops/registry/client";
import {
    ChartResult,
    parseChartInventory,
    parseInventory,
    verifyCharts,
    verifyMirror,
    VerifyResult,
} from "../gitops/registry/verify";
import { readText } from "../core/yaml-source";
import { registryCredentials, UsageError } from "./util";

export interface VerifyCliOptions {
    readonly inventory?: string;
    /** A published tree: `<repository>:<tag>@sha256:…` (crossborder publish prints it). */
    readonly artifact?: string;
    readonly charts?: string;
    readonly registry?: string;
    readonly plainHttp?: boolean;
    readonly concurrency: string;
    readonly timeout: string;
    readonly retries: string;
    readonly compareUpstream: boolean;
    readonly json?: boolean;
}

function bounded(name: string, value: string, min: number, max: number): number {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < min || n > max)
        throw new UsageError(`verify-mirror: --${name} must be a whole number from ${min} to ${max}, got "${value}"`);
    return n;
}

const HOST =
    /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;

/** What to do about what the checked registry lacks, by whether the origin holds it. */
function missingLabel(origin: VerifyResult["origin"]): { label: string; fix: string } {
    if (origin === "present")
        return {
            label: "NOT REPLICATED",
            fix: "; the origin holds it, China does not: replication never carried it (pushed before the sync rule existed, or the China instance or rule was re-created): backfill it (README, Backfill)",
        };
    if (origin === "absent") return { label: "MISSING", fix: "; not in the origin either: run inventory/copy.sh" };
    return { label: "MISSING", fix: "" };
}

function imageLine(r: VerifyResult, inventory: string): string {
    if (r.status === "missing") {
        const m = missingLabel(r.origin);
        return `${m.label.padEnd(9)} ${r.checked}   (from ${format(r.entry.source)}, ${inventory}:${r.entry.line})${m.fix}`;
    }
    if (r.status === "mismatch")
        return `MISMATCH  ${r.checked}   has ${r.actual}, expected ${r.expected} (from ${format(r.entry.source)})`;
    return `ERROR     ${r.checked}   ${r.note}`;
}

function chartLine(r: ChartResult, file: string): string {
    const from = `chart ${r.entry.repository} ${r.entry.chart} ${r.entry.version}, ${file}:${r.entry.line}`;
    if (r.status === "missing") {
        const m = missingLabel(r.origin);
        return `${m.label.padEnd(9)} ${r.checked}   (${from})${m.fix}`;
    }
    if (r.status === "mismatch")
        return `MISMATCH  ${r.checked}   its chart layer is ${r.actual}, not the locked archive ${r.expected} (${from})`;
    return `ERROR     ${r.checked}   ${r.note} (${from})`;
}

export async function runVerify(
    opts: VerifyCliOptions,
    out: NodeJS.WriteStream = process.stdout,
    err: NodeJS.WriteStream = process.stderr,
): Promise<number> {
    const { timeoutMs, retries, concurrency, artifact, entries, chartsFile, charts } = verifyInputs(opts);
    const user = process.env.CROSSBORDER_REGISTRY_USERNAME;
    const password = process.env.CROSSBORDER_REGISTRY_PASSWORD;
    if ((user || password) && !opts.registry)
        err.write(
            "verify-mirror: CROSSBORDER_REGISTRY_USERNAME/PASSWORD are set but no --registry names the host they belong to: no credentials are sent anywhere\n",
        );
    const client = new RegistryClient({
        timeoutMs,
        retries,
        plainHttp: () => Boolean(opts.plainHttp),
        // Credentials belong to the one registry named: never to the inventory's upstreams or other hosts.
        credentials: opts.registry ? registryCredentials(opts.registry) : [],
    });
    const artifactLine = artifact ? await checkArtifact(client, opts.registry!, artifact) : undefined;
    const tty = err.isTTY;
    const results = await verifyMirror(entries, {
        client,
        registry: opts.registry,
        concurrency,
        compareUpstream: opts.compareUpstream,
        onResult: (r, done, total) => {
            if (tty) err.write(`\r${done}/${total} checked${" ".repeat(8)}`);
            else if (!opts.json) err.write(`${done}/${total} ${r.status} ${r.checked}\n`);
        },
    });
    if (tty) err.write("\n");
    const chartResults = await verifyCharts(charts, { client, registry: opts.registry, concurrency });
    return report(opts, out, { artifactLine, results, chartResults, chartsFile, requests: client.requests });
}

/** The command's inputs checked before any request: the target host, the inventories, the limits. */
function verifyInputs(opts: VerifyCliOptions) {
    if (opts.registry !== undefined && !HOST.test(opts.registry))
        throw new UsageError(
            `verify-mirror: --registry must be a host[:port] such as crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com, got "${opts.registry}"`,
        );
    if (!opts.inventory && !opts.artifact)
        throw new UsageError(
            "verify-mirror: give --inventory <images.txt>, --artifact <repository>:<tag>@<digest>, or both",
        );
    if (opts.artifact && !opts.registry)
        throw new UsageError(
            "verify-mirror: --artifact needs --registry, the host that must serve it (the China instance)",
        );
    const timeoutMs = bounded("timeout", opts.timeout, 1, 600_000);
    const retries = bounded("retries", opts.retries, 0, 50);
    const concurrency = bounded("concurrency", opts.concurrency, 1, 256);
    const artifact = opts.artifact ? parseArtifact(opts.artifact) : undefined;
    const entries = opts.inventory ? parseInventory(readText(opts.inventory, "inventory"), opts.inventory) : [];
    const chartsFile = opts.charts ?? (opts.inventory ? path.join(path.dirname(opts.inventory), "charts.txt") : "");
    const charts =
        opts.charts || (chartsFile && fs.existsSync(chartsFile))
            ? parseChartInventory(readText(chartsFile, "chart inventory"), chartsFile)
            : [];
    if (opts.inventory && entries.length === 0 && charts.length === 0)
        throw new UsageError(
            `verify-mirror: ${opts.inventory} lists no image and there is no chart to check, so nothing would be verified; give the inventory/images.txt of a rendered tree`,
        );
    return { timeoutMs, retries, concurrency, artifact, entries, chartsFile, charts };
}

/** What verify-mirror prints (JSON or lines) and its exit code: 0 when everything is served as expected. */
function report(
    opts: VerifyCliOptions,
    out: NodeJS.WriteStream,
    r: {
        artifactLine: Awaited<ReturnType<typeof checkArtifact>> | undefined;
        results: Awaited<ReturnType<typeof verifyMirror>>;
        chartResults: Awaited<ReturnType<typeof verifyCharts>>;
        chartsFile: string;
        requests: number;
    },
): number {
    const { artifactLine, results, chartResults, chartsFile } = r;
    const bad = results.filter((x) => x.status !== "ok");
    const badCharts = chartResults.filter((x) => x.status !== "ok");
    const artifactOk = !artifactLine || artifactLine.ok;
    if (opts.json) {
        out.write(
            JSON.stringify(
                {
                    complete: bad.length + badCharts.length === 0 && artifactOk,
                    ...(artifactLine ? { artifact: artifactLine } : {}),
                    requests: r.requests,
                    results: results.map((r) => ({
                        source: format(r.entry.source),
                        checked: r.checked,
                        status: r.status,
                        expected: r.expected,
                        actual: r.actual,
                        note: r.note,
                    })),
                    charts: chartResults.map((r) => ({
                        chart: `${r.entry.repository} ${r.entry.chart} ${r.entry.version}`,
                        checked: r.checked,
                        status: r.status,
                        expected: r.expected,
                        actual: r.actual,
                        note: r.note,
                    })),
                },
                null,
                2,
            ) + "\n",
        );
    } else {
        if (artifactLine) out.write(artifactLine.line + "\n");
        for (const r of bad) out.write(imageLine(r, opts.inventory ?? "") + "\n");
        for (const r of badCharts) out.write(chartLine(r, chartsFile) + "\n");
        for (const r of results.filter((x) => x.status === "ok" && x.note))
            out.write(`note      ${r.checked}   ${r.note}\n`);
        const count = (xs: { status: string }[], s: string) => xs.filter((r) => r.status === s).length;
        const all = [...bad, ...badCharts];
        if (!opts.inventory) {
            out.write(
                artifactOk
                    ? "complete: the published tree is served as published\n"
                    : "incomplete: the published tree is not served as published\n",
            );
            return artifactOk ? 0 : 1;
        }
        out.write(
            all.length === 0 && artifactOk
                ? `complete: all ${results.length} images present with the expected digests, and all ${chartResults.length} charts as their locked archives\n`
                : `incomplete: ${count(all, "missing")} missing, ${count(all, "mismatch")} digest mismatches, ${count(all, "error")} unreachable, of ${results.length} images and ${chartResults.length} charts\n`,
        );
    }
    return bad.length + badCharts.length === 0 && artifactOk ? 0 : 1;
}

interface ArtifactRef {
    readonly repository: string;
    readonly tag: string;
    readonly digest: string;
}

function parseArtifact(text: string): ArtifactRef {
    const m = /^([^:@]+):([^:@]+)@(sha256:[a-f0-9]{64})$/.exec(text);
    if (!m || !REPOSITORY_PATH.test(m[1]) || !isValidTag(m[2]))
        throw new UsageError(
            `verify-mirror: --artifact must be <repository>:<tag>@sha256:<64 hex>, as crossborder publish prints it, got "${text}"`,
        );
    return { repository: m[1], tag: m[2], digest: m[3] };
}

/** Whether `host` serves the published digest under its tag (replication done), and the manifest itself. */
async function checkArtifact(
    client: RegistryClient,
    host: string,
    a: ArtifactRef,
): Promise<{ ok: boolean; line: string }> {
    const checked = `${host}/${a.repository}:${a.tag}`;
    try {
        const byTag = await client.checkManifest(host, a.repository, a.tag);
        if (!byTag.found)
            return { ok: false, line: `MISSING   ${checked}   (the published tree ${a.digest} has not arrived)` };
        if (byTag.digest !== a.digest)
            return {
                ok: false,
                line: `MISMATCH  ${checked}   points at ${byTag.digest}, not the published ${a.digest}`,
            };
        const byDigest = await client.checkManifest(host, a.repository, a.digest);
        if (!byDigest.found) return { ok: false, line: `MISSING   ${host}/${a.repository}@${a.digest}` };
        return { ok: true, line: `artifact  ${checked}@${a.digest}: served, as published` };
    } catch (e) {
        return { ok: false, line: `ERROR     ${checked}   ${(e as Error).message}` };
    }
}
