import * as assert from "assert";
import {
    arn,
    dnsSuffix,
    managedPolicyArn,
    partitionOfRegion,
    serviceEndpoint,
    SERVICE_PRINCIPALS,
    servicePrincipal,
    stsClientIds,
} from "../../core/partition";

describe("partition helpers", () => {
    it("maps regions to their partition by name", () => {
        assert.strictEqual(partitionOfRegion("eu-central-1"), "aws");
        assert.strictEqual(partitionOfRegion("cn-north-1"), "aws-cn");
        assert.strictEqual(partitionOfRegion("cn-northwest-1"), "aws-cn");
        assert.strictEqual(partitionOfRegion("us-gov-west-1"), "aws-us-gov");
    });

    it("gives the DNS suffix of each partition", () => {
        assert.strictEqual(dnsSuffix("aws"), "amazonaws.com");
        assert.strictEqual(dnsSuffix("aws-cn"), "amazonaws.com.cn");
    });

    // Every principal the program uses, per partition, with where it is written down. A wrong entry here
    // is a failed first `pulumi up` (IAM: MalformedPolicyDocument: Invalid principal).
    const PRINCIPALS: [string, string, string, string][] = [
        ["eks", "aws", "eks.amazonaws.com", "EKS user guide, cluster IAM role"],
        [
            "eks",
            "aws-cn",
            "eks.amazonaws.com",
            "EKS in the China regions; IAM refuses eks.amazonaws.com.cn (terraform-aws-eks #1904, #2263)",
        ],
        ["ec2", "aws", "ec2.amazonaws.com", "IAM user guide, service principals"],
        ["ec2", "aws-cn", "ec2.amazonaws.com.cn", "AWS China IAM; ec2.amazonaws.com is refused there (kops #27)"],
        ["pods.eks", "aws", "pods.eks.amazonaws.com", "EKS Pod Identity"],
        ["pods.eks", "aws-cn", "pods.eks.amazonaws.com", "EKS Pod Identity in the China regions"],
    ];
    for (const [service, partition, principal, source] of PRINCIPALS) {
        it(`trusts ${principal} for ${service} in ${partition} (${source})`, () => {
            assert.strictEqual(servicePrincipal(partition as "aws" | "aws-cn", service), principal);
        });
    }

    it("has a source for every principal in its table, and refuses a service it does not list", () => {
        for (const [service, entry] of Object.entries(SERVICE_PRINCIPALS)) assert.ok(entry.source.length > 10, service);
        assert.deepStrictEqual(
            Object.keys(SERVICE_PRINCIPALS).sort(),
            [...new Set(PRINCIPALS.map((p) => p[0]))].sort(),
        );
        assert.throws(() => servicePrincipal("aws-cn", "lambda"), /not in SERVICE_PRINCIPALS/);
        assert.throws(() => servicePrincipal("aws", "eks.amazonaws.com/"), /not in SERVICE_PRINCIPALS/);
        assert.throws(() => servicePrincipal("aws", "constructor"), /not in SERVICE_PRINCIPALS/);
    });

    it("lists both STS client ids for IRSA in aws-cn", () => {
        assert.deepStrictEqual(stsClientIds("aws"), ["sts.amazonaws.com"]);
        assert.deepStrictEqual(stsClientIds("aws-cn"), ["sts.amazonaws.com", "sts.amazonaws.com.cn"]);
    });

    it("builds ARNs for both partitions", () => {
        assert.strictEqual(
            arn({ partition: "aws", service: "iam", account: "123456789012", resource: "role/x" }),
            "arn:aws:iam::123456789012:role/x",
        );
        assert.strictEqual(
            arn({ partition: "aws-cn", service: "s3", resource: "bucket/*" }),
            "arn:aws-cn:s3:::bucket/*",
        );
        assert.strictEqual(
            arn({ partition: "aws-cn", service: "eks", region: "cn-north-1", account: "1", resource: "cluster/c" }),
            "arn:aws-cn:eks:cn-north-1:1:cluster/c",
        );
        assert.strictEqual(
            managedPolicyArn("aws-cn", "AmazonEKSClusterPolicy"),
            "arn:aws-cn:iam::aws:policy/AmazonEKSClusterPolicy",
        );
        assert.strictEqual(
            managedPolicyArn("aws", "AmazonEKSClusterPolicy"),
            "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
        );
    });

    it("refuses an ARN whose region is in another partition", () => {
        assert.throws(
            () => arn({ partition: "aws", service: "eks", region: "cn-north-1", resource: "cluster/c" }),
            /not in partition "aws"/,
        );
        assert.throws(
            () => arn({ partition: "aws-cn", service: "eks", region: "eu-central-1", resource: "cluster/c" }),
            /not in partition "aws-cn"/,
        );
    });

    it("builds regional endpoints", () => {
        assert.strictEqual(serviceEndpoint("aws-cn", "ecr", "cn-north-1"), "ecr.cn-north-1.amazonaws.com.cn");
        assert.strictEqual(serviceEndpoint("aws", "ecr", "eu-central-1"), "ecr.eu-central-1.amazonaws.com");
    });
});
