/**
 * End-to-end in a real pseudo-terminal: the built binary under node-pty, the screen read
 * through @xterm/headless. Start, navigate, resize across all tiers, external append,
 * quit/SIGTERM/crash restore the terminal, TERM variants, the corpus, the demo.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { generateTracker, openTracker } from "../../src/index.js";
import {
  CORPUS_AGENT,
  corpusCopy,
  testUsersUnavailable,
  fixedClock,
  nonceSeq,
  openTest,
  shareWithTestGroup,
  TEST_AGENT,
  tmpDir,
} from "../helpers.js";
import { buildTuiFixture } from "./fixture.js";
import { PtySession, ptyAvailable } from "./pty.js";

const why = ptyAvailable();
if (why) console.log(`skipping real-terminal tests: node-pty unavailable (${why})`);
const d = why ? describe.skip : describe;

const sessions: PtySession[] = [];
afterEach(() => {
  while (sessions.length) sessions.pop()?.kill();
});

function start(
  args: string[],
  cols = 80,
  rows = 24,
  env: NodeJS.ProcessEnv = {},
  cwd?: string,
  asUser?: string,
): PtySession {
  const s = new PtySession(args, {
    cols,
    rows,
    env: { XDG_CONFIG_HOME: tmpDir("htrac-xdg-"), ...env },
    cwd,
    asUser,
  });
  sessions.push(s);
  return s;
}

/** Hash of every op file of a repo (to prove nothing was written). */
function hashOps(repo: string): string {
  const h = createHash("sha256");
  for (const dir of [
    ".agent/tracker/.ops",
    ".agent/tracker-workspace/.ops",
    ".agent/tracker-workspace/stealth",
  ]) {
    const d = path.join(repo, dir);
    for (const n of fs.readdirSync(d).sort())
      if (n.endsWith(".ops")) h.update(n).update(fs.readFileSync(path.join(d, n)));
  }
  return h.digest("hex");
}

const detailTitle = (s: string) => /│ Title: (.*)$/m.exec(s)?.[1].trim();

/** The terminal is back to normal: main buffer, cursor shown, mouse reporting off. */
function expectRestored(p: PtySession): void {
  expect(p.term.buffer.active.type).toBe("normal");
  const tail = p.raw.slice(p.raw.lastIndexOf("\x1b[?1049h"));
  expect(tail).toContain("\x1b[?1049l");
  expect(tail).toContain("\x1b[?25h");
  expect(tail).toMatch(/\x1b\[\?1000l/);
}

d("real terminal (node-pty + @xterm/headless)", () => {
  it("starts, navigates, re-tiers on resize, shows an external append, quits cleanly", async () => {
    const fx = await buildTuiFixture();
    const p = start(["tui", "--tracker-root", fx.repo]);
    let s = await p.waitFor(
      (x) => x.includes("10/10 items") && x.includes("Routes must have"),
      "first frame",
    );
    expect(p.term.buffer.active.type).toBe("alternate");
    expect(detailTitle(s)).toBe("Routes must have methods");
    p.write("jj");
    s = await p.waitFor((x) => detailTitle(x) === "Fix the YAML parser", "cursor moved");
    // wide
    p.resize(160, 45);
    s = await p.waitFor((x) => x.includes("Activity") && /Status +Deps +Title/.test(x), "wide tier");
    expect(detailTitle(s)).toBe("Fix the YAML parser");
    // compact (no detail pane), then compact detail
    p.resize(50, 18);
    await p.waitFor((x) => !x.includes("│ Title:") && x.includes("Fix the YAML pa"), "compact tier");
    p.write("\r");
    await p.waitFor((x) => /^Title: Fix the YAML parser/m.test(x), "compact detail");
    p.write("\x1b");
    await p.waitFor((x) => !/^Title:/m.test(x), "back to the list");
    // too small
    p.resize(30, 10);
    await p.waitFor((x) => x.includes("Terminal too small"), "too-small tier");
    // standard again, same item
    p.resize(100, 30);
    s = await p.waitFor((x) => detailTitle(x) === "Fix the YAML parser", "standard again");
    // an agent appends from another process' store: it appears without a key press
    const agent = openTest(fx.repo, {
      user: () => "bot_agent",
      now: fixedClock("2026-02-01T00:00:00Z", 1000),
      nonce: nonceSeq(0xd000),
    });
    await agent.add({ kind: "work_item", title: "Appended by an agent", priority: 0 });
    await agent.discuss(fx.ids.parser, "Parser fixed, please review.");
    s = await p.waitFor(
      (x) => x.includes("Appended by an a") && x.includes("11/11 items"),
      "external append",
    );
    expect(detailTitle(s)).toBe("Fix the YAML parser"); // cursor kept by ID
    await p.waitFor((x) => x.includes("fixed, please review."), "new message in the detail");
    p.write("q");
    expect(await p.exited).toBe(0);
    expectRestored(p);
    // While loading, a notice (before the TUI took the screen); then erased: the main screen
    // keeps only the summary line.
    const before = p.raw.slice(0, p.raw.indexOf("\x1b[?1049h"));
    expect(before).toContain(`htrac: loading ${fx.repo}…\r\x1b[2K`);
    const main = await p.screen();
    expect(main).toMatch(/^htrac: 10 items \(\d+ canonical, \d+ workspace, \d+ stealth\) loaded in/m);
    expect(main).not.toContain("htrac: loading");
  });

  it("starts again from the code cache its first start left, and loads its ES-only packages then", async () => {
    const fx = await buildTuiFixture();
    const env = { XDG_CACHE_HOME: tmpDir("htrac-code-tui-") };
    for (const run of ["first start: compiles, leaves the cache", "second start: code from the cache"]) {
      const p = start(["tui", "--tracker-root", fx.repo], 80, 24, env);
      // (the change feed imports chokidar, an ES-only package, right after the first frame)
      await p.waitFor((x) => x.includes("10/10 items") && /live|watching|●/.test(x), run);
      await new Promise((r) => setTimeout(r, 300));
      p.write("q");
      expect(await p.exited, `${run}\n${p.raw.slice(-400)}`).toBe(0);
      expect(p.raw).not.toContain("crashed");
    }
    const builds = fs.readdirSync(path.join(env.XDG_CACHE_HOME, "htrac", "code"));
    expect(fs.readdirSync(path.join(env.XDG_CACHE_HOME, "htrac", "code", builds[0]))).toEqual(["tui.v8c"]);
  });

  it("restores the terminal on SIGTERM and on a crash", async () => {
    const fx = await buildTuiFixture();
    const a = start(["tui", "--tracker-root", fx.repo]);
    await a.waitFor((x) => x.includes("10/10 items"), "first frame");
    a.pty.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    expectRestored(a);
    const b = start(["tui", "--tracker-root", fx.repo], 80, 24, { HTRAC_FAULT: "crash-on-key:F" });
    await b.waitFor((x) => x.includes("10/10 items"), "first frame");
    b.write("F");
    expect(await b.exited).toBe(70);
    expectRestored(b);
    expect(b.raw).toContain("htrac: crashed: Error: injected fault (HTRAC_FAULT)");
  });

  for (const term of ["xterm", "screen", "tmux-256color", "linux"]) {
    it(`works with TERM=${term}`, async () => {
      const fx = await buildTuiFixture();
      const p = start(["tui", "--tracker-root", fx.repo], 80, 24, { TERM: term });
      const s = await p.waitFor(
        (x) => x.includes("10/10 items") && x.includes("Symbol IDs must be"),
        "first frame",
      );
      if (term === "linux") expect(s).toMatch(/^[\x20-\x7e\n]*$/);
      else expect(s).toContain("│");
      p.write("j");
      await p.waitFor((x) => /Title: Symbol IDs must be stable/.test(x), "cursor moved");
      p.write("q");
      expect(await p.exited).toBe(0);
      expect(p.term.buffer.active.type).toBe("normal");
    });
  }

  it("as a real OS agent user: human-only flows refused with the store's message, agent writes work", async (ctx) => {
    const why = testUsersUnavailable(`run the TUI as the OS user ${TEST_AGENT}`);
    if (why) {
      console.log(`SKIP: ${why}`);
      ctx.skip();
      return;
    }
    const fx = await buildTuiFixture();
    const env = shareWithTestGroup(fx.repo);
    const xdg = tmpDir("htrac-xdg-");
    fs.chmodSync(xdg, 0o777);
    const opsBefore = hashOps(fx.repo);
    const p = start(
      ["tui", "--tracker-root", fx.repo],
      100,
      30,
      { ...env, XDG_CONFIG_HOME: xdg },
      fx.repo,
      TEST_AGENT,
    );
    await p.waitFor(
      (x) => x.includes("10/10 items") && x.includes(`agent:${TEST_AGENT}`),
      "first frame as agent",
    );
    for (const [key, msg] of [
      ["l", "lock requires human authority"],
      ["z", "freeze requires human authority"],
      ["D", "discuss_clear requires human authority"],
    ]) {
      p.write(key);
      await p.waitFor((x) => x.replace(/\n/g, " ").includes(msg), `refusal for ${key}`);
    }
    expect(hashOps(fx.repo)).toBe(opsBefore);
    p.write("d");
    await p.waitFor((x) => x.includes("Discuss: Routes must have methods"), "discuss dialog");
    p.write("typed by the agent\x13");
    await p.waitFor((x) => x.includes("Discussion (1 entries)") && !x.includes("Discuss:"), "message sent");
    const t = openTest(fx.repo);
    const last = t.get(fx.ids.routes).discussion.at(-1)!;
    expect([last.by, last.actor, last.message]).toEqual(["agent", TEST_AGENT, "typed by the agent"]);
    p.write("q");
    expect(await p.exited).toBe(0);
  });

  it("screenshot and keyboard annotation in a real terminal: files beside each other in .agent/screenshots", async () => {
    const fx = await buildTuiFixture();
    const p = start(["tui", "--tracker-root", fx.repo], 100, 30);
    await p.waitFor((x) => x.includes("10/10 items"), "first frame");
    p.write("S");
    await p.waitFor((x) => /^ RECT \(r\/a\/l\)/m.test(x), "annotation mode");
    p.write(" ");
    for (const k of ["\u001b[C", "\u001b[C", "\u001b[C", "\u001b[B", "\u001b[B"]) p.write(k);
    p.write(" ");
    await p.waitFor((x) => x.includes("┗━━┛"), "rectangle drawn");
    p.write("\r");
    await p.waitFor((x) => x.includes("Attach to: Routes must have methods"), "attach dialog");
    p.write("\u001b");
    await p.waitFor((x) => !x.includes("Attach to:"), "skipped");
    const dir = path.join(fx.repo, ".agent", "screenshots");
    const files = fs.readdirSync(dir).sort();
    expect(files).toHaveLength(5);
    expect(files.filter((f) => f.endsWith(".png"))).toHaveLength(2);
    const side = JSON.parse(
      fs.readFileSync(
        path.join(
          dir,
          files.find((f) => f.endsWith(".json"))!,
        ),
        "utf8",
      ),
    );
    expect(side.annotations).toEqual([{ kind: "rect", x1: 50, y1: 15, x2: 53, y2: 17, color: "red" }]);
    p.write("q");
    expect(await p.exited).toBe(0);
  });

  it("draws an attached screenshot in cells, clusters and the priority trend in the shipped binary", async () => {
    const fx = await buildTuiFixture();
    const dir = path.join(fx.repo, ".agent", "screenshots");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, "shot.svg"),
      '<svg xmlns="http://www.w3.org/2000/svg" width="60" height="20"><rect width="60" height="20" fill="#33aa33"/></svg>',
    );
    const t = openTest(fx.repo);
    await t.discuss(fx.ids.routes, "see .agent/screenshots/shot.svg");
    const p = start(["tui", "--tracker-root", fx.repo], 100, 30);
    await p.waitFor((x) => x.includes("10/10 items"), "first frame");
    p.write("I"); // the routes item is selected first
    const s = await p.waitFor(
      (x) => x.includes("Screenshot shot.svg — Esc closes") && x.includes("▀▀▀▀"),
      "preview",
    );
    expect(s.split("\n").filter((l) => l.includes("▀".repeat(50))).length).toBeGreaterThan(5);
    p.write("\u001b");
    await p.waitFor((x) => !x.includes("Screenshot shot.svg"), "preview closed");
    p.write("V");
    await p.waitFor((x) => x.includes("view: clusters") && x.includes("No clusters among"), "clusters view");
    p.write("P");
    await p.waitFor((x) => /^ +open [▁▂▃▄▅▆▇█]/m.test(x), "trend overlay");
    p.write("\u001b");
    await p.waitFor((x) => !x.includes("Priority trend"), "trend closed");
    p.write("q");
    expect(await p.exited).toBe(0);
  });

  it("counts the files a cold load reads while it reads them, under a path cut to the terminal's width", async () => {
    const repo = path.join(tmpDir("htrac-progress-"), "a-directory-name-too-long-for-the-notice");
    generateTracker(repo, { items: 700, seed: 5, opsPerItem: 2 });
    const p = start(["tui", "--tracker-root", repo], 60, 20, { XDG_CACHE_HOME: tmpDir("htrac-xdg-cache-") });
    await p.waitFor((x) => x.includes("700/700 items"), "first frame");
    p.write("q");
    expect(await p.exited).toBe(0);
    const before = p.raw.slice(0, p.raw.indexOf("\x1b[?1049h"));
    const counts = [...before.matchAll(/ (\d+) files read/g)].map((m) => Number(m[1]));
    expect(counts.length).toBeGreaterThan(1);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts.at(-1)).toBeLessThanOrEqual(700);
    // Each notice fits the 60 columns (a wrapped one could not be erased), the path's end kept.
    for (const line of before.split("\r\x1b[2K").filter((l) => l.includes("files read"))) {
      expect(line.length, line).toBeLessThan(60);
      expect(line).toMatch(/^htrac: loading …\S+… \d+ files read$/);
      expect(repo.endsWith(/…(\S+)…/.exec(line)![1])).toBe(true);
    }
  });

  it("opens a temp copy of the real corpus and shows its items", async () => {
    const repo = corpusCopy();
    const corpus = openTracker(CORPUS_AGENT, { gitPeek: false });
    const first = corpus.list({})[0];
    const total = corpus.items().length;
    const p = start(["tui", "--tracker-root", repo], 120, 40);
    const s = await p.waitFor((x) => x.includes(`${total}/${total} items`), "corpus loaded");
    expect(s).toContain(`Title: ${first.title.slice(0, 20)}`);
    p.write("q");
    expect(await p.exited).toBe(0);
  });

  it("opens a generated demo tracker when no tracker is found (npm start)", async () => {
    const empty = tmpDir("htrac-nowhere-");
    fs.mkdirSync(path.join(empty, "sub"));
    // (TMPDIR: the demo, which stays after the session, lands in this test's temp dir)
    const p = start(["tui", "--demo-if-missing"], 100, 30, { TMPDIR: empty }, path.join(empty, "sub"));
    const s = await p.waitFor((x) => x.includes("60/60 items"), "demo loaded");
    expect(s).toMatch(/htrac-demo-/);
    p.write("q");
    expect(await p.exited).toBe(0);
    expect(p.raw).toContain("no tracker found here; opening a generated demo tracker");
    const demos = fs.readdirSync(empty).filter((n) => n.startsWith("htrac-demo-"));
    expect(demos).toHaveLength(1);
    expect(p.raw).toContain(`the demo tracker stays at ${path.join(empty, demos[0])}`);
  });
});
