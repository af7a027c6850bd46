/**
 * Compilation: op list → item state (store.md §3).
 *
 * `compileOps` is the exact reference algorithm: stable sort by
 * `(clock, at, actor_rank, nonce)`, initialise from the first `create`, fold every op,
 * then the edit-mode pass and the `updated_at` clamp. `ItemFold` is the same fold kept
 * open so that ops appended in sort order can be applied without re-reading the file
 * (the common case: a new op carries the highest Lamport clock).
 *
 * Compile never enforces permissions (store.md §3.4): agent ops on locked fields etc. are
 * applied; enforcement happens at write time only.
 */
import { CorruptFileError } from "./errors.js";
import type { Op } from "./oplog.js";
import {
  isMap,
  newMap,
  PyFloat,
  pyStr,
  pyStrCmp,
  type YamlMap,
  type YamlValue,
  yamlClone,
} from "./values.js";

/** The three tiers (store.md §1). */
export type Tier = "canonical" | "workspace" | "stealth";

/** All tiers in resolution/listing order (canonical > workspace > stealth). */
export const TIERS: readonly Tier[] = ["canonical", "workspace", "stealth"];

/** One discussion entry (store.md §3.4, §3.5). */
export interface DiscussionEntry {
  by: string;
  actor: string;
  at: string;
  message: string;
  is_summary: boolean;
  nonce: string;
  is_tombstoned: boolean;
  /** Earlier texts, oldest first (edit-msg-text inside an edit-mode window). */
  edit_history: string[];
}

/**
 * Compiled item state (store.md §3.3). Scalar attributes that a hand-edited file gives a
 * non-string value are shown as Python `str()` would print them; list elements likewise.
 */
export interface Item {
  id: string;
  kind: string;
  title: string;
  status: string;
  /** 0 (P0, most urgent) … 4 (backlog); default 2 (store.md §5.6). */
  priority: number;
  parent: string | null;
  tags: string[];
  isbefore: string[];
  duplicate_of: string[];
  not_duplicate_of: string[];
  pr_ref: string | null;
  description: string;
  /** Custom fields (raw YAML values). */
  fields: YamlMap;
  /** Locked field names, lowercased, in insertion order (a set). */
  locked_fields: string[];
  discussion: DiscussionEntry[];
  created_at: string;
  updated_at: string;
  cross_tier_conflict: boolean;
  frozen: boolean;
  tier: Tier | null;
}

/**
 * What queries need of an item without its text (ready, list, unread: store.md §5.5,
 * cli.md §2.1–§2.3, §9): kept in the warm-start cache so a query never has to revive whole
 * items. Arrays are the item's own (read-only). `unread` is the length of the thread's
 * trailing run of human entries (cli.md §9).
 */
export interface ItemSummary {
  id: string;
  tier: Tier | null;
  kind: string;
  status: string;
  priority: number;
  created_at: string;
  title: string;
  parent: string | null;
  tags: readonly string[];
  isbefore: readonly string[];
  duplicate_of: readonly string[];
  cross_tier_conflict: boolean;
  unread: number;
  updated_at: string;
  /** Number of thread entries (tombstoned ones included). */
  thread: number;
  /** `by` of the last thread entry not tombstoned (null: none): the TUI's unread mark. */
  last_by: string | null;
}

/** The summary of a compiled item (shares its arrays). */
export function summarizeItem(item: Item): ItemSummary {
  let unread = 0;
  for (let i = item.discussion.length - 1; i >= 0 && item.discussion[i].by === "human"; i--) unread++;
  return {
    id: item.id,
    tier: item.tier,
    kind: item.kind,
    status: item.status,
    priority: item.priority,
    created_at: item.created_at,
    title: item.title,
    parent: item.parent,
    tags: item.tags,
    isbefore: item.isbefore,
    duplicate_of: item.duplicate_of,
    cross_tier_conflict: item.cross_tier_conflict,
    unread,
    updated_at: item.updated_at,
    thread: item.discussion.length,
    last_by: lastBy(item.discussion),
  };
}

/** `by` of the last entry of a thread that is not tombstoned, or null. */
export function lastBy(d: readonly DiscussionEntry[]): string | null {
  for (let i = d.length - 1; i >= 0; i--) if (!d[i].is_tombstoned) return d[i].by;
  return null;
}

/** Set-valued attributes (store.md §3.4). */
export const SET_FIELDS = ["tags", "isbefore", "duplicate_of", "not_duplicate_of"] as const;
type SetField = (typeof SET_FIELDS)[number];

/** Sort key of an op (store.md §3.2). */
export interface OpKey {
  clock: number;
  at: string;
  rank: number;
  nonce: string;
}

/**
 * Compute an op's sort key.
 * @throws CorruptFileError when `clock` is not a number or `at` not a string (Python
 *   would fail comparing mixed types)
 */
export function opKey(op: Op, index = 0): OpKey {
  let clock: number;
  const c = op.clock;
  if (c === undefined) clock = 0;
  else if (typeof c === "number") clock = c;
  else if (typeof c === "boolean") clock = c ? 1 : 0;
  else if (c instanceof PyFloat) clock = c.value;
  else if (typeof c === "bigint") clock = Number(c);
  else throw new CorruptFileError(`op ${index}: clock must be an integer, got ${pyStr(c)}`);
  const a = op.at;
  let at: string;
  if (a === undefined) at = "";
  else if (typeof a === "string") at = a;
  else throw new CorruptFileError(`op ${index}: 'at' must be a timestamp string, got ${pyStr(a)}`);
  const nonce = op.nonce === undefined ? "" : pyStr(op.nonce);
  return { clock, at, rank: op.by === "human" ? 0 : 1, nonce };
}

/** Compare two sort keys (clock, at, actor_rank, nonce); Python tuple order. */
export function compareKeys(a: OpKey, b: OpKey): number {
  if (a.clock !== b.clock) return a.clock < b.clock ? -1 : 1;
  const at = pyStrCmp(a.at, b.at);
  if (at !== 0) return at;
  if (a.rank !== b.rank) return a.rank - b.rank;
  return pyStrCmp(a.nonce, b.nonce);
}

function str(v: YamlValue | undefined, dflt = ""): string {
  if (v === undefined || v === null) return dflt;
  return typeof v === "string" ? v : pyStr(v);
}

function strOrNull(v: YamlValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  return typeof v === "string" ? v : pyStr(v);
}

function prio(v: YamlValue | undefined): number {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "bigint") return Number(v);
  return 2;
}

function strList(v: YamlValue | undefined): string[] {
  if (v === undefined) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((x) => (typeof x === "string" ? x : pyStr(x)));
}

/** A message op or edit-mode op kept for the edit-mode pass, with its sort key. */
interface KeyedOp {
  key: OpKey;
  op: Op;
  /** Item-file ops sort before global-log ops on identical keys (stable sort of list). */
  source: 0 | 1;
}

const EDIT_MODE_TYPES = new Set(["edit-mode-on", "edit-mode-off"]);
const MESSAGE_TYPES = new Set(["delete-msg", "undelete-msg", "edit-msg-text"]);

/**
 * A compiled-so-far item that accepts further ops in sort order (store.md §3.4).
 * `finish()` applies the edit-mode pass (§3.5) on a copy and returns the item.
 */
export class ItemFold {
  private item: Item;
  private lastKey: OpKey | null = null;
  private created = false;
  private editOps: KeyedOp[] = [];
  /** Number of ops folded. */
  count = 0;
  /** True while a finished item shares this fold's lists (copy them before a change). */
  private shared = false;

  /** Give the fold its own copies of every list and map a finished item shares. */
  private unshare(): void {
    this.item = withOwnLists(this.item);
    this.shared = false;
  }

  constructor(readonly id: string) {
    this.item = emptyItem(id);
  }

  /** Sort key of the last op folded (null before any op). */
  get maxKey(): OpKey | null {
    return this.lastKey;
  }

  /** Whether a create op has been folded. */
  get hasCreate(): boolean {
    return this.created;
  }

  /** Status and priority after the ops folded so far (null before the create op). */
  current(): { status: string; priority: number } | null {
    return this.created ? { status: this.item.status, priority: this.item.priority } : null;
  }

  /** True when `key` sorts at or after every folded op (so appending keeps the order). */
  accepts(key: OpKey): boolean {
    return this.lastKey === null || compareKeys(key, this.lastKey) >= 0;
  }

  /**
   * Fold one op (must not sort before the ops already folded: callers check `accepts`).
   * @throws CorruptFileError on structurally impossible ops (create without a mapping)
   */
  apply(op: Op, key: OpKey, index = this.count): void {
    if (this.shared) this.unshare();
    const item = this.item;
    this.count++;
    this.lastKey = key;
    item.updated_at = key.at;
    const type = op.op;
    switch (type) {
      case "create": {
        if (!this.created) {
          const data = op.data;
          if (!isMap(data)) throw new CorruptFileError(`op ${index}: create has no data mapping`);
          this.created = true;
          item.kind = str(data.kind);
          item.title = str(data.title);
          item.status = str(data.status);
          item.priority = "priority" in data ? prio(data.priority) : 2;
          item.parent = strOrNull(data.parent);
          item.tags = strList(data.tags ?? []);
          item.isbefore = strList("isbefore" in data ? data.isbefore : (data.before ?? []));
          item.duplicate_of = strList(data.duplicate_of ?? []);
          item.not_duplicate_of = strList(data.not_duplicate_of ?? []);
          item.pr_ref = strOrNull(data.pr_ref);
          item.description = str(data.description);
          item.fields = isMap(data.fields) ? shallowCopy(data.fields) : newMap();
          item.created_at = key.at;
        } else if (key.at !== "" && (item.created_at === "" || pyStrCmp(key.at, item.created_at) < 0)) {
          item.created_at = key.at;
        }
        break;
      }
      case "update":
        this.applyUpdate(op);
        break;
      case "discuss":
        item.discussion.push(entryOf(op, false));
        break;
      case "discuss_clear":
        item.discussion = [];
        break;
      case "discuss_summarize":
        item.discussion = [entryOf(op, true)];
        break;
      case "lock":
      case "unlock": {
        const names = op[type];
        const list = Array.isArray(names) ? names : names === undefined || names === null ? [] : [names];
        for (const raw of list) {
          let name = str(raw).toLowerCase();
          if (name === "before") name = "isbefore";
          const i = item.locked_fields.indexOf(name);
          if (type === "lock" && i < 0) item.locked_fields.push(name);
          if (type === "unlock" && i >= 0) item.locked_fields.splice(i, 1);
        }
        break;
      }
      default:
        if (typeof type === "string" && (EDIT_MODE_TYPES.has(type) || MESSAGE_TYPES.has(type))) {
          this.editOps.push({ key, op, source: 0 });
        }
        break;
    }
  }

  private applyUpdate(op: Op): void {
    const item = this.item;
    const set = isMap(op.set) ? op.set : newMap();
    for (const rawKey of Object.keys(set)) {
      const k = rawKey === "before" ? "isbefore" : rawKey;
      const v = set[rawKey];
      if (k === "fields") {
        if (isMap(v)) {
          const fields = item.fields;
          for (const fk of Object.keys(v)) {
            if (v[fk] === null) delete fields[fk];
            else fields[fk] = v[fk];
          }
        }
        continue;
      }
      if ((SET_FIELDS as readonly string[]).includes(k)) {
        item[k as SetField] = strList(v === undefined ? [] : Array.isArray(v) ? v : [v]);
        continue;
      }
      switch (k) {
        case "kind":
        case "title":
        case "status":
        case "description":
        case "created_at":
          item[k] = str(v);
          break;
        case "priority":
          item.priority = prio(v);
          break;
        case "parent":
        case "pr_ref":
          item[k] = strOrNull(v);
          break;
        default:
          // `justification`, unknown keys and structural attributes (id, tier, discussion,
          // locked_fields…) are ignored (store.md §3.4, §9 q9).
          break;
      }
    }
    for (const mode of ["add", "remove"] as const) {
      const m = op[mode];
      if (!isMap(m)) continue;
      for (const rawKey of Object.keys(m)) {
        const k = rawKey === "before" ? "isbefore" : rawKey;
        if (!(SET_FIELDS as readonly string[]).includes(k)) continue;
        const vals = strList(m[rawKey] === null ? [] : m[rawKey]);
        const list = item[k as SetField];
        for (const val of vals) {
          const i = list.indexOf(val);
          if (mode === "add" && i < 0) list.push(val);
          if (mode === "remove" && i >= 0) list.splice(i, 1);
        }
      }
    }
  }

  /**
   * The compiled item: a deep-enough copy of the fold state with the edit-mode pass applied
   * (store.md §3.5) and `updated_at` clamped to `created_at`.
   * @param globalEditOps ops of the tier's global edit-mode log (already filtered for
   *   ownership, store.md §6.6), with their sort keys
   * @throws CorruptFileError when no create op was folded (store.md §3.3)
   */
  finish(globalEditOps: { key: OpKey; op: Op }[] = []): Item {
    if (this.count === 0 && globalEditOps.length === 0) {
      throw new CorruptFileError("Empty op log — no create op found");
    }
    if (!this.created) throw new CorruptFileError("Op log has no create op");
    // The result shares its lists, fields and thread with the fold (a 10k-item load would
    // otherwise hold every item twice); the next `apply` copies them before changing any.
    const item: Item = { ...this.item };
    this.shared = true;
    if (this.lastKey) item.updated_at = updatedAtWith(this.item.updated_at, this.lastKey, globalEditOps, "");
    applyEditMode(item, this.editOps, globalEditOps);
    if (pyStrCmp(item.updated_at, item.created_at) < 0) item.updated_at = item.created_at;
    return item;
  }

  /**
   * True when the item file holds edit-mode or message ops (then the global edit-mode log
   * can change more than `updated_at`: see `refinish`).
   */
  get hasEditOps(): boolean {
    return this.editOps.length > 0;
  }
}

/**
 * `updated_at` of an item compiled with the tier's global edit-mode ops (store.md §3.1,
 * §3.4): the `at` of the last op in the merged sort order, never before `createdAt` (pass
 * "" to skip that clamp).
 * @param ownAt `updated_at` from the item's own ops (the `at` of its last op)
 * @param ownLast sort key of the item's last own op
 */
export function updatedAtWith(
  ownAt: string,
  ownLast: OpKey,
  globalEditOps: { key: OpKey }[],
  createdAt: string,
): string {
  let at = ownAt;
  let last = ownLast;
  for (const g of globalEditOps) {
    if (compareKeys(g.key, last) > 0) {
      last = g.key;
      at = g.key.at;
    }
  }
  return createdAt !== "" && pyStrCmp(at, createdAt) < 0 ? createdAt : at;
}

/**
 * An item compiled before the global edit-mode log changed, brought up to date without its
 * ops: valid only for items whose file has no edit-mode or message ops (the log then only
 * moves `updated_at`).
 * @param item the earlier result
 * @param ownAt, ownLast the `at` and sort key of the item's last own op
 */
export function refinish(item: Item, ownAt: string, ownLast: OpKey, globalEditOps: { key: OpKey }[]): Item {
  return { ...item, updated_at: updatedAtWith(ownAt, ownLast, globalEditOps, item.created_at) };
}

function shallowCopy(m: YamlMap): YamlMap {
  const out = newMap();
  for (const k of Object.keys(m)) out[k] = m[k];
  return out;
}

/** An item with only its ID: empty texts and lists, priority 2 (what a fold starts from). */
export function emptyItem(id: string): Item {
  return {
    id,
    kind: "",
    title: "",
    status: "",
    priority: 2,
    parent: null,
    tags: [],
    isbefore: [],
    duplicate_of: [],
    not_duplicate_of: [],
    pr_ref: null,
    description: "",
    fields: newMap(),
    locked_fields: [],
    discussion: [],
    created_at: "",
    updated_at: "",
    cross_tier_conflict: false,
    frozen: false,
    tier: null,
  };
}

function entryOf(op: Op, summary: boolean): DiscussionEntry {
  return {
    by: str(op.by),
    actor: str(op.actor),
    at: str(op.at),
    message: str(op.message),
    is_summary: summary,
    nonce: str(op.nonce),
    is_tombstoned: false,
    edit_history: NO_EDITS,
  };
}

/**
 * The edit history of every never-edited entry: one shared frozen empty list (a load holds
 * ~200k entries per 10k items). Code that edits an entry copies its history first.
 */
export const NO_EDITS: string[] = Object.freeze([]) as unknown as string[];

/**
 * Parse an op timestamp as Python's `fromisoformat` after stripping a trailing `Z`
 * (naive → UTC). @returns microseconds since the epoch, or null when unparseable.
 */
export function parseAtMicros(at: unknown): number | null {
  if (typeof at !== "string") return null;
  const s = at.endsWith("Z") ? at.slice(0, -1) : at;
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?)?(?:([+-])(\d{2}):?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?|(Z))?$/.exec(
      s,
    );
  if (!m) return null;
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4] ?? "0", m[5] ?? "0", m[6] ?? "0"].map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return null;
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  if (Number.isNaN(ms)) return null;
  const check = new Date(ms);
  if (check.getUTCDate() !== d) return null;
  let micros = ms * 1000 + (m[7] ? Number(m[7].padEnd(6, "0")) : 0);
  if (m[8]) {
    const off = (Number(m[9]) * 3600 + Number(m[10]) * 60 + Number(m[11] ?? 0)) * 1_000_000;
    micros -= m[8] === "+" ? off : -off;
  }
  return micros;
}

interface Window {
  start: number;
  end: number;
  cap: number;
  used: number;
}

function num(v: YamlValue | undefined, dflt: number): number {
  if (typeof v === "number") return v;
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  return dflt;
}

/**
 * Build edit-mode windows from human-authored on/off ops in sort order (store.md §3.5).
 * @returns windows `[start, end)` in microseconds with their caps
 */
export function buildWindows(ops: { key: OpKey; op: Op }[]): Window[] {
  const windows: Window[] = [];
  let open: Window | null = null;
  for (const { op } of ops) {
    if (op.by !== "human") continue;
    if (op.op !== "edit-mode-on" && op.op !== "edit-mode-off") continue;
    const at = parseAtMicros(op.at);
    if (at === null) continue;
    if (op.op === "edit-mode-on") {
      if (open) open.end = Math.min(open.end, at);
      open = {
        start: at,
        end: at + num(op.ttl_seconds, 1800) * 1_000_000,
        cap: num(op.cap_max, 500),
        used: 0,
      };
      windows.push(open);
    } else if (open) {
      open.end = Math.min(open.end, at);
      open = null;
    }
  }
  return windows;
}

function applyEditMode(item: Item, itemEditOps: KeyedOp[], globalEditOps: { key: OpKey; op: Op }[]): void {
  const hasMessageOps = itemEditOps.some((k) => MESSAGE_TYPES.has(k.op.op as string));
  if (!hasMessageOps) return;
  const byNonce = new Map<string, number>();
  item.discussion.forEach((e, i) => {
    if (e.nonce !== "") byNonce.set(e.nonce, i);
  });
  if (byNonce.size === 0) return;
  const merged: KeyedOp[] = itemEditOps.concat(
    globalEditOps.map((g) => ({ key: g.key, op: g.op, source: 1 as const })),
  );
  // Stable sort: item ops first on identical keys (list order in the reference).
  merged.sort((a, b) => compareKeys(a.key, b.key) || a.source - b.source);
  const windows = buildWindows(merged);
  if (windows.length === 0) return;
  // Copy-on-write the discussion (the fold state is shared with later appends).
  const discussion = item.discussion.map((e) => ({ ...e, edit_history: [...e.edit_history] }));
  item.discussion = discussion;
  for (const { op } of merged) {
    const type = op.op;
    if (typeof type !== "string" || !MESSAGE_TYPES.has(type)) continue;
    const at = parseAtMicros(op.at);
    if (at === null) continue;
    const w = windows.find((x) => at >= x.start && at < x.end);
    if (!w) continue;
    const target = op.target_nonce;
    if (typeof target !== "string") continue;
    const idx = byNonce.get(target);
    if (idx === undefined) continue;
    const entry = discussion[idx];
    if (type === "delete-msg") {
      if (w.used < w.cap) {
        entry.is_tombstoned = true;
        w.used++;
      }
    } else if (type === "undelete-msg") {
      entry.is_tombstoned = false;
    } else if (!entry.is_tombstoned && w.used < w.cap) {
      entry.edit_history.push(entry.message);
      entry.message = str(op.new_text);
      w.used++;
    }
  }
}

/**
 * Sort ops by the reference's key (store.md §3.2), stable.
 * @returns new array of `{key, op}` in sort order
 * @throws CorruptFileError on un-sortable keys
 */
export function sortOps(ops: Op[]): { key: OpKey; op: Op }[] {
  const keyed = new Array<{ key: OpKey; op: Op }>(ops.length);
  let inOrder = true;
  for (let i = 0; i < ops.length; i++) {
    const key = opKey(ops[i], i);
    if (inOrder && i > 0 && compareKeys(keyed[i - 1].key, key) > 0) inOrder = false;
    keyed[i] = { key, op: ops[i] };
  }
  // Files are almost always already in key order (one writer appending a Lamport clock).
  if (inOrder) return keyed;
  const withIndex = keyed.map((k, i) => ({ k, i }));
  withIndex.sort((a, b) => compareKeys(a.k.key, b.k.key) || a.i - b.i);
  return withIndex.map(({ k }) => k);
}

/**
 * Compile an item from its ops (store.md §3).
 * @param ops the item file's ops in file order
 * @param id the item ID (from the file name)
 * @param opts.editModeOps ops of the tier's global edit-mode log (store.md §3.1)
 * @returns compiled item; `tier` null and `frozen` false (set by the reader)
 * @throws CorruptFileError "Empty op log — no create op found" / "Op log has no create op"
 */
export function compileOps(ops: Op[], id: string, opts: { editModeOps?: Op[] } = {}): Item {
  if (ops.length === 0) throw new CorruptFileError("Empty op log — no create op found");
  const fold = new ItemFold(id);
  const sorted = sortOps(ops);
  sorted.forEach(({ key, op }, i) => {
    fold.apply(op, key, i);
  });
  const globals = opts.editModeOps ? sortOps(opts.editModeOps) : [];
  return fold.finish(globals);
}

/** A copy of an item with its own lists, fields map and thread list (values shared). */
function withOwnLists(item: Item): Item {
  return {
    ...item,
    tags: [...item.tags],
    isbefore: [...item.isbefore],
    duplicate_of: [...item.duplicate_of],
    not_duplicate_of: [...item.not_duplicate_of],
    fields: shallowCopy(item.fields),
    locked_fields: [...item.locked_fields],
    discussion: [...item.discussion],
  };
}

/** Deep copy of an item (callers that mutate compiled items must copy first). */
export function cloneItem(item: Item): Item {
  return {
    ...withOwnLists(item),
    fields: yamlClone(item.fields),
    discussion: item.discussion.map((e) => ({ ...e, edit_history: [...e.edit_history] })),
  };
}
