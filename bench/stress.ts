/**
 * `npm run stress [-- --procs 8 --writes 500 --no-checkout]`: the stress scenario of
 * bench/stress-lib.ts with figures printed. Exit 1 when anything was lost, duplicated or
 * failed to compile, or the TUI state differed from a fresh load.
 */
import path from "node:path";
import { ROOT, report } from "./common.js";
import { runStress } from "./stress-lib.js";

const arg = (name: string, dflt: number) =>
  process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt;
const r = await runStress({
  cli: path.join(ROOT, "dist", "bin", "htrac.js"),
  procs: arg("--procs", 8),
  writes: arg("--writes", 500),
  checkout: !process.argv.includes("--no-checkout"),
  log: (s) => console.log(s),
});
report(`stress — ${r.procs} CLI processes × ${r.writesPerProc} writes, git checkout loop`, [
  ["ops attempted", String(r.attempted)],
  ["writes reported failed by the CLI", String(r.failedWrites), "0"],
  ["ops present exactly once", String(r.presentOnce), String(r.attempted)],
  ["ops lost", String(r.lost), "0"],
  ["ops duplicated", String(r.duplicated), "0"],
  ["items failing to compile", String(r.failingItems), "0"],
  ["TUI state equals a fresh load", r.stateEqual ? "yes" : "NO", "yes"],
  ["TUI settled after the last write", `${r.settleMs} ms`],
  [`write → TUI state p50/p95 (n=${r.latency.n})`, `${r.latency.p50} / ${r.latency.p95} ms`],
  ["write → TUI state max", `${r.latency.max} ms`],
  ["git checkouts during the run", String(r.checkouts)],
  ["wall time", `${(r.wallMs / 1000).toFixed(1)} s`],
]);
for (const e of r.examples) console.log(`  ${e}`);
const ok = r.lost === 0 && r.duplicated === 0 && r.failingItems === 0 && r.stateEqual;
process.exit(ok ? 0 : 1);
