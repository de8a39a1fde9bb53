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

/**
 * copyTree on a worker thread, so that the links are made while the caller goes on (the audit reads and
 * parses the tree meanwhile, on the main thread): await the promise before using the copy. The worker
 * compiles this file as the process does (bin/register.js); where it cannot start, the copy is made here.
 */
export function copyTreeAside(from: string, to: string): Promise<void> {
    const register = path.resolve(__dirname, "..", "..", "bin", "register.js");
    if (!__filename.endsWith(".ts") || !fs.existsSync(register)) return Promise.resolve(copyTree(from, to));
    return new Promise((resolve, reject) => {
        const worker = new Worker(
            'const { workerData: w } = require("worker_threads"); require(w.register); require(w.module).copyTree(w.from, w.to);',
            { eval: true, workerData: { register, module: __filename, from, to }, stdout: true, stderr: true },
        );
        let failure: unknown;
        worker.once("error", (e) => (failure = e));
        worker.once("exit", (code) =>
            code === 0 && failure === undefined
                ? resolve()
                : reject(failure instanceof Error ? failure : new Error(`copying ${from} stopped (exit ${code})`)),
        );
    });
}
