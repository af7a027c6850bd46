/**
 * Colours and glyphs of the TUI. Two glyph sets: Unicode (single-cell symbols that all
 * modern terminals draw one cell wide) and ASCII (for TERM=linux / non-UTF-8 locales).
 */
import type { Style } from "./canvas.js";

/** Glyphs used by the chrome (never emoji: their width differs between terminals). */
export interface Glyphs {
  unread: string;
  frozen: string;
  vline: string;
  hline: string;
  selected: string;
  blocker: string;
  dependent: string;
  transitive: string;
  blocksPill: string;
  blockedPill: string;
  conflict: string;
  live: string;
  check: string;
  star: string;
  ellipsis: string;
  treeOpen: string;
  treeBranch: string;
  treeLast: string;
  treePipe: string;
}

export const UNICODE_GLYPHS: Glyphs = {
  unread: "●",
  frozen: "❄",
  vline: "│",
  hline: "─",
  selected: "▶",
  blocker: "↑",
  dependent: "↓",
  transitive: "·",
  blocksPill: "→",
  blockedPill: "←",
  conflict: "⚠",
  live: "●",
  check: "X",
  star: "★",
  ellipsis: "…",
  treeOpen: "▼",
  treeBranch: "├──",
  treeLast: "└──",
  treePipe: "│  ",
};

export const ASCII_GLYPHS: Glyphs = {
  unread: "*",
  frozen: "F",
  vline: "|",
  hline: "-",
  selected: ">",
  blocker: "^",
  dependent: "v",
  transitive: ".",
  blocksPill: ">",
  blockedPill: "<",
  conflict: "!",
  live: "*",
  check: "X",
  star: "*",
  ellipsis: "~",
  treeOpen: "v",
  treeBranch: "|--",
  treeLast: "`--",
  treePipe: "|  ",
};

/** Palette indexes (basic 16 colours: understood by every supported terminal). */
export const C = {
  black: 0,
  red: 1,
  green: 2,
  yellow: 3,
  blue: 4,
  magenta: 5,
  cyan: 6,
  white: 7,
  gray: 8,
  brightRed: 9,
  brightGreen: 10,
  brightYellow: 11,
  brightBlue: 12,
  brightMagenta: 13,
  brightCyan: 14,
  brightWhite: 15,
} as const;

/** Named styles. */
export const S = {
  normal: {} as Style,
  header: { inverse: true, bold: true } as Style,
  footerKey: { bold: true, fg: C.cyan } as Style,
  footer: {} as Style,
  dim: { fg: C.gray } as Style,
  label: { bold: true } as Style,
  cursor: { inverse: true } as Style,
  cursorDim: { inverse: true, fg: C.gray } as Style,
  selected: { bold: true, fg: C.blue } as Style,
  blocker: { bold: true, fg: C.yellow } as Style,
  dependent: { bold: true, fg: C.green } as Style,
  transitiveBlocker: { fg: C.yellow } as Style,
  transitiveDependent: { fg: C.green } as Style,
  ghost: { fg: C.gray } as Style,
  unread: { fg: C.brightBlue, bold: true } as Style,
  frozen: { fg: C.cyan, bold: true } as Style,
  warn: { fg: C.yellow, bold: true } as Style,
  error: { fg: C.red, bold: true } as Style,
  ok: { fg: C.green } as Style,
  banner: { inverse: true, fg: C.yellow, bold: true } as Style,
  dialog: {} as Style,
  dialogBorder: { fg: C.cyan } as Style,
  dialogTitle: { bold: true, fg: C.cyan } as Style,
  input: { underline: true } as Style,
  inputFocus: { inverse: true } as Style,
  button: { inverse: true } as Style,
  hidden: { fg: C.gray } as Style,
  link: { underline: true } as Style,
  locked: { fg: C.magenta } as Style,
  /** Annotation mode's status line. */
  statusAccent: { inverse: true, fg: C.red, bold: true } as Style,
};
