/**
 * A bounded young generation during bulk loads (issue: the store; target peak RSS ≤ 150 MB at
 * 10k items).
 *
 * Nearly everything a bulk load allocates survives it (the compiled items and their threads),
 * and V8 answers survival by doubling the young generation's semi-spaces up to their maximum
 * (2 × 16 MB here): ~34 MB of resident memory that only ever holds objects on their way to the
 * old generation. Keeping the semi-spaces at their current size while a load runs
 * (`--semi-space-growth-factor=1`) promotes the same objects sooner at equal speed, and the
 * peak RSS of a 10k-item cold load drops by ~20 MB (warm start: ~13 MB). The default factor is
 * restored as soon as the load returns or throws, so the rest of the process runs with V8's
 * normal sizing (a permanent factor of 1 made later bursts of short-lived allocation, such as
 * writing 60 MB of JSON, slower and bigger).
 *
 * The flag is process-wide, so it is touched only when it is known to exist with its default
 * value: V8 11–12 (Node 20–23) and no `semi-space` option on the node command line or in
 * `NODE_OPTIONS` (a user's own setting is never overridden). `HTRAC_GC_TUNING=0` turns it off.
 *
 * A long-lived process whose data is mostly loaded once (the TUI: items, threads and search
 * text, ~120 MB of old generation at 10k items) holds the bound for its whole life instead
 * (`holdYoungGeneration`): its later allocation is small bursts (a frame, a search), which a
 * 16 MB young generation serves as well as 32 MB, and the resident set stays ~15 MB lower.
 */
import v8 from "node:v8";

/** V8's default `--semi-space-growth-factor` in the versions this is enabled for. */
const DEFAULT_GROWTH_FACTOR = 2;

/** What `boundedYoungGeneration` depends on (injectable for tests). */
export interface YoungGenHost {
  /** `process.versions.v8`. */
  v8Version: string;
  /** `process.execArgv`. */
  execArgv: readonly string[];
  /** `NODE_OPTIONS` this process started with (`process.env`, whatever env a tracker is given). */
  nodeOptions: string;
  /** Where `HTRAC_GC_TUNING` is read (the tracker's environment). */
  env: NodeJS.ProcessEnv;
  /** `v8.setFlagsFromString`. */
  setFlags: (flags: string) => void;
}

const realHost: YoungGenHost = {
  v8Version: process.versions.v8,
  execArgv: process.execArgv,
  nodeOptions: process.env.NODE_OPTIONS ?? "",
  env: process.env,
  setFlags: (f) => v8.setFlagsFromString(f),
};

/**
 * Whether the growth factor may be changed on this host: a V8 major of 11 or 12, no
 * `semi-space` option given to node (command line or `NODE_OPTIONS`), `HTRAC_GC_TUNING` not 0.
 */
export function youngGenTuningAllowed(host: Omit<YoungGenHost, "setFlags">): boolean {
  if (host.env.HTRAC_GC_TUNING === "0") return false;
  const major = Number.parseInt(host.v8Version, 10);
  if (major !== 11 && major !== 12) return false;
  const opts = [...host.execArgv, host.nodeOptions].join(" ");
  return !/semi[-_]space/.test(opts);
}

let depth = 0;

/**
 * Run `fn` (a synchronous bulk load) with the young generation held at its current size, then
 * restore V8's default growth (also when `fn` throws). Nested calls tune once, at the outermost.
 * @param hostOverrides parts of the host to replace (the tracker passes its `env`; tests more)
 * @returns what `fn` returns
 */
export function boundedYoungGeneration<T>(fn: () => T, hostOverrides: Partial<YoungGenHost> = {}): T {
  const host = { ...realHost, ...hostOverrides };
  if (depth > 0 || !youngGenTuningAllowed(host)) return fn();
  host.setFlags("--semi-space-growth-factor=1");
  depth++;
  try {
    return fn();
  } finally {
    depth--;
    // A hold taken during the load (holdYoungGeneration) keeps the bound past it.
    if (depth === 0) host.setFlags(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
  }
}

/**
 * Keep the young generation at its current size from now until the returned release function
 * runs (a whole TUI session; see the module doc). Bounded loads inside the hold do not restore
 * V8's default when they return. Holds nest with each other and with `boundedYoungGeneration`;
 * releasing twice is harmless.
 * @param hostOverrides parts of the host to replace (the session passes its `env`; tests more)
 * @returns release: restores V8's default growth once the last hold or load has ended
 */
export function holdYoungGeneration(hostOverrides: Partial<YoungGenHost> = {}): () => void {
  const host = { ...realHost, ...hostOverrides };
  if (!youngGenTuningAllowed(host)) return () => {};
  if (depth === 0) host.setFlags("--semi-space-growth-factor=1");
  depth++;
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    depth--;
    if (depth === 0) host.setFlags(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
  };
}

/**
 * Old-generation headroom of a TUI session (percent over the live size at the last full
 * garbage collection: V8's `--heap-growing-percent`).
 *
 * A session's live heap at 10k items is ~90 MB (summaries, search text, the items a human has
 * read), and what it frees is mostly old-generation garbage: every external append copies the
 * item list and its ID map (large objects, freed only by a full collection), reading items
 * brings in their cache groups. V8's own factor for a heap this size lets the old generation
 * grow 1.5–2× before it collects, so the resident set climbed from ~155 MB to 225–265 MB over
 * bench:tui's keys, appends and clusters view. At 20 % it stays ≤ ~205 MB for the same work;
 * the full collections it costs are incremental and concurrent (keystroke and append latency
 * unchanged in bench:tui).
 */
const SESSION_HEAP_GROWING_PERCENT = 20;

/**
 * Whether the heap growing percent may be changed on this host: a V8 major of 11 or 12, no
 * `heap-growing-percent` option given to node (command line or `NODE_OPTIONS`), and
 * `HTRAC_GC_TUNING` not 0.
 */
export function heapGrowthTuningAllowed(host: Omit<YoungGenHost, "setFlags">): boolean {
  if (host.env.HTRAC_GC_TUNING === "0") return false;
  const major = Number.parseInt(host.v8Version, 10);
  if (major !== 11 && major !== 12) return false;
  return !/heap[-_]growing[-_]percent/.test([...host.execArgv, host.nodeOptions].join(" "));
}

let growthHolds = 0;

/**
 * Collect the old generation sooner for a whole TUI session (see
 * `SESSION_HEAP_GROWING_PERCENT`) until the returned release function runs; V8's own
 * (dynamic) factor is restored once the last hold is released. Releasing twice is harmless.
 * @param hostOverrides parts of the host to replace (the session passes its `env`; tests more)
 * @returns release
 */
export function holdHeapGrowth(hostOverrides: Partial<YoungGenHost> = {}): () => void {
  const host = { ...realHost, ...hostOverrides };
  if (!heapGrowthTuningAllowed(host)) return () => {};
  if (growthHolds === 0) host.setFlags(`--heap-growing-percent=${SESSION_HEAP_GROWING_PERCENT}`);
  growthHolds++;
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    // (0: V8's default, a factor chosen from the heap's size and the collector's speed)
    if (--growthHolds === 0) host.setFlags("--heap-growing-percent=0");
  };
}
