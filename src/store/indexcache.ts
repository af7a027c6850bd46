/**
 * A per-user warm-start cache of a tier's compiled items (issue: the store; "warm start may
 * use a cache keyed by file size+mtime, like the reference's").
 *
 * One file per tier directory under `$XDG_CACHE_HOME/htrac/index/<sha256 of the real dir
 * path>.v8` (never inside the repository), written with `v8.serialize` atomically. An entry
 * is used only when the op file still has the same device, inode, size, mtime and ctime
 * (ctime cannot be set back by tools), and only when the tier's edit-mode log has the same
 * size and mtime as when the items were compiled; anything else is read and parsed again.
 * Files that failed to compile are never cached. `HTRAC_NO_CACHE=1` disables it.
 *
 * Values of custom fields are stored with PyFloat marked and mappings rebuilt with their
 * prototype-free shape on load, so a cached item is indistinguishable from a parsed one.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import { type DiscussionEntry, type Item, NO_EDITS } from "./compile.js";
import type { ItemRecord } from "./tierstore.js";
import { xdgCacheHome } from "./paths.js";
import { newMap, PyFloat, type YamlMap, type YamlValue } from "./values.js";

/** Bump when the cached shape or the compile rules change. */
export const INDEX_CACHE_VERSION = 5;

/** What the cache keeps of one op file: the record's file state and its compiled item. */
export type CachedRecord = Pick<
  ItemRecord,
  | "dev"
  | "ino"
  | "size"
  | "mtimeMs"
  | "ctimeMs"
  | "offset"
  | "lines"
  | "tail"
  | "problems"
  | "maxClock"
  | "opCount"
  | "createData"
> & { item: Item };

/** A tier's cache: the edit-log signature the items were compiled with, and the entries. */
export interface TierCache {
  editLog: { size: number; mtimeMs: number };
  entries: Map<string, CachedRecord>;
}

/** Cache file of a tier directory (null when disabled). */
export function indexCachePath(tierDir: string, env: NodeJS.ProcessEnv): string | null {
  if (env.HTRAC_NO_CACHE === "1") return null;
  let real: string;
  try {
    real = fs.realpathSync(tierDir);
  } catch {
    return null;
  }
  const h = createHash("sha256").update(real).digest("hex").slice(0, 32);
  return path.join(xdgCacheHome(env), "htrac", "index", `${h}.v8`);
}

const FLOAT = "\u0000pyfloat";

function encodeValue(v: YamlValue): unknown {
  if (v instanceof PyFloat) return { [FLOAT]: v.value };
  if (Array.isArray(v)) return v.map(encodeValue);
  if (v !== null && typeof v === "object") {
    const o: Record<string, unknown> = Object.create(null);
    for (const k of Object.keys(v))
      Object.defineProperty(o, k, {
        value: encodeValue(v[k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return o;
  }
  return v;
}

function decodeValue(v: unknown): YamlValue {
  if (Array.isArray(v)) return v.map(decodeValue);
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (Object.hasOwn(o, FLOAT)) return new PyFloat(o[FLOAT] as number);
    const m = newMap();
    for (const k of Object.keys(o)) m[k] = decodeValue(o[k]);
    return m;
  }
  return v as YamlValue;
}

/**
 * A thread as one JSON text of entry tuples: three quarters of a tracker's bytes are
 * discussion, and `JSON.parse` of tuples rebuilds them faster than `v8.deserialize` of
 * objects (≈230 vs 350 ms for 105k entries).
 */
function encodeDiscussion(d: DiscussionEntry[]): string {
  return JSON.stringify(
    d.map((e) => [e.by, e.actor, e.at, e.message, e.is_summary, e.nonce, e.is_tombstoned, e.edit_history]),
  );
}

function decodeDiscussion(text: string): DiscussionEntry[] {
  const rows = JSON.parse(text) as [string, string, string, string, boolean, string, boolean, string[]][];
  const out = new Array<DiscussionEntry>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    out[i] = {
      by: r[0],
      actor: r[1],
      at: r[2],
      message: r[3],
      is_summary: r[4],
      nonce: r[5],
      is_tombstoned: r[6],
      edit_history: r[7].length === 0 ? NO_EDITS : r[7],
    };
  }
  return out;
}

function encodeItem(it: Item): Item {
  return {
    ...it,
    fields: encodeValue(it.fields) as YamlMap,
    discussion: encodeDiscussion(it.discussion) as unknown as DiscussionEntry[],
  };
}

/**
 * Read a tier's cache. Never throws: a missing, corrupt or foreign-version file reads as
 * no cache. The file is a sequence of length-prefixed v8 chunks (a header, then entries in
 * groups), read through one reused buffer so a big cache never sits in memory twice.
 */
export function loadTierCache(file: string | null): TierCache | null {
  if (!file) return null;
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return null;
  }
  try {
    const lenBuf = Buffer.alloc(4);
    let pos = 0;
    let buf = Buffer.alloc(0);
    const next = (): unknown => {
      if (fs.readSync(fd, lenBuf, 0, 4, pos) !== 4) return undefined;
      const len = lenBuf.readUInt32LE(0);
      if (buf.length < len) buf = Buffer.allocUnsafe(Math.max(len, buf.length * 2));
      if (fs.readSync(fd, buf, 0, len, pos + 4) !== len) throw new Error("truncated cache");
      pos += 4 + len;
      return v8.deserialize(buf.subarray(0, len));
    };
    const head = next() as { version: number; editLog: { size: number; mtimeMs: number }; chunks: number };
    if (!head || head.version !== INDEX_CACHE_VERSION) return null;
    const entries = new Map<string, CachedRecord>();
    for (let c = 0; c < head.chunks; c++) {
      const chunk = next() as [string, CachedRecord][] | undefined;
      if (!Array.isArray(chunk)) return null;
      // Revive in place: no second copy of thousands of items.
      for (const [name, e] of chunk) {
        e.tail = Buffer.from(e.tail);
        e.createData = e.createData ? (decodeValue(e.createData) as YamlMap) : null;
        e.item.fields = decodeValue(e.item.fields) as YamlMap;
        e.item.discussion = decodeDiscussion(e.item.discussion as unknown as string);
        entries.set(name, e);
      }
    }
    return { editLog: head.editLog, entries };
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** Cache files kept per user (most recently written first), and their longest life. */
export const INDEX_CACHE_KEEP = 64;
export const INDEX_CACHE_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/**
 * Keep the per-user index directory bounded: caches of trackers not loaded for 30 days
 * (temp checkouts, deleted clones) and all but the 64 newest go, as do temp files older than
 * an hour (left by a crash mid-write). `keep` is never removed. Errors are ignored.
 */
export function pruneIndexCache(dir: string, keep: string, now = Date.now()): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const caches: { file: string; mtimeMs: number }[] = [];
  for (const n of names) {
    const file = path.join(dir, n);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      continue;
    }
    if (n.endsWith(".tmp")) {
      if (now - st.mtimeMs > 3600 * 1000) fs.rmSync(file, { force: true });
    } else if (n.endsWith(".v8") && file !== keep) caches.push({ file, mtimeMs: st.mtimeMs });
  }
  caches.sort((a, b) => b.mtimeMs - a.mtimeMs);
  caches.forEach((c, i) => {
    if (i >= INDEX_CACHE_KEEP - 1 || now - c.mtimeMs > INDEX_CACHE_MAX_AGE_MS)
      fs.rmSync(c.file, { force: true });
  });
}

/** Entries per chunk of the cache file. */
const CHUNK = 500;

/** The cache file's chunks, serialised one at a time: a header, then groups of entries. */
function* cacheChunks(cache: TierCache): Generator<Buffer> {
  const all = [...cache.entries];
  const chunks = Math.ceil(all.length / CHUNK);
  yield v8.serialize({ version: INDEX_CACHE_VERSION, editLog: cache.editLog, chunks });
  for (let c = 0; c < chunks; c++) {
    yield v8.serialize(
      all.slice(c * CHUNK, (c + 1) * CHUNK).map(([name, e]) => [
        name,
        {
          ...e,
          createData: e.createData ? (encodeValue(e.createData) as YamlMap) : null,
          item: encodeItem(e.item),
        },
      ]),
    );
  }
}

/**
 * Write a cache file atomically (temp file + rename, mode 0600), calling `between` after
 * each chunk (the background writer yields to the event loop there). Failures are ignored:
 * the cache is an optimisation.
 */
async function writeCache(
  file: string,
  cache: TierCache,
  between: (() => Promise<void>) | null,
): Promise<void> {
  let tmp: string | null = null;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
    const fd = fs.openSync(tmp, "wx", 0o600);
    try {
      for (const b of cacheChunks(cache)) {
        const len = Buffer.alloc(4);
        len.writeUInt32LE(b.length, 0);
        fs.writeSync(fd, len);
        fs.writeSync(fd, b);
        if (between) await between();
      }
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    tmp = null;
    pruneIndexCache(path.dirname(file), file);
  } catch {
    /* an unwritable cache directory only costs speed */
  } finally {
    if (tmp) fs.rmSync(tmp, { force: true });
  }
}

/** Write a tier's cache now (synchronously; see `writeCache`). */
export function saveTierCache(file: string | null, cache: TierCache): void {
  // With no `between`, writeCache runs to completion before returning its promise.
  if (file) void writeCache(file, cache, null);
}

/**
 * Write a tier's cache in the background: one chunk (≈500 items, a few ms) per event-loop
 * turn, so an interactive session stays responsive while a first cold start is cached.
 * The entries are a snapshot taken by the caller; items are immutable, so later changes
 * only make the cache older (its per-file stat checks catch that on the next load).
 */
export function saveTierCacheInBackground(file: string | null, cache: TierCache): Promise<void> {
  if (!file) return Promise.resolve();
  return writeCache(file, cache, () => new Promise<void>((r) => setImmediate(r)));
}
