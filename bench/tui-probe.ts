/**
 * In-process measurements of bench:tui on one tracker (fresh process). argv: <repo>
 * A real blessed screen on a null output at 160×45 (wide: the most cells), the real App and
 * the store's change feed. Each figure is key → state → frame → blessed diff render.
 * Prints one JSON line.
 */
import fs from "node:fs";
import path from "node:path";
import { PassThrough, Writable } from "node:stream";
import { loadKeymap } from "../src/app/keymap.js";
import { KEEP_REVIVED_ITEMS, startSession } from "../src/app/run.js";
import { holdYoungGeneration, openTracker } from "../src/index.js";
import { discussOpBytes, percentile } from "./common.js";

const [repo] = process.argv.slice(2);

class NullOut extends Writable {
  columns = 160;
  rows = 45;
  isTTY = true;
  bytes = 0;
  override _write(chunk: Buffer | string, _e: BufferEncoding, cb: () => void): void {
    this.bytes += chunk.length;
    cb();
  }
}

const t0 = performance.now();
// As `htrac tui` runs (runTui): a bounded young generation for the whole session (the
// session itself collects its old generation sooner while it runs: startSession).
holdYoungGeneration();
// As `htrac tui` opens it (a cache rewrite goes in the background, after the first frame).
const tracker = openTracker(path.join(repo, ".agent"), {
  gitPeek: false,
  createDirs: false,
  indexCacheWrite: "background",
  keepRevivedItems: KEEP_REVIVED_ITEMS,
});
const output = new NullOut();
const session = startSession({
  tracker,
  keymap: loadKeymap(null),
  input: new PassThrough(),
  output,
  env: { TERM: "xterm-256color", LANG: "C.UTF-8" },
  mouse: false,
  poll: false,
  readOnly: true,
  persistPrefs: false,
});
const { app, term } = session;
// As the session renders: one canvas redrawn for every frame.
let canvas = app.frame();
term.draw(canvas);
const firstFrameMs = performance.now() - t0;
await session.ready;
// A human's first key comes later than this; idle work after the first frame (search text)
// finishes meanwhile.
await new Promise((r) => setTimeout(r, 2000));
// (and the idle dry runs of the pipeline have ended: this probe's keys bypass the terminal,
// so they would not stop them as a human's first key does)
// (they start once the search text of every item is made: on a warm start, read from the
// cache file; on a cold one, made from the items, ~2 s of idle slices at 10k items)
for (let i = 0; session.warmSteps() === 0 && i < 200; i++) await new Promise((r) => setTimeout(r, 50));
for (let last = -1, i = 0; session.warmSteps() !== last && i < 100; i++) {
  last = session.warmSteps();
  await new Promise((r) => setTimeout(r, 50));
}
// Resident set once the idle work is done: what a session holds while a human reads.
const rssIdleMB = Math.round(process.memoryUsage().rss / 1048576);

async function timeKeys(keys: [string, string?][]): Promise<number[]> {
  const out: number[] = [];
  for (const [k, ch] of keys) {
    const s = performance.now();
    await app.key(k, ch);
    term.draw((canvas = app.frame(canvas)));
    // blessed writes the frame's bytes from a setImmediate: the frame has reached the
    // terminal only after it ran (and skipping it would pile up every frame's output).
    await new Promise((r) => setImmediate(r));
    out.push(performance.now() - s);
  }
  return out;
}

const stat = (xs: number[]) => ({
  p50: +percentile(xs, 50).toFixed(2),
  p95: +percentile(xs, 95).toFixed(2),
  max: +Math.max(...xs).toFixed(2),
  n: xs.length,
});

// Warm-up, then cursor moves down and back up (scrolling the table through the list).
await timeKeys(Array.from({ length: 50 }, () => ["j", "j"] as [string, string]));
const cursor = await timeKeys([
  ...Array.from({ length: 300 }, () => ["j", "j"] as [string, string]),
  ...Array.from({ length: 100 }, () => ["pagedown"] as [string]),
  ...Array.from({ length: 100 }, () => ["pageup"] as [string]),
  ...Array.from({ length: 300 }, () => ["k", "k"] as [string, string]),
]);
// Filter toggles: panel open, toggle entries 1..4 on and off.
await timeKeys([["f", "f"]]);
const toggles = await timeKeys(
  Array.from({ length: 80 }, (_, i) => [String((i % 4) + 1), String((i % 4) + 1)] as [string, string]),
);
await timeKeys([["f", "f"]]);
// Search typing: type a query character by character, clear, repeat.
const words = ["parser", "status:todo", "tag:perf p<=1", "cache layer"];
const typing: number[] = [];
for (let r = 0; r < 3; r++) {
  for (const w of words) {
    await timeKeys([["/", "/"]]);
    typing.push(
      ...(await timeKeys(
        Array.from(w).map((c) => (c === " " ? ["space", " "] : [c, c]) as [string, string]),
      )),
    );
    await timeKeys([["escape"]]);
  }
}

// External append → frame: another writer appends an op; the watcher re-reads the new
// bytes, the app applies it and a frame is drawn.
// (summaries: `items()` would read every item's text, which the session itself never needs)
const items = tracker.summaries(["workspace"]);
const appendMs: number[] = [];
const originals = new Map<string, Buffer>();
for (let i = 0; i < 40; i++) {
  const it = items[(i * 97) % items.length];
  const file = tracker.opFile(it.id);
  if (!originals.has(file)) originals.set(file, fs.readFileSync(file));
  const before = app.state.byId.get(it.id)!.discussion.length;
  const bytes = discussOpBytes(900000 + i, (0xc000 + i).toString(16), `bench append ${i}`);
  const s = performance.now();
  fs.appendFileSync(file, bytes);
  for (;;) {
    await new Promise((r) => setImmediate(r));
    if ((app.state.byId.get(it.id)?.discussion.length ?? 0) > before) break;
    if (performance.now() - s > 5000) throw new Error("append not seen within 5 s");
  }
  term.draw((canvas = app.frame(canvas)));
  await new Promise((r) => setImmediate(r));
  appendMs.push(performance.now() - s);
  await new Promise((r) => setTimeout(r, 20));
}
// The clusters view (`v` three times: ready, inbox, clusters): every item's text is read for
// one pass (not kept), clustered in slices between frames.
const gc = (globalThis as { gc?: () => void }).gc;
await timeKeys([
  ["v", "v"],
  ["v", "v"],
]);
const c0 = performance.now();
await timeKeys([["v", "v"]]);
await app.clustersReady();
term.draw((canvas = app.frame(canvas)));
const clustersMs = performance.now() - c0;
const rssClustersMB = Math.round(process.memoryUsage().rss / 1048576);
gc?.();
const heapClustersMB = Math.round(process.memoryUsage().heapUsed / 1048576);
await timeKeys([["v", "v"]]);
// A human paging through the whole list (and back): every item's detail is read once; the
// session keeps only the most recently read ones (KEEP_REVIVED_ITEMS).
const pages = Math.ceil(tracker.summaries().length / 30);
const paging = await timeKeys(
  Array.from({ length: 2 * pages }, (_, i) => [i < pages ? "pagedown" : "pageup"] as [string]),
);
const rssPagedMB = Math.round(process.memoryUsage().rss / 1048576);
gc?.();
const heapPagedMB = Math.round(process.memoryUsage().heapUsed / 1048576);
await session.close();
gc?.(); // with --expose-gc: live heap, not garbage
// Put the bench tracker back as it was (these files are the bench's own fixture).
for (const [f, b] of originals) fs.writeFileSync(f, b);
console.log(
  JSON.stringify({
    items: tracker.summaries().length,
    firstFrameMs: +firstFrameMs.toFixed(0),
    cursor: stat(cursor),
    toggles: stat(toggles),
    typing: stat(typing),
    append: stat(appendMs),
    rssIdleMB,
    clustersMs: +clustersMs.toFixed(0),
    rssClustersMB,
    heapClustersMB,
    paging: stat(paging),
    rssPagedMB,
    heapPagedMB,
    heapMB: Math.round(process.memoryUsage().heapUsed / 1048576),
    rssMB: Math.round(process.memoryUsage().rss / 1048576),
  }),
);
