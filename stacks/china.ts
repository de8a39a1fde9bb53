/**
 * The china side: everything inside mainland China (partition aws-cn). Explicit providers only
 * (ctx.providers). Every image it deploys comes from the China registry, and the nodes' containerd sends
 * every upstream registry there too (gitops/mirrors.yaml).
 */
import { containerdHosts } from "../components/cluster";
import { acrEndpoints, RegistryInstance } from "../components/registry";
import { ServingBucket } from "../components/storage";
import { IpsecEndpoint } from "../components/vpn";
import { DEFAULT_CATALOG_FILE, loadCatalog } from "../gitops/catalog";
import { DEFAULT_MIRRORS_FILE, loadMirrors, rewriteImage } from "../gitops/mirrors";
import { runsIpsecEndpoint } from "./config";
import { peerOutputs } from "./peer";
import type { SideContext } from "./program";
import { bootstrapFlux, buildFoundation } from "./shared";

export async function buildChina(ctx: SideContext): Promise<Record<string, unknown>> {
    const { cfg, facts, providers } = ctx;
    const registry = new RegistryInstance(
        "china-registry",
        {
            instanceName: cfg.registry.instanceName,
            region: cfg.alicloud.region,
            instanceSpec: cfg.registry.instanceSpec,
            periodMonths: cfg.registry.periodMonths,
            namespace: cfg.registry.namespace,
        },
        { providers: { alicloud: providers.alicloud } },
    );
    // The endpoint follows from the instance's name and region, so the mirrors can be read before it exists.
    const mirrors = loadMirrors(DEFAULT_MIRRORS_FILE, {
        chinaRegistry: acrEndpoints(cfg.registry.instanceName, cfg.alicloud.region).public,
        registryNamespace: cfg.registry.namespace,
    });
    const catalog = loadCatalog(DEFAULT_CATALOG_FILE);
    const foundation = buildFoundation(ctx, {
        containerdHosts: containerdHosts(mirrors),
        refresherImage: rewriteImage(mirrors, catalog.platform.ecrRefresherImage),
    });
    const data = new ServingBucket(
        "china-data",
        {
            kind: "private-irsa",
            partition: facts.partition,
            bucketName: `${cfg.cluster.name}-data-${facts.accountId}`,
            oidcProviderArn: foundation.cluster.oidcProviderArn,
            issuerUrl: foundation.cluster.oidcIssuer,
        },
        { providers: { aws: providers.aws } },
    );

    // The China end of the border VPN: its public IP first; the tunnels once the global stack has them.
    let vpn: IpsecEndpoint | undefined;
    if (runsIpsecEndpoint(cfg)) {
        const hub = await peerOutputs(
            ctx,
            ["vpnTunnel1Address", "vpnTunnel2Address", "vpnTunnel1Psk", "vpnTunnel2Psk"],
            "the strongSwan endpoint's tunnels",
        );
        const { network } = foundation;
        vpn = new IpsecEndpoint(
            "china-vpn",
            {
                partition: facts.partition,
                region: cfg.aws.region,
                accountId: facts.accountId,
                vpcId: network.vpcId,
                vpcCidr: cfg.network.vpcCidr,
                publicSubnetId: network.publicSubnetIds.apply((ids) => ids[0]),
                zone: facts.zones[0],
                privateRouteTableIds: facts.zones.map((_, i) => network.privateRouteTableIds.apply((ids) => ids[i])),
                remoteCidrs: [cfg.vpn.hubVpcCidr, cfg.peer.vpcCidr],
                instanceType: cfg.vpn.instanceType,
                amiParameter: cfg.vpn.amiParameter,
                licensedCarrier: cfg.vpn.licensedCarrier ?? "",
                tunnels: hub
                    ? [
                          { address: hub.vpnTunnel1Address, psk: hub.vpnTunnel1Psk },
                          { address: hub.vpnTunnel2Address, psk: hub.vpnTunnel2Psk },
                      ]
                    : undefined,
            },
            { providers: { aws: providers.aws } },
        );
    }

    bootstrapFlux(ctx, foundation, catalog, mirrors);
    return {
        ...foundation.outputs,
        dataBucket: data.bucketName,
        dataReaderRoleArn: data.readerRoleArn,
        registryInstanceId: registry.instanceId,
        // What gitops/mirrors.yaml's {{ chinaRegistry }} and {{ registryNamespace }} resolve to.
        registryEndpoint: registry.publicEndpoint,
        registryVpcEndpoint: registry.vpcEndpoint,
        registryNamespace: registry.namespace,
        ...(vpn
            ? {
                  vpnPublicIp: vpn.publicIp,
                  vpnLicensedCarrier: cfg.vpn.licensedCarrier,
                  vpnEndpointRunning: vpn.running,
              }
            : {}),
    };
}
