/**
 * The paired stack's outputs. On the first bring-up a peer output does not exist yet: whatever needs it is
 * skipped, and a notice says which stack to run next (see `crossborder order`).
 */
import * as pulumi from "@pulumi/pulumi";
import { notice } from "./notices";
import type { SideContext } from "./side";

type PeerOutput = ReturnType<pulumi.StackReference["getOutput"]>;

/** All of `names` from the peer stack, or undefined (with a notice naming `what` was skipped). */
export async function peerOutputs<K extends string>(
    ctx: SideContext,
    names: readonly K[],
    what: string,
): Promise<Record<K, PeerOutput> | undefined> {
    const missing: string[] = [];
    for (const name of names) {
        const details = await ctx.peer.getOutputDetails(name);
        if (details.value === undefined && details.secretValue === undefined) missing.push(name);
    }
    if (missing.length > 0) {
        const other = ctx.cfg.side === "global" ? "china" : "global";
        notice(
            `${what}: skipped, because the ${other} stack (${ctx.cfg.peer.stack}) has no output ${missing.join(", ")} yet. Run pulumi up -s ${other}, then pulumi up -s ${ctx.cfg.side} again.`,
        );
        return undefined;
    }
    return Object.fromEntries(names.map((n) => [n, ctx.peer.getOutput(n)])) as Record<K, PeerOutput>;
}
