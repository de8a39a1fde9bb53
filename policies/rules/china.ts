/** Rules for the china stack: partition, VPN, ICP, instance offerings, and images from inside China. */
import * as path from "path";
import { loadMirrorsFor } from "../../stacks/gitops-inputs";
import { isChinaHost, Mirrors } from "../../core/mirrors";
import { findImages } from "../../gitops/objects/images";
import { objectId } from "../../gitops/objects/manifests";
import { jsonPointer } from "../../gitops/render/plan";
import { tryParseImage } from "../../core/reference";
import { scanValues } from "../../gitops/values/scan";
import { cloudFacts, instanceTypeOffering } from "../../core/cloud-facts";
import {
    ingressRules,
    fromWorld,
    opensPort,
    Props,
    resourceIsChina,
    Rule,
    sideConfig,
    stackIsChina,
    strings,
} from "./common";

export const chinaArnPartition: Rule = {
    name: "china-arn-partition",
    description:
        "Inputs of a china stack name only aws-cn ARNs: an arn:aws: (or any other partition) ARN cannot work in the China regions.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...sideConfig } },
    validateStack: (args, report) => {
        const { side } = args.getConfig<{ side?: string }>();
        if (!stackIsChina(args.resources, side)) return;
        for (const r of args.resources) {
            for (const [where, s] of strings(r.props)) {
                const m = /arn:(aws(?:-us-gov|-iso[a-z-]*)?):/.exec(s);
                if (m)
                    report(
                        `${r.name} (${r.type}) input ${where} names an ${m[1]} ARN in the china stack; derive ARNs from the partition (core/partition.ts) so they read arn:aws-cn:`,
                        r.urn,
                    );
            }
        }
    },
};

const AWS_VPN_TYPES = [
    "aws:ec2/vpnConnection:VpnConnection",
    "aws:ec2/vpnGateway:VpnGateway",
    "aws:ec2/customerGateway:CustomerGateway",
];

export const chinaNoAwsVpn: Rule = {
    name: "china-no-aws-site-to-site-vpn",
    description:
        "AWS Site-to-Site VPN is not offered in the China regions: no VpnConnection, VpnGateway or CustomerGateway with an aws-cn provider.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...sideConfig } },
    validateResource: (args, report) => {
        if (!AWS_VPN_TYPES.includes(args.type)) return;
        const { side } = args.getConfig<{ side?: string }>();
        if (resourceIsChina(args, side))
            report(
                `${args.name}: ${args.type.split(":").pop()} is not available in the China regions; terminate the VPN on the global side (components/vpn VpnHub) and run strongSwan on EC2 in China`,
            );
    },
};

export const chinaPublicHttpNeedsIcp: Rule = {
    name: "china-public-http-needs-icp",
    description:
        "No security-group ingress or load-balancer listener on 80/443 open to the internet in China unless the stack declares an ICP licence.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            ...sideConfig,
            icpLicensed: {
                type: "boolean",
                default: false,
                description: "The stack holds an ICP licence (crossborder:ingress.icpLicensed).",
            },
        },
    },
    validateStack: (args, report) => {
        const { side, icpLicensed } = args.getConfig<{ side?: string; icpLicensed?: boolean }>();
        if (icpLicensed || !stackIsChina(args.resources, side)) return;
        const internetFacing = args.resources.some(
            (r) => r.type === "aws:lb/loadBalancer:LoadBalancer" && r.props.internal !== true,
        );
        for (const r of args.resources) {
            for (const rule of ingressRules(r.type, r.props)) {
                for (const port of [80, 443]) {
                    if (opensPort(rule, port) && fromWorld(rule))
                        report(
                            `${r.name} opens port ${port} to the internet in mainland China without an ICP licence; set crossborder:ingress.icpLicensed once the licence is filed, or serve through NodePort on an approved endpoint`,
                            r.urn,
                        );
                }
            }
            if (r.type === "aws:lb/listener:Listener" && [80, 443].includes(Number(r.props.port)) && internetFacing) {
                report(
                    `${r.name} listens on ${r.props.port} on an internet-facing load balancer in mainland China without an ICP licence`,
                    r.urn,
                );
            }
        }
    },
};

const INSTANCE_TYPE_PROPS: Record<string, (props: Props) => string[]> = {
    "aws:ec2/instance:Instance": (p) => (p.instanceType ? [String(p.instanceType)] : []),
    "aws:ec2/launchTemplate:LaunchTemplate": (p) => (p.instanceType ? [String(p.instanceType)] : []),
    "aws:eks/nodeGroup:NodeGroup": (p) => (Array.isArray(p.instanceTypes) ? p.instanceTypes.map(String) : []),
};

export const instanceTypeOffered: Rule = {
    name: "instance-type-offered",
    description:
        "EC2 instance types must be offered in the resource's region (core/cloud-facts.yaml); families the table does not cover are not judged.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allow: {
                type: "array",
                items: { type: "string" },
                default: [],
                description: "Instance types to accept regardless of the facts table.",
            },
        },
    },
    validateResource: (args, report) => {
        const types = INSTANCE_TYPE_PROPS[args.type]?.(args.props) ?? [];
        const region = args.provider?.props?.region;
        if (types.length === 0 || typeof region !== "string") return;
        const { allow = [] } = args.getConfig<{ allow?: string[] }>();
        for (const t of types) {
            if (!allow.includes(t) && instanceTypeOffering(cloudFacts(), region, t) === "not-offered")
                report(
                    `${args.name}: ${t} is not offered in ${region}; pick a type the region offers (see core/cloud-facts.yaml)`,
                );
        }
    },
};

/** Kubernetes resource types whose manifests can carry images, as `apiVersion/kind` from a Pulumi type. */
function k8sDocument(type: string, props: Props): Props | undefined {
    const m = /^kubernetes:([^:]+):(\w+)$/.exec(type);
    if (!m) return undefined;
    const group = m[1].replace(/^core\//, "");
    return { ...props, apiVersion: group, kind: m[2] };
}

let mirrorsCache: Mirrors | undefined;
function defaultMirrors(): Mirrors {
    mirrorsCache ??= loadMirrorsFor({ stacksDir: path.join(__dirname, "..", "..", "stacks") });
    return mirrorsCache;
}

export const chinaImagesFromChinaRegistries: Rule = {
    name: "china-images-from-china-registries",
    description:
        "Every container image of the china stack's Kubernetes resources (workloads, Helm release values) comes from a registry inside China (gitops/mirrors.yaml chinaHosts).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            ...sideConfig,
            extraChinaHosts: {
                type: "array",
                items: { type: "string" },
                default: [],
                description: "More registry hosts to treat as inside China.",
            },
        },
    },
    validateStack: (args, report) => {
        const { side, extraChinaHosts = [] } = args.getConfig<{ side?: string; extraChinaHosts?: string[] }>();
        if (!stackIsChina(args.resources, side)) return;
        const mirrors = defaultMirrors();
        const inChina = (host: string) => extraChinaHosts.includes(host) || isChinaHost(mirrors, host);
        for (const r of args.resources) {
            const images: { reference: string; where: string }[] = [];
            if (r.type === "kubernetes:helm.sh/v3:Release") {
                for (const i of scanValues(r.props.values ?? {}).images)
                    images.push({
                        reference: `${i.reference.domain}/${i.reference.path}`,
                        where: `values.${i.path.join(".")}`,
                    });
            } else {
                const doc = k8sDocument(r.type, r.props);
                if (doc)
                    for (const l of findImages([{ id: objectId(doc), object: doc, text: "" }]))
                        images.push({ reference: l.reference, where: jsonPointer(l.path) });
            }
            for (const i of images) {
                const ref = tryParseImage(i.reference);
                if (ref && !inChina(ref.domain))
                    report(
                        `${r.name} (${i.where}) pulls ${i.reference} from ${ref.domain}, outside China; rewrite it through gitops/mirrors.yaml (the China registry)`,
                        r.urn,
                    );
            }
        }
    },
};

export const chinaRules: Rule[] = [
    chinaArnPartition,
    chinaNoAwsVpn,
    chinaPublicHttpNeedsIcp,
    instanceTypeOffered,
    chinaImagesFromChinaRegistries,
];
