/**
 * The China mapping's model: what gitops/mirrors.yaml says (targets, upstreams, charts, prefixes, the
 * hosts inside China) once read, and the one question about hosts everything asks: is it inside China?
 * Reading the file is read.ts; mapping names through it is map.ts.
 */
import { InputError } from "../errors";
import { hostMatches } from "../hosts";

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

export function matchesAny(patterns: readonly string[], host: string): boolean {
    return patterns.some((p) => hostMatches(p, host));
}

/** Whether `host` (a registry, chart or Git host) is served from inside mainland China. */
export function isChinaHost(mirrors: Mirrors, host: string): boolean {
    return matchesAny(mirrors.chinaHosts, host);
}

/**
 * Everything a mirrors configuration says, as one stable text (maps as their entries): a cache key part for
 * results that depend on how images are rewritten.
 */
export function mirrorsFingerprint(m: Mirrors): string {
    return JSON.stringify(m, (_k, v: unknown) =>
        v instanceof Map
            ? [...v].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            : v instanceof Set
              ? [...v].sort()
              : v,
    );
}
