/**
 * `crossborder bundle`: everything the china cluster needs, in one folder a site with no outbound traffic
 * can load, and `crossborder bundle load`, which pushes it into the site's registry.
 *
 *   images/        one OCI image layout holding every image of the tree's inventory under its China name
 *                  (`<namespace>/<name>:<tag>`), every platform of an index, digests unchanged (skopeo copy
 *                  --all --preserve-digests)
 *   charts/        every chart archive of inventory/charts.txt, the locked bytes
 *   tree/          an OCI layout of the china tree artifact, as `crossborder publish` builds it, and the tree's
 *                  own charts beside it
 *   inventory/     the tree's images.txt and charts.txt, to verify the site registry with verify-mirror
 *   bundle.json    what the bundle holds: each image, chart and artifact with its digest, every blob with its
 *                  size; written last, so a folder without it is an unfinished bundle, which is resumed
 *
 * Same inputs, same bytes: blobs are named by their digest, and every list is sorted. A bundle whose files
 * do not match bundle.json (a changed blob, a missing or extra one) is refused before anything is pushed.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { FindingsError, InputError } from "../../core/errors";
import { format } from "../../core/reference";
import { locateTool, runTool, firstLines } from "../engine/tools";
import { parseChartInventory, parseInventory } from "../registry/verify";
import type { RegistryClient } from "../registry/client";
import type { Artifact } from "../publish/artifact";

export const BUNDLE_FILE = "bundle.json";
const OCI_LAYOUT = JSON.stringify({ imageLayoutVersion: "1.0.0" });
const REF_NAME = "org.opencontainers.image.ref.name";

/** A bundle cannot be built or loaded as asked (exit 2). */
export class BundleError extends InputError {
    constructor(message: string) {
        super(message);
        this.name = "BundleError";
    }
}

/** A bundle whose contents do not match its manifest (exit 1): nothing was pushed. */
export class BundleRefused extends FindingsError {
    constructor(readonly problems: readonly string[]) {
        super(
            `refusing to load the bundle, nothing was pushed:\n${problems.map((p) => `  ${p}`).join("\n")}\nbuild it again with crossborder bundle, or copy it again from where it was built`,
        );
        this.name = "BundleRefused";
    }
}

export interface BundleManifest {
    readonly version: 1;
    readonly generator: "crossborder";
    /** Each image by its China name (no host: the site's registry takes it), with its upstream and digest. */
    readonly images: readonly { readonly name: string; readonly source: string; readonly digest: string }[];
    readonly charts: readonly {
        readonly file: string;
        /** The OCI repository path it is pushed to (helm push appends the chart's name to the parent). */
        readonly destination: string;
        readonly chart: string;
        readonly version: string;
        readonly sha256: string;
        readonly size: number;
    }[];
    /** The china tree artifact and its own charts, by repository:tag and manifest digest. */
    readonly artifacts: readonly { readonly name: string; readonly digest: string; readonly kind: "tree" | "chart" }[];
    /** Every blob of images/ and tree/, digest → size. */
    readonly blobs: Readonly<Record<string, number>>;
}

export interface BundleInput {
    /** A rendered tree (its inventory/ and the china artifact). */
    readonly tree: string;
    readonly out: string;
    readonly chartCache: string;
    /** Read images from the upstreams (the inventory's sources) instead of the origin registry. */
    readonly fromUpstream?: boolean;
    /** Read the origin's images from this host instead of the inventory's destination host. */
    readonly sourceRegistry?: string;
    readonly plainHttp?: boolean;
    /** The tree artifact and the tree's own charts, as publish would push them, each by repository:tag. */
    readonly artifacts: readonly {
        readonly name: string;
        readonly kind: "tree" | "chart";
        readonly artifact: Artifact;
    }[];
    readonly progress?: (line: string) => void;
}

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const byName = <T>(xs: T[], key: (x: T) => string) =>
    xs.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

function readIndex(layout: string): {
    manifests: { digest: string; size: number; mediaType: string; annotations?: Record<string, string> }[];
} {
    const file = path.join(layout, "index.json");
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : { manifests: [] };
}

/** A layout's index with its entries in name order: the same images give the same bytes. */
function writeIndex(layout: string, index: ReturnType<typeof readIndex>): void {
    byName(index.manifests, (m) => m.annotations?.[REF_NAME] ?? m.digest);
    fs.writeFileSync(path.join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, ...index }));
}

function blobsOf(layout: string): Record<string, number> {
    const dir = path.join(layout, "blobs", "sha256");
    const out: Record<string, number> = {};
    if (!fs.existsSync(dir)) return out;
    for (const f of fs.readdirSync(dir).sort()) out[`sha256:${f}`] = fs.statSync(path.join(dir, f)).size;
    return out;
}

async function skopeo(args: string[], what: string): Promise<void> {
    const r = await runTool(locateTool("skopeo"), args, { purpose: "copy" });
    if (r.code !== 0)
        throw new BundleError(`${what}: skopeo failed:\n${firstLines(r.stderr, 6).replace(/^/gm, "  | ")}`);
}

/** One image, every platform, digests kept, with skopeo's own retries. */
function copyImage(from: string, to: string, tls: readonly string[], what: string): Promise<void> {
    return skopeo(["copy", "--all", "--preserve-digests", "--retry-times", "3", ...tls, from, to], what);
}

/** Copy every image of the inventory into images/, skipping those an interrupted run already copied. */
async function bundleImages(input: BundleInput): Promise<BundleManifest["images"]> {
    const file = path.join(input.tree, "inventory", "images.txt");
    if (!fs.existsSync(file))
        throw new BundleError(`${file}: missing; bundle a tree crossborder render (or adopt) wrote`);
    const entries = parseInventory(fs.readFileSync(file, "utf8"), file);
    const layout = path.join(input.out, "images");
    fs.mkdirSync(layout, { recursive: true });
    fs.writeFileSync(path.join(layout, "oci-layout"), OCI_LAYOUT);
    const out: { name: string; source: string; digest: string }[] = [];
    for (const [i, e] of entries.entries()) {
        const d = e.destination;
        const name = `${d.path}:${d.tag ?? d.digest!.replace(":", "-")}`;
        const done = readIndex(layout).manifests.find((m) => m.annotations?.[REF_NAME] === name);
        const from = input.fromUpstream
            ? format(e.source)
            : `${input.sourceRegistry ?? d.domain}/${d.path}${d.tag ? `:${d.tag}` : `@${d.digest}`}`;
        if (!done) {
            input.progress?.(`[${i + 1}/${entries.length}] ${from} -> images:${name}`);
            await copyImage(
                `docker://${from}`,
                `oci:${layout}:${name}`,
                input.plainHttp ? ["--src-tls-verify=false"] : [],
                `image ${from}`,
            );
        } else input.progress?.(`[${i + 1}/${entries.length}] images:${name} (already in the bundle)`);
        const m = readIndex(layout).manifests.find((x) => x.annotations?.[REF_NAME] === name);
        if (!m) throw new BundleError(`image ${from}: skopeo wrote no images:${name}`);
        const pinned = e.source.digest ?? d.digest;
        if (pinned && m.digest !== pinned)
            throw new BundleError(`image ${from}: its digest is ${m.digest}, but the inventory pins ${pinned}`);
        out.push({ name, source: format(e.source), digest: m.digest });
    }
    // skopeo writes the layout's marker file in a form of its own: one form, whichever run copied last.
    fs.writeFileSync(path.join(layout, "oci-layout"), OCI_LAYOUT);
    writeIndex(layout, readIndex(layout));
    return byName(out, (x) => x.name);
}

/** Copy every chart archive of charts.txt from the cache, checked against its locked sha256. */
function bundleCharts(input: BundleInput): BundleManifest["charts"] {
    const file = path.join(input.tree, "inventory", "charts.txt");
    if (!fs.existsSync(file)) return [];
    const out: BundleManifest["charts"][number][] = [];
    fs.mkdirSync(path.join(input.out, "charts"), { recursive: true });
    for (const e of parseChartInventory(fs.readFileSync(file, "utf8"), file)) {
        const label = `${e.repository} ${e.chart} ${e.version}`;
        if (!e.sha256)
            throw new BundleError(`${file}:${e.line}: chart ${label} was never pulled; run crossborder charts pull`);
        const archive = path.join(input.chartCache, e.archive);
        if (!fs.existsSync(archive))
            throw new BundleError(
                `${file}:${e.line}: chart ${label}: ${archive} is not in the chart cache; run crossborder charts pull`,
            );
        const bytes = fs.readFileSync(archive);
        if (sha256(bytes) !== `sha256:${e.sha256}`)
            throw new BundleError(
                `${archive}: sha256 ${sha256(bytes)} is not the locked sha256:${e.sha256} of ${label}`,
            );
        const name = `charts/${e.chart}-${e.version}.tgz`;
        fs.writeFileSync(path.join(input.out, name), bytes);
        out.push({
            file: name,
            destination: e.path,
            chart: e.chart,
            version: e.version,
            sha256: e.sha256,
            size: bytes.length,
        });
    }
    return byName(out, (c) => c.file);
}

/** The tree artifact and the tree's charts as an OCI layout. */
function bundleArtifacts(input: BundleInput): BundleManifest["artifacts"] {
    const layout = path.join(input.out, "tree");
    fs.mkdirSync(path.join(layout, "blobs", "sha256"), { recursive: true });
    fs.writeFileSync(path.join(layout, "oci-layout"), OCI_LAYOUT);
    const manifests: { mediaType: string; digest: string; size: number; annotations: Record<string, string> }[] = [];
    for (const { name, artifact: a } of input.artifacts) {
        for (const b of [a.config, a.layer, a.manifest])
            fs.writeFileSync(path.join(layout, "blobs", "sha256", b.digest.slice("sha256:".length)), b.bytes);
        manifests.push({
            mediaType: a.manifest.mediaType,
            digest: a.manifest.digest,
            size: a.manifest.bytes.length,
            annotations: { [REF_NAME]: name },
        });
    }
    writeIndex(layout, { manifests });
    return byName(
        input.artifacts.map(({ name, kind, artifact }) => ({ name, kind, digest: artifact.manifest.digest })),
        (a) => a.name,
    );
}

export async function buildBundle(input: BundleInput): Promise<BundleManifest> {
    if (
        fs.existsSync(input.out) &&
        fs.readdirSync(input.out).length &&
        !fs.existsSync(path.join(input.out, "images")) &&
        !fs.existsSync(path.join(input.out, BUNDLE_FILE))
    )
        throw new BundleError(`${input.out}: not empty and not a bundle; choose an empty folder`);
    fs.mkdirSync(input.out, { recursive: true });
    fs.rmSync(path.join(input.out, BUNDLE_FILE), { force: true });
    // Charts first: a chart never pulled stops the run before the long image copy.
    const charts = bundleCharts(input);
    const images = await bundleImages(input);
    const artifacts = bundleArtifacts(input);
    fs.mkdirSync(path.join(input.out, "inventory"), { recursive: true });
    for (const f of ["images.txt", "charts.txt"]) {
        const src = path.join(input.tree, "inventory", f);
        if (fs.existsSync(src)) fs.copyFileSync(src, path.join(input.out, "inventory", f));
    }
    const blobs = { ...blobsOf(path.join(input.out, "images")), ...blobsOf(path.join(input.out, "tree")) };
    const manifest: BundleManifest = {
        version: 1,
        generator: "crossborder",
        images,
        charts,
        artifacts,
        blobs: Object.fromEntries(Object.entries(blobs).sort(([a], [b]) => (a < b ? -1 : 1))),
    };
    const file = path.join(input.out, BUNDLE_FILE);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(manifest, null, 2) + "\n");
    fs.renameSync(`${file}.tmp`, file);
    return manifest;
}

/** bundle.json, read and checked for shape. */
export function readBundle(dir: string): BundleManifest {
    const file = path.join(dir, BUNDLE_FILE);
    if (!fs.existsSync(file))
        throw new BundleError(
            `${dir}: no ${BUNDLE_FILE}; give the folder crossborder bundle wrote (an interrupted bundle has none: run crossborder bundle again to finish it)`,
        );
    let m: BundleManifest;
    try {
        m = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new BundleError(`${file}: not JSON (${(e as Error).message})`);
    }
    if (
        m?.version !== 1 ||
        !Array.isArray(m.images) ||
        !Array.isArray(m.charts) ||
        !Array.isArray(m.artifacts) ||
        typeof m.blobs !== "object"
    )
        throw new BundleError(`${file}: not a crossborder bundle manifest (version 1)`);
    return m;
}

/**
 * Every problem with a bundle's contents against its manifest: a blob whose bytes are not its digest or not
 * its size, a blob missing or not listed, an image or artifact missing from its layout, a chart whose sha256
 * differs. Read before anything is pushed.
 */
export function bundleProblems(dir: string, m: BundleManifest): string[] {
    const problems: string[] = [];
    const present: Record<string, number> = {
        ...blobsOf(path.join(dir, "images")),
        ...blobsOf(path.join(dir, "tree")),
    };
    for (const [digest, size] of Object.entries(m.blobs)) {
        const hex = digest.replace(/^sha256:/, "");
        const where = ["images", "tree"]
            .map((l) => path.join(dir, l, "blobs", "sha256", hex))
            .find((f) => fs.existsSync(f));
        if (!where) {
            problems.push(`${digest}: listed in ${BUNDLE_FILE}, missing from images/ and tree/`);
            continue;
        }
        const bytes = fs.readFileSync(where);
        if (bytes.length !== size)
            problems.push(`${path.relative(dir, where)}: ${bytes.length} bytes, ${BUNDLE_FILE} says ${size}`);
        if (sha256(bytes) !== digest)
            problems.push(
                `${path.relative(dir, where)}: its bytes are ${sha256(bytes)}, not the digest it is named by`,
            );
    }
    for (const digest of Object.keys(present))
        if (!(digest in m.blobs)) problems.push(`${digest}: a blob ${BUNDLE_FILE} does not list`);
    const names = new Map(
        ["images", "tree"].flatMap((l) =>
            readIndex(path.join(dir, l)).manifests.map((x) => [x.annotations?.[REF_NAME] ?? "", x.digest] as const),
        ),
    );
    for (const i of [...m.images, ...m.artifacts]) {
        const d = names.get(i.name);
        if (d === undefined) problems.push(`${i.name}: listed in ${BUNDLE_FILE}, not in the bundle's layouts`);
        else if (d !== i.digest) problems.push(`${i.name}: the layout holds ${d}, ${BUNDLE_FILE} says ${i.digest}`);
    }
    for (const c of m.charts) {
        const f = path.join(dir, c.file);
        if (!fs.existsSync(f)) problems.push(`${c.file}: missing`);
        else if (sha256(fs.readFileSync(f)) !== `sha256:${c.sha256}`)
            problems.push(`${c.file}: not the sha256 ${c.sha256} ${BUNDLE_FILE} says`);
    }
    return problems;
}

export interface LoadInput {
    readonly bundle: string;
    readonly registry: string;
    readonly plainHttp?: boolean;
    readonly client: RegistryClient;
    readonly progress?: (line: string) => void;
}

/** Verify the bundle, then push images, charts and last the tree artifact into the site registry. */
export async function loadBundle(input: LoadInput): Promise<BundleManifest> {
    const m = readBundle(input.bundle);
    const problems = bundleProblems(input.bundle, m);
    if (problems.length) throw new BundleRefused(problems);
    const tls = input.plainHttp ? ["--dest-tls-verify=false"] : [];
    for (const [i, img] of m.images.entries()) {
        input.progress?.(`[${i + 1}/${m.images.length}] images:${img.name} -> ${input.registry}/${img.name}`);
        // skopeo asks the registry for each blob first: what an interrupted load pushed is not sent again.
        await copyImage(
            `oci:${path.join(input.bundle, "images")}:${img.name}`,
            `docker://${input.registry}/${img.name}`,
            tls,
            `image ${img.name}`,
        );
    }
    for (const c of m.charts) {
        input.progress?.(`chart ${c.file} -> oci://${input.registry}/${c.destination}`);
        const parent = path.posix.dirname(c.destination);
        const r = await runTool(
            locateTool("helm"),
            [
                "push",
                path.join(input.bundle, c.file),
                `oci://${input.registry}/${parent}`,
                ...(input.plainHttp ? ["--plain-http"] : []),
            ],
            { purpose: "copy" },
        );
        if (r.code !== 0)
            throw new BundleError(
                `chart ${c.file}: helm push failed:\n${firstLines(r.stderr, 6).replace(/^/gm, "  | ")}`,
            );
    }
    // The tree last: it never names an image or chart the site registry does not hold yet.
    const tree = path.join(input.bundle, "tree");
    const artifacts = [
        ...m.artifacts.filter((a) => a.kind !== "tree"),
        ...m.artifacts.filter((a) => a.kind === "tree"),
    ];
    for (const a of artifacts) {
        input.progress?.(`artifact ${a.name}@${a.digest} -> ${input.registry}`);
        const colon = a.name.lastIndexOf(":");
        const repository = a.name.slice(0, colon);
        const manifest = fs.readFileSync(path.join(tree, "blobs", "sha256", a.digest.slice("sha256:".length)));
        const doc = JSON.parse(manifest.toString("utf8"));
        for (const b of [doc.config, ...doc.layers])
            await input.client.pushBlob(
                input.registry,
                repository,
                b.digest,
                fs.readFileSync(path.join(tree, "blobs", "sha256", b.digest.slice("sha256:".length))),
            );
        await input.client.pushManifest(input.registry, repository, a.name.slice(colon + 1), doc.mediaType, manifest);
    }
    return m;
}
