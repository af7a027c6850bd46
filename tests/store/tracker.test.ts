import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  AliasError,
  AmbiguousPrefixError,
  DiscussionRateLimitError,
  EditModeNotActiveError,
  FrozenItemError,
  HumanAuthorityError,
  ItemExistsError,
  ItemNotFoundError,
  LockedFieldError,
  TierMovementError,
  ValidationError,
} from "../../src/index.js";
import { TEMPLATE_CONFIG_YAML } from "../../src/store/config.js";
import { parseOpLog } from "../../src/store/oplog.js";
import { RefResolutionError } from "../../src/store/tracker.js";
import { emptyTracker, fixedClock, nonceSeq, openTest, tmpDir } from "../helpers.js";

function setup(user = "alice") {
  const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
  const t = openTest(repo, { user: () => user });
  return { repo, t };
}

/** A tracker in a git repository (its writes are journalled) and its journal directory. */
function setupInGit() {
  const { repo } = setup();
  fs.mkdirSync(path.join(repo, ".git"));
  return { repo, t: openTest(repo), journal: path.join(repo, "..", `${path.basename(repo)}-journal`) };
}

/** Every file under a journal directory (absolute paths). */
function journalFiles(journal: string): string[] {
  return fs
    .readdirSync(journal, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

function fileOf(t: ReturnType<typeof openTest>, id: string): string {
  return fs.readFileSync(t.opFile(id), "utf8");
}

describe("writes append exactly the reference's bytes", () => {
  it("add writes one create op with all 12 data keys", async () => {
    const { t } = setup();
    const res = await t.add({
      kind: "work_item",
      title: "Fix parser",
      tags: ["parser"],
      priority: 1,
      description: "Line 1\nLine 2",
    });
    expect(res.tier).toBe("workspace");
    expect(res.id).toMatch(/^WI-/);
    expect(fileOf(t, res.id)).toBe(
      [
        "- op: create  # a000",
        "  at: '2026-01-15T12:00:00Z'  # a000",
        "  by: human  # a000",
        "  actor: alice  # a000",
        "  clock: 1  # a000",
        "  nonce: a000  # a000",
        "  data:  # a000",
        "    kind: work_item  # a000",
        '    title: "Fix parser"  # a000',
        "    status: todo_hard  # a000",
        "    priority: 1  # a000",
        "    parent:  # a000",
        "    tags:  # a000",
        "    - parser  # a000",
        "    isbefore: []  # a000",
        "    duplicate_of: []  # a000",
        "    not_duplicate_of: []  # a000",
        "    pr_ref:  # a000",
        '    description: "Line 1\\nLine 2"  # a000',
        "    fields: {}  # a000",
        "",
      ].join("\n"),
    );
    expect(res.item.title).toBe("Fix parser");
    expect(fs.statSync(t.opFile(res.id)).mode & 0o777).toBe(0o664);
  });

  it("update, discuss, lock append one op each with the next Lamport clock", async () => {
    const { t } = setup();
    const { id } = await t.add({ kind: "work_item", title: "A" });
    const before = fileOf(t, id);
    const u = await t.update(id.slice(0, 8), {
      set: { status: "in_progress", priority: 0 },
      add: { tags: ["ci"] },
    });
    expect(u.before?.status).toBe("todo_hard");
    expect(u.after?.status).toBe("in_progress");
    await t.discuss(id, 'Quote "this": yes');
    await t.lock(id, ["Priority", "fields.root_cause"]);
    const added = fileOf(t, id).slice(before.length);
    expect(added).toBe(
      [
        "- op: update  # a001",
        "  at: '2026-01-15T12:00:00Z'  # a001",
        "  by: human  # a001",
        "  actor: alice  # a001",
        "  clock: 2  # a001",
        "  nonce: a001  # a001",
        "  set:  # a001",
        "    status: in_progress  # a001",
        "    priority: 0  # a001",
        "  add:  # a001",
        "    tags: [ci]  # a001",
        "- op: discuss  # a002",
        "  at: '2026-01-15T12:00:00Z'  # a002",
        "  by: human  # a002",
        "  actor: alice  # a002",
        "  clock: 3  # a002",
        "  nonce: a002  # a002",
        '  message: "Quote \\"this\\": yes"  # a002',
        "- op: lock  # a003",
        "  at: '2026-01-15T12:00:00Z'  # a003",
        "  by: human  # a003",
        "  actor: alice  # a003",
        "  clock: 4  # a003",
        "  nonce: a003  # a003",
        "  lock:  # a003",
        "  - priority  # a003",
        "  - fields.root_cause  # a003",
        "",
      ].join("\n"),
    );
    const item = t.get(id);
    expect(item.locked_fields).toEqual(["priority", "fields.root_cause"]);
    expect(item.discussion[0].message).toBe('Quote "this": yes');
  });

  it("writes nothing for an empty update", async () => {
    const { t } = setup();
    const { id } = await t.add({ kind: "work_item", title: "A" });
    const before = fileOf(t, id);
    const res = await t.update(id, {});
    expect(res.op).toBeNull();
    expect(fileOf(t, id)).toBe(before);
  });

  it("mirrors the identical bytes to the journal inside a git repository", async () => {
    const { t, journal } = setupInGit();
    const { id } = await t.add({ kind: "work_item", title: "Journalled" });
    await t.discuss(id, "note");
    const files = journalFiles(journal);
    expect(files).toHaveLength(1);
    expect(files[0].endsWith(path.join(".agent", "tracker-workspace", ".ops", `.${id}.ops`))).toBe(true);
    expect(fs.readFileSync(files[0], "utf8")).toBe(fileOf(t, id));
  });
});

describe("write-time guards (store.md §5.3, §6)", () => {
  it("rejects unknown kinds, disallowed and deprecated statuses, bad priorities and tags", async () => {
    const { t } = setup();
    await expect(t.add({ kind: "bug", title: "x" })).rejects.toThrow(
      new ValidationError("Unknown kind 'bug'. Valid kinds: ['invariant', 'meta_invariant', 'work_item']"),
    );
    await expect(
      t.add({ kind: "invariant", title: "x", status: "done", fields: { statement: "s", root_cause: "r" } }),
    ).rejects.toThrow(
      "Status 'done' is not allowed for kind 'invariant'. Allowed: ['satisfied', 'pending_validation', 'violated', 'needs_human_review', 'deleted']",
    );
    await expect(
      t.add({
        kind: "invariant",
        title: "x",
        status: "holding",
        fields: { statement: "s", root_cause: "r" },
      }),
    ).rejects.toThrow(
      "Status 'holding' is deprecated for kind 'invariant'. Use one of: ['satisfied', 'pending_validation', 'violated', 'needs_human_review', 'deleted']",
    );
    await expect(t.add({ kind: "work_item", title: "x", status: "bogus" })).rejects.toThrow(
      "Unknown status 'bogus'",
    );
    await expect(t.add({ kind: "work_item", title: "x", priority: 7 })).rejects.toThrow(
      "priority must be an integer 0-4, got 7",
    );
    await expect(t.add({ kind: "work_item", title: "x", tags: ["Bad-Tag"] })).rejects.toThrow(
      "tag name 'Bad-Tag' does not match ^[a-z_][a-z0-9_]*$",
    );
  });

  it("requires schema fields and gates custom field keys", async () => {
    const { t } = setup();
    await expect(t.add({ kind: "invariant", title: "x" })).rejects.toThrow(
      "Kind 'invariant' requires field(s): statement, root_cause. Use --field statement=...",
    );
    await expect(
      t.add({ kind: "invariant", title: "x", fields: { statement: "s", root_cause: "r", Status: "x" } }),
    ).rejects.toThrow(
      "'Status' is a core attribute, not a custom field: storing it under --field would give one fact two homes and the second would never be updated. Use --status instead.",
    );
    await expect(
      t.add({
        kind: "invariant",
        title: "x",
        fields: { statement: "s", root_cause: "r", "Root-Cause": "y" },
      }),
    ).rejects.toThrow("'Root-Cause' differs from the declared field 'root_cause' only in spelling");
    const ok = await t.add({
      kind: "invariant",
      title: "x",
      fields: { statement: "s", root_cause: "r", "Root-Cause": "y" },
      forceFieldKey: true,
    });
    expect(ok.item.status).toBe("violated"); // default: first blocking status the kind allows
  });

  it("refuses duplicate content with ItemExistsError", async () => {
    const { t } = setup();
    const a = await t.add({ kind: "work_item", title: "Same" });
    await expect(t.add({ kind: "work_item", title: "Same" })).rejects.toThrow(
      new ItemExistsError(`${a.id} already exists (title: 'Same'). Use 'update' to modify it.`, a.id),
    );
  });

  it("rejects unknown and non-list fields in update", async () => {
    const { t } = setup();
    const { id } = await t.add({ kind: "work_item", title: "A" });
    await expect(t.update(id, { set: { bogus: 1 } })).rejects.toThrow(
      "Unknown field 'bogus' in set. Valid fields: title, status, priority, parent, tags, isbefore, duplicate_of, not_duplicate_of, pr_ref, description, fields",
    );
    await expect(t.update(id, { add: { title: ["x"] } })).rejects.toThrow(ValidationError);
  });

  it("refuses human-only operations and statuses for agents", async () => {
    const { repo, t } = setup();
    const { id } = await t.add({ kind: "work_item", title: "A" });
    const agent = openTest(repo, { user: () => "bob_agent", nonce: nonceSeq(0xb000) });
    expect(agent.actor()).toEqual({ by: "agent", actor: "bob_agent" });
    await expect(agent.lock(id, ["title"])).rejects.toThrow(
      new HumanAuthorityError("lock requires human authority"),
    );
    await expect(agent.unlock(id, ["title"])).rejects.toThrow("unlock requires human authority");
    await expect(agent.discussClear(id)).rejects.toThrow("discuss_clear requires human authority");
    await expect(agent.stealth(id)).rejects.toThrow("stealth requires human authority");
    await expect(agent.freeze(id)).rejects.toThrow("freeze requires human authority");
    await expect(agent.delete(id)).rejects.toThrow("Status 'deleted' requires human authority.");
    await expect(agent.editModeOn()).rejects.toThrow("edit-mode-on requires human authority");
    const before = fileOf(t, id);
    const res = await agent.update(id, { set: { status: "in_progress" } });
    expect(res.after?.status).toBe("in_progress");
    expect(fileOf(t, id).slice(before.length)).toContain("  by: agent  # b000\n  actor: bob_agent  # b000\n");
  });

  it("environment variables cannot turn an agent into a human", async () => {
    const { repo, t } = setup();
    const { id } = await t.add({ kind: "work_item", title: "A" });
    const agent = openTest(repo, {
      user: () => "bob_agent",
      env: { ...process.env, USER: "alice", LOGNAME: "alice", HTRAC_USER: "alice", HTRAC_ACTOR: "human" },
    });
    await expect(agent.lock(id, ["title"])).rejects.toThrow(HumanAuthorityError);
  });

  it("blocks agents on locked fields (also fields.<k> and the whole fields) but never humans", async () => {
    const { repo, t } = setup();
    const { id } = await t.add({ kind: "work_item", title: "A" });
    await t.lock(id, ["status", "fields.owner", "discussion"]);
    const agent = openTest(repo, { user: () => "bob_agent" });
    await expect(agent.update(id, { set: { status: "done" } })).rejects.toThrow(
      new LockedFieldError(`Field 'status' on ${id} is locked. Ask the human to unlock it.`),
    );
    await expect(agent.update(id, { set: { fields: { owner: "x" } } })).rejects.toThrow(
      `Field 'fields.owner' on ${id} is locked.`,
    );
    await expect(agent.discuss(id, "hi")).rejects.toThrow(
      `Discussion on ${id} is locked. Ask the human to unlock it.`,
    );
    expect((await agent.update(id, { set: { priority: 1 } })).after?.priority).toBe(1);
    expect((await t.update(id, { set: { status: "done" } })).after?.status).toBe("done");
    await t.lock(id, ["fields"]);
    await expect(agent.update(id, { set: { fields: { other: "x" } } })).rejects.toThrow(
      `Field 'fields' on ${id} is locked.`,
    );
  });

  it("refuses agent writes to frozen items; human writes refresh the sentinel", async () => {
    const { repo, t } = setup();
    const { id } = await t.add({ kind: "work_item", title: "A" });
    await t.freeze(id);
    const frozen = t.opFile(id).replace(/\.ops$/, ".frozen");
    expect(fs.statSync(frozen).mode & 0o777).toBe(0o444);
    expect(t.get(id).frozen).toBe(true);
    await expect(t.freeze(id)).rejects.toThrow(`Item ${id} is already frozen`);
    const agent = openTest(repo, { user: () => "bob_agent" });
    const before = fileOf(t, id);
    await expect(agent.discuss(id, "x")).rejects.toThrow(
      new FrozenItemError(`Item ${id} is frozen. Ask the human to unfreeze it.`),
    );
    expect(fileOf(t, id)).toBe(before);
    await t.discuss(id, "human note");
    expect(fs.readFileSync(frozen, "utf8")).toBe(fileOf(t, id));
    expect(t.driftCheck(id)).toBe(false);
    fs.appendFileSync(t.opFile(id), "");
    await t.unfreeze(id);
    expect(t.get(id).frozen).toBe(false);
    await expect(t.unfreeze(id)).rejects.toThrow(`Item ${id} is not frozen`);
  });

  it("repairs drift from the sentinel (documented rewrite)", async () => {
    const { t } = setup();
    const { id } = await t.add({ kind: "work_item", title: "A" });
    await t.freeze(id);
    const good = fileOf(t, id);
    fs.appendFileSync(t.opFile(id), "- op: discuss  # 9999\n  bogus: yes  # 9999\n");
    expect(t.driftCheck(id)).toBe(true);
    await t.repairDrift(id);
    expect(fileOf(t, id)).toBe(good);
  });

  it("refuses appends to uncompilable files and never rewrites them", async () => {
    const { t } = setup();
    const { id } = await t.add({ kind: "work_item", title: "A" });
    fs.appendFileSync(t.opFile(id), "- op: discuss  # 1111\n  at: '2026-0");
    const broken = fileOf(t, id);
    await expect(t.discuss(id, "x")).rejects.toThrow(
      /item is uncompilable \(frozen\)\. A human must inspect the ops file before further writes\./,
    );
    expect(fileOf(t, id)).toBe(broken);
  });

  it("limits an agent's daily discussion budget and warns at the soft cap", async () => {
    const { repo, t } = setup();
    const { id } = await t.add({ kind: "work_item", title: "A" });
    const agent = openTest(repo, { user: () => "bob_agent" });
    const big = "x".repeat(440_100); // just over 100,000 tokens (len/4.4, as the reference)
    await agent.discuss(id, big);
    await agent.discuss(id, big);
    await expect(agent.discuss(id, "more")).rejects.toThrow(
      new DiscussionRateLimitError(
        `Discussion rate limit reached on ${id} (200,000 tokens today). Further discussion deferred until tomorrow, or run --summarize to reset.`,
      ),
    );
    for (let i = 0; i < 17; i++) await t.discuss(id, `n${i}`);
    const res = await t.discuss(id, "twentieth");
    expect(res.warnings).toEqual([
      `Discussion on ${id} has 20 entries (soft cap: 20). Consider using --summarize.`,
    ]);
  });
});

describe("resolution, aliases and references (store.md §4.3, §4.4)", () => {
  it("resolves full IDs, prefixes, first-syllable shortcuts and reports ambiguity", async () => {
    const { t } = setup();
    const a = await t.add({ kind: "work_item", title: "Alpha" });
    const b = await t.add({ kind: "work_item", title: "Beta" });
    expect(t.resolve(a.id)).toBe(a.id);
    expect(t.resolve(a.id.slice(0, 12))).toBe(a.id);
    expect(t.resolve(a.id.split("-")[1])).toBe(a.id);
    expect(() => t.resolve("WI-")).toThrow(AmbiguousPrefixError);
    try {
      t.resolve("WI");
    } catch (e) {
      expect((e as Error).message).toBe(
        `'WI' is ambiguous. Did you mean:\n${[a, b]
          .sort((x, y) => (x.id < y.id ? -1 : 1))
          .map((x) => `  ${x.id}  ${x.item.title}`)
          .join("\n")}`,
      );
    }
    expect(() => t.resolve("WI-zzz")).toThrow(new ItemNotFoundError("No items match prefix: WI-zzz"));
  });

  it("resolves :N aliases from the saved list once, to a full ID", async () => {
    const { repo, t } = setup();
    const a = await t.add({ kind: "work_item", title: "Alpha", priority: 0 });
    const cache = path.join(repo, "..", `${path.basename(repo)}-cache`);
    const env = { ...process.env, TRACKER_CACHE_DIR: cache };
    const t1 = openTest(repo, { env });
    t1.saveLastList(t1.ready().map((i) => i.id));
    expect(fs.readFileSync(path.join(cache, "last_list"), "utf8")).toBe(`${a.id}\n`);
    const t2 = openTest(repo, { env }); // a new process
    expect(t2.resolve(":1")).toBe(a.id);
    expect(() => t2.resolve(":abc")).toThrow(new AliasError("Invalid positional alias: :abc"));
    expect(() => t2.resolve(":9")).toThrow("Positional alias :9 out of range (last list had 1 items)");
  });

  it("keeps :N aliases where the reference does (fingerprint dir), and also where it keeps none", async () => {
    const { repo, t } = setup();
    const a = await t.add({ kind: "work_item", title: "Alpha", priority: 0 });
    const xdg = tmpDir("htrac-alias-xdg-");
    const env = { ...process.env, XDG_CACHE_HOME: xdg, TRACKER_CACHE_DIR: "" };
    const sha16 = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 16);
    const stash = (dir: string) => fs.readFileSync(path.join(dir, "last_list"), "utf8");
    const roundTrip = () => {
      openTest(repo, { env }).saveLastList([a.id]);
      expect(openTest(repo, { env }).resolve(":1")).toBe(a.id); // a new process
    };
    // No git (and then a fresh `git init`: no origin, no commit): the reference keeps aliases
    // for one process only; htrac keeps them per tracker root in its own directory.
    const fallback = path.join(xdg, "htrac", "aliases", sha16(fs.realpathSync(path.join(repo, ".agent"))));
    roundTrip();
    expect(stash(fallback)).toBe(`${a.id}\n`);
    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
        cwd: repo,
        stdio: "pipe",
      });
    git("init", "-q");
    fs.rmSync(fallback, { recursive: true });
    roundTrip();
    expect(stash(fallback)).toBe(`${a.id}\n`);
    // A first commit: the reference's dir, sha256(root commit)[:16]; with an origin too,
    // sha256(origin + "\n" + root commit)[:16] — the stash both tools share.
    fs.writeFileSync(path.join(repo, "README"), "x\n");
    git("add", "README");
    git("commit", "-q", "-m", "first");
    const root = git("rev-list", "--max-parents=0", "HEAD").toString().trim();
    roundTrip();
    expect(stash(path.join(xdg, "hypergumbo-tracker", sha16(root)))).toBe(`${a.id}\n`);
    git("remote", "add", "origin", "https://example.com/r.git");
    roundTrip();
    expect(stash(path.join(xdg, "hypergumbo-tracker", sha16(`https://example.com/r.git\n${root}`)))).toBe(
      `${a.id}\n`,
    );
  });

  it("stores references as full IDs and guards stealth references", async () => {
    const { t } = setup();
    const parent = await t.add({ kind: "work_item", title: "Parent" });
    const secret = await t.add({ kind: "work_item", title: "Secret", tier: "stealth" });
    const child = await t.add({ kind: "work_item", title: "Child", parent: parent.id.slice(0, 9) });
    expect(child.item.parent).toBe(parent.id);
    await expect(t.update(child.id, { add: { isbefore: [secret.id.slice(0, 9)] } })).rejects.toThrow(
      `--add-isbefore '${secret.id.slice(0, 9)}' resolves to stealth-tier item ${secret.id} but the writing item is in tier 'workspace'.`,
    );
    await expect(t.update(child.id, { set: { parent: "WI-nope" } })).rejects.toThrow(RefResolutionError);
    expect(t.children(parent.id).map((i) => i.id)).toEqual([child.id]);
  });

  it("isbeforeCycle finds the chain a new link would close (shortest, over every tier), else null", async () => {
    const { t } = setup();
    const a = (await t.add({ kind: "work_item", title: "A" })).id;
    const b = (await t.add({ kind: "work_item", title: "B", isbefore: [a] })).id;
    const c = (await t.add({ kind: "work_item", title: "C", tier: "canonical", isbefore: [b] })).id;
    const d = (await t.add({ kind: "work_item", title: "D", isbefore: [c, a] })).id;
    // c (canonical) → b → a exists: a link a → c closes a → c → b → a; a → d closes a → d → a
    // (d → a directly, shorter than d → c → b → a); d → a closes nothing (no chain from a to d).
    expect(t.isbeforeCycle(a, c)).toEqual([a, c, b, a]);
    expect(t.isbeforeCycle(a, d)).toEqual([a, d, a]);
    expect(t.isbeforeCycle(d, a)).toBeNull();
    expect(t.isbeforeCycle(a, "WI-unknown")).toBeNull();
  });

  it("refuses to point an item at itself (parent, isbefore, duplicate links; set or add), writing nothing; removing such a link works", async () => {
    const { t, repo } = setup();
    const { id } = await t.add({ kind: "work_item", title: "Self" });
    const file = t.opFile(id);
    const before = fs.readFileSync(file, "utf8");
    const short = id.slice(0, 9);
    const cases: [Parameters<typeof t.update>[1], string][] = [
      [{ set: { parent: short } }, `--parent '${id}' is the item itself: an item cannot be its own parent`],
      [
        { add: { isbefore: [short] } },
        `--add-isbefore '${id}' is the item itself: an item cannot block itself`,
      ],
      [{ set: { isbefore: [id] } }, `--add-isbefore '${id}' is the item itself: an item cannot block itself`],
      [
        { add: { duplicate_of: [id] } },
        `--add-duplicate-of '${id}' is the item itself: an item cannot be a duplicate of itself`,
      ],
      [
        { add: { not_duplicate_of: [short] } },
        `--add-not-duplicate-of '${id}' is the item itself: an item cannot be marked as not a duplicate of itself`,
      ],
    ];
    for (const [input, message] of cases) {
      await expect(t.update(short, input)).rejects.toThrow(new ValidationError(message));
      expect(fs.readFileSync(file, "utf8")).toBe(before);
    }
    // A self-link written by another tool (the reference allows them) can be removed.
    fs.appendFileSync(
      file,
      `- op: update  # 0f0f\n  at: '2026-01-02T00:00:00Z'  # 0f0f\n  by: human  # 0f0f\n  actor: alice  # 0f0f\n  clock: 9  # 0f0f\n  nonce: 0f0f  # 0f0f\n  set: {}  # 0f0f\n  add:  # 0f0f\n    isbefore:  # 0f0f\n    - ${id}  # 0f0f\n`,
    );
    expect(openTest(repo).get(id).isbefore).toEqual([id]);
    await openTest(repo).update(id, { remove: { isbefore: [short] } });
    expect(openTest(repo).get(id).isbefore).toEqual([]);
  });
});

describe("queries (store.md §5.5)", () => {
  it("ready excludes blocked, duplicate and non-blocking items and sorts by priority then creation", async () => {
    const { t } = setup();
    const clockless = await t.add({ kind: "work_item", title: "P2 first", priority: 2 });
    const blocker = await t.add({ kind: "work_item", title: "Blocker", priority: 3 });
    const blocked = await t.add({ kind: "work_item", title: "Blocked", priority: 0 });
    await t.update(blocker.id, { add: { isbefore: [blocked.id] } });
    const dup = await t.add({ kind: "work_item", title: "Dup", priority: 0 });
    await t.update(dup.id, { add: { duplicate_of: [clockless.id] } });
    await t.add({ kind: "work_item", title: "Busy", status: "in_progress", priority: 0 });
    expect(t.ready().map((i) => i.title)).toEqual(["P2 first", "Blocker"]);
    await t.update(blocker.id, { set: { status: "done" } });
    expect(t.ready().map((i) => i.title)).toEqual(["Blocked", "P2 first"]);
  });

  it("delete sets status deleted, clears its isbefore and inbound references", async () => {
    const { t } = setup();
    const a = await t.add({ kind: "work_item", title: "A" });
    const b = await t.add({ kind: "work_item", title: "B" });
    const c = await t.add({ kind: "work_item", title: "C" });
    await t.update(a.id, { add: { isbefore: [b.id] } });
    await t.update(c.id, { add: { isbefore: [a.id] } });
    const res = await t.delete(a.id);
    expect(res.inboundCleared).toBe(1);
    expect(t.get(a.id)).toMatchObject({ status: "deleted", isbefore: [] });
    expect(t.get(c.id).isbefore).toEqual([]);
  });
});

describe("tier moves (store.md §2.4.2)", () => {
  it("appends the audit op then moves the file; wrong tier is refused", async () => {
    const { t } = setup();
    const { id } = await t.add({ kind: "work_item", title: "Move me" });
    await expect(t.demote(id)).rejects.toThrow(
      new TierMovementError(`Can only demote from canonical, but ${id} is in workspace`),
    );
    const res = await t.promote(id);
    expect(res.tier).toBe("canonical");
    expect(t.tiersOf(id)).toEqual(["canonical"]);
    const ops = parseOpLog(fileOf(t, id)).ops;
    expect(ops.map((o) => o.op)).toEqual(["create", "promote"]);
    await t.demote(id);
    await t.stealth(id);
    expect(t.tiersOf(id)).toEqual(["stealth"]);
    await t.unstealth(id);
    expect(parseOpLog(fileOf(t, id)).ops.map((o) => o.op)).toEqual([
      "create",
      "promote",
      "demote",
      "stealth",
      "unstealth",
    ]);
  });
});

describe("reconcile-reset (store.md §3.7, human only)", () => {
  it("merges every tier's copy into canonical: ops once each with their bytes, then the reconcile op", async () => {
    const { repo, t, journal } = setupInGit();
    const { id } = await t.add({ kind: "work_item", title: "Split" });
    await t.discuss(id, "before the split");
    const ws = t.opFile(id);
    const canon = path.join(repo, ".agent", "tracker", ".ops", `.${id}.ops`);
    const stealth = path.join(repo, ".agent", "tracker-workspace", "stealth", `.${id}.ops`);
    // Copies that went their own ways: one more op in canonical (frozen there), one in stealth.
    fs.copyFileSync(ws, canon);
    fs.copyFileSync(ws, stealth);
    t.refreshAll();
    await t.discuss(id, "in canonical"); // (the canonical copy is the one resolved)
    await t.freeze(id);
    const stealthOp = [
      "- op: discuss  # beef",
      "  at: '2026-01-15T12:09:00Z'  # beef",
      "  by: agent  # beef",
      "  actor: bot_agent  # beef",
      "  clock: 7  # beef",
      "  nonce: beef  # beef",
      '  message: "in stealth"  # beef',
      "",
    ].join("\n");
    fs.appendFileSync(stealth, stealthOp);
    const canonText = fs.readFileSync(canon, "utf8");
    // Agents are refused; a prefix is not an ID here; one copy is nothing to reconcile.
    const agent = openTest(repo, { user: () => "bot_agent" });
    await expect(agent.reconcileReset(id)).rejects.toThrow(
      new HumanAuthorityError("reconcile_reset requires human authority"),
    );
    await expect(t.reconcileReset(id.slice(0, 8))).rejects.toThrow(
      new ItemNotFoundError(`Item not found: ${id.slice(0, 8)}`),
    );
    const { id: single } = await t.add({ kind: "work_item", title: "Single" });
    await expect(t.reconcileReset(single)).rejects.toThrow(
      `${single} is only in workspace: nothing to reconcile`,
    );

    // (a tier move onto an existing copy points at this command)
    await expect(t.demote(id)).rejects.toThrow(
      `Cannot demote ${id}: workspace already has a copy of this item (a human can merge the copies into canonical: htrac reconcile-reset ${id})`,
    );
    const r = await t.reconcileReset(id);
    expect(r).toEqual({ id, from: ["workspace", "stealth"], ops: 5, dropped: 4 });
    expect(fs.existsSync(ws)).toBe(false);
    expect(fs.existsSync(stealth)).toBe(false);
    expect(fs.readFileSync(canon, "utf8")).toBe(
      canonText +
        stealthOp +
        [
          "- op: reconcile  # a004",
          "  at: '2026-01-15T12:00:00Z'  # a004",
          "  by: human  # a004",
          "  actor: alice  # a004",
          "  clock: 8  # a004",
          "  nonce: a004  # a004",
          "  from_tier: workspace,stealth  # a004",
          '  reason: "manual-reset"  # a004',
          "",
        ].join("\n"),
    );
    expect(t.tiersOf(id)).toEqual(["canonical"]);
    expect(t.get(id).discussion.map((e) => e.message)).toEqual([
      "before the split",
      "in canonical",
      "in stealth",
    ]);
    // Still frozen (a fresh sentinel: no drift); the journal of the other copies went along.
    expect(t.get(id).frozen).toBe(true);
    expect(t.driftCheck(id)).toBe(false);
    const journalled = journalFiles(journal).filter((f) => path.basename(f).includes(id));
    expect(journalled).toHaveLength(1);
    expect(journalled[0].endsWith(path.relative(repo, canon))).toBe(true);
    expect(fs.readFileSync(journalled[0], "utf8")).toContain("before the split");
    expect(openTest(repo).problems()).toEqual([]);
  });

  it("writes nothing when a copy does not parse cleanly", async () => {
    const { repo, t } = setup();
    const { id } = await t.add({ kind: "work_item", title: "Torn" });
    const ws = t.opFile(id);
    const canon = path.join(repo, ".agent", "tracker", ".ops", `.${id}.ops`);
    fs.copyFileSync(ws, canon);
    fs.appendFileSync(ws, "- op: discuss  # dead\n  at: [\n");
    const before = [fs.readFileSync(ws), fs.readFileSync(canon)];
    await expect(t.reconcileReset(id)).rejects.toThrow(/workspace copy; nothing was written/);
    expect([fs.readFileSync(ws), fs.readFileSync(canon)]).toEqual(before);
    expect(fs.readdirSync(path.dirname(canon)).filter((n) => n.startsWith(".htrac_"))).toEqual([]);
  });
});

describe("edit mode and message ops (store.md §2.4.4)", () => {
  it("tombstones and edits messages only inside a human window", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const now = fixedClock("2026-01-15T12:00:00Z", 1000);
    const t = openTest(repo, { now });
    const { id } = await t.add({ kind: "work_item", title: "Thread" });
    const d = await t.discuss(id, "typo here");
    const nonce = d.op!.nonce as string;
    await expect(t.deleteMsg(id, nonce, "cleanup")).rejects.toThrow(EditModeNotActiveError);
    await t.editModeOn({ ttlSeconds: 600 });
    expect(t.editModeStatus()).toMatchObject({ on: true, ttl_seconds: 600, cap_max: 500, ops_used: 0 });
    await t.editMsgText(id, nonce, "typo fixed", "fix");
    expect(t.get(id).discussion[0]).toMatchObject({ message: "typo fixed", edit_history: ["typo here"] });
    await t.deleteMsg(id, nonce, "gone");
    expect(t.get(id).discussion[0].is_tombstoned).toBe(true);
    await expect(t.editMsgText(id, nonce, "x", "y")).rejects.toThrow(
      `Message '${nonce}' is tombstoned; run undelete-msg first before editing`,
    );
    await expect(t.deleteMsg(id, "zzzz", "r")).rejects.toThrow(
      "target_nonce must be 4 lowercase hex chars, got 'zzzz'",
    );
    await expect(t.deleteMsg(id, "beef", "r")).rejects.toThrow(
      `No discussion message with nonce 'beef' on ${id}`,
    );
    expect(t.editModeStatus().ops_used).toBe(2);
    // Counted the same after a warm start (records from the cache): the cap holds.
    const env = { ...process.env, XDG_CACHE_HOME: tmpDir("htrac-xdg-"), HTRAC_NO_CACHE: "" };
    openTest(repo, { now, env, indexCacheMinFiles: 1 }); // writes the cache
    const warm = openTest(repo, { now, env, indexCacheMinFiles: 1 });
    expect(warm.tiers.workspace.records.get(id)!.fromCache).toBe(true);
    expect(warm.editModeStatus().ops_used).toBe(2);
    const log = fs.readFileSync(
      path.join(repo, ".agent", "tracker-workspace", ".edit-mode", "edit-mode.ops"),
      "utf8",
    );
    expect(log.split("\n").filter((l) => l.startsWith("- op: edit-mode-on"))).toHaveLength(2); // workspace + stealth
    expect(log).toMatch(/^ {2}at: '2026-01-15T12:00:\d\d\.000000Z' {2}# [0-9a-f]{4}$/m);
    expect(log).toContain("  clock: 0  # ");
    await t.editModeOff();
    expect(t.editModeStatus().on).toBe(false);
  });
});

describe("appends after a warm start (tierstore.ts header)", () => {
  it("a cached record has no fold; the first append re-reads the file, later ones apply to a fold", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const writer = openTest(repo, { now: fixedClock("2026-01-15T12:00:00Z", 1000), nonce: nonceSeq(0xc000) });
    const { id } = await writer.add({ kind: "work_item", title: "Appended" });
    await writer.discuss(id, "one");
    const env = { ...process.env, XDG_CACHE_HOME: tmpDir("htrac-xdg-"), HTRAC_NO_CACHE: "" };
    openTest(repo, { env, indexCacheMinFiles: 1 }); // writes the cache
    const reader = openTest(repo, { env, indexCacheMinFiles: 1 });
    const tier = reader.tiers.workspace;
    expect(tier.records.get(id)!.fromCache).toBe(true);
    expect(tier.records.get(id)!.fold).toBeNull();
    // A frozen marker appearing: the cached item is updated without re-reading its file.
    const marker = path.join(repo, ".agent", "tracker-workspace", ".ops", `.${id}.frozen`);
    fs.writeFileSync(marker, "");
    expect(tier.refreshName(`.${id}.frozen`)).toEqual({ id, change: "changed" });
    expect(reader.get(id).frozen).toBe(true);
    expect(tier.records.get(id)!.fold).toBeNull();
    fs.rmSync(marker);
    tier.refreshName(`.${id}.frozen`);
    expect(reader.get(id).frozen).toBe(false);
    const before = reader.get(id);
    await writer.discuss(id, "two");
    expect(tier.refresh(id)).toBe("changed");
    const fold = tier.records.get(id)!.fold;
    expect(fold).not.toBeNull(); // re-read
    await writer.discuss(id, "three");
    expect(tier.refresh(id)).toBe("changed");
    expect(tier.records.get(id)!.fold).toBe(fold); // applied to the same fold
    expect(reader.get(id).discussion.map((e) => e.message)).toEqual(["one", "two", "three"]);
    expect(before.discussion.map((e) => e.message)).toEqual(["one"]); // snapshots never change
    expect(reader.get(id)).toEqual(openTest(repo).get(id));
  });
});
