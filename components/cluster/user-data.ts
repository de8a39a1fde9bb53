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

/** How long one run asks SSM for the credentials (the role policy may still be propagating); systemd retries runs. */
export const REGISTRY_AUTH_ATTEMPTS = 30;
export const KUBELET_CONFIG_JSON = "/var/lib/kubelet/config.json";
const FETCH = "/usr/local/sbin/crossborder-registry-credentials";

/**
 * The pull credentials, failing closed: a systemd unit reads them from SSM (and retries until it can), and a
 * drop-in keeps kubelet from starting until the file exists. nodeadm waits for cloud-final only, so without
 * the gate a node whose read failed joined as Ready and every China pull on it failed with 401.
 */
function registryCredentials(auth: { readonly parameter: string; readonly region: string }): string[] {
    return [
        "# Pull credentials for the China registry, for kubelet (never in this user data: read with the node role).",
        `cat > ${FETCH} <<'CROSSBORDER_EOF'`,
        "#!/bin/bash",
        "set -euo pipefail",
        "umask 077",
        "mkdir -p /var/lib/kubelet",
        `for attempt in $(seq 1 ${REGISTRY_AUTH_ATTEMPTS}); do`,
        `  if aws ssm get-parameter --region '${auth.region}' --with-decryption --name '${auth.parameter}' --query Parameter.Value --output text > ${KUBELET_CONFIG_JSON}.tmp && [ -s ${KUBELET_CONFIG_JSON}.tmp ]; then`,
        `    mv ${KUBELET_CONFIG_JSON}.tmp ${KUBELET_CONFIG_JSON}`,
        "    exit 0",
        "  fi",
        "  sleep 10",
        "done",
        `echo "crossborder: cannot read ${auth.parameter}; kubelet stays down until it can" >&2`,
        "exit 1",
        "CROSSBORDER_EOF",
        `chmod 0700 ${FETCH}`,
        "cat > /etc/systemd/system/crossborder-registry-credentials.service <<'CROSSBORDER_EOF'",
        "[Unit]",
        "Description=crossborder: the China registry's pull credentials for kubelet",
        "Before=kubelet.service",
        "StartLimitIntervalSec=0",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        `ExecStart=${FETCH}`,
        "Restart=on-failure",
        "RestartSec=30",
        "[Install]",
        "WantedBy=multi-user.target",
        "CROSSBORDER_EOF",
        "mkdir -p /etc/systemd/system/kubelet.service.d",
        "cat > /etc/systemd/system/kubelet.service.d/90-crossborder-registry-credentials.conf <<'CROSSBORDER_EOF'",
        "# crossborder: no kubelet, so no Ready node, before the China registry's pull credentials exist.",
        "[Unit]",
        "Wants=crossborder-registry-credentials.service",
        "After=crossborder-registry-credentials.service",
        "StartLimitIntervalSec=0",
        "[Service]",
        `ExecStartPre=/bin/sh -c 'test -s ${KUBELET_CONFIG_JSON} || { echo "crossborder: ${KUBELET_CONFIG_JSON} is missing: no pull credentials for the China registry yet" >&2; exit 1; }'`,
        "RestartSec=15",
        "CROSSBORDER_EOF",
        "systemctl daemon-reload",
        "systemctl enable crossborder-registry-credentials.service",
        "systemctl start --no-block crossborder-registry-credentials.service",
    ];
}

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
    if (args.registryAuth) script.push(...registryCredentials(args.registryAuth));
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
