import fs from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { ConfigValidationError, loadConfig, ProtectedConfigError } from "../../src/index.js";
import { defaultStatus, kindByName, TEMPLATE_CONFIG_YAML } from "../../src/store/config.js";
import { repoId } from "../../src/store/paths.js";
import { CORPUS_AGENT, emptyTracker, openTest, tmpDir } from "../helpers.js";

const NO_PROTECTED = { protectedRoot: "/nonexistent-protected" };

describe("config loading (store.md §5.1)", () => {
  it("uses config.yaml, else the template, else built-in defaults", () => {
    const dir = tmpDir();
    expect(loadConfig(dir, NO_PROTECTED).source).toBe("<built-in defaults>");
    expect(loadConfig(dir, NO_PROTECTED).kinds.map((k) => k.name)).toEqual(["invariant", "work_item"]);
    fs.writeFileSync(path.join(dir, "config.yaml.template"), TEMPLATE_CONFIG_YAML);
    expect(loadConfig(dir, NO_PROTECTED).kinds.map((k) => k.name)).toEqual([
      "invariant",
      "meta_invariant",
      "work_item",
    ]);
    fs.writeFileSync(
      path.join(dir, "config.yaml"),
      "statuses: [open, closed]\nstop_hook:\n  blocking_statuses: [open]\n  resolved_statuses: [closed]\n  human_only_statuses: []\n",
    );
    const c = loadConfig(dir, NO_PROTECTED);
    expect(c.source).toBe(path.join(dir, "config.yaml"));
    expect(c.kinds).toEqual([]);
    expect(c.agent_usernames).toEqual(["*_agent"]);
    expect(c.lamport_branches).toEqual(["dev", "main"]);
  });

  it("reads the real template like the reference", () => {
    const c = loadConfig(path.join(CORPUS_AGENT, "tracker"), NO_PROTECTED);
    expect(c.blocking_statuses).toEqual(["todo_hard", "todo_soft", "violated", "pending_validation"]);
    expect(c.resolved_statuses).toEqual(["done", "wont_do", "deleted", "satisfied", "holding"]);
    const inv = kindByName(c, "invariant")!;
    expect(inv.prefix).toBe("INV");
    expect(inv.deprecated_statuses).toEqual(["holding"]);
    expect(inv.fields_schema.map(([f]) => f)).toEqual([
      "statement",
      "root_cause",
      "fix",
      "verification",
      "regression_tests",
      "scope",
      "progress_pct",
      "dogfood_anon_id",
    ]);
    expect(defaultStatus(c, inv)).toBe("violated");
    expect(defaultStatus(c, kindByName(c, "work_item")!)).toBe("todo_hard");
  });

  it.each([
    ["", "'statuses' must be a non-empty list"],
    ["statuses: [a]\nkinds:\n  k: nope\n", "Kind 'k' must be a dict, got str"],
    [
      "statuses: [a, b]\nstop_hook:\n  blocking_statuses: [a]\n  resolved_statuses: [a]\n  human_only_statuses: []\n",
      "blocking_statuses and resolved_statuses overlap: {'a'}",
    ],
    [
      "statuses: [a]\nstop_hook:\n  blocking_statuses: [zz]\n",
      "blocking_statuses references unknown status 'zz'",
    ],
    [
      "statuses: [a]\nstop_hook:\n  blocking_statuses: [a]\n  resolved_statuses: []\n  human_only_statuses: []\n  scope: mine\n",
      "'stop_hook.scope' must be 'all' or 'workspace', got 'mine'",
    ],
    [
      "statuses: [a]\nstop_hook:\n  blocking_statuses: [a]\n  resolved_statuses: []\n  human_only_statuses: []\nactor_resolution:\n  agent_usernames: []\n",
      "'actor_resolution.agent_usernames' must be a non-empty list",
    ],
    [
      "statuses: [a, b]\nstop_hook:\n  blocking_statuses: [a]\n  resolved_statuses: [b]\n  human_only_statuses: []\nkinds:\n  k:\n    allowed_statuses: [a]\n    deprecated_statuses: [a]\n",
      "Kind 'k': deprecated_statuses and allowed_statuses overlap: {'a'}",
    ],
    [
      "statuses: [a]\nkinds: {k: {fields_schema: {f: {type: date}}}}\nstop_hook: {blocking_statuses: [a], resolved_statuses: [], human_only_statuses: []}\n",
      "type must be one of text, integer, list, boolean",
    ],
    ["statuses: [\n", "invalid YAML"],
  ])("rejects %j with the reference's message", (yaml, message) => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "config.yaml"), yaml);
    expect(() => loadConfig(dir, NO_PROTECTED)).toThrow(ConfigValidationError);
    expect(() => loadConfig(dir, NO_PROTECTED)).toThrow(message);
    try {
      loadConfig(dir, NO_PROTECTED);
    } catch (e) {
      expect((e as Error).message.startsWith(path.join(dir, "config.yaml"))).toBe(true);
    }
  });

  it("honours a host-protected config and refuses to fall back or choose (§5.1)", () => {
    const repo = tmpDir();
    fs.mkdirSync(path.join(repo, ".git"));
    const cfgDir = path.join(repo, ".agent", "tracker");
    fs.mkdirSync(cfgDir, { recursive: true });
    fs.writeFileSync(path.join(cfgDir, "config.yaml.template"), TEMPLATE_CONFIG_YAML);
    const prot = tmpDir();
    expect(() => loadConfig(cfgDir, { protectedRoot: prot })).toThrow(ProtectedConfigError);
    expect(() => loadConfig(cfgDir, { protectedRoot: prot })).toThrow("Refusing to fall back");
    const id = repoId(repo);
    fs.mkdirSync(path.join(prot, `${id}_tmp_repo`));
    fs.writeFileSync(
      path.join(prot, `${id}_tmp_repo`, "config.yaml"),
      "statuses: [a]\nstop_hook: {blocking_statuses: [a], resolved_statuses: [], human_only_statuses: []}\n",
    );
    expect(loadConfig(cfgDir, { protectedRoot: prot }).statuses).toEqual(["a"]);
    fs.mkdirSync(path.join(prot, `${id}_other`));
    fs.writeFileSync(path.join(prot, `${id}_other`, "config.yaml"), "statuses: [b]\n");
    expect(() => loadConfig(cfgDir, { protectedRoot: prot })).toThrow("Refusing to choose");
  });
});

describe("a viewer's open on an invalid config (OpenOptions.configFallback)", () => {
  it("opens on the template (else the defaults), keeps the error as a problem, and notices the config change", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const cfg = path.join(repo, ".agent", "tracker", "config.yaml");
    const writer = openTest(repo);
    const { id } = await writer.add({ kind: "work_item", title: "Still shown" });
    fs.writeFileSync(cfg, "kinds: [unclosed\n");
    // Commands that write keep failing on it, as the reference.
    expect(() => openTest(repo)).toThrow(ConfigValidationError);
    const t = openTest(repo, { configFallback: true });
    expect(t.configError).toBeInstanceOf(ConfigValidationError);
    expect(t.config.source).toBe(path.join(repo, ".agent", "tracker", "config.yaml.template"));
    expect(t.get(id).title).toBe("Still shown");
    const [p] = t.problems();
    // (the unclosed list runs to the end of the file: its last line, 1 — not the empty line 2
    // after the final newline where the yaml library stopped)
    expect(p).toEqual({ kind: "config", message: t.configError!.message, file: cfg, line: 1, fatal: false });
    expect(p.message).toMatch(/^\/.*config\.yaml: invalid YAML: line 1: /);
    // The files did not change since: nothing to report.
    expect(t.checkConfig()).toBeNull();
    // Fixed (as the template: the config in use) → valid; broken on another line → invalid,
    // that line; a valid config that differs → changed (applies at the next open).
    fs.writeFileSync(cfg, TEMPLATE_CONFIG_YAML);
    expect(t.checkConfig()).toBe("valid");
    expect(t.configError).toBeNull();
    expect(t.problems()).toEqual([]);
    fs.writeFileSync(cfg, `${TEMPLATE_CONFIG_YAML}\nscope: [\n`);
    expect(t.checkConfig()).toBe("invalid");
    expect(t.problems()[0].line).toBe(Number(/line (\d+)/.exec(t.configError!.message)![1]));
    expect(t.problems()[0].line).toBeGreaterThan(80); // the end of the template
    fs.writeFileSync(cfg, TEMPLATE_CONFIG_YAML.replace("well_known_tags: []", "well_known_tags:\n  - extra"));
    expect(t.checkConfig()).toBe("changed");
    expect(t.config.source).toMatch(/config\.yaml\.template$/); // the one in use stays
    // A failure other than an invalid config (here the file system failing for a moment) is
    // not taken as looked at: the next check looks again.
    fs.writeFileSync(cfg, TEMPLATE_CONFIG_YAML);
    const failing = vi.spyOn(fs, "existsSync").mockImplementation(() => {
      throw new Error("EIO for a moment");
    });
    try {
      expect(() => t.checkConfig()).toThrow("EIO for a moment");
    } finally {
      failing.mockRestore();
    }
    expect(t.checkConfig()).toBe("valid");
    // Applied on request (the TUI does): a changed config is used from then on, validation
    // included; an invalid one never.
    fs.writeFileSync(
      cfg,
      TEMPLATE_CONFIG_YAML.replace("statuses:\n  - todo_hard\n", "statuses:\n  - todo_hard\n  - parked\n"),
    );
    expect(t.checkConfig()).toBe("changed");
    await expect(t.update(id, { set: { status: "parked" } })).rejects.toThrow("Unknown status 'parked'");
    expect(t.applyConfig()!.statuses).toContain("parked");
    expect(t.config.statuses).toContain("parked");
    expect(t.applyConfig()).toBeNull(); // nothing read since
    await t.update(id, { set: { status: "parked" } });
    expect(t.get(id).status).toBe("parked");
    fs.writeFileSync(cfg, "statuses: 7\n");
    expect(t.checkConfig()).toBe("invalid");
    expect(t.applyConfig()).toBeNull();
    expect(t.config.statuses).toContain("parked");
    // No valid template either: the built-in defaults.
    fs.writeFileSync(cfg, "statuses: 7\n");
    fs.writeFileSync(path.join(repo, ".agent", "tracker", "config.yaml.template"), "kinds: {\n");
    const d = openTest(repo, { configFallback: true });
    expect(d.config.source).toBe("<built-in defaults>");
    expect(d.get(id).title).toBe("Still shown");
  });
});
