/**
 * A cell grid the views draw into: `cells[y][x] = [attr, ch]`, the same shape as blessed's
 * `screen.lines`, so the adapter copies it verbatim and snapshot tests read it directly.
 * A wide character occupies its cell plus a filler cell holding "" (drawn as nothing).
 */
import { cpWidth, strWidth } from "./text.js";

/** Visual style of a cell run. Colours are terminal palette indexes 0–255. */
export interface Style {
  fg?: number;
  bg?: number;
  bold?: boolean;
  underline?: boolean;
  inverse?: boolean;
}

/** Default colour marker in blessed's attribute encoding. */
export const DEFAULT_COLOR = 0x1ff;

/** Encode a style like blessed: `(flags << 18) | (fg << 9) | bg`. */
export function encodeStyle(s: Style, color = true): number {
  const flags = (s.bold ? 1 : 0) | (s.underline ? 2 : 0) | (s.inverse ? 8 : 0);
  const fg = color && s.fg !== undefined ? s.fg : DEFAULT_COLOR;
  const bg = color && s.bg !== undefined ? s.bg : DEFAULT_COLOR;
  return (flags << 18) | (fg << 9) | bg;
}

/** Decode an attribute back to a style (for ANSI and SVG output). */
export function decodeAttr(
  attr: number,
): Required<Pick<Style, "bold" | "underline" | "inverse">> & { fg: number; bg: number } {
  const flags = attr >> 18;
  return {
    bold: (flags & 1) !== 0,
    underline: (flags & 2) !== 0,
    inverse: (flags & 8) !== 0,
    fg: (attr >> 9) & 0x1ff,
    bg: attr & 0x1ff,
  };
}

/** One cell: attribute and the characters shown there ("" for the right half of a wide character). */
export type Cell = [number, string];

/** ASCII stand-ins for the few non-ASCII glyphs views use outside the theme. */
const ASCII_FALLBACK: Readonly<Record<string, string>> = Object.freeze(
  Object.assign(Object.create(null), {
    "…": "~",
    "—": "-",
    "–": "-",
    "─": "-",
    "│": "|",
    "→": ">",
    "←": "<",
    "↑": "^",
    "↓": "v",
    "·": ".",
    "×": "x",
    "★": "*",
    "▼": "v",
    "▲": "^",
    "▶": ">",
    "●": "*",
    "○": "o",
    "❄": "F",
    "█": "_",
    "░": ":",
  }),
);

/** Bidirectional formatting characters (they reorder what the terminal shows). */
function isBidiControl(cp: number): boolean {
  return (
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069) ||
    cp === 0x200e ||
    cp === 0x200f ||
    cp === 0x061c
  );
}

/** A drawing surface of `cols × rows` cells. */
export class Canvas {
  readonly cells: Cell[][];
  constructor(
    readonly cols: number,
    readonly rows: number,
    readonly color = true,
    /** ASCII-only output (TERM=linux, non-UTF-8 locale): any other character is transliterated. */
    readonly ascii = false,
  ) {
    const blank = encodeStyle({});
    this.cells = Array.from({ length: rows }, () => Array.from({ length: cols }, () => [blank, " "] as Cell));
  }

  /** Blank every cell (default style, a space), so the canvas can draw the next frame. */
  reset(): this {
    const blank = encodeStyle({});
    for (const row of this.cells)
      for (const cell of row) {
        cell[0] = blank;
        cell[1] = " ";
      }
    return this;
  }

  attr(style: Style): number {
    return encodeStyle(style, this.color);
  }

  /**
   * Write display text at (x, y) clipped to `maxWidth` cells (default: to the right edge).
   * @returns the x after the text
   */
  text(x: number, y: number, s: string, style: Style = {}, maxWidth?: number): number {
    if (y < 0 || y >= this.rows) return x;
    const limit = Math.min(this.cols, maxWidth === undefined ? this.cols : x + maxWidth);
    const a = this.attr(style);
    const row = this.cells[y];
    for (let ch of s) {
      const cp = ch.codePointAt(0)!;
      // Last line of defence: a control or bidi-override character never reaches a cell (the
      // views sanitise untrusted text first; anything that slips through shows as U+FFFD).
      if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || isBidiControl(cp)) ch = this.ascii ? "?" : "\ufffd";
      const w = cpWidth(ch.codePointAt(0)!);
      if (w === 0) {
        if (x > 0 && x - 1 < limit) row[x - 1][1] += ch;
        continue;
      }
      if (x + w > limit) break;
      if (x >= 0) {
        // Cells are this canvas's own: written in place (a frame allocates no cells).
        const cell = row[x];
        if (this.ascii && ch > "\x7e") {
          cell[0] = a;
          cell[1] = ASCII_FALLBACK[ch] ?? "?";
          if (w === 2 && x + 1 < this.cols) {
            row[x + 1][0] = a;
            row[x + 1][1] = "?";
          }
        } else {
          cell[0] = a;
          cell[1] = ch;
          if (w === 2 && x + 1 < this.cols) {
            row[x + 1][0] = a;
            row[x + 1][1] = "";
          }
        }
      }
      x += w;
    }
    return x;
  }

  /** Fill a rectangle with a character and style. */
  fill(x: number, y: number, w: number, h: number, style: Style = {}, ch = " "): void {
    const a = this.attr(style);
    for (let yy = Math.max(0, y); yy < Math.min(this.rows, y + h); yy++) {
      const row = this.cells[yy];
      for (let xx = Math.max(0, x); xx < Math.min(this.cols, x + w); xx++) {
        row[xx][0] = a;
        row[xx][1] = ch;
      }
    }
  }

  /** Re-style a rectangle keeping its characters. */
  restyle(x: number, y: number, w: number, h: number, style: Style): void {
    const a = this.attr(style);
    for (let yy = Math.max(0, y); yy < Math.min(this.rows, y + h); yy++) {
      for (let xx = Math.max(0, x); xx < Math.min(this.cols, x + w); xx++) this.cells[yy][xx][0] = a;
    }
  }

  /** Plain text of the grid, one line per row, trailing spaces trimmed. */
  toText(): string {
    return this.cells
      .map((r) =>
        r
          .map((c) => c[1])
          .join("")
          .replace(/ +$/, ""),
      )
      .join("\n");
  }
}

/** Width of a string in cells (re-exported for views). */
export { strWidth };
