/**
 * The china side: everything inside mainland China (partition aws-cn). Explicit providers only
 * (ctx.providers). Every image it deploys comes from the China registry, and the nodes' containerd sends
 * every upstream registry there too (gitops/mirrors.yaml).
 */
import { containerdHosts } from "../components/cluster";
import { acrEndpoints } from "../components/registry/endpoints";
import { ServingBucket } from "../components/storage";
import { DEFAULT_CATALOG_FILE, loadCatalog } from "../gitops/catalog";
import { DEFAULT_MIRRORS_FILE, loadMirrors, rewriteImage } from "../gitops/mirrors";
import type { SideContext } from "./program";
import { buildFoundation } from "./shared";

export async function buildChina(ctx: SideContext): Promise<Record<string, unknown>> {
    const { cfg, facts, providers } = ctx;
    const registryEndpoint = acrEndpoints(cfg.registry.instanceName, cfg.alicloud.region).public;
    const mirrors = loadMirrors(DEFAULT_MIRRORS_FILE, { chinaRegistry: registryEndpoint, registryNamespace: cfg.registry.namespace });
    const foundation = buildFoundation(ctx, {
        containerdHosts: containerdHosts(mirrors),
        refresherImage: rewriteImage(mirrors, loadCatalog(DEFAULT_CATALOG_FILE).platform.ecrRefresherImage),
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
    return {
        ...foundation.outputs,
        dataBucket: data.bucketName,
        dataReaderRoleArn: data.readerRoleArn,
        // What gitops/mirrors.yaml's {{ chinaRegistry }} and {{ registryNamespace }} resolve to.
        registryEndpoint,
        registryNamespace: cfg.registry.namespace,
    };
}
