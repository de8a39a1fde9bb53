/**
 * The cross-border components under the mock runtime: ACR EE replication, the border VPN, the Flux
 * bootstrap, and the paired bring-up (including the first run, when a peer's outputs do not exist yet).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { ResourceRecord, StackRun } from "../../stacks/offline";
import { runStack } from "../../stacks/offline";
import { runPlan } from "../../cli/plan";
import { RegistryInstance } from "../../components/registry";
import { swanctlConf, PSK_PATTERN } from "../../components/vpn";
import { cloudFacts } from "../../core/cloud-facts";
import { readStackFile } from "../../stacks/stackfile";
import { ROOT, runCli, tempDir, variantStacks } from "../helpers";

const CHINA_REGISTRY = "crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com";

function find(run: StackRun, type: string): ResourceRecord[] {
    return run.resources.filter((r) => r.type === type);
}

describe("the cross-border pair under the mock runtime", function () {
    this.timeout(60_000);
    let runs: Map<string, StackRun>;
    /** The china side once the mirror is verified: Flux installed from the China registry. */
    let verified: Map<string, StackRun>;
    let planDir: string;

    before(async () => {
        planDir = path.join(tempDir("pair"), "plan");
        const result = await runPlan({
            stacks: ["global", "china"],
            stacksDir: path.join(ROOT, "stacks"),
            outDir: planDir,
        });
        runs = new Map(result.runs.map((r) => [r.stack, r]));
        const after = await runPlan({
            stacks: ["global", "china"],
            stacksDir: variantStacks({ china: [[["crossborder:flux", "mirrorVerified"], true]] }),
            outDir: path.join(tempDir("pair"), "plan"),
        });
        verified = new Map(after.runs.map((r) => [r.stack, r]));
    });

    describe("ACR EE replication", () => {
        it("syncs the namespace origin -> China under the same name", () => {
            const [rule] = find(
                runs.get("global")!,
                "alicloud:cs/registryEnterpriseSyncRule:RegistryEnterpriseSyncRule",
            );
            const origin = find(
                runs.get("global")!,
                "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance",
            )[0];
            assert.ok(rule, "the global stack owns the sync rule");
            assert.strictEqual(rule.inputs.instanceId, `${origin.name}-id`);
            assert.strictEqual(rule.inputs.targetInstanceId, "china-registry-instance-id");
            assert.strictEqual(rule.inputs.namespaceName, "platform");
            assert.strictEqual(rule.inputs.targetNamespaceName, rule.inputs.namespaceName);
            assert.strictEqual(rule.inputs.syncScope, "NAMESPACE");
            assert.strictEqual(rule.inputs.targetRegionId, "cn-hangzhou");
            assert.strictEqual(
                find(runs.get("china")!, "alicloud:cs/registryEnterpriseSyncRule:RegistryEnterpriseSyncRule").length,
                0,
            );
        });

        it("protects both subscription-billed instances from destroy", () => {
            for (const stack of ["global", "china"]) {
                const [instance] = find(
                    runs.get(stack)!,
                    "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance",
                );
                assert.strictEqual(instance.protect, true, stack);
                assert.strictEqual(instance.inputs.paymentType, "Subscription");
            }
            assert.strictEqual(
                find(runs.get("china")!, "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance")[0].inputs
                    .instanceName,
                "crossborder-china",
            );
        });

        it("creates each instance with its own side's Alibaba region", () => {
            for (const [stack, region] of [
                ["global", "eu-central-1"],
                ["china", "cn-hangzhou"],
            ]) {
                const [instance] = find(
                    runs.get(stack)!,
                    "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance",
                );
                assert.match(instance.provider, new RegExp(`pulumi:providers:alicloud::alicloud-${region}$`));
            }
        });
    });

    describe("border VPN", () => {
        it("builds the hub in Hong Kong with two tunnels for the China endpoint's IP", () => {
            const global = runs.get("global")!;
            const [cgw] = find(global, "aws:ec2/customerGateway:CustomerGateway");
            assert.strictEqual(cgw.inputs.ipAddress, runs.get("china")!.outputs.vpnPublicIp);
            assert.match(cgw.provider, /aws-hub-ap-east-1$/);
            const [conn] = find(global, "aws:ec2/vpnConnection:VpnConnection");
            assert.strictEqual(conn.inputs.staticRoutesOnly, true);
            assert.deepStrictEqual(conn.inputs.tunnel1IkeVersions, ["ikev2"]);
            assert.strictEqual(conn.inputs.transitGatewayId, "global-vpn-hub-id");
            // A Transit Gateway VPN attachment with static routing: the China range is a route to it.
            const toChina = find(global, "aws:ec2transitgateway/route:Route").find(
                (r) => r.name === "global-vpn-hub-to-china",
            )!;
            assert.strictEqual(toChina.inputs.destinationCidrBlock, "10.20.0.0/16");
            assert.match(String(toChina.inputs.transitGatewayAttachmentId), /^tgw-attach-offline-/);
        });

        it("keeps the pre-shared keys secret everywhere, within AWS's character rules", () => {
            const global = runs.get("global")!;
            const [conn] = find(global, "aws:ec2/vpnConnection:VpnConnection");
            assert.strictEqual(conn.inputs.tunnel1PresharedKey, "[secret]");
            assert.strictEqual(conn.inputs.tunnel2PresharedKey, "[secret]");
            assert.strictEqual(global.outputs.vpnTunnel1Psk, "[secret]");
            assert.deepStrictEqual(
                global.secretOutputNames.filter((n) => n.includes("Psk")),
                ["vpnTunnel1Psk", "vpnTunnel2Psk"],
            );
            for (const p of find(runs.get("china")!, "aws:ssm/parameter:Parameter")) {
                assert.strictEqual(p.inputs.type, "SecureString");
                assert.strictEqual(p.inputs.value, "[secret]");
            }
            for (const r of find(global, "random:index/randomPassword:RandomPassword").filter((x) =>
                x.name.includes("psk"),
            )) {
                assert.strictEqual(r.inputs.overrideSpecial, "._");
                assert.ok(Number(r.inputs.length) + 1 <= 64 && Number(r.inputs.length) + 1 >= 8);
            }
        });

        it("never writes a generated key into the plan files", () => {
            const { offlinePassword } = require("../../stacks/offline") as typeof import("../../stacks/offline");
            const generated = find(runs.get("global")!, "random:index/randomPassword:RandomPassword");
            const keys = generated.map((r) => offlinePassword(r.name, Number(r.inputs.length)));
            assert.strictEqual(keys.length, 3, "two tunnel keys and the origin registry's password");
            for (const r of generated.filter((x) => x.name.includes("psk")))
                assert.ok(
                    PSK_PATTERN.test(`k${offlinePassword(r.name, Number(r.inputs.length))}`),
                    "the key fits AWS's rules",
                );
            for (const f of fs.readdirSync(planDir)) {
                const text = fs.readFileSync(path.join(planDir, f), "utf8");
                for (const key of keys) assert.ok(!text.includes(key), `${f} contains a generated key`);
            }
        });

        it("runs the China endpoint as an auto-scaling group of one behind a fixed interface and Elastic IP", () => {
            const china = runs.get("china")!;
            const [asg] = find(china, "aws:autoscaling/group:Group");
            assert.deepStrictEqual([asg.inputs.minSize, asg.inputs.maxSize, asg.inputs.desiredCapacity], [1, 1, 1]);
            const [eni] = find(china, "aws:ec2/networkInterface:NetworkInterface");
            assert.strictEqual(eni.inputs.sourceDestCheck, false);
            const routes = find(china, "aws:ec2/route:Route").filter((r) => r.inputs.networkInterfaceId);
            assert.strictEqual(routes.length, 3, "the global range from each of three private route tables");
            for (const r of routes) assert.strictEqual(r.inputs.networkInterfaceId, `${eni.name}-id`);
            assert.strictEqual(
                (eni.inputs.tags as any)["crossborder:carrier"],
                "China Telecom Global (CN2) contract CTG-0000",
            );
        });

        it("opens IKE and ESP only to the two tunnel peers", () => {
            const [sg] = find(runs.get("china")!, "aws:ec2/securityGroup:SecurityGroup").filter(
                (s) => s.name === "china-vpn-sg",
            );
            const ingress = sg.inputs.ingress as any[];
            const ipsec = ingress.filter((r) => r.protocol !== "-1");
            assert.strictEqual(ipsec.length, 6);
            for (const r of ipsec)
                assert.ok(["198.51.100.1/32", "198.51.100.2/32"].includes(r.cidrBlocks[0]), JSON.stringify(r));
            assert.deepStrictEqual(
                ingress.filter((r) => r.protocol === "-1").map((r) => r.cidrBlocks),
                [["10.20.0.0/16"]],
            );
            assert.ok(!JSON.stringify(ingress).includes("0.0.0.0/0"));
        });

        it("configures strongSwan through cloud-init, reading the keys from SSM rather than user data", () => {
            const templates = find(runs.get("china")!, "aws:ec2/launchTemplate:LaunchTemplate").filter((t) =>
                String(t.name).includes("vpn"),
            );
            const userData = Buffer.from(String(templates[0].inputs.userData), "base64").toString("utf8");
            assert.match(userData, /remote_addrs = 198\.51\.100\.1/);
            assert.match(userData, /remote_addrs = 198\.51\.100\.2/);
            assert.match(userData, /secret = "@PSK1@"/);
            assert.match(
                userData,
                /crossborder-aws fill-secret \/etc\/swanctl\/conf\.d\/crossborder\.conf @PSK1@ '\/crossborder\/china-vpn\/tunnel1\/psk'/,
            );
            assert.match(userData, /^REGION=cn-northwest-1$/m);
            assert.match(userData, /^DNS_SUFFIX=amazonaws\.com\.cn$/m);
            // Route-based: the global range is routed into whichever tunnel is up (the updown script).
            assert.match(userData, /remote_ts = 0\.0\.0\.0\/0/);
            assert.match(userData, /ip route replace 10\.10\.0\.0\/16 dev "\$dev" metric "\$metric"/);
        });
    });

    describe("Flux bootstrap", () => {
        it("installs Flux on china from the China registry, every image overridden", () => {
            assert.strictEqual(
                find(runs.get("china")!, "kubernetes:helm.sh/v3:Release").length,
                0,
                "not before the mirror is verified",
            );
            const [release] = find(verified.get("china")!, "kubernetes:helm.sh/v3:Release");
            // The locked archive from the runner's chart cache, as a file: the private China namespace would need
            // a helm registry login, which helm.v3.Release cannot do (pulumi-kubernetes issues 1914, 2321).
            assert.match(
                String(release.inputs.chart),
                /\/charts\/fluxcd-community\.github\.io\/helm-charts\/flux2-2\.18\.3\.tgz$/,
            );
            assert.strictEqual(release.inputs.repositoryOpts, undefined, "no registry to log in to");
            assert.strictEqual(release.inputs.atomic, false, "one slow pull does not roll Flux back");
            const values = release.inputs.values as Record<string, any>;
            const images = Object.values(values)
                .filter((v) => v && typeof v === "object" && "image" in v)
                .map((v: any) => v.image);
            assert.deepStrictEqual(images.length, 5);
            for (const image of images) assert.ok(String(image).startsWith(`${CHINA_REGISTRY}/`), image);
            assert.strictEqual(release.inputs.timeout, 900, "the china slow-link profile's 15m");
        });

        it("points Flux at clusters/<cluster> of the tree with the profile's source timeout", () => {
            for (const [stack, kind, url, timeout] of [
                ["china", "OCIRepository", `oci://${CHINA_REGISTRY}/platform/fleet`, "5m"],
                ["global", "GitRepository", "https://github.com/acme/fleet.git", "60s"],
            ]) {
                const crs = find(verified.get(stack)!, `kubernetes:source.toolkit.fluxcd.io/v1:${kind}`);
                assert.strictEqual(crs.length, 1);
                assert.strictEqual((crs[0].inputs.spec as any).url, url);
                assert.strictEqual((crs[0].inputs.spec as any).timeout, timeout);
                const [root] = find(verified.get(stack)!, "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization");
                assert.strictEqual((root.inputs.spec as any).path, `./clusters/${stack}`);
                assert.deepStrictEqual((root.inputs.spec as any).sourceRef, { kind, name: "flux-system" });
            }
        });

        it("installs Flux on global from upstream", () => {
            const [release] = find(runs.get("global")!, "kubernetes:helm.sh/v3:Release");
            assert.deepStrictEqual(release.inputs.repositoryOpts, {
                repo: "https://fluxcd-community.github.io/helm-charts",
            });
            assert.strictEqual(
                (release.inputs.values as any).sourceController.image,
                "ghcr.io/fluxcd/source-controller",
            );
        });
    });

    describe("first bring-up", () => {
        it("skips what needs a missing peer output and says which stack to run next, without failing", async () => {
            const { runStack } = require("../../stacks/offline") as typeof import("../../stacks/offline");
            const file = readStackFile(path.join(ROOT, "stacks", "Pulumi.global.yaml"));
            const run = await runStack({
                project: "crossborder",
                stack: "global",
                config: { ...file.config },
                secretKeys: file.secretKeys,
                facts: cloudFacts(),
                peers: new Map(),
            });
            assert.strictEqual(
                find(run, "alicloud:cs/registryEnterpriseSyncRule:RegistryEnterpriseSyncRule").length,
                0,
            );
            assert.strictEqual(find(run, "aws:ec2/vpnConnection:VpnConnection").length, 0);
            assert.strictEqual(
                find(run, "aws:ec2transitgateway/transitGateway:TransitGateway").length,
                2,
                "the hub and its peer are built",
            );
            assert.ok(
                run.warnings.some((w) =>
                    /the ACR EE sync rule origin -> China: skipped, because the china stack .* has no output registryInstanceId.*Run pulumi up -s china, then pulumi up -s global again\./.test(
                        w,
                    ),
                ),
                run.warnings.join("\n"),
            );
            assert.strictEqual(run.outputs.vpnTunnel1Address, undefined);
        });

        it("prints the bring-up order", () => {
            const r = runCli(["order"]);
            assert.strictEqual(r.status, 0, r.stderr);
            const steps = r.stdout.split("\n").filter((l) => /^\d\. /.test(l));
            assert.deepStrictEqual(
                steps.slice(0, 3).map((l) => l.split("(")[0].trim()),
                ["1. pulumi up -s china", "2. pulumi up -s global", "3. pulumi up -s china"],
            );
            // Flux on china comes after the copy and the proof that the mirror holds everything.
            const at = (re: RegExp) => steps.findIndex((l) => re.test(l));
            assert.ok(at(/inventory\/copy\.sh/) > 2);
            assert.ok(at(/crossborder promote/) > at(/inventory\/copy\.sh/));
            assert.ok(at(/crossborder:flux\.mirrorVerified true -s china/) > at(/crossborder promote/));
            assert.strictEqual(
                (r.stdout.match(/^ {5}waits for: /gm) ?? []).length,
                steps.length,
                "every step names what it waits for",
            );
            assert.match(r.stdout, /runs on a runner inside the china VPC/);
            assert.match(r.stdout, /runs from 203\.0\.113\.10\/32/);
            assert.match(r.stdout, /licensed carrier: China Telecom Global/);
            // OCI delivery (the china example): the tree is published as a candidate, then promoted once China
            // holds everything, then reconciled.
            assert.ok(at(/crossborder publish --tree/) > at(/inventory\/copy\.sh/));
            assert.ok(at(/crossborder promote --tree/) > at(/crossborder publish/));
            assert.match(
                r.stdout,
                /reconciling the artifact oci:\/\/crossborder-china-registry\.cn-hangzhou\.cr\.aliyuncs\.com\/platform\/fleet:china/,
            );
        });

        it("numbers every step it refers to as printed, with or without the VPN steps", () => {
            const noVpn = variantStacks({
                global: [[["crossborder:vpn", "enabled"], false]],
                china: [
                    [["crossborder:vpn", "enabled"], false],
                    [["crossborder:vpn", "licensedCarrier"], undefined],
                ],
            });
            for (const args of [["order"], ["order", "--stacks-dir", noVpn]]) {
                const r = runCli(args);
                assert.strictEqual(r.status, 0, r.stderr);
                const runs = new Map(
                    r.stdout
                        .split("\n")
                        .filter((l) => /^\d\. /.test(l))
                        .map((l) => [l.split(". ")[0], l.slice(3)]),
                );
                const cited = (re: RegExp) => runs.get(re.exec(r.stdout)?.[1] ?? "") ?? "";
                assert.match(cited(/promote exiting 0 \(step (\d)\)/), /^npx crossborder promote/);
                assert.match(cited(/the replication of steps (\d) and/), /^sh <fleet repo>\/inventory\/copy\.sh/);
                assert.match(cited(/the replication of steps \d and (\d)/), /^npx crossborder publish/);
                assert.match(
                    cited(/waits for the mirror: step (\d)/),
                    /^pulumi config set crossborder:flux\.mirrorVerified/,
                );
                assert.match(cited(/on both clusters \(steps (\d) and/), /^pulumi up -s global/);
            }
        });

        it("prints no publish step when china takes its tree from Git", () => {
            const dir = variantStacks({
                china: [
                    [["crossborder:gitops", "delivery"], "git"],
                    [["crossborder:gitops", "url"], "https://codeup.aliyun.com/acme/fleet.git"],
                    [["crossborder:gitops", "auth"], "none"],
                    [["crossborder:gitops", "artifact"], undefined],
                ],
            });
            const r = runCli(["order", "--stacks-dir", dir]);
            assert.strictEqual(r.status, 0, r.stderr);
            const steps = r.stdout.split("\n").filter((l) => /^\d\. /.test(l));
            assert.strictEqual(steps.length, 8, steps.join("\n"));
            assert.ok(!/crossborder publish|--artifact/.test(r.stdout), r.stdout);
            assert.match(r.stdout, /reconciling https:\/\/codeup\.aliyun\.com\/acme\/fleet\.git clusters\/china/);
        });
    });

    it("generates a route-based strongSwan config: one connection and one interface ID per tunnel", () => {
        const conf = swanctlConf({
            localId: "203.0.113.7",
            localAddress: "10.20.128.10",
            tunnels: [
                { address: "198.51.100.1", psk: "kA" },
                { address: "198.51.100.2", psk: "kB" },
            ],
        });
        assert.strictEqual((conf.match(/^ {4}tunnel\d \{$/gm) ?? []).length, 2);
        assert.match(conf, /proposals = aes256-sha256-modp2048/);
        assert.match(conf, /id-remote = 198\.51\.100\.2\n {8}secret = "kB"/);
        assert.match(conf, /local_addrs = 10\.20\.128\.10/);
        // Route-based: the traffic selectors cover everything; the interface ID binds each tunnel to its xfrm device.
        assert.strictEqual((conf.match(/local_ts = 0\.0\.0\.0\/0/g) ?? []).length, 2);
        assert.deepStrictEqual(
            [...conf.matchAll(/if_id_out = (\d)/g)].map((m) => m[1]),
            ["1", "1", "2", "2"],
        );
    });
});

describe("ACR EE prefix namespaces (mirrors.yaml prefixes:)", function () {
    this.timeout(60_000);
    const registry = (role: "origin" | "china", prefixNamespaces: string[]) => async () => {
        const alicloud = new (await import("@pulumi/alicloud")).Provider("ali", { region: "cn-hangzhou" });
        const random = new (await import("@pulumi/random")).Provider("random");
        new RegistryInstance(
            "r",
            {
                role,
                instanceName: "crossborder-china",
                region: "cn-hangzhou",
                namespace: "platform",
                prefixNamespaces,
                internetAccess: [{ cidr: "203.0.113.1/32", description: "test" }],
            },
            { providers: { alicloud, random } },
        );
    };
    const run = (program: () => Promise<void>) =>
        runStack({
            project: "crossborder",
            stack: "china",
            config: {},
            secretKeys: [],
            facts: cloudFacts(),
            peers: new Map(),
            program,
        });

    it("creates each prefix namespace beside the main one, private, auto-create on the origin only", async () => {
        for (const role of ["origin", "china"] as const) {
            const got = await run(registry(role, ["acme", "search"]));
            const ns = find(got, "alicloud:cs/registryEnterpriseNamespace:RegistryEnterpriseNamespace").map((r) => [
                r.inputs.name,
                r.inputs.defaultVisibility,
                r.inputs.autoCreate,
            ]);
            assert.deepStrictEqual(
                ns.sort(),
                ["acme", "platform", "search"].map((n) => [n, "PRIVATE", role === "origin"]),
            );
        }
    });

    it("refuses a prefix namespace that repeats the main one", async () => {
        await assert.rejects(
            run(registry("china", ["platform"])),
            /the prefix namespaces platform repeat each other or platform/,
        );
    });
});
