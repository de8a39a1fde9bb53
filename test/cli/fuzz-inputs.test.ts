/** The fuzz of the files every command reads: stacks, catalog, mirrors, values, outputs, inventory, lock, archives, a published tree (test/cli/fuzz.ts). */
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { stringify } from "yaml";
import { ROOT, tempDir } from "../helpers";
import { FuzzTarget, fuzzSuite } from "./fuzz";

const STACKS = path.join(ROOT, "stacks");
const DEMO_VALUES = path.join(ROOT, "gitops", "charts", "crossborder-demo", "values.yaml");

const smallCatalog = () =>
    stringify({
        version: 1,
        releases: [
            {
                name: "web",
                namespace: "web",
                chart: { repository: "https://charts.example.com/stable", name: "web", version: "1.2.3" },
                values: { image: { repository: "ghcr.io/acme/web", tag: "1.0" } },
                clusterValues: { china: { replicas: 2 } },
            },
        ],
        manifests: [{ name: "cfg", objects: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }] }],
    });

function chartArchive(): Buffer {
    // A real chart archive (tar.gz with Chart.yaml and values.yaml), made with the tar package.
    const dir = tempDir("fuzz-chart");
    fs.mkdirSync(path.join(dir, "app"));
    fs.writeFileSync(path.join(dir, "app", "Chart.yaml"), "apiVersion: v2\nname: app\nversion: 1.0.0\n");
    fs.writeFileSync(path.join(dir, "app", "values.yaml"), "image: {repository: ghcr.io/acme/app, tag: '1'}\n");
    const tar = require("tar") as typeof import("tar");
    tar.create({ gzip: false, cwd: dir, file: path.join(dir, "app.tar"), sync: true, portable: true }, ["app"]);
    return zlib.gzipSync(fs.readFileSync(path.join(dir, "app.tar")));
}

/** `crossborder render` of `catalog` into the folder's out/, with its chart cache in charts/. */
const render = (dir: string, catalog: string, ...extra: string[]) => [
    "render",
    "--catalog",
    catalog,
    "--out",
    path.join(dir, "out"),
    "--charts",
    path.join(dir, "charts"),
    ...extra,
];

const TARGETS: FuzzTarget[] = [
    {
        input: "stack file",
        name: "Pulumi.china.yaml",
        seed: () => fs.readFileSync(path.join(STACKS, "Pulumi.china.yaml"), "utf8"),
        argv: (dir) => (
            fs.copyFileSync(path.join(STACKS, "Pulumi.global.yaml"), path.join(dir, "Pulumi.global.yaml")),
            ["order", "--stacks-dir", dir]
        ),
    },
    {
        input: "catalog",
        name: "catalog.yaml",
        seed: smallCatalog,
        argv: (dir, f) => render(dir, f),
    },
    {
        input: "mirrors",
        name: "mirrors.yaml",
        seed: () => fs.readFileSync(path.join(ROOT, "gitops", "mirrors.yaml"), "utf8"),
        argv: (_d, f) => ["images", "--values", DEMO_VALUES, "--mirrors", f],
    },
    {
        input: "values",
        name: "values.yaml",
        seed: () =>
            "image: {registry: quay.io, repository: acme/app, tag: '1'}\nsidecar:\n  image: ghcr.io/acme/side:2\nargs: ['--image=docker.io/library/busybox:1.37']\n",
        argv: (_d, f) => ["images", "--values", f],
    },
    {
        input: "stack outputs",
        name: "outputs.json",
        seed: () =>
            JSON.stringify({
                registryEndpoint: "acme-registry.cn-beijing.cr.aliyuncs.com",
                registryNamespace: "mirror",
                side: "china",
            }),
        argv: (_d, f) => ["images", "--values", DEMO_VALUES, "--stack-outputs", f],
    },
    {
        input: "inventory",
        name: "images.txt",
        seed: () => "# inventory\ndocker://quay.io/acme/app:1 docker://origin.example.com/ns/quay.io_s_acme_s_app:1\n",
        argv: (dir, f) => (
            fs.writeFileSync(path.join(dir, "charts.txt"), "# no charts\n"),
            ["verify-mirror", "--inventory", f, "--registry", "127.0.0.1:9", "--retries", "0", "--timeout", "200"]
        ),
    },
    {
        input: "chart lock",
        name: "catalog.lock",
        seed: () =>
            "version: 1\ncharts:\n  - {repository: https://charts.example.com/stable, name: web, version: 1.2.3, sha256: " +
            "ab".repeat(32) +
            "}\n",
        argv: (dir) => (
            fs.writeFileSync(path.join(dir, "catalog.yaml"), smallCatalog()),
            render(dir, path.join(dir, "catalog.yaml"))
        ),
    },
    {
        input: "chart archive",
        name: "chart.tgz",
        seed: chartArchive,
        binary: true,
        argv: (_d, f) => ["images", "--chart", f],
    },
    {
        input: "a tree's file (publish)",
        name: "clusters/china/kustomization.yaml",
        seed: () =>
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [apps.yaml]\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\ndata: {token: dg==}\n",
        argv: (dir) => ["publish", "--tree", dir, "--dry-run"],
    },
    {
        input: "a hostile chart archive (render on the engine)",
        name: "charts/charts.example.com/stable/web-1.2.3.tgz",
        runs: 150,
        binary: true,
        seed: () => {
            const dir = tempDir("fuzz-hostile");
            fs.mkdirSync(path.join(dir, "web", "templates"), { recursive: true });
            fs.writeFileSync(path.join(dir, "web", "Chart.yaml"), "apiVersion: v2\nname: web\nversion: 1.2.3\n");
            fs.writeFileSync(
                path.join(dir, "web", "values.yaml"),
                "image: {repository: ghcr.io/acme/web, tag: '1.0'}\n",
            );
            fs.writeFileSync(
                path.join(dir, "web", "templates", "deploy.yaml"),
                '{{- define "twice" }}{{ . }}{{ . }}{{- end }}\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, annotations: {x: {{ include "twice" "ab" | quote }}}}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"}]\n',
            );
            const tar = require("tar") as typeof import("tar");
            tar.create({ gzip: false, cwd: dir, file: path.join(dir, "web.tar"), sync: true, portable: true }, ["web"]);
            return zlib.gzipSync(fs.readFileSync(path.join(dir, "web.tar")));
        },
        // The lock records whatever bytes are there, so the mutated archive reaches helm itself.
        argv: (dir, f) => {
            fs.writeFileSync(path.join(dir, "catalog.yaml"), smallCatalog());
            const sha = require("crypto").createHash("sha256").update(fs.readFileSync(f)).digest("hex");
            fs.writeFileSync(
                path.join(dir, "catalog.lock"),
                `version: 1\ncharts:\n  - {repository: https://charts.example.com/stable, name: web, version: 1.2.3, sha256: ${sha}}\n`,
            );
            return render(dir, path.join(dir, "catalog.yaml"), "--no-cache");
        },
    },
];

fuzzSuite("inputs", TARGETS);
