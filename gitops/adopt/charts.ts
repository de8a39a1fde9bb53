/**
 * The chart a fleet's HelmRelease installs, found in the chart cache: its source (a HelmRepository with
 * `chart.spec`, or an OCIRepository by `chartRef`) names the repository and the chart; its version or
 * semver range picks, among the archives of that chart in the cache, the highest one the range admits, as
 * source-controller picks from a repository's index (Masterminds semver: a range without a pre-release
 * admits no pre-release). On the china cluster that exact version is pinned: it is the one copied there.
 */
import * as fs from "fs";
import * as path from "path";
import * as semver from "semver";
import { archivePath, ChartRef, sha256File } from "../engine/charts";
import { readChartArchive } from "../values/chart";
import type { BuiltObject } from "../audit/flux";
import type { Doc } from "../objects/manifests";

export interface FleetChart {
    /** The upstream chart at the exact version the china cluster installs (repository: the parent path for OCI). */
    readonly ref: ChartRef;
    readonly archive: string;
    readonly sha256: string;
    /** The source object the HelmRelease names (HelmRepository or OCIRepository), as built. */
    readonly source: BuiltObject;
    /** How the HelmRelease names it. */
    readonly via: "chartRef" | "chart.spec";
    /** The range or tag the fleet asks for, for messages. */
    readonly wanted: string;
}

function find(objects: readonly BuiltObject[], kind: string, name: string, namespace: string): BuiltObject | undefined {
    return objects.find((o) => o.id.kind === kind && o.id.name === name && (o.id.namespace ?? namespace) === namespace);
}

/** Versions of `name` in the cache folder of `repository`, newest first. */
function cachedVersions(cacheDir: string, repository: string, name: string): string[] {
    const dir = path.dirname(archivePath(cacheDir, { repository, name, version: "0" }));
    if (!fs.existsSync(dir)) return [];
    const prefix = `${name}-`;
    return fs
        .readdirSync(dir)
        .filter((f) => f.startsWith(prefix) && f.endsWith(".tgz"))
        .map((f) => f.slice(prefix.length, -".tgz".length))
        .filter((v) => semver.valid(v, { loose: true }))
        .sort((a, b) => semver.rcompare(a, b, { loose: true }));
}

/** The newest cached version the fleet's version string admits: a range, an exact version or empty (latest). */
function pick(versions: readonly string[], wanted: string): string | undefined {
    const w = wanted.trim();
    if (w === "" || w === "*") return versions.find((v) => !semver.prerelease(v, { loose: true }));
    if (versions.includes(w)) return w;
    const range = semver.validRange(w, { loose: true });
    if (!range) return undefined;
    const includePrerelease = /-[0-9A-Za-z]/.test(w);
    return versions.find((v) => semver.satisfies(v, range, { loose: true, includePrerelease }));
}

/**
 * A folder of chart archives the user has (pulled elsewhere, carried in): the newest one of `name` the range
 * admits, by its own Chart.yaml, is added to the cache where `repository` serves it. Returns its version.
 */
function importArchive(
    dir: string,
    cacheDir: string,
    repository: string,
    name: string,
    wanted: string,
): string | undefined {
    if (!fs.existsSync(dir)) return undefined;
    const found = new Map<string, string>();
    for (const f of fs
        .readdirSync(dir)
        .filter((x) => x.endsWith(".tgz"))
        .sort()) {
        try {
            const c = readChartArchive(path.join(dir, f));
            if (c.name === name && semver.valid(c.version, { loose: true })) found.set(c.version, path.join(dir, f));
        } catch {
            // not a chart archive: not one of this release's
        }
    }
    const versions = [...found.keys()].sort((a, b) => semver.rcompare(a, b, { loose: true }));
    const version = pick(versions, wanted);
    if (!version) return undefined;
    const target = archivePath(cacheDir, { repository, name, version });
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(found.get(version)!, `${target}.tmp`);
    fs.renameSync(`${target}.tmp`, target);
    return version;
}

/** The chart a HelmRelease installs, or why adopt cannot tell (with the fix). */
export function fleetChart(
    hr: BuiltObject,
    objects: readonly BuiltObject[],
    cacheDir: string,
    archives?: string,
): FleetChart | { problem: string } {
    const namespace = hr.id.namespace ?? "default";
    const spec = hr.object.spec ?? {};
    let source: BuiltObject | undefined;
    let repository: string;
    let name: string;
    let wanted: string;
    let via: FleetChart["via"];
    if (spec.chartRef) {
        const kind = String(spec.chartRef.kind);
        source = find(objects, kind, String(spec.chartRef.name), spec.chartRef.namespace ?? namespace);
        if (!source) return { problem: `its chartRef ${kind} ${spec.chartRef.name} is not applied by this cluster` };
        if (kind !== "OCIRepository")
            return { problem: `its chartRef is a ${kind}; adopt moves charts of OCIRepositories and HelmRepositories` };
        const s: Doc = source.object.spec ?? {};
        const url = String(s.url ?? "").replace(/\/+$/, "");
        if (!url.startsWith("oci://")) return { problem: `its OCIRepository ${source.id.name} has no oci:// url` };
        if (typeof s.ref?.digest === "string")
            return {
                problem: `its OCIRepository ${source.id.name} is pinned to the digest ${s.ref.digest}, and which cached archive that digest is cannot be told offline; pin the version by tag or semver`,
            };
        name = url.slice(url.lastIndexOf("/") + 1);
        repository = url.slice(0, url.lastIndexOf("/"));
        wanted = typeof s.ref?.tag === "string" ? s.ref.tag : typeof s.ref?.semver === "string" ? s.ref.semver : "";
        via = "chartRef";
    } else if (spec.chart?.spec) {
        const cs: Doc = spec.chart.spec;
        const ref: Doc = cs.sourceRef ?? {};
        if (ref.kind !== "HelmRepository")
            return {
                problem: `its chart comes from a ${ref.kind ?? "source of no kind"} ${ref.name ?? ""}; adopt moves charts of HelmRepositories and OCIRepositories (publish the chart to a Helm repository or an OCI registry and point the HelmRelease at it)`,
            };
        source = find(objects, "HelmRepository", String(ref.name), ref.namespace ?? namespace);
        if (!source) return { problem: `its HelmRepository ${ref.name} is not applied by this cluster` };
        if (Array.isArray(cs.valuesFiles) && cs.valuesFiles.length)
            return { problem: `its chart uses valuesFiles (${cs.valuesFiles.join(", ")}), which adopt does not merge` };
        const url = String(source.object.spec?.url ?? "").replace(/\/+$/, "");
        name = String(cs.chart ?? "");
        repository = source.object.spec?.type === "oci" || url.startsWith("oci://") ? url : url;
        wanted = typeof cs.version === "string" ? cs.version : "";
        via = "chart.spec";
    } else return { problem: "it names no chart (neither spec.chart nor spec.chartRef)" };
    const label = `${repository} ${name}${wanted ? ` ${wanted}` : ""}`;
    let versions: string[];
    try {
        versions = cachedVersions(cacheDir, repository, name);
    } catch (e) {
        return { problem: (e as Error).message };
    }
    let version = pick(versions, wanted);
    if (!version && archives) version = importArchive(archives, cacheDir, repository, name, wanted);
    if (!version) {
        const where = path.dirname(archivePath(cacheDir, { repository, name, version: "0" }));
        return {
            problem: `no archive of ${label} in the chart cache${archives ? ` or ${archives}` : ""} (${versions.length ? `it holds ${versions.join(", ")}` : "none at all"}); give a folder of chart archives with --chart-archives, or put the chart there with: helm pull ${repository.startsWith("oci://") ? `${repository}/${name}` : `${name} --repo ${repository}`}${wanted ? ` --version '${wanted}'` : ""} -d ${where}`,
        };
    }
    const ref: ChartRef = { repository, name, version };
    const archive = archivePath(cacheDir, ref);
    try {
        const read = readChartArchive(archive);
        if (read.name !== name || read.version !== version)
            return { problem: `${archive} holds chart ${read.name} ${read.version}, not ${name} ${version}` };
    } catch (e) {
        return { problem: `${archive}: ${(e as Error).message}` };
    }
    return { ref, archive, sha256: sha256File(archive), source, via, wanted };
}
