import * as assert from "assert";
import * as fs from "fs";
import fc from "fast-check";
import {
    decodeFlat,
    DEFAULT_MIRRORS_FILE,
    encodeFlat,
    flatRepositoryName,
    isChinaHost,
    loadMirrors,
    Mirrors,
    MirrorError,
    parseMirrors,
    prefixNamespaces,
    rewriteChartSource,
    rewriteImage,
    rewritePrefix,
    rewriteReference,
} from "../../core/mirrors";
import { mirrorVars } from "../../stacks/gitops-inputs";
import { format, nameOf, parseNormalizedNamed, Reference } from "../../core/reference";
import { SourceError } from "../../core/yaml-source";

const VARS = { chinaRegistry: "crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com", registryNamespace: "platform" };
const CHINA = VARS.chinaRegistry;

function mirrorsWith(targets: string, upstreams: string, extraHosts: string[] = []): Mirrors {
    const text = [
        "version: 1",
        "chinaHosts:",
        '  - "{{ chinaRegistry }}"',
        ...extraHosts.map((h) => `  - "${h}"`),
        "targets:",
        targets,
        "upstreams:",
        upstreams,
        "charts:",
        "  default: acr",
    ].join("\n");
    return parseMirrors(text, "mirrors.yaml", VARS);
}

const ACR_FLAT =
    '  acr:\n    kind: registry\n    host: "{{ chinaRegistry }}"\n    namespace: "{{ registryNamespace }}"\n    layout: flat';
const ACR_NESTED =
    '  acr:\n    kind: registry\n    host: "{{ chinaRegistry }}"\n    namespace: mirror\n    layout: nested';

function loadError(text: string): string {
    try {
        parseMirrors(text, "gitops/mirrors.yaml", VARS);
    } catch (e) {
        if (e instanceof SourceError) return e.message;
        throw e;
    }
    assert.fail("expected the mirrors file to be rejected");
}

describe("mirrors", () => {
    const mirrors = loadMirrors(DEFAULT_MIRRORS_FILE, VARS);

    describe("the shipped gitops/mirrors.yaml", () => {
        it("sends every listed upstream and the default to the ACR EE China instance", () => {
            for (const host of [
                "docker.io",
                "registry.k8s.io",
                "k8s.gcr.io",
                "gcr.io",
                "quay.io",
                "ghcr.io",
                "public.ecr.aws",
                "mcr.microsoft.com",
            ]) {
                assert.strictEqual(mirrors.upstreams.get(host), "china-acr", host);
            }
            assert.strictEqual(mirrors.defaultTarget, "china-acr");
            assert.strictEqual((mirrors.targets.get("china-acr") as any).host, CHINA);
        });

        it("ships no dead mirror", () => {
            const active = fs
                .readFileSync(DEFAULT_MIRRORS_FILE, "utf8")
                .split("\n")
                .filter((l) => !l.trim().startsWith("#"));
            assert.ok(!active.some((l) => l.includes("azk8s.cn")));
        });

        it("knows which hosts are inside China", () => {
            assert.ok(isChinaHost(mirrors, CHINA));
            assert.ok(isChinaHost(mirrors, "other-registry.cn-beijing.cr.aliyuncs.com"));
            assert.ok(isChinaHost(mirrors, "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn"));
            assert.ok(
                !isChinaHost(mirrors, "x-registry.cn-hongkong.cr.aliyuncs.com"),
                "Hong Kong is outside the border",
            );
            assert.ok(!isChinaHost(mirrors, "123456789012.dkr.ecr.eu-central-1.amazonaws.com"));
            assert.ok(!isChinaHost(mirrors, "docker.io"));
            assert.ok(!isChinaHost(mirrors, "amazonaws.com.cn.evil.example"));
        });

        it("resolves the China registry from the china stack file when no outputs are given", () => {
            assert.deepStrictEqual(mirrorVars({ stacksDir: "stacks" }), VARS);
        });
    });

    describe("rewriting images", () => {
        it("maps host and path into the ACR EE namespace and keeps tag and digest", () => {
            const digest = "sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1";
            assert.strictEqual(
                rewriteImage(mirrors, `registry.k8s.io/ingress-nginx/controller:v1.15.1@${digest}`),
                `${CHINA}/platform/registry.k8s.io_s_ingress-nginx_s_controller:v1.15.1@${digest}`,
            );
            assert.strictEqual(rewriteImage(mirrors, "busybox"), `${CHINA}/platform/docker.io_s_library_s_busybox`);
            assert.strictEqual(
                rewriteImage(mirrors, "ghcr.io/oliver006/redis_exporter:v1.86.0"),
                `${CHINA}/platform/ghcr.io_s_oliver006_s_redis_u_exporter:v1.86.0`,
            );
        });

        it("leaves references already inside China alone", () => {
            const inside = "registry.cn-hangzhou.aliyuncs.com/acme/app:1.0";
            assert.strictEqual(rewriteImage(mirrors, inside), inside);
        });

        it("keeps flat names within ACR EE's 64 characters, ending in a hash of the full name", () => {
            const long = `quay.io/${"very-long-organisation-name/".repeat(3)}image`;
            const name = flatRepositoryName(long, 64);
            assert.ok(name.length <= 64, name);
            assert.match(name, /^quay\.io_s_very-long-organisation-name_s_ve.*-[0-9a-f]{12}-image$/);
            assert.notStrictEqual(flatRepositoryName(long + "2", 64), name);
        });

        it("supports prefix and host-swap mirrors", () => {
            const m = mirrorsWith(
                `${ACR_FLAT}\n  dao:\n    kind: prefix\n    host: m.daocloud.io\n  dockerswap:\n    kind: hostSwap\n    host: docker.m.daocloud.io`,
                "  docker.io: dockerswap\n  quay.io: dao\n  default: acr",
                ["m.daocloud.io", "docker.m.daocloud.io"],
            );
            assert.strictEqual(rewriteImage(m, "nginx:1.27"), "docker.m.daocloud.io/library/nginx:1.27");
            assert.strictEqual(
                rewriteImage(m, "quay.io/jetstack/cert-manager-controller:v1.16.0"),
                "m.daocloud.io/quay.io/jetstack/cert-manager-controller:v1.16.0",
            );
        });
    });

    describe("properties", () => {
        const component = fc
            .stringMatching(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/)
            .filter((s) => s.length > 0 && s.length <= 24);
        const upstream: fc.Arbitrary<Reference> = fc
            .record({
                domain: fc.oneof(
                    fc.constantFrom(
                        "docker.io",
                        "quay.io",
                        "ghcr.io",
                        "registry.k8s.io",
                        "gcr.io",
                        "public.ecr.aws",
                        "localhost:5000",
                        "registry.example.com:8443",
                        "Example.com",
                    ),
                    fc
                        .stringMatching(/^[a-z0-9]+(\.[a-z0-9]+){1,2}$/)
                        .filter((s) => s.length <= 30 && !s.endsWith(".cn")),
                ),
                path: fc.array(component, { minLength: 1, maxLength: 4 }).map((c) => c.join("/")),
                tag: fc.option(fc.stringMatching(/^[\w][\w.-]{0,15}$/), { nil: undefined }),
                digest: fc.option(
                    fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`),
                    { nil: undefined },
                ),
            })
            .map((r) =>
                parseNormalizedNamed(
                    format({ domain: r.domain, path: r.path, tag: r.tag, digest: r.digest } as Reference),
                ),
            );
        const layouts: [string, Mirrors][] = [
            ["flat (ACR EE)", mirrorsWith(ACR_FLAT, "  default: acr")],
            ["nested (ECR)", mirrorsWith(ACR_NESTED, "  default: acr")],
            [
                "prefix",
                mirrorsWith(
                    `${ACR_FLAT}\n  dao:\n    kind: prefix\n    host: m.daocloud.io`,
                    "  localhost:5000: acr\n  registry.example.com:8443: acr\n  Example.com: acr\n  default: dao",
                    ["m.daocloud.io"],
                ),
            ],
        ];

        for (const [label, m] of layouts) {
            it(`is injective: different upstream repositories never share a target (${label})`, () => {
                fc.assert(
                    fc.property(upstream, upstream, (a, b) => {
                        fc.pre(nameOf(a) !== nameOf(b));
                        assert.notStrictEqual(nameOf(rewriteReference(m, a)), nameOf(rewriteReference(m, b)));
                    }),
                    { numRuns: 1000 },
                );
            });

            it(`keeps tags and digests, and rewriting twice equals rewriting once (${label})`, () => {
                fc.assert(
                    fc.property(upstream, (ref) => {
                        const once = rewriteReference(m, ref);
                        assert.strictEqual(once.tag, ref.tag);
                        assert.strictEqual(once.digest, ref.digest);
                        assert.ok(isChinaHost(m, once.domain), `${format(once)} is inside China`);
                        assert.deepStrictEqual(rewriteReference(m, once), once);
                        assert.deepStrictEqual(
                            parseNormalizedNamed(format(once)),
                            once,
                            "the rewrite is a valid reference",
                        );
                    }),
                    { numRuns: 500 },
                );
            });
        }

        it("decodes every flat name back to the upstream name", () => {
            fc.assert(
                fc.property(upstream, (ref) => {
                    assert.strictEqual(decodeFlat(encodeFlat(nameOf(ref))), nameOf(ref));
                }),
                { numRuns: 500 },
            );
        });
    });

    describe("chart sources", () => {
        it("moves an https Helm repository chart to an OCI repository in the China registry", () => {
            assert.deepStrictEqual(
                rewriteChartSource(mirrors, {
                    url: "https://charts.jetstack.io",
                    chart: "cert-manager",
                    version: "v1.16.2",
                }),
                {
                    type: "oci",
                    url: `oci://${CHINA}/platform/cert-manager`,
                    chart: "cert-manager",
                    version: "v1.16.2",
                },
            );
            // helm push names the repository after the chart, and ACR EE allows one level below the namespace.
            const kps = rewriteChartSource(mirrors, {
                url: "https://prometheus-community.github.io/helm-charts/",
                chart: "kube-prometheus-stack",
            }).url;
            assert.strictEqual(kps, `oci://${CHINA}/platform/kube-prometheus-stack`);
        });

        it("moves an oci:// chart, whether or not the URL names the chart", () => {
            const expected = `oci://${CHINA}/platform/flux2`;
            assert.strictEqual(
                rewriteChartSource(mirrors, { url: "oci://ghcr.io/fluxcd-community/charts/flux2", chart: "flux2" }).url,
                expected,
            );
            assert.strictEqual(
                rewriteChartSource(mirrors, { url: "oci://ghcr.io/fluxcd-community/charts", chart: "flux2" }).url,
                expected,
            );
        });

        it("keeps a chart source already inside China", () => {
            const src = { url: `oci://${CHINA}/platform/charts/app`, chart: "app", version: "1.0.0" };
            assert.deepStrictEqual(rewriteChartSource(mirrors, src), { type: "oci", ...src });
        });

        it("can use an https Helm mirror inside China", () => {
            const m = parseMirrors(
                [
                    "version: 1",
                    "chinaHosts: [helm.example.cn, '{{ chinaRegistry }}']",
                    "targets:",
                    ACR_FLAT,
                    "  helm-cn:\n    kind: helmMirror\n    host: helm.example.cn\n    urlPrefix: https://helm.example.cn/mirror",
                    "upstreams:\n  default: acr",
                    "charts:\n  default: helm-cn",
                ].join("\n"),
                "mirrors.yaml",
                VARS,
            );
            assert.deepStrictEqual(
                rewriteChartSource(m, {
                    url: "https://kubernetes.github.io/ingress-nginx",
                    chart: "ingress-nginx",
                    version: "4.15.1",
                }),
                {
                    type: "https",
                    url: "https://helm.example.cn/mirror/kubernetes.github.io/ingress-nginx",
                    chart: "ingress-nginx",
                    version: "4.15.1",
                },
            );
        });

        it("never lets a chart and an image share a repository", () => {
            // A flat image name always carries its encoded host ("_s_", "."); a chart keeps its bare name.
            fc.assert(
                fc.property(
                    fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/),
                    fc.constantFrom("docker.io", "quay.io", "ghcr.io", "charts.example.com"),
                    (name, host) => {
                        const chart = rewriteChartSource(mirrors, { url: `https://${host}`, chart: name }).url.replace(
                            "oci://",
                            "",
                        );
                        const image = nameOf(rewriteReference(mirrors, parseNormalizedNamed(`${host}/${name}`)));
                        assert.notStrictEqual(chart, image);
                    },
                ),
            );
        });
    });

    describe("invalid mirrors files", () => {
        const base = (targets: string, upstreams = "  default: acr", hosts = '  - "{{ chinaRegistry }}"') =>
            `version: 1\nchinaHosts:\n${hosts}\ntargets:\n${targets}\nupstreams:\n${upstreams}\ncharts:\n  default: acr\n`;

        it("refuses the dead Azure China mirrors", () => {
            const msg = loadError(
                base(
                    `${ACR_FLAT}\n  azure:\n    kind: hostSwap\n    host: dockerhub.azk8s.cn`,
                    "  docker.io: azure\n  default: acr",
                    '  - "{{ chinaRegistry }}"\n  - "*.azk8s.cn"',
                ),
            );
            assert.match(msg, /^gitops\/mirrors\.yaml:4: chinaHosts\[1\]: "\*\.azk8s\.cn" is a dead mirror/m);
            assert.match(
                msg,
                /^gitops\/mirrors\.yaml:\d+: targets\.azure\.host: "dockerhub\.azk8s\.cn" is a dead mirror/m,
            );
        });

        it("refuses a target whose host is not inside China", () => {
            const msg = loadError(
                base(`${ACR_FLAT}\n  hub:\n    kind: prefix\n    host: mirror.gcr.io`, "  default: hub"),
            );
            assert.match(
                msg,
                /gitops\/mirrors\.yaml:\d+: targets\.hub\.host: "mirror\.gcr\.io" is not inside China according to chinaHosts, so pulls through it would cross the border; add the host to chinaHosts/,
            );
        });

        it("refuses a host-swap target serving two upstreams, which would merge them", () => {
            const msg = loadError(
                base(
                    `${ACR_FLAT}\n  swap:\n    kind: hostSwap\n    host: "{{ chinaRegistry }}"`,
                    "  docker.io: swap\n  quay.io: swap\n  default: acr",
                ),
            );
            assert.match(
                msg,
                /targets\.swap: the hostSwap target serves docker\.io and quay\.io, so different upstream repositories with the same path would land on the same image/,
            );
        });

        it("names an unknown target and lists the known ones", () => {
            const msg = loadError(base(ACR_FLAT, "  docker.io: acrr\n  default: acr"));
            assert.match(
                msg,
                /gitops\/mirrors\.yaml:\d+: upstreams\.docker\.io: names the unknown target "acrr"; use one of: acr/,
            );
        });

        it("requires a default", () => {
            const msg = loadError(base(ACR_FLAT, "  docker.io: acr"));
            assert.match(msg, /upstreams: has no default; add default: <target>/);
        });

        it("rejects an unknown placeholder", () => {
            const msg = loadError(base('  acr:\n    kind: registry\n    host: "{{ chinaRegistr }}"\n    namespace: x'));
            assert.match(msg, /targets\.acr\.host: uses the unknown placeholder \{\{ chinaRegistr \}\}/);
        });

        it("names the line of a YAML syntax error", () => {
            assert.match(loadError("version: 1\nchinaHosts: [a\n"), /^gitops\/mirrors\.yaml:\d+: invalid YAML: /);
        });
    });

    describe("prefix mappings (prefixes:)", () => {
        const withPrefixes = (prefixes: string, targets = ACR_FLAT, upstreams = "  default: acr") =>
            `version: 1\nchinaHosts:\n  - "{{ chinaRegistry }}"\n  - m.daocloud.io\ntargets:\n${targets}\n  dao:\n    kind: prefix\n    host: m.daocloud.io\nupstreams:\n${upstreams}\ncharts:\n  default: acr\nprefixes:\n${prefixes}\n`;
        const m = parseMirrors(
            withPrefixes(
                [
                    '  "docker.io/istio": {target: acr, namespace: istio}',
                    '  "index.docker.io/istio/sub": {target: acr, namespace: istio-sub}',
                    '  "docker.elastic.co/elasticsearch": {target: acr, namespace: elasticsearch}',
                ].join("\n"),
            ),
            "mirrors.yaml",
            VARS,
        );

        it("puts every image under a prefix into its namespace, the rest of the name kept", () => {
            assert.strictEqual(rewriteImage(m, "docker.io/istio/pilot:1.22.0"), `${CHINA}/istio/pilot:1.22.0`);
            assert.strictEqual(rewriteImage(m, "istio/proxyv2:1.22.0"), `${CHINA}/istio/proxyv2:1.22.0`);
            // the longest prefix wins; index.docker.io is docker.io
            assert.strictEqual(rewriteImage(m, "docker.io/istio/sub/x:1"), `${CHINA}/istio-sub/x:1`);
            // outside every prefix: the flat encoding under the target's own namespace, as before
            assert.strictEqual(
                rewriteImage(m, "docker.io/istiox/pilot:1"),
                `${CHINA}/platform/${encodeFlat("docker.io/istiox/pilot")}`.concat(":1"),
            );
        });

        it("refuses a name a flat namespace cannot hold, naming the prefix to add", () => {
            assert.throws(
                () => rewriteImage(m, "docker.io/istio/a/b:1"),
                (e: Error) =>
                    e instanceof MirrorError &&
                    /under the prefix docker\.io\/istio, whose namespace istio .* holds one repository level.*map docker\.io\/istio\/a as a prefix of its own/.test(
                        e.message,
                    ),
            );
        });

        it("rewrites a prefix setting so that the operator's join lands on the mapped names", () => {
            const hub = rewritePrefix(m, "docker.io", "istio", "hub");
            assert.strictEqual(hub, `${CHINA}/istio`);
            assert.strictEqual(`${hub}/pilot:1.22.0`, rewriteImage(m, "docker.io/istio/pilot:1.22.0"));
            // a bare host: <host>/<org>/<name> is namespace/repository when <org> is mapped to itself
            const host = rewritePrefix(m, "docker.elastic.co", "", "container-registry");
            assert.strictEqual(
                `${host}/elasticsearch/elasticsearch:9.1.0`,
                rewriteImage(m, "docker.elastic.co/elasticsearch/elasticsearch:9.1.0"),
            );
        });

        it("refuses an unmapped prefix on a flat registry with the mapping that would work", () => {
            assert.throws(
                () => rewritePrefix(m, "quay.io", "jetstack", "ConfigMap x /data/hub"),
                /ConfigMap x \/data\/hub: the registry prefix quay\.io\/jetstack is joined with image names at runtime.*prefixes: \{"quay\.io\/jetstack": \{target: acr, namespace: jetstack\}\}/,
            );
            assert.throws(
                () => rewritePrefix(m, "ghcr.io", "", "IMAGE_REGISTRY"),
                /the registry host setting ghcr\.io is joined with <org>\/<name> at runtime.*prefixes: \{"ghcr\.io\/<org>"/,
            );
        });

        it("keeps paths through targets that keep them, so no mapping is needed", () => {
            const dao = parseMirrors(withPrefixes("  {}", ACR_FLAT, "  quay.io: dao\n  default: acr"), "m.yaml", VARS);
            const hub = rewritePrefix(dao, "quay.io", "jetstack", "hub");
            assert.strictEqual(hub, "m.daocloud.io/quay.io/jetstack");
            assert.strictEqual(`${hub}/cert-manager:v1`, rewriteImage(dao, "quay.io/jetstack/cert-manager:v1"));
            const nested = parseMirrors(withPrefixes("  {}", ACR_NESTED), "m.yaml", VARS);
            const h2 = rewritePrefix(nested, "quay.io", "", "IMAGE_REGISTRY");
            assert.strictEqual(
                `${h2}/jetstack/cert-manager:v1`,
                rewriteImage(nested, "quay.io/jetstack/cert-manager:v1"),
            );
        });

        it("lists the namespaces the stacks create on the China registry", () => {
            assert.deepStrictEqual(prefixNamespaces(m, CHINA), ["elasticsearch", "istio", "istio-sub"]);
            assert.deepStrictEqual(prefixNamespaces(m, "other.example.cn"), []);
            assert.deepStrictEqual(prefixNamespaces(mirrors, CHINA), [], "the shipped file maps no prefix");
        });

        it("refuses bad mappings, naming key and fix", () => {
            const msg = loadError(
                withPrefixes(
                    [
                        '  "docker.io": {target: acr, namespace: hub}',
                        '  "quay.io/a": {target: nope, namespace: a}',
                        '  "quay.io/b": {target: dao, namespace: b}',
                        '  "quay.io/c": {target: acr, namespace: platform}',
                        '  "quay.io/d": {target: acr, namespace: same}',
                        '  "quay.io/e": {target: acr, namespace: same}',
                        '  "quay.io/f": {target: acr, namespace: "Bad/NS"}',
                        '  "quay.io/g": {target: acr, namespace: g, extra: 1}',
                        '  "m.daocloud.io/x": {target: acr, namespace: x}',
                    ].join("\n"),
                ),
            );
            assert.match(
                msg,
                /prefixes\.docker\.io: "docker\.io" is not an upstream repository prefix; write a registry host and at least one path component/,
            );
            assert.match(msg, /prefixes\.quay\.io\/a\.target: names the unknown target "nope"/);
            assert.match(
                msg,
                /prefixes\.quay\.io\/b\.target: target "dao" is a prefix target, which keeps upstream paths already/,
            );
            assert.match(msg, /prefixes\.quay\.io\/c\.namespace: .*\/platform is already used by target acr/);
            assert.match(msg, /prefixes\.quay\.io\/e\.namespace: .*\/same is already used by prefix quay\.io\/d/);
            assert.match(msg, /prefixes\.quay\.io\/f\.namespace: "Bad\/NS" is not a registry namespace/);
            assert.match(msg, /prefixes\.quay\.io\/g\.extra: is not a prefix setting/);
            assert.match(msg, /is already inside China \(chinaHosts\)/);
        });
    });
});
