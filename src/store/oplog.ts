/**
 * Op-log reader (store.md §2.1, §2.6, §2.7).
 *
 * An `.ops` file is one YAML sequence of op mappings, written by concatenating one-item
 * sequences; every op starts with a line beginning `- ` in column 0. The reader splits the
 * text into op blocks at those lines and parses each block with a strict fast path that
 * understands exactly what the reference writer emits (block mappings and sequences,
 * one-line plain / single / double-quoted scalars, one-line flow sequences, `{}` / `[]`,
 * comments). Anything else — multi-line scalars, anchors, tags, block scalars, odd
 * indentation — falls back to the `yaml` library, whose AST is typed with PyYAML's
 * YAML 1.1 rules (`resolvePlain11`), so both paths give identical values.
 *
 * Problems never throw: a torn/garbled *last* op is reported (`torn-tail`, not fatal) and
 * ignored; garbage elsewhere is reported as a fatal problem with file and line (the
 * reference would refuse the whole file, so the tracker treats such an item as corrupt).
 */
import YAML, { isAlias, isMap as isYamlMap, isScalar, isSeq, type Node as YamlNode } from "yaml";
import { isMap, newMap, pyStr, type YamlMap, type YamlValue } from "./values.js";
import { resolvePlain11 } from "./yaml11.js";

/** One op as read: a mapping (`op`, `at`, `by`, `actor`, `clock`, `nonce`, op-specific keys). */
export type Op = YamlMap;

/** Kinds of problems found while reading an op log. */
export type ProblemKind = "torn-tail" | "syntax" | "not-a-list" | "not-a-mapping" | "encoding" | "io";

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

const BAIL = Symbol("bail");

/**
 * Parse op-log text (store.md §2.1, §2.6, §2.7).
 * @param text whole file content (or an appended tail starting at an op boundary)
 * @returns ops in file order, their first lines, and problems (never throws)
 */
export function parseOpLog(text: string, opts: ParseOptions = {}): ParseResult {
  const result: ParseResult = { ops: [], opLines: [], problems: [], complete: text.length, completeLines: 0 };
  const file = opts.file;
  const base = opts.firstLine ?? 1;
  const where = (line: number) => (file ? `${file}:${line}: ` : `line ${line}: `);
  if (text.length === 0 || /^\s*$/.test(text)) {
    result.completeLines = countLines(text, text.length);
    return result;
  }
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (bom) text = text.slice(1);

  // Split into lines (start/end offsets, end excludes "\n").
  const starts: number[] = [];
  const ends: number[] = [];
  let p = 0;
  const n = text.length;
  while (p < n) {
    const nl = text.indexOf("\n", p);
    const e = nl < 0 ? n : nl;
    starts.push(p);
    ends.push(e);
    p = e + 1;
  }
  result.complete = text.length + bom;
  result.completeLines = text.endsWith("\n") ? starts.length : starts.length - 1;
  // Blocks begin at lines starting "- " (or a lone "-") in column 0.
  const blockStarts: number[] = [];
  let preambleOk = true;
  for (let i = 0; i < starts.length; i++) {
    const s = starts[i];
    const c = text.charCodeAt(s);
    if (c === 45 /* - */) {
      const c2 = s + 1 < ends[i] ? text.charCodeAt(s + 1) : -1;
      if (c2 === 32 || c2 === -1) {
        blockStarts.push(i);
        continue;
      }
    }
    if (blockStarts.length === 0 && !isBlankOrComment(text, s, ends[i])) preambleOk = false;
  }
  if (!preambleOk || blockStarts.length === 0) {
    const bad = NON_PRINTABLE.exec(text);
    if (bad) {
      const line = base + countLines(text, bad.index);
      result.problems.push({
        kind: "syntax",
        message: `${where(line)}malformed YAML: unacceptable character #x${bad[0].charCodeAt(0).toString(16).padStart(4, "0")}: special characters are not allowed`,
        file,
        line,
        fatal: true,
      });
      return result;
    }
    parseWhole(text, result, file, base);
    return result;
  }
  // Characters PyYAML refuses (raw control characters) or treats as line breaks (NEL, LS,
  // PS) are rare; look for them once and handle the affected blocks specially.
  const special = SPECIAL_CHARS.test(text);
  for (let b = 0; b < blockStarts.length; b++) {
    const from = blockStarts[b];
    const to = b + 1 < blockStarts.length ? blockStarts[b + 1] : starts.length;
    const isLast = b === blockStarts.length - 1;
    const line = base + from;
    let op: YamlValue | undefined;
    let error: string | undefined;
    let errLine = line;
    let slowOnly = opts.forceSlow === true;
    if (special) {
      const blockEnd = to < starts.length ? starts[to] : n;
      const blockText = text.slice(starts[from], blockEnd);
      const bad = NON_PRINTABLE.exec(blockText);
      if (bad) {
        error = `unacceptable character #x${bad[0].charCodeAt(0).toString(16).padStart(4, "0")}: special characters are not allowed`;
        errLine = line + countLines(blockText, bad.index);
      } else if (LINE_BREAK_CHARS.test(blockText)) slowOnly = true;
    }
    if (error === undefined && !slowOnly) {
      try {
        op = new BlockParser(text, starts, ends, from, to).parseTop();
      } catch (e) {
        if (e !== BAIL) throw e;
        op = undefined;
      }
    }
    if (error === undefined && op === undefined) {
      const blockText = text.slice(starts[from], to < starts.length ? starts[to] : n);
      const slow = parseSlowBlock(blockText);
      if ("error" in slow) {
        error = slow.error;
        errLine = line + slow.line - 1;
      } else op = slow.value;
    }
    if (error === undefined && isLast && (!text.endsWith("\n") || (isMap(op) && looksTorn(op)))) {
      error = !text.endsWith("\n") ? "last op is incomplete (no final newline)" : "last op is missing keys";
    }
    if (error !== undefined) {
      if (isLast) {
        result.complete = starts[from] + bom;
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
 * Characters PyYAML's reader refuses in a stream (its NON_PRINTABLE set). Text decoded from
 * UTF-8 has no lone surrogates, so surrogate code units (pairs) are allowed here.
 */
const NON_PRINTABLE = /[^\t\n\r\x20-\x7E\x85\xA0-\uFFFD]|[\uFFFE\uFFFF]/;
/** NEL, LS, PS: line breaks for PyYAML (YAML 1.1), ordinary characters for us. */
const LINE_BREAK_CHARS = /[\x85\u2028\u2029]/;
const SPECIAL_CHARS = /[^\t\n\r\x20-\x7E\xA0-\u2027\u202A-\uFFFD]|[\uFFFE\uFFFF]/;

function countLines(text: string, upTo: number): number {
  let c = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < upTo; i = text.indexOf("\n", i + 1)) c++;
  return c;
}

/** Keys the reference writer always emits per op type (used to spot a torn last op). */
const REQUIRED_BY_TYPE: Record<string, string[]> = {
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
};

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

function isBlankOrComment(text: string, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13) continue;
    return c === 35; /* # */
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Fast path
// ---------------------------------------------------------------------------------------

/** Strict line-based parser for one op block; throws BAIL on anything unusual. */
class BlockParser {
  private pos: number;
  constructor(
    private readonly text: string,
    private readonly starts: number[],
    private readonly ends: number[],
    from: number,
    private readonly to: number,
  ) {
    this.pos = from;
  }

  parseTop(): YamlValue {
    const seq = this.parseSeq(0);
    if (seq.length !== 1) throw BAIL;
    if (this.next() !== -1) throw BAIL;
    return seq[0];
  }

  /** Index of the next significant line (skipping blank/comment lines), or -1. */
  private next(): number {
    while (this.pos < this.to) {
      const s = this.starts[this.pos];
      const e = this.ends[this.pos];
      let i = s;
      const t = this.text;
      while (i < e && t.charCodeAt(i) === 32) i++;
      if (i === e) {
        this.pos++;
        continue;
      }
      const c = t.charCodeAt(i);
      if (c === 35 /* # */) {
        this.pos++;
        continue;
      }
      if (c === 9 || c === 13 || t.charCodeAt(e - 1) === 13) throw BAIL; // tabs in indent, CR
      return this.pos;
    }
    return -1;
  }

  private indentOf(li: number): number {
    const s = this.starts[li];
    const e = this.ends[li];
    let i = s;
    while (i < e && this.text.charCodeAt(i) === 32) i++;
    return i - s;
  }

  private isDashAt(pos: number, e: number): boolean {
    return this.text.charCodeAt(pos) === 45 && (pos + 1 === e || this.text.charCodeAt(pos + 1) === 32);
  }

  private parseNode(minIndent: number): YamlValue {
    const li = this.next();
    if (li < 0) throw BAIL;
    const ind = this.indentOf(li);
    if (ind < minIndent) throw BAIL;
    const cs = this.starts[li] + ind;
    if (this.isDashAt(cs, this.ends[li])) return this.parseSeq(ind);
    return this.parseMap(ind, cs);
  }

  private parseSeq(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    const t = this.text;
    for (;;) {
      const li = this.next();
      if (li < 0) return out;
      const ind = this.indentOf(li);
      if (ind < indent) return out;
      if (ind > indent) throw BAIL;
      const e = this.ends[li];
      const cs = this.starts[li] + ind;
      if (!this.isDashAt(cs, e)) return out;
      // Content after "-" and following spaces.
      let r = cs + 1;
      while (r < e && t.charCodeAt(r) === 32) r++;
      if (r === e || t.charCodeAt(r) === 35) {
        this.pos++;
        const nl = this.next();
        if (nl >= 0 && this.indentOf(nl) > indent) out.push(this.parseNode(indent + 1));
        else out.push(null);
        continue;
      }
      if (this.isDashAt(r, e)) throw BAIL; // "- - x"
      const key = this.splitKey(r, e);
      if (key) {
        out.push(this.parseMap(r - this.starts[li], r));
      } else {
        const v = this.parseInline(r, e);
        this.pos++;
        const nl = this.next();
        if (nl >= 0 && this.indentOf(nl) > indent) throw BAIL; // continuation line
        out.push(v);
      }
    }
  }

  /**
   * Parse a block mapping whose entries sit at column `indent`. The first entry starts at
   * text offset `firstAt` on the current line (which may be after a "- ").
   */
  private parseMap(indent: number, firstAt: number): YamlMap {
    const map = newMap();
    const t = this.text;
    let at = firstAt;
    for (;;) {
      const li = this.pos;
      const e = this.ends[li];
      const k = this.splitKey(at, e);
      if (!k) throw BAIL;
      let v = k.valueAt;
      while (v < e && t.charCodeAt(v) === 32) v++;
      let value: YamlValue;
      if (v === e || t.charCodeAt(v) === 35) {
        this.pos++;
        const nl = this.next();
        if (nl >= 0) {
          const nind = this.indentOf(nl);
          const ncs = this.starts[nl] + nind;
          if (nind > indent) value = this.parseNode(indent + 1);
          else if (nind === indent && this.isDashAt(ncs, this.ends[nl])) value = this.parseSeq(indent);
          else value = null;
        } else value = null;
      } else {
        value = this.parseInline(v, e);
        this.pos++;
        const nl = this.next();
        if (nl >= 0 && this.indentOf(nl) > indent) throw BAIL; // continuation / nested after inline
      }
      map[k.key] = value;
      const nl = this.next();
      if (nl < 0) return map;
      const nind = this.indentOf(nl);
      if (nind < indent) return map;
      if (nind > indent) throw BAIL;
      const ncs = this.starts[nl] + nind;
      if (this.isDashAt(ncs, this.ends[nl])) throw BAIL;
      at = ncs;
    }
  }

  /** Recognise `key:` (followed by space or end) at offset s; returns key and value offset. */
  private splitKey(s: number, e: number): { key: string; valueAt: number } | null {
    const t = this.text;
    const c = t.charCodeAt(s);
    if (c === 34 /* " */ || c === 39 /* ' */) {
      const q = c === 34 ? scanDouble(t, s, e) : scanSingle(t, s, e);
      if (q < 0) return null;
      if (q < e && t.charCodeAt(q) === 58 && (q + 1 === e || t.charCodeAt(q + 1) === 32)) {
        const raw = c === 34 ? decodeDouble(t, s + 1, q - 1) : t.slice(s + 1, q - 1).replace(/''/g, "'");
        return { key: raw, valueAt: q + 1 };
      }
      return null;
    }
    // Plain key: indicators at the start are not handled by the fast path.
    if ("[]{}&*!|>%@`#?,".includes(t[s]) || (c === 45 && t.charCodeAt(s + 1) === 32)) return null;
    for (let i = s; i < e; i++) {
      const ch = t.charCodeAt(i);
      if (ch === 58 /* : */ && (i + 1 === e || t.charCodeAt(i + 1) === 32)) {
        if (i === s || t.charCodeAt(i - 1) === 32) throw BAIL; // empty key or "key :"
        const raw = t.slice(s, i);
        const v = resolvePlain11(raw);
        return { key: typeof v === "string" ? v : pyStr(v), valueAt: i + 1 };
      }
      if (ch === 35 /* # */ && t.charCodeAt(i - 1) === 32) return null;
      if (ch === 9) throw BAIL;
    }
    return null;
  }

  /** Parse an inline value starting at s (non-space, not a comment) up to line end e. */
  private parseInline(s: number, e: number): YamlValue {
    const t = this.text;
    const c = t.charCodeAt(s);
    if (c === 34) {
      const q = scanDouble(t, s, e);
      if (q < 0) throw BAIL;
      this.expectTrailer(q, e);
      return decodeDouble(t, s + 1, q - 1);
    }
    if (c === 39) {
      const q = scanSingle(t, s, e);
      if (q < 0) throw BAIL;
      this.expectTrailer(q, e);
      return t.slice(s + 1, q - 1).replace(/''/g, "'");
    }
    if (c === 91 /* [ */) return this.parseFlowSeq(s, e);
    if (c === 123 /* { */) {
      if (t.charCodeAt(s + 1) !== 125) throw BAIL;
      this.expectTrailer(s + 2, e);
      return newMap();
    }
    if ("&*!|>%@`]},".includes(t[s])) throw BAIL;
    if ((c === 45 || c === 63 || c === 58) && (s + 1 === e || t.charCodeAt(s + 1) === 32)) throw BAIL;
    // Plain scalar: up to " #" or end of line; trailing spaces trimmed.
    let end = e;
    for (let i = s + 1; i < e; i++) {
      const ch = t.charCodeAt(i);
      if (ch === 35 && (t.charCodeAt(i - 1) === 32 || t.charCodeAt(i - 1) === 9)) {
        end = i;
        break;
      }
      if (ch === 58 && (i + 1 === e || t.charCodeAt(i + 1) === 32)) throw BAIL; // "a: b: c"
    }
    while (end > s && (t.charCodeAt(end - 1) === 32 || t.charCodeAt(end - 1) === 9)) end--;
    return resolvePlain11(t.slice(s, end));
  }

  /** After a quoted scalar or flow collection: only spaces and an optional comment. */
  private expectTrailer(q: number, e: number): void {
    const t = this.text;
    let i = q;
    while (i < e && t.charCodeAt(i) === 32) i++;
    if (i === e) return;
    if (t.charCodeAt(i) === 35 && i > q) return;
    throw BAIL;
  }

  private parseFlowSeq(s: number, e: number): YamlValue[] {
    const t = this.text;
    const out: YamlValue[] = [];
    let i = s + 1;
    const skip = () => {
      while (i < e && t.charCodeAt(i) === 32) i++;
    };
    skip();
    if (t.charCodeAt(i) === 93 /* ] */) {
      this.expectTrailer(i + 1, e);
      return out;
    }
    for (;;) {
      skip();
      if (i >= e) throw BAIL;
      const c = t.charCodeAt(i);
      if (c === 34 || c === 39) {
        const q = c === 34 ? scanDouble(t, i, e) : scanSingle(t, i, e);
        if (q < 0) throw BAIL;
        out.push(c === 34 ? decodeDouble(t, i + 1, q - 1) : t.slice(i + 1, q - 1).replace(/''/g, "'"));
        i = q;
      } else {
        if ("[]{}&*!|>%@`#,?:-".includes(t[i]) && !(t[i] === "-" && t.charCodeAt(i + 1) !== 32)) throw BAIL;
        const st = i;
        while (i < e) {
          const ch = t.charCodeAt(i);
          if (ch === 44 || ch === 93) break;
          if (ch === 91 || ch === 123 || ch === 125 || ch === 63) throw BAIL;
          if (ch === 58) {
            const nx = i + 1 < e ? t.charCodeAt(i + 1) : -1;
            if (nx === 32 || nx === 44 || nx === 93 || nx === -1) throw BAIL;
          }
          if (ch === 35 && t.charCodeAt(i - 1) === 32) throw BAIL;
          i++;
        }
        let en = i;
        while (en > st && t.charCodeAt(en - 1) === 32) en--;
        if (en === st) throw BAIL;
        out.push(resolvePlain11(t.slice(st, en)));
      }
      skip();
      const d = t.charCodeAt(i);
      if (d === 44) {
        i++;
        skip();
        if (t.charCodeAt(i) === 93) throw BAIL; // trailing comma
        continue;
      }
      if (d === 93) {
        this.expectTrailer(i + 1, e);
        return out;
      }
      throw BAIL;
    }
  }
}

/** Offset just past the closing quote of a double-quoted scalar starting at s, or -1. */
function scanDouble(t: string, s: number, e: number): number {
  let i = s + 1;
  while (i < e) {
    const c = t.charCodeAt(i);
    if (c === 92 /* \ */) {
      i += 2;
      continue;
    }
    if (c === 34) return i + 1;
    i++;
  }
  return -1;
}

/** Offset just past the closing quote of a single-quoted scalar starting at s, or -1. */
function scanSingle(t: string, s: number, e: number): number {
  let i = s + 1;
  while (i < e) {
    if (t.charCodeAt(i) === 39) {
      if (i + 1 < e && t.charCodeAt(i + 1) === 39) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return -1;
}

const SIMPLE_ESCAPES: Record<string, string> = {
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
};
const HEX_LEN: Record<string, number> = { x: 2, u: 4, U: 8 };

/** Decode the body of a one-line double-quoted scalar (YAML escapes, store.md §2.6). */
function decodeDouble(t: string, s: number, e: number): string {
  const first = t.indexOf("\\", s);
  if (first < 0 || first >= e) return t.slice(s, e);
  let out = "";
  let i = s;
  while (i < e) {
    const bs = t.indexOf("\\", i);
    if (bs < 0 || bs >= e) {
      out += t.slice(i, e);
      break;
    }
    out += t.slice(i, bs);
    const c = t[bs + 1];
    const simple = SIMPLE_ESCAPES[c];
    if (simple !== undefined) {
      out += simple;
      i = bs + 2;
      continue;
    }
    const len = HEX_LEN[c];
    if (len === undefined) throw BAIL;
    const hex = t.slice(bs + 2, bs + 2 + len);
    if (hex.length !== len || !/^[0-9A-Fa-f]+$/.test(hex)) throw BAIL;
    const cp = Number.parseInt(hex, 16);
    if (cp > 0x10ffff) throw BAIL;
    out += String.fromCodePoint(cp);
    i = bs + 2 + len;
  }
  return out;
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

function firstError(doc: YAML.Document.Parsed): { error: string; line: number } | undefined {
  if (doc.errors.length === 0) return undefined;
  const err = doc.errors[0];
  const line = err.linePos?.[0]?.line ?? 1;
  return { error: err.message.split("\n")[0], line };
}

function parseSlowBlock(blockText: string): { value: YamlValue } | { error: string; line: number } {
  let doc: YAML.Document.Parsed;
  try {
    const docs = YAML.parseAllDocuments(blockText, YAML_OPTS);
    if (!Array.isArray(docs)) return { error: "not a YAML document", line: 1 };
    if (docs.length !== 1) return { error: "unexpected document marker", line: 1 };
    doc = docs[0];
  } catch (e) {
    return { error: String((e as Error).message ?? e), line: 1 };
  }
  const err = firstError(doc);
  if (err) return err;
  const root = doc.contents;
  if (!isSeq(root) || root.items.length !== 1) return { error: "expected a one-item YAML list", line: 1 };
  try {
    return { value: convertNode(root.items[0] as YamlNode, doc) };
  } catch (e) {
    return { error: String((e as Error).message ?? e), line: 1 };
  }
}

function parseWhole(text: string, result: ParseResult, file: string | undefined, base: number): void {
  const where = (line: number) => (file ? `${file}:${line}: ` : `line ${line}: `);
  let docs: YAML.Document.Parsed[];
  try {
    const parsed = YAML.parseAllDocuments(text, YAML_OPTS);
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
  const err = firstError(doc);
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
  const lc = new YAML.LineCounter();
  // Recompute line numbers cheaply from node ranges.
  for (let i = 0; i < text.length; ) {
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
function convertNode(node: YamlNode | null | undefined, doc: YAML.Document, depth = 0): YamlValue {
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
 * Parse arbitrary YAML (config files, tag catalog) with PyYAML 1.1 typing.
 * @throws Error with a `line N:` prefix when the text is not valid YAML
 */
export function parseYamlDocument(text: string): YamlValue {
  const docs = YAML.parseAllDocuments(text, YAML_OPTS);
  const list = Array.isArray(docs) ? docs : [];
  if (list.length === 0) return null;
  const doc = list[0];
  const err = firstError(doc);
  if (err) throw new Error(`line ${err.line}: ${err.error}`);
  return convertNode(doc.contents as YamlNode, doc);
}
