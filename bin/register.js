// Compile the project's own .ts files on require with esbuild (type-stripping only; `npm run typecheck`
// checks types). Unlike a full loader (tsx, ts-node) it hooks only the .ts extension, so the thousands of
// JavaScript files of the Pulumi SDKs load at plain Node speed: the offline plan is benchmarked against
// that load time. Compiled output is cached by content hash under node_modules/.cache, so an unchanged
// checkout does not even load esbuild.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const cacheRoot = path.join(__dirname, "..", "node_modules", ".cache");
const cacheDir = path.join(cacheRoot, "crossborder-ts");
require("./code-cache").install(path.join(cacheRoot, "crossborder-code"));
let esbuild;

function compile(source, filename) {
    const key = crypto.createHash("sha256").update(filename).update("\0").update(source).digest("hex");
    const cached = path.join(cacheDir, `${key}.js`);
    try {
        return fs.readFileSync(cached, "utf8");
    } catch {
        esbuild = esbuild || require("esbuild");
        const { code } = esbuild.transformSync(source, {
            loader: "ts",
            format: "cjs",
            target: "node20",
            sourcefile: filename,
            sourcemap: "inline",
        });
        try {
            fs.mkdirSync(cacheDir, { recursive: true });
            const temp = `${cached}.${process.pid}.tmp`;
            fs.writeFileSync(temp, code);
            fs.renameSync(temp, cached);
        } catch {
            // A read-only checkout still works, just without the cache.
        }
        return code;
    }
}

if (!require.extensions[".ts"]) {
    require.extensions[".ts"] = function compileTs(module, filename) {
        module._compile(compile(fs.readFileSync(filename, "utf8"), filename), filename);
    };
}
