/**
 * The border VPN's components alone: the strongSwan endpoint (china) and the Transit Gateway hub (global).
 * The endpoint's scripts and boot are tested for real in vpn.test.ts, vpn-boot.test.ts and strongswan.test.ts.
 */
import * as assert from "assert";
import * as aws from "@pulumi/aws";
import { IpsecEndpoint, IpsecEndpointArgs, VpnHub } from "../../components/vpn";
import { ofType, oneOf, recordComponent } from "../component-harness";

const endpoint: IpsecEndpointArgs = {
    partition: "aws-cn",
    region: "cn-northwest-1",
    accountId: "123456789012",
    vpcId: "vpc-1",
    vpcCidr: "10.20.0.0/16",
    zone: "cn-northwest-1a",
    publicSubnet: { id: "subnet-pub", cidr: "10.20.128.0/19" },
    privateSubnetId: "subnet-priv",
    privateRouteTableIds: ["rtb-1", "rtb-2"],
    remoteCidrs: ["10.10.0.0/16"],
    clusterSecurityGroupId: "sg-cluster",
    instanceType: "t3.small",
    amiParameter: "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
    aptMirror: "https://mirrors.aliyun.com/ubuntu",
    licensedCarrier: "China Telecom CN2 (contract 42)",
    tunnels: [
        { address: "52.0.0.1", psk: "psk-one-not-in-the-plan" },
        { address: "52.0.0.2", psk: "psk-two-not-in-the-plan" },
    ],
};

/** The explicit regional provider the stacks give every component (invokes need its region). */
const china = () => ({ providers: { aws: new aws.Provider("china", { region: "cn-northwest-1" }) } });

describe("IpsecEndpoint and VpnHub", () => {
    it("endpoint: PSKs only in SecureString parameters, never in the plan or the boot", async () => {
        const records = await recordComponent(() => new IpsecEndpoint("vpn", endpoint, china()), { stack: "china" });
        const params = ofType(records, "aws:ssm/parameter:Parameter");
        assert.deepStrictEqual(
            params.map((p) => p.inputs.type),
            ["SecureString", "SecureString"],
        );
        const text = JSON.stringify(records);
        assert.ok(!text.includes("psk-one-not-in-the-plan") && !text.includes("psk-two-not-in-the-plan"));
        assert.ok(!/arn:aws:/.test(JSON.stringify(records.map((r) => r.inputs))), "no ARN of the aws partition");
    });

    it("endpoint: forwards for the VPC (no source/dest check) and routes each private table's remote range through it", async () => {
        const records = await recordComponent(() => new IpsecEndpoint("vpn", endpoint, china()), { stack: "china" });
        const eni = oneOf(records, "aws:ec2/networkInterface:NetworkInterface").inputs;
        assert.strictEqual(eni.sourceDestCheck, false);
        const routes = ofType(records, "aws:ec2/route:Route").map((r) => [
            r.inputs.routeTableId,
            r.inputs.destinationCidrBlock,
        ]);
        assert.deepStrictEqual(routes.sort(), [
            ["rtb-1", "10.10.0.0/16"],
            ["rtb-2", "10.10.0.0/16"],
        ]);
    });

    it("endpoint: on the first bring-up (no tunnels yet) it holds no PSK parameter", async () => {
        const records = await recordComponent(
            () => new IpsecEndpoint("vpn", { ...endpoint, tunnels: undefined }, china()),
            {
                stack: "china",
            },
        );
        assert.strictEqual(ofType(records, "aws:ssm/parameter:Parameter").length, 0);
    });

    it("hub: creates the VPN only once the China endpoint's address is known", async () => {
        const hub = (chinaPublicIp?: string) => () =>
            new VpnHub(
                "hub",
                {
                    hubRegion: "ap-east-1",
                    hubProvider: new aws.Provider("hub-region", { region: "ap-east-1" }),
                    globalVpc: {
                        region: "ap-east-1",
                        vpcId: "vpc-g",
                        cidr: "10.10.0.0/16",
                        subnetIds: ["s-1", "s-2"],
                        routeTableIds: ["rtb-g1", "rtb-g2"],
                        securityGroupId: "sg-g",
                    },
                    chinaPublicIp,
                    chinaCidr: "10.20.0.0/16",
                },
                {},
            );
        const first = await recordComponent(hub());
        assert.strictEqual(ofType(first, "aws:ec2/vpnConnection:VpnConnection").length, 0);
        const later = await recordComponent(hub("203.0.113.7"));
        const gateway = oneOf(later, "aws:ec2/customerGateway:CustomerGateway").inputs;
        assert.strictEqual(gateway.ipAddress, "203.0.113.7");
        assert.strictEqual(ofType(later, "aws:ec2/vpnConnection:VpnConnection").length, 1);
    });
});

describe("a component alone without its regional provider", () => {
    it("fails the offline run with the engine's own message, not a hang or a serialization error", async () => {
        await assert.rejects(
            recordComponent(() => new IpsecEndpoint("vpn", endpoint, {}), { stack: "china" }),
            /invoke aws:ssm\/getParameter:getParameter was made without an explicit regional provider/,
        );
    });
});
