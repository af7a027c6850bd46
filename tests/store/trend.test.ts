/**
 * priority-trend (cli.md §2.20, tui.md §7.5): open items and their mean priority at the end
 * of each UTC day, replayed from the op logs; quiet days carry the state forward; the window
 * cuts the days shown, not the history; the stop-hook scope; and the SVG it writes.
 */
import { describe, expect, it } from "vitest";
import { priorityTrend } from "../../src/index.js";
import { trendSvg } from "../../src/cli/trend-svg.js";
import { emptyTracker, openTest } from "../helpers.js";

/** A tracker whose clock the test sets (ISO), one op per call. */
function clocked() {
  let now = Date.parse("2026-03-01T10:00:00Z");
  const t = openTest(emptyTracker(), { now: () => now });
  return { t, at: (iso: string) => (now = Date.parse(iso)) };
}

describe("priorityTrend", () => {
  it("replays each day's end state; quiet days carry it; resolved items are not open", async () => {
    const { t, at } = clocked();
    at("2026-03-01T10:00:00Z");
    const a = (await t.add({ kind: "work_item", title: "first", priority: 1 })).id;
    at("2026-03-01T11:00:00Z");
    const b = (await t.add({ kind: "work_item", title: "second", priority: 3 })).id;
    at("2026-03-02T09:00:00Z");
    await t.update(a, { set: { status: "done" } });
    at("2026-03-02T23:59:59Z");
    await t.update(b, { set: { priority: 2 } });
    // 2026-03-03: nothing happens
    at("2026-03-04T08:00:00Z");
    await t.add({ kind: "work_item", title: "third", priority: 0 });
    at("2026-03-04T09:00:00Z");
    await t.update(a, { set: { status: "todo_hard" } }); // reopened
    expect(priorityTrend(t)).toEqual([
      { day: "2026-03-01", open: 2, meanPriority: 2 },
      { day: "2026-03-02", open: 1, meanPriority: 2 },
      { day: "2026-03-03", open: 1, meanPriority: 2 },
      { day: "2026-03-04", open: 3, meanPriority: 1 },
    ]);
    // The window cuts the days shown; the state on its first day still has the history.
    expect(priorityTrend(t, { since: "2026-03-02", until: "2026-03-03" })).toEqual([
      { day: "2026-03-02", open: 1, meanPriority: 2 },
      { day: "2026-03-03", open: 1, meanPriority: 2 },
    ]);
    expect(priorityTrend(t, { since: "2026-04-01" })).toEqual([]);
  });

  it("counts a day with every item resolved as none open, and honours the workspace scope", async () => {
    const { t, at } = clocked();
    at("2026-03-01T10:00:00Z");
    const a = (await t.add({ kind: "work_item", title: "only", priority: 2 })).id;
    at("2026-03-02T10:00:00Z");
    await t.update(a, { set: { status: "wont_do" } });
    at("2026-03-02T11:00:00Z");
    await t.add({ kind: "work_item", title: "canonical one", priority: 0, tier: "canonical" });
    expect(priorityTrend(t)).toEqual([
      { day: "2026-03-01", open: 1, meanPriority: 2 },
      { day: "2026-03-02", open: 1, meanPriority: 0 },
    ]);
    const scoped = Object.assign(Object.create(Object.getPrototypeOf(t)), t, {
      config: { ...t.config, scope: "workspace" },
    }) as typeof t;
    expect(priorityTrend(scoped)).toEqual([
      { day: "2026-03-01", open: 1, meanPriority: 2 },
      { day: "2026-03-02", open: 0, meanPriority: null },
    ]);
  });
});

describe("the trend's SVG", () => {
  it("is a 960×440 plot with the reference's title and a hover title per day with open items", () => {
    const svg = trendSvg([
      { day: "2026-03-01", open: 2, meanPriority: 2 },
      { day: "2026-03-02", open: 0, meanPriority: null },
      { day: "2026-03-03", open: 3, meanPriority: 1.3333333 },
    ]);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="960" height="440"/);
    expect(svg).toContain(">Mean priority of open tracker items</text>");
    expect([...svg.matchAll(/<circle [^>]*><title>([^<]*)<\/title><\/circle>/g)].map((m) => m[1])).toEqual([
      "2026-03-01: mean 2.00 over 2 open",
      "2026-03-03: mean 1.33 over 3 open",
    ]);
    // Gridlines every quarter priority over a span of one (P1 to P2 here), every half over
    // two, every whole one above.
    expect([...svg.matchAll(/>P([\d.]+)<\/text>/g)].map((m) => m[1])).toEqual([
      "1",
      "1.25",
      "1.5",
      "1.75",
      "2",
    ]);
    const wide = trendSvg([
      { day: "2026-03-01", open: 1, meanPriority: 0.5 },
      { day: "2026-03-02", open: 1, meanPriority: 3.5 },
    ]);
    expect([...wide.matchAll(/>P([\d.]+)<\/text>/g)].map((m) => m[1])).toEqual(["0", "1", "2", "3", "4"]);
    expect(svg.endsWith("</svg>\n")).toBe(true);
    expect(trendSvg([])).toContain(">no open items</text>");
  });
});
