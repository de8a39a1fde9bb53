import * as assert from "assert";
import { cloudFacts, instanceTypeOffering, parseFacts } from "../../core/cloud-facts";
import { loadStackConfig, instanceTypesOf } from "../../stacks/config";
import { exampleConfig, isExampleSecret } from "../helpers";

describe("cloud facts table", () => {
    const facts = cloudFacts();

    it("puts both China regions in aws-cn and the hub regions in aws", () => {
        assert.strictEqual(facts.aws.get("cn-north-1")?.partition, "aws-cn");
        assert.strictEqual(facts.aws.get("cn-northwest-1")?.partition, "aws-cn");
        assert.strictEqual(facts.aws.get("ap-east-1")?.partition, "aws");
        assert.strictEqual(facts.aws.get("ap-southeast-1")?.partition, "aws");
    });

    it("records Beijing's zones as a, b and d", () => {
        assert.deepStrictEqual(facts.aws.get("cn-north-1")?.zones, ["cn-north-1a", "cn-north-1b", "cn-north-1d"]);
    });

    it("has zones for every region the examples and the VPN hubs use", () => {
        for (const region of ["eu-central-1", "cn-northwest-1", "cn-north-1", "ap-east-1", "ap-southeast-1"]) {
            assert.ok((facts.aws.get(region)?.zones?.length ?? 0) >= 2, region);
        }
    });

    it("offers every instance type the example stacks use", () => {
        for (const side of ["global", "china"] as const) {
            const cfg = loadStackConfig(exampleConfig(side), { isSecret: isExampleSecret });
            for (const t of instanceTypesOf(cfg))
                assert.strictEqual(
                    instanceTypeOffering(facts, cfg.aws.region, t),
                    "offered",
                    `${t} in ${cfg.aws.region}`,
                );
        }
    });

    it("distinguishes not offered from not covered", () => {
        assert.strictEqual(instanceTypeOffering(facts, "cn-northwest-1", "trn1.2xlarge"), "not-offered");
        assert.strictEqual(instanceTypeOffering(facts, "cn-northwest-1", "x2idn.16xlarge"), "unknown");
        assert.strictEqual(instanceTypeOffering(facts, "eu-central-1", "m6i.large"), "offered");
    });

    it("separates mainland Alibaba regions from Hong Kong", () => {
        assert.strictEqual(facts.alicloud.get("cn-hangzhou")?.mainland, true);
        assert.strictEqual(facts.alicloud.get("cn-hongkong")?.mainland, false);
    });

    it("rejects a malformed table with the file and key", () => {
        assert.throws(
            () =>
                parseFacts(
                    "aws:\n  regions:\n    eu-west-1: { name: x, zones: [us-east-1a] }\nalicloud: { regions: {} }\n",
                    "facts.yaml",
                ),
            /facts\.yaml: aws\.regions\.eu-west-1\.zones/,
        );
    });
});
