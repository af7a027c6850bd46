/**
 * The terminal adapter: the only module that imports blessed. It owns the blessed screen
 * (terminal I/O, terminfo, alternate screen, raw input, mouse, resize, diff rendering) and
 * exposes a tiny surface to the app: draw a cell grid, receive keys/mouse/resize, write raw
 * escape sequences (OSC 52), destroy.
 *
 * Views compute their own cells with a modern width table (views/text.ts); blessed's own
 * 2015 table calls emoji one cell wide, so its `charWidth` is taught the same widths before a
 * screen is created — otherwise its renderer and the terminal disagree about columns.
 */
import { createRequire } from "node:module";
import path from "node:path";
import type { Canvas } from "../views/canvas.js";
import { cpWidth } from "../views/text.js";
import { normalizeKey } from "./keymap.js";

const require = createRequire(import.meta.url);
// Pinned exact version (package.json); types from @types/blessed. Only the screen widget is
// loaded (its module pulls in what it needs): the whole package's ~45 modules cost ~10 ms
// more of every start, for widgets the adapter never uses.
const Screen = require("blessed/lib/widgets/screen") as new (
  opts: import("blessed").Widgets.IScreenOptions,
) => import("blessed").Widgets.Screen;
const unicode = require("blessed/lib/unicode") as { charWidth: (s: string, i?: number) => number };

unicode.charWidth = (str: string | number, i = 0): number => {
  const cp = typeof str === "number" ? str : str.codePointAt(i);
  if (cp === undefined) return 0;
  if (cp >= 0xdc00 && cp <= 0xdfff) return 0; // low surrogate of a pair already counted
  return cpWidth(cp);
};

/**
 * blessed's Tput turns every one of the terminfo's ~960 capabilities into a JavaScript
 * function (generated source + `new Function`) when a screen is made: ~25 ms of every TUI
 * start, for the few dozen capabilities a session uses. Capabilities with a string value
 * are compiled on first call instead (same function, same output; blessed 0.1.81 calls
 * `info.methods[key]` only through wrappers that forward `this` and the params array).
 */
type TputCompile = (this: unknown, info: unknown, key: string, str: unknown) => unknown;
const tputProto = (require("blessed/lib/tput") as { prototype: { _compile: TputCompile } }).prototype;
/** blessed's own (eager) capability compiler; exported for the equivalence test only. */
export const compileCapability = tputProto._compile;
tputProto._compile = function (this: unknown, info: unknown, key: string, str: unknown): unknown {
  // (empty strings, files read at compile time, non-strings and the `stringify` mode whose
  // result is a string: as blessed does them)
  if (
    typeof str !== "string" ||
    str === "" ||
    key === "init_file" ||
    key === "reset_file" ||
    (this as { options?: { stringify?: boolean } }).options?.stringify
  )
    return compileCapability.call(this, info, key, str);
  let compiled: ((...a: unknown[]) => unknown) | undefined;
  const compile = () => compileCapability.call(this, info, key, str) as (...a: unknown[]) => unknown;
  return function (this: unknown, ...args: unknown[]): unknown {
    compiled ??= compile();
    return compiled.apply(this, args);
  };
};

/** Terminfo bundled with blessed, chosen from TERM (pinned: same in CI and over SSH). */
export function pinnedTerminfo(term: string | undefined): string {
  const dir = path.join(path.dirname(require.resolve("blessed/package.json")), "usr");
  const t = (term ?? "").toLowerCase();
  if (t === "linux") return path.join(dir, "linux");
  if (t.includes("256color") || t.includes("truecolor") || t.includes("direct"))
    return path.join(dir, "xterm-256color");
  return path.join(dir, "xterm");
}

/** Options of a terminal. */
export interface TerminalOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  terminfo: string;
  mouse: boolean;
  /** UTF-8 output (false: the views draw ASCII only). */
  unicode?: boolean;
}

/** A key event normalised for the keymap: `key` canonical name, `ch` the typed text. */
export interface KeyEvent {
  key: string;
  ch?: string;
}

/** Mouse event in cell coordinates (`click` is a button press). */
export interface MouseEvent {
  action: "click" | "up" | "move" | "wheelup" | "wheeldown";
  x: number;
  y: number;
}

interface BlessedKey {
  name?: string;
  full?: string;
  ctrl?: boolean;
  meta?: boolean;
  shift?: boolean;
  sequence?: string;
}

/** Normalise a blessed keypress into the keymap's key names. */
export function normaliseKeypress(ch: string | undefined, key: BlessedKey | undefined): KeyEvent | null {
  const name = key?.name;
  if (key?.ctrl && name) return { key: normalizeKey(`C-${name}`) };
  if (key?.meta && name) return { key: normalizeKey(`M-${name}`) };
  // blessed reports "\r" twice: first re-emitted as `enter`, then as `return`; "\n" arrives
  // as `linefeed` (C-j). Only `enter` counts, so one Enter is one key.
  if (name === "return") return null;
  if (name === "enter") return { key: "enter", ch: "\n" };
  if (name === "space" || ch === " ") return { key: "space", ch: " " };
  if (name === "tab") return { key: key?.shift ? "S-tab" : "tab" };
  if (name === "escape") return { key: "escape" };
  if (
    ch &&
    ch.length >= 1 &&
    !/^[\x00-\x1f\x7f]/.test(ch) &&
    (!name || name.length === 1 || /^[^a-z]/.test(name))
  ) {
    return { key: Array.from(ch).length === 1 ? ch : "text", ch };
  }
  if (name) return { key: normalizeKey(`${key?.shift && name.length > 1 ? "S-" : ""}${name}`) };
  return null;
}

/**
 * All mouse reports in a chunk of terminal input: SGR (`ESC [ < b ; x ; y M|m`, 1006) and
 * X10/UTF-8 (`ESC [ M b x y`, 1000/1005). Coordinates become 0-based cells.
 */
export function parseMouseReports(s: string): MouseEvent[] {
  const out: MouseEvent[] = [];
  const re = /\x1b\[<(\d+);(\d+);(\d+)([mM])|\x1b\[M([\s\S])([\s\S])([\s\S])/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    let b: number;
    let x: number;
    let y: number;
    let release: boolean;
    if (m[1] !== undefined) {
      b = Number(m[1]);
      x = Number(m[2]) - 1;
      y = Number(m[3]) - 1;
      release = m[4] === "m";
    } else {
      b = m[5].codePointAt(0)! - 32;
      x = m[6].codePointAt(0)! - 33;
      y = m[7].codePointAt(0)! - 33;
      release = (b & 3) === 3 && (b & 64) === 0 && (b & 32) === 0;
    }
    if (x < 0 || y < 0) continue;
    if (b & 64) {
      if (!release) out.push({ action: b & 1 ? "wheeldown" : "wheelup", x, y });
    } else if (release) out.push({ action: "up", x, y });
    else if (b & 32) out.push({ action: "move", x, y });
    else out.push({ action: "click", x, y });
  }
  return out;
}

/** A blessed-backed terminal surface. */
export class Terminal {
  readonly screen: import("blessed").Widgets.Screen;
  private destroyed = false;

  constructor(opts: TerminalOptions) {
    this.screen = new Screen({
      input: opts.input as NodeJS.ReadStream,
      output: opts.output as NodeJS.WriteStream,
      terminal: opts.terminfo,
      fullUnicode: true,
      warnings: false,
      smartCSR: true,
      autoPadding: false,
      dockBorders: false,
      sendFocus: false,
      title: "htrac",
      forceUnicode: opts.unicode !== false,
    } as import("blessed").Widgets.IScreenOptions);
    // Draw box characters as UTF-8 rather than through the terminal's alternate character
    // set (tmux, mosh and many SSH setups render ACS as letters).
    (this.screen.program as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true;
    this.screen.program.hideCursor();
    // Press/release, drag motion (1002) and SGR coordinates (1006, any width): enough for
    // clicks, the wheel and drawing annotations, without the noise of all-motion tracking.
    if (opts.mouse)
      (this.screen.program as unknown as { setMouse(o: object, on: boolean): void }).setMouse(
        { vt200Mouse: true, cellMotion: true, sgrMouse: true },
        true,
      );
  }

  /** Current size in cells. */
  get size(): { cols: number; rows: number } {
    return { cols: Number(this.screen.width), rows: Number(this.screen.height) };
  }

  /** Copy a frame into the screen's cell buffer and let blessed draw the differences. */
  draw(c: Canvas): void {
    if (this.destroyed) return;
    const lines = (this.screen as unknown as { lines: ([number, string][] & { dirty?: boolean })[] }).lines;
    const rows = Math.min(lines.length, c.rows);
    for (let y = 0; y < rows; y++) {
      const line = lines[y];
      const src = c.cells[y];
      const cols = Math.min(line.length, c.cols);
      let dirty = false;
      for (let x = 0; x < cols; x++) {
        const [a, ch] = src[x];
        const cell = line[x];
        const v = ch === "" ? " " : ch;
        if (cell[0] !== a || cell[1] !== v) {
          cell[0] = a;
          cell[1] = v;
          dirty = true;
        }
      }
      if (dirty) line.dirty = true;
    }
    this.screen.render();
  }

  /**
   * The cell grid blessed holds (what the terminal shows), as text rows without trailing
   * blanks. The cell after a wide character (blessed keeps a space there and never draws it)
   * is skipped, so the text reads as the terminal displays it.
   */
  screenText(): string {
    const lines = (this.screen as unknown as { lines: [number, string][][] }).lines;
    return lines
      .map((l) => {
        let out = "";
        for (let x = 0; x < l.length; x++) {
          const ch = l[x][1];
          out += ch;
          const cp = ch.codePointAt(0);
          if (cp !== undefined && cpWidth(cp) === 2) x++;
        }
        return out.replace(/ +$/, "");
      })
      .join("\n");
  }

  onKey(cb: (ev: KeyEvent) => void): void {
    this.screen.on("keypress", (ch: string | undefined, key: BlessedKey | undefined) => {
      const ev = normaliseKeypress(ch, key);
      if (ev) cb(ev);
    });
  }

  /**
   * Mouse events, parsed from the raw input: blessed reads only the first mouse report of
   * each input chunk (fast drags over SSH arrive several per chunk) and calls button-held
   * motion a press, which would break drags. (blessed also drops the key presses of a chunk
   * that holds a mouse report; terminals send those separately in practice.)
   */
  onMouse(cb: (ev: MouseEvent) => void): void {
    this.screen.program.on("data", (data: Buffer | string) => {
      const evs = parseMouseReports(data.toString());
      // blessed emits this chunk's keypresses after its 'data' event: report the mouse after
      // them, so typed keys and clicks keep their order.
      if (evs.length) process.nextTick(() => evs.forEach(cb));
    });
  }

  onResize(cb: (cols: number, rows: number) => void): void {
    this.screen.on("resize", () => cb(Number(this.screen.width), Number(this.screen.height)));
  }

  /**
   * Hand the terminal to another program (e.g. $EDITOR) while `fn` runs: leave the
   * alternate screen, show the cursor, stop mouse and raw input; restore and repaint after.
   */
  async suspend<T>(fn: () => Promise<T>): Promise<T> {
    // blessed's pause() queues its escape sequences (leave alternate screen, show cursor, mouse
    // off) in its output buffer and then silences the output, so they would be lost: write
    // them unbuffered.
    const program = this.screen.program as unknown as {
      useBuffer: boolean;
      flush(): void;
      pause(): () => void;
    };
    program.flush();
    const buffered = program.useBuffer;
    program.useBuffer = false;
    const resume = program.pause();
    program.useBuffer = buffered;
    try {
      return await fn();
    } finally {
      if (!this.destroyed) {
        resume();
        this.screen.program.hideCursor();
        this.screen.alloc();
        this.screen.render();
        this.onResume?.();
      }
    }
  }

  /** Called after `suspend` returns (the app redraws its frame). */
  onResume?: () => void;

  /** Write raw bytes to the terminal (OSC 52 clipboard). */
  writeRaw(s: string): void {
    if (!this.destroyed) this.screen.program.output.write(s);
  }

  /** Leave the alternate screen, show the cursor, disable mouse, release the terminal. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    try {
      this.screen.program.disableMouse();
      this.screen.program.showCursor();
    } catch {
      /* already gone */
    }
    this.screen.destroy();
  }
}
