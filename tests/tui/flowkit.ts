/**
 * Driving the App's write flows headlessly: a fixture tracker with a fixed clock and fixed
 * nonces (so appended op bytes are exact), key presses as the keymap sees them, and byte
 * accounting of every op file.
 */
import fs from "node:fs";
import { App } from "../../src/app/app.js";
import { type Keymap, loadKeymap } from "../../src/app/keymap.js";
import { parseKeys } from "../../src/app/run.js";
import type { ChangeEvent, Tracker } from "../../src/index.js";
import { frameText } from "../../src/app/export.js";
import { fixedClock, nonceSeq, openTest } from "../helpers.js";
import { buildTuiFixture, type TuiFixture } from "./fixture.js";

/** A running App on a fresh fixture copy. */
export interface FlowKit {
  fx: TuiFixture;
  tracker: Tracker;
  app: App;
  /** Press keys in `parseKeys` syntax ("j j d", "C-s", "Enter"). */
  keys(keys: string): Promise<void>;
  /** Type text character by character (newlines as Enter). */
  type(text: string): Promise<void>;
  /** The screen as text. */
  screen(): string;
  /** Select the item with this ID. */
  select(id: string): void;
  /** Pick up writes made by other processes, as the change feed would, and apply them. */
  external(): void;
  /** Every op file's size now (to diff later). */
  sizes(): Map<string, number>;
  /** Bytes appended to each op file since `sizes()` (only files that changed). */
  appended(before: Map<string, number>): Map<string, string>;
}

/** Build a kit; `user` picks the OS user the store sees (default the human "alice"). */
export async function flowKit(
  opts: { user?: string; cols?: number; rows?: number; keymap?: Keymap } = {},
): Promise<FlowKit> {
  const fx = await buildTuiFixture();
  const tracker = openTest(fx.repo, {
    user: () => opts.user ?? "alice",
    now: fixedClock("2026-01-20T09:00:00Z"), // a still clock: every op at the same instant
    nonce: nonceSeq(0xe000),
  });
  const app = new App({
    tracker,
    keymap: opts.keymap ?? loadKeymap(null),
    now: () => Date.parse("2026-01-20T09:00:00Z"),
    cols: opts.cols ?? 80,
    rows: opts.rows ?? 24,
    color: true,
    ascii: false,
    readOnly: false,
    persistPrefs: false,
  });
  const files = () => {
    const out: string[] = [];
    for (const t of ["canonical", "workspace", "stealth"] as const) {
      const dir = tracker.paths.tierDirs[t];
      for (const n of fs.readdirSync(dir)) if (n.endsWith(".ops")) out.push(`${dir}/${n}`);
    }
    return out;
  };
  const kit: FlowKit = {
    fx,
    tracker,
    app,
    async keys(keys) {
      for (const k of parseKeys(keys)) await app.key(k.key, k.ch);
    },
    async type(text) {
      for (const ch of Array.from(text)) {
        if (ch === "\n") await app.key("enter", "\n");
        else if (ch === " ") await app.key("space", " ");
        else await app.key(ch, ch);
      }
    },
    screen() {
      return frameText(app.frame());
    },
    select(id) {
      app.focusItem(id);
    },
    external() {
      const ev: ChangeEvent = { added: [], changed: [], removed: [], problems: [], source: "events" };
      for (const t of ["canonical", "workspace", "stealth"] as const) {
        for (const [id, c] of tracker.tiers[t].rescan())
          ev[c === "added" ? "added" : c === "removed" ? "removed" : "changed"].push({ id, tier: t });
      }
      app.onChanges(ev);
    },
    sizes() {
      return new Map(files().map((f) => [f, fs.statSync(f).size]));
    },
    appended(before) {
      const out = new Map<string, string>();
      for (const f of files()) {
        const buf = fs.readFileSync(f);
        const from = before.get(f) ?? 0;
        if (buf.length !== from) out.set(f, buf.subarray(from).toString("utf8"));
      }
      return out;
    },
  };
  return kit;
}

/** The single appended chunk (asserting exactly one file changed). */
export function onlyAppend(m: Map<string, string>): { file: string; bytes: string } {
  if (m.size !== 1)
    throw new Error(`expected one changed op file, got ${m.size}: ${[...m.keys()].join(", ")}`);
  const [[file, bytes]] = [...m];
  return { file, bytes };
}

/**
 * Add `n` alike open work items (a topic an agent filed many times: what the clusters view
 * groups) through the kit's tracker, then let the app see them.
 * @param title the title of the i-th item (0-based)
 * @returns their IDs, in the order added
 */
export async function addAlike(
  k: FlowKit,
  n: number,
  title: (i: number) => string,
  description: string,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++)
    ids.push((await k.tracker.add({ kind: "work_item", title: title(i), priority: 2, description })).id);
  k.external();
  return ids;
}
