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
 * SimHash of a text (store.md §4.2): tokens `[a-z0-9]+` of the lowercased text; each token's
 * SHA-1 digest (as a big-endian integer, low 64 bits) votes +1/−1 per bit; bit set iff its
 * vote > 0. Each distinct token is hashed once and votes with its count (the votes are a sum:
 * the same result, where a long text repeats most of its words), and the 64 bits are counted
 * as two 32-bit halves instead of BigInt shifts (a 5 MB description took ~5 s, now well
 * under one).
 * @returns the high and low 32 bits of the hash, unsigned: `[hi, lo]`
 */
export function simhashHalves(text: string): [number, number] {
  const counts = new Map<string, number>();
  const lower = text.toLowerCase();
  const re = /[a-z0-9]+/g;
  for (let m = re.exec(lower); m !== null; m = re.exec(lower)) {
    const tok = m[0];
    counts.set(tok, (counts.get(tok) ?? 0) + 1);
  }
  const votes = new Float64Array(64); // [0, 32): bits 0–31 (digest bytes 16–19); [32, 64): bytes 12–15
  for (const [tok, n] of counts) {
    const d = createHash("sha1").update(tok, "utf8").digest();
    const lo = d.readUInt32BE(16);
    const hi = d.readUInt32BE(12);
    for (let b = 0; b < 32; b++) {
      votes[b] += (lo >>> b) & 1 ? n : -n;
      votes[b + 32] += (hi >>> b) & 1 ? n : -n;
    }
  }
  let lo = 0;
  let hi = 0;
  for (let b = 0; b < 32; b++) {
    if (votes[b] > 0) lo |= 1 << b;
    if (votes[b + 32] > 0) hi |= 1 << b;
  }
  return [hi >>> 0, lo >>> 0];
}

/** `simhashHalves` as one 64-bit value (0n ≤ h < 2^64). */
export function simhash(text: string): bigint {
  const [hi, lo] = simhashHalves(text);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Number of set bits of a 32-bit value. */
export function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
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
