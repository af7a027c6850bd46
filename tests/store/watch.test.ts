import fs from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { type ChangeEvent, watchTracker } from "../../src/index.js";
import { TEMPLATE_CONFIG_YAML } from "../../src/store/config.js";
import { generateTracker } from "../../src/store/generate.js";
import { discussOpText, emptyTracker, git, openTest, tmpDir } from "../helpers.js";

const discussOp = discussOpText;

/** Wait until `pred` holds for some collected event (or time out). */
async function waitFor(
  events: ChangeEvent[],
  pred: (e: ChangeEvent) => boolean,
  ms = 3000,
): Promise<ChangeEvent> {
  const start = Date.now();
  for (;;) {
    const hit = events.find(pred);
    if (hit) return hit;
    if (Date.now() - start > ms)
      throw new Error(`no matching change event within ${ms} ms; got ${JSON.stringify(events)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Count event-loop turns (one setImmediate each) until `stop()`, which returns the count. */
function countTurns(): { stop(): number } {
  let turns = 0;
  let counting = true;
  const count = () => {
    turns++;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  return {
    stop() {
      counting = false;
      return turns;
    },
  };
}

describe("change feed (tracker.watch)", () => {
  it("reports external appends, new files and unlinks, re-reading only appended bytes", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const { id } = await t.add({ kind: "work_item", title: "Watched" });
    const events: ChangeEvent[] = [];
    const w = watchTracker(t, (e) => events.push(e), { safetyIntervalMs: 0 });
    await w.ready;
    try {
      const rec = t.tiers.workspace.records.get(id)!;
      const offsetBefore = rec.offset;
      const t0 = performance.now();
      fs.appendFileSync(t.opFile(id), discussOp(2, "e001", "external"));
      await waitFor(events, (e) => e.changed.some((c) => c.id === id));
      const latency = performance.now() - t0;
      console.log(`external append → change event: ${latency.toFixed(1)} ms`);
      expect(t.get(id).discussion.map((d) => d.message)).toEqual(["external"]);
      const rec2 = t.tiers.workspace.records.get(id)!;
      expect(rec2).toBe(rec); // same record object: appended in place, not re-read
      expect(rec2.offset).toBeGreaterThan(offsetBefore);

      // A new item file written by someone else.
      const other = openTest(repo, { nonce: () => "f00d" });
      const added = await other.add({ kind: "work_item", title: "From another process" });
      await waitFor(events, (e) => e.added.some((a) => a.id === added.id));
      expect(t.get(added.id).title).toBe("From another process");

      fs.unlinkSync(other.opFile(added.id));
      await waitFor(events, (e) => e.removed.some((a) => a.id === added.id));
      expect(t.exists(added.id)).toBe(false);
    } finally {
      await w.close();
    }
  });

  it("reports the config files turning invalid and valid again (a config event, the problem listed)", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const cfg = path.join(repo, ".agent", "tracker", "config.yaml");
    const events: ChangeEvent[] = [];
    const w = watchTracker(t, (e) => events.push(e), { safetyIntervalMs: 0 });
    await w.ready;
    try {
      fs.writeFileSync(cfg, "kinds: [\n");
      const bad = await waitFor(events, (e) => e.config !== undefined);
      expect(bad.config).toBe("invalid");
      expect(t.problems().map((p) => [p.kind, p.file])).toEqual([["config", cfg]]);
      events.length = 0;
      fs.writeFileSync(cfg, TEMPLATE_CONFIG_YAML);
      expect((await waitFor(events, (e) => e.config !== undefined)).config).toBe("valid");
      expect(t.problems()).toEqual([]);
    } finally {
      await w.close();
    }
  });

  it("catches up, by the time it is ready, on writes made while it was starting", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const { id } = await t.add({ kind: "work_item", title: "Early" });
    const events: ChangeEvent[] = [];
    const w = watchTracker(t, (e) => events.push(e), { safetyIntervalMs: 0 });
    try {
      fs.appendFileSync(t.opFile(id), discussOp(2, "e002", "before ready"));
      await w.ready;
      expect(events.some((e) => e.changed.some((c) => c.id === id))).toBe(true);
      expect(t.get(id).discussion.map((d) => d.message)).toEqual(["before ready"]);
    } finally {
      await w.close();
    }
  });

  it("reports own writes as local changes", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const events: ChangeEvent[] = [];
    const w = watchTracker(t, (e) => events.push(e), { safetyIntervalMs: 0 });
    await w.ready;
    const { id } = await t.add({ kind: "work_item", title: "Mine" });
    await t.update(id, { set: { priority: 0 } });
    await w.close();
    expect(events.filter((e) => e.source === "local").map((e) => [e.added.length, e.changed.length])).toEqual(
      [
        [1, 0],
        [0, 1],
      ],
    );
  });

  it("retries a half-written op and reports it only if it stays torn", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const { id } = await t.add({ kind: "work_item", title: "Torn" });
    const events: ChangeEvent[] = [];
    const w = watchTracker(t, (e) => events.push(e), { safetyIntervalMs: 0, tornRetries: 4 });
    await w.ready;
    try {
      const op = discussOp(2, "e002", "completed later");
      fs.appendFileSync(t.opFile(id), op.slice(0, 40));
      await new Promise((r) => setTimeout(r, 30));
      fs.appendFileSync(t.opFile(id), op.slice(40));
      await waitFor(events, () => t.get(id).discussion.length === 1);
      expect(events.flatMap((e) => e.problems)).toEqual([]);
      fs.appendFileSync(t.opFile(id), discussOp(3, "e003", "never finished").slice(0, 30));
      const ev = await waitFor(events, (e) => e.problems.length > 0);
      expect(ev.problems[0]).toMatchObject({ kind: "torn-tail", fatal: false });
      expect(t.get(id).discussion.map((d) => d.message)).toEqual(["completed later"]);
    } finally {
      await w.close();
    }
  });

  it("polls when asked (fallback when file events are unavailable)", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const { id } = await t.add({ kind: "work_item", title: "Polled" });
    const events: ChangeEvent[] = [];
    const w = watchTracker(t, (e) => events.push(e), { usePolling: true, pollIntervalMs: 20 });
    expect(w.mode).toBe("polling");
    try {
      fs.appendFileSync(t.opFile(id), discussOp(2, "e004", "seen by polling"));
      await waitFor(events, (e) => e.source === "poll" && e.changed.some((c) => c.id === id));
      expect(t.get(id).discussion[0].message).toBe("seen by polling");
    } finally {
      await w.close();
    }
  });

  it("follows an op directory that is removed and created again (no safety poll)", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const { id } = await t.add({ kind: "work_item", title: "Moving dir" });
    const file = t.opFile(id);
    const dir = path.dirname(file);
    const bytes = fs.readFileSync(file);
    const events: ChangeEvent[] = [];
    const w = t.watch((e) => events.push(e), { safetyIntervalMs: 0 });
    expect(w.mode).toBe("events");
    await w.ready;
    try {
      fs.rmSync(dir, { recursive: true });
      await waitFor(events, (e) => e.removed.some((r) => r.id === id));
      fs.mkdirSync(dir);
      fs.writeFileSync(file, bytes);
      await waitFor(events, (e) => e.added.some((r) => r.id === id));
      // The new directory is watched: a later append arrives as a file event.
      fs.appendFileSync(file, discussOp(2, "e007", "after the directory came back"));
      await waitFor(events, (e) => e.source === "events" && e.changed.some((c) => c.id === id));
      expect(t.get(id).discussion[0].message).toBe("after the directory came back");
    } finally {
      await w.close();
    }
  });

  it("tracker.watch is the same feed", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const { id } = await t.add({ kind: "work_item", title: "Watched" });
    const events: ChangeEvent[] = [];
    const w = t.watch((e) => events.push(e), { usePolling: true, pollIntervalMs: 20 });
    try {
      fs.appendFileSync(t.opFile(id), discussOp(2, "e005", "seen through tracker.watch"));
      await waitFor(events, (e) => e.changed.some((c) => c.id === id));
      expect(t.get(id).discussion[0].message).toBe("seen through tracker.watch");
    } finally {
      await w.close();
    }
  });

  it("the batched re-stat finds exactly what the synchronous one finds", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await t.add({ kind: "work_item", title: `R${i}` })).id);
    const a = openTest(repo);
    const b = openTest(repo);
    const dir = path.dirname(t.opFile(ids[0]));
    fs.appendFileSync(t.opFile(ids[0]), discussOp(9, "e006", "appended")); // append
    fs.rmSync(t.opFile(ids[1])); // unlink
    const copy = fs.readFileSync(t.opFile(ids[2])); // replaced: new inode, same bytes
    fs.rmSync(t.opFile(ids[2]));
    fs.writeFileSync(t.opFile(ids[2]), copy);
    fs.writeFileSync(path.join(dir, `.${ids[3]}.frozen`), ""); // frozen marker
    fs.appendFileSync(t.opFile(ids[4]), "- op: upd"); // torn tail
    const { id: added } = await t.add({ kind: "work_item", title: "New" }); // new file
    const sync = a.tiers.workspace.rescan();
    // Several slices, each followed by a turn of the event loop (keys and renders run there).
    const turns = countTurns();
    const batched = await b.tiers.workspace.rescanAsync(2);
    const files = fs.readdirSync(dir).filter((n) => n.endsWith(".ops")).length;
    expect(turns.stop()).toBeGreaterThanOrEqual(Math.floor(files / 2) - 1);
    expect(Object.fromEntries(batched)).toEqual(Object.fromEntries(sync));
    expect(batched.get(ids[0])).toBe("changed");
    expect(batched.get(ids[1])).toBe("removed");
    expect(batched.get(ids[3])).toBe("changed");
    expect(batched.get(added)).toBe("added");
    expect(batched.has(ids[5])).toBe(false);
    const view = (x: typeof a) => x.items().map((i) => [i.id, i.frozen, i.discussion.length]);
    expect(view(b)).toEqual(view(a));
    expect(b.problems()).toEqual(a.problems());
    // Nothing changed since: both find nothing.
    expect((await b.tiers.workspace.rescanAsync()).size).toBe(0);
    expect(a.tiers.workspace.rescan().size).toBe(0);
  });

  it("the batched re-stat ends a slice early on a slow file system, skipping no file", async () => {
    const repo = tmpDir("htrac-slowfs-");
    generateTracker(repo, { items: 120, opsPerItem: 2, seed: 4 });
    const t = openTest(repo);
    const ids = [...t.tiers.workspace.records.keys()];
    // Every 10th file changes (some at slice edges, whatever they turn out to be).
    const changed = ids.filter((_, i) => i % 10 === 0);
    for (const id of changed) fs.appendFileSync(t.opFile(id), discussOp(90, "e0f0", "late"));
    const real = fs.statSync;
    // ~0.5 ms per stat: 16 stats pass the 4 ms slice budget.
    const slow = vi.spyOn(fs, "statSync").mockImplementation(((...args: Parameters<typeof fs.statSync>) => {
      const until = performance.now() + 0.5;
      while (performance.now() < until);
      return real(...args);
    }) as typeof fs.statSync);
    const turns = countTurns();
    let found: Map<string, string>;
    try {
      found = await t.tiers.workspace.rescanAsync(); // at most 256 files a slice by count
    } finally {
      slow.mockRestore();
    }
    expect(turns.stop()).toBeGreaterThanOrEqual(Math.floor(ids.length / 16) - 1);
    expect([...found.keys()].sort()).toEqual([...changed].sort());
    expect([...found.values()].every((c) => c === "changed")).toBe(true);
  });

  it("survives git checkout rewriting hundreds of files; state equals a fresh load", async () => {
    const repo = tmpDir("htrac-checkout-");
    generateTracker(repo, { items: 300, opsPerItem: 4, seed: 9 });
    const g = (...args: string[]) => git(repo, ...args);
    g("init", "-q", "-b", "main");
    g("add", "-A");
    g("commit", "-qm", "base");
    g("checkout", "-qb", "other");
    const t0 = openTest(repo);
    let n = 0;
    for (const it of t0.items()) {
      fs.appendFileSync(
        path.join(t0.paths.tierDirs[it.tier!], `.${it.id}.ops`),
        discussOp(999, (0xd000 + n++).toString(16), `branch note ${n}`),
      );
    }
    g("commit", "-qam", "notes");
    g("checkout", "-q", "main");
    const t = openTest(repo);
    const events: ChangeEvent[] = [];
    const w = watchTracker(t, (e) => events.push(e), { safetyIntervalMs: 0 });
    await w.ready;
    try {
      g("checkout", "-q", "other");
      await waitFor(
        events,
        () => t.items().every((i) => i.discussion.some((d) => d.message.startsWith("branch note"))),
        8000,
      );
      g("checkout", "-q", "main");
      await waitFor(
        events,
        () => t.items().every((i) => !i.discussion.some((d) => d.message.startsWith("branch note"))),
        8000,
      );
      expect(t.items()).toEqual(openTest(repo).items());
      expect(t.problems()).toEqual([]);
    } finally {
      await w.close();
    }
  }, 60_000);
});

describe("change feed over a warm-start cache (items still in the cache file)", () => {
  it("an external append to a cached item is seen, in its item, summary and kept texts", async () => {
    const repo = tmpDir("htrac-watch-warm-");
    generateTracker(repo, { items: 60, seed: 3, opsPerItem: 4 });
    const xdg = tmpDir("htrac-watch-warm-xdg-");
    const env = { ...process.env, XDG_CACHE_HOME: xdg, HTRAC_NO_CACHE: "" };
    openTest(repo, { env, indexCacheMinFiles: 1 }); // writes the cache
    const t = openTest(repo, { env, indexCacheMinFiles: 1 });
    const ws = t.tiers.workspace;
    const id = [...ws.records.keys()][0];
    expect(ws.records.get(id)!.body).not.toBeNull(); // still in the cache file
    const render = (i: { id: string; discussion: unknown[] }) => `${i.id}:${i.discussion.length}`;
    const before = t.derivedTexts([{ id, tier: "workspace" }], "w/1", render)[0].toString();
    const events: ChangeEvent[] = [];
    const w = watchTracker(t, (e) => events.push(e), { safetyIntervalMs: 0 });
    await w.ready;
    try {
      const n = t.get(id).discussion.length;
      fs.appendFileSync(t.opFile(id), discussOp(900, "e901", "seen live"));
      await waitFor(events, (e) => e.changed.some((c) => c.id === id));
      expect(t.get(id).discussion.at(-1)?.message).toBe("seen live");
      expect(t.summaries().find((s) => s.id === id)!.unread).toBe(0); // an agent's message
      const after = t.derivedTexts([{ id, tier: "workspace" }], "w/1", render)[0].toString();
      expect([before, after]).toEqual([`${id}:${n}`, `${id}:${n + 1}`]);
    } finally {
      await w.close();
    }
  });
});
