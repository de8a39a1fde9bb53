/**
 * Facts that follow from a stack's config, each worked out here and nowhere else: the ACR EE endpoints
 * of the stack's own instance, the values of mirrors.yaml's {{ chinaRegistry }} and {{ registryNamespace }}
 * (the mirror variables), and the namespaces `prefixes:` adds on the China
 * instance. The stacks, the generator's inputs (stacks/gitops-inputs.ts), the bring-up order, publish and
 * the config's own checks all ask here.
 *
 * It takes the few settings it needs rather than the whole config, so the config reader can ask before
 * the config is complete (a china Git URL is judged against the mirrors these settings give).
 */
import { acrEndpoints } from "../../core/acr";
import { DEFAULT_MIRRORS_FILE, loadMirrors, MirrorVars, prefixNamespaces } from "../../core/mirrors";

/** The settings the registry facts follow from (a StackConfig has them). */
export interface RegistrySettings {
    readonly registry: { readonly instanceName: string; readonly namespace: string; readonly site?: string };
    readonly alicloud: { readonly region: string };
}

/** The stack's own registry: its ACR EE instance's internet and VPC endpoints, or an air-gapped site's registry. */
export function registryEndpoints(s: RegistrySettings): { readonly public: string; readonly vpc: string } {
    if (s.registry.site) return { public: s.registry.site, vpc: s.registry.site };
    return acrEndpoints(s.registry.instanceName, s.alicloud.region);
}

/** The mirror variables when this stack's instance is the China registry (the china stack's config). */
export function mirrorVarsOf(s: RegistrySettings): MirrorVars {
    return { chinaRegistry: registryEndpoints(s).public, registryNamespace: s.registry.namespace };
}

/** A host that stands for the China instance where its endpoint is not known (the global stack). */
const CHINA_STAND_IN = "china-registry.crossborder.invalid";

/**
 * The namespaces mirrors.yaml `prefixes:` gives the China instance ({{ chinaRegistry }}). They follow from
 * the file and the replicated namespace only, so the global stack, which does not know the China
 * endpoint, reads the file with a stand-in for it and counts the prefixes on that target.
 */
export function chinaPrefixNamespaces(registryNamespace: string, file: string = DEFAULT_MIRRORS_FILE): string[] {
    const vars = { chinaRegistry: CHINA_STAND_IN, registryNamespace };
    return prefixNamespaces(loadMirrors(file, vars), CHINA_STAND_IN);
}
