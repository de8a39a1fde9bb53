/**
 * The render cache: what the engine found in a release, keyed by everything that decides it (chart
 * sha256, values, release name and namespace, Kubernetes version, post-renderers, helm and kubectl
 * versions, and the finder's own version). A warm render reads these records instead of running helm.
 * Records are written atomically; an unreadable record is a miss, never an error.
 *
 * A record is never trusted for what it says: each carries an HMAC-SHA256 over its key and content, made with
 * a secret of this machine's user kept outside the cache (gitops/engine/paths.ts stateRoot, mode 0600). A
 * record edited by hand, restored from another machine's cache or written by anything else fails the check
 * and is rendered again (counted as rejected). `audit --strict` reads no record at all.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { cacheRoot, stateRoot } from "./paths";

/** Bump when what a record holds, or how images are found, changes: old records then miss. */
export const ENGINE_FORMAT = 3;

/** A stable JSON text: object keys sorted at every depth. */
export function stableJson(value: unknown): string {
    return JSON.stringify(value, (_k, v) =>
        v && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(
                  Object.keys(v)
                      .sort()
                      .map((k) => [k, v[k]]),
              )
            : v,
    );
}

export function cacheKey(parts: unknown): string {
    return createHash("sha256")
        .update(stableJson({ format: ENGINE_FORMAT, ...(parts as object) }))
        .digest("hex");
}

/** The user's cache secret, created on first use; undefined when it can be neither read nor made. */
function cacheSecret(file: string): Buffer | undefined {
    try {
        const key = fs.readFileSync(file);
        if (key.length >= 32) return key;
    } catch {
        // made below
    }
    try {
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        const temp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(temp, randomBytes(32), { mode: 0o600 });
        // Two first runs at once: the first link wins, and both then read the same secret.
        try {
            fs.linkSync(temp, file);
        } catch {
            // another writer made it
        }
        fs.rmSync(temp, { force: true });
        const key = fs.readFileSync(file);
        return key.length >= 32 ? key : undefined;
    } catch {
        return undefined;
    }
}

export class RenderCache {
    readonly dir: string;
    hits = 0;
    misses = 0;
    /** Records that failed their check (edited, or not written here) and were ignored. */
    rejected = 0;
    private secret?: Buffer | null;

    constructor(
        dir = path.join(cacheRoot(), "renders"),
        readonly enabled = true,
        private readonly secretFile = path.join(stateRoot(), "cache.key"),
    ) {
        this.dir = dir;
    }

    private file(key: string): string {
        return path.join(this.dir, key.slice(0, 2), `${key}.json`);
    }

    private mac(key: string, text: string): string | undefined {
        if (this.secret === undefined) this.secret = cacheSecret(this.secretFile) ?? null;
        if (!this.secret) return undefined;
        return createHmac("sha256", this.secret).update(key).update("\0").update(text).digest("hex");
    }

    /**
     * The record of `key` when it passes its check. `counted: false` keeps it out of hits and misses, which
     * count the engine's work (a record that fails its check is still counted as rejected).
     */
    get<T>(key: string, counted = true): T | undefined {
        if (!this.enabled) return undefined;
        const hit = () => counted && this.hits++;
        const miss = () => counted && this.misses++;
        let raw: string;
        try {
            raw = fs.readFileSync(this.file(key), "utf8");
        } catch {
            miss();
            return undefined;
        }
        const nl = raw.indexOf("\n");
        const text = raw.slice(nl + 1);
        const want = this.mac(key, text);
        const got = nl > 0 ? Buffer.from(raw.slice(0, nl), "hex") : Buffer.alloc(0);
        if (!want || got.length !== 32 || !timingSafeEqual(got, Buffer.from(want, "hex"))) {
            this.rejected++;
            miss();
            return undefined;
        }
        try {
            const value = JSON.parse(text) as T;
            hit();
            return value;
        } catch {
            this.rejected++;
            miss();
            return undefined;
        }
    }

    set(key: string, value: unknown): void {
        if (!this.enabled) return;
        const file = this.file(key);
        const text = JSON.stringify(value);
        const mac = this.mac(key, text);
        if (!mac) return; // without the secret a record could not be checked when read: keep none
        try {
            fs.mkdirSync(path.dirname(file), { recursive: true });
            const temp = `${file}.${process.pid}.tmp`;
            fs.writeFileSync(temp, `${mac}\n${text}`);
            fs.renameSync(temp, file);
        } catch {
            // A read-only or full cache only costs speed.
        }
    }
}
