/** crossborder:cluster — EKS (components/cluster), and how `pulumi up` reaches its API. */
import type { NodeGroupSpec } from "../../components/cluster/spec";
import { Cidr, isPrivate } from "../../core/cidr";
import { Json, key as k, Reader, Scope } from "./reader";

export interface ClusterConfig {
    /** @default "crossborder-<side>" */
    readonly name: string;
    /** @default "1.33" */
    readonly kubernetesVersion: string;
    /** Public API endpoint for users: opt-in only, with an explicit allow-list. @default false */
    readonly endpointPublicAccess: boolean;
    /** Required (non-empty) when endpointPublicAccess is true. @default [] */
    readonly publicAccessCidrs: readonly string[];
    /**
     * Egress ranges of the machine that runs `pulumi up` when it is outside the VPC: the API endpoint is
     * opened to these ranges only, because the Kubernetes provider talks to the API from where it runs.
     * @default []
     */
    readonly deployAccessCidrs: readonly string[];
    /** `pulumi up` runs inside the VPC (a runner there): the private endpoint is reached from the VPC. @default false */
    readonly deployFromVpc: boolean;
    readonly nodeGroups: readonly NodeGroupSpec[];
}

/** Whether the API endpoint is public (for users, or for the deploy runner), and to which ranges. */
export function apiAccess(c: ClusterConfig): { readonly public: boolean; readonly cidrs: readonly string[] } {
    const cidrs = [...new Set([...(c.endpointPublicAccess ? c.publicAccessCidrs : []), ...c.deployAccessCidrs])];
    return { public: cidrs.length > 0, cidrs };
}

function readCidrList(s: Scope, path: string, value: Json, what: string): Cidr[] {
    return s.r
        .list(k(path), value, [])
        .map((c, i) => s.r.cidr(k(`${path}[${i}]`), c, what))
        .filter((c): c is Cidr => c !== undefined);
}

export function readCluster(s: Scope): ClusterConfig {
    const { r } = s;
    const raw = r.object(k("cluster"), s.top.cluster, [
        "name",
        "kubernetesVersion",
        "endpointPublicAccess",
        "publicAccessCidrs",
        "deployAccessCidrs",
        "deployFromVpc",
        "nodeGroups",
    ]);
    const name = r.string(k("cluster.name"), raw.name, {
        default: `crossborder-${s.side}`,
        pattern: /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/,
        hint: "1-100 letters, digits, - or _, starting with a letter or digit",
    });
    const kubernetesVersion = r.string(
        k("cluster.kubernetesVersion"),
        typeof raw.kubernetesVersion === "number" ? String(raw.kubernetesVersion) : raw.kubernetesVersion,
        {
            default: "1.33",
            pattern: /^1\.\d{2}$/,
            hint: 'a quoted EKS minor version such as "1.33" (unquoted 1.30 reads as 1.3)',
        },
    );
    const endpointPublicAccess = r.bool(k("cluster.endpointPublicAccess"), raw.endpointPublicAccess, false);
    const publicAccessCidrs = readCidrList(s, "cluster.publicAccessCidrs", raw.publicAccessCidrs, "an IPv4 range");
    if (endpointPublicAccess && publicAccessCidrs.length === 0) {
        r.issue(
            k("cluster.publicAccessCidrs"),
            "is empty while endpointPublicAccess is true",
            "list the ranges allowed to reach the API (e.g. your office's egress /32), or set endpointPublicAccess: false",
        );
    }
    if (!endpointPublicAccess && publicAccessCidrs.length > 0) {
        r.issue(
            k("cluster.publicAccessCidrs"),
            "is set while endpointPublicAccess is false",
            "set endpointPublicAccess: true to use the allow-list, or remove it",
        );
    }
    const deployAccessCidrs = readCidrList(
        s,
        "cluster.deployAccessCidrs",
        raw.deployAccessCidrs,
        "the runner's egress range such as 203.0.113.7/32",
    );
    deployAccessCidrs.forEach((c, i) => {
        if (c.prefix < 16 || isPrivate(c))
            r.issue(
                k(`cluster.deployAccessCidrs[${i}]`),
                c.prefix < 16
                    ? `${c.text} opens the API endpoint to ${2 ** (32 - c.prefix)} addresses`
                    : `${c.text} is a private range, which never reaches a public endpoint`,
                "list the public egress addresses of the machine that runs pulumi up (a /32 each), or set deployFromVpc: true for a runner inside the VPC",
            );
    });
    const deployFromVpc = r.bool(k("cluster.deployFromVpc"), raw.deployFromVpc, false);
    // The Kubernetes provider (Flux, the refresher) talks to the API from wherever pulumi up runs: a private
    // endpoint with no way in makes every Kubernetes resource time out (EKS user guide, "Cluster API server
    // endpoint": a private endpoint is reachable from the VPC or connected networks only).
    if (!endpointPublicAccess && deployAccessCidrs.length === 0 && !deployFromVpc) {
        r.issue(
            k("cluster.deployAccessCidrs"),
            "is empty while the API endpoint is private and deployFromVpc is false, so pulumi up cannot reach the cluster it creates",
            'run pulumi up from a runner inside the VPC and set deployFromVpc: true (see the README, "A runner inside the VPC"), or list the runner\'s public egress /32 here',
        );
    }
    const nodeGroups = readNodeGroups(r, k("cluster.nodeGroups"), raw.nodeGroups);
    return {
        name,
        kubernetesVersion,
        endpointPublicAccess,
        publicAccessCidrs: publicAccessCidrs.map((c) => c.text),
        deployAccessCidrs: deployAccessCidrs.map((c) => c.text),
        deployFromVpc,
        nodeGroups,
    };
}

function readNodeGroups(r: Reader, key: string, value: Json): NodeGroupSpec[] {
    const items = r.list(key, value);
    if (value !== undefined && items.length === 0)
        r.issue(key, "is empty", "define at least one node group with a name and instanceTypes");
    const seen = new Set<string>();
    return items.map((item, i) => {
        const at = `${key}[${i}]`;
        const g = r.object(at, item, [
            "name",
            "instanceTypes",
            "minSize",
            "desiredSize",
            "maxSize",
            "diskSizeGiB",
            "capacityType",
        ]);
        const name = r.string(`${at}.name`, g.name, {
            pattern: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
            hint: "a short lowercase name such as system",
        });
        if (name && seen.has(name))
            r.issue(`${at}.name`, `"${name}" is used by another node group`, "give each node group its own name");
        seen.add(name);
        const types = r.list(`${at}.instanceTypes`, g.instanceTypes);
        if (g.instanceTypes !== undefined && types.length === 0)
            r.issue(`${at}.instanceTypes`, "is empty", "list at least one instance type such as m6i.large");
        const instanceTypes = types.map((t, j) =>
            r.string(`${at}.instanceTypes[${j}]`, t, {
                pattern: /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/,
                hint: "an EC2 instance type such as m6i.large",
            }),
        );
        const minSize = r.int(`${at}.minSize`, g.minSize, { default: 2, min: 0, max: 100 });
        const desiredSize = r.int(`${at}.desiredSize`, g.desiredSize, { default: minSize, min: 0, max: 100 });
        const maxSize = r.int(`${at}.maxSize`, g.maxSize, {
            default: Math.max(minSize, desiredSize, 3),
            min: 1,
            max: 100,
        });
        if (minSize > desiredSize || desiredSize > maxSize) {
            r.issue(
                at,
                `sizes must satisfy minSize <= desiredSize <= maxSize, got ${minSize} <= ${desiredSize} <= ${maxSize}`,
                "adjust minSize, desiredSize or maxSize",
            );
        }
        return {
            name,
            instanceTypes,
            minSize,
            desiredSize,
            maxSize,
            diskSizeGiB: r.int(`${at}.diskSizeGiB`, g.diskSizeGiB, { default: 50, min: 20, max: 16384 }),
            capacityType: r.oneOf(`${at}.capacityType`, g.capacityType, ["ON_DEMAND", "SPOT"] as const, "ON_DEMAND"),
        };
    });
}
