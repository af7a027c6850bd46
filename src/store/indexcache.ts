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
export const INDEX_CACHE_VERSION = 8;

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
  | "lastKey"
  | "hasEditOps"
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
      Object.defineProperty(o, escapeKey(k), {
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
    for (const k of Object.keys(o)) m[unescapeKey(k)] = decodeValue(o[k]);
    return m;
  }
  return v as YamlValue;
}

/**
 * Keys beginning with NUL get one more NUL, so no data key can pass for a marker
 * (`\u0000pyfloat`, `\u0000same`).
 */
function escapeKey(k: string): string {
  return k.charCodeAt(0) === 0 ? `\u0000${k}` : k;
}

function unescapeKey(k: string): string {
  return k.charCodeAt(0) === 0 ? k.slice(1) : k;
}

/** Marks a create-data value that is the item's own value (stored once, shared on revive). */
const SAME = "\u0000same";

/**
 * The create op's data relative to the compiled item: text attributes and custom fields the
 * item still holds unchanged (the same value: usually all of them) are stored as a marker,
 * so the cache does not hold every title, description and field twice and a revived record
 * shares them with its item, as a parsed one does.
 */
function encodeCreateData(data: YamlMap, item: Item): unknown {
  const out: Record<string, unknown> = Object.create(null);
  const put = (o: Record<string, unknown>, k: string, v: unknown) =>
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  const attrs = item as unknown as Record<string, unknown>;
  for (const k of Object.keys(data)) {
    const v = data[k];
    if (k === "fields" && isMapValue(v)) {
      const f: Record<string, unknown> = Object.create(null);
      for (const fk of Object.keys(v))
        put(
          f,
          escapeKey(fk),
          Object.hasOwn(item.fields, fk) && item.fields[fk] === v[fk] ? { [SAME]: 1 } : encodeValue(v[fk]),
        );
      put(out, k, f);
    } else if (typeof v === "string" && k !== "fields" && Object.hasOwn(attrs, k) && attrs[k] === v) {
      put(out, escapeKey(k), { [SAME]: 1 });
    } else put(out, escapeKey(k), encodeValue(v));
  }
  return out;
}

function decodeCreateData(v: unknown, item: Item): YamlMap {
  const o = v as Record<string, unknown>;
  const attrs = item as unknown as Record<string, YamlValue>;
  const m = newMap();
  for (const ek of Object.keys(o)) {
    const k = unescapeKey(ek);
    const x = o[ek];
    if (isSame(x)) m[k] = attrs[k];
    else if (
      k === "fields" &&
      x !== null &&
      typeof x === "object" &&
      !Array.isArray(x) &&
      !Object.hasOwn(x, FLOAT)
    ) {
      const src = x as Record<string, unknown>;
      const f = newMap();
      for (const efk of Object.keys(src)) {
        const fk = unescapeKey(efk);
        f[fk] = isSame(src[efk]) ? item.fields[fk] : decodeValue(src[efk]);
      }
      m[k] = f;
    } else m[k] = decodeValue(x);
  }
  return m;
}

function isSame(x: unknown): boolean {
  return x !== null && typeof x === "object" && Object.hasOwn(x, SAME);
}

function isMapValue(v: YamlValue | undefined): v is YamlMap {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof PyFloat);
}

/**
 * A thread in one buffer: a table of string lengths, then the strings back to back. Three
 * quarters of a tracker's bytes are discussion. Reviving decodes the text with one call
 * (latin1 when every code unit is below 256, else UTF-16LE: both are lossless, even for lone
 * surrogates) and cuts the strings out of it, which is several times faster than
 * `JSON.parse` of tuples and, unlike it, keeps no source text beyond the strings themselves
 * alive (JSON.parse's strings are slices of the whole JSON text).
 *
 * Layout (little-endian): u8 text encoding (0 latin1, 1 UTF-16LE), u32 words, u32 entries;
 * per word (the thread's distinct `by` / `actor` values) u32 length; per entry u8 flags
 * (1 summary, 2 tombstoned), u32 by word, u32 actor word, u32 lengths of at, message and
 * nonce, u32 edit-history count and a u32 length per earlier text; then the text: the words,
 * then per entry at, message, nonce and its earlier texts.
 */
function encodeDiscussion(d: DiscussionEntry[]): Buffer {
  const words: string[] = [];
  const wordIndex = new Map<string, number>();
  const word = (w: string) => {
    let i = wordIndex.get(w);
    if (i === undefined) {
      i = words.length;
      words.push(w);
      wordIndex.set(w, i);
    }
    return i;
  };
  const nums: number[] = [];
  const flags: number[] = [];
  const texts: string[] = [];
  for (const e of d) {
    flags.push((e.is_summary ? 1 : 0) | (e.is_tombstoned ? 2 : 0));
    nums.push(
      word(e.by),
      word(e.actor),
      e.at.length,
      e.message.length,
      e.nonce.length,
      e.edit_history.length,
    );
    texts.push(e.at, e.message, e.nonce);
    for (const h of e.edit_history) {
      nums.push(h.length);
      texts.push(h);
    }
  }
  const text = words.join("") + texts.join("");
  const wide = /[^\u0000-\u00ff]/.test(text);
  const textBytes = wide ? text.length * 2 : text.length;
  const head = 9 + 4 * words.length + d.length + 4 * nums.length;
  const buf = Buffer.allocUnsafe(head + textBytes);
  buf[0] = wide ? 1 : 0;
  buf.writeUInt32LE(words.length, 1);
  buf.writeUInt32LE(d.length, 5);
  let o = 9;
  for (const w of words) o = buf.writeUInt32LE(w.length, o);
  let n = 0;
  for (let i = 0; i < d.length; i++) {
    buf[o++] = flags[i];
    for (let k = 0; k < 5; k++) o = buf.writeUInt32LE(nums[n++], o);
    const hist = nums[n++];
    o = buf.writeUInt32LE(hist, o);
    for (let k = 0; k < hist; k++) o = buf.writeUInt32LE(nums[n++], o);
  }
  buf.write(text, o, wide ? "utf16le" : "latin1");
  return buf;
}

/** Shared `by` / `actor` strings across revived threads (a handful of distinct values). */
const wordStrings = new Map<string, string>();

function decodeDiscussion(buf: Uint8Array): DiscussionEntry[] {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const wide = b[0] === 1;
  const nWords = b.readUInt32LE(1);
  const n = b.readUInt32LE(5);
  // The text starts after the length table, whose size is known only after walking it.
  let o = 9 + 4 * nWords;
  for (let i = 0; i < n; i++) {
    o += 1 + 20;
    o += 4 + 4 * b.readUInt32LE(o);
  }
  const text = wide ? b.toString("utf16le", o) : b.toString("latin1", o);
  let t = 0;
  const words = new Array<string>(nWords);
  for (let i = 0; i < nWords; i++) {
    const len = b.readUInt32LE(9 + 4 * i);
    const w = text.slice(t, t + len);
    t += len;
    let shared = wordStrings.get(w);
    if (shared === undefined) {
      if (wordStrings.size >= 4096) wordStrings.clear();
      wordStrings.set(w, w);
      shared = w;
    }
    words[i] = shared;
  }
  const out = new Array<DiscussionEntry>(n);
  o = 9 + 4 * nWords;
  for (let i = 0; i < n; i++) {
    const f = b[o];
    const by = words[b.readUInt32LE(o + 1)];
    const actor = words[b.readUInt32LE(o + 5)];
    const atLen = b.readUInt32LE(o + 9);
    const msgLen = b.readUInt32LE(o + 13);
    const nonceLen = b.readUInt32LE(o + 17);
    const hist = b.readUInt32LE(o + 21);
    o += 25;
    const at = text.slice(t, (t += atLen));
    const message = text.slice(t, (t += msgLen));
    const nonce = text.slice(t, (t += nonceLen));
    let edit_history = NO_EDITS;
    if (hist > 0) {
      edit_history = new Array<string>(hist);
      for (let k = 0; k < hist; k++) {
        const len = b.readUInt32LE(o);
        o += 4;
        edit_history[k] = text.slice(t, (t += len));
      }
    }
    out[i] = {
      by,
      actor,
      at,
      message,
      is_summary: (f & 1) !== 0,
      nonce,
      is_tombstoned: (f & 2) !== 0,
      edit_history,
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
        e.item.fields = decodeValue(e.item.fields) as YamlMap;
        e.createData = e.createData ? decodeCreateData(e.createData, e.item) : null;
        e.item.discussion = decodeDiscussion(e.item.discussion as unknown as Uint8Array);
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
          createData: e.createData ? encodeCreateData(e.createData, e.item) : null,
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
