import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openTracker, validateFiles, validateTracker } from "../../src/index.js";
import { TEMPLATE_CONFIG_YAML } from "../../src/store/config.js";
import { CORPUS, emptyTracker, openTest } from "../helpers.js";

describe("validate on the real corpus reports exactly what the spec predicts", () => {
  it("errors: invariants with migrated statuses, short/missing references; warnings: unknown fields", () => {
    const t = openTracker(CORPUS, { gitPeek: false, createDirs: false, protectedRoot: "/nonexistent" });
    const r = validateTracker(t, { similar: true });
    // store.md §8.1: migrated invariants carry statuses no longer allowed (done/todo_hard);
    // old items contain short IDs in `parent` ("INV-vusog"); the corpus is a subset of
    // the real tracker, so some references point outside it.
    expect(r.errors).toEqual([
      ".INV-vilas-pokup-jagis-pojav-marab-vuzuv-ruvok-hidum.ops: compiled status 'done' not allowed for kind 'invariant'. Allowed: ['satisfied', 'pending_validation', 'violated', 'needs_human_review', 'deleted']",
      ".META-fabaz-narat-dizot-bamid-jilob-maluf-ribuv-buzob.ops: compiled status 'done' not allowed for kind 'meta_invariant'. Allowed: ['satisfied', 'pending_validation', 'violated', 'needs_human_review', 'deleted']",
      ".INV-dinur-filak-lanil-duvug-zovuz-dapav-bimip-vunoh.ops: compiled status 'todo_hard' not allowed for kind 'invariant'. Allowed: ['satisfied', 'pending_validation', 'violated', 'needs_human_review', 'deleted']",
      "INV-vilas-pokup-jagis-pojav-marab-vuzuv-ruvok-hidum: dangling parent reference 'INV-vusog'",
      "INV-bitig-dason-namur-hinik-vajip-bobun-tipar-zurig: dangling parent reference 'INV-somut-lapar-furob-tovul-juhor-puhat-zujim-lobir'",
      "INV-bovif-bilog-zulot-lasuh-pafag-kufut-bafut-nibir: dangling parent reference 'INV-rugok-bunid-nijaf-nigig-togap-pahul-zonih-vipip'",
      "INV-dadaf-zozih-janid-kupag-zukag-balun-tapab-jivog: dangling parent reference 'INV-papuj-gatin-gojid-jodal-fasov-mofom-ziruh-vovuh'",
      "INV-dovus-bilak-rukaf-topub-gibap-fusap-bibid-nupom: dangling parent reference 'INV-numat-judoj-dogal-misuj-divuf-kajus-buban-dihuj'",
      "INV-fapub-nimid-hunub-gogiz-bavun-jakip-tokul-vipuf: dangling duplicate_of reference 'INV-nihaz-vonok-mipil-nilik-hukud-bujuk-jokuf-tisad'",
    ]);
    // Every line carries its nonce and keys are in canonical order in real data: no such warnings.
    expect(r.warnings.filter((w) => /nonce|field order/.test(w))).toEqual([]);
    expect(r.warnings.filter((w) => w.includes("unknown field"))).toHaveLength(6);
    expect(r.warnings.filter((w) => w.startsWith("near-duplicate:"))).toHaveLength(1);
  });
});

describe("validate checks (store.md §5.4)", () => {
  it("reads CRLF line endings as the reference does (universal newlines): no warning per line", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const { id } = await t.add({ kind: "work_item", title: "Checked out on Windows" });
    await t.discuss(id, "a second op");
    const file = t.opFile(id);
    const lf = validateFiles(t.config, [file]);
    expect(lf).toMatchObject({ errors: [], warnings: [] });
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/\n/g, "\r\n"));
    expect(validateFiles(t.config, [file])).toMatchObject({ errors: [], warnings: [] });
    // A line that really lacks its comment is still named, with its line number.
    const lines = fs.readFileSync(file, "utf8").split("\r\n").length - 1;
    fs.appendFileSync(
      file,
      [
        "- op: discuss  # 0a0a",
        "  at: '2026-01-02T00:00:00Z'  # 0a0a",
        "  by: human  # 0a0a",
        "  actor: alice  # 0a0a",
        "  clock: 9  # 0a0a",
        "  nonce: 0a0a  # 0a0a",
        '  message: "no comment here"',
        "",
      ].join("\r\n"),
    );
    expect(validateFiles(t.config, [file]).warnings).toEqual([
      `${path.basename(file)}: line ${lines + 7}: missing nonce comment (expected '  # 0a0a')`,
    ]);
  });

  it("names the line of malformed YAML: in a middle op, and in a torn last op never closed", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const { id } = await t.add({ kind: "work_item", title: "V" });
    const file = t.opFile(id);
    const lines = fs.readFileSync(file, "utf8").split("\n").length - 1;
    fs.appendFileSync(file, "- op: update  # 0009\n  at: [unclosed  # 0009\n");
    const name = path.basename(file);
    expect(validateFiles(t.config, [file]).errors).toEqual([
      `${name}: malformed YAML: line ${lines + 2}: torn or incomplete last op ignored (Flow sequence in block collection must be sufficiently indented and end with a ])`,
    ]);
    // Not the last op: the file is unreadable from that op on.
    fs.appendFileSync(
      file,
      "- op: update  # 0010\n  at: '2026-01-01T00:00:00Z'  # 0010\n  by: human  # 0010\n  clock: 3  # 0010\n  nonce: '0010'\n  set:  # 0010\n    priority: 1  # 0010\n",
    );
    expect(validateFiles(t.config, [file]).errors).toEqual([
      `${name}: malformed YAML: line ${lines + 2}: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ]);
    // A top level that is not a list: named once, at line 1.
    fs.writeFileSync(file, "op: create\nat: x\n");
    expect(validateFiles(t.config, [file]).errors).toEqual([
      `${name}: malformed YAML: line 1: expected YAML list, got dict`,
    ]);
  });

  it("flags nonce comments, key order, timestamps, bad statuses and priorities per file", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const { id } = await t.add({ kind: "work_item", title: "V" });
    const file = t.opFile(id);
    fs.appendFileSync(
      file,
      [
        "- op: update  # 1234",
        "  by: agent  # 1234",
        "  at: 'not-a-time'  # 1234",
        "  clock: 2  # 1234",
        "  nonce: '1234'",
        "  set:  # 9999",
        "    status: bogus  # 1234",
        "    priority: 9  # 1234",
        "",
      ].join("\n"),
    );
    const r = validateFiles(t.config, [file]);
    const name = path.basename(file);
    expect(r.errors).toEqual([
      `${name}: op 1: invalid timestamp 'not-a-time'`,
      `${name}: op 1: unknown status 'bogus'. Valid: ['todo_hard', 'todo_soft', 'in_progress', 'needs_human_review', 'holding', 'satisfied', 'pending_validation', 'violated', 'done', 'wont_do', 'deleted']`,
      `${name}: op 1: priority must be int 0-4, got 9`,
    ]);
    expect(r.warnings).toEqual([
      `${name}: op 1: non-canonical field order (got ['op', 'by', 'at', 'clock', 'nonce', 'set'], expected ['op', 'at', 'by', 'clock', 'nonce', 'set'])`,
      `${name}: line 24: missing nonce comment (expected '  # 1234')`,
      `${name}: line 25: nonce comment '9999' does not match op nonce '1234'`,
    ]);
  });

  it("warns about agent updates of locked fields with --check-locks", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const { id } = await t.add({ kind: "work_item", title: "L" });
    await t.lock(id, ["status"]);
    const agent = openTest(repo, { user: () => "x_agent" });
    await agent.update(id, { set: { priority: 1 } });
    fs.appendFileSync(
      t.opFile(id),
      "- op: update  # 0c0c\n  at: '2026-01-15T12:00:00Z'  # 0c0c\n  by: agent  # 0c0c\n  actor: x_agent  # 0c0c\n  clock: 9  # 0c0c\n  nonce: 0c0c  # 0c0c\n  set:  # 0c0c\n    status: done  # 0c0c\n",
    );
    const r = validateFiles(t.config, [t.opFile(id)], { checkLocks: true });
    expect(r.warnings).toEqual([
      `${path.basename(t.opFile(id))}: op 3: agent update touches locked field(s): ['status']`,
    ]);
  });

  it("reports cross-file problems: duplicates across tiers, stealth references, prefix/kind, cycles", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const a = await t.add({ kind: "work_item", title: "A" });
    const b = await t.add({ kind: "work_item", title: "B" });
    const s = await t.add({ kind: "work_item", title: "S", tier: "stealth" });
    await t.update(a.id, { add: { isbefore: [b.id] } });
    await t.update(b.id, { add: { isbefore: [a.id] } });
    // Bypass the write guard to create a workspace → stealth reference and a duplicate.
    fs.appendFileSync(
      t.opFile(a.id),
      `- op: update  # 0d0d\n  at: '2026-01-15T12:00:00Z'  # 0d0d\n  by: human  # 0d0d\n  actor: alice  # 0d0d\n  clock: 9  # 0d0d\n  nonce: 0d0d  # 0d0d\n  set:  # 0d0d\n    parent: ${s.id}  # 0d0d\n`,
    );
    fs.copyFileSync(t.opFile(b.id), path.join(t.paths.tierDirs.canonical, `.${b.id}.ops`));
    const renamed = path.join(t.paths.tierDirs.workspace, `.INV-${a.id.slice(3)}.ops`);
    fs.copyFileSync(t.opFile(a.id), renamed);
    const r = validateTracker(openTest(repo), { strict: false });
    expect(r.errors).toContain(`duplicate ID ${b.id} in tiers: canonical, workspace`);
    expect(r.errors).toContain(
      `${a.id}: cross-tier parent reference '${s.id}' from workspace to stealth (stealth is gitignored; CI cannot resolve this)`,
    );
    expect(r.errors).toContain(
      `INV-${a.id.slice(3)}: ID prefix 'INV' suggests kind 'invariant' but item kind is 'work_item'`,
    );
    expect(r.errors.filter((e) => e.startsWith("cycle in isbefore links: "))).toHaveLength(1);
    const strict = validateTracker(openTest(repo), { strict: true });
    expect(strict.warnings).toEqual([]);
  });

  it("compares config.yaml kinds with the template", () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    fs.writeFileSync(
      path.join(repo, ".agent", "tracker", "config.yaml"),
      TEMPLATE_CONFIG_YAML.replace("  work_item:\n    prefix: WI\n", "  task:\n    prefix: TSK\n"),
    );
    const r = validateTracker(openTest(repo));
    expect(r.warnings).toEqual([
      "kind 'task' in config.yaml but not in config.yaml.template",
      "kind 'work_item' in config.yaml.template but not in config.yaml",
    ]);
  });
});
