// A V8 code cache for the CommonJS modules a crossborder process loads: what Node 22's
// `module.enableCompileCache()` does, which Node 20 does not have. The offline plan loads about 1,600
// modules (700 of them SDK files) and V8 spends a quarter of the plan compiling them; with the cache, a
// process reads the compiled code back instead.
//
// The code is taken from each module after the process ran (`script.createCachedData()` at exit), not when
// the module is compiled: V8 compiles most functions lazily, on first call, and only data made after the
// run holds them (nodejs.org/api/vm.html, "script.createCachedData()"). The v8-compile-cache package stores
// the data made at compile time, which holds little more than each module's top level: measured here, the
// plan's CPU time did not change with it, and went down by a fifth with data made at exit.
//
// One file per command (`plan`, `render`, a mocha worker...), under node_modules/.cache next to the
// compiled TypeScript, keyed by the V8 version, the architecture and Node's flags; in it each module's data
// by its file name and the CRC-32 of its source. V8 refuses data from another V8 or with other flags (the
// module is then compiled as usual and its data made again), and a changed source has another checksum.
// A module Node must load another way (an ES module, a syntax error to report, `import()` inside) goes
// through Node's own compile. CROSSBORDER_CODE_CACHE=0 turns the cache off.
"use strict";
const fs = require("fs");
const Module = require("module");
const path = require("path");
const vm = require("vm");
const zlib = require("zlib");

const FORMAT = "crossborder-code-cache 1\n";
/** A file past this size starts over: modules that are gone would otherwise stay in it for good. */
const MAX_BYTES = 128 * 1024 * 1024;

/** The cache file's entries: file name -> [crc32 of the source, data]. */
function readEntries(file) {
    const entries = new Map();
    let buf;
    try {
        buf = fs.readFileSync(file);
    } catch {
        return entries;
    }
    // FORMAT, the index's length as a decimal line, the index (JSON: [name, crc, length]...), then the data.
    if (buf.length > MAX_BYTES || buf.toString("latin1", 0, FORMAT.length) !== FORMAT) return entries;
    try {
        const nl = buf.indexOf(10, FORMAT.length);
        const indexLength = Number(buf.toString("latin1", FORMAT.length, nl));
        const index = JSON.parse(buf.toString("utf8", nl + 1, nl + 1 + indexLength));
        let at = nl + 1 + indexLength;
        for (const [name, crc, length] of index) {
            entries.set(name, [crc, buf.subarray(at, at + length)]);
            at += length;
        }
        if (at !== buf.length) return new Map(); // cut short by a crash: not trusted in part
    } catch {
        return new Map();
    }
    return entries;
}

function writeEntries(file, entries) {
    const index = [];
    const blobs = [];
    for (const [name, [crc, data]] of entries) {
        index.push([name, crc, data.length]);
        blobs.push(data);
    }
    const head = JSON.stringify(index);
    const temp = `${file}.${process.pid}.tmp`;
    try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(temp, Buffer.concat([Buffer.from(`${FORMAT}${Buffer.byteLength(head)}\n${head}`), ...blobs]));
        fs.renameSync(temp, file);
    } catch {
        // A read-only checkout or a full disk: the next run compiles as this one did.
        fs.rmSync(temp, { force: true });
    }
}

/** The command this process runs, for the cache file's name: its main script and first argument. */
function commandName() {
    const main = process.argv[1] ? path.basename(process.argv[1]).replace(/\.[^.]*$/, "") : "eval";
    const first = process.argv[2] && /^[a-z][a-z-]{0,30}$/.test(process.argv[2]) ? `-${process.argv[2]}` : "";
    return `${main}${first}`.replace(/[^\w.-]/g, "_");
}

function install(cacheRoot) {
    // zlib.crc32 and the main context's loader for vm scripts came with Node 20.15 and 20.12.
    const importer = vm.constants && vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER;
    if (process.env.CROSSBORDER_CODE_CACHE === "0" || typeof zlib.crc32 !== "function" || !importer) return;
    // A worker thread (the audit's copier) loads a module or two under its parent's command name: its file
    // would replace the parent's.
    if (!require("worker_threads").isMainThread) return;
    // V8 refuses data made under other flags (--cpu-prof, --max-old-space-size...): each set of them has
    // its own files, so that a run with other flags does not replace the data every plain run reads.
    // Node's own options (-r, -e and the code it runs...) are left out: V8 does not see them.
    const nodeOnly = /^--(require|eval|print|import|loader|experimental-loader|input-type|enable-source-maps)\b/;
    const v8Flags = process.execArgv.filter((a) => a.startsWith("--") && !nodeOnly.test(a));
    const flags = zlib.crc32(JSON.stringify([v8Flags, process.env.NODE_OPTIONS ?? ""])).toString(16);
    const file = path.join(cacheRoot, `${process.versions.v8}-${process.arch}-${flags}`, `${commandName()}.bin`);
    const stored = readEntries(file);
    /** Modules compiled here without accepted data: their data is made at exit. */
    const fresh = [];
    /** Every module compiled here, whose entry a file grown past MAX_BYTES keeps. */
    const used = new Set();
    const original = Module.prototype._compile;

    Module.prototype._compile = function compileCached(content, filename, format) {
        const commonjs = format === undefined || format === "commonjs";
        if (!commonjs || content.includes("import(") || content.startsWith("#!"))
            return original.apply(this, arguments);
        const crc = zlib.crc32(content);
        used.add(filename);
        const kept = stored.get(filename);
        let script;
        try {
            script = new vm.Script(Module.wrap(content), {
                filename,
                cachedData: kept && kept[0] === crc ? kept[1] : undefined,
                importModuleDynamically: importer,
            });
        } catch {
            return original.apply(this, arguments); // Node reports the error (or loads it as an ES module)
        }
        if (!kept || kept[0] !== crc || script.cachedDataRejected) fresh.push([filename, crc, script]);
        const mod = this;
        const require = (id) => mod.require(id);
        require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
        require.resolve.paths = (request) => Module._resolveLookupPaths(request, mod);
        require.main = process.mainModule;
        require.extensions = Module._extensions;
        require.cache = Module._cache;
        const wrapper = script.runInThisContext({ displayErrors: true });
        return wrapper.call(mod.exports, mod.exports, require, mod, filename, path.dirname(filename));
    };

    process.once("exit", () => {
        if (!fresh.length) return;
        // Merged with what is on disk now: another process of the same command may have saved meanwhile.
        const entries = readEntries(file);
        for (const [name, value] of stored) if (!entries.has(name)) entries.set(name, value);
        for (const [name, crc, script] of fresh) entries.set(name, [crc, script.createCachedData()]);
        let bytes = 0;
        for (const [, [, data]] of entries) bytes += data.length;
        if (bytes > MAX_BYTES) for (const name of [...entries.keys()]) if (!used.has(name)) entries.delete(name);
        writeEntries(file, entries);
    });
}

module.exports = { install, readEntries };
