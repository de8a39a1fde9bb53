// Compile the project's own .ts files on require with esbuild (type-stripping only; `npm run typecheck`
// checks types). Unlike a full loader (tsx, ts-node) it hooks only the .ts extension, so the thousands of
// JavaScript files of the Pulumi SDKs load at plain Node speed: the offline plan is benchmarked against
// that load time.
"use strict";
const fs = require("fs");
const esbuild = require("esbuild");

if (!require.extensions[".ts"]) {
    require.extensions[".ts"] = function compileTs(module, filename) {
        const { code } = esbuild.transformSync(fs.readFileSync(filename, "utf8"), {
            loader: "ts",
            format: "cjs",
            target: "node20",
            sourcefile: filename,
            sourcemap: "inline",
        });
        module._compile(code, filename);
    };
}
