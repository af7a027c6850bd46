#!/usr/bin/env node
/**
 * The `htrac` executable: starts the program bundled in `htrac-main.cjs` (main.ts and
 * everything it uses, one CommonJS script) with a V8 code cache, so that a command does not
 * compile its code again on every start.
 *
 * Node 20 has no compile cache of its own (`module.enableCompileCache` is Node 22), and
 * compiling the bundle and the functions a command runs took ~30 ms of every command (a
 * 290 ms `ready --json` on the real corpus, a 180 ms `--version`). The script is compiled with
 * `vm.Script` and the code V8 made for it — including the functions the command ran — is kept
 * per command name (`ready`, `list`, `tui`, …) under `$XDG_CACHE_HOME/htrac/code/<build>/`,
 * written when the process exits if there was none or V8 refused it (another node version,
 * other flags; V8 checks that itself). `<build>` names the bundle (size, mtime) and node
 * version; directories of other builds are removed. Files are written through a temp file and
 * a rename, mode 0600 in 0700 directories, and read only when the directory and the file
 * are this user's and writable by nobody else; any failure just runs without a cache, and
 * `HTRAC_NO_CACHE=1` turns it off.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { IMPORT_HOOK } from "../store/esm.js";

const main = fileURLToPath(new URL("./htrac-main.cjs", import.meta.url));

/** Global options that take a value (skipped when looking for the command name). */
const VALUE_OPTIONS = new Set(["--tracker-root"]);

/**
 * The cache key of a command line: its command name (the first word that is not an option
 * or an option's value), or `main` (no command, or not a plain word).
 */
function commandKey(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith("-")) continue;
    return /^[a-z][a-z-]{0,30}$/.test(a) ? a : "main";
  }
  return "main";
}

/** Where the code cache of this build and command lives, or null when there is none to use. */
function cacheFile(env: NodeJS.ProcessEnv, st: fs.Stats): { dir: string; file: string } | null {
  if (env.HTRAC_NO_CACHE === "1") return null;
  const home = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : null;
  const base = path.join(home ?? path.join(os.homedir(), ".cache"), "htrac", "code");
  const build = `${st.size}-${Math.floor(st.mtimeMs)}-${process.version}-${process.arch}`;
  const dir = path.join(base, build);
  return { dir, file: path.join(dir, `${commandKey(process.argv.slice(2))}.v8c`) };
}

/** Keep `data` as the cache file (temp file + rename; old builds' directories go). */
function save(where: { dir: string; file: string }, data: Buffer): void {
  try {
    const base = path.dirname(where.dir);
    if (!fs.existsSync(where.dir)) {
      fs.mkdirSync(where.dir, { recursive: true, mode: 0o700 });
      for (const d of fs.readdirSync(base))
        if (d !== path.basename(where.dir)) fs.rmSync(path.join(base, d), { recursive: true, force: true });
    }
    const tmp = `${where.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, where.file);
  } catch {
    /* the cache is an optimisation */
  }
}

/**
 * Whether a cache directory or file is this user's own and nobody else may write it: code
 * from a cache file runs as this user, so a file someone else could have put there is never
 * used (where `getuid` does not exist, only the write bits are checked).
 */
function ownOnly(target: string | number): boolean {
  const st = typeof target === "number" ? fs.fstatSync(target) : fs.statSync(target);
  const uid = process.getuid?.();
  return (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
}

/** Run the bundle as a CommonJS module compiled through `vm.Script` with its code cache. */
function run(): void {
  const source = fs.readFileSync(main, "utf8");
  let where = cacheFile(process.env, fs.statSync(main));
  let cached: Buffer | undefined;
  try {
    if (where && fs.existsSync(where.dir) && !ownOnly(where.dir)) where = null; // (not ours: unused)
    if (where) {
      const fd = fs.openSync(where.file, "r");
      try {
        if (ownOnly(fd)) cached = fs.readFileSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
  } catch {
    cached = undefined; // (none yet)
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: main,
    cachedData: cached,
    // `import()` in the bundle (ES-only packages) goes to node's own loader.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (where && (!cached || script.cachedDataRejected === true))
    process.once("exit", () => save(where, script.createCachedData()));
  // Functions V8 takes from the code cache cannot call `import()` on Node 20 (they lost the
  // script's module context): the bundle's `importPackage` comes here for packages.
  (globalThis as Record<symbol, unknown>)[IMPORT_HOOK] = (name: string) => import(name);
  const module = { exports: {} };
  const fn = script.runInThisContext() as (...a: unknown[]) => void;
  fn(module.exports, createRequire(main), module, main, path.dirname(main));
}

run();
