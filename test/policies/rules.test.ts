/**
 * Every rule of the policy pack against fixtures that pass, fail explicitly, fail by omission (where the
 * default is insecure), and do not apply. A meta-test fails when a rule lacks a passing or a failing
 * fixture. The rules are imported directly: the pack entry (policies/index.ts) is never loaded here.
 */
import * as assert from "assert";
import * as path from "path";
import type { ResourceRecord } from "../../stacks/offline";
import { runPolicies } from "../../policies/offline";
import { rules } from "../../policies/rules";
import { copyStacks, runCli, tempDir } from "../helpers";

let counter = 0;
/** A recorded resource; `region` gives it an AWS provider in that region. */
function res(
    type: string,
    inputs: Record<string, unknown>,
    opts: { name?: string; region?: string; parent?: string; madeFrom?: Record<string, string[]> } = {},
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
            propertyDependencies: opts.madeFrom ?? {},
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
/** The URN res() gives a resource of `type` named `name`. */
const urnOf = (type: string, name: string) => `urn:pulumi:s::p::${type}::${name}`;
const BUCKET = "aws:s3/bucket:Bucket";
/** A bucket and its companions, which name it through the program's reference (their `bucket` is its id). */
const bucketSet = (
    policy: object,
    bpa: Record<string, boolean>,
    parent = "urn:pulumi:s::p::crossborder:storage:ServingBucket::b",
    name = "b",
) => {
    const made = { madeFrom: { bucket: [urnOf(BUCKET, `${name}-bucket`)] }, parent };
    return [
        ...res(BUCKET, { bucket: name }, { name: `${name}-bucket`, parent }),
        ...res(
            "aws:s3/bucketPolicy:BucketPolicy",
            { bucket: `${name}-bucket-id`, policy: JSON.stringify(policy) },
            { name: `${name}-policy`, ...made },
        ),
        ...res(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            { bucket: `${name}-bucket-id`, ...bpa },
            { name: `${name}-bpa`, ...made },
        ),
    ];
};
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
    "no-ssh-from-world": {
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
                name: "inline SSH from the world",
                resources: res("aws:ec2/securityGroup:SecurityGroup", {
                    ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }],
                }),
                message: /SSH \(22\) is open to 0\.0\.0\.0\/0/,
            },
            {
                name: "all traffic from IPv6 anywhere as a SecurityGroupRule",
                resources: res("aws:ec2/securityGroupRule:SecurityGroupRule", {
                    type: "ingress",
                    protocol: "-1",
                    fromPort: 0,
                    toPort: 0,
                    ipv6CidrBlocks: ["::/0"],
                }),
                message: /SSH \(22\) is open to ::\/0/,
            },
            {
                name: "SSH from the world as a VPC ingress rule",
                resources: res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", {
                    ipProtocol: "tcp",
                    fromPort: 22,
                    toPort: 22,
                    cidrIpv4: "0.0.0.0/0",
                    securityGroupId: "sg-1",
                }),
                message: /SSH \(22\) is open to 0\.0\.0\.0\/0/,
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
    "k8s-api-not-from-world": {
        pass: [
            {
                name: "443 from the world on a group that fronts no API (a web load balancer)",
                resources: res("aws:ec2/securityGroup:SecurityGroup", {
                    name: "web-lb",
                    ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }],
                }),
            },
            {
                name: "the API from the office only",
                resources: res("aws:ec2/securityGroup:SecurityGroup", {
                    name: "masters.k8s.local",
                    ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["203.0.113.0/24"] }],
                }),
            },
        ],
        fail: [
            {
                name: "6443 from the world anywhere",
                resources: res("aws:ec2/securityGroupRule:SecurityGroupRule", {
                    type: "ingress",
                    protocol: "tcp",
                    fromPort: 6000,
                    toPort: 7000,
                    cidrBlocks: ["0.0.0.0/0"],
                }),
                message: /the Kubernetes API port 6443 is open to 0\.0\.0\.0\/0/,
            },
            {
                name: "443 from the world on a group tagged for the cluster, by reference",
                resources: [
                    ...res(
                        "aws:ec2/securityGroup:SecurityGroup",
                        { name: "api-elb.k8s.local", tags: { KubernetesCluster: "k8s.local" } },
                        { name: "api-elb" },
                    ),
                    ...res(
                        "aws:ec2/securityGroupRule:SecurityGroupRule",
                        {
                            type: "ingress",
                            protocol: "tcp",
                            fromPort: 443,
                            toPort: 443,
                            cidrBlocks: ["0.0.0.0/0"],
                            securityGroupId: "[unknown]",
                        },
                        {
                            name: "https-external-to-api",
                            madeFrom: { securityGroupId: [urnOf("aws:ec2/securityGroup:SecurityGroup", "api-elb")] },
                        },
                    ),
                ],
                message: /443 is open to 0\.0\.0\.0\/0 on api-elb, which fronts a Kubernetes API/,
            },
        ],
        notApplicable: [{ name: "a bucket", resources: res(BUCKET, { bucket: "b" }) }],
    },
    "imds-v2-required": {
        pass: [
            {
                name: "IMDSv2 required",
                resources: res("aws:ec2/launchTemplate:LaunchTemplate", {
                    metadataOptions: { httpTokens: "required" },
                }),
            },
            {
                name: "no metadata service at all",
                resources: res("aws:ec2/instance:Instance", { metadataOptions: { httpEndpoint: "disabled" } }),
            },
        ],
        fail: [
            {
                name: "IMDSv1 allowed",
                resources: res("aws:ec2/launchTemplate:LaunchTemplate", {
                    metadataOptions: { httpTokens: "optional" },
                }),
                message: /metadataOptions\.httpTokens is "optional"/,
            },
        ],
        omission: [
            {
                name: "an instance without metadata options",
                resources: res("aws:ec2/instance:Instance", { instanceType: "t3.micro" }),
                message: /httpTokens is not set, so IMDSv1 stays on/,
            },
            {
                name: "a launch configuration without metadata options",
                resources: res("aws:ec2/launchConfiguration:LaunchConfiguration", { instanceType: "t3.micro" }),
                message: /httpTokens is not set/,
            },
        ],
        notApplicable: [{ name: "a volume", resources: res("aws:ebs/volume:Volume", { encrypted: true }) }],
    },
    "ebs-encrypted": {
        pass: [
            {
                name: "an encrypted volume",
                resources: res("aws:ebs/volume:Volume", { availabilityZone: "a", size: 20, encrypted: true }),
            },
            {
                name: "a launch template with an encrypted root",
                resources: res("aws:ec2/launchTemplate:LaunchTemplate", {
                    blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true" } }],
                }),
            },
        ],
        fail: [
            {
                name: "an instance with a plain root disk",
                resources: res("aws:ec2/instance:Instance", { rootBlockDevice: { encrypted: false } }),
                message: /the root block device is not encrypted/,
            },
        ],
        omission: [
            {
                name: "an etcd volume left unencrypted",
                resources: res("aws:ebs/volume:Volume", {
                    availabilityZone: "a",
                    size: 20,
                    tags: { "k8s.io/etcd/main": "a/a" },
                }),
                message: /the volume is not encrypted/,
            },
            {
                name: "a launch template that never maps its root volume",
                resources: res("aws:ec2/launchTemplate:LaunchTemplate", { imageId: "ami-1" }),
                message: /no block device mapping declares the root volume encrypted/,
            },
        ],
        notApplicable: [{ name: "a bucket", resources: res(BUCKET, { bucket: "b" }) }],
    },
    "s3-no-public-acl": {
        pass: [
            { name: "a private ACL", resources: res("aws:s3/bucketAcl:BucketAcl", { bucket: "b", acl: "private" }) },
            { name: "no ACL at all", resources: res(BUCKET, { bucket: "b" }) },
        ],
        fail: [
            {
                name: "public-read on a BucketAcl",
                resources: res("aws:s3/bucketAcl:BucketAcl", { bucket: "b", acl: "public-read" }),
                message: /the public-read ACL opens the bucket to everyone/,
            },
            {
                name: "public-read-write on a Bucket",
                resources: res(BUCKET, { bucket: "b", acl: "public-read-write" }),
                message: /the public-read-write ACL/,
            },
            {
                name: "public-read on the deprecated BucketV2",
                resources: res("aws:s3/bucketV2:BucketV2", { bucket: "b", acl: "public-read" }),
                message: /the public-read ACL/,
            },
            {
                name: "an AllUsers grant on a BucketAclV2",
                resources: res("aws:s3/bucketAclV2:BucketAclV2", {
                    bucket: "b",
                    accessControlPolicy: {
                        grants: [
                            {
                                grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/global/AllUsers" },
                                permission: "READ",
                            },
                        ],
                        owner: { id: "x" },
                    },
                }),
                message: /a grant gives READ to AllUsers/,
            },
        ],
        notApplicable: [
            {
                name: "a bucket policy",
                resources: res("aws:s3/bucketPolicy:BucketPolicy", { bucket: "b", policy: "{}" }),
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
                name: "keys made from generated passwords (revealed as the engine hands them over)",
                resources: [
                    ...res("random:index/randomPassword:RandomPassword", { length: 40 }, { name: "psk1" }),
                    ...res(
                        "aws:ec2/vpnConnection:VpnConnection",
                        {
                            tunnel1PresharedKey: "kGeneratedAndRevealed.1234",
                            tunnel2PresharedKey: "kGeneratedAndRevealed.5678",
                        },
                        {
                            madeFrom: {
                                tunnel1PresharedKey: [urnOf("random:index/randomPassword:RandomPassword", "psk1")],
                                tunnel2PresharedKey: [urnOf("random:index/randomPassword:RandomPassword", "psk1")],
                            },
                        },
                    ),
                ],
            },
            { name: "keys left to AWS", resources: res("aws:ec2/vpnConnection:VpnConnection", {}) },
            {
                name: "a SecureString made from the peer's output",
                resources: [
                    ...res("pulumi:pulumi:StackReference", { name: "global" }, { name: "peer" }),
                    ...res(
                        "aws:ssm/parameter:Parameter",
                        { name: "/vpn/tunnel1/psk", type: "SecureString", value: "kRevealed.1234" },
                        { madeFrom: { value: [urnOf("pulumi:pulumi:StackReference", "peer")] } },
                    ),
                ],
            },
        ],
        fail: [
            {
                name: "a literal key",
                resources: res("aws:ec2/vpnConnection:VpnConnection", { tunnel1PresharedKey: "hunter2hunter2" }),
                message: /tunnel1PresharedKey is not made from a generated value/,
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
    "tgw-explicit-route-tables": {
        pass: [
            {
                name: "a Transit Gateway without default route table, and a VPC attachment that asks for none",
                resources: [
                    ...res("aws:ec2transitgateway/transitGateway:TransitGateway", {
                        defaultRouteTableAssociation: "disable",
                        defaultRouteTablePropagation: "disable",
                    }),
                    ...res(
                        "aws:ec2transitgateway/vpcAttachment:VpcAttachment",
                        {
                            transitGatewayDefaultRouteTableAssociation: false,
                            transitGatewayDefaultRouteTablePropagation: false,
                        },
                        { name: "attach" },
                    ),
                ],
            },
        ],
        fail: [
            {
                name: "a Transit Gateway that associates attachments by default (the field omitted)",
                resources: res("aws:ec2transitgateway/transitGateway:TransitGateway", {
                    defaultRouteTablePropagation: "disable",
                }),
                message: /defaultRouteTableAssociation is "enable \(omitted\)"; set it to "disable"/,
            },
            {
                name: "a VPC attachment that asks for the default route table",
                resources: res("aws:ec2transitgateway/vpcAttachment:VpcAttachment", {
                    transitGatewayDefaultRouteTableAssociation: true,
                    transitGatewayDefaultRouteTablePropagation: false,
                }),
                message: /transitGatewayDefaultRouteTableAssociation is true; set it to false/,
            },
        ],
        notApplicable: [
            {
                name: "a route table association",
                resources: res("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation", {
                    transitGatewayAttachmentId: "tgw-attach-1",
                }),
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

    it("catches each kops-style default, in the shapes kops creates them, with a mandatory rule", () => {
        // As kops writes them for AWS (its Terraform/CloudFormation output): the masters' group, the API
        // ELB's group with a separate 443 rule, SSH as its own rule, IMDSv1 launch templates, an
        // unencrypted etcd volume and a public-read bucket ACL.
        const sg = "aws:ec2/securityGroup:SecurityGroup";
        const kops = [
            ...res(
                sg,
                {
                    name: "masters.k8s.local",
                    tags: { KubernetesCluster: "k8s.local", "kubernetes.io/cluster/k8s.local": "owned" },
                },
                { name: "masters", region: EU },
            ),
            ...res(sg, { name: "api-elb.k8s.local", tags: { KubernetesCluster: "k8s.local" } }, { name: "api-elb" }),
            ...res(
                "aws:ec2/securityGroupRule:SecurityGroupRule",
                {
                    type: "ingress",
                    protocol: "tcp",
                    fromPort: 443,
                    toPort: 443,
                    cidrBlocks: ["0.0.0.0/0"],
                    securityGroupId: "[unknown]",
                },
                { name: "https-external-to-master-0-0-0-0--0", madeFrom: { securityGroupId: [urnOf(sg, "api-elb")] } },
            ),
            ...res(
                "aws:ec2/securityGroupRule:SecurityGroupRule",
                {
                    type: "ingress",
                    protocol: "tcp",
                    fromPort: 22,
                    toPort: 22,
                    cidrBlocks: ["0.0.0.0/0"],
                    securityGroupId: "[unknown]",
                },
                { name: "ssh-external-to-master-0-0-0-0--0", madeFrom: { securityGroupId: [urnOf(sg, "masters")] } },
            ),
            ...res(
                "aws:ec2/launchTemplate:LaunchTemplate",
                {
                    name: "master-a.masters.k8s.local",
                    metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 1 },
                    blockDeviceMappings: [
                        { deviceName: "/dev/xvda", ebs: { volumeType: "gp3", volumeSize: 64, encrypted: "true" } },
                    ],
                },
                { name: "master-a" },
            ),
            ...res(
                "aws:ebs/volume:Volume",
                {
                    availabilityZone: "eu-central-1a",
                    size: 20,
                    type: "gp3",
                    encrypted: false,
                    tags: { "k8s.io/etcd/main": "a/a", KubernetesCluster: "k8s.local" },
                },
                { name: "a-etcd-main" },
            ),
            ...res(BUCKET, { bucket: "k8s-local-state" }, { name: "state" }),
            ...res(
                "aws:s3/bucketAcl:BucketAcl",
                { bucket: "k8s-local-state", acl: "public-read" },
                { name: "state-acl" },
            ),
        ];
        const found = runPolicies(kops).filter((v) => v.enforcementLevel === "mandatory");
        const by = (policy: string, re: RegExp) =>
            assert.ok(
                found.some((v) => v.policy === policy && re.test(v.message)),
                `${policy}: ${found.map((v) => `${v.policy}: ${v.message}`).join("\n")}`,
            );
        by("k8s-api-not-from-world", /https-external-to-master-0-0-0-0--0: 443 is open to 0\.0\.0\.0\/0 on api-elb/);
        by("no-ssh-from-world", /ssh-external-to-master-0-0-0-0--0: SSH \(22\) is open/);
        by("imds-v2-required", /master-a: metadataOptions\.httpTokens is "optional"/);
        by("ebs-encrypted", /a-etcd-main: the volume is not encrypted/);
        by("s3-no-public-acl", /state-acl: the public-read ACL/);
    });

    it("pairs a bucket with its own access block by reference, never with a neighbour's", () => {
        // Two buckets in one component: the second has no access block and no policy of its own.
        const parent = "urn:pulumi:s::p::crossborder:storage:ServingBucket::two";
        const records = [
            ...bucketSet({ Statement: [tlsDeny] }, allBlocked, parent, "first"),
            ...res(BUCKET, { bucket: "second" }, { name: "second-bucket", parent }),
        ];
        const msgs = runPolicies(records).map((v) => `${v.policy}: ${v.message}`);
        assert.ok(
            msgs.some((m) => /^s3-block-public-access: second-bucket: no BucketPublicAccessBlock/.test(m)),
            msgs.join("\n"),
        );
        assert.ok(
            msgs.some((m) => /^s3-tls-only: second-bucket: no bucket policy denies/.test(m)),
            msgs.join("\n"),
        );
        assert.ok(!msgs.some((m) => m.includes("first-bucket")), msgs.join("\n"));
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
