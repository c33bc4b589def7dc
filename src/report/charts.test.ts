/** Chart helpers: deterministic markup, ids independent of what was drawn before, captions, ticks, labels. */
import * as Plot from '@observablehq/plot';
import { describe, expect, it } from 'vitest';
import {
  chartFigure,
  finiteExtent,
  integerTicks,
  linearTicks,
  logTicks,
  placeLabels,
  plainNumber,
  rangeText,
  renderChart,
  unitScale,
} from './charts.js';

const data = [
  { days: 0.5, cost: 20, series: 'a' },
  { days: 3, cost: 35, series: 'b' },
  { days: 40, cost: 12, series: 'a' },
];

const options = (): Plot.PlotOptions => ({
  ariaLabel: 'test chart',
  x: { type: 'log', label: 'time, days' },
  y: { label: 'cost, $K' },
  color: { legend: true },
  marks: [
    Plot.dot(data, { x: 'days', y: 'cost', fill: 'series', ariaDescription: 'points' }),
    Plot.ruleX([10], { ariaDescription: 'deadline' }),
    // clip and marker make Plot number ids from process-wide counters
    Plot.line(data, { x: 'days', y: 'cost', clip: true, marker: 'circle' }),
  ],
});

describe('renderChart', () => {
  it('gives the same markup every time, whatever was drawn before', () => {
    const first = renderChart('t', options());
    renderChart('other', options());
    const second = renderChart('t', options());
    expect(second).toBe(first);
    expect(first).toContain('t-clip-1');
    expect(first).toContain('t-marker-1');
    expect(first).not.toMatch(/plot-(clip|marker|pattern)-\d/);
  });

  it('draws axes, a legend and described marks, with no script and no URL', () => {
    const markup = renderChart('t', options());
    expect(markup).toContain('aria-label="test chart"');
    expect(markup).toContain('aria-label="x-axis tick"');
    expect(markup).toContain('aria-label="y-axis tick label"');
    expect(markup).toContain('time, days');
    expect(markup).toContain('-swatches');
    expect(markup).toContain('aria-description="deadline"');
    expect(markup).not.toMatch(/<script|https?:\/\/|NaN|Infinity/);
  });

  it('escapes text in marks', () => {
    const markup = renderChart('e', { marks: [Plot.text([{ t: 'a < b & c' }], { text: 't', frameAnchor: 'middle' })] });
    expect(markup).toContain('a &lt; b &amp; c');
  });
});

describe('captions and axes', () => {
  it('rangeText gives the real data range and guards empty data', () => {
    expect(rangeText([3, 1, 2, Number.NaN, Number.POSITIVE_INFINITY], (v) => v.toFixed(1), 'days')).toBe(
      '1.0 to 3.0 days',
    );
    expect(rangeText([2, 2], (v) => v.toFixed(1))).toBe('2.0');
    expect(rangeText([])).toBe('none');
    expect(finiteExtent([Number.NaN])).toBeUndefined();
  });

  it('plainNumber strips trailing zeros and never writes NaN or Infinity', () => {
    expect(plainNumber(20)).toBe('20');
    expect(plainNumber(0.5)).toBe('0.5');
    expect(plainNumber(16384)).toBe('16,400');
    expect(plainNumber(16384, 5)).toBe('16,384');
    expect(plainNumber(Number.NaN)).toBe('');
    expect(plainNumber(Number.POSITIVE_INFINITY)).toBe('');
  });

  it('ticks are round and inside the range', () => {
    expect(logTicks(0.4, 60)).toEqual([0.5, 1, 2, 5, 10, 20, 50]);
    expect(logTicks(50, 2e7)).toEqual([100, 1000, 10000, 100000, 1000000, 10000000]);
    expect(logTicks(1.1, 1.9).every((v) => v >= 1.1 && v <= 1.9)).toBe(true);
    expect(logTicks(0, 10)).toEqual([]);
    expect(linearTicks(0.91, 0.95, 5)).toEqual([0.91, 0.92, 0.93, 0.94, 0.95]);
    expect(integerTicks(3)).toEqual([0, 1, 2, 3]);
    expect(integerTicks(100).length).toBeLessThanOrEqual(8);
    expect(unitScale(1.7e6)).toEqual({ divisor: 1e6, prefix: 'M' });
    expect(unitScale(5000)).toEqual({ divisor: 1, prefix: '' });
  });

  it('chartFigure escapes its caption', () => {
    expect(chartFigure('<svg></svg>', 'a < b', 'group')).toBe(
      '<figure class="chart" role="group" aria-label="group"><svg></svg><figcaption>a &lt; b</figcaption></figure>',
    );
  });
});

describe('placeLabels', () => {
  const frame = { x0: 0, y0: 0, x1: 400, y1: 300 };
  const box = (p: { px: number; py: number; side: string; text: string }) => {
    const w = p.text.length * 12 * 0.6;
    const h = 12 * 1.15;
    if (p.side === 'right') return { x0: p.px, x1: p.px + w, y0: p.py - h / 2, y1: p.py + h / 2 };
    if (p.side === 'left') return { x0: p.px - w, x1: p.px, y0: p.py - h / 2, y1: p.py + h / 2 };
    if (p.side === 'above') return { x0: p.px - w / 2, x1: p.px + w / 2, y0: p.py - h, y1: p.py };
    return { x0: p.px - w / 2, x1: p.px + w / 2, y0: p.py, y1: p.py + h };
  };

  it('places labels that do not overlap one another and stay in the frame', () => {
    const requests = Array.from({ length: 30 }, (_, i) => ({
      datum: i,
      px: 100 + (i % 6) * 14,
      py: 100 + Math.floor(i / 6) * 9,
      text: `${i * 64}`,
      radius: 4,
    }));
    const placed = placeLabels(requests, { frame });
    expect(placed.length).toBeGreaterThan(3);
    expect(placed.length).toBeLessThan(requests.length);
    const boxes = placed.map(box);
    for (const [i, a] of boxes.entries()) {
      expect(a.x0 >= 0 && a.x1 <= 400 && a.y0 >= 0 && a.y1 <= 300).toBe(true);
      for (const b of boxes.slice(i + 1)) {
        expect(a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1).toBe(false);
      }
    }
    expect(placeLabels(requests, { frame })).toEqual(placed);
  });

  it('labels coincident points with the same text once, and keeps off blocked boxes', () => {
    const same = [
      { datum: 'a', px: 50, py: 50, text: '64', radius: 3 },
      { datum: 'b', px: 50.5, py: 50, text: '64', radius: 3 },
    ];
    expect(placeLabels(same, { frame }).map((p) => p.datum)).toEqual(['a']);
    const blocked = placeLabels([{ datum: 'c', px: 50, py: 50, text: '64', radius: 3 }], {
      frame,
      boxes: [{ x0: 52, y0: 30, x1: 90, y1: 70 }],
    });
    expect(blocked[0]?.side).toBe('left');
  });
});
