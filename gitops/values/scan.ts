/**
 * Finding every container image in a Helm values tree, and the minimal override values that move each
 * one to the China side.
 *
 * The shapes charts use (all found in ../shared/corpus/charts):
 *   registry+repository   {registry, repository, tag, digest|sha}   grafana, kube-prometheus-stack, bitnami;
 *                          `global.imageRegistry`, when set, replaces every block's registry
 *   repository            {repository, tag, digest}; repository may carry the registry host  argo-cd, metrics-server
 *   image+tag             {image, tag, digest} with `image` a full repository                flux2, redis-ha
 *   registry+image        {registry?, image, tag, digest, digestChroot?}; registry defaults to
 *                          `global.image.registry`                                           ingress-nginx
 *   name                  {name, repository: ""} composed from top-level imageRegistry/imageNamespace  cert-manager
 *   repository+image      {repository: host/path, image: name, version?} joined as repository/image:version
 *                          (the tag defaults to appVersion)                                    gpu-operator
 *   string                `image: "repo:tag"` (any key ending in "image")
 *   argument              a string anywhere (args, env) that is an image reference with a registry host and a
 *                          tag or digest, alone or as the value of `--flag=`
 * A block with an empty repository inherits another block's image (argo-cd's components fall back to
 * `global.image`) and is not an image of its own. A tag left empty means the chart supplies it (usually
 * from Chart.yaml appVersion): the registry and repository are still rewritten, the tag is not touched.
 */
import { format, nameOf, parseRepositoryPrefix, Reference, tryParseImage } from "../../core/reference";
import { Mirrors, rewriteReference } from "../../core/mirrors";
import { pathString } from "../../core/yaml-source";
import { Doc } from "../objects/manifests";

export type ValuesPath = readonly (string | number)[];

export type ImageShape =
    | "registry+repository"
    | "repository"
    | "repository+image"
    | "image+tag"
    | "registry+image"
    | "name"
    | "string"
    | "argument";

export interface FoundImage {
    /** Where the image is set: the block (or string) in the values tree. */
    readonly path: ValuesPath;
    readonly shape: ImageShape;
    /** The normalised reference as the chart would render it; tag/digest undefined when the chart supplies them. */
    readonly reference: Reference;
    /** Where the tag comes from: the values, or the chart (appVersion or a template default). */
    readonly tagFrom: "values" | "chart";
    /** Value edits that move the image to `mapped` (a China-side repository), tag and digest kept. */
    readonly edits: (mapped: { domain: string; path: string }) => ValueEdit[];
}

export interface ValueEdit {
    readonly path: ValuesPath;
    readonly value: unknown;
}

type Json = unknown;
type Obj = Record<string, Json>;

function isObj(v: Json): v is Obj {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

function str(v: Json): string | undefined {
    return typeof v === "string" && v.trim() !== "" ? v.trim() : typeof v === "number" ? String(v) : undefined;
}

/** True when `s` names its registry explicitly (first component has "." or ":" or is localhost). */
function hasExplicitHost(s: string): boolean {
    const first = s.split("/")[0];
    return s.includes("/") && (/[.:]/.test(first) || first === "localhost");
}

function withTagDigest(
    name: string,
    tag: string | undefined,
    digest: string | undefined,
): { ref: Reference; tagFrom: "values" | "chart" } | undefined {
    let t = tag;
    let d = digest;
    // flux2's helper renders "image@tag" when the tag is a digest.
    if (t && /^sha256:[a-f0-9]{64}$/.test(t)) [t, d] = [undefined, d ?? t];
    if (d && !d.startsWith("sha256:") && /^[a-f0-9]{64}$/.test(d)) d = `sha256:${d}`;
    const text = name + (t ? `:${t}` : "") + (d ? `@${d}` : "");
    const ref = tryParseImage(text) ?? (t || d ? undefined : tryParseImage(name));
    if (!ref) return undefined;
    // A tag written inside the image string ("repo:1.2") comes from the values as much as a tag key does.
    return { ref, tagFrom: ref.tag !== undefined || ref.digest !== undefined ? "values" : "chart" };
}

export interface ScanResult {
    readonly images: FoundImage[];
    /** Strings that looked like images but did not parse: reported, never silently dropped. */
    readonly warnings: string[];
}

/** Find every image in a values tree. `prefix` places the tree inside a parent's values (subcharts). */
export function scanValues(values: Json, prefix: ValuesPath = []): ScanResult {
    const scan = new ValuesScan(isObj(values) ? values : {}, prefix);
    scan.walk(scan.root, []);
    return { images: scan.images, warnings: scan.warnings };
}

/** The keys of one values object that can make up an image, read once. */
type ImageFields = {
    readonly repository?: string;
    readonly registry?: string;
    readonly image?: string;
    readonly tag?: string;
    readonly digest?: string;
    readonly inGlobal: boolean;
};

/** One scan of a values tree: the images found, the warnings, and what the chart's globals say. */
class ValuesScan {
    readonly images: FoundImage[] = [];
    readonly warnings: string[] = [];
    private readonly globalImageRegistry: string | undefined;
    private readonly globalImage: Obj;
    private readonly certManagerRegistry: string | undefined;
    private readonly certManagerNamespace: string | undefined;

    constructor(
        readonly root: Obj,
        private readonly prefix: ValuesPath,
    ) {
        const global = isObj(root.global) ? root.global : {};
        this.globalImageRegistry = str(global.imageRegistry);
        this.globalImage = isObj(global.image) ? global.image : {};
        this.certManagerRegistry = str(root.imageRegistry);
        this.certManagerNamespace = str(root.imageNamespace);
    }

    private add(
        p: ValuesPath,
        shape: ImageShape,
        name: string,
        tag: string | undefined,
        digest: string | undefined,
        edits: FoundImage["edits"],
    ): void {
        const parsed = withTagDigest(name, tag, digest);
        if (!parsed) {
            this.warnings.push(
                `${pathString([...this.prefix, ...p])}: "${name}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}" looks like an image but is not a valid reference`,
            );
            return;
        }
        this.images.push({
            path: [...this.prefix, ...p],
            shape,
            reference: parsed.ref,
            tagFrom: parsed.tagFrom,
            edits,
        });
    }

    private at(p: ValuesPath, key: string | number): ValuesPath {
        return [...this.prefix, ...p, key];
    }

    /** The keys of `node` that make up an image in one of the shapes charts use; those keys are consumed. */
    private visitObject(node: Obj, p: ValuesPath): Set<string> {
        const n: ImageFields = {
            repository: str(node.repository),
            registry: str(node.registry),
            image: typeof node.image === "string" ? str(node.image) : undefined,
            tag: str(node.tag),
            digest: str(node.digest) ?? (str(node.sha) ? `sha256:${str(node.sha)}` : undefined),
            inGlobal: p.length >= 1 && p[0] === "global",
        };
        const { repository, registry, image, tag, digest } = n;
        if (typeof node.name === "string" && "repository" in node && this.certManagerRegistry && !repository) {
            // cert-manager: repository = imageRegistry/imageNamespace/name unless repository is set.
            const name = [this.certManagerRegistry, this.certManagerNamespace, node.name].filter(Boolean).join("/");
            this.add(p, "name", name, tag, digest, (m) => [
                { path: this.at(p, "repository"), value: `${m.domain}/${m.path}` },
            ]);
            return new Set(["name", "repository", "tag", "digest"]);
        }
        if (repository && registry !== undefined && !hasExplicitHost(repository)) return this.registryRepository(n, p);
        if (
            repository &&
            registry === undefined &&
            image &&
            !/[/:@]/.test(image) &&
            parseRepositoryPrefix(repository)?.path
        )
            return this.repositoryImage(node, n, p);
        if (repository) {
            this.add(p, "repository", repository, tag, digest, (m) => [
                { path: this.at(p, "repository"), value: `${m.domain}/${m.path}` },
            ]);
            return new Set(["repository", "tag", "digest", "sha"]);
        }
        if (image && ("tag" in node || "digest" in node || "registry" in node)) return this.imageAndTag(node, n, p);
        return new Set();
    }

    /** `registry` + `repository` (Bitnami and many more); `global.imageRegistry` wins outside `global`. */
    private registryRepository(n: ImageFields, p: ValuesPath): Set<string> {
        const effective = (n.inGlobal ? undefined : this.globalImageRegistry) ?? n.registry;
        this.add(p, "registry+repository", `${effective}/${n.repository}`, n.tag, n.digest, (m) => [
            { path: this.at(p, "registry"), value: m.domain },
            { path: this.at(p, "repository"), value: m.path },
            // `global` is shared with subcharts, so its edit is always at the root of the release's values.
            ...(this.globalImageRegistry && !n.inGlobal ? [{ path: ["global", "imageRegistry"], value: "" }] : []),
        ]);
        return new Set(["registry", "repository", "tag", "digest", "sha"]);
    }

    /** Split over repository (host and path) and image (the last component), with version or tag. */
    private repositoryImage(node: Obj, n: ImageFields, p: ValuesPath): Set<string> {
        const name = `${n.repository!.replace(/\/+$/, "")}/${n.image}`;
        this.add(p, "repository+image", name, str(node.version) ?? n.tag, n.digest, (m) => {
            const slash = m.path.lastIndexOf("/");
            return [
                {
                    path: this.at(p, "repository"),
                    value: `${m.domain}${slash > 0 ? `/${m.path.slice(0, slash)}` : ""}`,
                },
                { path: this.at(p, "image"), value: m.path.slice(slash + 1) },
            ];
        });
        return new Set(["repository", "image", "version", "tag", "digest", "sha"]);
    }

    /** `image` with `tag`/`digest`, and a `registry` beside it unless the image names its host. */
    private imageAndTag(node: Obj, n: ImageFields, p: ValuesPath): Set<string> {
        const image = n.image!;
        if (hasExplicitHost(image)) {
            this.add(p, "image+tag", image, n.tag, n.digest, (m) => [
                { path: this.at(p, "image"), value: `${m.domain}/${m.path}` },
            ]);
        } else {
            const reg = n.registry ?? str(this.globalImage.registry) ?? "docker.io";
            const edits = (m: { domain: string; path: string }): ValueEdit[] => [
                { path: this.at(p, "registry"), value: m.domain },
                { path: this.at(p, "image"), value: m.path },
            ];
            this.add(p, "registry+image", `${reg}/${image}`, n.tag, n.digest, edits);
            // ingress-nginx: `chroot: true` renders "<image>-chroot" with digestChroot. The template derives
            // it from the same keys, so it needs no edits of its own: the mapped name of "<x>-chroot" is the
            // mapped name of "<x>" plus "-chroot" (the suffix's characters map to themselves), unless a flat
            // name is so long that it is cut and hashed; the border audit of the rendered tree catches that.
            const chrootDigest = str(node.digestChroot);
            if (chrootDigest) this.add(p, "registry+image", `${reg}/${image}-chroot`, n.tag, chrootDigest, () => []);
        }
        return new Set(["image", "registry", "tag", "digest", "digestChroot"]);
    }

    private visitString(value: string, p: ValuesPath, key: string | number, keyed: boolean): void {
        const s = value.trim();
        if (!s || s.length > 512) return;
        if (keyed && typeof key === "string" && /image$/i.test(key) && !/\s/.test(s)) {
            const ref = tryParseImage(s);
            if (ref) {
                this.add([...p, key], "string", s, undefined, undefined, (m) => [
                    { path: this.at(p, key), value: format({ ...ref, ...m }) },
                ]);
                return;
            }
        }
        // An argument: "--flag=<image>" or a bare image with an explicit registry host and a tag/digest.
        const eq = s.startsWith("-") ? s.indexOf("=") : -1;
        const candidate = eq > 0 ? s.slice(eq + 1) : s;
        if (!hasExplicitHost(candidate) || !/[:@]/.test(candidate.slice(candidate.lastIndexOf("/")))) return;
        const ref = tryParseImage(candidate);
        if (!ref || (ref.tag === undefined && ref.digest === undefined)) return;
        const prefixText = eq > 0 ? s.slice(0, eq + 1) : "";
        this.add([...p, key], "argument", candidate, undefined, undefined, (m) => [
            { path: this.at(p, key), value: prefixText + format({ ...ref, ...m }) },
        ]);
    }

    walk(node: Json, p: ValuesPath): void {
        if (Array.isArray(node)) {
            node.forEach((item, i) =>
                typeof item === "string" ? this.visitString(item, p, i, false) : this.walk(item, [...p, i]),
            );
        } else if (isObj(node)) {
            const consumed = this.visitObject(node, p);
            for (const [k, v] of Object.entries(node)) {
                if (consumed.has(k)) continue;
                if (typeof v === "string") this.visitString(v, p, k, true);
                else this.walk(v, [...p, k]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Overrides

/** Set `value` at `path` in `overrides`; an array on the way is copied whole from `base` (Helm replaces arrays). */
function setPath(overrides: Obj, base: Json, path: ValuesPath, value: unknown): void {
    let o: Doc = overrides;
    let b: Doc | undefined = base as Doc | undefined;
    for (let i = 0; i < path.length - 1; i++) {
        const k = path[i];
        b = b?.[k];
        if (Array.isArray(b)) {
            if (!Array.isArray(o[k])) o[k] = structuredClone(b);
            // Inside a copied array every edit lands in the copy.
            let inner: Doc = o[k];
            for (let j = i + 1; j < path.length - 1; j++) inner = inner[path[j]];
            inner[path[path.length - 1]] = value;
            return;
        }
        if (!isObj(o[k])) o[k] = {};
        o = o[k];
    }
    o[path[path.length - 1]] = value;
}

export interface RewrittenImage {
    readonly image: FoundImage;
    readonly original: string;
    readonly rewritten: string;
}

export interface Rewrite {
    readonly images: RewrittenImage[];
    /** The minimal values a HelmRelease needs so that every image comes from the China side. */
    readonly overrides: Obj;
}

/** Rewrite every found image through `mirrors` and collect the override values. */
export function rewriteValues(values: Json, found: readonly FoundImage[], mirrors: Mirrors): Rewrite {
    const overrides: Obj = {};
    const images: RewrittenImage[] = [];
    for (const image of found) {
        const rewritten = rewriteReference(mirrors, image.reference);
        images.push({ image, original: format(image.reference), rewritten: format(rewritten) });
        if (nameOf(rewritten) === nameOf(image.reference)) continue; // already inside China
        for (const edit of image.edits({ domain: rewritten.domain, path: rewritten.path }))
            setPath(overrides, values, edit.path, edit.value);
    }
    return { images, overrides };
}

/**
 * Helm's two merges of values, which treat null differently, as Helm does:
 *
 *   mergeValues     layers values over values: `helm -f a.yaml -f b.yaml` (Helm's pkg/cli/values
 *                   mergeMaps) and a HelmRelease's valuesFrom then values (Flux's transform.MergeMaps in
 *                   ChartValuesFromReferences). Maps merge deeply, everything else replaces, and a null
 *                   is kept: it is an instruction to the next step, to delete the chart's default.
 *   coalesceValues  user values over the chart's defaults, as templates see them (chartutil
 *                   CoalesceValues): a null deletes the key.
 *
 * test/gitops/values.test.ts checks both against `helm template`.
 */
export function mergeValues(base: Json, over: Json): Json {
    return merge(base, over, false);
}

export function coalesceValues(chartDefaults: Json, user: Json): Json {
    return merge(chartDefaults, user, true);
}

function merge(base: Json, over: Json, nullDeletes: boolean): Json {
    if (!isObj(base) || !isObj(over)) return over === undefined ? structuredClone(base) : structuredClone(over);
    const out: Obj = structuredClone(base);
    for (const [k, v] of Object.entries(over)) {
        if (v === null && nullDeletes) delete out[k];
        else out[k] = isObj(v) && isObj(out[k]) ? merge(out[k], v, nullDeletes) : structuredClone(v);
    }
    return out;
}
