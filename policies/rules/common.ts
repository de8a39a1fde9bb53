/** Helpers shared by the rules. Rules are plain objects: tests call validateResource/validateStack directly. */
import type {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";

import { plainResource, plainResources, UNDECIDED } from "./values";

export type Rule = ResourceValidationPolicy | StackValidationPolicy;
export type { PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs };

/** The mask the offline plan records for a secret input. */
export const SECRET_MASK = "[secret]";

export const WORLD = ["0.0.0.0/0", "::/0"];

/** Every China rule can be forced on or off; "auto" decides from the stack's AWS providers. */
export const sideConfig = {
    side: {
        type: "string" as const,
        enum: ["auto", "china", "global"],
        default: "auto",
        description: "Which side this stack is; auto: china when an AWS provider is in a cn-* region.",
    },
};

/** A resource's inputs as the analyzer hands them over (the provider's schema, unchecked). */
export type Props = PolicyResource["props"];

function isChinaRegion(region: unknown): boolean {
    return typeof region === "string" && region.startsWith("cn-");
}

/** Whether a stack is the china side: its config says so, or an AWS provider is in a China region. */
export function stackIsChina(resources: readonly { type: string; props: Props }[], side: string | undefined): boolean {
    if (side === "china") return true;
    if (side === "global") return false;
    return resources.some((r) => r.type === "pulumi:providers:aws" && isChinaRegion(r.props.region));
}

/** Whether one resource is deployed with an aws-cn provider. */
export function resourceIsChina(args: ResourceValidationArgs, side: string | undefined): boolean {
    if (side === "china") return true;
    if (side === "global") return false;
    return isChinaRegion(args.provider?.props?.region);
}

/** Every string anywhere inside a value. */
export function* strings(value: unknown, path = ""): Generator<[string, string]> {
    if (typeof value === "string") yield [path, value];
    else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield* strings(value[i], `${path}[${i}]`);
    else if (value && typeof value === "object")
        for (const [k, v] of Object.entries(value)) yield* strings(v, path ? `${path}.${k}` : k);
}

/** A JSON policy document given as a string or an object. */
export function policyDocument(value: unknown): { Statement?: Props[] } | undefined {
    if (value === undefined || value === null || value === SECRET_MASK) return undefined;
    if (typeof value === "string") {
        try {
            return JSON.parse(value);
        } catch {
            return undefined;
        }
    }
    return value as { Statement?: Props[] };
}

export function asArray<T>(v: T | T[] | undefined): T[] {
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export interface Ingress {
    readonly fromPort: number;
    readonly toPort: number;
    readonly protocol: string;
    readonly cidrs: string[];
}

/** Ingress rules of a security group, a security group rule, or a VPC ingress rule resource. */
export function ingressRules(type: string, props: Props): Ingress[] {
    const norm = (r: Props): Ingress => ({
        fromPort: Number(r.fromPort ?? 0),
        toPort: Number(r.toPort ?? r.fromPort ?? 65535),
        protocol: String(r.protocol ?? r.ipProtocol ?? "-1"),
        cidrs: [
            ...asArray(r.cidrBlocks),
            ...asArray(r.ipv6CidrBlocks),
            ...asArray(r.cidrIpv4),
            ...asArray(r.cidrIpv6),
        ].map(String),
    });
    if (type === "aws:ec2/securityGroup:SecurityGroup") return asArray(props.ingress).map(norm);
    if (type === "aws:ec2/securityGroupRule:SecurityGroupRule") return props.type === "ingress" ? [norm(props)] : [];
    if (type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") return [norm(props)];
    return [];
}

export function opensPort(rule: Ingress, port: number): boolean {
    if (rule.protocol === "-1" || rule.protocol === "all") return true;
    if (!["tcp", "6", "udp", "17"].includes(rule.protocol)) return false;
    return rule.fromPort <= port && port <= rule.toPort;
}

export function fromWorld(rule: Ingress): boolean {
    return rule.cidrs.some((c) => WORLD.includes(c));
}

/**
 * The resource of `type` that belongs to `bucket`, by reference: its `bucket` input was made from that
 * bucket (the program's reference, which the engine passes as a property dependency and which holds even
 * while ids are unknown), or names the same literal bucket name. Never by neighbourhood: a second bucket in
 * the same component must not borrow the first one's access block.
 */
export function bucketCompanion(
    resources: readonly PolicyResource[],
    bucket: PolicyResource,
    type: string,
): PolicyResource | undefined {
    const name = bucket.props.bucket;
    return resources.find(
        (r) =>
            r.type === type &&
            ((r.propertyDependencies?.bucket ?? []).some((d) => d.urn === bucket.urn) ||
                (typeof name === "string" && name.length > 0 && r.props.bucket === name)),
    );
}

/**
 * The rule as the analyzer calls it, reading plain inputs (values.ts): a rule body never touches the
 * analyzer's unknown-checking proxy, so an unknown value cannot make it throw.
 */
export function readsPlainInputs(rule: Rule): Rule {
    const r = rule as ResourceValidationPolicy & StackValidationPolicy;
    if (r.validateResource) {
        const validations = Array.isArray(r.validateResource) ? r.validateResource : [r.validateResource];
        return {
            ...rule,
            validateResource: validations.map(
                (v) => (args: ResourceValidationArgs, report: ReportViolation) => v(plainResource(args), report),
            ),
        } as Rule;
    }
    if (r.validateStack) {
        const v = r.validateStack;
        return {
            ...rule,
            validateStack: (args: StackValidationArgs, report: ReportViolation) =>
                v({ ...args, resources: plainResources(args.resources) }, report),
        } as Rule;
    }
    return rule;
}

/**
 * Say that the one input a rule needs is unknown during this preview (it is made by the update), naming it,
 * and stop judging this resource: the engine records it as not applicable with this reason; `pulumi up`
 * runs the rule again with the value known.
 */
export function undecided(args: { name: string; notApplicable(reason?: string): never }, input: string): never {
    return args.notApplicable(
        `${UNDECIDED} ${args.name}: ${input} is unknown until the update makes it; the rule decides at pulumi up`,
    );
}
