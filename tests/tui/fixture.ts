/**
 * The fixed TUI fixture (fixed clock and nonces → fixed IDs): the reference's three snapshot
 * items plus items that exercise every marker (unread, frozen, locks, chains, tiers, CJK,
 * emoji, hostile escape sequences).
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { TEMPLATE_CONFIG_YAML } from "../../src/store/config.js";
import { emptyTracker, fixedClock, nonceSeq, openTest, PROJECT } from "../helpers.js";

const DIR = path.join(PROJECT, "snapshots");
const UPDATE = process.env.UPDATE_SNAPSHOTS === "1";

/** Compare `text` with snapshots/<file>, or rewrite it when UPDATE_SNAPSHOTS=1. */
export function checkSnapshot(file: string, text: string): void {
  const p = path.join(DIR, file);
  if (UPDATE) {
    fs.mkdirSync(DIR, { recursive: true });
    fs.writeFileSync(p, text);
    return;
  }
  expect(fs.existsSync(p), `missing snapshot ${file} (UPDATE_SNAPSHOTS=1 creates it)`).toBe(true);
  expect(text).toBe(fs.readFileSync(p, "utf8"));
}

export interface TuiFixture {
  repo: string;
  ids: Record<string, string>;
}

export async function buildTuiFixture(): Promise<TuiFixture> {
  const repo = emptyTracker(
    TEMPLATE_CONFIG_YAML.replace("well_known_tags: []", "well_known_tags:\n  - quality"),
  );
  const human = openTest(repo, { now: fixedClock("2026-01-15T12:00:00Z", 60_000), nonce: nonceSeq(0xa000) });
  const agent = openTest(repo, {
    user: () => "bot_agent",
    now: fixedClock("2026-01-15T13:00:00Z", 60_000),
    nonce: nonceSeq(0xb000),
  });
  const ids: Record<string, string> = {};
  ids.stable = (
    await human.add({
      kind: "work_item",
      title: "Symbol IDs must be stable",
      priority: 1,
      tags: ["quality"],
      description: "IDs must not change between runs.",
    })
  ).id;
  ids.cache = (
    await human.add({ kind: "work_item", title: "Add caching layer", status: "in_progress", priority: 2 })
  ).id;
  ids.routes = (
    await human.add({
      kind: "work_item",
      title: "Routes must have methods",
      status: "done",
      priority: 0,
      fields: { statement: "Routes need methods", root_cause: "Missing validation" },
    })
  ).id;
  ids.parser = (
    await human.add({
      kind: "work_item",
      title: "Fix the YAML parser",
      priority: 1,
      tags: ["parser"],
      tier: "canonical",
    })
  ).id;
  ids.docs = (
    await agent.add({
      kind: "work_item",
      title: "Document the CLI",
      status: "todo_soft",
      priority: 3,
      parent: ids.parser,
    })
  ).id;
  ids.review = (
    await agent.add({
      kind: "work_item",
      title: "Review the new layout",
      status: "needs_human_review",
      priority: 1,
    })
  ).id;
  ids.inv = (
    await human.add({
      kind: "invariant",
      title: "Frozen invariant",
      priority: 2,
      fields: { statement: "Frozen items stay frozen", root_cause: "None", progress_pct: 50 },
    })
  ).id;
  ids.secret = (
    await human.add({ kind: "work_item", title: "Private experiment", priority: 4, tier: "stealth" })
  ).id;
  ids.cjk = (
    await agent.add({ kind: "work_item", title: "支持中文标题 and 🟩 emoji", priority: 2, tags: ["i18n"] })
  ).id;
  ids.evil = (
    await agent.add({
      kind: "work_item",
      title: "Evil \u001b]0;pwned\u0007 title {bold}x{/bold}",
      priority: 4,
      description: "line\u001b[2Jwipe",
    })
  ).id;
  await agent.update(ids.parser, { add: { isbefore: [ids.docs] } });
  await agent.discuss(ids.review, "Layout is ready for review.");
  await agent.discuss(ids.cache, "Cache keyed by size+mtime.");
  await human.discuss(ids.cache, "Please measure it on the 10k tracker.");
  await agent.discuss(ids.cache, "Measured: 0.9 s cold.");
  await human.lock(ids.inv, ["status"]);
  await human.freeze(ids.inv);
  fs.writeFileSync(path.join(repo, ".agent", "tracker-workspace", "tui_preferences.json"), "{}\n");
  return { repo, ids };
}
