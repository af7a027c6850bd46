/**
 * Governance and setup commands: tags (+ rename/describe/deprecate), init, setup (checks
 * and a minimal wizard), fork-setup, cache-rebuild (cli.md §2.18, §2.22), and the reference's
 * commands this htrac does not have, which say so and what to do instead.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import {
  deprecateTag,
  describeTag,
  ensureRepoGitattributes,
  ensureTextconvDrivers,
  fixTierDirModes,
  fnmatch,
  installConfig,
  loadConfig,
  normaliseTrackerRoot,
  renameTag,
  scaffoldTracker,
  SEARCH_TEXT_KEY,
  searchText,
  setStopHookScope,
  tagCatalog,
  tagCounts,
  TIERS,
  type Tracker,
  TrackerError,
  validateTracker,
} from "../index.js";
import type { Ctx } from "./context.js";
import { itemJsonText, t1 } from "./format.js";
import { ExitCode } from "./io.js";

/** Agent patterns from a config dir (config.yaml, else template, else the default). */
function agentPatterns(configDir: string): string[] {
  try {
    return loadConfig(configDir).agent_usernames;
  } catch {
    return ["*_agent"];
  }
}

function currentUser(c: Ctx): string {
  const u = c.io.providers?.user;
  return u ? u() : os.userInfo().username;
}

function isAgent(c: Ctx, configDir: string): boolean {
  const user = currentUser(c);
  return agentPatterns(configDir).some((p) => fnmatch(user, p));
}

/** The tracker root for init/setup: --tracker-root / --root, else ./.agent. */
function rootFor(c: Ctx, given?: string): string {
  const r = given ?? c.g.trackerRoot;
  if (r) return normaliseTrackerRoot(path.resolve(c.io.cwd, r));
  return path.join(c.io.cwd, ".agent");
}

interface Check {
  name: string;
  status: "ok" | "fixed" | "warn" | "error";
  message: string;
  details: string[];
}

/** Quote a word for sh (single quotes). */
function shQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/**
 * The git textconv command for op files: this htrac's `textconv`, and the file as it is when
 * that fails (htrac moved or removed), as the reference's `scripts/tracker-textconv` shim falls
 * back to `cat`. Git runs it with sh and the file as its argument.
 * @param self node and the htrac script (`CliIo.self`)
 */
export function textconvCommand(self: readonly string[]): string {
  return `f() { ${self.map(shQuote).join(" ")} textconv "$1" 2>/dev/null || cat "$1"; }; f`;
}

/**
 * Have the cache writes of `t` keep what later runs would otherwise make from every item: the
 * item JSON of `list --json` and `ready --json`, the TUI's search text, and the create-data
 * SimHash `add` compares a new item with (for `cache-rebuild` and setup's cache check).
 */
function keepTextsForLaterRuns(t: Tracker): void {
  for (const level of [1, 2]) t.deriveOnSave(...itemJsonText(level));
  t.deriveOnSave(SEARCH_TEXT_KEY, searchText);
  t.deriveNearDuplicateHashesOnSave();
}

/**
 * setup's warm-start cache check: a big tracker (a tier of 200+ items) whose load had to parse
 * enough files gets its cache written now, with the texts later commands and TUI sessions
 * print and the items' SimHashes (as `cache-rebuild`), so that the first `ready`, `list`,
 * `add` or `tui` after a fresh clone starts warm. A small tracker needs none.
 * @returns the check's status and message
 */
async function warmStartCache(
  t: Tracker,
  env: NodeJS.ProcessEnv,
): Promise<["ok" | "fixed" | "warn", string]> {
  const counts = t.counts();
  const items = counts.canonical + counts.workspace + counts.stealth;
  if (!TIERS.some((tier) => counts[tier] >= 200))
    return ["ok", "Warm-start cache not needed (no tier has 200 items)"];
  if (env.HTRAC_NO_CACHE === "1")
    return ["warn", "Warm-start cache off (HTRAC_NO_CACHE=1): every run parses every op file"];
  const due = t.indexCacheDue();
  if (!due.length) return ["ok", `Warm-start cache current (${items} items)`];
  keepTextsForLaterRuns(t);
  const failed: string[] = [];
  await t.finishIndexCache((_tier, file, e) => failed.push(`${file}: ${e.message}`));
  if (failed.length)
    return [
      "warn",
      `Could not write the warm-start cache (${failed.join("; ")}): every run parses every op file`,
    ];
  return [
    "fixed",
    `Wrote the warm-start cache of ${due.join(", ")} (${items} items): the first run starts warm`,
  ];
}

export function registerAdmin(program: Command, ctx: () => Ctx): void {
  const tags = program
    .command("tags")
    .description(
      "List tags in use (canonical + workspace); --count adds usage and status; sub-verbs manage the catalog",
    )
    .option("--count", "tag<TAB>count<TAB>status, by count")
    .action((opts: { count?: boolean }) => {
      const c = ctx();
      const t = c.tracker();
      const counts = tagCounts(t);
      const cat = tagCatalog(t);
      t.saveLastList(t.listSummaries().map((i) => i.id));
      const statusOf = (tag: string) =>
        cat.get(tag)?.deprecated ? "deprecated" : (counts.get(tag) ?? 0) > 0 ? "active" : "inactive";
      const all = [...new Set([...counts.keys(), ...cat.keys()])];
      if (c.g.json) {
        const out: Record<string, unknown> = {};
        for (const tag of all.sort()) {
          const e = cat.get(tag);
          out[tag] = {
            count: counts.get(tag) ?? 0,
            created_on: e?.created_on ?? null,
            deprecated: e?.deprecated ?? false,
            description: e?.description ?? "",
            in_favor_of: e?.in_favor_of ?? null,
            last_modified: e?.last_modified ?? null,
            last_used: e?.last_used ?? null,
            status: statusOf(tag),
          };
        }
        c.json(out, 2, true);
        return;
      }
      if (opts.count) {
        all.sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0) || (a < b ? -1 : 1));
        for (const tag of all) c.line(`${t1(tag)}\t${counts.get(tag) ?? 0}\t${statusOf(tag)}`);
        return;
      }
      for (const tag of [...counts.keys()].sort()) c.line(t1(tag));
    });
  tags
    .command("rename")
    .description("Rename a tag on every canonical/workspace item")
    .argument("<old>")
    .argument("<new>")
    .action(async (oldTag: string, newTag: string) => {
      const c = ctx();
      const t = c.tracker();
      if (oldTag === newTag) return;
      const n = await renameTag(t, oldTag, newTag);
      t.saveLastList(t.listSummaries().map((i) => i.id));
      if (c.g.json) c.json({ renamed: n, old: oldTag, new: newTag });
      else c.line(`renamed ${oldTag} → ${newTag} on ${n} item(s)`);
    });
  tags
    .command("describe")
    .description("Show or set a tag's one-line description")
    .argument("<tag>")
    .argument("[text]")
    .action((tag: string, text: string | undefined) => {
      const c = ctx();
      const t = c.tracker();
      if (text === undefined) {
        const d = tagCatalog(t).get(tag)?.description ?? "";
        if (c.g.json) c.json({ tag, description: d });
        else c.line(t1(d));
        return;
      }
      describeTag(t, tag, text);
      if (c.g.json) c.json({ ok: true, tag, description: text });
      else c.line(`described ${tag}`);
    });
  tags
    .command("deprecate")
    .description("Mark a tag deprecated (writers get a warning when they use it)")
    .argument("<tag>")
    .option(
      "--in-favor-of <new>",
      "the tag to use instead (a valid tag name, not TAG itself: unlike the reference, checked)",
    )
    .action((tag: string, opts: { inFavorOf?: string }) => {
      const c = ctx();
      deprecateTag(c.tracker(), tag, opts.inFavorOf ?? null);
      if (c.g.json) c.json({ tag, deprecated: true, in_favor_of: opts.inFavorOf ?? null });
      else c.line(`deprecated ${tag}${opts.inFavorOf ? ` (in favor of ${opts.inFavorOf})` : ""}`);
    });

  program
    .command("init")
    .description(
      "Create the tracker layout (tier directories, .gitattributes, .gitignore files, config from the template); human only; idempotent",
    )
    .action(() => {
      const c = ctx();
      const root = rootFor(c);
      const configDir = path.join(root, "tracker");
      if (isAgent(c, configDir))
        c.fail(`init requires human authority (current user '${currentUser(c)}' is agent)`);
      scaffoldTracker(root);
      installConfig(root);
      if (c.g.json) c.json({ root });
      else c.line(`initialized tracker at ${root}`);
    });

  program
    .command("setup")
    .description(
      "Check and fix the tracker installation (idempotent); on a terminal, asks a few questions when creating config.yaml",
    )
    .option("--root <path>", "tracker root (default: --tracker-root or ./.agent)")
    .option("--yes", "accept defaults without asking")
    .action(async (opts: { root?: string; yes?: boolean }) => {
      const c = ctx();
      const root = rootFor(c, opts.root);
      const checks: Check[] = [];
      const add = (name: string, status: Check["status"], message: string, details: string[] = []) =>
        checks.push({ name, status, message, details });
      const repo = path.dirname(root);
      const inGit = fs.existsSync(path.join(repo, ".git"));
      add(
        "git",
        inGit ? "ok" : "warn",
        inGit ? "Git repository detected" : "Not a git repository: merge=union, journal and sync need git",
      );
      const created = scaffoldTracker(root);
      add(
        "layout",
        created.length ? "fixed" : "ok",
        created.length ? `Created ${created.length} file(s)/directories` : "Tracker layout present",
        created.map((x) => `created: ${x}`),
      );
      if (inGit) {
        const changed = ensureRepoGitattributes(repo);
        add(
          "gitattributes",
          changed.length ? "fixed" : "ok",
          changed.length
            ? "Added merge=union rules to .gitattributes"
            : ".gitattributes has merge=union for op logs",
        );
        const tc = ensureTextconvDrivers(repo, c.io.self && textconvCommand(c.io.self));
        add(
          "textconv",
          tc.status,
          tc.status === "fixed"
            ? "Set git's diff driver for op files (git diff shows item summaries: htrac textconv)"
            : tc.status === "ok"
              ? "git's diff driver for op files is set"
              : "git's diff driver for op files is not set (git diff shows raw ops)",
          tc.details,
        );
      }
      const configDir = path.join(root, "tracker");
      const agent = isAgent(c, configDir);
      add("actor", "ok", `Running as ${agent ? "agent" : "human"} '${currentUser(c)}'`);
      const cfgFile = path.join(configDir, "config.yaml");
      if (!fs.existsSync(cfgFile)) {
        if (agent)
          add(
            "config",
            "warn",
            "config.yaml missing; a human must run setup to create it (agents use the template)",
          );
        else {
          let pattern = "*_agent";
          if (c.io.stdinIsTTY && c.io.prompt && !opts.yes && !c.g.json) {
            const a = (await c.io.prompt("Agent username pattern (fnmatch) [*_agent]: ")).trim();
            if (a) pattern = a;
          }
          installConfig(root, pattern);
          add(
            "config",
            "fixed",
            `Created config.yaml from the template (agents: ${pattern}), read-only 0444`,
          );
        }
      } else add("config", "ok", "config.yaml present");
      try {
        const cfg = loadConfig(configDir);
        add(
          "config-valid",
          "ok",
          `Config valid (${cfg.kinds.length} kinds, ${cfg.statuses.length} statuses)`,
        );
      } catch (e) {
        add("config-valid", "error", (e as Error).message);
      }
      const permIssues = fixTierDirModes(root);
      const unfixed = permIssues.filter((x) => !x.startsWith("fixed"));
      add(
        "permissions",
        unfixed.length ? "warn" : permIssues.length ? "fixed" : "ok",
        unfixed.length
          ? "Some tier directories are not group-writable with setgid"
          : "Tier directories are group-writable (2775)",
        permIssues,
      );
      try {
        const { openTracker } = await import("../index.js");
        const t = openTracker(root, { ...(c.io.providers ?? {}), env: c.io.env, indexCacheWrite: "end" });
        const r = validateTracker(t);
        add(
          "integrity",
          r.errors.length ? "warn" : "ok",
          r.errors.length
            ? `validate: ${r.errors.length} error(s) (run 'htrac validate')`
            : "validate passed",
          r.errors.slice(0, 5),
        );
        add("cache", ...(await warmStartCache(t, c.io.env)));
      } catch (e) {
        add("integrity", "error", (e as Error).message);
      }
      const summary = { ok: 0, fixed: 0, warn: 0, error: 0 };
      for (const ch of checks) summary[ch.status]++;
      if (c.g.json) c.json({ checks, summary }, 2);
      else {
        const rule = "-----------------------------------------------";
        c.line(rule);
        for (const ch of checks) {
          c.line(`${`[${ch.status}]`.padEnd(8)}${ch.message}`);
          for (const d of ch.details) c.line(`        ${d}`);
        }
        c.line(rule);
        const parts = [] as string[];
        if (summary.fixed) parts.push(`${summary.fixed} fixed`);
        if (summary.warn) parts.push(`${summary.warn} warning${summary.warn === 1 ? "" : "s"}`);
        if (summary.error) parts.push(`${summary.error} error${summary.error === 1 ? "" : "s"}`);
        c.line(parts.length ? `Setup complete. ${parts.join(", ")}.` : "Setup complete. All checks passed.");
      }
      if (summary.error > 0) throw new ExitCode(1);
    });

  program
    .command("fork-setup")
    .description("Set stop_hook.scope to 'workspace' in config.yaml (human only; keeps comments)")
    .action(() => {
      const c = ctx();
      const root = rootFor(c);
      const configDir = path.join(root, "tracker");
      if (isAgent(c, configDir)) c.fail("fork-setup requires human authority");
      setStopHookScope(root, "workspace");
      if (c.g.json) c.json({ ok: true, scope: "workspace" });
      else c.line("scope set to 'workspace'");
    });

  program
    .command("cache-rebuild")
    .description(
      "Rebuild htrac's warm-start cache of every tier from the op files (per user, $XDG_CACHE_HOME/htrac/index/): e.g. on a fresh clone before a first big run. The reference's SQLite caches are its own and left alone",
    )
    .action(() => {
      const c = ctx();
      const t = c.tracker();
      keepTextsForLaterRuns(t);
      try {
        t.rebuildIndexCache();
      } catch (e) {
        if (!(e instanceof TrackerError) || !c.g.json) throw e;
        // (the one command whose --json error is an object on stdout, as the reference's: cli.md §2.22)
        c.json({ ok: false, error: e.message });
        throw new ExitCode(1);
      }
      if (c.g.json) c.json({ ok: true });
      else c.line("cache rebuilt");
    });

  for (const [name, instead] of Object.entries(NOT_PROVIDED)) {
    program
      .command(name, { hidden: true })
      .allowUnknownOption()
      .allowExcessArguments()
      .argument("[args...]")
      .description(`Not provided by this htrac: ${instead}`)
      .action(() =>
        ctx().fail(`'htrac ${name}' is a reference htrac command this htrac does not provide: ${instead}`, 2),
      );
  }
}

/**
 * The reference's commands outside this htrac (cli.md §2.22, §11): auto-sync and its PR flow,
 * the one-off markdown migration and the web server. Called, each fails with exit 2 and says
 * what to do instead (an agent used to the reference gets a reason, not "unknown command").
 */
export const NOT_PROVIDED: Readonly<Record<string, string>> = {
  sync: "it never pushes op files itself; commit and push .agent/ with git (--no-auto-sync is accepted and has no effect)",
  reconcile:
    "it never pushes op files itself; commit and push .agent/ with git, pull with 'git pull --ff-only', and 'htrac recover' restores ops git dropped",
  migrate: "the markdown ledger migration is a one-off; run it once with the reference htrac",
  serve: "there is no web server; 'htrac tui' is the interactive view (over SSH too)",
};
