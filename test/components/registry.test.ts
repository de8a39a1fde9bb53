/** The ACR EE components alone: the instance is protected and never open to the whole internet; the sync rule keeps names. */
import * as assert from "assert";
import { RegistryInstance, RegistrySyncRule } from "../../components/registry";
import { oneOf, ofType, recordComponent } from "../component-harness";

const base = { instanceName: "crossborder-china", region: "cn-hangzhou", namespace: "platform" };

describe("RegistryInstance and RegistrySyncRule", () => {
    it("protects the subscription instance and lists exactly who may reach its internet endpoint", async () => {
        const records = await recordComponent(
            () =>
                new RegistryInstance(
                    "r",
                    {
                        ...base,
                        role: "china",
                        internetAccess: [
                            { cidr: "203.0.113.1/32", description: "nat 1" },
                            { cidr: "198.51.100.0/24", description: "runner" },
                        ],
                    },
                    {},
                ),
            { stack: "china" },
        );
        const instance = oneOf(records, "RegistryEnterpriseInstance");
        assert.strictEqual(instance.protect, true);
        assert.ok(instance.additionalSecretOutputs?.includes("password"));
        const acl = ofType(records, "EndpointAclPolicy")
            .map((r) => r.inputs.entry)
            .sort();
        assert.deepStrictEqual(acl, ["198.51.100.0/24", "203.0.113.1/32"]);
        assert.ok(!acl.includes("0.0.0.0/0"));
    });

    it("refuses an empty access list instead of opening the endpoint to everyone", async () => {
        await assert.rejects(
            recordComponent(() => new RegistryInstance("r", { ...base, role: "origin", internetAccess: [] }, {})),
            /internet/i,
        );
    });

    it("replicates a namespace origin -> China under the same name, every tag", async () => {
        const records = await recordComponent(
            () =>
                new RegistrySyncRule(
                    "s",
                    {
                        originInstanceId: "o-id",
                        namespace: "platform",
                        chinaInstanceId: "c-id",
                        chinaRegion: "cn-hangzhou",
                    },
                    {},
                ),
        );
        const rule = oneOf(records, "RegistryEnterpriseSyncRule").inputs;
        assert.deepStrictEqual(
            [
                rule.instanceId,
                rule.targetInstanceId,
                rule.namespaceName,
                rule.targetNamespaceName,
                rule.targetRegionId,
                rule.tagFilter,
            ],
            ["o-id", "c-id", "platform", "platform", "cn-hangzhou", ".*"],
        );
    });
});
