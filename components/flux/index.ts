/**
 * Flux bootstrap: installs Flux on a cluster with the fluxcd-community `flux2` chart (`helm.v3.Release`),
 * then points it at the generated tree: a GitRepository and the root Kustomization for
 * `clusters/<cluster>`. On the china side the chart comes from the China registry and every controller
 * image is overridden to it; the slow-link profile sets the timeouts.
 *
 * This component is the only owner of the GitRepository and the root Kustomization (the generated tree
 * does not carry them): it holds the Git credentials, which never go into the tree. The credentials
 * Secret is made from a Pulumi secret; a public repository needs none, and then no secretRef is set.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SlowLinkProfile } from "../slow-link";

/** flux2 chart values key for each Flux image (by its repository's last path component). */
export const FLUX_IMAGE_KEYS: Readonly<Record<string, string>> = {
    "flux-cli": "cli",
    "source-controller": "sourceController",
    "kustomize-controller": "kustomizeController",
    "helm-controller": "helmController",
    "notification-controller": "notificationController",
    "image-automation-controller": "imageAutomationController",
    "image-reflector-controller": "imageReflectionController",
};

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

export interface FluxBootstrapArgs {
    /** `oci://…/flux2` (the chart itself) or an https Helm repository URL. */
    readonly chartUrl: string;
    readonly chartVersion: string;
    /** Images by their repository's last component (source-controller, …). */
    readonly images: ReadonlyMap<string, FluxImage>;
    readonly git: { readonly url: string; readonly branch: string; readonly path: string; readonly auth: GitAuth };
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

/** The flux2 chart values that pin every controller (and the CLI hook) to the given images. */
export function fluxValues(images: ReadonlyMap<string, FluxImage>): Record<string, unknown> {
    const values: Record<string, unknown> = {
        // Image automation is not part of the crossborder tree; turn it on with its images in the catalog.
        imageAutomationController: { create: false },
        imageReflectionController: { create: false },
    };
    for (const [component, image] of images) {
        const key = FLUX_IMAGE_KEYS[component];
        if (!key) throw new Error(`fluxValues: no flux2 chart value for the image ${component}`);
        values[key] = {
            ...(values[key] as object),
            image: image.repository,
            tag: image.tag,
            ...(key === "imageAutomationController" || key === "imageReflectionController" ? { create: true } : {}),
        };
    }
    return values;
}

export class FluxBootstrap extends pulumi.ComponentResource {
    constructor(name: string, args: FluxBootstrapArgs, opts: pulumi.ComponentResourceOptions) {
        super("crossborder:flux:FluxBootstrap", name, {}, opts);
        const child = { parent: this };
        const oci = args.chartUrl.startsWith("oci://");
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
                chart: oci ? args.chartUrl : "flux2",
                version: args.chartVersion,
                ...(oci ? {} : { repositoryOpts: { repo: args.chartUrl } }),
                values: fluxValues(args.images),
                timeout: durationSeconds(args.profile.helmTimeout),
                atomic: true,
            },
            { ...child, dependsOn: [namespace] },
        );
        const meta = { name: "flux-system", namespace: FLUX_NAMESPACE };
        const data = gitSecretData(args.git.auth);
        const secret = data
            ? new k8s.core.v1.Secret(
                  `${name}-git-auth`,
                  {
                      metadata: meta,
                      type: "Opaque",
                      stringData: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, pulumi.secret(v)])),
                  },
                  { ...child, dependsOn: [namespace] },
              )
            : undefined;
        const git = new k8s.apiextensions.CustomResource(
            `${name}-git`,
            {
                apiVersion: "source.toolkit.fluxcd.io/v1",
                kind: "GitRepository",
                metadata: meta,
                spec: {
                    interval: args.profile.sourceInterval,
                    timeout: args.profile.sourceTimeout,
                    url: args.git.url,
                    ref: { branch: args.git.branch },
                    ...(secret ? { secretRef: { name: "flux-system" } } : {}),
                },
            },
            { ...child, dependsOn: [release, ...(secret ? [secret] : [])] },
        );
        new k8s.apiextensions.CustomResource(
            `${name}-root`,
            {
                apiVersion: "kustomize.toolkit.fluxcd.io/v1",
                kind: "Kustomization",
                metadata: meta,
                spec: {
                    interval: args.profile.kustomizationInterval,
                    retryInterval: args.profile.kustomizationRetryInterval,
                    timeout: args.profile.kustomizationTimeout,
                    path: `./${args.git.path}`,
                    prune: true,
                    sourceRef: { kind: "GitRepository", name: "flux-system" },
                },
            },
            { ...child, dependsOn: [git] },
        );
        this.registerOutputs({});
    }
}
