/**
 * Network: a VPC over two or three zones with public and private subnets, NAT per zone (or one), and the
 * subnet tags EKS load balancers look for. Works the same in `aws` and `aws-cn`: only the provider differs.
 *
 * Every route is its own `aws.ec2.Route`, never a route table's inline `routes`: a table with inline routes
 * owns all of its routes, so the next `pulumi up` deletes the routes other components add to it (the VPN's,
 * the Transit Gateway's), and the two fight on every run (the warning in @pulumi/aws routeTable.d.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Cidr, parseCidr, subnet } from "../../core/cidr";

export interface NetworkArgs {
    /** The VPC's IPv4 range (validated by the stack config: private, /16-/24). */
    readonly vpcCidr: string;
    /** Zone names, two or three. */
    readonly zones: readonly string[];
    /** One NAT gateway per zone, or a single one for all. @default "perZone" */
    readonly natGateways?: "perZone" | "single";
    /** Cluster name for the `kubernetes.io/cluster/<name>` subnet tags. */
    readonly clusterName: string;
}

export interface SubnetPlan {
    readonly zone: string;
    readonly public: string;
    readonly private: string;
}

/**
 * Split the VPC into eight equal blocks: private subnets take blocks 0-2 (nodes and pods need the room),
 * public subnets blocks 4-6 (load balancers and NAT only). Blocks 3 and 7 stay free for later use.
 */
export function planSubnets(vpcCidr: string, zones: readonly string[]): SubnetPlan[] {
    const parsed = parseCidr(vpcCidr);
    if (!parsed.ok) throw new Error(`planSubnets: ${vpcCidr} ${parsed.reason}`);
    if (zones.length < 2 || zones.length > 3) throw new Error(`planSubnets: ${zones.length} zones; use two or three`);
    const vpc: Cidr = parsed.cidr;
    return zones.map((zone, i) => ({
        zone,
        private: subnet(vpc, vpc.prefix + 3, i).text,
        public: subnet(vpc, vpc.prefix + 3, 4 + i).text,
    }));
}

export class Network extends pulumi.ComponentResource {
    public readonly vpcId: pulumi.Output<string>;
    public readonly vpcCidr: pulumi.Output<string>;
    public readonly publicSubnetIds: pulumi.Output<string[]>;
    public readonly privateSubnetIds: pulumi.Output<string[]>;
    public readonly privateSubnetCidrs: pulumi.Output<string[]>;
    public readonly publicSubnetCidrs: pulumi.Output<string[]>;
    public readonly publicRouteTableId: pulumi.Output<string>;
    public readonly privateRouteTableIds: pulumi.Output<string[]>;
    /** The NAT gateways' Elastic IPs: what the internet sees of the private subnets (registry access lists). */
    public readonly natPublicIps: pulumi.Output<string[]>;

    constructor(name: string, args: NetworkArgs, opts: pulumi.ComponentResourceOptions) {
        super("crossborder:network:Network", name, {}, opts);
        const child = { parent: this };
        const plan = planSubnets(args.vpcCidr, args.zones);
        const clusterTag = { [`kubernetes.io/cluster/${args.clusterName}`]: "shared" };

        const vpc = new aws.ec2.Vpc(
            `${name}-vpc`,
            {
                cidrBlock: args.vpcCidr,
                enableDnsHostnames: true,
                enableDnsSupport: true,
                tags: { Name: `${name}-vpc` },
            },
            child,
        );
        const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: { Name: `${name}-igw` } }, child);
        const publicRt = new aws.ec2.RouteTable(
            `${name}-public`,
            { vpcId: vpc.id, tags: { Name: `${name}-public` } },
            child,
        );
        new aws.ec2.Route(
            `${name}-public-default`,
            { routeTableId: publicRt.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
            child,
        );

        const publicSubnets = this.publicSubnets(name, plan, vpc, publicRt, clusterTag);
        const { nats, natEips } = this.natGateways(name, args, plan, publicSubnets, igw);
        const { privateSubnets, privateRts } = this.privateSubnets(name, plan, vpc, nats, clusterTag);

        this.vpcId = vpc.id;
        this.vpcCidr = vpc.cidrBlock;
        this.publicSubnetIds = pulumi.all(publicSubnets.map((s) => s.id));
        this.privateSubnetIds = pulumi.all(privateSubnets.map((s) => s.id));
        this.privateSubnetCidrs = pulumi.output(plan.map((p) => p.private));
        this.publicSubnetCidrs = pulumi.output(plan.map((p) => p.public));
        this.natPublicIps = pulumi.all(natEips.map((e) => e.publicIp));
        this.publicRouteTableId = publicRt.id;
        this.privateRouteTableIds = pulumi.all(privateRts.map((r) => r.id));
        this.registerOutputs({
            vpcId: this.vpcId,
            publicSubnetIds: this.publicSubnetIds,
            privateSubnetIds: this.privateSubnetIds,
        });
    }

    /** One public subnet per zone (load balancers and NAT only), on the internet route table. */
    private publicSubnets(
        name: string,
        plan: readonly SubnetPlan[],
        vpc: aws.ec2.Vpc,
        publicRt: aws.ec2.RouteTable,
        clusterTag: Record<string, string>,
    ): aws.ec2.Subnet[] {
        const child = { parent: this };
        const publicSubnets = plan.map(
            (p) =>
                new aws.ec2.Subnet(
                    `${name}-public-${p.zone}`,
                    {
                        vpcId: vpc.id,
                        cidrBlock: p.public,
                        availabilityZone: p.zone,
                        mapPublicIpOnLaunch: false,
                        tags: { Name: `${name}-public-${p.zone}`, "kubernetes.io/role/elb": "1", ...clusterTag },
                    },
                    child,
                ),
        );
        publicSubnets.forEach(
            (s, i) =>
                new aws.ec2.RouteTableAssociation(
                    `${name}-public-${plan[i].zone}`,
                    { subnetId: s.id, routeTableId: publicRt.id },
                    child,
                ),
        );
        return publicSubnets;
    }

    /** A NAT gateway per zone, or a single one, each with its Elastic IP. */
    private natGateways(
        name: string,
        args: NetworkArgs,
        plan: readonly SubnetPlan[],
        publicSubnets: aws.ec2.Subnet[],
        igw: aws.ec2.InternetGateway,
    ): { nats: aws.ec2.NatGateway[]; natEips: aws.ec2.Eip[] } {
        const child = { parent: this };
        const natZones = args.natGateways === "single" ? [plan[0]] : plan;
        const natEips: aws.ec2.Eip[] = [];
        const nats = natZones.map((p, i) => {
            const eip = new aws.ec2.Eip(
                `${name}-nat-${p.zone}`,
                { domain: "vpc", tags: { Name: `${name}-nat-${p.zone}` } },
                child,
            );
            natEips.push(eip);
            return new aws.ec2.NatGateway(
                `${name}-nat-${p.zone}`,
                { allocationId: eip.id, subnetId: publicSubnets[i].id, tags: { Name: `${name}-nat-${p.zone}` } },
                { ...child, dependsOn: [igw] },
            );
        });
        return { nats, natEips };
    }

    /** One private subnet per zone, each with its own route table whose default route is its zone's NAT. */
    private privateSubnets(
        name: string,
        plan: readonly SubnetPlan[],
        vpc: aws.ec2.Vpc,
        nats: aws.ec2.NatGateway[],
        clusterTag: Record<string, string>,
    ): { privateSubnets: aws.ec2.Subnet[]; privateRts: aws.ec2.RouteTable[] } {
        const child = { parent: this };
        const privateSubnets = plan.map(
            (p) =>
                new aws.ec2.Subnet(
                    `${name}-private-${p.zone}`,
                    {
                        vpcId: vpc.id,
                        cidrBlock: p.private,
                        availabilityZone: p.zone,
                        tags: {
                            Name: `${name}-private-${p.zone}`,
                            "kubernetes.io/role/internal-elb": "1",
                            ...clusterTag,
                        },
                    },
                    child,
                ),
        );
        const privateRts = plan.map((p, i) => {
            const rt = new aws.ec2.RouteTable(
                `${name}-private-${p.zone}`,
                { vpcId: vpc.id, tags: { Name: `${name}-private-${p.zone}` } },
                child,
            );
            new aws.ec2.Route(
                `${name}-private-${p.zone}-default`,
                {
                    routeTableId: rt.id,
                    destinationCidrBlock: "0.0.0.0/0",
                    natGatewayId: nats[Math.min(i, nats.length - 1)].id,
                },
                child,
            );
            new aws.ec2.RouteTableAssociation(
                `${name}-private-${p.zone}`,
                { subnetId: privateSubnets[i].id, routeTableId: rt.id },
                child,
            );
            return rt;
        });
        return { privateSubnets, privateRts };
    }
}
