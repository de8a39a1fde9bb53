/**
 * The render pipeline on the real engines. Every check here runs the real helm v4 and kubectl's kustomize:
 * the corpus charts end to end (no image outside China in what the china cluster would run, every such
 * image in the inventory, global untouched, a hand edit caught by the audit), small charts written here
 * for each hard shape, the render cache, the chart lock, and helm failures.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse, parseAllDocuments, stringify } from "yaml";
import { auditTree } from "../../gitops/audit";
import { loadCatalog, parseCatalog } from "../../gitops/catalog";
import { RenderCache } from "../../gitops/engine/cache";
import { archivePath, ChartCacheError, lockText, readLock, sha256File } from "../../gitops/engine/charts";
import { HelmError, resetHelm } from "../../gitops/engine/helm";
import { ToolError } from "../../gitops/engine/tools";
import { encodeFlat, isChinaHost } from "../../core/mirrors";
import { documentPieces, parseManifests, pieceValues } from "../../gitops/objects/manifests";
import { findImages, scanObjects } from "../../gitops/objects/images";
import { RenderFindings, RenderOutput } from "../../gitops/render";
import { format, nameOf, parseNormalizedNamed } from "../../core/reference";
import { writeTree } from "../../gitops/writer";
import { corpusFile, requireCorpus } from "../corpus";
import {
    clusters,
    corpusSetup,
    CorpusSetup,
    helmTemplate,
    mirrors,
    mirrorsWithPrefixes,
    origin,
    packageChart,
    renderCatalog,
    vars,
    writeChart,
} from "../engine-fixtures";
import { ROOT, runCli, tempDir, writeFiles } from "../helpers";

const KUBECTL = path.join(ROOT, ".tools", "bin", "kubectl");
type Obj = Record<string, any>;

/** Every HelmRelease of a rendered tree, merged over its apps/base part when it is an overlay patch. */
function helmReleases(out: RenderOutput, cluster: "global" | "china"): Obj[] {
    const releases: Obj[] = [];
    for (const [p, text] of out.files) {
        const overlay = p.startsWith(`apps/${cluster}/`) && p.endsWith("-release.yaml");
        const infra =
            p.startsWith(`infrastructure/controllers/${cluster}/`) ||
            p.startsWith(`infrastructure/configs/${cluster}/`);
        if (!overlay && !infra) continue;
        for (const d of parseAllDocuments(String(text)).map((x) => x.toJS()))
            if (d?.kind === "HelmRelease") releases.push(d);
    }
    return releases;
}

/**
 * How the installed helm-controller feeds hooks to the post-renderers, stated here from its source rather
 * than read from the product: v1.5.5 (Flux 2.8.8) hard-codes PostRenderStrategyNoHooks
 * (internal/action/install.go, commit 263affa); v1.6.x (Flux 2.9) reads spec.postRenderStrategy, default
 * combined (internal/action/post_render.go).
 */
type Controller = "flux-2.8" | "flux-2.9";

function hooksPostRendered(hr: Obj, controller: Controller): boolean {
    return controller === "flux-2.9" && (hr.spec.postRenderStrategy ?? "combined") === "combined";
}

/**
 * What a cluster runs for one HelmRelease, computed here independently of the pipeline: the real helm
 * template with the HelmRelease's values, then its post-renderers built by the real kustomize, with hooks
 * left as rendered where the controller does not post-render them.
 */
const runs = new Map<string, string>();
function runRelease(hr: Obj, archive: string, controller: Controller = "flux-2.8"): string {
    const key = JSON.stringify([hr, archive, controller]);
    if (!runs.has(key)) runs.set(key, runReleaseOnce(hr, archive, controller));
    return runs.get(key)!;
}

function runReleaseOnce(hr: Obj, archive: string, controller: Controller): string {
    const rendered = helmTemplate(archive, hr.metadata.name, hr.metadata.namespace, hr.spec.values ?? {}, "1.33");
    if (!hr.spec.postRenderers?.length) return rendered;
    const docs = rendered.split(/^---$/m).filter((d) => d.trim());
    const isHook = (d: string) => Boolean(parse(d)?.metadata?.annotations?.["helm.sh/hook"]);
    const aside = hooksPostRendered(hr, controller) ? [] : docs.filter(isHook);
    let text = docs.filter((d) => !aside.includes(d)).join("\n---\n");
    for (const pr of hr.spec.postRenderers ?? []) {
        const dir = tempDir("postrender");
        fs.writeFileSync(path.join(dir, "helm-output.yaml"), text);
        fs.writeFileSync(
            path.join(dir, "kustomization.yaml"),
            stringify({
                resources: ["helm-output.yaml"],
                images: pr.kustomize.images ?? [],
                patches: pr.kustomize.patches ?? [],
            }),
        );
        const r = spawnSync(KUBECTL, ["kustomize", dir], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
        assert.strictEqual(r.status, 0, `kustomize of ${hr.metadata.name}: ${r.stderr}`);
        text = r.stdout;
    }
    return [text, ...aside].join("\n---\n");
}

/** A catalog of one release of the local chart `name` written into `dir`; returns the catalog file. */
function oneChartCatalog(dir: string, name: string, files: Record<string, string>, release: object = {}): string {
    writeChart(dir, name, files);
    const file = path.join(dir, "catalog.yaml");
    fs.writeFileSync(file, stringify({ version: 1, releases: [{ name, chart: { path: name }, ...release }] }));
    return file;
}

/** A Deployment's lines up to its first container's name: the rest (image, args, env) follows. */
function deploymentHead(name: string, container = name): string[] {
    return [
        "apiVersion: apps/v1",
        "kind: Deployment",
        `metadata: {name: ${name}}`,
        "spec:",
        "  selector: {matchLabels: {a: b}}",
        "  template:",
        "    metadata: {labels: {a: b}}",
        "    spec:",
        "      containers:",
        `        - name: ${container}`,
    ];
}

const imagesOf = (text: string) =>
    findImages(parseManifests(text, "test"), { registries: [...mirrors.upstreams.keys(), ...mirrors.chinaHosts] }).map(
        (l) => ({ reference: l.reference, parsed: l.parsed, container: l.via === "container" }),
    );

describe("rendering on the Helm engine", function () {
    this.timeout(300_000);

    describe("the ten corpus charts", () => {
        let setup: CorpusSetup;
        let out: RenderOutput;
        before(async function () {
            requireCorpus(this);
            setup = corpusSetup();
            out = await renderCatalog(parseCatalog(fs.readFileSync(setup.catalogFile, "utf8"), setup.catalogFile), {
                chartCache: setup.chartCache,
            });
        });

        it("renders every release on the engine", () => {
            assert.deepStrictEqual(out.rendered, setup.charts.map((c) => c.name).sort());
            assert.deepStrictEqual(out.unrendered, []);
        });

        it("leaves no image outside China in what the china cluster runs (helm template + the post-renderer, recomputed here)", () => {
            const outside: string[] = [];
            let counted = 0;
            for (const hr of helmReleases(out, "china")) {
                const archive = setup.charts.find((c) => c.name === hr.metadata.name)!.archive;
                for (const i of imagesOf(runRelease(hr, archive))) {
                    counted++;
                    if (!i.parsed || !isChinaHost(mirrors, i.parsed.domain))
                        outside.push(`${hr.metadata.name}: ${i.reference}`);
                }
            }
            assert.ok(counted >= 40, `${counted} image references`);
            assert.deepStrictEqual(outside, []);
        });

        it("puts every image the china cluster runs in the inventory, with a tag or digest", () => {
            const destinations = new Set(
                out.inventory.images
                    .map((i) => parseNormalizedNamed(i.destination.replace("docker://", "")))
                    .map((r) => `${r.path}:${r.tag}`),
            );
            const missing: string[] = [];
            for (const hr of helmReleases(out, "china")) {
                const archive = setup.charts.find((c) => c.name === hr.metadata.name)!.archive;
                for (const i of imagesOf(runRelease(hr, archive))) {
                    const tag = i.parsed!.tag ?? (i.parsed!.digest ? i.parsed!.digest.replace(":", "-") : "latest");
                    if (!destinations.has(`${i.parsed!.path}:${tag}`))
                        missing.push(`${hr.metadata.name}: ${i.reference}`);
                }
            }
            assert.deepStrictEqual(missing, []);
            for (const i of out.inventory.images)
                assert.ok(/[:@]/.test(i.source.slice(i.source.lastIndexOf("/"))), i.source);
        });

        it("copies every ground-truth image of the corpus (images.txt) from its upstream", () => {
            const sources = new Set(
                out.inventory.images.map((i) => nameOf(parseNormalizedNamed(i.source.replace("docker://", "")))),
            );
            const missing: string[] = [];
            for (const c of setup.charts) {
                const truth = fs
                    .readFileSync(corpusFile("charts", c.name, "images.txt"), "utf8")
                    .split("# disabled by default")[0];
                for (const line of truth
                    .split("\n")
                    .map((l) => l.split("#")[0].trim())
                    .filter(Boolean)) {
                    if (!sources.has(nameOf(parseNormalizedNamed(line)))) missing.push(`${c.name}: ${line}`);
                }
            }
            assert.deepStrictEqual(missing, []);
        });

        it("renders global exactly as plain helm template of the catalog's values: nothing rewritten outside China", () => {
            const catalog = parseCatalog(fs.readFileSync(setup.catalogFile, "utf8"), setup.catalogFile);
            for (const hr of helmReleases(out, "global")) {
                const release = catalog.releases.find((r) => r.name === hr.metadata.name)!;
                assert.strictEqual(hr.spec.postRenderers, undefined, hr.metadata.name);
                assert.deepStrictEqual(hr.spec.values ?? {}, release.values, hr.metadata.name);
                const archive = setup.charts.find((c) => c.name === release.name)!.archive;
                const plain = () => helmTemplate(archive, release.name, release.namespace, release.values, "1.33");
                const ours = runRelease(hr, archive);
                const [a, b] = [plain(), plain()];
                if (a === b) assert.strictEqual(ours, a, hr.metadata.name);
                else {
                    // The chart generates certificates on every render: compare what is not random.
                    const shape = (t: string) => JSON.stringify([parseManifests(t, "x").map((o) => o.id), imagesOf(t)]);
                    assert.strictEqual(shape(ours), shape(a), hr.metadata.name);
                }
            }
        });

        it("renders Bitnami's redis on china without tripping its guard on substituted images", () => {
            const hr = helmReleases(out, "china").find((h) => h.metadata.name === "redis")!;
            assert.strictEqual(
                hr.spec.values,
                undefined,
                "no values substitution, so global.security.allowInsecureImages is not needed",
            );
            const images = imagesOf(runRelease(hr, setup.charts.find((c) => c.name === "redis")!.archive));
            assert.ok(
                images.length >= 2 &&
                    images.every((i) =>
                        i.reference.startsWith(`${vars.chinaRegistry}/platform/docker.io_s_bitnami_s_redis:`),
                    ),
                JSON.stringify(images),
            );
        });

        it("lists every locked chart archive for copy.sh, with its sha256", () => {
            const lock = readLock(path.join(setup.dir, "catalog.lock"))!;
            for (const c of setup.charts) {
                const entry = out.inventory.charts.find((x) => x.chart === c.name)!;
                assert.strictEqual(entry.sha256, lock.entries.find((e) => e.name === c.name)!.sha256);
                assert.strictEqual(entry.destination, `oci://${origin}/platform/${c.name}`);
                assert.strictEqual(path.join(setup.chartCache, entry.archive), c.archive);
            }
        });

        it("the audit renders the tree's HelmReleases (--charts) and catches a hand edit that puts an upstream image into a rendered object", async () => {
            const dir = path.join(tempDir("audit-corpus"), "tree");
            writeTree(dir, out.files);
            const lock = readLock(path.join(setup.dir, "catalog.lock"));
            const clean = await auditTree(dir, {
                mirrors,
                chartCache: setup.chartCache,
                lock,
                kubeVersions: { global: "1.33", china: "1.33" },
            });
            const china = clean.clusters.find((c) => c.name === "china")!;
            assert.deepStrictEqual([china.crossBorder, clean.problems], [0, []], JSON.stringify(china.problems));
            assert.strictEqual(china.releases.filter((r) => r.rendered).length, 10);
            // An annotation anywhere in a pod template is enough: the audit judges what the chart renders.
            const file = path.join(dir, "apps", "china", "grafana-release.yaml");
            const doc = parse(
                fs
                    .readFileSync(file, "utf8")
                    .replace(/^#.*\n/gm, "")
                    .replace(/^---\n/, ""),
            );
            doc.spec.values = { podAnnotations: { "example.com/debug-image": "docker.io/library/nginx:1.25" } };
            fs.writeFileSync(file, `---\n${stringify(doc)}`);
            const edited = await auditTree(dir, {
                mirrors,
                chartCache: setup.chartCache,
                lock,
                kubeVersions: { china: "1.33" },
            });
            const bad = edited.clusters.find((c) => c.name === "china")!.images.filter((i) => !i.inChina);
            assert.deepStrictEqual(
                bad.map((i) => [i.reference, i.file]),
                [["docker.io/library/nginx:1.25", "apps/base/grafana/release.yaml"]],
            );
            assert.match(
                bad[0].where,
                /renders Deployment \S*grafana \/spec\/template\/metadata\/annotations\/example\.com~1debug-image/,
            );
        });
    });

    describe("hard cases, in charts written here", () => {
        let dir: string;
        let out: RenderOutput;
        const chart = (name: string, files: Record<string, string>) => writeChart(dir, name, files);

        before(async () => {
            dir = tempDir("hard");
            // kyverno's shape: the registry is a template default the values cannot show.
            chart("kyverno-like", {
                "values.yaml": "image:\n  registry: null\n  repository: kyverno/kyverno\n  tag: v1.14.0\n",
                "templates/deploy.yaml": `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: kyverno}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers:\n        - name: k\n          image: "{{ .Values.image.registry | default "reg.kyverno.io" }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n`,
            });
            // An operator: its own image, a custom resource's spec.image and {registry, repository, tag}, an
            // argument, two references in one argument, an env value, an ephemeral container, a test hook.
            chart("operator", {
                "templates/operator.yaml": [
                    ...deploymentHead("operator", "op"),
                    "          image: quay.io/acme/operator:v2",
                    "          args: ['--sidecar-image=ghcr.io/acme/sidecar:1.0', '--extra-images=docker.io/library/busybox:1.37,registry.k8s.io/pause:3.10']",
                    "          env: [{name: RELATED_IMAGE_DB, value: 'docker.io/library/postgres:16@sha256:" +
                        "a".repeat(64) +
                        "'}, {name: LOG_LEVEL, value: info}]",
                    "      ephemeralContainers: [{name: debug, image: docker.io/library/alpine:3.20}]",
                    "---",
                    "apiVersion: cache.acme.io/v1",
                    "kind: Cache",
                    "metadata: {name: main}",
                    "spec:",
                    "  image: docker.io/library/redis:7.4.2",
                    "  exporter: {registry: quay.io, repository: oliver006/redis_exporter, tag: v1.62.0}",
                    "---",
                    "apiVersion: v1",
                    "kind: Pod",
                    "metadata:",
                    "  name: operator-test",
                    "  annotations: {helm.sh/hook: test}",
                    "spec: {containers: [{name: t, image: '{{ .Values.test.image.repository }}:{{ .Values.test.image.tag }}'}]}",
                ].join("\n"),
                "values.yaml": "test:\n  image: {repository: docker.io/bats/bats, tag: 1.11.0}\n",
            });
            // A subchart whose image comes from the parent's values under its key.
            const parent = chart("parent", {
                "values.yaml": "child:\n  image: ghcr.io/acme/child:3.1\n",
                "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: parent}\ndata: {a: b}\n",
            });
            writeChart(path.join(parent, "charts"), "child", {
                "values.yaml": "image: docker.io/acme/child:0.0\n",
                "templates/job.yaml":
                    "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: child}\nspec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          initContainers: [{name: i, image: {{ .Values.image | quote }}}]\n          containers: [{name: c, image: {{ .Values.image | quote }}}]\n",
            });
            // Bitnami's guard: refuses to render when image values differ from the chart's own.
            chart("bitnami-like", {
                "values.yaml":
                    "global:\n  security:\n    allowInsecureImages: false\nimage: {registry: docker.io, repository: bitnami/redis, tag: 8.2.1}\n",
                "templates/guard.yaml":
                    '{{- if and (ne (printf "%s/%s" .Values.image.registry .Values.image.repository) "docker.io/bitnami/redis") (not .Values.global.security.allowInsecureImages) }}{{ fail "Original containers have been substituted for unrecognized ones." }}{{- end }}\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: redis}\nspec:\n  selector: {matchLabels: {a: b}}\n  serviceName: redis\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: r, image: "{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}"}]\n',
            });
            const releases = ["kyverno-like", "operator", "parent", "bitnami-like"].map((name) => ({
                name,
                namespace: name,
                chart: { path: name },
            }));
            const catalogFile = path.join(dir, "catalog.yaml");
            fs.writeFileSync(catalogFile, stringify({ version: 1, releases }));
            out = await renderCatalog(parseCatalog(fs.readFileSync(catalogFile, "utf8"), catalogFile));
        });

        const chinaRun = (name: string) =>
            imagesOf(
                runRelease(
                    helmReleases(out, "china").find((h) => h.metadata.name === name)!,
                    path.join(dir, name),
                ),
            );
        const chinaName = (upstream: string) => `${vars.chinaRegistry}/platform/${encodeFlat(upstream)}`;

        it("moves a registry that only a template knows (kyverno's shape) intact", () => {
            assert.deepStrictEqual(
                chinaRun("kyverno-like").map((i) => i.reference),
                [`${chinaName("reg.kyverno.io/kyverno/kyverno")}:v1.14.0`],
            );
            assert.ok(out.inventory.images.some((i) => i.source === "docker://reg.kyverno.io/kyverno/kyverno:v1.14.0"));
        });

        it("rewrites custom resource fields, arguments, env values, ephemeral containers and test hooks", () => {
            const got = chinaRun("operator")
                .map((i) => i.reference)
                .sort();
            assert.ok(
                got.every((r) => r.startsWith(`${vars.chinaRegistry}/`)),
                got.join("\n"),
            );
            assert.strictEqual(got.length, 9, got.join("\n"));
            const sources = out.inventory.images.map((i) => i.source);
            for (const s of [
                "quay.io/acme/operator:v2",
                "ghcr.io/acme/sidecar:1.0",
                "docker.io/library/busybox:1.37",
                "registry.k8s.io/pause:3.10",
                `docker.io/library/postgres@sha256:${"a".repeat(64)}`,
                "docker.io/library/alpine:3.20",
                "docker.io/library/redis:7.4.2",
                "quay.io/oliver006/redis_exporter:v1.62.0",
                "docker.io/bats/bats:1.11.0",
            ]) {
                assert.ok(sources.includes(`docker://${s}`), s);
            }
            // Flux 2.8.8 applies the test hook as rendered: its image moves through the chart's value, and the
            // field that would ask for post-rendered hooks is not written (that Flux's CRD has none).
            const hr = helmReleases(out, "china").find((h) => h.metadata.name === "operator")!;
            assert.strictEqual(hr.spec.postRenderStrategy, undefined);
            assert.deepStrictEqual(hr.spec.values, {
                test: { image: { repository: chinaName("docker.io/bats/bats") } },
            });
        });

        it("finds a subchart's image where the parent's values set it", () => {
            assert.deepStrictEqual(
                chinaRun("parent").map((i) => i.reference),
                [`${chinaName("ghcr.io/acme/child")}:3.1`, `${chinaName("ghcr.io/acme/child")}:3.1`],
            );
        });

        it("renders a chart with Bitnami's guard on china, its image rewritten by the post-renderer", () => {
            assert.deepStrictEqual(
                chinaRun("bitnami-like").map((i) => i.reference),
                [`${chinaName("docker.io/bitnami/redis")}:8.2.1`],
            );
        });

        it("refuses (exit 1) a rewrite it cannot prove, naming release, object, field and image", async () => {
            const d = tempDir("unprovable");
            const catalog = oneChartCatalog(
                d,
                "nameless",
                {
                    "templates/cr.yaml":
                        "apiVersion: acme.io/v1\nkind: Thing\nmetadata: {generateName: thing-}\nspec: {image: quay.io/acme/thing:1}\n",
                },
                { clusters: ["china"] },
            );
            await assert.rejects(
                renderCatalog(loadCatalog(catalog)),
                (e: Error) =>
                    e instanceof RenderFindings &&
                    /release nameless: Thing thing-<generated> \/spec\/image: the object has no name, so no patch can target it/.test(
                        e.message,
                    ),
            );
        });
    });

    describe("operator shapes: images outside container fields", () => {
        let dir: string;
        let out: RenderOutput;
        before(async () => {
            dir = tempDir("operator-shapes");
            writeChart(dir, "operator", {
                "Chart.yaml":
                    "apiVersion: v2\nname: operator\nversion: 0.1.0\nannotations:\n  artifacthub.io/images: |\n    - name: exporter\n      image: quay.io/acme/exporter:0.9\n",
                "templates/op.yaml": [
                    ...deploymentHead("operator", "op"),
                    "          image: quay.io/acme/operator:v2",
                    // the injector hands its sidecar a short Docker Hub name; a list of images in one value
                    "          env:",
                    "            - {name: SIDECAR_IMAGE, value: 'acme/proxy:1.22'}",
                    "            - {name: EXTRA_IMAGES, value: 'ghcr.io/acme/a:1,ghcr.io/acme/b:2'}",
                    "---",
                    "apiVersion: acme.io/v1",
                    "kind: ClusterPolicy",
                    "metadata: {name: cluster}",
                    "spec:",
                    "  driver: {repository: nvcr.io/acme/driver, image: driver, version: '550.54'}",
                    "  toolkit: {repository: nvcr.io/acme/k8s, image: container-toolkit, version: v1.16.1}",
                    "---",
                    "apiVersion: v1",
                    "kind: ConfigMap",
                    "metadata: {name: settings}",
                    "data:",
                    "  proxyRepository: docker.io/acme/proxyv2",
                    "  proxyTag: '1.22.0'",
                    "  scanner.repository: ghcr.io/acme/scanner",
                    "  scanner.tag: '0.50'",
                    "  dbRepository: ghcr.io/acme/vuln-db",
                ].join("\n"),
            });
            const file = path.join(dir, "catalog.yaml");
            fs.writeFileSync(
                file,
                stringify({
                    version: 1,
                    releases: [
                        {
                            name: "operator",
                            namespace: "operator",
                            chart: { path: "operator" },
                            clusters: ["china"],
                            // the operator pulls the database as an OCI artifact with a tag it implies
                            runtimeImages: ["ghcr.io/acme/vuln-db:2"],
                        },
                    ],
                }),
            );
            out = await renderCatalog(loadCatalog(file));
        });

        it("rewrites every shape on the real engines: 0 upstream references on china", () => {
            const hr = helmReleases(out, "china").find((h) => h.metadata.name === "operator")!;
            const got = imagesOf(runRelease(hr, path.join(dir, "operator")));
            const outside = got.filter((i) => !i.parsed || !isChinaHost(mirrors, i.parsed.domain));
            assert.deepStrictEqual(
                outside.map((i) => i.reference),
                [],
            );
            const rendered = runRelease(hr, path.join(dir, "operator"));
            const china = (upstream: string) => `${vars.chinaRegistry}/platform/${encodeFlat(upstream)}`;
            // split over repository and image: the operator's join gives the China name
            const cp = parse(rendered.split(/^---$/m).find((d) => /kind: ClusterPolicy/.test(d))!);
            assert.strictEqual(
                `${cp.spec.driver.repository}/${cp.spec.driver.image}:${cp.spec.driver.version}`,
                `${china("nvcr.io/acme/driver/driver")}:550.54`,
            );
            const cm = parse(rendered.split(/^---$/m).find((d) => /kind: ConfigMap/.test(d))!);
            assert.strictEqual(
                `${cm.data.proxyRepository}:${cm.data.proxyTag}`,
                `${china("docker.io/acme/proxyv2")}:1.22.0`,
            );
            assert.strictEqual(cm.data["scanner.repository"], china("ghcr.io/acme/scanner"));
            assert.strictEqual(cm.data.dbRepository, china("ghcr.io/acme/vuln-db"));
            assert.match(rendered, new RegExp(`value: ${china("docker.io/acme/proxy").replace(/\./g, "\\.")}:1\\.22`));
        });

        it("copies every image the china cluster and its operator pull: rendered, implied and declared", () => {
            const sources = out.inventory.images.map((i) => i.source);
            for (const s of [
                "quay.io/acme/operator:v2",
                "docker.io/acme/proxy:1.22",
                "ghcr.io/acme/a:1",
                "ghcr.io/acme/b:2",
                "nvcr.io/acme/driver/driver:550.54",
                "nvcr.io/acme/k8s/container-toolkit:v1.16.1",
                "docker.io/acme/proxyv2:1.22.0",
                "ghcr.io/acme/scanner:0.50",
                "ghcr.io/acme/vuln-db:2", // runtimeImages gives the tag the operator implies
                "quay.io/acme/exporter:0.9", // the chart's artifacthub.io/images annotation
            ])
                assert.ok(sources.includes(`docker://${s}`), `${s}\n${sources.join("\n")}`);
            assert.deepStrictEqual(out.inventory.unresolved, []);
        });
    });

    describe("a local chart as the tree carries it", () => {
        // A chart with what a copy can break: a .helmignore (templates/tests of helm-unittest would render as
        // objects without metadata), a template that renders empty, a file a template embeds, a subchart.
        const FILES = {
            ".helmignore": "templates/tests\n*.bak\n",
            "templates/tests/deployment_test.yaml":
                "suite: x\ntests:\n  - it: works\n    asserts: [{isKind: {of: Deployment}}]\n",
            "templates/old.yaml.bak": "junk: [\n",
            "templates/optional.yaml":
                "{{- if .Values.extra }}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n{{- end }}\n",
            "templates/embed.yaml":
                'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: embed}\ndata:\n  tpl: {{ .Files.Get "files/inject.yaml" | quote }}\n',
            "templates/_helpers.tpl": '{{- define "x.name" -}}x{{- end }}\n',
            "files/inject.yaml": "image: ghcr.io/acme/proxy:1.0\n",
            "charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
            "charts/sub/.helmignore": "*.md\n",
            "charts/sub/README.md": "{{ fail }}\n",
            "charts/sub/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sub}\n",
        };

        it("holds the files helm package takes, and renders byte for byte what the chart renders", async () => {
            const d = tempDir("tree-chart");
            const catalog = oneChartCatalog(d, "copied", FILES, { namespace: "copied", clusters: ["global"] });
            const out = await renderCatalog(loadCatalog(catalog));
            const treeDir = path.join(d, "tree");
            writeTree(treeDir, out.files);
            const copy = path.join(treeDir, "charts", "copied");
            const list = (root: string): string[] =>
                fs
                    .readdirSync(root, { recursive: true, withFileTypes: true })
                    .filter((e) => e.isFile())
                    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join("/"))
                    .filter((p) => !p.split("/").some((c) => c.startsWith(".")))
                    .sort();
            // What Helm loads from the chart directory: `helm package` applies the .helmignore files.
            const pkg = tempDir("tree-chart-pkg");
            const r = spawnSync(
                path.join(ROOT, ".tools", "bin", "helm"),
                ["package", path.join(d, "copied"), "-d", pkg],
                { encoding: "utf8" },
            );
            assert.strictEqual(r.status, 0, r.stderr);
            const t = spawnSync("tar", ["-tzf", path.join(pkg, "copied-0.1.0.tgz")], { encoding: "utf8" });
            const packaged = t.stdout
                .split("\n")
                .filter(Boolean)
                .map((p) => p.replace(/^copied\//, ""));
            assert.deepStrictEqual(
                list(copy),
                packaged.filter((p) => !p.split("/").some((c) => c.startsWith("."))).sort(),
            );
            assert.ok(!list(copy).includes("templates/tests/deployment_test.yaml"));
            for (const values of [{}, { extra: true }])
                assert.strictEqual(
                    helmTemplate(copy, "copied", "copied", values, "1.33"),
                    helmTemplate(path.join(d, "copied"), "copied", "copied", values, "1.33"),
                );
        });
    });

    describe("operator shapes: registry prefixes joined at runtime", () => {
        // An operator that joins a hub with image names and a tag (an env value, a flag, its values as JSON in
        // a ConfigMap), a bare registry host setting, a registry/repository/tag triple, a disabled component.
        const PREFIX_CHART = {
            "templates/op.yaml": [
                ...deploymentHead("discovery"),
                "          image: docker.io/acme/pilot:1.2",
                "          args: ['--hub=docker.io/acme', '--log=info']",
                "          env:",
                "            - {name: HUB, value: docker.io/acme}",
                "            - {name: IMAGE_REGISTRY, value: registry.acme.io}",
                "---",
                "apiVersion: v1",
                "kind: ConfigMap",
                "metadata: {name: injector}",
                "data:",
                '  values: \'{"global":{"hub":"docker.io/acme","tag":"1.2","proxy":{"image":"proxy"}}}\'',
                "  config.yaml: |",
                "    containerRegistry: registry.acme.io",
                "    defaultRegistry: docker.io",
                "  IMAGE_REGISTRY: quay.io",
                "  IMAGE_REPOSITORY: acme/exporter",
                "  IMAGE_TAG: '0.9'",
                "---",
                "apiVersion: acme.io/v1",
                "kind: GpuPolicy",
                "metadata: {name: policy}",
                "spec:",
                "  vgpu: {enabled: false, image: vgpu-manager}",
            ].join("\n"),
        };
        const PREFIXES = [
            '"docker.io/acme": {target: china-acr, namespace: acme}',
            '"registry.acme.io/search": {target: china-acr, namespace: search}',
        ];
        const catalogOf = (dir: string, release: object = {}) =>
            oneChartCatalog(dir, "hubbed", PREFIX_CHART, { namespace: "hubbed", clusters: ["china"], ...release });
        let dir: string;
        let out: RenderOutput;
        let rendered: string;
        const prefixed = mirrorsWithPrefixes(PREFIXES);
        before(async () => {
            dir = tempDir("prefix-shapes");
            const catalog = catalogOf(dir, { runtimeImages: ["registry.acme.io/search/engine:8.1"] });
            out = await renderCatalog(loadCatalog(catalog), { mirrors: prefixed });
            const hr = helmReleases(out, "china").find((h) => h.metadata.name === "hubbed")!;
            rendered = runRelease(hr, path.join(dir, "hubbed"));
        });

        it("rewrites every prefix setting on the real engines so that the joins land in China", () => {
            const objects = parseManifests(rendered, "post-rendered");
            const scan = scanObjects(objects, { registries: [...prefixed.upstreams.keys(), ...prefixed.chinaHosts] });
            assert.deepStrictEqual(
                scan.images.filter((i) => !i.parsed || !isChinaHost(prefixed, i.parsed.domain)).map((i) => i.reference),
                [],
            );
            assert.deepStrictEqual(
                scan.prefixes.filter((p) => !isChinaHost(prefixed, p.domain)).map((p) => `${p.setting}=${p.text}`),
                [],
            );
            const C = vars.chinaRegistry;
            const dep = objects.find((o) => o.id.kind === "Deployment")!.object;
            const c = dep.spec.template.spec.containers[0];
            assert.deepStrictEqual(c.args, [`--hub=${C}/acme`, "--log=info"]);
            assert.deepStrictEqual(
                c.env.map((e: Obj) => e.value),
                [`${C}/acme`, C],
            );
            // The operator's join of the rewritten hub gives the name the rendered image has.
            assert.strictEqual(c.image, `${C}/acme/pilot:1.2`);
            const cm = objects.find((o) => o.id.kind === "ConfigMap")!.object;
            assert.strictEqual(JSON.parse(cm.data.values).global.hub, `${C}/acme`);
            assert.deepStrictEqual(parse(cm.data["config.yaml"]), {
                containerRegistry: C,
                defaultRegistry: "docker.io", // a policy engine's default names no pull: left alone
            });
            assert.strictEqual(
                `${cm.data.IMAGE_REGISTRY}/${cm.data.IMAGE_REPOSITORY}:${cm.data.IMAGE_TAG}`,
                `${C}/platform/${encodeFlat("quay.io/acme/exporter")}:0.9`,
            );
        });

        it("copies what the joins pull: rendered, implied by hub + name + tag, and declared", () => {
            const lines = out.inventory.images.map((i) => `${i.source} ${i.destination}`);
            for (const [source, destination] of [
                ["docker.io/acme/pilot:1.2", "acme/pilot:1.2"],
                ["docker.io/acme/proxy:1.2", "acme/proxy:1.2"], // hub + global.proxy.image + tag
                ["registry.acme.io/search/engine:8.1", "search/engine:8.1"], // runtimeImages
                ["quay.io/acme/exporter:0.9", `platform/${encodeFlat("quay.io/acme/exporter")}:0.9`],
            ])
                assert.ok(
                    lines.includes(`docker://${source} docker://${origin}/${destination}`),
                    `${source}\n${lines.join("\n")}`,
                );
            // The disabled component has no tag and is not pulled while off: neither copied nor a finding.
            assert.ok(!lines.some((l) => /vgpu/.test(l)), lines.join("\n"));
            assert.deepStrictEqual(out.inventory.unresolved, []);
        });

        it("refuses (exit 1) an unmapped prefix on the flat registry, with the mapping that works", async () => {
            const d = tempDir("prefix-unmapped");
            await assert.rejects(
                renderCatalog(loadCatalog(catalogOf(d))),
                (e: Error) =>
                    e instanceof RenderFindings &&
                    /release hubbed: ConfigMap injector \/data\/values \(hub: docker\.io\/acme\): the registry prefix docker\.io\/acme is joined with image names at runtime.*prefixes: \{"docker\.io\/acme": \{target: china-acr, namespace: acme\}\}/.test(
                        e.message,
                    ) &&
                    /release hubbed: Deployment discovery \/spec\/template\/spec\/containers\/0\/env\/1\/value \(IMAGE_REGISTRY: registry\.acme\.io\): the registry host setting registry\.acme\.io is joined with <org>\/<name> at runtime/.test(
                        e.message,
                    ),
            );
        });

        it("refuses a mapped prefix nothing under which is copied, naming runtimeImages", async () => {
            const d = tempDir("prefix-uncovered");
            await assert.rejects(
                renderCatalog(loadCatalog(catalogOf(d)), { mirrors: prefixed }),
                (e: Error) =>
                    e instanceof RenderFindings &&
                    /its operator pulls images through the registry prefix registry\.acme\.io \(now .*\), and no image under it is rendered or declared.*runtimeImages: \[registry\.acme\.io\/<name>:<tag>\]/.test(
                        e.message,
                    ),
            );
        });

        it("the audit fails a china tree whose hub points outside China", async () => {
            const root = tempDir("prefix-audit");
            writeTree(root, out.files);
            const release = path.join(root, "apps", "china", "hubbed-release.yaml");
            const text = fs.readFileSync(release, "utf8");
            // An edit that puts the upstream hub back into the ConfigMap patch's replacement.
            const edited = text.replace(
                new RegExp(`"hub":"${vars.chinaRegistry.replace(/\./g, "\\.")}/acme"`),
                '"hub":"docker.io/acme"',
            );
            assert.notStrictEqual(edited, text);
            fs.writeFileSync(release, edited);
            const report = await auditTree(root, { mirrors: prefixed, chinaClusters: ["china"] });
            const problems = report.clusters.find((c) => c.name === "china")!.problems.join("\n");
            assert.match(
                problems,
                /the registry prefix setting hub = docker\.io\/acme makes the operator pull from docker\.io, outside China/,
            );
        });
    });

    describe("hooks, as the installed Flux applies them", () => {
        // A chart whose pre-install hook hard-codes its image: no value of the chart can move it.
        const HOOK_CHART = {
            "templates/job.yaml":
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations: {helm.sh/hook: pre-install}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: m, image: ghcr.io/acme/migrate:2.0}]\n",
            "templates/deploy.yaml":
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: a, image: ghcr.io/acme/app:2.0}]\n",
        };

        it("on Flux 2.8.8 refuses (exit 1) a hook image no value sets, naming the hook", async () => {
            const d = tempDir("hook-28");
            const catalog = oneChartCatalog(d, "hooked", HOOK_CHART, { clusters: ["china"] });
            await assert.rejects(
                renderCatalog(loadCatalog(catalog)),
                (e: Error) =>
                    e instanceof RenderFindings &&
                    /release hooked: Job migrate \/spec\/template\/spec\/containers\/0\/image: ghcr\.io\/acme\/migrate:2\.0 is in a hook \(helm\.sh\/hook: pre-install\), which Flux 2\.8\.8's helm-controller applies as rendered/.test(
                        e.message,
                    ) &&
                    !/acme\/app/.test(e.message),
            );
        });

        it("on Flux 2.9.4 post-renders the hook: 0 upstream images, hooks included, on the real engines", async () => {
            const d = tempDir("hook-29");
            writeChart(d, "hooked", HOOK_CHART);
            const file = path.join(d, "catalog.yaml");
            fs.writeFileSync(
                file,
                stringify({
                    version: 1,
                    flux: {
                        version: "2.9.4",
                        chart: { repository: "oci://ghcr.io/example/charts", name: "flux2", version: "2.19.0" },
                    },
                    releases: [{ name: "hooked", namespace: "hooked", chart: { path: "hooked" }, clusters: ["china"] }],
                }),
            );
            const got = await renderCatalog(loadCatalog(file));
            const hr = helmReleases(got, "china").find((h) => h.metadata.name === "hooked")!;
            assert.strictEqual(hr.spec.postRenderStrategy, "combined");
            const images = imagesOf(runRelease(hr, path.join(d, "hooked"), "flux-2.9"));
            assert.deepStrictEqual(images.map((i) => i.reference).sort(), [
                `${vars.chinaRegistry}/platform/${encodeFlat("ghcr.io/acme/app")}:2.0`,
                `${vars.chinaRegistry}/platform/${encodeFlat("ghcr.io/acme/migrate")}:2.0`,
            ]);
            // The same tree on a Flux 2.8 controller would leave the hook upstream: the pin decides.
            const on28 = imagesOf(runRelease(hr, path.join(d, "hooked"), "flux-2.8")).map((i) => i.reference);
            assert.ok(on28.includes("ghcr.io/acme/migrate:2.0"), on28.join("\n"));
        });
    });

    describe("the tree against the CRDs the installed Flux has", () => {
        /** A catalog of one china release with an upstream image, and the corpus flux2 chart locked in a cache. */
        function withFluxChart(d: string, flux: Record<string, unknown>): { file: string; cache: string } {
            writeChart(d, "web", {
                "templates/deploy.yaml":
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: w, image: ghcr.io/acme/web:1.0}]\n",
            });
            const cache = path.join(d, "charts");
            const ref = {
                repository: "https://fluxcd-community.github.io/helm-charts",
                name: "flux2",
                version: "2.18.3",
            };
            const archive = archivePath(cache, ref);
            fs.mkdirSync(path.dirname(archive), { recursive: true });
            fs.copyFileSync(corpusFile("charts", "flux2", "flux2-2.18.3.tgz"), archive);
            fs.writeFileSync(path.join(d, "catalog.lock"), lockText([{ ...ref, sha256: sha256File(archive) }]));
            const file = path.join(d, "catalog.yaml");
            fs.writeFileSync(
                file,
                stringify({
                    version: 1,
                    flux: { ...flux, chart: ref },
                    releases: [{ name: "web", namespace: "web", chart: { path: "web" }, clusters: ["china"] }],
                }),
            );
            return { file, cache };
        }

        it("checks every Flux object against the CRDs the Flux chart installs, rendered on the engine", async function () {
            requireCorpus(this);
            const { file, cache } = withFluxChart(tempDir("crds-28"), { version: "2.8.8" });
            const got = await renderCatalog(loadCatalog(file), { chartCache: cache });
            assert.strictEqual(got.fluxSchemas, "flux2 2.18.3 (Flux 2.8.8)");
        });

        it("refuses (exit 1) a tree that relies on a field the installed CRDs lack (the API server would prune it)", async function () {
            requireCorpus(this);
            // Flux 2.9.4 pinned, but installed with a chart that carries Flux 2.8's CRDs.
            const { file, cache } = withFluxChart(tempDir("crds-29"), { version: "2.9.4" });
            await assert.rejects(
                renderCatalog(loadCatalog(file), { chartCache: cache }),
                (e: Error) =>
                    e instanceof RenderFindings &&
                    /apps\/china\/web-release\.yaml: HelmRelease web\/web \/spec\/postRenderStrategy: not a field of HelmRelease in flux2 2\.18\.3 \(Flux 2\.9\.4\) \(the API server prunes it\)/.test(
                        e.message,
                    ),
            );
        });
    });

    describe("the render cache", () => {
        it("renders a release once, then reads it; a changed value renders again", async () => {
            const d = tempDir("cache");
            writeChart(d, "app", {
                "values.yaml": "tag: '1'\n",
                "templates/pod.yaml":
                    'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: "ghcr.io/acme/app:{{ .Values.tag }}"}]}\n',
            });
            const catalogFile = path.join(d, "catalog.yaml");
            const write = (tag: string) =>
                fs.writeFileSync(
                    catalogFile,
                    stringify({ version: 1, releases: [{ name: "app", chart: { path: "app" }, values: { tag } }] }),
                );
            const cache = new RenderCache(path.join(d, "renders"));
            const render = () =>
                renderCatalog(parseCatalog(fs.readFileSync(catalogFile, "utf8"), catalogFile), { cache });
            write("1");
            const first = await render();
            assert.deepStrictEqual(
                [cache.hits, cache.misses],
                [0, 2],
                "one helm render (both clusters share it) and one post-render",
            );
            const second = await render();
            assert.deepStrictEqual([cache.hits, cache.misses], [2, 2], "both read back");
            assert.deepStrictEqual([...second.files], [...first.files]);
            write("2");
            const third = await render();
            assert.deepStrictEqual([cache.hits, cache.misses], [2, 4]);
            assert.ok(third.inventory.images.some((i) => i.source === "docker://ghcr.io/acme/app:2"));
        });
    });

    describe("a render cache that was tampered with", () => {
        /** Every record file of a cache folder. */
        const records = (dir: string) =>
            fs
                .readdirSync(dir, { recursive: true, withFileTypes: true })
                .filter((e) => e.isFile() && e.name.endsWith(".json"))
                .map((e) => path.join(e.parentPath, e.name));

        it("renders again, never uses, a record edited by hand or copied from another machine", async () => {
            const d = tempDir("tamper");
            const catalogFile = oneChartCatalog(d, "app", {
                "templates/pod.yaml":
                    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: ghcr.io/acme/app:1}]}\n",
            });
            const renders = path.join(d, "renders");
            const render = (cache: RenderCache) => renderCatalog(loadCatalog(catalogFile), { cache });
            const honest = await render(new RenderCache(renders));
            // Hand edits: every record now says the release renders a Pod from inside China, with no image to rewrite.
            for (const f of records(renders)) {
                const raw = fs.readFileSync(f, "utf8");
                const edited = raw.replace(/ghcr\.io\/acme\/app:1/g, `${vars.chinaRegistry}/platform/app:1`);
                // A record without the image (the post-rendered one) gets an edit that changes no value at all.
                fs.writeFileSync(f, edited === raw ? `${raw} ` : edited);
            }
            const cache = new RenderCache(renders);
            const again = await render(cache);
            assert.strictEqual(cache.hits, 0, "no edited record was used");
            assert.ok(cache.rejected >= 2, `${cache.rejected} rejected`);
            assert.deepStrictEqual([...again.files], [...honest.files], "the same tree as an honest render");
            assert.match(again.warnings.join("\n"), /render cache record\(s\) in \S+ failed their check/);
            // This user's own records, written by that render, are read back.
            const own = new RenderCache(renders);
            await render(own);
            assert.ok(own.hits >= 2 && own.rejected === 0, `${own.hits} hits, ${own.rejected} rejected`);
            // audit --strict trusts no record, not even a valid one: it renders again.
            const tree = path.join(d, "tree");
            writeTree(tree, again.files);
            const before = own.hits;
            const report = await auditTree(tree, { mirrors, engine: { cache: own }, trustCache: false });
            assert.strictEqual(own.hits, before);
            assert.ok(report.clusters.find((c) => c.name === "china")!.releases.every((r) => r.rendered));
            // …but to another user (another secret) the same records are not trusted.
            const elsewhere = new RenderCache(renders, true, path.join(d, "other-user.key"));
            await render(elsewhere);
            assert.strictEqual(elsewhere.hits, 0);
        });
    });

    describe("kustomize builds kept across audits", () => {
        it("reads a build back only when its record passes its check, and never under --strict", async () => {
            const d = tempDir("builds");
            const tree = path.join(d, "tree");
            const files: Record<string, string> = {
                "clusters/china/apps.yaml":
                    "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec: {interval: 10m, prune: true, path: ./apps, sourceRef: {kind: GitRepository, name: flux-system}}\n",
                "apps/kustomization.yaml": "resources: [web.yaml]\n",
                "apps/web.yaml":
                    "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: web}\nspec: {containers: [{name: c, image: docker.io/library/nginx:1.25}]}\n",
            };
            writeFiles(tree, files);
            const renders = path.join(d, "renders");
            const crossing = async (cache: RenderCache, strict = false) =>
                (await auditTree(tree, { mirrors, render: false, engine: { cache }, trustCache: !strict })).clusters
                    .find((c) => c.name === "china")!
                    .images.filter((i) => !i.inChina && i.file === "apps/web.yaml").length;
            assert.strictEqual(await crossing(new RenderCache(renders)), 1);
            const records = fs
                .readdirSync(renders, { recursive: true, withFileTypes: true })
                .filter((e) => e.isFile())
                .map((e) => path.join(e.parentPath, e.name));
            assert.ok(records.length >= 1, "the build was kept");
            // The kept build edited to say the Pod pulls from inside China: refused, built again.
            for (const f of records)
                fs.writeFileSync(
                    f,
                    fs
                        .readFileSync(f, "utf8")
                        .replace(/docker\.io\/library\/nginx/g, `${vars.chinaRegistry}/platform/nginx`),
                );
            const checked = new RenderCache(renders);
            assert.strictEqual(await crossing(checked), 1);
            assert.ok(checked.rejected >= 1, `${checked.rejected} rejected`);
            assert.strictEqual(await crossing(new RenderCache(renders), true), 1);
        });
    });

    describe("kustomize output read back from a kept build", () => {
        /** A tree whose china cluster has one Flux Kustomization of ./apps (`more` added to its spec), and `files`. */
        const appsTree = (prefix: string, more: string, files: Record<string, string>) => {
            const d = tempDir(prefix);
            const tree = path.join(d, "tree");
            writeFiles(tree, {
                "clusters/china/apps.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec: {interval: 10m, prune: true, path: ./apps, sourceRef: {kind: GitRepository, name: flux-system}${more}}\n`,
                ...files,
            });
            return { d, tree };
        };

        it("takes each piece's value once, and parses what postBuild changed from its own text", async () => {
            const { d, tree } = appsTree("values", ", postBuild: {substitute: {REGISTRY: docker.io/library}}", {
                "apps/kustomization.yaml": "resources: [web.yaml, api.yaml]\n",
                "apps/web.yaml":
                    "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: web}\nspec:\n  containers:\n    - name: c\n      image: ${REGISTRY}/nginx:1.25\n",
                "apps/api.yaml":
                    "apiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: web}\nspec: {containers: [{name: c, image: docker.io/library/redis:7}]}\n",
            });
            const renders = path.join(d, "renders");
            const images = async () =>
                (
                    await auditTree(tree, { mirrors, render: false, engine: { cache: new RenderCache(renders) } })
                ).clusters
                    .find((c) => c.name === "china")!
                    .images.map((i) => `${i.file} ${i.reference}`)
                    .sort();
            const cold = await images();
            assert.deepStrictEqual(cold, [
                "apps/api.yaml docker.io/library/redis:7",
                "apps/web.yaml docker.io/library/nginx:1.25",
            ]);
            const kept = fs
                .readdirSync(renders, { recursive: true, withFileTypes: true })
                .filter((e) => e.isFile())
                .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), "utf8"))
                .map((raw) => JSON.parse(raw.slice(raw.indexOf("\n") + 1)))
                .find((r) => typeof r.stdout === "string" && r.stdout.includes("kind: Pod"));
            assert.ok(kept, "the build was kept");
            // The record holds the pieces as kustomize wrote them: the variable is still there, unsubstituted.
            assert.ok(
                JSON.stringify(kept.values).includes("${REGISTRY}/nginx:1.25"),
                "the kept values are the build's own",
            );
            // Read back, the substituted piece is not the kept value: the same images as the cold audit.
            assert.deepStrictEqual(await images(), cold);
        });

        it("reads a resource file with merge keys as kustomize does, not as the tree was read", async () => {
            const { d, tree } = appsTree("merge-keys", "", {
                "apps/kustomization.yaml": "resources: [web.yaml]\n",
                // Only a reader of merge keys sees the Pod: the tree's own read (YAML 1.2) sees a key named <<.
                "apps/web.yaml":
                    "x-base: &base {apiVersion: v1, kind: Pod}\n<<: *base\nmetadata: {name: web, namespace: web}\nspec: {containers: [{name: c, image: docker.io/library/nginx:1.25}]}\n",
            });
            const report = await auditTree(tree, {
                mirrors,
                render: false,
                engine: { cache: new RenderCache(path.join(d, "renders")) },
            });
            const images = report.clusters.find((c) => c.name === "china")!.images;
            assert.deepStrictEqual(
                images.map((i) => `${i.file} ${i.reference}`),
                ["apps/web.yaml docker.io/library/nginx:1.25"],
                "traced to the file that holds it",
            );
        });

        it("keeps no value JSON would change, and gives each known value to one piece only", () => {
            const text = [
                "a: .inf",
                "b: -0",
                '"__proto__": {x: 1}',
                "kind: CustomResourceDefinition\nmetadata: {name: c}",
                "",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata: {k: v}",
            ].join("\n---\n");
            const values = pieceValues(text);
            assert.deepStrictEqual(
                values.map((v) => (v ? "kept" : "parsed")),
                ["parsed", "parsed", "parsed", "parsed", "parsed", "kept"],
            );
            assert.deepStrictEqual(values[5], [parse(documentPieces(text)[5])]);
            // Two pieces of the same text, one value known: the second is parsed, so neither shares an object.
            const twice =
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n";
            const [first] = documentPieces(twice);
            const known = new Map([[first, [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "m" } }]]]);
            const objects = parseManifests(twice, "x", known);
            assert.strictEqual(objects.length, 2);
            assert.notStrictEqual(objects[0].object, objects[1].object);
            assert.deepStrictEqual(objects[0].object, objects[1].object);
        });
    });

    describe("chart archives and the lock", () => {
        let d: string;
        let archive: string;
        const catalogFile = () => path.join(d, "catalog.yaml");
        before(() => {
            d = tempDir("lock");
            const ref = { repository: "https://charts.example.com/stable", name: "app", version: "1.0.0" };
            archive = packageChart(
                writeChart(
                    path.join(d, "src"),
                    "app",
                    {
                        "templates/pod.yaml":
                            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: ghcr.io/acme/app:1}]}\n",
                    },
                    "1.0.0",
                ),
                path.join(d, "charts", "charts.example.com", "stable"),
            );
            fs.writeFileSync(catalogFile(), stringify({ version: 1, releases: [{ name: "app", chart: ref }] }));
            const sha = spawnSync("sha256sum", [archive], { encoding: "utf8" }).stdout.split(" ")[0];
            fs.writeFileSync(
                path.join(d, "catalog.lock"),
                `version: 1\ncharts:\n  - {repository: ${ref.repository}, name: app, version: 1.0.0, sha256: ${sha}}\n`,
            );
        });

        it("renders from the locked archive", () => {
            const r = runCli([
                "render",
                "--catalog",
                catalogFile(),
                "--charts",
                path.join(d, "charts"),
                "--out",
                path.join(d, "out"),
                "--strict",
            ]);
            assert.strictEqual(r.status, 0, r.stderr);
            assert.match(r.stdout, /engine: 1 release\(s\) rendered on helm v4/);
        });

        it("exits 2 when an archive's sha256 differs from the lock, writing nothing", () => {
            const tampered = path.join(d, "tampered");
            fs.cpSync(path.join(d, "charts"), tampered, { recursive: true });
            fs.appendFileSync(path.join(tampered, "charts.example.com", "stable", "app-1.0.0.tgz"), "x");
            const r = runCli([
                "render",
                "--catalog",
                catalogFile(),
                "--charts",
                tampered,
                "--out",
                path.join(d, "out2"),
            ]);
            assert.strictEqual(r.status, 2);
            assert.match(
                r.stderr,
                /app-1\.0\.0\.tgz: sha256 [0-9a-f]{64} differs from [0-9a-f]{64} in \S+catalog\.lock; the archive is not the bytes the catalog was locked with/,
            );
            assert.ok(!fs.existsSync(path.join(d, "out2")));
        });

        it("with --strict, exits 2 naming each release whose archive is missing and the pull command", () => {
            const r = runCli([
                "render",
                "--catalog",
                catalogFile(),
                "--charts",
                path.join(d, "empty"),
                "--out",
                path.join(d, "out3"),
                "--strict",
            ]);
            assert.strictEqual(r.status, 2);
            assert.match(
                r.stderr,
                /--strict: no chart archive for app \(https:\/\/charts\.example\.com\/stable app 1\.0\.0, expected at \S+app-1\.0\.0\.tgz\); fetch them with: crossborder charts pull --catalog \S+catalog\.yaml --charts \S+empty/,
            );
            assert.ok(!fs.existsSync(path.join(d, "out3")));
        });

        it("refuses a lock entry that is not a sha256", () => {
            const bad = path.join(d, "bad");
            fs.mkdirSync(bad);
            fs.writeFileSync(
                path.join(bad, "catalog.lock"),
                "version: 1\ncharts:\n  - {repository: https://x.example.com, name: app, version: 1.0.0, sha256: nope}\n",
            );
            assert.throws(
                () => readLock(path.join(bad, "catalog.lock")),
                /catalog\.lock:3: charts\[0\]\.sha256 is not a sha256; regenerate it with crossborder charts pull/,
            );
        });
    });

    describe("helm itself", () => {
        afterEach(() => {
            delete process.env.CROSSBORDER_HELM;
            resetHelm();
        });

        it("exits 2 when helm is missing, naming the variable and the install", () => {
            const d = tempDir("nohelm");
            const catalog = oneChartCatalog(d, "app", {
                "templates/pod.yaml":
                    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: ghcr.io/acme/app:1}]}\n",
            });
            const r = spawnSync(
                process.execPath,
                [
                    path.join(ROOT, "bin", "crossborder.js"),
                    "render",
                    "--catalog",
                    catalog,
                    "--out",
                    path.join(d, "out"),
                ],
                {
                    cwd: ROOT,
                    encoding: "utf8",
                    env: { ...process.env, CROSSBORDER_HELM: path.join(d, "no-helm-here") },
                },
            );
            assert.strictEqual(r.status, 2, r.stderr);
            assert.match(
                r.stderr,
                /CROSSBORDER_HELM=\S+no-helm-here: not an executable file; point it at a helm binary or unset it/,
            );
            assert.ok(!fs.existsSync(path.join(d, "out")));
        });

        it("exits 2 when helm refuses a chart, naming the release and quoting helm", async () => {
            const d = tempDir("helmfail");
            const catalog = oneChartCatalog(
                d,
                "broken",
                { "templates/x.yaml": '{{ fail "the chart needs .Values.clusterName" }}\n' },
                { clusters: ["china"] },
            );
            await assert.rejects(
                renderCatalog(loadCatalog(catalog)),
                (e: Error) =>
                    e instanceof HelmError &&
                    /^release broken \(china\): helm template failed:\n {2}\| Error: execution error at \(broken\/templates\/x\.yaml:1:3\): the chart needs \.Values\.clusterName/.test(
                        e.message,
                    ),
            );
            const r = runCli(["render", "--catalog", catalog, "--out", path.join(d, "out")]);
            assert.strictEqual(r.status, 2);
            assert.match(r.stderr, /release broken \(china\): helm template failed/);
        });

        it("refuses a helm that is not Helm 4", async () => {
            const d = tempDir("helm3");
            const fake = path.join(d, "helm");
            fs.writeFileSync(fake, '#!/bin/sh\n[ "$1" = version ] && { echo v3.17.2; exit 0; }\nexit 1\n', {
                mode: 0o755,
            });
            process.env.CROSSBORDER_HELM = fake;
            resetHelm();
            const catalog = oneChartCatalog(d, "app", {
                "templates/pod.yaml":
                    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: ghcr.io/acme/app:1}]}\n",
            });
            await assert.rejects(
                renderCatalog(loadCatalog(catalog)),
                (e: Error) =>
                    e instanceof ToolError &&
                    /is helm v3\.17\.2; crossborder renders with Helm 4, the engine of Flux 2\.8's helm-controller/.test(
                        e.message,
                    ),
            );
        });
    });

    it("keeps clusters as the stacks define them", () => {
        assert.deepStrictEqual(
            clusters.map((c) => [c.name, c.china, c.kubernetesVersion]),
            [
                ["global", false, "1.33"],
                ["china", true, "1.33"],
            ],
        );
        assert.ok(format(parseNormalizedNamed("busybox")).startsWith("docker.io/library/"));
    });
});

export { ChartCacheError };

describe("images implied by a document inside a string", () => {
    const configMap = (data: Record<string, string>) => [
        { object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "values" }, data }, file: "x", index: 0 },
    ];
    const implied = (text: string) =>
        scanObjects(configMap({ values: text }) as never).implied.map((i) => `${format(i.reference)} (${i.from})`);

    it("reads JSON, YAML that is not JSON, and JSON with a YAML-only trailing comma alike", () => {
        const expected = ["docker.io/istio/proxyv2:1.22 (hub + data.values.global.proxy.image)"];
        const json = JSON.stringify({ global: { hub: "docker.io/istio", tag: "1.22", proxy: { image: "proxyv2" } } });
        assert.deepStrictEqual(implied(json), expected);
        assert.deepStrictEqual(
            implied("{global: {hub: docker.io/istio, tag: '1.22', proxy: {image: proxyv2}}}"),
            expected,
        );
        assert.deepStrictEqual(implied(json.replace(/\}\}\}$/, "},}}")), expected);
        assert.deepStrictEqual(implied('{"global": {"hub": "docker.io/istio", "tag": "1.22"'), [], "not a document");
    });
});
