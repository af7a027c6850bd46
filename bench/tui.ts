/**
 * `npm run bench:tui` on the generated 10k-item tracker (`--items N` to change):
 * - process start → first full frame of `htrac tui` in a real pseudo-terminal (node-pty,
 *   screen read with @xterm/headless), and that process's RSS at the first frame and once the
 *   idle work after it is done (median of 3; target ≤ 1.2 s, ≤ 200 MB), also when 40 changed
 *   op files make the session rewrite the warm-start cache in the background;
 * - in a fresh process (bench/tui-probe): keystroke → frame p50/p95 for cursor moves, filter
 *   toggles and search typing (target p95 ≤ 16 ms), external append → frame p95 (≤ 100 ms).
 * Figures are printed, never asserted (machines are noisy).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { benchTracker, child, median, ROOT, report, touchOpFiles, trackerInfo } from "./common.js";

const require = createRequire(import.meta.url);
const CLI = path.join(ROOT, "dist", "bin", "htrac.js");
const n = Number(
  process.argv.includes("--items") ? process.argv[process.argv.indexOf("--items") + 1] : 10000,
);
const repo = benchTracker(n);

/** Start time and resident sets of one `htrac tui` run. */
interface Start {
  ms: number;
  /** RSS (MB) at the first full frame. */
  rssMB: number;
  /** RSS (MB) 3 s later, when the idle work (search text) is done: the session's steady state. */
  rssIdleMB: number;
}

/** VmRSS of a process, MB. */
function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

/**
 * Spawn `htrac tui` in a pty; time until the header shows every item, then read its RSS at
 * that frame and 3 s later.
 */
async function startToFrame(extraEnv: NodeJS.ProcessEnv): Promise<Start> {
  const pty = require("node-pty") as typeof import("node-pty");
  const { Terminal } = require("@xterm/headless") as typeof import("@xterm/headless");
  const term = new Terminal({ cols: 160, rows: 45, allowProposedApi: true });
  const t0 = performance.now();
  const p = pty.spawn(process.execPath, [CLI, "tui", "--tracker-root", repo, "--read-only"], {
    name: "xterm-256color",
    cols: 160,
    rows: 45,
    cwd: repo,
    env: { ...process.env, TERM: "xterm-256color", LANG: "C.UTF-8", ...extraEnv } as Record<string, string>,
  });
  let pending = Promise.resolve();
  p.onData((d) => {
    pending = pending.then(() => new Promise<void>((r) => term.write(d, r)));
  });
  const want = `${n}/${n} items`;
  let ms = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 2));
    await pending;
    const line = term.buffer.active.getLine(0)?.translateToString(true) ?? "";
    const row5 = term.buffer.active.getLine(5)?.translateToString(true) ?? "";
    if (line.includes(want) && row5.trim() !== "") {
      ms = performance.now() - t0;
      break;
    }
    if (performance.now() - t0 > 30000) throw new Error("no first frame within 30 s");
  }
  const rssMB = rssOf(p.pid);
  await new Promise((r) => setTimeout(r, 3000));
  const rssIdleMB = rssOf(p.pid);
  p.write("q");
  await new Promise<void>((r) => p.onExit(() => r()));
  term.dispose();
  return { ms, rssMB, rssIdleMB };
}

const cold: Start[] = [];
for (let i = 0; i < 3; i++) cold.push(await startToFrame({ HTRAC_NO_CACHE: "1" }));
await startToFrame({}); // writes the warm-start cache when missing
const starts: Start[] = [];
for (let i = 0; i < 3; i++) starts.push(await startToFrame({}));
// An active tracker: 40 op files changed since the cache was written (their mtimes here), so
// the session re-reads them and rewrites the cache in the background after the first frame.
const rewrites: Start[] = [];
for (let i = 0; i < 2; i++) {
  touchOpFiles(repo);
  rewrites.push(await startToFrame({}));
}
const probe = child<{
  items: number;
  firstFrameMs: number;
  cursor: { p50: number; p95: number; max: number; n: number };
  toggles: { p50: number; p95: number; max: number; n: number };
  typing: { p50: number; p95: number; max: number; n: number };
  append: { p50: number; p95: number; max: number; n: number };
  rssMB: number;
  rssIdleMB: number;
  clustersMs: number;
  rssClustersMB: number;
  heapClustersMB: number;
  paging: { p50: number; p95: number; max: number; n: number };
  rssPagedMB: number;
  heapPagedMB: number;
  heapMB: number;
}>("tui-probe.js", [repo], ["--expose-gc"]);
// This host's speed in the same run (the machines are noisy): a bare node start, median of 5.
const bare: number[] = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  spawnSync(process.execPath, ["-e", "0"], { stdio: "ignore" });
  bare.push(performance.now() - t0);
}
const f = (x: { p50: number; p95: number; n: number }) => `${x.p50.toFixed(2)} / ${x.p95.toFixed(2)} ms`;
/** A start's time, also as a multiple of this run's bare node start (less host-dependent). */
const startMs = (ms: number) => `${ms.toFixed(0)} ms (${(ms / median(bare)).toFixed(1)}× node)`;
report(`bench:tui — generated ${n} items, ${(trackerInfo(repo).bytes / 1e6).toFixed(1)} MB, 160×45`, [
  ["host: node -e 0", `${median(bare).toFixed(0)} ms`],
  ["start → first full frame, cold (pty)", startMs(median(cold.map((s) => s.ms))), "≤ 1.2 s"],
  ["start → first full frame, warm cache (pty)", startMs(median(starts.map((s) => s.ms))), "≤ 1.2 s"],
  [
    "RSS after first frame cold / warm (pty)",
    `${Math.max(...cold.map((s) => s.rssMB))} / ${Math.max(...starts.map((s) => s.rssMB))} MB`,
    "≤ 200 MB",
  ],
  [
    "RSS after the idle work cold / warm (pty, +3 s)",
    `${Math.max(...cold.map((s) => s.rssIdleMB))} / ${Math.max(...starts.map((s) => s.rssIdleMB))} MB`,
    "≤ 200 MB",
  ],
  [
    "RSS after the idle work, warm + cache rewrite (pty)",
    `${Math.max(...rewrites.map((s) => s.rssIdleMB))} MB`,
    "≤ 200 MB",
  ],
  ["load → first frame (in process)", `${probe.firstFrameMs} ms`],
  [`cursor key → frame p50/p95 (n=${probe.cursor.n})`, f(probe.cursor), "p95 ≤ 16 ms"],
  [`filter toggle → frame p50/p95 (n=${probe.toggles.n})`, f(probe.toggles), "p95 ≤ 16 ms"],
  [`search typing → frame p50/p95 (n=${probe.typing.n})`, f(probe.typing), "p95 ≤ 16 ms"],
  [`external append → frame p50/p95 (n=${probe.append.n})`, f(probe.append), "p95 ≤ 100 ms"],
  ["RSS after the idle work (in process)", `${probe.rssIdleMB} MB`, "≤ 200 MB"],
  [
    "clusters view: open → clusters shown, RSS, heap after GC",
    `${probe.clustersMs} ms, ${probe.rssClustersMB} MB, ${probe.heapClustersMB} MB`,
    "RSS ≤ 200 MB",
  ],
  [
    `paging through every item and back: key → frame p50/p95 (n=${probe.paging.n}), RSS, heap after GC`,
    `${f(probe.paging)}, ${probe.rssPagedMB} MB, ${probe.heapPagedMB} MB`,
    "RSS ≤ 200 MB",
  ],
  ["heap after GC at the end (in process)", `${probe.heapMB} MB`],
  ["RSS at the end (in process)", `${probe.rssMB} MB`],
]);
