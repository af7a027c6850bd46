/** A small run of the reader fuzz (the full ≥10k-case run is `npm run fuzz`). */
import { describe, expect, it } from "vitest";
import { corpusTexts, runFuzz } from "../../bench/fuzz-lib.js";
import { CORPUS_AGENT } from "../helpers.js";

describe("fuzz (small run)", () => {
  it("parser never throws untyped errors, compile only refuses with typed errors", () => {
    const corpus = corpusTexts(CORPUS_AGENT);
    expect(corpus.length).toBeGreaterThan(50);
    const r = runFuzz({ cases: 900, seed: 20261122, corpus });
    expect(r.cases).toBeGreaterThanOrEqual(900);
    // The inputs reached both the happy path and the error paths.
    expect(r.compiled).toBeGreaterThan(0);
    expect(Object.keys(r.problemKinds).length).toBeGreaterThan(0);
  }, 120_000);
});
