/**
 * Tracker layout (store.md §1): discovery of the `.agent/` root, tier directories, item
 * file names, per-user cache dir and the ops journal location. Every path built from an
 * item ID goes through `opFilePath`, which refuses IDs that could leave the tier directory.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Tier } from "./compile.js";
import { UnsafePathError } from "./errors.js";
import { isSafeIdComponent } from "./ids.js";

/** All the paths of one tracker. */
export interface TrackerPaths {
  /** The `.agent/` directory (tracker root). */
  root: string;
  /** `<root>/tracker`: canonical tier root and config dir for all tiers. */
  configDir: string;
  /** `<root>/tracker-workspace`. */
  workspaceRoot: string;
  /** Op-log directory per tier. */
  tierDirs: Record<Tier, string>;
  /** TUI preferences file shared with the reference TUI (tui.md §3.7). */
  prefsFile: string;
  /** Where screenshots go (tui.md §5.1). */
  screenshotsDir: string;
  /** Tag catalog (store.md §8.4). */
  tagCatalog: string;
}

/**
 * Find the tracker root: the first ancestor of `start` (inclusive) containing `.agent/`.
 * @returns the `.agent` directory, or null
 */
export function findTrackerRoot(start: string = process.cwd()): string | null {
  let cur = path.resolve(start);
  for (;;) {
    const cand = path.join(cur, ".agent");
    try {
      if (fs.statSync(cand).isDirectory()) return cand;
    } catch {
      /* keep walking */
    }
    const up = path.dirname(cur);
    if (up === cur) return null;
    cur = up;
  }
}

/**
 * Normalise a user-given tracker root: the `.agent` directory itself, or a directory that
 * contains `.agent/` (a repository root) — both are accepted.
 * @throws UnsafePathError on NUL bytes; returns the resolved path
 */
export function normaliseTrackerRoot(given: string): string {
  if (given.includes("\0")) throw new UnsafePathError("tracker root contains a NUL byte");
  const abs = path.resolve(given);
  const hasTracker =
    fs.existsSync(path.join(abs, "tracker")) || fs.existsSync(path.join(abs, "tracker-workspace"));
  if (!hasTracker && path.basename(abs) !== ".agent") {
    const inner = path.join(abs, ".agent");
    try {
      if (fs.statSync(inner).isDirectory()) return inner;
    } catch {
      /* not a repo root */
    }
  }
  return abs;
}

/** Compute the paths of a tracker rooted at `root` (the `.agent` directory). */
export function trackerPaths(root: string): TrackerPaths {
  const configDir = path.join(root, "tracker");
  const workspaceRoot = path.join(root, "tracker-workspace");
  return {
    root,
    configDir,
    workspaceRoot,
    tierDirs: {
      canonical: path.join(configDir, ".ops"),
      workspace: path.join(workspaceRoot, ".ops"),
      stealth: path.join(workspaceRoot, "stealth"),
    },
    prefsFile: path.join(workspaceRoot, "tui_preferences.json"),
    screenshotsDir: path.join(root, "screenshots"),
    tagCatalog: path.join(configDir, "tag_catalog.yaml"),
  };
}

/**
 * The global edit-mode log of a tier (store.md §2.4.4): `<ops_dir>/../.edit-mode/edit-mode.ops`,
 * so stealth shares the workspace log.
 */
export function editModeLogPath(paths: TrackerPaths, tier: Tier): string {
  const tierRoot = tier === "canonical" ? paths.configDir : paths.workspaceRoot;
  return path.join(tierRoot, ".edit-mode", "edit-mode.ops");
}

/** `.` + ID + `.ops` (store.md §1). */
export function opFileName(id: string): string {
  return `.${id}.ops`;
}

/**
 * Item ID from a directory entry name, or null when the entry is not an item file
 * (store.md §1: starts with `.`, ends with `.ops`; transient `.htrac_*.ops` temp files of
 * the take-ownership rewrite are skipped).
 */
export function idFromFileName(name: string): string | null {
  if (!name.startsWith(".") || !name.endsWith(".ops") || name.length <= 5) return null;
  if (name.startsWith(".htrac_")) return null;
  const id = name.slice(1, -4);
  return isSafeIdComponent(id) ? id : null;
}

/**
 * Path of an item's op file in a tier directory.
 * @throws UnsafePathError when the ID contains path separators, `..`, NUL or other
 *   characters that could escape the tier directory
 */
export function opFilePath(tierDir: string, id: string): string {
  if (!isSafeIdComponent(id)) throw new UnsafePathError(`invalid item ID: ${JSON.stringify(id)}`);
  const p = path.join(tierDir, opFileName(id));
  if (path.dirname(p) !== path.resolve(tierDir) && path.dirname(p) !== tierDir) {
    throw new UnsafePathError(`invalid item ID: ${JSON.stringify(id)}`);
  }
  return p;
}

/** Freeze sentinel path next to an op file (store.md §6.4). */
export function frozenPathFor(opPath: string): string {
  return opPath.replace(/\.ops$/, ".frozen");
}

/** Home directory as Python's `expanduser("~")` sees it (`$HOME`, else the passwd entry). */
export function homeDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOME && env.HOME.length > 0 ? env.HOME : os.homedir();
}

/**
 * Journal file for an op file (store.md §7.4):
 * `${HYPERGUMBO_TRACKER_JOURNAL_ROOT:-~/hypergumbo_lab_notebook/tracker-ops-journal}/<repo_id>/<repo-relative path>`.
 * @returns null outside a git repository
 */
export function journalRoot(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.HYPERGUMBO_TRACKER_JOURNAL_ROOT ||
    path.join(homeDir(env), "hypergumbo_lab_notebook", "tracker-ops-journal")
  );
}

/** Fingerprint of a repository for the per-user cache dir (store.md §1). */
export function cacheFingerprint(originUrl: string | null, rootCommit: string | null): string | null {
  const parts = [originUrl, rootCommit].filter((x): x is string => !!x);
  if (parts.length === 0) return null;
  return createHash("sha256").update(parts.join("\n"), "utf8").digest("hex").slice(0, 16);
}

/**
 * Where `:N` aliases are kept for a tracker the reference has no cache dir for (no git, or no
 * origin and no commit yet; cli.md §1.5, §5): `${XDG_CACHE_HOME:-~/.cache}/htrac/aliases/`
 * and the first 16 hex of the sha256 of the tracker root's real path (the path as given when
 * it cannot be resolved). Per user and per tracker, outside the repository.
 * @param trackerRoot the `.agent` directory
 */
export function aliasFallbackDir(trackerRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  let real = path.resolve(trackerRoot);
  try {
    real = fs.realpathSync(real);
  } catch {
    /* not there (yet): the path as given */
  }
  const key = createHash("sha256").update(real, "utf8").digest("hex").slice(0, 16);
  return path.join(xdgCacheHome(env), "htrac", "aliases", key);
}

/** `${XDG_CACHE_HOME:-~/.cache}` */
export function xdgCacheHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.XDG_CACHE_HOME || path.join(homeDir(env), ".cache");
}

/** Find the git toplevel containing `dir` (first ancestor with a `.git` entry). */
export function findRepoRoot(dir: string): string | null {
  let cur = path.resolve(dir);
  for (;;) {
    if (fs.existsSync(path.join(cur, ".git"))) return cur;
    const up = path.dirname(cur);
    if (up === cur) return null;
    cur = up;
  }
}

/** `sha256(str(resolved repo toplevel))[:12]`: the repo id of the journal and protected configs. */
export function repoId(repoRoot: string): string {
  let resolved = repoRoot;
  try {
    resolved = fs.realpathSync(repoRoot);
  } catch {
    /* keep as is */
  }
  return createHash("sha256").update(resolved, "utf8").digest("hex").slice(0, 12);
}
