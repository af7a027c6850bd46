/**
 * Per test file: a private per-user cache directory (warm-start index caches and `:N` alias
 * stashes of temp trackers never land in the real ~/.cache), and removal of the temp
 * directories the file made once its tests are done.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import { cleanupTmpDirs } from "./helpers.js";

const cache = fs.mkdtempSync(path.join(os.tmpdir(), "htrac-test-cache-"));
process.env.XDG_CACHE_HOME = cache;

afterAll(() => {
  cleanupTmpDirs();
  fs.rmSync(cache, { recursive: true, force: true });
});
