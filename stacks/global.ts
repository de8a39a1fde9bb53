/**
 * The global side: everything outside mainland China. Explicit providers only (ctx.providers).
 */
import * as aws from "@pulumi/aws";
import { RegistryInstance, RegistrySyncRule } from "../components/registry";
import { ServingBucket } from "../components/storage";
import { VpnHub } from "../components/vpn";
import { DEFAULT_CATALOG_FILE, loadCatalog } from "../gitops/catalog";
import { peerOutputs } from "./peer";
import type { SideContext } from "./program";
import { bootstrapFlux, buildFoundation } from "./shared";

export async function buildGlobal(ctx: SideContext): Promise<Record<string, unknown>> {
    const { cfg, facts, providers } = ctx;
    const catalog = loadCatalog(DEFAULT_CATALOG_FILE);
    const foundation = buildFoundation(ctx, { refresherImage: catalog.platform.ecrRefresherImage });
    const downloads = new ServingBucket(
        "global-downloads",
        {
            kind: "public-prefix",
            partition: facts.partition,
            bucketName: `${cfg.cluster.name}-downloads-${facts.accountId}`,
            publicPrefix: cfg.s3.publicPrefix ?? "downloads/",
        },
        { providers: { aws: providers.aws } },
    );

    // The ACR EE origin instance, and the rule that replicates its namespace to the China instance.
    const origin = new RegistryInstance(
        "global-registry",
        {
            instanceName: cfg.registry.instanceName,
            region: cfg.alicloud.region,
            instanceSpec: cfg.registry.instanceSpec,
            periodMonths: cfg.registry.periodMonths,
            namespace: cfg.registry.namespace,
        },
        { providers: { alicloud: providers.alicloud } },
    );
    const china = await peerOutputs(
        ctx,
        ["registryInstanceId", "alicloudRegion"],
        "the ACR EE sync rule origin -> China",
    );
    if (china) {
        new RegistrySyncRule(
            "global-registry",
            {
                originInstanceId: origin.instanceId,
                namespace: origin.namespace,
                chinaInstanceId: china.registryInstanceId,
                chinaRegion: china.alicloudRegion,
            },
            { providers: { alicloud: providers.alicloud } },
        );
    }

    // The VPN hub in Hong Kong or Singapore; the connection once the china stack has its public IP.
    let vpn: VpnHub | undefined;
    if (cfg.vpn.enabled && providers.awsHub) {
        const chinaVpn = await peerOutputs(ctx, ["vpnPublicIp"], "the VPN customer gateway and connection");
        const hubZones = await aws.getAvailabilityZones({ state: "available" }, { provider: providers.awsHub });
        vpn = new VpnHub(
            "global-vpn",
            {
                hubVpcCidr: cfg.vpn.hubVpcCidr,
                hubZone: [...hubZones.names].sort()[0],
                chinaPublicIp: chinaVpn?.vpnPublicIp,
                chinaCidrs: [cfg.peer.vpcCidr],
            },
            { providers: { aws: providers.awsHub, random: providers.random } },
        );
    }

    bootstrapFlux(ctx, foundation, catalog);
    return {
        ...foundation.outputs,
        downloadsBucket: downloads.bucketName,
        downloadsBaseUrl: downloads.publicBaseUrl,
        registryInstanceId: origin.instanceId,
        // The ACR EE origin instance: the inventory's destination, replicated to the China instance.
        registryEndpoint: origin.publicEndpoint,
        registryVpcEndpoint: origin.vpcEndpoint,
        registryNamespace: origin.namespace,
        ...(vpn
            ? {
                  vpnHubRegion: cfg.vpn.hubRegion,
                  vpnHubVpcCidr: cfg.vpn.hubVpcCidr,
                  vpnTunnel1Address: vpn.tunnel1Address,
                  vpnTunnel2Address: vpn.tunnel2Address,
                  vpnTunnel1Psk: vpn.tunnel1Psk,
                  vpnTunnel2Psk: vpn.tunnel2Psk,
              }
            : {}),
    };
}
