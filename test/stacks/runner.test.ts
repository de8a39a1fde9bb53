/**
 * stacks/runner/bootstrap.sh, the runner-inside-China bootstrap, run by the real shell with the network
 * tools replaced by recorders (curl, aws) and a stand-in Pulumi CLI in the staged tarball.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT, tempDir } from "../helpers";

const SCRIPT = path.join(ROOT, "stacks", "runner", "bootstrap.sh");
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
const lockVersion = (pkg: string): string => lock.packages[`node_modules/${pkg}`].version;

function scriptVar(name: string): string {
    const m = new RegExp(`^${name}="?([^"\\n]+)"?$`, "m").exec(fs.readFileSync(SCRIPT, "utf8"));
    assert.ok(m, `${name} in the script`);
    return m[1];
}

/** A folder of stand-ins: each logs its arguments; aws "s3 cp --recursive A B" copies A to B. */
function stubs(dir: string): string {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin, { recursive: true });
    const log = path.join(dir, "calls.log");
    fs.writeFileSync(
        path.join(bin, "curl"),
        `#!/bin/sh\necho "curl $*" >> '${log}'\nwhile [ $# -gt 0 ]; do if [ "$1" = -o ]; then echo data > "$2"; fi; shift; done\n`,
        { mode: 0o755 },
    );
    fs.writeFileSync(
        path.join(bin, "aws"),
        `#!/bin/sh\necho "aws $*" >> '${log}'\nfor a; do last2=$last; last=$a; done\nsrc=$last2; dst=$last\ncase "$src" in s3://*) src='${dir}/bucket/';; esac\ncase "$dst" in s3://*) dst='${dir}/bucket/';; esac\nmkdir -p "$dst" && cp -R "$src". "$dst"\n`,
        { mode: 0o755 },
    );
    return bin;
}

function run(args: string[], dir: string, env: Record<string, string> = {}) {
    return spawnSync("sh", [SCRIPT, ...args], {
        encoding: "utf8",
        env: { PATH: `${stubs(dir)}:/usr/bin:/bin`, ...env },
    });
}

describe("the runner bootstrap", () => {
    it("pins exactly the provider versions of package-lock.json, and the CLI of the SDK's release", () => {
        const plugins = Object.fromEntries(
            scriptVar("PLUGINS")
                .split(" ")
                .map((p) => p.split("=")),
        );
        const providers = Object.keys(lock.packages)
            .filter((k) => /^node_modules\/@pulumi\/[a-z0-9-]+$/.test(k))
            .map((k) => k.split("/").pop()!)
            .filter((n) => !["pulumi", "policy"].includes(n));
        assert.deepStrictEqual(Object.keys(plugins).sort(), providers.sort());
        for (const name of providers) assert.strictEqual(plugins[name], lockVersion(`@pulumi/${name}`), name);
        assert.strictEqual(scriptVar("PULUMI_CLI_VERSION"), lockVersion("@pulumi/pulumi"));
    });

    it("stages the CLI and every plugin from their release sites, and the chart cache, into the China bucket", () => {
        const dir = tempDir("runner-stage");
        const charts = path.join(dir, "cache", "charts", "fluxcd-community.github.io", "helm-charts");
        fs.mkdirSync(charts, { recursive: true });
        fs.writeFileSync(path.join(charts, "flux2-2.18.3.tgz"), "archive");
        const r = run(["stage", "s3://acme-pulumi/runner"], dir, {
            CROSSBORDER_CHARTS: path.join(dir, "cache", "charts"),
        });
        assert.strictEqual(r.status, 0, r.stderr);
        const calls = fs.readFileSync(path.join(dir, "calls.log"), "utf8");
        assert.match(calls, /https:\/\/get\.pulumi\.com\/releases\/sdk\/pulumi-v3\.\d+\.\d+-linux-x64\.tar\.gz/);
        assert.match(
            calls,
            /https:\/\/github\.com\/pulumi\/pulumi-aws\/releases\/download\/v7\.48\.0\/pulumi-resource-aws-v7\.48\.0-linux-amd64\.tar\.gz/,
        );
        assert.match(calls, /aws --profile china s3 cp --recursive \S+ s3:\/\/acme-pulumi\/runner\//);
        assert.strictEqual(fs.readdirSync(path.join(dir, "bucket")).length, 6, "the CLI, four plugins, the charts");
        assert.ok(
            fs.existsSync(
                path.join(dir, "bucket", "charts", "fluxcd-community.github.io", "helm-charts", "flux2-2.18.3.tgz"),
            ),
        );
        const empty = run(["stage", "s3://acme-pulumi/runner"], tempDir("runner-stage-empty"), {
            CROSSBORDER_CHARTS: path.join(dir, "nothing"),
        });
        assert.strictEqual(empty.status, 1);
        assert.match(empty.stderr, /no chart archives in \S+: run crossborder charts pull first/);
    });

    it("installs only from the bucket, and points plugin downloads and npm inside China", () => {
        const dir = tempDir("runner-install");
        const staged = path.join(dir, "bucket");
        fs.mkdirSync(path.join(dir, "cli", "pulumi"), { recursive: true });
        fs.writeFileSync(
            path.join(dir, "cli", "pulumi", "pulumi"),
            `#!/bin/sh\necho "pulumi $*" >> '${path.join(dir, "calls.log")}'\n`,
            { mode: 0o755 },
        );
        fs.mkdirSync(staged);
        spawnSync("tar", [
            "-czf",
            path.join(staged, `pulumi-v${scriptVar("PULUMI_CLI_VERSION")}-linux-x64.tar.gz`),
            "-C",
            path.join(dir, "cli"),
            "pulumi",
        ]);
        fs.mkdirSync(path.join(staged, "charts", "example.com"), { recursive: true });
        fs.writeFileSync(path.join(staged, "charts", "example.com", "flux2-2.18.3.tgz"), "archive");
        const profile = path.join(dir, "profile.sh");
        const r = run(["install", "s3://acme-pulumi/runner"], dir, {
            CROSSBORDER_PULUMI_HOME: path.join(dir, "opt"),
            CROSSBORDER_PROFILE_FILE: profile,
            CROSSBORDER_CHARTS: path.join(dir, "runner-charts"),
        });
        assert.strictEqual(r.status, 0, r.stderr);
        // The chart cache lands where pulumi up looks for the Flux chart.
        assert.ok(fs.existsSync(path.join(dir, "runner-charts", "example.com", "flux2-2.18.3.tgz")));
        const calls = fs.readFileSync(path.join(dir, "calls.log"), "utf8");
        assert.doesNotMatch(calls, /^curl /m, "nothing is downloaded from outside");
        for (const name of ["alicloud", "aws", "kubernetes", "random"])
            assert.match(
                calls,
                new RegExp(
                    `pulumi plugin install resource ${name} ${lockVersion(`@pulumi/${name}`).replace(/\./g, "\\.")} --file \\S+pulumi-resource-${name}-v`,
                ),
            );
        const env = fs.readFileSync(profile, "utf8");
        assert.match(
            env,
            /PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES='\^\.\*\$=https:\/\/acme-pulumi\.s3\.cn-northwest-1\.amazonaws\.com\.cn\/runner'/,
        );
        assert.match(env, /npm_config_registry='https:\/\/registry\.npmmirror\.com'/);
    });

    it("refuses a call without a mode and an s3://bucket/prefix, with exit 2", () => {
        const dir = tempDir("runner-usage");
        for (const args of [
            [],
            ["stage"],
            ["install", "https://x/y"],
            ["install", "s3://bucket-only"],
            ["copy", "s3://a/b"],
        ]) {
            const r = run(args, dir);
            assert.strictEqual(r.status, 2, args.join(" "));
            assert.match(r.stderr, /usage: .* stage\|install s3:\/\/<bucket>\/<prefix>/);
        }
    });
});
