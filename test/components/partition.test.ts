import * as assert from "assert";
import {
    arn,
    dnsSuffix,
    managedPolicyArn,
    partitionOfRegion,
    serviceEndpoint,
    servicePrincipal,
    stsClientIds,
} from "../../components/partition";

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

    it("derives service principals per partition", () => {
        assert.strictEqual(servicePrincipal("aws", "eks"), "eks.amazonaws.com");
        assert.strictEqual(servicePrincipal("aws-cn", "eks"), "eks.amazonaws.com.cn");
        assert.strictEqual(servicePrincipal("aws", "ec2"), "ec2.amazonaws.com");
        assert.strictEqual(servicePrincipal("aws-cn", "ec2"), "ec2.amazonaws.com.cn");
    });

    it("keeps universal principals unchanged in aws-cn", () => {
        assert.strictEqual(servicePrincipal("aws-cn", "pods.eks"), "pods.eks.amazonaws.com");
    });

    it("rejects a principal that is not a service name", () => {
        assert.throws(() => servicePrincipal("aws", "eks.amazonaws.com/"), /not a service name/);
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
