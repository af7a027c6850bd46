import fs from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileOps, ItemFold, opKey, refinish, sortOps } from "../../src/store/compile.js";
import { CorruptFileError } from "../../src/store/errors.js";
import { type Op, parseOpLog } from "../../src/store/oplog.js";
import { newMap, pyOrder, pyStrCmp, type YamlValue } from "../../src/store/values.js";
import { compileOpFile, idOfOpFileName } from "../../src/store/tierstore.js";
import { corpusFiles, emptyTracker, openTest, tmpDir } from "../helpers.js";

function op(fields: Record<string, YamlValue>): Op {
  const m = newMap();
  for (const [k, v] of Object.entries(fields)) m[k] = v;
  return m;
}
function map(fields: Record<string, YamlValue>) {
  return op(fields);
}
const create = (extra: Record<string, YamlValue> = {}, at = "2026-01-01T00:00:00Z", clock = 1) =>
  op({
    op: "create",
    at,
    by: "agent",
    actor: "a_agent",
    clock,
    nonce: "c0c0",
    data: map({
      kind: "work_item",
      title: "T",
      status: "todo_hard",
      priority: 2,
      parent: null,
      tags: ["a"],
      isbefore: [],
      duplicate_of: [],
      not_duplicate_of: [],
      pr_ref: null,
      description: "",
      fields: map({ k1: "v1", k2: "v2" }),
      ...extra,
    }),
  });
const update = (clock: number, set: Record<string, YamlValue>, extra: Record<string, YamlValue> = {}) =>
  op({
    op: "update",
    at: `2026-01-0${Math.min(9, clock)}T00:00:00Z`,
    by: "agent",
    actor: "a_agent",
    clock,
    nonce: `${clock}`.padStart(4, "0"),
    set: map(set),
    ...extra,
  });
const discuss = (clock: number, message: string, by = "agent", nonce = `d${clock}`.padEnd(4, "0")) =>
  op({
    op: "discuss",
    at: "2026-01-02T00:00:00Z",
    by,
    actor: by === "human" ? "h" : "a_agent",
    clock,
    nonce,
    message,
  });

describe("compileOps (store.md §3)", () => {
  it("initialises from the first create only and keeps the earliest created_at", () => {
    const dup = create({ title: "Other" }, "2025-12-31T00:00:00Z", 5);
    const item = compileOps([dup, create()], "WI-x");
    expect(item.title).toBe("T");
    expect(item.created_at).toBe("2025-12-31T00:00:00Z");
    expect(item.updated_at).toBe("2025-12-31T00:00:00Z"); // last op in sort order is the clock-5 create
  });

  it("merges fields per key and deletes on null; replaces sets wholesale", () => {
    const item = compileOps(
      [
        create(),
        update(2, { fields: map({ k1: null, k3: 3 }), tags: ["x", "y"] }),
        update(3, { isbefore: "WI-solo" }),
      ],
      "WI-x",
    );
    expect(item.fields).toEqual({ k2: "v2", k3: 3 });
    expect(item.tags).toEqual(["x", "y"]);
    expect(item.isbefore).toEqual(["WI-solo"]); // a non-list value v becomes [v]
  });

  it("applies add/remove as order-preserving set operations, before → isbefore", () => {
    const item = compileOps(
      [
        create(),
        update(2, {}, { add: map({ tags: ["b", "a", "c"], before: ["WI-y"] }) }),
        update(3, {}, { remove: map({ tags: ["a", "zz"] }) }),
      ],
      "WI-x",
    );
    expect(item.tags).toEqual(["b", "c"]);
    expect(item.isbefore).toEqual(["WI-y"]);
  });

  it("reads legacy `before` in create data", () => {
    const c = create();
    const data = c.data as Record<string, YamlValue>;
    delete data.isbefore;
    data.before = ["WI-old"];
    expect(compileOps([c], "WI-x").isbefore).toEqual(["WI-old"]);
  });

  it("sorts by (clock, at, actor rank, nonce): higher clock wins, then later at", () => {
    const a = update(5, { title: "late clock" });
    const b = op({ ...update(4, { title: "later at" }), at: "2026-12-31T00:00:00Z" });
    expect(compileOps([create(), a, b], "WI-x").title).toBe("late clock");
    const c = op({ ...update(4, { title: "first" }), at: "2026-01-03T00:00:00Z" });
    const d = op({ ...update(4, { title: "second" }), at: "2026-01-04T00:00:00Z" });
    expect(compileOps([create(), d, c], "WI-x").title).toBe("second");
  });

  it("on a full tie the agent op wins (human ops sort first) — reference behaviour, §3.6", () => {
    const human = op({ ...update(4, { status: "done" }), by: "human", nonce: "ffff" });
    const agent = op({ ...update(4, { status: "in_progress" }), by: "agent", nonce: "0000" });
    expect(compileOps([create(), agent, human], "WI-x").status).toBe("in_progress");
    expect(compileOps([create(), human, agent], "WI-x").status).toBe("in_progress");
  });

  it("breaks the last tie by nonce, higher wins", () => {
    const x = op({ ...update(4, { title: "x" }), nonce: "aaaa" });
    const y = op({ ...update(4, { title: "y" }), nonce: "bbbb" });
    expect(compileOps([create(), y, x], "WI-x").title).toBe("y");
  });

  it("lower-cases locks and never enforces them in compile (§3.4)", () => {
    const lock = op({
      op: "lock",
      at: "2026-01-02T00:00:00Z",
      by: "human",
      actor: "h",
      clock: 2,
      nonce: "1bdd",
      lock: ["Title", "before"],
    });
    const agentSet = update(3, { title: "agent wins anyway" });
    const item = compileOps([create(), lock, agentSet], "WI-x");
    expect(item.locked_fields).toEqual(["title", "isbefore"]);
    expect(item.title).toBe("agent wins anyway");
    const unlock = op({
      op: "unlock",
      at: "2026-01-04T00:00:00Z",
      by: "human",
      actor: "h",
      clock: 4,
      nonce: "2bdd",
      unlock: ["TITLE"],
    });
    expect(compileOps([create(), lock, unlock], "WI-x").locked_fields).toEqual(["isbefore"]);
  });

  it("keeps duplicated discussion ops (no de-duplication) and handles clear/summarize", () => {
    const d = discuss(2, "hello");
    expect(compileOps([create(), d, d], "WI-x").discussion.map((e) => e.message)).toEqual(["hello", "hello"]);
    const clear = op({
      op: "discuss_clear",
      at: "2026-01-03T00:00:00Z",
      by: "human",
      actor: "h",
      clock: 3,
      nonce: "cccc",
    });
    expect(compileOps([create(), d, clear], "WI-x").discussion).toEqual([]);
    const sum = op({
      op: "discuss_summarize",
      at: "2026-01-04T00:00:00Z",
      by: "agent",
      actor: "a",
      clock: 4,
      nonce: "dddd",
      message: "S",
    });
    const it0 = compileOps([create(), d, sum], "WI-x");
    expect(it0.discussion).toHaveLength(1);
    expect(it0.discussion[0]).toMatchObject({ message: "S", is_summary: true, nonce: "dddd" });
  });

  it("sets updated_at from the last op in sort order and clamps it to created_at", () => {
    const early = op({ ...update(9, { title: "x" }), at: "2025-01-01T00:00:00Z" });
    const item = compileOps([create(), early], "WI-x");
    expect(item.updated_at).toBe("2026-01-01T00:00:00Z");
    const unknown = op({ op: "future-op", at: "2026-02-02T00:00:00Z", by: "agent", clock: 3, nonce: "eeee" });
    expect(compileOps([create(), unknown], "WI-x").updated_at).toBe("2026-02-02T00:00:00Z");
  });

  it("raises the reference's errors for empty logs and missing creates", () => {
    expect(() => compileOps([], "WI-x")).toThrow(new CorruptFileError("Empty op log — no create op found"));
    expect(() => compileOps([update(2, {})], "WI-x")).toThrow("Op log has no create op");
  });

  it("rejects un-sortable clocks with a typed error instead of crashing", () => {
    expect(() => compileOps([create(), op({ ...update(2, {}), clock: "two" })], "WI-x")).toThrow(
      CorruptFileError,
    );
  });
});

describe("edit-mode pass (store.md §3.5)", () => {
  const on = (at: string, by = "human", ttl = 1800, cap = 500) =>
    op({ op: "edit-mode-on", at, by, actor: by, clock: 0, nonce: "e501", ttl_seconds: ttl, cap_max: cap });
  const off = (at: string) =>
    op({ op: "edit-mode-off", at, by: "human", actor: "h", clock: 0, nonce: "e502" });
  const msgOp = (
    type: string,
    at: string,
    target: string,
    clock: number,
    extra: Record<string, YamlValue> = {},
  ) =>
    op({
      op: type,
      at,
      by: "agent",
      actor: "a_agent",
      clock,
      nonce: `f${clock}`.padEnd(4, "0"),
      item: "WI-x",
      target_nonce: target,
      reason: "r",
      ...extra,
    });
  const base = [create(), discuss(2, "one", "agent", "aaaa"), discuss(3, "two", "human", "bbbb")];

  it("applies delete/undelete/edit only inside a human-opened window", () => {
    const log = [on("2026-01-05T00:00:00.000000Z")];
    const ops = [
      ...base,
      msgOp("delete-msg", "2026-01-05T00:10:00.000000Z", "aaaa", 4),
      msgOp("edit-msg-text", "2026-01-05T00:11:00.000000Z", "bbbb", 5, { new_text: "TWO" }),
      msgOp("delete-msg", "2026-01-05T01:00:00.000000Z", "bbbb", 6), // after the 30-minute window
    ];
    const item = compileOps(ops, "WI-x", { editModeOps: log });
    expect(item.discussion.map((e) => [e.message, e.is_tombstoned, e.edit_history])).toEqual([
      ["one", true, []],
      ["TWO", false, ["two"]],
    ]);
    // Without the (local, uncommitted) log the same ops are no-ops — as in a fresh clone.
    expect(compileOps(ops, "WI-x").discussion.map((e) => e.is_tombstoned)).toEqual([false, false]);
  });

  it("ignores agent-opened windows, counts the cap, lets undelete through, skips edits of tombstones", () => {
    const agentWindow = [on("2026-01-05T00:00:00.000000Z", "agent")];
    const del = msgOp("delete-msg", "2026-01-05T00:10:00.000000Z", "aaaa", 4);
    expect(compileOps([...base, del], "WI-x", { editModeOps: agentWindow }).discussion[0].is_tombstoned).toBe(
      false,
    );
    const capped = [on("2026-01-05T00:00:00.000000Z", "human", 1800, 1)];
    const ops = [
      ...base,
      del,
      msgOp("delete-msg", "2026-01-05T00:11:00.000000Z", "bbbb", 5), // over the cap of 1
      msgOp("undelete-msg", "2026-01-05T00:12:00.000000Z", "aaaa", 6), // free
      msgOp("edit-msg-text", "2026-01-05T00:13:00.000000Z", "aaaa", 7, { new_text: "x" }), // cap reached
    ];
    const item = compileOps(ops, "WI-x", { editModeOps: capped });
    expect(item.discussion.map((e) => [e.message, e.is_tombstoned])).toEqual([
      ["one", false],
      ["two", false],
    ]);
  });

  it("a later `on` replaces the open window; `off` closes it", () => {
    const log = [
      on("2026-01-05T00:00:00.000000Z"),
      on("2026-01-05T00:05:00.000000Z", "human", 60),
      off("2026-01-05T00:05:30.000000Z"),
    ];
    const inSecond = msgOp("delete-msg", "2026-01-05T00:05:10.000000Z", "aaaa", 4);
    const afterOff = msgOp("delete-msg", "2026-01-05T00:05:40.000000Z", "bbbb", 5);
    const item = compileOps([...base, inSecond, afterOff], "WI-x", { editModeOps: log });
    expect(item.discussion.map((e) => e.is_tombstoned)).toEqual([true, false]);
  });
});

describe("incremental fold equals full compile", () => {
  const genOps = fc
    .array(
      fc.record({
        kind: fc.constantFrom("set", "add", "remove", "discuss", "lock", "unlock"),
        clock: fc.integer({ min: 1, max: 12 }),
        by: fc.constantFrom("agent", "human"),
        val: fc.constantFrom("a", "b", "c", "title", "status"),
        nonce: fc.constantFrom("0001", "00aa", "ffff", "1234"),
      }),
      { maxLength: 25 },
    )
    .map((rs) =>
      rs.map((r) => {
        const common = {
          at: `2026-01-0${1 + (r.clock % 9)}T00:00:00Z`,
          by: r.by,
          actor: r.by,
          clock: r.clock,
          nonce: r.nonce,
        };
        switch (r.kind) {
          case "set":
            return op({ op: "update", ...common, set: map({ title: r.val, priority: r.clock % 5 }) });
          case "add":
            return op({ op: "update", ...common, set: map({}), add: map({ tags: [r.val] }) });
          case "remove":
            return op({ op: "update", ...common, set: map({}), remove: map({ tags: [r.val] }) });
          case "discuss":
            return op({ op: "discuss", ...common, message: r.val });
          default:
            return op({ op: r.kind, ...common, [r.kind]: [r.val] });
        }
      }),
    );

  it("folding a prefix then applying ops that sort later equals compiling everything", () => {
    fc.assert(
      fc.property(genOps, fc.integer({ min: 0, max: 25 }), (rest, cut) => {
        const all = [create(), ...rest];
        const full = compileOps(all, "WI-x");
        const sorted = sortOps(all);
        const k = Math.min(cut, sorted.length);
        const fold = new ItemFold("WI-x");
        for (const { key, op: o } of sorted.slice(0, Math.max(1, k))) fold.apply(o, key);
        for (const { op: o } of sorted.slice(Math.max(1, k))) {
          const key = opKey(o);
          expect(fold.accepts(key)).toBe(true);
          fold.apply(o, key);
        }
        expect(fold.finish()).toEqual(full);
      }),
      { numRuns: 300 },
    );
  });

  it("a finished item is a snapshot: folding later ops never changes it", () => {
    fc.assert(
      fc.property(genOps, fc.integer({ min: 1, max: 25 }), (rest, cut) => {
        const sorted = sortOps([create(), ...rest]);
        const k = Math.min(cut, sorted.length);
        const fold = new ItemFold("WI-x");
        for (const { key, op: o } of sorted.slice(0, k)) fold.apply(o, key);
        const early = fold.finish();
        const copy = structuredClone(early);
        for (const { key, op: o } of sorted.slice(k)) fold.apply(o, key);
        fold.finish();
        expect(early).toEqual(copy);
      }),
      { numRuns: 300 },
    );
  });

  it("sorts ops given out of order and keeps equal keys in file order", () => {
    const c = create();
    const d = (clock: number, nonce: string) =>
      op({
        op: "discuss",
        at: "2026-01-01T00:00:05Z",
        by: "agent",
        actor: "a_agent",
        clock,
        nonce,
        message: nonce,
      });
    const ops = [d(3, "cccc"), c, d(2, "bbbb"), d(2, "bbbb"), d(2, "aaaa")];
    const order = sortOps(ops).map((x) => ops.indexOf(x.op));
    expect(order).toEqual([1, 4, 2, 3, 0]);
    expect(compileOps(ops, "WI-x").discussion.map((e) => e.message)).toEqual([
      "aaaa",
      "bbbb",
      "bbbb",
      "cccc",
    ]);
  });

  it("refinish with another edit-mode log equals compiling with it (items without edit ops)", () => {
    const globalOp = fc
      .record({
        clock: fc.integer({ min: 0, max: 40 }),
        sec: fc.integer({ min: 0, max: 59 }),
        n: fc.integer({ min: 0, max: 0xfff }),
      })
      .map((g) =>
        op({
          op: "edit-mode-on",
          at: `2026-01-01T00:00:${String(g.sec).padStart(2, "0")}Z`,
          by: "human",
          actor: "alice",
          clock: g.clock,
          nonce: `f${g.n.toString(16).padStart(3, "0")}`,
          ttl_seconds: 60,
          cap_max: 5,
        }),
      );
    fc.assert(
      fc.property(
        genOps,
        fc.array(globalOp, { maxLength: 3 }),
        fc.array(globalOp, { maxLength: 3 }),
        (rest, a, b) => {
          const all = [create(), ...rest];
          const fold = new ItemFold("WI-x");
          for (const { key, op: o } of sortOps(all)) fold.apply(o, key);
          if (fold.hasEditOps) return;
          const withA = fold.finish(sortOps(a));
          const last = fold.maxKey!;
          const again = refinish(withA, sortOps(all).at(-1)!.op.at as string, last, sortOps(b));
          expect(again).toEqual(compileOps(all, "WI-x", { editModeOps: b }));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("compiles every corpus file", () => {
    for (const f of corpusFiles()) {
      const item = compileOps(parseOpLog(fs.readFileSync(f.path, "utf8")).ops, f.name.slice(1, -4));
      expect(item.title.length, f.name).toBeGreaterThan(0);
      expect(item.created_at <= item.updated_at, f.name).toBe(true);
    }
  });
});

describe("Python string order (pyStrCmp, pyOrder)", () => {
  it("orders by code point, astral characters after U+E000–U+FFFF, as Python's sorted()", () => {
    // Python: sorted(["\ue000", "\U0001f600", "a", "ab", ""]) == ["", "a", "ab", "\ue000", "\U0001f600"]
    const keys = ["\u{1f600}", "\ue000", "ab", "a", ""];
    expect(pyOrder(keys).map((i) => keys[i])).toEqual(["", "a", "ab", "\ue000", "\u{1f600}"]);
    expect(["\u{1f600}", "\ue000"].sort()).toEqual(["\u{1f600}", "\ue000"]); // (JS: code units)
  });

  it("pyOrder is the stable pyStrCmp sort, with and without surrogates, with a first key", () => {
    const ch = fc.constantFrom("a", "b", "\u00e9", "\ue000", "\uffff", "\u{1f600}", "\u{10000}");
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.array(ch, { maxLength: 4 }).map((a) => a.join("")),
            fc.nat(2),
          ),
          {
            maxLength: 40,
          },
        ),
        (rows) => {
          const keys = rows.map((r) => r[0]);
          const expected = rows
            .map((r, i) => ({ r, i }))
            .sort((a, b) => a.r[1] - b.r[1] || pyStrCmp(a.r[0], b.r[0]) || a.i - b.i)
            .map((x) => x.i);
          expect(pyOrder(keys, (a, b) => rows[a][1] - rows[b][1])).toEqual(expected);
        },
      ),
    );
  });
});

describe("compileOpFile (one op file on its own: htrac textconv)", () => {
  it("takes the ID from the file name, also from git's name for a blob copy, and compiles as a tier does", async () => {
    const t = openTest(emptyTracker());
    const { id } = await t.add({ kind: "work_item", title: "One file", tags: ["x"] });
    await t.discuss(id, "a message");
    const file = t.opFile(id);
    expect(idOfOpFileName(file)).toBe(id);
    expect(idOfOpFileName(`/tmp/Xy12ab_.${id}.ops`)).toBe(id);
    expect(idOfOpFileName("/tmp/notes.ops")).toBeNull();
    const copy = path.join(tmpDir("htrac-blob-"), `Xy12ab_.${id}.ops`);
    fs.copyFileSync(file, copy);
    const { item, ops } = compileOpFile(copy);
    expect(ops).toBe(2);
    expect({ ...item, tier: t.get(id).tier }).toEqual(t.get(id));
    expect(item.tier).toBeNull();
    // Not compilable: the reader's error, naming the file and the line; missing: ENOENT.
    fs.writeFileSync(copy, "- op: create\n  at: 2026-01-01T00:00:00Z\n  by: [\n- op: update\n");
    expect(() => compileOpFile(copy)).toThrow(CorruptFileError);
    expect(() => compileOpFile(`${copy}.gone`)).toThrow(/ENOENT/);
  });
});
