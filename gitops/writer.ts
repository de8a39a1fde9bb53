/**
 * Writes a generated tree into an output folder that may also hold the user's own files, and keeps that
 * folder: its inode, its modes (setgid included), a symbolic link that points at it, and every file the
 * writer does not own stay as they are.
 *
 * - Ownership: `.crossborder/manifest.json` lists every file the writer generated, with its sha256. A
 *   re-render removes only files the previous manifest owned that the new render no longer produces (and
 *   the folders that leaves empty); anything else is the user's and is never touched, `.crossborder/`
 *   included (only manifest.json, journal.json and lock there are the writer's).
 * - Hand edits: a generated file whose bytes no longer match the manifest was edited by hand; it is neither
 *   overwritten nor removed without `force`. A new file that would land on a user's file, or below a
 *   symbolic link, is refused the same way. Nothing is written when anything is refused.
 * - Paths: every generated path must stay inside the output folder. The folder itself may not be `/`, the
 *   home folder, or a folder holding another repository's `.git` (unless `force`).
 * - One writer at a time: `.crossborder/lock` names the process that writes; a second one waits, then
 *   gives up naming it. A lock left by a killed process is detected and taken over.
 * - Atomicity, per file: new contents go to temporary files beside their targets, then a journal commits
 *   the change, then each file is renamed into place and the manifest is written last. A crash before
 *   the commit leaves the old tree (the temporaries are cleared by the next run); a crash after it is
 *   completed by the next run (`recoverTree`, which every write calls first). So after recovery the
 *   generated files are always the complete old tree or the complete new one.
 */
import { InputError } from "../core/errors";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const OWNER_DIR = ".crossborder";
export const MANIFEST_FILE = `${OWNER_DIR}/manifest.json`;
export const JOURNAL_FILE = `${OWNER_DIR}/journal.json`;
export const LOCK_FILE = `${OWNER_DIR}/lock`;

/** A refusal the user can act on (exit 2): hand-edited files, user files in the way, unsafe paths, a held lock. */
export class WriterError extends InputError {
    constructor(message: string) {
        super(message);
        this.name = "WriterError";
    }
}

export interface WriteOptions {
    /** Overwrite or remove generated files edited by hand, user files in the way; write into /, home or another repository. @default false */
    readonly force?: boolean;
    /** How long to wait for another writer's lock. @default 60000 */
    readonly lockWaitMs?: number;
    /**
     * The folder is a repository the generated files join (crossborder adopt): its .git is expected, and every
     * file of it that is not crossborder's is still never overwritten. @default false
     */
    readonly intoRepository?: boolean;
    /** What to tell the user when a file in the way would be overwritten. @default the render's advice */
    readonly conflictFix?: string;
}

export interface WriteResult {
    readonly written: string[];
    readonly removed: string[];
    /** True when the folder already held exactly this tree: nothing was touched. */
    readonly unchanged: boolean;
}

interface Manifest {
    readonly generator: "crossborder";
    readonly version: 1;
    readonly files: Record<string, string>;
}

interface Journal {
    readonly version: 1;
    /** preparing: temporaries are being written (undo); committed: rename them into place (redo). */
    readonly state: "preparing" | "committed";
    readonly install: { readonly path: string; readonly temp: string; readonly mode: number }[];
    readonly remove: string[];
    /** Folders this write created, deepest last. */
    readonly created: string[];
    readonly manifest: Manifest;
}

const SAFE_PATH = /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

function lstat(p: string): fs.Stats | undefined {
    try {
        return fs.lstatSync(p);
    } catch {
        return undefined;
    }
}

/** Refuse any generated path that could leave the output folder or touch the writer's own records. */
export function checkPath(p: string): void {
    if (
        !SAFE_PATH.test(p) ||
        p.split("/").some((s) => s === "." || s === "..") ||
        p === OWNER_DIR ||
        p.startsWith(`${OWNER_DIR}/`)
    ) {
        throw new WriterError(
            `refusing to write "${p}": generated paths must be relative, inside the output directory, and made of letters, digits, ".", "_" and "-"`,
        );
    }
}

/** Generated scripts are executable; everything else is a plain file (the umask applies to both). */
function modeOf(p: string): number {
    return p.endsWith(".sh") ? 0o777 : 0o666;
}

function writeAtomically(file: string, content: string | Buffer): void {
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, content);
    fs.renameSync(temp, file);
}

// ---------------------------------------------------------------------------------------------------
// The lock

interface Holder {
    readonly pid: number;
    readonly host: string;
    readonly started: string;
    readonly command: string;
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

function sleep(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readHolder(file: string): Holder | undefined {
    try {
        const h = JSON.parse(fs.readFileSync(file, "utf8"));
        return typeof h?.pid === "number" && typeof h?.host === "string" ? h : undefined;
    } catch {
        return undefined;
    }
}

/** Hold `.crossborder/lock` of `out`; returns the release function. */
function acquireLock(out: string, waitMs: number): () => void {
    const file = path.join(out, LOCK_FILE);
    const me: Holder = {
        pid: process.pid,
        host: os.hostname(),
        started: new Date().toISOString(),
        command: process.argv.slice(2).join(" ").slice(0, 200),
    };
    const deadline = Date.now() + waitMs;
    for (;;) {
        try {
            fs.writeFileSync(file, JSON.stringify(me), { flag: "wx" });
            return () => {
                if (readHolder(file)?.pid === me.pid) fs.rmSync(file, { force: true });
            };
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        }
        const holder = readHolder(file);
        const age = Date.now() - (lstat(file)?.mtimeMs ?? Date.now());
        const stale = holder ? holder.host === os.hostname() && !alive(holder.pid) : age > 60_000;
        if (stale) {
            // Take a dead writer's lock over: move it aside (only one of several waiters can), then retry.
            const aside = `${file}.stale.${process.pid}`;
            try {
                fs.renameSync(file, aside);
                const moved = readHolder(aside);
                if (moved && holder && moved.pid !== holder.pid) {
                    // Another waiter took it over first and wrote its own lock: give that one back.
                    try {
                        fs.linkSync(aside, file);
                    } catch {
                        // a third writer got in; the lock file it made stands
                    }
                }
                fs.rmSync(aside, { force: true });
            } catch {
                // someone else moved it first
            }
            continue;
        }
        if (Date.now() >= deadline) {
            const who = holder
                ? `pid ${holder.pid} on ${holder.host}, started ${holder.started}${holder.command ? ` (crossborder ${holder.command})` : ""}`
                : "an unreadable lock";
            throw new WriterError(
                `${out} is being written by another crossborder: ${who}. Wait for it to finish, or delete ${file} if that process is gone`,
            );
        }
        sleep(100);
    }
}

// ---------------------------------------------------------------------------------------------------
// Recovery

/** Where the writer puts the temporary of a generated path. */
function tempPath(p: string): string {
    return path.posix.join(path.posix.dirname(p), `.${path.posix.basename(p)}.crossborder-tmp`);
}

/** The first folder on the way to `p` (inside `out`) that is a symbolic link, if any. */
function throughLink(out: string, p: string, statOf = (d: string) => lstat(path.join(out, d))): string | undefined {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
        const d = parts.slice(0, i).join("/");
        if (statOf(d)?.isSymbolicLink()) return d;
    }
    return undefined;
}

function readJournal(out: string): Journal | undefined {
    const file = path.join(out, JOURNAL_FILE);
    if (!lstat(file)) return undefined;
    try {
        const j = JSON.parse(fs.readFileSync(file, "utf8"));
        if (
            j?.version !== 1 ||
            !Array.isArray(j.install) ||
            !Array.isArray(j.remove) ||
            !Array.isArray(j.created) ||
            !j.manifest
        )
            throw new Error("not a crossborder journal");
        // Every path it names must be one this writer could have written: inside the folder, and the
        // temporaries exactly where it puts them. A journal carried in a fleet repository could otherwise make
        // the next render delete a file beside the folder, or move one from outside into the tree.
        for (const x of j.install) {
            checkPath(x.path);
            if (x.temp !== tempPath(x.path))
                throw new Error(
                    `install entry ${JSON.stringify(x.path)} names the temporary ${JSON.stringify(x.temp)}, which is not the writer's ${tempPath(x.path)}`,
                );
            if (typeof x.mode !== "number") throw new Error(`install entry ${JSON.stringify(x.path)} has no mode`);
        }
        for (const p of [...j.remove, ...j.created]) checkPath(p);
        for (const p of [...j.install.map((x: { path: string }) => x.path), ...j.remove, ...j.created])
            if (throughLink(out, p)) throw new Error(`${p} lies below a symbolic link, outside the folder's own tree`);
        return j as Journal;
    } catch (e) {
        throw new WriterError(
            `${file}: unreadable journal of an interrupted write (${(e as Error).message}); move the folder aside and render into a fresh one`,
        );
    }
}

/** Remove folders that hold nothing, from `dirs` up towards the root (never the root itself). */
function pruneEmpty(out: string, dirs: Iterable<string>): void {
    const all = new Set<string>();
    for (const d of dirs) for (let x = d; x && x !== "."; x = path.posix.dirname(x)) all.add(x);
    for (const d of [...all].sort((a, b) => b.split("/").length - a.split("/").length || (a < b ? 1 : -1))) {
        const abs = path.join(out, d);
        const st = lstat(abs);
        if (st?.isDirectory() && fs.readdirSync(abs).length === 0) fs.rmdirSync(abs);
    }
}

/**
 * The writer's own files (journal, manifest) are written beside themselves as `<file>.<pid>.tmp` and renamed;
 * a kill between the two leaves the temporary behind. Under the lock no other write is in flight, so each
 * one left is a dead write's.
 */
function removeOwnTemporaries(out: string): void {
    const dir = path.join(out, OWNER_DIR);
    const st = lstat(dir);
    if (!st?.isDirectory()) return;
    for (const name of fs.readdirSync(dir))
        if (/^(?:journal|manifest)\.json\.\d+\.tmp$/.test(name)) fs.rmSync(path.join(dir, name), { force: true });
}

/**
 * Finish or undo a write that a crash interrupted. Returns what it did. Safe to call at any time; every
 * write calls it first (under the lock).
 */
export function recoverTree(outDir: string): "nothing" | "rolled-forward" | "rolled-back" {
    const out = path.resolve(outDir);
    removeOwnTemporaries(out);
    const journal = readJournal(out);
    if (!journal) return "nothing";
    if (journal.state === "preparing") {
        for (const x of journal.install) fs.rmSync(path.join(out, x.temp), { force: true });
        pruneEmpty(out, [...journal.created].reverse());
        fs.rmSync(path.join(out, JOURNAL_FILE), { force: true });
        return "rolled-back";
    }
    for (const x of journal.install) {
        if (lstat(path.join(out, x.temp))) fs.renameSync(path.join(out, x.temp), path.join(out, x.path));
    }
    for (const p of journal.remove) fs.rmSync(path.join(out, p), { force: true });
    pruneEmpty(
        out,
        journal.remove.map((p) => path.posix.dirname(p)),
    );
    writeAtomically(path.join(out, MANIFEST_FILE), JSON.stringify(journal.manifest, null, 2) + "\n");
    fs.rmSync(path.join(out, JOURNAL_FILE), { force: true });
    return "rolled-forward";
}

// ---------------------------------------------------------------------------------------------------
// The write

function readManifest(out: string): Manifest | undefined {
    const file = path.join(out, MANIFEST_FILE);
    if (!lstat(file)) return undefined;
    try {
        const m = JSON.parse(fs.readFileSync(file, "utf8"));
        if (m?.generator !== "crossborder" || typeof m.files !== "object" || m.files === null)
            throw new Error("not a crossborder manifest");
        for (const p of Object.keys(m.files)) checkPath(p);
        return m as Manifest;
    } catch (e) {
        throw new WriterError(
            `${file}: unreadable ownership manifest (${(e as Error).message}); without it crossborder cannot tell its files from yours. Restore it from version control, or move the directory aside and render into a fresh one`,
        );
    }
}

/** The output folder itself must be a place a tree may go. */
function checkOutput(outDir: string, force: boolean, intoRepository = false): string {
    const out = path.resolve(outDir);
    const st = fs.statSync(out, { throwIfNoEntry: false });
    if (st && !st.isDirectory())
        throw new WriterError(`${outDir}: exists and is not a directory; choose another --out`);
    const real = st ? fs.realpathSync(out) : out;
    if (force) return out;
    if (real === path.parse(real).root)
        throw new WriterError(
            `${outDir}: refusing to write a tree into the root folder; choose another --out (or pass --force)`,
        );
    const home = os.homedir();
    if (home && fs.existsSync(home) && real === fs.realpathSync(home))
        throw new WriterError(
            `${outDir}: refusing to write a tree into the home folder; choose another --out (or pass --force)`,
        );
    if (st && !intoRepository && lstat(path.join(out, ".git")) && !lstat(path.join(out, MANIFEST_FILE))) {
        throw new WriterError(
            `${outDir}: holds another repository's .git and no crossborder tree; render into a folder of its own, or pass --force to add the tree to that repository`,
        );
    }
    return out;
}

/** Where the new tree differs from what is on disk, and what would be overwritten that is not ours. */
function plan(
    out: string,
    files: ReadonlyMap<string, string | Buffer>,
    owned: ReadonlyMap<string, string>,
    outDir: string,
) {
    const conflicts: string[] = [];
    // One look at each path: the plan is taken under the folder's lock, so what is on disk holds still.
    const stats = new Map<string, fs.Stats | undefined>();
    const statOf = (p: string): fs.Stats | undefined => {
        if (!stats.has(p)) stats.set(p, lstat(path.join(out, p)));
        return stats.get(p);
    };
    const contents = new Map<string, Buffer | undefined>();
    const current = (p: string): Buffer | undefined => {
        if (contents.has(p)) return contents.get(p);
        const st = statOf(p);
        const now = !st ? undefined : st.isFile() ? fs.readFileSync(path.join(out, p)) : Buffer.from([]);
        contents.set(p, now);
        return now;
    };
    // Generated files edited by hand: kept unless the new render produces the very same bytes.
    for (const [p, hash] of owned) {
        const now = current(p);
        if (now === undefined || sha256(now) === hash) continue;
        const next = files.get(p);
        if (next !== undefined && Buffer.from(next).equals(now)) continue;
        conflicts.push(
            `${path.join(outDir, p)} was edited by hand and would be ${next === undefined ? "removed" : "overwritten"}`,
        );
    }
    const install: string[] = [];
    for (const [p, content] of files) {
        const parts = p.split("/");
        for (let i = 1; i < parts.length; i++) {
            const st = statOf(parts.slice(0, i).join("/"));
            if (!st) break;
            if (st.isSymbolicLink())
                conflicts.push(
                    `${path.join(outDir, ...parts.slice(0, i))} is a symbolic link, and ${p} must not be written through it`,
                );
            else if (!st.isDirectory())
                conflicts.push(
                    `${path.join(outDir, ...parts.slice(0, i))} is not crossborder's and is not a directory, but ${p} must go below it`,
                );
        }
        const st = statOf(p);
        if (st && !st.isFile())
            conflicts.push(
                `${path.join(outDir, p)} is ${st.isSymbolicLink() ? "a symbolic link" : "not a file"} and would be replaced`,
            );
        const now = current(p);
        if (now !== undefined && !owned.has(p) && !Buffer.from(content).equals(now))
            conflicts.push(`${path.join(outDir, p)} is not crossborder's and would be overwritten`);
        if (now === undefined || !Buffer.from(content).equals(now)) install.push(p);
    }
    // A folder of the tree replaced by a symbolic link: what the manifest owns below it is not removed through it.
    for (const p of owned.keys()) {
        const link = throughLink(out, p, statOf);
        if (link && !files.has(p))
            conflicts.push(`${path.join(outDir, link)} is a symbolic link, and ${p} must not be removed through it`);
    }
    const remove = [...owned.keys()]
        .filter((p) => !files.has(p) && !throughLink(out, p, statOf) && current(p) !== undefined)
        .sort();
    return { conflicts: [...new Set(conflicts)], install: install.sort(), remove };
}

export function writeTree(
    outDir: string,
    files: ReadonlyMap<string, string | Buffer>,
    opts: WriteOptions = {},
): WriteResult {
    for (const p of files.keys()) checkPath(p);
    const out = checkOutput(outDir, Boolean(opts.force), Boolean(opts.intoRepository));
    const existed = new Set([out, path.join(out, OWNER_DIR)].filter((d) => lstat(d)));
    fs.mkdirSync(path.join(out, OWNER_DIR), { recursive: true });
    const release = acquireLock(out, opts.lockWaitMs ?? 60_000);
    let done = false;
    try {
        recoverTree(out);
        const owned = new Map(Object.entries(readManifest(out)?.files ?? {}));
        const { conflicts, install, remove } = plan(out, files, owned, outDir);
        if (conflicts.length > 0 && !opts.force) {
            throw new WriterError(
                `nothing was written:\n${conflicts.map((c) => `  ${c}`).join("\n")}\n${opts.conflictFix ?? "move your changes to gitops/catalog.yaml (or out of the way) and render again, or pass --force to let the generated files win"}`,
            );
        }
        const manifest: Manifest = {
            generator: "crossborder",
            version: 1,
            files: Object.fromEntries([...files.keys()].sort().map((p) => [p, sha256(files.get(p)!)])),
        };
        const manifestText = JSON.stringify(manifest, null, 2) + "\n";
        if (install.length === 0 && remove.length === 0) {
            done = true;
            if (
                lstat(path.join(out, MANIFEST_FILE)) &&
                fs.readFileSync(path.join(out, MANIFEST_FILE), "utf8") === manifestText
            )
                return { written: [], removed: [], unchanged: true };
            writeAtomically(path.join(out, MANIFEST_FILE), manifestText);
            return { written: [], removed: [], unchanged: false };
        }
        applyWrite(out, files, install, remove, manifest, Boolean(opts.force));
        done = true;
        return { written: install, removed: remove, unchanged: false };
    } finally {
        release();
        // A refused first write leaves nothing behind, not even the folders it made for its records.
        if (!done)
            for (const d of [path.join(out, OWNER_DIR), out])
                if (!existed.has(d) && lstat(d) && fs.readdirSync(d).length === 0) fs.rmdirSync(d);
    }
}

/** Temporaries, commit, renames, removals, manifest: each step recorded so that a crash can be recovered. */
function applyWrite(
    out: string,
    files: ReadonlyMap<string, string | Buffer>,
    install: readonly string[],
    remove: readonly string[],
    manifest: Manifest,
    force: boolean,
): void {
    const created: string[] = [];
    for (const p of install) {
        const parts = p.split("/").slice(0, -1);
        for (let i = 1; i <= parts.length; i++) {
            const d = parts.slice(0, i).join("/");
            if (!created.includes(d) && !lstat(path.join(out, d))) created.push(d);
        }
    }
    const entries = install.map((p) => ({
        path: p,
        temp: tempPath(p),
        mode: modeOf(p),
    }));
    const journal = (state: Journal["state"]): Journal => ({
        version: 1,
        state,
        install: entries,
        remove: [...remove],
        created,
        manifest,
    });
    const journalFile = path.join(out, JOURNAL_FILE);
    writeAtomically(journalFile, JSON.stringify(journal("preparing")));
    for (const d of created) fs.mkdirSync(path.join(out, d));
    for (const x of entries) {
        const target = path.join(out, x.path);
        // A forced write over a user's non-file (a folder, a link) clears it first.
        if (force && lstat(target) && !lstat(target)!.isFile()) fs.rmSync(target, { recursive: true, force: true });
        fs.rmSync(path.join(out, x.temp), { force: true });
        fs.writeFileSync(path.join(out, x.temp), files.get(x.path)!, { mode: x.mode });
    }
    writeAtomically(journalFile, JSON.stringify(journal("committed")));
    recoverTree(out);
}
