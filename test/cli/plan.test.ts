import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { copyStacks, runCli, tempDir } from "../helpers";

function readPlan(dir: string, stack: string): any {
    return JSON.parse(fs.readFileSync(path.join(dir, `${stack}.json`), "utf8"));
}

describe("crossborder plan (subprocess)", function () {
    this.timeout(60_000);
    let out: string;
    let first: ReturnType<typeof runCli>;

    before(() => {
        out = path.join(tempDir("plan"), "plan");
        first = runCli(["plan", "--out", out]);
    });

    it("exits 0 on the example stacks and writes both plan files", () => {
        assert.strictEqual(first.status, 0, first.stderr);
        assert.deepStrictEqual(fs.readdirSync(out).sort(), ["china.json", "global.json"]);
    });

    it("says plainly that it is an offline plan", () => {
        assert.match(first.stdout, /^OFFLINE PLAN: /);
        assert.match(readPlan(out, "global").note, /^OFFLINE PLAN: .*nothing was deployed/);
    });

    it("prints resources by type per stack", () => {
        assert.match(first.stdout, /stack global \(aws, eu-central-1\): \d+ resources/);
        assert.match(first.stdout, /stack china \(aws-cn, cn-northwest-1\): \d+ resources/);
        assert.match(first.stdout, /^\s+\d+ {2}pulumi:providers:aws$/m);
    });

    it("records URN, type, name, parent, provider and inputs of every resource", () => {
        for (const stack of ["global", "china"]) {
            const plan = readPlan(out, stack);
            assert.strictEqual(plan.resourceCount, plan.resources.length);
            for (const r of plan.resources) {
                assert.match(r.urn, new RegExp(`^urn:pulumi:${stack}::crossborder::`), r.urn);
                for (const field of ["type", "name", "parent", "provider", "inputs"])
                    assert.ok(field in r, `${r.urn} has ${field}`);
            }
            const stackResource = plan.resources.find((r: any) => r.type === "pulumi:pulumi:Stack");
            assert.ok(stackResource, "the root stack is recorded");
            const urns = new Set(plan.resources.map((r: any) => r.urn));
            for (const r of plan.resources.filter((x: any) => x !== stackResource))
                assert.ok(urns.has(r.parent), `${r.urn} has a recorded parent (${r.parent})`);
        }
    });

    it("builds the china side with an aws-cn provider and a China Alibaba region", () => {
        const plan = readPlan(out, "china");
        const aws = plan.resources.filter((r: any) => r.type === "pulumi:providers:aws");
        assert.deepStrictEqual(
            aws.map((r: any) => r.inputs.region),
            ["cn-northwest-1"],
        );
        const ali = plan.resources.filter((r: any) => r.type === "pulumi:providers:alicloud");
        assert.deepStrictEqual(
            ali.map((r: any) => r.inputs.region),
            ["cn-hangzhou"],
        );
        assert.strictEqual(plan.outputs.partition, "aws-cn");
    });

    it("answers the china stack's StackReference with the global stack's outputs", () => {
        const plan = readPlan(out, "china");
        const ref = plan.resources.find((r: any) => r.type === "pulumi:pulumi:StackReference");
        assert.strictEqual(ref.inputs.name, "organization/crossborder/global");
    });

    it("writes the same bytes twice", () => {
        const again = path.join(tempDir("plan-again"), "plan");
        const second = runCli(["plan", "--out", again]);
        assert.strictEqual(second.status, 0, second.stderr);
        for (const f of ["global.json", "china.json"]) {
            assert.ok(
                fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(again, f))),
                `${f} differs between runs`,
            );
        }
    });

    it("writes only the stack asked for", () => {
        const dir = path.join(tempDir("plan-one"), "plan");
        const r = runCli(["plan", "--stack", "china", "--out", dir]);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(fs.readdirSync(dir), ["china.json"]);
    });

    describe("bad config", () => {
        const cases: { name: string; edit: Parameters<typeof copyStacks>[1]; message: RegExp }[] = [
            {
                name: "a china VPC overlapping the global one",
                edit: { file: "china", from: "vpcCidr: 10.20.0.0/16", to: "vpcCidr: 10.10.0.0/16" },
                message:
                    /Pulumi\.china\.yaml:\d+: crossborder:network\.vpcCidr: 10\.10\.0\.0\/16 overlaps the global stack's 10\.10\.0\.0\/16/,
            },
            {
                name: "an instance type the facts say is not offered",
                edit: {
                    file: "china",
                    from: "instanceTypes: [m6i.large, m5.large]",
                    to: "instanceTypes: [m6i.large, trn1.2xlarge]",
                },
                message:
                    /Pulumi\.china\.yaml:\d+: crossborder:cluster\.nodeGroups\[0\]\.instanceTypes\[1\]: trn1\.2xlarge is not offered in cn-northwest-1/,
            },
            {
                name: "an aws-cn region on the global side",
                edit: {
                    file: "global",
                    from: /crossborder:aws:\n {4}region: eu-central-1/,
                    to: "crossborder:aws:\n    region: cn-north-1",
                },
                message:
                    /Pulumi\.global\.yaml:\d+: crossborder:aws\.region: "cn-north-1" is in partition aws-cn, but the global side deploys to aws/,
            },
        ];
        for (const c of cases) {
            it(`exits 2 on ${c.name}, names the key and writes nothing`, () => {
                const dir = tempDir("bad");
                copyStacks(dir, c.edit);
                const planDir = path.join(dir, "plan");
                fs.mkdirSync(planDir);
                fs.writeFileSync(path.join(planDir, "global.json"), "previous plan\n");
                const r = runCli(["plan", "--stacks-dir", dir, "--out", planDir]);
                assert.strictEqual(r.status, 2, r.stdout + r.stderr);
                assert.match(r.stderr, c.message);
                assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
                assert.deepStrictEqual(fs.readdirSync(planDir), ["global.json"], "nothing new written");
                assert.strictEqual(
                    fs.readFileSync(path.join(planDir, "global.json"), "utf8"),
                    "previous plan\n",
                    "the old plan is untouched",
                );
            });
        }

        it("exits 2 naming the file when a stack file is missing", () => {
            const dir = tempDir("missing");
            const r = runCli(["plan", "--stacks-dir", dir, "--out", path.join(dir, "plan")]);
            assert.strictEqual(r.status, 2);
            assert.match(r.stderr, /Pulumi\.global\.yaml: cannot read the stack file \(ENOENT\)/);
            assert.ok(!fs.existsSync(path.join(dir, "plan")));
        });

        it("exits 2 on a usage mistake", () => {
            const r = runCli(["plan", "--stack", "moon"]);
            assert.strictEqual(r.status, 2);
            assert.match(r.stderr, /argument 'moon' is invalid/);
        });
    });
});
