/**
 * An ExternalArtifact that an ArtifactGenerator (source.extensions.fluxcd.io/v1beta1, Flux's source-watcher)
 * assembles from the tree's own source, staged as source-watcher stages it, so a Kustomization that reconciles
 * it is built from the very files the controller would put in the artifact.
 *
 * The copy semantics follow source-watcher's internal/builder/builder.go (fluxcd/source-watcher 825fa15):
 *   - `from: "@alias/<path>"` without glob characters: a file goes to `to` (into it when `to` ends with `/`
 *     or is a directory already staged), a directory goes to `to/<its name>/` with everything below it;
 *   - with glob characters the pattern is matched with Go's fs.Glob (`*`, `?`, `[...]` within one path segment;
 *     `**` is no recursive wildcard there), and each match (file or directory, copied whole) goes to
 *     `to/<match>`, or to `to/<match without the prefix>` when the pattern ends with `/**`;
 *   - `exclude` patterns are doublestar patterns, matched against the path from the source root and from the
 *     pattern's literal prefix; one without a `/` also against the file name;
 *   - operations run in order, a later file overwrites an earlier one.
 * The `Merge` strategy (YAML merge into an existing file) and `Extract` (tarballs) are not staged: a
 * generator that uses them is named as not followed, never guessed at.
 */
import * as fs from "fs";
import * as path from "path";
import { minimatch } from "minimatch";
import type { Doc } from "../objects/manifests";

export const ARTIFACT_GENERATOR_API = "source.extensions.fluxcd.io/";

export interface StagedArtifact {
    /** Staged path (relative to the artifact root) → the path of the tree file it is a copy of. */
    readonly files: ReadonlyMap<string, string>;
}

const GLOB = /[*?[\]]/;

/** Go's path.Match for one segment: `*` any run of characters, `?` one, `[...]` a class (`^` negates). */
function segmentMatcher(pattern: string): RegExp {
    let re = "";
    for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === "*") re += "[^/]*";
        else if (c === "?") re += "[^/]";
        else if (c === "[") {
            const end = pattern.indexOf("]", i + 1);
            if (end < 0) throw new Error(`"${pattern}": an unclosed [`);
            let body = pattern.slice(i + 1, end);
            if (body.startsWith("^")) body = `^${body.slice(1)}`;
            re += `[${body.replace(/\\/g, "\\\\")}]`;
            i = end;
        } else if (c === "\\" && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
        else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
    }
    return new RegExp(`^${re}$`);
}

/** Go's fs.Glob over `root`: every path whose segments match the pattern's segments one to one. */
function goGlob(root: string, pattern: string): string[] {
    const segments = pattern.split("/").filter((s) => s !== "");
    let current = [""];
    for (const seg of segments) {
        const next: string[] = [];
        for (const base of current) {
            const dir = path.join(root, base);
            if (!GLOB.test(seg)) {
                const p = base ? `${base}/${seg}` : seg;
                if (fs.existsSync(path.join(root, p))) next.push(p);
                continue;
            }
            if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) continue;
            const m = segmentMatcher(seg);
            for (const e of fs.readdirSync(dir).sort()) if (m.test(e)) next.push(base ? `${base}/${e}` : e);
        }
        current = next;
    }
    return current.filter((p) => p !== "");
}

function excluded(file: string, base: string, patterns: readonly string[]): boolean {
    const test = (p: string) =>
        patterns.some(
            (x) =>
                minimatch(p, x, { dot: true }) ||
                (!x.includes("/") && minimatch(path.posix.basename(p), x, { dot: true })),
        );
    if (test(file)) return true;
    const rel = base === "." ? file : path.posix.relative(base, file);
    return rel !== "" && rel !== file && !rel.startsWith("..") && test(rel);
}

/** Every file below `dir` of the source (relative paths from the source root), in a stable order. */
function filesBelow(root: string, dir: string): string[] {
    const out: string[] = [];
    const walk = (rel: string) => {
        for (const e of fs
            .readdirSync(path.join(root, rel), { withFileTypes: true })
            .sort((a, b) => (a.name < b.name ? -1 : 1))) {
            const p = `${rel}/${e.name}`;
            if (e.isDirectory()) walk(p);
            else if (e.isFile()) out.push(p);
        }
    };
    walk(dir);
    return out;
}

/**
 * Stage one artifact of a generator whose every source alias is the tree (`aliases`): returns the staged
 * files, or why it cannot be staged. `tree` is the source's root on disk.
 */
export function stageArtifact(
    tree: string,
    artifact: Doc,
    aliases: ReadonlySet<string>,
): { staged: StagedArtifact } | { problem: string } {
    const files = new Map<string, string>();
    const dirs = new Set<string>();
    const put = (dest: string, src: string) => {
        const d = path.posix.normalize(dest).replace(/^\/+/, "");
        if (d.split("/").includes("..")) throw new Error(`the destination ${dest} leaves the artifact`);
        files.set(d, src);
        for (let p = path.posix.dirname(d); p !== "." && p !== ""; p = path.posix.dirname(p)) dirs.add(p);
    };
    const copyDir = (src: string, dest: string, base: string, exclude: readonly string[]) => {
        for (const f of filesBelow(tree, src)) {
            if (excluded(f, base, exclude)) continue;
            put(`${dest}/${path.posix.relative(src, f)}`, f);
        }
    };
    const ops: Doc[] = Array.isArray(artifact?.copy) ? artifact.copy : [];
    try {
        for (const op of ops) {
            const from = String(op?.from ?? "");
            const to = String(op?.to ?? "");
            const strategy = op?.strategy ?? "Overwrite";
            if (strategy !== "Overwrite")
                return { problem: `copy from ${from} uses the ${strategy} strategy, which the audit does not stage` };
            const m = /^@([^/]+)\/(.*)$/.exec(from);
            if (!m) return { problem: `copy from "${from}" is not @alias/path` };
            if (!aliases.has(m[1]))
                return { problem: `copy from ${from}: the source alias ${m[1]} is not this tree's own source` };
            if (!to.startsWith("@artifact/")) return { problem: `copy to "${to}" does not start with @artifact/` };
            const dest = to.slice("@artifact/".length);
            const pattern = m[2];
            const exclude: string[] = Array.isArray(op?.exclude) ? op.exclude.map(String) : [];
            if (pattern.split("/").includes("..")) return { problem: `copy from ${from} leaves the source` };
            if (!GLOB.test(pattern)) {
                const src = path.posix.normalize(pattern).replace(/\/+$/, "");
                const abs = path.join(tree, src);
                if (!fs.existsSync(abs)) return { problem: `copy from ${from}: ${src} is not in the tree` };
                if (fs.statSync(abs).isDirectory())
                    copyDir(src, path.posix.join(dest, path.posix.basename(src)), src, exclude);
                else if (!excluded(src, ".", exclude))
                    put(
                        to.endsWith("/") || dirs.has(path.posix.normalize(dest))
                            ? `${dest}/${path.posix.basename(src)}`
                            : dest,
                        src,
                    );
                continue;
            }
            const base =
                pattern
                    .split("/")
                    .filter((s) => s && s !== ".")
                    .reduce<{ parts: string[]; done: boolean }>(
                        (acc, s) =>
                            acc.done || GLOB.test(s) ? { ...acc, done: true } : { ...acc, parts: [...acc.parts, s] },
                        { parts: [], done: false },
                    )
                    .parts.join("/") || ".";
            const matches = goGlob(tree, pattern).filter((x) => !excluded(x, base, exclude));
            if (matches.length === 0) return { problem: `copy from ${from}: no file of the tree matches` };
            const prefix = pattern.endsWith("/**") ? pattern.slice(0, -3) : undefined;
            for (const match of matches) {
                const rel =
                    prefix !== undefined && match.startsWith(`${prefix}/`) ? match.slice(prefix.length + 1) : match;
                const target = path.posix.join(dest || ".", rel);
                if (fs.statSync(path.join(tree, match)).isDirectory()) copyDir(match, target, base, exclude);
                else put(target, match);
            }
        }
    } catch (e) {
        return { problem: (e as Error).message };
    }
    return { staged: { files } };
}

/** Write a staged artifact's files into `dir` (a fresh folder). */
export function writeStaged(tree: string, staged: StagedArtifact, dir: string): void {
    for (const [dest, src] of staged.files) {
        fs.mkdirSync(path.dirname(path.join(dir, dest)), { recursive: true });
        fs.copyFileSync(path.join(tree, src), path.join(dir, dest));
    }
}
