/**
 * App state as plain data and the pure functions that derive what the views show: the
 * filtered/ordered rows of the current view, unread state, the isbefore chain of the
 * selection, cursor and scroll kept by item ID.
 */
import {
  type Item,
  lastAuthor,
  matchQuery,
  type Problem,
  parseQuery,
  threadLength,
  type Tier,
  type TrackerConfig,
} from "../index.js";
import {
  type Haystack,
  haystack,
  mayContain,
  needleGrams,
  priorityTest,
  type QueryTerm,
  seedHaystack,
  valueTest,
} from "../store/query.js";
import { mentionPattern } from "../store/mentions.js";
import { WordCodes } from "../store/values.js";
import { layoutTier, tableRows } from "../views/layout.js";
import { naturalIdWidthSorted } from "../views/table.js";
import { ASCII_GLYPHS, UNICODE_GLYPHS } from "../views/theme.js";
import type { ChainRole, FilterState, Row, UiState, ViewName } from "../views/types.js";

/** App state: what the views draw plus what only the app needs. */
export interface AppState extends UiState {
  /** Manual display order (tui.md §3.6). */
  customOrder: string[];
  /** Filter usage counts of this session and of earlier ones (favourites). */
  sessionCounts: Record<string, number>;
  pastSessions: Record<string, number>[];
  /** Filters saved by clear-all (tui.md §3.1). */
  lastFilters: FilterState | null;
  /** Message under the cursor in the thread view (index into the visible entries). */
  threadCursor: number;
  /**
   * Items visited by jumps (go to, followed links), browser-style (tui.md §7.2): `pos` is
   * the current entry, -1 when empty; back/forward move it.
   */
  history: { ids: string[]; pos: number };
}

/** Inputs of `createState`. */
export interface StateInit {
  cols: number;
  rows: number;
  now: number;
  color: boolean;
  ascii: boolean;
  root: string;
  actor: { by: "agent" | "human"; actor: string };
  readOnly: boolean;
  config: TrackerConfig;
}

/** A fresh state (no items yet). */
export function createState(init: StateInit): AppState {
  return {
    cols: init.cols,
    rows: init.rows,
    now: init.now,
    color: init.color,
    glyphs: init.ascii ? ASCII_GLYPHS : UNICODE_GLYPHS,
    ascii: init.ascii,
    root: init.root,
    actor: init.actor,
    readOnly: init.readOnly,
    config: init.config,
    linkPattern: mentionPattern(init.config.kinds),
    clusterView: null,
    trend: { open: false, progress: 0, points: null },
    preview: { open: false, file: "", picture: null },
    items: [],
    byId: new Map(),
    conflicts: new Set(),
    totalFiles: 0,
    view: "all",
    filters: { hiddenStatuses: [], hiddenTags: [], hideTagged: false },
    filterPanel: false,
    search: { editing: false, query: "", caret: 0 },
    rowsList: [],
    baseRows: [],
    tableStats: { ids: [], shown: new Set(), maxStatus: 6, maxTags: 4, idWidth: 9 },
    sortedIds: [],
    blockers: new Map(),
    shownCount: 0,
    cursor: 0,
    scroll: 0,
    selectedId: null,
    linkFocus: null,
    chain: new Map(),
    chainSummary: null,
    tree: false,
    fullIds: false,
    compactDetail: false,
    detailScroll: 0,
    thread: { open: false, scroll: 0 },
    help: { open: false, scroll: 0 },
    problemsOpen: false,
    problemsScroll: 0,
    dialog: null,
    toasts: [],
    live: { mode: "off" },
    problems: [],
    editMode: null,
    readState: {},
    unread: new Set(),
    favorites: [],
    keyHints: [],
    helpSections: [],
    helpCloseKeys: "Esc",
    customOrder: [],
    sessionCounts: {},
    pastSessions: [],
    lastFilters: null,
    threadCursor: 0,
    history: { ids: [], pos: -1 },
  };
}

/** Default item order (store.md §5.5): priority, then creation. */
function sortDefault(items: Item[]): Item[] {
  // Keys in flat arrays: the comparator touches no item objects (10k items sort ~3× faster).
  const n = items.length;
  const pri = new Float64Array(n);
  const at = new Array<string>(n);
  const idx = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    pri[i] = items[i].priority;
    at[i] = items[i].created_at;
    idx[i] = i;
  }
  idx.sort((a, b) => pri[a] - pri[b] || (at[a] < at[b] ? -1 : at[a] > at[b] ? 1 : 0) || a - b);
  return idx.map((i) => items[i]);
}

/**
 * Replace the item set (after load or a change batch): one item per ID, preferring
 * canonical > workspace > stealth (store.md §3.7); IDs in several tiers are conflicts.
 */
export function setItems(s: AppState, all: Item[], problems: Problem[], totalFiles: number): AppState {
  const byId = new Map<string, Item>();
  const conflicts = new Set<string>();
  for (const it of all) {
    if (byId.has(it.id)) conflicts.add(it.id);
    else byId.set(it.id, it);
  }
  // Most change batches touch a few items without changing the ID set or any sort key
  // (an appended message, a status change): reuse the previous order and sorted IDs then.
  const prev = s.items;
  let sameIds = prev.length === byId.size;
  let sameOrder = sameIds;
  if (sameIds) {
    for (let i = 0; i < prev.length; i++) {
      const p = prev[i];
      const n = byId.get(p.id);
      if (!n) {
        sameIds = sameOrder = false;
        break;
      }
      if (n !== p && (n.priority !== p.priority || n.created_at !== p.created_at)) sameOrder = false;
    }
  }
  const items = sameOrder ? prev.map((p) => byId.get(p.id)!) : sortDefault([...byId.values()]);
  const sortedIds = sameIds ? s.sortedIds : [...byId.keys()].sort();
  const blockers = blockersOf(items);
  return derive({ ...s, items, byId, conflicts, problems, totalFiles, blockers, sortedIds });
}

/** Items each ID is before-linked from (`isbefore` reversed), in item order. */
function blockersOf(items: Item[]): Map<string, string[]> {
  const blockers = new Map<string, string[]>();
  for (const it of items) {
    for (const t of it.isbefore) {
      const b = blockers.get(t);
      if (b) b.push(it.id);
      else blockers.set(t, [it.id]);
    }
  }
  return blockers;
}

const itemPositionMemo = new WeakMap<Item[], Map<string, number>>();
/** Position of each ID in an item array (memoised per array). */
function itemPositions(items: Item[]): Map<string, number> {
  let m = itemPositionMemo.get(items);
  if (!m) {
    m = new Map();
    for (let i = 0; i < items.length; i++) m.set(items[i].id, i);
    itemPositionMemo.set(items, m);
  }
  return m;
}

/**
 * Apply a few changed items without rebuilding the item set — the change feed's common case
 * (an op appended to one item). The result equals `setItems` with the full list; everything
 * memoised per item array (positions, rows, ID index, statistics, unread set, search text)
 * is carried over and patched instead of recomputed.
 * @param changed for each changed ID, the copy now shown (preferred tier, store.md §3.7);
 *   the caller checks the ID set and cross-tier conflicts did not change
 * @returns the new state, or null when a changed item is unknown or moved in the sort
 *   order (then `setItems` is needed)
 */
export function patchItems(
  s: AppState,
  changed: Item[],
  problems: Problem[],
  totalFiles: number,
): AppState | null {
  const prev = s.items;
  const pos = itemPositions(prev);
  const items = prev.slice();
  const byId = new Map(s.byId);
  let linksChanged = false;
  const pairs: [Item, Item, number][] = [];
  for (const n of changed) {
    const i = pos.get(n.id);
    if (i === undefined) return null;
    const o = items[i];
    if (o.priority !== n.priority || o.created_at !== n.created_at) return null;
    if (o.isbefore.length !== n.isbefore.length || o.isbefore.some((x, k) => n.isbefore[k] !== x))
      linksChanged = true;
    items[i] = n;
    byId.set(n.id, n);
    pairs.push([prev[i], n, i]);
  }
  // Same IDs at the same positions: position memos carry over as they are.
  itemPositionMemo.set(items, pos);
  const idx = itemIndexes.get(prev);
  if (idx) itemIndexes.set(items, idx);
  const hays = hayArrays.get(prev);
  if (hays) {
    const copy = hays.slice();
    for (const [, , i] of pairs) copy[i] = undefined;
    hayArrays.set(items, copy);
  }
  const stats = statsCache.get(prev);
  if (stats) statsCache.set(items, patchStats(stats, pairs));
  if (unreadCache && unreadCache.items === prev && unreadCache.readState === s.readState) {
    const set = new Set(unreadCache.set);
    for (const [, n] of pairs) {
      if (isUnread(s, n)) set.add(n.id);
      else set.delete(n.id);
    }
    unreadCache = { items, readState: s.readState, set };
  }
  const blockers = linksChanged ? blockersOf(items) : s.blockers;
  return derive({ ...s, items, byId, problems, totalFiles, blockers });
}

let unreadCache: { items: Item[]; readState: UiState["readState"]; set: Set<string> } | null = null;
/** The unread set, memoised on (items, readState) identity. */
function unreadSet(s: AppState): Set<string> {
  if (unreadCache && unreadCache.items === s.items && unreadCache.readState === s.readState)
    return unreadCache.set.size === s.unread.size && sameSet(unreadCache.set, s.unread)
      ? s.unread
      : unreadCache.set;
  const set = new Set<string>();
  for (const it of s.items) if (isUnread(s, it)) set.add(it.id);
  unreadCache = { items: s.items, readState: s.readState, set };
  return set;
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a === b) return true;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** Immutable plain rows (depth 0, not ghost, no override) shared across derives. */
const rowPool = new Map<string, Row>();
function plainRow(id: string): Row {
  let r = rowPool.get(id);
  if (!r) {
    if (rowPool.size > 200_000) rowPool.clear();
    r = Object.freeze({ id, depth: 0, ghost: false, unreadOverride: false }) as Row;
    rowPool.set(id, r);
  }
  return r;
}

const positions = new WeakMap<string[], Map<string, number>>();
/** A subset of the sorted IDs as a mask over their positions, with a set view. */
function subsetOf(
  sorted: string[],
  ids: string[],
  known?: Uint8Array,
): { mask: Uint8Array; set: ReadonlySet<string> } {
  const p = sortedPositions(sorted);
  let mask = known;
  if (!mask) {
    mask = new Uint8Array(sorted.length);
    for (const id of ids) {
      const i = p.get(id);
      if (i !== undefined) mask[i] = 1;
    }
  }
  const m = mask;
  const set = {
    has: (id: string) => {
      const i = p.get(id);
      return i !== undefined && m[i] === 1;
    },
    size: ids.length,
    [Symbol.iterator]: () => ids[Symbol.iterator](),
    keys: () => ids[Symbol.iterator](),
    values: () => ids[Symbol.iterator](),
    entries: () => new Set(ids).entries(),
    forEach: (cb: (a: string, b: string, s: ReadonlySet<string>) => void) => {
      for (const id of ids) cb(id, id, set as ReadonlySet<string>);
    },
  } as ReadonlySet<string>;
  return { mask: m, set };
}

/** Position of each ID in a sorted ID array (memoised per array). */
function sortedPositions(sorted: string[]): Map<string, number> {
  let pos = positions.get(sorted);
  if (!pos) {
    pos = new Map(sorted.map((id, i) => [id, i]));
    positions.set(sorted, pos);
  }
  return pos;
}

/** Per item array: its plain rows, each item's position among the sorted IDs, ID widths. */
interface ItemIndex {
  rows: Row[];
  sortedPos: Int32Array;
  /** `naturalIdWidthSorted` of the masked sorted IDs, from precomputed prefix lengths. */
  widthOfMask: (mask: Uint8Array) => number;
}
const itemIndexes = new WeakMap<Item[], ItemIndex>();
function itemIndex(items: Item[], sorted: string[]): ItemIndex {
  let x = itemIndexes.get(items);
  if (x) return x;
  const pos = sortedPositions(sorted);
  const sortedPos = new Int32Array(items.length);
  const rows = new Array<Row>(items.length);
  for (let i = 0; i < items.length; i++) {
    sortedPos[i] = pos.get(items[i].id) ?? 0;
    rows[i] = plainRow(items[i].id);
  }
  let width: ((mask: Uint8Array) => number) | null = null;
  // Prefix lengths are computed the first time a subset is shown (not at start-up).
  x = { rows, sortedPos, widthOfMask: (mask) => (width ??= maskedWidth(sorted))(mask) };
  itemIndexes.set(items, x);
  return x;
}

/**
 * Width function for masked subsets of one sorted ID array. The common prefix of two sorted
 * IDs is the minimum of the adjacent common prefixes between them, so a subset's widths need
 * no string comparison; duplicates (which make every width the full length) fall back.
 */
export function maskedWidth(sorted: string[]): (mask: Uint8Array) => number {
  const n = sorted.length;
  const adj = new Int32Array(Math.max(0, n - 1));
  const min2 = new Int32Array(n);
  let dup = false;
  for (let i = 0; i < n; i++) {
    const id = sorted[i];
    const first = id.indexOf("-");
    const second = first < 0 ? -1 : id.indexOf("-", first + 1);
    min2[i] = second < 0 ? id.length : second;
    if (i + 1 < n) {
      const o = sorted[i + 1];
      if (o === id) dup = true;
      let l = 0;
      while (l < id.length && l < o.length && id.charCodeAt(l) === o.charCodeAt(l)) l++;
      adj[i] = l;
    }
  }
  if (dup) return (mask) => naturalIdWidthMasked(sorted, mask);
  return (mask) => {
    let width = 0;
    let any = false;
    let prevLcp = 0;
    let i = mask.indexOf(1);
    while (i >= 0) {
      any = true;
      // Next masked position and the common prefix with it.
      let lcp = 0;
      let j = i + 1;
      let run = Number.MAX_SAFE_INTEGER;
      while (j < n && mask[j] !== 1) {
        if (adj[j - 1] < run) run = adj[j - 1];
        j++;
      }
      if (j < n) lcp = Math.min(run, adj[j - 1]);
      const need = Math.max(prevLcp, lcp) + 1;
      prevLcp = lcp;
      const id = sorted[i];
      const dash = id.indexOf("-", need);
      const snapped = dash < 0 ? id.length : dash;
      const w = snapped > min2[i] ? snapped : min2[i];
      if (w > width) width = w;
      i = j < n ? j : -1;
    }
    return any ? width : 9;
  };
}

/** `naturalIdWidthSorted` of the masked subset of a sorted ID list, without copying it. */
function naturalIdWidthMasked(sorted: string[], mask: Uint8Array): number {
  const sub: string[] = [];
  for (let i = 0; i < sorted.length; i++) if (mask[i] === 1) sub.push(sorted[i]);
  return naturalIdWidthSorted(sub);
}

const allWidths = new WeakMap<string[], number>();
/** Shortest-unique width of every ID, memoised per sorted-ID array. */
function allIdWidth(sorted: string[]): number {
  let w = allWidths.get(sorted);
  if (w === undefined) {
    w = naturalIdWidthSorted(sorted);
    allWidths.set(sorted, w);
  }
  return w;
}

const keySets = new WeakMap<Map<string, Item>, ReadonlySet<string>>();
/** A read-only set view of a map's keys (memoised per map). */
function keySet(m: Map<string, Item>): ReadonlySet<string> {
  let v = keySets.get(m);
  if (!v) {
    v = {
      has: (k: string) => m.has(k),
      get size() {
        return m.size;
      },
      forEach: (cb: (a: string, b: string, set: ReadonlySet<string>) => void) => {
        for (const k of m.keys()) cb(k, k, v!);
      },
      entries: () => new Set(m.keys()).entries(),
      keys: () => m.keys(),
      values: () => m.keys(),
      [Symbol.iterator]: () => m.keys(),
    } as ReadonlySet<string>;
    keySets.set(m, v);
  }
  return v;
}

/**
 * Human-side unread (tui.md §1.13): last entry not by a human, unless a current override says
 * read. (A lazy item's thread is not read for this: its summary knows both.)
 */
export function isUnread(s: Pick<UiState, "readState">, it: Item): boolean {
  const n = threadLength(it);
  if (n === 0) return false;
  const ov = s.readState[it.id];
  if (ov && ov.discussion_len === n) return !ov.read;
  const by = lastAuthor(it);
  return by !== null && by !== "human";
}

function blockedSet(s: AppState): Set<string> {
  const resolved = new Set(s.config.resolved_statuses);
  const blocked = new Set<string>();
  for (const it of s.items) if (!resolved.has(it.status)) for (const t of it.isbefore) blocked.add(t);
  return blocked;
}

/** IDs `ready` would return (store.md §5.5), in ready order. */
export function readyIds(s: AppState): string[] {
  const blocking = new Set(s.config.blocking_statuses);
  const blocked = blockedSet(s);
  return s.items
    .filter(
      (i) =>
        blocking.has(i.status) &&
        i.duplicate_of.length === 0 &&
        !i.cross_tier_conflict &&
        !s.conflicts.has(i.id) &&
        !blocked.has(i.id),
    )
    .map((i) => i.id);
}

/** Items of the current view before filters. */
function viewItems(s: AppState): Item[] {
  if (s.view === "ready") return readyIds(s).map((id) => s.byId.get(id)!);
  if (s.view === "clusters")
    return (s.clusterView?.done ? s.clusterView.order : []).flatMap((id) => s.byId.get(id) ?? []);
  if (s.view === "inbox") {
    const inbox = s.items.filter((i) => i.status === "needs_human_review" || s.unread.has(i.id));
    // Waiting on the human first: newest activity first within priority.
    return inbox.sort(
      (a, b) =>
        a.priority - b.priority || (a.updated_at > b.updated_at ? -1 : a.updated_at < b.updated_at ? 1 : 0),
    );
  }
  return s.items;
}

const hayArrays = new WeakMap<Item[], (Haystack | undefined)[]>();
/** Search text per position of an item array (filled lazily). */
function hayArray(items: Item[]): (Haystack | undefined)[] {
  let arr = hayArrays.get(items);
  if (!arr) {
    arr = new Array<Haystack | undefined>(items.length);
    hayArrays.set(items, arr);
  }
  return arr;
}

/**
 * Prepare search text for items [from, to) of an item array in idle time (the session does
 * this in slices after the first frame), so the first keystroke of a search does not.
 * @param kept the search texts (`searchText`, UTF-8) kept for some of the given items — the
 *   warm-start cache's, `Tracker.cachedTexts` — so that those items' text is not read; the
 *   others' search text is made from the item
 */
export function prepareSearch(
  items: Item[],
  from: number,
  to: number,
  kept?: (items: Item[]) => (Buffer | undefined)[],
): void {
  const hays = hayArray(items);
  const todo: number[] = [];
  for (let i = from; i < to && i < items.length; i++) if (hays[i] === undefined) todo.push(i);
  const texts = kept && todo.length ? kept(todo.map((i) => items[i])) : [];
  todo.forEach((i, k) => {
    const text = texts[k]?.toString("utf8");
    // (U+FFFD: the text had a lone surrogate, which UTF-8 cannot keep)
    hays[i] =
      text !== undefined && !text.includes("\ufffd") ? seedHaystack(items[i], text) : haystack(items[i]);
  });
}

/**
 * Dry runs of the filter and search pipeline for idle time after the first frame (after
 * `prepareSearch`): the first filter toggle of a session builds the filter columns, and the
 * first keys run in V8's interpreter until its optimising compiler has seen them — at 10k
 * items the first ~20 toggles or search keys of a session took 10–60 ms instead of 2–6 ms.
 * Each step derives a variant of `s` (a status, a tag or "Tagged" hidden; a query typed
 * character by character; field terms) and discards it. Pure: the session's state is not
 * touched. The search memo (`lastSearch`) then describes a dry run, which stays correct: a
 * later search narrows from it only when it extends that very query over the same items
 * and filters. The session stops stepping at the human's first key.
 * @param step 0, 1, 2, … in order
 * @returns whether there are more steps
 */
export function warmPipeline(s: AppState, step: number): boolean {
  const { statusCount, tagCount } = itemStats(s.items);
  const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1])[0]?.[0];
  const status = top(statusCount);
  const tag = top(tagCount);
  const search = (query: string): AppState => ({
    ...s,
    search: { editing: true, query, caret: query.length },
  });
  const variants: (() => AppState)[] = [
    () => ({ ...s, filters: { ...s.filters, hiddenStatuses: status ? [status] : [] } }),
    () => ({ ...s, filters: { ...s.filters, hiddenTags: tag ? [tag] : [] } }),
    () => ({ ...s, filters: { ...s.filters, hideTagged: !s.filters.hideTagged } }),
    () => search("e"),
    () => search("er"),
    () => search("era"),
    () => search(status ? `status:${status}` : "is:ready"),
    () => search(tag ? `tag:${tag} p<=1` : "p<=1"),
  ];
  const ROUNDS = 3;
  if (step === 0)
    numberedEntries(s); // the filter panel's counts
  else derive(variants[(step - 1) % variants.length]());
  return step < ROUNDS * variants.length;
}

/**
 * Per item array, flat columns the filters and a search's field terms test instead of the
 * item objects (scattered in memory): IDs, status codes (into `statuses`), whether an item
 * has tags, priorities, and codes into `words` of tiers (-1: none), kinds, ID prefixes and
 * tags (item i's tags are `tagCode[tagStart[i] … tagStart[i + 1]]`).
 */
interface FilterColumns {
  ids: string[];
  statuses: string[];
  status: Int32Array;
  tagged: Uint8Array;
  priority: Float64Array;
  words: string[];
  tier: Int32Array;
  kind: Int32Array;
  idPrefix: Int32Array;
  tagStart: Uint32Array;
  tagCode: Int32Array;
}
const filterColumnsMemo = new WeakMap<Item[], FilterColumns>();
function filterColumns(items: Item[]): FilterColumns {
  let fx = filterColumnsMemo.get(items);
  if (fx) return fx;
  const n = items.length;
  const statusCodes = new WordCodes();
  const statuses = statusCodes.words;
  const wordCodes = new WordCodes();
  const words = wordCodes.words;
  const word = (w: string) => wordCodes.code(w);
  const ids = new Array<string>(n);
  const status = new Int32Array(n);
  const tagged = new Uint8Array(n);
  const priority = new Float64Array(n);
  const tier = new Int32Array(n);
  const kind = new Int32Array(n);
  const idPrefix = new Int32Array(n);
  const tagStart = new Uint32Array(n + 1);
  const tagCodes: number[] = [];
  for (let i = 0; i < n; i++) {
    const it = items[i];
    ids[i] = it.id;
    status[i] = statusCodes.code(it.status);
    tagged[i] = it.tags.length > 0 ? 1 : 0;
    priority[i] = it.priority;
    tier[i] = it.tier === null ? -1 : word(it.tier);
    kind[i] = word(it.kind);
    const dash = it.id.indexOf("-");
    idPrefix[i] = word(dash < 0 ? it.id : it.id.slice(0, dash));
    for (let k = 0; k < it.tags.length; k++) tagCodes.push(word(it.tags[k]));
    tagStart[i + 1] = tagCodes.length;
  }
  fx = {
    ids,
    statuses,
    status,
    tagged,
    priority,
    words,
    tier,
    kind,
    idPrefix,
    tagStart,
    tagCode: Int32Array.from(tagCodes),
  };
  filterColumnsMemo.set(items, fx);
  return fx;
}

/**
 * A search term as a test over the columns, with `matchQuery`'s result for that term: the
 * store's value test (`valueTest`) runs once per distinct word, not once per item; null for
 * terms that need the item itself (text, id, title, field, has, is).
 */
function columnTest(t: QueryTerm, fx: FilterColumns): ((i: number) => boolean) | null {
  const byPriority = priorityTest(t);
  if (byPriority) {
    const p = fx.priority;
    return (i) => byPriority(p[i]);
  }
  const test = valueTest(t);
  if (!test) return null;
  const wordsWhere = (words: string[]) => {
    const ok = new Uint8Array(words.length);
    for (let c = 0; c < words.length; c++) if (test(words[c])) ok[c] = 1;
    return ok;
  };
  if (t.field === "status") {
    const ok = wordsWhere(fx.statuses);
    return (i) => ok[fx.status[i]] === 1;
  }
  const ok = wordsWhere(fx.words);
  switch (t.field) {
    case "tag":
      return (i) => {
        for (let k = fx.tagStart[i]; k < fx.tagStart[i + 1]; k++) if (ok[fx.tagCode[k]] === 1) return true;
        return false;
      };
    case "kind":
      return (i) => ok[fx.kind[i]] === 1 || ok[fx.idPrefix[i]] === 1;
    case "tier":
      return (i) => fx.tier[i] >= 0 && ok[fx.tier[i]] === 1;
    default:
      return null;
  }
}

let lastSearch: {
  base: Item[];
  filters: FilterState;
  query: string;
  hits: Uint8Array | null;
  /** Free-text fast path: its needles and, per needle, where it first occurs in each hit. */
  text?: { needles: string[]; pos: Int32Array[] };
} | null = null;

/**
 * Indexes into `base` that can still match `q`, when `q` narrows the previous search over the
 * same base and filters (typing more characters), or null.
 */
function narrowable(s: AppState, base: Item[], q: ReturnType<typeof parseQuery>): Uint8Array | null {
  const last = lastSearch;
  if (!last || last.base !== base || last.filters !== s.filters || !last.hits) return null;
  const prev = last.query.trim();
  if (prev === "" || !s.search.query.startsWith(last.query)) return null;
  if (q.errors.length || q.terms.some((t) => t.negate || (t.field !== "text" && t.field !== "title")))
    return null;
  const old = parseQuery(last.query);
  if (old.terms.length > q.terms.length) return null;
  // Each old term must be a prefix-extension of the new term at the same position
  // (substring matching: a longer needle only matches where the shorter one did).
  for (let i = 0; i < old.terms.length; i++) {
    const a = old.terms[i];
    const b = q.terms[i];
    if (a.field !== b.field || a.negate || !b.value.toLowerCase().includes(a.value.toLowerCase()))
      return null;
  }
  return last.hits;
}

/** Apply the filter pipeline (tui.md §3.2) and search; returns IDs and unread overrides. */
export function filteredIds(s: AppState): {
  ids: string[];
  overrides: Set<string>;
  /** Positions in `base` of `ids` (same order), or null when reordered. */
  at: Int32Array | null;
  base: Item[];
} {
  const base = viewItems(s);
  const hs = new Set(s.filters.hiddenStatuses);
  const ht = new Set(s.filters.hiddenTags);
  const q = parseQuery(s.search.query);
  const blocked = q.terms.some((t) => t.field === "is") ? blockedSet(s) : undefined;
  const ready = q.terms.some((t) => t.value === "ready") ? new Set(readyIds(s)) : undefined;
  const blockerCount = s.blockers;
  const ctx = {
    unread: (id: string) => s.unread.has(id),
    blocked,
    ready,
    conflicts: s.conflicts,
    blockersOf: (id: string) => blockerCount.get(id)?.length ?? 0,
  };
  const hideTagged = s.filters.hideTagged;
  const hasTerms = q.terms.length > 0;
  // On the whole item set, statuses and tagged-ness come from flat arrays: the item objects
  // (scattered in memory) are touched only when a tag list or a query needs them.
  // (Set up by the general loop below, the only user.)
  let fx: FilterColumns | null = null;
  let hiddenStatus: Uint8Array | null = null;
  // Field terms tested on the columns, and the terms left for `matchQuery` (general loop).
  let tests: { test: (i: number) => boolean; negate: boolean }[] = [];
  let rest = q;
  /** The filter rules (tui.md §3.2) and the query, for `base[i]`. */
  const pass = (i: number) => {
    if (hs.size && (hiddenStatus ? hiddenStatus[fx!.status[i]] === 1 : hs.has(base[i].status))) return false;
    if (fx ? fx.tagged[i] === 1 : base[i].tags.length > 0) {
      if (hideTagged) return false;
      if (ht.size) {
        const tags = base[i].tags;
        for (let t = 0; t < tags.length; t++) if (ht.has(tags[t])) return false;
      }
    }
    for (let k = 0; k < tests.length; k++) if (tests[k].test(i) === tests[k].negate) return false;
    return rest.terms.length === 0 || matchQuery(base[i], rest, ctx);
  };
  const idAt = (i: number) => (fx ? fx.ids[i] : base[i].id);
  const noFilter = hs.size === 0 && ht.size === 0 && !s.filters.hideTagged && q.terms.length === 0;
  // Typing narrows: when the query only extends the previous one with positive free-text
  // terms, only the items that matched before can match now.
  const narrowFrom = narrowable(s, base, q);
  const plainText =
    q.terms.length > 0 && q.errors.length === 0 && q.terms.every((t) => !t.negate && t.field === "text");
  let ids: string[] = [];
  // passed[i]: base[i] survived the filters (used to re-append hidden unread items).
  const passed = new Uint8Array(base.length);
  // at[k]: position in base of ids[k].
  let at = new Int32Array(base.length);
  let n = 0;
  let textPositions: { needles: string[]; pos: Int32Array[] } | undefined;
  if (noFilter) {
    ids = base.map((i) => i.id);
    passed.fill(1);
    for (let i = 0; i < base.length; i++) at[i] = i;
    n = base.length;
  } else if (plainText && hs.size === 0 && ht.size === 0 && !s.filters.hideTagged) {
    // Fast path while typing: only positive free-text terms, no filters.
    const needles = q.terms.map((t) => t.value.toLowerCase()).filter((v) => v !== "");
    const grams = needles.map(needleGrams);
    const prev = narrowFrom;
    // Narrowing by typing: a needle the previous search already matched in every candidate
    // needs no check, and a needle that extends the previous one can only start where that
    // one first occurred (or later). Per needle: 0 scan, 1 already matched, 2 from `oldPos`.
    const old = prev ? lastSearch?.text : undefined;
    const mode = needles.map((v, k) =>
      !old || k >= old.needles.length ? 0 : v === old.needles[k] ? 1 : v.startsWith(old.needles[k]) ? 2 : 0,
    );
    const pos = needles.map((_, k) => (mode[k] === 1 ? old!.pos[k] : new Int32Array(base.length)));
    // Search text aligned with the item array: one lookup per search, not one per item.
    const hays = hayArray(base);
    // Hits' IDs from the ID column (not from the item objects, scattered in memory).
    const idCol = base === s.items ? filterColumns(base).ids : null;
    for (let i = 0; i < base.length; i++) {
      if (prev && prev[i] === 0) continue;
      let h = hays[i];
      if (h === undefined) h = hays[i] = haystack(base[i]);
      let ok = true;
      for (let k = 0; k < needles.length; k++) {
        const m = mode[k];
        if (m === 1) continue;
        // The trigram filter first (rules out most items for a rare needle without a scan).
        const at0 = !mayContain(h, grams[k]) ? -1 : h.all.indexOf(needles[k], m === 2 ? old!.pos[k][i] : 0);
        if (at0 < 0) {
          ok = false;
          break;
        }
        pos[k][i] = at0;
      }
      if (ok) {
        passed[i] = 1;
        ids.push(idCol ? idCol[i] : base[i].id);
        at[n++] = i;
      }
    }
    textPositions = { needles, pos };
  } else {
    fx = base === s.items ? filterColumns(base) : null;
    if (fx && hasTerms) {
      const made = q.terms.map((t) => columnTest(t, fx!));
      tests = q.terms.flatMap((t, k) => (made[k] ? [{ test: made[k], negate: t.negate }] : []));
      rest = { terms: q.terms.filter((_, k) => !made[k]), errors: q.errors };
    }
    if (fx && hs.size) {
      hiddenStatus = new Uint8Array(fx.statuses.length);
      for (let c = 0; c < fx.statuses.length; c++) if (hs.has(fx.statuses[c])) hiddenStatus[c] = 1;
    }
    for (let i = 0; i < base.length; i++)
      if ((narrowFrom === null || narrowFrom[i] === 1) && pass(i)) {
        passed[i] = 1;
        ids.push(idAt(i));
        at[n++] = i;
      }
  }
  lastSearch = {
    base,
    filters: s.filters,
    query: s.search.query,
    hits: q.terms.length ? passed : null,
    text: textPositions,
  };
  let aligned = true;
  if (s.view === "all" && s.customOrder.length > 0) {
    const pos = new Map(s.customOrder.map((id, i) => [id, i]));
    const ordered = ids.filter((id) => pos.has(id)).sort((a, b) => pos.get(a)! - pos.get(b)!);
    ids = [...ordered, ...ids.filter((id) => !pos.has(id))];
    aligned = false;
  }
  // Unread items the filters hid are still shown at the end (the search is explicit, so
  // search results are not padded).
  const overrides = new Set<string>();
  if (s.search.query.trim() === "" && s.view === "all" && s.unread.size > 0 && !noFilter) {
    for (let i = 0; i < base.length; i++) {
      if (!passed[i] && s.unread.has(base[i].id)) {
        ids.push(base[i].id);
        overrides.add(base[i].id);
        if (n === at.length) {
          const grown = new Int32Array(Math.max(16, at.length * 2));
          grown.set(at);
          at = grown;
        }
        at[n++] = i;
      }
    }
  }
  return { ids, overrides, at: aligned ? at.subarray(0, n) : null, base };
}

/** Chain roles around `id` (tui.md §1.12): BFS over isbefore in both directions, cycle-safe. */
export function chainOf(
  s: AppState,
  id: string | null,
): { roles: Map<string, ChainRole>; summary: AppState["chainSummary"] } {
  const roles = new Map<string, ChainRole>();
  if (!id || !s.byId.has(id)) return { roles, summary: null };
  const blockersOf = s.blockers;
  const walk = (start: string, next: (x: string) => string[], direct: ChainRole, far: ChainRole) => {
    const out: { direct: string[]; far: string[] } = { direct: [], far: [] };
    const seen = new Set([start]);
    let frontier = [start];
    let depth = 0;
    while (frontier.length > 0) {
      depth++;
      const nextFrontier: string[] = [];
      for (const x of frontier) {
        for (const y of next(x)) {
          if (seen.has(y) || !s.byId.has(y)) continue;
          seen.add(y);
          nextFrontier.push(y);
          if (!roles.has(y)) roles.set(y, depth === 1 ? direct : far);
          (depth === 1 ? out.direct : out.far).push(y);
        }
      }
      frontier = nextFrontier;
    }
    return out;
  };
  const b = walk(id, (x) => blockersOf.get(x) ?? [], "blocker", "transitive-blocker");
  const d = walk(id, (x) => s.byId.get(x)?.isbefore ?? [], "dependent", "transitive-dependent");
  if (roles.size === 0) return { roles, summary: null };
  roles.set(id, "selected");
  const summary =
    b.direct.length + d.direct.length > 0
      ? { blockers: b.direct, viaBlockers: b.far, dependents: d.direct, thenDependents: d.far }
      : null;
  return { roles, summary };
}

/** Tree rows by parent among the shown IDs (tui.md §1.9). */
function treeRows(s: AppState, ids: string[]): Row[] {
  const shown = new Set(ids);
  const children = new Map<string, string[]>();
  const roots: string[] = [];
  for (const id of ids) {
    const p = s.byId.get(id)?.parent;
    if (p && shown.has(p) && p !== id) children.set(p, [...(children.get(p) ?? []), id]);
    else roots.push(id);
  }
  const rows: Row[] = [];
  const seen = new Set<string>();
  const g = s.glyphs;
  const visit = (id: string, depth: number, prefix: string, last: boolean) => {
    if (seen.has(id)) return;
    seen.add(id);
    rows.push({
      id,
      depth,
      ghost: false,
      unreadOverride: false,
      prefix: prefix + (last ? g.treeLast : g.treeBranch),
    });
    const kids = children.get(id) ?? [];
    kids.forEach((k, i) => visit(k, depth + 1, prefix + (last ? "   " : g.treePipe), i === kids.length - 1));
  };
  roots.forEach((r, i) => visit(r, 0, "", i === roots.length - 1));
  for (const id of ids) if (!seen.has(id)) visit(id, 0, "", true);
  return rows;
}

/**
 * Recompute everything derived: unread set, rows of the view (filters, search, order), then
 * the selection (`select`). Call after items, filters, view, search or tree mode change.
 */
export function derive(s: AppState): AppState {
  const unread = unreadSet(s);
  const withUnread = unread === s.unread ? s : { ...s, unread };
  const { ids, overrides, at, base } = filteredIds(withUnread);
  // Positions in the item array: rows and the ID mask come from arrays, not string lookups.
  const idx = at && base === s.items ? itemIndex(s.items, s.sortedIds) : null;
  let baseRows: Row[];
  if (withUnread.tree && layoutTier(s.cols, s.rows) !== "compact" && s.view !== "clusters") {
    baseRows = treeRows(withUnread, ids);
    if (overrides.size) for (const r of baseRows) if (overrides.has(r.id)) r.unreadOverride = true;
  } else {
    baseRows = new Array<Row>(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      baseRows[i] =
        overrides.size && overrides.has(id)
          ? { id, depth: 0, ghost: false, unreadOverride: true }
          : idx && at
            ? idx.rows[at[i]]
            : plainRow(id);
    }
  }
  // Column widths follow the whole item set, so columns do not jump while filtering.
  const { maxStatus, maxTags } = itemStats(s.items);
  // Every item shown (the common case): membership is the item map itself, no new set.
  const all = ids.length === s.byId.size;
  let shown: ReadonlySet<string>;
  let idWidth: number;
  if (all) {
    shown = keySet(s.byId);
    idWidth = allIdWidth(s.sortedIds);
  } else {
    let mask: Uint8Array | undefined;
    if (idx && at) {
      mask = new Uint8Array(s.sortedIds.length);
      for (let i = 0; i < at.length; i++) mask[idx.sortedPos[at[i]]] = 1;
    }
    const sub = subsetOf(s.sortedIds, ids, mask);
    shown = sub.set;
    idWidth = idx ? idx.widthOfMask(sub.mask) : naturalIdWidthMasked(s.sortedIds, sub.mask);
  }
  return select({ ...withUnread, baseRows, tableStats: { ids, shown, maxStatus, maxTags, idWidth } });
}

/**
 * Recompute the selection only: cursor kept on the selected ID (or the nearest row when it
 * disappeared), chain roles and ghost rows, scroll. Cheap enough for every cursor move.
 */
export function select(s: AppState): AppState {
  const rows0 = s.baseRows;
  let cursor = s.cursor;
  if (s.selectedId && rows0[cursor]?.id !== s.selectedId) {
    const i = rowIndex(rows0, s.selectedId);
    if (i >= 0) cursor = i;
  }
  cursor = Math.max(0, Math.min(cursor, rows0.length - 1));
  const selectedId = rows0.length > 0 ? rows0[cursor].id : null;
  const tier = layoutTier(s.cols, s.rows);
  const { roles, summary } =
    tier === "compact" || tier === "too-small"
      ? { roles: new Map<string, ChainRole>(), summary: null }
      : chainOf(s, selectedId);
  let rows = rows0;
  if (roles.size > 0) {
    const ghosts = [...roles.keys()].filter((id) => rowIndex(rows0, id) < 0);
    if (ghosts.length)
      rows = [...rows0, ...ghosts.map((id) => ({ id, depth: 0, ghost: true, unreadOverride: false }))];
  }
  const next: AppState = {
    ...s,
    rowsList: rows,
    shownCount: rows0.length,
    cursor,
    selectedId,
    linkFocus: selectedId === s.selectedId ? s.linkFocus : null,
    chain: roles,
    chainSummary: summary,
  };
  return keepVisible(next);
}

/** Adjust scroll so the cursor row is visible. */
export function keepVisible(s: AppState): AppState {
  const vis = tableRows(s);
  let scroll = s.scroll;
  if (s.cursor < scroll) scroll = s.cursor;
  if (s.cursor >= scroll + vis) scroll = s.cursor - vis + 1;
  scroll = Math.max(0, Math.min(scroll, Math.max(0, s.shownCount - vis)));
  return scroll === s.scroll ? s : { ...s, scroll };
}

/** Move the cursor to a row index (clamped to real rows), select it. */
export function moveCursor(s: AppState, index: number): AppState {
  if (s.shownCount === 0) return s;
  const cursor = Math.max(0, Math.min(index, s.shownCount - 1));
  const selectedId = s.baseRows[cursor].id;
  if (selectedId === s.selectedId && cursor === s.cursor) return s;
  return select({
    ...s,
    cursor,
    selectedId,
    linkFocus: selectedId === s.selectedId ? s.linkFocus : null,
    detailScroll: 0,
    threadCursor: 0,
    thread: { ...s.thread, scroll: 0 },
  });
}

const rowIndexes = new WeakMap<Row[], Map<string, number>>();
/**
 * Position of the first row showing `id` in `rows`, or -1. The index of a row list is built
 * once (row lists are replaced, never mutated, after `derive`), so cursor moves stay O(1).
 */
const rowLookups = new WeakMap<Row[], number>();
function rowIndex(rows: Row[], id: string): number {
  let m = rowIndexes.get(rows);
  if (!m) {
    // A fresh row list is often asked once or twice (select after derive): scan; index it
    // only when it keeps being asked (cursor moves over the same rows).
    const asked = (rowLookups.get(rows) ?? 0) + 1;
    rowLookups.set(rows, asked);
    if (asked <= 4) {
      for (let i = 0; i < rows.length; i++) if (rows[i].id === id) return i;
      return -1;
    }
    m = new Map();
    for (let i = rows.length - 1; i >= 0; i--) m.set(rows[i].id, i);
    rowIndexes.set(rows, m);
  }
  return m.get(id) ?? -1;
}

/** Most entries the jump history keeps (the oldest go first). */
export const HISTORY_MAX = 200;

/**
 * Record a jump in the history (tui.md §7.2, browser-style): entries after the current one
 * are dropped, then `from` (when it is not the current entry: the user moved since) and `to`
 * are appended; a repeated ID is not appended twice. At most HISTORY_MAX entries.
 */
export function pushHistory(h: AppState["history"], from: string | null, to: string): AppState["history"] {
  let ids = h.ids.slice(0, h.pos + 1);
  if (from !== null && ids[ids.length - 1] !== from) ids.push(from);
  if (ids[ids.length - 1] !== to) ids.push(to);
  if (ids.length > HISTORY_MAX) ids = ids.slice(ids.length - HISTORY_MAX);
  return { ids, pos: ids.length - 1 };
}

/** Select an item by ID (if shown). */
export function selectId(s: AppState, id: string): AppState {
  const i = rowIndex(s.baseRows, id);
  return i >= 0 ? moveCursor(s, i) : select({ ...s, selectedId: id });
}

/** Entries of the filter panel in display order (tui.md §3.3). */
export interface FilterEntry {
  key: string;
  label: string;
  count: number;
  hidden: boolean;
  kind: "status" | "tag" | "meta";
  favorite: boolean;
}

/** Favourites: top 5 toggle counts over past + current sessions, listed alphabetically. */
export function favorites(s: AppState): string[] {
  const sum = new Map<string, number>();
  for (const sess of [...s.pastSessions, s.sessionCounts])
    for (const [k, v] of Object.entries(sess)) sum.set(k, (sum.get(k) ?? 0) + v);
  return [...sum.entries()]
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 5)
    .map(([k]) => k)
    .sort();
}

/** Per-item-set statistics (counts for the filter panel, column widths), computed once per set. */
interface ItemStats {
  statusCount: Map<string, number>;
  tagCount: Map<string, number>;
  tagged: number;
  maxStatus: number;
  maxTags: number;
  /** How many items have each status length / joined-tags length (keeps the maxima exact when patched). */
  statusLens: Map<number, number>;
  tagLens: Map<number, number>;
}

/** One item's contribution to the statistics, added (`sign` 1) or removed (-1). */
function addToStats(st: ItemStats, it: Item, sign: 1 | -1): void {
  bump(st.statusCount, it.status, sign);
  bump(st.statusLens, it.status.length, sign);
  const tags = it.tags;
  if (tags.length) {
    st.tagged += sign;
    let tl = tags.length - 1;
    for (let i = 0; i < tags.length; i++) {
      const t = tags[i];
      tl += t.length;
      if (tags.indexOf(t) === i) bump(st.tagCount, t, sign);
    }
    bump(st.tagLens, tl, sign);
  }
}

/** Add `sign` to a count, dropping keys that reach zero. */
function bump<K>(m: Map<K, number>, k: K, sign: number): void {
  const v = (m.get(k) ?? 0) + sign;
  if (v === 0) m.delete(k);
  else m.set(k, v);
}

function maxKey(m: Map<number, number>, floor: number): number {
  let x = floor;
  for (const k of m.keys()) if (k > x) x = k;
  return x;
}

/** Statistics after replacing items (old → new); the input is not modified. */
function patchStats(st: ItemStats, pairs: [Item, Item, number][]): ItemStats {
  const next: ItemStats = {
    statusCount: new Map(st.statusCount),
    tagCount: new Map(st.tagCount),
    tagged: st.tagged,
    maxStatus: 0,
    maxTags: 0,
    statusLens: new Map(st.statusLens),
    tagLens: new Map(st.tagLens),
  };
  for (const [o, n] of pairs) {
    addToStats(next, o, -1);
    addToStats(next, n, 1);
  }
  next.maxStatus = maxKey(next.statusLens, 6);
  next.maxTags = maxKey(next.tagLens, 4);
  return next;
}
const statsCache = new WeakMap<Item[], ItemStats>();

/** Statistics of an item array, memoised on the array (items are replaced, never mutated). */
export function itemStats(items: Item[]): ItemStats {
  const hit = statsCache.get(items);
  if (hit) return hit;
  const st: ItemStats = {
    statusCount: new Map(),
    tagCount: new Map(),
    tagged: 0,
    maxStatus: 0,
    maxTags: 0,
    statusLens: new Map(),
    tagLens: new Map(),
  };
  for (const it of items) addToStats(st, it, 1);
  st.maxStatus = maxKey(st.statusLens, 6);
  st.maxTags = maxKey(st.tagLens, 4);
  statsCache.set(items, st);
  return st;
}

/** The filter panel's entries: favourites, statuses, Tagged, tags. */
export function filterEntries(s: AppState): {
  favorites: FilterEntry[];
  statuses: FilterEntry[];
  tags: FilterEntry[];
} {
  const { statusCount, tagCount, tagged } = itemStats(s.items);
  const statuses: FilterEntry[] = s.config.statuses.map((st) => ({
    key: `status:${st}`,
    label: st,
    count: statusCount.get(st) ?? 0,
    hidden: s.filters.hiddenStatuses.includes(st),
    kind: "status",
    favorite: false,
  }));
  const tagNames = [...new Set([...tagCount.keys(), ...s.config.well_known_tags])].sort();
  const tags: FilterEntry[] = [
    {
      key: "meta:tagged",
      label: "Tagged",
      count: tagged,
      hidden: s.filters.hideTagged,
      kind: "meta",
      favorite: false,
    },
    ...tagNames.map((t) => ({
      key: `tag:${t}`,
      label: t,
      count: tagCount.get(t) ?? 0,
      hidden: s.filters.hiddenTags.includes(t),
      kind: "tag" as const,
      favorite: false,
    })),
  ];
  const favKeys = favorites(s);
  const all = [...statuses, ...tags];
  const favs = favKeys
    .map((k) => all.find((e) => e.key === k))
    .filter((e): e is FilterEntry => !!e)
    .map((e) => ({ ...e, favorite: true }));
  return { favorites: favs, statuses, tags };
}

/** Entries in numbering order (1–9 apply to the first nine). */
export function numberedEntries(s: AppState): FilterEntry[] {
  const e = filterEntries(s);
  return [...e.favorites, ...e.statuses, ...e.tags];
}

/** Toggle a filter entry by key; counts it for favourites. */
export function toggleFilter(s: AppState, key: string): AppState {
  const f = {
    ...s.filters,
    hiddenStatuses: [...s.filters.hiddenStatuses],
    hiddenTags: [...s.filters.hiddenTags],
  };
  const [kind, name] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
  const flip = (list: string[]) => {
    const i = list.indexOf(name);
    if (i >= 0) list.splice(i, 1);
    else list.push(name);
    list.sort();
  };
  if (kind === "status") flip(f.hiddenStatuses);
  else if (kind === "tag") flip(f.hiddenTags);
  else if (kind === "meta") f.hideTagged = !f.hideTagged;
  const sessionCounts = { ...s.sessionCounts, [key]: (s.sessionCounts[key] ?? 0) + 1 };
  return derive({ ...s, filters: f, sessionCounts });
}

/** Number of active filters: hidden statuses + hidden tags + Tagged. */
export function activeFilterCount(f: FilterState): number {
  return f.hiddenStatuses.length + f.hiddenTags.length + (f.hideTagged ? 1 : 0);
}

/** Swap the selected item with its neighbour in the shown list (manual order, tui.md §3.6). */
export function reorder(s: AppState, delta: -1 | 1): AppState {
  if (s.view !== "all" || s.tree || !s.selectedId) return s;
  const shown = s.baseRows.map((r) => r.id);
  const i = shown.indexOf(s.selectedId);
  const j = i + delta;
  if (i < 0 || j < 0 || j >= shown.length) return s;
  // Keep items hidden by filters in the order (the reference dropped them, tui.md §10.2 #17).
  const base = s.customOrder.length > 0 ? [...s.customOrder] : s.items.map((it) => it.id);
  for (const id of s.items.map((it) => it.id)) if (!base.includes(id)) base.push(id);
  const a = base.indexOf(shown[i]);
  const b = base.indexOf(shown[j]);
  [base[a], base[b]] = [base[b], base[a]];
  return derive({ ...s, customOrder: base.filter((id) => s.byId.has(id)) });
}

/** Visible thread entries of an item (tombstones hidden). */
export function visibleEntries(it: Item) {
  return it.discussion.filter((e) => !e.is_tombstoned);
}

export type { Tier, ViewName };
