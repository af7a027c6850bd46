/**
 * The TUI preferences file `<root>/tracker-workspace/tui_preferences.json`, schema v2, shared
 * with the reference TUI (tui.md §3.7): hidden statuses/tags, Tagged, display order, toggle
 * sessions (favourites), last filters, human read state. Unknown keys are kept. Writes are
 * atomic (temp file, fsync, rename) and keep the existing file mode (the directory is shared
 * by a group).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** Preferences as stored (v2). */
export interface Preferences {
  version: 2;
  hidden_statuses: string[];
  display_order: string[];
  hidden_tags: string[];
  toggle_sessions: Record<string, number>[];
  last_filters: { hidden_statuses: string[]; hidden_tags: string[]; hide_tagged: boolean } | null;
  hide_tagged: boolean;
  human_read_state: Record<string, { read: boolean; discussion_len: number }>;
  race_log_path?: string;
  /** Keys written by other versions, preserved on save. */
  [extra: string]: unknown;
}

/** Default preferences. */
export function defaultPrefs(): Preferences {
  return {
    version: 2,
    hidden_statuses: [],
    display_order: [],
    hidden_tags: [],
    toggle_sessions: [],
    last_filters: null,
    hide_tagged: false,
    human_read_state: {},
  };
}

function strList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/**
 * Load preferences: a missing or corrupt file gives defaults; version 1 files get defaults
 * for the keys they lack; a legacy flat `toggle_counts` becomes one session.
 */
export function loadPrefs(file: string): { prefs: Preferences; problem?: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { prefs: defaultPrefs() };
    return {
      prefs: defaultPrefs(),
      problem: `${file}: unreadable preferences ignored (${(e as Error).message})`,
    };
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    return { prefs: defaultPrefs(), problem: `${file}: not a JSON object; defaults used` };
  const o = raw as Record<string, unknown>;
  const p: Preferences = { ...o, ...defaultPrefs() } as Preferences;
  p.hidden_statuses = strList(o.hidden_statuses);
  p.display_order = strList(o.display_order);
  p.hidden_tags = strList(o.hidden_tags);
  p.hide_tagged = o.hide_tagged === true;
  if (Array.isArray(o.toggle_sessions)) {
    p.toggle_sessions = o.toggle_sessions
      .filter((x): x is Record<string, number> => !!x && typeof x === "object")
      .slice(-9);
  } else if (o.toggle_counts && typeof o.toggle_counts === "object") {
    p.toggle_sessions = [o.toggle_counts as Record<string, number>];
  }
  const lf = o.last_filters as Record<string, unknown> | null | undefined;
  p.last_filters =
    lf && typeof lf === "object"
      ? {
          hidden_statuses: strList(lf.hidden_statuses),
          hidden_tags: strList(lf.hidden_tags),
          hide_tagged: lf.hide_tagged === true,
        }
      : null;
  const rs = o.human_read_state;
  p.human_read_state = {};
  if (rs && typeof rs === "object") {
    for (const [id, v] of Object.entries(rs as Record<string, unknown>)) {
      const e = v as Record<string, unknown>;
      if (e && typeof e.read === "boolean" && typeof e.discussion_len === "number")
        p.human_read_state[id] = { read: e.read, discussion_len: e.discussion_len };
    }
  }
  if (typeof o.race_log_path === "string") p.race_log_path = o.race_log_path;
  p.version = 2;
  return { prefs: p };
}

/**
 * Save preferences atomically, keeping the file mode of an existing file.
 * @throws the underlying error (the caller shows "Could not save preferences (…)")
 */
export function savePrefs(file: string, prefs: Preferences): void {
  let mode = 0o664;
  try {
    mode = fs.statSync(file).mode & 0o7777;
  } catch {
    /* new file */
  }
  const ordered: Preferences = {
    ...prefs,
    version: 2,
    hidden_statuses: [...prefs.hidden_statuses].sort(),
    hidden_tags: [...prefs.hidden_tags].sort(),
  };
  const tmp = path.join(path.dirname(file), `.tui_preferences.${randomBytes(4).toString("hex")}.tmp`);
  const fd = fs.openSync(tmp, "wx", mode);
  try {
    fs.writeSync(fd, `${JSON.stringify(ordered, null, 2)}\n`);
    fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
