/** Small helpers shared by the CLI commands. */
import { InputError } from "../core/errors";
import * as fs from "fs";
import * as path from "path";
import type { HostCredentials } from "../gitops/registry/client";

/** A mistake in how the command was called: exit 2 with this message. */
export class UsageError extends InputError {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/**
 * Write several files so that each one is either the old or the new version, never a torn mix: all new
 * contents go to temporary files beside their targets first, then each is renamed into place.
 */
export function writeFilesAtomically(files: ReadonlyMap<string, string | Buffer>): void {
    const temps: [string, string][] = [];
    try {
        for (const [target, content] of files) {
            fs.mkdirSync(path.dirname(target), { recursive: true });
            const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
            fs.writeFileSync(temp, content);
            temps.push([temp, target]);
        }
        for (const [temp, target] of temps) fs.renameSync(temp, target);
    } catch (e) {
        for (const [temp] of temps) fs.rmSync(temp, { force: true });
        throw e;
    }
}

/** Credentials for one host, when both halves are given: never sent to any other host. */
export function hostCredentials(host: string, username?: string, password?: string): HostCredentials[] {
    return username && password ? [{ host, username, password }] : [];
}

/** CROSSBORDER_REGISTRY_USERNAME/PASSWORD, for the one registry a command names. */
export function registryCredentials(host: string): HostCredentials[] {
    return hostCredentials(host, process.env.CROSSBORDER_REGISTRY_USERNAME, process.env.CROSSBORDER_REGISTRY_PASSWORD);
}
