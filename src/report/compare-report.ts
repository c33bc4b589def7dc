/**
 * Reports of a dedicated-versus-shared comparison: a table per size and side, the breakpoint, and (HTML) charts
 * drawn by Observable Plot (`charts.ts`) of time to train and cost per million tokens against job size, both
 * sides as labelled series, the breakpoint marked.
 * @module
 */

import * as Plot from '@observablehq/plot';
import type { CompareOutcome } from '../app/compare.js';
import type { ComparePoint, CompareResult } from '../breakpoint/compare.js';
import { chartFigure, finiteExtent, logTicks, PALETTE, plainNumber, rangeText, renderChart } from './charts.js';
import { formatInteger } from './format.js';
import { escapeHtml, htmlPage, htmlTable, markdownTable, type TextTable } from './html.js';
import { renderTable } from './table.js';

export type { CompareOutcome };

const days = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'never');
const money = (v: number) => (Number.isFinite(v) ? `$${v.toFixed(3)}` : '-');

function tables(outcome: CompareOutcome): { sides: TextTable; shared: TextTable } {
  const points = outcome.result.points;
  const sides = {
    headers: [
      'GPUs',
      'layout',
      'factory days',
      'shared days',
      'shared start h',
      'factory $/M tok',
      'shared $/M tok',
      'factory wins',
      'break-even use',
    ],
    rows: points.map((p) => [
      formatInteger(p.gpus),
      p.layout,
      days(p.dedicated.timeToTrainDays),
      days(p.shared.timeToTrainDays),
      Number.isFinite(p.shared.timeToStartHours) ? p.shared.timeToStartHours.toFixed(2) : 'never',
      money(p.dedicated.usdPerMillionTokens),
      money(p.shared.usdPerMillionTokens),
      p.factoryWins.time && p.factoryWins.cost
        ? 'yes'
        : p.factoryWins.time
          ? 'time only'
          : p.factoryWins.cost
            ? 'cost only'
            : 'no',
      Number.isFinite(p.breakEvenUtilisation) && p.breakEvenUtilisation > 0
        ? `${(100 * p.breakEvenUtilisation).toFixed(0)}%`
        : '-',
    ]),
  };
  const shared = {
    headers: [
      'GPUs',
      'fabric',
      'interference',
      'generations',
      'step slowdown',
      'leaves',
      'cluster use',
      'tenants +wait s',
      'spares (factory)',
    ],
    rows: points.map((p) => [
      formatInteger(p.gpus),
      `${p.shared.slowdown.fabric.toFixed(3)}×`,
      `${p.shared.slowdown.interference.toFixed(3)}×`,
      `${p.shared.slowdown.mixedGenerations.toFixed(3)}×`,
      `${p.shared.slowdown.total.toFixed(3)}×`,
      p.shared.leaves === null ? '-' : String(p.shared.leaves),
      `${(100 * p.shared.clusterUtilisation).toFixed(0)}%`,
      formatInteger(p.shared.tenantExtraWaitSeconds),
      String(p.dedicated.spareNodes),
    ]),
  };
  return { sides, shared };
}

function breakpointLine(result: CompareResult): string {
  const b = result.breakpoint;
  return b.gpus === null ? `Breakpoint: none (${b.reason})` : `Breakpoint: ${formatInteger(b.gpus)} GPUs (${b.reason})`;
}

/** Plain-text report. */
export function renderCompareText(outcome: CompareOutcome): string {
  const t = tables(outcome);
  const text = (tab: TextTable) =>
    renderTable(
      tab.headers.map((header, i) => ({ header, align: i === 1 && tab === t.sides ? 'left' : 'right' })),
      tab.rows,
    );
  const skipped = outcome.result.skipped.map((s) => `  skipped ${formatInteger(s.gpus)} GPUs: ${s.reason}`);
  return [
    outcome.title,
    ...outcome.settings.map((line) => `  ${line}`),
    '',
    breakpointLine(outcome.result),
    '',
    text(t.sides),
    '',
    'The shared side, effect by effect',
    text(t.shared),
    ...(skipped.length ? ['', ...skipped] : []),
  ].join('\n');
}

/** Markdown report. */
export function renderCompareMarkdown(outcome: CompareOutcome): string {
  const t = tables(outcome);
  return `${[
    `# ${outcome.title}`,
    outcome.settings.map((line) => `- ${line}`).join('\n'),
    `**${breakpointLine(outcome.result)}**`,
    markdownTable(t.sides),
    '## The shared side, effect by effect',
    markdownTable(t.shared),
    ...outcome.result.skipped.map((s) => `- skipped ${formatInteger(s.gpus)} GPUs: ${s.reason}`),
  ].join('\n\n')}\n`;
}

const FACTORY = 'dedicated factory';
const SHARED = 'shared data center';

/** One figure of both sides at each size: `read` gives [factory, shared]. */
interface CompareChart {
  /** The svg's aria-label (tests and assistive technology find the chart by it). */
  readonly ariaLabel: string;
  readonly key: string;
  readonly axis: string;
  readonly log: boolean;
  readonly read: (p: ComparePoint) => readonly [number, number];
  readonly format: (v: number) => string;
  readonly unit: string;
}

/**
 * A line chart of one figure against job size (GPUs, log x), the dedicated factory and the shared data center as
 * two series with a legend, the breakpoint as a labelled rule. Sizes where a side has no finite value (the job
 * never started) are left out of its line and named in the caption.
 */
function compareFigure(result: CompareResult, chart: CompareChart): string {
  const points = result.points;
  const rows = points.flatMap((p) => {
    const [factory, shared] = chart.read(p);
    return [
      { gpus: p.gpus, side: FACTORY, value: factory, layout: p.layout },
      { gpus: p.gpus, side: SHARED, value: shared, layout: p.layout },
    ].filter((r) => Number.isFinite(r.value) && (!chart.log || r.value > 0));
  });
  if (rows.length === 0) return '';
  const sizes = points.map((p) => p.gpus).filter((g) => Number.isFinite(g) && g > 0);
  const [gLo, gHi] = finiteExtent(sizes) ?? [1, 1];
  const xDomain = [gLo / 1.3, gHi * 1.3];
  const breakpoint = result.breakpoint.gpus;
  const [vLo, vHi] = finiteExtent(rows.map((r) => r.value)) ?? [1, 1];
  const span = vHi - vLo || Math.abs(vHi) || 1;
  const yDomain = chart.log ? [vLo / 1.25, vHi * 1.25] : [Math.max(0, vLo - 0.15 * span), vHi + 0.25 * span];
  const breakpointText = breakpoint === null ? '' : `breakpoint: ${formatInteger(breakpoint)} GPUs`;
  const atRight = breakpoint !== null && breakpoint >= gHi;
  const svg = renderChart(chart.key, {
    ariaLabel: chart.ariaLabel,
    height: 340,
    marginTop: 24,
    marginRight: 28,
    marginBottom: 46,
    marginLeft: 72,
    grid: true,
    x: {
      type: 'log',
      domain: xDomain,
      ticks: sizes.length <= 12 ? sizes : logTicks(xDomain[0] ?? 1, xDomain[1] ?? 1),
      tickFormat: (v: number) => formatInteger(v),
      label: 'job size, GPUs (log scale)',
      labelAnchor: 'center',
      labelArrow: 'none',
    },
    y: {
      type: chart.log ? 'log' : 'linear',
      domain: yDomain,
      ...(chart.log && { ticks: logTicks(yDomain[0] ?? 1, yDomain[1] ?? 1) }),
      ...(chart.log && { tickFormat: chart.format }),
      label: chart.axis,
      labelAnchor: 'center',
      labelArrow: 'none',
    },
    color: { domain: [FACTORY, SHARED], range: [PALETTE.blue, PALETTE.orange], legend: true },
    marks: [
      breakpoint === null
        ? null
        : Plot.ruleX([breakpoint], {
            stroke: PALETTE.ink,
            strokeWidth: 1.5,
            strokeDasharray: '6,4',
            ariaDescription: 'breakpoint',
            ariaLabel: () => breakpointText,
          }),
      breakpoint === null
        ? null
        : Plot.text([breakpoint], {
            x: (d: number) => d,
            text: () => breakpointText,
            frameAnchor: 'top',
            lineAnchor: 'top',
            textAnchor: atRight ? 'end' : 'start',
            dx: atRight ? -5 : 5,
            dy: 4,
            fill: PALETTE.ink,
            stroke: '#fff',
            strokeWidth: 3,
            paintOrder: 'stroke',
            ariaDescription: 'breakpoint label',
          }),
      Plot.line(rows, { x: 'gpus', y: 'value', stroke: 'side', z: 'side', strokeWidth: 2, ariaDescription: 'series' }),
      Plot.dot(rows, {
        x: 'gpus',
        y: 'value',
        fill: 'side',
        r: 4,
        stroke: '#fff',
        title: (r: { gpus: number; side: string; value: number; layout: string }) =>
          `${formatInteger(r.gpus)} GPUs (${r.layout}), ${r.side}: ${chart.format(r.value)} ${chart.unit}`,
        ariaDescription: 'points',
      }),
    ],
  });
  const side = (name: string) => rows.filter((r) => r.side === name).map((r) => r.value);
  const never = points.filter((p) => !Number.isFinite(chart.read(p)[1])).map((p) => formatInteger(p.gpus));
  const caption = [
    `${points.length} job size${points.length === 1 ? '' : 's'} from ${rangeText(sizes, formatInteger, 'GPUs')}.`,
    `Dedicated factory ${rangeText(side(FACTORY), chart.format, chart.unit)}; shared data center ${rangeText(side(SHARED), chart.format, chart.unit)}.`,
    never.length ? `Left out where the shared side never finishes: ${never.join(', ')} GPUs.` : '',
    breakpoint === null
      ? `No breakpoint: ${result.breakpoint.reason}.`
      : `Dashed line: the breakpoint at ${formatInteger(breakpoint)} GPUs (${result.breakpoint.reason}).`,
  ]
    .filter(Boolean)
    .join(' ');
  return chartFigure(svg, caption);
}

/** Self-contained HTML report. */
export function renderCompareHtml(outcome: CompareOutcome): string {
  const t = tables(outcome);
  return htmlPage(
    outcome.title,
    [
      `<h1>${escapeHtml(outcome.title)}</h1>`,
      `<ul>${outcome.settings.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`,
      `<p><strong>${escapeHtml(breakpointLine(outcome.result))}</strong></p>`,
      '<h2>Time to train</h2>',
      compareFigure(outcome.result, {
        ariaLabel: 'time to train, days',
        key: 'compare-time',
        axis: 'time to train, days (log scale)',
        log: true,
        read: (p) => [p.dedicated.timeToTrainDays, p.shared.timeToTrainDays],
        format: (v) => plainNumber(v),
        unit: 'days',
      }),
      '<h2>Cost per million tokens</h2>',
      compareFigure(outcome.result, {
        ariaLabel: 'USD per million tokens',
        key: 'compare-cost',
        axis: '$ per million tokens',
        log: false,
        read: (p) => [p.dedicated.usdPerMillionTokens, p.shared.usdPerMillionTokens],
        format: (v) => `$${plainNumber(v)}`,
        unit: 'per million tokens',
      }),
      htmlTable('Both sides by size', t.sides),
      htmlTable('The shared side, effect by effect', t.shared),
      outcome.result.skipped.length
        ? `<h3>Skipped</h3><ul>${outcome.result.skipped.map((s) => `<li>${escapeHtml(`${formatInteger(s.gpus)} GPUs: ${s.reason}`)}</li>`).join('')}</ul>`
        : '',
    ].join(''),
  );
}
