/**
 * The real tools crossborder judges with: `helm` (v4, the engine Flux 2.8's helm-controller renders with)
 * and `kubectl` (its built-in kustomize applies post-renderers as helm-controller does). Each is found as
 * `CROSSBORDER_HELM` / `CROSSBORDER_KUBECTL`, else the binary `npm ci` unpacked into `.tools/bin`
 * (bin/install-tools.js), else the command on PATH. Subprocesses are bounded in output size and time.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { cacheRoot } from "./paths";

const PROJECT_TOOLS = path.resolve(__dirname, "..", "..", ".tools", "bin");

/** A tool is missing, too old, or failed in a way the user must fix (exit 2). */
export class ToolError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ToolError";
    }
}

export type ToolName = "helm" | "kubectl";

const ENV: Record<ToolName, string> = { helm: "CROSSBORDER_HELM", kubectl: "CROSSBORDER_KUBECTL" };

function executable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

function onPath(name: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        if (dir && executable(path.join(dir, name))) return path.join(dir, name);
    }
    return undefined;
}

/** Where `name` is: the env override, the project's own copy, or PATH. */
export function locateTool(name: ToolName): string {
    const override = process.env[ENV[name]];
    if (override) {
        if (!executable(override))
            throw new ToolError(
                `${ENV[name]}=${override}: not an executable file; point it at a ${name} binary or unset it`,
            );
        return override;
    }
    const own = path.join(PROJECT_TOOLS, name);
    if (executable(own)) return own;
    const found = onPath(name);
    if (found) return found;
    throw new ToolError(
        `${name} not found: run npm ci (it unpacks helm v4 and kubectl into .tools/bin), put ${name} on PATH, or set ${ENV[name]}`,
    );
}

export interface RunResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

export interface RunOptions {
    readonly input?: string;
    readonly cwd?: string;
    readonly env?: NodeJS.ProcessEnv;
    /** @default 120000 */
    readonly timeoutMs?: number;
    /** Output beyond this is an error, not a memory blow-up. @default 256 MiB */
    readonly maxOutputBytes?: number;
}

/** Run a tool to completion; spawn failures and limits become ToolErrors naming what happened. */
export function runTool(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const max = opts.maxOutputBytes ?? 256 * 1024 * 1024;
    const started = process.hrtime.bigint();
    const trace = (code: number | string) => {
        // CROSSBORDER_TRACE=1 shows every tool run and how long it took (on stderr).
        if (process.env.CROSSBORDER_TRACE)
            process.stderr.write(
                `trace: ${path.basename(file)} ${args.slice(0, 3).join(" ")} -> ${code} in ${Number(process.hrtime.bigint() - started) / 1e6} ms\n`,
            );
    };
    return new Promise((resolve, reject) => {
        const child = spawn(file, [...args], {
            cwd: opts.cwd,
            env: opts.env ?? process.env,
            stdio: ["pipe", "pipe", "pipe"],
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let size = 0;
        let failure: Error | undefined;
        const stop = (e: Error) => {
            failure ??= e;
            child.kill("SIGKILL");
        };
        const timer = setTimeout(
            () =>
                stop(
                    new ToolError(
                        `${path.basename(file)} ${args[0] ?? ""}: no result within ${(opts.timeoutMs ?? 120_000) / 1000} s`,
                    ),
                ),
            opts.timeoutMs ?? 120_000,
        );
        const collect = (into: Buffer[]) => (chunk: Buffer) => {
            size += chunk.length;
            if (size > max)
                return stop(new ToolError(`${path.basename(file)} ${args[0] ?? ""}: more than ${max} bytes of output`));
            into.push(chunk);
        };
        child.stdout.on("data", collect(out));
        child.stderr.on("data", collect(err));
        child.on("error", (e: NodeJS.ErrnoException) =>
            stop(new ToolError(`${file}: cannot run (${e.code ?? e.message})`)),
        );
        child.stdin.on("error", () => undefined); // a tool that exits early closes its stdin; its exit code says why
        child.on("close", (code) => {
            clearTimeout(timer);
            trace(failure ? "failed" : (code ?? "signal"));
            if (failure) return reject(failure);
            resolve({
                code: code ?? 1,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
            });
        });
        child.stdin.end(opts.input ?? "");
    });
}

const versions = new Map<string, Promise<string>>();

/** Versions already asked, by binary path, size and modification time: a warm run spawns no tool. */
function versionFile(): string {
    return path.join(cacheRoot(), "tool-versions.json");
}

function rememberedVersion(stamp: string): string | undefined {
    try {
        return JSON.parse(fs.readFileSync(versionFile(), "utf8"))[stamp];
    } catch {
        return undefined;
    }
}

function rememberVersion(stamp: string, version: string): void {
    try {
        let all: Record<string, string> = {};
        try {
            all = JSON.parse(fs.readFileSync(versionFile(), "utf8"));
        } catch {
            // first one
        }
        all[stamp] = version;
        fs.mkdirSync(path.dirname(versionFile()), { recursive: true });
        fs.writeFileSync(`${versionFile()}.${process.pid}.tmp`, JSON.stringify(all));
        fs.renameSync(`${versionFile()}.${process.pid}.tmp`, versionFile());
    } catch {
        // only costs a spawn next time
    }
}

/** The project's own binaries: bin/install-tools.js recorded their versions when it unpacked them. */
function projectVersion(name: ToolName, file: string, st: fs.Stats): string | undefined {
    if (path.resolve(path.dirname(file)) !== PROJECT_TOOLS) return undefined;
    try {
        const known = JSON.parse(fs.readFileSync(path.join(PROJECT_TOOLS, "versions.json"), "utf8"))[name];
        return known && known.size === st.size && known.mtimeMs === st.mtimeMs && typeof known.version === "string"
            ? known.version
            : undefined;
    } catch {
        return undefined;
    }
}

/** `v4.1.4` for helm, `v1.35.2` for kubectl; asked once per binary. */
export function toolVersion(name: ToolName, file: string): Promise<string> {
    const key = `${name}\0${file}`;
    let v = versions.get(key);
    if (!v) {
        const st = fs.statSync(file);
        const stamp = `${name}|${path.resolve(file)}|${st.size}|${st.mtimeMs}`;
        const known = projectVersion(name, file, st) ?? rememberedVersion(stamp);
        const args =
            name === "helm" ? ["version", "--template", "{{.Version}}"] : ["version", "--client", "-o", "json"];
        v = known
            ? Promise.resolve(known)
            : runTool(file, args, { timeoutMs: 30_000 }).then((r) => {
                  if (r.code !== 0) throw new ToolError(`${file} ${args.join(" ")} failed: ${firstLines(r.stderr)}`);
                  const version =
                      name === "helm"
                          ? r.stdout.trim()
                          : String(JSON.parse(r.stdout).clientVersion?.gitVersion ?? "").replace(/-.*$/, "");
                  rememberVersion(stamp, version);
                  return version;
              });
        versions.set(key, v);
    }
    return v;
}

/** The first few lines of a tool's message, for quoting it in ours. */
export function firstLines(text: string, n = 6): string {
    const lines = text.trim().split("\n").filter(Boolean);
    return lines.slice(0, n).join("\n") + (lines.length > n ? `\n(${lines.length - n} more lines)` : "");
}
