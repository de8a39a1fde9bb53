/**
 * The China VPN endpoint's user data, run as a script the way cloud-init runs it: bash, as root, in private
 * network, mount and PID namespaces, with /etc, /usr/local and /var on overlays (a fake root: nothing of the
 * machine changes). `apt-get`, `ip`, `sysctl`, `swanctl` and `systemctl` are stubs that record every call; the
 * instance metadata service and the AWS APIs (EC2, SSM, Auto Scaling, CloudWatch at their aws-cn names, over
 * TLS from a throwaway CA) are a small server that records every request. The helper that signs those
 * requests is the real one, on the real python3.
 *
 * It asserts what the boot installs and from where, which hosts it contacts, the order of its steps, that no
 * key ever reaches a command line, and that it fails closed: a boot that cannot read its keys asks to be
 * replaced and starts no tunnel, and so does an instance whose tunnels stay down.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { endpointUserData } from "../../components/vpn";
import { requireFakeRoot, runInFakeRoot } from "../fake-root";
import { certificates, tempDir } from "../helpers";
import { EXAMPLE_BOOT as BOOT } from "../vpn-fixtures";

const PSKS: Record<string, string> = {
    "/crossborder/china-vpn/tunnel1/psk": "kFirstTunnelKey.0123456789abcdefghij",
    "/crossborder/china-vpn/tunnel2/psk": "kSecondTunnelKey_0123456789abcdefghi",
};
const API_HOSTS = ["ec2", "ssm", "autoscaling", "monitoring"].map((s) => `${s}.cn-northwest-1.amazonaws.com.cn`);
const API_IP = "127.0.0.3";

/** IMDSv2 and the four AWS APIs, recording every request (a JSON line each) to `log`. */
const SERVER = `
const fs = require("fs"), http = require("http"), https = require("https");
const [log, cert, key, psks, failSsm] = process.argv.slice(2);
const record = (o) => fs.appendFileSync(log, JSON.stringify(o) + "\\n");
http.createServer((req, res) => {
  record({ host: req.headers.host, method: req.method, url: req.url });
  if (req.method === "PUT" && req.url === "/latest/api/token") return res.end("token-1");
  if (req.headers["x-aws-ec2-metadata-token"] !== "token-1") { res.statusCode = 401; return res.end(); }
  if (req.url === "/latest/meta-data/iam/security-credentials/") return res.end("endpoint-role");
  if (req.url === "/latest/meta-data/iam/security-credentials/endpoint-role")
    return res.end(JSON.stringify({ AccessKeyId: "ASIATESTKEY", SecretAccessKey: "test-secret", Token: "test-token" }));
  if (req.url === "/latest/meta-data/instance-id") return res.end("i-0123456789abcdef0");
  res.statusCode = 404; res.end();
}).listen(80, "169.254.169.254");
https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
  let body = ""; req.on("data", (d) => (body += d));
  req.on("end", () => {
    record({ host: req.headers.host, method: req.method, target: req.headers["x-amz-target"], auth: req.headers.authorization, token: req.headers["x-amz-security-token"], body });
    if (req.headers["x-amz-target"] === "AmazonSSM.GetParameter") {
      if (failSsm === "1") { res.statusCode = 400; return res.end('{"__type":"AccessDeniedException"}'); }
      const name = JSON.parse(body).Name;
      return res.end(JSON.stringify({ Parameter: { Name: name, Value: JSON.parse(psks)[name] } }));
    }
    res.end("<ok/>");
  });
}).listen(443, "${API_IP}");
`;

interface Boot {
    readonly status: number | null;
    readonly stderr: string;
    readonly calls: string[];
    readonly requests: Record<string, string>[];
    readonly out: string;
}

function stubs(dir: string): string {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    const record = (name: string, extra = "") =>
        fs.writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${dir}/calls.log\n${extra}exit 0\n`, {
            mode: 0o755,
        });
    for (const name of ["apt-get", "sysctl", "systemctl"]) record(name);
    // The attached interface appears under its MAC address.
    record(
        "ip",
        `if [ "$*" = "-o link" ]; then echo "2: ens5: <UP> link/ether 02:00:00:00:00:09"; echo "3: ens6: <UP> link/ether 02:ab:cd:00:00:01"; fi\n`,
    );
    record("swanctl", `if [ "$1" = "--list-sas" ] && [ -f ${dir}/sas.txt ]; then cat ${dir}/sas.txt; fi\n`);
    return bin;
}

/** Run `script` (then `after`, in the same root) under the fake root; return what it did. */
/**
 * Boot the endpoint in a fake root. The health checks judge the instance's age by /proc/uptime (the boot
 * grace period), so the fake root shows `uptime` seconds there instead of the test machine's own, which is
 * minutes on a machine CI has just started.
 */
function runBoot(script: string, opts: { failSsm?: boolean; after?: string; uptime?: number } = {}): Boot {
    const dir = tempDir("vpn-boot");
    certificates(dir, API_HOSTS);
    const bin = stubs(dir);
    fs.writeFileSync(path.join(dir, "server.js"), SERVER);
    fs.writeFileSync(path.join(dir, "boot.sh"), script);
    fs.writeFileSync(
        path.join(dir, "hosts"),
        `127.0.0.1 localhost\n${API_HOSTS.map((h) => `${API_IP} ${h}`).join("\n")}\n`,
    );
    const env = `env -i PATH=${bin}:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=${dir}/ca.pem HOME=/root`;
    runInFakeRoot(
        dir,
        `/usr/sbin/ip addr add 169.254.169.254/32 dev lo
/usr/sbin/ip addr add ${API_IP}/8 dev lo 2>/dev/null || true
mount --bind ${dir}/hosts /etc/hosts
echo "${(opts.uptime ?? 3600).toFixed(2)} 0.00" > ${dir}/uptime
mount --bind ${dir}/uptime /proc/uptime
node ${dir}/server.js ${dir}/requests.log ${dir}/srv.pem ${dir}/srv.key '${JSON.stringify(PSKS)}' ${opts.failSsm ? 1 : 0} &
for i in $(seq 1 100); do (exec 3<>/dev/tcp/${API_IP}/443) 2>/dev/null && (exec 3<>/dev/tcp/169.254.169.254/80) 2>/dev/null && break; sleep 0.1; done
${env} bash ${dir}/boot.sh 2> ${dir}/boot.err
echo "BOOT $?" > ${dir}/boot.status
${opts.after ? `${env} bash -c '${opts.after}' 2>> ${dir}/boot.err` : ""}
mkdir -p ${dir}/out
for f in /etc/apt/sources.list /etc/apt/sources.list.d/* /etc/swanctl/conf.d/crossborder.conf /usr/local/sbin/crossborder-updown /etc/systemd/system/crossborder-tunnel-health.timer; do
  [ -f "$f" ] && { echo "== $f $(stat -c %a "$f")"; cat "$f"; } >> ${dir}/out/files.txt
done
true`,
    );
    const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : "");
    return {
        status: Number(/^BOOT (\d+)$/m.exec(read("boot.status"))?.[1] ?? NaN),
        stderr: read("boot.err"),
        calls: read("calls.log").trim().split("\n").filter(Boolean),
        requests: read("requests.log")
            .trim()
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l)),
        out: read("out/files.txt"),
    };
}

const action = (r: Record<string, string>) =>
    r.target ?? new URLSearchParams(r.body ?? "").get("Action") ?? `${r.method} ${r.url}`;

describe("the China VPN endpoint's boot, run for real under a fake root", function () {
    this.timeout(180_000);
    let ok: Boot;
    before(function () {
        requireFakeRoot(this, ["openssl", "/usr/bin/python3"]);
        ok = runBoot(endpointUserData(BOOT));
    });

    it("boots: strongSwan from the mirror inside China only, no AWS CLI, and contacts nothing but the metadata service and the aws-cn APIs", () => {
        assert.strictEqual(ok.status, 0, ok.stderr);
        const apt = ok.calls.filter((c) => c.startsWith("apt-get"));
        assert.deepStrictEqual(apt, [
            "apt-get update -q",
            "apt-get install -y -q --no-install-recommends strongswan-swanctl charon-systemd",
        ]);
        // Every apt source but the China mirror is gone.
        const sources = ok.out.split("== ").filter((f) => f.startsWith("/etc/apt/"));
        assert.deepStrictEqual(
            sources.map((f) => f.split(" ")[0]),
            ["/etc/apt/sources.list", "/etc/apt/sources.list.d/crossborder-china.sources"],
        );
        assert.match(ok.out, /^URIs: https:\/\/mirrors\.aliyun\.com\/ubuntu$/m);
        assert.doesNotMatch(ok.out, /archive\.ubuntu\.com|ports\.ubuntu\.com/);
        assert.ok(!ok.calls.some((c) => /^aws /.test(c)), "the AWS CLI is never called");
        const hosts = new Set(ok.requests.map((r) => r.host));
        for (const h of hosts)
            assert.ok(h === "169.254.169.254" || API_HOSTS.includes(h), `contacted ${h}, outside the expected set`);
    });

    it("signs its calls for aws-cn with the instance role: attach the interface, then read each key", () => {
        const api = ok.requests.filter((r) => r.auth);
        assert.deepStrictEqual(api.map(action), [
            "AttachNetworkInterface",
            "AmazonSSM.GetParameter",
            "AmazonSSM.GetParameter",
        ]);
        for (const r of api) {
            assert.match(
                r.auth,
                /^AWS4-HMAC-SHA256 Credential=ASIATESTKEY\/\d{8}\/cn-northwest-1\/(ec2|ssm)\/aws4_request, SignedHeaders=\S+, Signature=[0-9a-f]{64}$/,
            );
            assert.strictEqual(r.token, "test-token");
        }
        const attach = new URLSearchParams(api[0].body);
        assert.deepStrictEqual(
            [attach.get("NetworkInterfaceId"), attach.get("InstanceId"), attach.get("DeviceIndex")],
            ["eni-0123456789abcdef0", "i-0123456789abcdef0", "1"],
        );
    });

    it("writes each key into strongSwan's file (0600) and onto no command line", () => {
        assert.match(ok.out, /== \/etc\/swanctl\/conf\.d\/crossborder\.conf 600\n/);
        for (const psk of Object.values(PSKS)) {
            assert.ok(ok.out.includes(`secret = "${psk}"`), "the key is in the file");
            assert.ok(!ok.calls.some((c) => c.includes(psk)), "no command saw the key");
            assert.ok(!ok.stderr.includes(psk), "no log holds it");
        }
        assert.doesNotMatch(ok.out, /@PSK\d@/);
    });

    it("runs its steps in order: packages, interface, routes with the return path, tunnels, health timer", () => {
        const at = (needle: string) => {
            const i = ok.calls.findIndex((c) => c.includes(needle));
            assert.ok(i >= 0, `no call ${needle} in:\n${ok.calls.join("\n")}`);
            return i;
        };
        assert.ok(at("apt-get install") < at("ip -o link"));
        assert.ok(at("ip -o link") < at("ip rule add from 10.20.128.10 table 200"));
        // Traffic out of a tunnel returns to the VPC through the interface without source/destination check.
        assert.ok(at("ip rule add iif xfrm1 table 201") > 0 && at("ip rule add iif xfrm2 table 201") > 0);
        assert.ok(at("ip route replace 10.20.0.0/16 via 10.20.128.1 dev ens6 table 201") > 0);
        assert.ok(at("ip -o link") < at("swanctl --load-all"));
        assert.ok(at("swanctl --load-all") < at("systemctl enable --now crossborder-tunnel-health.timer"));
    });

    it("fails closed when it cannot read a key: no tunnel starts, and it asks the group to replace it", function () {
        const bad = runBoot(endpointUserData(BOOT), { failSsm: true });
        assert.notStrictEqual(bad.status, 0);
        assert.match(bad.stderr, /AccessDeniedException/);
        assert.ok(!bad.calls.some((c) => c.startsWith("swanctl") || c.includes("enable --now strongswan")));
        const unhealthy = bad.requests.filter((r) => action(r) === "SetInstanceHealth");
        assert.strictEqual(unhealthy.length, 1);
        assert.strictEqual(new URLSearchParams(unhealthy[0].body).get("HealthStatus"), "Unhealthy");
        assert.match(unhealthy[0].auth, /\/cn-northwest-1\/autoscaling\/aws4_request/);
    });

    it("reports its tunnels every minute, and asks to be replaced after five minutes with none up", function () {
        const checks = Array.from({ length: 5 }, () => "/usr/local/sbin/crossborder-aws tunnel-health").join(" && ");
        const down = runBoot(endpointUserData(BOOT), { after: checks });
        const metrics = down.requests
            .filter((r) => action(r) === "PutMetricData")
            .map((r) => new URLSearchParams(r.body));
        assert.strictEqual(metrics.length, 5, down.stderr);
        for (const m of metrics) {
            assert.strictEqual(m.get("Namespace"), "crossborder/vpn");
            assert.strictEqual(m.get("MetricData.member.1.Value"), "0");
            assert.strictEqual(m.get("MetricData.member.1.Dimensions.member.1.Value"), "china-vpn");
        }
        const unhealthy = down.requests.filter((r) => action(r) === "SetInstanceHealth");
        assert.strictEqual(unhealthy.length, 1, "after the fifth check, not before");
        assert.ok(
            down.requests.indexOf(unhealthy[0]) >
                down.requests.indexOf(down.requests.filter((r) => action(r) === "PutMetricData")[4]),
        );
    });

    it("asks for nothing within the boot grace period, however many checks find no tunnel", function () {
        const checks = Array.from({ length: 6 }, () => "/usr/local/sbin/crossborder-aws tunnel-health").join(" && ");
        const booting = runBoot(endpointUserData(BOOT), { after: checks, uptime: 120 });
        assert.strictEqual(booting.requests.filter((r) => action(r) === "PutMetricData").length, 6, booting.stderr);
        assert.deepStrictEqual(
            booting.requests.filter((r) => action(r) === "SetInstanceHealth"),
            [],
            "a tunnel may take minutes to come up after boot",
        );
    });
});
