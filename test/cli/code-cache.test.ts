/** The V8 code cache every crossborder process loads its modules through (bin/code-cache.js). */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { tempDir } from "../helpers";

const ROOT = path.resolve(__dirname, "..", "..");
const { readEntries } = require(path.join(ROOT, "bin", "code-cache.js")) as {
    readEntries(file: string): Map<string, [number, Buffer]>;
};

/** A process that installs the cache at `cache` and prints what `modules` export, in order. */
function load(cache: string, modules: string[], env: Record<string, string> = {}) {
    const script = [
        `require(${JSON.stringify(path.join(ROOT, "bin", "code-cache.js"))}).install(${JSON.stringify(cache)});`,
        `(async () => { for (const m of ${JSON.stringify(modules)}) console.log(JSON.stringify(await require(m).value)); })()`,
        `.catch((e) => { console.error(e.message); process.exitCode = 3; });`,
    ].join("\n");
    const r = spawnSync(process.execPath, ["-e", script], {
        encoding: "utf8",
        timeout: 30_000,
        env: { ...process.env, ...env },
    });
    return { status: r.status, out: r.stdout.trim().split("\n"), err: r.stderr };
}

/** The one cache file a `node -e` process writes under `cache`. */
function cacheFile(cache: string): string | undefined {
    if (!fs.existsSync(cache)) return undefined;
    const [dir] = fs.readdirSync(cache);
    return dir ? path.join(cache, dir, "eval.bin") : undefined;
}

describe("code cache (bin/code-cache.js)", function () {
    this.timeout(60_000);

    it("keeps each module's compiled code, reads it back, and never runs a module's old code", () => {
        const dir = tempDir("code-cache");
        const cache = path.join(dir, "cache");
        const mod = path.join(dir, "m.js");
        fs.writeFileSync(mod, "function f() { return 1; }\nmodule.exports = { value: f() };\n");
        assert.deepStrictEqual(load(cache, [mod]).out, ["1"]);
        const file = cacheFile(cache)!;
        assert.ok(file && fs.existsSync(file), "the first run saves its modules' code");
        assert.ok(readEntries(file).has(mod), "the module is in the cache file");
        const saved = fs.statSync(file);

        // Read back and accepted by V8: nothing new to save, so the file is not written again.
        assert.deepStrictEqual(load(cache, [mod]).out, ["1"]);
        assert.strictEqual(fs.statSync(file).mtimeMs, saved.mtimeMs, "accepted data is not made again");

        // The same length, other code: V8's own check of cached data looks at the source's length only.
        fs.writeFileSync(mod, "function f() { return 2; }\nmodule.exports = { value: f() };\n");
        assert.deepStrictEqual(load(cache, [mod]).out, ["2"], "a changed module runs its new code");
        assert.deepStrictEqual(load(cache, [mod]).out, ["2"]);
    });

    it("survives a damaged cache file, and leaves ES modules, import() and syntax errors to Node", () => {
        const dir = tempDir("code-cache");
        const cache = path.join(dir, "cache");
        const plain = path.join(dir, "plain.js");
        const dynamic = path.join(dir, "dynamic.js");
        const esm = path.join(dir, "esm.mjs");
        const broken = path.join(dir, "broken.js");
        fs.writeFileSync(plain, "module.exports = { value: 'plain' };\n");
        fs.writeFileSync(esm, "export const value = 'esm';\n");
        fs.writeFileSync(dynamic, `module.exports = { value: import(${JSON.stringify(esm)}).then((m) => m.value) };\n`);
        fs.writeFileSync(broken, "module.exports = {;\n");
        assert.deepStrictEqual(load(cache, [plain, dynamic, esm]).out, ['"plain"', '"esm"', '"esm"']);
        const file = cacheFile(cache)!;
        const kept = readEntries(file);
        assert.ok(kept.has(plain));
        assert.ok(!kept.has(dynamic), "a module with import() is compiled by Node, which gives it its loader");

        fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 200)); // cut short, as by a crash
        assert.strictEqual(readEntries(file).size, 0, "a cut file is not trusted in part");
        assert.deepStrictEqual(load(cache, [plain, dynamic]).out, ['"plain"', '"esm"']);
        assert.ok(readEntries(file).has(plain), "and is written whole again");

        const r = load(cache, [broken]);
        assert.strictEqual(r.status, 3);
        assert.match(r.err, /Unexpected token/, `Node's own syntax error: ${r.err}`);
    });

    it("is off with CROSSBORDER_CODE_CACHE=0", () => {
        const dir = tempDir("code-cache");
        const cache = path.join(dir, "cache");
        const mod = path.join(dir, "m.js");
        fs.writeFileSync(mod, "module.exports = { value: 3 };\n");
        assert.deepStrictEqual(load(cache, [mod], { CROSSBORDER_CODE_CACHE: "0" }).out, ["3"]);
        assert.strictEqual(fs.existsSync(cache), false);
    });
});
