/**
 * `npm run fuzz [-- --cases 12000 --seed N]`: the reader fuzz of bench/fuzz-lib.ts at scale
 * (≥ 10k cases: YAML-ish text, mutated real corpus files, random ops). Prints figures; a
 * failing property prints fast-check's counterexample and exits 1.
 */
import path from "node:path";
import { ROOT, report } from "./common.js";
import { corpusTexts, runFuzz } from "./fuzz-lib.js";

const arg = (name: string, dflt: number) =>
  process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt;
const cases = arg("--cases", 12000);
const seed = arg("--seed", Date.now() % 2 ** 31);
const corpus = corpusTexts(path.resolve(ROOT, "..", "shared", "corpus", "hypergumbo", ".agent"));
const t0 = performance.now();
const r = runFuzz({ cases, seed, corpus });
report(`fuzz — ${r.cases} cases (seed ${seed}), ${corpus.length} corpus files as mutation bases`, [
  ["cases", String(r.cases), "≥ 10000"],
  ["compiled", String(r.compiled)],
  ["typed refusals (TrackerError)", String(r.typedRefusals)],
  [
    "problem kinds seen",
    Object.entries(r.problemKinds)
      .map(([k, v]) => `${k}:${v}`)
      .join(" ") || "-",
  ],
  ["slowest case", `${r.maxMs.toFixed(1)} ms`],
  ["wall time", `${((performance.now() - t0) / 1000).toFixed(1)} s`],
]);
