/**
 * Real registries end to end: an upstream and a China registry (Debian's docker-registry on loopback),
 * seeded with images made here (a multi-arch index included); the generated inventory copies them across
 * with Debian's skopeo; verify-mirror reports complete, then a deleted tag as missing and a different
 * image under the same tag as a digest mismatch. Then the same under a fault-injecting proxy.
 */
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { parseCatalog } from "../../gitops/catalog";
import { clusterSettings } from "../../stacks/gitops-inputs";
import { RenderCache } from "../../gitops/engine/cache";
import { archivePath, lockText, readLock, sha256File } from "../../gitops/engine/charts";
import { parseMirrors } from "../../core/mirrors";
import { parseNormalizedNamed } from "../../core/reference";
import { RegistryClient } from "../../gitops/registry/client";
import { renderTree } from "../../gitops/render";
import { parseInventory, verifyMirror } from "../../gitops/registry/verify";
import { packageChart, writeChart } from "../engine-fixtures";
import { ROOT, runCli, tempDir } from "../helpers";
import { startFaultProxy } from "./fault-proxy";
import { digestOf, ociImage, push, Registry, requireRegistryTools, seedFlux, startRegistry } from "./harness";

function mirrorsText(layout: "flat" | "nested"): string {
    return `version: 1
chinaHosts:
  - "{{ chinaRegistry }}"
targets:
  china:
    kind: registry
    host: "{{ chinaRegistry }}"
    namespace: "{{ registryNamespace }}"
    layout: ${layout}
upstreams:
  default: china
charts:
  default: china
`;
}

function catalogText(upstream: string, pinned: string): string {
    return stringify({
        version: 1,
        flux: {
            registry: `${upstream}/fluxcd`,
            chart: { repository: `oci://${upstream}/charts`, name: "flux2", version: "1.0.0" },
        },
        platform: { ecrRefresherImage: `${upstream}/test/app:1.0` },
        releases: [
            {
                name: "app",
                namespace: "app",
                chart: { repository: `oci://${upstream}/charts`, name: "app", version: "1.0.0" },
                clusters: ["china"],
                values: {
                    image: { repository: `${upstream}/test/app`, tag: "1.0" },
                    multi: { image: `${upstream}/test/multi:2.0` },
                    pinned: { repository: `${upstream}/test/pinned`, tag: "3.0", digest: pinned },
                },
            },
        ],
    });
}

/** The release's chart: its templates set the three images from values. */
const CHART_TEMPLATE = `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - {name: app, image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"}
        - {name: multi, image: {{ .Values.multi.image | quote }}}
        - {name: pinned, image: "{{ .Values.pinned.repository }}:{{ .Values.pinned.tag }}@{{ .Values.pinned.digest }}"}
`;

/**
 * Render the example cluster settings with a test catalog and mirrors, its chart packaged and locked in a
 * chart cache as `crossborder charts pull` leaves it; write the inventory to `dir`.
 */
async function renderInventory(
    dir: string,
    opts: { upstream: string; china: string; origin: string; pinned: string; layout: "flat" | "nested" },
): Promise<string> {
    fs.mkdirSync(dir, { recursive: true });
    const vars = { chinaRegistry: opts.china, registryNamespace: "platform" };
    const mirrors = parseMirrors(mirrorsText(opts.layout), "mirrors.yaml", vars);
    const cacheDir = path.join(dir, "charts");
    // The release's chart, and the flux2 chart the china side's bootstrap installs, both locked.
    const locked = ["app", "flux2"].map((name) => {
        const ref = { repository: `oci://${opts.upstream}/charts`, name, version: "1.0.0" };
        const archive = packageChart(
            writeChart(
                path.join(dir, "src"),
                name,
                {
                    "templates/deploy.yaml": CHART_TEMPLATE,
                    // The bootstrap's values render the flux2 chart too (render reads the CRDs it installs: none here).
                    "values.yaml": stringify({
                        image: { repository: "x/app", tag: "1" },
                        multi: { image: "x/multi:1" },
                        pinned: { repository: "x/pinned", tag: "1", digest: `sha256:${"0".repeat(64)}` },
                    }),
                },
                "1.0.0",
            ),
            path.dirname(archivePath(cacheDir, ref)),
        );
        return { ...ref, sha256: sha256File(archive) };
    });
    fs.writeFileSync(path.join(dir, "catalog.lock"), lockText(locked));
    const catalog = parseCatalog(catalogText(opts.upstream, opts.pinned), path.join(dir, "catalog.yaml"));
    const out = await renderTree({
        catalog,
        mirrors,
        vars,
        originRegistry: opts.origin,
        clusters: clusterSettings({ stacksDir: path.join(ROOT, "stacks") }),
        charts: { cacheDir, lock: readLock(path.join(dir, "catalog.lock")) },
        engine: { cache: new RenderCache(path.join(dir, "renders")) },
    });
    for (const [p, text] of out.files) {
        if (!p.startsWith("inventory/")) continue;
        fs.mkdirSync(path.join(dir, path.dirname(p)), { recursive: true });
        fs.writeFileSync(path.join(dir, p), text);
    }
    return path.join(dir, "inventory");
}

/** What copy.sh needs to reach loopback registries: plain HTTP, the chart cache, the project's helm. */
function copyEnv(inventory: string, env: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
        ...process.env,
        SKOPEO_FLAGS: "--src-tls-verify=false --dest-tls-verify=false",
        HELM_PUSH_FLAGS: "--plain-http",
        CHARTS: path.join(inventory, "..", "charts"),
        PATH: `${path.join(ROOT, ".tools", "bin")}:${process.env.PATH}`,
        ...env,
    };
}

/** copy.sh without blocking the event loop (the fault proxy runs in this process). */
function copyAsync(inventory: string): Promise<{ status: number | null; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn("sh", [path.join(inventory, "copy.sh")], { env: copyEnv(inventory) });
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (status) => resolve({ status, stderr }));
    });
}

function copy(inventory: string, env: Record<string, string> = {}): { status: number | null; stderr: string } {
    const r = spawnSync("sh", [path.join(inventory, "copy.sh")], { encoding: "utf8", env: copyEnv(inventory, env) });
    return { status: r.status, stderr: r.stderr };
}

describe("mirroring into real registries", function () {
    this.timeout(300_000);
    let work: string;
    let upstream: Registry;
    let china: Registry;
    const seeded: Record<string, string> = {};

    before(async function () {
        requireRegistryTools(this);
        work = tempDir("registries");
        upstream = await startRegistry(path.join(work, "upstream"));
        china = await startRegistry(path.join(work, "china"));
        seeded.app = push(ociImage(work, "1.0", "app 1.0"), "1.0", `${upstream.host}/test/app:1.0`);
        seeded.multi = push(ociImage(work, "2.0", "multi 2.0", true), "2.0", `${upstream.host}/test/multi:2.0`);
        seeded.pinned = push(ociImage(work, "3.0", "pinned 3.0"), "3.0", `${upstream.host}/test/pinned:3.0`);
        Object.assign(seeded, seedFlux(work, upstream.host));
    });

    after(() => {
        upstream?.stop();
        china?.stop();
    });

    it("seeds a multi-arch index upstream", async () => {
        const check = await new RegistryClient({ plainHttp: () => true }).checkManifest(
            upstream.host,
            "test/multi",
            "2.0",
        );
        assert.ok(
            check.found &&
                check.mediaType === "application/vnd.oci.image.index.v1+json" &&
                check.digest === seeded.multi,
        );
    });

    describe("the inventory's copy, then verify-mirror", () => {
        let inventory: string;
        let images: string;
        before(async () => {
            inventory = await renderInventory(path.join(work, "flat"), {
                upstream: upstream.host,
                china: china.host,
                origin: china.host,
                pinned: seeded.pinned,
                layout: "flat",
            });
            images = path.join(inventory, "images.txt");
        });

        it("copies every image with skopeo, digests preserved, and pushes the locked chart archive", async () => {
            const entries = parseInventory(fs.readFileSync(images, "utf8"), images);
            assert.deepStrictEqual(entries.map((e) => e.source.path).sort(), [
                "fluxcd/flux-cli",
                "fluxcd/helm-controller",
                "fluxcd/kustomize-controller",
                "fluxcd/notification-controller",
                "fluxcd/source-controller",
                "test/app",
                "test/multi",
                "test/pinned",
            ]);
            const r = copy(inventory);
            assert.strictEqual(r.status, 0, r.stderr);
            for (const e of entries) {
                const dest = `${e.destination.domain}/${e.destination.path}:${e.destination.tag}`;
                assert.strictEqual(digestOf(dest), seeded[e.source.path.split("/")[1]], dest);
            }
            // The chart went in as the same bytes: its layer is the archive the lock names.
            const [line] = fs
                .readFileSync(path.join(inventory, "charts.txt"), "utf8")
                .split("\n")
                .filter((l) => l && !l.startsWith("#") && l.includes(" app "));
            const [, , version, dest, sha] = line.split(" ");
            const repo = dest.replace(`oci://${china.host}/`, "");
            assert.strictEqual(repo, "platform/app");
            const manifest = (await (
                await fetch(`http://${china.host}/v2/${repo}/manifests/${version}`, {
                    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
                })
            ).json()) as any;
            assert.strictEqual(manifest.layers[0].mediaType, "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
            assert.strictEqual(manifest.layers[0].digest, `sha256:${sha}`);
        });

        it("reports the mirror complete", () => {
            const r = runCli(["verify-mirror", "--inventory", images, "--plain-http"]);
            assert.strictEqual(r.status, 0, r.stdout + r.stderr);
            assert.match(
                r.stdout,
                /^complete: all 8 images present with the expected digests, and all 2 charts as their locked archives$/m,
            );
        });

        it("reports a chart whose layer is not the locked archive as a mismatch", () => {
            // Another chart pushed over the same name and version: same tag, other bytes.
            const other = packageChart(
                writeChart(
                    path.join(work, "flat", "evil"),
                    "app",
                    { "templates/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n" },
                    "1.0.0",
                ),
                path.join(work, "flat", "evil-pkg"),
            );
            const push = spawnSync(
                path.join(ROOT, ".tools", "bin", "helm"),
                ["push", other, `oci://${china.host}/platform`, "--plain-http"],
                { encoding: "utf8" },
            );
            assert.strictEqual(push.status, 0, push.stderr);
            const r = runCli(["verify-mirror", "--inventory", images, "--plain-http"]);
            assert.strictEqual(r.status, 1);
            assert.match(
                r.stdout,
                /^MISMATCH {2}\S+\/platform\/app:1\.0\.0 {3}its chart layer is sha256:[0-9a-f]{64}, not the locked archive sha256:[0-9a-f]{64} \(chart oci:\/\/\S+ app 1\.0\.0, \S+charts\.txt:\d+\)$/m,
            );
            assert.match(
                r.stdout,
                /incomplete: 0 missing, 1 digest mismatches, 0 unreachable, of 8 images and 2 charts/,
            );
            assert.strictEqual(copy(inventory).status, 0, "copying again repairs it");
            assert.strictEqual(runCli(["verify-mirror", "--inventory", images, "--plain-http"]).status, 0);
        });

        it("reports a deleted tag as missing", async () => {
            const entry = parseInventory(fs.readFileSync(images, "utf8"), images).find(
                (e) => e.source.path === "test/app",
            )!;
            const res = await fetch(`http://${china.host}/v2/${entry.destination.path}/manifests/${seeded.app}`, {
                method: "DELETE",
            });
            assert.strictEqual(res.status, 202);
            const r = runCli(["verify-mirror", "--inventory", images, "--plain-http"]);
            assert.strictEqual(r.status, 1);
            assert.match(
                r.stdout,
                new RegExp(`^MISSING   ${china.host.replace(/\./g, "\\.")}/platform/\\S+_s_test_s_app:1\\.0`, "m"),
            );
            assert.match(r.stdout, /incomplete: 1 missing, 0 digest mismatches, 0 unreachable, of 8/);
            assert.strictEqual(copy(inventory).status, 0, "copying again repairs it");
        });

        it("reports a different image under the same tag as a digest mismatch", () => {
            const entry = parseInventory(fs.readFileSync(images, "utf8"), images).find(
                (e) => e.source.path === "test/multi",
            )!;
            push(
                ociImage(work, "2.0", "something else"),
                "2.0",
                `${entry.destination.domain}/${entry.destination.path}:2.0`,
            );
            const r = runCli(["verify-mirror", "--inventory", images, "--plain-http", "--json"]);
            assert.strictEqual(r.status, 1);
            const out = JSON.parse(r.stdout);
            const bad = out.results.filter((x: any) => x.status !== "ok");
            assert.strictEqual(bad.length, 1);
            assert.strictEqual(bad[0].status, "mismatch");
            assert.strictEqual(bad[0].expected, seeded.multi);
            assert.notStrictEqual(bad[0].actual, seeded.multi);
            assert.strictEqual(copy(inventory).status, 0, "copying again repairs it");
            assert.strictEqual(runCli(["verify-mirror", "--inventory", images, "--plain-http"]).status, 0);
        });
    });

    describe("the generated skopeo sync config (nested layout)", () => {
        it("copies every image with skopeo sync --scoped to the names the mirrors give", async function () {
            // skopeo sync --scoped keeps the upstream host as a path component, which a port would break:
            // the upstream for this test listens on port 80 of another loopback address (needs root).
            let plainUpstream: Registry;
            try {
                plainUpstream = await startRegistry(path.join(work, "upstream80"), "127.0.0.2", 80);
            } catch (e) {
                if (process.env.CI === "true") throw e;
                console.warn(`  SKIPPED (skopeo sync): cannot listen on 127.0.0.2:80 (${(e as Error).message})`);
                return this.skip();
            }
            try {
                const host = plainUpstream.host.replace(/:80$/, "");
                const pinned = push(
                    ociImage(work, "3.0", "pinned 3.0"),
                    "3.0",
                    `${plainUpstream.host}/test/pinned:3.0`,
                );
                push(ociImage(work, "1.0", "app 1.0"), "1.0", `${plainUpstream.host}/test/app:1.0`);
                push(ociImage(work, "2.0", "multi 2.0", true), "2.0", `${plainUpstream.host}/test/multi:2.0`);
                seedFlux(work, plainUpstream.host.replace(/:80$/, ""));
                const inventory = await renderInventory(path.join(work, "nested"), {
                    upstream: host,
                    china: china.host,
                    origin: china.host,
                    pinned,
                    layout: "nested",
                });
                const syncFile = path.join(inventory, "skopeo-sync.yaml");
                const config = parse(fs.readFileSync(syncFile, "utf8"));
                assert.deepStrictEqual(Object.keys(config), [host]);
                config[host]["tls-verify"] = false; // loopback registries speak plain HTTP
                fs.writeFileSync(syncFile, stringify(config));
                const r = spawnSync(
                    "skopeo",
                    [
                        "sync",
                        "--src",
                        "yaml",
                        "--dest",
                        "docker",
                        "--scoped",
                        "--all",
                        "--dest-tls-verify=false",
                        "--retry-times",
                        "3",
                        syncFile,
                        `${china.host}/platform`,
                    ],
                    { encoding: "utf8" },
                );
                assert.strictEqual(r.status, 0, r.stderr);
                // skopeo sync copies images only; the charts are pushed by copy.sh (tested above).
                fs.writeFileSync(path.join(inventory, "no-charts.txt"), "# none\n");
                const v = runCli([
                    "verify-mirror",
                    "--inventory",
                    path.join(inventory, "images.txt"),
                    "--charts",
                    path.join(inventory, "no-charts.txt"),
                    "--plain-http",
                ]);
                assert.strictEqual(v.status, 0, v.stdout + v.stderr);
                assert.match(v.stdout, /complete: all 8 images/);
            } finally {
                plainUpstream.stop();
            }
        });
    });

    describe("under faults", () => {
        it("verify-mirror reaches the right verdict through a proxy that resets and stalls connections", async () => {
            const [host, port] = china.host.split(":");
            const proxy = await startFaultProxy({
                target: { host, port: Number(port) },
                resetRate: 0.3,
                stallRate: 0.2,
                stallMs: 1500,
                seed: 7,
            });
            try {
                const inventory = await renderInventory(path.join(work, "faults-verify"), {
                    upstream: upstream.host,
                    china: china.host,
                    origin: china.host,
                    pinned: seeded.pinned,
                    layout: "flat",
                });
                const entries = parseInventory(
                    fs.readFileSync(path.join(inventory, "images.txt"), "utf8"),
                    "images.txt",
                );
                assert.strictEqual(copy(inventory).status, 0);
                const client = () =>
                    new RegistryClient({
                        plainHttp: () => true,
                        timeoutMs: 500,
                        retries: 10,
                        backoffMs: 20,
                        maxBackoffMs: 200,
                    });
                const complete = await verifyMirror(entries, {
                    client: client(),
                    registry: proxy.host,
                    concurrency: 4,
                });
                assert.deepStrictEqual(
                    complete.map((r) => r.status),
                    entries.map(() => "ok"),
                    JSON.stringify(complete),
                );
                // Delete one tag behind the proxy: still reported missing, not as an error.
                const app = entries.find((e) => e.source.path === "test/app")!;
                await fetch(
                    `http://${china.host}/v2/${app.destination.path}/manifests/${digestOf(`${china.host}/${app.destination.path}:1.0`)}`,
                    { method: "DELETE" },
                );
                const after = await verifyMirror(entries, { client: client(), registry: proxy.host, concurrency: 4 });
                assert.deepStrictEqual(
                    after.map((r) => [r.entry.source.path, r.status]).sort(),
                    entries.map((e) => [e.source.path, e.source.path === "test/app" ? "missing" : "ok"]).sort(),
                );
                assert.ok(proxy.stats.resets > 0 && proxy.stats.stalls > 0, JSON.stringify(proxy.stats));
            } finally {
                await proxy.close();
            }
        });

        it("the skopeo copy with the slow-link profile's retries ends with identical digests through the proxy", async () => {
            const [host, port] = china.host.split(":");
            const proxy = await startFaultProxy({
                target: { host, port: Number(port) },
                resetRate: 0.25,
                stallRate: 0.15,
                stallMs: 800,
                seed: 11,
            });
            try {
                // The inventory's destination is the proxy: every push to the China registry goes through it.
                const inventory = await renderInventory(path.join(work, "faults-copy"), {
                    upstream: upstream.host,
                    china: proxy.host,
                    origin: proxy.host,
                    pinned: seeded.pinned,
                    layout: "flat",
                });
                // This test is about skopeo's retries under faults; chart pushes are covered above.
                fs.writeFileSync(path.join(inventory, "charts.txt"), "# no charts\n");
                const script = fs.readFileSync(path.join(inventory, "copy.sh"), "utf8");
                assert.match(script, /RETRIES="\$\{RETRIES:-8\}"/, "the china profile's sync retries");
                assert.match(script, /ATTEMPTS="\$\{ATTEMPTS:-5\}"/, "the china profile's whole-image attempts");
                const r = await copyAsync(inventory);
                assert.strictEqual(r.status, 0, r.stderr);
                for (const e of parseInventory(
                    fs.readFileSync(path.join(inventory, "images.txt"), "utf8"),
                    "images.txt",
                )) {
                    const direct = `${china.host}/${e.destination.path}:${e.destination.tag}`;
                    assert.strictEqual(digestOf(direct), seeded[e.source.path.split("/")[1]], direct);
                }
                assert.ok(proxy.stats.resets > 0, JSON.stringify(proxy.stats));
            } finally {
                await proxy.close();
            }
        });
    });

    it("parses the inventory strictly, naming file and line", () => {
        assert.throws(
            () => parseInventory("# x\ndocker://a/b:1\n", "inv.txt"),
            /inv\.txt:2: expected "docker:\/\/SOURCE docker:\/\/DESTINATION"/,
        );
        assert.strictEqual(parseNormalizedNamed("a/b:1").domain, "docker.io");
    });
});
