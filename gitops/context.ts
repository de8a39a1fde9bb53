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

export function mirrorVars(opts: ContextOptions = {}): MirrorVars {
    if (opts.stackOutputs) {
        let data: any;
        try {
            data = JSON.parse(readText(opts.stackOutputs, "stack outputs file"));
        } catch (e) {
            if (e instanceof SourceError) throw e;
            throw new SourceError(`${opts.stackOutputs}: not JSON (${(e as Error).message}); save it with: pulumi stack output --json -s china > ${opts.stackOutputs}`);
        }
        const missing = Object.values(OUTPUT_KEYS).filter((k) => typeof data?.[k] !== "string" || !data[k]);
        if (missing.length > 0) throw new SourceError(`${opts.stackOutputs}: missing ${missing.join(", ")}; these are the china stack's outputs (pulumi stack output --json -s china) — run pulumi up -s china first`);
        return { chinaRegistry: data.registryEndpoint, registryNamespace: data.registryNamespace };
    }
    const file = readStackFile(path.join(opts.stacksDir ?? "stacks", "Pulumi.china.yaml"));
    const cfg = loadStackConfig(file.config, { stack: file.stack });
    return { chinaRegistry: acrEndpoints(cfg.registry.instanceName, cfg.alicloud.region).public, registryNamespace: cfg.registry.namespace };
}

export function loadMirrorsFor(opts: ContextOptions = {}): Mirrors {
    return loadMirrors(opts.mirrorsFile ?? DEFAULT_MIRRORS_FILE, mirrorVars(opts));
}
