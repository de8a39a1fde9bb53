/** IAM roles for Kubernetes service accounts (IRSA), with `:sub` and `:aud` pinned in every trust policy. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Partition, stsClientIds } from "../../core/partition";

export interface IrsaArgs {
    readonly partition: Partition;
    readonly oidcProviderArn: pulumi.Input<string>;
    /** The cluster's OIDC issuer URL (`https://oidc.eks.<region>.<dns suffix>/id/...`). */
    readonly issuerUrl: pulumi.Input<string>;
    readonly namespace: string;
    readonly serviceAccount: string;
    /** Inline policy document (JSON). */
    readonly policy: pulumi.Input<string>;
}

/**
 * The trust policy of an IRSA role: only that service account, only with an STS audience of the
 * partition (both `sts.amazonaws.com` and `sts.amazonaws.com.cn` in aws-cn, matching the OIDC client ids).
 */
export function irsaTrustPolicy(
    partition: Partition,
    oidcProviderArn: string,
    issuerUrl: string,
    namespace: string,
    serviceAccount: string,
): string {
    const audiences = stsClientIds(partition);
    const issuer = issuerUrl.replace(/^https:\/\//, "");
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Federated: oidcProviderArn },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: {
                    StringEquals: {
                        [`${issuer}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`,
                        [`${issuer}:aud`]: audiences.length === 1 ? audiences[0] : audiences,
                    },
                },
            },
        ],
    });
}

export function irsaRole(name: string, args: IrsaArgs, opts: pulumi.CustomResourceOptions): aws.iam.Role {
    const role = new aws.iam.Role(
        name,
        {
            assumeRolePolicy: pulumi
                .all([args.oidcProviderArn, args.issuerUrl])
                .apply(([arn, url]) => irsaTrustPolicy(args.partition, arn, url, args.namespace, args.serviceAccount)),
        },
        opts,
    );
    new aws.iam.RolePolicy(name, { role: role.id, policy: args.policy }, opts);
    return role;
}
