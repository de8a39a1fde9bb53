/**
 * Day two across the border, with real registries on loopback (Debian's docker-registry as the upstream, the
 * ACR EE origin and the China instance; replication done by copying origin to China with the same digests):
 * an upgrade of the example-style chart that adds an image is published, and the tag the china cluster's Flux
 * follows does not move until that image is in "China"; after the copy and the replication it moves, to the
 * published digest. A render killed mid-write is refused by publish.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { parseCatalog } from "../../gitops/catalog";
import { clusterSettings } from "../../stacks/gitops-inputs";
import { RenderCache } from "../../gitops/engine/cache";
import { archivePath, lockText, readLock, sha256File } from "../../gitops/engine/charts";
import { parseMirrors } from "../../core/mirrors";
import { renderTree } from "../../gitops/render";
import { JOURNAL_FILE, writeTree } from "../../gitops/writer";
import { packageChart, writeChart } from "../engine-fixtures";
import { ROOT, runCliAsync, tempDir } from "../helpers";
import {
    digestOf,
    ociImage,
    push,
    Registry,
    replicate,
    requireRegistryTools,
    seedFlux,
    startRegistry,
} from "./harness";

const MIRRORS = `version: 1
chinaHosts:
  - "{{ chinaRegistry }}"
targets:
  china:
    kind: registry
    host: "{{ chinaRegistry }}"
    namespace: "{{ registryNamespace }}"
    layout: flat
upstreams:
  default: china
charts:
  default: china
`;

const deployment = (images: string[]) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
${images.map((image, i) => `        - {name: c${i}, image: "${image}"}`).join("\n")}
`;

describe("the gate: a new tree reaches China only after everything it pulls (real registries)", function () {
    this.timeout(300_000);
    let work: string;
    let upstream: Registry;
    let origin: Registry;
    let china: Registry;

    before(async function () {
        requireRegistryTools(this);
        work = tempDir("gate");
        upstream = await startRegistry(path.join(work, "upstream"));
        origin = await startRegistry(path.join(work, "origin"));
        china = await startRegistry(path.join(work, "china"));
        push(ociImage(work, "1.0", "app 1.0"), "1.0", `${upstream.host}/test/app:1.0`);
        push(ociImage(work, "2.0", "extra 2.0"), "2.0", `${upstream.host}/test/extra:2.0`);
        seedFlux(work, upstream.host);
    });

    after(() => {
        for (const r of [upstream, origin, china]) r?.stop();
    });

    /** Render the catalog whose local chart deploys `images` at `version` into `tree`. */
    async function render(tree: string, version: string, images: string[]): Promise<void> {
        const src = path.join(work, `catalog-${version}`);
        writeChart(src, "app", { "templates/deploy.yaml": deployment(images) }, version);
        const cacheDir = path.join(work, "charts");
        const flux = { repository: `oci://${upstream.host}/charts`, name: "flux2", version: "1.0.0" };
        const archive = archivePath(cacheDir, flux);
        if (!fs.existsSync(archive))
            packageChart(writeChart(path.join(work, "flux-src"), "flux2", {}, "1.0.0"), path.dirname(archive));
        fs.writeFileSync(path.join(src, "catalog.lock"), lockText([{ ...flux, sha256: sha256File(archive) }]));
        const catalog = parseCatalog(
            stringify({
                version: 1,
                flux: { registry: `${upstream.host}/fluxcd`, chart: flux },
                platform: { ecrRefresherImage: `${upstream.host}/test/app:1.0` },
                releases: [{ name: "app", namespace: "app", chart: { path: "app" }, clusters: ["china"] }],
            }),
            path.join(src, "catalog.yaml"),
        );
        const vars = { chinaRegistry: china.host, registryNamespace: "platform" };
        const out = await renderTree({
            catalog,
            mirrors: parseMirrors(MIRRORS, "mirrors.yaml", vars),
            vars,
            originRegistry: origin.host,
            clusters: clusterSettings({ stacksDir: path.join(ROOT, "stacks") }),
            charts: { cacheDir, lock: readLock(path.join(src, "catalog.lock")) },
            engine: { cache: new RenderCache(path.join(work, "renders")) },
        });
        writeTree(tree, out.files, { force: true });
    }

    const copy = (tree: string) => {
        const r = spawnSync("sh", [path.join(tree, "inventory", "copy.sh")], {
            encoding: "utf8",
            env: {
                ...process.env,
                SKOPEO_FLAGS: "--src-tls-verify=false --dest-tls-verify=false",
                HELM_PUSH_FLAGS: "--plain-http",
                CHARTS: path.join(work, "charts"),
                PATH: `${path.join(ROOT, ".tools", "bin")}:${process.env.PATH}`,
            },
        });
        assert.strictEqual(r.status, 0, r.stderr);
    };
    const publish = (tree: string) =>
        runCliAsync([
            "publish",
            "--tree",
            tree,
            "--registry",
            origin.host,
            "--repository",
            "platform/fleet",
            "--plain-http",
        ]);
    const promote = (tree: string) =>
        runCliAsync([
            "promote",
            "--tree",
            tree,
            "--registry",
            origin.host,
            "--china",
            china.host,
            "--repository",
            "platform/fleet",
            "--plain-http",
        ]);
    const followedInChina = () => {
        const r = spawnSync("skopeo", [
            "inspect",
            "--raw",
            "--tls-verify=false",
            `docker://${china.host}/platform/fleet:china`,
        ]);
        return r.status === 0 ? digestOf(`${china.host}/platform/fleet:china`) : undefined;
    };
    const digestIn = (stdout: string) => /^digest (sha256:[a-f0-9]{64})$/m.exec(stdout)![1];

    it("moves the followed tag only once China holds every image, chart and artifact of the new tree", async () => {
        const tree = path.join(work, "fleet");
        // Day one: everything copied, published, replicated; promote moves the tag.
        await render(tree, "0.1.0", [`${upstream.host}/test/app:1.0`]);
        copy(tree);
        const v1 = await publish(tree);
        assert.strictEqual(v1.status, 0, v1.stderr);
        assert.match(
            v1.stdout,
            /platform\/fleet:china-candidate@/,
            "publish pushes a candidate, never the followed tag",
        );
        await replicate(origin.host, china.host, "platform");
        assert.strictEqual(followedInChina(), undefined, "nothing followed yet");
        const first = await promote(tree);
        assert.strictEqual(first.status, 0, first.stdout + first.stderr);
        await replicate(origin.host, china.host, "platform");
        assert.strictEqual(followedInChina(), digestIn(v1.stdout));

        // Day two: the chart adds an image. Published and replicated, but the image was never copied.
        await render(tree, "0.2.0", [`${upstream.host}/test/app:1.0`, `${upstream.host}/test/extra:2.0`]);
        const v2 = await publish(tree);
        assert.strictEqual(v2.status, 0, v2.stderr);
        assert.notStrictEqual(digestIn(v2.stdout), digestIn(v1.stdout));
        await replicate(origin.host, china.host, "platform");
        const blocked = await promote(tree);
        assert.strictEqual(blocked.status, 1, blocked.stdout + blocked.stderr);
        assert.match(blocked.stdout, /^NOT PROMOTED: /m);
        assert.match(
            blocked.stdout,
            /image \S+\/test\/extra:2\.0 \(\S+images\.txt:\d+\) as \S+: not in the origin either: run inventory\/copy\.sh/,
        );
        assert.doesNotMatch(blocked.stdout, /test\/app:1\.0/, "what is there is not named");
        await replicate(origin.host, china.host, "platform");
        assert.strictEqual(followedInChina(), digestIn(v1.stdout), "Flux in China still follows the old tree");

        // Copied into the origin, not yet replicated: told apart, with the backfill hint.
        copy(tree);
        const unreplicated = await promote(tree);
        assert.strictEqual(unreplicated.status, 1);
        assert.match(unreplicated.stdout, /test\/extra:2\.0 .*: in the origin but not in China: backfill it/);

        // Replicated: the tag moves, to exactly the published digest.
        await replicate(origin.host, china.host, "platform");
        const moved = await promote(tree);
        assert.strictEqual(moved.status, 0, moved.stdout + moved.stderr);
        assert.match(moved.stdout, new RegExp(`promoted: \\S+/platform/fleet:china -> ${digestIn(v2.stdout)}`));
        await replicate(origin.host, china.host, "platform");
        assert.strictEqual(followedInChina(), digestIn(v2.stdout));
    });

    it("refuses to publish a tree a killed render left half written, and the followed tag by hand", async () => {
        const tree = path.join(work, "half");
        await render(tree, "0.1.0", [`${upstream.host}/test/app:1.0`]);
        fs.writeFileSync(path.join(tree, JOURNAL_FILE), JSON.stringify({ version: 1, state: "committed" }));
        const r = await publish(tree);
        assert.strictEqual(r.status, 2, r.stdout + r.stderr);
        assert.match(r.stderr, /journal\.json: a crossborder render into \S+ did not finish/);
        fs.rmSync(path.join(tree, JOURNAL_FILE));
        const byHand = await runCliAsync([
            "publish",
            "--tree",
            tree,
            "--registry",
            origin.host,
            "--plain-http",
            "--tag",
            "china",
        ]);
        assert.strictEqual(byHand.status, 2);
        assert.match(byHand.stderr, /--tag china is the tag the china cluster's Flux follows/);
    });
});
