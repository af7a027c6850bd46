/**
 * Advisory whole-file locks with `flock(2)` (store.md §7.2), through the maintained
 * `fs-ext` native binding. Python's `fcntl.flock` is flock(2) too, so the reference writer
 * and this one exclude each other on the same inode. (fcntl record locks and lock files
 * would not interoperate.) Locks are taken non-blocking and polled with jittered backoff,
 * so a lock held for a long time ends in a `LockTimeoutError` instead of a hang.
 */
import { createRequire } from "node:module";
import { LockTimeoutError } from "./errors.js";

interface FsExt {
  flockSync(fd: number, flags: "sh" | "ex" | "shnb" | "exnb" | "un"): void;
}

const require = createRequire(import.meta.url);
let fsExtMod: FsExt | null = null;
/** The native binding, loaded on the first lock (read-only commands never load it). */
function fsExt(): FsExt {
  if (!fsExtMod) fsExtMod = require("fs-ext") as FsExt;
  return fsExtMod;
}

/** Default lock wait in milliseconds (override with `HTRAC_LOCK_TIMEOUT` seconds). */
export function defaultLockTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env.HTRAC_LOCK_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 30_000;
}

/** Try to take an exclusive flock without blocking. @returns true when taken */
export function tryLockExclusive(fd: number): boolean {
  try {
    fsExt().flockSync(fd, "exnb");
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EAGAIN" || code === "EWOULDBLOCK") return false;
    throw e;
  }
}

/**
 * Take an exclusive flock on `fd`, waiting up to `timeoutMs`.
 * @param file path shown in the timeout message
 * @throws LockTimeoutError naming the file when another process keeps the lock
 */
export async function lockExclusive(
  fd: number,
  file: string,
  timeoutMs = defaultLockTimeoutMs(),
): Promise<void> {
  const start = Date.now();
  let delay = 1;
  for (;;) {
    if (tryLockExclusive(fd)) return;
    if (Date.now() - start >= timeoutMs) {
      throw new LockTimeoutError(
        `timed out after ${(timeoutMs / 1000).toFixed(1)}s waiting for the lock on ${file} (another writer holds it)`,
      );
    }
    await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 25);
  }
}

/** Release a flock (ignores errors: closing the fd releases it anyway). */
export function unlock(fd: number): void {
  try {
    fsExt().flockSync(fd, "un");
  } catch {
    /* closing the descriptor releases the lock */
  }
}
