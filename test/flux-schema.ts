/**
 * Validators for Flux objects, compiled from the CRDs of one Flux release in ../shared/corpus/flux-crds
 * (`flux-v<version>/`, each controller at the tag that release ships), with every field the API server would
 * prune refused. The default is the release the catalog pins: a tree is valid only for the Flux it installs.
 */
import * as fs from "fs";
import { parse } from "yaml";
import { DEFAULT_FLUX_VERSION } from "../core/flux-releases";
import { crdSchemas } from "../gitops/engine/flux-crds";
import { corpusFile } from "./corpus";

export type FluxValidator = (doc: Record<string, any>) => string[] | undefined;

/** undefined for objects no CRD of the release describes; otherwise the list of schema errors (empty when valid). */
export function fluxValidator(version = DEFAULT_FLUX_VERSION): FluxValidator {
    const dir = corpusFile("flux-crds", `flux-v${version}`);
    if (!fs.existsSync(dir)) throw new Error(`no CRDs of Flux ${version} in ${dir}`);
    const crds = fs
        .readdirSync(dir)
        .filter((x) => x.endsWith(".yaml"))
        .sort()
        .map((f) => parse(fs.readFileSync(`${dir}/${f}`, "utf8")));
    const schemas = crdSchemas(crds, `Flux ${version}`);
    return (doc) => schemas.validate(doc);
}
