/**
 * Where a stack stands: its side (everything else is judged by it), its peer, and its AWS and Alibaba
 * regions. The components' own keys are read by the files beside this one.
 */
import { Cidr } from "../../core/cidr";
import { partitionOfRegion, Side, SIDE_PARTITION, SIDES } from "../../core/partition";
import type { AlicloudRegionFacts, CloudFacts } from "../../core/cloud-facts";
import { closest, closestRegion, ConfigError, Json, key as k, NS, Reader, Scope } from "./reader";

/** Every top-level key; secrets are top-level so that `pulumi config set --secret crossborder:<key>` encrypts just them. */
export const TOP_KEYS = [
    "side",
    "peer",
    "aws",
    "alicloud",
    "network",
    "cluster",
    "registry",
    "ecr",
    "ecrRefresher",
    "ingress",
    "vpn",
    "s3",
    "gitops",
    "flux",
    "registryPullPassword",
    "gitopsToken",
    "gitopsSshKey",
] as const;

/** The `crossborder:*` values by top-level key; other namespaces are ignored, unknown keys reported. */
export function topLevel(r: Reader, raw: Readonly<Record<string, unknown>>): Record<string, Json> {
    const top: Record<string, Json> = {};
    for (const [fullKey, value] of Object.entries(raw)) {
        const sep = fullKey.indexOf(":");
        if (sep < 0 || fullKey.slice(0, sep) !== NS) continue;
        const key = fullKey.slice(sep + 1);
        if ((TOP_KEYS as readonly string[]).includes(key)) {
            top[key] = value;
        } else {
            const near = closest(key, TOP_KEYS);
            r.issue(
                fullKey,
                "is not a crossborder setting",
                near
                    ? `did you mean "${NS}:${near}"?`
                    : `remove it; settings are ${TOP_KEYS.map((t) => `${NS}:${t}`).join(", ")}`,
            );
        }
    }
    return top;
}

/**
 * The side decides every other check: a stack file without it is read as its name says (Pulumi.china.yaml
 * is china), and one whose name says neither reports that key alone rather than a cascade of wrong errors.
 */
export function readSide(r: Reader, top: Record<string, Json>, stack: string | undefined): Side {
    const named = stack?.split("/").pop();
    const inferred = (SIDES as readonly string[]).includes(named ?? "") ? (named as Side) : undefined;
    const unset = top.side === undefined || top.side === null || top.side === "";
    if (unset && !inferred) {
        throw new ConfigError([
            {
                key: k("side"),
                problem: "is required",
                fix: `set it to global or china (the stack file's name, Pulumi.${named ?? "<stack>"}.yaml, does not say which)`,
            },
        ]);
    }
    return unset ? inferred! : r.oneOf<Side>(k("side"), top.side, SIDES);
}

export function readPeer(s: Scope, stack: string | undefined): { stack: string; cidr?: Cidr } {
    const { r, top, other } = s;
    const peerRaw = r.object(k("peer"), top.peer, ["stack", "vpcCidr"]);
    if (top.peer === undefined)
        r.issue(
            k("peer"),
            "is missing",
            `add crossborder:peer with the ${other} stack's name (stack) and VPC range (vpcCidr)`,
        );
    const peerStack = r.string(k("peer.stack"), peerRaw.stack, {
        pattern: /^([A-Za-z0-9][-A-Za-z0-9_.]*\/){0,2}[A-Za-z0-9][-A-Za-z0-9_.]*$/,
        hint: `the ${other} stack's name, e.g. "acme/crossborder/${other}" or "${other}"`,
    });
    if (peerStack && stack && peerStack.split("/").pop() === stack.split("/").pop()) {
        r.issue(k("peer.stack"), `"${peerStack}" names this stack itself`, `name the ${other} stack, e.g. "${other}"`);
    }
    const cidr =
        top.peer === undefined
            ? undefined
            : r.cidr(k("peer.vpcCidr"), peerRaw.vpcCidr, `the ${other} stack's VPC range`);
    return { stack: peerStack, cidr };
}

export function readAwsRegion(s: Scope): string {
    const { r, top, china, side, facts } = s;
    const partition = SIDE_PARTITION[side];
    const awsRaw = r.object(k("aws"), top.aws, ["region"]);
    const expectedRegions = china ? "cn-north-1 or cn-northwest-1" : "an AWS commercial region such as eu-central-1";
    const awsRegion = r.string(k("aws.region"), awsRaw.region, { hint: expectedRegions });
    if (!awsRegion) return awsRegion;
    const regionPartition = partitionOfRegion(awsRegion);
    if (!facts.aws.has(awsRegion)) {
        const near = closestRegion(awsRegion, [...facts.aws.keys()]);
        r.issue(
            k("aws.region"),
            `"${awsRegion}" is not an AWS region`,
            near
                ? `did you mean "${near}"? (if AWS opened it recently, add it to core/cloud-facts.yaml)`
                : `use ${expectedRegions}`,
        );
    } else if (regionPartition !== partition) {
        r.issue(
            k("aws.region"),
            `"${awsRegion}" is in partition ${regionPartition}, but the ${side} side deploys to ${partition}`,
            china
                ? `use cn-north-1 or cn-northwest-1, or set crossborder:side to global`
                : `use a region outside China such as eu-central-1, or set crossborder:side to china`,
        );
    }
    return awsRegion;
}

export function readAlicloudRegion(s: Scope): { region: string; facts?: AlicloudRegionFacts } {
    const { r, top, china, facts } = s;
    const aliRaw = r.object(k("alicloud"), top.alicloud, ["region"]);
    const aliHint = china
        ? "a mainland China region such as cn-hangzhou or cn-beijing"
        : "a region outside mainland China such as eu-central-1";
    const region = r.string(k("alicloud.region"), aliRaw.region, { hint: aliHint });
    const aliFacts = region ? facts.alicloud.get(region) : undefined;
    if (region && !aliFacts) {
        const near = closestRegion(region, [...facts.alicloud.keys()]);
        r.issue(
            k("alicloud.region"),
            `"${region}" is not an Alibaba Cloud region`,
            near ? `did you mean "${near}"?` : `use ${aliHint}`,
        );
    } else if (aliFacts && aliFacts.mainland !== china) {
        r.issue(
            k("alicloud.region"),
            china
                ? `"${region}" is outside mainland China, so the china registry would pull across the border`
                : `"${region}" is inside mainland China, but the global side's registry is the origin outside it`,
            `use ${aliHint}`,
        );
    }
    return { region, facts: aliFacts };
}

export type { CloudFacts };
