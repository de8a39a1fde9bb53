/**
 * The fuzz of every input the commands read: a thousand mutations of a valid file per input type (fewer for
 * the ones that run the engines), each run through the command in-process, must end in exit 0, 1 or 2,
 * never "internal error" (70), and leave no tool process behind. The targets live in the fuzz-*.test.ts
 * files, split so that mocha's parallel workers share the work.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import { tempDir } from "../helpers";
import { runInProcess } from "./in-process";

/** Byte- and line-level mutations of a valid input: what a mangled file looks like. */
function mutations(seed: string): fc.Arbitrary<string> {
    const tokens = [
        "&a ",
        "*a",
        "*b",
        "{",
        "}",
        "[",
        "]",
        ": ",
        "- ",
        "!!binary ",
        "!!map ",
        "---\n",
        "\t",
        "\u0000",
        "? ",
        "|",
        ">",
        "'",
        '"',
        "#",
        "%YAML 1.1\n",
        "1e999",
        "-0",
        "null",
        "~",
        "<<: *a\n",
        "\\u",
        "@",
        "`",
        ",",
        "0x",
        "9".repeat(40),
    ];
    const op = fc.oneof(
        fc.record({
            kind: fc.constant("insert" as const),
            at: fc.nat(),
            text: fc.oneof(fc.constantFrom(...tokens), fc.string({ maxLength: 8 })),
        }),
        fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
        fc.record({ kind: fc.constant("dupline" as const), at: fc.nat() }),
        fc.record({ kind: fc.constant("dropline" as const), at: fc.nat() }),
        fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
    );
    return fc.array(op, { minLength: 1, maxLength: 4 }).map((ops) => {
        let text = seed;
        for (const o of ops) {
            if (o.kind === "dupline" || o.kind === "dropline") {
                const ls = text.split("\n");
                const i = o.at % Math.max(1, ls.length);
                if (o.kind === "dupline") ls.splice(i, 0, ls[i] ?? "");
                else ls.splice(i, 1);
                text = ls.join("\n");
            } else {
                const i = o.at % (text.length + 1);
                if (o.kind === "insert") text = text.slice(0, i) + o.text + text.slice(i);
                else if (o.kind === "delete") text = text.slice(0, i) + text.slice(i + o.length);
                else text = text.slice(0, i);
            }
        }
        return text;
    });
}

export interface FuzzTarget {
    readonly input: string;
    readonly seed: () => string | Buffer;
    readonly name: string;
    readonly argv: (dir: string, file: string) => string[];
    readonly runs?: number;
    /** Bytes (chart archives) rather than text. */
    readonly binary?: boolean;
}

/** Tool processes (helm, kubectl, and their bounding wrappers) still running below this process. */
function leftoverTools(): string[] {
    // A zombie has finished (its exit status waits for Node to collect it): only running ones count.
    const r = spawnSync("ps", ["-eo", "pid=,ppid=,stat=,args="], { encoding: "utf8" });
    return r.stdout
        .split("\n")
        .filter((l) => /\b(helm|kubectl|prlimit|setpriv)\b/.test(l))
        .map((l) => l.trim().split(/\s+/))
        .filter(([, ppid, stat]) => Number(ppid) === process.pid && !stat.startsWith("Z"))
        .map((f) => f.join(" "));
}

export function fuzzSuite(title: string, targets: readonly FuzzTarget[]): void {
    describe(`fuzz: no input ends in anything but exit 0, 1 or 2 (${title})`, function () {
        this.timeout(900_000);
        for (const t of targets) {
            it(`${t.input}: ${t.runs ?? 1000} mutations`, async () => {
                const dir = tempDir("fuzz");
                const seed = t.seed();
                const file = path.join(dir, t.name);
                fs.mkdirSync(path.dirname(file), { recursive: true });
                const counts: Record<number, number> = {};
                const arbitrary = t.binary
                    ? fc
                          .array(
                              fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), cut: fc.boolean() }),
                              {
                                  minLength: 1,
                                  maxLength: 6,
                              },
                          )
                          .map((ops) => {
                              let b = Buffer.from(seed as Buffer);
                              for (const o of ops) {
                                  const i = o.at % b.length;
                                  if (o.cut) b = b.subarray(0, Math.max(1, i));
                                  else b[i] = o.byte;
                              }
                              return b;
                          })
                    : mutations(String(seed));
                await fc.assert(
                    fc.asyncProperty(arbitrary, async (content) => {
                        fs.writeFileSync(file, content);
                        const r = await runInProcess(t.argv(dir, file));
                        const code = r.status;
                        const text = r.stdout + r.stderr;
                        counts[code] = (counts[code] ?? 0) + 1;
                        assert.ok(
                            [0, 1, 2].includes(code),
                            `exit ${code} for ${t.input}:\n${text}\n--- input ---\n${String(content).slice(0, 2000)}`,
                        );
                        if (code === 2) assert.match(text, /^crossborder: \S/m, "a usage error says what is wrong");
                    }),
                    { numRuns: t.runs ?? 1000 },
                );
                assert.ok(Object.keys(counts).length > 0);
                const left = leftoverTools();
                assert.deepStrictEqual(left, [], `no tool process left behind: ${left.join("; ")}`);
                console.log(`      exits: ${JSON.stringify(counts)}`);
            });
        }
    });
}
