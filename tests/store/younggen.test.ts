/**
 * The bounded young generation of bulk loads: when the V8 flag may be touched, that it is set
 * for the load and restored after it (also on a throw, once for nested loads), and that the
 * real node accepts the flag silently (an unknown flag would print an error on every run);
 * and that a session-long hold keeps the bound across the loads inside it.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  boundedYoungGeneration,
  heapGrowthTuningAllowed,
  holdHeapGrowth,
  holdYoungGeneration,
  youngGenTuningAllowed,
} from "../../src/store/younggen.js";

const ROOT = path.resolve(import.meta.dirname, "..", "..");

function host(over: { v8Version?: string; execArgv?: string[]; env?: NodeJS.ProcessEnv } = {}) {
  const calls: string[] = [];
  return {
    calls,
    host: {
      v8Version: over.v8Version ?? "11.3.244.8-node.38",
      execArgv: over.execArgv ?? [],
      nodeOptions: "",
      env: over.env ?? {},
      setFlags: (f: string) => calls.push(f),
    },
  };
}

describe("youngGenTuningAllowed", () => {
  it("only on V8 11 and 12, without the user's own semi-space options, unless turned off", () => {
    const base = { v8Version: "11.3.244.8-node.38", execArgv: [] as string[], nodeOptions: "", env: {} };
    expect(youngGenTuningAllowed(base)).toBe(true);
    expect(youngGenTuningAllowed({ ...base, v8Version: "12.4.254.21-node.33" })).toBe(true);
    expect(youngGenTuningAllowed({ ...base, v8Version: "10.2.154.26-node.26" })).toBe(false);
    expect(youngGenTuningAllowed({ ...base, v8Version: "13.6.233.10-node.21" })).toBe(false);
    expect(youngGenTuningAllowed({ ...base, execArgv: ["--max-semi-space-size=4"] })).toBe(false);
    expect(youngGenTuningAllowed({ ...base, execArgv: ["--semi_space_growth_factor=3"] })).toBe(false);
    expect(youngGenTuningAllowed({ ...base, nodeOptions: "--min-semi-space-size=2" })).toBe(false);
    expect(youngGenTuningAllowed({ ...base, nodeOptions: "--max-old-space-size=900" })).toBe(true);
    // A tracker's env is not the process's: its NODE_OPTIONS did not start this node.
    expect(youngGenTuningAllowed({ ...base, env: { NODE_OPTIONS: "--max-semi-space-size=4" } })).toBe(true);
    expect(youngGenTuningAllowed({ ...base, env: { HTRAC_GC_TUNING: "0" } })).toBe(false);
  });
});

describe("boundedYoungGeneration", () => {
  it("sets growth factor 1 for the call and restores V8's default after it", () => {
    const { calls, host: h } = host();
    const seen: string[][] = [];
    const r = boundedYoungGeneration(() => {
      seen.push([...calls]);
      return 42;
    }, h);
    expect(r).toBe(42);
    expect(seen).toEqual([["--semi-space-growth-factor=1"]]);
    expect(calls).toEqual(["--semi-space-growth-factor=1", "--semi-space-growth-factor=2"]);
  });

  it("restores the default when the load throws, and rethrows", () => {
    const { calls, host: h } = host();
    expect(() =>
      boundedYoungGeneration(() => {
        throw new Error("torn");
      }, h),
    ).toThrow("torn");
    expect(calls).toEqual(["--semi-space-growth-factor=1", "--semi-space-growth-factor=2"]);
    // Not stuck "inside": the next load tunes again.
    boundedYoungGeneration(() => 0, h);
    expect(calls).toHaveLength(4);
  });

  it("tunes once for nested loads (the inner one must not restore early)", () => {
    const { calls, host: h } = host();
    boundedYoungGeneration(() => {
      boundedYoungGeneration(() => {
        expect(calls).toEqual(["--semi-space-growth-factor=1"]);
      }, h);
      expect(calls).toEqual(["--semi-space-growth-factor=1"]);
    }, h);
    expect(calls).toEqual(["--semi-space-growth-factor=1", "--semi-space-growth-factor=2"]);
  });

  it("leaves the flags alone where tuning is not allowed", () => {
    for (const over of [{ v8Version: "13.0.1" }, { execArgv: ["--max-semi-space-size=8"] }]) {
      const { calls, host: h } = host(over);
      expect(boundedYoungGeneration(() => "x", h)).toBe("x");
      expect(calls).toEqual([]);
    }
  });

  it("the real node accepts the flag without printing anything", () => {
    const script = `
      import { boundedYoungGeneration, youngGenTuningAllowed } from ${JSON.stringify(
        path.join(ROOT, "dist", "src", "store", "younggen.js"),
      )};
      const kept = boundedYoungGeneration(() => Array.from({ length: 200000 }, (_, i) => ({ i })));
      console.log(youngGenTuningAllowed({ v8Version: process.versions.v8, execArgv: process.execArgv, nodeOptions: "", env: process.env }), kept.length);
    `;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    expect(r.stderr).toBe("");
    const major = Number.parseInt(process.versions.v8, 10);
    expect(r.stdout).toBe(`${major === 11 || major === 12} 200000\n`);
  });
});

describe("holdYoungGeneration", () => {
  it("holds the bound across bounded loads and restores it once, on the last release", () => {
    const { calls, host: h } = host();
    const release = holdYoungGeneration(h);
    expect(calls).toEqual(["--semi-space-growth-factor=1"]);
    // A load inside the hold neither tunes again nor restores the default when it returns.
    expect(boundedYoungGeneration(() => 7, h)).toBe(7);
    expect(calls).toEqual(["--semi-space-growth-factor=1"]);
    const inner = holdYoungGeneration(h);
    inner();
    expect(calls).toEqual(["--semi-space-growth-factor=1"]);
    release();
    expect(calls).toEqual(["--semi-space-growth-factor=1", "--semi-space-growth-factor=2"]);
    // Releasing twice changes nothing (depth stays balanced: a new load tunes and restores).
    release();
    inner();
    expect(calls).toHaveLength(2);
    boundedYoungGeneration(() => 0, h);
    expect(calls).toHaveLength(4);
  });

  it("a hold taken inside a load keeps the bound after the load returns", () => {
    const { calls, host: h } = host();
    let release = () => {};
    boundedYoungGeneration(() => {
      release = holdYoungGeneration(h);
    }, h);
    expect(calls).toEqual(["--semi-space-growth-factor=1"]);
    release();
    expect(calls).toEqual(["--semi-space-growth-factor=1", "--semi-space-growth-factor=2"]);
  });

  it("leaves the flags alone where tuning is not allowed", () => {
    const { calls, host: h } = host({ env: { HTRAC_GC_TUNING: "0" } });
    const release = holdYoungGeneration(h);
    boundedYoungGeneration(() => 0, h);
    release();
    expect(calls).toEqual([]);
  });
});

describe("holdHeapGrowth", () => {
  it("sets the session's growing percent on the first hold and V8's default back on the last release", () => {
    const { calls, host: h } = host();
    const release = holdHeapGrowth(h);
    const inner = holdHeapGrowth(h);
    expect(calls).toEqual(["--heap-growing-percent=20"]);
    inner();
    inner();
    expect(calls).toEqual(["--heap-growing-percent=20"]);
    release();
    expect(calls).toEqual(["--heap-growing-percent=20", "--heap-growing-percent=0"]);
    release();
    expect(calls).toHaveLength(2);
  });

  it("leaves the flag alone on other V8 majors, with the user's own setting, or when turned off", () => {
    const base = { v8Version: "11.3.244.8-node.38", execArgv: [] as string[], nodeOptions: "", env: {} };
    expect(heapGrowthTuningAllowed(base)).toBe(true);
    expect(heapGrowthTuningAllowed({ ...base, execArgv: ["--max-semi-space-size=4"] })).toBe(true);
    expect(heapGrowthTuningAllowed({ ...base, nodeOptions: "--heap_growing_percent=50" })).toBe(false);
    for (const over of [
      { v8Version: "13.0.1" },
      { execArgv: ["--heap-growing-percent=35"] },
      { env: { HTRAC_GC_TUNING: "0" } },
    ]) {
      const { calls, host: h } = host(over);
      holdHeapGrowth(h)();
      expect(calls).toEqual([]);
    }
  });

  it("the real node accepts the flag without printing anything, and collects sooner with it", () => {
    // ~60 MB live, then a stream of short-lived 320 KB arrays (large objects: old-generation
    // garbage, as a session's copies of its item list): with the hold the heap peaks lower
    // (~120 MB against ~150 MB on node 20).
    const script = (hold: boolean) => `
      import { holdHeapGrowth } from ${JSON.stringify(path.join(ROOT, "dist", "src", "store", "younggen.js"))};
      ${hold ? "holdHeapGrowth();" : ""}
      const live = Array.from({ length: 1000000 }, (_, i) => ({ i, s: "x" + i }));
      let peak = 0;
      const recent = [];
      for (let r = 0; r < 3000; r++) {
        recent.push(new Array(40000).fill(r));
        if (recent.length > 4) recent.shift();
        if (r % 10 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
      console.log(live.length, Math.round(peak / 1048576));
    `;
    const run = (hold: boolean) =>
      spawnSync(process.execPath, ["--input-type=module", "-e", script(hold)], {
        encoding: "utf8",
        env: { ...process.env, NODE_OPTIONS: "" },
      });
    const held = run(true);
    expect(held.stderr).toBe("");
    const [n, heldPeak] = held.stdout.trim().split(" ").map(Number);
    expect(n).toBe(1000000);
    const major = Number.parseInt(process.versions.v8, 10);
    if (major === 11 || major === 12) {
      const [, freePeak] = run(false).stdout.trim().split(" ").map(Number);
      expect(heldPeak).toBeLessThan(freePeak);
    }
  });
});
