/**
 * Access to the third-party test corpus in ../shared/corpus. It is not part of the repository: a fresh
 * clone outside CI has no ../shared. Corpus tests then count as skipped (loudly), never as passed; under
 * CI=true a missing corpus fails them.
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./helpers";

export const CORPUS = path.resolve(ROOT, "..", "shared", "corpus");

export function corpusAvailable(): boolean {
    return fs.existsSync(path.join(CORPUS, "README.md"));
}

/** Call in a mocha `before` hook: fails under CI=true, skips (with a warning) elsewhere. */
export function requireCorpus(ctx: Mocha.Context): void {
    if (corpusAvailable()) return;
    const message = `test corpus not found at ${CORPUS}`;
    if (process.env.CI === "true") throw new Error(`${message}: corpus tests cannot be skipped under CI=true`);
    console.warn(
        `  SKIPPED (corpus missing): ${message}; place ../shared/corpus beside the checkout to run these tests`,
    );
    ctx.skip();
}

export function corpusFile(...parts: string[]): string {
    return path.join(CORPUS, ...parts);
}
