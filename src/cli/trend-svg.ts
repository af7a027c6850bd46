/**
 * The SVG of `priority-trend` (cli.md §2.20, tui.md §7.5): a 960×440 scatter plot of the
 * mean priority of open items per day, titled "Mean priority of open tracker items", with
 * gridlines at quarter, half or whole priority steps and a hover title on every point
 * (`<day>: mean X over N open`). Hand-built, deterministic for the same points.
 */
import type { TrendPoint } from "../store/trend.js";

const W = 960;
const H = 440;
const LEFT = 64;
const RIGHT = 24;
const TOP = 48;
const BOTTOM = 56;

/** A coordinate with at most two decimals (stable text). */
const n2 = (x: number): string => String(Math.round(x * 100) / 100);

/** The SVG document (UTF-8 text, ends with a newline). */
export function trendSvg(points: TrendPoint[]): string {
  const shown = points.filter((p) => p.meanPriority !== null);
  const means = shown.map((p) => p.meanPriority!);
  let lo = means.length ? Math.floor(Math.min(...means)) : 0;
  let hi = means.length ? Math.ceil(Math.max(...means)) : 4;
  if (hi - lo < 1) hi = lo + 1;
  const span = hi - lo;
  const step = span <= 1 ? 0.25 : span <= 2 ? 0.5 : 1;
  if (lo < 0) lo = 0;
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const x = (i: number) => LEFT + (points.length > 1 ? (i * plotW) / (points.length - 1) : plotW / 2);
  // Priority 0 is the most urgent: drawn at the top.
  const y = (v: number) => TOP + ((v - lo) / (hi - lo)) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">Mean priority of open tracker items</text>`,
  ];
  for (let v = lo; v <= hi + 1e-9; v += step) {
    const yy = n2(y(v));
    const whole = Math.abs(v - Math.round(v)) < 1e-9;
    out.push(
      `<line x1="${LEFT}" y1="${yy}" x2="${W - RIGHT}" y2="${yy}" stroke="${whole ? "#bbbbbb" : "#e4e4e4"}"/>`,
      `<text x="${LEFT - 8}" y="${n2(y(v) + 4)}" text-anchor="end">P${n2(v)}</text>`,
    );
  }
  out.push(
    `<line x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${H - BOTTOM}" stroke="#555555"/>`,
    `<line x1="${LEFT}" y1="${H - BOTTOM}" x2="${W - RIGHT}" y2="${H - BOTTOM}" stroke="#555555"/>`,
  );
  // Day labels: the first, the last and about six between.
  const every = Math.max(1, Math.ceil(points.length / 7));
  points.forEach((p, i) => {
    if (i % every !== 0 && i !== points.length - 1) return;
    const anchor =
      i === points.length - 1 && i > 0 ? "end" : i === 0 && points.length > 1 ? "start" : "middle";
    out.push(`<text x="${n2(x(i))}" y="${H - BOTTOM + 20}" text-anchor="${anchor}">${p.day}</text>`);
  });
  points.forEach((p, i) => {
    if (p.meanPriority === null) return;
    out.push(
      `<circle cx="${n2(x(i))}" cy="${n2(y(p.meanPriority))}" r="3" fill="#2f6fdf"><title>${p.day}: mean ${p.meanPriority.toFixed(2)} over ${p.open} open</title></circle>`,
    );
  });
  if (shown.length === 0)
    out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#888888">no open items</text>`);
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
