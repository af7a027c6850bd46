/**
 * Test helpers: temp dirs, the shared corpus (read from ../shared, copied before writes),
 * deterministic providers, and the optional Python reference oracle.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type OpenOptions, openTracker, type Tracker } from "../src/index.js";
import { serializeOp } from "../src/store/serialize.js";
import { newMap } from "../src/store/values.js";

export const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const CORPUS = path.resolve(PROJECT, "..", "shared", "corpus", "hypergumbo");
export const CORPUS_AGENT = path.join(CORPUS, ".agent");
/** The shipped executable (the bundle `npm run build` makes; package.json `bin`). */
export const CLI = path.join(PROJECT, "dist", "bin", "htrac.js");

const tmpDirs: string[] = [];

/** A fresh temp directory, removed at process exit. */
export function tmpDir(prefix = "htrac-test-"): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

/**
 * Remove every temp directory made so far, with the siblings tests put beside them
 * (`<dir>-journal`, the journal root `openTest` sets; `<dir>-cache`, a per-user cache dir).
 * tests/setup.ts runs it after each test file.
 */
export function cleanupTmpDirs(): void {
  for (const d of tmpDirs.splice(0)) {
    for (const p of [d, `${d}-journal`, `${d}-cache`]) {
      try {
        fs.rmSync(p, { recursive: true, force: true });
      } catch {
        /* a directory a child process still holds: the OS temp cleaner gets it */
      }
    }
  }
}

process.on("exit", cleanupTmpDirs);

/** Copy the real corpus into a temp dir (writable) and return the repo dir. */
export function corpusCopy(): string {
  const d = tmpDir("htrac-corpus-");
  fs.cpSync(CORPUS, d, { recursive: true });
  execFileSync("chmod", ["-R", "u+w", d]);
  return d;
}

/** Every op file of the corpus: {tier, name, path}. */
export function corpusFiles(): { tier: string; name: string; path: string }[] {
  const out: { tier: string; name: string; path: string }[] = [];
  for (const [tier, dir] of [
    ["canonical", path.join(CORPUS_AGENT, "tracker", ".ops")],
    ["workspace", path.join(CORPUS_AGENT, "tracker-workspace", ".ops")],
  ] as const) {
    for (const name of fs.readdirSync(dir).sort()) {
      if (name.startsWith(".") && name.endsWith(".ops")) out.push({ tier, name, path: path.join(dir, name) });
    }
  }
  return out;
}

/** Split op-log text into op blocks (each starts with a line beginning "- "). */
export function opBlocks(text: string): string[] {
  const blocks: string[] = [];
  let cur = "";
  for (const line of text.split(/(?<=\n)/)) {
    if (line.startsWith("- ") && cur) {
      blocks.push(cur);
      cur = "";
    }
    cur += line;
  }
  if (cur) blocks.push(cur);
  return blocks;
}

/** A deterministic clock: starts at `start` (ISO) and advances `stepMs` per call. */
export function fixedClock(start = "2026-01-15T12:00:00Z", stepMs = 0): () => number {
  let t = Date.parse(start);
  return () => {
    const v = t;
    t += stepMs;
    return v;
  };
}

/** A deterministic nonce sequence: a000, a001, … (4 lowercase hex). */
export function nonceSeq(start = 0xa000): () => string {
  let n = start;
  return () => (n++ & 0xffff).toString(16).padStart(4, "0");
}

/** Make an empty tracker (config template) in a fresh repo dir. */
export function emptyTracker(configYaml?: string): string {
  const repo = tmpDir("htrac-repo-");
  const root = path.join(repo, ".agent");
  fs.mkdirSync(path.join(root, "tracker", ".ops"), { recursive: true });
  fs.mkdirSync(path.join(root, "tracker-workspace", ".ops"), { recursive: true });
  fs.mkdirSync(path.join(root, "tracker-workspace", "stealth"), { recursive: true });
  if (configYaml !== undefined)
    fs.writeFileSync(path.join(root, "tracker", "config.yaml.template"), configYaml);
  return repo;
}

/** Open a tracker with deterministic providers and no git peeks by default. */
export function openTest(repo: string, opts: OpenOptions & { user?: () => string } = {}): Tracker {
  return openTracker(path.join(repo, ".agent"), {
    now: fixedClock(),
    nonce: nonceSeq(),
    user: () => "alice",
    gitPeek: false,
    env: {
      ...process.env,
      HYPERGUMBO_TRACKER_JOURNAL_ROOT: path.join(repo, "..", `${path.basename(repo)}-journal`),
    },
    protectedRoot: "/nonexistent-htrac-protected",
    ...opts,
  });
}

let oraclePython: string | null | undefined;
/** A python3 that has the reference libraries (PyYAML + ruamel.yaml), or null. */
export function oraclePythonPath(): string | null {
  if (oraclePython === undefined) {
    oraclePython = null;
    for (const py of [process.env.HTRAC_ORACLE_PYTHON, "python3", "/usr/bin/python3"]) {
      if (!py) continue;
      try {
        execFileSync(py, ["-c", "import yaml, ruamel.yaml"], { stdio: "ignore" });
        oraclePython = py;
        break;
      } catch {
        /* try the next one */
      }
    }
  }
  return oraclePython;
}

/** True when the Python reference libraries (PyYAML + ruamel.yaml) are installed. */
export function oracleAvailable(): boolean {
  return oraclePythonPath() !== null;
}

/** A running Python oracle process (scripts/oracle.py), one JSON request per line. */
export class Oracle {
  private proc: ChildProcessWithoutNullStreams;
  private buf = "";
  private waiters: ((line: string) => void)[] = [];
  constructor() {
    this.proc = spawn(oraclePythonPath() ?? "python3", [path.join(PROJECT, "scripts", "oracle.py")]);
    this.proc.stdout.setEncoding("utf8");
    this.proc.stdout.on("data", (d: string) => {
      this.buf += d;
      let nl = this.buf.indexOf("\n");
      while (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.waiters.shift()?.(line);
        nl = this.buf.indexOf("\n");
      }
    });
  }
  request(req: unknown): Promise<{ ok?: unknown; err?: string }> {
    return new Promise((resolve) => {
      this.waiters.push((line) => resolve(JSON.parse(line)));
      this.proc.stdin.write(`${JSON.stringify(req)}\n`);
    });
  }
  close(): void {
    this.proc.stdin.end();
  }
}

/** Convert a value to the oracle's tagged JSON form (floats, big ints, mappings with order). */
export function toOracle(v: unknown): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isInteger(v) ? v : { $f: String(v) };
  if (typeof v === "bigint") return { $i: v.toString() };
  if (Array.isArray(v)) return v.map(toOracle);
  if (
    typeof v === "object" &&
    v !== null &&
    "value" in v &&
    (v as { constructor?: { name?: string } }).constructor?.name === "PyFloat"
  ) {
    return { $f: String((v as { value: number }).value) };
  }
  if (typeof v === "object")
    return { $m: Object.keys(v).map((k) => [k, toOracle((v as Record<string, unknown>)[k])]) };
  return v;
}

/** Convert an oracle tagged value back to our value shapes (for comparisons). */
export function fromOracle(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromOracle);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if ("$f" in o) return { float: Number(o.$f) };
    if ("$i" in o) return BigInt(o.$i as string);
    if ("$d" in o) return { datetime: o.$d };
    if ("$m" in o) {
      const m: Record<string, unknown> = {};
      for (const [k, x] of o.$m as [unknown, unknown][])
        m[typeof k === "string" ? k : String(k)] = fromOracle(x);
      return m;
    }
  }
  return v;
}

/** Whether the tests run as root (real OS users can be created). */
export const IS_ROOT = typeof process.getuid === "function" && process.getuid() === 0;
/** Test group and users for permission tests (created when root). */
export const TEST_GROUP = "htrac_test";
export const TEST_AGENT = "htrac_t_agent";
export const TEST_HUMAN = "htrac_t_human";

/**
 * Create the test group and users if missing (root only).
 * @returns null when they exist, else why they cannot (tests then skip with that reason)
 */
export function ensureTestUsers(): string | null {
  try {
    createTestUsers();
    return null;
  } catch (e) {
    return `cannot create test users: ${(e as Error).message.split("\n")[0]}`;
  }
}

/**
 * Why a test that runs something as a test OS user cannot run here, or null when it can
 * (root, users present or created). @param purpose completes "needs root to …"
 */
export function testUsersUnavailable(purpose: string): string | null {
  if (!IS_ROOT) return `needs root to ${purpose}`;
  return ensureTestUsers();
}

function createTestUsers(): void {
  const has = (cmd: string, name: string) => {
    try {
      execFileSync("getent", [cmd, name], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  if (!has("group", TEST_GROUP)) execFileSync("groupadd", [TEST_GROUP]);
  for (const u of [TEST_AGENT, TEST_HUMAN])
    if (!has("passwd", u)) execFileSync("useradd", ["-M", "-N", "-g", TEST_GROUP, "-s", "/bin/false", u]);
}

/**
 * Share a tracker with the test group as the spec describes (group-writable, setgid dirs)
 * and give it a world-writable cache dir. @returns env for the child processes
 */
export function shareWithTestGroup(repo: string): NodeJS.ProcessEnv {
  fs.chmodSync(repo, 0o755);
  const cache = path.join(repo, ".cache");
  fs.mkdirSync(cache, { mode: 0o777, recursive: true });
  fs.chmodSync(cache, 0o777);
  execFileSync("chgrp", ["-R", TEST_GROUP, path.join(repo, ".agent")]);
  execFileSync("chmod", ["-R", "g+w", path.join(repo, ".agent")]);
  execFileSync("find", [path.join(repo, ".agent"), "-type", "d", "-exec", "chmod", "2775", "{}", "+"]);
  return { TRACKER_CACHE_DIR: cache, HOME: cache };
}

/** The bytes an external agent's discuss op adds to a file (tests of readers and watchers). */
export function discussOpText(clock: number, nonce: string, message: string): string {
  const op = newMap();
  op.op = "discuss";
  op.at = "2026-02-01T00:00:00Z";
  op.by = "agent";
  op.actor = "ext_agent";
  op.clock = clock;
  op.nonce = nonce;
  op.message = message;
  return serializeOp(op);
}

/** Run git in `repo` with a fixed test identity. @returns its stdout */
export function git(repo: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd: repo,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@x",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@x",
    },
  });
}
