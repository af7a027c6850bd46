/**
 * Keymaps as data (defaults, user overrides, clear errors with lines), the shared preferences
 * file (schema v2, atomic, mode-preserving, unknown keys kept), and App-level persistence.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { App } from "../../src/app/app.js";
import {
  displayKey,
  KeymapError,
  keysFor,
  loadKeymap,
  normalizeKey,
  resolveKey,
  userKeymapPath,
} from "../../src/app/keymap.js";
import { defaultPrefs, loadPrefs, savePrefs } from "../../src/app/prefs.js";
import { runSnapshot } from "../../src/app/run.js";
import { CLI, openTest, tmpDir } from "../helpers.js";
import { buildTuiFixture } from "./fixture.js";

function userKeymap(text: string): string {
  const d = tmpDir("htrac-km-");
  const f = path.join(d, "keymap.yaml");
  fs.writeFileSync(f, text);
  return f;
}

describe("keymap", () => {
  it("normalises key names and displays them short", () => {
    expect(normalizeKey("Ctrl+S")).toBe("C-s");
    expect(normalizeKey("c-S")).toBe("C-s");
    expect(normalizeKey("Esc")).toBe("escape");
    expect(normalizeKey("Return")).toBe("enter");
    expect(normalizeKey("PgDn")).toBe("pagedown");
    expect(normalizeKey("shift-tab")).toBe("S-tab");
    expect(normalizeKey("M-x")).toBe("M-x");
    expect(normalizeKey("Q")).toBe("Q");
    expect(normalizeKey(" ")).toBe("space");
    expect(displayKey("C-e")).toBe("^e");
    expect(displayKey("enter")).toBe("Enter");
    expect(displayKey("escape")).toBe("Esc");
    expect(displayKey("M-left")).toBe("M-←");
    expect(displayKey("M-S-right")).toBe("M-S-→");
    expect(displayKey("M-x")).toBe("M-x");
    expect(displayKey("S-tab")).toBe("S-Tab");
  });

  it("reproduces the reference's keys by default", () => {
    const km = loadKeymap(null);
    const g = ["global"];
    expect(resolveKey(km, g, "q")).toBe("quit");
    expect(resolveKey(km, g, "t")).toBe("tree");
    expect(resolveKey(km, g, "f")).toBe("filters");
    expect(resolveKey(km, g, "d")).toBe("discuss");
    expect(resolveKey(km, g, "D")).toBe("clear-discussion");
    expect(resolveKey(km, g, "m")).toBe("move-tier");
    expect(resolveKey(km, g, "e")).toBe("edit");
    expect(resolveKey(km, g, "p")).toBe("parent");
    expect(resolveKey(km, g, "b")).toBe("isbefore");
    expect(resolveKey(km, g, "l")).toBe("lock");
    expect(resolveKey(km, g, "z")).toBe("freeze");
    expect(resolveKey(km, g, "<")).toBe("move-up");
    expect(resolveKey(km, g, ">")).toBe("move-down");
    expect(resolveKey(km, g, "C-e")).toBe("edit-mode");
    expect(resolveKey(km, ["filters", "global"], "3")).toBe("toggle-3");
    expect(resolveKey(km, g, "3")).toBeUndefined(); // digits only while the panel is visible
    // every action of the catalogue has a key somewhere
    for (const name of km.actions.keys()) {
      expect(
        keysFor(km, ["dialog", "thread", "filters", "global", "annotate"], name).length,
        name,
      ).toBeGreaterThan(0);
    }
  });

  it("reads the default keymap without the yaml library, exactly as the line-aware path", () => {
    const fast = loadKeymap(null);
    const lineAware = loadKeymap(null, undefined, { fast: false });
    expect(fast).toEqual(lineAware);
    expect(fast.actions.size).toBeGreaterThan(50);
  });

  it("lets the user override and add keys per context (several keys per action)", () => {
    const f = userKeymap(
      "keys:\n  global:\n    quit: [Q, C-q]\n    tree: [T]\n  dialog:\n    submit: [C-s, M-enter]\n",
    );
    const km = loadKeymap(f);
    expect(resolveKey(km, ["global"], "Q")).toBe("quit");
    expect(resolveKey(km, ["global"], "C-q")).toBe("quit");
    expect(resolveKey(km, ["global"], "q")).toBeUndefined(); // replaced, not added
    expect(resolveKey(km, ["global"], "T")).toBe("tree");
    expect(resolveKey(km, ["dialog"], "M-enter")).toBe("submit");
    expect(km.source).toEqual([expect.stringMatching(/default\.yaml$/), f]);
  });

  it("names file and line for unknown actions, unknown contexts, clashes and bad YAML", () => {
    const unknown = userKeymap("keys:\n  global:\n    quit: [q]\n    fly: [F]\n");
    expect(() => loadKeymap(unknown)).toThrow(KeymapError);
    expect(() => loadKeymap(unknown)).toThrow(`${unknown}:4: unknown action 'fly'`);
    const ctx = userKeymap("keys:\n  popup:\n    quit: [q]\n");
    expect(() => loadKeymap(ctx)).toThrow(`${ctx}:3: unknown context 'popup'`);
    const clash = userKeymap("keys:\n  global:\n    tree: [q]\n");
    expect(() => loadKeymap(clash)).toThrow(
      /:3: key 'q' is bound to both 'quit' \(.*default\.yaml:[1-9]\d*\) and 'tree'/,
    );
    const bad = userKeymap("keys:\n  global:\n    quit: [q\n");
    expect(() => loadKeymap(bad)).toThrow(
      new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+: invalid YAML`),
    );
    const top = userKeymap("bindings: {}\n");
    expect(() => loadKeymap(top)).toThrow(`${top}:1: unknown top-level key 'bindings'`);
  });

  it("finds the user file under XDG_CONFIG_HOME, else ~/.config", () => {
    expect(userKeymapPath({ XDG_CONFIG_HOME: "/x" })).toBe("/x/htrac/keymap.yaml");
    expect(userKeymapPath({ HOME: "/home/u" })).toBe("/home/u/.config/htrac/keymap.yaml");
  });

  it("refuses to start with a broken user keymap, naming the line", async () => {
    const fx = await buildTuiFixture();
    const xdg = tmpDir("htrac-xdg-");
    fs.mkdirSync(path.join(xdg, "htrac"));
    fs.writeFileSync(path.join(xdg, "htrac", "keymap.yaml"), "keys:\n  global:\n    warp: [w]\n");
    const r = spawnSync(process.execPath, [CLI, "tui", "--tracker-root", fx.repo], {
      env: { ...process.env, XDG_CONFIG_HOME: xdg },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      `error: keymap: ${path.join(xdg, "htrac", "keymap.yaml")}:3: unknown action 'warp'`,
    );
  });

  it("generates help and footer hints from the active keymap", async () => {
    const fx = await buildTuiFixture();
    const f = userKeymap("keys:\n  global:\n    tree: [T]\n    help: [F1, '?']\n");
    const text = await runSnapshot({
      tracker: openTest(fx.repo),
      demo: false,
      cols: 80,
      rows: 24,
      keys: "F1",
      format: "text",
      env: { TERM: "xterm-256color", LANG: "C.UTF-8" },
      keymapFile: f,
    });
    expect(text).toContain("Keys (from the active keymap");
    expect(text).toMatch(/F1, \?\s+Show \/ hide this help/);
    expect(text).toContain("Esc or F1 or ? closes");
    expect(text).toContain("T Tree");
  });
});

describe("preferences file (tui.md §3.7)", () => {
  it("gives defaults for a missing file and reports a corrupt one", () => {
    const d = tmpDir();
    expect(loadPrefs(path.join(d, "none.json"))).toEqual({ prefs: defaultPrefs() });
    fs.writeFileSync(path.join(d, "bad.json"), "{ nope");
    const r = loadPrefs(path.join(d, "bad.json"));
    expect(r.prefs).toEqual(defaultPrefs());
    expect(r.problem).toMatch(/bad\.json: unreadable preferences ignored/);
  });

  it("upgrades v1 files and a legacy toggle_counts, keeps unknown keys on save", () => {
    const d = tmpDir();
    const f = path.join(d, "tui_preferences.json");
    fs.writeFileSync(
      f,
      JSON.stringify({
        version: 1,
        hidden_statuses: ["done"],
        toggle_counts: { "status:done": 3 },
        future_key: [1],
      }),
    );
    const { prefs } = loadPrefs(f);
    expect(prefs.version).toBe(2);
    expect(prefs.hidden_statuses).toEqual(["done"]);
    expect(prefs.toggle_sessions).toEqual([{ "status:done": 3 }]);
    expect(prefs.human_read_state).toEqual({});
    savePrefs(f, { ...prefs, hidden_statuses: ["wont_do", "done"] });
    const saved = JSON.parse(fs.readFileSync(f, "utf8"));
    expect(saved.future_key).toEqual([1]);
    expect(saved.hidden_statuses).toEqual(["done", "wont_do"]); // sorted like the reference
    expect(saved.version).toBe(2);
  });

  it("writes atomically and keeps the file's mode (shared group directory)", () => {
    const d = tmpDir();
    const f = path.join(d, "tui_preferences.json");
    fs.writeFileSync(f, "{}\n", { mode: 0o660 });
    fs.chmodSync(f, 0o660);
    const ino = fs.statSync(f).ino;
    savePrefs(f, defaultPrefs());
    const st = fs.statSync(f);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.ino).not.toBe(ino); // replaced by rename, never truncated in place
    expect(fs.readdirSync(d)).toEqual(["tui_preferences.json"]); // no temp file left
  });

  it("persists filter toggles, order and read state from the app, and reloads them", async () => {
    const fx = await buildTuiFixture();
    const tracker = openTest(fx.repo);
    const km = loadKeymap(null);
    const mk = () =>
      new App({
        tracker,
        keymap: km,
        now: () => Date.parse("2026-01-20T09:00:00Z"),
        cols: 80,
        rows: 24,
        color: true,
        ascii: false,
        readOnly: false,
      });
    const app = mk();
    await app.key("f");
    // status list in config order: [1] todo_hard … ; toggle todo_soft (entry 2)
    await app.key("2", "2");
    await app.key("j");
    await app.key(">", ">"); // manual order: move the second item down
    await app.key("r", "r"); // mark the selected item's thread read/unread
    await app.key("q", "q");
    const saved = JSON.parse(fs.readFileSync(tracker.paths.prefsFile, "utf8"));
    expect(saved.version).toBe(2);
    expect(saved.hidden_statuses).toEqual(["todo_soft"]);
    expect(saved.toggle_sessions).toEqual([{ "status:todo_soft": 1 }]);
    expect(saved.display_order.slice(0, 3)).toEqual([fx.ids.routes, fx.ids.parser, fx.ids.stable]);
    expect(Object.keys(saved.human_read_state)).toEqual([fx.ids.stable]);
    // A new session starts from the saved state.
    const again = mk();
    expect(again.state.filters.hiddenStatuses).toEqual(["todo_soft"]);
    expect(again.state.rowsList.slice(0, 3).map((r) => r.id)).toEqual([
      fx.ids.routes,
      fx.ids.parser,
      fx.ids.stable,
    ]);
  });
});

describe("user keymaps reach dialogs and annotation mode", () => {
  it("a rebound dialog submit key works and the old one no longer does", async () => {
    const { flowKit } = await import("./flowkit.js");
    const f = userKeymap("keys:\n  dialog:\n    submit: [C-d]\n");
    const k = await flowKit({ keymap: loadKeymap(f) });
    k.select(k.fx.ids.parser);
    await k.keys("d");
    await k.type("sent with C-d");
    await k.keys("C-s"); // no longer bound: nothing happens
    expect(k.app.state.dialog).not.toBeNull();
    await k.keys("C-d");
    expect(k.app.state.dialog).toBeNull();
    expect(k.tracker.get(k.fx.ids.parser).discussion.at(-1)?.message).toBe("sent with C-d");
  });
});
