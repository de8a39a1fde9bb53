/**
 * Images a fleet release's operator pulls at runtime that no render shows, as far as its chart says
 * (Chart.yaml `artifacthub.io/images`, `helm.sh/images`): copied into China like rendered ones.
 */
import { isChinaHost, Mirrors, rewriteReference } from "../../core/mirrors";
import { tryParseImage } from "../../core/reference";
import { describeId } from "../objects/manifests";
import { InventoryBuilder } from "../render/inventory";
import { declaredImages, readChartArchive } from "../values/chart";
import type { AdoptedRelease } from "./emit";

export function declaredRuntimeImages(
    r: AdoptedRelease,
    mirrors: Mirrors,
    inventory: InventoryBuilder,
    warnings: string[],
): void {
    let declared: ReturnType<typeof declaredImages>;
    try {
        declared = declaredImages(readChartArchive(r.chart.archive));
    } catch {
        return; // an unreadable chart fails its render, which says so
    }
    for (const d of declared) {
        const where = `${describeId(r.hr.id)}: its chart's ${d.annotation} annotation`;
        const upstream = tryParseImage(d.image);
        if (!upstream) {
            warnings.push(`${where}: "${d.image}" is not an image reference; it is not copied`);
            continue;
        }
        if (isChinaHost(mirrors, upstream.domain)) continue;
        try {
            inventory.declare({ upstream, china: rewriteReference(mirrors, upstream), where, container: false });
        } catch (e) {
            warnings.push(`${where}: ${(e as Error).message}`);
        }
    }
}
