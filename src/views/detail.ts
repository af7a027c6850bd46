/**
 * Item detail (tui.md §1.10), activity log (§1.11) and the full, scrollable thread view
 * (closing gap §10.2 #12). Text is untrusted: every string goes through `displayText`.
 */
import type { DiscussionEntry, Item } from "../index.js";
import type { Canvas, Style } from "./canvas.js";
import type { Rect } from "./layout.js";
import { layoutTier, regions } from "./layout.js";
import { linkSpans } from "./links.js";
import {
  displayLines,
  displayText,
  fitText,
  shortenScreenshotRefs,
  strWidth,
  truncate,
  wrap,
} from "./text.js";
import { S } from "./theme.js";
import type { UiState } from "./types.js";

/** A styled line: segments of text. */
export type Line = [string, Style][];

function label(text: string, locked: boolean): [string, Style][] {
  return locked
    ? [
        [`${text} [locked]:`, S.label],
        [" ", S.normal],
      ]
    : [
        [`${text}:`, S.label],
        [" ", S.normal],
      ];
}

function minutes(iso: string): string {
  return iso.length >= 16 ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : iso;
}

/** Wrap styled lines to a width (style of each segment kept). */
export function wrapLines(lines: Line[], width: number): Line[] {
  const out: Line[] = [];
  for (const line of lines) {
    const total = line.reduce((n, [t]) => n + strWidth(t), 0);
    if (total <= width) {
      out.push(line);
      continue;
    }
    // Wrap the concatenated text, then re-apply the style of the first segment to the
    // label part and the last segment's style to the rest.
    const text = line.map(([t]) => t).join("");
    const lab = line.length > 1 ? line[0] : null;
    const parts = wrap(text, width);
    parts.forEach((p, i) => {
      if (i === 0 && lab && p.startsWith(lab[0]))
        out.push([lab, [p.slice(lab[0].length), line[line.length - 1][1]]]);
      else out.push([[p, line[line.length - 1][1]]]);
    });
  }
  return out;
}

/** Description text: collapse double newlines when every break is doubled (a storage artefact). */
function descriptionLines(d: string, ascii: boolean): string[] {
  const breaks = d.match(/\n+/g) ?? [];
  const allDouble = breaks.length > 0 && breaks.every((b) => b === "\n\n");
  return displayLines(allDouble ? d.replace(/\n\n/g, "\n") : d, ascii);
}

/** Lines of the detail pane (tui.md §1.10). */
export function detailLines(s: UiState, it: Item, width: number): Line[] {
  const wide = layoutTier(s.cols, s.rows) === "wide";
  const locked = new Set(it.locked_fields);
  const L: Line[] = [];
  const txt = (v: unknown) => displayText(v, s.ascii);
  if (it.frozen)
    L.push([
      [s.selectedDrift ? "*** FROZEN (DRIFTED) ***" : "*** FROZEN ***", s.selectedDrift ? S.warn : S.frozen],
    ]);
  L.push([...label("Title", locked.has("title")), [txt(it.title), S.normal]]);
  L.push([
    ["ID:", S.label],
    [" ", S.normal],
    [it.id, S.normal],
  ]);
  const kind = s.config.kinds.find((k) => k.name === it.kind);
  const deprecated = kind?.deprecated_statuses.includes(it.status) ? " (deprecated)" : "";
  L.push([
    ...label("Status", locked.has("status")),
    [txt(it.status) + deprecated, deprecated ? S.warn : S.normal],
  ]);
  L.push([...label("Priority", locked.has("priority")), [`P${it.priority}`, S.normal]]);
  L.push([
    ["Tier:", S.label],
    [" ", S.normal],
    [it.tier ?? "unknown", S.normal],
  ]);
  L.push([
    ["Kind:", S.label],
    [" ", S.normal],
    [txt(it.kind), S.normal],
  ]);
  const cl = s.view === "clusters" ? s.clusterView?.byId.get(it.id) : undefined;
  if (cl)
    L.push([
      ["Cluster:", S.label],
      [" ", S.normal],
      [
        `#${cl.rank} of ${s.clusterView!.clusters} — ${cl.size} similar items, mean similarity ${cl.similarity.toFixed(2)}`,
        S.normal,
      ],
    ]);
  if (wide) {
    L.push([
      ["Created:", S.label],
      [" ", S.normal],
      [minutes(it.created_at), S.normal],
    ]);
    L.push([
      ["Updated:", S.label],
      [" ", S.normal],
      [minutes(it.updated_at), S.normal],
    ]);
  }
  if (it.cross_tier_conflict || s.conflicts.has(it.id)) L.push([["Cross-tier conflict: YES", S.warn]]);
  if (it.tags.length) L.push([...label("Tags", locked.has("tags")), [txt(it.tags.join(", ")), S.normal]]);
  if (it.parent) {
    const p = s.byId.get(it.parent);
    L.push([
      ...label("Parent", locked.has("parent")),
      [`${txt(it.parent)}${p ? ` (${txt(p.title)})` : ""}`, S.normal],
    ]);
  }
  if (it.pr_ref) L.push([...label("PR", locked.has("pr_ref")), [txt(it.pr_ref), S.normal]]);
  if (it.isbefore.length)
    L.push([...label("Blocks", locked.has("isbefore")), [it.isbefore.map(txt).join(", "), S.dependent]]);
  const blockedBy = s.blockers.get(it.id) ?? [];
  if (blockedBy.length)
    L.push([
      ["Blocked by:", S.label],
      [" ", S.normal],
      [blockedBy.map(txt).join(", "), S.blocker],
    ]);
  if (it.duplicate_of.length)
    L.push([
      ...label("Duplicate of", locked.has("duplicate_of")),
      [it.duplicate_of.map(txt).join(", "), S.normal],
    ]);
  if (it.locked_fields.length)
    L.push([
      ["Locked:", S.label],
      [" ", S.normal],
      [it.locked_fields.map(txt).join(", "), S.locked],
    ]);
  if (it.description) {
    L.push([]);
    L.push([[locked.has("description") ? "Description [locked]:" : "Description:", S.label]]);
    for (const l of descriptionLines(it.description, s.ascii)) L.push([[l, S.normal]]);
  }
  const keys = Object.keys(it.fields);
  if (keys.length) {
    L.push([]);
    L.push([[locked.has("fields") ? "Fields [locked]:" : "Fields:", S.label]]);
    const schema = kind?.fields_schema ?? [];
    const fieldText = (v: unknown) => (Array.isArray(v) ? v.map((x) => txt(x)).join(", ") : txt(v));
    if (schema.length) {
      for (const [name, sc] of schema) {
        if (!(name in it.fields)) continue;
        const lk = locked.has(`fields.${name}`) ? " [locked]" : "";
        const desc = sc.description ? ` (${txt(sc.description)})` : "";
        L.push([
          [`  ${name}${desc}${lk}: `, S.label],
          [fieldText(it.fields[name]), S.normal],
        ]);
      }
      const other = keys.filter((k) => !schema.some(([n]) => n === k));
      if (other.length) {
        L.push([["  Other:", S.label]]);
        for (const k of other)
          L.push([
            [`    ${txt(k)}: `, S.label],
            [fieldText(it.fields[k]), S.normal],
          ]);
      }
    } else
      for (const k of keys)
        L.push([
          [`  ${txt(k)}${locked.has(`fields.${k}`) ? " [locked]" : ""}: `, S.label],
          [fieldText(it.fields[k]), S.normal],
        ]);
  }
  if (!wide) {
    const visible = it.discussion.filter((e) => !e.is_tombstoned);
    const hidden = it.discussion.length - visible.length;
    L.push([]);
    const many = it.discussion.length >= 20 ? " [20+ msgs]" : "";
    L.push([
      [
        `Discussion${locked.has("discussion") ? " [locked]" : ""} (${visible.length} entries)${many}:`,
        S.label,
      ],
    ]);
    for (const e of visible.slice(-5)) L.push(entryLine(s, e, true));
    if (visible.length > 5) L.push([[`  … ${visible.length - 5} earlier (o: full thread)`, S.dim]]);
    if (hidden > 0) L.push([[`  (not shown: ${hidden} deleted messages)`, S.dim]]);
  }
  return wrapLines(L, width);
}

function entryLine(s: UiState, e: DiscussionEntry, raw: boolean): Line {
  const ts = raw ? e.at : minutes(e.at);
  return [
    [
      raw ? `  [${ts}] ${displayText(e.by, s.ascii)}: ` : `${ts} [${displayText(e.by, s.ascii)}]: `,
      e.by === "human" ? S.unread : { bold: true },
    ],
    [
      `${e.is_summary ? "[summary] " : ""}${displayText(shortenScreenshotRefs(e.message), s.ascii)}`,
      S.normal,
    ],
  ];
}

/**
 * Link spans of one drawn segment: IDs of other items (tui.md §7.3 hotspots), with the
 * item's own ID left out. Segments too short to hold an ID are skipped without a scan.
 */
function segmentLinks(s: UiState, t: string): { start: number; end: number; id: string }[] {
  if (t.length < 8) return [];
  return linkSpans(s, t, s.linkFocus ?? undefined).filter((sp) => sp.id !== s.selectedId);
}

/**
 * Draw a styled line from (x, y), at most to column `end`: links underlined, the focused
 * link (`s.linkFocus`) in reverse video. @returns the column after the text
 */
export function drawLine(c: Canvas, x: number, y: number, line: Line, end: number, s: UiState): number {
  for (const [t, st] of line) {
    const spans = segmentLinks(s, t);
    let at = 0;
    for (const sp of spans) {
      if (sp.start > at) x = c.text(x, y, t.slice(at, sp.start), st, end - x);
      const focused = sp.id === s.linkFocus;
      x = c.text(
        x,
        y,
        t.slice(sp.start, sp.end),
        { ...st, underline: true, inverse: focused || st.inverse },
        end - x,
      );
      at = sp.end;
    }
    if (at < t.length) x = c.text(x, y, at === 0 ? t : t.slice(at), st, end - x);
  }
  return x;
}

/** The link under column `col` of a drawn line starting at `x`, or null. */
function linkInLine(s: UiState, line: Line, x: number, col: number): string | null {
  for (const [t] of line) {
    const w = strWidth(t);
    if (col < x + w) {
      for (const sp of segmentLinks(s, t)) {
        const from = x + strWidth(t.slice(0, sp.start));
        if (col >= from && col < from + strWidth(t.slice(sp.start, sp.end))) return sp.id;
      }
      return null;
    }
    x += w;
  }
  return null;
}

/** Visible lines of the detail pane and its scroll (as `drawDetail` draws them). */
function detailView(s: UiState, it: Item, r: Rect): { lines: Line[]; scroll: number; maxScroll: number } {
  const lines = detailLines(s, it, r.w);
  const maxScroll = Math.max(0, lines.length - r.h);
  return { lines, scroll: Math.min(s.detailScroll, maxScroll), maxScroll };
}

/**
 * The first line of the detail pane (wrapped to `width`) that shows a link to `id`, or -1:
 * where the app scrolls the pane to show a focused link.
 */
export function detailLineOf(s: UiState, it: Item, width: number, id: string): number {
  const lines = detailLines(s, it, width);
  return lines.findIndex((line) => line.some(([t]) => segmentLinks(s, t).some((sp) => sp.id === id)));
}

/**
 * The item ID under a screen cell of the detail or activity pane (a click on a link), or
 * null. Uses the same lines, wrapping and scroll as the panes are drawn with.
 */
export function linkAt(s: UiState, x: number, y: number): string | null {
  const it = s.selectedId ? s.byId.get(s.selectedId) : undefined;
  if (!it || s.thread.open) return null;
  const r = regions(s);
  const inside = (q: Rect | null): q is Rect => !!q && x >= q.x && x < q.x + q.w && y >= q.y && y < q.y + q.h;
  if (inside(r.detail)) {
    const { lines, scroll } = detailView(s, it, r.detail);
    const line = lines[scroll + y - r.detail.y];
    return line ? linkInLine(s, line, r.detail.x, x) : null;
  }
  if (inside(r.activity)) {
    const { lines, start } = activityView(s, it, r.activity);
    const line = lines[start + y - r.activity.y - 1];
    return line && y > r.activity.y ? linkInLine(s, line, r.activity.x, x) : null;
  }
  return null;
}

/** Draw the detail pane of the selected item. */
export function drawDetail(c: Canvas, r: Rect, s: UiState): void {
  const it = s.selectedId ? s.byId.get(s.selectedId) : undefined;
  if (!it) {
    c.text(r.x, r.y, truncate(s.rowsList.length ? "No item selected" : "", r.w), S.dim);
    return;
  }
  const { lines, scroll, maxScroll } = detailView(s, it, r);
  lines.slice(scroll, scroll + r.h).forEach((line, k) => {
    drawLine(c, r.x, r.y + k, line, r.x + r.w, s);
  });
  if (maxScroll > 0) {
    const more = scroll < maxScroll ? "▼" : "▲";
    c.text(r.x + r.w - 1, r.y + r.h - 1, s.ascii ? (scroll < maxScroll ? "v" : "^") : more, S.dim);
  }
}

/** Lines of the activity log and the first one shown (the newest fill the pane). */
function activityView(s: UiState, it: Item, r: Rect): { lines: Line[]; start: number } {
  const visible = it.discussion.filter((e) => !e.is_tombstoned);
  const hidden = it.discussion.length - visible.length;
  const L: Line[] = [];
  if (it.discussion.length >= 20) L.push([["[20+ msgs]", S.warn]]);
  if (visible.length > 10) L.push([[`(showing last 10 of ${visible.length} entries)`, S.dim]]);
  if (visible.length === 0 && hidden === 0) L.push([["No recent activity", S.dim]]);
  for (const e of visible.slice(-10)) {
    L.push(entryLine(s, e, false));
  }
  if (hidden > 0) L.push([[`(not shown: ${hidden} deleted messages)`, S.dim]]);
  const lines = wrapLines(L, r.w);
  return { lines, start: Math.max(0, lines.length - (r.h - 1)) };
}

/** Draw the activity log of the wide layout (tui.md §1.11). */
export function drawActivity(c: Canvas, r: Rect, s: UiState): void {
  const it = s.selectedId ? s.byId.get(s.selectedId) : undefined;
  c.text(r.x, r.y, truncate("Activity", r.w), S.label);
  if (!it) return;
  const { lines, start } = activityView(s, it, r);
  lines.slice(start).forEach((line, k) => {
    drawLine(c, r.x, r.y + 1 + k, line, r.x + r.w, s);
  });
}

/** Entries of the thread view with their wrapped lines (for drawing and for scrolling). */
export function threadBlocks(
  s: UiState,
  it: Item,
  width: number,
): { entry: DiscussionEntry; lines: Line[] }[] {
  return it.discussion.map((e, i) => {
    const head: Line = [
      [
        `[${i + 1}] ${minutes(e.at)}  ${displayText(e.by, s.ascii)}  ${displayText(e.actor, s.ascii)}`,
        e.by === "human" ? S.unread : S.label,
      ],
      [
        `  #${e.nonce}${e.is_summary ? "  summary" : ""}${e.edit_history.length ? `  edited ${e.edit_history.length}×` : ""}`,
        S.dim,
      ],
    ];
    // Message lines wrap inside a 4-column indent (hanging indent keeps the thread readable).
    const body: Line[] = e.is_tombstoned
      ? [[["    (deleted message)", S.dim]]]
      : displayLines(shortenScreenshotRefs(e.message), s.ascii).flatMap((l) =>
          (l === "" ? [""] : wrap(l, Math.max(8, width - 4))).map((w) => [[`    ${w}`, S.normal]] as Line),
        );
    return { entry: e, lines: [...wrapLines([head], width), ...wrapLines(body, width), []] };
  });
}

/** Draw the full thread of the selected item (scrollable; the focused message highlighted). */
export function drawThread(c: Canvas, r: Rect, s: UiState, threadCursor: number): void {
  const it = s.selectedId ? s.byId.get(s.selectedId) : undefined;
  c.fill(r.x, r.y, r.w, r.h);
  if (!it) return;
  const hidden = it.discussion.filter((e) => e.is_tombstoned).length;
  c.text(
    r.x,
    r.y,
    fitText(
      `Thread: ${it.id} — ${displayText(it.title, s.ascii)}  (${it.discussion.length} entries${hidden ? `, ${hidden} deleted` : ""})`,
      r.w,
    ),
    S.header,
  );
  const blocks = threadBlocks(s, it, r.w);
  const lines: { line: Line; entry: number }[] = [];
  blocks.forEach((b, i) => {
    for (const l of b.lines) lines.push({ line: l, entry: i });
  });
  if (blocks.length === 0) c.text(r.x, r.y + 2, "No messages", S.dim);
  const h = r.h - 1;
  const maxScroll = Math.max(0, lines.length - h);
  const scroll = Math.min(s.thread.scroll, maxScroll);
  lines.slice(scroll, scroll + h).forEach(({ line, entry }, k) => {
    const focused = entry === threadCursor && line.length > 0;
    drawLine(
      c,
      r.x,
      r.y + 1 + k,
      focused ? line.map(([t, st]): [string, Style] => [t, { ...st, inverse: true }]) : line,
      r.x + r.w,
      s,
    );
  });
}
