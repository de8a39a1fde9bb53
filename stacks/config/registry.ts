/** crossborder:registry — the ACR EE instance of each side (components/registry) and who may reach it. */
import { ACR_NAMESPACE } from "../../core/acr";
import { Cidr, isPrivate } from "../../core/cidr";
import { key as k, readSecret, Scope } from "./reader";

export type InstanceSpec = "Basic" | "Standard" | "Advanced";

export interface RegistryConfig {
    /** ACR EE instance name; its endpoints derive from it. @default "crossborder-<side>" */
    readonly instanceName: string;
    /** ACR EE namespace, the same on the origin and the China instance. @default "crossborder" */
    readonly namespace: string;
    /** ACR EE edition; the origin (global) must be Advanced. @default "Advanced" */
    readonly instanceSpec: InstanceSpec;
    /** Subscription length in months. @default 1 */
    readonly periodMonths: number;
    /**
     * Global side: egress ranges allowed to push to the origin instance over the internet (the copy host or
     * CI runner that runs inventory/copy.sh). Nothing else reaches the instance. @default []
     */
    readonly pushCidrs: readonly string[];
    /**
     * China side: the ACR EE user the nodes pull with (a RAM user with pull-only rights; its fixed password is
     * the secret crossborder:registryPullPassword).
     */
    readonly pullUser?: string;
    /** China side: the password of pullUser (a Pulumi secret). */
    readonly pullPassword?: string;
    /**
     * China side, air-gapped sites: the site's own registry (host[:port]) that Flux, the nodes' containerd
     * config and the tree pull from instead of an ACR EE instance, filled by crossborder bundle load. No ACR
     * EE instance is created then. @default none (the ACR EE China instance)
     */
    readonly site?: string;
}

/** host[:port]: a DNS name or IPv4 address, an optional port; no scheme, no path. */
const SITE_HOST =
    /^(?=.{1,253}(:\d{1,5})?$)([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;

export function readRegistry(s: Scope): RegistryConfig {
    const { r } = s;
    const raw = r.object(k("registry"), s.top.registry, [
        "instanceName",
        "namespace",
        "instanceSpec",
        "periodMonths",
        "pushCidrs",
        "pullUser",
        "site",
    ]);
    const instanceSpec = r.oneOf(
        k("registry.instanceSpec"),
        raw.instanceSpec,
        ["Basic", "Standard", "Advanced"] as const,
        "Advanced",
    );
    // A replication rule's source must be an Advanced Edition instance (Alibaba Container Registry, "Replicate
    // images between instances that belong to the same account": instance replication is an Advanced
    // Edition feature); the global instance is the source of the rule to China.
    if (!s.china && instanceSpec !== "Advanced") {
        r.issue(
            k("registry.instanceSpec"),
            `${instanceSpec} cannot be the source of the replication rule to China`,
            "the origin instance replicates to the China instance, which only the Advanced edition can do: use Advanced",
        );
    }
    const pushCidrs = r
        .list(k("registry.pushCidrs"), raw.pushCidrs, [])
        .map((c, i) => r.cidr(k(`registry.pushCidrs[${i}]`), c, "the copy host's egress range such as 203.0.113.7/32"))
        .filter((c): c is Cidr => c !== undefined);
    pushCidrs.forEach((c, i) => {
        if (c.prefix < 16 || isPrivate(c))
            r.issue(
                k(`registry.pushCidrs[${i}]`),
                c.prefix < 16
                    ? `${c.text} opens the registry to ${2 ** (32 - c.prefix)} addresses`
                    : `${c.text} is a private range, which never reaches the internet endpoint`,
                "list the public egress addresses (a /32 each) of the machine that runs inventory/copy.sh",
            );
    });
    if (!s.china && pushCidrs.length === 0) {
        r.issue(
            k("registry.pushCidrs"),
            "is empty, so nothing could push to the origin instance",
            'a new ACR EE instance refuses all traffic until its internet endpoint lists who may connect (Alibaba Container Registry, "Configure access over the Internet"): list the public egress /32 of the copy host or CI runner',
        );
    }
    if (s.china && raw.pushCidrs !== undefined) {
        r.issue(
            k("registry.pushCidrs"),
            "is set on the china side, whose instance only receives the replication",
            "remove it: images reach China through the replication rule from the origin instance",
        );
    }
    const pullUser =
        raw.pullUser === undefined && !s.china
            ? undefined
            : r.string(k("registry.pullUser"), raw.pullUser, {
                  pattern: /^[^\s:]{1,128}$/,
                  hint: "the ACR EE login name of a RAM user with pull-only rights, such as crossborder-pull@1234567890123456",
              });
    const pullPassword = s.china
        ? readSecret(s, "registryPullPassword", {
              required: true,
              what: "the fixed ACR EE password of registry.pullUser",
              why: "the China namespace is private, so the nodes pull with credentials",
          })
        : undefined;
    return {
        instanceName: r.string(k("registry.instanceName"), raw.instanceName, {
            default: `crossborder-${s.side}`,
            pattern: /^[a-z0-9][a-z0-9-]{1,28}[a-z0-9]$/,
            hint: "3-30 lowercase letters, digits or -, not starting or ending with - (ACR EE instance name rules)",
        }),
        namespace: r.string(k("registry.namespace"), raw.namespace, {
            default: "crossborder",
            pattern: ACR_NAMESPACE,
            hint: "2-120 lowercase letters, digits, - or _ (ACR EE namespace rules)",
        }),
        instanceSpec,
        periodMonths: r.int(k("registry.periodMonths"), raw.periodMonths, { default: 1, min: 1, max: 36 }),
        pushCidrs: pushCidrs.map((c) => c.text),
        ...(pullUser ? { pullUser } : {}),
        ...(pullPassword ? { pullPassword } : {}),
        ...readSite(s, raw.site),
    };
}

function readSite(s: Scope, raw: unknown): { site?: string } {
    if (raw === undefined) return {};
    if (!s.china) {
        s.r.issue(
            k("registry.site"),
            "is set on the global side; a site registry replaces the China instance, on the china side",
            "remove it",
        );
        return {};
    }
    const site = s.r.string(k("registry.site"), raw as never, {
        pattern: SITE_HOST,
        hint: "the site registry's host[:port], lowercase, without scheme or path, e.g. registry.site.example:5000",
    });
    return site ? { site } : {};
}
