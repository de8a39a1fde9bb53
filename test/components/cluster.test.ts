/** The Cluster component alone: partition-correct roles, no public endpoint without an allow-list, the node mirror files. */
import * as assert from "assert";
import { Cluster, ClusterArgs } from "../../components/cluster";
import { ofType, oneOf, recordComponent } from "../component-harness";

const args: ClusterArgs = {
    partition: "aws-cn",
    region: "cn-northwest-1",
    name: "c1",
    kubernetesVersion: "1.33",
    subnetIds: ["subnet-a", "subnet-b"],
    nodeGroups: [
        {
            name: "system",
            instanceTypes: ["m6i.large"],
            minSize: 2,
            desiredSize: 2,
            maxSize: 3,
            diskSizeGiB: 50,
            capacityType: "ON_DEMAND",
        },
    ],
    containerdHosts: new Map([
        ["docker.io", 'server = "https://crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com"\n'],
    ]),
};

describe("Cluster", () => {
    it("trusts the aws-cn service principals and writes no aws-partition ARN", async () => {
        const records = await recordComponent(() => new Cluster("k", args, {}), { stack: "china" });
        const eks = oneOf(records, "aws:eks/cluster:Cluster").inputs as Record<string, any>;
        assert.strictEqual(eks.version, "1.33");
        assert.strictEqual(eks.vpcConfig.endpointPublicAccess, false);
        const text = JSON.stringify(records.map((r) => r.inputs));
        assert.ok(!/arn:aws:/.test(text), "no ARN of the aws partition");
        assert.ok(/amazonaws\.com\.cn/.test(text), "service principals of the China partition");
        assert.strictEqual(ofType(records, "aws:eks/nodeGroup:NodeGroup").length, 1);
    });

    it("puts the containerd mirror file for each upstream into the nodes' user data", async () => {
        const records = await recordComponent(() => new Cluster("k", args, {}), { stack: "china" });
        const templates = ofType(records, "aws:ec2/launchTemplate:LaunchTemplate");
        assert.ok(templates.length >= 1);
        const userData = Buffer.from(String(templates[0].inputs.userData), "base64").toString("utf8");
        assert.ok(userData.includes("/etc/containerd/certs.d/docker.io/hosts.toml"), userData.slice(0, 400));
        assert.ok(userData.includes("crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com"));
    });

    it("refuses a public API endpoint without an allow-list", async () => {
        await assert.rejects(
            recordComponent(() => new Cluster("k", { ...args, endpointPublicAccess: true }, {})),
            /public API endpoint needs an explicit publicAccessCidrs allow-list/,
        );
    });
});
