/**
 * The china side: everything inside mainland China (partition aws-cn). Components are added here as they
 * land; each one takes explicit providers from `ctx.providers`.
 */
import { acrEndpoints } from "../components/registry/endpoints";
import type { SideContext } from "./program";

export async function buildChina(ctx: SideContext): Promise<Record<string, unknown>> {
    const { cfg } = ctx;
    return {
        // What gitops/mirrors.yaml's {{ chinaRegistry }} and {{ registryNamespace }} resolve to.
        registryEndpoint: acrEndpoints(cfg.registry.instanceName, cfg.alicloud.region).public,
        registryNamespace: cfg.registry.namespace,
    };
}
