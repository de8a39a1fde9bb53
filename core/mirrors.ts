/**
 * gitops/mirrors.yaml: where the China side pulls each upstream registry and chart repository from, and
 * which hosts count as inside China. The mapping from upstream repositories to China repositories is
 * injective (two upstream repositories never share a target), keeps tags and digests, and is idempotent
 * (a reference already inside China is left alone).
 */
import { InputError } from "./errors";
import { createHash } from "crypto";
import * as path from "path";
import { chinaOperatedSuffixes, hostMatches, isChinaOperatedWildcard, KNOWN_OUTSIDE, patternsOverlap } from "./hosts";
import { DOMAIN_AND_PORT, format, parseRepositoryPrefix, Reference, tryParseImage, withName } from "./reference";
import { parseYaml, pathString, readText, SourceError, YamlPath } from "./yaml-source";
import type { Doc } from "./yaml-source";

export const DEFAULT_MIRRORS_FILE = path.join(__dirname, "..", "gitops", "mirrors.yaml");

/** Values for the `{{ name }}` placeholders of mirrors.yaml. */
export interface MirrorVars {
    readonly chinaRegistry: string;
    readonly registryNamespace: string;
}

export interface RegistryTarget {
    readonly name: string;
    readonly kind: "registry";
    readonly host: string;
    readonly namespace: string;
    readonly layout: "flat" | "nested";
    /** Longest repository name (below the namespace) the registry accepts; flat layout only. */
    readonly maxRepositoryLength: number;
}

export interface PrefixTarget {
    readonly name: string;
    readonly kind: "prefix";
    readonly host: string;
}

export interface HostSwapTarget {
    readonly name: string;
    readonly kind: "hostSwap";
    readonly host: string;
}

/** A Helm (https) repository mirror for charts: `<urlPrefix>/<upstream host>/<upstream path>`. */
export interface HelmMirrorTarget {
    readonly name: string;
    readonly kind: "helmMirror";
    readonly host: string;
    readonly urlPrefix: string;
}

/**
 * The Secret (type kubernetes.io/dockerconfigjson, with username and password beside it) that every china
 * chart source in the China registry names: the namespace is private, and source-controller pulls with
 * its own credentials, not the nodes'. The Pulumi china stack creates it in each namespace of the china
 * releases and in flux-system (stacks/china.ts); it never travels in the tree.
 */
export const REGISTRY_PULL_SECRET = "crossborder-registry";

export type Target = RegistryTarget | PrefixTarget | HostSwapTarget | HelmMirrorTarget;

export interface Mirrors {
    readonly file: string;
    /** Host patterns inside China: exact hosts, or `*.suffix`. */
    readonly chinaHosts: readonly string[];
    readonly targets: ReadonlyMap<string, Target>;
    /** Upstream host → target name. */
    readonly upstreams: ReadonlyMap<string, string>;
    readonly defaultTarget: string;
    /** Chart repository host → target name, and the default. */
    readonly charts: ReadonlyMap<string, string>;
    readonly defaultChartTarget: string;
    /** Upstream repository prefixes with a namespace of their own, longest first. */
    readonly prefixes: readonly PrefixMapping[];
}

/**
 * `prefixes:` an upstream prefix (`docker.io/istio`) served from a namespace of its own in a registry
 * target (`<host>/istio`), so that an operator that joins a prefix setting with image names at runtime
 * (`hub/pilot:1.22`) lands on the same names the rendered images do. Every image under the prefix is
 * mapped there, the rest of its path kept (flat: one component, encoded only when it must be).
 */
export interface PrefixMapping {
    /** `domain/path` as written after normalisation (docker.io for index.docker.io). */
    readonly upstream: string;
    readonly domain: string;
    readonly path: string;
    readonly target: string;
    readonly namespace: string;
}

/** A reference that the configured mirrors cannot represent. */
export class MirrorError extends InputError {
    constructor(message: string) {
        super(message);
        this.name = "MirrorError";
    }
}

/** Hosts of mirrors that no longer serve the public; refused wherever they appear. */
const DEAD_MIRRORS = [/(^|\.)azk8s\.cn$/];

// ---------------------------------------------------------------------------------------------------
// Loading

export function loadMirrors(file: string, vars: MirrorVars): Mirrors {
    return parseMirrors(readText(file, "mirrors file"), file, vars);
}

export function parseMirrors(text: string, file: string, vars: MirrorVars): Mirrors {
    const src = parseYaml(text, file);
    const problems: string[] = [];
    const fail = (p: YamlPath, problem: string, fix: string) =>
        problems.push(`${src.at(p)}: ${pathString(p) || "(top)"}: ${problem}; ${fix}`);
    const data = src.data as Doc | null;
    if (!data || typeof data !== "object" || Array.isArray(data))
        throw new SourceError(
            `${file}:1: a mirrors file must be a mapping with chinaHosts, targets, upstreams and charts`,
        );
    for (const key of Object.keys(data)) {
        if (!["version", "chinaHosts", "targets", "upstreams", "charts", "prefixes"].includes(key))
            fail(
                [key],
                "is not a mirrors setting",
                "remove it; settings are version, chinaHosts, targets, upstreams, charts, prefixes",
            );
    }
    if (data.version !== 1) fail(["version"], `must be 1, got ${JSON.stringify(data.version)}`, "set version: 1");

    const fill = (p: YamlPath, value: unknown): string => {
        if (typeof value !== "string" || value === "") {
            fail(p, `must be a non-empty string, got ${JSON.stringify(value)}`, "write a host name");
            return "";
        }
        return value.replace(/\{\{\s*([A-Za-z]+)\s*\}\}/g, (whole, name: string) => {
            const v = (vars as unknown as Record<string, string>)[name];
            if (v === undefined) {
                fail(p, `uses the unknown placeholder ${whole}`, "use {{ chinaRegistry }} or {{ registryNamespace }}");
                return whole;
            }
            return v;
        });
    };
    const checkHost = (p: YamlPath, host: string, allowWildcard: boolean) => {
        if (!host) return;
        const bare = allowWildcard && host.startsWith("*.") ? host.slice(2) : host;
        if (!DOMAIN_AND_PORT.test(bare))
            fail(
                p,
                `"${host}" is not a registry host`,
                allowWildcard
                    ? 'write a host such as "registry.example.cn" or "*.example.cn"'
                    : 'write a host such as "registry.example.cn"',
            );
        if (DEAD_MIRRORS.some((re) => re.test(bare)))
            fail(
                p,
                `"${host}" is a dead mirror (the Azure China mirrors no longer serve the public)`,
                "remove it and use the ACR EE China instance or another mirror",
            );
    };

    const chinaHosts: string[] = [];
    if (!Array.isArray(data.chinaHosts) || data.chinaHosts.length === 0) {
        fail(
            ["chinaHosts"],
            "must be a non-empty list of hosts",
            'list the registry hosts inside mainland China, e.g. "*.cn-hangzhou.cr.aliyuncs.com"',
        );
    } else {
        data.chinaHosts.forEach((h: unknown, i: number) => {
            const host = fill(["chinaHosts", i], h).toLowerCase();
            checkHost(["chinaHosts", i], host, true);
            chinaHosts.push(host);
        });
    }

    const targets = new Map<string, Target>();
    const targetData = data.targets;
    if (
        !targetData ||
        typeof targetData !== "object" ||
        Array.isArray(targetData) ||
        Object.keys(targetData).length === 0
    ) {
        fail(
            ["targets"],
            "must be a mapping of named targets",
            "define at least one target, e.g. china-acr with kind: registry",
        );
    } else {
        for (const [name, raw] of Object.entries<Doc>(targetData)) {
            const p = ["targets", name];
            if (!raw || typeof raw !== "object") {
                fail(p, "must be a mapping", "give it kind and host");
                continue;
            }
            const known: Record<string, string[]> = {
                registry: ["kind", "host", "namespace", "layout", "maxRepositoryLength"],
                prefix: ["kind", "host"],
                hostSwap: ["kind", "host"],
                helmMirror: ["kind", "host", "urlPrefix"],
            };
            if (!Object.keys(known).includes(raw.kind)) {
                fail(
                    [...p, "kind"],
                    `"${raw.kind}" is not a target kind`,
                    "use registry, prefix, hostSwap or helmMirror",
                );
                continue;
            }
            for (const key of Object.keys(raw))
                if (!known[raw.kind].includes(key))
                    fail(
                        [...p, key],
                        `is not a setting of a ${raw.kind} target`,
                        `remove it; settings are ${known[raw.kind].join(", ")}`,
                    );
            const host = fill([...p, "host"], raw.host).toLowerCase();
            checkHost([...p, "host"], host, false);
            if (host && !matchesAny(chinaHosts, host))
                fail(
                    [...p, "host"],
                    `"${host}" is not inside China according to chinaHosts, so pulls through it would cross the border`,
                    "add the host to chinaHosts if it really is served from mainland China, or choose another target",
                );
            if (raw.kind === "registry") {
                const namespace = fill([...p, "namespace"], raw.namespace);
                if (
                    namespace &&
                    !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(
                        namespace,
                    )
                )
                    fail(
                        [...p, "namespace"],
                        `"${namespace}" is not a repository namespace`,
                        "use lowercase letters, digits and single separators",
                    );
                const layout = raw.layout ?? "flat";
                if (layout !== "flat" && layout !== "nested")
                    fail([...p, "layout"], `"${layout}" is not a layout`, "use flat (ACR EE) or nested (ECR, Harbor)");
                const max = raw.maxRepositoryLength ?? (layout === "flat" ? 64 : 255);
                if (!Number.isInteger(max) || max < 24 || max > 255)
                    fail(
                        [...p, "maxRepositoryLength"],
                        `${JSON.stringify(max)} is out of range`,
                        "use a whole number from 24 to 255 (ACR EE allows 64)",
                    );
                targets.set(name, { name, kind: "registry", host, namespace, layout, maxRepositoryLength: max });
            } else if (raw.kind === "helmMirror") {
                const urlPrefix = fill([...p, "urlPrefix"], raw.urlPrefix).replace(/\/+$/, "");
                if (!urlPrefix.startsWith(`https://${host}/`) && urlPrefix !== `https://${host}`)
                    fail(
                        [...p, "urlPrefix"],
                        `"${urlPrefix}" is not an https URL on ${host}`,
                        `write https://${host}/<path>`,
                    );
                targets.set(name, { name, kind: "helmMirror", host, urlPrefix });
            } else {
                targets.set(name, { name, kind: raw.kind, host });
            }
        }
    }

    const mapping = (section: "upstreams" | "charts", allowed: Target["kind"][]): [Map<string, string>, string] => {
        const out = new Map<string, string>();
        let dflt = "";
        const raw = data[section];
        if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
            fail([section], "must be a mapping of host: target", `add ${section}: with at least default: <target>`);
            return [out, dflt];
        }
        for (const [host, target] of Object.entries<unknown>(raw)) {
            const p = [section, host];
            if (host !== "default") checkHost(p, host, false);
            const t = typeof target === "string" ? targets.get(target) : undefined;
            if (!t) {
                fail(
                    p,
                    `names the unknown target ${JSON.stringify(target)}`,
                    `use one of: ${[...targets.keys()].join(", ") || "(define targets first)"}`,
                );
                continue;
            }
            if (!allowed.includes(t.kind)) {
                fail(
                    p,
                    `target "${target}" is a ${t.kind} target, which cannot serve ${section === "charts" ? "charts" : "images"}`,
                    `use a ${allowed.join(" or ")} target`,
                );
                continue;
            }
            if (host === "default") dflt = target as string;
            else out.set(host.toLowerCase(), target as string);
        }
        if (!dflt) fail([section], "has no default", `add default: <target> for hosts not listed`);
        return [out, dflt];
    };
    const [upstreams, defaultTarget] = mapping("upstreams", ["registry", "prefix", "hostSwap"]);
    const [charts, defaultChartTarget] = mapping("charts", ["registry", "helmMirror"]);
    checkChinaHosts(chinaHosts, [...upstreams.keys(), ...charts.keys()], fail);

    // A hostSwap target keeps the path, so it is injective only while it serves a single upstream.
    for (const t of targets.values()) {
        if (t.kind !== "hostSwap") continue;
        const users = [...upstreams].filter(([, n]) => n === t.name).map(([h]) => h);
        if (defaultTarget === t.name || users.length > 1) {
            fail(
                ["targets", t.name],
                `the hostSwap target serves ${defaultTarget === t.name ? "the default (every unlisted host)" : users.join(" and ")}, so different upstream repositories with the same path would land on the same image`,
                "use it for exactly one upstream host, or use a prefix or registry target",
            );
        }
    }

    const prefixes = parsePrefixes(data.prefixes, targets, chinaHosts, fill, fail);

    if (problems.length > 0) throw new SourceError(problems.join("\n"));
    return { file, chinaHosts, targets, upstreams, defaultTarget, charts, defaultChartTarget, prefixes };
}

/** An ACR EE namespace (2-120 of a-z 0-9 _ -, as gitops/context.ts checks the china stack's output). */
const NAMESPACE = /^[a-z0-9]([a-z0-9_-]{0,118}[a-z0-9])?$/;

/** The `prefixes:` section: each upstream prefix with its target and a namespace no one else uses. */
function parsePrefixes(
    raw: unknown,
    targets: ReadonlyMap<string, Target>,
    chinaHosts: readonly string[],
    fill: (p: YamlPath, value: unknown) => string,
    fail: (p: YamlPath, problem: string, fix: string) => void,
): PrefixMapping[] {
    if (raw === undefined || raw === null) return [];
    if (typeof raw !== "object" || Array.isArray(raw)) {
        fail(
            ["prefixes"],
            "must be a mapping of upstream prefix: {target, namespace}",
            'write e.g. prefixes: {"docker.io/istio": {target: china-acr, namespace: istio}}',
        );
        return [];
    }
    const out: PrefixMapping[] = [];
    const owners = new Map<string, string>();
    for (const t of targets.values())
        if (t.kind === "registry") owners.set(`${t.host}/${t.namespace}`, `target ${t.name}`);
    for (const [key, entry] of Object.entries<Doc>(raw as Doc)) {
        const p: YamlPath = ["prefixes", key];
        const parsed = parseRepositoryPrefix(key);
        if (!parsed || !parsed.path) {
            fail(
                p,
                `"${key}" is not an upstream repository prefix`,
                'write a registry host and at least one path component, e.g. "docker.io/istio"',
            );
            continue;
        }
        if (matchesAny(chinaHosts, parsed.domain)) {
            fail(p, `"${key}" is already inside China (chinaHosts)`, "remove it: nothing under it is rewritten");
            continue;
        }
        if (!entry || typeof entry !== "object" || Array.isArray(entry)) {
            fail(p, "must be a mapping with target and namespace", "write {target: china-acr, namespace: <name>}");
            continue;
        }
        for (const k of Object.keys(entry))
            if (k !== "target" && k !== "namespace")
                fail([...p, k], "is not a prefix setting", "remove it; settings are target, namespace");
        const target = typeof entry.target === "string" ? targets.get(entry.target) : undefined;
        if (!target || target.kind !== "registry") {
            fail(
                [...p, "target"],
                target
                    ? `target "${entry.target}" is a ${target.kind} target, which keeps upstream paths already`
                    : `names the unknown target ${JSON.stringify(entry.target)}`,
                `use a registry target (${
                    [...targets.values()]
                        .filter((t) => t.kind === "registry")
                        .map((t) => t.name)
                        .join(", ") || "define one first"
                }); prefix and hostSwap targets need no prefix mapping`,
            );
            continue;
        }
        const namespace = fill([...p, "namespace"], entry.namespace);
        if (!namespace) continue;
        if (!NAMESPACE.test(namespace)) {
            fail(
                [...p, "namespace"],
                `"${namespace}" is not a registry namespace`,
                "use 2 to 120 lowercase letters, digits, _ and -, starting and ending with a letter or digit",
            );
            continue;
        }
        const where = `${target.host}/${namespace}`;
        const owner = owners.get(where);
        if (owner) {
            fail(
                [...p, "namespace"],
                `${where} is already used by ${owner}`,
                "give every prefix a namespace of its own, apart from the target's namespace",
            );
            continue;
        }
        owners.set(where, `prefix ${key}`);
        out.push({ upstream: `${parsed.domain}/${parsed.path}`, ...parsed, target: target.name, namespace });
    }
    return out.sort((a, b) => b.upstream.length - a.upstream.length || (a.upstream < b.upstream ? -1 : 1));
}

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

// ---------------------------------------------------------------------------------------------------
// Hosts

function matchesAny(patterns: readonly string[], host: string): boolean {
    return patterns.some((p) => hostMatches(p, host));
}

/**
 * chinaHosts cannot declare the outside world to be China: no pattern may cover a known registry or code
 * host outside China, or an upstream the file itself mirrors; a wildcard must lie under a suffix operated
 * only inside mainland China (gitops/hosts.ts).
 */
function checkChinaHosts(
    chinaHosts: readonly string[],
    upstreams: readonly string[],
    fail: (p: YamlPath, problem: string, fix: string) => void,
): void {
    chinaHosts.forEach((h, i) => {
        const p: YamlPath = ["chinaHosts", i];
        if (h.startsWith("*.") && !isChinaOperatedWildcard(h)) {
            fail(
                p,
                `"${h}" is a wildcard over ${h.slice(2)}, which is not operated only inside mainland China`,
                `list exact hosts, or a wildcard under one of ${chinaOperatedSuffixes().slice(0, 3).join(", ")}, …, amazonaws.com.cn`,
            );
            return;
        }
        const outside = KNOWN_OUTSIDE.find((k) => patternsOverlap(h, k));
        if (outside) {
            fail(
                p,
                `"${h}" covers ${outside}, which is outside China`,
                "remove it: a host outside China cannot be declared inside it, and whatever is pulled from it would cross the border",
            );
            return;
        }
        const upstream = upstreams.find((u) => u !== "default" && patternsOverlap(h, u));
        if (upstream)
            fail(
                p,
                `"${h}" covers ${upstream}, an upstream this file mirrors into China`,
                `remove it, or remove ${upstream} from upstreams/charts if it really is served from inside China`,
            );
    });
}

/** Whether `host` (a registry, chart or Git host) is served from inside mainland China. */
export function isChinaHost(mirrors: Mirrors, host: string): boolean {
    return matchesAny(mirrors.chinaHosts, host);
}

// ---------------------------------------------------------------------------------------------------
// Repository mapping

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

// ---------------------------------------------------------------------------------------------------
// Charts

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
