/**
 * Every command over bad input: a user's mistake is exit 2 naming the file, writes nothing and loses no
 * user file; no input, however mangled, ends in anything but 0, 1 or 2 (never "internal error", 70).
 * The fuzz runs the command in-process (cli/main.ts run) so that a thousand inputs per type fit in CI.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import fc from "fast-check";
import { stringify } from "yaml";
import { run } from "../../cli/main";
import { ROOT, runCli, tempDir } from "../helpers";

/** Run the command in this process, its output captured, process.exitCode left as it was. */
async function runIn(argv: string[]): Promise<{ code: number; text: string }> {
    const saved = { out: process.stdout.write, err: process.stderr.write, exitCode: process.exitCode };
    let text = "";
    const capture = ((chunk: unknown) => {
        text += String(chunk);
        return true;
    }) as typeof process.stdout.write;
    process.stdout.write = capture;
    process.stderr.write = capture;
    process.exitCode = undefined;
    try {
        return { code: await run(argv), text };
    } finally {
        process.stdout.write = saved.out;
        process.stderr.write = saved.err;
        process.exitCode = saved.exitCode;
    }
}

const ALIAS_BOMB =
    'a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';

/** Ways an input file can be wrong, each written at `file`. */
const BAD: Record<string, (file: string) => void> = {
    missing: () => undefined,
    empty: (f) => fs.writeFileSync(f, ""),
    binary: (f) => fs.writeFileSync(f, Buffer.from([0x1f, 0x8b, 0x00, 0xff, 0x00, 0x10, 0x80])),
    huge: (f) => {
        const fd = fs.openSync(f, "w");
        fs.ftruncateSync(fd, 17 * 1024 * 1024);
        fs.closeSync(fd);
    },
    "alias bomb": (f) => fs.writeFileSync(f, ALIAS_BOMB),
    // An alias inside its own anchor: data that contains itself (it overflowed the stack).
    "self alias": (f) => fs.writeFileSync(f, "a: &a [*a]\n"),
    unreadable: (f) => fs.mkdirSync(f),
    "wrong type": (f) => fs.writeFileSync(f, "- a list\n- where a mapping belongs\n"),
};

const STACKS = path.join(ROOT, "stacks");
const DEMO_VALUES = path.join(ROOT, "gitops", "charts", "crossborder-demo", "values.yaml");

interface Target {
    readonly input: string;
    /** The file name the bad input gets (its name matters for stack files). */
    readonly name: string;
    /** argv, given the folder holding the bad file, the bad file itself and an output folder. */
    readonly argv: (dir: string, file: string, out: string) => string[];
}

const TARGETS: Target[] = [
    {
        input: "stack file (plan)",
        name: "Pulumi.china.yaml",
        argv: (dir, _f, out) => {
            fs.copyFileSync(path.join(STACKS, "Pulumi.global.yaml"), path.join(dir, "Pulumi.global.yaml"));
            return ["plan", "--stacks-dir", dir, "--out", out];
        },
    },
    {
        input: "stack file (order)",
        name: "Pulumi.global.yaml",
        argv: (dir) => (
            fs.copyFileSync(path.join(STACKS, "Pulumi.china.yaml"), path.join(dir, "Pulumi.china.yaml")),
            ["order", "--stacks-dir", dir]
        ),
    },
    { input: "catalog (render)", name: "catalog.yaml", argv: (_d, f, out) => ["render", "--catalog", f, "--out", out] },
    { input: "mirrors (render)", name: "mirrors.yaml", argv: (_d, f, out) => ["render", "--mirrors", f, "--out", out] },
    {
        input: "stack outputs (render)",
        name: "outputs.json",
        argv: (_d, f, out) => ["render", "--stack-outputs", f, "--out", out],
    },
    {
        input: "mirrors (audit)",
        name: "mirrors.yaml",
        argv: (_d, f) => ["audit", path.join(ROOT, "gitops"), "--mirrors", f],
    },
    { input: "values (images)", name: "values.yaml", argv: (_d, f) => ["images", "--values", f] },
    { input: "chart archive (images)", name: "chart.tgz", argv: (_d, f) => ["images", "--chart", f] },
    {
        input: "inventory (verify-mirror)",
        name: "images.txt",
        argv: (_d, f) => ["verify-mirror", "--inventory", f, "--registry", "127.0.0.1:9", "--retries", "0"],
    },
    { input: "catalog (charts pull)", name: "catalog.yaml", argv: (_d, f) => ["charts", "pull", "--catalog", f] },
    {
        input: "stack file (publish)",
        name: "Pulumi.global.yaml",
        argv: (dir) => (
            fs.copyFileSync(path.join(STACKS, "Pulumi.china.yaml"), path.join(dir, "Pulumi.china.yaml")),
            ["publish", "--tree", dir, "--stacks-dir", dir, "--dry-run"]
        ),
    },
    { input: "tree (publish)", name: "tree", argv: (_d, f) => ["publish", "--tree", f, "--dry-run"] },
];

describe("bad input, every command (subprocess)", function () {
    this.timeout(300_000);
    for (const t of TARGETS) {
        for (const [kind, make] of Object.entries(BAD)) {
            if (t.name === "outputs.json" && kind === "alias bomb") continue; // JSON, not YAML
            if (t.name === "values.yaml" && kind === "empty") continue; // an empty values file is a valid one
            it(`${t.input}: ${kind} -> exit 2 naming the file, nothing written, the user's file kept`, () => {
                const dir = tempDir("bad");
                const file = path.join(dir, t.name);
                fs.mkdirSync(path.dirname(file), { recursive: true });
                make(file);
                const out = path.join(dir, "out");
                fs.mkdirSync(out);
                fs.writeFileSync(path.join(out, "mine.txt"), "the user's\n");
                const r = runCli(t.argv(dir, file, out));
                assert.strictEqual(r.status, 2, `${r.stdout}\n${r.stderr}`);
                assert.ok(
                    r.stderr.includes(file) || r.stderr.includes(path.basename(dir)),
                    `names the file: ${r.stderr}`,
                );
                assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
                assert.deepStrictEqual(fs.readdirSync(out), ["mine.txt"], "nothing written");
                assert.strictEqual(fs.readFileSync(path.join(out, "mine.txt"), "utf8"), "the user's\n");
            });
        }
    }

    it("catalog names that would generate the same file -> exit 2 naming both", () => {
        const dir = tempDir("collide");
        const release = (name: string) => ({
            name,
            group: "apps",
            chart: { repository: "https://charts.example.com", name: "app", version: "1.0.0" },
        });
        for (const [manifests, says] of [
            [
                [
                    {
                        name: "web-source",
                        group: "apps",
                        objects: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }],
                    },
                ],
                /releases\[0\] "web" .* and manifests\[0\] "web-source" .* would both generate apps\/(china|global)\/web-source\.yaml|manifests\[0\] "web-source" .* and releases\[0\] "web" .* would both generate apps\/(china|global)\/web-source\.yaml/,
            ],
            [
                [
                    {
                        name: "kustomization",
                        group: "configs",
                        objects: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }],
                    },
                ],
                /would both generate infrastructure\/configs\/(china|global)\/kustomization\.yaml/,
            ],
        ] as const) {
            fs.writeFileSync(
                path.join(dir, "catalog.yaml"),
                stringify({ version: 1, releases: [release("web")], manifests }),
            );
            const r = runCli(["render", "--catalog", path.join(dir, "catalog.yaml"), "--out", path.join(dir, "out")]);
            assert.strictEqual(r.status, 2, r.stderr);
            assert.match(r.stderr, says);
            assert.ok(!fs.existsSync(path.join(dir, "out")));
        }
    });

    it("plan --out an existing file, and paths too long or under a file -> exit 2", () => {
        const dir = tempDir("outpaths");
        fs.writeFileSync(path.join(dir, "a-file"), "x");
        for (const [args, says] of [
            [
                ["plan", "--stack", "global", "--out", path.join(dir, "a-file")],
                /a-file: (a part of it is a file, not a folder|already exists)/,
            ],
            [
                ["render", "--out", path.join(dir, "a-file", "below")],
                /a-file\/below: a part of it is a file, not a folder \(ENOTDIR/,
            ],
            [
                ["render", "--out", path.join(dir, "x".repeat(300))],
                /the name is too long for the file system \(ENAMETOOLONG/,
            ],
        ] as const) {
            const r = runCli([...args]);
            assert.strictEqual(r.status, 2, r.stdout + r.stderr);
            assert.match(r.stderr, says);
        }
        assert.strictEqual(fs.readFileSync(path.join(dir, "a-file"), "utf8"), "x");
    });

    it("usage: --concurrency 0, an unknown option, --version", () => {
        const inv = path.join(tempDir("inv"), "images.txt");
        fs.writeFileSync(inv, "");
        const zero = runCli(["verify-mirror", "--inventory", inv, "--concurrency", "0"]);
        assert.strictEqual(zero.status, 2);
        assert.match(zero.stderr, /--concurrency must be a whole number from 1 to 256, got "0"/);
        assert.strictEqual(runCli(["render", "--no-such-option"]).status, 2);
        const v = runCli(["--version"]);
        assert.strictEqual(v.status, 0);
        assert.strictEqual(
            v.stdout.trim(),
            JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version,
        );
    });
});

// ---------------------------------------------------------------------------------------------------

/** Byte- and line-level mutations of a valid input: what a mangled file looks like. */
function mutations(seed: string): fc.Arbitrary<string> {
    const tokens = [
        "&a ",
        "*a",
        "*b",
        "{",
        "}",
        "[",
        "]",
        ": ",
        "- ",
        "!!binary ",
        "!!map ",
        "---\n",
        "\t",
        "\u0000",
        "? ",
        "|",
        ">",
        "'",
        '"',
        "#",
        "%YAML 1.1\n",
        "1e999",
        "-0",
        "null",
        "~",
        "<<: *a\n",
        "\\u",
        "@",
        "`",
        ",",
        "0x",
        "9".repeat(40),
    ];
    const op = fc.oneof(
        fc.record({
            kind: fc.constant("insert" as const),
            at: fc.nat(),
            text: fc.oneof(fc.constantFrom(...tokens), fc.string({ maxLength: 8 })),
        }),
        fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
        fc.record({ kind: fc.constant("dupline" as const), at: fc.nat() }),
        fc.record({ kind: fc.constant("dropline" as const), at: fc.nat() }),
        fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
    );
    return fc.array(op, { minLength: 1, maxLength: 4 }).map((ops) => {
        let text = seed;
        for (const o of ops) {
            if (o.kind === "dupline" || o.kind === "dropline") {
                const ls = text.split("\n");
                const i = o.at % Math.max(1, ls.length);
                if (o.kind === "dupline") ls.splice(i, 0, ls[i] ?? "");
                else ls.splice(i, 1);
                text = ls.join("\n");
            } else {
                const i = o.at % (text.length + 1);
                if (o.kind === "insert") text = text.slice(0, i) + o.text + text.slice(i);
                else if (o.kind === "delete") text = text.slice(0, i) + text.slice(i + o.length);
                else text = text.slice(0, i);
            }
        }
        return text;
    });
}

interface FuzzTarget {
    readonly input: string;
    readonly seed: () => string | Buffer;
    readonly name: string;
    readonly argv: (dir: string, file: string) => string[];
    readonly runs?: number;
    /** Bytes (chart archives) rather than text. */
    readonly binary?: boolean;
}

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

const FUZZ: FuzzTarget[] = [
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
        argv: (dir, f) => [
            "render",
            "--catalog",
            f,
            "--out",
            path.join(dir, "out"),
            "--charts",
            path.join(dir, "charts"),
        ],
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
            [
                "render",
                "--catalog",
                path.join(dir, "catalog.yaml"),
                "--out",
                path.join(dir, "out"),
                "--charts",
                path.join(dir, "charts"),
            ]
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
        input: "a tree's file (audit)",
        name: "clusters/china/apps.yaml",
        seed: () =>
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  interval: 1m\n  path: ./apps\n  sourceRef: {kind: GitRepository, name: flux-system}\n  images: [{name: nginx, newName: docker.io/library/nginx}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: 'ghcr.io/acme/app:1'}]}\n",
        argv: (dir) => {
            fs.mkdirSync(path.join(dir, "apps"), { recursive: true });
            fs.writeFileSync(
                path.join(dir, "apps", "pod.yaml"),
                "apiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec: {containers: [{name: c, image: nginx:1.25}]}\n",
            );
            return ["audit", dir, "--no-render"];
        },
    },
    {
        input: "a tree's file (publish)",
        name: "clusters/china/kustomization.yaml",
        seed: () =>
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [apps.yaml]\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\ndata: {token: dg==}\n",
        argv: (dir) => ["publish", "--tree", dir, "--dry-run"],
    },
    {
        input: "a kustomize patch file (audit)",
        name: "apps/patch.yaml",
        runs: 200,
        seed: () =>
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: 'ghcr.io/acme/web:2'}]\n",
        argv: (dir) => {
            fs.mkdirSync(path.join(dir, "clusters", "china"), { recursive: true });
            fs.writeFileSync(
                path.join(dir, "clusters", "china", "apps.yaml"),
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  interval: 1m\n  path: ./apps\n  sourceRef: {kind: GitRepository, name: flux-system}\n",
            );
            fs.writeFileSync(
                path.join(dir, "apps", "kustomization.yaml"),
                "resources: [web.yaml]\npatches:\n  - path: patch.yaml\n",
            );
            fs.writeFileSync(
                path.join(dir, "apps", "web.yaml"),
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: 'ghcr.io/acme/web:1'}]\n",
            );
            return ["audit", dir, "--no-render"];
        },
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
            return [
                "render",
                "--catalog",
                path.join(dir, "catalog.yaml"),
                "--out",
                path.join(dir, "out"),
                "--charts",
                path.join(dir, "charts"),
                "--no-cache",
            ];
        },
    },
];

/** Tool processes (helm, kubectl, and their bounding wrappers) still running below this process. */
function leftoverTools(): string[] {
    // A zombie has finished (its exit status waits for Node to collect it): only running ones count.
    const r = spawnSync("ps", ["-eo", "pid=,ppid=,stat=,args="], { encoding: "utf8" });
    return r.stdout
        .split("\n")
        .filter((l) => /\b(helm|kubectl|prlimit|setpriv)\b/.test(l))
        .map((l) => l.trim().split(/\s+/))
        .filter(([, ppid, stat]) => Number(ppid) === process.pid && !stat.startsWith("Z"))
        .map((f) => f.join(" "));
}

describe("fuzz: no input ends in anything but exit 0, 1 or 2", function () {
    this.timeout(900_000);
    for (const t of FUZZ) {
        it(`${t.input}: ${t.runs ?? 1000} mutations`, async () => {
            const dir = tempDir("fuzz");
            const seed = t.seed();
            const file = path.join(dir, t.name);
            fs.mkdirSync(path.dirname(file), { recursive: true });
            const counts: Record<number, number> = {};
            const arbitrary = t.binary
                ? fc
                      .array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), cut: fc.boolean() }), {
                          minLength: 1,
                          maxLength: 6,
                      })
                      .map((ops) => {
                          let b = Buffer.from(seed as Buffer);
                          for (const o of ops) {
                              const i = o.at % b.length;
                              if (o.cut) b = b.subarray(0, Math.max(1, i));
                              else b[i] = o.byte;
                          }
                          return b;
                      })
                : mutations(String(seed));
            await fc.assert(
                fc.asyncProperty(arbitrary, async (content) => {
                    fs.writeFileSync(file, content);
                    const { code, text } = await runIn(t.argv(dir, file));
                    counts[code] = (counts[code] ?? 0) + 1;
                    assert.ok(
                        [0, 1, 2].includes(code),
                        `exit ${code} for ${t.input}:\n${text}\n--- input ---\n${String(content).slice(0, 2000)}`,
                    );
                    if (code === 2) assert.match(text, /^crossborder: \S/m, "a usage error says what is wrong");
                }),
                { numRuns: t.runs ?? 1000 },
            );
            assert.ok(Object.keys(counts).length > 0);
            const left = leftoverTools();
            assert.deepStrictEqual(left, [], `no tool process left behind: ${left.join("; ")}`);
            console.log(`      exits: ${JSON.stringify(counts)}`);
        });
    }
});
