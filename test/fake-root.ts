/**
 * A fake root for running boot scripts for real: a bash script in private network, mount and PID namespaces
 * (as root), with /etc, /usr/local and /var on overlays whose upper layers are folders of the test, so the
 * script writes where it would on the instance and nothing of this machine changes. Every process it starts
 * dies with it (its PID namespace ends with the script).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const OVERLAID = ["/etc", "/usr/local", "/var"];

/** Skip (or, under CI=true, fail) without root or the commands the fake root needs. */
export function requireFakeRoot(ctx: Mocha.Context, commands: readonly string[] = []): void {
    const has = (c: string) => spawnSync("sh", ["-c", `command -v ${c}`]).status === 0;
    const missing = ["unshare", "mount", ...commands].filter((c) => !has(c));
    const root = process.getuid?.() === 0;
    if (!missing.length && root) return;
    const why = `${missing.length ? `missing ${missing.join(", ")}` : ""}${root ? "" : " (needs root for the namespaces)"}`;
    if (process.env.CI === "true") throw new Error(`fake root: ${why}`);
    console.warn(`  SKIPPED (fake root): ${why}`);
    ctx.skip();
}

/** Run `body` under a fake root made in `dir`; returns bash's result (its exit code is the script's). */
export function runInFakeRoot(dir: string, body: string, timeoutMs = 120_000): { stdout: string; stderr: string } {
    const mounts = OVERLAID.map((target) => {
        const name = target.replace(/\//g, "_");
        for (const d of ["up", "work"]) fs.mkdirSync(path.join(dir, "overlay", name, d), { recursive: true });
        return `mount -t overlay overlay -o lowerdir=${target},upperdir=${dir}/overlay/${name}/up,workdir=${dir}/overlay/${name}/work ${target}`;
    });
    const script = path.join(dir, "fake-root.sh");
    fs.writeFileSync(script, ["set -u", "/usr/sbin/ip link set lo up", ...mounts, body, ""].join("\n"));
    const r = spawnSync(
        "unshare",
        ["--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "bash", script],
        { encoding: "utf8", timeout: timeoutMs },
    );
    assert.strictEqual(r.status, 0, `the fake root's script failed:\n${r.stdout}\n${r.stderr}`);
    return { stdout: r.stdout, stderr: r.stderr };
}
