/**
 * Host facts in one place: which registry and code hosts are outside mainland China, and which DNS
 * suffixes are operated only inside it. mirrors.yaml's chinaHosts is checked against them, so that no
 * configuration can declare the outside world to be China, and the image finder uses the registry list
 * to tell an image from a path.
 *
 * Sources: the registries' own documentation (Docker Hub, Quay, GHCR, registry.k8s.io, gcr.io and
 * *.pkg.dev, public.ecr.aws, mcr.microsoft.com); Alibaba ACR EE endpoints are
 * `<instance>-registry[-vpc].<region>.cr.aliyuncs.com`, and the Alibaba regions inside mainland China are
 * the `mainland: true` ones of core/cloud-facts.yaml (cn-hongkong is outside); every aws-cn endpoint is
 * under amazonaws.com.cn (AWS China getting-started guide).
 */
import { cloudFacts } from "./cloud-facts";

/**
 * Registries outside China that images are commonly pulled from. A reference on one of these hosts is an
 * image even without a tag; elsewhere a tag or digest is needed to tell an image from a path.
 */
export const KNOWN_REGISTRIES: readonly string[] = [
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "quay.io",
    "gcr.io",
    "*.gcr.io",
    "*.pkg.dev",
    "registry.k8s.io",
    "k8s.gcr.io",
    "ghcr.io",
    "public.ecr.aws",
    "mcr.microsoft.com",
    "*.azurecr.io",
    "registry.gitlab.com",
    "nvcr.io",
    "docker.elastic.co",
    "cr.fluentbit.io",
    "reg.kyverno.io",
    "registry.opensource.zalan.do",
    "container-registry.oracle.com",
    "registry.access.redhat.com",
    "registry.redhat.io",
];

/** Hosts and host patterns outside mainland China: registries, code hosts, chart hosts. */
export const KNOWN_OUTSIDE: readonly string[] = [
    ...KNOWN_REGISTRIES,
    "*.docker.io",
    "*.docker.com",
    "*.quay.io",
    "*.k8s.io",
    "github.com",
    "*.github.com",
    "*.github.io",
    "*.githubusercontent.com",
    "gitlab.com",
    "*.gitlab.com",
    "bitbucket.org",
    "*.bitbucket.org",
    "charts.jetstack.io",
    "*.amazonaws.com",
    "*.cn-hongkong.cr.aliyuncs.com",
];

/** Amazon ECR registries of every account and region, both partitions. */
const ECR_HOST = /^[0-9]{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$/;

/** `host` matches `pattern`: an exact host, or `*.suffix` (any depth below the suffix). */
export function hostMatches(pattern: string, host: string): boolean {
    const h = host.toLowerCase();
    const p = pattern.toLowerCase();
    return p.startsWith("*.") ? h.endsWith(p.slice(1)) && h.length > p.length - 1 : h === p;
}

/** Whether `host` is one of `patterns` (or an ECR registry host, which every list includes). */
export function matchesAnyHost(patterns: readonly string[], host: string): boolean {
    return ECR_HOST.test(host.toLowerCase()) || patterns.some((p) => hostMatches(p, host));
}

/** Whether two host patterns can name the same host. */
export function patternsOverlap(a: string, b: string): boolean {
    const wa = a.startsWith("*.");
    const wb = b.startsWith("*.");
    if (!wa && !wb) return a.toLowerCase() === b.toLowerCase();
    if (wa && !wb) return hostMatches(a, b);
    if (!wa && wb) return hostMatches(b, a);
    const sa = a.slice(2).toLowerCase();
    const sb = b.slice(2).toLowerCase();
    return sa === sb || sa.endsWith(`.${sb}`) || sb.endsWith(`.${sa}`);
}

/** DNS suffixes whose every host is operated inside mainland China. */
export function chinaOperatedSuffixes(): string[] {
    const acr = [...cloudFacts().alicloud.values()].filter((r) => r.mainland).map((r) => `${r.name}.cr.aliyuncs.com`);
    return [...acr, "amazonaws.com.cn"].sort();
}

/** `*.S` is a fair China pattern only when S is (or lies under) a suffix operated inside mainland China. */
export function isChinaOperatedWildcard(pattern: string): boolean {
    const s = pattern.slice(2).toLowerCase();
    return chinaOperatedSuffixes().some((suffix) => s === suffix || s.endsWith(`.${suffix}`));
}

/** An ACR EE endpoint's region, or undefined when the host is not an ACR EE endpoint. */
export function acrRegionOf(host: string): string | undefined {
    return /^[a-z0-9][a-z0-9-]*\.([a-z0-9-]+)\.cr\.aliyuncs\.com$/.exec(host.toLowerCase())?.[1];
}
