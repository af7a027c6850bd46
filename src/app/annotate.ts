/**
 * Screenshot and annotation (closing tui.md §5's gaps): `S` saves the exact screen as SVG
 * and PNG (never overwriting), then opens annotation mode over the frozen screen. Marks —
 * rectangle, arrow, numbered label — are drawn with the mouse (drag / click) or entirely
 * from the keyboard (move the cursor, space to anchor, space to finish), so it works over
 * SSH without mouse reporting. Undo/redo follow drawing order; the selected mark can be
 * nudged; a few colours. Enter writes the annotated SVG + PNG beside the original plus a
 * JSON sidecar, copies the path (OSC 52), and offers to attach it to the selected item as a
 * discussion entry written through the store. Esc discards (asking when there are marks).
 */
import fs from "node:fs";
import path from "node:path";
import type { Canvas } from "../views/canvas.js";
import { ANNOTATION_COLORS, type Annotation, type AnnotateState, type Dialog } from "../views/types.js";
import { resolveKey } from "./keymap.js";
import type { App } from "./app.js";
import { annotationOverlay, frameSvg, svgToPng } from "./export.js";
import { SUBMITS } from "./flows.js";
import { screenshotDir, screenshotName } from "./screenshot.js";

/** Sidecar format version. */
export const SIDECAR_VERSION = 1;

/** What a saved screenshot consists of. */
export interface SavedShot {
  dir: string;
  base: string;
  svg: string;
  png: string | null;
  /** Why the PNG is missing (renderer unavailable), if it is. */
  pngError?: string;
}

/** Write `data` to a new file (never overwrite: O_EXCL). */
function writeNew(file: string, data: string | Buffer): void {
  fs.writeFileSync(file, data, { flag: "wx", mode: 0o644 });
}

/** A base name not used yet in `dir` (`name`, `name-2`, `name-3`…). */
function freeBase(dir: string, base: string): string {
  let b = base;
  for (
    let n = 2;
    fs.existsSync(path.join(dir, `${b}.svg`)) || fs.existsSync(path.join(dir, `${b}-annotated.svg`));
    n++
  )
    b = `${base}-${n}`;
  return b;
}

/**
 * Save a frame as `<base>.svg` and `<base>.png` in the screenshot directory (tui.md §5.1;
 * fallback to a per-user temp dir when the repository is not writable).
 */
export async function saveShot(frame: Canvas, dir: string, baseName: string): Promise<SavedShot> {
  const base = freeBase(dir, baseName);
  const svgText = frameSvg(frame, undefined, base);
  const svg = path.join(dir, `${base}.svg`);
  writeNew(svg, svgText);
  const r = await svgToPng(svgText);
  if ("png" in r) {
    const png = path.join(dir, `${base}.png`);
    writeNew(png, r.png);
    return { dir, base, svg, png };
  }
  return { dir, base, svg, png: null, pngError: r.error };
}

/** Capture the current screen, save it, and enter annotation mode. */
export async function captureAndAnnotate(app: App, opts: { dir?: string } = {}): Promise<SavedShot> {
  const s = app.state;
  const frame = app.frame();
  const dir = opts.dir ?? screenshotDir(app);
  const shot = await saveShot(frame, dir, screenshotName(s.selectedId, new Date(app.deps.now())));
  const frozen = frame.cells.map((row) => row.map((c) => [c[0], c[1]] as [number, string]));
  const a: AnnotateState = {
    frozen,
    cols: frame.cols,
    rows: frame.rows,
    file: shot.svg,
    base: shot.base,
    dir: shot.dir,
    itemId: s.selectedId,
    tool: "rect",
    color: 0,
    items: [],
    redo: [],
    selected: null,
    cursor: { x: Math.floor(frame.cols / 2), y: Math.floor(frame.rows / 2) },
    anchor: null,
    drag: null,
    label: null,
    confirmDiscard: false,
    nextLabel: 1,
    message: `Saved ${path.basename(shot.svg)}${shot.png ? " + .png" : ""}`,
  };
  app.toast(`Screenshot saved: ${shot.svg}${shot.pngError ? ` (PNG not written: ${shot.pngError})` : ""}`);
  app.set({ ...app.state, annotate: a, help: { open: false, scroll: 0 } });
  return shot;
}

function update(app: App, a: AnnotateState): void {
  app.set({ ...app.state, annotate: a });
}

function clampCell(a: AnnotateState, x: number, y: number): { x: number; y: number } {
  return { x: Math.max(0, Math.min(a.cols - 1, x)), y: Math.max(0, Math.min(a.rows - 2, y)) };
}

function colorName(a: AnnotateState): string {
  return ANNOTATION_COLORS[a.color].name;
}

/** Add a mark (clears redo, selects it). */
function addMark(a: AnnotateState, m: Annotation): AnnotateState {
  const items = [...a.items, m];
  return { ...a, items, redo: [], selected: items.length - 1, anchor: null, drag: null, message: undefined };
}

/** A drag or anchor→cursor span big enough to be a mark (more than one cell somewhere). */
function bigEnough(x1: number, y1: number, x2: number, y2: number): boolean {
  return Math.abs(x2 - x1) >= 1 || Math.abs(y2 - y1) >= 1;
}

function finishSpan(a: AnnotateState, x1: number, y1: number, x2: number, y2: number): AnnotateState {
  if (a.tool === "label") return a;
  if (!bigEnough(x1, y1, x2, y2))
    return { ...a, anchor: null, drag: null, message: "Too small: drag or move at least one cell" };
  return addMark(a, { kind: a.tool, x1, y1, x2, y2, color: colorName(a) });
}

function startLabel(a: AnnotateState, x: number, y: number): AnnotateState {
  return { ...a, label: { x, y, n: a.nextLabel, text: "" }, anchor: null, drag: null, message: undefined };
}

/** Keys in annotation mode. @returns true when consumed */
export async function annotateKey(app: App, k: string, ch?: string): Promise<boolean> {
  let a = app.state.annotate;
  if (!a) return false;
  // Typing a label.
  if (a.label) {
    const l = a.label;
    const act = resolveKey(app.deps.keymap, ["annotate"], k);
    if (act === "annotate-save") {
      const m: Annotation = {
        kind: "label",
        x1: l.x,
        y1: l.y,
        x2: l.x,
        y2: l.y,
        n: l.n,
        text: l.text.trim(),
        color: colorName(a),
      };
      a = addMark({ ...a, label: null, nextLabel: a.nextLabel + 1 }, m);
      update(app, { ...a, tool: "rect" });
    } else if (act === "annotate-discard") update(app, { ...a, label: null, message: "Label cancelled" });
    else if (k === "backspace")
      update(app, { ...a, label: { ...l, text: Array.from(l.text).slice(0, -1).join("") } });
    else if (k === "space") update(app, { ...a, label: { ...l, text: `${l.text} ` } });
    else if (
      ch !== undefined &&
      ch.length >= 1 &&
      !k.startsWith("C-") &&
      !k.startsWith("M-") &&
      !/[\u0000-\u001f\u007f-\u009f]/.test(ch)
    )
      update(app, { ...a, label: { ...l, text: (l.text + ch).slice(0, 120) } });
    return true;
  }
  if (a.confirmDiscard) {
    if (k === "y" || k === "Y" || resolveKey(app.deps.keymap, ["annotate"], k) === "annotate-discard") {
      app.set({ ...app.state, annotate: null });
      app.toast(`Annotations discarded; the screenshot stays at ${a.file}`);
    } else update(app, { ...a, confirmDiscard: false, message: "Keep drawing" });
    return true;
  }
  const action = resolveKey(app.deps.keymap, ["annotate"], k);
  if (!action) return true; // nothing else is active in this mode
  const move = (dx: number, dy: number) =>
    update(app, { ...a!, cursor: clampCell(a!, a!.cursor.x + dx, a!.cursor.y + dy) });
  const nudge = (dx: number, dy: number) => {
    const i = a!.selected ?? a!.items.length - 1;
    const m = a!.items[i];
    if (!m) return update(app, { ...a!, message: "Nothing to nudge" });
    const items = [...a!.items];
    items[i] = { ...m, x1: m.x1 + dx, y1: m.y1 + dy, x2: m.x2 + dx, y2: m.y2 + dy };
    update(app, { ...a!, items, selected: i });
  };
  switch (action) {
    case "annotate-rect":
    case "annotate-arrow":
    case "annotate-label": {
      const tool = action.slice(9) as AnnotateState["tool"];
      update(app, { ...a, tool, anchor: null, message: undefined });
      return true;
    }
    case "annotate-left":
      move(-1, 0);
      return true;
    case "annotate-right":
      move(1, 0);
      return true;
    case "annotate-up":
      move(0, -1);
      return true;
    case "annotate-down":
      move(0, 1);
      return true;
    case "annotate-left-fast":
      move(-8, 0);
      return true;
    case "annotate-right-fast":
      move(8, 0);
      return true;
    case "annotate-up-fast":
      move(0, -4);
      return true;
    case "annotate-down-fast":
      move(0, 4);
      return true;
    case "annotate-mark":
      if (a.tool === "label") update(app, startLabel(a, a.cursor.x, a.cursor.y));
      else if (!a.anchor)
        update(app, { ...a, anchor: { ...a.cursor }, message: "Move to the other end, then space" });
      else update(app, finishSpan(a, a.anchor.x, a.anchor.y, a.cursor.x, a.cursor.y));
      return true;
    case "annotate-undo": {
      if (a.anchor) return (update(app, { ...a, anchor: null, message: "Cancelled" }), true);
      const last = a.items.at(-1);
      if (!last) return (update(app, { ...a, message: "Nothing to undo" }), true);
      const items = a.items.slice(0, -1);
      update(app, {
        ...a,
        items,
        redo: [...a.redo, last],
        selected: items.length ? items.length - 1 : null,
        message: `Undid ${last.kind}`,
      });
      return true;
    }
    case "annotate-redo": {
      const m = a.redo.at(-1);
      if (!m) return (update(app, { ...a, message: "Nothing to redo" }), true);
      const items = [...a.items, m];
      update(app, {
        ...a,
        items,
        redo: a.redo.slice(0, -1),
        selected: items.length - 1,
        message: `Redid ${m.kind}`,
      });
      return true;
    }
    case "annotate-select-next":
    case "annotate-select-prev": {
      if (!a.items.length) return true;
      const d = action.endsWith("next") ? 1 : -1;
      const cur = a.selected ?? a.items.length - 1;
      update(app, { ...a, selected: (cur + d + a.items.length) % a.items.length });
      return true;
    }
    case "annotate-nudge-left":
      nudge(-1, 0);
      return true;
    case "annotate-nudge-right":
      nudge(1, 0);
      return true;
    case "annotate-nudge-up":
      nudge(0, -1);
      return true;
    case "annotate-nudge-down":
      nudge(0, 1);
      return true;
    case "annotate-color": {
      const color = (a.color + 1) % ANNOTATION_COLORS.length;
      // The colour applies to new marks and recolours the selected one.
      const items = [...a.items];
      if (a.selected !== null && items[a.selected])
        items[a.selected] = { ...items[a.selected], color: ANNOTATION_COLORS[color].name };
      update(app, { ...a, color, items });
      return true;
    }
    case "annotate-delete": {
      if (a.selected === null || !a.items[a.selected])
        return (update(app, { ...a, message: "Nothing selected" }), true);
      const gone = a.items[a.selected];
      const items = a.items.filter((_, i) => i !== a!.selected);
      update(app, { ...a, items, redo: [...a.redo, gone], selected: items.length ? items.length - 1 : null });
      return true;
    }
    case "annotate-save":
      await saveAnnotated(app);
      return true;
    case "annotate-discard":
      if (a.anchor) update(app, { ...a, anchor: null, message: "Cancelled" });
      else if (a.items.length) update(app, { ...a, confirmDiscard: true });
      else {
        app.set({ ...app.state, annotate: null });
        app.toast(`Screenshot kept without annotations: ${a.file}`);
      }
      return true;
    default:
      return true;
  }
}

/** Mouse in annotation mode: drag draws rectangles and arrows, a click places a label. */
export function annotateMouse(app: App, ev: { action: string; x: number; y: number }): void {
  const a = app.state.annotate;
  if (!a || a.label || a.confirmDiscard) return;
  const p = clampCell(a, ev.x, ev.y);
  if (ev.action === "down" || ev.action === "click") {
    if (a.tool === "label") return update(app, startLabel({ ...a, cursor: p }, p.x, p.y));
    return update(app, { ...a, cursor: p, drag: { x1: p.x, y1: p.y, x2: p.x, y2: p.y }, anchor: null });
  }
  if (!a.drag) return;
  if (ev.action === "move") return update(app, { ...a, cursor: p, drag: { ...a.drag, x2: p.x, y2: p.y } });
  if (ev.action === "up") update(app, finishSpan({ ...a, cursor: p }, a.drag.x1, a.drag.y1, p.x, p.y));
}

/** The sidecar document (cell coordinates, texts, colours, files). */
export function sidecar(a: AnnotateState, files: { svg: string; png: string | null }, createdAt: string) {
  return {
    version: SIDECAR_VERSION,
    created_at: createdAt,
    item: a.itemId,
    screen: { cols: a.cols, rows: a.rows },
    original: path.basename(a.file),
    annotated_svg: path.basename(files.svg),
    annotated_png: files.png ? path.basename(files.png) : null,
    annotations: a.items.map((m) => ({
      kind: m.kind,
      x1: m.x1,
      y1: m.y1,
      x2: m.x2,
      y2: m.y2,
      ...(m.kind === "label" ? { n: m.n, text: m.text ?? "" } : {}),
      color: m.color,
    })),
  };
}

/** Path shown in messages: relative to the repository when inside it. */
function displayPath(app: App, file: string): string {
  const repo = path.dirname(app.tracker.paths.root);
  const rel = path.relative(repo, file);
  return rel.startsWith("..") || path.isAbsolute(rel) ? file : rel;
}

/** The discussion message attaching a screenshot (names the path, summarises labels). */
export function attachMessage(pathShown: string, items: readonly Annotation[]): string {
  const labels = items.filter((m) => m.kind === "label").map((m) => `[${m.n}] ${m.text ?? ""}`.trim());
  const marks = items.length;
  return `[screenshot: ${pathShown}] ${marks} mark${marks === 1 ? "" : "s"}${labels.length ? `: ${labels.join("; ")}` : ""}`;
}

/** Enter: write annotated SVG/PNG and the sidecar, copy the path, offer to attach. */
export async function saveAnnotated(app: App): Promise<void> {
  const a = app.state.annotate;
  if (!a) return;
  if (a.items.length === 0) {
    app.set({ ...app.state, annotate: null });
    app.toast(`Screenshot saved (no annotations): ${a.file}`);
    await copyPath(app, a.file);
    return;
  }
  const frame = { cols: a.cols, rows: a.rows, cells: a.frozen } as unknown as Canvas;
  const svgText = frameSvg(frame, annotationOverlay(a.items), `${a.base} (annotated)`);
  const svg = path.join(a.dir, `${a.base}-annotated.svg`);
  let png: string | null = null;
  let pngError: string | undefined;
  try {
    writeNew(svg, svgText);
    const r = await svgToPng(svgText);
    if ("png" in r) {
      png = path.join(a.dir, `${a.base}-annotated.png`);
      writeNew(png, r.png);
    } else pngError = r.error;
    const side = sidecar(a, { svg, png }, new Date(app.deps.now()).toISOString());
    writeNew(path.join(a.dir, `${a.base}-annotated.json`), `${JSON.stringify(side, null, 2)}\n`);
  } catch (e) {
    update(app, { ...a, message: `Could not save: ${(e as Error).message}` });
    app.toast(`Could not save the annotated screenshot: ${(e as Error).message}`, "error");
    return;
  }
  app.set({ ...app.state, annotate: null });
  const main = png ?? svg;
  app.toast(`Annotated screenshot saved: ${main}${pngError ? ` (PNG not written: ${pngError})` : ""}`);
  await copyPath(app, main);
  if (a.itemId && app.state.byId.has(a.itemId) && !app.state.readOnly) {
    const it = app.state.byId.get(a.itemId)!;
    const d: Dialog = {
      id: "attach-shot",
      kind: "form",
      title: `Attach to: ${it.title}`,
      lines: [
        "Appends this message to the item's discussion (through the store).",
        "Skip keeps the files only.",
      ],
      fields: [
        {
          name: "message",
          label: "Message",
          kind: "multiline",
          value: attachMessage(displayPath(app, main), a.items),
          caret: 0,
        },
      ],
      focus: 1,
      buttons: [
        { id: "attach", label: "Attach" },
        { id: "cancel", label: "Skip" },
      ],
      itemId: a.itemId,
    };
    app.openDialog(d);
  }
}

async function copyPath(app: App, file: string): Promise<void> {
  if (!app.deps.copy) return;
  try {
    const how = await app.deps.copy(file);
    app.toast(`Path copied (${how})`);
  } catch {
    /* the toast with the path is enough */
  }
}

SUBMITS.set("attach-shot", async (host, d, button) => {
  if (button !== "attach") return host.closeDialog();
  const msg = d.fields[0]?.value ?? "";
  if (msg.trim() === "") {
    host.openDialog({ ...d, error: "Message is empty: type something or Skip" });
    return;
  }
  try {
    await host.tracker.discuss(d.itemId!, msg);
    host.closeDialog();
    host.reload();
    host.toast(`Screenshot attached to ${d.itemId}`);
    host.set(host.state);
  } catch (e) {
    host.toast((e as Error).message, "error");
    host.openDialog({ ...d, error: (e as Error).message });
  }
});
