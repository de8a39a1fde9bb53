/**
 * Between stages 2 and 3 of the render pipeline: hooks and tests on a Flux whose helm-controller does not
 * post-render them (Flux 2.8: `nohooks`, core/flux-releases.ts). What such a controller applies for a
 * hook is exactly what `helm template` rendered, so a hook image outside China can only move through the
 * chart's values. The values that set it are found by scanning the chart's effective values (its defaults,
 * its dependencies', the release's), rewritten to the China names, and proven: the release is rendered again
 * with them on the engine, and every hook image of that render must be inside China. A hook image no value
 * sets is a finding naming the hook, never a silent pass.
 */
import { Chart, readChartArchive, readChartDirectory, scanChart } from "../values/chart";
import { isChinaHost, Mirrors, mirrorsFingerprint } from "../../core/mirrors";
import { cacheKey } from "../engine/cache";
import { describeId } from "../objects/manifests";
import { nameOf } from "../../core/reference";
import { mergeValues, rewriteValues } from "../values/scan";
import { localChartFiles } from "./emit";
import { EngineContext, ReleaseRender, renderRelease, RenderJob, withoutTests } from "./engine";
import { jsonPointer } from "./plan";

export interface HookRewrite {
    /** The values the HelmRelease installs with (the release's, then the overrides). */
    readonly values: Record<string, unknown>;
    /** The render with those values. */
    readonly render: ReleaseRender;
    /** The override values added (empty when the hooks needed none). */
    readonly overrides: Record<string, unknown>;
    /** Hook images that stay outside China: each a finding. */
    readonly problems: readonly string[];
}

/** Hook images outside China, as `(object, location)` descriptions. */
function upstreamHookImages(render: ReleaseRender, mirrors: Mirrors) {
    return render.locations.filter(
        (l) => render.objects[l.object].hook && (!l.parsed || !isChinaHost(mirrors, l.parsed.domain)),
    );
}

function chartOf(job: RenderJob, local: boolean): Chart {
    return local
        ? readChartDirectory(localChartFiles({ dir: job.chart.file, path: "", name: "", version: "" }), job.chart.file)
        : readChartArchive(job.chart.file);
}

/**
 * The values that set the `wanted` hook images to their China names, found in the chart's effective values.
 * Kept in the render cache by the render they were found for (chart, values, engine) and the mirrors, so a
 * warm render does not read the chart again; the render with them is still proven on every run.
 */
function hookOverrides(
    job: RenderJob & { readonly local: boolean },
    render: ReleaseRender,
    wanted: ReadonlySet<string>,
    mirrors: Mirrors,
    ctx: EngineContext,
): Record<string, unknown> {
    const key = cacheKey({
        stage: "hook-values",
        render: render.key,
        wanted: [...wanted].sort(),
        mirrors: mirrorsFingerprint(mirrors),
    });
    const cached = ctx.cache.get<Record<string, unknown>>(key, false);
    if (cached && typeof cached === "object" && !Array.isArray(cached)) return cached;
    const values = (job.values ?? {}) as Record<string, unknown>;
    const { effective, scan } = scanChart(chartOf(job, job.local), values);
    const setting = scan.images.filter((i) => wanted.has(nameOf(i.reference)));
    const { overrides } = rewriteValues(effective, setting, mirrors);
    ctx.cache.set(key, overrides);
    return overrides;
}

/**
 * Move every hook image of `render` into China through the chart's values, proven by rendering again.
 * `flux` names the installed Flux for messages.
 */
export async function rewriteHooksByValues(
    job: RenderJob & { readonly local: boolean; readonly tests?: boolean },
    render: ReleaseRender,
    mirrors: Mirrors,
    ctx: EngineContext,
    flux: string,
): Promise<HookRewrite> {
    const values = (job.values ?? {}) as Record<string, unknown>;
    const outside = upstreamHookImages(render, mirrors);
    if (outside.length === 0) return { values, render, overrides: {}, problems: [] };
    const wanted = new Set(outside.flatMap((l) => (l.parsed ? [nameOf(l.parsed)] : [])));
    const overrides = hookOverrides(job, render, wanted, mirrors, ctx);
    const merged = mergeValues(values, overrides) as Record<string, unknown>;
    const rendered = Object.keys(overrides).length ? await renderRelease({ ...job, values: merged }, ctx) : render;
    const again = job.tests === false ? withoutTests(rendered) : rendered;
    const problems = upstreamHookImages(again, mirrors).map((l) => {
        const o = again.objects[l.object];
        return `${describeId(o.id)} ${jsonPointer(l.path)}: ${l.reference} is in a hook (helm.sh/hook: ${o.hook}), which ${flux}'s helm-controller applies as rendered, without the post-renderer, and no value of the chart sets it to a China name. Set the image through the chart's values in the catalog (values.<path>), or pin a Flux that post-renders hooks (flux.version "2.9.4" with a chart of its own)`;
    });
    return { values: merged, render: again, overrides, problems };
}
