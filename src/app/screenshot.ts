/**
 * Screenshots of the TUI: the exact frame saved as SVG (and PNG when the renderer is
 * available) under `.agent/screenshots/<short id>-YYYYMMDD-HHMMSS.svg`, falling back to a
 * per-user temp dir when the repository is not writable.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { App } from "./app.js";
import { importPackage } from "../store/esm.js";

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

/**
 * Open a file with the desktop's viewer (`xdg-open`, or `open` on macOS) when there is a
 * local display. @returns null when started, else why not (over SSH: copy the path instead)
 */
export async function openWithViewer(file: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  const mac = process.platform === "darwin";
  if (!mac && !env.DISPLAY && !env.WAYLAND_DISPLAY) return `No display here (SSH?): ${file}`;
  try {
    const { execa } = await importPackage<typeof import("execa")>("execa");
    const child = execa(mac ? "open" : "xdg-open", [file], {
      detached: true,
      stdio: "ignore",
      reject: false,
    });
    child.unref();
    return null;
  } catch (e) {
    return `Could not open ${file}: ${(e as Error).message}`;
  }
}
