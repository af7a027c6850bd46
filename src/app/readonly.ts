/**
 * A read-only view of a tracker: every write method refuses with a typed error. Used by
 * `htrac tui --read-only` and by snapshot mode (rendering must never write).
 */
import { type Tracker, TrackerError } from "../index.js";

const WRITES = new Set([
  "add",
  "update",
  "discuss",
  "discussClear",
  "discussSummarize",
  "lock",
  "unlock",
  "promote",
  "demote",
  "stealth",
  "unstealth",
  "freeze",
  "unfreeze",
  "repairDrift",
  "delete",
  "editModeOn",
  "editModeOff",
  "deleteMsg",
  "undeleteMsg",
  "editMsgText",
  "recover",
  "reconcileReset",
]);

/**
 * Wrap a tracker so that writes throw "read-only session: nothing was written".
 * @param refusing while it returns true, writes are refused (default: always); a session
 *   read-only only until its config is fixed passes its own flag
 */
export function readOnlyTracker(t: Tracker, refusing: () => boolean = () => true): Tracker {
  return new Proxy(t, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof prop === "string" && WRITES.has(prop) && refusing()) {
        return () => Promise.reject(new TrackerError("read-only session: nothing was written"));
      }
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
