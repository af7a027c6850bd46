/**
 * The tag catalog `.agent/tracker/tag_catalog.yaml` (store.md §8.4): per-tag description,
 * first/last use, deprecation. Written like `yaml.safe_dump(sort_keys=False)` with tags
 * sorted by name, through a same-directory temp file and rename.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseYamlDocument } from "./oplog.js";
import { isMap, pyStr, type YamlValue } from "./values.js";
import { resolvesAsString11, resolvesAsString12 } from "./yaml11.js";

/** One catalog entry. */
export interface TagEntry {
  description: string;
  created_on: string | null;
  last_modified: string | null;
  last_used: string | null;
  deprecated: boolean;
  in_favor_of: string | null;
}

/** Tag name → entry. */
export type TagCatalog = Map<string, TagEntry>;

function str(v: YamlValue | undefined): string | null {
  return v === undefined || v === null ? null : pyStr(v);
}

/** Read the catalog (missing or unreadable file = empty catalog). */
export function loadTagCatalog(file: string): TagCatalog {
  const cat: TagCatalog = new Map();
  let raw: YamlValue;
  try {
    raw = parseYamlDocument(fs.readFileSync(file, "utf8"));
  } catch {
    return cat;
  }
  const tags = isMap(raw) ? raw.tags : null;
  if (!isMap(tags)) return cat;
  for (const name of Object.keys(tags)) {
    const e = tags[name];
    const m = isMap(e) ? e : {};
    const get = (k: string) => (m as Record<string, YamlValue>)[k];
    cat.set(name, {
      description: str(get("description")) ?? "",
      created_on: str(get("created_on")),
      last_modified: str(get("last_modified")),
      last_used: str(get("last_used")),
      deprecated: get("deprecated") === true,
      in_favor_of: str(get("in_favor_of")),
    });
  }
  return cat;
}

function scalar(v: string | boolean | null): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v === "") return "''";
  const plainOk =
    resolvesAsString11(v) &&
    resolvesAsString12(v) &&
    /^[A-Za-z0-9_./][A-Za-z0-9_./ ,()-]*$/.test(v) &&
    !v.endsWith(" ") &&
    !/: |#/.test(v);
  if (plainOk) return v;
  if (!/[\n'\x00-\x1f\x7f-\x9f]/.test(v)) return `'${v}'`;
  return JSON.stringify(v);
}

/** Serialise a catalog as the reference writes it. */
export function dumpTagCatalog(cat: TagCatalog): string {
  const names = [...cat.keys()].sort();
  if (names.length === 0) return "tags: {}\n";
  const lines = ["tags:"];
  for (const n of names) {
    const e = cat.get(n)!;
    lines.push(`  ${scalar(n)}:`);
    lines.push(`    description: ${scalar(e.description)}`);
    lines.push(`    created_on: ${scalar(e.created_on)}`);
    lines.push(`    last_modified: ${scalar(e.last_modified)}`);
    lines.push(`    last_used: ${scalar(e.last_used)}`);
    lines.push(`    deprecated: ${scalar(e.deprecated)}`);
    lines.push(`    in_favor_of: ${scalar(e.deprecated ? e.in_favor_of : null)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Write the catalog atomically (same-directory temp + rename). */
export function saveTagCatalog(file: string, cat: TagCatalog): void {
  const tmp = path.join(path.dirname(file), `.tag_catalog_${randomBytes(4).toString("hex")}.yaml`);
  fs.writeFileSync(tmp, dumpTagCatalog(cat));
  fs.renameSync(tmp, file);
}

/** A fresh entry. */
export function newTagEntry(at: string | null): TagEntry {
  return {
    description: "",
    created_on: at,
    last_modified: null,
    last_used: at,
    deprecated: false,
    in_favor_of: null,
  };
}

import type { Tier } from "./compile.js";
import { ValidationError } from "./errors.js";
import { parseOpLog } from "./oplog.js";
import type { Tracker } from "./tracker.js";

/** Tag names (store.md §5.3). */
export const TAG_RE = /^[a-z_][a-z0-9_]*$/;

const CATALOG_TIERS: Tier[] = ["canonical", "workspace"];

/** Tag usage counts over canonical ∪ workspace items (stealth excluded, cli.md §2.18). */
export function tagCounts(t: Tracker): Map<string, number> {
  const counts = new Map<string, number>();
  // (summaries carry the tags: no item is revived for a count)
  for (const it of t.summaries(CATALOG_TIERS))
    for (const tag of new Set(it.tags)) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  return counts;
}

/**
 * The catalog, backfilled on first use from create `data.tags` and update `add/set/remove.tags`
 * of canonical + workspace ops (store.md §8.4). Writes the file when it had to backfill.
 */
export function tagCatalog(t: Tracker): TagCatalog {
  const file = t.paths.tagCatalog;
  if (fs.existsSync(file)) return loadTagCatalog(file);
  const cat: TagCatalog = new Map();
  const seen = (tag: unknown, at: unknown) => {
    if (typeof tag !== "string" || typeof at !== "string") return;
    const e = cat.get(tag) ?? newTagEntry(null);
    if (e.created_on === null || at < e.created_on) e.created_on = at;
    if (e.last_used === null || at > e.last_used) e.last_used = at;
    cat.set(tag, e);
  };
  for (const tier of CATALOG_TIERS) {
    for (const id of t.tiers[tier].ids()) {
      const rec = t.tiers[tier].records.get(id);
      if (!rec) continue;
      let text: string;
      try {
        text = fs.readFileSync(rec.path, "utf8");
      } catch {
        continue;
      }
      for (const op of parseOpLog(text).ops) {
        const lists: unknown[] = [];
        if (op.op === "create" && isMap(op.data)) lists.push(op.data.tags);
        if (op.op === "update")
          for (const part of ["add", "set", "remove"])
            if (isMap(op[part])) lists.push((op[part] as Record<string, unknown>).tags);
        for (const l of lists) if (Array.isArray(l)) for (const tag of l) seen(tag, op.at);
      }
    }
  }
  try {
    saveTagCatalog(file, cat);
  } catch {
    /* read-only tracker: the catalog stays in memory */
  }
  return cat;
}

/** Record use of tags at `at` (after add/update); returns deprecation warnings. */
export function touchTags(t: Tracker, tags: string[], at: string): string[] {
  if (tags.length === 0) return [];
  const cat = tagCatalog(t);
  const warnings: string[] = [];
  for (const tag of tags) {
    const e = cat.get(tag) ?? newTagEntry(at);
    e.last_used = at;
    if (e.created_on === null) e.created_on = at;
    cat.set(tag, e);
    if (e.deprecated)
      warnings.push(`tag '${tag}' is deprecated${e.in_favor_of ? `; use ${e.in_favor_of} instead` : ""}`);
  }
  try {
    saveTagCatalog(t.paths.tagCatalog, cat);
  } catch {
    /* best effort */
  }
  return warnings;
}

/** Deprecation warnings for tags about to be used (without writing). */
export function deprecatedTagWarnings(t: Tracker, tags: string[]): string[] {
  if (tags.length === 0 || !fs.existsSync(t.paths.tagCatalog)) return [];
  const cat = loadTagCatalog(t.paths.tagCatalog);
  return tags
    .filter((tag) => cat.get(tag)?.deprecated)
    .map((tag) => {
      const f = cat.get(tag)!.in_favor_of;
      return `tag '${tag}' is deprecated${f ? `; use ${f} instead` : ""}`;
    });
}

/**
 * Rename a tag on every canonical/workspace item (one `update` op per item: add the new tag,
 * remove the old one) and in the catalog. @returns number of items changed
 */
export async function renameTag(t: Tracker, oldTag: string, newTag: string): Promise<number> {
  if (!TAG_RE.test(newTag))
    throw new ValidationError(`--new tag '${newTag}' does not match ^[a-z_][a-z0-9_]*$`);
  if (oldTag === newTag) return 0;
  let n = 0;
  for (const it of t.summaries(CATALOG_TIERS)) {
    if (!it.tags.includes(oldTag)) continue;
    await t.update(it.id, { add: { tags: [newTag] }, remove: { tags: [oldTag] } });
    n++;
  }
  const cat = tagCatalog(t);
  const old = cat.get(oldTag);
  const at = `${new Date(t.nowMs()).toISOString().slice(0, 19)}Z`;
  const entry = cat.get(newTag) ?? { ...(old ?? newTagEntry(at)) };
  entry.last_modified = at;
  cat.set(newTag, entry);
  cat.delete(oldTag);
  saveTagCatalog(t.paths.tagCatalog, cat);
  return n;
}

/** Set a tag's one-line description. */
export function describeTag(t: Tracker, tag: string, text: string): void {
  if (/[\r\n]/.test(text)) throw new ValidationError("tag description must be a single line");
  const cat = tagCatalog(t);
  const at = `${new Date(t.nowMs()).toISOString().slice(0, 19)}Z`;
  const e = cat.get(tag) ?? newTagEntry(null);
  e.description = text;
  e.last_modified = at;
  cat.set(tag, e);
  saveTagCatalog(t.paths.tagCatalog, cat);
}

/**
 * Mark a tag deprecated, optionally in favour of another (writers are then told to use it).
 * The tag itself is not checked (a legacy name that no longer matches may be deprecated).
 * @throws ValidationError when `inFavorOf` is not a valid tag name, or is the tag itself
 *   (stricter than the reference, which writes either into the catalog)
 */
export function deprecateTag(t: Tracker, tag: string, inFavorOf: string | null): void {
  if (inFavorOf !== null && !TAG_RE.test(inFavorOf))
    throw new ValidationError(`--in-favor-of tag '${inFavorOf}' does not match ^[a-z_][a-z0-9_]*$`);
  if (inFavorOf === tag) throw new ValidationError(`tag '${tag}' cannot be deprecated in favor of itself`);
  const cat = tagCatalog(t);
  const at = `${new Date(t.nowMs()).toISOString().slice(0, 19)}Z`;
  const e = cat.get(tag) ?? newTagEntry(null);
  e.deprecated = true;
  e.in_favor_of = inFavorOf;
  e.last_modified = at;
  cat.set(tag, e);
  saveTagCatalog(t.paths.tagCatalog, cat);
}
