/**
 * `crossborder order`: the first bring-up of the pair, step by step, with what each step creates. The two
 * stacks meet only through their outputs, so the first time round each waits for the other once.
 */
import { acrEndpoints } from "../components/registry/endpoints";
import { StackSources } from "../gitops/context";
import { runsIpsecEndpoint, StackConfig } from "../stacks/config";

export function bringUpOrder(stacksDir: string): string {
    const stacks = new StackSources({ stacksDir });
    const g = stacks.config("global");
    const c = stacks.config("china");
    const vpn = runsIpsecEndpoint(c) && g.vpn.enabled;
    const where = (cfg: StackConfig) => `${cfg.partition} ${cfg.aws.region}, Alibaba ${cfg.alicloud.region}`;
    const steps: [string, string[]][] = [
        [
            `pulumi up -s china      (${where(c)})`,
            [
                `network ${c.network.vpcCidr}, EKS cluster ${c.cluster.name}, ECR${c.ecrRefresher.enabled ? " + token refresher" : ""}, private data bucket`,
                `ACR EE China instance ${c.registry.instanceName} (${acrEndpoints(c.registry.instanceName, c.alicloud.region).public}), namespace ${c.registry.namespace}`,
                ...(vpn
                    ? [
                          "VPN: Elastic IP and network interface (exported as vpnPublicIp); the strongSwan instance waits for the tunnels",
                      ]
                    : []),
                `Flux from the China registry, reconciling ${c.gitops.url} ${c.gitops.path}`,
            ],
        ],
        [
            `pulumi up -s global     (${where(g)}${g.vpn.enabled ? `, VPN hub ${g.vpn.hubRegion}` : ""})`,
            [
                `network ${g.network.vpcCidr}, EKS cluster ${g.cluster.name}, ECR, downloads bucket (public under ${g.s3.publicPrefix})`,
                `ACR EE origin instance ${g.registry.instanceName} (${acrEndpoints(g.registry.instanceName, g.alicloud.region).public}) and the sync rule to China (reads china's registryInstanceId)`,
                ...(vpn
                    ? [
                          `VPN hub ${g.vpn.hubVpcCidr}: VPN gateway, customer gateway for china's vpnPublicIp, connection with two tunnels (keys are secrets)`,
                      ]
                    : []),
                `Flux, reconciling ${g.gitops.url} ${g.gitops.path}`,
            ],
        ],
        ...(vpn
            ? ([
                  [
                      `pulumi up -s china      (again)`,
                      [
                          `the strongSwan endpoint: an auto-scaling group of one, configured from global's tunnel outputs (keys via SSM)`,
                          `routes to ${c.vpn.hubVpcCidr} and ${c.peer.vpcCidr} through it`,
                      ],
                  ],
              ] as [string, string[]][])
            : []),
        [
            `npx crossborder render --stack-outputs outputs.json --out <fleet repo>`,
            [`the Flux tree for both clusters; inventory/ lists every image and chart the china cluster needs`],
        ],
        [
            `sh <fleet repo>/inventory/copy.sh   (and push the charts of inventory/charts.txt)`,
            [`copies them into the origin instance; ACR EE replicates the namespace to China with the same digests`],
        ],
        [
            `git commit and push the tree`,
            [
                `Flux on each cluster reconciles clusters/<cluster>; npx crossborder audit <fleet repo> proves the china side pulls nothing from outside China`,
            ],
        ],
    ];
    const lines = ["First bring-up of the pair (afterwards each stack can be updated on its own):", ""];
    steps.forEach(([cmd, what], i) => {
        lines.push(`${i + 1}. ${cmd}`);
        for (const w of what) lines.push(`     ${w}`);
    });
    lines.push(
        "",
        `Cross-border links from mainland China must run over a licensed carrier${c.vpn.licensedCarrier ? `: ${c.vpn.licensedCarrier}` : ""}.`,
    );
    return lines.join("\n");
}
