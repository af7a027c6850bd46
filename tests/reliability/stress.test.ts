/**
 * The reduced stress run (4 CLI processes × 50 mixed writes, git checkout loop, TUI watching):
 * the same assertions as `npm run stress` — nothing lost or duplicated, everything compiles,
 * the TUI state equals a fresh load.
 */
import { describe, expect, it } from "vitest";
import { runStress } from "../../bench/stress-lib.js";
import { CLI } from "../helpers.js";

describe("stress (reduced)", () => {
  it("4 × 50 concurrent CLI writes with git checkouts: 0 lost, 0 duplicated, 0 failing, equal state", async () => {
    const r = await runStress({ cli: CLI, procs: 4, writes: 50 });
    console.log(
      `stress 4×50: ${r.presentOnce}/${r.attempted} once, ${r.checkouts} checkouts, write→TUI p50 ${r.latency.p50} ms p95 ${r.latency.p95} ms, settled ${r.settleMs} ms`,
    );
    expect(r.examples).toEqual([]);
    expect({
      attempted: r.attempted,
      presentOnce: r.presentOnce,
      lost: r.lost,
      duplicated: r.duplicated,
      failingItems: r.failingItems,
      failedWrites: r.failedWrites,
      stateEqual: r.stateEqual,
    }).toEqual({
      attempted: 200,
      presentOnce: 200,
      lost: 0,
      duplicated: 0,
      failingItems: 0,
      failedWrites: 0,
      stateEqual: true,
    });
    expect(r.checkouts).toBeGreaterThan(0);
    expect(r.latency.n).toBeGreaterThan(100);
  }, 120_000);
});
