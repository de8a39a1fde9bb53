/**
 * Every image reference in rendered Kubernetes objects, with the exact place it sits, so that it can be
 * judged (inside China or not), rewritten (a post-renderer `images` entry or a JSON 6902 patch at that
 * place) and copied (the inventory). What counts as an image:
 *
 *   container   `image` of an entry of any `containers` or `initContainers` list, in any kind (Pods,
 *               workloads, CronJob templates, custom resources): kustomize's images transformer reaches these
 *   field       a string under a key ending in "image"/"images" (a custom resource's `spec.image`, an
 *               `ephemeralContainers` image, which kustomize does not reach), when it parses as a reference
 *   composite   `{registry, repository, tag|digest}` or `{repository: host/path, tag|digest}` objects
 *   embedded    a reference inside any other string (`--flag=IMAGE` arguments, env values such as
 *               RELATED_IMAGE_*, ConfigMap data): one with a known registry host, or with any host and a
 *               tag or digest, standing on its own (not part of a URL or a longer word); and a reference
 *               without a host (`nginx:1.25`, `org/name:tag`: Docker Hub) where the name says it is one: the
 *               value of a flag named for an image (`--image=`, `--sidecar-image=`), and of an env variable
 *               named for one (`SIDECAR_IMAGE`)
 *
 * Beside images, the registry prefixes an operator joins with image names at runtime (PrefixLocation):
 * `hub: docker.io/istio`, `container-registry: docker.elastic.co`, `IMAGE_REGISTRY=quay.io`, `--hub=…`,
 * as a key's value, an env variable's, a flag's, or a `key: value` inside a text blob (JSON or YAML in
 * ConfigMap data). A setting named for a registry (…hub, …registry, …image-prefix) whose value is a host
 * with optional path and no tag counts when its name also says image, container or hub, or its host is a
 * known registry; a bare host only when the name says image, container or hub (a policy engine's
 * `defaultRegistry: docker.io` names no pull).
 */
import { KNOWN_REGISTRIES, matchesAnyHost } from "../../core/hosts";
import { parseRepositoryPrefix, Reference, tryParseImage } from "../../core/reference";
import { parse } from "yaml";
import { RenderedObject } from "./manifests";

export type JsonPath = readonly (string | number)[];

export type ImageVia = "container" | "field" | "composite" | "embedded";

export interface ImageLocation {
    /** Index of the object in the list given to findImages. */
    readonly object: number;
    readonly via: ImageVia;
    /** The string that holds the reference (composite: the repository field). */
    readonly path: JsonPath;
    readonly value: string;
    /** Where the reference sits inside `value`. */
    readonly start: number;
    readonly end: number;
    /** composite with a separate registry field: its path and value. */
    readonly registryPath?: JsonPath;
    readonly registryValue?: string;
    /** split composite `{repository: host/path, image|name: last, tag|version}`: the name field. */
    readonly namePath?: JsonPath;
    readonly nameValue?: string;
    /** The reference as the object spells it (composite: registry/repository:tag). */
    readonly reference: string;
    /** Normalised; undefined when the text is meant as an image but is not a valid reference. */
    readonly parsed?: Reference;
    /** Inside a mapping with `enabled: false`: a component its operator does not run while it stays off. */
    readonly disabled?: boolean;
}

/** A registry prefix setting, joined with image names by an operator at runtime. */
export interface PrefixLocation {
    readonly object: number;
    /** The string that holds the setting. */
    readonly path: JsonPath;
    readonly value: string;
    /** Where the prefix sits inside `value`. */
    readonly start: number;
    readonly end: number;
    /** The setting's name as the object spells it: a key, an env variable, a flag. */
    readonly setting: string;
    /** The prefix as written. */
    readonly text: string;
    readonly domain: string;
    /** "" for a host alone. */
    readonly repoPath: string;
}

/**
 * An image an operator pulls by joining a prefix setting with a bare name and a tag of the same mapping
 * (`{hub: docker.io/istio, tag: 1.22, proxy: {image: proxyv2}}` gives docker.io/istio/proxyv2:1.22), in
 * the object or in a JSON or YAML document inside one of its strings.
 */
export interface ImpliedImage {
    readonly object: number;
    readonly reference: Reference;
    /** `hub + global.proxy.image`, for messages. */
    readonly from: string;
}

export interface ObjectScan {
    readonly images: ImageLocation[];
    readonly prefixes: PrefixLocation[];
    readonly implied: ImpliedImage[];
}

const CONTAINER_LISTS = new Set(["containers", "initContainers"]);
const IMAGE_KEY = /images?$/i;
/** An env variable or flag named for an image. */
const IMAGE_NAME = /image/i;
/** `--image=nginx:1.25`, `--sidecar-image=org/proxy:2`: a flag named for an image takes a reference, host or not. */
const IMAGE_FLAG = /(?<![\w-])--?[\w.-]*image[\w.-]*=([^\s,;"'=]+)/gi;

const LABEL = "[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?";
const HOST = `(?:${LABEL}(?:\\.${LABEL})+(?::[0-9]+)?|localhost(?::[0-9]+)?|\\[[a-fA-F0-9:]+\\](?::[0-9]+)?)`;
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const EMBEDDED = new RegExp(
    `(?<![\\w./:@-])(${HOST}/${COMPONENT}(?:/${COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?)(?![\\w./@:-])`,
    "g",
);

/** A setting named for a registry prefix. */
const PREFIX_SETTING = /(?:hub|registry|image[._-]?prefix|repository[._-]?prefix|registry[._-]?prefix)$/i;
/** …and one whose name says it is about images (a bare host needs this). */
const IMAGE_SETTING = /hub|image|container/i;
const NOT_PREFIX_SETTING = /github$/i;
const PREFIX_FLAG = /(?<![\w-])--?([\w.-]*(?:hub|registry|prefix))=([^\s,;"'=]+)/gi;
/** `"hub": "docker.io/istio"`, `hub: docker.io/istio`, `IMAGE_REGISTRY=quay.io` inside a text blob. */
const PREFIX_PAIR = /(?<![\w.-])(["']?)([\w.-]*(?:hub|registry|prefix))\1[ \t]*[:=][ \t]*(["']?)([^\s"',;{}[\]]+)\3/gi;

export interface FindOptions {
    /** More hosts whose references count as images without a tag (mirrors' upstreams, chinaHosts). */
    readonly registries?: readonly string[];
}

/** The reference text without its tag and digest: what a kustomize `images` entry's `name` must be. */
export function nameAsWritten(reference: string): string {
    const at = reference.indexOf("@");
    const base = at >= 0 ? reference.slice(0, at) : reference;
    const colon = base.lastIndexOf(":");
    return colon > base.lastIndexOf("/") ? base.slice(0, colon) : base;
}

export { KNOWN_REGISTRIES };

/**
 * A whole value that reads as an image where its name says it is one: a reference with a tag or digest
 * (`nginx:1.25`, `org/proxy@sha256:…`), or one that names its registry host. A bare word (`v1.2` of an
 * IMAGE_TAG, `Always` of an image pull policy, `docker.io` of an IMAGE_REGISTRY) is not one.
 */
function namesAnImage(text: string): boolean {
    if (!text || /\s/.test(text)) return false;
    const ref = tryParseImage(text);
    if (!ref) return false;
    const first = text.split("/")[0];
    const host = text.includes("/") && (/[.:]/.test(first) || first === "localhost");
    return host ? text.includes("/") : /[:@]/.test(text.slice(text.lastIndexOf("/") + 1));
}

export function findImages(objects: readonly RenderedObject[], opts: FindOptions = {}): ImageLocation[] {
    return scanObjects(objects, opts).images;
}

/** Every image and every registry prefix setting of `objects`. */
export function scanObjects(objects: readonly RenderedObject[], opts: FindOptions = {}): ObjectScan {
    const registries = [...KNOWN_REGISTRIES, ...(opts.registries ?? [])];
    const out: Found = { images: [], prefixes: [] };
    objects.forEach((o, index) => walk(o.object, [], index, registries, out));
    const images = out.images.map((l) =>
        underDisabled(objects[l.object].object, l.path) ? { ...l, disabled: true } : l,
    );
    const implied: ImpliedImage[] = [];
    objects.forEach((o, index) =>
        impliedIn(o.object, undefined, undefined, registries, (reference, from) =>
            implied.push({ object: index, reference, from }),
        ),
    );
    return { images, prefixes: out.prefixes, implied };
}

interface JoinContext {
    readonly prefix: string;
    readonly setting: string;
    readonly tag: string;
}

/**
 * The way from an object's root to a node, innermost key first: a step costs one small record instead of a
 * copy of the whole path, and the path is spelled out only for an image found (impliedIn walks every node of
 * every rendered object, CRD schemas of megabytes among them).
 */
type Trail = { readonly up: Trail; readonly key: string | number } | undefined;

function spelled(trail: Trail, last: string): string {
    const keys: (string | number)[] = [last];
    for (let t = trail; t; t = t.up) keys.push(t.key);
    return keys.reverse().join(".");
}

/**
 * The document a string holds, read as JSON first: JSON is YAML, and the strings that hold one are mostly
 * JSON (Grafana dashboards in ConfigMaps, megabytes of them in kube-prometheus-stack), which JSON.parse reads
 * thirty times faster than a YAML parser. What is not JSON is read as YAML; undefined when it is neither.
 */
function embeddedDocument(text: string): unknown {
    if (/^\s*[{[]/.test(text))
        try {
            return JSON.parse(text);
        } catch {
            // YAML flow style, or not a document at all
        }
    try {
        return parse(text, { maxAliasCount: 10, logLevel: "error" });
    } catch {
        return undefined;
    }
}

/** The images `node` implies by prefix, name and tag (see ImpliedImage). */
function impliedIn(
    node: unknown,
    trail: Trail,
    join: JoinContext | undefined,
    registries: readonly string[],
    found: (reference: Reference, from: string) => void,
): void {
    if (typeof node === "string") {
        // A document inside a string (ConfigMap data holding an operator's values as JSON or YAML).
        if (node.length > 64 * 1024 || !/^\s*\{|^[ \t]*["']?[\w.-]*(?:hub|registry|prefix)["']?[ \t]*:/im.test(node))
            return;
        const doc = embeddedDocument(node);
        if (doc && typeof doc === "object") impliedIn(doc, trail, undefined, registries, found);
        return;
    }
    if (Array.isArray(node)) {
        for (let i = 0; i < node.length; i++) {
            const v: unknown = node[i];
            if (v && (typeof v === "object" || typeof v === "string"))
                impliedIn(v, { up: trail, key: i }, join, registries, found);
        }
        return;
    }
    if (!node || typeof node !== "object") return;
    const obj = node as Record<string, unknown>;
    let here = join;
    const tag = typeof obj.tag === "string" && obj.tag.trim() ? obj.tag.trim() : undefined;
    if (tag)
        for (const k of Object.keys(obj)) {
            const v = obj[k];
            if (typeof v !== "string") continue;
            const p = prefixSetting(k, v.trim(), registries);
            if (p) here = { prefix: v.trim().replace(/\/+$/, ""), setting: k, tag };
        }
    for (const k of Object.keys(obj)) {
        const v = obj[k];
        if (
            here &&
            k === "image" &&
            typeof v === "string" &&
            /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(v.trim())
        ) {
            const reference = tryParseImage(`${here.prefix}/${v.trim()}:${here.tag}`);
            if (reference) found(reference, `${here.setting} + ${spelled(trail, k)}`);
        } else if (v && (typeof v === "object" || typeof v === "string"))
            impliedIn(v, { up: trail, key: k }, here, registries, found);
    }
}

interface Found {
    readonly images: ImageLocation[];
    readonly prefixes: PrefixLocation[];
}

/** Whether a mapping on the way to `path` says `enabled: false`. */
function underDisabled(root: unknown, path: JsonPath): boolean {
    let node = root;
    for (const key of path) {
        if (node && typeof node === "object" && !Array.isArray(node)) {
            const e = (node as Record<string, unknown>).enabled;
            if (e === false || e === "false") return true;
        }
        node = (node as Record<string | number, unknown> | undefined)?.[key];
        if (node === undefined) return false;
    }
    return false;
}

/** A prefix setting's value, if `name` and `text` make one. */
function prefixSetting(name: string, text: string, registries: readonly string[]) {
    if (!PREFIX_SETTING.test(name) || NOT_PREFIX_SETTING.test(name)) return undefined;
    const parsed = parseRepositoryPrefix(text);
    if (!parsed) return undefined;
    const named = IMAGE_SETTING.test(name);
    if (!parsed.path && !named) return undefined;
    if (!named && !matchesAnyHost(registries, parsed.domain)) return undefined;
    return parsed;
}

function addPrefix(
    out: Found,
    object: number,
    path: JsonPath,
    value: string,
    start: number,
    text: string,
    setting: string,
    parsed: { domain: string; path: string },
): void {
    out.prefixes.push({
        object,
        path,
        value,
        start,
        end: start + text.length,
        setting,
        text,
        domain: parsed.domain,
        repoPath: parsed.path,
    });
}

function str(v: unknown): string | undefined {
    return typeof v === "string" && v.trim() !== "" ? v : undefined;
}

function walk(node: unknown, path: JsonPath, object: number, registries: readonly string[], out: Found): void {
    const key = path[path.length - 1];
    if (Array.isArray(node)) {
        const containers = typeof key === "string" && CONTAINER_LISTS.has(key);
        node.forEach((item, i) => {
            const at = [...path, i];
            if (containers && item && typeof item === "object" && typeof item.image === "string") {
                out.images.push(whole(object, "container", [...at, "image"], item.image));
                for (const [k, v] of Object.entries(item))
                    if (k !== "image") visit(v, [...at, k], object, registries, out);
            } else if (typeof item === "string") {
                visitString(item, at, typeof key === "string" && IMAGE_KEY.test(key), object, registries, out);
            } else {
                walk(item, at, object, registries, out);
            }
        });
        return;
    }
    if (node && typeof node === "object") walkObject(node as Record<string, unknown>, path, object, registries, out);
}

function walkObject(
    obj: Record<string, unknown>,
    path: JsonPath,
    object: number,
    registries: readonly string[],
    out: Found,
): void {
    const composite = compositeOf(obj, path, object);
    if (composite) out.images.push(composite);
    const pairs = composite ? [] : siblingPairs(obj, path, object);
    out.images.push(...pairs);
    const paired = new Set(
        pairs.flatMap((p) => [
            p.path[p.path.length - 1],
            ...(p.registryPath ? [p.registryPath[p.registryPath.length - 1]] : []),
        ]),
    );
    // An env variable named for an image (RELATED_IMAGE_DB, SIDECAR_IMAGE): its value is one, with a host
    // or without (a short Docker Hub name an operator hands to the pods it makes).
    const envName = typeof obj.name === "string" && typeof obj.value === "string" ? obj.name : undefined;
    const envImage = envName !== undefined && IMAGE_NAME.test(envName) && namesAnImage((obj.value as string).trim());
    // …or for a registry prefix (HUB, IMAGE_REGISTRY).
    const envPrefix =
        envName !== undefined && !envImage
            ? prefixSetting(envName, (obj.value as string).trim(), registries)
            : undefined;
    for (const [k, v] of Object.entries(obj)) {
        if (
            composite &&
            (k === "repository" ||
                k === "registry" ||
                (composite.namePath && k === composite.namePath[composite.namePath.length - 1]))
        )
            continue;
        if (paired.has(k)) continue;
        const at = [...path, k];
        // The value of a prefix env variable, or of a key named for a prefix.
        const setting = k === "value" && envPrefix ? envName! : k;
        const prefix =
            typeof v !== "string" ? undefined : setting === k ? prefixSetting(k, v.trim(), registries) : envPrefix;
        if (prefix) {
            const text = (v as string).trim();
            addPrefix(out, object, at, v as string, (v as string).indexOf(text), text, setting, prefix);
            continue;
        }
        if (envImage && k === "value") visitString(v as string, at, true, object, registries, out);
        else visit(v, at, object, registries, out);
    }
}

function visit(v: unknown, path: JsonPath, object: number, registries: readonly string[], out: Found): void {
    const key = path[path.length - 1];
    if (typeof v === "string")
        visitString(v, path, typeof key === "string" && IMAGE_KEY.test(key), object, registries, out);
    else walk(v, path, object, registries, out);
}

/** A whole string meant as an image reference (container images, `*image` fields). */
function whole(object: number, via: ImageVia, path: JsonPath, value: string): ImageLocation {
    const start = value.length - value.trimStart().length;
    const reference = value.trim();
    return {
        object,
        via,
        path,
        value,
        start,
        end: start + reference.length,
        reference,
        parsed: tryParseImage(reference),
    };
}

/** Prefix settings inside a string: `--hub=…` flags and `key: value` pairs of a text blob. */
function prefixesIn(
    value: string,
    path: JsonPath,
    object: number,
    registries: readonly string[],
    out: Found,
): Set<number> {
    const claimed = new Set<number>();
    const take = (setting: string, text: string, start: number) => {
        const parsed = prefixSetting(setting, text, registries);
        if (!parsed || claimed.has(start)) return;
        claimed.add(start);
        addPrefix(out, object, path, value, start, text, setting, parsed);
    };
    for (const m of value.matchAll(PREFIX_FLAG))
        take(m[1].replace(/^-+/, ""), m[2], m.index! + m[0].length - m[2].length);
    for (const m of value.matchAll(PREFIX_PAIR)) take(m[2], m[4], m.index! + m[0].length - m[3].length - m[4].length);
    return claimed;
}

function visitString(
    value: string,
    path: JsonPath,
    imageKey: boolean,
    object: number,
    registries: readonly string[],
    out: Found,
): void {
    if (!value || value.length > 64 * 1024) return;
    const trimmed = value.trim();
    if (imageKey && trimmed && !/\s/.test(trimmed) && tryParseImage(trimmed)) {
        out.images.push(whole(object, "field", path, value));
        return;
    }
    const seen = /(?:hub|registry|prefix)/i.test(value)
        ? prefixesIn(value, path, object, registries, out)
        : new Set<number>();
    for (const m of value.matchAll(IMAGE_FLAG)) {
        const text = m[1];
        const parsed = namesAnImage(text) ? tryParseImage(text) : undefined;
        if (!parsed) continue;
        const start = m.index! + m[0].length - text.length;
        if (seen.has(start)) continue;
        seen.add(start);
        out.images.push({
            object,
            via: "embedded",
            path,
            value,
            start,
            end: start + text.length,
            reference: text,
            parsed,
        });
    }
    if (!value.includes("/")) return;
    for (const m of value.matchAll(EMBEDDED)) {
        if (seen.has(m.index!)) continue;
        const text = m[1];
        const parsed = tryParseImage(text);
        if (!parsed) continue;
        const host = text.slice(0, text.indexOf("/"));
        if (!matchesAnyHost(registries, host) && parsed.tag === undefined && parsed.digest === undefined) continue;
        out.images.push({
            object,
            via: "embedded",
            path,
            value,
            start: m.index!,
            end: m.index! + text.length,
            reference: text,
            parsed,
        });
    }
}

/**
 * A custom resource's image split over three fields, `{repository: nvcr.io/org/path, image: name, version:
 * v1.2.3}` (or registry for repository, name for image, tag for version), which its operator joins as
 * `<repository>/<image>:<version>`.
 */
function splitOf(obj: Record<string, unknown>, path: JsonPath, object: number): ImageLocation | undefined {
    const prefixKey =
        str(obj.repository) !== undefined ? "repository" : str(obj.registry) !== undefined ? "registry" : undefined;
    const nameKey = str(obj.image) !== undefined ? "image" : str(obj.name) !== undefined ? "name" : undefined;
    const versionKey =
        str(obj.tag) !== undefined || typeof obj.tag === "number"
            ? "tag"
            : str(obj.version) !== undefined
              ? "version"
              : undefined;
    if (!prefixKey || !nameKey || !versionKey || (prefixKey === "registry" && str(obj.repository) !== undefined))
        return undefined;
    const prefix = str(obj[prefixKey])!.replace(/\/+$/, "");
    const name = str(obj[nameKey])!;
    // The prefix names a registry (a host with a dot or port) and the name is one path component.
    if (prefix.includes("://") || !/^[^/]+[.:][^/]*(\/|$)/.test(prefix) || name.includes("/") || name.includes(":"))
        return undefined;
    const reference = `${prefix}/${name}:${String(obj[versionKey])}`;
    const parsed = tryParseImage(reference);
    if (!parsed) return undefined;
    return {
        object,
        via: "composite",
        path: [...path, prefixKey],
        value: obj[prefixKey] as string,
        start: 0,
        end: (obj[prefixKey] as string).length,
        namePath: [...path, nameKey],
        nameValue: obj[nameKey] as string,
        reference,
        parsed,
    };
}

/**
 * Two sibling keys that hold one image between them: `imageRepository`/`imageTag`, `PROXY_REPOSITORY`/
 * `PROXY_TAG`, `image.repository`/`image.tag` (ConfigMap data an operator reads). The repository field is
 * what a rewrite changes; the tag stays.
 */
function siblingPairs(obj: Record<string, unknown>, path: JsonPath, object: number): ImageLocation[] {
    const out: ImageLocation[] = [];
    const sibling = (stem: string, sep: string, word: string, not: string) =>
        [
            `${stem}${sep}${word}`,
            `${stem}${sep}${word[0].toUpperCase()}${word.slice(1)}`,
            `${stem}${sep}${word.toUpperCase()}`,
        ].find((k) => k !== not && (typeof obj[k] === "string" || typeof obj[k] === "number"));
    for (const [key, value] of Object.entries(obj)) {
        const m = /^(.*?)([._-]?)(repository|repo)$/i.exec(key);
        if (!m || !m[1] || typeof value !== "string") continue;
        const [, stem, sep] = m;
        const tagKey = sibling(stem, sep, "tag", key) ?? sibling(stem, sep, "version", key);
        if (!tagKey) continue;
        const repository = value.trim();
        if (!repository || repository.includes("://") || /\s/.test(repository)) continue;
        // A third sibling with the registry (IMAGE_REGISTRY beside IMAGE_REPOSITORY and IMAGE_TAG).
        const registryKey = sibling(stem, sep, "registry", key);
        const registry = registryKey ? String(obj[registryKey]).trim().replace(/\/+$/, "") : "";
        const joined = registry && !/^[^/]+[.:]/.test(repository) ? `${registry}/${repository}` : repository;
        const reference = `${joined}:${String(obj[tagKey]).trim()}`;
        const parsed = tryParseImage(reference);
        if (!parsed || !joined.includes("/")) continue;
        const location: ImageLocation = {
            object,
            via: "composite",
            path: [...path, key],
            value,
            start: 0,
            end: value.length,
            reference,
            parsed,
        };
        out.push(
            joined !== repository
                ? { ...location, registryPath: [...path, registryKey!], registryValue: obj[registryKey!] as string }
                : location,
        );
    }
    return out;
}

/** `{registry, repository, tag}` and `{repository: host/path, tag}` objects of custom resources. */
function compositeOf(obj: Record<string, unknown>, path: JsonPath, object: number): ImageLocation | undefined {
    const split = splitOf(obj, path, object);
    if (split) return split;
    const repository = str(obj.repository);
    if (!repository || /[\s:]\/\//.test(repository) || repository.includes("://")) return undefined;
    const registry = str(obj.registry);
    const tag = str(obj.tag) ?? (typeof obj.tag === "number" ? String(obj.tag) : undefined);
    const digest = str(obj.digest);
    if (!registry && tag === undefined && digest === undefined) return undefined;
    const name = registry ? `${registry.replace(/\/+$/, "")}/${repository}` : repository;
    const reference = `${name}${tag !== undefined ? `:${tag}` : ""}${digest !== undefined ? `@${digest}` : ""}`;
    const parsed = tryParseImage(reference);
    if (!parsed) return undefined;
    const location: ImageLocation = {
        object,
        via: "composite",
        path: [...path, "repository"],
        value: obj.repository as string,
        start: 0,
        end: (obj.repository as string).length,
        reference,
        parsed,
    };
    return registry
        ? { ...location, registryPath: [...path, "registry"], registryValue: obj.registry as string }
        : location;
}
