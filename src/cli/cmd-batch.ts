/**
 * `batch FILE|-` (cli.md §7): one allowed command per line, POSIX shell quoting, run in
 * order in one process against one tracker. Also reads stdin when no file is given and
 * stdin is not a terminal (`htrac batch < commands.txt`, which the reference rejects).
 */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import type { Tracker } from "../index.js";
import type { Ctx } from "./context.js";
import { t1 } from "./format.js";
import { type CliIo, ExitCode } from "./io.js";

/** Commands a batch line may run. */
export const BATCH_COMMANDS = ["add", "update", "discuss", "lock", "unlock", "promote", "demote"];

/**
 * Python `shlex.split` (POSIX mode, no comments): quotes, backslash escapes.
 * @throws Error "No closing quotation" / "No escaped character"
 */
export function shlexSplit(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inToken = false;
  let i = 0;
  while (i < s.length) {
    const ch = s[i];
    if (ch === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new Error("No closing quotation");
      cur += s.slice(i + 1, end);
      inToken = true;
      i = end + 1;
    } else if (ch === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const d = s[i];
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === "\\" && i + 1 < s.length && '\\"$`\n'.includes(s[i + 1])) {
          cur += s[i + 1];
          i += 2;
          continue;
        }
        cur += d;
        i++;
      }
      if (!closed) throw new Error("No closing quotation");
      inToken = true;
    } else if (ch === "\\") {
      if (i + 1 >= s.length) throw new Error("No escaped character");
      cur += s[i + 1];
      inToken = true;
      i += 2;
    } else if (/\s/.test(ch)) {
      if (inToken) {
        out.push(cur);
        cur = "";
        inToken = false;
      }
      i++;
    } else {
      cur += ch;
      inToken = true;
      i++;
    }
  }
  if (inToken) out.push(cur);
  return out;
}

type Runner = (argv: string[], io: CliIo, opts?: { sharedTracker?: Tracker }) => Promise<number>;

export function registerBatch(program: Command, ctx: () => Ctx, run: Runner): void {
  program
    .command("batch")
    .description(
      `Run many commands from a file or '-' (stdin), one per line; allowed: ${BATCH_COMMANDS.join(", ")}`,
    )
    .argument("[file]", "command file, or '-' for stdin (default: stdin when it is not a terminal)")
    .action(async (file: string | undefined) => {
      const c = ctx();
      let text: string;
      if (file === undefined || file === "-") {
        if (file === undefined && c.io.stdinIsTTY) c.fail("batch needs a file, '-' or input on stdin", 2);
        text = await c.io.readStdin();
      } else {
        const p = path.resolve(c.io.cwd, file);
        if (!fs.existsSync(p)) c.fail(`batch file not found: ${file}`);
        text = fs.readFileSync(p, "utf8");
      }
      const ops: { line: number; tokens: string[] }[] = [];
      const physical = text.split("\n");
      for (let n = 0; n < physical.length; n++) {
        const s = physical[n].trim();
        if (s === "" || s.startsWith("#")) continue;
        try {
          ops.push({ line: n + 1, tokens: shlexSplit(s) });
        } catch (e) {
          c.fail((e as Error).message);
        }
      }
      if (ops.length === 0) {
        if (c.g.json) c.json({ ok: true, results: [] });
        else c.line("batch: 0 operations (nothing to do)");
        return;
      }
      const tracker = c.tracker();
      const results: { line: number; command: string; ok: boolean; output?: unknown; error?: string }[] = [];
      for (const { line, tokens } of ops) {
        const cmd = tokens[0] ?? "";
        if (!BATCH_COMMANDS.includes(cmd)) {
          const error = `'${cmd}' not allowed in batch`;
          results.push({ line, command: cmd, ok: false, error });
          if (!c.g.json) c.errLine(`  FAIL line ${line}: ${t1(error)}`);
          continue;
        }
        let out = "";
        let err = "";
        const io: CliIo = {
          ...c.io,
          stdout: (s) => {
            out += s;
          },
          stderr: (s) => {
            err += s;
          },
        };
        const globals = [...(c.g.json ? ["--json"] : []), "--no-auto-sync"];
        const code = await run([...globals, ...tokens], io, { sharedTracker: tracker });
        if (!c.g.json && out) c.out(out);
        if (code === 0) {
          const r: (typeof results)[number] = { line, command: cmd, ok: true };
          if (out.trim() !== "") {
            try {
              r.output = c.g.json ? JSON.parse(out) : out.trim();
            } catch {
              r.output = out.trim();
            }
          }
          results.push(r);
          if (err && !c.g.json) c.io.stderr(err);
        } else {
          const errLines = err.split("\n").filter((l) => l.startsWith("error: "));
          let error = errLines.length ? errLines[errLines.length - 1].slice(7) : `exit code ${code}`;
          if (
            code === 2 &&
            /unknown option|missing required|too many arguments|unknown command|argument/.test(err) &&
            !/corrupt data/.test(err)
          ) {
            if (!c.g.json) c.io.stderr(err);
            error = `invalid arguments for '${cmd}'`;
          }
          if (!errLines.length && code === 1) error = "exit code 1";
          results.push({ line, command: cmd, ok: false, error });
          if (!c.g.json) c.errLine(`  FAIL line ${line}: ${t1(error)}`);
        }
      }
      const okCount = results.filter((r) => r.ok).length;
      const allOk = okCount === results.length;
      if (c.g.json) {
        c.json({
          ok: allOk,
          total: results.length,
          succeeded: okCount,
          failed: results.length - okCount,
          results,
        });
      } else {
        c.line(`batch: ${okCount}/${results.length} succeeded (${allOk ? "ok" : "FAIL"})`);
        for (const r of results)
          if (!r.ok) c.errLine(`  line ${r.line}: ${r.command} — ${t1(r.error ?? "")}`);
      }
      if (!allOk) throw new ExitCode(1);
    });
}
