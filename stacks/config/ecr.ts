/** crossborder:ecr and crossborder:ecrRefresher — ECR repositories and the pull-secret refresher (components/ecr). */
import { ECR_TOKEN_LIFETIME_HOURS } from "../../components/ecr/limits";
import { DNS_LABEL, key as k, Scope } from "./reader";

export interface EcrConfig {
    /** ECR repositories for the platform's own images. @default ["platform/app"] */
    readonly repositories: readonly string[];
    /** Tagged images kept per repository by the lifecycle policy. @default 30 */
    readonly keepImages: number;
}

export interface EcrRefresherConfig {
    /**
     * Off by default on both sides: EKS nodes pull same-account ECR with their node role
     * (AmazonEC2ContainerRegistryReadOnly), so pull secrets serve only clusters whose nodes cannot (bare metal,
     * ACK, another account or partition). @default false
     */
    readonly enabled: boolean;
    /**
     * Secret (namespace/name) holding AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for clusters that cannot use
     * IRSA; the refresher then runs in that namespace, since a pod reads Secrets of its own namespace only.
     * @default - IRSA on EKS
     */
    readonly credentialsSecret?: string;
    /** Hours between refreshes, 1-11. @default 6 */
    readonly refreshHours: number;
    /** Namespaces that receive the pull secret. @default ["default"] */
    readonly namespaces: readonly string[];
    /** Service accounts in those namespaces whose pods get the secret as an imagePullSecret. @default ["default"] */
    readonly serviceAccounts: readonly string[];
}

export function readEcr(s: Scope): EcrConfig {
    const { r } = s;
    const raw = r.object(k("ecr"), s.top.ecr, ["repositories", "keepImages"]);
    return {
        repositories: r.list(k("ecr.repositories"), raw.repositories, ["platform/app"]).map((x, i) =>
            r.string(k(`ecr.repositories[${i}]`), x, {
                pattern: /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/,
                hint: "an ECR repository name such as platform/app",
            }),
        ),
        keepImages: r.int(k("ecr.keepImages"), raw.keepImages, { default: 30, min: 1, max: 1000 }),
    };
}

function readRefreshHours(s: Scope, value: unknown): number {
    if (value === undefined) return 6;
    const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n === "number" && Number.isInteger(n) && n >= ECR_TOKEN_LIFETIME_HOURS) {
        s.r.issue(
            k("ecrRefresher.refreshHours"),
            `${n} is not shorter than ${ECR_TOKEN_LIFETIME_HOURS} hours, so pull secrets would expire before they are refreshed`,
            `ECR tokens live ${ECR_TOKEN_LIFETIME_HOURS} hours: use 6 (the default) or any whole number from 1 to 11`,
        );
        return 6;
    }
    return s.r.int(k("ecrRefresher.refreshHours"), value, { default: 6, min: 1, max: ECR_TOKEN_LIFETIME_HOURS - 1 });
}

export function readEcrRefresher(s: Scope): EcrRefresherConfig {
    const { r } = s;
    const raw = r.object(k("ecrRefresher"), s.top.ecrRefresher, [
        "enabled",
        "refreshHours",
        "namespaces",
        "serviceAccounts",
        "credentialsSecret",
    ]);
    const names = (path: string, value: unknown, what: string) =>
        r.list(k(path), value, ["default"]).map((n, i) =>
            r.string(k(`${path}[${i}]`), n, {
                pattern: DNS_LABEL,
                hint: `a Kubernetes ${what} name (lowercase letters, digits and -)`,
            }),
        );
    const cfg: EcrRefresherConfig = {
        enabled: r.bool(k("ecrRefresher.enabled"), raw.enabled, false),
        credentialsSecret:
            raw.credentialsSecret === undefined
                ? undefined
                : r.string(k("ecrRefresher.credentialsSecret"), raw.credentialsSecret, {
                      pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
                      hint: "namespace/name of a Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                  }),
        refreshHours: readRefreshHours(s, raw.refreshHours),
        namespaces: names("ecrRefresher.namespaces", raw.namespaces, "namespace"),
        serviceAccounts: names("ecrRefresher.serviceAccounts", raw.serviceAccounts, "service account"),
    };
    if (cfg.enabled && cfg.namespaces.length === 0) {
        r.issue(
            k("ecrRefresher.namespaces"),
            "is empty while the refresher is enabled",
            "list the namespaces that need the ECR pull secret, or set enabled: false",
        );
    }
    return cfg;
}
