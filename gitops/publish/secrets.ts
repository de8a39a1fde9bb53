/**
 * What must never travel in a published artifact, judged three ways, each naming file and line:
 *
 *   1. every file, as text, by secretlint's recommended rule set (@secretlint/secretlint-rule-preset-recommend:
 *      cloud keys, tokens, private keys, basic-auth URLs, …), and by the project's own rules for shapes it
 *      lacks (below);
 *   2. every YAML or JSON document, by its values as the YAML parser reads them (escapes undone, folded
 *      lines joined, base64 decoded): Secrets with data, kustomize secret generators, credential-named keys
 *      and env variables, docker configs, kubeconfig keys and tokens;
 *   3. what Flux applies: every path the cluster's Flux Kustomizations build, built by the real kustomize as
 *      kustomize-controller builds it (gitops/audit/flux.ts), and each built object checked again, so a Secret
 *      inside `kind: List`, in a resource file of any name, or whose kind comes from a merge key, is caught.
 *
 * SOPS: a Secret whose every value is SOPS ciphertext (`ENC[…]`, with its `sops:` block) is ciphertext, and
 * Flux decrypts it only in the cluster (kustomize-controller `spec.decryption`, Flux's SOPS guide): it may
 * travel, but only where the Kustomization that applies it says `decryption: {provider: sops}`; elsewhere
 * Flux would apply the ciphertext as the Secret's value, and the publish is refused.
 */
import * as fs from "fs";
import * as path from "path";
import { isMap, isPair, isScalar, LineCounter, Node, parseAllDocuments, visit } from "yaml";
import { buildCluster } from "../audit/cluster";
import { describeId } from "../objects/manifests";
import type { Doc } from "../objects/manifests";
import { removeTemporaryFolder, temporaryFolder } from "../engine/tools";

const PARSE = { maxAliasCount: 100 } as const;

/** The project's own text rules, for shapes the scanner's preset does not cover (each seen in a tree). */
const TEXT_RULES: [RegExp, string][] = [
    [/-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/, "a private key"],
    [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/, "an AWS access key id"],
    [/\bLTAI[0-9A-Za-z]{12,30}\b/, "an Alibaba Cloud AccessKey id"],
    [/\bgh[pousr]_[A-Za-z0-9]{36,}\b/, "a GitHub token"],
    [/\bgithub_pat_[A-Za-z0-9_]{22,}\b/, "a GitHub fine-grained token"],
    [/\bglpat-[A-Za-z0-9_-]{20,}\b/, "a GitLab token"],
    [
        /"auths"\s*:\s*\{[\s\S]{0,4000}?"(?:auth|password|identitytoken|registrytoken)"\s*:\s*"[^"]+"/,
        "registry credentials (a docker config)",
    ],
    [/\bclient-key-data\s*:\s*\S{20,}/, "a kubeconfig client key"],
];

/** Keys whose value is a credential (a kubeconfig `token`, `password`, an AccessKey secret, …). */
const SECRET_KEY =
    /^(?:token|password|passwd|secret|client-key-data|client_secret|clientSecret|secret[-_]?access[-_]?key|secretAccessKey|access[-_]?key[-_]?secret|accessKeySecret|private[-_]?key|api[-_]?key|auth)$/i;
/** Env variable names that hold credentials (AWS_SECRET_ACCESS_KEY, ALIBABA_CLOUD_ACCESS_KEY_SECRET, DB_PASSWORD). */
const SECRET_ENV = /(?:SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY|ACCESS_KEY_SECRET|API_KEY|CREDENTIALS)/i;

/** A value that is not itself a secret: empty, a reference, a placeholder, or SOPS ciphertext. */
function harmless(v: string): boolean {
    const s = v.trim();
    return s.length < 4 || /^ENC\[[A-Z0-9_]+,/.test(s) || /^\$\{[^}]+\}$/.test(s) || /^<[^>]*>$/.test(s);
}

const lineAt = (text: string, offset: number) => text.slice(0, Math.max(0, offset)).split("\n").length;

function textFindings(text: string): { offset: number; what: string }[] {
    const out: { offset: number; what: string }[] = [];
    for (const [re, what] of TEXT_RULES) {
        const m = re.exec(text);
        if (m) out.push({ offset: m.index, what });
    }
    // A private key escaped inside a string ("-----BEGIN…\nMII…") or folded over lines reads the same once
    // escapes and line breaks are gone.
    if (!out.some((f) => f.what === "a private key")) {
        const flat = text.replace(/\\n|\\r/g, " ").replace(/["'\s]+/g, " ");
        if (/-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/.test(flat))
            out.push({ offset: 0, what: "a private key" });
    }
    return out;
}

/** A scalar that is base64 of a credential (a docker config in a ConfigMap, a key in a value). */
function decoded(s: string): string | undefined {
    const t = s.replace(/\s+/g, "");
    if (t.length < 24 || t.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(t)) return undefined;
    const text = Buffer.from(t, "base64").toString("utf8");
    // Printable ASCII, tabs and line breaks only: binary is not a credential text.
    return [...text].every((c) => c === "\t" || c === "\n" || c === "\r" || (c >= " " && c <= "~")) ? text : undefined;
}

type Secretlint = (file: string, text: string) => Promise<{ line: number; message: string }[]>;
let secretlint: Promise<Secretlint> | undefined;

/** secretlint's core and its recommended preset (ESM packages, loaded once, on first use). */
function loadSecretlint(): Promise<Secretlint> {
    secretlint ??= (async () => {
        const core = await import("@secretlint/core");
        const preset = await import("@secretlint/secretlint-rule-preset-recommend");
        const config = { rules: [{ id: "@secretlint/secretlint-rule-preset-recommend", rule: preset.creator }] };
        return async (file: string, text: string) => {
            const r = await core.lintSource({
                source: { filePath: file, content: text, ext: path.extname(file), contentType: "text" },
                options: { config },
            });
            return r.messages.map((m) => ({
                line: m.loc?.start?.line ?? 1,
                message: `${m.message.split("\n")[0]} (secretlint ${m.ruleId})`,
            }));
        };
    })();
    return secretlint;
}

/** A chart's own templates are not YAML until rendered: only their text is judged. */
function inChartTemplates(p: string, files: ReadonlyMap<string, Buffer>): boolean {
    const parts = p.split("/");
    const t = parts.indexOf("templates");
    return t > 0 && files.has([...parts.slice(0, t), "Chart.yaml"].join("/"));
}

function isSopsSecret(o: Doc): boolean {
    if (!o.sops || typeof o.sops !== "object") return false;
    const values = [...Object.values(o.data ?? {}), ...Object.values(o.stringData ?? {})];
    return values.length > 0 && values.every((v) => typeof v === "string" && /^ENC\[[A-Z0-9_]+,/.test(v));
}

/** Why one document must not travel (a Secret with data, a secretGenerator), or undefined. */
function documentProblem(o: Doc, sopsAllowed: boolean): string | undefined {
    const has = (v: unknown) => Boolean(v) && typeof v === "object" && Object.keys(v as object).length > 0;
    if (o.kind === "Secret" && (has(o.data) || has(o.stringData))) {
        if (isSopsSecret(o)) {
            return sopsAllowed
                ? undefined
                : `the SOPS-encrypted Secret ${String(o.metadata?.name ?? "(no name)")} is applied by a Kustomization without decryption: {provider: sops}, so Flux would store the ciphertext as its value; add the decryption to that Kustomization`;
        }
        return `the Secret ${String(o.metadata?.name ?? "(no name)")} carries data; keep Secrets out of the artifact (deliver them with the cluster, e.g. from Pulumi, or encrypt them with SOPS)`;
    }
    if (has(o.secretGenerator))
        return "a kustomize secretGenerator; its literals and files would travel in the artifact (deliver the Secret with the cluster instead)";
    return undefined;
}

/** Credentials in a document's values, by key name, env variable, and base64 content. */
function valueFindings(node: Node | null | undefined): { offset: number; what: string }[] {
    const out: { offset: number; what: string }[] = [];
    if (!node) return out;
    visit(node, {
        Pair(_, pair) {
            if (!isScalar(pair.key) || !isScalar(pair.value)) return;
            const key = String(pair.key.value);
            const value = pair.value.value;
            if (typeof value === "string" && SECRET_KEY.test(key) && !harmless(value))
                out.push({ offset: pair.key.range?.[0] ?? 0, what: `a credential in "${key}"` });
        },
        Map(_, map) {
            // An env entry: {name: AWS_SECRET_ACCESS_KEY, value: …}, the value on the next line or not.
            const get = (k: string) => map.items.find((p) => isScalar(p.key) && p.key.value === k);
            const name = get("name");
            const value = get("value");
            if (name && value && isScalar(name.value) && isScalar(value.value)) {
                const n = String(name.value.value);
                const v = value.value.value;
                if (SECRET_ENV.test(n) && typeof v === "string" && !harmless(v))
                    out.push({ offset: name.value.range?.[0] ?? 0, what: `a credential in the env variable ${n}` });
            }
        },
        Scalar(_, scalar) {
            if (typeof scalar.value !== "string") return;
            const at = scalar.range?.[0] ?? 0;
            for (const f of textFindings(scalar.value)) out.push({ offset: at, what: f.what });
            const plain = decoded(scalar.value);
            if (plain) for (const f of textFindings(plain)) out.push({ offset: at, what: `${f.what}, base64-encoded` });
        },
    });
    return out;
}

/** `.env` files: KEY=VALUE lines with a credential's name. */
function envFileFindings(text: string): { offset: number; what: string }[] {
    const out: { offset: number; what: string }[] = [];
    let offset = 0;
    for (const line of text.split("\n")) {
        const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
        if (m && SECRET_ENV.test(m[1]) && !harmless(m[2].replace(/^["']|["']$/g, "")))
            out.push({ offset, what: `a credential in ${m[1]}` });
        offset += line.length + 1;
    }
    return out;
}

/** Problems of the files themselves (1 and 2 above), sorted, deduplicated. */
export async function fileProblems(files: ReadonlyMap<string, Buffer>): Promise<string[]> {
    const lint = await loadSecretlint();
    const problems = new Set<string>();
    for (const [p, bytes] of files) {
        const text = bytes.toString("utf8");
        for (const m of await lint(p, text)) problems.add(`${p}:${m.line}: ${m.message}`);
        for (const f of textFindings(text)) problems.add(`${p}:${lineAt(text, f.offset)}: ${f.what}`);
        if (/(^|\/)\.env$|\.env$/.test(p))
            for (const f of envFileFindings(text)) problems.add(`${p}:${lineAt(text, f.offset)}: ${f.what}`);
        if (!/\.(ya?ml|json)$/i.test(p) || inChartTemplates(p, files)) continue;
        const lines = new LineCounter();
        for (const doc of parseAllDocuments(text, { logLevel: "silent", lineCounter: lines })) {
            if (doc.errors.length > 0) {
                problems.add(
                    `${p}:${lineAt(text, doc.errors[0].pos[0])}: cannot be read as YAML (${doc.errors[0].message.split("\n")[0]}), so it cannot be checked for Secrets; fix it`,
                );
                break;
            }
            let o: unknown;
            try {
                o = doc.toJS(PARSE);
            } catch (e) {
                problems.add(
                    `${p}:${lineAt(text, doc.range[0])}: cannot be read as YAML (${(e as Error).message.split("\n")[0]}), so it cannot be checked for Secrets; fix it`,
                );
                continue;
            }
            for (const f of valueFindings(doc.contents)) problems.add(`${p}:${lineAt(text, f.offset)}: ${f.what}`);
            if (!o || typeof o !== "object" || Array.isArray(o)) continue;
            // Whether the file's Kustomization decrypts is known only once built (3); here, data is a finding
            // unless it is SOPS ciphertext.
            const why = documentProblem(o as Doc, true);
            if (why) problems.add(`${p}:${lineAt(text, locate(doc.contents, o as Doc, doc.range[0]))}: ${why}`);
        }
    }
    return [...problems].sort(byFileAndLine);
}

/** Where a document's kind (or secretGenerator) is written, for the line of a message. */
function locate(node: Node | null | undefined, o: Doc, fallback: number): number {
    if (!isMap(node)) return fallback;
    const key = o.kind === "Secret" ? "kind" : "secretGenerator";
    const pair = node.items.find((x) => isPair(x) && isScalar(x.key) && x.key.value === key);
    return (pair && isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? fallback;
}

function byFileAndLine(a: string, b: string): number {
    const [fa, la] = [a.slice(0, a.indexOf(":")), Number(/^[^:]*:(\d+)/.exec(a)?.[1] ?? 0)];
    const [fb, lb] = [b.slice(0, b.indexOf(":")), Number(/^[^:]*:(\d+)/.exec(b)?.[1] ?? 0)];
    return fa < fb ? -1 : fa > fb ? 1 : la - lb || (a < b ? -1 : a > b ? 1 : 0);
}

/** The line of `needle` in `text` (1 when absent). */
function lineOf(text: string, needle: string): number {
    const i = needle ? text.indexOf(needle) : -1;
    return i < 0 ? 1 : lineAt(text, i);
}

/**
 * What Flux applies (3 above): the cluster built as kustomize-controller builds it from `clusters/<cluster>`,
 * every built object judged; a path that cannot be built cannot be checked, and is a problem too.
 */
export async function appliedProblems(files: ReadonlyMap<string, Buffer>, cluster: string): Promise<string[]> {
    const dir = temporaryFolder("crossborder-publish-");
    try {
        for (const [p, bytes] of files) {
            fs.mkdirSync(path.join(dir, path.dirname(p)), { recursive: true });
            fs.writeFileSync(path.join(dir, p), bytes);
        }
        const build = await buildCluster(cluster, `clusters/${cluster}`, dir);
        const problems = build.problems.map((p) => `${p} (so what it applies cannot be checked for Secrets)`);
        for (const o of build.objects) {
            const text = files.get(o.file)?.toString("utf8") ?? "";
            const at = `${o.file}:${lineOf(text, o.id.name)}`;
            const why = documentProblem(o.object, o.decryption === "sops");
            if (why) problems.push(`${at}: ${why} (as kustomize builds it: ${describeId(o.id)})`);
            const doc = parseAllDocuments(JSON.stringify(o.object), { logLevel: "silent" })[0];
            for (const f of valueFindings(doc?.contents))
                problems.push(`${at}: ${f.what} (in ${describeId(o.id)} as kustomize builds it)`);
        }
        return [...new Set(problems)].sort(byFileAndLine);
    } finally {
        removeTemporaryFolder(dir);
    }
}
