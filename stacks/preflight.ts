/**
 * Checks that need the cloud's answer but must still run before any cloud resource is created: the
 * partition the provider really talks to, the region's zones, and whether every node instance type is
 * offered there. On a real run AWS answers these invokes; the offline plan answers them from
 * core/cloud-facts.yaml. Failures are ConfigErrors naming the config key.
 */
import * as aws from "@pulumi/aws";
import { Partition } from "../core/partition";
import { checkInstanceTypes, ConfigError, instanceTypesOf, StackConfig } from "./config";

export interface Preflight {
    readonly partition: Partition;
    readonly dnsSuffix: string;
    /** The zones the side uses: the first `zoneCount` available zones (three where offered). */
    readonly zones: readonly string[];
    /** The account the credentials belong to (bucket names, ECR registry host). */
    readonly accountId: string;
}

export async function preflight(cfg: StackConfig, provider: aws.Provider): Promise<Preflight> {
    const [partition, zones, offerings, identity] = await Promise.all([
        aws.getPartition({}, { provider }),
        aws.getAvailabilityZones({ state: "available" }, { provider }),
        aws.ec2.getInstanceTypeOfferings(
            { locationType: "region", filters: [{ name: "instance-type", values: instanceTypesOf(cfg) }] },
            { provider },
        ),
        aws.getCallerIdentity({}, { provider }),
    ]);
    const issues = [];
    if (partition.partition !== cfg.partition) {
        issues.push({
            key: "crossborder:aws.region",
            problem: `the AWS provider for ${cfg.aws.region} reports partition ${partition.partition}, not ${cfg.partition}`,
            fix: `use credentials and a region of the ${cfg.partition} partition for the ${cfg.side} stack`,
        });
    }
    issues.push(...checkInstanceTypes(cfg, new Set(offerings.instanceTypes)));
    const available = [...zones.names].sort();
    const wanted = cfg.network.zoneCount ?? Math.min(3, available.length);
    if (available.length < wanted || available.length < 2) {
        issues.push({
            key: "crossborder:network.zoneCount",
            problem: `${cfg.aws.region} has ${available.length} available zone(s), fewer than ${wanted}`,
            fix:
                available.length >= 2
                    ? `set zoneCount: ${Math.min(available.length, 3)}`
                    : "choose a region with at least two zones",
        });
    }
    if (issues.length > 0) throw new ConfigError(issues);
    return {
        partition: partition.partition as Partition,
        dnsSuffix: partition.dnsSuffix,
        zones: available.slice(0, wanted),
        accountId: identity.accountId,
    };
}
