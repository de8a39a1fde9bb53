/**
 * The China end of the border VPN (china stack): strongSwan on EC2, since AWS Site-to-Site VPN is not
 * offered in the China regions.
 *
 * An Elastic IP on a fixed network interface in a public subnet (both made first, so the global stack can
 * use the address), and, once the tunnels exist, a self-healing auto-scaling group of one instance whose
 * own interface sits in a private subnet behind the NAT gateway: the packages and AWS APIs it needs at boot
 * are reachable before it holds anything public. At boot it installs strongSwan from an Ubuntu mirror inside
 * China (no other apt source is kept), attaches the fixed interface, sends IKE and ESP out of it by policy
 * routing (so the peer sees the Elastic IP), makes one XFRM interface per tunnel, writes the keys from SSM
 * SecureString parameters straight into strongSwan's file (never in user data, plans or a command line) and
 * starts the route-based tunnels (tunnel.ts). Its AWS calls go through crossborder-aws.py (python3's standard
 * library and the instance role): Ubuntu 24.04 has no awscli package. It fails closed: a failed boot, or no
 * tunnel for five minutes, marks the instance unhealthy so the group replaces it, and an alarm watches the
 * tunnel metric. The root volume is encrypted; each interface has its own security group.
 *
 * A cross-border line from mainland China must be carried by a licensed carrier: the china stack's
 * `crossborder:vpn.licensedCarrier` records it, and it is tagged on the EC2 resources (EC2 tags accept any
 * characters; SSM tags do not, so the parameters do not carry it).
 */
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Cidr, formatIpv4, parseCidr } from "../../core/cidr";
import { arn, dnsSuffix, Partition, servicePrincipal } from "../../core/partition";
import { swanctlConf, tunnelInterface, updownScript, UPDOWN_PATH } from "./tunnel";

export interface IpsecEndpointArgs {
    readonly partition: Partition;
    readonly region: string;
    readonly accountId: string;
    readonly vpcId: pulumi.Input<string>;
    readonly vpcCidr: string;
    readonly zone: string;
    /** The public subnet in `zone` (the fixed interface and its Elastic IP) and its range. */
    readonly publicSubnet: { readonly id: pulumi.Input<string>; readonly cidr: string };
    /** A private subnet in `zone` (the instance's own interface, outbound through NAT). */
    readonly privateSubnetId: pulumi.Input<string>;
    /** Route tables of the private subnets: traffic to `remoteCidrs` goes through the endpoint. */
    readonly privateRouteTableIds: pulumi.Input<string>[];
    readonly remoteCidrs: readonly string[];
    /** The cluster's security group: admits the remote ranges. */
    readonly clusterSecurityGroupId: pulumi.Input<string>;
    readonly instanceType: string;
    /** SSM parameter that names the AMI (an Ubuntu LTS image: strongSwan is in its archive, python3 in the image). */
    readonly amiParameter: string;
    /** The Ubuntu archive mirror inside China that strongSwan is installed from (no other apt source is kept). */
    readonly aptMirror: string;
    readonly licensedCarrier: string;
    /** The AWS tunnels, once the global stack has created them; undefined on the first bring-up. */
    readonly tunnels?: { readonly address: pulumi.Input<string>; readonly psk: pulumi.Input<string> }[];
}

export interface EndpointBoot {
    readonly region: string;
    /** The partition's DNS suffix (amazonaws.com.cn in China): the API endpoints the helper signs for. */
    readonly dnsSuffix: string;
    /** The Ubuntu archive mirror inside China (crossborder:vpn.aptMirror). */
    readonly aptMirror: string;
    /** The endpoint's name: the dimension of its tunnel metric. */
    readonly endpointName: string;
    readonly eniId: string;
    readonly eniMac: string;
    readonly eniAddress: string;
    /** The public subnet's router (its base address + 1, per the VPC user guide) and the subnet itself. */
    readonly publicGateway: string;
    readonly publicCidr: string;
    readonly vpcCidr: string;
    readonly localId: string;
    readonly remoteCidrs: readonly string[];
    readonly tunnels: { readonly address: string; readonly pskParameter: string }[];
}

function cidrOf(cidr: string): Cidr {
    const parsed = parseCidr(cidr);
    if (!parsed.ok) throw new Error(`${cidr} ${parsed.reason}`);
    return parsed.cidr;
}

/** The VPC router of a subnet: its network address + 1 (Amazon VPC user guide, "Subnet CIDR blocks"). */
export function subnetRouter(cidr: string): string {
    return formatIpv4(cidrOf(cidr).base + 1);
}

/** The AWS helper the endpoint runs (python3 stdlib, SigV4 from the instance role): no AWS CLI needed. */
export const AWS_HELPER = path.join(__dirname, "crossborder-aws.py");
export const AWS_HELPER_PATH = "/usr/local/sbin/crossborder-aws";
/** CloudWatch namespace and metric of the tunnel health the endpoint publishes every minute. */
export const TUNNEL_METRIC = { namespace: "crossborder/vpn", name: "TunnelsUp" } as const;
/** Minutes without an established tunnel (after the boot grace) before the instance asks to be replaced. */
export const TUNNEL_FAILS_BEFORE_REPLACE = 5;
const BOOT_GRACE_SECONDS = 600;

function helper(b: EndpointBoot): string[] {
    return [
        "# 0. The AWS helper and its settings first: from here on any failure marks the instance unhealthy,",
        "#    and the auto-scaling group replaces it (fail closed: no half-configured endpoint stays in service).",
        "mkdir -p /etc/crossborder",
        "cat > /etc/crossborder/aws.conf <<'CROSSBORDER_EOF'",
        `REGION=${b.region}`,
        `DNS_SUFFIX=${b.dnsSuffix}`,
        `ENDPOINT_NAME=${b.endpointName}`,
        `METRIC_NAMESPACE=${TUNNEL_METRIC.namespace}`,
        `GRACE_SECONDS=${BOOT_GRACE_SECONDS}`,
        `FAILS_BEFORE_REPLACE=${TUNNEL_FAILS_BEFORE_REPLACE}`,
        "CROSSBORDER_EOF",
        `cat > ${AWS_HELPER_PATH} <<'CROSSBORDER_EOF'`,
        fs.readFileSync(AWS_HELPER, "utf8").trimEnd(),
        "CROSSBORDER_EOF",
        `chmod 0755 ${AWS_HELPER_PATH}`,
        `trap '${AWS_HELPER_PATH} set-unhealthy "boot failed at line $LINENO" || true' ERR`,
    ];
}

function installPackages(b: EndpointBoot): string[] {
    return [
        "# 1. strongSwan from the Ubuntu mirror inside China, and from nowhere else: every other apt source goes.",
        "export DEBIAN_FRONTEND=noninteractive",
        ". /etc/os-release",
        "rm -rf /etc/apt/sources.list.d/*",
        ": > /etc/apt/sources.list",
        "cat > /etc/apt/sources.list.d/crossborder-china.sources <<CROSSBORDER_EOF",
        "Types: deb",
        `URIs: ${b.aptMirror}`,
        "Suites: ${VERSION_CODENAME} ${VERSION_CODENAME}-updates ${VERSION_CODENAME}-security",
        "Components: main universe",
        "Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg",
        "CROSSBORDER_EOF",
        "for attempt in 1 2 3 4 5; do",
        "  if apt-get update -q && apt-get install -y -q --no-install-recommends strongswan-swanctl charon-systemd; then break; fi",
        '  if [ "$attempt" = 5 ]; then echo "crossborder: package installation failed" >&2; false; fi',
        "  sleep 30",
        "done",
    ];
}

function attachInterface(b: EndpointBoot): string[] {
    return [
        "# 2. The fixed interface (it holds the Elastic IP): attach it and find its device by MAC address.",
        `${AWS_HELPER_PATH} attach-eni ${b.eniId}`,
        "DEV=''",
        "for attempt in $(seq 1 60); do",
        `  DEV=$(ip -o link | awk -F': ' 'tolower($0) ~ /${b.eniMac.toLowerCase()}/ {print $2; exit}')`,
        '  [ -n "$DEV" ] && break',
        "  sleep 2",
        "done",
        '[ -n "$DEV" ] || { echo "crossborder: the VPN interface did not appear" >&2; false; }',
        `ip addr replace ${b.eniAddress}/${cidrOf(b.publicCidr).prefix} dev "$DEV"`,
        'ip link set "$DEV" up',
    ];
}

function routing(b: EndpointBoot): string[] {
    return [
        "# 3. IKE and ESP leave from the interface that holds the Elastic IP (policy routing by source). Traffic",
        "#    that comes out of a tunnel goes back into the VPC through that interface too (its source/destination",
        "#    check is off), even to nodes in this instance's own subnet, whose connected route on the primary",
        "#    interface would otherwise win and be dropped there (that interface checks source and destination).",
        "sysctl -w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0",
        "printf 'net.ipv4.ip_forward=1\\nnet.ipv4.conf.all.rp_filter=0\\nnet.ipv4.conf.default.rp_filter=0\\n' > /etc/sysctl.d/90-crossborder.conf",
        `ip route replace ${b.publicCidr} dev "$DEV" table 200`,
        `ip route replace default via ${b.publicGateway} dev "$DEV" table 200`,
        `ip rule add from ${b.eniAddress} table 200 priority 100 2>/dev/null || true`,
        `ip route replace ${b.vpcCidr} via ${b.publicGateway} dev "$DEV" metric 50`,
        `ip route replace ${b.publicCidr} dev "$DEV" table 201`,
        `ip route replace ${b.vpcCidr} via ${b.publicGateway} dev "$DEV" table 201`,
        "# One XFRM interface per tunnel; the updown script routes the remote ranges through the ones that are up.",
        ...b.tunnels.map((_, i) => {
            const { name, ifId } = tunnelInterface(i);
            return `ip link add ${name} type xfrm dev "$DEV" if_id ${ifId} 2>/dev/null || true; ip link set ${name} up; sysctl -w net.ipv4.conf.${name}.disable_policy=1; ip rule add iif ${name} table 201 priority ${110 + i} 2>/dev/null || true`;
        }),
        `cat > ${UPDOWN_PATH} <<'CROSSBORDER_EOF'`,
        updownScript(b.remoteCidrs).trimEnd(),
        "CROSSBORDER_EOF",
        `chmod 0755 ${UPDOWN_PATH}`,
    ];
}

function startTunnels(b: EndpointBoot): string[] {
    const placeholders = b.tunnels.map((t, i) => ({ address: t.address, psk: `@PSK${i + 1}@` }));
    const conf = swanctlConf({ localId: b.localId, localAddress: b.eniAddress, tunnels: placeholders });
    const file = "/etc/swanctl/conf.d/crossborder.conf";
    return [
        "# 4. The tunnels: route-based configuration; each key goes from SSM straight into the file (mode 0600),",
        "#    never onto a command line, into the environment or a log.",
        "printf 'charon {\\n  install_routes = no\\n}\\n' > /etc/strongswan.d/crossborder.conf",
        "umask 077",
        `cat > ${file} <<'CROSSBORDER_EOF'`,
        conf.trimEnd(),
        "CROSSBORDER_EOF",
        ...b.tunnels.map((t, i) => `${AWS_HELPER_PATH} fill-secret ${file} @PSK${i + 1}@ '${t.pskParameter}'`),
        "systemctl enable --now strongswan",
        "systemctl restart strongswan",
        "swanctl --load-all",
    ];
}

function healthCheck(): string[] {
    return [
        "# 5. Health that reflects the tunnels: every minute the number of established tunnels goes to CloudWatch",
        `#    (${TUNNEL_METRIC.namespace} ${TUNNEL_METRIC.name}, an alarm watches it); ${TUNNEL_FAILS_BEFORE_REPLACE} minutes with none after the boot`,
        "#    grace and the instance marks itself unhealthy, so the group replaces it.",
        "cat > /etc/systemd/system/crossborder-tunnel-health.service <<'CROSSBORDER_EOF'",
        "[Unit]",
        "Description=crossborder: publish the border VPN's tunnel health, replace the instance when no tunnel is up",
        "[Service]",
        "Type=oneshot",
        `ExecStart=${AWS_HELPER_PATH} tunnel-health`,
        "TimeoutStartSec=120",
        "CROSSBORDER_EOF",
        "cat > /etc/systemd/system/crossborder-tunnel-health.timer <<'CROSSBORDER_EOF'",
        "[Unit]",
        "Description=crossborder: tunnel health every minute",
        "[Timer]",
        "OnBootSec=2min",
        "OnUnitActiveSec=1min",
        "[Install]",
        "WantedBy=timers.target",
        "CROSSBORDER_EOF",
        "systemctl daemon-reload",
        "systemctl enable --now crossborder-tunnel-health.timer",
    ];
}

/** cloud-init for the endpoint, in named steps (see the file header for why in this order). */
export function endpointUserData(b: EndpointBoot): string {
    return [
        "#!/bin/bash",
        "# Generated by crossborder: the China end of the border VPN.",
        "set -euo pipefail",
        ...helper(b),
        ...installPackages(b),
        ...attachInterface(b),
        ...routing(b),
        ...startTunnels(b),
        ...healthCheck(),
        "",
    ].join("\n");
}

export class IpsecEndpoint extends pulumi.ComponentResource {
    /** The Elastic IP: the global stack's customer gateway. */
    public readonly publicIp: pulumi.Output<string>;
    public readonly networkInterfaceId: pulumi.Output<string>;
    public readonly running: boolean;

    constructor(name: string, args: IpsecEndpointArgs, opts: pulumi.ComponentResourceOptions) {
        super("crossborder:vpn:IpsecEndpoint", name, {}, opts);
        const child = { parent: this };
        const tags = { Name: `${name}-ipsec`, "crossborder:carrier": args.licensedCarrier };
        const tunnelSg = this.tunnelSecurityGroup(name, args, tags);
        const eni = new aws.ec2.NetworkInterface(
            `${name}-eni`,
            { subnetId: args.publicSubnet.id, securityGroups: [tunnelSg.id], sourceDestCheck: false, tags },
            child,
        );
        const eip = new aws.ec2.Eip(`${name}-eip`, { domain: "vpc", tags }, child);
        new aws.ec2.EipAssociation(`${name}-eip`, { allocationId: eip.id, networkInterfaceId: eni.id }, child);
        args.privateRouteTableIds.forEach((rt, i) =>
            args.remoteCidrs.forEach(
                (cidr, j) =>
                    new aws.ec2.Route(
                        `${name}-route-${i}-${j}`,
                        { routeTableId: rt, destinationCidrBlock: cidr, networkInterfaceId: eni.id },
                        child,
                    ),
            ),
        );
        args.remoteCidrs.forEach(
            (cidr, i) =>
                new aws.vpc.SecurityGroupIngressRule(
                    `${name}-cluster-from-remote-${i}`,
                    {
                        securityGroupId: args.clusterSecurityGroupId,
                        description: "the global VPC, through the border VPN",
                        ipProtocol: "-1",
                        cidrIpv4: cidr,
                    },
                    child,
                ),
        );
        this.publicIp = eip.publicIp;
        this.networkInterfaceId = eni.id;
        this.running = args.tunnels !== undefined;
        if (args.tunnels) this.instance(name, args, { eni, eip, tags });
        this.registerOutputs({ publicIp: this.publicIp });
    }

    /** The fixed interface's group: IKE/NAT-T/ESP from the AWS tunnels only, and traffic to forward from the VPC. */
    private tunnelSecurityGroup(
        name: string,
        args: IpsecEndpointArgs,
        tags: Record<string, string>,
    ): aws.ec2.SecurityGroup {
        const fromTunnel = (t: { address: pulumi.Input<string> }, i: number) =>
            [
                { what: "IKE", protocol: "udp", port: 500 },
                { what: "NAT-T", protocol: "udp", port: 4500 },
                { what: "ESP", protocol: "50", port: 0 },
            ].map((p) => ({
                description: `${p.what} from tunnel ${i + 1}`,
                protocol: p.protocol,
                fromPort: p.port,
                toPort: p.port,
                cidrBlocks: [pulumi.interpolate`${t.address}/32`],
            }));
        return new aws.ec2.SecurityGroup(
            `${name}-sg`,
            {
                vpcId: args.vpcId,
                description:
                    "crossborder IPsec endpoint: IKE/ESP from the AWS tunnels only; forwarded traffic from the VPC",
                ingress: [
                    ...(args.tunnels ?? []).flatMap(fromTunnel),
                    {
                        description: "traffic to forward, from the VPC",
                        protocol: "-1",
                        fromPort: 0,
                        toPort: 0,
                        cidrBlocks: [args.vpcCidr],
                    },
                ],
                egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
                tags,
            },
            { parent: this },
        );
    }

    /** The instance (an auto-scaling group of one) that runs strongSwan, once the tunnels exist. */
    private instance(
        name: string,
        args: IpsecEndpointArgs,
        made: { eni: aws.ec2.NetworkInterface; eip: aws.ec2.Eip; tags: Record<string, string> },
    ): void {
        const groupName = `crossborder-${name}-ipsec`;
        const params = this.pskParameters(name, args.tunnels!);
        const profile = this.instanceProfile(name, args, made.eni, params, groupName);
        const template = this.launchTemplate(name, args, made, params, profile);
        this.selfHealingGroup(name, args, template, groupName, made.tags);
    }

    /** Each tunnel's pre-shared key, in a SecureString parameter the instance reads at boot. */
    private pskParameters(name: string, tunnels: NonNullable<IpsecEndpointArgs["tunnels"]>): aws.ssm.Parameter[] {
        const child = { parent: this };
        return tunnels.map(
            (t, i) =>
                new aws.ssm.Parameter(
                    `${name}-tunnel${i + 1}-psk`,
                    {
                        name: `/crossborder/${name}/tunnel${i + 1}/psk`,
                        type: "SecureString",
                        value: pulumi.secret(t.psk),
                        tags: { Name: `${name}-tunnel${i + 1}` },
                    },
                    child,
                ),
        );
    }

    /** The instance's rights: attach the fixed interface, read its keys, replace itself, report its tunnels. */
    private instanceProfile(
        name: string,
        args: IpsecEndpointArgs,
        eni: aws.ec2.NetworkInterface,
        params: aws.ssm.Parameter[],
        groupName: string,
    ): aws.iam.InstanceProfile {
        const child = { parent: this };
        const role = new aws.iam.Role(
            `${name}-role`,
            {
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: servicePrincipal(args.partition, "ec2") },
                            Action: "sts:AssumeRole",
                        },
                    ],
                }),
            },
            child,
        );
        const at = (resource: string) =>
            arn({ partition: args.partition, service: "ec2", region: args.region, account: args.accountId, resource });
        new aws.iam.RolePolicy(
            `${name}-role`,
            {
                role: role.id,
                policy: pulumi.all([eni.id, ...params.map((p) => p.arn)]).apply(([eniId, ...arns]) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Effect: "Allow",
                                Action: "ec2:AttachNetworkInterface",
                                Resource: [at(`network-interface/${eniId}`), at("instance/*")],
                            },
                            { Effect: "Allow", Action: "ssm:GetParameter", Resource: arns },
                            // Its own replacement, when its tunnels do not come up (the group's name is fixed).
                            {
                                Effect: "Allow",
                                Action: "autoscaling:SetInstanceHealth",
                                Resource: arn({
                                    partition: args.partition,
                                    service: "autoscaling",
                                    region: args.region,
                                    account: args.accountId,
                                    resource: `autoScalingGroup:*:autoScalingGroupName/${groupName}`,
                                }),
                            },
                            {
                                Effect: "Allow",
                                Action: "cloudwatch:PutMetricData",
                                Resource: "*",
                                Condition: { StringEquals: { "cloudwatch:namespace": TUNNEL_METRIC.namespace } },
                            },
                        ],
                    }),
                ),
            },
            child,
        );
        return new aws.iam.InstanceProfile(`${name}-profile`, { role: role.name }, child);
    }

    /** What the self-healing group starts: the AMI, the outbound-only host group, the boot (user data). */
    private launchTemplate(
        name: string,
        args: IpsecEndpointArgs,
        made: { eni: aws.ec2.NetworkInterface; eip: aws.ec2.Eip; tags: Record<string, string> },
        params: aws.ssm.Parameter[],
        profile: aws.iam.InstanceProfile,
    ): aws.ec2.LaunchTemplate {
        const child = { parent: this };
        const tunnels = args.tunnels!;
        const { eni, eip, tags } = made;
        // The instance's own interface: outbound only (packages, AWS APIs), nothing may connect to it.
        const hostSg = new aws.ec2.SecurityGroup(
            `${name}-host-sg`,
            {
                vpcId: args.vpcId,
                description: "crossborder IPsec endpoint host: outbound only",
                egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
                tags,
            },
            child,
        );
        const ami = aws.ssm.getParameterOutput({ name: args.amiParameter }, child);
        const userData = pulumi
            .all([
                eni.id,
                eni.macAddress,
                eni.privateIp,
                eip.publicIp,
                pulumi.all(tunnels.map((t) => t.address)),
                pulumi.all(params.map((p) => p.name)),
            ])
            .apply(([eniId, eniMac, eniAddress, ip, addresses, names]) =>
                Buffer.from(
                    endpointUserData({
                        region: args.region,
                        dnsSuffix: dnsSuffix(args.partition),
                        aptMirror: args.aptMirror,
                        endpointName: name,
                        eniId,
                        eniMac,
                        eniAddress,
                        publicGateway: subnetRouter(args.publicSubnet.cidr),
                        publicCidr: args.publicSubnet.cidr,
                        vpcCidr: args.vpcCidr,
                        localId: ip,
                        remoteCidrs: args.remoteCidrs,
                        tunnels: addresses.map((address, i) => ({ address, pskParameter: names[i] })),
                    }),
                ).toString("base64"),
            );
        return new aws.ec2.LaunchTemplate(
            `${name}-template`,
            {
                imageId: ami.value,
                instanceType: args.instanceType,
                iamInstanceProfile: { arn: profile.arn },
                metadataOptions: { httpTokens: "required", httpEndpoint: "enabled" },
                networkInterfaces: [
                    {
                        deviceIndex: 0,
                        subnetId: args.privateSubnetId,
                        securityGroups: [hostSg.id],
                        associatePublicIpAddress: "false",
                    },
                ],
                blockDeviceMappings: [
                    {
                        deviceName: "/dev/sda1",
                        ebs: { volumeSize: 16, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
                    },
                ],
                userData,
                tagSpecifications: [
                    { resourceType: "instance", tags },
                    { resourceType: "volume", tags },
                ],
            },
            child,
        );
    }

    /** One instance that replaces itself, and the alarm when no tunnel is up. */
    private selfHealingGroup(
        name: string,
        args: IpsecEndpointArgs,
        template: aws.ec2.LaunchTemplate,
        groupName: string,
        tags: Record<string, string>,
    ): void {
        const child = { parent: this };
        // One instance that replaces itself; the interface (and so the IP and the routes) outlives it. EC2 health
        // alone says nothing about the tunnels: the instance marks itself unhealthy when its boot fails or no
        // tunnel is established for TUNNEL_FAILS_BEFORE_REPLACE minutes (crossborder-aws set-unhealthy).
        new aws.autoscaling.Group(
            `${name}-asg`,
            {
                name: groupName,
                minSize: 1,
                maxSize: 1,
                desiredCapacity: 1,
                vpcZoneIdentifiers: [args.privateSubnetId],
                healthCheckType: "EC2",
                healthCheckGracePeriod: BOOT_GRACE_SECONDS,
                launchTemplate: { id: template.id, version: "$Latest" },
            },
            child,
        );
        // No established tunnel, or no report at all (a dead instance): the alarm says so.
        new aws.cloudwatch.MetricAlarm(
            `${name}-tunnels-down`,
            {
                alarmDescription: `crossborder: no border VPN tunnel is established on ${groupName} (the endpoint replaces itself after ${TUNNEL_FAILS_BEFORE_REPLACE} minutes)`,
                namespace: TUNNEL_METRIC.namespace,
                metricName: TUNNEL_METRIC.name,
                dimensions: { Endpoint: name },
                statistic: "Maximum",
                period: 60,
                evaluationPeriods: TUNNEL_FAILS_BEFORE_REPLACE,
                threshold: 1,
                comparisonOperator: "LessThanThreshold",
                treatMissingData: "breaching",
                tags,
            },
            child,
        );
    }
}
