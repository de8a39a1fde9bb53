/**
 * Every command over bad input: a user's mistake is exit 2 naming the file, writes nothing and loses no
 * user file. The table of inputs runs the command in-process (test/cli/in-process.ts); the cases below it
 * run the binary, so its exit code and its output streams are the real ones. The fuzz of the same inputs
 * is in test/cli/fuzz-*.test.ts.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { ROOT, runCli, tempDir } from "../helpers";
import { runInProcess } from "./in-process";

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

describe("bad input, every command", function () {
    this.timeout(300_000);
    for (const t of TARGETS) {
        for (const [kind, make] of Object.entries(BAD)) {
            if (t.name === "outputs.json" && kind === "alias bomb") continue; // JSON, not YAML
            if (t.name === "values.yaml" && kind === "empty") continue; // an empty values file is a valid one
            it(`${t.input}: ${kind} -> exit 2 naming the file, nothing written, the user's file kept`, async () => {
                const dir = tempDir("bad");
                const file = path.join(dir, t.name);
                fs.mkdirSync(path.dirname(file), { recursive: true });
                make(file);
                const out = path.join(dir, "out");
                fs.mkdirSync(out);
                fs.writeFileSync(path.join(out, "mine.txt"), "the user's\n");
                const r = await runInProcess(t.argv(dir, file, out));
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

    it("catalog names that would generate the same file -> exit 2 naming both (the binary)", () => {
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
