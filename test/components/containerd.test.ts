/**
 * containerd is the judge of the node mirror config. The hosts.toml files are cut from the offline plan's
 * china node user data, and Debian's real containerd (1.6) pulls through them inside a private network,
 * mount and PID namespace: two docker-registry instances with TLS from a throwaway CA stand in for the
 * China registry (127.0.0.1) and for every upstream registry (127.0.0.2), and a private /etc/hosts points
 * the names at them. An escaped pull must reach the China registry only: the upstream's access log stays
 * empty, an image the China registry holds is pulled from it, and one only the upstream has fails.
 *
 * Facts this rests on (../shared/TOOLS.md, checked with this containerd): `ctr image pull --hosts-dir` resolves
 * through `<dir>/<host>/hosts.toml` as the CRI plugin does; a file with only `server =` and no
 * `[host."https://…"]` table is rejected ("invalid `host` tree") and the pull goes to the upstream.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { ResourceRecord } from "../../stacks/offline";
import { runPlan } from "../../cli/plan";
import { certificates, ROOT, tempDir } from "../helpers";
import { ociImage } from "../registry/harness";

const CHINA_IP = "127.0.0.1";
const UPSTREAM_IP = "127.0.0.2";

function missingTools(): string[] {
    const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
    return ["containerd", "ctr", "unshare", "docker-registry", "skopeo", "openssl", "ip"].filter((c) => !has(c));
}

/** Every hosts.toml the user data writes, by its folder (the registry host it stands for). */
function hostsFiles(userData: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const m of userData.matchAll(
        /^cat > '\/etc\/containerd\/certs\.d\/([^']+)\/hosts\.toml' <<'CROSSBORDER_EOF'\n([\s\S]*?)\nCROSSBORDER_EOF$/gm,
    ))
        out.set(m[1], `${m[2]}\n`);
    return out;
}

/** The name containerd asks for a folder's host: Docker Hub's API lives at registry-1.docker.io. */
const apiHost = (folder: string) => (folder === "docker.io" ? "registry-1.docker.io" : folder);

function registryConfig(dir: string, name: string, ip: string): string {
    const file = path.join(dir, `${name}.yml`);
    fs.mkdirSync(path.join(dir, `${name}-data`));
    fs.writeFileSync(
        file,
        [
            "version: 0.1",
            "log:",
            "  level: info",
            "  accesslog:",
            "    disabled: false",
            "storage:",
            "  filesystem:",
            `    rootdirectory: ${path.join(dir, `${name}-data`)}`,
            "http:",
            `  addr: ${ip}:443`,
            "  tls:",
            `    certificate: ${path.join(dir, "srv.pem")}`,
            `    key: ${path.join(dir, "srv.key")}`,
            "",
        ].join("\n"),
    );
    return file;
}

/** Requests for /v2/<repository>/manifests or blobs that a registry's log shows. */
function requestsIn(log: string): string[] {
    return [...log.matchAll(/"(?:GET|HEAD) (\/v2\/[^ ]+\/(?:manifests|blobs)\/[^ ]+) HTTP/g)].map((m) => m[1]);
}

describe("containerd, given the node mirror config of the china plan", function () {
    this.timeout(240_000);
    let files: Map<string, string>;
    let chinaHost: string;

    before(async function () {
        const missing = missingTools();
        const root = process.getuid?.() === 0;
        if (missing.length || !root) {
            const why = `${missing.length ? `missing ${missing.join(", ")}` : ""}${root ? "" : " (needs root for the namespaces)"}`;
            if (process.env.CI === "true")
                throw new Error(`containerd test: ${why}; .ci/run installs containerd, docker-registry, skopeo`);
            console.warn(`  SKIPPED (containerd): ${why}`);
            return this.skip();
        }
        const plan = await runPlan({
            stacks: ["china"],
            stacksDir: path.join(ROOT, "stacks"),
            outDir: path.join(tempDir("containerd-plan"), "plan"),
        });
        const china = plan.runs.find((r) => r.stack === "china")!;
        const template = china.resources.find(
            (r: ResourceRecord) => r.type === "aws:ec2/launchTemplate:LaunchTemplate" && r.inputs.userData,
        )!;
        const userData = Buffer.from(String(template.inputs.userData), "base64").toString("utf8");
        files = hostsFiles(userData);
        assert.ok(files.size >= 5, `hosts.toml for ${[...files.keys()].join(", ")}`);
        chinaHost = /^server = "https:\/\/([^"]+)"$/m.exec(files.get("docker.io")!)![1];
    });

    it("sends every escaped pull to the China registry only: the upstream gets no request, and nothing falls back", function () {
        const dir = tempDir("containerd");
        const upstreams = [...files.keys()].map(apiHost);
        certificates(dir, [chinaHost, ...upstreams]);
        const certs = path.join(dir, "certs.d");
        for (const [folder, text] of files) {
            fs.mkdirSync(path.join(certs, folder), { recursive: true });
            fs.writeFileSync(path.join(certs, folder, "hosts.toml"), text);
        }
        fs.writeFileSync(
            path.join(dir, "hosts"),
            [
                `127.0.0.1 localhost`,
                `${CHINA_IP} ${chinaHost}`,
                ...upstreams.map((h) => `${UPSTREAM_IP} ${h}`),
                "",
            ].join("\n"),
        );
        const china = registryConfig(dir, "china", CHINA_IP);
        const upstream = registryConfig(dir, "upstream", UPSTREAM_IP);
        const image = ociImage(dir, "1", "escaped");
        fs.writeFileSync(
            path.join(dir, "containerd.toml"),
            [
                "version = 2",
                `root = "${dir}/root"`,
                `state = "${dir}/state"`,
                'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
                "[grpc]",
                `  address = "${dir}/containerd.sock"`,
                "",
            ].join("\n"),
        );
        const pulls = [
            "docker.io/library/busybox:1", // the China registry holds it at the path containerd asks for
            "docker.io/library/only-upstream:1", // only the upstream has it: must fail, not fall back
            ...[...files.keys()].filter((f) => f !== "docker.io").map((f) => `${f}/acme/app:1`),
        ];
        const seed = (host: string, repo: string) =>
            `skopeo copy --dest-tls-verify=false oci:${image}:1 docker://${host}/${repo}:1 >/dev/null`;
        const script = `set -u
ip link set lo up
ip addr add ${UPSTREAM_IP}/8 dev lo 2>/dev/null || true
mount --bind ${dir}/hosts /etc/hosts
docker-registry serve ${china} >> ${dir}/china.log 2>&1 &
docker-registry serve ${upstream} >> ${dir}/upstream.log 2>&1 &
for ip in ${CHINA_IP} ${UPSTREAM_IP}; do
  for i in $(seq 1 100); do (exec 3<>/dev/tcp/$ip/443) 2>/dev/null && break; sleep 0.1; done
done
${seed(chinaHost, "library/busybox")} || exit 90
${seed("registry-1.docker.io", "library/busybox")} || exit 91
${seed("registry-1.docker.io", "library/only-upstream")} || exit 92
: > ${dir}/china.log; : > ${dir}/upstream.log
containerd --config ${dir}/containerd.toml >> ${dir}/containerd.log 2>&1 &
for i in $(seq 1 100); do [ -S ${dir}/containerd.sock ] && break; sleep 0.1; done
for ref in ${pulls.join(" ")}; do
  if SSL_CERT_FILE=${dir}/ca.pem timeout 60 ctr --address ${dir}/containerd.sock image pull --hosts-dir ${certs} --snapshotter native "$ref" > ${dir}/pull.out 2>&1; then
    echo "PULLED $ref"
  else
    echo "FAILED $ref $(tr '\\n' ' ' < ${dir}/pull.out | tail -c 300)"
  fi
done
`;
        fs.writeFileSync(path.join(dir, "run.sh"), script);
        // A PID namespace of its own: the registries and containerd die with the script, whatever happens.
        const r = spawnSync(
            "unshare",
            ["--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "bash", path.join(dir, "run.sh")],
            { encoding: "utf8", timeout: 200_000 },
        );
        const logs = `${r.stdout}\n${r.stderr}\ncontainerd: ${fs.existsSync(path.join(dir, "containerd.log")) ? fs.readFileSync(path.join(dir, "containerd.log"), "utf8").slice(-2000) : ""}`;
        assert.strictEqual(r.status, 0, logs);
        const result = new Map(
            [...r.stdout.matchAll(/^(PULLED|FAILED) (\S+)/gm)].map((m) => [m[2], m[1] as "PULLED" | "FAILED"]),
        );
        assert.strictEqual(result.get("docker.io/library/busybox:1"), "PULLED", logs);
        for (const ref of pulls.slice(1)) assert.strictEqual(result.get(ref), "FAILED", `${ref}\n${logs}`);
        const upstreamRequests = requestsIn(fs.readFileSync(path.join(dir, "upstream.log"), "utf8"));
        assert.deepStrictEqual(upstreamRequests, [], "no request crossed the border");
        const chinaRequests = requestsIn(fs.readFileSync(path.join(dir, "china.log"), "utf8"));
        for (const ref of pulls) {
            const repo = ref.split("/").slice(1).join("/").replace(/:1$/, "");
            assert.ok(
                chinaRequests.some((q) => q.startsWith(`/v2/${repo}/manifests/`)),
                `the China registry was asked for ${repo}: ${chinaRequests.join(" ")}`,
            );
        }
        assert.doesNotMatch(fs.readFileSync(path.join(dir, "containerd.log"), "utf8"), /failed to decode hosts\.toml/);
    });
});
