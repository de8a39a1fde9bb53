/**
 * YAML files read with their positions, so every error about a user's file can name the file and the
 * line: stack files, mirrors.yaml, catalog.yaml, Helm values.
 */
import * as fs from "fs";
import { Document, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, parseDocument } from "yaml";

/** A user file that cannot be used: the message names the file, the line when known, and the fix. */
export class SourceError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "SourceError";
    }
}

export type YamlPath = readonly (string | number)[];

export interface YamlSource {
    readonly file: string;
    /** The document as plain data. */
    readonly data: unknown;
    /** The 1-based line of the deepest key of `path` that exists in the file. */
    lineOf(path: YamlPath): number | undefined;
    /** `file:line` for `path` (just `file` when no line is known). */
    at(path: YamlPath): string;
    /** The scalar at `path` as written in the file, and whether it was quoted. */
    scalar(path: YamlPath): { readonly text: string; readonly quoted: boolean } | undefined;
}

export function readText(file: string, what: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new SourceError(`${file}: cannot read the ${what} (${code ?? String(e)}); check the path`);
    }
}

function nodeAt(doc: Document, path: YamlPath): unknown {
    let node: unknown = doc.contents;
    for (const segment of path) {
        if (isMap(node)) node = node.items.find((p) => isScalar(p.key) && p.key.value === segment)?.value;
        else if (isSeq(node) && typeof segment === "number") node = node.items[segment];
        else return undefined;
    }
    return node;
}

function locate(doc: Document, lines: LineCounter, path: YamlPath): number | undefined {
    let node: unknown = doc.contents;
    let line: number | undefined;
    for (const segment of path) {
        if (isMap(node)) {
            const pair = node.items.find((p) => isScalar(p.key) && p.key.value === segment);
            const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
            if (!pair || !range) break;
            line = lines.linePos(range[0]).line;
            node = pair.value;
        } else if (isSeq(node) && typeof segment === "number" && node.items[segment]) {
            const item = node.items[segment] as { range?: [number, number, number] };
            if (item.range) line = lines.linePos(item.range[0]).line;
            node = item;
        } else {
            break;
        }
    }
    return line;
}

function source(file: string, doc: Document, lines: LineCounter): YamlSource {
    return {
        file,
        data: doc.toJS({ maxAliasCount: 1000 }),
        lineOf: (path) => locate(doc, lines, path),
        at(path) {
            const line = locate(doc, lines, path);
            return line ? `${file}:${line}` : file;
        },
        scalar(path) {
            const node = nodeAt(doc, path);
            if (!isScalar(node)) return undefined;
            const text = typeof node.source === "string" ? node.source : String(node.value);
            return { text, quoted: node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE" || node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED" };
        },
    };
}

function syntaxError(file: string, lines: LineCounter, err: { pos: [number, number]; message: string }): SourceError {
    const line = lines.linePos(err.pos[0]).line;
    return new SourceError(`${file}:${line}: invalid YAML: ${err.message.split("\n")[0]}; fix the syntax at that line`);
}

/** Parse one YAML document; syntax errors and duplicate keys become SourceErrors with file and line. */
export function parseYaml(text: string, file: string): YamlSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) throw syntaxError(file, lines, doc.errors[0]);
    return source(file, doc, lines);
}

/** Parse every document of a multi-document YAML stream (Kubernetes manifests). */
export function parseYamlStream(text: string, file: string): YamlSource[] {
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    for (const d of docs) if (d.errors.length > 0) throw syntaxError(file, lines, d.errors[0]);
    return docs.map((d) => source(file, d, lines));
}

export function readYaml(file: string, what: string): YamlSource {
    return parseYaml(readText(file, what), file);
}

/** Render a path as `a.b[0].c`. */
export function pathString(path: YamlPath): string {
    return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}
