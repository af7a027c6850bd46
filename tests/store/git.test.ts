import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LockedFieldError } from "../../src/index.js";
import { TEMPLATE_CONFIG_YAML } from "../../src/store/config.js";
import { emptyTracker, git, nonceSeq, openTest } from "../helpers.js";

const CONFIG = TEMPLATE_CONFIG_YAML.replace(
  "lamport_branches:\n  - dev\n  - main\n",
  "lamport_branches:\n  - main\n",
);

function initRepo(): string {
  const repo = emptyTracker(CONFIG);
  git(repo, "init", "-q", "-b", "main");
  fs.writeFileSync(
    path.join(repo, ".gitattributes"),
    ".agent/tracker/.ops/.*.ops linguist-generated merge=union diff=tracker\n.agent/tracker-workspace/.ops/.*.ops linguist-generated merge=union diff=tracker\n",
  );
  git(repo, "add", "-A");
  git(repo, "commit", "-qm", "init");
  return repo;
}

describe("real git: branches, merge=union, Lamport clocks, cross-branch locks", () => {
  it("two branches append to one item; after merge=union both sides compile equal", async () => {
    const repo = initRepo();
    const t = openTest(repo, { gitPeek: true });
    const { id } = await t.add({ kind: "work_item", title: "Shared item" });
    git(repo, "add", "-A");
    git(repo, "commit", "-qm", "add item");
    git(repo, "checkout", "-qb", "feature");
    const tf = openTest(repo, { gitPeek: true, nonce: nonceSeq(0xb000), user: () => "bot_agent" });
    await tf.discuss(id, "from feature");
    await tf.update(id, { set: { status: "in_progress" }, add: { tags: ["feat"] } });
    git(repo, "commit", "-qam", "feature work");
    git(repo, "checkout", "-q", "main");
    const tm = openTest(repo, { gitPeek: true, nonce: nonceSeq(0xc000) });
    const mainOp = await tm.discuss(id, "from main");
    // The unmerged feature branch raised the clock: main's op comes after it (store.md §7.1).
    expect(mainOp.op?.clock).toBe(4);
    await tm.update(id, { add: { tags: ["main"] } });
    git(repo, "commit", "-qam", "main work");
    git(repo, "merge", "-q", "--no-edit", "feature");
    const onMain = openTest(repo).get(id);
    git(repo, "checkout", "-q", "feature");
    git(repo, "merge", "-q", "--no-edit", "main");
    const onFeature = openTest(repo).get(id);
    expect(onFeature).toEqual(onMain);
    expect(onMain.discussion.map((e) => e.message)).toEqual(["from feature", "from main"]);
    expect(onMain.tags.sort()).toEqual(["feat", "main"]);
    expect(onMain.status).toBe("in_progress");
  });

  it("locks committed on a Lamport branch block agents on another branch (store.md §6.3)", async () => {
    const repo = initRepo();
    const t = openTest(repo, { gitPeek: true });
    const { id } = await t.add({ kind: "work_item", title: "Lockable" });
    git(repo, "add", "-A");
    git(repo, "commit", "-qm", "add");
    git(repo, "checkout", "-qb", "agent-branch");
    git(repo, "checkout", "-q", "main");
    await t.lock(id, ["priority"]);
    git(repo, "commit", "-qam", "lock priority");
    git(repo, "checkout", "-q", "agent-branch");
    const agent = openTest(repo, { gitPeek: true, user: () => "bot_agent" });
    expect(agent.get(id).locked_fields).toEqual([]); // not locked in this working copy
    await expect(agent.update(id, { set: { priority: 0 } })).rejects.toThrow(
      new LockedFieldError(`Field 'priority' on ${id} is locked. Ask the human to unlock it.`),
    );
    await agent.update(id, { set: { status: "in_progress" } });
  });

  it("recover restores ops dropped by git reset --hard from the journal (store.md §7.4)", async () => {
    const repo = initRepo();
    const t = openTest(repo, { gitPeek: true });
    const { id } = await t.add({ kind: "work_item", title: "Journalled" });
    git(repo, "add", "-A");
    git(repo, "commit", "-qm", "add");
    await t.discuss(id, "unpushed note");
    const withNote = fs.readFileSync(t.opFile(id), "utf8");
    git(repo, "reset", "-q", "--hard");
    expect(fs.readFileSync(t.opFile(id), "utf8")).not.toBe(withNote);
    const res = await openTest(repo).recover();
    expect(res.restored).toHaveLength(1);
    expect(res.restored[0]).toMatchObject({ added: 1, recreated: false });
    expect(fs.readFileSync(t.opFile(id), "utf8")).toBe(withNote);
    // Idempotent.
    expect((await openTest(repo).recover()).restored).toEqual([]);
  });

  it("recover does not resurrect an item that moved to another tier", async () => {
    const repo = initRepo();
    const t = openTest(repo, { gitPeek: true });
    const { id } = await t.add({ kind: "work_item", title: "Mover" });
    await t.promote(id);
    const res = await openTest(repo).recover();
    expect(res.restored).toEqual([]);
    expect(openTest(repo).tiersOf(id)).toEqual(["canonical"]);
  });
});
