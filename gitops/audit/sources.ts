/**
 * Where a Flux source fetches from, judged by the host the WHATWG URL parser yields (what Go's net/url and
 * every HTTP client see), never by a pattern over the text: `https://evil.example.com?x=@codeup.aliyun.com/`
 * is a request to evil.example.com.
 */
import { isChinaHost, Mirrors } from "../../core/mirrors";
import { Doc, RenderedObject } from "../objects/manifests";

export const SOURCE_KINDS = [
    "GitRepository",
    "OCIRepository",
    "HelmRepository",
    "Bucket",
    "HelmChart",
    "ExternalArtifact",
];

/** A Flux source object (source.toolkit.fluxcd.io and the other toolkit groups' source kinds). */
export const isFluxSource = (o: RenderedObject) =>
    /\.toolkit\.fluxcd\.io\//.test(o.id.apiVersion) && SOURCE_KINDS.includes(o.id.kind);

export interface UrlVerdict {
    /** host[:port] the request goes to. */
    readonly host?: string;
    readonly inChina: boolean;
    /** Why the URL cannot be used or trusted, when it cannot. */
    readonly problem?: string;
}

/** The URL a source object fetches from (Bucket: its endpoint), or undefined for kinds without one. */
export function sourceUrl(kind: string, spec: Doc | undefined): string | undefined {
    if (!spec) return undefined;
    if (kind === "Bucket")
        return typeof spec.endpoint === "string" ? `${spec.insecure ? "http" : "https"}://${spec.endpoint}` : "";
    if (kind === "HelmChart" || kind === "ExternalArtifact") return undefined;
    return typeof spec.url === "string" ? spec.url : "";
}

export function judgeUrl(url: string, mirrors: Mirrors): UrlVerdict {
    let parsed: URL;
    try {
        // oci:// is not a special scheme to WHATWG, so its host would not be parsed as one: read it as https.
        parsed = new URL(url.replace(/^oci:\/\//i, "https://"));
    } catch {
        return { inChina: false, problem: `"${url}" is not a URL` };
    }
    const scheme = parsed.protocol.replace(/:$/, "");
    if (!["https", "http", "ssh", "oci"].includes(scheme))
        return { inChina: false, problem: `"${url}": the scheme ${scheme} is not one Flux fetches with` };
    const host = parsed.host.toLowerCase();
    if (!host) return { inChina: false, problem: `"${url}" names no host` };
    if (parsed.password || (parsed.username && scheme !== "ssh")) {
        return {
            host,
            inChina: false,
            problem: `"${url}" carries credentials or a user name before the host; a source URL must name only its host (credentials belong in the source's secretRef), and text before "@" must never decide where it fetches from`,
        };
    }
    return { host, inChina: isChinaHost(mirrors, host) || isChinaHost(mirrors, parsed.hostname.toLowerCase()) };
}
