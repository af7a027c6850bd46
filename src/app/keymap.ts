/**
 * Key bindings as data (keymaps/default.yaml + the user's overrides): loading, validation
 * with line numbers, resolution of a key in a context stack, and the help listing.
 */
import { lookupTable } from "../store/values.js";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML, { isMap, isScalar, isSeq, type Pair, type Scalar } from "yaml";

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
  const doc = YAML.parseDocument(text, { prettyErrors: false });
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
        const v = (ap.value as YAML.YAMLMap | null)?.toJSON?.() ?? {};
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
 * @throws KeymapError naming file and line for unknown actions/contexts and clashes
 */
export function loadKeymap(userFile?: string | null, defaultFile = findDefault()): Keymap {
  const dtext = fs.readFileSync(defaultFile, "utf8");
  const def = parseFile(defaultFile, dtext, true);
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
  return k;
}
