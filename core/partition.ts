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

/** The two sides of a crossborder pair: outside mainland China, and inside it. */
export type Side = "global" | "china";
export const SIDES: readonly Side[] = ["global", "china"];

/** The AWS partition each side deploys to. */
export const SIDE_PARTITION: Record<Side, Partition> = { global: "aws", china: "aws-cn" };

interface PartitionInfo {
    readonly dnsSuffix: string;
    readonly regionPrefix?: string;
}

const INFO: Record<Partition, PartitionInfo> = {
    aws: { dnsSuffix: "amazonaws.com" },
    "aws-cn": { dnsSuffix: "amazonaws.com.cn", regionPrefix: "cn-" },
};

/**
 * Every service principal crossborder puts in a trust policy, per partition, with its source. The China
 * partition is not uniform: EC2 takes the `.cn` suffix there, EKS does not, so the table is written out
 * rather than derived from the DNS suffix. A service missing here is refused: add it with its source.
 */
export const SERVICE_PRINCIPALS: Readonly<
    Record<string, { readonly principals: Readonly<Record<Partition, string>>; readonly source: string }>
> = {
    // IAM refuses eks.amazonaws.com.cn with "MalformedPolicyDocument: Invalid principal"
    // (terraform-aws-modules/terraform-aws-eks #1904 and #2263, aws-ia/terraform-aws-eks-blueprints #1551);
    // the Amazon EKS user guide for the China regions trusts eks.amazonaws.com in aws-cn too.
    eks: {
        principals: { aws: "eks.amazonaws.com", "aws-cn": "eks.amazonaws.com" },
        source: "Amazon EKS in the China regions (docs.amazonaws.cn, EKS cluster IAM role); terraform-aws-eks #1904, #2263",
    },
    // EC2 in aws-cn is ec2.amazonaws.com.cn (kubernetes/kops #27: ec2.amazonaws.com is an invalid principal there).
    ec2: {
        principals: { aws: "ec2.amazonaws.com", "aws-cn": "ec2.amazonaws.com.cn" },
        source: "AWS China IAM user guide, service principals; kubernetes/kops #27",
    },
    // EKS Pod Identity: the China EKS user guide shows pods.eks.amazonaws.com.
    "pods.eks": {
        principals: { aws: "pods.eks.amazonaws.com", "aws-cn": "pods.eks.amazonaws.com" },
        source: "Amazon EKS in the China regions, EKS Pod Identity role trust policy",
    },
};

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

/** The service principal for `service` in `partition`, from SERVICE_PRINCIPALS; an unlisted service is refused. */
export function servicePrincipal(partition: Partition, service: string): string {
    const entry = Object.prototype.hasOwnProperty.call(SERVICE_PRINCIPALS, service)
        ? SERVICE_PRINCIPALS[service]
        : undefined;
    if (!entry) {
        throw new Error(
            `servicePrincipal: "${service}" is not in SERVICE_PRINCIPALS; add its principal for each partition there, with the document that gives it`,
        );
    }
    return entry.principals[partition];
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
