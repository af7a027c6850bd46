/**
 * Item IDs named in free text (store.md §4.5, tui.md §7.3, the reference's `id_matching`): a
 * configured kind prefix followed by two or more `-CVCVC` proquint syllables, not glued to a
 * letter or digit on either side (hyphens allowed). Used by the TUI's links and by `clusters` (which masks
 * them before weighing words).
 */
import type { KindConfig } from "./config.js";
import { idPatternFor } from "./ids.js";

const patterns = new WeakMap<readonly KindConfig[], RegExp | null>();

/**
 * The mention pattern of a config's kinds (`idPatternFor` of their prefixes, store.md §4.5,
 * memoised per kinds array; global flag: callers reset `lastIndex`), or null when the config
 * has no kinds (tui.md §7.3: a config with no kinds cannot build one).
 */
export function mentionPattern(kinds: readonly KindConfig[]): RegExp | null {
  let re = patterns.get(kinds);
  if (re === undefined) {
    re = idPatternFor(kinds.map((k) => k.prefix));
    patterns.set(kinds, re);
  }
  return re;
}

/** ADR references (`ADR-0020`), masked like item IDs by `clusters` (tui.md §7.6). */
export const ADR_REF = /\bADR-\d+\b/g;
