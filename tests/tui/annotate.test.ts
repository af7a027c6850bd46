/**
 * Screenshot and annotation end to end on the real blessed screen: keyboard-only drawing,
 * mouse drawing, undo/redo in drawing order, nudge, colours, save (annotated SVG + PNG
 * beside the original, JSON sidecar), attach as exactly one discuss op, discard with
 * confirmation, and the files' geometry and text.
 */
import fs from "node:fs";
import path from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterEach, describe, expect, it } from "vitest";
import { frameText, pngSize, SVG_CELL, svgText } from "../../src/app/export.js";
import { fixedClock, nonceSeq, openTest, tmpDir } from "../helpers.js";
import { buildTuiFixture, checkSnapshot } from "./fixture.js";
import { closeAll, type Headless, headless } from "./term.js";

afterEach(closeAll);

const NOW = () => Date.parse("2026-01-20T09:00:00Z");
const ESC_WAIT = () => new Promise((r) => setTimeout(r, 60)); // blessed tells a lone Esc by a pause

async function start(): Promise<{ h: Headless; dir: string; repo: string; ids: Record<string, string> }> {
  const fx = await buildTuiFixture();
  const dir = tmpDir("htrac-shots-");
  const tracker = openTest(fx.repo, { now: fixedClock("2026-01-20T09:00:00Z"), nonce: nonceSeq(0xf000) });
  const h = headless(tracker, 80, 24, {
    watch: false,
    now: NOW,
    screenshotDir: dir,
    rootLabel: "fixture/.agent",
  });
  await h.type("");
  return { h, dir, repo: fx.repo, ids: fx.ids };
}

const keys = (k: string, n = 1) => k.repeat(n);
const LEFT = "\u001b[D";
const RIGHT = "\u001b[C";
const UP = "\u001b[A";
const DOWN = "\u001b[B";

describe("screenshot and annotation", () => {
  it("keyboard only: rect, arrow, label, undo/redo, nudge, colour, save, sidecar, attach", async () => {
    const { h, dir, ids } = await start();
    await h.type("jj"); // the parser item
    await h.type("S");
    const a0 = h.session.app.state.annotate!;
    expect(a0).toBeTruthy();
    const base = a0.base;
    expect(base).toMatch(/^WI-dozag-gijod-\d{8}-\d{6}$/);
    expect(fs.readdirSync(dir).sort()).toEqual([`${base}.png`, `${base}.svg`]);
    expect(h.screen().split("\n").at(-1)).toMatch(
      /^ RECT \(r\/a\/l\) · Space: start · Enter: save · Esc: discard · u: undo · U: redo ·/,
    );
    const frozenText = a0.frozen
      .map((row) =>
        row
          .map((c) => c[1])
          .join("")
          .replace(/ +$/, ""),
      )
      .join("\n");
    // Rectangle: cursor starts at the centre (40,12).
    await h.type(keys(LEFT, 10) + " " + keys(RIGHT, 6) + keys(DOWN, 2) + " ");
    // Arrow from there (36,14) 8 cells right.
    await h.type("a " + keys(RIGHT, 8) + " ");
    // Label at (10,5).
    await h.type("l" + keys(LEFT, 34) + keys(UP, 9) + " ");
    expect(h.screen().split("\n").at(-1)).toContain("Label [1]:");
    await h.type("too wide <&>\r");
    let a = h.session.app.state.annotate!;
    expect(a.items.map((m) => [m.kind, m.x1, m.y1, m.x2, m.y2, m.text ?? null])).toEqual([
      ["rect", 30, 12, 36, 14, null],
      ["arrow", 36, 14, 44, 14, null],
      ["label", 10, 5, 10, 5, "too wide <&>"],
    ]);
    // Undo/redo in drawing order.
    await h.type("u");
    expect(h.session.app.state.annotate!.items.map((m) => m.kind)).toEqual(["rect", "arrow"]);
    await h.type("u");
    expect(h.session.app.state.annotate!.items.map((m) => m.kind)).toEqual(["rect"]);
    await h.type("UU");
    expect(h.session.app.state.annotate!.items.map((m) => m.kind)).toEqual(["rect", "arrow", "label"]);
    // Select the rectangle (Tab from the last mark wraps to the first), nudge right, recolour.
    await h.type("\t");
    expect(h.session.app.state.annotate!.selected).toBe(0);
    await h.type("L");
    await h.type("c");
    a = h.session.app.state.annotate!;
    expect(a.items[0]).toMatchObject({ kind: "rect", x1: 31, y1: 12, x2: 37, y2: 14, color: "yellow" });
    const onScreen = h.screen().split("\n");
    expect(onScreen[12].slice(31, 38)).toBe("┏━━━━━┓");
    expect(onScreen[14].slice(31, 36)).toBe("┗━━━━"); // the arrow starts on its old corner
    expect(onScreen[5].slice(10, 26)).toBe("[1] too wide <&>");
    // Save.
    await h.type("\r");
    expect(h.session.app.state.annotate).toBeNull();
    expect(fs.readdirSync(dir).sort()).toEqual([
      `${base}-annotated.json`,
      `${base}-annotated.png`,
      `${base}-annotated.svg`,
      `${base}.png`,
      `${base}.svg`,
    ]);
    const side = JSON.parse(fs.readFileSync(path.join(dir, `${base}-annotated.json`), "utf8"));
    expect(side).toEqual({
      version: 1,
      created_at: "2026-01-20T09:00:00.000Z",
      item: ids.parser,
      screen: { cols: 80, rows: 24 },
      original: `${base}.svg`,
      annotated_svg: `${base}-annotated.svg`,
      annotated_png: `${base}-annotated.png`,
      annotations: [
        { kind: "rect", x1: 31, y1: 12, x2: 37, y2: 14, color: "yellow" },
        { kind: "arrow", x1: 36, y1: 14, x2: 44, y2: 14, color: "red" },
        { kind: "label", x1: 10, y1: 5, x2: 10, y2: 5, n: 1, text: "too wide <&>", color: "red" },
      ],
    });
    // SVGs: well-formed, the original's text is the screen, marks land on their cells.
    const orig = fs.readFileSync(path.join(dir, `${base}.svg`), "utf8");
    const ann = fs.readFileSync(path.join(dir, `${base}-annotated.svg`), "utf8");
    expect(XMLValidator.validate(orig)).toBe(true);
    expect(XMLValidator.validate(ann)).toBe(true);
    expect(svgText(orig, 24, 80)).toBe(frozenText.replace(/\n$/, ""));
    expect(svgText(ann, 24, 80)).toBe(frozenText.replace(/\n$/, "")); // marks are overlays, the text stays
    const { w: cw, h: ch, pad } = SVG_CELL;
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(ann);
    const g = ([] as unknown[])
      .concat(doc.svg.g)
      .find((x) => (x as { class?: string }).class === "annotations") as {
      rect: Record<string, string>;
      line: Record<string, string>;
      g: { rect: Record<string, string>; text: { "#text": string } & Record<string, string> } & Record<
        string,
        string
      >;
    };
    expect(g.rect["data-cells"]).toBe("31,12,37,14");
    expect([g.rect.x, g.rect.y, g.rect.width, g.rect.height].map(Number)).toEqual([
      pad + 31 * cw,
      pad + 12 * ch,
      7 * cw,
      3 * ch,
    ]);
    expect(g.rect.stroke).toBe("#ffd21f");
    expect([g.line.x1, g.line.y1, g.line.x2, g.line.y2].map(Number)).toEqual([
      pad + 36 * cw + cw / 2,
      pad + 14 * ch + ch / 2,
      pad + 44 * cw + cw / 2,
      pad + 14 * ch + ch / 2,
    ]);
    expect(g.g.text["#text"]).toBe("[1] too wide <&>");
    expect(Number(g.g.text.x)).toBe(pad + 10 * cw);
    expect(ann).toContain("[1] too wide &lt;&amp;&gt;");
    // PNGs have the SVG's size.
    for (const f of [`${base}.png`, `${base}-annotated.png`]) {
      expect(pngSize(fs.readFileSync(path.join(dir, f)))).toEqual({
        width: 80 * cw + 2 * pad,
        height: 24 * ch + 2 * pad,
      });
    }
    // The path was copied (OSC 52 on the terminal).
    expect(h.output.data).toContain(
      `\u001b]52;c;${Buffer.from(path.join(dir, `${base}-annotated.png`)).toString("base64")}`,
    );
    // Attach: exactly one discuss op, naming the path and the labels.
    expect(h.session.app.state.dialog?.id).toBe("attach-shot");
    const file = h.session.app.deps.tracker.opFile(ids.parser);
    const before = fs.statSync(file).size;
    await h.type("\u0013"); // Ctrl+S
    const appended = fs.readFileSync(file).subarray(before).toString("utf8");
    const shown = path.join(dir, `${base}-annotated.png`); // outside the repo: absolute
    expect(appended).toBe(
      [
        "- op: discuss",
        "  at: '2026-01-20T09:00:00Z'",
        "  by: human",
        "  actor: alice",
        "  clock: 3",
        "  nonce: f000",
        `  message: "[screenshot: ${shown}] 3 marks: [1] too wide <&>"`,
      ]
        .map((l) => `${l}  # f000`)
        .join("\n") + "\n",
    );
    expect(h.session.app.state.toasts.at(-1)?.message).toBe(`Screenshot attached to ${ids.parser}`);
    await h.type("o"); // the thread shows the reference by file name
    expect(h.screen()).toContain(`    [screenshot: ${base}-annotated.png] 3 marks: [1] too\n    wide <&>`);
    // Y copies that path again.
    const mark = h.output.data.length;
    await h.type("Y");
    expect(h.output.data.slice(mark)).toContain(Buffer.from(shown).toString("base64"));
  });

  it("with the mouse: drag draws, a click places a label", async () => {
    const { h } = await start();
    await h.type("S");
    // SGR mouse: press at (5,3), drag to (15,8), release (1-based coordinates on the wire).
    await h.type("\u001b[<0;6;4M\u001b[<32;11;6M\u001b[<32;16;9M\u001b[<0;16;9m");
    let a = h.session.app.state.annotate!;
    expect(a.items).toEqual([{ kind: "rect", x1: 5, y1: 3, x2: 15, y2: 8, color: "red" }]);
    await h.type("a");
    await h.type("\u001b[<0;21;11M\u001b[<32;31;11M\u001b[<0;31;11m");
    a = h.session.app.state.annotate!;
    expect(a.items[1]).toEqual({ kind: "arrow", x1: 20, y1: 10, x2: 30, y2: 10, color: "red" });
    // A click without a drag makes no rectangle.
    await h.type("r");
    await h.type("\u001b[<0;41;11M\u001b[<0;41;11m");
    expect(h.session.app.state.annotate!.items).toHaveLength(2);
    await h.type("l");
    await h.type("\u001b[<0;3;3M\u001b[<0;3;3m");
    await h.type("here\r");
    expect(h.session.app.state.annotate!.items[2]).toEqual({
      kind: "label",
      x1: 2,
      y1: 2,
      x2: 2,
      y2: 2,
      n: 1,
      text: "here",
      color: "red",
    });
  });

  it("Esc asks before discarding marks; the original stays", async () => {
    const { h, dir } = await start();
    await h.type("S");
    const base = h.session.app.state.annotate!.base;
    await h.type(" " + RIGHT + RIGHT + " ");
    expect(h.session.app.state.annotate!.items).toHaveLength(1);
    await h.type("\u001b");
    await ESC_WAIT();
    await h.type("");
    expect(h.screen().split("\n").at(-1)).toContain("Discard 1 annotation? y = discard, n = keep drawing");
    await h.type("n");
    expect(h.session.app.state.annotate!.items).toHaveLength(1);
    await h.type("\u001b");
    await ESC_WAIT();
    await h.type("y");
    expect(h.session.app.state.annotate).toBeNull();
    expect(fs.readdirSync(dir).sort()).toEqual([`${base}.png`, `${base}.svg`]);
  });

  it("never overwrites: a second screenshot in the same second gets its own name", async () => {
    const { h, dir } = await start();
    await h.type("S\r");
    await h.type("S");
    const second = h.session.app.state.annotate!.base;
    expect(second).toMatch(/-2$/);
    expect(fs.readdirSync(dir)).toHaveLength(4);
  });

  it("annotation mode snapshot at 80×24", async () => {
    const { h } = await start();
    await h.type("jj");
    await h.type("S");
    await h.type(keys(LEFT, 10) + " " + keys(RIGHT, 6) + keys(DOWN, 2) + " ");
    await h.type("a " + keys(RIGHT, 8) + keys(UP, 3) + " ");
    await h.type("l" + keys(LEFT, 34) + keys(UP, 6) + " ");
    await h.type("misaligned\r");
    // Toasts name the (temporary, dated) file: leave them out of the snapshot.
    h.session.app.state = { ...h.session.app.state, toasts: [] };
    const text = frameText(h.session.app.frame());
    checkSnapshot("annotate@80x24.txt", text);
  });
});
