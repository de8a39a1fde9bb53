/**
 * The first bring-up of the pair, step by step: what each step creates and what it waits for. The two
 * stacks meet only through their outputs, so the first time round each waits for the other once; the
 * china cluster's Flux waits for the mirror, which waits for the copy and the replication.
 * `crossborder order` prints these steps.
 */
import { registryEndpoints } from "./config/derived";
import { apiAccess, runsIpsecEndpoint, StackConfig } from "./config";

export interface BringUpStep {
    /** Other steps name this one as {step:<id>}; the number is filled in once the list is known. */
    readonly id?: string;
    readonly run: string;
    readonly creates: readonly string[];
    readonly waitsFor: string;
}

function where(cfg: StackConfig): string {
    return `${cfg.partition} ${cfg.aws.region}, Alibaba ${cfg.alicloud.region}`;
}

function reach(cfg: StackConfig): string {
    return cfg.cluster.deployFromVpc
        ? `runs on a runner inside the ${cfg.side} VPC (crossborder:cluster.deployFromVpc)`
        : `runs from ${apiAccess(cfg.cluster).cidrs.join(", ")} (crossborder:cluster.deployAccessCidrs)`;
}

/** What the steps' texts need from the two configs. */
function factsOf(g: StackConfig, c: StackConfig) {
    const vpn = runsIpsecEndpoint(c) && g.vpn.enabled;
    const china = registryEndpoints(c).public;
    const origin = registryEndpoints(g).public;
    const oci = c.gitops.delivery === "oci";
    const artifact = `${c.registry.namespace}/${c.gitops.artifact.repository}:${c.gitops.artifact.tag}`;
    const chinaTree = oci ? `the artifact oci://${china}/${artifact}` : `${c.gitops.url} ${c.gitops.path}`;
    return { vpn, china, origin, oci, artifact, chinaTree };
}

function steps(g: StackConfig, c: StackConfig): BringUpStep[] {
    return [...stackSteps(g, c), ...treeSteps(g, c)];
}

/** The stacks, each waiting for the other's outputs once. */
function stackSteps(g: StackConfig, c: StackConfig): BringUpStep[] {
    const { vpn, china, origin } = factsOf(g, c);
    return [
        {
            id: "china",
            run: `pulumi up -s china      (${where(c)})`,
            creates: [
                `network ${c.network.vpcCidr}, EKS cluster ${c.cluster.name} (nodes pull the China registry with crossborder:registryPullPassword), ECR, private data bucket`,
                `ACR EE China instance ${c.registry.instanceName} (${china}), private namespace ${c.registry.namespace}; its internet endpoint admits the NAT gateways and the runner`,
                ...(vpn
                    ? [
                          "VPN: Elastic IP and network interface (exported as vpnPublicIp); the strongSwan instance waits for the tunnels",
                      ]
                    : []),
                "Flux: skipped (it waits for the mirror: step {step:flux})",
            ],
            waitsFor: `nothing; pulumi up ${reach(c)}`,
        },
        {
            id: "global",
            run: `pulumi up -s global     (${where(g)}${g.vpn.enabled ? `, VPN hub ${g.vpn.hubRegion}` : ""})`,
            creates: [
                `network ${g.network.vpcCidr}, EKS cluster ${g.cluster.name}, ECR, downloads bucket (public under ${g.s3.publicPrefix})`,
                `ACR EE origin instance ${g.registry.instanceName} (${origin}), pushed to from ${g.registry.pushCidrs.join(", ")}, and the replication rule to China`,
                ...(vpn
                    ? [
                          `Transit Gateway in ${g.vpn.hubRegion} with the VPN attachment (two tunnels, keys are secrets), peered with a Transit Gateway in ${g.aws.region} that the global VPC is attached to; routes both ways`,
                      ]
                    : []),
                `Flux from upstream, reconciling ${g.gitops.url} ${g.gitops.path}`,
            ],
            waitsFor: `china's outputs registryInstanceId${vpn ? " and vpnPublicIp" : ""} (step {step:china}); pulumi up ${reach(g)}`,
        },
        ...(vpn
            ? [
                  {
                      run: "pulumi up -s china      (again)",
                      creates: [
                          "the strongSwan endpoint: an auto-scaling group of one, route-based tunnels from global's tunnel outputs (keys via SSM)",
                          `routes to ${c.peer.vpcCidr} through it`,
                      ],
                      waitsFor:
                          "global's outputs vpnTunnel1Address, vpnTunnel2Address and their keys (step {step:global})",
                  },
              ]
            : []),
    ];
}

/** The tree: rendered, copied into China, delivered, reconciled. */
function treeSteps(g: StackConfig, c: StackConfig): BringUpStep[] {
    const { china, origin, oci, artifact, chinaTree } = factsOf(g, c);
    return [
        {
            run: "npx crossborder render --stack-outputs outputs.json --out <fleet repo>",
            creates: [
                "the Flux tree for both clusters; inventory/ lists every image and chart the china cluster needs",
            ],
            waitsFor: "pulumi stack output --json -s china > outputs.json (the registry endpoints)",
        },
        {
            id: "copy",
            run: "sh <fleet repo>/inventory/copy.sh   (and push the charts of inventory/charts.txt)",
            creates: [
                `copies them into the origin instance; ACR EE replicates the namespace to ${china} with the same digests`,
            ],
            waitsFor: `a host in crossborder:registry.pushCidrs, logged in to ${origin}`,
        },
        ...(oci
            ? [
                  {
                      id: "publish",
                      run: "npx crossborder publish --tree <fleet repo>",
                      creates: [
                          `the china tree as a Flux OCI artifact under the candidate tag ${origin}/${artifact}-candidate (it prints the digest); ACR EE replicates it to China, and Flux does not follow it yet`,
                      ],
                      waitsFor: `a host in crossborder:registry.pushCidrs, logged in to ${origin}`,
                  },
              ]
            : []),
        oci
            ? {
                  id: "verify",
                  run: "npx crossborder promote --tree <fleet repo>",
                  creates: [
                      `the tag ${artifact} Flux follows, moved to the published digest only once ${china} serves the tree, its charts and every image and chart of its inventory, digest for digest (else it names what is missing: not copied, or copied but not replicated)`,
                  ],
                  waitsFor: "the replication of steps {step:copy} and {step:publish} (run it again until it exits 0)",
              }
            : {
                  id: "verify",
                  run: `npx crossborder verify-mirror --inventory <fleet repo>/inventory/images.txt --registry ${china}`,
                  creates: [
                      "nothing: it checks every image and chart of the inventory on the China instance, digest for digest",
                  ],
                  waitsFor: "the replication of step {step:copy} (run it again until it exits 0)",
              },
        {
            id: "flux",
            run: "pulumi config set crossborder:flux.mirrorVerified true -s china && pulumi up -s china",
            creates: [`Flux from the China registry, reconciling ${chinaTree}`],
            waitsFor: `${oci ? "promote" : "verify-mirror"} exiting 0 (step {step:verify}): Flux's own chart and images${oci ? ", and the tree," : ""} are then in China`,
        },
        {
            run: oci
                ? "git commit and push the tree (the global cluster reads it from Git)"
                : "git commit and push the tree",
            creates: [
                `Flux on each cluster reconciles clusters/<cluster>${oci ? " (china: from the artifact; each change is render, copy, publish, promote)" : ""}; npx crossborder audit <fleet repo> proves the china side pulls nothing from outside China`,
            ],
            waitsFor: "Flux installed on both clusters (steps {step:global} and {step:flux})",
        },
    ];
}

/** The steps for this pair, in order, with every {step:<id>} replaced by that step's number. */
export function bringUpSteps(g: StackConfig, c: StackConfig): BringUpStep[] {
    const list = steps(g, c);
    const numbers = new Map(list.map((s, i) => [s.id, String(i + 1)]));
    const resolve = (text: string) => text.replace(/\{step:(\w+)\}/g, (_m, id: string) => numbers.get(id)!);
    return list.map((s) => ({
        ...s,
        run: resolve(s.run),
        creates: s.creates.map(resolve),
        waitsFor: resolve(s.waitsFor),
    }));
}
