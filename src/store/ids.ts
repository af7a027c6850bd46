/**
 * Item IDs: content-hash proquints (store.md §4.1), Python-compatible canonical JSON,
 * ID shapes and short forms (store.md §4.5, cli.md §1.6).
 */
import { createHash } from "node:crypto";
import { isMap, PyFloat, pyFloatRepr, type YamlValue, lookupTable } from "./values.js";

/**
 * `json.dumps(value, sort_keys=True)` with Python's defaults: separators `", "` / `": "`,
 * keys sorted by code point, `ensure_ascii=True` (non-ASCII as lowercase `\uXXXX`, astral
 * characters as surrogate pairs), floats in `repr` form, `NaN`/`Infinity` literals.
 * @throws TypeError for values JSON cannot represent (functions, symbols)
 */
export function pyJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return jsonFloat(value);
  }
  if (typeof value === "bigint") return value.toString();
  if (value instanceof PyFloat) return jsonFloat(value.value);
  if (typeof value === "string") return jsonString(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[${value.map(pyJsonDumps).join(", ")}]`;
  }
  if (isMap(value) || (typeof value === "object" && value !== null)) {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).sort(codePointCompare);
    if (keys.length === 0) return "{}";
    return `{${keys.map((k) => `${jsonString(k)}: ${pyJsonDumps(obj[k])}`).join(", ")}}`;
  }
  throw new TypeError(`Object of type ${typeof value} is not JSON serializable`);
}

function jsonFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Number.POSITIVE_INFINITY) return "Infinity";
  if (x === Number.NEGATIVE_INFINITY) return "-Infinity";
  return pyFloatRepr(x);
}

function codePointCompare(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

const JSON_ESCAPES: Readonly<Record<string, string>> = lookupTable({
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
});

/** Python `json.dumps(str)` with ensure_ascii=True (works on UTF-16 code units). */
function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) {
      out += s[i];
      continue;
    }
    const e = JSON_ESCAPES[s[i]];
    out += e ?? `\\u${c.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
}

const CONSONANTS = "bdfghjklmnprstvz";
const VOWELS = "aiou";

/** Proquint of a 16-bit value: CVCVC from bits 15–12, 11–10, 9–6, 5–4, 3–0. */
export function quint16(x: number): string {
  return (
    CONSONANTS[(x >> 12) & 0xf] +
    VOWELS[(x >> 10) & 0x3] +
    CONSONANTS[(x >> 6) & 0xf] +
    VOWELS[(x >> 4) & 0x3] +
    CONSONANTS[x & 0xf]
  );
}

/** dsw/proquint `uint2quint` of a 32-bit word: high half first, joined with `-`. */
export function uint2quint(word: number): string {
  return `${quint16((word >>> 16) & 0xffff)}-${quint16(word & 0xffff)}`;
}

/**
 * Content-hash item ID (store.md §4.1): SHA-256 over `json.dumps(data, sort_keys=True) +
 * salt`, first 16 bytes as four big-endian words, each as two proquint syllables.
 * @param createData the exact `create.data` mapping (all keys, including legacy ones)
 * @param prefix kind prefix, e.g. `WI`
 * @param salt `""` normally; the new op's nonce after a collision (store.md §4.2)
 * @returns e.g. `WI-popak-gugoz-kibah-dugur-hopif-dutor-zopud-tamak`
 */
export function computeItemId(
  createData: YamlValue | Record<string, unknown>,
  prefix: string,
  salt = "",
): string {
  const canonical = pyJsonDumps(createData) + salt;
  const digest = createHash("sha256").update(canonical, "utf8").digest();
  const words: string[] = [];
  for (let i = 0; i < 4; i++) words.push(uint2quint(digest.readUInt32BE(i * 4)));
  return `${prefix}-${words.join("-")}`;
}

/** A full item ID: a prefix and eight CVCVC syllables (strict proquint alphabet). */
export const FULL_ID_RE =
  /^[A-Za-z][A-Za-z0-9_]*(?:-[bdfghjklmnprstvz][aiou][bdfghjklmnprstvz][aiou][bdfghjklmnprstvz]){8}$/;

/**
 * Is `s` safe as an item ID / file name component? (No path separators, no NUL, not `.`
 * or `..`, printable ASCII only.) Protects every path built from an ID.
 */
export function isSafeIdComponent(s: string): boolean {
  return s.length > 0 && s.length <= 200 && /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/.test(s) && !s.includes("..");
}

/**
 * Short display form (`_short_id`): kind prefix plus first syllable, `WI-mamuh`
 * (cli.md §1.6). Non-ID strings are returned unchanged.
 */
export function shortId(id: string): string {
  const parts = id.split("-");
  if (parts.length >= 2) return `${parts[0]}-${parts[1]}`;
  return id;
}

/**
 * Regex finding item IDs in free text (store.md §4.5): a configured prefix, then at least
 * two `-CVCVC` syllables (loose alphabet), not glued to letters/digits on either side.
 * @returns a global regex, or null when there are no prefixes
 */
export function idPatternFor(prefixes: string[]): RegExp | null {
  const ps = prefixes.filter((p) => p.length > 0).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  if (ps.length === 0) return null;
  ps.sort((a, b) => b.length - a.length);
  const syl = "[bcdfghjklmnpqrstvz][aeiou][bcdfghjklmnpqrstvz][aeiou][bcdfghjklmnpqrstvz]";
  return new RegExp(`(?<![A-Za-z0-9])(?:${ps.join("|")})(?:-${syl}){2,}(?![A-Za-z0-9])`, "g");
}
