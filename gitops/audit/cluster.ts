/**
 * A cluster built the way Flux reconciles it: its root (`clusters/<name>`) as Flux's root Kustomization builds
 * it, then every Flux Kustomization in the output that reconciles this tree's own source, in turn, with its
 * path, components, images, patches, targetNamespace and postBuild (gitops/audit/flux.ts). Each built object
 * knows the file it came from and whether the Kustomization that applies it decrypts SOPS.
 */
import * as fs from "fs";
import * as path from "path";
import { describeId, RenderedObject } from "../objects/manifests";
import { buildFluxPath, BuiltObject, FluxSpec, sourcePath } from "./flux";

/**
 * What source-controller leaves out of every artifact (fluxcd/pkg sourceignore: ExcludeVCS, ExcludeCI,
 * ExcludeExtra), and crossborder's own records. A .sourceignore of the tree is not read: the audit then
 * judges more than Flux applies, never less.
 */
export const SKIP_DIRS = new Set([".git", ".github", ".circleci", ".crossborder"]);
export const SKIP_FILES = new Set([
    ".gitignore",
    ".gitmodules",
    ".gitattributes",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    ".goreleaser.yml",
    ".sops.yaml",
    ".flux.yaml",
]);
/** A private copy of a tree to build in (the build writes merged kustomizations, as Flux does in its own copy). */
export function copyTree(from: string, to: string): void {
    fs.cpSync(from, to, {
        recursive: true,
        verbatimSymlinks: true,
        filter: (src) =>
            src === from ||
            (!SKIP_DIRS.has(path.basename(src)) &&
                !SKIP_FILES.has(path.basename(src)) &&
                !fs.lstatSync(src).isSymbolicLink()),
    });
}

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
}

/** Build a cluster the way Flux reconciles it: its root, then every Kustomization of this tree it applies. */
export async function buildCluster(name: string, entry: string, copy: string): Promise<ClusterBuild> {
    const objects: BuiltObject[] = [];
    const problems: string[] = [];
    const queue: {
        path: string;
        spec: FluxSpec;
        vars: Record<string, string>;
        label: string;
        decryption?: string;
    }[] = [{ path: entry, spec: {}, vars: {}, label: `cluster ${name} root (${entry})` }];
    const seen = new Set<string>();
    while (queue.length) {
        const next = queue.shift()!;
        const key = JSON.stringify([sourcePath(next.path), next.spec, next.vars]);
        if (seen.has(key)) continue;
        seen.add(key);
        const build = await buildFluxPath(copy, next.path, next.spec, next.vars, next.label);
        problems.push(...build.problems);
        for (const built of build.objects) {
            const o: BuiltObject = next.decryption ? { ...built, decryption: next.decryption } : built;
            objects.push(o);
            if (!isFluxKustomization(o)) continue;
            const spec = o.object.spec ?? {};
            const src = spec.sourceRef ?? {};
            const label = `${describeId(o.id)} (${o.file})`;
            // A sourceRef without a namespace is in the Kustomization's own namespace (Flux's CrossNamespaceSourceReference).
            const srcNamespace = src.namespace ?? o.id.namespace ?? "flux-system";
            if (!(
                (src.kind === "GitRepository" || src.kind === "OCIRepository") &&
                src.name === "flux-system" &&
                srcNamespace === "flux-system"
            )) {
                problems.push(
                    `${label}: reconciles ${src.kind ?? "?"} ${srcNamespace}/${src.name ?? "?"}, which is not this tree (flux-system/flux-system), so what it applies cannot be audited`,
                );
                continue;
            }
            if (spec.kubeConfig !== undefined) {
                problems.push(
                    `${label}: spec.kubeConfig sends what it applies to another cluster (the one its kubeConfig Secret names), so this cluster's audit cannot judge it; keep each cluster's objects in its own clusters/<name> tree`,
                );
                continue;
            }
            queue.push({
                path: typeof spec.path === "string" ? spec.path : ".",
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
                ...(typeof spec.decryption?.provider === "string" ? { decryption: spec.decryption.provider } : {}),
            });
        }
    }
    return { objects, problems };
}
