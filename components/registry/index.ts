/**
 * Alibaba ACR EE: an instance with the replicated namespace (both sides), and the namespace-scope sync
 * rule origin → China (global side).
 *
 * Ownership: each stack owns its own instance and namespace, created with its own Alibaba provider
 * (the China instance in a mainland region, the origin outside). The sync rule is a property of the
 * origin instance, so the global stack owns it; it needs the China instance's id, which it reads from
 * the china stack's outputs. Hence the bring-up: china, then global (see `crossborder order`).
 *
 * Network access: a new ACR EE instance refuses all traffic until an access mode is enabled (Alibaba Container
 * Registry, "Network access control overview"). Each instance's internet endpoint is enabled and lists who
 * may connect, one `cr.EndpointAclPolicy` per range: the China instance the china NAT gateways' Elastic IPs
 * (node pulls) and the deploy runner (Flux's chart, pulled where pulumi up runs); the origin the copy host
 * or CI runner that pushes. An empty list would expose the instance to the whole internet, so it is refused.
 *
 * Besides the replicated namespace, each instance holds the namespaces of gitops/mirrors.yaml `prefixes:`
 * (an upstream prefix an operator joins with image names at runtime gets a namespace of its own), created on
 * both instances and replicated by a sync rule each, like the main one.
 *
 * Namespaces are private. The origin creates a repository on first push (auto-create: the copy script
 * pushes new repositories); the China namespace does not (only the replication writes to it).
 *
 * Instances are subscription-billed and protected: `pulumi destroy` refuses to delete them. To release
 * one: `pulumi state unprotect '<urn>'`, then `pulumi destroy` (or delete the resource from the program),
 * and let the subscription lapse or release it in the ACR console; deleting early is not refunded.
 */
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { acrEndpoints } from "../../core/acr";

export interface AccessEntry {
    /** A range allowed to connect to the internet endpoint (an address is given as /32). */
    readonly cidr: pulumi.Input<string>;
    readonly description: string;
}

export interface RegistryInstanceArgs {
    /** origin: the source of replication, pushed to; china: the replica, pulled from. */
    readonly role: "origin" | "china";
    readonly instanceName: string;
    readonly region: string;
    /** ACR EE edition. @default "Advanced" */
    readonly instanceSpec?: "Basic" | "Standard" | "Advanced";
    /** Subscription months. @default 1 */
    readonly periodMonths?: number;
    readonly namespace: string;
    /** More namespaces, replicated the same way (mirrors.yaml `prefixes:`). */
    readonly prefixNamespaces?: readonly string[];
    /** Who may reach the internet endpoint; must not be empty. */
    readonly internetAccess: readonly AccessEntry[];
}

export class RegistryInstance extends pulumi.ComponentResource {
    public readonly instanceId: pulumi.Output<string>;
    public readonly namespace: pulumi.Output<string>;
    /** The prefix namespaces, in the order given. */
    public readonly prefixNamespaces: pulumi.Output<string>[];
    public readonly publicEndpoint: pulumi.Output<string>;
    public readonly vpcEndpoint: pulumi.Output<string>;

    constructor(name: string, args: RegistryInstanceArgs, opts: pulumi.ComponentResourceOptions) {
        super("crossborder:registry:RegistryInstance", name, {}, opts);
        if (args.internetAccess.length === 0) {
            throw new Error(
                `${name}: the internet endpoint needs at least one allowed range; an empty list exposes the instance to everyone`,
            );
        }
        const origin = args.role === "origin";
        // A replication rule needs the source instance's registry password to be set (@pulumi/alicloud
        // cs.RegistryEnterpriseSyncRule: "set your registry password ... before use"); nobody logs in with it.
        const password = origin
            ? new random.RandomPassword(
                  `${name}-password`,
                  { length: 24, special: false, minUpper: 2, minLower: 2, minNumeric: 2 },
                  { parent: this },
              ).result
            : undefined;
        const instance = new alicloud.cr.RegistryEnterpriseInstance(
            `${name}-instance`,
            {
                instanceName: args.instanceName,
                instanceType: args.instanceSpec ?? "Advanced",
                paymentType: "Subscription",
                period: args.periodMonths ?? 1,
                renewPeriod: args.periodMonths ?? 1,
                renewalStatus: "AutoRenewal",
                ...(password ? { password } : {}),
            },
            // Subscription-billed: never deleted by accident (see the file header for releasing one).
            { parent: this, protect: true, additionalSecretOutputs: ["password"] },
        );
        const ns = new alicloud.cs.RegistryEnterpriseNamespace(
            `${name}-namespace`,
            { instanceId: instance.id, name: args.namespace, autoCreate: origin, defaultVisibility: "PRIVATE" },
            { parent: this },
        );
        const extra = args.prefixNamespaces ?? [];
        if (extra.includes(args.namespace) || new Set(extra).size !== extra.length)
            throw new Error(
                `${name}: the prefix namespaces ${extra.join(", ")} repeat each other or ${args.namespace}`,
            );
        this.prefixNamespaces = extra.map(
            (n) =>
                new alicloud.cs.RegistryEnterpriseNamespace(
                    `${name}-namespace-${n}`,
                    { instanceId: instance.id, name: n, autoCreate: origin, defaultVisibility: "PRIVATE" },
                    { parent: this },
                ).name,
        );
        // Enabling the internet endpoint is an invoke with a side effect (Alibaba's documented way, the
        // cr.EndpointAclPolicy example); the entries then depend on its answer, so they follow it.
        const service = alicloud.cr.getEndpointAclServiceOutput(
            { endpointType: "internet", enable: true, instanceId: instance.id, moduleName: "Registry" },
            { parent: this },
        );
        args.internetAccess.forEach(
            (entry, i) =>
                new alicloud.cr.EndpointAclPolicy(
                    `${name}-acl-${i}`,
                    {
                        instanceId: service.instanceId,
                        endpointType: "internet",
                        moduleName: "Registry",
                        entry: entry.cidr,
                        description: entry.description,
                    },
                    { parent: this },
                ),
        );
        const endpoints = acrEndpoints(args.instanceName, args.region);
        this.instanceId = instance.id;
        this.namespace = ns.name;
        this.publicEndpoint = pulumi.output(endpoints.public);
        this.vpcEndpoint = pulumi.output(endpoints.vpc);
        this.registerOutputs({
            instanceId: this.instanceId,
            namespace: this.namespace,
            prefixNamespaces: this.prefixNamespaces,
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
