/**
 * The `crossborder` command run inside the test process (cli/main.ts run), its output captured: what the
 * binary does minus Node's start and the module load, so that tables of hundreds of inputs fit in CI.
 * bin/crossborder.js only adds `process.exit(code)`; the tests that run the binary itself keep that covered.
 */
import { run } from "../../cli/main";
import type { CliResult } from "../helpers";

/** Run the command in this process; stdout and stderr captured apart, process.exitCode left as it was. */
export async function runInProcess(argv: readonly string[]): Promise<CliResult & { readonly status: number }> {
    const saved = { out: process.stdout.write, err: process.stderr.write, exitCode: process.exitCode };
    let stdout = "";
    let stderr = "";
    const capture =
        (to: "out" | "err") =>
        (chunk: unknown): boolean => {
            if (to === "out") stdout += String(chunk);
            else stderr += String(chunk);
            return true;
        };
    process.stdout.write = capture("out") as typeof process.stdout.write;
    process.stderr.write = capture("err") as typeof process.stderr.write;
    process.exitCode = undefined;
    try {
        const status = await run([...argv]);
        return { status, stdout, stderr };
    } finally {
        process.stdout.write = saved.out;
        process.stderr.write = saved.err;
        process.exitCode = saved.exitCode;
    }
}
