/**
 * The plain-data state the views render. The app builds and updates it; views only read it.
 * Everything a frame shows is in here (items, derived rows, dialogs, toasts, key hints), so
 * the same state and size always draw the same cells.
 */
import type { Item, Problem, Tier, TrackerConfig, TrendPoint } from "../index.js";
import type { Glyphs } from "./theme.js";

/** Layout tier by terminal size (tui.md §1.1). */
export type LayoutTier = "too-small" | "compact" | "standard" | "wide";

/** Which list the table shows. */
export type ViewName = "all" | "ready" | "inbox" | "clusters";

/** The clusters view's data (cli.md §2.19 clusters of the open items), made by the app. */
export interface ClusterView {
  /** Share of the clustering done (0–1). */
  progress: number;
  done: boolean;
  /** The cluster of each member: rank, size, mean pairwise similarity (0–1). */
  byId: Map<string, { rank: number; size: number; similarity: number }>;
  /** Members, cluster by cluster in rank order. */
  order: string[];
  clusters: number;
  /** Items considered (status not resolved). */
  considered: number;
}

/** Filter panel state persisted in the preferences file (tui.md §3.1). */
export interface FilterState {
  hiddenStatuses: string[];
  hiddenTags: string[];
  hideTagged: boolean;
}

/** Role of a row in the isbefore chain of the selected item (tui.md §1.12). */
export type ChainRole = "selected" | "blocker" | "dependent" | "transitive-blocker" | "transitive-dependent";

/** One displayed row of the table or tree. */
export interface Row {
  id: string;
  /** Tree depth (0 in table mode). */
  depth: number;
  /** Ghost row: a chain member hidden by filters (shown dimmed at the bottom). */
  ghost: boolean;
  /** Shown although filtered out because the human has not read it (tui.md §3.2 step 6). */
  unreadOverride: boolean;
  /** Tree connector prefix (tree mode). */
  prefix?: string;
}

/** A key binding shown in the footer or help. */
export interface KeyHint {
  keys: string[];
  label: string;
  group?: string;
  disabled?: string;
  /** The action the keys run (when a view needs to pick a hint). */
  action?: string;
}

/** A toast message. */
export interface Toast {
  message: string;
  level: "info" | "warn" | "error";
  until: number;
}

/** A form field of a dialog. */
export interface DialogField {
  name: string;
  label: string;
  kind: "text" | "multiline" | "select" | "checkbox" | "readonly";
  value: string;
  /** Choices for `select` (value and label). */
  options?: { value: string; label: string; hint?: string }[];
  placeholder?: string;
  /** Inline validation message. */
  error?: string;
  /** Cursor position in the text (text and multiline). */
  caret?: number;
  /** First visible line of a multiline field. */
  scroll?: number;
  required?: boolean;
  help?: string;
}

/** A modal dialog (forms, confirmations, choosers, lists). */
export interface Dialog {
  id: string;
  kind: "form" | "confirm" | "choose" | "list" | "message";
  title: string;
  /** Free text lines above the fields. */
  lines?: string[];
  fields: DialogField[];
  /** Index of the focused field; fields.length… are the buttons. */
  focus: number;
  buttons: { id: string; label: string }[];
  /** Banner shown when the underlying item changed on disk (write flows). */
  banner?: string;
  error?: string;
  /** Item the dialog acts on. */
  itemId?: string;
  /** For `choose` / `list`: the highlighted option and scroll. */
  cursor?: number;
  scroll?: number;
  /** Arbitrary data the app keeps with the dialog (snapshot of the item, etc.). */
  data?: unknown;
  /** Enter in a one-line field submits (one-field prompts such as go to). */
  submitOnEnter?: boolean;
}

/** Everything the views draw. */
export interface UiState {
  cols: number;
  rows: number;
  /** Clock (epoch ms) for relative times and toasts. */
  now: number;
  color: boolean;
  glyphs: Glyphs;
  ascii: boolean;
  root: string;
  actor: { by: "agent" | "human"; actor: string };
  readOnly: boolean;
  config: TrackerConfig;
  /** All items, one per ID (preferred tier), in default order (priority, created). */
  items: Item[];
  byId: Map<string, Item>;
  /** Every item ID, sorted (code-unit order): shortest unique prefixes, mention lookup. */
  sortedIds: string[];
  /** Item IDs named in text: the config kinds' mention pattern (store/mentions.ts), or null. */
  linkPattern: RegExp | null;
  /** The clusters view's clusters (null until that view is first opened). */
  clusterView: ClusterView | null;
  /**
   * A screenshot drawn in cells (`I`): the file's name, then the picture (top and bottom
   * palette colour per cell, as app/preview.ts makes it) or why it cannot be drawn.
   */
  preview: {
    open: boolean;
    file: string;
    picture: { cols: number; rows: number; colors: Uint8Array } | null;
    message?: string;
  };
  /** The priority-trend overlay (`P`): progress while the op logs are read, then the days. */
  trend: { open: boolean; progress: number; points: TrendPoint[] | null };
  /** IDs present in more than one tier. */
  conflicts: Set<string>;
  /** Total item files (including uncompilable ones). */
  totalFiles: number;
  view: ViewName;
  filters: FilterState;
  filterPanel: boolean;
  search: { editing: boolean; query: string; caret: number; error?: string };
  /** Rows of the current view (table or tree), ghost rows last. */
  rowsList: Row[];
  /** Rows of the view without ghost rows (recomputed only when items/filters change). */
  baseRows: Row[];
  /** Column statistics of `baseRows` (computed with the rows, not per frame). */
  tableStats: {
    ids: string[];
    shown: ReadonlySet<string>;
    maxStatus: number;
    maxTags: number;
    /** Uncapped shortest-unique-prefix width of the shown IDs (tui.md §1.8). */
    idWidth: number;
  };
  /** id → IDs of items listing it in their isbefore (blockers). */
  blockers: Map<string, string[]>;
  /** Number of non-ghost rows. */
  shownCount: number;
  cursor: number;
  scroll: number;
  selectedId: string | null;
  /** The selected item's link (an item ID) focused with Tab, or null (views/links.ts). */
  linkFocus: string | null;
  chain: Map<string, ChainRole>;
  /** Direct and transitive blockers/dependents of the selection, for the chain bar. */
  chainSummary: {
    blockers: string[];
    viaBlockers: string[];
    dependents: string[];
    thenDependents: string[];
  } | null;
  tree: boolean;
  fullIds: boolean;
  compactDetail: boolean;
  detailScroll: number;
  thread: { open: boolean; scroll: number };
  help: { open: boolean; scroll: number };
  problemsOpen: boolean;
  problemsScroll: number;
  dialog: Dialog | null;
  toasts: Toast[];
  live: { mode: "events" | "polling" | "off"; note?: string };
  problems: Problem[];
  editMode: { on: boolean; remainingS: number; used: number; cap: number } | null;
  /** Human read state overrides (tui.md §1.13). */
  readState: Record<string, { read: boolean; discussion_len: number }>;
  /** IDs the human has not read (computed). */
  unread: Set<string>;
  /** Favourite filter keys (`status:x`, `tag:y`, `meta:tagged`). */
  favorites: string[];
  /** Footer hints for the current context; help sections for `?`. */
  keyHints: KeyHint[];
  helpSections: { title: string; rows: KeyHint[] }[];
  /** Keys that close the help overlay, for its title (e.g. "Esc or ?"). */
  helpCloseKeys: string;
  /** The selected frozen item's op file differs from its sentinel (tui.md §1.10). */
  selectedDrift?: boolean;
  /** Message focused in the thread view. */
  threadCursor?: number;
  /** Annotation mode over a screenshot, when active. */
  annotate?: AnnotateState | null;
}

/** A mark drawn over a screenshot, in cell coordinates of the frozen screen (inclusive). */
export interface Annotation {
  kind: "rect" | "arrow" | "label";
  /** Start cell (rect corner, arrow tail, label position). */
  x1: number;
  y1: number;
  /** End cell (rect opposite corner, arrow head; the label's position again). */
  x2: number;
  y2: number;
  /** Label number (`[n]`), labels only. */
  n?: number;
  /** Label text (may be empty), labels only. */
  text?: string;
  /** Colour name (see ANNOTATION_COLORS). */
  color: string;
}

/** Annotation mode over a frozen screen (issue: screenshot and annotation). */
export interface AnnotateState {
  /** The captured screen, cell for cell. */
  frozen: [number, string][][];
  cols: number;
  rows: number;
  /** The saved (unannotated) screenshot: SVG path and base name without extension. */
  file: string;
  base: string;
  dir: string;
  /** Item selected when the screenshot was taken. */
  itemId: string | null;
  tool: "rect" | "arrow" | "label";
  /** Index into ANNOTATION_COLORS. */
  color: number;
  /** Marks in drawing order. */
  items: Annotation[];
  /** Undone marks, most recent last (redo pops from here). */
  redo: Annotation[];
  /** Mark that nudges move (index into items), or null. */
  selected: number | null;
  /** Keyboard cursor. */
  cursor: { x: number; y: number };
  /** First corner/tail placed with the keyboard (or a mouse drag start). */
  anchor: { x: number; y: number } | null;
  /** Mouse drag in progress (start and current cell). */
  drag: { x1: number; y1: number; x2: number; y2: number } | null;
  /** Label being typed. */
  label: { x: number; y: number; n: number; text: string } | null;
  /** Esc pressed with marks: waiting for y/n. */
  confirmDiscard: boolean;
  nextLabel: number;
  /** One-line message in the status line. */
  message?: string;
}

/** Annotation colours: name, SVG colour, terminal palette index. */
export const ANNOTATION_COLORS: readonly { name: string; hex: string; term: number }[] = [
  { name: "red", hex: "#ff3333", term: 196 },
  { name: "yellow", hex: "#ffd21f", term: 220 },
  { name: "green", hex: "#2fd35a", term: 41 },
  { name: "cyan", hex: "#33c7ff", term: 45 },
  { name: "magenta", hex: "#ff4fd8", term: 207 },
];

/** Tier label letters (tui.md §1.8). */
export const TIER_LETTER: Record<Tier, string> = { canonical: "C", workspace: "W", stealth: "S" };
