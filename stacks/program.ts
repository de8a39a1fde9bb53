/**
 * The Pulumi program: read and validate the stack config, check it against the cloud, then build the
 * global or the china side. `index.ts` exports `main` for the Pulumi CLI; the offline plan runs the same
 * function under the mock runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./config";
import { preflight } from "./preflight";
import { createProviders } from "./providers";
import type { SideContext } from "./side";
import { buildChina } from "./china";
import { buildGlobal } from "./global";

/**
 * Whether a config key was set with --secret. The SDK keeps this in `runtime.isConfigSecret` (marked
 * internal, so absent from its typings); test/stacks/config.test.ts fails if an SDK upgrade removes it.
 */
export function isConfigSecret(key: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean };
    if (typeof runtime.isConfigSecret !== "function")
        throw new Error(
            "@pulumi/pulumi no longer exposes runtime.isConfigSecret; crossborder cannot tell secret config from plain text",
        );
    return runtime.isConfigSecret(key);
}

export async function main(): Promise<Record<string, unknown>> {
    const cfg = loadStackConfig(pulumi.runtime.allConfig(), { stack: pulumi.getStack(), isSecret: isConfigSecret });
    const providers = createProviders(cfg);
    const facts = await preflight(cfg, providers.aws);
    const peer = new pulumi.StackReference(`peer-${cfg.peer.stack.split("/").pop()}`, { name: cfg.peer.stack });
    const ctx: SideContext = { cfg, providers, facts, peer };
    const sideOutputs = cfg.side === "global" ? await buildGlobal(ctx) : await buildChina(ctx);
    const outputs: Record<string, unknown> = {
        side: cfg.side,
        partition: facts.partition,
        awsRegion: cfg.aws.region,
        alicloudRegion: cfg.alicloud.region,
        vpcCidr: cfg.network.vpcCidr,
        zones: facts.zones,
        ...sideOutputs,
    };
    // An undefined output is dropped by the engine with a warning; leave it out instead.
    return Object.fromEntries(Object.entries(outputs).filter(([, v]) => v !== undefined));
}
