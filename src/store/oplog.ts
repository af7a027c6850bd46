/**
 * Op-log reader (store.md §2.1, §2.6, §2.7).
 *
 * An `.ops` file is one YAML sequence of op mappings, written by concatenating one-item
 * sequences; every op starts with a line beginning `- ` in column 0. The reader splits the
 * text into op blocks at those lines and parses each block with a strict fast path that
 * understands exactly what the reference writers emit (block mappings and sequences,
 * one-line plain scalars, single / double-quoted scalars — also folded over several lines,
 * as an old writer did —, one-line flow sequences, `{}` / `[]`, comments). Anything else —
 * multi-line plain scalars, anchors, tags, block scalars, odd indentation — falls back to the
 * `yaml` library, whose AST is typed with PyYAML's YAML 1.1 rules (`resolvePlain11`), so both
 * paths give identical values (except the library's fold of an escaped line break followed by
 * empty lines, which only the fast path reads as PyYAML does).
 *
 * Problems never throw: a torn/garbled *last* op is reported (`torn-tail`, not fatal) and
 * ignored; garbage elsewhere is reported as a fatal problem with file and line (the
 * reference would refuse the whole file, so the tracker treats such an item as corrupt).
 */
import { createRequire } from "node:module";
import type * as YamlLib from "yaml";
import type { Node as YamlNode } from "yaml";
import { isMap, newMap, pyStr, type YamlMap, type YamlValue, lookupTable } from "./values.js";
import { resolvePlain11 } from "./yaml11.js";

/**
 * The `yaml` library, loaded on first use: only unusual blocks and documents need it (its
 * ~70 modules cost ~30 ms of start-up that a CLI run on canonical files never pays).
 */
let yamlModule: typeof YamlLib | null = null;
export function yamlLib(): typeof YamlLib {
  yamlModule ??= createRequire(import.meta.url)("yaml") as typeof YamlLib;
  return yamlModule;
}
const isAlias = (n: unknown): n is YamlLib.Alias => yamlLib().isAlias(n);
const isScalar = (n: unknown): n is YamlLib.Scalar => yamlLib().isScalar(n);
const isSeq = (n: unknown): n is YamlLib.YAMLSeq => yamlLib().isSeq(n);
const isYamlMap = (n: unknown): n is YamlLib.YAMLMap => yamlLib().isMap(n);

/** One op as read: a mapping (`op`, `at`, `by`, `actor`, `clock`, `nonce`, op-specific keys). */
export type Op = YamlMap;

/** Kinds of problems found while reading an op log. */
export type ProblemKind =
  | "torn-tail"
  | "syntax"
  | "not-a-list"
  | "not-a-mapping"
  | "encoding"
  | "io"
  | "unsafe-name"
  /** The tracker's config is invalid (`Tracker.configError`; not an op file). */
  | "config";

/**
 * A problem found while reading a file. `fatal` problems make the item uncompilable for the
 * reference too (it would refuse the whole file); a `torn-tail` problem is not fatal for
 * reading but still blocks writes until repaired (store.md §6.5).
 */
export interface Problem {
  kind: ProblemKind;
  /** Human message, `<file>:<line>: <what>` when the file is known. */
  message: string;
  file?: string;
  /** 1-based line where the problem starts. */
  line: number;
  fatal: boolean;
}

/** Result of `parseOpLog`. `opLines[i]` is the 1-based first line of `ops[i]`. */
export interface ParseResult {
  ops: Op[];
  opLines: number[];
  problems: Problem[];
  /**
   * Length in characters of the text covering complete ops: the start of a torn last op,
   * else the whole text. A reader that keeps byte offsets resumes from here.
   */
  complete: number;
  /** Number of lines inside `complete`. */
  completeLines: number;
  /** Op blocks read by the `yaml` library instead of the fast path (see `ParseBytesResult`). */
  slowBlocks: number;
}

/** Options for `parseOpLog`. */
export interface ParseOptions {
  /** File name used in problem messages. */
  file?: string;
  /** Line number of the first line of `text` (when parsing an appended tail). Default 1. */
  firstLine?: number;
  /** Force the YAML-library path for every block (used by tests to compare both paths). */
  forceSlow?: boolean;
}

/** Result of `parseOpLogBytes`: like `ParseResult` with `complete` in bytes. */
export interface ParseBytesResult {
  ops: Op[];
  opLines: number[];
  problems: Problem[];
  /** Bytes covering complete ops (start of a torn last op, else the whole buffer). */
  completeBytes: number;
  /** Number of lines inside `completeBytes`. */
  completeLines: number;
  /**
   * Op blocks the fast path left to the `yaml` library (forms the writers do not produce:
   * anchors, block scalars, plain scalars over several lines…; a file that does not split
   * into op blocks counts 1). 0 for every file the reference and this store write: loading
   * the library costs ~30 ms of a command.
   */
  slowBlocks: number;
}

const BAIL = Symbol("bail");

/**
 * Parse op-log text (store.md §2.1, §2.6, §2.7).
 * @param text whole file content (or an appended tail starting at an op boundary)
 * @returns ops in file order, their first lines, and problems (never throws)
 */
export function parseOpLog(text: string, opts: ParseOptions = {}): ParseResult {
  const buf = Buffer.from(text, "utf8");
  const r = parseOpLogBytes(buf, opts);
  const complete =
    r.completeBytes === buf.length ? text.length : buf.toString("utf8", 0, r.completeBytes).length;
  return {
    ops: r.ops,
    opLines: r.opLines,
    problems: r.problems,
    complete,
    completeLines: r.completeLines,
    slowBlocks: r.slowBlocks,
  };
}

/**
 * Parse op-log bytes (UTF-8; callers check validity, e.g. with `isUtf8`). Every string in
 * the result is an independent copy, so keeping values does not keep the file in memory.
 * @returns ops in file order, their first lines, problems and the complete byte length
 */
export function parseOpLogBytes(buf: Uint8Array, opts: ParseOptions = {}): ParseBytesResult {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const result: ParseBytesResult = {
    ops: [],
    opLines: [],
    problems: [],
    completeBytes: b.length,
    completeLines: 0,
    slowBlocks: 0,
  };
  const file = opts.file;
  const base = opts.firstLine ?? 1;
  const where = (line: number) => (file ? `${file}:${line}: ` : `line ${line}: `);
  const n = b.length;
  // BOM
  let p0 = 0;
  if (n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) p0 = 3;
  // Split into lines (start/end offsets, end excludes "\n") in the shared line tables.
  let lt = lineTables(0);
  let starts = lt.starts;
  let ends = lt.ends;
  let lineCount = 0;
  let p = p0;
  let allBlank = true;
  while (p < n) {
    let nl = b.indexOf(10, p);
    if (nl < 0) nl = n;
    if (lineCount === starts.length) {
      lt = lineTables(lineCount + 1);
      starts = lt.starts;
      ends = lt.ends;
    }
    starts[lineCount] = p;
    ends[lineCount] = nl;
    lineCount++;
    if (allBlank) {
      for (let i = p; i < nl; i++) {
        const c = b[i];
        if (c !== 32 && c !== 9 && c !== 13) {
          allBlank = false;
          break;
        }
      }
    }
    p = nl + 1;
  }
  const endsWithNl = n > 0 && b[n - 1] === 10;
  result.completeLines = endsWithNl ? lineCount : Math.max(0, lineCount - 1);
  if (allBlank) {
    result.completeLines = lineCount - (endsWithNl ? 0 : lineCount > 0 ? 1 : 0);
    return result;
  }
  // Blocks begin at lines starting "- " (or a lone "-") in column 0.
  const blockStarts: number[] = [];
  let preambleOk = true;
  for (let i = 0; i < lineCount; i++) {
    const s = starts[i];
    if (b[s] === 45 /* - */ && (s + 1 === ends[i] || b[s + 1] === 32)) {
      blockStarts.push(i);
      continue;
    }
    if (blockStarts.length === 0 && !isBlankOrCommentBytes(b, s, ends[i])) preambleOk = false;
  }
  if (!preambleOk || blockStarts.length === 0) {
    result.slowBlocks = 1;
    parseWhole(b.toString("utf8", p0), result, file, base);
    return result;
  }
  const parser = new BlockParser(b, starts, ends, lt.indents);
  lt.indents.fill(-1, 0, lineCount);
  for (let bi = 0; bi < blockStarts.length; bi++) {
    const from = blockStarts[bi];
    const to = bi + 1 < blockStarts.length ? blockStarts[bi + 1] : lineCount;
    const isLast = bi === blockStarts.length - 1;
    const line = base + from;
    let op: YamlValue | undefined;
    let error: string | undefined;
    let errLine = line;
    if (!opts.forceSlow) {
      try {
        op = parser.parseTop(from, to);
      } catch (e) {
        if (e !== BAIL) throw e;
        op = undefined;
      }
    }
    if (op === undefined) {
      result.slowBlocks++;
      const blockText = b.toString("utf8", starts[from], to < lineCount ? starts[to] : n);
      const slow = parseSlowBlock(blockText);
      if ("error" in slow) {
        error = slow.error;
        errLine = line + slow.line - 1;
      } else op = slow.value;
    }
    if (error === undefined && isLast && (!endsWithNl || (isMap(op) && looksTorn(op)))) {
      error = !endsWithNl ? "last op is incomplete (no final newline)" : "last op is missing keys";
    }
    if (error !== undefined) {
      if (isLast) {
        result.completeBytes = starts[from];
        result.completeLines = from;
        result.problems.push({
          kind: "torn-tail",
          message: `${where(errLine)}torn or incomplete last op ignored (${error})`,
          file,
          line: errLine,
          fatal: false,
        });
      } else {
        result.problems.push({
          kind: "syntax",
          message: `${where(errLine)}malformed YAML: ${error}`,
          file,
          line: errLine,
          fatal: true,
        });
      }
      continue;
    }
    if (!isMap(op)) {
      result.problems.push({
        kind: "not-a-mapping",
        message: `${where(line)}op is not a mapping (got ${describe(op)})`,
        file,
        line,
        fatal: true,
      });
      continue;
    }
    result.ops.push(op);
    result.opLines.push(line);
  }
  return result;
}

/**
 * Characters PyYAML's reader refuses in a stream (its NON_PRINTABLE set), and NEL/LS/PS
 * which YAML 1.1 treats as line breaks. The writers never emit them raw; the reader
 * accepts them as ordinary characters and `validate` reports them (store.md §2.6).
 */
export const NON_PRINTABLE = /[^\t\n\r\x20-\x7E\x85\xA0-\uFFFD]|[\uFFFE\uFFFF]/;
/** NEL, LS, PS: line breaks for PyYAML (YAML 1.1). */
export const LINE_BREAK_CHARS = /[\x85\u2028\u2029]/;

/** Keys the reference writer always emits per op type (used to spot a torn last op). */
const REQUIRED_BY_TYPE: Readonly<Record<string, string[]>> = lookupTable({
  create: ["data"],
  update: ["set"],
  discuss: ["message"],
  discuss_summarize: ["message"],
  lock: ["lock"],
  unlock: ["unlock"],
  reconcile: ["from_tier", "reason"],
  "edit-mode-on": ["ttl_seconds", "cap_max"],
  "delete-msg": ["item", "target_nonce", "reason"],
  "undelete-msg": ["item", "target_nonce", "reason"],
  "edit-msg-text": ["item", "target_nonce", "new_text", "reason"],
});

function looksTorn(op: YamlMap): boolean {
  for (const k of ["op", "at", "by", "clock", "nonce"]) if (!(k in op)) return true;
  const req = typeof op.op === "string" ? REQUIRED_BY_TYPE[op.op] : undefined;
  return req ? req.some((k) => !(k in op)) : false;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "list";
  return typeof v === "string" ? "str" : typeof v;
}

function isBlankOrCommentBytes(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c === 32 || c === 9 || c === 13) continue;
    return c === 35; /* # */
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Fast path (bytes)
// ---------------------------------------------------------------------------------------

/**
 * The line tables of the file being parsed (byte offsets of line starts and ends, cached
 * indents), shared by every parse and grown on demand: a cold load parses ~1.5 M lines, and
 * per-file arrays were a large share of its garbage. Parsing is synchronous and never
 * re-entrant, so one set suffices.
 */
interface LineTables {
  starts: Int32Array;
  ends: Int32Array;
  /** Indent per line (-1 = not computed, -2 = blank/comment). */
  indents: Int32Array;
}
let sharedLines: LineTables = {
  starts: new Int32Array(0),
  ends: new Int32Array(0),
  indents: new Int32Array(0),
};

/** The shared line tables, grown (doubling, contents kept) to hold at least `lines` lines. */
function lineTables(lines: number): LineTables {
  const cur = sharedLines.starts.length;
  if (cur < lines) {
    const size = Math.max(lines, 1024, cur * 2);
    const grow = (a: Int32Array) => {
      const g = new Int32Array(size);
      g.set(a);
      return g;
    };
    sharedLines = {
      starts: grow(sharedLines.starts),
      ends: grow(sharedLines.ends),
      indents: new Int32Array(size),
    };
  }
  return sharedLines;
}

/**
 * Strict line-based parser for op blocks over UTF-8 bytes; throws BAIL on anything unusual.
 * One instance parses every block of one file (`parseTop(from, to)` per block).
 */
class BlockParser {
  private pos = 0;
  private to = 0;
  constructor(
    private readonly b: Buffer,
    private readonly starts: Int32Array,
    private readonly ends: Int32Array,
    /** Indent per line of the file (-1 = not computed, -2 = blank/comment). */
    private readonly ind: Int32Array,
  ) {}

  /** Indent of line li, or -2 for blank/comment lines; throws BAIL on tabs/CR. */
  private lineInfo(li: number): number {
    const k = li;
    const cached = this.ind[k];
    if (cached !== -1) return cached;
    const b = this.b;
    const s = this.starts[li];
    const e = this.ends[li];
    let i = s;
    while (i < e && b[i] === 32) i++;
    let r: number;
    if (i === e) r = -2;
    else {
      const c = b[i];
      if (c === 35) r = -2;
      else if (c === 9 || c === 13 || b[e - 1] === 13) throw BAIL;
      else r = i - s;
    }
    this.ind[k] = r;
    return r;
  }

  /** Parse lines [from, to) as a whole document (null when there is nothing but comments). */
  parseDocument(from: number, to: number): YamlValue {
    this.pos = from;
    this.to = to;
    if (this.next() < 0) return null;
    const v = this.parseNode(0);
    if (this.next() !== -1) throw BAIL;
    return v;
  }

  /** Parse the block of lines [from, to): a one-item sequence. */
  parseTop(from: number, to: number): YamlValue {
    this.pos = from;
    this.to = to;
    const seq = this.parseSeq(0);
    if (seq.length !== 1) throw BAIL;
    if (this.next() !== -1) throw BAIL;
    return seq[0];
  }

  /** Index of the next significant line (skipping blank/comment lines), or -1. */
  private next(): number {
    while (this.pos < this.to) {
      if (this.lineInfo(this.pos) === -2) {
        this.pos++;
        continue;
      }
      return this.pos;
    }
    return -1;
  }

  private isDashAt(pos: number, e: number): boolean {
    return this.b[pos] === 45 && (pos + 1 === e || this.b[pos + 1] === 32);
  }

  private parseNode(minIndent: number): YamlValue {
    const li = this.next();
    if (li < 0) throw BAIL;
    const ind = this.lineInfo(li);
    if (ind < minIndent) throw BAIL;
    const cs = this.starts[li] + ind;
    if (this.isDashAt(cs, this.ends[li])) return this.parseSeq(ind);
    return this.parseMap(ind, cs);
  }

  private parseSeq(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    const b = this.b;
    for (;;) {
      const li = this.next();
      if (li < 0) return out;
      const ind = this.lineInfo(li);
      if (ind < indent) return out;
      if (ind > indent) throw BAIL;
      const e = this.ends[li];
      const cs = this.starts[li] + ind;
      if (!this.isDashAt(cs, e)) return out;
      let r = cs + 1;
      while (r < e && b[r] === 32) r++;
      if (r === e || b[r] === 35) {
        this.pos++;
        const nl = this.next();
        if (nl >= 0 && this.lineInfo(nl) > indent) out.push(this.parseNode(indent + 1));
        else out.push(null);
        continue;
      }
      if (this.isDashAt(r, e)) throw BAIL; // "- - x"
      if (this.splitKey(r, e)) {
        out.push(this.parseMap(r - this.starts[li], r));
      } else {
        const v = this.parseInline(r, e, indent);
        this.pos++;
        const nl = this.next();
        if (nl >= 0 && this.lineInfo(nl) > indent) throw BAIL; // continuation line
        out.push(v);
      }
    }
  }

  /**
   * Parse a block mapping whose entries sit at column `indent`. The first entry starts at
   * byte offset `firstAt` on the current line (which may be after a "- ").
   */
  private parseMap(indent: number, firstAt: number): YamlMap {
    const map = newMap();
    const b = this.b;
    let at = firstAt;
    for (;;) {
      const li = this.pos;
      const e = this.ends[li];
      if (!this.splitKey(at, e)) throw BAIL;
      const key = this.keyStr;
      let v = this.keyEnd;
      while (v < e && b[v] === 32) v++;
      let value: YamlValue;
      if (v === e || b[v] === 35) {
        this.pos++;
        const nl = this.next();
        if (nl >= 0) {
          const nind = this.lineInfo(nl);
          const ncs = this.starts[nl] + nind;
          if (nind > indent) value = this.parseNode(indent + 1);
          else if (nind === indent && this.isDashAt(ncs, this.ends[nl])) value = this.parseSeq(indent);
          else value = null;
        } else value = null;
      } else {
        value = this.parseInline(v, e, indent);
        this.pos++;
        const nl = this.next();
        if (nl >= 0 && this.lineInfo(nl) > indent) throw BAIL; // continuation / nested after inline
      }
      map[key] = value;
      const nl = this.next();
      if (nl < 0) return map;
      const nind = this.lineInfo(nl);
      if (nind < indent) return map;
      if (nind > indent) throw BAIL;
      const ncs = this.starts[nl] + nind;
      if (this.isDashAt(ncs, this.ends[nl])) throw BAIL;
      at = ncs;
    }
  }

  /** Recognise `key:` (followed by space or end) at offset s; returns key and value offset. */
  /** Set by `splitKey`: the key and the offset after its colon. */
  private keyStr = "";
  private keyEnd = 0;

  private splitKey(s: number, e: number): boolean {
    const b = this.b;
    const c = b[s];
    if (c === 34 /* " */ || c === 39 /* ' */) {
      const q = c === 34 ? scanDouble(b, s, e) : scanSingle(b, s, e);
      if (q < 0) return false;
      if (q < e && b[q] === 58 && (q + 1 === e || b[q + 1] === 32)) {
        this.keyStr = c === 34 ? decodeDouble(b, s + 1, q - 1) : u8(b, s + 1, q - 1).replace(/''/g, "'");
        this.keyEnd = q + 1;
        return true;
      }
      return false;
    }
    // Plain key: indicators at the start are not handled by the fast path.
    if (KEY_START_BAD[c] === 1 || (c === 45 && b[s + 1] === 32)) return false;
    for (let i = s; i < e; i++) {
      const ch = b[i];
      if (ch === 58 /* : */ && (i + 1 === e || b[i + 1] === 32)) {
        if (i === s || b[i - 1] === 32) throw BAIL; // empty key or "key :"
        if (i - s === 2 && c === 60 && b[s + 1] === 60) throw BAIL; // "<<": a merge key
        this.keyStr = plainKey(b, s, i);
        this.keyEnd = i + 1;
        return true;
      }
      if (ch === 35 /* # */ && b[i - 1] === 32) return false;
      if (ch === 9) throw BAIL;
    }
    return false;
  }

  /**
   * Parse an inline value starting at s (non-space, not a comment) up to line end e, on the
   * current line (`pos`). A quoted scalar not closed on this line continues on the next ones
   * (`multiLineQuoted`), which must be indented deeper than `indent`, the column of the
   * mapping key or sequence dash it belongs to; `pos` is then left on its last line.
   */
  private parseInline(s: number, e: number, indent: number): YamlValue {
    const b = this.b;
    const c = b[s];
    if (c === 34) {
      const q = scanDouble(b, s, e);
      if (q < 0) return this.multiLineQuoted(s, e, indent);
      this.expectTrailer(q, e);
      return decodeDouble(b, s + 1, q - 1);
    }
    if (c === 39) {
      const q = scanSingle(b, s, e);
      if (q < 0) return this.multiLineQuoted(s, e, indent);
      this.expectTrailer(q, e);
      const raw = u8(b, s + 1, q - 1);
      return raw.includes("'") ? raw.replace(/''/g, "'") : raw;
    }
    if (c === 91 /* [ */) return this.parseFlowSeq(s, e);
    if (c === 123 /* { */) return this.parseFlowMap(s, e);
    if (VALUE_START_BAD[c] === 1) throw BAIL;
    if ((c === 45 || c === 63 || c === 58) && (s + 1 === e || b[s + 1] === 32)) throw BAIL;
    // Plain scalar: up to " #" or end of line; trailing spaces trimmed. One byte loop (plain
    // values are short: a native indexOf per search cost more than the scan).
    let end = e;
    for (let i = s + 1; i < e; i++) {
      const ch = b[i];
      if (ch === 35 /* # */) {
        const pc = b[i - 1];
        if (pc === 32 || pc === 9) {
          end = i;
          break;
        }
      } else if (ch === 58 /* : */ && (i + 1 === e || b[i + 1] === 32 || b[i + 1] === 9)) throw BAIL; // "a: b: c"
    }
    while (end > s && (b[end - 1] === 32 || b[end - 1] === 9)) end--;
    return plainValue(b, s, end);
  }

  /**
   * A quoted scalar opened at byte `s` of the current line (line end `e`) and closed on a
   * later line: the form old writers produced when they folded long messages (store.md §2.3,
   * `.INV-dihos-…` of the real corpus, whose nonce comments ended up inside the string).
   * Folded as PyYAML's `scan_flow_scalar` does: trailing spaces of a line are dropped, a line
   * break becomes one space, or one `\n` per empty line after it when there are any, and the
   * leading spaces of a continuation line are skipped; in a double-quoted scalar a `\` at the
   * end of a line joins the lines without a space. Escapes are decoded per line as on one line.
   * Throws BAIL (the `yaml` library reads the block instead) for what this does not need to
   * know: tabs or CR around a break, a continuation line not indented deeper than `indent`, a
   * scalar running past the block.
   * @returns the value; `pos` is left on the line of the closing quote
   */
  private multiLineQuoted(s: number, e: number, indent: number): string {
    const b = this.b;
    const double = b[s] === 34;
    const decode = (from: number, to: number) =>
      double ? decodeDouble(b, from, to) : u8(b, from, to).replace(/''/g, "'");
    const parts: string[] = [];
    let li = this.pos;
    let a = s + 1; // start of this line's part of the scalar
    let z = e; // its end (exclusive)
    for (;;) {
      // [a, z): a line of the scalar that does not close it. Its trailing spaces go.
      let t = z;
      while (t > a && b[t - 1] === 32) t--;
      if (t > a && b[t - 1] === 9) throw BAIL; // a tab among the trailing spaces
      let joined = false; // an escaped line break (double-quoted only)
      if (double) {
        let k = t;
        while (k > a && b[k - 1] === 92) k--;
        // An odd run of backslashes escapes what follows it: the first trailing space (an
        // escaped space stays), or else the line break.
        if ((t - k) % 2 === 1) {
          if (t < z) t++;
          else {
            joined = true;
            t--;
          }
        }
      }
      parts.push(decode(a, t));
      // The next lines: empty ones are counted, the first other one continues the scalar.
      let breaks = 0;
      for (;;) {
        li++;
        if (li >= this.to) throw BAIL;
        const ls = this.starts[li];
        const le = this.ends[li];
        if (le > ls && b[le - 1] === 13) throw BAIL;
        let i = ls;
        while (i < le && b[i] === 32) i++;
        if (i === le) {
          breaks++;
          continue;
        }
        if (b[i] === 9 || i - ls <= indent) throw BAIL;
        a = i;
        z = le;
        break;
      }
      parts.push(breaks > 0 ? "\n".repeat(breaks) : joined ? "" : " ");
      const q = double ? scanDouble(b, a - 1, z) : scanSingle(b, a - 1, z);
      if (q < 0) continue;
      // The closing line: its part up to the quote, then only a comment may follow.
      this.expectTrailer(q, z);
      parts.push(decode(a, q - 1));
      this.pos = li;
      return parts.join("");
    }
  }

  /** After a quoted scalar or flow collection: only spaces and an optional comment. */
  private expectTrailer(q: number, e: number): void {
    const b = this.b;
    let i = q;
    while (i < e && b[i] === 32) i++;
    if (i === e) return;
    if (b[i] === 35 && i > q) return;
    throw BAIL;
  }

  private parseFlowSeq(s: number, e: number): YamlValue[] {
    const b = this.b;
    const out: YamlValue[] = [];
    let i = s + 1;
    while (i < e && b[i] === 32) i++;
    if (b[i] === 93 /* ] */) {
      this.expectTrailer(i + 1, e);
      return out;
    }
    for (;;) {
      while (i < e && b[i] === 32) i++;
      if (i >= e) throw BAIL;
      const c = b[i];
      if (c === 34 || c === 39) {
        i = this.flowQuoted(i, e);
        out.push(this.flowValue);
      } else {
        i = this.flowPlain(i, e, 93);
        out.push(this.flowValue);
      }
      i = this.flowNext(i, e, 93);
      if (i < 0) return out;
    }
  }

  /**
   * After an entry of a one-line flow collection closed by `closer`: the offset of the next
   * entry (after `, `), or -1 when the collection ends there (only a comment may follow).
   */
  private flowNext(i: number, e: number, closer: number): number {
    const b = this.b;
    while (i < e && b[i] === 32) i++;
    const d = b[i];
    if (d === 44) {
      i++;
      while (i < e && b[i] === 32) i++;
      if (b[i] === closer) throw BAIL; // trailing comma
      return i;
    }
    if (d === closer) {
      this.expectTrailer(i + 1, e);
      return -1;
    }
    throw BAIL;
  }

  /** Set by `flowPlain` and `flowQuoted`: the value of the scalar they read. */
  private flowValue: YamlValue = null;

  /** Read a one-line quoted scalar starting at `i`; sets `flowValue`, returns the offset after it. */
  private flowQuoted(i: number, e: number): number {
    const b = this.b;
    const c = b[i];
    const q = c === 34 ? scanDouble(b, i, e) : scanSingle(b, i, e);
    if (q < 0) throw BAIL;
    this.flowValue = c === 34 ? decodeDouble(b, i + 1, q - 1) : u8(b, i + 1, q - 1).replace(/''/g, "'");
    return q;
  }

  /**
   * Read a plain scalar inside a one-line flow collection closed by `closer` (`]` or `}`),
   * starting at `i`; sets `flowValue` and returns the offset after it (at `,` or the closer).
   */
  private flowPlain(i: number, e: number, closer: number): number {
    const b = this.b;
    const c = b[i];
    if (FLOW_START_BAD[c] === 1 && !(c === 45 && b[i + 1] !== 32)) throw BAIL;
    const st = i;
    while (i < e) {
      const ch = b[i];
      if (ch === 44 || ch === closer) break;
      if (ch === 91 || ch === 93 || ch === 123 || ch === 125 || ch === 63) throw BAIL;
      if (ch === 58) {
        const nx = i + 1 < e ? b[i + 1] : -1;
        if (nx === 32 || nx === 44 || nx === closer || nx === -1) throw BAIL;
      }
      if (ch === 35 && b[i - 1] === 32) throw BAIL;
      i++;
    }
    let en = i;
    while (en > st && b[en - 1] === 32) en--;
    if (en === st) throw BAIL;
    this.flowValue = plainValue(b, st, en);
    return i;
  }

  /**
   * A one-line flow mapping `{k: v, "k": 'v'}` with plain or quoted keys and scalar values
   * (as configs and keymaps write them); anything else (nesting, `?`, empty values) bails.
   */
  private parseFlowMap(s: number, e: number): YamlMap {
    const b = this.b;
    const out = newMap();
    let i = s + 1;
    while (i < e && b[i] === 32) i++;
    if (b[i] === 125 /* } */) {
      this.expectTrailer(i + 1, e);
      return out;
    }
    for (;;) {
      while (i < e && b[i] === 32) i++;
      if (i >= e) throw BAIL;
      let key: string;
      const c = b[i];
      if (c === 34 || c === 39) {
        i = this.flowQuoted(i, e);
        key = this.flowValue as string;
      } else {
        if (FLOW_START_BAD[c] === 1) throw BAIL;
        const st = i;
        while (i < e && !(b[i] === 58 && b[i + 1] === 32)) {
          const ch = b[i];
          if (ch === 44 || ch === 58 || ch === 91 || ch === 93 || ch === 123 || ch === 125 || ch === 63)
            throw BAIL;
          if (ch === 35 && b[i - 1] === 32) throw BAIL;
          i++;
        }
        let en = i;
        while (en > st && b[en - 1] === 32) en--;
        if (en === st || (en - st === 2 && b[st] === 60 && b[st + 1] === 60)) throw BAIL; // empty, or "<<"
        key = plainKey(b, st, en);
      }
      if (b[i] !== 58 || b[i + 1] !== 32) throw BAIL;
      i += 2;
      while (i < e && b[i] === 32) i++;
      if (i >= e) throw BAIL;
      const v = b[i];
      i = v === 34 || v === 39 ? this.flowQuoted(i, e) : this.flowPlain(i, e, 125);
      out[key] = this.flowValue;
      i = this.flowNext(i, e, 125);
      if (i < 0) return out;
    }
  }
}

function byteTable(chars: string): Uint8Array {
  const t = new Uint8Array(256);
  for (const ch of chars) t[ch.charCodeAt(0)] = 1;
  return t;
}
const HEX_LOWER = byteTable("0123456789abcdef");
const KEY_START_BAD = byteTable("[]{}&*!|>%@`#?,");
const VALUE_START_BAD = byteTable("&*!|>%@`]},");
const FLOW_START_BAD = byteTable("[]{}&*!|>%@`#,?:-");

type Utf8Slicer = { utf8Slice?: (s: number, e: number) => string };
const hasUtf8Slice = typeof (Buffer.prototype as Utf8Slicer).utf8Slice === "function";

/** Decode bytes [s, e) as UTF-8 into a new independent string. */
function u8(b: Buffer, s: number, e: number): string {
  return hasUtf8Slice ? (b as unknown as Required<Utf8Slicer>).utf8Slice(s, e) : b.toString("utf8", s, e);
}

/** Longest plain scalar (bytes) that is interned. */
const INTERN_MAX = 24;

/**
 * Interned plain scalars: an open-addressing table keyed by a hash of the bytes, with the
 * bytes kept in a flat array so a lookup compares bytes without touching the string (the
 * lookups run ~2 M times per 10k-item load; chasing string pointers was a cache miss each).
 */
class InternTable {
  private readonly mask: number;
  private readonly hashes: Int32Array;
  private readonly lens: Uint8Array;
  private readonly bytes: Uint8Array;
  private readonly values: YamlValue[];
  constructor(slots: number) {
    this.mask = slots - 1;
    this.hashes = new Int32Array(slots);
    this.lens = new Uint8Array(slots);
    this.bytes = new Uint8Array(slots * INTERN_MAX);
    this.values = new Array<YamlValue>(slots).fill(null);
  }

  /**
   * The PyYAML 1.1 value of the ASCII plain scalar in bytes [s, e) (1 to INTERN_MAX bytes),
   * or undefined when a byte is not ASCII (callers decode those themselves).
   */
  lookup(b: Buffer, s: number, e: number): YamlValue | undefined {
    const len = e - s;
    // Hash of the length and the first and last two bytes: O(1), and enough to spread
    // keys, op types, actors, statuses and 4-hex-digit nonces; the bytes are compared anyway.
    let h = Math.imul(len ^ (b[s] << 8) ^ (b[s + (len > 1 ? 1 : 0)] << 16) ^ (b[e - 1] << 24), 0x9e3779b1);
    h = Math.imul(h ^ b[e - (len > 1 ? 2 : 1)] ^ (h >>> 15), 0x85ebca6b);
    h = (h ^ (h >>> 13)) | 1; // never 0 (0 marks an empty slot)
    const mask = this.mask;
    const hashes = this.hashes;
    const bytes = this.bytes;
    let idx = h & mask;
    for (let probe = 0; probe < 4; probe++, idx = (idx + 1) & mask) {
      const sh = hashes[idx];
      if (sh === 0) break;
      if (sh !== h || this.lens[idx] !== len) continue;
      const at = idx * INTERN_MAX - s;
      let i = s;
      while (i < e && bytes[at + i] === b[i]) i++;
      if (i === e) return this.values[idx];
    }
    for (let i = s; i < e; i++) if (b[i] >= 0x80) return undefined;
    const value = resolvePlain11(b.toString("latin1", s, e));
    let slot = h & mask;
    for (let probe = 0; probe < 4; probe++) {
      const k = (slot + probe) & mask;
      if (hashes[k] === 0) {
        slot = k;
        break;
      }
    }
    hashes[slot] = h;
    this.lens[slot] = len;
    bytes.set(b.subarray(s, e), slot * INTERN_MAX);
    this.values[slot] = value;
    return value;
  }
}

/** Mapping keys (a few dozen distinct words: a small, cache-resident table). */
const keyTable = new InternTable(1 << 10);
/** Short values (op types, actors, statuses, nonces). */
const valueTable = new InternTable(1 << 14);

/**
 * The PyYAML 1.1 value of the plain scalar in bytes [s, e). Decimal integers are computed
 * from the bytes (clocks, priorities); other short ASCII scalars are interned by their
 * bytes, which avoids decoding the same few words millions of times.
 */
function plainValue(b: Buffer, s: number, e: number): YamlValue {
  const len = e - s;
  if (len > INTERN_MAX || len === 0) return resolvePlain11(u8(b, s, e));
  const c0 = b[s];
  if (c0 >= 49 && c0 <= 57 && len <= 15) {
    // [1-9][0-9]*: a decimal int in YAML 1.1 (a leading 0 would be octal, `_`/`:` other forms).
    let v = c0 - 48;
    let i = s + 1;
    for (; i < e; i++) {
      const c = b[i];
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
    }
    if (i === e) return v;
  }
  if (len === 4 && c0 !== 48) {
    // Four lower-case hex digits with a letter: a nonce. Always a string in YAML 1.1 (only
    // `0b…` would be an int); nonces are nearly unique, so interning them only thrashes.
    const c1 = b[s + 1];
    const c2 = b[s + 2];
    const c3 = b[s + 3];
    if (
      HEX_LOWER[c0] + HEX_LOWER[c1] + HEX_LOWER[c2] + HEX_LOWER[c3] === 4 &&
      (c0 > 57 || c1 > 57 || c2 > 57 || c3 > 57)
    )
      return String.fromCharCode(c0, c1, c2, c3);
  }
  const hit = valueTable.lookup(b, s, e);
  return hit === undefined ? resolvePlain11(u8(b, s, e)) : hit;
}

/** A plain mapping key in bytes [s, e) as the string Python would use. */
function plainKey(b: Buffer, s: number, e: number): string {
  const len = e - s;
  const v = len > INTERN_MAX ? undefined : keyTable.lookup(b, s, e);
  const value = v === undefined ? resolvePlain11(u8(b, s, e)) : v;
  return typeof value === "string" ? value : pyStr(value);
}

/** Offset just past the closing quote of a double-quoted scalar starting at s, or -1. */
function scanDouble(b: Buffer, s: number, e: number): number {
  let from = s + 1;
  for (;;) {
    const q = b.indexOf(34, from);
    if (q < 0 || q >= e) return -1;
    let k = q - 1;
    while (k > s && b[k] === 92) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    from = q + 1;
  }
}

/** Offset just past the closing quote of a single-quoted scalar starting at s, or -1. */
function scanSingle(b: Buffer, s: number, e: number): number {
  // Short scalars (timestamps, nonces): a byte loop; longer ones: native indexOf.
  const near = Math.min(e, s + 40);
  let j = s + 1;
  while (j < near) {
    if (b[j] === 39) {
      if (j + 1 < e && b[j + 1] === 39) {
        j += 2; // '' is an escaped quote (may end past `near`)
        continue;
      }
      return j + 1;
    }
    j++;
  }
  let i = j;
  for (;;) {
    const q = b.indexOf(39, i);
    if (q < 0 || q >= e) return -1;
    if (q + 1 < e && b[q + 1] === 39) {
      i = q + 2;
      continue;
    }
    return q + 1;
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = lookupTable({
  "0": "\0",
  a: "\x07",
  b: "\b",
  t: "\t",
  "\t": "\t",
  n: "\n",
  v: "\v",
  f: "\f",
  r: "\r",
  e: "\x1b",
  " ": " ",
  '"': '"',
  "/": "/",
  "\\": "\\",
  N: "\x85",
  _: "\xa0",
  L: "\u2028",
  P: "\u2029",
});
const HEX_LEN: Readonly<Record<string, number>> = lookupTable({ x: 2, u: 4, U: 8 });

/** Decode the body of a one-line double-quoted scalar (YAML escapes, store.md §2.6). */
function decodeDouble(b: Buffer, s: number, e: number): string {
  const raw = u8(b, s, e);
  const first = raw.indexOf("\\");
  if (first < 0) return raw;
  const parts: string[] = [];
  let i = 0;
  let bs = first;
  while (bs >= 0) {
    if (bs > i) parts.push(raw.slice(i, bs));
    const c = raw[bs + 1];
    const simple = SIMPLE_ESCAPES[c];
    if (simple !== undefined) {
      parts.push(simple);
      i = bs + 2;
    } else {
      const len = HEX_LEN[c];
      if (len === undefined) throw BAIL;
      const hex = raw.slice(bs + 2, bs + 2 + len);
      if (hex.length !== len || !/^[0-9A-Fa-f]+$/.test(hex)) throw BAIL;
      const cp = Number.parseInt(hex, 16);
      if (cp > 0x10ffff) throw BAIL;
      parts.push(String.fromCodePoint(cp));
      i = bs + 2 + len;
    }
    bs = raw.indexOf("\\", i);
  }
  if (i < raw.length) parts.push(raw.slice(i));
  return parts.join("");
}

// ---------------------------------------------------------------------------------------
// Slow path: the `yaml` library, typed with PyYAML 1.1 rules
// ---------------------------------------------------------------------------------------

const YAML_OPTS = {
  version: "1.1" as const,
  schema: "failsafe" as const,
  uniqueKeys: false,
  prettyErrors: false,
  strict: false,
  keepSourceTokens: false,
};

/**
 * The first error of a parsed document, with its 1-based line in `text` (the library sets
 * `linePos` only with `prettyErrors`, which these options turn off: the line is counted from
 * the error's offset).
 */
function firstError(doc: YamlLib.Document.Parsed, text: string): { error: string; line: number } | undefined {
  if (doc.errors.length === 0) return undefined;
  const err = doc.errors[0];
  let line = err.linePos?.[0]?.line;
  if (line === undefined) {
    // (an error found at the end of the text, e.g. a flow collection never closed, is on
    // its last line, not on the empty one after the final newline)
    const end = text.endsWith("\n") ? text.length - 1 : text.length;
    const at = Math.min(Math.max(err.pos?.[0] ?? 0, 0), end);
    line = 1;
    for (let i = text.indexOf("\n"); i >= 0 && i < at; i = text.indexOf("\n", i + 1)) line++;
  }
  return { error: err.message.split("\n")[0], line };
}

function parseSlowBlock(blockText: string): { value: YamlValue } | { error: string; line: number } {
  let doc: YamlLib.Document.Parsed;
  try {
    const docs = yamlLib().parseAllDocuments(blockText, YAML_OPTS);
    if (!Array.isArray(docs)) return { error: "not a YAML document", line: 1 };
    if (docs.length !== 1) return { error: "unexpected document marker", line: 1 };
    doc = docs[0];
  } catch (e) {
    return { error: String((e as Error).message ?? e), line: 1 };
  }
  const err = firstError(doc, blockText);
  if (err) return err;
  const root = doc.contents;
  if (!isSeq(root) || root.items.length !== 1) return { error: "expected a one-item YAML list", line: 1 };
  try {
    return { value: convertNode(root.items[0] as YamlNode, doc) };
  } catch (e) {
    return { error: String((e as Error).message ?? e), line: 1 };
  }
}

function parseWhole(
  text: string,
  result: Pick<ParseResult, "ops" | "opLines" | "problems">,
  file: string | undefined,
  base: number,
): void {
  const where = (line: number) => (file ? `${file}:${line}: ` : `line ${line}: `);
  let docs: YamlLib.Document.Parsed[];
  try {
    const parsed = yamlLib().parseAllDocuments(text, YAML_OPTS);
    docs = Array.isArray(parsed) ? parsed : [];
  } catch (e) {
    result.problems.push({
      kind: "syntax",
      message: `${where(base)}malformed YAML: ${(e as Error).message}`,
      file,
      line: base,
      fatal: true,
    });
    return;
  }
  const doc = docs[0];
  if (!doc || docs.length > 1) {
    result.problems.push({
      kind: "syntax",
      message: `${where(base)}malformed YAML: ${docs.length > 1 ? "several YAML documents" : "no document"}`,
      file,
      line: base,
      fatal: true,
    });
    return;
  }
  const err = firstError(doc, text);
  if (err) {
    result.problems.push({
      kind: "syntax",
      message: `${where(base + err.line - 1)}malformed YAML: ${err.error}`,
      file,
      line: base + err.line - 1,
      fatal: true,
    });
    return;
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === "" || root.value === null))) return;
  if (!isSeq(root)) {
    const got = isYamlMap(root) ? "dict" : "str";
    result.problems.push({
      kind: "not-a-list",
      message: `${file ?? "<ops>"}: expected YAML list, got ${got}`,
      file,
      line: base,
      fatal: true,
    });
    return;
  }
  const lc = new (yamlLib().LineCounter)();
  // Recompute line numbers cheaply from node ranges (line 1 starts at offset 0).
  lc.addNewLine(0);
  for (let i = 0; i < text.length;) {
    const nl = text.indexOf("\n", i);
    if (nl < 0) break;
    lc.addNewLine(nl + 1);
    i = nl + 1;
  }
  for (const item of root.items) {
    const node = item as YamlNode;
    const line = base + (node?.range ? lc.linePos(node.range[0]).line - 1 : 0);
    let value: YamlValue;
    try {
      value = convertNode(node, doc);
    } catch (e) {
      result.problems.push({
        kind: "syntax",
        message: `${where(line)}malformed YAML: ${(e as Error).message}`,
        file,
        line,
        fatal: true,
      });
      continue;
    }
    if (!isMap(value)) {
      result.problems.push({
        kind: "not-a-mapping",
        message: `${where(line)}op is not a mapping (got ${describe(value)})`,
        file,
        line,
        fatal: true,
      });
      continue;
    }
    result.ops.push(value);
    result.opLines.push(line);
  }
}

const STD = "tag:yaml.org,2002:";

/** Convert a `yaml` AST node to a value with PyYAML YAML 1.1 typing. */
function convertNode(node: YamlNode | null | undefined, doc: YamlLib.Document, depth = 0): YamlValue {
  if (depth > 200) throw new Error("nesting too deep");
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return convertNode(node.resolve(doc) as YamlNode, doc, depth + 1);
  if (isScalar(node)) {
    const raw = node.value === null || node.value === undefined ? "" : String(node.value);
    const tag = node.tag;
    if (tag && tag !== "!") {
      const t = tag.startsWith(STD) ? tag.slice(STD.length) : tag.startsWith("!!") ? tag.slice(2) : tag;
      switch (t) {
        case "str":
          return raw;
        case "null":
          return null;
        case "bool":
        case "int":
        case "float": {
          const v = resolvePlain11(raw);
          return v;
        }
        default:
          return raw;
      }
    }
    if (node.type === "PLAIN") return resolvePlain11(raw);
    return raw;
  }
  if (isSeq(node)) return node.items.map((x) => convertNode(x as YamlNode, doc, depth + 1));
  if (isYamlMap(node)) {
    const m = newMap();
    for (const pair of node.items) {
      const k = convertNode(pair.key as YamlNode, doc, depth + 1);
      const v = convertNode(pair.value as YamlNode, doc, depth + 1);
      if (k === "<<" && isScalar(pair.key) && (pair.key as { type?: string }).type === "PLAIN") {
        // PyYAML merge key: merge mappings that are not already present.
        const sources = Array.isArray(v) ? v : [v];
        for (const src of sources) {
          if (!isMap(src)) throw new Error("expected a mapping for merging");
          for (const sk of Object.keys(src)) if (!(sk in m)) m[sk] = src[sk];
        }
        continue;
      }
      const key = typeof k === "string" ? k : pyStr(k);
      m[key] = v;
    }
    return m;
  }
  throw new Error("unsupported YAML node");
}

/**
 * Parse arbitrary YAML (config files, tag catalog) with PyYAML 1.1 typing: the first
 * document (null when empty). Plain block documents take the fast reader; the rest, and
 * everything when `forceSlow` (tests), the `yaml` library.
 * @throws Error with a `line N:` prefix when the text is not valid YAML
 */
export function parseYamlDocument(text: string, opts: { forceSlow?: boolean } = {}): YamlValue {
  const fast = opts.forceSlow ? BAIL : parseDocumentFast(text);
  if (fast !== BAIL) return fast;
  const docs = yamlLib().parseAllDocuments(text, YAML_OPTS);
  const list = Array.isArray(docs) ? docs : [];
  if (list.length === 0) return null;
  const doc = list[0];
  const err = firstError(doc, text);
  if (err) throw new Error(`line ${err.line}: ${err.error}`);
  return convertNode(doc.contents as YamlNode, doc);
}

/**
 * `parseYamlDocument` on the fast path only: the value, or undefined when the document
 * needs the `yaml` library (callers that want the library's own view, with line positions,
 * use it themselves then).
 */
export function parseYamlDocumentFast(text: string): YamlValue | undefined {
  const v = parseDocumentFast(text);
  return v === BAIL ? undefined : v;
}

/**
 * The strict fast path for a whole document of block mappings and sequences (configs): the
 * same reader as op blocks, so values are typed identically. Anything it does not handle
 * (document markers, directives, block scalars, anchors, tabs…) returns BAIL and the `yaml`
 * library reads the text instead.
 */
function parseDocumentFast(text: string): YamlValue | typeof BAIL {
  const b = Buffer.from(text, "utf8");
  const n = b.length;
  let p = n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  let lt = lineTables(0);
  let lines = 0;
  while (p < n) {
    let nl = b.indexOf(10, p);
    if (nl < 0) nl = n;
    if (lines === lt.starts.length) lt = lineTables(lines + 1);
    // Directives and document markers: not for the fast path.
    const c = b[p];
    if (c === 37 /* % */ || ((c === 45 || c === 46) && b[p + 1] === c && b[p + 2] === c)) return BAIL;
    lt.starts[lines] = p;
    lt.ends[lines] = nl;
    lines++;
    p = nl + 1;
  }
  lt.indents.fill(-1, 0, lines);
  try {
    return new BlockParser(b, lt.starts, lt.ends, lt.indents).parseDocument(0, lines);
  } catch (e) {
    if (e === BAIL) return BAIL;
    throw e;
  }
}
