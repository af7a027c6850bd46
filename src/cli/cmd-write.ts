/**
 * Write commands: add, update, delete, discuss, lock/unlock, freeze/unfreeze/repair-drift,
 * tier moves, edit mode and message ops, recover (cli.md §2.5–§2.7, §2.11–§2.15, §2.21).
 * Every write goes through the store; this module only parses arguments and prints.
 */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import {
  type DiscussionEntry,
  deprecatedTagWarnings,
  type Item,
  kindByName,
  shortId,
  TIERS,
  type Tier,
  type Tracker,
  touchTags,
  type UpdateInput,
  unreadHumanEntries,
  type YamlValue,
} from "../index.js";
import { intArg } from "./cmd-read.js";
import type { Ctx } from "./context.js";
import { entryJson, t1, tn } from "./format.js";
import { ExitCode } from "./io.js";

const collect = (v: string, prev: string[]) => [...prev, v];

/** Parse `key=value` pairs of --field / --add-field. */
function parseFields(c: Ctx, flag: string, pairs: string[]): [string, string][] {
  return pairs.map((p) => {
    const i = p.indexOf("=");
    if (i <= 0) c.fail(`${flag} must be key=value, got '${p}'`);
    return [p.slice(0, i), p.slice(i + 1)];
  });
}

/**
 * Type CLI field values by the kind's schema (integer, boolean) so the op holds the type the
 * schema declares; the reference stores every CLI value as a string. Other values stay text.
 */
function typeFieldValue(t: Tracker, kind: string, key: string, value: string): YamlValue {
  const k = kindByName(t.config, kind);
  const schema = k?.fields_schema.find(([f]) => f === key)?.[1];
  if (schema?.type === "integer" && /^-?\d+$/.test(value)) return Number.parseInt(value, 10);
  if (schema?.type === "boolean" && /^(true|false)$/i.test(value)) return value.toLowerCase() === "true";
  if (schema?.type === "list") {
    const parts = value
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    return parts;
  }
  return value;
}

/** Description from --description / --description-file / --description-stdin (at most one). */
async function readDescription(
  c: Ctx,
  opts: { description?: string; descriptionFile?: string; descriptionStdin?: boolean },
): Promise<string | undefined> {
  const given = [
    opts.description !== undefined,
    opts.descriptionFile !== undefined,
    opts.descriptionStdin === true,
  ].filter(Boolean).length;
  if (given > 1)
    c.fail("only one of --description, --description-file, --description-stdin may be specified");
  if (opts.descriptionFile !== undefined) {
    const p = path.resolve(c.io.cwd, opts.descriptionFile);
    if (!fs.existsSync(p)) c.fail(`file not found: ${opts.descriptionFile}`);
    return fs.readFileSync(p, "utf8").replace(/\n+$/, "");
  }
  if (opts.descriptionStdin) return (await c.io.readStdin()).replace(/\n+$/, "");
  return opts.description === "" ? undefined : opts.description;
}

function printWarnings(c: Ctx, warnings: string[]): void {
  for (const w of warnings) c.errLine(`warning: ${w}`);
}

function nowIso(t: Tracker): string {
  return `${new Date(t.nowMs()).toISOString().slice(0, 19)}Z`;
}

/** The "unread message from the human" block of the discuss gate (cli.md §2.7). */
function gateBlock(item: Item, typed: string): string {
  const d = item.discussion;
  const last = d[d.length - 1];
  const before = d.slice(0, -1);
  const sum = (e: DiscussionEntry) => (e.is_summary ? "(summary) " : "");
  const lines = [
    "",
    "Your addition to the Activity/Discussion for this item comes after an unread message from the human:",
    `  [${t1(last.at)}] ${t1(last.actor)}: ${sum(last)}${tn(last.message)}`,
  ];
  if (before.length) {
    lines.push(
      "",
      "For context, here is the full Activity/Discussion transcript preceding that latest unread message:",
    );
    for (const e of before)
      lines.push(`  [${t1(e.at)}] ${t1(e.actor)} (${t1(e.by)}): ${sum(e)}${tn(e.message)}`);
  }
  lines.push(
    "",
    "To proceed, re-run with --ack-thread to confirm you have read the thread:",
    `  htrac discuss ${typed} "<your reply>" --ack-thread`,
  );
  return `${lines.join("\n")}\n`;
}

/** Change phrases of `update` (cli.md §2.6). */
function changeLines(t: Tracker, before: Item, after: Item, descriptionChanged: boolean): [string, string][] {
  const out: [string, string][] = [];
  const title = (id: string) => {
    try {
      return t.get(id).title;
    } catch {
      return "";
    }
  };
  if (before.status !== after.status) out.push(["status", `${before.status} → ${after.status}`]);
  if (before.priority !== after.priority) out.push(["priority", `P${before.priority} → P${after.priority}`]);
  if (before.title !== after.title) out.push(["title", `'${before.title}' → '${after.title}'`]);
  if (before.parent !== after.parent) {
    out.push([
      "parent",
      after.parent ? `now child of ${shortId(after.parent)} (${title(after.parent)})` : "removed",
    ]);
  }
  if (before.pr_ref !== after.pr_ref) out.push(["pr_ref", after.pr_ref ?? "removed"]);
  const added = after.tags.filter((x) => !before.tags.includes(x));
  const removed = before.tags.filter((x) => !after.tags.includes(x));
  if (added.length) out.push(["tags", added.map((x) => `+${x}`).join(", ")]);
  if (removed.length) out.push(["tags", removed.map((x) => `-${x}`).join(", ")]);
  for (const id of after.isbefore.filter((x) => !before.isbefore.includes(x))) {
    out.push(["isbefore", `${shortId(after.id)} now blocks ${shortId(id)} (${title(id)})`]);
  }
  for (const id of before.isbefore.filter((x) => !after.isbefore.includes(x))) {
    out.push(["isbefore", `${shortId(after.id)} no longer blocks ${shortId(id)} (${title(id)})`]);
  }
  for (const f of ["duplicate_of", "not_duplicate_of"] as const) {
    for (const id of after[f].filter((x) => !before[f].includes(x)))
      out.push([f, `+${shortId(id)} (${title(id)})`]);
    for (const id of before[f].filter((x) => !after[f].includes(x)))
      out.push([f, `removed ${shortId(id)} (${title(id)})`]);
  }
  const keys = new Set([...Object.keys(before.fields), ...Object.keys(after.fields)]);
  for (const k of keys) {
    const a = before.fields[k];
    const b = after.fields[k];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    out.push([`fields.${k}`, b === undefined ? "removed" : typeof b === "string" ? b : JSON.stringify(b)]);
  }
  if (descriptionChanged) out.push(["description", "updated"]);
  return out;
}

function okOr(c: Ctx, word: string, extra: Record<string, unknown> = {}): void {
  if (c.g.json) c.json({ ok: true, ...extra });
  else c.line(word);
}

export function registerWrite(program: Command, ctx: () => Ctx): void {
  program
    .command("add")
    .description(
      "Create an item; prints its ID. Field values are typed by the kind's schema (integer, boolean, list)",
    )
    .requiredOption("--kind <kind>", "kind of item (see config)")
    .requiredOption("--title <title>", "title")
    .option("--status <status>", "status (default: the kind's first blocking status)")
    .option("--priority <n>", "0 (critical) … 4 (backlog), default 2", intArg("--priority"))
    .option("--parent <id>", "parent item (ID, prefix or :N)")
    .option("--tag <tag>", "tag (repeatable)", collect, [] as string[])
    .option("--isbefore <id>", "this item must be finished before <id> (repeatable)", collect, [] as string[])
    .option("--before <id>", "alias of --isbefore (pre-0.4 name)", collect, [] as string[])
    .option("--description <text>", "description")
    .option("--description-file <file>", "read the description from a file")
    .option("--description-stdin", "read the description from stdin")
    .option("--pr-ref <ref>", "pull request reference")
    .option("--field <key=value>", "custom field (repeatable)", collect, [] as string[])
    .option("--force-field-key", "allow a custom key spelled like a declared field")
    .option("--tier <tier>", "canonical, workspace (default) or stealth", "workspace")
    .action(async (opts) => {
      const c = ctx();
      if (!TIERS.includes(opts.tier as Tier)) c.fail(`argument --tier: invalid choice: '${opts.tier}'`, 2);
      const t = c.tracker();
      const description = await readDescription(c, opts);
      const fields: Record<string, YamlValue> = {};
      for (const [k, v] of parseFields(c, "--field", opts.field))
        fields[k] = typeFieldValue(t, opts.kind, k, v);
      const tags: string[] = opts.tag;
      printWarnings(c, deprecatedTagWarnings(t, tags));
      // `add` spells its reference flags --parent / --isbefore (no --add- prefix).
      t.refLabel = (field) => (field === "parent" ? "--parent" : `--${field.replace(/_/g, "-")}`);
      const res = await t.add({
        kind: opts.kind,
        title: opts.title,
        status: opts.status === "" ? undefined : opts.status,
        priority: opts.priority,
        parent: opts.parent === "" ? undefined : opts.parent,
        tags,
        isbefore: [...opts.isbefore, ...opts.before],
        description,
        pr_ref: opts.prRef === "" ? undefined : opts.prRef,
        fields,
        tier: opts.tier as Tier,
        forceFieldKey: opts.forceFieldKey,
      });
      touchTags(t, tags, nowIso(t));
      printWarnings(c, res.warnings);
      if (c.g.json) c.json({ id: res.id });
      else c.line(res.id);
    });

  program
    .command("update")
    .description(
      "Update an item with one op. --field and --add-field both merge per key (the reference's help says --field replaces all fields; it never did). Reports description changes and the resolved short ID. Refuses to make an item its own parent, blocker or duplicate (the reference writes that); warns on stderr when a new link closes an isbefore cycle.",
    )
    .argument("<id>", "item ID, prefix or :N")
    .option("--status <status>", "new status")
    .option("--priority <n>", "new priority 0-4", intArg("--priority"))
    .option("--title <title>", "new title")
    .option("--parent <id>", "new parent")
    .option("--pr-ref <ref>", "pull request reference")
    .option("--description <text>", "new description")
    .option("--description-file <file>", "read the new description from a file")
    .option("--description-stdin", "read the new description from stdin")
    .option("--add-tag <tag>", "add a tag (repeatable)", collect, [] as string[])
    .option("--remove-tag <tag>", "remove a tag (repeatable)", collect, [] as string[])
    .option("--add-isbefore <id>", "this item blocks <id> (repeatable)", collect, [] as string[])
    .option("--remove-isbefore <id>", "(repeatable)", collect, [] as string[])
    .option("--add-before <id>", "alias of --add-isbefore", collect, [] as string[])
    .option("--remove-before <id>", "alias of --remove-isbefore", collect, [] as string[])
    .option("--add-duplicate-of <id>", "(repeatable)", collect, [] as string[])
    .option("--remove-duplicate-of <id>", "(repeatable)", collect, [] as string[])
    .option("--add-not-duplicate-of <id>", "(repeatable)", collect, [] as string[])
    .option("--remove-not-duplicate-of <id>", "(repeatable)", collect, [] as string[])
    .option(
      "--add-blocked-by <id>",
      "<id> blocks this item (writes isbefore on <id>; repeatable)",
      collect,
      [] as string[],
    )
    .option("--remove-blocked-by <id>", "(repeatable)", collect, [] as string[])
    .option("--field <key=value>", "set a custom field (repeatable; merges per key)", collect, [] as string[])
    .option("--add-field <key=value>", "set a custom field (repeatable)", collect, [] as string[])
    .option("--remove-field <key>", "delete a custom field (repeatable)", collect, [] as string[])
    .option("--force-field-key", "allow a custom key spelled like a declared field")
    .option("--note <text>", "append a discussion entry after the update")
    .action(async (ref: string, opts) => {
      const c = ctx();
      const t = c.tracker();
      if (opts.field.length && (opts.addField.length || opts.removeField.length)) {
        c.fail("--field and --add-field/--remove-field are mutually exclusive");
      }
      const description = await readDescription(c, opts);
      const { id, tier } = t.resolveWithTier(ref);
      const current = t.get(id);
      const set: Record<string, YamlValue> = {};
      if (opts.status) set.status = opts.status;
      if (opts.priority !== undefined) set.priority = opts.priority;
      if (opts.title) set.title = opts.title;
      if (opts.parent) set.parent = opts.parent;
      if (opts.prRef) set.pr_ref = opts.prRef;
      if (description !== undefined) set.description = description;
      const fieldPairs = [
        ...parseFields(c, "--field", opts.field),
        ...parseFields(c, "--add-field", opts.addField),
      ];
      if (fieldPairs.length || opts.removeField.length) {
        const f: Record<string, YamlValue> = {};
        for (const [k, v] of fieldPairs) f[k] = typeFieldValue(t, current.kind, k, v);
        for (const k of opts.removeField) f[k] = null;
        set.fields = f;
      }
      const input: UpdateInput = { set, add: {}, remove: {}, forceFieldKey: opts.forceFieldKey };
      if (opts.addTag.length) input.add!.tags = opts.addTag;
      if (opts.removeTag.length) input.remove!.tags = opts.removeTag;
      const addIsb = [...opts.addIsbefore, ...opts.addBefore];
      const remIsb = [...opts.removeIsbefore, ...opts.removeBefore];
      if (addIsb.length) input.add!.isbefore = addIsb;
      if (remIsb.length) input.remove!.isbefore = remIsb;
      if (opts.addDuplicateOf.length) input.add!.duplicate_of = opts.addDuplicateOf;
      if (opts.removeDuplicateOf.length) input.remove!.duplicate_of = opts.removeDuplicateOf;
      if (opts.addNotDuplicateOf.length) input.add!.not_duplicate_of = opts.addNotDuplicateOf;
      if (opts.removeNotDuplicateOf.length) input.remove!.not_duplicate_of = opts.removeNotDuplicateOf;
      // Resolve blocked-by references up front: abort before any write.
      const blockedByAdd = (opts.addBlockedBy as string[]).map((r) => ({ r, ...t.resolveWithTier(r) }));
      const blockedByRemove = (opts.removeBlockedBy as string[]).map((r) => ({ r, ...t.resolveWithTier(r) }));
      for (const b of blockedByAdd) {
        if (b.id === id) c.fail(`--add-blocked-by '${b.r}' is the item itself: an item cannot block itself`);
        if (b.tier !== "stealth" && tier === "stealth") {
          c.fail(
            `--add-blocked-by '${b.r}' would make ${shortId(b.id)} (tier ${b.tier}) block stealth-tier ${shortId(id)}; CI cannot resolve the cross-tier reference.`,
          );
        }
      }
      printWarnings(c, deprecatedTagWarnings(t, (input.add!.tags as string[] | undefined) ?? []));
      const res = await t.update(id, input);
      touchTags(
        t,
        [
          ...((input.add!.tags as string[]) ?? []),
          ...(Array.isArray(set.tags) ? (set.tags as string[]) : []),
        ],
        nowIso(t),
      );
      if (opts.note !== undefined) {
        const fresh = t.get(id);
        if (unreadHumanEntries(fresh).length > 0) {
          const block = gateBlock(fresh, ref).replace(/\nTo proceed[\s\S]*$/, "\n");
          if (c.g.json) c.io.stderr(block);
          else c.out(block);
        }
        const d = await t.discuss(id, opts.note);
        printWarnings(c, d.warnings);
      }
      const after = t.get(id);
      const changes = changeLines(
        t,
        current,
        after,
        description !== undefined && current.description !== after.description,
      );
      for (const b of blockedByAdd) {
        await t.update(b.id, { add: { isbefore: [id] } });
        changes.push(["blocked-by", `${shortId(b.id)} (${t.get(b.id).title}) now blocks ${shortId(id)}`]);
      }
      for (const b of blockedByRemove) {
        await t.update(b.id, { remove: { isbefore: [id] } });
        changes.push([
          "blocked-by",
          `${shortId(b.id)} (${t.get(b.id).title}) no longer blocks ${shortId(id)}`,
        ]);
      }
      void res;
      // Links that close an isbefore cycle are written (as the reference; validate reports
      // them): say so on stderr, with how to undo it.
      const cycles: string[][] = [];
      for (const x of after.isbefore.filter((x) => !current.isbefore.includes(x))) {
        const cyc = t.isbeforeCycle(id, x);
        if (cyc) cycles.push(cyc);
      }
      for (const b of blockedByAdd) {
        const cyc = t.isbeforeCycle(b.id, id);
        if (cyc) cycles.push(cyc);
      }
      printWarnings(
        c,
        cycles.map(
          (cyc) =>
            `cycle in isbefore links: ${cyc.map(shortId).join(" -> ")} (validate reports it; --remove-isbefore or --remove-blocked-by undoes the link)`,
        ),
      );
      if (c.g.json) {
        const out: Record<string, unknown> = { ok: true };
        if (changes.length) out.changes = changes.map(([field, detail]) => ({ field, detail }));
        c.json(out);
      } else if (changes.length === 0) c.line("updated");
      else c.line(`updated ${shortId(id)}: ${changes.map(([f, d]) => `${f}: ${t1(d)}`).join("; ")}`);
    });

  program
    .command("delete")
    .description("Set status 'deleted' (human only) and clear every isbefore reference to the item")
    .argument("<id>", "item ID, prefix or :N")
    .action(async (ref: string) => {
      const c = ctx();
      const t = c.tracker();
      const res = await t.delete(ref);
      t.saveLastList(t.listSummaries().map((i) => i.id));
      if (c.g.json) c.json({ ok: true, inbound_isbefore_cleared: res.inboundCleared });
      else {
        c.line("deleted");
        if (res.inboundCleared > 0) {
          c.line(
            `Cleared ${res.inboundCleared} inbound isbefore reference${res.inboundCleared === 1 ? "" : "s"}.`,
          );
        }
      }
    });

  program
    .command("discuss")
    .description(
      "View the thread (no message), append a message, --summarize it or --clear it (human only). Agents replying after an unread human message must pass --ack-thread; humans are not gated (the reference gated them too). The rate limit exits 1 (the reference exits 2).",
    )
    .argument("<id>", "item ID, prefix or :N")
    .argument("[message]", "message to append")
    .option("--clear", "empty the discussion (human only)")
    .option("--summarize <text>", "replace the discussion by one summary entry")
    .option("--ack-thread", "confirm you have read the thread before replying")
    .action(
      async (
        ref: string,
        message: string | undefined,
        opts: { clear?: boolean; summarize?: string; ackThread?: boolean },
      ) => {
        const c = ctx();
        const t = c.tracker();
        if (opts.clear) {
          await t.discussClear(ref);
          okOr(c, "cleared");
          return;
        }
        if (opts.summarize !== undefined) {
          const r = await t.discussSummarize(ref, opts.summarize);
          printWarnings(c, r.warnings);
          okOr(c, "summarized");
          return;
        }
        const item = t.get(ref);
        if (message === undefined || message === "") {
          if (c.g.json) {
            c.json(
              item.discussion.map((e) => entryJson(e, true)),
              2,
            );
            return;
          }
          c.line(`${item.id} — ${t1(item.title)}`);
          if (item.discussion.length === 0) {
            c.line("Discussion: (no entries)");
            return;
          }
          c.line(`Discussion (${item.discussion.length} entries):`);
          item.discussion.forEach((e, i) => {
            c.line();
            c.line(
              `  [${i + 1}] ${t1(e.at)}  ${t1(e.by)}  ${t1(e.actor)}${e.is_summary ? "  (summary)" : ""}${e.is_tombstoned ? "  [DELETED]" : ""}`,
            );
            for (const l of tn(e.message).split("\n")) c.line(`      ${l}`);
          });
          return;
        }
        const agent = t.actor().by === "agent";
        if (agent && unreadHumanEntries(item).length > 0) {
          const block = gateBlock(item, ref);
          if (c.g.json) c.io.stderr(block);
          else c.out(block);
          if (!opts.ackThread) throw new ExitCode(1);
        }
        const r = await t.discuss(item.id, message);
        printWarnings(c, r.warnings);
        okOr(c, "discussed");
      },
    );

  for (const [name, fn, word, help] of [
    [
      "lock",
      "lock",
      "locked",
      "Lock fields against agent writes (human only): title, status, priority, parent, tags, isbefore, duplicate_of, not_duplicate_of, pr_ref, description, fields, discussion, fields.<key>",
    ],
    ["unlock", "unlock", "unlocked", "Unlock fields (human only)"],
  ] as const) {
    program
      .command(name)
      .description(help)
      .argument("<id>", "item ID, prefix or :N")
      .argument("<fields...>", "field names")
      .action(async (ref: string, fields: string[]) => {
        const c = ctx();
        await c.tracker()[fn](ref, fields);
        okOr(c, word);
      });
  }

  // One-argument state changes: command, Tracker method, past tense for the output, help.
  for (const [name, method, word, help] of [
    ["freeze", "freeze", "frozen", "Freeze an item: agents can no longer write to it (human only)"],
    ["unfreeze", "unfreeze", "unfrozen", "Unfreeze an item (human only)"],
    [
      "repair-drift",
      "repairDrift",
      "drift repaired",
      "Restore a frozen item's op file from its frozen copy (human only)",
    ],
    ["promote", "promote", "promoted", "Move an item from workspace to canonical"],
    ["demote", "demote", "demoted", "Move an item from canonical to workspace"],
    ["stealth", "stealth", "stealthed", "Move an item from workspace to the local stealth tier (human only)"],
    ["unstealth", "unstealth", "unstealthed", "Move an item from stealth back to workspace (human only)"],
  ] as const) {
    program
      .command(name)
      .description(help)
      .argument("<id>", "item ID, prefix or :N")
      .action(async (ref: string) => {
        const c = ctx();
        await c.tracker()[method](ref);
        okOr(c, word);
      });
  }

  program
    .command("reconcile-reset")
    .description(
      "Merge every tier's copies of an item into canonical, removing the others (human only; full ID). Unlike the reference: atomic, under the copies' locks, ops keep their bytes",
    )
    .argument("<id>", "the FULL item ID (no prefix or :N)")
    .action(async (id: string) => {
      const c = ctx();
      const r = await c.tracker().reconcileReset(id);
      if (c.g.json)
        c.json({ id: r.id, tier: "canonical", from_tier: r.from.join(","), ops: r.ops, dropped: r.dropped });
      else
        c.line(
          `reconciled ${r.id} into canonical from ${r.from.join(", ")} (${r.ops} ops, ${r.dropped} duplicate${r.dropped === 1 ? "" : "s"} dropped)`,
        );
    });

  const em = program
    .command("edit-mode")
    .description("Per-message edit window: on / off (human only), status");
  em.command("on")
    .description("Open the edit window (human only)")
    .option("--ttl <duration>", "window length: 600, 600s, 30m, 1h (max 1h)", "1800")
    .option("--cap-max <n>", "max delete/edit ops in the window (1-500)", intArg("--cap-max"), 500)
    .action(async (opts: { ttl: string; capMax: number }) => {
      const c = ctx();
      const m = /^(\d+)([smh]?)$/.exec(opts.ttl.trim());
      if (!m) c.fail(`invalid --ttl '${opts.ttl}' (use 600, 600s, 30m or 1h)`);
      const ttl = Number(m![1]) * (m![2] === "m" ? 60 : m![2] === "h" ? 3600 : 1);
      const r = await c.tracker().editModeOn({ ttlSeconds: ttl, capMax: opts.capMax });
      if (c.g.json) c.json({ ok: true, ttl_seconds: r.ttl_seconds, cap_max: r.cap_max });
      else c.line(`edit-mode ON  (ttl=${r.ttl_seconds}s, cap=${r.cap_max})`);
    });
  em.command("off")
    .description("Close the edit window (human only)")
    .action(async () => {
      const c = ctx();
      await c.tracker().editModeOff();
      okOr(c, "edit-mode OFF");
    });
  em.command("status")
    .description("Show whether the edit window is open")
    .action(() => {
      const c = ctx();
      const s = c.tracker().editModeStatus();
      if (c.g.json)
        c.json({
          on: s.on,
          remaining_s: s.remaining_s,
          ttl_seconds: s.ttl_seconds,
          cap_max: s.cap_max,
          ops_used: s.ops_used,
        });
      else if (s.on) c.line(`edit-mode ON  remaining=${s.remaining_s}s  ops_used=${s.ops_used}/${s.cap_max}`);
      else c.line("edit-mode OFF");
    });

  for (const [name, word, verb] of [
    ["delete-msg", "deleted message", "Delete (tombstone)"],
    ["undelete-msg", "undeleted message", "Undelete"],
    ["edit-msg-text", "edited message", "(alias edit-msg) Replace the text of"],
  ] as const) {
    const cmd = program
      .command(name)
      .description(`${verb} one discussion message by its nonce (inside a human-opened edit window)`)
      .argument("<id>", "item ID, prefix or :N")
      .argument("<nonce>", "4-hex nonce of the message (see show --json)")
      .requiredOption("--reason <text>", "why (1-100 characters)");
    if (name === "edit-msg-text")
      cmd.alias("edit-msg").requiredOption("--new-text <text>", "replacement text");
    cmd.action(async (ref: string, nonce: string, opts: { reason: string; newText?: string }) => {
      const c = ctx();
      const t = c.tracker();
      if (name === "delete-msg") await t.deleteMsg(ref, nonce, opts.reason);
      else if (name === "undelete-msg") await t.undeleteMsg(ref, nonce, opts.reason);
      else await t.editMsgText(ref, nonce, opts.newText ?? "", opts.reason);
      okOr(c, `${word} ${nonce} on ${ref}`);
    });
  }

  program
    .command("recover")
    .description("Restore ops that git dropped (reset --hard, checkout) from the ops journal")
    .action(async () => {
      const c = ctx();
      const res = await c.tracker().recover();
      const ops = res.restored.reduce((n, f) => n + f.added, 0);
      if (c.g.json)
        c.json({ restored_files: res.restored.map((f) => f.file), restored_ops: ops, skipped: res.skipped });
      else {
        if (res.restored.length === 0) c.errLine("recover: nothing to restore");
        for (const f of res.restored) {
          c.errLine(
            `recover: ${f.file}: restored ${f.added} op(s)${f.recreated ? " (file recreated)" : ""}${f.repairedTornTail ? " (torn last op repaired)" : ""}`,
          );
        }
      }
      for (const s of res.skipped) c.errLine(`recover: skipped ${s.file}: ${s.reason}`);
    });
}
