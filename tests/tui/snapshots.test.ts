import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { runSnapshot } from "../../src/app/run.js";
import { fixedClock, openTest, tmpDir } from "../helpers.js";
import { buildTuiFixture, checkSnapshot, type TuiFixture } from "./fixture.js";

const NOW = Date.parse("2026-01-20T09:00:00Z");

const SCENARIOS: { name: string; size: [number, number]; keys: string }[] = [
  { name: "compact", size: [40, 16], keys: "" },
  { name: "compact-status", size: [55, 18], keys: "" },
  { name: "compact-detail", size: [50, 18], keys: "Enter" },
  { name: "standard", size: [80, 24], keys: "" },
  { name: "tree", size: [80, 24], keys: "t" },
  { name: "filters", size: [80, 24], keys: "f" },
  { name: "filters-toggled", size: [80, 24], keys: "f 9 4" },
  { name: "wide", size: [160, 45], keys: "" },
  { name: "wide-filters", size: [160, 45], keys: "f" },
  { name: "too-small", size: [30, 10], keys: "" },
  { name: "help", size: [80, 24], keys: "?" },
  { name: "search", size: [80, 24], keys: "/ p a r s e r Enter" },
  { name: "search-query", size: [80, 24], keys: "/ t a g : q u a l i t y space p < = 1" },
  { name: "inbox", size: [80, 24], keys: "v v" },
  { name: "ready", size: [80, 24], keys: "v" },
  { name: "clusters", size: [120, 30], keys: "V" },
  { name: "trend", size: [80, 24], keys: "P" },
  { name: "chain", size: [80, 24], keys: "j j" },
  { name: "thread", size: [80, 24], keys: "j j j j o" },
  { name: "full-ids", size: [120, 30], keys: "i" },
  { name: "problems", size: [80, 24], keys: "!" },
  { name: "link-focus", size: [160, 45], keys: "j j tab" },
  { name: "dialog-goto", size: [80, 24], keys: ": W I - d o" },
  // write dialogs (issue 5): 80×24 and a compact size
  { name: "dialog-discuss", size: [80, 24], keys: "j j d H e l l o Enter w o r l d" },
  { name: "dialog-edit", size: [80, 24], keys: "j j e" },
  { name: "dialog-new", size: [80, 24], keys: "n" },
  { name: "dialog-lock", size: [80, 24], keys: "l" },
  { name: "dialog-move", size: [80, 24], keys: "j m" },
  { name: "dialog-delete", size: [80, 24], keys: "Delete" },
  { name: "dialog-discuss", size: [50, 18], keys: "j j d H e l l o" },
  { name: "dialog-edit", size: [50, 18], keys: "j j e" },
  { name: "dialog-new", size: [40, 16], keys: "n" },
  { name: "dialog-lock", size: [50, 18], keys: "l" },
];

async function render(
  fx: TuiFixture,
  size: [number, number],
  keys: string,
  format: "text" | "svg" = "text",
): Promise<string> {
  const tracker = openTest(fx.repo, { now: fixedClock("2026-01-20T09:00:00Z") });
  return runSnapshot({
    tracker,
    demo: false,
    cols: size[0],
    rows: size[1],
    keys,
    now: NOW,
    format,
    env: { TERM: "xterm-256color", LANG: "C.UTF-8" },
    keymapFile: null,
    rootLabel: "fixture/.agent",
  });
}

describe("layout snapshots", async () => {
  const fx = await buildTuiFixture();
  for (const sc of SCENARIOS) {
    it(`${sc.name}@${sc.size[0]}x${sc.size[1]}`, async () => {
      const text = await render(fx, sc.size, sc.keys);
      const lines = text.replace(/\n$/, "").split("\n");
      expect(lines).toHaveLength(sc.size[1]);
      checkSnapshot(`${sc.name}@${sc.size[0]}x${sc.size[1]}.txt`, text);
    });
  }

  it("renders the generated demo tracker and removes it afterwards (snapshot --demo)", async () => {
    const tmp = tmpDir("htrac-snapdemo-");
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp; // where makeDemo's mkdtemp goes
    try {
      const text = await runSnapshot({
        demo: true,
        cols: 100,
        rows: 30,
        keys: "",
        now: NOW,
        format: "text",
        env: { TERM: "xterm-256color", LANG: "C.UTF-8" },
        keymapFile: null,
        rootLabel: "demo",
      });
      expect(text).toContain("60/60 items");
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it("never lets escape sequences or blessed tags from item text through", async () => {
    for (const format of ["text", "svg"] as const) {
      const text = await render(fx, [160, 45], "/ E v i l Enter", format);
      expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      // The detail pane shows the title inert and visible (C0 as \\e / \\xNN, tags as text).
      const title = "Evil \\e]0;pwned\\x07 title {bold}x{/bold}";
      expect(text).toContain(format === "svg" ? title.replace(/&/g, "&amp;") : `Title: ${title}`);
    }
  });
});
