/**
 * Screenshots drawn in the terminal (`I`; tui.md §7.4 / §10.3 "expandable ANSI preview"):
 * the palette mapping, the scaling into half-block cells, and the overlay in the app.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pixelsToCells, xterm256 } from "../../src/app/preview.js";
import { flowKit } from "./flowkit.js";

describe("cells of a picture", () => {
  it("maps colours to the nearest xterm-256 entry (cube or grey ramp)", () => {
    expect(xterm256(0, 0, 0)).toBe(16);
    expect(xterm256(255, 255, 255)).toBe(231);
    expect(xterm256(255, 0, 0)).toBe(196);
    expect(xterm256(0, 0, 255)).toBe(21);
    expect(xterm256(0, 135, 95)).toBe(16 + 36 * 0 + 6 * 2 + 1);
    expect(xterm256(128, 128, 128)).toBe(244); // grey ramp: 8 + 10 × 12
    expect(xterm256(30, 30, 30)).toBe(234);
  });

  it("scales pixels into cells of two (top, bottom), averaging and keeping the aspect", () => {
    // 4×4: the top half red, the bottom half blue; into at most 2 columns × 1 row.
    const px = new Uint8Array(4 * 4 * 4);
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 4; x++) px.set(y < 2 ? [255, 0, 0, 255] : [0, 0, 255, 255], (y * 4 + x) * 4);
    const p = pixelsToCells(px, 4, 4, 2, 1);
    expect({ cols: p.cols, rows: p.rows }).toEqual({ cols: 2, rows: 1 });
    expect([...p.colors]).toEqual([196, 21, 196, 21]);
    // A wide picture in a tall box: the width decides; transparent pixels show the background.
    const wide = new Uint8Array(8 * 2 * 4); // all transparent
    const q = pixelsToCells(wide, 8, 2, 4, 10);
    expect({ cols: q.cols, rows: q.rows }).toEqual({ cols: 4, rows: 1 });
    expect(new Set(q.colors)).toEqual(new Set([xterm256(30, 30, 30)]));
  });
});

describe("the preview overlay", () => {
  it("draws the item's newest screenshot in half-block cells; Esc closes", async () => {
    const k = await flowKit({ cols: 80, rows: 24 });
    const { ids } = k.fx;
    const dir = path.join(k.fx.repo, ".agent", "screenshots");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, "old.svg"),
      '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#0000ff"/></svg>',
    );
    fs.writeFileSync(
      path.join(dir, "new.svg"),
      '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#ff0000"/></svg>',
    );
    await k.tracker.discuss(ids.cache, "before: .agent/screenshots/old.svg");
    await k.tracker.discuss(ids.cache, "after: .agent/screenshots/new.svg");
    k.external();
    k.select(ids.cache);
    await k.keys("I");
    const s = k.app.state;
    expect(s.preview.open).toBe(true);
    expect(s.preview.file).toBe(path.join(dir, "new.svg"));
    expect(s.preview.picture).not.toBeNull();
    const pic = s.preview.picture!;
    expect(pic.cols).toBe(80); // 2:1 picture, as wide as the screen (80 × 40 pixels → 20 rows)
    expect(pic.rows).toBe(20);
    expect(new Set(pic.colors)).toEqual(new Set([196]));
    const c = k.app.frame();
    const [attr, ch] = c.cells[10][40];
    expect(ch).toBe("▀");
    expect((attr >> 9) & 0x1ff).toBe(196); // foreground: the top pixel
    expect(attr & 0x1ff).toBe(196); // background: the bottom pixel
    expect(k.screen().split("\n")[1]).toContain("Screenshot new.svg — Esc closes");
    await k.keys("j"); // other keys do nothing while it is open
    expect(k.app.state.selectedId).toBe(ids.cache);
    await k.keys("Escape");
    expect(k.app.state.preview.open).toBe(false);
  });

  it("fits a very tall picture by its height (no huge raster)", async () => {
    const { renderSvg } = await import("../../src/app/export.js");
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="20000" height="1000000"><rect width="20000" height="1000000" fill="#ffffff"/></svg>';
    const img = await renderSvg(svg, { width: 320, height: 160 });
    expect(img.height).toBe(160); // by width it would be 320 × 160000 pixels
    expect(img.width).toBeLessThanOrEqual(4);
    const wide = await renderSvg(svg.replace(/1000000/g, "100"), { width: 320, height: 160 });
    expect({ w: wide.width, h: wide.height }).toEqual({ w: 320, h: 2 });
  });

  it("says why when the file is missing or nothing is attached", async () => {
    const k = await flowKit({ cols: 80, rows: 24 });
    const { ids } = k.fx;
    await k.tracker.discuss(ids.cache, "see .agent/screenshots/gone.svg");
    k.external();
    k.select(ids.cache);
    await k.keys("I");
    expect(k.app.state.preview.picture).toBeNull();
    expect(k.app.state.preview.message).toMatch(/^Cannot read .*gone\.svg: ENOENT$/);
    expect(k.screen()).toContain("Cannot read");
    await k.keys("Escape");
    k.select(ids.parser);
    await k.keys("I");
    expect(k.app.state.preview.open).toBe(false);
    expect(k.app.state.toasts.at(-1)?.message).toBe("No screenshot attached to this item");
  });
});
