/**
 * Reading gitops/mirrors.yaml: every setting checked, with the file's line, key and fix for each
 * problem, through the shared reader (core/yaml-source.ts). No configuration can declare the outside world
 * to be China, and the mapping it gives is injective.
 */
import * as path from "path";
import { ACR_NAMESPACE } from "../acr";
import { chinaOperatedSuffixes, isChinaOperatedWildcard, KNOWN_OUTSIDE, patternsOverlap } from "../hosts";
import { DOMAIN_AND_PORT, parseRepositoryPrefix } from "../reference";
import { parseYaml, readText, SourceError, SourceReader, YamlPath, YamlSource } from "../yaml-source";
import type { Doc } from "../yaml-source";
import { matchesAny, MirrorVars, Mirrors, PrefixMapping, Target } from "./model";

export const DEFAULT_MIRRORS_FILE = path.join(__dirname, "..", "..", "gitops", "mirrors.yaml");

/** Hosts of mirrors that no longer serve the public; refused wherever they appear. */
const DEAD_MIRRORS = [/(^|\.)azk8s\.cn$/];

export function loadMirrors(file: string, vars: MirrorVars): Mirrors {
    return parseMirrors(readText(file, "mirrors file"), file, vars);
}

const SETTINGS = ["version", "chinaHosts", "targets", "upstreams", "charts", "prefixes"];

export function parseMirrors(text: string, file: string, vars: MirrorVars): Mirrors {
    const src = parseYaml(text, file);
    const data = src.data as Doc | null;
    if (!data || typeof data !== "object" || Array.isArray(data))
        throw new SourceError(
            `${file}:1: a mirrors file must be a mapping with chinaHosts, targets, upstreams and charts`,
        );
    const r = new MirrorsReader(src, vars);
    r.known([], data, SETTINGS, "a mirrors setting");
    if (data.version !== 1) r.fail(["version"], `must be 1, got ${JSON.stringify(data.version)}`, "set version: 1");
    const chinaHosts = readChinaHosts(r, data.chinaHosts);
    const targets = readTargets(r, data.targets, chinaHosts);
    const [upstreams, defaultTarget] = readMapping(r, data, "upstreams", targets, ["registry", "prefix", "hostSwap"]);
    const [charts, defaultChartTarget] = readMapping(r, data, "charts", targets, ["registry", "helmMirror"]);
    checkChinaHosts(r, chinaHosts, [...upstreams.keys(), ...charts.keys()]);
    checkHostSwaps(r, targets, upstreams, defaultTarget);
    const prefixes = readPrefixes(r, data.prefixes, targets, chinaHosts);
    r.finish();
    return { file, chinaHosts, targets, upstreams, defaultTarget, charts, defaultChartTarget, prefixes };
}

/** The shared reader, plus what mirrors.yaml's values need: placeholders filled in, hosts checked. */
class MirrorsReader extends SourceReader {
    constructor(
        src: YamlSource,
        private readonly vars: MirrorVars,
    ) {
        super(src);
    }

    /** A non-empty string with its {{ placeholders }} filled in ("" after reporting why not). */
    fill(p: YamlPath, value: unknown): string {
        if (typeof value !== "string" || value === "") {
            this.fail(p, `must be a non-empty string, got ${JSON.stringify(value)}`, "write a host name");
            return "";
        }
        return value.replace(/\{\{\s*([A-Za-z]+)\s*\}\}/g, (whole, name: string) => {
            const v = (this.vars as unknown as Record<string, string>)[name];
            if (v === undefined) {
                this.fail(
                    p,
                    `uses the unknown placeholder ${whole}`,
                    "use {{ chinaRegistry }} or {{ registryNamespace }}",
                );
                return whole;
            }
            return v;
        });
    }

    host(p: YamlPath, host: string, allowWildcard: boolean): void {
        if (!host) return;
        const bare = allowWildcard && host.startsWith("*.") ? host.slice(2) : host;
        if (!DOMAIN_AND_PORT.test(bare))
            this.fail(
                p,
                `"${host}" is not a registry host`,
                allowWildcard
                    ? 'write a host such as "registry.example.cn" or "*.example.cn"'
                    : 'write a host such as "registry.example.cn"',
            );
        if (DEAD_MIRRORS.some((re) => re.test(bare)))
            this.fail(
                p,
                `"${host}" is a dead mirror (the Azure China mirrors no longer serve the public)`,
                "remove it and use the ACR EE China instance or another mirror",
            );
    }
}

function readChinaHosts(r: MirrorsReader, raw: unknown): string[] {
    if (!Array.isArray(raw) || raw.length === 0) {
        r.fail(
            ["chinaHosts"],
            "must be a non-empty list of hosts",
            'list the registry hosts inside mainland China, e.g. "*.cn-hangzhou.cr.aliyuncs.com"',
        );
        return [];
    }
    return raw.map((h: unknown, i: number) => {
        const host = r.fill(["chinaHosts", i], h).toLowerCase();
        r.host(["chinaHosts", i], host, true);
        return host;
    });
}

const TARGET_SETTINGS: Record<Target["kind"], string[]> = {
    registry: ["kind", "host", "namespace", "layout", "maxRepositoryLength"],
    prefix: ["kind", "host"],
    hostSwap: ["kind", "host"],
    helmMirror: ["kind", "host", "urlPrefix"],
};

function readTargets(r: MirrorsReader, raw: unknown, chinaHosts: readonly string[]): Map<string, Target> {
    const targets = new Map<string, Target>();
    if (!raw || typeof raw !== "object" || Array.isArray(raw) || Object.keys(raw).length === 0) {
        r.fail(
            ["targets"],
            "must be a mapping of named targets",
            "define at least one target, e.g. china-acr with kind: registry",
        );
        return targets;
    }
    for (const [name, entry] of Object.entries<Doc>(raw as Doc)) {
        const target = readTarget(r, ["targets", name], name, entry, chinaHosts);
        if (target) targets.set(name, target);
    }
    return targets;
}

function readTarget(
    r: MirrorsReader,
    p: YamlPath,
    name: string,
    raw: Doc,
    chinaHosts: readonly string[],
): Target | undefined {
    if (!raw || typeof raw !== "object") {
        r.fail(p, "must be a mapping", "give it kind and host");
        return undefined;
    }
    if (!Object.keys(TARGET_SETTINGS).includes(raw.kind)) {
        r.fail([...p, "kind"], `"${raw.kind}" is not a target kind`, "use registry, prefix, hostSwap or helmMirror");
        return undefined;
    }
    const kind = raw.kind as Target["kind"];
    r.known(p, raw, TARGET_SETTINGS[kind], `a setting of a ${kind} target`);
    const host = r.fill([...p, "host"], raw.host).toLowerCase();
    r.host([...p, "host"], host, false);
    if (host && !matchesAny(chinaHosts, host))
        r.fail(
            [...p, "host"],
            `"${host}" is not inside China according to chinaHosts, so pulls through it would cross the border`,
            "add the host to chinaHosts if it really is served from mainland China, or choose another target",
        );
    if (kind === "registry") return readRegistryTarget(r, p, name, host, raw);
    if (kind === "helmMirror") {
        const urlPrefix = r.fill([...p, "urlPrefix"], raw.urlPrefix).replace(/\/+$/, "");
        if (!urlPrefix.startsWith(`https://${host}/`) && urlPrefix !== `https://${host}`)
            r.fail(
                [...p, "urlPrefix"],
                `"${urlPrefix}" is not an https URL on ${host}`,
                `write https://${host}/<path>`,
            );
        return { name, kind: "helmMirror", host, urlPrefix };
    }
    return { name, kind, host };
}

const REPOSITORY_NAMESPACE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

function readRegistryTarget(r: MirrorsReader, p: YamlPath, name: string, host: string, raw: Doc): Target {
    const namespace = r.fill([...p, "namespace"], raw.namespace);
    if (namespace && !REPOSITORY_NAMESPACE.test(namespace))
        r.fail(
            [...p, "namespace"],
            `"${namespace}" is not a repository namespace`,
            "use lowercase letters, digits and single separators",
        );
    const layout = raw.layout ?? "flat";
    if (layout !== "flat" && layout !== "nested")
        r.fail([...p, "layout"], `"${layout}" is not a layout`, "use flat (ACR EE) or nested (ECR, Harbor)");
    const max = raw.maxRepositoryLength ?? (layout === "flat" ? 64 : 255);
    if (!Number.isInteger(max) || max < 24 || max > 255)
        r.fail(
            [...p, "maxRepositoryLength"],
            `${JSON.stringify(max)} is out of range`,
            "use a whole number from 24 to 255 (ACR EE allows 64)",
        );
    return { name, kind: "registry", host, namespace, layout, maxRepositoryLength: max };
}

/** `upstreams:` or `charts:`: host → target name, and the default target. */
function readMapping(
    r: MirrorsReader,
    data: Doc,
    section: "upstreams" | "charts",
    targets: ReadonlyMap<string, Target>,
    allowed: Target["kind"][],
): [Map<string, string>, string] {
    const out = new Map<string, string>();
    let dflt = "";
    const raw = data[section];
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
        r.fail([section], "must be a mapping of host: target", `add ${section}: with at least default: <target>`);
        return [out, dflt];
    }
    for (const [host, target] of Object.entries<unknown>(raw)) {
        const p = [section, host];
        if (host !== "default") r.host(p, host, false);
        const t = typeof target === "string" ? targets.get(target) : undefined;
        if (!t) {
            r.fail(
                p,
                `names the unknown target ${JSON.stringify(target)}`,
                `use one of: ${[...targets.keys()].join(", ") || "(define targets first)"}`,
            );
            continue;
        }
        if (!allowed.includes(t.kind)) {
            r.fail(
                p,
                `target "${target}" is a ${t.kind} target, which cannot serve ${section === "charts" ? "charts" : "images"}`,
                `use a ${allowed.join(" or ")} target`,
            );
            continue;
        }
        if (host === "default") dflt = target as string;
        else out.set(host.toLowerCase(), target as string);
    }
    if (!dflt) r.fail([section], "has no default", `add default: <target> for hosts not listed`);
    return [out, dflt];
}

/** A hostSwap target keeps the path, so it is injective only while it serves a single upstream. */
function checkHostSwaps(
    r: MirrorsReader,
    targets: ReadonlyMap<string, Target>,
    upstreams: ReadonlyMap<string, string>,
    defaultTarget: string,
): void {
    for (const t of targets.values()) {
        if (t.kind !== "hostSwap") continue;
        const users = [...upstreams].filter(([, n]) => n === t.name).map(([h]) => h);
        if (defaultTarget === t.name || users.length > 1) {
            r.fail(
                ["targets", t.name],
                `the hostSwap target serves ${defaultTarget === t.name ? "the default (every unlisted host)" : users.join(" and ")}, so different upstream repositories with the same path would land on the same image`,
                "use it for exactly one upstream host, or use a prefix or registry target",
            );
        }
    }
}

/** The `prefixes:` section: each upstream prefix with its target and a namespace no one else uses. */
function readPrefixes(
    r: MirrorsReader,
    raw: unknown,
    targets: ReadonlyMap<string, Target>,
    chinaHosts: readonly string[],
): PrefixMapping[] {
    if (raw === undefined || raw === null) return [];
    if (typeof raw !== "object" || Array.isArray(raw)) {
        r.fail(
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
            r.fail(
                p,
                `"${key}" is not an upstream repository prefix`,
                'write a registry host and at least one path component, e.g. "docker.io/istio"',
            );
            continue;
        }
        if (matchesAny(chinaHosts, parsed.domain)) {
            r.fail(p, `"${key}" is already inside China (chinaHosts)`, "remove it: nothing under it is rewritten");
            continue;
        }
        if (!entry || typeof entry !== "object" || Array.isArray(entry)) {
            r.fail(p, "must be a mapping with target and namespace", "write {target: china-acr, namespace: <name>}");
            continue;
        }
        r.known(p, entry, ["target", "namespace"], "a prefix setting");
        const target = typeof entry.target === "string" ? targets.get(entry.target) : undefined;
        if (!target || target.kind !== "registry") {
            r.fail(
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
        const namespace = r.fill([...p, "namespace"], entry.namespace);
        if (!namespace) continue;
        if (!ACR_NAMESPACE.test(namespace)) {
            r.fail(
                [...p, "namespace"],
                `"${namespace}" is not a registry namespace`,
                "use 2 to 120 lowercase letters, digits, _ and -, starting and ending with a letter or digit",
            );
            continue;
        }
        const where = `${target.host}/${namespace}`;
        const owner = owners.get(where);
        if (owner) {
            r.fail(
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

/**
 * chinaHosts cannot declare the outside world to be China: no pattern may cover a known registry or code
 * host outside China, or an upstream the file itself mirrors; a wildcard must lie under a suffix operated
 * only inside mainland China (core/hosts.ts).
 */
function checkChinaHosts(r: SourceReader, chinaHosts: readonly string[], upstreams: readonly string[]): void {
    chinaHosts.forEach((h, i) => {
        const p: YamlPath = ["chinaHosts", i];
        if (h.startsWith("*.") && !isChinaOperatedWildcard(h)) {
            r.fail(
                p,
                `"${h}" is a wildcard over ${h.slice(2)}, which is not operated only inside mainland China`,
                `list exact hosts, or a wildcard under one of ${chinaOperatedSuffixes().slice(0, 3).join(", ")}, …, amazonaws.com.cn`,
            );
            return;
        }
        const outside = KNOWN_OUTSIDE.find((k) => patternsOverlap(h, k));
        if (outside) {
            r.fail(
                p,
                `"${h}" covers ${outside}, which is outside China`,
                "remove it: a host outside China cannot be declared inside it, and whatever is pulled from it would cross the border",
            );
            return;
        }
        const upstream = upstreams.find((u) => u !== "default" && patternsOverlap(h, u));
        if (upstream)
            r.fail(
                p,
                `"${h}" covers ${upstream}, an upstream this file mirrors into China`,
                `remove it, or remove ${upstream} from upstreams/charts if it really is served from inside China`,
            );
    });
}
