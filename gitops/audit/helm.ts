/**
 * A HelmRelease as helm-controller installs it: its chart (from the source it names: a chart archive in the
 * chart cache, or a chart directory in the tree), its values (`valuesFrom` ConfigMaps and Secrets in order,
 * then `values`), its release name and namespace, rendered on the real `helm template`, then its
 * post-renderers applied with the real kustomize under its `postRenderStrategy`.
 */
import { parse as parseYaml } from "yaml";
import { effectivePostRenderStrategy, FluxRelease } from "../../core/flux-releases";
import { mergeValues } from "../values/scan";
import { runtimeImageNeeds } from "../../core/runtime-images";
import { KustomizePostRenderer } from "../engine/kustomize";
import { EngineContext, ReleaseRender, renderRelease, runsTests, withoutTests } from "../render/engine";
import { postRender, PostRenderStrategy, VerifiedRender } from "../render/verify";
import { ChartContext, resolveChart } from "./charts";
import { BuiltObject } from "./flux";
import { Doc, RenderedObject } from "../objects/manifests";

type Obj = Doc;

export interface HelmJudgement {
    readonly release: string;
    /** The values it installs with (valuesFrom, then values), when they could be read. */
    readonly values?: Record<string, unknown>;
    /** The post-rendered release, when it could be rendered. */
    readonly rendered?: VerifiedRender;
    /** Why it could not be rendered. */
    readonly notRendered?: string;
    /** Problems that are findings whether or not it rendered (unusable values sources, …). */
    readonly problems: string[];
}

export interface HelmAuditContext {
    readonly engine: EngineContext;
    /** How the tree's charts resolve (audit/charts.ts). */
    readonly charts: ChartContext;
    /** The Flux the cluster runs: its helm-controller decides which documents the post-renderers see. */
    readonly flux: FluxRelease;
    readonly kubeVersion?: string;
    /** The cluster must pull only from inside China: an operator's runtime default outside it is a problem. */
    readonly china?: boolean;
}

export const isHelmRelease = (o: RenderedObject) =>
    o.id.kind === "HelmRelease" && o.id.apiVersion.startsWith("helm.toolkit.fluxcd.io/");

/**
 * Where helm-controller installs a HelmRelease: spec.targetNamespace, else its own namespace; under
 * spec.releaseName, else `<targetNamespace>-<name>` with a targetNamespace, else its name.
 */
export function installTarget(hr: RenderedObject): { readonly release: string; readonly namespace: string } {
    const spec = hr.object.spec ?? {};
    return {
        release: String(
            spec.releaseName ?? (spec.targetNamespace ? `${spec.targetNamespace}-${hr.id.name}` : hr.id.name),
        ),
        namespace: String(spec.targetNamespace ?? hr.id.namespace ?? "default"),
    };
}

function find(objects: readonly BuiltObject[], kind: string, name: string, namespace: string): BuiltObject | undefined {
    return objects.find((o) => o.id.kind === kind && o.id.name === name && (o.id.namespace ?? namespace) === namespace);
}

/** valuesFrom: each ConfigMap or Secret key (default values.yaml), merged in order, at targetPath when given. */
export function valuesFrom(
    hr: Obj,
    objects: readonly BuiltObject[],
    namespace: string,
    problems: string[],
): Obj | undefined {
    let values: Obj = {};
    for (const ref of Array.isArray(hr.spec?.valuesFrom) ? hr.spec.valuesFrom : []) {
        const kind = ref?.kind;
        const key = typeof ref?.valuesKey === "string" ? ref.valuesKey : "values.yaml";
        const src =
            kind === "ConfigMap" || kind === "Secret" ? find(objects, kind, String(ref.name), namespace) : undefined;
        let text: string | undefined = src?.object.data?.[key];
        if (kind === "Secret" && typeof text === "string") text = Buffer.from(text, "base64").toString("utf8");
        if (kind === "Secret" && text === undefined && typeof src?.object.stringData?.[key] === "string")
            text = src.object.stringData[key];
        if (text === undefined) {
            if (ref?.optional) continue;
            problems.push(
                `valuesFrom ${kind} ${namespace}/${ref?.name} key ${key} is not in the tree, so the values it installs with cannot be known`,
            );
            return undefined;
        }
        if (typeof ref.targetPath === "string" && ref.targetPath) {
            const top: Obj = {};
            let node: Obj = top;
            const parts: string[] = ref.targetPath.split(".");
            parts.forEach((p, i) => {
                if (i === parts.length - 1) node[p] = text;
                else node = node[p] = {};
            });
            values = mergeValues(values, top) as Obj;
            continue;
        }
        try {
            values = mergeValues(values, parseYaml(text, { maxAliasCount: 100, logLevel: "error" }) ?? {}) as Obj;
        } catch (e) {
            problems.push(
                `valuesFrom ${kind} ${namespace}/${ref.name} key ${key} is not YAML (${(e as Error).message.split("\n")[0]})`,
            );
            return undefined;
        }
    }
    return mergeValues(values, hr.spec?.values ?? {}) as Obj;
}

/** Render one HelmRelease and apply its post-renderers; reasons instead of a render when that cannot be done. */
export async function judgeHelmRelease(
    hr: BuiltObject,
    objects: readonly BuiltObject[],
    ctx: HelmAuditContext,
): Promise<HelmJudgement> {
    const namespace = hr.id.namespace ?? "default";
    const spec = hr.object.spec ?? {};
    const target = installTarget(hr);
    const label = `HelmRelease ${namespace}/${hr.id.name} (${hr.file})`;
    const problems: string[] = [];
    const values = valuesFrom(hr.object, objects, namespace, problems);
    if (!values) return { release: label, notRendered: problems[0], problems };
    const chart = resolveChart(hr.object, objects, namespace, ctx.charts);
    if ("reason" in chart) return { release: label, values, notRendered: chart.reason, problems };
    const renderers: KustomizePostRenderer[] = [];
    for (const pr of Array.isArray(spec.postRenderers) ? spec.postRenderers : [])
        if (pr?.kustomize)
            renderers.push({
                images: pr.kustomize.images,
                patches: [
                    ...(pr.kustomize.patches ?? []),
                    ...(pr.kustomize.patchesJson6902 ?? []).map((p: Doc) => ({
                        patch: JSON.stringify(p.patch),
                        target: p.target,
                    })),
                    ...(pr.kustomize.patchesStrategicMerge ?? []).map((p: Doc) => ({ patch: JSON.stringify(p) })),
                ],
            });
    if (ctx.china && chart.locked)
        problems.push(...runtimeImageNeeds(chart.locked.name, chart.locked.version, values).map((n) => n.message));
    // What the installed helm-controller does, not what the object asks: on a Flux without the field the
    // API server prunes it (core/flux-releases.ts).
    const strategy: PostRenderStrategy = effectivePostRenderStrategy(ctx.flux, spec.postRenderStrategy);
    if (spec.postRenderStrategy !== undefined && !ctx.flux.postRenderStrategyField)
        problems.push(
            `spec.postRenderStrategy is not a field of Flux ${ctx.flux.version}'s HelmRelease: the API server prunes it, and that helm-controller applies hooks as rendered (${strategy})`,
        );
    const rendered: ReleaseRender = await renderRelease(
        {
            label,
            release: target.release,
            namespace: target.namespace,
            chart,
            values,
            kubeVersion: ctx.kubeVersion,
        },
        ctx.engine,
    );
    // A chart's tests are created, and their images pulled, only when the HelmRelease runs them.
    const render = runsTests(spec) ? rendered : withoutTests(rendered);
    const verified = await postRender({ label, render, postRenderers: renderers, strategy }, ctx.engine);
    return { release: label, values, rendered: verified, problems };
}
