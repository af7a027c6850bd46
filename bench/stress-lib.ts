/**
 * The stress harness (issue: reliability under load): a temp git repository with a tracker,
 * the TUI running headlessly with its change feed (real blessed screen on a null output),
 * N processes of the built CLI each running W mixed writes (`htrac batch -`: add, discuss,
 * tag add/remove, title updates) on overlapping items, and one process switching the
 * working tree between two branches with `git checkout` meanwhile.
 *
 * Every write carries a unique marker, so afterwards each op file is parsed and every
 * marker counted: present exactly once, lost, or duplicated. The TUI's item state is
 * compared with a fresh load, and the latency from a write's completion (its output line
 * reaching the driver) to the TUI state containing it is measured.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough, Writable } from "node:stream";
import { loadKeymap } from "../src/app/keymap.js";
import { startSession } from "../src/app/run.js";
import { type Item, openTracker, parseOpLog } from "../src/index.js";
import { prng } from "../src/store/generate.js";
import { percentile } from "./common.js";

/** Options of a stress run. */
export interface StressOptions {
  /** Writer processes (default 8). */
  procs?: number;
  /** Writes per process (default 500). */
  writes?: number;
  /** Run the git checkout process (default true). */
  checkout?: boolean;
  /** Items committed on both branches before the run (default 24). */
  seedItems?: number;
  /** The built CLI entry (dist/bin/htrac.js). */
  cli: string;
  /** Progress lines (default none). */
  log?: (s: string) => void;
}

/** Figures of a stress run. */
export interface StressReport {
  procs: number;
  writesPerProc: number;
  attempted: number;
  /** Writes the CLI reported as failed (stderr FAIL lines). */
  failedWrites: number;
  presentOnce: number;
  lost: number;
  duplicated: number;
  /** Items that fail to compile in a fresh load. */
  failingItems: number;
  /** TUI item state equals a fresh load (after the feed settled). */
  stateEqual: boolean;
  /** Milliseconds until the TUI state equalled a fresh load after the last write. */
  settleMs: number;
  /** Write → TUI-state latencies (ms). */
  latency: { n: number; p50: number; p95: number; max: number };
  checkouts: number;
  wallMs: number;
  /** First few lost/duplicated markers (diagnostics). */
  examples: string[];
}

class NullOut extends Writable {
  columns = 120;
  rows = 40;
  isTTY = true;
  override _write(_c: Buffer | string, _e: BufferEncoding, cb: () => void): void {
    cb();
  }
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Markers an op carries (what the writers put in it). */
function markersOf(op: Record<string, unknown>): string[] {
  const out: string[] = [];
  const add = (x: unknown) => {
    if (typeof x === "string" && /^(s\d+-\d+|m s\d+-\d+|t s\d+-\d+)$/.test(x)) out.push(x);
  };
  if (op.op === "create") add((op.data as Record<string, unknown> | undefined)?.title);
  if (op.op === "discuss") add(op.message);
  if (op.op === "update") {
    const set = op.set as Record<string, unknown> | undefined;
    add(set?.title);
    const a = (op.add as Record<string, unknown> | undefined)?.tags;
    const r = (op.remove as Record<string, unknown> | undefined)?.tags;
    if (Array.isArray(a))
      for (const t of a) if (typeof t === "string" && /^s\d+_\d+$/.test(t)) out.push(`+${t}`);
    if (Array.isArray(r))
      for (const t of r) if (typeof t === "string" && /^s\d+_\d+$/.test(t)) out.push(`-${t}`);
  }
  return out;
}

/** What the TUI state shows of a marker (null for removals: not visible as such). */
function visibleIn(items: Iterable<Item>, seen: Map<string, number>, now: number, watch: Set<string>): void {
  for (const it of items) {
    if (watch.has(it.title) && !seen.has(it.title)) seen.set(it.title, now);
    for (const e of it.discussion) if (watch.has(e.message) && !seen.has(e.message)) seen.set(e.message, now);
    for (const t of it.tags) if (watch.has(`+${t}`) && !seen.has(`+${t}`)) seen.set(`+${t}`, now);
  }
}

/** Comparable snapshot of items (everything the TUI shows). */
function snapshot(items: Item[]): string {
  const rows = items
    .map((i) => ({
      id: i.id,
      tier: i.tier,
      title: i.title,
      status: i.status,
      tags: i.tags,
      discussion: i.discussion.map((d) => [d.nonce, d.message]),
      updated: i.updated_at,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : (a.tier ?? "") < (b.tier ?? "") ? -1 : 1));
  return JSON.stringify(rows);
}

/** Run the stress scenario; never throws for data problems (they are in the report). */
export async function runStress(o: StressOptions): Promise<StressReport> {
  const procs = o.procs ?? 8;
  const writes = o.writes ?? 500;
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), "htrac-stress-"));
  const env = {
    ...process.env,
    HYPERGUMBO_TRACKER_JOURNAL_ROOT: path.join(repo, ".journal"),
    TRACKER_CACHE_DIR: path.join(repo, ".cache"),
    HTRAC_LOCK_TIMEOUT: "60",
    GIT_AUTHOR_NAME: "stress",
    GIT_AUTHOR_EMAIL: "stress@example.invalid",
    GIT_COMMITTER_NAME: "stress",
    GIT_COMMITTER_EMAIL: "stress@example.invalid",
  };
  const cli = (args: string[], input?: string) =>
    execFileSync(process.execPath, [o.cli, ...args], {
      cwd: repo,
      env,
      encoding: "utf8",
      input,
      stdio: ["pipe", "pipe", "pipe"],
    });
  git(repo, "init", "-q", "-b", "main");
  fs.writeFileSync(path.join(repo, ".gitignore"), ".journal/\n.cache/\n");
  cli(["init"]);
  const seedN = o.seedItems ?? 24;
  const seed = Array.from({ length: seedN }, (_, i) => `add --kind work_item --title "seed item ${i}"`).join(
    "\n",
  );
  cli(["batch", "-"], seed);
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", "seed");
  // Branch B adds items that only exist there; checkouts make them appear and disappear.
  git(repo, "checkout", "-q", "-b", "b");
  const bonly = Array.from(
    { length: 30 },
    (_, i) => `add --kind work_item --title "branch b item ${i}"`,
  ).join("\n");
  cli(["batch", "-"], bonly);
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", "b items");
  git(repo, "checkout", "-q", "main");
  const seedIds = openTracker(path.join(repo, ".agent"), { gitPeek: false })
    .items()
    .map((i) => i.id);
  log(`stress: ${repo}: ${seedIds.length} shared items, ${procs} writers × ${writes} writes`);

  // The TUI, headless, with its change feed.
  const tracker = openTracker(path.join(repo, ".agent"), { gitPeek: false, env });
  const session = startSession({
    tracker,
    keymap: loadKeymap(null),
    input: new PassThrough(),
    output: new NullOut(),
    env: { TERM: "xterm-256color", LANG: "C.UTF-8" },
    mouse: false,
    poll: false,
    readOnly: true,
    persistPrefs: false,
  });
  await session.ready;
  const seen = new Map<string, number>(); // marker → time the TUI state had it
  const watchFor = new Set<string>();
  const app = session.app;
  const orig = app.onChanges.bind(app);
  app.onChanges = (ev) => {
    orig(ev);
    const now = performance.now();
    const ids = new Set([...ev.added, ...ev.changed].map((c) => c.id));
    const items: Item[] = [];
    for (const id of ids) {
      const it = app.state.byId.get(id);
      if (it) items.push(it);
    }
    visibleIn(items, seen, now, watchFor);
  };

  // Writers: each a `htrac batch -` process.
  const doneAt = new Map<string, number>(); // marker → time its output line arrived
  let failedWrites = 0;
  const expected = new Set<string>();
  const writers: Promise<void>[] = [];
  for (let p = 0; p < procs; p++) {
    const rand = prng(1000 + p);
    const lines: { cmd: string; marker: string; expect: (l: string) => boolean }[] = [];
    const myTags: string[] = [];
    for (let n = 0; n < writes; n++) {
      const target = seedIds[Math.floor(rand() * seedIds.length)];
      const x = rand();
      if (x < 0.15) {
        const m = `s${p}-${n}`;
        lines.push({ cmd: `add --kind work_item --title "${m}"`, marker: m, expect: (l) => /^WI-/.test(l) });
      } else if (x < 0.55) {
        const m = `m s${p}-${n}`;
        lines.push({ cmd: `discuss ${target} "${m}"`, marker: m, expect: (l) => l === "discussed" });
      } else if (x < 0.75 || myTags.length === 0) {
        const t = `s${p}_${n}`;
        myTags.push(`${target} ${t}`);
        lines.push({
          cmd: `update ${target} --add-tag ${t}`,
          marker: `+${t}`,
          expect: (l) => l.includes(`+${t}`),
        });
      } else if (x < 0.87) {
        const [id, t] = myTags.splice(Math.floor(rand() * myTags.length), 1)[0].split(" ");
        lines.push({
          cmd: `update ${id} --remove-tag ${t}`,
          marker: `-${t}`,
          expect: (l) => l.includes(`-${t}`),
        });
      } else {
        const m = `t s${p}-${n}`;
        lines.push({ cmd: `update ${target} --title "${m}"`, marker: m, expect: (l) => l.includes(m) });
      }
    }
    for (const l of lines) {
      expected.add(l.marker);
      if (!l.marker.startsWith("-")) watchFor.add(l.marker);
    }
    writers.push(
      new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, [o.cli, "batch", "-"], {
          cwd: repo,
          env,
          stdio: ["pipe", "pipe", "pipe"],
        });
        let next = 0;
        let buf = "";
        child.stdout.on("data", (d: Buffer) => {
          buf += d.toString();
          let nl = buf.indexOf("\n");
          while (nl >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            const now = performance.now();
            // Output lines come in command order; a failed command prints none.
            while (next < lines.length && !lines[next].expect(line)) next++;
            if (next < lines.length) doneAt.set(lines[next++].marker, now);
            nl = buf.indexOf("\n");
          }
        });
        child.stderr.on("data", (d: Buffer) => {
          failedWrites += (d.toString().match(/^ {2}FAIL line/gm) ?? []).length;
        });
        child.on("error", reject);
        child.on("close", () => resolve());
        child.stdin.end(`${lines.map((l) => l.cmd).join("\n")}\n`);
      }),
    );
  }

  // The checkout process: alternate branches while the writers run.
  let checkouts = 0;
  let stopCheckout = false;
  const checkoutLoop = (async () => {
    if (o.checkout === false) return;
    let onB = false;
    while (!stopCheckout) {
      await new Promise((r) => setTimeout(r, 150));
      if (stopCheckout) break;
      try {
        await new Promise<void>((resolve) => {
          const c = spawn("git", ["checkout", "-q", onB ? "main" : "b"], { cwd: repo, env, stdio: "ignore" });
          c.on("close", (code) => {
            if (code === 0) {
              onB = !onB;
              checkouts++;
            }
            resolve();
          });
        });
      } catch {
        /* a refused checkout is fine: try again */
      }
    }
  })();

  await Promise.all(writers);
  stopCheckout = true;
  await checkoutLoop;
  const lastWrite = performance.now();
  log(`stress: writers done in ${((lastWrite - t0) / 1000).toFixed(1)} s, ${checkouts} checkouts`);

  // Settle: the TUI must converge to a fresh load on its own (events + safety net).
  let stateEqual = false;
  let settleMs = -1;
  let fresh = openTracker(path.join(repo, ".agent"), { gitPeek: false, env });
  for (;;) {
    const tuiSnap = snapshot(app.state.items);
    fresh = openTracker(path.join(repo, ".agent"), { gitPeek: false, env });
    // The TUI shows one item per ID (preferred tier); compare the same view.
    const byId = new Map<string, Item>();
    for (const it of fresh.items()) if (!byId.has(it.id)) byId.set(it.id, it);
    if (tuiSnap === snapshot([...byId.values()])) {
      stateEqual = true;
      settleMs = performance.now() - lastWrite;
      break;
    }
    if (performance.now() - lastWrite > 20000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  visibleIn(app.state.items, seen, performance.now(), watchFor);
  await session.close();

  // Count every marker in every op file.
  const counts = new Map<string, number>();
  for (const t of ["canonical", "workspace", "stealth"] as const) {
    const dir = fresh.paths.tierDirs[t];
    for (const n of fs.readdirSync(dir)) {
      if (!n.endsWith(".ops")) continue;
      const { ops } = parseOpLog(fs.readFileSync(path.join(dir, n), "utf8"), { file: n });
      for (const op of ops)
        for (const m of markersOf(op as Record<string, unknown>)) counts.set(m, (counts.get(m) ?? 0) + 1);
    }
  }
  let presentOnce = 0;
  let lost = 0;
  let duplicated = 0;
  const examples: string[] = [];
  for (const m of expected) {
    const c = counts.get(m) ?? 0;
    if (c === 1) presentOnce++;
    else if (c === 0) {
      lost++;
      if (examples.length < 10) examples.push(`lost ${m}`);
    } else {
      duplicated++;
      if (examples.length < 10) examples.push(`duplicated ${m} ×${c}`);
    }
  }
  const failingItems = fresh.problems().filter((p) => p.fatal).length;
  const lat: number[] = [];
  for (const [m, at] of doneAt) {
    const s = seen.get(m);
    if (s !== undefined) lat.push(Math.max(0, s - at));
  }
  fs.rmSync(repo, { recursive: true, force: true });
  return {
    procs,
    writesPerProc: writes,
    attempted: expected.size,
    failedWrites,
    presentOnce,
    lost,
    duplicated,
    failingItems,
    stateEqual,
    settleMs: Math.round(settleMs),
    latency: {
      n: lat.length,
      p50: +percentile(lat, 50).toFixed(1),
      p95: +percentile(lat, 95).toFixed(1),
      max: +Math.max(0, ...lat).toFixed(1),
    },
    checkouts,
    wallMs: Math.round(performance.now() - t0),
    examples,
  };
}
