/**
 * htrac public API: the validated store shared by the agent CLI and the TUI.
 *
 * - `parseOpLog` / `serializeOp`: the op-log format (store.md §2), byte-compatible with the
 *   Python reference.
 * - `compileOps`: op list → item (store.md §3).
 * - `computeItemId`: content-hash proquint IDs (store.md §4.1).
 * - `loadConfig`, `openTracker`: the tracker with every read, write guard and the append
 *   protocol (store.md §5–§7), plus `watch` (the change feed).
 */
export { type Actor, fnmatch, resolveActor } from "./store/actor.js";
export { compileOps, type DiscussionEntry, type Item, TIERS, type Tier } from "./store/compile.js";
export {
  configFromYaml,
  type FieldSchema,
  type KindConfig,
  loadConfig,
  type TrackerConfig,
} from "./store/config.js";
export * from "./store/errors.js";
export { computeItemId, pyJsonDumps, shortId } from "./store/ids.js";
export { type Op, type ParseResult, type Problem, parseOpLog } from "./store/oplog.js";
export { serializeOp } from "./store/serialize.js";
export {
  type AddInput,
  type AddResult,
  type ListFilter,
  type OpenOptions,
  openTracker,
  Tracker,
  type UpdateInput,
  unreadHumanEntries,
  type WriteResult,
} from "./store/tracker.js";
export {
  type ValidateOptions,
  type ValidationReport,
  validateFiles,
  validateTracker,
} from "./store/validate.js";
export { type ChangeEvent, type Watcher, type WatchOptions, watchTracker } from "./store/watch.js";
