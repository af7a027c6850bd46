/**
 * The ops journal: a write-ahead mirror of every appended op outside the repository, and
 * the recovery that restores ops a `git reset --hard` / checkout dropped (store.md §7.4).
 *
 * Ops appended by this tool are mirrored with the identical bytes, so the reference's
 * recovery and ours restore them alike. Recovery never rewrites existing op text: it only
 * appends missing op blocks (and, when the worktree file ends in a torn op that the journal
 * holds in full, replaces that torn tail — the one documented truncation).
 */
import fs from "node:fs";
import path from "node:path";
import { lockExclusive, unlock } from "./flock.js";
import { journalRoot, repoId } from "./paths.js";

/** Journal file for an op file. @returns null when `opPath` is not inside `repoRoot` */
export function journalPathFor(
  repoRoot: string,
  opPath: string,
  env: NodeJS.ProcessEnv = process.env,
): string | null {
  const rel = path.relative(repoRoot, opPath);
  if (rel.startsWith("..") || path.isAbsolute(rel)) return null;
  return path.join(journalRoot(env), repoId(repoRoot), rel);
}

/**
 * Append the exact op bytes to the journal (mkdir -p, O_APPEND|O_CREAT 0644, fsync).
 * Every failure is swallowed, as in the reference; no-op outside git (`repoRoot` null).
 */
export function mirrorOp(
  repoRoot: string | null,
  opPath: string,
  bytes: string,
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (!repoRoot) return;
  try {
    const jp = journalPathFor(repoRoot, opPath, env);
    if (!jp) return;
    fs.mkdirSync(path.dirname(jp), { recursive: true });
    const fd = fs.openSync(jp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o644);
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* the journal is best effort (store.md §7.4) */
  }
}

/** Move a journal file along with a tier move, so recovery does not resurrect the old copy. */
export function moveJournal(
  repoRoot: string | null,
  from: string,
  to: string,
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (!repoRoot) return;
  try {
    const a = journalPathFor(repoRoot, from, env);
    const b = journalPathFor(repoRoot, to, env);
    if (!a || !b || !fs.existsSync(a)) return;
    fs.mkdirSync(path.dirname(b), { recursive: true });
    if (fs.existsSync(b)) {
      fs.appendFileSync(b, fs.readFileSync(a));
      fs.unlinkSync(a);
    } else fs.renameSync(a, b);
  } catch {
    /* best effort */
  }
}

/**
 * Split op-log text into op blocks: each starts at a line beginning `- ` (store.md §7.4).
 * Text before the first block (blank lines, comments) is returned as block 0 if non-empty.
 */
export function splitOpBlocks(text: string): string[] {
  const blocks: string[] = [];
  let cur = "";
  let i = 0;
  while (i < text.length) {
    const nl = text.indexOf("\n", i);
    const line = nl < 0 ? text.slice(i) : text.slice(i, nl + 1);
    if (line.startsWith("- ") && cur !== "") {
      blocks.push(cur);
      cur = "";
    }
    cur += line;
    i = nl < 0 ? text.length : nl + 1;
  }
  if (cur !== "") blocks.push(cur);
  return blocks;
}

/** One file's recovery outcome. */
export interface RecoveredFile {
  file: string;
  /** Op blocks appended from the journal. */
  added: number;
  /** True when the worktree file was missing and recreated. */
  recreated: boolean;
  /** True when a torn last op was replaced by its complete journal copy. */
  repairedTornTail: boolean;
}

/** Result of `recoverFromJournal`. */
export interface RecoverResult {
  restored: RecoveredFile[];
  /** Journal files skipped, with the reason (e.g. the item now lives in another tier). */
  skipped: { file: string; reason: string }[];
}

function walk(dir: string, out: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

/**
 * Restore journalled ops missing from the worktree (store.md §7.4; `htrac recover`).
 * @param repoRoot repository toplevel
 * @param opts.otherTierCopy given a worktree path, returns another existing path of the same
 *   item (after a tier move); such journal files are skipped rather than resurrected
 * @returns what was restored and what was skipped
 */
export async function recoverFromJournal(
  repoRoot: string,
  opts: { env?: NodeJS.ProcessEnv; otherTierCopy?: (worktreePath: string) => string | null } = {},
): Promise<RecoverResult> {
  const env = opts.env ?? process.env;
  const base = path.join(journalRoot(env), repoId(repoRoot));
  const files: string[] = [];
  walk(base, files);
  files.sort();
  const result: RecoverResult = { restored: [], skipped: [] };
  for (const jf of files) {
    const rel = path.relative(base, jf);
    if (rel.startsWith("..") || path.isAbsolute(rel) || !rel.endsWith(".ops")) continue;
    const target = path.join(repoRoot, rel);
    let journal: string;
    try {
      journal = fs.readFileSync(jf, "utf8");
    } catch {
      continue;
    }
    if (journal.trim() === "") continue;
    if (!fs.existsSync(target)) {
      const other = opts.otherTierCopy?.(target) ?? null;
      if (other) {
        result.skipped.push({ file: target, reason: `item now lives at ${other}` });
        continue;
      }
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const existed = fs.existsSync(target);
    const fd = fs.openSync(target, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o664);
    try {
      if (!existed) {
        try {
          fs.fchmodSync(fd, 0o664);
        } catch {
          /* not owner */
        }
      }
      await lockExclusive(fd, target);
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(size);
      if (size > 0) fs.readSync(fd, buf, 0, size, 0);
      const current = buf.toString("utf8");
      const blocks = splitOpBlocks(current);
      let keepLength = Buffer.byteLength(current);
      let repairedTornTail = false;
      const jblocks = splitOpBlocks(journal).filter((b) => b.startsWith("- "));
      const last = blocks[blocks.length - 1];
      if (last !== undefined && !last.endsWith("\n")) {
        const full = jblocks.find((b) => b.startsWith(last) && b !== last);
        if (!full) {
          unlock(fd);
          result.skipped.push({
            file: target,
            reason: "the file ends in an incomplete op the journal cannot complete; repair it by hand",
          });
          continue;
        }
        blocks.pop();
        keepLength -= Buffer.byteLength(last);
        repairedTornTail = true;
      }
      const have = new Set(blocks);
      const missing: string[] = [];
      for (const b of jblocks) {
        if (!have.has(b) && b.endsWith("\n")) {
          missing.push(b);
          have.add(b);
        }
      }
      if (missing.length > 0 || repairedTornTail) {
        if (repairedTornTail) fs.ftruncateSync(fd, keepLength);
        fs.writeSync(fd, missing.join(""), keepLength);
        fs.fsyncSync(fd);
        result.restored.push({ file: target, added: missing.length, recreated: !existed, repairedTornTail });
      }
      unlock(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  return result;
}
