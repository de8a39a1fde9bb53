/**
 * The china node's user data, run for real under a fake root (test/fake-root.ts): its containerd files land
 * where containerd reads them, and the node fails closed on its registry credentials. `aws` (answering for
 * SSM), `systemctl` and `sleep` are recording stubs; the kubelet gate is the drop-in's own ExecStartPre, run
 * as systemd would run it before kubelet.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { nodeUserData } from "../../components/cluster/user-data";
import { requireFakeRoot, runInFakeRoot } from "../fake-root";
import { tempDir } from "../helpers";

const DROP_IN = "/etc/systemd/system/kubelet.service.d/90-crossborder-registry-credentials.conf";

/** The shell part of the MIME user data. */
function shellPart(userData: string): string {
    const m = /Content-Type: text\/x-shellscript; charset="us-ascii"\n\n([\s\S]*?)\n--\/\/--/.exec(userData);
    assert.ok(m, "a shell part");
    return m[1];
}

interface NodeBoot {
    readonly calls: string[];
    readonly gate: number;
    readonly config?: { readonly mode: string; readonly text: string };
    readonly hostsToml: string;
}

function boot(ssm: "answers" | "refuses"): NodeBoot {
    const dir = tempDir("node-boot");
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    const log = path.join(dir, "calls.log");
    const stub = (name: string, body = "") =>
        fs.writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${log}\n${body}exit 0\n`, {
            mode: 0o755,
        });
    stub("systemctl");
    stub("sleep");
    stub("aws", ssm === "answers" ? `echo '{"auths":{"china.example.cn":{"auth":"eDp5"}}}'\n` : "exit 254\n");
    const userData = nodeUserData({
        containerdHosts: new Map([["docker.io", 'server = "https://china.example.cn"\n']]),
        registryAuth: { parameter: "/crossborder/crossborder-china/registry-auth", region: "cn-northwest-1" },
    });
    fs.writeFileSync(path.join(dir, "boot.sh"), shellPart(userData));
    const env = `env -i PATH=${bin}:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin`;
    runInFakeRoot(
        dir,
        `${env} bash ${dir}/boot.sh || { echo "the boot script failed" >&2; exit 1; }
# What systemd runs: the credentials unit (once, as its first start would), then kubelet's gate.
${env} /usr/local/sbin/crossborder-registry-credentials 2>> ${dir}/fetch.err || true
gate=$(sed -n 's/^ExecStartPre=//p' ${DROP_IN})
${env} bash -c "$gate" 2>> ${dir}/gate.err; echo $? > ${dir}/gate
if [ -f /var/lib/kubelet/config.json ]; then stat -c %a /var/lib/kubelet/config.json > ${dir}/mode; cp /var/lib/kubelet/config.json ${dir}/config; fi
cp /etc/containerd/certs.d/docker.io/hosts.toml ${dir}/hosts.toml`,
    );
    const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
    return {
        calls: read("calls.log").trim().split("\n"),
        gate: Number(read("gate").trim()),
        config: fs.existsSync(path.join(dir, "config"))
            ? { mode: read("mode").trim(), text: read("config") }
            : undefined,
        hostsToml: read("hosts.toml"),
    };
}

describe("a china node's boot, run for real under a fake root", function () {
    this.timeout(120_000);
    before(function () {
        requireFakeRoot(this);
    });

    it("writes kubelet's credentials (0600) from SSM and lets kubelet start", () => {
        const ok = boot("answers");
        assert.ok(ok.config, "the credentials file exists");
        assert.strictEqual(ok.config.mode, "600");
        assert.match(ok.config.text, /"auths"/);
        assert.strictEqual(ok.gate, 0, "kubelet's gate opens");
        assert.ok(ok.calls.includes("systemctl enable crossborder-registry-credentials.service"), ok.calls.join("\n"));
        assert.match(ok.hostsToml, /^server = "https:\/\/china\.example\.cn"$/m);
    });

    it("keeps kubelet down, so the node never joins, while the credentials cannot be read", () => {
        const down = boot("refuses");
        assert.strictEqual(down.config, undefined, "no credentials file");
        assert.notStrictEqual(down.gate, 0, "kubelet's gate stays shut");
        // It kept asking (the unit restarts it too), and never gave up by starting kubelet.
        assert.ok(down.calls.filter((c) => c.startsWith("aws ssm get-parameter")).length >= 30);
    });
});
