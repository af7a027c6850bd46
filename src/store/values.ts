/**
 * Python-compatible value helpers.
 *
 * The Python reference reads op files with PyYAML (YAML 1.1 typing) and prints values
 * with `str()` / `repr()`. These helpers reproduce the few Python behaviours that leak
 * into compiled state, IDs and output: float values distinct from ints, `str()` of
 * scalars, and code-point string ordering (store.md §2.6, §3.2, §4.1).
 */

/**
 * A YAML float as PyYAML reads it (`1.5`, `.inf`, `1:30.0`). Kept distinct from integers
 * because Python prints and hashes `2.0` differently from `2` (store.md §4.1).
 */
export class PyFloat {
  constructor(public readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  /** Python `repr(float)`. */
  toString(): string {
    return pyFloatRepr(this.value);
  }
  toJSON(): number | string {
    return Number.isFinite(this.value) ? this.value : String(this.value);
  }
}

/** Any value an op can carry after reading (PyYAML safe_load result shapes). */
export type YamlValue =
  string | number | bigint | boolean | null | PyFloat | YamlValue[] | { [key: string]: YamlValue };

/** A mapping as read from YAML (insertion-ordered, null prototype). */
export type YamlMap = { [key: string]: YamlValue };

/**
 * Constructor of YAML mappings: instances have a prototype whose own prototype is null, so
 * `__proto__`, `constructor` & co. are plain data keys, while V8 keeps them in fast mode
 * (an `Object.create(null)` object is a slow dictionary from the start).
 */
const YamlMapCtor = function YamlMap(this: object) {} as unknown as { new (): YamlMap; prototype: object };
YamlMapCtor.prototype = Object.create(null);

/** Create an empty mapping (null prototype chain, insertion-ordered). */
export function newMap(): YamlMap {
  return new YamlMapCtor();
}

/**
 * A frozen lookup table without a prototype: keys that come from untrusted text
 * ("__proto__", "constructor", "toString") never reach Object.prototype.
 */
export function lookupTable<T>(entries: Record<string, T>): Readonly<Record<string, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));
}

/** True for a plain mapping value (not an array, not a PyFloat, not null). */
export function isMap(v: unknown): v is YamlMap {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof PyFloat);
}

/** True when `v` is an integer in Python terms (int or bigint, not bool, not float). */
export function isPyInt(v: unknown): v is number | bigint {
  return (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";
}

/**
 * Python `repr()` of a float: shortest round-trip digits, fixed notation when the decimal
 * exponent is in [-4, 16), else scientific with a signed, at least two-digit exponent.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Number.POSITIVE_INFINITY) return "inf";
  if (x === Number.NEGATIVE_INFINITY) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  const exp = Math.abs(x).toExponential(); // shortest digits, e.g. "1.2345e+3"
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(exp);
  if (!m) return String(x);
  const digits = m[1] + (m[2] ?? "");
  const e = Number.parseInt(m[3], 10);
  if (e >= -4 && e < 16) {
    if (e >= 0) {
      const intPart = digits.slice(0, e + 1).padEnd(e + 1, "0");
      const frac = digits.slice(e + 1);
      return `${sign}${intPart}.${frac === "" ? "0" : frac}`;
    }
    return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
  }
  const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const es = e < 0 ? `-${String(-e).padStart(2, "0")}` : `+${String(e).padStart(2, "0")}`;
  return `${sign}${mant}e${es}`;
}

/**
 * Python `str()` of a YAML value, as the reference prints compiled values
 * (`True`, `None`, `2.0`, `['a', 'b']`, `{'k': 'v'}`).
 */
export function pyStr(v: unknown): string {
  if (typeof v === "string") return v;
  return pyRepr(v, true);
}

/** Python `repr()` (or `str()` at top level when `top` is true and v is a string). */
export function pyRepr(v: unknown, top = false): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  if (typeof v === "bigint") return v.toString();
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (typeof v === "string") return top ? v : pyStrRepr(v);
  if (Array.isArray(v)) return `[${v.map((x) => pyRepr(x)).join(", ")}]`;
  if (typeof v === "object") {
    const parts = Object.keys(v as object).map((k) => `${pyStrRepr(k)}: ${pyRepr((v as YamlMap)[k])}`);
    return `{${parts.join(", ")}}`;
  }
  return String(v);
}

/** Python `repr(str)` (quote choice and escapes as CPython does for printable text). */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (c >= 0x80 && c < 0xa0) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + quote;
}

/**
 * Compare two strings by Unicode code point, as Python does (JS `<` compares UTF-16
 * code units, which orders astral characters before U+E000–U+FFFF).
 * @returns negative, zero or positive.
 */
export function pyStrCmp(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      const surrogate = (x >= 0xd800 && x <= 0xdfff) || (y >= 0xd800 && y <= 0xdfff);
      if (!surrogate) return x - y;
      return (a.codePointAt(i) ?? x) - (b.codePointAt(i) ?? y);
    }
  }
  return a.length - b.length;
}

/**
 * Distinct strings numbered in order of first appearance (dictionary encoding of a column of
 * few distinct values: statuses, tags, thread authors).
 */
export class WordCodes {
  /** The distinct strings; a code indexes this. */
  readonly words: string[];
  private readonly index = new Map<string, number>();
  constructor(words: string[] = []) {
    this.words = words;
    words.forEach((w, i) => this.index.set(w, i));
  }
  /** The code of `w` (added when new). */
  code(w: string): number {
    let c = this.index.get(w);
    if (c === undefined) {
      c = this.words.length;
      this.words.push(w);
      this.index.set(w, c);
    }
    return c;
  }
}

const SURROGATE = /[\ud800-\udfff]/;

/**
 * Indices of `keys` in Python's string order (`pyStrCmp`), ties by index (a stable sort).
 * Uses JS comparison when no key holds a surrogate (code-unit order is code-point order then),
 * which is several times faster on big lists.
 * @param keys the sort keys; `pre` compares first (e.g. priority), 0 to fall through
 */
export function pyOrder(keys: readonly string[], pre?: (a: number, b: number) => number): number[] {
  const idx = new Array<number>(keys.length);
  let native = true;
  for (let i = 0; i < keys.length; i++) {
    idx[i] = i;
    if (native && SURROGATE.test(keys[i])) native = false;
  }
  const cmp = native
    ? (a: number, b: number) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : a - b)
    : (a: number, b: number) => pyStrCmp(keys[a], keys[b]) || a - b;
  return idx.sort(pre ? (a, b) => pre(a, b) || cmp(a, b) : cmp);
}

/** Deep structural equality for YAML values (PyFloat compares by value, like Python `==`). */
export function yamlEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof PyFloat || b instanceof PyFloat) {
    const x = a instanceof PyFloat ? a.value : a;
    const y = b instanceof PyFloat ? b.value : b;
    return typeof x === "number" && typeof y === "number" && x === y;
  }
  if (typeof a === "bigint" || typeof b === "bigint") {
    try {
      return BigInt(a as never) === BigInt(b as never);
    } catch {
      return false;
    }
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => yamlEqual(x, b[i]));
  }
  if (isMap(a)) {
    if (!isMap(b)) return false;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && yamlEqual(a[k], b[k]));
  }
  return false;
}

/** Deep copy of a YAML value (mappings keep their null prototype and key order). */
export function yamlClone<T extends YamlValue>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => yamlClone(x)) as T;
  if (isMap(v)) {
    const m = newMap();
    for (const k of Object.keys(v)) m[k] = yamlClone(v[k]);
    return m as T;
  }
  return v;
}

/** Convert a YAML value to JSON-safe plain data (for `--json` output). */
export function toJsonValue(v: unknown): unknown {
  if (v instanceof PyFloat) return Number.isFinite(v.value) ? v.value : pyFloatRepr(v.value);
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (isMap(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) o[k] = toJsonValue(v[k]);
    return o;
  }
  return v === undefined ? null : v;
}
