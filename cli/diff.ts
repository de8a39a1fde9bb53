/**
 * `crossborder diff OLD NEW`: the change between two trees, cluster by cluster, as Flux would apply them
 * (gitops/diff.ts). OLD and NEW are folders, or `REVISION:PATH` of the Git repository the command runs in (a
 * fleet repository's history). Exit 0 when nothing changes, 1 when something does (so CI can comment on a
 * pull request), 2 when a tree cannot be read or built.
 */
import * as fs from "fs";
import * as path from "path";
import * as tar from "tar";
import { DEFAULT_CATALOG_FILE, loadCatalog } from "../gitops/catalog";
import { ContextOptions, loadMirrorsFor } from "../stacks/gitops-inputs";
import { diffText, diffTrees, DiffReport, hasChanges } from "../gitops/diff";
import { defaultChartCache, lockFileFor, readLock } from "../gitops/engine/charts";
import { firstLines, locateTool, removeTemporaryFolder, runTool, temporaryFolder } from "../gitops/engine/tools";
import { tryParseImage } from "../core/reference";
import { RegistryClient } from "../gitops/registry/client";
import type { Doc } from "../gitops/objects/manifests";
import { UsageError } from "./util";

export interface DiffCliOptions extends ContextOptions {
    readonly old: string;
    readonly new: string;
    readonly json?: boolean;
    readonly charts?: string;
    readonly catalog?: string;
    /** Ask the upstream registries how many bytes each image to copy is. @default false */
    readonly sizes?: boolean;
}

/** A side of the diff as a folder: itself, or a revision extracted with `git archive`. */
async function materialize(spec: string, work: string, which: string): Promise<string> {
    if (fs.existsSync(spec)) {
        if (!fs.statSync(spec).isDirectory())
            throw new UsageError(`diff: ${spec} is not a folder; give a tree's folder, or REVISION:PATH`);
        return spec;
    }
    const m = /^([^:]+):(.*)$/.exec(spec);
    if (!m)
        throw new UsageError(
            `diff: ${spec} is neither a folder nor REVISION:PATH (e.g. origin/main:fleet); give the old and the new tree`,
        );
    const [, rev, sub] = m;
    const archive = path.join(work, `${which}.tar`);
    const git = locateTool("git");
    const r = await runTool(git, ["archive", "--format=tar", "-o", archive, rev, "--", sub || "."], { purpose: "git" });
    if (r.code !== 0) throw new UsageError(`diff: git archive ${rev} ${sub}: ${firstLines(r.stderr, 3)}`);
    const dir = path.join(work, which);
    fs.mkdirSync(dir);
    await tar.x({ file: archive, cwd: dir });
    return path.join(dir, sub || ".");
}

/** Bytes of each image's layers and config, all platforms, asked of its upstream; unknown ones are left out. */
async function imageSizes(lines: readonly string[]): Promise<Map<string, number>> {
    const client = new RegistryClient({ retries: 1, timeoutMs: 10_000 });
    const sizes = new Map<string, number>();
    const sizeOf = async (host: string, repo: string, ref: string, depth = 0): Promise<number> => {
        const m = await client.getManifest(host, repo, ref);
        if (!m.found) throw new Error("not found");
        const doc: Doc = m.manifest;
        if (Array.isArray(doc.manifests) && depth === 0) {
            let n = 0;
            for (const child of doc.manifests)
                if (typeof child?.digest === "string") n += await sizeOf(host, repo, child.digest, 1);
            return n;
        }
        return [doc.config, ...(Array.isArray(doc.layers) ? doc.layers : [])].reduce(
            (n, b) => n + (Number(b?.size) || 0),
            0,
        );
    };
    for (const line of lines) {
        const ref = tryParseImage(line.split(/\s+/)[0].replace(/^docker:\/\//, ""));
        if (!ref) continue;
        try {
            sizes.set(line, await sizeOf(ref.domain, ref.path, ref.digest ?? ref.tag ?? "latest"));
        } catch {
            // unreachable or gone: the size is simply not shown
        }
    }
    return sizes;
}

export async function runDiff(opts: DiffCliOptions): Promise<{ text: string; code: number; report: DiffReport }> {
    const work = temporaryFolder("crossborder-diff-src-");
    try {
        const [oldRoot, newRoot] = [await materialize(opts.old, work, "old"), await materialize(opts.new, work, "new")];
        const catalog = loadCatalog(opts.catalog ?? DEFAULT_CATALOG_FILE);
        const report = await diffTrees(oldRoot, newRoot, {
            mirrors: loadMirrorsFor(opts),
            chartCache: opts.charts ?? defaultChartCache(),
            lock: readLock(lockFileFor(catalog.file)),
            flux: catalog.flux,
        });
        const sizes = opts.sizes ? await imageSizes(report.images.copy) : undefined;
        const code = report.problems.length ? 2 : hasChanges(report) ? 1 : 0;
        const text = opts.json
            ? JSON.stringify(
                  { ...report, ...(sizes ? { sizes: Object.fromEntries(sizes) } : {}), changes: hasChanges(report) },
                  null,
                  2,
              )
            : diffText(report, sizes);
        return { text, code, report };
    } finally {
        removeTemporaryFolder(work);
    }
}
