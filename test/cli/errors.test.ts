/**
 * Every error class the project exports either carries its exit code (core/errors.ts: 1 findings, 2 the
 * user's to fix) or is named below as one its callers always turn into something else. A new error class
 * that does neither would reach the command's top as "internal error" (exit 70): this test names it.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { CrossborderError, EXIT_FINDINGS, EXIT_USAGE, FindingsError, InputError } from "../../core/errors";
import { run } from "../../cli/main";
import { ROOT } from "../helpers";

/** Caught where they are thrown and reported as a finding or another error; never the command's end. */
const CAUGHT_BY_CALLERS: Record<string, string> = {
    KustomizeError: "render and audit report a post-renderer kustomize refuses as a finding of that release",
    ImageReferenceError: "callers try the next reading of a string (tryParseImage) or name the key in their own error",
};

const FINDINGS = new Set(["RenderFindings", "PublishRefused", "RegistryError", "BundleRefused"]);

function exportedErrorClasses(): { file: string; name: string }[] {
    const out: { file: string; name: string }[] = [];
    const walk = (dir: string): void => {
        for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
            const rel = path.join(dir, e.name);
            if (e.isDirectory()) walk(rel);
            else if (e.name.endsWith(".ts"))
                for (const m of fs
                    .readFileSync(path.join(ROOT, rel), "utf8")
                    .matchAll(/^export class (\w+) extends (\w+)/gm))
                    if (/Error$|Refused$|Findings$/.test(m[1]) && rel !== path.join("core", "errors.ts"))
                        out.push({ file: rel, name: m[1] });
        }
    };
    for (const dir of ["core", "components", "gitops", "stacks", "policies", "cli"]) walk(dir);
    return out;
}

describe("error classes and exit codes", () => {
    const classes = exportedErrorClasses();

    it("finds the project's error classes", () => {
        const names = classes.map((c) => c.name);
        for (const n of ["UsageError", "ConfigError", "HelmError", "RenderFindings", "KustomizeError"])
            assert.ok(names.includes(n), names.join(" "));
    });

    for (const { file, name } of classes) {
        const expected = name in CAUGHT_BY_CALLERS ? "caught" : FINDINGS.has(name) ? "findings" : "input";
        it(`${name} (${file}): ${expected === "caught" ? "caught by its callers" : expected === "findings" ? "exit 1" : "exit 2"}`, () => {
            const ctor = require(path.join(ROOT, file))[name] as { prototype: object };
            const actual =
                ctor.prototype instanceof FindingsError
                    ? "findings"
                    : ctor.prototype instanceof InputError
                      ? "input"
                      : ctor.prototype instanceof CrossborderError
                        ? "other"
                        : "caught";
            assert.strictEqual(actual, expected);
        });
    }

    it("prints a carrier's message and returns its code; anything else is a bug (70)", async () => {
        const { RenderFindings } = require("../../gitops/render") as typeof import("../../gitops/render");
        const { StackFileError } = require("../../stacks/stackfile") as typeof import("../../stacks/stackfile");
        const write = process.stderr.write;
        const seen: string[] = [];
        process.stderr.write = ((s: string) => (seen.push(String(s)), true)) as typeof process.stderr.write;
        let codes: number[];
        try {
            codes = [
                await runThrowing(new RenderFindings(["leak"])),
                await runThrowing(new StackFileError("stacks/Pulumi.x.yaml:3: bad")),
                await runThrowing(new TypeError("boom")),
            ];
        } finally {
            process.stderr.write = write;
        }
        assert.deepStrictEqual(codes, [EXIT_FINDINGS, EXIT_USAGE, 70]);
        assert.ok(
            seen.some((s) => s.includes("crossborder: stacks/Pulumi.x.yaml:3: bad")),
            seen.join(""),
        );
        assert.ok(
            seen.some((s) => s.includes("internal error: boom")),
            seen.join(""),
        );
    });
});

/** run() with a command whose action throws `error` (the policy-config command reads its stack through this hook). */
async function runThrowing(error: Error): Promise<number> {
    const gitopsInputs = require("../../stacks/gitops-inputs") as typeof import("../../stacks/gitops-inputs");
    const original = gitopsInputs.StackSources.prototype.config;
    gitopsInputs.StackSources.prototype.config = () => {
        throw error;
    };
    try {
        return await run(["policy-config", "--stack", "china"]);
    } finally {
        gitopsInputs.StackSources.prototype.config = original;
    }
}
