/**
 * The state of one CLI invocation: I/O, global options and the lazily opened tracker.
 */
import { openTracker, type Tracker, TrackerError } from "../index.js";
import { type CliIo, ExitCode, type GlobalOptions, pyJson, pyJsonPieces } from "./io.js";

/** Error opening the tracker (config invalid…): `error: failed to initialize tracker: …`, exit 2. */
export class TrackerInitError extends TrackerError {
  override readonly exitCode = 2;
}

/** Per-invocation context handed to every command. */
export class Ctx {
  private trackerCache: Tracker | null = null;
  /** Set by `batch` so nested commands reuse one tracker. */
  sharedTracker: Tracker | null = null;

  constructor(
    readonly io: CliIo,
    readonly g: GlobalOptions,
  ) {}

  /** Write to stdout. */
  out(s: string): void {
    this.io.stdout(s);
  }

  /** Write a line to stdout. */
  line(s = ""): void {
    this.io.stdout(`${s}\n`);
  }

  /** Write a line to stderr. */
  errLine(s: string): void {
    this.io.stderr(`${s}\n`);
  }

  /** Print JSON the way the reference does (indent 2 or compact one line). */
  json(value: unknown, indent?: 2, sortKeys = false): void {
    if (indent === undefined || sortKeys) {
      this.io.stdout(`${pyJson(value, indent, sortKeys)}\n`);
      return;
    }
    // In pieces: big listings never exist as one string. Text between kept item texts
    // (RawJson: bytes, views of what was read) is encoded in ~64 KB pieces; everything goes
    // out in gathered writes of ~8 MB.
    const write =
      this.io.stdoutBytes ??
      ((parts: Buffer[]) => {
        for (const b of parts) this.io.stdout(b.toString("latin1"));
      });
    const parts: Buffer[] = [];
    let size = 0;
    let text = "";
    const take = (b: Buffer) => {
      parts.push(b);
      size += b.length;
      if (size >= 1 << 23) {
        write(parts.splice(0));
        size = 0;
      }
    };
    for (const piece of pyJsonPieces(value, indent)) {
      if (typeof piece === "string") {
        text += piece;
        if (text.length < 1 << 16) continue;
        take(Buffer.from(text, "latin1"));
        text = "";
      } else {
        if (text) take(Buffer.from(text, "latin1"));
        text = "";
        take(piece);
      }
    }
    parts.push(Buffer.from(`${text}\n`, "latin1"));
    write(parts);
  }

  /**
   * End of the command: the tracker this context opened writes its warm-start cache now, once,
   * if the load or the texts it kept made that worthwhile (not a batch's shared tracker).
   */
  async finish(): Promise<void> {
    await this.trackerCache?.finishIndexCache();
  }

  /** Fail the command with `error: <message>` and an exit code. */
  fail(message: string, code = 1): never {
    this.errLine(`error: ${message}`);
    throw new ExitCode(code);
  }

  /**
   * The tracker (opened once): `--tracker-root` or the upward search from the cwd.
   * @throws TrackerError (exit 1) when no tracker is found, TrackerInitError (exit 2) on a
   *   bad config (unless `opts.configFallback`: a viewer's open, see `OpenOptions`)
   */
  tracker(opts: { configFallback?: boolean } = {}): Tracker {
    if (this.sharedTracker) return this.sharedTracker;
    if (this.trackerCache) return this.trackerCache;
    const p = { ...(this.io.providers ?? {}), configFallback: opts.configFallback };
    let root = this.g.trackerRoot;
    if (root === undefined) {
      const prev = process.cwd();
      try {
        if (prev !== this.io.cwd) process.chdir(this.io.cwd);
        this.trackerCache = openTracker(undefined, { ...p, env: this.io.env, indexCacheWrite: "end" });
      } catch (e) {
        throw this.initError(e);
      } finally {
        if (process.cwd() !== prev) process.chdir(prev);
      }
      return this.trackerCache;
    }
    if (!root.startsWith("/")) root = `${this.io.cwd}/${root}`;
    try {
      this.trackerCache = openTracker(root, { ...p, env: this.io.env, indexCacheWrite: "end" });
    } catch (e) {
      throw this.initError(e);
    }
    return this.trackerCache;
  }

  private initError(e: unknown): Error {
    if (e instanceof TrackerError && e.exitCode === 1) return e;
    return new TrackerInitError(`failed to initialize tracker: ${(e as Error).message}`);
  }
}
