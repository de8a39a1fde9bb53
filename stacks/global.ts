/**
 * The global side: everything outside mainland China. Components are added here as they land; each one
 * takes explicit providers from `ctx.providers`.
 */
import type { SideContext } from "./program";

export async function buildGlobal(ctx: SideContext): Promise<Record<string, unknown>> {
    const { cfg } = ctx;
    return {
        vpnHubRegion: cfg.vpn.enabled ? cfg.vpn.hubRegion : undefined,
        registryNamespace: cfg.registry.namespace,
    };
}
