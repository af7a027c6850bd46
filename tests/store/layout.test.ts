/**
 * The tracker layout functions behind init / setup / fork-setup (src/store/layout.ts): what
 * they create, that a second run changes nothing, and what they keep.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  ensureRepoGitattributes,
  fixTierDirModes,
  installConfig,
  loadConfig,
  scaffoldTracker,
  setStopHookScope,
  TEMPLATE_CONFIG_YAML,
  trackerPaths,
} from "../../src/index.js";
import { tmpDir } from "../helpers.js";

describe("tracker layout (init / setup / fork-setup)", () => {
  it("scaffolds the tiers and their git files once, then finds nothing to do; existing files stay", () => {
    const repo = tmpDir();
    const root = path.join(repo, ".agent");
    const p = trackerPaths(root);
    fs.mkdirSync(p.configDir, { recursive: true });
    fs.writeFileSync(path.join(p.configDir, ".gitignore"), "mine\n"); // (a user's own)
    expect(scaffoldTracker(root)).toEqual([
      ".agent/tracker/.ops",
      ".agent/tracker-workspace/.ops",
      ".agent/tracker-workspace/stealth",
      ".agent/tracker/.ops/.gitattributes",
      ".agent/tracker-workspace/.ops/.gitattributes",
      ".agent/tracker-workspace/stealth/.gitignore",
      ".agent/tracker-workspace/.gitignore",
      ".agent/tracker/config.yaml.template",
    ]);
    expect(fs.readFileSync(path.join(p.tierDirs.canonical, ".gitattributes"), "utf8")).toBe(
      "*.ops merge=union\n",
    );
    expect(fs.readFileSync(path.join(p.configDir, ".gitignore"), "utf8")).toBe("mine\n");
    expect(fs.readFileSync(path.join(p.configDir, "config.yaml.template"), "utf8")).toBe(
      TEMPLATE_CONFIG_YAML,
    );
    expect(fs.statSync(p.tierDirs.workspace).mode & 0o7777).toBe(0o2775);
    expect(scaffoldTracker(root)).toEqual([]);
  });

  it("installs config.yaml from the template read-only, with another agent pattern when given, once", () => {
    const root = path.join(tmpDir(), ".agent");
    scaffoldTracker(root);
    expect(installConfig(root, "bot-*")).toBe(true);
    const cfg = path.join(trackerPaths(root).configDir, "config.yaml");
    expect(fs.statSync(cfg).mode & 0o777).toBe(0o444);
    expect(loadConfig(trackerPaths(root).configDir).agent_usernames).toEqual(["bot-*"]);
    const text = fs.readFileSync(cfg, "utf8");
    expect(installConfig(root, "other_*")).toBe(false);
    expect(fs.readFileSync(cfg, "utf8")).toBe(text);
  });

  it("sets the stop-hook scope keeping the config's comments, read-only again", () => {
    const root = path.join(tmpDir(), ".agent");
    scaffoldTracker(root);
    installConfig(root);
    const cfg = path.join(trackerPaths(root).configDir, "config.yaml");
    fs.chmodSync(cfg, 0o644);
    fs.writeFileSync(cfg, `# our tracker: keep this note\n${fs.readFileSync(cfg, "utf8")}`);
    const comments = ["# our tracker: keep this note"];
    setStopHookScope(root, "workspace");
    const after = fs.readFileSync(cfg, "utf8");
    for (const c of comments) expect(after).toContain(c);
    expect(loadConfig(trackerPaths(root).configDir).scope).toBe("workspace");
    expect(fs.statSync(cfg).mode & 0o777).toBe(0o444);
  });

  it("adds the repository's merge=union lines once, after what is there", () => {
    const repo = tmpDir();
    fs.writeFileSync(path.join(repo, ".gitattributes"), "*.png binary");
    expect(ensureRepoGitattributes(repo)).toHaveLength(2);
    expect(ensureRepoGitattributes(repo)).toEqual([]);
    const lines = fs.readFileSync(path.join(repo, ".gitattributes"), "utf8").split("\n");
    expect(lines[0]).toBe("*.png binary");
    expect(lines.filter((l) => l.includes("merge=union"))).toHaveLength(2);
  });

  it("makes this user's tier directories group-writable with setgid and names the rest", () => {
    const root = path.join(tmpDir(), ".agent");
    scaffoldTracker(root);
    const p = trackerPaths(root);
    fs.chmodSync(p.tierDirs.canonical, 0o755);
    fs.rmSync(p.tierDirs.stealth, { recursive: true });
    expect(fixTierDirModes(root)).toEqual([
      `fixed: ${p.tierDirs.canonical}`,
      `missing: ${p.tierDirs.stealth}`,
    ]);
    expect(fs.statSync(p.tierDirs.canonical).mode & 0o7777).toBe(0o2775);
  });
});
