/** crossborder:vpn — the border VPN (components/vpn): a Transit Gateway hub outside, strongSwan inside. */
import { key as k, Scope } from "./reader";

/** Regions the border VPN hub may live in: the AWS regions closest to mainland China. */
export const VPN_HUB_REGIONS = ["ap-east-1", "ap-southeast-1"] as const;

/** Canonical's public SSM parameter for the current Ubuntu 24.04 LTS AMI (strongSwan is in its archive). */
export const DEFAULT_VPN_AMI_PARAMETER =
    "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id";

/**
 * Ubuntu archive mirrors run inside mainland China (the endpoint installs strongSwan from one, never from
 * Canonical's archive abroad): Alibaba Cloud's, Tencent Cloud's, Huawei Cloud's and the universities' under
 * .edu.cn. A host under .cn or .amazonaws.com.cn (an archive of your own in S3) is accepted too.
 */
export const CHINA_UBUNTU_MIRRORS = [
    "mirrors.aliyun.com",
    "mirrors.cloud.tencent.com",
    "mirrors.huaweicloud.com",
    "mirrors.tuna.tsinghua.edu.cn",
    "mirrors.ustc.edu.cn",
];

/** Alibaba Cloud's Ubuntu mirror, in mainland China. */
export const DEFAULT_VPN_APT_MIRROR = "https://mirrors.aliyun.com/ubuntu";

export interface VpnConfig {
    /** @default true */
    readonly enabled: boolean;
    /** The only mode built: AWS Site-to-Site VPN on a Transit Gateway in the hub, strongSwan on EC2 in China. */
    readonly mode: "strongswan-ec2";
    /** AWS region of the hub Transit Gateway (global side creates it). @default "ap-east-1" */
    readonly hubRegion: (typeof VPN_HUB_REGIONS)[number];
    /**
     * The licensed carrier (or its contract reference) that carries the cross-border line. Required on the
     * china side: cross-border links from mainland China must use a carrier licensed for international
     * connectivity.
     */
    readonly licensedCarrier?: string;
    /** China side: the endpoint's instance type (checked against the region). @default "t3.medium" */
    readonly instanceType: string;
    /** China side: SSM parameter naming the endpoint's AMI. @default Ubuntu 24.04 LTS (Canonical's public parameter) */
    readonly amiParameter: string;
    /**
     * China side: the Ubuntu archive mirror inside China the endpoint installs strongSwan from; every other
     * apt source is removed, so no package request leaves China. @default Alibaba Cloud's mirror
     */
    readonly aptMirror: string;
}

export function readVpn(s: Scope): VpnConfig {
    const { r } = s;
    const raw = r.object(k("vpn"), s.top.vpn, [
        "enabled",
        "mode",
        "hubRegion",
        "licensedCarrier",
        "instanceType",
        "amiParameter",
        "aptMirror",
    ]);
    const enabled = r.bool(k("vpn.enabled"), raw.enabled, true);
    if (raw.mode === "alibaba-cen") {
        r.issue(
            k("vpn.mode"),
            "alibaba-cen is not built: crossborder creates no VPN Gateway, CEN transit router or cross-border bandwidth package",
            "use mode: strongswan-ec2 (the default) with a licensed carrier, or set enabled: false and connect the VPCs yourself",
        );
    } else {
        r.oneOf(k("vpn.mode"), raw.mode, ["strongswan-ec2"] as const, "strongswan-ec2");
    }
    const licensedCarrier =
        raw.licensedCarrier === undefined
            ? undefined
            : r.string(k("vpn.licensedCarrier"), raw.licensedCarrier, {
                  hint: "the carrier or contract that provides the licensed cross-border line",
              });
    if (s.china && enabled && !licensedCarrier) {
        r.issue(
            k("vpn.licensedCarrier"),
            "is required for a cross-border IPsec link from mainland China",
            "name the licensed carrier (or contract) whose cross-border line carries the tunnel, or set enabled: false",
        );
    }
    return {
        enabled,
        mode: "strongswan-ec2",
        hubRegion: r.oneOf(k("vpn.hubRegion"), raw.hubRegion, VPN_HUB_REGIONS, "ap-east-1"),
        licensedCarrier,
        instanceType: r.string(k("vpn.instanceType"), raw.instanceType, {
            default: "t3.medium",
            pattern: /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/,
            hint: "an EC2 instance type such as t3.medium",
        }),
        amiParameter: r.string(k("vpn.amiParameter"), raw.amiParameter, {
            default: DEFAULT_VPN_AMI_PARAMETER,
            pattern: /^\/[A-Za-z0-9_.\-/]+$/,
            hint: "an SSM parameter path such as /aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
        }),
        aptMirror: readAptMirror(s, raw.aptMirror),
    };
}

function readAptMirror(s: Scope, raw: unknown): string {
    const url = s.r.string(k("vpn.aptMirror"), raw, {
        default: DEFAULT_VPN_APT_MIRROR,
        pattern: /^https?:\/\/[a-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~/-]*)?$/,
        hint: "the URL of an Ubuntu archive mirror inside China, such as https://mirrors.aliyun.com/ubuntu",
    });
    const host = /^https?:\/\/([^/:]+)/.exec(url)?.[1] ?? "";
    if (!CHINA_UBUNTU_MIRRORS.includes(host) && !/\.cn$/.test(host))
        s.r.issue(
            k("vpn.aptMirror"),
            `${host} is not known to be inside mainland China, and the endpoint must not fetch packages across the border`,
            `use a mirror inside China (${CHINA_UBUNTU_MIRRORS.join(", ")}, or a host under .cn or .amazonaws.com.cn)`,
        );
    return url.replace(/\/+$/, "");
}
