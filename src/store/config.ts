/**
 * Governance config (store.md §5.1, §5.2): kinds, statuses, stop-hook sets, actor patterns,
 * Lamport branches. Loaded from `<root>/tracker/config.yaml`, else
 * `config.yaml.template`, else built-in defaults (first found wins, no merging), or from a
 * host-protected copy under `/etc/hypergumbo-tracker/` when the host opts in.
 */
import fs from "node:fs";
import path from "node:path";
import { ConfigValidationError, ProtectedConfigError } from "./errors.js";
import { parseYamlDocument } from "./oplog.js";
import { findRepoRoot, repoId } from "./paths.js";
import { isMap, pyStr, pyStrRepr, type YamlMap, type YamlValue } from "./values.js";

/** Field types a kind's `fields_schema` can declare. */
export type FieldType = "text" | "integer" | "list" | "boolean";

/** One declared custom field (store.md §5.1). */
export interface FieldSchema {
  type: FieldType;
  required: boolean;
  description: string;
  min?: number;
  max?: number;
}

/** One kind of item (store.md §5.1). */
export interface KindConfig {
  name: string;
  /** ID prefix, e.g. `INV`; default: name uppercased, first 3 characters. */
  prefix: string;
  description: string;
  /** When set, the only statuses writable for this kind. */
  allowed_statuses?: string[];
  /** Readable but not writable statuses. */
  deprecated_statuses: string[];
  /** Declared custom fields in declaration order (empty = any keys, no validation). */
  fields_schema: [string, FieldSchema][];
}

/** The parsed, validated config (store.md §5.1). */
export interface TrackerConfig {
  kinds: KindConfig[];
  statuses: string[];
  blocking_statuses: string[];
  resolved_statuses: string[];
  human_only_statuses: string[];
  scope: "all" | "workspace";
  well_known_tags: string[];
  agent_usernames: string[];
  lamport_branches: string[];
  /** Where the config came from: a file path or `<built-in defaults>`. */
  source: string;
}

/** Built-in defaults (store.md §5.1). */
export const DEFAULT_CONFIG_YAML = `kinds:
  invariant:
    prefix: INV
    description: "Discovered invariant with root cause analysis"
    fields_schema:
      statement:
        type: text
        required: true
        description: "The invariant being tracked"
      root_cause:
        type: text
        required: true
        description: "Why the invariant was violated"
  work_item:
    prefix: WI
    description: "A work item"
statuses:
  - todo_hard
  - todo_soft
  - in_progress
  - needs_human_review
  - done
  - wont_do
  - deleted
stop_hook:
  blocking_statuses:
    - todo_hard
    - todo_soft
  resolved_statuses:
    - done
    - wont_do
    - deleted
  human_only_statuses:
    - deleted
well_known_tags: []
actor_resolution:
  agent_usernames:
    - "*_agent"
lamport_branches:
  - dev
  - main
`;

/**
 * The governance template `htrac init` installs when the repository has none: the real
 * project's template (store.md §5.2) without its hook-specific extras.
 */
export const TEMPLATE_CONFIG_YAML = `kinds:
  invariant:
    prefix: INV
    allowed_statuses: [satisfied, pending_validation, violated, needs_human_review, deleted]
    deprecated_statuses: [holding]
    description: "Discovered invariant with root cause analysis"
    fields_schema:
      statement:
        type: text
        required: true
        description: "The invariant being tracked"
      root_cause:
        type: text
        required: true
        description: "Why the invariant was violated"
      fix:
        type: text
        description: "How the root cause was addressed"
      verification:
        type: text
        description: "How the fix was verified"
      regression_tests:
        type: list
        description: "Test cases that guard against recurrence"
      scope:
        type: text
        description: "Which languages/constructs are affected"
      progress_pct:
        type: integer
        min: 0
        max: 100
        description: "Percentage of affected scope addressed"
  meta_invariant:
    prefix: META
    allowed_statuses: [satisfied, pending_validation, violated, needs_human_review, deleted]
    deprecated_statuses: [holding]
    description: "A meta-invariant tracking cross-language coverage"
    fields_schema:
      statement:
        type: text
        required: true
        description: "The cross-cutting invariant"
      languages_done:
        type: list
        description: "Languages where the invariant holds"
      languages_remaining:
        type: list
        description: "Languages not yet checked or fixed"
      progress_pct:
        type: integer
        min: 0
        max: 100
        description: "Percentage of languages addressed"
  work_item:
    prefix: WI
    description: "A work item"
statuses:
  - todo_hard
  - todo_soft
  - in_progress
  - needs_human_review
  - holding
  - satisfied
  - pending_validation
  - violated
  - done
  - wont_do
  - deleted
stop_hook:
  blocking_statuses:
    - todo_hard
    - todo_soft
    - violated
    - pending_validation
  resolved_statuses:
    - done
    - wont_do
    - deleted
    - satisfied
    - holding
  human_only_statuses:
    - deleted
well_known_tags: []
actor_resolution:
  agent_usernames:
    - "*_agent"
lamport_branches:
  - dev
  - main
`;

const FIELD_TYPES: FieldType[] = ["text", "integer", "list", "boolean"];

function pySet(items: string[]): string {
  return `{${[...items].sort().map(pyStrRepr).join(", ")}}`;
}

function typeName(v: YamlValue | undefined): string {
  if (v === null || v === undefined) return "NoneType";
  if (typeof v === "string") return "str";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number" || typeof v === "bigint") return Number.isInteger(Number(v)) ? "int" : "float";
  if (Array.isArray(v)) return "list";
  if (isMap(v)) return "dict";
  return "float";
}

function strList(v: YamlValue | undefined): string[] | null {
  if (!Array.isArray(v)) return null;
  return v.map((x) => pyStr(x));
}

/**
 * Build and validate a config from parsed YAML (store.md §5.1).
 * @param raw the YAML document (a mapping; anything else counts as `{}`)
 * @param source shown in error messages
 * @throws ConfigValidationError with the reference's messages
 */
export function configFromYaml(raw: YamlValue, source: string): TrackerConfig {
  const data: YamlMap = isMap(raw) ? raw : (Object.create(null) as YamlMap);
  const fail = (msg: string): never => {
    throw new ConfigValidationError(`${source}: ${msg}`, source.startsWith("<") ? undefined : source);
  };
  const kinds: KindConfig[] = [];
  const rawKinds = data.kinds;
  if (rawKinds !== undefined && rawKinds !== null && !isMap(rawKinds)) fail("'kinds' must be a mapping");
  const kindsMap: YamlMap = isMap(rawKinds) ? rawKinds : (Object.create(null) as YamlMap);
  for (const name of Object.keys(kindsMap)) {
    const k = kindsMap[name];
    if (!isMap(k)) fail(`Kind '${name}' must be a dict, got ${typeName(k)}`);
    const kk = k as YamlMap;
    let allowed: string[] | undefined;
    if (kk.allowed_statuses !== undefined && kk.allowed_statuses !== null) {
      const l = strList(kk.allowed_statuses);
      if (!l) fail(`Kind '${name}': allowed_statuses must be a list`);
      allowed = l!;
    }
    let deprecated: string[] = [];
    if (kk.deprecated_statuses !== undefined && kk.deprecated_statuses !== null) {
      const l = strList(kk.deprecated_statuses);
      if (!l) fail(`Kind '${name}': deprecated_statuses must be a list`);
      deprecated = l!;
    }
    const schema: [string, FieldSchema][] = [];
    const rs = kk.fields_schema;
    if (isMap(rs)) {
      for (const f of Object.keys(rs)) {
        const fs0 = rs[f];
        if (!isMap(fs0)) fail(`Field schema for '${f}' must be a dict, got ${typeName(fs0)}`);
        const fsm = fs0 as YamlMap;
        const type = pyStr(fsm.type ?? "text") as FieldType;
        if (!FIELD_TYPES.includes(type)) {
          fail(`Field schema for '${f}': type must be one of text, integer, list, boolean, got '${type}'`);
        }
        const min = fsm.min === undefined || fsm.min === null ? undefined : Number(fsm.min);
        const max = fsm.max === undefined || fsm.max === null ? undefined : Number(fsm.max);
        if ((min !== undefined || max !== undefined) && type !== "integer") {
          fail(`Field schema for '${f}': min/max only apply to integer fields, not ${type}`);
        }
        schema.push([
          f,
          {
            type,
            required: fsm.required === true,
            description:
              fsm.description === undefined || fsm.description === null ? "" : pyStr(fsm.description),
            ...(min !== undefined ? { min } : {}),
            ...(max !== undefined ? { max } : {}),
          },
        ]);
      }
    }
    kinds.push({
      name,
      prefix:
        kk.prefix === undefined || kk.prefix === null ? name.toUpperCase().slice(0, 3) : pyStr(kk.prefix),
      description: kk.description === undefined || kk.description === null ? "" : pyStr(kk.description),
      ...(allowed ? { allowed_statuses: allowed } : {}),
      deprecated_statuses: deprecated,
      fields_schema: schema,
    });
  }
  const statuses = strList(data.statuses);
  if (!statuses || statuses.length === 0) fail("'statuses' must be a non-empty list");
  const sh: YamlMap = isMap(data.stop_hook) ? data.stop_hook : (Object.create(null) as YamlMap);
  const blocking =
    sh.blocking_statuses === undefined ? ["todo_hard", "todo_soft"] : strList(sh.blocking_statuses);
  if (!blocking || blocking.length === 0) fail("'stop_hook.blocking_statuses' must be a non-empty list");
  const resolved =
    sh.resolved_statuses === undefined ? ["done", "wont_do", "deleted"] : strList(sh.resolved_statuses);
  if (!resolved) fail("'stop_hook.resolved_statuses' must be a list");
  const humanOnly = sh.human_only_statuses === undefined ? ["deleted"] : strList(sh.human_only_statuses);
  if (!humanOnly) fail("'stop_hook.human_only_statuses' must be a list");
  const known = new Set(statuses!);
  for (const [label, list] of [
    ["blocking_statuses", blocking!],
    ["resolved_statuses", resolved!],
    ["human_only_statuses", humanOnly!],
  ] as const) {
    for (const s of list) if (!known.has(s)) fail(`${label} references unknown status '${s}'`);
  }
  const br = blocking!.filter((s) => resolved!.includes(s));
  if (br.length) fail(`blocking_statuses and resolved_statuses overlap: ${pySet(br)}`);
  const hb = humanOnly!.filter((s) => blocking!.includes(s));
  if (hb.length) fail(`human_only_statuses and blocking_statuses overlap: ${pySet(hb)}`);
  for (const k of kinds) {
    for (const s of k.allowed_statuses ?? []) {
      if (!known.has(s)) fail(`Kind '${k.name}': allowed_statuses references unknown status '${s}'`);
    }
    for (const s of k.deprecated_statuses) {
      if (!known.has(s)) fail(`Kind '${k.name}': deprecated_statuses references unknown status '${s}'`);
    }
    const ov = k.deprecated_statuses.filter((s) => (k.allowed_statuses ?? []).includes(s));
    if (ov.length) fail(`Kind '${k.name}': deprecated_statuses and allowed_statuses overlap: ${pySet(ov)}`);
  }
  const scopeRaw = sh.scope === undefined || sh.scope === null ? "all" : pyStr(sh.scope);
  if (scopeRaw !== "all" && scopeRaw !== "workspace") {
    fail(`'stop_hook.scope' must be 'all' or 'workspace', got '${scopeRaw}'`);
  }
  const ar: YamlMap = isMap(data.actor_resolution) ? data.actor_resolution : (Object.create(null) as YamlMap);
  const agents = ar.agent_usernames === undefined ? ["*_agent"] : strList(ar.agent_usernames);
  if (!agents || agents.length === 0) fail("'actor_resolution.agent_usernames' must be a non-empty list");
  const branches = data.lamport_branches === undefined ? ["dev", "main"] : strList(data.lamport_branches);
  if (!branches || branches.length === 0) fail("'lamport_branches' must be a non-empty list");
  return {
    kinds,
    statuses: statuses!,
    blocking_statuses: blocking!,
    resolved_statuses: resolved!,
    human_only_statuses: humanOnly!,
    scope: scopeRaw as "all" | "workspace",
    well_known_tags: strList(data.well_known_tags) ?? [],
    agent_usernames: agents!,
    lamport_branches: branches!,
    source,
  };
}

/** Options for `loadConfig`. */
export interface LoadConfigOptions {
  /**
   * Root of host-protected configs (default `/etc/hypergumbo-tracker`). Only consulted when
   * the directory exists and the config dir is inside a git repository (store.md §5.1).
   */
  protectedRoot?: string;
}

/**
 * Load the config for a tracker (store.md §5.1).
 * @param configDir the config directory, `<root>/tracker` (shared by all tiers)
 * @returns the validated config (`source` names the file used)
 * @throws ConfigValidationError (invalid YAML or rules), ProtectedConfigError
 */
export function loadConfig(configDir: string, opts: LoadConfigOptions = {}): TrackerConfig {
  const protectedRoot = opts.protectedRoot ?? "/etc/hypergumbo-tracker";
  if (fs.existsSync(protectedRoot)) {
    const repo = findRepoRoot(configDir);
    if (repo) {
      const id = repoId(repo);
      let entries: string[] = [];
      try {
        entries = fs.readdirSync(protectedRoot).filter((e) => e.startsWith(id));
      } catch {
        entries = [];
      }
      const withConfig = entries.filter((e) => fs.existsSync(path.join(protectedRoot, e, "config.yaml")));
      if (withConfig.length > 1) {
        throw new ProtectedConfigError(
          `Protected config: several directories under ${protectedRoot} match repo id ${id} (${withConfig.join(", ")}). Refusing to choose.`,
        );
      }
      if (withConfig.length === 0) {
        throw new ProtectedConfigError(
          `Protected config: ${protectedRoot} exists but has no ${id}_*/config.yaml for this repository. Refusing to fall back to the in-repo config.`,
        );
      }
      return readConfigFile(path.join(protectedRoot, withConfig[0], "config.yaml"));
    }
  }
  for (const name of ["config.yaml", "config.yaml.template"]) {
    const p = path.join(configDir, name);
    if (fs.existsSync(p)) return readConfigFile(p);
  }
  return configFromYaml(parseYamlDocument(DEFAULT_CONFIG_YAML), "<built-in defaults>");
}

/**
 * The config a session falls back to when the tracker's config is invalid (`OpenOptions.
 * configFallback`): the config template when there is a valid one, else the built-in
 * defaults. Never throws.
 * @param configDir the config directory, `<root>/tracker`
 */
export function fallbackConfig(configDir: string): TrackerConfig {
  try {
    const p = path.join(configDir, "config.yaml.template");
    if (fs.existsSync(p)) return readConfigFile(p);
  } catch {
    /* an invalid template too: the defaults */
  }
  return configFromYaml(parseYamlDocument(DEFAULT_CONFIG_YAML), "<built-in defaults>");
}

/**
 * What the in-repo config files are on disk (`config.yaml` and its template: device, inode,
 * size, mtime, ctime; "-" when missing), to notice a change without reading them.
 */
export function configSignature(configDir: string): string {
  return ["config.yaml", "config.yaml.template"]
    .map((n) => {
      const st = fs.statSync(path.join(configDir, n), { throwIfNoEntry: false });
      return st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : "-";
    })
    .join(" ");
}

function readConfigFile(p: string): TrackerConfig {
  let text: string;
  try {
    text = fs.readFileSync(p, "utf8");
  } catch (e) {
    throw new ConfigValidationError(`${p}: cannot read config: ${(e as Error).message}`, p);
  }
  let raw: YamlValue;
  try {
    raw = parseYamlDocument(text);
  } catch (e) {
    throw new ConfigValidationError(`${p}: invalid YAML: ${(e as Error).message}`, p);
  }
  return configFromYaml(raw, p);
}

/** Look up a kind by name. */
export function kindByName(cfg: TrackerConfig, name: string): KindConfig | undefined {
  return cfg.kinds.find((k) => k.name === name);
}

/** Look up the kind an ID prefix maps to (`INV` → invariant). */
export function kindByPrefix(cfg: TrackerConfig, prefix: string): KindConfig | undefined {
  return cfg.kinds.find((k) => k.prefix === prefix);
}

/**
 * The status a new item of `kind` gets when none is given (store.md §5.3): the first
 * blocking status the kind allows, else the kind's first allowed status, else the first
 * blocking status.
 */
export function defaultStatus(cfg: TrackerConfig, kind: KindConfig): string {
  if (kind.allowed_statuses && kind.allowed_statuses.length > 0) {
    return cfg.blocking_statuses.find((s) => kind.allowed_statuses!.includes(s)) ?? kind.allowed_statuses[0];
  }
  return cfg.blocking_statuses[0];
}

/** Statuses selectable for a kind (its allowed list, else every configured status). */
export function statusesForKind(cfg: TrackerConfig, kind: KindConfig | undefined): string[] {
  return kind?.allowed_statuses ?? cfg.statuses;
}
