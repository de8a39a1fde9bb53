/**
 * Explicit providers for a side. No resource in crossborder uses a default provider: the china side
 * needs an aws-cn provider and China-region Alibaba provider, and a default provider silently pointing
 * at the wrong partition is the mistake this avoids.
 */
import * as alicloud from "@pulumi/alicloud";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { StackConfig } from "./config";
import { SLOW_LINK } from "../core/slow-link";

export interface SideProviders {
    /** The side's main AWS region (cluster, network, buckets, ECR). */
    readonly aws: aws.Provider;
    /** The VPN hub region (global side only, when the VPN is enabled). */
    readonly awsHub?: aws.Provider;
    /** The side's Alibaba Cloud region (ACR EE instance). */
    readonly alicloud: alicloud.Provider;
    /** Generated secrets (VPN pre-shared keys). */
    readonly random: random.Provider;
}

export function createProviders(cfg: StackConfig): SideProviders {
    const profile = SLOW_LINK[cfg.side];
    const defaultTags = { tags: { "crossborder:side": cfg.side, "crossborder:stack": pulumi.getStack() } };
    const awsArgs = (region: string): aws.ProviderArgs => ({ region, maxRetries: profile.awsMaxRetries, defaultTags });
    return {
        aws: new aws.Provider(`aws-${cfg.aws.region}`, awsArgs(cfg.aws.region)),
        awsHub:
            cfg.side === "global" && cfg.vpn.enabled
                ? new aws.Provider(`aws-hub-${cfg.vpn.hubRegion}`, awsArgs(cfg.vpn.hubRegion))
                : undefined,
        alicloud: new alicloud.Provider(`alicloud-${cfg.alicloud.region}`, {
            region: cfg.alicloud.region,
            clientConnectTimeout: profile.alicloudConnectTimeoutMs,
            clientReadTimeout: profile.alicloudReadTimeoutMs,
            maxRetryTimeout: profile.alicloudMaxRetryTimeoutS,
        }),
        random: new random.Provider("random"),
    };
}
