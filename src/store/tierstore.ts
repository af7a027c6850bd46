/**
 * One tier directory as an in-memory index of compiled items (store.md §1, §2.7, §3).
 *
 * Each item file is read once; afterwards only appended bytes are read and parsed, and ops
 * that sort after everything already folded (the normal case) are applied to the open
 * fold. Anything else — a new inode (rename / git checkout), a shrink, a changed prefix, an
 * op that sorts earlier — triggers a full re-read of that one file. Raw file text is not
 * kept in memory. Records from the warm-start cache hold compiled items only (no fold):
 * the first append to such an item re-reads its file, which keeps a fold from then on.
 * (Folds are kept after a full read: a change of the edit-mode log re-finishes every item
 * from its fold instead of re-reading every file.)
 */
import { isUtf8 } from "node:buffer";
import fs from "node:fs";
import path from "node:path";
import {
  compareKeys,
  type Item,
  ItemFold,
  type ItemSummary,
  type OpKey,
  opKey,
  refinish,
  sortOps,
  summarizeItem,
  type Tier,
} from "./compile.js";
import { CorruptFileError } from "./errors.js";
import { type Op, type Problem, parseOpLogBytes } from "./oplog.js";
import type {
  CachedBody,
  CachedRecord,
  CacheSource,
  DerivedText,
  LoadedTierCache,
  TierCache,
} from "./indexcache.js";
import { LazyItem } from "./lazyitem.js";
import { idFromFileName } from "./paths.js";
import { isMap, pyOrder, pyStrCmp, type YamlMap } from "./values.js";

/** Number of bytes before the parsed offset remembered to detect rewritten prefixes. */
const TAIL_CHECK = 64;

/** What the index knows about one item file. */
export interface ItemRecord {
  id: string;
  tier: Tier;
  /** Absolute path of the op file. */
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  /** Change time of the file (validates warm-cache entries; 0 when unknown). */
  ctimeMs: number;
  /** Bytes consumed: end of the last complete op. */
  offset: number;
  /** Lines consumed. */
  lines: number;
  /** Up to 64 bytes just before `offset`. */
  tail: Buffer;
  /**
   * The open fold that appended ops are applied to; null for records of the warm-start
   * cache until their first append (which re-reads the file).
   */
  fold: ItemFold | null;
  /** True when the record came from the warm-start cache (its file was not read). */
  fromCache: boolean;
  /**
   * Sort key of the item's last own op, and whether its file holds edit-mode or message ops:
   * enough to bring an item without a fold up to date when only the tier's edit-mode log
   * changed (`refinish`), instead of re-reading its file.
   */
  lastKey: OpKey | null;
  hasEditOps: boolean;
  /**
   * Cached compiled item; recomputed when `stale`. Null (with `body` set) while a warm-cache
   * item is still in the cache file: `TierStore.item` brings it in on first use.
   */
  item: Item | null;
  /** Where the item still is in a warm-start cache file (null once revived or parsed). */
  body: CachedBody | null;
  /**
   * Where the current item's bytes are in a warm-start cache file once it was revived from
   * there (null for any other item: `setItem` clears it). A cache rewrite copies these bytes
   * instead of encoding the item again (see `cachePieces`). It keeps that file open (and, once
   * replaced, its disk space held) while such records live: a TUI session's whole life.
   */
  copyFrom: CachedBody | null;
  /** Query fields of the current item (from the cache, or made from the item on demand). */
  summary: ItemSummary | null;
  /** The current item as lists get it while its text may still be in a cache file (`listItem`). */
  lazy: LazyItem | null;
  /**
   * Texts derived from the current item (`Tracker.derivedTexts`), by key. Dropped with the
   * summary whenever the item is replaced.
   */
  derived: Map<string, DerivedText> | null;
  /**
   * Derived texts of the current item still in the warm-start cache file it came from (looked
   * up there on use; dropped with `derived`).
   */
  cachedTexts: { cache: LoadedTierCache; entry: number } | null;
  stale: boolean;
  /** Problems of the last read (torn tail, syntax, encoding, io). */
  problems: Problem[];
  /** Set when the item cannot be compiled (store.md §6.5). */
  error: CorruptFileError | null;
  /** `.ID.frozen` exists (store.md §6.4). */
  frozen: boolean;
  /** Highest clock among the item's ops. */
  maxClock: number;
  /**
   * Data of the first create op (for SimHash and ID checks); for a record whose item is still
   * in the cache file, read it with `TierStore.createData`.
   */
  createData: YamlMap | null;
  /** Number of ops folded. */
  opCount: number;
}

/** How a file changed on refresh. */
export type ChangeKind = "added" | "changed" | "removed" | "none";

/** Global edit-mode log state of a tier (store.md §2.4.4, §6.6). */
export interface EditLogState {
  path: string;
  ops: { key: OpKey; op: Op }[];
  /** Ignored because its owner is an agent user (store.md §6.6). */
  ignored: boolean;
  mtimeMs: number;
  size: number;
  problems: Problem[];
}

const sleepBuf = new Int32Array(new SharedArrayBuffer(4));
/** Synchronous sleep (used only by the bounded read retry of §2.7). */
function sleepSync(ms: number): void {
  Atomics.wait(sleepBuf, 0, 0, ms);
}

/**
 * One growing buffer that successive whole-file reads reuse (a full load reads thousands of
 * files; fresh buffers for each cost allocation, GC and resident memory). Only for readers
 * that copy what they keep: the bytes are overwritten by the next read.
 */
export class ScratchBuffer {
  private buf = Buffer.allocUnsafe(64 * 1024);
  /** A view of exactly `size` bytes (contents undefined until written). */
  get(size: number): Buffer {
    if (this.buf.length < size) this.buf = Buffer.allocUnsafe(Math.max(size, this.buf.length * 2));
    return this.buf.subarray(0, size);
  }
}

/**
 * Read a whole file with the reference's retry budget for races with atomic replaces
 * (store.md §2.7): up to `attempts` tries on ENOENT/EACCES/EPERM, backoff 20 ms × 2^(n−1)
 * capped at 250 ms.
 * @param scratch read into this reused buffer (the result is a view of it) instead of a new one
 * @returns the bytes and the fstat of the descriptor they were read from
 * @throws the last error when every attempt fails
 */
export function readFileRetry(
  p: string,
  attempts = 6,
  scratch?: ScratchBuffer,
): { buf: Buffer; st: fs.Stats } {
  let lastErr: unknown;
  for (let n = 1; n <= attempts; n++) {
    try {
      const fd = fs.openSync(p, "r");
      try {
        const st = fs.fstatSync(fd);
        const buf = scratch ? scratch.get(st.size) : Buffer.allocUnsafe(st.size);
        let got = 0;
        while (got < st.size) {
          const r = fs.readSync(fd, buf, got, st.size - got, got);
          if (r === 0) break;
          got += r;
        }
        return { buf: got === st.size ? buf : buf.subarray(0, got), st };
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      lastErr = e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "EACCES" && code !== "EPERM") throw e;
      if (n < attempts) sleepSync(Math.min(20 * 2 ** (n - 1), 250));
    }
  }
  throw lastErr;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Decode UTF-8 strictly.
 * @returns the text, or the byte offset of the first invalid sequence
 */
export function decodeStrict(buf: Uint8Array): { text: string } | { badByte: number } {
  try {
    return { text: decoder.decode(buf) };
  } catch {
    // Locate the first bad byte for the message (slow path, rare).
    let lo = 0;
    let hi = buf.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(0, mid));
        lo = mid;
      } catch {
        hi = mid;
      }
    }
    return { badByte: lo };
  }
}

function lineOfByte(buf: Uint8Array, byte: number): number {
  let line = 1;
  for (let i = 0; i < byte && i < buf.length; i++) if (buf[i] === 0x0a) line++;
  return line;
}

/**
 * The ID an op file's name gives (`.X.ops` → `X`), also under the name git gives a blob it
 * hands to a textconv driver (`<random>_.X.ops`). @returns null when the name has none
 */
export function idOfOpFileName(fileName: string): string | null {
  const base = path.basename(fileName);
  const direct = idFromFileName(base);
  if (direct) return direct;
  const m = /_(\.[^/]+\.ops)$/.exec(base);
  return m ? idFromFileName(m[1]) : null;
}

/**
 * Compile one op file on its own, as a tier reads it but with no tier around it (no edit-mode
 * log, no frozen marker): for a git diff driver (`htrac textconv`, cli.md §2) and tools that
 * look at a file of another revision.
 * @param filePath the op file (any name: the ID comes from `idOfOpFileName`, else the name)
 * @returns the item (`tier` null) and the number of complete ops in the file
 * @throws CorruptFileError when the file cannot be compiled (names the file and, for a parse
 *   problem, the line); the file system's error when it cannot be read (ENOENT …)
 */
export function compileOpFile(filePath: string): { item: Item; ops: number } {
  const buf = fs.readFileSync(filePath);
  const id = idOfOpFileName(filePath) ?? path.basename(filePath);
  const rec = recordFromBytes(id, "workspace", filePath, buf, {
    dev: 0,
    ino: 0,
    size: buf.length,
    mtimeMs: 0,
  });
  if (rec.error || !rec.fold) throw rec.error ?? new CorruptFileError(`.${id}.ops: not compilable`, filePath);
  const item = rec.fold.finish([]);
  item.tier = null;
  return { item, ops: rec.opCount };
}

/**
 * Build a record from a file's complete bytes (store.md §2.7, §3).
 * Never throws: problems and compile errors are stored on the record.
 */
export function recordFromBytes(
  id: string,
  tier: Tier,
  filePath: string,
  buf: Buffer,
  st: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs?: number },
): ItemRecord {
  const name = `.${id}.ops`;
  const rec: ItemRecord = {
    id,
    tier,
    path: filePath,
    dev: st.dev,
    ino: st.ino,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs ?? 0,
    offset: buf.length,
    lines: 0,
    tail: Buffer.from(buf.subarray(Math.max(0, buf.length - TAIL_CHECK))),
    fold: null,
    fromCache: false,
    lastKey: null,
    hasEditOps: false,
    item: null,
    body: null,
    copyFrom: null,
    summary: null,
    lazy: null,
    derived: null,
    cachedTexts: null,
    stale: true,
    problems: [],
    error: null,
    frozen: false,
    maxClock: 0,
    createData: null,
    opCount: 0,
  };
  if (!isUtf8(buf)) {
    const dec = decodeStrict(buf);
    const bad = "badByte" in dec ? dec.badByte : 0;
    const line = lineOfByte(buf, bad);
    const msg = `${name}:${line}: invalid UTF-8 at byte ${bad}`;
    rec.problems.push({ kind: "encoding", message: msg, file: name, line, fatal: true });
    rec.error = new CorruptFileError(msg, filePath, line);
    return rec;
  }
  const res = parseOpLogBytes(buf, { file: name });
  rec.problems = res.problems;
  rec.lines = res.completeLines;
  if (res.completeBytes < buf.length) {
    rec.offset = res.completeBytes;
    rec.tail = Buffer.from(buf.subarray(Math.max(0, rec.offset - TAIL_CHECK), rec.offset));
  }
  const fatal = res.problems.find((p) => p.fatal);
  if (fatal) {
    rec.error = new CorruptFileError(fatal.message, filePath, fatal.line);
    return rec;
  }
  try {
    // Ops are folded in sort order (store.md §3.2). Files are nearly always already in that
    // order: then fold them as they are (no sorted copy); sort only when needed.
    const ops = res.ops;
    const keys = new Array<OpKey>(ops.length);
    let inOrder = true;
    for (let i = 0; i < ops.length; i++) {
      keys[i] = opKey(ops[i], i);
      if (inOrder && i > 0 && compareKeys(keys[i - 1], keys[i]) > 0) inOrder = false;
    }
    const fold = new ItemFold(id);
    let create: Op | undefined;
    const fold1 = (op: Op, key: OpKey, i: number) => {
      fold.apply(op, key, i);
      if (key.clock > rec.maxClock) rec.maxClock = key.clock;
      if (create === undefined && op.op === "create") create = op;
    };
    if (inOrder) for (let i = 0; i < ops.length; i++) fold1(ops[i], keys[i], i);
    else sortOps(ops).forEach(({ key, op }, i) => fold1(op, key, i));
    if (ops.length === 0) throw new CorruptFileError(`${name}: Empty op log — no create op found`);
    if (!fold.hasCreate) throw new CorruptFileError(`${name}: Op log has no create op`);
    rec.fold = fold;
    rec.lastKey = fold.maxKey;
    rec.hasEditOps = fold.hasEditOps;
    rec.opCount = ops.length;
    rec.createData = create && isMap(create.data) ? create.data : null;
  } catch (e) {
    rec.error =
      e instanceof CorruptFileError
        ? new CorruptFileError(e.message.startsWith(name) ? e.message : `${name}: ${e.message}`, filePath)
        : new CorruptFileError(`${name}: ${(e as Error).message}`, filePath);
  }
  return rec;
}

/**
 * Apply appended bytes to a record in place.
 * @returns false when a full re-read is needed (fatal problem, out-of-order op, bad UTF-8)
 */
export function appendToRecord(
  rec: ItemRecord,
  added: Buffer,
  st: { size: number; mtimeMs: number },
): boolean {
  if (!rec.fold || rec.error) return false;
  const name = path.basename(rec.path);
  if (!isUtf8(added)) return false;
  const res = parseOpLogBytes(added, { file: name, firstLine: rec.lines + 1 });
  if (res.problems.some((p) => p.fatal)) return false;
  for (const op of res.ops) {
    let key: OpKey;
    try {
      key = opKey(op, rec.opCount);
    } catch {
      return false;
    }
    if (!rec.fold.accepts(key)) return false;
  }
  // All ops fit after the folded ones: apply them (cannot fail structurally now, except a
  // create without data, which is a full-read case too).
  try {
    for (const op of res.ops) {
      const key = opKey(op, rec.opCount);
      rec.fold.apply(op, key, rec.opCount);
      rec.opCount++;
      if (key.clock > rec.maxClock) rec.maxClock = key.clock;
    }
  } catch {
    return false;
  }
  rec.lastKey = rec.fold.maxKey;
  rec.hasEditOps = rec.fold.hasEditOps;
  const usedBytes = res.completeBytes;
  const combined = Buffer.concat([rec.tail, added.subarray(0, usedBytes)]);
  rec.tail = Buffer.from(combined.subarray(Math.max(0, combined.length - TAIL_CHECK)));
  rec.offset += usedBytes;
  rec.lines += res.completeLines;
  rec.size = st.size;
  rec.mtimeMs = st.mtimeMs;
  rec.ctimeMs = (st as { ctimeMs?: number }).ctimeMs ?? 0;
  rec.problems = res.problems;
  rec.stale = true;
  return true;
}

/** IDs of the op files in a directory listing. */
function opIdsOf(names: string[]): string[] {
  const ids: string[] = [];
  for (const n of names) {
    const id = idFromFileName(n);
    if (id) ids.push(id);
  }
  return ids;
}

/**
 * Index of one tier directory. Reads are synchronous and bounded; callers decide when to
 * refresh (on demand, on watcher events, or by polling `rescan`).
 */
export class TierStore {
  readonly records = new Map<string, ItemRecord>();
  private frozenNames = new Set<string>();
  /** Entries that look like op files but have unsafe names (reported, never read). */
  private ignoredNames: string[] = [];
  private order: string[] | null = null;
  editLog: EditLogState;
  /** `dir` + separator: entry paths are built by concatenation (10k joins per load). */
  private readonly dirPrefix: string;

  /**
   * Most cache-file groups whose revived items are kept (null: all, the default). A long-lived
   * reader that brings items in a few at a time (the TUI: the detail pane, a thread) sets it,
   * so that paging through a 10k-item list does not end up holding every item's text (~60 MB):
   * the least recently used groups go back to the file (`item` revives them again). One-shot
   * passes over every item (`reviveAll`) keep everything while they run.
   */
  keepRevivedGroups: number | null = null;

  /** Revived groups, least recently used first, with the IDs revived from each. */
  private readonly revived = new Map<CachedBody, string[]>();

  /**
   * @param tier the tier this directory holds
   * @param dir the op-log directory
   * @param editLogPath the global edit-mode log of this tier (store.md §2.4.4)
   * @param isAgentUid true when a uid's username matches the agent patterns (§6.6)
   */
  constructor(
    readonly tier: Tier,
    readonly dir: string,
    editLogPath: string,
    private readonly isAgentUid: (uid: number) => boolean,
  ) {
    this.editLog = { path: editLogPath, ops: [], ignored: false, mtimeMs: -1, size: -1, problems: [] };
    this.dirPrefix = path.join(dir, "x").slice(0, -1);
  }

  /**
   * The main warm-start cache file this tier was loaded from (null: none). A cache write
   * leaves it as it is and writes the records that are not all in it to the delta file while
   * they are few (`outsideBase`, `deltaCachePath`).
   */
  private base: LoadedTierCache | null = null;

  /** Whether this tier was loaded with a main warm-start cache file. */
  get hasBase(): boolean {
    return this.base !== null;
  }

  /**
   * Scan the directory and read every item file; entries of a warm cache whose file is
   * unchanged (device, inode, size, mtime, ctime) and whose edit-mode log is the same are
   * taken as they are instead of being parsed.
   * @param caches the tier's main cache file and its delta (either may be null); an entry of
   *   the delta is preferred (it is the newer state when both are valid)
   * @param progress called every 256 files read and parsed, with the number so far
   * @returns how many files were read and parsed
   */
  loadAll(
    readAttempts = 6,
    caches: readonly [LoadedTierCache | null, LoadedTierCache | null] = [null, null],
    progress?: (filesRead: number) => void,
  ): number {
    this.records.clear();
    this.frozenNames.clear();
    this.order = null;
    const [main, delta] = caches;
    this.base = main;
    let names: fs.Dirent[];
    try {
      names = fs.readdirSync(this.dir, { withFileTypes: true });
    } catch {
      names = [];
    }
    // (indexed loops: a warm load's loop runs once, mostly unoptimised, where `for … of`
    // allocates an iterator result per element)
    for (let k = 0; k < names.length; k++)
      if (names[k].name.endsWith(".frozen")) this.frozenNames.add(names[k].name);
    this.ignoredNames = [];
    this.refreshEditLog();
    // Items cached under another edit-mode log are still usable when their file has no
    // edit-mode or message ops: the log then only moves `updated_at` (see `item`).
    const sameLogOf = (c: LoadedTierCache | null) =>
      c !== null && c.editLog.size === this.editLog.size && c.editLog.mtimeMs === this.editLog.mtimeMs;
    const sameLog = sameLogOf(main);
    const sameDeltaLog = sameLogOf(delta);
    let parsed = 0;
    // The ID of the record made from each cache entry: when every record came from the
    // caches, the tables' order is the listing order `ids` needs (no sort of 10k names).
    const byEntry: (string | undefined)[] | null = main ? new Array(main.size) : null;
    const byDelta: (string | undefined)[] | null = delta ? new Array(delta.size) : null;
    let hits = 0;
    for (let k = 0; k < names.length; k++) {
      const d = names[k];
      const id = idFromFileName(d.name);
      if (!id) {
        if (isIgnoredOpName(d.name, id)) this.ignoredNames.push(d.name);
        continue;
      }
      if (!d.isFile() && !d.isSymbolicLink()) continue;
      const p = this.dirPrefix + d.name;
      let st: fs.Stats | undefined | null = null; // (null: not looked at yet)
      if (delta) {
        const hit = delta.lookup(d.name);
        if (hit >= 0 && (sameDeltaLog || (!delta.hasEditOps(hit) && delta.hasLastKey(hit)))) {
          st = statOrUndefined(p);
          if (st && delta.sameFile(hit, st)) {
            const frozen = this.frozenNames.size > 0 && this.frozenNames.has(`.${id}.frozen`);
            this.records.set(id, delta.record(hit, id, this.tier, p, frozen, !sameDeltaLog));
            byDelta![hit] = id;
            hits++;
            continue;
          }
        }
      }
      const hit = main ? main.lookup(d.name) : -1;
      if (hit >= 0 && (sameLog || (!main!.hasEditOps(hit) && main!.hasLastKey(hit)))) {
        if (st === null) st = statOrUndefined(p);
        if (st && main!.sameFile(hit, st)) {
          const frozen = this.frozenNames.size > 0 && this.frozenNames.has(`.${id}.frozen`);
          this.records.set(id, main!.record(hit, id, this.tier, p, frozen, !sameLog));
          byEntry![hit] = id;
          hits++;
          continue;
        }
      }
      this.readFull(id, p, readAttempts);
      if ((++parsed & 255) === 0) progress?.(parsed);
    }
    if (hits === this.records.size && (main || delta)) {
      const a = main ? main.listingOrder(byEntry!) : [];
      const b = delta ? delta.listingOrder(byDelta!) : [];
      if (a && b) this.order = mergeListing(a, b);
    }
    main?.release();
    delta?.release();
    return parsed;
  }

  /**
   * Whether a record's current state — file state, item, summary and derived texts — is all
   * in the main cache file as it was loaded (then a cache write need not write it again).
   */
  private inBase(rec: ItemRecord): boolean {
    const b = this.base;
    if (!b || rec.stale || !rec.summary || rec.error || rec.derived !== null) return false;
    const body = rec.body ?? rec.copyFrom;
    if (!body || body.src !== b.src) return false;
    // (a record from the main file without its texts: the frozen marker changed since)
    return rec.cachedTexts !== null ? rec.cachedTexts.cache === b : !b.hasTexts;
  }

  /**
   * Records a cache write would write that are not all in the main cache file (`inBase`):
   * what a delta file holds. Counted by a pass over the records (~1 ms at 10k).
   */
  outsideBase(): number {
    let n = 0;
    for (const rec of this.records.values()) if (!rec.error && !this.inBase(rec)) n++;
    return n;
  }

  /**
   * The cacheable state of this tier (compiled items of every file that compiles). Items
   * still in a cache file stay there (the writer copies their bytes).
   * @param derive texts to derive, by key, for items in memory that have none under that key
   *   (rendered when the writer reaches them; `Tracker.deriveOnSave`)
   * @param delta only the records not all in the main cache file (`inBase`): a delta file's entries
   */
  cacheSnapshot(derive?: ReadonlyMap<string, (item: Item) => string>, delta = false): TierCache {
    const steps = this.cacheSnapshotSteps(derive, delta);
    for (;;) {
      const r = steps.next();
      // (run in one go, nothing can change the edit-mode log in between: never null)
      if (r.done) return r.value!;
    }
  }

  /**
   * `cacheSnapshot` in steps (it takes ~20–80 ms at 10k items): yields after every 256
   * records, so that a background writer lets keys and frames in between. A record that
   * changes meanwhile is taken as it is when reached (each entry is the file state and item
   * of one moment); when the tier's edit-mode log changed meanwhile the entries were compiled
   * under two logs, and the result is null (nothing to write). `delta` as for `cacheSnapshot`.
   */
  *cacheSnapshotSteps(
    derive?: ReadonlyMap<string, (item: Item) => string>,
    delta = false,
  ): Generator<void, TierCache | null> {
    const editLog = { size: this.editLog.size, mtimeMs: this.editLog.mtimeMs };
    const entries = new Map<string, CachedRecord>();
    let n = 0;
    for (const id of this.ids()) {
      if ((++n & 255) === 0) yield;
      let rec = this.records.get(id);
      if (!rec) continue; // (gone meanwhile)
      if (delta && this.inBase(rec)) continue;
      // Still in (or revived from) a cache file and unchanged since: its bytes can be copied.
      let body = rec.stale || !rec.summary ? null : (rec.body ?? rec.copyFrom);
      let item: Item | null = body ? rec.item : null;
      if (!body) {
        item = this.item(id);
        rec = this.records.get(id)!;
        if (!item || rec.error) continue;
        body = null;
      }
      const summary = this.summary(id)!;
      entries.set(path.basename(rec.path), {
        dev: rec.dev,
        ino: rec.ino,
        size: rec.size,
        mtimeMs: rec.mtimeMs,
        ctimeMs: rec.ctimeMs,
        offset: rec.offset,
        lines: rec.lines,
        tail: rec.tail,
        problems: rec.problems,
        maxClock: rec.maxClock,
        opCount: rec.opCount,
        createData: rec.createData,
        lastKey: rec.lastKey,
        hasEditOps: rec.hasEditOps,
        frozen: rec.frozen,
        summary,
        item,
        body,
        derived: withDerived(keptTexts(rec), item, derive),
      });
    }
    if (editLog.size !== this.editLog.size || editLog.mtimeMs !== this.editLog.mtimeMs) return null;
    return { editLog, entries };
  }

  /** Read buffer shared by every full read of this tier (records copy what they keep). */
  private scratch = new ScratchBuffer();

  private readFull(id: string, p: string, attempts: number): ItemRecord | null {
    let got: { buf: Buffer; st: fs.Stats };
    try {
      got = readFileRetry(p, attempts, this.scratch);
      if (!got.st.isFile()) return null;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") {
        this.records.delete(id);
        return null;
      }
      const name = path.basename(p);
      const msg = `${name}: cannot read: ${(e as Error).message}`;
      const rec = this.records.get(id);
      const base: ItemRecord =
        rec ?? recordFromBytes(id, this.tier, p, Buffer.alloc(0), { dev: 0, ino: 0, size: 0, mtimeMs: 0 });
      base.problems = [{ kind: "io", message: msg, file: name, line: 1, fatal: true }];
      base.error = new CorruptFileError(msg, p);
      base.fold = null;
      setItem(base, null);
      this.records.set(id, base);
      return base;
    }
    const rec = recordFromBytes(id, this.tier, p, got.buf, got.st);
    rec.frozen = this.frozenNames.has(`.${id}.frozen`);
    if (!this.records.has(id)) this.order = null;
    this.records.set(id, rec);
    return rec;
  }

  /**
   * Re-read one directory entry after a change (watcher event or own write).
   * @param name directory entry name (`.ID.ops`, `.ID.frozen`)
   * @param attempts read retries (§2.7); the watcher uses 1 and retries itself
   */
  refreshName(name: string, attempts = 1): { id: string; change: ChangeKind } | null {
    if (name.endsWith(".frozen")) {
      const id = name.slice(1, -".frozen".length);
      const exists = fs.existsSync(path.join(this.dir, name));
      if (exists) this.frozenNames.add(name);
      else this.frozenNames.delete(name);
      const rec = this.records.get(id);
      if (rec && rec.frozen !== exists) {
        rec.frozen = exists;
        rec.stale = true;
        return { id, change: "changed" };
      }
      return rec ? { id, change: "none" } : null;
    }
    const id = idFromFileName(name);
    if (!id) return null;
    return { id, change: this.refresh(id, attempts) };
  }

  /** Bring one item up to date with its file. */
  refresh(id: string, attempts = 1): ChangeKind {
    const p = path.join(this.dir, `.${id}.ops`);
    const rec = this.records.get(id);
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      if (rec) {
        this.records.delete(id);
        this.order = null;
        return "removed";
      }
      return "none";
    }
    if (!st.isFile()) return "none";
    if (!rec) {
      return this.readFull(id, p, attempts) ? "added" : "none";
    }
    if (st.ino !== rec.ino || st.dev !== rec.dev || st.size < rec.offset || rec.error) {
      this.readFull(id, p, attempts);
      return "changed";
    }
    if (st.size === rec.size && st.mtimeMs === rec.mtimeMs) return "none";
    if (st.size === rec.offset && st.size === rec.size) {
      // Same size, new mtime: a touch or an equal-size rewrite. Re-read to be sure.
      this.readFull(id, p, attempts);
      return "changed";
    }
    // Read from just before the offset to check the prefix is unchanged.
    try {
      const fd = fs.openSync(p, "r");
      try {
        const fst = fs.fstatSync(fd);
        if (fst.ino !== rec.ino || fst.size < rec.offset) {
          fs.closeSync(fd);
          this.readFull(id, p, attempts);
          return "changed";
        }
        const from = rec.offset - rec.tail.length;
        const buf = Buffer.allocUnsafe(fst.size - from);
        let got = 0;
        while (got < buf.length) {
          const r = fs.readSync(fd, buf, got, buf.length - got, from + got);
          if (r === 0) break;
          got += r;
        }
        const data = buf.subarray(0, got);
        const prefixOk = data.subarray(0, rec.tail.length).equals(rec.tail);
        if (prefixOk && appendToRecord(rec, data.subarray(rec.tail.length), fst)) {
          return "changed";
        }
      } finally {
        try {
          fs.closeSync(fd);
        } catch {
          /* already closed */
        }
      }
    } catch {
      /* fall through to a full read */
    }
    this.readFull(id, p, attempts);
    return "changed";
  }

  /**
   * Re-read the global edit-mode log when it changed (store.md §2.4.4, §6.6).
   * @returns true when its effective ops changed (every item must be recompiled)
   */
  refreshEditLog(): boolean {
    const log = this.editLog;
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(log.path);
    } catch {
      st = null;
    }
    if (!st) {
      const changed = log.ops.length > 0 || log.size !== -1;
      this.editLog = { ...log, ops: [], ignored: false, mtimeMs: -1, size: -1, problems: [] };
      if (changed) this.markAllStale();
      return changed;
    }
    if (st.mtimeMs === log.mtimeMs && st.size === log.size) return false;
    let ops: { key: OpKey; op: Op }[] = [];
    let problems: Problem[] = [];
    const ignored = this.isAgentUid(st.uid);
    if (!ignored) {
      try {
        const { buf } = readFileRetry(log.path, 1);
        if (isUtf8(buf)) {
          const res = parseOpLogBytes(buf, { file: path.basename(log.path) });
          problems = res.problems;
          ops = sortOps(res.ops);
        }
      } catch {
        ops = [];
      }
    }
    this.editLog = { path: log.path, ops, ignored, mtimeMs: st.mtimeMs, size: st.size, problems };
    this.markAllStale();
    return true;
  }

  private markAllStale(): void {
    for (const r of this.records.values()) r.stale = true;
  }

  /**
   * Re-stat every file (polling fallback, and after bulk changes such as `git checkout`).
   * @returns changed IDs with their change kind
   */
  rescan(): Map<string, ChangeKind> {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      names = [];
    }
    const ids = opIdsOf(names);
    return this.finishRescan(names, ids, ids);
  }

  /**
   * `rescan` for a big tier without blocking the event loop: the directory is listed on
   * libuv's pool, then files are stat()ed in slices of at most `batch` files and ~4 ms (≈2 ms
   * for 256 files on a local disk; fewer files on a slow network file system), yielding to the
   * event loop between slices, so a key or a render waits at most one slice;
   * only files whose stat differs from what was read (or whose frozen marker differs) are
   * then re-read synchronously. Writes and watcher refreshes may run between the slices;
   * every decision is re-checked against the file system before it changes a record, so an
   * interleaved change is never undone.
   *
   * (Stat calls on libuv's pool, 512 at a time, kept their promises and `Stats` objects alive
   * across young-generation collections while other work ran: at 10k items a TUI session
   * promoted ~20 MB of such garbage to the old generation, and its RSS stayed ~25 MB higher.)
   * @returns changes by ID, as `rescan`
   */
  async rescanAsync(batch = 256): Promise<Map<string, ChangeKind>> {
    const SLICE_MS = 4;
    let names: string[];
    try {
      names = await fs.promises.readdir(this.dir);
    } catch {
      names = [];
    }
    const ids = opIdsOf(names);
    const suspects: string[] = [];
    for (let i = 0; i < ids.length;) {
      if (i > 0) await new Promise<void>((r) => setImmediate(r));
      const start = i;
      const end = Math.min(ids.length, i + batch);
      const until = performance.now() + SLICE_MS;
      for (; i < end; i++) {
        // A slow file system (NFS) ends the slice early: it never blocks much past SLICE_MS.
        if (i > start && (i - start) % 16 === 0 && performance.now() > until) break;
        const id = ids[i];
        let st: fs.Stats | undefined;
        try {
          st = fs.statSync(path.join(this.dir, `.${id}.ops`), { throwIfNoEntry: false });
        } catch {
          st = undefined;
        }
        const rec = this.records.get(id);
        if (
          !st ||
          !rec ||
          rec.error ||
          st.ino !== rec.ino ||
          st.dev !== rec.dev ||
          st.size !== rec.size ||
          st.mtimeMs !== rec.mtimeMs
        )
          suspects.push(id);
      }
    }
    return this.finishRescan(names, ids, suspects);
  }

  /**
   * The common end of a re-stat: re-read `suspects` (`refresh` checks each file again),
   * reconcile frozen markers with the listing (each differing marker checked on disk),
   * drop records whose file is gone (checked on disk: it may be newer than the listing),
   * and re-apply a changed edit-mode log.
   */
  private finishRescan(names: string[], ids: string[], suspects: string[]): Map<string, ChangeKind> {
    const changes = new Map<string, ChangeKind>();
    for (const id of suspects) {
      const c = this.refresh(id);
      if (c !== "none") changes.set(id, c);
    }
    const frozen = new Set(names.filter((n) => n.endsWith(".frozen")));
    const differing = new Set<string>();
    for (const n of frozen) if (!this.frozenNames.has(n)) differing.add(n);
    for (const n of this.frozenNames) if (!frozen.has(n)) differing.add(n);
    for (const n of differing) {
      const r = this.refreshName(n); // checks the marker's existence now
      if (r && r.change !== "none" && !changes.has(r.id)) changes.set(r.id, r.change);
    }
    this.ignoredNames = names.filter((n) => isIgnoredOpName(n));
    const seen = new Set(ids);
    for (const id of [...this.records.keys()]) {
      if (seen.has(id)) continue;
      const c = this.refresh(id);
      if (c !== "none") changes.set(id, c);
    }
    if (this.refreshEditLog())
      for (const id of this.records.keys()) if (!changes.has(id)) changes.set(id, "changed");
    return changes;
  }

  /** IDs in listing order (by file name, store.md §1). */
  ids(): string[] {
    if (!this.order) {
      const ids = [...this.records.keys()];
      this.order = pyOrder(ids.map((id) => `.${id}.ops`)).map((i) => ids[i]);
    }
    return this.order;
  }

  /**
   * The compiled item, or null when the file is missing or uncompilable.
   * Items are immutable snapshots: a later change produces a new object.
   */
  item(id: string): Item | null {
    let rec = this.records.get(id);
    if (!rec || rec.error) return null;
    if (rec.body) this.revive(rec);
    if (!rec.fold) {
      // From the warm cache: valid until something (the edit-mode log) makes it stale.
      if (rec.item && !rec.stale) {
        const ids = rec.copyFrom && this.revived.get(rec.copyFrom);
        if (ids) {
          // (most recently used now)
          this.revived.delete(rec.copyFrom!);
          this.revived.set(rec.copyFrom!, ids);
        }
        return rec.item;
      }
      if (rec.item && rec.lastKey && !rec.hasEditOps) {
        // Only the edit-mode log (or the frozen marker) changed: no need to re-read the file.
        const it = refinish(rec.item, rec.lastKey.at, rec.lastKey, this.editLog.ops);
        it.tier = this.tier;
        it.frozen = rec.frozen;
        setItem(rec, it);
        rec.stale = false;
        return it;
      }
      const again = this.readFull(id, rec.path, 1);
      if (!again?.fold || again.error) return null;
      rec = again;
    }
    if (rec.stale || !rec.item) {
      try {
        const it = rec.fold!.finish(this.editLog.ops);
        it.tier = this.tier;
        it.frozen = rec.frozen;
        setItem(rec, it);
      } catch (e) {
        rec.error = e instanceof CorruptFileError ? e : new CorruptFileError(String(e), rec.path);
        setItem(rec, null);
      }
      rec.stale = false;
    }
    return rec.item;
  }

  /**
   * The item for a list, which may not need its text: while the item is still in a warm-start
   * cache file (or was revived from it, unchanged), a `LazyItem` made from its cached summary,
   * the same object until the item changes; otherwise `item`. The TUI's first frame at 10k items
   * is ~450 ms sooner than with every item revived.
   * @returns null when the file is missing or uncompilable
   */
  listItem(id: string): Item | null {
    const rec = this.records.get(id);
    if (!rec || rec.error) return null;
    if (rec.stale) return this.item(id);
    if (rec.lazy) return rec.lazy;
    if (!rec.body || !rec.summary || !rec.fromCache) return this.item(id);
    return (rec.lazy = new LazyItem(rec.summary, rec.frozen, this));
  }

  /**
   * Bring a record's item in from its cache-file group, with the group's other members that
   * still point there. When the file cannot be read back, the record loses its body and
   * `item` re-reads the op file.
   */
  private revive(rec: ItemRecord): void {
    const body = rec.body!;
    this.reviveGroups(body.src, [body.group]);
    if (rec.body) {
      rec.body = null;
      setItem(rec, null);
    }
    this.trimRevived();
  }

  /**
   * Put the least recently used revived groups back in their file while more than
   * `keepRevivedGroups` are kept: each member still as it was revived (unchanged since, not
   * re-read) gets its body back and drops its item, as if it had never been revived.
   */
  private trimRevived(): void {
    if (this.keepRevivedGroups === null) return;
    // (at least the group just revived: `item` returns one of its members)
    const keep = Math.max(1, this.keepRevivedGroups);
    for (const [body, ids] of this.revived) {
      if (this.revived.size <= keep) return;
      this.revived.delete(body);
      for (const id of ids) {
        const r = this.records.get(id);
        if (!r || r.copyFrom !== body || r.body || r.stale || r.fold || !r.item) continue;
        r.body = body;
        r.copyFrom = null;
        r.item = null;
        r.createData = null;
      }
    }
  }

  /** Give the members of cache-file groups that still point there their items. */
  private reviveGroups(src: CacheSource, groups: number[]): void {
    const decoded = src.groupsOf(groups);
    groups.forEach((g, k) => {
      const ids: string[] = [];
      let body: CachedBody | null = null;
      for (const [id, it, cd] of decoded?.[k] ?? []) {
        const r = this.records.get(id);
        if (!r || r.body?.src !== src || r.body.group !== g) continue;
        it.tier = this.tier;
        it.frozen = r.frozen;
        r.item = it; // the same item the summary and derived texts were made from
        r.createData = cd;
        r.copyFrom = body = r.body;
        r.body = null;
        ids.push(id);
      }
      if (body && this.keepRevivedGroups !== null) this.revived.set(body, ids);
    });
  }

  /**
   * Revive every item still in a cache file, reading each file once (before a pass over all
   * items, e.g. the TUI's first frame). Items that cannot be read back are left to `item`.
   */
  reviveAll(): void {
    const bySrc = new Map<CacheSource, Set<number>>();
    for (const r of this.records.values()) {
      if (!r.body) continue;
      let set = bySrc.get(r.body.src);
      if (!set) bySrc.set(r.body.src, (set = new Set()));
      set.add(r.body.group);
    }
    for (const [src, groups] of bySrc) this.reviveGroups(src, [...groups]);
  }

  /**
   * The items of `ids` for one pass over their text, without keeping what the pass brought in:
   * an item still in a warm-start cache file is decoded from its group (one read per group, the
   * group's other wanted members with it) and left there, so a pass over every item's text
   * (the TUI's clusters view) does not keep ~90 MB of revived items at 10k items. Other items
   * are `item(id)`. Missing and uncompilable items are skipped.
   * @returns `[id, item]` pairs, cache-file items first, then the rest in `ids` order
   */
  *peek(ids: readonly string[]): Generator<[string, Item]> {
    const bySrc = new Map<CacheSource, Map<number, Set<string>>>();
    const rest: string[] = [];
    for (const id of ids) {
      const r = this.records.get(id);
      if (!r || r.error) continue;
      if (!r.body || r.stale) {
        rest.push(id);
        continue;
      }
      let groups = bySrc.get(r.body.src);
      if (!groups) bySrc.set(r.body.src, (groups = new Map()));
      let members = groups.get(r.body.group);
      if (!members) groups.set(r.body.group, (members = new Set()));
      members.add(id);
    }
    for (const [src, groups] of bySrc)
      for (const [g, members] of groups) {
        const decoded = src.groupsOf([g])[0] ?? [];
        for (let k = 0; k < decoded.length; k++) {
          const [id, it] = decoded[k];
          // (dropped from the group as it goes: a member the caller is done with can be
          // collected young, before the rest of the group is)
          (decoded as unknown[])[k] = null;
          const r = this.records.get(id);
          // Only members whose record still points at this group (and is still wanted).
          if (!members.has(id) || !r || r.body?.src !== src || r.body.group !== g) continue;
          members.delete(id);
          it.tier = this.tier;
          it.frozen = r.frozen;
          yield [id, it];
        }
        rest.push(...members); // not readable back from the file: the op file instead
      }
    for (const id of rest) {
      const it = this.item(id);
      if (it) yield [id, it];
    }
  }

  /** Records whose item is still in a cache file (counted by a pass over the records). */
  lazyItems(): number {
    let n = 0;
    for (const r of this.records.values()) if (r.body) n++;
    return n;
  }

  /**
   * Query fields of an item without reviving it when they are known (warm cache).
   * @returns null when the file is missing or uncompilable
   */
  summary(id: string): ItemSummary | null {
    const rec = this.records.get(id);
    if (!rec || rec.error) return null;
    if (rec.summary && !rec.stale && (rec.item || rec.body)) return rec.summary;
    const it = this.item(id);
    if (!it) return null;
    const r = this.records.get(id)!;
    r.summary ??= summarizeItem(it);
    return r.summary;
  }

  /** The item's create data (revives a cached item). */
  createData(id: string): YamlMap | null {
    this.item(id);
    return this.records.get(id)?.createData ?? null;
  }

  /**
   * A text derived from the item's current state under `key`, if one was kept (this run or
   * the warm-start cache). Brings a stale record up to date first (which drops its texts
   * when the item changed).
   */
  derivedText(id: string, key: string): DerivedText | undefined {
    const rec = this.records.get(id);
    if (!rec || rec.error) return undefined;
    if (rec.stale || (!rec.item && !rec.body)) this.item(id);
    const r = this.records.get(id);
    return r?.derived?.get(key) ?? r?.cachedTexts?.cache.text(r.cachedTexts.entry, key);
  }

  /**
   * Whether the item's current state is in the warm-start cache file it was loaded from
   * (still only there, or revived from there and unchanged since).
   */
  inCacheFile(id: string): boolean {
    const rec = this.records.get(id);
    return !!rec && !rec.stale && !rec.error && (rec.body ?? rec.copyFrom) !== null;
  }

  /** Keep a text derived from the item's current state (see `derivedText`). */
  setDerivedText(id: string, key: string, text: Buffer): void {
    const rec = this.records.get(id);
    if (!rec) return;
    (rec.derived ??= new Map()).set(key, text);
  }

  /** Every problem of this tier (item files and the edit-mode log). */
  problems(): Problem[] {
    const out: Problem[] = [];
    for (const id of this.ids()) {
      const r = this.records.get(id)!;
      out.push(...r.problems);
      if (r.error && !r.problems.some((p) => p.fatal)) {
        out.push({
          kind: "syntax",
          message: r.error.message,
          file: path.basename(r.path),
          line: 1,
          fatal: true,
        });
      }
    }
    out.push(...this.editLog.problems);
    for (const n of this.ignoredNames) {
      out.push({
        kind: "unsafe-name",
        // JSON quoting keeps control characters in the name inert wherever this is shown.
        message: `${JSON.stringify(n)}: ignored: not a valid item file name (an ID may only use letters, digits, '_', '.', ':', '-')`,
        file: n,
        line: 1,
        fatal: false,
      });
    }
    return out;
  }
}

/** A record's derived texts, in memory and in its cache file (null when none). */
function keptTexts(rec: ItemRecord): Map<string, DerivedText> | null {
  if (!rec.cachedTexts) return rec.derived;
  const all = new Map(rec.cachedTexts.cache.texts(rec.cachedTexts.entry));
  for (const [k, v] of rec.derived ?? []) all.set(k, v);
  return all.size ? all : null;
}

/**
 * A record's kept texts plus, for an item in memory, a renderer per `derive` key it has no
 * text under (a new map: the record's own is never changed).
 */
function withDerived(
  kept: Map<string, DerivedText> | null,
  item: Item | null,
  derive: ReadonlyMap<string, (item: Item) => string> | undefined,
): Map<string, DerivedText | (() => Buffer)> | null {
  if (!item || !derive?.size) return kept;
  let out: Map<string, DerivedText | (() => Buffer)> | null = null;
  for (const [k, render] of derive) {
    if (kept?.has(k)) continue;
    out ??= new Map(kept ?? []);
    out.set(k, () => Buffer.from(render(item), "utf8"));
  }
  return out ?? kept;
}

/** Replace a record's item: its summary, lazy item and derived texts belonged to the old one. */
function setItem(rec: ItemRecord, item: Item | null): void {
  rec.item = item;
  rec.copyFrom = null;
  rec.summary = null;
  rec.lazy = null;
  rec.derived = null;
  rec.cachedTexts = null;
}

/**
 * An op-file-looking directory entry that is not a valid item file (not our temp files).
 * @param id `idFromFileName(n)` when the caller has it (saves checking the name twice)
 */
function isIgnoredOpName(n: string, id: string | null = idFromFileName(n)): boolean {
  return id === null && n.startsWith(".") && n.endsWith(".ops") && !n.startsWith(".htrac_");
}

/** Compare keys helper re-exported for writers. */
export { compareKeys };

/** A file's stat, or undefined when it is gone or cannot be looked at (a full read reports why). */
function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/**
 * Two lists of IDs, each in listing order (`TierStore.ids`: by op file name, as `pyOrder`),
 * merged into one in that order (IDs are ASCII: code-unit order is Python's).
 */
function mergeListing(a: readonly string[], b: readonly string[]): string[] {
  if (!b.length) return a as string[];
  if (!a.length) return b as string[];
  const out = new Array<string>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length)
    out[k++] = pyStrCmp(`.${a[i]}.ops`, `.${b[j]}.ops`) <= 0 ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}
