/**
 * What both sides build the same way: the network, the EKS cluster, ECR and (when enabled) the token
 * refresher, and Flux. Each side adds its own parts in stacks/global.ts and stacks/china.ts.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Cluster, RegistryAuth } from "../components/cluster";
import { EcrRepositories, EcrTokenRefresher, ecrRegistry } from "../components/ecr";
import { FluxBootstrap, FluxImage, GitAuth, RegistryCredentials, TreeSource } from "../components/flux";
import { Network } from "../components/network";
import { SLOW_LINK } from "../core/slow-link";
import { Catalog } from "../gitops/catalog";
import {
    archivePath,
    ChartCacheError,
    chartLabel,
    defaultChartCache,
    lockedArchive,
    lockFileFor,
    readLock,
} from "../gitops/engine/charts";
import { Mirrors, rewriteReference } from "../core/mirrors";
import { nameOf, parseNormalizedNamed } from "../core/reference";
import { apiAccess, StackConfig } from "./config";
import { registryEndpoints } from "./config/derived";
import { cloudFacts } from "../core/cloud-facts";
import { notice } from "./notices";
import type { SideContext } from "./side";

export interface Foundation {
    readonly network: Network;
    readonly cluster: Cluster;
    readonly ecr: EcrRepositories;
    readonly k8sProvider: k8s.Provider;
    readonly outputs: Record<string, unknown>;
}

export interface FoundationExtras {
    readonly containerdHosts?: ReadonlyMap<string, string>;
    readonly registryAuth?: RegistryAuth;
    readonly refresherImage: string;
}

export function buildFoundation(ctx: SideContext, extra: FoundationExtras): Foundation {
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
    const access = apiAccess(cfg.cluster);
    const cluster = new Cluster(
        cfg.side,
        {
            partition: facts.partition,
            region: cfg.aws.region,
            name: cfg.cluster.name,
            kubernetesVersion: cfg.cluster.kubernetesVersion,
            endpointPublicAccess: access.public,
            publicAccessCidrs: access.cidrs,
            deployFromCidr: cfg.cluster.deployFromVpc ? cfg.network.vpcCidr : undefined,
            subnetIds: network.privateSubnetIds,
            nodeGroups: cfg.cluster.nodeGroups,
            containerdHosts: extra.containerdHosts,
            registryAuth: extra.registryAuth,
            addonAccount: cloudFacts().aws.get(cfg.aws.region)?.eksAddonAccount,
        },
        awsOpts,
    );
    const ecr = new EcrRepositories(
        cfg.side,
        { repositories: cfg.ecr.repositories, keepImages: cfg.ecr.keepImages },
        awsOpts,
    );
    const k8sProvider = new k8s.Provider(
        `${cfg.side}-k8s`,
        { kubeconfig: cluster.kubeconfig, enableServerSideApply: true },
        { dependsOn: cluster.ready },
    );
    const registry = ecrRegistry(facts.partition, facts.accountId, cfg.aws.region);
    let refresher: EcrTokenRefresher | undefined;
    if (cfg.ecrRefresher.enabled) {
        refresher = new EcrTokenRefresher(
            `${cfg.side}-ecr-refresher`,
            {
                partition: facts.partition,
                region: cfg.aws.region,
                accountId: facts.accountId,
                registry,
                namespaces: cfg.ecrRefresher.namespaces,
                serviceAccounts: cfg.ecrRefresher.serviceAccounts,
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
            natPublicIps: network.natPublicIps,
            clusterName: cluster.name,
            clusterEndpoint: cluster.endpoint,
            clusterSecurityGroupId: cluster.securityGroupId,
            oidcIssuer: cluster.oidcIssuer,
            kubeconfig: cluster.kubeconfig,
            eksAddonRegistry: cluster.addonRegistry,
            ecrRegistry: registry,
            ecrRepositoryUrls: ecr.repositoryUrls,
            ...(refresher ? { ecrRefresherSchedule: refresher.schedule } : {}),
        },
    };
}

/** How source-controller authenticates to the tree's Git host, from the stack config (secrets stay secrets). */
export function gitAuth(cfg: StackConfig): GitAuth {
    const g = cfg.gitops;
    switch (g.auth) {
        case "none":
            return { kind: "none" };
        case "token":
            return { kind: "token", username: g.username, token: pulumi.secret(g.credential ?? "") };
        case "ssh":
            return { kind: "ssh", privateKey: pulumi.secret(g.credential ?? ""), knownHosts: g.knownHosts ?? "" };
    }
}

/** Where Flux reads this side's tree: its Git repository, or (oci delivery) its artifact in the China registry. */
export function treeSource(cfg: StackConfig, secretName?: string): TreeSource {
    const g = cfg.gitops;
    if (g.delivery === "git") return { kind: "git", url: g.url, branch: g.branch, auth: gitAuth(cfg) };
    const host = registryEndpoints(cfg).public;
    return {
        kind: "oci",
        url: `oci://${host}/${cfg.registry.namespace}/${g.artifact.repository}`,
        ref: g.artifact.digest ? { digest: g.artifact.digest } : { tag: g.artifact.tag },
        ...(secretName ? { secretName } : {}),
    };
}

/**
 * Flux on this side's cluster, reconciling clusters/<side> of the generated tree. With `mirrors` (the
 * china side) the chart and every image come from the China registry, so Flux is installed only once the
 * stack says the registry holds them (crossborder:flux.mirrorVerified, set after verify-mirror passes);
 * until then the install is skipped with a message.
 */
export function bootstrapFlux(
    ctx: SideContext,
    foundation: Foundation,
    catalog: Catalog,
    mirrors?: Mirrors,
    registryCredentials?: RegistryCredentials,
): FluxBootstrap | undefined {
    const { cfg } = ctx;
    if (mirrors && !cfg.flux.mirrorVerified) {
        notice(
            `Flux on ${cfg.cluster.name}: skipped until the China registry holds its chart and images. Copy the inventory (inventory/copy.sh), run crossborder verify-mirror, then: pulumi config set crossborder:flux.mirrorVerified true -s ${cfg.side} && pulumi up -s ${cfg.side}`,
        );
        return undefined;
    }
    const images = new Map<string, FluxImage>();
    for (const image of catalog.fluxImages) {
        const upstream = parseNormalizedNamed(image);
        const ref = mirrors ? rewriteReference(mirrors, upstream) : upstream;
        images.set(upstream.path.split("/").pop()!, { repository: nameOf(ref), tag: ref.tag ?? "" });
    }
    const chart = catalog.fluxChart;
    // china: the locked archive from the runner's chart cache, installed as a file. helm.v3.Release has no OCI
    // login of its own (pulumi-kubernetes issues 1914, 2321), and the China namespace is private, so pulling
    // the chart from the China registry would fail with 401; the file needs no registry at all.
    const source = mirrors ? { archive: fluxChartArchive(catalog) } : { repository: chart.repository };
    return new FluxBootstrap(
        `${cfg.side}-flux`,
        {
            chart: source,
            chartVersion: chart.version,
            images,
            source: treeSource(cfg, registryCredentials?.secretName),
            path: cfg.gitops.path,
            ...(registryCredentials ? { registryCredentials } : {}),
            profile: SLOW_LINK[cfg.side],
            dependsOn: foundation.cluster.ready,
        },
        { providers: { kubernetes: foundation.k8sProvider } },
    );
}

/**
 * The locked archive of the Flux chart in the chart cache (crossborder charts pull; on a runner inside China
 * stacks/runner/bootstrap.sh places it). Checked against catalog.lock. A preview (and the offline plan) only
 * says when it is missing; `pulumi up` stops with the fix.
 */
function fluxChartArchive(catalog: Catalog): string {
    const lock = readLock(lockFileFor(catalog.file));
    const cache = defaultChartCache();
    const file = archivePath(cache, catalog.fluxChart);
    let found: string | undefined;
    try {
        found = lockedArchive(cache, lock, catalog.fluxChart)?.file;
    } catch (e) {
        if (!(e instanceof ChartCacheError)) throw e;
        if (!pulumi.runtime.isDryRun()) throw e;
        notice(`Flux chart: ${e.message}`);
        return file;
    }
    if (found) return found;
    const why = `the Flux chart ${chartLabel(catalog.fluxChart)} is not at ${file}: run crossborder charts pull (on a runner inside China, stacks/runner/bootstrap.sh install puts the locked archives into its chart cache)`;
    if (!pulumi.runtime.isDryRun()) throw new ChartCacheError(why);
    notice(`Flux chart: ${why}; pulumi up stops until it is there`);
    return file;
}
