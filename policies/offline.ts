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
import type { ResourceRecord } from "../stacks/offline";
import { rules as allRules, Rule } from "./rules";
import { UNDECIDED } from "./rules/values";

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

/** The recorded resources as the analyzer's stack request hands them to rules: references resolved to objects. */
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
                additionalSecretOutputs: [...(r.additionalSecretOutputs ?? [])],
            },
            dependencies: [],
            propertyDependencies: {},
        } as unknown as PolicyResource & { provider?: unknown; parent?: PolicyResource };
        byUrn.set(r.urn, res);
        return { res, record: r };
    });
    const resolve = (urns: readonly string[] | undefined) =>
        (urns ?? []).map((u) => byUrn.get(u)).filter((x): x is PolicyResource => x !== undefined);
    for (const { res, record } of resources) {
        const provider = byUrn.get(record.provider);
        if (provider)
            res.provider = { type: provider.type, props: provider.props, urn: provider.urn, name: provider.name };
        const parent = byUrn.get(record.parent);
        if (parent) res.parent = parent;
        (res as { dependencies: PolicyResource[] }).dependencies = resolve(record.dependencies);
        (res as { propertyDependencies: Record<string, PolicyResource[]> }).propertyDependencies = Object.fromEntries(
            Object.entries(record.propertyDependencies ?? {}).map(([k, v]) => [k, resolve(v)]),
        );
    }
    return resources.map((x) => x.res);
}

export interface PolicyRun {
    readonly violations: Violation[];
    /** Rules that could not decide for a resource because an input is unknown until the update, with why. */
    readonly undecided: { readonly policy: string; readonly urn?: string; readonly reason: string }[];
}

/** Every rule over the recorded resources; what violates, and what waits for the update to be decided. */
export function evaluatePolicies(
    records: readonly ResourceRecord[],
    config: Record<string, Record<string, unknown>> = {},
    rules: readonly Rule[] = allRules,
): PolicyRun {
    const resources = toPolicyResources(records);
    const violations: Violation[] = [];
    const undecided: PolicyRun["undecided"] = [];
    for (const rule of rules) {
        const level = rule.enforcementLevel ?? "advisory";
        if (level === "disabled") continue;
        const cfg = configOf(rule, config[rule.name]);
        const report =
            (urnDefault?: string): ReportViolation =>
            (message, urn) =>
                violations.push({ policy: rule.name, enforcementLevel: level, message, urn: urn ?? urnDefault });
        const run = (
            urn: string | undefined,
            fn: (notApplicable: (reason?: string) => never) => void | Promise<void>,
        ) => {
            try {
                const result = fn((reason) => {
                    throw new NotApplicable(reason);
                });
                if (result instanceof Promise)
                    throw new Error(`policy ${rule.name}: asynchronous rules are not supported offline`);
            } catch (e) {
                if (!(e instanceof NotApplicable)) throw e;
                if (e.message.startsWith(UNDECIDED)) undecided.push({ policy: rule.name, urn, reason: e.message });
            }
        };
        const resourceRule = rule as ResourceValidationPolicy;
        if (resourceRule.validateResource) {
            const validators = Array.isArray(resourceRule.validateResource)
                ? resourceRule.validateResource
                : [resourceRule.validateResource];
            for (const r of resources)
                for (const v of validators)
                    run(r.urn, (notApplicable) =>
                        v(
                            {
                                ...r,
                                stackTags: new Map(),
                                getConfig: () => cfg,
                                notApplicable,
                                isType: () => false,
                                asType: () => undefined,
                            } as unknown as ResourceValidationArgs,
                            report(r.urn),
                        ),
                    );
        }
        const stackRule = rule as StackValidationPolicy;
        if (stackRule.validateStack)
            run(undefined, (notApplicable) =>
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
    return { violations, undecided };
}

export function runPolicies(
    records: readonly ResourceRecord[],
    config: Record<string, Record<string, unknown>> = {},
    rules: readonly Rule[] = allRules,
): Violation[] {
    return evaluatePolicies(records, config, rules).violations;
}
