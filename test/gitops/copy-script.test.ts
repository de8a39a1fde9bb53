/**
 * inventory/copy.sh, run with stand-in `skopeo` and `helm` on PATH: whole-image retries, giving up, and
 * pushing charts only when the archive in the cache is the locked one.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_CATALOG_FILE } from "../../gitops/catalog";
import { RenderOutput } from "../../gitops/render";
import { renderText } from "../engine-fixtures";
import { tempDir } from "../helpers";

let example: RenderOutput;

/** The example's inventory, with a skopeo that fails its first `failures` calls per image (-1: always). */
function setUp(
    failures: number,
    charts = "",
): {
    dir: string;
    run: (env?: Record<string, string>, cwd?: string) => ReturnType<typeof spawnSync>;
    calls: () => string[];
    images: number;
} {
    const dir = tempDir("copysh");
    fs.mkdirSync(path.join(dir, "inventory"));
    for (const f of ["copy.sh", "images.txt"])
        fs.writeFileSync(path.join(dir, "inventory", f), example.files.get(`inventory/${f}`)!);
    fs.writeFileSync(path.join(dir, "inventory", "charts.txt"), charts);
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    const standIn = (name: string) =>
        fs.writeFileSync(
            path.join(bin, name),
            `#!/bin/sh
echo "${name} $*" >> "${dir}/calls"
key=$(printf '%s' "$*" | cksum | cut -d' ' -f1)
n=$(cat "${dir}/n.$key" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "${dir}/n.$key"
if [ ${failures} -lt 0 ] || [ "$n" -le ${failures} ]; then echo "writing manifest: connection reset by peer" >&2; exit 1; fi
`,
            { mode: 0o755 },
        );
    standIn("skopeo");
    standIn("helm");
    // `sleep` between attempts is real; a stand-in keeps the test fast.
    fs.writeFileSync(path.join(bin, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    return {
        dir,
        run: (env = {}, cwd?: string) =>
            spawnSync("sh", [path.join(dir, "inventory", "copy.sh")], {
                encoding: "utf8",
                cwd,
                env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env },
            }),
        calls: () =>
            fs.existsSync(path.join(dir, "calls"))
                ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n")
                : [],
        images: example.inventory.images.length,
    };
}

/** A folder of the plain utilities copy.sh needs, and no skopeo or helm: a PATH where those are missing. */
function basicTools(): string {
    const dir = tempDir("copysh-path");
    for (const tool of ["sh", "grep", "cut", "cksum", "sha256sum", "cat", "dirname", "tr"]) {
        const from = ["/usr/bin", "/bin"].map((d) => path.join(d, tool)).find((f) => fs.existsSync(f))!;
        fs.symlinkSync(from, path.join(dir, tool));
    }
    return dir;
}

describe("inventory/copy.sh", () => {
    before(async function () {
        this.timeout(120_000);
        example = await renderText(fs.readFileSync(DEFAULT_CATALOG_FILE, "utf8"), "gitops/catalog.yaml");
    });

    it("copies an image again from the start when skopeo gives up on it", () => {
        const s = setUp(2);
        const r = s.run();
        assert.strictEqual(r.status, 0, String(r.stderr));
        assert.strictEqual(s.calls().length, s.images * 3, "two failed attempts and one success per image");
        assert.match(
            s.calls()[0],
            /^skopeo copy --all --preserve-digests --retry-times 8 docker:\/\/\S+ docker:\/\/\S+$/,
        );
    });

    it("gives up after the profile's attempts, naming the image, and exits non-zero", () => {
        const s = setUp(-1);
        const r = s.run();
        assert.strictEqual(r.status, 1);
        assert.strictEqual(s.calls().length, 5, "the china profile's five attempts, then stop");
        assert.match(String(r.stderr), /copy\.sh: giving up on docker:\/\/\S+ after 5 attempts/);
    });

    it("says a missing skopeo at once (exit 2), before copying anything, instead of retrying it", () => {
        const s = setUp(0);
        fs.rmSync(path.join(s.dir, "bin", "skopeo"));
        const r = s.run({ PATH: `${path.join(s.dir, "bin")}:${basicTools()}` });
        assert.strictEqual(r.status, 2, String(r.stderr));
        assert.match(String(r.stderr), /^copy\.sh: skopeo is not installed \(apt-get install skopeo\)/m);
        assert.deepStrictEqual(s.calls(), [], "nothing was tried");
    });

    it("uses the project's helm (.tools/bin) when PATH has none, and says so when there is none at all", () => {
        const cache = tempDir("copysh-helm");
        const archive = path.join(cache, "charts.example.com", "stable", "app-1.0.0.tgz");
        fs.mkdirSync(path.dirname(archive), { recursive: true });
        fs.writeFileSync(archive, "bytes");
        const real = spawnSync("sha256sum", [archive], { encoding: "utf8" }).stdout.split(" ")[0];
        const s = setUp(
            0,
            `https://charts.example.com/stable app 1.0.0 oci://origin.example.com/platform/app ${real} charts.example.com/stable/app-1.0.0.tgz\n`,
        );
        const project = tempDir("copysh-project");
        fs.mkdirSync(path.join(project, ".tools", "bin"), { recursive: true });
        fs.renameSync(path.join(s.dir, "bin", "helm"), path.join(project, ".tools", "bin", "helm"));
        const r = s.run({ CHARTS: cache }, project);
        assert.strictEqual(r.status, 0, String(r.stderr));
        assert.ok(
            s.calls().some((c) => c.startsWith("helm push")),
            s.calls().join("\n"),
        );
        const none = s.run({ CHARTS: cache, PATH: `${path.join(s.dir, "bin")}:${basicTools()}` }, s.dir);
        assert.strictEqual(none.status, 2);
        assert.match(String(none.stderr), /copy\.sh: no helm: set CROSSBORDER_HELM, put helm on PATH/);
    });

    it("pushes a chart from the cache with helm push only when its sha256 is the locked one", () => {
        const cache = tempDir("copysh-charts");
        const archive = path.join(cache, "charts.example.com", "stable", "app-1.0.0.tgz");
        fs.mkdirSync(path.dirname(archive), { recursive: true });
        fs.writeFileSync(archive, "the locked bytes");
        const sha = "a1c5f3e3e0d24e2d8b35d0a8e3f6ac3a1f0a6e7e0b4dc9b9a9d84f1f3ab5e6b0";
        const real = spawnSync("sha256sum", [archive], { encoding: "utf8" }).stdout.split(" ")[0];
        const line = (s: string) =>
            `# header\nhttps://charts.example.com/stable app 1.0.0 oci://origin.example.com/platform/app ${s} charts.example.com/stable/app-1.0.0.tgz\n`;

        const ok = setUp(0, line(real));
        const pushed = ok.run({ CHARTS: cache });
        assert.strictEqual(pushed.status, 0, String(pushed.stderr));
        assert.deepStrictEqual(
            ok.calls().filter((c) => c.startsWith("helm")),
            [`helm push ${archive} oci://origin.example.com/platform`],
        );

        const wrong = setUp(0, line(sha));
        const refused = wrong.run({ CHARTS: cache });
        assert.strictEqual(refused.status, 1);
        assert.match(
            String(refused.stderr),
            new RegExp(
                `copy\\.sh: ${archive.replace(/[.]/g, "\\.")} has sha256 ${real}, not the locked ${sha}: refusing to push it`,
            ),
        );
        assert.deepStrictEqual(
            wrong.calls().filter((c) => c.startsWith("helm")),
            [],
        );

        const missing = setUp(0, line(real));
        const gone = missing.run({ CHARTS: path.join(cache, "nowhere") });
        assert.strictEqual(gone.status, 1);
        assert.match(String(gone.stderr), /app-1\.0\.0\.tgz is missing: run crossborder charts pull/);

        const unlocked = setUp(0, line("-"));
        const never = unlocked.run({ CHARTS: cache });
        assert.strictEqual(never.status, 1);
        assert.match(
            String(never.stderr),
            /app 1\.0\.0 was never pulled: run crossborder charts pull, then render again/,
        );
    });
});
