/** The ECR refresher's script, run for real with stand-in `aws` and `kubectl` executables on PATH. */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REFRESH_SCRIPT } from "../../components/ecr";
import { tempDir } from "../helpers";

const TOKEN = "eyJwYXlsb2FkIjoiT0ZGTElORSJ9";
const REGISTRY = "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn";

interface Stand {
    readonly dir: string;
    run(): { status: number | null; stdout: string; stderr: string };
    awsCalls(): number;
    kubectlCalls(): { args: string; stdin: string }[];
}

/** `awsFailures` first token fetches fail (-1: all); `kubectlFailures` first applies fail per namespace. */
function standIns(awsFailures: number, kubectlFailures = 0): Stand {
    const dir = tempDir("refresher");
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(
        path.join(bin, "aws"),
        `#!/bin/sh
n=$(cat "${dir}/aws.count" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "${dir}/aws.count"
[ "$*" = "ecr get-login-password --region cn-northwest-1" ] || { echo "unexpected: $*" >&2; exit 2; }
if [ ${awsFailures} -lt 0 ] || [ "$n" -le ${awsFailures} ]; then echo "Could not connect to the endpoint URL" >&2; exit 255; fi
printf '%s' "${TOKEN}"
`,
        { mode: 0o755 },
    );
    fs.writeFileSync(
        path.join(bin, "kubectl"),
        `#!/bin/sh
input=$(cat)
ns=$(printf '%s\\n' "$input" | sed -n 's/^  namespace: //p')
n=$(cat "${dir}/kubectl.$ns" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "${dir}/kubectl.$ns"
if [ "$n" -le ${kubectlFailures} ]; then echo "connection refused" >&2; exit 1; fi
{ echo "ARGS $*"; printf '%s\\n' "$input"; echo "END"; } >> "${dir}/kubectl.log"
`,
        { mode: 0o755 },
    );
    return {
        dir,
        run() {
            const r = spawnSync("sh", [REFRESH_SCRIPT], {
                encoding: "utf8",
                env: {
                    PATH: `${bin}:${process.env.PATH}`,
                    REGION: "cn-northwest-1",
                    REGISTRY,
                    NAMESPACES: "default podinfo",
                    SECRET_NAME: "ecr-pull",
                    ATTEMPTS: "3",
                    BACKOFF_SECONDS: "0",
                    MAX_BACKOFF_SECONDS: "0",
                },
            });
            return { status: r.status, stdout: r.stdout, stderr: r.stderr };
        },
        awsCalls: () =>
            Number(
                fs.existsSync(path.join(dir, "aws.count")) ? fs.readFileSync(path.join(dir, "aws.count"), "utf8") : 0,
            ),
        kubectlCalls() {
            const log = path.join(dir, "kubectl.log");
            if (!fs.existsSync(log)) return [];
            return fs
                .readFileSync(log, "utf8")
                .split("END\n")
                .filter(Boolean)
                .map((chunk) => {
                    const [first, ...rest] = chunk.split("\n");
                    return { args: first.replace(/^ARGS /, ""), stdin: rest.join("\n") };
                });
        },
    };
}

describe("the ECR refresher script", () => {
    it("retries a failed token fetch and upserts the secret in every listed namespace", () => {
        const s = standIns(1);
        const r = s.run();
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(s.awsCalls(), 2);
        const calls = s.kubectlCalls();
        assert.deepStrictEqual(
            calls.map((c) => /namespace: (\S+)/.exec(c.stdin)![1]),
            ["default", "podinfo"],
        );
        const expected = Buffer.from(
            JSON.stringify({ auths: { [REGISTRY]: { auth: Buffer.from(`AWS:${TOKEN}`).toString("base64") } } }),
        ).toString("base64");
        for (const c of calls) {
            assert.strictEqual(c.args, "apply --server-side --force-conflicts --field-manager=ecr-refresher -f -");
            assert.match(c.stdin, /^type: kubernetes\.io\/dockerconfigjson$/m);
            assert.match(c.stdin, /^ {2}name: ecr-pull$/m);
            assert.ok(c.stdin.includes(`  .dockerconfigjson: ${expected}`));
        }
        assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN), "the token is never printed");
        assert.match(r.stderr, /fetching the ECR token failed \(attempt 1 of 3\), retrying/);
    });

    it("exits non-zero without touching any secret when every token fetch fails", () => {
        const s = standIns(-1);
        const r = s.run();
        assert.strictEqual(r.status, 1);
        assert.strictEqual(s.awsCalls(), 3);
        assert.deepStrictEqual(s.kubectlCalls(), []);
        assert.match(r.stderr, /fetching the ECR token failed after 3 attempts/);
    });

    it("retries a failed update per namespace", () => {
        const s = standIns(0, 2);
        const r = s.run();
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(s.kubectlCalls().length, 2);
        assert.match(r.stderr, /updating podinfo\/ecr-pull failed \(attempt 2 of 3\)/);
    });

    it("fails when a namespace cannot be updated at all", () => {
        const s = standIns(0, 5);
        const r = s.run();
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /2 namespace\(s\) not updated/);
    });
});
