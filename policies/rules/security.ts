/** The security baseline: EKS, admin ports, S3, ECR, VPN keys and Kubernetes workloads. */
import type { PolicyResource } from "@pulumi/policy";
import {
    asArray,
    bucketCompanion,
    fromWorld,
    ingressRules,
    opensPort,
    policyDocument,
    Props,
    Rule,
    SECRET_MASK,
    WORLD,
} from "./common";
import { isUnknown } from "./values";

const EKS = "aws:eks/cluster:Cluster";
const ALL_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"];

export const eksEndpointNotPublic: Rule = {
    name: "eks-endpoint-not-public",
    description:
        "The EKS API endpoint is private, or public only to an explicit allow-list that is not the whole internet (AWS's default for an omitted setting is public to 0.0.0.0/0).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== EKS) return;
        const vpc = args.props.vpcConfig ?? {};
        if (vpc.endpointPublicAccess === false) return;
        const cidrs = asArray(vpc.publicAccessCidrs).map(String);
        if (vpc.endpointPublicAccess === undefined)
            report(
                `${args.name}: vpcConfig.endpointPublicAccess is not set, and EKS then makes the API public to 0.0.0.0/0; set it to false (crossborder:cluster.endpointPublicAccess)`,
            );
        else if (cidrs.length === 0)
            report(
                `${args.name}: the API endpoint is public with no publicAccessCidrs, which EKS reads as 0.0.0.0/0; list the allowed ranges`,
            );
        else if (cidrs.some((c) => WORLD.includes(c)))
            report(
                `${args.name}: the API endpoint is public to ${cidrs.filter((c) => WORLD.includes(c)).join(", ")}; restrict publicAccessCidrs to your own ranges or make the endpoint private`,
            );
    },
};

export const eksSecretsEncryption: Rule = {
    name: "eks-secrets-encryption",
    description: "EKS encrypts Kubernetes secrets with a KMS key (envelope encryption).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== EKS) return;
        const enc = args.props.encryptionConfig;
        if (!enc?.provider?.keyArn || !asArray(enc.resources).includes("secrets"))
            report(
                `${args.name}: secrets are not encrypted with a KMS key; set encryptionConfig {provider: {keyArn}, resources: ["secrets"]}`,
            );
    },
};

export const eksControlPlaneLogs: Rule = {
    name: "eks-control-plane-logs",
    description: "EKS sends every control-plane log type to CloudWatch.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== EKS) return;
        const enabled = asArray(args.props.enabledClusterLogTypes).map(String);
        const missing = ALL_LOG_TYPES.filter((t) => !enabled.includes(t));
        if (missing.length)
            report(
                `${args.name}: control-plane logs ${missing.join(", ")} are off; enable all of ${ALL_LOG_TYPES.join(", ")}`,
            );
    },
};

/** Rule types that carry ingress (inline on a group, a SecurityGroupRule, a VPC ingress rule). */
const SG_TYPES = [
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
];

export const noSshFromWorld: Rule = {
    name: "no-ssh-from-world",
    description:
        "No security-group ingress on SSH (22) from 0.0.0.0/0 or ::/0, in any rule shape: inline ingress, SecurityGroupRule or VPC ingress rule (a kops default).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!SG_TYPES.includes(args.type)) return;
        for (const rule of ingressRules(args.type, args.props))
            if (opensPort(rule, 22) && fromWorld(rule))
                report(
                    `${args.name}: SSH (22) is open to ${rule.cidrs.filter((c) => WORLD.includes(c)).join(", ")}; use SSM Session Manager, or a bastion range`,
                );
    },
};

/** Tags and names that mark a security group as a Kubernetes API's (kops: KubernetesCluster, api-elb.*, masters.*). */
function frontsKubernetesApi(sg: PolicyResource | undefined): boolean {
    if (!sg) return false;
    const tags = (sg.props.tags ?? {}) as Record<string, unknown>;
    const words = [sg.name, sg.props.name, sg.props.description, tags.Name]
        .map((v) => (typeof v === "string" ? v : ""))
        .join(" ");
    return (
        "KubernetesCluster" in tags ||
        Object.keys(tags).some((k) => k.startsWith("kubernetes.io/cluster/")) ||
        /\b(api|apiserver|kube-?api|masters?|control-?plane)\b/i.test(words)
    );
}

/** The security group a rule resource belongs to, through the program's reference (or its literal id). */
function groupOf(rule: PolicyResource, resources: readonly PolicyResource[]): PolicyResource | undefined {
    const byRef = (rule.propertyDependencies?.securityGroupId ?? []).find(
        (r) => r.type === "aws:ec2/securityGroup:SecurityGroup",
    );
    if (byRef) return byRef;
    const id = rule.props.securityGroupId;
    return typeof id === "string"
        ? resources.find((r) => r.type === "aws:ec2/securityGroup:SecurityGroup" && r.props.name === id)
        : undefined;
}

export const k8sApiNotFromWorld: Rule = {
    name: "k8s-api-not-from-world",
    description:
        "Nothing that fronts a Kubernetes API admits 443 or 6443 from 0.0.0.0/0 or ::/0: 6443 anywhere, 443 on a group tagged or named for a cluster's API (the kops api-elb and masters defaults).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        for (const r of args.resources.filter((x) => SG_TYPES.includes(x.type))) {
            const group = r.type === "aws:ec2/securityGroup:SecurityGroup" ? r : groupOf(r, args.resources);
            for (const rule of ingressRules(r.type, r.props)) {
                if (!fromWorld(rule)) continue;
                const world = rule.cidrs.filter((c) => WORLD.includes(c)).join(", ");
                if (opensPort(rule, 6443))
                    report(
                        `${r.name}: the Kubernetes API port 6443 is open to ${world}; admit your own ranges only`,
                        r.urn,
                    );
                else if (opensPort(rule, 443) && frontsKubernetesApi(group))
                    report(
                        `${r.name}: 443 is open to ${world} on ${group!.name}, which fronts a Kubernetes API; make the API private or admit your own ranges only`,
                        r.urn,
                    );
            }
        }
    },
};

const IMDS_TYPES = [
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:ec2/instance:Instance",
    "aws:ec2/launchConfiguration:LaunchConfiguration",
];

export const imdsV2Required: Rule = {
    name: "imds-v2-required",
    description:
        "Launch templates, launch configurations and instances require IMDSv2 (metadataOptions.httpTokens: required); left out, EC2 also answers IMDSv1, which an SSRF can read credentials from.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!IMDS_TYPES.includes(args.type)) return;
        const meta = args.props.metadataOptions;
        if (meta?.httpEndpoint === "disabled") return;
        if (meta?.httpTokens !== "required")
            report(
                `${args.name}: metadataOptions.httpTokens is ${meta?.httpTokens === undefined ? "not set, so IMDSv1 stays on" : JSON.stringify(meta.httpTokens)}; set httpTokens: "required"`,
            );
    },
};

const encrypted = (v: unknown) => v === true || v === "true";

export const ebsEncrypted: Rule = {
    name: "ebs-encrypted",
    description:
        "EBS volumes and the block devices of launch templates, launch configurations and instances are encrypted (an etcd volume or a root disk left out is plain on disk).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const p = args.props;
        switch (args.type) {
            case "aws:ebs/volume:Volume":
                if (!encrypted(p.encrypted)) report(`${args.name}: the volume is not encrypted; set encrypted: true`);
                return;
            case "aws:ec2/launchTemplate:LaunchTemplate": {
                const mappings = asArray<Props>(p.blockDeviceMappings).filter((m) => m?.ebs);
                if (mappings.length === 0)
                    report(
                        `${args.name}: no block device mapping declares the root volume encrypted; map the root device with ebs.encrypted: true`,
                    );
                for (const m of mappings)
                    if (!encrypted(m.ebs.encrypted))
                        report(
                            `${args.name}: ${m.deviceName ?? "a block device"} is not encrypted; set ebs.encrypted: true`,
                        );
                return;
            }
            case "aws:ec2/instance:Instance":
            case "aws:ec2/launchConfiguration:LaunchConfiguration":
                if (!encrypted(p.rootBlockDevice?.encrypted))
                    report(
                        `${args.name}: the root block device is ${p.rootBlockDevice ? "not encrypted" : "not declared (and so not encrypted)"}; set rootBlockDevice.encrypted: true`,
                    );
                for (const d of asArray<Props>(p.ebsBlockDevices))
                    if (!encrypted(d?.encrypted))
                        report(
                            `${args.name}: ${d?.deviceName ?? "an EBS block device"} is not encrypted; set encrypted: true`,
                        );
                return;
        }
    },
};

const PUBLIC_ACLS = ["public-read", "public-read-write", "authenticated-read"];
const PUBLIC_GRANTEES = [
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
];

export const s3NoPublicAcl: Rule = {
    name: "s3-no-public-acl",
    description:
        "No S3 canned ACL or grant opens a bucket to everyone (public-read, public-read-write, authenticated-read, AllUsers/AuthenticatedUsers grants) on Bucket, BucketV2, BucketAcl or BucketAclV2.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (
            ![
                "aws:s3/bucket:Bucket",
                "aws:s3/bucketV2:BucketV2",
                "aws:s3/bucketAcl:BucketAcl",
                "aws:s3/bucketAclV2:BucketAclV2",
            ].includes(args.type)
        )
            return;
        const acl = args.props.acl;
        if (typeof acl === "string" && PUBLIC_ACLS.includes(acl))
            report(
                `${args.name}: the ${acl} ACL opens the bucket to everyone; remove it (public downloads go through a bucket policy on one prefix)`,
            );
        const grants = [
            ...asArray<Props>(args.props.accessControlPolicy?.grants),
            ...asArray<Props>(args.props.grants),
        ];
        for (const g of grants) {
            const uri = g?.grantee?.uri ?? g?.uri;
            if (typeof uri === "string" && PUBLIC_GRANTEES.includes(uri))
                report(
                    `${args.name}: a grant gives ${g?.permission ?? "access"} to ${uri.split("/").pop()}; remove it`,
                );
        }
    },
};

export const s3BlockPublicAccess: Rule = {
    name: "s3-block-public-access",
    description:
        "S3 buckets block public access; the only exception is public GetObject under a declared prefix, with ACLs still blocked.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            publicPrefixes: {
                type: "array",
                items: { type: "string" },
                default: [],
                description: "Key prefixes that may be public (crossborder:s3.publicPrefix).",
            },
        },
    },
    validateStack: (args, report) => {
        const { publicPrefixes = [] } = args.getConfig<{ publicPrefixes?: string[] }>();
        const buckets = args.resources.filter((r) => r.type === "aws:s3/bucket:Bucket");
        for (const b of buckets) {
            const doc = policyDocument(
                bucketCompanion(args.resources, b, "aws:s3/bucketPolicy:BucketPolicy")?.props.policy,
            );
            const publicGrants = asArray(doc?.Statement).filter(
                (s: Props) => s.Effect === "Allow" && (s.Principal === "*" || s.Principal?.AWS === "*"),
            );
            for (const s of publicGrants) {
                const actions = asArray(s.Action).map(String);
                const resources = asArray(s.Resource).map(String);
                const underPrefix = resources.every((res) => publicPrefixes.some((p) => res.endsWith(`/${p}*`)));
                if (!underPrefix || actions.some((a) => a !== "s3:GetObject"))
                    report(
                        `${b.name}: its bucket policy grants ${actions.join(", ")} on ${resources.join(", ")} to everyone; only s3:GetObject under a declared public prefix (${publicPrefixes.join(", ") || "none declared"}) may be public`,
                        b.urn,
                    );
            }
            const bpa = bucketCompanion(
                args.resources,
                b,
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            )?.props;
            if (!bpa) {
                report(`${b.name}: no BucketPublicAccessBlock; add one with every setting on`, b.urn);
                continue;
            }
            if (bpa.blockPublicAcls !== true || bpa.ignorePublicAcls !== true)
                report(`${b.name}: public ACLs are not blocked; set blockPublicAcls and ignorePublicAcls`, b.urn);
            if (publicGrants.length === 0 && (bpa.blockPublicPolicy !== true || bpa.restrictPublicBuckets !== true))
                report(
                    `${b.name}: no public prefix is declared, so blockPublicPolicy and restrictPublicBuckets must be on`,
                    b.urn,
                );
        }
    },
};

export const s3TlsOnly: Rule = {
    name: "s3-tls-only",
    description:
        "Every bucket policy denies requests without TLS (aws:SecureTransport false); a bucket without a policy fails.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        for (const b of args.resources.filter((r) => r.type === "aws:s3/bucket:Bucket")) {
            const policy = bucketCompanion(args.resources, b, "aws:s3/bucketPolicy:BucketPolicy");
            const doc = policyDocument(policy?.props.policy);
            const tls = asArray(doc?.Statement).some(
                (s: Props) => s.Effect === "Deny" && String(s.Condition?.Bool?.["aws:SecureTransport"]) === "false",
            );
            if (!tls)
                report(
                    `${b.name}: ${policy ? "its bucket policy does not deny" : "no bucket policy denies"} requests without TLS; add a Deny on aws:SecureTransport = false`,
                    b.urn,
                );
        }
    },
};

export const ecrScanAndImmutable: Rule = {
    name: "ecr-scan-and-immutable-tags",
    description: "ECR repositories scan on push and keep tags immutable (both off by default).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "aws:ecr/repository:Repository") return;
        if (args.props.imageScanningConfiguration?.scanOnPush !== true)
            report(`${args.name}: scan on push is off; set imageScanningConfiguration.scanOnPush`);
        if (args.props.imageTagMutability !== "IMMUTABLE")
            report(
                `${args.name}: tags are mutable, so a tag can point at different digests on the two sides; set imageTagMutability: IMMUTABLE`,
            );
    },
};

/** What an input was made from: the resources its value came from, as the program referenced them. */
function madeFrom(r: PolicyResource, input: string): PolicyResource[] {
    return r.propertyDependencies?.[input] ?? [];
}

export const vpnPskSecret: Rule = {
    name: "vpn-psk-secret",
    description:
        "VPN pre-shared keys are generated (made from a random resource, or left to AWS), never literals in code; a key stored in SSM is a SecureString made from the key's output.",
    enforcementLevel: "mandatory",
    // A stack rule: only the stack's resources carry what each input was made from. The value itself says
    // nothing, since the engine hands the analyzer secrets unwrapped.
    validateStack: (args, report) => {
        for (const r of args.resources) {
            if (r.type === "aws:ec2/vpnConnection:VpnConnection") {
                for (const key of ["tunnel1PresharedKey", "tunnel2PresharedKey"]) {
                    const value = r.props[key];
                    if (value === undefined) continue; // AWS generates one
                    if (madeFrom(r, key).some((d) => d.type.startsWith("random:"))) continue;
                    report(
                        `${r.name}: ${key} is not made from a generated value (a literal or config); generate it with @pulumi/random and pass it as a secret`,
                        r.urn,
                    );
                }
            }
            if (r.type === "aws:ssm/parameter:Parameter" && /psk/i.test(String(r.props.name ?? ""))) {
                if (r.props.type !== "SecureString")
                    report(`${r.name}: a pre-shared key must be stored as SecureString`, r.urn);
                if (madeFrom(r, "value").length === 0 && r.props.value !== SECRET_MASK && !isUnknown(r.props.value))
                    report(`${r.name}: the stored key is a literal, not the VPN's generated key`, r.urn);
            }
        }
    },
};

const WORKLOADS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"];

export const k8sWorkloadHardening: Rule = {
    name: "k8s-workload-hardening",
    description:
        "Kubernetes workloads set requests and limits (with an ephemeral-storage limit, so logs cannot fill the node's disk), probes (long-running workloads), runAsNonRoot and no privilege escalation.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const m = /^kubernetes:[^:]+:(\w+)$/.exec(args.type);
        if (!m || !WORKLOADS.includes(m[1])) return;
        const kind = m[1];
        const pod =
            kind === "Pod"
                ? args.props.spec
                : kind === "CronJob"
                  ? args.props.spec?.jobTemplate?.spec?.template?.spec
                  : args.props.spec?.template?.spec;
        const batch = kind === "Job" || kind === "CronJob";
        for (const c of [...asArray<Props>(pod?.initContainers), ...asArray<Props>(pod?.containers)]) {
            const name = `${args.name} container ${c?.name ?? "?"}`;
            for (const k of ["requests", "limits"])
                for (const r of ["cpu", "memory"])
                    if (!c?.resources?.[k]?.[r]) report(`${name}: resources.${k}.${r} is not set`);
            if (!c?.resources?.limits?.["ephemeral-storage"])
                report(
                    `${name}: resources.limits.ephemeral-storage is not set, so its logs and scratch files can fill the node's disk`,
                );
            const nonRoot = c?.securityContext?.runAsNonRoot ?? pod?.securityContext?.runAsNonRoot;
            if (nonRoot !== true) report(`${name}: runAsNonRoot is not true`);
            if (c?.securityContext?.allowPrivilegeEscalation !== false)
                report(`${name}: allowPrivilegeEscalation is not false`);
        }
        if (!batch) {
            for (const c of asArray<Props>(pod?.containers))
                if (!c?.livenessProbe || !c?.readinessProbe)
                    report(`${args.name} container ${c?.name ?? "?"}: liveness and readiness probes are required`);
        }
    },
};

export const securityRules: Rule[] = [
    eksEndpointNotPublic,
    eksSecretsEncryption,
    eksControlPlaneLogs,
    noSshFromWorld,
    k8sApiNotFromWorld,
    imdsV2Required,
    ebsEncrypted,
    s3NoPublicAcl,
    s3BlockPublicAccess,
    s3TlsOnly,
    ecrScanAndImmutable,
    vpnPskSecret,
    k8sWorkloadHardening,
];
