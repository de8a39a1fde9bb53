/** The security baseline: EKS, admin ports, S3, ECR, VPN keys and Kubernetes workloads. */
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

export const noAdminPortsFromWorld: Rule = {
    name: "no-admin-ports-from-world",
    description:
        "No security-group ingress on SSH or the Kubernetes API port from 0.0.0.0/0 or ::/0 (the kops defaults).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            ports: {
                type: "array",
                items: { type: "number" },
                default: [22, 6443],
                description: "Ports that must never be open to the world.",
            },
        },
    },
    validateResource: (args, report) => {
        const { ports = [22, 6443] } = args.getConfig<{ ports?: number[] }>();
        for (const rule of ingressRules(args.type, args.props)) {
            for (const port of ports)
                if (opensPort(rule, port) && fromWorld(rule))
                    report(
                        `${args.name}: port ${port} is open to ${rule.cidrs.filter((c) => ["0.0.0.0/0", "::/0"].includes(c)).join(", ")}; allow only known ranges or use SSM Session Manager / a private endpoint`,
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

export const vpnPskSecret: Rule = {
    name: "vpn-psk-secret",
    description: "VPN pre-shared keys are generated secrets, never literals in code.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const keys: [string, unknown][] =
            args.type === "aws:ec2/vpnConnection:VpnConnection"
                ? [
                      ["tunnel1PresharedKey", args.props.tunnel1PresharedKey],
                      ["tunnel2PresharedKey", args.props.tunnel2PresharedKey],
                  ]
                : args.type === "aws:ssm/parameter:Parameter" && /psk/i.test(String(args.props.name ?? ""))
                  ? [["value", args.props.value]]
                  : [];
        for (const [key, value] of keys) {
            // A generated key is unknown at preview and masked in the offline plan; a readable one is a literal.
            if (typeof value === "string" && value !== SECRET_MASK)
                report(
                    `${args.name}: ${key} is a readable literal; generate it with @pulumi/random and pass it as a secret`,
                );
            if (args.type === "aws:ssm/parameter:Parameter" && args.props.type !== "SecureString")
                report(`${args.name}: a pre-shared key must be stored as SecureString`);
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
    noAdminPortsFromWorld,
    s3BlockPublicAccess,
    s3TlsOnly,
    ecrScanAndImmutable,
    vpnPskSecret,
    k8sWorkloadHardening,
];
