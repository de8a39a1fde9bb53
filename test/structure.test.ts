/**
 * The folders show the pipeline and the arrows run one way: components never import the stack wiring
 * above them (or the CLI), and nothing below the CLI imports it. Read from the sources' import lines.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./helpers";

function sources(dir: string): string[] {
    const out: string[] = [];
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const rel = path.join(dir, e.name);
        if (e.isDirectory()) out.push(...sources(rel));
        else if (e.name.endsWith(".ts")) out.push(rel);
    }
    return out;
}

/** Top-level folders a file imports from (relative imports resolved against the repository root). */
function importedFolders(file: string): { folder: string; line: string }[] {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    const found: { folder: string; line: string }[] = [];
    for (const m of text.matchAll(/(?:from\s+|require\(|import\()\s*["'](\.[^"']+)["']/g)) {
        const target = path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), m[1]));
        found.push({ folder: target.split(path.sep)[0], line: m[0] });
    }
    return found;
}

const FORBIDDEN: Record<string, string[]> = {
    components: ["stacks", "cli", "policies"],
    gitops: ["cli", "policies"],
    stacks: ["cli", "policies"],
    policies: ["cli"],
};

describe("structure", () => {
    for (const [folder, forbidden] of Object.entries(FORBIDDEN)) {
        it(`${folder}/ imports nothing from ${forbidden.join(", ")}`, () => {
            const offenders = sources(folder).flatMap((f) =>
                importedFolders(f)
                    .filter((i) => forbidden.includes(i.folder))
                    .map((i) => `${f}: ${i.line}`),
            );
            assert.deepStrictEqual(offenders, []);
        });
    }

    it("sees the imports it judges (a file importing upward would be caught)", () => {
        const probe = importedFolders("stacks/program.ts").map((i) => i.folder);
        assert.ok(
            probe.includes("stacks") && probe.includes("components") === false && probe.length > 3,
            probe.join(" "),
        );
        assert.ok(importedFolders("stacks/china.ts").some((i) => i.folder === "components"));
    });
});
