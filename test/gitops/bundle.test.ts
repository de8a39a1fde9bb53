/**
 * Air-gapped delivery, end to end on real registries: an adopted fleet's images are served by a loopback
 * origin registry, `crossborder bundle` builds the bundle from it (twice: same bytes), and then, inside a
 * network namespace with only a loopback interface, a fresh docker-registry receives the bundle through
 * `crossborder bundle load`, and `verify-mirror` (images, charts, the tree artifact) and `audit --strict`
 * pass against it. A bundle with one blob altered is refused before anything is pushed.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { requireCorpus } from "../corpus";
import { requireFakeRoot, runInFakeRoot } from "../fake-root";
import { corpusFleet } from "../fleet-fixtures";
import { fileHashes, ROOT, runCliAsync, tempDir, variantStacks } from "../helpers";
import { ociImage, push, requireRegistryTools, startRegistry } from "../registry/harness";

const snapshot = fileHashes;

describe("crossborder bundle: air-gapped delivery", function () {
    this.timeout(600_000);
    before(function () {
        requireCorpus(this);
        requireRegistryTools(this);
        requireFakeRoot(this, ["docker-registry", "skopeo", "ip"]);
    });

    it("bundles from real registries, then loads and verifies in a namespace where nothing gets out", async () => {
        const fleet = corpusFleet("bundle-fleet");
        // The site brings its own registry instead of ACR EE: the china side names it (crossborder:registry.site).
        const site = "127.0.0.1:5000";
        const stacks = variantStacks({ china: [[["crossborder:registry", "site"], site]] });
        const adopted = await runCliAsync([
            "adopt",
            fleet.dir,
            "--from",
            "clusters/production",
            "--charts",
            fleet.cache,
            "--stacks-dir",
            stacks,
            ...fleet.catalogArgs,
        ]);
        assert.equal(adopted.status, 0, adopted.stdout + adopted.stderr);
        const release = fs.readFileSync(path.join(fleet.dir, "china/apps/podinfo-podinfo-release.yaml"), "utf8");
        assert.match(release, /newName: 127\.0\.0\.1:5000\/platform\/ghcr\.io_s_stefanprodan_s_podinfo/);
        assert.doesNotMatch(release, /aliyuncs/);

        // The origin registry on loopback holds every image of the inventory, one of them multi-arch.
        const work = tempDir("bundle");
        const origin = await startRegistry(path.join(work, "origin"));
        try {
            const lines = fs
                .readFileSync(path.join(fleet.dir, "inventory", "images.txt"), "utf8")
                .split("\n")
                .filter((l) => l && !l.startsWith("#"));
            assert.ok(lines.length >= 10);
            lines.forEach((l, i) => {
                const dest = l.split(" ")[1].replace(/^docker:\/\/[^/]+\//, "");
                const layout = ociImage(work, "t", `image ${dest}`, i === 0);
                push(layout, "t", `${origin.host}/${dest}`);
            });
            const bundle = (out: string) =>
                runCliAsync([
                    "bundle",
                    "--tree",
                    fleet.dir,
                    "--out",
                    out,
                    "--charts",
                    fleet.cache,
                    "--source-registry",
                    origin.host,
                    "--plain-http",
                    "--stacks-dir",
                    stacks,
                ]);
            const b = path.join(work, "bundle");
            const first = await bundle(b);
            assert.equal(first.status, 0, first.stdout + first.stderr);
            assert.match(first.stdout, /10 images, 3 charts, 1 artifact\(s\)/);
            const again = await bundle(path.join(work, "bundle2"));
            assert.equal(again.status, 0, again.stderr);
            assert.deepEqual(snapshot(path.join(work, "bundle2")), snapshot(b), "same inputs, same bundle bytes");
            // Resumed: a finished bundle is checked, nothing copied again, the same bytes.
            const resumed = await bundle(b);
            assert.equal(resumed.status, 0, resumed.stderr);
            assert.match(resumed.stderr, /already in the bundle/);
            assert.deepEqual(snapshot(b), snapshot(path.join(work, "bundle2")));

            // One blob altered in a copy.
            const tampered = path.join(work, "tampered");
            fs.cpSync(b, tampered, { recursive: true });
            const blobs = path.join(tampered, "images", "blobs", "sha256");
            const victim = fs.readdirSync(blobs).sort()[0];
            fs.appendFileSync(path.join(blobs, victim), "x");

            const tree = JSON.parse(fs.readFileSync(path.join(b, "bundle.json"), "utf8")).artifacts.find(
                (a: { kind: string }) => a.kind === "tree",
            );
            const cli = `node ${path.join(ROOT, "bin", "crossborder.js")}`;
            const data = path.join(work, "site");
            fs.mkdirSync(data);
            fs.writeFileSync(
                path.join(data, "config.yml"),
                `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${data}/data\nhttp:\n  addr: ${site}\n`,
            );
            const audit = `${cli} audit ${fleet.dir} --strict --stacks-dir ${stacks} --lock ${fleet.dir}/inventory/charts.lock --charts ${fleet.cache} ${fleet.catalogArgs.join(" ")}`;
            const { stdout } = runInFakeRoot(
                path.join(work, "ns"),
                [
                    "unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY",
                    `cd ${ROOT}`,
                    // Nothing but loopback: any connection elsewhere fails.
                    `echo "interfaces: $(ip -o link show | awk -F': ' '{print $2}' | tr '\\n' ' ')"`,
                    `docker-registry serve ${data}/config.yml >/dev/null 2>&1 &`,
                    // node's fetch, not curl: CI installs no curl.
                    `for i in $(seq 1 100); do node -e 'fetch("http://${site}/v2/").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' && break; sleep 0.1; done`,
                    `${cli} bundle load ${tampered} --registry ${site} --plain-http > ${work}/tampered.out 2>&1; echo "tampered=$?"`,
                    `echo "catalog=$(node -e 'fetch("http://${site}/v2/_catalog").then((r) => r.text()).then((t) => process.stdout.write(t.trim()))')"`,
                    `${cli} bundle load ${b} --registry ${site} --plain-http > ${work}/load.out 2>&1; echo "load=$?"`,
                    `${cli} verify-mirror --inventory ${b}/inventory/images.txt --registry ${site} --no-compare-upstream --artifact ${tree.name}@${tree.digest} --plain-http > ${work}/verify.out 2>&1; echo "verify=$?"`,
                    `${audit} > ${work}/audit.out 2>&1; echo "audit=$?"`,
                ].join("\n"),
                480_000,
            );
            const out = (f: string) => fs.readFileSync(path.join(work, f), "utf8");
            assert.match(stdout, /^interfaces: lo $/m);
            assert.match(stdout, /^tampered=1$/m, out("tampered.out"));
            assert.match(
                out("tampered.out"),
                new RegExp(`images/blobs/sha256/${victim}: .*not the digest it is named by`),
            );
            assert.match(stdout, /^catalog=\{"repositories":\[\]\}$/m, "nothing was pushed from the altered bundle");
            assert.match(stdout, /^load=0$/m, out("load.out"));
            assert.match(stdout, /^verify=0$/m, out("verify.out"));
            assert.match(
                out("verify.out"),
                /complete: all 10 images present with the expected digests, and all 3 charts as their locked archives/,
            );
            assert.match(
                out("verify.out"),
                /artifact {2}127\.0\.0\.1:5000\/platform\/fleet:china@sha256:[a-f0-9]{64}: served, as published/,
            );
            assert.match(stdout, /^audit=0$/m, out("audit.out"));
        } finally {
            origin.stop();
        }
    });
});
