/**
 * Every rule of the policy pack against fixtures that pass, fail explicitly, fail by omission (where the
 * default is insecure), and do not apply. A meta-test fails when a rule lacks a passing or a failing
 * fixture. The rules are imported directly: the pack entry (policies/index.ts) is never loaded here.
 */
import * as assert from "assert";
import * as path from "path";
import type { ResourceRecord } from "../../cli/offline";
import { runPolicies } from "../../policies/offline";
import { rules } from "../../policies/rules";
import { copyStacks, runCli, tempDir } from "../helpers";

let counter = 0;
/** A recorded resource; `region` gives it an AWS provider in that region. */
function res(
    type: string,
    inputs: Record<string, unknown>,
    opts: { name?: string; region?: string; parent?: string } = {},
): ResourceRecord[] {
    const name = opts.name ?? `r${++counter}`;
    const provider = opts.region ? `urn:pulumi:s::p::pulumi:providers:aws::aws-${opts.region}` : "";
    const out: ResourceRecord[] = [
        {
            urn: `urn:pulumi:s::p::${type}::${name}`,
            type,
            name,
            parent: opts.parent ?? "",
            provider,
            custom: true,
            protect: false,
            inputs,
        },
    ];
    if (opts.region)
        out.push({
            urn: provider,
            type: "pulumi:providers:aws",
            name: `aws-${opts.region}`,
            parent: "",
            provider: "",
            custom: true,
            protect: false,
            inputs: { region: opts.region },
        });
    return out;
}

interface Fixture {
    readonly name: string;
    readonly resources: ResourceRecord[];
    readonly config?: Record<string, unknown>;
}

interface RuleFixtures {
    readonly pass: Fixture[];
    readonly fail: (Fixture & { message: RegExp })[];
    /** Failing because a field with an insecure default was left out. */
    readonly omission?: (Fixture & { message: RegExp })[];
    readonly notApplicable: Fixture[];
}

const CN = "cn-northwest-1";
const EU = "eu-central-1";
const goodEks = {
    vpcConfig: { endpointPrivateAccess: true, endpointPublicAccess: false },
    encryptionConfig: { provider: { keyArn: "arn:aws:kms:eu-central-1:1:key/x" }, resources: ["secrets"] },
    enabledClusterLogTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
};
const hardened = {
    name: "app",
    image: "registry.cn-hangzhou.aliyuncs.com/acme/app:1",
    resources: {
        requests: { cpu: "10m", memory: "32Mi" },
        limits: { cpu: "100m", memory: "64Mi", "ephemeral-storage": "64Mi" },
    },
    securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false },
    livenessProbe: { httpGet: { path: "/", port: 80 } },
    readinessProbe: { httpGet: { path: "/", port: 80 } },
};
const deployment = (container: Record<string, unknown>) => ({
    metadata: { name: "app" },
    spec: { template: { spec: { containers: [container] } } },
});
const bucketSet = (
    policy: object,
    bpa: Record<string, boolean>,
    parent = "urn:pulumi:s::p::crossborder:storage:ServingBucket::b",
) => [
    ...res("aws:s3/bucket:Bucket", { bucket: "b" }, { name: "b-bucket", parent }),
    ...res(
        "aws:s3/bucketPolicy:BucketPolicy",
        { bucket: "b", policy: JSON.stringify(policy) },
        { name: "b-policy", parent },
    ),
    ...res(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        { bucket: "b", ...bpa },
        { name: "b-bpa", parent },
    ),
];
const tlsDeny = {
    Effect: "Deny",
    Principal: "*",
    Action: "s3:*",
    Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
};
const allBlocked = {
    blockPublicAcls: true,
    ignorePublicAcls: true,
    blockPublicPolicy: true,
    restrictPublicBuckets: true,
};
const chinaProvider = res("pulumi:providers:aws", { region: CN }, { name: "aws-cn" });

const FIXTURES: Record<string, RuleFixtures> = {
    "china-arn-partition": {
        pass: [
            {
                name: "aws-cn ARNs in china",
                resources: [
                    ...chinaProvider,
                    ...res(
                        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                        { policyArn: "arn:aws-cn:iam::aws:policy/AmazonEKSClusterPolicy" },
                        { region: CN },
                    ),
                ],
            },
        ],
        fail: [
            {
                name: "arn:aws: in china",
                resources: [
                    ...chinaProvider,
                    ...res(
                        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                        { policyArn: "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy" },
                        { region: CN },
                    ),
                ],
                message: /names an aws ARN in the china stack/,
            },
        ],
        notApplicable: [
            {
                name: "arn:aws: on the global side",
                resources: res(
                    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                    { policyArn: "arn:aws:iam::aws:policy/X" },
                    { region: EU },
                ),
            },
        ],
    },
    "china-no-aws-site-to-site-vpn": {
        pass: [
            {
                name: "VPN connection in Hong Kong",
                resources: res("aws:ec2/vpnConnection:VpnConnection", { type: "ipsec.1" }, { region: "ap-east-1" }),
            },
        ],
        fail: [
            {
                name: "VPN gateway in Ningxia",
                resources: res("aws:ec2/vpnGateway:VpnGateway", {}, { region: CN }),
                message: /VpnGateway is not available in the China regions/,
            },
            {
                name: "customer gateway in Beijing",
                resources: res(
                    "aws:ec2/customerGateway:CustomerGateway",
                    { ipAddress: "1.2.3.4" },
                    { region: "cn-north-1" },
                ),
                message: /CustomerGateway is not available/,
            },
        ],
        notApplicable: [
            {
                name: "an EC2 instance in China",
                resources: res("aws:ec2/instance:Instance", { instanceType: "m6i.large" }, { region: CN }),
            },
        ],
    },
    "china-public-http-needs-icp": {
        pass: [
            {
                name: "443 from the VPC only",
                resources: [
                    ...chinaProvider,
                    ...res("aws:ec2/securityGroup:SecurityGroup", {
                        ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["10.20.0.0/16"] }],
                    }),
                ],
            },
            {
                name: "443 open with a licence",
                resources: [
                    ...chinaProvider,
                    ...res("aws:ec2/securityGroup:SecurityGroup", {
                        ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }],
                    }),
                ],
                config: { icpLicensed: true },
            },
        ],
        fail: [
            {
                name: "443 open without a licence",
                resources: [
                    ...chinaProvider,
                    ...res("aws:ec2/securityGroup:SecurityGroup", {
                        ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }],
                    }),
                ],
                message: /opens port 443 to the internet in mainland China without an ICP licence/,
            },
            {
                name: "port 80 by a rule resource",
                resources: [
                    ...chinaProvider,
                    ...res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", {
                        ipProtocol: "tcp",
                        fromPort: 80,
                        toPort: 80,
                        cidrIpv6: "::/0",
                    }),
                ],
                message: /opens port 80/,
            },
            {
                name: "an internet-facing listener",
                resources: [
                    ...chinaProvider,
                    ...res("aws:lb/loadBalancer:LoadBalancer", { internal: false }),
                    ...res("aws:lb/listener:Listener", { port: 443, loadBalancerArn: "x" }),
                ],
                message: /listens on 443 on an internet-facing load balancer/,
            },
        ],
        notApplicable: [
            {
                name: "443 open on the global side",
                resources: res(
                    "aws:ec2/securityGroup:SecurityGroup",
                    { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }] },
                    { region: EU },
                ),
            },
        ],
    },
    "instance-type-offered": {
        pass: [
            {
                name: "m6i.large in Ningxia",
                resources: res("aws:eks/nodeGroup:NodeGroup", { instanceTypes: ["m6i.large"] }, { region: CN }),
            },
        ],
        fail: [
            {
                name: "trn1 in Ningxia",
                resources: res(
                    "aws:eks/nodeGroup:NodeGroup",
                    { instanceTypes: ["m6i.large", "trn1.2xlarge"] },
                    { region: CN },
                ),
                message: /trn1\.2xlarge is not offered in cn-northwest-1/,
            },
        ],
        notApplicable: [
            {
                name: "a family the table does not cover",
                resources: res("aws:ec2/instance:Instance", { instanceType: "x2idn.16xlarge" }, { region: CN }),
            },
        ],
    },
    "china-images-from-china-registries": {
        pass: [
            {
                name: "workload from ACR in Hangzhou",
                resources: [...chinaProvider, ...res("kubernetes:apps/v1:Deployment", deployment(hardened))],
            },
        ],
        fail: [
            {
                name: "Docker Hub image in china",
                resources: [
                    ...chinaProvider,
                    ...res("kubernetes:apps/v1:Deployment", deployment({ ...hardened, image: "nginx:1.27" })),
                ],
                message: /pulls nginx:1\.27 from docker\.io, outside China/,
            },
            {
                name: "Helm release values from quay.io",
                resources: [
                    ...chinaProvider,
                    ...res("kubernetes:helm.sh/v3:Release", {
                        values: { image: { repository: "quay.io/jetstack/cert-manager-controller", tag: "v1" } },
                    }),
                ],
                message: /values\.image\) pulls quay\.io\/jetstack\/cert-manager-controller/,
            },
            {
                name: "CronJob from ghcr.io",
                resources: [
                    ...chinaProvider,
                    ...res("kubernetes:batch/v1:CronJob", {
                        spec: {
                            jobTemplate: {
                                spec: {
                                    template: { spec: { containers: [{ name: "c", image: "ghcr.io/acme/job:1" }] } },
                                },
                            },
                        },
                    }),
                ],
                message: /ghcr\.io, outside China/,
            },
        ],
        notApplicable: [
            {
                name: "Docker Hub on the global side",
                resources: [
                    ...res("pulumi:providers:aws", { region: EU }),
                    ...res("kubernetes:apps/v1:Deployment", deployment({ ...hardened, image: "nginx" })),
                ],
            },
        ],
    },
    "eks-endpoint-not-public": {
        pass: [
            { name: "private endpoint", resources: res("aws:eks/cluster:Cluster", goodEks) },
            {
                name: "public to an office range",
                resources: res("aws:eks/cluster:Cluster", {
                    ...goodEks,
                    vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.10/32"] },
                }),
            },
        ],
        fail: [
            {
                name: "public to the world",
                resources: res("aws:eks/cluster:Cluster", {
                    ...goodEks,
                    vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"] },
                }),
                message: /public to 0\.0\.0\.0\/0/,
            },
            {
                name: "public with no allow-list",
                resources: res("aws:eks/cluster:Cluster", { ...goodEks, vpcConfig: { endpointPublicAccess: true } }),
                message: /no publicAccessCidrs, which EKS reads as 0\.0\.0\.0\/0/,
            },
        ],
        omission: [
            {
                name: "endpointPublicAccess left out",
                resources: res("aws:eks/cluster:Cluster", { ...goodEks, vpcConfig: { subnetIds: ["a"] } }),
                message: /endpointPublicAccess is not set, and EKS then makes the API public/,
            },
        ],
        notApplicable: [
            { name: "a node group", resources: res("aws:eks/nodeGroup:NodeGroup", { instanceTypes: ["m6i.large"] }) },
        ],
    },
    "eks-secrets-encryption": {
        pass: [{ name: "KMS envelope encryption", resources: res("aws:eks/cluster:Cluster", goodEks) }],
        fail: [
            {
                name: "encryption of configmaps only",
                resources: res("aws:eks/cluster:Cluster", {
                    ...goodEks,
                    encryptionConfig: { provider: { keyArn: "k" }, resources: ["configmaps"] },
                }),
                message: /secrets are not encrypted with a KMS key/,
            },
        ],
        omission: [
            {
                name: "no encryptionConfig",
                resources: res("aws:eks/cluster:Cluster", { ...goodEks, encryptionConfig: undefined }),
                message: /secrets are not encrypted/,
            },
        ],
        notApplicable: [{ name: "a KMS key", resources: res("aws:kms/key:Key", {}) }],
    },
    "eks-control-plane-logs": {
        pass: [{ name: "all log types", resources: res("aws:eks/cluster:Cluster", goodEks) }],
        fail: [
            {
                name: "audit only",
                resources: res("aws:eks/cluster:Cluster", { ...goodEks, enabledClusterLogTypes: ["audit"] }),
                message: /control-plane logs api, authenticator, controllerManager, scheduler are off/,
            },
        ],
        omission: [
            {
                name: "no log types",
                resources: res("aws:eks/cluster:Cluster", { ...goodEks, enabledClusterLogTypes: undefined }),
                message: /control-plane logs api, audit/,
            },
        ],
        notApplicable: [{ name: "a bucket", resources: res("aws:s3/bucket:Bucket", {}) }],
    },
    "no-admin-ports-from-world": {
        pass: [
            {
                name: "SSH from the office",
                resources: res("aws:ec2/securityGroup:SecurityGroup", {
                    ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["203.0.113.0/24"] }],
                }),
            },
        ],
        fail: [
            {
                name: "SSH from the world",
                resources: res("aws:ec2/securityGroup:SecurityGroup", {
                    ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }],
                }),
                message: /port 22 is open to 0\.0\.0\.0\/0/,
            },
            {
                name: "all traffic from IPv6 anywhere",
                resources: res("aws:ec2/securityGroupRule:SecurityGroupRule", {
                    type: "ingress",
                    protocol: "-1",
                    fromPort: 0,
                    toPort: 0,
                    ipv6CidrBlocks: ["::/0"],
                }),
                message: /port 22 is open to ::\/0/,
            },
            {
                name: "the API port by a range",
                resources: res("aws:ec2/securityGroupRule:SecurityGroupRule", {
                    type: "ingress",
                    protocol: "tcp",
                    fromPort: 6000,
                    toPort: 7000,
                    cidrBlocks: ["0.0.0.0/0"],
                }),
                message: /port 6443 is open/,
            },
        ],
        notApplicable: [
            {
                name: "an egress rule",
                resources: res("aws:ec2/securityGroupRule:SecurityGroupRule", {
                    type: "egress",
                    protocol: "-1",
                    fromPort: 0,
                    toPort: 0,
                    cidrBlocks: ["0.0.0.0/0"],
                }),
            },
        ],
    },
    "s3-block-public-access": {
        pass: [
            { name: "private bucket", resources: bucketSet({ Statement: [tlsDeny] }, allBlocked) },
            {
                name: "public downloads prefix only",
                resources: bucketSet(
                    {
                        Statement: [
                            tlsDeny,
                            {
                                Effect: "Allow",
                                Principal: "*",
                                Action: "s3:GetObject",
                                Resource: "arn:aws:s3:::b/downloads/*",
                            },
                        ],
                    },
                    { ...allBlocked, blockPublicPolicy: false, restrictPublicBuckets: false },
                ),
                config: { publicPrefixes: ["downloads/"] },
            },
        ],
        fail: [
            {
                name: "public beyond the declared prefix",
                resources: bucketSet(
                    {
                        Statement: [
                            { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" },
                        ],
                    },
                    { ...allBlocked, blockPublicPolicy: false },
                ),
                config: { publicPrefixes: ["downloads/"] },
                message: /grants s3:GetObject on arn:aws:s3:::b\/\* to everyone/,
            },
            {
                name: "public ACLs allowed",
                resources: bucketSet({ Statement: [tlsDeny] }, { ...allBlocked, blockPublicAcls: false }),
                message: /public ACLs are not blocked/,
            },
        ],
        omission: [
            {
                name: "no public access block",
                resources: [...res("aws:s3/bucket:Bucket", { bucket: "b" }, { name: "b" })],
                message: /no BucketPublicAccessBlock/,
            },
        ],
        notApplicable: [{ name: "no buckets", resources: res("aws:ecr/repository:Repository", {}) }],
    },
    "s3-tls-only": {
        pass: [{ name: "TLS deny", resources: bucketSet({ Statement: [tlsDeny] }, allBlocked) }],
        fail: [
            {
                name: "a policy without the TLS deny",
                resources: bucketSet(
                    {
                        Statement: [
                            { Effect: "Deny", Principal: "*", Action: "s3:DeleteBucket", Resource: "arn:aws:s3:::b" },
                        ],
                    },
                    allBlocked,
                ),
                message: /its bucket policy does not deny requests without TLS/,
            },
        ],
        omission: [
            {
                name: "no bucket policy",
                resources: res("aws:s3/bucket:Bucket", { bucket: "b" }, { name: "b" }),
                message: /no bucket policy denies requests without TLS/,
            },
        ],
        notApplicable: [{ name: "no buckets", resources: res("aws:kms/key:Key", {}) }],
    },
    "ecr-scan-and-immutable-tags": {
        pass: [
            {
                name: "scan and immutable",
                resources: res("aws:ecr/repository:Repository", {
                    imageScanningConfiguration: { scanOnPush: true },
                    imageTagMutability: "IMMUTABLE",
                }),
            },
        ],
        fail: [
            {
                name: "mutable tags",
                resources: res("aws:ecr/repository:Repository", {
                    imageScanningConfiguration: { scanOnPush: true },
                    imageTagMutability: "MUTABLE",
                }),
                message: /tags are mutable/,
            },
        ],
        omission: [
            {
                name: "defaults",
                resources: res("aws:ecr/repository:Repository", { name: "x" }),
                message: /scan on push is off/,
            },
        ],
        notApplicable: [{ name: "a lifecycle policy", resources: res("aws:ecr/lifecyclePolicy:LifecyclePolicy", {}) }],
    },
    "vpn-psk-secret": {
        pass: [
            {
                name: "masked (secret) keys",
                resources: res("aws:ec2/vpnConnection:VpnConnection", {
                    tunnel1PresharedKey: "[secret]",
                    tunnel2PresharedKey: "[secret]",
                }),
            },
            { name: "keys unknown until apply", resources: res("aws:ec2/vpnConnection:VpnConnection", {}) },
        ],
        fail: [
            {
                name: "a literal key",
                resources: res("aws:ec2/vpnConnection:VpnConnection", {
                    tunnel1PresharedKey: "hunter2hunter2",
                    tunnel2PresharedKey: "[secret]",
                }),
                message: /tunnel1PresharedKey is a readable literal/,
            },
            {
                name: "a key in a plain String parameter",
                resources: res("aws:ssm/parameter:Parameter", {
                    name: "/vpn/tunnel1/psk",
                    type: "String",
                    value: "[secret]",
                }),
                message: /must be stored as SecureString/,
            },
        ],
        notApplicable: [
            {
                name: "another parameter",
                resources: res("aws:ssm/parameter:Parameter", { name: "/app/color", type: "String", value: "blue" }),
            },
        ],
    },
    "k8s-workload-hardening": {
        pass: [
            { name: "hardened deployment", resources: res("kubernetes:apps/v1:Deployment", deployment(hardened)) },
            {
                name: "hardened CronJob without probes",
                resources: res("kubernetes:batch/v1:CronJob", {
                    spec: {
                        jobTemplate: {
                            spec: {
                                template: {
                                    spec: {
                                        securityContext: { runAsNonRoot: true },
                                        containers: [
                                            {
                                                ...hardened,
                                                securityContext: { allowPrivilegeEscalation: false },
                                                livenessProbe: undefined,
                                                readinessProbe: undefined,
                                            },
                                        ],
                                    },
                                },
                            },
                        },
                    },
                }),
            },
        ],
        fail: [
            {
                name: "privilege escalation allowed",
                resources: res(
                    "kubernetes:apps/v1:Deployment",
                    deployment({
                        ...hardened,
                        securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: true },
                    }),
                ),
                message: /allowPrivilegeEscalation is not false/,
            },
        ],
        omission: [
            {
                name: "no ephemeral-storage limit",
                resources: res(
                    "kubernetes:apps/v1:Deployment",
                    deployment({
                        ...hardened,
                        resources: { requests: { cpu: "1m", memory: "1Mi" }, limits: { cpu: "1m", memory: "1Mi" } },
                    }),
                ),
                message: /ephemeral-storage is not set, so its logs and scratch files can fill the node's disk/,
            },
            {
                name: "no probes, no security context",
                resources: res(
                    "kubernetes:apps/v1:Deployment",
                    deployment({ name: "bare", image: "x", resources: hardened.resources }),
                ),
                message: /liveness and readiness probes are required/,
            },
        ],
        notApplicable: [{ name: "a ConfigMap", resources: res("kubernetes:core/v1:ConfigMap", { data: {} }) }],
    },
    "aws-tag-values": {
        pass: [
            {
                name: "an SSM parameter tagged with plain words",
                resources: res("aws:ssm/parameter:Parameter", {
                    type: "SecureString",
                    tags: { Name: "china-vpn-tunnel1", "crossborder:side": "china" },
                }),
            },
            {
                name: "the carrier's name on an EC2 interface (EC2 accepts any characters)",
                resources: res("aws:ec2/networkInterface:NetworkInterface", {
                    tags: { "crossborder:carrier": "China Telecom Global (CN2) contract CTG-0000" },
                }),
            },
        ],
        fail: [
            {
                name: "an SSM parameter tagged with the carrier's name",
                resources: res("aws:ssm/parameter:Parameter", {
                    tags: { "crossborder:carrier": "China Telecom Global (CN2) contract CTG-0000" },
                }),
                message:
                    /tag crossborder:carrier="China Telecom Global \(CN2\) contract CTG-0000" has characters ssm refuses/,
            },
            {
                name: "an IAM role under a provider whose default tags have a comma",
                resources: [
                    ...res(
                        "pulumi:providers:aws",
                        { region: "eu-central-1", defaultTags: { tags: { team: "a, b" } } },
                        { name: "aws-eu-central-1" },
                    ),
                    {
                        ...res("aws:iam/role:Role", { assumeRolePolicy: "{}" })[0],
                        provider: "urn:pulumi:s::p::pulumi:providers:aws::aws-eu-central-1",
                    },
                ],
                message: /tag team="a, b" has characters iam refuses/,
            },
        ],
        notApplicable: [{ name: "an S3 bucket", resources: res("aws:s3/bucket:Bucket", { tags: { x: "(any)" } }) }],
    },
    "no-inline-routes": {
        pass: [
            {
                name: "a table without inline routes",
                resources: res("aws:ec2/routeTable:RouteTable", { vpcId: "vpc-1" }),
            },
        ],
        fail: [
            {
                name: "a table with an inline default route",
                resources: res("aws:ec2/routeTable:RouteTable", {
                    vpcId: "vpc-1",
                    routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: "igw-1" }],
                }),
                message: /1 inline route\(s\); declare each as an aws\.ec2\.Route/,
            },
        ],
        notApplicable: [
            {
                name: "a route",
                resources: res("aws:ec2/route:Route", { routeTableId: "rtb-1", destinationCidrBlock: "0.0.0.0/0" }),
            },
        ],
    },
    "registry-internet-acl-bounded": {
        pass: [
            {
                name: "a NAT gateway's address",
                resources: res("alicloud:cr/endpointAclPolicy:EndpointAclPolicy", {
                    entry: "203.0.113.7/32",
                    endpointType: "internet",
                }),
            },
        ],
        fail: [
            {
                name: "the whole internet",
                resources: res("alicloud:cr/endpointAclPolicy:EndpointAclPolicy", {
                    entry: "0.0.0.0/0",
                    endpointType: "internet",
                }),
                message: /admits 0\.0\.0\.0\/0/,
            },
            {
                name: "a /4",
                resources: res("alicloud:cr/endpointAclPolicy:EndpointAclPolicy", {
                    entry: "64.0.0.0/4",
                    endpointType: "internet",
                }),
                message: /admits 64\.0\.0\.0\/4/,
            },
        ],
        notApplicable: [
            {
                name: "the namespace",
                resources: res("alicloud:cs/registryEnterpriseNamespace:RegistryEnterpriseNamespace", { name: "x" }),
            },
        ],
    },
};

function violations(rule: string, f: Fixture): string[] {
    const r = rules.find((x) => x.name === rule)!;
    return runPolicies(f.resources, { [rule]: f.config ?? {} }, [r]).map((v) => v.message);
}

describe("the policy pack", () => {
    it("has kebab-case, described, configurable rules with an enforcement level", () => {
        for (const r of rules) {
            assert.match(r.name, /^[a-z0-9]+(-[a-z0-9]+)*$/, r.name);
            assert.ok(r.description.length > 20, r.name);
            assert.ok(["mandatory", "advisory"].includes(String(r.enforcementLevel)), r.name);
        }
        assert.strictEqual(new Set(rules.map((r) => r.name)).size, rules.length);
    });

    it("has a passing and a failing fixture for every rule (meta-test)", () => {
        for (const r of rules) {
            const f = FIXTURES[r.name];
            assert.ok(f, `rule ${r.name} has no fixtures`);
            assert.ok(
                f.pass.length > 0 && f.fail.length + (f.omission?.length ?? 0) > 0 && f.fail.length > 0,
                `rule ${r.name} needs a passing and a failing fixture`,
            );
            assert.ok(f.notApplicable.length > 0, `rule ${r.name} needs a not-applicable fixture`);
        }
        assert.deepStrictEqual(
            Object.keys(FIXTURES).filter((k) => !rules.some((r) => r.name === k)),
            [],
            "fixtures for rules that do not exist",
        );
    });

    for (const [rule, f] of Object.entries(FIXTURES)) {
        describe(rule, () => {
            for (const x of f.pass) it(`passes: ${x.name}`, () => assert.deepStrictEqual(violations(rule, x), []));
            for (const x of f.fail)
                it(`fails: ${x.name}`, () =>
                    assert.ok(
                        violations(rule, x).some((m) => x.message.test(m)),
                        violations(rule, x).join("\n") || "no violation",
                    ));
            for (const x of f.omission ?? [])
                it(`fails by omission: ${x.name}`, () =>
                    assert.ok(
                        violations(rule, x).some((m) => x.message.test(m)),
                        violations(rule, x).join("\n") || "no violation",
                    ));
            for (const x of f.notApplicable)
                it(`does not apply: ${x.name}`, () => assert.deepStrictEqual(violations(rule, x), []));
        });
    }

    it("flags kops' insecure defaults (API and SSH open to 0.0.0.0/0)", () => {
        // kops: masters accept SSH and the API from anywhere; the API ELB listens publicly.
        const kops = [
            ...res(
                "aws:ec2/securityGroup:SecurityGroup",
                {
                    name: "masters.k8s.local",
                    ingress: [
                        { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] },
                        { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
                    ],
                },
                { region: EU },
            ),
            ...res(
                "aws:ec2/securityGroupRule:SecurityGroupRule",
                { type: "ingress", protocol: "tcp", fromPort: 6443, toPort: 6443, cidrBlocks: ["0.0.0.0/0"] },
                { name: "https-external-to-master" },
            ),
            ...res("aws:eks/cluster:Cluster", { vpcConfig: {} }, { name: "kops-like" }),
        ];
        const found = runPolicies(kops);
        const mandatory = found.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.policy);
        assert.ok(mandatory.includes("no-admin-ports-from-world"));
        assert.ok(mandatory.includes("eks-endpoint-not-public"));
        assert.ok(found.some((v) => /port 22 is open to 0\.0\.0\.0\/0/.test(v.message)));
        assert.ok(found.some((v) => /port 6443 is open/.test(v.message)));
    });

    it("passes the example stacks offline, and fails a plan whose API endpoint is open to 0.0.0.0/0 (exit 1)", function () {
        this.timeout(60_000);
        const good = runCli(["plan", "--out", path.join(tempDir("policy-ok"), "plan")]);
        assert.strictEqual(good.status, 0, good.stdout + good.stderr);
        assert.strictEqual((good.stdout.match(/policy pack: no violations/g) ?? []).length, 2);
        const dir = tempDir("policy-bad");
        copyStacks(dir, {
            file: "global",
            from: "    endpointPublicAccess: false\n",
            to: "    endpointPublicAccess: true\n    publicAccessCidrs: [0.0.0.0/0]\n",
        });
        const bad = runCli(["plan", "--stacks-dir", dir, "--out", path.join(dir, "plan")]);
        assert.strictEqual(bad.status, 1, bad.stdout + bad.stderr);
        assert.match(
            bad.stdout,
            /POLICY VIOLATION \[eks-endpoint-not-public\] global-eks: the API endpoint is public to 0\.0\.0\.0\/0/,
        );
        assert.match(
            bad.stdout,
            /resource: urn:pulumi:global::crossborder::crossborder:cluster:Cluster\$aws:eks\/cluster:Cluster::global-eks/,
        );
    });

    it("is a pack Pulumi can load: PulumiPolicy.yaml and an entry that constructs the PolicyPack", () => {
        const fs = require("fs") as typeof import("fs");
        const root = path.join(__dirname, "..", "..", "policies");
        assert.match(fs.readFileSync(path.join(root, "PulumiPolicy.yaml"), "utf8"), /runtime:\n {2}name: nodejs/);
        assert.match(
            fs.readFileSync(path.join(root, "index.ts"), "utf8"),
            /new PolicyPack\("crossborder", \{ policies: rules \}\)/,
        );
    });
});
