/**
 * Read commands: ready, check-messages, list, show, deps, log, count-todos, hash-todos,
 * guidance, clusters, priority-trend, validate (cli.md §2.1–§2.4, §2.8, §2.10, §2.19, §2.20, §8,
 * §10).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import {
  clusterItems,
  compileOpFile,
  CorruptFileError,
  idOfOpFileName,
  type Item,
  type ItemSummary,
  priorityTrend,
  PyFloat,
  type ListFilter,
  shortId,
  TIERS,
  type Tier,
  Tracker,
  unreadHumanEntries,
  validateFiles,
  validateTracker,
} from "../index.js";
import type { Ctx } from "./context.js";
import { itemJson, itemJsonTexts, shortRow, showText, t1, textconvText, tn } from "./format.js";
import { ExitCode } from "./io.js";
import { trendSvg } from "./trend-svg.js";

/**
 * An integer option's parser (argparse's `type=int` message, exit 2 as a usage error).
 * @param min the smallest value allowed, if any (the reference takes `--limit -1` as "all but
 *   the last", a Python slice: refused here)
 * @throws Error `argument <name>: invalid int value: '<v>'` or `argument <name>: must be at
 *   least <min>, got <n>`
 */
export function intArg(name: string, min?: number) {
  return (v: string): number => {
    if (!/^-?\d+$/.test(v)) throw new Error(`argument ${name}: invalid int value: '${v}'`);
    const n = Number.parseInt(v, 10);
    if (min !== undefined && n < min) throw new Error(`argument ${name}: must be at least ${min}, got ${n}`);
    return n;
  };
}

/** `--since` / `--until`: a real `YYYY-MM-DD` day (cli.md §2.20's argparse message). */
function dayArg(name: string) {
  return (v: string): string => {
    const ms = /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : Number.NaN;
    const ok = !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(v);
    if (!ok) throw new Error(`argument ${name}: expected YYYY-MM-DD, got '${v}'`);
    return v;
  };
}

function byPriorityId(a: Pick<Item, "priority" | "id">, b: Pick<Item, "priority" | "id">): number {
  return a.priority - b.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Items with unread human messages in the stop-hook scope tiers (cli.md §9), as summaries
 * (`unread` is the count; items are not revived), by (priority, id).
 */
export function unreadSummaries(t: Tracker): ItemSummary[] {
  return t
    .summaries(t.scopeTiers())
    .filter((s) => s.unread > 0)
    .sort(byPriorityId);
}

/** `unreadSummaries` as items (check-messages shows their threads). */
export function unreadItems(t: Tracker): Item[] {
  return unreadSummaries(t).flatMap((s) => t.tiers[s.tier!].item(s.id) ?? []);
}

/** Blocking items in scope (count-todos, hash-todos, guidance), as summaries. */
function blockingInScope(t: Tracker): ItemSummary[] {
  const blocking = new Set(t.config.blocking_statuses);
  return t.summaries(t.scopeTiers()).filter((i) => blocking.has(i.status));
}

/**
 * Items of the stop-hook scope tiers, one per ID (the preferred tier's copy, store.md §3.7),
 * as list items (`LazyItem`s while their text is in the warm-start cache: read it through
 * `Tracker.peekItems` for a pass over every item's text).
 */
export function itemsInScope(t: Tracker): Item[] {
  const seen = new Set<string>();
  return t.items(t.scopeTiers(), { lazy: true }).filter((it) => !seen.has(it.id) && (seen.add(it.id), true));
}

export function registerRead(program: Command, ctx: () => Ctx): void {
  program
    .command("ready")
    .description("Actionable, unblocked items across all tiers (stores :N aliases)")
    .option(
      "--limit <n>",
      "show at most N items (0 = all; a negative N, which the reference takes as a slice, is refused)",
      intArg("--limit", 0),
      0,
    )
    .action((opts: { limit: number }) => {
      const c = ctx();
      const t = c.tracker();
      const ready = t.readySummaries();
      t.saveLastList(ready.map((i) => i.id));
      const shown = opts.limit > 0 ? ready.slice(0, opts.limit) : ready;
      const unread = unreadSummaries(t);
      if (c.g.json) {
        const out: Record<string, unknown> = { ready: itemJsonTexts(t, shown, 2) };
        if (unread.length) {
          out.items_with_unread_messages = unread.map((i) => ({
            id: i.id,
            title: i.title,
            status: i.status,
            priority: i.priority,
            unread_count: i.unread,
          }));
        }
        c.json(out, 2);
        return;
      }
      if (shown.length === 0) c.line("(no ready items)");
      for (const [n, i] of shown.entries()) c.line(shortRow(n + 1, i));
      if (unread.length) {
        c.line();
        c.line(`--- ${unread.length} item(s) with unread human message(s) ---`);
        for (const i of unread) c.line(`  ${i.id}  [${t1(i.status)}]  ${t1(i.title)}  (${i.unread} unread)`);
        c.line();
        c.line("  View:  htrac show <ID>");
        c.line('  Reply: htrac discuss <ID> "your reply"');
      }
    });

  program
    .command("check-messages")
    .description(
      "Items whose discussion ends with unread human messages (scope tiers). Fixes two reference quirks: the tier is reported, and prior discussion excludes unread messages even with --autolimit.",
    )
    .option("--autolimit <n>", "keep only the last N unread messages per item", intArg("--autolimit", 0), 0)
    .action((opts: { autolimit: number }) => {
      const c = ctx();
      const t = c.tracker();
      const items = unreadItems(t);
      const rows = items.map((i) => {
        const unreadAll = unreadHumanEntries(i);
        const unread = opts.autolimit > 0 ? unreadAll.slice(-opts.autolimit) : unreadAll;
        const priorAll = i.discussion.slice(0, i.discussion.length - unreadAll.length);
        return { i, unread, prior: priorAll.slice(-3) };
      });
      if (c.g.json) {
        c.json(
          rows.map(({ i, unread, prior }) => ({
            id: i.id,
            title: i.title,
            status: i.status,
            priority: i.priority,
            tier: i.tier,
            description: i.description,
            pr_ref: i.pr_ref,
            unread_messages: unread.map((e) => ({
              by: e.by,
              actor: e.actor,
              at: e.at,
              message: e.message,
              is_summary: e.is_summary,
            })),
            prior_discussion: prior.map((e) => ({ by: e.by, actor: e.actor, at: e.at, message: e.message })),
          })),
          2,
        );
        return;
      }
      if (rows.length === 0) {
        c.line("(no unread human messages)");
        return;
      }
      const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}...` : s);
      rows.forEach(({ i, unread, prior }, k) => {
        if (k > 0) c.line();
        c.line(`${i.id}  P${i.priority}  ${t1(i.status)}  [${i.tier ?? "unknown"}]  ${t1(i.title)}`);
        if (i.description) c.line(`  description: ${tn(cut(i.description, 500))}`);
        if (i.pr_ref) c.line(`  pr_ref: ${t1(i.pr_ref)}`);
        if (prior.length) {
          c.line("  prior discussion:");
          for (const e of prior)
            c.line(`    [${t1(e.at)}] ${t1(e.actor)} (${t1(e.by)}): ${tn(cut(e.message, 200))}`);
        }
        for (const e of unread) c.line(`  [${t1(e.at)}] ${t1(e.actor)} (${t1(e.by)}): ${tn(e.message)}`);
      });
    });

  program
    .command("list")
    .description("Items across tiers, filtered and sorted by priority then creation (stores :N aliases)")
    .option(
      "--status <status>",
      "filter by status (repeatable: OR)",
      (v: string, p: string[]) => [...p, v],
      [] as string[],
    )
    .option(
      "--open",
      "add the open statuses: todo_hard, todo_soft, violated, pending_validation, needs_human_review",
    )
    .option("--kind <kind>", "filter by kind (its name, or its ID prefix: WI, INV, …)")
    .option("--tag <tag>", "filter by tag")
    .option("--tier <tier>", "canonical, workspace or stealth")
    .option(
      "--limit <n>",
      "show at most N items (0 = all; a negative N, which the reference takes as a slice, is refused)",
      intArg("--limit", 0),
      0,
    )
    .action(
      (opts: {
        status: string[];
        open?: boolean;
        kind?: string;
        tag?: string;
        tier?: string;
        limit: number;
      }) => {
        const c = ctx();
        if (opts.tier && !TIERS.includes(opts.tier as Tier)) {
          c.fail(
            `argument --tier: invalid choice: '${opts.tier}' (choose from 'canonical', 'workspace', 'stealth')`,
            2,
          );
        }
        const t = c.tracker();
        const statuses = [...opts.status];
        if (opts.open)
          statuses.push("todo_hard", "todo_soft", "violated", "pending_validation", "needs_human_review");
        const filter: ListFilter = {};
        if (statuses.length) filter.status = statuses;
        // A kind's ID prefix names it too (`--kind WI`, as the TUI's `kind:WI`).
        const kinds = t.config.kinds;
        const kind = opts.kind
          ? (kinds.find((k) => k.name === opts.kind) ?? kinds.find((k) => k.prefix === opts.kind))?.name
          : undefined;
        if (opts.kind) filter.kind = kind ?? opts.kind;
        if (opts.tag) filter.tag = opts.tag;
        if (opts.tier) filter.tier = opts.tier as Tier;
        const items = t.listSummaries(filter);
        if (items.length === 0) {
          // Nothing matched: say when a value is not in the config's vocabulary (a typo
          // otherwise reads as an empty tracker). Output and exit code stay as they are.
          if (opts.kind && kind === undefined)
            c.errLine(
              `warning: unknown kind '${t1(opts.kind)}' (kinds: ${kinds.map((k) => `${k.name} (${k.prefix})`).join(", ")})`,
            );
          for (const st of opts.status.filter((x) => !t.config.statuses.includes(x)))
            c.errLine(`warning: unknown status '${t1(st)}' (statuses: ${t.config.statuses.join(", ")})`);
        }
        t.saveLastList(items.map((i) => i.id));
        const shown = opts.limit > 0 ? items.slice(0, opts.limit) : items;
        if (c.g.json) {
          c.json(itemJsonTexts(t, shown, 1), 2);
          return;
        }
        if (shown.length === 0) c.line("(no items)");
        for (const [n, i] of shown.entries()) c.line(shortRow(n + 1, i));
      },
    );

  program
    .command("show")
    .description("Show one item (ID, unique prefix or :N alias)")
    .argument("<id>", "item ID, prefix or :N")
    .option("--include-deleted", "include tombstoned discussion messages")
    .option("--include-history", "include edit history of edited messages")
    .action((id: string, opts: { includeDeleted?: boolean; includeHistory?: boolean }) => {
      const c = ctx();
      const item = c.tracker().get(id);
      const o = { includeDeleted: opts.includeDeleted, includeHistory: opts.includeHistory };
      if (c.g.json) c.json(itemJson(item, o), 2);
      else c.out(showText(item, o));
    });

  program
    .command("deps")
    .description(
      "Parent, children, what the item blocks and what blocks it; --depth N renders transitive chains as a tree",
    )
    .argument("<id>", "item ID, prefix or :N")
    .option("--depth <n>", "levels of blocks / blocked-by to follow (default 1)", intArg("--depth", 0), 1)
    .action((ref: string, opts: { depth: number }) => {
      const c = ctx();
      const t = c.tracker();
      const item = t.get(ref);
      // (summaries: every field shown here is in them, so no item but this one is revived)
      const all = t.listSummaries();
      t.saveLastList(all.map((i) => i.id));
      type Node = Pick<ItemSummary, "id" | "title" | "status" | "parent" | "isbefore">;
      const byId = new Map<string, Node>();
      for (const i of all) if (!byId.has(i.id)) byId.set(i.id, i);
      const parent = item.parent ? (byId.get(item.parent) ?? null) : null;
      const children = all.filter((i) => i.parent === item.id);
      const blocksOf = (x: Node) => x.isbefore.map((id) => byId.get(id)).filter((v): v is Node => !!v);
      const blockedByOf = (x: Node): Node[] => all.filter((i) => i.isbefore.includes(x.id));
      if (c.g.json) {
        const brief = (i: Node) => ({ id: i.id, title: i.title, status: i.status });
        const out: Record<string, unknown> = { id: item.id, title: item.title, status: item.status };
        if (parent) out.parent = { id: parent.id, title: parent.title };
        else if (item.parent) out.parent = { id: item.parent, title: null };
        if (children.length) out.children = children.map(brief);
        const blocks = blocksOf(item);
        if (blocks.length) out.blocks = blocks.map(brief);
        const blockedBy = blockedByOf(item);
        if (blockedBy.length) out.blocked_by = blockedBy.map(brief);
        c.json(out);
        return;
      }
      const label = (i: Node) => `${shortId(i.id)}  ${t1(i.title)}  [${t1(i.status)}]`;
      c.line(label(item));
      if (item.parent)
        c.line(`  parent: ${t1(shortId(item.parent))}${parent ? ` (${t1(parent.title)})` : ""}`);
      if (children.length) {
        c.line(`  children (${children.length}):`);
        for (const ch of children) c.line(`    ${label(ch)}`);
      }
      const tree = (start: Node, next: (x: Node) => Node[], arrow: string, title: string) => {
        const first = next(start);
        if (first.length === 0) return;
        c.line(`  ${title} (${first.length}):`);
        const seen = new Set([start.id]);
        const walk = (x: Node, depth: number) => {
          for (const y of next(x)) {
            const cyc = seen.has(y.id);
            c.line(`${"  ".repeat(depth + 1)}${arrow} ${label(y)}${cyc ? "  (cycle)" : ""}`);
            if (!cyc && depth < Math.max(1, opts.depth)) {
              seen.add(y.id);
              walk(y, depth + 1);
              seen.delete(y.id);
            }
          }
        };
        walk(start, 1);
      };
      tree(item, blocksOf, "→", "blocks");
      tree(item, blockedByOf, "←", "blocked by");
    });

  program
    .command("textconv")
    .description(
      "Git diff driver: a readable summary of one op file (git config diff.tracker.textconv 'htrac textconv'; htrac setup sets it). Never opens the tracker",
    )
    .argument("<file>", "an op file (git passes a copy of the blob)")
    .action((file: string) => {
      const c = ctx();
      let compiled: ReturnType<typeof compileOpFile>;
      try {
        compiled = compileOpFile(path.resolve(c.io.cwd, file));
      } catch (e) {
        if (e instanceof CorruptFileError) {
          // (exit 0: git shows this line in the diff instead of failing the whole diff)
          const id = idOfOpFileName(file) ?? path.basename(file);
          c.line(`# ${t1(id)}: op log not compilable at this revision — ${t1(e.message)}`);
          return;
        }
        const code = (e as NodeJS.ErrnoException).code;
        c.fail(code === "ENOENT" ? `${file}: file not found` : `${file}: ${(e as Error).message}`);
      }
      c.out(textconvText(compiled!.item, compiled!.ops));
    });

  program
    .command("log")
    .description("Print the raw op file of an item (control characters shown escaped)")
    .argument("<id>", "item ID, prefix or :N")
    .action((ref: string) => {
      const c = ctx();
      const t = c.tracker();
      let text: string;
      try {
        text = t.rawOps(ref);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") c.fail(`item not found: ${ref}`);
        throw e;
      }
      c.out(tn(text));
    });

  program
    .command("count-todos")
    .description("Number of items with a blocking status in the stop-hook scope (always exit 0 on success)")
    .option("--hard", "only blocking statuses whose name contains 'hard'")
    .option("--soft", "only the other blocking statuses")
    .action((opts: { hard?: boolean; soft?: boolean }) => {
      const c = ctx();
      let n = 0;
      try {
        let items = blockingInScope(c.tracker());
        if (opts.hard) items = items.filter((i) => i.status.includes("hard"));
        else if (opts.soft) items = items.filter((i) => !i.status.includes("hard"));
        n = items.length;
      } catch (e) {
        c.fail(`count-todos failed: ${(e as Error).message}`);
      }
      if (c.g.json) c.json({ count: n });
      else c.line(String(n));
    });

  program
    .command("hash-todos")
    .description("SHA-256 of the sorted '<id>\\t<status>\\t<title>' lines of blocking items in scope")
    .action(() => {
      const c = ctx();
      let hash = "";
      try {
        const lines = blockingInScope(c.tracker())
          .map((i) => `${i.id}\t${i.status}\t${i.title}\n`)
          .sort();
        hash = createHash("sha256").update(lines.join(""), "utf8").digest("hex");
      } catch (e) {
        c.fail(`hash-todos failed: ${(e as Error).message}`);
      }
      if (c.g.json) c.json({ hash });
      else c.line(hash);
    });

  program
    .command("guidance")
    .description(
      "Write the stop-hook guidance markdown file and print its path (REPLY-FIRST when humans wait)",
    )
    .option("--guidance-dir <dir>", "directory for the file (default ~/hypergumbo_lab_notebook/guidance_log)")
    .action((opts: { guidanceDir?: string }) => {
      const c = ctx();
      let file = "";
      try {
        const t = c.tracker();
        const home = c.io.env.HOME || os.homedir();
        const dir = opts.guidanceDir ?? path.join(home, "hypergumbo_lab_notebook", "guidance_log");
        fs.mkdirSync(dir, { recursive: true });
        const now = new Date(t.nowMs());
        const p2 = (n: number) => String(n).padStart(2, "0");
        const stamp = `${p2(now.getUTCMonth() + 1)}${p2(now.getUTCDate())}${now.getUTCFullYear()}_${p2(now.getUTCHours())}${p2(now.getUTCMinutes())}`;
        file = path.resolve(dir, `stop_guidance_${stamp}.md`);
        fs.writeFileSync(file, guidanceText(t, now));
      } catch (e) {
        if (e instanceof ExitCode) throw e;
        c.fail(`guidance failed: ${(e as Error).message}`);
      }
      if (c.g.json) c.json({ path: file });
      else c.line(file);
    });

  program
    .command("clusters")
    .description(
      "Groups of similar items (TF-IDF of their text, mutual k nearest neighbours sharing neighbours): likely duplicates or one topic; scope tiers",
    )
    .option("--k <n>", "neighbours per item", intArg("--k", 1), 6)
    .option("--shared <n>", "neighbours two joined items must share", intArg("--shared", 0), 3)
    .option("--status <list>", "only items with these statuses (comma-separated)")
    .option("--all", "every non-deleted item (default: items whose status is not resolved)")
    .option("--min-size <n>", "smallest cluster shown", intArg("--min-size", 1), 2)
    .option("--limit <n>", "show at most N clusters (0 = all)", intArg("--limit", 0))
    .action(
      (opts: {
        k: number;
        shared: number;
        status?: string;
        all?: boolean;
        minSize: number;
        limit?: number;
      }) => {
        const c = ctx();
        const t = c.tracker();
        const r = clusterItems(itemsInScope(t), t.config, {
          k: opts.k,
          shared: opts.shared,
          statuses: opts.status
            ? opts.status
                .split(",")
                .map((x) => x.trim())
                .filter((x) => x !== "")
            : null,
          all: opts.all === true,
          minSize: opts.minSize,
          limit: opts.limit || null, // (0: all, as ready and list)
          read: (items) => t.peekItems(items),
        });
        if (c.g.json) {
          c.json(
            {
              k: r.k,
              shared: r.shared,
              items: r.items,
              fit_items: r.fitItems,
              clusters: r.clusters.map((cl) => ({
                rank: cl.rank,
                size: cl.members.length,
                mean_similarity: new PyFloat(Math.round(cl.meanSimilarity * 1e4) / 1e4),
                members: cl.members.map((m) => ({
                  id: m.id,
                  kind: m.kind,
                  status: m.status,
                  priority: m.priority,
                  title: m.title,
                })),
              })),
            },
            2,
          );
          return;
        }
        if (r.clusters.length === 0) {
          c.line(`(no clusters)  ${r.items} item(s) considered; k=${r.k}, shared=${r.shared}`);
          return;
        }
        const members = r.clusters.reduce((n, cl) => n + cl.members.length, 0);
        c.line(
          `${r.clusters.length} cluster(s) over ${members} of ${r.items} item(s)  (k=${r.k}, shared=${r.shared}; fit on ${r.fitItems} items)`,
        );
        for (const cl of r.clusters) {
          c.line("");
          c.line(`#${cl.rank}  size ${cl.members.length}  mean similarity ${cl.meanSimilarity.toFixed(2)}`);
          for (const m of cl.members) c.line(`    ${m.id}  [${t1(m.status)}]  ${t1(m.title)}`);
        }
      },
    );

  program
    .command("priority-trend")
    .description(
      "Mean priority of open items per UTC day, replayed from the op logs (scope tiers); writes an SVG plot",
    )
    .option("--out <path>", "SVG file (default tracker-priority-trend.svg; with --json only when given)")
    .option("--since <day>", "first day shown, YYYY-MM-DD", dayArg("--since"))
    .option(
      "--until <day>",
      "last day shown, YYYY-MM-DD (not before --since: refused, unlike the reference)",
      dayArg("--until"),
    )
    .action((opts: { out?: string; since?: string; until?: string }) => {
      const c = ctx();
      // (an empty window would overwrite the plot with an empty one)
      if (opts.since !== undefined && opts.until !== undefined && opts.until < opts.since)
        c.fail(`argument --until: ${opts.until} is before --since ${opts.since}`, 2);
      const t = c.tracker();
      const points = priorityTrend(t, { since: opts.since, until: opts.until });
      const out = opts.out ?? (c.g.json ? undefined : "tracker-priority-trend.svg");
      if (out !== undefined) {
        try {
          fs.writeFileSync(path.resolve(c.io.cwd, out), trendSvg(points));
        } catch (e) {
          c.fail(`cannot write ${out}: ${(e as Error).message}`);
        }
      }
      if (c.g.json) {
        c.json(
          {
            resolved_statuses: t.config.resolved_statuses,
            svg: out ?? null,
            points: points.map((p) => ({
              day: p.day,
              open: p.open,
              mean_priority:
                p.meanPriority === null ? null : new PyFloat(Math.round(p.meanPriority * 1e4) / 1e4),
            })),
          },
          2,
        );
        return;
      }
      const withOpen = points.filter((p) => p.meanPriority !== null);
      if (points.length === 0) c.line(`wrote ${out}: no days with history in this window`);
      else if (withOpen.length === 0) c.line(`wrote ${out}: no open items on any day`);
      else {
        const a = withOpen[0];
        const b = withOpen[withOpen.length - 1];
        c.line(
          `wrote ${out}: ${points.length} day(s), ${points[0].day} to ${points[points.length - 1].day}; mean priority of open items ${a.meanPriority!.toFixed(2)} (${a.open} open) on ${a.day} -> ${b.meanPriority!.toFixed(2)} (${b.open} open) on ${b.day}`,
        );
      }
    });

  program
    .command("validate")
    .description("Check op files and cross-references (exit 1 on errors)")
    .argument("[files...]", "validate only these files (pre-commit form; no cross-file checks)")
    .option("--similar", "warn about near-duplicates (SimHash ≤ 8 bits)")
    .option("--deep-similar", "embedding duplicates (not available in htrac; reported as skipped)")
    .option("--strict", "treat warnings as errors (full mode only)")
    .option("--check-locks", "warn about agent updates of locked fields")
    .action(
      (
        files: string[],
        opts: { similar?: boolean; deepSimilar?: boolean; strict?: boolean; checkLocks?: boolean },
      ) => {
        const c = ctx();
        const t = c.tracker();
        const r =
          files.length > 0
            ? validateFiles(
                t.config,
                files.map((f) => path.resolve(c.io.cwd, f)),
                { checkLocks: opts.checkLocks },
              )
            : validateTracker(t, { similar: opts.similar, strict: opts.strict, checkLocks: opts.checkLocks });
        if (opts.deepSimilar)
          r.warnings.push("deep-similar: skipped (embedding-based duplicate detection is not part of htrac)");
        if (c.g.json) c.json({ errors: r.errors, warnings: r.warnings });
        else {
          for (const e of r.errors) c.line(`ERROR: ${t1(e)}`);
          for (const w of r.warnings) c.line(`WARNING: ${t1(w)}`);
          if (r.errors.length === 0) c.line("validation passed");
        }
        if (r.errors.length > 0) throw new ExitCode(1);
      },
    );
}

/** The guidance document (cli.md §8). */
export function guidanceText(t: Tracker, now: Date): string {
  const iso = `${now.toISOString().slice(0, 19)}Z`;
  const unread = unreadSummaries(t);
  const blocking = new Set(t.config.blocking_statuses);
  if (unread.length > 0) {
    const lines = [
      `# REPLY-FIRST CYCLE — ${iso}`,
      "",
      `**${unread.reduce((n, i) => n + i.unread, 0)} unread human message(s) across ${unread.length} item(s).**`,
      "",
      'Take a breather from the "forward-march vibe" of autonomous mode. Do not start new code tasks, do not run bakeoffs, do not pick from tracker ready. Your only assignment is to clear reply debt. For each item:',
      "",
      "1. `htrac show <ID>` — load the full thread + description",
      "2. Classify: approval, directive, or question",
      "3. Questions: plan the investigation BEFORE drafting",
      "4. `htrac discuss <ID>` — post the reply",
      "",
    ];
    const block = unread.filter((i) => blocking.has(i.status));
    const non = unread.filter((i) => !blocking.has(i.status));
    const row = (i: ItemSummary) => `- [${i.id}] P${i.priority} ${i.title} (${i.unread} unread)`;
    if (block.length) lines.push("## Blocking items with unread messages", ...block.map(row), "");
    if (non.length) lines.push("## Non-blocking items with unread messages", ...non.map(row), "");
    lines.push(
      "Reply to every item above before resuming TODO or bakeoff work. The TODO listing is intentionally suppressed in this cycle.",
      "",
    );
    return lines.join("\n");
  }
  const items = blockingInScope(t).sort(byPriorityId);
  const hard = items.filter((i) => i.status.includes("hard"));
  const violations = items.filter((i) => !i.status.includes("hard") && i.status === "violated");
  const soft = items.filter((i) => !i.status.includes("hard") && i.status !== "violated");
  const row = (i: ItemSummary) => `- [${i.id}] P${i.priority} ${i.title}`;
  const lines = [`# Stop Hook Guidance — ${iso}`, "", "## Status", `- Hard TODO Items: ${hard.length}`];
  if (violations.length) lines.push(`- Invariant Violations: ${violations.length}`);
  lines.push(`- Soft TODO Items: ${soft.length}`, "");
  if (hard.length) lines.push("## Hard TODO Items", ...hard.map(row), "");
  if (violations.length) lines.push("## Invariant Violations", ...violations.map(row), "");
  if (soft.length) lines.push("## Soft TODO Items", ...soft.map(row), "");
  lines.push(
    "## Guidance",
    "Hard TODO items: investigate deeply; assume the item is a symptom of a structural defect.",
  );
  if (violations.length)
    lines.push("Invariant violations: these are blocking. Investigate the root cause and fix or escalate.");
  lines.push(
    "Soft TODO items: resolve the issue normally. As always, revise your beliefs when new information comes to light.",
    "",
  );
  return lines.join("\n");
}

export { Tracker };
