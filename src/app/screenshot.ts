/**
 * Screenshots of the TUI: the exact frame saved as SVG (and PNG when the renderer is
 * available) under `.agent/screenshots/<short id>-YYYYMMDD-HHMMSS.svg`, falling back to a
 * per-user temp dir when the repository is not writable.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { App } from "./app.js";
import { frameSvg } from "./export.js";

/** Name of a screenshot file (tui.md §5.1): short ID (prefix + two syllables) and local time. */
export function screenshotName(selectedId: string | null, now: Date): string {
  const id = selectedId ? selectedId.split("-").slice(0, 3).join("-") : "screen";
  const p = (n: number) => String(n).padStart(2, "0");
  return `${id}-${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
}

/** Directory for screenshots, falling back to `$TMPDIR/<uid>-htrac-screenshots`. */
export function screenshotDir(app: App): string {
  const dir = app.tracker.paths.screenshotsDir;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return dir;
  } catch {
    const uid = typeof process.getuid === "function" ? process.getuid() : "user";
    const fb = path.join(os.tmpdir(), `${uid}-htrac-screenshots`);
    fs.mkdirSync(fb, { recursive: true });
    return fb;
  }
}

/** Save the current frame as SVG; returns the path. */
export async function takeScreenshot(
  app: App,
  _opts: { writeRaw: (s: string) => void; env: NodeJS.ProcessEnv },
): Promise<string> {
  const dir = screenshotDir(app);
  const base = screenshotName(app.state.selectedId, new Date(app.deps.now()));
  const file = path.join(dir, `${base}.svg`);
  fs.writeFileSync(file, frameSvg(app.frame(), undefined, base));
  app.toast(`Screenshot saved: ${file}`);
  app.set(app.state);
  return file;
}
