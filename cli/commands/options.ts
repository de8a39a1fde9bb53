/** Options several commands share, worded the same way everywhere. */
import { Option } from "commander";

export const STACKS_DIR_HELP = "directory holding Pulumi.global.yaml and Pulumi.china.yaml";
export const STACKS_DIR_FALLBACK_HELP = "where the stack files are, for what stack outputs do not give";
export const CHARTS_CACHE_HELP =
    "the chart cache HelmReleases are rendered from (default: ~/.cache/crossborder/charts)";
export const BORDER_MIRRORS_HELP = "mirrors file (its chinaHosts decide what is inside China)";
export const PLAIN_HTTP_HELP = "talk plain HTTP (loopback test registries)";

export const stacksDir = (help = STACKS_DIR_HELP): Option => new Option("--stacks-dir <dir>", help).default("stacks");
export const mirrors = (help = "mirrors file"): Option =>
    new Option("--mirrors <file>", help).default("gitops/mirrors.yaml");
export const plainHttp = (help = PLAIN_HTTP_HELP): Option => new Option("--plain-http", help);
