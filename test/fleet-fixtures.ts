/**
 * Fleets for `crossborder adopt`: the corpus fleet (flux2-kustomize-helm-example) copied with a chart cache
 * holding the archives its HelmReleases resolve to, and a fleet of our own in another shape (a Flux-bootstrapped
 * GitRepository instead of an ArtifactGenerator, plain folders without a kustomization, a nested
 * Kustomization, targetNamespace, postBuild, valuesFrom, an OCI HelmRepository, plain Deployments).
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { archivePath, lockText, sha256File } from "../gitops/engine/charts";
import { corpusAvailable, corpusFile } from "./corpus";
import { tempDir, writeFiles } from "./helpers";

export interface Fleet {
    readonly dir: string;
    readonly cache: string;
    /** `--catalog <file>` whose lock holds the Flux chart (so the audit checks the Flux objects against its CRDs). */
    readonly catalogArgs: string[];
}

/** Put a corpus chart archive into the cache where `repository` serves it. */
export function cacheChart(cache: string, repository: string, name: string, version: string, archive: string): string {
    const file = archivePath(cache, { repository, name, version });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.copyFileSync(archive, file);
    return file;
}

/** A catalog beside the cache whose lock holds the corpus flux2 chart, as `crossborder charts pull` leaves it. */
function fluxCatalog(work: string, cache: string): string[] {
    const flux = { repository: "https://fluxcd-community.github.io/helm-charts", name: "flux2", version: "2.18.3" };
    const file = cacheChart(
        cache,
        flux.repository,
        flux.name,
        flux.version,
        corpusFile("charts", "flux2", "flux2-2.18.3.tgz"),
    );
    fs.writeFileSync(
        path.join(work, "catalog.yaml"),
        stringify({ version: 1, flux: { version: "2.8.8", chart: flux }, releases: [] }),
    );
    fs.writeFileSync(path.join(work, "catalog.lock"), lockText([{ ...flux, sha256: sha256File(file) }]));
    return ["--catalog", path.join(work, "catalog.yaml")];
}

/** The corpus fleet, copied whole, and a cache with its three charts. */
export function corpusFleet(label = "fleet"): Fleet {
    if (!corpusAvailable()) throw new Error("the corpus is not at hand");
    const work = tempDir(label);
    const dir = path.join(work, "fleet");
    fs.cpSync(corpusFile("fleets", "flux2-kustomize-helm-example"), dir, { recursive: true });
    const cache = path.join(work, "charts");
    const charts = (f: string) => corpusFile("fleets", "charts", f);
    cacheChart(cache, "https://stefanprodan.github.io/podinfo", "podinfo", "6.14.1", charts("podinfo-6.14.1.tgz"));
    cacheChart(cache, "oci://quay.io/jetstack/charts", "cert-manager", "v1.21.1", charts("cert-manager-v1.21.1.tgz"));
    cacheChart(cache, "oci://docker.io/envoyproxy", "gateway-helm", "v1.9.0", charts("gateway-helm-v1.9.0.tgz"));
    return { dir, cache, catalogArgs: fluxCatalog(work, cache) };
}

const y = (...docs: unknown[]) => docs.map((d) => `---\n${stringify(d)}`).join("");
const meta = (name: string, namespace?: string) => ({ name, ...(namespace ? { namespace } : {}) });
const ks = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: meta(name, "flux-system"),
    spec: { interval: "10m", prune: true, sourceRef: { kind: "GitRepository", name: "flux-system" }, ...spec },
});
const deployment = (
    name: string,
    namespace: string,
    containers: Record<string, string>[],
    init: Record<string, string>[] = [],
) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(name, namespace),
    spec: {
        selector: { matchLabels: { app: name } },
        template: {
            metadata: { labels: { app: name } },
            spec: { containers, ...(init.length ? { initContainers: init } : {}) },
        },
    },
});

/** The files of our own fleet (path → text): see the file's header for its shape. */
export function ownFleetFiles(): Record<string, string> {
    return {
        "clusters/eu/flux-system/gotk-sync.yaml": y(
            {
                apiVersion: "source.toolkit.fluxcd.io/v1",
                kind: "GitRepository",
                metadata: meta("flux-system", "flux-system"),
                spec: { interval: "1m", url: "ssh://git@github.com/acme/fleet", ref: { branch: "main" } },
            },
            ks("flux-system", { path: "./clusters/eu" }),
        ),
        "clusters/eu/flux-system/kustomization.yaml": stringify({ resources: ["gotk-sync.yaml"] }),
        "clusters/eu/platform.yaml": y(
            ks("platform", { path: "./platform", timeout: "3m" }),
            ks("web", {
                path: "./web/eu",
                dependsOn: [{ name: "platform" }],
                targetNamespace: "web",
                postBuild: { substitute: { region: "eu" } },
                patches: [
                    {
                        patch: stringify([{ op: "add", path: "/spec/replicas", value: 3 }]),
                        target: { kind: "Deployment", name: "shop" },
                    },
                ],
            }),
        ),
        // Applied by the cluster's root itself, as in Flux's getting-started guide.
        "clusters/eu/podinfo.yaml": y(
            {
                apiVersion: "source.toolkit.fluxcd.io/v1",
                kind: "HelmRepository",
                metadata: meta("podinfo", "flux-system"),
                spec: { interval: "1h", url: "https://stefanprodan.github.io/podinfo" },
            },
            {
                apiVersion: "helm.toolkit.fluxcd.io/v2",
                kind: "HelmRelease",
                metadata: meta("podinfo", "flux-system"),
                spec: {
                    interval: "1h",
                    targetNamespace: "web",
                    // Its chart source is applied by another Kustomization (platform/repositories.yaml).
                    chartRef: { kind: "OCIRepository", name: "podinfo-oci" },
                },
            },
            {
                apiVersion: "image.toolkit.fluxcd.io/v1",
                kind: "ImageRepository",
                metadata: meta("podinfo", "flux-system"),
                spec: { image: "ghcr.io/stefanprodan/podinfo", interval: "1h" },
            },
        ),
        // No kustomization file: Flux generates one listing every manifest below it.
        "platform/repositories.yaml": y(
            {
                apiVersion: "source.toolkit.fluxcd.io/v1",
                kind: "HelmRepository",
                metadata: meta("metrics-server", "kube-system"),
                spec: { interval: "1h", url: "https://kubernetes-sigs.github.io/metrics-server" },
            },
            {
                apiVersion: "source.toolkit.fluxcd.io/v1",
                kind: "OCIRepository",
                metadata: meta("podinfo-oci", "flux-system"),
                spec: {
                    interval: "1h",
                    url: "oci://ghcr.io/stefanprodan/charts/podinfo",
                    ref: { semver: ">=6.0.0" },
                    layerSelector: {
                        mediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                        operation: "copy",
                    },
                },
            },
            {
                apiVersion: "source.toolkit.fluxcd.io/v1",
                kind: "HelmRepository",
                metadata: meta("bitnami", "data"),
                spec: { interval: "1h", type: "oci", url: "oci://registry-1.docker.io/bitnamicharts" },
            },
        ),
        "platform/namespaces.yaml": y(
            { apiVersion: "v1", kind: "Namespace", metadata: meta("data") },
            { apiVersion: "v1", kind: "Namespace", metadata: meta("web") },
        ),
        "platform/metrics-server.yaml": y(
            {
                apiVersion: "v1",
                kind: "ConfigMap",
                metadata: meta("metrics-server-values", "kube-system"),
                data: { "values.yaml": stringify({ replicas: 2, args: ["--kubelet-insecure-tls"] }) },
            },
            {
                apiVersion: "helm.toolkit.fluxcd.io/v2",
                kind: "HelmRelease",
                metadata: meta("metrics-server", "kube-system"),
                spec: {
                    interval: "1h",
                    chart: {
                        spec: {
                            chart: "metrics-server",
                            version: "3.x",
                            sourceRef: { kind: "HelmRepository", name: "metrics-server" },
                        },
                    },
                    valuesFrom: [{ kind: "ConfigMap", name: "metrics-server-values" }],
                },
            },
        ),
        "platform/data/redis.yaml": y({
            apiVersion: "helm.toolkit.fluxcd.io/v2",
            kind: "HelmRelease",
            metadata: meta("cache", "data"),
            spec: {
                interval: "1h",
                releaseName: "cache",
                chart: {
                    spec: {
                        chart: "redis",
                        version: ">=23.0.0 <24.0.0",
                        sourceRef: { kind: "HelmRepository", name: "bitnami" },
                    },
                },
                values: { architecture: "standalone", auth: { enabled: false } },
            },
        }),
        "platform/monitoring.yaml": y(ks("monitoring", { path: "./monitoring" })),
        "monitoring/kustomization.yaml": stringify({
            resources: ["exporter.yaml"],
            images: [{ name: "quay.io/prometheus/node-exporter", newTag: "v1.8.2" }],
        }),
        "monitoring/exporter.yaml": y(
            deployment("node-exporter", "kube-system", [
                { name: "exporter", image: "quay.io/prometheus/node-exporter:v1.8.0" },
            ]),
        ),
        "web/base/kustomization.yaml": stringify({ resources: ["shop.yaml"] }),
        "web/base/shop.yaml": y(
            deployment(
                "shop",
                "default",
                [{ name: "shop", image: "nginx:1.27.3" }],
                [{ name: "wait", image: "busybox:1.36", command: "sh" } as unknown as Record<string, string>],
            ),
        ),
        "web/eu/kustomization.yaml": stringify({ resources: ["../base"] }),
    };
}

/** Our own fleet on disk, with a cache holding its charts (metrics-server 3.13.1, redis 23.1.1). */
export function ownFleet(label = "own-fleet"): Fleet {
    if (!corpusAvailable()) throw new Error("the corpus is not at hand");
    const work = tempDir(label);
    const dir = path.join(work, "fleet");
    writeFiles(dir, ownFleetFiles());
    const cache = path.join(work, "charts");
    const chart = (name: string, file: string) => corpusFile("charts", name, file);
    cacheChart(
        cache,
        "https://kubernetes-sigs.github.io/metrics-server",
        "metrics-server",
        "3.13.1",
        chart("metrics-server", "metrics-server-3.13.1.tgz"),
    );
    cacheChart(
        cache,
        "oci://registry-1.docker.io/bitnamicharts",
        "redis",
        "23.1.1",
        chart("redis", "redis-23.1.1.tgz"),
    );
    const podinfo = corpusFile("fleets", "charts", "podinfo-6.14.1.tgz");
    cacheChart(cache, "oci://ghcr.io/stefanprodan/charts", "podinfo", "6.14.1", podinfo);
    return { dir, cache, catalogArgs: fluxCatalog(work, cache) };
}
