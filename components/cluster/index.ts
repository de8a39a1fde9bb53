/**
 * Cluster: EKS with a private API endpoint by default, secrets encrypted with a KMS key, every
 * control-plane log type, managed node groups, managed add-ons, and an IRSA OIDC provider. IAM principals
 * and ARNs come from the partition helpers; on the china side the nodes get containerd mirror config.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { NodeGroupSpec } from "./spec";
import { ecrRegistry, managedPolicyArn, Partition, servicePrincipal, stsClientIds } from "../../core/partition";
import { nodeUserData, RegistryAuth } from "./user-data";

export { containerdHosts } from "./containerd";
export type { RegistryAuth } from "./user-data";
export { irsaRole, irsaTrustPolicy } from "./irsa";

/** Every EKS control-plane log type (EKS API `LogType`). */
export const ALL_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"] as const;

/** Managed add-ons; their images come from the region's EKS add-on registry (a China account in aws-cn). */
export const ADDONS = ["vpc-cni", "kube-proxy", "coredns"] as const;

export interface ClusterArgs {
    readonly partition: Partition;
    readonly region: string;
    readonly name: string;
    readonly kubernetesVersion: string;
    /** Public API endpoint (for users, or for the machine that runs pulumi up). @default false */
    readonly endpointPublicAccess?: boolean;
    /** Required when the endpoint is public; never defaulted to 0.0.0.0/0. @default [] */
    readonly publicAccessCidrs?: readonly string[];
    /**
     * The VPC range, when pulumi up runs inside the VPC: the cluster security group then admits 443 from it,
     * so the Kubernetes provider reaches the private endpoint. @default none
     */
    readonly deployFromCidr?: string;
    readonly subnetIds: pulumi.Input<string[]>;
    readonly nodeGroups: readonly NodeGroupSpec[];
    /** containerd hosts.toml files by registry host; set on the china side. @default none */
    readonly containerdHosts?: ReadonlyMap<string, string>;
    /** Credentials kubelet pulls with from a private registry (the China ACR EE namespace). @default none */
    readonly registryAuth?: RegistryAuth;
    /** Account of the region's EKS add-on image registry (core/cloud-facts.yaml). */
    readonly addonAccount?: string;
}

function assumeRole(partition: Partition, service: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            { Effect: "Allow", Principal: { Service: servicePrincipal(partition, service) }, Action: "sts:AssumeRole" },
        ],
    });
}

/** Graviton families (m6g, c7g, t4g, …) need the ARM AMI. */
export function amiTypeFor(instanceTypes: readonly string[]): string {
    return instanceTypes.every((t) => /^[a-z]+\d+g[a-z]*\./.test(t))
        ? "AL2023_ARM_64_STANDARD"
        : "AL2023_x86_64_STANDARD";
}

/** A kubeconfig that authenticates with `aws eks get-token` (the AWS CLI of whoever uses it). */
export function kubeconfigFor(clusterName: string, endpoint: string, caData: string, region: string): string {
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
            {
                name: clusterName,
                cluster: { server: endpoint, "certificate-authority-data": caData },
            },
        ],
        contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
        "current-context": clusterName,
        users: [
            {
                name: clusterName,
                user: {
                    exec: {
                        apiVersion: "client.authentication.k8s.io/v1beta1",
                        command: "aws",
                        args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region],
                    },
                },
            },
        ],
    });
}

export class Cluster extends pulumi.ComponentResource {
    public readonly name: pulumi.Output<string>;
    public readonly endpoint: pulumi.Output<string>;
    public readonly oidcIssuer: pulumi.Output<string>;
    public readonly oidcProviderArn: pulumi.Output<string>;
    public readonly kubeconfig: pulumi.Output<string>;
    public readonly nodeRoleArn: pulumi.Output<string>;
    /** Where this region's EKS add-on images come from. */
    public readonly addonRegistry: pulumi.Output<string>;
    /** The security group EKS gives the control plane and the managed nodes. */
    public readonly securityGroupId: pulumi.Output<string>;
    /** What must exist before workloads are installed: the node groups and the add-ons. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: ClusterArgs, opts: pulumi.ComponentResourceOptions) {
        super("crossborder:cluster:Cluster", name, {}, opts);
        const child = { parent: this };
        const p = args.partition;
        if (args.endpointPublicAccess && !(args.publicAccessCidrs ?? []).length) {
            throw new Error(`${name}: a public API endpoint needs an explicit publicAccessCidrs allow-list`);
        }

        const { cluster, issuer, oidc } = this.controlPlane(name, args);
        const { nodeRole, groups } = this.nodes(name, args, cluster);
        const addons = this.addons(name, cluster, groups);
        if (args.deployFromCidr) {
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-api-from-vpc`,
                {
                    securityGroupId: cluster.vpcConfig.clusterSecurityGroupId,
                    description: "the Kubernetes API for pulumi up, run from inside the VPC",
                    ipProtocol: "tcp",
                    fromPort: 443,
                    toPort: 443,
                    cidrIpv4: args.deployFromCidr,
                },
                child,
            );
        }

        this.name = cluster.name;
        this.endpoint = cluster.endpoint;
        this.oidcIssuer = issuer;
        this.oidcProviderArn = oidc.arn;
        this.nodeRoleArn = nodeRole.arn;
        this.securityGroupId = cluster.vpcConfig.clusterSecurityGroupId;
        this.ready = [...groups, ...addons];
        this.addonRegistry = pulumi.output(args.addonAccount ? ecrRegistry(p, args.addonAccount, args.region) : "");
        this.kubeconfig = pulumi.secret(
            pulumi
                .all([cluster.name, cluster.endpoint, cluster.certificateAuthority])
                .apply(([clusterName, endpoint, ca]) =>
                    kubeconfigFor(clusterName, endpoint, ca?.data ?? "", args.region),
                ),
        );
        this.registerOutputs({
            name: this.name,
            endpoint: this.endpoint,
            oidcIssuer: this.oidcIssuer,
            kubeconfig: this.kubeconfig,
        });
    }

    /** The KMS key, the cluster role, the cluster itself and its IRSA OIDC provider. */
    private controlPlane(name: string, args: ClusterArgs) {
        const child = { parent: this };
        const p = args.partition;
        const key = new aws.kms.Key(
            `${name}-secrets`,
            {
                description: `EKS secrets encryption for ${args.name}`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
            },
            child,
        );
        new aws.kms.Alias(`${name}-secrets`, { name: `alias/eks/${args.name}`, targetKeyId: key.keyId }, child);

        const clusterRole = new aws.iam.Role(`${name}-cluster`, { assumeRolePolicy: assumeRole(p, "eks") }, child);
        new aws.iam.RolePolicyAttachment(
            `${name}-cluster`,
            { role: clusterRole.name, policyArn: managedPolicyArn(p, "AmazonEKSClusterPolicy") },
            child,
        );

        const cluster = new aws.eks.Cluster(
            `${name}-eks`,
            {
                name: args.name,
                version: args.kubernetesVersion,
                roleArn: clusterRole.arn,
                vpcConfig: {
                    subnetIds: args.subnetIds,
                    endpointPrivateAccess: true,
                    endpointPublicAccess: args.endpointPublicAccess ?? false,
                    ...(args.endpointPublicAccess ? { publicAccessCidrs: [...(args.publicAccessCidrs ?? [])] } : {}),
                },
                encryptionConfig: { provider: { keyArn: key.arn }, resources: ["secrets"] },
                enabledClusterLogTypes: [...ALL_LOG_TYPES],
                accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
            },
            child,
        );

        const issuer = cluster.identities.apply((ids) => ids?.[0]?.oidcs?.[0]?.issuer ?? "");
        const oidc = new aws.iam.OpenIdConnectProvider(
            `${name}-oidc`,
            { url: issuer, clientIdLists: stsClientIds(p) },
            child,
        );

        return { cluster, issuer, oidc };
    }

    /** The node role, the node user data (mirrors, registry credentials) and one managed node group per spec. */
    private nodes(name: string, args: ClusterArgs, cluster: aws.eks.Cluster) {
        const child = { parent: this };
        const p = args.partition;
        const nodeRole = new aws.iam.Role(`${name}-node`, { assumeRolePolicy: assumeRole(p, "ec2") }, child);
        const nodePolicies = [
            "AmazonEKSWorkerNodePolicy",
            "AmazonEKS_CNI_Policy",
            "AmazonEC2ContainerRegistryReadOnly",
            "AmazonSSMManagedInstanceCore",
        ];
        const attachments = nodePolicies.map(
            (policy) =>
                new aws.iam.RolePolicyAttachment(
                    `${name}-node-${policy}`,
                    { role: nodeRole.name, policyArn: managedPolicyArn(p, policy) },
                    child,
                ),
        );

        const auth = args.registryAuth ? this.registryAuthParameter(name, args, nodeRole, child) : undefined;
        const registryAuth = auth?.parameter;
        const nodeDependencies: pulumi.Resource[] = [...attachments, ...(auth ? [auth.policy] : [])];
        const userData =
            (args.containerdHosts && args.containerdHosts.size > 0) || registryAuth
                ? pulumi.output(registryAuth?.name).apply((parameter) =>
                      Buffer.from(
                          nodeUserData({
                              containerdHosts: args.containerdHosts ?? new Map(),
                              registryAuth: parameter ? { parameter, region: args.region } : undefined,
                          }),
                      ).toString("base64"),
                  )
                : undefined;
        const groups = args.nodeGroups.map((g) => {
            const template = new aws.ec2.LaunchTemplate(
                `${name}-${g.name}`,
                {
                    blockDeviceMappings: [
                        {
                            deviceName: "/dev/xvda",
                            ebs: { volumeSize: g.diskSizeGiB, volumeType: "gp3", encrypted: "true" },
                        },
                    ],
                    metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 2, httpEndpoint: "enabled" },
                    ...(userData ? { userData } : {}),
                },
                child,
            );
            return new aws.eks.NodeGroup(
                `${name}-${g.name}`,
                {
                    clusterName: cluster.name,
                    nodeGroupName: g.name,
                    nodeRoleArn: nodeRole.arn,
                    subnetIds: args.subnetIds,
                    instanceTypes: [...g.instanceTypes],
                    amiType: amiTypeFor(g.instanceTypes),
                    capacityType: g.capacityType,
                    scalingConfig: { minSize: g.minSize, desiredSize: g.desiredSize, maxSize: g.maxSize },
                    launchTemplate: { id: template.id, version: pulumi.interpolate`${template.latestVersion}` },
                },
                { ...child, dependsOn: nodeDependencies },
            );
        });
        return { nodeRole, groups };
    }

    /** The managed add-ons, after the nodes they run on. */
    private addons(name: string, cluster: aws.eks.Cluster, groups: aws.eks.NodeGroup[]): aws.eks.Addon[] {
        const child = { parent: this };
        // OVERWRITE on create as well: EKS installs vpc-cni, kube-proxy and coredns itself as self-managed
        // add-ons, and creating the managed add-on over them fails on the field conflicts unless told to take
        // them over (EKS API CreateAddon, resolveConflicts).
        return ADDONS.map(
            (addon) =>
                new aws.eks.Addon(
                    `${name}-${addon}`,
                    {
                        clusterName: cluster.name,
                        addonName: addon,
                        resolveConflictsOnCreate: "OVERWRITE",
                        resolveConflictsOnUpdate: "OVERWRITE",
                    },
                    { ...child, dependsOn: groups },
                ),
        );
    }

    /** The registry credentials as an SSM SecureString the node role alone may read; user data writes them for kubelet. */
    private registryAuthParameter(
        name: string,
        args: ClusterArgs,
        nodeRole: aws.iam.Role,
        child: pulumi.CustomResourceOptions,
    ): { parameter: aws.ssm.Parameter; policy: aws.iam.RolePolicy } {
        const parameter = new aws.ssm.Parameter(
            `${name}-registry-auth`,
            {
                name: `/crossborder/${args.name}/registry-auth`,
                description: "Docker config.json with the credentials kubelet pulls from the China registry with",
                type: "SecureString",
                value: pulumi.secret(args.registryAuth!.dockerConfigJson),
            },
            child,
        );
        const policy = new aws.iam.RolePolicy(
            `${name}-node-registry-auth`,
            {
                role: nodeRole.id,
                policy: parameter.arn.apply((parameterArn) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Action: "ssm:GetParameter", Resource: parameterArn }],
                    }),
                ),
            },
            child,
        );
        return { parameter, policy };
    }
}
