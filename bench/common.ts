/**
 * Shared benchmark helpers: generated trackers cached under `.bench/`, child-process
 * measurements (each figure is taken in a fresh process so JIT warm-up of one measurement
 * does not flatter the next), and a compact report printer.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateTracker } from "../src/store/generate.js";
import { serializeOp } from "../src/store/serialize.js";
import { newMap } from "../src/store/values.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BENCH_DIR = path.join(ROOT, ".bench");

/**
 * A generated tracker of `items` items (created once, then reused; generated again when its
 * op files no longer add up to the bytes generated, e.g. a probe stopped before it put back
 * the ops it appended: every figure would then be taken on another tracker). @returns repo dir
 */
export function benchTracker(items: number, seed = 42): string {
  const dir = path.join(BENCH_DIR, `tracker-${items}-${seed}`);
  const marker = path.join(dir, ".complete");
  if (fs.existsSync(marker) && opBytes(dir) !== trackerInfo(dir).bytes) {
    process.stderr.write(`bench: ${dir} was changed since it was generated: generating it again\n`);
    fs.rmSync(marker);
  }
  if (!fs.existsSync(marker)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const g = generateTracker(dir, { items, seed });
    fs.writeFileSync(marker, JSON.stringify({ bytes: g.bytes, ops: g.ops }));
  }
  return dir;
}

/** Total size of a tracker's op files (bytes). */
function opBytes(repo: string): number {
  let total = 0;
  for (const d of ["tracker/.ops", "tracker-workspace/.ops", "tracker-workspace/stealth"]) {
    const dir = path.join(repo, ".agent", d);
    if (!fs.existsSync(dir)) continue;
    for (const n of fs.readdirSync(dir)) if (n.endsWith(".ops")) total += fs.statSync(path.join(dir, n)).size;
  }
  return total;
}

/** Size info of a generated tracker. */
export function trackerInfo(repo: string): { bytes: number; ops: number } {
  return JSON.parse(fs.readFileSync(path.join(repo, ".complete"), "utf8"));
}

/**
 * Mark the first `n` workspace op files of a bench tracker as changed (mtime now, bytes
 * unchanged): the next run re-reads them and writes them to the warm-start cache's delta file
 * (an active tracker's case), or rewrites the main cache file when they are more than 1/16
 * of the tier.
 */
export function touchOpFiles(repo: string, n = 40): void {
  const ops = path.join(repo, ".agent", "tracker-workspace", ".ops");
  const now = new Date();
  for (const name of fs
    .readdirSync(ops)
    .filter((x) => x.endsWith(".ops"))
    .slice(0, n))
    fs.utimesSync(path.join(ops, name), now, now);
}

/** Run a node script (ESM, from dist/bench) in a fresh process; returns its JSON output. */
export function child<T>(
  script: string,
  args: string[],
  extraNodeArgs: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): T {
  const r = spawnSync(
    process.execPath,
    [...extraNodeArgs, path.join(ROOT, "dist", "bench", script), ...args],
    {
      encoding: "utf8",
      maxBuffer: 1 << 26,
      env,
    },
  );
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Percentile (nearest rank). */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Print a titled table of [label, value, target?] rows. */
export function report(title: string, rows: [string, string, string?][]): void {
  console.log(`\n${title}`);
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v, target] of rows)
    console.log(`  ${k.padEnd(w)}  ${v.padStart(12)}${target ? `   (target ${target})` : ""}`);
}

/** The bytes of an agent's discuss op, as another writer would append them. */
export function discussOpBytes(clock: number, nonce: string, message: string): string {
  const op = newMap();
  op.op = "discuss";
  op.at = "2026-06-01T00:00:00Z";
  op.by = "agent";
  op.actor = "bench_agent";
  op.clock = clock;
  op.nonce = nonce;
  op.message = message;
  return serializeOp(op);
}
