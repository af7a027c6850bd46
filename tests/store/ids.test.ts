import fs from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  computeItemId,
  idPatternFor,
  pyJsonDumps,
  quint16,
  shortId,
  uint2quint,
} from "../../src/store/ids.js";
import { parseOpLog } from "../../src/store/oplog.js";
import { newMap, PyFloat } from "../../src/store/values.js";
import { corpusFiles, Oracle, oracleAvailable, toOracle } from "../helpers.js";

/**
 * Real items the reference named from data other than their create op (shared/README.md):
 * file name → the ID their create data recomputes to. Any drift in the algorithm changes
 * the recomputed value and fails this test.
 */
const NAMED_FROM_OTHER_DATA: Record<string, string> = {
  "INV-mizah-mokid-rotaz-tajus-zuzad-sijig-kivuk-dotam":
    "INV-jibom-guhok-vogab-jonar-hazit-zuruk-dadov-tizal",
};

const PREFIX: Record<string, string> = { invariant: "INV", meta_invariant: "META", work_item: "WI" };

describe("content-hash IDs (store.md §4.1)", () => {
  it("recomputes every corpus item's ID from its create data", () => {
    const mismatched: Record<string, string> = {};
    let n = 0;
    for (const f of corpusFiles()) {
      const ops = parseOpLog(fs.readFileSync(f.path, "utf8")).ops;
      const create = ops.find((o) => o.op === "create")!;
      const data = create.data as Record<string, unknown>;
      const id = f.name.slice(1, -4);
      const got = computeItemId(data as never, PREFIX[data.kind as string]);
      if (got !== id) mismatched[id] = got;
      n++;
    }
    expect(n).toBeGreaterThan(100);
    expect(mismatched).toEqual(NAMED_FROM_OTHER_DATA);
  });

  it("reproduces the IDs verified in the spec, including non-ASCII data", () => {
    const ids = corpusFiles().map((f) => f.name.slice(1, -4));
    expect(ids).toContain("META-fabaz-narat-dizot-bamid-jilob-maluf-ribuv-buzob");
    expect(ids).toContain("INV-gamat-bumap-sinib-hubum-putum-sihan-jupuf-sifok");
  });

  it("salts with the nonce after a collision (store.md §4.2)", () => {
    const data = newMap();
    data.kind = "work_item";
    data.title = "x";
    expect(computeItemId(data, "WI", "ab12")).not.toBe(computeItemId(data, "WI"));
    expect(computeItemId(data, "WI")).toMatch(
      /^WI(-[bdfghjklmnprstvz][aiou][bdfghjklmnprstvz][aiou][bdfghjklmnprstvz]){8}$/,
    );
  });

  it("encodes proquints as dsw/proquint does", () => {
    expect(quint16(0)).toBe("babab");
    expect(quint16(0xffff)).toBe("zuzuz");
    expect(uint2quint(0x7f000001)).toBe("lusab-babad"); // 127.0.0.1 from the proquint paper
  });
});

describe("Python json.dumps(sort_keys=True) compatibility", () => {
  it("matches golden outputs produced by CPython", () => {
    const a = newMap();
    a.b = [1, true, null];
    a.a = 'é→😀\n"\\\x01\x7f';
    const c = newMap();
    c.z = new PyFloat(1);
    c.y = new PyFloat(1e-5);
    c.x = new PyFloat(1e16);
    a.c = c;
    expect(pyJsonDumps(a)).toBe(
      '{"a": "\\u00e9\\u2192\\ud83d\\ude00\\n\\"\\\\\\u0001\\u007f", "b": [1, true, null], "c": {"x": 1e+16, "y": 1e-05, "z": 1.0}}',
    );
    const b = newMap();
    b.ключ = "v";
    b.Z = new PyFloat(0.1);
    b.a = new PyFloat(-0);
    expect(pyJsonDumps(b)).toBe('{"Z": 0.1, "a": -0.0, "\\u043a\\u043b\\u044e\\u0447": "v"}');
  });

  it.skipIf(!oracleAvailable())("matches CPython on random data (differential)", async () => {
    const oracle = new Oracle();
    try {
      const arb = fc.dictionary(
        fc.string({ unit: "grapheme", maxLength: 6 }),
        fc.oneof(
          fc.string({ unit: "grapheme" }),
          fc.integer(),
          fc.boolean(),
          fc.constant(null),
          fc.array(fc.string(), { maxLength: 3 }),
        ),
        { maxKeys: 6 },
      );
      for (const d of fc.sample(arb, { numRuns: 300, seed: 3 })) {
        const want = await oracle.request({ cmd: "json", data: toOracle(d) });
        expect(pyJsonDumps(d)).toBe(want.ok);
      }
    } finally {
      oracle.close();
    }
  });
});

describe("ID helpers", () => {
  it("short IDs keep the prefix and first syllable", () => {
    expect(shortId("WI-popak-gugoz-kibah-dugur-hopif-dutor-zopud-tamak")).toBe("WI-popak");
  });

  it("finds IDs in free text by configured prefixes (store.md §4.5)", () => {
    const re = idPatternFor(["WI", "INV"])!;
    expect("see WI-popak-gugoz-kibah and fix-INV-bolil-mirid-x".match(re)).toEqual([
      "WI-popak-gugoz-kibah",
      "INV-bolil-mirid",
    ]);
    expect("fix-INV-bolil-mirid, done".match(re)).toEqual(["INV-bolil-mirid"]);
    expect("aWI-popak-gugoz".match(re)).toBeNull();
    expect("WI-popak only".match(re)).toBeNull();
  });
});
