/**
 * Modal dialogs sized to the terminal (not a fixed 60 columns, tui.md §10.2 #21): forms with
 * text, multi-line, select and checkbox fields, confirmations, choosers and lists. When the
 * content is taller than the screen the body scrolls to keep the focused field visible, so
 * the buttons stay reachable at compact sizes.
 */
import type { Canvas, Style } from "./canvas.js";
import { cpWidth, displayText, fitText, strWidth, truncate } from "./text.js";
import { S } from "./theme.js";
import type { Dialog, DialogField, UiState } from "./types.js";

interface BodyLine {
  segs: [string, Style][];
  /** Focus index this line belongs to (field index, or -1). */
  owner: number;
}

/** Visual lines of a multi-line value with character wrapping, and the caret's position. */
export function wrapInput(
  value: string,
  width: number,
  caret: number,
): { lines: string[]; row: number; col: number } {
  const lines: string[] = [];
  let row = 0;
  let col = 0;
  let line = "";
  let w = 0;
  let i = 0;
  const chars = Array.from(value);
  let caretSet = false;
  for (const ch of chars) {
    if (i === caret) {
      row = lines.length;
      col = w;
      caretSet = true;
    }
    if (ch === "\n") {
      lines.push(line);
      line = "";
      w = 0;
    } else {
      const cw = Math.max(1, cpWidth(ch.codePointAt(0)!));
      if (w + cw > width) {
        lines.push(line);
        line = "";
        w = 0;
        if (i === caret) {
          row = lines.length;
          col = 0;
        }
      }
      line += ch;
      w += cw;
    }
    i += ch.length;
  }
  lines.push(line);
  if (!caretSet) {
    row = lines.length - 1;
    col = w;
  }
  return { lines, row, col };
}

function fieldLines(f: DialogField, focused: boolean, width: number, s: UiState): [string, Style][][] {
  const out: [string, Style][][] = [];
  const req = f.required ? " *" : "";
  if (f.kind !== "checkbox") out.push([[`${f.label}${req}`, focused ? S.dialogTitle : S.label]]);
  const inner = width;
  switch (f.kind) {
    case "readonly":
      for (const l of f.value.split("\n")) out.push([[truncate(displayText(l, s.ascii), inner), S.dim]]);
      break;
    case "checkbox":
      out.push([[`[${f.value === "true" ? "x" : " "}] ${f.label}`, focused ? S.inputFocus : S.normal]]);
      break;
    case "select": {
      const opt = f.options?.find((o) => o.value === f.value);
      const lab = opt ? `${opt.label}${opt.hint ? `  ${opt.hint}` : ""}` : f.value;
      const arrows = s.ascii ? ["<", ">"] : ["◀", "▶"];
      out.push([
        [
          fitText(`${arrows[0]} ${displayText(lab, s.ascii)} ${arrows[1]}`, inner),
          focused ? S.inputFocus : S.input,
        ],
      ]);
      break;
    }
    case "text": {
      const v = displayText(f.value, s.ascii);
      if (!focused) {
        out.push([
          [fitText(v === "" && f.placeholder ? f.placeholder : v, inner), v === "" ? S.dim : S.input],
        ]);
        break;
      }
      const caret = Math.min(f.caret ?? v.length, v.length);
      // Keep the caret visible in a long value.
      let start = 0;
      while (strWidth(v.slice(start, caret)) > inner - 1) start++;
      const before = v.slice(start, caret);
      const at = v.slice(caret, caret + 1) || " ";
      const after = v.slice(caret + 1);
      const room = inner - strWidth(before) - strWidth(at);
      out.push([
        [before, S.input],
        [at, S.inputFocus],
        [
          truncate(after, Math.max(0, room)) +
            " ".repeat(Math.max(0, room - strWidth(truncate(after, Math.max(0, room))))),
          S.input,
        ],
      ]);
      break;
    }
    case "multiline": {
      const value = f.value.replace(/\t/g, " ");
      const { lines, row, col } = wrapInput(
        value,
        inner - 1,
        Math.min(f.caret ?? value.length, value.length),
      );
      const height = Math.max(3, Math.min(8, lines.length + 1));
      let top = f.scroll ?? 0;
      if (row < top) top = row;
      if (row >= top + height) top = row - height + 1;
      for (let k = 0; k < height; k++) {
        const l = displayText(lines[top + k] ?? "", s.ascii);
        if (focused && top + k === row) {
          const before = Array.from(l).slice(0, col).join("");
          const at =
            Array.from(l)
              .slice(col, col + 1)
              .join("") || " ";
          const after = Array.from(l)
            .slice(col + 1)
            .join("");
          out.push([
            [before, S.input],
            [at, S.inputFocus],
            [fitText(after, Math.max(0, inner - strWidth(before) - strWidth(at))), S.input],
          ]);
        } else out.push([[fitText(l, inner), lines[top + k] === undefined && k > 0 ? S.normal : S.input]]);
      }
      if (!focused && f.value === "" && f.placeholder) out[1] = [[fitText(f.placeholder, inner), S.dim]];
      break;
    }
  }
  if (f.error) out.push([[truncate(`! ${f.error}`, inner), S.error]]);
  else if (f.help && focused) out.push([[truncate(f.help, inner), S.dim]]);
  return out;
}

/** Draw a dialog over the screen. */
export function drawDialog(c: Canvas, s: UiState, d: Dialog): void {
  const w = Math.min(s.cols, Math.max(Math.min(30, s.cols), Math.min(s.cols - 2, 76)));
  const inner = w - 4;
  const body: BodyLine[] = [];
  // The banner (item changed on disk) and the error stay visible above and below the
  // scrolling body: they are what the human must not miss.
  const stickyMax = Math.max(1, Math.floor((s.rows - 8) / 4));
  const banner = d.banner ? wrapText(d.banner, inner).slice(0, stickyMax) : [];
  const errLines = d.error ? wrapText(d.error, inner).slice(0, stickyMax) : [];
  for (const l of d.lines ?? [])
    for (const wl of wrapText(displayText(l, s.ascii), inner))
      body.push({ segs: [[wl, S.normal]], owner: -1 });
  if (body.length && d.fields.length) body.push({ segs: [], owner: -1 });
  d.fields.forEach((f, i) => {
    for (const segs of fieldLines(f, d.focus === i, inner, s)) body.push({ segs, owner: i });
    // Checkbox lists stay dense; other fields get a blank line after them.
    const next = d.fields[i + 1];
    if (!(f.kind === "checkbox" && next?.kind === "checkbox")) body.push({ segs: [], owner: i });
  });
  if (
    (d.kind === "choose" || d.kind === "list") &&
    d.data &&
    Array.isArray((d.data as { options?: unknown[] }).options)
  ) {
    const opts = (d.data as { options: { label: string; hint?: string }[] }).options;
    opts.forEach((o, i) => {
      const cur = d.cursor === i;
      body.push({
        segs: [
          [
            fitText(
              `${cur ? "> " : "  "}${displayText(o.label, s.ascii)}${o.hint ? `  ${displayText(o.hint, s.ascii)}` : ""}`,
              inner,
            ),
            cur ? S.inputFocus : S.normal,
          ],
        ],
        owner: 1000 + i,
      });
    });
  }
  const buttons: [string, Style][] = [];
  d.buttons.forEach((b, i) => {
    const focused = d.focus === d.fields.length + i;
    buttons.push([`[ ${b.label} ]`, focused ? S.button : S.label], ["  ", S.normal]);
  });
  // Height: border + banner + body + error + buttons + border.
  const maxBody = Math.max(1, s.rows - 2 - 4 - banner.length - errLines.length);
  let start = 0;
  if (body.length > maxBody) {
    const focusOwner = d.kind === "choose" || d.kind === "list" ? 1000 + (d.cursor ?? 0) : d.focus;
    const first = body.findIndex((l) => l.owner === focusOwner);
    const last = body.length - 1 - [...body].reverse().findIndex((l) => l.owner === focusOwner);
    // Scroll as little as possible from the top: the dialog's own lines stay in view until
    // the focused field needs the room.
    if (first >= 0) start = last < maxBody ? 0 : Math.min(first, last - maxBody + 1);
    else start = body.length - maxBody;
  }
  const shown = body.slice(start, start + maxBody);
  const h = banner.length + shown.length + errLines.length + 4;
  const x0 = Math.max(0, Math.floor((s.cols - w) / 2));
  const y0 = Math.max(0, Math.floor((s.rows - h) / 2));
  c.fill(x0, y0, w, h);
  const g = s.ascii
    ? { tl: "+", tr: "+", bl: "+", br: "+", h: "-", v: "|" }
    : { tl: "┏", tr: "┓", bl: "┗", br: "┛", h: "━", v: "┃" };
  c.text(x0, y0, g.tl + g.h.repeat(w - 2) + g.tr, S.dialogBorder);
  for (let y = y0 + 1; y < y0 + h - 1; y++) {
    c.text(x0, y, g.v, S.dialogBorder);
    c.text(x0 + w - 1, y, g.v, S.dialogBorder);
  }
  c.text(x0, y0 + h - 1, g.bl + g.h.repeat(w - 2) + g.br, S.dialogBorder);
  const title = ` ${truncate(displayText(d.title, s.ascii), w - 6)} `;
  c.text(x0 + Math.max(1, Math.floor((w - strWidth(title)) / 2)), y0, title, S.dialogTitle);
  banner.forEach((l, k) => c.text(x0 + 2, y0 + 1 + k, l, S.warn, inner));
  const by = y0 + 1 + banner.length;
  shown.forEach((l, k) => {
    let x = x0 + 2;
    for (const [t, st] of l.segs) x = c.text(x, by + k, t, st, x0 + 2 + inner - x);
  });
  errLines.forEach((l, k) => c.text(x0 + 2, by + shown.length + k, l, S.error, inner));
  if (start > 0) c.text(x0 + w - 2, by, s.ascii ? "^" : "▲", S.dim);
  if (start + maxBody < body.length) c.text(x0 + w - 2, by + shown.length - 1, s.ascii ? "v" : "▼", S.dim);
  let bx = x0 + 2;
  for (const [t, st] of buttons) bx = c.text(bx, y0 + h - 2, t, st, x0 + w - 2 - bx);
}

function wrapText(t: string, width: number): string[] {
  const out: string[] = [];
  for (const para of t.split("\n")) {
    let line = "";
    for (const word of para.split(" ")) {
      if (strWidth(line) + strWidth(word) + (line ? 1 : 0) > width && line) {
        out.push(line);
        line = "";
      }
      line = line ? `${line} ${word}` : word;
      while (strWidth(line) > width) {
        out.push(truncate(line, width, ""));
        line = Array.from(line).slice(width).join("");
      }
    }
    out.push(line);
  }
  return out;
}
