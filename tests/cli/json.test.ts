/**
 * `--json` output bytes: Python's `json.dumps(…, indent=2)` (ensure_ascii, float repr,
 * NaN/Infinity, big integers), written natively by JSON.stringify where that gives the same
 * bytes and by the reference walk elsewhere.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { itemJson } from "../../src/cli/format.js";
import { pyJson, pyJsonPieces, pyJsonSlow } from "../../src/cli/io.js";
import { compileOps, parseOpLog, PyFloat } from "../../src/index.js";
import { newMap } from "../../src/store/values.js";

describe("pyJson", () => {
  it("writes what Python's json.dumps(indent=2) writes", () => {
    const h = newMap(); // prototype-free, as parsed custom fields are
    h.x = [{ y: null, z: true }];
    const v = {
      a: new PyFloat(1),
      b: [1, "é", "\u007f", "😀", 'a"b\\c\n\t\u0001'],
      c: {},
      d: [],
      e: new PyFloat(Number.NaN),
      f: 10n ** 20n,
      g: [new PyFloat(Number.POSITIVE_INFINITY), -1e-7, new PyFloat(1e22), 0.1],
      h,
    };
    // Printed by CPython 3: json.dumps(v, indent=2) of the same value.
    const python =
      '{\n  "a": 1.0,\n  "b": [\n    1,\n    "\\u00e9",\n    "\\u007f",\n    "\\ud83d\\ude00",\n    "a\\"b\\\\c\\n\\t\\u0001"\n  ],\n  "c": {},\n  "d": [],\n  "e": NaN,\n  "f": 100000000000000000000,\n  "g": [\n    Infinity,\n    -1e-07,\n    1e+22,\n    0.1\n  ],\n  "h": {\n    "x": [\n      {\n        "y": null,\n        "z": true\n      }\n    ]\n  }\n}';
    expect(pyJson(v, 2)).toBe(python);
    expect(pyJsonSlow(v, 2, false, 0, false)).toBe(python);
    expect([...pyJsonPieces(v, 2)].join("")).toBe(python);
    // Without the float the whole value takes the native path: same bytes for the rest.
    const { a: _a, e: _e, f: _f, g: _g, ...plain } = v;
    expect(pyJson(plain, 2)).toBe(pyJsonSlow(plain, 2, false, 0, false));
    expect(pyJson({ k: 1.5 }, 2)).toBe('{\n  "k": 1.5\n}');
  });

  it("native and reference walks agree on any JSON value, at any depth", () => {
    const value = fc.jsonValue({ maxDepth: 4 });
    fc.assert(
      fc.property(value, fc.boolean(), (v, withFloat) => {
        // A float beside the value sends the top level down the reference walk, so the value
        // itself is written natively and shifted right (the nested path).
        const wrapped = withFloat ? [v, new PyFloat(2), { inner: v }] : v;
        expect(pyJson(wrapped, 2)).toBe(pyJsonSlow(wrapped, 2, false, 0, false));
        // Streamed output (big listings) joins to the same bytes.
        expect([...pyJsonPieces(wrapped, 2)].join("")).toBe(pyJson(wrapped, 2));
      }),
      { numRuns: 1500 },
    );
  });
});

describe("nested native JSON (stringified inside wrapping arrays, wrapping cut off)", () => {
  it("equals the reference walk at every depth and indent", () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 3 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (v, level, indent) => {
          expect(pyJson(v, indent, false, level)).toBe(pyJsonSlow(v, indent, false, level, false));
        },
      ),
      { numRuns: 1000 },
    );
    for (const v of [[], {}, "", 0, null, [[]], { a: {} }])
      for (let level = 0; level < 4; level++)
        expect(pyJson(v, 2, false, level)).toBe(pyJsonSlow(v, 2, false, level, false));
  });
});

describe("item JSON", () => {
  it("keeps YAML floats and big integers of custom fields as Python prints them", () => {
    const log = [
      "- op: create",
      '  at: "2026-01-01T00:00:00Z"',
      "  by: agent",
      "  actor: a_agent",
      "  clock: 1",
      "  nonce: a1b2",
      "  data:",
      "    kind: work_item",
      '    title: "Float fields"',
      "    status: todo_hard",
      "    priority: 2",
      "    fields:",
      "      ratio: 2.0",
      "      tiny: 1.0e-7",
      "      big: 123456789012345678901234567890",
      "      whole: 3",
      "",
    ].join("\n");
    const { ops, problems } = parseOpLog(log);
    expect(problems).toEqual([]);
    const text = pyJson(itemJson(compileOps(ops, "WI-x")), 2);
    expect(text).toContain(
      '"fields": {\n    "ratio": 2.0,\n    "tiny": 1e-07,\n    "big": 123456789012345678901234567890,\n    "whole": 3\n  }',
    );
  });
});
