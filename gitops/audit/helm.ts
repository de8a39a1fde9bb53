/**
 * A HelmRelease as helm-controller installs it: its chart (from the source it names: a chart archive in the
 * chart cache, or a chart directory in the tree), its values (`valuesFrom` ConfigMaps and Secrets in order,
 * then `values`), its release name and namespace, rendered on the real `helm template`, then its
 * post-renderers applied with the real kustomize under its `postRenderStrategy`.
 */
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { archivePath, ChartRef, sha256File } from "../engine/charts";
import { helmMerge } from "../values";
import { KustomizePostRenderer } from "../engine/kustomize";
import { chartKey } from "../mirrors";
import { EngineContext, ReleaseRender, renderRelease } from "../render/engine";
import { directoryHash } from "../render/scan";
import { localChartFiles } from "../render/emit";
import { UPSTREAM_CHART_ANNOTATION } from "../render/inventory";
import { postRender, PostRenderStrategy, VerifiedRender } from "../render/verify";
import { BuiltObject, sourcePath } from "./flux";
import { Doc } from "../objects/manifests";

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
    /** The tree copy (charts reconciled from the tree's own source are read from here). */
    readonly root: string;
    readonly chartCache: string;
    /** sha256 of chart archives the tree records (inventory/charts.txt), by cache-relative archive path. */
    readonly recordedSha: ReadonlyMap<string, string>;
    readonly kubeVersion?: string;
}

function find(objects: readonly BuiltObject[], kind: string, name: string, namespace: string): BuiltObject | undefined {
    return objects.find((o) => o.id.kind === kind && o.id.name === name && (o.id.namespace ?? namespace) === namespace);
}

/** valuesFrom: each ConfigMap or Secret key (default values.yaml), merged in order, at targetPath when given. */
function valuesFrom(hr: Obj, objects: readonly BuiltObject[], namespace: string, problems: string[]): Obj | undefined {
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
            values = helmMerge(values, top) as Obj;
            continue;
        }
        try {
            values = helmMerge(values, parseYaml(text, { maxAliasCount: 100 }) ?? {}) as Obj;
        } catch (e) {
            problems.push(
                `valuesFrom ${kind} ${namespace}/${ref.name} key ${key} is not YAML (${(e as Error).message.split("\n")[0]})`,
            );
            return undefined;
        }
    }
    return helmMerge(values, hr.spec?.values ?? {}) as Obj;
}

/** The chart's bytes: a cache archive (for an upstream or China-mirrored source) or a directory of the tree. */
function chartOf(
    hr: Obj,
    objects: readonly BuiltObject[],
    namespace: string,
    ctx: HelmAuditContext,
): { file: string; sha256: string } | { reason: string } {
    const spec = hr.spec ?? {};
    let ref: ChartRef | undefined;
    const fromAnnotation = (o: BuiltObject | undefined, version: string): ChartRef | undefined => {
        const label = o?.object.metadata?.annotations?.[UPSTREAM_CHART_ANNOTATION];
        if (typeof label !== "string") return undefined;
        const at = label.lastIndexOf("@");
        const [source, v] = at > 0 ? [label.slice(0, at), label.slice(at + 1)] : [label, version];
        const [repo, chart] = source.includes(" ")
            ? source.split(" ")
            : [source.slice(0, source.lastIndexOf("/")), source.slice(source.lastIndexOf("/") + 1)];
        return { repository: repo, name: chart, version: v };
    };
    if (spec.chartRef) {
        const kind = spec.chartRef.kind;
        const src = find(objects, kind, String(spec.chartRef.name), spec.chartRef.namespace ?? namespace);
        if (!src) return { reason: `its chartRef ${kind} ${spec.chartRef.name} is not in the tree` };
        if (kind !== "OCIRepository") return { reason: `its chartRef is a ${kind}, which the audit does not follow` };
        const url = String(src.object.spec?.url ?? "");
        const tag = src.object.spec?.ref?.tag ?? src.object.spec?.ref?.semver;
        if (src.object.spec?.ref?.digest && !tag)
            return { reason: `its OCIRepository ${src.id.name} is pinned by digest only; name the version as a tag` };
        ref = fromAnnotation(src, String(tag ?? "")) ?? {
            repository: url.slice(0, url.lastIndexOf("/")),
            name: url.slice(url.lastIndexOf("/") + 1),
            version: String(tag ?? ""),
        };
    } else if (spec.chart?.spec) {
        const cs = spec.chart.spec;
        const srcRef = cs.sourceRef ?? {};
        const src = find(objects, String(srcRef.kind), String(srcRef.name), srcRef.namespace ?? namespace);
        if (Array.isArray(cs.valuesFiles) && cs.valuesFiles.length)
            return {
                reason: `its chart uses valuesFiles (${cs.valuesFiles.join(", ")}), which the audit does not merge`,
            };
        if (srcRef.kind === "GitRepository" && srcRef.name === "flux-system") {
            const rel = sourcePath(String(cs.chart ?? ""));
            const dir = rel === undefined ? undefined : path.join(ctx.root, rel);
            if (!dir || !fs.existsSync(path.join(dir, "Chart.yaml")))
                return { reason: `its chart ${cs.chart} is not a chart directory of the tree` };
            return { file: dir, sha256: directoryHash(localChartFiles({ dir, path: rel!, name: "", version: "" })) };
        }
        if (!src) return { reason: `its chart source ${srcRef.kind} ${srcRef.name} is not in the tree` };
        if (srcRef.kind !== "HelmRepository")
            return { reason: `its chart comes from a ${srcRef.kind}, which the audit does not follow` };
        ref = fromAnnotation(src, String(cs.version ?? "")) ?? {
            repository: String(src.object.spec?.url ?? ""),
            name: String(cs.chart ?? ""),
            version: String(cs.version ?? ""),
        };
    } else return { reason: "it names no chart" };
    if (!ref.version || /[*^~<>|x ]/.test(ref.version))
        return {
            reason: `its chart version "${ref.version}" is not exact, so which archive it installs cannot be known`,
        };
    let file: string;
    try {
        file = archivePath(ctx.chartCache, ref);
    } catch (e) {
        return { reason: (e as Error).message };
    }
    if (!fs.existsSync(file))
        return {
            reason: `no archive of ${ref.repository.startsWith("oci://") ? chartKey({ url: ref.repository, chart: ref.name }) : `${ref.repository} ${ref.name}`} ${ref.version} in ${ctx.chartCache} (crossborder charts pull)`,
        };
    const sha256 = sha256File(file);
    const recorded = ctx.recordedSha.get(path.relative(ctx.chartCache, file).split(path.sep).join("/"));
    if (recorded && recorded !== sha256)
        return { reason: `${file} has sha256 ${sha256}, but the tree's inventory/charts.txt records ${recorded}` };
    return { file, sha256 };
}

/** Render one HelmRelease and apply its post-renderers; reasons instead of a render when that cannot be done. */
export async function judgeHelmRelease(
    hr: BuiltObject,
    objects: readonly BuiltObject[],
    ctx: HelmAuditContext,
): Promise<HelmJudgement> {
    const namespace = hr.id.namespace ?? "default";
    const spec = hr.object.spec ?? {};
    const release = String(
        spec.releaseName ?? (spec.targetNamespace ? `${spec.targetNamespace}-${hr.id.name}` : hr.id.name),
    );
    const label = `HelmRelease ${namespace}/${hr.id.name} (${hr.file})`;
    const problems: string[] = [];
    const values = valuesFrom(hr.object, objects, namespace, problems);
    if (!values) return { release: label, notRendered: problems[0], problems };
    const chart = chartOf(hr.object, objects, namespace, ctx);
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
    const strategy: PostRenderStrategy = ["combined", "separate", "nohooks"].includes(spec.postRenderStrategy)
        ? spec.postRenderStrategy
        : "combined";
    const render: ReleaseRender = await renderRelease(
        {
            label,
            release,
            namespace: String(spec.targetNamespace ?? namespace),
            chart,
            values,
            kubeVersion: ctx.kubeVersion,
        },
        ctx.engine,
    );
    const rendered = await postRender({ label, render, postRenderers: renderers, strategy }, ctx.engine);
    return { release: label, values, rendered, problems };
}
