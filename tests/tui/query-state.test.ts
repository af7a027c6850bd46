/**
 * The search query language and the state pipeline (views, filters, search, custom order,
 * unread re-append, chains) on the fixed fixture.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  chainOf,
  createState,
  derive,
  filteredIds,
  maskedWidth,
  patchItems,
  itemStats,
  prepareSearch,
  filterEntries,
  readyIds,
  reorder,
  selectId,
  setItems,
  toggleFilter,
  warmPipeline,
} from "../../src/app/state.js";
import fc from "fast-check";
import type { Item } from "../../src/store/compile.js";
import {
  haystack,
  matchQuery,
  mayContain,
  needleGrams,
  parseQuery,
  peekHaystack,
  searchText,
  tokenize,
} from "../../src/store/query.js";
import { renderFrame } from "../../src/views/render.js";
import { naturalIdWidthSorted } from "../../src/views/table.js";
import { openTest } from "../helpers.js";
import { buildTuiFixture } from "./fixture.js";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const fx = await buildTuiFixture();
const tracker = openTest(fx.repo);
const items = tracker.items();
const byTitle = (t: string) => items.find((i) => i.title === t)!;

/** A fresh 80×24 state (no items yet) for the fixture's config. */
function emptyState() {
  return createState({
    cols: 80,
    rows: 24,
    now: Date.parse("2026-01-20T09:00:00Z"),
    color: true,
    ascii: false,
    root: "r",
    actor: { by: "human", actor: "alice" },
    readOnly: false,
    config: tracker.config,
  });
}

function state() {
  return setItems(emptyState(), tracker.items(), [], items.length);
}

function search(q: string): string[] {
  const s = derive({ ...state(), search: { editing: false, query: q, caret: 0 } });
  return filteredIds(s).ids.map((id) => s.byId.get(id)!.title);
}

describe("query language", () => {
  it("tokenizes quoted phrases with or without a field", () => {
    expect(tokenize('a "b c" title:"x y" -d')).toEqual(["a", "\u0000b c", "title:\u0000x y", "-d"]);
  });

  it("parses fields, comparisons and negation; reports mistakes without throwing", () => {
    expect(parseQuery("status:todo_hard -tag:ci p<=1").terms).toEqual([
      {
        negate: false,
        field: "status",
        op: ":",
        value: "todo_hard",
        lower: "todo_hard",
        grams: needleGrams("todo_hard"),
      },
      { negate: true, field: "tag", op: ":", value: "ci", lower: "ci", grams: null },
      { negate: false, field: "priority", op: "<=", value: "1", lower: "1", grams: null },
    ]);
    // (prepared once per query: the lower-cased value and its trigrams)
    expect(parseQuery("Parser").terms[0]).toMatchObject({ value: "Parser", lower: "parser" });
    expect(parseQuery("p<=9").errors).toEqual(["priority must be 0-4, got '9'"]);
    expect(parseQuery("colour:red").errors).toEqual(["unknown filter 'colour:'"]);
    expect(parseQuery("has:wings").errors[0]).toMatch(/^has: expects unread\|tags/);
    expect(parseQuery("WI-dozag").errors).toEqual([]); // an ID is not a field
    expect(parseQuery("").terms).toEqual([]);
    // Object.prototype names are not fields (lookup tables have no prototype).
    expect(parseQuery("constructor:x").errors).toEqual(["unknown filter 'constructor:'"]);
    expect(parseQuery("__proto__:x").terms[0].field).toBe("text");
  });

  it("matches every field the issue names", () => {
    expect(search("parser")).toEqual(["Fix the YAML parser"]); // title + tag
    expect(search("status:todo_soft")).toEqual(["Document the CLI"]);
    expect(search("status:todo").length).toBe(6); // prefix: todo_hard ×5 + todo_soft
    expect(search("tag:quality p<=1")).toEqual(["Symbol IDs must be stable"]);
    expect(search("kind:INV")).toEqual(["Frozen invariant"]);
    expect(search("kind:invariant")).toEqual(["Frozen invariant"]);
    expect(search("tier:canonical")).toEqual(["Fix the YAML parser"]);
    expect(search("tier:s")).toEqual(["Private experiment"]);
    expect(search("p>3")).toEqual(["Private experiment", "Evil \u001b]0;pwned\u0007 title {bold}x{/bold}"]);
    expect(search(`id:${fx.ids.cache.slice(0, 8)}`)).toEqual(["Add caching layer"]);
    expect(search("field:root_cause=validation")).toEqual(["Routes must have methods"]);
    expect(search("field:progress_pct")).toEqual(["Frozen invariant"]);
    expect(search("0.9")).toEqual(["Add caching layer"]); // discussion text
    expect(search("has:unread")).toEqual(["Review the new layout", "Add caching layer"]);
    expect(search("is:frozen")).toEqual(["Frozen invariant"]);
    expect(search("is:locked")).toEqual(["Frozen invariant"]);
    expect(search("is:blocked")).toEqual(["Document the CLI"]);
    expect(search("is:review")).toEqual(["Review the new layout"]);
    expect(search("has:dependents")).toEqual(["Fix the YAML parser"]);
    expect(search("has:blockers")).toEqual(["Document the CLI"]);
    expect(search("has:parent")).toEqual(["Document the CLI"]);
    expect(search('"caching layer"')).toEqual(["Add caching layer"]);
    expect(search("-status:todo_hard -status:done")).toEqual([
      "Review the new layout",
      "Add caching layer",
      "Frozen invariant",
      "Document the CLI",
    ]);
    expect(search("中文")).toEqual(["支持中文标题 and 🟩 emoji"]);
  });

  it("matchQuery treats a negated term as its complement", () => {
    const it0 = byTitle("Add caching layer");
    expect(matchQuery(it0, parseQuery("status:in_progress"))).toBe(true);
    expect(matchQuery(it0, parseQuery("-status:in_progress"))).toBe(false);
  });
});

describe("state pipeline (tui.md §3.2, §1.12)", () => {
  it("views: all, ready in ready order, inbox = review + unread agent replies", () => {
    const s = state();
    expect(readyIds(s)).toEqual(tracker.ready().map((i) => i.id));
    const inbox = filteredIds(derive({ ...s, view: "inbox" })).ids.map((id) => s.byId.get(id)!.title);
    expect(inbox).toEqual(["Review the new layout", "Add caching layer"]);
    const ready = filteredIds(derive({ ...s, view: "ready" })).ids;
    expect(ready).toEqual(readyIds(s));
  });

  it("hides by status and tag, and re-appends unread items the filters hid", () => {
    let s = state();
    s = toggleFilter(s, "status:in_progress");
    s = toggleFilter(s, "tag:parser");
    const r = filteredIds(s);
    const titles = r.ids.map((id) => s.byId.get(id)!.title);
    expect(titles).not.toContain("Fix the YAML parser");
    expect(titles.at(-1)).toBe("Add caching layer"); // unread: re-appended at the end
    expect([...r.overrides]).toEqual([fx.ids.cache]);
    expect(s.sessionCounts).toEqual({ "status:in_progress": 1, "tag:parser": 1 });
    s = toggleFilter(s, "meta:tagged");
    expect(filteredIds(s).ids.map((id) => s.byId.get(id)!.tags.length)).toEqual(
      filteredIds(s).ids.map(() => 0),
    );
  });

  it("manual order moves within the shown list and keeps hidden items in the order", () => {
    let s = toggleFilter(state(), "status:done");
    s = selectId(s, fx.ids.parser);
    s = reorder(s, -1);
    const shown = s.rowsList.map((r) => r.id);
    expect(shown.indexOf(fx.ids.parser)).toBeLessThan(shown.indexOf(fx.ids.stable));
    expect(s.customOrder).toContain(fx.ids.routes); // hidden by the done filter, still ordered
    // Unhide: the hidden item keeps its place at the top.
    s = toggleFilter(s, "status:done");
    expect(s.rowsList[0].id).toBe(fx.ids.routes);
    // Edges do nothing.
    const top = reorder(selectId(s, fx.ids.routes), -1);
    expect(top.customOrder).toEqual(s.customOrder);
  });

  it("computes the isbefore chain in both directions", () => {
    const s = state();
    const chain = chainOf(s, fx.ids.parser);
    expect(new Map(chain.roles)).toEqual(
      new Map([
        [fx.ids.parser, "selected"],
        [fx.ids.docs, "dependent"],
      ]),
    );
    expect(chain.summary).not.toBeNull();
    const back = chainOf(s, fx.ids.docs).roles;
    expect(back.get(fx.ids.parser)).toBe("blocker");
    expect(chainOf(s, fx.ids.cache).roles.size).toBe(0); // no chain: no marker
  });
});

describe("shortest unique ID width (tui.md §1.8)", async () => {
  const { idColumnWidth, shortIdText } = await import("../../src/views/table.js");
  it("matches the reference's examples", () => {
    expect(idColumnWidth(["INV-bolil-mirid-aaaaa", "INV-bolil-xxxxx-aaaaa"], 45)).toBe(15);
    expect(idColumnWidth(["INV-bolil-mirid-aaaaa", "WI-dabab-nosos-aaaaa"], 45)).toBe(9);
    expect(idColumnWidth(["WI-dabab-nosos", "WI-dabab-nosos"], 45)).toBe(14); // duplicates: full
    expect(idColumnWidth([], 45)).toBe(9);
    expect(idColumnWidth(["INV-bolil-mirid-aaaaa", "INV-bolil-mirid-bbbbb"], 12)).toBe(12); // capped
    expect(shortIdText("WI-nosos-bazal-himif-manuv", 9, "…")).toBe("WI-nosos…"); // whole syllables
    expect(shortIdText("WI-nosos", 9, "…")).toBe("WI-nosos");
  });
});

describe("ID column width of a filtered subset", () => {
  it("prefix-length arithmetic equals the string computation for any subset", () => {
    const syllable = fc.constantFrom("babab", "babad", "bazab", "dozum", "dozun", "kufib", "lamap");
    const id = fc
      .tuple(fc.constantFrom("WI", "INV", "WI-x"), fc.array(syllable, { minLength: 1, maxLength: 4 }))
      .map(([p, xs]) => `${p}-${xs.join("-")}`);
    fc.assert(
      fc.property(
        fc.uniqueArray(id, { minLength: 0, maxLength: 40 }),
        fc.array(fc.boolean()),
        (ids, bits) => {
          const sorted = [...ids].sort();
          const mask = new Uint8Array(sorted.length);
          sorted.forEach((_, i) => (mask[i] = bits[i % Math.max(1, bits.length)] ? 1 : 0));
          const subset = sorted.filter((_, i) => mask[i] === 1);
          expect(maskedWidth(sorted)(mask)).toBe(naturalIdWidthSorted(subset));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("patching changed items (change feed fast path)", () => {
  const view = (s: ReturnType<typeof state>) => ({
    order: s.items.map((i) => i.id),
    byId: [...s.byId.values()],
    unread: [...s.unread].sort(),
    blockers: [...s.blockers.entries()].sort(),
    rows: s.rowsList,
    stats: { ...s.tableStats, shown: [...s.tableStats.shown].sort() },
    panel: filterEntries(s),
    counts: itemStats(s.items),
    cursor: [s.cursor, s.selectedId],
  });

  it("equals a full rebuild, through filters, search and repeated patches", () => {
    // A search first fills the per-item search text that patches carry over.
    let patched = derive({ ...state(), search: { editing: false, query: "renamed", caret: 0 } });
    expect(patched.rowsList.filter((r) => !r.ghost)).toEqual([]);
    patched = derive({ ...patched, search: { editing: false, query: "", caret: 0 } });
    patched = toggleFilter(patched, `status:${items[0].status}`);
    filteredIds(patched); // warm the memos the patch carries over
    itemStats(patched.items);
    let full = patched;
    const current = new Map(items.map((i) => [i.id, i]));
    const edits: ((i: (typeof items)[number]) => (typeof items)[number])[] = [
      (i) => ({ ...i, status: "a_very_long_status_name_here" }),
      (i) => ({ ...i, tags: [...i.tags, "fresh-tag", "fresh-tag"] }),
      (i) => ({ ...i, tags: [] }),
      (i) => ({
        ...i,
        discussion: [
          ...i.discussion,
          {
            ...(i.discussion[0] ?? {}),
            by: "agent",
            actor: "x_agent",
            at: "2026-01-20T08:00:00Z",
            message: "new reply",
            is_summary: false,
            nonce: "f00d",
            is_tombstoned: false,
            edit_history: [],
          },
        ],
      }),
      (i) => ({ ...i, isbefore: [items[0].id] }),
      (i) => ({ ...i, title: `${i.title} (renamed)` }),
    ];
    for (let round = 0; round < 12; round++) {
      const target = items[(round * 5 + 3) % items.length];
      const next = edits[round % edits.length](current.get(target.id)!);
      current.set(target.id, next);
      const p = patchItems(patched, [next], [], items.length);
      expect(p).not.toBeNull();
      patched = p!;
      full = setItems(full, [...current.values()], [], items.length);
      expect(view(patched)).toEqual(view(full));
      if (round === 6) {
        // Search on: the carried-over search text of the changed item is rebuilt.
        const key = `status:${items[0].status}`;
        patched = derive({
          ...toggleFilter(patched, key),
          search: { editing: false, query: "renamed", caret: 0 },
        });
        full = derive({ ...toggleFilter(full, key), search: { editing: false, query: "renamed", caret: 0 } });
        expect(view(patched)).toEqual(view(full));
      }
    }
    expect(patched.search.query).toBe("renamed");
    // The search found the renamed item through the patched search text.
    const titles = patched.rowsList.filter((r) => !r.ghost).map((r) => patched.byId.get(r.id)!.title);
    expect(titles.length).toBeGreaterThan(0);
    for (const t of titles) expect(t).toContain("(renamed)");
  });

  it("declines what it cannot patch: unknown items and sort-key changes", () => {
    const s = state();
    expect(patchItems(s, [{ ...items[0], id: "WI-not-there" }], [], items.length)).toBeNull();
    expect(
      patchItems(s, [{ ...items[0], priority: (items[0].priority + 1) % 5 }], [], items.length),
    ).toBeNull();
  });
});

describe("frame canvas reuse (live session)", () => {
  it("a frame drawn over the previous one equals a fresh frame", () => {
    const base = state();
    const extras = (s: ReturnType<typeof state>) => ({ filterEntries: filterEntries(s), activeFilters: 0 });
    const panel = { ...base, filterPanel: true };
    const moved = selectId(base, items[items.length - 1].id);
    const canvas = renderFrame(panel, extras(panel));
    const reused = renderFrame(moved, extras(moved), canvas);
    expect(reused).toBe(canvas);
    expect(reused.cells).toEqual(renderFrame(moved, extras(moved)).cells);
    // A different size cannot reuse it.
    const small = derive({ ...moved, cols: 50, rows: 18 });
    const other = renderFrame(small, extras(small), canvas);
    expect(other).not.toBe(canvas);
    expect(other.cells.length).toBe(18);
  });
});

/** A compiled item for the search and filter tests: number `i` in creation order. */
const baseItem = (i = 0): Item =>
  ({
    id: `WI-${i}`,
    kind: "work_item",
    title: "",
    status: "todo_hard",
    priority: 2,
    tags: [],
    fields: {},
    discussion: [],
    created_at: `2026-01-01T00:00:${String(i).padStart(2, "0")}Z`,
    updated_at: "2026-01-01T00:00:00Z",
    isbefore: [],
    duplicate_of: [],
    not_duplicate_of: [],
    locked_fields: [],
    tier: "workspace",
  }) as unknown as Item;

describe("trigram filter of the search text (query.ts)", () => {
  it("never rules out an item whose text contains the needle", () => {
    const text = fc.string({
      unit: fc.constantFrom("a", "b", "c", "é", "\u0000", " ", "😀", "Z"),
      maxLength: 60,
    });
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 8 }), (t, at, len) => {
        const item = { ...baseItem(), title: t, discussion: [] } as unknown as Item;
        const h = haystack(item);
        const needle = h.all.slice(at, at + len);
        expect(h.all.includes(needle)).toBe(true);
        expect(mayContain(h, needleGrams(needle))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("rules out most items for a needle they do not contain", () => {
    const items = Array.from({ length: 200 }, (_, i) =>
      haystack({ ...baseItem(i), title: `alpha beta ${i}` }),
    );
    const ruledOut = items.filter((h) => !mayContain(h, needleGrams("zebra"))).length;
    expect(ruledOut).toBeGreaterThan(190);
  });

  it("keeps each item's filter apart from the others' in the shared buffers", () => {
    // 1200 items: filters in three buffers. Each word's trigrams are its own item's only.
    const word = (i: number) => `w${i.toString(36).padStart(3, "0")}q${(i * 7919).toString(36)}`;
    const hs = Array.from({ length: 1200 }, (_, i) => haystack({ ...baseItem(i), title: word(i) }));
    expect(new Set(hs.map((h) => h.grams)).size).toBeGreaterThan(1);
    let kept = 0;
    let ruledOut = 0;
    hs.forEach((h, i) => {
      if (mayContain(h, needleGrams(word(i)))) kept++;
      if (!mayContain(h, needleGrams(word((i + 601) % hs.length)))) ruledOut++;
    });
    expect(kept).toBe(hs.length);
    expect(ruledOut).toBeGreaterThan(hs.length * 0.95);
  });
});

describe("search text from the warm-start cache (prepareSearch with kept texts)", () => {
  it("uses a kept text as the item's search text, and makes it from the item where there is none or it lost a surrogate", () => {
    const items = [0, 1, 2, 3].map((i) => ({ ...baseItem(i), title: `Title ${i}` }) as Item);
    const kept = [
      Buffer.from("kept\u0000zzz-only-in-kept", "utf8"),
      undefined,
      Buffer.from("x\ufffdy", "utf8"),
    ];
    const asked: string[][] = [];
    prepareSearch(items, 0, 3, (its) => {
      asked.push(its.map((i) => i.id));
      return kept;
    });
    expect(asked).toEqual([items.slice(0, 3).map((i) => i.id)]);
    expect(peekHaystack(items[0])!.all).toBe("kept\u0000zzz-only-in-kept");
    expect(mayContain(peekHaystack(items[0])!, needleGrams("zzz-only"))).toBe(true);
    expect(peekHaystack(items[1])!.all).toBe(searchText(items[1]));
    expect(peekHaystack(items[2])!.all).toBe(searchText(items[2])); // (U+FFFD: not trusted)
    expect(peekHaystack(items[3])).toBeUndefined(); // outside [0, 3)
    // A search finds the item by its kept text; items already prepared are not asked again.
    const s = setItems(emptyState(), items, [], items.length);
    const found = filteredIds(derive({ ...s, search: { editing: false, query: "zzz-only", caret: 0 } }));
    expect(found.ids).toEqual([items[0].id]);
    prepareSearch(items, 0, 4, (its) => {
      asked.push(its.map((i) => i.id));
      return its.map(() => undefined);
    });
    expect(asked[1]).toEqual([items[3].id]);
  });
});

describe("search text memory (query.ts)", () => {
  it("is a one-byte string when its text fits in one byte, even when the ID is a ThinString", () => {
    // V8 11's Array.prototype.join returns a two-byte string (twice the memory) when a part
    // is a ThinString — what a string becomes once its text is used as a property key. The
    // representation is visible only with --expose-externalize-string: a child process.
    const script = `
      const { haystack } = await import(${JSON.stringify(path.join(ROOT, "dist", "src", "store", "query.js"))});
      const ob = globalThis.isOneByteString;
      const id = ("WI-volun-hatan-nidok-rihut-" + "pitub-bisok-kukav-pokab").slice(0);
      const keys = {};
      keys[id] = 1; // internalized: \`id\` is now a ThinString
      const it = { id, title: "Title é", status: "todo_hard", kind: "work_item", tags: ["a"],
        fields: { n: 1 }, discussion: [{ message: "Hello", is_tombstoned: false }] };
      console.log(JSON.stringify({ joinIsTwoByte: !ob(["x", id].join("-")), hay: ob(haystack(it).all) }));
    `;
    const r = spawnSync(
      process.execPath,
      ["--expose-externalize-string", "--input-type=module", "-e", script],
      {
        encoding: "utf8",
        env: { ...process.env, NODE_OPTIONS: "" },
      },
    );
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { joinIsTwoByte: boolean; hay: boolean };
    expect(out.hay).toBe(true);
    // (Shows the quirk is real on this node; newer V8s may not have it.)
    if (!out.joinIsTwoByte) console.log("note: this V8's join keeps ThinString parts one-byte");
  });
});

/**
 * Types a search over items titled `texts`, key by key ("\b" deletes), and checks after each
 * key that the hits equal a fresh substring match of every needle.
 */
class Typist {
  s: ReturnType<typeof state>;
  private q = "";
  constructor(texts: string[]) {
    const made = texts.map((t, i) => ({ ...baseItem(i), title: t }) as Item);
    this.s = setItems(state(), made, [], made.length);
  }
  type(k: string): void {
    const q = (this.q = k === "\b" ? this.q.slice(0, -1) : this.q + k);
    this.s = derive({ ...this.s, search: { editing: true, query: q, caret: q.length } });
    const needles = parseQuery(q).terms.map((t) => t.value.toLowerCase());
    const want = this.s.items
      .filter((it) => needles.every((v) => haystack(it).all.includes(v)))
      .map((it) => it.id);
    expect(filteredIds(this.s).ids, JSON.stringify(q)).toEqual(want);
  }
}

describe("typing narrows the search (state.ts fast path)", () => {
  it("gives the same hits as a fresh search after every key, on random texts and keystrokes", () => {
    const word = fc.string({
      unit: fc.constantFrom("a", "b", "c", "ab", "ca", " "),
      minLength: 1,
      maxLength: 12,
    });
    const keys = fc.array(fc.oneof(fc.constantFrom("a", "b", "c", " ", "\b"), fc.constantFrom("ab", "bc")), {
      minLength: 1,
      maxLength: 14,
    });
    fc.assert(
      fc.property(fc.array(word, { minLength: 3, maxLength: 25 }), keys, (texts, typed) => {
        const typist = new Typist(texts);
        for (const k of typed) typist.type(k);
      }),
      { numRuns: 400 },
    );
  });
});

describe("idle dry runs of the pipeline (warmPipeline)", () => {
  it("end, touch no state, and leave searches typed afterwards exact", () => {
    const word = fc.string({
      unit: fc.constantFrom("e", "r", "a", "s", "er", " "),
      minLength: 1,
      maxLength: 10,
    });
    const keys = fc.array(fc.constantFrom("e", "r", "a", "s", " ", "\b"), { minLength: 1, maxLength: 10 });
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 3, maxLength: 20 }),
        keys,
        fc.boolean(),
        (texts, typed, typeFirst) => {
          const typist = new Typist(texts);
          // A search may already be under way when the dry runs happen (they replace its memo).
          if (typeFirst) typist.type("e");
          const s = typist.s;
          const before = { filters: structuredClone(s.filters), search: { ...s.search }, rows: s.baseRows };
          let steps = 0;
          while (warmPipeline(s, steps)) steps++;
          expect(steps).toBeGreaterThan(8);
          expect(steps).toBeLessThan(100);
          expect({ filters: s.filters, search: s.search, rows: s.baseRows }).toEqual(before);
          expect(s.baseRows).toBe(before.rows);
          for (const k of typed) typist.type(k);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("filter toggles on the whole item set (state.ts column path)", () => {
  it("hide exactly the items the filter rules hide, unread ones shown again at the end", () => {
    const status = fc.constantFrom("todo_hard", "todo_soft", "done", "in_progress");
    const tag = fc.constantFrom("ci", "perf", "tui");
    fc.assert(
      fc.property(
        fc.array(fc.tuple(status, fc.uniqueArray(tag, { maxLength: 2 }), fc.boolean()), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.uniqueArray(status, { maxLength: 3 }),
        fc.uniqueArray(tag, { maxLength: 2 }),
        fc.boolean(),
        (specs, hiddenStatuses, hiddenTags, hideTagged) => {
          const made = specs.map(
            ([st, tags, agentLast], i) =>
              ({
                ...baseItem(i),
                title: `t${i}`,
                status: st,
                tags,
                discussion: agentLast
                  ? [
                      {
                        by: "agent",
                        actor: "a_agent",
                        at: "2026-01-01T00:00:00Z",
                        message: "m",
                        is_summary: false,
                        nonce: "abcd",
                        is_tombstoned: false,
                        edit_history: [],
                      },
                    ]
                  : [],
              }) as unknown as Item,
          );
          const s0 = setItems(state(), made, [], made.length);
          const s = derive({ ...s0, filters: { hiddenStatuses, hiddenTags, hideTagged } });
          const hiddenS = new Set<string>(hiddenStatuses);
          const hiddenT = new Set<string>(hiddenTags);
          const visible = (it: Item) =>
            !hiddenS.has(it.status) &&
            !(it.tags.length > 0 && (hideTagged || it.tags.some((t) => hiddenT.has(t))));
          const shown = s.items.filter(visible).map((i) => i.id);
          const noFilter = hiddenStatuses.length === 0 && hiddenTags.length === 0 && !hideTagged;
          const unreadHidden = noFilter
            ? []
            : s.items.filter((i) => !visible(i) && s.unread.has(i.id)).map((i) => i.id);
          expect(filteredIds(s).ids).toEqual([...shown, ...unreadHidden]);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("field terms on the whole item set (state.ts column tests)", () => {
  it("match exactly what matchQuery matches, alone, negated and mixed with other terms", () => {
    const status = fc.constantFrom("todo_hard", "Todo_Soft", "done", "in_progress");
    // ("Pİ" lower-cases to a longer string: "pi̇")
    const tag = fc.constantFrom("ci", "perf", "PERF", "tui", "p", "Pİ");
    const tier = fc.constantFrom("canonical", "workspace", "stealth", null);
    const kind = fc.constantFrom("work_item", "invariant", "Work_Item");
    const prefix = fc.constantFrom("WI", "INV", "wi", "X");
    const term = fc.oneof(
      fc.constantFrom("status:todo", "status:", "status:Todo_Soft", "status:done", "status:nope"),
      fc.constantFrom("tag:perf", "tag:PERF", "tag:p", "tag:", "tag:ci", "tag:Pİ", "tag:pi\u0307"),
      fc.constantFrom("p<=1", "p>2", "p:3", "p<0", "p>=4", "p=2"),
      fc.constantFrom("tier:w", "tier:canonical", "tier:", "tier:s"),
      fc.constantFrom("kind:wi", "kind:inv", "kind:work_item", "kind:x"),
      fc.constantFrom("has:tags", "is:frozen", "title:a", "a", "id:wi"),
    );
    const query = fc
      .array(fc.tuple(fc.boolean(), term), { minLength: 1, maxLength: 3 })
      .map((ts) => ts.map(([neg, t]) => (neg ? `-${t}` : t)).join(" "));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(status, fc.uniqueArray(tag, { maxLength: 3 }), fc.nat(4), tier, kind, prefix), {
          minLength: 1,
          maxLength: 30,
        }),
        query,
        (specs, q) => {
          const made = specs.map(
            ([st, tags, p, tr, k, pre], i) =>
              ({
                ...baseItem(i),
                id: `${pre}-${i}`,
                title: `a${i}`,
                status: st,
                tags,
                priority: p,
                tier: tr,
                kind: k,
                frozen: i % 3 === 0,
              }) as unknown as Item,
          );
          const s = derive({
            ...setItems(state(), made, [], made.length),
            search: { editing: true, query: q, caret: q.length },
          });
          const parsed = parseQuery(q);
          const want = s.items
            .filter((it) => matchQuery(it, parsed, { unread: (id) => s.unread.has(id) }))
            .map((i) => i.id);
          expect(filteredIds(s).ids, q).toEqual(want);
        },
      ),
      { numRuns: 600 },
    );
  });
});
