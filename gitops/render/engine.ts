/**
 * Stage 2 of the render pipeline: each release rendered on the real engine (`helm template` with the
 * values the HelmRelease installs with), and every image found in the result. Cached by what decides
 * the output; releases render in parallel, bounded by the CPUs. Releases whose values and Kubernetes
 * version are the same on both clusters render once.
 */
import { helm, helmTemplate } from "../engine/helm";
import { cacheKey, RenderCache } from "../engine/cache";
import { Limit } from "../engine/pool";
import { ObjectId, parseManifests, RenderedObject } from "../objects/manifests";
import { ImageLocation, ImpliedImage, PrefixLocation, scanObjects } from "../objects/images";

/** What crossborder knows about one rendered release: the objects that hold images, and where. */
export interface ReleaseRender {
    readonly key: string;
    /** Every object helm rendered (CRDs aside), its id, hook and text. */
    readonly objects: readonly StoredObject[];
    readonly locations: readonly ImageLocation[];
    /** Registry prefix settings an operator joins with image names at runtime. */
    readonly prefixes: readonly PrefixLocation[];
    /** Images an operator joins from a prefix, a name and a tag. */
    readonly implied: readonly ImpliedImage[];
}

export interface StoredObject {
    readonly id: ObjectId;
    readonly hook?: string;
    /** From the chart's crds/ folder: installed as written, never post-rendered. */
    readonly crds?: boolean;
    readonly source?: string;
    readonly text: string;
}

export interface RenderJob {
    /** `release cert-manager (china)`, for messages. */
    readonly label: string;
    readonly release: string;
    readonly namespace: string;
    /** Chart archive or directory, and the hash of its bytes. */
    readonly chart: { readonly file: string; readonly sha256: string };
    readonly values: unknown;
    readonly kubeVersion?: string;
}

export interface EngineContext {
    readonly cache: RenderCache;
    readonly limit: Limit;
    /** Hosts whose references count as images without a tag (mirrors' upstreams and chinaHosts). */
    readonly registries: readonly string[];
}

export function storeObjects(objects: readonly RenderedObject[]): StoredObject[] {
    return objects.map((o) => ({
        id: o.id,
        ...(o.hook ? { hook: o.hook } : {}),
        ...(o.crds ? { crds: true } : {}),
        ...(o.source ? { source: o.source } : {}),
        text: o.text,
    }));
}

export async function renderKey(job: RenderJob, ctx: EngineContext): Promise<string> {
    const { version } = await helm();
    return cacheKey({
        stage: "helm",
        helm: version,
        chart: job.chart.sha256,
        release: job.release,
        namespace: job.namespace,
        values: job.values ?? {},
        kubeVersion: job.kubeVersion ?? "",
        registries: [...ctx.registries].sort(),
    });
}

/** Render one release (or read it from the cache). */
export async function renderRelease(job: RenderJob, ctx: EngineContext): Promise<ReleaseRender> {
    const key = await renderKey(job, ctx);
    const cached = ctx.cache.get<ReleaseRender>(key);
    if (cached) return cached;
    const text = await ctx.limit(() =>
        helmTemplate({
            label: job.label,
            release: job.release,
            namespace: job.namespace,
            chart: job.chart.file,
            values: job.values,
            kubeVersion: job.kubeVersion,
        }),
    );
    const objects = parseManifests(text, `${job.label}: helm template output`);
    const scan = scanObjects(objects, { registries: ctx.registries });
    const result: ReleaseRender = {
        key,
        objects: storeObjects(objects),
        locations: scan.images,
        prefixes: scan.prefixes,
        implied: scan.implied,
    };
    ctx.cache.set(key, result);
    return result;
}

/** Render many jobs; jobs with the same key (same chart, values, name) share one helm run. */
export async function renderAll(jobs: readonly RenderJob[], ctx: EngineContext): Promise<ReleaseRender[]> {
    const keys = await Promise.all(jobs.map((j) => renderKey(j, ctx)));
    const byKey = new Map<string, Promise<ReleaseRender>>();
    return settled(
        jobs.map((job, i) => {
            let p = byKey.get(keys[i]);
            if (!p) {
                p = renderRelease(job, ctx);
                byKey.set(keys[i], p);
            }
            return p;
        }),
    );
}

/**
 * Promise.all that waits for every run before failing with the first error: a release that fails must not
 * return while helm still renders the others (their processes would outlive the answer).
 */
export async function settled<T>(runs: readonly Promise<T>[]): Promise<T[]> {
    const results = await Promise.allSettled(runs);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/**
 * Whether a `helm.sh/hook` annotation makes the object a chart test. Helm creates tests only on `helm test`
 * ("test"; "test-success" and "test-failure" are Helm 2's names, still honoured: helm pkg/release/hook.go),
 * and helm-controller runs that only when the HelmRelease sets `spec.test.enable` (its CRD: "Enable enables
 * Helm test actions for this HelmRelease after an Helm install or upgrade action has been performed").
 */
export function isTestHook(hook: string | undefined): boolean {
    return (hook ?? "").split(",").some((h) => /^\s*test(-success|-failure)?\s*$/.test(h));
}

/** Whether helm-controller runs the chart's tests for this HelmRelease spec (and so pulls their images). */
export function runsTests(spec: { test?: { enable?: unknown } } | undefined): boolean {
    return spec?.test?.enable === true;
}

/** The render without the chart's tests: what a HelmRelease that does not run them creates and pulls. */
export function withoutTests(render: ReleaseRender): ReleaseRender {
    if (!render.objects.some((o) => isTestHook(o.hook))) return render;
    const index = new Map<number, number>();
    const objects = render.objects.filter((o, i) => {
        if (isTestHook(o.hook)) return false;
        index.set(i, index.size);
        return true;
    });
    const keep = <T extends { object: number }>(xs: readonly T[]): T[] =>
        xs.filter((x) => index.has(x.object)).map((x) => ({ ...x, object: index.get(x.object)! }));
    return {
        key: `${render.key}:no-tests`,
        objects,
        locations: keep(render.locations),
        prefixes: keep(render.prefixes),
        implied: keep(render.implied),
    };
}
