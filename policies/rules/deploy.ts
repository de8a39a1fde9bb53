/**
 * Rules about resources a real `pulumi up` would fail on or undo, which `pulumi preview` can see first:
 * each guards a cloud fact that once broke a first deploy.
 */
import { asArray, Props, Rule, SECRET_MASK, undecided, WORLD } from "./common";
import { isUnknown } from "./values";

/**
 * Tag value patterns per AWS service, where the service is stricter than EC2 (which accepts any
 * characters). SSM: "Tag values must match ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$" (AWS Systems Manager API
 * reference, Tag); IAM and KMS document the same set (IAM user guide "Tagging IAM resources"; KMS
 * TagResource). A parameter with a carrier name such as "China Telecom Global (CN2)" fails to create.
 */
export const TAG_VALUE_PATTERNS: Readonly<Record<string, { readonly pattern: RegExp; readonly source: string }>> = {
    ssm: { pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u, source: "AWS Systems Manager API reference, Tag" },
    iam: { pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u, source: "IAM user guide, Tagging IAM resources" },
    kms: { pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u, source: "AWS KMS API reference, Tag" },
};

/** The AWS service of a Pulumi type token: `aws:ssm/parameter:Parameter` → `ssm`. */
function serviceOf(type: string): string | undefined {
    return /^aws:([a-z0-9]+)\//.exec(type)?.[1];
}

export const awsTagValues: Rule = {
    name: "aws-tag-values",
    description:
        "Tag values match the character set of their resource's service (SSM, IAM and KMS refuse parentheses, commas and more that EC2 accepts); the provider's default tags count too.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const service = serviceOf(args.type);
        const rule = service ? TAG_VALUE_PATTERNS[service] : undefined;
        if (!rule) return;
        const tags: Props = { ...(args.provider?.props?.defaultTags?.tags ?? {}), ...(args.props.tags ?? {}) };
        for (const [key, value] of Object.entries(tags)) {
            if (typeof value !== "string" || value === SECRET_MASK) continue;
            if (!rule.pattern.test(value))
                report(
                    `${args.name}: tag ${key}=${JSON.stringify(value)} has characters ${service} refuses (${rule.source}: letters, digits, spaces and _ . : / = + - @ only); drop the tag here or change its value`,
                );
        }
    },
};

export const noInlineRoutes: Rule = {
    name: "no-inline-routes",
    description:
        "Route tables carry no inline routes: a table with inline routes owns all its routes, so the next up deletes those added as aws.ec2.Route (the warning in @pulumi/aws routeTable.d.ts); use aws.ec2.Route for every route.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "aws:ec2/routeTable:RouteTable") return;
        const routes = asArray(args.props.routes);
        if (routes.length)
            report(
                `${args.name}: ${routes.length} inline route(s); declare each as an aws.ec2.Route, so routes other components add to this table are not removed on the next up`,
            );
    },
};

export const registryInternetAclBounded: Rule = {
    name: "registry-internet-acl-bounded",
    description:
        "An ACR EE internet access entry names a bounded range, never the whole internet (an empty list or 0.0.0.0/0 exposes the registry to everyone).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "alicloud:cr/endpointAclPolicy:EndpointAclPolicy") return;
        if (isUnknown(args.props.entry)) undecided(args, "entry");
        const entry = String(args.props.entry ?? "");
        const m = /\/(\d+)$/.exec(entry);
        if (WORLD.includes(entry) || (m && Number(m[1]) < 8))
            report(
                `${args.name}: the registry's internet endpoint admits ${entry}; list the addresses that need it (a /32 each)`,
            );
    },
};

/**
 * Transit Gateways with a default route table associate (and propagate) every new attachment by themselves,
 * the accepter side of a peering included (terraform-provider-aws issue 16452); an explicit association of
 * the same attachment then fails with Resource.AlreadyAssociated, and every route that depends on it with it.
 * The border VPN's gateways have route tables of their own and associate every attachment explicitly.
 */
export const tgwExplicitRouteTables: Rule = {
    name: "tgw-explicit-route-tables",
    description:
        "Transit Gateways do not associate or propagate attachments into a default route table (omitted means enable), and VPC attachments do not ask for it: every association is explicit, so none collides with one AWS made.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type === "aws:ec2transitgateway/transitGateway:TransitGateway") {
            for (const key of ["defaultRouteTableAssociation", "defaultRouteTablePropagation"]) {
                if (isUnknown(args.props[key])) undecided(args, key);
                if (args.props[key] !== "disable")
                    report(
                        `${args.name}: ${key} is ${JSON.stringify(args.props[key] ?? "enable (omitted)")}; set it to "disable" and associate each attachment with a route table of the stack's own`,
                    );
            }
        }
        if (args.type === "aws:ec2transitgateway/vpcAttachment:VpcAttachment") {
            for (const key of [
                "transitGatewayDefaultRouteTableAssociation",
                "transitGatewayDefaultRouteTablePropagation",
            ]) {
                if (isUnknown(args.props[key])) undecided(args, key);
                if (args.props[key] !== false)
                    report(
                        `${args.name}: ${key} is ${JSON.stringify(args.props[key] ?? "true (omitted)")}; set it to false and associate the attachment explicitly`,
                    );
            }
        }
    },
};

export const deployRules: Rule[] = [awsTagValues, noInlineRoutes, registryInternetAclBounded, tgwExplicitRouteTables];
