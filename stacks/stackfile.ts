/**
 * Reads a `Pulumi.<stack>.yaml` stack file the way the Pulumi CLI hands it to a program: a flat map of
 * `namespace:key` → value (structured values stay structured; `secure:` values are secrets that an
 * offline run cannot decrypt). Keeps the YAML positions so a config error can name the file and line.
 */
import { InputError } from "../core/errors";
import * as path from "path";
import { describeProblem, parseYaml, readText, SourceError, YamlSource } from "../core/yaml-source";
import { ConfigError, ConfigIssue } from "./config";

/** Placeholder for a `secure:` value, which only the Pulumi CLI with the stack's key can decrypt. */
export const SECRET_PLACEHOLDER = "[secret: encrypted in the stack file]";

export interface StackFile {
    readonly file: string;
    /** The stack name the file is for (`Pulumi.<stack>.yaml`). */
    readonly stack: string;
    /** `namespace:key` → value, as the program receives it. */
    readonly config: Readonly<Record<string, unknown>>;
    /** Keys whose values are secrets. */
    readonly secretKeys: readonly string[];
    /** The 1-based line of a config key path such as `crossborder:cluster.nodeGroups[0].name`. */
    lineOf(key: string): number | undefined;
}

/** A stack file that cannot be used; the message names the file, the line when known, and the fix. */
export class StackFileError extends InputError {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

export function stackNameOf(file: string): string {
    const m = /^Pulumi\.([^/\\]+)\.ya?ml$/.exec(path.basename(file));
    if (!m) throw new StackFileError(`${file}: a stack file must be named Pulumi.<stack>.yaml`);
    return m[1];
}

export function readStackFile(file: string): StackFile {
    let text: string;
    try {
        text = readText(file, "stack file");
    } catch (e) {
        throw new StackFileError(
            (e as Error).message.replace("; check the path", "; check the path, or run from the project root"),
        );
    }
    return parseStackFile(text, file);
}

export function parseStackFile(text: string, file: string): StackFile {
    const stack = stackNameOf(file);
    let src: YamlSource;
    try {
        src = parseYaml(text, file);
    } catch (e) {
        if (e instanceof SourceError) throw new StackFileError(e.message);
        throw e;
    }
    const root = src.data as Record<string, unknown> | null;
    if (root !== null && (typeof root !== "object" || Array.isArray(root))) {
        throw new StackFileError(`${file}:1: a stack file must be a mapping with a "config:" key`);
    }
    const configNode = root?.config;
    if (
        configNode !== undefined &&
        configNode !== null &&
        (typeof configNode !== "object" || Array.isArray(configNode))
    ) {
        throw new StackFileError(`${src.at(["config"])}: "config:" must be a mapping of namespace:key entries`);
    }
    const config: Record<string, unknown> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries((configNode ?? {}) as Record<string, unknown>)) {
        if (
            value &&
            typeof value === "object" &&
            !Array.isArray(value) &&
            Object.keys(value).length === 1 &&
            "secure" in value
        ) {
            config[key] = SECRET_PLACEHOLDER;
            secretKeys.push(key);
        } else {
            config[key] = value ?? null;
        }
    }
    return { file, stack, config, secretKeys, lineOf: (key) => src.lineOf(keyPath(key)) };
}

/** `crossborder:cluster.nodeGroups[0].name` → ["config", "crossborder:cluster", "nodeGroups", 0, "name"] */
export function keyPath(key: string): (string | number)[] {
    const colon = key.indexOf(":");
    const rest = key.slice(colon + 1);
    const head = rest.split(/[.[]/)[0];
    const segments: (string | number)[] = ["config", key.slice(0, colon + 1) + head];
    const re = /\.([^.[\]]+)|\[(\d+)\]/g;
    let m: RegExpExecArray | null;
    const tail = rest.slice(head.length);
    while ((m = re.exec(tail))) segments.push(m[1] !== undefined ? m[1] : Number(m[2]));
    return segments;
}

/** Render a ConfigError against the stack file it came from: one `file:line: key: problem; fix` per issue. */
export function describeConfigError(err: ConfigError, file: StackFile): string {
    return err.issues.map((i) => locateIssue(i, file)).join("\n");
}

export function locateIssue(i: ConfigIssue, file: StackFile): string {
    const line = file.lineOf(i.key);
    return describeProblem(`${file.file}${line ? `:${line}` : ""}`, i.key, i.problem, i.fix);
}
