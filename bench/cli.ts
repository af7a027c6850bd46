/**
 * `npm run bench:cli`: wall time of `htrac ready --json` and `htrac list --json` (process
 * start-up included, stdout to /dev/null) on the generated 10k-item tracker and on a copy of
 * the real corpus. Target ≤ 400 ms each at 10k items. Median of 5 runs. At 10k items it also
 * times a fresh clone's first run (no warm-start cache: it writes it), `htrac cache-rebuild`,
 * and warm runs after op files changed — 40 (the run writes them to the cache's delta file:
 * an active tracker) and 600 (more than 1/16 of the tier: the main cache file is rewritten) —
 * `htrac add` (its near-duplicate check reads every item's kept SimHash), and prints a warm
 * run's time by phase (bench/cli-probe), to show where the time goes.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { deltaCachePath, indexCachePath } from "../src/store/indexcache.js";
import { benchTracker, child, median, ROOT, report, touchOpFiles, trackerInfo } from "./common.js";

const CLI = path.join(ROOT, "dist", "bin", "htrac.js");
const CORPUS = path.resolve(ROOT, "..", "shared", "corpus", "hypergumbo");

function time(
  argvOf: string[] | (() => string[]),
  cwd: string,
  env: NodeJS.ProcessEnv,
  script: string[] = [CLI],
  before?: () => void,
): { ms: number; rssMB: number } {
  const runs: number[] = [];
  let rss = 0;
  for (let i = 0; i < 5; i++) {
    before?.();
    const argv = typeof argvOf === "function" ? argvOf() : argvOf;
    const t0 = performance.now();
    const r = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, ...script, ...argv], {
      cwd,
      env,
      stdio: ["ignore", "ignore", "pipe"],
      encoding: "utf8",
    });
    runs.push(performance.now() - t0);
    if (r.status !== 0 && r.status !== 1) throw new Error(`${argv.join(" ")} failed: ${r.stderr}`);
    rss = Math.max(rss, Number(r.stderr.trim().split("\n").pop()) / 1024);
  }
  return { ms: median(runs), rssMB: Math.round(rss) };
}

const targets: [string, string][] = [];
/**
 * A bare node start on this host in this run (ms): the figures are also printed as multiples
 * of it, which vary less from host to host than milliseconds (these machines are noisy).
 */
let nodeMs = 0;
const times = (ms: number) => (nodeMs > 0 ? ` (${(ms / nodeMs).toFixed(1)}× node)` : "");
const n = Number(
  process.argv.includes("--items") ? process.argv[process.argv.indexOf("--items") + 1] : 10000,
);
targets.push([`generated ${n} items`, benchTracker(n)]);
if (fs.existsSync(CORPUS)) {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), "htrac-bench-corpus-"));
  fs.cpSync(CORPUS, copy, { recursive: true });
  targets.push(["real corpus (113 items)", copy]);
}
for (const [label, repo] of targets) {
  const env = { ...process.env, TRACKER_CACHE_DIR: path.join(os.tmpdir(), "htrac-bench-cache") };
  const rows: [string, string, string?][] = [];
  if (label.startsWith("generated")) {
    rows.push(["tracker", `${(trackerInfo(repo).bytes / 1e6).toFixed(1)} MB`]);
    // This host's speed in the same run (the machines are noisy): node itself, and htrac's
    // own start-up (modules, argument parsing) without a tracker.
    const bare = time(["-e", "0"], repo, env, []);
    const version = time(["--version"], repo, env);
    rows.push(["host: node -e 0 / htrac --version", `${bare.ms.toFixed(0)} / ${version.ms.toFixed(0)} ms`]);
    nodeMs = bare.ms;
  }
  for (const argv of [["ready", "--json"], ["list", "--json"], ["count-todos"]]) {
    const cold = time(argv, repo, { ...env, HTRAC_NO_CACHE: "1" });
    time(argv, repo, env); // writes the warm-start cache when missing
    const warm = time(argv, repo, env);
    rows.push([
      `htrac ${argv.join(" ")} cold / warm`,
      `${cold.ms.toFixed(0)} / ${warm.ms.toFixed(0)} ms${times(warm.ms)}, ${cold.rssMB} / ${warm.rssMB} MB`,
      label.startsWith("generated") && argv[0] !== "count-todos" ? "≤ 400 ms" : undefined,
    ]);
  }
  if (label.startsWith("generated")) {
    // An active tracker: 40 op files changed since the cache was written (their mtimes here),
    // so the command re-reads them and writes them to the cache's delta file as it ends; with
    // 600 (over 1/16 of the tier) it rewrites the main cache file instead.
    // A fresh clone's first run: no warm-start cache (the code cache is there, as for anyone
    // who ran htrac before), so it parses every file and writes the cache as it ends; and
    // `htrac cache-rebuild`, which makes even that first run warm.
    const dropCache = (of = repo) => {
      for (const d of ["tracker/.ops", "tracker-workspace/.ops", "tracker-workspace/stealth"]) {
        const file = indexCachePath(path.join(of, ".agent", d), env);
        if (file) for (const f of [file, deltaCachePath(file)]) fs.rmSync(f, { force: true });
      }
    };
    const first = time(["ready", "--json"], repo, env, [CLI], () => dropCache());
    rows.push([
      "htrac ready --json, first run (writes the cache)",
      `${first.ms.toFixed(0)} ms, ${first.rssMB} MB`,
    ]);
    const rebuild = time(["cache-rebuild"], repo, env, [CLI], () => dropCache());
    rows.push(["htrac cache-rebuild", `${rebuild.ms.toFixed(0)} ms, ${rebuild.rssMB} MB`]);
    for (const n of [40, 600]) {
      const r = time(["list", "--json"], repo, env, [CLI], () => touchOpFiles(repo, n));
      rows.push([
        `htrac list --json, ${n} files changed (${n === 40 ? "delta write" : "cache rewrite"})`,
        `${r.ms.toFixed(0)} ms, ${r.rssMB} MB`,
      ]);
    }
    // `add` checks the new item against every item of its tier for near-duplicates (SimHash
    // of their create data, kept in the warm-start cache after the first add): on a copy, as
    // it writes. The first add on the copy parses every file and hashes every item.
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "htrac-bench-add-"));
    fs.cpSync(repo, copy, { recursive: true });
    let k = 0;
    const add = () => ["add", "--kind", "work_item", "--title", `bench add ${process.pid} ${k++}`];
    const t0 = performance.now();
    spawnSync(process.execPath, [CLI, ...add()], { cwd: copy, env, stdio: "ignore" });
    const firstAdd = performance.now() - t0;
    const warmAdd = time(add, copy, env);
    rows.push([
      "htrac add (near-duplicate check) first / later",
      `${firstAdd.toFixed(0)} / ${warmAdd.ms.toFixed(0)} ms, ${warmAdd.rssMB} MB`,
    ]);
    dropCache(copy); // (its warm-start cache, ~160 MB, would otherwise stay until pruned)
    fs.rmSync(copy, { recursive: true, force: true });
  }
  report(`bench:cli — ${label} (median of 5, start-up included)`, rows);
  if (label.startsWith("generated")) {
    // Where a warm run's time goes (one fresh process each, the CLI's own functions).
    interface Phases {
      startupMs: number;
      openMs: number;
      queryMs: number;
      jsonMs: number;
      writeMs: number;
      mb: number;
    }
    const phases: [string, string][] = [];
    for (const cmd of ["ready", "list"]) {
      const p = child<Phases>("cli-probe.js", [repo, cmd], [], env);
      phases.push([
        `${cmd} --json: start-up / open / query / JSON / write`,
        `${p.startupMs} / ${p.openMs} / ${p.queryMs} / ${p.jsonMs} / ${p.writeMs} ms (${p.mb} MB)`,
      ]);
    }
    report(`bench:cli — ${label}, warm run by phase (in process)`, phases);
  }
}
for (const [label, repo] of targets)
  if (label.startsWith("real corpus")) fs.rmSync(repo, { recursive: true, force: true });
