/** `crossborder verify-mirror`: every image (and chart, and artifact) of an inventory in the target registry (cli/verify.ts). */
import { Command } from "commander";
import type { VerifyCliOptions } from "../verify";
import * as o from "./options";

export type VerifyMirrorCommandOptions = VerifyCliOptions;

export function verifyMirrorCommand(): Command {
    return new Command("verify-mirror")
        .description(
            "check that every image of an inventory is in the target registry with the upstream digest (exit 1 if not)",
        )
        .option("--inventory <file>", "inventory/images.txt of a rendered tree")
        .option(
            "--artifact <ref>",
            "a published tree, <repository>:<tag>@<digest> (crossborder publish prints it); needs --registry",
        )
        .option("--charts <file>", "the chart inventory (default: charts.txt beside --inventory, when present)")
        .option(
            "--registry <host>",
            "check on this registry host (e.g. the China instance) instead of the inventory's destination host; the only host credentials are sent to",
        )
        .addOption(o.plainHttp())
        .option("--concurrency <n>", "requests in flight", "8")
        .option("--timeout <ms>", "timeout per request", "10000")
        .option("--retries <n>", "retries on connection errors, 5xx and 429", "5")
        .option("--no-compare-upstream", "do not ask the upstream for digests the inventory does not pin")
        .option("--json", "machine-readable output")
        .action(async (opts: VerifyMirrorCommandOptions) => {
            const { runVerify } = require("../verify") as typeof import("../verify");
            process.exitCode = await runVerify(opts);
        });
}
