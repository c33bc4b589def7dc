/**
 * Charts of the self-contained HTML reports, drawn by Observable Plot (the library the web console will use)
 * into static SVG markup on a linkedom document: no browser, no `node:` imports (the report layer stays
 * browser-safe), no scripts. The markup is deterministic: Plot's class name is a constant (`plot-d6a7b5`), and
 * the only run-dependent ids Plot writes (`plot-clip-N`, `plot-pattern-N`, `plot-marker-N`, from process-wide
 * counters) are renumbered per chart, so the same input gives the same bytes.
 *
 * Besides rendering, this module holds what the reports share: the palette, the figure with its caption, the
 * real data range for captions (not padded axis limits), unit scaling and a greedy label placer that keeps
 * point labels from overprinting one another or the points.
 * @module
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import { significant } from '../util/number.js';
import { escapeHtml } from './html.js';

/** Width of a full-width chart in CSS pixels (the page's text column is 980 px wide). */
export const CHART_WIDTH = 900;

/** Font size of chart text in pixels; the page CSS uses the same (see `html.ts`). */
export const CHART_FONT_PX = 12;

/** The reports' colours: series, markers and the neutral grey of context marks. */
export const PALETTE = {
  blue: '#1f77b4',
  orange: '#ff7f0e',
  green: '#2ca02c',
  red: '#d62728',
  purple: '#9467bd',
  brown: '#8c564b',
  pink: '#e377c2',
  olive: '#bcbd22',
  cyan: '#17becf',
  grey: '#9a9a9a',
  ink: '#222222',
} as const;

/** Categorical colours in a fixed order, for series whose number varies (accelerators, memory parts). */
export const CATEGORY_COLORS: readonly string[] = [
  PALETTE.blue,
  PALETTE.orange,
  PALETTE.green,
  PALETTE.purple,
  PALETTE.brown,
  PALETTE.pink,
  PALETTE.olive,
  PALETTE.cyan,
  PALETTE.red,
  '#393b79',
  '#637939',
  '#8c6d31',
];

/** A plotted chart: the svg (or a figure around svg and legend) with its scales. */
export type PlotElement = Plot.Plot & { readonly outerHTML: string };

/** Defaults every chart gets unless its options say otherwise. */
const DEFAULTS: Plot.PlotOptions = {
  width: CHART_WIDTH,
  style: { fontSize: `${CHART_FONT_PX}px`, background: '#fff', overflow: 'visible' },
};

/** Draws `options` with Plot on a fresh linkedom document and returns the element, whose `scale()` reads scales. */
export function plotElement(options: Plot.PlotOptions): PlotElement {
  const { document } = parseHTML('<!doctype html><html><head></head><body></body></html>');
  return Plot.plot({
    ...DEFAULTS,
    ...options,
    document: document as unknown as Plot.PlotOptions['document'],
  }) as PlotElement;
}

/**
 * Draws `options` and returns the markup. `key` (unique within a page) prefixes the ids Plot numbers from
 * process-wide counters, so the markup does not depend on what was drawn before it.
 */
export function renderChart(key: string, options: Plot.PlotOptions): string {
  return serialize(key, plotElement(options));
}

/** The markup of a plotted element, its counter-numbered ids renamed after `key`. */
export function serialize(key: string, element: PlotElement): string {
  const ids = new Map<string, string>();
  const counts = new Map<string, number>();
  return element.outerHTML.replace(/plot-(clip|pattern|marker)-\d+/g, (id: string, kind: string) => {
    let renamed = ids.get(id);
    if (!renamed) {
      const n = (counts.get(kind) ?? 0) + 1;
      counts.set(kind, n);
      renamed = `${key}-${kind}-${n}`;
      ids.set(id, renamed);
    }
    return renamed;
  });
}

/** A chart (or charts stacked, as panels over one time axis) with its caption, as an HTML `<figure>`. */
export function chartFigure(charts: string | readonly string[], caption: string, ariaLabel?: string): string {
  const body = typeof charts === 'string' ? charts : charts.join('');
  const label = ariaLabel ? ` role="group" aria-label="${escapeHtml(ariaLabel)}"` : '';
  return `<figure class="chart"${label}>${body}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** The smallest and largest finite value, or undefined when there is none. */
export function finiteExtent(values: Iterable<number>): [number, number] | undefined {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : undefined;
}

/**
 * The real range of the data for a caption: "0.52 to 17.5 days"; one value when all are equal; `none` when no
 * value is finite. `format` writes one value, `unit` follows the range.
 */
export function rangeText(values: Iterable<number>, format: (v: number) => string = significant, unit = ''): string {
  const extent = finiteExtent(values);
  const suffix = unit ? ` ${unit}` : '';
  if (!extent) return 'none';
  const [lo, hi] = extent;
  const a = format(lo);
  const b = format(hi);
  return a === b ? `${a}${suffix}` : `${a} to ${b}${suffix}`;
}

/** A divisor and its name for showing values of this size: 1.7e6 tokens/s as 1.7 "M tokens/s". */
export interface UnitScale {
  readonly divisor: number;
  /** The prefix: '', 'K', 'M', 'B' or 'T'. */
  readonly prefix: string;
}

/** The thousands prefix that keeps `max` between 1 and 1000 (none below 10,000, so small counts stay whole). */
export function unitScale(max: number): UnitScale {
  const steps: UnitScale[] = [
    { divisor: 1e12, prefix: 'T' },
    { divisor: 1e9, prefix: 'B' },
    { divisor: 1e6, prefix: 'M' },
    { divisor: 1e3, prefix: 'K' },
  ];
  if (!Number.isFinite(max) || Math.abs(max) < 1e4) return { divisor: 1, prefix: '' };
  return steps.find((s) => Math.abs(max) >= s.divisor) ?? { divisor: 1, prefix: '' };
}

/**
 * A number for tick labels and annotations: at most `digits` significant digits, no trailing zeros, thousands
 * separators from 10,000 (20, 0.5, 1.25, 16,384); never NaN or Infinity (they read as an empty string).
 */
export function plainNumber(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return '';
  if (value === 0) return '0';
  const rounded = Number(value.toPrecision(digits));
  if (Math.abs(rounded) >= 1e4) return Math.round(rounded).toLocaleString('en-US');
  return String(rounded);
}

/** About `count` round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]. */
export function linearTicks(lo: number, hi: number, count = 6): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) return [lo];
  const [a, b] = lo < hi ? [lo, hi] : [hi, lo];
  const raw = (b - a) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [];
  for (let i = Math.ceil(a / step); i * step <= b + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/**
 * Tick values for a log axis over [lo, hi] (both positive): 1, 2 and 5 times powers of ten, thinned to powers
 * of ten over wide ranges; over less than a factor of about three, round linear ticks instead.
 */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi > 0) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  const [a, b] = lo < hi ? [lo, hi] : [hi, lo];
  const ticks: number[] = [];
  const decades = Math.log10(b / a);
  const steps = decades > 5 ? [1] : decades > 3 ? [1, 3] : [1, 2, 5];
  for (let e = Math.floor(Math.log10(a)); e <= Math.ceil(Math.log10(b)); e++) {
    for (const m of steps) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= a * (1 - 1e-9) && v <= b * (1 + 1e-9)) ticks.push(v);
    }
  }
  return ticks.length >= 3 ? ticks : linearTicks(a, b, 5).filter((v) => v > 0);
}

/** Integer tick values from 0 to `top` (at most about `count` of them), for axes of counts. */
export function integerTicks(top: number, count = 6): number[] {
  const max = Math.max(1, Math.ceil(top));
  const step = Math.max(1, Math.ceil(max / count));
  const ticks: number[] = [];
  for (let v = 0; v <= max; v += step) ticks.push(v);
  return ticks;
}

/** Where a label sits relative to its point. */
export type LabelSide = 'right' | 'left' | 'above' | 'below';

/** A point to label, in pixels, with the text and the radius of its dot. */
export interface LabelRequest<T> {
  readonly datum: T;
  readonly px: number;
  readonly py: number;
  readonly text: string;
  /** The dot's radius in pixels (labels keep clear of it). */
  readonly radius: number;
}

/** A label that found room: its anchor in pixels and the side of the point it sits on. */
export interface PlacedLabel<T> {
  readonly datum: T;
  readonly text: string;
  readonly side: LabelSide;
  /** The text anchor in pixels (start, end or middle of the text, depending on the side). */
  readonly px: number;
  readonly py: number;
}

/** A box in pixels. */
export interface Box {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

const overlaps = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/** What labels must keep clear of, in pixels: the plot's inner frame, dots and other boxes (say, an annotation). */
export interface LabelSpace {
  readonly frame: Box;
  /** Dots that are not labelled but must not be covered (the labelled points' own dots are added). */
  readonly dots?: readonly { readonly px: number; readonly py: number; readonly radius: number }[];
  readonly boxes?: readonly Box[];
  readonly fontPx?: number;
}

/**
 * Greedy label placement: in the order given (most important first), each label takes the first side (right,
 * left, above, below) where its box stays inside the frame, off every dot and box and off every label already
 * placed; a label with no room is left out, and so is a repeat of the same text on the same spot. Widths are estimated from the character count, so placement is
 * deterministic and needs no browser.
 */
export function placeLabels<T>(requests: readonly LabelRequest<T>[], space: LabelSpace): PlacedLabel<T>[] {
  const { frame } = space;
  const fontPx = space.fontPx ?? CHART_FONT_PX;
  const dotBox = (o: { px: number; py: number; radius: number }): Box => ({
    x0: o.px - o.radius,
    y0: o.py - o.radius,
    x1: o.px + o.radius,
    y1: o.py + o.radius,
  });
  const taken: Box[] = [...requests.map(dotBox), ...(space.dots ?? []).map(dotBox), ...(space.boxes ?? [])];
  const placed: PlacedLabel<T>[] = [];
  const gap = 3;
  const done: LabelRequest<T>[] = [];
  for (const r of requests) {
    // Points drawn on top of one another with the same label are labelled once.
    if (done.some((d) => d.text === r.text && Math.abs(d.px - r.px) < 2 && Math.abs(d.py - r.py) < 2)) continue;
    done.push(r);
    // Advance width per character: 0.64 em covers DejaVu Sans digits (0.636 em), the widest of the fallback fonts
    // a chart meets on Linux (Arial's are 0.556 em), so a label never runs wider than its box.
    const w = r.text.length * fontPx * 0.64;
    const h = fontPx * 1.15;
    const off = r.radius + gap;
    const candidates: [LabelSide, number, number, Box][] = [
      ['right', r.px + off, r.py, { x0: r.px + off, y0: r.py - h / 2, x1: r.px + off + w, y1: r.py + h / 2 }],
      ['left', r.px - off, r.py, { x0: r.px - off - w, y0: r.py - h / 2, x1: r.px - off, y1: r.py + h / 2 }],
      ['above', r.px, r.py - off, { x0: r.px - w / 2, y0: r.py - off - h, x1: r.px + w / 2, y1: r.py - off }],
      ['below', r.px, r.py + off, { x0: r.px - w / 2, y0: r.py + off, x1: r.px + w / 2, y1: r.py + off + h }],
    ];
    for (const [side, px, py, box] of candidates) {
      const inside = box.x0 >= frame.x0 && box.x1 <= frame.x1 && box.y0 >= frame.y0 && box.y1 <= frame.y1;
      // Each side starts clear of the point's own dot, so testing every box taken is right.
      if (!inside || taken.some((t) => overlaps(t, box))) continue;
      placed.push({ datum: r.datum, text: r.text, side, px, py });
      taken.push(box);
      break;
    }
  }
  return placed;
}

/** Text-anchor and line-anchor of a label on each side of its point. */
const SIDE_ANCHORS: Readonly<
  Record<LabelSide, { textAnchor: 'start' | 'end' | 'middle'; lineAnchor: 'top' | 'middle' | 'bottom' }>
> = {
  right: { textAnchor: 'start', lineAnchor: 'middle' },
  left: { textAnchor: 'end', lineAnchor: 'middle' },
  above: { textAnchor: 'middle', lineAnchor: 'bottom' },
  below: { textAnchor: 'middle', lineAnchor: 'top' },
};

/**
 * Text marks for placed labels, one per side, positioned in data coordinates through the inverse of the plot's
 * own x and y scales (so they land where {@link placeLabels} put them). `description` names the marks
 * (`aria-description`) for tests and assistive technology.
 */
export function labelMarks<T>(
  placed: readonly PlacedLabel<T>[],
  x: Plot.Scale,
  y: Plot.Scale,
  description: string,
  fill: string = PALETTE.ink,
): Plot.Markish[] {
  const invert = (scale: Plot.Scale, v: number) => (scale.invert ? Number(scale.invert(v)) : v);
  return (['right', 'left', 'above', 'below'] as const).flatMap((side) => {
    const rows = placed
      .filter((p) => p.side === side)
      .map((p) => ({ x: invert(x, p.px), y: invert(y, p.py), text: p.text }));
    if (rows.length === 0) return [];
    return [
      Plot.text(rows, {
        x: 'x',
        y: 'y',
        text: 'text',
        ...SIDE_ANCHORS[side],
        fill,
        stroke: '#fff',
        strokeWidth: 3,
        paintOrder: 'stroke',
        ariaDescription: description,
      }),
    ];
  });
}

/** The inner frame of a plotted chart in pixels (inside the margins), from its x and y scale ranges. */
export function frameOf(element: PlotElement): Box | undefined {
  const x = element.scale('x')?.range;
  const y = element.scale('y')?.range;
  if (!x || !y) return undefined;
  const [xa, xb] = x as [number, number];
  const [ya, yb] = y as [number, number];
  return { x0: Math.min(xa, xb), x1: Math.max(xa, xb), y0: Math.min(ya, yb), y1: Math.max(ya, yb) };
}
