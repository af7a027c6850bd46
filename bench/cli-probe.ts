/**
 * Where a warm `htrac ready --json` / `htrac list --json` spends its time, measured in one
 * fresh process with the CLI's own functions. argv: <repo> <ready|list>
 * Phases: module start-up (process start → this line), opening the tracker from the warm-start
 * cache, the query, building the JSON text (the CLI's writer), writing it to /dev/null.
 * Prints one JSON line.
 */
import fs from "node:fs";
import path from "node:path";
import { unreadSummaries } from "../src/cli/cmd-read.js";
import { itemJsonTexts } from "../src/cli/format.js";
import { pyJsonPieces } from "../src/cli/io.js";
import { openTracker } from "../src/index.js";

const startupMs = performance.now(); // since the process started
const [repo, command] = process.argv.slice(2);
const t0 = performance.now();
const t = openTracker(path.join(repo, ".agent"), { gitPeek: false, createDirs: false });
const t1 = performance.now();
let value: unknown;
let t2: number;
if (command === "ready") {
  const ready = t.readySummaries();
  const unread = unreadSummaries(t);
  t2 = performance.now();
  value = {
    ready: itemJsonTexts(t, ready, 2),
    items_with_unread_messages: unread.map((i) => ({
      id: i.id,
      title: i.title,
      status: i.status,
      priority: i.priority,
      unread_count: i.unread,
    })),
  };
} else {
  const list = t.listSummaries();
  t2 = performance.now();
  value = itemJsonTexts(t, list, 1);
}
const pieces: (string | Buffer)[] = [];
let bytes = 0;
for (const p of pyJsonPieces(value, 2)) {
  pieces.push(p);
  bytes += p.length;
}
const t3 = performance.now();
const fd = fs.openSync("/dev/null", "w");
for (const p of pieces) {
  if (typeof p === "string") fs.writeSync(fd, p, null, "latin1");
  else fs.writeSync(fd, p);
}
fs.closeSync(fd);
const t4 = performance.now();
console.log(
  JSON.stringify({
    startupMs: Math.round(startupMs),
    openMs: Math.round(t1 - t0),
    queryMs: Math.round(t2 - t1),
    jsonMs: Math.round(t3 - t2),
    writeMs: Math.round(t4 - t3),
    mb: +(bytes / 1e6).toFixed(1),
  }),
);
