/**
 * A cluster built the way Flux reconciles it: its root (`clusters/<name>`) as Flux's root Kustomization builds
 * it, then every Flux Kustomization in the output that reconciles this tree's own source, in turn, with its
 * path, components, images, patches, targetNamespace and postBuild (gitops/audit/flux.ts). Each built object
 * knows the file it came from and whether the Kustomization that applies it decrypts SOPS.
 */
import type { RenderCache } from "../engine/cache";
import * as path from "path";
import { describeId, Doc, RenderedObject } from "../objects/manifests";
import { removeTemporaryFolder, temporaryFolder } from "../engine/tools";
import { ARTIFACT_GENERATOR_API, StagedArtifact, stageArtifact, writeStaged } from "./artifacts";
import { buildFluxPath, BuiltObject, FluxSpec, ParsedTexts, sourcePath } from "./flux";
import { Workspace, workspaceAt } from "./view";

export const isFluxKustomization = (o: RenderedObject) =>
    o.id.kind === "Kustomization" && o.id.apiVersion.startsWith("kustomize.toolkit.fluxcd.io/");

/** postBuild variables of a Flux Kustomization: substituteFrom ConfigMaps/Secrets first, then substitute. */
function postBuildVars(k: RenderedObject, objects: readonly BuiltObject[]): Record<string, string> {
    const vars: Record<string, string> = {};
    const ns = k.id.namespace ?? "flux-system";
    for (const ref of Array.isArray(k.object.spec?.postBuild?.substituteFrom)
        ? k.object.spec.postBuild.substituteFrom
        : []) {
        const o = objects.find(
            (x) => x.id.kind === ref?.kind && x.id.name === ref?.name && (x.id.namespace ?? ns) === ns,
        );
        for (const [key, value] of Object.entries<string>(o?.object.data ?? {}))
            vars[key] = ref.kind === "Secret" ? Buffer.from(String(value), "base64").toString("utf8") : String(value);
    }
    Object.assign(vars, k.object.spec?.postBuild?.substitute ?? {});
    return vars;
}

export interface ClusterBuild {
    readonly objects: BuiltObject[];
    readonly problems: string[];
    /** Every Flux Kustomization of this tree the cluster applies, in the order they were built. */
    readonly kustomizations: KustomizationBuild[];
}

/** One Flux Kustomization as built: where its path lies in the tree, and what it applies. */
export interface KustomizationBuild {
    /** `Kustomization flux-system/apps`. */
    readonly name: string;
    readonly object: BuiltObject;
    /** The Kustomization that applies this one; undefined for those the cluster's root applies. */
    readonly parent?: string;
    /** spec.path as a path of the tree (through the artifact it reconciles, when that maps one folder). */
    readonly treePath?: string;
}

const TREE_SOURCE = (src: Doc | undefined, namespace: string) =>
    (src?.kind === "GitRepository" || src?.kind === "OCIRepository") &&
    src?.name === "flux-system" &&
    (src?.namespace ?? namespace) === "flux-system";

/**
 * The ExternalArtifact a Kustomization reconciles, staged from the ArtifactGenerator of the tree that
 * produces it (gitops/audit/artifacts.ts); why not, when no generator of the tree's own source makes it.
 */
function externalArtifact(
    objects: readonly BuiltObject[],
    name: string,
    namespace: string,
    tree: string,
): { staged: StagedArtifact } | { problem: string } {
    for (const g of objects) {
        if (g.id.kind !== "ArtifactGenerator" || !g.id.apiVersion.startsWith(ARTIFACT_GENERATOR_API)) continue;
        if ((g.id.namespace ?? "default") !== namespace) continue;
        const artifact = (Array.isArray(g.object.spec?.artifacts) ? g.object.spec.artifacts : []).find(
            (a: Doc) => a?.name === name,
        );
        if (!artifact) continue;
        const sources: Doc[] = Array.isArray(g.object.spec?.sources) ? g.object.spec.sources : [];
        const aliases = new Set(sources.filter((s) => TREE_SOURCE(s, namespace)).map((s) => String(s.alias)));
        const r = stageArtifact(tree, artifact, aliases);
        return "problem" in r ? { problem: `${describeId(g.id)} (${g.file}): ${r.problem}` } : r;
    }
    return { problem: `no ArtifactGenerator of this tree produces ExternalArtifact ${namespace}/${name}` };
}

/** The tree folder a path of a staged artifact is, when every file below it is one folder's copy. */
function treePathOf(staged: StagedArtifact, artifactPath: string): string | undefined {
    const dir = sourcePath(artifactPath);
    if (dir === undefined) return undefined;
    let prefix: string | undefined;
    for (const [dest, src] of staged.files) {
        if (dir && !dest.startsWith(`${dir}/`)) continue;
        const rel = dir ? dest.slice(dir.length + 1) : dest;
        if (!src.endsWith(`/${rel}`) && src !== rel) return undefined;
        const p = src === rel ? "" : src.slice(0, src.length - rel.length - 1);
        if (prefix !== undefined && prefix !== p) return undefined;
        prefix = p;
    }
    return prefix;
}

/** A message about a staged artifact, naming the tree's files instead of their staged copies. */
function inTree(message: string, staged: StagedArtifact): string {
    const dirs = new Map<string, string>();
    for (const [dest, src] of staged.files) dirs.set(path.posix.dirname(dest), path.posix.dirname(src));
    return message.replace(/(?<![\w./-])[\w.-][\w./-]*/g, (token) => {
        const bare = token.replace(/[.:]+$/, "");
        const mapped = staged.files.get(bare) ?? dirs.get(bare);
        return mapped === undefined ? token : mapped + token.slice(bare.length);
    });
}

interface QueueItem {
    readonly path: string;
    readonly spec: FluxSpec;
    readonly vars: Record<string, string>;
    readonly label: string;
    readonly decryption?: string;
    readonly appliedBy?: string;
    /** Where the path is built: the tree, or a staged artifact (and its files' tree paths). */
    readonly artifact?: { readonly ws: Workspace; readonly staged: StagedArtifact };
}

/**
 * Build a cluster the way Flux reconciles it: its root, then every Kustomization of this tree it applies.
 * `tree`: where the tree is read and built (view.ts; a folder: built where it is). `parsed`: the documents of
 * files read before, by their text (flux.ts ParsedTexts).
 */
export async function buildCluster(
    name: string,
    entry: string,
    tree: Workspace | string,
    cache?: RenderCache,
    parsed?: ParsedTexts,
): Promise<ClusterBuild> {
    const objects: BuiltObject[] = [];
    const problems: string[] = [];
    const kustomizations: KustomizationBuild[] = [];
    const queue: QueueItem[] = [{ path: entry, spec: {}, vars: {}, label: `cluster ${name} root (${entry})` }];
    const seen = new Set<string>();
    const staging: string[] = [];
    const ws = typeof tree === "string" ? workspaceAt(tree) : tree;
    const artifacts = new Map<string, { ws: Workspace; staged: StagedArtifact } | { problem: string }>();
    try {
        while (queue.length) {
            const next = queue.shift()!;
            const key = JSON.stringify([sourcePath(next.path), next.spec, next.vars, next.artifact?.ws.root]);
            if (seen.has(key)) continue;
            seen.add(key);
            const build = await buildFluxPath(
                next.artifact ? next.artifact.ws : ws,
                next.path,
                next.spec,
                next.vars,
                next.label,
                cache,
                parsed,
            );
            problems.push(
                ...(next.artifact ? build.problems.map((p) => inTree(p, next.artifact!.staged)) : build.problems),
            );
            const built = build.objects.map((b): BuiltObject => ({
                ...b,
                file: next.artifact ? (next.artifact.staged.files.get(b.file) ?? b.file) : b.file,
                ...(next.decryption ? { decryption: next.decryption } : {}),
                ...(next.appliedBy ? { appliedBy: next.appliedBy } : {}),
            }));
            // All of a build first: a Kustomization may reconcile an artifact a generator later in it produces.
            objects.push(...built);
            for (const o of built.filter(isFluxKustomization)) {
                const item = await kustomizationItem(o, objects, ws, artifacts, staging, problems);
                if (!item) continue;
                kustomizations.push({ ...item.build, ...(next.appliedBy ? { parent: next.appliedBy } : {}) });
                queue.push(item.queue);
            }
        }
    } finally {
        for (const d of staging) removeTemporaryFolder(d);
    }
    return { objects, problems, kustomizations };
}

/** How a Flux Kustomization found in a build is built in turn, or undefined (with the problem) when it is not. */
async function kustomizationItem(
    o: BuiltObject,
    objects: readonly BuiltObject[],
    ws: Workspace,
    artifacts: Map<string, { ws: Workspace; staged: StagedArtifact } | { problem: string }>,
    staging: string[],
    problems: string[],
): Promise<{ build: Omit<KustomizationBuild, "parent">; queue: QueueItem } | undefined> {
    const spec = o.object.spec ?? {};
    const src = spec.sourceRef ?? {};
    const label = `${describeId(o.id)} (${o.file})`;
    // A sourceRef without a namespace is in the Kustomization's own namespace (Flux's CrossNamespaceSourceReference).
    const srcNamespace = src.namespace ?? o.id.namespace ?? "flux-system";
    let artifact: { ws: Workspace; staged: StagedArtifact } | undefined;
    if (src.kind === "ExternalArtifact") {
        const key = `${srcNamespace}/${src.name}`;
        if (!artifacts.has(key)) {
            // Staged from the tree as its artifact holds it: the build root is the private copy then.
            const tree = await ws.buildRoot();
            const r = externalArtifact(objects, String(src.name), srcNamespace, tree);
            if ("problem" in r) artifacts.set(key, r);
            else {
                const dir = temporaryFolder("crossborder-artifact-");
                staging.push(dir);
                writeStaged(tree, r.staged, dir);
                artifacts.set(key, { ws: workspaceAt(dir), staged: r.staged });
            }
        }
        const a = artifacts.get(key)!;
        if ("problem" in a) {
            problems.push(`${label}: reconciles ExternalArtifact ${key}, which cannot be followed: ${a.problem}`);
            return undefined;
        }
        artifact = a;
    } else if (!TREE_SOURCE(src, srcNamespace)) {
        problems.push(
            `${label}: reconciles ${src.kind ?? "?"} ${srcNamespace}/${src.name ?? "?"}, which is not this tree (flux-system/flux-system), so what it applies cannot be audited`,
        );
        return undefined;
    }
    if (spec.kubeConfig !== undefined) {
        problems.push(
            `${label}: spec.kubeConfig sends what it applies to another cluster (the one its kubeConfig Secret names), so this cluster's audit cannot judge it; keep each cluster's objects in its own clusters/<name> tree`,
        );
        return undefined;
    }
    const kpath = typeof spec.path === "string" ? spec.path : ".";
    const treePath = artifact ? treePathOf(artifact.staged, kpath) : sourcePath(kpath);
    return {
        build: {
            name: describeId(o.id),
            object: o,
            ...(treePath !== undefined ? { treePath } : {}),
        },
        queue: {
            path: kpath,
            spec: {
                components: spec.components,
                targetNamespace: spec.targetNamespace,
                patches: spec.patches,
                patchesStrategicMerge: spec.patchesStrategicMerge,
                patchesJson6902: spec.patchesJson6902,
                images: spec.images,
            },
            vars: postBuildVars(o, objects),
            label,
            appliedBy: describeId(o.id),
            ...(typeof spec.decryption?.provider === "string" ? { decryption: spec.decryption.provider } : {}),
            ...(artifact ? { artifact } : {}),
        },
    };
}
