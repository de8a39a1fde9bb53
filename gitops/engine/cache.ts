/**
 * The render cache: what the engine found in a release, keyed by everything that decides it (chart
 * sha256, values, release name and namespace, Kubernetes version, post-renderers, helm and kubectl
 * versions, and the finder's own version). A warm render reads these records instead of running helm.
 * Records are written atomically; an unreadable record is a miss, never an error.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { cacheRoot } from "./paths";

/** Bump when what a record holds, or how images are found, changes: old records then miss. */
export const ENGINE_FORMAT = 2;

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

export class RenderCache {
    readonly dir: string;
    hits = 0;
    misses = 0;

    constructor(
        dir = path.join(cacheRoot(), "renders"),
        readonly enabled = true,
    ) {
        this.dir = dir;
    }

    private file(key: string): string {
        return path.join(this.dir, key.slice(0, 2), `${key}.json`);
    }

    get<T>(key: string): T | undefined {
        if (!this.enabled) return undefined;
        try {
            const value = JSON.parse(fs.readFileSync(this.file(key), "utf8")) as T;
            this.hits++;
            return value;
        } catch {
            this.misses++;
            return undefined;
        }
    }

    set(key: string, value: unknown): void {
        if (!this.enabled) return;
        const file = this.file(key);
        try {
            fs.mkdirSync(path.dirname(file), { recursive: true });
            const temp = `${file}.${process.pid}.tmp`;
            fs.writeFileSync(temp, JSON.stringify(value));
            fs.renameSync(temp, file);
        } catch {
            // A read-only or full cache only costs speed.
        }
    }
}
