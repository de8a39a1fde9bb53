/** `crossborder publish`: the tree a cluster reconciles pushed as a Flux OCI artifact (cli/publish.ts). */
import { Command } from "commander";
import * as path from "path";
import type { PublishCliOptions } from "../publish";
import * as o from "./options";

export type PublishCommandOptions = PublishCliOptions;

export function publishCommand(): Command {
    return new Command("publish")
        .description(
            "push the tree a cluster reconciles (default china) to the origin registry as a Flux OCI artifact; replication carries it into China",
        )
        .option("--tree <dir>", "the rendered tree", path.join("out", "gitops"))
        .option("--cluster <cluster>", "whose tree: china (or global)", "china")
        .option("--registry <host>", "where to push (default: the origin ACR EE instance of the global stack)")
        .option(
            "--repository <path>",
            "the artifact's repository (default: <registry namespace>/<gitops.artifact.repository>)",
        )
        .option(
            "--tag <tag>",
            "the candidate tag to push (default: <gitops.artifact.tag>-candidate; never the tag Flux follows: crossborder promote moves that)",
        )
        .option("--source <text>", "org.opencontainers.image.source annotation (default: crossborder render)")
        .option("--revision <text>", "org.opencontainers.image.revision annotation (default: the tag)")
        .option("--created <time>", "org.opencontainers.image.created (default: SOURCE_DATE_EPOCH, else the epoch)")
        .addOption(o.plainHttp())
        .option("--dry-run", "build the artifact and print its digest without pushing")
        .addOption(o.stacksDir())
        .action(async (opts: PublishCommandOptions) => {
            const { runPublish } = require("../publish") as typeof import("../publish");
            process.exitCode = await runPublish(opts);
        });
}
