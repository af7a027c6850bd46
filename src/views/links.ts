/**
 * Item IDs in drawn text (tui.md §7.3 hotspots): where the views underline links and what a
 * click on one resolves to. An item's own list of links is app/links.ts.
 *
 * A mention is what the reference's `id_matching` finds: a configured kind prefix followed by
 * two or more `-CVCVC` proquint syllables, not glued to a letter or digit on either side
 * (hyphens allowed). It is a link only when it resolves: a full ID, or the prefix of exactly
 * one ID (no dead or ambiguous links, as the reference's `render_hotspots`).
 */
import type { Item } from "../index.js";

/** A mention found in a text: [start, end) code units, the matched text. */
export interface Mention {
  start: number;
  end: number;
  text: string;
}

/** The state a link lookup needs (a subset of UiState). */
export interface LinkContext {
  /** The config's mention pattern (store/mentions.ts `mentionPattern`), or null. */
  linkPattern: RegExp | null;
  byId: Map<string, Item>;
  /** Every item ID, sorted by code unit (prefix resolution by binary search). */
  sortedIds: string[];
  blockers: Map<string, string[]>;
}

/** Every mention in a text, in order (non-overlapping). */
export function findMentions(text: string, pattern: RegExp | null): Mention[] {
  if (!pattern || text.length < 8) return [];
  const out: Mention[] = [];
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text))
    out.push({ start: m.index, end: m.index + m[0].length, text: m[0] });
  return out;
}

/**
 * The full ID a mention stands for: itself when it is an ID, else the one ID it is a prefix
 * of; null when none or several match.
 */
export function resolveMention(ctx: Pick<LinkContext, "byId" | "sortedIds">, text: string): string | null {
  if (ctx.byId.has(text)) return text;
  const ids = ctx.sortedIds;
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] < text) lo = mid + 1;
    else hi = mid;
  }
  if (lo >= ids.length || !ids[lo].startsWith(text)) return null;
  if (lo + 1 < ids.length && ids[lo + 1].startsWith(text)) return null;
  return ids[lo];
}

/**
 * Spans of a drawn line's text that are links: mentions that resolve, and exact occurrences
 * of `extra` (a full ID whose kind prefix the config does not know). Sorted, non-overlapping.
 */
export function linkSpans(
  ctx: Pick<LinkContext, "byId" | "sortedIds" | "linkPattern">,
  text: string,
  extra?: string,
): { start: number; end: number; id: string }[] {
  const out: { start: number; end: number; id: string }[] = [];
  for (const m of findMentions(text, ctx.linkPattern)) {
    const id = resolveMention(ctx, m.text);
    if (id) out.push({ start: m.start, end: m.end, id });
  }
  if (extra && !out.some((x) => x.id === extra))
    for (let i = text.indexOf(extra); i >= 0; i = text.indexOf(extra, i + extra.length))
      out.push({ start: i, end: i + extra.length, id: extra });
  return out.sort((a, b) => a.start - b.start);
}
