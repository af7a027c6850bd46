/**
 * Text and JSON shapes of items in CLI output (cli.md §1.7). All item text goes through
 * the store's terminal sanitiser in text mode; JSON escapes everything itself.
 */
import {
  type DiscussionEntry,
  type Item,
  type ItemSummary,
  pyStr,
  sanitizeText,
  type Tracker,
} from "../index.js";
import { pyJson, RawJson } from "./io.js";

/** Single-line terminal-safe text. */
export function t1(s: unknown): string {
  return sanitizeText(typeof s === "string" ? s : pyStr(s));
}

/** Multi-line terminal-safe text (newlines and tabs kept). */
export function tn(s: unknown): string {
  return sanitizeText(typeof s === "string" ? s : pyStr(s), { multiline: true, tabs: true });
}

/**
 * Short row of `list` / `ready` (cli.md §1.7):
 * `f"{n:>2}  {id}  {status:<12} P{priority}  {tier_label:<12} {title}"`.
 */
export function shortRow(
  n: number,
  item: Pick<Item, "id" | "status" | "priority" | "tier" | "title">,
): string {
  const tier = item.tier ? `[${item.tier}]` : "";
  return `${String(n).padStart(2)}  ${item.id}  ${t1(item.status).padEnd(12)} P${item.priority}  ${tier.padEnd(12)} ${t1(item.title)}`;
}

/**
 * Revision of `itemJson`'s output: part of the key under which the store keeps rendered item
 * JSON between runs (`Tracker.derivedTexts`). Bump it whenever `itemJson` (or `pyJson`)
 * would write an unchanged item differently.
 */
export const ITEM_JSON_REV = 1;

/**
 * The kept-text key and renderer of an item's JSON text at `level` (see `itemJsonTexts`):
 * level 1 for `list --json`, level 2 for `ready --json`.
 */
export function itemJsonText(level: number): [string, (item: Item) => string] {
  return [`item-json/${ITEM_JSON_REV}/indent2/level${level}`, (i) => pyJson(itemJson(i), 2, false, level)];
}

/**
 * The JSON texts of items (`itemJson`, indent 2) as they sit at `level` in a `pyJsonPieces`
 * output (1: elements of a top-level array, 2: of an array in a top-level object), kept by
 * the store between runs so a warm `list --json` / `ready --json` neither revives nor renders
 * unchanged items. Items that no longer compile are left out.
 */
export function itemJsonTexts(
  t: Tracker,
  refs: readonly Pick<ItemSummary, "id" | "tier">[],
  level: number,
): RawJson[] {
  const [key, render] = itemJsonText(level);
  return t
    .derivedTexts(refs, key, render)
    .filter((b) => b.length > 0)
    .map((b) => new RawJson(b));
}

/** Options of the full item view. */
export interface ShowOptions {
  includeDeleted?: boolean;
  includeHistory?: boolean;
}

function listText(xs: string[]): string {
  return `[${xs.map(t1).join(", ")}]`;
}

/**
 * `textconv` text of an item (cli.md §2, store.md §8.2, with `isbefore:` as the newest
 * reference): what `git diff` shows for an op file when `diff.tracker.textconv` runs htrac.
 * Every value terminal-safe.
 * @param ops the number of ops in the file
 */
export function textconvText(item: Item, ops: number): string {
  const list = (xs: readonly unknown[]) => `[${xs.map(t1).join(", ")}]`;
  const lines = [
    `${t1(item.id)}  ${t1(item.title)}`,
    `  status: ${t1(item.status)}  priority: P${item.priority}  tags: ${list(item.tags)}`,
    `  parent: ${t1(item.parent ?? "null")}  isbefore: ${list(item.isbefore)}  pr_ref: ${t1(item.pr_ref ?? "null")}`,
    ...Object.entries(item.fields).map(([k, v]) => `  fields.${t1(k)}: ${t1(v)}`),
    `  discussion: ${item.discussion.length} entries`,
    ...(item.locked_fields.length ? [`  locked: ${list([...item.locked_fields].sort())}`] : []),
    `  ops: ${ops}  updated: ${item.updated_at}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** Full item text of `show` (cli.md §1.7). */
export function showText(item: Item, opts: ShowOptions = {}): string {
  const lines: string[] = [];
  lines.push(`${item.id}  ${t1(item.title)}`);
  lines.push(`  status: ${t1(item.status)}  priority: P${item.priority}  tags: ${listText(item.tags)}`);
  lines.push(
    `  parent: ${item.parent === null ? "null" : t1(item.parent)}  isbefore: ${listText(item.isbefore)}  pr_ref: ${item.pr_ref === null ? "null" : t1(item.pr_ref)}`,
  );
  for (const k of Object.keys(item.fields)) lines.push(`  fields.${t1(k)}: ${tn(pyStr(item.fields[k]))}`);
  if (item.description !== "") lines.push(`  description: ${tn(item.description)}`);
  const visible = item.discussion.filter((e) => opts.includeDeleted || !e.is_tombstoned);
  const hidden = item.discussion.length - visible.length;
  if (visible.length === 0) lines.push("  discussion: (none)");
  else {
    lines.push(`  discussion: (${visible.length} entries)`);
    for (const e of visible) {
      const del = e.is_tombstoned ? "[DELETED] " : "";
      lines.push(
        `    ${del}[${t1(e.at)}] ${t1(e.actor)} (${t1(e.by)}): ${e.is_summary ? "[summary] " : ""}${tn(e.message)}`,
      );
      if (opts.includeHistory) for (const h of e.edit_history) lines.push(`      edit-history: ${tn(h)}`);
    }
  }
  if (hidden > 0) lines.push(`  (not shown: ${hidden} deleted messages)`);
  if (item.locked_fields.length) lines.push(`  locked: ${listText([...item.locked_fields].sort())}`);
  if (item.duplicate_of.length) lines.push(`  duplicate_of: ${listText(item.duplicate_of)}`);
  if (item.not_duplicate_of.length) lines.push(`  not_duplicate_of: ${listText(item.not_duplicate_of)}`);
  lines.push(
    `  tier: ${item.tier ?? "unknown"}  created: ${t1(item.created_at)}  updated: ${t1(item.updated_at)}`,
  );
  if (item.frozen) lines.push("  *** FROZEN ***");
  if (item.cross_tier_conflict) lines.push("  *** CROSS-TIER CONFLICT ***");
  return `${lines.join("\n")}\n`;
}

/** Discussion entry as JSON (cli.md §1.7). */
export function entryJson(e: DiscussionEntry, withHistory: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = {
    by: e.by,
    actor: e.actor,
    at: e.at,
    message: e.message,
    is_summary: e.is_summary,
    nonce: e.nonce,
    is_tombstoned: e.is_tombstoned,
  };
  if (withHistory) o.edit_history = e.edit_history;
  return o;
}

/** Item JSON object in the reference's key order (cli.md §1.7). */
export function itemJson(item: Item, opts: ShowOptions = {}): Record<string, unknown> {
  const visible = item.discussion.filter((e) => opts.includeDeleted || !e.is_tombstoned);
  const hidden = item.discussion.length - visible.length;
  const o: Record<string, unknown> = {
    id: item.id,
    kind: item.kind,
    title: item.title,
    status: item.status,
    priority: item.priority,
    parent: item.parent,
    tags: item.tags,
    isbefore: item.isbefore,
    duplicate_of: item.duplicate_of,
    not_duplicate_of: item.not_duplicate_of,
    pr_ref: item.pr_ref,
    description: item.description,
    fields: item.fields, // PyFloat and big integers are written as Python writes them
    locked_fields: [...item.locked_fields].sort(),
    discussion: visible.map((e) => entryJson(e, opts.includeHistory === true)),
    frozen: item.frozen,
    tier: item.tier,
    created_at: item.created_at,
    updated_at: item.updated_at,
    cross_tier_conflict: item.cross_tier_conflict,
  };
  if (hidden > 0) o.hidden_deleted = hidden;
  return o;
}
