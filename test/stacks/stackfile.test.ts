import * as assert from "assert";
import { loadStackConfig, ConfigError } from "../../stacks/config";
import { describeConfigError, keyPath, parseStackFile, SECRET_PLACEHOLDER, StackFileError } from "../../stacks/stackfile";

const FILE = "stacks/Pulumi.china.yaml";
const TEXT = [
    "config:", // 1
    "  crossborder:side: china", // 2
    "  crossborder:cluster:", // 3
    "    nodeGroups:", // 4
    "      - name: system", // 5
    "        instanceTypes: [m6i.large, trn1.2xlarge]", // 6
    "  crossborder:token:", // 7
    "    secure: v1:abcdef", // 8
].join("\n");

describe("stack files", () => {
    it("splits config keys into the path the YAML nests them under", () => {
        assert.deepStrictEqual(keyPath("crossborder:cluster.nodeGroups[0].instanceTypes[1]"), ["config", "crossborder:cluster", "nodeGroups", 0, "instanceTypes", 1]);
        assert.deepStrictEqual(keyPath("crossborder:side"), ["config", "crossborder:side"]);
    });

    it("finds the line of a nested key", () => {
        const f = parseStackFile(TEXT, FILE);
        assert.strictEqual(f.stack, "china");
        assert.strictEqual(f.lineOf("crossborder:side"), 2);
        assert.strictEqual(f.lineOf("crossborder:cluster.nodeGroups[0].name"), 5);
        assert.strictEqual(f.lineOf("crossborder:cluster.nodeGroups[0].instanceTypes[1]"), 6);
    });

    it("reports a missing key at its nearest existing parent", () => {
        const f = parseStackFile(TEXT, FILE);
        assert.strictEqual(f.lineOf("crossborder:cluster.kubernetesVersion"), 3);
    });

    it("treats secure: values as secrets it cannot read", () => {
        const f = parseStackFile(TEXT, FILE);
        assert.strictEqual(f.config["crossborder:token"], SECRET_PLACEHOLDER);
        assert.deepStrictEqual(f.secretKeys, ["crossborder:token"]);
    });

    it("names the file and line of a YAML syntax error", () => {
        assert.throws(
            () => parseStackFile("config:\n  crossborder:side: [china\n", FILE),
            (e: Error) => e instanceof StackFileError && /^stacks\/Pulumi\.china\.yaml:\d+: invalid YAML: /.test(e.message),
        );
    });

    it("rejects a duplicate key rather than silently taking the last one", () => {
        assert.throws(() => parseStackFile("config:\n  crossborder:side: china\n  crossborder:side: global\n", FILE), /Pulumi\.china\.yaml:3: invalid YAML/);
    });

    it("insists on the Pulumi.<stack>.yaml name", () => {
        assert.throws(() => parseStackFile("config: {}\n", "stacks/china.yaml"), /must be named Pulumi\.<stack>\.yaml/);
    });

    it("renders config errors with file and line", () => {
        const f = parseStackFile(TEXT, FILE);
        let err: ConfigError | undefined;
        try {
            loadStackConfig(f.config);
        } catch (e) {
            err = e as ConfigError;
        }
        assert.ok(err instanceof ConfigError);
        const lines = describeConfigError(err, f).split("\n");
        assert.ok(lines.some((l) => l.startsWith(`${FILE}:7: crossborder:token: is not a crossborder setting; remove it; settings are crossborder:side,`)), lines.join("\n"));
        assert.ok(lines.includes(`${FILE}:1: crossborder:peer: is missing; add crossborder:peer with the global stack's name (stack) and VPC range (vpcCidr)`), lines.join("\n"));
    });
});
