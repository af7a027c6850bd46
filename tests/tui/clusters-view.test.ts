/**
 * The analysis views (tui.md §10.3 "add": clusters and priority-trend views). Clusters
 * (cli.md §2.19): the fourth view of `v`, clustered in the background with its progress
 * shown, members tagged with their cluster's rank, the cluster in the detail pane, made again
 * when items change (once they settle). The trend (cli.md §2.20): an overlay on `P`.
 */
import { describe, expect, it } from "vitest";
import { priorityTrend } from "../../src/index.js";
import { addAlike, flowKit } from "./flowkit.js";

describe("clusters view", () => {
  it("shows progress, then the clusters of similar open items, rank-tagged, with the cluster in the detail", async () => {
    const k = await flowKit({ cols: 100, rows: 30 });
    const words = ["lexer", "tokens", "grammar", "unicode", "escapes", "indentation"];
    // Eight near-duplicates (a topic an agent filed many times) among the fixture's items.
    const made = await addAlike(
      k,
      8,
      (i) => `yaml parser ${words[i % 6]} regression ${words[(i + 1) % 6]} variant${i}`,
      "the yaml parser mishandles tokens in block scalars after the lexer refactor",
    );
    await k.keys("v v v");
    expect(k.app.state.view).toBe("clusters");
    expect(k.screen()).toMatch(/Clustering similar items… \d+%/);
    await k.app.clustersReady();
    const s = k.app.state;
    expect(s.clusterView?.done).toBe(true);
    expect(s.clusterView?.clusters).toBeGreaterThanOrEqual(1);
    // The near-duplicates form one cluster of their own (short fixture titles that share
    // only 'the' cluster too: no stop words, as the reference's vectoriser).
    const rank = s.clusterView!.byId.get(made[1])!.rank;
    const members = s.clusterView!.order.filter((id) => s.clusterView!.byId.get(id)!.rank === rank);
    expect(members.length).toBeGreaterThanOrEqual(6);
    expect(members.every((id) => made.includes(id))).toBe(true);
    k.select(made[1]);
    const screen = k.screen();
    expect(screen).toContain("view: clusters");
    expect(screen).toContain(`#${rank} yaml parser`);
    expect(screen).toMatch(new RegExp(`Cluster: #${rank} of \\d+ — ${members.length} similar items, mean`));
    expect(k.app.state.rowsList.map((r) => r.id)).toEqual(s.clusterView!.order);
    // An item changes (its text no longer alike): clustered again once the items have
    // settled (CLUSTER_QUIET_MS), the previous clusters shown meanwhile; the view follows.
    await k.tracker.update(made[0], {
      set: { title: "completely different subject", description: "nothing in common" },
    });
    const before = k.app.state.clusterView;
    k.external();
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(k.app.state.clusterView).toBe(before);
    expect(k.screen()).not.toMatch(/Clustering similar items/);
    await k.app.clustersReady();
    expect(k.app.state.clusterView!.byId.has(made[0])).toBe(false);
    expect(k.app.state.rowsList.some((r) => r.id === made[0])).toBe(false);
    // Next view: back to all.
    await k.keys("v");
    expect(k.app.state.view).toBe("all");
  });

  it("a change while clustering does not restart the run: its clusters come, then the new items", async () => {
    const k = await flowKit({ cols: 100, rows: 30 });
    const made = await addAlike(
      k,
      6,
      (i) => `flaky websocket reconnect test ${i}`,
      "websocket reconnect backoff flaky under load in the integration suite",
    );
    await k.keys("V"); // previous view from all: clusters (the run starts)
    expect(k.app.state.clusterView?.done).toBe(false);
    await k.tracker.update(made[0], { set: { title: "unrelated", description: "a quiet topic" } });
    k.external(); // while the run is on
    // The run ends with the items it started on (made[0] still alike), without restarting...
    for (let i = 0; i < 2000 && !k.app.state.clusterView?.done; i++)
      await new Promise((r) => setImmediate(r));
    expect(k.app.state.clusterView?.done).toBe(true);
    expect(k.app.state.clusterView!.byId.has(made[0])).toBe(true);
    // ...then the changed items get their turn.
    await k.app.clustersReady();
    expect(k.app.state.clusterView!.byId.has(made[0])).toBe(false);
    expect(k.app.state.clusterView!.byId.has(made[1])).toBe(true);
    // A session closing stops the background work: a waiting re-clustering never starts.
    await k.tracker.update(made[1], { set: { title: "another quiet one", description: "elsewhere" } });
    k.external();
    const shown = k.app.state.clusterView;
    k.app.stopBackground();
    await k.app.clustersReady();
    expect(k.app.state.clusterView).toBe(shown);
    expect(k.app.state.clusterView!.byId.has(made[1])).toBe(true);
  });

  it("says so when nothing clusters", async () => {
    const k = await flowKit({ cols: 80, rows: 24 });
    await k.keys("V"); // previous view from all: clusters
    await k.app.clustersReady();
    expect(k.app.state.view).toBe("clusters");
    expect(k.screen()).toMatch(/No clusters among the 9 open items/);
  });
});

describe("priority-trend overlay", () => {
  it("P reads the op logs in the background, then charts the days the CLI reports; Esc closes", async () => {
    const k = await flowKit({ cols: 100, rows: 30 });
    const expected = priorityTrend(k.tracker);
    expect(expected.length).toBeGreaterThan(0);
    await k.keys("P");
    expect(k.app.state.trend.open).toBe(true);
    expect(k.screen()).toMatch(/Reading the op logs… \d+%/);
    await k.app.trendReady();
    expect(k.app.state.trend.points).toEqual(expected);
    const screen = k.screen();
    const a = expected.find((p) => p.meanPriority !== null)!;
    const b = expected.findLast((p) => p.meanPriority !== null)!;
    expect(screen).toContain(
      `${a.day}: P${a.meanPriority!.toFixed(2)} over ${a.open} open → ${b.day}: P${b.meanPriority!.toFixed(2)} over ${b.open} open`,
    );
    expect(screen).toMatch(/ open [▁▂▃▄▅▆▇█ ]+\n/);
    await k.keys("j"); // other keys do nothing while it is open
    expect(k.app.state.trend.open).toBe(true);
    await k.keys("Escape");
    expect(k.app.state.trend.open).toBe(false);
    expect(k.screen()).not.toContain("Priority trend");
  });
});
