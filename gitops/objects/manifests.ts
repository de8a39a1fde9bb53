/**
 * Rendered manifests (helm template or kustomize output) as objects. CustomResourceDefinitions are
 * dropped before parsing: they hold no image a cluster pulls, and their schemas are most of the bytes of
 * many charts (argo-cd's output parses ten times faster without them). `kind: List` is expanded into its
 * items, as the Kubernetes API server does.
 */
import { InputError } from "../../core/errors";
import { Document, parse, parseAllDocuments } from "yaml";

export type { Doc } from "../../core/yaml-source";
import type { Doc } from "../../core/yaml-source";

export interface ObjectId {
    readonly apiVersion: string;
    readonly kind: string;
    /** metadata.name; "" when the API server is to generate it. */
    readonly name: string;
    readonly namespace?: string;
    /** metadata.generateName, for an object without a name. */
    readonly generateName?: string;
}

export interface RenderedObject {
    readonly id: ObjectId;
    readonly object: Doc;
    /** The `# Source:` template helm names, when given. */
    readonly source?: string;
    /** The `helm.sh/hook` annotation: hooks and tests run outside the release's manifest. */
    readonly hook?: string;
    /**
     * From a chart's `crds/` folder (helm template --include-crds names it in `# Source:`): Helm installs
     * these as written, before templates, and neither values nor post-renderers reach them.
     */
    readonly crds?: boolean;
    /** The document's own text (what a post-renderer is fed). */
    readonly text: string;
}

/** Rendered output that is not YAML (a broken template). */
export class ManifestError extends InputError {
    constructor(message: string) {
        super(message);
        this.name = "ManifestError";
    }
}

const SEPARATOR = /^---[ \t]*(?:#.*)?$/m;
const CRD = /^kind:[ \t]*["']?CustomResourceDefinition["']?[ \t]*$/m;
const SOURCE = /^# Source: (.+)$/m;
/** `<chart>/crds/x.yaml`, `<chart>/charts/<sub>/crds/x.yaml`: a chart's crds/ folder, not its templates. */
const CRDS_FOLDER = /^[^/]+(?:\/charts\/[^/]+)*\/crds\//;
const PARSE_OPTIONS = { maxAliasCount: 100, uniqueKeys: false, logLevel: "error" } as const;

export function objectId(o: Doc): ObjectId {
    const meta = o.metadata ?? {};
    return {
        apiVersion: String(o.apiVersion ?? ""),
        kind: String(o.kind ?? ""),
        name: typeof meta.name === "string" ? meta.name : "",
        ...(typeof meta.namespace === "string" && meta.namespace ? { namespace: meta.namespace } : {}),
        ...(!meta.name && typeof meta.generateName === "string" ? { generateName: meta.generateName } : {}),
    };
}

/** `Kind namespace/name`, for messages. */
export function describeId(id: ObjectId): string {
    return `${id.kind} ${id.namespace ? `${id.namespace}/` : ""}${id.name || (id.generateName ? `${id.generateName}<generated>` : "(no name)")}`;
}

export function isDoc(v: unknown): v is Doc {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** True when `data` contains itself (an alias inside the node its anchor names: `a: &a [*a]`). */
export function containsItself(data: unknown, ancestors = new Set<unknown>()): boolean {
    if (!data || typeof data !== "object") return false;
    if (ancestors.has(data)) return true;
    ancestors.add(data);
    for (const v of Object.values(data as object)) if (containsItself(v, ancestors)) return true;
    ancestors.delete(data);
    return false;
}

function toObjects(data: unknown, text: string, source: string | undefined, out: RenderedObject[]): void {
    if (!isDoc(data)) return;
    if (typeof data.kind === "string" && data.kind.endsWith("List") && Array.isArray(data.items)) {
        // Each item stands on its own (JSON is YAML), so re-streaming the objects never repeats the list.
        for (const item of data.items) toObjects(item, JSON.stringify(item), source, out);
        return;
    }
    if (data.kind === "CustomResourceDefinition") return;
    const hook = data.metadata?.annotations?.["helm.sh/hook"];
    out.push({
        id: objectId(data),
        object: data,
        source,
        hook: typeof hook === "string" ? hook : undefined,
        ...(source && CRDS_FOLDER.test(source) ? { crds: true } : {}),
        text,
    });
}

/**
 * The objects of a stream the caller has parsed already and found without errors, each with the text of its
 * own document: what parseManifests gives for it, without parsing it a second time. `data`, when given,
 * receives each document's value as it is (lists not expanded, CRDs and non-objects kept).
 */
export function manifestsOf(text: string, docs: Iterable<Document>, label: string, data?: unknown[]): RenderedObject[] {
    const out: RenderedObject[] = [];
    for (const doc of docs) {
        let value: unknown;
        try {
            value = doc.toJS({ maxAliasCount: PARSE_OPTIONS.maxAliasCount });
        } catch (e) {
            throw new ManifestError(`${label}: cannot be read: ${(e as Error).message.split("\n")[0]}`);
        }
        // Only an alias (`*a`) can make a document contain itself.
        if (text.includes("*") && containsItself(value))
            throw new ManifestError(`${label}: a document contains itself (an alias inside its own anchor)`);
        data?.push(value);
        const piece = doc.range ? text.slice(doc.range[0], doc.range[2]) : doc.toString();
        toObjects(value, piece, SOURCE.exec(piece)?.[1], out);
    }
    return out;
}

/** A stream's documents as parseManifests splits it. */
export const documentPieces = (text: string): string[] => text.split(SEPARATOR);

/** True when JSON gives `v` back as it is: no .inf, .nan or -0, no `__proto__` key, nothing but plain data. */
function survivesJson(v: unknown): boolean {
    if (v === null || typeof v === "string" || typeof v === "boolean") return true;
    if (typeof v === "number") return Number.isFinite(v) && !Object.is(v, -0);
    if (Array.isArray(v)) return v.every(survivesJson);
    if (typeof v !== "object" || Object.getPrototypeOf(v) !== Object.prototype) return false;
    for (const k of Object.keys(v)) if (k === "__proto__" || !survivesJson((v as Doc)[k])) return false;
    return true;
}

/**
 * The value of each of a stream's pieces (documentPieces), as parseManifests would parse it, in a form a JSON
 * record keeps unchanged; null for a piece parseManifests parses itself: empty, a CRD (skipped), YAML that does
 * not parse on its own or within the limits, or a value JSON would change.
 */
export function pieceValues(text: string): ([unknown] | null)[] {
    return documentPieces(text).map((piece) => {
        if (!piece.trim() || CRD.test(piece)) return null;
        try {
            const data = parse(piece, PARSE_OPTIONS);
            return !containsItself(data) && survivesJson(data) ? [data] : null;
        } catch {
            return null;
        }
    });
}

/**
 * Every object of a multi-document YAML stream, CRDs left out; `label` names the stream in errors. `known`
 * holds values of pieces parsed before (pieceValues), by their exact text: each value is taken for one piece
 * of that text, which is then not parsed again (the objects are the caller's, to change, never shared).
 */
export function parseManifests(text: string, label: string, known?: Map<string, unknown[]>): RenderedObject[] {
    const out: RenderedObject[] = [];
    try {
        for (const piece of documentPieces(text)) {
            if (!piece.trim() || CRD.test(piece)) continue;
            const values = known?.get(piece);
            const data = values?.length ? values.pop() : parse(piece, PARSE_OPTIONS);
            if (containsItself(data))
                throw new ManifestError(`${label}: a document contains itself (an alias inside its own anchor)`);
            toObjects(data, piece, SOURCE.exec(piece)?.[1], out);
        }
        return out;
    } catch (e) {
        if (e instanceof ManifestError) throw e;
        // A "---" inside a block scalar split a document: parse the stream as a whole to be sure.
    }
    out.length = 0;
    for (const doc of parseAllDocuments(text, PARSE_OPTIONS)) {
        if (doc.errors.length > 0)
            throw new ManifestError(`${label}: the output is not valid YAML: ${doc.errors[0].message.split("\n")[0]}`);
        let data: unknown;
        try {
            data = doc.toJS(PARSE_OPTIONS);
        } catch (e) {
            throw new ManifestError(`${label}: the output cannot be read: ${(e as Error).message.split("\n")[0]}`);
        }
        if (containsItself(data))
            throw new ManifestError(`${label}: a document contains itself (an alias inside its own anchor)`);
        toObjects(data, doc.toString(), undefined, out);
    }
    return out;
}
