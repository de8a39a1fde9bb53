import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import * as tar from "tar";
import { spawnSync } from "child_process";
import { locateTool } from "../../gitops/engine/tools";
import { readChartArchive, scanChart } from "../../gitops/values/chart";
import { DEFAULT_MIRRORS_FILE, isChinaHost, loadMirrors } from "../../core/mirrors";
import { format, nameOf, parseNormalizedNamed } from "../../core/reference";
import { coalesceValues, mergeValues, rewriteValues, scanValues } from "../../gitops/values/scan";
import { pathString } from "../../core/yaml-source";
import { corpusFile, requireCorpus } from "../corpus";
import { runCli, tempDir } from "../helpers";
import { packageChart, writeChart } from "../engine-fixtures";

const VARS = { chinaRegistry: "crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com", registryNamespace: "platform" };
const CHINA = VARS.chinaRegistry;
const mirrors = loadMirrors(DEFAULT_MIRRORS_FILE, VARS);

/** path → normalised reference of every image found. */
function found(values: unknown): Record<string, string> {
    const out: Record<string, string> = {};
    for (const i of scanValues(values).images)
        out[`${pathString(i.path)}${out[pathString(i.path)] ? "#2" : ""}`] = format(i.reference);
    return out;
}

function rewrite(values: unknown) {
    return rewriteValues(values, scanValues(values).images, mirrors);
}

describe("Helm values scanning", () => {
    describe("image shapes", () => {
        it("reads {registry, repository, tag, sha} blocks", () => {
            assert.deepStrictEqual(
                found({
                    image: { registry: "docker.io", repository: "grafana/grafana", tag: "", sha: "" },
                    sidecar: {
                        image: {
                            registry: "quay.io",
                            repository: "kiwigrid/k8s-sidecar",
                            tag: "2.10.1",
                            sha: "a".repeat(64),
                        },
                    },
                }),
                {
                    image: "docker.io/grafana/grafana",
                    "sidecar.image": `quay.io/kiwigrid/k8s-sidecar:2.10.1@sha256:${"a".repeat(64)}`,
                },
            );
        });

        it("lets global.imageRegistry replace every block's registry, and clears it when rewriting", () => {
            const values = {
                global: { imageRegistry: "mirror.example.com" },
                image: { registry: "docker.io", repository: "bitnami/redis", tag: "8.2.1" },
            };
            assert.deepStrictEqual(found(values), { image: "mirror.example.com/bitnami/redis:8.2.1" });
            assert.deepStrictEqual(rewrite(values).overrides, {
                image: { registry: CHINA, repository: "platform/mirror.example.com_s_bitnami_s_redis" },
                global: { imageRegistry: "" },
            });
        });

        it("reads repositories that carry their registry, and skips empty ones that inherit", () => {
            assert.deepStrictEqual(
                found({
                    global: { image: { repository: "quay.io/argoproj/argocd", tag: "" } },
                    server: { image: { repository: "", tag: "" } },
                }),
                { "global.image": "quay.io/argoproj/argocd" },
            );
        });

        it("reads flux2's {image, tag} and a digest given as the tag", () => {
            const d = `sha256:${"b".repeat(64)}`;
            assert.deepStrictEqual(
                found({
                    cli: { image: "ghcr.io/fluxcd/flux-cli", tag: "v2.8.5" },
                    helmController: { image: "ghcr.io/fluxcd/helm-controller", tag: d },
                }),
                {
                    cli: "ghcr.io/fluxcd/flux-cli:v2.8.5",
                    helmController: `ghcr.io/fluxcd/helm-controller@${d}`,
                },
            );
        });

        it("reads ingress-nginx's {image, tag, digest} with global.image.registry, including the chroot variant", () => {
            const values = {
                global: { image: { registry: "registry.k8s.io" } },
                controller: {
                    image: {
                        image: "ingress-nginx/controller",
                        tag: "v1.15.1",
                        digestChroot: `sha256:${"c".repeat(64)}`,
                    },
                },
            };
            assert.deepStrictEqual(found(values), {
                "controller.image": "registry.k8s.io/ingress-nginx/controller:v1.15.1",
                "controller.image#2": `registry.k8s.io/ingress-nginx/controller-chroot:v1.15.1@sha256:${"c".repeat(64)}`,
            });
            assert.deepStrictEqual(rewrite(values).overrides, {
                controller: {
                    image: { registry: CHINA, image: "platform/registry.k8s.io_s_ingress-nginx_s_controller" },
                },
            });
        });

        it("composes cert-manager's imageRegistry/imageNamespace/name", () => {
            const values = {
                imageRegistry: "quay.io",
                imageNamespace: "jetstack",
                image: { name: "cert-manager-controller", repository: "" },
                webhook: { image: { name: "cert-manager-webhook", repository: "" } },
            };
            assert.deepStrictEqual(found(values), {
                image: "quay.io/jetstack/cert-manager-controller",
                "webhook.image": "quay.io/jetstack/cert-manager-webhook",
            });
            assert.deepStrictEqual(rewrite(values).overrides, {
                image: { repository: `${CHINA}/platform/quay.io_s_jetstack_s_cert-manager-controller` },
                webhook: { image: { repository: `${CHINA}/platform/quay.io_s_jetstack_s_cert-manager-webhook` } },
            });
        });

        it("reads gpu-operator's {repository: host/path, image: name, version} and splits the rewrite the same way", () => {
            const values = {
                operator: { repository: "nvcr.io/nvidia", image: "gpu-operator" }, // version: appVersion
                driver: { repository: "nvcr.io/nvidia", image: "driver", version: "550.54" },
            };
            assert.deepStrictEqual(found(values), {
                operator: "nvcr.io/nvidia/gpu-operator",
                driver: "nvcr.io/nvidia/driver:550.54",
            });
            const tagFrom = Object.fromEntries(scanValues(values).images.map((i) => [pathString(i.path), i.tagFrom]));
            assert.deepStrictEqual(tagFrom, { operator: "chart", driver: "values" });
            const { overrides } = rewrite(values);
            const o = overrides as Record<string, Record<string, string>>;
            // The chart joins repository/image: the join of the overrides is the China name.
            assert.strictEqual(
                `${o.driver.repository}/${o.driver.image}`,
                `${CHINA}/platform/nvcr.io_s_nvidia_s_driver`,
            );
            assert.strictEqual(
                `${o.operator.repository}/${o.operator.image}`,
                `${CHINA}/platform/nvcr.io_s_nvidia_s_gpu-operator`,
            );
        });

        it("reads image strings, sidecars and init containers in lists", () => {
            const values = {
                initImage: "busybox:1.36",
                extraContainers: [{ name: "proxy", image: "quay.io/oauth2-proxy/oauth2-proxy:v7.6.0" }],
                initContainers: [
                    { name: "init", image: "docker.io/library/alpine:3.20", imagePullPolicy: "IfNotPresent" },
                ],
            };
            assert.deepStrictEqual(found(values), {
                initImage: "docker.io/library/busybox:1.36",
                "extraContainers[0].image": "quay.io/oauth2-proxy/oauth2-proxy:v7.6.0",
                "initContainers[0].image": "docker.io/library/alpine:3.20",
            });
        });

        it("finds images passed as arguments and rewrites them in a full copy of the list", () => {
            const values = {
                operator: {
                    extraArgs: ["--log-level=info", "--thanos-default-base-image=quay.io/thanos/thanos:v0.42.4"],
                    env: [{ name: "X", value: "ghcr.io/acme/tool:1.0" }],
                },
            };
            assert.deepStrictEqual(found(values), {
                "operator.extraArgs[1]": "quay.io/thanos/thanos:v0.42.4",
                "operator.env[0].value": "ghcr.io/acme/tool:1.0",
            });
            assert.deepStrictEqual(rewrite(values).overrides, {
                operator: {
                    extraArgs: [
                        "--log-level=info",
                        `--thanos-default-base-image=${CHINA}/platform/quay.io_s_thanos_s_thanos:v0.42.4`,
                    ],
                    env: [{ name: "X", value: `${CHINA}/platform/ghcr.io_s_acme_s_tool:1.0` }],
                },
            });
        });

        it("ignores strings that are not images", () => {
            assert.deepStrictEqual(
                found({
                    imagePullPolicy: "IfNotPresent",
                    url: "https://example.com/a:b",
                    host: "example.com",
                    args: ["--port=8080", "/bin/sh"],
                }),
                {},
            );
        });

        it("writes only the keys that change, never a copy of the chart's values", () => {
            const values = {
                image: {
                    repository: "registry.k8s.io/metrics-server/metrics-server",
                    tag: "",
                    pullPolicy: "IfNotPresent",
                },
                replicas: 2,
                args: [],
            };
            assert.deepStrictEqual(rewrite(values).overrides, {
                image: { repository: `${CHINA}/platform/registry.k8s.io_s_metrics-server_s_metrics-server` },
            });
        });
    });

    describe("Helm merge", () => {
        it("coalesces over chart defaults: maps merge, lists and scalars replace, null deletes", () => {
            assert.deepStrictEqual(
                coalesceValues({ a: { b: 1, c: 2 }, l: [1, 2], d: 1 }, { a: { b: 3 }, l: [9], d: null }),
                { a: { b: 3, c: 2 }, l: [9] },
            );
        });

        it("layers values as helm -f a -f b does: a null in a later file deletes the chart's default (real helm)", () => {
            // Chart default x: {keep: d}; a.yaml sets x.extra, b.yaml sets x: null. Helm layers the files
            // keeping the null, then coalesces it over the defaults, so x is gone altogether. Deleting the
            // null while layering would leave the chart's default in place.
            const dir = tempDir("merge");
            const chart = path.join(dir, "chart");
            fs.mkdirSync(path.join(chart, "templates"), { recursive: true });
            fs.writeFileSync(path.join(chart, "Chart.yaml"), "apiVersion: v2\nname: merge\nversion: 0.1.0\n");
            fs.writeFileSync(path.join(chart, "values.yaml"), "x:\n  keep: d\nother: 1\n");
            fs.writeFileSync(
                path.join(chart, "templates", "cm.yaml"),
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata:\n  values: {{ toJson .Values | quote }}\n",
            );
            const a = { x: { extra: "a" }, other: 2 };
            const b = { x: null };
            fs.writeFileSync(path.join(dir, "a.yaml"), JSON.stringify(a));
            fs.writeFileSync(path.join(dir, "b.yaml"), JSON.stringify(b));
            const r = spawnSync(
                locateTool("helm"),
                ["template", "m", chart, "-f", path.join(dir, "a.yaml"), "-f", path.join(dir, "b.yaml")],
                { encoding: "utf8", timeout: 60_000 },
            );
            assert.strictEqual(r.status, 0, r.stderr);
            const data = (parse(r.stdout) as { data: { values: string } }).data.values;
            const helmSaw = JSON.parse(data) as Record<string, unknown>;
            const ours = coalesceValues({ x: { keep: "d" }, other: 1 }, mergeValues(a, b));
            assert.deepStrictEqual(ours, helmSaw);
            assert.deepStrictEqual(helmSaw, { other: 2 });
        });
    });

    describe("the chart corpus", function () {
        let charts: string[] = [];
        before(function () {
            requireCorpus(this);
            charts = fs
                .readdirSync(corpusFile("charts"))
                .filter((c) => fs.existsSync(corpusFile("charts", c, "values.yaml")));
        });

        /** Ground-truth lines of a chart's images.txt: reference plus whether its tag comes from outside values. */
        function groundTruth(
            chart: string,
        ): { line: string; ref: ReturnType<typeof parseNormalizedNamed>; tagFromValues: boolean }[] {
            return fs
                .readFileSync(corpusFile("charts", chart, "images.txt"), "utf8")
                .split("\n")
                .filter((l) => l.trim() && !l.trim().startsWith("#"))
                .map((line) => {
                    const [ref, comment = ""] = line.split("#");
                    return { line, ref: parseNormalizedNamed(ref.trim()), tagFromValues: !/tag from/.test(comment) };
                });
        }

        it("covers every chart of the corpus", () => {
            assert.ok(charts.length >= 10, `found ${charts.length} charts`);
        });

        it("finds every ground-truth image (active and disabled) in each chart's values.yaml", () => {
            const missing: string[] = [];
            for (const chart of charts) {
                const values = parse(fs.readFileSync(corpusFile("charts", chart, "values.yaml"), "utf8"));
                const images = scanValues(values).images;
                for (const truth of groundTruth(chart)) {
                    const match = images.find((i) => {
                        if (nameOf(i.reference) !== nameOf(truth.ref)) return false;
                        if (i.tagFrom === "chart") return !truth.tagFromValues || truth.ref.tag === undefined;
                        return i.reference.tag === truth.ref.tag && i.reference.digest === truth.ref.digest;
                    });
                    if (!match) missing.push(`${chart}: ${truth.line}`);
                }
            }
            assert.deepStrictEqual(missing, []);
        });

        it("rewrites every image to the China side, with override values that point only inside China", () => {
            const problems: string[] = [];
            for (const chart of charts) {
                const values = parse(fs.readFileSync(corpusFile("charts", chart, "values.yaml"), "utf8"));
                const scan = scanValues(values);
                const { images, overrides } = rewriteValues(values, scan.images, mirrors);
                for (const r of images) {
                    const ref = parseNormalizedNamed(r.rewritten);
                    if (!isChinaHost(mirrors, ref.domain)) problems.push(`${chart}: ${r.original} -> ${r.rewritten}`);
                    if (ref.tag !== r.image.reference.tag || ref.digest !== r.image.reference.digest)
                        problems.push(`${chart}: ${r.original} changed its tag or digest`);
                }
                // Every image of the values with the overrides applied is inside China.
                const merged = coalesceValues(values, overrides);
                for (const image of scanValues(merged).images) {
                    if (!isChinaHost(mirrors, image.reference.domain))
                        problems.push(`${chart}: ${pathString(image.path)} still pulls ${format(image.reference)}`);
                }
                // The overrides themselves name no registry outside China.
                for (const image of scanValues(overrides).images) {
                    if (!isChinaHost(mirrors, image.reference.domain))
                        problems.push(`${chart}: override ${pathString(image.path)} = ${format(image.reference)}`);
                }
                // Rewriting the rewritten values changes nothing more.
                const again = rewriteValues(merged, scanValues(merged).images, mirrors);
                if (JSON.stringify(coalesceValues(merged, again.overrides)) !== JSON.stringify(merged))
                    problems.push(`${chart}: rewriting twice differs from rewriting once`);
                if (scan.warnings.length) problems.push(`${chart}: ${scan.warnings.join("; ")}`);
            }
            assert.deepStrictEqual(problems, []);
        });
    });

    describe("chart archives with dependencies", () => {
        /** A parent chart with a dependency as a nested .tgz and one as a directory with an alias. */
        async function buildArchive(dir: string): Promise<string> {
            const write = (rel: string, text: string) => {
                fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
                fs.writeFileSync(path.join(dir, rel), text);
            };
            write("dep/Chart.yaml", "apiVersion: v2\nname: exporter\nversion: 0.3.0\nappVersion: 1.2.0\n");
            write(
                "dep/values.yaml",
                "image:\n  registry: quay.io\n  repository: prometheus/node-exporter\n  tag: v1.12.1\n",
            );
            await tar.c({ gzip: true, file: path.join(dir, "exporter-0.3.0.tgz"), cwd: dir, portable: true }, ["dep"]);
            fs.renameSync(path.join(dir, "dep"), path.join(dir, "exporter"));
            // The nested archive's top folder is named after the chart, as `helm package` does.
            fs.rmSync(path.join(dir, "exporter-0.3.0.tgz"));
            await tar.c({ gzip: true, file: path.join(dir, "exporter-0.3.0.tgz"), cwd: dir, portable: true }, [
                "exporter",
            ]);
            write(
                "app/Chart.yaml",
                "apiVersion: v2\nname: app\nversion: 1.0.0\nappVersion: 2.0.0\ndependencies:\n  - name: exporter\n    version: 0.3.0\n  - name: metrics\n    alias: kube-state\n    version: 8.4.0\n",
            );
            write(
                "app/values.yaml",
                'image:\n  repository: ghcr.io/acme/app\n  tag: 2.0.0\nexporter:\n  image:\n    tag: v1.13.0\nglobal:\n  imageRegistry: ""\n',
            );
            fs.mkdirSync(path.join(dir, "app/charts"), { recursive: true });
            fs.copyFileSync(path.join(dir, "exporter-0.3.0.tgz"), path.join(dir, "app/charts/exporter-0.3.0.tgz"));
            write(
                "app/charts/metrics/Chart.yaml",
                "apiVersion: v2\nname: metrics\nversion: 8.4.0\nappVersion: v2.20.0\n",
            );
            write(
                "app/charts/metrics/values.yaml",
                'image:\n  registry: registry.k8s.io\n  repository: kube-state-metrics/kube-state-metrics\n  tag: ""\n',
            );
            const archive = path.join(dir, "app-1.0.0.tgz");
            await tar.c({ gzip: true, file: archive, cwd: dir, portable: true }, ["app"]);
            return archive;
        }

        it("finds dependency images under their values key and writes overrides there", async () => {
            const archive = await buildArchive(tempDir("chart"));
            const chart = readChartArchive(archive);
            assert.strictEqual(chart.name, "app");
            assert.deepStrictEqual([...chart.dependencies.keys()].sort(), ["exporter", "kube-state"]);
            const { effective, scan } = scanChart(chart);
            assert.deepStrictEqual(
                Object.fromEntries(scan.images.map((i) => [pathString(i.path), format(i.reference)])),
                {
                    image: "ghcr.io/acme/app:2.0.0",
                    // The parent's `exporter.image.tag` overrides the dependency's default.
                    "exporter.image": "quay.io/prometheus/node-exporter:v1.13.0",
                    "kube-state.image": "registry.k8s.io/kube-state-metrics/kube-state-metrics",
                },
            );
            const { overrides } = rewriteValues(effective, scan.images, mirrors);
            assert.deepStrictEqual(overrides, {
                image: { repository: `${CHINA}/platform/ghcr.io_s_acme_s_app` },
                exporter: { image: { registry: CHINA, repository: "platform/quay.io_s_prometheus_s_node-exporter" } },
                "kube-state": {
                    image: {
                        registry: CHINA,
                        repository: "platform/registry.k8s.io_s_kube-state-metrics_s_kube-state-metrics",
                    },
                },
            });
        });

        it("is what `crossborder images --chart` reports", async () => {
            const archive = await buildArchive(tempDir("chart-cli"));
            const r = runCli(["images", "--chart", archive, "--json"]);
            assert.strictEqual(r.status, 0, r.stderr);
            assert.deepStrictEqual(
                JSON.parse(r.stdout).images.map((i: any) => i.path),
                ["image", "exporter.image", "kube-state.image"],
            );
        });
    });

    describe("crossborder images (subprocess)", function () {
        before(function () {
            requireCorpus(this);
        });

        it("says a tag comes from the chart only when the values give none", () => {
            const dir = tempDir("tagfrom");
            fs.writeFileSync(
                path.join(dir, "values.yaml"),
                "a:\n  image: quay.io/acme/a:1.2\nb:\n  image: {repository: quay.io/acme/b}\n",
            );
            const r = runCli(["images", "--values", path.join(dir, "values.yaml")]);
            assert.strictEqual(r.status, 0, r.stderr);
            assert.match(r.stdout, /^a\.image +quay\.io\/acme\/a:1\.2$/m);
            assert.match(r.stdout, /^b\.image +quay\.io\/acme\/b \(tag from chart\)$/m);
        });

        it("lists path, original and rewritten reference", () => {
            const r = runCli(["images", "--values", corpusFile("charts", "flux2", "values.yaml")]);
            assert.strictEqual(r.status, 0, r.stderr);
            assert.match(r.stdout, /^8 image\(s\)$/m);
            assert.match(
                r.stdout,
                /^helmController\s+ghcr\.io\/fluxcd\/helm-controller:v1\.5\.3\n\s+-> crossborder-china-registry\.cn-hangzhou\.cr\.aliyuncs\.com\/platform\/ghcr\.io_s_fluxcd_s_helm-controller:v1\.5\.3$/m,
            );
        });

        it("prints the override values with --rewrite", () => {
            const r = runCli([
                "images",
                "--values",
                corpusFile("charts", "metrics-server", "values.yaml"),
                "--rewrite",
            ]);
            assert.strictEqual(r.status, 0, r.stderr);
            assert.match(r.stdout, /^# Generated by crossborder/);
            assert.deepStrictEqual(parse(r.stdout), {
                image: { repository: `${CHINA}/platform/registry.k8s.io_s_metrics-server_s_metrics-server` },
                addonResizer: {
                    image: { repository: `${CHINA}/platform/registry.k8s.io_s_autoscaling_s_addon-resizer` },
                },
            });
        });

        it("uses the china stack's outputs for the registry when given", () => {
            const dir = tempDir("outputs");
            const outputs = path.join(dir, "china.json");
            fs.writeFileSync(
                outputs,
                JSON.stringify({
                    registryEndpoint: "acme-registry.cn-beijing.cr.aliyuncs.com",
                    registryNamespace: "mirror",
                }),
            );
            const r = runCli([
                "images",
                "--values",
                corpusFile("charts", "aws-load-balancer-controller", "values.yaml"),
                "--stack-outputs",
                outputs,
                "--json",
            ]);
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(
                JSON.parse(r.stdout).images[0].rewritten,
                "acme-registry.cn-beijing.cr.aliyuncs.com/mirror/public.ecr.aws_s_eks_s_aws-load-balancer-controller:v3.5.0",
            );
        });

        it("exits 2 naming file and line for invalid YAML", () => {
            const dir = tempDir("badvalues");
            const file = path.join(dir, "values.yaml");
            fs.writeFileSync(file, "image:\n  repository: a\n  tag: [1\n");
            const r = runCli(["images", "--values", file]);
            assert.strictEqual(r.status, 2);
            assert.match(r.stderr, new RegExp(`^crossborder: ${file.replace(/[.]/g, "\\.")}:\\d+: invalid YAML: `));
            assert.doesNotMatch(r.stderr, /\n\s+at /);
        });

        it("exits 2 for an unreadable file and for a missing option", () => {
            const missing = runCli(["images", "--values", "/nonexistent/values.yaml"]);
            assert.strictEqual(missing.status, 2);
            assert.match(missing.stderr, /\/nonexistent\/values\.yaml: cannot read the values file \(ENOENT\)/);
            const none = runCli(["images"]);
            assert.strictEqual(none.status, 2);
            assert.match(none.stderr, /pass --values FILE/);
        });
    });
});

describe("a chart archive read twice in one process", () => {
    it("is read once while the file stays, again once it is replaced, and is shared frozen", () => {
        const dir = tempDir("chart-once");
        const archive = (version: string) =>
            packageChart(
                writeChart(path.join(dir, version), "once", { "values.yaml": `image: {tag: "${version}"}\n` }, version),
                path.join(dir, `pkg-${version}`),
            );
        const file = path.join(dir, "once.tgz");
        fs.copyFileSync(archive("1.0.0"), file);
        const first = readChartArchive(file);
        assert.strictEqual(readChartArchive(file), first, "the same file is not read again");
        assert.ok(Object.isFrozen(first.values), "a shared chart cannot be changed by one of its readers");
        assert.ok(Object.isFrozen((first.values as { image: object }).image), "frozen all the way down");
        // Replaced by another archive (a new inode): read again.
        const next = archive("2.0.0");
        fs.renameSync(next, file);
        const second = readChartArchive(file);
        assert.strictEqual(second.version, "2.0.0");
        assert.deepStrictEqual(second.values, { image: { tag: "2.0.0" } });
    });
});
