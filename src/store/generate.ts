/**
 * Deterministic generator of real-shaped trackers: the demo tracker of `npm start`, the
 * benchmark trackers (1k / 10k items) and large test fixtures.
 *
 * Files are written with the store's own serializer (`serializeOp`) and IDs with
 * `computeItemId`, so generated trackers are valid op logs the reference would read. The
 * shape follows the real corpus: ~20 ops per item (status changes, tag edits, parent links,
 * discussion threads of agent and human messages), invariants with schema fields, a few
 * locks, isbefore chains, items awaiting human review and unread human messages.
 */
import fs from "node:fs";
import path from "node:path";
import type { Tier } from "./compile.js";
import { TEMPLATE_CONFIG_YAML } from "./config.js";
import { computeItemId } from "./ids.js";
import type { Op } from "./oplog.js";
import { serializeOp } from "./serialize.js";
import { newMap, type YamlMap } from "./values.js";

/** Seeded PRNG (mulberry32). @returns a function giving floats in [0, 1) */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  "analyzer route handler edge symbol resolution cache layer stable id linker python rust java kotlin swift typescript graph slice bakeoff regression invariant coverage parser import module function method class metadata collision hash stale merge branch tracker agent review pipeline dataflow receiver binding framework manifest endpoint config schema validation timeout retry snapshot terminal layout filter discussion watcher journal clock".split(
    " ",
  );
const TAGS = [
  "ci_infrastructure",
  "developer_experience",
  "bakeoff_infrastructure",
  "dogfood",
  "quality",
  "perf",
  "security",
  "docs",
  "tui",
  "parser",
];

/** Options of `generateTracker`. */
export interface GenerateOptions {
  /** Number of items (default 50). */
  items?: number;
  /** Average ops per item (default 20). */
  opsPerItem?: number;
  seed?: number;
  /** Epoch ms of the first op (default 2026-01-01T00:00:00Z). */
  start?: number;
  /** Human and agent usernames stamped on ops. */
  human?: string;
  agent?: string;
  /** Write a config.yaml.template (default true). */
  writeConfig?: boolean;
  /** Average discussion message length in characters (default 170). */
  messageLength?: number;
}

/** Result of `generateTracker`. */
export interface GeneratedTracker {
  /** The `.agent` directory. */
  root: string;
  ids: { id: string; tier: Tier }[];
  bytes: number;
  ops: number;
}

function nonceFrom(rand: () => number, used: Set<string>): string {
  for (;;) {
    const n = Math.floor(rand() * 0x10000)
      .toString(16)
      .padStart(4, "0");
    if (!used.has(n)) {
      used.add(n);
      return n;
    }
  }
}

function fmt(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/**
 * Generate a tracker under `repoDir/.agent`.
 * @param repoDir directory that receives `.agent/` (created if needed)
 */
export function generateTracker(repoDir: string, opts: GenerateOptions = {}): GeneratedTracker {
  const n = opts.items ?? 50;
  const avgOps = opts.opsPerItem ?? 20;
  const rand = prng(opts.seed ?? 42);
  const human = opts.human ?? "alice";
  const agent = opts.agent ?? "alice_agent";
  const msgLen = opts.messageLength ?? 170;
  const root = path.join(repoDir, ".agent");
  const dirs: Record<Tier, string> = {
    canonical: path.join(root, "tracker", ".ops"),
    workspace: path.join(root, "tracker-workspace", ".ops"),
    stealth: path.join(root, "tracker-workspace", "stealth"),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  if (opts.writeConfig !== false) {
    fs.writeFileSync(path.join(root, "tracker", "config.yaml.template"), TEMPLATE_CONFIG_YAML);
  }
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)];
  const words = (k: number) => Array.from({ length: k }, () => pick(WORDS)).join(" ");
  const sentence = (len: number) => {
    let s = "";
    while (s.length < len) s += `${words(6 + Math.floor(rand() * 10))}. `;
    const t = s.trim();
    return t[0].toUpperCase() + t.slice(1);
  };
  let clockTime = opts.start ?? Date.UTC(2026, 0, 1);
  const ids: { id: string; tier: Tier }[] = [];
  const pendingLinks: { from: { id: string; tier: Tier }; to: string }[] = [];
  let bytes = 0;
  let totalOps = 0;
  const wiStatuses = ["todo_hard", "todo_soft", "in_progress", "needs_human_review", "done", "wont_do"];
  const invStatuses = ["violated", "pending_validation", "satisfied", "needs_human_review"];
  for (let i = 0; i < n; i++) {
    const r = rand();
    const kind = r < 0.6 ? "work_item" : r < 0.95 ? "invariant" : "meta_invariant";
    const prefix = kind === "work_item" ? "WI" : kind === "invariant" ? "INV" : "META";
    const tr = rand();
    const tier: Tier = tr < 0.1 ? "canonical" : tr < 0.95 ? "workspace" : "stealth";
    const data: YamlMap = newMap();
    data.kind = kind;
    data.title = sentence(30 + Math.floor(rand() * 40))
      .replace(/\.$/, "")
      .slice(0, 70);
    data.status = kind === "work_item" ? pick(wiStatuses.slice(0, 4)) : pick(invStatuses.slice(0, 2));
    data.priority = Math.floor(rand() * 5);
    data.parent = null;
    data.tags = rand() < 0.5 ? [pick(TAGS)] : [];
    data.isbefore = [];
    data.duplicate_of = [];
    data.not_duplicate_of = [];
    data.pr_ref = rand() < 0.2 ? `PR #${1000 + Math.floor(rand() * 3000)}` : null;
    data.description = sentence(120 + Math.floor(rand() * 560));
    const fields = newMap();
    if (kind !== "work_item") {
      fields.statement = sentence(60 + Math.floor(rand() * 100));
      if (kind === "invariant") {
        fields.root_cause = sentence(100 + Math.floor(rand() * 300));
        if (rand() < 0.5) fields.regression_tests = [`tests/test_${pick(WORDS)}.py::Test${pick(WORDS)}`];
      }
      if (rand() < 0.3) fields.progress_pct = Math.floor(rand() * 101);
    }
    data.fields = fields;
    const id = computeItemId(data, prefix);
    const used = new Set<string>();
    let clock = 1;
    clockTime += 60_000 + Math.floor(rand() * 600_000);
    const ops: Op[] = [];
    const mk = (type: string, by: "agent" | "human", extra: Record<string, unknown>): Op => {
      const op = newMap();
      op.op = type;
      op.at = fmt(clockTime);
      op.by = by;
      op.actor = by === "human" ? human : agent;
      op.clock = clock++;
      op.nonce = nonceFrom(rand, used);
      for (const [k, v] of Object.entries(extra)) op[k] = v as never;
      clockTime += 1000 + Math.floor(rand() * 50_000);
      return op;
    };
    ops.push(mk("create", rand() < 0.8 ? "agent" : "human", { data }));
    const count = Math.max(1, Math.round(avgOps * (0.5 + rand())));
    let status = data.status as string;
    for (let k = 1; k < count; k++) {
      const x = rand();
      if (x < 0.55) {
        const by = rand() < 0.75 ? "agent" : "human";
        ops.push(mk("discuss", by, { message: sentence(Math.floor(msgLen * (0.3 + rand() * 1.4))) }));
      } else if (x < 0.75) {
        const list = kind === "work_item" ? wiStatuses : invStatuses;
        status = pick(list);
        const set = newMap();
        set.status = status;
        if (rand() < 0.3) set.priority = Math.floor(rand() * 5);
        ops.push(mk("update", "agent", { set }));
      } else if (x < 0.88) {
        const add = newMap();
        add.tags = [pick(TAGS)];
        const op: Record<string, unknown> = { set: newMap(), add };
        if (rand() < 0.3) {
          const rem = newMap();
          rem.tags = [pick(TAGS)];
          op.remove = rem;
        }
        ops.push(mk("update", "agent", op));
      } else if (x < 0.95 && ids.length > 0) {
        const set = newMap();
        const other = ids[Math.floor(rand() * ids.length)];
        if (other.tier !== "stealth" || tier === "stealth") set.parent = other.id;
        ops.push(mk("update", "agent", { set }));
      } else if (x < 0.97) {
        ops.push(mk("lock", "human", { lock: [pick(["priority", "status", "title"])] }));
      } else {
        const set = newMap();
        set.title = `${data.title} (revised)`;
        ops.push(mk("update", "agent", { set }));
      }
    }
    // Some items end with an unread human question; some are blocked by an earlier item.
    if (rand() < 0.08) ops.push(mk("discuss", "human", { message: `Can you check ${words(8)}?` }));
    if (rand() < 0.1 && ids.length > 0) {
      const blocker = ids[Math.floor(rand() * ids.length)];
      if (blocker.tier === tier || (tier !== "stealth" && blocker.tier !== "stealth")) {
        // The blocker lists this item in its isbefore (written into the blocker's file below).
        pendingLinks.push({ from: blocker, to: id });
      }
    }
    const text = ops.map(serializeOp).join("");
    const file = path.join(dirs[tier], `.${id}.ops`);
    fs.writeFileSync(file, text);
    bytes += Buffer.byteLength(text);
    totalOps += ops.length;
    ids.push({ id, tier });
  }
  // isbefore links: append an update to each blocker file.
  for (const link of pendingLinks) {
    const file = path.join(dirs[link.from.tier], `.${link.from.id}.ops`);
    const text = fs.readFileSync(file, "utf8");
    const clocks = [...text.matchAll(/^ {2}clock: (\d+)/gm)].map((m) => Number(m[1]));
    const used = new Set([...text.matchAll(/^ {2}nonce: '?([0-9a-f]{4})/gm)].map((m) => m[1]));
    const add = newMap();
    add.isbefore = [link.to];
    const op = newMap();
    op.op = "update";
    op.at = fmt(clockTime);
    op.by = "agent";
    op.actor = agent;
    op.clock = Math.max(0, ...clocks) + 1;
    op.nonce = nonceFrom(rand, used);
    op.set = newMap();
    op.add = add;
    clockTime += 5000;
    const s = serializeOp(op);
    fs.appendFileSync(file, s);
    bytes += Buffer.byteLength(s);
    totalOps++;
  }
  return { root, ids, bytes, ops: totalOps };
}
