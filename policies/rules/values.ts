/**
 * What the rules read: plain data, whatever shape the caller handed over. The Pulumi analyzer wraps inputs
 * in a proxy that throws on reading a value that is unknown during preview (and the policy SDK then
 * reports the rule as "can't run", advisory, gating nothing). The rules read a plain copy instead, in
 * which an unknown value is the UNKNOWN marker, so a rule decides from what is known and says so where
 * the one value it needs is not.
 */
import type { PolicyResource } from "@pulumi/policy";

/**
 * The engine's wire sentinels for unknown values (pulumi/sdk go/common/resource/plugin/rpc.go, the same
 * strings in @pulumi/policy's proxy and @pulumi/pulumi's runtime/rpc; test/policies/engine.test.ts checks
 * they still agree), and the offline plan's "[unknown]".
 */
export const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string (and any value of unknown type)
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
    "030794c1-ac77-496b-92df-f27374a8bd58", // asset
    "e48ece36-62e2-4504-bad9-02848725956a", // archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
    "[unknown]",
]);

/** An input whose value is not known yet (during the preview of resources that do not exist). */
export const UNKNOWN: { readonly unknown: true; toString(): string } = Object.freeze({
    unknown: true as const,
    toString: () => "<unknown until pulumi up>",
});

export function isUnknown(v: unknown): v is typeof UNKNOWN {
    return v === UNKNOWN;
}

/**
 * A plain deep copy: own properties are read through their descriptors, which the analyzer's proxy does
 * not intercept, so nothing throws; unknown sentinels become UNKNOWN.
 */
export function plain(value: unknown): unknown {
    if (typeof value === "string") return UNKNOWN_SENTINELS.has(value) ? UNKNOWN : value;
    if (value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) {
        const out: unknown[] = [];
        for (let i = 0; i < value.length; i++) out.push(plain(Object.getOwnPropertyDescriptor(value, i)?.value));
        return out;
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value)) out[k] = plain(Object.getOwnPropertyDescriptor(value, k)?.value);
    return out;
}

/** A policy resource with plain props (and plain props on its provider). */
export function plainResource<T extends Pick<PolicyResource, "props"> & { provider?: { props: unknown } }>(r: T): T {
    return {
        ...r,
        props: plain(r.props),
        ...(r.provider ? { provider: { ...r.provider, props: plain(r.provider.props) } } : {}),
    } as T;
}

/**
 * Stack resources with plain props; parent, dependencies and propertyDependencies point at the plain
 * copies, so a rule can follow the program's references between resources.
 */
export function plainResources(resources: readonly PolicyResource[]): PolicyResource[] {
    const copies = new Map<string, PolicyResource>();
    const out = resources.map((r) => {
        const c = plainResource(r);
        copies.set(r.urn, c);
        return c;
    });
    const swap = (r: PolicyResource | undefined) => (r ? (copies.get(r.urn) ?? r) : r);
    for (const c of out) {
        const original = c as PolicyResource & { parent?: PolicyResource };
        if (original.parent) (c as { parent?: PolicyResource }).parent = swap(original.parent);
        (c as { dependencies: PolicyResource[] }).dependencies = (c.dependencies ?? []).map((d) => swap(d)!);
        const deps: Record<string, PolicyResource[]> = {};
        for (const [k, v] of Object.entries(c.propertyDependencies ?? {})) deps[k] = v.map((d) => swap(d)!);
        (c as { propertyDependencies: Record<string, PolicyResource[]> }).propertyDependencies = deps;
    }
    return out;
}

/** The prefix of a not-applicable reason that means "undecided until the update". */
export const UNDECIDED = "undecided during preview:";
