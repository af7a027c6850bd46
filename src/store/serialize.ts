/**
 * Op-log writer, byte-compatible with the reference (store.md §2.3).
 *
 * The reference serialises `[op]` with ruamel.yaml's round-trip dumper (block style, no
 * line folding, mapping indent 2, sequence dash at the parent key's column), forces double
 * quotes on a few keys, writes `update.add` / `update.remove` lists in flow style, then
 * right-strips every line and appends `  # <nonce>` to every non-empty line.
 *
 * Scalar style follows ruamel's emitter (`analyze_scalar` + `choose_scalar_style`) with one
 * stricter rule (store.md §2.6): a string is only written plain when it reads back as a
 * string under YAML 1.2 *and* under PyYAML's YAML 1.1 typing (so `yes`, `on`, `1:30` are
 * quoted, while ruamel would write them plain and Python would read a boolean / number).
 * Characters above U+FFFF are written literally (as the current reference does).
 */
import { ValidationError } from "./errors.js";
import type { Op } from "./oplog.js";
import { isMap, PyFloat, pyFloatRepr, type YamlMap, type YamlValue, lookupTable } from "./values.js";
import { resolvesAsString11, resolvesAsString12 } from "./yaml11.js";

/** Common keys in the order every op starts with (store.md §2.2). */
export const COMMON_KEYS = ["op", "at", "by", "actor", "clock", "nonce"] as const;

/** Op-specific key order per op type (store.md §2.4). */
export const OP_KEY_ORDER: Readonly<Record<string, string[]>> = lookupTable({
  create: ["data"],
  update: ["set", "add", "remove"],
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

/**
 * `create.data` key order (store.md §2.3); legacy keys `before` and `justification` sit
 * where old writers put them.
 */
export const DATA_KEY_ORDER = [
  "kind",
  "title",
  "status",
  "priority",
  "parent",
  "tags",
  "isbefore",
  "before",
  "duplicate_of",
  "not_duplicate_of",
  "pr_ref",
  "justification",
  "description",
  "fields",
];

/** Keys whose string values are always double-quoted, inside `data` / `set`. */
const FORCED_DATA = new Set(["title", "description", "justification"]);
/** Top-level op keys whose string values are always double-quoted. */
const FORCED_TOP = new Set(["message", "reason", "new_text"]);

type Style = "" | "'" | '"';

interface Analysis {
  empty: boolean;
  multiline: boolean;
  allowFlowPlain: boolean;
  allowBlockPlain: boolean;
  allowSingle: boolean;
  allowDouble: boolean;
}

/** Characters Python's `str.isspace()` accepts (what `rstrip()` removes). */
const PY_SPACE = /[\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
const PY_TRAILING_SPACE =
  /[\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/;

const WS = new Set(["\0", " ", "\t", "\r", "\n", "\x85", "\u2028", "\u2029"]);
const BREAKS = new Set(["\n", "\x85", "\u2028", "\u2029"]);

/** Port of ruamel.yaml `Emitter.analyze_scalar` (YAML 1.2, allow_unicode). */
function analyze(scalar: string): Analysis {
  if (scalar === "") {
    return {
      empty: true,
      multiline: false,
      allowFlowPlain: false,
      allowBlockPlain: true,
      allowSingle: true,
      allowDouble: true,
    };
  }
  const chars = Array.from(scalar);
  let blockInd = false;
  let flowInd = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  if (scalar.startsWith("---") || scalar.startsWith("...")) {
    blockInd = true;
    flowInd = true;
  }
  let preceded = true;
  let followed = chars.length === 1 || WS.has(chars[1]);
  let prevSpace = false;
  let prevBreak = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (i === 0) {
      if ("#,[]{}&*!|>'\"%@`".includes(ch)) {
        flowInd = true;
        blockInd = true;
      }
      if (ch === "?" || ch === ":") {
        if (chars.length === 1) flowInd = true;
        if (followed) blockInd = true;
      }
      if (ch === "-" && followed) {
        flowInd = true;
        blockInd = true;
      }
    } else {
      if (",[]{}".includes(ch)) flowInd = true;
      if (ch === ":" && followed) {
        flowInd = true;
        blockInd = true;
      }
      if (ch === "#" && preceded) {
        flowInd = true;
        blockInd = true;
      }
    }
    if (BREAKS.has(ch)) lineBreaks = true;
    const cp = ch.codePointAt(0)!;
    if (!(ch === "\n" || (cp >= 0x20 && cp <= 0x7e))) {
      const unicodeOk =
        (cp === 0x85 || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || cp >= 0x10000) &&
        cp !== 0xfeff;
      if (!unicodeOk) special = true;
    }
    if (ch === " ") {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (prevBreak) breakSpace = true;
      prevSpace = true;
      prevBreak = false;
    } else if (BREAKS.has(ch)) {
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (prevSpace) spaceBreak = true;
      prevSpace = false;
      prevBreak = true;
    } else {
      prevSpace = false;
      prevBreak = false;
    }
    preceded = WS.has(ch);
    followed = i + 2 >= chars.length || WS.has(chars[i + 2]);
  }
  let allowFlowPlain = true;
  let allowBlockPlain = true;
  let allowSingle = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) {
    allowFlowPlain = false;
    allowBlockPlain = false;
  }
  if (breakSpace) {
    allowFlowPlain = false;
    allowBlockPlain = false;
    allowSingle = false;
  }
  if (special) {
    allowFlowPlain = false;
    allowBlockPlain = false;
    allowSingle = false;
  } else if (spaceBreak) {
    allowFlowPlain = false;
    allowBlockPlain = false;
    allowSingle = false;
  }
  if (lineBreaks) {
    allowFlowPlain = false;
    allowBlockPlain = false;
  }
  if (flowInd) allowFlowPlain = false;
  if (blockInd) allowBlockPlain = false;
  return {
    empty: false,
    multiline: lineBreaks,
    allowFlowPlain,
    allowBlockPlain,
    allowSingle,
    allowDouble: true,
  };
}

/** Extra plain-safety for PyYAML's scanner (flow context is stricter there than in ruamel 1.2). */
function pyyamlPlainSafe(s: string, flow: boolean): boolean {
  if (!resolvesAsString11(s)) return false;
  // Python's str.rstrip() would eat a trailing NBSP & co. from the line; quote instead.
  if (PY_SPACE.test(s[0]) || PY_SPACE.test(s[s.length - 1])) return false;
  if (flow && (s.includes("?") || s[0] === ":")) return false;
  return true;
}

/** Port of ruamel.yaml `Emitter.choose_scalar_style` for str scalars, plus our stricter rule. */
function chooseStyle(s: string, flow: boolean, isKey: boolean): Style {
  const a = analyze(s);
  if (
    resolvesAsString12(s) &&
    !(isKey && (a.empty || a.multiline)) &&
    (flow ? a.allowFlowPlain : a.allowBlockPlain) &&
    pyyamlPlainSafe(s, flow)
  ) {
    return "";
  }
  if (a.allowDouble && (s.includes("'") || s.includes("\n"))) return '"';
  // Stricter than ruamel: a single-quoted scalar with NEL/LS/PS would be written across
  // several physical lines; double quotes escape them instead.
  if (a.allowSingle && !(isKey && a.multiline) && !/[\x85\u2028\u2029]/.test(s)) return "'";
  return '"';
}

const DQ_ESCAPES: Record<number, string> = {
  0: "0",
  7: "a",
  8: "b",
  9: "t",
  10: "n",
  11: "v",
  12: "f",
  13: "r",
  27: "e",
  34: '"',
  92: "\\",
  133: "N",
  160: "_",
  8232: "L",
  8233: "P",
};

function hex(cp: number, width: number): string {
  return cp.toString(16).toUpperCase().padStart(width, "0");
}

/**
 * Double-quoted scalar as ruamel writes it (no folding): printable ASCII and printable
 * Unicode literal, everything else escaped (`\n`, `\t`, `\"`, `\\`, `\x7F`, `\uFEFF`, `\L`…).
 * @throws ValidationError on a lone surrogate (not representable in UTF-8)
 */
export function doubleQuoted(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    let cp = c;
    let width = 1;
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = (c - 0xd800) * 0x400 + (d - 0xdc00) + 0x10000;
        width = 2;
      } else throw new ValidationError("text contains a lone surrogate (invalid Unicode)");
    } else if (c >= 0xdc00 && c <= 0xdfff)
      throw new ValidationError("text contains a lone surrogate (invalid Unicode)");
    const printable =
      cp !== 0x22 &&
      cp !== 0x5c &&
      cp !== 0x85 &&
      cp !== 0x2028 &&
      cp !== 0x2029 &&
      cp !== 0xfeff &&
      ((cp >= 0x20 && cp <= 0x7e) ||
        (cp >= 0xa0 && cp <= 0xd7ff) ||
        (cp >= 0xe000 && cp <= 0xfffd) ||
        cp >= 0x10000);
    if (printable) {
      i += width - 1;
      continue;
    }
    out += s.slice(start, i);
    const rep = DQ_ESCAPES[cp];
    if (rep !== undefined) out += `\\${rep}`;
    else if (cp <= 0xff) out += `\\x${hex(cp, 2)}`;
    else if (cp <= 0xffff) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
    i += width - 1;
    start = i + 1;
  }
  return `${out}${s.slice(start)}"`;
}

function checkUnicode(s: string): void {
  // Lone surrogates cannot be written as UTF-8; refuse instead of corrupting the file.
  if (/[\uD800-\uDFFF]/.test(s) && !s.isWellFormed()) {
    throw new ValidationError("text contains a lone surrogate (invalid Unicode)");
  }
}

/** Render a string scalar in the chosen style. */
function renderString(s: string, opts: { flow?: boolean; key?: boolean; forceDouble?: boolean }): string {
  checkUnicode(s);
  const style = opts.forceDouble ? '"' : chooseStyle(s, opts.flow === true, opts.key === true);
  if (style === "") return s;
  if (style === "'") return `'${s.replace(/'/g, "''")}'`;
  return doubleQuoted(s);
}

/** Float as written so that both ruamel and PyYAML read a float back (store.md §2.6). */
function renderFloat(x: number): string {
  if (Number.isNaN(x)) return ".nan";
  if (x === Number.POSITIVE_INFINITY) return ".inf";
  if (x === Number.NEGATIVE_INFINITY) return "-.inf";
  let v = pyFloatRepr(x).toLowerCase();
  // PyYAML (YAML 1.1) needs a dot in a float: "1e-05" would read back as a string.
  if (!v.includes(".") && v.includes("e")) v = v.replace("e", ".0e");
  return v;
}

/** Render a non-collection scalar; `undefined` means "empty" (None). */
function renderScalar(
  v: YamlValue | undefined,
  opts: { flow?: boolean; key?: boolean; forceDouble?: boolean } = {},
): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return renderString(v, opts);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : renderFloat(v);
  if (v instanceof PyFloat) return renderFloat(v.value);
  throw new ValidationError(`cannot serialise value of type ${typeof v}`);
}

function renderKey(k: string): string {
  return renderString(k, { key: true });
}

interface Ctx {
  /** Force double quotes on string values of this mapping's direct children. */
  forceKeys?: Set<string>;
  /** Force double quotes on every direct string value (the `fields` mapping). */
  forceAll?: boolean;
  /** Child keys whose list values are written in flow style. */
  flowLists?: boolean;
  /** How to build the context of a child mapping by key. */
  child?: (key: string) => Ctx;
}

const PLAIN_CTX: Ctx = {};

function isCollection(v: unknown): v is YamlValue[] | YamlMap {
  return Array.isArray(v) || isMap(v);
}

function emitMapping(
  map: YamlMap,
  keys: string[],
  indent: number,
  ctx: Ctx,
  out: string[],
  firstPrefix?: string,
): void {
  const pad = " ".repeat(indent);
  let first = true;
  for (const k of keys) {
    const v = map[k];
    const lead = first && firstPrefix !== undefined ? firstPrefix : pad;
    first = false;
    const head = `${lead}${renderKey(k)}:`;
    if (Array.isArray(v)) {
      if (v.length === 0) out.push(`${head} []`);
      else if (ctx.flowLists) out.push(`${head} [${v.map((x) => renderFlowItem(x)).join(", ")}]`);
      else {
        out.push(head);
        emitSequence(v, indent, ctx.child ? ctx.child(k) : PLAIN_CTX, out);
      }
    } else if (isMap(v)) {
      const keysOf = Object.keys(v);
      if (keysOf.length === 0) out.push(`${head} {}`);
      else {
        out.push(head);
        const c = ctx.child ? ctx.child(k) : PLAIN_CTX;
        emitMapping(v, orderKeys(v, c), indent + 2, c, out);
      }
    } else {
      const force = (ctx.forceAll || ctx.forceKeys?.has(k)) && typeof v === "string";
      const s = renderScalar(v, { forceDouble: force });
      out.push(s === "" ? head : `${head} ${s}`);
    }
  }
}

function renderFlowItem(x: YamlValue): string {
  if (isCollection(x)) {
    if (Array.isArray(x)) return `[${x.map(renderFlowItem).join(", ")}]`;
    const keys = Object.keys(x);
    return `{${keys.map((k) => `${renderString(k, { flow: true, key: true })}: ${renderFlowItem(x[k])}`).join(", ")}}`;
  }
  return renderScalar(x, { flow: true });
}

function emitSequence(seq: YamlValue[], indent: number, ctx: Ctx, out: string[]): void {
  const pad = " ".repeat(indent);
  for (const item of seq) emitSeqItem(item, `${pad}- `, indent + 2, ctx, out);
}

function emitSeqItem(item: YamlValue, prefix: string, innerIndent: number, ctx: Ctx, out: string[]): void {
  if (Array.isArray(item)) {
    if (item.length === 0) out.push(`${prefix}[]`);
    else {
      // "- - a" : the nested sequence starts on the same line.
      let first = true;
      for (const x of item) {
        emitSeqItem(x, first ? `${prefix}- ` : `${" ".repeat(innerIndent)}- `, innerIndent + 2, ctx, out);
        first = false;
      }
    }
  } else if (isMap(item)) {
    const keys = Object.keys(item);
    if (keys.length === 0) out.push(`${prefix}{}`);
    else emitMapping(item, orderKeys(item, ctx), innerIndent, ctx, out, prefix);
  } else {
    const s = renderScalar(item);
    out.push(s === "" ? prefix.trimEnd() : `${prefix}${s}`);
  }
}

function orderKeys(map: YamlMap, ctx: Ctx): string[] {
  return ctx === DATA_CTX ? orderedDataKeys(map) : Object.keys(map);
}

const FIELDS_CTX: Ctx = { forceAll: true };
const DATA_CTX: Ctx = {
  forceKeys: FORCED_DATA,
  child: (k) => (k === "fields" ? FIELDS_CTX : PLAIN_CTX),
};
const SET_CTX: Ctx = { forceKeys: FORCED_DATA, child: DATA_CTX.child };
const FLOW_CTX: Ctx = { flowLists: true };

function orderedDataKeys(data: YamlMap): string[] {
  const keys = Object.keys(data);
  const known = DATA_KEY_ORDER.filter((k) => keys.includes(k));
  return known.concat(keys.filter((k) => !DATA_KEY_ORDER.includes(k)));
}

/** The key order the reference writes for an op (store.md §2.2–§2.4). */
export function canonicalOpKeys(op: Op): string[] {
  const keys = Object.keys(op);
  const order: string[] = COMMON_KEYS.filter((k) => keys.includes(k));
  const specific = typeof op.op === "string" && Object.hasOwn(OP_KEY_ORDER, op.op) ? OP_KEY_ORDER[op.op] : [];
  for (const k of specific) if (keys.includes(k) && !order.includes(k)) order.push(k);
  for (const k of keys) if (!order.includes(k)) order.push(k);
  return order;
}

const TOP_CTX: Ctx = {
  forceKeys: FORCED_TOP,
  child: (k) => {
    if (k === "data") return DATA_CTX;
    if (k === "set") return SET_CTX;
    if (k === "add" || k === "remove") return FLOW_CTX;
    return PLAIN_CTX;
  },
};

/**
 * Serialise one op exactly as the reference writer does (store.md §2.3).
 * @param op the op mapping; must have a string `nonce` (4 lowercase hex in practice)
 * @returns the op's text: every non-empty line ends with `  # <nonce>`, final `\n`
 * @throws ValidationError when a value cannot be written (lone surrogate, unknown type)
 */
export function serializeOp(op: Op): string {
  const nonce = op.nonce;
  if (typeof nonce !== "string" || nonce === "") throw new ValidationError("op has no nonce");
  // The nonce is repeated in a comment on every line: a line break or control character
  // there would corrupt the file (nonces are 4 hex digits in practice).
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(nonce))
    throw new ValidationError(`op nonce ${JSON.stringify(nonce)} contains a control character or line break`);
  const lines: string[] = [];
  emitMapping(op, canonicalOpKeys(op), 2, TOP_CTX, lines, "- ");
  let out = "";
  for (const raw of lines) {
    const line = raw.replace(PY_TRAILING_SPACE, "");
    if (line !== "") out += `${line}  # ${nonce}\n`;
  }
  return out;
}
