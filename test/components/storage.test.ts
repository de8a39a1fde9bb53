/** The ServingBucket component alone: the public prefix is the only public grant; the China bucket has none. */
import * as assert from "assert";
import { ServingBucket } from "../../components/storage";
import { oneOf, ofType, recordComponent } from "../component-harness";

describe("ServingBucket", () => {
    it("public-prefix: only objects under the prefix are public, ACLs stay blocked, TLS only", async () => {
        const records = await recordComponent(
            () =>
                new ServingBucket(
                    "d",
                    { kind: "public-prefix", partition: "aws", bucketName: "b1", publicPrefix: "downloads/" },
                    {},
                ),
        );
        const bpa = oneOf(records, "BucketPublicAccessBlock").inputs;
        assert.deepStrictEqual(
            [bpa.blockPublicAcls, bpa.ignorePublicAcls, bpa.blockPublicPolicy, bpa.restrictPublicBuckets],
            [true, true, false, false],
        );
        const policy = JSON.parse(String(oneOf(records, "BucketPolicy").inputs.policy));
        const allows = policy.Statement.filter((s: { Effect: string }) => s.Effect === "Allow");
        assert.deepStrictEqual(
            allows.map((s: { Resource: string }) => s.Resource),
            ["arn:aws:s3:::b1/downloads/*"],
        );
        assert.ok(
            policy.Statement.some((s: { Sid: string; Effect: string }) => s.Sid === "TlsOnly" && s.Effect === "Deny"),
        );
        assert.strictEqual(ofType(records, "Role").length, 0);
    });

    it("private-irsa (China): everything blocked, read through an IRSA role with aws-cn ARNs", async () => {
        const records = await recordComponent(
            () =>
                new ServingBucket(
                    "c",
                    {
                        kind: "private-irsa",
                        partition: "aws-cn",
                        bucketName: "b2",
                        oidcProviderArn:
                            "arn:aws-cn:iam::000000000000:oidc-provider/oidc.eks.cn-northwest-1.amazonaws.com.cn/id/X",
                        issuerUrl: "https://oidc.eks.cn-northwest-1.amazonaws.com.cn/id/X",
                    },
                    {},
                ),
            { stack: "china" },
        );
        const bpa = oneOf(records, "BucketPublicAccessBlock").inputs;
        assert.ok(
            [bpa.blockPublicAcls, bpa.ignorePublicAcls, bpa.blockPublicPolicy, bpa.restrictPublicBuckets].every(
                (v) => v === true,
            ),
        );
        const policy = JSON.parse(String(oneOf(records, "BucketPolicy").inputs.policy));
        assert.ok(
            policy.Statement.every((s: { Effect: string }) => s.Effect === "Deny"),
            "no public grant",
        );
        const text = JSON.stringify(records.map((r) => r.inputs));
        assert.ok(text.includes("arn:aws-cn:s3:::b2"), "bucket ARNs in the aws-cn partition");
        assert.ok(!/arn:aws:/.test(text), "no ARN of the aws partition");
        assert.strictEqual(ofType(records, "Role").length, 1);
    });
});
