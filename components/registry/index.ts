/**
 * Alibaba ACR EE: an instance with the replicated namespace (both sides), and the namespace-scope sync
 * rule origin → China (global side).
 *
 * Ownership: each stack owns its own instance and namespace, created with its own Alibaba provider
 * (the China instance in a mainland region, the origin outside). The sync rule is a property of the
 * origin instance, so the global stack owns it; it needs the China instance's id, which it reads from
 * the china stack's outputs. Hence the bring-up: china, then global (see `crossborder order`).
 *
 * Instances are subscription-billed and protected: `pulumi destroy` refuses to delete them. To release
 * one: `pulumi state unprotect '<urn>'`, then `pulumi destroy` (or delete the resource from the program),
 * and let the subscription lapse or release it in the ACR console; deleting early is not refunded.
 */
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { acrEndpoints } from "./endpoints";

export { acrEndpoints } from "./endpoints";

export interface RegistryInstanceArgs {
    readonly instanceName: string;
    readonly region: string;
    /** ACR EE edition. @default "Advanced" */
    readonly instanceSpec?: "Basic" | "Standard" | "Advanced";
    /** Subscription months. @default 1 */
    readonly periodMonths?: number;
    readonly namespace: string;
}

export class RegistryInstance extends pulumi.ComponentResource {
    public readonly instanceId: pulumi.Output<string>;
    public readonly namespace: pulumi.Output<string>;
    public readonly publicEndpoint: pulumi.Output<string>;
    public readonly vpcEndpoint: pulumi.Output<string>;

    constructor(name: string, args: RegistryInstanceArgs, opts: pulumi.ComponentResourceOptions) {
        super("crossborder:registry:RegistryInstance", name, {}, opts);
        const instance = new alicloud.cr.RegistryEnterpriseInstance(
            `${name}-instance`,
            {
                instanceName: args.instanceName,
                instanceType: args.instanceSpec ?? "Advanced",
                paymentType: "Subscription",
                period: args.periodMonths ?? 1,
                renewPeriod: args.periodMonths ?? 1,
                renewalStatus: "AutoRenewal",
            },
            // Subscription-billed: never deleted by accident (see the file header for releasing one).
            { parent: this, protect: true },
        );
        // Mirrored upstream images are public anyway: anonymous pulls keep every node and job free of
        // registry credentials.
        const ns = new alicloud.cs.RegistryEnterpriseNamespace(
            `${name}-namespace`,
            { instanceId: instance.id, name: args.namespace, autoCreate: true, defaultVisibility: "PUBLIC" },
            { parent: this },
        );
        const endpoints = acrEndpoints(args.instanceName, args.region);
        this.instanceId = instance.id;
        this.namespace = ns.name;
        this.publicEndpoint = pulumi.output(endpoints.public);
        this.vpcEndpoint = pulumi.output(endpoints.vpc);
        this.registerOutputs({
            instanceId: this.instanceId,
            namespace: this.namespace,
            publicEndpoint: this.publicEndpoint,
        });
    }
}

export interface RegistrySyncRuleArgs {
    readonly originInstanceId: pulumi.Input<string>;
    readonly namespace: pulumi.Input<string>;
    readonly chinaInstanceId: pulumi.Input<string>;
    readonly chinaRegion: pulumi.Input<string>;
}

/** Replicates the whole namespace from the origin instance to the China instance, under the same name. */
export class RegistrySyncRule extends pulumi.ComponentResource {
    constructor(name: string, args: RegistrySyncRuleArgs, opts: pulumi.ComponentResourceOptions) {
        super("crossborder:registry:RegistrySyncRule", name, {}, opts);
        new alicloud.cs.RegistryEnterpriseSyncRule(
            `${name}-rule`,
            {
                instanceId: args.originInstanceId,
                namespaceName: args.namespace,
                syncRuleName: `${name}-to-china`,
                syncScope: "NAMESPACE",
                syncTrigger: "PASSIVE",
                tagFilter: ".*",
                targetInstanceId: args.chinaInstanceId,
                targetNamespaceName: args.namespace,
                targetRegionId: args.chinaRegion,
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
