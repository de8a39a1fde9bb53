/**
 * The policy pack as the Pulumi engine runs it: the pack's real entry serves the analyzer protocol, and the
 * test plays the engine (engine-harness.ts), for three shapes of the example pair's plan:
 *   known     every value known, secrets in the engine's envelope (an update of existing stacks);
 *   preview   the preview of new stacks: unknown wherever the SDK has no value yet (stacks/offline newStack);
 *   revealed  every value known, secrets revealed in plain text (generated keys known after the first up).
 * Each rule's verdict is asserted per shape, and must match the offline runner's on the same records.
 */
import * as assert from "assert";
import * as path from "path";
import type { StackRun } from "../../stacks/offline";
import { runPlan } from "../../cli/plan";
import { StackSources } from "../../stacks/gitops-inputs";
import { evaluatePolicies, stackPolicyConfig } from "../../policies/offline";
import type { ResourceRecord } from "../../stacks/offline";
import { rules } from "../../policies/rules";
import { UNDECIDED, UNKNOWN_SENTINELS } from "../../policies/rules/values";
import { cloudFacts } from "../../core/cloud-facts";
import { readStackFile } from "../../stacks/stackfile";
import { ROOT, tempDir } from "../helpers";
import { PolicyPackProcess, SecretForm, UNKNOWN_STRING, Verdicts } from "./engine-harness";

type Verdict = "pass" | "violation" | "undecided" | "cannot run";
type Shape = "known" | "preview" | "revealed";
const SIDES = ["global", "china"] as const;

/** Rules that cannot decide during the preview of new stacks, because the value they judge is made then. */
const UNDECIDED_IN_PREVIEW: Record<(typeof SIDES)[number], string[]> = {
    // The China instance's access list holds the NAT gateways' Elastic IPs, which exist only after the update.
    china: ["registry-internet-acl-bounded"],
    global: [],
};

function verdicts(v: Verdicts): Map<string, Verdict> {
    const out = new Map<string, Verdict>(rules.map((r) => [r.name, "pass" as Verdict]));
    for (const n of v.notApplicable) if (n.reason.startsWith(UNDECIDED)) out.set(n.policy, "undecided");
    for (const d of v.diagnostics) {
        if (/can't run/.test(d.message)) out.set(d.policy, "cannot run");
        else if (d.level === "mandatory") out.set(d.policy, "violation");
    }
    return out;
}

function offlineVerdicts(
    records: readonly ResourceRecord[],
    config: Record<string, Record<string, unknown>>,
): Map<string, Verdict> {
    const run = evaluatePolicies(records, config);
    const out = new Map<string, Verdict>(rules.map((r) => [r.name, "pass" as Verdict]));
    for (const u of run.undecided) out.set(u.policy, "undecided");
    for (const v of run.violations) if (v.enforcementLevel === "mandatory") out.set(v.policy, "violation");
    return out;
}

describe("the policy pack under the engine's analyzer protocol", function () {
    this.timeout(240_000);
    let pack: PolicyPackProcess;
    const plans = new Map<Shape, Map<string, StackRun>>();
    const configs = new Map<string, Record<string, Record<string, unknown>>>();
    let levels: Map<string, string>;

    before(async () => {
        pack = await PolicyPackProcess.start();
        const info = await pack.info();
        levels = new Map(info.policies.map((p) => [p.name, p.level]));
        const stacksDir = path.join(ROOT, "stacks");
        const known = await runPlan({
            stacks: ["global", "china"],
            stacksDir,
            outDir: path.join(tempDir("engine"), "plan"),
        });
        const knownRuns = new Map(known.runs.map((r) => [r.stack, r]));
        plans.set("known", knownRuns);
        plans.set("revealed", knownRuns);
        const { runStack } = require("../../stacks/offline") as typeof import("../../stacks/offline");
        const preview = new Map<string, StackRun>();
        for (const side of SIDES) {
            const file = readStackFile(path.join(stacksDir, `Pulumi.${side}.yaml`));
            const other = knownRuns.get(side === "china" ? "global" : "china")!;
            preview.set(
                side,
                await runStack({
                    project: "crossborder",
                    stack: side,
                    config: { ...file.config },
                    secretKeys: file.secretKeys,
                    facts: cloudFacts(),
                    peers: new Map([
                        [other.stack, { outputs: other.rawOutputs, secretOutputNames: other.secretOutputNames }],
                    ]),
                    newStack: true,
                }),
            );
        }
        plans.set("preview", preview);
        const sources = new StackSources({ stacksDir });
        for (const side of SIDES) configs.set(side, stackPolicyConfig(sources.config(side)));
    });

    after(() => pack?.stop());

    it("serves every rule of the pack, at its own enforcement level", () => {
        assert.deepStrictEqual([...levels.keys()].sort(), rules.map((r) => r.name).sort());
        for (const r of rules) assert.strictEqual(levels.get(r.name), r.enforcementLevel, r.name);
    });

    it("speaks the engine's unknown sentinels, as the SDKs define them", () => {
        const proxy = require("@pulumi/policy/proxy") as Record<string, string>;
        const sdk = require("@pulumi/pulumi/runtime/rpc") as { unknownValue: string };
        for (const k of [
            "unknownBooleanValue",
            "unknownNumberValue",
            "unknownStringValue",
            "unknownArrayValue",
            "unknownAssetValue",
            "unknownArchiveValue",
            "unknownObjectValue",
        ])
            assert.ok(UNKNOWN_SENTINELS.has(proxy[k]), k);
        assert.strictEqual(sdk.unknownValue, UNKNOWN_STRING);
    });

    it("gets unknowns into the preview shape exactly where a new stack has no values yet", () => {
        const preview = JSON.stringify([...plans.get("preview")!.values()].map((r) => r.resources));
        assert.ok((preview.match(/\[unknown\]/g) ?? []).length > 50);
        assert.strictEqual(
            (JSON.stringify([...plans.get("known")!.values()].map((r) => r.resources)).match(/\[unknown\]/g) ?? [])
                .length,
            0,
        );
    });

    for (const shape of ["known", "preview", "revealed"] as const) {
        for (const side of SIDES) {
            it(`${shape}, ${side}: every rule runs and decides as the offline runner does; no false violation`, async () => {
                const run = plans.get(shape)!.get(side)!;
                const secrets: SecretForm = shape === "revealed" ? "revealed" : "envelope";
                await pack.configure(configs.get(side)!, levels);
                const engine = verdicts(
                    await pack.analyze(run.resources, secrets, "kRevealedGeneratedKey.4f9Qx27Lm0Zb"),
                );
                const table = [...engine].map(([rule, v]) => `${rule}: ${v}`).join("\n");
                for (const [rule, v] of engine) {
                    assert.notStrictEqual(v, "cannot run", `${rule} cannot run (${shape}, ${side}):\n${table}`);
                    assert.notStrictEqual(
                        v,
                        "violation",
                        `${rule} gives a violation on the example (${shape}, ${side}):\n${table}`,
                    );
                }
                const undecided = [...engine]
                    .filter(([, v]) => v === "undecided")
                    .map(([r]) => r)
                    .sort();
                assert.deepStrictEqual(undecided, shape === "preview" ? UNDECIDED_IN_PREVIEW[side] : [], table);
                assert.deepStrictEqual(
                    engine,
                    offlineVerdicts(run.resources, configs.get(side)!),
                    "the offline runner agrees",
                );
            });
        }
    }

    it("reports a mandatory violation through the protocol when the plan has one, in every shape", async () => {
        // The harness is not vacuous: the same encoding carries real findings to the engine.
        for (const shape of ["known", "preview", "revealed"] as const) {
            const run = plans.get(shape)!.get("global")!;
            const provider = run.resources.find((r) => r.type === "pulumi:providers:aws")!;
            const bad: ResourceRecord[] = [
                ...run.resources,
                {
                    urn: "urn:pulumi:global::crossborder::aws:ec2/securityGroup:SecurityGroup::bastion",
                    type: "aws:ec2/securityGroup:SecurityGroup",
                    name: "bastion",
                    parent: "",
                    provider: provider.urn,
                    custom: true,
                    protect: false,
                    inputs: {
                        vpcId: "[unknown]",
                        ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }],
                    },
                },
                {
                    urn: "urn:pulumi:global::crossborder::aws:ec2/vpnConnection:VpnConnection::hand-made",
                    type: "aws:ec2/vpnConnection:VpnConnection",
                    name: "hand-made",
                    parent: "",
                    provider: provider.urn,
                    custom: true,
                    protect: false,
                    inputs: { customerGatewayId: "[unknown]", type: "ipsec.1", tunnel1PresharedKey: "hunter2hunter2" },
                },
            ];
            await pack.configure(configs.get("global")!, levels);
            const v = verdicts(await pack.analyze(bad, shape === "revealed" ? "revealed" : "envelope", "kRevealed.1"));
            assert.strictEqual(v.get("no-ssh-from-world"), "violation", shape);
            assert.strictEqual(v.get("vpn-psk-secret"), "violation", shape);
        }
    });
});
