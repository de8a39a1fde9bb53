/**
 * Both stacks under Pulumi's mock runtime (the offline plan's engine): every resource recorded, inputs
 * asserted. One plan of the pair serves every test here.
 */
import * as assert from "assert";
import * as path from "path";
import { runPlan } from "../../cli/plan";
import type { ResourceRecord, StackRun } from "../../cli/offline";
import { ROOT, tempDir } from "../helpers";

let runs: Map<string, StackRun>;

function resources(stack: string, type?: string): ResourceRecord[] {
    const all = runs.get(stack)!.resources;
    return type ? all.filter((r) => r.type === type) : all;
}

function one(stack: string, type: string): ResourceRecord {
    const found = resources(stack, type);
    assert.strictEqual(found.length, 1, `one ${type} in ${stack}, found ${found.length}`);
    return found[0];
}

function json(value: unknown): any {
    return typeof value === "string" ? JSON.parse(value) : value;
}

describe("the stacks under the mock runtime", function () {
    this.timeout(60_000);

    before(async () => {
        const result = await runPlan({
            stacks: ["global", "china"],
            stacksDir: path.join(ROOT, "stacks"),
            outDir: path.join(tempDir("stacks"), "plan"),
        });
        runs = new Map(result.runs.map((r) => [r.stack, r]));
    });

    describe("partitions", () => {
        it("writes no arn:aws: into any china-side input, and no arn:aws-cn: into global ones", () => {
            const china = JSON.stringify(resources("china").map((r) => r.inputs));
            assert.doesNotMatch(china, /arn:aws:/);
            assert.match(china, /arn:aws-cn:/);
            assert.doesNotMatch(JSON.stringify(resources("global").map((r) => r.inputs)), /arn:aws-cn:/);
        });

        it("uses .amazonaws.com.cn service principals on the china side", () => {
            for (const [stack, suffix] of [
                ["china", ".amazonaws.com.cn"],
                ["global", ".amazonaws.com"],
            ] as const) {
                const principals = resources(stack, "aws:iam/role:Role").flatMap((r) =>
                    json(r.inputs.assumeRolePolicy)
                        .Statement.map((s: any) => s.Principal.Service)
                        .filter(Boolean),
                );
                assert.ok(principals.length >= 2, `${stack}: ${principals}`);
                for (const p of principals)
                    assert.ok(
                        p.endsWith(suffix) && (suffix === ".amazonaws.com.cn" || !p.endsWith(".cn")),
                        `${stack}: ${p}`,
                    );
            }
        });

        it("gives every custom resource an explicit provider", () => {
            for (const stack of ["global", "china"]) {
                const missing = resources(stack).filter(
                    (r) => r.custom && !r.type.startsWith("pulumi:") && !r.provider,
                );
                assert.deepStrictEqual(
                    missing.map((r) => r.urn),
                    [],
                );
                for (const r of resources(stack).filter((x) => x.type.startsWith("aws:")))
                    assert.match(r.provider, /pulumi:providers:aws::aws-/, r.urn);
            }
        });
    });

    describe("cluster", () => {
        it("keeps the API endpoint private by default", () => {
            for (const stack of ["global", "china"]) {
                const vpc = one(stack, "aws:eks/cluster:Cluster").inputs.vpcConfig as any;
                assert.strictEqual(vpc.endpointPrivateAccess, true);
                assert.strictEqual(vpc.endpointPublicAccess, false);
                assert.strictEqual(vpc.publicAccessCidrs, undefined);
            }
        });

        it("encrypts secrets with a rotating KMS key and enables every log type", () => {
            for (const stack of ["global", "china"]) {
                const eks = one(stack, "aws:eks/cluster:Cluster").inputs as any;
                assert.deepStrictEqual(eks.encryptionConfig.resources, ["secrets"]);
                assert.match(
                    eks.encryptionConfig.provider.keyArn,
                    stack === "china" ? /^arn:aws-cn:kms:/ : /^arn:aws:kms:/,
                );
                assert.deepStrictEqual([...eks.enabledClusterLogTypes].sort(), [
                    "api",
                    "audit",
                    "authenticator",
                    "controllerManager",
                    "scheduler",
                ]);
                assert.strictEqual(one(stack, "aws:kms/key:Key").inputs.enableKeyRotation, true);
            }
        });

        it("registers both STS client ids for IRSA in aws-cn", () => {
            assert.deepStrictEqual(
                one("china", "aws:iam/openIdConnectProvider:OpenIdConnectProvider").inputs.clientIdLists,
                ["sts.amazonaws.com", "sts.amazonaws.com.cn"],
            );
            assert.deepStrictEqual(
                one("global", "aws:iam/openIdConnectProvider:OpenIdConnectProvider").inputs.clientIdLists,
                ["sts.amazonaws.com"],
            );
        });

        it("pins :sub and :aud in every IRSA trust policy", () => {
            const irsa = resources("china", "aws:iam/role:Role")
                .map((r) => json(r.inputs.assumeRolePolicy).Statement[0])
                .filter((s) => s.Principal.Federated);
            assert.strictEqual(irsa.length, 2, "the bucket reader and the refresher");
            for (const s of irsa) {
                const cond = s.Condition.StringEquals;
                const sub = Object.keys(cond).find((k) => k.endsWith(":sub"))!;
                assert.match(cond[sub], /^system:serviceaccount:[a-z0-9-]+:[a-z0-9-]+$/);
                assert.deepStrictEqual(cond[Object.keys(cond).find((k) => k.endsWith(":aud"))!], [
                    "sts.amazonaws.com",
                    "sts.amazonaws.com.cn",
                ]);
                assert.match(s.Principal.Federated, /^arn:aws-cn:/);
            }
        });

        it("checks node instance types and puts nodes in private subnets", () => {
            const ng = one("china", "aws:eks/nodeGroup:NodeGroup").inputs as any;
            assert.deepStrictEqual(ng.instanceTypes, ["m6i.large", "m5.large"]);
            assert.strictEqual(ng.amiType, "AL2023_x86_64_STANDARD");
            const privateSubnets = resources("china", "aws:ec2/subnet:Subnet").filter(
                (s) => (s.inputs.tags as any)["kubernetes.io/role/internal-elb"] === "1",
            );
            assert.strictEqual(privateSubnets.length, 3);
        });

        it("writes containerd mirror config on china nodes only, sending every upstream to the China registry", () => {
            const nodeTemplate = (stack: string) =>
                resources(stack, "aws:ec2/launchTemplate:LaunchTemplate").find((t) =>
                    t.urn.includes("crossborder:cluster:Cluster"),
                )!;
            const userData = Buffer.from(String(nodeTemplate("china").inputs.userData), "base64").toString("utf8");
            assert.match(userData, /^MIME-Version: 1\.0\nContent-Type: multipart\/mixed/);
            for (const host of [
                "docker.io",
                "registry.k8s.io",
                "quay.io",
                "ghcr.io",
                "gcr.io",
                "k8s.gcr.io",
                "public.ecr.aws",
                "mcr.microsoft.com",
                "_default",
            ]) {
                assert.ok(userData.includes(`/etc/containerd/certs.d/${host}/hosts.toml`), host);
            }
            const servers = [...userData.matchAll(/^server = "([^"]+)"$/gm)].map((m) => m[1]);
            assert.strictEqual(servers.length, 9);
            for (const s of servers)
                assert.strictEqual(s, "https://crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com");
            assert.strictEqual(nodeTemplate("global").inputs.userData, undefined);
        });

        it("exports the kubeconfig as a secret and the add-on registry of the region", () => {
            assert.strictEqual(runs.get("china")!.outputs.kubeconfig, "[secret]");
            assert.strictEqual(
                runs.get("china")!.outputs.eksAddonRegistry,
                "961992271922.dkr.ecr.cn-northwest-1.amazonaws.com.cn",
            );
            assert.strictEqual(
                runs.get("global")!.outputs.eksAddonRegistry,
                "602401143452.dkr.ecr.eu-central-1.amazonaws.com",
            );
        });
    });

    describe("network", () => {
        it("spans three zones with a NAT per zone and the EKS subnet tags", () => {
            for (const stack of ["global", "china"]) {
                const subnets = resources(stack, "aws:ec2/subnet:Subnet").filter((r) =>
                    r.urn.includes("crossborder:network:Network"),
                );
                assert.strictEqual(subnets.length, 6);
                assert.strictEqual(new Set(subnets.map((s) => s.inputs.availabilityZone)).size, 3);
                assert.strictEqual(resources(stack, "aws:ec2/natGateway:NatGateway").length, 3);
                for (const s of subnets)
                    assert.strictEqual((s.inputs.tags as any)[`kubernetes.io/cluster/crossborder-${stack}`], "shared");
            }
            const china = resources("china", "aws:ec2/subnet:Subnet")
                .filter((r) => r.urn.includes("crossborder:network:Network"))
                .map((s) => s.inputs.availabilityZone);
            assert.ok(china.every((z) => String(z).startsWith("cn-northwest-1")));
        });
    });

    describe("S3", () => {
        it("makes every bucket policy TLS-only", () => {
            for (const stack of ["global", "china"]) {
                const policy = json(one(stack, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
                const tls = policy.Statement.find((s: any) => s.Effect === "Deny");
                assert.deepStrictEqual(tls.Condition, { Bool: { "aws:SecureTransport": "false" } });
                assert.strictEqual(tls.Action, "s3:*");
            }
        });

        it("exposes only the public prefix of the global downloads bucket", () => {
            const policy = json(one("global", "aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
            const allows = policy.Statement.filter((s: any) => s.Effect === "Allow");
            assert.strictEqual(allows.length, 1);
            assert.strictEqual(allows[0].Action, "s3:GetObject");
            assert.match(allows[0].Resource, /^arn:aws:s3:::crossborder-global-downloads-000000000000\/downloads\/\*$/);
            const bpa = one("global", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs;
            assert.strictEqual(bpa.blockPublicAcls, true);
            assert.strictEqual(bpa.ignorePublicAcls, true);
        });

        it("keeps the china bucket fully private, read through IRSA", () => {
            const bpa = one("china", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs;
            for (const k of ["blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets"])
                assert.strictEqual(bpa[k], true, k);
            const policy = json(one("china", "aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
            assert.ok(policy.Statement.every((s: any) => s.Effect === "Deny"));
            assert.match(String(runs.get("china")!.outputs.dataReaderRoleArn), /^arn:aws-cn:iam::/);
        });

        it("encrypts and versions both buckets", () => {
            for (const stack of ["global", "china"]) {
                assert.strictEqual(
                    (one(stack, "aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration as any)
                        .status,
                    "Enabled",
                );
                assert.strictEqual(
                    (
                        one(
                            stack,
                            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                        ).inputs.rules as any
                    )[0].applyServerSideEncryptionByDefault.sseAlgorithm,
                    "AES256",
                );
            }
        });
    });

    describe("ECR and the token refresher", () => {
        it("scans on push with immutable tags and a lifecycle policy", () => {
            const repo = one("china", "aws:ecr/repository:Repository").inputs as any;
            assert.strictEqual(repo.imageScanningConfiguration.scanOnPush, true);
            assert.strictEqual(repo.imageTagMutability, "IMMUTABLE");
            assert.strictEqual(
                json(one("china", "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs.policy).rules.length,
                2,
            );
        });

        it("runs the refresher every 6 hours, one job at a time, from the China registry", () => {
            const cron = one("china", "kubernetes:batch/v1:CronJob").inputs as any;
            assert.strictEqual(cron.spec.schedule, "0 */6 * * *");
            assert.strictEqual(cron.spec.concurrencyPolicy, "Forbid");
            const pod = cron.spec.jobTemplate.spec.template.spec;
            const c = pod.containers[0];
            assert.strictEqual(
                c.image,
                "crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com/platform/docker.io_s_alpine_s_k8s:1.33.4",
            );
            assert.deepStrictEqual(pod.securityContext, {
                runAsGroup: 65532,
                runAsNonRoot: true,
                runAsUser: 65532,
                seccompProfile: { type: "RuntimeDefault" },
            });
            assert.deepStrictEqual(c.securityContext, {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
            });
            for (const k of ["requests", "limits"])
                assert.deepStrictEqual(Object.keys(c.resources[k]).sort(), ["cpu", "ephemeral-storage", "memory"]);
            assert.deepStrictEqual(
                Object.fromEntries(
                    c.env
                        .filter((e: any) => ["ATTEMPTS", "MAX_BACKOFF_SECONDS"].includes(e.name))
                        .map((e: any) => [e.name, e.value]),
                ),
                { ATTEMPTS: "8", MAX_BACKOFF_SECONDS: "120" },
            );
            assert.ok(!JSON.stringify(c).includes("AWS_SECRET_ACCESS_KEY"), "no inline credentials");
        });

        it("limits its RBAC to the pull secret, by name, in the listed namespaces", () => {
            const roles = resources("china", "kubernetes:rbac.authorization.k8s.io/v1:Role");
            assert.deepStrictEqual(roles.map((r) => (r.inputs.metadata as any).namespace).sort(), [
                "default",
                "podinfo",
            ]);
            for (const r of roles)
                assert.deepStrictEqual(r.inputs.rules, [
                    { apiGroups: [""], resourceNames: ["ecr-pull"], resources: ["secrets"], verbs: ["get", "patch"] },
                ]);
            assert.strictEqual(resources("china", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").length, 0);
            const policy = JSON.parse(
                String(
                    resources("china", "aws:iam/rolePolicy:RolePolicy").find((r) => r.name.includes("refresher"))!
                        .inputs.policy,
                ),
            );
            assert.deepStrictEqual(policy.Statement, [
                { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
            ]);
        });

        it("is off on the global side", () => {
            assert.strictEqual(resources("global", "kubernetes:batch/v1:CronJob").length, 0);
        });
    });
});
