/**
 * CLI plumbing: the injectable I/O of one invocation and Python-compatible JSON output.
 */
import { type OpenOptions, PyFloat, pyFloatRepr } from "../index.js";

/** Where a CLI invocation reads and writes (real streams in production, buffers in tests). */
export interface CliIo {
  stdout: (s: string) => void;
  /**
   * Write buffers as they are, in order (JSON output with kept item texts: one gathered
   * write instead of a copy into one buffer). Optional: `stdout` of their UTF-8 text.
   */
  stdoutBytes?: (parts: Buffer[]) => void;
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
  /**
   * How to run this very htrac from another program: node and the script (`htrac setup`
   * points git's diff driver for op files at it). Absent in-process (tests): setup then does
   * not set the driver.
   */
  self?: readonly string[];
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

const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const NON_ASCII = /[\u007f-\uffff]/g;

/** A JSON string as Python's `json.dumps` writes it (ensure_ascii: `\uXXXX` above 0x7e). */
function jsonString(s: string): string {
  if (PLAIN_ASCII.test(s)) return `"${s}"`;
  // JSON.stringify gives Python's escapes for quotes, backslash and controls (\n \t … and
  // lower-case \u00XX); then everything outside printable ASCII as \uXXXX code units.
  return JSON.stringify(s).replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function num(n: number): string {
  if (Number.isInteger(n)) return String(n);
  if (Number.isNaN(n)) return "NaN";
  return pyJsonFloat(n);
}

/**
 * `json.dumps(value, indent=…)` as Python prints it: `", "` / `": "` separators when compact,
 * newline + indent otherwise, non-ASCII as `\uXXXX` (ensure_ascii). Keys keep insertion order
 * unless `sortKeys`.
 */
export function pyJson(value: unknown, indent?: number, sortKeys = false, level = 0): string {
  if (indent !== undefined && !sortKeys && stringifySafe(value, 0)) {
    // Same bytes at native speed: with an indent, JSON.stringify's layout is json.dumps'.
    // Nested: stringify the value wrapped in `level` one-element arrays, so it comes out
    // already indented for its depth, and cut the wrapping off (no second pass over it).
    let wrapped: unknown = value === undefined ? null : value;
    for (let k = 0; k < level; k++) wrapped = [wrapped];
    let s = JSON.stringify(wrapped, null, indent);
    if (level > 0) {
      let head = 0;
      for (let k = 1; k <= level; k++) head += 2 + indent * k; // "[\n" + indentation
      const tail = 2 * level + indent * ((level * (level - 1)) / 2); // "\n" + indentation + "]"
      s = s.slice(head, s.length - tail);
    }
    if (NON_ASCII_TEST.test(s)) s = s.replace(NON_ASCII, asciiEscape);
    return s;
  }
  return pyJsonSlow(value, indent, sortKeys, level);
}

const NON_ASCII_TEST = /[\u007f-\uffff]/;
const asciiEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/**
 * True when JSON.stringify writes `value` exactly as json.dumps does: only strings, safe
 * integers, booleans, null/undefined, arrays and plain (or prototype-free) objects without
 * `toJSON`. Floats (Python writes `1.0`), big integers and custom objects take the slow path.
 */
function stringifySafe(v: unknown, depth: number): boolean {
  if (v === null || v === undefined || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isSafeInteger(v) && !Object.is(v, -0);
  if (typeof v !== "object" || depth > 64) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (!stringifySafe(x, depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  // Plain, prototype-free, or a YAML mapping (its prototype has a null prototype).
  if (proto !== Object.prototype && proto !== null && Object.getPrototypeOf(proto) !== null) return false;
  const o = v as Record<string, unknown>;
  if ("toJSON" in o) return false;
  for (const k in o) if (!stringifySafe(o[k], depth + 1)) return false;
  return true;
}

/**
 * JSON text already written by `pyJson` for the place it takes in a `pyJsonPieces` output
 * (same indent, same depth): the pieces writer passes its bytes through unchanged.
 */
export class RawJson {
  constructor(readonly bytes: Buffer) {}
}

/** Python json's float text: `repr()` for finite values, else NaN / Infinity / -Infinity. */
function pyJsonFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  return pyFloatRepr(x);
}

/**
 * The general writer behind `pyJson` (floats, big integers, `toJSON`, sorted keys, compact
 * separators). Nested values it meets take the native path when they can, unless `native`
 * is false (then it is the plain reference walk the native path is tested against).
 */
export function pyJsonSlow(
  value: unknown,
  indent: number | undefined,
  sortKeys: boolean,
  level: number,
  native = true,
): string {
  const sub = native
    ? pyJson
    : (v: unknown, i: number | undefined, k: boolean, l: number) => pyJsonSlow(v, i, k, l, false);
  if (value === null || value === undefined) return "null";
  if (value instanceof RawJson) return value.bytes.toString("utf8");
  if (value instanceof PyFloat) return pyJsonFloat(value.value);
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
    return sub((value as { toJSON: () => unknown }).toJSON(), indent, sortKeys, level);
  }
  const pad = indent === undefined ? "" : `\n${" ".repeat(indent * (level + 1))}`;
  const end = indent === undefined ? "" : `\n${" ".repeat(indent * level)}`;
  const sep = indent === undefined ? ", " : ",";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[${value.map((v) => pad + sub(v, indent, sortKeys, level + 1)).join(sep)}${end}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
  if (sortKeys) keys.sort();
  if (keys.length === 0) return "{}";
  return `{${keys.map((k) => `${pad}${jsonString(k)}: ${sub(obj[k], indent, sortKeys, level + 1)}`).join(sep)}${end}}`;
}

/** Ordinary array elements written per `pyJson` call by `pyJsonPieces`. */
const PIECE_BATCH = 256;

/**
 * `pyJson(value, indent)` in pieces, for output too big to build as one string (`list
 * --json` of a 10k-item tracker is ~60 MB): the top container and the arrays directly in it
 * are walked here, each of their elements is written whole by `pyJson`. Joining the pieces
 * gives exactly `pyJson(value, indent)` (a `RawJson` element comes out as its bytes).
 */
export function* pyJsonPieces(value: unknown, indent: number, level = 0): Generator<string | Buffer> {
  if (value instanceof RawJson) {
    yield value.bytes;
    return;
  }
  const plainObject =
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    [Object.prototype, null].includes(Object.getPrototypeOf(value)) &&
    !("toJSON" in (value as object));
  // Walk the top container and arrays just below it; their elements (items) go whole.
  const walk = level === 0 ? Array.isArray(value) || plainObject : level === 1 && Array.isArray(value);
  if (!walk) {
    yield pyJson(value, indent, false, level);
    return;
  }
  const pad = `\n${" ".repeat(indent * (level + 1))}`;
  const end = `\n${" ".repeat(indent * level)}`;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      yield "[]";
      return;
    }
    yield "[";
    for (let i = 0; i < value.length;) {
      if (value[i] instanceof RawJson) {
        yield i === 0 ? pad : `,${pad}`;
        yield (value[i] as RawJson).bytes;
        i++;
        continue;
      }
      // A run of ordinary elements is written PIECE_BATCH at a time: one `pyJson` of the
      // batch as an array at this level, without its brackets, is exactly those elements
      // with their separators (thousands of small rows cost one native stringify each batch).
      let j = i;
      while (j < value.length && j - i < PIECE_BATCH && !(value[j] instanceof RawJson)) j++;
      const batch = pyJson(value.slice(i, j), indent, false, level);
      yield (i === 0 ? pad : `,${pad}`) + batch.slice(1 + pad.length, batch.length - end.length - 1);
      i = j;
    }
    yield `${end}]`;
    return;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
  if (keys.length === 0) {
    yield "{}";
    return;
  }
  yield "{";
  for (let i = 0; i < keys.length; i++) {
    yield `${i === 0 ? pad : `,${pad}`}${jsonString(keys[i])}: `;
    yield* pyJsonPieces(obj[keys[i]], indent, level + 1);
  }
  yield `${end}}`;
}
