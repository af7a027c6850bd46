/**
 * Untrusted text → terminal-safe text. Item text is written by agents; nothing from it may
 * reach a terminal as a control character or escape sequence (CSI, OSC, DCS, C1), nor
 * silently reorder what the human reads (bidi overrides). This is the one sanitiser used
 * where text enters the CLI's text output and the TUI's view layer.
 */

/** Code points rendered as visible escapes: C0 (except \n, \t), DEL, C1, bidi and invisible formatting. */
const UNSAFE =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\u2028\u2029]/gu;

function escapeCp(ch: string): string {
  const cp = ch.codePointAt(0)!;
  if (cp === 0x1b) return "\\e";
  if (cp === 0x0d) return "\\r";
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, "0")}`;
  return `\\u${cp.toString(16).padStart(4, "0")}`;
}

/**
 * Make text safe for a terminal while keeping it readable: control and formatting
 * characters become visible escapes (`\e`, `\x07`, `\u202e`); lone surrogates become U+FFFD.
 * @param opts.multiline keep `\n` (default false: `\n` becomes the two characters `\n`)
 * @param opts.tabs keep `\t` (default false: a tab becomes a space)
 */
export function sanitizeText(s: string, opts: { multiline?: boolean; tabs?: boolean } = {}): string {
  let out = s.isWellFormed() ? s : s.toWellFormed();
  out = out.replace(UNSAFE, escapeCp);
  if (!opts.multiline) out = out.replace(/\n/g, "\\n");
  if (!opts.tabs) out = out.replace(/\t/g, " ");
  return out;
}

/** True when the text contains anything `sanitizeText` would change (besides newlines/tabs). */
export function hasUnsafeText(s: string): boolean {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(s) || !s.isWellFormed();
}
