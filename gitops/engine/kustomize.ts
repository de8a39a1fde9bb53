/**
 * HelmRelease post-renderers applied as helm-controller applies them: for each `postRenderers[].kustomize`
 * in order, a kustomization holding `resources: [helm-output.yaml]`, its `images` and its `patches`, built
 * by the real kustomize (kubectl's, with load restrictions off as helm-controller sets them). The input is
 * the rendered manifests, hooks included when the HelmRelease's postRenderStrategy sends them (Helm 4's
 * default, "combined").
 */
import * as fs from "fs";
import * as path from "path";
import { firstLines, locateTool, removeTemporaryFolder, runTool, temporaryFolder, ToolError } from "./tools";

/** `postRenderers[].kustomize.images[]` of a HelmRelease (kustomize's images transformer). */
export interface KustomizeImage {
    readonly name: string;
    readonly newName?: string;
    readonly newTag?: string;
    readonly digest?: string;
}

export interface PatchTarget {
    readonly group?: string;
    readonly version?: string;
    readonly kind?: string;
    readonly name?: string;
    readonly namespace?: string;
    readonly labelSelector?: string;
    readonly annotationSelector?: string;
}

/** `postRenderers[].kustomize.patches[]`: an inline strategic-merge or JSON 6902 patch and its target. */
export interface KustomizePatch {
    readonly patch: string;
    readonly target?: PatchTarget;
}

export interface KustomizePostRenderer {
    readonly images?: readonly KustomizeImage[];
    readonly patches?: readonly KustomizePatch[];
}

/** A post-renderer that kustomize refused (a patch whose `test` no longer holds, a bad selector). */
export class KustomizeError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "KustomizeError";
    }
}

let kubectl: string | undefined;

/** Apply one kustomize post-renderer to rendered manifests; returns kustomize's output. */
export async function applyKustomize(
    manifests: string,
    renderer: KustomizePostRenderer,
    label: string,
): Promise<string> {
    kubectl ??= locateTool("kubectl");
    const dir = temporaryFolder("crossborder-kustomize-");
    try {
        const kustomization = {
            apiVersion: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            resources: ["helm-output.yaml"],
            ...(renderer.images?.length ? { images: renderer.images } : {}),
            ...(renderer.patches?.length ? { patches: renderer.patches } : {}),
        };
        fs.writeFileSync(path.join(dir, "helm-output.yaml"), manifests);
        fs.writeFileSync(path.join(dir, "kustomization.yaml"), JSON.stringify(kustomization));
        let r;
        try {
            r = await runTool(kubectl, ["kustomize", "--load-restrictor", "LoadRestrictionsNone", dir], {
                purpose: "build",
            });
        } catch (e) {
            if (e instanceof ToolError && !/cannot run/.test(e.message))
                throw new KustomizeError(`${label}: its kustomize post-renderer: ${e.message}`);
            throw e;
        }
        if (r.code !== 0) {
            if (/unknown command|unknown flag/.test(r.stderr))
                throw new ToolError(`${kubectl} has no usable kustomize: ${firstLines(r.stderr)}`);
            throw new KustomizeError(
                `${label}: its kustomize post-renderer failed:\n${firstLines(r.stderr, 12).replace(/^/gm, "  | ")}`,
            );
        }
        return r.stdout;
    } finally {
        removeTemporaryFolder(dir);
    }
}
