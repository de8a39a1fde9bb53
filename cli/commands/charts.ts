/** `crossborder charts pull|add`: the chart archives the catalog uses (cli/charts.ts). */
import { Command } from "commander";

export interface ChartsPullCommandOptions {
    readonly catalog: string;
    readonly charts?: string;
    readonly update?: boolean;
    readonly plainHttp?: boolean;
}

export interface ChartsAddCommandOptions {
    readonly catalog: string;
    readonly charts?: string;
    readonly repository?: string;
    readonly update?: boolean;
}

function pullCommand(): Command {
    return new Command("pull")
        .description(
            "fetch every catalog chart at its exact version into the chart cache, and lock its sha256 beside the catalog",
        )
        .option(
            "--catalog <file>",
            "catalog file (the lock is written beside it: catalog.yaml -> catalog.lock)",
            "gitops/catalog.yaml",
        )
        .option("--charts <dir>", "the chart cache (default: ~/.cache/crossborder/charts)")
        .option("--update", "accept archives whose bytes differ from the lock, and record the new sha256")
        .option("--plain-http", "talk plain HTTP to OCI registries (loopback test registries)")
        .action(async (opts: ChartsPullCommandOptions) => {
            const { runChartsPull } = require("../charts") as typeof import("../charts");
            process.stdout.write((await runChartsPull(opts)) + "\n");
        });
}

function addCommand(): Command {
    return new Command("add")
        .description(
            "place chart archives carried in by hand into the chart cache and the lock, without the network (each must be a catalog chart at its exact version)",
        )
        .argument("<archive...>", "chart archives (.tgz), e.g. from helm pull on another machine")
        .option("--catalog <file>", "catalog file (the lock beside it is written)", "gitops/catalog.yaml")
        .option("--charts <dir>", "the chart cache (default: ~/.cache/crossborder/charts)")
        .option("--repository <url>", "the catalog repository the archives come from, when two offer the same chart")
        .option("--update", "accept bytes that differ from the lock (a chart republished under its version)")
        .action((archives: string[], opts: ChartsAddCommandOptions) => {
            const { runChartsAdd } = require("../charts") as typeof import("../charts");
            process.stdout.write(runChartsAdd({ ...opts, archives }) + "\n");
        });
}

export function chartsCommand(): Command {
    return new Command("charts")
        .description("the chart archives the catalog uses")
        .addCommand(pullCommand())
        .addCommand(addCommand());
}
