/**
 * Display width and fitting of text in terminal cells.
 *
 * One width function for everything on screen (the adapter also teaches blessed's renderer
 * the same widths): East Asian Wide/Fullwidth and emoji-presentation characters take two
 * cells, combining marks none. Zero-width joiners and variation selectors are dropped from
 * displayed text so emoji sequences cannot make the terminal and this model disagree.
 */
import { sanitizeText } from "../store/text.js";

const WIDE: [number, number][] = [
  [0x1100, 0x115f],
  [0x231a, 0x231b],
  [0x2329, 0x232a],
  [0x23e9, 0x23ec],
  [0x23f0, 0x23f0],
  [0x23f3, 0x23f3],
  [0x25fd, 0x25fe],
  [0x2614, 0x2615],
  [0x2648, 0x2653],
  [0x267f, 0x267f],
  [0x2693, 0x2693],
  [0x26a1, 0x26a1],
  [0x26aa, 0x26ab],
  [0x26bd, 0x26be],
  [0x26c4, 0x26c5],
  [0x26ce, 0x26ce],
  [0x26d4, 0x26d4],
  [0x26ea, 0x26ea],
  [0x26f2, 0x26f3],
  [0x26f5, 0x26f5],
  [0x26fa, 0x26fa],
  [0x26fd, 0x26fd],
  [0x2705, 0x2705],
  [0x270a, 0x270b],
  [0x2728, 0x2728],
  [0x274c, 0x274c],
  [0x274e, 0x274e],
  [0x2753, 0x2755],
  [0x2757, 0x2757],
  [0x2795, 0x2797],
  [0x27b0, 0x27b0],
  [0x27bf, 0x27bf],
  [0x2b1b, 0x2b1c],
  [0x2b50, 0x2b50],
  [0x2b55, 0x2b55],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x16fe4],
  [0x17000, 0x18cff],
  [0x1b000, 0x1b2ff],
  [0x1f004, 0x1f004],
  [0x1f0cf, 0x1f0cf],
  [0x1f18e, 0x1f18e],
  [0x1f191, 0x1f19a],
  [0x1f200, 0x1f251],
  [0x1f300, 0x1f320],
  [0x1f32d, 0x1f335],
  [0x1f337, 0x1f37c],
  [0x1f37e, 0x1f393],
  [0x1f3a0, 0x1f3ca],
  [0x1f3cf, 0x1f3d3],
  [0x1f3e0, 0x1f3f0],
  [0x1f3f4, 0x1f3f4],
  [0x1f3f8, 0x1f43e],
  [0x1f440, 0x1f440],
  [0x1f442, 0x1f4fc],
  [0x1f4ff, 0x1f53d],
  [0x1f54b, 0x1f54e],
  [0x1f550, 0x1f567],
  [0x1f57a, 0x1f57a],
  [0x1f595, 0x1f596],
  [0x1f5a4, 0x1f5a4],
  [0x1f5fb, 0x1f64f],
  [0x1f680, 0x1f6c5],
  [0x1f6cc, 0x1f6cc],
  [0x1f6d0, 0x1f6d2],
  [0x1f6d5, 0x1f6d7],
  [0x1f6dc, 0x1f6df],
  [0x1f6eb, 0x1f6ec],
  [0x1f6f4, 0x1f6fc],
  [0x1f7e0, 0x1f7eb],
  [0x1f7f0, 0x1f7f0],
  [0x1f90c, 0x1f93a],
  [0x1f93c, 0x1f945],
  [0x1f947, 0x1f9ff],
  [0x1fa70, 0x1faff],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
];

const ZERO: [number, number][] = [
  [0x0300, 0x036f],
  [0x0483, 0x0489],
  [0x0591, 0x05bd],
  [0x05bf, 0x05bf],
  [0x05c1, 0x05c2],
  [0x05c4, 0x05c5],
  [0x05c7, 0x05c7],
  [0x0610, 0x061a],
  [0x064b, 0x065f],
  [0x0670, 0x0670],
  [0x06d6, 0x06dc],
  [0x06df, 0x06e4],
  [0x06e7, 0x06e8],
  [0x06ea, 0x06ed],
  [0x0900, 0x0902],
  [0x093a, 0x093a],
  [0x093c, 0x093c],
  [0x0941, 0x0948],
  [0x094d, 0x094d],
  [0x0951, 0x0957],
  [0x0e31, 0x0e31],
  [0x0e34, 0x0e3a],
  [0x0e47, 0x0e4e],
  [0x1ab0, 0x1aff],
  [0x1dc0, 0x1dff],
  [0x200b, 0x200f],
  [0x20d0, 0x20ff],
  [0xfe00, 0xfe0f],
  [0xfe20, 0xfe2f],
  [0x1f3fb, 0x1f3ff],
  [0xe0100, 0xe01ef],
];

function inRanges(cp: number, ranges: [number, number][]): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = ranges[mid];
    if (cp < a) hi = mid - 1;
    else if (cp > b) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Cells a code point takes: 0 (combining), 1 or 2 (wide / emoji). */
export function cpWidth(cp: number): number {
  if (cp < 0x300) return cp === 0 ? 0 : 1;
  if (inRanges(cp, ZERO)) return 0;
  return inRanges(cp, WIDE) ? 2 : 1;
}

/** Display width of a string (after `displayText`). */
export function strWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += cpWidth(ch.codePointAt(0)!);
  return w;
}

/**
 * Untrusted text prepared for display on one line: escape sequences and control characters
 * made visible (store sanitiser), ZWJ and variation selectors removed, newlines shown as ⏎.
 */
export function displayText(s: unknown, ascii = false): string {
  const str = typeof s === "string" ? s : s === null || s === undefined ? "" : String(s);
  let out = sanitizeText(str.replace(/\r?\n/g, ascii ? " | " : " ⏎ "), { multiline: false });
  out = out.replace(/\u200d|\ufe0e|\ufe0f/g, "");
  if (ascii) out = out.replace(/[^\x20-\x7e]/gu, "?");
  return out;
}

/** Multi-line untrusted text prepared for display (one entry per line). */
export function displayLines(s: unknown, ascii = false): string[] {
  const str = typeof s === "string" ? s : s === null || s === undefined ? "" : String(s);
  return str.split(/\r?\n/).map((l) => displayText(l, ascii));
}

/**
 * Cut a display string to at most `width` cells, adding `…` when cut (a wide character that
 * would straddle the edge is replaced by spaces).
 */
export function truncate(s: string, width: number, ellipsis = "…"): string {
  if (width <= 0) return "";
  if (strWidth(s) <= width) return s;
  const ew = strWidth(ellipsis);
  let out = "";
  let w = 0;
  for (const ch of s) {
    const cw = cpWidth(ch.codePointAt(0)!);
    if (w + cw > width - ew) break;
    out += ch;
    w += cw;
  }
  return out + " ".repeat(Math.max(0, width - ew - w)) + ellipsis;
}

/** Pad (or cut) to exactly `width` cells. */
export function fitText(s: string, width: number, align: "left" | "right" = "left"): string {
  const t = truncate(s, width);
  const pad = " ".repeat(Math.max(0, width - strWidth(t)));
  return align === "left" ? t + pad : pad + t;
}

/** Word-wrap a display string to `width` cells (long words are broken). */
export function wrap(s: string, width: number): string[] {
  if (width <= 0) return [];
  if (strWidth(s) <= width) return [s];
  const out: string[] = [];
  let line = "";
  let lw = 0;
  const push = () => {
    out.push(line.replace(/ +$/, ""));
    line = "";
    lw = 0;
  };
  for (const word of s.split(/( +)/)) {
    if (word === "") continue;
    const ww = strWidth(word);
    if (lw + ww <= width) {
      line += word;
      lw += ww;
      continue;
    }
    if (/^ +$/.test(word)) {
      push();
      continue;
    }
    if (lw > 0) push();
    if (ww <= width) {
      line = word;
      lw = ww;
      continue;
    }
    for (const ch of word) {
      const cw = cpWidth(ch.codePointAt(0)!);
      if (lw + cw > width) push();
      line += ch;
      lw += cw;
    }
  }
  if (line !== "" || out.length === 0) push();
  return out;
}

/** Screenshot references in a message: `[screenshot: path]` or a bare `…/screenshots/x.png`. */
export const SCREENSHOT_REF = /\[screenshot: ([^\]\n]+)\]|(\S*screenshots\/[^\s\]]+\.(?:svg|png))/g;

/** Paths of the screenshots a list of messages refers to, in order. */
export function screenshotRefs(messages: readonly string[]): string[] {
  const out: string[] = [];
  for (const m of messages) for (const x of m.matchAll(SCREENSHOT_REF)) out.push((x[1] ?? x[2]).trim());
  return out;
}

/** A message with each screenshot reference shown as `[screenshot: <file name>]`. */
export function shortenScreenshotRefs(msg: string): string {
  return msg.replace(SCREENSHOT_REF, (_m, a?: string, b?: string) => {
    const p = (a ?? b ?? "").trim();
    return `[screenshot: ${p.split("/").pop()}]`;
  });
}
