/**
 * Reading loosely typed stack config into typed values: every problem becomes a ConfigIssue that names the
 * key, says what is wrong and how to fix it; all are collected before anything is created. Pure: no Pulumi
 * import. The schema itself is one file per component beside this one.
 */
import { describeProblem } from "../../core/yaml-source";
import { InputError } from "../../core/errors";
import { Cidr, overlaps, parseCidr } from "../../core/cidr";
import type { Side } from "../../core/partition";
import type { CloudFacts } from "../../core/cloud-facts";

export const NS = "crossborder";
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export type Json = unknown;

export interface ConfigIssue {
    /** The config key, e.g. `crossborder:network.vpcCidr` or `crossborder:cluster.nodeGroups[0].instanceTypes[1]`. */
    readonly key: string;
    readonly problem: string;
    readonly fix: string;
}

export function formatIssue(i: ConfigIssue): string {
    return describeProblem(undefined, i.key, i.problem, i.fix);
}

/**
 * A user's configuration mistake. `__pulumiRunError` makes the Pulumi CLI print the message without a
 * stack trace, exactly as it does for `pulumi.RunError`.
 */
export class ConfigError extends InputError {
    readonly __pulumiRunError = true;
    constructor(
        readonly issues: readonly ConfigIssue[],
        readonly source = "stack config",
    ) {
        super(`invalid ${source}:\n${issues.map((i) => `  ${formatIssue(i)}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/** Collects issues while reading typed values out of loosely typed config. */
export class Reader {
    readonly issues: ConfigIssue[] = [];

    issue(key: string, problem: string, fix: string): void {
        this.issues.push({ key, problem, fix });
    }

    /** Pulumi hands structured values over as JSON strings; YAML-sourced maps hand them over parsed. */
    structured(key: string, value: Json, what: "a mapping" | "a list"): Json {
        if (typeof value !== "string") return value;
        try {
            return JSON.parse(value);
        } catch {
            this.issue(
                key,
                `must be ${what}, got the string ${JSON.stringify(value)}`,
                `write it as a YAML ${what === "a mapping" ? "mapping (key: value lines)" : "list"}`,
            );
            return undefined;
        }
    }

    object(key: string, value: Json, known: readonly string[]): Record<string, Json> {
        const v = this.structured(key, value, "a mapping");
        if (v === undefined || v === null) return {};
        if (typeof v !== "object" || Array.isArray(v)) {
            this.issue(key, `must be a mapping, got ${describe(v)}`, `write it as a YAML mapping (key: value lines)`);
            return {};
        }
        for (const k of Object.keys(v)) {
            if (!known.includes(k)) {
                const near = closest(k, known);
                this.issue(
                    `${key}.${k}`,
                    "is not a known setting",
                    near
                        ? `did you mean "${near}"? Known: ${known.join(", ")}`
                        : `remove it; known settings: ${known.join(", ")}`,
                );
            }
        }
        return v as Record<string, Json>;
    }

    string(key: string, value: Json, opts: { default?: string; pattern?: RegExp; hint: string }): string {
        if (value === undefined || value === null || value === "") {
            if (opts.default !== undefined) return opts.default;
            this.issue(key, "is required", `set it to ${opts.hint}`);
            return "";
        }
        if (typeof value !== "string") {
            this.issue(key, `must be a string, got ${describe(value)}`, `set it to ${opts.hint}`);
            return "";
        }
        if (opts.pattern && !opts.pattern.test(value)) {
            this.issue(key, `${JSON.stringify(value)} is not valid`, `set it to ${opts.hint}`);
            return "";
        }
        return value;
    }

    oneOf<T extends string>(key: string, value: Json, choices: readonly T[], dflt?: T): T {
        if ((value === undefined || value === null || value === "") && dflt !== undefined) return dflt;
        if (typeof value === "string" && (choices as readonly string[]).includes(value)) return value as T;
        const shown =
            value === undefined || value === null || value === ""
                ? "is required"
                : `${JSON.stringify(value)} is not allowed`;
        const near = typeof value === "string" ? closest(value, choices) : undefined;
        this.issue(key, shown, `use one of: ${choices.join(", ")}${near ? ` (did you mean "${near}"?)` : ""}`);
        return dflt ?? choices[0];
    }

    bool(key: string, value: Json, dflt: boolean): boolean {
        if (value === undefined || value === null || value === "") return dflt;
        if (value === true || value === "true") return true;
        if (value === false || value === "false") return false;
        this.issue(key, `must be true or false, got ${describe(value)}`, `write true or false`);
        return dflt;
    }

    int(key: string, value: Json, opts: { default?: number; min: number; max: number; why?: string }): number {
        if (value === undefined || value === null || value === "") {
            if (opts.default !== undefined) return opts.default;
            this.issue(key, "is required", `set a whole number from ${opts.min} to ${opts.max}`);
            return opts.min;
        }
        const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
        if (typeof n !== "number" || !Number.isInteger(n)) {
            this.issue(
                key,
                `must be a whole number, got ${describe(value)}`,
                `set a whole number from ${opts.min} to ${opts.max}`,
            );
            return opts.default ?? opts.min;
        }
        if (n < opts.min || n > opts.max) {
            this.issue(
                key,
                `${n} is out of range${opts.why ? ` (${opts.why})` : ""}`,
                `set a whole number from ${opts.min} to ${opts.max}`,
            );
            return opts.default ?? opts.min;
        }
        return n;
    }

    list(key: string, value: Json, dflt?: readonly Json[]): readonly Json[] {
        if (value === undefined || value === null) {
            if (dflt !== undefined) return dflt;
            this.issue(key, "is required", "write it as a YAML list");
            return [];
        }
        const v = this.structured(key, value, "a list");
        if (v === undefined) return [];
        if (!Array.isArray(v)) {
            this.issue(key, `must be a list, got ${describe(v)}`, "write it as a YAML list");
            return [];
        }
        return v;
    }

    cidr(key: string, value: Json, what: string): Cidr | undefined {
        const text = this.string(key, value, { hint: `${what} such as 10.10.0.0/16` });
        if (!text) return undefined;
        const parsed = parseCidr(text);
        if (!parsed.ok) {
            this.issue(
                key,
                `${JSON.stringify(text)} ${parsed.reason}`,
                parsed.canonical ? `use ${parsed.canonical}` : `write ${what} such as 10.10.0.0/16`,
            );
            return undefined;
        }
        return parsed.cidr;
    }
}

export function describe(v: Json): string {
    if (v === null) return "null";
    if (Array.isArray(v)) return "a list";
    if (typeof v === "object") return "a mapping";
    if (typeof v === "string") return JSON.stringify(v);
    return `${typeof v} ${String(v)}`;
}

function levenshtein(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let prev = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const tmp = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
            prev = tmp;
        }
    }
    return row[b.length];
}

/** The closest candidate within a small edit distance, for "did you mean" hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
    if (word.length > 64) return undefined;
    let best: string | undefined;
    let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
    for (const c of candidates) {
        const d = levenshtein(word.toLowerCase(), c.toLowerCase());
        if (d < bestDistance) {
            best = c;
            bestDistance = d;
        }
    }
    return best;
}

/** A region hint stays in the region's own family: "cn-south-1" suggests a cn- region, never af-south-1. */
export function closestRegion(region: string, regions: readonly string[]): string | undefined {
    const family = region.split("-")[0];
    const same = regions.filter((r) => r.split("-")[0] === family);
    return closest(region, same.length ? same : regions) ?? (same.length ? [...same].sort()[0] : undefined);
}

/** A private range of the given prefix that overlaps none of `taken`, for fix suggestions. */
export function suggestFree(taken: readonly Cidr[], prefix: number): string {
    const p = Math.max(prefix, 16);
    for (let second = 10; second < 256; second += 10) {
        const candidate = parseCidr(`10.${second}.0.0/${p}`);
        if (candidate.ok && !taken.some((t) => overlaps(t, candidate.cidr))) return candidate.cidr.text;
    }
    return `172.16.0.0/${p}`;
}

/** What every component's schema reader is given: the reader, this side, and the raw top-level values. */
export interface Scope {
    readonly r: Reader;
    readonly side: Side;
    readonly china: boolean;
    readonly other: Side;
    readonly facts: CloudFacts;
    /** `crossborder:<key>` → its raw value. */
    readonly top: Readonly<Record<string, Json>>;
    /** Whether a full config key (`crossborder:<key>`) holds a Pulumi secret. */
    readonly isSecret: (fullKey: string) => boolean;
}

/** `crossborder:<path>`: the key as a user writes it. */
export function key(path: string): string {
    return `${NS}:${path}`;
}

/**
 * A secret: a top-level key set with `pulumi config set --secret`, so that it is encrypted in the stack file
 * and a Pulumi secret in the program. A value stored in plain text is refused (it would sit in Git as is).
 */
export function readSecret(
    s: Scope,
    name: string,
    opts: { readonly required: boolean; readonly what: string; readonly why?: string },
): string | undefined {
    const k = key(name);
    const value = s.top[name];
    if (value === undefined || value === null || value === "") {
        if (opts.required)
            s.r.issue(
                k,
                `is required${opts.why ? ` (${opts.why})` : ""}`,
                `set ${opts.what} with: pulumi config set --secret ${k} <value>`,
            );
        return undefined;
    }
    if (!s.isSecret(k)) {
        s.r.issue(
            k,
            "is stored in plain text in the stack file",
            `remove it and set it again as a secret: pulumi config set --secret ${k} <value>`,
        );
        return undefined;
    }
    if (typeof value !== "string") {
        s.r.issue(k, `must be a string, got ${describe(value)}`, `set ${opts.what} as a string`);
        return undefined;
    }
    return value;
}
