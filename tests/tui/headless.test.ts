/**
 * The real blessed screen on fake streams: keys typed as bytes, resize events, mouse
 * sequences, live updates from other writers, and terminal restore on destroy.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { opFilePath } from "../../src/store/paths.js";
import { SEARCH_TEXT_KEY } from "../../src/store/query.js";
import { generateTracker } from "../../src/store/generate.js";
import { fixedClock, nonceSeq, openTest, tmpDir } from "../helpers.js";
import { buildTuiFixture } from "./fixture.js";
import { closeAll, headless } from "./term.js";

const NOW = () => Date.parse("2026-01-20T09:00:00Z");

afterEach(closeAll);

/** The "Title: …" line of the detail pane (right of the divider). */
function detailTitle(screen: string): string | undefined {
  for (const line of screen.split("\n")) {
    const m = /Title: (.*)$/.exec(line);
    if (m) return m[1].trim();
  }
  return undefined;
}

describe("headless blessed session", () => {
  it("draws the table and detail into blessed's cell grid and moves with typed keys", async () => {
    const fx = await buildTuiFixture();
    const h = headless(openTest(fx.repo), 80, 24, { watch: false, now: NOW });
    await h.type("");
    const first = h.screen();
    expect(first.split("\n")).toHaveLength(24);
    expect(first).toMatch(/^ htrac {2}│ {2}10\/10 items/);
    expect(detailTitle(first)).toBe("Routes must have methods");
    await h.type("j");
    expect(detailTitle(h.screen())).toBe("Symbol IDs must be stable");
    await h.type("\x1b[B"); // arrow down
    expect(detailTitle(h.screen())).toBe("Fix the YAML parser");
    await h.type("G");
    // Hostile title: inert and visible (wrapped in the 34-column detail pane).
    expect(h.screen()).toContain("│ Title: Evil \\e]0;pwned\\x07 title\n");
    expect(h.screen()).toContain("│ {bold}x{/bold}\n");
    expect(h.screen()).toContain("│ line\\e[2Jwipe\n");
    await h.type("g");
    expect(detailTitle(h.screen())).toBe("Routes must have methods");
  });

  it("opens on an invalid config read-only with the problem shown, writes once it is fixed, applies a changed one", async () => {
    const fx = await buildTuiFixture();
    const cfg = path.join(fx.repo, ".agent", "tracker", "config.yaml");
    fs.writeFileSync(cfg, "kinds: [\n");
    const t = openTest(fx.repo, { configFallback: true });
    const h = headless(t, 120, 30, { now: NOW });
    await h.session.ready;
    await h.type("");
    const first = h.screen();
    expect(first).toMatch(/^ htrac {2}│ {2}10\/10 items .*⚠ 1 problem/);
    expect(first).toMatch(/read-only\s*\n/);
    expect(first).toContain("config invalid: read-only, using config.yaml.template (! lists it)");
    // Writes are refused with the reason; nothing is written.
    const ops = path.join(fx.repo, ".agent", "tracker-workspace", ".ops");
    const before = fs.readdirSync(ops).length;
    await h.type("n");
    await h.waitFor(
      (x) => x.includes("read-only session (the config is invalid: writes are allowed"),
      "the refusal",
    );
    expect(fs.readdirSync(ops)).toHaveLength(before);
    await h.type("\x1b");
    await h.type("!");
    await h.waitFor(
      (x) => /Load problems \(1\)/.test(x) && x.includes("config.yaml: invalid YAML: line 1"),
      "the list",
    );
    await h.type("\x1b");
    // Fixed while the session runs: the problem goes and writes are allowed again.
    const template = fs.readFileSync(path.join(fx.repo, ".agent", "tracker", "config.yaml.template"), "utf8");
    fs.writeFileSync(cfg, template);
    await h.waitFor((x) => x.includes("config valid again: writes allowed"), "the fix");
    expect(h.screen()).not.toContain("⚠ 1 problem");
    expect(h.screen()).not.toMatch(/read-only\s*\n/);
    await h.type("n");
    await h.type("Written once the config is fixed");
    await h.type("\x13"); // Ctrl+S: create
    await h.waitFor(() => fs.readdirSync(ops).length === before + 1, "the new item's file");
    const created = fs
      .readdirSync(ops)
      .filter((f) =>
        fs.readFileSync(path.join(ops, f), "utf8").includes('title: "Written once the config is fixed"'),
      );
    expect(created).toHaveLength(1);
    // A different valid config applies at once: a new status shows in the filter panel.
    expect(template).toContain("statuses:\n  - todo_hard\n");
    fs.writeFileSync(
      cfg,
      template.replace("statuses:\n  - todo_hard\n", "statuses:\n  - todo_hard\n  - parked\n"),
    );
    await h.waitFor((x) => x.includes("config changed: applied"), "the change");
    await h.type("\x1b");
    await h.type("f");
    await h.waitFor((x) => /parked/.test(x), "the new status in the filter panel");
  });

  it("re-tiers live on resize across every tier and keeps the selected item", async () => {
    const fx = await buildTuiFixture();
    const h = headless(openTest(fx.repo), 80, 24, { watch: false, now: NOW });
    await h.type("jj");
    expect(detailTitle(h.screen())).toBe("Fix the YAML parser");
    // wide: extra columns and the activity log
    h.output.resize(160, 45);
    await h.type("");
    let s = h.screen();
    expect(s.split("\n")).toHaveLength(45);
    expect(s).toContain("Activity");
    expect(s.split("\n")[1]).toMatch(/Status +Deps +Title/);
    expect(detailTitle(s)).toBe("Fix the YAML parser");
    // compact: one table, the cursor row is still the parser item, Enter opens its detail
    h.output.resize(50, 18);
    await h.type("");
    s = h.screen();
    expect(s).not.toContain("│ Title:");
    await h.type("\r");
    expect(detailTitle(h.screen())).toBe("Fix the YAML parser");
    await h.type("\x1b");
    await new Promise((r) => setTimeout(r, 80)); // blessed waits to tell a lone Esc from a sequence
    await h.type("");
    expect(detailTitle(h.screen())).toBeUndefined();
    // too small: one message
    h.output.resize(30, 10);
    await h.type("");
    expect(h.screen()).toContain("Terminal too small");
    // back to standard: same selection
    h.output.resize(80, 24);
    await h.type("");
    expect(detailTitle(h.screen())).toBe("Fix the YAML parser");
  });

  it("aligns rows with wide CJK and emoji titles in blessed's grid", async () => {
    const fx = await buildTuiFixture();
    const h = headless(openTest(fx.repo), 80, 24, { watch: false, now: NOW });
    await h.type("");
    const rows = h.screen().split("\n");
    const cjk = rows.find((r) => r.includes("支持中文标题"));
    const plain = rows.find((r) => r.includes("Document the CLI"));
    expect(cjk).toBeDefined();
    // The divider sits at the same display column on both rows (wide chars take 2 cells and
    // blessed stores the second cell as filler, so cell index == column).
    const lines = (h.session.term.screen as unknown as { lines: [number, string][][] }).lines;
    const col = (y: number) => lines[y].findIndex((c, x) => x > 20 && c[1] === "│");
    const yC = rows.indexOf(cjk as string);
    const yP = rows.indexOf(plain as string);
    expect(col(yC)).toBe(44);
    expect(col(yP)).toBe(44);
  });

  it("selects a row with a mouse click and scrolls with the wheel", async () => {
    const fx = await buildTuiFixture();
    const h = headless(openTest(fx.repo), 80, 24, { watch: false, now: NOW, mouse: true });
    await h.type("");
    // SGR mouse: button 0 press at column 10, row 5 (1-based) → table row 3
    await h.type("\x1b[<0;10;5M\x1b[<0;10;5m");
    expect(detailTitle(h.screen())).toBe("Fix the YAML parser");
    await h.type("\x1b[<65;10;5M"); // wheel down
    expect(detailTitle(h.screen())).toBe("Review the new layout");
  });

  it("shows an external append within the watch latency, keeping cursor, filters and search", async () => {
    const fx = await buildTuiFixture();
    const tracker = openTest(fx.repo);
    const h = headless(tracker, 80, 24, { now: NOW });
    await h.session.ready;
    await h.type("");
    await h.type("/YAML\r"); // search, keep it
    await h.waitFor((s) => s.includes("1/10 items"), "search applied");
    // Another process (a second store instance) edits the selected item and adds an item.
    const other = openTest(fx.repo, {
      user: () => "bot_agent",
      now: fixedClock("2026-01-16T10:00:00Z", 1000),
      nonce: nonceSeq(0xc000),
    });
    await other.update(fx.ids.parser, { set: { title: "Fix the YAML parser (v2)" } });
    await other.add({ kind: "work_item", title: "Another YAML item", priority: 0 });
    await h.waitFor(
      (s) => s.includes("Title: Fix the YAML parser (v2)") && s.includes("2/11 items"),
      "live update",
    );
    const s = h.screen();
    expect(s).toContain("/ YAML");
    expect(s).toContain("Another YAML item");
    expect(detailTitle(s)).toBe("Fix the YAML parser (v2)"); // cursor stayed on the item by ID
  });

  it("moves the cursor to a neighbour when the selected item's file disappears", async () => {
    const fx = await buildTuiFixture();
    const tracker = openTest(fx.repo);
    const h = headless(tracker, 80, 24, { now: NOW });
    await h.session.ready;
    await h.type("jj");
    expect(detailTitle(h.screen())).toBe("Fix the YAML parser");
    fs.rmSync(opFilePath(tracker.paths.tierDirs.canonical, fx.ids.parser));
    await h.waitFor((s) => s.includes("9/9 items"), "removal");
    // Same row index: the item that followed it.
    expect(detailTitle(h.screen())).toBe("Review the new layout");
  });

  it("applies an update underneath an open dialog, keeps the dialog and its text, warns", async () => {
    const fx = await buildTuiFixture();
    const tracker = openTest(fx.repo);
    const h = headless(tracker, 80, 24, { now: NOW });
    await h.session.ready;
    await h.type("jj"); // parser item
    await h.type("d");
    await h.type("half-typed");
    expect(h.screen()).toContain("half-typed");
    const other = openTest(fx.repo, {
      user: () => "bot_agent",
      now: fixedClock("2026-01-16T10:00:00Z", 1000),
    });
    await other.update(fx.ids.parser, { set: { status: "in_progress" } });
    await h.waitFor((s) => s.includes("changed on disk"), "dialog banner");
    expect(h.screen()).toContain("half-typed");
    expect(h.session.app.state.byId.get(fx.ids.parser)?.status).toBe("in_progress");
    await h.type(" more\x13"); // C-s submits
    await h.waitFor((s) => !s.includes("changed on disk"), "dialog closed");
    const item = tracker.get(fx.ids.parser);
    expect(item.status).toBe("in_progress");
    expect(item.discussion.at(-1)?.message).toBe("half-typed more");
  });

  it("restores the terminal on destroy: leaves the alternate screen, shows the cursor, stops mouse", async () => {
    const fx = await buildTuiFixture();
    const h = headless(openTest(fx.repo), 80, 24, { watch: false, now: NOW, mouse: true });
    await h.type("");
    expect(h.output.data).toContain("\x1b[?1049h"); // alternate screen entered
    expect(h.output.data).toContain("\x1b[?1000h"); // mouse on
    const before = h.output.data.length;
    await h.close();
    const tail = h.output.data.slice(before);
    expect(tail).toContain("\x1b[?1049l");
    expect(tail).toContain("\x1b[?25h");
    expect(tail).toContain("\x1b[?1000l");
  });

  it("honours NO_COLOR: no SGR colour codes reach the terminal", async () => {
    const fx = await buildTuiFixture();
    const h = headless(openTest(fx.repo), 80, 24, {
      watch: false,
      now: NOW,
      env: { TERM: "xterm-256color", LANG: "C.UTF-8", NO_COLOR: "1" },
    });
    await h.type("j");
    expect(h.output.data).not.toMatch(/\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;5;\d+)m/);
    expect(h.output.data).not.toMatch(/\x1b\[[0-9;]*(4[0-7]|10[0-7]|48;5;\d+)m/);
    expect(detailTitle(h.screen())).toBe("Symbol IDs must be stable");
  });

  it("draws ASCII only with TERM=linux", async () => {
    const fx = await buildTuiFixture();
    const h = headless(openTest(fx.repo), 80, 24, {
      watch: false,
      now: NOW,
      env: { TERM: "linux", LANG: "C" },
    });
    await h.type("");
    const s = h.screen();
    expect(s).toMatch(/^[\x20-\x7e\n]*$/);
    expect(s).toContain("Routes must have methods");
  });
});

describe("idle warm-up", () => {
  it("dry-runs the pipeline on a big tracker until the first key, and not on a small one", async () => {
    const fx = await buildTuiFixture();
    const small = headless(openTest(fx.repo), 80, 24, { watch: false, now: NOW });
    const big = headless(openTest(fx.repo), 80, 24, { watch: false, now: NOW, warmMinItems: 1 });
    await big.waitFor(() => big.session.warmSteps() >= 3, "a few warm-up steps");
    expect(small.session.warmSteps()).toBe(0);
    const before = big.screen();
    await big.type("j");
    const steps = big.session.warmSteps();
    await new Promise((r) => setTimeout(r, 100)); // several step intervals (5 ms)
    expect(big.session.warmSteps()).toBe(steps);
    expect(steps).toBeGreaterThan(0);
    expect(steps).toBeLessThan(20); // stopped early: it runs 25 steps when left alone
    // The dry runs left the screen as the keys made it: only the cursor moved.
    expect(detailTitle(before)).toBe("Routes must have methods");
    expect(detailTitle(big.screen())).toBe("Symbol IDs must be stable");
    expect(small.session.warmSteps()).toBe(0);
  });
});

describe("warm start", () => {
  it("draws the first frame without reading the text of items in the cache; the screen and search equal a cold start's", async () => {
    const repo = tmpDir("htrac-warm-tui-");
    generateTracker(repo, { items: 400, seed: 11, opsPerItem: 8 });
    const env = { ...process.env, XDG_CACHE_HOME: tmpDir("htrac-warm-xdg-"), HTRAC_NO_CACHE: "" };
    openTest(repo, { env, indexCacheMinFiles: 10 }); // writes the warm-start cache
    const cold = headless(openTest(repo, { env: { ...env, HTRAC_NO_CACHE: "1" } }), 160, 45, {
      watch: false,
      now: NOW,
    });
    const tracker = openTest(repo, { env, indexCacheMinFiles: 10 });
    const ws = tracker.tiers.workspace;
    const total = ws.records.size;
    expect(ws.lazyItems()).toBe(total);
    const warm = headless(tracker, 160, 45, { watch: false, now: NOW });
    // The first frame read one group of 64 (the selected item's, for the detail pane) at most.
    expect(ws.lazyItems()).toBeGreaterThanOrEqual(total - 64);
    await cold.type("");
    await warm.type("");
    expect(cold.screen()).toMatch(/ 4\d\d\/4\d\d items/);
    expect(warm.screen()).toBe(cold.screen());
    // The unread mark and the inbox come from the summaries too.
    for (const h of [cold, warm]) await h.type("vv");
    expect(warm.screen()).toMatch(/inbox/i);
    expect(warm.screen()).toBe(cold.screen());
    for (const h of [cold, warm]) await h.type("vv"); // (clusters, then all again)
    // The idle search-text pass reads the rest; a search finds the same items.
    await warm.waitFor(() => ws.lazyItems() === 0, "every item read");
    for (const h of [cold, warm]) await h.type("/agent ch");
    expect(warm.screen()).toMatch(/ \d+\/4\d\d items/);
    expect(warm.screen()).toBe(cold.screen());
    // That cache had no search texts (written by a tracker alone): once the pass is done, the
    // session rewrote it with them, so the next warm session makes its search texts without
    // reading any item but the selected one.
    await warm.waitFor(() => warm.session.searchPrepared(), "search-text pass done");
    const next = openTest(repo, { env, indexCacheMinFiles: 10 });
    const nws = next.tiers.workspace;
    expect(next.cachedTexts(next.summaries(), SEARCH_TEXT_KEY).every((b) => b !== undefined)).toBe(true);
    expect(nws.lazyItems()).toBe(total);
    const again = headless(next, 160, 45, { watch: false, now: NOW });
    await again.waitFor(() => again.session.searchPrepared(), "search-text pass done");
    expect(nws.lazyItems()).toBeGreaterThanOrEqual(total - 64);
    await again.type("/agent ch");
    expect(again.screen()).toBe(cold.screen());
    for (const q of ["/review", "/tests/test_", "/zzz-no-such"]) {
      for (const h of [cold, again]) {
        await h.type("\x1b"); // (clears the search)
        await h.type(q);
      }
      expect(again.screen(), q).toBe(cold.screen());
    }
    expect(nws.lazyItems()).toBeGreaterThanOrEqual(total - 64);
  });
});

describe("loading notice", () => {
  it("shows the path inert, and cuts its start by display width so the count still fits one line", async () => {
    const { loadingNotice } = await import("../../src/app/run.js");
    const { strWidth } = await import("../../src/views/text.js");
    expect(loadingNotice("/srv/repo", 80)).toBe("htrac: loading /srv/repo…");
    const hostile = loadingNotice("/srv/\x1b[31mred\x07", 80);
    expect(hostile).not.toMatch(/[\x00-\x1f\x7f]/);
    expect(hostile).toContain("red");
    for (const root of ["/srv/" + "x".repeat(200), "/srv/" + "項目".repeat(60) + "/end"]) {
      const n = loadingNotice(root, 60);
      expect(n.startsWith("htrac: loading …")).toBe(true);
      expect(strWidth(`${n} 12345 files read`)).toBeLessThan(60);
      expect(root.endsWith(n.slice("htrac: loading …".length, -1))).toBe(true);
    }
  });
});

describe("key decoding", () => {
  it("turns one Enter into one key although blessed reports it twice", async () => {
    const { normaliseKeypress } = await import("../../src/app/adapter.js");
    // blessed re-emits "\r" as `enter`, then reports the `return` itself.
    expect(normaliseKeypress("\r", { name: "enter", sequence: "\r", full: "enter" })).toEqual({
      key: "enter",
      ch: "\n",
    });
    expect(normaliseKeypress("\r", { name: "return", sequence: "\r", full: "return" })).toBeNull();
    expect(normaliseKeypress("a", { name: "a", sequence: "a" })).toEqual({ key: "a", ch: "a" });
    expect(normaliseKeypress("A", { name: "a", shift: true, sequence: "A" })).toEqual({ key: "A", ch: "A" });
    expect(normaliseKeypress(undefined, { name: "s", ctrl: true, sequence: "\x13" })).toEqual({ key: "C-s" });
    expect(normaliseKeypress(undefined, { name: "up", sequence: "\x1b[A" })).toEqual({ key: "up" });
    expect(normaliseKeypress(undefined, { name: "up", shift: true, sequence: "\x1b[1;2A" })).toEqual({
      key: "S-up",
    });
    expect(normaliseKeypress("?", { name: undefined, sequence: "?" })).toEqual({ key: "?", ch: "?" });
    expect(normaliseKeypress("日", { name: undefined, sequence: "日" })).toEqual({ key: "日", ch: "日" });
  });
});

describe("links through blessed's key decoding", () => {
  it("Tab, Shift-Tab, Enter, '[' and ']', Alt-arrows and ':' reach their actions", async () => {
    const fx = await buildTuiFixture();
    const h = headless(openTest(fx.repo), 80, 24, { watch: false, now: NOW });
    await h.type("jj"); // the parser item: it blocks the docs item
    expect(detailTitle(h.screen())).toBe("Fix the YAML parser");
    await h.type("\t");
    expect(h.session.app.state.linkFocus).toBe(fx.ids.docs);
    await h.type("\x1b[Z"); // Shift-Tab (one link: the same)
    expect(h.session.app.state.linkFocus).toBe(fx.ids.docs);
    await h.type("\r");
    expect(detailTitle(h.screen())).toBe("Document the CLI");
    await h.type("[");
    expect(detailTitle(h.screen())).toBe("Fix the YAML parser");
    await h.type("]");
    expect(detailTitle(h.screen())).toBe("Document the CLI");
    await h.type("\x1b[1;3D"); // Alt-Left
    expect(detailTitle(h.screen())).toBe("Fix the YAML parser");
    await h.type("\x1b[1;3C"); // Alt-Right
    expect(detailTitle(h.screen())).toBe("Document the CLI");
    await h.type(":");
    await h.type(fx.ids.cache.slice(0, 9));
    await h.type("\r");
    expect(detailTitle(h.screen())).toBe("Add caching layer");
  });
});

describe("terminfo capabilities compiled on first use", () => {
  it("give the same bytes as blessed's eager compile, for every pinned terminfo", async () => {
    const { compileCapability, pinnedTerminfo } = await import("../../src/app/adapter.js");
    const { createRequire } = await import("node:module");
    type Cap = (this: unknown, params: unknown[]) => unknown;
    const Tput = createRequire(import.meta.url)("blessed/lib/tput") as new (o: object) => {
      methods: Record<string, unknown>;
      all: Record<string, unknown>;
      info: unknown;
    };
    let strings = 0;
    for (const term of ["xterm-256color", "xterm", "linux"]) {
      const tput = new Tput({ terminal: pinnedTerminfo(term), extended: true });
      for (const [key, value] of Object.entries(tput.all)) {
        if (typeof value !== "string" || value === "") continue;
        const eager = compileCapability.call(tput, tput.info, key, value) as Cap;
        const lazy = tput.methods[key] as Cap;
        expect(typeof lazy, key).toBe("function");
        // (fresh arrays: `%i` capabilities increment their params in place; a few of
        // blessed's own compiled capabilities throw, e.g. its `%X` — the same error then)
        const outcome = (f: Cap, params: number[]): unknown => {
          try {
            return f.call(tput, [...params]);
          } catch (e) {
            return `threw ${(e as Error).message}`;
          }
        };
        for (const params of [[], [3, 7], [12, 40, 2, 1]])
          expect(outcome(lazy, params), `${term} ${key}`).toBe(outcome(eager, params));
        strings++;
      }
    }
    expect(strings).toBeGreaterThan(300);
  });
});

describe("$EDITOR (Ctrl+O in a multi-line field)", () => {
  it("hands the terminal to the editor and takes its text back", async () => {
    const fx = await buildTuiFixture();
    const dir = tmpDir("htrac-ed-");
    const script = path.join(dir, "fake-editor");
    // Appends a line to the file it is given, like a human would.
    fs.writeFileSync(script, '#!/bin/sh\nprintf "from the editor\\n" >> "$1"\n', { mode: 0o755 });
    const h = headless(openTest(fx.repo), 80, 24, {
      watch: false,
      now: NOW,
      env: { TERM: "xterm-256color", LANG: "C.UTF-8", EDITOR: script, PATH: process.env.PATH },
    });
    await h.type("d");
    await h.type("draft");
    const mark = h.output.data.length;
    await h.type("\x0f"); // Ctrl+O
    await h.waitFor((s) => s.includes("from the editor"), "editor text in the dialog");
    const during = h.output.data.slice(mark);
    expect(during).toContain("\x1b[?1049l"); // left the alternate screen for the editor
    expect(during.lastIndexOf("\x1b[?1049h")).toBeGreaterThan(during.indexOf("\x1b[?1049l")); // and came back
    expect(h.session.app.state.dialog?.fields[0].value).toBe("draft\nfrom the editor");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the text when the editor fails", async () => {
    const fx = await buildTuiFixture();
    const h = headless(openTest(fx.repo), 80, 24, {
      watch: false,
      now: NOW,
      env: { TERM: "xterm-256color", LANG: "C.UTF-8", EDITOR: "false", PATH: process.env.PATH },
    });
    await h.type("d");
    await h.type("keep this");
    await h.type("\x0f");
    await h.waitFor((s) => s.includes("Editor exited with an error"), "editor failure toast");
    expect(h.session.app.state.dialog?.fields[0].value).toBe("keep this");
  });
});

describe("tier moves while the TUI watches", () => {
  it("an item promoted/stealthed by another process moves tier on screen, never shows twice", async () => {
    const fx = await buildTuiFixture();
    const h = headless(openTest(fx.repo), 100, 30, { now: NOW });
    await h.session.ready;
    const other = openTest(fx.repo, {
      now: fixedClock("2026-01-16T10:00:00Z", 1000),
      nonce: nonceSeq(0xd100),
    });
    await other.promote(fx.ids.stable);
    // Wait for the drawn screen (frames are coalesced after the state changes).
    await h.waitFor((x) => / C {2}1 {2}WI-judav/.test(x) && x.includes("10/10 items"), "promote seen");
    expect(h.session.app.state.items.filter((i) => i.id === fx.ids.stable)).toHaveLength(1);
    await other.demote(fx.ids.stable);
    await other.stealth(fx.ids.stable);
    await h.waitFor((x) => / S {2}1 {2}WI-judav/.test(x) && x.includes("10/10 items"), "stealth seen");
    expect(h.session.app.state.items.filter((i) => i.id === fx.ids.stable)).toHaveLength(1);
    // Equal to a fresh load.
    const fresh = openTest(fx.repo)
      .items()
      .map((i) => `${i.id}:${i.tier}`)
      .sort();
    expect(h.session.app.state.items.map((i) => `${i.id}:${i.tier}`).sort()).toEqual(fresh);
  });
});
