import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import { parse, parseAllDocuments, stringify } from "yaml";
import { DEFAULT_CATALOG_FILE, parseCatalog } from "../../gitops/catalog";
import { GENERATED_HEADER, withYamlMemo, YamlMemo, yamlFile } from "../../gitops/emit";
import { RenderCache } from "../../gitops/engine/cache";
import { RenderOutput } from "../../gitops/render";
import { checkPath, MANIFEST_FILE, recoverTree, writeTree, WriterError } from "../../gitops/writer";
import { SourceError } from "../../core/yaml-source";
import { requireCorpus } from "../corpus";
import { fluxValidator } from "../flux-schema";
import { origin, renderText, vars } from "../engine-fixtures";
import { ROOT, runCli, tempDir } from "../helpers";
import { SLOW_LINK } from "../../core/slow-link";

const exampleText = fs.readFileSync(DEFAULT_CATALOG_FILE, "utf8");

/** The example catalog (or an edit of it), rendered with no chart archive at hand but the local demo chart. */
function render(text = exampleText, rewrite = true, file = "gitops/catalog.yaml"): Promise<RenderOutput> {
    return renderText(text, file, { rewrite });
}

const docsOf = (out: RenderOutput, p: string) => parseAllDocuments(String(out.files.get(p)!)).map((d) => d.toJS());

/** A catalog of `n` releases for load and crash tests. */
export function syntheticCatalog(n: number, version = "1.0.0"): string {
    const releases = Array.from({ length: n }, (_, i) => ({
        name: `app-${String(i).padStart(5, "0")}`,
        namespace: `ns-${i % 50}`,
        group: i % 10 === 0 ? "controllers" : "apps",
        chart: {
            repository: i % 2 ? "https://charts.example.com/stable" : "oci://ghcr.io/example/charts",
            name: `chart-${i % 40}`,
            version,
        },
        values: {
            image: { repository: `ghcr.io/example/app-${i}`, tag: version },
            sidecar: { image: `quay.io/example/sidecar:${version}` },
        },
        clusterValues: { china: { replicas: 2 } },
    }));
    return stringify({ version: 1, releases }, { lineWidth: 0 });
}

function requireKubectl(ctx: Mocha.Context): void {
    if (spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0) return;
    if (process.env.CI === "true")
        throw new Error("kubectl is missing: it is preinstalled on CI machines (see ../shared/TOOLS.md)");
    console.warn("  SKIPPED (kubectl missing): cannot build the kustomization directories");
    ctx.skip();
}

/** Every file of a tree and its text (a writer's lock, which a killed writer leaves behind, aside). */
function snapshot(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const p = rel ? `${rel}/${e.name}` : e.name;
            if (e.isDirectory()) walk(p);
            else if (p !== ".crossborder/lock") out[p] = fs.readFileSync(path.join(dir, p), "utf8");
        }
    };
    walk("");
    return out;
}

describe("the Flux tree", () => {
    let example: RenderOutput;
    before(async function () {
        this.timeout(120_000);
        example = await render();
    });

    describe("layout and content", () => {
        it("is laid out like Flux's kustomize-helm example, per cluster", () => {
            for (const c of ["global", "china"]) {
                for (const f of ["infrastructure.yaml", "apps.yaml", "kustomization.yaml"])
                    assert.ok(example.files.has(`clusters/${c}/${f}`), `clusters/${c}/${f}`);
                assert.ok(example.files.has(`infrastructure/controllers/${c}/ingress-nginx.yaml`));
                assert.ok(example.files.has(`infrastructure/configs/${c}/cluster-issuers.yaml`));
                assert.ok(example.files.has(`apps/${c}/kustomization.yaml`));
            }
            assert.ok(example.files.has("apps/base/podinfo/release.yaml"));
            assert.ok(
                !example.files.has("infrastructure/configs/china/letsencrypt.yaml"),
                "global-only manifests stay off china",
            );
        });

        it("orders Kustomizations controllers → configs → apps", () => {
            const [controllers, configs] = docsOf(example, "clusters/china/infrastructure.yaml");
            const [apps] = docsOf(example, "clusters/china/apps.yaml");
            assert.strictEqual(controllers.spec.dependsOn, undefined);
            assert.deepStrictEqual(configs.spec.dependsOn, [{ name: "infra-controllers" }]);
            assert.deepStrictEqual(apps.spec.dependsOn, [{ name: "infra-configs" }]);
            assert.strictEqual(apps.spec.path, "./apps/china");
        });

        it("puts a generated header on every file", () => {
            for (const [p, content] of example.files) {
                const text = String(content);
                // A chart's copy says so at its end, where no line or column of the chart's own moves.
                if (p.startsWith("charts/"))
                    assert.match(
                        text,
                        /(\n# |\{\{\/\* )Generated by crossborder render: a copy of gitops\/charts\/[^\n]*( \*\/\}\}|\n)$/,
                        p,
                    );
                else
                    assert.ok(
                        text.startsWith(GENERATED_HEADER) ||
                            text.startsWith(`<!-- ${GENERATED_HEADER.slice(2)}`) ||
                            text.startsWith(`#!/bin/sh\n${GENERATED_HEADER}`),
                        p,
                    );
            }
        });

        it("applies the china slow-link profile from one place", () => {
            const [, , release] = docsOf(example, "infrastructure/controllers/china/ingress-nginx.yaml");
            const [, globalSource, globalRelease] = docsOf(
                example,
                "infrastructure/controllers/global/ingress-nginx.yaml",
            );
            assert.strictEqual(release.spec.timeout, "15m");
            assert.deepStrictEqual(release.spec.install.strategy, { name: "RetryOnFailure", retryInterval: "5m" });
            assert.strictEqual(globalRelease.spec.timeout, "5m");
            assert.strictEqual(globalSource.spec.timeout, "60s");
            const [controllers] = docsOf(example, "clusters/china/infrastructure.yaml");
            assert.strictEqual(controllers.spec.timeout, SLOW_LINK.china.kustomizationTimeout);
            assert.strictEqual(controllers.spec.retryInterval, SLOW_LINK.china.kustomizationRetryInterval);
        });

        it("moves the china chart sources to OCI repositories in the China registry", () => {
            const [, source, release] = docsOf(example, "infrastructure/controllers/china/ingress-nginx.yaml");
            assert.strictEqual(source.kind, "OCIRepository");
            assert.strictEqual(source.spec.url, `oci://${vars.chinaRegistry}/platform/ingress-nginx`);
            assert.deepStrictEqual(source.spec.ref, { tag: "4.15.1" });
            assert.deepStrictEqual(release.spec.chartRef, { kind: "OCIRepository", name: "ingress-nginx" });
        });

        it("rewrites a release rendered on the engine with its post-renderer only, values untouched", () => {
            const [china] = docsOf(example, "apps/china/demo-release.yaml");
            const [global] = docsOf(example, "apps/global/demo-release.yaml");
            assert.strictEqual(china.spec.values, undefined, "no values override: the chart's own rendering decides");
            // The pinned Flux 2.8.8 has no postRenderStrategy field (its CRD would prune it): none is written.
            assert.strictEqual(china.spec.postRenderStrategy, undefined);
            const k = china.spec.postRenderers[0].kustomize;
            assert.deepStrictEqual(
                k.images.map((i: any) => i.name),
                ["docker.io/library/busybox", "ghcr.io/stefanprodan/podinfo"],
            );
            for (const i of k.images)
                assert.ok(i.newName.startsWith(`${vars.chinaRegistry}/platform/`) && !i.newTag && !i.digest);
            const ops = k.patches.map((p: any) => [p.target.kind, parse(p.patch).map((o: any) => `${o.op} ${o.path}`)]);
            assert.deepStrictEqual(ops, [
                [
                    "Deployment",
                    ["test /spec/template/spec/containers/1/args/0", "replace /spec/template/spec/containers/1/args/0"],
                ],
                ["DemoCache", ["test /spec/image", "replace /spec/image"]],
            ]);
            assert.strictEqual(global.spec.postRenderers, undefined, "nothing is rewritten outside China");
            assert.deepStrictEqual(global.spec.chart.spec.sourceRef, {
                kind: "GitRepository",
                name: "flux-system",
                namespace: "flux-system",
            });
            assert.strictEqual(global.spec.chart.spec.chart, "./charts/crossborder-demo");
        });

        it("carries the local chart in the tree, reconciled from the tree's own source", () => {
            assert.ok(example.files.has("charts/crossborder-demo/Chart.yaml"));
            assert.ok(example.files.has("charts/crossborder-demo/templates/deployment.yaml"));
            assert.deepStrictEqual(example.rendered, ["demo"]);
            assert.deepStrictEqual(example.unrendered, [
                "aws-load-balancer-controller",
                "cert-manager",
                "ingress-nginx",
                "kube-prometheus-stack",
                "metrics-server",
                "podinfo",
            ]);
        });

        it("names the first ten releases whose archive is not at hand, and counts the rest", async () => {
            const out = await render(syntheticCatalog(13));
            const warning = out.warnings.find((w) => /not rendered on the Helm engine/.test(w))!;
            assert.match(warning, /^13 release\(s\) not rendered on the Helm engine/);
            assert.match(warning, /: app-00000, app-00001, .*, app-00009 and 3 more\. Their china rewrite/);
            assert.doesNotMatch(warning, /app-00010/);
        });

        it("without the chart archive, falls back to values overrides and a post-renderer, keeping tags and digests", () => {
            const [, , release] = docsOf(example, "infrastructure/controllers/china/ingress-nginx.yaml");
            const images = release.spec.postRenderers[0].kustomize.images;
            assert.deepStrictEqual(
                images.map((i: any) => i.name),
                ["registry.k8s.io/ingress-nginx/controller", "registry.k8s.io/ingress-nginx/kube-webhook-certgen"],
            );
            for (const i of images) assert.ok(i.newName.startsWith(`${vars.chinaRegistry}/`));
            assert.strictEqual(
                release.spec.values.controller.image.digest,
                "sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1",
            );
            assert.strictEqual(release.spec.values.controller.service.type, "NodePort");
        });

        it("leaves Flux's own GitRepository and root Kustomization to the Pulumi bootstrap, their one owner", () => {
            for (const c of ["global", "china"]) {
                assert.ok(![...example.files.keys()].some((p) => p.startsWith(`clusters/${c}/flux-system/`)), c);
                assert.deepStrictEqual(
                    parse(String(example.files.get(`clusters/${c}/kustomization.yaml`)!)).resources,
                    ["apps.yaml", "infrastructure.yaml"],
                );
                const objects = [...example.files.entries()]
                    .filter(([p]) => p.endsWith(".yaml") && !p.startsWith("charts/"))
                    .flatMap(([, t]) => parseAllDocuments(String(t)).map((d) => d.toJS()))
                    .filter((o) => o?.metadata?.name === "flux-system" && o?.metadata?.namespace === "flux-system");
                assert.deepStrictEqual(objects, [], "no flux-system object in the tree");
            }
        });

        it("draws the image path in the tree's README", () => {
            const readme = String(example.files.get("README.md")!);
            assert.match(readme, /```mermaid\nflowchart LR/);
            assert.match(readme, /UP -->\|"inventory\/copy\.sh"\| OR/);
            assert.match(readme, /OR -->\|"ACR EE replication/);
            assert.ok(readme.includes(vars.chinaRegistry) && readme.includes(origin));
            assert.match(
                readme,
                /Not rendered \(chart archive not at hand, values-level rewrite only\): aws-load-balancer-controller, cert-manager/,
            );
        });
    });

    describe("Flux schemas and kustomize", function () {
        let dir: string;
        before(function () {
            dir = path.join(tempDir("tree"), "gitops");
            writeTree(dir, example.files);
        });

        it("validates every generated Flux object against the CRDs' openAPIV3Schema", function () {
            requireCorpus(this);
            const validate = fluxValidator();
            const problems: string[] = [];
            let validated = 0;
            for (const [p, text] of example.files) {
                if (!p.endsWith(".yaml") || p.startsWith("inventory/") || p.startsWith("charts/")) continue;
                for (const d of parseAllDocuments(String(text))) {
                    const doc = d.toJS();
                    const errors = doc && validate(doc);
                    if (errors === undefined) continue;
                    validated++;
                    if (errors.length) problems.push(`${p} ${doc.kind} ${doc.metadata?.name}: ${errors.join("; ")}`);
                }
            }
            assert.ok(validated >= 30, `validated ${validated} objects`);
            assert.deepStrictEqual(problems, []);
        });

        it("builds each cluster's apps with kustomize when apps share a namespace, each namespace once", async function () {
            requireKubectl(this);
            // 12 apps in 5 namespaces; app-00001 runs on china only, so its namespace is not global's to create.
            const data = parse(syntheticCatalog(12));
            data.releases.forEach((r: any, i: number) => (r.namespace = `ns-${i % 5}`));
            data.releases[1].clusters = ["china"];
            data.releases[1].namespace = "only-china";
            const out = await renderText(stringify(data), path.join(tempDir("shared-ns"), "catalog.yaml"));
            const tree = path.join(tempDir("shared-ns-tree"), "gitops");
            writeTree(tree, out.files);
            for (const cluster of ["china", "global"]) {
                const r = spawnSync(
                    path.join(ROOT, ".tools", "bin", "kubectl"),
                    ["kustomize", path.join(tree, "apps", cluster)],
                    { encoding: "utf8", timeout: 60_000 },
                );
                assert.strictEqual(r.status, 0, `apps/${cluster}: ${r.stderr}`);
                const built = parseAllDocuments(r.stdout).map((d) => d.toJS());
                const namespaces = built.filter((d) => d.kind === "Namespace").map((d) => d.metadata.name);
                const used = [
                    ...new Set(built.filter((d) => d.kind === "HelmRelease").map((d) => d.metadata.namespace)),
                ];
                // ns-0 is also a controller's (app-00000, app-00010): the infrastructure creates it, before the apps.
                assert.ok(used.includes("ns-0"));
                assert.deepStrictEqual(
                    namespaces.sort(),
                    used.filter((n) => n !== "ns-0").sort(),
                    `apps/${cluster}: one Namespace per namespace used`,
                );
                assert.strictEqual(used.includes("only-china"), cluster === "china");
            }
        });

        it("builds every kustomization directory with kubectl kustomize, and the built objects validate", function () {
            requireKubectl(this);
            requireCorpus(this);
            const validate = fluxValidator();
            const dirs = [...example.files.keys()]
                .filter((p) => p.endsWith("kustomization.yaml") && !p.startsWith("charts/"))
                .map((p) => path.dirname(p));
            assert.ok(dirs.length >= 9, `${dirs.length} kustomization directories`);
            const problems: string[] = [];
            for (const d of dirs) {
                const r = spawnSync(path.join(ROOT, ".tools", "bin", "kubectl"), ["kustomize", path.join(dir, d)], {
                    encoding: "utf8",
                });
                if (r.status !== 0) {
                    problems.push(`${d}: ${r.stderr.trim()}`);
                    continue;
                }
                for (const doc of parseAllDocuments(r.stdout).map((x) => x.toJS())) {
                    const errors = doc && validate(doc);
                    if (errors?.length)
                        problems.push(`${d}: built ${doc.kind} ${doc.metadata?.name}: ${errors.join("; ")}`);
                }
            }
            assert.deepStrictEqual(problems, []);
        });
    });

    describe("sync inventory", () => {
        it("lists every image the china cluster pulls, traced to its upstream, tags and digests kept", () => {
            const { images, unresolved } = example.inventory;
            assert.deepStrictEqual(
                unresolved.filter((u) => !/tag from the chart/.test(u)),
                [],
            );
            const sources = images.map((i) => i.source);
            assert.ok(
                sources.includes(
                    "docker://registry.k8s.io/ingress-nginx/controller@sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1",
                ),
            );
            // Flux's own images are those of the pinned release (2.8.8: source-controller v1.8.5).
            assert.ok(sources.includes("docker://ghcr.io/fluxcd/source-controller:v1.8.5"));
            const controller = images.find((i) => i.source.includes("ingress-nginx/controller@"))!;
            assert.strictEqual(
                controller.destination,
                `docker://${origin}/platform/registry.k8s.io_s_ingress-nginx_s_controller:v1.15.1`,
            );
            const txt = String(example.files.get("inventory/images.txt")!);
            for (const i of images) assert.ok(txt.includes(`${i.source} ${i.destination}`));
            const sync = parse(String(example.files.get("inventory/skopeo-sync.yaml")!));
            assert.deepStrictEqual(sync["registry.k8s.io"].images["ingress-nginx/controller"], [
                "sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1",
                "v1.15.1",
            ]);
            assert.deepStrictEqual(sync["ghcr.io"].images["stefanprodan/podinfo"], ["6.7.1"]);
            // The demo chart's images come from the engine: its templates, its custom resource, its argument.
            for (const s of [
                "docker://ghcr.io/stefanprodan/podinfo:6.7.1",
                "docker://docker.io/library/redis:7.4.2",
                "docker://registry.k8s.io/pause:3.10",
                "docker://docker.io/library/busybox:1.37.0",
            ])
                assert.ok(sources.includes(s), s);
        });

        it("lists every chart with its version, locked sha256 (none yet) and origin repository", () => {
            assert.deepStrictEqual(
                example.inventory.charts.map((c) => `${c.repository} ${c.chart}@${c.version}`).sort(),
                [
                    "https://aws.github.io/eks-charts aws-load-balancer-controller@3.5.0",
                    "https://fluxcd-community.github.io/helm-charts flux2@2.18.3",
                    "https://kubernetes-sigs.github.io/metrics-server metrics-server@3.13.1",
                    "https://kubernetes.github.io/ingress-nginx ingress-nginx@4.15.1",
                    "https://prometheus-community.github.io/helm-charts kube-prometheus-stack@88.5.3",
                    "https://stefanprodan.github.io/podinfo podinfo@6.7.1",
                    "oci://quay.io/jetstack/charts cert-manager@v1.21.1",
                ],
            );
            for (const c of example.inventory.charts) {
                assert.strictEqual(
                    c.destination,
                    `oci://${origin}/platform/${c.chart}`,
                    "helm push names the repository after the chart",
                );
                assert.strictEqual(c.sha256, undefined);
            }
            assert.match(
                String(example.files.get("inventory/charts.txt")),
                /^oci:\/\/quay\.io\/jetstack\/charts cert-manager v1\.21\.1 oci:\/\/\S+\/platform\/cert-manager - quay\.io\/jetstack\/charts\/cert-manager-v1\.21\.1\.tgz$/m,
            );
        });
    });

    describe("determinism", () => {
        it("renders the same bytes twice", async () => {
            const again = await render();
            assert.deepStrictEqual([...again.files.keys()].sort(), [...example.files.keys()].sort());
            for (const [p, text] of example.files) assert.deepStrictEqual(again.files.get(p), text, p);
        });

        it("re-renders a changed catalog from its last render's YAML, to the bytes of a fresh render", async () => {
            const cache = new RenderCache(path.join(tempDir("memo"), "renders"));
            const file = path.join(tempDir("memo-catalog"), "catalog.yaml");
            const first = await renderText(syntheticCatalog(30), file, { cache });
            assert.strictEqual(first.documents.reused, 0, "nothing to read back on a first render");
            // One release changed: its documents are dumped again, every other one is read back.
            const changed = syntheticCatalog(30).replace("ghcr.io/example/app-7\n", "ghcr.io/example/app-7b\n");
            assert.notStrictEqual(changed, syntheticCatalog(30));
            const again = await renderText(changed, file, { cache });
            const fresh = await renderText(changed, file);
            assert.strictEqual(fresh.documents.reused, 0);
            assert.deepStrictEqual([...again.files.keys()].sort(), [...fresh.files.keys()].sort());
            for (const [p, text] of fresh.files) assert.strictEqual(again.files.get(p), text, p);
            assert.ok(again.documents.reused > 10 * again.documents.dumped, JSON.stringify(again.documents));
            assert.ok(again.documents.dumped > 0, "the changed release's documents are dumped afresh");
            // A memo edited on disk is not the tree's source: it fails its check and is dumped again.
            for (const f of fs.readdirSync(cache.dir, { recursive: true, withFileTypes: true }))
                if (f.isFile()) {
                    const at = path.join(f.parentPath, f.name);
                    fs.writeFileSync(at, fs.readFileSync(at, "utf8").replace(/app-7b/g, "app-evil"));
                }
            const checked = new RenderCache(cache.dir);
            const third = await renderText(changed, file, { cache: checked });
            assert.ok(checked.rejected >= 1 && third.documents.reused === 0, JSON.stringify(third.documents));
            for (const [p, text] of fresh.files) assert.strictEqual(third.files.get(p), text, p);
        });

        it("never memoizes a value JSON cannot say exactly", () => {
            const memo = new YamlMemo();
            const texts = withYamlMemo(memo, () => [yamlFile([{ a: NaN, b: -0 }]), yamlFile([{ a: null, b: 0 }])]);
            assert.match(texts[0], /a: \.nan\nb: -0\n/);
            assert.match(texts[1], /a: null\nb: 0\n/);
            assert.strictEqual(memo.hits, 0);
        });

        it("renders the same bytes from a shuffled catalog", async () => {
            const data = parse(exampleText);
            const shuffleKeys = (v: any, depth = 0): any => {
                if (Array.isArray(v)) return v.map((x) => shuffleKeys(x, depth + 1));
                if (v && typeof v === "object") {
                    const keys = Object.keys(v).reverse();
                    return Object.fromEntries(keys.map((k) => [k, shuffleKeys(v[k], depth + 1)]));
                }
                return v;
            };
            const shuffled = shuffleKeys({
                ...data,
                releases: [...data.releases].reverse(),
                manifests: [...data.manifests].reverse(),
            });
            const other = await render(stringify(shuffled));
            for (const [p, text] of example.files) assert.deepStrictEqual(other.files.get(p), text, p);
        });
    });

    describe("catalog errors", () => {
        const bad = (edit: (d: any) => void): string => {
            const d = parse(exampleText);
            edit(d);
            try {
                parseCatalog(stringify(d), "gitops/catalog.yaml");
            } catch (e) {
                if (e instanceof SourceError) return e.message;
                throw e;
            }
            assert.fail("expected the catalog to be rejected");
        };

        it("names file, line, key and fix", () => {
            assert.match(
                bad((d) => (d.releases[1].chart.version = "4.x")),
                /^gitops\/catalog\.yaml:\d+: releases\[1\]\.chart\.version: "4\.x" is not an exact chart version; pin an exact version/m,
            );
            assert.match(
                bad((d) => (d.releases[0].clusters = ["mars"])),
                /releases\[0\]\.clusters: \["mars"\] is not a list of clusters; list one or both of: global, china/,
            );
            assert.match(
                bad((d) => (d.releases[5].dependsOn = ["nope"])),
                /releases\[5\]\.dependsOn: names the unknown release "nope"/,
            );
            assert.match(
                bad((d) => (d.releases[0].dependsOn = ["podinfo"])),
                /releases\[0\]\.dependsOn: "podinfo" is in apps, which Flux applies after controllers/,
            );
            assert.match(
                bad((d) => (d.releases[1].name = "cert-manager")),
                /releases\[1\]\.name: "cert-manager" is already used at gitops\/catalog\.yaml:\d+/,
            );
            assert.match(
                bad((d) => (d.releases[1].chart.version = 3.1)),
                /releases\[1\]\.chart\.version: 3\.1 is a YAML number \(it reads as 3\.1\), not a version; quote it: version: "3\.1"/,
            );
        });

        it("refuses credentials in values, which would be pushed to Git in clear", () => {
            const msg = bad(
                (d) =>
                    (d.releases[0].values.auth = {
                        adminPassword: "hunter2hunter2",
                        existingSecret: "kept",
                        apiKey: "{{ template }}",
                    }),
            );
            assert.match(
                msg,
                /^gitops\/catalog\.yaml:\d+: releases\[0\]\.values\.auth\.adminPassword: is a literal credential, which would be pushed to Git in clear in both clusters' HelmReleases; keep it in a Kubernetes Secret managed outside Git and read it with the HelmRelease's valuesFrom/m,
            );
            assert.doesNotMatch(msg, /existingSecret|apiKey/, "a Secret's name and a template are not credentials");
            assert.match(
                bad((d) => (d.releases[1].clusterValues.china.token = "abc")),
                /releases\[1\]\.clusterValues\.china\.token: is a literal credential/,
            );
        });

        it("confines chartValues and chart paths to the catalog's folder", () => {
            assert.match(
                bad((d) => (d.releases[0].chartValues = "/etc/passwd")),
                /releases\[0\]\.chartValues: \/etc\/passwd is outside the catalog's folder \S+gitops; keep the chart's values\.yaml inside that folder/,
            );
            assert.match(
                bad((d) => (d.releases[0].chartValues = "../../../../../../etc/hostname")),
                /releases\[0\]\.chartValues: \.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/hostname is outside the catalog's folder/,
            );
            assert.match(
                bad((d) => (d.releases[0].chart = { path: "../stacks" })),
                /releases\[0\]\.chart\.path: \.\.\/stacks is outside the catalog's folder/,
            );
            assert.match(
                bad((d) => (d.releases[0].chart = { path: "charts/nope" })),
                /releases\[0\]\.chart\.path: charts\/nope does not exist/,
            );
        });

        it("finds dependency cycles", () => {
            assert.match(
                bad((d) => {
                    d.releases[0].dependsOn = ["kube-prometheus-stack"];
                }),
                /forms a cycle: (cert-manager -> kube-prometheus-stack -> cert-manager|kube-prometheus-stack -> cert-manager -> kube-prometheus-stack)/,
            );
        });

        it("ends generated and mutated catalogs in a tree or an error naming file and key (fuzz)", async () => {
            const base = parse(exampleText);
            base.releases = base.releases.filter((r: any) => !r.chart.path);
            const keys = [
                "name",
                "namespace",
                "group",
                "chart",
                "clusters",
                "dependsOn",
                "values",
                "clusterValues",
                "extraImages",
                "repository",
                "version",
                "objects",
                "images",
            ];
            const anyValue = fc.oneof(
                fc.jsonValue({ maxDepth: 2 }),
                fc.constantFrom(
                    "china",
                    "global",
                    "apps",
                    "oci://x",
                    "https://a.example.com",
                    "1.0.0",
                    "busybox",
                    "[::1]:5000/a:b",
                    "Bad Name",
                    null,
                ),
            );
            const mutation = fc.record({
                pick: fc.nat(),
                op: fc.constantFrom("delete", "set", "add"),
                key: fc.oneof(fc.constantFrom(...keys), fc.string()),
                value: anyValue,
            });
            let rendered = 0;
            let rejected = 0;
            await fc.assert(
                fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 5 }), async (mutations) => {
                    const d = structuredClone(base);
                    const targets: any[] = [
                        d,
                        ...d.releases,
                        ...d.releases.map((r: any) => r.chart),
                        ...d.manifests,
                        d.flux,
                    ];
                    for (const m of mutations) {
                        const t = targets[m.pick % targets.length];
                        if (!t || typeof t !== "object") continue;
                        const existing = Object.keys(t);
                        const key =
                            m.op === "add" || existing.length === 0 ? m.key : existing[m.pick % existing.length];
                        if (m.op === "delete") delete t[key];
                        else t[key] = m.value;
                    }
                    try {
                        const out = await render(stringify(d));
                        assert.ok(out.files.size > 0);
                        rendered++;
                    } catch (e) {
                        if (!(e instanceof SourceError)) throw e;
                        assert.match(e.message, /^gitops\/catalog\.yaml(:\d+)?: \S+/m, e.message);
                        rejected++;
                    }
                }),
                { numRuns: 200 },
            );
            assert.ok(rendered > 0 && rejected > 0, `rendered ${rendered}, rejected ${rejected}`);
        });
    });

    describe("the writer", () => {
        it("owns only its files: user files survive re-rendering, dropped releases are removed", async () => {
            const dir = path.join(tempDir("owner"), "gitops");
            writeTree(dir, example.files);
            fs.writeFileSync(path.join(dir, "NOTES.md"), "mine\n");
            fs.mkdirSync(path.join(dir, "apps/china/extra"), { recursive: true });
            fs.writeFileSync(path.join(dir, "apps/china/extra/secret.enc.yaml"), "kind: Secret\n");
            const fewer = await render(
                stringify({
                    ...parse(exampleText),
                    releases: parse(exampleText).releases.filter((r: any) => r.name !== "metrics-server"),
                }),
            );
            const result = writeTree(dir, fewer.files);
            assert.deepStrictEqual(result.removed, [
                "infrastructure/controllers/china/metrics-server.yaml",
                "infrastructure/controllers/global/metrics-server.yaml",
            ]);
            assert.strictEqual(fs.readFileSync(path.join(dir, "NOTES.md"), "utf8"), "mine\n");
            assert.strictEqual(
                fs.readFileSync(path.join(dir, "apps/china/extra/secret.enc.yaml"), "utf8"),
                "kind: Secret\n",
            );
            assert.ok(!fs.existsSync(path.join(dir, "infrastructure/controllers/china/metrics-server.yaml")));
            const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), "utf8"));
            assert.ok(!("NOTES.md" in manifest.files));
        });

        it("touches nothing when the tree is already up to date", () => {
            const dir = path.join(tempDir("same"), "gitops");
            writeTree(dir, example.files);
            const before = fs.statSync(path.join(dir, "README.md")).mtimeMs;
            assert.strictEqual(writeTree(dir, example.files).unchanged, true);
            assert.strictEqual(fs.statSync(path.join(dir, "README.md")).mtimeMs, before);
        });

        it("refuses to overwrite a hand-edited generated file without force, and writes nothing", () => {
            const dir = path.join(tempDir("edited"), "gitops");
            writeTree(dir, example.files);
            const file = path.join(dir, "apps/china/podinfo-release.yaml");
            fs.appendFileSync(file, "# hand edit\n");
            const changed = new Map(example.files);
            changed.set("README.md", String(example.files.get("README.md")) + "\nchanged\n");
            assert.throws(
                () => writeTree(dir, changed),
                (e: Error) =>
                    e instanceof WriterError &&
                    /apps\/china\/podinfo-release\.yaml was edited by hand and would be overwritten/.test(e.message) &&
                    /--force/.test(e.message),
            );
            assert.ok(fs.readFileSync(file, "utf8").endsWith("# hand edit\n"));
            assert.strictEqual(
                fs.readFileSync(path.join(dir, "README.md"), "utf8"),
                String(example.files.get("README.md")),
                "nothing written",
            );
            writeTree(dir, changed, { force: true });
            assert.strictEqual(
                fs.readFileSync(file, "utf8"),
                String(example.files.get("apps/china/podinfo-release.yaml")),
            );
        });

        it("refuses to overwrite a user's file at a generated path", () => {
            const dir = path.join(tempDir("userfile"), "gitops");
            fs.mkdirSync(dir, { recursive: true });
            fs.writeFileSync(path.join(dir, "README.md"), "the user's README\n");
            assert.throws(
                () => writeTree(dir, example.files),
                /README\.md is not crossborder's and would be overwritten/,
            );
            assert.strictEqual(fs.readFileSync(path.join(dir, "README.md"), "utf8"), "the user's README\n");
            assert.deepStrictEqual(fs.readdirSync(dir), ["README.md"]);
        });

        it("refuses paths that leave the output directory", () => {
            for (const p of [
                "../escape.yaml",
                "/etc/passwd",
                "a/../../b",
                "a//b",
                ".crossborder/manifest.json",
                "",
                "a/./b",
            ]) {
                assert.throws(() => checkPath(p), WriterError, p);
            }
            const dir = tempDir("escape");
            assert.throws(
                () => writeTree(path.join(dir, "out"), new Map([["../outside.yaml", "x"]])),
                /refusing to write "\.\.\/outside\.yaml"/,
            );
            assert.ok(!fs.existsSync(path.join(dir, "outside.yaml")));
        });

        it("finishes a write interrupted after its commit, and undoes one interrupted before it", () => {
            const dir = path.join(tempDir("recover"), "gitops");
            writeTree(dir, example.files);
            const old = snapshot(dir);
            // Killed after the commit: the journal says committed, one temporary is not renamed yet.
            fs.writeFileSync(path.join(dir, "apps", ".NEW.md.crossborder-tmp"), "new\n");
            const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), "utf8"));
            manifest.files["apps/NEW.md"] = "x";
            fs.writeFileSync(
                path.join(dir, ".crossborder", "journal.json"),
                JSON.stringify({
                    version: 1,
                    state: "committed",
                    install: [{ path: "apps/NEW.md", temp: "apps/.NEW.md.crossborder-tmp", mode: 438 }],
                    remove: [],
                    created: [],
                    manifest,
                }),
            );
            assert.strictEqual(recoverTree(dir), "rolled-forward");
            assert.strictEqual(fs.readFileSync(path.join(dir, "apps", "NEW.md"), "utf8"), "new\n");
            assert.ok(!fs.existsSync(path.join(dir, ".crossborder", "journal.json")));
            // Killed while preparing: the temporaries and the folders it made go, the old tree stays.
            fs.mkdirSync(path.join(dir, "half"));
            fs.writeFileSync(path.join(dir, "half", ".x.yaml.crossborder-tmp"), "x");
            fs.writeFileSync(
                path.join(dir, ".crossborder", "journal.json"),
                JSON.stringify({
                    version: 1,
                    state: "preparing",
                    install: [{ path: "half/x.yaml", temp: "half/.x.yaml.crossborder-tmp", mode: 438 }],
                    remove: [],
                    created: ["half"],
                    manifest,
                }),
            );
            assert.strictEqual(recoverTree(dir), "rolled-back");
            assert.ok(!fs.existsSync(path.join(dir, "half")));
            assert.strictEqual(recoverTree(dir), "nothing");
            // Killed between writing the journal's (or the manifest's) temporary and renaming it.
            fs.writeFileSync(path.join(dir, ".crossborder", "journal.json.4242.tmp"), "{");
            fs.writeFileSync(path.join(dir, ".crossborder", "manifest.json.4243.tmp"), "{");
            fs.writeFileSync(path.join(dir, ".crossborder", "notes.tmp"), "not the writer's pattern");
            assert.strictEqual(recoverTree(dir), "nothing");
            assert.ok(!fs.existsSync(path.join(dir, ".crossborder", "journal.json.4242.tmp")));
            assert.ok(!fs.existsSync(path.join(dir, ".crossborder", "manifest.json.4243.tmp")));
            fs.rmSync(path.join(dir, ".crossborder", "notes.tmp"));
            assert.deepStrictEqual(Object.keys(snapshot(dir)).sort(), [...Object.keys(old), "apps/NEW.md"].sort());
        });
    });

    describe("crash safety", function () {
        this.timeout(180_000);

        it("leaves the complete old tree or the complete new one when the render is killed at random points (20 trials)", async () => {
            const work = tempDir("kill");
            const catalogA = path.join(work, "a.yaml");
            const catalogB = path.join(work, "b.yaml");
            fs.writeFileSync(catalogA, syntheticCatalog(200, "1.0.0"));
            fs.writeFileSync(catalogB, syntheticCatalog(200, "2.0.0"));
            const out = path.join(work, "out");
            const pristine = path.join(work, "pristine");
            const renderTo = (catalog: string, dir: string) => {
                const r = runCli(["render", "--catalog", catalog, "--out", dir]);
                assert.strictEqual(r.status, 0, r.stderr);
            };
            renderTo(catalogA, pristine);
            fs.writeFileSync(path.join(pristine, "USER-NOTES.md"), "kept across renders\n");
            const oldTree = snapshot(pristine);
            const newDir = path.join(work, "new");
            fs.cpSync(pristine, newDir, { recursive: true });
            renderTo(catalogB, newDir);
            const newTree = snapshot(newDir);
            // The trials' renders find the render cache warm: timed as they run, so that the kills land within
            // them (timed on the cold first render, most trials would end before their kill).
            const timed = path.join(work, "timed");
            fs.cpSync(pristine, timed, { recursive: true });
            const t0 = Date.now();
            renderTo(catalogB, timed);
            const duration = Date.now() - t0;
            assert.notDeepStrictEqual(newTree, oldTree);
            assert.strictEqual(newTree["USER-NOTES.md"], "kept across renders\n");

            const outcomes = { old: 0, new: 0 };
            for (let trial = 0; trial < 20; trial++) {
                fs.rmSync(out, { recursive: true, force: true });
                fs.cpSync(pristine, out, { recursive: true });
                const child = spawn(
                    process.execPath,
                    [path.join(ROOT, "bin", "crossborder.js"), "render", "--catalog", catalogB, "--out", out],
                    { cwd: ROOT, stdio: "ignore" },
                );
                const exited = new Promise((r) => child.once("exit", r));
                // Biased towards the end of a run, where the files are written and renamed.
                const delay = Math.floor(duration * (0.5 + Math.random()));
                let timer: NodeJS.Timeout | undefined;
                await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, delay)))]);
                clearTimeout(timer);
                child.kill("SIGKILL");
                await exited;
                recoverTree(out);
                const now = snapshot(out);
                const same = (a: Record<string, string>) => JSON.stringify(a) === JSON.stringify(now);
                const differs = (a: Record<string, string>) =>
                    [...new Set([...Object.keys(a), ...Object.keys(now)])]
                        .filter((k) => a[k] !== now[k])
                        .slice(0, 5)
                        .join(", ");
                assert.ok(
                    same(oldTree) || same(newTree),
                    `trial ${trial} (killed after ${delay} ms of ~${duration}): the directory is neither the old tree nor the new one (vs old: ${differs(oldTree)}; vs new: ${differs(newTree)})`,
                );
                outcomes[same(newTree) ? "new" : "old"]++;
            }
            console.log(`      killed 20 renders: ${outcomes.old} left the old tree, ${outcomes.new} the new one`);
        });
    });

    describe("crossborder render / audit (subprocess)", () => {
        it("renders the example, audits it clean, and fails the audit of an unrewritten tree", () => {
            const dir = tempDir("cli");
            const good = path.join(dir, "good");
            const r = runCli(["render", "--out", good]);
            assert.strictEqual(r.status, 0, r.stderr);
            assert.match(r.stdout, /inventory: \d+ images, 7 charts/);
            assert.match(r.stdout, /engine: 1 release\(s\) rendered on helm v4\.\d+\.\d+, 6 not rendered/);
            assert.match(
                r.stdout,
                /warning: 6 release\(s\) not rendered on the Helm engine, their chart archive not in \S+: aws-load-balancer-controller, cert-manager, ingress-nginx, kube-prometheus-stack, metrics-server, podinfo\. .*crossborder charts pull/,
            );
            const a = runCli(["audit", good]);
            assert.strictEqual(a.status, 0, a.stdout);
            assert.match(
                a.stdout,
                /^NOT PROVEN: nothing cross-border in what was read, but 6 china HelmRelease\(s\) not rendered/m,
            );
            const strict = runCli(["audit", good, "--strict"]);
            assert.strictEqual(strict.status, 1, strict.stdout);
            assert.match(strict.stdout, /^FAIL \(--strict\): 6 china HelmRelease\(s\) not rendered/m);
            const rawDir = path.join(dir, "raw");
            assert.strictEqual(runCli(["render", "--no-rewrite", "--out", rawDir]).status, 0);
            const b = runCli(["audit", rawDir, "--json"]);
            assert.strictEqual(b.status, 1);
            const china = JSON.parse(b.stdout).clusters.find((c: any) => c.name === "china");
            assert.ok(china.crossBorder > 20, `${china.crossBorder} cross-border`);
        });

        it("npm start (crossborder example) ends with what was built, where it went, the verdict and the next command", () => {
            const dir = tempDir("example");
            const r = runCli(["example", "--out", dir]);
            assert.strictEqual(r.status, 0, r.stdout + r.stderr);
            const lines = r.stdout.trim().split("\n");
            assert.ok(lines.length <= 18, `${lines.length} lines`);
            assert.match(
                r.stdout,
                /^1\. plan {4}global: \d+ resources, china: \d+ resources; policy pack: no violations$/m,
            );
            assert.match(
                r.stdout,
                new RegExp(
                    `^2\\. render {2}\\d+ files -> ${dir.replace(/[/.]/g, "\\$&")}\\/gitops; 1 release\\(s\\) rendered on helm v4`,
                    "m",
                ),
            );
            assert.match(r.stdout, /^ {10}global: \d+ images from upstream registries, as expected outside China$/m);
            assert.match(
                r.stdout,
                /^ {10}NOT PROVEN: nothing cross-border in what was read, but 6 china release\(s\) were judged on their values only$/m,
            );
            // The china artifact it names is the one `publish --dry-run` builds from that tree.
            const art =
                /^4\. publish \d+ files of the china tree -> platform\/fleet:china-candidate@(sha256:[a-f0-9]{64})$/m.exec(
                    r.stdout,
                );
            assert.ok(art, r.stdout);
            const dry = runCli(["publish", "--tree", path.join(dir, "gitops"), "--dry-run"]);
            assert.strictEqual(dry.status, 0, dry.stderr);
            assert.match(dry.stdout, new RegExp(`^digest ${art[1]}$`, "m"));
            assert.match(r.stdout, /^Next:\n {2}npx crossborder charts pull && npm start/m);
            assert.ok(
                fs.existsSync(path.join(dir, "plan", "china.json")) &&
                    fs.existsSync(path.join(dir, "gitops", "README.md")),
            );
        });

        it("exits 2 with file and line for a broken catalog, writing nothing", () => {
            const dir = tempDir("badcat");
            const catalog = path.join(dir, "catalog.yaml");
            fs.writeFileSync(
                catalog,
                exampleText
                    .replace("version: 4.15.1", "version: latest")
                    .replace(/\n {2}# A chart kept in this repository[\s\S]*?path: charts\/crossborder-demo\n/, "\n"),
            );
            const r = runCli(["render", "--catalog", catalog, "--out", path.join(dir, "out")]);
            assert.strictEqual(r.status, 2);
            assert.match(
                r.stderr,
                /catalog\.yaml:\d+: releases\[1\]\.chart\.version: "latest" is not an exact chart version/,
            );
            assert.ok(!fs.existsSync(path.join(dir, "out")));
        });

        it("exits 2 when the audited directory does not exist", () => {
            const r = runCli(["audit", "/nonexistent/tree"]);
            assert.strictEqual(r.status, 2);
            assert.match(r.stderr, /\/nonexistent\/tree: not a directory/);
        });
    });
});
