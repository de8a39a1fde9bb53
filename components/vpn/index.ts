/**
 * The border VPN. AWS Site-to-Site VPN is not offered in the China regions, so its AWS side lives in Hong
 * Kong or Singapore on a Transit Gateway peered with the global cluster's region (hub.ts, global stack), and
 * the China side is a strongSwan endpoint on EC2 (endpoint.ts, china stack) with route-based tunnels
 * (tunnel.ts).
 */
export { AWS_TUNNEL, PSK_PATTERN, swanctlConf, tunnelInterface, updownScript, UPDOWN_PATH } from "./tunnel";
export type { SwanctlArgs, Tunnel } from "./tunnel";
export { GLOBAL_ASN, HUB_ASN, presharedKey, VpnHub } from "./hub";
export type { GlobalVpc, VpnHubArgs } from "./hub";
export { endpointUserData, IpsecEndpoint, subnetRouter } from "./endpoint";
export type { EndpointBoot, IpsecEndpointArgs } from "./endpoint";
