/**
 * Flux bootstrap: installs Flux on a cluster with the fluxcd-community `flux2` chart (`helm.v3.Release`),
 * then points it at the generated tree: a GitRepository and the root Kustomization for
 * `clusters/<cluster>`. On the china side the chart comes from the China registry and every controller
 * image is overridden to it; the slow-link profile sets the timeouts.
 *
 * This component is the only owner of the source and the root Kustomization (the generated tree does not
 * carry them): it holds the credentials, which never go into the tree. The source is either
 *   git  a GitRepository, with a credentials Secret made from a Pulumi secret (none for a public repository);
 *   oci  an OCIRepository: the tree as an OCI artifact in the China registry (crossborder publish pushes it to
 *        the origin; replication brings it in), following a tag or pinned to a digest. No Git host at all.
 * With registry credentials, it also makes the pull Secret that source-controller uses for a private
 * registry (the artifact, and the tree's chart sources) in flux-system and in the releases' namespaces.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SlowLinkProfile } from "../../core/slow-link";
import { fluxValues } from "../../core/flux-releases";

export interface FluxImage {
    /** Repository (already on the cluster's side of the border). */
    readonly repository: string;
    readonly tag: string;
}

/** How source-controller authenticates to the Git host (Flux GitRepository docs, "Secret reference"). */
export type GitAuth =
    | { readonly kind: "none" }
    | { readonly kind: "token"; readonly username: string; readonly token: pulumi.Input<string> }
    | { readonly kind: "ssh"; readonly privateKey: pulumi.Input<string>; readonly knownHosts: string };

/** The Secret's data for an auth kind: basic auth for HTTPS, identity and known_hosts for SSH. */
export function gitSecretData(auth: GitAuth): Record<string, pulumi.Input<string>> | undefined {
    switch (auth.kind) {
        case "none":
            return undefined;
        case "token":
            return { username: auth.username, password: auth.token };
        case "ssh":
            return { identity: auth.privateKey, known_hosts: auth.knownHosts };
    }
}

export const FLUX_NAMESPACE = "flux-system";

/** Where Flux reads the tree from. */
export type TreeSource =
    | { readonly kind: "git"; readonly url: string; readonly branch: string; readonly auth: GitAuth }
    | {
          readonly kind: "oci";
          /** `oci://<registry>/<namespace>/<repository>` */
          readonly url: string;
          /** A tag to follow, or a digest to pin. */
          readonly ref: { readonly tag: string } | { readonly digest: string };
          /** The pull Secret in flux-system (see registryCredentials). */
          readonly secretName?: string;
      };

/** Pull credentials for a private registry, for source-controller (Flux pulls with its own, not the nodes'). */
export interface RegistryCredentials {
    readonly secretName: string;
    /** Docker config JSON (`{"auths": …}`), a Pulumi secret: what OCIRepository reads. */
    readonly dockerConfigJson: pulumi.Input<string>;
    /** The same user and password: what an https HelmRepository reads. */
    readonly username: string;
    readonly password: pulumi.Input<string>;
    /** Namespaces besides flux-system whose sources pull from the registry. */
    readonly namespaces: readonly string[];
}

export interface FluxBootstrapArgs {
    /**
     * Where the chart comes from: a chart archive on the machine that runs `pulumi up` (no registry, no login),
     * or an https Helm repository.
     */
    readonly chart: { readonly archive: string } | { readonly repository: string };
    readonly chartVersion: string;
    /** Images by their repository's last component (source-controller, …). */
    readonly images: ReadonlyMap<string, FluxImage>;
    readonly source: TreeSource;
    /** The tree path the root Kustomization applies, e.g. clusters/china. */
    readonly path: string;
    readonly registryCredentials?: RegistryCredentials;
    readonly profile: SlowLinkProfile;
    /** What must exist before Flux is installed: the node groups and add-ons (Flux's pods need nodes and DNS). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** "15m" → 900 (helm.v3.Release takes seconds). */
export function durationSeconds(d: string): number {
    let total = 0;
    for (const [, n, unit] of d.matchAll(/(\d+)(h|m|s)/g))
        total += Number(n) * { h: 3600, m: 60, s: 1 }[unit as "h" | "m" | "s"];
    return total;
}

export class FluxBootstrap extends pulumi.ComponentResource {
    constructor(name: string, args: FluxBootstrapArgs, opts: pulumi.ComponentResourceOptions) {
        super("crossborder:flux:FluxBootstrap", name, {}, opts);
        const child = { parent: this };
        const namespace = new k8s.core.v1.Namespace(
            `${name}-ns`,
            { metadata: { name: FLUX_NAMESPACE } },
            { ...child, dependsOn: args.dependsOn },
        );
        const release = new k8s.helm.v3.Release(
            `${name}-flux2`,
            {
                name: "flux2",
                namespace: FLUX_NAMESPACE,
                createNamespace: false,
                ...("archive" in args.chart
                    ? { chart: args.chart.archive }
                    : { chart: "flux2", version: args.chartVersion, repositoryOpts: { repo: args.chart.repository } }),
                values: fluxValues(args.images),
                timeout: durationSeconds(args.profile.helmTimeout),
                // Not atomic: on a slow link one image pull may outlast the timeout, and an atomic install would
                // roll all of Flux back; the next pulumi up finishes the release instead.
                atomic: false,
                cleanupOnFail: false,
            },
            { ...child, dependsOn: [namespace] },
        );
        const pulls = args.registryCredentials ? this.pullSecrets(name, args.registryCredentials, namespace) : [];
        const source = this.source(name, args, [release, namespace, ...pulls]);
        new k8s.apiextensions.CustomResource(
            `${name}-root`,
            {
                apiVersion: "kustomize.toolkit.fluxcd.io/v1",
                kind: "Kustomization",
                metadata: { name: "flux-system", namespace: FLUX_NAMESPACE },
                spec: {
                    interval: args.profile.kustomizationInterval,
                    retryInterval: args.profile.kustomizationRetryInterval,
                    timeout: args.profile.kustomizationTimeout,
                    path: `./${args.path}`,
                    prune: true,
                    sourceRef: {
                        kind: args.source.kind === "oci" ? "OCIRepository" : "GitRepository",
                        name: "flux-system",
                    },
                },
            },
            { ...child, dependsOn: [source] },
        );
        this.registerOutputs({});
    }

    /** The tree's source, flux-system: a GitRepository (with its credentials) or an OCIRepository. */
    private source(name: string, args: FluxBootstrapArgs, after: pulumi.Resource[]): pulumi.Resource {
        const child = { parent: this };
        const meta = { name: "flux-system", namespace: FLUX_NAMESPACE };
        const src = args.source;
        const timing = { interval: args.profile.sourceInterval, timeout: args.profile.sourceTimeout };
        if (src.kind === "oci") {
            return new k8s.apiextensions.CustomResource(
                `${name}-oci`,
                {
                    apiVersion: "source.toolkit.fluxcd.io/v1",
                    kind: "OCIRepository",
                    metadata: meta,
                    spec: {
                        ...timing,
                        url: src.url,
                        ref: src.ref,
                        ...(src.secretName ? { secretRef: { name: src.secretName } } : {}),
                    },
                },
                { ...child, dependsOn: after },
            );
        }
        const data = gitSecretData(src.auth);
        const secret = data
            ? new k8s.core.v1.Secret(
                  `${name}-git-auth`,
                  {
                      metadata: meta,
                      type: "Opaque",
                      stringData: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, pulumi.secret(v)])),
                  },
                  { ...child, dependsOn: after },
              )
            : undefined;
        return new k8s.apiextensions.CustomResource(
            `${name}-git`,
            {
                apiVersion: "source.toolkit.fluxcd.io/v1",
                kind: "GitRepository",
                metadata: meta,
                spec: {
                    ...timing,
                    url: src.url,
                    ref: { branch: src.branch },
                    ...(secret ? { secretRef: { name: "flux-system" } } : {}),
                },
            },
            { ...child, dependsOn: [...after, ...(secret ? [secret] : [])] },
        );
    }

    /** The registry pull Secret in flux-system and in each namespace whose chart sources use the registry. */
    private pullSecrets(name: string, creds: RegistryCredentials, fluxNs: k8s.core.v1.Namespace): k8s.core.v1.Secret[] {
        const child = { parent: this };
        return [FLUX_NAMESPACE, ...[...new Set(creds.namespaces)].filter((n) => n !== FLUX_NAMESPACE).sort()].map(
            (ns) => {
                // The namespaces of the tree are Flux's; this only makes sure they exist, and never deletes them.
                const owner =
                    ns === FLUX_NAMESPACE
                        ? fluxNs
                        : new k8s.core.v1.Namespace(
                              `${name}-ns-${ns}`,
                              { metadata: { name: ns } },
                              { ...child, retainOnDelete: true },
                          );
                return new k8s.core.v1.Secret(
                    `${name}-registry-${ns}`,
                    {
                        metadata: { name: creds.secretName, namespace: ns },
                        type: "kubernetes.io/dockerconfigjson",
                        stringData: {
                            ".dockerconfigjson": pulumi.secret(creds.dockerConfigJson),
                            username: creds.username,
                            password: pulumi.secret(creds.password),
                        },
                    },
                    { ...child, dependsOn: [owner] },
                );
            },
        );
    }
}
