/**
 * What every side composition (stacks/global.ts, stacks/china.ts and the helpers they share) receives
 * from the program: the validated config, the providers, the preflight facts and the paired stack. A
 * file of its own so that the sides depend on it and the program depends on the sides, never round.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config";
import type { Preflight } from "./preflight";
import type { SideProviders } from "./providers";

export interface SideContext {
    readonly cfg: StackConfig;
    readonly providers: SideProviders;
    readonly facts: Preflight;
    /** The paired stack's outputs. */
    readonly peer: pulumi.StackReference;
}
