/**
 * S3 serving. Global side: a downloads bucket whose Block Public Access stays on for ACLs and whose only
 * public grant is `GetObject` under one prefix. China side: a private bucket read by workloads through an
 * IRSA role. Both: TLS-only (`aws:SecureTransport`), default encryption, bucket-owner-enforced ownership.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { arn, Partition } from "../../core/partition";
import { irsaRole } from "../cluster/irsa";

export interface PublicDownloadsArgs {
    readonly kind: "public-prefix";
    readonly partition: Partition;
    readonly bucketName: string;
    /** The only prefix the public may read, ending in "/". */
    readonly publicPrefix: string;
}

export interface PrivateReaderArgs {
    readonly kind: "private-irsa";
    readonly partition: Partition;
    readonly bucketName: string;
    readonly oidcProviderArn: pulumi.Input<string>;
    readonly issuerUrl: pulumi.Input<string>;
    /** The service account that reads the bucket. @default "default"/"s3-reader" */
    readonly readerNamespace?: string;
    readonly readerServiceAccount?: string;
}

export type ServingBucketArgs = PublicDownloadsArgs | PrivateReaderArgs;

/** The bucket policy: deny anything without TLS; for public-prefix, allow anonymous GetObject under the prefix only. */
export function bucketPolicy(partition: Partition, bucket: string, publicPrefix?: string): string {
    const bucketArn = arn({ partition, service: "s3", resource: bucket });
    const statements: object[] = [
        {
            Sid: "TlsOnly",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucketArn, `${bucketArn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
    ];
    if (publicPrefix)
        statements.push({
            Sid: "PublicDownloads",
            Effect: "Allow",
            Principal: "*",
            Action: "s3:GetObject",
            Resource: `${bucketArn}/${publicPrefix}*`,
        });
    return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

export class ServingBucket extends pulumi.ComponentResource {
    public readonly bucketName: pulumi.Output<string>;
    /** Global side: base URL of the public prefix. */
    public readonly publicBaseUrl?: pulumi.Output<string>;
    /** China side: the IRSA role that reads the bucket. */
    public readonly readerRoleArn?: pulumi.Output<string>;

    constructor(name: string, args: ServingBucketArgs, opts: pulumi.ComponentResourceOptions) {
        super("crossborder:storage:ServingBucket", name, {}, opts);
        const child = { parent: this };
        const bucket = new aws.s3.Bucket(`${name}-bucket`, { bucket: args.bucketName, forceDestroy: false }, child);
        const isPublic = args.kind === "public-prefix";
        const block = new aws.s3.BucketPublicAccessBlock(
            `${name}-bpa`,
            // The public-prefix policy is the only public grant: ACLs stay blocked, the policy must be allowed.
            {
                bucket: bucket.id,
                blockPublicAcls: true,
                ignorePublicAcls: true,
                blockPublicPolicy: !isPublic,
                restrictPublicBuckets: !isPublic,
            },
            child,
        );
        new aws.s3.BucketOwnershipControls(
            `${name}-ownership`,
            { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
            child,
        );
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-sse`,
            {
                bucket: bucket.id,
                rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
            },
            child,
        );
        new aws.s3.BucketVersioning(
            `${name}-versioning`,
            { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
            child,
        );
        new aws.s3.BucketPolicy(
            `${name}-policy`,
            {
                bucket: bucket.id,
                policy: bucketPolicy(args.partition, args.bucketName, isPublic ? args.publicPrefix : undefined),
            },
            { ...child, dependsOn: [block] },
        );

        this.bucketName = bucket.bucket;
        if (args.kind === "public-prefix") {
            this.publicBaseUrl = pulumi.interpolate`https://${bucket.bucketRegionalDomainName}/${args.publicPrefix}`;
        } else {
            const bucketArn = arn({ partition: args.partition, service: "s3", resource: args.bucketName });
            const role = irsaRole(
                `${name}-reader`,
                {
                    partition: args.partition,
                    oidcProviderArn: args.oidcProviderArn,
                    issuerUrl: args.issuerUrl,
                    namespace: args.readerNamespace ?? "default",
                    serviceAccount: args.readerServiceAccount ?? "s3-reader",
                    policy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Effect: "Allow",
                                Action: ["s3:GetObject", "s3:ListBucket"],
                                Resource: [bucketArn, `${bucketArn}/*`],
                            },
                        ],
                    }),
                },
                child,
            );
            this.readerRoleArn = role.arn;
        }
        this.registerOutputs({
            bucketName: this.bucketName,
            publicBaseUrl: this.publicBaseUrl,
            readerRoleArn: this.readerRoleArn,
        });
    }
}
