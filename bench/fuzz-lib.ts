/**
 * Fuzzing the store's reader (issue: hostile input). Properties, checked with fast-check:
 * - parseOpLog never throws, never hangs, and reports problems as typed values with a line;
 * - compileOps on whatever the parser returns either compiles or throws a TrackerError
 *   (never a TypeError/RangeError and friends);
 * - serializeOp on arbitrary op-shaped values either writes text that reads back to the
 *   same op or refuses with a typed error.
 * Inputs: YAML-ish random text, mutated real corpus files, and random op objects.
 */
import fs from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { compileOps, parseOpLog, serializeOp, TrackerError } from "../src/index.js";
import { newMap, type YamlMap, type YamlValue } from "../src/store/values.js";

/** Result of a fuzz run. */
export interface FuzzReport {
  cases: number;
  /** Slowest single parse+compile (ms). */
  maxMs: number;
  /** Parse problems seen (by kind) — shows the inputs reached the error paths. */
  problemKinds: Record<string, number>;
  compiled: number;
  typedRefusals: number;
}

const ALPHABET = [
  "- ",
  "op: ",
  "create",
  "discuss",
  "update",
  "  ",
  "    ",
  "\n",
  "\r\n",
  "\t",
  ": ",
  "#",
  "  # a1b2",
  "'",
  '"',
  "\\",
  "[",
  "]",
  "{",
  "}",
  ",",
  "|",
  ">",
  "&a ",
  "*a",
  "!!str ",
  "%YAML",
  "---",
  "...",
  "?",
  "@",
  "`",
  "yes",
  "no",
  "~",
  "null",
  "1:30",
  "0x1f",
  "1e3",
  ".inf",
  "2026-01-01",
  "clock: 1",
  "nonce: beef",
  "data:",
  "title: x",
  "message: y",
  "set:",
  "add:",
  "tags: [a, b]",
  "é",
  "😀",
  "\u0000",
  "\u001b[2J",
  "\u0085",
  "\u2028",
  "\ufeff",
  "\ud800",
];

/** YAML-ish random text from an alphabet of tokens that exercise the parser's branches. */
export const yamlishText = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 120 }).map((a) => a.join(""));

/** Read the corpus op files once (when present). */
export function corpusTexts(corpusAgent: string): string[] {
  const out: string[] = [];
  for (const d of [
    path.join(corpusAgent, "tracker", ".ops"),
    path.join(corpusAgent, "tracker-workspace", ".ops"),
  ]) {
    if (!fs.existsSync(d)) continue;
    for (const n of fs.readdirSync(d).sort())
      if (n.endsWith(".ops")) out.push(fs.readFileSync(path.join(d, n), "utf8"));
  }
  return out;
}

/** A real file with random mutations (flips, deletions, duplications, insertions, cuts). */
export function mutatedCorpus(texts: string[]): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.nat({ max: Math.max(0, texts.length - 1) }),
      fc.array(
        fc.tuple(
          fc.constantFrom("flip", "delete", "dup", "insert", "cut"),
          fc.nat(),
          fc.nat({ max: 40 }),
          yamlishText,
        ),
        { minLength: 1, maxLength: 6 },
      ),
    )
    .map(([i, muts]) => {
      let s = texts[i] ?? "";
      for (const [kind, at0, len, ins] of muts) {
        const at = s.length ? at0 % s.length : 0;
        if (kind === "flip")
          s =
            s.slice(0, at) +
            String.fromCharCode((s.charCodeAt(at) ^ (1 << (len % 7))) & 0xffff) +
            s.slice(at + 1);
        else if (kind === "delete") s = s.slice(0, at) + s.slice(at + len);
        else if (kind === "dup") s = s.slice(0, at + len) + s.slice(at, at + len) + s.slice(at + len);
        else if (kind === "insert") s = s.slice(0, at) + ins + s.slice(at);
        else s = s.slice(0, at);
      }
      return s;
    });
}

const scalar: fc.Arbitrary<YamlValue> = fc.oneof(
  fc.string({ unit: "grapheme-composite", maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.constantFrom(
    "yes",
    "no",
    "null",
    "~",
    "1:30",
    "0x10",
    "1e3",
    "-",
    "#x",
    "a: b",
    "'q'",
    '"q"',
    "",
    " lead",
  ),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);

/** Op-shaped objects: known op types and keys with arbitrary values, plus junk keys. */
export const opObject: fc.Arbitrary<YamlMap> = fc
  .record(
    {
      op: fc.oneof(
        fc.constantFrom("create", "update", "discuss", "discuss_clear", "lock", "unlock", "promote"),
        scalar,
      ),
      at: fc.oneof(fc.constant("2026-01-01T00:00:00Z"), scalar),
      by: fc.oneof(fc.constantFrom("agent", "human"), scalar),
      actor: fc.oneof(fc.constant("alice"), scalar),
      clock: fc.oneof(fc.nat({ max: 1000 }), scalar),
      nonce: fc.oneof(fc.stringMatching(/^[0-9a-f]{4}$/), scalar),
      data: fc.oneof(
        fc.record({
          kind: fc.oneof(fc.constant("work_item"), scalar),
          title: scalar,
          status: fc.oneof(fc.constant("todo_hard"), scalar),
          priority: fc.oneof(fc.nat({ max: 4 }), scalar),
          tags: fc.oneof(fc.array(scalar, { maxLength: 3 }), scalar),
          fields: fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), scalar, { maxKeys: 3 }), scalar),
        }),
        scalar,
      ),
      message: scalar,
      set: fc.oneof(
        fc.dictionary(fc.constantFrom("title", "status", "priority", "tags", "fields", "x"), scalar),
        scalar,
      ),
      lock: fc.oneof(fc.array(scalar, { maxLength: 3 }), scalar),
    },
    { requiredKeys: ["op"] },
  )
  .map((r) => {
    const m = newMap();
    for (const [k, v] of Object.entries(r)) m[k] = v as YamlValue;
    return m;
  });

function untyped(e: unknown): boolean {
  return !(e instanceof TrackerError);
}

/**
 * Run the properties for `cases` inputs split across the three generators.
 * @throws the fast-check failure (with the counterexample) when a property fails
 */
export function runFuzz(opts: { cases: number; seed?: number; corpus: string[] }): FuzzReport {
  const rep: FuzzReport = { cases: 0, maxMs: 0, problemKinds: {}, compiled: 0, typedRefusals: 0 };
  const check = (text: string) => {
    const t0 = performance.now();
    const r = parseOpLog(text, { file: ".FUZZ.ops" });
    for (const p of r.problems) {
      if (typeof p.message !== "string" || !Number.isInteger(p.line) || p.line < 1)
        throw new Error(`untyped problem: ${JSON.stringify(p)}`);
      rep.problemKinds[p.kind] = (rep.problemKinds[p.kind] ?? 0) + 1;
    }
    try {
      compileOps(r.ops, "WI-fuzz");
      rep.compiled++;
    } catch (e) {
      if (untyped(e)) throw e;
      rep.typedRefusals++;
    }
    rep.maxMs = Math.max(rep.maxMs, performance.now() - t0);
    rep.cases++;
  };
  const third = Math.max(1, Math.floor(opts.cases / 3));
  const params = (n: number) => ({ numRuns: n, seed: opts.seed, endOnFailure: true });
  fc.assert(
    fc.property(yamlishText, (t) => check(t)),
    params(third),
  );
  if (opts.corpus.length)
    fc.assert(
      fc.property(mutatedCorpus(opts.corpus), (t) => check(t)),
      params(third),
    );
  fc.assert(
    fc.property(fc.array(opObject, { minLength: 1, maxLength: 4 }), (ops) => {
      let text = "";
      for (const op of ops) {
        try {
          text += serializeOp(op);
        } catch (e) {
          if (untyped(e)) throw e;
          rep.typedRefusals++;
          continue;
        }
      }
      check(text);
      // What was written reads back to as many ops as were written.
      const back = parseOpLog(text);
      if (back.problems.some((p) => p.fatal)) throw new Error(`serialized text does not read back:\n${text}`);
    }),
    params(opts.cases - 2 * third),
  );
  return rep;
}
