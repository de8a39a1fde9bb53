/**
 * EKS node user data (MIME multipart, as managed node groups with a launch template require): a shell part
 * that runs before nodeadm starts kubelet, and so before the first image pull.
 *
 * - containerd hosts.toml files (containerd.ts), one folder per upstream registry host;
 * - the private registry's credentials for kubelet, read from an SSM SecureString with the node role and
 *   written to /var/lib/kubelet/config.json, the first file kubelet's Docker-config keyring reads
 *   (Kubernetes documentation, "Images: configuring nodes to authenticate to a private registry"). Every
 *   pod on the node then pulls from the China registry without a Secret in its namespace, including Flux's
 *   own controllers, which start before anything in the cluster could hand out a pull secret.
 */
import type * as pulumi from "@pulumi/pulumi";

export interface RegistryAuth {
    /** Docker config JSON (`{"auths": {host: {auth}}}`) with the pull credentials: a Pulumi secret. */
    readonly dockerConfigJson: pulumi.Input<string>;
}

export interface NodeUserDataArgs {
    readonly containerdHosts: ReadonlyMap<string, string>;
    /** The SSM parameter holding the Docker config JSON, and its region. */
    readonly registryAuth?: { readonly parameter: string; readonly region: string };
}

/** How long a node keeps asking SSM for the credentials (the role policy may still be propagating). */
export const REGISTRY_AUTH_ATTEMPTS = 30;

export function nodeUserData(args: NodeUserDataArgs): string {
    const script = ["#!/bin/bash", "set -euo pipefail", "# crossborder: node setup before kubelet starts"];
    for (const [dir, content] of args.containerdHosts) {
        script.push(
            `mkdir -p '/etc/containerd/certs.d/${dir}'`,
            `cat > '/etc/containerd/certs.d/${dir}/hosts.toml' <<'CROSSBORDER_EOF'`,
            content.trimEnd(),
            "CROSSBORDER_EOF",
        );
    }
    if (args.registryAuth) {
        const { parameter, region } = args.registryAuth;
        script.push(
            "# Pull credentials for the China registry, for kubelet (never in this user data: read with the node role).",
            "umask 077",
            "mkdir -p /var/lib/kubelet",
            `for attempt in $(seq 1 ${REGISTRY_AUTH_ATTEMPTS}); do`,
            `  if aws ssm get-parameter --region '${region}' --with-decryption --name '${parameter}' --query Parameter.Value --output text > /var/lib/kubelet/config.json.tmp; then`,
            "    mv /var/lib/kubelet/config.json.tmp /var/lib/kubelet/config.json",
            "    break",
            "  fi",
            `  if [ "$attempt" = ${REGISTRY_AUTH_ATTEMPTS} ]; then echo "crossborder: cannot read ${parameter}" >&2; exit 1; fi`,
            "  sleep 10",
            "done",
        );
    }
    return [
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="//"',
        "",
        "--//",
        'Content-Type: text/x-shellscript; charset="us-ascii"',
        "",
        ...script,
        "",
        "--//--",
        "",
    ].join("\n");
}
