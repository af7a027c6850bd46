/**
 * Screenshots drawn in the terminal (tui.md §7.4 and §10.3's "expandable ANSI preview"; the
 * reference shows only a one-line placeholder): the SVG rasterised with resvg, scaled to the
 * screen, two pixels per cell with the upper half block (foreground = top pixel, background =
 * bottom pixel) in the xterm 256-colour palette. Works over SSH: it is only text and colour.
 */
import fs from "node:fs";
import { renderSvg } from "./export.js";

/** A picture in cells: for each cell, the palette colours of its top and bottom pixel. */
export interface CellPicture {
  cols: number;
  rows: number;
  /** `[top, bottom]` palette indexes, row by row (length cols × rows × 2). */
  colors: Uint8Array;
}

const CUBE = [0, 95, 135, 175, 215, 255];

/** Nearest xterm-256 palette index (colour cube or grey ramp) of an RGB colour. */
export function xterm256(r: number, g: number, b: number): number {
  const level = (v: number) => (v < 48 ? 0 : v < 115 ? 1 : Math.min(5, Math.floor((v - 35) / 40)));
  const cr = level(r);
  const cg = level(g);
  const cb = level(b);
  const d = (x: number, y: number, z: number) => (x - r) ** 2 + (y - g) ** 2 + (z - b) ** 2;
  const cubeDist = d(CUBE[cr], CUBE[cg], CUBE[cb]);
  const avg = (r + g + b) / 3;
  const gi = Math.max(0, Math.min(23, Math.round((avg - 8) / 10)));
  const gv = 8 + gi * 10;
  return d(gv, gv, gv) < cubeDist ? 232 + gi : 16 + 36 * cr + 6 * cg + cb;
}

/**
 * Scale RGBA pixels (`width × height`, row-major) into at most `maxCols × maxRows` cells
 * (each cell one pixel wide and two high), keeping the aspect ratio; each target pixel is
 * the mean of the source pixels it covers (alpha blended onto `background`).
 */
export function pixelsToCells(
  pixels: Uint8Array,
  width: number,
  height: number,
  maxCols: number,
  maxRows: number,
  background: [number, number, number] = [30, 30, 30],
): CellPicture {
  const scale = Math.min(maxCols / width, (maxRows * 2) / height);
  const tw = Math.max(1, Math.floor(width * scale));
  const th = Math.max(2, Math.floor(height * scale));
  const rows = Math.floor(th / 2);
  const colors = new Uint8Array(tw * rows * 2);
  for (let py = 0; py < rows * 2; py++) {
    const y0 = Math.floor((py * height) / th);
    const y1 = Math.max(y0 + 1, Math.floor(((py + 1) * height) / th));
    for (let px = 0; px < tw; px++) {
      const x0 = Math.floor((px * width) / tw);
      const x1 = Math.max(x0 + 1, Math.floor(((px + 1) * width) / tw));
      let r = 0;
      let g = 0;
      let b = 0;
      let n = 0;
      for (let y = y0; y < y1; y++)
        for (let x = x0; x < x1; x++) {
          const i = (y * width + x) * 4;
          const a = pixels[i + 3] / 255;
          r += pixels[i] * a + background[0] * (1 - a);
          g += pixels[i + 1] * a + background[1] * (1 - a);
          b += pixels[i + 2] * a + background[2] * (1 - a);
          n++;
        }
      const cell = (Math.floor(py / 2) * tw + px) * 2 + (py % 2);
      colors[cell] = xterm256(r / n, g / n, b / n);
    }
  }
  return { cols: tw, rows, colors };
}

/**
 * Rasterise an SVG file for the terminal.
 * @returns the picture, or why not (missing file, unreadable SVG, renderer unavailable)
 */
export async function previewSvg(
  file: string,
  maxCols: number,
  maxRows: number,
): Promise<{ picture: CellPicture } | { error: string }> {
  let svg: string;
  try {
    svg = fs.readFileSync(file, "utf8");
  } catch (e) {
    return { error: `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  try {
    // Rendered no larger than four source pixels per target pixel (enough to average).
    const r = await renderSvg(svg, { width: Math.max(8, maxCols * 4), height: Math.max(8, maxRows * 8) });
    return { picture: pixelsToCells(r.pixels, r.width, r.height, maxCols, maxRows) };
  } catch (e) {
    return { error: `Cannot draw ${file}: ${(e as Error).message}` };
  }
}
