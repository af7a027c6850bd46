/**
 * The warm-start cache: a cached load equals a parsed one (including floats, nested maps and
 * prototype-named keys), and every kind of change is noticed (append, equal-size rewrite,
 * inode change, edit-mode log, corrupt cache). HTRAC_NO_CACHE disables it.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import {
  CacheSource,
  deltaCachePath,
  INDEX_CACHE_KEEP,
  indexCachePath,
  pruneIndexCache,
} from "../../src/store/indexcache.js";
import { type Item, summarizeItem, TIERS } from "../../src/store/compile.js";
import { lastAuthor, LazyItem, threadLength } from "../../src/store/lazyitem.js";
import { generateTracker } from "../../src/store/generate.js";
import { CACHE_REFRESH_FILES, DELTA_CACHE_SHARE, Tracker } from "../../src/store/tracker.js";
import { matchQuery, parseQuery } from "../../src/store/query.js";
import { serializeOp } from "../../src/store/serialize.js";
import { newMap, PyFloat } from "../../src/store/values.js";
import { discussOpText, openTest, tmpDir } from "../helpers.js";

function setup() {
  const repo = tmpDir("htrac-cache-repo-");
  generateTracker(repo, { items: 120, seed: 9, opsPerItem: 6 });
  const xdg = tmpDir("htrac-cache-xdg-");
  const env = { ...process.env, XDG_CACHE_HOME: xdg, HTRAC_NO_CACHE: "" };
  // One item with every value shape a cache could get wrong.
  const ws = path.join(repo, ".agent", "tracker-workspace", ".ops");
  const data = newMap();
  const fields = newMap();
  fields.ratio = new PyFloat(1.5);
  fields.__proto__ = "plain data";
  fields["constructor" as string] = ["x", new PyFloat(2)];
  const nested = newMap();
  nested.inner = [1, true, null, "s"];
  fields.nested = nested;
  // Keys a cache marker could be mistaken for.
  fields["\u0000same"] = "nul-prefixed key";
  fields["\u0000pyfloat"] = "another";
  Object.assign(data, {
    kind: "work_item",
    title: "Shapes",
    status: "todo_hard",
    priority: 2,
    parent: null,
    tags: ["a"],
    isbefore: [],
    duplicate_of: [],
    not_duplicate_of: [],
    pr_ref: null,
    description: "",
    fields,
  });
  const op = newMap();
  Object.assign(op, {
    op: "create",
    at: "2026-01-01T00:00:00Z",
    by: "human",
    actor: "alice",
    clock: 1,
    nonce: "c0de",
    data,
  });
  const shapes = "WI-bibab-bibab-bibab-bibab-bibab-bibab-bibab-bibab";
  // A thread with text a JSON or v8 round trip could get wrong.
  const talk = (clock: number, nonce: string, type: string, message: string) => {
    const d = newMap();
    Object.assign(d, {
      op: type,
      at: "2026-01-02T00:00:00Z",
      by: "agent",
      actor: "x_agent",
      clock,
      nonce,
      message,
    });
    return serializeOp(d);
  };
  fs.writeFileSync(
    path.join(ws, `.${shapes}.ops`),
    serializeOp(op) +
      talk(2, "d001", "discuss", 'é 😀 "quoted" \\ back\nslash\ttab \u0085 \u2028') +
      talk(3, "d002", "discuss_summarize", "summary: [x], {y}") +
      talk(4, "d003", "discuss", ""),
  );
  // A thread the edit-mode pass changed (an edited and a deleted message) and text with a
  // lone surrogate (read from a YAML escape): the cache keeps it exactly.
  const edited = "WI-dabab-dabab-dabab-dabab-dabab-dabab-dabab-dabab";
  const at = (s: number) => `2026-01-03T00:00:${String(s).padStart(2, "0")}Z`;
  const opOf = (o: Record<string, unknown>) => {
    const m = newMap();
    Object.assign(m, o);
    return serializeOp(m);
  };
  const createEdited = newMap();
  Object.assign(createEdited, op, {
    nonce: "e000",
    data: Object.assign(newMap(), data, {
      fields: Object.assign(newMap(), { ratio: new PyFloat(1.5), kept: "k" }),
    }),
  });
  fs.writeFileSync(
    path.join(ws, `.${edited}.ops`),
    serializeOp(createEdited) +
      "- op: discuss  # e001\n  at: '2026-01-03T00:00:01Z'  # e001\n  by: agent  # e001\n" +
      "  actor: x_agent  # e001\n  clock: 2  # e001\n  nonce: e001  # e001\n" +
      '  message: "lone \\ud800 surrogate"  # e001\n' +
      opOf({
        op: "discuss",
        at: at(2),
        by: "agent",
        actor: "x_agent",
        clock: 3,
        nonce: "e002",
        message: "first",
      }) +
      opOf({
        op: "discuss",
        at: at(3),
        by: "agent",
        actor: "y_agent",
        clock: 4,
        nonce: "e003",
        message: "gone",
      }) +
      opOf({
        op: "edit-mode-on",
        at: at(4),
        by: "human",
        actor: "alice",
        clock: 5,
        nonce: "e004",
        ttl_seconds: 1800,
        cap_max: 500,
      }) +
      opOf({
        op: "edit-msg-text",
        at: at(5),
        by: "human",
        actor: "alice",
        clock: 6,
        nonce: "e005",
        item: edited,
        target_nonce: "e002",
        new_text: "second",
        reason: "typo",
      }) +
      opOf({
        op: "delete-msg",
        at: at(6),
        by: "human",
        actor: "alice",
        clock: 7,
        nonce: "e006",
        item: edited,
        target_nonce: "e003",
        reason: "noise",
      }) +
      opOf({
        op: "update",
        at: at(7),
        by: "human",
        actor: "alice",
        clock: 8,
        nonce: "e007",
        set: Object.assign(newMap(), {
          title: "Renamed later",
          fields: Object.assign(newMap(), { ratio: new PyFloat(2.5) }),
        }),
      }),
  );
  // Non-ASCII text that fits in latin1 (the one-byte thread encoding).
  const latin = "WI-dubub-dubub-dubub-dubub-dubub-dubub-dubub-dubub";
  fs.writeFileSync(
    path.join(ws, `.${latin}.ops`),
    serializeOp(Object.assign(newMap(), op, { nonce: "f000" })) +
      opOf({
        op: "discuss",
        at: at(1),
        by: "agent",
        actor: "z_agent",
        clock: 2,
        nonce: "f001",
        message: "café ÿ\u0085\u00a0",
      }),
  );
  return { repo, env, ws, shapes, edited, latin };
}

/** An edit-mode-on op by a human (written to a tier's edit-mode log). */
const EDIT_MODE_ON = serializeOp(
  Object.assign(newMap(), {
    op: "edit-mode-on",
    at: "2027-06-01T00:00:00Z",
    by: "human",
    actor: "alice",
    clock: 999,
    nonce: "e0e0",
    ttl_seconds: 1800,
    cap_max: 500,
  }),
);

const snap = (t: ReturnType<typeof openTest>) =>
  t
    .items()
    .map((i) =>
      JSON.stringify({
        ...i,
        fields: Object.entries(i.fields).map(([k, v]) => [k, JSON.stringify(v), v instanceof PyFloat]),
      }),
    )
    .sort();

describe("warm-start index cache", () => {
  it("a cached load equals a parsed one; changed files are re-read, the rest is not", async () => {
    const { repo, env, ws, shapes, edited, latin } = setup();
    const parsed = openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" }, indexCacheMinFiles: 10 });
    const expected = snap(parsed);
    const cacheFile = indexCachePath(ws, env)!;
    expect(fs.existsSync(cacheFile)).toBe(false); // disabled: nothing written
    const first = openTest(repo, { env, indexCacheMinFiles: 10 }); // parses everything, writes the cache
    expect(snap(first)).toEqual(expected);
    expect(fs.existsSync(cacheFile)).toBe(true);
    const warm = openTest(repo, { env, indexCacheMinFiles: 10 });
    expect(snap(warm)).toEqual(expected);
    // Every workspace record came from the cache (no fold until something changes).
    expect([...warm.tiers.workspace.records.values()].every((r) => r.fromCache)).toBe(true);
    // The create data (used by validate and similarity) revives equal too, sharing nothing
    // it should not: the renamed title and changed field keep their created values.
    const createData = (t: ReturnType<typeof openTest>) =>
      [...t.tiers.workspace.records.keys()]
        .map(
          (id) =>
            `${id} ${JSON.stringify(t.tiers.workspace.createData(id), (_k, v: unknown) => (v instanceof PyFloat ? `float:${v.value}` : v))}`,
        )
        .sort();
    expect(createData(warm)).toEqual(createData(parsed));
    const cd = warm.tiers.workspace.createData(edited)!;
    expect([cd.title, warm.get(edited).title]).toEqual(["Shapes", "Renamed later"]);
    expect(cd.fields).toEqual(Object.assign(newMap(), { ratio: new PyFloat(1.5), kept: "k" }));
    expect(warm.get(edited).fields).toEqual(Object.assign(newMap(), { ratio: new PyFloat(2.5), kept: "k" }));
    const shapesData = warm.tiers.workspace.createData(shapes)!;
    expect((shapesData.fields as Record<string, unknown>)["\u0000same"]).toBe("nul-prefixed key");
    expect(warm.get(shapes).fields["\u0000pyfloat"]).toBe("another");
    expect(warm.get(latin).discussion.map((e) => [e.actor, e.message])).toEqual([
      ["z_agent", "café ÿ\u0085\u00a0"],
    ]);
    const thread = warm.get(edited).discussion;
    expect(thread.map((e) => [e.message, e.edit_history, e.is_tombstoned])).toEqual([
      ["lone \ud800 surrogate", [], false],
      ["second", ["first"], false],
      ["gone", [], true],
    ]);
    expect(thread.map((e) => e.actor)).toEqual(["x_agent", "x_agent", "y_agent"]);
    const f = warm.get(shapes).fields;
    expect(f.ratio).toBeInstanceOf(PyFloat);
    expect(Object.hasOwn(f, "__proto__")).toBe(true);
    expect(f.__proto__).toBe("plain data");
    expect(Object.getPrototypeOf(f.nested as object)).toBe(Object.getPrototypeOf(newMap()));
    // An append through the store works on a cached record and is seen by the next load.
    const id = warm.items().find((i) => i.tier === "workspace" && i.id !== shapes)!.id;
    await warm.discuss(id, "after the cache");
    const again = openTest(repo, { env, indexCacheMinFiles: 10 });
    expect(again.get(id).discussion.at(-1)?.message).toBe("after the cache");
    expect(again.tiers.workspace.records.get(id)!.fromCache).toBe(false); // re-read
    // An external append to a cached record in a live tracker: refresh re-reads the file.
    const file = again.opFile(shapes);
    const o = newMap();
    Object.assign(o, {
      op: "discuss",
      at: "2026-02-01T00:00:00Z",
      by: "agent",
      actor: "x_agent",
      clock: 5,
      nonce: "d00d",
      message: "live",
    });
    fs.appendFileSync(file, serializeOp(o));
    again.tiers.workspace.refresh(shapes);
    expect(again.get(shapes).discussion.map((d) => d.message)).toEqual(["summary: [x], {y}", "", "live"]);
  });

  it("notices equal-size rewrites, replaced files, edit-mode log changes and a corrupt cache", () => {
    const { repo, env, ws, shapes, edited } = setup();
    openTest(repo, { env, indexCacheMinFiles: 10 }); // writes the cache
    const cacheFile = indexCachePath(ws, env)!;
    // Equal-size rewrite: same length, other title.
    const file = path.join(ws, `.${shapes}.ops`);
    const text = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, text.replace("Shapes", "Shaped"));
    expect(openTest(repo, { env, indexCacheMinFiles: 10 }).get(shapes).title).toBe("Shaped");
    // Replaced by rename (new inode).
    fs.writeFileSync(`${file}.tmp`, text.replace("Shapes", "Renamd"));
    fs.renameSync(`${file}.tmp`, file);
    expect(openTest(repo, { env, indexCacheMinFiles: 10 }).get(shapes).title).toBe("Renamd");
    // The edit-mode log is part of every item's compile input (its ops move `updated_at`):
    // cached items are brought up to date without re-reading their files, except items whose
    // file holds edit-mode or message ops (re-read), and equal a fresh parse.
    const log = path.join(repo, ".agent", "tracker-workspace", ".edit-mode", "edit-mode.ops");
    fs.mkdirSync(path.dirname(log), { recursive: true });
    openTest(repo, { env, indexCacheMinFiles: 10 }); // caches the current state first
    fs.writeFileSync(log, EDIT_MODE_ON);
    const t = openTest(repo, { env, indexCacheMinFiles: 10 });
    const recs = t.tiers.workspace.records;
    const plain = [...recs.keys()].find((id) => id !== shapes && id !== edited)!;
    expect(recs.get(plain)!.fromCache).toBe(true);
    expect(recs.get(edited)!.fromCache).toBe(false); // has message ops: re-read
    expect(t.get(plain).updated_at).toBe("2027-06-01T00:00:00Z");
    expect(snap(t)).toEqual(
      snap(openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" }, indexCacheMinFiles: 10 })),
    );
    // And live: the log changing under an open tracker.
    fs.writeFileSync(log, "");
    t.tiers.workspace.refreshEditLog(); // the log is shared by the workspace and stealth tiers
    t.tiers.stealth.refreshEditLog();
    expect(t.get(plain).updated_at).not.toBe("2027-06-01T00:00:00Z");
    expect(snap(t)).toEqual(
      snap(openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" }, indexCacheMinFiles: 10 })),
    );
    // A corrupt cache is ignored.
    fs.writeFileSync(cacheFile, "not a v8 document");
    expect(snap(openTest(repo, { env, indexCacheMinFiles: 10 }))).toEqual(
      snap(openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" }, indexCacheMinFiles: 10 })),
    );
  });
});

describe("lazy items and kept texts", () => {
  const sums = (t: ReturnType<typeof openTest>) => t.summaries().map((x) => JSON.stringify(x));
  const lazy = (t: ReturnType<typeof openTest>) =>
    [...t.tiers.workspace.records.values()].filter((r) => r.body !== null).length;

  it("queries answer from summaries without reviving items; a revived item equals a parsed one", () => {
    const { repo, env, edited } = setup();
    const parsed = openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } });
    const expected = parsed.items().map(summarizeItem);
    openTest(repo, { env, indexCacheMinFiles: 10 }); // writes the cache
    const warm = openTest(repo, { env, indexCacheMinFiles: 10 });
    const total = warm.tiers.workspace.records.size;
    expect(lazy(warm)).toBe(total);
    expect(sums(warm)).toEqual(expected.map((x) => JSON.stringify(x)));
    expect(warm.readySummaries().map((x) => x.id)).toEqual(parsed.ready().map((i) => i.id));
    expect(warm.listSummaries({ status: "todo_hard" }).map((x) => x.id)).toEqual(
      parsed.list({ status: "todo_hard" }).map((i) => i.id),
    );
    expect(lazy(warm)).toBe(total); // nothing revived by the queries
    // Reviving one item brings in its group (64 items), not the whole tier.
    expect(warm.get(edited).title).toBe("Renamed later");
    expect(lazy(warm)).toBeGreaterThan(0);
    expect(lazy(warm)).toBeLessThan(total);
    expect(snap(warm)).toEqual(snap(parsed));
    expect(lazy(warm)).toBe(0);
  });

  it("list items stay in the cache file until their text is read, equal the items, and are replaced when theirs change", async () => {
    const { repo, env, ws, edited } = setup();
    const parsed = openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } }).items();
    openTest(repo, { env, indexCacheMinFiles: 10 }); // writes the cache
    const warm = openTest(repo, { env, indexCacheMinFiles: 10 });
    const total = warm.tiers.workspace.records.size;
    const list = warm.items(TIERS, { lazy: true });
    expect(list.map((i) => i.id)).toEqual(parsed.map((i) => i.id));
    // Lazy: every item from the cache (the 5-item stealth tier is below its minimum: parsed).
    const cached = (i: Item) => warm.tiers[i.tier!].records.get(i.id)!.fromCache;
    expect(list.filter((i) => i instanceof LazyItem)).toEqual(list.filter(cached));
    expect(list.filter((i) => !cached(i)).map((i) => i.tier)).toEqual(Array(5).fill("stealth"));
    expect(total).toBeGreaterThan(100);
    // What lists, sorting and the unread mark read comes from the summaries: nothing revived.
    for (const [k, it] of list.entries()) {
      const p = parsed[k];
      for (const f of [
        "title",
        "status",
        "priority",
        "tags",
        "isbefore",
        "updated_at",
        "frozen",
        "tier",
      ] as const)
        expect(it[f], `${it.id} ${f}`).toEqual(p[f]);
      expect(threadLength(it)).toBe(p.discussion.length);
      expect(lastAuthor(it)).toBe(lastAuthor(p));
      // (query terms on these too: `has:discussion` on an item with and one without a thread)
      for (const q of ["has:discussion", "has:tags", "has:parent", "is:frozen"])
        expect(matchQuery(it, parseQuery(q)), `${it.id} ${q}`).toBe(matchQuery(p, parseQuery(q)));
    }
    expect(parsed.some((p) => p.discussion.length === 0)).toBe(true);
    expect(lazy(warm)).toBe(total);
    // The deleted last message of `edited` is not its last author's.
    expect(lastAuthor(list.find((i) => i.id === edited)!)).toBe("agent");
    // Reading a field reads the item's group; every field then equals the parsed item's.
    expect(list.find((i) => i.id === edited)!.discussion.map((e) => e.message)).toEqual([
      "lone \ud800 surrogate",
      "second",
      "gone",
    ]);
    expect(lazy(warm)).toBeLessThan(total);
    warm.reviveAll(); // every item of every cache file, in one pass per file
    expect(lazy(warm)).toBe(0);
    for (const [k, it] of list.entries())
      for (const f of Object.keys(parsed[k]) as (keyof Item)[])
        expect(it[f], `${it.id} ${f}`).toEqual(parsed[k][f]);
    expect(list.map((i) => JSON.stringify(i))).toEqual(parsed.map((i) => JSON.stringify(i)));
    // The same objects while their items do not change; a changed item comes anew.
    const again = warm.items(TIERS, { lazy: true });
    expect(again.every((it, k) => it === list[k])).toBe(true);
    const victim = list.find((i) => i.tier === "workspace" && i.id !== edited)!;
    fs.appendFileSync(path.join(ws, `.${victim.id}.ops`), discussOpText(900, "ab12", "changed"));
    fs.writeFileSync(path.join(ws, `.${edited}.frozen`), "");
    warm.refreshAll();
    const after = warm.items(TIERS, { lazy: true });
    after.forEach((it, k) => {
      if (it.id === victim.id || it.id === edited) expect(it).not.toBe(list[k]);
      else expect(it).toBe(list[k]);
    });
    const v = after.find((i) => i.id === victim.id)!;
    expect(v.discussion.at(-1)?.message).toBe("changed");
    expect(threadLength(v)).toBe(victim.discussion.length + 1);
    expect(after.find((i) => i.id === edited)!.frozen).toBe(true);
    // The tier's edit-mode log moves every item's `updated_at`: no list item is left stale,
    // neither one listed before nor one still in the cache file.
    const fresh = openTest(repo, { env, indexCacheMinFiles: 10 });
    fresh.items(TIERS, { lazy: true });
    const log = path.join(repo, ".agent", "tracker-workspace", ".edit-mode", "edit-mode.ops");
    fs.mkdirSync(path.dirname(log), { recursive: true });
    fs.writeFileSync(log, EDIT_MODE_ON);
    warm.refreshAll();
    fresh.refreshAll();
    const updated = (t: ReturnType<typeof openTest>) =>
      t.items(TIERS, { lazy: true }).map((i) => `${i.id} ${i.updated_at} ${lastAuthor(i)}`);
    const expected = updated(openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } }));
    expect(expected.filter((x) => x.includes("2027-06-01")).length).toBeGreaterThan(100);
    expect(updated(warm)).toEqual(expected);
    expect(updated(fresh)).toEqual(expected);
  });

  it("peekItems reads list items' text for one pass without reviving them, current after changes", () => {
    const { repo, env, ws, edited } = setup();
    const parsedOf = () => openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } }).items();
    openTest(repo, { env, indexCacheMinFiles: 10 }); // writes the cache
    const warm = openTest(repo, { env, indexCacheMinFiles: 10 });
    const total = warm.tiers.workspace.records.size;
    const list = warm.items(TIERS, { lazy: true });
    const read = list.find((i) => i.id !== edited && i instanceof LazyItem)!;
    void read.description; // one item read already (and its group): paired with itself
    const stillLazy = lazy(warm);
    const whole = (t: Tracker, items: Item[]) => {
      const pairs = [...t.peekItems(items)];
      expect(pairs.map(([l]) => l).sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(
        [...items].sort((a, b) => (a.id < b.id ? -1 : 1)),
      );
      return new Map(pairs.map(([l, w]) => [`${l.tier} ${l.id}`, w]));
    };
    const check = (t: Tracker, items: Item[]) => {
      const got = whole(t, items);
      const parsed = parsedOf();
      expect(got.size).toBe(parsed.length);
      for (const p of parsed) expect(JSON.stringify(got.get(`${p.tier} ${p.id}`))).toBe(JSON.stringify(p));
    };
    check(warm, list);
    expect(whole(warm, list).get(`${read.tier} ${read.id}`)).toBe(read);
    // Nothing was revived by the passes: the items are still in the cache file.
    expect(lazy(warm)).toBe(stillLazy);
    expect(stillLazy).toBeGreaterThan(total - 64);
    expect(list.filter((i) => i instanceof LazyItem && i.loaded)).toEqual([read]);
    // An item appended to since, and every item after the edit-mode log moved: current text.
    const victim = list.find((i) => i.tier === "workspace" && i.id !== edited && i !== read)!;
    fs.appendFileSync(path.join(ws, `.${victim.id}.ops`), discussOpText(900, "ab12", "peeked"));
    warm.refreshAll();
    const after = warm.items(TIERS, { lazy: true });
    check(warm, after);
    expect(whole(warm, after).get(`workspace ${victim.id}`)!.discussion.at(-1)?.message).toBe("peeked");
    const log = path.join(repo, ".agent", "tracker-workspace", ".edit-mode", "edit-mode.ops");
    fs.mkdirSync(path.dirname(log), { recursive: true });
    fs.writeFileSync(log, EDIT_MODE_ON);
    warm.refreshAll();
    check(warm, warm.items(TIERS, { lazy: true }));
  });

  it("a list item whose file is gone before its text is read reads as one without text", () => {
    const { repo, env, ws, shapes } = setup();
    openTest(repo, { env, indexCacheMinFiles: 10 }); // writes the cache
    const warm = openTest(repo, { env, indexCacheMinFiles: 10 });
    const it = warm.items(TIERS, { lazy: true }).find((i) => i.id === shapes)!;
    expect(it).toBeInstanceOf(LazyItem);
    fs.rmSync(path.join(ws, `.${shapes}.ops`));
    warm.refreshAll();
    expect([it.title, it.status, it.description, it.discussion, Object.keys(it.fields)]).toEqual([
      "Shapes",
      "todo_hard",
      "",
      [],
      [],
    ]);
  });

  it("items come from the cache file that was read, even once it is replaced; a damaged one falls back to the op files", () => {
    const { repo, env, ws } = setup();
    const parsed = snap(openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } }));
    openTest(repo, { env, indexCacheMinFiles: 10 });
    const cacheFile = indexCachePath(ws, env)!;
    // Another process replaces the cache by rename (as every writer does) after this load:
    // this tracker still reads the file it listed its entries from (kept open).
    const warm = openTest(repo, { env, indexCacheMinFiles: 10 });
    fs.writeFileSync(`${cacheFile}.new`, "unrelated");
    fs.renameSync(`${cacheFile}.new`, cacheFile);
    expect(lazy(warm)).toBeGreaterThan(0);
    expect(snap(warm)).toEqual(parsed);
    // Damaged in place (never done by htrac): items are parsed from their op files instead.
    openTest(repo, { env, indexCacheMinFiles: 10 }); // a good cache again
    const other = openTest(repo, { env, indexCacheMinFiles: 10 });
    fs.truncateSync(cacheFile, 100);
    expect(snap(other)).toEqual(parsed);
    expect([...other.tiers.workspace.records.values()].every((r) => r.fold !== null)).toBe(true);
  });

  it("derived texts are rendered once, kept across runs, and re-rendered only for changed items", async () => {
    const { repo, env, shapes } = setup();
    const render = (i: Item) => `${i.id}|${i.title}|${i.frozen}|${i.discussion.length}|${i.updated_at}`;
    const run = () => {
      // (a minimum of 1: the small canonical and stealth tiers are cached too)
      const t = openTest(repo, { env, indexCacheMinFiles: 1 });
      const seen: string[] = [];
      const refs = t.listSummaries();
      const texts = t
        .derivedTexts(refs, "test/1", (i) => {
          seen.push(i.id);
          return render(i);
        })
        .map((b) => b.toString("utf8"));
      const fresh = openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } })
        .list()
        .map(render);
      expect(texts).toEqual(fresh);
      return { t, seen, refs };
    };
    const first = run(); // cold: renders everything and keeps it in the cache
    expect(first.seen.length).toBe(first.refs.length);
    // The same tracker answers again from memory.
    let again = 0;
    first.t.derivedTexts(first.refs, "test/1", (i) => {
      again++;
      return render(i);
    });
    expect(again).toBe(0);
    const warm = run();
    expect(warm.seen).toEqual([]);
    expect(lazy(warm.t)).toBe(warm.t.tiers.workspace.records.size); // nothing revived
    // An append through the store: only that item is rendered again.
    await warm.t.discuss(shapes, "one more");
    expect(run().seen).toEqual([shapes]);
    // A frozen marker and an external append.
    const other = warm.refs.find((r) => r.id !== shapes && r.tier === "workspace")!.id;
    await warm.t.freeze(other);
    // (the run before kept the appended item's new text in the delta file: only the frozen
    // one's is made again)
    expect(run().seen).toEqual([other]);
    // The edit-mode log moves `updated_at` of every item of its tiers: all made again.
    const log = path.join(repo, ".agent", "tracker-workspace", ".edit-mode", "edit-mode.ops");
    fs.mkdirSync(path.dirname(log), { recursive: true });
    fs.writeFileSync(log, EDIT_MODE_ON);
    const afterLog = run();
    expect(afterLog.seen.length).toBe(afterLog.refs.filter((r) => r.tier !== "canonical").length);
    expect(run().seen).toEqual([]); // and kept again
    // Another key is rendered on its own.
    const t2 = openTest(repo, { env, indexCacheMinFiles: 1 });
    let n = 0;
    t2.derivedTexts(t2.listSummaries(), "test/2", (i) => {
      n++;
      return i.id;
    });
    expect(n).toBe(t2.listSummaries().length);
  });
});

describe("warm equals cold under random changes", () => {
  it("summaries, items and kept texts of fresh and live trackers match a parse after every step", async () => {
    const { repo, env, ws } = setup();
    const opts = { env, indexCacheMinFiles: 1 };
    const cold = () => openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } });
    const render = (i: Item) => JSON.stringify([i.id, i.status, i.frozen, i.updated_at, i.discussion.length]);
    const view = (t: ReturnType<typeof openTest>) => ({
      summaries: t.summaries().map((x) => JSON.stringify(x)),
      ready: t.readySummaries().map((x) => x.id),
      texts: t.derivedTexts(t.listSummaries(), "rand/1", render).map((b) => b.toString()),
      items: snap(t),
    });
    const live = openTest(repo, opts);
    view(live);
    // A live tracker keeping one revived group per tier (the TUI's bound, at its smallest),
    // whose items are read a few at a time between the steps.
    const bounded = openTest(repo, { ...opts, keepRevivedItems: 1 });
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const ids = () =>
      live
        .summaries()
        .filter((x) => x.tier === "workspace")
        .map((x) => x.id);
    let clock = 5000;
    for (let step = 0; step < 24; step++) {
      const id = ids()[rnd(ids().length)];
      const action = rnd(5);
      if (action === 0) await live.discuss(id, `step ${step}`);
      else if (action === 1) {
        const op = Object.assign(newMap(), {
          op: "update",
          at: `2026-04-01T00:00:${String(step).padStart(2, "0")}Z`,
          by: "agent",
          actor: "x_agent",
          clock: clock++,
          nonce: `a${String(step).padStart(3, "0")}`,
          set: Object.assign(newMap(), { status: step % 2 ? "done" : "todo_hard" }),
        });
        fs.appendFileSync(path.join(ws, `.${id}.ops`), serializeOp(op)); // another process
      } else if (action === 2) {
        const frozen = live.get(id).frozen;
        if (frozen) await live.unfreeze(id);
        else await live.freeze(id);
      } else if (action === 3) {
        if (step % 2) await live.editModeOn();
        else await live.editModeOff();
      } else openTest(repo, opts).derivedTexts(live.listSummaries(), "rand/1", render); // another run keeps texts
      live.refreshAll();
      const expected = view(cold());
      expect(view(openTest(repo, opts)), `fresh warm tracker after step ${step}`).toEqual(expected);
      expect(view(live), `live tracker after step ${step}`).toEqual(expected);
      bounded.refreshAll();
      const listed = bounded.items(TIERS, { lazy: true });
      for (let k = 0; k < 6; k++) {
        const it = listed[rnd(listed.length)];
        expect(JSON.stringify(it), `bounded tracker, ${it.id} after step ${step}`).toBe(
          JSON.stringify(cold().get(it.id)),
        );
      }
      expect(view(bounded), `bounded tracker after step ${step}`).toEqual(expected);
    }
  });
});

describe("listing order of a warm load", () => {
  it("is the cache table's order, not sorted again, also after a rewrite mixing copied and encoded groups and with a delta file", () => {
    const { repo, env, ws, shapes } = setup();
    // File names whose listing order differs from their IDs' order: ".WI-a.b.ops" < ".WI-a.ops".
    const text = fs.readFileSync(path.join(ws, `.${shapes}.ops`));
    for (const id of ["WI-a", "WI-a.b", "WI-a-b"]) fs.writeFileSync(path.join(ws, `.${id}.ops`), text);
    const opts = { env, indexCacheMinFiles: 40 };
    const expected = openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } })
      .tiers.workspace.ids()
      .slice();
    expect(expected.indexOf("WI-a.b")).toBeLessThan(expected.indexOf("WI-a"));
    const idsUnsorted = () => {
      const t = openTest(repo, opts);
      expect([...t.tiers.workspace.records.values()].every((r) => r.fromCache)).toBe(true);
      const sort = vi.spyOn(Array.prototype, "sort");
      try {
        const ids = t.tiers.workspace.ids();
        expect(sort).not.toHaveBeenCalled();
        return ids;
      } finally {
        sort.mockRestore();
      }
    };
    openTest(repo, opts); // cold: writes the cache
    expect(idsUnsorted()).toEqual(expected);
    // 40 changed files at the start of the listing: encoded afresh, written after the copied
    // groups of the files that follow them.
    for (const id of expected.slice(0, 40))
      fs.appendFileSync(path.join(ws, `.${id}.ops`), discussOpText(900, "ab12", "changed"));
    openTest(repo, opts); // rewrites the cache
    expect(idsUnsorted()).toEqual(expected);
    // Two more: in the delta file; its table and the main file's are merged, not sorted.
    for (const id of [expected[3], expected[60]])
      fs.appendFileSync(path.join(ws, `.${id}.ops`), discussOpText(901, "ab13", "changed"));
    openTest(repo, opts); // writes the delta file
    expect(fs.existsSync(deltaCachePath(indexCachePath(ws, env)!))).toBe(true);
    expect(idsUnsorted()).toEqual(expected);
  });
});

describe("indexCacheWrite: end (CLI commands)", () => {
  it("writes nothing until finishIndexCache, then once, with the texts kept meanwhile", async () => {
    const { repo, env, ws } = setup();
    const opts = { env, indexCacheMinFiles: 1, indexCacheWrite: "end" as const };
    const cacheFile = indexCachePath(ws, env)!;
    const t = openTest(repo, opts);
    t.derivedTexts(t.listSummaries(), "end/1", (i) => i.id);
    expect(fs.existsSync(cacheFile)).toBe(false);
    await t.finishIndexCache();
    expect(fs.existsSync(cacheFile)).toBe(true);
    const mtime = fs.statSync(cacheFile).mtimeMs;
    await t.finishIndexCache(); // nothing left to write
    expect(fs.statSync(cacheFile).mtimeMs).toBe(mtime);
    const next = openTest(repo, opts);
    let rendered = 0;
    next.derivedTexts(next.listSummaries(), "end/1", (i) => {
      rendered++;
      return i.id;
    });
    expect(rendered).toBe(0);
    expect([...next.tiers.workspace.records.values()].every((r) => r.fromCache)).toBe(true);
  });
});

describe("when the cache is rewritten", () => {
  it("after a big first load; then changed files go to a delta file until it would hold 1/16 of the tier", () => {
    const { repo, env, ws } = setup();
    const opts = { env, indexCacheMinFiles: 40 }; // the workspace tier (~120 items) counts as big
    const main = indexCachePath(path.join(repo, ".agent", "tracker-workspace", ".ops"), env)!;
    const delta = deltaCachePath(main);
    const fromCache = (t: ReturnType<typeof openTest>) =>
      [...t.tiers.workspace.records.values()].filter((r) => r.fromCache).length;
    openTest(repo, opts); // cold: writes the cache
    expect(fs.existsSync(delta)).toBe(false);
    const t = openTest(repo, opts);
    const total = t.tiers.workspace.records.size;
    expect(fromCache(t)).toBe(total);
    const ids = [...t.tiers.workspace.records.keys()];
    const touch = (from: number, n: number) => {
      for (const id of ids.slice(from, from + n))
        fs.appendFileSync(path.join(ws, `.${id}.ops`), discussOpText(900, "ab12", "changed"));
    };
    const mainState = () => {
      const st = fs.statSync(main);
      return [st.ino, st.size, st.mtimeMs];
    };
    const before = mainState();
    touch(0, 1);
    const reread = openTest(repo, opts); // re-reads one file: the delta file gets it
    expect(fromCache(reread)).toBe(total - 1);
    expect(mainState()).toEqual(before); // the main file as it was
    expect(fs.existsSync(delta)).toBe(true);
    const warm = openTest(repo, opts);
    expect(fromCache(warm)).toBe(total);
    expect(warm.tiers.workspace.outsideBase()).toBe(1); // (that one from the delta file)
    const cold = openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } });
    const coldIds = cold.tiers.workspace.ids().slice();
    // Listing order from the two tables merged (each in listing order), as a parse sorts it.
    const sorts = vi.spyOn(Array.prototype, "sort");
    try {
      expect(warm.tiers.workspace.ids()).toEqual(coldIds);
      expect(sorts).not.toHaveBeenCalled();
    } finally {
      sorts.mockRestore();
    }
    expect(snap(warm)).toEqual(snap(cold));
    // Up to 1/16 of the tier the delta file grows; one more rewrites the main file.
    const share = Math.floor(total / DELTA_CACHE_SHARE);
    touch(1, share - 1);
    openTest(repo, opts);
    expect(mainState()).toEqual(before);
    expect(openTest(repo, opts).tiers.workspace.outsideBase()).toBe(share);
    touch(share, 1);
    openTest(repo, opts);
    expect(mainState()).not.toEqual(before);
    expect(fs.existsSync(delta)).toBe(false); // (its entries are in the main file now)
    const after = openTest(repo, opts);
    expect(fromCache(after)).toBe(total);
    expect(after.tiers.workspace.outsideBase()).toBe(0);
    expect(snap(after)).toEqual(snap(openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } })));
  });

  it("with a delta file but no main file, a big tier's main file is written after 32 changed files (not 31)", () => {
    const { repo, env, ws } = setup();
    const opts = { env, indexCacheMinFiles: 40 };
    const main = indexCachePath(path.join(repo, ".agent", "tracker-workspace", ".ops"), env)!;
    const delta = deltaCachePath(main);
    openTest(repo, opts);
    fs.renameSync(main, delta); // (the same format: a delta file holding every entry)
    const fromCache = (t: ReturnType<typeof openTest>) =>
      [...t.tiers.workspace.records.values()].filter((r) => r.fromCache).length;
    const t = openTest(repo, opts);
    const total = t.tiers.workspace.records.size;
    expect(fromCache(t)).toBe(total); // its entries are checked like any
    const ids = [...t.tiers.workspace.records.keys()];
    const touch = (from: number, n: number) => {
      for (const id of ids.slice(from, from + n))
        fs.appendFileSync(path.join(ws, `.${id}.ops`), discussOpText(900, "ab12", "changed"));
    };
    touch(0, CACHE_REFRESH_FILES - 1);
    openTest(repo, opts); // 31 parsed: nothing written
    expect(fs.existsSync(main)).toBe(false);
    expect(fromCache(openTest(repo, opts))).toBe(total - (CACHE_REFRESH_FILES - 1));
    touch(CACHE_REFRESH_FILES - 1, 1);
    openTest(repo, opts); // 32: the main file, and the delta file goes
    expect(fs.existsSync(main)).toBe(true);
    expect(fs.existsSync(delta)).toBe(false);
    expect(fromCache(openTest(repo, opts))).toBe(total);
  });
});

describe("kept texts in a rewritten cache", () => {
  it("are copied from the older file in runs, byte for byte, and not rendered again", () => {
    const { repo, env, ws } = setup();
    const opts = { env, indexCacheMinFiles: 40 };
    const render = (i: Item) => `${i.id}|${i.title}|${i.discussion.length}`;
    // (the workspace tier: the two small ones are below indexCacheMinFiles, never cached)
    const texts = (t: ReturnType<typeof openTest>, seen: string[]) =>
      t
        .derivedTexts(t.listSummaries({ tier: "workspace" }), "runs/1", (i) => {
          seen.push(i.id);
          return render(i);
        })
        .map((b) => b.toString());
    texts(openTest(repo, opts), []); // renders every text and writes the cache with them
    // A block of 32 files in the cache's order (listing order) changes: the texts of the
    // others lie in two runs of the cache file, before and after the block.
    const ids = openTest(repo, opts).tiers.workspace.ids();
    const changed = ids.slice(40, 40 + CACHE_REFRESH_FILES);
    for (const id of changed)
      fs.appendFileSync(path.join(ws, `.${id}.ops`), discussOpText(900, "ab12", "changed"));
    // This load re-reads 32 files and rewrites the cache, copying ~90 unchanged texts.
    const reads = vi.spyOn(CacheSource.prototype, "readInto");
    let copies: number;
    try {
      openTest(repo, opts);
      copies = reads.mock.calls.length;
    } finally {
      reads.mockRestore();
    }
    expect(copies).toBeLessThanOrEqual(4); // 2 item groups + 2 runs of texts (not one per text)
    const seen: string[] = [];
    const warm = openTest(repo, opts);
    const got = texts(warm, seen);
    expect(seen.sort()).toEqual([...changed].sort()); // only the changed ones rendered
    expect(got).toEqual(
      openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } })
        .list({ tier: "workspace" })
        .map(render),
    );
    // A later load finds all of them kept.
    const again: string[] = [];
    texts(openTest(repo, opts), again);
    expect(again).toEqual([]);
  });
});

/**
 * A maker of one-byte files in `dir` whose mtime lies `ageMs` before `now` (ms since the epoch).
 * @returns (name, ageMs) => the file's path
 */
function fileOfAge(dir: string, now: number): (name: string, ageMs: number) => string {
  return (name, ageMs) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, "x");
    const t = new Date(now - ageMs);
    fs.utimesSync(f, t, t);
    return f;
  };
}

describe("index cache directory", () => {
  it("stays bounded: old, surplus and crashed-temp files go; the one just written stays", () => {
    const dir = tmpDir("htrac-cache-prune-");
    const now = Date.parse("2026-06-01T00:00:00Z");
    const put = fileOfAge(dir, now);
    const day = 24 * 3600 * 1000;
    const keep = put("keep.v8", 400 * day); // the file just written is never removed
    const stale = put("stale.v8", 31 * day);
    const fresh = Array.from({ length: INDEX_CACHE_KEEP + 5 }, (_, i) => put(`f${i}.v8`, (i + 1) * 60_000));
    const oldTmp = put("a.v8.1234.tmp", 2 * 3600 * 1000);
    const newTmp = put("b.v8.5678.tmp", 60_000);
    const other = put("notes.txt", 400 * day);
    pruneIndexCache(dir, keep, now);
    const left = new Set(fs.readdirSync(dir).map((n) => path.join(dir, n)));
    expect(left.has(keep)).toBe(true);
    expect(left.has(stale)).toBe(false);
    expect(left.has(oldTmp)).toBe(false);
    expect(left.has(newTmp)).toBe(true);
    expect(left.has(other)).toBe(true);
    // The newest INDEX_CACHE_KEEP - 1 others stay (with `keep`, INDEX_CACHE_KEEP caches).
    expect(fresh.filter((f) => left.has(f))).toEqual(fresh.slice(0, INDEX_CACHE_KEEP - 1));
  });
});

describe("rebuildIndexCache (htrac cache-rebuild)", () => {
  it("parses every file whatever the cache holds, writes every tier's main file whole and drops its delta", () => {
    const { repo, env, ws } = setup();
    const opts = { env, indexCacheMinFiles: 40 };
    openTest(repo, opts);
    const ids = [...openTest(repo, opts).tiers.workspace.records.keys()];
    fs.appendFileSync(path.join(ws, `.${ids[0]}.ops`), discussOpText(900, "ab12", "changed"));
    openTest(repo, opts); // a delta file
    const main = indexCachePath(ws, env)!;
    expect(fs.existsSync(deltaCachePath(main))).toBe(true);
    const t = openTest(repo, opts);
    const written = t.rebuildIndexCache();
    expect(written.map((w) => w.tier)).toEqual([...TIERS]);
    for (const tier of TIERS) {
      // (every record parsed: none came from a cache file)
      expect([...t.tiers[tier].records.values()].some((r) => r.fromCache)).toBe(false);
      expect(fs.existsSync(written.find((w) => w.tier === tier)!.file)).toBe(true);
    }
    expect(written.find((w) => w.tier === "workspace")!.items).toBe(t.tiers.workspace.records.size);
    expect(fs.existsSync(deltaCachePath(main))).toBe(false);
    const warm = openTest(repo, opts);
    expect(TIERS.every((tier) => [...warm.tiers[tier].records.values()].every((r) => r.fromCache))).toBe(
      true,
    );
    expect(snap(warm)).toEqual(snap(openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } })));
    expect(() => openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } }).rebuildIndexCache()).toThrow(
      /no cache directory available/,
    );
  });

  it("fails with the cache file named when it cannot be written, the op files untouched", () => {
    const { repo, env, ws } = setup();
    const opts = { env, indexCacheMinFiles: 40 };
    const before = fs.readdirSync(ws).map((n) => [n, fs.readFileSync(path.join(ws, n), "utf8")]);
    const main = indexCachePath(ws, env)!;
    fs.rmSync(main, { force: true });
    fs.mkdirSync(path.join(main, "in-the-way"), { recursive: true }); // (a directory where the file goes)
    const t = openTest(repo, opts);
    let thrown: unknown;
    try {
      t.rebuildIndexCache();
    } catch (e) {
      thrown = e;
    }
    expect((thrown as Error).message.startsWith(`cannot write the cache file ${main}: `)).toBe(true);
    expect(fs.readdirSync(ws).map((n) => [n, fs.readFileSync(path.join(ws, n), "utf8")])).toEqual(before);
  });
});

describe("index cache directory with delta files", () => {
  it("counts a main file and its delta as one cache, as new as the newer; a delta without its main file goes", () => {
    const dir = tmpDir("htrac-cache-prune-delta-");
    const now = Date.parse("2026-06-01T00:00:00Z");
    const day = 24 * 3600 * 1000;
    const put = fileOfAge(dir, now);
    const keep = put("keep.delta", 60_000); // a delta just written: its main file stays
    const keepMain = put("keep.v8", 40 * day);
    const usedMain = put("used.v8", 40 * day); // loaded and given a delta lately
    const usedDelta = put("used.delta", day);
    const orphan = put("orphan.delta", 60_000);
    const oldMain = put("old.v8", 31 * day);
    const oldDelta = put("old.delta", 31 * day);
    pruneIndexCache(dir, keep, now);
    const left = new Set(fs.readdirSync(dir).map((n) => path.join(dir, n)));
    expect([keep, keepMain, usedMain, usedDelta].every((f) => left.has(f))).toBe(true);
    expect([orphan, oldMain, oldDelta].some((f) => left.has(f))).toBe(false);
  });
});

describe("texts derived on save (the TUI's search text)", () => {
  const render = (i: Item) => `search|${i.id}|${i.title}|${i.discussion.map((e) => e.message).join("|")}`;
  /** A text as it reads back: kept as UTF-8 (a lone surrogate, as one fixture item has, is U+FFFD). */
  const utf8 = (s: string) => Buffer.from(s, "utf8").toString("utf8");

  it("are written with the cache, read back without reviving items, and kept for unchanged items by any later writer", async () => {
    const { repo, env, shapes } = setup();
    // A session-like tracker: the cache is written in the background, after the renderer is set.
    const first = openTest(repo, { env, indexCacheMinFiles: 1, indexCacheWrite: "background" });
    let rendered = 0;
    first.deriveOnSave("test/search", (i) => {
      rendered++;
      return render(i);
    });
    await first.finishIndexCache();
    expect(rendered).toBe(first.summaries().length);
    const expected = () =>
      new Map(
        openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } })
          .items()
          .map((i) => [i.id, utf8(render(i))]),
      );
    const want = expected();
    const warm = openTest(repo, { env, indexCacheMinFiles: 1 });
    const refs = warm.summaries();
    const texts = warm.cachedTexts(refs, "test/search");
    expect(texts.map((b) => b?.toString("utf8"))).toEqual(refs.map((r) => want.get(r.id)));
    expect(warm.tiers.workspace.lazyItems()).toBe(warm.tiers.workspace.records.size); // nothing revived
    expect(warm.cachedTexts(refs, "test/other").every((b) => b === undefined)).toBe(true);
    // A changed item has none (its text was of the old state); the others keep theirs.
    await warm.discuss(shapes, "changed since");
    const after = openTest(repo, { env, indexCacheMinFiles: 1 });
    const got = after.cachedTexts(refs, "test/search");
    refs.forEach((r, k) => expect(got[k] === undefined, r.id).toBe(r.id === shapes));
    // A writer that derives nothing (a CLI run rewriting the cache after many changes) keeps
    // the unchanged items' texts.
    const ids = refs.filter((r) => r.tier === "workspace" && r.id !== shapes).map((r) => r.id);
    for (const id of ids.slice(0, CACHE_REFRESH_FILES)) await after.discuss(id, "touch");
    const wsCache = indexCachePath(path.join(repo, ".agent", "tracker-workspace", ".ops"), env)!;
    const before = fs.readFileSync(wsCache);
    openTest(repo, { env, indexCacheMinFiles: 1 }); // re-reads 33 files: rewrites
    expect(fs.readFileSync(wsCache).equals(before)).toBe(false);
    const last = openTest(repo, { env, indexCacheMinFiles: 1 });
    const changed = new Set([shapes, ...ids.slice(0, CACHE_REFRESH_FILES)]);
    const kept = last.cachedTexts(refs, "test/search");
    const now = expected();
    refs.forEach((r, k) => {
      if (changed.has(r.id)) expect(kept[k], r.id).toBeUndefined();
      else expect(kept[k]?.toString("utf8"), r.id).toBe(now.get(r.id));
    });
  });

  it("missing from an older cache file are added by one rewrite once the caller asked for all", () => {
    const { repo, env } = setup();
    openTest(repo, { env, indexCacheMinFiles: 1 }); // a cache without them
    const t = openTest(repo, { env, indexCacheMinFiles: 1 });
    t.deriveOnSave("test/search", render);
    const refs = t.summaries();
    expect(t.cachedTexts(refs, "test/search").every((b) => b === undefined)).toBe(true);
    // (the caller makes the texts from the items: reviving them)
    const items = t.items();
    expect(items.length).toBe(refs.length);
    const ws = indexCachePath(path.join(repo, ".agent", "tracker-workspace", ".ops"), env)!;
    const before = fs.statSync(ws).mtimeMs;
    t.saveMissedTexts();
    expect(fs.statSync(ws).mtimeMs).not.toBe(before);
    const next = openTest(repo, { env, indexCacheMinFiles: 1 });
    const want = new Map(items.map((i) => [i.id, utf8(render(i))]));
    expect(next.cachedTexts(refs, "test/search").map((b) => b?.toString("utf8"))).toEqual(
      refs.map((r) => want.get(r.id)),
    );
    // Nothing missed since: asking again writes nothing.
    next.deriveOnSave("test/search", render);
    next.cachedTexts(refs, "test/search");
    const mtime = fs.statSync(ws).mtimeMs;
    next.saveMissedTexts();
    expect(fs.statSync(ws).mtimeMs).toBe(mtime);
  });
});

describe("groups of the cache file", () => {
  it("hold items in list order (priority, then creation): reading one item's text brings in its neighbours", () => {
    const { repo, env } = setup();
    openTest(repo, { env, indexCacheMinFiles: 1 }); // a cold load writes every group afresh
    const t = openTest(repo, { env, indexCacheMinFiles: 1 });
    const ws = t.tiers.workspace;
    const order = Tracker.sortItems(t.summaries(["workspace"])).map((s) => s.id);
    expect(order.length).toBeGreaterThan(64);
    const lazyOf = () => new Set(order.filter((id) => ws.records.get(id)!.body !== null));
    expect(lazyOf().size).toBe(order.length);
    // The text of the second item in list order: the first 64 come in together.
    const item = t.items(["workspace"], { lazy: true }).find((i) => i.id === order[1])!;
    expect(item.description).toBe(ws.item(order[1])!.description);
    const read = order.filter((id) => !lazyOf().has(id));
    expect(read).toEqual(order.slice(0, 64));
  });
});

describe("a bound on revived items (keepRevivedItems, the TUI's)", () => {
  it("puts the least recently read groups back in the file, reads them again alike, never an item changed since", async () => {
    const repo = tmpDir("htrac-cache-repo-");
    generateTracker(repo, { items: 420, seed: 11, opsPerItem: 3 });
    const env = { ...process.env, XDG_CACHE_HOME: tmpDir("htrac-cache-xdg-"), HTRAC_NO_CACHE: "" };
    const wsDir = path.join(repo, ".agent", "tracker-workspace", ".ops");
    openTest(repo, { env, indexCacheMinFiles: 1 }); // writes the cache
    const t = openTest(repo, { env, indexCacheMinFiles: 1, keepRevivedItems: 100 });
    const ws = t.tiers.workspace;
    expect(ws.keepRevivedGroups).toBe(2); // (groups of 64)
    const order = Tracker.sortItems(t.summaries(["workspace"])).map((x) => x.id);
    const group = (k: number) => order.slice(64 * k, 64 * (k + 1));
    expect(order.length).toBeGreaterThan(4 * 64);
    const list = new Map(t.items(["workspace"], { lazy: true }).map((i) => [i.id, i]));
    const inFile = () => new Set(order.filter((id) => ws.records.get(id)!.body !== null));
    const read = (id: string) => void list.get(id)!.description;
    read(group(0)[5]);
    read(group(1)[0]);
    expect(inFile().size).toBe(order.length - 128);
    // A third group: the least recently used (0) goes back to the file.
    read(group(2)[3]);
    expect(order.filter((id) => !inFile().has(id))).toEqual([...group(1), ...group(2)]);
    // Reading an item of a kept group makes it the most recently used: 2 goes back next.
    void ws.item(group(1)[9]);
    read(group(3)[0]);
    expect(order.filter((id) => !inFile().has(id))).toEqual([...group(1), ...group(3)]);
    // Items changed since they were revived stay in memory as they are now: one written by
    // this tracker, one appended to by another writer.
    await t.discuss(group(1)[1], "written here");
    fs.appendFileSync(path.join(wsDir, `.${group(3)[2]}.ops`), discussOpText(900, "ab12", "written there"));
    t.refreshAll();
    read(group(4)[0]);
    read(group(5)[0]);
    const kept = order.filter((id) => !inFile().has(id));
    expect(kept).toEqual([group(1)[1], group(3)[2], ...group(4), ...group(5)]);
    // Every item reads as a parsed tracker has it, in any order, again and again.
    const parsed = openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } });
    const shuffled = [...order].sort((x, y) => (hashOf(x) < hashOf(y) ? -1 : 1));
    for (let round = 0; round < 2; round++)
      for (const id of shuffled) {
        expect(JSON.stringify(t.tiers.workspace.item(id))).toBe(
          JSON.stringify(parsed.tiers.workspace.item(id)),
        );
        expect(
          JSON.stringify(list.get(id) ?? t.items(["workspace"], { lazy: true }).find((i) => i.id === id)),
        ).toBe(JSON.stringify(parsed.tiers.workspace.item(id)));
      }
    expect(ws.item(group(1)[1])!.discussion.at(-1)?.message).toBe("written here");
    expect(ws.item(group(3)[2])!.discussion.at(-1)?.message).toBe("written there");
    // Never more than the bound (plus the changed items) in memory after all that.
    expect(order.length - inFile().size).toBeLessThanOrEqual(128 + 2);
  });

  it("keeps every revived item by default (a command's one pass)", () => {
    const repo = tmpDir("htrac-cache-repo-");
    generateTracker(repo, { items: 300, seed: 12, opsPerItem: 2 });
    const env = { ...process.env, XDG_CACHE_HOME: tmpDir("htrac-cache-xdg-"), HTRAC_NO_CACHE: "" };
    openTest(repo, { env, indexCacheMinFiles: 1 });
    const t = openTest(repo, { env, indexCacheMinFiles: 1 });
    expect(t.tiers.workspace.keepRevivedGroups).toBeNull();
    for (const it of t.items(["workspace"], { lazy: true })) void it.description;
    expect([...t.tiers.workspace.records.values()].filter((r) => r.body !== null)).toEqual([]);
  });
});

/** A stable pseudo-random order of IDs. */
function hashOf(id: string): string {
  return createHash("sha1").update(id).digest("hex");
}

describe("background cache write", () => {
  it("returns before writing, writes in chunks later, and the next load uses it", async () => {
    const { repo, env, ws } = setup();
    const cacheFile = indexCachePath(ws, env)!;
    const t = openTest(repo, {
      env,
      indexCacheMinFiles: 10,
      indexCacheWrite: "background",
      indexCacheDelayMs: 20,
    });
    expect(fs.existsSync(cacheFile)).toBe(false); // the load did not wait for it
    // Its delay passes and it is written by itself (one chunk per event-loop turn) …
    for (let i = 0; i < 200 && !fs.existsSync(cacheFile); i++) await new Promise((r) => setTimeout(r, 10));
    expect(fs.existsSync(cacheFile)).toBe(true);
    await t.finishIndexCache(); // … and finishing it then is immediate
    // A session shorter than the delay finishes it when it ends.
    fs.rmSync(cacheFile);
    const short = openTest(repo, {
      env,
      indexCacheMinFiles: 10,
      indexCacheWrite: "background",
      indexCacheDelayMs: 60_000,
    });
    expect(fs.existsSync(cacheFile)).toBe(false);
    await short.finishIndexCache();
    expect(fs.existsSync(cacheFile)).toBe(true);
    const warm = openTest(repo, { env, indexCacheMinFiles: 10 });
    expect(snap(warm)).toEqual(snap(openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } })));
    // Served from the cache: no record was parsed (cached records carry no op fold).
    expect([...warm.tiers.workspace.records.values()].every((r) => r.fromCache)).toBe(true);
  });
  it("queues each tier once while it waits; asked for again once its write started, it is written again", async () => {
    const { repo, env, ws } = setup();
    const cacheFile = indexCachePath(ws, env)!;
    openTest(repo, { env, indexCacheMinFiles: 1 }); // a cache without derived texts
    const renames = vi.spyOn(fs, "renameSync");
    try {
      const t = openTest(repo, {
        env,
        indexCacheMinFiles: 1,
        indexCacheWrite: "background",
        indexCacheDelayMs: 20,
      });
      t.deriveOnSave("test/k", (i) => i.id);
      const refs = t.summaries(["workspace"]);
      t.cachedTexts(refs, "test/k"); // all missing: counted
      t.items(); // (the caller reads the items it makes the texts from)
      t.saveMissedTexts();
      t.cachedTexts(refs, "test/k");
      t.saveMissedTexts(); // the same tier again while the first is still waiting: not queued twice
      await t.finishIndexCache();
      const written = () => renames.mock.calls.filter(([, to]) => to === cacheFile).length;
      expect(written()).toBe(1);
      const next = openTest(repo, { env, indexCacheMinFiles: 1 });
      expect(next.cachedTexts(refs, "test/k").map((b) => b?.toString())).toEqual(refs.map((r) => r.id));
      // Asked for again once its write started (or ended): written once more.
      const u = openTest(repo, {
        env,
        indexCacheMinFiles: 1,
        indexCacheWrite: "background",
        indexCacheDelayMs: 0,
      });
      u.deriveOnSave("test/k2", (i) => `${i.id}!`);
      u.cachedTexts(refs, "test/k2");
      u.items();
      u.saveMissedTexts();
      await new Promise((r) => setTimeout(r, 5)); // its delay (0) has passed: the write started
      u.cachedTexts(refs, "test/k2");
      u.saveMissedTexts();
      await u.finishIndexCache();
      for (let i = 0; i < 100 && written() < 3; i++) await new Promise((r) => setTimeout(r, 10));
      await u.finishIndexCache();
      expect(written()).toBe(3);
    } finally {
      renames.mockRestore();
    }
  });
});

describe("the background writer's snapshot in steps", () => {
  it("yields every 256 records, equals the snapshot in one go, and gives nothing when the edit-mode log changes meanwhile", () => {
    const repo = tmpDir("htrac-steps-repo-");
    generateTracker(repo, { items: 700, seed: 4, opsPerItem: 3 });
    const t = openTest(repo, { indexCache: false });
    const ws = t.tiers.workspace;
    const total = ws.records.size;
    expect(total).toBeGreaterThan(512);
    const steps = ws.cacheSnapshotSteps();
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields++;
    expect(yields).toBe(Math.floor(total / 256));
    const whole = ws.cacheSnapshot();
    expect([...r.value!.entries.keys()]).toEqual([...whole.entries.keys()]);
    expect([...r.value!.entries.values()].map((e) => e.summary)).toEqual(
      [...whole.entries.values()].map((e) => e.summary),
    );
    expect(r.value!.editLog).toEqual(whole.editLog);
    // The edit-mode log changes after the first step: entries would mix two logs.
    const again = ws.cacheSnapshotSteps();
    expect(again.next().done).toBe(false);
    const log = path.join(repo, ".agent", "tracker-workspace", ".edit-mode", "edit-mode.ops");
    fs.mkdirSync(path.dirname(log), { recursive: true });
    fs.writeFileSync(log, EDIT_MODE_ON);
    expect(ws.refreshEditLog()).toBe(true);
    let last = again.next();
    while (!last.done) last = again.next();
    expect(last.value).toBeNull();
  });
});

describe("load progress (onLoadProgress)", () => {
  it("counts the files a load reads over all tiers, every 256, and nothing taken from the warm-start cache", () => {
    const repo = tmpDir("htrac-progress-repo-");
    generateTracker(repo, { items: 700, seed: 6, opsPerItem: 2 });
    const env = { ...process.env, XDG_CACHE_HOME: tmpDir("htrac-progress-xdg-"), HTRAC_NO_CACHE: "" };
    const seen: number[] = [];
    const cold = openTest(repo, { env, indexCacheMinFiles: 1, onLoadProgress: (n) => seen.push(n) });
    const perTier = TIERS.map((t) => cold.tiers[t].records.size);
    // Each tier reports every 256 of its files, counted on from the tiers before it.
    const want: number[] = [];
    let before = 0;
    for (const n of perTier) {
      for (let k = 256; k <= n; k += 256) want.push(before + k);
      before += n;
    }
    expect(want.length).toBeGreaterThan(1);
    expect(seen).toEqual(want);
    const warm: number[] = [];
    openTest(repo, { env, indexCacheMinFiles: 1, onLoadProgress: (n) => warm.push(n) });
    expect(warm).toEqual([]);
  });
});

describe("a live tracker rewriting its cache", () => {
  it("copies the groups of revived, unchanged items byte for byte and encodes sparse ones afresh", () => {
    const { repo, env, ws } = setup();
    const opts = { env, indexCacheMinFiles: 40 };
    openTest(repo, opts); // cold: writes the cache
    const cacheFile = indexCachePath(ws, env)!;
    const old = fs.readFileSync(cacheFile);
    const t = openTest(repo, opts);
    const recs = [...t.tiers.workspace.records.values()];
    t.items(); // revives every item: each remembers where its bytes are
    expect(recs.every((r) => r.body === null && r.copyFrom !== null)).toBe(true);
    const src = recs[0].copyFrom!.src;
    expect(src.groups.length).toBe(2); // ~123 items in groups of 64
    const bytesOf = (g: number) => old.subarray(src.groups[g][0], src.groups[g][0] + src.groups[g][1]);
    // Change all but 5 members of group 1 on disk: only 5 of its items are still as cached.
    const group1 = recs.filter((r) => r.copyFrom!.group === 1);
    const changed = group1.slice(5);
    expect(changed.length).toBeGreaterThanOrEqual(CACHE_REFRESH_FILES);
    for (const r of changed) fs.appendFileSync(r.path, discussOpText(900, "ab12", "changed"));
    t.refreshAll();
    for (const r of changed) t.tiers.workspace.item(path.basename(r.path).slice(1, -4));
    const now = [...t.tiers.workspace.records.values()];
    expect(now.filter((r) => r.copyFrom === null).length).toBe(changed.length);
    // Rendering every item's text makes the tier worth rewriting (now, from memory).
    t.derivedTexts(t.listSummaries(), "test/copy", (i) => i.id);
    const fresh = fs.readFileSync(cacheFile);
    expect(fresh.equals(old)).toBe(false);
    expect(fresh.indexOf(bytesOf(0))).toBeGreaterThan(-1); // dense: copied as it was
    expect(fresh.indexOf(bytesOf(1))).toBe(-1); // sparse: its 5 live items encoded afresh
    // The rewritten cache serves every item, equal to a parse.
    const warm = openTest(repo, opts);
    expect([...warm.tiers.workspace.records.values()].every((r) => r.fromCache)).toBe(true);
    expect(snap(warm)).toEqual(snap(openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } })));
  });
});
