/**
 * The one typed schema for every `crossborder:*` stack config key, and its validation.
 *
 * Pure: no Pulumi import. The program feeds it `pulumi.runtime.allConfig()`; the offline plan feeds it the
 * same map built from the stack file. Every problem becomes a ConfigIssue that names the key, says what is
 * wrong and how to fix it; all problems are collected before anything is created.
 */
import { Partition, partitionOfRegion } from "../components/partition";
import { Cidr, isPrivate, overlaps, parseCidr } from "./cidr";
import { CloudFacts, cloudFacts, splitInstanceType } from "./facts";
import { acrEndpoints } from "../components/registry/endpoints";
import { DEFAULT_MIRRORS_FILE, isChinaHost, loadMirrors, MirrorVars } from "../gitops/mirrors";

export type Side = "global" | "china";
export const SIDES: readonly Side[] = ["global", "china"];

/** The AWS partition each side deploys to. */
export const SIDE_PARTITION: Record<Side, Partition> = { global: "aws", china: "aws-cn" };

/** Regions the border VPN hub may live in: the AWS regions closest to mainland China. */
export const VPN_HUB_REGIONS = ["ap-east-1", "ap-southeast-1"] as const;

/** Canonical's public SSM parameter for the current Ubuntu 24.04 LTS AMI (strongSwan is in its archive). */
export const DEFAULT_VPN_AMI_PARAMETER =
    "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id";

/** ECR authorization tokens are valid for 12 hours (ECR GetAuthorizationToken API reference). */
export const ECR_TOKEN_LIFETIME_HOURS = 12;

export interface NodeGroupConfig {
    /** Node group name, unique in the cluster. */
    readonly name: string;
    /** Instance types, each checked against the region's offerings before anything is created. */
    readonly instanceTypes: readonly string[];
    /** @default 2 */
    readonly minSize: number;
    /** @default minSize */
    readonly desiredSize: number;
    /** @default max(minSize, desiredSize, 3) */
    readonly maxSize: number;
    /** Root volume size. @default 50 */
    readonly diskSizeGiB: number;
    /** @default "ON_DEMAND" */
    readonly capacityType: "ON_DEMAND" | "SPOT";
}

export interface StackConfig {
    /** `global` (outside China, partition `aws`) or `china` (partition `aws-cn`). */
    readonly side: Side;
    /** Derived from side. */
    readonly partition: Partition;
    /** The paired stack: its name for StackReference and its VPC range (the VPN routes to it). */
    readonly peer: { readonly stack: string; readonly vpcCidr: string };
    readonly aws: { readonly region: string };
    /** Alibaba Cloud region of this side's ACR EE instance: outside mainland China on global, inside on china. */
    readonly alicloud: { readonly region: string };
    readonly network: {
        readonly vpcCidr: string;
        /** @default 3 where the region has three zones, else 2 */
        readonly zoneCount?: 2 | 3;
        /** @default "perZone" */
        readonly natGateways: "perZone" | "single";
    };
    readonly cluster: {
        /** @default "crossborder-<side>" */
        readonly name: string;
        /** @default "1.33" */
        readonly kubernetesVersion: string;
        /** Public API endpoint: opt-in only, with an explicit allow-list. @default false */
        readonly endpointPublicAccess: boolean;
        /** Required (non-empty) when endpointPublicAccess is true. @default [] */
        readonly publicAccessCidrs: readonly string[];
        readonly nodeGroups: readonly NodeGroupConfig[];
    };
    readonly registry: {
        /** ACR EE instance name; its endpoints derive from it. @default "crossborder-<side>" */
        readonly instanceName: string;
        /** ACR EE namespace, the same on the origin and the China instance. @default "crossborder" */
        readonly namespace: string;
        /** ACR EE edition. @default "Advanced" */
        readonly instanceSpec: "Basic" | "Standard" | "Advanced";
        /** Subscription length in months. @default 1 */
        readonly periodMonths: number;
    };
    readonly ecr: {
        /** ECR repositories for the platform's own images. @default ["platform/app"] */
        readonly repositories: readonly string[];
        /** Tagged images kept per repository by the lifecycle policy. @default 30 */
        readonly keepImages: number;
    };
    readonly ecrRefresher: {
        /** @default true on china, false on global */
        readonly enabled: boolean;
        /**
         * Secret (namespace/name) holding AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for clusters that cannot
         * use IRSA. @default - IRSA on EKS
         */
        readonly credentialsSecret?: string;
        /** Hours between refreshes, 1-11. @default 6 */
        readonly refreshHours: number;
        /** Namespaces that receive the pull secret. @default ["default"] */
        readonly namespaces: readonly string[];
    };
    readonly ingress: {
        /** Open 80/443 to the internet. @default false */
        readonly publicHttp: boolean;
        /** The stack holds an ICP licence (required for publicHttp on china). @default false */
        readonly icpLicensed: boolean;
    };
    readonly vpn: {
        /** @default true */
        readonly enabled: boolean;
        /** @default "strongswan-ec2" */
        readonly mode: "strongswan-ec2" | "alibaba-cen";
        /** AWS region of the hub VPC (global side creates it). @default "ap-east-1" */
        readonly hubRegion: (typeof VPN_HUB_REGIONS)[number];
        readonly hubVpcCidr: string;
        /**
         * The licensed carrier (or its contract reference) that carries the cross-border line. Required on
         * the china side in `strongswan-ec2` mode: cross-border links from mainland China must use a carrier
         * licensed for international connectivity.
         */
        readonly licensedCarrier?: string;
        /** China side, strongswan-ec2: the endpoint's instance type (checked against the region). @default "t3.medium" */
        readonly instanceType: string;
        /** China side: SSM parameter naming the endpoint's AMI. @default Ubuntu 24.04 LTS (Canonical's public parameter) */
        readonly amiParameter: string;
    };
    readonly s3: {
        /** Global side: the only key prefix readable by the public. @default "downloads/" on global */
        readonly publicPrefix?: string;
    };
    readonly gitops: {
        /** Git URL Flux pulls the generated tree from (on china: a host reachable from inside China). */
        readonly url: string;
        /** @default "main" */
        readonly branch: string;
        /** @default "clusters/<side>" */
        readonly path: string;
    };
}

export interface ConfigIssue {
    /** The config key, e.g. `crossborder:network.vpcCidr` or `crossborder:cluster.nodeGroups[0].instanceTypes[1]`. */
    readonly key: string;
    readonly problem: string;
    readonly fix: string;
}

export function formatIssue(i: ConfigIssue): string {
    return `${i.key}: ${i.problem}; ${i.fix}`;
}

/**
 * A user's configuration mistake. `__pulumiRunError` makes the Pulumi CLI print the message without a
 * stack trace, exactly as it does for `pulumi.RunError`.
 */
export class ConfigError extends Error {
    readonly __pulumiRunError = true;
    constructor(
        readonly issues: readonly ConfigIssue[],
        readonly source = "stack config",
    ) {
        super(`invalid ${source}:\n${issues.map((i) => `  ${formatIssue(i)}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

export interface LoadContext {
    /** This stack's name (for the "peer is not yourself" check). */
    readonly stack?: string;
    /** @default the checked-in facts table */
    readonly facts?: CloudFacts;
}

const NS = "crossborder";
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

type Json = unknown;

/** Collects issues while reading typed values out of loosely typed config. */
class Reader {
    readonly issues: ConfigIssue[] = [];

    issue(key: string, problem: string, fix: string): void {
        this.issues.push({ key, problem, fix });
    }

    /** Pulumi hands structured values over as JSON strings; YAML-sourced maps hand them over parsed. */
    structured(key: string, value: Json, what: "a mapping" | "a list"): Json {
        if (typeof value !== "string") return value;
        try {
            return JSON.parse(value);
        } catch {
            this.issue(
                key,
                `must be ${what}, got the string ${JSON.stringify(value)}`,
                `write it as a YAML ${what === "a mapping" ? "mapping (key: value lines)" : "list"}`,
            );
            return undefined;
        }
    }

    object(key: string, value: Json, known: readonly string[]): Record<string, Json> {
        const v = this.structured(key, value, "a mapping");
        if (v === undefined || v === null) return {};
        if (typeof v !== "object" || Array.isArray(v)) {
            this.issue(key, `must be a mapping, got ${describe(v)}`, `write it as a YAML mapping (key: value lines)`);
            return {};
        }
        for (const k of Object.keys(v)) {
            if (!known.includes(k)) {
                const near = closest(k, known);
                this.issue(
                    `${key}.${k}`,
                    "is not a known setting",
                    near
                        ? `did you mean "${near}"? Known: ${known.join(", ")}`
                        : `remove it; known settings: ${known.join(", ")}`,
                );
            }
        }
        return v as Record<string, Json>;
    }

    string(key: string, value: Json, opts: { default?: string; pattern?: RegExp; hint: string }): string {
        if (value === undefined || value === null || value === "") {
            if (opts.default !== undefined) return opts.default;
            this.issue(key, "is required", `set it to ${opts.hint}`);
            return "";
        }
        if (typeof value !== "string") {
            this.issue(key, `must be a string, got ${describe(value)}`, `set it to ${opts.hint}`);
            return "";
        }
        if (opts.pattern && !opts.pattern.test(value)) {
            this.issue(key, `${JSON.stringify(value)} is not valid`, `set it to ${opts.hint}`);
            return "";
        }
        return value;
    }

    oneOf<T extends string>(key: string, value: Json, choices: readonly T[], dflt?: T): T {
        if ((value === undefined || value === null || value === "") && dflt !== undefined) return dflt;
        if (typeof value === "string" && (choices as readonly string[]).includes(value)) return value as T;
        const shown =
            value === undefined || value === null || value === ""
                ? "is required"
                : `${JSON.stringify(value)} is not allowed`;
        const near = typeof value === "string" ? closest(value, choices) : undefined;
        this.issue(key, shown, `use one of: ${choices.join(", ")}${near ? ` (did you mean "${near}"?)` : ""}`);
        return dflt ?? choices[0];
    }

    bool(key: string, value: Json, dflt: boolean): boolean {
        if (value === undefined || value === null || value === "") return dflt;
        if (value === true || value === "true") return true;
        if (value === false || value === "false") return false;
        this.issue(key, `must be true or false, got ${describe(value)}`, `write true or false`);
        return dflt;
    }

    int(key: string, value: Json, opts: { default?: number; min: number; max: number; why?: string }): number {
        if (value === undefined || value === null || value === "") {
            if (opts.default !== undefined) return opts.default;
            this.issue(key, "is required", `set a whole number from ${opts.min} to ${opts.max}`);
            return opts.min;
        }
        const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
        if (typeof n !== "number" || !Number.isInteger(n)) {
            this.issue(
                key,
                `must be a whole number, got ${describe(value)}`,
                `set a whole number from ${opts.min} to ${opts.max}`,
            );
            return opts.default ?? opts.min;
        }
        if (n < opts.min || n > opts.max) {
            this.issue(
                key,
                `${n} is out of range${opts.why ? ` (${opts.why})` : ""}`,
                `set a whole number from ${opts.min} to ${opts.max}`,
            );
            return opts.default ?? opts.min;
        }
        return n;
    }

    list(key: string, value: Json, dflt?: readonly Json[]): readonly Json[] {
        if (value === undefined || value === null) {
            if (dflt !== undefined) return dflt;
            this.issue(key, "is required", "write it as a YAML list");
            return [];
        }
        const v = this.structured(key, value, "a list");
        if (v === undefined) return [];
        if (!Array.isArray(v)) {
            this.issue(key, `must be a list, got ${describe(v)}`, "write it as a YAML list");
            return [];
        }
        return v;
    }

    cidr(key: string, value: Json, what: string): Cidr | undefined {
        const text = this.string(key, value, { hint: `${what} such as 10.10.0.0/16` });
        if (!text) return undefined;
        const parsed = parseCidr(text);
        if (!parsed.ok) {
            this.issue(
                key,
                `${JSON.stringify(text)} ${parsed.reason}`,
                parsed.canonical ? `use ${parsed.canonical}` : `write ${what} such as 10.10.0.0/16`,
            );
            return undefined;
        }
        return parsed.cidr;
    }
}

function describe(v: Json): string {
    if (v === null) return "null";
    if (Array.isArray(v)) return "a list";
    if (typeof v === "object") return "a mapping";
    if (typeof v === "string") return JSON.stringify(v);
    return `${typeof v} ${String(v)}`;
}

function levenshtein(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let prev = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const tmp = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
            prev = tmp;
        }
    }
    return row[b.length];
}

/** The closest candidate within a small edit distance, for "did you mean" hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
    if (word.length > 64) return undefined;
    let best: string | undefined;
    let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
    for (const c of candidates) {
        const d = levenshtein(word.toLowerCase(), c.toLowerCase());
        if (d < bestDistance) {
            best = c;
            bestDistance = d;
        }
    }
    return best;
}

/** A region hint stays in the region's own family: "cn-south-1" suggests a cn- region, never af-south-1. */
function closestRegion(region: string, regions: readonly string[]): string | undefined {
    const family = region.split("-")[0];
    const same = regions.filter((r) => r.split("-")[0] === family);
    return closest(region, same.length ? same : regions) ?? (same.length ? [...same].sort()[0] : undefined);
}

const TOP_KEYS = [
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
] as const;

/**
 * Read and validate every `crossborder:*` key of `raw` (other namespaces are ignored). Throws ConfigError
 * listing every problem; returns a complete StackConfig with defaults applied otherwise.
 */
export function loadStackConfig(raw: Readonly<Record<string, unknown>>, ctx: LoadContext = {}): StackConfig {
    const facts = ctx.facts ?? cloudFacts();
    const r = new Reader();
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
                    : `remove it; settings are ${TOP_KEYS.map((k) => `${NS}:${k}`).join(", ")}`,
            );
        }
    }
    const k = (path: string) => `${NS}:${path}`;

    // The side decides every other check: a stack file without it is read as its name says (Pulumi.china.yaml
    // is china), and one whose name says neither reports that key alone rather than a cascade of wrong errors.
    const named = ctx.stack?.split("/").pop();
    const inferred = (SIDES as readonly string[]).includes(named ?? "") ? (named as Side) : undefined;
    if ((top.side === undefined || top.side === null || top.side === "") && !inferred) {
        throw new ConfigError([
            {
                key: k("side"),
                problem: "is required",
                fix: `set it to global or china (the stack file's name, Pulumi.${named ?? "<stack>"}.yaml, does not say which)`,
            },
        ]);
    }
    const side =
        top.side === undefined || top.side === null || top.side === ""
            ? inferred!
            : r.oneOf<Side>(k("side"), top.side, SIDES);
    const partition = SIDE_PARTITION[side];
    const china = side === "china";
    const other: Side = china ? "global" : "china";

    // peer
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
    if (peerStack && ctx.stack && peerStack.split("/").pop() === ctx.stack.split("/").pop()) {
        r.issue(k("peer.stack"), `"${peerStack}" names this stack itself`, `name the ${other} stack, e.g. "${other}"`);
    }
    const peerCidr =
        top.peer === undefined
            ? undefined
            : r.cidr(k("peer.vpcCidr"), peerRaw.vpcCidr, `the ${other} stack's VPC range`);

    // aws
    const awsRaw = r.object(k("aws"), top.aws, ["region"]);
    const expectedRegions = china ? "cn-north-1 or cn-northwest-1" : "an AWS commercial region such as eu-central-1";
    const awsRegion = r.string(k("aws.region"), awsRaw.region, { hint: expectedRegions });
    if (awsRegion) {
        const regionPartition = partitionOfRegion(awsRegion);
        if (!facts.aws.has(awsRegion)) {
            const near = closestRegion(awsRegion, [...facts.aws.keys()]);
            r.issue(
                k("aws.region"),
                `"${awsRegion}" is not an AWS region`,
                near
                    ? `did you mean "${near}"? (if AWS opened it recently, add it to stacks/cloud-facts.yaml)`
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
    }

    // alicloud
    const aliRaw = r.object(k("alicloud"), top.alicloud, ["region"]);
    const aliHint = china
        ? "a mainland China region such as cn-hangzhou or cn-beijing"
        : "a region outside mainland China such as eu-central-1";
    const aliRegion = r.string(k("alicloud.region"), aliRaw.region, { hint: aliHint });
    const aliFacts = aliRegion ? facts.alicloud.get(aliRegion) : undefined;
    if (aliRegion && !aliFacts) {
        const near = closestRegion(aliRegion, [...facts.alicloud.keys()]);
        r.issue(
            k("alicloud.region"),
            `"${aliRegion}" is not an Alibaba Cloud region`,
            near ? `did you mean "${near}"?` : `use ${aliHint}`,
        );
    } else if (aliFacts && aliFacts.mainland !== china) {
        r.issue(
            k("alicloud.region"),
            china
                ? `"${aliRegion}" is outside mainland China, so the china registry would pull across the border`
                : `"${aliRegion}" is inside mainland China, but the global side's registry is the origin outside it`,
            `use ${aliHint}`,
        );
    }

    // network
    const netRaw = r.object(k("network"), top.network, ["vpcCidr", "zoneCount", "natGateways"]);
    let vpcCidr = r.cidr(k("network.vpcCidr"), netRaw.vpcCidr, "a private IPv4 range");
    if (vpcCidr && (vpcCidr.prefix < 16 || vpcCidr.prefix > 24)) {
        r.issue(
            k("network.vpcCidr"),
            `${vpcCidr.text} has prefix /${vpcCidr.prefix}, outside /16-/24`,
            "AWS allows /16 at most and the subnets of three zones need /24 at least: use a /16 to /24 range",
        );
        vpcCidr = undefined; // one message per mistake: no overlap reports about a range already rejected
    } else if (vpcCidr && !isPrivate(vpcCidr)) {
        r.issue(
            k("network.vpcCidr"),
            `${vpcCidr.text} is not a private range`,
            "use a range inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10",
        );
        vpcCidr = undefined;
    }
    const zoneCountRaw = netRaw.zoneCount;
    const zoneCount =
        zoneCountRaw === undefined
            ? undefined
            : (r.int(k("network.zoneCount"), zoneCountRaw, {
                  min: 2,
                  max: 3,
                  why: "EKS needs two zones; crossborder spreads over at most three",
              }) as 2 | 3);
    const natGateways = r.oneOf(
        k("network.natGateways"),
        netRaw.natGateways,
        ["perZone", "single"] as const,
        "perZone",
    );

    if (vpcCidr && peerCidr && overlaps(vpcCidr, peerCidr)) {
        r.issue(
            k("network.vpcCidr"),
            `${vpcCidr.text} overlaps the ${other} stack's ${peerCidr.text} (crossborder:peer.vpcCidr)`,
            `the VPN routes between the two VPCs, so give this stack a range that does not overlap, e.g. ${suggestFree([peerCidr], vpcCidr.prefix)}`,
        );
    }

    // cluster
    const clRaw = r.object(k("cluster"), top.cluster, [
        "name",
        "kubernetesVersion",
        "endpointPublicAccess",
        "publicAccessCidrs",
        "nodeGroups",
    ]);
    const clusterName = r.string(k("cluster.name"), clRaw.name, {
        default: `crossborder-${side}`,
        pattern: /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/,
        hint: "1-100 letters, digits, - or _, starting with a letter or digit",
    });
    const kubernetesVersion = r.string(
        k("cluster.kubernetesVersion"),
        typeof clRaw.kubernetesVersion === "number" ? String(clRaw.kubernetesVersion) : clRaw.kubernetesVersion,
        {
            default: "1.33",
            pattern: /^1\.\d{2}$/,
            hint: 'a quoted EKS minor version such as "1.33" (unquoted 1.30 reads as 1.3)',
        },
    );
    const endpointPublicAccess = r.bool(k("cluster.endpointPublicAccess"), clRaw.endpointPublicAccess, false);
    const publicAccessCidrs = r
        .list(k("cluster.publicAccessCidrs"), clRaw.publicAccessCidrs, [])
        .map((c, i) => r.cidr(k(`cluster.publicAccessCidrs[${i}]`), c, "an IPv4 range")?.text ?? "");
    if (endpointPublicAccess && publicAccessCidrs.length === 0) {
        r.issue(
            k("cluster.publicAccessCidrs"),
            "is empty while endpointPublicAccess is true",
            "list the ranges allowed to reach the API (e.g. your office's egress /32), or set endpointPublicAccess: false",
        );
    }
    if (!endpointPublicAccess && publicAccessCidrs.length > 0) {
        r.issue(
            k("cluster.publicAccessCidrs"),
            "is set while endpointPublicAccess is false",
            "set endpointPublicAccess: true to use the allow-list, or remove it",
        );
    }
    const nodeGroups = readNodeGroups(r, k("cluster.nodeGroups"), clRaw.nodeGroups);

    // registry
    const regRaw = r.object(k("registry"), top.registry, ["instanceName", "namespace", "instanceSpec", "periodMonths"]);
    const registry = {
        instanceName: r.string(k("registry.instanceName"), regRaw.instanceName, {
            default: `crossborder-${side}`,
            pattern: /^[a-z0-9][a-z0-9-]{1,28}[a-z0-9]$/,
            hint: "3-30 lowercase letters, digits or -, not starting or ending with - (ACR EE instance name rules)",
        }),
        namespace: r.string(k("registry.namespace"), regRaw.namespace, {
            default: "crossborder",
            pattern: /^[a-z0-9]([a-z0-9_-]{0,118}[a-z0-9])?$/,
            hint: "2-120 lowercase letters, digits, - or _ (ACR EE namespace rules)",
        }),
        instanceSpec: r.oneOf(
            k("registry.instanceSpec"),
            regRaw.instanceSpec,
            ["Basic", "Standard", "Advanced"] as const,
            "Advanced",
        ),
        periodMonths: r.int(k("registry.periodMonths"), regRaw.periodMonths, { default: 1, min: 1, max: 36 }),
    };

    // ecr
    const ecrReposRaw = r.object(k("ecr"), top.ecr, ["repositories", "keepImages"]);
    const ecr = {
        repositories: r
            .list(k("ecr.repositories"), ecrReposRaw.repositories, ["platform/app"])
            .map((x, i) =>
                r.string(k(`ecr.repositories[${i}]`), x, {
                    pattern: /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/,
                    hint: "an ECR repository name such as platform/app",
                }),
            ),
        keepImages: r.int(k("ecr.keepImages"), ecrReposRaw.keepImages, { default: 30, min: 1, max: 1000 }),
    };

    // ecrRefresher
    const ecrRaw = r.object(k("ecrRefresher"), top.ecrRefresher, [
        "enabled",
        "refreshHours",
        "namespaces",
        "credentialsSecret",
    ]);
    let refreshHours = 6;
    if (ecrRaw.refreshHours !== undefined) {
        const n =
            typeof ecrRaw.refreshHours === "string" && /^\d+$/.test(ecrRaw.refreshHours)
                ? Number(ecrRaw.refreshHours)
                : ecrRaw.refreshHours;
        if (typeof n === "number" && Number.isInteger(n) && n >= ECR_TOKEN_LIFETIME_HOURS) {
            r.issue(
                k("ecrRefresher.refreshHours"),
                `${n} is not shorter than ${ECR_TOKEN_LIFETIME_HOURS} hours, so pull secrets would expire before they are refreshed`,
                `ECR tokens live ${ECR_TOKEN_LIFETIME_HOURS} hours: use 6 (the default) or any whole number from 1 to 11`,
            );
        } else {
            refreshHours = r.int(k("ecrRefresher.refreshHours"), ecrRaw.refreshHours, {
                default: 6,
                min: 1,
                max: ECR_TOKEN_LIFETIME_HOURS - 1,
            });
        }
    }
    const ecrRefresher = {
        enabled: r.bool(k("ecrRefresher.enabled"), ecrRaw.enabled, china),
        credentialsSecret:
            ecrRaw.credentialsSecret === undefined
                ? undefined
                : r.string(k("ecrRefresher.credentialsSecret"), ecrRaw.credentialsSecret, {
                      pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
                      hint: "namespace/name of a Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                  }),
        refreshHours,
        namespaces: r
            .list(k("ecrRefresher.namespaces"), ecrRaw.namespaces, ["default"])
            .map((n, i) =>
                r.string(k(`ecrRefresher.namespaces[${i}]`), n, {
                    pattern: DNS_LABEL,
                    hint: "a Kubernetes namespace name (lowercase letters, digits and -)",
                }),
            ),
    };
    if (ecrRefresher.enabled && ecrRefresher.namespaces.length === 0) {
        r.issue(
            k("ecrRefresher.namespaces"),
            "is empty while the refresher is enabled",
            "list the namespaces that need the ECR pull secret, or set enabled: false",
        );
    }

    // ingress
    const ingRaw = r.object(k("ingress"), top.ingress, ["publicHttp", "icpLicensed"]);
    const ingress = {
        publicHttp: r.bool(k("ingress.publicHttp"), ingRaw.publicHttp, false),
        icpLicensed: r.bool(k("ingress.icpLicensed"), ingRaw.icpLicensed, false),
    };
    if (china && ingress.publicHttp && !ingress.icpLicensed) {
        r.issue(
            k("ingress.publicHttp"),
            "opens ports 80/443 to the internet in mainland China without an ICP licence",
            "serving HTTP(S) publicly in China requires an ICP licence: set crossborder:ingress.icpLicensed: true once the licence is filed, or keep publicHttp: false (NodePort or an approved endpoint)",
        );
    }

    // vpn
    const vpnRaw = r.object(k("vpn"), top.vpn, [
        "enabled",
        "mode",
        "hubRegion",
        "hubVpcCidr",
        "licensedCarrier",
        "instanceType",
        "amiParameter",
    ]);
    const vpnInstanceType = r.string(k("vpn.instanceType"), vpnRaw.instanceType, {
        default: "t3.medium",
        pattern: /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/,
        hint: "an EC2 instance type such as t3.medium",
    });
    const amiParameter = r.string(k("vpn.amiParameter"), vpnRaw.amiParameter, {
        default: DEFAULT_VPN_AMI_PARAMETER,
        pattern: /^\/[A-Za-z0-9_.\-/]+$/,
        hint: "an SSM parameter path such as /aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
    });
    const vpnEnabled = r.bool(k("vpn.enabled"), vpnRaw.enabled, true);
    const vpnMode = r.oneOf(k("vpn.mode"), vpnRaw.mode, ["strongswan-ec2", "alibaba-cen"] as const, "strongswan-ec2");
    const hubRegion = r.oneOf(k("vpn.hubRegion"), vpnRaw.hubRegion, VPN_HUB_REGIONS, "ap-east-1");
    const hubCidr = vpnEnabled
        ? r.cidr(k("vpn.hubVpcCidr"), vpnRaw.hubVpcCidr, "the hub VPC's private range")
        : undefined;
    const licensedCarrier =
        vpnRaw.licensedCarrier === undefined
            ? undefined
            : r.string(k("vpn.licensedCarrier"), vpnRaw.licensedCarrier, {
                  hint: "the carrier or contract that provides the licensed cross-border line",
              });
    if (china && vpnEnabled && vpnMode === "strongswan-ec2" && !licensedCarrier) {
        r.issue(
            k("vpn.licensedCarrier"),
            "is required for a cross-border IPsec link from mainland China",
            "name the licensed carrier (or contract) whose cross-border line carries the tunnel, or use mode: alibaba-cen (Alibaba's licensed CEN cross-border bandwidth), or set enabled: false",
        );
    }
    if (hubCidr) {
        if (vpcCidr && overlaps(hubCidr, vpcCidr)) {
            r.issue(
                k("vpn.hubVpcCidr"),
                `${hubCidr.text} overlaps this stack's ${vpcCidr.text} (crossborder:network.vpcCidr)`,
                `use a range that overlaps neither VPC, e.g. ${suggestFree([vpcCidr, ...(peerCidr ? [peerCidr] : [])], hubCidr.prefix)}`,
            );
        } else if (peerCidr && overlaps(hubCidr, peerCidr)) {
            r.issue(
                k("vpn.hubVpcCidr"),
                `${hubCidr.text} overlaps the ${other} stack's ${peerCidr.text} (crossborder:peer.vpcCidr)`,
                `use a range that overlaps neither VPC, e.g. ${suggestFree([peerCidr, ...(vpcCidr ? [vpcCidr] : [])], hubCidr.prefix)}`,
            );
        }
    }

    // s3
    const s3Raw = r.object(k("s3"), top.s3, ["publicPrefix"]);
    let publicPrefix: string | undefined;
    if (china) {
        if (s3Raw.publicPrefix !== undefined) {
            r.issue(
                k("s3.publicPrefix"),
                "is set on the china side, whose bucket is private",
                "remove it: workloads in China read the bucket through their IRSA role; public downloads are served from the global side",
            );
        }
    } else {
        publicPrefix = r.string(k("s3.publicPrefix"), s3Raw.publicPrefix, {
            default: "downloads/",
            pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9._-]+)*\/$/,
            hint: 'a key prefix ending in "/", such as "downloads/"',
        });
    }

    // gitops
    const gitRaw = r.object(k("gitops"), top.gitops, ["url", "branch", "path"]);
    const gitops = {
        url: r.string(k("gitops.url"), gitRaw.url, {
            pattern: /^(https:\/\/|ssh:\/\/)[^\s]+$/,
            hint: china
                ? "an https:// or ssh:// Git URL reachable from inside China (e.g. a Codeup or self-hosted repository)"
                : "an https:// or ssh:// Git URL",
        }),
        branch: r.string(k("gitops.branch"), gitRaw.branch, {
            default: "main",
            pattern: /^[A-Za-z0-9._/-]+$/,
            hint: "a branch name",
        }),
        path: r.string(k("gitops.path"), gitRaw.path, {
            default: `clusters/${side}`,
            pattern: /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/,
            hint: `a relative path such as clusters/${side}`,
        }),
    };

    // Judged against the China host list only when the registry it fills in is itself valid (else that is the issue).
    if (china && gitops.url && registry.instanceName && registry.namespace && aliFacts?.mainland) {
        const problem = chinaGitProblem(gitops.url, {
            chinaRegistry: acrEndpoints(registry.instanceName, aliRegion).public,
            registryNamespace: registry.namespace,
        });
        if (problem)
            r.issue(
                k("gitops.url"),
                problem,
                "the china cluster's Flux pulls its tree from this URL on every reconcile: use a Git host inside mainland China (listed in gitops/mirrors.yaml chinaHosts), such as a Codeup or self-hosted repository",
            );
    }

    if (r.issues.length > 0) throw new ConfigError(r.issues);
    return {
        side,
        partition,
        peer: { stack: peerStack, vpcCidr: peerCidr!.text },
        aws: { region: awsRegion },
        alicloud: { region: aliRegion },
        network: { vpcCidr: vpcCidr!.text, zoneCount, natGateways },
        cluster: { name: clusterName, kubernetesVersion, endpointPublicAccess, publicAccessCidrs, nodeGroups },
        registry,
        ecr,
        ecrRefresher,
        ingress,
        vpn: {
            enabled: vpnEnabled,
            mode: vpnMode,
            hubRegion,
            hubVpcCidr: hubCidr?.text ?? "",
            licensedCarrier,
            instanceType: vpnInstanceType,
            amiParameter,
        },
        s3: { publicPrefix },
        gitops,
    };
}

function readNodeGroups(r: Reader, key: string, value: Json): NodeGroupConfig[] {
    const items = r.list(key, value);
    if (value !== undefined && items.length === 0)
        r.issue(key, "is empty", "define at least one node group with a name and instanceTypes");
    const seen = new Set<string>();
    return items.map((item, i) => {
        const at = `${key}[${i}]`;
        const g = r.object(at, item, [
            "name",
            "instanceTypes",
            "minSize",
            "desiredSize",
            "maxSize",
            "diskSizeGiB",
            "capacityType",
        ]);
        const name = r.string(`${at}.name`, g.name, {
            pattern: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
            hint: "a short lowercase name such as system",
        });
        if (name && seen.has(name))
            r.issue(`${at}.name`, `"${name}" is used by another node group`, "give each node group its own name");
        seen.add(name);
        const types = r.list(`${at}.instanceTypes`, g.instanceTypes);
        if (g.instanceTypes !== undefined && types.length === 0)
            r.issue(`${at}.instanceTypes`, "is empty", "list at least one instance type such as m6i.large");
        const instanceTypes = types.map((t, j) =>
            r.string(`${at}.instanceTypes[${j}]`, t, {
                pattern: /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/,
                hint: "an EC2 instance type such as m6i.large",
            }),
        );
        const minSize = r.int(`${at}.minSize`, g.minSize, { default: 2, min: 0, max: 100 });
        const desiredSize = r.int(`${at}.desiredSize`, g.desiredSize, { default: minSize, min: 0, max: 100 });
        const maxSize = r.int(`${at}.maxSize`, g.maxSize, {
            default: Math.max(minSize, desiredSize, 3),
            min: 1,
            max: 100,
        });
        if (minSize > desiredSize || desiredSize > maxSize) {
            r.issue(
                at,
                `sizes must satisfy minSize <= desiredSize <= maxSize, got ${minSize} <= ${desiredSize} <= ${maxSize}`,
                "adjust minSize, desiredSize or maxSize",
            );
        }
        return {
            name,
            instanceTypes,
            minSize,
            desiredSize,
            maxSize,
            diskSizeGiB: r.int(`${at}.diskSizeGiB`, g.diskSizeGiB, { default: 50, min: 20, max: 16384 }),
            capacityType: r.oneOf(`${at}.capacityType`, g.capacityType, ["ON_DEMAND", "SPOT"] as const, "ON_DEMAND"),
        };
    });
}

/** A private range of the given prefix that overlaps none of `taken`, for fix suggestions. */
function suggestFree(taken: readonly Cidr[], prefix: number): string {
    const p = Math.max(prefix, 16);
    for (let second = 10; second < 256; second += 10) {
        const candidate = parseCidr(`10.${second}.0.0/${p}`);
        if (candidate.ok && !taken.some((t) => overlaps(t, candidate.cidr))) return candidate.cidr.text;
    }
    return `172.16.0.0/${p}`;
}

/**
 * Why a Git URL cannot serve the china cluster, or undefined: judged by the host the WHATWG URL parser
 * yields, against the same chinaHosts list the border audit uses (gitops/mirrors.yaml).
 */
function chinaGitProblem(url: string, vars: MirrorVars): string | undefined {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return `${JSON.stringify(url)} is not a URL`;
    }
    if (parsed.password || (parsed.username && parsed.protocol !== "ssh:"))
        return `${JSON.stringify(url)} carries credentials or a user before the host`;
    const mirrors = loadMirrors(DEFAULT_MIRRORS_FILE, vars);
    if (!isChinaHost(mirrors, parsed.host) && !isChinaHost(mirrors, parsed.hostname))
        return `${parsed.host} is not a host inside China`;
    return undefined;
}

/**
 * The instance-type rule. Runs where the region's offerings are known: in the program, after
 * `aws.ec2.getInstanceTypeOfferings` (answered by AWS on a real run and by the facts table offline).
 */
export function checkInstanceTypes(cfg: StackConfig, offered: ReadonlySet<string>): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    for (const { key, type } of instanceTypeKeys(cfg)) {
        if (offered.has(type)) continue;
        const family = splitInstanceType(type)?.family;
        const alternatives = [...offered].filter((o) => family && o.startsWith(`${family}.`)).sort();
        const fix =
            alternatives.length > 0
                ? `sizes of ${family} offered there: ${alternatives.join(", ")}`
                : `pick a family the region offers, e.g. ${pickExamples(offered)}`;
        issues.push({ key, problem: `${type} is not offered in ${cfg.aws.region}`, fix });
    }
    return issues;
}

/** Whether this side runs the strongSwan endpoint (and so needs its instance type). */
export function runsIpsecEndpoint(cfg: StackConfig): boolean {
    return cfg.side === "china" && cfg.vpn.enabled && cfg.vpn.mode === "strongswan-ec2";
}

/** Every instance type the config names, with the key that names it. */
function instanceTypeKeys(cfg: StackConfig): { key: string; type: string }[] {
    const keys = cfg.cluster.nodeGroups.flatMap((g, i) =>
        g.instanceTypes.map((type, j) => ({ key: `${NS}:cluster.nodeGroups[${i}].instanceTypes[${j}]`, type })),
    );
    if (runsIpsecEndpoint(cfg)) keys.push({ key: `${NS}:vpn.instanceType`, type: cfg.vpn.instanceType });
    return keys;
}

function pickExamples(offered: ReadonlySet<string>): string {
    const list = [...offered].sort();
    return list.length
        ? list
              .filter((t) => t.endsWith(".large"))
              .slice(0, 3)
              .join(", ") || list.slice(0, 3).join(", ")
        : "m6i.large";
}

/** Every instance type named by the config, for the offerings invoke. */
export function instanceTypesOf(cfg: StackConfig): string[] {
    return [...new Set(instanceTypeKeys(cfg).map((k) => k.type))].sort();
}

/**
 * Checks between the two halves of a pair, when both stack files are at hand (the offline plan): each
 * side's peer settings must describe the other side. Returns issues keyed by the stack they belong to.
 */
export function checkPair(
    global: { stack: string; cfg: StackConfig },
    china: { stack: string; cfg: StackConfig },
): { stack: string; issue: ConfigIssue }[] {
    const out: { stack: string; issue: ConfigIssue }[] = [];
    const pairs: [typeof global, typeof china][] = [
        [global, china],
        [china, global],
    ];
    for (const [self, peer] of pairs) {
        if (self.cfg.side === peer.cfg.side) {
            out.push({
                stack: self.stack,
                issue: {
                    key: `${NS}:side`,
                    problem: `both stacks say side: ${self.cfg.side}`,
                    fix: `set crossborder:side to ${self.cfg.side === "global" ? "china" : "global"} in one of them`,
                },
            });
            break;
        }
        if (self.cfg.peer.vpcCidr !== peer.cfg.network.vpcCidr) {
            out.push({
                stack: self.stack,
                issue: {
                    key: `${NS}:peer.vpcCidr`,
                    problem: `${self.cfg.peer.vpcCidr} differs from the ${peer.stack} stack's crossborder:network.vpcCidr ${peer.cfg.network.vpcCidr}`,
                    fix: `set it to ${peer.cfg.network.vpcCidr}`,
                },
            });
        }
        if (self.cfg.peer.stack.split("/").pop() !== peer.stack) {
            out.push({
                stack: self.stack,
                issue: {
                    key: `${NS}:peer.stack`,
                    problem: `"${self.cfg.peer.stack}" does not name the ${peer.stack} stack`,
                    fix: `use "organization/crossborder/${peer.stack}" (or your org's fully qualified name)`,
                },
            });
        }
    }
    if (global.cfg.registry.namespace !== china.cfg.registry.namespace) {
        out.push({
            stack: china.stack,
            issue: {
                key: `${NS}:registry.namespace`,
                problem: `"${china.cfg.registry.namespace}" differs from the ${global.stack} stack's "${global.cfg.registry.namespace}"; the replication rule maps one namespace to the same name`,
                fix: `set it to "${global.cfg.registry.namespace}"`,
            },
        });
    }
    if (global.cfg.vpn.enabled && china.cfg.vpn.enabled && global.cfg.vpn.hubVpcCidr !== china.cfg.vpn.hubVpcCidr) {
        out.push({
            stack: china.stack,
            issue: {
                key: `${NS}:vpn.hubVpcCidr`,
                problem: `${china.cfg.vpn.hubVpcCidr} differs from the ${global.stack} stack's hub ${global.cfg.vpn.hubVpcCidr}`,
                fix: `set it to ${global.cfg.vpn.hubVpcCidr}`,
            },
        });
    }
    return out;
}
