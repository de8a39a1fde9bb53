/**
 * The Flux releases crossborder knows, and what each one means for the tree: which controller images it
 * runs, which chart installs it, and how its helm-controller post-renders hooks. One pinned version (the
 * catalog's `flux.version`) drives the bootstrap's images and chart, the fields the generator emits, the
 * CRDs the tree is validated against, and the post-render semantics render, verify and audit apply.
 *
 * Facts and their sources (checked against the controllers' repositories at the release tags):
 * - Controller tags per release: fluxcd/flux2 `manifests/bases/<controller>/kustomization.yaml` at the
 *   release tag (v2.8.8: source-controller v1.8.5, kustomize-controller v1.8.5, helm-controller v1.5.5,
 *   notification-controller v1.8.4; v2.9.4: v1.9.4, v1.9.4, v1.6.3, v1.9.3).
 * - Hooks: helm-controller v1.5.4 and v1.5.5 set `install.PostRenderStrategy = PostRenderStrategyNoHooks`
 *   unconditionally (internal/action/install.go and upgrade.go; commit 263affa "Fix post-renderer conflict
 *   of overlapping hooks and templates"), so on Flux 2.8.8 hooks and tests are applied as rendered and
 *   never see a post-renderer. helm-controller v1.6.0 (Flux 2.9, commit 8f1b711 "Add post-render strategy
 *   support") adds `HelmRelease.spec.postRenderStrategy`; unset, it is `combined` unless the controller runs
 *   with UseHelm3Defaults (internal/action/post_render.go), so the tree sets it explicitly.
 * - Chart: the newest fluxcd-community `flux2` chart, 2.18.3, carries Flux 2.8.5; no community chart carries
 *   Flux 2.9 yet (fluxcd-community/helm-charts at 82a385b). Its CRD schemas are those of Flux 2.8.8 (only
 *   descriptions differ; test/components/flux-releases.test.ts renders the chart and compares), so 2.8.8's
 *   controller images run on it unchanged. Flux 2.9 therefore needs a chart of the user's own (flux.chart)
 *   whose CRDs are 2.9's; render checks the tree against the CRDs of whatever chart is installed.
 */

/** How helm-controller feeds hooks and tests to a HelmRelease's post-renderers. */
export type PostRenderStrategy = "combined" | "separate" | "nohooks";

export interface FluxChart {
    readonly repository: string;
    readonly name: string;
    readonly version: string;
}

export interface FluxRelease {
    /** `2.8.8` */
    readonly version: string;
    /** The `ghcr.io/fluxcd/<name>` tag of every component the bootstrap installs (flux-cli: the chart's hooks). */
    readonly images: Readonly<Record<FluxComponent, string>>;
    /** A published chart that installs exactly this release's CRDs; undefined when none exists (flux.chart then). */
    readonly chart?: FluxChart;
    /** `HelmRelease.spec.postRenderStrategy` exists in this release's CRD. */
    readonly postRenderStrategyField: boolean;
    /** The strategy hooks get when the field is unset (or does not exist). */
    readonly defaultPostRenderStrategy: PostRenderStrategy;
}

export type FluxComponent =
    "flux-cli" | "source-controller" | "kustomize-controller" | "helm-controller" | "notification-controller";

export const FLUX_IMAGE_REGISTRY = "ghcr.io/fluxcd";

const COMMUNITY_CHART = "https://fluxcd-community.github.io/helm-charts";

export const FLUX_RELEASES: readonly FluxRelease[] = [
    {
        version: "2.8.8",
        images: {
            "flux-cli": "v2.8.8",
            "source-controller": "v1.8.5",
            "kustomize-controller": "v1.8.5",
            "helm-controller": "v1.5.5",
            "notification-controller": "v1.8.4",
        },
        chart: { repository: COMMUNITY_CHART, name: "flux2", version: "2.18.3" },
        postRenderStrategyField: false,
        defaultPostRenderStrategy: "nohooks",
    },
    {
        version: "2.9.4",
        images: {
            "flux-cli": "v2.9.4",
            "source-controller": "v1.9.4",
            "kustomize-controller": "v1.9.4",
            "helm-controller": "v1.6.3",
            "notification-controller": "v1.9.3",
        },
        postRenderStrategyField: true,
        defaultPostRenderStrategy: "combined",
    },
];

/** The Flux crossborder installs when the catalog pins none: the newest release with a tested chart. */
export const DEFAULT_FLUX_VERSION = "2.8.8";

export function fluxRelease(version: string): FluxRelease | undefined {
    return FLUX_RELEASES.find((r) => r.version === version.replace(/^v/, ""));
}

/** Every image the release's bootstrap runs, fully qualified, from `registry` (a mirror of ghcr.io/fluxcd). */
export function fluxImages(release: FluxRelease, registry = FLUX_IMAGE_REGISTRY): string[] {
    return Object.entries(release.images)
        .map(([name, tag]) => `${registry.replace(/\/+$/, "")}/${name}:${tag}`)
        .sort();
}

/**
 * What a HelmRelease's hooks get on this release, given the `postRenderStrategy` it writes: a release
 * without the field ignores it (the API server prunes an unknown field before the controller sees it).
 */
export function effectivePostRenderStrategy(release: FluxRelease, written: unknown): PostRenderStrategy {
    if (!release.postRenderStrategyField) return release.defaultPostRenderStrategy;
    return written === "combined" || written === "separate" || written === "nohooks"
        ? written
        : release.defaultPostRenderStrategy;
}

/** flux2 chart values key for each Flux image (by its repository's last path component). */
export const FLUX_IMAGE_KEYS: Readonly<Record<string, string>> = {
    "flux-cli": "cli",
    "source-controller": "sourceController",
    "kustomize-controller": "kustomizeController",
    "helm-controller": "helmController",
    "notification-controller": "notificationController",
    "image-automation-controller": "imageAutomationController",
    "image-reflector-controller": "imageReflectionController",
};

/** The flux2 chart values that pin every controller (and the CLI hook) to the given images. */
export function fluxValues(
    images: ReadonlyMap<string, { readonly repository: string; readonly tag: string }>,
): Record<string, unknown> {
    const values: Record<string, unknown> = {
        // Image automation is not part of the crossborder tree; turn it on with its images in the catalog.
        imageAutomationController: { create: false },
        imageReflectionController: { create: false },
    };
    for (const [component, image] of images) {
        const key = FLUX_IMAGE_KEYS[component];
        if (!key) throw new Error(`fluxValues: no flux2 chart value for the image ${component}`);
        values[key] = {
            ...(values[key] as object),
            image: image.repository,
            tag: image.tag,
            ...(key === "imageAutomationController" || key === "imageReflectionController" ? { create: true } : {}),
        };
    }
    return values;
}
