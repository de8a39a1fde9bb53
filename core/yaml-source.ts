/**
 * YAML files read with their positions, so every error about a user's file can name the file and the
 * line: stack files, mirrors.yaml, catalog.yaml, Helm values.
 */
import { InputError } from "./errors";
import * as fs from "fs";
import { Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit } from "yaml";

/**
 * A document read from a user's tree, a chart or an engine's output: any shape at all. Readers reach into
 * it with optional chaining and check every leaf before use (typeof for scalars, Array.isArray before
 * iterating), so nothing trusts its shape. It is named once, here, so the one place the type checker is
 * told "shape unknown" is visible and `no-explicit-any` stays on everywhere else.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above: the shape is checked at each read
export type Doc = Record<string, any>;

/** A user file that cannot be used: the message names the file, the line when known, and the fix. */
export class SourceError extends InputError {
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

/** Every input file crossborder reads is at most this big: config, catalogs, values, inventories. */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;

/** Expansions of YAML aliases allowed in one document (an alias bomb is refused, not expanded). */
export const MAX_ALIAS_COUNT = 100;

export function readText(file: string, what: string, maxBytes = MAX_INPUT_BYTES): string {
    try {
        const st = fs.statSync(file);
        if (st.isDirectory()) throw new SourceError(`${file}: is a folder, not the ${what}; give the file's path`);
        if (st.size > maxBytes)
            throw new SourceError(
                `${file}: ${st.size} bytes, more than the ${maxBytes} bytes crossborder reads for the ${what}; is this the right file?`,
            );
        const buf = fs.readFileSync(file);
        if (buf.includes(0))
            throw new SourceError(`${file}: holds binary data (a NUL byte), not the ${what}; give the text file`);
        return buf.toString("utf8");
    } catch (e) {
        if (e instanceof SourceError) throw e;
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

const lineAt = (lines: LineCounter, node: unknown) =>
    lines.linePos(((node as { range?: [number, number, number] }).range ?? [0])[0]).line;

/** The document as plain data; a bad alias is a SourceError at its line, never an exception. */
function toData(file: string, doc: Document, lines: LineCounter): unknown {
    let data: unknown;
    try {
        data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
        const anchors = new Set<string>();
        let unresolved: { name: string; line: number } | undefined;
        let firstAlias: number | undefined;
        visit(doc, (_key, node) => {
            if (!node) return; // a key without a value (`{a, b: 1}`) visits as null
            const anchor = (node as { anchor?: string }).anchor;
            if (anchor) anchors.add(anchor);
            if (isAlias(node)) {
                firstAlias ??= lineAt(lines, node);
                if (!anchors.has(node.source) && !unresolved)
                    unresolved = { name: node.source, line: lineAt(lines, node) };
            }
        });
        if (unresolved)
            throw new SourceError(
                `${file}:${unresolved.line}: the alias *${unresolved.name} is used before its anchor &${unresolved.name} is defined; define the anchor first`,
            );
        if (/alias/i.test((e as Error).message))
            throw new SourceError(
                `${file}:${firstAlias ?? 1}: aliases expand to more than ${MAX_ALIAS_COUNT} copies (an alias bomb?); write the values out instead`,
            );
        throw new SourceError(`${file}:1: cannot be read as YAML (${(e as Error).message.split("\n")[0]})`);
    }
    // An alias inside the node it names (`a: &a [*a]`) makes data that contains itself: refused where written.
    visit(doc, (_key, node, path) => {
        if (!isAlias(node)) return;
        if (path.some((ancestor) => (ancestor as { anchor?: string }).anchor === node.source))
            throw new SourceError(
                `${file}:${lineAt(lines, node)}: the alias *${node.source} is inside the node its anchor &${node.source} names, so the value would contain itself; write the values out instead`,
            );
    });
    return data;
}

/** Two equal keys in one mapping would silently keep the last: refused, in one pass (linear in the keys). */
function checkDuplicateKeys(file: string, doc: Document, lines: LineCounter): void {
    visit(doc, {
        Map(_key, map) {
            const seen = new Set<unknown>();
            for (const pair of map.items) {
                if (pair.key !== null && !isScalar(pair.key))
                    throw new SourceError(
                        `${file}:${lineAt(lines, pair.key)}: a mapping key is itself a mapping or a list; keys must be plain words`,
                    );
                if (!isScalar(pair.key)) continue;
                const k = pair.key.value;
                if (seen.has(k))
                    throw new SourceError(
                        `${file}:${lineAt(lines, pair.key)}: the key ${JSON.stringify(k)} appears twice in one mapping, and only the last would count; remove one of them`,
                    );
                seen.add(k);
            }
        },
    });
}

function source(file: string, doc: Document, lines: LineCounter): YamlSource {
    checkDuplicateKeys(file, doc, lines);
    return {
        file,
        data: toData(file, doc, lines),
        lineOf: (path) => locate(doc, lines, path),
        at(path) {
            const line = locate(doc, lines, path);
            return line ? `${file}:${line}` : file;
        },
        scalar(path) {
            const node = nodeAt(doc, path);
            if (!isScalar(node)) return undefined;
            const text = typeof node.source === "string" ? node.source : String(node.value);
            return {
                text,
                quoted:
                    node.type === "QUOTE_DOUBLE" ||
                    node.type === "QUOTE_SINGLE" ||
                    node.type === "BLOCK_LITERAL" ||
                    node.type === "BLOCK_FOLDED",
            };
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
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
    if (doc.errors.length > 0) throw syntaxError(file, lines, doc.errors[0]);
    return source(file, doc, lines);
}

export function readYaml(file: string, what: string): YamlSource {
    return parseYaml(readText(file, what), file);
}

/**
 * One problem of a user file, in the shape every reader reports it (stack files, the catalog,
 * mirrors.yaml): `file:line: key: problem; fix`, the position left out when none is known.
 */
export function describeProblem(at: string | undefined, key: string, problem: string, fix: string): string {
    return `${at ? `${at}: ` : ""}${key}: ${problem}; ${fix}`;
}

/**
 * Collects every problem of one YAML file, each with its line, key and fix, and throws them together: a
 * user fixes a file in one pass, not one error per run.
 */
export class SourceReader {
    readonly problems: string[] = [];

    constructor(readonly src: YamlSource) {}

    get file(): string {
        return this.src.file;
    }

    fail(p: YamlPath, problem: string, fix: string): void {
        this.problems.push(describeProblem(this.src.at(p), pathString(p) || "(top)", problem, fix));
    }

    /** Refuses keys of `obj` (at `p`) outside `keys`: "is not <what>". */
    known(p: YamlPath, obj: object, keys: readonly string[], what = "a known setting"): void {
        for (const k of Object.keys(obj))
            if (!keys.includes(k)) this.fail([...p, k], `is not ${what}`, `remove it; settings are ${keys.join(", ")}`);
    }

    finish(): void {
        if (this.problems.length > 0) throw new SourceError(this.problems.join("\n"));
    }
}

/** Render a path as `a.b[0].c`. */
export function pathString(path: YamlPath): string {
    return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}
