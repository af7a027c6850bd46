/**
 * Key bindings as data (keymaps/default.yaml + the user's overrides): loading, validation
 * with line numbers, resolution of a key in a context stack, and the help listing.
 */
import { lookupTable } from "../store/values.js";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import type * as YamlLib from "yaml";
import type { Pair, Scalar } from "yaml";
import { parseYamlDocumentFast } from "../store/oplog.js";
import type { YamlMap, YamlValue } from "../store/values.js";

/** The `yaml` library (line-aware parsing of user keymaps and errors), loaded when needed. */
let yamlModule: typeof YamlLib | null = null;
function yamlLib(): typeof YamlLib {
  yamlModule ??= createRequire(import.meta.url)("yaml") as typeof YamlLib;
  return yamlModule;
}

/** An action of the catalogue. */
export interface ActionInfo {
  name: string;
  group: string;
  description: string;
  writes: boolean;
  humanOnly: boolean;
}

/** A loaded keymap: the catalogue and, per context, key → action. */
export interface Keymap {
  actions: Map<string, ActionInfo>;
  /** context → key → action */
  bindings: Map<string, Map<string, string>>;
  /** context → action → keys (for help and hints) */
  keysOf: Map<string, Map<string, string[]>>;
  source: string[];
}

/** Error in a keymap file, naming file and line. */
export class KeymapError extends Error {}

const ALIASES: Readonly<Record<string, string>> = lookupTable({
  esc: "escape",
  return: "enter",
  ret: "enter",
  pgup: "pageup",
  pgdn: "pagedown",
  pgdown: "pagedown",
  del: "delete",
  ins: "insert",
  bs: "backspace",
  " ": "space",
});

/**
 * Canonical key name: single printable characters stay as they are (`Q`, `?`), named keys
 * lower-case (`enter`, `pageup`), modifiers as `C-`, `M-`, `S-` prefixes.
 */
export function normalizeKey(k: string): string {
  if (k === " ") return "space";
  let s = k.trim();
  if (s.length === 1) return s === " " ? "space" : s;
  const mods: string[] = [];
  for (;;) {
    const m = /^(ctrl|control|c|alt|meta|m|shift|s)[-+](.+)$/i.exec(s);
    if (!m) break;
    const mod = m[1].toLowerCase();
    mods.push(mod.startsWith("c") ? "C" : mod.startsWith("s") ? "S" : "M");
    s = m[2];
  }
  let name = s.length === 1 ? s : s.toLowerCase();
  name = ALIASES[name] ?? name;
  if (mods.includes("C") && name.length === 1) name = name.toLowerCase();
  const order = ["C", "M", "S"].filter((x) => mods.includes(x));
  return order.map((m) => `${m}-`).join("") + name;
}

function findDefault(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = path.join(dir, "keymaps", "default.yaml");
    if (fs.existsSync(p)) return p;
    dir = path.dirname(dir);
  }
  throw new KeymapError("keymaps/default.yaml not found next to the installed package");
}

/** 1-based line of a character offset (line starts indexed once per text, binary search). */
function lineOf(text: string, offset: number | undefined): number {
  if (offset === undefined) return 1;
  let starts = lastStarts?.text === text ? lastStarts.starts : undefined;
  if (!starts) {
    starts = [0];
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
    lastStarts = { text, starts };
  }
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}
/** Line starts of the last text asked about (a keymap file is asked about many times). */
let lastStarts: { text: string; starts: number[] } | null = null;

interface RawBinding {
  context: string;
  action: string;
  keys: string[];
  line: number;
}

function parseFile(
  file: string,
  text: string,
  wantActions: boolean,
): { actions: Map<string, ActionInfo>; bindings: RawBinding[] } {
  const { isMap, isScalar, isSeq } = yamlLib();
  const doc = yamlLib().parseDocument(text, { prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new KeymapError(`${file}:${e.linePos?.[0]?.line ?? 1}: invalid YAML: ${e.message.split("\n")[0]}`);
  }
  const actions = new Map<string, ActionInfo>();
  const bindings: RawBinding[] = [];
  const root = doc.contents;
  if (root === null) return { actions, bindings };
  if (!isMap(root)) throw new KeymapError(`${file}:1: expected a mapping with 'keys:'`);
  for (const pair of root.items as Pair[]) {
    const key = String((pair.key as Scalar).value);
    const line = lineOf(text, (pair.key as Scalar).range?.[0]);
    if (key === "actions" && wantActions) {
      if (!isMap(pair.value)) throw new KeymapError(`${file}:${line}: 'actions' must be a mapping`);
      for (const ap of pair.value.items as Pair[]) {
        const name = String((ap.key as Scalar).value);
        const v = (ap.value as YamlLib.YAMLMap | null)?.toJSON?.() ?? {};
        actions.set(name, {
          name,
          group: String(v.group ?? "Other"),
          description: String(v.description ?? name),
          writes: v.writes === true,
          humanOnly: v.human_only === true,
        });
      }
    } else if (key === "keys") {
      if (!isMap(pair.value)) throw new KeymapError(`${file}:${line}: 'keys' must be a mapping of contexts`);
      for (const cp of pair.value.items as Pair[]) {
        const context = String((cp.key as Scalar).value);
        const cline = lineOf(text, (cp.key as Scalar).range?.[0]);
        if (cp.value === null) continue;
        if (!isMap(cp.value))
          throw new KeymapError(`${file}:${cline}: context '${context}' must map actions to key lists`);
        for (const bp of cp.value.items as Pair[]) {
          const action = String((bp.key as Scalar).value);
          const bline = lineOf(text, (bp.key as Scalar).range?.[0]);
          let keys: string[];
          if (isSeq(bp.value)) keys = bp.value.items.map((x) => String(isScalar(x) ? x.value : x));
          else if (isScalar(bp.value) && bp.value.value !== null) keys = [String(bp.value.value)];
          else if (bp.value === null || (isScalar(bp.value) && bp.value.value === null)) keys = [];
          else throw new KeymapError(`${file}:${bline}: keys of '${action}' must be a list`);
          bindings.push({ context, action, keys: keys.map(normalizeKey), line: bline });
        }
      }
    } else if (key !== "actions") {
      throw new KeymapError(`${file}:${line}: unknown top-level key '${key}' (expected 'keys')`);
    }
  }
  return { actions, bindings };
}

/** Known contexts. */
export const CONTEXTS = ["global", "filters", "thread", "dialog", "annotate"];

/**
 * Load the default keymap and, when present, the user's overrides.
 * @param userFile e.g. `$XDG_CONFIG_HOME/htrac/keymap.yaml`
 * @param opts.fast read the default keymap with the store's fast reader (default true;
 *   false: the line-aware `yaml` path only, as tests compare)
 * @throws KeymapError naming file and line for unknown actions/contexts and clashes
 */
export function loadKeymap(
  userFile?: string | null,
  defaultFile = findDefault(),
  opts: { fast?: boolean } = {},
): Keymap {
  const dtext = fs.readFileSync(defaultFile, "utf8");
  // The default keymap is read by the store's fast reader (no `yaml` library at start-up);
  // should it ever not fit that reader or fail validation, the line-aware path reads it.
  const fast = opts.fast === false ? undefined : parseValues(parseYamlDocumentFast(dtext));
  if (fast) {
    try {
      return buildKeymap(fast, defaultFile, userFile);
    } catch (e) {
      if (!(e instanceof KeymapError)) throw e;
    }
  }
  return buildKeymap(parseFile(defaultFile, dtext, true), defaultFile, userFile);
}

/**
 * The default keymap's catalogue and bindings from plain values, mirroring `parseFile` on
 * the same document (line numbers 0: only used when validation passes). Returns undefined
 * for anything unexpected, so `parseFile` reports it with its line.
 */
function parseValues(
  v: YamlValue | undefined,
): { actions: Map<string, ActionInfo>; bindings: RawBinding[] } | undefined {
  const isPlainMap = (x: YamlValue | undefined): x is YamlMap =>
    x !== null && typeof x === "object" && !Array.isArray(x) && Object.getPrototypeOf(x) !== Object.prototype
      ? Object.getPrototypeOf(Object.getPrototypeOf(x)) === null
      : false;
  if (!isPlainMap(v)) return undefined;
  const actions = new Map<string, ActionInfo>();
  const bindings: RawBinding[] = [];
  for (const key of Object.keys(v)) {
    const val = v[key];
    if (key === "actions") {
      if (!isPlainMap(val)) return undefined;
      for (const name of Object.keys(val)) {
        const a = val[name];
        if (a !== null && !isPlainMap(a)) return undefined;
        const o: YamlMap = a ?? {};
        actions.set(name, {
          name,
          group: typeof o.group === "string" ? o.group : o.group === undefined ? "Other" : String(o.group),
          description:
            typeof o.description === "string"
              ? o.description
              : o.description === undefined
                ? name
                : String(o.description),
          writes: o.writes === true,
          humanOnly: o.human_only === true,
        });
      }
    } else if (key === "keys") {
      if (!isPlainMap(val)) return undefined;
      for (const context of Object.keys(val)) {
        const acts = val[context];
        if (acts === null) continue;
        if (!isPlainMap(acts)) return undefined;
        for (const action of Object.keys(acts)) {
          const kv = acts[action];
          let keys: string[];
          // Key names are strings; a bare digit reads as a number (the same in YAML 1.1 and
          // 1.2, unlike other numbers and booleans, which the line-aware path handles).
          const name = (k: YamlValue) =>
            typeof k === "string"
              ? k
              : Number.isInteger(k) && (k as number) >= 0 && (k as number) <= 9
                ? String(k)
                : null;
          if (Array.isArray(kv)) {
            const names = kv.map(name);
            if (names.includes(null)) return undefined;
            keys = names as string[];
          } else if (typeof kv === "string") keys = [kv];
          else if (kv === null) keys = [];
          else return undefined;
          bindings.push({ context, action, keys: keys.map(normalizeKey), line: 0 });
        }
      }
    } else return undefined;
  }
  return { actions, bindings };
}

/** Validate and index the default keymap's bindings plus the user's overrides. */
function buildKeymap(
  def: { actions: Map<string, ActionInfo>; bindings: RawBinding[] },
  defaultFile: string,
  userFile: string | null | undefined,
): Keymap {
  const keysOf = new Map<string, Map<string, string[]>>();
  const where = new Map<string, string>(); // context\0action → "file:line"
  const apply = (b: RawBinding, file: string) => {
    if (!def.actions.has(b.action)) throw new KeymapError(`${file}:${b.line}: unknown action '${b.action}'`);
    if (!CONTEXTS.includes(b.context))
      throw new KeymapError(
        `${file}:${b.line}: unknown context '${b.context}' (one of ${CONTEXTS.join(", ")})`,
      );
    if (!keysOf.has(b.context)) keysOf.set(b.context, new Map());
    keysOf.get(b.context)!.set(b.action, b.keys);
    where.set(`${b.context}\0${b.action}`, `${file}:${b.line}`);
  };
  for (const b of def.bindings) apply(b, defaultFile);
  const sources = [defaultFile];
  if (userFile && fs.existsSync(userFile)) {
    const u = parseFile(userFile, fs.readFileSync(userFile, "utf8"), false);
    for (const b of u.bindings) apply(b, userFile);
    sources.push(userFile);
  }
  const bindings = new Map<string, Map<string, string>>();
  for (const [context, acts] of keysOf) {
    const m = new Map<string, string>();
    for (const [action, keys] of acts) {
      for (const k of keys) {
        const other = m.get(k);
        if (other && other !== action) {
          const a = where.get(`${context}\0${action}`);
          const o = where.get(`${context}\0${other}`);
          throw new KeymapError(
            `${a}: key '${k}' is bound to both '${other}' (${o}) and '${action}' in context '${context}'`,
          );
        }
        m.set(k, action);
      }
    }
    bindings.set(context, m);
  }
  return { actions: def.actions, bindings, keysOf, source: sources };
}

/** The user's keymap file path. */
export function userKeymapPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || "", ".config");
  return path.join(base, "htrac", "keymap.yaml");
}

/** Resolve a key in a context stack (most specific first). */
export function resolveKey(km: Keymap, contexts: string[], key: string): string | undefined {
  for (const c of contexts) {
    const a = km.bindings.get(c)?.get(key);
    if (a) return a;
  }
  return undefined;
}

/** Keys bound to an action in a context stack (for hints). */
export function keysFor(km: Keymap, contexts: string[], action: string): string[] {
  for (const c of contexts) {
    const ks = km.keysOf.get(c)?.get(action);
    if (ks && ks.length > 0) return ks;
  }
  return [];
}

/** Short display form of a key (`C-e` → `^e`, `enter` → `Enter`). */
export function displayKey(k: string): string {
  if (k.startsWith("C-")) return `^${k.slice(2)}`;
  const named: Record<string, string> = {
    enter: "Enter",
    escape: "Esc",
    pageup: "PgUp",
    pagedown: "PgDn",
    home: "Home",
    end: "End",
    up: "↑",
    down: "↓",
    left: "←",
    right: "→",
    tab: "Tab",
    "S-tab": "S-Tab",
    space: "Space",
    delete: "Del",
    backspace: "BkSp",
    "S-up": "S-↑",
    "S-down": "S-↓",
  };
  if (named[k]) return named[k];
  if (/^(S-|M-)*f\d{1,2}$/.test(k)) return k.replace(/f(\d+)$/, "F$1");
  // Modified named keys read as the plain ones do: M-← rather than M-left.
  const m = /^((?:M-|S-)+)(.+)$/.exec(k);
  if (m && named[m[2]] && m[2].length > 1) return m[1] + named[m[2]];
  return k;
}
