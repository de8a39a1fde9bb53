/**
 * Stage 4 of the render pipeline (and the audit's judge): apply a HelmRelease's post-renderers to what
 * helm rendered, as helm-controller does, with the real kustomize, then find every image again and
 * judge each one. Which documents the post-renderers see follows `postRenderStrategy`: "combined"
 * (Helm 4's default: hooks and templates together), "separate" (two streams) or "nohooks" (hooks are
 * left as rendered, Helm 3's behaviour).
 *
 * crossborder's own post-renderers of many releases are built in one kustomize run: each release is its
 * own kustomization below a root that only lists them, so each one's images and patches apply to its
 * objects alone (kustomize scopes transformers to their kustomization), exactly as if run one by one.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { applyKustomize, KustomizePostRenderer } from "../engine/kustomize";
import { cacheKey } from "../engine/cache";
import { locateTool, removeTemporaryFolder, runTool, temporaryFolder, ToolError, toolVersion } from "../engine/tools";
import { isChinaHost, Mirrors } from "../../core/mirrors";
import { ObjectId, parseManifests, RenderedObject } from "../objects/manifests";
import { ImageLocation, PrefixLocation, scanObjects } from "../objects/images";
import { EngineContext, ReleaseRender, settled, StoredObject, storeObjects } from "./engine";
import { describeLocation } from "./plan";

export type { PostRenderStrategy } from "../../core/flux-releases";
import type { PostRenderStrategy } from "../../core/flux-releases";

export interface VerifyRequest {
    readonly label: string;
    readonly render: ReleaseRender;
    readonly postRenderers: readonly KustomizePostRenderer[];
    /** @default "combined" */
    readonly strategy?: PostRenderStrategy;
    /**
     * Feed only the objects that hold images to kustomize. Sound for crossborder's own post-renderers
     * (an images entry or a targeted patch changes nothing else); a foreign post-renderer (a hand-edited
     * tree) could add an image anywhere, so the audit feeds every object.
     */
    readonly onlyObjectsWithImages?: boolean;
}

/** What the cluster would run: the post-rendered objects and their images. */
export type VerifiedRender = ReleaseRender;

async function keyOf(req: VerifyRequest, ctx: EngineContext): Promise<string> {
    const kubectl = locateTool("kubectl");
    return cacheKey({
        stage: "post-render",
        render: req.render.key,
        postRenderers: req.postRenderers,
        strategy: req.strategy ?? "combined",
        only: Boolean(req.onlyObjectsWithImages),
        kubectl: await toolVersion("kubectl", kubectl),
        registries: [...ctx.registries].sort(),
    });
}

function fedObjects(req: VerifyRequest): { fed: ReleaseRender["objects"]; untouched: ReleaseRender["objects"] } {
    const withImages = new Set([...req.render.locations, ...req.render.prefixes].map((l) => l.object));
    const fed = req.render.objects.filter((_, i) => !req.onlyObjectsWithImages || withImages.has(i));
    const strategy = req.strategy ?? "combined";
    // Helm installs a chart's crds/ folder as written: no post-renderer ever sees it.
    const aside = (o: StoredObject) => o.crds || (strategy === "nohooks" && Boolean(o.hook));
    return { fed: fed.filter((o) => !aside(o)), untouched: fed.filter(aside) };
}

const stream = (objects: ReleaseRender["objects"]) => objects.map((o) => o.text.trim()).join("\n---\n") + "\n";

function result(key: string, objects: RenderedObject[], ctx: EngineContext): VerifiedRender {
    const scan = scanObjects(objects, { registries: ctx.registries });
    return {
        key,
        objects: storeObjects(objects),
        locations: scan.images,
        prefixes: scan.prefixes,
        implied: scan.implied,
    };
}

/** One release, its post-renderers run in order (chained), as helm-controller runs them. */
async function postRenderOne(req: VerifyRequest, key: string, ctx: EngineContext): Promise<VerifiedRender> {
    const { fed, untouched } = fedObjects(req);
    const streams =
        (req.strategy ?? "combined") === "separate" ? [fed.filter((o) => !o.hook), fed.filter((o) => o.hook)] : [fed];
    const outputs: string[] = [];
    for (const s of streams.filter((x) => x.length > 0)) {
        let text = stream(s);
        for (const renderer of req.postRenderers)
            text = await ctx.limit(() => applyKustomize(text, renderer, req.label));
        outputs.push(text);
    }
    return result(
        key,
        [
            ...parseManifests(outputs.join("\n---\n"), `${req.label}: post-rendered output`),
            ...parseManifests(stream(untouched), req.label),
        ],
        ctx,
    );
}

const idKey = (id: ObjectId) => `${id.apiVersion}|${id.kind}|${id.namespace ?? ""}|${id.name}`;

/** Several releases with one post-renderer each, in one kustomize run; undefined if kustomize refused. */
async function postRenderBatch(
    batch: { req: VerifyRequest; key: string }[],
    ctx: EngineContext,
): Promise<VerifiedRender[] | undefined> {
    const dir = temporaryFolder("crossborder-kustomize-");
    try {
        const owner = new Map<string, number>();
        batch.forEach(({ req }, i) => {
            const sub = path.join(dir, `r${i}`);
            fs.mkdirSync(sub);
            const objects = fedObjects(req).fed;
            for (const o of objects) owner.set(idKey(o.id), i);
            const r = req.postRenderers[0];
            fs.writeFileSync(path.join(sub, "helm-output.yaml"), stream(objects));
            fs.writeFileSync(
                path.join(sub, "kustomization.yaml"),
                JSON.stringify({
                    apiVersion: "kustomize.config.k8s.io/v1beta1",
                    kind: "Kustomization",
                    resources: ["helm-output.yaml"],
                    ...(r.images?.length ? { images: r.images } : {}),
                    ...(r.patches?.length ? { patches: r.patches } : {}),
                }),
            );
        });
        fs.writeFileSync(
            path.join(dir, "kustomization.yaml"),
            JSON.stringify({
                apiVersion: "kustomize.config.k8s.io/v1beta1",
                kind: "Kustomization",
                resources: batch.map((_, i) => `r${i}`),
            }),
        );
        // A batch that fails (or passes a bound) is done again one release at a time, which names the release.
        const r = await ctx
            .limit(() =>
                runTool(locateTool("kubectl"), ["kustomize", "--load-restrictor", "LoadRestrictionsNone", dir], {
                    purpose: "build",
                }),
            )
            .catch((e) => {
                if (e instanceof ToolError && !/cannot run/.test(e.message)) return undefined;
                throw e;
            });
        if (!r || r.code !== 0) return undefined;
        const per: RenderedObject[][] = batch.map(() => []);
        for (const o of parseManifests(r.stdout, "post-rendered output")) {
            const i = owner.get(idKey(o.id));
            if (i === undefined) return undefined;
            per[i].push(o);
        }
        // Hooks the strategy keeps from the post-renderer are applied as rendered.
        return batch.map(({ req, key }, i) =>
            result(key, [...per[i], ...parseManifests(stream(fedObjects(req).untouched), req.label)], ctx),
        );
    } finally {
        removeTemporaryFolder(dir);
    }
}

/** Split releases into at most `n` batches, no object id in two releases of one batch. */
function batches(items: { req: VerifyRequest; key: string }[], n: number): { req: VerifyRequest; key: string }[][] {
    const out: { items: { req: VerifyRequest; key: string }[]; ids: Set<string>; size: number }[] = [];
    const sized = items
        .map((x) => ({ x, size: fedObjects(x.req).fed.reduce((s, o) => s + o.text.length, 0) }))
        .sort((a, b) => b.size - a.size);
    for (const { x, size } of sized) {
        const ids = fedObjects(x.req).fed.map((o) => idKey(o.id));
        const fits = out.filter((b) => !ids.some((id) => b.ids.has(id))).sort((a, b) => a.size - b.size)[0];
        if (out.length < n || !fits) out.push({ items: [x], ids: new Set(ids), size });
        else {
            fits.items.push(x);
            ids.forEach((id) => fits.ids.add(id));
            fits.size += size;
        }
    }
    return out.map((b) => b.items);
}

/**
 * Post-render many releases. Requests with one post-renderer, the "combined" strategy and only the
 * objects that hold images (crossborder's own) share kustomize runs; the rest run one by one.
 */
export async function postRenderAll(reqs: readonly VerifyRequest[], ctx: EngineContext): Promise<VerifiedRender[]> {
    const results: (VerifiedRender | undefined)[] = reqs.map((r) =>
        r.postRenderers.length === 0 ? r.render : undefined,
    );
    const pending: { req: VerifyRequest; key: string; i: number }[] = [];
    for (const [i, req] of reqs.entries()) {
        if (results[i]) continue;
        const key = await keyOf(req, ctx);
        const cached = ctx.cache.get<VerifiedRender>(key);
        if (cached) results[i] = cached;
        else pending.push({ req, key, i });
    }
    const batchable = pending.filter(
        ({ req }) =>
            req.postRenderers.length === 1 && (req.strategy ?? "combined") !== "separate" && req.onlyObjectsWithImages,
    );
    const single = pending.filter((p) => !batchable.includes(p));
    const cpus = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
    await settled<unknown>([
        ...batches(batchable, cpus).map(async (batch) => {
            const done = batch.length > 1 ? await postRenderBatch(batch, ctx) : undefined;
            await settled(
                batch.map(async (b, j) => {
                    const p = b as (typeof pending)[number];
                    results[p.i] = done?.[j] ?? (await postRenderOne(p.req, p.key, ctx));
                }),
            );
        }),
        ...single.map(async (p) => (results[p.i] = await postRenderOne(p.req, p.key, ctx))),
    ]);
    for (const p of pending) ctx.cache.set(p.key, results[p.i]);
    return results as VerifiedRender[];
}

/** One release (see postRenderAll). */
export async function postRender(req: VerifyRequest, ctx: EngineContext): Promise<VerifiedRender> {
    return (await postRenderAll([req], ctx))[0];
}

/** What a prefix setting outside China does, for messages of the render and the audit. */
export function prefixLeak(l: PrefixLocation): string {
    return `the registry prefix setting ${l.setting} = ${l.text} makes the operator pull from ${l.domain}, outside China`;
}

/** Every registry prefix setting of a post-rendered release that points outside China, described. */
export function prefixesAcross(
    render: VerifiedRender,
    mirrors: Mirrors,
): { location: PrefixLocation; where: string; message: string }[] {
    return render.prefixes
        .filter((l) => !isChinaHost(mirrors, l.domain))
        .map((l) => {
            const where = describeLocation(render, l);
            return {
                location: l,
                where,
                message: `${where}: ${prefixLeak(l)}`,
            };
        });
}

/** Every image of a post-rendered release that is not served from inside China, described. */
export function crossBorder(render: VerifiedRender, mirrors: Mirrors): { location: ImageLocation; message: string }[] {
    return render.locations
        .filter((l) => !l.parsed || !isChinaHost(mirrors, l.parsed.domain))
        .map((l) => ({
            location: l,
            message: `${describeLocation(render, l)}: ${l.reference}${l.parsed ? ` is pulled from ${l.parsed.domain}, outside China` : " is not a valid image reference"}`,
        }));
}
