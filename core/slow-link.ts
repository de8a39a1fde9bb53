/**
 * The slow-link profile: every timeout and retry that exists because of slow, lossy cross-border links,
 * in one place per side. Components, the GitOps generator, the sync inventory and the ECR refresher read
 * their numbers from here; none carries a magic number of its own.
 *
 * China-side values assume what ARCHITECTURE.md records: pulls and fetches that cross the border fail
 * or take about ten times longer, and DNS answers are unreliable.
 */
import type { Side } from "./partition";

export interface SlowLinkProfile {
    /** Flux source (GitRepository/HelmRepository/OCIRepository) fetch timeout. */
    readonly sourceTimeout: string;
    /** Flux source reconcile interval. */
    readonly sourceInterval: string;
    /** HelmRelease install/upgrade timeout. */
    readonly helmTimeout: string;
    /** HelmRelease reconcile interval. */
    readonly helmInterval: string;
    /** HelmRelease RetryOnFailure: wait between install/upgrade attempts. */
    readonly helmRetryInterval: string;
    /** Kustomization apply/health timeout. */
    readonly kustomizationTimeout: string;
    /** Kustomization retry interval after a failure. */
    readonly kustomizationRetryInterval: string;
    /** Kustomization reconcile interval. */
    readonly kustomizationInterval: string;
    /** AWS provider API retries. */
    readonly awsMaxRetries: number;
    /** Alibaba Cloud provider: connect and read timeouts (ms) and total retry budget (s). */
    readonly alicloudConnectTimeoutMs: number;
    readonly alicloudReadTimeoutMs: number;
    readonly alicloudMaxRetryTimeoutS: number;
    /** `skopeo sync --retry-times` for the inventory copy into the origin registry. */
    readonly syncRetryTimes: number;
    /**
     * Whole-image copy attempts in inventory/copy.sh. skopeo's own retries do not cover every step (a
     * reset while writing the manifest is fatal to it), so each image is copied again from the start.
     */
    readonly syncCopyAttempts: number;
    /** ECR token refresher: attempts and exponential backoff bounds (seconds). */
    readonly refresherAttempts: number;
    readonly refresherBackoffSeconds: number;
    readonly refresherMaxBackoffSeconds: number;
}

export const SLOW_LINK: Readonly<Record<Side, SlowLinkProfile>> = {
    global: {
        sourceTimeout: "60s",
        sourceInterval: "10m",
        helmTimeout: "5m",
        helmInterval: "10m",
        helmRetryInterval: "2m",
        kustomizationTimeout: "5m",
        kustomizationRetryInterval: "1m",
        kustomizationInterval: "10m",
        awsMaxRetries: 25,
        alicloudConnectTimeoutMs: 30_000,
        alicloudReadTimeoutMs: 60_000,
        alicloudMaxRetryTimeoutS: 60,
        syncRetryTimes: 3,
        syncCopyAttempts: 3,
        refresherAttempts: 5,
        refresherBackoffSeconds: 5,
        refresherMaxBackoffSeconds: 60,
    },
    china: {
        sourceTimeout: "5m",
        sourceInterval: "30m",
        helmTimeout: "15m",
        helmInterval: "30m",
        helmRetryInterval: "5m",
        kustomizationTimeout: "15m",
        kustomizationRetryInterval: "2m",
        kustomizationInterval: "30m",
        awsMaxRetries: 50,
        alicloudConnectTimeoutMs: 60_000,
        alicloudReadTimeoutMs: 180_000,
        alicloudMaxRetryTimeoutS: 300,
        syncRetryTimes: 8,
        syncCopyAttempts: 5,
        refresherAttempts: 8,
        refresherBackoffSeconds: 5,
        refresherMaxBackoffSeconds: 120,
    },
};
