/**
 * After stage 6: every Flux object of the emitted tree against the CRDs the installed Flux has, which are
 * the CRDs the bootstrap's flux2 chart carries (gitops/engine/flux-crds.ts renders them on the engine). An
 * object of a kind those CRDs lack, a field they do not define (the API server would prune it), or a value
 * they refuse is a finding: the cluster would run something other than what the tree says.
 *
 * An apps/<cluster> overlay is a patch of its apps/base release: it is checked merged over the base, as
 * kustomize builds it (maps merge, lists replace).
 */
import { CrdSchemas } from "../engine/flux-crds";
import type { Doc } from "../objects/manifests";

function isMap(v: unknown): v is Doc {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

function merged(base: Doc, patch: Doc): Doc {
    const out: Doc = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = isMap(v) && isMap(base[k]) ? merged(base[k], v) : v;
    return out;
}

const isFlux = (d: unknown): d is Doc => isMap(d) && /\.toolkit\.fluxcd\.io\//.test(String(d.apiVersion));

/** Problems of the tree's Flux objects under `schemas`, each naming file, object and field. */
export function fluxSchemaProblems(objects: ReadonlyMap<string, readonly unknown[]>, schemas: CrdSchemas): string[] {
    const problems: string[] = [];
    for (const [file, docs] of [...objects].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (/^apps\/base\/[^/]+\/release\.yaml$/.test(file)) continue; // checked through each overlay
        const overlay = /^apps\/[^/]+\/([^/]+)-release\.yaml$/.exec(file);
        const base = overlay ? objects.get(`apps/base/${overlay[1]}/release.yaml`)?.find(isFlux) : undefined;
        for (const doc of docs.filter(isFlux)) {
            const full = base ? merged(base, doc) : doc;
            const errors = schemas.validate(full);
            const what = `${file}: ${full.kind} ${full.metadata?.namespace ?? ""}/${full.metadata?.name ?? ""}`;
            if (errors === undefined)
                problems.push(
                    `${what}: the installed Flux (${schemas.from}) has no CustomResourceDefinition for ${full.apiVersion} ${full.kind}`,
                );
            else for (const e of errors) problems.push(`${what} ${e}`);
        }
    }
    return problems;
}
