/**
 * What both sides build the same way: the network, the EKS cluster, ECR and (when enabled) the token
 * refresher. Each side adds its own parts in stacks/global.ts and stacks/china.ts.
 */
import * as k8s from "@pulumi/kubernetes";
import { Cluster } from "../components/cluster";
import { FluxBootstrap, FluxImage } from "../components/flux";
import { Catalog } from "../gitops/catalog";
import { Mirrors, rewriteChartSource, rewriteReference } from "../gitops/mirrors";
import { nameOf, parseNormalizedNamed } from "../gitops/reference";
import { EcrRepositories, EcrTokenRefresher, ecrRegistry } from "../components/ecr";
import { Network } from "../components/network";
import { cloudFacts } from "./facts";
import type { SideContext } from "./program";
import { SLOW_LINK } from "./slow-link";

export interface Foundation {
    readonly network: Network;
    readonly cluster: Cluster;
    readonly ecr: EcrRepositories;
    readonly k8sProvider: k8s.Provider;
    readonly outputs: Record<string, unknown>;
}

export function buildFoundation(
    ctx: SideContext,
    extra: { containerdHosts?: ReadonlyMap<string, string>; refresherImage: string },
): Foundation {
    const { cfg, facts, providers } = ctx;
    const awsOpts = { providers: { aws: providers.aws } };
    const network = new Network(
        cfg.side,
        {
            vpcCidr: cfg.network.vpcCidr,
            zones: facts.zones,
            natGateways: cfg.network.natGateways,
            clusterName: cfg.cluster.name,
        },
        awsOpts,
    );
    const cluster = new Cluster(
        cfg.side,
        {
            partition: facts.partition,
            region: cfg.aws.region,
            name: cfg.cluster.name,
            kubernetesVersion: cfg.cluster.kubernetesVersion,
            endpointPublicAccess: cfg.cluster.endpointPublicAccess,
            publicAccessCidrs: cfg.cluster.publicAccessCidrs,
            subnetIds: network.privateSubnetIds,
            nodeGroups: cfg.cluster.nodeGroups,
            containerdHosts: extra.containerdHosts,
            addonAccount: cloudFacts().aws.get(cfg.aws.region)?.eksAddonAccount,
        },
        awsOpts,
    );
    const ecr = new EcrRepositories(
        cfg.side,
        { repositories: cfg.ecr.repositories, keepImages: cfg.ecr.keepImages },
        awsOpts,
    );
    const k8sProvider = new k8s.Provider(`${cfg.side}-k8s`, {
        kubeconfig: cluster.kubeconfig,
        enableServerSideApply: true,
    });
    const registry = ecrRegistry(facts.partition, facts.accountId, cfg.aws.region);
    let refresher: EcrTokenRefresher | undefined;
    if (cfg.ecrRefresher.enabled) {
        refresher = new EcrTokenRefresher(
            `${cfg.side}-ecr-refresher`,
            {
                partition: facts.partition,
                region: cfg.aws.region,
                registry,
                namespaces: cfg.ecrRefresher.namespaces,
                refreshHours: cfg.ecrRefresher.refreshHours,
                image: extra.refresherImage,
                profile: SLOW_LINK[cfg.side],
                credentials: cfg.ecrRefresher.credentialsSecret
                    ? { secret: cfg.ecrRefresher.credentialsSecret }
                    : { irsa: { oidcProviderArn: cluster.oidcProviderArn, issuerUrl: cluster.oidcIssuer } },
            },
            { providers: { aws: providers.aws, kubernetes: k8sProvider } },
        );
    }
    return {
        network,
        cluster,
        ecr,
        k8sProvider,
        outputs: {
            vpcId: network.vpcId,
            privateSubnetIds: network.privateSubnetIds,
            publicSubnetIds: network.publicSubnetIds,
            privateRouteTableIds: network.privateRouteTableIds,
            clusterName: cluster.name,
            clusterEndpoint: cluster.endpoint,
            oidcIssuer: cluster.oidcIssuer,
            kubeconfig: cluster.kubeconfig,
            eksAddonRegistry: cluster.addonRegistry,
            ecrRegistry: registry,
            ecrRepositoryUrls: ecr.repositoryUrls,
            ...(refresher ? { ecrRefresherSchedule: refresher.schedule } : {}),
        },
    };
}

/**
 * Flux on this side's cluster, reconciling clusters/<side> of the generated tree. With `mirrors` (the
 * china side) the chart and every image come from the China registry.
 */
export function bootstrapFlux(
    ctx: SideContext,
    foundation: Foundation,
    catalog: Catalog,
    mirrors?: Mirrors,
): FluxBootstrap {
    const { cfg } = ctx;
    const images = new Map<string, FluxImage>();
    for (const image of catalog.fluxImages) {
        const upstream = parseNormalizedNamed(image);
        const ref = mirrors ? rewriteReference(mirrors, upstream) : upstream;
        images.set(upstream.path.split("/").pop()!, { repository: nameOf(ref), tag: ref.tag ?? "" });
    }
    const chart = catalog.fluxChart;
    const chartUrl = mirrors
        ? rewriteChartSource(mirrors, { url: chart.repository, chart: chart.name, version: chart.version }).url
        : chart.repository;
    return new FluxBootstrap(
        `${cfg.side}-flux`,
        { chartUrl, chartVersion: chart.version, images, git: cfg.gitops, profile: SLOW_LINK[cfg.side] },
        { providers: { kubernetes: foundation.k8sProvider } },
    );
}
