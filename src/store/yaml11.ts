/**
 * YAML scalar typing as the two Python libraries see it (store.md §2.6).
 *
 * - Reading: the reference reads with PyYAML's CSafeLoader, i.e. YAML 1.1 implicit typing.
 *   `resolvePlain11` maps a *plain* (unquoted) scalar to the value PyYAML constructs.
 * - Writing: the reference writes with ruamel.yaml in YAML 1.2 mode. `resolvesAsString12`
 *   says whether ruamel would consider a plain scalar to read back as a string (its
 *   `implicit[0]`), and `resolvesAsString11` the same for PyYAML. Our writer only emits a
 *   plain scalar when both agree it is a string.
 */
import { PyFloat, type YamlValue } from "./values.js";

const BOOL11 = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const FLOAT11 =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const INT11 =
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const MERGE = /^(?:<<)$/;
const NULL = /^(?:~|null|Null|NULL|)$/;
const TIMESTAMP =
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/;
const VALUE = /^(?:=)$/;

const BOOL12 = /^(?:true|True|TRUE|false|False|FALSE)$/;
const FLOAT12 =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const INT12 = /^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$/;

/** First characters for which any PyYAML 1.1 resolver applies (others are always str). */
const FIRST11 = new Set([..."yYnNtTfFoO-+0123456789.<~=!&*"].map((c) => c.charCodeAt(0)));

type Tag = "bool" | "float" | "int" | "merge" | "null" | "timestamp" | "value" | "str";

/** PyYAML 1.1 implicit resolver, honouring its first-character dispatch table. */
export function tagPlain11(s: string): Tag {
  if (s.length > 0 && !FIRST11.has(s.charCodeAt(0))) return "str";
  const c = s.length > 0 ? s[0] : "";
  if ("yYnNtTfFoO".includes(c) && c !== "" && BOOL11.test(s)) return "bool";
  if (c !== "" && "-+0123456789.".includes(c) && FLOAT11.test(s)) return "float";
  if (c !== "" && "-+0123456789".includes(c) && INT11.test(s)) return "int";
  if (c === "<" && MERGE.test(s)) return "merge";
  if ((c === "" || "~nN".includes(c)) && NULL.test(s)) return "null";
  if (c !== "" && "0123456789".includes(c) && TIMESTAMP.test(s)) return "timestamp";
  if (c === "=" && VALUE.test(s)) return "value";
  return "str";
}

/** ruamel.yaml's YAML 1.2 implicit resolver (the reference writer's view). */
export function tagPlain12(s: string): Tag {
  const c = s.length > 0 ? s[0] : "";
  if (c !== "" && "tTfF".includes(c) && BOOL12.test(s)) return "bool";
  if (c !== "" && "-+0123456789.".includes(c) && FLOAT12.test(s)) return "float";
  if (c !== "" && "-+0123456789".includes(c) && INT12.test(s)) return "int";
  if (c === "<" && MERGE.test(s)) return "merge";
  if ((c === "" || "~nN".includes(c)) && NULL.test(s)) return "null";
  if (c !== "" && "0123456789".includes(c) && TIMESTAMP.test(s)) return "timestamp";
  if (c === "=" && VALUE.test(s)) return "value";
  return "str";
}

/** True when PyYAML would read the plain scalar `s` as a string. */
export function resolvesAsString11(s: string): boolean {
  return tagPlain11(s) === "str";
}

/** True when ruamel (YAML 1.2) would read the plain scalar `s` as a string. */
export function resolvesAsString12(s: string): boolean {
  return tagPlain12(s) === "str";
}

function parseIntPy(body: string, radix: number): number | bigint {
  if (body === "") return Number.NaN;
  const big = BigInt((radix === 2 ? "0b" : radix === 8 ? "0o" : radix === 16 ? "0x" : "") + body);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/**
 * The value PyYAML's SafeConstructor builds for a plain scalar (store.md §2.6):
 * booleans (`yes/no/on/off/true/false`), null (`~`, `null`, empty), ints (binary, octal
 * with a leading 0, hex, sexagesimal `1:30` = 90), floats (a dot is required; `2e71` is a
 * string), everything else a string.
 *
 * Deliberate deviation: timestamps (`2026-01-01`) stay strings. PyYAML would build a
 * `datetime`, which the reference cannot sort against string `at` values anyway; the
 * writer always quotes timestamp-like strings, so real files never contain them plain.
 * `<<` and `=` as values also stay strings (PyYAML would raise).
 */
export function resolvePlain11(s: string): YamlValue {
  if (s.length > 0 && !FIRST11.has(s.charCodeAt(0))) return s;
  if (s.length <= 16) {
    const hit = plainCache.get(s);
    if (hit !== undefined) return hit;
    const v = resolveUncached(s);
    if (plainCache.size >= 100_000) plainCache.clear();
    plainCache.set(s, v);
    return v;
  }
  return resolveUncached(s);
}

/** Cache of resolved short plain scalars (only immutable values: strings, numbers, booleans, null). */
const plainCache = new Map<string, YamlValue>();

function resolveUncached(s: string): YamlValue {
  switch (tagPlain11(s)) {
    case "bool":
      return ["yes", "true", "on"].includes(s.toLowerCase());
    case "null":
      return null;
    case "int": {
      let v = s.replace(/_/g, "");
      let sign = 1n;
      if (v[0] === "-") sign = -1n;
      if (v[0] === "+" || v[0] === "-") v = v.slice(1);
      let out: number | bigint;
      if (v === "0") out = 0;
      else if (v.startsWith("0b")) out = parseIntPy(v.slice(2), 2);
      else if (v.startsWith("0x")) out = parseIntPy(v.slice(2), 16);
      else if (v[0] === "0") out = parseIntPy(v, 8);
      else if (v.includes(":")) {
        let total = 0n;
        for (const part of v.split(":")) total = total * 60n + BigInt(part);
        out = total <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(total) : total;
      } else out = parseIntPy(v, 10);
      if (typeof out === "number" && Number.isNaN(out)) return s;
      if (sign === -1n) return typeof out === "bigint" ? -out : out === 0 ? 0 : -out;
      return out;
    }
    case "float": {
      let v = s.replace(/_/g, "").toLowerCase();
      let sign = 1;
      if (v[0] === "-") sign = -1;
      if (v[0] === "+" || v[0] === "-") v = v.slice(1);
      if (v === ".inf") return new PyFloat(sign * Number.POSITIVE_INFINITY);
      if (v === ".nan") return new PyFloat(Number.NaN);
      if (v.includes(":")) {
        let total = 0;
        for (const part of v.split(":")) total = total * 60 + Number(part);
        return new PyFloat(sign * total);
      }
      return new PyFloat(sign * Number(v));
    }
    default:
      return s;
  }
}
