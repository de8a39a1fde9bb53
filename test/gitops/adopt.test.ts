/**
 * `crossborder adopt` on whole fleets: the corpus fleet (flux2-kustomize-helm-example, unchanged) and a fleet
 * of our own in another shape. The result is judged by the real engines, not by crossborder's own claims:
 * `kubectl kustomize` builds every china overlay, `helm template` renders every HelmRelease it yields with
 * its values, kustomize applies its post-renderers, and every image of that output must come from the China
 * registry and be in the inventory. Then `crossborder audit --strict` must agree, a second run must change no
 * byte, and the fleet's own files must be untouched. What cannot be adopted is named, and the audit fails.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml, parseAllDocuments, stringify } from "yaml";
import { locateTool } from "../../gitops/engine/tools";
import { corpusFile, requireCorpus } from "../corpus";
import { corpusFleet, Fleet, ownFleet } from "../fleet-fixtures";
import { fileHashes, runCliAsync, tempDir } from "../helpers";
import { runInProcess } from "../cli/in-process";

const CHINA = "crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com";

type Doc = Record<string, any>;

const snapshot = fileHashes;

// In process (test/cli/in-process.ts): the usage test below runs the binary.
const adopt = (fleet: Fleet, from: string, extra: string[] = []) =>
    runInProcess(["adopt", fleet.dir, "--from", from, "--charts", fleet.cache, ...fleet.catalogArgs, ...extra]);
const audit = (fleet: Fleet, extra: string[] = []) =>
    runInProcess([
        "audit",
        fleet.dir,
        "--strict",
        "--lock",
        path.join(fleet.dir, "inventory", "charts.lock"),
        "--charts",
        fleet.cache,
        ...fleet.catalogArgs,
        ...extra,
    ]);

function docs(text: string): Doc[] {
    return parseAllDocuments(text)
        .map((d) => d.toJS())
        .filter((d) => d && typeof d === "object");
}

const kustomize = (dir: string) =>
    execFileSync(locateTool("kubectl"), ["kustomize", "--load-restrictor", "LoadRestrictionsNone", dir], {
        encoding: "utf8",
        maxBuffer: 64 << 20,
        timeout: 60_000,
    });

/** Every image reference in an object: `image` fields, and `image: x` lines inside strings (operator configs). */
function imagesIn(value: unknown, key = "", out: string[] = []): string[] {
    if (Array.isArray(value)) value.forEach((v) => imagesIn(v, key, out));
    else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) imagesIn(v, k, out);
    else if (typeof value === "string") {
        if (key === "image" && value) out.push(value);
        for (const m of value.matchAll(/^\s*image:\s*["']?([^\s"']+)/gm)) out.push(m[1]);
    }
    return out;
}

/**
 * What the china cluster runs, with the real tools only: each overlay the clusters/china Kustomizations name,
 * built by kustomize; each HelmRelease rendered by helm with its values (tests aside: Flux runs them only with
 * spec.test.enable) and post-rendered by kustomize; every image of every object.
 */
function chinaImages(fleet: Fleet): string[] {
    const root = docs(kustomize(path.join(fleet.dir, "clusters", "china")));
    const paths = root.filter((d) => d.kind === "Kustomization").map((d) => String(d.spec.path));
    const built: Doc[] = [...root];
    const queue = [...paths];
    while (queue.length) {
        const out = docs(kustomize(path.join(fleet.dir, queue.shift()!)));
        built.push(...out);
        for (const k of out.filter((d) => d.kind === "Kustomization" && /fluxcd/.test(d.apiVersion)))
            queue.push(String(k.spec.path));
    }
    const images: string[] = [];
    const lock = parseYaml(fs.readFileSync(path.join(fleet.dir, "inventory", "charts.lock"), "utf8"));
    for (const hr of built.filter((d) => d.kind === "HelmRelease")) {
        const ns = hr.metadata.namespace;
        const src = built.find(
            (d) =>
                d.kind === "OCIRepository" && d.metadata.name === hr.spec.chartRef?.name && d.metadata.namespace === ns,
        );
        assert.ok(src, `HelmRelease ${ns}/${hr.metadata.name} names an OCIRepository of the overlay`);
        assert.ok(String(src.spec.url).startsWith(`oci://${CHINA}/`), `${src.spec.url} is the China registry`);
        const name = String(src.spec.url).split("/").pop();
        const entry = lock.charts.find((c: Doc) => c.name === name && c.version === src.spec.ref.tag);
        assert.ok(entry, `${name} ${src.spec.ref.tag} is locked`);
        const host = new URL(entry.repository.replace(/^oci:/, "https:")).host;
        const archive = execFileSync("find", [path.join(fleet.cache, host), "-name", `${name}-${entry.version}.tgz`], {
            encoding: "utf8",
        }).trim();
        const work = tempDir("adopt-render");
        fs.writeFileSync(path.join(work, "values.yaml"), stringify(hr.spec.values ?? {}));
        // helm-controller's release name and namespace: targetNamespace, then releaseName or <targetNamespace>-<name>.
        const target = hr.spec.targetNamespace;
        const release = hr.spec.releaseName ?? (target ? `${target}-${hr.metadata.name}` : hr.metadata.name);
        const rendered = execFileSync(
            locateTool("helm"),
            ["template", release, archive, "-n", target ?? ns, "-f", path.join(work, "values.yaml")],
            { encoding: "utf8", maxBuffer: 64 << 20, timeout: 60_000 },
        );
        // helm's own text, tests aside: re-serialized YAML could read differently to kustomize's parser.
        const kept = rendered.split(/^---[ \t]*$/m).filter((d) => {
            const o = parseYaml(d);
            return o && typeof o === "object" && !/test/.test(String(o.metadata?.annotations?.["helm.sh/hook"] ?? ""));
        });
        fs.writeFileSync(path.join(work, "out.yaml"), kept.map((d) => `---${d}`).join("\n"));
        const k: Doc = { resources: ["out.yaml"], images: [], patches: [] };
        for (const pr of hr.spec.postRenderers ?? []) {
            k.images.push(...(pr.kustomize?.images ?? []));
            k.patches.push(...(pr.kustomize?.patches ?? []));
        }
        fs.writeFileSync(path.join(work, "kustomization.yaml"), stringify(k));
        for (const o of docs(kustomize(work))) imagesIn(o, "", images);
    }
    for (const o of built.filter((d) => !/fluxcd\.io\//.test(String(d.apiVersion)))) imagesIn(o, "", images);
    return [...new Set(images)].sort();
}

/** Every China image must be one inventory/images.txt copies there (same path and tag). */
function assertInInventory(fleet: Fleet, images: readonly string[]): void {
    const destinations = fs
        .readFileSync(path.join(fleet.dir, "inventory", "images.txt"), "utf8")
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => l.split(" ")[1].replace(/^docker:\/\/[^/]+\//, ""));
    for (const i of images) {
        const rest = i.slice(CHINA.length + 1);
        assert.ok(destinations.includes(rest), `${i} is copied by inventory/images.txt`);
    }
}

describe("crossborder adopt", function () {
    this.timeout(300_000);
    before(function () {
        requireCorpus(this);
    });

    it("adopts flux2-kustomize-helm-example: the real render pulls only from China, all of it in the inventory, the audit agrees, a second run changes nothing", async () => {
        const fleet = corpusFleet();
        const before = snapshot(fleet.dir);
        const first = await adopt(fleet, "clusters/production");
        assert.equal(first.status, 0, first.stdout + first.stderr);
        assert.match(first.stdout, /3 rendered and proven on the Helm engine/);
        const after = snapshot(fleet.dir);
        for (const [p, hash] of before) assert.equal(after.get(p), hash, `${p}, the fleet's own file, is unchanged`);
        const added = [...after.keys()].filter((p) => !before.has(p));
        assert.ok(
            added.every((p) => /^(clusters\/china|china|inventory|\.crossborder)\//.test(p)),
            added.join(", "),
        );

        const images = chinaImages(fleet);
        // cert-manager 4 (startupapicheck a hook moved through values) + acmesolver, envoy gateway, ratelimit and
        // the Envoy proxy its operator pulls at runtime, podinfo and redis.
        assert.ok(images.length >= 9, images.join("\n"));
        assert.deepEqual(
            images.filter((i) => !i.startsWith(`${CHINA}/`)),
            [],
            "every image the china cluster runs comes from the China registry",
        );
        assert.ok(
            images.some((i) => /envoyproxy_s_envoy:distroless-v1\.39\.0$/.test(i)),
            images.join("\n"),
        );
        assertInInventory(fleet, images);

        const judged = await audit(fleet, ["--json"]);
        assert.equal(judged.status, 0, judged.stdout + judged.stderr);
        const report = JSON.parse(judged.stdout);
        const china = report.clusters.find((c: Doc) => c.name === "china");
        assert.equal(china.releases.filter((r: Doc) => r.rendered).length, 3);
        assert.match(report.fluxSchemas, /flux2 2\.18\.3/);

        const second = await adopt(fleet, "clusters/production");
        assert.equal(second.status, 0, second.stderr);
        assert.match(second.stdout, /up to date/);
        assert.deepEqual(snapshot(fleet.dir), after, "a second run changes no byte");

        // The fleet changes (redis moves to 8.6.3): only what follows from it is rewritten.
        const release = path.join(fleet.dir, "apps/base/podinfo/release.yaml");
        fs.writeFileSync(release, fs.readFileSync(release, "utf8").replace("tag: 8.6.2", "tag: 8.6.3"));
        const third = await adopt(fleet, "clusters/production");
        assert.equal(third.status, 0, third.stderr);
        const changed = [...snapshot(fleet.dir)].filter(([p, h]) => after.get(p) !== h).map(([p]) => p);
        assert.deepEqual(changed.sort(), [
            ".crossborder/manifest.json",
            "apps/base/podinfo/release.yaml",
            "inventory/images.txt",
            "inventory/skopeo-sync.yaml",
        ]);
        assert.match(fs.readFileSync(path.join(fleet.dir, "inventory/images.txt"), "utf8"), /redis:8\.6\.3 /);
    });

    it("the audit names an operator's runtime default the values leave empty (Envoy Gateway's proxy image)", async () => {
        const fleet = corpusFleet("fleet-runtime");
        assert.equal((await adopt(fleet, "clusters/production")).status, 0);
        const patch = path.join(fleet.dir, "china/infra-controllers/envoy-gateway-system-envoy-gateway-release.yaml");
        const text = fs.readFileSync(patch, "utf8");
        assert.match(text, /envoyProxy:\n\s+image: docker\.io\/envoyproxy\/envoy:distroless-v1\.39\.0\n/);
        // A hand edit takes the value (and the post-renderer proven with it) out again: the operator would pull
        // its compiled-in image from Docker Hub.
        const doc = parseYaml(text);
        delete doc.spec.values.global.images.envoyProxy;
        delete doc.spec.postRenderers;
        fs.writeFileSync(patch, stringify(doc));
        const judged = await audit(fleet);
        assert.equal(judged.status, 1, judged.stdout);
        assert.match(
            judged.stdout,
            /HelmRelease envoy-gateway-system\/envoy-gateway .*pulls docker\.io\/envoyproxy\/envoy:distroless-v1\.39\.0 at runtime while values global\.images\.envoyProxy\.image is empty/,
        );
    });

    it("adopts a fleet of another shape: bootstrap GitRepository, a release of the root, plain folders, a nested Kustomization, targetNamespace, valuesFrom, an OCI HelmRepository, image automation", async () => {
        const fleet = ownFleet();
        const before = snapshot(fleet.dir);
        const r = await adopt(fleet, "clusters/eu");
        assert.equal(r.status, 0, r.stdout + r.stderr);
        for (const [p, hash] of before) assert.equal(snapshot(fleet.dir).get(p), hash, `${p} is unchanged`);
        const images = chinaImages(fleet);
        assert.deepEqual(
            images.filter((i) => !i.startsWith(`${CHINA}/`)),
            [],
        );
        // The fleet's own kustomize images entry (newTag v1.8.2) still applies under the china layer.
        assert.ok(
            images.some((i) => i.endsWith("quay.io_s_prometheus_s_node-exporter:v1.8.2")),
            images.join("\n"),
        );
        // The release the cluster's root applies itself (targetNamespace web) is moved too.
        assert.ok(
            images.some((i) => i.endsWith("ghcr.io_s_stefanprodan_s_podinfo:6.14.1")),
            images.join("\n"),
        );
        assertInInventory(fleet, images);
        const judged = await audit(fleet);
        assert.equal(judged.status, 0, judged.stdout + judged.stderr);
        // The china Kustomization keeps the fleet's dependsOn and postBuild; the build fields moved to its overlay.
        const web = docs(fs.readFileSync(path.join(fleet.dir, "clusters/china/platform.yaml"), "utf8")).find(
            (d) => d.metadata?.name === "web",
        )!;
        assert.deepEqual(web.spec.dependsOn, [{ name: "platform" }]);
        assert.deepEqual(web.spec.postBuild, { substitute: { region: "eu" } });
        assert.equal(web.spec.targetNamespace, undefined);
        // The bootstrap's own flux-system Kustomization gets no overlay: the Pulumi bootstrap owns it.
        assert.deepEqual(fs.readdirSync(path.join(fleet.dir, "china")).sort(), ["monitoring", "platform", "web"]);
    });

    const refusals: {
        name: string;
        edit: (dir: string) => void;
        says: RegExp;
    }[] = [
        {
            name: "a remote kustomize base",
            edit: (dir) => {
                const f = path.join(dir, "apps/production/kustomization.yaml");
                fs.writeFileSync(
                    f,
                    fs
                        .readFileSync(f, "utf8")
                        .replace(
                            "  - ../base/podinfo\n",
                            "  - ../base/podinfo\n  - https://github.com/acme/bases//podinfo?ref=v1\n",
                        ),
                );
            },
            says: /apps\/production\/kustomization\.yaml: the remote resource https:\/\/github\.com\/acme/,
        },
        {
            name: "a GitRepository outside the fleet",
            edit: (dir) =>
                fs.writeFileSync(
                    path.join(dir, "clusters/production/tenants.yaml"),
                    "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: tenants, namespace: flux-system}\nspec: {interval: 1h, url: https://github.com/acme/tenants, ref: {branch: main}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: tenants, namespace: flux-system}\nspec: {interval: 1h, path: ./, prune: true, sourceRef: {kind: GitRepository, name: tenants}}\n",
                ),
            says: /Kustomization flux-system\/tenants \(clusters\/production\/tenants\.yaml\): reconciles GitRepository flux-system\/tenants, which is not this tree/,
        },
        {
            name: "a chart the cache lacks",
            edit: () => undefined,
            says: /HelmRelease envoy-gateway-system\/envoy-gateway \(infrastructure\/controllers\/envoy-gateway\.yaml\): cannot be adopted: no archive of oci:\/\/docker\.io\/envoyproxy gateway-helm >= 1\.8\.0-rc\.0 in the chart cache .*helm pull oci:\/\/docker\.io\/envoyproxy\/gateway-helm/,
        },
        {
            name: "a chart source of a kind adopt does not move",
            edit: (dir) => {
                const f = path.join(dir, "apps/base/podinfo/release.yaml");
                fs.writeFileSync(
                    f,
                    fs
                        .readFileSync(f, "utf8")
                        .replace(
                            "kind: HelmRepository\n        name: podinfo",
                            "kind: GitRepository\n        name: charts",
                        ),
                );
            },
            says: /HelmRelease podinfo\/podinfo \(apps\/base\/podinfo\/release\.yaml\): cannot be adopted: its chart comes from a GitRepository charts/,
        },
    ];
    for (const c of refusals)
        it(`names ${c.name} with its file, and the audit of the result fails`, async () => {
            const fleet = corpusFleet("fleet-refused");
            c.edit(fleet.dir);
            if (c.name === "a chart the cache lacks")
                fs.rmSync(path.join(fleet.cache, "docker.io"), { recursive: true, force: true });
            const r = await adopt(fleet, "clusters/production");
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.match(r.stdout, c.says);
            assert.match(r.stdout, /could not be adopted: they stay as the fleet has them/);
            const judged = await audit(fleet);
            assert.equal(judged.status, 1, judged.stdout);
            assert.match(judged.stdout, /^FAIL/m);
        });

    it("adds the chart archives a folder holds to the cache, each by its own Chart.yaml (--chart-archives)", async () => {
        const fleet = corpusFleet("fleet-archives");
        for (const d of ["stefanprodan.github.io", "quay.io", "docker.io"])
            fs.rmSync(path.join(fleet.cache, d), { recursive: true, force: true });
        const r = await adopt(fleet, "clusters/production", ["--chart-archives", corpusFile("fleets", "charts")]);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.ok(fs.existsSync(path.join(fleet.cache, "docker.io", "envoyproxy", "gateway-helm-v1.9.0.tgz")));
        const judged = await audit(fleet);
        assert.equal(judged.status, 0, judged.stdout);
        const wrong = await adopt(fleet, "clusters/production", ["--chart-archives", path.join(fleet.dir, "nope")]);
        assert.equal(wrong.status, 2);
        assert.match(wrong.stderr, /--chart-archives .*nope: not a directory/);
    });

    it("never overwrites a file of the fleet: a clusters/china file of its own stops the run, nothing written", async () => {
        const fleet = corpusFleet("fleet-conflict");
        fs.mkdirSync(path.join(fleet.dir, "clusters/china"));
        fs.writeFileSync(path.join(fleet.dir, "clusters/china/apps.yaml"), "# mine\n");
        const before = snapshot(fleet.dir);
        const r = await adopt(fleet, "clusters/production");
        assert.equal(r.status, 2, r.stdout + r.stderr);
        assert.match(r.stderr, /clusters\/china\/apps\.yaml is not crossborder's and would be overwritten/);
        assert.deepEqual(snapshot(fleet.dir), before);
    });

    it("refuses a --cluster whose overlay folder the fleet already uses, before writing anything", async () => {
        const fleet = ownFleet("fleet-taken");
        const before = snapshot(fleet.dir);
        const r = await adopt(fleet, "clusters/eu", ["--cluster", "platform"]);
        assert.equal(r.status, 2, r.stdout + r.stderr);
        assert.match(r.stderr, /platform\/ holds files of the fleet's own \(platform\/data\/redis\.yaml, /);
        assert.deepEqual(snapshot(fleet.dir), before);
    });

    it("refuses usage mistakes with exit 2: no such --from, --from the cluster it writes", async () => {
        const fleet = corpusFleet("fleet-usage");
        const a = await runCliAsync(["adopt", fleet.dir, "--from", "clusters/nope"]);
        assert.equal(a.status, 2);
        assert.match(a.stderr, /--from clusters\/nope: not a folder of/);
        const b = await runCliAsync(["adopt", fleet.dir, "--from", "clusters/production", "--cluster", "production"]);
        assert.equal(b.status, 2);
        assert.match(b.stderr, /--from clusters\/production is the cluster adopt would write/);
        const c = await runCliAsync(["adopt", fleet.dir, "--from", "clusters/production", "--cluster", "inventory"]);
        assert.equal(c.status, 2);
        assert.match(c.stderr, /--cluster inventory: .* cannot be named inventory/);
    });

    it("counts a chart's tests only when the HelmRelease runs them (spec.test.enable)", async () => {
        const fleet = corpusFleet("fleet-tests");
        const f = path.join(fleet.dir, "apps/production/podinfo-values.yaml");
        fs.writeFileSync(f, fs.readFileSync(f, "utf8").replace("spec:\n", "spec:\n  test:\n    enable: true\n"));
        const r = await adopt(fleet, "clusters/production");
        // Flux 2.8.8 applies tests as rendered, and podinfo's test images are set by no value: named.
        assert.equal(r.status, 1, r.stdout);
        assert.match(
            r.stdout,
            /podinfo-grpc-test.*stefanprodan\/grpc_health_probe:v0\.3\.0 is in a hook \(helm\.sh\/hook: test/,
        );
        const judged = await audit(fleet);
        assert.equal(judged.status, 1);
        assert.match(judged.stdout, /CROSS-BORDER\s+image\s+docker\.io\/stefanprodan\/grpc_health_probe:v0\.3\.0/);
    });
});
