/**
 * Actor resolution (store.md §6.1): the OS user of the real uid decides whether a write is
 * by an `agent` or a `human`. Environment variables cannot change it (deliberately
 * non-forgeable: the human and the agent are two OS users sharing a group).
 */
import os from "node:os";
import { TrackerError } from "./errors.js";

/** Who writes: `by` is stamped on every op, `actor` is the OS username. */
export interface Actor {
  by: "agent" | "human";
  actor: string;
}

/**
 * Translate a Python `fnmatch` pattern to a RegExp (case-sensitive, POSIX `fnmatchcase`):
 * `*`, `?`, `[seq]`, `[!seq]`; an unclosed `[` is literal.
 */
export function fnmatchToRegExp(pat: string): RegExp {
  let i = 0;
  const n = pat.length;
  let res = "";
  while (i < n) {
    const c = pat[i++];
    if (c === "*") {
      res += ".*";
      while (pat[i] === "*") i++;
    } else if (c === "?") res += ".";
    else if (c === "[") {
      let j = i;
      if (j < n && pat[j] === "!") j++;
      if (j < n && pat[j] === "]") j++;
      while (j < n && pat[j] !== "]") j++;
      if (j >= n) res += "\\[";
      else {
        let stuff = pat.slice(i, j);
        i = j + 1;
        let negate = false;
        if (stuff[0] === "!") {
          negate = true;
          stuff = stuff.slice(1);
        }
        // Escape everything regex-special inside the class except the range dash.
        const body = stuff.replace(/[\\\]^[]/g, "\\$&");
        res += `[${negate ? "^" : ""}${body}]`;
      }
    } else res += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^(?:${res})$`, "s");
}

/** Python `fnmatch.fnmatchcase(name, pattern)`. */
export function fnmatch(name: string, pattern: string): boolean {
  try {
    return fnmatchToRegExp(pattern).test(name);
  } catch {
    return name === pattern;
  }
}

/** Provider of the OS username (injectable for tests; production uses the real uid). */
export type UserProvider = () => string;

/**
 * The OS username of the real uid (`getpwuid(getuid())`), never from environment variables.
 * @throws TrackerError when the uid has no passwd entry
 */
export const osUser: UserProvider = () => {
  try {
    return os.userInfo().username;
  } catch {
    const uid = typeof process.getuid === "function" ? process.getuid() : -1;
    throw new TrackerError(`cannot resolve the OS user for uid ${uid} (no passwd entry)`);
  }
};

/**
 * Resolve the actor for a username against `actor_resolution.agent_usernames` patterns.
 * @returns `{by: "agent"}` when any pattern matches, else `{by: "human"}`
 */
export function resolveActor(username: string, agentPatterns: string[]): Actor {
  const agent = agentPatterns.some((p) => fnmatch(username, p));
  return { by: agent ? "agent" : "human", actor: username };
}
