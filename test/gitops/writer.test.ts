/**
 * The writer keeps the folder it was given: modes, inode, a link to it, the user's files (in .crossborder/
 * too); it refuses places a tree must not go; it lets one writer at a time in, and a killed writer's lock
 * does not block the next one.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { LOCK_FILE, MANIFEST_FILE, writeTree, WriterError } from "../../gitops/writer";
import { ROOT, runCli, tempDir } from "../helpers";

const tree = (version: string, extra: Record<string, string> = {}) =>
    new Map<string, string>([
        ["apps/a.yaml", `a: ${version}\n`],
        ["apps/b/b.yaml", `b: ${version}\n`],
        ["inventory/copy.sh", "#!/bin/sh\necho copy\n"],
        ...Object.entries(extra),
    ]);

describe("the writer", () => {
    it("keeps the folder's modes (0700, setgid), its inode, and writes nothing beside it", () => {
        const parent = tempDir("keep");
        const out = path.join(parent, "out");
        fs.mkdirSync(out);
        fs.chmodSync(out, 0o2700);
        const before = fs.statSync(out);
        writeTree(out, tree("1"));
        writeTree(out, tree("2"));
        const after = fs.statSync(out);
        assert.strictEqual(after.ino, before.ino, "the same folder, not a new one renamed over it");
        assert.strictEqual(after.mode & 0o7777, 0o2700);
        assert.deepStrictEqual(fs.readdirSync(parent), ["out"], "no staging folder beside it");
        assert.strictEqual(fs.readFileSync(path.join(out, "apps", "a.yaml"), "utf8"), "a: 2\n");
        // A folder the writer makes inside a setgid folder inherits its group bit, as the kernel does it.
        assert.ok((fs.statSync(path.join(out, "apps")).mode & 0o2000) !== 0);
    });

    it("writes through a symbolic link to the folder and leaves the link a link", () => {
        const dir = tempDir("link");
        const target = path.join(dir, "real");
        fs.mkdirSync(target);
        fs.symlinkSync(target, path.join(dir, "out"));
        writeTree(path.join(dir, "out"), tree("1"));
        writeTree(path.join(dir, "out"), tree("2"));
        assert.ok(fs.lstatSync(path.join(dir, "out")).isSymbolicLink());
        assert.strictEqual(fs.readFileSync(path.join(target, "apps", "a.yaml"), "utf8"), "a: 2\n");
    });

    it("makes generated scripts executable", () => {
        const out = path.join(tempDir("exec"), "out");
        writeTree(out, tree("1"));
        assert.ok((fs.statSync(path.join(out, "inventory", "copy.sh")).mode & 0o111) !== 0);
        assert.strictEqual(fs.statSync(path.join(out, "apps", "a.yaml")).mode & 0o111, 0);
    });

    it("keeps the user's files in .crossborder/ and leaves no empty folder when a file is dropped", () => {
        const out = path.join(tempDir("records"), "out");
        writeTree(out, tree("1"));
        fs.writeFileSync(path.join(out, ".crossborder", "notes.txt"), "mine\n");
        const without = tree("1");
        without.delete("apps/b/b.yaml");
        const result = writeTree(out, without);
        assert.deepStrictEqual(result.removed, ["apps/b/b.yaml"]);
        assert.ok(!fs.existsSync(path.join(out, "apps", "b")), "the emptied folder is gone");
        assert.strictEqual(fs.readFileSync(path.join(out, ".crossborder", "notes.txt"), "utf8"), "mine\n");
        assert.deepStrictEqual(fs.readdirSync(path.join(out, ".crossborder")).sort(), ["manifest.json", "notes.txt"]);
    });

    it("writes only the files whose bytes change", () => {
        const out = path.join(tempDir("changed"), "out");
        writeTree(out, tree("1", { "apps/c.yaml": "c\n" }));
        const result = writeTree(out, tree("1", { "apps/c.yaml": "c2\n" }));
        assert.deepStrictEqual(result.written, ["apps/c.yaml"]);
    });

    it("refuses a symbolic link inside the tree where a generated file or folder goes", () => {
        const out = path.join(tempDir("inner-link"), "out");
        writeTree(out, tree("1"));
        const elsewhere = tempDir("elsewhere");
        fs.rmSync(path.join(out, "apps", "b"), { recursive: true });
        fs.symlinkSync(elsewhere, path.join(out, "apps", "b"));
        assert.throws(
            () => writeTree(out, tree("2")),
            (e: Error) =>
                e instanceof WriterError &&
                /apps\/b is a symbolic link, and apps\/b\/b\.yaml must not be written through it/.test(e.message),
        );
        assert.deepStrictEqual(fs.readdirSync(elsewhere), [], "nothing written through the link");
    });

    it("refuses /, the home folder and another repository's folder without --force", () => {
        for (const [out, says] of [
            ["/", /refusing to write a tree into the root folder/],
            [os.homedir(), /refusing to write a tree into the home folder/],
        ] as const) {
            assert.throws(
                () => writeTree(out, tree("1")),
                (e: Error) => e instanceof WriterError && says.test(e.message),
            );
        }
        const repo = tempDir("repo");
        fs.mkdirSync(path.join(repo, ".git"));
        fs.writeFileSync(path.join(repo, "main.go"), "package main\n");
        assert.throws(
            () => writeTree(repo, tree("1")),
            /holds another repository's \.git and no crossborder tree; render into a folder of its own, or pass --force/,
        );
        assert.deepStrictEqual(
            fs.readdirSync(repo).sort(),
            [".git", "main.go"],
            "nothing written, not even .crossborder/",
        );
        writeTree(repo, tree("1"), { force: true });
        writeTree(repo, tree("2")); // the tree is the repository's own now: no --force needed
        const r = runCli(["render", "--out", "/"]);
        assert.strictEqual(r.status, 2);
        assert.match(r.stderr, /^crossborder: \/: refusing to write a tree into the root folder/m);
    });

    describe("one writer at a time", () => {
        it("waits for a live writer's lock, then gives up naming it", () => {
            const out = path.join(tempDir("lock"), "out");
            writeTree(out, tree("1"));
            const holder = {
                pid: process.pid,
                host: os.hostname(),
                started: "2026-01-01T00:00:00.000Z",
                command: "render --out x",
            };
            fs.writeFileSync(path.join(out, LOCK_FILE), JSON.stringify(holder));
            const t0 = Date.now();
            assert.throws(
                () => writeTree(out, tree("2"), { lockWaitMs: 300 }),
                (e: Error) =>
                    e instanceof WriterError &&
                    new RegExp(
                        `is being written by another crossborder: pid ${process.pid} on .*, started 2026-01-01T00:00:00\\.000Z \\(crossborder render --out x\\)\\. Wait for it to finish, or delete \\S+lock if that process is gone`,
                    ).test(e.message),
            );
            assert.ok(Date.now() - t0 >= 300, "it waited");
            assert.strictEqual(fs.readFileSync(path.join(out, "apps", "a.yaml"), "utf8"), "a: 1\n");
            fs.rmSync(path.join(out, LOCK_FILE));
        });

        it("takes over the lock of a writer that was killed", async () => {
            const out = path.join(tempDir("stale"), "out");
            writeTree(out, tree("1"));
            const child = spawn("sleep", ["0"]);
            await new Promise((r) => child.once("exit", r));
            fs.writeFileSync(
                path.join(out, LOCK_FILE),
                JSON.stringify({ pid: child.pid, host: os.hostname(), started: "then", command: "render" }),
            );
            writeTree(out, tree("2"), { lockWaitMs: 0 });
            assert.strictEqual(fs.readFileSync(path.join(out, "apps", "a.yaml"), "utf8"), "a: 2\n");
            assert.ok(!fs.existsSync(path.join(out, LOCK_FILE)));
        });

        it("leaves a complete tree from one writer when two renders race (30 trials)", async function () {
            this.timeout(300_000);
            const work = tempDir("race");
            const catalog = (tag: string) =>
                stringify({
                    version: 1,
                    releases: Array.from({ length: 30 }, (_, i) => ({
                        name: `app-${i}`,
                        chart: { repository: "https://charts.example.com/x", name: "app", version: "1.0.0" },
                        values: { image: { repository: `ghcr.io/acme/app-${i}`, tag } },
                    })),
                });
            const files = ["a", "b"].map((x) => path.join(work, `${x}.yaml`));
            fs.writeFileSync(files[0], catalog("1.0.0"));
            fs.writeFileSync(files[1], catalog("2.0.0"));
            const render = (catalogFile: string, out: string) =>
                new Promise<{ code: number | null; stderr: string }>((resolve) => {
                    const child = spawn(
                        process.execPath,
                        [path.join(ROOT, "bin", "crossborder.js"), "render", "--catalog", catalogFile, "--out", out],
                        { cwd: ROOT },
                    );
                    let stderr = "";
                    child.stderr.on("data", (d) => (stderr += d));
                    child.on("close", (code) => resolve({ code, stderr }));
                });
            const expected = await Promise.all(
                files.map(async (f, i) => {
                    const out = path.join(work, `expected-${i}`);
                    assert.strictEqual((await render(f, out)).code, 0);
                    return snapshot(out);
                }),
            );
            for (let trial = 0; trial < 30; trial++) {
                const out = path.join(work, `out-${trial}`);
                const results = await Promise.all(files.map((f) => render(f, out)));
                for (const r of results) assert.strictEqual(r.code, 0, r.stderr);
                const now = snapshot(out);
                assert.ok(
                    [0, 1].some((i) => JSON.stringify(now) === JSON.stringify(expected[i])),
                    `trial ${trial}: the tree is neither render's whole output`,
                );
                assert.ok(!fs.existsSync(path.join(out, LOCK_FILE)));
            }
        });
    });

    describe("a journal or manifest that names paths outside the folder (a fleet repository can carry one)", () => {
        /** A folder with a tree, a victim file beside it, and the journal `entry` planted in its records. */
        function planted(state: "preparing" | "committed", entry: Record<string, unknown>) {
            const dir = tempDir("journal-attack");
            const out = path.join(dir, "out");
            writeTree(out, tree("1"));
            const victim = path.join(dir, "victim.txt");
            fs.writeFileSync(victim, "the user's\n");
            const manifest = JSON.parse(fs.readFileSync(path.join(out, MANIFEST_FILE), "utf8"));
            fs.writeFileSync(
                path.join(out, ".crossborder", "journal.json"),
                JSON.stringify({ version: 1, state, install: [entry], remove: [], created: [], manifest }),
            );
            return { dir, out, victim };
        }

        for (const state of ["preparing", "committed"] as const)
            it(`refuses (exit 2) a ${state} journal whose temporary is outside, touching nothing`, () => {
                const { dir, out, victim } = planted(state, {
                    path: "apps/a.yaml",
                    temp: "../victim.txt",
                    mode: 0o666,
                });
                const before = fs.readFileSync(path.join(out, "apps", "a.yaml"), "utf8");
                assert.throws(
                    () => writeTree(out, tree("2")),
                    (e: Error) =>
                        e instanceof WriterError &&
                        /journal\.json: unreadable journal of an interrupted write \(install entry "apps\/a\.yaml" names the temporary "\.\.\/victim\.txt", which is not the writer's apps\/\.a\.yaml\.crossborder-tmp\)/.test(
                            e.message,
                        ),
                );
                assert.strictEqual(fs.readFileSync(victim, "utf8"), "the user's\n", "the file beside it is kept");
                assert.strictEqual(fs.readFileSync(path.join(out, "apps", "a.yaml"), "utf8"), before);
                assert.deepStrictEqual(fs.readdirSync(dir).sort(), ["out", "victim.txt"]);
                // …and the command says so with exit 2.
                const r = runCli(["render", "--out", out]);
                assert.strictEqual(r.status, 2, r.stderr);
                assert.match(r.stderr, /journal\.json: unreadable journal/);
                assert.ok(fs.existsSync(victim));
            });

        it("neither follows nor removes through a folder replaced by a symbolic link", () => {
            const dir = tempDir("link-attack");
            const out = path.join(dir, "out");
            writeTree(out, tree("1"));
            const elsewhere = path.join(dir, "elsewhere");
            fs.mkdirSync(path.join(elsewhere, "b"), { recursive: true });
            fs.writeFileSync(path.join(elsewhere, "b", "b.yaml"), "b: 1\n"); // the same bytes the manifest owns
            fs.rmSync(path.join(out, "apps"), { recursive: true });
            fs.symlinkSync(elsewhere, path.join(out, "apps"));
            // The next tree no longer has apps/b/b.yaml: removing it would go through the link.
            const next = new Map(tree("1"));
            next.delete("apps/b/b.yaml");
            next.delete("apps/a.yaml");
            assert.throws(
                () => writeTree(out, next),
                (e: Error) =>
                    e instanceof WriterError &&
                    /apps is a symbolic link, and apps\/b\/b\.yaml must not be removed through it/.test(e.message),
            );
            assert.ok(fs.existsSync(path.join(elsewhere, "b", "b.yaml")), "nothing outside was removed");
        });
    });

    it("records what it owns in .crossborder/manifest.json", () => {
        const out = path.join(tempDir("manifest"), "out");
        writeTree(out, tree("1"));
        assert.deepStrictEqual(Object.keys(JSON.parse(fs.readFileSync(path.join(out, MANIFEST_FILE), "utf8")).files), [
            "apps/a.yaml",
            "apps/b/b.yaml",
            "inventory/copy.sh",
        ]);
    });
});

function snapshot(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const p = rel ? `${rel}/${e.name}` : e.name;
            if (e.isDirectory()) walk(p);
            else out[p] = fs.readFileSync(path.join(dir, p), "utf8");
        }
    };
    walk("");
    return out;
}
