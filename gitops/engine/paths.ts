/** Where crossborder keeps what it can rebuild: chart archives and rendered releases. */
import * as os from "os";
import * as path from "path";

/** `$CROSSBORDER_CACHE`, else `$XDG_CACHE_HOME/crossborder`, else `~/.cache/crossborder`. */
export function cacheRoot(): string {
    if (process.env.CROSSBORDER_CACHE) return path.resolve(process.env.CROSSBORDER_CACHE);
    const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    return path.join(xdg, "crossborder");
}

/** The default chart cache: `<cache root>/charts`. */
export function defaultChartCache(): string {
    return path.join(cacheRoot(), "charts");
}

/**
 * What crossborder keeps that is not a cache and must not travel with one (the render cache's secret):
 * `$CROSSBORDER_STATE`, else `$XDG_STATE_HOME/crossborder`, else `~/.local/state/crossborder`.
 */
export function stateRoot(): string {
    if (process.env.CROSSBORDER_STATE) return path.resolve(process.env.CROSSBORDER_STATE);
    const xdg = process.env.XDG_STATE_HOME || path.join(os.homedir(), ".local", "state");
    return path.join(xdg, "crossborder");
}
