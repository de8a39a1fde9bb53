/**
 * The real tools crossborder judges with: `helm` (v4, the engine Flux 2.8's helm-controller renders with)
 * and `kubectl` (its built-in kustomize applies post-renderers as helm-controller does). Each is found as
 * `CROSSBORDER_HELM` / `CROSSBORDER_KUBECTL`, else the binary `npm ci` unpacked into `.tools/bin`
 * (bin/install-tools.js), else the command on PATH. Every subprocess runs here (runTool), bounded in time,
 * output and memory by TOOL_LIMITS, in its own process group, and dies with crossborder.
 */
import { InputError } from "../../core/errors";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cacheRoot } from "./paths";

const PROJECT_TOOLS = path.resolve(__dirname, "..", "..", ".tools", "bin");

/** A tool is missing, too old, or failed in a way the user must fix (exit 2). */
export class ToolError extends InputError {
    constructor(message: string) {
        super(message);
        this.name = "ToolError";
    }
}

export type ToolName = "helm" | "kubectl" | "git" | "skopeo";

const ENV: Record<ToolName, string> = {
    helm: "CROSSBORDER_HELM",
    kubectl: "CROSSBORDER_KUBECTL",
    git: "CROSSBORDER_GIT",
    skopeo: "CROSSBORDER_SKOPEO",
};

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

/**
 * What each kind of tool run may take, in one place: wall time, output (stdout and stderr together) and
 * address space. A run that passes a bound is stopped (its whole process group killed) and is a ToolError
 * naming the bound; a chart that renders without end, or a patch file that explodes, ends there.
 */
export const TOOL_LIMITS = {
    /** `helm template` of one release. */
    render: { timeoutMs: 300_000, maxOutputBytes: 256 * 1024 * 1024, memoryBytes: 4 * 1024 ** 3 },
    /** `kubectl kustomize` of one path or post-renderer. */
    build: { timeoutMs: 300_000, maxOutputBytes: 256 * 1024 * 1024, memoryBytes: 4 * 1024 ** 3 },
    /** `helm pull` of one chart (a slow link). */
    pull: { timeoutMs: 600_000, maxOutputBytes: 16 * 1024 * 1024, memoryBytes: 2 * 1024 ** 3 },
    /** `skopeo copy --all` of one image, or `helm push` of one chart (crossborder bundle). */
    copy: { timeoutMs: 1_800_000, maxOutputBytes: 16 * 1024 * 1024, memoryBytes: 2 * 1024 ** 3 },
    /** `git archive` of one revision of a fleet repository (crossborder diff). */
    git: { timeoutMs: 120_000, maxOutputBytes: 16 * 1024 * 1024, memoryBytes: 2 * 1024 ** 3 },
    /** `--version` and the like. */
    version: { timeoutMs: 30_000, maxOutputBytes: 1024 * 1024, memoryBytes: 1024 ** 3 },
} as const;

export type ToolPurpose = keyof typeof TOOL_LIMITS;

export type ToolLimits = { readonly [K in keyof (typeof TOOL_LIMITS)["render"]]: number };

export interface RunOptions {
    /** Which bounds apply (TOOL_LIMITS). */
    readonly purpose: ToolPurpose;
    /** Tighter bounds for this run (never looser than the purpose's). */
    readonly limits?: Partial<ToolLimits>;
    readonly input?: string;
    readonly cwd?: string;
    readonly env?: NodeJS.ProcessEnv;
}

/**
 * Every tool child that is running, by process group: killed when crossborder exits, is interrupted, or
 * fails. A crossborder killed outright (SIGKILL) cannot run code: there the kernel kills the child, which
 * runs with a parent-death signal (setpriv --pdeathsig KILL, util-linux).
 */
const live = new Set<number>();
let reaping = false;

function killGroup(pid: number): void {
    try {
        process.kill(-pid, "SIGKILL");
    } catch {
        // already gone
    }
}

/** crossborder's temporary folders still in use: removed on exit too, when a signal cuts a finally short. */
const temporary = new Set<string>();

/**
 * A private temporary folder (`<tmpdir>/<prefix>XXXXXX`). Remove it with removeTemporaryFolder; one still
 * there when crossborder exits or is interrupted (SIGINT, SIGTERM, SIGHUP exit without running `finally`)
 * is removed then.
 */
export function temporaryFolder(prefix: string): string {
    reapOnExit();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    temporary.add(dir);
    return dir;
}

export function removeTemporaryFolder(dir: string): void {
    fs.rmSync(dir, { recursive: true, force: true });
    temporary.delete(dir);
}

function reapOnExit(): void {
    if (reaping) return;
    reaping = true;
    process.on("exit", () => {
        for (const pid of live) killGroup(pid);
        for (const dir of temporary) fs.rmSync(dir, { recursive: true, force: true });
    });
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.on(signal, () => {
            for (const pid of live) killGroup(pid);
            // The default action of the signal, after the children: exit as a signalled process does.
            process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[signal]);
        });
    }
}

const SETPRIV = "/usr/bin/setpriv";
const PRLIMIT = "/usr/bin/prlimit";

/** A run's address-space bound: its purpose's, or CROSSBORDER_TOOL_MEMORY_MB. */
function memoryBound(memoryBytes: number): number {
    return Number(process.env.CROSSBORDER_TOOL_MEMORY_MB ?? 0) * 1024 * 1024 || memoryBytes;
}

/**
 * The environment of a tool run, with the Go collector set for short runs: helm, kubectl and skopeo are Go
 * programs that start, allocate a few tens of MiB and exit, and at Go's default (GOGC=100) a tiny
 * `kubectl kustomize` spends a quarter of its CPU collecting garbage it would drop at exit anyway. GOGC=400
 * collects when the heap has grown fourfold past what is live, and GOMEMLIMIT, a quarter of the run's
 * address-space bound, makes the collector work harder as the heap nears it, so a large render still ends
 * well inside its bound (https://go.dev/doc/gc-guide, "GOGC" and "Memory limit"). Measured here: 84 -> 64 ms
 * of CPU per small `kubectl kustomize`, 0.45 -> 0.39 s for `helm template` of kube-prometheus-stack, at
 * 10-20% more memory. A collector setting of the caller's own (GOGC or GOMEMLIMIT set) is kept as it is.
 */
export function toolEnvironment(env: NodeJS.ProcessEnv, memoryBytes: number): NodeJS.ProcessEnv {
    if (env.GOGC !== undefined || env.GOMEMLIMIT !== undefined) return env;
    return { ...env, GOGC: "400", GOMEMLIMIT: `${Math.floor(memoryBound(memoryBytes) / 4 / 1024 ** 2)}MiB` };
}

/** The command line that runs `file` with its address-space bound and a parent-death signal, where the system can. */
function bounded(file: string, args: readonly string[], memoryBytes: number): { file: string; args: string[] } {
    const memory = memoryBound(memoryBytes);
    if (process.platform !== "linux" || !executable(SETPRIV) || !executable(PRLIMIT)) return { file, args: [...args] };
    return { file: PRLIMIT, args: [`--as=${memory}`, "--", SETPRIV, "--pdeathsig", "KILL", "--", file, ...args] };
}

/** Run a tool to completion within its bounds; spawn failures and limits become ToolErrors naming what happened. */
export function runTool(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
    const base: ToolLimits = TOOL_LIMITS[opts.purpose];
    const limits: ToolLimits = {
        timeoutMs: Math.min(base.timeoutMs, opts.limits?.timeoutMs ?? Infinity),
        maxOutputBytes: Math.min(base.maxOutputBytes, opts.limits?.maxOutputBytes ?? Infinity),
        memoryBytes: Math.min(base.memoryBytes, opts.limits?.memoryBytes ?? Infinity),
    };
    const max = limits.maxOutputBytes;
    const started = process.hrtime.bigint();
    const name = `${path.basename(file)} ${args[0] ?? ""}`.trim();
    const trace = (code: number | string) => {
        // CROSSBORDER_TRACE=1 shows every tool run and how long it took (on stderr).
        if (process.env.CROSSBORDER_TRACE)
            process.stderr.write(
                `trace: ${path.basename(file)} ${args.slice(0, 3).join(" ")} -> ${code} in ${Number(process.hrtime.bigint() - started) / 1e6} ms\n`,
            );
    };
    reapOnExit();
    return new Promise((resolve, reject) => {
        const cmd = bounded(file, args, limits.memoryBytes);
        // Its own process group (detached), so that a timeout kills whatever the tool started too.
        const child = spawn(cmd.file, cmd.args, {
            cwd: opts.cwd,
            env: toolEnvironment(opts.env ?? process.env, limits.memoryBytes),
            stdio: ["pipe", "pipe", "pipe"],
            detached: true,
        });
        if (child.pid) live.add(child.pid);
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let size = 0;
        let failure: Error | undefined;
        const stop = (e: Error) => {
            failure ??= e;
            if (child.pid) killGroup(child.pid);
        };
        const timer = setTimeout(
            () => stop(new ToolError(`${name}: no result within ${limits.timeoutMs / 1000} s`)),
            limits.timeoutMs,
        );
        const collect = (into: Buffer[]) => (chunk: Buffer) => {
            size += chunk.length;
            if (size > max) return stop(new ToolError(`${name}: more than ${max} bytes of output`));
            into.push(chunk);
        };
        child.stdout.on("data", collect(out));
        child.stderr.on("data", collect(err));
        child.on("error", (e: NodeJS.ErrnoException) =>
            stop(new ToolError(`${file}: cannot run (${e.code ?? e.message})`)),
        );
        child.stdin.on("error", () => undefined); // a tool that exits early closes its stdin; its exit code says why
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            if (child.pid) {
                killGroup(child.pid); // anything it left behind in its group
                live.delete(child.pid);
            }
            trace(failure ? "failed" : (code ?? "signal"));
            if (failure) return reject(failure);
            const stderr = Buffer.concat(err).toString("utf8");
            // Go's runtime reports a failed allocation under the address-space bound as "out of memory".
            if (code !== 0 && /fatal error: (?:runtime: )?out of memory|cannot allocate memory/i.test(stderr))
                return reject(
                    new ToolError(
                        `${name}: ran out of its ${Math.round(limits.memoryBytes / 1024 ** 2)} MiB of memory (CROSSBORDER_TOOL_MEMORY_MB raises it)`,
                    ),
                );
            resolve({
                code: code ?? (signal ? 128 : 1),
                stdout: Buffer.concat(out).toString("utf8"),
                stderr,
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
            : runTool(file, args, { purpose: "version" }).then((r) => {
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
