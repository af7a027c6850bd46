/**
 * Copy to the clipboard: OSC 52 through the terminal (works over SSH and in tmux with
 * set-clipboard on), and clipboardy as well when a local display exists.
 */
import { importPackage } from "../store/esm.js";

/** The OSC 52 sequence setting the clipboard to `text` (tmux-aware terminator). */
export function osc52(text: string, env: NodeJS.ProcessEnv): string {
  const b64 = Buffer.from(text, "utf8").toString("base64");
  return env.TMUX ? `\x1b]52;c;${b64}\x1b\\` : `\x1b]52;c;${b64}\x07`;
}

/**
 * Copy `text`: always OSC 52; also the local clipboard through clipboardy when there is a
 * display and no SSH session. @returns how it was copied (for the toast)
 */
export async function copyToClipboard(
  text: string,
  writeRaw: (s: string) => void,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  writeRaw(osc52(text, env));
  const local = (env.DISPLAY || env.WAYLAND_DISPLAY) && !env.SSH_TTY && !env.SSH_CONNECTION;
  if (!local) return "OSC 52; your terminal must allow clipboard writes";
  try {
    const { default: clipboard } = await importPackage<typeof import("clipboardy")>("clipboardy");
    await clipboard.write(text);
    return "system clipboard and OSC 52";
  } catch {
    return "OSC 52; the local clipboard tool failed";
  }
}
