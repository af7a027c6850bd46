/**
 * One measurement of bench:store, run in a fresh process. argv: <mode> <repo>
 * Modes: raw (read all bytes), load (openTracker + list), yaml (the `yaml` library alone),
 * append (incremental reload of one appended op, repeated), bgwrite (a cold load's cache
 * written in the background).
 * Prints one JSON line.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openTracker } from "../src/index.js";
import { SEARCH_TEXT_KEY, searchText } from "../src/store/query.js";
import { discussOpBytes } from "./common.js";

const [mode, repo] = process.argv.slice(2);
const root = path.join(repo, ".agent");
const dirs = [
  path.join(root, "tracker", ".ops"),
  path.join(root, "tracker-workspace", ".ops"),
  path.join(root, "tracker-workspace", "stealth"),
];
/** Every op file (raw and yaml modes only: listing 10k paths is not part of a store load). */
function opFiles(): string[] {
  return dirs.flatMap((d) =>
    fs
      .readdirSync(d)
      .filter((n) => n.endsWith(".ops"))
      .map((n) => path.join(d, n)),
  );
}

function out(o: Record<string, unknown>): void {
  const rss = process.resourceUsage().maxRSS / 1024; // KiB → MiB
  console.log(JSON.stringify({ ...o, maxRssMB: Math.round(rss) }));
}

if (mode === "raw") {
  const files = opFiles();
  const t0 = performance.now();
  let bytes = 0;
  for (const f of files) bytes += fs.readFileSync(f).length;
  out({ ms: performance.now() - t0, bytes, files: files.length });
} else if (mode === "load" || mode === "warm" || mode === "warm-summaries") {
  // "load" is cold (no warm-start cache); "warm" uses the per-user cache (written by a
  // previous run when missing) and revives every item (list()); "warm-summaries" answers
  // the same listing from the cached summaries (listSummaries(), as the CLI does).
  const t0 = performance.now();
  const t = openTracker(root, { gitPeek: false, createDirs: false, indexCache: mode !== "load" });
  const items = mode === "warm-summaries" ? t.listSummaries() : t.list();
  const ms = performance.now() - t0;
  out({ ms, items: items.length, problems: t.problems().length });
} else if (mode === "yaml") {
  // Imported here only: the other modes measure the store's memory, not the yaml library's.
  const { default: YAML } = await import("yaml");
  const files = opFiles();
  const t0 = performance.now();
  let docs = 0;
  for (const f of files) {
    YAML.parse(fs.readFileSync(f, "utf8"));
    docs++;
  }
  out({ ms: performance.now() - t0, docs });
} else if (mode === "append") {
  const t = openTracker(root, { gitPeek: false, createDirs: false });
  const item = t.items().find((i) => i.tier === "workspace")!;
  const file = t.opFile(item.id);
  const original = fs.readFileSync(file);
  const times: number[] = [];
  try {
    for (let i = 0; i < 50; i++) {
      fs.appendFileSync(
        file,
        discussOpBytes(100000 + i, (0xb000 + i).toString(16), `incremental reload probe ${i}`),
      );
      const t0 = performance.now();
      t.tiers.workspace.refresh(item.id);
      const it = t.tiers.workspace.item(item.id)!;
      times.push(performance.now() - t0);
      if (it.discussion[it.discussion.length - 1].message !== `incremental reload probe ${i}`)
        throw new Error("not applied");
    }
  } finally {
    fs.writeFileSync(file, original);
  }
  times.sort((a, b) => a - b);
  out({ p50: times[25], p95: times[47], max: times[49] });
} else if (mode === "bgwrite") {
  // A cold load whose cache is written in the background, as the TUI's first start does
  // (into a scratch cache directory): how long it takes and the longest the event loop
  // waited meanwhile (what a key typed then would wait).
  const env = { ...process.env, XDG_CACHE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), "htrac-bgw-")) };
  const t = openTracker(root, { gitPeek: false, createDirs: false, indexCacheWrite: "background", env });
  t.deriveOnSave(SEARCH_TEXT_KEY, searchText);
  let last = performance.now();
  let stall = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  await t.finishIndexCache();
  const ms = performance.now() - t0;
  clearInterval(tick);
  fs.rmSync(env.XDG_CACHE_HOME, { recursive: true, force: true });
  out({ ms, stallMs: Math.max(stall, performance.now() - last) });
} else {
  throw new Error(`unknown mode ${mode}`);
}
