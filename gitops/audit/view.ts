/**
 * Where a build reads the tree, and where kustomize runs on it. The audit reads the tree in place, as
 * source-controller's artifact holds it (TreeView: what copyTree leaves out is not there), and makes the private
 * copy kustomize runs in only when a build has to run (none does when every build is kept in the render cache).
 */
import * as fs from "fs";
import * as path from "path";
import { SKIP_DIRS, SKIP_FILES } from "./copy";

/** The reads a build makes before it runs: on a copy as it is, or on a tree as its artifact would be. */
export interface FileView {
    /** "file", "dir", or undefined when there is no such file or folder (or the artifact leaves it out). */
    kind(abs: string): "file" | "dir" | undefined;
    /** The folder's entries, sorted by name. */
    entries(abs: string): readonly { readonly name: string; readonly dir: boolean }[];
    /** A file's bytes. */
    read(abs: string): Buffer;
    /** A file's size in bytes. */
    size(abs: string): number;
}

/** A folder as it is on disk: a private copy, or a folder written for the build (a staged artifact). */
export const DISK: FileView = {
    kind(abs) {
        const st = fs.statSync(abs, { throwIfNoEntry: false });
        return st?.isFile() ? "file" : st?.isDirectory() ? "dir" : undefined;
    },
    entries(abs) {
        return fs
            .readdirSync(abs, { withFileTypes: true })
            .map((e) => ({ name: e.name, dir: e.isDirectory() }))
            .sort((a, b) => (a.name < b.name ? -1 : 1));
    },
    read: (abs) => fs.readFileSync(abs),
    size: (abs) => fs.statSync(abs).size,
};

/**
 * A tree as copyTree copies it, read in place: a symbolic link anywhere on a path, a name Flux leaves out of its
 * artifacts (copy.ts SKIP_DIRS, SKIP_FILES) and anything but a regular file or folder are not there, so a build
 * reads here exactly what it would read in the copy. Answers are kept: the tree is read once per audit.
 */
export class TreeView implements FileView {
    private readonly kinds = new Map<string, "file" | "dir" | undefined>();
    private readonly listed = new Map<string, readonly { readonly name: string; readonly dir: boolean }[]>();
    private readonly bytes = new Map<string, Buffer>();
    constructor(readonly root: string) {}

    /** A file's bytes as the tree read read them: a build that reads the file uses these, not a second read. */
    remember(abs: string, bytes: Buffer): void {
        this.bytes.set(path.resolve(abs), bytes);
    }

    read(abs: string): Buffer {
        const p = path.resolve(abs);
        if (this.kind(p) !== "file") throw Object.assign(new Error(`ENOENT: no such file, ${abs}`), { code: "ENOENT" });
        return this.bytes.get(p) ?? fs.readFileSync(p);
    }

    size(abs: string): number {
        const p = path.resolve(abs);
        return this.bytes.get(p)?.length ?? fs.statSync(p).size;
    }

    /** A folder's entries as a walk of the tree read them (readdir with file types): kept, not read again. */
    learn(abs: string, dirents: readonly fs.Dirent[]): void {
        const dir = path.resolve(abs);
        if (this.listed.has(dir)) return;
        const out: { name: string; dir: boolean }[] = [];
        for (const e of dirents) {
            const kind = artifactKind(e.name, e);
            this.kinds.set(path.join(dir, e.name), kind);
            if (kind) out.push({ name: e.name, dir: kind === "dir" });
        }
        this.listed.set(
            dir,
            out.sort((a, b) => (a.name < b.name ? -1 : 1)),
        );
    }

    kind(abs: string): "file" | "dir" | undefined {
        const p = path.resolve(abs);
        if (p === this.root) return "dir";
        if (!p.startsWith(this.root + path.sep)) return undefined;
        if (this.kinds.has(p)) return this.kinds.get(p);
        const parent = path.dirname(p);
        // Not among the entries of a folder listed before: not there.
        const kind =
            this.kind(parent) === "dir" && !this.listed.has(parent)
                ? artifactKind(path.basename(p), fs.lstatSync(p, { throwIfNoEntry: false }))
                : undefined;
        this.kinds.set(p, kind);
        return kind;
    }

    entries(abs: string): readonly { readonly name: string; readonly dir: boolean }[] {
        const dir = path.resolve(abs);
        if (this.kind(dir) !== "dir")
            throw Object.assign(new Error(`ENOENT: no such directory, ${abs}`), { code: "ENOENT" });
        if (!this.listed.has(dir)) this.learn(dir, fs.readdirSync(dir, { withFileTypes: true }));
        return this.listed.get(dir)!;
    }
}

/** What an entry is in the artifact: a file, a folder, or nothing (a link, a name Flux leaves out, a pipe…). */
function artifactKind(
    name: string,
    type: { isFile(): boolean; isDirectory(): boolean } | undefined,
): "file" | "dir" | undefined {
    if (!type || SKIP_DIRS.has(name) || SKIP_FILES.has(name)) return undefined;
    return type.isFile() ? "file" : type.isDirectory() ? "dir" : undefined;
}

/**
 * Whether a folder of the tree holds only what its artifact keeps (no link, nothing Flux leaves out, nothing but
 * files and folders), all the way down: then reading it in place reads what the copy would hold.
 */
export function holdsAsIs(root: string, rel: string): boolean {
    const walk = (dir: string): boolean =>
        fs
            .readdirSync(dir, { withFileTypes: true })
            .every(
                (e) =>
                    !SKIP_DIRS.has(e.name) &&
                    !SKIP_FILES.has(e.name) &&
                    (e.isFile() || (e.isDirectory() && walk(path.join(dir, e.name)))),
            );
    return walk(path.join(root, rel));
}

/**
 * What a build reads (`root`, through `view`) and the folder kustomize runs in (`buildRoot`, the same tree's
 * layout: a path relative to `root` is the same file there).
 */
export interface Workspace {
    readonly root: string;
    readonly view: FileView;
    buildRoot(): Promise<string>;
}

/** A folder that is built where it is (a private copy, or a folder written for the build). */
export function workspaceAt(dir: string): Workspace {
    const root = path.resolve(dir);
    return { root, view: DISK, buildRoot: () => Promise.resolve(root) };
}
