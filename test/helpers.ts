/** Shared test helpers. */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ConfigError, ConfigIssue } from "../stacks/config";
import { parseStackFile } from "../stacks/stackfile";

export const ROOT = path.resolve(__dirname, "..");

/** The example stack file's config map for `side`, as a fresh mutable copy. */
export function exampleConfig(side: "global" | "china"): Record<string, any> {
    const file = path.join(ROOT, "stacks", `Pulumi.${side}.yaml`);
    return structuredClone(parseStackFile(fs.readFileSync(file, "utf8"), file).config) as Record<string, any>;
}

/** The example stacks' secret keys: what `pulumi config set --secret` set (their values are placeholders). */
export const EXAMPLE_SECRETS: readonly string[] = [
    "crossborder:registryPullPassword",
    "crossborder:gitopsToken",
    "crossborder:gitopsSshKey",
];
export const isExampleSecret = (key: string): boolean => EXAMPLE_SECRETS.includes(key);

/** Run `fn`, expect a ConfigError, and return its issues. */
export function configIssues(fn: () => unknown): readonly ConfigIssue[] {
    try {
        fn();
    } catch (e) {
        if (e instanceof ConfigError) return e.issues;
        throw e;
    }
    assert.fail("expected a ConfigError, but the config was accepted");
}

import { spawn, spawnSync } from "child_process";
import * as os from "os";

export interface CliResult {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Run the real `crossborder` command as a subprocess. */
export function runCli(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "crossborder.js"), ...args], {
        cwd: opts.cwd ?? ROOT,
        encoding: "utf8",
        env: { ...process.env, CROSSBORDER_DEBUG: "", ...opts.env },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every folder tempDir made; test/setup.ts removes them when the run ends. */
export const createdTempDirs: string[] = [];

/** The real `crossborder` command, without blocking this process (for servers the test itself runs). */
export function runCliAsync(
    args: readonly string[],
    opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [path.join(ROOT, "bin", "crossborder.js"), ...args], {
            cwd: opts.cwd ?? ROOT,
            env: { ...process.env, CROSSBORDER_DEBUG: "", ...opts.env },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
}

/** A fresh temporary directory, removed when the test run ends (test/setup.ts). */
export function tempDir(label: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `crossborder-${label}-`));
    createdTempDirs.push(dir);
    return dir;
}

/** Write `files` (path inside `dir` → content) into `dir`, making the folders they need. */
export function writeFiles(
    dir: string,
    files: Record<string, string | Buffer> | Iterable<readonly [string, string | Buffer]>,
): void {
    for (const [rel, content] of Symbol.iterator in files ? files : Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), content);
    }
}

/** Copy the example stack files into `dir`, applying `edit` to the named file's text. */
export function copyStacks(dir: string, edit?: { file: "global" | "china"; from: string | RegExp; to: string }): void {
    for (const side of ["global", "china"]) {
        let text = fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${side}.yaml`), "utf8");
        if (edit && edit.file === side) {
            const before = text;
            text = text.replace(edit.from, edit.to);
            assert.notStrictEqual(text, before, `the edit ${String(edit.from)} must change Pulumi.${side}.yaml`);
        }
        fs.writeFileSync(path.join(dir, `Pulumi.${side}.yaml`), text);
    }
}

/**
 * A copy of the example stack files with edits applied (YAML paths under `config:`), in a temp folder;
 * comments and `secure:` values are kept. Returns the folder, for runPlan's stacksDir.
 */
export function variantStacks(edits: Partial<Record<"global" | "china", [string[], unknown][]>>): string {
    const { parseDocument } = require("yaml") as typeof import("yaml");
    const dir = tempDir("stacks-variant");
    for (const side of ["global", "china"] as const) {
        const text = fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${side}.yaml`), "utf8");
        const doc = parseDocument(text);
        for (const [p, value] of edits[side] ?? []) {
            if (value === undefined) doc.deleteIn(["config", ...p]);
            else doc.setIn(["config", ...p], value);
        }
        fs.writeFileSync(path.join(dir, `Pulumi.${side}.yaml`), doc.toString());
    }
    return dir;
}

/**
 * A test CA (ca.pem) and a server certificate signed by it (srv.key, srv.pem) for `names` (DNS names, or
 * IPv4 addresses such as 127.0.0.1), written into `dir` by openssl: what a TLS registry or API stand-in on
 * loopback serves.
 */
export function certificates(dir: string, names: readonly string[]): void {
    const run = (args: string[]) => {
        const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
        assert.strictEqual(r.status, 0, `openssl ${args.join(" ")}: ${r.stderr}`);
    };
    run([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=crossborder test CA",
    ]);
    run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", `/CN=${names[0]}`]);
    fs.writeFileSync(
        path.join(dir, "ext.cnf"),
        `subjectAltName=${names.map((n) => (/^\d+(\.\d+){3}$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",")}\n`,
    );
    run([
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "srv.pem",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
    ]);
}

/** Every file below `dir` (relative path → sha256), `.git` aside: what a run may not change, or must give twice. */
export function fileHashes(dir: string): Map<string, string> {
    const { createHash } = require("crypto") as typeof import("crypto");
    const out = new Map<string, string>();
    const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const p = rel ? `${rel}/${e.name}` : e.name;
            if (e.name === ".git") continue;
            if (e.isDirectory()) walk(p);
            else
                out.set(
                    p,
                    createHash("sha256")
                        .update(fs.readFileSync(path.join(dir, p)))
                        .digest("hex"),
                );
        }
    };
    walk("");
    return out;
}
