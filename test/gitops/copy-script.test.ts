/** inventory/copy.sh, run with a stand-in `skopeo` on PATH: whole-image retries and giving up. */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_CATALOG_FILE, parseCatalog } from "../../gitops/catalog";
import { renderContext } from "../../gitops/context";
import { renderTree } from "../../gitops/tree";
import { ROOT, tempDir } from "../helpers";

/** The example's inventory, with a skopeo that fails its first `failures` calls per image (-1: always). */
function setUp(failures: number): { run: () => ReturnType<typeof spawnSync>; calls: () => string[]; images: number } {
    const dir = tempDir("copysh");
    const out = renderTree({ catalog: parseCatalog(fs.readFileSync(DEFAULT_CATALOG_FILE, "utf8"), "catalog.yaml"), ...renderContext({ stacksDir: path.join(ROOT, "stacks") }) });
    fs.mkdirSync(path.join(dir, "inventory"));
    for (const f of ["copy.sh", "images.txt"]) fs.writeFileSync(path.join(dir, "inventory", f), out.files.get(`inventory/${f}`)!);
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(
        path.join(bin, "skopeo"),
        `#!/bin/sh
echo "$*" >> "${dir}/calls"
key=$(printf '%s' "$*" | cksum | cut -d' ' -f1)
n=$(cat "${dir}/n.$key" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "${dir}/n.$key"
if [ ${failures} -lt 0 ] || [ "$n" -le ${failures} ]; then echo "writing manifest: connection reset by peer" >&2; exit 1; fi
`,
        { mode: 0o755 },
    );
    // `sleep` between attempts is real; a stand-in keeps the test fast.
    fs.writeFileSync(path.join(bin, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    return {
        run: () => spawnSync("sh", [path.join(dir, "inventory", "copy.sh")], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } }),
        calls: () => (fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : []),
        images: out.inventory.images.length,
    };
}

describe("inventory/copy.sh", () => {
    it("copies an image again from the start when skopeo gives up on it", () => {
        const s = setUp(2);
        const r = s.run();
        assert.strictEqual(r.status, 0, String(r.stderr));
        assert.strictEqual(s.calls().length, s.images * 3, "two failed attempts and one success per image");
        assert.match(s.calls()[0], /^copy --all --preserve-digests --retry-times 8 docker:\/\/\S+ docker:\/\/\S+$/);
    });

    it("gives up after the profile's attempts, naming the image, and exits non-zero", () => {
        const s = setUp(-1);
        const r = s.run();
        assert.strictEqual(r.status, 1);
        assert.strictEqual(s.calls().length, 5, "the china profile's five attempts, then stop");
        assert.match(String(r.stderr), /copy\.sh: giving up on docker:\/\/\S+ after 5 attempts/);
    });
});
