/**
 * Entry points of the terminal app (filled in by the TUI implementation).
 */
import type { CliIo } from "../cli/io.js";
import type { Tracker } from "../index.js";

export interface RunTuiOptions {
  io: CliIo;
  trackerRoot?: string;
  demo: boolean;
  demoIfMissing: boolean;
  readOnly: boolean;
  mouse: boolean;
  poll: boolean;
}

export interface SnapshotOptions {
  tracker?: Tracker;
  demo: boolean;
  cols: number;
  rows: number;
  keys: string;
  now?: number;
  format: "text" | "ansi" | "svg";
  env: NodeJS.ProcessEnv;
}

export async function runTui(opts: RunTuiOptions): Promise<number> {
  opts.io.stderr("error: the TUI is not built yet\n");
  return 2;
}

export async function runSnapshot(_opts: SnapshotOptions): Promise<string> {
  throw new Error("the TUI is not built yet");
}
