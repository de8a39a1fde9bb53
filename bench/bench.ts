/**
 * `npm run bench`: wall-clock benchmarks (not tests). Each section prints what it measured; targets are
 * printed beside the numbers, never asserted. Run on an idle machine. A product is measured against the
 * floor it competes with by interleaving them (floor, product, floor, product, ...), so the machine's load
 * moves both alike; each ratio is printed as min / median / max of the per-pair ratios, with what the
 * floor includes.
 *
 *   npm run bench                 all sections
 *   npm run bench -- plan         only the named sections
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TOOL_LIMITS, toolEnvironment } from "../gitops/engine/tools";

const ROOT = path.resolve(__dirname, "..");
const NODE = process.execPath;

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

/** Wall time of a command in ms (median of `runs`); fails loudly if the command fails. */
function timeCommand(cmd: string, args: string[], runs: number): number {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
        const t0 = process.hrtime.bigint();
        const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
        times.push(ms);
    }
    return median(times);
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Wall time of one call in ms. */
function time(fn: () => void): number {
    const t0 = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** `n` interleaved pairs of (floor, product); the per-pair ratios product / floor. */
function interleaved(
    n: number,
    floor: () => number,
    product: () => number,
): { floor: number[]; product: number[]; ratios: number[] } {
    const out = { floor: [] as number[], product: [] as number[], ratios: [] as number[] };
    for (let i = 0; i < n; i++) {
        const f = floor();
        const p = product();
        out.floor.push(f);
        out.product.push(p);
        out.ratios.push(p / f);
    }
    return out;
}

/** "min 1.10 / median 1.20 / max 1.40 (target <= 1.30)": judged on the median. */
function ratioLine(label: string, ratios: number[], limit: number): string {
    const s = [...ratios].sort((a, b) => a - b);
    return `min ${s[0].toFixed(2)} / median ${median(s).toFixed(2)} / max ${s[s.length - 1].toFixed(2)}${target(label, median(s), limit)}`;
}

/** Figures over their target, said at the end and in the exit code (1). */
const overTarget: string[] = [];

/** "  (target <= 1.30)", and "  OVER TARGET" when the figure is over it (then remembered). */
function target(label: string, value: number, limit: number, unit = ""): string {
    const over = value > limit;
    if (over) overTarget.push(`${label}: ${value.toFixed(2)}${unit} > ${limit.toFixed(2)}${unit}`);
    return `  (target <= ${limit.toFixed(2)}${unit})${over ? "  OVER TARGET" : ""}`;
}

/** A catalog of `n` releases on charts not at hand (the values-level path); release 500's tag is `tag`. */
function syntheticCatalog(n: number, tag: string): string {
    const { stringify } = require("yaml") as typeof import("yaml");
    return stringify({
        version: 1,
        releases: Array.from({ length: n }, (_, i) => ({
            name: `app-${String(i).padStart(4, "0")}`,
            namespace: `ns-${i % 50}`,
            chart: { repository: "https://charts.example.com/stable", name: `chart-${i % 40}`, version: "1.0.0" },
            values: { image: { repository: `ghcr.io/example/app-${i}`, tag: i === 500 ? tag : "1.0.0" } },
        })),
    });
}

/** `crossborder render` of `catalog` into `out` with its render cache at `cache`; returns what it printed. */
function renderCatalog(catalog: string, out: string, cache: string, work: string): string {
    const r = spawnSync(
        NODE,
        [
            path.join(ROOT, "bin", "crossborder.js"),
            "render",
            "--catalog",
            catalog,
            "--charts",
            path.join(work, "charts"),
            "--out",
            out,
        ],
        { cwd: ROOT, encoding: "utf8", env: { ...process.env, CROSSBORDER_CACHE: cache } },
    );
    if (r.status !== 0) throw new Error(`render failed:\n${r.stderr}`);
    return r.stdout;
}

const sections: Record<string, () => void | Promise<void>> = {
    plan() {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "crossborder-bench-"));
        const sdks = ["@pulumi/pulumi", "@pulumi/aws", "@pulumi/alicloud", "@pulumi/kubernetes", "@pulumi/random"];
        const load = () => timeCommand(NODE, ["-e", sdks.map((m) => `require(${JSON.stringify(m)})`).join(";")], 1);
        const planArgs = [path.join(ROOT, "bin", "crossborder.js"), "plan", "--stack", "all", "--out", out];
        const plan = () => timeCommand(NODE, planArgs, 1);
        // Every module the plan loads (the SDK files it reaches, yaml, commander, crossborder's own), listed
        // by one plan run and then loaded in the same order by a process that runs nothing: what is left of
        // the plan beyond this is running the program three times under the mock runtime and the policies.
        const listed = path.join(out, "modules.txt");
        const hook = path.join(out, "list-modules.js");
        fs.writeFileSync(
            hook,
            `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(listed)}, Object.keys(require.cache).join("\\n")));\n`,
        );
        timeCommand(NODE, ["-r", hook, ...planArgs], 1);
        const modules = fs
            .readFileSync(listed, "utf8")
            .split("\n")
            .filter((f) => f && f !== hook && !/[\\/]bin[\\/](crossborder|register)\.js$/.test(f));
        const loadAll = () =>
            timeCommand(
                NODE,
                [
                    "-r",
                    path.join(ROOT, "bin", "register.js"),
                    "-e",
                    `for (const f of ${JSON.stringify(modules)}) require(f)`,
                ],
                1,
            );
        const r = interleaved(5, load, plan);
        const all = median([1, 2, 3, 4, 5].map(loadAll));
        fs.rmSync(out, { recursive: true, force: true });
        const sdkFiles = modules.filter((f) => /[\\/]node_modules[\\/]@pulumi[\\/]/.test(f)).length;
        console.log("offline plan (both stacks, one process) vs. loading the Pulumi SDKs, interleaved 5 times");
        console.log(`  floor: node requiring ${sdks.join(", ")}: median ${fmt(median(r.floor))}`);
        console.log(
            `  crossborder plan --stack all: median ${fmt(median(r.product))} (its modules read back from the V8 code cache of bin/code-cache.js, as every run after the first reads them; the floor is a plain node)`,
        );
        console.log(`  ratio plan / SDK load: ${ratioLine("offline plan / SDK load", r.ratios, 1.3)}`);
        console.log(
            `  what is left: loading every module the plan loads (${modules.length}, ${sdkFiles} of them the SDKs' files) and running nothing: median ${fmt(all)}; the remaining ${fmt(median(r.product) - all)} runs the program three times under the mock runtime (china, global, china) and the policy pack`,
        );
    },
    images() {
        // In-process: scanning and rewriting is library code, so the SDK load is not part of it.
        const { parse } = require("yaml") as typeof import("yaml");
        const { scanValues, rewriteValues } =
            require("../gitops/values/scan") as typeof import("../gitops/values/scan");
        const { loadMirrors, DEFAULT_MIRRORS_FILE } = require("../core/mirrors") as typeof import("../core/mirrors");
        const chartsDir = path.resolve(ROOT, "..", "shared", "corpus", "charts");
        if (!fs.existsSync(chartsDir)) {
            console.log(`values scanning + rewriting: SKIPPED (no corpus at ${chartsDir})`);
            return;
        }
        const mirrors = loadMirrors(DEFAULT_MIRRORS_FILE, {
            chinaRegistry: "crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com",
            registryNamespace: "platform",
        });
        console.log("values scanning + rewriting per corpus chart (parse excluded; median of 51 runs)");
        let total = 0;
        for (const chart of fs.readdirSync(chartsDir).sort()) {
            const file = path.join(chartsDir, chart, "values.yaml");
            if (!fs.existsSync(file)) continue;
            const text = fs.readFileSync(file, "utf8");
            const values = parse(text);
            const times: number[] = [];
            let count = 0;
            for (let i = 0; i < 51; i++) {
                const t0 = process.hrtime.bigint();
                const scan = scanValues(values);
                rewriteValues(values, scan.images, mirrors);
                times.push(Number(process.hrtime.bigint() - t0) / 1e6);
                count = scan.images.length;
            }
            const ms = median(times);
            total += ms;
            console.log(
                `  ${chart.padEnd(30)} ${String(text.length).padStart(7)} bytes  ${String(count).padStart(3)} images  ${ms.toFixed(3)} ms`,
            );
        }
        console.log(`  all charts: ${total.toFixed(2)} ms`);
    },
    render() {
        const run = (n: number) => {
            const r = spawnSync(
                NODE,
                ["-r", path.join(ROOT, "bin", "register.js"), path.join(ROOT, "bench", "render-once.ts"), String(n)],
                { cwd: ROOT, encoding: "utf8" },
            );
            if (r.status !== 0) throw new Error(`render-once ${n} failed:\n${r.stderr}`);
            const result = JSON.parse(r.stdout);
            // Only a clean audit is a measurement: one that stopped at a build it could not make did less.
            if (result.chinaCrossBorder !== 0)
                throw new Error(
                    `render-once ${n}: the audit of the tree did not pass (${result.chinaCrossBorder} on china)`,
                );
            return result as {
                releases: number;
                files: number;
                renderMs: number;
                auditMs: number;
                peakRssMiB: number;
                chinaCrossBorder: number;
            };
        };
        console.log("render + write + audit of a synthetic catalog (both clusters; one process per run, median of 3)");
        const results: Record<number, { total: number; rss: number }> = {};
        for (const n of [1000, 4000]) {
            const runs = [run(n), run(n), run(n)];
            const total = median(runs.map((r) => r.renderMs + r.auditMs));
            const rss = median(runs.map((r) => r.peakRssMiB));
            const one = runs[0];
            results[n] = { total, rss };
            console.log(
                `  ${String(n).padStart(5)} releases: ${one.files} files, render+write ${fmt(median(runs.map((r) => r.renderMs)))}, audit ${fmt(median(runs.map((r) => r.auditMs)))}, peak RSS ${rss.toFixed(0)} MiB, china cross-border ${one.chinaCrossBorder}`,
            );
        }
        const growth = results[4000].total / results[1000].total;
        console.log(
            `  growth 1,000 -> 4,000 releases: ${growth.toFixed(2)}x time${target("render growth 1,000 -> 4,000", growth, 4.4, "x")}, ${(results[4000].rss / results[1000].rss).toFixed(2)}x memory`,
        );
    },
    engine() {
        // The Helm engine against the floor it competes with: bare `helm template` of the same charts.
        const chartsDir = path.resolve(ROOT, "..", "shared", "corpus", "charts");
        if (!fs.existsSync(chartsDir)) {
            console.log(`render on the Helm engine: SKIPPED (no corpus at ${chartsDir})`);
            return;
        }
        const helm = path.join(ROOT, ".tools", "bin", "helm");
        const { archivePath, lockText, sha256File } =
            require("../gitops/engine/charts") as typeof import("../gitops/engine/charts");
        const { stringify } = require("yaml") as typeof import("yaml");
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "crossborder-bench-engine-"));
        try {
            const cache = path.join(work, "charts");
            const needs: Record<string, string[]> = {
                "aws-load-balancer-controller": ["--set", "clusterName=test"],
                "external-dns": ["--set", "policy=upsert-only"],
            };
            const charts = fs
                .readdirSync(chartsDir)
                .sort()
                .map((name) => {
                    const tgz = fs.readdirSync(path.join(chartsDir, name)).find((f) => f.endsWith(".tgz"))!;
                    const ref = {
                        repository: `https://charts.example.com/${name}`,
                        name,
                        version: tgz.slice(name.length + 1, -4),
                    };
                    const file = archivePath(cache, ref);
                    fs.mkdirSync(path.dirname(file), { recursive: true });
                    fs.copyFileSync(path.join(chartsDir, name, tgz), file);
                    return { name, ref, file };
                });
            const values = (n: string) =>
                n === "aws-load-balancer-controller"
                    ? { clusterName: "test" }
                    : n === "external-dns"
                      ? { policy: "upsert-only" }
                      : {};
            const flux = charts.find((c) => c.name === "flux2")!.ref;
            fs.writeFileSync(
                path.join(work, "catalog.yaml"),
                stringify({
                    version: 1,
                    flux: { chart: flux },
                    releases: charts.map((c) => ({
                        name: c.name,
                        namespace: c.name,
                        chart: c.ref,
                        values: values(c.name),
                    })),
                }),
            );
            fs.writeFileSync(
                path.join(work, "catalog.lock"),
                lockText(charts.map((c) => ({ ...c.ref, sha256: sha256File(c.file) }))),
            );
            // The fair floor: what the render must run at the least, two at a time as it runs them: bare helm
            // template of every chart once per cluster, and one kustomize build per china release (its
            // post-renderer), here of the release's own output with a no-op kustomization.
            const kubectl = path.join(ROOT, ".tools", "bin", "kubectl");
            const kdirs = charts.map((c) => {
                const dir = path.join(work, "floor", c.name);
                fs.mkdirSync(dir, { recursive: true });
                const out = spawnSync(
                    helm,
                    ["template", c.name, c.file, "--namespace", c.name, ...(needs[c.name] ?? [])],
                    {
                        encoding: "utf8",
                        maxBuffer: 256 * 1024 * 1024,
                    },
                );
                fs.writeFileSync(path.join(dir, "all.yaml"), out.stdout);
                fs.writeFileSync(path.join(dir, "kustomization.yaml"), "resources: [all.yaml]\n");
                return dir;
            });
            const commands = [
                ...charts.flatMap((c) => {
                    const run = [helm, "template", c.name, c.file, "--namespace", c.name, ...(needs[c.name] ?? [])];
                    return [run, run];
                }),
                ...kdirs.map((d) => [kubectl, "kustomize", d]),
            ];
            const quoted = (list: string[][]) =>
                list.map((a) => a.map((x) => `'${x}'`).join(" ") + " >/dev/null").join(" && ") || "true";
            const bare = () => {
                const t0 = process.hrtime.bigint();
                const halves = [0, 1].map((w) => commands.filter((_, i) => i % 2 === w));
                // The tools run with the Go collector setting the render gives them (engine/tools.ts
                // toolEnvironment), so that the ratio is the render's own cost, not a tuning of the tools.
                const r = spawnSync("sh", ["-c", `(${quoted(halves[0])}) & (${quoted(halves[1])}) & wait`], {
                    cwd: ROOT,
                    env: toolEnvironment(process.env, TOOL_LIMITS.render.memoryBytes),
                });
                if (r.status !== 0) throw new Error("the floor's helm template or kustomize failed");
                return Number(process.hrtime.bigint() - t0) / 1e6;
            };
            const render = (env: Record<string, string>) => {
                const t0 = process.hrtime.bigint();
                const r = spawnSync(
                    NODE,
                    [
                        path.join(ROOT, "bin", "crossborder.js"),
                        "render",
                        "--catalog",
                        path.join(work, "catalog.yaml"),
                        "--charts",
                        cache,
                        "--out",
                        path.join(work, "out"),
                    ],
                    { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } },
                );
                if (r.status !== 0) throw new Error(`render failed:\n${r.stderr}`);
                return Number(process.hrtime.bigint() - t0) / 1e6;
            };
            let coldRun = 0;
            const cold = interleaved(5, bare, () =>
                render({ CROSSBORDER_CACHE: path.join(work, `cold-${coldRun++}`) }),
            );
            const warmCache = { CROSSBORDER_CACHE: path.join(work, "cold-0") };
            const warm = median([1, 2, 3, 4, 5].map(() => render(warmCache)));
            const start = timeCommand(NODE, [path.join(ROOT, "bin", "crossborder.js"), "--version"], 5);
            console.log(
                "render on the Helm engine: the 10 corpus charts on both clusters, interleaved with its floor 5 times",
            );
            console.log(
                `  floor: bare helm template of each chart per cluster and a kustomize build per china release, two at a time: median ${fmt(median(cold.floor))}`,
            );
            console.log(`  crossborder render, cold cache: median ${fmt(median(cold.product))}`);
            console.log(
                `  ratio cold render / floor: ${ratioLine("cold render / bare helm template", cold.ratios, 1.2)}`,
            );
            console.log(
                `  crossborder render, warm, nothing changed:     ${fmt(warm)}   ${((warm - start) / 1000).toFixed(2)} s beyond process start (${fmt(start)})${target("warm render beyond process start", (warm - start) / 1000, 0.3, " s")}`,
            );
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    },
    rerender() {
        // 1,000 releases rendered, then one release changed: only its files may be written again, and the
        // re-render is measured against a full render of the same catalog (fresh folder, fresh cache).
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "crossborder-bench-rerender-"));
        try {
            const file = path.join(work, "catalog.yaml");
            let fresh = 0;
            const full = () => {
                fs.writeFileSync(file, syntheticCatalog(1000, "1.0.0"));
                const dir = path.join(work, `full-${fresh++}`);
                const ms = time(() => renderCatalog(file, path.join(dir, "out"), path.join(dir, "cache"), work));
                fs.rmSync(dir, { recursive: true, force: true });
                return ms;
            };
            fs.writeFileSync(file, syntheticCatalog(1000, "1.0.0"));
            const first = /(\d+) files \((\d+) written/.exec(
                renderCatalog(file, path.join(work, "out"), path.join(work, "cache"), work),
            )!;
            let tag = 0;
            let last = "";
            const one = () => {
                fs.writeFileSync(file, syntheticCatalog(1000, `1.0.${++tag}`));
                return time(() => (last = renderCatalog(file, path.join(work, "out"), path.join(work, "cache"), work)));
            };
            const r = interleaved(5, full, one);
            const written = /(\d+) files \((\d+) written, (\d+) removed/.exec(last);
            console.log(
                "re-render of a 1,000-release catalog after one release changed (chart archives not at hand), interleaved 5 times",
            );
            console.log(
                `  floor: a full render of the catalog into a fresh folder with a fresh cache: median ${fmt(median(r.floor))}`,
            );
            console.log(`  one release changed, re-rendered into the same folder: median ${fmt(median(r.product))}`);
            console.log(
                `  ratio one change / full render: ${ratioLine("re-render after one change / full render", r.ratios, 0.15)}`,
            );
            // One release changed: its HelmRelease on each cluster, and the inventory's three image files.
            const changed = written ? Number(written[2]) + Number(written[3]) : NaN;
            console.log(
                `  first render: ${first[1]} files written; re-render: ${written?.[2]} written, ${written?.[3]} removed of ${written?.[1]}${target("files written after one release changed", changed, 5)}`,
            );
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    },
    audit() {
        // The border audit of a rendered 1,000-release tree against reading and YAML-parsing its files.
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "crossborder-bench-audit-"));
        try {
            const file = path.join(work, "catalog.yaml");
            fs.writeFileSync(file, syntheticCatalog(1000, "1.0.0"));
            const tree = path.join(work, "out");
            renderCatalog(file, tree, path.join(work, "cache"), work);
            const floorScript = [
                'const fs = require("fs"), path = require("path"), { parseAllDocuments } = require("yaml");',
                "const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);",
                'for (const f of walk(process.argv[1])) if (/\\.ya?ml$/.test(f)) parseAllDocuments(fs.readFileSync(f, "utf8")).map((d) => d.toJS());',
            ].join("\n");
            const floor = () => timeCommand(NODE, ["-e", floorScript, tree], 1);
            const audit = () =>
                time(() => {
                    const r = spawnSync(
                        NODE,
                        [
                            path.join(ROOT, "bin", "crossborder.js"),
                            "audit",
                            tree,
                            "--charts",
                            path.join(work, "charts"),
                        ],
                        {
                            cwd: ROOT,
                            encoding: "utf8",
                            env: { ...process.env, CROSSBORDER_CACHE: path.join(work, "cache") },
                        },
                    );
                    // Only a clean audit is a measurement: one that stopped at a build it could not make did less.
                    if (r.status !== 0) throw new Error(`audit did not pass (${r.status}):\n${r.stdout}\n${r.stderr}`);
                });
            // The first audit builds every kustomization and keeps the builds (the render cache): timed on its
            // own. The ratio is of the audits after it, as a pull request's audit of an unchanged tree runs.
            const cold = audit();
            const r = interleaved(5, floor, audit);
            const files = spawnSync("find", [tree, "-type", "f"], { encoding: "utf8" })
                .stdout.trim()
                .split("\n").length;
            console.log(
                `border audit of a rendered 1,000-release tree (${files} files; HelmReleases judged on their values), interleaved 5 times`,
            );
            console.log(
                `  floor: one node process reading and YAML-parsing every file of the tree: median ${fmt(median(r.floor))}`,
            );
            console.log(`  first audit (kustomize builds not kept yet): ${fmt(cold)}`);
            console.log(`  crossborder audit, builds kept: median ${fmt(median(r.product))}`);
            console.log(`  ratio audit / read+parse: ${ratioLine("audit / read+parse floor", r.ratios, 1.5)}`);
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    },
    async verify() {
        // verify-mirror throughput against a local docker-registry, directly and through the fault proxy.
        // Loaded here: only this section needs docker-registry and skopeo.
        const h = require("../test/registry/harness") as typeof import("../test/registry/harness");
        const { startFaultProxy } =
            require("../test/registry/fault-proxy") as typeof import("../test/registry/fault-proxy");
        const { RegistryClient } = require("../gitops/registry/client") as typeof import("../gitops/registry/client");
        const { verifyMirror } = require("../gitops/registry/verify") as typeof import("../gitops/registry/verify");
        const { parseNormalizedNamed } = require("../core/reference") as typeof import("../core/reference");
        if (h.toolsAvailable().length) {
            console.log(`verify-mirror throughput: SKIPPED (missing ${h.toolsAvailable().join(", ")})`);
            return;
        }
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "crossborder-bench-verify-"));
        const registry = await h.startRegistry(path.join(work, "registry"));
        try {
            const layout = h.ociImage(work, "1.0", "bench");
            const tags = 20;
            // One image under tags 1.0 … 20.0; each is checked ten times.
            const digest = h.push(layout, "1.0", `${registry.host}/bench/app:1.0`);
            for (let k = 2; k <= tags; k++) h.push(layout, "1.0", `${registry.host}/bench/app:${k}.0`);
            const entries = Array.from({ length: tags * 10 }, (_, i) => ({
                line: i + 1,
                source: parseNormalizedNamed(`upstream.example/bench/app@${digest}`),
                destination: parseNormalizedNamed(`${registry.host}/bench/app:${(i % tags) + 1}.0`),
            }));
            const [host, port] = registry.host.split(":");
            const measure = async (target: string, label: string) => {
                const client = new RegistryClient({
                    plainHttp: () => true,
                    timeoutMs: 500,
                    retries: 10,
                    backoffMs: 20,
                    maxBackoffMs: 200,
                });
                const t0 = process.hrtime.bigint();
                const results = await verifyMirror(entries, { client, registry: target, concurrency: 8 });
                const s = Number(process.hrtime.bigint() - t0) / 1e9;
                const ok = results.filter((r) => r.status === "ok").length;
                console.log(
                    `  ${label.padEnd(44)} ${(entries.length / s).toFixed(0).padStart(5)} manifests/s  (${ok}/${entries.length} ok, ${client.requests} requests)`,
                );
            };
            console.log(`verify-mirror throughput (${entries.length} manifest checks, concurrency 8)`);
            await measure(registry.host, "direct");
            const proxy = await startFaultProxy({
                target: { host, port: Number(port) },
                resetRate: 0.2,
                stallRate: 0.1,
                stallMs: 300,
                seed: 3,
            });
            await measure(proxy.host, "through the fault proxy (20% reset, 10% stall)");
            await proxy.close();
        } finally {
            registry.stop();
            fs.rmSync(work, { recursive: true, force: true });
        }
    },
    test() {
        const ms = timeCommand("npm", ["test", "--silent"], 1);
        console.log(`npm test (type check + all tests): ${fmt(ms)}`);
    },
};

(async () => {
    const wanted = process.argv.slice(2);
    for (const name of wanted.length ? wanted : Object.keys(sections)) {
        const section = sections[name];
        if (!section) {
            console.error(`bench: unknown section "${name}"; sections: ${Object.keys(sections).join(", ")}`);
            process.exit(2);
        }
        await section();
        console.log("");
    }
    if (overTarget.length) {
        console.log(`OVER TARGET (${overTarget.length}):\n${overTarget.map((o) => `  ${o}`).join("\n")}`);
        process.exit(1);
    }
    console.log("every figure is within its target");
})();
