/**
 * The AWS side of the border VPN (global stack). AWS Site-to-Site VPN is not offered in the China regions,
 * so it lives in the hub region (Hong Kong or Singapore), on a Transit Gateway: a virtual private gateway
 * only reaches its own VPC and does no transit (Site-to-Site VPN user guide, "Transit gateway" vs
 * "Virtual private gateway"). The hub Transit Gateway carries the VPN attachment and peers with a Transit
 * Gateway in the global cluster's region, to which the global VPC is attached (when the global cluster is
 * in the hub region, one Transit Gateway serves both). Peering attachments carry only static routes, and
 * must be associated with a route table before a route may point at them (Transit Gateway guide, "Add a
 * route to a transit gateway route table"), so both are made here, both ways.
 *
 * Neither Transit Gateway has a default route table to associate or propagate into
 * (`defaultRouteTableAssociation`/`Propagation: disable`): each has one route table made here, every
 * attachment (VPC, VPN, and the peering on both sides) is associated with it exactly once and explicitly,
 * and every route in it is static. With default association on, AWS associates attachments by itself (the
 * accepter side of a peering too, terraform-provider-aws issue 16452), and an explicit association of the
 * same attachment fails with Resource.AlreadyAssociated; policy rule `tgw-explicit-route-tables` refuses it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AWS_TUNNEL } from "./tunnel";

/** A random pre-shared key within AWS's rules, as a Pulumi secret. */
export function presharedKey(name: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    const body = new random.RandomPassword(
        name,
        { length: 40, special: true, overrideSpecial: "._", minUpper: 2, minLower: 2, minNumeric: 2 },
        opts,
    );
    // A fixed leading letter keeps the key from starting with "0", which AWS refuses.
    return pulumi.secret(pulumi.interpolate`k${body.result}`);
}

/** Private ASNs of the two Transit Gateways (distinct, so either can later speak BGP to the other). */
export const HUB_ASN = 64512;
export const GLOBAL_ASN = 64513;

export interface GlobalVpc {
    readonly region: string;
    readonly vpcId: pulumi.Input<string>;
    readonly cidr: string;
    /** Subnets the Transit Gateway attachment uses (one per zone: the private subnets). */
    readonly subnetIds: pulumi.Input<string[]>;
    /** Route tables of those subnets: the China range goes to the Transit Gateway. */
    readonly routeTableIds: readonly pulumi.Input<string>[];
    /** The cluster's security group: admits the China range (traffic that came through the VPN). */
    readonly securityGroupId: pulumi.Input<string>;
}

export interface VpnHubArgs {
    readonly hubRegion: string;
    /** The provider of the hub region (the component's own aws provider is the global region's). */
    readonly hubProvider: aws.Provider;
    readonly globalVpc: GlobalVpc;
    /** The China endpoint's Elastic IP; undefined until the china stack has run (first bring-up). */
    readonly chinaPublicIp?: pulumi.Input<string>;
    /** The China VPC, reached through the tunnels. */
    readonly chinaCidr: string;
}

function tunnelOptions(n: 1 | 2, psk: pulumi.Output<string>): Record<string, unknown> {
    return {
        [`tunnel${n}PresharedKey`]: psk,
        [`tunnel${n}IkeVersions`]: [AWS_TUNNEL.ikeVersion],
        [`tunnel${n}Phase1EncryptionAlgorithms`]: [AWS_TUNNEL.encryption],
        [`tunnel${n}Phase1IntegrityAlgorithms`]: [AWS_TUNNEL.integrity],
        [`tunnel${n}Phase1DhGroupNumbers`]: [AWS_TUNNEL.dhGroup],
        [`tunnel${n}Phase2EncryptionAlgorithms`]: [AWS_TUNNEL.encryption],
        [`tunnel${n}Phase2IntegrityAlgorithms`]: [AWS_TUNNEL.integrity],
        [`tunnel${n}Phase2DhGroupNumbers`]: [AWS_TUNNEL.dhGroup],
        [`tunnel${n}Phase1LifetimeSeconds`]: AWS_TUNNEL.phase1LifetimeSeconds,
        [`tunnel${n}Phase2LifetimeSeconds`]: AWS_TUNNEL.phase2LifetimeSeconds,
        // The China side initiates: it sits behind the Elastic IP's 1:1 NAT.
        [`tunnel${n}StartupAction`]: "add",
    };
}

export class VpnHub extends pulumi.ComponentResource {
    public readonly hubTransitGatewayId: pulumi.Output<string>;
    public readonly tunnel1Address?: pulumi.Output<string>;
    public readonly tunnel2Address?: pulumi.Output<string>;
    public readonly tunnel1Psk?: pulumi.Output<string>;
    public readonly tunnel2Psk?: pulumi.Output<string>;

    constructor(name: string, args: VpnHubArgs, opts: pulumi.ComponentResourceOptions) {
        super("crossborder:vpn:VpnHub", name, {}, opts);
        const child = { parent: this };
        const inHub = { parent: this, provider: args.hubProvider };
        const tgwArgs = (asn: number, where: string): aws.ec2transitgateway.TransitGatewayArgs => ({
            description: `crossborder border VPN, ${where}`,
            amazonSideAsn: asn,
            defaultRouteTableAssociation: "disable",
            defaultRouteTablePropagation: "disable",
            vpnEcmpSupport: "enable",
            dnsSupport: "enable",
            tags: { Name: `${name}-${where}` },
        });
        const hub = new aws.ec2transitgateway.TransitGateway(`${name}-hub`, tgwArgs(HUB_ASN, "hub"), inHub);
        this.hubTransitGatewayId = hub.id;
        const sameRegion = args.hubRegion === args.globalVpc.region;
        const near = sameRegion
            ? hub
            : new aws.ec2transitgateway.TransitGateway(`${name}-global`, tgwArgs(GLOBAL_ASN, "global"), child);
        const table = (tgw: aws.ec2transitgateway.TransitGateway, where: string, opts: pulumi.CustomResourceOptions) =>
            new aws.ec2transitgateway.RouteTable(
                `${name}-${where}-routes`,
                { transitGatewayId: tgw.id, tags: { Name: `${name}-${where}` } },
                opts,
            );
        const hubTable = table(hub, "hub", inHub);
        const nearTable = sameRegion ? hubTable : table(near, "global", child);
        const nearOpts = sameRegion ? inHub : child;

        this.attachGlobalVpc(name, args, near, nearTable, nearOpts);
        if (!sameRegion) this.peer(name, args, { hub, near, hubTable, nearTable });

        if (args.chinaPublicIp !== undefined) {
            const china = this.connectChina(name, args, args.chinaPublicIp, hub, hubTable);
            this.tunnel1Psk = china.tunnel1Psk;
            this.tunnel2Psk = china.tunnel2Psk;
            this.tunnel1Address = china.connection.tunnel1Address;
            this.tunnel2Address = china.connection.tunnel2Address;
        }
        this.registerOutputs({
            hubTransitGatewayId: this.hubTransitGatewayId,
            tunnel1Address: this.tunnel1Address,
            tunnel2Address: this.tunnel2Address,
        });
    }

    /** The global VPC on the near Transit Gateway: attached, associated, routed both ways, admitted by the cluster. */
    private attachGlobalVpc(
        name: string,
        args: VpnHubArgs,
        near: aws.ec2transitgateway.TransitGateway,
        nearTable: aws.ec2transitgateway.RouteTable,
        nearOpts: pulumi.CustomResourceOptions,
    ): void {
        const child = { parent: this };
        const vpcAttachment = new aws.ec2transitgateway.VpcAttachment(
            `${name}-global-vpc`,
            {
                transitGatewayId: near.id,
                vpcId: args.globalVpc.vpcId,
                subnetIds: args.globalVpc.subnetIds,
                transitGatewayDefaultRouteTableAssociation: false,
                transitGatewayDefaultRouteTablePropagation: false,
                tags: { Name: `${name}-global-vpc` },
            },
            nearOpts,
        );
        const vpcAssociation = new aws.ec2transitgateway.RouteTableAssociation(
            `${name}-global-vpc`,
            { transitGatewayAttachmentId: vpcAttachment.id, transitGatewayRouteTableId: nearTable.id },
            nearOpts,
        );
        // Replies to the global VPC: its range is a static route to its own attachment.
        new aws.ec2transitgateway.Route(
            `${name}-to-global-vpc`,
            {
                destinationCidrBlock: args.globalVpc.cidr,
                transitGatewayAttachmentId: vpcAttachment.id,
                transitGatewayRouteTableId: nearTable.id,
            },
            { ...nearOpts, dependsOn: [vpcAssociation] },
        );
        args.globalVpc.routeTableIds.forEach(
            (rt, i) =>
                new aws.ec2.Route(
                    `${name}-global-to-china-${i}`,
                    { routeTableId: rt, destinationCidrBlock: args.chinaCidr, transitGatewayId: near.id },
                    { ...child, dependsOn: [vpcAttachment] },
                ),
        );
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-global-from-china`,
            {
                securityGroupId: args.globalVpc.securityGroupId,
                description: "the China VPC, through the border VPN",
                ipProtocol: "-1",
                cidrIpv4: args.chinaCidr,
            },
            child,
        );
    }

    /** The China endpoint as a customer gateway, the VPN with two tunnels, and the China range routed to it. */
    private connectChina(
        name: string,
        args: VpnHubArgs,
        chinaPublicIp: pulumi.Input<string>,
        hub: aws.ec2transitgateway.TransitGateway,
        hubTable: aws.ec2transitgateway.RouteTable,
    ) {
        const child = { parent: this };
        const inHub = { parent: this, provider: args.hubProvider };
        const cgw = new aws.ec2.CustomerGateway(
            `${name}-cgw`,
            { bgpAsn: "65000", ipAddress: chinaPublicIp, type: "ipsec.1", tags: { Name: `${name}-china` } },
            inHub,
        );
        const tunnel1Psk = presharedKey(`${name}-tunnel1-psk`, child);
        const tunnel2Psk = presharedKey(`${name}-tunnel2-psk`, child);
        const connection = new aws.ec2.VpnConnection(
            `${name}-connection`,
            {
                transitGatewayId: hub.id,
                customerGatewayId: cgw.id,
                type: "ipsec.1",
                staticRoutesOnly: true,
                ...tunnelOptions(1, tunnel1Psk),
                ...tunnelOptions(2, tunnel2Psk),
                tags: { Name: `${name}-china` },
            } as aws.ec2.VpnConnectionArgs,
            { ...inHub, additionalSecretOutputs: ["tunnel1PresharedKey", "tunnel2PresharedKey"] },
        );
        const vpnAssociation = new aws.ec2transitgateway.RouteTableAssociation(
            `${name}-vpn`,
            {
                transitGatewayAttachmentId: connection.transitGatewayAttachmentId,
                transitGatewayRouteTableId: hubTable.id,
            },
            inHub,
        );
        // A VPN attachment with static routing learns nothing: the China range is a static route to it.
        new aws.ec2transitgateway.Route(
            `${name}-hub-to-china`,
            {
                destinationCidrBlock: args.chinaCidr,
                transitGatewayAttachmentId: connection.transitGatewayAttachmentId,
                transitGatewayRouteTableId: hubTable.id,
            },
            { ...inHub, dependsOn: [vpnAssociation] },
        );
        return { tunnel1Psk, tunnel2Psk, connection };
    }

    /** Peer the hub with the global region's Transit Gateway; static routes both ways over the peering. */
    private peer(
        name: string,
        args: VpnHubArgs,
        tgw: {
            readonly hub: aws.ec2transitgateway.TransitGateway;
            readonly near: aws.ec2transitgateway.TransitGateway;
            readonly hubTable: aws.ec2transitgateway.RouteTable;
            readonly nearTable: aws.ec2transitgateway.RouteTable;
        },
    ): void {
        const child = { parent: this };
        const inHub = { parent: this, provider: args.hubProvider };
        const peering = new aws.ec2transitgateway.PeeringAttachment(
            `${name}-peering`,
            {
                transitGatewayId: tgw.hub.id,
                peerTransitGatewayId: tgw.near.id,
                peerRegion: args.globalVpc.region,
                tags: { Name: `${name}-hub-to-global` },
            },
            inHub,
        );
        const accepted = new aws.ec2transitgateway.PeeringAttachmentAccepter(
            `${name}-peering`,
            { transitGatewayAttachmentId: peering.id, tags: { Name: `${name}-hub-to-global` } },
            child,
        );
        const hubAssociation = new aws.ec2transitgateway.RouteTableAssociation(
            `${name}-hub-peering`,
            { transitGatewayAttachmentId: peering.id, transitGatewayRouteTableId: tgw.hubTable.id },
            { ...inHub, dependsOn: [accepted] },
        );
        const nearAssociation = new aws.ec2transitgateway.RouteTableAssociation(
            `${name}-global-peering`,
            {
                transitGatewayAttachmentId: accepted.transitGatewayAttachmentId,
                transitGatewayRouteTableId: tgw.nearTable.id,
            },
            { ...child, dependsOn: [accepted] },
        );
        new aws.ec2transitgateway.Route(
            `${name}-hub-to-global`,
            {
                destinationCidrBlock: args.globalVpc.cidr,
                transitGatewayAttachmentId: peering.id,
                transitGatewayRouteTableId: tgw.hubTable.id,
            },
            { ...inHub, dependsOn: [hubAssociation] },
        );
        new aws.ec2transitgateway.Route(
            `${name}-global-to-china`,
            {
                destinationCidrBlock: args.chinaCidr,
                transitGatewayAttachmentId: accepted.transitGatewayAttachmentId,
                transitGatewayRouteTableId: tgw.nearTable.id,
            },
            { ...child, dependsOn: [nearAssociation] },
        );
    }
}
