/**
 * Mocha root hooks for the whole run: every test writes its render cache and chart cache into one
 * temporary folder instead of the user's ~/.cache, and every temporary folder a test makes
 * (helpers.tempDir) is removed when the run ends, whatever its outcome.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createdTempDirs } from "./helpers";

const cache = fs.mkdtempSync(path.join(os.tmpdir(), "crossborder-test-cache-"));
process.env.CROSSBORDER_CACHE = cache;

export const mochaHooks = {
    afterAll(): void {
        for (const dir of [...createdTempDirs, cache]) fs.rmSync(dir, { recursive: true, force: true });
    },
};
