/**
 * Runs the policy pack's rules over the offline plan's recorded resources, the way the Pulumi engine runs
 * them during `pulumi preview --policy-pack policies`: resource rules per resource (with its provider and
 * parent), stack rules over all of them, each rule's config taken from its schema defaults and the stack.
 */
import type {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import type { StackConfig } from "../stacks/config";
import { rules as allRules, Rule } from "./rules";

/** One resource as the offline plan records it (cli/offline.ts) and the rules read it. */
export interface ResourceRecord {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** The parent's URN ("" for the stack itself). */
    readonly parent: string;
    /** The provider's URN ("" when the resource uses a default provider or is a component). */
    readonly provider: string;
    readonly custom: boolean;
    readonly protect: boolean;
    /** Inputs with every secret replaced by "[secret]". */
    readonly inputs: Record<string, unknown>;
}

export interface Violation {
    readonly policy: string;
    readonly enforcementLevel: string;
    readonly message: string;
    readonly urn?: string;
}

/** Rule config a stack implies: its side, its ICP licence, its public prefix. */
export function stackPolicyConfig(cfg: StackConfig): Record<string, Record<string, unknown>> {
    return {
        "china-arn-partition": { side: cfg.side },
        "china-no-aws-site-to-site-vpn": { side: cfg.side },
        "china-public-http-needs-icp": { side: cfg.side, icpLicensed: cfg.ingress.icpLicensed },
        "china-images-from-china-registries": { side: cfg.side },
        "s3-block-public-access": { publicPrefixes: cfg.s3.publicPrefix ? [cfg.s3.publicPrefix] : [] },
    };
}

class NotApplicable extends Error {}

function configOf(rule: Rule, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const defaults = Object.fromEntries(
        Object.entries(rule.configSchema?.properties ?? {}).map(([k, v]) => [k, (v as { default?: unknown }).default]),
    );
    return { ...defaults, ...overrides };
}

export function toPolicyResources(records: readonly ResourceRecord[]): PolicyResource[] {
    const byUrn = new Map<string, PolicyResource>();
    const resources = records.map((r) => {
        const res = {
            type: r.type,
            props: r.inputs,
            urn: r.urn,
            name: r.name,
            opts: {
                protect: r.protect,
                ignoreChanges: [],
                aliases: [],
                customTimeouts: {},
                additionalSecretOutputs: [],
            },
        } as unknown as PolicyResource & { provider?: unknown; parent?: PolicyResource };
        byUrn.set(r.urn, res);
        return { res, record: r };
    });
    for (const { res, record } of resources) {
        const provider = byUrn.get(record.provider);
        if (provider)
            res.provider = { type: provider.type, props: provider.props, urn: provider.urn, name: provider.name };
        const parent = byUrn.get(record.parent);
        if (parent) res.parent = parent;
    }
    return resources.map((x) => x.res);
}

export function runPolicies(
    records: readonly ResourceRecord[],
    config: Record<string, Record<string, unknown>> = {},
    rules: readonly Rule[] = allRules,
): Violation[] {
    const resources = toPolicyResources(records);
    const violations: Violation[] = [];
    for (const rule of rules) {
        const level = rule.enforcementLevel ?? "advisory";
        if (level === "disabled") continue;
        const cfg = configOf(rule, config[rule.name]);
        const report =
            (urnDefault?: string): ReportViolation =>
            (message, urn) =>
                violations.push({ policy: rule.name, enforcementLevel: level, message, urn: urn ?? urnDefault });
        const notApplicable = (): never => {
            throw new NotApplicable();
        };
        const run = (fn: () => void | Promise<void>) => {
            try {
                const result = fn();
                if (result instanceof Promise)
                    throw new Error(`policy ${rule.name}: asynchronous rules are not supported offline`);
            } catch (e) {
                if (!(e instanceof NotApplicable)) throw e;
            }
        };
        const resourceRule = rule as ResourceValidationPolicy;
        if (resourceRule.validateResource) {
            const validators = Array.isArray(resourceRule.validateResource)
                ? resourceRule.validateResource
                : [resourceRule.validateResource];
            for (const r of resources) {
                const args = {
                    ...r,
                    stackTags: new Map(),
                    getConfig: () => cfg,
                    notApplicable,
                    isType: () => false,
                    asType: () => undefined,
                } as unknown as ResourceValidationArgs;
                for (const v of validators) run(() => v(args, report(r.urn)));
            }
        }
        const stackRule = rule as StackValidationPolicy;
        if (stackRule.validateStack)
            run(() =>
                stackRule.validateStack!(
                    {
                        resources,
                        stackTags: new Map(),
                        getConfig: () => cfg,
                        notApplicable,
                    } as unknown as StackValidationArgs,
                    report(),
                ),
            );
    }
    return violations;
}
