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
export {
  compileOps,
  type DiscussionEntry,
  type Item,
  type ItemSummary,
  summarizeItem,
  TIERS,
  type Tier,
} from "./store/compile.js";
export {
  configFromYaml,
  DEFAULT_CONFIG_YAML,
  defaultStatus,
  type FieldSchema,
  type KindConfig,
  kindByName,
  loadConfig,
  statusesForKind,
  TEMPLATE_CONFIG_YAML,
  type TrackerConfig,
} from "./store/config.js";
export {
  type Cluster,
  clusterItems,
  type ClusterOptions,
  type ClusterResult,
  clusterSteps,
  clusterText,
  itemTexts,
} from "./store/clusters.js";
export * from "./store/errors.js";
export { type GenerateOptions, generateTracker } from "./store/generate.js";
export { computeItemId, FULL_ID_RE, idPatternFor, pyJsonDumps, shortId } from "./store/ids.js";
export { type ItemSource, lastAuthor, LazyItem, threadLength } from "./store/lazyitem.js";
export { type Op, type ParseResult, type Problem, parseOpLog, parseYamlDocument } from "./store/oplog.js";
export {
  ensureRepoGitattributes,
  ensureTextconvDrivers,
  fixTierDirModes,
  installConfig,
  scaffoldTracker,
  setStopHookScope,
} from "./store/layout.js";
export { ADR_REF, mentionPattern } from "./store/mentions.js";
export { priorityTrend, priorityTrendSteps, type TrendPoint } from "./store/trend.js";
export { findTrackerRoot, normaliseTrackerRoot, type TrackerPaths, trackerPaths } from "./store/paths.js";
export {
  matchQuery,
  parseQuery,
  type Query,
  type QueryContext,
  type QueryTerm,
  SEARCH_TEXT_KEY,
  searchText,
} from "./store/query.js";
export { serializeOp } from "./store/serialize.js";
export { hamming, simhash, simhashText } from "./store/simhash.js";
export { compileOpFile, idOfOpFileName } from "./store/tierstore.js";
export {
  deprecatedTagWarnings,
  deprecateTag,
  describeTag,
  renameTag,
  type TagCatalog,
  type TagEntry,
  tagCatalog,
  tagCounts,
  touchTags,
} from "./store/tags.js";
export { hasUnsafeText, sanitizeText } from "./store/text.js";
export {
  type AddInput,
  type AddResult,
  type EditModeStatus,
  type ListFilter,
  LOCKABLE_FIELDS,
  type LocalChange,
  type OpenOptions,
  openTracker,
  RefResolutionError,
  TAG_RE,
  Tracker,
  UPDATABLE_FIELDS,
  type UpdateInput,
  unreadHumanEntries,
  type WriteResult,
} from "./store/tracker.js";
export { holdHeapGrowth, holdYoungGeneration } from "./store/younggen.js";
export {
  type ValidateOptions,
  type ValidationReport,
  validateFiles,
  validateText,
  validateTracker,
} from "./store/validate.js";
export { PyFloat, pyFloatRepr, pyStr, toJsonValue, type YamlValue } from "./store/values.js";
export { type ChangeEvent, type Watcher, type WatchOptions, watchTracker } from "./store/watch.js";
