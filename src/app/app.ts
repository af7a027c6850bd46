/**
 * The TUI controller: owns the app state, turns keys (through the keymap) and mouse events
 * into commands, applies store change events, and produces frames. It never touches
 * blessed (see adapter.ts) and never opens op files (every read and write is a Tracker call).
 */
import path from "node:path";
import { annotateKey, annotateMouse } from "./annotate.js";
import { lookupTable } from "../store/values.js";
import {
  type ChangeEvent,
  clusterSteps,
  type Item,
  mentionPattern,
  priorityTrendSteps,
  TIERS,
  type Tracker,
} from "../index.js";
import type { Canvas } from "../views/canvas.js";
import { detailLineOf, detailLines, linkAt, threadBlocks } from "../views/detail.js";
import { itemLinks } from "./links.js";
import { displayText, screenshotRefs, strWidth, truncate } from "../views/text.js";
import { layoutTier, regions, tableRows } from "../views/layout.js";
import { renderFrame } from "../views/render.js";
import type { ClusterView, Dialog, KeyHint, Toast } from "../views/types.js";
import { dialogKey, type FlowHost, openFlow, openGoto } from "./flows.js";
import { previewSvg } from "./preview.js";
import { displayKey, type Keymap, keysFor, resolveKey } from "./keymap.js";
import { loadPrefs, type Preferences, savePrefs } from "./prefs.js";
import {
  type AppState,
  activeFilterCount,
  createState,
  derive,
  filterEntries,
  isUnread,
  keepVisible,
  moveCursor,
  numberedEntries,
  patchItems,
  pushHistory,
  reorder,
  type StateInit,
  select,
  selectId,
  setItems,
  toggleFilter,
} from "./state.js";

/** What the app needs from its environment. */
export interface AppDeps {
  tracker: Tracker;
  keymap: Keymap;
  now: () => number;
  cols: number;
  rows: number;
  color: boolean;
  ascii: boolean;
  readOnly: boolean;
  /** Why the session is read-only (help and refusals; default `--read-only`). */
  readOnlyReason?: string;
  /** Ask the terminal to redraw (no-op headless). */
  requestRender?: () => void;
  /** Copy text to the clipboard; resolves to a short description of how. */
  copy?: (text: string) => Promise<string>;
  /** Edit text in $EDITOR; resolves to the new text or null when cancelled. */
  editor?: (text: string) => Promise<string | null>;
  /** Save preferences on quit and after order/read changes (default true). */
  persistPrefs?: boolean;
  /** Screenshot hook (issue: screenshot and annotation). */
  screenshot?: (app: App) => Promise<void>;
  /** What the header calls the tracker (default: its root path). */
  rootLabel?: string;
  /** Open a file with the desktop's viewer; resolves to an error message, or null when opened. */
  open?: (file: string) => Promise<string | null>;
  /**
   * Let `tracker` write again: called once when a session that is read-only for
   * `CONFIG_READ_ONLY` sees the config valid again (the session's read-only tracker stops
   * refusing). Without it such a session stays read-only.
   */
  allowWrites?: () => void;
}

/**
 * Why a session that opened on an invalid config (`Tracker.configError`, defaults shown) is
 * read-only: writes validated against a fallback config could be wrong for this tracker.
 */
export const CONFIG_READ_ONLY = "the config is invalid: writes are allowed again once it is fixed";

/**
 * How long the items must stay unchanged before the open clusters view clusters them again
 * (ms): a tracker being appended to is re-clustered once it pauses, not on every append.
 */
const CLUSTER_QUIET_MS = 1500;

const FOOTER_ORDER = [
  "quit",
  "help",
  "back",
  "search",
  "filters",
  "tree",
  "view-next",
  "thread",
  "discuss",
  "edit",
  "new",
  "move-tier",
  "parent",
  "isbefore",
  "lock",
  "freeze",
  "mark-read",
  "screenshot",
];
const SHORT: Readonly<Record<string, string>> = lookupTable({
  quit: "Quit",
  help: "Help",
  back: "Back",
  search: "Search",
  filters: "Filters",
  tree: "Tree",
  "view-next": "View",
  thread: "Thread",
  discuss: "Discuss",
  edit: "Edit",
  new: "New",
  "move-tier": "Move Tier",
  parent: "Parent",
  isbefore: "Before",
  lock: "Lock",
  freeze: "Freeze",
  "mark-read": "Read",
  screenshot: "Shot",
  "screenshot-open": "Open shot",
  "msg-delete": "Delete msg",
  "msg-undelete": "Undelete",
  "msg-edit": "Edit msg",
  submit: "Submit",
  cancel: "Cancel",
  "next-field": "Next",
});

/** Store operation guarding each human-only action (for the store's own refusal text). */
const HUMAN_OP: Readonly<Record<string, string>> = lookupTable({
  "clear-discussion": "discuss_clear",
  "delete-item": "status:deleted",
  lock: "lock",
  freeze: "freeze",
  "repair-drift": "repair-drift",
  reconcile: "reconcile_reset",
  "edit-mode": "edit-mode-on",
});

/** The controller. */
export class App implements FlowHost {
  state: AppState;
  private prefs: Preferences;
  private exitResolve: (() => void) | null = null;
  /** Resolves when the user quits. */
  readonly exited: Promise<void>;
  /** Set while a write is running (keys are queued by the caller's await). */
  busy = false;

  constructor(readonly deps: AppDeps) {
    const t = deps.tracker;
    const init: StateInit = {
      cols: deps.cols,
      rows: deps.rows,
      now: deps.now(),
      color: deps.color,
      ascii: deps.ascii,
      root: deps.rootLabel ?? t.root,
      actor: t.actor(),
      readOnly: deps.readOnly,
      config: t.config,
    };
    this.state = createState(init);
    const { prefs, problem } = loadPrefs(t.paths.prefsFile);
    this.prefs = prefs;
    this.state = {
      ...this.state,
      filters: {
        hiddenStatuses: prefs.hidden_statuses,
        hiddenTags: prefs.hidden_tags,
        hideTagged: prefs.hide_tagged,
      },
      customOrder: prefs.display_order,
      readState: prefs.human_read_state,
      pastSessions: prefs.toggle_sessions,
      lastFilters: prefs.last_filters
        ? {
            hiddenStatuses: prefs.last_filters.hidden_statuses,
            hiddenTags: prefs.last_filters.hidden_tags,
            hideTagged: prefs.last_filters.hide_tagged,
          }
        : null,
    };
    this.exited = new Promise((r) => {
      this.exitResolve = r;
    });
    this.reload();
    if (problem) this.toast(problem, "warn");
    if (t.configError) {
      const using =
        t.config.source === "<built-in defaults>" ? "the built-in defaults" : "config.yaml.template";
      this.toast(`config invalid: read-only, using ${using} (! lists it): ${t.configError.message}`, "warn");
    }
    this.refreshHints();
  }

  get tracker(): Tracker {
    return this.deps.tracker;
  }

  // ----------------------------------------------------------------------------------
  // State plumbing
  // ----------------------------------------------------------------------------------

  /** Replace the state and ask for a frame. */
  set(next: AppState): void {
    const opening = this.state.view !== "clusters";
    this.state = next;
    if (next.view === "clusters") this.clusterItemsOfView(opening);
    this.refreshHints();
    this.deps.requestRender?.();
  }

  /** The item set the clusters view shows (or is making) clusters of. */
  private clusterBase: Item[] | null = null;
  /** The running clustering (it runs to the end; a newer item set is clustered after it). */
  private clusterRun: { items: Item[] } | null = null;
  /** The timer of a re-clustering waiting for the items to settle (`CLUSTER_QUIET_MS`). */
  private clusterTimer: NodeJS.Timeout | null = null;

  /**
   * Keep the clusters view's clusters current: when the item set changed since they were
   * made, cluster it again (cli.md §2.19 defaults: open items, k 6, shared 3) in slices of
   * ~10 ms between keys and frames; the view shows the progress meanwhile and keeps the
   * cursor on its item when the result arrives. The first clustering starts at once; a
   * change after that waits until the items have not changed for `CLUSTER_QUIET_MS`, and a
   * run is never restarted by a change (it ends, then the newer set waits its turn), so a
   * tracker agents append to every second is not re-clustered without end (~2 s of CPU at
   * 10k items) and the view always gets its clusters. The previous clusters stay shown
   * meanwhile.
   * @param opening the view is being opened: cluster at once
   */
  private clusterItemsOfView(opening = false): void {
    const items = this.state.items;
    if (this.clusterBase === items || this.clusterRun) return;
    if (this.clusterTimer) clearTimeout(this.clusterTimer);
    this.clusterTimer = null;
    if (this.clusterBase === null || opening) {
      this.startClustering(items);
      return;
    }
    this.clusterTimer = setTimeout(() => {
      this.clusterTimer = null;
      if (this.state.view === "clusters") this.startClustering(this.state.items);
    }, CLUSTER_QUIET_MS);
    this.clusterTimer.unref?.();
  }

  /** Cluster `items` in slices (see `clusterItemsOfView`). */
  private startClustering(items: Item[]): void {
    const run = { items };
    this.clusterRun = run;
    const tracker = this.deps.tracker;
    const steps = clusterSteps(items, tracker.config, { read: (its) => tracker.peekItems(its) });
    const slice = () => {
      if (this.clusterRun !== run) return;
      if (this.state.view !== "clusters") {
        this.clusterRun = null; // left the view: made again when it is opened
        return;
      }
      const until = performance.now() + 10;
      let r = steps.next();
      while (!r.done && performance.now() < until) r = steps.next();
      if (!r.done) {
        if (!this.state.clusterView?.done) this.setClusterView({ ...emptyClusterView(), progress: r.value });
        setImmediate(slice);
        return;
      }
      this.clusterRun = null;
      this.clusterBase = items;
      const byId: ClusterView["byId"] = new Map();
      const order: string[] = [];
      for (const c of r.value.clusters)
        for (const m of c.members) {
          byId.set(m.id, { rank: c.rank, size: c.members.length, similarity: c.meanSimilarity });
          order.push(m.id);
        }
      this.setClusterView({
        progress: 1,
        done: true,
        byId,
        order,
        clusters: r.value.clusters.length,
        considered: r.value.items,
      });
      this.clusterItemsOfView(); // items changed while it ran: their turn
    };
    if (!this.state.clusterView) this.state = { ...this.state, clusterView: emptyClusterView() };
    setImmediate(slice);
  }

  private setClusterView(cv: ClusterView): void {
    const s = this.state;
    this.state =
      cv.done && s.view === "clusters" ? derive({ ...s, clusterView: cv }) : { ...s, clusterView: cv };
    this.refreshHints();
    this.deps.requestRender?.();
  }

  /** The running trend replay (stopped when the overlay closes). */
  private trendRun: object | null = null;

  /**
   * Open the priority-trend overlay and replay the op logs for it in ~10 ms slices (a 10k
   * tracker's logs take a few seconds): the overlay shows the progress, then the chart.
   */
  private openTrend(): void {
    const run = {};
    this.trendRun = run;
    this.set({ ...this.state, trend: { open: true, progress: 0, points: null } });
    const steps = priorityTrendSteps(this.deps.tracker);
    const slice = () => {
      if (this.trendRun !== run) return;
      const until = performance.now() + 10;
      let r = steps.next();
      while (!r.done && performance.now() < until) r = steps.next();
      if (r.done) {
        this.trendRun = null;
        this.set({ ...this.state, trend: { open: true, progress: 1, points: r.value } });
        return;
      }
      this.set({ ...this.state, trend: { open: true, progress: r.value, points: null } });
      setImmediate(slice);
    };
    setImmediate(slice);
  }

  /** Resolves when the trend overlay has its points (tests, snapshots). */
  async trendReady(): Promise<void> {
    while (this.trendRun) await new Promise((r) => setImmediate(r));
  }

  /**
   * Resolves when the clusters view has the clusters of the current items (tests,
   * snapshots): a re-clustering waiting for the items to settle starts at once.
   */
  async clustersReady(): Promise<void> {
    for (;;) {
      if (this.clusterTimer) {
        clearTimeout(this.clusterTimer);
        this.clusterTimer = null;
        if (this.state.view === "clusters" && !this.clusterRun) this.startClustering(this.state.items);
      }
      if (!this.clusterRun) return;
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Rebuild the item set from the tracker (keeps cursor by ID, filters, search). */
  reload(): void {
    const t = this.deps.tracker;
    const counts = t.counts();
    this.state = setItems(
      { ...this.state, now: this.deps.now() },
      // Items still in the warm-start cache come with their text unread: a frame shows a few
      // dozen of them (the session reads the rest right after its first frame).
      t.items(TIERS, { lazy: true }),
      t.problems(),
      counts.canonical + counts.workspace + counts.stealth,
    );
    this.updateEditMode();
    this.updateDrift();
  }

  /**
   * Apply a batch that only changed a few existing items, without rebuilding the item set
   * (`patchItems`). @returns false when the batch needs a full `reload` (items added or
   * removed, a sort key or tier precedence changed, an item became uncompilable).
   */
  private patch(ev: ChangeEvent): boolean {
    if (ev.added.length || ev.removed.length || ev.changed.length === 0 || ev.changed.length > 64)
      return false;
    const t = this.deps.tracker;
    const shown: Item[] = [];
    for (const id of new Set(ev.changed.map((c) => c.id))) {
      const copies: Item[] = [];
      for (const tier of TIERS) {
        const it = t.tiers[tier].item(id);
        if (it) copies.push(it);
      }
      if (copies.length === 0 || copies.length > 1 !== this.state.conflicts.has(id)) return false;
      shown.push(copies[0]);
    }
    const counts = t.counts();
    const next = patchItems(
      { ...this.state, now: this.deps.now() },
      shown,
      t.problems(),
      counts.canonical + counts.workspace + counts.stealth,
    );
    if (!next) return false;
    this.state = next;
    this.updateEditMode();
    this.updateDrift();
    return true;
  }

  /** Apply a change batch from the store's change feed. */
  onChanges(ev: ChangeEvent): void {
    const removedSelected =
      ev.removed.some((r) => r.id === this.state.selectedId) &&
      !this.deps.tracker.exists(this.state.selectedId ?? "");
    const cursor = this.state.cursor;
    const applied = ev.config === "valid" || ev.config === "changed" ? this.applyConfig() : null;
    if (applied || !this.patch(ev)) this.reload();
    if (removedSelected) this.state = select({ ...this.state, selectedId: null, cursor });
    this.updateDialogBanner(ev);
    if (ev.problems.length) this.toast(ev.problems[ev.problems.length - 1].message, "warn");
    const configError = this.deps.tracker.configError;
    if (ev.config === "invalid" && configError)
      this.toast(
        `config invalid, this session keeps its config (! lists it): ${configError.message}`,
        "warn",
      );
    else if (applied === "writable") this.toast("config valid again: writes allowed", "info");
    else if (ev.config === "changed") this.toast("config changed: applied", "info");
    else if (ev.config === "valid") this.toast("config valid again", "info");
    this.set(this.state);
  }

  /**
   * Use the config the change feed found valid (`Tracker.applyConfig`): its kinds, statuses
   * and rules from now on (the caller reloads the items); a session read-only because the
   * config was invalid writes again when it can (`AppDeps.allowWrites`).
   * @returns null when there was nothing to apply, "writable" when writes were allowed again
   */
  private applyConfig(): "applied" | "writable" | null {
    const config = this.deps.tracker.applyConfig();
    if (!config) return null;
    this.state = { ...this.state, config, linkPattern: mentionPattern(config.kinds) };
    if (this.deps.readOnlyReason !== CONFIG_READ_ONLY || !this.deps.allowWrites) return "applied";
    this.deps.allowWrites();
    this.deps.readOnlyReason = undefined;
    this.deps.readOnly = false;
    this.state = { ...this.state, readOnly: false };
    this.refreshHints();
    return "writable";
  }

  /** Set the live indicator. */
  setLive(mode: "events" | "polling" | "off", note?: string): void {
    this.set({ ...this.state, live: { mode, note } });
  }

  private updateEditMode(): void {
    try {
      const st = this.deps.tracker.editModeStatus();
      this.state = {
        ...this.state,
        editMode: st.on ? { on: true, remainingS: st.remaining_s, used: st.ops_used, cap: st.cap_max } : null,
      };
    } catch {
      this.state = { ...this.state, editMode: null };
    }
  }

  private updateDrift(): void {
    const id = this.state.selectedId;
    const it = id ? this.state.byId.get(id) : undefined;
    let drift = false;
    if (it?.frozen) {
      try {
        drift = this.deps.tracker.driftCheck(it.id);
      } catch {
        drift = false;
      }
    }
    this.state = { ...this.state, selectedDrift: drift };
  }

  /** Advance the clock (toasts expire, edit-mode countdown). */
  tick(): void {
    const now = this.deps.now();
    const toasts = this.state.toasts.filter((t) => t.until > now);
    this.state = { ...this.state, now, toasts };
    if (this.state.editMode) this.updateEditMode();
    this.set(this.state);
  }

  /** Show a toast. */
  toast(message: string, level: Toast["level"] = "info"): void {
    const now = this.deps.now();
    const until = now + (level === "error" ? 6000 : 3500);
    this.state = {
      ...this.state,
      now,
      toasts: [...this.state.toasts.filter((t) => t.until > now), { message, level, until }].slice(-5),
    };
    this.deps.requestRender?.();
  }

  /** Terminal resized: re-tier, keep the selected item. */
  resize(cols: number, rows: number): void {
    const wasCompact = layoutTier(this.state.cols, this.state.rows) === "compact";
    const next = { ...this.state, cols, rows };
    const nowCompact = layoutTier(cols, rows) === "compact";
    if (wasCompact && !nowCompact) next.compactDetail = false;
    this.set(derive(next));
  }

  /** The frame for the current state (drawn on `into` when it fits, see `renderFrame`). */
  frame(into?: Canvas): Canvas {
    const s = this.state;
    // Entries are only drawn with the panel open (counts are memoised per item set anyway).
    const e = s.filterPanel ? filterEntries(s) : { favorites: [], statuses: [], tags: [] };
    return renderFrame(s, { filterEntries: e, activeFilters: activeFilterCount(s.filters) }, into);
  }

  // ----------------------------------------------------------------------------------
  // Keys
  // ----------------------------------------------------------------------------------

  /** Context stack for key resolution. */
  contexts(): string[] {
    const s = this.state;
    if (s.dialog) return ["dialog"];
    if (s.annotate) return ["annotate"];
    const out: string[] = [];
    if (s.thread.open) out.push("thread");
    if (s.filterPanel && layoutTier(s.cols, s.rows) !== "compact") out.push("filters");
    out.push("global");
    return out;
  }

  /**
   * Handle one key (canonical name from `normalizeKey`; `ch` is the typed character when
   * printable).
   */
  async key(k: string, ch?: string): Promise<void> {
    const s = this.state;
    if (s.dialog) {
      await dialogKey(this, k, ch);
      return;
    }
    if (s.annotate) {
      await annotateKey(this, k, ch);
      return;
    }
    if (s.search.editing) {
      if (this.searchKey(k, ch)) return;
    }
    if (s.help.open) {
      this.overlayKey(k, "help");
      return;
    }
    if (s.problemsOpen) {
      this.overlayKey(k, "problems");
      return;
    }
    if (s.preview.open) {
      const a = resolveKey(this.deps.keymap, ["global"], k);
      if (a === "back" || a === "screenshot-preview" || a === "quit") {
        this.previewRun = null;
        this.set({ ...s, preview: { open: false, file: "", picture: null } });
      }
      return;
    }
    if (s.trend.open) {
      const a = resolveKey(this.deps.keymap, ["global"], k);
      if (a === "back" || a === "trend" || a === "quit") {
        this.trendRun = null;
        this.set({ ...s, trend: { ...s.trend, open: false } });
      }
      return;
    }
    const action = resolveKey(this.deps.keymap, this.contexts(), k);
    if (action) await this.run(action);
  }

  private overlayKey(k: string, which: "help" | "problems"): void {
    const action = resolveKey(this.deps.keymap, ["global"], k);
    const s = this.state;
    const scrollOf = which === "help" ? s.help.scroll : s.problemsScroll;
    let scroll = scrollOf;
    const page = Math.max(1, s.rows - 3);
    switch (action) {
      case "back":
      case "help":
      case "problems":
      case "quit":
        this.set(
          which === "help"
            ? { ...s, help: { open: false, scroll: 0 } }
            : { ...s, problemsOpen: false, problemsScroll: 0 },
        );
        return;
      case "cursor-down":
      case "detail-down":
        scroll++;
        break;
      case "cursor-up":
      case "detail-up":
        scroll--;
        break;
      case "page-down":
        scroll += page;
        break;
      case "page-up":
        scroll -= page;
        break;
      case "top":
        scroll = 0;
        break;
      default:
        return;
    }
    scroll = Math.max(0, scroll);
    this.set(which === "help" ? { ...s, help: { open: true, scroll } } : { ...s, problemsScroll: scroll });
  }

  /** Text input of the search bar. @returns true when the key was consumed */
  private searchKey(k: string, ch?: string): boolean {
    const s = this.state;
    const q = s.search.query;
    const caret = Math.min(s.search.caret, q.length);
    const update = (query: string, c: number) => {
      const parsed = query.trim() === "" ? [] : errorsOf(query);
      this.set(
        derive({
          ...s,
          search: { editing: true, query, caret: c, error: parsed[0] },
          cursor: 0,
          scroll: 0,
          selectedId: s.selectedId,
        }),
      );
    };
    if (
      ch !== undefined &&
      ch.length >= 1 &&
      !k.startsWith("C-") &&
      !k.startsWith("M-") &&
      k !== "enter" &&
      k !== "tab" &&
      k !== "escape"
    ) {
      update(q.slice(0, caret) + ch + q.slice(caret), caret + ch.length);
      return true;
    }
    switch (k) {
      case "backspace":
        if (caret > 0) update(q.slice(0, caret - 1) + q.slice(caret), caret - 1);
        return true;
      case "delete":
        update(q.slice(0, caret) + q.slice(caret + 1), caret);
        return true;
      case "left":
        this.set({ ...s, search: { ...s.search, caret: Math.max(0, caret - 1) } });
        return true;
      case "right":
        this.set({ ...s, search: { ...s.search, caret: Math.min(q.length, caret + 1) } });
        return true;
      case "home":
      case "C-a":
        this.set({ ...s, search: { ...s.search, caret: 0 } });
        return true;
      case "end":
        this.set({ ...s, search: { ...s.search, caret: q.length } });
        return true;
      case "C-u":
        update("", 0);
        return true;
      case "C-w": {
        const before = q.slice(0, caret).replace(/\S+\s*$/, "");
        update(before + q.slice(caret), before.length);
        return true;
      }
      case "enter":
      case "tab":
        this.set({ ...s, search: { ...s.search, editing: false } });
        return true;
      case "escape":
        this.set(derive({ ...s, search: { editing: false, query: "", caret: 0 } }));
        return true;
      default:
        return false; // arrows, page keys: navigate the list while typing
    }
  }

  /** Run an action by name (keys, mouse and snapshot `--keys` all end here). */
  async run(action: string): Promise<void> {
    const s = this.state;
    const tier = layoutTier(s.cols, s.rows);
    const info = this.deps.keymap.actions.get(action);
    if (info?.writes || action === "screenshot") {
      const why = this.disabledReason(action);
      if (why) {
        this.toast(why, "warn");
        return;
      }
      if (action === "screenshot") {
        if (this.deps.screenshot) await this.deps.screenshot(this);
        else this.toast("Screenshots are not available here", "warn");
        return;
      }
      await openFlow(this, action);
      return;
    }
    const page = tableRows(s);
    switch (action) {
      case "quit":
        this.quit();
        return;
      case "help":
        this.set({ ...s, help: { open: !s.help.open, scroll: 0 } });
        return;
      case "back":
        if (s.linkFocus) this.set({ ...s, linkFocus: null });
        else if (s.search.query !== "" || s.search.editing)
          this.set(derive({ ...s, search: { editing: false, query: "", caret: 0 } }));
        else if (s.thread.open) this.set({ ...s, thread: { open: false, scroll: 0 } });
        else if (s.compactDetail) this.set({ ...s, compactDetail: false });
        return;
      case "search":
        this.set({ ...s, search: { ...s.search, editing: true, caret: s.search.query.length } });
        return;
      case "filters":
        if (tier === "compact" || tier === "too-small") {
          this.toast("Filter panel not available in compact mode", "warn");
          return;
        }
        this.set(select({ ...s, filterPanel: !s.filterPanel }));
        return;
      case "clear-filters": {
        const empty = { hiddenStatuses: [], hiddenTags: [], hideTagged: false };
        if (activeFilterCount(s.filters) === 0) {
          this.toast("No filters to clear");
          return;
        }
        this.set(derive({ ...s, lastFilters: s.filters, filters: empty }));
        this.savePrefs();
        this.toast("Filters cleared (X restores them)");
        return;
      }
      case "restore-filters":
        if (!s.lastFilters) {
          this.toast("No cleared filters to restore");
          return;
        }
        this.set(derive({ ...s, filters: s.lastFilters }));
        this.savePrefs();
        return;
      case "view-next":
      case "view-prev": {
        const views = ["all", "ready", "inbox", "clusters"] as const;
        const i = views.indexOf(s.view);
        const view = views[(i + (action === "view-next" ? 1 : views.length - 1)) % views.length];
        this.set(derive({ ...s, view, cursor: 0, scroll: 0 }));
        return;
      }
      case "tree":
        if (tier === "compact" || tier === "too-small") {
          this.toast("Tree view not available in compact layout", "warn");
          return;
        }
        this.set(derive({ ...s, tree: !s.tree }));
        return;
      case "full-ids":
        this.set({ ...s, fullIds: !s.fullIds });
        return;
      case "open":
        if (!s.selectedId) return;
        if (s.linkFocus) {
          this.goTo(s.linkFocus);
          return;
        }
        if (tier === "compact") this.set({ ...s, compactDetail: true, detailScroll: 0 });
        else
          this.set({
            ...s,
            thread: { open: true, scroll: 0 },
            threadCursor: Math.max(0, (s.byId.get(s.selectedId)?.discussion.length ?? 1) - 1),
          });
        return;
      case "thread":
        if (!s.selectedId) return;
        this.set({
          ...s,
          thread: { open: !s.thread.open, scroll: 0 },
          threadCursor: Math.max(0, (s.byId.get(s.selectedId)?.discussion.length ?? 1) - 1),
        });
        if (this.state.thread.open) this.scrollThreadToCursor();
        return;
      case "problems":
        this.set({ ...s, problemsOpen: true, problemsScroll: 0 });
        return;
      case "trend":
        this.openTrend();
        return;
      case "reload":
        this.deps.tracker.refreshAll();
        this.reload();
        this.toast(`Reloaded ${this.state.items.length} items`);
        this.set(this.state);
        return;
      case "mark-read":
        this.toggleRead();
        return;
      case "copy":
        await this.copySelected();
        return;
      case "screenshot-preview":
        await this.previewSelected();
        return;
      case "screenshot-open":
      case "screenshot-copy":
        await this.screenshotOfSelected(action === "screenshot-open" ? "open" : "copy");
        return;
      case "cursor-up":
      case "cursor-down":
        if (s.thread.open) this.moveThreadCursor(action === "cursor-up" ? -1 : 1);
        else if (s.compactDetail)
          this.set({ ...s, detailScroll: Math.max(0, s.detailScroll + (action === "cursor-up" ? -1 : 1)) });
        else this.move(s.cursor + (action === "cursor-up" ? -1 : 1));
        return;
      case "page-up":
      case "page-down":
        if (s.thread.open)
          this.set({
            ...s,
            thread: {
              ...s.thread,
              scroll: Math.max(0, s.thread.scroll + (action === "page-up" ? -1 : 1) * (s.rows - 4)),
            },
          });
        else if (s.compactDetail)
          this.set({
            ...s,
            detailScroll: Math.max(0, s.detailScroll + (action === "page-up" ? -1 : 1) * (s.rows - 3)),
          });
        else this.move(s.cursor + (action === "page-up" ? -page : page));
        return;
      case "top":
        if (s.thread.open) this.set({ ...s, threadCursor: 0, thread: { ...s.thread, scroll: 0 } });
        else this.move(0);
        return;
      case "bottom":
        if (s.thread.open) this.moveThreadCursor(1e9);
        else this.move(s.shownCount - 1);
        return;
      case "detail-up":
      case "detail-down": {
        const d = action === "detail-up" ? -1 : 1;
        if (s.thread.open)
          this.set({ ...s, thread: { ...s.thread, scroll: Math.max(0, s.thread.scroll + d) } });
        else this.set({ ...s, detailScroll: Math.max(0, s.detailScroll + d) });
        return;
      }
      case "move-up":
      case "move-down": {
        if (s.view !== "all" || s.tree) {
          this.toast("Manual order works in the table of the 'all' view", "warn");
          return;
        }
        const next = reorder(s, action === "move-up" ? -1 : 1);
        if (next !== s) {
          this.set(next);
          this.savePrefs("Could not save display order");
        }
        return;
      }
      case "next-link":
      case "prev-link":
        this.cycleLink(action === "next-link" ? 1 : -1);
        return;
      case "goto":
        openGoto(this);
        return;
      case "nav-back":
      case "nav-forward":
        this.historyStep(action === "nav-back" ? -1 : 1);
        return;
      default:
        if (action.startsWith("toggle-")) {
          const n = Number(action.slice(7));
          const entry = numberedEntries(s)[n - 1];
          if (entry) this.set(toggleFilter(s, entry.key));
        }
    }
  }

  /** Why an action is disabled now (agent user, read-only, layout), or undefined. */
  disabledReason(action: string): string | undefined {
    const info = this.deps.keymap.actions.get(action);
    const s = this.state;
    if (info?.writes && s.readOnly) return `read-only session (${this.deps.readOnlyReason ?? "--read-only"})`;
    if (info?.humanOnly && s.actor.by === "agent") {
      const refusal = this.deps.tracker.humanOnlyRefusal(HUMAN_OP[action] ?? action);
      return `${refusal ?? "human only"} (you are the agent user '${s.actor.actor}')`;
    }
    if ((action === "tree" || action === "filters") && layoutTier(s.cols, s.rows) === "compact")
      return "not in the compact layout";
    if (action.startsWith("msg-") && !s.editMode?.on) return "edit mode is off (a human opens it with ^e)";
    return undefined;
  }

  private move(index: number): void {
    const next = moveCursor(this.state, index);
    if (next === this.state) return;
    this.state = next;
    this.updateDrift();
    this.set(this.state);
  }

  /** The selected item, or undefined after a toast saying none is selected. */
  private selectedOrSay(): Item | undefined {
    const it = selectedItem(this.state);
    if (!it) this.toast("No item selected", "warn");
    return it;
  }

  /** Focus the selected item's next (1) or previous (-1) link; scroll the detail to it. */
  private cycleLink(delta: 1 | -1): void {
    const s = this.state;
    const it = this.selectedOrSay();
    if (!it) return;
    const links = itemLinks(s, it);
    if (links.length === 0) {
      this.toast("This item names no other item (parent, isbefore, blockers or IDs in its text)");
      return;
    }
    const at = s.linkFocus ? links.findIndex((l) => l.id === s.linkFocus) : -1;
    const i = at < 0 ? (delta > 0 ? 0 : links.length - 1) : (at + delta + links.length) % links.length;
    const next: AppState = { ...s, linkFocus: links[i].id };
    if (layoutTier(s.cols, s.rows) === "compact" && !s.thread.open) next.compactDetail = true;
    const d = regions(next).detail;
    if (d && !s.thread.open) {
      const line = detailLineOf(next, it, d.w, links[i].id);
      if (line >= 0 && (line < next.detailScroll || line >= next.detailScroll + d.h))
        next.detailScroll = Math.max(0, line - Math.floor(d.h / 3));
    }
    this.set(next);
  }

  /**
   * Select an item, wherever it is: when the search, the view or the filters hide it they
   * are cleared, in that order and only as far as needed (a toast says which; cleared
   * filters are restored with X). Recorded in the jump history.
   * @returns false when no item has that ID (a toast says so)
   */
  goTo(id: string, record = true): boolean {
    let s = this.state;
    if (!s.byId.has(id)) {
      this.toast(`Item not found: ${id}`, "warn");
      return false;
    }
    const from = s.selectedId;
    const notes: string[] = [];
    const shown = (x: AppState) => x.tableStats.shown.has(id);
    let filtersCleared = false;
    if (!shown(s) && (s.search.query !== "" || s.search.editing)) {
      s = derive({ ...s, search: { editing: false, query: "", caret: 0 } });
      notes.push("search cleared");
    }
    if (!shown(s) && s.view !== "all") {
      s = derive({ ...s, view: "all" });
      notes.push("view: all");
    }
    if (!shown(s) && activeFilterCount(s.filters) > 0) {
      s = derive({
        ...s,
        lastFilters: s.filters,
        filters: { hiddenStatuses: [], hiddenTags: [], hideTagged: false },
      });
      notes.push("filters cleared (X restores them)");
      filtersCleared = true;
    }
    s = selectId(s, id);
    if (s.selectedId !== id) {
      this.toast(`${id} cannot be shown in this view`, "warn");
      return false;
    }
    s = { ...s, linkFocus: null, detailScroll: 0 };
    if (s.thread.open) s = { ...s, threadCursor: Math.max(0, (s.byId.get(id)?.discussion.length ?? 1) - 1) };
    if (record && from !== id) s = { ...s, history: pushHistory(s.history, from, id) };
    this.state = s;
    this.updateDrift();
    this.set(this.state);
    if (s.thread.open) this.scrollThreadToCursor();
    if (filtersCleared) this.savePrefs();
    if (notes.length) this.toast(`Showing ${id}: ${notes.join(", ")}`);
    return true;
  }

  /** Back (-1) or forward (1) in the jump history, skipping items that no longer exist. */
  private historyStep(delta: -1 | 1): void {
    const s = this.state;
    let h = s.history;
    // Moved away from the last jump's item: that position is recorded first, so forward
    // comes back to it.
    if (delta < 0 && s.selectedId && h.pos >= 0 && h.ids[h.pos] !== s.selectedId)
      h = pushHistory(h, null, s.selectedId);
    let pos = h.pos + delta;
    while (pos >= 0 && pos < h.ids.length && !s.byId.has(h.ids[pos])) pos += delta;
    if (pos < 0 || pos >= h.ids.length) {
      this.toast(
        delta < 0
          ? "No earlier item in the jump history (jumps: Tab then Enter on a link, or go to)"
          : "No later item in the jump history",
      );
      return;
    }
    if (this.goTo(h.ids[pos], false)) this.set({ ...this.state, history: { ids: h.ids, pos } });
  }

  private moveThreadCursor(delta: number): void {
    const s = this.state;
    const it = selectedItem(s);
    if (!it) return;
    const n = it.discussion.length;
    const cur = Math.max(0, Math.min(n - 1, s.threadCursor + delta));
    this.state = { ...s, threadCursor: cur };
    this.scrollThreadToCursor();
    this.set(this.state);
  }

  private scrollThreadToCursor(): void {
    const s = this.state;
    const it = selectedItem(s);
    if (!it) return;
    const blocks = threadBlocks(s, it, s.cols);
    let start = 0;
    for (let i = 0; i < s.threadCursor && i < blocks.length; i++) start += blocks[i].lines.length;
    const len = blocks[s.threadCursor]?.lines.length ?? 1;
    const h = Math.max(1, s.rows - 3 - (s.search.query ? 1 : 0) - (s.editMode?.on ? 1 : 0));
    let scroll = s.thread.scroll;
    if (start < scroll) scroll = start;
    if (start + len > scroll + h) scroll = Math.max(0, start + len - h);
    this.state = { ...s, thread: { ...s.thread, scroll } };
  }

  /** The focused thread message (thread view), if any. */
  focusedMessage(): { item: Item; nonce: string; index: number } | null {
    const s = this.state;
    const it = selectedItem(s);
    if (!it || !s.thread.open) return null;
    const e = it.discussion[s.threadCursor];
    return e ? { item: it, nonce: e.nonce, index: s.threadCursor } : null;
  }

  private toggleRead(): void {
    const s = this.state;
    const it = this.selectedOrSay();
    if (!it) return;
    const unread = isUnread(s, it);
    const readState = { ...s.readState, [it.id]: { read: unread, discussion_len: it.discussion.length } };
    this.set(derive({ ...s, readState }));
    this.savePrefs();
    this.toast(unread ? `Marked read: ${it.id}` : `Marked unread: ${it.id}`);
  }

  /** Plain text of the selected item's detail (what `copy` puts on the clipboard). */
  selectedText(): string | null {
    const s = this.state;
    const it = selectedItem(s);
    if (!it) return null;
    const lines = detailLines({ ...s, cols: 1000, rows: 1000 }, it, 1000);
    return lines.map((l) => l.map(([t]) => t).join("")).join("\n");
  }

  private async copySelected(): Promise<void> {
    const text = this.selectedText();
    if (text === null || !this.state.selectedId) {
      this.toast("No item selected", "warn");
      return;
    }
    if (!this.deps.copy) {
      this.toast("Clipboard not available", "warn");
      return;
    }
    try {
      const how = await this.deps.copy(text);
      this.toast(`Copied ${this.state.selectedId} to clipboard (${how})`);
    } catch (e) {
      this.toast(`Copy failed: ${(e as Error).message}`, "error");
    }
  }

  /** The preview being drawn (a newer one or closing the overlay drops it). */
  private previewRun: object | null = null;

  /** Path of the newest screenshot attached to the selected item, or null (toast said why). */
  private newestScreenshot(): string | null {
    const it = selectedItem(this.state);
    const refs = it
      ? screenshotRefs(it.discussion.filter((e) => !e.is_tombstoned).map((e) => e.message))
      : [];
    if (!it || refs.length === 0) {
      this.toast("No screenshot attached to this item", "warn");
      return null;
    }
    const ref = refs[refs.length - 1];
    return path.isAbsolute(ref) ? ref : path.join(path.dirname(this.deps.tracker.paths.root), ref);
  }

  /** Draw the selected item's newest screenshot in the terminal (the preview overlay). */
  private async previewSelected(): Promise<void> {
    const file = this.newestScreenshot();
    if (!file) return;
    const run = {};
    this.previewRun = run;
    this.set({ ...this.state, preview: { open: true, file, picture: null } });
    const s = this.state;
    const r = await previewSvg(file, s.cols, Math.max(1, s.rows - 3));
    if (this.previewRun !== run) return;
    this.previewRun = null;
    this.set({
      ...this.state,
      preview:
        "picture" in r
          ? { open: true, file, picture: r.picture }
          : { open: true, file, picture: null, message: r.error },
    });
  }

  /** Open or copy the path of the newest screenshot attached to the selected item. */
  private async screenshotOfSelected(what: "open" | "copy"): Promise<void> {
    const file = this.newestScreenshot();
    if (!file) return;
    if (what === "copy" || !this.deps.open) {
      if (this.deps.copy) {
        const how = await this.deps.copy(file).catch((e: Error) => `failed: ${e.message}`);
        this.toast(`Screenshot path copied (${how}): ${file}`);
      } else this.toast(`Screenshot: ${file}`);
      return;
    }
    const r = await this.deps.open(file);
    this.toast(r ?? `Opened ${file}`, r ? "warn" : "info");
  }

  /** Save preferences; shows a warning toast when the file cannot be written. */
  savePrefs(failure = "Could not save preferences"): boolean {
    if (this.deps.persistPrefs === false) return true;
    const s = this.state;
    const prefs: Preferences = {
      ...this.prefs,
      hidden_statuses: s.filters.hiddenStatuses,
      hidden_tags: s.filters.hiddenTags,
      hide_tagged: s.filters.hideTagged,
      display_order: s.customOrder,
      human_read_state: s.readState,
      last_filters: s.lastFilters
        ? {
            hidden_statuses: s.lastFilters.hiddenStatuses,
            hidden_tags: s.lastFilters.hiddenTags,
            hide_tagged: s.lastFilters.hideTagged,
          }
        : null,
      toggle_sessions: s.pastSessions,
    };
    try {
      savePrefs(this.deps.tracker.paths.prefsFile, prefs);
      this.prefs = prefs;
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      this.toast(
        `${failure} (${code === "EACCES" || code === "EPERM" ? "permission denied" : (e as Error).message})`,
        "warn",
      );
      return false;
    }
  }

  /**
   * Stop the background work of the analysis views (clustering, its waiting re-run, the trend
   * replay): the session is closing.
   */
  stopBackground(): void {
    if (this.clusterTimer) clearTimeout(this.clusterTimer);
    this.clusterTimer = null;
    this.clusterRun = null;
    this.trendRun = null;
  }

  /** Quit: save preferences with this session's toggle counts appended. */
  quit(): void {
    const s = this.state;
    if (Object.keys(s.sessionCounts).length > 0) {
      this.state = { ...s, pastSessions: [...s.pastSessions, s.sessionCounts].slice(-9), sessionCounts: {} };
    }
    this.savePrefs();
    this.exitResolve?.();
  }

  // ----------------------------------------------------------------------------------
  // Mouse
  // ----------------------------------------------------------------------------------

  /** Mouse: click a row to select it, wheel to move, click a filter entry to toggle it. */
  mouse(ev: { action: "click" | "up" | "move" | "wheelup" | "wheeldown"; x: number; y: number }): void {
    const s = this.state;
    if (s.annotate && !s.dialog) {
      annotateMouse(this, { action: ev.action === "click" ? "down" : ev.action, x: ev.x, y: ev.y });
      return;
    }
    if (ev.action === "up" || ev.action === "move") return;
    if (s.dialog || s.help.open || s.problemsOpen || s.trend.open || s.preview.open) return;
    const r = regions(s);
    if (ev.action === "click") {
      const link = linkAt(s, ev.x, ev.y);
      if (link) {
        this.goTo(link);
        return;
      }
    }
    if (ev.action === "wheelup" || ev.action === "wheeldown") {
      void this.run(ev.action === "wheelup" ? "cursor-up" : "cursor-down");
      return;
    }
    const t = r.table;
    if (t && !s.thread.open && ev.x >= t.x && ev.x < t.x + t.w && ev.y > t.y && ev.y < t.y + t.h) {
      const idx = s.scroll + (ev.y - t.y - 1);
      if (idx < s.shownCount) this.move(idx);
      return;
    }
    const fp = r.filterPanel;
    if (fp && ev.x >= fp.x && ev.y >= fp.y && ev.y < fp.y + fp.h) {
      const lineNo = ev.y - fp.y;
      const e = filterEntries(s);
      const rows: (string | null)[] = [null, null];
      if (e.favorites.length) rows.push(null, ...e.favorites.map((x) => x.key));
      rows.push(null, ...e.statuses.map((x) => x.key), null, ...e.tags.map((x) => x.key));
      const key = rows[lineNo];
      if (key) this.set(toggleFilter(s, key));
    }
  }

  // ----------------------------------------------------------------------------------
  // Hints and dialogs
  // ----------------------------------------------------------------------------------

  private refreshHints(): void {
    const s = this.state;
    const km = this.deps.keymap;
    const ctx = this.contexts();
    const hints: KeyHint[] = [];
    if (s.dialog) {
      for (const a of ["submit", "next-field", "cancel"]) {
        const ks = keysFor(km, ["dialog"], a);
        if (ks.length) hints.push({ keys: [displayKey(ks[0])], label: SHORT[a] ?? a });
      }
    } else if (s.annotate) {
      // The annotation status line (views/annotate.ts) shows these, most needed first.
      const ann: [string, string][] = [
        ["annotate-mark", "mark"],
        ["annotate-save", "save"],
        ["annotate-discard", "discard"],
        ["annotate-undo", "undo"],
        ["annotate-redo", "redo"],
        ["annotate-color", "colour"],
        ["annotate-select-next", "select"],
        ["annotate-nudge-right", "nudge"],
        ["annotate-delete", "delete"],
        ["annotate-rect", "rect"],
        ["annotate-arrow", "arrow"],
        ["annotate-label", "label"],
      ];
      for (const [a, label] of ann) {
        const ks = keysFor(km, ["annotate"], a);
        if (ks.length) hints.push({ keys: [displayKey(ks[0])], label, action: a });
      }
    } else if (s.trend.open || s.preview.open || s.problemsOpen) {
      // Overlays that only close: say how (the keys under them do nothing meanwhile).
      const ks = keysFor(km, ["global"], "back");
      if (ks.length) hints.push({ keys: [displayKey(ks[0])], label: "Close" });
      if (s.problemsOpen) hints.push({ keys: ["↑↓"], label: "Scroll" });
    } else if (s.search.editing) {
      hints.push(
        { keys: ["Enter"], label: "Keep" },
        { keys: ["Esc"], label: "Clear" },
        { keys: ["↑↓"], label: "Move" },
      );
    } else if (s.linkFocus) {
      // The focused link: where it goes, then how to go, move on or leave.
      const it = selectedItem(s);
      const links = it ? itemLinks(s, it) : [];
      const i = links.findIndex((l) => l.id === s.linkFocus);
      const target = s.byId.get(s.linkFocus);
      const keys = (a: string, label: string) => {
        const ks = keysFor(km, ctx, a);
        if (ks.length) hints.push({ keys: [displayKey(ks[0])], label });
      };
      const head = `Link ${i + 1}/${links.length}`;
      keys("open", "Go");
      keys("next-link", "Next");
      keys("back", "Cancel");
      // The link's hint goes first, cut to the room the key hints leave (drawFooter's cells).
      const room = hints.reduce((n, h) => n - (strWidth(h.keys[0]) + 1 + strWidth(h.label) + 2), s.cols);
      // (the ID's first two words, as the chain bar shows IDs: a full one fills a narrow footer)
      const short = s.linkFocus.split("-").slice(0, 2).join("-");
      const about = `${i >= 0 ? `${links[i].via} ` : ""}${short}${target ? ` ${displayText(target.title, s.ascii)}` : ""}`;
      hints.unshift({ keys: [head], label: truncate(about, Math.max(8, room - head.length - 3)) });
    } else {
      const order = s.thread.open
        ? ["back", "msg-delete", "msg-undelete", "msg-edit", "discuss", "quit"]
        : FOOTER_ORDER;
      for (const a of order) {
        const ks = keysFor(km, ctx, a);
        if (!ks.length) continue;
        hints.push({ keys: [displayKey(ks[0])], label: SHORT[a] ?? a, disabled: this.disabledReason(a) });
      }
    }
    // The help listing is only built while help is shown (not on every cursor move).
    if (!s.help.open) {
      this.state = { ...this.state, keyHints: hints, helpSections: [] };
      return;
    }
    const groups = new Map<string, KeyHint[]>();
    for (const [name, info] of km.actions) {
      const ks = keysFor(km, [...ctx, "global", "filters", "thread", "dialog", "annotate"], name);
      if (!groups.has(info.group)) groups.set(info.group, []);
      groups
        .get(info.group)!
        .push({ keys: ks.map(displayKey), label: info.description, disabled: this.disabledReason(name) });
    }
    const helpSections = [...groups.entries()].map(([title, rows]) => ({ title, rows }));
    const closers = [...keysFor(km, ["global"], "back"), ...keysFor(km, ["global"], "help")].map(displayKey);
    const helpCloseKeys = closers.length ? closers.join(" or ") : "Esc";
    this.state = { ...this.state, keyHints: hints, helpSections, helpCloseKeys };
  }

  /** Open a dialog (flows). */
  openDialog(d: Dialog): void {
    this.set({ ...this.state, dialog: d });
  }

  /** Close the dialog. */
  closeDialog(): void {
    this.set({ ...this.state, dialog: null });
  }

  /** Select an item after a write (e.g. the new item). */
  focusItem(id: string): void {
    this.set(selectId(this.state, id));
  }

  private updateDialogBanner(ev: ChangeEvent): void {
    const d = this.state.dialog;
    if (!d?.itemId) return;
    const touched = [...ev.changed, ...ev.removed].some((c) => c.id === d.itemId);
    if (!touched || ev.source === "local") return;
    const now = this.state.byId.get(d.itemId);
    const banner = now
      ? `This item changed on disk while the dialog was open (now: status ${now.status}, P${now.priority}, ${now.discussion.length} messages). Saving writes only the fields you changed.`
      : "This item was removed on disk while the dialog was open.";
    this.state = { ...this.state, dialog: { ...d, banner } };
  }

  /** Keep the table scroll consistent after outside changes. */
  normalise(): void {
    this.set(keepVisible(this.state));
  }
}

function errorsOf(query: string): string[] {
  // Parsed lazily to show the first query error in the search bar.
  return parseErrors(query);
}

import { parseQuery } from "../index.js";

function parseErrors(q: string): string[] {
  return parseQuery(q).errors;
}

function emptyClusterView(): ClusterView {
  return { progress: 0, done: false, byId: new Map(), order: [], clusters: 0, considered: 0 };
}

/** The selected item, if any. */
function selectedItem(s: AppState): Item | undefined {
  return s.selectedId ? s.byId.get(s.selectedId) : undefined;
}
