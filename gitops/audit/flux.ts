/**
 * A Flux Kustomization built as kustomize-controller builds it (fluxcd/pkg kustomize generator), with the
 * real kustomize:
 *
 *   1. `spec.path` is a path inside the source: absolute paths are taken from the source's root, and one
 *      that leaves the root is refused.
 *   2. A directory without a kustomization file gets one listing every .yaml/.yml file below it (hidden
 *      folders included), and each sub-directory that has its own kustomization file as a whole.
 *   3. The Kustomization's `targetNamespace`, `patches`, `patchesStrategicMerge`, `patchesJson6902` and
 *      `images` are merged into that kustomization.
 *   4. kustomize builds it; `postBuild` substitutes `${var}` from `substitute` and `substituteFrom`.
 *
 * Before building, every kustomization it reaches is read (in place, as the artifact holds it: view.ts) for
 * remote resources and paths that leave the source: those are refused rather than fetched. A build whose
 * inputs were built before is read back from the render cache; one that runs, runs on a private copy of the
 * tree (Flux writes into its own copy of the artifact too).
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml, parseAllDocuments, stringify } from "yaml";
import { cacheKey, RenderCache } from "../engine/cache";
import { firstLines, locateTool, runTool, toolVersion, ToolError } from "../engine/tools";
import { documentPieces, Doc, parseManifests, pieceValues, RenderedObject } from "../objects/manifests";
import { DISK, FileView, Workspace } from "./view";

export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const ORIGIN = "config.kubernetes.io/origin";
// logLevel error: a key that is a mapping is stringified silently; yaml would print a warning to the user.
const PARSE = { maxAliasCount: 100, logLevel: "error" } as const;

export interface FluxSpec {
    /** Kustomize components, paths relative to spec.path (kustomize-controller adds them to `components`). */
    readonly components?: unknown[];
    readonly targetNamespace?: string;
    readonly patches?: unknown[];
    readonly patchesStrategicMerge?: unknown[];
    readonly patchesJson6902?: unknown[];
    readonly images?: unknown[];
    readonly postBuild?: { readonly substitute?: Record<string, string> };
}

export interface BuiltObject extends RenderedObject {
    /** The tree file the object came from. */
    readonly file: string;
    /** `spec.decryption.provider` of the Flux Kustomization that applies it (sops), if any. */
    readonly decryption?: string;
    /** The Flux Kustomization that applies it (`Kustomization flux-system/apps`); undefined for the cluster's root. */
    readonly appliedBy?: string;
}

export interface FluxBuild {
    readonly objects: BuiltObject[];
    /** Why the path could not be built, or parts of it were refused. */
    readonly problems: string[];
}

/** `./apps/china`, `/apps/china` and `apps/china/` are the same path inside the source; undefined if it leaves it. */
export function sourcePath(p: string): string | undefined {
    const n = path.posix.normalize(`/${p.replace(/\\/g, "/")}`);
    if (n.split("/").includes("..")) return undefined;
    return n.replace(/^\/+/, "").replace(/\/+$/, "");
}

export function kustomizationFile(dir: string, view: FileView = DISK): string | undefined {
    for (const name of KUSTOMIZATION_FILES) {
        const f = path.join(dir, name);
        if (view.kind(f) === "file") return f;
    }
    return undefined;
}

const REMOTE = /^(?:[a-z][a-z0-9+.-]*:\/\/|git@|github\.com\/|gitlab\.com\/|bitbucket\.org\/)/i;

/** Every path a kustomization names: resources, components, patches, generators' files. */
function referencedPaths(k: Doc | undefined): string[] {
    const out: string[] = [];
    const add = (v: unknown) => {
        if (typeof v === "string") out.push(v);
    };
    for (const key of [
        "resources",
        "components",
        "bases",
        "crds",
        "configurations",
        "patchesStrategicMerge",
        "generators",
        "transformers",
        "validators",
    ])
        if (Array.isArray(k?.[key])) k[key].forEach(add);
    for (const key of ["patches", "patchesJson6902", "replacements"])
        if (Array.isArray(k?.[key])) for (const p of k[key]) add(p?.path);
    for (const key of ["configMapGenerator", "secretGenerator"])
        if (Array.isArray(k?.[key]))
            for (const g of k[key])
                for (const f of [...(g?.files ?? []), ...(g?.envs ?? []), ...(g?.env ? [g.env] : [])])
                    add(typeof f === "string" ? f.split("=").pop() : f);
    if (typeof k?.openapi?.path === "string") out.push(k.openapi.path);
    return out;
}

const MAX_INPUT = 32 * 1024 * 1024;

/**
 * The documents of the tree's files the audit has parsed already (tree.ts readTree), by their exact text: a
 * file of the build copy with the same text holds the same documents, so it is not parsed a second time.
 * Only files that parsed cleanly (strictly, within the alias limit) are there; any other is parsed here.
 */
export type ParsedTexts = ReadonlyMap<string, readonly unknown[]>;

/** What a build reads, and what it has learned on the way. */
interface Reach {
    /** Where the files are read: the tree as its artifact holds it, or a folder as it is. */
    readonly view: FileView;
    /** Every file and folder kustomize reads for the build (the build is cached by their content). */
    readonly read: Set<string>;
    /** The documents of each resource file, to trace built objects to their file (fileOf). */
    readonly resources: Map<string, readonly unknown[]>;
    /** The bytes of the files of `read` read on the way, which the build's key hashes (cachedBuild). */
    readonly bytes: Map<string, Buffer>;
    readonly parsed?: ParsedTexts;
}

/** A file as text, its bytes kept for the build's key. */
function readText(file: string, reach: Reach): string {
    const bytes = reach.view.read(file);
    reach.bytes.set(file, bytes);
    return bytes.toString("utf8");
}

/** The single document of a file that the tree read parsed cleanly; undefined when it was not one such. */
function knownDocument(parsed: ParsedTexts | undefined, text: string): { value: unknown } | undefined {
    const docs = parsed?.get(text);
    return docs?.length === 1 ? { value: docs[0] } : undefined;
}

/**
 * Why a file may not be handed to kustomize: too large, or YAML that expands beyond the alias limit (kustomize
 * would expand an alias bomb in a patch file without bound). Read with the same limits as every other file.
 */
function unsafeInput(file: string, docs: unknown[], reach: Reach): string | undefined {
    const size = reach.view.size(file);
    if (size > MAX_INPUT) return `${size} bytes, more than the ${MAX_INPUT} crossborder hands to kustomize`;
    const text = readText(file, reach);
    // Read already, within the same alias limit; without a merge key, reading merge keys changes nothing.
    const known = text.includes("<<") ? undefined : reach.parsed?.get(text);
    if (known) {
        docs.push(...known);
        return undefined;
    }
    try {
        // Merge keys (`<<: *base`) as kustomize's YAML reader applies them, so the objects are those it builds.
        for (const doc of parseAllDocuments(text, { logLevel: "silent", merge: true })) {
            if (doc.errors.length) return undefined; // kustomize refuses it and says why
            docs.push(doc.toJS(PARSE));
        }
    } catch (e) {
        return `cannot be read within the YAML limits (${(e as Error).message.split("\n")[0]}), so it is not handed to kustomize`;
    }
    return undefined;
}

/** Remote or escaping references of every kustomization a directory reaches (static: before building). */
function refusedReferences(root: string, dir: string, reach: Reach, seen = new Set<string>()): string[] {
    const { read, resources, parsed, view } = reach;
    if (seen.has(dir)) return [];
    seen.add(dir);
    read.add(dir); // its entries decide what kustomize finds there (which kustomization file, which files)
    const problems: string[] = [];
    const rel = (p: string) => path.relative(root, p) || ".";
    const kfile = kustomizationFile(dir, view);
    const subdirs: string[] = [];
    if (kfile) {
        read.add(kfile);
        let k: Doc | undefined;
        try {
            const text = readText(kfile, reach);
            const known = knownDocument(parsed, text);
            k = known ? (known.value as Doc | undefined) : parseYaml(text, PARSE);
        } catch (e) {
            return [`${rel(kfile)}: not readable YAML (${(e as Error).message.split("\n")[0]})`];
        }
        if (Array.isArray(k?.helmCharts) && k.helmCharts.length)
            problems.push(
                `${rel(kfile)}: helmCharts inflates charts kustomize-controller does not render; use a HelmRelease`,
            );
        const listed = new Set(
            ["resources", "bases"].flatMap((key) => (Array.isArray(k?.[key]) ? (k[key] as unknown[]) : [])),
        );
        for (const ref of referencedPaths(k)) {
            if (REMOTE.test(ref)) {
                problems.push(
                    `${rel(kfile)}: the remote resource ${ref} would be fetched at reconcile time from wherever it is hosted; keep every resource in the tree`,
                );
                continue;
            }
            if (ref.includes("\0")) {
                // No file name holds a NUL byte: kustomize cannot load it, and Node refuses the path outright.
                problems.push(
                    `${rel(kfile)}: ${JSON.stringify(ref)} holds a NUL byte, which no file name can; fix the reference`,
                );
                continue;
            }
            const target = path.resolve(dir, ref);
            if (target !== root && !target.startsWith(root + path.sep)) {
                problems.push(`${rel(kfile)}: ${ref} is outside the tree`);
                continue;
            }
            read.add(target); // also when it is missing: creating it changes the build
            const kind = view.kind(target);
            if (kind === "dir") subdirs.push(target);
            else if (kind === "file") {
                const docs: unknown[] = [];
                const why = unsafeInput(target, docs, reach);
                if (why) problems.push(`${rel(target)} (named by ${rel(kfile)}): ${why}`);
                if (listed.has(ref)) resources.set(target, docs);
            }
        }
    } else if (view.kind(dir) === "dir") {
        for (const f of generatedKustomization(dir, view).resources as string[]) {
            const target = path.join(dir, f);
            if (view.kind(target) !== "file") continue;
            read.add(target);
            const docs: unknown[] = [];
            const why = unsafeInput(target, docs, reach);
            if (why) problems.push(`${rel(target)}: ${why}`);
            resources.set(target, docs);
        }
        const walk = (d: string) => {
            for (const e of view.entries(d)) {
                if (!e.dir) continue;
                const sub = path.join(d, e.name);
                if (kustomizationFile(sub, view)) subdirs.push(sub);
                else walk(sub);
            }
        };
        walk(dir);
    }
    for (const s of subdirs) problems.push(...refusedReferences(root, s, reach, seen));
    return problems;
}

/** A Flux Kustomization's spec.components: each a directory of the tree, read like any kustomization. */
function refusedComponents(root: string, dir: string, components: unknown[] | undefined, reach: Reach): string[] {
    const problems: string[] = [];
    for (const c of Array.isArray(components) ? components : []) {
        if (typeof c !== "string") {
            problems.push(`spec.components holds ${JSON.stringify(c)}, not a path`);
            continue;
        }
        if (REMOTE.test(c)) {
            problems.push(
                `spec.components: the remote component ${c} would be fetched at reconcile time; keep every component in the tree`,
            );
            continue;
        }
        const target = path.resolve(dir, c);
        if (target !== root && !target.startsWith(root + path.sep))
            problems.push(`spec.components: ${c} is outside the tree`);
        else problems.push(...refusedReferences(root, target, reach));
    }
    return problems;
}

/** Flux's generated kustomization for a directory that has none. */
export function generatedKustomization(dir: string, view: FileView = DISK): Record<string, unknown> {
    const resources: string[] = [];
    const walk = (d: string) => {
        for (const e of view.entries(d)) {
            const p = path.join(d, e.name);
            if (e.dir) {
                if (kustomizationFile(p, view)) resources.push(path.relative(dir, p));
                else walk(p);
            } else if (/\.ya?ml$/.test(e.name)) resources.push(path.relative(dir, p));
        }
    };
    walk(dir);
    return { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources };
}

/** The kustomization Flux builds: the directory's own (or generated) with the Kustomization's spec merged in. */
function mergedKustomization(
    view: FileView,
    dir: string,
    spec: FluxSpec,
    parsed?: ParsedTexts,
): { file: string; text: string; original?: string } {
    const existing = kustomizationFile(dir, view);
    const original = existing ? view.read(existing).toString("utf8") : undefined;
    // The tree read's document is shared: merged into a copy of it.
    const known = original === undefined ? undefined : knownDocument(parsed, original);
    // The directory's own kustomization, when the Kustomization merges nothing into it: what Flux writes back
    // holds the same data, and kustomize reads the file as it is (writing it out again would cost more than
    // the build read back from the cache). Still read, so that one that is not YAML is said to be so.
    const merges =
        !!spec.targetNamespace ||
        (["components", "patches", "patchesStrategicMerge", "patchesJson6902", "images"] as const).some(
            (key) => Array.isArray(spec[key]) && spec[key]!.length > 0,
        );
    if (existing && !merges) {
        if (!known) parseYaml(original!, PARSE);
        return { file: existing, text: original!, original };
    }
    const k: Doc = existing
        ? ((known ? structuredClone(known.value) : parseYaml(original!, PARSE)) ?? {})
        : generatedKustomization(dir, view);
    if (spec.targetNamespace) k.namespace = spec.targetNamespace;
    if (Array.isArray(spec.components) && spec.components.length)
        k.components = [...(Array.isArray(k.components) ? k.components : []), ...spec.components];
    for (const key of ["patches", "patchesStrategicMerge", "patchesJson6902"] as const)
        if (Array.isArray(spec[key]) && spec[key]!.length)
            k[key] = [
                ...(Array.isArray(k[key]) ? k[key] : []),
                ...(spec[key] as Doc[]).map((p) =>
                    key === "patchesJson6902" && typeof p?.patch !== "string"
                        ? { ...p, patch: JSON.stringify(p.patch) }
                        : key === "patchesStrategicMerge"
                          ? stringify(p)
                          : p,
                ),
            ];
    if (Array.isArray(spec.images) && spec.images.length) {
        const images: Doc[] = Array.isArray(k.images) ? [...k.images] : [];
        for (const img of spec.images as Doc[]) {
            const i = images.findIndex((x) => x?.name === img?.name);
            if (i >= 0) images[i] = img;
            else images.push(img);
        }
        k.images = images;
    }
    // No buildMetadata originAnnotations to learn each object's file: kustomize v5 then spends minutes on a
    // build of a few hundred patched objects (200 apps: 150 s against 0.7 s without it); objects are traced
    // to the resource files they are named in instead (fileOf below).
    return { file: existing ?? path.join(dir, "kustomization.yaml"), text: stringify(k), original };
}

/**
 * Write a file of the build copy as a new file renamed over the old one, never into it: the copy's files
 * may be hard links to the tree's (copy.ts copyTree), which must not change.
 */
function replaceFile(file: string, text: string): void {
    const temp = `${file}.crossborder-${process.pid}`;
    fs.writeFileSync(temp, text);
    fs.renameSync(temp, file);
}

/** `${var}`, `${var:=default}`, `${var:-default}` as Flux's postBuild substitutes them. */
export function substitute(text: string, vars: Readonly<Record<string, string>>): string {
    return text.replace(
        /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[=-]([^}]*))?\}/g,
        (whole, name: string, dflt: string | undefined) => vars[name] ?? dflt ?? whole,
    );
}

/** A path inside the tree as the audit names files: relative to its root, with forward slashes. */
const treeRelative = (root: string, abs: string) => path.relative(root, abs).split(path.sep).join("/");

/**
 * Which resource file of a build an object comes from, by its kind and name (and namespace, when two files
 * name it): undefined when no single file does (generated, renamed by a prefix, or named twice).
 */
function fileOf(
    resources: ReadonlyMap<string, readonly unknown[]>,
    root: string,
): (o: RenderedObject) => string | undefined {
    const named = new Map<string, { file: string; namespace: unknown }[]>();
    // kustomize builds a List's items, not the List.
    const objectsOf = (docs: Doc[]): Doc[] =>
        docs.flatMap((d) => (d && /List$/.test(String(d.kind)) && Array.isArray(d.items) ? objectsOf(d.items) : [d]));
    for (const [abs, docs] of resources) {
        const file = treeRelative(root, abs);
        for (const d of objectsOf(docs as Doc[])) {
            if (!d || typeof d !== "object") continue;
            const key = `${String(d.kind)}/${String(d.metadata?.name)}`;
            named.set(key, [...(named.get(key) ?? []), { file, namespace: d.metadata?.namespace }]);
        }
    }
    return (o) => {
        const all = named.get(`${String(o.object.kind)}/${String(o.object.metadata?.name)}`) ?? [];
        const same = all.length > 1 ? all.filter((x) => x.namespace === o.object.metadata?.namespace) : all;
        const files = new Set((same.length ? same : all).map((x) => x.file));
        return files.size === 1 ? [...files][0] : undefined;
    };
}

/** The object with the tree file it comes from: kustomize's origin annotation when a kustomization asks for it. */
function withFile(o: RenderedObject, dir: string, root: string, traced: (o: RenderedObject) => string | undefined) {
    const annotations = o.object.metadata?.annotations;
    const origin =
        typeof annotations?.[ORIGIN] === "string" ? /path:\s*(.+)/.exec(annotations[ORIGIN])?.[1]?.trim() : undefined;
    if (annotations) {
        delete annotations[ORIGIN];
        if (Object.keys(annotations).length === 0) delete o.object.metadata.annotations;
    }
    const file = origin
        ? treeRelative(root, path.resolve(dir, origin))
        : (traced(o) ?? (path.relative(root, dir) || "."));
    return { ...o, file } satisfies BuiltObject;
}

/**
 * kustomize builds by the content they read: the merged kustomization, every file the build can reach (by
 * its path from the build's folder, which the output's origin annotations are relative to), and the kubectl
 * binary. An audit of a tree that changed in one folder builds only what reads that folder again. In memory,
 * for this process, within a byte budget.
 */
const BUILDS = new Map<string, { code: number; stdout: string; stderr: string }>();
const BUILD_BUDGET = 64 * 1024 * 1024;
let buildBytes = 0;

async function cachedBuild(
    dir: string,
    kustomization: string,
    reach: Reach,
    build: (kubectl: string) => Promise<Build>,
    cache?: RenderCache,
): Promise<ParsedBuild> {
    const kubectl = locateTool("kubectl");
    const st = fs.statSync(kubectl);
    const h = createHash("sha256").update(`${kubectl}\0${st.size}\0${st.mtimeMs}\0${kustomization}\0`);
    for (const f of [...reach.read].sort()) {
        h.update(`${path.relative(dir, f)}\0`);
        // A file read on the way is hashed by the bytes that were judged (the merged kustomization is above).
        const bytes = reach.bytes.get(f);
        if (bytes) {
            h.update(bytes).update("\0");
            continue;
        }
        const kind = reach.view.kind(f);
        if (!kind) h.update("<missing>");
        else if (kind === "dir") for (const e of reach.view.entries(f)) h.update(`${e.name}${e.dir ? "/" : ""}\n`);
        else h.update(reach.view.read(f));
        h.update("\0");
    }
    const key = h.digest("hex");
    // Across runs, a checked record of the render cache by the same content and the kubectl version; without
    // one (audit --strict reads no record), this process's own builds. The output names no folder: origins
    // are not asked for. A failure is kept by neither: its message names the folder it was built in, which is
    // another copy next time.
    const run = () => build(kubectl);
    return cache?.enabled ? keptBuild(cache, kubectl, key, run) : heldBuild(key, run);
}

type Build = { code: number | null; stdout: string; stderr: string };
/** A build and the parsed value of each piece of its output (manifests.ts pieceValues), when known. */
type ParsedBuild = Build & { values?: ([unknown] | null)[] };

/** The values of a record, when they are one per piece of its output, each a value in a box or null. */
function recordValues(values: unknown, stdout: string): ([unknown] | null)[] | undefined {
    if (!Array.isArray(values) || values.length !== documentPieces(stdout).length) return undefined;
    return values.every((v) => v === null || (Array.isArray(v) && v.length === 1)) ? values : undefined;
}

async function heldBuild(key: string, build: () => Promise<Build>) {
    const hit = BUILDS.get(key);
    if (hit) return hit;
    const r = await build();
    const size = r.stdout.length + r.stderr.length;
    if (r.code === 0 && size < BUILD_BUDGET) {
        while (buildBytes + size > BUILD_BUDGET && BUILDS.size) {
            const [oldest, v] = BUILDS.entries().next().value!;
            BUILDS.delete(oldest);
            buildBytes -= v.stdout.length + v.stderr.length;
        }
        BUILDS.set(key, { code: r.code ?? 1, stdout: r.stdout, stderr: r.stderr });
        buildBytes += size;
    }
    return r;
}

/**
 * A build kept in a checked record of the render cache, with its output's pieces parsed (JSON reads back in a
 * fraction of the time YAML takes). The parser's version is part of the record's key: another yaml library
 * may read a piece differently, and its records are not this one's.
 */
async function keptBuild(
    cache: RenderCache,
    kubectl: string,
    content: string,
    build: () => Promise<Build>,
): Promise<ParsedBuild> {
    const record = cacheKey({
        stage: "kustomize-build",
        kubectl: await toolVersion("kubectl", kubectl),
        yaml: (require("yaml/package.json") as { version: string }).version,
        content,
    });
    const kept = cache.get<{ code: number; stdout: string; stderr: string; values?: unknown }>(record, false);
    if (kept && kept.code === 0 && typeof kept.stdout === "string" && typeof kept.stderr === "string")
        return { code: 0, stdout: kept.stdout, stderr: kept.stderr, values: recordValues(kept.values, kept.stdout) };
    const r = await build();
    if (r.code !== 0) return r;
    const values = pieceValues(r.stdout);
    cache.set(record, { code: 0, stdout: r.stdout, stderr: r.stderr, values });
    return { ...r, values };
}

/**
 * Build `spec.path` of a Flux Kustomization of the workspace's tree; `parsed` holds the documents of files
 * read before (by their text), which are not parsed again.
 */
export async function buildFluxPath(
    ws: Workspace,
    kpath: string,
    spec: FluxSpec,
    vars: Readonly<Record<string, string>>,
    label: string,
    cache?: RenderCache,
    parsed?: ParsedTexts,
): Promise<FluxBuild> {
    const { root, view } = ws;
    const rel = sourcePath(kpath);
    if (rel === undefined) return { objects: [], problems: [`${label}: path "${kpath}" leaves the source`] };
    const dir = path.join(root, rel);
    if (view.kind(dir) !== "dir")
        return { objects: [], problems: [`${label}: path "${kpath}" is not a directory of the tree`] };
    // Every file kustomize reads for this build: the build is cached by their content (buildCache below).
    const reach: Reach = { view, read: new Set(), resources: new Map(), bytes: new Map(), parsed };
    const refused = [...refusedReferences(root, dir, reach), ...refusedComponents(root, dir, spec.components, reach)];
    if (refused.length) return { objects: [], problems: refused.map((p) => `${label}: ${p}`) };
    let merged: ReturnType<typeof mergedKustomization>;
    try {
        merged = mergedKustomization(view, dir, spec, parsed);
    } catch (e) {
        return {
            objects: [],
            problems: [
                `${label}: the kustomization of ${rel || "."} is not readable YAML (${(e as Error).message.split("\n")[0]})`,
            ],
        };
    }
    let r;
    try {
        r = await cachedBuild(dir, merged.text, reach, (kubectl) => runBuild(ws, rel, merged, kubectl), cache);
    } catch (e) {
        if (!(e instanceof ToolError) || /cannot run/.test(e.message)) throw e;
        return { objects: [], problems: [`${label}: kustomize could not build ${rel || "."}: ${e.message}`] };
    }
    if (r.code !== 0)
        return {
            objects: [],
            problems: [
                `${label}: kustomize could not build ${rel || "."}:\n${firstLines(r.stderr, 6).replace(/^/gm, "  | ")}`,
            ],
        };
    // Each document substituted on its own (the separators, at odd places of the split, kept as they are),
    // so a document no variable changed is the build's own text, whose value the build may know already.
    const text = r.stdout
        .split(/(^---[ \t]*$)/m)
        .map((d, i) =>
            i % 2 === 1 || /kustomize\.toolkit\.fluxcd\.io\/substitute:\s*["']?disabled/.test(d)
                ? d
                : substitute(d, vars),
        )
        .join("");
    const known = new Map<string, unknown[]>();
    if (r.values) {
        const pieces = documentPieces(r.stdout);
        r.values.forEach((v, i) => v && known.set(pieces[i], [...(known.get(pieces[i]) ?? []), v[0]]));
    }
    const traced = fileOf(reach.resources, root);
    const objects = parseManifests(text, `${label}: kustomize output`, known).map((o) =>
        withFile(o, dir, root, traced),
    );
    return { objects, problems: [] };
}

/**
 * kustomize on the folder `rel` of the workspace's build root, with the merged kustomization written there
 * (only when it differs from the folder's own) and put back afterwards: another Kustomization may build the
 * same folder with another spec.
 */
async function runBuild(
    ws: Workspace,
    rel: string,
    merged: { file: string; text: string; original?: string },
    kubectl: string,
): Promise<Build> {
    const dir = path.join(await ws.buildRoot(), rel);
    const file = path.join(dir, path.basename(merged.file));
    const rewritten = merged.text !== merged.original;
    if (rewritten) replaceFile(file, merged.text);
    try {
        return await runTool(kubectl, ["kustomize", "--load-restrictor", "LoadRestrictionsNone", dir], {
            purpose: "build",
        });
    } finally {
        if (merged.original === undefined) fs.rmSync(file, { force: true });
        else if (rewritten) replaceFile(file, merged.original);
    }
}
