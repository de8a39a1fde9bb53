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
