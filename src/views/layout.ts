/**
 * Layout: the size tier (tui.md §1.1) and the screen regions of each tier.
 */
import type { LayoutTier, UiState } from "./types.js";

/**
 * Size tier, checked in the reference's order: too-small (<40×16), compact (<60 or <20),
 * wide (>120 and >38), else standard.
 */
export function layoutTier(cols: number, rows: number): LayoutTier {
  if (cols < 40 || rows < 16) return "too-small";
  if (cols < 60 || rows < 20) return "compact";
  if (cols > 120 && rows > 38) return "wide";
  return "standard";
}

/** A rectangle of cells. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Regions of the screen for the current state. */
export interface Regions {
  tier: LayoutTier;
  header: Rect;
  banner: Rect | null;
  searchBar: Rect | null;
  /** Table or tree (absent when the compact detail is open). */
  table: Rect | null;
  divider: Rect | null;
  detail: Rect | null;
  activity: Rect | null;
  filterPanel: Rect | null;
  chainBar: Rect | null;
  statusBar: Rect | null;
  footer: Rect;
}

/** Whether the status-filter bar is visible (tui.md §3.4). */
export function statusBarVisible(s: UiState): boolean {
  return s.config.resolved_statuses.length > 0 || s.filters.hiddenTags.length > 0 || s.filters.hideTagged;
}

/** Compute the regions for a state (pure). */
export function regions(s: UiState): Regions {
  const { cols, rows } = s;
  const tier = layoutTier(cols, rows);
  const r: Regions = {
    tier,
    header: { x: 0, y: 0, w: cols, h: 1 },
    banner: null,
    searchBar: null,
    table: null,
    divider: null,
    detail: null,
    activity: null,
    filterPanel: null,
    chainBar: null,
    statusBar: null,
    footer: { x: 0, y: rows - 1, w: cols, h: 1 },
  };
  if (tier === "too-small") return r;
  let top = 1;
  if (s.editMode?.on) {
    r.banner = { x: 0, y: top, w: cols, h: 1 };
    top++;
  }
  if (s.search.editing || s.search.query !== "") {
    r.searchBar = { x: 0, y: top, w: cols, h: 1 };
    top++;
  }
  let bottom = rows - 1; // footer row
  if (tier !== "compact" && statusBarVisible(s)) {
    bottom--;
    r.statusBar = { x: 0, y: bottom, w: cols, h: 1 };
  }
  if (tier !== "compact" && s.chainSummary) {
    bottom--;
    r.chainBar = { x: 0, y: bottom, w: cols, h: 1 };
  }
  const bodyH = Math.max(1, bottom - top);
  if (tier === "compact") {
    if (s.compactDetail) r.detail = { x: 0, y: top, w: cols, h: bodyH };
    else r.table = { x: 0, y: top, w: cols, h: bodyH };
    return r;
  }
  const leftW = Math.max(30, Math.floor(cols * 0.55));
  r.table = { x: 0, y: top, w: leftW, h: bodyH };
  r.divider = { x: leftW, y: top, w: 1, h: bodyH };
  const rx = leftW + 2;
  const rw = Math.max(1, cols - rx);
  if (tier === "standard") {
    if (s.filterPanel) {
      const fh = Math.max(3, Math.min(Math.floor(bodyH / 2), bodyH - 3));
      r.detail = { x: rx, y: top, w: rw, h: bodyH - fh - 1 };
      r.filterPanel = { x: rx, y: top + bodyH - fh, w: rw, h: fh };
    } else r.detail = { x: rx, y: top, w: rw, h: bodyH };
    return r;
  }
  // wide: detail on top, activity (+ filter panel beside it) below a rule
  const actH = Math.max(6, Math.floor(bodyH * 0.55));
  const detH = bodyH - actH - 1;
  r.detail = { x: rx, y: top, w: rw, h: detH };
  const ay = top + detH + 1;
  if (s.filterPanel) {
    const fw = Math.max(20, Math.floor(rw * 0.4));
    r.activity = { x: rx, y: ay, w: rw - fw - 2, h: actH };
    r.filterPanel = { x: rx + rw - fw, y: ay, w: fw, h: actH };
  } else r.activity = { x: rx, y: ay, w: rw, h: actH };
  return r;
}

/** Number of item rows visible in the table region (one header row). */
export function tableRows(s: UiState): number {
  const t = regions(s).table;
  return t ? Math.max(1, t.h - 1) : 1;
}
