/**
 * 64-bit SimHash for near-duplicate detection (store.md §4.2, §5.4 `--similar`).
 */
import { createHash } from "node:crypto";
import { isMap, pyStr, type YamlValue } from "./values.js";

const MASK64 = (1n << 64n) - 1n;

/**
 * Text the reference hashes for an item: title, description, string field values and
 * `str()` of list-field items, space-joined.
 */
export function simhashText(title: unknown, description: unknown, fields: YamlValue | undefined): string {
  const parts: string[] = [pyStr(title ?? ""), pyStr(description ?? "")];
  if (isMap(fields)) {
    for (const k of Object.keys(fields)) {
      const v = fields[k];
      if (typeof v === "string") parts.push(v);
      else if (Array.isArray(v)) for (const x of v) parts.push(pyStr(x));
    }
  }
  return parts.join(" ");
}

/**
 * SimHash of a text: tokens `[a-z0-9]+` of the lowercased text; each token's SHA-1 digest
 * (as a big-endian integer, low 64 bits) votes +1/−1 per bit; bit set iff its vote > 0.
 */
export function simhash(text: string): bigint {
  const votes = new Int32Array(64);
  const tokens = text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  for (const tok of tokens) {
    const d = createHash("sha1").update(tok, "utf8").digest();
    const h = d.readBigUInt64BE(d.length - 8) & MASK64;
    for (let b = 0; b < 64; b++) votes[b] += (h >> BigInt(b)) & 1n ? 1 : -1;
  }
  let out = 0n;
  for (let b = 0; b < 64; b++) if (votes[b] > 0) out |= 1n << BigInt(b);
  return out;
}

/** Number of differing bits between two 64-bit hashes. */
export function hamming(a: bigint, b: bigint): number {
  let x = (a ^ b) & MASK64;
  let n = 0;
  while (x) {
    x &= x - 1n;
    n++;
  }
  return n;
}
