/**
 * `validate` (store.md §5.4, cli.md §10): per-file checks (format, op shape, schema,
 * nonce-on-every-line, key order, compiled status, optional lock replay) and cross-file
 * checks (duplicate IDs across tiers, dangling / cross-tier references, ID prefix vs kind,
 * isbefore cycles, config vs template kinds, near-duplicates).
 */
import fs from "node:fs";
import path from "node:path";
import { compileOps, type Item, parseAtMicros, TIERS, type Tier } from "./compile.js";
import { configFromYaml, kindByName, kindByPrefix, type TrackerConfig } from "./config.js";
import { type Op, parseOpLog, parseYamlDocument } from "./oplog.js";
import { idFromFileName } from "./paths.js";
import { canonicalOpKeys } from "./serialize.js";
import { popcount32, simhashHalves, simhashText } from "./simhash.js";
import { decodeStrict } from "./tierstore.js";
import type { Tracker } from "./tracker.js";
import { isMap, isPyInt, PyFloat, pyRepr, pyStr, type YamlValue } from "./values.js";

/** Options of `validate`. */
export interface ValidateOptions {
  /** Near-duplicate warnings (SimHash ≤ 8 bits). */
  similar?: boolean;
  /** Warnings become errors (full mode only). */
  strict?: boolean;
  /** Replay ops and warn about agent updates of locked fields. */
  checkLocks?: boolean;
}

/** Validation outcome: errors fail, warnings don't (unless strict). */
export interface ValidationReport {
  errors: string[];
  warnings: string[];
}

const KNOWN_OPS = new Set([
  "create",
  "update",
  "discuss",
  "discuss_clear",
  "discuss_summarize",
  "lock",
  "unlock",
  "promote",
  "demote",
  "stealth",
  "unstealth",
  "reconcile",
  "edit-mode-on",
  "edit-mode-off",
  "delete-msg",
  "undelete-msg",
  "edit-msg-text",
]);
const REQUIRED = ["op", "at", "by", "clock", "nonce"];

/** Levenshtein distance (for "Did you mean" suggestions). */
export function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

function typeOk(type: string, v: YamlValue): boolean {
  if (v === null) return true;
  switch (type) {
    case "text":
      return typeof v === "string";
    case "integer":
      return isPyInt(v) && typeof v !== "boolean";
    case "list":
      return Array.isArray(v);
    case "boolean":
      return typeof v === "boolean";
    default:
      return true;
  }
}

function pyTypeName(v: YamlValue): string {
  if (typeof v === "string") return "str";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number" || typeof v === "bigint") return "int";
  if (v instanceof PyFloat) return "float";
  if (Array.isArray(v)) return "list";
  if (isMap(v)) return "dict";
  return "NoneType";
}

function priorityOk(p: YamlValue | undefined): boolean {
  return typeof p === "number" && Number.isInteger(p) && p >= 0 && p <= 4;
}

/**
 * Validate one op file's text (per-file checks of store.md §5.4).
 * @param name file name used as message prefix
 * @returns errors and warnings, plus the compiled item when it compiles
 */
export function validateText(
  text: string,
  name: string,
  cfg: TrackerConfig,
  opts: ValidateOptions = {},
): ValidationReport & { item: Item | null; ops: Op[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const pre = (m: string) => `${name}: ${m}`;
  const res = parseOpLog(text, { file: name });
  // (the parser's "<file>:<line>: " — or, for a top level that is not a list, the reference's
  // "<file>: " — prefix becomes "line <n>: " after the reference's text)
  for (const p of res.problems) {
    const at = [`${name}:${p.line}: `, `${name}: `].find((x) => p.message.startsWith(x));
    let m = at ? p.message.slice(at.length) : p.message;
    if (m.startsWith("malformed YAML: ")) m = m.slice("malformed YAML: ".length);
    errors.push(pre(`malformed YAML: line ${p.line}: ${m}`));
  }
  if (res.problems.some((p) => p.fatal) || res.problems.length > 0)
    return { errors, warnings, item: null, ops: res.ops };
  const ops = res.ops;
  if (ops.length === 0) {
    errors.push(pre("empty ops file"));
    return { errors, warnings, item: null, ops };
  }
  if (ops[0].op !== "create") errors.push(pre(`first op must be 'create', got ${pyRepr(ops[0].op ?? null)}`));
  ops.forEach((op, i) => {
    for (const k of REQUIRED) if (!(k in op)) errors.push(pre(`op ${i}: missing required field '${k}'`));
    if (typeof op.op === "string" && !KNOWN_OPS.has(op.op))
      errors.push(pre(`op ${i}: unknown op type '${op.op}'`));
    if ("at" in op && parseAtMicros(op.at) === null)
      errors.push(pre(`op ${i}: invalid timestamp '${pyStr(op.at)}'`));
    const expected = canonicalOpKeys(op);
    const got = Object.keys(op);
    if (got.join(",") !== expected.join(",")) {
      warnings.push(
        pre(`op ${i}: non-canonical field order (got ${pyRepr(got)}, expected ${pyRepr(expected)})`),
      );
    }
    if (op.op === "create" && isMap(op.data)) {
      const d = op.data;
      const kind = typeof d.kind === "string" ? kindByName(cfg, d.kind) : undefined;
      if (!kind) errors.push(pre(`op ${i}: unknown kind '${pyStr(d.kind ?? null)}'`));
      if (d.status !== undefined && !cfg.statuses.includes(pyStr(d.status))) {
        errors.push(pre(`op ${i}: unknown status '${pyStr(d.status)}'. Valid: ${pyRepr(cfg.statuses)}`));
      }
      if (d.priority !== undefined && !priorityOk(d.priority)) {
        errors.push(pre(`op ${i}: priority must be int 0-4, got ${pyRepr(d.priority)}`));
      }
      if (kind && kind.fields_schema.length > 0) {
        const fields = isMap(d.fields) ? d.fields : {};
        const declared = kind.fields_schema.map(([f]) => f);
        for (const [f, s] of kind.fields_schema) {
          const v = (fields as Record<string, YamlValue>)[f];
          if (s.required && (v === undefined || v === null))
            errors.push(pre(`op ${i}: required field '${f}' missing`));
          if (v !== undefined && !typeOk(s.type, v)) {
            errors.push(pre(`op ${i}: field '${f}' expects ${s.type}, got ${pyTypeName(v)}`));
          }
          if (s.type === "integer" && typeof v === "number") {
            if (s.min !== undefined && v < s.min)
              errors.push(pre(`op ${i}: field '${f}': value ${v} below minimum ${s.min}`));
            if (s.max !== undefined && v > s.max)
              errors.push(pre(`op ${i}: field '${f}': value ${v} above maximum ${s.max}`));
          }
        }
        for (const f of Object.keys(fields)) {
          if (declared.includes(f)) continue;
          const best = declared
            .map((x) => ({ x, d: levenshtein(f, x) }))
            .filter((c) => c.d <= 3)
            .sort((a, b) => a.d - b.d)[0];
          warnings.push(pre(`op ${i}: unknown field '${f}'${best ? `. Did you mean '${best.x}'?` : ""}`));
        }
      }
    }
    if (op.op === "update" && isMap(op.set)) {
      const s = op.set;
      if ("status" in s && !cfg.statuses.includes(pyStr(s.status))) {
        errors.push(pre(`op ${i}: unknown status '${pyStr(s.status)}'. Valid: ${pyRepr(cfg.statuses)}`));
      }
      if ("priority" in s && !priorityOk(s.priority))
        errors.push(pre(`op ${i}: priority must be int 0-4, got ${pyRepr(s.priority)}`));
    }
  });
  // Nonce on every line: ops delimited by lines starting "- op:". Lines end as Python's
  // universal newlines read them (the reference opens the file in text mode): \r\n and \r
  // too, so a file checked out with CRLF endings is not one warning per line.
  const lines = text.split(/\r\n?|\n/);
  let opIdx = -1;
  let nonce: string | null = null;
  lines.forEach((line, n) => {
    if (line.startsWith("- op:")) {
      opIdx++;
      nonce = ops[opIdx] ? pyStr(ops[opIdx].nonce ?? "") : null;
    }
    if (opIdx < 0 || line.trim() === "") return;
    const m = / {2}# ([0-9a-f]{4})$/.exec(line);
    if (!m) warnings.push(pre(`line ${n + 1}: missing nonce comment (expected '  # ${nonce ?? "abcd"}')`));
    else if (nonce !== null && m[1] !== nonce)
      warnings.push(pre(`line ${n + 1}: nonce comment '${m[1]}' does not match op nonce '${nonce}'`));
  });
  if (opts.checkLocks) {
    const locked = new Set<string>();
    ops.forEach((op, i) => {
      if (op.op === "lock" || op.op === "unlock") {
        const names = Array.isArray(op[op.op]) ? (op[op.op] as YamlValue[]) : [];
        for (const n of names) {
          if (op.op === "lock") locked.add(pyStr(n));
          else locked.delete(pyStr(n));
        }
      }
      if (op.op === "update" && op.by === "agent") {
        const keys = new Set<string>();
        for (const part of ["set", "add", "remove"])
          if (isMap(op[part])) for (const k of Object.keys(op[part] as object)) keys.add(k);
        const hit = [...keys].filter((k) => locked.has(k));
        if (hit.length) warnings.push(pre(`op ${i}: agent update touches locked field(s): ${pyRepr(hit)}`));
      }
    });
  }
  let item: Item | null = null;
  try {
    const id = idFromFileName(name) ?? name;
    item = compileOps(ops, id);
    const kind = kindByName(cfg, item.kind);
    if (kind?.allowed_statuses) {
      const ok = [...kind.allowed_statuses, ...kind.deprecated_statuses];
      if (!ok.includes(item.status)) {
        errors.push(
          pre(
            `compiled status '${item.status}' not allowed for kind '${kind.name}'. Allowed: ${pyRepr(kind.allowed_statuses)}`,
          ),
        );
      }
    }
  } catch (e) {
    errors.push(pre((e as Error).message));
  }
  return { errors, warnings, item, ops };
}

/**
 * Validate given files on their own (pre-commit form; cli.md §10): per-file checks and
 * `--check-locks`; no cross-file checks, no `--strict`/`--similar`.
 */
export function validateFiles(
  cfg: TrackerConfig,
  files: string[],
  opts: ValidateOptions = {},
): ValidationReport {
  const out: ValidationReport = { errors: [], warnings: [] };
  for (const f of files) {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(f);
    } catch {
      out.errors.push(`${f}: file not found`);
      continue;
    }
    const dec = decodeStrict(buf);
    if ("badByte" in dec) {
      out.errors.push(`${path.basename(f)}: malformed YAML: invalid UTF-8 at byte ${dec.badByte}`);
      continue;
    }
    const r = validateText(dec.text, path.basename(f), cfg, { checkLocks: opts.checkLocks });
    out.errors.push(...r.errors);
    out.warnings.push(...r.warnings);
  }
  return out;
}

/**
 * Validate the whole tracker (store.md §5.4): every op file of the three tiers plus
 * cross-file checks.
 */
export function validateTracker(tracker: Tracker, opts: ValidateOptions = {}): ValidationReport {
  const cfg = tracker.config;
  const errors: string[] = [];
  const warnings: string[] = [];
  const byTier: Record<Tier, Map<string, Item>> = {
    canonical: new Map(),
    workspace: new Map(),
    stealth: new Map(),
  };
  for (const t of TIERS) {
    const dir = tracker.paths.tierDirs[t];
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      names = [];
    }
    for (const n of names) {
      const id = idFromFileName(n);
      if (!id) continue;
      const r = validateFiles(cfg, [path.join(dir, n)], { checkLocks: opts.checkLocks });
      errors.push(...r.errors);
      warnings.push(...r.warnings);
      const it = tracker.tiers[t].item(id);
      if (it) byTier[t].set(id, it);
    }
  }
  // Duplicate IDs across tiers.
  const all = new Map<string, Tier[]>();
  for (const t of TIERS) for (const id of byTier[t].keys()) all.set(id, [...(all.get(id) ?? []), t]);
  for (const [id, tiers] of all)
    if (tiers.length > 1) errors.push(`duplicate ID ${id} in tiers: ${tiers.join(", ")}`);
  // References.
  const shared = new Set([...byTier.canonical.keys(), ...byTier.workspace.keys()]);
  const stealth = new Set(byTier.stealth.keys());
  for (const t of TIERS) {
    for (const [id, it] of byTier[t]) {
      const refs: [string, string][] = [];
      if (it.parent) refs.push(["parent", it.parent]);
      for (const f of ["isbefore", "duplicate_of", "not_duplicate_of"] as const)
        for (const r of it[f]) refs.push([f, r]);
      for (const [field, ref] of refs) {
        if (t === "stealth") {
          if (!shared.has(ref) && !stealth.has(ref))
            errors.push(`${id}: dangling ${field} reference '${ref}'`);
        } else if (!shared.has(ref)) {
          if (stealth.has(ref)) {
            errors.push(
              `${id}: cross-tier ${field} reference '${ref}' from ${t} to stealth (stealth is gitignored; CI cannot resolve this)`,
            );
          } else errors.push(`${id}: dangling ${field} reference '${ref}'`);
        }
      }
      const prefix = id.split("-")[0];
      const pk = kindByPrefix(cfg, prefix);
      if (pk && pk.name !== it.kind) {
        errors.push(`${id}: ID prefix '${prefix}' suggests kind '${pk.name}' but item kind is '${it.kind}'`);
      }
    }
  }
  // Cycles in isbefore.
  const graph = new Map<string, string[]>();
  for (const t of TIERS) for (const [id, it] of byTier[t]) if (!graph.has(id)) graph.set(id, it.isbefore);
  const seenCycles = new Set<string>();
  const state = new Map<string, number>();
  const stack: string[] = [];
  const dfs = (n: string) => {
    state.set(n, 1);
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (!graph.has(m)) continue;
      if (state.get(m) === 1) {
        const cyc = stack.slice(stack.indexOf(m));
        const key = [...cyc].sort().join(",");
        if (!seenCycles.has(key)) {
          seenCycles.add(key);
          errors.push(`cycle in isbefore links: ${[...cyc, m].join(" -> ")}`);
        }
      } else if (!state.has(m)) dfs(m);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of graph.keys()) if (!state.has(n)) dfs(n);
  // Config vs template.
  const cfgFile = path.join(tracker.paths.configDir, "config.yaml");
  const tplFile = path.join(tracker.paths.configDir, "config.yaml.template");
  if (fs.existsSync(cfgFile) && fs.existsSync(tplFile)) {
    try {
      const a = configFromYaml(parseYamlDocument(fs.readFileSync(cfgFile, "utf8")), cfgFile);
      const b = configFromYaml(parseYamlDocument(fs.readFileSync(tplFile, "utf8")), tplFile);
      const ka = a.kinds.map((k) => k.name);
      const kb = b.kinds.map((k) => k.name);
      for (const k of ka)
        if (!kb.includes(k)) warnings.push(`kind '${k}' in config.yaml but not in config.yaml.template`);
      for (const k of kb)
        if (!ka.includes(k)) warnings.push(`kind '${k}' in config.yaml.template but not in config.yaml`);
    } catch (e) {
      warnings.push(`cannot compare config.yaml with its template: ${(e as Error).message}`);
    }
  }
  if (opts.similar) {
    const items = [...byTier.canonical.values(), ...byTier.workspace.values(), ...byTier.stealth.values()];
    // Every pair is compared (10k items: 50M pairs), as two 32-bit halves: integer XOR and
    // popcount, where BigInt arithmetic took ~45 s; the duplicate marks only matter for the
    // few pairs that are close.
    const n = items.length;
    const his = new Uint32Array(n);
    const los = new Uint32Array(n);
    items.forEach((it, i) => {
      [his[i], los[i]] = simhashHalves(simhashText(it.title, it.description, it.fields));
    });
    for (let i = 0; i < n; i++) {
      const hi = his[i];
      const lo = los[i];
      for (let j = i + 1; j < n; j++) {
        const d = popcount32(hi ^ his[j]) + popcount32(lo ^ los[j]);
        if (d > 8) continue;
        const a = items[i];
        const b = items[j];
        if (a.duplicate_of.includes(b.id) || b.duplicate_of.includes(a.id)) continue;
        if (a.not_duplicate_of.includes(b.id) || b.not_duplicate_of.includes(a.id)) continue;
        warnings.push(`near-duplicate: ${a.id} and ${b.id} (SimHash distance: ${d} bits)`);
      }
    }
  }
  if (opts.strict) return { errors: [...errors, ...warnings], warnings: [] };
  return { errors, warnings };
}
