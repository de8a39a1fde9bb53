/**
 * Stage 3 of the render pipeline: plan the china cluster's rewrites from what the engine rendered.
 *
 *   container images   a post-renderer `images` entry (kustomize's images transformer reaches every
 *                      `containers`/`initContainers` entry in any kind), matched by the name exactly as
 *                      the chart writes it, tag and digest kept
 *   everything else    a JSON 6902 patch on that object: `test` that the field still holds what was
 *                      rendered (so a changed chart fails loudly instead of being patched blindly), then
 *                      `replace` it with the China reference (custom resources' image fields, ephemeral
 *                      containers, `--flag=IMAGE` arguments, env values, `{registry, repository}` objects)
 *
 * Values are never rewritten: a values override is the chart's interpretation of its values (kyverno
 * prepends a registry from a template default, Bitnami refuses substituted images), while the
 * post-renderer acts on the rendered objects, hooks and tests included (Helm 4's "combined" strategy).
 */
import { stringify } from "yaml";
import { isChinaHost, Mirrors, MirrorError, rewritePrefix, rewriteReference } from "../../core/mirrors";
import { format, nameOf, Reference } from "../../core/reference";
import { KustomizeImage, KustomizePatch, KustomizePostRenderer, PatchTarget } from "../engine/kustomize";
import { describeId, ObjectId } from "../objects/manifests";
import { ImageLocation, JsonPath, nameAsWritten, PrefixLocation } from "../objects/images";
import type { ReleaseRender } from "./engine";

export interface Rename {
    readonly upstream: Reference;
    readonly china: Reference;
}

export interface RewritePlan {
    /** The post-renderer for the HelmRelease (empty when nothing needs rewriting). */
    readonly postRenderer: KustomizePostRenderer;
    /** Every upstream image and where it goes (tag and digest as rendered). */
    readonly renames: readonly Rename[];
    /** Images that cannot be rewritten, and why. */
    readonly problems: readonly string[];
    /** Where a prefix setting could not be rewritten (`describeLocation` form): already a problem. */
    readonly refusedPrefixes: ReadonlySet<string>;
    /** The China prefixes the plan writes, with the upstream prefix each replaces. */
    readonly prefixes: readonly { readonly upstream: string; readonly china: string; readonly where: string }[];
}

/** `/spec/containers/0/image`: RFC 6901. */
export function jsonPointer(path: JsonPath): string {
    return path.map((p) => `/${String(p).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

export function patchTarget(id: ObjectId): PatchTarget {
    const slash = id.apiVersion.lastIndexOf("/");
    const group = slash >= 0 ? id.apiVersion.slice(0, slash) : "";
    const version = slash >= 0 ? id.apiVersion.slice(slash + 1) : id.apiVersion;
    return {
        ...(group ? { group } : {}),
        version,
        kind: id.kind,
        name: id.name,
        ...(id.namespace ? { namespace: id.namespace } : {}),
    };
}

interface Op {
    readonly op: "test" | "replace";
    readonly path: string;
    readonly value: string;
}

/** Where a location's object is and what holds the reference, for messages. */
export function describeLocation(render: ReleaseRender, l: ImageLocation | PrefixLocation): string {
    return `${describeId(render.objects[l.object].id)} ${jsonPointer(l.path)}`;
}

export function planRewrites(render: ReleaseRender, mirrors: Mirrors): RewritePlan {
    const planner = new RewritePlanner(render, mirrors);
    for (const l of render.prefixes) planner.prefixSetting(l);
    for (const l of render.locations) planner.imageLocation(l);
    return planner.result();
}

/** A string's new value: the spans of several references in it are replaced together. */
interface StringEdit {
    readonly path: JsonPath;
    readonly original: string;
    readonly spans: { start: number; end: number; text: string }[];
}

/** Collects the rewrites of one release's render: kustomize images, exact-span patches, and problems. */
class RewritePlanner {
    private readonly images = new Map<string, KustomizeImage>();
    private readonly renames = new Map<string, Rename>();
    private readonly problems: string[] = [];
    /** Per object, per string path. */
    private readonly edits = new Map<number, Map<string, StringEdit>>();
    private readonly refusedPrefixes = new Set<string>();
    private readonly prefixes = new Map<string, { upstream: string; china: string; where: string }>();

    constructor(
        private readonly render: ReleaseRender,
        private readonly mirrors: Mirrors,
    ) {}

    /** A registry prefix setting (`hub:`, `--hub=`): its span rewritten, or refused with the mapping that works. */
    prefixSetting(l: PrefixLocation): void {
        if (isChinaHost(this.mirrors, l.domain)) return;
        const where = describeLocation(this.render, l);
        try {
            const china = rewritePrefix(this.mirrors, l.domain, l.repoPath, `${where} (${l.setting}: ${l.text})`);
            const trailing = l.text.endsWith("/") ? "/" : "";
            this.edit(l, l.path, l.value, l.start, l.end, china + trailing);
            this.prefixes.set(where + l.start, {
                upstream: l.repoPath ? `${l.domain}/${l.repoPath}` : l.domain,
                china,
                where,
            });
        } catch (e) {
            if (!(e instanceof MirrorError)) throw e;
            this.refusedPrefixes.add(where);
            this.problems.push(e.message);
        }
    }

    /** An image reference: a kustomize image for containers, else patches of the strings that hold it. */
    imageLocation(l: ImageLocation): void {
        const china = this.chinaOf(l);
        if (!china) return;
        if (l.via === "container") {
            const name = nameAsWritten(l.reference);
            this.images.set(name, { name, newName: nameOf(china) });
        } else if (l.via === "composite" && l.namePath) {
            // Split over repository and name: the China name's last component goes in the name field, the rest
            // (host and path) in the repository field, so that the operator's join gives the China name.
            const slash = china.path.lastIndexOf("/");
            const repository = `${china.domain}${slash > 0 ? `/${china.path.slice(0, slash)}` : ""}`;
            this.edit(l, l.path, l.value, 0, l.value.length, repository);
            this.edit(l, l.namePath, l.nameValue!, 0, l.nameValue!.length, china.path.slice(slash + 1));
        } else if (l.via === "composite" && l.registryPath) {
            this.edit(l, l.registryPath, l.registryValue!, 0, l.registryValue!.length, china.domain);
            this.edit(l, l.path, l.value, 0, l.value.length, china.path);
        } else if (l.via === "composite") {
            this.edit(l, l.path, l.value, 0, l.value.length, nameOf(china));
        } else {
            const written = nameAsWritten(l.reference);
            this.edit(l, l.path, l.value, l.start, l.start + written.length, nameOf(china));
        }
    }

    private chinaOf(l: ImageLocation): Reference | undefined {
        if (!l.parsed) {
            this.problems.push(
                `${describeLocation(this.render, l)}: "${l.reference}" is not a valid image reference, so it cannot be rewritten (and no node could pull it); fix the release's values`,
            );
            return undefined;
        }
        if (isChinaHost(this.mirrors, l.parsed.domain)) return undefined;
        try {
            const china = rewriteReference(this.mirrors, l.parsed);
            this.renames.set(format(l.parsed), { upstream: l.parsed, china });
            return china;
        } catch (e) {
            if (!(e instanceof MirrorError)) throw e;
            this.problems.push(`${describeLocation(this.render, l)}: ${e.message}`);
            return undefined;
        }
    }

    private edit(
        l: ImageLocation | PrefixLocation,
        path: JsonPath,
        original: string,
        start: number,
        end: number,
        text: string,
    ): void {
        const obj = this.render.objects[l.object];
        if (!obj.id.name) {
            this.problems.push(
                `${describeLocation(this.render, l)}: the object has no name, so no patch can target it; give it a name in the chart's values or templates`,
            );
            return;
        }
        const byPath = this.edits.get(l.object) ?? new Map<string, StringEdit>();
        this.edits.set(l.object, byPath);
        const key = JSON.stringify(path);
        const entry = byPath.get(key) ?? { path, original, spans: [] };
        entry.spans.push({ start, end, text });
        byPath.set(key, entry);
    }

    /** One JSON 6902 patch per object: test the string as rendered, then replace it. */
    private patches(): KustomizePatch[] {
        const patches: KustomizePatch[] = [];
        for (const [object, byPath] of [...this.edits].sort(([a], [b]) => a - b)) {
            const ops: Op[] = [];
            for (const e of [...byPath.values()].sort((a, b) =>
                jsonPointer(a.path).localeCompare(jsonPointer(b.path)),
            )) {
                let value = e.original;
                for (const s of [...e.spans].sort((a, b) => b.start - a.start))
                    value = value.slice(0, s.start) + s.text + value.slice(s.end);
                ops.push(
                    { op: "test", path: jsonPointer(e.path), value: e.original },
                    { op: "replace", path: jsonPointer(e.path), value },
                );
            }
            patches.push({
                patch: stringify(ops, { lineWidth: 0 }),
                target: patchTarget(this.render.objects[object].id),
            });
        }
        return patches;
    }

    result(): RewritePlan {
        const patches = this.patches();
        const sortedImages = [...this.images.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        return {
            postRenderer: {
                ...(sortedImages.length ? { images: sortedImages } : {}),
                ...(patches.length ? { patches } : {}),
            },
            renames: [...this.renames.values()].sort((a, b) => (format(a.upstream) < format(b.upstream) ? -1 : 1)),
            problems: [...new Set(this.problems)].sort(),
            refusedPrefixes: this.refusedPrefixes,
            prefixes: [...this.prefixes.values()],
        };
    }
}

export function isEmptyPostRenderer(p: KustomizePostRenderer): boolean {
    return !p.images?.length && !p.patches?.length;
}
