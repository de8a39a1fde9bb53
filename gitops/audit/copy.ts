/**
 * The private copy of a tree that builds run in, as source-controller's artifact holds it: without the files
 * Flux leaves out, and without symbolic links. Small on purpose (no import beyond Node's): a worker thread
 * loads it to make the copy beside the caller's own work (copyTreeAside).
 */
import * as fs from "fs";
import * as path from "path";
import { Worker } from "worker_threads";

/**
 * What source-controller leaves out of every artifact (fluxcd/pkg sourceignore: ExcludeVCS, ExcludeCI,
 * ExcludeExtra), and crossborder's own records. A .sourceignore of the tree is not read: the audit then
 * judges more than Flux applies, never less.
 */
export const SKIP_DIRS = new Set([".git", ".github", ".circleci", ".crossborder"]);
export const SKIP_FILES = new Set([
    ".gitignore",
    ".gitmodules",
    ".gitattributes",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    ".goreleaser.yml",
    ".sops.yaml",
    ".flux.yaml",
]);
/**
 * A private copy of a tree to build in (the build writes merged kustomizations, as Flux does in its own copy).
 * Files are hard links where the file system allows, which costs a directory entry instead of the bytes;
 * nothing writes through them: the build replaces a file by renaming a new one over it (flux.ts
 * replaceFile), which gives the copy a file of its own and leaves the tree's untouched.
 */
export function copyTree(from: string, to: string): void {
    const keep = (name: string) => !SKIP_DIRS.has(name) && !SKIP_FILES.has(name);
    let link = true;
    const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(from, rel), { withFileTypes: true })) {
            if (!keep(e.name) || e.isSymbolicLink()) continue;
            const p = path.join(rel, e.name);
            if (e.isDirectory()) {
                fs.mkdirSync(path.join(to, p));
                walk(p);
            } else if (e.isFile()) {
                if (link) {
                    try {
                        fs.linkSync(path.join(from, p), path.join(to, p));
                        continue;
                    } catch {
                        link = false; // another file system, or links not allowed: copy the bytes
                    }
                }
                fs.copyFileSync(path.join(from, p), path.join(to, p));
            }
        }
    };
    fs.mkdirSync(to, { recursive: true });
    walk("");
}

/** The copy worker, started on first use and kept for the next audit of the process (starting one costs more than a small tree's copy). */
let copier: { worker: Worker; next: number; waiting: Map<number, (error?: string) => void> } | undefined;

/** The worker's code: copyTree for each message, answered by the message's id. */
const WORKER = [
    'const { parentPort, workerData } = require("worker_threads");',
    "require(workerData.register);",
    "const { copyTree } = require(workerData.module);",
    "parentPort.on('message', ({ id, from, to }) => {",
    "    try { copyTree(from, to); parentPort.postMessage({ id }); }",
    "    catch (e) { parentPort.postMessage({ id, error: e instanceof Error ? e.message : String(e) }); }",
    "});",
].join("\n");

/**
 * copyTree on a worker thread, so that the links are made while the caller goes on (the audit reads and
 * parses the tree meanwhile, on the main thread): await the promise before using the copy. The worker
 * compiles this file as the process does (bin/register.js) and stays for the next copy, without holding the
 * process open while idle. Where this file is not run from its source (no compiler to load it with), the copy
 * is made here; a worker that fails or stops rejects the copies it held, and the next copy starts another.
 */
export function copyTreeAside(from: string, to: string): Promise<void> {
    const register = path.resolve(__dirname, "..", "..", "bin", "register.js");
    if (!__filename.endsWith(".ts") || !fs.existsSync(register))
        return Promise.resolve().then(() => copyTree(from, to));
    if (!copier) {
        const worker = new Worker(WORKER, {
            eval: true,
            execArgv: [], // not the parent's -r hooks: the worker loads only this file
            workerData: { register, module: __filename },
            stdout: true,
            stderr: true,
        });
        const state = { worker, next: 0, waiting: new Map<number, (error?: string) => void>() };
        worker.on("message", ({ id, error }: { id: number; error?: string }) => {
            state.waiting.get(id)?.(error);
            state.waiting.delete(id);
            if (state.waiting.size === 0) worker.unref();
        });
        const stop = (why: string) => {
            if (copier === state) copier = undefined;
            for (const answer of state.waiting.values()) answer(why);
            state.waiting.clear();
        };
        worker.on("error", (e) => stop(e.message));
        worker.on("exit", (code) => stop(`the copying worker stopped (exit ${code})`));
        copier = state;
    }
    const state = copier;
    const id = state.next++;
    state.worker.ref();
    return new Promise((resolve, reject) => {
        state.waiting.set(id, (error) =>
            error === undefined ? resolve() : reject(new Error(`copying ${from} to ${to}: ${error}`)),
        );
        state.worker.postMessage({ id, from, to });
    });
}
