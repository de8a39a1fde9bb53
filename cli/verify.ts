/** `crossborder verify-mirror`: exit 0 when every inventory image is in the target registry with its digest. */
import { format } from "../gitops/reference";
import { RegistryClient } from "../gitops/registry";
import { parseInventory, verifyMirror, VerifyResult } from "../gitops/verify";
import { readText } from "../gitops/yaml-source";
import { UsageError } from "./util";

export interface VerifyCliOptions {
    readonly inventory: string;
    readonly registry?: string;
    readonly plainHttp?: boolean;
    readonly concurrency: string;
    readonly timeout: string;
    readonly retries: string;
    readonly compareUpstream: boolean;
    readonly json?: boolean;
}

function positive(name: string, value: string, max: number): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new UsageError(`verify-mirror: --${name} must be a whole number from 0 to ${max}, got "${value}"`);
    return n;
}

export async function runVerify(opts: VerifyCliOptions, out: NodeJS.WriteStream = process.stdout, err: NodeJS.WriteStream = process.stderr): Promise<number> {
    if (opts.registry !== undefined && !/^[A-Za-z0-9.-]+(:\d+)?$/.test(opts.registry)) throw new UsageError(`verify-mirror: --registry must be a host[:port] such as crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com, got "${opts.registry}"`);
    const entries = parseInventory(readText(opts.inventory, "inventory"), opts.inventory);
    const user = process.env.CROSSBORDER_REGISTRY_USERNAME;
    const password = process.env.CROSSBORDER_REGISTRY_PASSWORD;
    const client = new RegistryClient({
        timeoutMs: positive("timeout", opts.timeout, 600_000),
        retries: positive("retries", opts.retries, 50),
        plainHttp: () => Boolean(opts.plainHttp),
        credentials: (host) => (user && password && (!opts.registry || host === opts.registry) ? { username: user, password } : undefined),
    });
    const tty = err.isTTY;
    const results = await verifyMirror(entries, {
        client,
        registry: opts.registry,
        concurrency: Math.max(1, positive("concurrency", opts.concurrency, 256)),
        compareUpstream: opts.compareUpstream,
        onResult: (r, done, total) => {
            if (tty) err.write(`\r${done}/${total} checked${" ".repeat(8)}`);
            else if (!opts.json) err.write(`${done}/${total} ${r.status} ${r.checked}\n`);
        },
    });
    if (tty) err.write("\n");
    const bad = results.filter((r) => r.status !== "ok");
    if (opts.json) {
        out.write(JSON.stringify({ complete: bad.length === 0, requests: client.requests, results: results.map((r) => ({ source: format(r.entry.source), checked: r.checked, status: r.status, expected: r.expected, actual: r.actual, note: r.note })) }, null, 2) + "\n");
    } else {
        const line = (r: VerifyResult) =>
            r.status === "missing"
                ? `MISSING   ${r.checked}   (from ${format(r.entry.source)}, ${opts.inventory}:${r.entry.line})`
                : r.status === "mismatch"
                  ? `MISMATCH  ${r.checked}   has ${r.actual}, expected ${r.expected} (from ${format(r.entry.source)})`
                  : `ERROR     ${r.checked}   ${r.note}`;
        for (const r of bad) out.write(line(r) + "\n");
        for (const r of results.filter((x) => x.status === "ok" && x.note)) out.write(`note      ${r.checked}   ${r.note}\n`);
        out.write(bad.length === 0 ? `complete: all ${results.length} images present with the expected digests\n` : `incomplete: ${bad.filter((r) => r.status === "missing").length} missing, ${bad.filter((r) => r.status === "mismatch").length} digest mismatches, ${bad.filter((r) => r.status === "error").length} unreachable, of ${results.length}\n`);
    }
    return bad.length === 0 ? 0 : 1;
}
