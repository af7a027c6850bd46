/**
 * Priority trend (cli.md §2.20, tui.md §7.5, the reference's `priority_trend.py`): how many
 * items were open at the end of each UTC day and their mean priority, replayed from the op
 * logs of the stop-hook scope tiers. Open = a status not in `resolved_statuses`.
 */
import fs from "node:fs";
import { ItemFold, sortOps } from "./compile.js";
import { parseOpLog } from "./oplog.js";
import { opFilePath } from "./paths.js";
import type { Tracker } from "./tracker.js";

/** One day of the trend. */
export interface TrendPoint {
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
  /** Items open at the end of the day. */
  open: number;
  /** Mean priority of those items (null when none is open). */
  meanPriority: number | null;
}

/** The day after `day` (`YYYY-MM-DD`, UTC). */
function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/**
 * Every day from the first op in scope to the last (quiet days carry the previous state),
 * cut to `since`…`until` (inclusive, `YYYY-MM-DD`). An item's state at the end of a day is
 * its ops folded in compile order up to the last one of that day (a day never goes back:
 * an op dated before an earlier-sorted one counts on the later day). Files that do not
 * parse are skipped (`validate` reports them).
 */
export function priorityTrend(t: Tracker, opts: { since?: string; until?: string } = {}): TrendPoint[] {
  const steps = priorityTrendSteps(t, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Op files read between two yields of `priorityTrendSteps`. */
const STEP_FILES = 64;

/**
 * `priorityTrend` in steps (the TUI's trend overlay stays responsive): yields the share of
 * the op files read so far (0–1) every STEP_FILES files, returns the points.
 */
export function* priorityTrendSteps(
  t: Tracker,
  opts: { since?: string; until?: string } = {},
): Generator<number, TrendPoint[], void> {
  const total = t.scopeTiers().reduce((n, tier) => n + t.tiers[tier].ids().length, 0) || 1;
  let read = 0;
  const resolved = new Set(t.config.resolved_statuses);
  /** day → item → state at the end of that day (only days the item changed). */
  const changes = new Map<string, Map<string, { status: string; priority: number }>>();
  let first: string | null = null;
  let last: string | null = null;
  const seen = new Set<string>();
  for (const tier of t.scopeTiers()) {
    for (const id of t.tiers[tier].ids()) {
      if (++read % STEP_FILES === 0) yield read / total;
      if (seen.has(id)) continue; // the preferred tier's copy (scope order)
      seen.add(id);
      let text: string;
      try {
        text = fs.readFileSync(opFilePath(t.paths.tierDirs[tier], id), "utf8");
      } catch {
        continue;
      }
      const fold = new ItemFold(id);
      let day: string | null = null;
      const record = () => {
        const cur = fold.current();
        if (day === null || !cur) return;
        let m = changes.get(day);
        if (!m) changes.set(day, (m = new Map()));
        m.set(id, cur);
      };
      try {
        for (const { key, op } of sortOps(parseOpLog(text).ops)) {
          const at = typeof op.at === "string" ? op.at.slice(0, 10) : null;
          if (at && /^\d{4}-\d{2}-\d{2}$/.test(at) && (day === null || at > day)) {
            record();
            day = at;
            if (first === null || day < first) first = day;
            if (last === null || day > last) last = day;
          }
          fold.apply(op, key);
        }
        record();
      } catch {
        // a file that does not compile adds nothing from the op that failed on
        record();
      }
    }
  }
  const points: TrendPoint[] = [];
  if (first === null || last === null) return points;
  const state = new Map<string, { status: string; priority: number }>();
  for (let d = first; d <= last; d = nextDay(d)) {
    for (const [id, st] of changes.get(d) ?? []) state.set(id, st);
    if ((opts.since && d < opts.since) || (opts.until && d > opts.until)) continue;
    let open = 0;
    let sum = 0;
    for (const st of state.values())
      if (!resolved.has(st.status)) {
        open++;
        sum += st.priority;
      }
    points.push({ day: d, open, meanPriority: open ? sum / open : null });
  }
  return points;
}
