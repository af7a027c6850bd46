/**
 * Clusters of similar items (cli.md §2.19, tui.md §7.6, the reference's `clusters.py`):
 * likely duplicates and threads of one topic, for a human to merge or link.
 *
 * 1. Text of an item: title, description, string custom fields and live (non-deleted)
 *    messages; item IDs masked as `ITEM`, ADR references as `ADR`.
 * 2. TF-IDF as scikit-learn's `TfidfVectorizer(sublinear_tf=True, min_df=2, max_df=0.8)`:
 *    lower-cased tokens of two or more word characters, tf = 1 + ln(count), smoothed
 *    idf = ln((1 + n) / (1 + df)) + 1, rows L2-normalised; the vocabulary is fitted on every
 *    non-deleted item in scope.
 * 3. Each clustered item's k nearest items by cosine (an inverted index over its terms).
 * 4. Jarvis-Patrick: two items are joined when each is among the other's k nearest and their
 *    neighbour lists share at least `shared` items; clusters are the connected components,
 *    smaller ones than `minSize` dropped, ranked by mean pairwise cosine.
 */
import type { TrackerConfig } from "./config.js";
import type { Item } from "./compile.js";
import { ADR_REF, mentionPattern } from "./mentions.js";

/** Options of `clusterItems` (defaults as the reference CLI). */
export interface ClusterOptions {
  /** Neighbours per item (default 6). */
  k?: number;
  /** Neighbours two joined items must share (default 3). */
  shared?: number;
  /** Only items with one of these statuses (default: every status not resolved). */
  statuses?: string[] | null;
  /** Every non-deleted item, resolved ones too. */
  all?: boolean;
  /** Smallest cluster kept (default 2). */
  minSize?: number;
  /** Most clusters returned (default all). */
  limit?: number | null;
  /**
   * How the text of the fitted items is read: `[item, whole item]` for each of `items`, in
   * any order (default: each item itself). `Tracker.peekItems` reads a tracker's items for
   * the pass without keeping them revived.
   */
  read?: (items: Item[]) => Iterable<readonly [Item, Item]>;
}

/** One cluster: members in list order (priority, then creation). */
export interface Cluster {
  /** 1-based rank (highest mean similarity first). */
  rank: number;
  members: Item[];
  /** Mean cosine over every pair of members (0–1). */
  meanSimilarity: number;
}

/** What `clusterItems` found. */
export interface ClusterResult {
  k: number;
  shared: number;
  /** Items considered for clustering. */
  items: number;
  /** Items the vocabulary was fitted on (every non-deleted one). */
  fitItems: number;
  clusters: Cluster[];
}

const TOKEN = /[\p{L}\p{N}_]{2,}/gu;

/**
 * The free text of an item: title, description, string custom field values (also inside
 * lists) and live (non-deleted) messages, in that order. Clusters weigh its words; the TUI
 * finds the items it names.
 */
export function itemTexts(it: Item): string[] {
  const parts: string[] = [it.title, it.description ?? ""];
  const strings = (v: unknown): void => {
    if (typeof v === "string") parts.push(v);
    else if (Array.isArray(v)) for (const x of v) strings(x);
  };
  for (const v of Object.values(it.fields)) strings(v);
  for (const e of it.discussion) if (!e.is_tombstoned) parts.push(e.message);
  return parts;
}

/** The text an item is compared by (step 1), IDs and ADR references masked. */
export function clusterText(it: Item, pattern: RegExp | null): string {
  let text = itemTexts(it).join("\n");
  if (pattern) text = text.replace(pattern, " ITEM ");
  return text.replace(ADR_REF, " ADR ");
}

/**
 * Term ids of a text with their counts (lower-cased tokens of two or more word characters),
 * ids given by `termIds` (new terms are added): a compact bag, not a map per item (a 10k-item
 * tracker holds ~1 M of them while the vocabulary is fitted).
 */
function termBag(text: string, termIds: Map<string, number>): { ids: Int32Array; counts: Int32Array } {
  const local = new Map<number, number>();
  // (`match`: the tokens only, no match object per token — a tenth of the garbage)
  for (const w of text.toLowerCase().match(TOKEN) ?? []) {
    let id = termIds.get(w);
    if (id === undefined) termIds.set(w, (id = termIds.size));
    local.set(id, (local.get(id) ?? 0) + 1);
  }
  return { ids: Int32Array.from(local.keys()), counts: Int32Array.from(local.values()) };
}

/** A sparse L2-normalised TF-IDF row: term indexes ascending, weights. */
interface Row {
  terms: Int32Array;
  weights: Float64Array;
}

/**
 * Cluster items (cli.md §2.19).
 * @param pool the items in scope, one per ID (the caller merges tiers)
 * @param config for resolved statuses and the kinds' ID prefixes
 */
export function clusterItems(pool: Item[], config: TrackerConfig, opts: ClusterOptions = {}): ClusterResult {
  const steps = clusterSteps(pool, config, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Items handled between two yields of `clusterSteps`. */
const STEP_ITEMS = 64;

/**
 * `clusterItems` in steps, for a caller that must stay responsive (the TUI's clusters view):
 * yields the share of the work done (0–1) every STEP_ITEMS items and returns the result.
 */
export function* clusterSteps(
  pool: Item[],
  config: TrackerConfig,
  opts: ClusterOptions = {},
): Generator<number, ClusterResult, void> {
  const k = opts.k ?? 6;
  const shared = opts.shared ?? 3;
  const minSize = opts.minSize ?? 2;
  const fit = pool.filter((it) => it.status !== "deleted");
  const resolved = new Set(config.resolved_statuses);
  const wanted = opts.statuses ? new Set(opts.statuses) : null;
  const items = fit.filter((it) => (wanted ? wanted.has(it.status) : opts.all || !resolved.has(it.status)));
  const pattern = mentionPattern(config.kinds);
  const termIds = new Map<string, number>();
  const bags = new Map<Item, { ids: Int32Array; counts: Int32Array }>();
  const df: number[] = [];
  // Work units for the progress: one per fitted item, one per clustered item's neighbours.
  const work = fit.length + items.length || 1;
  // Fitted in the reader's order: term ids depend on it, the vocabulary (sorted) does not.
  let f = 0;
  for (const [it, whole] of opts.read ? opts.read(fit) : fit.map((x) => [x, x] as const)) {
    const bag = termBag(clusterText(whole, pattern), termIds);
    bags.set(it, bag);
    for (const id of bag.ids) df[id] = (df[id] ?? 0) + 1;
    if (++f % STEP_ITEMS === 0) yield f / work;
  }
  // Vocabulary: min_df 2 (documents), max_df 0.8 (share of documents), as scikit-learn, in
  // term order; `column[termId]` is the term's column, -1 when left out.
  const n = fit.length;
  const column = new Int32Array(termIds.size).fill(-1);
  const idf: number[] = [];
  for (const [, id] of [...termIds].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const d = df[id] ?? 0;
    if (d < 2 || d > 0.8 * n) continue;
    column[id] = idf.length;
    idf.push(Math.log((1 + n) / (1 + d)) + 1);
  }
  const rows: Row[] = items.map((it) => {
    const entries: [number, number][] = [];
    const bag = bags.get(it) ?? termBag(clusterText(it, pattern), termIds);
    for (let j = 0; j < bag.ids.length; j++) {
      const t = bag.ids[j] < column.length ? column[bag.ids[j]] : -1;
      if (t >= 0) entries.push([t, (1 + Math.log(bag.counts[j])) * idf[t]]);
    }
    entries.sort((a, b) => a[0] - b[0]);
    const norm = Math.sqrt(entries.reduce((s, [, w]) => s + w * w, 0)) || 1;
    return {
      terms: Int32Array.from(entries, ([t]) => t),
      weights: Float64Array.from(entries, ([, w]) => w / norm),
    };
  });
  // Inverted index over the clustered items (CSR: the postings of term t are
  // postRow/postWeight[postStart[t] … postStart[t + 1])).
  const postStart = new Int32Array(idf.length + 1);
  for (const r of rows) for (let j = 0; j < r.terms.length; j++) postStart[r.terms[j] + 1]++;
  for (let t = 0; t < idf.length; t++) postStart[t + 1] += postStart[t];
  const fill = postStart.slice(0, idf.length);
  const postRow = new Int32Array(postStart[idf.length]);
  const postWeight = new Float64Array(postStart[idf.length]);
  rows.forEach((r, i) => {
    for (let j = 0; j < r.terms.length; j++) {
      const at = fill[r.terms[j]]++;
      postRow[at] = i;
      postWeight[at] = r.weights[j];
    }
  });
  const m = rows.length;
  const scores = new Float64Array(m);
  const touched = new Int32Array(m);
  const topRow = new Int32Array(k);
  const topScore = new Float64Array(k);
  const neighbours: number[][] = [];
  for (let i = 0; i < m; i++) {
    if (i % STEP_ITEMS === STEP_ITEMS - 1) yield (fit.length + i) / work;
    const r = rows[i];
    let nt = 0;
    for (let j = 0; j < r.terms.length; j++) {
      const w = r.weights[j];
      for (let q = postStart[r.terms[j]], end = postStart[r.terms[j] + 1]; q < end; q++) {
        const o = postRow[q];
        if (scores[o] === 0) touched[nt++] = o;
        scores[o] += w * postWeight[q];
      }
    }
    // The k best (score descending, then row ascending) by insertion: k is small.
    let nTop = 0;
    for (let c = 0; c < nt; c++) {
      const o = touched[c];
      const sc = scores[o];
      scores[o] = 0;
      if (o === i || !(sc > 0)) continue;
      if (nTop === k && !(sc > topScore[k - 1] || (sc === topScore[k - 1] && o < topRow[k - 1]))) continue;
      let pos = nTop < k ? nTop++ : k - 1;
      while (pos > 0 && (sc > topScore[pos - 1] || (sc === topScore[pos - 1] && o < topRow[pos - 1]))) {
        topRow[pos] = topRow[pos - 1];
        topScore[pos] = topScore[pos - 1];
        pos--;
      }
      topRow[pos] = o;
      topScore[pos] = sc;
    }
    neighbours.push(Array.from(topRow.subarray(0, nTop)));
  }
  const cosine = (a: number, b: number): number => {
    const ra = rows[a];
    const rb = rows[b];
    let s = 0;
    for (let i = 0, j = 0; i < ra.terms.length && j < rb.terms.length;) {
      if (ra.terms[i] === rb.terms[j]) s += ra.weights[i++] * rb.weights[j++];
      else if (ra.terms[i] < rb.terms[j]) i++;
      else j++;
    }
    return s;
  };
  // Jarvis-Patrick links, then connected components (union-find).
  const parent = Int32Array.from({ length: m }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]];
    return x;
  };
  const sets = neighbours.map((nb) => new Set(nb));
  for (let a = 0; a < m; a++)
    for (const b of neighbours[a]) {
      if (b < a || !sets[b].has(a)) continue;
      let common = 0;
      for (const x of neighbours[a]) if (sets[b].has(x)) common++;
      if (common >= shared) parent[find(a)] = find(b);
    }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < m; i++) {
    const r = find(i);
    const g = groups.get(r);
    if (g) g.push(i);
    else groups.set(r, [i]);
  }
  const order = new Map(items.map((it, i) => [it, i]));
  const listOrder = (a: Item, b: Item) =>
    a.priority - b.priority ||
    (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0) ||
    order.get(a)! - order.get(b)!;
  const clusters = [...groups.values()]
    .filter((g) => g.length >= Math.max(2, minSize))
    .map((g) => {
      let sum = 0;
      for (let i = 0; i < g.length; i++) for (let j = i + 1; j < g.length; j++) sum += cosine(g[i], g[j]);
      const pairs = (g.length * (g.length - 1)) / 2;
      return { members: g.map((i) => items[i]).sort(listOrder), meanSimilarity: sum / pairs, rank: 0 };
    })
    .sort(
      (a, b) =>
        b.meanSimilarity - a.meanSimilarity ||
        b.members.length - a.members.length ||
        (a.members[0].id < b.members[0].id ? -1 : 1),
    )
    .slice(0, opts.limit ?? undefined);
  clusters.forEach((c, i) => (c.rank = i + 1));
  return { k, shared, items: items.length, fitItems: fit.length, clusters };
}
