/**
 * `crossborder plan`: the offline plan of the global and china stacks. Validates both stack files, runs
 * the real program for each under the mock runtime (global first, so its outputs answer the china
 * stack's StackReference), and writes `out/plan/<stack>.json` only when every stack planned cleanly.
 */
import { InputError } from "../core/errors";
import * as path from "path";
import { checkPair, ConfigError, loadStackConfig, Side, StackConfig } from "../stacks/config";
import { cloudFacts } from "../core/cloud-facts";
import { describeConfigError, locateIssue, readStackFile, StackFile } from "../stacks/stackfile";
import { writeFilesAtomically } from "./util";
import type { StackRun } from "../stacks/offline";
import { runPolicies, stackPolicyConfig, Violation } from "../policies/offline";

export const PLAN_LABEL =
    "OFFLINE PLAN: Pulumi mock runtime, cloud facts from core/cloud-facts.yaml; nothing was deployed and no cloud was called";

export interface PlanOptions {
    /** Which stacks to write. */
    readonly stacks: readonly Side[];
    /** Directory holding Pulumi.global.yaml and Pulumi.china.yaml. */
    readonly stacksDir: string;
    /** The plan files go to `<outDir>/<stack>.json`. */
    readonly outDir: string;
}

export interface PlanResult {
    readonly runs: StackRun[];
    /** Policy violations per stack. */
    readonly violations: ReadonlyMap<string, Violation[]>;
    /** Whether any mandatory policy failed (exit 1). */
    readonly failed: boolean;
    readonly files: string[];
    readonly summary: string;
}

/** Config problems in one or more stack files: exit 2, nothing written. */
export class PlanConfigError extends InputError {
    constructor(message: string) {
        super(message);
        this.name = "PlanConfigError";
    }
}

const ORDER: readonly Side[] = ["global", "china"];
/** The first bring-up: china (registry, VPN public IP), global (sync rule, VPN hub), china (tunnels). */
export const BRING_UP: readonly Side[] = ["china", "global", "china"];

export async function runPlan(opts: PlanOptions): Promise<PlanResult> {
    // 1. Every stack file is read and validated before the SDK is even loaded.
    const files = new Map<Side, StackFile>();
    const configs = new Map<Side, StackConfig>();
    const problems: string[] = [];
    for (const side of ORDER) {
        const file = readStackFile(path.join(opts.stacksDir, `Pulumi.${side}.yaml`));
        files.set(side, file);
        try {
            const cfg = loadStackConfig(file.config, {
                stack: file.stack,
                isSecret: (k) => file.secretKeys.includes(k),
            });
            if (cfg.side !== side) {
                problems.push(
                    locateIssue(
                        {
                            key: "crossborder:side",
                            problem: `"${cfg.side}" in the ${side} stack's file`,
                            fix: `set it to ${side}`,
                        },
                        file,
                    ),
                );
            }
            configs.set(side, cfg);
        } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
            problems.push(describeConfigError(e, file));
        }
    }
    const global = configs.get("global");
    const china = configs.get("china");
    if (global && china && problems.length === 0) {
        for (const { stack, issue } of checkPair({ stack: "global", cfg: global }, { stack: "china", cfg: china })) {
            problems.push(locateIssue(issue, files.get(stack as Side)!));
        }
    }
    if (problems.length > 0) throw new PlanConfigError(problems.join("\n"));

    // 2. Run the program in the bring-up order (china, global, china): each pass reads the outputs of the
    //    pass before, as the real bring-up does, so the last pass of each stack shows the complete pair.
    // Loaded here, not at the top: the Pulumi SDKs take most of a second and only the plan needs them.
    const { runStack } = require("../stacks/offline") as typeof import("../stacks/offline");
    const facts = cloudFacts();
    const peers = new Map<string, { outputs: Record<string, unknown>; secretOutputNames: string[] }>();
    const runs: StackRun[] = [];
    const finalRuns = new Map<Side, StackRun>();
    for (const side of BRING_UP) {
        const file = files.get(side)!;
        let run: StackRun;
        try {
            run = await runStack({
                project: "crossborder",
                stack: file.stack,
                config: { ...file.config },
                secretKeys: file.secretKeys,
                facts,
                peers,
            });
        } catch (e) {
            if (e instanceof ConfigError) throw new PlanConfigError(describeConfigError(e, file));
            throw e;
        }
        peers.set(file.stack, { outputs: run.rawOutputs, secretOutputNames: run.secretOutputNames });
        finalRuns.set(side, run);
    }
    for (const side of ORDER) if (opts.stacks.includes(side)) runs.push(finalRuns.get(side)!);

    // 3. The policy pack over what each stack would create.
    const violations = new Map<string, Violation[]>();
    for (const run of runs)
        violations.set(run.stack, runPolicies(run.resources, stackPolicyConfig(configs.get(run.stack as Side)!)));
    const failed = [...violations.values()].some((vs) => vs.some((v) => v.enforcementLevel === "mandatory"));

    // 4. Write the plan files together, only now that every stack planned.
    const outputs = new Map<string, string>();
    for (const run of runs) {
        const doc = {
            kind: "crossborder/offline-plan",
            note: PLAN_LABEL,
            project: "crossborder",
            stack: run.stack,
            resourceCount: run.resources.length,
            resources: run.resources,
            outputs: run.outputs,
            warnings: run.warnings,
            policyViolations: violations.get(run.stack),
        };
        outputs.set(path.join(opts.outDir, `${run.stack}.json`), JSON.stringify(doc, null, 2) + "\n");
    }
    writeFilesAtomically(outputs);
    return {
        runs,
        violations,
        failed,
        files: [...outputs.keys()],
        summary: summarize(runs, [...outputs.keys()], violations),
    };
}

export function summarize(
    runs: readonly StackRun[],
    written: readonly string[],
    violations: ReadonlyMap<string, Violation[]> = new Map(),
): string {
    const lines = [PLAN_LABEL, ""];
    for (const run of runs) {
        const byType = new Map<string, number>();
        for (const r of run.resources) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
        const out = run.outputs as Record<string, unknown>;
        lines.push(
            `stack ${run.stack} (${out.partition ?? "?"}, ${out.awsRegion ?? "?"}): ${run.resources.length} resources`,
        );
        for (const [type, n] of [...byType].sort(([a], [b]) => (a < b ? -1 : 1)))
            lines.push(`  ${String(n).padStart(4)}  ${type}`);
        for (const w of run.warnings) lines.push(`  warning: ${w}`);
        const vs = violations.get(run.stack) ?? [];
        lines.push(`  policy pack: ${vs.length === 0 ? "no violations" : `${vs.length} violation(s)`}`);
        for (const v of vs)
            lines.push(
                `  ${v.enforcementLevel === "mandatory" ? "POLICY VIOLATION" : "policy advisory"} [${v.policy}] ${v.message}${v.urn ? `\n      resource: ${v.urn}` : ""}`,
            );
        lines.push("");
    }
    for (const f of written) lines.push(`wrote ${f}`);
    return lines.join("\n");
}
