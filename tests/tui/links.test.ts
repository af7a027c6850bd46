/**
 * Links between items (tui.md §7.1–7.3): the mention pattern and its resolution, an item's
 * links in detail order, and in the app: Tab / Enter to follow, go to by ID, showing an item
 * the view hides, back and forward through the jump history, clicking an ID in the detail.
 */
import { describe, expect, it } from "vitest";
import type { Item, KindConfig } from "../../src/index.js";
import { regions } from "../../src/views/layout.js";
import { mentionPattern } from "../../src/store/mentions.js";
import { itemLinks } from "../../src/app/links.js";
import { findMentions, resolveMention } from "../../src/views/links.js";
import { type FlowKit, flowKit } from "./flowkit.js";

const kinds = (prefixes: string[]): KindConfig[] =>
  prefixes.map((prefix) => ({
    name: prefix.toLowerCase(),
    prefix,
    description: "",
    deprecated_statuses: [],
    fields_schema: [],
  }));

const ID_A = "WI-babab-bobob-cidak";
const ID_B = "WI-babab-bobob-dudul";
const ID_C = "INV-gipir-hokut-lamas";

describe("mentions (tui.md §7.3)", () => {
  const re = mentionPattern(kinds(["WI", "INV", "META"]));

  it("finds a kind prefix followed by two or more proquint syllables, not glued to letters or digits", () => {
    const texts = (t: string) => findMentions(t, re).map((m) => m.text);
    expect(texts(`see ${ID_A}, and ${ID_C}.`)).toEqual([ID_A, ID_C]);
    expect(texts("fix-WI-babab-bobob-x")).toEqual(["WI-babab-bobob"]); // hyphens may glue
    expect(texts("aWI-babab-bobob")).toEqual([]);
    expect(texts("WI-babab-bobob1")).toEqual([]);
    expect(texts("WI-babab-bobobx")).toEqual([]);
    expect(texts("WI-babab only one syllable")).toEqual([]);
    expect(texts("XX-babab-bobob (unknown kind)")).toEqual([]);
    expect(texts("WI-Babab-bobob (capitals are not proquints)")).toEqual([]);
    const m = findMentions(`(${ID_B})`, re)[0];
    expect([m.start, m.end]).toEqual([1, 1 + ID_B.length]);
  });

  it("cannot be built from a config without kinds", () => {
    expect(mentionPattern([])).toBeNull();
    expect(findMentions(ID_A, null)).toEqual([]);
  });

  it("resolves to a full ID or the one ID it prefixes; ambiguous and unknown mentions are not links", () => {
    const ids = [ID_A, ID_B, ID_C].sort();
    const ctx = { byId: new Map(ids.map((id) => [id, {} as Item])), sortedIds: ids };
    expect(resolveMention(ctx, ID_A)).toBe(ID_A);
    expect(resolveMention(ctx, "WI-babab-bobob-d")).toBe(ID_B);
    expect(resolveMention(ctx, "INV-gipir-hokut")).toBe(ID_C);
    expect(resolveMention(ctx, "WI-babab-bobob")).toBeNull(); // two items
    expect(resolveMention(ctx, "WI-zuzuz-zuzuz")).toBeNull();
    expect(resolveMention(ctx, "WI-babab-bobob-cidak-x")).toBeNull();
  });
});

/** A kit whose `cache` item names other items in its text (a message and a custom field). */
async function linkedKit(cols = 80, rows = 24): Promise<FlowKit> {
  const k = await flowKit({ cols, rows });
  const { ids } = k.fx;
  await k.tracker.discuss(
    ids.cache,
    `Blocked on ${ids.parser.slice(0, 14)}; see also WI-zuzuz-zuzuz (no such item).`,
  );
  await k.tracker.update(ids.cache, { set: { parent: ids.review }, add: { isbefore: [ids.routes] } });
  await k.tracker.discuss(ids.cache, `Again ${ids.parser} and ${ids.cache} itself.`);
  k.external();
  k.select(ids.cache);
  return k;
}

describe("links of an item", () => {
  it("lists parent, blocks, blocked by, duplicates, then mentions — once each, never itself or unknown IDs", async () => {
    const k = await linkedKit();
    const { ids } = k.fx;
    const s = k.app.state;
    const links = itemLinks(s, s.byId.get(ids.cache)!);
    expect(links).toEqual([
      { id: ids.review, via: "parent" },
      { id: ids.routes, via: "blocks" },
      { id: ids.parser, via: "mention" },
    ]);
    // blockers come from the other side's isbefore
    expect(itemLinks(s, s.byId.get(ids.docs)!)).toEqual([{ id: ids.parser, via: "parent" }]);
    expect(itemLinks(s, s.byId.get(ids.routes)!)).toEqual([{ id: ids.cache, via: "blocked by" }]);
  });
});

describe("following links in the app", () => {
  it("Tab focuses each link in turn (footer says where it goes), Enter goes there, Esc leaves", async () => {
    const k = await linkedKit();
    const { ids } = k.fx;
    await k.keys("tab");
    expect(k.app.state.linkFocus).toBe(ids.review);
    const footer = () => k.screen().split("\n").at(-2)!;
    const short = (id: string) => id.split("-").slice(0, 2).join("-");
    expect(footer()).toMatch(
      new RegExp(
        `^Link 1/3 parent ${short(ids.review)} Review the new layout +Enter Go +Tab Next +Esc Cancel`,
      ),
    );
    await k.keys("tab tab");
    expect(k.app.state.linkFocus).toBe(ids.parser);
    expect(footer()).toContain(`Link 3/3 mention ${short(ids.parser)} Fix the YAML parser`);
    await k.keys("tab");
    expect(k.app.state.linkFocus).toBe(ids.review); // wraps
    await k.keys("S-tab");
    expect(k.app.state.linkFocus).toBe(ids.parser);
    await k.keys("Escape");
    expect(k.app.state.linkFocus).toBeNull();
    expect(k.app.state.selectedId).toBe(ids.cache);
    await k.keys("S-tab Enter");
    expect(k.app.state.selectedId).toBe(ids.parser);
    expect(k.app.state.linkFocus).toBeNull();
    expect(k.app.state.thread.open).toBe(false); // Enter went to the link, it did not open the thread
    expect(k.screen()).toContain("Title: Fix the YAML parser");
  });

  it("draws links underlined and the focused one in reverse video, in the detail pane", async () => {
    const k = await linkedKit(160, 45); // wide: a full ID fits the detail pane;
    const { ids } = k.fx;
    await k.keys("tab tab"); // routes, shown as "Blocks: <id>"
    const c = k.app.frame();
    const d = regions(k.app.state).detail!;
    const lines = k.screen().split("\n");
    const y = lines.findIndex((l) => l.includes(`Blocks: ${ids.routes}`));
    expect(y).toBeGreaterThan(0);
    const x = lines[y].indexOf(ids.routes);
    expect(x).toBeGreaterThanOrEqual(d.x);
    const flags = (cx: number, cy: number) => c.cells[cy][cx][0] >> 18;
    for (let i = 0; i < ids.routes.length; i++) expect(flags(x + i, y) & 0b1010, `col ${x + i}`).toBe(0b1010);
    expect(flags(x - 2, y) & 0b1010).toBe(0); // "Blocks:" is not a link
    const py = lines.findIndex((l) => l.includes(`Parent: ${ids.review}`));
    const px = lines[py].indexOf(ids.review);
    expect(flags(px, py) & 0b1010).toBe(0b0010); // a link, underlined, not focused
    const own = lines.findIndex((l) => l.includes(`ID: ${ids.cache}`));
    expect(flags(lines[own].indexOf(ids.cache), own) & 0b0010).toBe(0); // its own ID: no link
  });

  it("clicking an ID in the detail pane goes to that item", async () => {
    const k = await linkedKit(160, 45); // wide: a full ID fits the detail pane;
    const { ids } = k.fx;
    const lines = k.screen().split("\n");
    const y = lines.findIndex((l) => l.includes(`Parent: ${ids.review}`));
    k.app.mouse({ action: "click", x: lines[y].indexOf(ids.review) + 3, y });
    expect(k.app.state.selectedId).toBe(ids.review);
    k.app.mouse({ action: "click", x: lines[y].indexOf("Parent:"), y }); // not on an ID: nothing
    expect(k.app.state.selectedId).toBe(ids.review);
  });

  it("goes back and forward through the jump history, recording where the cursor moved meanwhile", async () => {
    const k = await linkedKit();
    const { ids } = k.fx;
    await k.keys("tab Enter"); // cache → review
    expect(k.app.state.selectedId).toBe(ids.review);
    await k.keys("[");
    expect(k.app.state.selectedId).toBe(ids.cache);
    await k.keys("]");
    expect(k.app.state.selectedId).toBe(ids.review);
    await k.keys("]");
    expect(k.app.state.toasts.at(-1)?.message).toBe("No later item in the jump history");
    expect(k.app.state.selectedId).toBe(ids.review);
    // Move with the cursor (not a jump), then back: first to the last jump's item.
    await k.keys("G");
    const moved = k.app.state.selectedId!;
    expect(moved).not.toBe(ids.review);
    await k.keys("[");
    expect(k.app.state.selectedId).toBe(ids.review);
    await k.keys("[");
    expect(k.app.state.selectedId).toBe(ids.cache);
    await k.keys("]");
    await k.keys("]");
    expect(k.app.state.selectedId).toBe(moved);
    await k.keys("[ [ [");
    expect(k.app.state.selectedId).toBe(ids.cache);
    expect(k.app.state.toasts.at(-1)?.message).toMatch(/^No earlier item in the jump history/);
    // A new jump drops the forward entries.
    await k.keys("tab tab Enter"); // cache → routes
    expect(k.app.state.history).toEqual({ ids: [ids.cache, ids.routes], pos: 1 });
  });

  it("goes to an ID typed at ':' (full, prefix, first word), and says when nothing matches", async () => {
    const k = await linkedKit();
    const { ids } = k.fx;
    await k.keys(":");
    expect(k.app.state.dialog?.id).toBe("goto");
    await k.type(ids.docs.slice(0, 12));
    await k.keys("Enter");
    expect(k.app.state.dialog).toBeNull();
    expect(k.app.state.selectedId).toBe(ids.docs);
    await k.keys(":");
    await k.type(ids.inv.split("-")[1]); // without the kind
    await k.keys("Enter");
    expect(k.app.state.selectedId).toBe(ids.inv);
    await k.keys(":");
    await k.type("WI-zuzuz");
    await k.keys("Enter");
    expect(k.app.state.dialog?.id).toBe("goto"); // kept, with the typed text
    expect(k.app.state.dialog?.fields[0].value).toBe("WI-zuzuz");
    expect(k.screen()).toContain("No item matches 'WI-zuzuz'");
    await k.keys("Escape");
    expect(k.app.state.selectedId).toBe(ids.inv);
    expect(k.app.state.history.ids).toEqual([ids.cache, ids.docs, ids.inv]);
    // An ambiguous prefix: the chooser, then the chosen item.
    await k.keys(":");
    await k.type("WI-");
    await k.keys("Enter");
    expect(k.app.state.dialog?.id).toBe("choose");
    const options = (k.app.state.dialog?.data as { options: { value: string }[] }).options;
    expect(options.length).toBeGreaterThan(2);
    await k.keys("Down Enter");
    expect(k.app.state.dialog).toBeNull();
    expect(k.app.state.selectedId).toBe(options[1].value);
  });

  it("shows an item the search, the view and the filters hide — clearing only what hides it", async () => {
    const k = await linkedKit();
    const { ids } = k.fx;
    // Hide 'done' (routes is done) with the filter panel, and search for something else.
    k.app.set({ ...k.app.state, filters: { hiddenStatuses: ["done"], hiddenTags: [], hideTagged: false } });
    await k.keys("/ c a c h e Enter");
    k.select(ids.cache);
    expect(k.app.state.tableStats.shown.has(ids.routes)).toBe(false);
    await k.keys("tab tab Enter");
    expect(k.app.state.selectedId).toBe(ids.routes);
    expect(k.app.state.search.query).toBe("");
    expect(k.app.state.filters.hiddenStatuses).toEqual([]);
    expect(k.app.state.lastFilters?.hiddenStatuses).toEqual(["done"]);
    expect(k.app.state.toasts.at(-1)?.message).toBe(
      `Showing ${ids.routes}: search cleared, filters cleared (X restores them)`,
    );
    // Only the search hides it: the filters stay.
    await k.keys("X / c a c h e Enter");
    k.select(ids.cache);
    await k.keys("S-tab Enter"); // parser (todo_hard): hidden by the search only
    expect(k.app.state.selectedId).toBe(ids.parser);
    expect(k.app.state.filters.hiddenStatuses).toEqual(["done"]);
    expect(k.app.state.toasts.at(-1)?.message).toBe(`Showing ${ids.parser}: search cleared`);
    // The ready view hides a done item.
    await k.keys("v");
    expect(k.app.state.view).toBe("ready");
    await k.keys(":");
    await k.type(ids.review);
    await k.keys("Enter");
    expect(k.app.state.selectedId).toBe(ids.review);
  });

  it("in the compact layout Tab opens the item's detail to show the focused link", async () => {
    const k = await linkedKit(50, 18);
    const { ids } = k.fx;
    expect(k.app.state.compactDetail).toBe(false);
    await k.keys("tab");
    expect(k.app.state.compactDetail).toBe(true);
    expect(k.screen()).toContain("Parent:");
    expect(k.app.state.linkFocus).toBe(ids.review);
    await k.keys("Enter");
    expect(k.app.state.selectedId).toBe(ids.review);
    expect(k.screen()).toContain("Title: Review the new layout");
  });

  it("says so when the item names no other item", async () => {
    const k = await linkedKit();
    k.select(k.fx.ids.secret);
    await k.keys("tab");
    expect(k.app.state.linkFocus).toBeNull();
    expect(k.app.state.toasts.at(-1)?.message).toMatch(/^This item names no other item/);
  });
});
