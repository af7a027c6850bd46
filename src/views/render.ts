/**
 * Compose a full frame from the state: layout regions, then overlays (thread, help,
 * problems, dialog, toasts). Pure: the same state always gives the same cells.
 */
import { drawAnnotate } from "./annotate.js";
import { Canvas } from "./canvas.js";
import { drawActivity, drawDetail, drawThread } from "./detail.js";
import { drawDialog } from "./dialog.js";
import { regions } from "./layout.js";
import {
  drawBanner,
  drawChainBar,
  drawFilterPanel,
  drawFooter,
  drawHeader,
  drawHelp,
  drawProblems,
  drawSearch,
  drawStatusBar,
  drawToasts,
  drawPreview,
  drawTrend,
  type PanelEntry,
} from "./panels.js";
import { drawTable } from "./table.js";
import { truncate, wrap } from "./text.js";
import { S } from "./theme.js";
import type { UiState } from "./types.js";

/** Extra data the frame needs that is derived in the app (filter panel entries). */
export interface FrameExtras {
  filterEntries: { favorites: PanelEntry[]; statuses: PanelEntry[]; tags: PanelEntry[] };
  activeFilters: number;
}

/**
 * Render the whole screen.
 * @param into a canvas to draw on instead of a new one (reset first; used when its size and
 *   colour/ASCII modes match), so a live session allocates no cells per frame
 */
export function renderFrame(s: UiState, extras: FrameExtras, into?: Canvas): Canvas {
  const c =
    into && into.cols === s.cols && into.rows === s.rows && into.color === s.color && into.ascii === s.ascii
      ? into.reset()
      : new Canvas(s.cols, s.rows, s.color, s.ascii);
  if (s.annotate) {
    drawAnnotate(c, s, s.annotate);
    if (s.dialog) drawDialog(c, s, s.dialog);
    drawToasts(c, s);
    return c;
  }
  const r = regions(s);
  drawHeader(c, r.header, s, extras.activeFilters);
  if (r.tier === "too-small") {
    const msg = `Terminal too small (need 40x16, got ${s.cols}x${s.rows})`;
    const lines = wrap(msg, Math.max(1, s.cols - 2));
    const y0 = Math.max(1, Math.floor((s.rows - lines.length) / 2));
    lines.forEach((l, k) => c.text(Math.max(0, Math.floor((s.cols - l.length) / 2)), y0 + k, l, S.warn));
    drawFooter(c, r.footer, s.keyHints);
    return c;
  }
  if (r.banner) drawBanner(c, r.banner, s);
  if (r.searchBar) drawSearch(c, r.searchBar, s);
  if (s.thread.open) {
    const top = r.table?.y ?? r.detail?.y ?? 1;
    drawThread(c, { x: 0, y: top, w: s.cols, h: s.rows - 1 - top }, s, s.threadCursor ?? 0);
  } else {
    if (r.table) drawTable(c, r.table, s);
    if (r.divider)
      for (let y = r.divider.y; y < r.divider.y + r.divider.h; y++)
        c.text(r.divider.x, y, s.glyphs.vline, S.dim);
    if (r.detail) drawDetail(c, r.detail, s);
    if (r.activity) {
      c.text(r.activity.x, r.activity.y - 1, s.glyphs.hline.repeat(r.detail?.w ?? r.activity.w), S.dim);
      drawActivity(c, r.activity, s);
    }
    if (r.filterPanel) {
      if (r.tier === "wide" && r.activity)
        for (let y = r.filterPanel.y; y < r.filterPanel.y + r.filterPanel.h; y++)
          c.text(r.filterPanel.x - 2, y, s.glyphs.vline, S.dim);
      else
        c.text(
          r.filterPanel.x,
          r.filterPanel.y - 1,
          truncate(s.glyphs.hline.repeat(r.filterPanel.w), r.filterPanel.w),
          S.dim,
        );
      drawFilterPanel(c, r.filterPanel, s, extras.filterEntries, extras.activeFilters);
    }
    if (r.chainBar) drawChainBar(c, r.chainBar, s);
    if (r.statusBar) drawStatusBar(c, r.statusBar, s);
  }
  drawFooter(c, r.footer, s.keyHints);
  if (s.help.open) drawHelp(c, s);
  if (s.problemsOpen) drawProblems(c, s);
  if (s.trend.open) drawTrend(c, s);
  if (s.preview.open) drawPreview(c, s);
  if (s.dialog) drawDialog(c, s, s.dialog);
  drawToasts(c, s);
  return c;
}
