/**
 * `crossborder charts pull` against real chart sources on loopback: a Helm repository (an index made by
 * `helm repo index`, served over HTTP) and an OCI registry (Debian's docker-registry, the chart pushed with
 * `helm push`). The archives land in the cache by repository, their sha256 in the lock beside the catalog;
 * a chart republished under the same version with other bytes is refused until --update.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { stringify } from "yaml";
import { archivePath, readLock, sha256File } from "../../gitops/engine/charts";
import { locateTool } from "../../gitops/engine/tools";
import { packageChart, writeChart } from "../engine-fixtures";
import { certificates, runCliAsync, tempDir } from "../helpers";
import { Registry, requireRegistryTools, startRegistry } from "../registry/harness";

function helm(args: string[], env: NodeJS.ProcessEnv = {}): void {
    const r = spawnSync(locateTool("helm"), args, { encoding: "utf8", env: { ...process.env, ...env } });
    if (r.status !== 0) throw new Error(`helm ${args.join(" ")}: ${r.stderr}`);
}

/** A Helm repository served from a folder over HTTPS on loopback. */
async function serveRepo(
    dir: string,
    tls: { key: string; cert: string },
): Promise<{ url: string; close: () => Promise<void> }> {
    const server = https.createServer(
        { key: fs.readFileSync(tls.key), cert: fs.readFileSync(tls.cert) },
        (req, res) => {
            const file = path.join(dir, decodeURIComponent(new URL(req.url!, "http://x").pathname));
            if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
                res.writeHead(404).end();
                return;
            }
            res.writeHead(200).end(fs.readFileSync(file));
        },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as import("net").AddressInfo;
    return { url: `https://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe("crossborder charts pull", function () {
    this.timeout(120_000);
    let work: string;
    let registry: Registry;
    let repo: { url: string; close: () => Promise<void> };
    let helmEnv: NodeJS.ProcessEnv;
    /** The loopback repository's key and certificate, and the CA helm trusts through SSL_CERT_FILE. */
    let tls: { key: string; cert: string; ca: string };
    /** crossborder with helm trusting the loopback repository's certificate (Go reads SSL_CERT_FILE). */
    const cli = (args: string[]) => runCliAsync(args, { env: { SSL_CERT_FILE: tls.ca } });
    const chartSource = (name: string, image: string) =>
        writeChart(
            path.join(work, "src", name + image.replace(/\W/g, "")),
            name,
            {
                "templates/pod.yaml": `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: ${image}}]}\n`,
            },
            "1.0.0",
        );

    before(async function () {
        requireRegistryTools(this);
        work = tempDir("pull");
        certificates(work, ["127.0.0.1"]);
        tls = { key: path.join(work, "srv.key"), cert: path.join(work, "srv.pem"), ca: path.join(work, "ca.pem") };
        helmEnv = {
            HELM_CONFIG_HOME: path.join(work, "helm-config"),
            HELM_CACHE_HOME: path.join(work, "helm-cache"),
            HELM_DATA_HOME: path.join(work, "helm-data"),
            SSL_CERT_FILE: tls.ca,
        };
        registry = await startRegistry(path.join(work, "registry"));
        // The OCI chart, pushed by helm itself.
        helm(
            [
                "push",
                packageChart(chartSource("oci-app", "ghcr.io/acme/oci-app:1"), path.join(work, "pkg")),
                `oci://${registry.host}/charts`,
                "--plain-http",
            ],
            helmEnv,
        );
        // The Helm repository: an archive and the index helm writes for it.
        const repoDir = path.join(work, "repo");
        packageChart(chartSource("web", "ghcr.io/acme/web:1"), repoDir);
        repo = await serveRepo(repoDir, tls);
        helm(["repo", "index", repoDir, "--url", repo.url], helmEnv);
    });

    after(async () => {
        registry?.stop();
        await repo?.close();
    });

    const catalog = () => {
        const dir = path.join(work, "fleet");
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, "catalog.yaml");
        fs.writeFileSync(
            file,
            stringify({
                version: 1,
                flux: { chart: { repository: `oci://${registry.host}/charts`, name: "oci-app", version: "1.0.0" } },
                releases: [
                    { name: "web", chart: { repository: repo.url, name: "web", version: "1.0.0" } },
                    {
                        name: "api",
                        chart: { repository: `oci://${registry.host}/charts`, name: "oci-app", version: "1.0.0" },
                    },
                ],
            }),
        );
        return file;
    };

    it("fetches every chart at its exact version into the cache and locks its sha256", async () => {
        const file = catalog();
        const cache = path.join(work, "cache");
        const r = await cli(["charts", "pull", "--catalog", file, "--charts", cache, "--plain-http"]);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /^pulled {2}https:\/\/127\.0\.0\.1:\d+ web 1\.0\.0 {2}sha256:[0-9a-f]{64}$/m);
        assert.match(r.stdout, /^pulled {2}oci:\/\/127\.0\.0\.1:\d+\/charts oci-app 1\.0\.0 {2}sha256:[0-9a-f]{64}$/m);
        const lock = readLock(path.join(path.dirname(file), "catalog.lock"))!;
        assert.strictEqual(lock.entries.length, 2, "the flux chart and the api release share one entry");
        for (const e of lock.entries) assert.strictEqual(sha256File(archivePath(cache, e)), e.sha256, e.name);
        const again = await cli(["charts", "pull", "--catalog", file, "--charts", cache, "--plain-http"]);
        assert.strictEqual(again.status, 0, again.stderr);
        assert.match(again.stdout, /^cached {2}https/m);
        assert.match(again.stdout, /unchanged: \S+catalog\.lock$/m);
    });

    it("refuses a chart republished under the same version with other bytes, until --update", async () => {
        const file = catalog();
        const cache = path.join(work, "cache2");
        assert.strictEqual(
            (await cli(["charts", "pull", "--catalog", file, "--charts", cache, "--plain-http"])).status,
            0,
        );
        const before = fs.readFileSync(path.join(path.dirname(file), "catalog.lock"), "utf8");
        // Republish web 1.0.0 with another image, under the same version.
        packageChart(chartSource("web", "ghcr.io/acme/evil:1"), path.join(work, "repo"));
        helm(["repo", "index", path.join(work, "repo"), "--url", repo.url], helmEnv);
        const fresh = path.join(work, "cache3");
        const r = await cli(["charts", "pull", "--catalog", file, "--charts", fresh, "--plain-http"]);
        assert.strictEqual(r.status, 2);
        assert.match(
            r.stderr,
            /chart https:\/\/127\.0\.0\.1:\d+ web 1\.0\.0: the repository now serves sha256 [0-9a-f]{64}, but \S+catalog\.lock locks [0-9a-f]{64}\. The chart was republished under the same version; check why, then run crossborder charts pull --update to accept it/,
        );
        assert.strictEqual(
            fs.readFileSync(path.join(path.dirname(file), "catalog.lock"), "utf8"),
            before,
            "the lock is untouched",
        );
        const u = await cli(["charts", "pull", "--catalog", file, "--charts", fresh, "--plain-http", "--update"]);
        assert.strictEqual(u.status, 0, u.stderr);
        assert.notStrictEqual(fs.readFileSync(path.join(path.dirname(file), "catalog.lock"), "utf8"), before);
    });

    it("exits 2 naming the chart and quoting helm when a version does not exist", async () => {
        const dir = path.join(work, "missing");
        fs.mkdirSync(dir);
        fs.writeFileSync(
            path.join(dir, "catalog.yaml"),
            stringify({
                version: 1,
                flux: { chart: { repository: repo.url, name: "web", version: "1.0.0" } },
                releases: [{ name: "web", chart: { repository: repo.url, name: "web", version: "9.9.9" } }],
            }),
        );
        const r = await cli([
            "charts",
            "pull",
            "--catalog",
            path.join(dir, "catalog.yaml"),
            "--charts",
            path.join(dir, "cache"),
        ]);
        assert.strictEqual(r.status, 2);
        assert.match(r.stderr, /chart https:\/\/127\.0\.0\.1:\d+ web 9\.9\.9: helm pull failed:\n {2}\| .*9\.9\.9/);
        assert.ok(!fs.existsSync(path.join(dir, "catalog.lock")), "no lock for a pull that failed");
    });
});

describe("charts placed by hand (no network)", () => {
    /** A catalog with one chart from a repository nobody can reach, and the chart packaged locally. */
    function setUp() {
        const dir = tempDir("charts-add");
        const catalog = path.join(dir, "catalog.yaml");
        fs.writeFileSync(
            catalog,
            stringify({
                version: 1,
                releases: [
                    {
                        name: "web",
                        namespace: "web",
                        chart: {
                            repository: "https://charts.unreachable.invalid/stable",
                            name: "web",
                            version: "1.0.0",
                        },
                    },
                ],
            }),
        );
        const archive = packageChart(
            writeChart(
                path.join(dir, "src"),
                "web",
                { "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n" },
                "1.0.0",
            ),
            path.join(dir, "carried"),
        );
        return { dir, catalog, archive, cache: path.join(dir, "cache") };
    }
    const ref = { repository: "https://charts.unreachable.invalid/stable", name: "web", version: "1.0.0" };

    it("charts add puts an archive into the cache and the lock, and render uses it", async () => {
        const s = setUp();
        const r = await runCliAsync(["charts", "add", s.archive, "--catalog", s.catalog, "--charts", s.cache]);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(
            r.stdout,
            /^added {3}https:\/\/charts\.unreachable\.invalid\/stable web 1\.0\.0 {2}sha256:[0-9a-f]{64}$/m,
        );
        const lock = readLock(path.join(s.dir, "catalog.lock"))!;
        assert.deepStrictEqual(lock.entries, [{ ...ref, sha256: sha256File(s.archive) }]);
        assert.strictEqual(sha256File(archivePath(s.cache, ref)), sha256File(s.archive));
        const render = await runCliAsync([
            "render",
            "--catalog",
            s.catalog,
            "--charts",
            s.cache,
            "--out",
            path.join(s.dir, "out"),
            "--strict",
        ]);
        assert.strictEqual(render.status, 0, render.stderr);
    });

    it("charts pull takes an archive already in the cache as it is, without the network", async () => {
        const s = setUp();
        fs.mkdirSync(path.dirname(archivePath(s.cache, ref)), { recursive: true });
        fs.copyFileSync(s.archive, archivePath(s.cache, ref));
        // Flux's chart too (the catalog's default), carried in the same way.
        const flux = { repository: "https://fluxcd-community.github.io/helm-charts", name: "flux2", version: "2.18.3" };
        const fluxArchive = packageChart(
            writeChart(path.join(s.dir, "flux-src"), "flux2", {}, "2.18.3"),
            path.dirname(archivePath(s.cache, flux)),
        );
        const r = await runCliAsync(["charts", "pull", "--catalog", s.catalog, "--charts", s.cache]);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(readLock(path.join(s.dir, "catalog.lock"))!.entries, [
            { ...ref, sha256: sha256File(s.archive) },
            { ...flux, sha256: sha256File(fluxArchive) },
        ]);
    });

    it("refuses an archive the catalog does not name, other bytes than locked, and a lock with two entries for one chart", async () => {
        const s = setUp();
        const other = packageChart(
            writeChart(path.join(s.dir, "other"), "web", {}, "2.0.0"),
            path.join(s.dir, "other-pkg"),
        );
        const r = await runCliAsync(["charts", "add", other, "--catalog", s.catalog, "--charts", s.cache]);
        assert.strictEqual(r.status, 2);
        assert.match(r.stderr, /web-2\.0\.0\.tgz: chart web 2\.0\.0 is not in the catalog/);
        assert.ok(!fs.existsSync(path.join(s.dir, "catalog.lock")), "nothing written");
        await runCliAsync(["charts", "add", s.archive, "--catalog", s.catalog, "--charts", s.cache]);
        const changed = packageChart(
            writeChart(
                path.join(s.dir, "changed"),
                "web",
                { "templates/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n" },
                "1.0.0",
            ),
            path.join(s.dir, "changed-pkg"),
        );
        const again = await runCliAsync(["charts", "add", changed, "--catalog", s.catalog, "--charts", s.cache]);
        assert.strictEqual(again.status, 2);
        assert.match(again.stderr, /other bytes than the ones locked; check where they came from, or pass --update/);
        const lockFile = path.join(s.dir, "catalog.lock");
        fs.appendFileSync(lockFile, fs.readFileSync(lockFile, "utf8").split("charts:\n")[1]);
        const dup = await runCliAsync([
            "render",
            "--catalog",
            s.catalog,
            "--charts",
            s.cache,
            "--out",
            path.join(s.dir, "out"),
        ]);
        assert.strictEqual(dup.status, 2);
        assert.match(
            dup.stderr,
            /catalog\.lock:\d+: charts\[1\] is https:\/\/charts\.unreachable\.invalid\/stable web 1\.0\.0 again \(charts\[0\] already locks it\); a lock holds one entry per chart/,
        );
    });
});
