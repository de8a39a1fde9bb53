/**
 * Partition helpers: the one place that knows how `aws` and `aws-cn` differ in ARNs, DNS suffixes and
 * service principals. Components derive every ARN and principal from here (or, on a real run, from
 * `aws.getPartitionOutput()` fed through these functions); no component writes an ARN with a fixed partition.
 *
 * Sources: AWS General Reference "Amazon Resource Names" (partition field) and the AWS China getting
 * started guide ("ARNs in the China Regions use arn:aws-cn", endpoints under amazonaws.com.cn).
 */

/** The AWS partitions crossborder deploys to. */
export type Partition = "aws" | "aws-cn";

export const PARTITIONS: readonly Partition[] = ["aws", "aws-cn"];

interface PartitionInfo {
    readonly dnsSuffix: string;
    readonly regionPrefix?: string;
}

const INFO: Record<Partition, PartitionInfo> = {
    aws: { dnsSuffix: "amazonaws.com" },
    "aws-cn": { dnsSuffix: "amazonaws.com.cn", regionPrefix: "cn-" },
};

/**
 * Principals that are the same string in every partition even though the service runs in China.
 * The China EKS user guide shows `pods.eks.amazonaws.com` for EKS Pod Identity trust policies.
 */
const UNIVERSAL_PRINCIPALS: ReadonlySet<string> = new Set(["pods.eks"]);

export function isPartition(value: string): value is Partition {
    return (PARTITIONS as readonly string[]).includes(value);
}

/** The partition a region belongs to, from its name (`cn-*` regions are `aws-cn`). */
export function partitionOfRegion(region: string): Partition | "aws-us-gov" {
    if (region.startsWith("cn-")) return "aws-cn";
    if (region.startsWith("us-gov-")) return "aws-us-gov";
    return "aws";
}

/** `amazonaws.com` or `amazonaws.com.cn`. */
export function dnsSuffix(partition: Partition): string {
    return INFO[partition].dnsSuffix;
}

/**
 * The service principal for `service` in `partition`: `eks.amazonaws.com` / `eks.amazonaws.com.cn`.
 * A handful of principals are universal (see UNIVERSAL_PRINCIPALS) and keep `amazonaws.com`.
 */
export function servicePrincipal(partition: Partition, service: string): string {
    if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(service)) {
        throw new Error(`servicePrincipal: "${service}" is not a service name such as "eks" or "ec2"`);
    }
    const suffix = UNIVERSAL_PRINCIPALS.has(service) ? INFO.aws.dnsSuffix : dnsSuffix(partition);
    return `${service}.${suffix}`;
}

/** The STS audience/client ids an IRSA OIDC provider must list: both forms in `aws-cn`. */
export function stsClientIds(partition: Partition): string[] {
    return partition === "aws-cn" ? ["sts.amazonaws.com", "sts.amazonaws.com.cn"] : ["sts.amazonaws.com"];
}

export interface ArnParts {
    readonly partition: Partition;
    readonly service: string;
    /** Empty for global services such as IAM and S3 buckets. @default "" */
    readonly region?: string;
    /** Empty for services such as S3 buckets. @default "" */
    readonly account?: string;
    /** The resource part, e.g. `role/eks-cluster` or `my-bucket/prefix/*`. */
    readonly resource: string;
}

/** `arn:<partition>:<service>:<region>:<account>:<resource>` */
export function arn(parts: ArnParts): string {
    const { partition, service, region = "", account = "", resource } = parts;
    if (!isPartition(partition)) throw new Error(`arn: unknown partition "${partition}"`);
    if (region && partitionOfRegion(region) !== partition) {
        throw new Error(`arn: region "${region}" is not in partition "${partition}"`);
    }
    return `arn:${partition}:${service}:${region}:${account}:${resource}`;
}

/** ARN of an AWS managed IAM policy, e.g. `AmazonEKSClusterPolicy`. */
export function managedPolicyArn(partition: Partition, policyName: string): string {
    return arn({ partition, service: "iam", account: "aws", resource: `policy/${policyName}` });
}

/** The ECR registry host of an account in a region, e.g. `123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn`. */
export function ecrRegistry(partition: Partition, account: string, region: string): string {
    return `${account}.dkr.${serviceEndpoint(partition, "ecr", region)}`;
}

/** The regional endpoint host of a service, e.g. `ecr.cn-north-1.amazonaws.com.cn`. */
export function serviceEndpoint(partition: Partition, service: string, region: string): string {
    return `${service}.${region}.${dnsSuffix(partition)}`;
}
