/**
 * The change feed: `watchTracker(tracker, onChange)` reports which items changed in any
 * tier shortly after a write, re-reading only the changed files (and, for appends, only
 * the appended bytes — see tierstore.ts).
 *
 * File events are coalesced per file with a short debounce. They come from chokidar for the
 * two small tier roots (config, edit-mode logs, op directories appearing or vanishing) and
 * from one `fs.watch` per op directory: chokidar watches every file of a directory on its
 * own and re-lists and lstat()s the whole directory after each event in it, which at 10k
 * items means 10k inotify watches (past the default per-user limit on many hosts) and ~10k
 * lstat calls per second of activity — too costly for the directories that hold the items. A periodic full re-stat (default every 5 s, `HTRAC_RELOAD_INTERVAL`) is a safety
 * net for missed events; when file events are unavailable (watcher error such as exhausted
 * inotify watches, or `usePolling`) the feed falls back to re-stat polling. A file that
 * vanishes or is caught half-written is retried a few times, then reported — never thrown.
 */
import fs from "node:fs";
import path from "node:path";
import type { FSWatcher } from "chokidar";
import { TIERS, type Tier } from "./compile.js";
import type { Problem } from "./oplog.js";
import { editModeLogPath } from "./paths.js";
import type { Tracker } from "./tracker.js";
import { importPackage } from "./esm.js";

/** One batch of changes. IDs are full item IDs; an ID may appear in several tiers. */
export interface ChangeEvent {
  /** Items that appeared. */
  added: { id: string; tier: Tier }[];
  /** Items whose content changed (including frozen flag and edit-mode effects). */
  changed: { id: string; tier: Tier }[];
  /** Items whose file disappeared from a tier. */
  removed: { id: string; tier: Tier }[];
  /** Problems found while reading changed files (torn tails that did not heal, corrupt files). */
  problems: Problem[];
  /** Why this batch happened. */
  source: "events" | "poll" | "retry" | "local";
  /**
   * The config files changed on disk (`Tracker.checkConfig`): `invalid` (its problem is in
   * `Tracker.problems()`), `valid` (the config in use; an earlier error gone) or `changed`
   * (valid and different; `Tracker.applyConfig` puts it in use). Absent when they did not
   * change.
   */
  config?: "invalid" | "valid" | "changed";
}

/** Options of `watchTracker`. */
export interface WatchOptions {
  /** Quiet time before a batch is processed (ms, default 8). */
  debounceMs?: number;
  /** Longest time events are held back (ms, default 30). */
  maxDelayMs?: number;
  /** Skip file events and poll by re-stat (default false). */
  usePolling?: boolean;
  /** Poll interval when polling (ms, default 500). */
  pollIntervalMs?: number;
  /** Safety-net full re-stat interval in event mode (ms; default HTRAC_RELOAD_INTERVAL s or 5 s; 0 disables). */
  safetyIntervalMs?: number;
  /** Retries for a half-written (torn) file before reporting it (default 10, 25 ms apart). */
  tornRetries?: number;
  /** Called when the feed changes mode (e.g. events → polling after a watcher error). */
  onMode?: (mode: "events" | "polling", reason?: string) => void;
}

/** A running change feed. */
export interface Watcher {
  /** `events` (file notifications) or `polling`. */
  readonly mode: "events" | "polling";
  /** Resolves once the initial watch is established. */
  ready: Promise<void>;
  /** Process pending events now (tests, and before reading after an own write). */
  flush(): void;
  close(): Promise<void>;
}

/**
 * Start the change feed.
 * @param onChange called with each non-empty batch; exceptions it throws are swallowed so
 *   the feed keeps running
 */
export function watchTracker(
  tracker: Tracker,
  onChange: (ev: ChangeEvent) => void,
  opts: WatchOptions = {},
): Watcher {
  const debounceMs = opts.debounceMs ?? 8;
  const maxDelayMs = opts.maxDelayMs ?? 30;
  const envInterval = Number(tracker.env.HTRAC_RELOAD_INTERVAL);
  const safetyMs =
    opts.safetyIntervalMs ?? (Number.isFinite(envInterval) && envInterval > 0 ? envInterval * 1000 : 5000);
  const pollMs = opts.pollIntervalMs ?? 500;
  const tornRetries = opts.tornRetries ?? 10;
  const dirToTier = new Map<string, Tier>();
  for (const t of TIERS) dirToTier.set(path.resolve(tracker.paths.tierDirs[t]), t);
  const logToTiers = new Map<string, Tier[]>();
  for (const t of TIERS) {
    const p = path.resolve(editModeLogPath(tracker.paths, t));
    logToTiers.set(p, [...(logToTiers.get(p) ?? []), t]);
  }

  const pending = new Map<Tier, Set<string>>();
  const pendingLogs = new Set<string>();
  const tornCount = new Map<string, number>();
  let timer: NodeJS.Timeout | null = null;
  let firstAt = 0;
  let closed = false;
  let mode: "events" | "polling" = opts.usePolling ? "polling" : "events";
  let fsw: FSWatcher | null = null;
  let pollTimer: NodeJS.Timeout | null = null;
  let retryTimer: NodeJS.Timeout | null = null;

  /** Look at the config files (a stat of two files; see `Tracker.checkConfig`). */
  const checkConfig = (ev: ChangeEvent) => {
    try {
      const c = tracker.checkConfig();
      if (c) ev.config = c;
    } catch {
      /* unreadable now: looked at again on the next event or poll */
    }
  };
  let pendingConfig = false;
  const configDir = path.resolve(tracker.paths.configDir);

  const emit = (ev: ChangeEvent) => {
    if (ev.added.length + ev.changed.length + ev.removed.length + ev.problems.length === 0 && !ev.config)
      return;
    try {
      onChange(ev);
    } catch {
      /* a consumer error must not stop the feed */
    }
  };

  const process = (source: ChangeEvent["source"]) => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    const ev: ChangeEvent = { added: [], changed: [], removed: [], problems: [], source };
    const retry = new Map<Tier, Set<string>>();
    for (const [tier, names] of pending) {
      const store = tracker.tiers[tier];
      for (const name of names) {
        let r: ReturnType<typeof store.refreshName>;
        try {
          r = store.refreshName(name, 1);
        } catch {
          r = null;
        }
        if (!r) continue;
        const rec = store.records.get(r.id);
        const torn = rec?.problems.find((p) => p.kind === "torn-tail");
        const key = `${tier}:${name}`;
        if (torn) {
          const n = (tornCount.get(key) ?? 0) + 1;
          tornCount.set(key, n);
          if (n <= tornRetries) {
            if (!retry.has(tier)) retry.set(tier, new Set());
            retry.get(tier)!.add(name);
          } else {
            ev.problems.push(torn);
            tornCount.delete(key);
          }
        } else {
          tornCount.delete(key);
          if (rec?.error)
            ev.problems.push(...(rec.problems.length ? rec.problems.filter((p) => p.fatal) : []));
        }
        if (r.change === "added") ev.added.push({ id: r.id, tier });
        else if (r.change === "changed") ev.changed.push({ id: r.id, tier });
        else if (r.change === "removed") ev.removed.push({ id: r.id, tier });
      }
    }
    pending.clear();
    for (const p of pendingLogs) {
      for (const t of logToTiers.get(p) ?? []) {
        if (tracker.tiers[t].refreshEditLog()) {
          const listed = new Set(ev.changed.filter((c) => c.tier === t).map((c) => c.id));
          for (const id of tracker.tiers[t].ids()) if (!listed.has(id)) ev.changed.push({ id, tier: t });
        }
      }
    }
    pendingLogs.clear();
    if (pendingConfig) {
      pendingConfig = false;
      checkConfig(ev);
    }
    emit(ev);
    if (retry.size > 0 && !closed) {
      for (const [t, names] of retry) {
        if (!pending.has(t)) pending.set(t, new Set());
        for (const n of names) pending.get(t)!.add(n);
      }
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = setTimeout(() => {
        retryTimer = null;
        if (!closed) process("retry");
      }, 25);
    }
  };

  const schedule = () => {
    if (closed) return;
    const now = Date.now();
    if (!timer) firstAt = now;
    if (timer) clearTimeout(timer);
    const wait = Math.max(0, Math.min(debounceMs, firstAt + maxDelayMs - now));
    timer = setTimeout(() => process("events"), wait);
  };

  const onFsEvent = (_event: string, p: string) => {
    const abs = path.resolve(p);
    if (path.dirname(abs) === configDir && path.basename(abs).startsWith("config.yaml")) {
      pendingConfig = true;
      schedule();
      return;
    }
    if (logToTiers.has(abs)) {
      pendingLogs.add(abs);
      schedule();
      return;
    }
    const tier = dirToTier.get(path.dirname(abs));
    if (!tier) return;
    const name = path.basename(abs);
    if (!name.startsWith(".") || !(name.endsWith(".ops") || name.endsWith(".frozen"))) return;
    if (!pending.has(tier)) pending.set(tier, new Set());
    pending.get(tier)!.add(name);
    schedule();
  };

  let polling: Promise<void> | null = null;
  /**
   * Re-stat every file of every tier (in slices that yield to the event loop, see
   * `TierStore.rescanAsync`) and emit what changed. One poll at a time: a call while one
   * runs waits for it.
   */
  const poll = (source: ChangeEvent["source"]): Promise<void> => {
    if (closed) return Promise.resolve();
    if (polling) return polling;
    const run = async () => {
      const ev: ChangeEvent = { added: [], changed: [], removed: [], problems: [], source };
      for (const t of TIERS) {
        let changes: Map<string, string>;
        try {
          changes = await tracker.tiers[t].rescanAsync();
        } catch {
          continue;
        }
        if (closed) return;
        for (const [id, c] of changes) {
          if (c === "added") ev.added.push({ id, tier: t });
          else if (c === "removed") ev.removed.push({ id, tier: t });
          else ev.changed.push({ id, tier: t });
          const rec = tracker.tiers[t].records.get(id);
          if (rec?.error) ev.problems.push(...rec.problems.filter((p) => p.fatal));
        }
      }
      checkConfig(ev);
      emit(ev);
    };
    polling = run().finally(() => {
      polling = null;
    });
    return polling;
  };

  /** One `fs.watch` per existing op directory, keyed by tier, with the inode it watches. */
  const dirWatchers = new Map<Tier, { w: fs.FSWatcher; ino: number }>();
  const closeDirWatchers = () => {
    for (const { w } of dirWatchers.values()) w.close();
    dirWatchers.clear();
  };
  /**
   * Attach a watcher to every op directory that exists and is not watched yet (or was
   * replaced: new inode); drop those whose directory is gone. A directory that appears
   * later may already hold files, so it is followed by a full re-stat.
   */
  const ensureDirWatchers = (initial = false) => {
    if (closed || mode !== "events") return;
    let appeared = false;
    for (const t of TIERS) {
      const dir = path.resolve(tracker.paths.tierDirs[t]);
      let ino = -1;
      try {
        const st = fs.statSync(dir);
        if (st.isDirectory()) ino = st.ino;
      } catch {
        /* missing: watched when it appears */
      }
      const cur = dirWatchers.get(t);
      if (cur && cur.ino === ino) continue;
      if (cur) {
        cur.w.close();
        dirWatchers.delete(t);
      }
      if (ino < 0) continue;
      let w: fs.FSWatcher;
      try {
        w = fs.watch(dir, { persistent: true }, (event, filename) => {
          if (filename) onFsEvent(event, path.join(dir, filename.toString()));
          else void poll("poll"); // event queue overflow: names unknown
        });
      } catch (err) {
        startPolling(`file events unavailable: ${String((err as Error)?.message ?? err)}`);
        return;
      }
      w.on("error", () => {
        // The directory went away (or the watch broke): re-attach when it is back.
        w.close();
        if (dirWatchers.get(t)?.w === w) dirWatchers.delete(t);
        setTimeout(() => {
          ensureDirWatchers();
          void poll("poll");
        }, 20).unref?.();
      });
      dirWatchers.set(t, { w, ino });
      appeared = true;
    }
    if (appeared && !initial) void poll("poll");
  };

  const startPolling = (reason?: string) => {
    closeDirWatchers();
    if (fsw) {
      void fsw.close().catch(() => {});
      fsw = null;
    }
    mode = "polling";
    opts.onMode?.("polling", reason);
    if (pollTimer) clearTimeout(pollTimer);
    // A full re-stat of a big tracker is not free (≈80 ms at 10k items): keep polling to
    // about 10% of the time.
    schedulePoll("polling", pollMs, 10);
  };

  /**
   * Re-stat every file after `delay` ms, then again after max(base, factor × its cost):
   * `polling` mode (factor 10) or the event mode's safety net (factor 50). A schedule stops
   * when the mode it belongs to ends.
   */
  function schedulePoll(kind: "polling" | "events", base: number, factor: number, delay = base): void {
    pollTimer = setTimeout(() => {
      if (closed || mode !== kind) return;
      if (kind === "events") ensureDirWatchers(); // in case a directory event was missed
      const t0 = performance.now();
      void poll("poll").then(() => {
        const cost = performance.now() - t0; // wall time: an upper bound of the main-thread cost
        if (!closed && mode === kind) schedulePoll(kind, base, factor, Math.max(base, factor * cost));
      });
    }, delay);
    pollTimer.unref?.();
  }

  const unsubscribe = tracker.subscribe((changes) => {
    const ev: ChangeEvent = { added: [], changed: [], removed: [], problems: [], source: "local" };
    for (const c of changes) ev[c.change].push({ id: c.id, tier: c.tier });
    emit(ev);
  });

  let ready: Promise<void>;
  if (mode === "polling") {
    startPolling("polling requested");
    ready = Promise.resolve();
  } else {
    // chokidar watches the two tier roots one level deep (edit-mode logs, op directories
    // coming and going; every watched path exists, chokidar's `ready` is only reliable
    // then) but not inside the op directories: those have their own fs.watch.
    const opDirs = new Set(TIERS.map((t) => path.resolve(tracker.paths.tierDirs[t])));
    ensureDirWatchers(true);
    const started = importPackage<typeof import("chokidar")>("chokidar").then(({ watch }) => {
      if (closed) return null;
      const w = watch([tracker.paths.configDir, tracker.paths.workspaceRoot], {
        ignoreInitial: true,
        depth: 1,
        atomic: false,
        persistent: true,
        ignorePermissionErrors: true,
        ignored: (p: string) => opDirs.has(path.resolve(p)),
      });
      fsw = w;
      return w;
    });
    ready = started.then(
      (w) =>
        new Promise<void>((resolve) => {
          if (!w) return resolve();
          attach(w);
          w.once("ready", () => {
            // Catch up on writes made between the tracker's load and the watch starting.
            if (!closed && mode === "events") void poll("poll").then(resolve);
            else resolve();
          });
        }),
    );
    // Safety net for missed events: at most 2% of the time goes to it on big trackers.
    if (safetyMs > 0) schedulePoll("events", safetyMs, 50);
  }

  function attach(w: FSWatcher): void {
    const opDirsOf = new Set(TIERS.map((t) => path.resolve(tracker.paths.tierDirs[t])));
    w.on("all", onFsEvent);
    // chokidar drops a 'change' that follows another within its stat heuristics; the raw
    // inotify events do not, so they trigger a refresh too (refreshes are idempotent).
    w.on("raw", (event: string, p: string, details: unknown) => {
      const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (!watched || !p) return;
      const abs = path.basename(watched) === p ? watched : path.join(watched, p);
      // An op directory created, removed or replaced (git checkout, setup): re-attach.
      if (opDirsOf.has(abs)) setTimeout(() => ensureDirWatchers(), 0).unref?.();
      else onFsEvent(event, abs);
    });
    w.on("error", (err: unknown) => {
      if (!closed && mode === "events")
        startPolling(`file events unavailable: ${String((err as Error)?.message ?? err)}`);
    });
  }

  return {
    get mode() {
      return mode;
    },
    ready,
    flush() {
      if (pending.size > 0 || pendingLogs.size > 0) process("events");
    },
    async close() {
      closed = true;
      unsubscribe();
      if (timer) clearTimeout(timer);
      if (retryTimer) clearTimeout(retryTimer);
      if (pollTimer) clearTimeout(pollTimer);
      closeDirWatchers();
      if (polling) await polling.catch(() => {});
      if (fsw) await fsw.close().catch(() => {});
    },
  };
}
