/**
 * The border audit: any Flux tree → for each cluster, every image it pulls and every source it fetches,
 * judged inside China or not by the chinaHosts list of gitops/mirrors.yaml. It follows the tree as Flux
 * does and judges what the engines produce, not what the files say:
 *
 *   clusters      each `clusters/<name>/` is a cluster; its root is built as Flux's root Kustomization, and
 *                 every Flux Kustomization in the output (reconciling this tree's own source) is built in turn
 *                 with its path, images, patches, targetNamespace and postBuild (gitops/audit/flux.ts)
 *   objects       every built object's images (gitops/objects/images.ts), every source's URL
 *   HelmReleases  rendered on `helm template` with their values and valuesFrom, then post-rendered
 *                 (gitops/audit/helm.ts); a release that cannot be rendered is listed, and judged on its values
 *
 * It fails closed: a file it cannot parse, a path it cannot build, a remote resource, a source that is not
 * this tree, a file holding images that no cluster reaches, or no china cluster at all is a finding.
 */
import * as fs from "fs";
import * as path from "path";
import { RenderCache } from "../engine/cache";
import { defaultChartCache } from "../engine/paths";
import { helm, HelmError } from "../engine/helm";
import { KustomizeError } from "../engine/kustomize";
import { limit } from "../engine/pool";
import { isChinaHost, Mirrors } from "../../core/mirrors";
import { describeId, Doc, ManifestError, ObjectId, RenderedObject } from "../objects/manifests";
import { findImages, ImageLocation, KNOWN_REGISTRIES, PrefixLocation, scanObjects } from "../objects/images";
import { format, tryParseImage } from "../../core/reference";
import { parseInventory } from "../registry/verify";
import { EngineContext } from "../render/engine";
import { jsonPointer } from "../render/plan";
import { prefixLeak } from "../render/verify";
import { scanValues } from "../values/scan";
import { BuiltObject, KUSTOMIZATION_FILES, substitute } from "./flux";
import { buildCluster, ClusterBuild, isFluxKustomization } from "./cluster";
import { copyTreeAside } from "./copy";
import { DISK, holdsAsIs, TreeView, Workspace } from "./view";
import { isHelmRelease, judgeHelmRelease } from "./helm";
import { ChartContext } from "./charts";
import { ChartLock } from "../engine/charts";
import { CrdSchemas } from "../engine/flux-crds";
import { DEFAULT_FLUX_VERSION, fluxRelease, FluxRelease } from "../../core/flux-releases";
import { isFluxSource, judgeUrl, sourceUrl } from "./sources";
import { removeTemporaryFolder, temporaryFolder } from "../engine/tools";
import type { AuditReport, ClusterReport, ImageFinding, ReleaseFinding, SourceFinding } from "./report";
import { readTree, TreeFile } from "./tree";

export interface AuditOptions {
    readonly mirrors: Mirrors;
    /** Clusters that must pull nothing from outside China. @default ["china"] */
    readonly chinaClusters?: readonly string[];
    /** A cluster to attribute the files no cluster reaches to (and to build from the tree's root, if the tree has no clusters/<name>). */
    readonly assumeCluster?: string;
    /** The chart cache HelmReleases are rendered from. @default the user's chart cache */
    readonly chartCache?: string;
    /** Render HelmReleases on the Helm engine. @default true */
    readonly render?: boolean;
    /** Per cluster: its Kubernetes version (helm template --kube-version). */
    readonly kubeVersions?: Readonly<Record<string, string>>;
    readonly engine?: { readonly cache?: RenderCache; readonly concurrency?: number };
    /** The catalog's chart lock: how a chart source is matched to an archive. @default none (no remote chart renders) */
    readonly lock?: ChartLock;
    /** The Flux the clusters run (the catalog's flux.version): it decides how hooks are post-rendered. @default the default release */
    readonly flux?: FluxRelease;
    /** The CRDs that Flux installs: every Flux object is checked against them, unknown fields refused. */
    readonly fluxSchemas?: CrdSchemas;
    /**
     * Read earlier renders from the render cache. A cached record cannot be verified without rendering again,
     * so --strict renders everything. @default true
     */
    readonly trustCache?: boolean;
}

function imageFindings(
    locations: readonly ImageLocation[],
    objects: readonly { id: RenderedObject["id"] }[],
    file: (i: number) => string,
    mirrors: Mirrors,
    prefix = "",
): ImageFinding[] {
    return locations.map((l) => ({
        reference: l.parsed ? format(l.parsed) : l.reference,
        inChina: Boolean(l.parsed && isChinaHost(mirrors, l.parsed.domain)),
        file: file(l.object),
        where: `${prefix}${describeId(objects[l.object].id)} ${jsonPointer(l.path)}${l.parsed ? "" : " (not a valid reference)"}`,
        ...(l.via !== "container" && !l.path.includes("ephemeralContainers") ? { setting: true } : {}),
        ...(l.disabled ? { disabled: true } : {}),
    }));
}

/**
 * A HelmRelease that could not be rendered, judged on what it says: its values (valuesFrom merged in),
 * its post-renderer images entries, and any image its post-renderer patches write.
 */
function valuesImages(hr: BuiltObject, values: unknown, mirrors: Mirrors): ImageFinding[] {
    const out: ImageFinding[] = [];
    const id = describeId(hr.id);
    const add = (reference: string, where: string) => {
        const parsed = tryParseImage(reference);
        out.push({
            reference: parsed ? format(parsed) : reference,
            inChina: Boolean(parsed && isChinaHost(mirrors, parsed.domain)),
            file: hr.file,
            where: `${id} ${where}`,
        });
    };
    for (const img of scanValues(values ?? {}).images) add(format(img.reference), `values ${img.path.join(".")}`);
    const patches = (Array.isArray(hr.object.spec?.postRenderers) ? hr.object.spec.postRenderers : []).map(
        (pr: Doc) => ({
            patches: pr?.kustomize?.patches ?? [],
            patchesJson6902: pr?.kustomize?.patchesJson6902 ?? [],
            patchesStrategicMerge: pr?.kustomize?.patchesStrategicMerge ?? [],
        }),
    );
    for (const l of findImages([{ id: hr.id, object: { postRenderers: patches }, text: "" }], {
        registries: [...mirrors.upstreams.keys(), ...mirrors.chinaHosts],
    }))
        add(l.reference, `spec.postRenderers patch ${jsonPointer(l.path)}`);
    for (const pr of Array.isArray(hr.object.spec?.postRenderers) ? hr.object.spec.postRenderers : []) {
        for (const e of Array.isArray(pr?.kustomize?.images) ? pr.kustomize.images : []) {
            if (typeof e?.name !== "string") continue;
            const name = typeof e.newName === "string" ? e.newName : e.name;
            add(
                `${name}${typeof e.newTag === "string" ? `:${e.newTag}` : ""}${typeof e.digest === "string" ? `@${e.digest}` : ""}`,
                `spec.postRenderers images ${e.name}`,
            );
        }
    }
    return out;
}

interface JudgeContext {
    readonly mirrors: Mirrors;
    readonly china: boolean;
    readonly render: boolean;
    readonly engine: EngineContext;
    readonly charts: ChartContext;
    readonly flux: FluxRelease;
    readonly fluxSchemas?: CrdSchemas;
    readonly kubeVersion?: string;
}

/**
 * Flux objects the installed Flux would not run as written: fields its CRDs lack (pruned), objects sent to
 * another cluster. With the installed CRDs at hand every Flux object is checked against them.
 */
function fluxObjectProblems(objects: readonly BuiltObject[], ctx: JudgeContext): string[] {
    const problems: string[] = [];
    for (const o of objects) {
        if (!/\.toolkit\.fluxcd\.io\//.test(o.id.apiVersion)) continue;
        const label = `${describeId(o.id)} (${o.file})`;
        if (isHelmRelease(o) && o.object.spec?.kubeConfig !== undefined)
            problems.push(
                `${label}: spec.kubeConfig installs the release into another cluster, which this cluster's audit cannot judge`,
            );
        const errors = ctx.fluxSchemas?.validate(o.object);
        if (errors === undefined && ctx.fluxSchemas)
            problems.push(
                `${label}: Flux ${ctx.flux.version} (${ctx.fluxSchemas.from}) has no CustomResourceDefinition for ${o.id.apiVersion} ${o.id.kind}`,
            );
        for (const e of errors ?? []) problems.push(`${label}: ${e}`);
    }
    return problems;
}

/**
 * Registry prefix settings an operator joins with image names at runtime (`hub: docker.io/istio`): on the
 * china cluster, one that points outside China makes the operator pull across the border.
 */
function prefixProblems(
    prefixes: readonly PrefixLocation[],
    objects: readonly { id: ObjectId }[],
    fileOf: (i: number) => string,
    mirrors: Mirrors,
): string[] {
    return prefixes
        .filter((l) => !isChinaHost(mirrors, l.domain))
        .map(
            (l) => `${describeId(objects[l.object].id)} ${jsonPointer(l.path)} (${fileOf(l.object)}): ${prefixLeak(l)}`,
        );
}

async function judgeCluster(name: string, build: ClusterBuild, ctx: JudgeContext): Promise<ClusterReport> {
    const { mirrors } = ctx;
    const images: ImageFinding[] = [];
    const sources: SourceFinding[] = [];
    const releases: ReleaseFinding[] = [];
    const problems = [...build.problems, ...fluxObjectProblems(build.objects, ctx)];
    const plain = build.objects.filter((o) => !isHelmRelease(o) && !isFluxKustomization(o) && !isFluxSource(o));
    const scan = scanObjects(plain, { registries: [...mirrors.upstreams.keys(), ...mirrors.chinaHosts] });
    images.push(...imageFindings(scan.images, plain, (i) => plain[i].file, mirrors));
    if (ctx.china) problems.push(...prefixProblems(scan.prefixes, plain, (i) => plain[i].file, mirrors));
    for (const s of build.objects.filter(isFluxSource)) {
        const url = sourceUrl(s.id.kind, s.object.spec);
        if (url === undefined) continue;
        const v = judgeUrl(url, mirrors);
        sources.push({
            kind: s.id.kind,
            name: describeId(s.id),
            url,
            inChina: v.inChina && !v.problem,
            file: s.file,
            ...(v.problem ? { problem: v.problem } : {}),
        });
    }
    await Promise.all(
        build.objects.filter(isHelmRelease).map(async (hr) => {
            const label = describeId(hr.id);
            let judged;
            try {
                judged = ctx.render
                    ? await judgeHelmRelease(hr, build.objects, {
                          engine: ctx.engine,
                          charts: ctx.charts,
                          flux: ctx.flux,
                          kubeVersion: ctx.kubeVersion,
                          china: ctx.china,
                      })
                    : { release: label, notRendered: "rendering is off (--no-render)", problems: [] };
            } catch (e) {
                if (!(e instanceof HelmError || e instanceof KustomizeError || e instanceof ManifestError)) throw e;
                problems.push(`${label} (${hr.file}): ${e.message}`);
                releases.push({ name: label, rendered: false, reason: "helm or its post-renderer failed" });
                return;
            }
            problems.push(...judged.problems.map((p) => `${label} (${hr.file}): ${p}`));
            if (judged.rendered) {
                const r = judged.rendered;
                images.push(...imageFindings(r.locations, r.objects, () => hr.file, mirrors, `${label} renders `));
                if (ctx.china)
                    problems.push(
                        ...prefixProblems(r.prefixes, r.objects, () => hr.file, mirrors).map(
                            (p) => `${label} renders ${p}`,
                        ),
                    );
                releases.push({ name: label, rendered: true });
            } else {
                images.push(...valuesImages(hr, judged.values ?? hr.object.spec?.values, mirrors));
                releases.push({ name: label, rendered: false, reason: judged.notRendered });
            }
        }),
    );
    const sortImages = (a: ImageFinding, b: ImageFinding) => (a.reference + a.where < b.reference + b.where ? -1 : 1);
    const outside = images.filter((i) => !i.inChina).length + sources.filter((s) => !s.inChina).length;
    return {
        name,
        china: ctx.china,
        images: images.sort(sortImages),
        sources: sources.sort((a, b) => (a.file + a.name < b.file + b.name ? -1 : 1)),
        releases: releases.sort((a, b) => (a.name < b.name ? -1 : 1)),
        problems: [...new Set(problems)].sort(),
        files: new Set(build.objects.map((o) => o.file)).size,
        objects: build.objects.length,
        crossBorder: outside + (ctx.china ? new Set(problems).size : 0),
    };
}

/** Files a kustomization uses as patches. */
function patchFiles(k: Doc | undefined): string[] {
    if (!k) return [];
    return [
        ...(Array.isArray(k.patchesStrategicMerge)
            ? k.patchesStrategicMerge.filter((p: unknown) => typeof p === "string" && !p.includes("\n"))
            : []),
        ...[
            ...(Array.isArray(k.patches) ? k.patches : []),
            ...(Array.isArray(k.patchesJson6902) ? k.patchesJson6902 : []),
        ]
            .map((p: Doc) => p?.path)
            .filter((p: unknown) => typeof p === "string"),
    ];
}

/** Each cluster's entry folder (clusters/<name>, and `.` for --assume-cluster); no china cluster is a problem. */
function clusterEntries(
    root: string,
    opts: AuditOptions,
    chinaNames: readonly string[],
    problems: string[],
): Map<string, string> {
    const clusterNames = fs.existsSync(path.join(root, "clusters"))
        ? fs
              .readdirSync(path.join(root, "clusters"), { withFileTypes: true })
              .filter((e) => e.isDirectory())
              .map((e) => e.name)
              .sort()
        : [];
    const entries = new Map(clusterNames.map((c) => [c, `clusters/${c}`]));
    if (opts.assumeCluster && !entries.has(opts.assumeCluster)) entries.set(opts.assumeCluster, ".");
    if (![...entries.keys()].some((c) => chinaNames.includes(c))) {
        problems.push(
            `no china cluster found (looked for clusters/${chinaNames.join(", clusters/")}); nothing was checked for the border. Point the audit at the root of the fleet tree, name the cluster with --china-cluster, or use --assume-cluster`,
        );
    }
    return entries;
}

/**
 * Files no cluster reaches: their images are attributed to --assume-cluster, or are findings. Patch files
 * are not resources: kustomize applies them to the objects it builds (and judges the result).
 */
function attributeUnreached(
    files: readonly TreeFile[],
    builds: Map<string, ClusterBuild>,
    opts: AuditOptions,
    problems: string[],
): void {
    const reached = new Set([...builds.values()].flatMap((b) => b.objects.map((o) => o.file)));
    for (const f of files) {
        if (!KUSTOMIZATION_FILES.includes(path.posix.basename(f.rel))) continue;
        for (const p of patchFiles(f.objects[0]?.object))
            reached.add(path.posix.normalize(path.posix.join(path.posix.dirname(f.rel), p)));
    }
    const isKustomizationFile = (rel: string) => KUSTOMIZATION_FILES.includes(path.posix.basename(rel));
    for (const f of files) {
        if (reached.has(f.rel) || isKustomizationFile(f.rel)) continue;
        const k8s = f.objects.filter((o) => o.id.kind && o.id.apiVersion);
        const found = findImages(k8s, {
            registries: [...opts.mirrors.upstreams.keys(), ...opts.mirrors.chinaHosts],
        });
        if (found.length === 0) continue;
        if (opts.assumeCluster)
            builds.get(opts.assumeCluster)!.objects.push(...k8s.map((o) => ({ ...o, file: f.rel })));
        else
            problems.push(
                `${f.rel}: holds ${found.length} image reference(s) (${[...new Set(found.map((l) => l.reference))].slice(0, 3).join(", ")}) but no cluster's Kustomizations reach it; reference it from a cluster, remove it, or name the cluster with --assume-cluster`,
            );
    }
}

export async function auditTree(dir: string, opts: AuditOptions): Promise<AuditReport> {
    const root = path.resolve(dir);
    const problems: string[] = [];
    if (fs.existsSync(path.join(root, ".crossborder", "journal.json")))
        problems.push(
            ".crossborder/journal.json: a crossborder render into this tree was interrupted, so its generated files may be half old, half new; render into it again to complete the write",
        );
    // The tree is read in place; the private copy a build runs in is made when the first build has to run (on a
    // worker thread), and not at all when every build is kept in the render cache.
    const copy: { dir?: string; made?: Promise<string> } = {};
    const view = new TreeView(root);
    const ws: Workspace = {
        root,
        view,
        buildRoot: () =>
            (copy.made ??= (async () => {
                const dir = (copy.dir = temporaryFolder("crossborder-audit-"));
                await copyTreeAside(root, dir);
                return dir;
            })()),
    };
    // Without the render cache every build runs: the copy is made beside the read of the tree then.
    if (opts.trustCache === false || opts.engine?.cache?.enabled === false) ws.buildRoot().catch(() => undefined);
    try {
        const tree = readTree(root, problems, view);
        const chinaNames = opts.chinaClusters ?? ["china"];
        const entries = clusterEntries(root, opts, chinaNames, problems);
        const engine: EngineContext = {
            // An untrusted cache is not read: a record cannot be checked without rendering again.
            cache:
                opts.trustCache === false
                    ? new RenderCache(undefined, false)
                    : (opts.engine?.cache ?? new RenderCache()),
            limit: limit(opts.engine?.concurrency),
            registries: [...KNOWN_REGISTRIES, ...opts.mirrors.upstreams.keys(), ...opts.mirrors.chinaHosts],
        };
        const builds = new Map<string, ClusterBuild>();
        for (const [name, entry] of entries)
            builds.set(name, await buildCluster(name, entry, ws, engine.cache, tree.parsed));

        attributeUnreached(tree.files, builds, opts, problems);

        // The tree's charts are rendered where they are when they hold only what the artifact keeps; else from
        // the copy (helm follows links, and the artifact holds none).
        const inPlace = [...tree.chartDirs, ...(ws.view.kind(path.join(root, "Chart.yaml")) ? [""] : [])].every((rel) =>
            holdsAsIs(root, rel),
        );
        const charts: ChartContext = {
            root: inPlace ? root : await ws.buildRoot(),
            view: inPlace ? ws.view : DISK,
            chartCache: opts.chartCache ?? defaultChartCache(),
            lock: opts.lock,
            mirrors: opts.mirrors,
            chartDirs: tree.chartDirs,
        };
        const clusters: ClusterReport[] = [];
        for (const [name, build] of builds) {
            clusters.push(
                await judgeCluster(name, build, {
                    mirrors: opts.mirrors,
                    china: chinaNames.includes(name),
                    render: opts.render ?? true,
                    engine,
                    charts,
                    flux: opts.flux ?? fluxRelease(DEFAULT_FLUX_VERSION)!,
                    fluxSchemas: opts.fluxSchemas,
                    kubeVersion: opts.kubeVersions?.[name],
                }),
            );
        }
        problems.push(...inventoryProblems(root, clusters, opts.mirrors));
        const rendered = clusters.some((c) => c.releases.some((r) => r.rendered));
        const flux = opts.flux ?? fluxRelease(DEFAULT_FLUX_VERSION)!;
        return {
            root,
            clusters,
            problems: [...new Set(problems)],
            filesRead: tree.files.length,
            helmVersion: rendered ? (await helm()).version : undefined,
            flux: flux.version,
            ...(opts.fluxSchemas ? { fluxSchemas: opts.fluxSchemas.from } : {}),
        };
    } finally {
        // The worker may still be linking when a build failed: remove the copy once it stopped.
        await copy.made?.catch(() => undefined);
        if (copy.dir) removeTemporaryFolder(copy.dir);
    }
}

/**
 * Every image a china cluster pulls from a private registry of the mirrors (the ACR EE China instance) must be
 * one the inventory copies there: a post-renderer pointing at a China name nobody copies passes every host
 * check and fails at the node with ImagePullBackOff.
 */
function inventoryProblems(root: string, clusters: readonly ClusterReport[], mirrors: Mirrors): string[] {
    const registries = new Set(
        [...mirrors.targets.values()].filter((t) => t.kind === "registry").map((t) => t.host.toLowerCase()),
    );
    const pulled = clusters
        .filter((c) => c.china)
        // A post-renderer images entry maps a name, it pulls nothing by itself: what it produces is judged as rendered.
        .flatMap((c) => c.images.filter((i) => i.inChina && !/ spec\.postRenderers images /.test(i.where)))
        .map((i) => ({ i, ref: tryParseImage(i.reference) }))
        .filter((x) => x.ref && registries.has(x.ref.domain.toLowerCase()));
    if (pulled.length === 0) return [];
    const file = path.join(root, "inventory", "images.txt");
    if (!fs.existsSync(file))
        return [
            `inventory/images.txt: missing, so nothing says the ${pulled.length} image(s) the china cluster pulls from ${[...new Set(pulled.map((x) => x.ref!.domain))].join(", ")} are copied there (e.g. ${pulled[0].i.reference}); render the tree with crossborder render, which writes the inventory`,
        ];
    let entries: ReturnType<typeof parseInventory>;
    try {
        entries = parseInventory(fs.readFileSync(file, "utf8"), "inventory/images.txt");
    } catch (e) {
        return [(e as Error).message];
    }
    const copied = new Set<string>();
    const repositories = new Set<string>();
    for (const e of entries) {
        if (e.destination.tag) copied.add(`${e.destination.path}:${e.destination.tag}`);
        if (e.source.digest) copied.add(`${e.destination.path}@${e.source.digest}`);
        repositories.add(e.destination.path);
    }
    const out: string[] = [];
    for (const { i, ref } of pulled) {
        const r = ref!;
        // A component its object turns off pulls nothing; an operator's setting without a tag pulls the tag
        // the operator implies, so any copied tag of that repository is what the inventory can show.
        if (i.disabled) continue;
        if (i.setting && r.tag === undefined && r.digest === undefined && repositories.has(r.path)) continue;
        const tag = r.tag ?? (r.digest ? undefined : "latest");
        if ((tag && copied.has(`${r.path}:${tag}`)) || (r.digest && copied.has(`${r.path}@${r.digest}`))) continue;
        out.push(
            `${i.file}: ${i.where}: ${i.reference} is pulled from the China registry, but inventory/images.txt copies no such image there, so the pull would fail (ImagePullBackOff); render again, or map and copy that image`,
        );
    }
    return out;
}

export { substitute };
export * from "./report";
