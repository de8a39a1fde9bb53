/** The china VPN endpoint's boot settings the VPN tests share: the shapes of a real china-vpn endpoint. */
import type { EndpointBoot } from "../components/vpn";

export const EXAMPLE_BOOT: EndpointBoot = {
    region: "cn-northwest-1",
    dnsSuffix: "amazonaws.com.cn",
    aptMirror: "https://mirrors.aliyun.com/ubuntu",
    endpointName: "china-vpn",
    eniId: "eni-0123456789abcdef0",
    eniMac: "02:AB:CD:00:00:01",
    eniAddress: "10.20.128.10",
    publicGateway: "10.20.128.1",
    publicCidr: "10.20.128.0/19",
    vpcCidr: "10.20.0.0/16",
    localId: "203.0.113.7",
    remoteCidrs: ["10.10.0.0/16"],
    tunnels: [
        { address: "198.51.100.1", pskParameter: "/crossborder/china-vpn/tunnel1/psk" },
        { address: "198.51.100.2", pskParameter: "/crossborder/china-vpn/tunnel2/psk" },
    ],
};
