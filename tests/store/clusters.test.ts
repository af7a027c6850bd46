/**
 * `clusters` (cli.md §2.19, tui.md §7.6): the TF-IDF weights of scikit-learn's settings
 * (checked against the formulas on a small corpus), the vocabulary bounds, ID masking,
 * Jarvis-Patrick joining, which items are fitted and which are clustered, ranking, and the
 * stepped run the TUI uses.
 */
import { describe, expect, it } from "vitest";
import { clusterItems, clusterSteps, clusterText, type Item, mentionPattern } from "../../src/index.js";
import { emptyTracker, fixedClock, openTest } from "../helpers.js";

/** A tracker with one item per title (descriptions and statuses optional). */
async function corpus(
  titles: (string | { title: string; description?: string; status?: string })[],
): Promise<{ items: Item[]; t: ReturnType<typeof openTest> }> {
  const t = openTest(emptyTracker(), { now: fixedClock("2026-01-15T12:00:00Z", 60_000) }); // same titles, new IDs
  for (const x of titles) {
    const o = typeof x === "string" ? { title: x } : x;
    await t.add({ kind: "work_item", priority: 2, ...o });
  }
  const items = t.list();
  return { items, t };
}

const titlesOf = (members: Item[]) => members.map((m) => m.title).sort();

describe("clusterItems", () => {
  it("weighs terms as TfidfVectorizer(sublinear_tf, min_df=2, max_df=0.8) and joins mutual neighbours", async () => {
    const { items, t } = await corpus([
      "alpha beta gamma",
      "alpha beta delta",
      "alpha gamma delta",
      "epsilon zeta",
      "epsilon zeta z", // (a one-letter word is no token: the same text, another ID)
    ]);
    const r = clusterItems(items, t.config, { k: 2, shared: 1 });
    // n = 5 fitted items; alpha in 3, beta/gamma/delta/epsilon/zeta in 2 each; tf 1 everywhere.
    const ia = Math.log(6 / 4) + 1;
    const ib = Math.log(6 / 3) + 1;
    // A·B = ia² + ib² over |A|² = ia² + 2·ib² (every pair of the three alike).
    const cos = (ia * ia + ib * ib) / (ia * ia + 2 * ib * ib);
    expect(r.clusters).toHaveLength(1); // the epsilon pair shares no third neighbour
    expect(titlesOf(r.clusters[0].members)).toEqual([
      "alpha beta delta",
      "alpha beta gamma",
      "alpha gamma delta",
    ]);
    expect(r.clusters[0].meanSimilarity).toBeCloseTo(cos, 12);
    expect(r).toMatchObject({ k: 2, shared: 1, items: 5, fitItems: 5 });
    // shared 0: mutual neighbours are enough; identical texts have similarity 1, ranked first.
    const loose = clusterItems(items, t.config, { k: 2, shared: 0 });
    expect(loose.clusters.map((c) => [c.rank, titlesOf(c.members)])).toEqual([
      [1, ["epsilon zeta", "epsilon zeta z"]],
      [2, ["alpha beta delta", "alpha beta gamma", "alpha gamma delta"]],
    ]);
    expect(loose.clusters[0].meanSimilarity).toBeCloseTo(1, 12);
  });

  it("ignores words in one item only (min_df) or in more than 80% of them (max_df)", async () => {
    // 'common' is in 5 of 6 items (> 0.8): ignored; each 'uniqueN' in one: ignored. The
    // first two then share nothing the vectoriser keeps, so they never link.
    const { items, t } = await corpus([
      "common unique1",
      "common unique2",
      "common pair pair",
      "common pair",
      "common other",
      "lonely other",
    ]);
    const r = clusterItems(items, t.config, { k: 3, shared: 0 });
    expect(r.clusters.map((c) => titlesOf(c.members)).sort()).toEqual([
      ["common other", "lonely other"],
      ["common pair", "common pair pair"],
    ]);
    // 'pair pair' counts 1 + ln 2 in one item and 1 in the other, but each row is that one
    // term only: similarity 1 after L2 normalisation, as for the 'other' pair.
    expect(r.clusters.map((c) => c.meanSimilarity)).toEqual([1, 1].map((x) => expect.closeTo(x, 12)));
  });

  it("masks item IDs as ITEM and ADR references as ADR before weighing words", async () => {
    const { items, t } = await corpus(["first", "second"]);
    const [a, b] = items;
    const it = { ...a, description: `see ${b.id}, ${b.id.slice(0, 14)} and ADR-0020; not XADR-1` } as Item;
    const text = clusterText(it, mentionPattern(t.config.kinds));
    expect(text).toContain("see  ITEM ,  ITEM  and  ADR ; not XADR-1");
    expect(text).not.toContain(b.id.slice(3, 14));
  });

  it("fits on every non-deleted item, clusters the unresolved ones (or --all, or --status)", async () => {
    const { items, t } = await corpus([
      { title: "cache miss storm", status: "todo_hard" },
      { title: "cache miss storm again", status: "done" },
      { title: "cache miss storm third", status: "todo_soft" },
      { title: "cache miss storm deleted", status: "deleted" },
      { title: "unrelated words here" },
      { title: "more unrelated words" },
    ]);
    const open = clusterItems(items, t.config, { k: 3, shared: 0 });
    expect(open).toMatchObject({ items: 4, fitItems: 5 });
    expect(open.clusters.map((c) => titlesOf(c.members))).toEqual([
      ["more unrelated words", "unrelated words here"],
      ["cache miss storm", "cache miss storm third"],
    ]);
    const all = clusterItems(items, t.config, { k: 3, shared: 0, all: true });
    expect(all.items).toBe(5);
    expect(all.clusters.flatMap((c) => c.members).map((m) => m.title)).toContain("cache miss storm again");
    expect(all.clusters.flatMap((c) => c.members).map((m) => m.title)).not.toContain(
      "cache miss storm deleted",
    );
    // (the two 'unrelated' items have the kind's default status, todo_hard)
    const some = clusterItems(items, t.config, { k: 3, shared: 0, statuses: ["done", "todo_soft"] });
    expect(some.items).toBe(2);
    expect(some.clusters.map((c) => titlesOf(c.members))).toEqual([
      ["cache miss storm again", "cache miss storm third"],
    ]);
    // --min-size and --limit
    expect(clusterItems(items, t.config, { k: 3, shared: 0, all: true, minSize: 3 }).clusters).toHaveLength(
      1,
    );
    expect(clusterItems(items, t.config, { k: 3, shared: 0, limit: 1 }).clusters).toHaveLength(1);
  });

  it("runs in steps that report progress and end with the same result", async () => {
    // (`n<i>` is in one item only: no weight, but a distinct ID per item)
    const titles = Array.from({ length: 150 }, (_, i) => `topic${i % 7} shared words batch${i % 11} n${i}`);
    const { items, t } = await corpus(titles);
    const steps = clusterSteps(items, t.config);
    const progress: number[] = [];
    let r = steps.next();
    while (!r.done) {
      progress.push(r.value);
      r = steps.next();
    }
    expect(progress.length).toBeGreaterThan(3);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    expect(progress.every((p) => p > 0 && p <= 1)).toBe(true);
    const direct = clusterItems(items, t.config);
    expect(r.value.clusters.map((c) => c.members.map((m) => m.id))).toEqual(
      direct.clusters.map((c) => c.members.map((m) => m.id)),
    );
    expect(direct.clusters.length).toBeGreaterThan(0);
  });
});
