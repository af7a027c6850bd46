/**
 * The append protocol (store.md §7.2), shared by every write.
 *
 * 1. repair directory permissions (g+w, g+x, setgid) when we own the directory;
 * 2. open `O_WRONLY|O_APPEND` (on EACCES: take ownership by same-directory copy + rename);
 * 3. `flock(LOCK_EX)` on the op file itself, then re-check that the path still names the
 *    locked inode (a concurrent rename would otherwise swallow our op);
 * 4. under the lock: re-read the file, refuse uncompilable / torn files (§6.5) and agent
 *    writes to frozen items (§6.4), run the caller's guards, compute the Lamport clock
 *    from the file and git refs (§7.1);
 * 5. one `write` of the serialised op, `fsync`; on failure truncate back to the original
 *    size (our own partial bytes only) and report which file and why;
 * 6. mirror the identical bytes to the journal (§7.4), unlock, close; a human write
 *    refreshes a `.frozen` sentinel.
 *
 * Creates use `O_CREAT|O_EXCL` (stricter than the reference's O_TRUNC, same bytes).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { type Item, ItemFold, sortOps } from "./compile.js";
import { CorruptFileError, FrozenItemError, TrackerError, WriteFailedError } from "./errors.js";
import { lockExclusive, unlock } from "./flock.js";
import { catFileBatch, repoRelative, unmergedBranches } from "./git.js";
import { mirrorOp } from "./journal.js";
import { type Op, parseOpLog } from "./oplog.js";
import { frozenPathFor } from "./paths.js";
import { serializeOp } from "./serialize.js";
import { decodeStrict } from "./tierstore.js";

/** Environment of a write. */
export interface AppendEnv {
  /** Repository toplevel (null outside git: no git peek, no journal). */
  repoRoot: string | null;
  env: NodeJS.ProcessEnv;
  lockTimeoutMs: number;
  /** Peek git refs for clocks and locks (store.md §7.1, §6.3). */
  gitPeek: boolean;
  lamportBranches: string[];
  /** Random 4-hex nonce source (injectable for tests). */
  nonce: () => string;
}

/** What an op builder sees under the lock. */
export interface LockedState {
  /** Ops of the file in file order. */
  ops: Op[];
  /** The compiled item (edit-mode log not applied), null for an empty file. */
  item: Item | null;
  /** Highest clock in the local file. */
  localMaxClock: number;
  /** Locks found on `lamport_branches` + HEAD (store.md §6.3). */
  branchLocks: string[];
  /** Nonces already used in the file. */
  nonces: Set<string>;
  /** `.frozen` sentinel exists. */
  frozen: boolean;
}

/** Random 4-lowercase-hex nonce (`secrets.token_hex(2)`). */
export function randomNonce(): string {
  return randomBytes(2).toString("hex");
}

/** A nonce not used in `used` (store.md §8.6 item 9), from `gen`. */
export function freshNonce(gen: () => string, used: Set<string>): string {
  let n = gen();
  for (let i = 0; i < 64 && used.has(n); i++) n = gen();
  return n;
}

/** Ensure g+w, g+x and setgid on a directory we own (store.md §7.2 step 1). */
export function repairDirPerms(dir: string): void {
  try {
    const st = fs.statSync(dir);
    if (typeof process.getuid === "function" && st.uid === process.getuid()) {
      const want = st.mode | 0o2070;
      if ((st.mode & 0o7777) !== (want & 0o7777)) fs.chmodSync(dir, want & 0o7777);
    }
  } catch {
    /* best effort */
  }
}

/** mkdir -p with mode 2775 for directories we create. */
export function ensureDir(dir: string): void {
  if (fs.existsSync(dir)) return;
  ensureDir(path.dirname(dir));
  try {
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o2775);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
}

interface GitPeek {
  maxClock: number;
  branchLocks: string[];
}

async function peekGit(envx: AppendEnv, file: string): Promise<GitPeek> {
  const out: GitPeek = { maxClock: 0, branchLocks: [] };
  if (!envx.gitPeek || !envx.repoRoot) return out;
  const rel = repoRelative(envx.repoRoot, file);
  if (rel.startsWith("..")) return out;
  const lockRefs = [...envx.lamportBranches, "HEAD"];
  const unmerged =
    envx.lamportBranches.length > 0 ? await unmergedBranches(envx.repoRoot, envx.lamportBranches[0]) : [];
  const contents = await catFileBatch(envx.repoRoot, [...lockRefs, ...unmerged], rel);
  const locks = new Set<string>();
  for (const [ref, text] of contents) {
    const res = parseOpLog(text);
    for (const op of res.ops) {
      const c = typeof op.clock === "number" ? op.clock : 0;
      if (c > out.maxClock) out.maxClock = c;
    }
    if (lockRefs.includes(ref) && res.problems.every((p) => !p.fatal)) {
      try {
        const fold = new ItemFold("peek");
        for (const { key, op } of sortOps(res.ops)) fold.apply(op, key);
        if (fold.hasCreate) for (const l of fold.finish().locked_fields) locks.add(l);
      } catch {
        /* unparseable peek = no ops (store.md §2.7) */
      }
    }
  }
  out.branchLocks = [...locks];
  return out;
}

/** Read the file through the locked descriptor and compile it (store.md §6.5). */
function readLocked(
  fd: number,
  file: string,
): { ops: Op[]; item: Item | null; maxClock: number; nonces: Set<string>; size: number } {
  const size = fs.fstatSync(fd).size;
  const buf = Buffer.alloc(size);
  let got = 0;
  while (got < size) {
    const r = fs.readSync(fd, buf, got, size - got, got);
    if (r === 0) break;
    got += r;
  }
  const name = path.basename(file);
  const uncompilable = (why: string) =>
    new CorruptFileError(
      `${name}: item is uncompilable (frozen). A human must inspect the ops file before further writes. (${why})`,
      file,
    );
  if (size === 0) return { ops: [], item: null, maxClock: 0, nonces: new Set(), size };
  const dec = decodeStrict(buf);
  if ("badByte" in dec) throw uncompilable(`invalid UTF-8 at byte ${dec.badByte}`);
  const res = parseOpLog(dec.text, { file: name });
  if (res.problems.length > 0) throw uncompilable(res.problems[0].message);
  let item: Item | null = null;
  let maxClock = 0;
  const nonces = new Set<string>();
  try {
    const fold = new ItemFold(name.slice(1, -4));
    for (const { key, op } of sortOps(res.ops)) {
      fold.apply(op, key);
      if (key.clock > maxClock) maxClock = key.clock;
      if (typeof op.nonce === "string") nonces.add(op.nonce);
    }
    item = fold.finish();
  } catch (e) {
    throw uncompilable((e as Error).message);
  }
  return { ops: res.ops, item, maxClock, nonces, size };
}

function writeAll(fd: number, bytes: Buffer, file: string, originalSize: number, rollback: boolean): void {
  try {
    let off = 0;
    while (off < bytes.length) {
      const n = fs.writeSync(fd, bytes, off, bytes.length - off);
      if (n <= 0) throw Object.assign(new Error("short write"), { code: "EIO" });
      off += n;
    }
    fs.fsyncSync(fd);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (rollback) {
      try {
        fs.ftruncateSync(fd, originalSize);
        fs.fsyncSync(fd);
      } catch {
        /* nothing more we can do */
      }
    }
    throw new WriteFailedError(
      `${file}: write failed: ${err.message} (${err.code ?? "EIO"}); ${rollback ? "nothing was appended" : "the file was not created"}`,
      file,
      err.code,
    );
  }
}

/**
 * Replace an op file's content at once: a new `.htrac_<hex>.ops` file beside it (a name
 * readers skip, store.md §1), mode 0664, fsync-ed, renamed over `file`. A writer holding the
 * old file's lock finds the path on a new inode and retries there (`appendOp`).
 * @param content the whole new content
 */
export function replaceOpFile(file: string, content: string | Buffer): void {
  const tmp = path.join(path.dirname(file), `.htrac_${randomBytes(4).toString("hex")}.ops`);
  const wfd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o664);
  try {
    fs.writeFileSync(wfd, content);
    fs.fchmodSync(wfd, 0o664);
    fs.fsyncSync(wfd);
  } finally {
    fs.closeSync(wfd);
  }
  fs.renameSync(tmp, file);
}

/** Copy-and-rename a file owned by another user so we own it (store.md §7.2 step 3). */
function takeOwnership(file: string): void {
  const rfd = fs.openSync(file, "r");
  try {
    replaceOpFile(file, fs.readFileSync(rfd));
  } finally {
    fs.closeSync(rfd);
  }
}

/** Replace the `.frozen` sentinel with a fresh 0444 copy of the op file (store.md §6.4). */
export function refreshFrozen(file: string): void {
  const frozen = frozenPathFor(file);
  if (!fs.existsSync(frozen)) return;
  writeFrozenCopy(file, frozen);
}

/** Copy `file` to `frozen` through a same-directory temp file and rename; mode 0444. */
export function writeFrozenCopy(file: string, frozen: string): void {
  const tmp = path.join(path.dirname(file), `.htrac_frz_${randomBytes(4).toString("hex")}.tmp`);
  fs.copyFileSync(file, tmp);
  fs.chmodSync(tmp, 0o444);
  fs.renameSync(tmp, frozen);
}

/** Result of a successful append. */
export interface AppendResult {
  op: Op;
  /** The exact bytes appended. */
  bytes: string;
  /** The item after the append (edit-mode log not applied). */
  item: Item | null;
}

/**
 * Append one op to an existing item file under the protocol above.
 * @param build called under the lock with the fresh state; returns the op without
 *   `clock`/`nonce` (filled in here) or null to write nothing; may throw typed errors
 * @param actorBy `agent` writes are refused on frozen items; `human` writes refresh the sentinel
 * @throws ItemNotFound-like TrackerError when the file vanished, CorruptFileError,
 *   FrozenItemError, LockTimeoutError, WriteFailedError, or whatever `build` throws
 */
export async function appendOp(
  file: string,
  envx: AppendEnv,
  actorBy: "agent" | "human",
  build: (st: LockedState) => Op | null | Promise<Op | null>,
): Promise<AppendResult | null> {
  repairDirPerms(path.dirname(file));
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new TrackerError(`${file}: op file vanished; nothing was written`);
      if (code === "EACCES" || code === "EPERM") {
        try {
          takeOwnership(file);
        } catch (e2) {
          throw new WriteFailedError(
            `${file}: permission denied and cannot take ownership: ${(e2 as Error).message}`,
            file,
            "EACCES",
          );
        }
        continue;
      }
      throw new WriteFailedError(`${file}: cannot open for append: ${(e as Error).message}`, file, code);
    }
    let locked = false;
    try {
      // Read through a separate read descriptor (the append one is write-only).
      await lockExclusive(fd, file, envx.lockTimeoutMs);
      locked = true;
      let pathIno: number;
      try {
        pathIno = fs.statSync(file).ino;
      } catch {
        pathIno = -1;
      }
      if (pathIno !== fs.fstatSync(fd).ino) continue; // replaced under us: retry on the new inode
      try {
        const st = fs.statSync(file);
        if (typeof process.getuid === "function" && st.uid === process.getuid() && (st.mode & 0o020) === 0) {
          fs.fchmodSync(fd, (st.mode | 0o020) & 0o7777);
        }
      } catch {
        /* ignore */
      }
      const rfd = fs.openSync(file, "r");
      let fresh: ReturnType<typeof readLocked>;
      try {
        fresh = readLocked(rfd, file);
      } finally {
        fs.closeSync(rfd);
      }
      const frozen = fs.existsSync(frozenPathFor(file));
      if (frozen && actorBy === "agent") {
        const id = path.basename(file).slice(1, -4);
        throw new FrozenItemError(`Item ${id} is frozen. Ask the human to unfreeze it.`);
      }
      const peek = await peekGit(envx, file);
      const op = await build({
        ops: fresh.ops,
        item: fresh.item,
        localMaxClock: fresh.maxClock,
        branchLocks: peek.branchLocks,
        nonces: fresh.nonces,
        frozen,
      });
      if (!op) return null;
      const nonce = freshNonce(envx.nonce, fresh.nonces);
      const full = withClockAndNonce(op, Math.max(fresh.maxClock, peek.maxClock) + 1, nonce);
      const text = serializeOp(full);
      writeAll(fd, Buffer.from(text, "utf8"), file, fresh.size, true);
      mirrorOp(envx.repoRoot, file, text, envx.env);
      unlock(fd);
      locked = false;
      if (actorBy === "human" && frozen) {
        try {
          refreshFrozen(file);
        } catch {
          /* sentinel refresh is best effort */
        }
      }
      let item: Item | null = null;
      try {
        const fold = new ItemFold(path.basename(file).slice(1, -4));
        for (const { key, op: o } of sortOps([...fresh.ops, full])) fold.apply(o, key);
        item = fold.finish();
      } catch {
        item = null;
      }
      return { op: full, bytes: text, item };
    } finally {
      if (locked) unlock(fd);
      fs.closeSync(fd);
    }
  }
  throw new TrackerError(
    `${file}: the file kept being replaced while waiting for its lock; nothing was written`,
  );
}

/** Put `clock` and `nonce` in their canonical places in an op. */
export function withClockAndNonce(op: Op, clock: number, nonce: string): Op {
  const out: Op = Object.create(null);
  for (const k of ["op", "at", "by", "actor"]) if (k in op) out[k] = op[k];
  out.clock = clock;
  out.nonce = nonce;
  for (const k of Object.keys(op)) if (!(k in out)) out[k] = op[k];
  return out;
}

/**
 * Create a new item file holding one `create` op (store.md §7.2 "create").
 * @param op the create op without clock/nonce
 * @returns the op written and its bytes
 * @throws TrackerError with code EEXIST semantics when the file appeared meanwhile (the
 *   caller decides between "already exists" and a salted ID), WriteFailedError
 */
export async function createItemFile(
  file: string,
  envx: AppendEnv,
  op: Op,
  nonce: string,
): Promise<AppendResult> {
  ensureDir(path.dirname(file));
  repairDirPerms(path.dirname(file));
  const peek = await peekGit(envx, file);
  const full = withClockAndNonce(op, peek.maxClock + 1, nonce);
  const text = serializeOp(full);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o664);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST")
      throw Object.assign(new TrackerError(`${file} already exists`), { code: "EEXIST" });
    throw new WriteFailedError(`${file}: cannot create: ${(e as Error).message}`, file, code);
  }
  let ok = false;
  try {
    try {
      fs.fchmodSync(fd, 0o664);
    } catch {
      /* ignore */
    }
    await lockExclusive(fd, file, envx.lockTimeoutMs);
    writeAll(fd, Buffer.from(text, "utf8"), file, 0, true);
    mirrorOp(envx.repoRoot, file, text, envx.env);
    unlock(fd);
    ok = true;
  } finally {
    fs.closeSync(fd);
    if (!ok) {
      // Remove the empty file we created (it holds none of our bytes and no one else's).
      try {
        if (fs.statSync(file).size === 0) fs.unlinkSync(file);
      } catch {
        /* ignore */
      }
    }
  }
  let item: Item | null = null;
  try {
    const fold = new ItemFold(path.basename(file).slice(1, -4));
    for (const { key, op: o } of sortOps([full])) fold.apply(o, key);
    item = fold.finish();
  } catch {
    item = null;
  }
  return { op: full, bytes: text, item };
}

/**
 * Append an op to a global edit-mode log (store.md §2.4.4): directory 0755, file 0664,
 * flock, fsync, one blank line after the op, clock 0, not journalled.
 */
export async function appendEditModeLog(logPath: string, envx: AppendEnv, op: Op): Promise<string> {
  const dir = path.dirname(logPath);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    try {
      fs.chmodSync(dir, 0o755);
    } catch {
      /* ignore */
    }
  }
  const existed = fs.existsSync(logPath);
  const fd = fs.openSync(
    logPath,
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND,
    0o664,
  );
  try {
    if (!existed) {
      try {
        fs.fchmodSync(fd, 0o664);
      } catch {
        /* ignore */
      }
    }
    await lockExclusive(fd, logPath, envx.lockTimeoutMs);
    const size = fs.fstatSync(fd).size;
    const text = `${serializeOp(withClockAndNonce(op, 0, envx.nonce()))}\n`;
    writeAll(fd, Buffer.from(text, "utf8"), logPath, size, true);
    unlock(fd);
    return text;
  } finally {
    fs.closeSync(fd);
  }
}
