/**
 * The folders show the pipeline and the arrows run one way, read from the sources' import lines (type-only
 * imports count: they tie files together for a reader as much as any other):
 *
 *   core/          what both deliveries agree on; imports nothing of the project
 *   components/    Pulumi components            -> core
 *   gitops/        the generator and the audit  -> core
 *   stacks/        composes both; hands the generator its inputs as data
 *   policies/      the policy pack              -> the above
 *   cli/           the command                  -> everything
 *
 * No exceptions, and no circle of files anywhere.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { ROOT } from "./helpers";

const ALLOWED: Record<string, readonly string[]> = {
    core: [],
    components: ["core"],
    gitops: ["core"],
    stacks: ["core", "components", "gitops"],
    policies: ["core", "components", "gitops", "stacks"],
    cli: ["core", "components", "gitops", "stacks", "policies"],
};

function sources(dir: string): string[] {
    const out: string[] = [];
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const rel = path.join(dir, e.name);
        if (e.isDirectory()) out.push(...sources(rel));
        else if (e.name.endsWith(".ts")) out.push(rel);
    }
    return out;
}

/** The relative imports of one file's text, resolved against the repository root (no extension). */
function importTargets(file: string, text: string): { target: string; line: string }[] {
    const found: { target: string; line: string }[] = [];
    for (const m of text.matchAll(/(?:from\s+|require\(|import\()\s*["'](\.[^"']+)["']/g)) {
        const target = path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), m[1]));
        found.push({ target, line: m[0] });
    }
    return found;
}

/** Imports of `file` (given as `text`) that its folder may not make. */
function climbing(file: string, text: string): string[] {
    const folder = file.split(path.sep)[0];
    return importTargets(file, text)
        .filter((i) => {
            const parts = i.target.split(path.sep);
            // A file at the root (package.json) is no folder's: only folders are layers.
            if (parts.length === 1) return false;
            const to = parts[0];
            return to !== folder && !(ALLOWED[folder] ?? []).includes(to);
        })
        .map((i) => `${file}: ${i.line}`);
}

/** The source file an import names: `x.ts` or `x/index.ts`. */
function resolveFile(target: string, files: ReadonlySet<string>): string | undefined {
    return [`${target}.ts`, path.join(target, "index.ts"), target].find((c) => files.has(c));
}

/** Circles of files (strongly connected components of more than one file, or a file importing itself). */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
    let next = 0;
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const found: string[][] = [];
    const visit = (v: string): void => {
        index.set(v, next);
        low.set(v, next++);
        stack.push(v);
        onStack.add(v);
        for (const w of graph.get(v) ?? []) {
            if (!index.has(w)) {
                visit(w);
                low.set(v, Math.min(low.get(v)!, low.get(w)!));
            } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
        }
        if (low.get(v) === index.get(v)) {
            const scc: string[] = [];
            let w: string;
            do {
                w = stack.pop()!;
                onStack.delete(w);
                scc.push(w);
            } while (w !== v);
            if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
        }
    };
    for (const v of graph.keys()) if (!index.has(v)) visit(v);
    return found;
}

function importGraph(texts: ReadonlyMap<string, string>): Map<string, string[]> {
    const files = new Set(texts.keys());
    return new Map(
        [...texts].map(([f, text]) => [
            f,
            importTargets(f, text)
                .map((i) => resolveFile(i.target, files))
                .filter((t): t is string => t !== undefined),
        ]),
    );
}

/** Functions, methods, constructors and function expressions of more than `max` lines, as `file:line name (n lines)`. */
function longFunctions(texts: ReadonlyMap<string, string>, max: number): string[] {
    const found: string[] = [];
    for (const [file, text] of texts) {
        const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
        const visit = (node: ts.Node): void => {
            if (ts.isFunctionLike(node) && "body" in node && node.body) {
                const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
                const lines = sf.getLineAndCharacterOfPosition(node.end).line - start + 1;
                const named = node as ts.FunctionLikeDeclaration;
                const parent = node.parent;
                const name =
                    named.name?.getText(sf) ??
                    (ts.isConstructorDeclaration(node)
                        ? "constructor"
                        : parent && ts.isVariableDeclaration(parent)
                          ? parent.name.getText(sf)
                          : "(anonymous)");
                if (lines > max) found.push(`${file}:${start + 1} ${name} (${lines} lines)`);
            }
            ts.forEachChild(node, visit);
        };
        visit(sf);
    }
    return found;
}

const FOLDERS = Object.keys(ALLOWED);
const TEXTS = new Map(
    FOLDERS.flatMap(sources).map((f) => [f, fs.readFileSync(path.join(ROOT, f), "utf8")] as [string, string]),
);

describe("structure", () => {
    for (const [folder, allowed] of Object.entries(ALLOWED)) {
        it(`${folder}/ imports ${allowed.length > 0 ? `only from ${allowed.join(", ")}` : "nothing of the project"}`, () => {
            const offenders = [...TEXTS]
                .filter(([f]) => f.startsWith(folder + path.sep))
                .flatMap(([f, t]) => climbing(f, t));
            assert.deepStrictEqual(offenders, []);
        });
    }

    it("has no circle of imports between files", () => {
        assert.deepStrictEqual(circles(importGraph(TEXTS)), []);
    });

    it("knows every top-level source folder (a new one must take its place in the table)", () => {
        const top = fs
            .readdirSync(ROOT, { withFileTypes: true })
            .filter(
                (e) =>
                    e.isDirectory() &&
                    !e.name.startsWith(".") &&
                    !["node_modules", "out", "test", "bench", "bin"].includes(e.name),
            )
            .filter((e) => sources(e.name).length > 0)
            .map((e) => e.name);
        assert.deepStrictEqual(top.sort(), [...FOLDERS].sort());
    });

    it("has no function longer than 100 lines (split it into named steps)", () => {
        assert.deepStrictEqual(longFunctions(TEXTS, 100), []);
        // The check sees functions, methods and arrows: a 101-line probe of each is caught.
        const body = "\n".repeat(100);
        const probe = new Map([
            ["core/p.ts", `function f() {${body}}\nclass C { m() {${body}} }\nconst a = () => {${body}};`],
        ]);
        assert.deepStrictEqual(
            longFunctions(probe, 100).map((l) => l.replace(/ \(\d+ lines\)/, "")),
            ["core/p.ts:1 f", "core/p.ts:102 m", "core/p.ts:203 a"],
        );
    });

    it("would catch a climbing import, a type-only one and a circle", () => {
        assert.deepStrictEqual(climbing(path.join("core", "x.ts"), 'import { a } from "../gitops/catalog";'), [
            `${path.join("core", "x.ts")}: from "../gitops/catalog"`,
        ]);
        assert.strictEqual(
            climbing(path.join("gitops", "x.ts"), 'import type { S } from "../stacks/config";').length,
            1,
        );
        assert.strictEqual(
            climbing(path.join("components", "x.ts"), 'const m = require("../gitops/mirrors");').length,
            1,
        );
        assert.deepStrictEqual(climbing(path.join("stacks", "x.ts"), 'import { a } from "../gitops/catalog";'), []);
        const probe = new Map([
            [path.join("stacks", "a.ts"), 'import type { B } from "./b";'],
            [path.join("stacks", "b.ts"), 'import { a } from "./a";'],
            [path.join("stacks", "c.ts"), 'import { a } from "./a";'],
        ]);
        assert.deepStrictEqual(circles(importGraph(probe)), [
            [path.join("stacks", "a.ts"), path.join("stacks", "b.ts")],
        ]);
        assert.ok(importTargets("stacks/china.ts", TEXTS.get(path.join("stacks", "china.ts"))!).length > 3);
    });
});
