/**
 * Typed access to `core/cloud-facts.yaml`: which regions exist, their partition and zones, and which
 * instance types they offer for the families the table covers. See the file's header for sources.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { Partition, partitionOfRegion } from "./partition";

export const FACTS_FILE = path.join(__dirname, "cloud-facts.yaml");

export interface AwsRegionFacts {
    readonly name: string;
    readonly displayName: string;
    readonly partition: Partition | "aws-us-gov";
    /** Zone names, when the table records them. */
    readonly zones?: readonly string[];
    /** The AWS account whose ECR serves EKS add-on images in this region. */
    readonly eksAddonAccount?: string;
    /** family → offered sizes; an empty list means the family is known not to be offered. */
    readonly instanceTypes?: Readonly<Record<string, readonly string[]>>;
}

export interface AlicloudRegionFacts {
    readonly name: string;
    readonly displayName: string;
    /** Inside mainland China (behind the Great Firewall). */
    readonly mainland: boolean;
}

export interface CloudFacts {
    readonly checked: string;
    readonly aws: ReadonlyMap<string, AwsRegionFacts>;
    readonly alicloud: ReadonlyMap<string, AlicloudRegionFacts>;
}

/** How the facts table judges one instance type in one region. */
export type Offering = "offered" | "not-offered" | "unknown";

let cached: CloudFacts | undefined;

/** The checked-in facts table, parsed once. A malformed table is a bug in the repository: it throws. */
export function cloudFacts(): CloudFacts {
    if (!cached) cached = parseFacts(fs.readFileSync(FACTS_FILE, "utf8"), FACTS_FILE);
    return cached;
}

export function parseFacts(text: string, file: string): CloudFacts {
    type Node = Record<string, unknown> | null | undefined;
    const doc = parse(text) as {
        checked?: unknown;
        aws?: { regions?: Record<string, Node> };
        alicloud?: { regions?: Record<string, Node> };
    } | null;
    function fail(what: string): never {
        throw new Error(`${file}: ${what}`);
    }
    if (!doc || typeof doc !== "object") fail("not a YAML mapping");
    const aws = new Map<string, AwsRegionFacts>();
    for (const [name, raw] of Object.entries<Node>(doc.aws?.regions ?? fail("aws.regions is missing"))) {
        if (!raw || typeof raw.name !== "string") fail(`aws.regions.${name}.name must be a string`);
        const zones = raw.zones as unknown;
        if (
            zones !== undefined &&
            (!Array.isArray(zones) || zones.some((z) => typeof z !== "string" || !z.startsWith(name)))
        ) {
            fail(`aws.regions.${name}.zones must list zone names that start with "${name}"`);
        }
        const types = raw.instanceTypes as Record<string, unknown> | undefined;
        for (const [family, sizes] of Object.entries(types ?? {})) {
            if (!Array.isArray(sizes) || sizes.some((s) => typeof s !== "string")) {
                fail(`aws.regions.${name}.instanceTypes.${family} must be a list of sizes`);
            }
        }
        aws.set(name, {
            name,
            displayName: raw.name,
            partition: partitionOfRegion(name),
            zones: zones as string[] | undefined,
            eksAddonAccount: raw.eksAddonAccount === undefined ? undefined : String(raw.eksAddonAccount),
            instanceTypes: types as Record<string, string[]> | undefined,
        });
    }
    const alicloud = new Map<string, AlicloudRegionFacts>();
    for (const [name, raw] of Object.entries<Node>(doc.alicloud?.regions ?? fail("alicloud.regions is missing"))) {
        if (!raw || typeof raw.name !== "string" || typeof raw.mainland !== "boolean") {
            fail(`alicloud.regions.${name} needs a name and mainland: true|false`);
        }
        alicloud.set(name, { name, displayName: raw.name, mainland: raw.mainland });
    }
    return { checked: String(doc.checked ?? ""), aws, alicloud };
}

/** Split `m6i.large` into family and size; undefined when it is not an instance type name. */
export function splitInstanceType(type: string): { family: string; size: string } | undefined {
    const m = /^([a-z][a-z0-9-]*)\.([a-z0-9-]+)$/.exec(type);
    return m ? { family: m[1], size: m[2] } : undefined;
}

export function instanceTypeOffering(facts: CloudFacts, region: string, type: string): Offering {
    const parts = splitInstanceType(type);
    const sizes = parts && facts.aws.get(region)?.instanceTypes?.[parts.family];
    if (!parts || !sizes) return "unknown";
    return sizes.includes(parts.size) ? "offered" : "not-offered";
}
