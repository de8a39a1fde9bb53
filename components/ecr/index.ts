/**
 * ECR repositories (scan on push, immutable tags, lifecycle policy) and the token refresher: a Kubernetes
 * CronJob for clusters whose nodes cannot pull from ECR with an instance role (bare metal, ACK, another
 * partition). It fetches a token every few hours and updates a docker-registry Secret in each listed
 * namespace, with retries from the slow-link profile; a Job runs it once at creation, so the Secrets hold a
 * token from the first minute rather than after the first schedule. The listed service accounts carry the
 * Secret as an imagePullSecret, so their pods use it without naming it.
 *
 * The token carries exactly the rights of the principal that asked for it (ECR GetAuthorizationToken API
 * reference), so the role may also read the account's repositories: with GetAuthorizationToken alone, every
 * pull with the token answers 403.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import type { SlowLinkProfile } from "../../core/slow-link";
import { irsaRole } from "../cluster/irsa";
import { ECR_TOKEN_LIFETIME_HOURS } from "./limits";
import { arn, Partition } from "../../core/partition";

export const REFRESH_SCRIPT = path.join(__dirname, "refresh.sh");
export { ECR_TOKEN_LIFETIME_HOURS };

export interface EcrRepositoriesArgs {
    readonly repositories: readonly string[];
    /** Tagged images kept per repository. @default 30 */
    readonly keepImages?: number;
}

/** Keep the newest `keep` images; expire untagged images after a week. */
export function lifecyclePolicy(keep: number): string {
    return JSON.stringify({
        rules: [
            {
                rulePriority: 1,
                description: "expire untagged images after 7 days",
                selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 7 },
                action: { type: "expire" },
            },
            {
                rulePriority: 2,
                description: `keep the newest ${keep} images`,
                selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keep },
                action: { type: "expire" },
            },
        ],
    });
}

export class EcrRepositories extends pulumi.ComponentResource {
    public readonly repositoryUrls: pulumi.Output<string[]>;
    public readonly registry: pulumi.Output<string>;

    constructor(name: string, args: EcrRepositoriesArgs, opts: pulumi.ComponentResourceOptions) {
        super("crossborder:ecr:EcrRepositories", name, {}, opts);
        const repos = args.repositories.map((repo) => {
            const r = new aws.ecr.Repository(
                `${name}-${repo.replace(/\//g, "-")}`,
                {
                    name: repo,
                    imageTagMutability: "IMMUTABLE",
                    imageScanningConfiguration: { scanOnPush: true },
                    encryptionConfigurations: [{ encryptionType: "AES256" }],
                },
                { parent: this },
            );
            new aws.ecr.LifecyclePolicy(
                `${name}-${repo.replace(/\//g, "-")}`,
                { repository: r.name, policy: lifecyclePolicy(args.keepImages ?? 30) },
                { parent: this },
            );
            return r;
        });
        this.repositoryUrls = pulumi.all(repos.map((r) => r.repositoryUrl));
        this.registry = repos.length ? repos[0].repositoryUrl.apply((u) => u.split("/")[0]) : pulumi.output("");
        this.registerOutputs({ repositoryUrls: this.repositoryUrls });
    }
}

export interface EcrTokenRefresherArgs {
    readonly partition: Partition;
    readonly region: string;
    /** The account whose repositories the token reads. */
    readonly accountId: string;
    /** The ECR registry host the Secret authenticates to. */
    readonly registry: pulumi.Input<string>;
    readonly namespaces: readonly string[];
    /** Hours between runs, below the 12-hour token lifetime. @default 6 */
    readonly refreshHours?: number;
    /** The image that runs the script (needs sh, aws and kubectl); already on the China side. */
    readonly image: string;
    readonly profile: SlowLinkProfile;
    /** Credentials: IRSA on EKS, or a Secret (namespace/name) with AWS access keys. Never inline keys. */
    readonly credentials:
        | {
              readonly irsa: {
                  readonly oidcProviderArn: pulumi.Input<string>;
                  readonly issuerUrl: pulumi.Input<string>;
              };
          }
        | { readonly secret: string };
    /** Name of the pull Secret in each namespace. @default "ecr-pull" */
    readonly secretName?: string;
    /** Service accounts (in each namespace) whose pods get the Secret as an imagePullSecret. @default ["default"] */
    readonly serviceAccounts?: readonly string[];
}

/** The refresher role's rights: a token, and reading (only) the account's repositories in the region. */
export function refresherPolicy(partition: Partition, region: string, accountId: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
            {
                Effect: "Allow",
                Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                Resource: arn({ partition, service: "ecr", region, account: accountId, resource: "repository/*" }),
            },
        ],
    });
}

/** Every N hours ("0 *" + "/N * * *"); refused at 12 or more, since tokens would expire first. */
export function refreshSchedule(hours: number): string {
    if (!Number.isInteger(hours) || hours < 1 || hours >= ECR_TOKEN_LIFETIME_HOURS)
        throw new Error(`refreshSchedule: ${hours} hours is not between 1 and ${ECR_TOKEN_LIFETIME_HOURS - 1}`);
    return `0 */${hours} * * *`;
}

export const REFRESHER_NAMESPACE = "ecr-refresher";

export class EcrTokenRefresher extends pulumi.ComponentResource {
    public readonly schedule: string;
    public readonly roleArn?: pulumi.Output<string>;

    constructor(name: string, args: EcrTokenRefresherArgs, opts: pulumi.ComponentResourceOptions) {
        super("crossborder:ecr:EcrTokenRefresher", name, {}, opts);
        const child = { parent: this };
        const secretName = args.secretName ?? "ecr-pull";
        // With a credentials Secret, the refresher runs in that Secret's namespace: a pod reads Secrets of
        // its own namespace only.
        const credentialsNamespace = "secret" in args.credentials ? args.credentials.secret.split("/")[0] : undefined;
        const ns = credentialsNamespace ?? REFRESHER_NAMESPACE;
        this.schedule = refreshSchedule(args.refreshHours ?? 6);

        let saAnnotations: Record<string, pulumi.Input<string>> = {};
        if ("irsa" in args.credentials) {
            const role = irsaRole(
                `${name}-irsa`,
                {
                    partition: args.partition,
                    oidcProviderArn: args.credentials.irsa.oidcProviderArn,
                    issuerUrl: args.credentials.irsa.issuerUrl,
                    namespace: ns,
                    serviceAccount: name,
                    policy: refresherPolicy(args.partition, args.region, args.accountId),
                },
                child,
            );
            this.roleArn = role.arn;
            saAnnotations = { "eks.amazonaws.com/role-arn": role.arn };
        }

        // The refresher's own namespace, unless it runs beside a credentials Secret in a namespace the user owns.
        const namespace = credentialsNamespace
            ? undefined
            : new k8s.core.v1.Namespace(
                  `${name}-ns`,
                  { metadata: { name: ns, labels: { "pod-security.kubernetes.io/enforce": "restricted" } } },
                  child,
              );
        const inNamespace = namespace ? [namespace] : [];
        const sa = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            { metadata: { name, namespace: ns, annotations: saAnnotations } },
            { ...child, dependsOn: inNamespace },
        );
        const script = new k8s.core.v1.ConfigMap(
            `${name}-script`,
            {
                metadata: { name: `${name}-script`, namespace: ns },
                data: { "refresh.sh": fs.readFileSync(REFRESH_SCRIPT, "utf8") },
            },
            { ...child, dependsOn: inNamespace },
        );

        const pullSecrets = this.targets(name, args, ns, secretName);
        const jobSpec = this.jobSpec(name, args, secretName, script);
        const dependsOn = [sa, script, ...pullSecrets];
        new k8s.batch.v1.CronJob(
            `${name}-cronjob`,
            {
                metadata: { name, namespace: ns },
                spec: {
                    schedule: this.schedule,
                    concurrencyPolicy: "Forbid",
                    startingDeadlineSeconds: 600,
                    successfulJobsHistoryLimit: 1,
                    failedJobsHistoryLimit: 3,
                    jobTemplate: { spec: jobSpec },
                },
            },
            { ...child, dependsOn },
        );
        // The first run, at creation: Pulumi waits for it to complete, so a failing refresher fails the
        // deploy instead of leaving empty Secrets until the first schedule. A Job's template cannot
        // change, so a new template replaces it.
        new k8s.batch.v1.Job(
            `${name}-initial`,
            { metadata: { name: `${name}-initial`, namespace: ns }, spec: jobSpec },
            { ...child, dependsOn, replaceOnChanges: ["spec"], deleteBeforeReplace: true },
        );
        this.registerOutputs({ schedule: this.schedule });
    }

    /**
     * In each listed namespace: the (empty) pull Secret, RBAC that reaches only it by name (Kubernetes cannot
     * limit `create` by name, so the Secrets are made here and the job only updates them), and the service
     * accounts that carry it.
     */
    private targets(name: string, args: EcrTokenRefresherArgs, ns: string, secretName: string): k8s.core.v1.Secret[] {
        const child = { parent: this };
        const pullSecrets: k8s.core.v1.Secret[] = [];
        for (const target of args.namespaces) {
            const targetNs = new k8s.core.v1.Namespace(
                `${name}-target-${target}`,
                { metadata: { name: target } },
                { ...child, retainOnDelete: true },
            );
            const pullSecret = new k8s.core.v1.Secret(
                `${name}-pull-${target}`,
                {
                    metadata: { name: secretName, namespace: target },
                    type: "kubernetes.io/dockerconfigjson",
                    stringData: { ".dockerconfigjson": '{"auths":{}}' },
                },
                { ...child, dependsOn: [targetNs], ignoreChanges: ["data", "stringData"] },
            );
            pullSecrets.push(pullSecret);
            for (const account of args.serviceAccounts ?? ["default"]) {
                // Server-side apply of just this field; the account itself (e.g. "default") is Kubernetes'.
                new k8s.core.v1.ServiceAccountPatch(
                    `${name}-${target}-${account}`,
                    {
                        metadata: {
                            name: account,
                            namespace: target,
                            annotations: { "pulumi.com/patchForce": "true" },
                        },
                        imagePullSecrets: [{ name: secretName }],
                    },
                    { ...child, dependsOn: [targetNs, pullSecret] },
                );
            }
            const role = new k8s.rbac.v1.Role(
                `${name}-${target}`,
                {
                    metadata: { name: `${name}-pull-secret`, namespace: target },
                    rules: [
                        {
                            apiGroups: [""],
                            resources: ["secrets"],
                            resourceNames: [secretName],
                            verbs: ["get", "patch"],
                        },
                    ],
                },
                { ...child, dependsOn: [targetNs] },
            );
            new k8s.rbac.v1.RoleBinding(
                `${name}-${target}`,
                {
                    metadata: { name: `${name}-pull-secret`, namespace: target },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                    subjects: [{ kind: "ServiceAccount", name, namespace: ns }],
                },
                child,
            );
        }

        return pullSecrets;
    }

    /** The refresher's pod: the script, the slow-link retries, a restricted security context. */
    private jobSpec(
        name: string,
        args: EcrTokenRefresherArgs,
        secretName: string,
        script: k8s.core.v1.ConfigMap,
    ): k8s.types.input.batch.v1.JobSpec {
        const p = args.profile;
        const env: k8s.types.input.core.v1.EnvVar[] = [
            { name: "REGION", value: args.region },
            { name: "REGISTRY", value: args.registry },
            { name: "NAMESPACES", value: [...args.namespaces].join(" ") },
            { name: "SECRET_NAME", value: secretName },
            { name: "ATTEMPTS", value: String(p.refresherAttempts) },
            { name: "BACKOFF_SECONDS", value: String(p.refresherBackoffSeconds) },
            { name: "MAX_BACKOFF_SECONDS", value: String(p.refresherMaxBackoffSeconds) },
            { name: "HOME", value: "/tmp" },
        ];
        const envFrom =
            "secret" in args.credentials ? [{ secretRef: { name: args.credentials.secret.split("/")[1] } }] : undefined;
        return {
            backoffLimit: 2,
            activeDeadlineSeconds: 1800,
            template: {
                spec: {
                    serviceAccountName: name,
                    restartPolicy: "Never",
                    automountServiceAccountToken: true,
                    securityContext: {
                        runAsNonRoot: true,
                        runAsUser: 65532,
                        runAsGroup: 65532,
                        seccompProfile: { type: "RuntimeDefault" },
                    },
                    containers: [
                        {
                            name: "refresh",
                            image: args.image,
                            command: ["/bin/sh", "/scripts/refresh.sh"],
                            env,
                            ...(envFrom ? { envFrom } : {}),
                            securityContext: {
                                allowPrivilegeEscalation: false,
                                readOnlyRootFilesystem: true,
                                runAsNonRoot: true,
                                capabilities: { drop: ["ALL"] },
                            },
                            resources: {
                                requests: { cpu: "10m", memory: "64Mi", "ephemeral-storage": "64Mi" },
                                limits: { cpu: "250m", memory: "256Mi", "ephemeral-storage": "128Mi" },
                            },
                            volumeMounts: [
                                { name: "scripts", mountPath: "/scripts", readOnly: true },
                                { name: "tmp", mountPath: "/tmp" },
                            ],
                        },
                    ],
                    volumes: [
                        {
                            name: "scripts",
                            configMap: { name: script.metadata.name, defaultMode: 0o555 },
                        },
                        { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "32Mi" } },
                    ],
                },
            },
        };
    }
}

export { ecrRegistry } from "../../core/partition";
