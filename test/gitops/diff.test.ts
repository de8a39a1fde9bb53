/**
 * `crossborder diff` on two renders of the ten corpus charts, one value and one chart version changed: it
 * names exactly what changed, as Flux would apply it (HelmReleases rendered on the real helm), and the same
 * input gives the same bytes.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import * as tar from "tar";
import { parse, stringify } from "yaml";
import { parseCatalog } from "../../gitops/catalog";
import { diffText, diffTrees, hasChanges } from "../../gitops/diff";
import { RenderCache } from "../../gitops/engine/cache";
import { archivePath, lockText, readLock, sha256File } from "../../gitops/engine/charts";
import { writeTree } from "../../gitops/writer";
import { requireCorpus } from "../corpus";
import { corpusSetup, CorpusSetup, mirrors, renderCatalog } from "../engine-fixtures";
import { runCli, tempDir } from "../helpers";
import { fluxRelease, DEFAULT_FLUX_VERSION } from "../../core/flux-releases";

/** `archive` with its Chart.yaml version set to `version`, written where the cache keeps that version. */
async function bumped(archive: string, into: string, version: string): Promise<string> {
    const dir = tempDir("bump");
    await tar.x({ file: archive, cwd: dir });
    const top = fs.readdirSync(dir)[0];
    const chartYaml = path.join(dir, top, "Chart.yaml");
    fs.writeFileSync(chartYaml, fs.readFileSync(chartYaml, "utf8").replace(/^version: .*$/m, `version: ${version}`));
    fs.mkdirSync(path.dirname(into), { recursive: true });
    await tar.c({ gzip: false, cwd: dir, file: `${into}.tar`, portable: true }, [top]);
    fs.writeFileSync(into, zlib.gzipSync(fs.readFileSync(`${into}.tar`)));
    fs.rmSync(`${into}.tar`);
    return into;
}

describe("crossborder diff (the ten corpus charts, rendered on the engine)", function () {
    this.timeout(600_000);
    let setup: CorpusSetup;
    let oldTree: string;
    let newTree: string;

    before(async function () {
        requireCorpus(this);
        setup = corpusSetup();
        const cache = new RenderCache(path.join(tempDir("diff-renders"), "r"));
        /** The corpus catalog, as it is now on disk, rendered into `tree`. */
        const renderInto = async (tree: string) =>
            writeTree(
                tree,
                (
                    await renderCatalog(parseCatalog(fs.readFileSync(setup.catalogFile, "utf8"), setup.catalogFile), {
                        chartCache: setup.chartCache,
                        cache,
                    })
                ).files,
            );
        oldTree = path.join(tempDir("diff-old"), "tree");
        await renderInto(oldTree);
        // The change: metrics-server to a new chart version, and one value of grafana.
        const ms = setup.charts.find((c) => c.name === "metrics-server")!;
        const next = { ...ms.ref, version: "3.13.2" };
        const archive = await bumped(ms.archive, archivePath(setup.chartCache, next), "3.13.2");
        const lock = readLock(path.join(setup.dir, "catalog.lock"))!;
        fs.writeFileSync(
            path.join(setup.dir, "catalog.lock"),
            lockText([...lock.entries, { ...next, sha256: sha256File(archive) }]),
        );
        const data = parse(fs.readFileSync(setup.catalogFile, "utf8"));
        for (const r of data.releases) {
            if (r.name === "metrics-server") r.chart.version = "3.13.2";
            if (r.name === "grafana") r.values = { ...r.values, replicas: 3 };
        }
        fs.writeFileSync(setup.catalogFile, stringify(data));
        newTree = path.join(tempDir("diff-new"), "tree");
        await renderInto(newTree);
    });

    const diff = () =>
        diffTrees(oldTree, newTree, {
            mirrors,
            chartCache: setup.chartCache,
            lock: readLock(path.join(setup.dir, "catalog.lock")),
            flux: fluxRelease(DEFAULT_FLUX_VERSION)!,
            cache: new RenderCache(path.join(tempDir("diff-cache"), "r")),
        });

    /** The first diff, rendered with a fresh cache: the next test compares another fresh one with it. */
    let first: ReturnType<typeof diff> | undefined;
    const firstDiff = () => (first ??= diff());

    it("names exactly what changed: the two releases' sources, HelmReleases and rendered objects, and the chart to copy", async () => {
        const r = await firstDiff();
        assert.deepStrictEqual(r.problems, []);
        assert.deepStrictEqual(r.notRendered, [], "every release rendered on both sides");
        for (const c of r.clusters) {
            assert.deepStrictEqual([c.added, c.removed], [[], []], c.name);
            assert.ok(c.changed.length > 0, c.name);
            for (const k of c.changed)
                assert.match(k, /metrics-server|grafana/, `${c.name}: only the changed releases: ${k}`);
            assert.ok(
                c.changed.includes("helm.toolkit.fluxcd.io/v2 HelmRelease grafana/grafana"),
                c.changed.join("\n"),
            );
            assert.ok(
                c.changed.some((k) =>
                    /^helm\.toolkit\.fluxcd\.io\/v2 HelmRelease grafana\/grafana renders apps\/v1 Deployment grafana\/grafana$/.test(
                        k,
                    ),
                ),
                c.changed.join("\n"),
            );
            assert.ok(
                c.changed.some((k) => /HelmRelease metrics-server\/metrics-server renders apps\/v1 Deployment/.test(k)),
            );
        }
        const china = r.clusters.find((c) => c.name === "china")!;
        assert.ok(
            china.changed.includes("source.toolkit.fluxcd.io/v1 OCIRepository metrics-server/metrics-server"),
            china.changed.join("\n"),
        );
        assert.deepStrictEqual(r.images, { copy: [], unused: [] }, "the same images: nothing new to copy");
        assert.strictEqual(r.charts.copy.length, 1);
        assert.match(
            r.charts.copy[0],
            /^https:\/\/charts\.example\.com\/metrics-server metrics-server 3\.13\.2 oci:\/\/\S+\/platform\/metrics-server [0-9a-f]{64}$/,
        );
        assert.match(r.charts.unused[0], / metrics-server 3\.13\.1 /);
        assert.deepStrictEqual(r.hosts, []);
        assert.ok(hasChanges(r));
    });

    it("gives the same bytes on every run, and through the command, exit 1", async () => {
        const [a, b] = [diffText(await firstDiff()), diffText(await diff())];
        assert.strictEqual(a, b);
        const cli = runCli(["diff", oldTree, newTree, "--charts", setup.chartCache, "--catalog", setup.catalogFile]);
        assert.strictEqual(cli.status, 1, cli.stderr);
        assert.strictEqual(cli.stdout, `${a}\n`);
        const same = runCli(["diff", newTree, newTree, "--charts", setup.chartCache, "--catalog", setup.catalogFile]);
        assert.strictEqual(same.status, 0, same.stdout + same.stderr);
        assert.match(same.stdout, /^changes: none$/m);
    });
});
