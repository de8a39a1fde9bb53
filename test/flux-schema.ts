/** Validators for Flux objects, compiled from the CRDs in ../shared/corpus/flux-crds (openAPIV3Schema). */
import Ajv, { ValidateFunction } from "ajv";
import * as fs from "fs";
import { parse } from "yaml";
import { corpusFile } from "./corpus";

export type FluxValidator = (doc: Record<string, any>) => string[] | undefined;

/** undefined for objects no corpus CRD describes; otherwise the list of schema errors (empty when valid). */
export function fluxValidator(): FluxValidator {
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const validators = new Map<string, ValidateFunction>();
    const dir = corpusFile("flux-crds");
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".yaml"))) {
        const crd = parse(fs.readFileSync(`${dir}/${f}`, "utf8"));
        for (const v of crd.spec.versions) {
            validators.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, ajv.compile(v.schema.openAPIV3Schema));
        }
    }
    return (doc) => {
        const validate = validators.get(`${doc.apiVersion}/${doc.kind}`);
        if (!validate) return undefined;
        return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
    };
}
