import * as assert from "assert";
import * as fs from "fs";
import fc from "fast-check";
import {
    familiarName,
    familiarString,
    format,
    nameOf,
    parse,
    parseAnyReference,
    parseDockerRef,
    parseNamed,
    parseNormalizedNamed,
    Reference,
    ImageReferenceError,
    withName,
} from "../../core/reference";
import { corpusFile, requireCorpus } from "../corpus";

interface Vector {
    input: string;
    parser: string;
    valid: boolean;
    error: string | null;
    name: string | null;
    domain: string | null;
    path: string | null;
    tag: string | null;
    digest: string | null;
    normalized: string | null;
    familiar_name: string | null;
    familiar_string: string | null;
    checks: string[];
    source: { test: string; index: number };
}

const PARSERS: Record<string, (s: string) => Reference | { digestOnly: string }> = {
    Parse: parse,
    "Field.UnmarshalText (Parse)": parse,
    WithName: withName,
    ParseNamed: parseNamed,
    ParseNormalizedNamed: parseNormalizedNamed,
    ParseAnyReference: parseAnyReference,
    ParseDockerRef: parseDockerRef,
};

describe("image references", () => {
    describe("distribution/reference test vectors", function () {
        let vectors: Vector[] = [];
        before(function () {
            requireCorpus(this);
            vectors = JSON.parse(fs.readFileSync(corpusFile("reference-vectors.json"), "utf8"));
        });

        it("implements every parser the vectors name and passes every case", function () {
            assert.ok(vectors.length >= 200, `expected the full table, got ${vectors.length}`);
            const failures: string[] = [];
            let checked = 0;
            for (const v of vectors) {
                const fn = PARSERS[v.parser];
                assert.ok(fn, `no implementation for parser ${v.parser}`);
                const where = `${v.source.test}[${v.source.index}] ${v.parser}(${JSON.stringify(v.input.length > 80 ? v.input.slice(0, 80) + "…" : v.input)})`;
                let result: Reference | { digestOnly: string } | undefined;
                let error: unknown;
                try {
                    result = fn(v.input);
                } catch (e) {
                    error = e;
                    if (!(e instanceof ImageReferenceError)) throw e;
                }
                checked++;
                if (!v.valid) {
                    if (!error) failures.push(`${where}: accepted, expected ${v.error ?? "an error"}`);
                    else if (v.error && (error as ImageReferenceError).code !== v.error)
                        failures.push(`${where}: ${(error as ImageReferenceError).code}, expected ${v.error}`);
                    continue;
                }
                if (error) {
                    failures.push(`${where}: rejected with ${(error as ImageReferenceError).code}`);
                    continue;
                }
                const fail = (what: string, got: unknown, want: unknown) => {
                    if (got !== want)
                        failures.push(`${where}: ${what} ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
                };
                if ("digestOnly" in result!) {
                    if (v.checks.includes("normalized")) fail("digest", result.digestOnly, v.normalized);
                    if (v.checks.includes("digest_only") && !v.normalized?.startsWith("sha256:"))
                        failures.push(`${where}: digest-only result for a named vector`);
                    continue;
                }
                const ref = result as Reference;
                if (v.checks.includes("digest_only")) failures.push(`${where}: expected a digest-only reference`);
                if (v.checks.includes("string_roundtrip") || v.checks.includes("json_roundtrip"))
                    fail("String()", format(ref), v.input);
                if (v.checks.includes("name")) fail("name", nameOf(ref), v.name);
                if (v.checks.includes("domain")) fail("domain", ref.domain, v.domain);
                if (v.checks.includes("path") && v.path !== null) fail("path", ref.path, v.path);
                if (v.checks.includes("tag")) fail("tag", ref.tag ?? null, v.tag);
                if (v.checks.includes("digest")) fail("digest", ref.digest ?? null, v.digest);
                if (v.checks.includes("normalized")) fail("normalized", format(ref), v.normalized);
                if (v.checks.includes("familiar_name")) fail("familiar name", familiarName(ref), v.familiar_name);
                if (v.checks.includes("familiar_string"))
                    fail("familiar string", familiarString(ref), v.familiar_string);
                if (v.checks.includes("is_named_tagged") && ref.tag === undefined)
                    failures.push(`${where}: expected a tagged reference`);
                if (v.checks.includes("is_canonical") && ref.digest === undefined)
                    failures.push(`${where}: expected a digested reference`);
                if (v.checks.includes("equal_reference") && v.normalized)
                    fail("equal reference", format(parse(v.normalized)), format(ref));
            }
            assert.strictEqual(checked, vectors.length);
            assert.deepStrictEqual(failures, []);
        });
    });

    describe("properties", () => {
        const component = fc
            .stringMatching(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/)
            .filter((s) => s.length > 0 && s.length < 30);
        const domain = fc.oneof(
            fc.constantFrom(
                "docker.io",
                "quay.io",
                "ghcr.io",
                "registry.k8s.io",
                "localhost:5000",
                "example.com:8443",
                "public.ecr.aws",
                "[::1]:5000",
            ),
            fc.stringMatching(/^[a-z0-9]+(\.[a-z0-9]+)+$/).filter((s) => s.length < 40),
        );
        const reference = fc
            .record({
                domain,
                path: fc.array(component, { minLength: 1, maxLength: 4 }).map((c) => c.join("/")),
                tag: fc.option(fc.stringMatching(/^[\w][\w.-]{0,20}$/), { nil: undefined }),
                digest: fc.option(
                    fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`),
                    { nil: undefined },
                ),
            })
            .map((r) => ({
                domain: r.domain,
                path: r.domain === "docker.io" && !r.path.includes("/") ? `library/${r.path}` : r.path,
                ...(r.tag ? { tag: r.tag } : {}),
                ...(r.digest ? { digest: r.digest } : {}),
            }));

        it("parses what it formats: parse(format(x)) equals x", () => {
            fc.assert(
                fc.property(reference, (ref) => {
                    assert.deepStrictEqual(parseNormalizedNamed(format(ref)), ref);
                }),
                { numRuns: 500 },
            );
        });
    });
});
