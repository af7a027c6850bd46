/**
 * The built CLI as real processes: aliases across processes, the permission matrix with a
 * real OS agent user, and a read-only pass over the real corpus.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  CLI,
  corpusCopy,
  ensureTestUsers,
  IS_ROOT,
  shareWithTestGroup,
  TEST_AGENT,
  TEST_HUMAN,
  tmpDir,
} from "../helpers.js";
import { generateTracker } from "../../src/store/generate.js";
import { buildFixture, cliProcess } from "./harness.js";

describe("`ready` then `update :1` in separate processes (cli.md §5, reference bug fixed)", () => {
  it("resolves :1 from the stash written by the previous process", async () => {
    const { repo, ids } = await buildFixture();
    const env = { TRACKER_CACHE_DIR: path.join(repo, ".cache") };
    const ready = cliProcess(["ready"], { cwd: repo, env });
    expect(ready.code).toBe(0);
    const first = ready.out.split("\n")[0].trim().split(/\s+/)[1];
    expect(first).toBe(ids.routes);
    const upd = cliProcess(["update", ":1", "--priority", "1"], { cwd: repo, env });
    expect(upd).toMatchObject({ code: 0, err: "" });
    expect(upd.out).toBe(`updated ${ids.routes.split("-").slice(0, 2).join("-")}: priority: P0 → P1\n`);
    const show = cliProcess(["--json", "show", ":1"], { cwd: repo, env });
    expect(JSON.parse(show.out).priority).toBe(1);
    // Global options after the subcommand are accepted too.
    const after = cliProcess(["show", ":1", "--json", "--tracker-root", path.join(repo, ".agent")], {
      cwd: "/",
      env,
    });
    expect(JSON.parse(after.out).id).toBe(ids.routes);
  });

  it("fails cleanly outside a tracker and on a bad config", () => {
    const empty = tmpDir();
    expect(cliProcess(["list"], { cwd: empty })).toEqual({
      code: 1,
      out: "",
      err: "error: no .agent/ directory found. Run 'init' first.\n",
    });
    fs.mkdirSync(path.join(empty, ".agent", "tracker"), { recursive: true });
    fs.writeFileSync(path.join(empty, ".agent", "tracker", "config.yaml"), "statuses: []\n");
    const bad = cliProcess(["list"], { cwd: empty });
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(
      /^error: failed to initialize tracker: .*config\.yaml: 'statuses' must be a non-empty list\n$/,
    );
  });
});

describe("start-up: the yaml library stays unloaded on canonical files", () => {
  it("a read command on writer-canonical op files and config never loads it (it costs ~30 ms)", async () => {
    const { repo } = await buildFixture();
    // A preload hook reports, at exit, whether any module of the yaml package was loaded.
    const hook = path.join(tmpDir(), "hook.cjs");
    fs.writeFileSync(
      hook,
      'process.on("exit", () => process.stderr.write(Object.keys(require.cache).some((k) => k.includes("/node_modules/yaml/")) ? "yaml:loaded\\n" : "yaml:not-loaded\\n"));\n',
    );
    const listed = spawnSyncErr(process.execPath, ["-r", hook, CLI, "list"], repo);
    expect(listed).toContain("yaml:not-loaded");
    // A quoted message folded over lines (as an old writer wrote them) is read without it;
    // an op block the fast reader does not handle (a block scalar) loads it on demand.
    const ops = path.join(repo, ".agent", "tracker-workspace", ".ops");
    const file = path.join(
      ops,
      fs.readdirSync(ops).find((n) => n.endsWith(".ops"))!,
    );
    const discuss = (clock: number, nonce: string, message: string) =>
      `- op: discuss  # ${nonce}\n  at: '2030-01-01T00:00:00Z'  # ${nonce}\n  by: human  # ${nonce}\n` +
      `  actor: alice  # ${nonce}\n  clock: ${clock}  # ${nonce}\n  nonce: ${nonce}  # ${nonce}\n` +
      `  message: ${message}  # ${nonce}\n`;
    fs.appendFileSync(file, discuss(998, "f00c", '"two  # f00c\n    lines"'));
    expect(spawnSyncErr(process.execPath, ["-r", hook, CLI, "list"], repo)).toContain("yaml:not-loaded");
    fs.appendFileSync(file, discuss(999, "f00d", "|-\n    two\n    lines"));
    expect(spawnSyncErr(process.execPath, ["-r", hook, CLI, "list"], repo)).toContain("yaml:loaded");
  });
});

describe("the executable's code cache (cli/launcher.ts)", () => {
  it("keeps one per command, uses it unchanged, replaces one V8 refuses, and is off with HTRAC_NO_CACHE=1", async () => {
    const { repo } = await buildFixture();
    const xdg = tmpDir("htrac-code-cache-");
    const codeDir = path.join(xdg, "htrac", "code");
    // A directory of another build is removed when this build's is made.
    fs.mkdirSync(path.join(codeDir, "old-build"), { recursive: true });
    const env = { XDG_CACHE_HOME: xdg, TRACKER_CACHE_DIR: path.join(repo, ".cache") };
    const first = cliProcess(["--json", "list"], { cwd: repo, env });
    expect(first.code).toBe(0);
    const builds = fs.readdirSync(codeDir);
    expect(builds).toHaveLength(1);
    expect(builds[0]).not.toBe("old-build");
    const dir = path.join(codeDir, builds[0]);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const list = path.join(dir, "list.v8c");
    expect(fs.statSync(list).mode & 0o777).toBe(0o600);
    const bytes = fs.readFileSync(list);
    // Taken as it is: same output, file not rewritten.
    const again = cliProcess(["--json", "list"], { cwd: repo, env });
    expect(again).toEqual(first);
    expect(fs.readFileSync(list).equals(bytes)).toBe(true);
    // Another command has its own; global options before it do not change its name.
    expect(cliProcess(["--tracker-root", repo, "ready"], { cwd: repo, env }).code).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(["list.v8c", "ready.v8c"]);
    // A damaged cache is refused by V8: the command works the same, and the file is replaced.
    fs.writeFileSync(list, Buffer.alloc(bytes.length, 7));
    expect(cliProcess(["--json", "list"], { cwd: repo, env })).toEqual(first);
    expect(fs.readFileSync(list).equals(Buffer.alloc(bytes.length, 7))).toBe(false);
    // A file others may write is not taken (its code would run as this user): made again, 0600.
    fs.chmodSync(list, 0o666);
    expect(cliProcess(["--json", "list"], { cwd: repo, env })).toEqual(first);
    expect(fs.statSync(list).mode & 0o777).toBe(0o600); // (a new file replaced it)
    // Off: nothing read or written.
    const off = tmpDir("htrac-code-off-");
    const r = cliProcess(["--json", "list"], {
      cwd: repo,
      env: { ...env, XDG_CACHE_HOME: off, HTRAC_NO_CACHE: "1" },
    });
    expect(r).toEqual(first);
    expect(fs.existsSync(path.join(off, "htrac", "code"))).toBe(false);
  });
});

describe("JSON output of a real process is ASCII (written without UTF-8 encoding)", () => {
  it("escapes non-ASCII text like json.dumps, byte for byte", async () => {
    const { repo, ids } = await buildFixture();
    const env = { TRACKER_CACHE_DIR: path.join(repo, ".cache") };
    const title = "caf\u00e9 \u00ff \u4e2d \ud83d\ude00 \u0085";
    expect(cliProcess(["update", ids.parser, "--title", title], { cwd: repo, env }).code).toBe(0);
    const r = spawnSync(process.execPath, [CLI, "--json", "show", ids.parser], {
      cwd: repo,
      env: { ...process.env, ...env },
    });
    const bytes = r.stdout as Buffer;
    expect(bytes.every((c) => c < 0x80)).toBe(true);
    expect(bytes.toString("latin1")).toContain(
      '"title": "caf\\u00e9 \\u00ff \\u4e2d \\ud83d\\ude00 \\u0085"',
    );
    const list = spawnSync(process.execPath, [CLI, "list", "--json"], {
      cwd: repo,
      env: { ...process.env, ...env },
    });
    expect((list.stdout as Buffer).every((c) => c < 0x80)).toBe(true);
    expect(
      JSON.parse((list.stdout as Buffer).toString("utf8")).find((i: { id: string }) => i.id === ids.parser)
        .title,
    ).toBe(title);
  });
});

function spawnSyncErr(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, TRACKER_CACHE_DIR: path.join(cwd, ".cache") },
    encoding: "utf8",
  });
  return r.stderr;
}

const isRoot = IS_ROOT;
const AGENT = TEST_AGENT;
const HUMAN = TEST_HUMAN;
const ensureUsers = ensureTestUsers;

describe("warm runs print what cold runs print (kept item JSON, cli.md §1.7)", () => {
  it("list --json, ready --json and the counts are byte-identical with and without the cache", async () => {
    const repo = tmpDir("htrac-warm-cli-");
    generateTracker(repo, { items: 260, seed: 5, opsPerItem: 5 });
    const xdg = tmpDir("htrac-warm-xdg-");
    const env = { XDG_CACHE_HOME: xdg, TRACKER_CACHE_DIR: path.join(xdg, "aliases"), HTRAC_NO_CACHE: "" };
    const cold = { ...env, HTRAC_NO_CACHE: "1" };
    const commands = [
      ["--json", "list"],
      ["--json", "ready"],
      ["ready"],
      ["--json", "list", "--status", "todo_hard", "--limit", "7"],
      ["count-todos"],
      ["hash-todos"],
      ["guidance", "--guidance-dir", path.join(xdg, "g")],
    ];
    const expected = commands.map((argv) => cliProcess(argv, { cwd: repo, env: cold }));
    expect(expected[0].out.length).toBeGreaterThan(1000);
    expect(fs.existsSync(path.join(xdg, "htrac"))).toBe(false); // HTRAC_NO_CACHE: nothing kept
    // First warm run writes the caches (and the item JSON it rendered), later ones read them.
    for (let round = 0; round < 2; round++)
      commands.forEach((argv, k) => {
        const r = cliProcess(argv, { cwd: repo, env });
        if (argv[0] === "guidance") return; // (prints a file name with the time)
        expect(r).toEqual(expected[k]);
      });
    // Into a file (gathered writes straight to the descriptor) the bytes are the same.
    const outFile = path.join(xdg, "list.json");
    const fd = fs.openSync(outFile, "w");
    const toFile = spawnSync(process.execPath, [CLI, "--json", "list"], {
      cwd: repo,
      env: { ...process.env, ...env },
      stdio: ["ignore", fd, "pipe"],
    });
    fs.closeSync(fd);
    expect(toFile.status).toBe(0);
    expect(fs.readFileSync(outFile, "utf8")).toBe(expected[0].out);
    // A reader slower than the writer (the pipe fills up): the process leaves only once all of
    // it is written.
    const slow = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, "--json", "list"], {
        cwd: repo,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "inherit"],
      });
      const chunks: Buffer[] = [];
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 400);
      child.stdout.on("data", (c: Buffer) => chunks.push(c));
      child.on("error", reject);
      child.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
    expect(slow).toBe(expected[0].out);
    const caches = fs.readdirSync(path.join(xdg, "htrac", "index"));
    const bytes = caches.reduce((n, f) => n + fs.statSync(path.join(xdg, "htrac", "index", f)).size, 0);
    expect(bytes).toBeGreaterThan(expected[0].out.length); // the list JSON is in there
    // After an agent's write, the changed item is shown as it is now.
    const id = JSON.parse(expected[0].out)[0].id as string;
    expect(cliProcess(["discuss", id, "news from the agent"], { cwd: repo, env }).code).toBe(0);
    const after = cliProcess(["--json", "list"], { cwd: repo, env });
    const coldAfter = cliProcess(["--json", "list"], { cwd: repo, env: cold });
    expect(after.out).toBe(coldAfter.out);
    expect(after.out).toContain("news from the agent");
  });
});

describe("permission matrix with real OS users (store.md §6, cli.md §3)", () => {
  if (!isRoot) {
    it("is skipped when not root", () => {
      console.log(
        `SKIP: permission matrix needs root to create the users ${AGENT}/${HUMAN} (running as uid ${process.getuid?.()})`,
      );
    });
    return;
  }

  it("refuses every human-only command for the agent user and allows the rest", async (ctx) => {
    const noUsers = ensureUsers();
    if (noUsers) {
      console.log(`SKIP: ${noUsers}`);
      ctx.skip();
      return;
    }
    const { repo, ids } = await buildFixture();
    const env = shareWithTestGroup(repo);
    const asAgent = (...argv: string[]) => cliProcess(argv, { cwd: repo, env, asUser: AGENT });
    const asHuman = (...argv: string[]) => cliProcess(argv, { cwd: repo, env, asUser: HUMAN });
    const refused: [string[], string][] = [
      [["lock", ids.cache, "title"], "lock requires human authority"],
      [["unlock", ids.routes, "status"], "unlock requires human authority"],
      [["discuss", ids.cache, "--clear"], "discuss_clear requires human authority"],
      [["stealth", ids.cache], "stealth requires human authority"],
      [["unstealth", ids.secret], "unstealth requires human authority"],
      [["freeze", ids.cache], "freeze requires human authority"],
      [["unfreeze", ids.cache], "unfreeze requires human authority"],
      [["delete", ids.docs], "Status 'deleted' requires human authority."],
      [["update", ids.cache, "--status", "deleted"], "Status 'deleted' requires human authority."],
      [["edit-mode", "on"], "edit-mode-on requires human authority"],
      [["edit-mode", "off"], "edit-mode-off requires human authority"],
      [["fork-setup"], "fork-setup requires human authority"],
      [["reconcile-reset", ids.cache], "reconcile_reset requires human authority"],
      [
        ["update", ids.routes, "--status", "satisfied"],
        `Field 'status' on ${ids.routes} is locked. Ask the human to unlock it.`,
      ],
    ];
    const before = execFileSync("sh", [
      "-c",
      `cat ${path.join(repo, ".agent")}/tracker*/.ops/.*.ops ${path.join(repo, ".agent")}/tracker-workspace/stealth/.*.ops | sha256sum`,
    ]).toString();
    for (const [argv, msg] of refused) {
      const r = asAgent(...argv);
      expect({ argv, code: r.code, err: r.err }).toEqual({ argv, code: 1, err: `error: ${msg}\n` });
    }
    const after = execFileSync("sh", [
      "-c",
      `cat ${path.join(repo, ".agent")}/tracker*/.ops/.*.ops ${path.join(repo, ".agent")}/tracker-workspace/stealth/.*.ops | sha256sum`,
    ]).toString();
    expect(after).toBe(before); // refused commands wrote nothing
    // repair-drift checks "not frozen" before authority (reference order).
    expect(asAgent("repair-drift", ids.cache).err).toBe(`error: Item ${ids.cache} is not frozen\n`);

    const allowed: string[][] = [
      ["add", "--kind", "work_item", "--title", "Agent made this"],
      ["update", ids.cache, "--priority", "1", "--add-tag", "perf"],
      ["update", ids.routes, "--priority", "1"],
      ["discuss", ids.cache, "progress note"],
      ["discuss", ids.parser, "reply", "--ack-thread"],
      ["discuss", ids.cache, "--summarize", "summary"],
      ["promote", ids.review],
      ["demote", ids.review],
      ["list"],
      ["ready"],
      ["count-todos"],
    ];
    for (const argv of allowed) {
      const r = asAgent(...argv);
      expect({ argv, code: r.code, err: r.err }).toEqual({ argv, code: 0, err: "" });
    }
    // cache-rebuild too: it writes the agent's own per-user cache (a directory it may write).
    const xdg = { ...env, XDG_CACHE_HOME: path.join(repo, ".cache", "agent-xdg"), HTRAC_NO_CACHE: "" };
    const rebuilt = cliProcess(["cache-rebuild"], { cwd: repo, env: xdg, asUser: AGENT });
    expect({ code: rebuilt.code, out: rebuilt.out, err: rebuilt.err }).toEqual({
      code: 0,
      out: "cache rebuilt\n",
      err: "",
    });
    const show = JSON.parse(asAgent("--json", "show", ids.cache).out);
    expect(show.discussion.at(-1)).toMatchObject({ by: "agent", actor: AGENT, is_summary: true });
    // The human user can do what the agent could not, on the same group-shared files.
    for (const argv of [
      ["lock", ids.cache, "title"],
      ["freeze", ids.cache],
      ["unfreeze", ids.cache],
      ["delete", ids.docs],
      ["edit-mode", "on"],
    ]) {
      const r = asHuman(...argv);
      expect({ argv, code: r.code, err: r.err }).toEqual({ argv, code: 0, err: "" });
    }
    // The agent now hits the human's lock.
    expect(asAgent("update", ids.cache, "--title", "x").err).toBe(
      `error: Field 'title' on ${ids.cache} is locked. Ask the human to unlock it.\n`,
    );
    // The edit-mode window opened by the human lets the agent tombstone messages.
    const nonce = show.discussion.at(-1).nonce as string;
    expect(asAgent("delete-msg", ids.cache, nonce, "--reason", "cleanup")).toMatchObject({
      code: 0,
      err: "",
    });
  });
});

describe("read-only pass over the real corpus (temp copy)", () => {
  it("list, ready, show, deps, validate, count-todos, hash-todos and clusters work on real data", () => {
    const repo = corpusCopy();
    const env = { TRACKER_CACHE_DIR: path.join(repo, ".cache") };
    const run = (...argv: string[]) => cliProcess(argv, { cwd: repo, env });
    const list = run("--json", "list");
    expect(list.code).toBe(0);
    const items = JSON.parse(list.out) as { id: string; tier: string }[];
    expect(items).toHaveLength(113);
    expect(new Set(items.map((i) => i.tier))).toEqual(new Set(["canonical", "workspace"]));
    const ready = run("ready");
    expect(ready.code).toBe(0);
    expect(ready.out.split("\n").filter((l) => /^\s*\d+\s+\S+-/.test(l)).length).toBe(
      JSON.parse(run("--json", "ready").out).ready.length,
    );
    const show = run("show", "INV-nimik");
    expect(show.code).toBe(0);
    expect(show.out.split("\n")[0]).toBe(
      "INV-nimik-zudat-pafil-hipuf-hisif-sunip-kopib-puluj  Route-to-Handler Edge Completeness",
    );
    const deps = run("deps", "INV-nimik");
    expect(deps.out).toContain("  children (2):\n");
    const validate = run("validate");
    expect(validate.code).toBe(1);
    expect(validate.out.split("\n").filter((l) => l.startsWith("ERROR: "))).toHaveLength(9);
    expect(run("count-todos").out).toMatch(/^\d+\n$/);
    const hash = run("hash-todos").out.trim();
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    // hash-todos must equal the reference definition recomputed independently.
    const blocking = new Set(["todo_hard", "todo_soft", "violated", "pending_validation"]);
    const lines = items
      .map((i) => i as unknown as { id: string; status: string; title: string })
      .filter((i) => blocking.has(i.status))
      .map((i) => `${i.id}\t${i.status}\t${i.title}\n`)
      .sort();
    expect(hash).toBe(createHash("sha256").update(lines.join("")).digest("hex"));
    expect(run("count-todos").out.trim()).toBe(String(lines.length));
    // clusters: text and JSON tell the same clusters; members are open corpus items.
    const clusters = JSON.parse(run("--json", "clusters").out) as {
      items: number;
      fit_items: number;
      clusters: {
        rank: number;
        size: number;
        mean_similarity: number;
        members: { id: string; status: string }[];
      }[];
    };
    const open = items
      .map((i) => i as unknown as { id: string; status: string })
      .filter((i) => !["done", "wont_do", "deleted", "satisfied", "holding"].includes(i.status));
    expect(clusters.items).toBe(open.length);
    expect(clusters.fit_items).toBe(
      items.filter((i) => (i as unknown as { status: string }).status !== "deleted").length,
    );
    expect(clusters.clusters.length).toBeGreaterThan(0);
    const openIds = new Set(open.map((i) => i.id));
    for (const c of clusters.clusters) {
      expect(c.size).toBe(c.members.length);
      expect(c.members.every((m) => openIds.has(m.id))).toBe(true);
    }
    const text = run("clusters").out;
    expect(text.split("\n")[0]).toBe(
      `${clusters.clusters.length} cluster(s) over ${clusters.clusters.reduce((n, c) => n + c.size, 0)} of ${clusters.items} item(s)  (k=6, shared=3; fit on ${clusters.fit_items} items)`,
    );
    expect(text).toContain(
      `\n#1  size ${clusters.clusters[0].size}  mean similarity ${clusters.clusters[0].mean_similarity.toFixed(2)}\n`,
    );
    // priority-trend: one point per day from the first op to the last, SVG written.
    const trend = JSON.parse(run("--json", "priority-trend", "--out", "trend.svg").out) as {
      svg: string;
      points: { day: string; open: number }[];
    };
    expect(trend.svg).toBe("trend.svg");
    expect(fs.readFileSync(path.join(repo, "trend.svg"), "utf8")).toContain(
      "Mean priority of open tracker items",
    );
    const days = trend.points.map((p) => p.day);
    expect(days.length).toBeGreaterThan(30);
    expect(Date.parse(days.at(-1)!) - Date.parse(days[0])).toBe((days.length - 1) * 86_400_000);
    expect(trend.points.at(-1)!.open).toBe(clusters.items); // open today = the items clusters considers
  });
});

describe("htrac textconv as git's diff driver (htrac setup sets it)", () => {
  it("git diff of an op file shows the item's summary, the raw ops once htrac is gone; a driver already set is kept", async () => {
    const { repo, ids } = await buildFixture();
    const env = { TRACKER_CACHE_DIR: path.join(repo, ".cache") };
    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
        cwd: repo,
        encoding: "utf8",
      });
    git("init", "-q");
    const setup = cliProcess(["setup", "--yes"], { cwd: repo, env });
    expect(setup.code).toBe(0);
    expect(setup.out).toContain(
      "[fixed] Set git's diff driver for op files (git diff shows item summaries: htrac textconv)\n" +
        "        set: diff.tracker.textconv\n" +
        "        set: diff.tracker-ops.textconv\n",
    );
    git("add", "-A");
    git("commit", "-qm", "fixture");
    expect(cliProcess(["update", ids.parser, "--status", "in_progress"], { cwd: repo, env }).code).toBe(0);
    const diff = git("diff");
    expect(diff).toContain(
      "-  status: todo_hard  priority: P1  tags: [parser, ci_infrastructure]\n" +
        "+  status: in_progress  priority: P1  tags: [parser, ci_infrastructure]\n",
    );
    expect(diff).toMatch(/- {2}ops: 4 {2}updated: \S+\n\+ {2}ops: 5 {2}updated: \S+\n/);
    // htrac moved away: git shows the file as it is rather than failing the diff.
    const { textconvCommand } = await import("../../src/cli/cmd-admin.js");
    for (const d of ["tracker", "tracker-ops"])
      git("config", `diff.${d}.textconv`, textconvCommand([process.execPath, "/nonexistent/htrac.js"]));
    expect(git("diff")).toMatch(/\+ {4}status: in_progress {2}# [0-9a-f]{4}\n/);
    // Setup again: the drivers already set are left as they are.
    const again = cliProcess(["setup", "--yes"], { cwd: repo, env });
    expect(again.out).toContain("[ok]    git's diff driver for op files is set\n");
    expect(git("config", "--get", "diff.tracker-ops.textconv")).toContain("/nonexistent/htrac.js");
  });
});
