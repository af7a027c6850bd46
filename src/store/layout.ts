/**
 * The tracker's on-disk layout as `init`, `setup` and `fork-setup` create and repair it
 * (cli.md §2.22, store.md §1): tier directories (group-writable, setgid), the `.gitattributes`
 * and `.gitignore` files, `config.yaml` from its template (read-only 0444), the repository's
 * `merge=union` rules, git's diff drivers for op files and the stop-hook scope. Every function
 * is idempotent and never touches an op file.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { DEFAULT_CONFIG_YAML, TEMPLATE_CONFIG_YAML } from "./config.js";
import { parseYamlDocument, yamlLib } from "./oplog.js";
import { trackerPaths } from "./paths.js";

/** Write `content` to `file` unless it exists (parents created). @returns whether it wrote */
function writeIfMissing(file: string, content: string): boolean {
  if (fs.existsSync(file)) return false;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return true;
}

/**
 * Make sure a line-oriented file (a `.gitattributes`) holds `line`, compared trimmed: append
 * it when missing, never rewriting what is there. @returns whether it changed the file
 */
function ensureLine(file: string, line: string): boolean {
  const cur = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  if (cur.split("\n").some((l) => l.trim() === line.trim())) return false;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${cur}${cur === "" || cur.endsWith("\n") ? "" : "\n"}${line}\n`);
  return true;
}

/**
 * Create what is missing of the tracker skeleton under `root` (the `.agent` directory): the
 * three tier directories (mode 2775 when this user owns them), `.gitattributes` with
 * `merge=union` in both op directories, the gitignores of the stealth tier, the config
 * directory and the workspace, and `config.yaml.template`. Existing files are left as they are.
 * @returns what was created, relative to the repository (the parent of `root`)
 */
export function scaffoldTracker(root: string): string[] {
  const p = trackerPaths(root);
  const created: string[] = [];
  for (const d of [p.tierDirs.canonical, p.tierDirs.workspace, p.tierDirs.stealth]) {
    if (!fs.existsSync(d)) {
      fs.mkdirSync(d, { recursive: true });
      try {
        fs.chmodSync(d, 0o2775);
      } catch {
        /* not owner */
      }
      created.push(path.relative(path.dirname(root), d));
    }
  }
  const files: [string, string][] = [
    [path.join(p.tierDirs.canonical, ".gitattributes"), "*.ops merge=union\n"],
    [path.join(p.tierDirs.workspace, ".gitattributes"), "*.ops merge=union\n*.ops diff=tracker-ops\n"],
    [path.join(p.tierDirs.stealth, ".gitignore"), "*.ops\n"],
    [path.join(p.configDir, ".gitignore"), "config.yaml\ntag_catalog.yaml\n"],
    [path.join(p.workspaceRoot, ".gitignore"), "tui_preferences.json\n.edit-mode/\n"],
    [path.join(p.configDir, "config.yaml.template"), TEMPLATE_CONFIG_YAML],
  ];
  for (const [f, content] of files)
    if (writeIfMissing(f, content)) created.push(path.relative(path.dirname(root), f));
  return created;
}

/**
 * Create `config.yaml` from `config.yaml.template` when it does not exist, read-only (0444),
 * with `actor_resolution.agent_usernames` set to `[agentPattern]` when that is not the
 * default `*_agent` (the template's comments kept).
 * @returns whether it created the file
 * @throws when the template cannot be read (scaffold first)
 */
export function installConfig(root: string, agentPattern = "*_agent"): boolean {
  const p = trackerPaths(root);
  const cfg = path.join(p.configDir, "config.yaml");
  if (fs.existsSync(cfg)) return false;
  let text = fs.readFileSync(path.join(p.configDir, "config.yaml.template"), "utf8");
  if (agentPattern !== "*_agent") {
    const doc = yamlLib().parseDocument(text);
    doc.setIn(["actor_resolution", "agent_usernames"], [agentPattern]);
    text = doc.toString();
  }
  fs.writeFileSync(cfg, text);
  fs.chmodSync(cfg, 0o444);
  return true;
}

/**
 * Set `stop_hook.scope` in `config.yaml` (`fork-setup`: `workspace`), keeping the file's
 * comments and key order (the reference re-dumps it, losing both); a missing config is made
 * from the template (else the built-in defaults) first. The file is made writable for the
 * write and read-only (0444) again after it.
 * @throws when the result would not parse, or the file cannot be written (not its owner)
 */
export function setStopHookScope(root: string, scope: string): void {
  const configDir = trackerPaths(root).configDir;
  const cfg = path.join(configDir, "config.yaml");
  if (!fs.existsSync(cfg)) {
    const tpl = path.join(configDir, "config.yaml.template");
    fs.mkdirSync(configDir, { recursive: true });
    fs.writeFileSync(cfg, fs.existsSync(tpl) ? fs.readFileSync(tpl, "utf8") : DEFAULT_CONFIG_YAML);
  }
  const doc = yamlLib().parseDocument(fs.readFileSync(cfg, "utf8"));
  doc.setIn(["stop_hook", "scope"], scope);
  const text = doc.toString();
  parseYamlDocument(text);
  try {
    fs.chmodSync(cfg, 0o644);
  } catch {
    /* not owner: the write below reports it */
  }
  fs.writeFileSync(cfg, text);
  fs.chmodSync(cfg, 0o444);
}

/**
 * Add the repository's `.gitattributes` rules for op logs (`merge=union`, `diff=tracker`,
 * linguist-generated) where missing, as the reference's setup writes them.
 * @param repo the repository root (the parent of `.agent`)
 * @returns the lines added
 */
export function ensureRepoGitattributes(repo: string): string[] {
  const ga = path.join(repo, ".gitattributes");
  return [
    ".agent/tracker/.ops/.*.ops             linguist-generated  merge=union  diff=tracker",
    ".agent/tracker-workspace/.ops/.*.ops   linguist-generated  merge=union  diff=tracker",
  ].filter((l) => ensureLine(ga, l));
}

/**
 * Make the tier directories group-writable with setgid (2775 bits) where this user owns them,
 * so agents in the group can add op files (store.md §6).
 * @returns one line per directory that was not: `fixed: <dir>`, `not group-writable/setgid:
 *   <dir>` (another owner), `missing: <dir>`
 */
export function fixTierDirModes(root: string): string[] {
  const out: string[] = [];
  for (const d of Object.values(trackerPaths(root).tierDirs)) {
    try {
      const st = fs.statSync(d);
      if ((st.mode & 0o2070) !== 0o2070) {
        if (typeof process.getuid === "function" && st.uid === process.getuid()) {
          fs.chmodSync(d, (st.mode | 0o2070) & 0o7777);
          out.push(`fixed: ${d}`);
        } else out.push(`not group-writable/setgid: ${d}`);
      }
    } catch {
      out.push(`missing: ${d}`);
    }
  }
  return out;
}

/**
 * Point git's diff drivers for op files (`diff=tracker` in the repository's .gitattributes,
 * `diff=tracker-ops` in the workspace's, store.md §1) at `command` where they are not set in
 * the repository's git config; a driver already set (e.g. to the reference's shim) is left
 * as it is.
 * @param repo the repository root
 * @param command the textconv command line to set (git runs it with sh and the file as its
 *   argument), or undefined when there is none to offer (then unset drivers are reported)
 * @returns `ok` (both set), `fixed` (set now), `warn` (one left unset), with a line per driver
 */
export function ensureTextconvDrivers(
  repo: string,
  command: string | undefined,
): { status: "ok" | "fixed" | "warn"; details: string[] } {
  const git = (args: string[]) => spawnSync("git", args, { cwd: repo, encoding: "utf8", timeout: 5000 });
  const details: string[] = [];
  let status: "ok" | "fixed" | "warn" = "ok";
  for (const driver of ["tracker", "tracker-ops"]) {
    const key = `diff.${driver}.textconv`;
    const cur = git(["config", "--get", key]);
    if (cur.status === 0 && String(cur.stdout).trim() !== "") {
      details.push(`${key}: ${String(cur.stdout).trim()}`);
      continue;
    }
    if (command === undefined || git(["config", key, command]).status !== 0) {
      status = "warn";
      details.push(`${key}: not set`);
      continue;
    }
    if (status === "ok") status = "fixed";
    details.push(`set: ${key}`);
  }
  return { status, details };
}
