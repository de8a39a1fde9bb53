/**
 * Stage 5 of the render pipeline: the sync inventory, what the global side copies into the ACR EE origin
 * instance so that the China instance (which replicates it) holds everything the china cluster pulls.
 * Images come from what the engine rendered (tags and digests as rendered), charts from the locked
 * archives (the same bytes, checked by sha256 before `helm push`).
 */
import * as path from "path";
import { SlowLinkProfile } from "../../core/slow-link";
import { canonical, GENERATED_HEADER, yamlFile } from "../emit";
import { archivePath, ChartRef } from "../engine/charts";
import { decodeFlat, PrefixMapping } from "../../core/mirrors";
import { format, nameOf, parseNormalizedNamed, Reference, tryParseImage } from "../../core/reference";

/** Annotation the generator puts on a China chart source, naming the upstream chart it mirrors. */
export const UPSTREAM_CHART_ANNOTATION = "crossborder/upstream-chart";

export interface InventoryImage {
    /** skopeo transport reference of the upstream: `docker://upstream[:tag|@digest]`. */
    readonly source: string;
    /** `docker://origin/...:tag`. */
    readonly destination: string;
}

export interface InventoryChart {
    readonly repository: string;
    readonly chart: string;
    readonly version: string;
    /** `oci://origin/<namespace>/…/<chart>`: where helm push puts it. */
    readonly destination: string;
    /** The locked archive's sha256, or undefined when the chart was never pulled. */
    readonly sha256?: string;
    /** The archive's path inside the chart cache. */
    readonly archive: string;
}

export interface Inventory {
    readonly images: readonly InventoryImage[];
    readonly charts: readonly InventoryChart[];
    /** China references the inventory cannot copy: no upstream known, or no tag to copy. */
    readonly unresolved: readonly string[];
}

/** One image the china cluster pulls: its upstream and its China reference (same tag and digest). */
export interface ImagePair {
    readonly upstream: Reference;
    readonly china: Reference;
    /** Where it is pulled, for messages. */
    readonly where: string;
    /** Kubernetes pulls an untagged container image as ":latest"; elsewhere the tag is unknown. */
    readonly container: boolean;
    /**
     * In a component its object turns off (`enabled: false`): not pulled while it stays off, so a missing
     * tag is no finding (the image is copied when it has one).
     */
    readonly disabled?: boolean;
}

export class InventoryBuilder {
    private readonly images = new Map<string, InventoryImage>();
    private readonly charts = new Map<string, InventoryChart>();
    private readonly unresolved = new Set<string>();
    /** Tagless references by China name: resolved when a declared runtime image of that name gives the tag. */
    private readonly tagless = new Map<string, string>();
    private readonly declared = new Set<string>();

    constructor(
        private readonly chinaRegistry: string,
        private readonly originRegistry: string,
        /** mirrors.yaml `prefixes:`, to trace a China name under a prefix namespace back to its upstream. */
        private readonly prefixes: readonly PrefixMapping[] = [],
    ) {}

    addImage(pair: ImagePair): void {
        const { upstream, china } = pair;
        if (china.domain !== this.chinaRegistry) return;
        let tag = china.tag;
        if (tag === undefined && china.digest === undefined) {
            if (pair.disabled) return;
            if (!pair.container) {
                this.tagless.set(
                    `${format(china)} (${pair.where})`,
                    `${format(china)} (${pair.where}): no tag or digest, so the tag the controller pulls cannot be known; pin the tag in the release's values, or, when the operator supplies it, declare the image it pulls with its tag (catalog runtimeImages: [${format(pair.upstream)}:<tag>])`,
                );
                return;
            }
            tag = "latest";
        }
        const source = `docker://${nameOf(upstream)}${china.digest ? `@${china.digest}` : `:${tag}`}`;
        this.images.set(source, {
            source,
            destination: `docker://${this.originRegistry}/${china.path}:${tag ?? china.digest!.replace(":", "-")}`,
        });
    }

    /** A China reference found with no upstream recorded: traced back by decoding a flat name, if it is one. */
    addChinaOnly(china: Reference, where: string, container: boolean): void {
        if (china.domain !== this.chinaRegistry) return;
        const upstream = this.fromPrefix(china) ?? decodeUpstream(china);
        if (!upstream) {
            this.unresolved.add(
                `${format(china)} (${where}): no upstream recorded for this China name; push it to the origin yourself`,
            );
            return;
        }
        this.addImage({ upstream: { ...upstream, tag: china.tag, digest: china.digest }, china, where, container });
    }

    private fromPrefix(china: Reference): Reference | undefined {
        const slash = china.path.indexOf("/");
        const prefix = this.prefixes.find((p) => p.namespace === china.path.slice(0, slash));
        return prefix && slash > 0 ? tryParseImage(`${prefix.upstream}/${china.path.slice(slash + 1)}`) : undefined;
    }

    addChart(ref: ChartRef, chinaUrl: string, cacheDir: string, sha256: string | undefined): void {
        if (!chinaUrl.startsWith(`oci://${this.chinaRegistry}/`)) return;
        const destination = chinaUrl.replace(`oci://${this.chinaRegistry}/`, `oci://${this.originRegistry}/`);
        const archive = path.relative(cacheDir, archivePath(cacheDir, ref)).split(path.sep).join("/");
        this.charts.set(`${destination}@${ref.version}`, {
            repository: ref.repository,
            chart: ref.name,
            version: ref.version,
            destination,
            sha256,
            archive,
        });
    }

    /** An image the release's operator pulls at runtime (catalog runtimeImages, chart annotations). */
    declare(pair: ImagePair): void {
        this.declared.add(nameOf(pair.china));
        this.addImage(pair);
    }

    build(): Inventory {
        for (const [key, message] of this.tagless) {
            const name = key.slice(0, key.indexOf(" ("));
            if (!this.declared.has(nameOf(parseNormalizedNamed(name)))) this.unresolved.add(message);
        }
        const sortBy = <T>(xs: T[], key: (x: T) => string) =>
            xs.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
        return {
            images: sortBy([...this.images.values()], (i) => i.source),
            charts: sortBy([...this.charts.values()], (c) => `${c.destination}@${c.version}`),
            unresolved: [...this.unresolved].sort(),
        };
    }
}

/** A flat ACR EE name decodes to its upstream (`<ns>/quay.io_s_jetstack_s_x` → `quay.io/jetstack/x`). */
function decodeUpstream(ref: Reference): Reference | undefined {
    const decoded = decodeFlat(ref.path.split("/").pop()!);
    const upstream = tryParseImage(decoded);
    return upstream && nameOf(upstream) === decoded ? upstream : undefined;
}

/** inventory/images.txt, copy.sh, skopeo-sync.yaml and charts.txt. */
export function renderInventoryFiles(
    inventory: Inventory,
    originRegistry: string,
    profile: SlowLinkProfile,
    /** Which generator's files these are (render's, or adopt's beside a fleet's own files). */
    header = GENERATED_HEADER,
): Map<string, string> {
    const files = new Map<string, string>();
    const { images, charts } = inventory;
    files.set(
        "inventory/images.txt",
        [
            header,
            `# Every image the china cluster pulls, and where it goes in the ACR EE origin instance (${originRegistry}).`,
            "# ACR EE replicates the namespace to the China instance with the same names and digests.",
            "# One line per image: SOURCE DESTINATION (skopeo transport references; tags and digests preserved).",
            ...images.map((i) => `${i.source} ${i.destination}`),
            "",
        ].join("\n"),
    );
    files.set("inventory/copy.sh", copyScript(profile, header));
    files.set("inventory/skopeo-sync.yaml", skopeoSync(images, profile, header));
    files.set(
        "inventory/charts.txt",
        [
            header,
            "# Every chart the china cluster installs, from the locked archive in the chart cache, and the OCI repository",
            "# of the origin instance it is pushed to (helm push appends the chart's name to the parent path).",
            "# One line per chart: REPOSITORY CHART VERSION DESTINATION SHA256 ARCHIVE (SHA256 is - when never pulled).",
            ...charts.map(
                (c) => `${c.repository} ${c.chart} ${c.version} ${c.destination} ${c.sha256 ?? "-"} ${c.archive}`,
            ),
            "",
        ].join("\n"),
    );
    return files;
}

function copyScript(profile: SlowLinkProfile, header: string): string {
    return [
        "#!/bin/sh",
        header,
        "# Copies every image of images.txt into the ACR EE origin instance (all architectures, digests preserved),",
        "# then pushes every chart of charts.txt from the chart cache with helm push, after checking its sha256.",
        "# Log in first: skopeo login <origin registry> and helm registry login <origin registry>.",
        "# Extra flags: SKOPEO_FLAGS=... HELM_PUSH_FLAGS=... ./copy.sh; the chart cache: CHARTS=<dir>.",
        "# helm: CROSSBORDER_HELM, else helm on PATH, else the one npm ci put in .tools/bin (run from the crossborder checkout).",
        "set -eu",
        `RETRIES="\${RETRIES:-${profile.syncRetryTimes}}"`,
        `ATTEMPTS="\${ATTEMPTS:-${profile.syncCopyAttempts}}"`,
        'CHARTS="${CHARTS:-${CROSSBORDER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crossborder}/charts}"',
        'HELM="${CROSSBORDER_HELM:-$(command -v helm || true)}"',
        'if [ -z "$HELM" ] && [ -x .tools/bin/helm ]; then HELM="$PWD/.tools/bin/helm"; fi',
        'cd "$(dirname "$0")"',
        "# The tools first: a missing one is said once, before anything is copied (not retried as a failed copy).",
        "if grep -qv '^#' images.txt && ! command -v skopeo >/dev/null 2>&1; then",
        '  echo "copy.sh: skopeo is not installed (apt-get install skopeo): it copies the images" >&2; exit 2',
        "fi",
        "if grep -qv '^#' charts.txt; then",
        '  if [ -z "$HELM" ] || [ ! -x "$HELM" ]; then echo "copy.sh: no helm: set CROSSBORDER_HELM, put helm on PATH, or run from the crossborder checkout after npm ci" >&2; exit 2; fi',
        '  command -v sha256sum >/dev/null 2>&1 || { echo "copy.sh: sha256sum is missing (coreutils): it checks each chart against the lock" >&2; exit 2; }',
        "fi",
        "grep -v '^#' images.txt | while read -r src dest; do",
        '  [ -n "$src" ] || continue',
        "  attempt=1",
        "  # skopeo retries single requests; a failure it gives up on (a reset while writing the manifest) copies the image again.",
        "  # shellcheck disable=SC2086",
        '  until skopeo copy --all --preserve-digests --retry-times "$RETRIES" ${SKOPEO_FLAGS:-} "$src" "$dest"; do',
        '    if [ "$attempt" -ge "$ATTEMPTS" ]; then echo "copy.sh: giving up on $src after $attempt attempts" >&2; exit 1; fi',
        "    attempt=$((attempt + 1))",
        '    sleep "$attempt"',
        "  done",
        "done",
        "grep -v '^#' charts.txt | while read -r repo chart version dest sha archive; do",
        '  [ -n "$repo" ] || continue',
        '  if [ "$sha" = "-" ]; then echo "copy.sh: $repo $chart $version was never pulled: run crossborder charts pull, then render again" >&2; exit 1; fi',
        '  file="$CHARTS/$archive"',
        '  if [ ! -f "$file" ]; then echo "copy.sh: $file is missing: run crossborder charts pull (or set CHARTS to the chart cache)" >&2; exit 1; fi',
        '  got=$(sha256sum "$file" | cut -d " " -f 1)',
        '  if [ "$got" != "$sha" ]; then echo "copy.sh: $file has sha256 $got, not the locked $sha: refusing to push it" >&2; exit 1; fi',
        '  if [ "${dest##*/}" != "$chart" ]; then echo "copy.sh: $dest does not end in the chart name $chart, so helm push cannot write it" >&2; exit 1; fi',
        "  attempt=1",
        "  # shellcheck disable=SC2086",
        '  until "$HELM" push ${HELM_PUSH_FLAGS:-} "$file" "${dest%/*}"; do',
        '    if [ "$attempt" -ge "$ATTEMPTS" ]; then echo "copy.sh: giving up on chart $chart $version after $attempt attempts" >&2; exit 1; fi',
        "    attempt=$((attempt + 1))",
        '    sleep "$attempt"',
        "  done",
        "done",
        "",
    ].join("\n");
}

/**
 * skopeo's own sync format, by source registry. `skopeo sync` keeps each image's upstream path under the
 * destination, so it matches the China names only for a nested-layout target; for ACR EE's flat names,
 * copy.sh (explicit source → destination) is the exact copy.
 */
function skopeoSync(images: readonly InventoryImage[], profile: SlowLinkProfile, header: string): string {
    const byRegistry: Record<string, { images: Record<string, string[]> }> = {};
    for (const i of images) {
        const ref = parseNormalizedNamed(i.source.replace("docker://", ""));
        const entry = (byRegistry[ref.domain] ??= { images: {} });
        const list = (entry.images[ref.path] ??= []);
        list.push(ref.digest ?? ref.tag!);
        // A pinned image also needs its tag at the destination (the China reference is tag@digest);
        // verify-mirror then proves the tag points at the pinned digest.
        if (ref.digest) {
            const destTag = parseNormalizedNamed(i.destination.replace("docker://", "")).tag;
            if (destTag && !destTag.startsWith("sha256-")) list.push(destTag);
        }
    }
    for (const r of Object.values(byRegistry))
        for (const k of Object.keys(r.images)) r.images[k] = [...new Set(r.images[k])].sort();
    return yamlFile(
        [canonical(byRegistry)],
        `skopeo sync source config of every image the china cluster pulls (tags, or digests where pinned).\nskopeo sync --src yaml --dest docker --scoped --all --retry-times ${profile.syncRetryTimes} skopeo-sync.yaml <registry>/<namespace>\nkeeps upstream paths (nested layout); for ACR EE's flat names use copy.sh.`,
        header,
    );
}
