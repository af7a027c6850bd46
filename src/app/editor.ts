/**
 * `$EDITOR` for multi-line dialog fields (Ctrl+O): the terminal is handed over to the
 * editor (alternate screen left, raw mode off), the text round-trips through a private temp
 * file, and the TUI is restored afterwards. The editor command is run like git does
 * (`sh -c '$EDITOR "$1"'`), so `EDITOR="code -w"` works.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { importPackage } from "../store/esm.js";

/**
 * Edit `text` in `$VISUAL`/`$EDITOR` (default `vi`).
 * @param suspend runs the editor with the terminal released (the adapter's `suspend`)
 * @returns the edited text without one trailing newline, or null when the editor failed
 *   (non-zero exit) so the dialog keeps its text
 */
export async function editInEditor(
  text: string,
  env: NodeJS.ProcessEnv,
  suspend: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<string | null> {
  const editor = env.VISUAL || env.EDITOR || "vi";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "htrac-edit-"));
  const file = path.join(dir, "message.md");
  try {
    fs.writeFileSync(file, text.endsWith("\n") || text === "" ? text : `${text}\n`, { mode: 0o600 });
    const { execa } = await importPackage<typeof import("execa")>("execa");
    const r = await suspend(() =>
      execa("sh", ["-c", `${editor} "$1"`, "htrac-editor", file], {
        stdio: "inherit",
        reject: false,
        env,
      }),
    );
    if (r.exitCode !== 0) return null;
    return fs.readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
