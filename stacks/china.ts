/**
 * The china side: everything inside mainland China (partition aws-cn). Components are added here as they
 * land; each one takes explicit providers from `ctx.providers`.
 */
import type { SideContext } from "./program";

export async function buildChina(ctx: SideContext): Promise<Record<string, unknown>> {
    const { cfg } = ctx;
    return {
        registryNamespace: cfg.registry.namespace,
    };
}
