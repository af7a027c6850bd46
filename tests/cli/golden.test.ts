/**
 * Golden outputs of every CLI command on a fixture tracker built with a fixed clock and
 * fixed nonces. Goldens live in tests/cli/golden/; `UPDATE_GOLDEN=1 npx vitest run tests/cli`
 * rewrites them (a deliberate, reviewed change).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { itemJsonText } from "../../src/cli/format.js";
import { generateTracker } from "../../src/store/generate.js";
import { CREATE_SIMHASH_KEY } from "../../src/store/tracker.js";
import { git, openTest, PROJECT, tmpDir } from "../helpers.js";
import { buildFixture, cli, normalise } from "./harness.js";

const GOLDEN = path.join(PROJECT, "tests", "cli", "golden");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

type Ids = Record<string, string>;
interface Case {
  name: string;
  /** argv; `{parser}` etc. are replaced by fixture IDs, `{parser:8}` by an 8-char prefix. */
  argv: string[];
  user?: string;
  stdin?: string;
  /** Commands run first on the same fixture (their output is not recorded). */
  before?: string[][];
  /** Files to create in the repo before running (path → content, with {id} substitution). */
  files?: Record<string, string>;
  /** Record bytes appended to these items' op files. */
  appendedTo?: string[];
}

function subst(s: string, ids: Ids): string {
  return s.replace(/\{(\w+)(?::(\d+))?\}/g, (_m, k: string, n?: string) =>
    n ? ids[k].slice(0, Number(n)) : ids[k],
  );
}

const READ_CASES: Case[] = [
  { name: "ready", argv: ["ready"] },
  { name: "ready-json", argv: ["--json", "ready"] },
  { name: "ready-limit", argv: ["ready", "--limit", "1"] },
  { name: "list", argv: ["list"] },
  { name: "list-json-after", argv: ["list", "--tier", "canonical", "--json"] },
  { name: "list-status", argv: ["list", "--status", "todo_hard", "--status", "in_progress"] },
  { name: "list-open", argv: ["list", "--open"] },
  { name: "list-tag-kind", argv: ["list", "--tag", "parser", "--kind", "work_item"] },
  { name: "list-limit", argv: ["list", "--limit", "2"] },
  { name: "list-empty", argv: ["list", "--status", "done"] },
  { name: "list-kind-prefix", argv: ["list", "--kind", "INV"] },
  {
    name: "list-unknown-kind-status",
    argv: ["list", "--kind", "bug", "--status", "todo", "--status", "done"],
  },
  { name: "list-unknown-kind-json", argv: ["--json", "list", "--kind", "bug"] },
  { name: "list-bad-tier", argv: ["list", "--tier", "nowhere"] },
  { name: "show", argv: ["show", "{parser:9}"] },
  { name: "show-json", argv: ["show", "--json", "{routes}"] },
  { name: "show-alias", argv: ["show", ":2"], before: [["list"]] },
  { name: "show-ambiguous", argv: ["show", "WI"] },
  { name: "show-not-found", argv: ["show", "WI-zzz"] },
  { name: "show-bad-alias", argv: ["show", ":x"] },
  { name: "deps", argv: ["deps", "{parser}"] },
  { name: "deps-json", argv: ["deps", "{docs}", "--json"] },
  { name: "log", argv: ["log", "{cache}"] },
  { name: "textconv", argv: ["textconv", ".agent/tracker-workspace/.ops/.{parser}.ops"] },
  { name: "textconv-fields", argv: ["textconv", ".agent/tracker/.ops/.{routes}.ops"] },
  {
    name: "textconv-not-compilable",
    // (as git names the copy of a blob it hands to a diff driver)
    argv: ["textconv", "Xy12ab_.WI-broken.ops"],
    files: { "Xy12ab_.WI-broken.ops": "- op: update  # 0001\n  at: '2026-01-01T00:00:00Z'  # 0001\n" },
  },
  { name: "textconv-missing", argv: ["textconv", "no/such.ops"] },
  { name: "check-messages", argv: ["check-messages"] },
  { name: "check-messages-json", argv: ["--json", "check-messages"] },
  { name: "clusters", argv: ["clusters"] },
  { name: "clusters-loose", argv: ["clusters", "--all", "--k", "3", "--shared", "0"] },
  {
    name: "clusters-loose-json",
    argv: ["--json", "clusters", "--status", "todo_hard,done", "--k", "2", "--shared", "0", "--limit", "1"],
  },
  { name: "clusters-bad-k", argv: ["clusters", "--k", "x"] },
  { name: "clusters-k-zero", argv: ["clusters", "--k", "0"] },
  { name: "snapshot-size-zero", argv: ["snapshot", "--size", "0x0"] },
  { name: "snapshot-size-huge", argv: ["snapshot", "--size", "100000x24"] },
  { name: "snapshot-size-bad", argv: ["snapshot", "--size", "80*24"] },
  {
    name: "clusters-limit-zero-all",
    argv: ["clusters", "--all", "--k", "3", "--shared", "0", "--limit", "0"],
  },
  { name: "list-negative-limit", argv: ["list", "--limit", "-1"] },
  { name: "check-messages-negative-autolimit", argv: ["check-messages", "--autolimit", "-2"] },
  { name: "priority-trend", argv: ["priority-trend"] },
  { name: "priority-trend-json", argv: ["--json", "priority-trend"] },
  { name: "priority-trend-window", argv: ["priority-trend", "--since", "2027-01-01", "--out", "t.svg"] },
  { name: "priority-trend-bad-day", argv: ["priority-trend", "--until", "2026-02-30"] },
  {
    name: "priority-trend-inverted",
    argv: ["priority-trend", "--since", "2026-06-01", "--until", "2026-05-01"],
  },
  { name: "count-todos", argv: ["count-todos"] },
  { name: "count-todos-hard", argv: ["count-todos", "--hard"] },
  { name: "count-todos-soft-json", argv: ["count-todos", "--soft", "--json"] },
  { name: "hash-todos", argv: ["hash-todos"] },
  { name: "hash-todos-json", argv: ["hash-todos", "--json"] },
  { name: "validate", argv: ["validate", "--similar"] },
  { name: "validate-json", argv: ["--json", "validate"] },
  { name: "tags", argv: ["tags"] },
  { name: "tags-count", argv: ["tags", "--count"] },
  { name: "tags-json", argv: ["tags", "--json"] },
  { name: "discuss-view", argv: ["discuss", "{parser}"] },
  { name: "discuss-view-json", argv: ["discuss", "{parser}", "--json"] },
  { name: "edit-mode-status", argv: ["edit-mode", "status"] },
  { name: "unknown-command", argv: ["bogus"] },
  { name: "tracker-root-missing", argv: ["ready", "--tracker-root"] },
  { name: "tracker-root-then-option", argv: ["--tracker-root", "--json", "ready"] },
  { name: "tracker-root-empty", argv: ["--tracker-root=", "list"] },
  { name: "not-provided-sync", argv: ["sync", "--dry-run"] },
  { name: "not-provided-reconcile-json", argv: ["--json", "reconcile", "--base-branch", "dev"] },
  { name: "not-provided-migrate", argv: ["migrate", "--ledger", "L.md", "--dry-run"] },
  { name: "not-provided-serve", argv: ["serve", "--port", "8000"] },
  { name: "help-not-provided", argv: ["serve", "--help"] },
  { name: "no-args", argv: [] },
  { name: "help-update", argv: ["update", "--help"] },
  { name: "help-tui", argv: ["tui", "--help"] },
  { name: "missing-arg", argv: ["update"] },
];

const WRITE_CASES: Case[] = [
  {
    name: "add",
    argv: [
      "add",
      "--kind",
      "work_item",
      "--title",
      "New thing",
      "--tag",
      "tui",
      "--priority",
      "1",
      "--parent",
      "{parser:9}",
    ],
  },
  {
    name: "add-json",
    argv: ["--json", "add", "--kind", "work_item", "--title", "JSON thing", "--description", "multi\nline"],
  },
  { name: "add-invariant-missing-fields", argv: ["add", "--kind", "invariant", "--title", "Half"] },
  {
    name: "add-invariant-fields",
    argv: [
      "add",
      "--kind",
      "invariant",
      "--title",
      "Typed",
      "--field",
      "statement=S",
      "--field",
      "root_cause=R",
      "--field",
      "progress_pct=55",
      "--tier",
      "canonical",
    ],
  },
  { name: "add-bad-field", argv: ["add", "--kind", "work_item", "--title", "x", "--field", "nokey"] },
  { name: "add-bad-tag", argv: ["add", "--kind", "work_item", "--title", "x", "--tag", "Bad-Tag"] },
  {
    name: "add-duplicate",
    argv: ["add", "--kind", "work_item", "--title", "Same"],
    before: [["add", "--kind", "work_item", "--title", "Same"]],
  },
  {
    name: "add-stealth-ref",
    argv: ["add", "--kind", "work_item", "--title", "x", "--isbefore", "{secret:9}"],
  },
  {
    name: "add-unresolved-parent",
    argv: ["add", "--kind", "work_item", "--title", "x", "--parent", "WI-nope"],
  },
  {
    name: "add-description-file",
    argv: ["add", "--kind", "work_item", "--title", "From file", "--description-file", "desc.txt"],
    files: { "desc.txt": "Line 1\nLine 2\n\n" },
  },
  {
    name: "update",
    argv: [
      "update",
      "{parser:9}",
      "--status",
      "in_progress",
      "--priority",
      "0",
      "--add-tag",
      "perf",
      "--remove-tag",
      "parser",
      "--title",
      "Fix the parser",
    ],
    appendedTo: ["parser"],
  },
  {
    name: "update-json",
    argv: ["--json", "update", "{cache}", "--add-isbefore", "{review:9}", "--field", "owner=bob"],
    appendedTo: ["cache"],
  },
  {
    name: "update-note",
    argv: ["update", "{parser}", "--note", "Measured: 0.9 s"],
    user: "bot_agent",
    appendedTo: ["parser"],
  },
  {
    name: "update-blocked-by",
    argv: ["update", "{review}", "--add-blocked-by", "{cache:9}"],
    appendedTo: ["cache"],
  },
  {
    name: "update-isbefore-cycle",
    argv: ["update", "{docs:9}", "--add-isbefore", "{parser:9}"],
    appendedTo: ["docs"],
  },
  {
    name: "update-blocked-by-cycle-json",
    argv: ["--json", "update", "{parser}", "--add-blocked-by", "{docs}"],
    appendedTo: ["docs"],
  },
  { name: "update-field-exclusive", argv: ["update", "{parser}", "--field", "a=1", "--add-field", "b=2"] },
  {
    name: "update-remove-field",
    argv: ["update", "{routes}", "--remove-field", "progress_pct", "--description", "Now described"],
    appendedTo: ["routes"],
  },
  { name: "update-locked-agent", argv: ["update", "{routes}", "--status", "satisfied"], user: "bot_agent" },
  { name: "update-human-only-status", argv: ["update", "{cache}", "--status", "deleted"], user: "bot_agent" },
  { name: "update-nothing", argv: ["update", "{cache}"] },
  { name: "discuss-gated", argv: ["discuss", "{parser:9}", "On it."], user: "bot_agent" },
  {
    name: "discuss-ack",
    argv: ["discuss", "{parser:9}", "On it.", "--ack-thread"],
    user: "bot_agent",
    appendedTo: ["parser"],
  },
  { name: "discuss-human", argv: ["discuss", "{parser}", "A second human note"], appendedTo: ["parser"] },
  {
    name: "discuss-summarize",
    argv: ["discuss", "{cache}", "--summarize", "Summary: cache done"],
    user: "bot_agent",
    appendedTo: ["cache"],
  },
  { name: "discuss-clear-agent", argv: ["discuss", "{cache}", "--clear"], user: "bot_agent" },
  { name: "discuss-clear", argv: ["--json", "discuss", "{cache}", "--clear"], appendedTo: ["cache"] },
  { name: "lock", argv: ["lock", "{cache}", "Priority", "fields.owner"], appendedTo: ["cache"] },
  { name: "lock-unknown", argv: ["lock", "{cache}", "nonsense"] },
  { name: "lock-agent", argv: ["lock", "{cache}", "title"], user: "bot_agent" },
  { name: "unlock", argv: ["--json", "unlock", "{routes}", "status"], appendedTo: ["routes"] },
  { name: "freeze-unfreeze", argv: ["unfreeze", "{cache}"], before: [["freeze", "{cache}"]] },
  {
    name: "freeze-agent-write",
    argv: ["discuss", "{cache}", "x"],
    user: "bot_agent",
    before: [["freeze", "{cache}"]],
  },
  { name: "repair-drift-not-frozen", argv: ["repair-drift", "{cache}"] },
  { name: "promote", argv: ["promote", "{cache}"], user: "bot_agent" },
  { name: "demote-wrong-tier", argv: ["demote", "{cache}"] },
  { name: "stealth-agent", argv: ["stealth", "{cache}"], user: "bot_agent" },
  { name: "unstealth", argv: ["--json", "unstealth", "{secret}"] },
  { name: "delete", argv: ["delete", "{docs}"] },
  { name: "delete-agent", argv: ["delete", "{docs}"], user: "bot_agent" },
  { name: "edit-mode-on", argv: ["edit-mode", "on", "--ttl", "10m"] },
  { name: "edit-mode-on-agent", argv: ["edit-mode", "on"], user: "bot_agent" },
  { name: "delete-msg-closed", argv: ["delete-msg", "{parser}", "b004", "--reason", "typo"] },
  {
    name: "delete-msg-open",
    argv: ["delete-msg", "{parser}", "b004", "--reason", "typo"],
    before: [["edit-mode", "on"]],
    appendedTo: ["parser"],
  },
  {
    name: "undelete-msg-open",
    argv: ["undelete-msg", "{parser}", "b004", "--reason", "kept after all"],
    before: [
      ["edit-mode", "on"],
      ["delete-msg", "{parser}", "b004", "--reason", "typo"],
    ],
    appendedTo: ["parser"],
  },
  {
    name: "edit-msg-open-json",
    argv: ["--json", "edit-msg", "{parser:9}", "b004", "--new-text", "Corrected text", "--reason", "typo"],
    before: [["edit-mode", "on"]],
    appendedTo: ["parser"],
  },
  {
    name: "edit-msg-agent-open",
    argv: ["edit-msg-text", "{parser}", "b004", "--new-text", "Agent's fix", "--reason", "typo"],
    user: "bot_agent",
    before: [["edit-mode", "on"]],
    appendedTo: ["parser"],
  },
  {
    name: "edit-msg-bad-nonce",
    argv: ["edit-msg", "{parser}", "B4", "--new-text", "x", "--reason", "r"],
    before: [["edit-mode", "on"]],
  },
  { name: "undelete-msg-closed", argv: ["undelete-msg", "{parser}", "b004", "--reason", "r"] },
  { name: "stealth", argv: ["stealth", "{cache}"] },
  {
    name: "batch",
    argv: ["batch", "cmds.txt"],
    files: {
      "cmds.txt": `# comment line\n\nupdate {cache} --priority 1\ndiscuss {cache} "Fixed in PR #100 and 'quoted'"\nshow {cache}\nupdate WI-nope --status done\nadd --kind work_item --title "Batch-made"\n`,
    },
  },
  {
    name: "batch-json",
    argv: ["--json", "batch", "-"],
    stdin: "update {cache} --priority 1\nlock {cache} title\nupdate {cache} --bogus-flag\n",
  },
  {
    name: "batch-unbalanced",
    argv: ["batch", "-"],
    stdin: 'update {cache} --priority 1\ndiscuss {cache} "never closed\n',
  },
  { name: "batch-empty", argv: ["batch", "-"], stdin: "# nothing\n\n" },
  { name: "tags-rename", argv: ["tags", "rename", "parser", "yaml_parser"] },
  {
    name: "tags-describe",
    argv: ["tags", "describe", "parser"],
    before: [["tags", "describe", "parser", "Parsing work"]],
  },
  { name: "tags-deprecate", argv: ["tags", "deprecate", "parser", "--in-favor-of", "yaml"] },
  {
    name: "tags-deprecated-use",
    argv: ["update", "{cache}", "--add-tag", "parser"],
    before: [["tags", "deprecate", "parser", "--in-favor-of", "yaml"]],
  },
  { name: "tags-deprecate-self", argv: ["tags", "deprecate", "parser", "--in-favor-of", "parser"] },
  { name: "tags-deprecate-bad-new", argv: ["tags", "deprecate", "parser", "--in-favor-of", "Yaml Parser"] },
  {
    name: "update-self-parent",
    argv: ["update", "{parser:9}", "--parent", "{parser:9}"],
    appendedTo: ["parser"],
  },
  {
    name: "update-self-blocked-by",
    argv: ["update", "{parser}", "--add-blocked-by", "{parser:9}"],
    appendedTo: ["parser"],
  },
  { name: "fork-setup", argv: ["fork-setup"] },
  { name: "fork-setup-agent", argv: ["fork-setup"], user: "bot_agent" },
  { name: "recover-nothing", argv: ["recover"] },
];

async function runCase(c: Case): Promise<string> {
  const { repo, ids } = await buildFixture();
  const cwd = repo;
  const env = {
    TRACKER_CACHE_DIR: path.join(repo, ".cache"),
    HYPERGUMBO_TRACKER_JOURNAL_ROOT: path.join(repo, ".journal"),
  };
  for (const [f, content] of Object.entries(c.files ?? {}))
    fs.writeFileSync(path.join(repo, f), subst(content, ids));
  for (const b of c.before ?? [])
    await cli(
      b.map((a) => subst(a, ids)),
      {
        cwd,
        env,
        user:
          c.user === "bot_agent" && b[0] !== "freeze" && b[0] !== "edit-mode" && b[0] !== "tags"
            ? c.user
            : "alice",
      },
    );
  const files = (c.appendedTo ?? []).map((k) => {
    const file = [".agent/tracker/.ops", ".agent/tracker-workspace/.ops", ".agent/tracker-workspace/stealth"]
      .map((d) => path.join(repo, d, `.${ids[k]}.ops`))
      .find((p) => fs.existsSync(p))!;
    return { k, file, size: fs.statSync(file).size };
  });
  const argv = c.argv.map((a) => subst(a, ids));
  const r = await cli(argv, {
    cwd,
    env,
    user: c.user,
    stdin: c.stdin === undefined ? undefined : subst(c.stdin, ids),
  });
  let text = `$ htrac ${argv.map((a) => (/[\s'"]/.test(a) || a === "" ? JSON.stringify(a) : a)).join(" ")}${c.user ? `   # as ${c.user}` : ""}\n[exit ${r.code}]\n--- stdout\n${r.out}--- stderr\n${r.err}`;
  for (const f of files) {
    const now = fs.readFileSync(f.file);
    text += `--- appended to ${f.k}\n${now.subarray(f.size).toString("utf8")}`;
  }
  const rev: Record<string, string> = {};
  for (const [k, v] of Object.entries(ids)) rev[v] = `{${k}}`;
  return normalise(text, repo);
}

function check(name: string, text: string): void {
  const file = path.join(GOLDEN, `${name}.txt`);
  if (UPDATE) {
    fs.mkdirSync(GOLDEN, { recursive: true });
    fs.writeFileSync(file, text);
    return;
  }
  expect(fs.existsSync(file), `missing golden ${name}.txt (run with UPDATE_GOLDEN=1)`).toBe(true);
  expect(text).toBe(fs.readFileSync(file, "utf8"));
}

describe("CLI golden outputs (read commands)", () => {
  for (const c of READ_CASES) {
    it(c.name, async () => {
      check(c.name, await runCase(c));
    });
  }
});

describe("CLI golden outputs (write commands)", () => {
  for (const c of WRITE_CASES) {
    it(c.name, async () => {
      check(c.name, await runCase(c));
    });
  }
});

describe("CLI commands with side files", () => {
  it("recover puts back ops git dropped, one stderr line per file; then nothing; --json counts", async () => {
    const { repo, ids } = await buildFixture();
    const env = {
      TRACKER_CACHE_DIR: path.join(repo, ".cache"),
      HYPERGUMBO_TRACKER_JOURNAL_ROOT: path.join(repo, ".journal"),
    };
    git(repo, "init", "-q"); // (the journal is kept for a repository only)
    const file = path.join(repo, ".agent/tracker-workspace/.ops", `.${ids.cache}.ops`);
    const before = fs.readFileSync(file);
    expect((await cli(["discuss", ids.cache, "journalled note"], { cwd: repo, env })).code).toBe(0);
    const after = fs.readFileSync(file);
    fs.writeFileSync(file, before); // (as `git reset --hard` leaves it)
    expect(await cli(["recover"], { cwd: repo, env })).toEqual({
      code: 0,
      out: "",
      err: `recover: ${file}: restored 1 op(s)\n`,
    });
    expect(fs.readFileSync(file).equals(after)).toBe(true);
    expect(await cli(["recover"], { cwd: repo, env })).toEqual({
      code: 0,
      out: "",
      err: "recover: nothing to restore\n",
    });
    fs.writeFileSync(file, before);
    const r = await cli(["--json", "recover"], { cwd: repo, env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ restored_files: [file], restored_ops: 1, skipped: [] });
    expect(fs.readFileSync(file).equals(after)).toBe(true);
  });

  it("repair-drift restores a frozen item's op file from its sentinel: 'drift repaired' / {\"ok\": true}", async () => {
    const { repo, ids } = await buildFixture();
    const env = { TRACKER_CACHE_DIR: path.join(repo, ".cache") };
    expect((await cli(["freeze", ids.parser], { cwd: repo, env })).out).toBe("frozen\n");
    const file = path.join(repo, ".agent/tracker-workspace/.ops", `.${ids.parser}.ops`);
    const frozen = fs.readFileSync(file);
    const drift = "- op: discuss  # dddd\n  at: '2026-01-20T00:00:00Z'  # dddd\n";
    fs.appendFileSync(file, drift); // (drift: bytes that came in past the freeze, e.g. a merge)
    expect(await cli(["repair-drift", ids.parser.slice(0, 9)], { cwd: repo, env })).toEqual({
      code: 0,
      out: "drift repaired\n",
      err: "",
    });
    expect(fs.readFileSync(file).equals(frozen)).toBe(true);
    fs.appendFileSync(file, drift);
    expect(await cli(["--json", "repair-drift", ids.parser], { cwd: repo, env })).toEqual({
      code: 0,
      out: '{"ok": true}\n',
      err: "",
    });
    expect(fs.readFileSync(file).equals(frozen)).toBe(true);
    expect((await cli(["show", ids.parser], { cwd: repo, env })).code).toBe(0);
  });

  it("reconcile-reset merges a cross-tier duplicate into canonical and says so", async () => {
    const { repo, ids } = await buildFixture();
    const ws = path.join(repo, ".agent", "tracker-workspace", ".ops", `.${ids.cache}.ops`);
    fs.copyFileSync(ws, path.join(repo, ".agent", "tracker", ".ops", `.${ids.cache}.ops`));
    const env = { TRACKER_CACHE_DIR: path.join(repo, ".cache") };
    expect(await cli(["reconcile-reset", ids.cache.slice(0, 8)], { cwd: repo, env })).toEqual({
      code: 1,
      out: "",
      err: `error: Item not found: ${ids.cache.slice(0, 8)}\n`,
    });
    expect(await cli(["reconcile-reset", ids.cache], { cwd: repo, env })).toEqual({
      code: 0,
      out: `reconciled ${ids.cache} into canonical from workspace (3 ops, 2 duplicates dropped)\n`,
      err: "",
    });
    expect(fs.existsSync(ws)).toBe(false);
    expect(await cli(["--json", "reconcile-reset", ids.cache], { cwd: repo, env })).toEqual({
      code: 1,
      out: "",
      err: `error: ${ids.cache} is only in canonical: nothing to reconcile\n`,
    });
    const v = await cli(["validate"], { cwd: repo, env });
    expect(v.out).not.toContain("duplicate ID");
  });

  it("cache-rebuild writes every tier's warm-start cache with the texts later commands print; off, it says so", async () => {
    const { repo } = await buildFixture();
    const xdg = tmpDir();
    const env = { TRACKER_CACHE_DIR: path.join(repo, ".cache"), XDG_CACHE_HOME: xdg, HTRAC_NO_CACHE: "" };
    const index = path.join(xdg, "htrac", "index");
    const delta = path.join(index, "stale.delta");
    fs.mkdirSync(index, { recursive: true });
    expect(await cli(["cache-rebuild"], { cwd: repo, env })).toEqual({
      code: 0,
      out: "cache rebuilt\n",
      err: "",
    });
    const files = fs.readdirSync(index).filter((n) => n.endsWith(".v8"));
    expect(files.length).toBe(3); // one main file per tier (small tiers too)
    // A delta file of a tier goes with the rebuild of its main file.
    const ws = files.map((n) => path.join(index, n));
    fs.writeFileSync(`${ws[0].slice(0, -3)}.delta`, "x");
    fs.writeFileSync(delta, "x");
    expect(await cli(["--json", "cache-rebuild"], { cwd: repo, env })).toEqual({
      code: 0,
      out: '{"ok": true}\n',
      err: "",
    });
    expect(fs.existsSync(`${ws[0].slice(0, -3)}.delta`)).toBe(false);
    expect(fs.existsSync(delta)).toBe(false); // (a delta file whose main file is gone: pruned)
    // The next list --json and ready --json print kept texts: nothing rendered, byte for byte
    // what a run without the cache prints.
    const t = openTest(repo, { env: { ...process.env, ...env } });
    const rendered: string[] = [];
    for (const key of [itemJsonText(1)[0], itemJsonText(2)[0], CREATE_SIMHASH_KEY])
      t.derivedTexts(t.listSummaries(), key, (i) => (rendered.push(i.id), ""));
    expect(rendered).toEqual([]);
    for (const argv of [
      ["--json", "list"],
      ["--json", "ready"],
    ]) {
      const warm = await cli(argv, { cwd: repo, env });
      expect(warm.out).toBe((await cli(argv, { cwd: repo, env: { ...env, HTRAC_NO_CACHE: "1" } })).out);
    }
    // The cache off: an error (for --json an object on stdout, as the reference), exit 1.
    const off = { ...env, HTRAC_NO_CACHE: "1" };
    const msg = "no cache directory available (the warm-start cache is off: HTRAC_NO_CACHE=1)";
    expect(await cli(["cache-rebuild"], { cwd: repo, env: off })).toEqual({
      code: 1,
      out: "",
      err: `error: ${msg}\n`,
    });
    expect(await cli(["--json", "cache-rebuild"], { cwd: repo, env: off })).toEqual({
      code: 1,
      out: `{"ok": false, "error": "${msg}"}\n`,
      err: "",
    });
  });

  it("setup writes a big tracker's warm-start cache with the kept texts once, then finds it current", async () => {
    const repo = tmpDir();
    generateTracker(repo, { items: 300, seed: 5, opsPerItem: 4 });
    const xdg = tmpDir();
    const env = { TRACKER_CACHE_DIR: path.join(repo, ".cache"), XDG_CACHE_HOME: xdg, HTRAC_NO_CACHE: "" };
    const cacheLine = async () => {
      const r = await cli(["--json", "setup", "--yes"], { cwd: repo, env });
      return JSON.parse(r.out).checks.find((ch: { name: string }) => ch.name === "cache");
    };
    expect(await cacheLine()).toMatchObject({
      status: "fixed",
      message: expect.stringMatching(
        /^Wrote the warm-start cache of .*workspace.* \(300 items\): the first run starts warm$/,
      ),
    });
    expect(await cacheLine()).toMatchObject({
      status: "ok",
      message: "Warm-start cache current (300 items)",
    });
    const t = openTest(repo, { env: { ...process.env, ...env } });
    const rendered: string[] = [];
    for (const key of [itemJsonText(1)[0], CREATE_SIMHASH_KEY])
      t.derivedTexts(t.listSummaries({ tier: "workspace" }), key, (i) => (rendered.push(i.id), ""));
    expect(rendered).toEqual([]);
    // A small tracker needs none; with the cache off, setup says what that costs.
    const { repo: small } = await buildFixture();
    expect((await cli(["--json", "setup"], { cwd: small, env })).out).toContain(
      "Warm-start cache not needed (no tier has 200 items)",
    );
    const off = await cli(["--json", "setup", "--yes"], { cwd: repo, env: { ...env, HTRAC_NO_CACHE: "1" } });
    expect(JSON.parse(off.out).checks.find((ch: { name: string }) => ch.name === "cache")).toMatchObject({
      status: "warn",
    });
    // A cache that cannot be written is a warning naming the file and why, not "fixed".
    const blocked = tmpDir();
    fs.writeFileSync(path.join(blocked, "htrac"), "a file where the cache directory goes");
    const unwritable = await cli(["--json", "setup", "--yes"], {
      cwd: repo,
      env: { ...env, XDG_CACHE_HOME: blocked },
    });
    expect(
      JSON.parse(unwritable.out).checks.find((ch: { name: string }) => ch.name === "cache"),
    ).toMatchObject({
      status: "warn",
      message: expect.stringMatching(
        new RegExp(
          `^Could not write the warm-start cache \\(${blocked}/htrac/index/[0-9a-f]{32}\\.v8: ENOTDIR[^)]*\\): every run parses every op file$`,
        ),
      ),
    });
  });

  it("guidance writes the markdown file and prints its path", async () => {
    const { repo } = await buildFixture();
    const dir = tmpDir();
    const r = await cli(["guidance", "--guidance-dir", dir], { cwd: repo });
    expect(r.code).toBe(0);
    const file = r.out.trim();
    expect(path.dirname(file)).toBe(dir);
    expect(path.basename(file)).toBe("stop_guidance_01152026_1200.md");
    check("guidance-file", fs.readFileSync(file, "utf8"));
  });

  it("init creates the layout idempotently; setup reports checks", async () => {
    const dir = tmpDir();
    const a = await cli(["init"], { cwd: dir });
    expect(a).toEqual({ code: 0, out: `initialized tracker at ${path.join(dir, ".agent")}\n`, err: "" });
    for (const f of [
      ".agent/tracker/.ops/.gitattributes",
      ".agent/tracker-workspace/.ops/.gitattributes",
      ".agent/tracker-workspace/stealth/.gitignore",
      ".agent/tracker/.gitignore",
      ".agent/tracker/config.yaml.template",
      ".agent/tracker/config.yaml",
    ]) {
      expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    }
    expect(fs.readFileSync(path.join(dir, ".agent/tracker/.ops/.gitattributes"), "utf8")).toBe(
      "*.ops merge=union\n",
    );
    expect(fs.statSync(path.join(dir, ".agent/tracker/config.yaml")).mode & 0o777).toBe(0o444);
    expect((await cli(["init"], { cwd: dir })).code).toBe(0);
    const agent = await cli(["init"], { cwd: tmpDir(), user: "x_agent" });
    expect(agent).toEqual({
      code: 1,
      out: "",
      err: "error: init requires human authority (current user 'x_agent' is agent)\n",
    });
    const s = await cli(["setup"], { cwd: dir });
    expect(s.code).toBe(0);
    check("setup-after-init", normalise(s.out, dir));
  });
});
