/**
 * Headless blessed harness: a real blessed screen on fake streams (PassThrough input, a
 * writable output with `columns`/`rows`), the real App and the store's change feed. Tests
 * type bytes, emit `resize`, and read blessed's own cell grid (`screen.lines`).
 */
import { PassThrough, Writable } from "node:stream";
import { loadKeymap } from "../../src/app/keymap.js";
import { type Session, startSession } from "../../src/app/run.js";
import type { Tracker } from "../../src/index.js";

/** A fake TTY output: collects bytes, exposes a size. */
export class FakeOutput extends Writable {
  columns: number;
  rows: number;
  isTTY = true;
  data = "";
  constructor(cols: number, rows: number) {
    super();
    this.columns = cols;
    this.rows = rows;
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.data += chunk.toString();
    cb();
  }
  /** Change the size and tell listeners (as a SIGWINCH would). */
  resize(cols: number, rows: number): void {
    this.columns = cols;
    this.rows = rows;
    this.emit("resize");
  }
}

/** A live headless terminal session. */
export interface Headless {
  session: Session;
  input: PassThrough;
  output: FakeOutput;
  /** Type raw bytes (keys) and wait until they were handled and drawn. */
  type(bytes: string): Promise<void>;
  /** blessed's cell grid as text rows (what the terminal shows). */
  screen(): string;
  /** Wait until `pred(screen())` holds (polling every 5 ms), or throw with the screen. */
  waitFor(pred: (s: string) => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const open: Headless[] = [];

/** Close every headless session still open (afterEach). */
export async function closeAll(): Promise<void> {
  while (open.length) await open.pop()?.close();
}

/** Let queued setImmediate/timers (render coalescing, blessed key parsing) run. */
export function settle(ms = 0): Promise<void> {
  return new Promise((r) => setTimeout(() => setImmediate(r), ms));
}

/** Start a headless session on `tracker` at cols×rows. */
export function headless(
  tracker: Tracker,
  cols: number,
  rows: number,
  opts: {
    env?: NodeJS.ProcessEnv;
    watch?: boolean;
    mouse?: boolean;
    now?: () => number;
    screenshotDir?: string;
    rootLabel?: string;
    warmMinItems?: number;
  } = {},
): Headless {
  const input = new PassThrough();
  const output = new FakeOutput(cols, rows);
  const env = opts.env ?? { TERM: "xterm-256color", LANG: "C.UTF-8" };
  const session = startSession({
    tracker,
    keymap: loadKeymap(null),
    input,
    output,
    env,
    mouse: opts.mouse ?? true,
    poll: false,
    readOnly: false,
    persistPrefs: false,
    watch: opts.watch,
    now: opts.now,
    screenshotDir: opts.screenshotDir,
    rootLabel: opts.rootLabel,
    warmMinItems: opts.warmMinItems,
  });
  const h: Headless = {
    session,
    input,
    output,
    async type(bytes) {
      input.write(bytes);
      await settle();
      await session.idle();
      await settle();
    },
    screen() {
      return session.term.screenText();
    },
    async waitFor(pred, what, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        if (pred(h.screen())) return;
        await settle(5);
      }
      throw new Error(`timed out waiting for ${what}; screen:\n${h.screen()}`);
    },
    async close() {
      await session.close();
    },
  };
  open.push(h);
  return h;
}
