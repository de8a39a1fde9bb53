/**
 * `crossborder publish`: the china tree as a Flux OCI artifact, pushed to a real registry (Debian's
 * docker-registry on loopback) and pulled back through the registry API; reproducible digests; secrets
 * refused; verify-mirror --artifact; and the Flux objects that reconcile it, against Flux's own schemas.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import * as zlib from "zlib";
import { parseAllDocuments } from "yaml";
import { Parser } from "tar";
import type { StackRun } from "../../stacks/offline";
import { runPlan } from "../../cli/plan";
import { buildArtifact, clusterFiles, secretProblems } from "../../gitops/publish";
import { fluxValidator } from "../flux-schema";
import { requireCorpus } from "../corpus";
import { ROOT, runCli, runCliAsync, tempDir, variantStacks, writeFiles } from "../helpers";
import { requireRegistryTools, startRegistry, Registry } from "../registry/harness";

const META = { source: "test", revision: "china", created: "1970-01-01T00:00:00Z" };

/** The files of a tar.gz, path → bytes, read with the tar package (an independent reader). */
async function untar(gz: Buffer): Promise<Map<string, Buffer>> {
    const files = new Map<string, Buffer>();
    await new Promise<void>((resolve, reject) => {
        const p = new Parser({
            onReadEntry: (e) => {
                const chunks: Buffer[] = [];
                e.on("data", (c: Buffer) => chunks.push(c));
                e.on("end", () => files.set(e.path, Buffer.concat(chunks)));
            },
        });
        p.on("end", resolve);
        p.on("error", reject);
        p.end(zlib.gunzipSync(gz));
    });
    return files;
}

describe("publishing the china tree as an OCI artifact", function () {
    this.timeout(180_000);
    let tree: string;

    before(() => {
        tree = path.join(tempDir("publish"), "tree");
        const r = runCli(["render", "--out", tree]);
        assert.strictEqual(r.status, 0, r.stderr);
    });

    it("carries exactly what the china cluster reconciles", () => {
        const files = [...clusterFiles(tree, "china").keys()];
        assert.ok(files.includes("clusters/china/kustomization.yaml"));
        assert.ok(files.some((f) => f.startsWith("infrastructure/controllers/china/")));
        assert.ok(files.some((f) => f.startsWith("apps/base/")));
        for (const f of files) {
            assert.ok(!/^(clusters|apps)\/global\/|^infrastructure\/[^/]+\/global\//.test(f), f);
            assert.ok(!f.startsWith("inventory/") && !f.startsWith(".crossborder/") && f !== "README.md", f);
        }
    });

    it("gives the same digest for the same tree and a new one for a changed file", () => {
        const files = clusterFiles(tree, "china");
        const a = buildArtifact(files, META);
        const reordered = new Map([...files].reverse());
        assert.strictEqual(buildArtifact(reordered, META).manifest.digest, a.manifest.digest);
        const changed = new Map(files);
        changed.set(
            "clusters/china/apps.yaml",
            Buffer.concat([files.get("clusters/china/apps.yaml")!, Buffer.from("# changed\n")]),
        );
        assert.notStrictEqual(buildArtifact(changed, META).manifest.digest, a.manifest.digest);
        // gzip without a time or a name: bytes 4-7 (MTIME) are zero and FLG has no FNAME.
        assert.strictEqual(a.layer.bytes.readUInt32LE(4), 0);
        assert.strictEqual(a.layer.bytes[3] & 0x08, 0);
    });

    it("packs paths over 100 bytes and paths that are not ASCII (PAX headers), the same bytes every time", async () => {
        const long = `apps/china/${"deep/".repeat(30)}config.yaml`;
        const files = new Map([
            [long, Buffer.from("a: 1\n")],
            ["apps/china/配置.yaml", Buffer.from("b: 2\n")],
            ["apps/china/plain.yaml", Buffer.from("c: 3\n")],
        ]);
        const a = buildArtifact(files, META);
        assert.strictEqual(buildArtifact(new Map([...files].reverse()), META).manifest.digest, a.manifest.digest);
        // Read back by two independent readers: the tar package and GNU tar.
        assert.deepStrictEqual([...(await untar(a.layer.bytes))].sort(), [...files].sort());
        const dir = tempDir("pax");
        fs.writeFileSync(path.join(dir, "layer.tgz"), a.layer.bytes);
        const r = spawnSync("tar", ["-xzf", "layer.tgz"], { cwd: dir, encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        for (const [p, b] of files) assert.deepStrictEqual(fs.readFileSync(path.join(dir, p)), b, p);
    });

    it("unpacks to a tree that builds, with kubectl kustomize, every path its Flux Kustomizations name", async function () {
        requireCorpus(this);
        const artifact = buildArtifact(clusterFiles(tree, "china"), META);
        const dir = tempDir("publish-unpacked");
        writeFiles(dir, await untar(artifact.layer.bytes));
        const kubectl = path.join(ROOT, ".tools", "bin", "kubectl");
        const build = (rel: string) => {
            const r = spawnSync(kubectl, ["kustomize", path.join(dir, rel)], { encoding: "utf8" });
            assert.strictEqual(r.status, 0, `kubectl kustomize ${rel}: ${r.stderr}`);
            return parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, any>);
        };
        const validate = fluxValidator();
        // What Flux builds first: the cluster's folder, whose Kustomizations name the other paths.
        const flux = build("clusters/china").filter((o) => o.kind === "Kustomization");
        assert.ok(flux.length >= 3, "infra-controllers, infra-configs and apps");
        for (const k of flux) {
            assert.deepStrictEqual(validate(k), [], k.metadata.name);
            assert.deepStrictEqual(k.spec.sourceRef, { kind: "OCIRepository", name: "flux-system" }, k.metadata.name);
            for (const o of build(k.spec.path.replace(/^\.\//, ""))) {
                assert.deepStrictEqual(validate(o) ?? [], [], `${k.spec.path}: ${o.kind} ${o.metadata?.name}`);
            }
        }
    });

    it("refuses a tree that holds a Secret with data or anything that reads as a key, naming the file and line", async () => {
        const dir = tempDir("publish-secret");
        fs.cpSync(tree, dir, { recursive: true });
        const secret = path.join(dir, "apps", "china", "leak.yaml");
        fs.writeFileSync(
            secret,
            "# x\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: hunter2}\n",
        );
        fs.writeFileSync(
            path.join(dir, "infrastructure", "configs", "china", "key.pem"),
            "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n",
        );
        const problems = await secretProblems(clusterFiles(dir, "china"));
        assert.deepStrictEqual(problems, [
            "apps/china/leak.yaml:8: the Secret db carries data; keep Secrets out of the artifact (deliver them with the cluster, e.g. from Pulumi, or encrypt them with SOPS)",
            'apps/china/leak.yaml:10: a credential in "password"',
            "infrastructure/configs/china/key.pem:1: a private key",
        ]);
        const r = runCli(["publish", "--tree", dir, "--dry-run"]);
        assert.strictEqual(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /refusing to publish:\n {2}apps\/china\/leak\.yaml:8: the Secret db carries data/);
        // An empty Secret (a name other objects refer to) is not a leak.
        fs.writeFileSync(secret, "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\n");
        fs.rmSync(path.join(dir, "infrastructure", "configs", "china", "key.pem"));
        assert.deepStrictEqual(await secretProblems(clusterFiles(dir, "china"), "china"), []);
    });

    describe("the shapes a secret hides in (each refused, naming the file and line)", () => {
        const KEY_BODY = "MIIEowIBAAKCAQEA7bq0mT2s5bKf3RxW9nqZ1uJ8d4aH6pLwYcVe0oI2sT9uN3vX";
        const cm = (name: string, data: string) =>
            `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: demo}\ndata:\n${data}\n`;
        const dockerConfig = JSON.stringify({
            auths: { "registry.example.cn": { username: "u", password: "s3cr3t-pw" } },
        });
        /** file → text, and whether apps/china/kustomization.yaml must list it (what Flux applies). */
        const SHAPES: { name: string; files: Record<string, string>; list?: string[]; says: RegExp }[] = [
            {
                name: "a Secret inside kind: List",
                files: {
                    "apps/china/list.yaml":
                        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: listed, namespace: demo}\n    data: {k: dmFsdWU=}\n",
                },
                list: ["list.yaml"],
                says: /^apps\/china\/list\.yaml:\d+: the Secret listed carries data/m,
            },
            {
                name: "a Secret in a resource file named secret.txt",
                files: {
                    "apps/china/secret.txt":
                        "apiVersion: v1\nkind: Secret\nmetadata: {name: txt, namespace: demo}\ndata: {k: dmFsdWU=}\n",
                },
                list: ["secret.txt"],
                says: /^apps\/china\/secret\.txt:\d+: the Secret txt carries data.*as kustomize builds it/m,
            },
            {
                name: "a Secret under a templates/ folder that is not a chart",
                files: {
                    "apps/china/templates/s.yaml":
                        "apiVersion: v1\nkind: Secret\nmetadata: {name: tpl, namespace: demo}\nstringData: {k: value}\n",
                },
                says: /^apps\/china\/templates\/s\.yaml:2: the Secret tpl carries data/m,
            },
            {
                name: "a Secret whose kind comes from a merge key",
                files: {
                    "apps/china/merged.yaml":
                        "base: &base {apiVersion: v1, kind: Secret}\n<<: *base\nmetadata: {name: merged, namespace: demo}\ndata: {k: dmFsdWU=}\n",
                },
                list: ["merged.yaml"],
                says: /^apps\/china\/merged\.yaml:\d+: the Secret merged carries data.*as kustomize builds it/m,
            },
            {
                name: "a docker config with a user name and password",
                files: { "apps/china/docker.yaml": cm("docker", `  config.json: '${dockerConfig}'`) },
                says: /^apps\/china\/docker\.yaml:\d+: registry credentials \(a docker config\)/m,
            },
            {
                name: "the same docker config, base64, in a ConfigMap",
                files: {
                    "apps/china/docker64.yaml": cm(
                        "docker64",
                        `  config: ${Buffer.from(dockerConfig).toString("base64")}`,
                    ),
                },
                says: /^apps\/china\/docker64\.yaml:\d+: registry credentials \(a docker config\), base64-encoded/m,
            },
            {
                name: "a PGP private key block",
                files: {
                    "apps/china/pgp.yaml": cm(
                        "pgp",
                        `  key: |\n    -----BEGIN PGP PRIVATE KEY BLOCK-----\n    ${KEY_BODY}\n    -----END PGP PRIVATE KEY BLOCK-----`,
                    ),
                },
                says: /^apps\/china\/pgp\.yaml:\d+: a private key/m,
            },
            {
                name: "a private key folded over YAML lines",
                files: {
                    "apps/china/folded.yaml": cm(
                        "folded",
                        `  key: >-\n    -----BEGIN RSA\n    PRIVATE KEY-----\n    ${KEY_BODY}`,
                    ),
                },
                says: /^apps\/china\/folded\.yaml:\d+: a private key/m,
            },
            {
                name: "a private key escaped in a quoted string",
                files: {
                    "apps/china/escaped.yaml": cm(
                        "escaped",
                        `  key: "-----BEGIN EC PRIVATE\\u0020KEY-----\\n${KEY_BODY}\\n-----END EC PRIVATE KEY-----"`,
                    ),
                },
                says: /^apps\/china\/escaped\.yaml:\d+: a private key/m,
            },
            {
                name: "a kubeconfig's client-key-data",
                files: {
                    "apps/china/kubeconfig.yaml": cm(
                        "kube",
                        `  config: |\n    users:\n      - name: admin\n        user:\n          client-key-data: ${Buffer.from(KEY_BODY).toString("base64")}`,
                    ),
                },
                says: /^apps\/china\/kubeconfig\.yaml:\d+: a kubeconfig client key/m,
            },
            {
                name: "a kubeconfig's token",
                files: {
                    "apps/china/token.yaml":
                        "apiVersion: v1\nkind: Config\nusers:\n  - name: ci\n    user:\n      token: eyJhbGciOiJSUzI1NiJ9.payload.signature\n",
                },
                says: /^apps\/china\/token\.yaml:6: a credential in "token"/m,
            },
            {
                name: "a GitHub fine-grained token",
                files: {
                    "apps/china/gh.yaml": cm(
                        "gh",
                        "  token-file: github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH",
                    ),
                },
                says: /^apps\/china\/gh\.yaml:\d+: a GitHub fine-grained token/m,
            },
            {
                name: "AWS_SECRET_ACCESS_KEY as an env name, its value on the next line",
                files: {
                    "apps/china/env.yaml":
                        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: demo}\nspec:\n  containers:\n    - name: c\n      image: x\n      env:\n        - name: AWS_SECRET_ACCESS_KEY\n          value: wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz\n",
                },
                says: /^apps\/china\/env\.yaml:9: a credential in the env variable AWS_SECRET_ACCESS_KEY/m,
            },
            {
                name: "a .env file with a password",
                files: { "apps/china/app.env": "LOG_LEVEL=info\nDB_PASSWORD=correct-horse-battery\n" },
                says: /^apps\/china\/app\.env:2: a credential in DB_PASSWORD/m,
            },
            {
                name: "an Alibaba Cloud AccessKey secret",
                files: {
                    "apps/china/ali.yaml": cm("ali", "  accessKeySecret: 4dF3kP9sL2mN8qR5tV1wX7yZ0aB6cE"),
                },
                says: /^apps\/china\/ali\.yaml:\d+: a credential in "accessKeySecret"/m,
            },
            {
                name: "a SOPS-encrypted Secret applied without decryption",
                files: {
                    "apps/china/sops.yaml":
                        "apiVersion: v1\nkind: Secret\nmetadata: {name: sops, namespace: demo}\ndata: {k: 'ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]'}\nsops: {version: 3.9.0, age: [{recipient: age1x}]}\n",
                },
                list: ["sops.yaml"],
                says: /^apps\/china\/sops\.yaml:\d+: the SOPS-encrypted Secret sops is applied by a Kustomization without decryption/m,
            },
        ];

        /** A copy of the rendered tree with the shape's files, listed in the china apps kustomization. */
        function withShape(shape: (typeof SHAPES)[number]): string {
            const dir = tempDir("publish-shape");
            fs.cpSync(tree, dir, { recursive: true });
            writeFiles(dir, shape.files);
            if (shape.list) {
                const k = path.join(dir, "apps", "china", "kustomization.yaml");
                fs.writeFileSync(
                    k,
                    fs
                        .readFileSync(k, "utf8")
                        .replace("resources:\n", `resources:\n${shape.list.map((f) => `  - ${f}\n`).join("")}`),
                );
            }
            return dir;
        }

        for (const shape of SHAPES)
            it(shape.name, async function () {
                requireCorpus(this);
                const problems = await secretProblems(clusterFiles(withShape(shape), "china"), "china");
                assert.match(problems.join("\n"), shape.says, problems.join("\n"));
            });

        it("publishes a SOPS-encrypted Secret that its Kustomization decrypts (ciphertext, decrypted in the cluster)", async function () {
            requireCorpus(this);
            const sops = SHAPES.find((x) => x.name.startsWith("a SOPS"))!;
            const dir = withShape(sops);
            const apps = path.join(dir, "clusters", "china", "apps.yaml");
            fs.writeFileSync(
                apps,
                fs
                    .readFileSync(apps, "utf8")
                    .replace(
                        "  prune: true",
                        "  prune: true\n  decryption: {provider: sops, secretRef: {name: sops-age}}",
                    ),
            );
            assert.deepStrictEqual(await secretProblems(clusterFiles(dir, "china"), "china"), []);
        });

        it("refuses through the command too (exit 1), before anything is built", () => {
            const r = runCli(["publish", "--tree", withShape(SHAPES[1]), "--dry-run"]);
            assert.strictEqual(r.status, 1, r.stdout + r.stderr);
            assert.match(
                r.stderr,
                /refusing to publish:\n[\s\S]*apps\/china\/secret\.txt:\d+: the Secret txt carries data/,
            );
        });
    });

    it("refuses a kustomize secretGenerator and a manifest it cannot read, naming the file and line", async () => {
        const files = new Map([
            [
                "apps/china/kustomization.yaml",
                Buffer.from("resources: [a.yaml]\nsecretGenerator:\n  - name: db\n    literals: [password=hunter2]\n"),
            ],
            ["apps/china/broken.yaml", Buffer.from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c\n")],
            [
                "apps/china/bomb.yaml",
                Buffer.from(
                    "a: &a [x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [" +
                        "*b, ".repeat(20) +
                        "*b]\n",
                ),
            ],
            [
                "apps/china/fine.yaml",
                Buffer.from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n"),
            ],
        ]);
        const problems = await secretProblems(files);
        assert.strictEqual(problems.length, 3, problems.join("\n"));
        assert.match(
            problems[0],
            /^apps\/china\/bomb\.yaml:1: cannot be read as YAML \(.*alias.*\), so it cannot be checked for Secrets/i,
        );
        assert.match(problems[1], /^apps\/china\/broken\.yaml:\d: cannot be read as YAML/);
        assert.match(problems[2], /^apps\/china\/kustomization\.yaml:2: a kustomize secretGenerator/);
    });

    it("refuses a tag or repository a registry would refuse, before building or pushing anything", () => {
        for (const [flag, value, message] of [
            ["--tag", "::bad", /--tag must be an OCI tag .*got "::bad"/],
            ["--tag", "-china", /--tag must be an OCI tag/],
            ["--repository", "Platform/fleet", /--repository must be a registry path .*got "Platform\/fleet"/],
        ] as const) {
            const r = runCli(["publish", "--tree", tree, flag, value, "--registry", "127.0.0.1:9", "--plain-http"]);
            assert.strictEqual(r.status, 2, r.stdout + r.stderr);
            assert.match(r.stderr, message);
        }
    });

    describe("with a real registry", () => {
        let registry: Registry;
        before(async function () {
            requireRegistryTools(this);
            registry = await startRegistry(tempDir("publish-registry"));
        });
        after(() => registry?.stop());

        const publishTo = (treeDir: string, extra: string[] = []) =>
            runCliAsync(["publish", "--tree", treeDir, "--registry", registry.host, "--plain-http", ...extra]);
        const digestOf = (stdout: string) => /^digest (sha256:[a-f0-9]{64})$/m.exec(stdout)?.[1];
        const verifyArtifact = (artifact: string, extra: string[] = []) =>
            runCliAsync([
                "verify-mirror",
                "--artifact",
                artifact,
                "--registry",
                registry.host,
                "--plain-http",
                ...extra,
            ]);
        /** A copy of the tree with one line added to the china apps file. */
        const changedTree = (label: string) => {
            const dir = tempDir(label);
            fs.cpSync(tree, dir, { recursive: true });
            fs.appendFileSync(path.join(dir, "clusters", "china", "apps.yaml"), `# ${label}\n`);
            return dir;
        };

        it("pushes a Flux artifact that pulls back as exactly the china tree", async () => {
            const r = await publishTo(tree);
            assert.strictEqual(r.status, 0, r.stdout + r.stderr);
            const digest = digestOf(r.stdout)!;
            assert.match(
                r.stdout,
                new RegExp(
                    `published \\d+ files of the china tree .*: ${registry.host.replace(/\./g, "\\.")}/platform/fleet:china-candidate@${digest}`,
                ),
            );
            const base = `http://${registry.host}/v2/platform/fleet`;
            // A candidate: the tag Flux follows (china) is promote's to move, never publish's.
            assert.strictEqual((await fetch(`${base}/manifests/china`, { method: "HEAD" })).status, 404);
            const res = await fetch(`${base}/manifests/china-candidate`, {
                headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
            });
            assert.strictEqual(res.headers.get("docker-content-digest"), digest);
            const manifest = (await res.json()) as Record<string, any>;
            assert.strictEqual(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
            assert.strictEqual(manifest.config.mediaType, "application/vnd.cncf.flux.config.v1+json");
            assert.deepStrictEqual(
                manifest.layers.map((l: { mediaType: string }) => l.mediaType),
                ["application/vnd.cncf.flux.content.v1.tar+gzip"],
            );
            assert.deepStrictEqual(Object.keys(manifest.annotations).sort(), [
                "org.opencontainers.image.created",
                "org.opencontainers.image.revision",
                "org.opencontainers.image.source",
            ]);
            const config = Buffer.from(await (await fetch(`${base}/blobs/${manifest.config.digest}`)).arrayBuffer());
            assert.strictEqual(config.toString(), "{}");
            const layer = Buffer.from(await (await fetch(`${base}/blobs/${manifest.layers[0].digest}`)).arrayBuffer());
            const pulled = await untar(layer);
            const expected = clusterFiles(tree, "china");
            assert.deepStrictEqual([...pulled.keys()].sort(), [...expected.keys()].sort());
            for (const [p, bytes] of expected) assert.ok(pulled.get(p)!.equals(bytes), p);
        });

        it("pushes the tree's own chart beside it, as a Helm chart helm pulls and renders, at the digest the tree pins", async () => {
            const r = await publishTo(tree);
            assert.strictEqual(r.status, 0, r.stdout + r.stderr);
            const pinned = parseAllDocuments(fs.readFileSync(path.join(tree, "apps/china/demo-source.yaml"), "utf8"))
                .map((d) => d.toJS())
                .find((d) => d?.kind === "OCIRepository");
            const m =
                /published the tree's chart beside it: (\S+)\/platform\/crossborder-demo:0\.1\.0@(sha256:[a-f0-9]{64})/.exec(
                    r.stdout,
                );
            assert.ok(m, r.stdout);
            assert.strictEqual(m[2], pinned.spec.ref.digest, "the china OCIRepository pins what publish pushed");
            assert.strictEqual(pinned.spec.ref.tag, "0.1.0");
            // The real helm, as helm-controller would: pull the chart by digest, then render it.
            const helm = path.join(ROOT, ".tools", "bin", "helm");
            const dest = tempDir("pulled-chart");
            const pull = spawnSync(
                helm,
                [
                    "pull",
                    `oci://${registry.host}/platform/crossborder-demo@${m[2]}`,
                    "--plain-http",
                    "--destination",
                    dest,
                ],
                { encoding: "utf8", env: { ...process.env, HELM_CACHE_HOME: path.join(dest, ".cache") } },
            );
            assert.strictEqual(pull.status, 0, pull.stderr);
            const archive = fs.readdirSync(dest).find((f) => f.endsWith(".tgz"))!;
            const t = spawnSync(helm, ["template", "demo", path.join(dest, archive)], { encoding: "utf8" });
            assert.strictEqual(t.status, 0, t.stderr);
            assert.match(t.stdout, /kind: Deployment/);
        });

        it("publishes the same digest twice, and a new one when a file changes", async () => {
            const first = digestOf((await publishTo(tree)).stdout);
            const again = digestOf((await publishTo(tree)).stdout);
            assert.strictEqual(again, first);
            const other = digestOf((await publishTo(changedTree("publish-changed"), ["--tag", "next"])).stdout);
            assert.ok(other && other !== first);
        });

        it("verifies the China side serves the published digest, and catches a tag moved to another", async () => {
            const published = digestOf((await publishTo(tree)).stdout)!;
            const ok = await verifyArtifact(`platform/fleet:china-candidate@${published}`);
            assert.strictEqual(ok.status, 0, ok.stdout + ok.stderr);
            assert.match(ok.stdout, /served, as published/);
            // Someone pushes another tree under the same tag: the tag no longer means what was published.
            const moved = digestOf((await publishTo(changedTree("publish-moved"))).stdout)!;
            const bad = await verifyArtifact(`platform/fleet:china-candidate@${published}`);
            assert.strictEqual(bad.status, 1, bad.stdout + bad.stderr);
            assert.match(
                bad.stdout,
                new RegExp(
                    `MISMATCH .*platform/fleet:china-candidate +points at ${moved}, not the published ${published}`,
                ),
            );
            const missing = await verifyArtifact(`platform/nothing:china@${published}`, ["--retries", "0"]);
            assert.strictEqual(missing.status, 1);
            assert.match(missing.stdout, /MISSING .*platform\/nothing:china/);
        });
    });

    describe("the Flux objects that reconcile it", () => {
        let run: StackRun;
        before(async function () {
            requireCorpus(this);
            const plan = await runPlan({
                stacks: ["china"],
                stacksDir: variantStacks({ china: [[["crossborder:flux", "mirrorVerified"], true]] }),
                outDir: path.join(tempDir("publish-plan"), "plan"),
            });
            run = plan.runs.find((r) => r.stack === "china")!;
        });

        it("makes the Pulumi bootstrap's OCIRepository and root Kustomization valid Flux objects on the China registry", () => {
            const validate = fluxValidator();
            const objects = run.resources.filter(
                (r) =>
                    r.type.startsWith("kubernetes:source.toolkit.fluxcd.io/") ||
                    r.type.startsWith("kubernetes:kustomize.toolkit.fluxcd.io/"),
            );
            const oci = objects.find((r) => r.type === "kubernetes:source.toolkit.fluxcd.io/v1:OCIRepository")!;
            assert.ok(oci, "an OCIRepository");
            assert.strictEqual(objects.filter((r) => r.type.endsWith(":GitRepository")).length, 0, "no Git host");
            const spec = oci.inputs.spec as Record<string, unknown>;
            assert.strictEqual(spec.url, "oci://crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com/platform/fleet");
            assert.deepStrictEqual(spec.ref, { tag: "china" });
            assert.deepStrictEqual(spec.secretRef, { name: "crossborder-registry" });
            assert.strictEqual(spec.timeout, "5m");
            const root = objects.find((r) => r.type.endsWith(":Kustomization"))!;
            assert.deepStrictEqual((root.inputs.spec as Record<string, unknown>).sourceRef, {
                kind: "OCIRepository",
                name: "flux-system",
            });
            for (const o of objects) {
                const kind = o.type.split(":").pop()!;
                const apiVersion = o.type.split(":")[1];
                const errors = validate({ apiVersion, kind, metadata: o.inputs.metadata, spec: o.inputs.spec });
                assert.deepStrictEqual(errors, [], `${kind}: ${JSON.stringify(errors)}`);
            }
        });

        it("resolves every reference of the china cluster to an object the tree or the bootstrap creates", function () {
            requireCorpus(this);
            // What exists on the china cluster: the bootstrap's objects (the plan) and everything Flux applies.
            const kubectl = path.join(ROOT, ".tools", "bin", "kubectl");
            const build = (rel: string) => {
                const r = spawnSync(kubectl, ["kustomize", path.join(tree, rel)], { encoding: "utf8" });
                assert.strictEqual(r.status, 0, r.stderr);
                return parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, any>);
            };
            const objects: Record<string, any>[] = run.resources
                .filter((r) => r.type.startsWith("kubernetes:"))
                .map((r) => ({
                    kind: r.type.split(":").pop(),
                    metadata: r.inputs.metadata,
                    spec: r.inputs.spec,
                }));
            const pending = ["clusters/china"];
            while (pending.length) {
                for (const o of build(pending.shift()!)) {
                    objects.push(o);
                    if (o.kind === "Kustomization" && o.spec?.path) pending.push(o.spec.path.replace(/^\.\//, ""));
                }
            }
            const exists = (kind: string, name: string, ns: string) =>
                objects.some(
                    (o) =>
                        o.kind === kind &&
                        o.metadata?.name === name &&
                        (o.metadata?.namespace ?? (kind === "Namespace" ? undefined : "default")) === ns,
                );
            const dangling: string[] = [];
            let checked = 0;
            const ref = (
                from: Record<string, any>,
                kind: string,
                r: { name?: string; namespace?: string } | undefined,
            ) => {
                if (!r?.name) return;
                checked++;
                const ns = r.namespace ?? from.metadata?.namespace ?? "default";
                if (!exists(kind, r.name, ns))
                    dangling.push(
                        `${from.kind} ${from.metadata?.namespace}/${from.metadata?.name} -> ${kind} ${ns}/${r.name}`,
                    );
            };
            for (const o of objects) {
                const spec = o.spec ?? {};
                if (o.kind === "Kustomization" && spec.sourceRef) {
                    ref(o, spec.sourceRef.kind, spec.sourceRef);
                    for (const d of spec.dependsOn ?? []) ref(o, "Kustomization", d);
                }
                if (o.kind === "HelmRelease") {
                    if (spec.chartRef) ref(o, spec.chartRef.kind, spec.chartRef);
                    if (spec.chart?.spec?.sourceRef) ref(o, spec.chart.spec.sourceRef.kind, spec.chart.spec.sourceRef);
                    for (const d of spec.dependsOn ?? []) ref(o, "HelmRelease", d);
                    for (const v of spec.valuesFrom ?? []) ref(o, v.kind, v);
                }
                if (["OCIRepository", "HelmRepository", "GitRepository"].includes(o.kind) && spec.secretRef)
                    ref(o, "Secret", spec.secretRef);
            }
            assert.ok(checked >= 20, `${checked} references`);
            assert.deepStrictEqual(dangling, []);
        });

        it("pins a digest when the stack says so", async () => {
            const digest = `sha256:${"a".repeat(64)}`;
            const plan = await runPlan({
                stacks: ["china"],
                stacksDir: variantStacks({
                    china: [
                        [["crossborder:flux", "mirrorVerified"], true],
                        [["crossborder:gitops", "artifact", "digest"], digest],
                    ],
                }),
                outDir: path.join(tempDir("publish-plan"), "plan"),
            });
            const oci = plan.runs[0].resources.find(
                (r) => r.type === "kubernetes:source.toolkit.fluxcd.io/v1:OCIRepository",
            )!;
            assert.deepStrictEqual((oci.inputs.spec as Record<string, unknown>).ref, { digest });
        });

        it("gives source-controller the registry's credentials where the tree's china sources and the artifact live", () => {
            const secrets = run.resources.filter(
                (r) =>
                    r.type === "kubernetes:core/v1:Secret" &&
                    (r.inputs.metadata as { name: string }).name === "crossborder-registry",
            );
            const namespaces = secrets.map((s) => (s.inputs.metadata as { namespace: string }).namespace).sort();
            assert.ok(namespaces.includes("flux-system") && namespaces.includes("ingress-nginx"), namespaces.join(" "));
            for (const s of secrets) assert.strictEqual(s.inputs.stringData, "[secret]");
            const source = fs.readFileSync(
                path.join(tree, "infrastructure", "controllers", "china", "ingress-nginx.yaml"),
                "utf8",
            );
            assert.match(source, /secretRef:\n +name: crossborder-registry/);
            assert.doesNotMatch(
                fs.readFileSync(
                    path.join(tree, "infrastructure", "controllers", "global", "ingress-nginx.yaml"),
                    "utf8",
                ),
                /crossborder-registry/,
            );
            const kustomizations = fs.readFileSync(path.join(tree, "clusters", "china", "apps.yaml"), "utf8");
            assert.match(kustomizations, /sourceRef:\n +kind: OCIRepository\n +name: flux-system/);
            assert.match(
                fs.readFileSync(path.join(tree, "clusters", "global", "apps.yaml"), "utf8"),
                /kind: GitRepository/,
            );
            assert.ok(fs.existsSync(path.join(ROOT, "stacks", "Pulumi.china.yaml")));
        });
    });
});
