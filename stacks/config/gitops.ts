/** crossborder:gitops and crossborder:flux — where Flux pulls the tree from, and when it is installed (components/flux). */
import { DEFAULT_MIRRORS_FILE, isChinaHost, loadMirrors, MirrorVars } from "../../core/mirrors";
import { mirrorVarsOf } from "./derived";
import { ANCHORED_TAG } from "../../core/reference";
import { key as k, readSecret, Scope } from "./reader";

export interface ArtifactConfig {
    /** Repository of the artifact inside the registry namespace (crossborder publish pushes it). @default "fleet" */
    readonly repository: string;
    /** The tag Flux follows. @default the side ("china") */
    readonly tag: string;
    /** Pin one published digest instead of following the tag (sha256:…). @default none */
    readonly digest?: string;
}

export interface GitopsConfig {
    /**
     * How Flux receives the tree: git (a GitRepository), or oci (china only: an OCIRepository in the China
     * registry, published by crossborder publish to the origin and replicated into China, so no Git host is
     * needed). @default "git"
     */
    readonly delivery: "git" | "oci";
    /** oci delivery: the artifact Flux reconciles. */
    readonly artifact: ArtifactConfig;
    /** git delivery: the Git URL Flux pulls the generated tree from (on china: a host inside China). "" with oci. */
    readonly url: string;
    /** @default "main" */
    readonly branch: string;
    /** @default "clusters/<side>" */
    readonly path: string;
    /**
     * How Flux authenticates to the Git host: none (a public repository), token (HTTPS basic auth with an
     * access token, the secret crossborder:gitopsToken) or ssh (a deploy key, the secret
     * crossborder:gitopsSshKey, with knownHosts). @default "none"
     */
    readonly auth: "none" | "token" | "ssh";
    /** HTTPS user name for token auth (most hosts accept any). @default "git" */
    readonly username: string;
    /** ssh auth: the Git host's known_hosts line(s). */
    readonly knownHosts?: string;
    /** The token or the private deploy key (a Pulumi secret), per auth. */
    readonly credential?: string;
    /**
     * china: namespaces the China registry's pull Secret is created in besides the catalog's releases' (those of
     * a fleet crossborder adopt moved, whose sources name the Secret). @default []
     */
    readonly pullSecretNamespaces: readonly string[];
}

export interface FluxConfig {
    /**
     * China side: the China registry holds Flux's chart and images (crossborder verify-mirror passed), so the
     * program may install Flux from it. Until then the install is skipped with a message. @default false
     */
    readonly mirrorVerified: boolean;
}

/**
 * Why a Git URL cannot serve the china cluster, or undefined: judged by the host the WHATWG URL parser
 * yields, against the same chinaHosts list the border audit uses (gitops/mirrors.yaml).
 */
function chinaGitProblem(url: string, vars: MirrorVars): string | undefined {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return `${JSON.stringify(url)} is not a URL`;
    }
    if (parsed.password || (parsed.username && parsed.protocol !== "ssh:"))
        return `${JSON.stringify(url)} carries credentials or a user before the host`;
    const mirrors = loadMirrors(DEFAULT_MIRRORS_FILE, vars);
    if (!isChinaHost(mirrors, parsed.host) && !isChinaHost(mirrors, parsed.hostname))
        return `${parsed.host} is not a host inside China`;
    return undefined;
}

function readAuth(
    s: Scope,
    raw: Record<string, unknown>,
    url: string,
): Pick<GitopsConfig, "auth" | "username" | "knownHosts" | "credential"> {
    const { r } = s;
    const auth = r.oneOf(k("gitops.auth"), raw.auth, ["none", "token", "ssh"] as const, "none");
    const username = r.string(k("gitops.username"), raw.username, {
        default: "git",
        pattern: /^[^\s:]{1,128}$/,
        hint: "an HTTPS user name",
    });
    if (auth === "token" && url && !url.startsWith("https://"))
        r.issue(
            k("gitops.auth"),
            "token authenticates over HTTPS, but gitops.url is not https://",
            "use an https:// URL, or auth: ssh for an ssh:// URL",
        );
    if (auth === "ssh" && url && !url.startsWith("ssh://"))
        r.issue(
            k("gitops.auth"),
            "ssh authenticates with a deploy key over SSH, but gitops.url is not ssh://",
            "use an ssh:// URL, or auth: token for an https:// URL",
        );
    const knownHosts =
        auth === "ssh"
            ? r.string(k("gitops.knownHosts"), raw.knownHosts, {
                  pattern: /^\S+ (ssh-|ecdsa-)\S+ \S+/,
                  hint: "the Git host's known_hosts line, e.g. from: ssh-keyscan -t ecdsa codeup.aliyun.com",
              })
            : undefined;
    const credential =
        auth === "token"
            ? readSecret(s, "gitopsToken", {
                  required: true,
                  what: "an access token with read access to the repository",
                  why: "gitops.auth is token",
              })
            : auth === "ssh"
              ? readSecret(s, "gitopsSshKey", {
                    required: true,
                    what: "the private deploy key (read-only) of the repository",
                    why: "gitops.auth is ssh",
                })
              : undefined;
    return { auth, username, ...(knownHosts ? { knownHosts } : {}), ...(credential ? { credential } : {}) };
}

function readArtifact(s: Scope, raw: unknown): ArtifactConfig {
    const { r } = s;
    const a = r.object(k("gitops.artifact"), raw, ["repository", "tag", "digest"]);
    const digest =
        a.digest === undefined
            ? undefined
            : r.string(k("gitops.artifact.digest"), a.digest, {
                  pattern: /^sha256:[a-f0-9]{64}$/,
                  hint: "the sha256:… digest crossborder publish printed",
              });
    return {
        repository: r.string(k("gitops.artifact.repository"), a.repository, {
            default: "fleet",
            pattern: /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
            hint: "a repository name such as fleet",
        }),
        tag: r.string(k("gitops.artifact.tag"), a.tag, {
            default: s.side,
            pattern: ANCHORED_TAG,
            hint: "a tag such as china",
        }),
        ...(digest ? { digest } : {}),
    };
}

/** The tree folder the root Kustomization applies. */
function readTreePath(s: Scope, raw: unknown): string {
    return s.r.string(k("gitops.path"), raw, {
        default: `clusters/${s.side}`,
        pattern: /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/,
        hint: `a relative path such as clusters/${s.side}`,
    });
}

/** oci delivery: only the path and the artifact matter; Git settings are refused as unused. */
function readOciDelivery(s: Scope, raw: Record<string, unknown>, artifact: ArtifactConfig): GitopsConfig {
    const { r } = s;
    for (const key of ["url", "auth", "username", "knownHosts", "branch"])
        if (raw[key] !== undefined)
            r.issue(
                k(`gitops.${key}`),
                "is not used with delivery: oci (Flux reads the tree from the China registry, not from Git)",
                "remove it, or use delivery: git",
            );
    return {
        delivery: "oci",
        artifact,
        url: "",
        branch: "main",
        path: readTreePath(s, raw.path),
        auth: "none",
        username: "git",
        pullSecretNamespaces: readPullSecretNamespaces(s, raw.pullSecretNamespaces),
    };
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** gitops.pullSecretNamespaces: Kubernetes namespace names, china only. */
function readPullSecretNamespaces(s: Scope, raw: unknown): string[] {
    const { r } = s;
    if (raw !== undefined && !s.china) {
        r.issue(
            k("gitops.pullSecretNamespaces"),
            "is set on the global side, which pulls from upstream without the China registry's Secret",
            "remove it",
        );
        return [];
    }
    return r.list(k("gitops.pullSecretNamespaces"), raw as never, []).flatMap((v, i) => {
        if (typeof v === "string" && NAMESPACE.test(v)) return [v];
        r.issue(
            k(`gitops.pullSecretNamespaces[${i}]`),
            `${JSON.stringify(v)} is not a namespace name`,
            "write the namespace names crossborder adopt printed, e.g. [cert-manager, podinfo]",
        );
        return [];
    });
}

export function readGitops(
    s: Scope,
    registry: { instanceName: string; namespace: string },
    aliRegion: string,
    aliMainland: boolean,
): GitopsConfig {
    const { r } = s;
    const raw = r.object(k("gitops"), s.top.gitops, [
        "delivery",
        "artifact",
        "url",
        "branch",
        "path",
        "auth",
        "username",
        "knownHosts",
        "pullSecretNamespaces",
    ]);
    const delivery = r.oneOf(k("gitops.delivery"), raw.delivery, ["git", "oci"] as const, "git");
    if (delivery === "oci" && !s.china)
        r.issue(
            k("gitops.delivery"),
            "oci delivers the tree through the China registry, which only the china side reads",
            "use delivery: git on the global side",
        );
    const artifact = readArtifact(s, raw.artifact);
    if (delivery === "oci") return readOciDelivery(s, raw, artifact);
    const url = r.string(k("gitops.url"), raw.url, {
        pattern: /^(https:\/\/|ssh:\/\/)[^\s]+$/,
        hint: s.china
            ? "an https:// or ssh:// Git URL reachable from inside China (e.g. a Codeup or self-hosted repository)"
            : "an https:// or ssh:// Git URL",
    });
    // Judged against the China host list only when the registry it fills in is itself valid (else that is the issue).
    if (s.china && url && registry.instanceName && registry.namespace && aliMainland) {
        const problem = chinaGitProblem(url, mirrorVarsOf({ registry, alicloud: { region: aliRegion } }));
        if (problem)
            r.issue(
                k("gitops.url"),
                problem,
                "the china cluster's Flux pulls its tree from this URL on every reconcile: use a Git host inside mainland China (listed in gitops/mirrors.yaml chinaHosts), such as a Codeup or self-hosted repository",
            );
    }
    return {
        delivery,
        artifact,
        url,
        branch: r.string(k("gitops.branch"), raw.branch, {
            default: "main",
            pattern: /^[A-Za-z0-9._/-]+$/,
            hint: "a branch name",
        }),
        path: readTreePath(s, raw.path),
        ...readAuth(s, raw, url),
        pullSecretNamespaces: readPullSecretNamespaces(s, raw.pullSecretNamespaces),
    };
}

export function readFlux(s: Scope): FluxConfig {
    const raw = s.r.object(k("flux"), s.top.flux, ["mirrorVerified"]);
    if (!s.china && raw.mirrorVerified !== undefined)
        s.r.issue(
            k("flux.mirrorVerified"),
            "is set on the global side, which installs Flux from upstream",
            "remove it",
        );
    return { mirrorVerified: s.r.bool(k("flux.mirrorVerified"), raw.mirrorVerified, false) };
}
