/**
 * Entry points of the terminal app: `runTui` (interactive, live) and `runSnapshot`
 * (headless render after keys, for CI and agents).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CliIo } from "../cli/io.js";
import type { Canvas } from "../views/canvas.js";
import { displayText, strWidth } from "../views/text.js";
import {
  generateTracker,
  holdHeapGrowth,
  holdYoungGeneration,
  type Item,
  type OpenOptions,
  openTracker,
  type Tracker,
  TrackerError,
  watchTracker,
} from "../index.js";
import { pinnedTerminfo, Terminal } from "./adapter.js";
import { App, CONFIG_READ_ONLY } from "./app.js";
import { copyToClipboard } from "./clipboard.js";
import { editInEditor } from "./editor.js";
import { frameAnsi, frameSvg, frameText } from "./export.js";
import { KeymapError, loadKeymap, normalizeKey, userKeymapPath } from "./keymap.js";
import { readOnlyTracker } from "./readonly.js";
import { prepareSearch, warmPipeline } from "./state.js";
import { peekHaystack, SEARCH_TEXT_KEY, searchText } from "../store/query.js";
import { captureAndAnnotate } from "./annotate.js";
import { openWithViewer } from "./screenshot.js";

/** Options of `htrac tui`. */
export interface RunTuiOptions {
  io: CliIo;
  trackerRoot?: string;
  demo: boolean;
  demoIfMissing: boolean;
  readOnly: boolean;
  mouse: boolean;
  poll: boolean;
}

/** Options of `htrac snapshot`. */
export interface SnapshotOptions {
  tracker?: Tracker;
  demo: boolean;
  cols: number;
  rows: number;
  keys: string;
  now?: number;
  format: "text" | "ansi" | "svg";
  env: NodeJS.ProcessEnv;
  /** Keymap file override (tests). */
  keymapFile?: string | null;
  /** Header label of the tracker (default: its path). */
  rootLabel?: string;
}

/** Generate the demo tracker in a temp directory. @returns its repo dir */
export function makeDemo(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "htrac-demo-"));
  generateTracker(dir, { items: 60, seed: 7, opsPerItem: 12 });
  return dir;
}

/** Whether to use ASCII glyphs (TERM=linux or a non-UTF-8 locale). */
export function wantAscii(env: NodeJS.ProcessEnv): boolean {
  const lang = env.LC_ALL || env.LC_CTYPE || env.LANG || "";
  return env.TERM === "linux" || env.HTRAC_ASCII === "1" || (lang !== "" && !/utf-?8/i.test(lang));
}

/** Split `--keys "f j j Enter"` into key events (single characters are typed text). */
export function parseKeys(keys: string): { key: string; ch?: string }[] {
  return keys
    .split(/\s+/)
    .filter((k) => k !== "")
    .map((tok) => {
      const key = normalizeKey(tok);
      if (Array.from(tok).length === 1) return { key, ch: tok };
      if (key === "space") return { key, ch: " " };
      return { key };
    });
}

/**
 * Render the TUI headlessly after the given keys; returns the screen in the chosen format.
 * Without `opts.tracker` it renders a demo tracker generated in a temp directory, removed
 * before returning.
 */
export async function runSnapshot(opts: SnapshotOptions): Promise<string> {
  if (opts.tracker) return snapshotOf(opts.tracker, opts);
  const demo = makeDemo();
  try {
    return await snapshotOf(openTracker(path.join(demo, ".agent"), { gitPeek: false }), opts);
  } finally {
    fs.rmSync(demo, { recursive: true, force: true });
  }
}

async function snapshotOf(tracker: Tracker, opts: SnapshotOptions): Promise<string> {
  const keymap = loadKeymap(opts.keymapFile === undefined ? userKeymapPath(opts.env) : opts.keymapFile);
  const fixed = opts.now;
  const app = new App({
    tracker: readOnlyTracker(tracker),
    keymap,
    now: () => fixed ?? Date.now(),
    cols: opts.cols,
    rows: opts.rows,
    color: !opts.env.NO_COLOR,
    ascii: wantAscii(opts.env),
    // (as a session shows it: read-only when opened on an invalid config)
    readOnly: tracker.configError !== null,
    readOnlyReason: tracker.configError ? CONFIG_READ_ONLY : undefined,
    persistPrefs: false,
    rootLabel: opts.rootLabel,
  });
  for (const k of parseKeys(opts.keys)) {
    await app.key(k.key, k.ch);
    await app.clustersReady(); // (the clusters view and the trend work in the background)
    await app.trendReady();
  }
  const c = app.frame();
  if (opts.format === "ansi") return frameAnsi(c);
  if (opts.format === "svg") return frameSvg(c);
  return frameText(c);
}

/**
 * The notice shown on a terminal while a tracker loads: `htrac: loading <root>…`, the root's
 * start cut (`…` + its end) so that the notice and a `12345 files read` count fit on one
 * line of `columns` (a wrapped line could not be erased with `\r`). Control characters in the
 * path are shown inert.
 */
export function loadingNotice(root: string, columns: number | undefined): string {
  const room = Math.max(8, (columns ?? 80) - strWidth("htrac: loading … 12345 files read") - 1);
  const shown = displayText(root);
  if (strWidth(shown) <= room) return `htrac: loading ${shown}…`;
  // The end of the path (what tells trackers apart), cut by display width.
  const chars = Array.from(shown);
  let tail = "";
  for (let i = chars.length - 1; i >= 0 && strWidth(chars[i] + tail) < room; i--) tail = chars[i] + tail;
  return `htrac: loading …${tail}…`;
}

/**
 * Items read from the warm-start cache that a session keeps in memory per tier (the least
 * recently read go back to the file: `OpenOptions.keepRevivedItems`). A human reads a few at a
 * time (a page of them comes in with one 64-item cache group, read again in ~1 ms when
 * needed); paging through a 10k-item list kept every item's text before (~60 MB more live
 * heap). bench:tui at 10k items, live heap after paging through everything: 2048 → 82 MB,
 * 1024 → 76 MB, 512 → 69 MB, unbounded → 120 MB.
 */
export const KEEP_REVIVED_ITEMS = 1024;

/** Run the interactive TUI. @returns the exit code */
export async function runTui(opts: RunTuiOptions): Promise<number> {
  // The whole session runs with a bounded young generation (younggen.ts: ~15 MB less RSS).
  const release = holdYoungGeneration({ env: opts.io.env });
  try {
    return await runHeldTui(opts);
  } finally {
    release();
  }
}

/** The TUI session itself (open or generate the tracker, run the app): see `runTui`. @returns the exit code */
async function runHeldTui(opts: RunTuiOptions): Promise<number> {
  const io = opts.io;
  let tracker: Tracker;
  let demoDir: string | null = null;
  const t0 = performance.now();
  // A big tracker takes a moment to load (~2 s at 10k items without a warm-start cache): say
  // so on a terminal, and erase the notice once the load has returned or failed.
  const notice = process.stderr.isTTY === true && !opts.demo;
  const open = (root: string | undefined, o: OpenOptions): Tracker => {
    if (!notice) return openTracker(root, o);
    const label = loadingNotice(root ?? io.cwd, process.stderr.columns);
    io.stderr(label);
    try {
      // (rewritten in place: one line, cut to the terminal's width, so `\r` can erase it)
      return openTracker(root, {
        ...o,
        onLoadProgress: (n) => io.stderr(`\r\x1b[2K${label} ${n} files read`),
      });
    } finally {
      io.stderr("\r\x1b[2K");
    }
  };
  try {
    if (opts.demo) {
      demoDir = makeDemo();
      tracker = openTracker(path.join(demoDir, ".agent"), { env: io.env });
    } else {
      try {
        tracker = open(opts.trackerRoot ? path.resolve(io.cwd, opts.trackerRoot) : undefined, {
          env: io.env,
          // An invalid config is shown in the session (read-only, defaults), not fatal.
          configFallback: true,
          // A first (cold) start shows its frame first and caches in the background.
          indexCacheWrite: "background",
          keepRevivedItems: KEEP_REVIVED_ITEMS,
        });
      } catch (e) {
        if (!(
          opts.demoIfMissing &&
          e instanceof TrackerError &&
          /no \.agent\/ directory found/.test(e.message)
        ))
          throw e;
        demoDir = makeDemo();
        io.stderr(`htrac: no tracker found here; opening a generated demo tracker at ${demoDir}\n`);
        tracker = openTracker(path.join(demoDir, ".agent"), { env: io.env });
      }
    }
  } catch (e) {
    // Same wording and exit codes as the CLI (cli.md §1.2): user errors (no tracker, not a
    // directory) as they are; anything else while opening is an initialisation failure.
    if (e instanceof TrackerError && e.exitCode === 1) {
      io.stderr(`error: ${e.message}\n`);
      return 1;
    }
    io.stderr(`error: failed to initialize tracker: ${(e as Error).message}\n`);
    return 2;
  }
  let keymap: ReturnType<typeof loadKeymap>;
  try {
    keymap = loadKeymap(userKeymapPath(io.env));
  } catch (e) {
    if (e instanceof KeymapError) {
      io.stderr(`error: keymap: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const counts = tracker.counts();
  const summary = `htrac: ${counts.canonical + counts.workspace + counts.stealth} items (${counts.canonical} canonical, ${counts.workspace} workspace, ${counts.stealth} stealth) loaded in ${((performance.now() - t0) / 1000).toFixed(2)}s`;
  io.stderr(`${summary}\n`);
  if (tracker.configError)
    io.stderr(`htrac: config invalid, the session is read-only: ${tracker.configError.message}\n`);
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    io.stderr("error: htrac tui needs a terminal (use 'htrac snapshot' for headless output)\n");
    return 2;
  }
  // Signal and crash handlers go in before the first frame reaches the terminal: a SIGTERM
  // arriving in between would otherwise kill the process with the terminal still raw.
  let session: Session | null = null;
  let quitEarly = false;
  const onSignal = () => {
    if (session) session.app.quit();
    else quitEarly = true;
  };
  const onCrash = (err: unknown) => {
    session?.term.destroy();
    process.stderr.write(`htrac: crashed: ${(err as Error)?.stack ?? err}\n`);
    process.exit(70);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  session = startSession({
    tracker,
    keymap,
    input: process.stdin,
    output: process.stdout,
    env: io.env,
    mouse: opts.mouse,
    poll: opts.poll,
    readOnly: opts.readOnly,
  });
  if (quitEarly) session.app.quit();
  // Fault injection for the terminal-restore tests: HTRAC_FAULT=crash-on-key:<key> throws an
  // uncaught error from the event loop when that key is pressed.
  const fault = /^crash-on-key:(.+)$/.exec(io.env.HTRAC_FAULT ?? "");
  if (fault) {
    session.term.onKey((ev) => {
      if (ev.key === fault[1])
        setImmediate(() => {
          throw new Error("injected fault (HTRAC_FAULT)");
        });
    });
  }
  await session.app.exited;
  await session.close();
  // The terminal is back; a first start's cache write (deferred past the first frame) ends
  // here if the session was shorter than it.
  await tracker.finishIndexCache();
  process.off("SIGTERM", onSignal);
  process.off("SIGHUP", onSignal);
  process.off("uncaughtException", onCrash);
  process.off("unhandledRejection", onCrash);
  io.stderr(`${summary}\n`);
  if (demoDir) io.stderr(`htrac: the demo tracker stays at ${demoDir}\n`);
  return 0;
}

/** Options of an interactive session on given streams. */
export interface SessionOptions {
  tracker: Tracker;
  keymap: ReturnType<typeof loadKeymap>;
  /** Terminal input (raw bytes); tests pass a PassThrough. */
  input: NodeJS.ReadableStream;
  /** Terminal output; tests pass a stream with `columns`/`rows` set. */
  output: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  mouse: boolean;
  poll: boolean;
  readOnly: boolean;
  /** Clock (ms since epoch), default Date.now. */
  now?: () => number;
  /** Persist preferences (default true). */
  persistPrefs?: boolean;
  /** Watch the files (default true). */
  watch?: boolean;
  /** Where screenshots go (default `.agent/screenshots`, or a per-user temp dir). */
  screenshotDir?: string;
  /** Header label of the tracker (default: its path). */
  rootLabel?: string;
  /** Items from which idle time dry-runs the filter and search pipeline (default 1000). */
  warmMinItems?: number;
}

/** A running TUI session: the blessed terminal, the app and the change feed. */
export interface Session {
  term: Terminal;
  app: App;
  /** Resolves when the change feed is watching (immediately without a watch). */
  ready: Promise<void>;
  /** Resolves when the current key queue has been handled. */
  idle(): Promise<void>;
  /** Idle dry-run steps of the pipeline done so far (`warmPipeline`; diagnostics). */
  warmSteps(): number;
  /** Whether the idle pass has made the search text of every item (diagnostics). */
  searchPrepared(): boolean;
  /** Stop watching, stop the clock tick and release the terminal (idempotent). */
  close(): Promise<void>;
}

/**
 * Wire a blessed terminal on the given streams to an App and the store's change feed:
 * keys are handled one at a time in order, renders are coalesced with setImmediate.
 */
export function startSession(opts: SessionOptions): Session {
  const ascii = wantAscii(opts.env);
  const term = new Terminal({
    input: opts.input,
    output: opts.output,
    terminfo: pinnedTerminfo(opts.env.TERM),
    mouse: opts.mouse,
    unicode: !ascii,
  });
  let closed = false;
  // A running session collects its old generation sooner (younggen.ts: 20–60 MB less RSS
  // at 10k items); the load before it (nearly all of it kept) runs with V8's own factor.
  const releaseGrowth = holdHeapGrowth({ env: opts.env });
  // `a` is created below; render only runs from setImmediate or after construction.
  // One canvas redrawn for every frame: the adapter copies it into blessed's grid at once.
  let canvas: Canvas | undefined;
  const render = () => {
    if (!closed) term.draw((canvas = a.frame(canvas)));
  };
  let pending = false;
  const requestRender = () => {
    if (pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      render();
    });
  };
  const size = term.size;
  // A tracker opened on an invalid config (defaults shown) is only read until the config is
  // valid again (CONFIG_READ_ONLY; the app then calls allowWrites).
  const configReadOnly = !opts.readOnly && opts.tracker.configError !== null;
  const readOnly = opts.readOnly || configReadOnly;
  let refusing = true;
  const a = new App({
    tracker: readOnly ? readOnlyTracker(opts.tracker, () => refusing) : opts.tracker,
    keymap: opts.keymap,
    now: opts.now ?? (() => Date.now()),
    cols: size.cols,
    rows: size.rows,
    color: !opts.env.NO_COLOR,
    ascii,
    readOnly,
    readOnlyReason: configReadOnly ? CONFIG_READ_ONLY : undefined,
    allowWrites: configReadOnly
      ? () => {
          refusing = false;
        }
      : undefined,
    requestRender,
    persistPrefs: opts.persistPrefs,
    rootLabel: opts.rootLabel,
    copy: (text) => copyToClipboard(text, (s) => term.writeRaw(s), opts.env),
    editor: (text) => editInEditor(text, opts.env, (fn) => term.suspend(fn)),
    screenshot: async (x) => {
      await captureAndAnnotate(x, { dir: opts.screenshotDir });
    },
    open: (file) => openWithViewer(file, opts.env),
  });
  const watcher =
    opts.watch === false
      ? null
      : watchTracker(opts.tracker, (ev) => a.onChanges(ev), {
          usePolling: opts.poll,
          onMode: (mode, reason) => a.setLive(mode, reason),
        });
  if (watcher) {
    a.setLive(watcher.mode);
    void watcher.ready.then(() => a.setLive(watcher.mode));
  }
  let chain = Promise.resolve();
  let touched = false; // a key or click came in: idle warm-up stops (see warmPipeline)
  term.onKey((ev) => {
    touched = true;
    chain = chain
      .then(() => a.key(ev.key, ev.ch))
      .catch((e) => a.toast(`Error: ${(e as Error).message}`, "error"));
  });
  // Mouse reports go through the same queue as keys: input is handled in arrival order.
  term.onMouse((ev) => {
    touched = true;
    chain = chain.then(() => a.mouse(ev)).catch((e) => a.toast(`Error: ${(e as Error).message}`, "error"));
  });
  term.onResize((cols, rows) => a.resize(cols, rows));
  term.onResume = () => render();
  const ticker = setInterval(() => a.tick(), 1000);
  render();
  // Prepare search text in idle slices of ~8 ms after the first frame, so the first `/`
  // keystroke on a big tracker does not pay for it; then, on a big tracker and until the
  // first key, dry-run the filter and search pipeline so the first toggles and searches do
  // not run cold (warmPipeline). The search texts of a warm start come from the warm-start
  // cache, where every cache write puts them (deriveOnSave): its items, drawn from summaries
  // (LazyItem), are then never read for it (at 10k items: ~60 ms of reads instead of ~450 ms
  // reviving every item plus ~350 ms making search texts, and ~60 MB less memory).
  const tracker = opts.tracker;
  tracker.deriveOnSave(SEARCH_TEXT_KEY, (it) => peekHaystack(it)?.all ?? searchText(it));
  const kept = (items: Item[]) => tracker.cachedTexts(items, SEARCH_TEXT_KEY);
  let warmAt = 0;
  let warmStep = 0;
  const warm = () => {
    if (closed) return;
    const items = a.state.items;
    if (warmAt < items.length) {
      const until = performance.now() + 8;
      do {
        const end = Math.min(items.length, warmAt + 32);
        prepareSearch(items, warmAt, end, kept);
        warmAt = end;
      } while (warmAt < items.length && performance.now() < until);
      if (warmAt >= items.length) tracker.saveMissedTexts();
    } else if (touched || items.length < (opts.warmMinItems ?? 1000) || !warmPipeline(a.state, warmStep++))
      return;
    setTimeout(warm, 5).unref?.();
  };
  setTimeout(warm, 50).unref?.();
  return {
    term,
    app: a,
    ready: watcher ? watcher.ready : Promise.resolve(),
    idle: () => chain,
    warmSteps: () => warmStep,
    searchPrepared: () => warmAt > 0 && warmAt >= a.state.items.length,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(ticker);
      a.stopBackground();
      await watcher?.close();
      term.destroy();
      releaseGrowth();
    },
  };
}
