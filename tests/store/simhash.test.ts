/**
 * SimHash (store.md §4.2): the fast implementation against the plain per-token algorithm,
 * against Python's hashlib where a python3 exists, and the kept create-data hashes behind
 * `add`'s near-duplicate warning.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Item, TEMPLATE_CONFIG_YAML } from "../../src/index.js";
import { hamming, popcount32, simhash, simhashHalves } from "../../src/store/simhash.js";
import { CREATE_SIMHASH_KEY } from "../../src/store/tracker.js";
import { emptyTracker, openTest, tmpDir } from "../helpers.js";

/** The algorithm as store.md §4.2 words it: every token votes, one by one, in BigInt. */
function plainSimhash(text: string): bigint {
  const votes = new Array<number>(64).fill(0);
  for (const tok of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    const d = createHash("sha1").update(tok, "utf8").digest();
    const h = d.readBigUInt64BE(d.length - 8);
    for (let b = 0; b < 64; b++) votes[b] += (h >> BigInt(b)) & 1n ? 1 : -1;
  }
  let out = 0n;
  for (let b = 0; b < 64; b++) if (votes[b] > 0) out |= 1n << BigInt(b);
  return out;
}

const WORDS = ["route", "handler", "parser", "cache", "Route", "x1", "ÉTÉ", "a", "", "0", "zz9"];

describe("simhash", () => {
  it("equals the plain per-token algorithm (repeated words, case, non-ASCII, empty)", () => {
    const text = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 200 }),
      fc.array(fc.constantFrom(...WORDS), { maxLength: 300 }).map((ws) => ws.join(" ")),
    );
    fc.assert(
      fc.property(text, (s) => {
        const h = simhash(s);
        expect(h).toBe(plainSimhash(s));
        const [hi, lo] = simhashHalves(s);
        expect((BigInt(hi) << 32n) | BigInt(lo)).toBe(h);
      }),
      { numRuns: 300 },
    );
  });

  it("matches Python's hashlib on the reference's algorithm", (ctx) => {
    const probe = spawnSync("python3", ["-c", "import hashlib"], { encoding: "utf8" });
    if (probe.status !== 0) {
      console.log("skipped: no python3 to compute reference SimHashes");
      ctx.skip();
    }
    const texts = [
      "Routes must have methods",
      "Fix the YAML parser fast path for op logs. Second line.",
      `${"lorem ipsum dolor ".repeat(500)} sit amet`,
      "Ünïcode wörds and ASCII 123 mixed_with-dashes",
      "",
    ];
    const py = `
import hashlib, json, re, sys
def simhash(text):
    v = [0] * 64
    for tok in re.findall(r"[a-z0-9]+", text.lower()):
        h = int.from_bytes(hashlib.sha1(tok.encode()).digest(), "big") & ((1 << 64) - 1)
        for b in range(64):
            v[b] += 1 if (h >> b) & 1 else -1
    return sum(1 << b for b in range(64) if v[b] > 0)
print(json.dumps([str(simhash(t)) for t in json.load(sys.stdin)]))
`;
    const r = spawnSync("python3", ["-c", py], { input: JSON.stringify(texts), encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(texts.map((t) => simhash(t).toString())).toEqual(JSON.parse(r.stdout));
  });

  it("popcount32 and hamming count differing bits", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (x) => {
        expect(popcount32(x)).toBe(x.toString(2).replace(/0/g, "").length);
      }),
    );
    expect(hamming(0n, (1n << 64n) - 1n)).toBe(64);
    expect(hamming(0b1011n, 0b0001n)).toBe(2);
  });
});

describe("add's near-duplicate warning (store.md §4.2)", () => {
  it("names the close items of the tier; a later process takes their hashes from the cache, not the items", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const env = { ...process.env, XDG_CACHE_HOME: tmpDir(), HTRAC_NO_CACHE: "" };
    const opts = { env, indexCacheMinFiles: 20 };
    const t = openTest(repo, opts);
    // Each item's title: twenty words of its own; the new one repeats item 3's, plus one.
    const words = (i: number) => Array.from({ length: 20 }, (_, k) => `w${i}x${k}`).join(" ");
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await t.add({ kind: "work_item", title: words(i) })).id);
    const first = await openTest(repo, opts).add({
      kind: "work_item",
      title: words(3),
      description: "again",
    });
    const d = hamming(plainSimhash(`${words(3)} again`), plainSimhash(`${words(3)} `));
    expect(d).toBeLessThanOrEqual(8);
    expect(first.warnings).toEqual([
      `${first.id} is similar to existing ${ids[3]} (SimHash distance: ${d} bits). Creating anyway. Use 'update ${first.id} --add-duplicate-of ${ids[3]}' to mark as duplicate, or 'update ${first.id} --add-not-duplicate-of ${ids[3]}' to suppress.`,
    ]);
    // That add kept every item's hash in the warm-start cache: a new process renders none.
    const later = openTest(repo, opts);
    const rendered: string[] = [];
    later.derivedTexts(later.listSummaries({ tier: "workspace" }), CREATE_SIMHASH_KEY, (i: Item) => {
      rendered.push(i.id);
      return "";
    });
    expect(rendered).toEqual([first.id]); // (only the item added after the cache was written)
    // not_duplicate_of skips a pair.
    const second = await later.add({
      kind: "work_item",
      title: words(3),
      description: "once more",
      not_duplicate_of: [ids[3], first.id],
    });
    expect(second.warnings).toEqual([]);
  });
});
