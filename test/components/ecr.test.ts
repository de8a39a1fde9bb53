/** The ECR components alone: immutable scanned repositories; a refresher that runs before tokens expire, with least rights. */
import * as assert from "assert";
import { EcrRepositories, EcrTokenRefresher, refreshSchedule } from "../../components/ecr";
import { SLOW_LINK } from "../../core/slow-link";
import { ofType, oneOf, recordComponent } from "../component-harness";

describe("EcrRepositories and EcrTokenRefresher", () => {
    it("creates each repository immutable, scanned on push, with the lifecycle that keeps N images", async () => {
        const records = await recordComponent(
            () => new EcrRepositories("ecr", { repositories: ["team/app", "tools"], keepImages: 12 }, {}),
        );
        const repos = ofType(records, "aws:ecr/repository:Repository").map((r) => r.inputs);
        assert.deepStrictEqual(repos.map((r) => r.name).sort(), ["team/app", "tools"]);
        for (const r of repos) {
            assert.strictEqual(r.imageTagMutability, "IMMUTABLE");
            assert.deepStrictEqual(r.imageScanningConfiguration, { scanOnPush: true });
        }
        for (const l of ofType(records, "LifecyclePolicy")) {
            const rules = JSON.parse(String(l.inputs.policy)).rules;
            assert.strictEqual(rules[1].selection.countNumber, 12);
        }
    });

    it("refreshes on a schedule below the 12-hour token lifetime, reading only the account's repositories (aws-cn)", async () => {
        assert.throws(() => refreshSchedule(12), /not between 1 and 11/);
        const records = await recordComponent(
            () =>
                new EcrTokenRefresher(
                    "refresher",
                    {
                        partition: "aws-cn",
                        region: "cn-northwest-1",
                        accountId: "123456789012",
                        registry: "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn",
                        namespaces: ["apps"],
                        refreshHours: 4,
                        image: "crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com/platform/tools:1",
                        profile: SLOW_LINK.china,
                        credentials: {
                            irsa: {
                                oidcProviderArn:
                                    "arn:aws-cn:iam::123456789012:oidc-provider/oidc.eks.cn-northwest-1.amazonaws.com.cn/id/X",
                                issuerUrl: "https://oidc.eks.cn-northwest-1.amazonaws.com.cn/id/X",
                            },
                        },
                    },
                    {},
                ),
            { stack: "china" },
        );
        const cron = oneOf(records, "kubernetes:batch/v1:CronJob").inputs as Record<string, any>;
        assert.strictEqual(cron.spec.schedule, "0 */4 * * *");
        const container = cron.spec.jobTemplate.spec.template.spec.containers[0];
        assert.strictEqual(container.image, "crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com/platform/tools:1");
        const text = JSON.stringify(records.map((r) => r.inputs));
        assert.ok(
            text.includes("arn:aws-cn:ecr:cn-northwest-1:123456789012:repository/*"),
            "reads only this account's repositories",
        );
        assert.ok(!/arn:aws:/.test(text), "no ARN of the aws partition");
        assert.ok(!/aws_secret_access_key|AKIA/i.test(text), "no inline keys");
    });
});
