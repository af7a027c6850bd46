import fs from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseOpLog, parseYamlDocument } from "../../src/store/oplog.js";
import { PyFloat } from "../../src/store/values.js";
import { resolvePlain11 } from "../../src/store/yaml11.js";
import { CORPUS_AGENT, corpusFiles, fromOracle, Oracle, oracleAvailable } from "../helpers.js";

/** Normalise our values for comparison with the oracle's tagged values. */
function norm(v: unknown): unknown {
  if (v instanceof PyFloat) return { float: v.value };
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) o[k] = norm((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

/** The lines of an `update` op up to its `set:` key (the tests below add the set's body). */
const UPDATE_HEAD = [
  "- op: update  # abcd",
  "  at: '2026-01-01T00:00:00Z'  # abcd",
  "  by: agent  # abcd",
  "  clock: 3  # abcd",
  "  nonce: abcd  # abcd",
  "  set:  # abcd",
];

describe("YAML 1.1 plain scalars as PyYAML reads them (store.md §2.6)", () => {
  it.each([
    ["yes", true],
    ["Yes", true],
    ["NO", false],
    ["on", true],
    ["Off", false],
    ["true", true],
    ["y", "y"],
    ["n", "n"],
    ["~", null],
    ["null", null],
    ["", null],
    ["1:30", 90],
    ["12:30:00", 45000],
    ["0b101", 5],
    ["017", 15],
    ["0x1F", 31],
    ["1_000", 1000],
    ["-42", -42],
    ["09", "09"],
    ["2e71", "2e71"],
    ["0e61", "0e61"],
    ["dead", "dead"],
    ["0fb5", "0fb5"],
    ["todo_hard", "todo_hard"],
  ])("%j → %j", (text, want) => {
    expect(resolvePlain11(text)).toEqual(want);
  });

  it("reads floats only with a dot, as PyFloat", () => {
    expect(resolvePlain11("1.5")).toEqual(new PyFloat(1.5));
    expect((resolvePlain11("1.0e+3") as PyFloat).value).toBe(1000);
    expect((resolvePlain11("-.inf") as PyFloat).value).toBe(Number.NEGATIVE_INFINITY);
    expect(resolvePlain11("1e3")).toBe("1e3");
  });

  it("applies the same typing in the fast path and the YAML-library path", () => {
    const text = [
      ...UPDATE_HEAD,
      "    tags: [yes, 'no', on, 1:30, plain tag]  # abcd",
      "    fields:  # abcd",
      "      off: 0x10  # abcd",
      "      list:  # abcd",
      "      - 1.5  # abcd",
      "      - ~  # abcd",
      "",
    ].join("\n");
    const fast = parseOpLog(text);
    const slow = parseOpLog(text, { forceSlow: true });
    expect(fast.problems).toEqual([]);
    expect(fast.ops).toEqual(slow.ops);
    const set = fast.ops[0].set as Record<string, unknown>;
    expect(set.tags).toEqual([true, "no", true, 90, "plain tag"]);
    expect((set.fields as Record<string, unknown>).False).toBe(16);
    expect((set.fields as Record<string, unknown>).list).toEqual([new PyFloat(1.5), null]);
  });
});

describe("fast-path interning and integers (plain scalars decoded from bytes)", () => {
  /** One op whose `set.fields` holds every given plain scalar, both as a key and as a value. */
  const opWith = (words: string[]) =>
    [
      ...UPDATE_HEAD,
      "    fields:  # abcd",
      ...words.map((w, i) => `      k${i}_${w}: ${w}  # abcd`),
      "",
    ].join("\n");

  it("keeps scalars apart that share length and first and last bytes", () => {
    // The intern table hashes only the length and the outer bytes, so these all collide.
    const words = ["abXcd", "abYcd", "abZcd", "ab_cd", "ab1cd", "ab2cd", "abxcd", "ab-cd"];
    const text = opWith([...words, ...words]);
    const fields = parseOpLog(text).ops[0].set as Record<string, Record<string, unknown>>;
    const values = Object.values(fields.fields);
    expect(values).toEqual([...words, ...words]);
    expect(Object.keys(fields.fields)).toEqual([...words, ...words].map((w, i) => `k${i}_${w}`));
  });

  it("gives the YAML 1.1 value for digits, octal, underscores, long and non-ASCII scalars", () => {
    const words = [
      "7",
      "0",
      "0766",
      "1_000",
      "123456789012345",
      "1234567890123456789",
      "12a",
      "1e3",
      "x".repeat(24),
      "y".repeat(25),
      "caf\u00e9",
      "yes",
      "Off",
      "~",
      "12f7",
      "0b10",
      "0abc",
      "ffff",
      "1234",
      "ABCD",
    ];
    const text = opWith(words);
    const fast = parseOpLog(text);
    const slow = parseOpLog(text, { forceSlow: true });
    expect(fast.problems).toEqual([]);
    expect(fast.ops).toEqual(slow.ops);
    const got = Object.values((fast.ops[0].set as Record<string, Record<string, unknown>>).fields);
    expect(got.slice(0, 6)).toEqual([7, 0, 502, 1000, 123456789012345, 1234567890123456789n]);
    expect(got.slice(6)).toEqual([
      "12a",
      "1e3",
      "x".repeat(24),
      "y".repeat(25),
      "caf\u00e9",
      true,
      false,
      null,
      "12f7",
      2,
      "0abc",
      "ffff",
      1234,
      "ABCD",
    ]);
  });

  it("fast and slow paths agree on every kind of four-hex-digit nonce", () => {
    const nonce = fc.stringMatching(/^(0b[01]{2}|[0-9a-f]{4})$/);
    fc.assert(
      fc.property(fc.array(nonce, { minLength: 1, maxLength: 40 }), (words) => {
        const text = opWith(words);
        expect(parseOpLog(text).ops).toEqual(parseOpLog(text, { forceSlow: true }).ops);
      }),
      { numRuns: 200 },
    );
  });

  it("fast and slow paths agree on random short plain words (keys and values)", () => {
    const word = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,29}$/);
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 30 }), (words) => {
        const text = opWith(words);
        const fast = parseOpLog(text);
        const slow = parseOpLog(text, { forceSlow: true });
        expect(fast.ops).toEqual(slow.ops);
      }),
      { numRuns: 300 },
    );
  });

  it("single-quoted scalars with '' anywhere, also across the short-scan boundary", () => {
    for (let pad = 30; pad <= 45; pad++) {
      const body = "x".repeat(pad) + "''" + "y".repeat(5) + "''";
      const text = [
        "- op: discuss  # abcd",
        "  at: '2026-01-01T00:00:00Z'  # abcd",
        "  by: agent  # abcd",
        "  clock: 3  # abcd",
        "  nonce: abcd  # abcd",
        `  message: '${body}'  # abcd`,
        "",
      ].join("\n");
      const fast = parseOpLog(text);
      expect(fast.ops, `pad ${pad}`).toEqual(parseOpLog(text, { forceSlow: true }).ops);
      expect(fast.ops[0].message).toBe(body.replace(/''/g, "'"));
    }
  });

  it("a small file parsed after a large one reads only its own lines", () => {
    const big = opWith(Array.from({ length: 3000 }, (_, i) => `w${i}`));
    const small = opWith(["only"]);
    const fresh = parseOpLog(small);
    expect(parseOpLog(big).ops).toHaveLength(1);
    expect(parseOpLog(small)).toEqual(fresh);
    expect(Object.values((fresh.ops[0].set as Record<string, Record<string, unknown>>).fields)).toEqual([
      "only",
    ]);
  });
});

describe("syntax errors name the line the YAML reader stopped at", () => {
  it("in an op block (not its first line) and in a whole document", () => {
    const lines = [
      "- op: create",
      '  at: "2026-01-01T00:00:00Z"',
      "  by: human",
      "  clock: 1",
      "- op: update", // line 5: the broken op starts here
      '  at: "2026-01-01T00:00:01Z"',
      "  set:",
      "    tags: [a, b", // never closed
      '    title: "y',
      "  clock: 2",
      "- op: discuss",
      '  at: "2026-01-01T00:00:02Z"',
      "  by: human",
      "  clock: 3",
      "  message: hi",
    ];
    const [p] = parseOpLog(`${lines.join("\n")}\n`).problems;
    expect(p.kind).toBe("syntax");
    expect(p.line).toBe(9); // where the unclosed list runs into the next key
    expect(p.message).toBe(`line 9: malformed YAML: ${p.message.split(": malformed YAML: ")[1]}`);
    // (a list never closed runs to the end: its last line, not the empty one after the newline)
    expect(() => parseYamlDocument("a: 1\nb:\n  - x\nc: [1, 2\n")).toThrow(/^line 4: /);
    expect(() => parseYamlDocument("a: 1\nc: [1, 2")).toThrow(/^line 2: /);
  });
});

describe("parseOpLog on the real corpus", () => {
  const files = corpusFiles();

  it("reads every file without problems and both paths agree", () => {
    expect(files.length).toBeGreaterThan(100);
    let ops = 0;
    for (const f of files) {
      const text = fs.readFileSync(f.path, "utf8");
      const fast = parseOpLog(text, { file: f.name });
      const slow = parseOpLog(text, { file: f.name, forceSlow: true });
      expect(fast.problems, f.name).toEqual([]);
      expect(fast.slowBlocks, `${f.name} left to the yaml library`).toBe(0);
      expect(fast.ops, f.name).toEqual(slow.ops);
      expect(fast.ops.length).toBe(text.split("\n").filter((l) => l.startsWith("- op:")).length);
      ops += fast.ops.length;
    }
    expect(ops).toBeGreaterThan(400);
  });

  it.skipIf(!oracleAvailable())("equals PyYAML's CSafeLoader result for every corpus file", async () => {
    const oracle = new Oracle();
    try {
      for (const f of files) {
        const text = fs.readFileSync(f.path, "utf8");
        const want = await oracle.request({ cmd: "load", text });
        expect(want.err, f.name).toBeUndefined();
        expect(norm(parseOpLog(text).ops), f.name).toEqual(fromOracle(want.ok));
      }
    } finally {
      oracle.close();
    }
  });
  if (!oracleAvailable()) {
    it("notes the oracle comparison was skipped", () => {
      console.log(
        "SKIP: python3 with PyYAML + ruamel.yaml not installed; PyYAML differential checks skipped",
      );
    });
  }
});

describe("quoted scalars over several lines on the fast path (old writers' folds)", () => {
  const HEAD = [
    "- op: discuss  # abcd",
    "  at: '2026-01-01T00:00:00Z'  # abcd",
    "  by: agent  # abcd",
    "  clock: 3  # abcd",
    "  nonce: abcd  # abcd",
  ];
  /** Two discuss ops; the first one's message is `q` + `lines` joined by newlines + `q`. */
  const opText = (q: string, lines: string[]) =>
    [
      ...HEAD,
      `  message: ${q}${lines.join("\n")}${q}  # abcd`,
      "- op: discuss  # ef01",
      ...HEAD.slice(1),
      '  message: "next"  # ef01',
      "",
    ].join("\n");

  /**
   * [quote, lines, value PyYAML reads, the yaml library reads it differently]. The `yaml`
   * library (the slow path) folds an escaped line break followed by empty lines into a space;
   * PyYAML, the reference's reader, keeps one newline per empty line.
   */
  const CASES: [string, string[], string, boolean?][] = [
    ['"', ["a long", "    folded line  # dead", "    end"], "a long folded line  # dead end"],
    ['"', ["trailing   ", "   next"], "trailing next"],
    ['"', ["para", "", "      ", "    two"], "para\n\ntwo"],
    ['"', ["joined\\", "    up"], "joinedup"],
    ['"', ["kept  \\", "      x"], "kept  x"],
    ['"', ["joined\\", "", "    after"], "joined\nafter", true],
    ['"', ["not joined\\\\", "    x"], "not joined\\ x"],
    ['"', ["escaped space\\ ", "    x"], "escaped space  x"],
    ['"', ["escaped space\\   ", "", "    x"], "escaped space \nx"],
    ['"', ['esc \\t\\x41\\u00e9\\"', '    \\n end \\" '], 'esc \tA\u00e9" \n end " '],
    ['"', ["", "    start"], " start"],
    ['"', ["end", "    "], "end "],
    ["'", ["it''s", "    a ''quote'' # c", "", "    x''"], "it's a 'quote' # c\nx'"],
    ["'", ["back\\ ", "    slash"], "back\\ slash"],
    ['"', ["caf\u00e9 😀", "    ok"], "caf\u00e9 😀 ok"],
  ];

  it("folds as PyYAML does: spaces, empty lines, escaped breaks, comments inside", () => {
    for (const [q, lines, want, libraryDiffers] of CASES) {
      const text = opText(q, lines);
      const fast = parseOpLog(text);
      expect(fast.problems, text).toEqual([]);
      expect(fast.slowBlocks, text).toBe(0);
      expect(fast.ops[0].message, text).toBe(want);
      expect(fast.ops[1].message).toBe("next");
      if (!libraryDiffers) expect(fast.ops, text).toEqual(parseOpLog(text, { forceSlow: true }).ops);
    }
  });

  it("leaves doubtful folds to the yaml library, with the same result", () => {
    const cases: [string, string[]][] = [
      ['"', ["shallow", "  line"]], // continuation not deeper than the key
      ['"', ["tab\t", "    x"]], // tab before the break
      ['"', ["a", "\t  x"]], // tab in the indentation
      ['"', ["cr\r", "    x"]], // CR before the break
    ];
    for (const [q, lines] of cases) {
      const text = opText(q, lines);
      const fast = parseOpLog(text);
      expect(fast.slowBlocks, text).toBeGreaterThan(0);
      expect(fast, text).toEqual({ ...parseOpLog(text, { forceSlow: true }), slowBlocks: fast.slowBlocks });
    }
  });

  /**
   * Random folded scalars: lines of tokens, each ending plain, with spaces or (double) a `\`,
   * followed by empty lines, except after a `\` unless `emptyAfterJoin` (see CASES).
   */
  const folded = (double: boolean, emptyAfterJoin: boolean) => {
    const tokens = double
      ? ["word", " ", "#", " # ce4c", "\\\\", '\\"', "\\n", "\\t", "\\x41", "é", "😀", ":", "'", "- x", "\\ "]
      : ["word", " ", "#", " # ce4c", "''", "\\", '"', "é", ":", "- x"];
    const line = fc.record({
      body: fc.array(fc.constantFrom(...tokens), { maxLength: 6 }).map((t) => t.join("")),
      trail: fc.constantFrom(...(double ? ["", " ", "  ", "\\"] : ["", " ", "  "])),
      empties: fc.array(fc.constantFrom("", "  ", "      "), { maxLength: 2 }),
      indent: fc.integer({ min: 3, max: 6 }),
    });
    return fc.array(line, { minLength: 2, maxLength: 5 }).map((ls) =>
      ls.flatMap((l, i) => {
        // (a line of spaces after a `\` is an empty line too)
        const body = i > 0 && !emptyAfterJoin && l.body.trim() === "" ? "x" : l.body;
        const text = i === 0 ? body : " ".repeat(l.indent) + body;
        if (i === ls.length - 1) return [text];
        return [text + l.trail, ...(l.trail === "\\" && !emptyAfterJoin ? [] : l.empties)];
      }),
    );
  };

  it("agrees with the yaml library on random folds, without it", () => {
    for (const double of [true, false]) {
      fc.assert(
        fc.property(folded(double, false), (lines) => {
          const text = opText(double ? '"' : "'", lines);
          const fast = parseOpLog(text);
          const slow = parseOpLog(text, { forceSlow: true });
          expect(fast.problems).toEqual(slow.problems);
          expect(fast.ops).toEqual(slow.ops);
          expect(fast.slowBlocks).toBe(0);
        }),
        { numRuns: 300 },
      );
    }
  });

  it.skipIf(!oracleAvailable())("equals PyYAML's result on random folds", async () => {
    const oracle = new Oracle();
    try {
      for (const [q, lines, want] of CASES) {
        const got = await oracle.request({ cmd: "load", text: opText(q, lines) });
        expect((fromOracle(got.ok) as { message: string }[])[0].message, lines.join("⏎")).toBe(want);
      }
      for (const double of [true, false]) {
        await fc.assert(
          fc.asyncProperty(folded(double, true), async (lines) => {
            const text = opText(double ? '"' : "'", lines);
            const want = await oracle.request({ cmd: "load", text });
            expect(want.err, text).toBeUndefined();
            expect(norm(parseOpLog(text).ops), text).toEqual(fromOracle(want.ok));
          }),
          { numRuns: 150 },
        );
      }
    } finally {
      oracle.close();
    }
  });
});

describe("problems are typed, located and never thrown (store.md §2.7)", () => {
  const op = (nonce: string, body = '  message: "hi"') =>
    [
      `- op: discuss  # ${nonce}`,
      `  at: '2026-01-01T00:00:00Z'  # ${nonce}`,
      `  by: agent  # ${nonce}`,
      `  actor: a_agent  # ${nonce}`,
      `  clock: 1  # ${nonce}`,
      `  nonce: ${nonce}  # ${nonce}`,
      `${body}  # ${nonce}`,
      "",
    ].join("\n");

  it("ignores a torn trailing op without final newline and keeps complete ops", () => {
    const text = op("aaaa") + op("bbbb").slice(0, 60);
    const r = parseOpLog(text, { file: ".X.ops" });
    expect(r.ops.map((o) => o.nonce)).toEqual(["aaaa"]);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ kind: "torn-tail", fatal: false, line: 8, file: ".X.ops" });
    expect(r.problems[0].message).toContain(".X.ops:8:");
    expect(r.complete).toBe(op("aaaa").length);
  });

  it("treats a last op cut at a line boundary (missing keys) as torn", () => {
    const cut = op("bbbb").split("\n").slice(0, 4).join("\n") + "\n";
    const r = parseOpLog(op("aaaa") + cut);
    expect(r.ops).toHaveLength(1);
    expect(r.problems[0].kind).toBe("torn-tail");
  });

  it("reports garbage in the middle as a fatal syntax problem with its line", () => {
    const text =
      op("aaaa") + '- op: discuss  # cccc\n  message: "unterminated  # cccc\n  at: [  # cccc\n' + op("bbbb");
    const r = parseOpLog(text, { file: ".Y.ops" });
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ kind: "syntax", fatal: true });
    expect(r.problems[0].message).toMatch(/^\.Y\.ops:\d+: malformed YAML/);
    expect(r.ops.map((o) => o.nonce)).toEqual(["aaaa", "bbbb"]);
  });

  it("reports a mapping at top level like the reference", () => {
    const r = parseOpLog("op: create\nat: x\n", { file: ".Z.ops" });
    expect(r.ops).toEqual([]);
    expect(r.problems[0]).toMatchObject({
      kind: "not-a-list",
      fatal: true,
      message: ".Z.ops: expected YAML list, got dict",
    });
  });

  it("reports an op that is not a mapping", () => {
    const r = parseOpLog(`${op("aaaa")}- just text\n`);
    expect(r.problems[0]).toMatchObject({ kind: "not-a-mapping", fatal: true, line: 8 });
  });

  it("reads empty and whitespace-only files as no ops", () => {
    expect(parseOpLog("").ops).toEqual([]);
    expect(parseOpLog("\n \n").problems).toEqual([]);
  });

  it("reads CRLF files (through the fallback) and folded quoted scalars", () => {
    const crlf = op("aaaa").replace(/\n/g, "\r\n");
    const r = parseOpLog(crlf);
    expect(r.problems).toEqual([]);
    expect(r.ops[0].message).toBe("hi");
    const folded = op("aaaa", '  message: "a long\n    folded line  # dead\n    end"');
    const f = parseOpLog(folded);
    expect(f.ops[0].message).toBe("a long folded line  # dead end");
  });

  it("accepts a BOM and blank lines between ops (edit-mode log shape)", () => {
    const r = parseOpLog(`\ufeff${op("aaaa")}\n${op("bbbb")}\n`);
    expect(r.problems).toEqual([]);
    expect(r.ops).toHaveLength(2);
  });

  it("decodes every YAML escape in double quotes", () => {
    const r = parseOpLog(
      op("aaaa", '  message: "\\t\\n\\\\\\"\\x41\\u00e9\\U0001F600\\L\\P\\N\\_\\0\\e\\/"'),
    );
    expect(r.ops[0].message).toBe('\t\n\\"Aé😀\u2028\u2029\x85\xa0\0\x1b/');
  });

  it("numbers lines from 1 even for a one-line document without a newline (fuzz finding)", () => {
    const r = parseOpLog("  - é{]", { file: ".X.ops" });
    expect(r.problems.length).toBeGreaterThan(0);
    for (const p of r.problems) expect(p.line).toBeGreaterThanOrEqual(1);
  });

  it("never throws on random garbage", () => {
    const samples = [
      "- [",
      "- {a: ",
      "- op: x\n  - y",
      "---\n- a\n---\n",
      "- op: [\n",
      "\t- op: x",
      "- &a x\n- *a\n",
      "- !!binary x\n",
    ];
    for (const s of samples) expect(() => parseOpLog(s)).not.toThrow();
  });
});

describe("parseYamlDocument: the fast document reader agrees with the yaml library", () => {
  it("on the real config template and on unusual documents (which take the library)", () => {
    const template = fs.readFileSync(`${CORPUS_AGENT}/tracker/config.yaml.template`, "utf8");
    const docs = [
      template,
      "",
      "# only a comment\n",
      "a: 1\nb: [x, 'y', \"z\"]\nc:\n  - yes\n  - ~\n  - 0o7\n  - 0777\n  - 1:30\n",
      "  indented: top\n  level: map\n",
      "- a\n- b: 1\n  c: 2\n-\n",
      "---\na: 1\n---\nb: 2\n", // markers: the library, first document only
      "a: |\n  block\n  scalar\n", // block scalar: the library
      "base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n", // anchors and merge keys: the library
      "m:\n  <<: {}\n  k: v\n",
      "dup: 1\ndup: 2\n",
    ];
    for (const d of docs)
      expect(parseYamlDocument(d), JSON.stringify(d)).toEqual(parseYamlDocument(d, { forceSlow: true }));
  });

  it("on random documents of nested maps, lists and plain, quoted and flow scalars", () => {
    const scalar = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,12}[A-Za-z0-9_]$/),
      fc.constantFrom(
        "yes",
        "No",
        "~",
        "null",
        "12",
        "0x1F",
        "1.5",
        "-3",
        "1e3",
        "''",
        '""',
        "[a, b]",
        "[]",
        "{}",
      ),
      fc.string({ maxLength: 8 }).map((x) => JSON.stringify(x)),
    );
    const key = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/);
    type Tree = string | { m: [string, Tree][] } | { l: Tree[] };
    const tree: fc.Arbitrary<Tree> = fc.letrec<{ t: Tree }>((tie) => ({
      t: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        scalar,
        fc.array(fc.tuple(key, tie("t")), { minLength: 1, maxLength: 4 }).map((m) => ({ m })),
        fc.array(tie("t"), { minLength: 1, maxLength: 4 }).map((l) => ({ l })),
      ),
    })).t;
    const render = (t: Tree, indent: number): string[] => {
      const pad = " ".repeat(indent);
      if (typeof t === "string") return [`${pad}${t}`];
      const out: string[] = [];
      if ("m" in t) {
        for (const [k, v] of t.m) {
          if (typeof v === "string") out.push(`${pad}${k}: ${v}`);
          else out.push(`${pad}${k}:`, ...render(v, indent + 2));
        }
      } else {
        for (const v of t.l) {
          if (typeof v === "string") out.push(`${pad}- ${v}`);
          else out.push(`${pad}-`, ...render(v, indent + 2));
        }
      }
      return out;
    };
    fc.assert(
      fc.property(fc.array(fc.tuple(key, tree), { minLength: 1, maxLength: 5 }), (top) => {
        const text = `${render({ m: top }, 0).join("\n")}\n`;
        let slow: unknown;
        try {
          slow = parseYamlDocument(text, { forceSlow: true });
        } catch {
          return; // not valid YAML for the library either
        }
        expect(parseYamlDocument(text)).toEqual(slow);
      }),
      { numRuns: 300 },
    );
  });
});

describe("one-line flow mappings on the fast path", () => {
  const doc = (v: string) => `m: ${v}\nafter: 1\n`;

  it("agree with the yaml library on hand-picked and hostile cases", () => {
    const cases = [
      "{}",
      "{ }",
      "{a: 1}",
      "{ a: 1, b: two words, c: 'q''d', d: \"e\\tf\" }",
      "{\"quoted key\": yes, 'single': ~}",
      "{a: b: c}",
      "{a: [x]}",
      "{a: {b: 1}}",
      "{a: 1,}",
      "{a:1}",
      "{? a: 1}",
      "{<<: {}}",
      "{a: 1} # comment",
      "{a: 1}x",
      "{a: 1, a: 2}",
      "{a: -1, b: -x, c: 0x10, d: 1:30, e: 1.5}",
      "{a: x#y, b: x #y}",
      "{a: }",
      "{: a}",
    ];
    for (const c of cases) {
      let slow: unknown;
      let slowError = false;
      try {
        slow = parseYamlDocument(doc(c), { forceSlow: true });
      } catch {
        slowError = true;
      }
      if (slowError) expect(() => parseYamlDocument(doc(c)), c).toThrow();
      else expect(parseYamlDocument(doc(c)), c).toEqual(slow);
      // In an op block too (the op-log reader).
      const block = `- op: update  # abcd\n  set:  # abcd\n    m: ${c}\n`;
      expect(parseOpLog(block).ops, c).toEqual(parseOpLog(block, { forceSlow: true }).ops);
    }
  });

  it("agree with the yaml library on random flow mappings", () => {
    const key = fc.oneof(
      fc.stringMatching(/^[a-z_][a-z0-9_ -]{0,6}[a-z0-9]$/),
      fc.string({ maxLength: 5 }).map((x) => JSON.stringify(x)),
      fc.constantFrom("yes", "1", "~", "'it''s'"),
    );
    const value = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_ .:#-]{0,10}$/),
      fc.constantFrom("yes", "No", "~", "12", "0x1F", "1.5", "-3", "''", '""'),
      fc.string({ maxLength: 8 }).map((x) => JSON.stringify(x)),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { maxLength: 5 }), (pairs) => {
        const text = doc(`{${pairs.map(([k, v]) => `${k}: ${v}`).join(", ")}}`);
        let slow: unknown;
        try {
          slow = parseYamlDocument(text, { forceSlow: true });
        } catch {
          return;
        }
        expect(parseYamlDocument(text)).toEqual(slow);
      }),
      { numRuns: 500 },
    );
  });
});
