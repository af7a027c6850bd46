/**
 * A per-user warm-start cache of a tier's compiled items (issue: the store; "warm start may
 * use a cache keyed by file size+mtime, like the reference's").
 *
 * One file per tier directory under `$XDG_CACHE_HOME/htrac/index/<sha256 of the real dir
 * path>.v8` (never inside the repository), replaced atomically (temp file + rename). An entry
 * is used only when the op file still has the same device, inode, size, mtime and ctime
 * (ctime cannot be set back by tools), and only when the tier's edit-mode log has the same
 * size and mtime as when the items were compiled (or the item's file holds no edit-mode or
 * message ops: then only `updated_at` moves); anything else is read and parsed again. Files
 * that failed to compile are never cached. `HTRAC_NO_CACHE=1` disables it.
 *
 * A load reads only the entry table (by columns: file states and per-item summaries, see
 * `ItemSummary`); items stay in the file in groups of 64 (v8-serialised) and are revived on
 * first use, and texts derived from items (the CLI's item JSON, `Tracker.derivedTexts`) are
 * read from the file when printed. The file is kept open while anything refers to it, so a
 * rewrite by another process never mixes two versions. Values of custom fields are stored
 * with PyFloat marked and mappings rebuilt with their prototype-free shape, so a revived item
 * is indistinguishable from a parsed one.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import { type DiscussionEntry, type Item, type ItemSummary, NO_EDITS, type Tier } from "./compile.js";
import type { Problem } from "./oplog.js";
import type { ItemRecord } from "./tierstore.js";
import { idFromFileName, xdgCacheHome } from "./paths.js";
import { newMap, PyFloat, pyStrCmp, WordCodes, type YamlMap, type YamlValue } from "./values.js";

/** Bump when the cached shape or the compile rules change. */
export const INDEX_CACHE_VERSION = 12;

/** Closes the descriptor of a cache file nobody refers to any more. */
const closer = new FinalizationRegistry<number>((fd) => {
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed */
  }
});

/**
 * A cache file as it was read. Item bodies and derived texts stay in the file until they are
 * needed. The file stays open (a descriptor per tier, closed when this object is collected),
 * so they are read from the very file the entries came from even after another process
 * replaced it by rename; a read that fails reads as missing, and the store parses the op file
 * instead.
 */
export class CacheSource {
  constructor(
    private readonly fd: number,
    /** Byte ranges `[offset, length]` of the item groups. */
    readonly groups: readonly (readonly [number, number])[],
  ) {
    closer.register(this, fd);
  }

  /**
   * Read byte ranges of the file.
   * @returns the bytes per range, or null when the file cannot be read
   */
  read(ranges: readonly (readonly [number, number])[]): Buffer[] | null {
    const fd = this.fd;
    try {
      const out: Buffer[] = [];
      // Mostly-adjacent ranges (a listing's texts): one read of their span, cut in views.
      let lo = Infinity;
      let hi = 0;
      let total = 0;
      for (const [off, len] of ranges) {
        lo = Math.min(lo, off);
        hi = Math.max(hi, off + len);
        total += len;
      }
      if (ranges.length > 1 && total * 2 >= hi - lo) {
        const span = Buffer.allocUnsafe(hi - lo);
        if (fs.readSync(fd, span, 0, span.length, lo) !== span.length) return null;
        for (const [off, len] of ranges) out.push(span.subarray(off - lo, off - lo + len));
        return out;
      }
      for (const [off, len] of ranges) {
        const b = Buffer.allocUnsafe(len);
        if (fs.readSync(fd, b, 0, len, off) !== len) return null;
        out.push(b);
      }
      return out;
    } catch {
      return null;
    }
  }

  /**
   * Read one byte range into `scratch` (grown as needed) and return a view of it: for copying
   * between files, where the bytes are written out before the next read.
   * @returns null when the range cannot be read
   */
  readInto(off: number, len: number, scratch: { buf: Buffer }): Buffer | null {
    if (scratch.buf.length < len) scratch.buf = Buffer.allocUnsafe(Math.max(len, 2 * scratch.buf.length));
    try {
      return fs.readSync(this.fd, scratch.buf, 0, len, off) === len ? scratch.buf.subarray(0, len) : null;
    } catch {
      return null;
    }
  }

  /**
   * Decode groups of items, read one at a time through one buffer (a whole tier's groups are
   * tens of MB: they never sit in memory at once; decoding copies everything out). A group may
   * also hold members the file's entries no longer point to (rewritten since); callers check.
   * @returns `[id, item, create data]` per member, per group in order (null for a group that
   *   cannot be read or decoded)
   */
  groupsOf(gs: readonly number[]): ([string, Item, YamlMap | null][] | null)[] {
    const scratch = { buf: Buffer.allocUnsafe(0) };
    return gs.map((g) => {
      const [off, len] = this.groups[g];
      const bytes = this.readInto(off, len, scratch);
      if (!bytes) return null;
      try {
        return (v8.deserialize(bytes) as [string, Item, unknown][]).map(
          ([id, it, cd]): [string, Item, YamlMap | null] => {
            it.fields = decodeValue(it.fields) as YamlMap;
            it.discussion = decodeDiscussion(it.discussion as unknown as Uint8Array);
            return [id, it, cd ? decodeCreateData(cd, it) : null];
          },
        );
      } catch {
        return null;
      }
    });
  }
}

/** Where a cached item still is: its group in a cache file. */
export interface CachedBody {
  src: CacheSource;
  group: number;
}

/**
 * A text derived from an item (`Tracker.derivedTexts`): in memory, or a byte range of a
 * cache file.
 */
export type DerivedText = Buffer | { src: CacheSource; off: number; len: number };

/**
 * What the cache keeps of one op file: the record's file state, the item's summary, the
 * item and its create data, where the item's bytes are in an older cache file (`body`:
 * copied from there; with `item` null it is still only there), and derived texts.
 */
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
  | "lastKey"
  | "hasEditOps"
  | "frozen"
> & {
  summary: ItemSummary;
  item: Item | null;
  createData: YamlMap | null;
  body: CachedBody | null;
  /**
   * Derived texts by key; a function renders its text when the writer reaches it (texts
   * derived on save, `Tracker.deriveOnSave`).
   */
  derived: Map<string, DerivedText | (() => Buffer)> | null;
};

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

/**
 * The delta file beside a tier's main cache file (`<hash>.v8` → `<hash>.delta`): the same
 * format, holding only the entries that are not (or no longer) in the main file as they are
 * now — an active tracker's changed items. A load consults it before the main file; every
 * entry of either is still checked against its op file, so a delta older or newer than the
 * main file only costs a parse. Writing it costs what its few entries do, where rewriting
 * the main file copies all of them (~130 MB at 10k items with the CLI's texts): the main file
 * is rewritten, and the delta removed, only once the delta would hold more than 1/16 of the
 * tier (`Tracker`, `TierStore.outsideBase`).
 */
export function deltaCachePath(mainFile: string): string {
  return `${mainFile.endsWith(".v8") ? mainFile.slice(0, -3) : mainFile}.delta`;
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
  const codes = new WordCodes();
  const words = codes.words;
  const word = (w: string) => codes.code(w);
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

/** Last bytes of a cache file: magic, version, offset of the entry table. */
const TRAILER = 16;
const MAGIC = 0x43525448; // "HTRC"

/** Per-entry numbers of the entry table, in this order. */
const NUMS = 16;
const [
  DEV,
  INO,
  SIZE,
  MTIME,
  CTIME,
  OFFSET,
  LINES,
  MAXCLOCK,
  OPCOUNT,
  GROUP_NO,
  PRIORITY,
  UNREAD,
  LK_CLOCK,
  LK_RANK,
  THREAD,
  LAST_BY,
] = Array.from({ length: NUMS }, (_, i) => i);
const F_EDIT_OPS = 1;
const F_CONFLICT = 2;
const F_LAST_KEY = 4;
const F_FROZEN = 8;

/**
 * The entry table of a cache file, by columns (a few typed arrays and string arrays instead
 * of ten thousand small objects: reading it allocates little).
 */
interface EntryTable {
  editLog: { size: number; mtimeMs: number };
  groups: [number, number][];
  names: string[];
  /** NUMS numbers per entry. */
  num: Float64Array;
  flags: Uint8Array;
  lkAt: string[];
  lkNonce: string[];
  /** Entries that have problems (torn tails and such): `[entry, problems]`. */
  problems: [number, Problem[]][];
  /** Distinct kinds, statuses and thread authors; `kind`, `status` and LAST_BY index them. */
  words: string[];
  kind: Uint32Array;
  status: Uint32Array;
  createdAt: string[];
  updatedAt: string[];
  title: string[];
  parent: (string | null)[];
  /** tags, isbefore and duplicate_of of every entry back to back; 3 lengths per entry. */
  sets: string[];
  setLens: Uint32Array;
  /** Per derived-text key: offset and length per entry (length -1: none). */
  derived: [string, Float64Array][];
}

const EMPTY_TAIL = Buffer.alloc(0);

/** The shared empty list of summaries (most items have no isbefore / duplicate_of). */
const NONE: readonly string[] = Object.freeze([]);

/**
 * A tier's cache as read: the entry table, from which `TierStore.loadAll` makes the records
 * of unchanged files. Items and derived texts stay in the file (`CacheSource`).
 */
export class LoadedTierCache {
  private index = new Map<string, number>();
  private setStart: Uint32Array;
  private problemsOf: Map<number, Problem[]>;
  /** One body object per group (its members share it). */
  private bodies: CachedBody[] = [];

  constructor(
    private t: EntryTable,
    readonly src: CacheSource,
  ) {
    const n = t.names.length;
    for (let i = 0; i < n; i++) this.index.set(t.names[i], i);
    this.setStart = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++)
      this.setStart[i + 1] =
        this.setStart[i] + t.setLens[3 * i] + t.setLens[3 * i + 1] + t.setLens[3 * i + 2];
    this.problemsOf = new Map(t.problems);
  }

  get editLog(): { size: number; mtimeMs: number } {
    return this.t.editLog;
  }

  /** Whether the file holds any derived texts (then a record without them lost them). */
  get hasTexts(): boolean {
    return this.t.derived.length > 0;
  }

  /** Number of entries in the table. */
  get size(): number {
    return this.t.names.length;
  }

  /**
   * IDs of records made from entries, in table order, which is listing order (`TierStore.ids`,
   * store.md §1) in a file `cachePieces` wrote: checked, adjacent names compared as `pyOrder`
   * compares them.
   * @param byEntry per entry, the ID of the record made from it (undefined: none)
   * @returns null when the names are not in listing order (then the caller sorts)
   */
  listingOrder(byEntry: readonly (string | undefined)[]): string[] | null {
    const names = this.t.names;
    const out: string[] = [];
    let prev = -1;
    for (let i = 0; i < byEntry.length; i++) {
      const id = byEntry[i];
      if (id === undefined) continue;
      if (prev >= 0 && pyStrCmp(names[prev], names[i]) >= 0) return null;
      prev = i;
      out.push(id);
    }
    return out;
  }

  /** Entry of an op file name, or -1. */
  lookup(name: string): number {
    return this.index.get(name) ?? -1;
  }

  /**
   * Drop everything but the derived-text index once the records are made (`record` cannot be
   * called any more): the records of a big tier refer to this object for their texts, and
   * the table's strings would otherwise stay in memory with them.
   */
  release(): void {
    this.t = { derived: this.t.derived } as EntryTable;
    this.index = new Map();
    this.setStart = new Uint32Array(0);
    this.problemsOf = new Map();
    this.bodies = [];
  }

  /** The derived text of an entry under `key`, if the file holds one. */
  text(i: number, key: string): DerivedText | undefined {
    for (const [k, pos] of this.t.derived)
      if (k === key)
        return pos[2 * i + 1] >= 0 ? { src: this.src, off: pos[2 * i], len: pos[2 * i + 1] } : undefined;
    return undefined;
  }

  /** Every derived text of an entry (for rewriting the cache). */
  texts(i: number): [string, DerivedText][] {
    const out: [string, DerivedText][] = [];
    for (const [k, pos] of this.t.derived)
      if (pos[2 * i + 1] >= 0) out.push([k, { src: this.src, off: pos[2 * i], len: pos[2 * i + 1] }]);
    return out;
  }

  /** Whether a file's state is the one an entry was cached for (device, inode, size, times). */
  sameFile(i: number, st: fs.Stats): boolean {
    const b = i * NUMS;
    const n = this.t.num;
    return (
      st.isFile() &&
      st.dev === n[b + DEV] &&
      st.ino === n[b + INO] &&
      st.size === n[b + SIZE] &&
      st.mtimeMs === n[b + MTIME] &&
      st.ctimeMs === n[b + CTIME]
    );
  }

  /** Whether the entry's file holds edit-mode or message ops, and has a last key. */
  hasEditOps(i: number): boolean {
    return (this.t.flags[i] & F_EDIT_OPS) !== 0;
  }

  hasLastKey(i: number): boolean {
    return (this.t.flags[i] & F_LAST_KEY) !== 0;
  }

  /**
   * The record of an unchanged op file from its entry: summary, file state and where its item
   * is; the item itself stays in the file (`TierStore.item` revives it). Built in one go (a
   * warm load makes ten thousand of these).
   * @param frozen whether the frozen marker exists now (derived texts made under the other
   *   state are dropped: they show it)
   * @param stale whether the edit-mode log changed since (the item is brought up to date on use)
   */
  record(i: number, id: string, tier: Tier, path: string, frozen: boolean, stale: boolean): ItemRecord {
    const t = this.t;
    const b = i * NUMS;
    const n = t.num;
    const s0 = this.setStart[i];
    const s1 = s0 + t.setLens[3 * i];
    const s2 = s1 + t.setLens[3 * i + 1];
    const s3 = s2 + t.setLens[3 * i + 2];
    const g = n[b + GROUP_NO];
    return {
      id,
      tier,
      path,
      dev: n[b + DEV],
      ino: n[b + INO],
      size: n[b + SIZE],
      mtimeMs: n[b + MTIME],
      ctimeMs: n[b + CTIME],
      offset: n[b + OFFSET],
      lines: n[b + LINES],
      // Only records with a fold check appended bytes against their tail; a cached record
      // re-reads its file on the first change instead.
      tail: EMPTY_TAIL,
      fold: null,
      fromCache: true,
      lastKey:
        (t.flags[i] & F_LAST_KEY) !== 0
          ? { clock: n[b + LK_CLOCK], at: t.lkAt[i], rank: n[b + LK_RANK], nonce: t.lkNonce[i] }
          : null,
      hasEditOps: (t.flags[i] & F_EDIT_OPS) !== 0,
      item: null,
      body: (this.bodies[g] ??= { src: this.src, group: g }),
      copyFrom: null,
      lazy: null,
      summary: {
        id,
        tier,
        kind: t.words[t.kind[i]],
        status: t.words[t.status[i]],
        priority: n[b + PRIORITY],
        created_at: t.createdAt[i],
        title: t.title[i],
        parent: t.parent[i],
        tags: s1 > s0 ? t.sets.slice(s0, s1) : (NONE as string[]),
        isbefore: s2 > s1 ? t.sets.slice(s1, s2) : (NONE as string[]),
        duplicate_of: s3 > s2 ? t.sets.slice(s2, s3) : (NONE as string[]),
        cross_tier_conflict: (t.flags[i] & F_CONFLICT) !== 0,
        unread: n[b + UNREAD],
        updated_at: t.updatedAt[i],
        thread: n[b + THREAD],
        last_by: n[b + LAST_BY] >= 0 ? t.words[n[b + LAST_BY]] : null,
      },
      derived: null,
      cachedTexts:
        t.derived.length && frozen === ((t.flags[i] & F_FROZEN) !== 0) ? { cache: this, entry: i } : null,
      stale,
      problems: this.problemsOf.get(i) ?? [],
      error: null,
      frozen,
      maxClock: n[b + MAXCLOCK],
      createData: null,
      opCount: n[b + OPCOUNT],
    };
  }
}

/**
 * Read a tier's cache: the entry table only (file states and summaries); items and derived
 * texts stay in the file (`CacheSource`). Never throws: a missing, corrupt or foreign-version
 * file reads as no cache.
 *
 * Layout: item groups (v8, 64 items each), derived texts (by key), the entry table (v8, by
 * columns), and a 16-byte trailer (u32 magic, u32 version, f64 offset of the table), all
 * little-endian.
 */
export function loadTierCache(file: string | null): LoadedTierCache | null {
  if (!file) return null;
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return null;
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.size < TRAILER) return null;
    const trailer = Buffer.alloc(TRAILER);
    if (fs.readSync(fd, trailer, 0, TRAILER, st.size - TRAILER) !== TRAILER) return null;
    if (trailer.readUInt32LE(0) !== MAGIC || trailer.readUInt32LE(4) !== INDEX_CACHE_VERSION) return null;
    const tablePos = trailer.readDoubleLE(8);
    const tableLen = st.size - TRAILER - tablePos;
    if (!(tablePos >= 0 && tableLen > 0)) return null;
    const bytes = Buffer.allocUnsafe(tableLen);
    if (fs.readSync(fd, bytes, 0, tableLen, tablePos) !== tableLen) return null;
    const table = v8.deserialize(bytes) as EntryTable;
    const n = table.names.length;
    if (
      table.num.length !== n * NUMS ||
      table.flags.length !== n ||
      table.setLens.length !== 3 * n ||
      table.updatedAt.length !== n
    )
      return null;
    const loaded = new LoadedTierCache(table, new CacheSource(fd, table.groups));
    fd = -1; // the source keeps it open
    return loaded;
  } catch {
    return null;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/** Cache files kept per user (most recently written first), and their longest life. */
export const INDEX_CACHE_KEEP = 64;
export const INDEX_CACHE_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/**
 * Keep the per-user index directory bounded: caches of trackers not loaded for 30 days
 * (temp checkouts, deleted clones) and all but the 64 newest go, as do temp files older than
 * an hour (left by a crash mid-write). A main file and its delta (`deltaCachePath`) count as
 * one cache, as new as the newer of the two; a delta whose main file is gone goes. `keep`'s
 * cache (either file) is never removed. Errors are ignored.
 */
export function pruneIndexCache(dir: string, keep: string, now = Date.now()): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const stemOf = (n: string) =>
    n.endsWith(".v8") ? n.slice(0, -3) : n.endsWith(".delta") ? n.slice(0, -6) : null;
  const keepStem = stemOf(path.basename(keep));
  const caches = new Map<string, { files: string[]; mtimeMs: number; main: boolean }>();
  for (const n of names) {
    const file = path.join(dir, n);
    const stem = n.endsWith(".tmp") ? null : stemOf(n);
    if (stem === null && !n.endsWith(".tmp")) continue;
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      continue;
    }
    if (stem === null) {
      if (now - st.mtimeMs > 3600 * 1000) fs.rmSync(file, { force: true });
      continue;
    }
    if (stem === keepStem) continue;
    let c = caches.get(stem);
    if (!c) caches.set(stem, (c = { files: [], mtimeMs: 0, main: false }));
    c.files.push(file);
    c.mtimeMs = Math.max(c.mtimeMs, st.mtimeMs);
    if (n.endsWith(".v8")) c.main = true;
  }
  const sorted = [...caches.values()].sort((a, b) => b.mtimeMs - a.mtimeMs);
  sorted.forEach((c, i) => {
    if (!c.main || i >= INDEX_CACHE_KEEP - 1 || now - c.mtimeMs > INDEX_CACHE_MAX_AGE_MS)
      for (const f of c.files) fs.rmSync(f, { force: true });
  });
}

/** Items per group. */
export const CACHE_GROUP = 64;
/** A piece with nothing to write: where a background writer may let the event loop run. */
const PAUSE = Buffer.alloc(0);
/** Most bytes of derived texts copied from an older cache file in one read (see cachePieces). */
const DERIVED_RUN = 1 << 20;

/**
 * Entries in the order items are put into groups: by priority, then creation (the order in
 * which lists show them, most often), so the rows a human scrolls through mostly share groups
 * and reading one item's text (a `LazyItem`'s group) brings in its neighbours on screen, not
 * items from all over the list.
 */
function groupOrder(entries: Map<string, CachedRecord>): [string, CachedRecord][] {
  const all = [...entries];
  const pri = new Float64Array(all.length);
  const at = new Array<string>(all.length);
  const idx = new Array<number>(all.length);
  all.forEach(([, e], i) => {
    pri[i] = e.summary.priority;
    at[i] = e.summary.created_at;
    idx[i] = i;
  });
  idx.sort((a, b) => pri[a] - pri[b] || (at[a] < at[b] ? -1 : at[a] > at[b] ? 1 : 0) || a - b);
  return idx.map((i) => all[i]);
}

/**
 * The cache file's pieces in order, built one at a time: item groups (groups still in an
 * older cache file are copied as they are), derived texts, the entry table, the trailer.
 * Entries whose body can no longer be read back are left out, as are such derived texts.
 */
function* cachePieces(cache: TierCache): Generator<Buffer> {
  let pos = 0;
  const groups: [number, number][] = [];
  const groupOf = new Map<string, number>();
  const copied = new Map<CacheSource, Map<number, number>>();
  const put = (b: Buffer): Buffer => {
    pos += b.length;
    return b;
  };
  // Bytes copied from an older cache file pass through one buffer: every piece is written
  // out before the next is made (see writeCache).
  const scratch = { buf: Buffer.allocUnsafe(1 << 20) };
  const fresh: [string, CachedRecord][] = [];
  // Live members per older group: a group is copied whole, so a sparse one (most members
  // rewritten since) is copied only when some live item is not in memory to encode afresh.
  const live = new Map<CacheSource, Map<number, number>>();
  for (const e of cache.entries.values()) {
    if (!e.body) continue;
    let bySrc = live.get(e.body.src);
    if (!bySrc) live.set(e.body.src, (bySrc = new Map()));
    bySrc.set(e.body.group, (bySrc.get(e.body.group) ?? 0) + 1);
  }
  const copies = (item: Item | null, body: CachedBody): boolean =>
    !item ||
    live.get(body.src)!.get(body.group)! * 2 >= CACHE_GROUP ||
    copied.get(body.src)?.has(body.group) === true; // already copied for another member
  function* flush(): Generator<Buffer> {
    if (!fresh.length) return;
    const b = v8.serialize(
      fresh.map(([name, e]) => [
        idFromFileName(name),
        encodeItem(e.item!),
        e.createData ? encodeCreateData(e.createData, e.item!) : null,
      ]),
    );
    for (const [name] of fresh) groupOf.set(name, groups.length);
    groups.push([pos, b.length]);
    fresh.length = 0;
    yield put(b);
  }
  const ordered = groupOrder(cache.entries);
  yield PAUSE;
  for (const [name, e] of ordered) {
    if (e.body && copies(e.item, e.body)) {
      let bySrc = copied.get(e.body.src);
      if (!bySrc) copied.set(e.body.src, (bySrc = new Map()));
      let g = bySrc.get(e.body.group);
      if (g === undefined) {
        const [off, len] = e.body.src.groups[e.body.group];
        const bytes = e.body.src.readInto(off, len, scratch);
        if (bytes) {
          g = groups.length;
          groups.push([pos, len]);
          bySrc.set(e.body.group, g);
          yield put(bytes);
        }
      }
      if (g !== undefined) {
        groupOf.set(name, g);
        continue;
      }
    }
    // Not copied (no older bytes, a sparse group, or the older file cannot be read): encoded.
    if (e.item) {
      fresh.push([name, e]);
      if (fresh.length >= CACHE_GROUP) yield* flush();
    }
  }
  yield* flush();
  // Derived texts key by key, so the texts one command prints lie close together. Texts that
  // lie back to back in an older cache file are copied in runs of up to 1 MB (one read and
  // one write per run instead of per text: ~12k texts at 10k items); a run that cannot be
  // read back loses its texts, as a single text would.
  const derivedAt = new Map<string, [string, number, number][]>();
  const keep = (name: string, k: string, at: number, len: number) => {
    let list = derivedAt.get(name);
    if (!list) derivedAt.set(name, (list = []));
    list.push([k, at, len]);
  };
  let run: { src: CacheSource; off: number; len: number; texts: [string, string, number, number][] } | null =
    null;
  function* flushRun(): Generator<Buffer> {
    if (!run) return;
    const r = run;
    run = null;
    const bytes = r.src.readInto(r.off, r.len, scratch);
    if (!bytes) return;
    for (const [name, k, at, len] of r.texts) keep(name, k, pos + at, len);
    yield put(bytes);
  }
  const keys = new Set<string>();
  for (const e of cache.entries.values()) if (e.derived) for (const k of e.derived.keys()) keys.add(k);
  for (const k of keys) {
    for (const [name, e] of cache.entries) {
      const d0 = e.derived?.get(k);
      if (d0 === undefined || !groupOf.has(name)) continue;
      const d = typeof d0 === "function" ? d0() : d0;
      if (Buffer.isBuffer(d)) {
        yield* flushRun();
        keep(name, k, pos, d.length);
        yield put(d);
        continue;
      }
      if (run && (run.src !== d.src || run.off + run.len !== d.off || run.len + d.len > DERIVED_RUN))
        yield* flushRun();
      run ??= { src: d.src, off: d.off, len: 0, texts: [] };
      run.texts.push([name, k, run.len, d.len]);
      run.len += d.len;
    }
    yield* flushRun();
  }
  const tablePos = pos;
  // In the entries' (listing) order, which a load takes as it is (`listingOrder`): groupOf
  // gets encoded entries only when their group is full, after copied ones that follow them.
  const names: string[] = [];
  for (const name of cache.entries.keys()) if (groupOf.has(name)) names.push(name);
  const n = names.length;
  const table: EntryTable = {
    editLog: cache.editLog,
    groups,
    names,
    num: new Float64Array(n * NUMS),
    flags: new Uint8Array(n),
    lkAt: [],
    lkNonce: [],
    problems: [],
    words: [],
    kind: new Uint32Array(n),
    status: new Uint32Array(n),
    createdAt: [],
    updatedAt: [],
    title: [],
    parent: [],
    sets: [],
    setLens: new Uint32Array(3 * n),
    derived: [],
  };
  const derivedByKey = new Map<string, Float64Array>();
  const codes = new WordCodes(table.words);
  const word = (w: string) => codes.code(w);
  for (let i = 0; i < n; i++) {
    // (a pause point for a background writer: an empty piece, nothing to write)
    if (i % 1024 === 1023) yield PAUSE;
    const name = names[i];
    const e = cache.entries.get(name)!;
    const s = e.summary;
    const b = i * NUMS;
    const num = table.num;
    num[b + DEV] = e.dev;
    num[b + INO] = e.ino;
    num[b + SIZE] = e.size;
    num[b + MTIME] = e.mtimeMs;
    num[b + CTIME] = e.ctimeMs;
    num[b + OFFSET] = e.offset;
    num[b + LINES] = e.lines;
    num[b + MAXCLOCK] = e.maxClock;
    num[b + OPCOUNT] = e.opCount;
    num[b + GROUP_NO] = groupOf.get(name)!;
    num[b + PRIORITY] = s.priority;
    num[b + UNREAD] = s.unread;
    num[b + LK_CLOCK] = e.lastKey?.clock ?? 0;
    num[b + LK_RANK] = e.lastKey?.rank ?? 0;
    num[b + THREAD] = s.thread;
    num[b + LAST_BY] = s.last_by === null ? -1 : word(s.last_by);
    table.flags[i] =
      (e.hasEditOps ? F_EDIT_OPS : 0) |
      (s.cross_tier_conflict ? F_CONFLICT : 0) |
      (e.lastKey ? F_LAST_KEY : 0) |
      (e.frozen ? F_FROZEN : 0);
    table.lkAt.push(e.lastKey?.at ?? "");
    table.lkNonce.push(e.lastKey?.nonce ?? "");
    if (e.problems.length) table.problems.push([i, e.problems]);
    table.kind[i] = word(s.kind);
    table.status[i] = word(s.status);
    table.createdAt.push(s.created_at);
    table.updatedAt.push(s.updated_at);
    table.title.push(s.title);
    table.parent.push(s.parent);
    table.sets.push(...s.tags, ...s.isbefore, ...s.duplicate_of);
    table.setLens[3 * i] = s.tags.length;
    table.setLens[3 * i + 1] = s.isbefore.length;
    table.setLens[3 * i + 2] = s.duplicate_of.length;
    for (const [k, off, len] of derivedAt.get(name) ?? []) {
      let pos = derivedByKey.get(k);
      if (!pos) derivedByKey.set(k, (pos = new Float64Array(2 * n).fill(-1)));
      pos[2 * i] = off;
      pos[2 * i + 1] = len;
    }
  }
  table.derived = [...derivedByKey];
  yield put(v8.serialize(table));
  const trailer = Buffer.alloc(TRAILER);
  trailer.writeUInt32LE(MAGIC, 0);
  trailer.writeUInt32LE(INDEX_CACHE_VERSION, 4);
  trailer.writeDoubleLE(tablePos, 8);
  yield trailer;
}

/**
 * Write a cache file through a temp file and a rename (mode 0600: a reader finds the old file,
 * none, or the new one, never a part of one), calling `between` after every few pieces (the
 * background writer yields to the event loop there). Failures are ignored: the cache is an
 * optimisation.
 */
async function writeCache(
  file: string,
  cache: TierCache,
  between: (() => Promise<void>) | null,
  supersedes: string | null,
  onError?: (e: Error) => void,
): Promise<void> {
  let tmp: string | null = null;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
    const fd = fs.openSync(tmp, "wx", 0o600);
    try {
      let since = performance.now();
      for (const b of cachePieces(cache)) {
        for (let done = 0; done < b.length;) done += fs.writeSync(fd, b, done);
        if (between && performance.now() - since >= BACKGROUND_SLICE_MS) {
          await between();
          since = performance.now();
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    // The old file is unlinked first: ext4 flushes a file renamed over another before the
    // rename returns (auto_da_alloc: ~50 ms for a 37 MB cache at 10k items). A reader in the
    // instant between finds no cache and parses the op files; a file a crash cut short fails
    // the trailer check and reads as missing.
    try {
      fs.unlinkSync(file);
    } catch {
      /* none yet */
    }
    fs.renameSync(tmp, file);
    tmp = null;
    if (supersedes) fs.rmSync(supersedes, { force: true });
    pruneIndexCache(path.dirname(file), file);
  } catch (e) {
    onError?.(e as Error); // (otherwise: an unwritable cache directory only costs speed)
  } finally {
    if (tmp) fs.rmSync(tmp, { force: true });
  }
}

/**
 * Write a tier's cache now (synchronously; see `writeCache`).
 * @param file the main file (the whole tier) or the delta file (`deltaCachePath`)
 * @param supersedes a file the new one makes useless, removed once it is in place (a main
 *   file's delta)
 * @param onError called (before this returns) when the file cannot be written; by default a
 *   failure is ignored (the cache is an optimisation)
 */
export function saveTierCache(
  file: string | null,
  cache: TierCache,
  supersedes: string | null = null,
  onError?: (e: Error) => void,
): void {
  // With no `between`, writeCache runs to completion before returning its promise.
  if (file) void writeCache(file, cache, null, supersedes, onError);
}

/**
 * Longest stretch (ms) of a background cache write between two event-loop turns, give or take
 * one piece (an item group encoded afresh takes ~5–25 ms at 64 items, serialising the entry
 * table of 10k items ~15–25 ms; the table is built in steps of 1024 entries).
 */
export const BACKGROUND_SLICE_MS = 4;

/** Yield to the event loop (timers, input, renders) and come back. */
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/**
 * Write a tier's cache in the background: pieces are written for ~`BACKGROUND_SLICE_MS`, then
 * the event loop runs, so an interactive session stays responsive while a first cold start is
 * cached. The snapshot is taken in steps too (`TierStore.cacheSnapshotSteps`); items are
 * immutable, so later changes only make the cache older (its per-file stat checks catch that
 * on the next load). Nothing is written when the snapshot comes back null. `supersedes` as
 * for `saveTierCache`.
 */
export async function saveTierCacheInBackground(
  file: string | null,
  snapshot: Generator<void, TierCache | null>,
  supersedes: string | null = null,
): Promise<void> {
  if (!file) return;
  let since = performance.now();
  let step = snapshot.next();
  while (!step.done) {
    if (performance.now() - since >= BACKGROUND_SLICE_MS) {
      await nextTurn();
      since = performance.now();
    }
    step = snapshot.next();
  }
  if (step.value) await writeCache(file, step.value, nextTurn, supersedes);
}
