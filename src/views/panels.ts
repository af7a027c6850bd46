/**
 * Chrome around the table: header, edit-mode banner, search bar, filter panel (tui.md §3.3),
 * chain summary (§1.12), status-filter bar (§3.4), footer key hints, toasts, help and the
 * problems list.
 */
import type { Canvas } from "./canvas.js";
import type { Rect } from "./layout.js";
import { displayText, fitText, strWidth, truncate, wrap } from "./text.js";
import { S } from "./theme.js";
import type { KeyHint, UiState } from "./types.js";

/** One filter-panel entry as the view needs it. */
export interface PanelEntry {
  key: string;
  label: string;
  count: number;
  hidden: boolean;
  favorite: boolean;
}

/** Draw the header: root, counts, view, filters, search, live indicator, actor. */
export function drawHeader(c: Canvas, r: Rect, s: UiState, activeFilters: number): void {
  c.fill(r.x, r.y, r.w, 1, S.header);
  const root = displayText(s.root, s.ascii);
  const live =
    s.live.mode === "events"
      ? `${s.glyphs.live} live`
      : s.live.mode === "polling"
        ? `${s.glyphs.live} live (polling)`
        : "○ static";
  const right = `${live}  ${s.actor.by === "agent" ? "agent" : "human"}:${displayText(s.actor.actor, s.ascii)}${s.readOnly ? "  read-only" : ""} `;
  const parts = [
    " htrac",
    `${s.shownCount}/${s.items.length} items`,
    `view: ${s.view}`,
    activeFilters ? `filters: ${activeFilters}` : "",
    s.problems.length
      ? `${s.glyphs.conflict} ${s.problems.length} problem${s.problems.length === 1 ? "" : "s"}`
      : "",
  ].filter((x) => x !== "");
  let left = parts.join("  │  ".replace("│", s.glyphs.vline));
  const rootRoom = r.w - strWidth(left) - strWidth(right) - 6;
  if (rootRoom > 8) left = `${left}  ${s.glyphs.vline}  ${truncate(root, rootRoom)}`;
  c.text(r.x, r.y, truncate(left, r.w - strWidth(right)), S.header);
  if (strWidth(left) + strWidth(right) < r.w)
    c.text(r.x + r.w - strWidth(right), r.y, right, s.live.mode === "off" ? S.header : S.header);
}

/** Edit-mode banner (tui.md §1.2). */
export function drawBanner(c: Canvas, r: Rect, s: UiState): void {
  const em = s.editMode;
  if (!em?.on) return;
  const m = Math.floor(em.remainingS / 60);
  const sec = String(em.remainingS % 60).padStart(2, "0");
  c.fill(r.x, r.y, r.w, 1, S.banner);
  c.text(
    r.x,
    r.y,
    fitText(` EDIT MODE ON — ${m}m ${sec}s remaining — ${em.used}/${em.cap} ops`, r.w),
    S.banner,
  );
}

/** Search bar: the query (with caret while editing), match count, query errors. */
export function drawSearch(c: Canvas, r: Rect, s: UiState): void {
  const q = displayText(s.search.query, s.ascii);
  let x = c.text(r.x, r.y, "/ ", S.label);
  const info = `  ${s.shownCount} match${s.shownCount === 1 ? "" : "es"}${s.search.error ? `  ${s.glyphs.conflict} ${s.search.error}` : ""}`;
  const room = r.w - 2 - Math.min(strWidth(info), Math.floor(r.w / 2));
  if (s.search.editing) {
    const caret = Math.min(s.search.caret, q.length);
    const before = q.slice(0, caret);
    const at = q.slice(caret, caret + 1) || " ";
    const shown = truncate(before, Math.max(1, room - 1));
    x = c.text(x, r.y, shown, S.input);
    x = c.text(x, r.y, at, S.inputFocus);
    x = c.text(x, r.y, truncate(q.slice(caret + 1), Math.max(0, r.x + room - x)), S.input);
  } else x = c.text(x, r.y, truncate(q, room), S.normal);
  c.text(x, r.y, truncate(info, r.x + r.w - x), s.search.error ? S.warn : S.dim);
}

/** Filter panel (tui.md §3.3). */
export function drawFilterPanel(
  c: Canvas,
  r: Rect,
  s: UiState,
  entries: { favorites: PanelEntry[]; statuses: PanelEntry[]; tags: PanelEntry[] },
  active: number,
): void {
  const lines: { text: string; dim?: boolean; head?: boolean }[] = [];
  lines.push({ text: `Filters Active: ${active}`, head: true }, { text: "" });
  let n = 0;
  const entry = (e: PanelEntry) => {
    n++;
    const num = n <= 9 ? `[${n}]` : "   ";
    const box = e.hidden ? `[${s.glyphs.check}]` : "[ ]";
    lines.push({
      text: `${num} ${box} ${e.favorite ? `${s.glyphs.star} ` : ""}${displayText(e.label, s.ascii)} (${e.count})`,
      dim: e.hidden,
    });
  };
  const rule = s.glyphs.hline.repeat(2);
  if (entries.favorites.length) {
    lines.push({ text: `${rule} Favorites ${rule}`, head: true });
    entries.favorites.forEach(entry);
  }
  lines.push({ text: `${rule} Statuses ${rule}`, head: true });
  entries.statuses.forEach(entry);
  lines.push({ text: `${rule} Tags ${rule}`, head: true });
  entries.tags.forEach(entry);
  const wrapped: { text: string; dim?: boolean; head?: boolean }[] = [];
  for (const l of lines) for (const w of wrap(l.text, r.w)) wrapped.push({ ...l, text: w });
  wrapped.slice(0, r.h).forEach((l, k) => {
    c.text(r.x, r.y + k, l.text, l.head ? S.label : l.dim ? S.hidden : S.normal, r.w);
  });
  if (wrapped.length > r.h) c.text(r.x + r.w - 1, r.y + r.h - 1, s.ascii ? "v" : "▼", S.dim);
}

/** Chain summary bar (tui.md §1.12). */
export function drawChainBar(c: Canvas, r: Rect, s: UiState): void {
  const cs = s.chainSummary;
  if (!cs || !s.selectedId) return;
  const short = (id: string) => id.split("-").slice(0, 2).join("-");
  const parts = [`${s.glyphs.selected} ${short(s.selectedId)}`];
  if (cs.blockers.length) parts.push(`blocked by ${cs.blockers.map(short).join(", ")}`);
  if (cs.viaBlockers.length) parts.push(`(via ${cs.viaBlockers.map(short).join(", ")})`);
  if (cs.dependents.length) parts.push(`blocks ${cs.dependents.map(short).join(", ")}`);
  if (cs.thenDependents.length) parts.push(`(then ${cs.thenDependents.map(short).join(", ")})`);
  parts.push(
    `(${cs.blockers.length + cs.viaBlockers.length}${s.glyphs.blocker} ${cs.dependents.length + cs.thenDependents.length}${s.glyphs.dependent})`,
  );
  c.text(r.x, r.y, truncate(parts.join("  "), r.w), S.dim);
}

/** Status-filter bar (tui.md §3.4): resolved statuses shown/hidden, hidden tags, Tagged. */
export function drawStatusBar(c: Canvas, r: Rect, s: UiState): void {
  const badges = s.config.resolved_statuses.map(
    (st) => `[${displayText(st, s.ascii)}: ${s.filters.hiddenStatuses.includes(st) ? "hidden" : "shown"}]`,
  );
  if (s.filters.hiddenTags.length) badges.push(`[tags hidden: ${s.filters.hiddenTags.length}]`);
  if (s.filters.hideTagged) badges.push("[tagged: hidden]");
  c.text(r.x, r.y, truncate(badges.join("  "), r.w), S.dim);
}

/** Footer: key hints fitted to the width. */
export function drawFooter(c: Canvas, r: Rect, hints: KeyHint[]): void {
  let x = r.x;
  const end = r.x + r.w;
  for (const h of hints) {
    const key = h.keys[0];
    if (!key) continue;
    const need = strWidth(key) + 1 + strWidth(h.label) + 2;
    if (x + need > end) break;
    x = c.text(x, r.y, key, h.disabled ? S.dim : S.footerKey);
    x = c.text(x, r.y, ` ${h.label}  `, h.disabled ? S.dim : S.footer);
  }
}

/**
 * Toasts, newest at the bottom, right-aligned above the footer. Long messages wrap (up to
 * three lines each) instead of being cut: errors are meant to be read.
 */
export function drawToasts(c: Canvas, s: UiState): void {
  const live = s.toasts.filter((t) => t.until > s.now).slice(-3);
  const maxW = Math.max(10, Math.min(s.cols - 2, Math.max(40, Math.floor(s.cols * 0.7))));
  const blocks = live.map((t) => {
    const lines = wrap(displayText(t.message, s.ascii), maxW - 2).slice(0, 3);
    const style =
      t.level === "error"
        ? { inverse: true, fg: 1 }
        : t.level === "warn"
          ? { inverse: true, fg: 3 }
          : { inverse: true, fg: 2 };
    return { lines, style };
  });
  let y = s.rows - 2;
  for (let b = blocks.length - 1; b >= 0 && y >= 1; b--) {
    const { lines, style } = blocks[b];
    const w = Math.min(maxW, Math.max(...lines.map((l) => strWidth(l))) + 2);
    for (let i = lines.length - 1; i >= 0 && y >= 1; i--, y--) {
      c.text(s.cols - w, y, fitText(` ${lines[i]}`, w), style);
    }
  }
}

/** Query syntax lines shown in help. */
export const QUERY_HELP = [
  "free text            id, title, status, kind, tags, fields, thread text",
  '"two words"          a phrase',
  "status:todo_hard     (s:) status (prefix ok: status:todo)",
  "tag:ci  kind:WI      (t:, k:) tag; kind name or ID prefix",
  "tier:canonical       canonical | workspace | stealth",
  "p:1  p<=1  p>2       priority",
  "id:WI-popak  title:x  field:statement=route",
  "has:unread|tags|parent|discussion|fields|locks|blockers|dependents",
  "is:frozen|locked|ready|blocked|conflict|review|deleted",
  "-term                negate any term; all terms must match",
];

/** Help overlay generated from the keymap (grouped, disabled actions with the reason). */
export function drawHelp(c: Canvas, s: UiState): void {
  const r = { x: 0, y: 1, w: s.cols, h: s.rows - 2 };
  c.fill(r.x, r.y, r.w, r.h);
  const lines: { text: string; style: keyof typeof S }[] = [];
  lines.push({ text: `Keys (from the active keymap; ${s.helpCloseKeys} closes)`, style: "label" });
  for (const sec of s.helpSections) {
    lines.push({ text: "", style: "normal" });
    lines.push({ text: sec.title, style: "label" });
    for (const h of sec.rows) {
      const keys = h.keys.length ? h.keys.join(", ") : "(unbound)";
      lines.push({
        text: `  ${keys.padEnd(16)} ${h.label}${h.disabled ? `   — disabled: ${h.disabled}` : ""}`,
        style: h.disabled ? "dim" : "normal",
      });
    }
  }
  lines.push({ text: "", style: "normal" }, { text: "Search query syntax (/)", style: "label" });
  for (const q of QUERY_HELP) lines.push({ text: `  ${q}`, style: "normal" });
  const wrapped: { text: string; style: keyof typeof S }[] = [];
  for (const l of lines) for (const w of wrap(l.text, r.w - 2)) wrapped.push({ ...l, text: w });
  const maxScroll = Math.max(0, wrapped.length - r.h);
  const scroll = Math.min(s.help.scroll, maxScroll);
  wrapped
    .slice(scroll, scroll + r.h)
    .forEach((l, k) => c.text(r.x + 1, r.y + k, l.text, S[l.style], r.w - 2));
}

/** Problems list overlay. */
export function drawProblems(c: Canvas, s: UiState): void {
  const r = { x: 0, y: 1, w: s.cols, h: s.rows - 2 };
  c.fill(r.x, r.y, r.w, r.h);
  const lines: string[] = [`Load problems (${s.problems.length}) — Esc closes`, ""];
  if (s.problems.length === 0) lines.push("No problems: every file compiled.");
  for (const p of s.problems)
    lines.push(`${p.fatal ? "ERROR" : "warn "}  ${displayText(p.message, s.ascii)}`);
  if (s.live.note) lines.push("", displayText(s.live.note, s.ascii));
  const wrapped = lines.flatMap((l) => wrap(l, r.w - 2));
  const scroll = Math.min(s.problemsScroll, Math.max(0, wrapped.length - r.h));
  wrapped
    .slice(scroll, scroll + r.h)
    .forEach((l, k) =>
      c.text(
        r.x + 1,
        r.y + k,
        l,
        k === 0 && scroll === 0 ? S.label : l.startsWith("ERROR") ? S.error : S.normal,
        r.w - 2,
      ),
    );
}

/** Sparkline levels, lowest first (ASCII: a density ramp). */
const SPARK = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];
const SPARK_ASCII = [".", ":", "-", "=", "+", "*", "#", "@"];

/**
 * The priority-trend overlay (tui.md §7.5, §10.3 "add"): the mean priority of open items per
 * day as a scatter (P0 at the top, as urgency), the open count as a sparkline under it, the
 * first and last day; progress while the op logs are read.
 */
export function drawTrend(c: Canvas, s: UiState): void {
  const r = { x: 0, y: 1, w: s.cols, h: s.rows - 2 };
  c.fill(r.x, r.y, r.w, r.h);
  c.text(
    r.x + 1,
    r.y,
    truncate("Priority trend: mean priority of open items per day (P0 at the top) — Esc closes", r.w - 2),
    S.label,
  );
  const pts = s.trend.points;
  if (!pts) {
    c.text(
      r.x + 1,
      r.y + 2,
      truncate(`Reading the op logs… ${Math.floor(s.trend.progress * 100)}%`, r.w - 2),
      S.dim,
    );
    return;
  }
  const shown = pts.filter((p) => p.meanPriority !== null);
  if (shown.length === 0) {
    c.text(
      r.x + 1,
      r.y + 2,
      truncate(pts.length ? "No open items on any day" : "No history in scope", r.w - 2),
      S.dim,
    );
    return;
  }
  const labelW = 5;
  const plotW = Math.max(1, r.w - labelW - 2);
  const plotH = Math.max(2, r.h - 7);
  const top = r.y + 2;
  const means = shown.map((p) => p.meanPriority!);
  const lo = Math.floor(Math.min(...means));
  const hi = Math.max(lo + 1, Math.ceil(Math.max(...means)));
  const rowOf = (v: number) => top + Math.round(((v - lo) / (hi - lo)) * (plotH - 1));
  for (let v = lo; v <= hi; v++) {
    c.text(r.x + 1, rowOf(v), `P${v}`.padStart(labelW - 1), S.dim);
    c.text(r.x + labelW, rowOf(v), s.ascii ? "+" : "┤", S.dim);
  }
  // One column per day, or the days sampled evenly when there are more days than columns.
  const cols = Math.min(pts.length, plotW);
  const dayAt = (j: number) =>
    cols === 1 ? pts.length - 1 : Math.round((j * (pts.length - 1)) / (cols - 1));
  const maxOpen = Math.max(1, ...pts.map((p) => p.open));
  const spark = s.ascii ? SPARK_ASCII : SPARK;
  const sparkY = top + plotH + 1;
  c.text(r.x + 1, sparkY, "open".padStart(labelW - 1), S.dim);
  for (let j = 0; j < cols; j++) {
    const p = pts[dayAt(j)];
    const x = r.x + labelW + 1 + j;
    if (p.meanPriority !== null) c.text(x, rowOf(p.meanPriority), s.glyphs.unread, S.dependent);
    c.text(x, sparkY, p.open ? spark[Math.min(7, Math.floor((p.open / maxOpen) * 7.999))] : " ", S.normal);
  }
  const first = pts[0].day;
  const last = pts[pts.length - 1].day;
  c.text(r.x + labelW + 1, sparkY + 1, first, S.dim);
  if (cols > first.length + last.length + 2)
    c.text(r.x + labelW + 1 + cols - last.length, sparkY + 1, last, S.dim);
  const a = shown[0];
  const b = shown[shown.length - 1];
  c.text(
    r.x + 1,
    sparkY + 3,
    truncate(
      `${a.day}: P${a.meanPriority!.toFixed(2)} over ${a.open} open → ${b.day}: P${b.meanPriority!.toFixed(2)} over ${b.open} open  (${pts.length} day${pts.length === 1 ? "" : "s"}, max ${maxOpen} open; the SVG: htrac priority-trend)`,
      r.w - 2,
    ),
    S.normal,
  );
}

/**
 * A screenshot in cells (the `I` overlay): two pixels per cell with the upper half block,
 * centred under a title line. Without colour (NO_COLOR) or in ASCII mode the picture cannot
 * be shown: the overlay says so and names the file.
 */
export function drawPreview(c: Canvas, s: UiState): void {
  const r = { x: 0, y: 1, w: s.cols, h: s.rows - 2 };
  c.fill(r.x, r.y, r.w, r.h);
  const name = displayText(s.preview.file.split("/").pop() ?? "", s.ascii);
  c.text(r.x + 1, r.y, truncate(`Screenshot ${name} — Esc closes`, r.w - 2), S.label);
  const pic = s.preview.picture;
  const note =
    s.preview.message ??
    (pic
      ? !s.color || s.ascii
        ? "Colour is off here (NO_COLOR or an ASCII terminal): open the file instead"
        : null
      : "Drawing…");
  if (note || !pic) {
    const lines = wrap(displayText(note ?? "", s.ascii), r.w - 2);
    lines.slice(0, r.h - 2).forEach((l, k) => c.text(r.x + 1, r.y + 2 + k, l, S.dim));
    if (s.preview.file)
      c.text(r.x + 1, r.y + 3 + lines.length, truncate(displayText(s.preview.file, s.ascii), r.w - 2), S.dim);
    return;
  }
  const x0 = r.x + Math.max(0, Math.floor((r.w - pic.cols) / 2));
  const y0 = r.y + 1;
  const rows = Math.min(pic.rows, r.h - 1);
  const cols = Math.min(pic.cols, r.w);
  for (let y = 0; y < rows; y++)
    for (let x = 0; x < cols; x++) {
      const i = (y * pic.cols + x) * 2;
      c.text(x0 + x, y0 + y, "▀", { fg: pic.colors[i], bg: pic.colors[i + 1] });
    }
}
