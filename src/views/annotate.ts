/**
 * Annotation mode (issue: screenshot and annotation): the frozen screen replayed cell by
 * cell with the marks merged into it (a terminal has no transparency), the keyboard cursor,
 * drafts, and a status line with the tools and keys. Also the cell geometry of each mark,
 * shared by the terminal drawing and the tests.
 */
import type { Canvas, Style } from "./canvas.js";
import { strWidth, truncate } from "./text.js";
import { S } from "./theme.js";
import { ANNOTATION_COLORS, type Annotation, type AnnotateState, type UiState } from "./types.js";

/** Normalised rectangle of two corners. */
export function normRect(a: { x1: number; y1: number; x2: number; y2: number }): {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
} {
  return {
    x1: Math.min(a.x1, a.x2),
    y1: Math.min(a.y1, a.y2),
    x2: Math.max(a.x1, a.x2),
    y2: Math.max(a.y1, a.y2),
  };
}

/** The text a label shows: `[n]` or `[n] text`. */
export function labelText(a: Annotation): string {
  return a.text ? `[${a.n}] ${a.text}` : `[${a.n}]`;
}

/**
 * Cells a mark occupies on the terminal, with the character drawn there.
 * Rectangles: a heavy box outline; arrows: a line (Bresenham) ending in a head; labels: text.
 */
export function annotationCells(a: Annotation, ascii: boolean): { x: number; y: number; ch: string }[] {
  const out: { x: number; y: number; ch: string }[] = [];
  if (a.kind === "rect") {
    const r = normRect(a);
    const g = ascii
      ? { tl: "+", tr: "+", bl: "+", br: "+", h: "-", v: "|" }
      : { tl: "┏", tr: "┓", bl: "┗", br: "┛", h: "━", v: "┃" };
    for (let x = r.x1; x <= r.x2; x++) {
      out.push({ x, y: r.y1, ch: x === r.x1 ? g.tl : x === r.x2 ? g.tr : g.h });
      if (r.y2 !== r.y1) out.push({ x, y: r.y2, ch: x === r.x1 ? g.bl : x === r.x2 ? g.br : g.h });
    }
    for (let y = r.y1 + 1; y < r.y2; y++) {
      out.push({ x: r.x1, y, ch: g.v });
      if (r.x2 !== r.x1) out.push({ x: r.x2, y, ch: g.v });
    }
    return out;
  }
  if (a.kind === "arrow") {
    const dx = a.x2 - a.x1;
    const dy = a.y2 - a.y1;
    // Cells are about twice as tall as wide: compare directions in screen proportions.
    const ratio = Math.abs(dx) / (2 * Math.abs(dy) || 0.001);
    const line =
      ratio > 2
        ? ascii
          ? "-"
          : "─"
        : ratio < 0.5
          ? ascii
            ? "|"
            : "│"
          : dx * dy > 0
            ? ascii
              ? "\\"
              : "╲"
            : ascii
              ? "/"
              : "╱";
    const steps = Math.max(Math.abs(dx), Math.abs(dy));
    for (let i = 0; i < steps; i++) {
      const x = Math.round(a.x1 + (dx * i) / steps);
      const y = Math.round(a.y1 + (dy * i) / steps);
      out.push({ x, y, ch: line });
    }
    const right = ascii ? ">" : "▶";
    const left = ascii ? "<" : "◀";
    const down = ascii ? "v" : "▼";
    const up = ascii ? "^" : "▲";
    const head = ratio >= 1 ? (dx >= 0 ? right : left) : dy >= 0 ? down : up;
    out.push({ x: a.x2, y: a.y2, ch: head });
    return out;
  }
  let x = a.x1;
  for (const ch of labelText(a)) {
    out.push({ x, y: a.y1, ch });
    x += Math.max(1, strWidth(ch));
  }
  return out;
}

function colorStyle(name: string, extra: Style = {}): Style {
  const c = ANNOTATION_COLORS.find((k) => k.name === name) ?? ANNOTATION_COLORS[0];
  return { fg: c.term, bold: true, ...extra };
}

/** Draw annotation mode: frozen screen, marks, draft, cursor, status line. */
export function drawAnnotate(c: Canvas, s: UiState, a: AnnotateState): void {
  const rows = Math.min(c.rows, a.rows);
  const cols = Math.min(c.cols, a.cols);
  for (let y = 0; y < rows; y++)
    for (let x = 0; x < cols; x++) c.cells[y][x] = [a.frozen[y][x][0], a.frozen[y][x][1]];
  const put = (x: number, y: number, ch: string, st: Style) => {
    if (x < 0 || y < 0 || x >= cols || y >= rows - 1) return;
    c.text(x, y, ch, st, 1);
  };
  a.items.forEach((m, i) => {
    const st = colorStyle(m.color, i === a.selected ? { underline: true } : {});
    for (const cell of annotationCells(m, s.ascii)) put(cell.x, cell.y, cell.ch, st);
  });
  const color = ANNOTATION_COLORS[a.color].name;
  // Draft from the keyboard anchor or a mouse drag.
  const from = a.drag ? { x: a.drag.x1, y: a.drag.y1 } : a.anchor;
  const to = a.drag ? { x: a.drag.x2, y: a.drag.y2 } : a.cursor;
  if (from && a.tool !== "label") {
    const draft: Annotation = { kind: a.tool, x1: from.x, y1: from.y, x2: to.x, y2: to.y, color };
    for (const cell of annotationCells(draft, s.ascii))
      put(
        cell.x,
        cell.y,
        a.tool === "rect" ? (s.ascii ? ":" : "░") : cell.ch,
        colorStyle(color, { bold: false }),
      );
  }
  if (a.label) {
    const draft: Annotation = {
      kind: "label",
      x1: a.label.x,
      y1: a.label.y,
      x2: a.label.x,
      y2: a.label.y,
      n: a.label.n,
      text: a.label.text,
      color,
    };
    for (const cell of annotationCells(draft, s.ascii)) put(cell.x, cell.y, cell.ch, colorStyle(color));
  }
  // Keyboard cursor: the cell shown inverse.
  if (!a.label && a.cursor.y < rows - 1) {
    const cell = c.cells[a.cursor.y]?.[a.cursor.x];
    if (cell)
      c.text(a.cursor.x, a.cursor.y, cell[1] === "" ? " " : cell[1], { inverse: true, bold: true }, 1);
  }
  // Status line.
  const y = rows - 1;
  c.fill(0, y, cols, 1, S.statusAccent);
  // Key names come from the active keymap (the app puts them in keyHints).
  const key = (action: string) => s.keyHints.find((h) => h.action === action)?.keys[0] ?? "?";
  let line: string;
  if (a.confirmDiscard)
    line = ` Discard ${a.items.length} annotation${a.items.length === 1 ? "" : "s"}? y = discard, n = keep drawing`;
  else if (a.label)
    line = ` Label [${a.label.n}]: ${a.label.text}█   ${key("annotate-save")} = place, ${key("annotate-discard")} = cancel`;
  else {
    // Most needed first: a narrow terminal cuts the tail.
    const step = a.anchor ? "finish" : a.tool === "label" ? "place label" : "start";
    const tools = ["annotate-rect", "annotate-arrow", "annotate-label"].map(key).join("/");
    const rest = s.keyHints
      .filter(
        (h) =>
          h.action &&
          !["annotate-mark", "annotate-rect", "annotate-arrow", "annotate-label"].includes(h.action),
      )
      .map((h) => `${h.keys[0]}: ${h.action === "annotate-color" ? color : h.label}`);
    line = ` ${a.tool.toUpperCase()} (${tools}) · ${key("annotate-mark")}: ${step} · ${rest.join(" · ")}`;
    if (a.message) line = `${line} · ${a.message}`;
  }
  c.text(0, y, truncate(line, cols), S.statusAccent);
}
