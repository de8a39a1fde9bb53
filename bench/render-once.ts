/**
 * One benchmark run, in its own process so that peak memory is its own: render a synthetic catalog of N
 * releases on both clusters (chart archives not at hand: the values-level path), write it, and audit it
 * on the engines. Prints JSON.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { auditTree } from "../gitops/audit";
import { parseCatalog } from "../gitops/catalog";
import { renderContext } from "../stacks/gitops-inputs";
import { RenderCache } from "../gitops/engine/cache";
import { renderTree } from "../gitops/render";
import { writeTree } from "../gitops/writer";

async function main(): Promise<void> {
    const n = Number(process.argv[2] ?? 1000);
    const root = path.resolve(__dirname, "..");
    const releases = Array.from({ length: n }, (_, i) => ({
        name: `app-${String(i).padStart(5, "0")}`,
        namespace: `ns-${i % 50}`,
        group: i % 10 === 0 ? "controllers" : "apps",
        chart: {
            repository: i % 2 ? "https://charts.example.com/stable" : "oci://ghcr.io/example/charts",
            name: `chart-${i % 40}`,
            version: "1.0.0",
        },
        values: {
            image: { repository: `ghcr.io/example/app-${i}`, tag: "1.0.0" },
            sidecar: { image: `quay.io/example/sidecar:1.${i % 7}` },
        },
        clusterValues: { china: { replicas: 2 } },
    }));
    const text = stringify({ version: 1, releases }, { lineWidth: 0 });
    const context = renderContext({ stacksDir: path.join(root, "stacks") });
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "crossborder-bench-render-"));
    try {
        const t0 = process.hrtime.bigint();
        const result = await renderTree({
            catalog: parseCatalog(text, "catalog.yaml"),
            ...context,
            charts: { cacheDir: path.join(out, "charts") },
            engine: { cache: new RenderCache(path.join(out, "renders")) },
        });
        writeTree(path.join(out, "gitops"), result.files);
        const t1 = process.hrtime.bigint();
        const report = await auditTree(path.join(out, "gitops"), {
            mirrors: context.mirrors,
            chartCache: path.join(out, "charts"),
            engine: { cache: new RenderCache(path.join(out, "renders")) },
        });
        const t2 = process.hrtime.bigint();
        console.log(
            JSON.stringify({
                releases: n,
                files: result.files.size,
                renderMs: Number(t1 - t0) / 1e6,
                auditMs: Number(t2 - t1) / 1e6,
                chinaCrossBorder: report.clusters.find((c) => c.name === "china")?.crossBorder,
                peakRssMiB: process.resourceUsage().maxRSS / 1024,
            }),
        );
    } finally {
        fs.rmSync(out, { recursive: true, force: true });
    }
}

void main();
