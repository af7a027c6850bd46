import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LockTimeoutError } from "../../src/index.js";
import { TEMPLATE_CONFIG_YAML } from "../../src/store/config.js";
import { parseOpLog } from "../../src/store/oplog.js";
import { emptyTracker, openTest, oraclePythonPath, PROJECT } from "../helpers.js";

const WORKER = path.join(PROJECT, "tests", "fixtures", "append-worker.mjs");

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.stderr.on("data", (d) => {
      err += d;
    });
    p.on("close", (code) => resolve({ code: code ?? -1, out, err }));
  });
}

describe("append protocol under real concurrency (store.md §7.2)", () => {
  it("8 processes × 200 appends to one file: 1,600 ops, none lost or interleaved, clocks increasing", async () => {
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const { id } = await t.add({ kind: "work_item", title: "Contended" });
    const root = path.join(repo, ".agent");
    const env = { ...process.env, HYPERGUMBO_TRACKER_JOURNAL_ROOT: path.join(repo, "..", "journal-x") };
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, w) => run(process.execPath, [WORKER, root, id, "200", `w${w}`], env)),
    );
    for (const r of results) expect(r.err).toBe("");
    const text = fs.readFileSync(t.opFile(id), "utf8");
    const parsed = parseOpLog(text);
    expect(parsed.problems).toEqual([]);
    const discusses = parsed.ops.filter((o) => o.op === "discuss");
    expect(discusses).toHaveLength(1600);
    const messages = new Set(discusses.map((o) => o.message));
    for (let w = 0; w < 8; w++) for (let i = 0; i < 200; i++) expect(messages.has(`w${w}-${i}`)).toBe(true);
    // File order = write order; clocks strictly increase along it.
    const clocks = parsed.ops.map((o) => o.clock as number);
    for (let i = 1; i < clocks.length; i++) expect(clocks[i]).toBeGreaterThan(clocks[i - 1]);
    // Per worker, its messages appear in its own order (no reordering).
    for (let w = 0; w < 8; w++) {
      const mine = discusses.map((o) => o.message as string).filter((m) => m.startsWith(`w${w}-`));
      expect(mine).toEqual(Array.from({ length: 200 }, (_, i) => `w${w}-${i}`));
    }
    // Every line carries its op's nonce (no interleaved writes).
    let nonce = "";
    for (const line of text.split("\n")) {
      if (line === "") continue;
      if (line.startsWith("- op:")) nonce = line.slice(-4);
      expect(line.endsWith(`  # ${nonce}`)).toBe(true);
    }
  }, 120_000);

  it.skipIf(!oraclePythonPath())(
    "excludes the Python writer: flock(2) held by Python blocks our append until released",
    async () => {
      const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
      const t = openTest(repo, { lockTimeoutMs: 300 });
      const { id } = await t.add({ kind: "work_item", title: "Shared" });
      const file = t.opFile(id);
      const py = spawn(oraclePythonPath()!, [
        "-c",
        `import fcntl,os,sys,time\nfd=os.open(${JSON.stringify(file)},os.O_WRONLY|os.O_APPEND)\nfcntl.flock(fd,fcntl.LOCK_EX)\nprint("locked",flush=True)\nsys.stdin.readline()\nos.write(fd,b"")\nfcntl.flock(fd,fcntl.LOCK_UN)\nprint("released",flush=True)\n`,
      ]);
      await new Promise<void>((resolve) => py.stdout.once("data", () => resolve()));
      const before = fs.readFileSync(file, "utf8");
      await expect(t.discuss(id, "blocked")).rejects.toThrow(LockTimeoutError);
      expect(fs.readFileSync(file, "utf8")).toBe(before);
      py.stdin.write("\n");
      await new Promise<void>((resolve) => py.stdout.once("data", () => resolve()));
      await t.discuss(id, "after release");
      expect(t.get(id).discussion.map((e) => e.message)).toEqual(["after release"]);
      py.kill();
    },
  );

  it("our lock is visible to Python's flock (LOCK_NB fails while we hold it)", async () => {
    const py = oraclePythonPath() ?? "python3";
    const repo = emptyTracker(TEMPLATE_CONFIG_YAML);
    const t = openTest(repo);
    const { id } = await t.add({ kind: "work_item", title: "Shared" });
    const file = t.opFile(id);
    const probe = `import fcntl,os\nfd=os.open(${JSON.stringify(file)},os.O_WRONLY)\ntry:\n  fcntl.flock(fd,fcntl.LOCK_EX|fcntl.LOCK_NB);print("free")\nexcept BlockingIOError:\n  print("held")\n`;
    let seen = "";
    await t.update(id, {
      set: { title: "x" },
    });
    // Hold the lock through an update whose guard runs the probe synchronously.
    const { appendOp } = await import("../../src/store/append.js");
    await appendOp(
      file,
      {
        repoRoot: null,
        env: process.env,
        lockTimeoutMs: 1000,
        gitPeek: false,
        lamportBranches: [],
        nonce: () => "beef",
      },
      "human",
      () => {
        seen = execFileSync(py, ["-c", probe], { encoding: "utf8" }).trim();
        return null;
      },
    );
    expect(seen).toBe("held");
    expect(execFileSync(py, ["-c", probe], { encoding: "utf8" }).trim()).toBe("free");
  });
});
