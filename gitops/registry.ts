/**
 * A small OCI distribution API client: does a manifest exist, and with which digest. Anonymous access,
 * Basic auth, and Bearer-token challenges (`WWW-Authenticate: Bearer realm=…,service=…,scope=…`), with a
 * timeout per request and retries with exponential backoff on connection errors, 5xx and 429 (honouring
 * Retry-After). Built for the lossy links the border has.
 */
import { createHash } from "crypto";

export const MANIFEST_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

export interface Credentials {
    readonly username: string;
    readonly password: string;
}

export interface RegistryClientOptions {
    /** Per request. @default 10000 */
    readonly timeoutMs?: number;
    /** Retries after the first attempt. @default 5 */
    readonly retries?: number;
    /** First wait between attempts; doubles up to maxBackoffMs. @default 200 */
    readonly backoffMs?: number;
    /** @default 5000 */
    readonly maxBackoffMs?: number;
    /** Hosts spoken to over plain HTTP (loopback test registries). @default none */
    readonly plainHttp?: (host: string) => boolean;
    readonly credentials?: (host: string) => Credentials | undefined;
    /** @default globalThis.fetch */
    readonly fetch?: typeof fetch;
}

export type ManifestCheck = { readonly found: true; readonly digest: string; readonly mediaType: string } | { readonly found: false };

/** The registry could not be asked: unreachable after every retry, or it refused in a way retrying cannot fix. */
export class RegistryError extends Error {
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

export class RegistryClient {
    private readonly tokens = new Map<string, string>();
    private readonly opts: Required<Omit<RegistryClientOptions, "credentials">> & Pick<RegistryClientOptions, "credentials">;
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
                const res = await this.opts.fetch(url, { ...init, signal: AbortSignal.timeout(this.opts.timeoutMs) });
                if (res.status === 429 || res.status >= 500) {
                    lastError = `HTTP ${res.status}`;
                    const retryAfter = Number(res.headers.get("retry-after"));
                    if (res.status === 429 && Number.isFinite(retryAfter) && retryAfter > 0) delay = Math.min(retryAfter * 1000, this.opts.maxBackoffMs);
                    await res.body?.cancel().catch(() => undefined);
                    continue;
                }
                return res;
            } catch (e) {
                const err = e as Error & { cause?: { code?: string } };
                lastError = err.name === "TimeoutError" ? `no answer within ${this.opts.timeoutMs} ms` : (err.cause?.code ?? err.message);
            }
        }
        throw new RegistryError(`${url}: ${lastError} after ${this.opts.retries + 1} attempts`, this.opts.retries + 1);
    }

    private async authorize(host: string, repository: string, challenge: string): Promise<string> {
        const { scheme, params } = parseChallenge(challenge);
        const creds = this.opts.credentials?.(host);
        if (scheme === "basic") {
            if (!creds) throw new RegistryError(`${host}: asks for Basic credentials; set CROSSBORDER_REGISTRY_USERNAME and CROSSBORDER_REGISTRY_PASSWORD`, 1);
            return basic(creds);
        }
        if (scheme !== "bearer" || !params.realm) throw new RegistryError(`${host}: unsupported authentication challenge "${challenge}"`, 1);
        const scope = params.scope ?? `repository:${repository}:pull`;
        const key = tokenKey(host, scope);
        const cached = this.tokens.get(key);
        if (cached) return cached;
        const url = new URL(params.realm);
        if (params.service) url.searchParams.set("service", params.service);
        url.searchParams.set("scope", scope);
        const res = await this.send(url.toString(), { headers: creds ? { authorization: basic(creds) } : {} });
        if (!res.ok) throw new RegistryError(`${host}: the token service ${url.origin} answered HTTP ${res.status} for ${scope}`, 1);
        const body = (await res.json()) as { token?: string; access_token?: string };
        const token = body.token ?? body.access_token;
        if (!token) throw new RegistryError(`${host}: the token service gave no token`, 1);
        const value = `Bearer ${token}`;
        this.tokens.set(key, value);
        return value;
    }

    /** Whether `repository:reference` exists on `host`, and its manifest digest. */
    async checkManifest(host: string, repository: string, reference: string): Promise<ManifestCheck> {
        const url = `${this.base(host)}/v2/${repository}/manifests/${reference}`;
        const headers: Record<string, string> = { accept: MANIFEST_TYPES.join(", ") };
        const known = this.tokens.get(tokenKey(host, `repository:${repository}:pull`));
        if (known) headers.authorization = known;
        let res = await this.send(url, { method: "HEAD", headers });
        if (res.status === 401) {
            headers.authorization = await this.authorize(host, repository, res.headers.get("www-authenticate") ?? "");
            res = await this.send(url, { method: "HEAD", headers });
        }
        if (res.status === 404) return { found: false };
        if (res.status === 401 || res.status === 403) throw new RegistryError(`${url}: access denied (HTTP ${res.status}); check the registry credentials`, 1);
        if (!res.ok) throw new RegistryError(`${url}: HTTP ${res.status}`, 1);
        const mediaType = res.headers.get("content-type") ?? "";
        let digest = res.headers.get("docker-content-digest");
        if (!digest) {
            // Some registries leave the digest out of HEAD: fetch the manifest and hash it.
            const get = await this.send(url, { method: "GET", headers });
            if (!get.ok) throw new RegistryError(`${url}: HTTP ${get.status}`, 1);
            digest = `sha256:${createHash("sha256").update(Buffer.from(await get.arrayBuffer())).digest("hex")}`;
        }
        return { found: true, digest, mediaType };
    }
}
