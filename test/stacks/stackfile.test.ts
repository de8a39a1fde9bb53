import * as assert from "assert";
import { isExampleSecret } from "../helpers";
import { loadStackConfig, ConfigError } from "../../stacks/config";
import {
    describeConfigError,
    keyPath,
    parseStackFile,
    SECRET_PLACEHOLDER,
    StackFileError,
} from "../../stacks/stackfile";

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
        assert.deepStrictEqual(keyPath("crossborder:cluster.nodeGroups[0].instanceTypes[1]"), [
            "config",
            "crossborder:cluster",
            "nodeGroups",
            0,
            "instanceTypes",
            1,
        ]);
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
            (e: Error) =>
                e instanceof StackFileError && /^stacks\/Pulumi\.china\.yaml:\d+: invalid YAML: /.test(e.message),
        );
    });

    it("rejects a duplicate key rather than silently taking the last one", () => {
        assert.throws(
            () => parseStackFile("config:\n  crossborder:side: china\n  crossborder:side: global\n", FILE),
            /Pulumi\.china\.yaml:3: the key "crossborder:side" appears twice in one mapping, and only the last would count; remove one of them/,
        );
    });

    it("finds duplicate keys in linear time (32,000 keys)", () => {
        const keys = Array.from({ length: 32_000 }, (_, i) => `  k${i}: ${i}`).join("\n");
        const t0 = Date.now();
        assert.throws(
            () => parseStackFile(`config:\n${keys}\n  k31999: again\n`, FILE),
            /Pulumi\.china\.yaml:32002: the key "k31999" appears twice/,
        );
        assert.ok(Date.now() - t0 < 10_000, "the quadratic check took 14 s for this");
    });

    it("refuses an alias bomb and an alias before its anchor with the file and line", () => {
        const bomb =
            "config:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
        assert.throws(
            () => parseStackFile(bomb, FILE),
            /Pulumi\.china\.yaml:3: aliases expand to more than 100 copies \(an alias bomb\?\); write the values out instead/,
        );
        assert.throws(
            () => parseStackFile("config:\n  a: *x\n  b: &x 1\n", FILE),
            /Pulumi\.china\.yaml:2: the alias \*x is used before its anchor &x is defined; define the anchor first/,
        );
        // A key without a value beside it (found by the fuzz: it crashed the search for the alias).
        assert.throws(
            () => parseStackFile("config:\n  a: {na web, b: *x}\n", FILE),
            /Pulumi\.china\.yaml:2: the alias \*x is used before its anchor &x is defined/,
        );
    });

    it("insists on the Pulumi.<stack>.yaml name", () => {
        assert.throws(() => parseStackFile("config: {}\n", "stacks/china.yaml"), /must be named Pulumi\.<stack>\.yaml/);
    });

    it("renders config errors with file and line", () => {
        const f = parseStackFile(TEXT, FILE);
        let err: ConfigError | undefined;
        try {
            loadStackConfig(f.config, { isSecret: isExampleSecret });
        } catch (e) {
            err = e as ConfigError;
        }
        assert.ok(err instanceof ConfigError);
        const lines = describeConfigError(err, f).split("\n");
        assert.ok(
            lines.some((l) =>
                l.startsWith(
                    `${FILE}:7: crossborder:token: is not a crossborder setting; remove it; settings are crossborder:side,`,
                ),
            ),
            lines.join("\n"),
        );
        assert.ok(
            lines.includes(
                `${FILE}:1: crossborder:peer: is missing; add crossborder:peer with the global stack's name (stack) and VPC range (vpcCidr)`,
            ),
            lines.join("\n"),
        );
    });
});
