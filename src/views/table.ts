/**
 * The item table and tree (tui.md §1.3–§1.9, §1.12): columns per layout tier, shortest
 * unique ID prefixes, unread/frozen markers, dependency pills, chain highlighting and ghost
 * rows. Only the visible rows are built.
 */
import type { Item } from "../index.js";
import type { Canvas, Style } from "./canvas.js";
import type { Rect } from "./layout.js";
import { layoutTier } from "./layout.js";
import { displayText, fitText, truncate } from "./text.js";
import { S } from "./theme.js";
import { type ChainRole, TIER_LETTER, type UiState } from "./types.js";

/** Syllable boundaries of an ID: offsets where a prefix may end (before each `-`, and the end). */
function boundaries(id: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < id.length; i++) if (id[i] === "-") out.push(i);
  out.push(id.length);
  return out;
}

/**
 * Shortest unique ID prefix width (tui.md §1.8): the smallest length at which all IDs
 * differ, rounded up to a syllable boundary, never below prefix + one syllable, capped.
 * O(n log n): after sorting, an ID only needs to differ from its neighbours.
 */
export function idColumnWidth(ids: string[], cap: number): number {
  return Math.min(naturalIdWidthSorted([...ids].sort()), cap);
}

/**
 * Uncapped shortest-unique-prefix width of IDs already sorted (code-unit order), O(n).
 * Duplicates give the full length of the longest ID.
 */
export function naturalIdWidthSorted(sorted: readonly string[]): number {
  if (sorted.length === 0) return 9;
  let width = 0;
  let prevLcp = 0;
  for (let i = 0; i < sorted.length; i++) {
    const id = sorted[i];
    let lcp = 0;
    if (i + 1 < sorted.length) {
      const o = sorted[i + 1];
      if (o === id) return Math.max(...sorted.map((x) => x.length));
      while (lcp < id.length && lcp < o.length && id.charCodeAt(lcp) === o.charCodeAt(lcp)) lcp++;
    }
    const need = Math.max(prevLcp, lcp) + 1;
    prevLcp = lcp;
    const dash = id.indexOf("-", need);
    const snapped = dash < 0 ? id.length : dash;
    const first = id.indexOf("-");
    const second = first < 0 ? -1 : id.indexOf("-", first + 1);
    const min = second < 0 ? id.length : second;
    const w = snapped > min ? snapped : min;
    if (w > width) width = w;
  }
  return width;
}

/**
 * An ID shortened for a column of `width` cells: the longest syllable-aligned prefix that
 * leaves room for `…`, or the whole ID when it fits.
 */
export function shortIdText(id: string, width: number, ellipsis: string): string {
  if (id.length <= width) return id;
  const b = boundaries(id).filter((x) => x <= width - ellipsis.length);
  const cut = b.length ? b[b.length - 1] : width - ellipsis.length;
  return id.slice(0, Math.max(1, cut)) + ellipsis;
}

/** Column width budget for IDs per tier (tui.md §1.8). */
function idBudget(tier: string, w: number): number {
  if (tier === "compact") return Math.min(Math.max(10, Math.floor(w / 4)), 35);
  if (tier === "wide") return Math.min(Math.max(20, Math.floor(w / 3)), 45);
  return Math.min(Math.max(15, Math.floor(w / 3)), 35);
}

interface Column {
  key:
    | "num"
    | "tier"
    | "prio"
    | "id"
    | "status"
    | "deps"
    | "title"
    | "tags"
    | "conflict"
    | "created"
    | "updated";
  title: string;
  width: number;
}

/** Columns of the table for a state and table width (they always fit `w`). */
export function columns(s: UiState, w: number): Column[] {
  const tier = layoutTier(s.cols, s.rows);
  const ids = s.tableStats.ids;
  const sep = 2;
  const idNeed = s.fullIds
    ? Math.min(
        ids.reduce((m, x) => Math.max(m, x.length), 2),
        Math.max(9, w - 24),
      )
    : Math.min(s.tableStats.idWidth, idBudget(tier, w)) + 1;
  const statusW = Math.min(s.tableStats.maxStatus, tier === "wide" ? 18 : 12);
  const required: Column[] = [
    { key: "num", title: "#", width: 4 },
    { key: "tier", title: "T", width: 1 },
    { key: "prio", title: "P", width: 1 },
    { key: "id", title: "ID", width: idNeed },
  ];
  const minTitle = Math.min(16, Math.max(4, w - required.reduce((n, c) => n + c.width + sep, 0)));
  const optional: Column[] = [];
  if (tier !== "compact" || w >= 55) optional.push({ key: "status", title: "Status", width: statusW });
  if (tier !== "compact") {
    optional.push({ key: "deps", title: "Deps", width: 12 });
    optional.push({ key: "tags", title: "Tags", width: Math.min(16, Math.max(4, s.tableStats.maxTags)) });
  }
  if (tier === "wide") {
    optional.push({ key: "conflict", title: "!", width: 1 });
    optional.push({ key: "created", title: "Created", width: 10 });
    optional.push({ key: "updated", title: "Updated", width: 16 });
  }
  const used = (cols: Column[]) => cols.reduce((n, c) => n + c.width, 0) + sep * cols.length; // + title sep
  const chosen: Column[] = [...required];
  for (const c of optional) if (used([...chosen, c]) + minTitle <= w) chosen.push(c);
  let rest = w - used(chosen);
  // Grow deps and tags a little when there is room, the title takes the remainder.
  for (const key of ["deps", "tags"] as const) {
    const c = chosen.find((x) => x.key === key);
    if (!c) continue;
    const want = key === "deps" ? 24 : Math.min(20, Math.max(4, s.tableStats.maxTags));
    const grow = Math.max(0, Math.min(want - c.width, rest - Math.max(minTitle, 30)));
    c.width += grow;
    rest -= grow;
  }
  const order = [
    "num",
    "tier",
    "prio",
    "id",
    "status",
    "deps",
    "title",
    "tags",
    "conflict",
    "created",
    "updated",
  ];
  const all = [...chosen, { key: "title" as const, title: "Title", width: Math.max(1, rest) }];
  all.sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key));
  return all;
}

const ROLE_MARK: Record<ChainRole, keyof UiState["glyphs"]> = {
  selected: "selected",
  blocker: "blocker",
  dependent: "dependent",
  "transitive-blocker": "transitive",
  "transitive-dependent": "transitive",
};
const ROLE_STYLE: Record<ChainRole, Style> = {
  selected: S.selected,
  blocker: S.blocker,
  dependent: S.dependent,
  "transitive-blocker": S.transitiveBlocker,
  "transitive-dependent": S.transitiveDependent,
};

/** Kind prefix and first syllable of a reference, made safe to draw (refs are untrusted). */
/**
 * The item of a visible row and its base style: ghost, chain role, cursor (inverse).
 * @param index the row's position in `rowsList` (ghost rows are never the cursor)
 */
function rowLook(
  s: UiState,
  row: UiState["rowsList"][number],
  index: number,
): { it: Item; isCursor: boolean; style: Style } | null {
  const it = s.byId.get(row.id);
  if (!it) return null;
  const isCursor = index === s.cursor && !row.ghost;
  const role = s.chain.get(row.id);
  let style: Style = row.ghost ? S.ghost : role ? ROLE_STYLE[role] : S.normal;
  if (isCursor) style = { ...style, inverse: true };
  return { it, isCursor, style };
}

function shortRef(id: string, ascii: boolean): string {
  const p = id.split("-");
  return displayText(p.length >= 2 ? `${p[0]}-${p[1]}` : id, ascii);
}

function dateMinutes(iso: string): string {
  return iso.length >= 16 ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : iso;
}

function titlePrefix(s: UiState, it: Item): string {
  let p = "";
  const cl = s.view === "clusters" ? s.clusterView?.byId.get(it.id) : undefined;
  if (cl) p += `#${cl.rank} `;
  if (s.unread.has(it.id)) p += `${s.glyphs.unread} `;
  if (it.frozen) p += `${s.glyphs.frozen} `;
  return p;
}

/** Draw the table (or tree) into its region. */
export function drawTable(c: Canvas, r: Rect, s: UiState): void {
  if (s.tree && layoutTier(s.cols, s.rows) !== "compact") {
    drawTree(c, r, s);
    return;
  }
  const cols = columns(s, r.w);
  let x = r.x;
  for (const col of cols) {
    c.text(x, r.y, fitText(col.title, col.width), S.label, Math.max(0, r.x + r.w - x));
    x += col.width + 2;
  }
  const visible = Math.max(0, r.h - 1);
  const blockersOf = s.blockers;
  const shownSet = s.tableStats.shown;
  // Real rows from the scroll position; ghost rows (always after the real ones in rowsList)
  // fill the space left below them. Only these rows are built.
  const rows = s.rowsList.slice(s.scroll, Math.min(s.shownCount, s.scroll + visible));
  for (let g = s.shownCount; g < s.rowsList.length && rows.length < visible; g++) rows.push(s.rowsList[g]);
  rows.forEach((row, k) => {
    const y = r.y + 1 + k;
    const look = rowLook(s, row, s.scroll + k);
    if (!look) return;
    const { it, isCursor, style: base } = look;
    const role = s.chain.get(row.id);
    const index = s.scroll + k;
    let cx = r.x;
    for (const col of cols) {
      let text = "";
      let style: Style = base;
      switch (col.key) {
        case "num": {
          const mark = role ? s.glyphs[ROLE_MARK[role]] : " ";
          text = `${mark}${row.ghost ? "" : index + 1}`;
          break;
        }
        case "tier":
          text = it.tier ? TIER_LETTER[it.tier] : "?";
          break;
        case "prio":
          text = String(it.priority);
          break;
        case "id":
          text = s.fullIds ? it.id : shortIdText(it.id, col.width, s.glyphs.ellipsis);
          break;
        case "status":
          text = displayText(it.status, s.ascii);
          break;
        case "deps": {
          const pills: [string, Style][] = [];
          for (const b of blockersOf.get(it.id) ?? [])
            pills.push([
              `${s.glyphs.blockedPill} ${shortRef(b, s.ascii)}`,
              shownSet.has(b) ? S.blocker : S.transitiveBlocker,
            ]);
          for (const d of it.isbefore)
            pills.push([
              `${s.glyphs.blocksPill} ${shortRef(d, s.ascii)}`,
              shownSet.has(d) ? S.dependent : S.transitiveDependent,
            ]);
          let px = cx;
          const end = cx + col.width;
          pills.slice(0, 2).forEach(([p, st], i) => {
            if (px >= end) return;
            px = c.text(
              px,
              y,
              truncate(p, end - px),
              isCursor ? { ...st, inverse: true } : row.ghost ? S.ghost : st,
            );
            if (i === 0 && px < end) px = c.text(px, y, " ", base);
          });
          if (pills.length > 2 && px < end)
            c.text(
              px,
              y,
              truncate(`+${pills.length - 2}`, end - px),
              isCursor ? { ...S.dim, inverse: true } : S.dim,
            );
          if (isCursor) c.restyle(px, y, Math.max(0, end - px), 1, base);
          cx += col.width + 2;
          if (isCursor) c.restyle(cx - 2, y, 2, 1, base);
          continue;
        }
        case "title": {
          const pre = titlePrefix(s, it);
          if (pre) {
            const preStyle: Style = s.unread.has(it.id) ? S.unread : it.frozen ? S.frozen : S.label;
            const px = c.text(cx, y, pre, isCursor ? { ...preStyle, inverse: true } : preStyle, col.width);
            c.text(px, y, fitText(displayText(it.title, s.ascii), col.width - (px - cx)), style);
            cx += col.width + 2;
            if (isCursor) c.restyle(cx - 2, y, 2, 1, base);
            continue;
          }
          text = displayText(it.title, s.ascii);
          break;
        }
        case "tags":
          text = displayText(it.tags.join(","), s.ascii);
          break;
        case "conflict":
          text = s.conflicts.has(it.id) || it.cross_tier_conflict ? s.glyphs.conflict : "";
          if (text) style = isCursor ? { ...S.warn, inverse: true } : S.warn;
          break;
        case "created":
          text = it.created_at.slice(0, 10);
          break;
        case "updated":
          text = dateMinutes(it.updated_at);
          break;
      }
      c.text(cx, y, fitText(text, col.width), style, Math.max(0, r.x + r.w - cx));
      cx += col.width;
      if (col !== cols[cols.length - 1]) {
        c.text(cx, y, "  ", base);
        cx += 2;
      }
    }
    if (isCursor && cx < r.x + r.w) c.restyle(cx, y, r.x + r.w - cx, 1, base);
  });
  if (s.rowsList.length === 0) {
    c.text(
      r.x + 1,
      r.y + 2,
      truncate(
        s.search.query
          ? "No items match the search"
          : s.view === "inbox"
            ? "Inbox empty: nothing waits for you"
            : s.view === "clusters"
              ? s.clusterView?.done
                ? `No clusters among the ${s.clusterView.considered} open items`
                : `Clustering similar items… ${Math.floor((s.clusterView?.progress ?? 0) * 100)}%`
              : "No items",
        r.w - 2,
      ),
      S.dim,
    );
  }
}

/** Draw the tree by parent (tui.md §1.9). */
function drawTree(c: Canvas, r: Rect, s: UiState): void {
  c.text(r.x, r.y, truncate(`${s.glyphs.treeOpen} Items`, r.w), S.label);
  const visible = Math.max(0, r.h - 1);
  const rows = s.rowsList.slice(s.scroll, s.scroll + visible);
  rows.forEach((row, k) => {
    const y = r.y + 1 + k;
    const look = rowLook(s, row, s.scroll + k);
    if (!look) return;
    const { it, style } = look;
    const label = `${row.ghost ? "  " : (row.prefix ?? "")} [${it.tier ? TIER_LETTER[it.tier] : "?"}] ${titlePrefix(s, it)}${displayText(it.title, s.ascii)}`;
    c.text(r.x, y, fitText(label, r.w), style);
  });
}
