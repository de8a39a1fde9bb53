/**
 * The offline engine: runs the real program for one stack under Pulumi's mock runtime, answers invokes
 * from the cloud facts table and StackReferences from the peer's recorded outputs, and records every
 * resource registration (URN, type, name, parent, provider, protect, inputs with secrets masked).
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { arn, dnsSuffix, Partition, partitionOfRegion } from "../core/partition";
import { AwsRegionFacts, CloudFacts, instanceTypeOffering, splitInstanceType } from "../core/cloud-facts";
import { setNoticeSink } from "./notices";
import { main } from "./program";

// The Pulumi wire format's markers (see @pulumi/pulumi runtime/rpc.ts).
const SIG_KEY = pulumi.runtime.specialSigKey;
const SECRET_SIG = pulumi.runtime.specialSecretSig;
const RESOURCE_SIG = pulumi.runtime.specialResourceSig;
const UNKNOWN = pulumi.runtime.unknownValue;

export const MASK = "[secret]";
/** Account id the offline plan uses wherever AWS would fill in the caller's account. */
export const OFFLINE_ACCOUNT = "000000000000";

/** One resource as the offline plan records it (this file) and the rules read it. */
export interface ResourceRecord {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** The parent's URN ("" for the stack itself). */
    readonly parent: string;
    /** The provider's URN ("" when the resource uses a default provider or is a component). */
    readonly provider: string;
    readonly custom: boolean;
    readonly protect: boolean;
    /** Inputs with every secret replaced by "[secret]" and every unknown value by "[unknown]". */
    readonly inputs: Record<string, unknown>;
    /** URNs the resource depends on. @default [] */
    readonly dependencies?: readonly string[];
    /** Input name → URNs of the resources its value was made from. @default {} */
    readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
    /** Outputs the program asked Pulumi to store as secrets. @default [] */
    readonly additionalSecretOutputs?: readonly string[];
}

export interface StackRun {
    readonly stack: string;
    readonly resources: ResourceRecord[];
    /** Stack outputs with secrets masked (for the plan file). */
    readonly outputs: Record<string, unknown>;
    /** Stack outputs in clear, and which are secret (for the peer's StackReference only). */
    readonly rawOutputs: Record<string, unknown>;
    readonly secretOutputNames: string[];
    readonly warnings: string[];
}

export interface RunOptions {
    readonly project: string;
    readonly stack: string;
    readonly config: Record<string, unknown>;
    readonly secretKeys: readonly string[];
    readonly facts: CloudFacts;
    /** Outputs of other stacks by stack name, for StackReferences. */
    readonly peers: ReadonlyMap<string, { outputs: Record<string, unknown>; secretOutputNames: string[] }>;
    /**
     * The preview of a stack that does not exist yet: no resource has an id or computed outputs, so every
     * input made from another resource's output is unknown, exactly where the SDK puts unknowns in a real
     * `pulumi preview` of a new stack. @default false (every value known, as after a deploy)
     */
    readonly newStack?: boolean;
    /** The program to run. @default the crossborder program (stacks/program.ts) */
    readonly program?: () => Promise<Record<string, unknown> | void>;
}

/** Replace secrets with MASK, resource references with their URN and unknowns with "[unknown]". */
export function mask(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(mask);
    if (value && typeof value === "object") {
        const o = value as Record<string, unknown>;
        if (o[SIG_KEY] === SECRET_SIG) return MASK;
        if (o[SIG_KEY] === RESOURCE_SIG) return o.urn;
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(o).sort()) out[k] = mask(o[k]);
        return out;
    }
    return value === UNKNOWN ? "[unknown]" : value;
}

/**
 * Secrets unwrapped and unknowns dropped: the peer's outputs as a StackReference reads them. (One unknown
 * value inside a StackReference's outputs makes all of them unknown in a preview.)
 */
function peerView(value: unknown): unknown {
    if (Array.isArray(value)) return value.filter((v) => v !== UNKNOWN).map(peerView);
    if (value && typeof value === "object") {
        const o = value as Record<string, unknown>;
        if (o[SIG_KEY] === SECRET_SIG) return peerView(o.value);
        return Object.fromEntries(
            Object.entries(o)
                .filter(([, v]) => v !== UNKNOWN)
                .map(([k, v]) => [k, peerView(v)]),
        );
    }
    return value;
}

/** Provider references are `<urn>::<id>`. */
/** The name of the provider a reference (`urn::id`) points at: its URN's last segment, known even when its id is not. */
function providerName(ref: string | undefined): string {
    return (
        splitProviderRef(ref ?? "")
            .urn.split("::")
            .pop() ?? ""
    );
}

function splitProviderRef(ref: string): { urn: string; id: string } {
    const i = ref.lastIndexOf("::");
    return i < 0 ? { urn: ref, id: "" } : { urn: ref.slice(0, i), id: ref.slice(i + 2) };
}

/** A stable number from a resource name, so the same plan always shows the same values. */
function stableNumber(name: string, modulo: number): number {
    return createHash("sha256").update(name).digest().readUInt32BE(0) % modulo;
}

/** What AWS would compute for the few outputs the program reads from other resources. */
function computedOutputs(
    type: string,
    name: string,
    inputs: Record<string, unknown>,
    partition: Partition,
    region: string,
): Record<string, unknown> {
    const suffix = dnsSuffix(partition);
    switch (type) {
        case "aws:eks/cluster:Cluster":
            return {
                endpoint: `https://OFFLINE.gr7.${region}.eks.${suffix}`,
                certificateAuthority: { data: "T0ZGTElORQ==" },
                identities: [{ oidcs: [{ issuer: `https://oidc.eks.${region}.${suffix}/id/OFFLINE` }] }],
                vpcConfig: {
                    ...(inputs.vpcConfig as object),
                    clusterSecurityGroupId: `sg-offline-${stableNumber(name, 1e6)}`,
                },
            };
        case "aws:ec2transitgateway/transitGateway:TransitGateway":
            return { associationDefaultRouteTableId: `tgw-rtb-offline-${stableNumber(name, 1e6)}` };
        case "aws:ec2/networkInterface:NetworkInterface": {
            const n = stableNumber(name, 250) + 1;
            return { privateIp: `10.255.0.${n}`, macAddress: `02:00:00:00:00:${n.toString(16).padStart(2, "0")}` };
        }
        case "aws:ec2/launchTemplate:LaunchTemplate":
            return { latestVersion: 1 };
        case "aws:iam/role:Role":
            // Pulumi auto-names a role from its resource name and a random suffix.
            return { name: inputs.name ?? `${name}-${stableNumber(name, 0xfffffff).toString(16).padStart(7, "0")}` };
        case "aws:kms/key:Key":
            return { keyId: `offline-${stableNumber(name, 1e9)}` };
        case "aws:ecr/repository:Repository":
            return { repositoryUrl: `${OFFLINE_ACCOUNT}.dkr.ecr.${region}.${suffix}/${String(inputs.name)}` };
        case "aws:ec2/eip:Eip":
            // Documentation addresses (RFC 5737): plainly not real.
            return { publicIp: `203.0.113.${stableNumber(name, 250) + 1}` };
        case "aws:ec2/vpnConnection:VpnConnection":
            return {
                tunnel1Address: "198.51.100.1",
                tunnel2Address: "198.51.100.2",
                transitGatewayAttachmentId: `tgw-attach-offline-${stableNumber(name, 1e6)}`,
            };
        case "aws:s3/bucket:Bucket":
            return { bucketRegionalDomainName: `${String(inputs.bucket)}.s3.${region}.${suffix}` };
        default:
            return {};
    }
}

/** A deterministic stand-in for a generated password (letters and digits, from the resource name). */
export function offlinePassword(name: string, length: number): string {
    let out = "";
    for (let i = 0; out.length < length; i++)
        out += createHash("sha256")
            .update(`${name}/${i}`)
            .digest("base64")
            .replace(/[^A-Za-z0-9]/g, "");
    return out.slice(0, length);
}

class OfflineMocks implements pulumi.runtime.Mocks {
    /** Provider id → region, so invokes and ARNs use the region of the provider they were given. */
    private readonly regions = new Map<string, string>();

    constructor(
        private readonly opts: RunOptions,
        private readonly warnings: string[],
    ) {}

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        const provider = args.type.startsWith("pulumi:providers:");
        if (this.opts.newStack && !provider && args.type !== "pulumi:pulumi:StackReference") {
            // Nothing exists yet: no id, and only the inputs are known of the new resource's state.
            return { id: "", state: { ...args.inputs } };
        }
        const id = args.id || `${args.name}-id`;
        if (args.type === "pulumi:pulumi:StackReference") {
            const name = String(args.inputs.name);
            const peer = this.opts.peers.get(name.split("/").pop()!);
            return {
                id: name,
                state: { name, outputs: peer?.outputs ?? {}, secretOutputNames: peer?.secretOutputNames ?? [] },
            };
        }
        if (args.type === "pulumi:providers:aws" || args.type === "pulumi:providers:alicloud") {
            this.regions.set(args.name, String(args.inputs.region ?? ""));
        }
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "random:index/randomPassword:RandomPassword")
            state.result = offlinePassword(args.name, Number(args.inputs.length ?? 16));
        const region = this.regions.get(providerName(args.provider));
        if (args.type.startsWith("aws:") && region) {
            const partition = partitionOfRegion(region) as Partition;
            const service = args.type.split(":")[1].split("/")[0];
            if (state.arn === undefined)
                state.arn = arn({
                    partition,
                    service,
                    region: service === "iam" || service === "s3" ? "" : region,
                    account: service === "s3" ? "" : OFFLINE_ACCOUNT,
                    resource: `${args.name}`,
                });
            Object.assign(state, computedOutputs(args.type, args.name, state, partition, region));
        }
        return { id, state };
    }

    /** Invokes the facts table could not answer: a real run would have asked the cloud, so the plan fails. */
    readonly failures: string[] = [];

    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        try {
            return this.answer(args);
        } catch (e) {
            // Recorded, and the run fails with it once the program is done (runStack). Thrown here it would
            // surface as an unhandled rejection of whatever Output used the answer ("error serializing
            // property ..."), or leave the run waiting on an RPC that never completes.
            this.failures.push((e as Error).message);
            return {};
        }
    }

    private answer(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        const region = this.regions.get(providerName(args.provider));
        const need = () => {
            if (!region)
                throw new Error(`offline plan: invoke ${args.token} was made without an explicit regional provider`);
            const facts = this.opts.facts.aws.get(region);
            if (!facts)
                throw new Error(
                    `offline plan: region ${region} is not in core/cloud-facts.yaml; add it there to plan offline`,
                );
            return facts;
        };
        switch (args.token) {
            case "aws:index/getPartition:getPartition": {
                const partition = partitionOfRegion(need().name) as Partition;
                const suffix = dnsSuffix(partition);
                return {
                    id: partition,
                    partition,
                    dnsSuffix: suffix,
                    reverseDnsPrefix: suffix.split(".").reverse().join("."),
                };
            }
            case "aws:index/getAvailabilityZones:getAvailabilityZones":
                return this.zones(need());
            case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
                return this.instanceTypeOfferings(need(), args.inputs.filters ?? []);
            case "aws:ssm/getParameter:getParameter":
                return {
                    id: String(args.inputs.name),
                    name: String(args.inputs.name),
                    type: "String",
                    value: `ami-offline-${need().name}`,
                    arn: "",
                    version: 1,
                    insecureValue: "",
                    withDecryption: true,
                };
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return {
                    id: OFFLINE_ACCOUNT,
                    accountId: OFFLINE_ACCOUNT,
                    arn: arn({
                        partition: partitionOfRegion(need().name) as Partition,
                        service: "iam",
                        account: OFFLINE_ACCOUNT,
                        resource: "user/offline-plan",
                    }),
                    userId: "OFFLINE",
                };
            case "alicloud:cr/getEndpointAclService:getEndpointAclService":
                // Enabling the instance's internet endpoint (an invoke with a side effect on a real run).
                return {
                    id: `${String(args.inputs.instanceId)}:internet`,
                    instanceId: String(args.inputs.instanceId),
                    enable: true,
                    endpointType: "internet",
                    moduleName: "Registry",
                    status: "RUNNING",
                };
            case "aws:index/getRegion:getRegion":
                return {
                    id: need().name,
                    name: need().name,
                    region: need().name,
                    endpoint: `ec2.${need().name}`,
                    description: need().displayName,
                };
            default:
                throw new Error(
                    `offline plan: no offline answer for invoke ${args.token}; teach stacks/offline.ts to answer it from the facts table`,
                );
        }
    }

    private zones(facts: AwsRegionFacts): Record<string, unknown> {
        if (!facts.zones)
            throw new Error(
                `offline plan: core/cloud-facts.yaml lists no zones for ${facts.name}; add them there to plan offline`,
            );
        return {
            id: facts.name,
            names: facts.zones,
            zoneIds: facts.zones.map((z, i) => `${facts.name}-az${i + 1}`),
            groupNames: [facts.name],
        };
    }

    /** Offered as the facts table says; a family the table does not cover is assumed offered, with a warning. */
    private instanceTypeOfferings(
        facts: AwsRegionFacts,
        filters: { name?: string; values?: string[] }[],
    ): Record<string, unknown> {
        const wanted = filters.filter((f) => f.name === "instance-type").flatMap((f) => f.values ?? []);
        const offered = wanted.filter((t) => {
            const verdict = instanceTypeOffering(this.opts.facts, facts.name, t);
            if (verdict === "unknown") {
                this.warnings.push(
                    `core/cloud-facts.yaml does not cover ${splitInstanceType(t)?.family ?? t} in ${facts.name}: assumed ${t} is offered (a real run asks AWS)`,
                );
            }
            return verdict !== "not-offered";
        });
        return {
            id: facts.name,
            instanceTypes: offered,
            locationTypes: offered.map(() => "region"),
            locations: offered.map(() => facts.name),
        };
    }
}

/** The parts of the SDK's mock monitor (protobuf requests, callback style) the offline plan listens on. */
interface Struct {
    toJavaScript(): Record<string, unknown>;
}
interface ResourceRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getProvider(): string;
    getDependenciesList?(): string[];
    getPropertydependenciesMap?(): { forEach(f: (v: { getUrnsList(): string[] }, k: string) => void): void };
    getAdditionalsecretoutputsList?(): string[];
    getCustom?(): boolean;
    getProtect?(): boolean;
    getObject?(): Struct | undefined;
    getProperties?(): Struct | undefined;
}
interface OutputsRequest {
    getUrn(): string;
    getOutputs(): Struct | undefined;
}
interface MockMonitorHooks {
    newUrn(parent: string, type: string, name: string): string;
    registerResource(req: ResourceRequest, callback: unknown): unknown;
    readResource(req: ResourceRequest, callback: unknown): unknown;
    registerResourceOutputs(req: OutputsRequest, callback: unknown): unknown;
}

/** Input name → the URNs of the resources its value was made from (what the engine hands the analyzer). */
function propertyDependencies(req: ResourceRequest): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    req.getPropertydependenciesMap?.().forEach((v, k) => {
        const urns = [...v.getUrnsList()].sort();
        if (urns.length) out[k] = urns;
    });
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Run the program for one stack under mocks and return everything it registered. */
export async function runStack(opts: RunOptions): Promise<StackRun> {
    const warnings: string[] = [];
    const resources: ResourceRecord[] = [];
    let stackOutputs: Record<string, unknown> = {};

    const mocks = new OfflineMocks(opts, warnings);
    await pulumi.runtime.setMocks(mocks, opts.project, opts.stack, true);
    pulumi.runtime.setAllConfig(
        Object.fromEntries(
            Object.entries(opts.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
        ),
        [...opts.secretKeys],
    );
    const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitorHooks;
    // Registered resources carry their inputs in `object`, read resources (StackReference) in `properties`.
    for (const [method, inputsOf] of [
        ["registerResource", (req: ResourceRequest) => req.getObject?.()],
        ["readResource", (req: ResourceRequest) => req.getProperties?.()],
    ] as const) {
        const original = monitor[method].bind(monitor);
        monitor[method] = (req: ResourceRequest, callback: unknown) => {
            const type: string = req.getType();
            const name: string = req.getName();
            const parent: string = req.getParent();
            resources.push({
                urn: monitor.newUrn(parent, type, name),
                type,
                name,
                parent,
                provider: req.getProvider() ? splitProviderRef(req.getProvider()).urn : "",
                custom: method === "readResource" || Boolean(req.getCustom?.()),
                protect: Boolean(req.getProtect?.()),
                inputs: mask(inputsOf(req)?.toJavaScript() ?? {}) as Record<string, unknown>,
                dependencies: [...(req.getDependenciesList?.() ?? [])].sort(),
                propertyDependencies: propertyDependencies(req),
                additionalSecretOutputs: [...(req.getAdditionalsecretoutputsList?.() ?? [])],
            });
            return original(req, callback);
        };
    }
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req: OutputsRequest, callback: unknown) => {
        if (req.getUrn().split("::")[2] === "pulumi:pulumi:Stack")
            stackOutputs = req.getOutputs()?.toJavaScript() ?? {};
        return registerOutputs(req, callback);
    };

    setNoticeSink((m) => warnings.push(m));
    // The SDK stores `new Error().stack` on every promise it creates, for leak reports the offline plan
    // never prints; capturing no frames makes that free. CROSSBORDER_DEBUG keeps full traces.
    const stackTraceLimit = Error.stackTraceLimit;
    if (!process.env.CROSSBORDER_DEBUG) Error.stackTraceLimit = 0;
    try {
        await pulumi.runtime.runInPulumiStack(opts.program ?? main);
        await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    } finally {
        Error.stackTraceLimit = stackTraceLimit;
        setNoticeSink(undefined);
    }
    // An invoke that failed inside an Output leaves the resources that need it unregistered, silently:
    // the plan would be short of them, so it fails instead.
    if (mocks.failures.length) throw new Error([...new Set(mocks.failures)].join("\n"));
    const secretOutputNames = Object.keys(stackOutputs).filter(
        (k) => (stackOutputs[k] as Record<string, unknown> | undefined)?.[SIG_KEY] === SECRET_SIG,
    );
    return {
        stack: opts.stack,
        resources: resources.sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0)),
        outputs: mask(stackOutputs) as Record<string, unknown>,
        rawOutputs: peerView(stackOutputs) as Record<string, unknown>,
        secretOutputNames: secretOutputNames.sort(),
        warnings: [...new Set(warnings)],
    };
}
