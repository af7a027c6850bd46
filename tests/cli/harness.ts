/**
 * Run the CLI in-process with deterministic providers, or the built binary as a process.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { runCli } from "../../src/cli/program.js";
import { TEMPLATE_CONFIG_YAML } from "../../src/store/config.js";
import { CLI, emptyTracker, fixedClock, nonceSeq, openTest } from "../helpers.js";

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Options of an in-process CLI run. */
export interface RunOpts {
  cwd: string;
  user?: string;
  stdin?: string;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  nonce?: () => string;
}

/** Run `htrac <argv>` in-process. */
export async function cli(argv: string[], o: RunOpts): Promise<CliResult> {
  let out = "";
  let err = "";
  const code = await runCli(argv, {
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      err += s;
    },
    readStdin: async () => o.stdin ?? "",
    stdinIsTTY: false,
    stdoutIsTTY: false,
    env: { ...process.env, ...(o.env ?? {}) },
    cwd: o.cwd,
    providers: {
      now: o.now ?? fixedClock(),
      nonce: o.nonce ?? nonceSeq(0xc000),
      user: () => o.user ?? "alice",
      gitPeek: false,
      protectedRoot: "/nonexistent-htrac-protected",
    },
  });
  return { code, out, err };
}

/** Run the built binary as a real process. */
export function cliProcess(
  argv: string[],
  o: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: string; asUser?: string },
): CliResult {
  const env = { ...process.env, ...(o.env ?? {}) };
  const cmd = o.asUser ? "runuser" : process.execPath;
  const args = o.asUser ? ["-u", o.asUser, "--", process.execPath, CLI, ...argv] : [CLI, ...argv];
  const r = spawnSync(cmd, args, { cwd: o.cwd, env, input: o.stdin ?? "", encoding: "utf8" });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/**
 * The CLI fixture: a tracker built through the store with a fixed clock and nonces, so IDs,
 * timestamps and nonces are the same on every run.
 */
export async function buildFixture(): Promise<{ repo: string; ids: Record<string, string> }> {
  const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
  fs.writeFileSync(
    path.join(repo, ".agent", "tracker", "config.yaml.template"),
    TEMPLATE_CONFIG_YAML.replace("well_known_tags: []", "well_known_tags:\n  - ci_infrastructure"),
  );
  const human = openTest(repo, { now: fixedClock("2026-01-15T12:00:00Z", 60_000), nonce: nonceSeq(0xa000) });
  const agent = openTest(repo, {
    user: () => "bot_agent",
    now: fixedClock("2026-01-16T09:00:00Z", 60_000),
    nonce: nonceSeq(0xb000),
  });
  const ids: Record<string, string> = {};
  ids.parser = (
    await human.add({
      kind: "work_item",
      title: "Fix the YAML parser",
      priority: 1,
      tags: ["parser", "ci_infrastructure"],
      description: "Fast path for op logs.\nSecond line.",
    })
  ).id;
  ids.cache = (
    await agent.add({ kind: "work_item", title: "Add caching layer", status: "in_progress", priority: 2 })
  ).id;
  ids.routes = (
    await human.add({
      kind: "invariant",
      title: "Routes must have methods",
      status: "violated",
      priority: 0,
      fields: { statement: "Routes need methods", root_cause: "Missing validation", progress_pct: 40 },
      tier: "canonical",
    })
  ).id;
  ids.docs = (
    await agent.add({ kind: "work_item", title: "Document the CLI", priority: 3, parent: ids.parser })
  ).id;
  ids.secret = (
    await human.add({ kind: "work_item", title: "Private experiment", priority: 2, tier: "stealth" })
  ).id;
  ids.review = (
    await agent.add({
      kind: "work_item",
      title: "Review the new layout",
      status: "needs_human_review",
      priority: 1,
    })
  ).id;
  await agent.update(ids.parser, { add: { isbefore: [ids.docs] } });
  await agent.discuss(ids.parser, "Started on the fast path.");
  await human.discuss(ids.parser, "Please measure it on the 10k tracker.");
  await human.lock(ids.routes, ["status"]);
  await agent.discuss(ids.cache, "Cache keyed by size+mtime.");
  return { repo, ids };
}

/** Replace temp paths in output with stable placeholders. */
export function normalise(s: string, repo: string): string {
  return s.split(repo).join("<REPO>");
}
