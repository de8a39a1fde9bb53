/**
 * `crossborder promote`: the gate between publish and the china cluster (gitops/publish/promote.ts). Moves
 * the tag Flux follows to the tree's digest only once the China instance serves the artifact, the tree's
 * charts and every image and chart of its inventory; otherwise names what is missing and exits 1.
 */
import { promote } from "../gitops/publish/promote";
import { RegistryClient } from "../gitops/registry/client";
import { publishTarget, PublishCliOptions } from "./publish";
import { hostCredentials, registryCredentials, UsageError } from "./util";

export interface PromoteCliOptions extends Omit<PublishCliOptions, "tag" | "dryRun"> {
    /** The China instance (default: the china stack's ACR EE endpoint). */
    readonly china?: string;
    readonly concurrency?: string;
}

/** Credentials from two variables, bound to one host. */
export async function runPromote(opts: PromoteCliOptions, out: NodeJS.WriteStream = process.stdout): Promise<number> {
    const target = publishTarget(opts);
    const china = opts.china ?? target.china;
    const concurrency = opts.concurrency === undefined ? 8 : Number(opts.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
        throw new UsageError(`promote: --concurrency must be a whole number from 1 to 64, got "${opts.concurrency}"`);
    const client = new RegistryClient({
        plainHttp: () => Boolean(opts.plainHttp),
        // Each pair goes to its own host only: the origin's to the origin, the China instance's to China.
        credentials: [
            ...registryCredentials(target.registry),
            ...hostCredentials(china, process.env.CROSSBORDER_CHINA_USERNAME, process.env.CROSSBORDER_CHINA_PASSWORD),
        ],
    });
    const r = await promote({
        tree: opts.tree,
        cluster: target.cluster,
        registry: target.registry,
        china,
        repository: target.repository,
        tag: target.followed,
        meta: target.meta,
        client,
        concurrency,
    });
    const ref = `${target.repository}:${target.followed}`;
    if (!r.moved) {
        out.write(
            [
                `NOT PROMOTED: ${china} does not yet serve everything the ${target.cluster} tree ${r.digest} pulls; ${ref} stays where it is, so Flux keeps the tree it has:`,
                ...r.blocked.map((b) => `  ${b}`),
                "",
            ].join("\n"),
        );
        return 1;
    }
    out.write(
        [
            `promoted: ${target.registry}/${ref} -> ${r.digest}`,
            `  ${china} already serves the artifact, the tree's charts, ${r.checked.images} images and ${r.checked.charts} charts of its inventory`,
            `  replication carries the tag into China; npx crossborder verify-mirror --artifact ${ref}@${r.digest} --registry ${china} shows it there`,
            "",
        ].join("\n"),
    );
    return 0;
}
