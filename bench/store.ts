/**
 * `npm run bench:store`: store speed and memory on generated 1k and 10k item trackers.
 * Every figure comes from a fresh process in this one run; ratios compare figures of the
 * same run (issue: cold load ≤ 1.0 s, ≤ 10× raw read, ≤ 0.05× generic YAML parse;
 * one-append reload ≤ 5 ms; RSS ≤ 150 MB at 10k items). At 10k items it also prints the
 * peak RSS of one cold load without the bounded young generation of bulk loads, to compare,
 * and how long a cold load's background cache write takes and stalls the event loop at most.
 *
 * Options: --items 1000,10000   --skip-yaml (the generic parse takes ~20 s at 10k items)
 */
import { benchTracker, child, report, trackerInfo } from "./common.js";

const args = process.argv.slice(2);
const itemsArg = args.includes("--items") ? args[args.indexOf("--items") + 1] : "1000,10000";
const skipYaml = args.includes("--skip-yaml");

interface Timed {
  ms: number;
  maxRssMB: number;
}

for (const n of itemsArg.split(",").map(Number)) {
  const repo = benchTracker(n);
  const info = trackerInfo(repo);
  const raw = child<Timed & { bytes: number }>("store-probe.js", ["raw", repo]);
  const loads = [0, 1, 2].map(() =>
    child<Timed & { items: number; problems: number }>("store-probe.js", ["load", repo]),
  );
  const load = loads.sort((a, b) => a.ms - b.ms)[1];
  child("store-probe.js", ["warm", repo]); // makes sure the cache exists
  const warms = [0, 1, 2].map(() => child<Timed & { items: number }>("store-probe.js", ["warm", repo]));
  const warm = warms.sort((a, b) => a.ms - b.ms)[1];
  const lights = [0, 1, 2].map(() =>
    child<Timed & { items: number }>("store-probe.js", ["warm-summaries", repo]),
  );
  const light = lights.sort((a, b) => a.ms - b.ms)[1];
  const yaml = skipYaml ? null : child<Timed>("store-probe.js", ["yaml", repo]);
  const app = child<{ p50: number; p95: number; max: number }>("store-probe.js", ["append", repo]);
  const rows: [string, string, string?][] = [
    ["tracker", `${n} items, ${(info.bytes / 1e6).toFixed(1)} MB, ${info.ops} ops`],
    ["raw read of all files", `${raw.ms.toFixed(0)} ms`],
    ["cold load + compile (median of 3)", `${load.ms.toFixed(0)} ms`, n >= 10000 ? "≤ 1000 ms" : undefined],
    ["  ratio to raw read", `${(load.ms / raw.ms).toFixed(1)}×`, n >= 10000 ? "≤ 10×" : undefined],
    ["warm load, every item revived (median of 3)", `${warm.ms.toFixed(0)} ms, ${warm.maxRssMB} MB`],
    ["warm load, summaries only (median of 3)", `${light.ms.toFixed(0)} ms, ${light.maxRssMB} MB`],
  ];
  if (yaml) {
    rows.push(["yaml library alone", `${yaml.ms.toFixed(0)} ms`]);
    rows.push([
      "  ratio load / yaml library",
      `${(load.ms / yaml.ms).toFixed(3)}×`,
      n >= 10000 ? "≤ 0.05×" : undefined,
    ]);
  }
  rows.push(["one-append reload p50 / p95", `${app.p50.toFixed(2)} / ${app.p95.toFixed(2)} ms`, "≤ 5 ms"]);
  rows.push(["peak RSS after load", `${load.maxRssMB} MB`, n >= 10000 ? "≤ 150 MB" : undefined]);
  if (n >= 10000) {
    // For comparison: the same cold load with V8's default young-generation growth.
    const untuned = child<Timed>("store-probe.js", ["load", repo], [], {
      ...process.env,
      HTRAC_GC_TUNING: "0",
    });
    rows.push([
      "  same, HTRAC_GC_TUNING=0 (see younggen.ts)",
      `${untuned.maxRssMB} MB, ${untuned.ms.toFixed(0)} ms`,
    ]);
  }
  // (a TUI session's first start writes this while keys come in)
  const bg = child<{ ms: number; stallMs: number }>("store-probe.js", ["bgwrite", repo]);
  rows.push([
    "background cache write: time, longest stall",
    `${bg.ms.toFixed(0)} ms, ${bg.stallMs.toFixed(1)} ms`,
  ]);
  rows.push(["items / problems", `${load.items} / ${load.problems}`]);
  report(`bench:store — ${n} items`, rows);
}
