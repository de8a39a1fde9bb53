/**
 * The china side: everything inside mainland China (partition aws-cn). Explicit providers only
 * (ctx.providers). Every image it deploys comes from the China registry, and the nodes' containerd sends
 * every upstream registry there too (gitops/mirrors.yaml).
 */
import * as pulumi from "@pulumi/pulumi";
import { containerdHosts } from "../components/cluster";
import { RegistryInstance } from "../components/registry";
import { ServingBucket } from "../components/storage";
import { IpsecEndpoint } from "../components/vpn";
import { DEFAULT_CATALOG_FILE, loadCatalog } from "../gitops/catalog";
import {
    DEFAULT_MIRRORS_FILE,
    loadMirrors,
    prefixNamespaces,
    REGISTRY_PULL_SECRET,
    rewriteImage,
} from "../core/mirrors";
import { planSubnets } from "../components/network";
import { runsIpsecEndpoint, StackConfig } from "./config";
import { mirrorVarsOf, registryEndpoints } from "./config/derived";
import { peerOutputs } from "./peer";
import type { SideContext } from "./side";
import { bootstrapFlux, buildFoundation, Foundation } from "./shared";

/** Docker config JSON with the pull credentials for both endpoints of the China instance (a secret). */
export function registryDockerConfig(cfg: StackConfig): pulumi.Output<string> {
    const endpoints = registryEndpoints(cfg);
    const auth = Buffer.from(`${cfg.registry.pullUser ?? ""}:${cfg.registry.pullPassword ?? ""}`).toString("base64");
    return pulumi.secret(JSON.stringify({ auths: { [endpoints.public]: { auth }, [endpoints.vpc]: { auth } } }));
}

/** Who may reach the China instance: the nodes (through the NAT gateways) and the machine that runs pulumi up. */
function chinaRegistryAccess(cfg: StackConfig, foundation: Foundation, natCount: number) {
    return [
        ...Array.from({ length: natCount }, (_, i) => ({
            cidr: foundation.network.natPublicIps.apply((ips) => `${ips[i]}/32`),
            description: `china nodes (NAT gateway ${i + 1})`,
        })),
        ...cfg.cluster.deployAccessCidrs.map((cidr) => ({ cidr, description: "pulumi up (Flux's chart)" })),
    ];
}

async function borderEndpoint(ctx: SideContext, foundation: Foundation): Promise<IpsecEndpoint> {
    const { cfg, facts, providers } = ctx;
    const hub = await peerOutputs(
        ctx,
        ["vpnTunnel1Address", "vpnTunnel2Address", "vpnTunnel1Psk", "vpnTunnel2Psk"],
        "the strongSwan endpoint's tunnels",
    );
    const { network, cluster } = foundation;
    const zone = facts.zones[0];
    return new IpsecEndpoint(
        "china-vpn",
        {
            partition: facts.partition,
            region: cfg.aws.region,
            accountId: facts.accountId,
            vpcId: network.vpcId,
            vpcCidr: cfg.network.vpcCidr,
            zone,
            publicSubnet: {
                id: network.publicSubnetIds.apply((ids) => ids[0]),
                cidr: planSubnets(cfg.network.vpcCidr, facts.zones)[0].public,
            },
            privateSubnetId: network.privateSubnetIds.apply((ids) => ids[0]),
            privateRouteTableIds: facts.zones.map((_, i) => network.privateRouteTableIds.apply((ids) => ids[i])),
            remoteCidrs: [cfg.peer.vpcCidr],
            clusterSecurityGroupId: cluster.securityGroupId,
            instanceType: cfg.vpn.instanceType,
            amiParameter: cfg.vpn.amiParameter,
            aptMirror: cfg.vpn.aptMirror,
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

export async function buildChina(ctx: SideContext): Promise<Record<string, unknown>> {
    const { cfg, facts, providers } = ctx;
    // The endpoint follows from the instance's name and region, so the mirrors can be read before it exists.
    const vars = mirrorVarsOf(cfg);
    const mirrors = loadMirrors(DEFAULT_MIRRORS_FILE, vars);
    const catalog = loadCatalog(DEFAULT_CATALOG_FILE);
    const foundation = buildFoundation(ctx, {
        containerdHosts: containerdHosts(mirrors),
        registryAuth: { dockerConfigJson: registryDockerConfig(cfg) },
        refresherImage: rewriteImage(mirrors, catalog.platform.ecrRefresherImage),
    });
    const natCount = cfg.network.natGateways === "single" ? 1 : facts.zones.length;
    // An air-gapped site brings its own registry (crossborder:registry.site), filled by crossborder bundle load.
    const site = cfg.registry.site;
    const registry = site
        ? undefined
        : new RegistryInstance(
              "china-registry",
              {
                  role: "china",
                  instanceName: cfg.registry.instanceName,
                  region: cfg.alicloud.region,
                  instanceSpec: cfg.registry.instanceSpec,
                  periodMonths: cfg.registry.periodMonths,
                  namespace: cfg.registry.namespace,
                  prefixNamespaces: prefixNamespaces(mirrors, vars.chinaRegistry),
                  internetAccess: chinaRegistryAccess(cfg, foundation, natCount),
              },
              { providers: { alicloud: providers.alicloud, random: providers.random } },
          );
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
    const vpn = runsIpsecEndpoint(cfg) ? await borderEndpoint(ctx, foundation) : undefined;

    // source-controller pulls the China registry's charts (and the tree's artifact) with its own credentials.
    const flux = bootstrapFlux(ctx, foundation, catalog, mirrors, {
        secretName: REGISTRY_PULL_SECRET,
        dockerConfigJson: registryDockerConfig(cfg),
        username: cfg.registry.pullUser ?? "",
        password: pulumi.secret(cfg.registry.pullPassword ?? ""),
        namespaces: [
            ...catalog.releases.filter((r) => r.clusters.includes("china")).map((r) => r.namespace),
            ...cfg.gitops.pullSecretNamespaces,
        ],
    });
    return {
        ...foundation.outputs,
        dataBucket: data.bucketName,
        dataReaderRoleArn: data.readerRoleArn,
        // What gitops/mirrors.yaml's {{ chinaRegistry }} and {{ registryNamespace }} resolve to.
        ...(registry
            ? {
                  registryInstanceId: registry.instanceId,
                  registryEndpoint: registry.publicEndpoint,
                  registryVpcEndpoint: registry.vpcEndpoint,
                  registryNamespace: registry.namespace,
              }
            : {
                  registryEndpoint: site,
                  registryVpcEndpoint: site,
                  registryNamespace: cfg.registry.namespace,
                  registrySite: site,
              }),
        fluxInstalled: flux !== undefined,
        ...(vpn
            ? {
                  vpnPublicIp: vpn.publicIp,
                  vpnLicensedCarrier: cfg.vpn.licensedCarrier,
                  vpnEndpointRunning: vpn.running,
              }
            : {}),
    };
}
