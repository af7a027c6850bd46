/**
 * Real-terminal harness: spawn the built `htrac` in a pseudo-terminal (node-pty) and read the
 * screen through @xterm/headless, waiting for each write callback so the buffer is current.
 */
import { createRequire } from "node:module";
import { CLI } from "../helpers.js";

const require = createRequire(import.meta.url);
type IPty = import("node-pty").IPty;
type XTerm = import("@xterm/headless").Terminal;

/** Whether node-pty can be loaded here (its native addon builds at install time). */
export function ptyAvailable(): string | null {
  try {
    require("node-pty");
    require("@xterm/headless");
    return null;
  } catch (e) {
    return (e as Error).message.split("\n")[0];
  }
}

/** A program running in a pty, mirrored into a headless xterm. */
export class PtySession {
  readonly pty: IPty;
  readonly term: XTerm;
  /** Every byte the program wrote. */
  raw = "";
  exitCode: number | null = null;
  readonly exited: Promise<number>;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    args: string[],
    opts: { cols: number; rows: number; env?: NodeJS.ProcessEnv; cwd?: string; asUser?: string },
  ) {
    const pty = require("node-pty") as typeof import("node-pty");
    const { Terminal } = require("@xterm/headless") as typeof import("@xterm/headless");
    this.term = new Terminal({ cols: opts.cols, rows: opts.rows, allowProposedApi: true });
    // (the developer's own NO_COLOR would turn colour off where a test expects it: only a
    // test's own env sets it)
    const inherited: NodeJS.ProcessEnv = { ...process.env };
    delete inherited.NO_COLOR;
    const env: NodeJS.ProcessEnv = { ...inherited, TERM: "xterm-256color", LANG: "C.UTF-8", ...opts.env };
    delete env.CI; // the app must not change behaviour under CI
    const [cmd, argv] = opts.asUser
      ? ["runuser", ["-u", opts.asUser, "--", process.execPath, CLI, ...args]]
      : [process.execPath, [CLI, ...args]];
    this.pty = pty.spawn(cmd, argv, {
      name: env.TERM,
      cols: opts.cols,
      rows: opts.rows,
      cwd: opts.cwd ?? process.cwd(),
      env: env as Record<string, string>,
    });
    this.pty.onData((d) => {
      this.raw += d;
      this.pending = this.pending.then(() => new Promise<void>((r) => this.term.write(d, r)));
    });
    this.exited = new Promise((resolve) => {
      this.pty.onExit(({ exitCode }) => {
        this.exitCode = exitCode;
        resolve(exitCode);
      });
    });
  }

  /** Screen rows as text (trailing blanks trimmed), after all pending writes are parsed. */
  async screen(): Promise<string> {
    await this.pending;
    const buf = this.term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < this.term.rows; y++)
      out.push(buf.getLine(buf.viewportY + y)?.translateToString(true) ?? "");
    return out.join("\n");
  }

  /** Wait until the screen satisfies `pred` (or throw with the screen). */
  async waitFor(pred: (s: string) => boolean, what: string, timeoutMs = 15000): Promise<string> {
    const until = Date.now() + timeoutMs;
    let s = "";
    while (Date.now() < until) {
      s = await this.screen();
      if (pred(s)) return s;
      if (this.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(
      `timed out waiting for ${what} (exit ${this.exitCode}); screen:\n${s}\nstderr-ish tail: ${JSON.stringify(this.raw.slice(-300))}`,
    );
  }

  /** Type bytes. */
  write(s: string): void {
    this.pty.write(s);
  }

  /** Resize both the pty (SIGWINCH to the program) and the mirror. */
  resize(cols: number, rows: number): void {
    this.pty.resize(cols, rows);
    this.term.resize(cols, rows);
  }

  /** Kill if still running: the whole process group (runuser and its child too). */
  kill(): void {
    if (this.exitCode === null) {
      try {
        process.kill(-this.pty.pid, "SIGKILL"); // the pty child leads its own session/group
      } catch {
        /* gone */
      }
      try {
        this.pty.kill();
      } catch {
        /* gone */
      }
    }
    this.term.dispose();
  }
}
