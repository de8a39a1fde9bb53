/**
 * Both stacks under Pulumi's mock runtime (the offline plan's engine): every resource recorded, inputs
 * asserted. One plan of the pair serves every test here.
 */
import * as assert from "assert";
import * as path from "path";
import { runPlan } from "../../cli/plan";
import type { ResourceRecord, StackRun } from "../../stacks/offline";
import { SERVICE_PRINCIPALS } from "../../core/partition";
import { ROOT, tempDir, variantStacks } from "../helpers";

let runs: Map<string, StackRun>;
/** The pair with the china side's ECR refresher on and its mirror verified (Flux installed from China). */
let variant: Map<string, StackRun>;
/** The pair with the china side on an air-gapped site's registry (and Flux installed from it). */
let site: Map<string, StackRun>;

function resources(stack: string, type?: string, from = runs): ResourceRecord[] {
    const all = from.get(stack)!.resources;
    return type ? all.filter((r) => r.type === type) : all;
}

function one(stack: string, type: string, from = runs): ResourceRecord {
    const found = resources(stack, type, from);
    assert.strictEqual(found.length, 1, `one ${type} in ${stack}, found ${found.length}`);
    return found[0];
}

/** Base64 user data of a launch template, decoded. */
function userDataOf(r: ResourceRecord): string {
    return Buffer.from(String(r.inputs.userData), "base64").toString("utf8");
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
        const changed = await runPlan({
            stacks: ["global", "china"],
            stacksDir: variantStacks({
                china: [
                    [["crossborder:ecrRefresher"], { enabled: true, namespaces: ["default", "podinfo"] }],
                    [["crossborder:flux", "mirrorVerified"], true],
                ],
            }),
            outDir: path.join(tempDir("stacks"), "plan"),
        });
        variant = new Map(changed.runs.map((r) => [r.stack, r]));
        const airGapped = await runPlan({
            stacks: ["global", "china"],
            stacksDir: variantStacks({
                china: [
                    [["crossborder:registry", "site"], "registry.site.example:5000"],
                    [["crossborder:flux", "mirrorVerified"], true],
                    // The namespaces an adopted fleet's chart sources name the pull Secret in.
                    [["crossborder:gitops", "pullSecretNamespaces"], ["envoy-gateway-system"]],
                ],
            }),
            outDir: path.join(tempDir("stacks"), "plan"),
        });
        site = new Map(airGapped.runs.map((r) => [r.stack, r]));
    });

    describe("an air-gapped site's own registry (crossborder:registry.site)", () => {
        it("creates no ACR EE instance and points the nodes' containerd config and Flux at the site registry", () => {
            assert.strictEqual(resources("china", "crossborder:registry:RegistryInstance", site).length, 0);
            assert.strictEqual(resources("china", "crossborder:registry:RegistryInstance").length, 1);
            const template = resources("china", "aws:ec2/launchTemplate:LaunchTemplate", site).find((t) =>
                t.urn.includes("crossborder:cluster:Cluster"),
            )!;
            const servers = [...userDataOf(template).matchAll(/^server = "([^"]+)"$/gm)].map((m) => m[1]);
            assert.strictEqual(servers.length, 8);
            for (const s of servers) assert.strictEqual(s, "https://registry.site.example:5000");
            assert.strictEqual(site.get("china")!.outputs.registryEndpoint, "registry.site.example:5000");
            const everything = JSON.stringify(resources("china", undefined, site).map((r) => r.inputs));
            assert.doesNotMatch(everything, /crossborder-china-registry/);
            assert.match(everything, /registry\.site\.example:5000\/platform\/fleet/);
        });

        it("creates the registry's pull Secret in the namespaces gitops.pullSecretNamespaces names", () => {
            const secrets = resources("china", "kubernetes:core/v1:Secret", site).map((r) => r.name);
            assert.ok(secrets.includes("china-flux-registry-envoy-gateway-system"), secrets.join(" "));
            const plain = resources("china", "kubernetes:core/v1:Secret", variant).map((r) => r.name);
            assert.ok(!plain.includes("china-flux-registry-envoy-gateway-system"), plain.join(" "));
        });

        it("replicates nothing into China from the global side: the bundle carries the images", () => {
            assert.ok(resources("global", "crossborder:registry:RegistrySyncRule").length > 0);
            assert.strictEqual(resources("global", "crossborder:registry:RegistrySyncRule", site).length, 0);
            assert.ok(
                site.get("global")!.warnings.some((n) => /sync rule origin -> China: none, .*registry\.site/.test(n)),
                site.get("global")!.warnings.join("\n"),
            );
        });
    });

    describe("partitions", () => {
        it("writes no arn:aws: into any china-side input, and no arn:aws-cn: into global ones", () => {
            const china = JSON.stringify(resources("china").map((r) => r.inputs));
            assert.doesNotMatch(china, /arn:aws:/);
            assert.match(china, /arn:aws-cn:/);
            assert.doesNotMatch(JSON.stringify(resources("global").map((r) => r.inputs)), /arn:aws-cn:/);
        });

        it("trusts only service principals of the principal table, each in its partition's form", () => {
            // IAM refuses a principal a partition does not know (MalformedPolicyDocument): eks.amazonaws.com
            // is right in aws-cn, ec2.amazonaws.com.cn is right there too (core/partition.ts).
            for (const [stack, partition] of [
                ["china", "aws-cn"],
                ["global", "aws"],
            ] as const) {
                const principals = resources(stack, "aws:iam/role:Role").flatMap((r) =>
                    json(r.inputs.assumeRolePolicy)
                        .Statement.map((s: any) => s.Principal.Service)
                        .filter(Boolean),
                );
                const allowed = Object.values(SERVICE_PRINCIPALS).map((e) => e.principals[partition]);
                assert.ok(principals.length >= 2, `${stack}: ${principals}`);
                for (const p of principals) assert.ok(allowed.includes(p), `${stack}: ${p}`);
                assert.ok(principals.includes("eks.amazonaws.com"), `${stack} trusts eks.amazonaws.com`);
            }
            assert.ok(
                resources("china", "aws:iam/role:Role").some(
                    (r) =>
                        r.inputs.assumeRolePolicy &&
                        JSON.stringify(r.inputs.assumeRolePolicy).includes("ec2.amazonaws.com.cn"),
                ),
            );
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
        it("keeps the API endpoint private, reachable by pulumi up: from the VPC, or from the runner's /32", () => {
            const china = one("china", "aws:eks/cluster:Cluster").inputs.vpcConfig as any;
            assert.strictEqual(china.endpointPrivateAccess, true);
            assert.strictEqual(china.endpointPublicAccess, false);
            assert.strictEqual(china.publicAccessCidrs, undefined);
            const fromVpc = resources("china", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").find((r) =>
                r.name.includes("api-from-vpc"),
            )!.inputs as any;
            assert.deepStrictEqual([fromVpc.cidrIpv4, fromVpc.fromPort, fromVpc.toPort], ["10.20.0.0/16", 443, 443]);
            const global = one("global", "aws:eks/cluster:Cluster").inputs.vpcConfig as any;
            assert.strictEqual(global.endpointPublicAccess, true);
            assert.deepStrictEqual(global.publicAccessCidrs, ["203.0.113.10/32"]);
        });

        it("takes the self-managed add-ons over when creating the managed ones", () => {
            for (const stack of ["global", "china"]) {
                const addons = resources(stack, "aws:eks/addon:Addon");
                assert.strictEqual(addons.length, 3);
                for (const a of addons) {
                    assert.strictEqual(a.inputs.resolveConflictsOnCreate, "OVERWRITE", a.name);
                    assert.strictEqual(a.inputs.resolveConflictsOnUpdate, "OVERWRITE", a.name);
                }
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
            assert.strictEqual(irsa.length, 1, "the bucket reader (the refresher is off)");
            const withRefresher = resources("china", "aws:iam/role:Role", variant)
                .map((r) => json(r.inputs.assumeRolePolicy).Statement[0])
                .filter((s) => s.Principal.Federated);
            assert.strictEqual(withRefresher.length, 2, "the bucket reader and the refresher");
            irsa.push(...withRefresher);
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

        it("writes containerd mirror config on china nodes for upstream hosts only, never for hosts inside China", () => {
            const nodeTemplate = (stack: string) =>
                resources(stack, "aws:ec2/launchTemplate:LaunchTemplate").find((t) =>
                    t.urn.includes("crossborder:cluster:Cluster"),
                )!;
            const userData = userDataOf(nodeTemplate("china"));
            assert.match(userData, /^MIME-Version: 1\.0\nContent-Type: multipart\/mixed/);
            const dirs = [...userData.matchAll(/^mkdir -p '\/etc\/containerd\/certs\.d\/([^']+)'$/gm)].map((m) => m[1]);
            assert.deepStrictEqual(dirs.sort(), [
                "docker.io",
                "gcr.io",
                "ghcr.io",
                "k8s.gcr.io",
                "mcr.microsoft.com",
                "public.ecr.aws",
                "quay.io",
                "registry.k8s.io",
            ]);
            // Hosts inside China pass through unchanged: the add-on registry (vpc-cni, kube-proxy, coredns), the
            // account's ECR and the ACR EE endpoints. A `_default` folder would have sent them to ACR.
            const china = runs.get("china")!.outputs;
            const inside = [
                String(china.eksAddonRegistry),
                String(china.ecrRegistry),
                String(china.registryEndpoint),
                String(china.registryVpcEndpoint),
            ];
            assert.ok(
                inside.every((h) => h.length > 0),
                inside.join(" "),
            );
            for (const host of [...inside, "_default"]) assert.ok(!dirs.includes(host), host);
            const servers = [...userData.matchAll(/^server = "([^"]+)"$/gm)].map((m) => m[1]);
            assert.strictEqual(servers.length, 8);
            for (const s of servers)
                assert.strictEqual(s, "https://crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com");
            assert.strictEqual(nodeTemplate("global").inputs.userData, undefined);
        });

        it("gives china nodes the private registry's credentials through SSM, never in user data", () => {
            const template = resources("china", "aws:ec2/launchTemplate:LaunchTemplate").find((t) =>
                t.urn.includes("crossborder:cluster:Cluster"),
            )!;
            const userData = userDataOf(template);
            assert.match(
                userData,
                /aws ssm get-parameter --region 'cn-northwest-1' --with-decryption --name '\/crossborder\/crossborder-china\/registry-auth'/,
            );
            assert.match(userData, /\/var\/lib\/kubelet\/config\.json/);
            assert.doesNotMatch(userData, /"auths"/);
            // Fail closed: kubelet does not start (the node never joins) until the credentials exist.
            assert.match(userData, /^ExecStartPre=\/bin\/sh -c 'test -s \/var\/lib\/kubelet\/config\.json/m);
            const parameter = resources("china", "aws:ssm/parameter:Parameter").find((r) =>
                r.name.includes("registry-auth"),
            )!;
            assert.strictEqual(parameter.inputs.type, "SecureString");
            assert.strictEqual(parameter.inputs.value, "[secret]");
            const policy = json(
                resources("china", "aws:iam/rolePolicy:RolePolicy").find((r) => r.name.includes("node-registry-auth"))!
                    .inputs.policy,
            );
            assert.deepStrictEqual(policy.Statement[0].Action, "ssm:GetParameter");
            assert.match(policy.Statement[0].Resource, /^arn:aws-cn:ssm:/);
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

        it("runs the refresher every 6 hours, one job at a time, from the China registry, and once at creation", () => {
            const cron = one("china", "kubernetes:batch/v1:CronJob", variant).inputs as any;
            const initial = one("china", "kubernetes:batch/v1:Job", variant).inputs as any;
            assert.deepStrictEqual(
                initial.spec,
                cron.spec.jobTemplate.spec,
                "the first run is the scheduled job's template",
            );
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
            const roles = resources("china", "kubernetes:rbac.authorization.k8s.io/v1:Role", variant);
            assert.deepStrictEqual(roles.map((r) => (r.inputs.metadata as any).namespace).sort(), [
                "default",
                "podinfo",
            ]);
            for (const r of roles)
                assert.deepStrictEqual(r.inputs.rules, [
                    { apiGroups: [""], resourceNames: ["ecr-pull"], resources: ["secrets"], verbs: ["get", "patch"] },
                ]);
            assert.strictEqual(
                resources("china", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", variant).length,
                0,
            );
        });

        it("may read the account's repositories, since the token carries only its principal's rights", () => {
            const policy = JSON.parse(
                String(
                    resources("china", "aws:iam/rolePolicy:RolePolicy", variant).find((r) =>
                        r.name.includes("refresher"),
                    )!.inputs.policy,
                ),
            );
            assert.deepStrictEqual(policy.Statement, [
                { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
                {
                    Effect: "Allow",
                    Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                    Resource: "arn:aws-cn:ecr:cn-northwest-1:000000000000:repository/*",
                },
            ]);
        });

        it("attaches the pull secret to the listed service accounts of each namespace", () => {
            const patches = resources("china", "kubernetes:core/v1:ServiceAccountPatch", variant);
            assert.deepStrictEqual(
                patches.map((p) => `${(p.inputs.metadata as any).namespace}/${(p.inputs.metadata as any).name}`).sort(),
                ["default/default", "podinfo/default"],
            );
            for (const p of patches) assert.deepStrictEqual(p.inputs.imagePullSecrets, [{ name: "ecr-pull" }]);
        });

        it("is off by default on both sides: EKS nodes pull their own account's ECR with the node role", () => {
            for (const stack of ["global", "china"])
                assert.strictEqual(resources(stack, "kubernetes:batch/v1:CronJob").length, 0);
            const nodePolicies = resources("china", "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((r) =>
                String(r.inputs.policyArn),
            );
            assert.ok(nodePolicies.includes("arn:aws-cn:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"));
        });
    });

    describe("routes", () => {
        it("makes every route its own resource: no route table carries inline routes", () => {
            for (const stack of ["global", "china"]) {
                for (const rt of resources(stack, "aws:ec2/routeTable:RouteTable"))
                    assert.ok(!rt.inputs.routes || (rt.inputs.routes as unknown[]).length === 0, rt.urn);
                const defaults = resources(stack, "aws:ec2/route:Route").filter(
                    (r) => r.inputs.destinationCidrBlock === "0.0.0.0/0",
                );
                assert.strictEqual(defaults.length, 4, `${stack}: one public and three private default routes`);
            }
        });
    });

    describe("ACR EE", () => {
        it("opens each instance's internet endpoint to its own parties only", () => {
            const acl = (stack: string) =>
                resources(stack, "alicloud:cr/endpointAclPolicy:EndpointAclPolicy").map((r) => String(r.inputs.entry));
            // The china nodes leave through the three NAT gateways; pulumi up runs inside the VPC (same NATs).
            assert.strictEqual(acl("china").length, 3);
            for (const e of acl("china")) assert.match(e, /^203\.0\.113\.\d+\/32$/);
            assert.deepStrictEqual(acl("global"), ["203.0.113.10/32"]);
            for (const stack of ["global", "china"])
                for (const r of resources(stack, "alicloud:cr/endpointAclPolicy:EndpointAclPolicy"))
                    assert.deepStrictEqual([r.inputs.endpointType, r.inputs.moduleName], ["internet", "Registry"]);
        });

        it("keeps namespaces private; only the origin creates repositories on push", () => {
            const ns = (stack: string) =>
                one(stack, "alicloud:cs/registryEnterpriseNamespace:RegistryEnterpriseNamespace").inputs;
            assert.deepStrictEqual([ns("china").defaultVisibility, ns("china").autoCreate], ["PRIVATE", false]);
            assert.deepStrictEqual([ns("global").defaultVisibility, ns("global").autoCreate], ["PRIVATE", true]);
            // The replication rule needs the source's registry password set; it is a generated secret.
            assert.strictEqual(
                one("global", "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance").inputs.password,
                "[secret]",
            );
            assert.strictEqual(
                one("global", "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance").inputs.instanceType,
                "Advanced",
            );
        });
    });

    describe("border VPN", () => {
        it("carries traffic hub to global over a Transit Gateway peering, with static routes both ways", () => {
            const tgws = resources("global", "aws:ec2transitgateway/transitGateway:TransitGateway");
            assert.deepStrictEqual(tgws.map((t) => t.inputs.amazonSideAsn).sort(), [64512, 64513]);
            assert.strictEqual(
                resources("global", "aws:ec2/vpnGateway:VpnGateway").length,
                0,
                "no virtual private gateway",
            );
            const peering = one("global", "aws:ec2transitgateway/peeringAttachment:PeeringAttachment").inputs;
            assert.strictEqual(peering.peerRegion, "eu-central-1");
            one("global", "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter");
            // No default route table: AWS associates nothing by itself, so no explicit association can collide
            // with one it made (Resource.AlreadyAssociated); every attachment is associated once, with a
            // route table of the stack's own.
            for (const t of tgws)
                assert.deepStrictEqual(
                    [t.inputs.defaultRouteTableAssociation, t.inputs.defaultRouteTablePropagation],
                    ["disable", "disable"],
                );
            const tables = resources("global", "aws:ec2transitgateway/routeTable:RouteTable");
            assert.strictEqual(tables.length, 2, "one route table per Transit Gateway");
            const associations = resources(
                "global",
                "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation",
            );
            assert.deepStrictEqual(associations.map((a) => a.name).sort(), [
                "global-vpn-global-peering",
                "global-vpn-global-vpc",
                "global-vpn-hub-peering",
                "global-vpn-vpn",
            ]);
            // A peering is one attachment id on both gateways: once per gateway's table, never twice in one.
            const attached = associations.map(
                (a) => `${a.inputs.transitGatewayAttachmentId}|${a.inputs.transitGatewayRouteTableId}`,
            );
            assert.strictEqual(new Set(attached).size, attached.length, "each attachment associated once per table");
            assert.deepStrictEqual(
                new Set(associations.map((a) => String(a.inputs.transitGatewayRouteTableId))),
                new Set(tables.map((t) => `${t.name}-id`)),
                "only with the stack's own route tables",
            );
            const tgwRoutes = resources("global", "aws:ec2transitgateway/route:Route")
                .map((r) => `${r.name}:${r.inputs.destinationCidrBlock}`)
                .sort();
            assert.deepStrictEqual(tgwRoutes, [
                "global-vpn-global-to-china:10.20.0.0/16",
                "global-vpn-hub-to-china:10.20.0.0/16",
                "global-vpn-hub-to-global:10.10.0.0/16",
                "global-vpn-to-global-vpc:10.10.0.0/16",
            ]);
            const vpn = one("global", "aws:ec2/vpnConnection:VpnConnection");
            assert.ok(vpn.inputs.transitGatewayId && !vpn.inputs.vpnGatewayId);
            assert.match(vpn.provider, /aws-hub-ap-east-1/);
            const vpcRoutes = resources("global", "aws:ec2/route:Route").filter(
                (r) => r.inputs.destinationCidrBlock === "10.20.0.0/16",
            );
            assert.strictEqual(
                vpcRoutes.length,
                3,
                "each private route table sends the China range to the Transit Gateway",
            );
            const sg = resources("global", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").find(
                (r) => r.inputs.cidrIpv4 === "10.20.0.0/16",
            );
            assert.ok(sg, "the global nodes admit the China range");
        });

        it("runs the China endpoint route-based, from a private subnet, with an encrypted root and its own groups", () => {
            const template = resources("china", "aws:ec2/launchTemplate:LaunchTemplate").find((t) =>
                t.urn.includes("crossborder:vpn:IpsecEndpoint"),
            )!;
            const ebs = (template.inputs.blockDeviceMappings as any)[0].ebs;
            assert.strictEqual(ebs.encrypted, "true");
            const nic = (template.inputs.networkInterfaces as any)[0];
            assert.strictEqual(nic.associatePublicIpAddress, "false");
            assert.strictEqual(nic.securityGroups.length, 1);
            const groups = resources("china", "aws:ec2/securityGroup:SecurityGroup").filter((r) =>
                r.urn.includes("IpsecEndpoint"),
            );
            assert.strictEqual(groups.length, 2, "the tunnel interface's group and the host's");
            const host = groups.find((g) => g.name.includes("host"))!;
            assert.ok(
                !host.inputs.ingress || (host.inputs.ingress as unknown[]).length === 0,
                "nothing connects to the host interface",
            );
            const boot = userDataOf(template);
            assert.match(boot, /ip link add xfrm1 type xfrm/);
            assert.match(boot, /ip link add xfrm2 type xfrm/);
            assert.ok(boot.indexOf("apt-get update") < boot.indexOf("/usr/local/sbin/crossborder-aws attach-eni"));
            assert.match(boot, /^URIs: https:\/\/mirrors\.aliyun\.com\/ubuntu$/m);
            // Health that reflects the tunnels: the group's name is fixed so the instance may mark itself.
            const group = one("china", "aws:autoscaling/group:Group");
            assert.strictEqual(group.inputs.name, "crossborder-china-vpn-ipsec");
            const alarm = one("china", "aws:cloudwatch/metricAlarm:MetricAlarm").inputs;
            assert.deepStrictEqual(
                [alarm.namespace, alarm.metricName, alarm.treatMissingData],
                ["crossborder/vpn", "TunnelsUp", "breaching"],
            );
            const routes = resources("china", "aws:ec2/route:Route").filter(
                (r) => r.inputs.destinationCidrBlock === "10.10.0.0/16",
            );
            assert.strictEqual(routes.length, 3);
        });

        it("tags SSM parameters only with values SSM accepts (the carrier's name has parentheses)", () => {
            const ssmPattern = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
            for (const r of resources("china", "aws:ssm/parameter:Parameter"))
                for (const [k, v] of Object.entries((r.inputs.tags as Record<string, string>) ?? {}))
                    assert.match(String(v), ssmPattern, `${r.name} tag ${k}`);
            const eni = one("china", "aws:ec2/networkInterface:NetworkInterface").inputs.tags as Record<string, string>;
            assert.strictEqual(eni["crossborder:carrier"], "China Telecom Global (CN2) contract CTG-0000");
        });
    });

    describe("Flux bootstrap", () => {
        it("makes the Git credentials Secret from a Pulumi secret and points the GitRepository at it", () => {
            const secret = one("global", "kubernetes:core/v1:Secret");
            assert.strictEqual((secret.inputs.metadata as any).name, "flux-system");
            assert.strictEqual(secret.inputs.stringData, "[secret]", "the credentials are a secret as a whole");
            assert.strictEqual(
                JSON.stringify(secret.inputs).includes("placeholder"),
                false,
                "the token never reaches the plan",
            );
            const git = one("global", "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository").inputs as any;
            assert.deepStrictEqual(git.spec.secretRef, { name: "flux-system" });
        });

        it("skips Flux on china until the mirror is verified, then installs it from the China registry", () => {
            assert.strictEqual(resources("china", "kubernetes:helm.sh/v3:Release").length, 0);
            assert.match(
                runs.get("china")!.warnings.join("\n"),
                /Flux on crossborder-china: skipped until the China registry holds its chart and images/,
            );
            assert.strictEqual(runs.get("china")!.outputs.fluxInstalled, false);
            const release = one("china", "kubernetes:helm.sh/v3:Release", variant).inputs as any;
            assert.match(release.chart, /\/flux2-2\.18\.3\.tgz$/);
            assert.match(
                variant.get("china")!.warnings.join("\n"),
                /Flux chart: the Flux chart https:\/\/fluxcd-community\.github\.io\/helm-charts flux2 2\.18\.3 is not at \S+: run crossborder charts pull/,
            );
            assert.strictEqual(release.createNamespace, false);
            assert.match(
                release.values.sourceController.image,
                /^crossborder-china-registry\.cn-hangzhou\.cr\.aliyuncs\.com\//,
            );
            // Delivered as an OCI artifact: no Git credential, the registry's pull Secret instead.
            const secrets = resources("china", "kubernetes:core/v1:Secret", variant).map((r) => r.name);
            assert.ok(!secrets.includes("china-flux-git-auth"), secrets.join(" "));
            assert.ok(secrets.includes("china-flux-registry-flux-system"), secrets.join(" "));
        });
    });
});
