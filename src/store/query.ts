/**
 * The search / filter query language shared by the TUI's `/` search (and usable by any
 * front): whitespace-separated terms, all of which must match.
 *
 *   free text            case-insensitive substring of id, title, status, kind, tags,
 *                        custom fields or discussion text
 *   "two words"          a quoted phrase
 *   status:todo_hard     (s:)  exact status; `status:todo` matches any status starting with todo
 *   tag:ci               (t:)  has the tag
 *   kind:WI              (k:)  kind name or ID prefix (work_item, WI)
 *   tier:canonical            canonical | workspace | stealth (prefixes allowed: tier:c)
 *   p:1  p<=1  p>2 …     priority comparison (also priority:)
 *   id:WI-popak               ID prefix
 *   title:parser              substring of the title only
 *   field:statement=route     custom field containing a value (field:statement alone: present)
 *   has:unread|tags|parent|discussion|fields|locks|blockers|dependents
 *   is:frozen|locked|ready|blocked|conflict|review
 *   -term                     negation of any term
 */
import type { Item } from "./compile.js";
import { threadLength } from "./lazyitem.js";
import { pyStr, lookupTable } from "./values.js";

/** One parsed term. */
export interface QueryTerm {
  negate: boolean;
  field: string;
  op: ":" | "=" | "<" | "<=" | ">" | ">=";
  value: string;
  /**
   * `value` lower-cased, and its trigrams (`needleGrams`), made once by `parseQuery`: a
   * search tests every item against the same terms (computed per test when absent).
   */
  lower?: string;
  grams?: Int32Array | null;
}

/** A term with its prepared forms. */
function term(negate: boolean, field: string, op: QueryTerm["op"], value: string): QueryTerm {
  const lower = value.toLowerCase();
  return { negate, field, op, value, lower, grams: needleGrams(lower) };
}

/** Lower-cased statuses, kinds and tags (few distinct values, tested per item). */
const lowered = new Map<string, string>();
function lowerOf(s: string): string {
  let l = lowered.get(s);
  if (l === undefined) {
    if (lowered.size > 1024) lowered.clear();
    l = s.toLowerCase();
    lowered.set(s, l);
  }
  return l;
}

/** A parsed query: terms (ANDed) and problems (unknown fields are kept as free text). */
export interface Query {
  terms: QueryTerm[];
  errors: string[];
}

/** Context a query needs beyond the item (unread state, ready set…). */
export interface QueryContext {
  unread?: (id: string) => boolean;
  ready?: Set<string>;
  blocked?: Set<string>;
  conflicts?: Set<string>;
  /** Items that list a given ID in their isbefore (for has:blockers). */
  blockersOf?: (id: string) => number;
}

const FIELDS: Readonly<Record<string, string>> = lookupTable({
  status: "status",
  s: "status",
  tag: "tag",
  t: "tag",
  kind: "kind",
  k: "kind",
  tier: "tier",
  p: "priority",
  priority: "priority",
  id: "id",
  title: "title",
  field: "field",
  f: "field",
  has: "has",
  is: "is",
});
const HAS = ["unread", "tags", "parent", "discussion", "fields", "locks", "blockers", "dependents"];
const IS = ["frozen", "locked", "ready", "blocked", "conflict", "review", "deleted"];

/** Split a query into tokens, keeping quoted phrases (with or without a field prefix). */
export function tokenize(q: string): string[] {
  const out: string[] = [];
  const re = /(-?[\w.]+(?:<=|>=|[:<>=]))?"([^"]*)"?|(\S+)/g;
  for (let m = re.exec(q); m; m = re.exec(q)) {
    if (m[3] !== undefined) out.push(m[3]);
    else out.push(`${m[1] ?? ""}\u0000${m[2]}`);
  }
  return out;
}

/** Parse a query string. Never throws. */
export function parseQuery(q: string): Query {
  const terms: QueryTerm[] = [];
  const errors: string[] = [];
  for (let tok of tokenize(q)) {
    let negate = false;
    if (tok.startsWith("-") && tok.length > 1) {
      negate = true;
      tok = tok.slice(1);
    }
    const quoted = tok.includes("\u0000");
    const m = /^([A-Za-z_.]+)(<=|>=|[:<>=])(.*)$/s.exec(tok.replace("\u0000", ""));
    if (m && (FIELDS[m[1].toLowerCase()] || m[2] !== ":")) {
      const field = FIELDS[m[1].toLowerCase()];
      if (!field) {
        errors.push(`unknown filter '${m[1]}${m[2]}'`);
        terms.push(term(negate, "text", ":", tok.replace("\u0000", "")));
        continue;
      }
      const op = m[2] as QueryTerm["op"];
      if (field !== "priority" && op !== ":" && !(field === "field" && op === "=")) {
        errors.push(`'${m[1]}' only supports '${m[1]}:'`);
      }
      if (field === "priority" && !/^[0-4]$/.test(m[3])) errors.push(`priority must be 0-4, got '${m[3]}'`);
      if (field === "has" && !HAS.includes(m[3])) errors.push(`has: expects ${HAS.join("|")}`);
      if (field === "is" && !IS.includes(m[3])) errors.push(`is: expects ${IS.join("|")}`);
      terms.push(term(negate, field, op, m[3]));
      continue;
    }
    if (m && !quoted && !FIELDS[m[1].toLowerCase()] && m[2] === ":" && m[3] !== "" && !/^[A-Z]+-/.test(tok)) {
      errors.push(`unknown filter '${m[1]}:'`);
    }
    terms.push(term(negate, "text", ":", tok.replace("\u0000", "")));
  }
  return { terms, errors };
}

/**
 * An item's search text: `all` (lower-cased id, title, status, kind, tags, custom field
 * names and values, visible thread messages; NUL-separated), `title`, and a 2048-bit filter
 * of the trigrams of `all` (`mayContain` rules items out without scanning their text: most
 * of a search's time goes to needles an item does not contain): the 64 words from `gramsAt`
 * in `grams`, a buffer shared by the filters of many items (one typed array, array buffer
 * and backing store per item cost ~4 MB more at 10k items).
 */
export interface Haystack {
  all: string;
  title: string;
  grams: Uint32Array;
  /** Index in `grams` of this item's first word. */
  gramsAt: number;
}

/** Lower-cased searchable text of an item, computed once per item object (items are immutable). */
const haystacks = new WeakMap<Item, Haystack>();

/**
 * Key of the search text in the warm-start cache (`Tracker.deriveOnSave`, `cachedTexts`):
 * bump the version whenever `searchText` changes.
 */
export const SEARCH_TEXT_KEY = "search-text-v1";

/** The search text of an item, `Haystack.all` (computed, not memoised). */
export function searchText(it: Item): string {
  // NUL separates fields so a term never matches across two of them. Concatenated with `+`,
  // not `Array.prototype.join`: V8 11's join makes a two-byte string (twice the memory: ~25 MB
  // more at 10k items) when any part is a ThinString, which an ID becomes once its text is
  // used as a property key — though every character fits in one byte.
  let all = it.id + "\u0000" + it.title + "\u0000" + it.status + "\u0000" + it.kind;
  for (const t of it.tags) all += "\u0000" + t;
  for (const k of Object.keys(it.fields)) all += "\u0000" + k + "\u0000" + fieldText(it.fields[k]);
  for (const e of it.discussion) if (!e.is_tombstoned) all += "\u0000" + e.message;
  return all.toLowerCase();
}

/** The search text of an item (see `Haystack`), memoised per item object. */
export function haystack(it: Item): Haystack {
  return haystacks.get(it) ?? seedHaystack(it, searchText(it));
}

/**
 * The search text of an item given its `searchText` (read from the warm-start cache: the item's
 * text fields are not touched), memoised per item object like `haystack`; an item that has
 * one keeps it.
 */
export function seedHaystack(it: Item, all: string): Haystack {
  let h = haystacks.get(it);
  if (h) return h;
  const [grams, gramsAt] = gramBits(all);
  h = { all, title: it.title.toLowerCase(), grams, gramsAt };
  haystacks.set(it, h);
  return h;
}

/** The item's search text if it was already made (`haystack`, `seedHaystack`), else undefined. */
export function peekHaystack(it: Item): Haystack | undefined {
  return haystacks.get(it);
}

/** Words (32 bits) of a trigram filter. */
const GRAM_WORDS = 64;

/** Bit (0…2047) of the trigram of UTF-16 code units a, b, c. */
function gramBit(a: number, b: number, c: number): number {
  return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77) ^ Math.imul(c, 0xc2b2ae3d)) >>> 21;
}

/**
 * Filters per shared buffer (128 KB). A buffer lives while any of its items' search texts
 * does; after many changes a few mostly-unused ones may stay, about what separate buffers
 * would have taken.
 */
const GRAM_SLAB_ITEMS = 512;
let gramSlab = new Uint32Array(0);
let gramSlabNext = 0;

/** The trigram filter of a text: a buffer and the index of its first word there. */
function gramBits(text: string): [Uint32Array, number] {
  if (gramSlabNext + GRAM_WORDS > gramSlab.length) {
    gramSlab = new Uint32Array(GRAM_WORDS * GRAM_SLAB_ITEMS);
    gramSlabNext = 0;
  }
  const bits = gramSlab;
  const at = gramSlabNext;
  gramSlabNext += GRAM_WORDS;
  if (text.length < 3) return [bits, at];
  let a = text.charCodeAt(0);
  let b = text.charCodeAt(1);
  for (let i = 2; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const g = gramBit(a, b, c);
    bits[at + (g >>> 5)] |= 1 << (g & 31);
    a = b;
    b = c;
  }
  return [bits, at];
}

/**
 * The trigram bits of a (lower-cased) needle, for `mayContain`; null when it is shorter
 * than three code units (no filter then).
 */
export function needleGrams(needle: string): Int32Array | null {
  if (needle.length < 3) return null;
  const out = new Int32Array(needle.length - 2);
  for (let i = 2; i < needle.length; i++)
    out[i - 2] = gramBit(needle.charCodeAt(i - 2), needle.charCodeAt(i - 1), needle.charCodeAt(i));
  return out;
}

/**
 * False when `h.all` certainly does not contain the needle whose `needleGrams` are given
 * (one of its trigrams is missing); true when it may (then search the text).
 */
export function mayContain(h: Haystack, grams: Int32Array | null): boolean {
  if (grams === null) return true;
  const bits = h.grams;
  const at = h.gramsAt;
  for (let i = 0; i < grams.length; i++) {
    const g = grams[i];
    if ((bits[at + (g >>> 5)] & (1 << (g & 31))) === 0) return false;
  }
  return true;
}

function fieldText(v: unknown): string {
  return Array.isArray(v) ? v.map((x) => pyStr(x)).join(" ") : pyStr(v);
}

/**
 * The test of a field term that looks at single values of an item — a status, one of its
 * tags, its kind or ID prefix (`WI` of `WI-…`), its tier — or null for other fields. One
 * definition for `matchQuery` (per item) and for searches that test each distinct value once
 * (the TUI's column search). Memoised per term.
 */
export function valueTest(t: QueryTerm): ((w: string) => boolean) | null {
  let f = valueTests.get(t);
  if (f !== undefined) return f;
  const v = t.lower ?? t.value.toLowerCase();
  switch (t.field) {
    case "status":
      f = (w) => w === t.value || (v.length > 0 && lowerOf(w).startsWith(v));
      break;
    case "tag":
      f = (w) => w === t.value || lowerOf(w) === v;
      break;
    case "kind":
      f = (w) => lowerOf(w) === v;
      break;
    case "tier":
      f = (w) => v.length > 0 && w.startsWith(v);
      break;
    default:
      f = null;
  }
  valueTests.set(t, f);
  return f;
}
const valueTests = new WeakMap<QueryTerm, ((w: string) => boolean) | null>();

/** The test of a priority term (`p<=1`…) on a priority, or null for other fields. */
export function priorityTest(t: QueryTerm): ((p: number) => boolean) | null {
  if (t.field !== "priority") return null;
  const n = Number(t.value);
  switch (t.op) {
    case "<":
      return (p) => p < n;
    case "<=":
      return (p) => p <= n;
    case ">":
      return (p) => p > n;
    case ">=":
      return (p) => p >= n;
    default:
      return (p) => p === n;
  }
}

function matchTerm(it: Item, t: QueryTerm, ctx: QueryContext): boolean {
  const v = t.lower ?? t.value.toLowerCase();
  switch (t.field) {
    case "status":
      return valueTest(t)!(it.status);
    case "tag": {
      const test = valueTest(t)!;
      for (let i = 0; i < it.tags.length; i++) if (test(it.tags[i])) return true;
      return false;
    }
    case "kind": {
      const test = valueTest(t)!;
      return test(it.kind) || test(it.id.split("-")[0]);
    }
    case "tier":
      return it.tier !== null && valueTest(t)!(it.tier);
    case "priority":
      return priorityTest(t)!(it.priority);
    case "id":
      return (
        it.id.toLowerCase().startsWith(v) || it.id.toLowerCase().split("-").slice(1).join("-").startsWith(v)
      );
    case "title":
      return haystack(it).title.includes(v);
    case "field": {
      const eq = t.op === "=" ? -1 : t.value.indexOf("=");
      const [name, want] =
        t.op === "="
          ? [t.value, ""]
          : eq >= 0
            ? [t.value.slice(0, eq), t.value.slice(eq + 1)]
            : [t.value, null];
      if (t.op === "=") return false;
      const keys = Object.keys(it.fields).filter((k) => k.toLowerCase() === name.toLowerCase());
      if (keys.length === 0) return false;
      if (want === null) return true;
      return keys.some((k) => fieldText(it.fields[k]).toLowerCase().includes(want.toLowerCase()));
    }
    case "has":
      switch (v) {
        case "unread":
          return ctx.unread?.(it.id) ?? false;
        case "tags":
          return it.tags.length > 0;
        case "parent":
          return it.parent !== null;
        case "discussion":
          return threadLength(it) > 0; // (a lazy item's thread is not read for it)
        case "fields":
          return Object.keys(it.fields).length > 0;
        case "locks":
          return it.locked_fields.length > 0;
        case "blockers":
          return (ctx.blockersOf?.(it.id) ?? 0) > 0;
        case "dependents":
          return it.isbefore.length > 0;
        default:
          return false;
      }
    case "is":
      switch (v) {
        case "frozen":
          return it.frozen;
        case "locked":
          return it.locked_fields.length > 0;
        case "ready":
          return ctx.ready?.has(it.id) ?? false;
        case "blocked":
          return ctx.blocked?.has(it.id) ?? false;
        case "conflict":
          return it.cross_tier_conflict || (ctx.conflicts?.has(it.id) ?? false);
        case "review":
          return it.status === "needs_human_review";
        case "deleted":
          return it.status === "deleted";
        default:
          return false;
      }
    default: {
      if (v === "") return true;
      const h = haystack(it);
      return mayContain(h, t.grams !== undefined ? t.grams : needleGrams(v)) && h.all.includes(v);
    }
  }
}

/** Whether an item matches every term of a query. */
export function matchQuery(it: Item, q: Query, ctx: QueryContext = {}): boolean {
  for (const t of q.terms) if (matchTerm(it, t, ctx) === t.negate) return false;
  return true;
}
