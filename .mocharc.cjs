// Mocha's configuration. Test files run in three worker processes on the 2-core CI machine: much of the
// suite waits on tools and registries (skopeo through a stalling proxy, renders killed on a timer), so a
// third worker fills the waits (measured: 4m50 against 5m49 with two). Each file keeps its own state
// (test/setup.ts: one cache folder for the run, temporary folders per file), so files do not depend on one
// another or on their order. The files that take longest start first, so that the workers finish together
// instead of one waiting on a long file started last (longest first is within 4/3 of the best schedule);
// the rest follow in name order. The list is an ordering, not a selection: every test/**/*.test.ts runs.
"use strict";
const fs = require("fs");
const path = require("path");

/** Longest first, as `npm test` measured them on 2 cores with two workers (seconds of wall time, roughly). */
const LONGEST = [
    "test/cli/fuzz-audit.test.ts", // 130
    "test/cli/fuzz-inputs.test.ts", // 90
    "test/gitops/tree.test.ts", // 80
    "test/registry/mirror.test.ts", // 55 (most of it waiting on a stalling proxy)
    "test/gitops/diff.test.ts", // 50
    "test/gitops/publish.test.ts", // 50
    "test/gitops/engine.test.ts", // 40
    "test/gitops/adopt.test.ts", // 35
    "test/gitops/writer.test.ts", // 30
    "test/gitops/audit.test.ts", // 30
    "test/gitops/bundle.test.ts", // 20
    "test/registry/gate.test.ts", // 15
    "test/cli/plan.test.ts", // 12
];

function testFiles(dir) {
    return fs
        .readdirSync(dir, { withFileTypes: true })
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .flatMap((e) => {
            const p = path.posix.join(dir, e.name);
            return e.isDirectory() ? testFiles(p) : e.name.endsWith(".test.ts") ? [p] : [];
        });
}

const all = testFiles("test");
// `npx mocha test/x.test.ts` runs the files it names: mocha adds them to the configured spec, so the spec
// is left empty then.
const named = process.argv.slice(2).some((a) => /\.test\.ts$/.test(a));
module.exports = {
    require: ["bin/register.js", "test/setup.ts"],
    extension: ["ts"],
    spec: named ? [] : [...LONGEST.filter((f) => all.includes(f)), ...all.filter((f) => !LONGEST.includes(f))],
    parallel: true,
    jobs: 3,
    timeout: 60000,
    reporter: "spec",
};
