/**
 * Every TUI write flow driven by keys on a temp fixture tracker, asserting (a) the exact op
 * bytes appended, (b) the compiled state, (c) the screen afterwards. Refusals leave every
 * file untouched and keep the dialog's input.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseOpLog } from "../../src/store/oplog.js";
import { frozenPathFor } from "../../src/store/paths.js";
import { fixedClock, nonceSeq, openTest } from "../helpers.js";
import { addAlike, type FlowKit, flowKit, onlyAppend } from "./flowkit.js";

/** Expected op bytes: every line gets the `  # <nonce>` suffix (store.md §2.3). */
function op(nonce: string, lines: string[]): string {
  return lines.map((l) => `${l}  # ${nonce}`).join("\n") + "\n";
}

/** The standard op header lines. */
function head(
  kind: string,
  at: string,
  clock: number,
  nonce: string,
  actor = "alice",
  by = "human",
): string[] {
  return [
    `- op: ${kind}`,
    `  at: '${at}'`,
    `  by: ${by}`,
    `  actor: ${actor}`,
    `  clock: ${clock}`,
    `  nonce: ${nonce}`,
  ];
}

const T1 = "2026-01-20T09:00:00Z";

function dialogOpen(k: FlowKit): boolean {
  return k.app.state.dialog !== null;
}

describe("discuss (d)", () => {
  it("appends one discuss op with a multi-line message and shows it", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.parser);
    const before = k.sizes();
    await k.keys("d");
    expect(k.screen()).toContain("Discuss: Fix the YAML parser");
    await k.type("Line one\nline two: yes");
    await k.keys("C-s");
    const { file, bytes } = onlyAppend(k.appended(before));
    expect(file).toBe(k.tracker.opFile(k.fx.ids.parser));
    expect(bytes).toBe(
      op("e000", [...head("discuss", T1, 3, "e000"), '  message: "Line one\\nline two: yes"']),
    );
    expect(k.tracker.get(k.fx.ids.parser).discussion.at(-1)?.message).toBe("Line one\nline two: yes");
    expect(dialogOpen(k)).toBe(false);
    const s = k.screen();
    expect(k.app.state.toasts.at(-1)?.message).toBe(`Discussion added to ${k.fx.ids.parser}`);
    expect(s).toContain("Discussion added to");
    expect(s).toContain("Line one ⏎ line two: yes");
  });

  it("refuses an empty message with a message, writes nothing, keeps the dialog", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.parser);
    const before = k.sizes();
    await k.keys("d space C-s");
    expect(k.appended(before).size).toBe(0);
    expect(dialogOpen(k)).toBe(true);
    expect(k.screen()).toContain("Message is empty: type something or press Esc");
    await k.keys("Escape");
    expect(dialogOpen(k)).toBe(false);
    expect(k.appended(before).size).toBe(0);
  });

  it("takes the text from $EDITOR (Ctrl+O) through the editor hook", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.parser);
    (k.app.deps as { editor?: (t: string) => Promise<string | null> }).editor = async (t) =>
      `${t}written in the editor\nsecond line`;
    await k.keys("d");
    await k.type("draft: ");
    await k.keys("C-o");
    expect(k.app.state.dialog?.fields[0].value).toBe("draft: written in the editor\nsecond line");
    await k.keys("C-s");
    expect(k.tracker.get(k.fx.ids.parser).discussion.at(-1)?.message).toBe(
      "draft: written in the editor\nsecond line",
    );
  });
});

describe("edit (e)", () => {
  it("writes only the changed fields in one update op", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.parser);
    const before = k.sizes();
    await k.keys("e");
    await k.keys("Down"); // status todo_hard → todo_soft
    await k.keys("Tab Down"); // priority P1 → P2
    await k.keys("Tab");
    await k.type(" now");
    await k.keys("Tab");
    await k.type(", ci");
    await k.keys("C-s");
    const { bytes } = onlyAppend(k.appended(before));
    expect(bytes).toBe(
      op("e000", [
        ...head("update", T1, 3, "e000"),
        "  set:",
        '    title: "Fix the YAML parser now"',
        "    status: todo_soft",
        "    priority: 2",
        "  add:",
        "    tags: [ci]",
      ]),
    );
    const it0 = k.tracker.get(k.fx.ids.parser);
    expect([it0.title, it0.status, it0.priority, it0.tags]).toEqual([
      "Fix the YAML parser now",
      "todo_soft",
      2,
      ["parser", "ci"],
    ]);
    expect(k.app.state.toasts.at(-1)?.message).toBe(`Updated: ${k.fx.ids.parser}`);
  });

  it("offers only the kind's statuses and marks a deprecated current status", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.inv);
    await k.keys("e");
    const status = k.app.state.dialog!.fields.find((f) => f.name === "status")!;
    expect(status.options!.map((o) => o.value)).toEqual([
      "satisfied",
      "pending_validation",
      "violated",
      "needs_human_review",
      "deleted",
    ]);
    // A holding invariant (deprecated status for the kind) shows it as such.
    const t = k.tracker;
    await t.unfreeze(k.fx.ids.inv);
    await t.unlock(k.fx.ids.inv, ["status"]);
    fs.appendFileSync(
      t.opFile(k.fx.ids.inv),
      op("f001", [...head("update", "2026-01-20T10:00:00Z", 40, "f001"), "  set:", "    status: holding"]),
    );
    await k.keys("Escape");
    k.external();
    k.select(k.fx.ids.inv);
    await k.keys("e");
    const st = k.app.state.dialog!.fields.find((f) => f.name === "status")!;
    expect(st.options![0]).toEqual({ value: "holding", label: "holding (deprecated)" });
  });

  it("checks tags and typed custom fields inline; keeps input on error; writes typed values", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.inv);
    await k.tracker.unfreeze(k.fx.ids.inv);
    k.app.reload();
    const before = k.sizes();
    await k.keys("e");
    const d0 = k.app.state.dialog!;
    const names = d0.fields.map((f) => f.name);
    expect(names).toEqual([
      "status",
      "priority",
      "title",
      "tags",
      "pr_ref",
      "description",
      "f:statement",
      "f:root_cause",
      "f:fix",
      "f:verification",
      "f:regression_tests",
      "f:scope",
      "f:progress_pct",
    ]);
    // bad tag
    k.app.state = { ...k.app.state, dialog: { ...d0, focus: names.indexOf("tags") } };
    await k.type("Bad-Tag");
    await k.keys("C-s");
    expect(k.app.state.dialog?.fields.find((f) => f.name === "tags")?.error).toBe(
      "tag name 'Bad-Tag' does not match ^[a-z_][a-z0-9_]*$",
    );
    expect(k.app.state.dialog?.fields.find((f) => f.name === "tags")?.value).toBe("Bad-Tag");
    await k.keys("C-u"); // clear the tag input
    // progress_pct out of range, then valid; regression_tests as a list
    const d1 = k.app.state.dialog!;
    k.app.state = { ...k.app.state, dialog: { ...d1, focus: names.indexOf("f:progress_pct") } };
    await k.keys("C-u");
    await k.type("150");
    await k.keys("C-s");
    expect(k.screen()).toContain("progress_pct must be ≤ 100");
    expect(k.appended(before).size).toBe(0);
    await k.keys("C-u");
    await k.type("75");
    const d2 = k.app.state.dialog!;
    k.app.state = { ...k.app.state, dialog: { ...d2, focus: names.indexOf("f:regression_tests") } };
    await k.type("test_a\ntest_b");
    await k.keys("C-s");
    const { bytes } = onlyAppend(k.appended(before));
    expect(bytes).toBe(
      op("e000", [
        ...head("update", T1, 3, "e000"),
        "  set:",
        "    fields:",
        "      regression_tests:",
        "      - test_a",
        "      - test_b",
        "      progress_pct: 75",
      ]),
    );
    expect(k.tracker.get(k.fx.ids.inv).fields).toMatchObject({
      progress_pct: 75,
      regression_tests: ["test_a", "test_b"],
      statement: "Frozen items stay frozen",
    });
  });

  it("enforces required schema fields", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.inv);
    await k.tracker.unfreeze(k.fx.ids.inv);
    k.app.reload();
    const before = k.sizes();
    await k.keys("e");
    const d = k.app.state.dialog!;
    const i = d.fields.findIndex((f) => f.name === "f:statement");
    k.app.state = { ...k.app.state, dialog: { ...d, focus: i } };
    await k.keys("C-u C-s");
    expect(k.app.state.dialog?.fields[i].error).toBe("statement is required for invariant");
    expect(k.appended(before).size).toBe(0);
  });

  it("with nothing changed, writes nothing", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.parser);
    const before = k.sizes();
    await k.keys("e C-s");
    expect(k.appended(before).size).toBe(0);
    expect(k.screen()).toContain("No changes");
  });

  it("never reverts another writer's change made while the dialog was open", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.parser);
    await k.keys("e");
    // An agent changes the status and priority meanwhile (another process).
    const agent = openTest(k.fx.repo, {
      user: () => "bot_agent",
      now: fixedClock("2026-01-20T09:30:00Z"),
      nonce: nonceSeq(0xc100),
    });
    await agent.update(k.fx.ids.parser, { set: { status: "in_progress", priority: 0 } });
    k.external();
    expect(k.screen()).toContain("This item changed on disk while the dialog was open (now: status");
    expect(k.screen()).toContain("in_progress, P0");
    // The human edits only the title.
    const d = k.app.state.dialog!;
    k.app.state = { ...k.app.state, dialog: { ...d, focus: d.fields.findIndex((f) => f.name === "title") } };
    await k.type(" (human)");
    const before = k.sizes();
    await k.keys("C-s");
    const { bytes } = onlyAppend(k.appended(before));
    expect(bytes).toBe(
      op("e000", [...head("update", T1, 4, "e000"), "  set:", '    title: "Fix the YAML parser (human)"']),
    );
    const it0 = k.tracker.get(k.fx.ids.parser);
    expect([it0.title, it0.status, it0.priority]).toEqual(["Fix the YAML parser (human)", "in_progress", 0]);
  });
});

describe("new item (n)", () => {
  it("creates the item with the kind's fields and selects it", async () => {
    const k = await flowKit();
    const before = k.sizes();
    await k.keys("n");
    await k.type("Write the release notes");
    // status (select) stays todo_hard; priority → P1; tier workspace; tags
    const d = k.app.state.dialog!;
    const names = d.fields.map((f) => f.name);
    expect(names).toEqual(["kind", "title", "status", "priority", "tier", "tags", "description"]);
    k.app.state = { ...k.app.state, dialog: { ...d, focus: names.indexOf("priority") } };
    await k.keys("Up");
    k.app.state = {
      ...k.app.state,
      dialog: { ...k.app.state.dialog!, focus: names.indexOf("tags") },
    };
    await k.type("docs");
    await k.keys("C-s");
    const m = k.appended(before);
    const { file, bytes } = onlyAppend(m);
    const created = k.app.state.selectedId!;
    expect(path.basename(file)).toBe(`.${created}.ops`);
    expect(bytes).toBe(
      op("e000", [
        ...head("create", T1, 1, "e000"),
        "  data:",
        "    kind: work_item",
        '    title: "Write the release notes"',
        "    status: todo_hard",
        "    priority: 1",
        "    parent:",
        "    tags:",
        "    - docs",
        "    isbefore: []",
        "    duplicate_of: []",
        "    not_duplicate_of: []",
        "    pr_ref:",
        '    description: ""',
        "    fields: {}",
      ]),
    );
    expect(k.tracker.get(created).title).toBe("Write the release notes");
    expect(k.screen()).toContain("Title: Write the release notes");
    expect(k.app.state.toasts.at(-1)?.message).toBe(`Created: ${created}`);
  });

  it("switching the kind brings its required fields, which are enforced", async () => {
    const k = await flowKit();
    const before = k.sizes();
    await k.keys("n");
    await k.type("Parser never loses ops");
    const d = k.app.state.dialog!;
    k.app.state = { ...k.app.state, dialog: { ...d, focus: 0 } };
    await k.keys("Up"); // work_item → meta_invariant? options are in config order
    let names = k.app.state.dialog!.fields.map((f) => f.name);
    while (k.app.state.dialog!.fields[0].value !== "invariant") {
      await k.keys("Down");
      names = k.app.state.dialog!.fields.map((f) => f.name);
    }
    expect(names).toContain("f:statement");
    expect(k.app.state.dialog!.fields.find((f) => f.name === "title")?.value).toBe("Parser never loses ops");
    expect(k.app.state.dialog!.fields.find((f) => f.name === "status")?.value).toBe("violated"); // first blocking status the kind allows (cli.md §2.5)
    await k.keys("C-s");
    expect(k.app.state.dialog?.fields.find((f) => f.name === "f:statement")?.error).toBe(
      "statement is required for invariant",
    );
    expect(k.appended(before).size).toBe(0);
    const i = names.indexOf("f:statement");
    k.app.state = { ...k.app.state, dialog: { ...k.app.state.dialog!, focus: i } };
    await k.type("No op is ever lost");
    k.app.state = { ...k.app.state, dialog: { ...k.app.state.dialog!, focus: i + 1 } };
    await k.type("n/a");
    await k.keys("C-s");
    const created = k.app.state.selectedId!;
    expect(created).toMatch(/^INV-/);
    expect(k.tracker.get(created).fields).toEqual({ statement: "No op is ever lost", root_cause: "n/a" });
  });
});

describe("parent (p) and isbefore (b)", () => {
  it("sets the parent from a short prefix, clears it with an empty value", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.review);
    const before = k.sizes();
    await k.keys("p");
    await k.type(k.fx.ids.stable.slice(0, 8));
    await k.keys("C-s");
    expect(onlyAppend(k.appended(before)).bytes).toBe(
      op("e000", [...head("update", T1, 3, "e000"), "  set:", `    parent: ${k.fx.ids.stable}`]),
    );
    expect(k.tracker.get(k.fx.ids.review).parent).toBe(k.fx.ids.stable);
    const b2 = k.sizes();
    await k.keys("p C-u C-s");
    expect(onlyAppend(k.appended(b2)).bytes).toBe(
      op("e001", [...head("update", T1, 4, "e001"), "  set:", "    parent:"]),
    );
    expect(k.tracker.get(k.fx.ids.review).parent).toBeNull();
  });

  it("opens a chooser for an ambiguous prefix and says so when nothing matches", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.review);
    const before = k.sizes();
    await k.keys("p");
    await k.type("WI-zzzzz");
    await k.keys("C-s");
    expect(k.app.state.dialog?.fields[0].error).toBe("No item matches 'WI-zzzzz'");
    await k.keys("C-u");
    await k.type("WI-");
    await k.keys("C-s");
    expect(k.app.state.dialog?.kind).toBe("choose");
    expect(k.screen()).toContain('Ambiguous prefix: "WI-"');
    expect(k.appended(before).size).toBe(0);
    const opts = (k.app.state.dialog!.data as { options: { value: string }[] }).options.map((o) => o.value);
    const target = opts.indexOf(k.fx.ids.cache);
    for (let i = 0; i < target; i++) await k.keys("Down");
    await k.keys("Enter");
    expect(k.tracker.get(k.fx.ids.review).parent).toBe(k.fx.ids.cache);
    expect(k.app.state.dialog).toBeNull();
  });

  it("adds isbefore links and warns about a cycle before saving", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.docs); // parser isbefore docs already
    const before = k.sizes();
    await k.keys("b");
    await k.type(k.fx.ids.parser.slice(0, 8));
    await k.keys("C-s");
    expect(k.app.state.dialog?.error).toMatch(
      /^Warning: cycle in isbefore links: WI-nusob.* -> WI-dozag.* -> WI-nusob/,
    );
    expect(k.appended(before).size).toBe(0);
    await k.keys("Escape");
    await k.keys("b");
    await k.type(k.fx.ids.stable.slice(0, 8));
    await k.keys("C-s");
    expect(onlyAppend(k.appended(before)).bytes).toBe(
      op("e000", [
        ...head("update", T1, 2, "e000"),
        "  set: {}",
        "  add:",
        `    isbefore: [${k.fx.ids.stable}]`,
      ]),
    );
    expect(k.tracker.get(k.fx.ids.docs).isbefore).toEqual([k.fx.ids.stable]);
    expect(k.screen()).toContain("Isbefore links updated");
  });

  it("refuses the item itself as its parent or blocker at once (no 'save anyway'), writing nothing", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.review);
    const before = k.sizes();
    await k.keys("p");
    await k.type(k.fx.ids.review.slice(0, 8));
    await k.keys("C-s");
    const own = `${k.fx.ids.review} is this item: an item cannot be its own parent`;
    expect(k.app.state.dialog?.fields[0].error).toBe(own);
    await k.keys("C-s"); // (pressing again does not save it)
    expect(k.app.state.dialog?.fields[0].error).toBe(own);
    await k.keys("Escape b");
    await k.type(k.fx.ids.review.slice(0, 8));
    await k.keys("C-s");
    expect(k.app.state.dialog?.fields.find((f) => f.name === "add")?.error).toBe(
      `${k.fx.ids.review} is this item: an item cannot block itself`,
    );
    expect(k.appended(before).size).toBe(0);
    expect(k.tracker.get(k.fx.ids.review).parent).toBeNull();
  });
});

describe("tier moves (m)", () => {
  it("offers only the valid moves and moves the file", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.parser);
    await k.keys("m");
    expect(k.app.state.dialog!.fields[0].options!.map((o) => o.value)).toEqual(["demote"]);
    await k.keys("C-s");
    const it0 = k.tracker.get(k.fx.ids.parser);
    expect(it0.tier).toBe("workspace");
    expect(fs.existsSync(path.join(k.tracker.paths.tierDirs.canonical, `.${k.fx.ids.parser}.ops`))).toBe(
      false,
    );
    const tail = fs.readFileSync(k.tracker.opFile(k.fx.ids.parser), "utf8");
    expect(tail.endsWith(op("e000", head("demote", T1, 3, "e000")))).toBe(true);
    k.select(k.fx.ids.stable);
    await k.keys("m");
    expect(k.app.state.dialog!.fields[0].options!.map((o) => o.value)).toEqual(["promote", "stealth"]);
    await k.keys("Down C-s");
    expect(k.tracker.get(k.fx.ids.stable).tier).toBe("stealth");
    expect(k.screen()).toContain("Tier moved: stealth");
  });
});

describe("locks, freeze, drift, delete, clear", () => {
  it("locks and unlocks from a checklist of lockable names", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.stable);
    const before = k.sizes();
    await k.keys("l");
    const names = k.app.state.dialog!.fields.map((f) => f.name.slice(2));
    expect(names.slice(0, 3)).toEqual(["title", "status", "priority"]);
    expect(names).toContain("discussion");
    // focus status, toggle it, and priority
    await k.keys("Down space Down space C-s");
    expect(onlyAppend(k.appended(before)).bytes).toBe(
      op("e000", [...head("lock", T1, 2, "e000"), "  lock:", "  - status", "  - priority"]),
    );
    expect(k.tracker.get(k.fx.ids.stable).locked_fields).toEqual(["status", "priority"]);
    const b2 = k.sizes();
    await k.keys("l Down space C-s");
    expect(onlyAppend(k.appended(b2)).bytes).toBe(
      op("e001", [...head("unlock", T1, 3, "e001"), "  unlock:", "  - status"]),
    );
    expect(k.tracker.get(k.fx.ids.stable).locked_fields).toEqual(["priority"]);
  });

  it("freezes and unfreezes; repairs drift after confirmation", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.stable);
    const file = k.tracker.opFile(k.fx.ids.stable);
    await k.keys("z");
    expect(fs.existsSync(frozenPathFor(file))).toBe(true);
    expect(k.tracker.get(k.fx.ids.stable).frozen).toBe(true);
    expect(k.app.state.toasts.at(-1)?.message).toBe(`Frozen: ${k.fx.ids.stable}`);
    expect(k.screen()).toContain("*** FROZEN ***");
    // Someone appends behind the freeze (drift).
    const good = fs.readFileSync(file, "utf8");
    fs.appendFileSync(
      file,
      op("f002", [
        ...head("update", "2026-01-20T11:00:00Z", 50, "f002", "x_agent", "agent"),
        "  set:",
        "    title: hijacked",
      ]),
    );
    k.app.reload();
    k.select(k.fx.ids.stable);
    expect(k.screen()).toContain("FROZEN (DRIFTED)");
    await k.keys("R");
    expect(k.app.state.dialog?.kind).toBe("confirm");
    await k.keys("y");
    expect(fs.readFileSync(file, "utf8")).toBe(good);
    expect(k.tracker.get(k.fx.ids.stable).title).toBe("Symbol IDs must be stable");
    await k.keys("z");
    expect(fs.existsSync(frozenPathFor(file))).toBe(false);
    expect(k.app.state.toasts.at(-1)?.message).toBe(`Unfrozen: ${k.fx.ids.stable}`);
  });

  it("deletes after confirmation (status deleted, inbound links cleared)", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.docs); // parser isbefore docs
    await k.keys("Delete");
    expect(k.screen()).toContain("Delete 'Document the CLI'?");
    await k.keys("n");
    expect(k.tracker.get(k.fx.ids.docs).status).toBe("todo_soft");
    const before = k.sizes();
    await k.keys("Delete y");
    const m = k.appended(before);
    expect(m.size).toBe(2);
    expect(m.get(k.tracker.opFile(k.fx.ids.docs))).toBe(
      op("e000", [...head("update", T1, 2, "e000"), "  set:", "    status: deleted"]),
    );
    expect(k.tracker.get(k.fx.ids.docs).status).toBe("deleted");
    expect(k.tracker.get(k.fx.ids.parser).isbefore).toEqual([]);
    expect(k.app.state.toasts.at(-1)?.message).toBe(`Deleted: ${k.fx.ids.docs} (cleared 1 inbound link)`);
    expect(k.screen()).toContain("(cleared 1 inbound link)"); // long toasts wrap, not cut
  });

  it("clears the discussion after confirmation", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.cache);
    const before = k.sizes();
    await k.keys("D");
    expect(k.screen()).toContain("Clear discussion for 'Add caching layer'?");
    await k.keys("y");
    expect(onlyAppend(k.appended(before)).bytes).toBe(op("e000", head("discuss_clear", T1, 5, "e000")));
    expect(k.tracker.get(k.fx.ids.cache).discussion).toEqual([]);
  });
});

describe("edit mode and message ops", () => {
  it("opens the window, tombstones and edits a message, closes the window", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.cache);
    await k.keys("x"); // clear-filters: nothing to clear → harmless
    await k.keys("C-e");
    expect(k.tracker.editModeStatus().on).toBe(true);
    expect(k.screen()).toContain("EDIT MODE ON");
    await k.keys("o"); // thread, cursor on the newest message
    const nonce3 = k.tracker.get(k.fx.ids.cache).discussion[2].nonce;
    const before = k.sizes();
    await k.keys("x");
    expect(k.screen()).toContain(`Delete message #${nonce3}`);
    await k.type("wrong thread");
    await k.keys("C-s");
    const it0 = k.tracker.get(k.fx.ids.cache);
    expect(it0.discussion[2].is_tombstoned).toBe(true);
    // Message ops go to the item's own op file with a microsecond `at` (store.md §3.5).
    expect(onlyAppend(k.appended(before)).bytes).toBe(
      // e000-e002 went to the three tiers' edit-mode logs (edit-mode-on).
      op("e003", [
        "- op: delete-msg",
        "  at: '2026-01-20T09:00:00.000000Z'",
        "  by: human",
        "  actor: alice",
        "  clock: 5",
        "  nonce: e003",
        `  item: ${k.fx.ids.cache}`,
        `  target_nonce: ${nonce3}`,
        '  reason: "wrong thread"',
      ]),
    );
    await k.keys("k E");
    await k.keys("C-u");
    expect(k.app.state.dialog?.fields[0].name).toBe("text");
    const d = k.app.state.dialog!;
    k.app.state = {
      ...k.app.state,
      dialog: { ...d, fields: d.fields.map((f, i) => (i === 0 ? { ...f, value: "", caret: 0 } : f)) },
    };
    await k.type("Please measure it on 10k items.");
    await k.keys("Tab");
    await k.type("typo");
    await k.keys("C-s");
    expect(k.tracker.get(k.fx.ids.cache).discussion[1].message).toBe("Please measure it on 10k items.");
    await k.keys("Escape C-e");
    expect(k.tracker.editModeStatus().on).toBe(false);
  });
});

describe("a cross-tier conflict (M-r: reconcile-reset)", () => {
  it("merges the copies into canonical after confirmation; an item in one tier says there is none", async () => {
    const k = await flowKit();
    const id = k.fx.ids.cache;
    k.select(id);
    await k.keys("M-r");
    expect(k.app.state.dialog).toBeNull();
    expect(k.app.state.toasts.at(-1)?.message).toBe(`No cross-tier conflict: ${id} is only in workspace`);
    // A copy of the workspace file lands in canonical (a merge, a journal recovery…).
    const ws = k.tracker.opFile(id);
    const canon = path.join(k.tracker.paths.tierDirs.canonical, `.${id}.ops`);
    fs.copyFileSync(ws, canon);
    k.external();
    k.select(id);
    expect(k.screen()).toContain("Cross-tier conflict: YES");
    await k.keys("M-r");
    expect(k.app.state.dialog?.title).toBe("Merge the copies of 'Add caching layer' into canonical?");
    await k.keys("n");
    expect(fs.existsSync(ws)).toBe(true);
    await k.keys("M-r");
    await k.keys("y");
    expect(fs.existsSync(ws)).toBe(false);
    expect(parseOpLog(fs.readFileSync(canon, "utf8")).ops.at(-1)).toMatchObject({
      op: "reconcile",
      by: "human",
      from_tier: "workspace",
      reason: "manual-reset",
    });
    expect(k.app.state.toasts.at(-1)?.message).toMatch(
      new RegExp(`^Reconciled ${id} into canonical from workspace \\(\\d+ duplicate ops? dropped\\)$`),
    );
    expect(k.screen()).not.toContain("Cross-tier conflict: YES");
    expect(k.app.state.byId.get(id)?.tier).toBe("canonical");
  });
});

describe("as an agent user", () => {
  it("keeps human-only actions visible but disabled, with the store's refusal; files untouched", async () => {
    const k = await flowKit({ user: "bot_agent" });
    k.select(k.fx.ids.cache);
    const before = k.sizes();
    const refused: Record<string, string> = {
      D: "discuss_clear requires human authority",
      Delete: "Status 'deleted' requires human authority.",
      l: "lock requires human authority",
      z: "freeze requires human authority",
      R: "repair-drift requires human authority",
      "M-r": "reconcile_reset requires human authority",
      "C-e": "edit-mode-on requires human authority",
    };
    for (const [key, msg] of Object.entries(refused)) {
      await k.keys(key);
      expect(k.app.state.dialog).toBeNull();
      expect(k.app.state.toasts.at(-1)?.message).toBe(`${msg} (you are the agent user 'bot_agent')`);
    }
    expect(k.appended(before).size).toBe(0);
    // help lists them, marked disabled with the reason
    await k.keys("?");
    const help = k.app.state.helpSections.flatMap((s) => s.rows);
    expect(help.find((r) => r.label === "Lock / unlock fields")?.disabled).toBe(
      "lock requires human authority (you are the agent user 'bot_agent')",
    );
    await k.keys("?");
    // stealth is offered but the store refuses it at submit; the dialog stays open
    k.select(k.fx.ids.stable);
    await k.keys("m Down C-s");
    expect(k.app.state.dialog?.error).toBe("stealth requires human authority");
    expect(k.appended(before).size).toBe(0);
    await k.keys("Escape");
    // agent-allowed writes work
    await k.keys("d");
    await k.type("agent note");
    await k.keys("C-s");
    const { bytes } = onlyAppend(k.appended(before));
    expect(bytes).toBe(
      op("e000", [...head("discuss", T1, 2, "e000", "bot_agent", "agent"), '  message: "agent note"']),
    );
  });
});

describe("failed writes", () => {
  it("keep the dialog open with the input intact and show a typed error", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.parser);
    await k.keys("d");
    await k.type("keep me");
    // make the op file unwritable for this process (a read-only bind would be the real case)
    const file = k.tracker.opFile(k.fx.ids.parser);
    const before = fs.readFileSync(file);
    const write = k.tracker.discuss.bind(k.tracker);
    k.tracker.discuss = async () => {
      throw Object.assign(new Error("EACCES: permission denied, open '" + file + "'"), { code: "EACCES" });
    };
    await k.keys("C-s");
    k.tracker.discuss = write;
    expect(k.app.state.dialog?.fields[0].value).toBe("keep me");
    expect(k.app.state.dialog?.error).toContain("permission denied");
    expect(k.app.state.toasts.at(-1)?.level).toBe("error");
    expect(fs.readFileSync(file)).toEqual(before);
    await k.keys("C-s");
    expect(k.tracker.get(k.fx.ids.parser).discussion.at(-1)?.message).toBe("keep me");
  });
});

describe("mark duplicate (=)", () => {
  it("appends duplicate_of for a typed prefix, refuses itself and repeats, then the item leaves ready", async () => {
    const k = await flowKit();
    k.select(k.fx.ids.docs);
    const before = k.sizes();
    await k.keys("=");
    expect(k.app.state.dialog?.id).toBe("duplicate");
    await k.type(k.fx.ids.docs.slice(0, 9));
    await k.keys("Enter");
    expect(k.app.state.dialog?.fields[0].error).toBe("An item cannot be a duplicate of itself");
    await k.keys("C-u");
    await k.type(k.fx.ids.parser.slice(0, 9));
    await k.keys("Enter");
    expect(onlyAppend(k.appended(before)).bytes).toBe(
      op("e000", [
        ...head("update", T1, 2, "e000"),
        "  set: {}",
        "  add:",
        `    duplicate_of: [${k.fx.ids.parser}]`,
      ]),
    );
    expect(k.tracker.get(k.fx.ids.docs).duplicate_of).toEqual([k.fx.ids.parser]);
    expect(k.tracker.ready().map((i) => i.id)).not.toContain(k.fx.ids.docs);
    expect(k.app.state.toasts.at(-1)?.message).toBe(
      `Marked ${k.fx.ids.docs} as a duplicate of ${k.fx.ids.parser}`,
    );
    const b2 = k.sizes();
    await k.keys("=");
    await k.type(k.fx.ids.parser.slice(0, 9));
    await k.keys("Enter");
    expect(k.app.state.dialog?.fields[0].error).toBe(`Already marked as a duplicate of ${k.fx.ids.parser}`);
    expect(k.appended(b2).size).toBe(0);
  });

  it("in the clusters view offers the item's cluster and fills in its first other member", async () => {
    const k = await flowKit({ cols: 100, rows: 30 });
    const made = await addAlike(
      k,
      6,
      (i) => `flaky watcher test on macos runner ${["alpha", "beta", "gamma"][i % 3]} v${i}`,
      "the watcher test times out on the macos runner when the disk is slow",
    );
    await k.keys("V");
    await k.app.clustersReady();
    const cv = k.app.state.clusterView!;
    const rank = cv.byId.get(made[0])!.rank;
    const members = cv.order.filter((id) => cv.byId.get(id)!.rank === rank);
    k.select(members[1]);
    await k.keys("=");
    const d = k.app.state.dialog!;
    expect(d.fields[0].value).toBe(members[0]);
    expect(d.lines).toContain(`Its cluster (#${rank}):`);
    const before = k.sizes();
    await k.keys("Enter");
    expect(onlyAppend(k.appended(before)).bytes).toContain(`    duplicate_of: [${members[0]}]`);
    expect(k.tracker.get(members[1]).duplicate_of).toEqual([members[0]]);
  });
});
