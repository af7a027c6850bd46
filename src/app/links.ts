/**
 * Links of an item (tui.md §7.1–7.3): the item IDs it points at — its parent, isbefore
 * targets, blockers, duplicates, and IDs mentioned in its text — for following them with the
 * keyboard (Tab, Enter); views/links.ts finds them in drawn text (underline, clicks).
 */
import { type Item, itemTexts } from "../index.js";
import { findMentions, type LinkContext, resolveMention } from "../views/links.js";

/** A link of an item: the full ID it points at. */
export interface ItemLink {
  id: string;
  /** Why it is a link (shown beside the focused link). */
  via: "parent" | "blocks" | "blocked by" | "duplicate of" | "mention";
}

interface LinkMemo {
  byId: LinkContext["byId"];
  sortedIds: string[];
  pattern: RegExp | null;
  blockers: string[] | undefined;
  links: ItemLink[];
}
const linkMemo = new WeakMap<Item, LinkMemo>();

/**
 * The links of an item in the order its detail pane shows them: parent, isbefore targets
 * ("blocks"), blockers, duplicates, then mentions in its title, description, custom fields
 * and non-deleted messages (oldest first). One link per ID; never the item itself; only IDs
 * of items that exist. Memoised per item (and its blockers).
 */
export function itemLinks(ctx: LinkContext, it: Item): ItemLink[] {
  const blockers = ctx.blockers.get(it.id);
  const memo = linkMemo.get(it);
  if (
    memo &&
    memo.blockers === blockers &&
    memo.byId === ctx.byId &&
    memo.sortedIds === ctx.sortedIds &&
    memo.pattern === ctx.linkPattern
  )
    return memo.links;
  const links: ItemLink[] = [];
  const seen = new Set<string>([it.id]);
  const add = (id: string | null | undefined, via: ItemLink["via"]) => {
    if (!id || seen.has(id) || !ctx.byId.has(id)) return;
    seen.add(id);
    links.push({ id, via });
  };
  add(it.parent, "parent");
  for (const id of it.isbefore) add(id, "blocks");
  for (const id of blockers ?? []) add(id, "blocked by");
  for (const id of it.duplicate_of) add(id, "duplicate of");
  const pattern = ctx.linkPattern;
  for (const t of itemTexts(it))
    for (const m of findMentions(t, pattern)) add(resolveMention(ctx, m.text), "mention");
  linkMemo.set(it, { byId: ctx.byId, sortedIds: ctx.sortedIds, pattern: ctx.linkPattern, blockers, links });
  return links;
}
