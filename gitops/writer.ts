/**
 * Writes a generated tree into an output directory that may also hold the user's own files.
 *
 * - Ownership: `.crossborder/manifest.json` lists every file the writer generated, with its SHA-256. A
 *   re-render removes only files the previous manifest owned that the new render no longer produces;
 *   anything else in the directory is the user's and is carried over untouched.
 * - Hand edits: a generated file whose bytes no longer match the manifest was edited by hand; it is
 *   neither overwritten nor removed without `force`. A new file that would land on a user's file is
 *   refused the same way. Nothing is written when anything is refused.
 * - Paths: every generated path must stay inside the output directory.
 * - Atomicity: the new tree is staged in a sibling directory (user files hard-linked into it), completed
 *   by writing its manifest last, and swapped in with two renames. A crash or kill leaves either the old
 *   tree, or the old tree beside a complete staged one, which `recoverTree` (run first by every write)
 *   finishes; so after recovery the directory is always the complete old tree or the complete new one.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

export const OWNER_DIR = ".crossborder";
export const MANIFEST_FILE = `${OWNER_DIR}/manifest.json`;

/** A refusal the user can act on (exit 2): hand-edited files, user files in the way, unsafe paths. */
export class WriterError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "WriterError";
    }
}

export interface WriteOptions {
    /** Overwrite or remove generated files edited by hand, and user files in the way. @default false */
    readonly force?: boolean;
}

export interface WriteResult {
    readonly written: string[];
    readonly removed: string[];
    /** True when the directory already held exactly this tree: nothing was touched. */
    readonly unchanged: boolean;
}

interface Manifest {
    readonly generator: "crossborder";
    readonly version: 1;
    readonly files: Record<string, string>;
}

const SAFE_PATH = /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

function siblings(outDir: string): { staged: string; old: string } {
    const abs = path.resolve(outDir);
    const base = path.basename(abs);
    return { staged: path.join(path.dirname(abs), `.${base}.crossborder-new`), old: path.join(path.dirname(abs), `.${base}.crossborder-old`) };
}

function exists(p: string): boolean {
    try {
        fs.lstatSync(p);
        return true;
    } catch {
        return false;
    }
}

/** Refuse any generated path that could leave the output directory or touch the writer's own records. */
export function checkPath(p: string): void {
    if (!SAFE_PATH.test(p) || p.split("/").some((s) => s === "." || s === "..") || p === OWNER_DIR || p.startsWith(`${OWNER_DIR}/`)) {
        throw new WriterError(`refusing to write "${p}": generated paths must be relative, inside the output directory, and made of letters, digits, ".", "_" and "-"`);
    }
}

function readManifest(dir: string): Manifest | undefined {
    const file = path.join(dir, MANIFEST_FILE);
    if (!exists(file)) return undefined;
    try {
        const m = JSON.parse(fs.readFileSync(file, "utf8"));
        if (m?.generator !== "crossborder" || typeof m.files !== "object" || m.files === null) throw new Error("not a crossborder manifest");
        for (const p of Object.keys(m.files)) checkPath(p);
        return m as Manifest;
    } catch (e) {
        throw new WriterError(`${file}: unreadable ownership manifest (${(e as Error).message}); without it crossborder cannot tell its files from yours. Restore it from version control, or move the directory aside and render into a fresh one`);
    }
}

/**
 * Finish or undo a write that a crash interrupted. Returns what it did. Safe to call at any time; every
 * write calls it first.
 */
export function recoverTree(outDir: string): "nothing" | "rolled-forward" | "rolled-back" | "cleaned" {
    const out = path.resolve(outDir);
    const { staged, old } = siblings(out);
    const stagedComplete = exists(path.join(staged, MANIFEST_FILE));
    if (exists(out)) {
        if (!exists(staged) && !exists(old)) return "nothing";
        fs.rmSync(staged, { recursive: true, force: true });
        fs.rmSync(old, { recursive: true, force: true });
        return "cleaned";
    }
    if (stagedComplete) {
        fs.renameSync(staged, out);
        fs.rmSync(old, { recursive: true, force: true });
        return "rolled-forward";
    }
    fs.rmSync(staged, { recursive: true, force: true });
    if (exists(old)) {
        fs.renameSync(old, out);
        return "rolled-back";
    }
    return "nothing";
}

/** Relative paths of every file, directory and symlink under `dir` (directories end in "/"). */
function listEntries(dir: string, rel = ""): string[] {
    const out: string[] = [];
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const p = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) out.push(`${p}/`, ...listEntries(dir, p));
        else out.push(p);
    }
    return out;
}

export function writeTree(outDir: string, files: ReadonlyMap<string, string | Buffer>, opts: WriteOptions = {}): WriteResult {
    const out = path.resolve(outDir);
    for (const p of files.keys()) checkPath(p);
    recoverTree(out);
    if (exists(out) && !fs.statSync(out).isDirectory()) throw new WriterError(`${outDir}: exists and is not a directory; choose another --out`);

    const previous = exists(out) ? readManifest(out) : undefined;
    const owned = new Map(Object.entries(previous?.files ?? {}));
    const conflicts: string[] = [];
    const current = (p: string): Buffer | undefined => {
        try {
            const st = fs.lstatSync(path.join(out, p));
            return st.isFile() ? fs.readFileSync(path.join(out, p)) : Buffer.from([]);
        } catch {
            return undefined;
        }
    };

    // Generated files edited by hand: kept unless the new render produces the very same bytes.
    for (const [p, hash] of owned) {
        const now = current(p);
        if (now === undefined || sha256(now) === hash) continue;
        const next = files.get(p);
        if (next !== undefined && Buffer.from(next).equals(now)) continue;
        conflicts.push(`${path.join(outDir, p)} was edited by hand and would be ${next === undefined ? "removed" : "overwritten"}`);
    }
    // New files landing on the user's files, or below a user's file.
    for (const p of files.keys()) {
        if (owned.has(p)) continue;
        const parts = p.split("/");
        for (let i = 1; i < parts.length; i++) {
            const parent = parts.slice(0, i).join("/");
            if (owned.has(parent)) continue;
            try {
                const st = fs.lstatSync(path.join(out, parent));
                if (!st.isDirectory()) conflicts.push(`${path.join(outDir, parent)} is not crossborder's and is not a directory, but ${p} must go below it`);
            } catch {
                break;
            }
        }
        const now = current(p);
        if (now !== undefined && !Buffer.from(files.get(p)!).equals(now)) conflicts.push(`${path.join(outDir, p)} is not crossborder's and would be overwritten`);
    }
    if (conflicts.length > 0 && !opts.force) {
        throw new WriterError(`nothing was written:\n${[...new Set(conflicts)].map((c) => `  ${c}`).join("\n")}\nmove your changes to gitops/catalog.yaml (or out of the way) and render again, or pass --force to let the generated files win`);
    }

    const manifest: Manifest = { generator: "crossborder", version: 1, files: Object.fromEntries([...files.keys()].sort().map((p) => [p, sha256(files.get(p)!)])) };
    const manifestText = JSON.stringify(manifest, null, 2) + "\n";
    const removed = [...owned.keys()].filter((p) => !files.has(p) && current(p) !== undefined).sort();
    const written = [...files.keys()].filter((p) => !current(p)?.equals(Buffer.from(files.get(p)!))).sort();
    if (previous && written.length === 0 && removed.length === 0 && current(MANIFEST_FILE)?.toString("utf8") === manifestText) {
        return { written: [], removed: [], unchanged: true };
    }

    // Stage the complete new tree beside the old one.
    const { staged, old } = siblings(out);
    fs.rmSync(staged, { recursive: true, force: true });
    fs.mkdirSync(staged, { recursive: true });
    const made = new Set<string>([staged]);
    const ensureDir = (d: string) => {
        if (made.has(d)) return;
        ensureDir(path.dirname(d));
        fs.mkdirSync(d);
        made.add(d);
    };
    for (const p of [...files.keys()].sort()) {
        ensureDir(path.dirname(path.join(staged, p)));
        fs.writeFileSync(path.join(staged, p), files.get(p)!);
    }
    if (exists(out)) {
        for (const entry of listEntries(out)) {
            const isDir = entry.endsWith("/");
            const p = isDir ? entry.slice(0, -1) : entry;
            if (p === OWNER_DIR || p.startsWith(`${OWNER_DIR}/`) || owned.has(p) || files.has(p)) continue;
            const from = path.join(out, p);
            const to = path.join(staged, p);
            if (exists(to) && !isDir) continue; // forced: the generated file wins
            if (isDir) {
                if (!exists(to)) fs.mkdirSync(to, { recursive: true });
                continue;
            }
            fs.mkdirSync(path.dirname(to), { recursive: true });
            const st = fs.lstatSync(from);
            if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
            else {
                try {
                    fs.linkSync(from, to);
                } catch {
                    fs.copyFileSync(from, to);
                }
            }
        }
    }
    // The manifest is written last: a staged tree with a manifest is complete.
    fs.mkdirSync(path.join(staged, OWNER_DIR), { recursive: true });
    fs.writeFileSync(path.join(staged, MANIFEST_FILE), manifestText);

    // Swap: old tree aside, new tree in, old tree gone.
    if (exists(out)) {
        fs.rmSync(old, { recursive: true, force: true });
        fs.renameSync(out, old);
    } else {
        fs.mkdirSync(path.dirname(out), { recursive: true });
    }
    fs.renameSync(staged, out);
    fs.rmSync(old, { recursive: true, force: true });
    return { written, removed, unchanged: false };
}
