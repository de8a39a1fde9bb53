import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { apiAccess, checkInstanceTypes, checkPair, formatIssue, loadStackConfig } from "../../stacks/config";
import { isConfigSecret } from "../../stacks/program";
import { configIssues, exampleConfig, isExampleSecret } from "../helpers";

/** Load `raw`, expect rejection, and return the formatted messages. */
function messages(raw: Record<string, unknown>, stack = "test"): string[] {
    return configIssues(() => loadStackConfig(raw, { stack, isSecret: isExampleSecret })).map(formatIssue);
}

describe("stack config", () => {
    it("suggests a region of the same family: cn-south-1 is not af-south-1", () => {
        const raw = exampleConfig("china");
        raw["crossborder:aws"] = { region: "cn-south-1" };
        assert.deepStrictEqual(messages(raw, "china"), [
            'crossborder:aws.region: "cn-south-1" is not an AWS region; did you mean "cn-north-1"? (if AWS opened it recently, add it to core/cloud-facts.yaml)',
        ]);
    });

    it("reads gitops.pullSecretNamespaces on the china side only, each a namespace name", () => {
        const china = exampleConfig("china");
        china["crossborder:gitops"] = {
            ...china["crossborder:gitops"],
            pullSecretNamespaces: ["cert-manager", "podinfo"],
        };
        const cfg = loadStackConfig(china, { stack: "china", isSecret: isExampleSecret });
        assert.deepStrictEqual(cfg.gitops.pullSecretNamespaces, ["cert-manager", "podinfo"]);
        china["crossborder:gitops"].pullSecretNamespaces = ["podinfo", "Not_A_Namespace"];
        assert.deepStrictEqual(messages(china, "china"), [
            'crossborder:gitops.pullSecretNamespaces[1]: "Not_A_Namespace" is not a namespace name; write the namespace names crossborder adopt printed, e.g. [cert-manager, podinfo]',
        ]);
        const global = exampleConfig("global");
        global["crossborder:gitops"] = { ...global["crossborder:gitops"], pullSecretNamespaces: ["podinfo"] };
        assert.match(
            messages(global, "global")[0],
            /^crossborder:gitops\.pullSecretNamespaces: is set on the global side/,
        );
    });

    it("reads registry.site on the china side only, as host[:port]", () => {
        const china = exampleConfig("china");
        china["crossborder:registry"] = { ...china["crossborder:registry"], site: "registry.site.example:5000" };
        const cfg = loadStackConfig(china, { stack: "china", isSecret: isExampleSecret });
        assert.strictEqual(cfg.registry.site, "registry.site.example:5000");
        china["crossborder:registry"].site = "https://registry.site.example/v2";
        assert.match(messages(china, "china")[0], /^crossborder:registry\.site: .*host\[:port\]/);
        const global = exampleConfig("global");
        global["crossborder:registry"] = { ...global["crossborder:registry"], site: "registry.site.example" };
        assert.match(messages(global, "global")[0], /^crossborder:registry\.site: is set on the global side/);
    });

    describe("the example stacks", () => {
        it("accepts the global example with its defaults applied", () => {
            const cfg = loadStackConfig(exampleConfig("global"), { stack: "global", isSecret: isExampleSecret });
            assert.strictEqual(cfg.side, "global");
            assert.strictEqual(cfg.partition, "aws");
            assert.strictEqual(cfg.aws.region, "eu-central-1");
            assert.strictEqual(cfg.vpn.hubRegion, "ap-east-1");
            assert.strictEqual(cfg.s3.publicPrefix, "downloads/");
            assert.strictEqual(cfg.cluster.endpointPublicAccess, false);
            assert.strictEqual(cfg.cluster.nodeGroups[0].diskSizeGiB, 50);
            assert.strictEqual(cfg.ecrRefresher.enabled, false);
        });

        it("accepts the china example", () => {
            const cfg = loadStackConfig(exampleConfig("china"), { stack: "china", isSecret: isExampleSecret });
            assert.strictEqual(cfg.partition, "aws-cn");
            // Off: EKS nodes pull same-account ECR with their node role.
            assert.strictEqual(cfg.ecrRefresher.enabled, false);
            assert.strictEqual(cfg.ecrRefresher.refreshHours, 6);
            assert.deepStrictEqual(cfg.ecrRefresher.serviceAccounts, ["default"]);
            assert.strictEqual(cfg.cluster.deployFromVpc, true);
            assert.strictEqual(cfg.registry.pullUser, "crossborder-pull@1234567890123456");
            assert.strictEqual(cfg.gitops.delivery, "oci");
            assert.strictEqual(cfg.s3.publicPrefix, undefined);
            assert.strictEqual(cfg.gitops.path, "clusters/china");
        });

        it("reads the Pulumi CLI's string form: structured values as JSON, booleans and numbers as strings", () => {
            const raw = exampleConfig("china");
            const asPulumi = Object.fromEntries(
                Object.entries(raw).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
            );
            asPulumi["crossborder:ecrRefresher"] = JSON.stringify({
                enabled: "true",
                refreshHours: "4",
                namespaces: ["apps"],
            });
            const cfg = loadStackConfig(asPulumi, { stack: "china", isSecret: isExampleSecret });
            assert.strictEqual(cfg.ecrRefresher.enabled, true);
            assert.strictEqual(cfg.ecrRefresher.refreshHours, 4);
            assert.deepStrictEqual(cfg.ecrRefresher.namespaces, ["apps"]);
        });

        it("ignores other namespaces such as aws:region", () => {
            const raw = { ...exampleConfig("global"), "aws:region": "us-east-1" };
            assert.strictEqual(loadStackConfig(raw, { isSecret: isExampleSecret }).aws.region, "eu-central-1");
        });
    });

    describe("side", () => {
        it("must be global or china", () => {
            const raw = { ...exampleConfig("global"), "crossborder:side": "moon" };
            assert.ok(messages(raw).includes('crossborder:side: "moon" is not allowed; use one of: global, china'));
        });

        it("suggests the nearest side for a typo", () => {
            const raw = { ...exampleConfig("china"), "crossborder:side": "chna" };
            assert.ok(
                messages(raw).includes(
                    'crossborder:side: "chna" is not allowed; use one of: global, china (did you mean "china"?)',
                ),
            );
        });

        it("is read from the stack file's name when missing, without a cascade of wrong errors", () => {
            const raw = exampleConfig("china");
            delete raw["crossborder:side"];
            assert.strictEqual(loadStackConfig(raw, { stack: "china", isSecret: isExampleSecret }).side, "china");
        });

        it("is required, alone, when the stack's name does not say", () => {
            const raw = exampleConfig("china");
            delete raw["crossborder:side"];
            assert.deepStrictEqual(messages(raw, "staging"), [
                "crossborder:side: is required; set it to global or china (the stack file's name, Pulumi.staging.yaml, does not say which)",
            ]);
        });
    });

    describe("AWS region and partition", () => {
        it("rejects an aws-cn region on the global side", () => {
            const raw = exampleConfig("global");
            raw["crossborder:aws"] = { region: "cn-north-1" };
            assert.deepStrictEqual(messages(raw), [
                'crossborder:aws.region: "cn-north-1" is in partition aws-cn, but the global side deploys to aws; use a region outside China such as eu-central-1, or set crossborder:side to china',
            ]);
        });

        it("rejects a commercial region on the china side", () => {
            const raw = exampleConfig("china");
            raw["crossborder:aws"] = { region: "ap-east-1" };
            assert.deepStrictEqual(messages(raw), [
                'crossborder:aws.region: "ap-east-1" is in partition aws, but the china side deploys to aws-cn; use cn-north-1 or cn-northwest-1, or set crossborder:side to global',
            ]);
        });

        it("rejects an unknown region and suggests the nearest", () => {
            const raw = exampleConfig("global");
            raw["crossborder:aws"] = { region: "eu-centrl-1" };
            assert.deepStrictEqual(messages(raw), [
                'crossborder:aws.region: "eu-centrl-1" is not an AWS region; did you mean "eu-central-1"? (if AWS opened it recently, add it to core/cloud-facts.yaml)',
            ]);
        });
    });

    describe("Alibaba Cloud region", () => {
        it("must be inside mainland China on the china side", () => {
            const raw = exampleConfig("china");
            raw["crossborder:alicloud"] = { region: "cn-hongkong" };
            assert.deepStrictEqual(messages(raw), [
                'crossborder:alicloud.region: "cn-hongkong" is outside mainland China, so the china registry would pull across the border; use a mainland China region such as cn-hangzhou or cn-beijing',
            ]);
        });

        it("must be outside mainland China on the global side", () => {
            const raw = exampleConfig("global");
            raw["crossborder:alicloud"] = { region: "cn-hangzhou" };
            assert.deepStrictEqual(messages(raw), [
                `crossborder:alicloud.region: "cn-hangzhou" is inside mainland China, but the global side's registry is the origin outside it; use a region outside mainland China such as eu-central-1`,
            ]);
        });
    });

    describe("VPC ranges", () => {
        it("rejects a VPC overlapping the peer stack's", () => {
            const raw = exampleConfig("china");
            raw["crossborder:network"].vpcCidr = "10.10.128.0/17";
            assert.deepStrictEqual(messages(raw), [
                "crossborder:network.vpcCidr: 10.10.128.0/17 overlaps the global stack's 10.10.0.0/16 (crossborder:peer.vpcCidr); the VPN routes between the two VPCs, so give this stack a range that does not overlap, e.g. 10.20.0.0/17",
            ]);
        });

        it("rejects a range with host bits set and names the canonical form", () => {
            const raw = exampleConfig("global");
            raw["crossborder:network"].vpcCidr = "10.10.1.0/16";
            assert.deepStrictEqual(messages(raw), [
                'crossborder:network.vpcCidr: "10.10.1.0/16" has host bits set; use 10.10.0.0/16',
            ]);
        });

        it("rejects something that is not a CIDR", () => {
            const raw = exampleConfig("global");
            raw["crossborder:network"].vpcCidr = "10.10.0.0";
            assert.deepStrictEqual(messages(raw), [
                'crossborder:network.vpcCidr: "10.10.0.0" has no /prefix length; write a private IPv4 range such as 10.10.0.0/16',
            ]);
        });

        it("rejects a prefix outside /16-/24", () => {
            const raw = exampleConfig("global");
            raw["crossborder:network"].vpcCidr = "10.0.0.0/8";
            assert.deepStrictEqual(messages(raw), [
                "crossborder:network.vpcCidr: 10.0.0.0/8 has prefix /8, outside /16-/24; AWS allows /16 at most and the subnets of three zones need /24 at least: use a /16 to /24 range",
            ]);
        });

        it("rejects a public range", () => {
            const raw = exampleConfig("global");
            raw["crossborder:network"].vpcCidr = "8.8.0.0/16";
            assert.deepStrictEqual(messages(raw), [
                "crossborder:network.vpcCidr: 8.8.0.0/16 is not a private range; use a range inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10",
            ]);
        });

        it("refuses the hub VPC range of the old design: the Transit Gateway hub has no VPC", () => {
            const raw = exampleConfig("global");
            raw["crossborder:vpn"].hubVpcCidr = "10.30.0.0/16";
            assert.match(messages(raw)[0], /^crossborder:vpn\.hubVpcCidr: is not a known setting/);
        });
    });

    describe("peer stack", () => {
        it("is required", () => {
            const raw = exampleConfig("china");
            delete raw["crossborder:peer"];
            assert.deepStrictEqual(messages(raw), [
                "crossborder:peer: is missing; add crossborder:peer with the global stack's name (stack) and VPC range (vpcCidr)",
                'crossborder:peer.stack: is required; set it to the global stack\'s name, e.g. "acme/crossborder/global" or "global"',
            ]);
        });

        it("must not name this stack", () => {
            const raw = exampleConfig("china");
            raw["crossborder:peer"].stack = "organization/crossborder/china";
            assert.deepStrictEqual(messages(raw, "china"), [
                'crossborder:peer.stack: "organization/crossborder/china" names this stack itself; name the global stack, e.g. "global"',
            ]);
        });
    });

    describe("ECR token refresher", () => {
        it("rejects a period of 12 hours or more", () => {
            const raw = exampleConfig("china");
            raw["crossborder:ecrRefresher"].refreshHours = 12;
            assert.deepStrictEqual(messages(raw), [
                "crossborder:ecrRefresher.refreshHours: 12 is not shorter than 12 hours, so pull secrets would expire before they are refreshed; ECR tokens live 12 hours: use 6 (the default) or any whole number from 1 to 11",
            ]);
            raw["crossborder:ecrRefresher"].refreshHours = 24;
            assert.match(messages(raw)[0], /^crossborder:ecrRefresher\.refreshHours: 24 is not shorter than 12 hours/);
        });

        it("accepts 11 hours and rejects 0", () => {
            const raw = exampleConfig("china");
            raw["crossborder:ecrRefresher"].refreshHours = 11;
            assert.strictEqual(loadStackConfig(raw, { isSecret: isExampleSecret }).ecrRefresher.refreshHours, 11);
            raw["crossborder:ecrRefresher"].refreshHours = 0;
            assert.deepStrictEqual(messages(raw), [
                "crossborder:ecrRefresher.refreshHours: 0 is out of range; set a whole number from 1 to 11",
            ]);
        });

        it("rejects a namespace that is not a Kubernetes name", () => {
            const raw = exampleConfig("china");
            raw["crossborder:ecrRefresher"].namespaces = ["default", "Apps"];
            assert.deepStrictEqual(messages(raw), [
                'crossborder:ecrRefresher.namespaces[1]: "Apps" is not valid; set it to a Kubernetes namespace name (lowercase letters, digits and -)',
            ]);
        });
    });

    describe("public HTTP(S) ingress", () => {
        it("is refused on the china side without an ICP licence", () => {
            const raw = exampleConfig("china");
            raw["crossborder:ingress"] = { publicHttp: true };
            assert.deepStrictEqual(messages(raw), [
                "crossborder:ingress.publicHttp: opens ports 80/443 to the internet in mainland China without an ICP licence; serving HTTP(S) publicly in China requires an ICP licence: set crossborder:ingress.icpLicensed: true once the licence is filed, or keep publicHttp: false (NodePort or an approved endpoint)",
            ]);
        });

        it("is allowed on the china side with icpLicensed: true", () => {
            const raw = exampleConfig("china");
            raw["crossborder:ingress"] = { publicHttp: true, icpLicensed: true };
            assert.strictEqual(loadStackConfig(raw, { isSecret: isExampleSecret }).ingress.publicHttp, true);
        });

        it("needs no licence on the global side", () => {
            const raw = exampleConfig("global");
            raw["crossborder:ingress"] = { publicHttp: true };
            assert.strictEqual(loadStackConfig(raw, { isSecret: isExampleSecret }).ingress.publicHttp, true);
        });
    });

    describe("cluster", () => {
        it("requires an allow-list when the API endpoint is public", () => {
            const raw = exampleConfig("global");
            raw["crossborder:cluster"].endpointPublicAccess = true;
            assert.deepStrictEqual(messages(raw), [
                "crossborder:cluster.publicAccessCidrs: is empty while endpointPublicAccess is true; list the ranges allowed to reach the API (e.g. your office's egress /32), or set endpointPublicAccess: false",
            ]);
        });

        it("rejects node group sizes out of order", () => {
            const raw = exampleConfig("global");
            Object.assign(raw["crossborder:cluster"].nodeGroups[0], { minSize: 4, desiredSize: 3, maxSize: 6 });
            assert.deepStrictEqual(messages(raw), [
                "crossborder:cluster.nodeGroups[0]: sizes must satisfy minSize <= desiredSize <= maxSize, got 4 <= 3 <= 6; adjust minSize, desiredSize or maxSize",
            ]);
        });

        it("explains the unquoted Kubernetes version trap", () => {
            const raw = exampleConfig("global");
            raw["crossborder:cluster"].kubernetesVersion = 1.3;
            assert.deepStrictEqual(messages(raw), [
                'crossborder:cluster.kubernetesVersion: "1.3" is not valid; set it to a quoted EKS minor version such as "1.33" (unquoted 1.30 reads as 1.3)',
            ]);
        });

        it("rejects instance types the region does not offer, naming the key", () => {
            const raw = exampleConfig("china");
            raw["crossborder:cluster"].nodeGroups[0].instanceTypes = ["m6i.large", "trn1.2xlarge", "m6i.24xlarge"];
            const cfg = loadStackConfig(raw, { isSecret: isExampleSecret });
            const offered = new Set(["m6i.large", "m6i.xlarge", "c6i.large", "t3.medium"]);
            assert.deepStrictEqual(checkInstanceTypes(cfg, offered).map(formatIssue), [
                "crossborder:cluster.nodeGroups[0].instanceTypes[1]: trn1.2xlarge is not offered in cn-northwest-1; pick a family the region offers, e.g. c6i.large, m6i.large",
                "crossborder:cluster.nodeGroups[0].instanceTypes[2]: m6i.24xlarge is not offered in cn-northwest-1; sizes of m6i offered there: m6i.large, m6i.xlarge",
            ]);
        });
    });

    describe("VPN", () => {
        it("requires a licensed carrier for a cross-border IPsec link from China", () => {
            const raw = exampleConfig("china");
            delete raw["crossborder:vpn"].licensedCarrier;
            assert.deepStrictEqual(messages(raw), [
                "crossborder:vpn.licensedCarrier: is required for a cross-border IPsec link from mainland China; name the licensed carrier (or contract) whose cross-border line carries the tunnel, or set enabled: false",
            ]);
        });

        it("installs the endpoint's packages from a mirror inside China only", () => {
            const raw = exampleConfig("china");
            raw["crossborder:vpn"].aptMirror = "http://archive.ubuntu.com/ubuntu";
            assert.deepStrictEqual(messages(raw), [
                "crossborder:vpn.aptMirror: archive.ubuntu.com is not known to be inside mainland China, and the endpoint must not fetch packages across the border; use a mirror inside China (mirrors.aliyun.com, mirrors.cloud.tencent.com, mirrors.huaweicloud.com, mirrors.tuna.tsinghua.edu.cn, mirrors.ustc.edu.cn, or a host under .cn or .amazonaws.com.cn)",
            ]);
            raw["crossborder:vpn"].aptMirror = "https://mirrors.tuna.tsinghua.edu.cn/ubuntu/";
            assert.strictEqual(
                loadStackConfig(raw, { isSecret: isExampleSecret }).vpn.aptMirror,
                "https://mirrors.tuna.tsinghua.edu.cn/ubuntu",
            );
        });

        it("refuses the Alibaba CEN mode, which is not built", () => {
            const raw = exampleConfig("china");
            raw["crossborder:vpn"].mode = "alibaba-cen";
            assert.deepStrictEqual(messages(raw), [
                "crossborder:vpn.mode: alibaba-cen is not built: crossborder creates no VPN Gateway, CEN transit router or cross-border bandwidth package; use mode: strongswan-ec2 (the default) with a licensed carrier, or set enabled: false and connect the VPCs yourself",
            ]);
        });

        it("only allows a hub in Hong Kong or Singapore", () => {
            const raw = exampleConfig("global");
            raw["crossborder:vpn"].hubRegion = "ap-northeast-1";
            assert.deepStrictEqual(messages(raw), [
                'crossborder:vpn.hubRegion: "ap-northeast-1" is not allowed; use one of: ap-east-1, ap-southeast-1 (did you mean "ap-southeast-1"?)',
            ]);
        });
    });

    describe("S3", () => {
        it("refuses a public prefix on the china side", () => {
            const raw = exampleConfig("china");
            raw["crossborder:s3"] = { publicPrefix: "downloads/" };
            assert.deepStrictEqual(messages(raw), [
                "crossborder:s3.publicPrefix: is set on the china side, whose bucket is private; remove it: workloads in China read the bucket through their IRSA role; public downloads are served from the global side",
            ]);
        });
    });

    describe("unknown settings", () => {
        it("rejects an unknown top-level key and suggests the nearest", () => {
            const raw = { ...exampleConfig("global"), "crossborder:netwrok": { vpcCidr: "10.0.0.0/16" } };
            assert.deepStrictEqual(messages(raw), [
                'crossborder:netwrok: is not a crossborder setting; did you mean "crossborder:network"?',
            ]);
        });

        it("rejects an unknown nested key and suggests the nearest", () => {
            const raw = exampleConfig("global");
            raw["crossborder:network"].natGateway = "single";
            assert.deepStrictEqual(messages(raw), [
                'crossborder:network.natGateway: is not a known setting; did you mean "natGateways"? Known: vpcCidr, zoneCount, natGateways',
            ]);
        });

        it("reports every problem at once", () => {
            const raw = exampleConfig("china");
            raw["crossborder:ecrRefresher"].refreshHours = 12;
            raw["crossborder:ingress"] = { publicHttp: true };
            raw["crossborder:network"].vpcCidr = "10.10.0.0/16";
            assert.deepStrictEqual(
                messages(raw).map((m) => m.split(":").slice(0, 2).join(":")),
                [
                    "crossborder:network.vpcCidr",
                    "crossborder:ecrRefresher.refreshHours",
                    "crossborder:ingress.publicHttp",
                ],
            );
        });
    });

    describe("the pair", () => {
        it("accepts the two examples together", () => {
            const global = {
                stack: "global",
                cfg: loadStackConfig(exampleConfig("global"), { isSecret: isExampleSecret }),
            };
            const china = {
                stack: "china",
                cfg: loadStackConfig(exampleConfig("china"), { isSecret: isExampleSecret }),
            };
            assert.deepStrictEqual(checkPair(global, china), []);
        });

        it("notices a peer VPC range that differs from the peer's own", () => {
            const raw = exampleConfig("global");
            raw["crossborder:peer"].vpcCidr = "10.40.0.0/16";
            const global = { stack: "global", cfg: loadStackConfig(raw, { isSecret: isExampleSecret }) };
            const china = {
                stack: "china",
                cfg: loadStackConfig(exampleConfig("china"), { isSecret: isExampleSecret }),
            };
            assert.deepStrictEqual(
                checkPair(global, china).map((p) => `${p.stack} ${formatIssue(p.issue)}`),
                [
                    "global crossborder:peer.vpcCidr: 10.40.0.0/16 differs from the china stack's crossborder:network.vpcCidr 10.20.0.0/16; set it to 10.20.0.0/16",
                ],
            );
        });

        it("notices differing registry namespaces", () => {
            const raw = exampleConfig("china");
            raw["crossborder:registry"].namespace = "apps";
            const global = {
                stack: "global",
                cfg: loadStackConfig(exampleConfig("global"), { isSecret: isExampleSecret }),
            };
            const china = { stack: "china", cfg: loadStackConfig(raw, { isSecret: isExampleSecret }) };
            assert.deepStrictEqual(
                checkPair(global, china).map((p) => p.issue.key),
                ["crossborder:registry.namespace"],
            );
        });
    });
    // Guards for the first real deploy: each fact below failed a first `pulumi up` before it was checked.
    describe("a first real deploy", () => {
        it("refuses a private API endpoint that pulumi up has no way to reach", () => {
            const raw = exampleConfig("china");
            delete raw["crossborder:cluster"].deployFromVpc;
            assert.deepStrictEqual(messages(raw), [
                'crossborder:cluster.deployAccessCidrs: is empty while the API endpoint is private and deployFromVpc is false, so pulumi up cannot reach the cluster it creates; run pulumi up from a runner inside the VPC and set deployFromVpc: true (see the README, "A runner inside the VPC"), or list the runner\'s public egress /32 here',
            ]);
        });

        it("opens the endpoint to the runner's addresses only, never to a private or huge range", () => {
            const raw = exampleConfig("global");
            raw["crossborder:cluster"].deployAccessCidrs = ["10.0.0.0/8", "0.0.0.0/0", "198.51.100.7/32"];
            assert.deepStrictEqual(
                messages(raw).map((m) => m.split(";")[0]),
                [
                    "crossborder:cluster.deployAccessCidrs[0]: 10.0.0.0/8 opens the API endpoint to 16777216 addresses",
                    "crossborder:cluster.deployAccessCidrs[1]: 0.0.0.0/0 opens the API endpoint to 4294967296 addresses",
                ],
            );
            raw["crossborder:cluster"].deployAccessCidrs = ["198.51.100.7/32"];
            const cfg = loadStackConfig(raw, { isSecret: isExampleSecret });
            assert.deepStrictEqual(apiAccess(cfg.cluster), { public: true, cidrs: ["198.51.100.7/32"] });
        });

        it("requires the origin registry to be Advanced, the edition a replication source must be", () => {
            const raw = exampleConfig("global");
            raw["crossborder:registry"].instanceSpec = "Standard";
            assert.match(
                messages(raw)[0],
                /^crossborder:registry\.instanceSpec: Standard cannot be the source of the replication rule to China/,
            );
            const china = exampleConfig("china");
            china["crossborder:registry"].instanceSpec = "Standard";
            assert.strictEqual(loadStackConfig(china, { isSecret: isExampleSecret }).registry.instanceSpec, "Standard");
        });

        it("requires who may push to the origin, since a new instance admits nobody", () => {
            const raw = exampleConfig("global");
            delete raw["crossborder:registry"].pushCidrs;
            assert.match(
                messages(raw)[0],
                /^crossborder:registry\.pushCidrs: is empty, so nothing could push to the origin instance/,
            );
            raw["crossborder:registry"].pushCidrs = ["0.0.0.0/0"];
            assert.match(messages(raw)[0], /^crossborder:registry\.pushCidrs\[0\]: 0\.0\.0\.0\/0 opens the registry/);
        });

        it("requires the China pull password as a secret, never in plain text", () => {
            const raw = exampleConfig("china");
            assert.match(
                configIssues(() => loadStackConfig(raw, { isSecret: () => false })).map(formatIssue)[0],
                /^crossborder:registryPullPassword: is stored in plain text in the stack file; remove it and set it again as a secret: pulumi config set --secret crossborder:registryPullPassword/,
            );
            delete raw["crossborder:registryPullPassword"];
            assert.match(
                messages(raw)[0],
                /^crossborder:registryPullPassword: is required \(the China namespace is private/,
            );
        });

        it("requires the Git credential its auth names, over a URL of the same kind", () => {
            const raw = exampleConfig("global");
            delete raw["crossborder:gitopsToken"];
            assert.match(messages(raw)[0], /^crossborder:gitopsToken: is required \(gitops\.auth is token\)/);
            const ssh = exampleConfig("global");
            ssh["crossborder:gitops"].auth = "ssh";
            ssh["crossborder:gitops"].knownHosts = "github.com ecdsa-sha2-nistp256 AAAAE2VjZHNh";
            assert.deepStrictEqual(
                messages(ssh).map((m) => m.split(";")[0]),
                [
                    "crossborder:gitops.auth: ssh authenticates with a deploy key over SSH, but gitops.url is not ssh://",
                    "crossborder:gitopsSshKey: is required (gitops.auth is ssh)",
                ],
            );
            const none = exampleConfig("global");
            none["crossborder:gitops"].auth = "none";
            delete none["crossborder:gitopsToken"];
            assert.strictEqual(loadStackConfig(none, { isSecret: isExampleSecret }).gitops.credential, undefined);
        });

        it("installs Flux on china only once the mirror is verified, and refuses the switch on global", () => {
            assert.strictEqual(
                loadStackConfig(exampleConfig("china"), { isSecret: isExampleSecret }).flux.mirrorVerified,
                false,
            );
            const raw = exampleConfig("global");
            raw["crossborder:flux"] = { mirrorVerified: true };
            assert.match(messages(raw)[0], /^crossborder:flux\.mirrorVerified: is set on the global side/);
        });

        it("can tell secret config from plain text with the SDK it runs on", () => {
            // The program asks the SDK's runtime.isConfigSecret; an SDK that dropped it would make every
            // secret look like plain text (and the program says so instead of guessing).
            pulumi.runtime.setAllConfig({ "crossborder:gitopsToken": "t", "crossborder:side": "china" }, [
                "crossborder:gitopsToken",
            ]);
            assert.strictEqual(isConfigSecret("crossborder:gitopsToken"), true);
            assert.strictEqual(isConfigSecret("crossborder:side"), false);
            pulumi.runtime.setAllConfig({}, []);
        });
    });

    describe("delivery of the china tree", () => {
        it("reads the tree from the China registry on china: no Git host, no Git credential", () => {
            const cfg = loadStackConfig(exampleConfig("china"), { isSecret: isExampleSecret });
            assert.strictEqual(cfg.gitops.delivery, "oci");
            assert.deepStrictEqual(cfg.gitops.artifact, { repository: "fleet", tag: "china" });
            assert.strictEqual(cfg.gitops.url, "");
        });

        it("refuses oci on global, Git settings beside oci, and a digest that is not one", () => {
            const global = exampleConfig("global");
            global["crossborder:gitops"] = { delivery: "oci" };
            assert.match(
                messages(global)[0],
                /^crossborder:gitops\.delivery: oci delivers the tree through the China registry/,
            );
            const china = exampleConfig("china");
            china["crossborder:gitops"].url = "https://codeup.aliyun.com/acme/fleet.git";
            china["crossborder:gitops"].artifact.digest = "sha256:abc";
            assert.deepStrictEqual(
                messages(china).map((m) => m.split(";")[0]),
                [
                    'crossborder:gitops.artifact.digest: "sha256:abc" is not valid',
                    "crossborder:gitops.url: is not used with delivery: oci (Flux reads the tree from the China registry, not from Git)",
                ],
            );
        });

        it("still takes Git delivery on china, from a host inside China", () => {
            const china = exampleConfig("china");
            china["crossborder:gitops"] = { url: "https://gitee.com/acme/fleet.git" };
            assert.strictEqual(loadStackConfig(china, { isSecret: isExampleSecret }).gitops.delivery, "git");
            china["crossborder:gitops"] = { url: "https://github.com/acme/fleet.git" };
            assert.match(messages(china)[0], /^crossborder:gitops\.url: github\.com is not a host inside China/);
        });
    });
});
