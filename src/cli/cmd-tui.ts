/**
 * `tui` and `snapshot`: the full-screen app and its headless renderer (src/app). Loaded on
 * demand so other commands never load the terminal library.
 */
import type { Command } from "commander";
import type { Ctx } from "./context.js";
import { ExitCode } from "./io.js";

/** Largest snapshot width or height (cells): a screen grid of 1000 × 1000 is plenty. */
const MAX_SNAPSHOT_SIDE = 1000;

/**
 * Parse `WxH` (columns × rows, each 1 to `MAX_SNAPSHOT_SIDE`).
 * @throws Error naming the option and the value
 */
function parseSize(s: string): { cols: number; rows: number } {
  const m = /^(\d+)x(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`--size must be WxH (e.g. 80x24), got '${s}'`);
  const cols = Number(m[1]);
  const rows = Number(m[2]);
  if (cols < 1 || rows < 1 || cols > MAX_SNAPSHOT_SIDE || rows > MAX_SNAPSHOT_SIDE)
    throw new Error(`--size must be WxH with W and H from 1 to ${MAX_SNAPSHOT_SIDE}, got '${s}'`);
  return { cols, rows };
}

export function registerTui(program: Command, ctx: () => Ctx): void {
  program
    .command("tui")
    .description("Open the terminal UI (all tiers; live updates; keys: ? for help)")
    .option("--demo", "open a generated demo tracker (in a temp directory) instead")
    .option("--demo-if-missing", "open a generated demo tracker when no tracker is found (npm start)")
    .option("--read-only", "disable every write action")
    .option("--no-mouse", "do not enable mouse reporting")
    .option("--poll", "watch files by polling instead of file events")
    .addHelpText(
      "after",
      `
Files and environment:
  $XDG_CONFIG_HOME/htrac/keymap.yaml  your keys (~/.config when XDG_CONFIG_HOME is unset):
                                      override or add per context, as keymaps/default.yaml;
                                      ? lists the active ones
  .agent/tracker-workspace/tui_preferences.json
                                      filters, order and read state (shared with the
                                      reference TUI, written atomically)
  NO_COLOR=1                          no colour
  TERM=linux, a non-UTF-8 locale or HTRAC_ASCII=1
                                      ASCII only
  HTRAC_GC_TUNING=0                   leave V8's memory settings alone

A config.yaml that is invalid at start opens the session read-only on config.yaml.template
(else the built-in defaults), with the problem listed under !; once the file is fixed the
session writes again. A config changed while the session runs applies at once; one broken
while it runs leaves the session on the last valid config.`,
    )
    .action(
      async (opts: {
        demo?: boolean;
        demoIfMissing?: boolean;
        readOnly?: boolean;
        mouse: boolean;
        poll?: boolean;
      }) => {
        const c = ctx();
        const { runTui } = await import("../app/run.js");
        const code = await runTui({
          io: c.io,
          trackerRoot: c.g.trackerRoot,
          demo: opts.demo === true,
          demoIfMissing: opts.demoIfMissing === true,
          readOnly: opts.readOnly === true,
          mouse: opts.mouse !== false,
          poll: opts.poll === true,
        });
        if (code !== 0) throw new ExitCode(code);
      },
    );

  program
    .command("snapshot")
    .description(
      "Render the TUI headlessly at a size after keys, print the screen (deterministic with --now)",
    )
    .requiredOption("--size <WxH>", "terminal size, e.g. 80x24")
    .option("--keys <keys>", 'space-separated keys to press first, e.g. "f j j Enter"', "")
    .option("--now <iso>", "fixed clock for relative times (ISO 8601)")
    .option("--format <fmt>", "text, ansi or svg", "text")
    .option("--demo", "render the generated demo tracker")
    .action(async (opts: { size: string; keys: string; now?: string; format: string; demo?: boolean }) => {
      const c = ctx();
      let size: { cols: number; rows: number };
      try {
        size = parseSize(opts.size);
      } catch (e) {
        c.fail((e as Error).message, 2);
      }
      if (!["text", "ansi", "svg"].includes(opts.format))
        c.fail(`--format must be text, ansi or svg, got '${opts.format}'`, 2);
      const now = opts.now ? Date.parse(opts.now) : undefined;
      if (opts.now && Number.isNaN(now)) c.fail(`--now is not an ISO timestamp: '${opts.now}'`, 2);
      const { runSnapshot } = await import("../app/run.js");
      const out = await runSnapshot({
        // (an invalid config is shown as the TUI shows it, not fatal)
        tracker: opts.demo ? undefined : c.tracker({ configFallback: true }),
        demo: opts.demo === true,
        cols: size!.cols,
        rows: size!.rows,
        keys: opts.keys,
        now,
        format: opts.format as "text" | "ansi" | "svg",
        env: c.io.env,
      });
      c.out(out);
    });
}
