/**
 * The Flux CRDs a cluster actually has, as the judge of the Flux objects in a tree: the CRDs the bootstrap's
 * flux2 chart installs (rendered here on the real `helm template`, with the bootstrap's own values), compiled
 * into validators that also refuse unknown fields. A field the installed CRD does not define is not an
 * error at the API server: it is pruned (Kubernetes structural schemas, "Field pruning"), silently, so a tree
 * that relies on it (`postRenderStrategy` on Flux 2.8) behaves differently from what it says. Here it is a
 * finding.
 *
 * Pruning, as the API server applies it: an object node with `properties` keeps only those (plus
 * `apiVersion`, `kind`, `metadata` at the root and in `x-kubernetes-embedded-resource` nodes), unless it says
 * `x-kubernetes-preserve-unknown-fields: true`; `additionalProperties` makes a map whose keys are free.
 */
import type Ajv from "ajv";
import type { ValidateFunction } from "ajv";
import { parseAllDocuments } from "yaml";
import type { Doc } from "../objects/manifests";
import { helmTemplate } from "./helm";

export interface CrdSchemas {
    /** What the CRDs come from, for messages (`flux2 2.18.3`). */
    readonly from: string;
    /** `group/version/Kind` the CRDs define. */
    readonly kinds: ReadonlySet<string>;
    /** Schema errors of one object, undefined for a kind no CRD defines, [] when valid. */
    validate(doc: Doc): string[] | undefined;
}

const ROOT_FIELDS = ["apiVersion", "kind", "metadata"];

/** A copy of an openAPIV3Schema in which every field the API server would prune is an error. */
export function refusingUnknownFields(schema: unknown, root = true): unknown {
    if (Array.isArray(schema)) return schema.map((s) => refusingUnknownFields(s, false));
    if (!schema || typeof schema !== "object") return schema;
    const node = schema as Doc;
    const out: Doc = {};
    for (const [k, v] of Object.entries(node)) {
        if (k === "properties" && v && typeof v === "object")
            out.properties = Object.fromEntries(
                Object.entries(v as Doc).map(([name, sub]) => [name, refusingUnknownFields(sub, false)]),
            );
        else if (k === "enum" || k === "default" || k === "example" || k === "required") out[k] = v;
        else out[k] = typeof v === "object" ? refusingUnknownFields(v, false) : v;
    }
    const open = node["x-kubernetes-preserve-unknown-fields"] === true || node.additionalProperties !== undefined;
    if (node.properties && typeof node.properties === "object" && !open) {
        const embedded = root || node["x-kubernetes-embedded-resource"] === true;
        if (embedded)
            for (const f of ROOT_FIELDS)
                out.properties[f] ??= f === "metadata" ? { type: "object" } : { type: "string" };
        out.additionalProperties = false;
    }
    return out;
}

/** Validators for every version of every CRD in `crds`. */
export function crdSchemas(crds: readonly Doc[], from: string): CrdSchemas {
    // Compiled on first use: a tree uses a few of the kinds and versions Flux installs, and a warm render
    // whose objects all passed before (gitops/render/index.ts passedSchemas) loads no validator at all.
    let ajv: Ajv | undefined;
    const schemas = new Map<string, object>();
    const validators = new Map<string, ValidateFunction>();
    for (const crd of crds) {
        const group = crd?.spec?.group;
        const kind = crd?.spec?.names?.kind;
        for (const v of Array.isArray(crd?.spec?.versions) ? crd.spec.versions : []) {
            const schema = v?.schema?.openAPIV3Schema;
            if (typeof group !== "string" || typeof kind !== "string" || !schema) continue;
            schemas.set(`${group}/${v.name}/${kind}`, schema);
        }
    }
    const validatorOf = (key: string): ValidateFunction | undefined => {
        const schema = schemas.get(key);
        if (!schema) return undefined;
        let validate = validators.get(key);
        if (!validate) {
            ajv ??= new (require("ajv") as typeof import("ajv")).default({
                strict: false,
                allErrors: true,
                validateFormats: false,
            });
            validators.set(key, (validate = ajv.compile(refusingUnknownFields(schema) as object)));
        }
        return validate;
    };
    return {
        from,
        kinds: new Set(schemas.keys()),
        validate(doc) {
            const kind = String(doc.kind);
            const validate = validatorOf(`${doc.apiVersion}/${kind}`);
            if (!validate) return undefined;
            if (validate(doc)) return [];
            return (validate.errors ?? []).map((e) =>
                e.keyword === "additionalProperties"
                    ? `${e.instancePath || "/"}/${String((e.params as Doc).additionalProperty)}: not a field of ${kind} in ${from} (the API server prunes it)`
                    : `${e.instancePath || "/"} ${e.message}`,
            );
        },
    };
}

/** The CustomResourceDefinitions in a YAML stream (what a chart renders). */
export function crdsIn(text: string): Doc[] {
    return parseAllDocuments(text, { logLevel: "silent" })
        .map((d) => d.toJS({ maxAliasCount: 100 }) as Doc)
        .filter((d) => d?.kind === "CustomResourceDefinition");
}

/** The CRDs the flux2 chart installs with the bootstrap's values, rendered on the engine. */
export async function installedFluxCrdDocs(
    chart: { readonly file: string; readonly label: string },
    values: unknown,
): Promise<Doc[]> {
    const text = await helmTemplate({
        label: `the Flux chart ${chart.label}`,
        release: "flux2",
        namespace: "flux-system",
        chart: chart.file,
        values,
    });
    return crdsIn(text);
}
