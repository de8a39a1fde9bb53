/**
 * The one typed schema for every `crossborder:*` stack config key, and its validation: this file reads the
 * side and its place (peer, regions), and one file per component reads that component's keys
 * (network.ts, cluster.ts, registry.ts, ecr.ts, vpn.ts, serving.ts, gitops.ts).
 *
 * Pure: no Pulumi import. The program feeds it `pulumi.runtime.allConfig()`; the offline plan feeds it the
 * same map built from the stack file. Every problem becomes a ConfigIssue that names the key, says what is
 * wrong and how to fix it; all problems are collected before anything is created.
 */
import { Partition, Side, SIDE_PARTITION } from "../../core/partition";
import { CloudFacts, cloudFacts, splitInstanceType } from "../../core/cloud-facts";
import { ClusterConfig, readCluster } from "./cluster";
import { EcrConfig, EcrRefresherConfig, readEcr, readEcrRefresher } from "./ecr";
import { FluxConfig, GitopsConfig, readFlux, readGitops } from "./gitops";
import { NetworkConfig, readNetwork } from "./network";
import { ConfigError, ConfigIssue, NS, Reader, Scope } from "./reader";
import { readAlicloudRegion, readAwsRegion, readPeer, readSide, topLevel } from "./place";
import { readRegistry, RegistryConfig } from "./registry";
import { IngressConfig, readIngress, readS3, S3Config } from "./serving";
import { readVpn, VpnConfig } from "./vpn";

export { SIDES, SIDE_PARTITION } from "../../core/partition";
export type { Side } from "../../core/partition";
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

/**
 * Read and validate every `crossborder:*` key of `raw` (other namespaces are ignored). Throws ConfigError
 * listing every problem; returns a complete StackConfig with defaults applied otherwise.
 */
export function loadStackConfig(raw: Readonly<Record<string, unknown>>, ctx: LoadContext = {}): StackConfig {
    const facts = ctx.facts ?? cloudFacts();
    const r = new Reader();
    const top = topLevel(r, raw);
    const side = readSide(r, top, ctx.stack);
    const china = side === "china";
    const s: Scope = {
        r,
        side,
        china,
        other: china ? "global" : "china",
        facts,
        top,
        isSecret: ctx.isSecret ?? (() => false),
    };
    const peer = readPeer(s, ctx.stack);
    const awsRegion = readAwsRegion(s);
    const alicloud = readAlicloudRegion(s);
    const { network, vpcCidr } = readNetwork(s, peer.cidr);
    const cluster = readCluster(s);
    const registry = readRegistry(s);
    const ecr = readEcr(s);
    const ecrRefresher = readEcrRefresher(s);
    const ingress = readIngress(s);
    const vpn = readVpn(s);
    const s3 = readS3(s);
    const gitops = readGitops(s, registry, alicloud.region, Boolean(alicloud.facts?.mainland));
    const flux = readFlux(s);

    if (r.issues.length > 0) throw new ConfigError(r.issues);
    return {
        side,
        partition: SIDE_PARTITION[side],
        peer: { stack: peer.stack, vpcCidr: peer.cidr!.text },
        aws: { region: awsRegion },
        alicloud: { region: alicloud.region },
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
