/**
 * The one typed schema for every `crossborder:*` stack config key, and its validation: this file reads the
 * side and its place (peer, regions), and one file per component reads that component's keys
 * (network.ts, cluster.ts, registry.ts, ecr.ts, vpn.ts, serving.ts, gitops.ts).
 *
 * Pure: no Pulumi import. The program feeds it `pulumi.runtime.allConfig()`; the offline plan feeds it the
 * same map built from the stack file. Every problem becomes a ConfigIssue that names the key, says what is
 * wrong and how to fix it; all problems are collected before anything is created.
 */
import { Partition, partitionOfRegion, Side, SIDE_PARTITION, SIDES } from "../../components/partition";
import { CloudFacts, cloudFacts, splitInstanceType } from "../facts";
import { ClusterConfig, readCluster } from "./cluster";
import { EcrConfig, EcrRefresherConfig, readEcr, readEcrRefresher } from "./ecr";
import { FluxConfig, GitopsConfig, readFlux, readGitops } from "./gitops";
import { NetworkConfig, readNetwork } from "./network";
import { ConfigError, ConfigIssue, closest, closestRegion, Json, NS, Reader, Scope } from "./reader";
import { readRegistry, RegistryConfig } from "./registry";
import { IngressConfig, readIngress, readS3, S3Config } from "./serving";
import { readVpn, VpnConfig } from "./vpn";

export { SIDES, SIDE_PARTITION } from "../../components/partition";
export type { Side } from "../../components/partition";
export type { NodeGroupSpec as NodeGroupConfig } from "../../components/cluster/spec";
export { ECR_TOKEN_LIFETIME_HOURS } from "../../components/ecr/limits";
export { apiAccess } from "./cluster";
export { closest, ConfigError, formatIssue } from "./reader";
export type { ConfigIssue } from "./reader";
export { DEFAULT_VPN_AMI_PARAMETER, VPN_HUB_REGIONS } from "./vpn";
export type {
    ClusterConfig,
    EcrConfig,
    EcrRefresherConfig,
    FluxConfig,
    GitopsConfig,
    IngressConfig,
    NetworkConfig,
    RegistryConfig,
    S3Config,
    VpnConfig,
};

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
    readonly network: NetworkConfig;
    readonly cluster: ClusterConfig;
    readonly registry: RegistryConfig;
    readonly ecr: EcrConfig;
    readonly ecrRefresher: EcrRefresherConfig;
    readonly ingress: IngressConfig;
    readonly vpn: VpnConfig;
    readonly s3: S3Config;
    readonly gitops: GitopsConfig;
    readonly flux: FluxConfig;
}

export interface LoadContext {
    /** This stack's name (for the "peer is not yourself" check). */
    readonly stack?: string;
    /** @default the checked-in facts table */
    readonly facts?: CloudFacts;
    /** Whether a full key (`crossborder:<key>`) was set as a secret. @default none is */
    readonly isSecret?: (fullKey: string) => boolean;
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
    "flux",
    // Secrets: top-level keys, so that `pulumi config set --secret crossborder:<key>` encrypts just them.
    "registryPullPassword",
    "gitopsToken",
    "gitopsSshKey",
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

    const s: Scope = { r, side, china, other, facts, top, isSecret: ctx.isSecret ?? (() => false) };
    const { network, vpcCidr } = readNetwork(s, peerCidr);
    const cluster = readCluster(s);
    const registry = readRegistry(s);
    const ecr = readEcr(s);
    const ecrRefresher = readEcrRefresher(s);
    const ingress = readIngress(s);
    const vpn = readVpn(s);
    const s3 = readS3(s);
    const gitops = readGitops(s, registry, aliRegion, Boolean(aliFacts?.mainland));
    const flux = readFlux(s);

    if (r.issues.length > 0) throw new ConfigError(r.issues);
    return {
        side,
        partition,
        peer: { stack: peerStack, vpcCidr: peerCidr!.text },
        aws: { region: awsRegion },
        alicloud: { region: aliRegion },
        network: { ...network, vpcCidr: vpcCidr!.text },
        cluster,
        registry,
        ecr,
        ecrRefresher,
        ingress,
        vpn,
        s3,
        gitops,
        flux,
    };
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
    return cfg.side === "china" && cfg.vpn.enabled;
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
    return out;
}
