/**
 * Charts of the console: a Preact component around uPlot (one instance per figure, its data replaced in place
 * when only the data changes, resized with its container), and the few uPlot pieces the pages share: bubbles (a
 * scatter whose point sizes carry a third figure), bars, and a vertical marker line. The figure element carries
 * `data-points` (the finite y values given) and the uPlot instance as `uplot`, for the browser tests.
 * @module
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/** A chart's options without its size (the container gives the width). */
export type ChartOptions = Omit<uPlot.Options, 'width' | 'height'>;

/** The finite y values of `data` (series 1 on). */
export function pointCount(data: uPlot.AlignedData): number {
  let count = 0;
  for (const series of data.slice(1)) {
    const ys = series as ArrayLike<number | null | undefined>;
    for (let i = 0; i < ys.length; i++) {
      const y = ys[i];
      if (y != null && Number.isFinite(y)) count++;
    }
  }
  return count;
}

/** A uPlot chart; `options` must keep its identity while it does not change (useMemo), `data` may change. */
export function Chart(props: {
  readonly name: string;
  readonly title: string;
  readonly options: ChartOptions;
  readonly data: uPlot.AlignedData;
  readonly height?: number;
  readonly note?: string;
}) {
  const figure = useRef<HTMLElement>(null);
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const height = props.height ?? 260;
  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    const width = Math.max(240, element.clientWidth);
    const chart = new uPlot({ ...props.options, width, height }, props.data, element);
    plot.current = chart;
    (figure.current as (HTMLElement & { uplot?: uPlot }) | null)?.setAttribute('data-ready', 'true');
    if (figure.current) (figure.current as HTMLElement & { uplot?: uPlot }).uplot = chart;
    const observer = new ResizeObserver(() => {
      const next = Math.max(240, element.clientWidth);
      if (next !== chart.width) chart.setSize({ width: next, height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = undefined;
    };
  }, [props.options, height]);
  useEffect(() => {
    const chart = plot.current;
    if (chart && chart.data !== props.data) chart.setData(props.data);
    figure.current?.setAttribute('data-points', String(pointCount(props.data)));
  }, [props.data]);
  return (
    <figure class="chart" data-chart={props.name} ref={figure}>
      <figcaption>{props.title}</figcaption>
      <div ref={holder} class="chart-canvas" />
      {props.note && <p class="note">{props.note}</p>}
    </figure>
  );
}

/** An axis's tick labels by `format`, blank where uPlot leaves a tick unlabelled (a log scale's minor ticks). */
export function ticks(format: (value: number) => string): (u: uPlot, values: number[]) => string[] {
  return (_, values) => values.map((v) => (v == null ? '' : format(v)));
}

/** Series colours (colour-blind safe: Okabe–Ito). */
export const COLOURS = {
  blue: '#0072B2',
  orange: '#E69F00',
  green: '#009E73',
  red: '#D55E00',
  purple: '#CC79A7',
  sky: '#56B4E9',
  yellow: '#F0E442',
  grey: '#8a8f98',
  ink: '#1f2430',
} as const;

/** Circles each bubble series drew last, by chart. */
const drawnCounts = new WeakMap<uPlot, Map<number, number>>();

/**
 * Draws a series as circles whose radius grows with the square root of `sizes[i]` (area ∝ the figure), from
 * `minRadius` to `maxRadius` pixels; counts the circles drawn in the figure's `data-drawn` attribute.
 */
export function bubbles(
  sizes: () => readonly (number | null)[],
  minRadius = 3,
  maxRadius = 14,
): uPlot.Series.PathBuilder {
  return (u, seriesIndex, idx0, idx1) => {
    const xs = u.data[0];
    const ys = u.data[seriesIndex] as ArrayLike<number | null>;
    const all = sizes();
    const finite = all.filter((s): s is number => s != null && Number.isFinite(s));
    const top = Math.sqrt(Math.max(1e-9, ...finite));
    const series = u.series[seriesIndex] as uPlot.Series;
    const stroke =
      typeof series.stroke === 'function' ? series.stroke(u, seriesIndex) : (series.stroke ?? COLOURS.blue);
    const fill = typeof series.fill === 'function' ? series.fill(u, seriesIndex) : (series.fill ?? stroke);
    const ratio = window.devicePixelRatio || 1;
    const path = new Path2D();
    let drawn = 0;
    for (let i = idx0; i <= idx1; i++) {
      const x = xs[i];
      const y = ys[i];
      if (x == null || y == null || !Number.isFinite(y)) continue;
      const size = all[i];
      const r =
        (size != null && size > 0 ? minRadius + (maxRadius - minRadius) * (Math.sqrt(size) / top) : minRadius) * ratio;
      const cx = u.valToPos(x, 'x', true);
      const cy = u.valToPos(y, series.scale ?? 'y', true);
      path.moveTo(cx + r, cy);
      path.arc(cx, cy, r, 0, 2 * Math.PI);
      drawn++;
    }
    u.ctx.save();
    u.ctx.fillStyle = fill as string;
    u.ctx.strokeStyle = stroke as string;
    u.ctx.lineWidth = ratio;
    u.ctx.fill(path);
    u.ctx.stroke(path);
    u.ctx.restore();
    // The circles drawn, per series, summed into the figure's data-drawn (what the browser tests read).
    const counts = drawnCounts.get(u) ?? new Map<number, number>();
    drawnCounts.set(u, counts.set(seriesIndex, drawn));
    let total = 0;
    for (const n of counts.values()) total += n;
    u.root.closest('figure')?.setAttribute('data-drawn', String(total));
    return null;
  };
}

/** Bars centred on each x, `share` of the distance between two x values wide. */
export function bars(share = 0.6): uPlot.Series.PathBuilder {
  return uPlot.paths.bars?.({ size: [share, 64] }) as uPlot.Series.PathBuilder;
}

/** A plugin that draws a dashed vertical line at `x()` with a label (a breakpoint, a deadline). */
export function markerPlugin(x: () => number | undefined, label: string, colour: string = COLOURS.ink): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const value = x();
        if (value === undefined || !Number.isFinite(value)) return;
        const left = u.valToPos(value, 'x', true);
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = colour;
        ctx.fillStyle = colour;
        ctx.setLineDash([6, 4]);
        ctx.lineWidth = 1.5 * (window.devicePixelRatio || 1);
        ctx.beginPath();
        ctx.moveTo(left, u.bbox.top);
        ctx.lineTo(left, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.font = `${12 * (window.devicePixelRatio || 1)}px system-ui, sans-serif`;
        ctx.fillText(label, left + 4, u.bbox.top + 14 * (window.devicePixelRatio || 1));
        ctx.restore();
      },
    },
  };
}
