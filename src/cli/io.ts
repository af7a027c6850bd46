/**
 * CLI plumbing: the injectable I/O of one invocation and Python-compatible JSON output.
 */
import type { OpenOptions } from "../index.js";

/** Where a CLI invocation reads and writes (real streams in production, buffers in tests). */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Read all of stdin (for `batch -` and `--description-stdin`). */
  readStdin: () => Promise<string>;
  /** Whether stdin / stdout are terminals (wizards ask questions only on a TTY). */
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  /** Ask a question on the terminal (setup wizard); resolves to the answer line. */
  prompt?: (question: string) => Promise<string>;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Store providers (tests inject a clock, nonces and a user; production uses the real ones). */
  providers?: Pick<OpenOptions, "now" | "nonce" | "user" | "gitPeek" | "protectedRoot">;
}

/** Options shared by every command (accepted before or after the subcommand). */
export interface GlobalOptions {
  trackerRoot?: string;
  json: boolean;
  noAutoSync: boolean;
}

/** Thrown to end a command with an exit code after it printed what it needed to. */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) out += s[i];
    else if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else out += `\\u${c.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
}

function num(n: number): string {
  if (Number.isInteger(n)) return String(n);
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "Infinity" : "-Infinity";
  return String(n);
}

/**
 * `json.dumps(value, indent=…)` as Python prints it: `", "` / `": "` separators when compact,
 * newline + indent otherwise, non-ASCII as `\uXXXX` (ensure_ascii). Keys keep insertion order
 * unless `sortKeys`.
 */
export function pyJson(value: unknown, indent?: number, sortKeys = false, level = 0): string {
  if (value === null || value === undefined) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "number") return num(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return jsonString(value);
  if (
    typeof value === "object" &&
    "toJSON" in (value as object) &&
    typeof (value as { toJSON: unknown }).toJSON === "function"
  ) {
    return pyJson((value as { toJSON: () => unknown }).toJSON(), indent, sortKeys, level);
  }
  const pad = indent === undefined ? "" : `\n${" ".repeat(indent * (level + 1))}`;
  const end = indent === undefined ? "" : `\n${" ".repeat(indent * level)}`;
  const sep = indent === undefined ? ", " : ",";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[${value.map((v) => pad + pyJson(v, indent, sortKeys, level + 1)).join(sep)}${end}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
  if (sortKeys) keys.sort();
  if (keys.length === 0) return "{}";
  return `{${keys.map((k) => `${pad}${jsonString(k)}: ${pyJson(obj[k], indent, sortKeys, level + 1)}`).join(sep)}${end}}`;
}
