/**
 * A small OCI distribution API client: does a manifest exist, with which digest, and what does it say.
 * Anonymous access, Basic auth, and Bearer-token challenges (`WWW-Authenticate: Bearer realm=…,service=…,
 * scope=…`), with a timeout per request (body included), retries with exponential backoff on connection
 * errors, 5xx and 429 (honouring Retry-After), and bounded response sizes. Built for the lossy links the
 * border has, and for registries that answer badly: every odd answer is a RegistryError naming the
 * registry and what it said, never a crash.
 *
 * Credentials are bound to one host: they are sent to that registry, and to a token service on that same
 * host, never to another host a challenge names.
 */
import { FindingsError } from "../../core/errors";
import { createHash } from "crypto";
import type { Doc } from "../objects/manifests";

export const MANIFEST_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/** Manifests and token answers are small; anything bigger is refused rather than read. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_TOKEN_BYTES = 64 * 1024;

export interface Credentials {
    readonly username: string;
    readonly password: string;
}

export interface HostCredentials {
    readonly host: string;
    readonly username: string;
    readonly password: string;
}

export interface RegistryClientOptions {
    /** Per request, body included. @default 10000 */
    readonly timeoutMs?: number;
    /** Retries after the first attempt. @default 5 */
    readonly retries?: number;
    /** First wait between attempts; doubles up to maxBackoffMs. @default 200 */
    readonly backoffMs?: number;
    /** @default 5000 */
    readonly maxBackoffMs?: number;
    /** Hosts spoken to over plain HTTP (loopback test registries). @default none */
    readonly plainHttp?: (host: string) => boolean;
    /** The hosts credentials belong to, and them (each pair goes to its own host only). @default none: anonymous everywhere */
    readonly credentials?: HostCredentials | readonly HostCredentials[];
    /** @default globalThis.fetch */
    readonly fetch?: typeof fetch;
}

export type ManifestCheck =
    { readonly found: true; readonly digest: string; readonly mediaType: string } | { readonly found: false };

/** The registry could not be asked: unreachable after every retry, or it answered in a way retrying cannot fix. */
export class RegistryError extends FindingsError {
    constructor(
        message: string,
        readonly attempts: number,
    ) {
        super(message);
        this.name = "RegistryError";
    }
}

function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
    const space = header.indexOf(" ");
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const params: Record<string, string> = {};
    for (const m of header.slice(space + 1).matchAll(/(\w+)="([^"]*)"/g)) params[m[1].toLowerCase()] = m[2];
    return { scheme, params };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const basic = (c: Credentials) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;

/** Cache key of a Bearer token: one per registry and scope. */
const tokenKey = (host: string, scope: string) => `${host}|${scope}`;

/** The reason behind Node's bare "fetch failed". */
function cause(e: unknown): string {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err.name === "TimeoutError" || err.name === "AbortError") return "";
    const c = err.cause;
    return c ? [c.code, c.message].filter(Boolean).join(": ") : err.message;
}

/** Read a body, refusing more than `max` bytes and a stall past the request's timeout. */
async function readBody(res: Response, max: number, what: string, timeoutMs: number): Promise<Buffer> {
    const declared = Number(res.headers.get("content-length"));
    if (Number.isFinite(declared) && declared > max) {
        await res.body?.cancel().catch(() => undefined);
        throw new RegistryError(`${what}: the answer is ${declared} bytes, more than the ${max} crossborder reads`, 1);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const reader = res.body?.getReader();
    if (!reader) return Buffer.alloc(0);
    try {
        for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            size += value.length;
            if (size > max) {
                await reader.cancel().catch(() => undefined);
                throw new RegistryError(`${what}: the answer is more than the ${max} bytes crossborder reads`, 1);
            }
            chunks.push(Buffer.from(value));
        }
    } catch (e) {
        if (e instanceof RegistryError) throw e;
        throw new RegistryError(
            `${what}: the answer stopped arriving (${cause(e) || `no data within ${timeoutMs} ms`})`,
            1,
        );
    }
    return Buffer.concat(chunks);
}

/** The OCI digest of some bytes (`sha256:<hex>`). */
export function sha256Digest(bytes: Buffer): string {
    return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export class RegistryClient {
    private readonly tokens = new Map<string, string>();
    private readonly opts: Required<Omit<RegistryClientOptions, "credentials">> &
        Pick<RegistryClientOptions, "credentials">;
    /** Requests made, retried attempts included (for reports and benchmarks). */
    requests = 0;

    constructor(opts: RegistryClientOptions = {}) {
        this.opts = {
            timeoutMs: opts.timeoutMs ?? 10_000,
            retries: opts.retries ?? 5,
            backoffMs: opts.backoffMs ?? 200,
            maxBackoffMs: opts.maxBackoffMs ?? 5_000,
            plainHttp: opts.plainHttp ?? (() => false),
            credentials: opts.credentials,
            fetch: opts.fetch ?? globalThis.fetch,
        };
    }

    private base(host: string): string {
        return `${this.opts.plainHttp(host) ? "http" : "https"}://${host}`;
    }

    private credentialsFor(host: string): Credentials | undefined {
        const all = this.opts.credentials === undefined ? [] : ([] as HostCredentials[]).concat(this.opts.credentials);
        return all.find((c) => c.host.toLowerCase() === host.toLowerCase());
    }

    /** One request with retries on connection errors, timeouts, 5xx and 429. */
    private async send(url: string, init: RequestInit): Promise<Response> {
        let delay = this.opts.backoffMs;
        let lastError = "";
        for (let attempt = 0; attempt <= this.opts.retries; attempt++) {
            if (attempt > 0) {
                await sleep(delay);
                delay = Math.min(delay * 2, this.opts.maxBackoffMs);
            }
            this.requests++;
            try {
                const res = await this.opts.fetch(url, {
                    ...init,
                    redirect: "error",
                    signal: AbortSignal.timeout(this.opts.timeoutMs),
                });
                if (res.status === 429 || res.status >= 500) {
                    lastError = `HTTP ${res.status}`;
                    const retryAfter = Number(res.headers.get("retry-after"));
                    if (res.status === 429 && Number.isFinite(retryAfter) && retryAfter > 0)
                        delay = Math.min(retryAfter * 1000, this.opts.maxBackoffMs);
                    await res.body?.cancel().catch(() => undefined);
                    continue;
                }
                return res;
            } catch (e) {
                const why = cause(e);
                lastError = why ? `fetch failed: ${why}` : `no answer within ${this.opts.timeoutMs} ms`;
            }
        }
        throw new RegistryError(`${url}: ${lastError} after ${this.opts.retries + 1} attempts`, this.opts.retries + 1);
    }

    private async authorize(host: string, repository: string, challenge: string, wanted?: string): Promise<string> {
        const { scheme, params } = parseChallenge(challenge);
        const creds = this.credentialsFor(host);
        if (scheme === "basic") {
            if (!creds)
                throw new RegistryError(
                    `${host}: asks for Basic credentials; name it with --registry and set CROSSBORDER_REGISTRY_USERNAME and CROSSBORDER_REGISTRY_PASSWORD`,
                    1,
                );
            return basic(creds);
        }
        if (scheme !== "bearer" || !params.realm)
            throw new RegistryError(
                `${host}: answered 401 with the challenge "${challenge.slice(0, 200)}", which is neither Basic nor Bearer with a realm`,
                1,
            );
        const scope = params.scope ?? wanted ?? `repository:${repository}:pull`;
        const key = tokenKey(host, scope);
        const cached = this.tokens.get(key);
        if (cached) return cached;
        let url: URL;
        try {
            url = new URL(params.realm);
        } catch {
            throw new RegistryError(`${host}: its token service realm "${params.realm.slice(0, 200)}" is not a URL`, 1);
        }
        if (url.protocol !== "https:" && !(url.protocol === "http:" && this.opts.plainHttp(url.host)))
            throw new RegistryError(`${host}: its token service ${url.origin} is not https`, 1);
        if (params.service) url.searchParams.set("service", params.service);
        url.searchParams.set("scope", scope);
        // Credentials go to the token service only when it is the registry's own host.
        const sendCreds = creds && url.host.toLowerCase() === host.toLowerCase();
        const res = await this.send(url.toString(), { headers: sendCreds ? { authorization: basic(creds) } : {} });
        if (!res.ok) {
            await res.body?.cancel().catch(() => undefined);
            throw new RegistryError(
                `${host}: the token service ${url.origin} answered HTTP ${res.status} for ${scope}${creds && !sendCreds ? " (credentials are only sent to the registry's own host)" : ""}`,
                1,
            );
        }
        const text = (
            await readBody(res, MAX_TOKEN_BYTES, `${host}: the token service ${url.origin}`, this.opts.timeoutMs)
        ).toString("utf8");
        let body: unknown;
        try {
            body = JSON.parse(text);
        } catch {
            throw new RegistryError(
                `${host}: the token service ${url.origin} answered something that is not JSON: ${JSON.stringify(text.slice(0, 80))}`,
                1,
            );
        }
        const token =
            body && typeof body === "object"
                ? ((body as Record<string, unknown>).token ?? (body as Record<string, unknown>).access_token)
                : undefined;
        if (typeof token !== "string" || !token)
            throw new RegistryError(
                `${host}: the token service ${url.origin} gave no token (answered ${JSON.stringify(text.slice(0, 80))})`,
                1,
            );
        const value = `Bearer ${token}`;
        this.tokens.set(key, value);
        return value;
    }

    private async request(
        host: string,
        repository: string,
        reference: string,
        method: "HEAD" | "GET",
    ): Promise<Response> {
        const url = `${this.base(host)}/v2/${repository}/manifests/${reference}`;
        return this.authed(host, repository, "pull", url, { method, headers: { accept: MANIFEST_TYPES.join(", ") } });
    }

    /** Whether `repository:reference` exists on `host`, and its manifest digest. */
    async checkManifest(host: string, repository: string, reference: string): Promise<ManifestCheck> {
        const url = `${this.base(host)}/v2/${repository}/manifests/${reference}`;
        const res = await this.request(host, repository, reference, "HEAD");
        if (res.status === 404) return { found: false };
        if (res.status === 401 || res.status === 403)
            throw new RegistryError(`${url}: access denied (HTTP ${res.status}); check the registry credentials`, 1);
        if (!res.ok) throw new RegistryError(`${url}: HTTP ${res.status}`, 1);
        const mediaType = res.headers.get("content-type") ?? "";
        const digest = res.headers.get("docker-content-digest");
        if (digest && /^sha256:[a-f0-9]{64}$/.test(digest)) return { found: true, digest, mediaType };
        // Some registries leave the digest out of HEAD: fetch the manifest and hash it.
        const got = await this.getManifest(host, repository, reference);
        return got.found ? { found: true, digest: got.digest, mediaType: got.mediaType } : got;
    }

    /** A request with the repository's token for `actions`, asked for on the registry's 401 challenge. */
    private async authed(
        host: string,
        repository: string,
        actions: "pull" | "pull,push",
        url: string,
        init: RequestInit & { headers?: Record<string, string> },
    ): Promise<Response> {
        const wanted = `repository:${repository}:${actions}`;
        const headers: Record<string, string> = { ...(init.headers ?? {}) };
        const known = this.tokens.get(tokenKey(host, wanted));
        if (known) headers.authorization = known;
        let res = await this.send(url, { ...init, headers });
        if (res.status === 401) {
            await res.body?.cancel().catch(() => undefined);
            headers.authorization = await this.authorize(
                host,
                repository,
                res.headers.get("www-authenticate") ?? "",
                wanted,
            );
            res = await this.send(url, { ...init, headers });
        }
        return res;
    }

    private async expect(res: Response, url: string, statuses: number[], what: string): Promise<void> {
        if (statuses.includes(res.status)) return;
        const text = (await readBody(res, 4096, url, this.opts.timeoutMs).catch(() => Buffer.alloc(0))).toString(
            "utf8",
        );
        const denied =
            res.status === 401 || res.status === 403 ? "; check the registry credentials and the push rights" : "";
        throw new RegistryError(
            `${url}: ${what} answered HTTP ${res.status}${denied}${text ? ` (${text.slice(0, 200).trim()})` : ""}`,
            1,
        );
    }

    /** Upload a blob (monolithic: POST an upload, PUT the bytes with their digest), unless the registry has it. */
    async pushBlob(host: string, repository: string, digest: string, bytes: Buffer): Promise<void> {
        const blobUrl = `${this.base(host)}/v2/${repository}/blobs/${digest}`;
        const head = await this.authed(host, repository, "pull,push", blobUrl, { method: "HEAD" });
        await head.body?.cancel().catch(() => undefined);
        if (head.status === 200) return;
        const start = `${this.base(host)}/v2/${repository}/blobs/uploads/`;
        const res = await this.authed(host, repository, "pull,push", start, {
            method: "POST",
            headers: { "content-length": "0" },
        });
        await this.expect(res, start, [202], "starting an upload");
        await res.body?.cancel().catch(() => undefined);
        const location = res.headers.get("location");
        if (!location) throw new RegistryError(`${start}: the registry started an upload but gave no Location`, 1);
        const target = new URL(location, `${this.base(host)}/`);
        if (target.host.toLowerCase() !== host.toLowerCase())
            throw new RegistryError(
                `${start}: the registry sent the upload to another host (${target.host}); refusing to send it there`,
                1,
            );
        target.searchParams.set("digest", digest);
        const put = await this.authed(host, repository, "pull,push", target.toString(), {
            method: "PUT",
            headers: { "content-type": "application/octet-stream", "content-length": String(bytes.length) },
            body: new Uint8Array(bytes),
        });
        await this.expect(put, target.toString(), [201], "uploading the blob");
        await put.body?.cancel().catch(() => undefined);
    }

    /** Put a manifest under `reference` (a tag); returns the digest the registry stored it under. */
    async pushManifest(
        host: string,
        repository: string,
        reference: string,
        mediaType: string,
        bytes: Buffer,
    ): Promise<string> {
        const url = `${this.base(host)}/v2/${repository}/manifests/${reference}`;
        const res = await this.authed(host, repository, "pull,push", url, {
            method: "PUT",
            headers: { "content-type": mediaType, "content-length": String(bytes.length) },
            body: new Uint8Array(bytes),
        });
        await this.expect(res, url, [201], "storing the manifest");
        await res.body?.cancel().catch(() => undefined);
        const computed = sha256Digest(bytes);
        const stored = res.headers.get("docker-content-digest");
        if (stored && stored !== computed)
            throw new RegistryError(`${url}: the registry stored the manifest as ${stored}, not ${computed}`, 1);
        return computed;
    }

    /** The manifest itself (parsed), with the digest of its bytes. */
    async getManifest(
        host: string,
        repository: string,
        reference: string,
    ): Promise<{ found: true; digest: string; mediaType: string; manifest: Doc } | { found: false }> {
        const url = `${this.base(host)}/v2/${repository}/manifests/${reference}`;
        const res = await this.request(host, repository, reference, "GET");
        if (res.status === 404) {
            await res.body?.cancel().catch(() => undefined);
            return { found: false };
        }
        if (!res.ok) {
            await res.body?.cancel().catch(() => undefined);
            throw new RegistryError(`${url}: HTTP ${res.status}`, 1);
        }
        const bytes = await readBody(res, MAX_MANIFEST_BYTES, url, this.opts.timeoutMs);
        let manifest: unknown;
        try {
            manifest = JSON.parse(bytes.toString("utf8"));
        } catch {
            throw new RegistryError(`${url}: the manifest is not JSON`, 1);
        }
        if (!manifest || typeof manifest !== "object" || Array.isArray(manifest))
            throw new RegistryError(`${url}: the manifest is not a JSON object`, 1);
        return {
            found: true,
            digest: sha256Digest(bytes),
            mediaType: res.headers.get("content-type") ?? "",
            manifest: manifest as Doc,
        };
    }
}
