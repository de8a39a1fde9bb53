import * as assert from "assert";
import fc from "fast-check";
import { ConfigError, loadStackConfig } from "../../stacks/config";
import { exampleConfig, isExampleSecret } from "../helpers";

const TOP = [
    "side",
    "peer",
    "aws",
    "alicloud",
    "network",
    "cluster",
    "registry",
    "ecrRefresher",
    "ingress",
    "vpn",
    "s3",
    "gitops",
];

type Path = (string | number)[];

/** Every path into a JSON value (objects and arrays), the root included. */
function paths(value: unknown, prefix: Path = []): Path[] {
    const out: Path[] = [prefix];
    if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
    else if (value && typeof value === "object")
        for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
    return out;
}

type Mutation = { pick: number; op: "delete" | "replace" | "add"; value: unknown; key: string };

function mutate(raw: Record<string, any>, m: Mutation): void {
    const all = paths(raw).filter((p) => p.length > 0);
    const target = all[m.pick % all.length];
    const parent = target.slice(0, -1).reduce((o: any, k) => o[k], raw);
    const last = target[target.length - 1];
    if (m.op === "delete") {
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete parent[last];
    } else if (m.op === "replace") {
        parent[last] = m.value;
    } else if (parent[last] && typeof parent[last] === "object" && !Array.isArray(parent[last])) {
        parent[last][m.key] = m.value;
    } else {
        parent[last] = { [m.key]: m.value };
    }
}

const interesting = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(
        "global",
        "china",
        "cn-north-1",
        "eu-central-1",
        "cn-hangzhou",
        "10.10.0.0/16",
        "10.20.0.0/16",
        "0.0.0.0/0",
        "12",
        "true",
        "",
        "{",
        "[]",
        "m6i.large",
        "1.33",
        12,
        13,
        -1,
        1e300,
        null,
    ),
    fc.string(),
);

const mutated = fc
    .record({
        side: fc.constantFrom("global" as const, "china" as const),
        pulumiStrings: fc.boolean(),
        mutations: fc.array(
            fc.record({
                pick: fc.nat(),
                op: fc.constantFrom("delete" as const, "replace" as const, "add" as const),
                value: interesting,
                key: fc.oneof(fc.constantFrom(...TOP, "vpcCidr", "region", "__proto__", "constructor"), fc.string()),
            }),
            { minLength: 1, maxLength: 6 },
        ),
    })
    .map(({ side, pulumiStrings, mutations }) => {
        const raw = exampleConfig(side);
        for (const m of mutations) mutate(raw, m);
        // The Pulumi CLI hands structured values over as JSON strings.
        return pulumiStrings
            ? Object.fromEntries(
                  Object.entries(raw).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
              )
            : raw;
    });

const generated = fc.dictionary(
    fc.oneof(
        fc.constantFrom(...TOP.map((k) => `crossborder:${k}`)),
        fc.string().map((s) => `crossborder:${s}`),
        fc.string(),
    ),
    interesting,
    { maxKeys: 14 },
);

describe("stack config fuzz", () => {
    it("ends every generated or mutated config in a config or a ConfigError naming a key (1,000 cases)", () => {
        let accepted = 0;
        let rejected = 0;
        fc.assert(
            fc.property(fc.oneof(mutated, generated), (raw) => {
                try {
                    const cfg = loadStackConfig(raw, { stack: "fuzz", isSecret: isExampleSecret });
                    assert.ok(cfg.side === "global" || cfg.side === "china");
                    accepted++;
                } catch (e) {
                    if (!(e instanceof ConfigError)) throw e;
                    assert.ok(e.issues.length > 0, "a ConfigError lists at least one issue");
                    for (const i of e.issues) {
                        assert.match(i.key, /^crossborder:/, `issue key ${i.key} names a crossborder key`);
                        assert.ok(
                            i.problem.length > 0 && i.fix.length > 0,
                            `issue for ${i.key} says what is wrong and how to fix it`,
                        );
                    }
                    rejected++;
                }
            }),
            { numRuns: 1000 },
        );
        // Both outcomes must actually occur, or the generator is not exercising the loader.
        assert.ok(accepted > 0 && rejected > 0, `accepted ${accepted}, rejected ${rejected}`);
    });
});
