/**
 * Reading the tree the audit was pointed at, as it is on disk: every manifest-like file parsed once, the
 * folders that hold charts set apart (their templates are not YAML until rendered), and every file that
 * cannot be read a problem, never skipped silently.
 */
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { manifestsOf, RenderedObject } from "../objects/manifests";
import { SKIP_DIRS, SKIP_FILES } from "./copy";
import type { ParsedTexts } from "./flux";
import type { TreeView } from "./view";

const MAX_FILE = 32 * 1024 * 1024;

export interface TreeFile {
    readonly rel: string;
    readonly objects: RenderedObject[];
}

/**
 * Every manifest-like file of the tree (chart directories aside: their templates are not YAML until rendered),
 * and the documents of each file that parsed cleanly, by its exact text: the builds read the same files
 * (flux.ts ParsedTexts) and need not parse them again. Each folder's entries are told to `view`, through
 * which the builds read the tree, so they are not listed twice.
 */
export function readTree(
    root: string,
    problems: string[],
    view?: TreeView,
): { files: TreeFile[]; chartDirs: string[]; parsed: ParsedTexts } {
    const files: TreeFile[] = [];
    const chartDirs: string[] = [];
    const parsed = new Map<string, readonly unknown[]>();
    const walk = (rel: string) => {
        const abs = path.join(root, rel);
        let entries: fs.Dirent[];
        try {
            entries = fs.readdirSync(abs, { withFileTypes: true });
        } catch (e) {
            problems.push(`${rel || "."}: cannot read the directory (${(e as NodeJS.ErrnoException).code ?? e})`);
            return;
        }
        view?.learn(abs, entries);
        if (rel && entries.some((e) => e.name === "Chart.yaml" && e.isFile())) {
            chartDirs.push(rel);
            return;
        }
        for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
            const p = rel ? `${rel}/${e.name}` : e.name;
            if (e.isSymbolicLink()) {
                problems.push(
                    `${p}: a symbolic link; the audit does not follow links out of the tree, so move the file itself into it`,
                );
            } else if (e.isDirectory()) {
                if (!SKIP_DIRS.has(e.name)) walk(p);
            } else if (e.isFile() && /\.(ya?ml|json)$/i.test(e.name) && !SKIP_FILES.has(e.name)) {
                const bytes = readBounded(path.join(root, p));
                if (typeof bytes === "string") {
                    problems.push(`${p}: ${bytes}`);
                    continue;
                }
                view?.remember(path.join(root, p), bytes);
                files.push({ rel: p, objects: parseFile(bytes.toString("utf8"), p, problems, parsed) });
            }
        }
    };
    walk("");
    return { files, chartDirs, parsed };
}

/**
 * A file's bytes, or why they are not read: larger than the audit reads, not a file (any more), or unreadable.
 * One open and a look at what it opened (never a pipe's wait for a writer: opened without blocking).
 */
function readBounded(abs: string): Buffer | string {
    let fd: number;
    try {
        fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
        return `cannot read the file (${(e as NodeJS.ErrnoException).code ?? e}); what it holds cannot be judged`;
    }
    try {
        const st = fs.fstatSync(fd);
        if (!st.isFile()) return "not a regular file any more; what it holds cannot be judged";
        if (st.size > MAX_FILE) return `${st.size} bytes, more than the ${MAX_FILE} the audit reads`;
        return fs.readFileSync(fd);
    } catch (e) {
        return `cannot read the file (${(e as NodeJS.ErrnoException).code ?? e}); what it holds cannot be judged`;
    } finally {
        fs.closeSync(fd);
    }
}

function parseFile(
    text: string,
    rel: string,
    problems: string[],
    parsed: Map<string, readonly unknown[]>,
): RenderedObject[] {
    try {
        // Parsed once, strictly (a duplicate key is an error here, as in any reader of the file).
        const docs = parseAllDocuments(text, { logLevel: "error" });
        for (const doc of docs) if (doc.errors.length) throw new Error(doc.errors[0].message.split("\n")[0]);
        const data: unknown[] = [];
        const objects = manifestsOf(text, docs, rel, data);
        parsed.set(text, data);
        return objects;
    } catch (e) {
        problems.push(
            `${rel}: cannot be parsed (${(e as Error).message.split("\n")[0]}); what it holds cannot be judged`,
        );
        return [];
    }
}
