/** The Network component alone: subnets as planned, NAT per zone or single, and each private route's NAT. */
import * as assert from "assert";
import { Network, planSubnets } from "../../components/network";
import { ofType, oneOf, recordComponent } from "../component-harness";

const ZONES = ["cn-northwest-1a", "cn-northwest-1b", "cn-northwest-1c"];

describe("Network", () => {
    it("creates the planned subnets, tagged for load balancers and the cluster", async () => {
        const records = await recordComponent(
            () => new Network("n", { vpcCidr: "10.20.0.0/16", zones: ZONES, clusterName: "c1" }, {}),
        );
        assert.strictEqual(oneOf(records, "Vpc").inputs.cidrBlock, "10.20.0.0/16");
        const plan = planSubnets("10.20.0.0/16", ZONES);
        const subnets = ofType(records, "Subnet").map((s) => [
            s.inputs.availabilityZone,
            s.inputs.cidrBlock,
            s.inputs.tags,
        ]);
        for (const p of plan) {
            const pub = subnets.find(([z, c]) => z === p.zone && c === p.public);
            const priv = subnets.find(([z, c]) => z === p.zone && c === p.private);
            assert.ok(pub && priv, `${p.zone}: ${JSON.stringify(subnets)}`);
            assert.strictEqual((pub[2] as Record<string, string>)["kubernetes.io/role/elb"], "1");
            assert.strictEqual((priv[2] as Record<string, string>)["kubernetes.io/role/internal-elb"], "1");
            assert.ok(Object.keys(priv[2] as object).includes("kubernetes.io/cluster/c1"));
        }
        assert.strictEqual(subnets.length, 6);
    });

    it("routes each zone's private subnet through its own NAT gateway, or all through one", async () => {
        for (const natGateways of ["perZone", "single"] as const) {
            const records = await recordComponent(
                () => new Network("n", { vpcCidr: "10.20.0.0/16", zones: ZONES, clusterName: "c1", natGateways }, {}),
            );
            const nats = ofType(records, "NatGateway");
            assert.strictEqual(nats.length, natGateways === "single" ? 1 : 3);
            const defaults = ofType(records, "Route").filter((r) => r.inputs.natGatewayId !== undefined);
            assert.strictEqual(defaults.length, 3, "one default route per private route table");
            for (const r of defaults) assert.strictEqual(r.inputs.destinationCidrBlock, "0.0.0.0/0");
            const used = new Set(defaults.map((r) => r.inputs.natGatewayId));
            assert.strictEqual(used.size, nats.length);
        }
    });

    it("refuses a zone count it cannot plan", () => {
        assert.throws(() => planSubnets("10.20.0.0/16", ["a"]), /1 zones; use two or three/);
    });
});
