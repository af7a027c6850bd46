/**
 * The `htrac` command line: argument handling, global options (accepted before and after
 * the subcommand), command registration and the mapping of errors to exit codes
 * (cli.md §1.1–§1.3): 0 ok, 1 user error, 2 internal error or usage error.
 */
import { Command, CommanderError } from "commander";
import {
  CorruptFileError,
  DiscussionRateLimitError,
  RefResolutionError,
  sanitizeText,
  type Tracker,
  TrackerError,
} from "../index.js";
import { registerAdmin } from "./cmd-admin.js";
import { registerBatch } from "./cmd-batch.js";
import { registerRead } from "./cmd-read.js";
import { registerTui } from "./cmd-tui.js";
import { registerWrite } from "./cmd-write.js";
import { Ctx } from "./context.js";
import { type CliIo, ExitCode, type GlobalOptions } from "./io.js";

export const VERSION = "0.1.0";

/**
 * Remove global options from anywhere before `--` (the reference accepts them only before
 * the subcommand; accepting both is a superset).
 * @returns the options, the other arguments, and `error` (argparse's message) when
 *   `--tracker-root` has no value: it is last, empty, or an option follows it
 */
export function extractGlobals(argv: string[]): { g: GlobalOptions; rest: string[]; error?: string } {
  const g: GlobalOptions = { json: false, noAutoSync: false };
  const rest: string[] = [];
  let error: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === "--json") g.json = true;
    else if (a === "--no-auto-sync") g.noAutoSync = true;
    else if (a === "--tracker-root") {
      const v = argv[i + 1];
      if (v === undefined || (v.startsWith("-") && v !== "-"))
        error ??= "argument --tracker-root: expected one argument";
      else g.trackerRoot = v;
      i++;
    } else if (a.startsWith("--tracker-root=")) {
      const v = a.slice("--tracker-root=".length);
      if (v === "") error ??= "argument --tracker-root: expected one argument";
      else g.trackerRoot = v;
    } else rest.push(a);
  }
  return error === undefined ? { g, rest } : { g, rest, error };
}

function buildProgram(io: CliIo, ctxRef: { ctx: Ctx }, run: typeof runCli): Command {
  const program = new Command();
  program
    .name("htrac")
    .description(
      "Govern AI coding agents: read and write hypergumbo-tracker op logs (a drop-in for the reference htrac CLI).\n" +
        "Global options may come before or after the subcommand. --no-auto-sync is accepted for compatibility; htrac never auto-syncs.\n" +
        ":N aliases (from list, ready, deps, tags) work in any later command, in any process — unlike the reference, also for show/update/deps and in a repository with no commit or no git (kept in ~/.cache/htrac/aliases there).\n" +
        "The reference's sync, reconcile, migrate and serve are not provided (each says what to do instead).",
    )
    .version(VERSION, "-V, --version")
    .option("--tracker-root <path>", "path to the .agent/ directory (or the repository containing it)")
    .option("--json", "machine-readable output")
    .option("--no-auto-sync", "accepted for compatibility (no effect: htrac does not auto-sync)")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      // Help text wraps at 80 columns unless printed on a terminal: stable for scripts and tests.
      getOutHelpWidth: () => (io.stdoutIsTTY ? (process.stdout.columns ?? 80) : 80),
      getErrHelpWidth: () => 80,
    })
    .showSuggestionAfterError(true)
    // Aliases are named in the description; keeping them out of the command column keeps the
    // help wrapped at 80 columns.
    .configureHelp({
      subcommandTerm: (cmd) => {
        const args = cmd.registeredArguments
          .map((a) => {
            const n = a.name() + (a.variadic ? "..." : "");
            return a.required ? `<${n}>` : `[${n}]`;
          })
          .join(" ");
        return `${cmd.name()}${cmd.options.length ? " [options]" : ""}${args ? ` ${args}` : ""}`;
      },
    });
  const ctx = () => ctxRef.ctx;
  registerRead(program, ctx);
  registerWrite(program, ctx);
  registerAdmin(program, ctx);
  registerBatch(program, ctx, run);
  registerTui(program, ctx);
  for (const sub of program.commands) {
    sub.exitOverride();
    for (const s2 of sub.commands) s2.exitOverride();
  }
  return program;
}

function printError(io: CliIo, message: string): void {
  io.stderr(`error: ${sanitizeText(message, { multiline: true })}\n`);
}

/**
 * Run one CLI invocation.
 * @param argv arguments after the program name
 * @param opts.sharedTracker reuse an open tracker (batch lines)
 * @returns the exit code (never calls process.exit)
 */
export async function runCli(
  argv: string[],
  io: CliIo,
  opts: { sharedTracker?: Tracker } = {},
): Promise<number> {
  const { g, rest, error } = extractGlobals(argv);
  if (error !== undefined) {
    printError(io, error);
    return 2;
  }
  const ctx = new Ctx(io, g);
  if (opts.sharedTracker) ctx.sharedTracker = opts.sharedTracker;
  const ref = { ctx };
  const program = buildProgram(io, ref, runCli);
  if (rest.length === 0) {
    io.stdout(program.helpInformation());
    return 1;
  }
  try {
    await program.parseAsync(rest, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof ExitCode) return e.code;
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.exitCode === 0)
        return 0;
      return 2;
    }
    if (e instanceof RefResolutionError) {
      printError(io, `cannot resolve ${e.label} '${e.ref}': ${e.message}`);
      printError(io, e.message);
      return 1;
    }
    if (e instanceof CorruptFileError) {
      printError(io, `corrupt data: ${e.message}`);
      return 2;
    }
    if (e instanceof DiscussionRateLimitError) {
      printError(io, e.message);
      return 1;
    }
    if (e instanceof TrackerError) {
      printError(io, e.message);
      return e.exitCode;
    }
    printError(io, (e as Error)?.message ?? String(e));
    return 2;
  } finally {
    await ctx.finish(); // the warm-start cache, once per command (also after an error)
  }
}
