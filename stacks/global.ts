/**
 * The global side: everything outside mainland China. Components are added here as they land; each one
 * takes explicit providers from `ctx.providers`.
 */
import { acrEndpoints } from "../components/registry/endpoints";
import type { SideContext } from "./program";

export async function buildGlobal(ctx: SideContext): Promise<Record<string, unknown>> {
    const { cfg } = ctx;
    return {
        // The ACR EE origin instance: the inventory's destination, replicated to the China instance.
        registryEndpoint: acrEndpoints(cfg.registry.instanceName, cfg.alicloud.region).public,
        vpnHubRegion: cfg.vpn.enabled ? cfg.vpn.hubRegion : undefined,
        registryNamespace: cfg.registry.namespace,
    };
}
