/**
 * Mapping names through the mirrors: upstream repositories to their China names (injective, tags and
 * digests kept, idempotent for names already inside China), registry prefix settings, chart sources.
 */
import { createHash } from "crypto";
import { format, Reference, tryParseImage, withName } from "../reference";
import { isChinaHost, MirrorError, Mirrors, PrefixMapping, RegistryTarget, Target } from "./model";

/** The prefix mapping that serves `domain/path` (the longest that covers it). */
export function prefixFor(mirrors: Mirrors, domain: string, repoPath: string): PrefixMapping | undefined {
    const name = `${domain.toLowerCase()}/${repoPath}`;
    return mirrors.prefixes.find((m) => name === m.upstream || name.startsWith(`${m.upstream}/`));
}

/** The namespaces of `prefixes:` on the registry at `host` (the stacks create and replicate them). */
export function prefixNamespaces(mirrors: Mirrors, host: string): string[] {
    return [
        ...new Set(
            mirrors.prefixes
                .filter((m) => (mirrors.targets.get(m.target) as RegistryTarget).host === host)
                .map((m) => m.namespace),
        ),
    ].sort();
}

/**
 * Write `name` as one repository-name component: "/" → "_s_", "_" → "_u_", an uppercase letter → its
 * lowercase form then "_c_" (so names still start with a letter or digit), any other character outside
 * [a-z0-9.-] → "_x<hex>_". The tokens form a prefix code, so the encoding is injective and decodable.
 */
export function encodeFlat(name: string): string {
    let out = "";
    for (const ch of name) {
        if (/[a-z0-9.-]/.test(ch)) out += ch;
        else if (/[A-Z]/.test(ch)) out += `${ch.toLowerCase()}_c_`;
        else if (ch === "/") out += "_s_";
        else if (ch === "_") out += "_u_";
        else out += `_x${ch.codePointAt(0)!.toString(16)}_`;
    }
    return out;
}

export function decodeFlat(encoded: string): string {
    let out = "";
    const re = /_s_|_u_|_c_|_x([0-9a-f]+)_|[^_]/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(encoded))) {
        const token = m[0];
        if (token === "_s_") out += "/";
        else if (token === "_u_") out += "_";
        else if (token === "_c_") out = out.slice(0, -1) + out.slice(-1).toUpperCase();
        else if (m[1] !== undefined) out += String.fromCodePoint(parseInt(m[1], 16));
        else out += token;
    }
    return out;
}

/**
 * The flat repository name for an upstream `name`. When the encoding is longer than `max`, the name keeps
 * its beginning and its last component (what an operator looks for) around a hash of the full name:
 * `charts_s_prometheus-community-<12 hex>-kube-prometheus-stack`.
 */
export function flatRepositoryName(name: string, max: number): string {
    const encoded = encodeFlat(name);
    if (encoded.length <= max) return encoded;
    const hash = createHash("sha256").update(name).digest("hex").slice(0, 12);
    const budget = max - hash.length - 2;
    const minHead = 8;
    let tail = encodeFlat(name.slice(name.lastIndexOf("/") + 1));
    if (tail.length > budget - minHead) tail = tail.slice(0, budget - minHead).replace(/[._-]+$/, "");
    const head = encoded.slice(0, budget - tail.length).replace(/[._-]+$/, "");
    return `${head}-${hash}-${tail}`;
}

/** A host as one path component: kept when it already is one (lowercase, no port), else flat-encoded. */
function hostComponent(domain: string): string {
    return /^[a-z0-9]+(?:[.-][a-z0-9]+)*$/.test(domain) ? domain : encodeFlat(domain);
}

function targetFor(mirrors: Mirrors, host: string): Target {
    return mirrors.targets.get(mirrors.upstreams.get(host.toLowerCase()) ?? mirrors.defaultTarget)!;
}

/**
 * Where a target that keeps upstream paths puts the upstream host: `<host>/<upstream host>` (prefix),
 * `<host>` (hostSwap), `<host>/<namespace>/<upstream host>` (nested registry); undefined for a flat
 * registry, which encodes whole names. The China name of `domain/path` is then `<base>/<path>`.
 */
function pathKeepingBase(target: Target, domain: string, what: string): string | undefined {
    switch (target.kind) {
        case "registry":
            return target.layout === "nested"
                ? `${target.host}/${target.namespace}/${hostComponent(domain)}`
                : undefined;
        case "prefix":
            if (hostComponent(domain) !== domain)
                throw new MirrorError(
                    `${what}: the prefix mirror ${target.host} cannot address the upstream host "${domain}" (a port or uppercase); map that host to a registry target in mirrors.yaml`,
                );
            return `${target.host}/${domain}`;
        case "hostSwap":
            return target.host;
        case "helmMirror":
            throw new MirrorError(`${what}: the helmMirror target ${target.name} serves charts, not images`);
    }
}

/** The China-side repository (domain and path) for an upstream repository key `domain/path`. */
function mapName(target: Target, domain: string, repoPath: string, what: string): { domain: string; path: string } {
    const base = pathKeepingBase(target, domain, what);
    const flat = target as RegistryTarget;
    const name =
        base !== undefined
            ? `${base}/${repoPath}`
            : `${flat.host}/${flat.namespace}/${flatRepositoryName(`${domain}/${repoPath}`, flat.maxRepositoryLength)}`;
    const mapped = { domain: target.host, path: name.slice(target.host.length + 1) };
    try {
        withName(name);
    } catch {
        throw new MirrorError(
            `${what}: mirroring through ${target.name} gives "${name}", which is not a valid repository name`,
        );
    }
    return mapped;
}

/**
 * The China-side reference for `ref`: same tag, same digest. A reference whose host is already inside
 * China is returned unchanged, which makes rewriting idempotent.
 */
export function rewriteReference(mirrors: Mirrors, ref: Reference): Reference {
    if (isChinaHost(mirrors, ref.domain)) return ref;
    const prefix = prefixFor(mirrors, ref.domain, ref.path);
    const name = `${ref.domain}/${ref.path}`;
    if (prefix && name !== prefix.upstream) return { ...ref, ...underPrefix(mirrors, prefix, name, format(ref)) };
    const mapped = mapName(targetFor(mirrors, ref.domain), ref.domain, ref.path, format(ref));
    return { ...ref, ...mapped };
}

/**
 * An image under a prefix mapping: `<host>/<namespace>/<rest>`, the rest as upstream writes it, so that an
 * operator's runtime join of the China prefix and the name gives the same repository. A flat registry holds
 * one level below its namespace.
 */
function underPrefix(
    mirrors: Mirrors,
    prefix: PrefixMapping,
    name: string,
    what: string,
): { domain: string; path: string } {
    const target = mirrors.targets.get(prefix.target) as RegistryTarget;
    const rest = name.slice(prefix.upstream.length + 1);
    if (target.layout === "flat" && (rest.includes("/") || rest.length > target.maxRepositoryLength))
        throw new MirrorError(
            `${what}: it is under the prefix ${prefix.upstream}, whose namespace ${prefix.namespace} in the flat registry ${target.name} holds one repository level of at most ${target.maxRepositoryLength} characters, and "${rest}" is not one; map ${name.slice(0, name.lastIndexOf("/"))} as a prefix of its own in mirrors.yaml`,
        );
    return { domain: target.host, path: `${prefix.namespace}/${rest}` };
}

/**
 * The China value of a registry prefix setting an operator joins with image names at runtime (`hub:
 * docker.io/istio`, `container-registry: docker.elastic.co`): what makes `<value>/<name>` the name the
 * image has in China. Throws MirrorError, with the fix, when the mirrors cannot give one.
 */
export function rewritePrefix(mirrors: Mirrors, domain: string, repoPath: string, what: string): string {
    const upstream = repoPath ? `${domain}/${repoPath}` : domain;
    if (isChinaHost(mirrors, domain)) return upstream;
    const prefix = prefixFor(mirrors, domain, repoPath);
    if (prefix) {
        const target = mirrors.targets.get(prefix.target) as RegistryTarget;
        if (prefix.upstream === upstream) return `${target.host}/${prefix.namespace}`;
        if (target.layout === "nested")
            return `${target.host}/${prefix.namespace}/${upstream.slice(prefix.upstream.length + 1)}`;
        throw new MirrorError(
            `${what}: the registry prefix ${upstream} lies below the prefix mapping ${prefix.upstream}, and the flat registry ${target.name} holds one level below a namespace; map ${upstream} as a prefix of its own in mirrors.yaml (prefixes: {"${upstream}": {target: ${target.name}, namespace: <name>}})`,
        );
    }
    const target = targetFor(mirrors, domain);
    const base = pathKeepingBase(target, domain, what);
    if (base !== undefined) return repoPath ? `${base}/${repoPath}` : base;
    const flat = target as RegistryTarget;
    if (!repoPath) return hostOnFlat(mirrors, domain, flat, what);
    throw new MirrorError(
        `${what}: the registry prefix ${upstream} is joined with image names at runtime, and the flat registry ${flat.name} encodes whole names, so the join would not find them; give the prefix a namespace of its own in mirrors.yaml (prefixes: {"${upstream}": {target: ${flat.name}, namespace: ${suggestNamespace(repoPath)}}}) and declare the images the operator pulls through it (catalog runtimeImages)`,
    );
}

/**
 * A bare host setting on a flat registry: `<host>/<org>/<name>` is namespace/repository there, so the join
 * works when the upstream's first path components are prefixes mapped to namespaces of the same name
 * (`docker.elastic.co/elasticsearch` → `<host>/elasticsearch`). The images the operator pulls must then be
 * under those (the render checks that the inventory has some).
 */
function hostOnFlat(mirrors: Mirrors, domain: string, target: RegistryTarget, what: string): string {
    const same = mirrors.prefixes.filter((m) => m.domain === domain && !m.path.includes("/") && m.namespace === m.path);
    const hosts = [...new Set(same.map((m) => (mirrors.targets.get(m.target) as RegistryTarget).host))];
    if (hosts.length === 1) return hosts[0];
    throw new MirrorError(
        `${what}: the registry host setting ${domain} is joined with <org>/<name> at runtime, and the flat registry ${target.name} holds one level below a namespace; map each <org> the operator pulls to a namespace of the same name in mirrors.yaml (prefixes: {"${domain}/<org>": {target: ${target.name}, namespace: <org>}}), or serve ${domain} from a target that keeps paths (layout: nested, or a prefix target)`,
    );
}

function suggestNamespace(repoPath: string): string {
    const last = repoPath
        .slice(repoPath.lastIndexOf("/") + 1)
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-+|-+$/g, "");
    return last || "<name>";
}

/** Rewrite an image string; throws MirrorError when it is not an image reference. */
export function rewriteImage(mirrors: Mirrors, image: string): string {
    const ref = tryParseImage(image);
    if (!ref) throw new MirrorError(`"${image}" is not an image reference`);
    return format(rewriteReference(mirrors, ref));
}

export interface ChartSource {
    /** `https://…` Helm repository URL, or `oci://host/path` of the chart (or of its parent). */
    readonly url: string;
    /** Chart name within an https repository, or the last path component of an OCI reference. */
    readonly chart: string;
    readonly version?: string;
}

/** Where the china cluster gets a chart: an OCI repository (one chart) or an https Helm repository. */
export type ChinaChartSource =
    | { readonly type: "oci"; readonly url: string; readonly chart: string; readonly version?: string }
    | { readonly type: "https"; readonly url: string; readonly chart: string; readonly version?: string };

function splitChartUrl(source: ChartSource): { scheme: "https" | "oci"; host: string; repoPath: string } {
    const m = /^(https|oci):\/\/([^/]+)(\/[^?#]*)?$/.exec(source.url.trim());
    if (!m)
        throw new MirrorError(
            `chart source "${source.url}": must be an https:// Helm repository URL or an oci:// reference`,
        );
    const base = (m[3] ?? "").replace(/^\/+|\/+$/g, "");
    const chartPath =
        m[1] === "oci" && base.split("/").pop() === source.chart
            ? base
            : [base, source.chart].filter(Boolean).join("/");
    return { scheme: m[1] as "https" | "oci", host: m[2].toLowerCase(), repoPath: chartPath };
}

/** The China source of a chart: its OCI repository in the China registry, or a China Helm mirror URL. */
export function rewriteChartSource(mirrors: Mirrors, source: ChartSource): ChinaChartSource {
    const { scheme, host, repoPath } = splitChartUrl(source);
    if (!/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/.test(source.chart))
        throw new MirrorError(`chart name "${source.chart}": must be lowercase letters, digits, ".", "_" or "-"`);
    if (isChinaHost(mirrors, host)) {
        return scheme === "oci"
            ? { type: "oci", url: `oci://${host}/${repoPath}`, chart: source.chart, version: source.version }
            : { type: "https", url: source.url.replace(/\/+$/, ""), chart: source.chart, version: source.version };
    }
    const target = mirrors.targets.get(mirrors.charts.get(host) ?? mirrors.defaultChartTarget)!;
    if (target.kind === "helmMirror") {
        const dir = repoPath.split("/").slice(0, -1).join("/");
        return {
            type: "https",
            url: [target.urlPrefix, host, dir].filter(Boolean).join("/"),
            chart: source.chart,
            version: source.version,
        };
    }
    if (target.kind === "registry" && target.layout === "flat") {
        // `helm push` names the repository after the chart (<namespace>/<chart>), and a flat registry has
        // one level below the namespace: so a chart keeps its own name there. Image names always carry
        // their encoded host ("_s_", "."), so a chart and an image never share a repository; two charts of
        // the same name from different repositories would, and the render refuses that catalog.
        const url = `${target.host}/${target.namespace}/${source.chart}`;
        try {
            withName(url);
        } catch {
            throw new MirrorError(
                `chart ${source.url} ${source.chart}: mirroring through ${target.name} gives "${url}", which is not a valid repository name`,
            );
        }
        return { type: "oci", url: `oci://${url}`, chart: source.chart, version: source.version };
    }
    // Nested registries keep the chart's upstream path under "charts/", so that a chart and an image never
    // share a repository: an image key always starts with a registry host, never the bare word "charts".
    const mapped = mapName(target, "charts", `${host}/${repoPath}`, `chart ${source.url} ${source.chart}`);
    return { type: "oci", url: `oci://${mapped.domain}/${mapped.path}`, chart: source.chart, version: source.version };
}

/** The upstream OCI reference a chart is copied from (for the inventory): `oci://…` or the https repo. */
export function chartKey(source: ChartSource): string {
    const { scheme, host, repoPath } = splitChartUrl(source);
    return `${scheme}://${host}/${repoPath}`;
}
