/**
 * Hostile input: escape sequences (OSC 52 clipboard, OSC 0/2 titles, CSI cursor/erase, DCS,
 * C1 controls, BEL, CR), bidi overrides and blessed tag syntax in titles, messages, tags,
 * fields, references and file names are rendered inert and visible — in the raw bytes the
 * TUI writes to the terminal, in CLI text output, and in SVG snapshots. Path traversal in
 * IDs, prefixes, aliases and --tracker-root never reaches a path outside the tracker.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterEach, describe, expect, it } from "vitest";
import { runSnapshot } from "../../src/app/run.js";
import { openTracker, TrackerError } from "../../src/index.js";
import { TEMPLATE_CONFIG_YAML } from "../../src/store/config.js";
import { serializeOp } from "../../src/store/serialize.js";
import { newMap, type YamlValue } from "../../src/store/values.js";
import { CLI, emptyTracker, openTest, tmpDir } from "../helpers.js";
import { closeAll, headless } from "../tui/term.js";

afterEach(closeAll);

/** Everything a terminal could act on, in one string. */
const PAYLOAD =
  "A\u001b]52;c;cHduZWQ=\u0007B\u001b]0;owned\u0007C\u001b]2;t2\u001b\\D\u001b[2J\u001b[HE\u001bPqpayload\u001b\\F" +
  "\u009b31mG\u0085H\u202eI\u2066J{red-fg}K{/red-fg}\u0007L\rM\u001b_apc\u001b\\N\u001b^pm\u001b\\O";

function op(fields: Record<string, YamlValue>): string {
  const o = newMap();
  for (const [k, v] of Object.entries(fields)) o[k] = v;
  return serializeOp(o);
}

/** A tracker with one normal item and one written raw by a hostile agent. */
async function hostileTracker(): Promise<{ repo: string; good: string; evil: string }> {
  const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
  const t = openTest(repo);
  const good = (await t.add({ kind: "work_item", title: "A normal item", priority: 0 })).id;
  const evil = "WI-bazab-bazab-bazab-bazab-bazab-bazab-bazab-bazab";
  const data = newMap();
  Object.assign(data, {
    kind: "work_item",
    title: `T${PAYLOAD}`,
    status: "todo_hard",
    priority: 1,
    parent: `../../etc/${PAYLOAD}`,
    tags: [`tag${PAYLOAD}`],
    isbefore: [`WI-x${PAYLOAD}`],
    duplicate_of: [],
    not_duplicate_of: [],
    pr_ref: null,
    description: `D${PAYLOAD}`,
    fields: { [`k${PAYLOAD}`]: `v${PAYLOAD}` },
  });
  const text =
    op({
      op: "create",
      at: "2026-01-01T00:00:00Z",
      by: "agent",
      actor: `x_agent${PAYLOAD}`,
      clock: 1,
      nonce: "e001",
      data,
    }) +
    op({
      op: "discuss",
      at: "2026-01-01T00:00:01Z",
      by: "agent",
      actor: "x_agent",
      clock: 2,
      nonce: "e002",
      message: `M${PAYLOAD}`,
    });
  fs.writeFileSync(path.join(repo, ".agent", "tracker-workspace", ".ops", `.${evil}.ops`), text);
  // A file whose name itself is hostile: never read, reported with the name quoted.
  fs.writeFileSync(path.join(repo, ".agent", "tracker-workspace", ".ops", `.WI-\u001b]0;x\u0007.ops`), text);
  return { repo, good, evil };
}

/** Check a string that reaches a terminal: no control sequence but the allowed ones. */
function expectInert(out: string, where: string, allow: RegExp | null = null): void {
  const rest = allow ? out.replace(allow, "") : out;
  // Only CSI sequences (the renderer's own cursor moves and colours), ESC 7/8 (cursor save)
  // and ESC = / > (keypad modes) may remain.
  const bad = [...rest.matchAll(/\u001b(?!\[[0-9;?]*[A-Za-z@`]|[78=>])/g)].map((m) =>
    JSON.stringify(rest.slice(m.index, m.index + 6)),
  );
  expect(bad, `${where}: stray ESC`).toEqual([]);
  expect(/[\u0080-\u009f]/.test(rest), `${where}: C1 control`).toBe(false);
  expect(/[\u202a-\u202e\u2066-\u2069]/.test(rest), `${where}: bidi override`).toBe(false);
  expect(/[\u0000-\u0006\u0007\u000e-\u001a\u001c-\u001f]/.test(rest), `${where}: C0 control`).toBe(false);
  expect(rest.includes("\u001b]52;"), `${where}: raw OSC 52`).toBe(false);
}

describe("escape-sequence injection", () => {
  it("the TUI's raw terminal bytes carry no sequence from item text; the text shows inert", async () => {
    const { repo, evil } = await hostileTracker();
    const h = headless(openTest(repo), 160, 45, { watch: false });
    await h.type("");
    const mark = h.output.data.length;
    // Select the hostile item, open its thread, the help and the problem list.
    h.session.app.focusItem(evil);
    await h.type("");
    const detail = h.screen();
    await h.type("o");
    const thread = h.screen();
    await h.type("\u001b");
    await new Promise((r) => setTimeout(r, 60));
    await h.type("!");
    const problems = h.screen();
    const out = h.output.data;
    // The only OSC blessed writes is its own window title, before the first frame.
    const oscs = out.match(/\u001b\][^\u0007]*\u0007/g) ?? [];
    expect(oscs).toEqual(["\u001b]0;htrac\u0007"]);
    expectInert(out.slice(mark), "TUI output after the first frame");
    expectInert(out, "all TUI output", /\u001b\]0;htrac\u0007/g);
    expect(out.slice(mark)).not.toContain("\u001b[2J"); // the item's erase never reached the terminal
    // Visible and inert on screen (wrapped lines joined for the check).
    const flat = (s: string) => s.replace(/\s*│\s*/g, "").replace(/\n/g, "");
    expect(flat(detail)).toContain("\\e]52;c;cHduZWQ=\\x07B\\e]0;owned\\x07C");
    expect(flat(detail)).toContain("{red-fg}K{/red-fg}");
    expect(flat(thread)).toContain("M" + "A\\e]52;c;cHduZWQ=");
    expect(problems).toContain('".WI-\\u001b]0;x\\u0007.ops": ignored: not a valid item file name');
  });

  it("CLI text output is inert (show, list, discuss, deps, log, validate); JSON is pure ASCII", async () => {
    const { repo, evil } = await hostileTracker();
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [CLI, ...args], {
        cwd: repo,
        encoding: "utf8",
        env: { ...process.env, TRACKER_CACHE_DIR: path.join(repo, ".cache") },
      });
    for (const args of [
      ["show", evil],
      ["list"],
      ["discuss", evil],
      ["deps", evil],
      ["log", evil],
      ["validate"],
      ["ready"],
    ]) {
      const r = run(...args);
      expectInert(r.stdout, `htrac ${args.join(" ")} stdout`);
      expectInert(r.stderr, `htrac ${args.join(" ")} stderr`);
    }
    expect(run("show", evil).stdout).toContain("\\e]52;c;cHduZWQ=\\x07");
    const json = run("show", evil, "--json");
    expect(json.status).toBe(0);
    expect(/^[\x20-\x7e\n]*$/.test(json.stdout)).toBe(true); // ensure_ascii, like Python's json.dumps
    expect(JSON.parse(json.stdout).title).toBe(`T${PAYLOAD}`); // the data itself is kept intact
  });

  it("SVG snapshots are well-formed XML, escape the text and carry no control characters", async () => {
    const { repo, evil } = await hostileTracker();
    const tracker = openTest(repo);
    const svg = await runSnapshot({
      tracker,
      demo: false,
      cols: 160,
      rows: 45,
      keys: "G",
      format: "svg",
      env: { TERM: "xterm-256color", LANG: "C.UTF-8" },
      keymapFile: null,
    });
    void evil;
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(svg)).toBe(
      false,
    );
    const doc = new XMLParser({ ignoreAttributes: false }).parse(svg);
    expect(doc.svg).toBeDefined();
    expect(svg).toContain("{red-fg}K{/red-fg}");
    expect(svg).not.toContain("<script");
  });
});

describe("path traversal", () => {
  it("IDs, prefixes and aliases never reach a path outside the tracker", async () => {
    const { repo } = await hostileTracker();
    const outside = tmpDir("htrac-outside-");
    const secret = path.join(outside, ".WI-secret.ops");
    fs.writeFileSync(secret, "- op: create  # 0000\n");
    const rel = path.relative(path.join(repo, ".agent", "tracker-workspace", ".ops"), outside);
    const env = { ...process.env, TRACKER_CACHE_DIR: path.join(repo, ".cache") };
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [CLI, ...args], { cwd: repo, encoding: "utf8", env });
    for (const ref of [
      `${rel}/WI-secret`,
      "../../../../etc/passwd",
      "/etc/passwd",
      "..",
      ".",
      "WI-/../x",
      "WI-..\\x",
    ]) {
      for (const args of [
        ["show", ref],
        ["update", ref, "--status", "done"],
        ["discuss", ref, "x"],
        ["log", ref],
      ]) {
        const r = run(...args);
        expect(r.status, `${args.join(" ")}`).toBe(1);
        expect(r.stderr).toMatch(/^error: (No items match prefix|invalid item ID|Ambiguous)/);
        expect(r.stdout).not.toContain("op: create");
      }
    }
    const add = run("add", "--kind", "work_item", "--title", "x", "--parent", `${rel}/WI-secret`);
    expect(add.status).toBe(1);
    expect(fs.readdirSync(outside)).toEqual([".WI-secret.ops"]); // nothing created outside
    // A poisoned alias list (another process wrote it) resolves to nothing outside.
    const cacheDir = path.join(repo, ".cache");
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.writeFileSync(path.join(cacheDir, "last_list"), `${rel}/WI-secret\n/etc/passwd\n`);
    for (const alias of [":1", ":2"]) {
      const r = run("show", alias);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^error: /);
      expect(r.stdout).not.toContain("op: create");
    }
    // The store API refuses NUL and separators with typed errors, not crashes.
    const t = openTest(repo);
    for (const ref of ["WI-\u0000x", "a/b", "../x", `WI-${"a".repeat(300)}`])
      expect(() => t.get(ref)).toThrow(TrackerError);
    expect(() => openTracker(`/tmp/a\u0000b`)).toThrow(TrackerError);
  });

  it("--tracker-root with a NUL or a non-directory gives a clear error", () => {
    const file = path.join(tmpDir(), "plain-file");
    fs.writeFileSync(file, "x");
    const r = spawnSync(process.execPath, [CLI, "--tracker-root", file, "list"], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`error: ${file} is not a directory\n`);
  });
});
