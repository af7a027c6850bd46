/**
 * Git peeks used by writes (store.md §6.3, §7.1), through execa. Every git failure is swallowed (the reference falls back to local data), with
 * the reference's timeouts (5 s for small queries, 10 s for `cat-file --batch`).
 */
import path from "node:path";
import { importPackage } from "./esm.js";

/** execa, loaded on first use (its import costs ~100 ms, which read-only commands skip). */
async function loadExeca(): Promise<typeof import("execa").execa> {
  return (await importPackage<typeof import("execa")>("execa")).execa;
}

/** Run git in `repoRoot`; never throws. @returns stdout, or null on any failure */
async function gitText(repoRoot: string, args: string[], timeout = 5000): Promise<string | null> {
  try {
    const execa = await loadExeca();
    const r = await execa("git", args, { cwd: repoRoot, timeout, reject: false, stripFinalNewline: true });
    return r.exitCode === 0 ? String(r.stdout) : null;
  } catch {
    return null;
  }
}

/**
 * Branches not merged into `base` (`git branch --no-merged <base> --format=%(refname:short)`).
 * @returns branch names (empty on failure)
 */
export async function unmergedBranches(repoRoot: string, base: string): Promise<string[]> {
  const out = await gitText(repoRoot, ["branch", "--no-merged", base, "--format=%(refname:short)"]);
  if (!out) return [];
  return out
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Read `<ref>:<relPath>` for several refs with one `git cat-file --batch` (store.md §7.1).
 * @param relPath repository-relative path with forward slashes
 * @returns ref → file content (refs where the path is missing are absent)
 */
export async function catFileBatch(
  repoRoot: string,
  refs: string[],
  relPath: string,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (refs.length === 0) return found;
  const unique = [...new Set(refs)];
  const input = unique.map((r) => `${r}:${relPath}\n`).join("");
  let buf: Buffer;
  try {
    const execa = await loadExeca();
    const r = await execa("git", ["cat-file", "--batch"], {
      cwd: repoRoot,
      input,
      timeout: 10_000,
      reject: false,
      encoding: "buffer",
      stripFinalNewline: false,
    });
    if (r.exitCode !== 0) return found;
    buf = Buffer.from(r.stdout as Uint8Array);
  } catch {
    return found;
  }
  let pos = 0;
  for (const ref of unique) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) break;
    const header = buf.subarray(pos, nl).toString("utf8");
    pos = nl + 1;
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) continue; // "<name> missing" / "ambiguous"
    const size = Number(m[2]);
    const content = buf.subarray(pos, pos + size);
    pos += size + 1; // content then "\n"
    if (m[1] === "blob") found.set(ref, content.toString("utf8"));
  }
  return found;
}

/** Repository-relative path with forward slashes. */
export function repoRelative(repoRoot: string, file: string): string {
  return path.relative(repoRoot, file).split(path.sep).join("/");
}
