/**
 * Container image references, per the grammar of distribution/reference (the parser Docker, containerd
 * and Kubernetes use) and digest validation per opencontainers/go-digest. Function names follow the Go
 * originals; test/gitops/reference.test.ts runs the upstream test vectors against them.
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [domain '/'] remote-name
 */

const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const ipv6address = "\\[(?:[a-fA-F0-9:]+)\\]";
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tagPat = "[\\w][\\w.-]{0,127}";
const digestPat = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

const REFERENCE = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const ANCHORED_NAME = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const ANCHORED_IDENTIFIER = /^[a-f0-9]{64}$/;
/** A whole tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`. */
export const ANCHORED_TAG = new RegExp(`^${tagPat}$`);
/** The repository crossborder publishes an artifact to: lowercase components such as platform/fleet (stricter than remoteName). */
export const REPOSITORY_PATH = /^[a-z0-9]+(?:[._/-][a-z0-9]+)*$/;
export const DOMAIN_AND_PORT = new RegExp(`^${domainAndPort}$`);

export const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const OFFICIAL_REPO_PREFIX = "library/";
const LOCALHOST = "localhost";
/** Longest repository path distribution/reference accepts. */
export const NAME_TOTAL_LENGTH_MAX = 255;

/**
 * Digest algorithms available to the reference parser, with their hex length. go-digest counts an
 * algorithm as available only when its hash is linked in, and distribution/reference links only
 * sha256: "name@sha512:…" is ErrDigestUnsupported there, so it is here.
 */
const DIGEST_ALGORITHMS: Record<string, number> = { sha256: 64 };

export type ImageReferenceErrorCode =
    | "ErrReferenceInvalidFormat"
    | "ErrNameContainsUppercase"
    | "ErrNameEmpty"
    | "ErrNameTooLong"
    | "ErrNameNotCanonical"
    | "ErrTagInvalidFormat"
    | "digest.ErrDigestInvalidFormat"
    | "digest.ErrDigestInvalidLength"
    | "digest.ErrDigestUnsupported"
    | "ErrHexIdentifier"
    | "ErrRepositoryUppercase";

const MESSAGES: Record<ImageReferenceErrorCode, string> = {
    ErrReferenceInvalidFormat: "invalid reference format",
    ErrNameContainsUppercase: "repository name must be lowercase",
    ErrNameEmpty: "repository name must have at least one component",
    ErrNameTooLong: `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`,
    ErrNameNotCanonical: "repository name must be canonical",
    ErrTagInvalidFormat: "invalid tag format",
    "digest.ErrDigestInvalidFormat": "invalid digest format",
    "digest.ErrDigestInvalidLength": "invalid checksum digest length",
    "digest.ErrDigestUnsupported": "unsupported digest algorithm",
    ErrHexIdentifier: "invalid repository name, cannot specify 64-byte hexadecimal strings",
    ErrRepositoryUppercase: "invalid reference format: repository name must be lowercase",
};

export class ImageReferenceError extends Error {
    constructor(
        readonly code: ImageReferenceErrorCode,
        readonly input: string,
    ) {
        super(`${JSON.stringify(input)}: ${MESSAGES[code]}`);
        this.name = "ImageReferenceError";
    }
}

/** A parsed reference. `domain` is "" when the name has none (only possible with `parse`). */
export interface Reference {
    readonly domain: string;
    readonly path: string;
    readonly tag?: string;
    readonly digest?: string;
}

/** A digest-only reference (`ParseAnyReference` of a bare digest or 64-hex id). */
export interface DigestReference {
    readonly digestOnly: string;
}

export function nameOf(ref: Reference): string {
    return ref.domain ? `${ref.domain}/${ref.path}` : ref.path;
}

/** `name[:tag][@digest]`: the reference's String(). */
export function format(ref: Reference): string {
    return (
        nameOf(ref) + (ref.tag !== undefined ? `:${ref.tag}` : "") + (ref.digest !== undefined ? `@${ref.digest}` : "")
    );
}

/** go-digest's Digest.Validate. */
export function validateDigest(s: string): void {
    const i = s.indexOf(":");
    if (i <= 0 || i + 1 === s.length) throw new ImageReferenceError("digest.ErrDigestInvalidFormat", s);
    const algorithm = s.slice(0, i);
    const encoded = s.slice(i + 1);
    const size = DIGEST_ALGORITHMS[algorithm];
    if (size === undefined) {
        if (!new RegExp(`^${digestPat}$`).test(s)) throw new ImageReferenceError("digest.ErrDigestInvalidFormat", s);
        throw new ImageReferenceError("digest.ErrDigestUnsupported", s);
    }
    if (encoded.length !== size) throw new ImageReferenceError("digest.ErrDigestInvalidLength", s);
    if (!/^[a-f0-9]+$/.test(encoded)) throw new ImageReferenceError("digest.ErrDigestInvalidFormat", s);
}

/** `Parse`: the strict grammar, no normalisation ("ubuntu" has no domain). */
export function parse(s: string): Reference {
    const m = REFERENCE.exec(s);
    if (!m) {
        if (s === "") throw new ImageReferenceError("ErrNameEmpty", s);
        if (REFERENCE.test(s.toLowerCase())) throw new ImageReferenceError("ErrNameContainsUppercase", s);
        throw new ImageReferenceError("ErrReferenceInvalidFormat", s);
    }
    const nameMatch = ANCHORED_NAME.exec(m[1]);
    const domain = nameMatch ? (nameMatch[1] ?? "") : "";
    const path = nameMatch ? nameMatch[2] : m[1];
    if (path.length > NAME_TOTAL_LENGTH_MAX) throw new ImageReferenceError("ErrNameTooLong", s);
    if (m[3] !== undefined) validateDigest(m[3]);
    return {
        domain,
        path,
        ...(m[2] !== undefined ? { tag: m[2] } : {}),
        ...(m[3] !== undefined ? { digest: m[3] } : {}),
    };
}

/** `WithName`: a bare repository name (no tag or digest allowed). */
export function withName(name: string): Reference {
    const m = ANCHORED_NAME.exec(name);
    if (!m) throw new ImageReferenceError("ErrReferenceInvalidFormat", name);
    if (m[2].length > NAME_TOTAL_LENGTH_MAX) throw new ImageReferenceError("ErrNameTooLong", name);
    return { domain: m[1] ?? "", path: m[2] };
}

function splitDockerDomain(name: string): { domain: string; remainder: string } {
    const slash = name.indexOf("/");
    if (slash < 0) return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_REPO_PREFIX + name };
    const maybeDomain = name.slice(0, slash);
    const maybeRemainder = name.slice(slash + 1);
    let domain: string;
    let remainder: string;
    if (maybeDomain === LOCALHOST) [domain, remainder] = [maybeDomain, maybeRemainder];
    else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) [domain, remainder] = [DEFAULT_DOMAIN, maybeRemainder];
    else if (/[.:]/.test(maybeDomain)) [domain, remainder] = [maybeDomain, maybeRemainder];
    else if (maybeDomain.toLowerCase() !== maybeDomain) [domain, remainder] = [maybeDomain, maybeRemainder];
    else [domain, remainder] = [DEFAULT_DOMAIN, name];
    if (domain === DEFAULT_DOMAIN && !remainder.includes("/")) remainder = OFFICIAL_REPO_PREFIX + remainder;
    return { domain, remainder };
}

/** `ParseNormalizedNamed`: familiar names completed ("ubuntu" → "docker.io/library/ubuntu"). */
export function parseNormalizedNamed(s: string): Reference {
    if (ANCHORED_IDENTIFIER.test(s)) throw new ImageReferenceError("ErrHexIdentifier", s);
    const { domain, remainder } = splitDockerDomain(s);
    const colon = remainder.indexOf(":");
    const remote = colon > -1 ? remainder.slice(0, colon) : remainder;
    if (remote.toLowerCase() !== remote) throw new ImageReferenceError("ErrRepositoryUppercase", s);
    const ref = parse(`${domain}/${remainder}`);
    if (!ref.domain && !ref.path) throw new ImageReferenceError("ErrReferenceInvalidFormat", s);
    return ref;
}

/** `ParseNamed`: like parseNormalizedNamed, but the input must already be canonical. */
export function parseNamed(s: string): Reference {
    const ref = parseNormalizedNamed(s);
    if (format(ref) !== s) throw new ImageReferenceError("ErrNameNotCanonical", s);
    return ref;
}

/** `ParseDockerRef`: normalised, `:latest` when untagged, tag dropped when a digest pins it. */
export function parseDockerRef(s: string): Reference {
    const ref = parseNormalizedNamed(s);
    if (ref.digest !== undefined) return { domain: ref.domain, path: ref.path, digest: ref.digest };
    if (ref.tag === undefined) return { ...ref, tag: "latest" };
    return ref;
}

/** `ParseAnyReference`: a digest, a 64-hex image id, or a normalised named reference. */
export function parseAnyReference(s: string): Reference | DigestReference {
    if (ANCHORED_IDENTIFIER.test(s)) return { digestOnly: `sha256:${s}` };
    try {
        validateDigest(s);
        return { digestOnly: s };
    } catch {
        return parseNormalizedNamed(s);
    }
}

/** `FamiliarName`: the short form Docker shows ("docker.io/library/ubuntu" → "ubuntu"). */
export function familiarName(ref: Reference): string {
    if (ref.domain !== DEFAULT_DOMAIN) return nameOf(ref);
    if (ref.path.startsWith(OFFICIAL_REPO_PREFIX)) {
        const rest = ref.path.slice(OFFICIAL_REPO_PREFIX.length);
        if (!rest.includes("/")) return rest;
    }
    return ref.path;
}

/** `FamiliarString`: familiar name with tag and digest. */
export function familiarString(ref: Reference): string {
    return (
        familiarName(ref) +
        (ref.tag !== undefined ? `:${ref.tag}` : "") +
        (ref.digest !== undefined ? `@${ref.digest}` : "")
    );
}

export function isValidTag(tag: string): boolean {
    return ANCHORED_TAG.test(tag);
}

/**
 * The project's everyday parser: a normalised reference, or undefined when `s` is not an image
 * reference at all (used when scanning values for strings that look like images).
 */
export function tryParseImage(s: string): Reference | undefined {
    try {
        return parseNormalizedNamed(s);
    } catch {
        return undefined;
    }
}

/**
 * A registry prefix an operator joins with image names at runtime (`hub: docker.io/istio`,
 * `container-registry: docker.elastic.co`): a host that names itself (a dot, a port or localhost) and
 * optional path components, no tag or digest. `index.docker.io` is written `docker.io`. The path is ""
 * for a host alone.
 */
export function parseRepositoryPrefix(s: string): { domain: string; path: string } | undefined {
    const text = s.replace(/\/+$/, "");
    const slash = text.indexOf("/");
    const domain = slash < 0 ? text : text.slice(0, slash);
    const path = slash < 0 ? "" : text.slice(slash + 1);
    if (!DOMAIN_AND_PORT.test(domain) || !(/[.:]/.test(domain) || domain === LOCALHOST)) return undefined;
    if (path && !new RegExp(`^${remoteName}$`).test(path)) return undefined;
    return { domain: domain === LEGACY_DEFAULT_DOMAIN ? DEFAULT_DOMAIN : domain.toLowerCase(), path };
}
