/**
 * The stack facts the GitOps side needs (the China registry's endpoint and namespace), from the china
 * stack's real outputs when given, or else derived from stacks/Pulumi.china.yaml for offline use.
 */
import * as path from "path";
import { ACR_NAMESPACE } from "../core/acr";
import { ConfigError, loadStackConfig, StackConfig } from "./config";
import { mirrorVarsOf, registryEndpoints } from "./config/derived";
import { describeConfigError, readStackFile, StackFileError } from "./stackfile";
import { DEFAULT_MIRRORS_FILE, loadMirrors, MirrorVars, Mirrors } from "../core/mirrors";
import { readText, SourceError } from "../core/yaml-source";
import { SLOW_LINK } from "../core/slow-link";
import { cloudFacts } from "../core/cloud-facts";
import { acrRegionOf } from "../core/hosts";
import type { ClusterSettings } from "../gitops/render/emit";
import type { Doc } from "../gitops/objects/manifests";

export interface ContextOptions {
    /** `pulumi stack output --json -s china` saved to a file. */
    readonly stackOutputs?: string;
    /** @default "stacks" */
    readonly stacksDir?: string;
    /** @default gitops/mirrors.yaml */
    readonly mirrorsFile?: string;
}

/** Keys of the china stack's outputs that the GitOps side reads. */
export const OUTPUT_KEYS = { registryEndpoint: "registryEndpoint", registryNamespace: "registryNamespace" } as const;

/**
 * What the GitOps side reads from the stacks, each file read and validated once per command: the
 * `--stack-outputs` file (one stack's `pulumi stack output --json`, or `{"global": {...}, "china": {...}}`)
 * and, for whatever it does not give, the stack files.
 */
export class StackSources {
    private outputsData: unknown;
    private readonly configs = new Map<"global" | "china", StackConfig>();

    constructor(private readonly opts: ContextOptions = {}) {}

    private outputsFile(): Doc {
        if (this.outputsData === undefined) {
            const file = this.opts.stackOutputs!;
            try {
                this.outputsData = JSON.parse(readText(file, "stack outputs file"));
            } catch (e) {
                if (e instanceof SourceError) throw e;
                throw new SourceError(
                    `${file}: not JSON (${(e as Error).message}); save it with: pulumi stack output --json -s <stack> > ${file}`,
                );
            }
        }
        return this.outputsData as Doc;
    }

    /** Whether `--stack-outputs` gives this side's outputs (a combined file may lack one side). */
    hasOutputs(side: "global" | "china"): boolean {
        if (!this.opts.stackOutputs) return false;
        const data = this.outputsFile();
        return data?.global || data?.china ? Boolean(data[side]) : side === "china";
    }

    /** One side's outputs from `--stack-outputs`, with the keys the GitOps side reads. */
    outputs(side: "global" | "china"): Record<string, unknown> {
        const file = this.opts.stackOutputs!;
        const data = this.outputsFile();
        const outputs =
            data?.global || data?.china
                ? data[side]
                : data?.side === side || data?.side === undefined
                  ? data
                  : undefined;
        const missing = Object.values(OUTPUT_KEYS).filter((k) => typeof outputs?.[k] !== "string" || !outputs[k]);
        if (missing.length > 0) {
            throw new SourceError(
                `${file}: the ${side} stack's outputs lack ${missing.join(", ")}; write pulumi stack output --json -s ${side} there (or {"global": ..., "china": ...}), after pulumi up -s ${side}`,
            );
        }
        return outputs;
    }

    /** One side's validated config; a mistake is a StackFileError naming the file and line, as plan reports it. */
    config(side: "global" | "china"): StackConfig {
        let cfg = this.configs.get(side);
        if (!cfg) {
            const file = readStackFile(path.join(this.opts.stacksDir ?? "stacks", `Pulumi.${side}.yaml`));
            try {
                cfg = loadStackConfig(file.config, { stack: file.stack, isSecret: (k) => file.secretKeys.includes(k) });
            } catch (e) {
                if (e instanceof ConfigError) throw new StackFileError(describeConfigError(e, file));
                throw e;
            }
            this.configs.set(side, cfg);
        }
        return cfg;
    }
}

/**
 * The China registry's endpoint and namespace: the {{ placeholders }} of mirrors.yaml. From stack outputs
 * they are checked as the stack config is: an ACR EE endpoint in a mainland region, since everything
 * `{{ chinaRegistry }}` names is trusted to be inside China.
 */
export function mirrorVars(opts: ContextOptions = {}, src = new StackSources(opts)): MirrorVars {
    if (opts.stackOutputs) {
        const out = src.outputs("china");
        const endpoint = String(out.registryEndpoint).toLowerCase();
        const region = acrRegionOf(endpoint);
        // An air-gapped site's registry is inside China because the china stack file names it, never because
        // an outputs file says so.
        if (endpoint === declaredSite(src) && ACR_NAMESPACE.test(String(out.registryNamespace)))
            return { chinaRegistry: endpoint, registryNamespace: String(out.registryNamespace) };
        if (!region || !cloudFacts().alicloud.get(region)?.mainland) {
            throw new SourceError(
                `${opts.stackOutputs}: the china stack's registryEndpoint "${out.registryEndpoint}" is ${region ? `in ${region}, outside mainland China` : "not an ACR EE endpoint (<instance>-registry.<region>.cr.aliyuncs.com)"}; the China registry must be an ACR EE instance in a mainland region such as cn-hangzhou (crossborder:alicloud.region of the china stack), or the site registry the china stack file names (crossborder:registry.site). Save the china stack's outputs there: pulumi stack output --json -s china`,
            );
        }
        if (!ACR_NAMESPACE.test(String(out.registryNamespace)))
            throw new SourceError(
                `${opts.stackOutputs}: the china stack's registryNamespace "${out.registryNamespace}" is not an ACR EE namespace`,
            );
        return { chinaRegistry: endpoint, registryNamespace: String(out.registryNamespace) };
    }
    const cfg = src.config("china");
    return mirrorVarsOf(cfg);
}

/** crossborder:registry.site of the china stack file, when the file is there and names one. */
function declaredSite(src: StackSources): string | undefined {
    try {
        return src.config("china").registry.site;
    } catch {
        return undefined; // no stack files beside the outputs: only an ACR EE endpoint can be the China registry
    }
}

/** The ACR EE origin instance (global side): where the inventory copies to. */
export function originRegistry(opts: ContextOptions = {}, src = new StackSources(opts)): string {
    if (src.hasOutputs("global")) return String(src.outputs("global").registryEndpoint);
    const cfg = src.config("global");
    return registryEndpoints(cfg).public;
}

/** Per cluster: whether it is inside China, its slow-link profile, and where Flux pulls the tree from. */
export function clusterSettings(opts: ContextOptions = {}, src = new StackSources(opts)): ClusterSettings[] {
    return (["global", "china"] as const).map((side) => {
        const cfg = src.config(side);
        return {
            name: side,
            china: side === "china",
            profile: SLOW_LINK[side],
            git: { url: cfg.gitops.url, branch: cfg.gitops.branch, path: cfg.gitops.path },
            delivery: cfg.gitops.delivery,
            kubernetesVersion: cfg.cluster.kubernetesVersion,
        };
    });
}

/** Everything `crossborder render` needs from the stacks and the mirrors, each source read once. */
export function renderContext(opts: ContextOptions = {}): {
    vars: MirrorVars;
    mirrors: Mirrors;
    originRegistry: string;
    clusters: ClusterSettings[];
} {
    const src = new StackSources(opts);
    const vars = mirrorVars(opts, src);
    return {
        vars,
        mirrors: loadMirrors(opts.mirrorsFile ?? DEFAULT_MIRRORS_FILE, vars),
        originRegistry: originRegistry(opts, src),
        clusters: clusterSettings(opts, src),
    };
}

export function loadMirrorsFor(opts: ContextOptions = {}): Mirrors {
    return loadMirrors(opts.mirrorsFile ?? DEFAULT_MIRRORS_FILE, mirrorVars(opts));
}
