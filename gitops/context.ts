/**
 * The stack facts the GitOps side needs (the China registry's endpoint and namespace), from the china
 * stack's real outputs when given, or else derived from stacks/Pulumi.china.yaml for offline use.
 */
import * as path from "path";
import { acrEndpoints } from "../components/registry/endpoints";
import { loadStackConfig } from "../stacks/config";
import { readStackFile } from "../stacks/stackfile";
import { DEFAULT_MIRRORS_FILE, loadMirrors, MirrorVars, Mirrors } from "./mirrors";
import { readText, SourceError } from "./yaml-source";
import { SLOW_LINK } from "../stacks/slow-link";
import type { ClusterSettings } from "./tree";

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
 * Outputs of one stack from `--stack-outputs F`. F is either one stack's `pulumi stack output --json`,
 * or `{"global": {...}, "china": {...}}` with both.
 */
function stackOutputs(file: string, side: "global" | "china"): Record<string, unknown> {
    let data: any;
    try {
        data = JSON.parse(readText(file, "stack outputs file"));
    } catch (e) {
        if (e instanceof SourceError) throw e;
        throw new SourceError(`${file}: not JSON (${(e as Error).message}); save it with: pulumi stack output --json -s ${side} > ${file}`);
    }
    const outputs = data?.global || data?.china ? data[side] : data?.side === side || data?.side === undefined ? data : undefined;
    const missing = Object.values(OUTPUT_KEYS).filter((k) => typeof outputs?.[k] !== "string" || !outputs[k]);
    if (missing.length > 0) {
        throw new SourceError(`${file}: the ${side} stack's outputs lack ${missing.join(", ")}; write pulumi stack output --json -s ${side} there (or {"global": ..., "china": ...}), after pulumi up -s ${side}`);
    }
    return outputs;
}

function stackConfig(opts: ContextOptions, side: "global" | "china") {
    const file = readStackFile(path.join(opts.stacksDir ?? "stacks", `Pulumi.${side}.yaml`));
    return loadStackConfig(file.config, { stack: file.stack });
}

/** The China registry's endpoint and namespace: the {{ placeholders }} of mirrors.yaml. */
export function mirrorVars(opts: ContextOptions = {}): MirrorVars {
    if (opts.stackOutputs) {
        const out = stackOutputs(opts.stackOutputs, "china");
        return { chinaRegistry: String(out.registryEndpoint), registryNamespace: String(out.registryNamespace) };
    }
    const cfg = stackConfig(opts, "china");
    return { chinaRegistry: acrEndpoints(cfg.registry.instanceName, cfg.alicloud.region).public, registryNamespace: cfg.registry.namespace };
}

/** The ACR EE origin instance (global side): where the inventory copies to. */
export function originRegistry(opts: ContextOptions = {}): string {
    if (opts.stackOutputs) {
        const raw = JSON.parse(readText(opts.stackOutputs, "stack outputs file"));
        if (raw?.global) return String(stackOutputs(opts.stackOutputs, "global").registryEndpoint);
    }
    const cfg = stackConfig(opts, "global");
    return acrEndpoints(cfg.registry.instanceName, cfg.alicloud.region).public;
}

/** Per cluster: whether it is inside China, its slow-link profile, and where Flux pulls the tree from. */
export function clusterSettings(opts: ContextOptions = {}): ClusterSettings[] {
    return (["global", "china"] as const).map((side) => {
        const cfg = stackConfig(opts, side);
        return { name: side, china: side === "china", profile: SLOW_LINK[side], git: { url: cfg.gitops.url, branch: cfg.gitops.branch, path: cfg.gitops.path } };
    });
}

export function loadMirrorsFor(opts: ContextOptions = {}): Mirrors {
    return loadMirrors(opts.mirrorsFile ?? DEFAULT_MIRRORS_FILE, mirrorVars(opts));
}
