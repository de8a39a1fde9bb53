/** `crossborder bundle` and `crossborder bundle load` (gitops/bundle). */
import * as path from "path";
import { buildBundle, loadBundle } from "../gitops/bundle";
import { artifactOf, treeChartRepository } from "../gitops/publish";
import { defaultChartCache } from "../gitops/engine/charts";
import { RegistryClient } from "../gitops/registry/client";
import { publishTarget } from "./publish";
import { registryCredentials } from "./util";

export interface BundleCliOptions {
    readonly tree: string;
    readonly out: string;
    readonly charts?: string;
    readonly fromUpstream?: boolean;
    readonly sourceRegistry?: string;
    readonly plainHttp?: boolean;
    readonly stacksDir: string;
}

const progress = (line: string) => process.stderr.write(`${line}\n`);

export async function runBundle(opts: BundleCliOptions): Promise<string> {
    const target = publishTarget({ tree: opts.tree, cluster: "china", stacksDir: opts.stacksDir });
    const { artifact, charts } = await artifactOf(opts.tree, "china", target.meta);
    const m = await buildBundle({
        tree: opts.tree,
        out: opts.out,
        chartCache: opts.charts ?? defaultChartCache(),
        fromUpstream: opts.fromUpstream,
        sourceRegistry: opts.sourceRegistry,
        plainHttp: opts.plainHttp,
        artifacts: [
            { name: `${target.repository}:${target.followed}`, kind: "tree", artifact },
            ...charts.map((c) => ({
                name: `${treeChartRepository(target.repository, c.name)}:${c.version}`,
                kind: "chart" as const,
                artifact: c.artifact,
            })),
        ],
        progress,
    });
    const bytes = Object.values(m.blobs).reduce((a, b) => a + b, 0) + m.charts.reduce((a, c) => a + c.size, 0);
    return [
        `${opts.out}: ${m.images.length} images, ${m.charts.length} charts, ${m.artifacts.length} artifact(s), ${Object.keys(m.blobs).length} blobs, ${bytes} bytes`,
        `load it at the site: npx crossborder bundle load ${opts.out} --registry <site registry>`,
    ].join("\n");
}

export interface BundleLoadOptions {
    readonly registry: string;
    readonly plainHttp?: boolean;
}

export async function runBundleLoad(bundle: string, opts: BundleLoadOptions): Promise<string> {
    const client = new RegistryClient({
        plainHttp: () => Boolean(opts.plainHttp),
        credentials: registryCredentials(opts.registry),
    });
    const m = await loadBundle({ bundle, registry: opts.registry, plainHttp: opts.plainHttp, client, progress });
    const tree = m.artifacts.find((a) => a.kind === "tree");
    const http = opts.plainHttp ? " --plain-http" : "";
    return [
        `${opts.registry}: loaded ${m.images.length} images, ${m.charts.length} charts and ${m.artifacts.length} artifact(s), every digest checked`,
        "verify it:",
        `  npx crossborder verify-mirror --inventory ${path.join(bundle, "inventory", "images.txt")} --registry ${opts.registry} --no-compare-upstream${tree ? ` --artifact ${tree.name}@${tree.digest}` : ""}${http}`,
    ].join("\n");
}
