/**
 * The tracker: three tiers, the config, the actor, and every read and write of the store.
 *
 * This is the single write path of the project (DESIGN.md): the agent CLI and the TUI both
 * call these methods; neither opens an op file. Writes apply the reference's write-time
 * guards (store.md §5.3, §6) with its messages, a few stricter checks the reference leaves
 * to `validate` (status known, priority 0–4; cli.md §13 item 7), and the append protocol
 * (§7.2, see append.ts).
 */

import { type ChangeEvent, type Watcher, type WatchOptions, watchTracker } from "./watch.js";
import {
  CACHE_GROUP,
  type CacheSource,
  deltaCachePath,
  indexCachePath,
  type LoadedTierCache,
  loadTierCache,
  saveTierCache,
  saveTierCacheInBackground,
} from "./indexcache.js";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { type Actor, osUser, resolveActor, type UserProvider } from "./actor.js";
import {
  type AppendEnv,
  type AppendResult,
  appendEditModeLog,
  appendOp,
  createItemFile,
  ensureDir,
  type LockedState,
  randomNonce,
  replaceOpFile,
  writeFrozenCopy,
} from "./append.js";
import {
  buildWindows,
  type DiscussionEntry,
  type Item,
  type ItemSummary,
  parseAtMicros,
  SET_FIELDS,
  sortOps,
  TIERS,
  type Tier,
} from "./compile.js";
import {
  defaultStatus,
  type KindConfig,
  kindByName,
  kindByPrefix,
  configSignature,
  fallbackConfig,
  type LoadConfigOptions,
  loadConfig,
  type TrackerConfig,
} from "./config.js";
import {
  AliasError,
  AmbiguousPrefixError,
  ConfigValidationError,
  CorruptFileError,
  DiscussionRateLimitError,
  EditModeNotActiveError,
  HumanAuthorityError,
  ItemExistsError,
  ItemNotFoundError,
  LockedFieldError,
  TierMovementError,
  TrackerError,
  ValidationError,
} from "./errors.js";
import { defaultLockTimeoutMs, lockExclusive, unlock } from "./flock.js";
import { computeItemId, isSafeIdComponent } from "./ids.js";
import { moveJournal, type RecoverResult, recoverFromJournal, splitOpBlocks } from "./journal.js";
import { serializeOp } from "./serialize.js";
import { LazyItem } from "./lazyitem.js";
import { type Op, type Problem, parseOpLog } from "./oplog.js";
import {
  aliasFallbackDir,
  cacheFingerprint,
  editModeLogPath,
  findRepoRoot,
  findTrackerRoot,
  frozenPathFor,
  normaliseTrackerRoot,
  opFilePath,
  type TrackerPaths,
  trackerPaths,
  xdgCacheHome,
} from "./paths.js";
import { hamming, simhash, simhashText } from "./simhash.js";
import { TAG_RE } from "./tags.js";
import { type ItemRecord, TierStore } from "./tierstore.js";
import {
  isMap,
  newMap,
  pyRepr,
  pyStr,
  pyOrder,
  type YamlMap,
  type YamlValue,
  lookupTable,
} from "./values.js";
import { boundedYoungGeneration } from "./younggen.js";

/** Fields an `update` may set/add/remove (store.md §2.4.1 `_UPDATABLE_FIELDS`). */
export const UPDATABLE_FIELDS = [
  "title",
  "status",
  "priority",
  "parent",
  "tags",
  "isbefore",
  "duplicate_of",
  "not_duplicate_of",
  "pr_ref",
  "description",
  "fields",
] as const;

/** Lockable field names (store.md §6.3), plus `fields.<key>`. */
export const LOCKABLE_FIELDS = [
  "description",
  "discussion",
  "duplicate_of",
  "fields",
  "isbefore",
  "not_duplicate_of",
  "parent",
  "pr_ref",
  "priority",
  "status",
  "tags",
  "title",
] as const;

export { TAG_RE };

/** Core attributes that may not be custom fields (store.md §5.3, field-key gate tier 1). */
const CORE_ATTRIBUTES = [
  "id",
  "kind",
  "title",
  "status",
  "priority",
  "tags",
  "description",
  "parent",
  "isbefore",
  "pr_ref",
  "tier",
  "duplicate_of",
  "not_duplicate_of",
  "blocked_by",
  "discussion",
  "created",
  "updated",
];
const CORE_FLAG: Readonly<Record<string, string>> = lookupTable({
  tags: "--tag",
  isbefore: "--add-isbefore",
  duplicate_of: "--add-duplicate-of",
  not_duplicate_of: "--add-not-duplicate-of",
  blocked_by: "--add-blocked-by",
});

/** Discussion budget for agents per item per UTC day (store.md §6.7). */
export const DISCUSSION_TOKEN_LIMIT = 200_000;
/** Soft cap on discussion entries (store.md §6.7). */
export const DISCUSSION_SOFT_CAP = 20;

/**
 * Key of the kept text holding an item's create-data SimHash in hex (`nearDuplicates`; the
 * item's first create op never changes, so neither does it while the file is unchanged).
 */
export const CREATE_SIMHASH_KEY = "create-simhash/1";

/**
 * Changed files (or new item texts) that make a big tier's warm-start cache be rewritten when
 * it has no main cache file to write a delta against (with one, a single file does).
 */
export const CACHE_REFRESH_FILES = 32;

/**
 * A delta cache file holds at most this share (1/n) of a tier's entries; beyond, the main
 * file is rewritten (see `Tracker.cacheTarget`).
 */
export const DELTA_CACHE_SHARE = 16;

/** Injectable providers and options of `openTracker`. */
export interface OpenOptions extends LoadConfigOptions {
  /** OS username provider (tests only; production reads the real uid). */
  user?: UserProvider;
  /** Clock in epoch milliseconds (fractions give microseconds). */
  now?: () => number;
  /** 4-hex nonce source. */
  nonce?: () => string;
  env?: NodeJS.ProcessEnv;
  /** Create the three tier directories when missing (default true, as the reference). */
  createDirs?: boolean;
  /** Peek git refs for Lamport clocks and cross-branch locks (default true). */
  gitPeek?: boolean;
  lockTimeoutMs?: number;
  /**
   * Use the per-user warm-start cache of compiled items (default true; `HTRAC_NO_CACHE=1`
   * disables it too). See indexcache.ts.
   */
  indexCache?: boolean;
  /**
   * Rewrite a tier's cache when a load parsed at least this many files and 5 % of the tier
   * (default 200); a tier of at least this size is also rewritten after 32 (see `worthCaching`).
   */
  indexCacheMinFiles?: number;
  /**
   * When to write that cache: `now` (default: before `openTracker` returns, and again when
   * `derivedTexts` rendered many texts), `background` (one chunk per event-loop turn,
   * starting `indexCacheDelayMs` later, default 500 ms — the TUI, whose first frame should
   * not wait for it) or `end` (once, by `Tracker.finishIndexCache()`, with the texts kept
   * meanwhile — a CLI command); `Tracker.finishIndexCache()` completes any of them.
   */
  indexCacheWrite?: "now" | "background" | "end";
  indexCacheDelayMs?: number;
  /** Read retries for the initial load (store.md §2.7, default 6). */
  readAttempts?: number;
  /**
   * Called while the initial load reads and parses op files (not those taken from the
   * warm-start cache), every 256 files, with the number read so far over all tiers — for a
   * "loading…" notice (a cold 10k-item load takes seconds).
   */
  onLoadProgress?: (filesRead: number) => void;
  /**
   * On an invalid config (`ConfigValidationError`, `ProtectedConfigError`), open anyway with
   * `fallbackConfig` (the config template when valid, else the built-in defaults) instead of
   * throwing; the error is kept in `Tracker.configError` and listed by `problems()` (kind
   * `config`). For a viewer that must show the rest of the tracker (the TUI, read-only then);
   * commands that write must not set it (default false).
   */
  configFallback?: boolean;
  /**
   * Most items revived from the warm-start cache kept in memory at once, per tier, in cache
   * groups of 64 (`TierStore.keepRevivedGroups`); the least recently used go back to the file
   * and are read again when next used. Default: all kept (a command's one pass). The TUI bounds
   * it: a human paging through a 10k-item list otherwise ends up holding every item's text.
   */
  keepRevivedItems?: number;
}

/** Filters of `list` (cli.md §2.3). */
export interface ListFilter {
  status?: string | string[];
  kind?: string;
  tag?: string;
  tier?: Tier;
}

/** Input of `add` (store.md §2.5, §5.3). Reference fields may be prefixes or `:N`. */
export interface AddInput {
  kind: string;
  title: string;
  status?: string;
  priority?: number;
  parent?: string | null;
  tags?: string[];
  isbefore?: string[];
  duplicate_of?: string[];
  not_duplicate_of?: string[];
  pr_ref?: string | null;
  description?: string;
  fields?: Record<string, YamlValue>;
  /** Default `workspace`. */
  tier?: Tier;
  /** Allow a custom key spelled like a declared one (field-key gate tier 2). */
  forceFieldKey?: boolean;
}

/** Result of `add`. */
export interface AddResult {
  id: string;
  tier: Tier;
  item: Item;
  /** Non-blocking warnings (near-duplicates). */
  warnings: string[];
}

/** Input of `update`: keys are updatable fields; set-valued ones may also be added/removed. */
export interface UpdateInput {
  set?: Record<string, YamlValue>;
  add?: Record<string, YamlValue[]>;
  remove?: Record<string, YamlValue[]>;
  forceFieldKey?: boolean;
}

/** Result of a write on one item. */
export interface WriteResult {
  id: string;
  tier: Tier;
  /** The op written (null when nothing needed writing). */
  op: Op | null;
  /** Item before the write (from the locked re-read). */
  before: Item | null;
  /** Item after the write (edit-mode log applied). */
  after: Item | null;
  warnings: string[];
}

/** A change made through this tracker object (reported to `subscribe` listeners). */
export interface LocalChange {
  id: string;
  tier: Tier;
  change: "added" | "changed" | "removed";
}

/** `edit-mode status` (cli.md §2.21). */
export interface EditModeStatus {
  on: boolean;
  remaining_s: number;
  ttl_seconds: number;
  cap_max: number;
  ops_used: number;
}

/** Human labels for reference arguments in error messages (CLI flag names by default). */
export type RefLabel = (field: string, mode: "set" | "add" | "remove") => string;

const CLI_REF_LABEL: RefLabel = (field, mode) => {
  if (field === "parent") return "--parent";
  const flag = field.replace(/_/g, "-");
  return mode === "remove" ? `--remove-${flag}` : `--add-${flag}`;
};

/** Error resolving a reference argument; carries the label and the original reference. */
export class RefResolutionError extends TrackerError {
  constructor(
    readonly label: string,
    readonly ref: string,
    override readonly cause: TrackerError,
  ) {
    super(cause.message);
  }
}

const uidNames = new Map<number, string | null>();
/** Username of a uid via /etc/passwd, then `getent passwd`. @returns null when unknown */
export function uidToName(uid: number): string | null {
  if (uidNames.has(uid)) return uidNames.get(uid)!;
  let name: string | null = null;
  try {
    for (const line of fs.readFileSync("/etc/passwd", "utf8").split("\n")) {
      const parts = line.split(":");
      if (parts.length > 2 && Number(parts[2]) === uid) {
        name = parts[0];
        break;
      }
    }
  } catch {
    /* no passwd file */
  }
  if (name === null) {
    try {
      const r = spawnSync("getent", ["passwd", String(uid)], { encoding: "utf8", timeout: 2000 });
      if (r.status === 0) name = String(r.stdout).split(":")[0] || null;
    } catch {
      name = null;
    }
  }
  uidNames.set(uid, name);
  return name;
}

function fmtSeconds(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

function fmtMicros(ms: number): string {
  const micros = Math.floor(ms * 1000);
  const secMs = Math.floor(micros / 1_000_000) * 1000;
  const frac = String(micros % 1_000_000).padStart(6, "0");
  return `${new Date(secMs).toISOString().slice(0, 19)}.${frac}Z`;
}

/** Default clock: epoch milliseconds with sub-millisecond precision. */
function realNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Open a tracker (store.md §1): discover `.agent/` upward from the cwd when `root` is not
 * given, load and validate the config, create the tier directories (unless disabled) and
 * load all three tiers.
 * @throws TrackerError "no .agent/ directory found. Run 'init' first.",
 *   ConfigValidationError
 */
export function openTracker(root?: string, opts: OpenOptions = {}): Tracker {
  let r: string;
  if (root === undefined) {
    const found = findTrackerRoot();
    if (!found) throw new TrackerError("no .agent/ directory found. Run 'init' first.");
    r = found;
  } else {
    r = normaliseTrackerRoot(root);
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(r);
    } catch {
      st = null;
    }
    if (!st?.isDirectory()) throw new TrackerError(`${root} is not a directory`);
  }
  return new Tracker(r, opts);
}

/**
 * An open tracker. Reads are synchronous against an in-memory index that `refresh*` /
 * `watch` keep current; writes are asynchronous (file locks) and refresh the index.
 */
export class Tracker {
  /** The waiting or running background cache write (see `saveCaches`). */
  private cacheJob: (() => Promise<void>) | null = null;
  /** Tiers the background cache write has still to write, in order. */
  private readonly cacheQueue: Tier[] = [];
  private cacheDelayMs = 500;
  /** Texts derived when a cache file is written (`deriveOnSave`), by key. */
  private readonly derive = new Map<string, (item: Item) => string>();

  /**
   * Finish the warm-start cache writes that were deferred: `indexCacheWrite: "background"`
   * (started now if its delay has not passed) or `"end"` (every tier that the load or kept
   * texts made worth rewriting, written now, once). Resolves at once when there is none;
   * never rejects. A session or command calls it when it ends.
   * @param onError ("end" mode) told of each tier whose cache file could not be written, with
   *   the file and why (by default that is ignored: the cache only saves time)
   */
  finishIndexCache(onError?: (tier: Tier, file: string, e: Error) => void): Promise<void> {
    if (this.cacheWrite === "end") {
      for (const t of this.dirtyTiers) this.writeTierCache(t, onError && ((e, file) => onError(t, file, e)));
      this.dirtyTiers.clear();
      this.renderedTexts = { canonical: 0, workspace: 0, stealth: 0 };
    }
    return this.cacheJob ? this.cacheJob() : Promise.resolve();
  }
  /**
   * ("end" mode) The tiers `finishIndexCache` would write now: those whose load parsed files
   * its cache did not hold (or whose kept texts grew) enough to be worth it.
   */
  indexCacheDue(): Tier[] {
    return TIERS.filter((t) => this.dirtyTiers.has(t));
  }
  private readonly cacheWrite: "now" | "background" | "end";
  /** ("end" mode) Tiers whose cache is to be rewritten, and texts rendered since the load. */
  private readonly dirtyTiers = new Set<Tier>();
  private renderedTexts: Record<Tier, number> = { canonical: 0, workspace: 0, stealth: 0 };
  readonly paths: TrackerPaths;
  /**
   * The config in use (a fallback one when `configError` was set at open). Replaced only by
   * `applyConfig`.
   */
  config: TrackerConfig;
  /** The valid config `checkConfig` last read, not applied yet. */
  private checkedConfig: TrackerConfig | null = null;
  /**
   * Why the tracker's config is invalid (null: valid), when opened with `configFallback`; kept
   * current by `checkConfig`.
   */
  configError: ConfigValidationError | null = null;
  private readonly configOpts: LoadConfigOptions;
  /** `configSignature` of the config files as last checked. */
  private configSig: string;
  readonly repoRoot: string | null;
  readonly tiers: Record<Tier, TierStore>;
  private readonly user: UserProvider;
  private readonly now: () => number;
  private readonly nonceGen: () => string;
  readonly env: NodeJS.ProcessEnv;
  private readonly gitPeek: boolean;
  private readonly lockTimeoutMs: number | undefined;
  private lastList: string[] | null = null;
  private cacheDir: string | undefined;
  /** Labels used in reference-resolution errors (the TUI sets field names). */
  refLabel: RefLabel = CLI_REF_LABEL;
  private readonly localListeners = new Set<(changes: LocalChange[]) => void>();
  /** Warm-start cache file per tier (null: disabled), and the minimum worth a rewrite. */
  private readonly cacheFiles: Record<Tier, string | null> = {
    canonical: null,
    workspace: null,
    stealth: null,
  };
  private readonly cacheMinFiles: number;
  /** Tiers whose next cache write rewrites the main file (`saveCaches`' `whole`). */
  private readonly wholeCache = new Set<Tier>();

  constructor(root: string, opts: OpenOptions = {}) {
    this.paths = trackerPaths(root);
    this.env = opts.env ?? process.env;
    this.configOpts = { protectedRoot: opts.protectedRoot };
    this.configSig = configSignature(this.paths.configDir);
    try {
      this.config = loadConfig(this.paths.configDir, this.configOpts);
    } catch (e) {
      if (!opts.configFallback || !(e instanceof ConfigValidationError)) throw e;
      this.configError = e;
      this.config = fallbackConfig(this.paths.configDir);
    }
    this.repoRoot = findRepoRoot(root);
    this.user = opts.user ?? osUser;
    this.now = opts.now ?? realNow;
    this.nonceGen = opts.nonce ?? randomNonce;
    this.gitPeek = opts.gitPeek ?? true;
    this.lockTimeoutMs = opts.lockTimeoutMs;
    if (opts.createDirs !== false) {
      for (const t of TIERS) {
        try {
          ensureDir(this.paths.tierDirs[t]);
        } catch {
          /* read-only checkout: reading still works */
        }
      }
    }
    const isAgentUid = (uid: number) => {
      const name = uidToName(uid);
      return name !== null && resolveActor(name, this.config.agent_usernames).by === "agent";
    };
    this.tiers = {
      canonical: new TierStore(
        "canonical",
        this.paths.tierDirs.canonical,
        editModeLogPath(this.paths, "canonical"),
        isAgentUid,
      ),
      workspace: new TierStore(
        "workspace",
        this.paths.tierDirs.workspace,
        editModeLogPath(this.paths, "workspace"),
        isAgentUid,
      ),
      stealth: new TierStore(
        "stealth",
        this.paths.tierDirs.stealth,
        editModeLogPath(this.paths, "stealth"),
        isAgentUid,
      ),
    };
    if (opts.keepRevivedItems !== undefined)
      for (const t of TIERS) this.tiers[t].keepRevivedGroups = Math.ceil(opts.keepRevivedItems / CACHE_GROUP);
    // Warm start (per-user cache of compiled items, validated per file): refreshed when a
    // load had to parse many files, so big trackers start fast the next time.
    const useCache = opts.indexCache !== false && this.env.HTRAC_NO_CACHE !== "1";
    this.cacheMinFiles = opts.indexCacheMinFiles ?? 200;
    const toSave: [Tier, string][] = [];
    const caches = TIERS.map((t): [LoadedTierCache | null, LoadedTierCache | null] => {
      const file = useCache ? indexCachePath(this.paths.tierDirs[t], this.env) : null;
      this.cacheFiles[t] = file;
      return [loadTierCache(file), loadTierCache(file && deltaCachePath(file))];
    });
    let readBefore = 0; // (files read by the tiers loaded before, for onLoadProgress)
    const progress = opts.onLoadProgress;
    const load = () =>
      TIERS.forEach((t, k) => {
        const parsed = this.tiers[t].loadAll(
          opts.readAttempts ?? 6,
          caches[k],
          progress && ((n: number) => progress(readBefore + n)),
        );
        readBefore += parsed;
        const file = this.cacheFiles[t];
        if (file && this.worthCaching(t, parsed)) toSave.push([t, file]);
      });
    // Everything a parsing load allocates survives it: keep V8's young generation from growing
    // to its maximum on the way (see younggen.ts; peak RSS of a cold 10k-item load −20 MB).
    // A load from warm caches keeps little (items stay in the cache file) and is faster with
    // the young generation V8 chooses (fewer scavenges).
    if (caches.every(([main]) => main !== null)) load();
    else boundedYoungGeneration(load, { env: this.env });
    this.cacheWrite = opts.indexCacheWrite ?? "now";
    this.cacheDelayMs = opts.indexCacheDelayMs ?? 500;
    this.saveCaches(toSave.map(([t]) => t));
  }

  /**
   * Rewrite the warm-start cache of these tiers as `indexCacheWrite` says: now, at
   * `finishIndexCache` ("end"), or in the background after `indexCacheDelayMs` (a tier
   * already waiting there is not queued twice; one asked for while a write runs is written
   * after it). `whole`: the main file is rewritten, whatever the delta would hold.
   */
  private saveCaches(tiers: readonly Tier[], whole = false): void {
    const todo = tiers.filter((t) => this.cacheFiles[t] !== null);
    if (!todo.length) return;
    if (whole) for (const t of todo) this.wholeCache.add(t);
    if (this.cacheWrite === "end") for (const t of todo) this.dirtyTiers.add(t);
    else if (this.cacheWrite === "now") for (const t of todo) this.writeTierCache(t);
    else {
      const queued = this.cacheQueue;
      const fresh = todo.filter((t) => !queued.includes(t));
      if (!fresh.length) return;
      queued.push(...fresh);
      if (this.cacheJob) return; // the waiting or running job takes them
      let started: Promise<void> | null = null;
      const start = () => {
        clearTimeout(timer);
        started ??= (async () => {
          try {
            for (let t = queued.shift(); t !== undefined; t = queued.shift()) {
              const target = this.cacheTarget(t);
              if (target)
                await saveTierCacheInBackground(
                  target.file,
                  this.tiers[t].cacheSnapshotSteps(this.derive, target.delta),
                  target.supersedes,
                );
            }
          } catch {
            queued.length = 0; // (the cache is an optimisation: a failed write is dropped)
          } finally {
            this.cacheJob = null;
          }
        })();
        return started;
      };
      const timer = setTimeout(start, this.cacheDelayMs);
      timer.unref?.(); // never keeps a process alive by itself (see finishIndexCache)
      this.cacheJob = start;
    }
  }

  /**
   * Rebuild the warm-start cache of every tier from its op files (`htrac cache-rebuild`):
   * every file is read and parsed again, whatever the cache held, and each tier's main cache
   * file is written whole (its delta file removed), small tiers too. The tracker is current
   * afterwards (as a fresh open would be). Meant for a fresh clone before a first big run, or when a
   * cache is suspected.
   * @returns per tier the cache file written and the number of items it holds
   * @throws TrackerError when the cache is off (`HTRAC_NO_CACHE=1`, `indexCache: false`) or a
   *   cache file cannot be written (message names the file)
   */
  rebuildIndexCache(): { tier: Tier; file: string; items: number }[] {
    const out: { tier: Tier; file: string; items: number }[] = [];
    for (const t of TIERS) {
      const file = this.cacheFiles[t];
      if (!file)
        throw new TrackerError(
          "no cache directory available (the warm-start cache is off: HTRAC_NO_CACHE=1)",
        );
      this.tiers[t].loadAll(6, [null, null]);
      this.wholeCache.add(t);
      // (the writer reports a failure through the callback before it returns; a throw there
      // would only reject its promise)
      let failed: Error | null = null;
      const items = this.writeTierCache(t, (e) => (failed = e));
      if (failed) throw new TrackerError(`cannot write the cache file ${file}: ${(failed as Error).message}`);
      out.push({ tier: t, file, items });
    }
    this.dirtyTiers.clear();
    return out;
  }

  /**
   * Write a tier's cache now, where `cacheTarget` says (delta or main file).
   * @param onError called, before this returns, when the file cannot be written, with the
   *   file (by default that is ignored)
   * @returns the number of entries written (0 when the tier has no cache file)
   */
  private writeTierCache(t: Tier, onError?: (e: Error, file: string) => void): number {
    const target = this.cacheTarget(t);
    if (!target) return 0;
    const snapshot = this.tiers[t].cacheSnapshot(this.derive, target.delta);
    saveTierCache(target.file, snapshot, target.supersedes, onError && ((e) => onError(e, target.file)));
    return snapshot.entries.size;
  }

  /**
   * Where a tier's cache write goes: its delta file (`deltaCachePath`) with the records not
   * all in the main file it was loaded from, while those are at most 1/16 of the tier (a few
   * entries to write where the main file copies all: ~10 ms against ~250 ms at 10k items);
   * else the whole tier to the main file, which makes the delta file useless (removed); the
   * whole tier also when a caller asked for it (`saveMissedTexts`: texts derived on save for
   * items that are all in the main file otherwise).
   * @returns null when the tier has no cache file
   */
  private cacheTarget(t: Tier): { file: string; delta: boolean; supersedes: string | null } | null {
    const file = this.cacheFiles[t];
    if (!file) return null;
    const store = this.tiers[t];
    const delta = deltaCachePath(file);
    if (this.wholeCache.delete(t)) return { file, delta: false, supersedes: delta };
    if (store.hasBase && store.outsideBase() <= store.records.size / DELTA_CACHE_SHARE)
      return { file: delta, delta: true, supersedes: null };
    return { file, delta: false, supersedes: delta };
  }

  /**
   * Listen to changes made through this object (own writes update the index directly, so
   * file watchers see nothing new; the change feed forwards these).
   * @returns unsubscribe function
   */
  subscribe(cb: (changes: LocalChange[]) => void): () => void {
    this.localListeners.add(cb);
    return () => this.localListeners.delete(cb);
  }

  private notify(changes: LocalChange[]): void {
    for (const cb of this.localListeners) {
      try {
        cb(changes);
      } catch {
        /* listeners must not break writes */
      }
    }
  }

  /** The tracker root (`.agent` directory). */
  get root(): string {
    return this.paths.root;
  }

  /** The actor of writes made through this tracker (store.md §6.1). */
  actor(): Actor {
    return resolveActor(this.user(), this.config.agent_usernames);
  }

  /** Current time in epoch milliseconds (the injected clock). */
  nowMs(): number {
    return this.now();
  }

  private appendEnv(): AppendEnv {
    return {
      repoRoot: this.repoRoot,
      env: this.env,
      lockTimeoutMs: this.lockTimeoutMs ?? defaultLockTimeoutMs(this.env),
      gitPeek: this.gitPeek,
      lamportBranches: this.config.lamport_branches,
      nonce: this.nonceGen,
    };
  }

  // ------------------------------------------------------------------------------------
  // Reads
  // ------------------------------------------------------------------------------------

  /**
   * The change feed over all three tiers: `watchTracker(this, onChange, opts)` (see
   * `watchTracker` for timing, polling fallback and torn-file retries).
   * @param onChange called with each non-empty batch of changed item IDs
   * @returns the running feed; `close()` stops it
   */
  watch(onChange: (ev: ChangeEvent) => void, opts: WatchOptions = {}): Watcher {
    return watchTracker(this, onChange, opts);
  }

  /**
   * Every compilable item of the given tiers in input order (canonical, workspace,
   * stealth; each by file name). Uncompilable items are skipped (store.md §2.7).
   * @param opts.lazy items still in the warm-start cache come as `LazyItem`s (text read on
   *   first use: for a list that shows a few of many items, see `TierStore.listItem`)
   */
  items(tiers: readonly Tier[] = TIERS, opts: { lazy?: boolean } = {}): Item[] {
    const out: Item[] = [];
    for (const t of tiers) {
      const store = this.tiers[t];
      if (!opts.lazy) this.reviveTier(t);
      const ids = store.ids();
      for (let k = 0; k < ids.length; k++) {
        const it = opts.lazy ? store.listItem(ids[k]) : store.item(ids[k]);
        if (it) out.push(it);
      }
    }
    return out;
  }

  /** Tiers in the stop-hook scope (store.md §5.5): `all`, or workspace + stealth. */
  scopeTiers(): Tier[] {
    return this.config.scope === "workspace" ? ["workspace", "stealth"] : [...TIERS];
  }

  /** Total number of item files (including uncompilable ones) per tier. */
  counts(): Record<Tier, number> {
    return {
      canonical: this.tiers.canonical.records.size,
      workspace: this.tiers.workspace.records.size,
      stealth: this.tiers.stealth.records.size,
    };
  }

  /**
   * Whether a tier's warm-start cache should be rewritten after `n` files were parsed (or item
   * texts rendered) that it did not hold: at least `indexCacheMinFiles` (200) and 5 % of the
   * tier — a big tracker's first load — or, for a tier at least that big, one when the tier
   * was loaded with a main cache file (an active tracker's changed items would be re-read and
   * their texts rendered on every run until then; a delta file holding them costs a few ms:
   * `cacheTarget`), else `CACHE_REFRESH_FILES` (32).
   */
  private worthCaching(t: Tier, n: number): boolean {
    const store = this.tiers[t];
    const total = store.records.size;
    return (
      (n >= this.cacheMinFiles && n >= total * 0.05) ||
      (total >= this.cacheMinFiles && n >= (store.hasBase ? 1 : CACHE_REFRESH_FILES))
    );
  }

  /**
   * Summaries of every compilable item of the given tiers, in `items()` order. Items of the
   * warm-start cache are not revived for this (see `ItemSummary`).
   */
  summaries(tiers: readonly Tier[] = TIERS): ItemSummary[] {
    const out: ItemSummary[] = [];
    for (const t of tiers) {
      const store = this.tiers[t];
      const ids = store.ids();
      for (let k = 0; k < ids.length; k++) {
        const s = store.summary(ids[k]);
        if (s) out.push(s);
      }
    }
    return out;
  }

  /**
   * The isbefore cycle that a link `from` → `to` (from blocks to) closes, if any: the
   * shortest chain of existing isbefore links from `to` back to `from`, found breadth-first
   * over the summaries (no item revived); an ID in several tiers follows its first copy
   * (canonical, workspace, stealth), as readers do (store.md §3.7). Links to unknown IDs end a
   * chain. For a warning when a write makes the cycle `validate` reports (store.md §5.4).
   * @param from, to full IDs
   * @returns `[from, to, …, from]`, or null when no chain leads back
   */
  isbeforeCycle(from: string, to: string): string[] | null {
    const next = (id: string): readonly string[] => {
      for (const t of TIERS) {
        const sm = this.tiers[t].summary(id);
        if (sm) return sm.isbefore;
      }
      return [];
    };
    const prev = new Map<string, string>([[to, to]]);
    const queue = [to];
    for (let q = 0; q < queue.length; q++) {
      const x = queue[q];
      if (x === from) {
        const chain = [from];
        for (let cur = from; cur !== to;) chain.unshift((cur = prev.get(cur)!));
        return [from, ...chain];
      }
      for (const y of next(x)) {
        if (prev.has(y)) continue;
        prev.set(y, x);
        queue.push(y);
      }
    }
    return null;
  }

  /** Sort items (or summaries) by `(priority, created_at)`, stable (store.md §5.5). */
  static sortItems<T extends Pick<ItemSummary, "priority" | "created_at">>(items: T[]): T[] {
    return pyOrder(
      items.map((it) => it.created_at),
      (a, b) => items[a].priority - items[b].priority,
    ).map((i) => items[i]);
  }

  /**
   * Read every item still in a warm-start cache file, one pass per cache file with the young
   * generation bounded (what a pass over all items does first): for a caller about to read
   * the text of most items (reading them 64 at a time, as `LazyItem`s do, leaves ~25 MB more
   * garbage to collect). The TUI does not: its search texts come from the cache file
   * (`cachedTexts`).
   */
  reviveAll(): void {
    for (const t of TIERS) {
      this.reviveTier(t);
      this.tiers[t].reviveAll(); // (what a small tier still has: reviveTier leaves it)
    }
  }

  /**
   * Whole items of list items for one pass over their text (clusters), without keeping what
   * the pass reads (`TierStore.peek`): a list item whose text is still in a warm-start cache
   * file (an unread `LazyItem`) is paired with an item decoded for the pass and then
   * dropped; any other item is paired with itself. Items that can no longer be read are
   * paired with themselves (their summary, no text).
   * @returns `[list item, whole item]` for every item of `items`, in no particular order
   */
  *peekItems(items: readonly Item[]): Generator<readonly [Item, Item]> {
    const lazy = new Map<Tier, Map<string, Item>>();
    for (const it of items) {
      if (!(it instanceof LazyItem) || it.loaded || !it.tier) {
        yield [it, it];
        continue;
      }
      let m = lazy.get(it.tier);
      if (!m) lazy.set(it.tier, (m = new Map()));
      m.set(it.id, it);
    }
    for (const [tier, m] of lazy) {
      for (const [id, whole] of this.tiers[tier].peek([...m.keys()])) {
        yield [m.get(id)!, whole];
        m.delete(id);
      }
      for (const it of m.values()) yield [it, it];
    }
  }

  /**
   * Revive a tier's items still in its cache file in one pass (before a pass over many of its
   * items), with the young generation bounded: everything it allocates is kept (see the load).
   */
  private reviveTier(t: Tier): void {
    const store = this.tiers[t];
    if (store.lazyItems() >= 256) boundedYoungGeneration(() => store.reviveAll(), { env: this.env });
  }

  /** The items of summaries (revived as needed), in order. */
  private itemsOf(summaries: ItemSummary[]): Item[] {
    if (summaries.length >= 256) for (const t of TIERS) this.reviveTier(t);
    const out: Item[] = [];
    for (const s of summaries) {
      const it = this.tiers[s.tier!].item(s.id);
      if (it) out.push(it);
    }
    return out;
  }

  /**
   * Items across tiers, filtered and sorted (cli.md §2.3). Does not touch the alias stash;
   * the CLI saves it (`saveLastList`).
   */
  list(filter: ListFilter = {}): Item[] {
    return this.itemsOf(this.listSummaries(filter));
  }

  /** `list` as summaries (no item is revived). */
  listSummaries(filter: ListFilter = {}): ItemSummary[] {
    let items = this.summaries(filter.tier ? [filter.tier] : TIERS);
    if (filter.status !== undefined) {
      const set = new Set(Array.isArray(filter.status) ? filter.status : [filter.status]);
      items = items.filter((i) => set.has(i.status));
    }
    if (filter.kind !== undefined) items = items.filter((i) => i.kind === filter.kind);
    if (filter.tag !== undefined) items = items.filter((i) => i.tags.includes(filter.tag!));
    return Tracker.sortItems(items);
  }

  /** IDs blocked by unresolved items' `isbefore` (store.md §5.5). */
  blockedIds(items: readonly Pick<ItemSummary, "status" | "isbefore">[] = this.summaries()): Set<string> {
    const resolved = new Set(this.config.resolved_statuses);
    const blocked = new Set<string>();
    for (const it of items) if (!resolved.has(it.status)) for (const t of it.isbefore) blocked.add(t);
    return blocked;
  }

  /**
   * Actionable items (store.md §5.5): blocking status, no `duplicate_of`, no cross-tier
   * conflict, not the target of an unresolved item's `isbefore`; sorted by priority then
   * creation.
   */
  ready(): Item[] {
    return this.itemsOf(this.readySummaries());
  }

  /** `ready` as summaries (no item is revived). */
  readySummaries(): ItemSummary[] {
    const all = this.summaries();
    const blocking = new Set(this.config.blocking_statuses);
    const blocked = this.blockedIds(all);
    return Tracker.sortItems(
      all.filter(
        (i) =>
          blocking.has(i.status) &&
          i.duplicate_of.length === 0 &&
          !i.cross_tier_conflict &&
          !blocked.has(i.id),
      ),
    );
  }

  /**
   * Texts derived from items by a pure function of the item (the CLI's JSON of an item),
   * kept with the item in memory and in the warm-start cache, so a later run prints them
   * without reviving or rendering the item. A kept text is used only while its item is
   * unchanged; `key` must name the function and everything else it depends on (format
   * version, options). When a call renders enough texts to be worth it (`worthCaching`), the
   * tier's cache is rewritten with them: now, or at `finishIndexCache` with
   * `indexCacheWrite: "end"`.
   * @param refs items by tier and ID (from `summaries`, `listSummaries`, `readySummaries`)
   * @param render text of one item
   * @returns the UTF-8 bytes of each text, in order (empty for an item that no longer
   *   compiles)
   */
  derivedTexts(
    refs: readonly Pick<ItemSummary, "id" | "tier">[],
    key: string,
    render: (item: Item) => string,
  ): Buffer[] {
    const { texts, unreadable } = this.keptTextsOf(refs, key);
    const lost = new Set(unreadable);
    const rendered: Record<Tier, number> = { canonical: 0, workspace: 0, stealth: 0 };
    const out = Array.from(texts, (text, i) => {
      if (text !== undefined) return text;
      // None kept (or its cache file cannot be read any more): rendered now, and kept.
      const r = refs[i];
      const store = this.tiers[r.tier!];
      const it = store.item(r.id);
      const made = Buffer.from(it ? render(it) : "", "utf8");
      if (it) {
        store.setDerivedText(r.id, key, made);
        if (!lost.has(i)) rendered[r.tier!]++;
      }
      return made;
    });
    for (const t of TIERS) {
      const file = this.cacheFiles[t];
      if (!file) continue;
      if (this.cacheWrite === "end") {
        // Written once when the command ends (with what the load re-read).
        this.renderedTexts[t] += rendered[t];
        if (this.worthCaching(t, this.renderedTexts[t])) this.dirtyTiers.add(t);
      } else if (this.worthCaching(t, rendered[t])) this.saveCaches([t]);
    }
    return out;
  }

  /**
   * Derive a text from every item whenever a warm-start cache file is written (the TUI's
   * search text), so that a later session reads it with `cachedTexts` instead of reviving
   * the item. Rendered, when the writer gets to it, for items in memory that have no text
   * under `key` yet; items only in an older cache file keep the text they have there.
   * `key` names the function as for `derivedTexts`.
   * @param render text of one item (kept as UTF-8)
   */
  deriveOnSave(key: string, render: (item: Item) => string): void {
    this.derive.set(key, render);
  }

  /**
   * Texts derived under `key` that are at hand — kept in memory or in the warm-start cache
   * file, for the item's current state — without rendering or reviving anything (one read per
   * cache file). Items from a cache file that has no text for them (written before `key` was
   * derived on save) are counted for `saveMissedTexts`.
   * @param refs items by tier and ID
   * @returns the UTF-8 bytes per item, undefined where there is none
   */
  cachedTexts(refs: readonly Pick<ItemSummary, "id" | "tier">[], key: string): (Buffer | undefined)[] {
    const { texts } = this.keptTextsOf(refs, key);
    // (a miss counts for items from the cache file: others are written by the load's save)
    if (this.derive.has(key))
      refs.forEach((r, i) => {
        if (texts[i] === undefined && r.tier && this.tiers[r.tier].inCacheFile(r.id))
          this.missedTexts[r.tier]++;
      });
    return texts;
  }

  /**
   * The texts kept under `key` for `refs`, in memory or in a cache file (one read per file).
   * @returns per ref its text or undefined, and the positions whose text was in a cache file
   *   that cannot be read any more (undefined there too)
   */
  private keptTextsOf(
    refs: readonly Pick<ItemSummary, "id" | "tier">[],
    key: string,
  ): { texts: (Buffer | undefined)[]; unreadable: number[] } {
    const texts = new Array<Buffer | undefined>(refs.length);
    const unreadable: number[] = [];
    // Texts in a cache file, by file: positions in `refs` and byte ranges.
    const inFile = new Map<CacheSource, { at: number[]; ranges: [number, number][] }>();
    refs.forEach((r, i) => {
      if (!r.tier) return; // (not an item of this tracker)
      const d = this.tiers[r.tier].derivedText(r.id, key);
      if (d === undefined || Buffer.isBuffer(d)) texts[i] = d;
      else {
        let list = inFile.get(d.src);
        if (!list) inFile.set(d.src, (list = { at: [], ranges: [] }));
        list.at.push(i);
        list.ranges.push([d.off, d.len]);
      }
    });
    for (const [src, { at, ranges }] of inFile) {
      const bytes = src.read(ranges);
      if (bytes) at.forEach((i, k) => (texts[i] = bytes[k]));
      else unreadable.push(...at);
    }
    return { texts, unreadable };
  }

  /**
   * After asking `cachedTexts` for the texts of every item (the TUI's search-text pass): the
   * tiers where enough items from the cache file had none (`worthCaching`) get their cache
   * rewritten (as `indexCacheWrite` says), with the texts derived on save, so that the next
   * session finds them. Counts start again from zero.
   */
  saveMissedTexts(): void {
    const worth = TIERS.filter((t) => this.missedTexts[t] > 0 && this.worthCaching(t, this.missedTexts[t]));
    this.missedTexts = { canonical: 0, workspace: 0, stealth: 0 };
    this.saveCaches(worth, true);
  }
  /** Items `cachedTexts` found no text for (in their cache file) since `saveMissedTexts`. */
  private missedTexts: Record<Tier, number> = { canonical: 0, workspace: 0, stealth: 0 };

  /** Items whose `parent` is `id` (store.md §5.5); only those are revived. */
  children(id: string): Item[] {
    return this.itemsOf(this.summaries().filter((i) => i.parent === id));
  }

  /** Items listing `id` in their `isbefore` (they block `id`); only those are revived. */
  blockers(id: string): Item[] {
    return this.itemsOf(this.summaries().filter((i) => i.isbefore.includes(id)));
  }

  /** Tiers holding a file for this full ID, in preference order. */
  tiersOf(id: string): Tier[] {
    return TIERS.filter((t) => this.tiers[t].records.has(id));
  }

  /** Whether a full ID exists in any tier (stat-free, from the index). */
  exists(id: string): boolean {
    return this.tiersOf(id).length > 0;
  }

  /**
   * Load problems of every tier (corrupt files, torn tails, edit-mode log issues), then the
   * config's when it is invalid (`configError`; kind `config`, the file at fault, else
   * config.yaml; its line when the error names one, else 1).
   */
  problems(): Problem[] {
    const out = TIERS.flatMap((t) => this.tiers[t].problems());
    const e = this.configError;
    if (e) {
      const file = e.file ?? path.join(this.paths.configDir, "config.yaml");
      const line = Number(/\bline (\d+)/.exec(e.message)?.[1] ?? 1);
      out.push({ kind: "config", message: e.message, file, line, fatal: false });
    }
    return out;
  }

  /**
   * Look at the config files again when they changed on disk since the last look (open or
   * check): validate them and keep `configError` current. The config in use is not replaced
   * (`applyConfig` does that, for a long-lived reader such as the TUI).
   * @returns null when the files did not change; else what they are now: `invalid`
   *   (`configError` set), `valid` (the config in use, an error gone) or `changed` (valid, and
   *   different from the config in use)
   */
  checkConfig(): "invalid" | "valid" | "changed" | null {
    const sig = configSignature(this.paths.configDir);
    if (sig === this.configSig) return null;
    let next: TrackerConfig;
    try {
      next = loadConfig(this.paths.configDir, this.configOpts);
    } catch (e) {
      // (anything else, e.g. a read failing mid-rename, is looked at again next time)
      if (!(e instanceof ConfigValidationError)) throw e;
      this.configSig = sig;
      this.configError = e;
      this.checkedConfig = null;
      return "invalid";
    }
    this.configSig = sig;
    this.configError = null;
    this.checkedConfig = next;
    const same = JSON.stringify({ ...next, source: "" }) === JSON.stringify({ ...this.config, source: "" });
    return same ? "valid" : "changed";
  }

  /**
   * Use the valid config `checkConfig` read last (after a `valid` or `changed` result) from
   * now on: validation, kinds, statuses, ready order, agent usernames. Items are compiled
   * without the config and stay as they are; a tier's edit-mode log is judged by its owner
   * against the agent usernames when it is next read (store.md §6.6).
   * @returns the config now in use, or null when there was none to apply (the config files
   *   are invalid now, or nothing was read since the last apply)
   */
  applyConfig(): TrackerConfig | null {
    const next = this.configError ? null : this.checkedConfig;
    this.checkedConfig = null;
    if (!next) return null;
    this.config = next;
    return next;
  }

  /** The record of the preferred copy of a full ID (canonical > workspace > stealth). */
  record(id: string): ItemRecord | null {
    for (const t of TIERS) {
      const r = this.tiers[t].records.get(id);
      if (r) return r;
    }
    return null;
  }

  /**
   * The compiled item for an ID, prefix or `:N` alias.
   * @throws ItemNotFoundError, AmbiguousPrefixError, AliasError, CorruptFileError (when the
   *   file exists but does not compile)
   */
  get(ref: string): Item {
    const { id, tier } = this.resolveWithTier(ref);
    const rec = this.tiers[tier].records.get(id)!;
    const item = this.tiers[tier].item(id);
    if (!item) throw rec.error ?? new CorruptFileError(`${id}: cannot compile`);
    return item;
  }

  /** Resolve a reference to a full ID (store.md §4.3, §4.4). */
  resolve(ref: string): string {
    return this.resolveWithTier(ref).id;
  }

  /**
   * Resolve a reference to a full ID and the tier of its preferred copy.
   * `:N` aliases are looked up once, then resolved like a full ID (cli.md §5: the
   * reference's cross-process `show :1` bug is fixed here).
   */
  resolveWithTier(ref: string): { id: string; tier: Tier } {
    let p = ref;
    if (p.startsWith(":")) p = this.aliasTarget(p);
    if (p.length === 0) throw new ItemNotFoundError(`No items match prefix: ${ref}`);
    // A full ID this index has not seen yet (written by another process since we loaded):
    // pick it up from disk before resolving.
    if (isSafeIdComponent(p) && !TIERS.some((t) => this.tiers[t].records.has(p))) {
      for (const t of TIERS) this.tiers[t].refresh(p, 1);
    }
    const perTier: { tier: Tier; ids: string[] }[] = [];
    for (const t of TIERS) {
      const store = this.tiers[t];
      if (store.records.has(p)) {
        perTier.push({ tier: t, ids: [p] });
        continue;
      }
      const noDash = !p.includes("-");
      const cands: string[] = [];
      for (const id of store.ids()) {
        if (id.startsWith(p)) cands.push(id);
        else if (noDash) {
          const dash = id.indexOf("-");
          if (dash >= 0 && id.slice(dash + 1).startsWith(p)) cands.push(id);
        }
      }
      if (cands.length > 1) {
        const lines = cands.map((c) => `  ${c}  ${this.titleOf(t, c)}`);
        throw new AmbiguousPrefixError(
          `'${p}' is ambiguous. Did you mean:\n${lines.join("\n")}`,
          p,
          cands.map((c) => ({ id: c, title: this.titleOf(t, c), tier: t })),
        );
      }
      if (cands.length === 1) perTier.push({ tier: t, ids: cands });
    }
    if (perTier.length === 0) throw new ItemNotFoundError(`No items match prefix: ${p}`);
    const distinct = [...new Set(perTier.map((x) => x.ids[0]))];
    if (distinct.length === 1) return { id: distinct[0], tier: perTier[0].tier };
    const lines = perTier.map((x) => `  ${x.ids[0]}  [${x.tier}]`);
    throw new AmbiguousPrefixError(
      `'${p}' is ambiguous. Did you mean:\n${lines.join("\n")}`,
      p,
      perTier.map((x) => ({ id: x.ids[0], title: this.titleOf(x.tier, x.ids[0]), tier: x.tier })),
    );
  }

  private titleOf(tier: Tier, id: string): string {
    return this.tiers[tier].item(id)?.title ?? "";
  }

  // ------------------------------------------------------------------------------------
  // Positional aliases (store.md §4.4)
  // ------------------------------------------------------------------------------------

  /**
   * The per-user cache dir where `last_list` lives (cli.md §1.5, store.md §1), computed once:
   * `$TRACKER_CACHE_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/hypergumbo-tracker/<fingerprint>`
   * of the `origin` URL and the first root commit, as the reference (so both tools share one
   * stash). Where the reference has no cache dir — no git, or a repository with neither an
   * origin nor a commit yet (a fresh `git init`) — and keeps aliases for one process only, so
   * that `htrac ready` then `htrac update :1` fails: `aliasFallbackDir` of the tracker root
   * (htrac's own directory; the reference never reads it).
   */
  cacheDirectory(): string {
    if (this.cacheDir !== undefined) return this.cacheDir;
    if (this.env.TRACKER_CACHE_DIR) return (this.cacheDir = this.env.TRACKER_CACHE_DIR);
    let fp: string | null = null;
    if (this.repoRoot) {
      try {
        // Synchronous (resolve() is synchronous): node's spawnSync, not execa.
        const git = (args: string[]) =>
          spawnSync("git", args, { cwd: this.repoRoot!, encoding: "utf8", timeout: 5000 });
        const origin = git(["config", "--get", "remote.origin.url"]);
        const roots = git(["rev-list", "--max-parents=0", "HEAD"]);
        const o = origin.status === 0 ? String(origin.stdout).trim() : "";
        const r = roots.status === 0 ? (String(roots.stdout).split("\n")[0] ?? "").trim() : "";
        fp = cacheFingerprint(o || null, r || null);
      } catch {
        fp = null;
      }
    }
    this.cacheDir = fp
      ? path.join(xdgCacheHome(this.env), "hypergumbo-tracker", fp)
      : aliasFallbackDir(this.paths.root, this.env);
    return this.cacheDir;
  }

  /** The stashed list of the last `list`/`ready` (empty when none). */
  lastListIds(): string[] {
    if (this.lastList) return this.lastList;
    let ids: string[] = [];
    try {
      ids = fs
        .readFileSync(path.join(this.cacheDirectory(), "last_list"), "utf8")
        .split("\n")
        .filter((l) => l.length > 0);
    } catch {
      ids = [];
    }
    this.lastList = ids;
    return ids;
  }

  /**
   * Stash the displayed ID order for `:N` aliases (store.md §4.4): IDs joined by `\n` plus
   * a trailing `\n` (or an empty file), written atomically in the per-user cache dir.
   */
  saveLastList(ids: string[]): void {
    this.lastList = [...ids];
    const dir = this.cacheDirectory();
    try {
      fs.mkdirSync(dir, { recursive: true });
      const tmp = path.join(dir, `.last_list.${process.pid}.tmp`);
      fs.writeFileSync(tmp, ids.length ? `${ids.join("\n")}\n` : "");
      fs.renameSync(tmp, path.join(dir, "last_list"));
    } catch {
      /* aliases are a convenience */
    }
  }

  private aliasTarget(alias: string): string {
    const body = alias.slice(1);
    if (!/^[0-9]+$/.test(body)) throw new AliasError(`Invalid positional alias: ${alias}`);
    const n = Number.parseInt(body, 10);
    const list = this.lastListIds();
    if (n < 1 || n > list.length) {
      throw new AliasError(`Positional alias ${alias} out of range (last list had ${list.length} items)`);
    }
    return list[n - 1];
  }

  // ------------------------------------------------------------------------------------
  // Refresh (change feed support)
  // ------------------------------------------------------------------------------------

  /** Re-stat every tier (polling); @returns IDs that changed, by tier. */
  refreshAll(): Map<string, { tier: Tier; change: string }> {
    const out = new Map<string, { tier: Tier; change: string }>();
    for (const t of TIERS)
      for (const [id, change] of this.tiers[t].rescan()) out.set(`${t}:${id}`, { tier: t, change });
    return out;
  }

  /** Refresh one item's file in one tier (after our own write). */
  private refreshItem(tier: Tier, id: string): void {
    this.tiers[tier].refresh(id, 6);
  }

  // ------------------------------------------------------------------------------------
  // Guards
  // ------------------------------------------------------------------------------------

  /**
   * The refusal this actor gets for a human-only operation, or null when it is allowed:
   * `what` is an op name as the store guards it ("lock", "unlock", "freeze", "unfreeze",
   * "repair-drift", "discuss_clear", "edit-mode-on", "edit-mode-off", "stealth", "unstealth")
   * or `status:<name>` for a human-only status (e.g. "status:deleted"). Front ends use it to
   * show the store's own message before asking for input (store.md §5.3).
   */
  humanOnlyRefusal(what: string): string | null {
    const a = this.actor();
    if (a.by === "human") return null;
    if (what.startsWith("status:")) {
      const status = what.slice(7);
      return this.config.human_only_statuses.includes(status)
        ? `Status '${status}' requires human authority.`
        : null;
    }
    return `${what} requires human authority`;
  }

  private requireHuman(what: string): Actor {
    const a = this.actor();
    if (a.by !== "human") throw new HumanAuthorityError(`${what} requires human authority`);
    return a;
  }

  private kindOrThrow(name: string): KindConfig {
    const k = kindByName(this.config, name);
    if (!k) {
      throw new ValidationError(
        `Unknown kind '${name}'. Valid kinds: ${pyRepr(this.config.kinds.map((x) => x.name))}`,
      );
    }
    return k;
  }

  /** Status checks for a kind (store.md §5.3) plus the stricter global check. */
  private checkStatus(status: string, kind: KindConfig | undefined, actor: Actor): void {
    if (kind?.deprecated_statuses.includes(status)) {
      throw new ValidationError(
        `Status '${status}' is deprecated for kind '${kind.name}'. Use one of: ${pyRepr(kind.allowed_statuses ?? this.config.statuses)}`,
      );
    }
    if (kind?.allowed_statuses && !kind.allowed_statuses.includes(status)) {
      throw new ValidationError(
        `Status '${status}' is not allowed for kind '${kind.name}'. Allowed: ${pyRepr(kind.allowed_statuses)}`,
      );
    }
    if (!this.config.statuses.includes(status)) {
      throw new ValidationError(`Unknown status '${status}'. Valid: ${pyRepr(this.config.statuses)}`);
    }
    if (actor.by === "agent" && this.config.human_only_statuses.includes(status)) {
      throw new HumanAuthorityError(`Status '${status}' requires human authority.`);
    }
  }

  private checkPriority(p: unknown): number {
    if (typeof p !== "number" || !Number.isInteger(p) || p < 0 || p > 4) {
      throw new ValidationError(`priority must be an integer 0-4, got ${pyStr(p as YamlValue)}`);
    }
    return p;
  }

  private checkTags(tags: unknown[]): void {
    for (const t of tags) {
      if (typeof t !== "string" || !TAG_RE.test(t)) {
        throw new ValidationError(`tag name '${pyStr(t as YamlValue)}' does not match ^[a-z_][a-z0-9_]*$`);
      }
    }
  }

  /** The custom field key gate (store.md §5.3). */
  checkFieldKey(key: string, kind: KindConfig | undefined, force = false): void {
    const norm = key.trim().toLowerCase().replace(/[- ]/g, "_");
    if (key.length === 0 || key.length > 128)
      throw new ValidationError(`custom field key must be 1-128 characters, got ${key.length}`);
    if (CORE_ATTRIBUTES.includes(norm)) {
      const flag = CORE_FLAG[norm] ?? `--${norm.replace(/_/g, "-")}`;
      throw new ValidationError(
        `'${key}' is a core attribute, not a custom field: storing it under --field would give one fact two homes and the second would never be updated. Use ${flag} instead.`,
      );
    }
    if (!force && kind) {
      for (const [declared] of kind.fields_schema) {
        if (declared !== key && declared.trim().toLowerCase().replace(/[- ]/g, "_") === norm) {
          throw new ValidationError(
            `'${key}' differs from the declared field '${declared}' only in spelling, so the two would be stored separately and read as one. Use '${declared}', or pass --force-field-key if you really mean a second field.`,
          );
        }
      }
    }
  }

  /**
   * Resolve a reference argument for writing (cli.md §6): full ID, with the cross-tier
   * guard (canonical/workspace items may not reference stealth-only items).
   */
  private resolveRef(ref: string, field: string, mode: "set" | "add" | "remove", writerTier: Tier): string {
    const label = this.refLabel(field, mode);
    let resolved: { id: string; tier: Tier };
    try {
      resolved = this.resolveWithTier(ref);
    } catch (e) {
      if (e instanceof TrackerError) throw new RefResolutionError(label, ref, e);
      throw e;
    }
    if (mode !== "remove" && writerTier !== "stealth") {
      const tiers = this.tiersOf(resolved.id);
      if (tiers.length > 0 && tiers.every((t) => t === "stealth")) {
        throw new ValidationError(
          `${label} '${ref}' resolves to stealth-tier item ${resolved.id} but the writing item is in tier '${writerTier}'. Stealth items are gitignored; CI cannot resolve the reference.`,
        );
      }
    }
    return resolved.id;
  }

  /**
   * Refuse an update that would point an item at itself: its own parent, blocking itself
   * (`isbefore`), its own duplicate or not-duplicate (set or added; removing such a link is
   * allowed, to clean up). The reference writes these (`validate` later reports the isbefore
   * cycle); nothing reads them sensibly. References are full IDs here (`resolveRef`).
   * @throws ValidationError `<flag> '<id>' is the item itself: an item cannot be its own parent`
   *   (… `cannot block itself`, `cannot be a duplicate of itself`, `cannot be marked as not a
   *   duplicate of itself`)
   */
  private checkSelfRefs(id: string, set: YamlMap, add: YamlMap): void {
    const why: Record<string, string> = {
      parent: "cannot be its own parent",
      isbefore: "cannot block itself",
      duplicate_of: "cannot be a duplicate of itself",
      not_duplicate_of: "cannot be marked as not a duplicate of itself",
    };
    const fail = (field: string, mode: "set" | "add") => {
      throw new ValidationError(
        `${this.refLabel(field, mode)} '${id}' is the item itself: an item ${why[field]}`,
      );
    };
    if (set.parent === id) fail("parent", "set");
    for (const f of ["isbefore", "duplicate_of", "not_duplicate_of"]) {
      if (Array.isArray(set[f]) && (set[f] as YamlValue[]).includes(id)) fail(f, "set");
      if (Array.isArray(add[f]) && (add[f] as YamlValue[]).includes(id)) fail(f, "add");
    }
  }

  /** Locks in force for an agent write: local ∪ lamport branches + HEAD (store.md §6.3). */
  private checkLocks(id: string, touched: string[], st: LockedState, actor: Actor): void {
    if (actor.by !== "agent") return;
    const locked = new Set([...(st.item?.locked_fields ?? []), ...st.branchLocks]);
    for (const f of touched) {
      if (locked.has(f)) {
        if (f === "discussion")
          throw new LockedFieldError(`Discussion on ${id} is locked. Ask the human to unlock it.`);
        throw new LockedFieldError(`Field '${f}' on ${id} is locked. Ask the human to unlock it.`);
      }
    }
  }

  private baseOp(type: string, actor: Actor, micro = false): Op {
    const op = newMap();
    op.op = type;
    op.at = micro ? fmtMicros(this.now()) : fmtSeconds(this.now());
    op.by = actor.by;
    op.actor = actor.actor;
    return op;
  }

  private itemFile(id: string): { tier: Tier; file: string } {
    for (const t of TIERS) {
      if (this.tiers[t].records.has(id)) return { tier: t, file: opFilePath(this.paths.tierDirs[t], id) };
    }
    throw new ItemNotFoundError(`No items match prefix: ${id}`);
  }

  /** Compiled item with the tier's edit-mode log applied, after a refresh. */
  private fresh(tier: Tier, id: string): Item | null {
    this.refreshItem(tier, id);
    return this.tiers[tier].item(id);
  }

  private async writeItem(
    ref: string,
    build: (st: LockedState, ctx: { id: string; tier: Tier; actor: Actor }) => Op | null,
  ): Promise<WriteResult> {
    const { id, tier } = this.resolveWithTier(ref);
    const file = opFilePath(this.paths.tierDirs[tier], id);
    const actor = this.actor();
    let before: Item | null = null;
    const warnings: string[] = [];
    const res: AppendResult | null = await appendOp(file, this.appendEnv(), actor.by, (st) => {
      before = st.item;
      return build(st, { id, tier, actor });
    });
    const after = this.fresh(tier, id);
    if (res) this.notify([{ id, tier, change: "changed" }]);
    return { id, tier, op: res?.op ?? null, before, after, warnings };
  }

  // ------------------------------------------------------------------------------------
  // Writes
  // ------------------------------------------------------------------------------------

  /**
   * Create an item (store.md §2.5, §4.2, §5.3).
   * @throws ValidationError (kind, status, priority, tags, field keys, required fields,
   *   references), HumanAuthorityError, ItemExistsError, RefResolutionError
   */
  async add(input: AddInput): Promise<AddResult> {
    const actor = this.actor();
    const tier: Tier = input.tier ?? "workspace";
    if (!TIERS.includes(tier)) throw new ValidationError(`Unknown tier '${tier}'`);
    const kind = this.kindOrThrow(input.kind);
    const title = String(input.title ?? "");
    if (title.trim() === "") throw new ValidationError("title must not be empty");
    const status = input.status && input.status !== "" ? input.status : defaultStatus(this.config, kind);
    const priority = this.checkPriority(input.priority ?? 2);
    const tags = input.tags ?? [];
    this.checkTags(tags);
    const fields = newMap();
    for (const [k, v] of Object.entries(input.fields ?? {})) {
      this.checkFieldKey(k, kind, input.forceFieldKey);
      fields[k] = v;
    }
    this.checkStatus(status, kind, actor);
    const missing = kind.fields_schema
      .filter(([f, s]) => s.required && (fields[f] === undefined || fields[f] === null))
      .map(([f]) => f);
    if (missing.length > 0) {
      throw new ValidationError(
        `Kind '${kind.name}' requires field(s): ${missing.join(", ")}. Use --field ${missing[0]}=...`,
      );
    }
    const parent = input.parent ? this.resolveRef(input.parent, "parent", "set", tier) : null;
    const refList = (vals: string[] | undefined, field: string) => [
      ...new Set((vals ?? []).map((v) => this.resolveRef(v, field, "add", tier))),
    ];
    const data = newMap();
    data.kind = kind.name;
    data.title = title;
    data.status = status;
    data.priority = priority;
    data.parent = parent;
    data.tags = [...new Set(tags)];
    data.isbefore = refList(input.isbefore, "isbefore");
    data.duplicate_of = refList(input.duplicate_of, "duplicate_of");
    data.not_duplicate_of = refList(input.not_duplicate_of, "not_duplicate_of");
    data.pr_ref = input.pr_ref && input.pr_ref !== "" ? input.pr_ref : null;
    data.description = input.description ?? "";
    data.fields = fields;
    const nonce = this.nonceGen();
    let id = computeItemId(data, kind.prefix);
    const existing = this.findExisting(id);
    if (existing) {
      const it = existing.item;
      if (it) {
        throw new ItemExistsError(
          `${id} already exists (title: '${it.title}'). Use 'update' to modify it.`,
          id,
        );
      }
      if (existing.rec.createData || (existing.rec.error === null && existing.rec.fold?.hasCreate)) {
        throw new ItemExistsError(`${id} already exists (title: '${title}'). Use 'update' to modify it.`, id);
      }
      id = computeItemId(data, kind.prefix, nonce);
    }
    const warnings = this.nearDuplicates(tier, id, data);
    const op = this.baseOp("create", actor);
    op.data = data;
    const file = opFilePath(this.paths.tierDirs[tier], id);
    try {
      await createItemFile(file, this.appendEnv(), op, nonce);
    } catch (e) {
      if ((e as { code?: string }).code === "EEXIST") {
        this.refreshItem(tier, id);
        const it = this.tiers[tier].item(id);
        throw new ItemExistsError(
          `${id} already exists (title: '${it?.title ?? title}'). Use 'update' to modify it.`,
          id,
        );
      }
      throw e;
    }
    const item = this.fresh(tier, id);
    if (!item) throw new CorruptFileError(`${id}: created but cannot be read back`);
    this.notify([{ id, tier, change: "added" }]);
    return { id, tier, item, warnings };
  }

  private findExisting(id: string): { rec: ItemRecord; item: Item | null } | null {
    for (const t of TIERS) {
      this.tiers[t].refresh(id, 1);
      const rec = this.tiers[t].records.get(id);
      if (rec) return { rec, item: this.tiers[t].item(id) };
    }
    return null;
  }

  /** Near-duplicate warnings against the same tier's create data (store.md §4.2). */
  /** An item's create-data SimHash in hex, the kept text under `CREATE_SIMHASH_KEY`. */
  private readonly createSimhashText = (item: Item): string => {
    const cd = item.tier ? this.tiers[item.tier].createData(item.id) : null;
    return cd ? simhash(simhashText(cd.title, cd.description, cd.fields)).toString(16) : "";
  };

  /**
   * Have every cache write also keep each item's create-data SimHash (what `add`'s
   * near-duplicate check compares with), as `deriveOnSave` does for other texts: for a run
   * that makes a tracker warm on purpose (`htrac cache-rebuild`, `htrac setup`), so that the
   * first `add` does not hash every item of the tier.
   */
  deriveNearDuplicateHashesOnSave(): void {
    this.deriveOnSave(CREATE_SIMHASH_KEY, this.createSimhashText);
  }

  private nearDuplicates(tier: Tier, newId: string, data: YamlMap): string[] {
    const h = simhash(simhashText(data.title, data.description, data.fields));
    const skip = new Set((data.not_duplicate_of as string[]) ?? []);
    const out: string[] = [];
    const store = this.tiers[tier];
    const refs: { id: string; tier: Tier }[] = [];
    for (const id of store.records.keys()) if (!skip.has(id)) refs.push({ id, tier });
    // Each item's create-data SimHash is kept like the CLI's item JSON (`derivedTexts`: in
    // memory and in the warm-start cache, until the item's file changes), so an `add` on a
    // big tracker neither revives nor hashes every item again (10k items: ~4 s before).
    const hashes = this.derivedTexts(refs, CREATE_SIMHASH_KEY, this.createSimhashText);
    for (let i = 0; i < refs.length; i++) {
      if (hashes[i].length === 0) continue;
      const id = refs[i].id;
      const d = hamming(h, BigInt(`0x${hashes[i].toString("latin1")}`));
      if (d <= 8) {
        out.push(
          `${newId} is similar to existing ${id} (SimHash distance: ${d} bits). Creating anyway. Use 'update ${newId} --add-duplicate-of ${id}' to mark as duplicate, or 'update ${newId} --add-not-duplicate-of ${id}' to suppress.`,
        );
      }
    }
    return out;
  }

  /**
   * Update an item with one `update` op (store.md §2.4.1, §5.3, §6.3). Writes nothing when
   * there is nothing to set/add/remove.
   */
  async update(ref: string, input: UpdateInput): Promise<WriteResult> {
    const { tier: writerTier } = this.resolveWithTier(ref);
    const actor = this.actor();
    const set = newMap();
    const add = newMap();
    const remove = newMap();
    const setIn = input.set ?? {};
    for (const rawKey of Object.keys(setIn)) {
      const k = rawKey === "before" ? "isbefore" : rawKey;
      if (!(UPDATABLE_FIELDS as readonly string[]).includes(k)) {
        throw new ValidationError(
          `Unknown field '${rawKey}' in set. Valid fields: ${UPDATABLE_FIELDS.join(", ")}`,
        );
      }
      set[k] = setIn[rawKey];
    }
    for (const [mode, src, dst] of [
      ["add", input.add ?? {}, add],
      ["remove", input.remove ?? {}, remove],
    ] as const) {
      for (const rawKey of Object.keys(src)) {
        const k = rawKey === "before" ? "isbefore" : rawKey;
        if (!(UPDATABLE_FIELDS as readonly string[]).includes(k)) {
          throw new ValidationError(
            `Unknown field '${rawKey}' in ${mode}. Valid fields: ${UPDATABLE_FIELDS.join(", ")}`,
          );
        }
        if (!(SET_FIELDS as readonly string[]).includes(k)) {
          throw new ValidationError(`Field '${k}' is not a list field; it cannot be used with ${mode}`);
        }
        const vals = src[rawKey] ?? [];
        if (vals.length > 0) dst[k] = [...vals];
      }
    }
    // Value checks that do not need the item.
    if ("priority" in set) set.priority = this.checkPriority(set.priority);
    if ("title" in set && (typeof set.title !== "string" || set.title.trim() === "")) {
      throw new ValidationError("title must be a non-empty string");
    }
    if ("tags" in set) this.checkTags(Array.isArray(set.tags) ? set.tags : [set.tags]);
    if ("tags" in add) this.checkTags(add.tags as YamlValue[]);
    // References → full IDs.
    if (typeof set.parent === "string" && set.parent !== "")
      set.parent = this.resolveRef(set.parent, "parent", "set", writerTier);
    for (const f of ["isbefore", "duplicate_of", "not_duplicate_of"]) {
      if (Array.isArray(set[f]))
        set[f] = (set[f] as string[]).map((r) => this.resolveRef(String(r), f, "set", writerTier));
      if (Array.isArray(add[f]))
        add[f] = [
          ...new Set((add[f] as string[]).map((r) => this.resolveRef(String(r), f, "add", writerTier))),
        ];
      if (Array.isArray(remove[f])) {
        remove[f] = (remove[f] as string[]).map((r) => {
          try {
            return this.resolveRef(String(r), f, "remove", writerTier);
          } catch (e) {
            if (e instanceof RefResolutionError && e.cause instanceof ItemNotFoundError) return String(r);
            throw e;
          }
        });
      }
    }
    return this.writeItem(ref, (st, { id }) => {
      const item = st.item;
      if (!item) throw new CorruptFileError(`${id}: empty op log`);
      this.checkSelfRefs(id, set, add);
      const kind = kindByName(this.config, item.kind);
      if ("status" in set) this.checkStatus(pyStr(set.status), kind, actor);
      if ("fields" in set) {
        if (!isMap(set.fields)) throw new ValidationError("fields must be a mapping of custom field → value");
        for (const [k, v] of Object.entries(set.fields))
          if (v !== null) this.checkFieldKey(k, kind, input.forceFieldKey);
      }
      const touched: string[] = [];
      for (const k of Object.keys(set)) {
        touched.push(k);
        if (k === "fields" && isMap(set.fields))
          for (const fk of Object.keys(set.fields)) touched.push(`fields.${fk}`);
      }
      for (const k of [...Object.keys(add), ...Object.keys(remove)])
        if (!touched.includes(k)) touched.push(k);
      this.checkLocks(id, touched, st, actor);
      if (Object.keys(set).length === 0 && Object.keys(add).length === 0 && Object.keys(remove).length === 0)
        return null;
      const op = this.baseOp("update", actor);
      op.set = set;
      if (Object.keys(add).length > 0) op.add = add;
      if (Object.keys(remove).length > 0) op.remove = remove;
      return op;
    });
  }

  private discussionChecks(id: string, st: LockedState, actor: Actor, message: string): void {
    if (actor.by !== "agent") return;
    this.checkLocks(id, ["discussion"], st, actor);
    const today = new Date(this.now()).toISOString().slice(0, 10);
    let tokens = 0;
    for (const op of st.ops) {
      if (
        (op.op === "discuss" || op.op === "discuss_summarize") &&
        typeof op.at === "string" &&
        op.at.slice(0, 10) === today
      ) {
        tokens += pyStr(op.message ?? "").length / 4.4;
      }
    }
    if (tokens >= DISCUSSION_TOKEN_LIMIT) {
      throw new DiscussionRateLimitError(
        `Discussion rate limit reached on ${id} (200,000 tokens today). Further discussion deferred until tomorrow, or run --summarize to reset.`,
      );
    }
    void message;
  }

  /**
   * Append a discussion entry (store.md §2.4.1, §6.3, §6.7). Agents are refused on a locked
   * discussion and past the daily budget.
   * @returns the write result; `warnings` carries the soft-cap warning
   */
  async discuss(ref: string, message: string): Promise<WriteResult> {
    if (message.trim() === "") throw new ValidationError("message must not be empty");
    const res = await this.writeItem(ref, (st, { id, actor }) => {
      this.discussionChecks(id, st, actor, message);
      const op = this.baseOp("discuss", actor);
      op.message = message;
      return op;
    });
    if (res.after && res.after.discussion.length >= DISCUSSION_SOFT_CAP) {
      res.warnings.push(
        `Discussion on ${res.id} has ${res.after.discussion.length} entries (soft cap: ${DISCUSSION_SOFT_CAP}). Consider using --summarize.`,
      );
    }
    return res;
  }

  /** Replace the discussion by one summary entry (agents allowed). */
  async discussSummarize(ref: string, text: string): Promise<WriteResult> {
    if (text.trim() === "") throw new ValidationError("summary must not be empty");
    return this.writeItem(ref, (st, { id, actor }) => {
      this.discussionChecks(id, st, actor, text);
      const op = this.baseOp("discuss_summarize", actor);
      op.message = text;
      return op;
    });
  }

  /** Empty the discussion (human only). */
  async discussClear(ref: string): Promise<WriteResult> {
    const actor = this.requireHuman("discuss_clear");
    this.resolve(ref);
    return this.writeItem(ref, () => this.baseOp("discuss_clear", actor));
  }

  /** Normalise lock names (store.md §6.3). @throws ValidationError on unknown names */
  normaliseLockNames(names: string[]): string[] {
    const out: string[] = [];
    for (const raw of names) {
      let n = raw.trim().toLowerCase();
      if (n === "before") n = "isbefore";
      const ok =
        (LOCKABLE_FIELDS as readonly string[]).includes(n) || (/^fields\.[^\s]+$/.test(n) && n.length > 7);
      if (!ok) {
        throw new ValidationError(
          `Unknown field '${raw}'. Lockable fields: ${LOCKABLE_FIELDS.join(", ")}, fields.<custom>`,
        );
      }
      if (!out.includes(n)) out.push(n);
    }
    if (out.length === 0) throw new ValidationError("no field names given");
    return out;
  }

  /** Lock fields against agent writes (human only). */
  async lock(ref: string, names: string[]): Promise<WriteResult> {
    const actor = this.requireHuman("lock");
    const list = this.normaliseLockNames(names);
    return this.writeItem(ref, () => {
      const op = this.baseOp("lock", actor);
      op.lock = list;
      return op;
    });
  }

  /** Unlock fields (human only). */
  async unlock(ref: string, names: string[]): Promise<WriteResult> {
    const actor = this.requireHuman("unlock");
    const list = this.normaliseLockNames(names);
    return this.writeItem(ref, () => {
      const op = this.baseOp("unlock", actor);
      op.unlock = list;
      return op;
    });
  }

  private async move(
    ref: string,
    type: "promote" | "demote" | "stealth" | "unstealth",
  ): Promise<WriteResult> {
    const from: Tier =
      type === "promote" || type === "stealth" ? "workspace" : type === "demote" ? "canonical" : "stealth";
    const to: Tier =
      type === "promote" ? "canonical" : type === "demote" || type === "unstealth" ? "workspace" : "stealth";
    const actor = type === "stealth" || type === "unstealth" ? this.requireHuman(type) : this.actor();
    const { id, tier } = this.resolveWithTier(ref);
    if (tier !== from) throw new TierMovementError(`Can only ${type} from ${from}, but ${id} is in ${tier}`);
    const dest = opFilePath(this.paths.tierDirs[to], id);
    if (fs.existsSync(dest)) {
      throw new TierMovementError(
        `Cannot ${type} ${id}: ${to} already has a copy of this item (a human can merge the copies into canonical: htrac reconcile-reset ${id})`,
      );
    }
    const res = await this.writeItem(id, () => this.baseOp(type, actor));
    const src = opFilePath(this.paths.tierDirs[from], id);
    ensureDir(this.paths.tierDirs[to]);
    // Move under the source file's lock so our own concurrent writers re-open the new path.
    const fd = fs.openSync(src, "r");
    try {
      await lockExclusive(fd, src, this.appendEnv().lockTimeoutMs);
      fs.renameSync(src, dest);
      unlock(fd);
    } finally {
      fs.closeSync(fd);
    }
    moveJournal(this.repoRoot, src, dest, this.env);
    this.tiers[from].refresh(id);
    this.tiers[to].refresh(id, 6);
    this.notify([
      { id, tier: from, change: "removed" },
      { id, tier: to, change: "added" },
    ]);
    return { ...res, tier: to, after: this.tiers[to].item(id) };
  }

  /** workspace → canonical (agents allowed). */
  promote(ref: string): Promise<WriteResult> {
    return this.move(ref, "promote");
  }
  /** canonical → workspace (agents allowed). */
  demote(ref: string): Promise<WriteResult> {
    return this.move(ref, "demote");
  }
  /** workspace → stealth (human only). */
  stealth(ref: string): Promise<WriteResult> {
    return this.move(ref, "stealth");
  }
  /** stealth → workspace (human only). */
  unstealth(ref: string): Promise<WriteResult> {
    return this.move(ref, "unstealth");
  }

  /** Freeze an item: copy its op file to a 0444 `.frozen` sentinel (human only, §6.4). */
  async freeze(ref: string): Promise<{ id: string }> {
    this.requireHuman("freeze");
    const { id, tier } = this.resolveWithTier(ref);
    const file = opFilePath(this.paths.tierDirs[tier], id);
    const frozen = frozenPathFor(file);
    if (fs.existsSync(frozen)) throw new TrackerError(`Item ${id} is already frozen`);
    const fd = fs.openSync(file, "r");
    try {
      await lockExclusive(fd, file, this.appendEnv().lockTimeoutMs);
      writeFrozenCopy(file, frozen);
      unlock(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.tiers[tier].refreshName(path.basename(frozen));
    this.notify([{ id, tier, change: "changed" }]);
    return { id };
  }

  /** Remove the freeze sentinel (human only). */
  async unfreeze(ref: string): Promise<{ id: string }> {
    this.requireHuman("unfreeze");
    const { id, tier } = this.resolveWithTier(ref);
    const frozen = frozenPathFor(opFilePath(this.paths.tierDirs[tier], id));
    if (!fs.existsSync(frozen)) throw new TrackerError(`Item ${id} is not frozen`);
    fs.unlinkSync(frozen);
    this.tiers[tier].refreshName(path.basename(frozen));
    this.notify([{ id, tier, change: "changed" }]);
    return { id };
  }

  /** True when a frozen item's op file differs from its sentinel (store.md §6.4). */
  driftCheck(ref: string): boolean {
    const { id, tier } = this.resolveWithTier(ref);
    const file = opFilePath(this.paths.tierDirs[tier], id);
    const frozen = frozenPathFor(file);
    if (!fs.existsSync(frozen)) throw new TrackerError(`Item ${id} is not frozen`);
    return !fs.readFileSync(file).equals(fs.readFileSync(frozen));
  }

  /**
   * Restore a frozen item's op file from its sentinel (human only): same-directory temp
   * `.repair-*`, chmod 0664, rename — the documented rewrite of store.md §6.4.
   */
  async repairDrift(ref: string): Promise<{ id: string; repaired: boolean }> {
    const { id, tier } = this.resolveWithTier(ref);
    const file = opFilePath(this.paths.tierDirs[tier], id);
    const frozen = frozenPathFor(file);
    if (!fs.existsSync(frozen)) throw new TrackerError(`Item ${id} is not frozen`);
    this.requireHuman("repair-drift");
    const fd = fs.openSync(file, "r");
    try {
      await lockExclusive(fd, file, this.appendEnv().lockTimeoutMs);
      const tmp = path.join(
        path.dirname(file),
        `.repair-${process.pid.toString(16)}${Date.now().toString(16)}`,
      );
      fs.copyFileSync(frozen, tmp);
      fs.chmodSync(tmp, 0o664);
      fs.renameSync(tmp, file);
      unlock(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.tiers[tier].refresh(id, 6);
    this.notify([{ id, tier, change: "changed" }]);
    return { id, repaired: true };
  }

  /**
   * Merge every tier's copy of one item into canonical (human only; `htrac reconcile-reset`,
   * store.md §3.7 `_do_reconcile` with the reason `manual-reset`): the ops of all copies in
   * tier order (canonical, workspace, stealth), an op whose nonce an earlier one has already
   * dropped, then a `reconcile` op (`clock` = the highest clock + 1, `from_tier` = the other
   * tiers comma-joined, `reason "manual-reset"`). Stricter than the reference, in the same
   * format: each op keeps its bytes (not re-serialised); the canonical file is replaced
   * atomically (temp file + rename) while every copy is flock-ed, so a writer waiting on a copy
   * finds it replaced or gone instead of appending to a lost inode; a copy that does not parse
   * cleanly (a problem, a torn op) stops it before anything is written; the journal of the
   * other copies moves to canonical's; if a copy was frozen, canonical is (a fresh sentinel).
   * @param id the FULL ID, taken literally (no prefix or alias resolution, as the reference)
   * @returns the tiers merged in and the op counts
   * @throws HumanAuthorityError `reconcile_reset requires human authority`; ItemNotFoundError
   *   `Item not found: <ID>`; TrackerError when the item is in one tier only; CorruptFileError
   *   naming the copy that does not parse; LockTimeoutError
   */
  async reconcileReset(id: string): Promise<{ id: string; from: Tier[]; ops: number; dropped: number }> {
    const actor = this.requireHuman("reconcile_reset");
    const copies = TIERS.filter(
      (t) => isSafeIdComponent(id) && fs.existsSync(opFilePath(this.paths.tierDirs[t], id)),
    );
    if (copies.length === 0) throw new ItemNotFoundError(`Item not found: ${id}`);
    if (copies.length === 1)
      throw new TrackerError(
        `${id} is only in ${copies[0]}: nothing to reconcile${copies[0] === "canonical" ? "" : " (promote moves an item to canonical)"}`,
      );
    const target = opFilePath(this.paths.tierDirs.canonical, id);
    const from = copies.filter((t) => t !== "canonical");
    const fds: number[] = [];
    try {
      const blocks: string[] = [];
      const seen = new Set<string>();
      let maxClock = 0;
      let kept = 0;
      let dropped = 0;
      let frozen = false;
      for (const t of copies) {
        const file = opFilePath(this.paths.tierDirs[t], id);
        const fd = fs.openSync(file, "r");
        fds.push(fd);
        await lockExclusive(fd, file, this.appendEnv().lockTimeoutMs);
        frozen ||= fs.existsSync(frozenPathFor(file));
        const text = fs.readFileSync(fd, "utf8");
        const whole = parseOpLog(text, { file: path.basename(file) });
        if (whole.problems.length > 0)
          throw new CorruptFileError(`${whole.problems[0].message} (${t} copy; nothing was written)`, file);
        for (const block of splitOpBlocks(text)) {
          const [op] = parseOpLog(block).ops;
          if (!op) {
            if (t === "canonical") blocks.push(block); // (a comment or blank lines of its own)
            continue;
          }
          const nonce = typeof op.nonce === "string" ? op.nonce : "";
          if (nonce !== "" && seen.has(nonce)) {
            dropped++;
            continue;
          }
          if (nonce !== "") seen.add(nonce);
          if (typeof op.clock === "number") maxClock = Math.max(maxClock, op.clock);
          kept++;
          blocks.push(block.endsWith("\n") ? block : `${block}\n`);
        }
      }
      const op = this.baseOp("reconcile", actor);
      op.clock = maxClock + 1;
      let nonce = this.nonceGen();
      while (seen.has(nonce)) nonce = this.nonceGen();
      op.nonce = nonce;
      op.from_tier = from.join(",");
      op.reason = "manual-reset";
      const text = blocks.join("") + serializeOp(op);
      ensureDir(this.paths.tierDirs.canonical);
      replaceOpFile(target, text);
      for (const t of from) {
        const file = opFilePath(this.paths.tierDirs[t], id);
        fs.rmSync(frozenPathFor(file), { force: true });
        fs.unlinkSync(file);
        moveJournal(this.repoRoot, file, target, this.env);
      }
      if (frozen) writeFrozenCopy(target, frozenPathFor(target));
      const ops = kept + 1;
      for (const t of copies) this.tiers[t].refresh(id, 6);
      this.notify([
        { id, tier: "canonical", change: copies.includes("canonical") ? "changed" : "added" },
        ...from.map((t) => ({ id, tier: t, change: "removed" as const })),
      ]);
      return { id, from, ops, dropped };
    } finally {
      for (const fd of fds) {
        try {
          unlock(fd);
        } catch {
          /* closed below */
        }
        fs.closeSync(fd);
      }
    }
  }

  /**
   * Delete an item (human only via `human_only_statuses`): `status: deleted` (and
   * `isbefore: []` when non-empty) in one op, then remove it from every other item's
   * `isbefore` (cli.md §2.15).
   * @returns number of inbound references cleared
   */
  async delete(ref: string): Promise<WriteResult & { inboundCleared: number }> {
    const { id } = this.resolveWithTier(ref);
    const current = this.get(id);
    const set: Record<string, YamlValue> = { status: "deleted" };
    if (current.isbefore.length > 0) set.isbefore = [];
    const res = await this.update(id, { set });
    let cleared = 0;
    // (summaries: the holders are found without reviving every item)
    for (const holder of this.summaries()) {
      if (holder.id !== id && holder.isbefore.includes(id)) {
        await this.update(holder.id, { remove: { isbefore: [id] } });
        cleared++;
      }
    }
    return { ...res, inboundCleared: cleared };
  }

  // ------------------------------------------------------------------------------------
  // Edit mode (store.md §2.4.4, §3.5)
  // ------------------------------------------------------------------------------------

  /** Open a per-message edit window in every tier's log (human only). */
  async editModeOn(
    opts: { ttlSeconds?: number; capMax?: number } = {},
  ): Promise<{ ttl_seconds: number; cap_max: number }> {
    const actor = this.requireHuman("edit-mode-on");
    const ttl = opts.ttlSeconds ?? 1800;
    const cap = opts.capMax ?? 500;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 3600)
      throw new ValidationError("ttl_seconds must be in [1, 3600]");
    if (!Number.isInteger(cap) || cap < 1 || cap > 500)
      throw new ValidationError("cap_max must be in [1, 500]");
    for (const t of TIERS) {
      const op = this.baseOp("edit-mode-on", actor, true);
      op.ttl_seconds = ttl;
      op.cap_max = cap;
      await appendEditModeLog(editModeLogPath(this.paths, t), this.appendEnv(), op);
    }
    this.afterEditLogWrite();
    return { ttl_seconds: ttl, cap_max: cap };
  }

  /** Close the edit window (human only). */
  async editModeOff(): Promise<void> {
    const actor = this.requireHuman("edit-mode-off");
    for (const t of TIERS)
      await appendEditModeLog(
        editModeLogPath(this.paths, t),
        this.appendEnv(),
        this.baseOp("edit-mode-off", actor, true),
      );
    this.afterEditLogWrite();
  }

  private afterEditLogWrite(): void {
    const changes: LocalChange[] = [];
    for (const t of TIERS)
      if (this.tiers[t].refreshEditLog())
        for (const id of this.tiers[t].ids()) changes.push({ id, tier: t, change: "changed" });
    this.notify(changes);
  }

  /** Window state of a tier's log at the current time (cli.md §2.21). */
  editModeStatus(tier: Tier = "workspace"): EditModeStatus {
    const store = this.tiers[tier];
    store.refreshEditLog();
    const windows = buildWindows(store.editLog.ops);
    const nowUs = Math.floor(this.now() * 1000);
    const w = windows.find((x) => nowUs >= x.start && nowUs < x.end);
    if (!w) return { on: false, remaining_s: 0, ttl_seconds: 0, cap_max: 0, ops_used: 0 };
    const tiers: Tier[] = tier === "canonical" ? ["canonical"] : ["workspace", "stealth"];
    const used = this.countWindowOps(tiers, w.start, w.end);
    return {
      on: true,
      remaining_s: Math.max(0, Math.floor((w.end - nowUs) / 1_000_000)),
      ttl_seconds: Math.round((w.end - w.start) / 1_000_000),
      cap_max: w.cap,
      ops_used: used,
    };
  }

  private countWindowOps(tiers: Tier[], start: number, end: number): number {
    let n = 0;
    for (const t of tiers) {
      for (const rec of this.tiers[t].records.values()) {
        // Every file that compiles (records from the warm-start cache have no fold).
        if (rec.error) continue;
        try {
          const text = fs.readFileSync(rec.path, "utf8");
          if (!text.includes("delete-msg") && !text.includes("edit-msg-text")) continue;
          for (const op of parseOpLog(text).ops) {
            if (op.op !== "delete-msg" && op.op !== "edit-msg-text") continue;
            const at = parseAtMicros(op.at);
            if (at !== null && at >= start && at < end) n++;
          }
        } catch {
          /* unreadable file: counted as zero */
        }
      }
    }
    return n;
  }

  private async messageOp(
    type: "delete-msg" | "undelete-msg" | "edit-msg-text",
    ref: string,
    nonce: string,
    reason: string,
    newText?: string,
  ): Promise<WriteResult> {
    if (!/^[0-9a-f]{4}$/.test(nonce))
      throw new ValidationError(`target_nonce must be 4 lowercase hex chars, got '${nonce}'`);
    if (reason.length < 1 || reason.length > 100)
      throw new ValidationError("reason must be 1-100 characters");
    const { id, tier } = this.resolveWithTier(ref);
    const status = this.editModeStatus(tier);
    if (!status.on) {
      throw new EditModeNotActiveError(
        `Edit-mode is not active. This op cannot be applied. (Human can run "tracker edit-mode on" to enable.)`,
      );
    }
    const current = this.fresh(tier, id);
    const entry = current?.discussion.find((e: DiscussionEntry) => e.nonce === nonce);
    if (!entry) throw new ValidationError(`No discussion message with nonce '${nonce}' on ${id}`);
    if (type === "edit-msg-text" && entry.is_tombstoned) {
      throw new ValidationError(`Message '${nonce}' is tombstoned; run undelete-msg first before editing`);
    }
    return this.writeItem(id, (_st, { actor }) => {
      const op = this.baseOp(type, actor, true);
      op.item = id;
      op.target_nonce = nonce;
      if (type === "edit-msg-text") op.new_text = newText ?? "";
      op.reason = reason;
      return op;
    });
  }

  /** Tombstone a discussion message inside an edit window (any actor). */
  deleteMsg(ref: string, nonce: string, reason: string): Promise<WriteResult> {
    return this.messageOp("delete-msg", ref, nonce, reason);
  }
  /** Undo a tombstone inside an edit window (any actor). */
  undeleteMsg(ref: string, nonce: string, reason: string): Promise<WriteResult> {
    return this.messageOp("undelete-msg", ref, nonce, reason);
  }
  /** Replace a message's text inside an edit window (any actor). */
  editMsgText(ref: string, nonce: string, newText: string, reason: string): Promise<WriteResult> {
    return this.messageOp("edit-msg-text", ref, nonce, reason, newText);
  }

  // ------------------------------------------------------------------------------------
  // Maintenance
  // ------------------------------------------------------------------------------------

  /** Restore journalled ops dropped by git (store.md §7.4, `htrac recover`). */
  async recover(): Promise<RecoverResult> {
    if (!this.repoRoot) return { restored: [], skipped: [] };
    const res = await recoverFromJournal(this.repoRoot, {
      env: this.env,
      otherTierCopy: (p) => {
        const name = path.basename(p);
        for (const t of TIERS) {
          const cand = path.join(this.paths.tierDirs[t], name);
          if (cand !== p && fs.existsSync(cand)) return cand;
        }
        return null;
      },
    });
    for (const t of TIERS) this.tiers[t].rescan();
    return res;
  }

  /** Raw text of an item's op file (preferred copy). */
  rawOps(ref: string): string {
    const { id, tier } = this.resolveWithTier(ref);
    return fs.readFileSync(opFilePath(this.paths.tierDirs[tier], id), "utf8");
  }

  /** Path of an item's op file (preferred copy). */
  opFile(ref: string): string {
    return this.itemFile(this.resolve(ref)).file;
  }

  /** Kind config of a compiled item's kind, or of an ID's prefix. */
  kindOf(item: Item): KindConfig | undefined {
    return kindByName(this.config, item.kind) ?? kindByPrefix(this.config, item.id.split("-")[0]);
  }

  /** Ops of an item file (file order), for `log`-style views and validation. */
  readOps(ref: string): Op[] {
    const text = this.rawOps(ref);
    return sortOps(parseOpsLoose(text)).map((x) => x.op);
  }
}

function parseOpsLoose(text: string): Op[] {
  return parseOpLog(text).ops;
}

/** Unread human messages: the trailing run of human entries (cli.md §9). */
export function unreadHumanEntries(item: Item): DiscussionEntry[] {
  const out: DiscussionEntry[] = [];
  for (let i = item.discussion.length - 1; i >= 0; i--) {
    if (item.discussion[i].by !== "human") break;
    out.unshift(item.discussion[i]);
  }
  return out;
}

export { isSafeIdComponent };
