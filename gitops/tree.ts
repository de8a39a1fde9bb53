/**
 * The Flux tree generator: catalog + mirrors + the stacks' facts → an in-memory tree (path → text),
 * laid out like fluxcd/flux2-kustomize-helm-example:
 *
 *   clusters/<cluster>/            flux-system (GitRepository + root Kustomization), infrastructure.yaml, apps.yaml
 *   infrastructure/controllers/<cluster>/   one file per controller: Namespace, source, HelmRelease
 *   infrastructure/configs/<cluster>/       configs: releases and plain manifests
 *   apps/base/<app>/                        the cluster-neutral part of each app
 *   apps/<cluster>/                         per-cluster overlay: the app's source and a HelmRelease patch
 *   inventory/                              what the global side copies into the ACR EE origin instance
 *
 * On the china cluster every chart source and image is rewritten through the mirrors (override values
 * plus a kustomize post-renderer for images set inside templates), Flux's controller images are pinned
 * to the China registry, and every timeout and retry comes from the china slow-link profile.
 */
import * as path from "path";
import { parse } from "yaml";
import { SlowLinkProfile } from "../stacks/slow-link";
import { audit, Inventory, inventoryFrom, UPSTREAM_CHART_ANNOTATION } from "./audit";
import { Catalog, ClusterName, Group, Release } from "./catalog";
import { canonical, GENERATED_HEADER, markdownFile, yamlFile } from "./emit";
import { chartKey, ChinaChartSource, Mirrors, MirrorVars, rewriteChartSource, rewriteReference } from "./mirrors";
import { familiarName, nameOf, parseNormalizedNamed, Reference } from "./reference";
import { FoundImage, helmMerge, rewriteValues, scanValues } from "./values";
import { readText, SourceError } from "./yaml-source";

export interface ClusterSettings {
    readonly name: ClusterName;
    /** Inside mainland China: sources and images are rewritten. */
    readonly china: boolean;
    readonly profile: SlowLinkProfile;
    readonly git: { readonly url: string; readonly branch: string; readonly path: string };
}

export interface RenderInput {
    readonly catalog: Catalog;
    readonly mirrors: Mirrors;
    readonly vars: MirrorVars;
    /** The ACR EE origin instance outside China (the inventory's destination). */
    readonly originRegistry: string;
    readonly clusters: readonly ClusterSettings[];
    /** Rewrite the china cluster's sources and images. @default true (false only to audit the raw tree) */
    readonly rewrite?: boolean;
}

export interface RenderOutput {
    /** Relative path → file text. */
    readonly files: Map<string, string>;
    readonly warnings: string[];
    readonly inventory: Inventory;
}

const HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/** Namespaces that exist on every cluster and are never created by the tree. */
const SYSTEM_NAMESPACES = new Set(["default", "kube-system", "kube-public", "kube-node-lease", "flux-system"]);
const GROUP_DIRS: Record<Group, string> = { controllers: "infrastructure/controllers", configs: "infrastructure/configs", apps: "apps" };

type Obj = Record<string, unknown>;

function kustomization(resources: string[], extra: Obj = {}): Obj {
    return { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: [...resources].sort(), ...extra };
}

function byName<T extends { name: string }>(items: readonly T[]): T[] {
    return [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Every way a manifest may spell an image's name, so the post-renderer catches all of them. */
function nameVariants(ref: Reference): string[] {
    const names = new Set([nameOf(ref)]);
    if (ref.domain === "docker.io") {
        names.add(familiarName(ref));
        names.add(ref.path);
        if (ref.path.startsWith("library/")) names.add(`docker.io/${ref.path.slice("library/".length)}`);
    }
    return [...names].sort();
}

export function renderTree(input: RenderInput): RenderOutput {
    const { catalog, mirrors } = input;
    const rewrite = input.rewrite ?? true;
    const files = new Map<string, string>();
    const warnings: string[] = [];
    const chartValueCache = new Map<string, unknown>();
    // The objects behind each YAML file, so the inventory's audit need not parse what was just emitted.
    const objects = new Map<string, readonly unknown[]>();
    const put = (p: string, text: string, docs?: readonly unknown[]) => {
        if (files.has(p)) throw new Error(`renderTree: two generated files at ${p}`);
        files.set(p, text);
        if (docs) objects.set(p, docs);
    };
    const putYaml = (p: string, docs: readonly unknown[], comment?: string) => put(p, yamlFile(docs, comment), docs);
    const releases = byName(catalog.releases);
    const manifests = byName(catalog.manifests);
    const releaseByName = new Map(releases.map((r) => [r.name, r]));

    const chartDefaults = (r: Release): unknown => {
        if (!r.chartValues) return {};
        const file = path.resolve(path.dirname(catalog.file), r.chartValues);
        if (!chartValueCache.has(file)) {
            try {
                chartValueCache.set(file, parse(readText(file, `chart values of release ${r.name}`)) ?? {});
            } catch (e) {
                if (e instanceof SourceError) throw e;
                throw new SourceError(`${file}: invalid YAML in the chart values of release ${r.name} (${(e as Error).message.split("\n")[0]})`);
            }
        }
        return chartValueCache.get(file);
    };

    for (const cluster of input.clusters) {
        const c = cluster.name;
        const p = cluster.profile;
        const moveToChina = cluster.china && rewrite;
        const namespaceOwner = new Map<string, string>(); // namespace → first release that creates it
        for (const group of ["controllers", "configs", "apps"] as Group[]) {
            for (const r of releases.filter((x) => x.group === group && x.clusters.includes(c))) {
                if (!SYSTEM_NAMESPACES.has(r.namespace) && !namespaceOwner.has(r.namespace)) namespaceOwner.set(r.namespace, r.name);
            }
        }
        const namespaceObject = (r: Release): Obj[] => (namespaceOwner.get(r.namespace) === r.name ? [{ apiVersion: "v1", kind: "Namespace", metadata: { name: r.namespace } }] : []);

        /** The release's source object and how its HelmRelease refers to it. */
        const sourceOf = (r: Release): { source: Obj; ref: Obj } => {
            const meta = { name: r.name, namespace: r.namespace };
            const upstreamOci = r.chart.repository.startsWith("oci://");
            let target: ChinaChartSource = upstreamOci
                ? { type: "oci", url: chartKey({ url: r.chart.repository, chart: r.chart.name }), chart: r.chart.name, version: r.chart.version }
                : { type: "https", url: r.chart.repository, chart: r.chart.name, version: r.chart.version };
            let annotated: Obj = meta;
            if (moveToChina) {
                target = rewriteChartSource(mirrors, { url: r.chart.repository, chart: r.chart.name, version: r.chart.version });
                // The China source names its upstream, so the inventory (an audit of the tree) can copy it.
                annotated = { ...meta, annotations: { [UPSTREAM_CHART_ANNOTATION]: `${upstreamChartLabel(r.chart)}@${r.chart.version}` } };
            }
            // The catalog accepts exact versions only (a range cannot be mirrored ahead of time).
            const ref = { tag: target.version };
            if (target.type === "oci") {
                return {
                    source: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", metadata: annotated, spec: { interval: p.sourceInterval, timeout: p.sourceTimeout, url: target.url, ref, layerSelector: { mediaType: HELM_CHART_LAYER, operation: "copy" } } },
                    ref: { chartRef: { kind: "OCIRepository", name: r.name } },
                };
            }
            return {
                source: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "HelmRepository", metadata: annotated, spec: { interval: p.sourceInterval, timeout: p.sourceTimeout, url: target.url } },
                ref: { chart: { spec: { chart: target.chart, version: r.chart.version, sourceRef: { kind: "HelmRepository", name: r.name }, interval: p.sourceInterval } } },
            };
        };

        /** The HelmRelease spec for this cluster, without releaseName (the base holds it for apps). */
        const releaseSpec = (r: Release, ref: Obj): Obj => {
            const values = helmMerge(r.values, r.clusterValues[c] ?? {}) as Obj;
            const scanned = helmMerge(chartDefaults(r), values);
            const scan = scanValues(scanned);
            warnings.push(...scan.warnings.map((w) => `release ${r.name} (${c}): ${w}`));
            const extra: FoundImage[] = r.extraImages.map((s) => ({ path: [], shape: "string", reference: parseNormalizedNamed(s), tagFrom: "values", edits: () => [] }));
            const all = [...scan.images, ...extra];
            let finalValues = values;
            let postRenderers: Obj[] | undefined;
            if (moveToChina) {
                const { images, overrides } = rewriteValues(scanned, all, mirrors);
                finalValues = helmMerge(values, overrides) as Obj;
                const entries = new Map<string, Obj>();
                for (const img of images) {
                    const rewritten = parseNormalizedNamed(img.rewritten);
                    if (nameOf(rewritten) === nameOf(img.image.reference)) continue;
                    // Images only the templates set carry their tag here: no values hold it.
                    const pin = img.image.path.length === 0 ? tagFields(img.image.reference) : {};
                    for (const n of nameVariants(img.image.reference)) entries.set(n, { name: n, newName: nameOf(rewritten), ...pin });
                }
                if (entries.size > 0) postRenderers = [{ kustomize: { images: [...entries.keys()].sort().map((k) => entries.get(k)!) } }];
            }
            const dependsOn = r.dependsOn.map((d) => ({ name: d, namespace: releaseByName.get(d)!.namespace }));
            return {
                interval: p.helmInterval,
                timeout: p.helmTimeout,
                install: { crds: "CreateReplace", strategy: { name: "RetryOnFailure", retryInterval: p.helmRetryInterval } },
                upgrade: { crds: "CreateReplace", strategy: { name: "RetryOnFailure", retryInterval: p.helmRetryInterval } },
                ...ref,
                ...(dependsOn.length ? { dependsOn } : {}),
                ...(Object.keys(finalValues).length ? { values: finalValues } : {}),
                ...(postRenderers ? { postRenderers } : {}),
            };
        };
        const helmRelease = (r: Release, spec: Obj): Obj => ({ apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", metadata: { name: r.name, namespace: r.namespace }, spec });


        // infrastructure/controllers/<c> and infrastructure/configs/<c>: one complete file per item
        for (const group of ["controllers", "configs"] as Group[]) {
            const dir = `${GROUP_DIRS[group]}/${c}`;
            const resources: string[] = [];
            for (const r of releases.filter((x) => x.group === group && x.clusters.includes(c))) {
                const { source, ref } = sourceOf(r);
                putYaml(`${dir}/${r.name}.yaml`, [...namespaceObject(r), source, helmRelease(r, { releaseName: r.name, ...releaseSpec(r, ref) })], `${r.name} for the ${c} cluster`);
                resources.push(`${r.name}.yaml`);
            }
            for (const m of manifests.filter((x) => x.group === group && x.clusters.includes(c))) {
                putYaml(`${dir}/${m.name}.yaml`, m.objects, `manifests "${m.name}" for the ${c} cluster`);
                resources.push(`${m.name}.yaml`);
            }
            putYaml(`${dir}/kustomization.yaml`, [kustomization(resources)]);
        }

        // apps: the cluster-neutral base once, then this cluster's overlay
        const appResources: string[] = [];
        const appPatches: Obj[] = [];
        for (const r of releases.filter((x) => x.group === "apps" && x.clusters.includes(c))) {
            const base = `apps/base/${r.name}`;
            if (!files.has(`${base}/kustomization.yaml`)) {
                const ns = SYSTEM_NAMESPACES.has(r.namespace) ? [] : [{ apiVersion: "v1", kind: "Namespace", metadata: { name: r.namespace } }];
                if (ns.length) putYaml(`${base}/namespace.yaml`, ns);
                // interval is required by the schema; each overlay sets its own cluster's interval anyway.
                putYaml(`${base}/release.yaml`, [helmRelease(r, { releaseName: r.name, interval: p.helmInterval })], `${r.name}: the part shared by every cluster; apps/<cluster>/ adds its source, values and timeouts`);
                putYaml(`${base}/kustomization.yaml`, [kustomization([...(ns.length ? ["namespace.yaml"] : []), "release.yaml"])]);
            }
            const { source, ref } = sourceOf(r);
            putYaml(`apps/${c}/${r.name}-source.yaml`, [source]);
            putYaml(`apps/${c}/${r.name}-release.yaml`, [helmRelease(r, releaseSpec(r, ref))], `patch: ${r.name} on the ${c} cluster`);
            appResources.push(`../base/${r.name}`, `${r.name}-source.yaml`);
            appPatches.push({ path: `${r.name}-release.yaml`, target: { kind: "HelmRelease", name: r.name, namespace: r.namespace } });
        }
        for (const m of manifests.filter((x) => x.group === "apps" && x.clusters.includes(c))) {
            putYaml(`apps/${c}/${m.name}.yaml`, m.objects, `manifests "${m.name}" for the ${c} cluster`);
            appResources.push(`${m.name}.yaml`);
        }
        putYaml(`apps/${c}/kustomization.yaml`, [kustomization(appResources, appPatches.length ? { patches: appPatches.sort((a, b) => String(a.path).localeCompare(String(b.path))) } : {})]);

        // clusters/<c>: Flux's own sync and the three Kustomizations, controllers → configs → apps
        const fluxMeta = (name: string) => ({ name, namespace: "flux-system" });
        const fluxKustomization = (name: string, kpath: string, dependsOn?: string): Obj => ({
            apiVersion: "kustomize.toolkit.fluxcd.io/v1",
            kind: "Kustomization",
            metadata: fluxMeta(name),
            spec: {
                ...(dependsOn ? { dependsOn: [{ name: dependsOn }] } : {}),
                interval: p.kustomizationInterval,
                retryInterval: p.kustomizationRetryInterval,
                timeout: p.kustomizationTimeout,
                sourceRef: { kind: "GitRepository", name: "flux-system" },
                path: kpath,
                prune: true,
                wait: true,
            },
        });
        putYaml(`clusters/${c}/flux-system/gotk-sync.yaml`, [
            { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", metadata: fluxMeta("flux-system"), spec: { interval: p.sourceInterval, timeout: p.sourceTimeout, url: cluster.git.url, ref: { branch: cluster.git.branch }, secretRef: { name: "flux-system" } } },
            fluxKustomization("flux-system", `./${cluster.git.path}`),
        ]);
        const fluxImages: Obj[] = [];
        if (moveToChina) {
            for (const image of [...catalog.fluxImages].sort()) {
                const ref = parseNormalizedNamed(image);
                const china = rewriteReference(mirrors, ref);
                fluxImages.push({ name: nameOf(ref), newName: nameOf(china), ...tagFields(ref) });
            }
        }
        putYaml(
            `clusters/${c}/flux-system/kustomization.yaml`,
            [kustomization(["gotk-sync.yaml"], fluxImages.length ? { images: fluxImages } : {})],
            fluxImages.length ? "Flux's controllers come from the China registry. The Pulumi bootstrap installs them with these images;\nif you add gotk-components.yaml from `flux install --export`, these entries rewrite it too." : undefined,
        );
        putYaml(`clusters/${c}/infrastructure.yaml`, [fluxKustomization("infra-controllers", `./infrastructure/controllers/${c}`), fluxKustomization("infra-configs", `./infrastructure/configs/${c}`, "infra-controllers")]);
        putYaml(`clusters/${c}/apps.yaml`, [fluxKustomization("apps", `./apps/${c}`, "infra-configs")]);
        putYaml(`clusters/${c}/kustomization.yaml`, [kustomization(["flux-system", "infrastructure.yaml", "apps.yaml"])]);
    }

    // inventory: an audit of the tree just rendered, traced back to the upstreams
    let inventory: Inventory = { images: [], charts: [], unresolved: [] };
    const china = input.clusters.find((x) => x.china);
    if (china) {
        const report = audit(objects, mirrors).clusters.get(china.name);
        if (report) inventory = inventoryFrom(report, input.vars.chinaRegistry, input.originRegistry, platformImages(catalog, mirrors));
        // The flux2 chart the Pulumi bootstrap installs from the China registry.
        const flux = catalog.fluxChart;
        const fluxChina = rewriteChartSource(mirrors, { url: flux.repository, chart: flux.name, version: flux.version });
        if (fluxChina.type === "oci" && fluxChina.url.startsWith(`oci://${input.vars.chinaRegistry}/`)) {
            const destination = fluxChina.url.replace(`oci://${input.vars.chinaRegistry}/`, `oci://${input.originRegistry}/`);
            inventory = { ...inventory, charts: [...inventory.charts, { source: upstreamChartLabel(flux), version: flux.version, destination }].sort((a, b) => (a.destination < b.destination ? -1 : 1)) };
        }
        warnings.push(...inventory.unresolved.map((u) => `inventory: ${u}`));
        renderInventory(put, inventory, input, china.profile);
    }
    put("README.md", treeReadme(input, rewrite));
    return { files, warnings: [...new Set(warnings)], inventory };
}

/** How the inventory names an upstream chart: its oci:// reference, or "<https repository> <chart>". */
function upstreamChartLabel(chart: { repository: string; name: string }): string {
    return chart.repository.startsWith("oci://") ? chartKey({ url: chart.repository, chart: chart.name }) : `${chart.repository} ${chart.name}`;
}

/** Upstream → China names of the images the Pulumi program deploys itself. */
function platformImages(catalog: Catalog, mirrors: Mirrors): { upstream: Reference; china: Reference }[] {
    return [catalog.platform.ecrRefresherImage].map((s) => {
        const upstream = parseNormalizedNamed(s);
        return { upstream, china: rewriteReference(mirrors, upstream) };
    });
}

/** newTag/digest entries that pin a kustomize `images` rewrite to the reference's own tag and digest. */
function tagFields(ref: Reference): Obj {
    return { ...(ref.tag !== undefined ? { newTag: ref.tag } : {}), ...(ref.digest !== undefined ? { digest: ref.digest } : {}) };
}

function renderInventory(put: (p: string, text: string) => void, inventory: Inventory, input: RenderInput, profile: SlowLinkProfile): void {
    const { images, charts } = inventory;
    const header = GENERATED_HEADER;
    put(
        "inventory/images.txt",
        [
            header,
            `# Every image the china cluster pulls, and where it goes in the ACR EE origin instance (${input.originRegistry}).`,
            "# ACR EE replicates the namespace to the China instance with the same names and digests.",
            "# One line per image: SOURCE DESTINATION (skopeo transport references; tags and digests preserved).",
            ...images.map((i) => `${i.source} ${i.destination}`),
            "",
        ].join("\n"),
    );
    put(
        "inventory/copy.sh",
        [
            "#!/bin/sh",
            header,
            "# Copies every image of images.txt into the ACR EE origin instance, all architectures, digests preserved.",
            "# Log in first: skopeo login <origin registry>. Extra skopeo flags: SKOPEO_FLAGS=... ./copy.sh",
            "set -eu",
            `RETRIES="\${RETRIES:-${profile.syncRetryTimes}}"`,
            `ATTEMPTS="\${ATTEMPTS:-${profile.syncCopyAttempts}}"`,
            'cd "$(dirname "$0")"',
            "grep -v '^#' images.txt | while read -r src dest; do",
            '  [ -n "$src" ] || continue',
            "  attempt=1",
            "  # skopeo retries single requests; a failure it gives up on (a reset while writing the manifest) copies the image again.",
            '  # shellcheck disable=SC2086',
            '  until skopeo copy --all --preserve-digests --retry-times "$RETRIES" ${SKOPEO_FLAGS:-} "$src" "$dest"; do',
            '    if [ "$attempt" -ge "$ATTEMPTS" ]; then echo "copy.sh: giving up on $src after $attempt attempts" >&2; exit 1; fi',
            "    attempt=$((attempt + 1))",
            '    sleep "$attempt"',
            "  done",
            "done",
            "",
        ].join("\n"),
    );
    // skopeo's own sync format, by source registry. `skopeo sync` keeps each image's upstream path under
    // the destination, so it matches the China names only for a nested-layout target; for ACR EE's flat
    // names, copy.sh (explicit source → destination) is the exact copy.
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
    for (const r of Object.values(byRegistry)) for (const k of Object.keys(r.images)) r.images[k] = [...new Set(r.images[k])].sort();
    put(
        "inventory/skopeo-sync.yaml",
        yamlFile(
            [canonical(byRegistry)],
            `skopeo sync source config of every image the china cluster pulls (tags, or digests where pinned).\nskopeo sync --src yaml --dest docker --scoped --all --retry-times ${profile.syncRetryTimes} skopeo-sync.yaml <registry>/<namespace>\nkeeps upstream paths (nested layout); for ACR EE's flat names use copy.sh.`,
        ),
    );
    put(
        "inventory/charts.txt",
        [
            header,
            "# Every chart the china cluster installs, and the OCI repository it must be pushed to in the origin instance.",
            "# One line per chart: SOURCE VERSION DESTINATION (https sources are 'repository-url chart-name').",
            ...charts.map((c) => `${c.source} ${c.version} ${c.destination}`),
            "",
        ].join("\n"),
    );
}

function treeReadme(input: RenderInput, rewrite: boolean): string {
    const rows = (c: ClusterName) =>
        input.catalog.releases
            .filter((r) => r.clusters.includes(c))
            .map((r) => r.name)
            .sort()
            .join(", ") || "(none)";
    const clusters = input.clusters.map((c) => `- **${c.name}**: ${rows(c.name)}. Git: \`${c.git.url}\` (${c.git.branch}), path \`${c.git.path}\`.`).join("\n");
    return markdownFile(`# Flux tree (generated by crossborder)

This tree is rendered from \`gitops/catalog.yaml\` and \`gitops/mirrors.yaml\` by \`crossborder render\`.
Do not edit it by hand: change the catalog and render again. The layout follows
fluxcd/flux2-kustomize-helm-example: \`clusters/<cluster>\` holds Flux's own sync and the Kustomizations, and
those apply \`infrastructure/controllers\`, then \`infrastructure/configs\`, then \`apps\`.

${clusters}

${rewrite ? "On the china cluster every chart source and every image comes from the China registry." : "**This tree was rendered without rewriting: the china cluster pulls from upstream.**"}
\`crossborder audit\` proves it, and \`inventory/\` lists what the global side copies into the origin
registry.

\`\`\`mermaid
flowchart LR
    subgraph outside["outside China"]
        UP["upstream registries and chart repositories"]
        OR["ACR EE origin<br/>${input.originRegistry}"]
        GC["global cluster"]
    end
    subgraph inside["inside mainland China"]
        CR["ACR EE China<br/>${input.vars.chinaRegistry}"]
        CC["china cluster"]
    end
    UP -->|"inventory/copy.sh"| OR
    OR -->|"ACR EE replication<br/>namespace ${input.vars.registryNamespace}"| CR
    CR -->|"every image and chart"| CC
    UP --> GC
\`\`\`
`);
}
