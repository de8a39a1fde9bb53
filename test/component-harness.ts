/**
 * One component under Pulumi's mock runtime, alone: the offline engine (stacks/offline.ts) runs a program
 * that builds just that component and records every resource it registers, with inputs and options. The
 * unit tests of test/components/<component>.test.ts read these records, beside the pair tests that plan
 * the whole program.
 */
import { cloudFacts } from "../core/cloud-facts";
import { runStack, type ResourceRecord } from "../stacks/offline";

export type { ResourceRecord };

/** Run `build` as the whole program of a stack and return what it registered. */
export async function recordComponent(
    build: () => unknown,
    opts: { stack?: "global" | "china"; newStack?: boolean } = {},
): Promise<ResourceRecord[]> {
    const run = await runStack({
        project: "crossborder",
        stack: opts.stack ?? "global",
        config: {},
        secretKeys: [],
        facts: cloudFacts(),
        peers: new Map(),
        newStack: opts.newStack,
        program: async () => {
            await build();
        },
    });
    return run.resources;
}

/** The records of one resource type (the type token's last segment, e.g. "Subnet"), in registration order. */
export function ofType(records: readonly ResourceRecord[], type: string): ResourceRecord[] {
    return records.filter((r) => r.type === type || r.type.split(":").pop() === type);
}

/** The one record of a type; fails when there are none or several. */
export function oneOf(records: readonly ResourceRecord[], type: string): ResourceRecord {
    const found = ofType(records, type);
    if (found.length !== 1)
        throw new Error(`expected one ${type}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
    return found[0];
}
