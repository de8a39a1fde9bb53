/** crossborder:network — the VPC (components/network). */
import { Cidr, isPrivate, overlaps } from "../../core/cidr";
import { key as k, Scope, suggestFree } from "./reader";

export interface NetworkConfig {
    readonly vpcCidr: string;
    /** @default 3 where the region has three zones, else 2 */
    readonly zoneCount?: 2 | 3;
    /** @default "perZone" */
    readonly natGateways: "perZone" | "single";
}

/** The VPC range, or undefined after reporting why it cannot be used (one message per mistake). */
export function readNetwork(s: Scope, peerCidr: Cidr | undefined): { network: NetworkConfig; vpcCidr?: Cidr } {
    const { r } = s;
    const raw = r.object(k("network"), s.top.network, ["vpcCidr", "zoneCount", "natGateways"]);
    let vpcCidr = r.cidr(k("network.vpcCidr"), raw.vpcCidr, "a private IPv4 range");
    if (vpcCidr && (vpcCidr.prefix < 16 || vpcCidr.prefix > 24)) {
        r.issue(
            k("network.vpcCidr"),
            `${vpcCidr.text} has prefix /${vpcCidr.prefix}, outside /16-/24`,
            "AWS allows /16 at most and the subnets of three zones need /24 at least: use a /16 to /24 range",
        );
        vpcCidr = undefined; // no overlap reports about a range already rejected
    } else if (vpcCidr && !isPrivate(vpcCidr)) {
        r.issue(
            k("network.vpcCidr"),
            `${vpcCidr.text} is not a private range`,
            "use a range inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10",
        );
        vpcCidr = undefined;
    }
    const zoneCount =
        raw.zoneCount === undefined
            ? undefined
            : (r.int(k("network.zoneCount"), raw.zoneCount, {
                  min: 2,
                  max: 3,
                  why: "EKS needs two zones; crossborder spreads over at most three",
              }) as 2 | 3);
    const natGateways = r.oneOf(k("network.natGateways"), raw.natGateways, ["perZone", "single"] as const, "perZone");
    if (vpcCidr && peerCidr && overlaps(vpcCidr, peerCidr)) {
        r.issue(
            k("network.vpcCidr"),
            `${vpcCidr.text} overlaps the ${s.other} stack's ${peerCidr.text} (crossborder:peer.vpcCidr)`,
            `the VPN routes between the two VPCs, so give this stack a range that does not overlap, e.g. ${suggestFree([peerCidr], vpcCidr.prefix)}`,
        );
    }
    return { network: { vpcCidr: vpcCidr?.text ?? "", zoneCount, natGateways }, vpcCidr };
}
