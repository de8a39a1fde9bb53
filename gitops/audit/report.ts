/**
 * What the border audit reports, cluster by cluster, and the verdict it ends with: OK, NOT PROVEN or
 * FAIL (exit 0 or 1). The audit itself is index.ts.
 */

export interface ImageFinding {
    readonly reference: string;
    readonly inChina: boolean;
    readonly file: string;
    /** What sets it, e.g. `Deployment web/api /spec/template/spec/containers/0/image`. */
    readonly where: string;
    /**
     * Outside a container's image field (an operator's setting): without a tag, the operator supplies one,
     * which only the render's declared runtime images know.
     */
    readonly setting?: boolean;
    /** In a component its object turns off (`enabled: false`). */
    readonly disabled?: boolean;
}

export interface SourceFinding {
    readonly kind: string;
    readonly name: string;
    readonly url: string;
    readonly inChina: boolean;
    readonly file: string;
    readonly problem?: string;
}

export interface ReleaseFinding {
    readonly name: string;
    readonly rendered: boolean;
    readonly reason?: string;
}

export interface ClusterReport {
    readonly name: string;
    /** Must pull only from inside China. */
    readonly china: boolean;
    readonly images: ImageFinding[];
    readonly sources: SourceFinding[];
    readonly releases: ReleaseFinding[];
    /** What could not be read or followed for this cluster. */
    readonly problems: string[];
    readonly files: number;
    readonly objects: number;
    /** Images and sources outside China, plus problems (on a china cluster every one is a finding). */
    readonly crossBorder: number;
}

export interface AuditReport {
    readonly root: string;
    readonly clusters: ClusterReport[];
    /** Problems of the tree itself: unreadable files, images no cluster reaches, no china cluster. */
    readonly problems: string[];
    readonly filesRead: number;
    readonly helmVersion?: string;
    /** The Flux the clusters were judged as running. */
    readonly flux: string;
    /** The installed CRDs every Flux object was checked against; undefined when they were not at hand. */
    readonly fluxSchemas?: string;
}

export interface Verdict {
    /** 0 clean, 1 findings. */
    readonly code: 0 | 1;
    readonly summary: string;
}

/** The audit's exit code and its last lines. `strict`: a china release that was not rendered is a finding too. */
export function verdict(report: AuditReport, strict: boolean): Verdict {
    const china = report.clusters.filter((c) => c.china);
    const unrendered = china.flatMap((c) => c.releases.filter((r) => !r.rendered));
    const images = report.clusters.reduce((n, c) => n + c.images.length, 0);
    const sources = report.clusters.reduce((n, c) => n + c.sources.length, 0);
    const releases = report.clusters.reduce((n, c) => n + c.releases.length, 0);
    const renderedCount = report.clusters.reduce((n, c) => n + c.releases.filter((r) => r.rendered).length, 0);
    const checked = `checked ${report.clusters.length} cluster(s) (${report.clusters.map((c) => c.name).join(", ") || "none"}), ${report.filesRead} files, ${images} image references, ${sources} sources; ${renderedCount} of ${releases} HelmReleases rendered${report.helmVersion ? ` on helm ${report.helmVersion}` : ""}, as Flux ${report.flux} runs them${report.fluxSchemas ? `; Flux objects checked against ${report.fluxSchemas}'s CRDs` : ""}`;
    const bad = china.filter((c) => c.crossBorder > 0);
    if (bad.length || report.problems.length || china.length === 0) {
        const parts = [
            ...bad.map((c) => `${c.name} has ${c.crossBorder} cross-border reference(s) or unreadable part(s)`),
            ...(report.problems.length ? [`${report.problems.length} problem(s) with the tree`] : []),
        ];
        return { code: 1, summary: `${checked}.\nFAIL: ${parts.join("; ") || "no china cluster was checked"}` };
    }
    const unproven = [
        ...(unrendered.length
            ? [`${unrendered.length} china HelmRelease(s) not rendered, judged on their values only (listed above)`]
            : []),
        ...(report.fluxSchemas
            ? []
            : [
                  `the Flux objects were not checked against the CRDs Flux ${report.flux} installs (its chart's archive is not at hand)`,
              ]),
    ];
    if (strict && unproven.length) return { code: 1, summary: `${checked}.\nFAIL (--strict): ${unproven.join("; ")}` };
    if (unrendered.length) {
        const line = unproven[0];
        return strict
            ? { code: 1, summary: `${checked}.\nFAIL (--strict): ${line}` }
            : {
                  code: 0,
                  summary: `${checked}.\nNOT PROVEN: nothing cross-border in what was read, but ${line}. Run crossborder charts pull, then audit again (--strict makes this a failure)`,
              };
    }
    return {
        code: 0,
        summary: `${checked}.\nOK: ${china.map((c) => c.name).join(", ")} pulls nothing from outside China`,
    };
}
