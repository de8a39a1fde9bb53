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
import { format, nameOf, parseRepositoryPrefix, Reference, tryParseImage } from "../core/reference";
import { Mirrors, rewriteReference } from "../core/mirrors";
import { pathString } from "../core/yaml-source";
import { Doc } from "./objects/manifests";

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
    const images: FoundImage[] = [];
    const warnings: string[] = [];
    const root = isObj(values) ? values : {};
    const global = isObj(root.global) ? root.global : {};
    const globalImageRegistry = str(global.imageRegistry);
    const globalImage = isObj(global.image) ? global.image : {};
    const certManagerRegistry = str(root.imageRegistry);
    const certManagerNamespace = str(root.imageNamespace);

    const add = (
        p: ValuesPath,
        shape: ImageShape,
        name: string,
        tag: string | undefined,
        digest: string | undefined,
        edits: FoundImage["edits"],
    ) => {
        const parsed = withTagDigest(name, tag, digest);
        if (!parsed) {
            warnings.push(
                `${pathString([...prefix, ...p])}: "${name}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}" looks like an image but is not a valid reference`,
            );
            return;
        }
        images.push({ path: [...prefix, ...p], shape, reference: parsed.ref, tagFrom: parsed.tagFrom, edits });
    };
    const at = (p: ValuesPath, key: string | number): ValuesPath => [...prefix, ...p, key];

    const visitObject = (node: Obj, p: ValuesPath): Set<string> => {
        const consumed = new Set<string>();
        const repository = str(node.repository);
        const registry = str(node.registry);
        const image = typeof node.image === "string" ? str(node.image) : undefined;
        const tag = str(node.tag);
        const digest = str(node.digest) ?? (str(node.sha) ? `sha256:${str(node.sha)}` : undefined);
        const inGlobal = p.length >= 1 && p[0] === "global";

        if (typeof node.name === "string" && "repository" in node && certManagerRegistry && !repository) {
            // cert-manager: repository = imageRegistry/imageNamespace/name unless repository is set.
            const name = [certManagerRegistry, certManagerNamespace, node.name].filter(Boolean).join("/");
            add(p, "name", name, tag, digest, (m) => [{ path: at(p, "repository"), value: `${m.domain}/${m.path}` }]);
            ["name", "repository", "tag", "digest"].forEach((k) => consumed.add(k));
        } else if (repository && registry !== undefined && !hasExplicitHost(repository)) {
            const effective = (inGlobal ? undefined : globalImageRegistry) ?? registry;
            add(p, "registry+repository", `${effective}/${repository}`, tag, digest, (m) => [
                { path: at(p, "registry"), value: m.domain },
                { path: at(p, "repository"), value: m.path },
                // `global` is shared with subcharts, so its edit is always at the root of the release's values.
                ...(globalImageRegistry && !inGlobal ? [{ path: ["global", "imageRegistry"], value: "" }] : []),
            ]);
            ["registry", "repository", "tag", "digest", "sha"].forEach((k) => consumed.add(k));
        } else if (
            repository &&
            registry === undefined &&
            image &&
            !/[/:@]/.test(image) &&
            parseRepositoryPrefix(repository)?.path
        ) {
            // Split over repository (host and path) and image (the last component).
            const name = `${repository.replace(/\/+$/, "")}/${image}`;
            add(p, "repository+image", name, str(node.version) ?? tag, digest, (m) => {
                const slash = m.path.lastIndexOf("/");
                return [
                    { path: at(p, "repository"), value: `${m.domain}${slash > 0 ? `/${m.path.slice(0, slash)}` : ""}` },
                    { path: at(p, "image"), value: m.path.slice(slash + 1) },
                ];
            });
            ["repository", "image", "version", "tag", "digest", "sha"].forEach((k) => consumed.add(k));
        } else if (repository) {
            add(p, "repository", repository, tag, digest, (m) => [
                { path: at(p, "repository"), value: `${m.domain}/${m.path}` },
            ]);
            ["repository", "tag", "digest", "sha"].forEach((k) => consumed.add(k));
        } else if (image && ("tag" in node || "digest" in node || "registry" in node)) {
            if (hasExplicitHost(image)) {
                add(p, "image+tag", image, tag, digest, (m) => [
                    { path: at(p, "image"), value: `${m.domain}/${m.path}` },
                ]);
            } else {
                const reg = registry ?? str(globalImage.registry) ?? "docker.io";
                const edits = (m: { domain: string; path: string }): ValueEdit[] => [
                    { path: at(p, "registry"), value: m.domain },
                    { path: at(p, "image"), value: m.path },
                ];
                add(p, "registry+image", `${reg}/${image}`, tag, digest, edits);
                // ingress-nginx: `chroot: true` renders "<image>-chroot" with digestChroot. The template derives
                // it from the same keys, so it needs no edits of its own: the mapped name of "<x>-chroot" is the
                // mapped name of "<x>" plus "-chroot" (the suffix's characters map to themselves), unless a flat
                // name is so long that it is cut and hashed; the border audit of the rendered tree catches that.
                const chrootDigest = str(node.digestChroot);
                if (chrootDigest) add(p, "registry+image", `${reg}/${image}-chroot`, tag, chrootDigest, () => []);
            }
            ["image", "registry", "tag", "digest", "digestChroot"].forEach((k) => consumed.add(k));
        }
        return consumed;
    };

    const visitString = (value: string, p: ValuesPath, key: string | number, keyed: boolean) => {
        const s = value.trim();
        if (!s || s.length > 512) return;
        if (keyed && typeof key === "string" && /image$/i.test(key) && !/\s/.test(s)) {
            const ref = tryParseImage(s);
            if (ref) {
                add([...p, key], "string", s, undefined, undefined, (m) => [
                    { path: at(p, key), value: format({ ...ref, ...m }) },
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
        add([...p, key], "argument", candidate, undefined, undefined, (m) => [
            { path: at(p, key), value: prefixText + format({ ...ref, ...m }) },
        ]);
    };

    const walk = (node: Json, p: ValuesPath) => {
        if (Array.isArray(node)) {
            node.forEach((item, i) =>
                typeof item === "string" ? visitString(item, p, i, false) : walk(item, [...p, i]),
            );
        } else if (isObj(node)) {
            const consumed = visitObject(node, p);
            for (const [k, v] of Object.entries(node)) {
                if (consumed.has(k)) continue;
                if (typeof v === "string") visitString(v, p, k, true);
                else walk(v, [...p, k]);
            }
        }
    };
    walk(root, []);
    return { images, warnings };
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
