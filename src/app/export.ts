/**
 * Frame export: plain text, ANSI (SGR) and SVG. The SVG renderer draws the exact cells with
 * their colours and bold/underline/inverse, one `<text>` per run of equal style with a
 * `textLength` so glyphs fit their cells; it serves `htrac snapshot --format svg` and the
 * screenshot feature.
 */
import { labelText, normRect } from "../views/annotate.js";
import { ANNOTATION_COLORS, type Annotation } from "../views/types.js";
import { type Canvas, type Cell, DEFAULT_COLOR, decodeAttr } from "../views/canvas.js";
import { cpWidth } from "../views/text.js";
import { importPackage } from "../store/esm.js";

/** Plain text, one line per row, trailing spaces trimmed. */
export function frameText(c: Canvas): string {
  return `${c.toText()}\n`;
}

function sgr(attr: number): string {
  const a = decodeAttr(attr);
  const codes = ["0"];
  if (a.bold) codes.push("1");
  if (a.underline) codes.push("4");
  if (a.inverse) codes.push("7");
  if (a.fg !== DEFAULT_COLOR)
    codes.push(a.fg < 8 ? `${30 + a.fg}` : a.fg < 16 ? `${90 + a.fg - 8}` : `38;5;${a.fg}`);
  if (a.bg !== DEFAULT_COLOR)
    codes.push(a.bg < 8 ? `${40 + a.bg}` : a.bg < 16 ? `${100 + a.bg - 8}` : `48;5;${a.bg}`);
  return `\x1b[${codes.join(";")}m`;
}

/** ANSI text with SGR attributes (reset at the end of each line). */
export function frameAnsi(c: Canvas): string {
  const out: string[] = [];
  for (const row of c.cells) {
    let line = "";
    let cur = -1;
    let last = row.length;
    while (
      last > 0 &&
      row[last - 1][1] === " " &&
      decodeAttr(row[last - 1][0]).bg === DEFAULT_COLOR &&
      !decodeAttr(row[last - 1][0]).inverse
    )
      last--;
    for (let x = 0; x < last; x++) {
      const [a, ch] = row[x];
      if (a !== cur) {
        line += sgr(a);
        cur = a;
      }
      line += ch;
    }
    out.push(`${line}\x1b[0m`);
  }
  return `${out.join("\n")}\n`;
}

/** The 16 basic colours (xterm defaults) and the 256-colour cube for SVG. */
export function paletteHex(n: number, fallback: string): string {
  const base = [
    "#000000",
    "#cd0000",
    "#00cd00",
    "#cdcd00",
    "#0000ee",
    "#cd00cd",
    "#00cdcd",
    "#e5e5e5",
    "#7f7f7f",
    "#ff0000",
    "#00ff00",
    "#ffff00",
    "#5c5cff",
    "#ff00ff",
    "#00ffff",
    "#ffffff",
  ];
  if (n === DEFAULT_COLOR) return fallback;
  if (n < 16) return base[n];
  if (n < 232) {
    const v = n - 16;
    const steps = [0, 95, 135, 175, 215, 255];
    const hex = (x: number) => steps[x].toString(16).padStart(2, "0");
    return `#${hex(Math.floor(v / 36))}${hex(Math.floor(v / 6) % 6)}${hex(v % 6)}`;
  }
  const g = (8 + (n - 232) * 10).toString(16).padStart(2, "0");
  return `#${g}${g}${g}`;
}

/** XML-escape text (also any control character left, as a visible code). */
export function xmlEscape(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;")
    .replace(
      /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/g,
      (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`,
    );
}

/** Geometry of SVG exports (pixels). */
export const SVG_CELL = { w: 10, h: 20, pad: 8, font: 16, baseline: 15 } as const;

/** Extra SVG markup to draw over the frame (annotations). */
export interface SvgOverlay {
  defs?: string;
  body: string;
}

/**
 * Render a frame as SVG: background rectangles and text runs per cell style.
 * `<text>` carries `data-row` so the text grid can be recovered exactly.
 */
export function frameSvg(c: Canvas, overlay?: SvgOverlay, title = "htrac"): string {
  const { w: cw, h: ch, pad, font, baseline } = SVG_CELL;
  const W = c.cols * cw + pad * 2;
  const H = c.rows * ch + pad * 2;
  const fgDefault = "#d0d0d0";
  const bgDefault = "#1e1e1e";
  const parts: string[] = [];
  parts.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" data-cols="${c.cols}" data-rows="${c.rows}" data-cell-width="${cw}" data-cell-height="${ch}" data-pad="${pad}">`,
  );
  parts.push(`<title>${xmlEscape(title)}</title>`);
  if (overlay?.defs) parts.push(`<defs>${overlay.defs}</defs>`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="${bgDefault}"/>`);
  parts.push(
    `<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="${font}" xml:space="preserve">`,
  );
  c.cells.forEach((row: Cell[], y) => {
    let x = 0;
    while (x < row.length) {
      const attr = row[x][0];
      let end = x;
      let text = "";
      while (end < row.length && row[end][0] === attr) {
        text += row[end][1];
        end++;
      }
      const a = decodeAttr(attr);
      let fg = paletteHex(a.fg, fgDefault);
      let bg = paletteHex(a.bg, bgDefault);
      if (a.inverse) [fg, bg] = [bg, fg];
      const px = pad + x * cw;
      const py = pad + y * ch;
      if (bg !== bgDefault)
        parts.push(`<rect x="${px}" y="${py}" width="${(end - x) * cw}" height="${ch}" fill="${bg}"/>`);
      if (text.trim() !== "") {
        let cells = 0;
        for (const chr of text) cells += Math.max(0, cpWidth(chr.codePointAt(0)!));
        const attrs = [
          `x="${px}"`,
          `y="${py + baseline}"`,
          `fill="${fg}"`,
          `textLength="${cells * cw}"`,
          `lengthAdjust="spacingAndGlyphs"`,
          `data-row="${y}"`,
          `data-col="${x}"`,
        ];
        if (a.bold) attrs.push(`font-weight="bold"`);
        if (a.underline) attrs.push(`text-decoration="underline"`);
        parts.push(`<text ${attrs.join(" ")}>${xmlEscape(text)}</text>`);
      }
      x = end;
    }
  });
  parts.push("</g>");
  if (overlay?.body) parts.push(overlay.body);
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** Recover the text grid from an SVG made by `frameSvg` (rows trimmed). */
export function svgText(svg: string, rows: number, cols: number): string {
  const grid = Array.from({ length: rows }, () => Array.from({ length: cols }, () => " "));
  const unesc = (s: string) =>
    s
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, "&");
  for (const m of svg.matchAll(/<text [^>]*data-row="(\d+)" data-col="(\d+)"[^>]*>([^<]*)<\/text>/g)) {
    const y = Number(m[1]);
    let x = Number(m[2]);
    for (const chr of unesc(m[3])) {
      const w = cpWidth(chr.codePointAt(0)!);
      if (w === 0) {
        if (x > 0) grid[y][x - 1] += chr;
        continue;
      }
      grid[y][x] = chr;
      if (w === 2 && x + 1 < cols) grid[y][x + 1] = "";
      x += w;
    }
  }
  return grid.map((r) => r.join("").replace(/ +$/, "")).join("\n");
}

/**
 * SVG elements for annotations over a `frameSvg` screen (cell coordinates → pixels):
 * rectangles as outlines around the cells, arrows as lines from cell centre to cell centre
 * with a head, labels as bold text on a dark plate. Every element carries `data-kind` and
 * `data-cells="x1,y1,x2,y2"` so tools (and tests) can map it back to cells.
 */
export function annotationOverlay(items: readonly Annotation[]): SvgOverlay {
  const { w: cw, h: ch, pad, font } = SVG_CELL;
  const hex = (name: string) => (ANNOTATION_COLORS.find((c) => c.name === name) ?? ANNOTATION_COLORS[0]).hex;
  const used = [...new Set(items.filter((a) => a.kind === "arrow").map((a) => a.color))];
  const defs = used
    .map(
      (c) =>
        `<marker id="arrowhead-${c}" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto" markerUnits="userSpaceOnUse"><path d="M0,0 L10,4 L0,8 z" fill="${hex(c)}"/></marker>`,
    )
    .join("");
  const els: string[] = [];
  for (const a of items) {
    const cells = `data-kind="${a.kind}" data-cells="${a.x1},${a.y1},${a.x2},${a.y2}" data-color="${a.color}"`;
    if (a.kind === "rect") {
      const r = normRect(a);
      els.push(
        `<rect ${cells} x="${pad + r.x1 * cw}" y="${pad + r.y1 * ch}" width="${(r.x2 - r.x1 + 1) * cw}" height="${(r.y2 - r.y1 + 1) * ch}" fill="none" stroke="${hex(a.color)}" stroke-width="2" opacity="0.9"/>`,
      );
    } else if (a.kind === "arrow") {
      const cx = (x: number) => pad + x * cw + cw / 2;
      const cy = (y: number) => pad + y * ch + ch / 2;
      els.push(
        `<line ${cells} x1="${cx(a.x1)}" y1="${cy(a.y1)}" x2="${cx(a.x2)}" y2="${cy(a.y2)}" stroke="${hex(a.color)}" stroke-width="2.5" marker-end="url(#arrowhead-${a.color})" opacity="0.9"/>`,
      );
    } else {
      const text = labelText(a);
      let cells2 = 0;
      for (const chr of text) cells2 += Math.max(1, cpWidth(chr.codePointAt(0)!));
      const x = pad + a.x1 * cw;
      const y = pad + a.y1 * ch;
      els.push(
        `<g ${cells}><rect x="${x - 2}" y="${y}" width="${cells2 * cw + 4}" height="${ch}" fill="#000000" opacity="0.75"/>` +
          `<text x="${x}" y="${y + Math.round(ch * 0.75)}" fill="${hex(a.color)}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="${font}" font-weight="bold" textLength="${cells2 * cw}" lengthAdjust="spacingAndGlyphs">${xmlEscape(text)}</text></g>`,
      );
    }
  }
  return { defs, body: `<g class="annotations">\n${els.join("\n")}\n</g>` };
}

/**
 * Rasterise an SVG with resvg (loaded lazily; system fonts, monospace fallback, the TUI's
 * dark background), at its own size or scaled to fit a box of pixels (by width or by height,
 * whichever binds: an extreme aspect ratio never makes a huge image).
 * @throws when the renderer is unavailable or the SVG does not parse
 */
export async function renderSvg(
  svg: string,
  box?: { width: number; height: number },
): Promise<import("@resvg/resvg-js").RenderedImage> {
  const { Resvg } = await importPackage<typeof import("@resvg/resvg-js")>("@resvg/resvg-js");
  const opts = {
    font: {
      loadSystemFonts: true,
      defaultFontFamily: "DejaVu Sans Mono",
      monospaceFamily: "DejaVu Sans Mono",
    },
    background: "#1e1e1e",
  };
  if (!box) return new Resvg(svg, opts).render();
  const size = new Resvg(svg, opts); // (parsed once more below: resvg fixes the fit when built)
  const byWidth = size.height * (box.width / Math.max(1, size.width)) <= box.height;
  return new Resvg(svg, {
    ...opts,
    fitTo: byWidth
      ? { mode: "width" as const, value: Math.max(1, Math.round(box.width)) }
      : { mode: "height" as const, value: Math.max(1, Math.round(box.height)) },
  }).render();
}

/**
 * Render an SVG to PNG (`renderSvg`).
 * @returns the PNG bytes, or an error message when the renderer is unavailable
 */
export async function svgToPng(svg: string): Promise<{ png: Buffer } | { error: string }> {
  try {
    return { png: (await renderSvg(svg)).asPng() };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Width and height of a PNG from its IHDR chunk. */
export function pngSize(png: Buffer): { width: number; height: number } {
  if (png.length < 24 || png.readUInt32BE(0) !== 0x89504e47) throw new Error("not a PNG");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
