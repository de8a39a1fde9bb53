/**
 * The global side: everything outside mainland China. Explicit providers only (ctx.providers).
 */
import { acrEndpoints } from "../components/registry/endpoints";
import { ServingBucket } from "../components/storage";
import { loadCatalog, DEFAULT_CATALOG_FILE } from "../gitops/catalog";
import type { SideContext } from "./program";
import { buildFoundation } from "./shared";

export async function buildGlobal(ctx: SideContext): Promise<Record<string, unknown>> {
    const { cfg, facts, providers } = ctx;
    const foundation = buildFoundation(ctx, { refresherImage: loadCatalog(DEFAULT_CATALOG_FILE).platform.ecrRefresherImage });
    const downloads = new ServingBucket(
        "global-downloads",
        { kind: "public-prefix", partition: facts.partition, bucketName: `${cfg.cluster.name}-downloads-${facts.accountId}`, publicPrefix: cfg.s3.publicPrefix ?? "downloads/" },
        { providers: { aws: providers.aws } },
    );
    return {
        ...foundation.outputs,
        downloadsBucket: downloads.bucketName,
        downloadsBaseUrl: downloads.publicBaseUrl,
        vpnHubRegion: cfg.vpn.enabled ? cfg.vpn.hubRegion : undefined,
        // The ACR EE origin instance: the inventory's destination, replicated to the China instance.
        registryEndpoint: acrEndpoints(cfg.registry.instanceName, cfg.alicloud.region).public,
        registryNamespace: cfg.registry.namespace,
    };
}
