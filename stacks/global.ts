/**
 * The global side: everything outside mainland China. Explicit providers only (ctx.providers).
 */
import * as pulumi from "@pulumi/pulumi";
import { RegistryInstance, RegistrySyncRule } from "../components/registry";
import { ServingBucket } from "../components/storage";
import { VpnHub } from "../components/vpn";
import { DEFAULT_CATALOG_FILE, loadCatalog } from "../gitops/catalog";
import { chinaPrefixNamespaces } from "./config/derived";
import { peerOutputs } from "./peer";
import { notice } from "./notices";
import type { SideContext } from "./side";
import { bootstrapFlux, buildFoundation, Foundation } from "./shared";

/** The border VPN's hub: a Transit Gateway in the hub region, peered with the global VPC's region. */
async function borderHub(ctx: SideContext, foundation: Foundation): Promise<VpnHub | undefined> {
    const { cfg, facts, providers } = ctx;
    if (!cfg.vpn.enabled || !providers.awsHub) return undefined;
    const chinaVpn = await peerOutputs(ctx, ["vpnPublicIp"], "the VPN customer gateway and connection");
    const { network, cluster } = foundation;
    return new VpnHub(
        "global-vpn",
        {
            hubRegion: cfg.vpn.hubRegion,
            hubProvider: providers.awsHub,
            globalVpc: {
                region: cfg.aws.region,
                vpcId: network.vpcId,
                cidr: cfg.network.vpcCidr,
                subnetIds: network.privateSubnetIds,
                routeTableIds: facts.zones.map((_, i) => network.privateRouteTableIds.apply((ids) => ids[i])),
                securityGroupId: cluster.securityGroupId,
            },
            chinaPublicIp: chinaVpn?.vpnPublicIp,
            chinaCidr: cfg.peer.vpcCidr,
        },
        { providers: { aws: providers.aws, random: providers.random } },
    );
}

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

    // The ACR EE origin instance (pushed to by the copy host only), and the rule that replicates its
    // namespace to the China instance.
    const prefixNamespaces = chinaPrefixNamespaces(cfg.registry.namespace);
    const origin = new RegistryInstance(
        "global-registry",
        {
            role: "origin",
            instanceName: cfg.registry.instanceName,
            region: cfg.alicloud.region,
            instanceSpec: cfg.registry.instanceSpec,
            periodMonths: cfg.registry.periodMonths,
            namespace: cfg.registry.namespace,
            prefixNamespaces,
            internetAccess: cfg.registry.pushCidrs.map((cidr) => ({
                cidr,
                description: "the copy host (inventory/copy.sh)",
            })),
        },
        { providers: { alicloud: providers.alicloud, random: providers.random } },
    );
    // An air-gapped china side has no ACR EE instance to replicate to: crossborder bundle carries its images.
    const site = (await ctx.peer.getOutputDetails("registrySite")).value;
    if (site)
        notice(
            `the ACR EE sync rule origin -> China: none, because the china stack pulls from its site registry ${String(site)} (crossborder:registry.site); carry the images there with crossborder bundle and bundle load`,
        );
    const china = site
        ? undefined
        : await peerOutputs(ctx, ["registryInstanceId", "alicloudRegion"], "the ACR EE sync rule origin -> China");
    if (china) {
        // The main namespace and each prefix namespace, replicated alike (the china stack creates its side).
        const replicated: [string, pulumi.Output<string>][] = [
            ["global-registry", origin.namespace],
            ...prefixNamespaces.map((n, i): [string, pulumi.Output<string>] => [
                `global-registry-prefix-${n}`,
                origin.prefixNamespaces[i],
            ]),
        ];
        for (const [name, namespace] of replicated)
            new RegistrySyncRule(
                name,
                {
                    originInstanceId: origin.instanceId,
                    namespace,
                    chinaInstanceId: china.registryInstanceId,
                    chinaRegion: china.alicloudRegion,
                },
                { providers: { alicloud: providers.alicloud } },
            );
    }

    const vpn = await borderHub(ctx, foundation);
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
                  vpnHubTransitGatewayId: vpn.hubTransitGatewayId,
                  vpnTunnel1Address: vpn.tunnel1Address,
                  vpnTunnel2Address: vpn.tunnel2Address,
                  vpnTunnel1Psk: vpn.tunnel1Psk ? pulumi.secret(vpn.tunnel1Psk) : undefined,
                  vpnTunnel2Psk: vpn.tunnel2Psk ? pulumi.secret(vpn.tunnel2Psk) : undefined,
              }
            : {}),
    };
}
