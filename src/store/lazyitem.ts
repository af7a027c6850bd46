/**
 * Items for lists that read their text on first use (issue 4: the TUI's first frame on a
 * warm 10k-item tracker spent ~450 ms reviving every item from the warm-start cache — v8
 * deserialisation and the garbage collection of ~60 MB of threads — though a frame shows a
 * few dozen rows).
 *
 * A `LazyItem` holds what lists, filters, sorting and the unread mark need: the item's
 * summary as it is kept in the cache table (`ItemSummary`), plus its tier and frozen state.
 * Its text (description, custom fields, locked fields, PR reference, not-duplicate-of list,
 * thread) is read on first use — from the cache file's group (the group's other members come
 * in with it), or from the op file when the cache file cannot be read back — and kept as long
 * as the store keeps it (a weak reference: a store bounding its revived items,
 * `TierStore.keepRevivedGroups`, lets it go, and the next use reads it again).
 * Everything an `Item` offers is there: reading a field never fails and never differs from the
 * item `TierStore.item` returns for the same state. An item that could no longer be read (its
 * file deleted or broken since the list was made) reads as one with no text; the change feed
 * reports that change and the list replaces it.
 */
import type { DiscussionEntry, Item, ItemSummary, Tier } from "./compile.js";
import { emptyItem, lastBy } from "./compile.js";
import type { YamlMap } from "./values.js";

/** Where a lazy item's whole state comes from (`TierStore.item`). */
export interface ItemSource {
  item(id: string): Item | null;
}

/** An item whose text is read on first use (see the module doc). Immutable, as every item. */
export class LazyItem implements Item {
  readonly id: string;
  readonly kind: string;
  readonly title: string;
  readonly status: string;
  readonly priority: number;
  readonly parent: string | null;
  readonly tags: string[];
  readonly isbefore: string[];
  readonly duplicate_of: string[];
  readonly created_at: string;
  readonly updated_at: string;
  readonly cross_tier_conflict: boolean;
  readonly frozen: boolean;
  readonly tier: Tier | null;
  /** Number of thread entries and the last author not tombstoned (`threadLength`, `lastAuthor`). */
  readonly threadLength: number;
  readonly lastBy: string | null;
  #full: WeakRef<Item> | null = null;
  readonly #source: ItemSource;

  /**
   * @param s the item's summary (from the warm-start cache: made from the very item `source`
   *   returns, see `TierStore.listItem`)
   * @param frozen whether the item's frozen marker exists (store.md §6.4)
   */
  constructor(s: ItemSummary, frozen: boolean, source: ItemSource) {
    this.id = s.id;
    this.kind = s.kind;
    this.title = s.title;
    this.status = s.status;
    this.priority = s.priority;
    this.parent = s.parent;
    this.tags = s.tags as string[];
    this.isbefore = s.isbefore as string[];
    this.duplicate_of = s.duplicate_of as string[];
    this.created_at = s.created_at;
    this.updated_at = s.updated_at;
    this.cross_tier_conflict = s.cross_tier_conflict;
    this.frozen = frozen;
    this.tier = s.tier;
    this.threadLength = s.thread;
    this.lastBy = s.last_by;
    this.#source = source;
  }

  /** Whether the text is in memory (read already and still kept). */
  get loaded(): boolean {
    return this.#full?.deref() !== undefined;
  }

  /** The whole item (read on first use, then kept while the store keeps it). */
  full(): Item {
    let it = this.#full?.deref();
    if (!it) {
      it = this.#source.item(this.id) ?? textless(this);
      this.#full = new WeakRef(it);
    }
    return it;
  }

  get not_duplicate_of(): string[] {
    return this.full().not_duplicate_of;
  }
  get pr_ref(): string | null {
    return this.full().pr_ref;
  }
  get description(): string {
    return this.full().description;
  }
  get fields(): YamlMap {
    return this.full().fields;
  }
  get locked_fields(): string[] {
    return this.full().locked_fields;
  }
  get discussion(): DiscussionEntry[] {
    return this.full().discussion;
  }

  /** `JSON.stringify` gives the whole item, as for any other item. */
  toJSON(): Item {
    return this.full();
  }
}

/** An item with a lazy item's summary and no text (its file could no longer be read). */
function textless(l: LazyItem): Item {
  return {
    ...emptyItem(l.id),
    kind: l.kind,
    title: l.title,
    status: l.status,
    priority: l.priority,
    parent: l.parent,
    tags: l.tags,
    isbefore: l.isbefore,
    duplicate_of: l.duplicate_of,
    created_at: l.created_at,
    updated_at: l.updated_at,
    cross_tier_conflict: l.cross_tier_conflict,
    frozen: l.frozen,
    tier: l.tier,
  };
}

/** Number of entries of an item's thread (tombstoned ones included), without reading a lazy item's. */
export function threadLength(it: Item): number {
  return it instanceof LazyItem && !it.loaded ? it.threadLength : it.discussion.length;
}

/** `by` of the last thread entry not tombstoned (null: none), without reading a lazy item's. */
export function lastAuthor(it: Item): string | null {
  return it instanceof LazyItem && !it.loaded ? it.lastBy : lastBy(it.discussion);
}
