/**
 * Reports of a plan or design search: plain text for the terminal, Markdown, and a self-contained HTML page
 * (inline CSS and SVG, no scripts, no network) with charts drawn by Observable Plot (`charts.ts`): the Pareto
 * front of a design search (chosen design and deadline marked) or the best plans on the spec's system, the
 * chosen plan's step time and memory against capacity, then the bill of materials and the power breakdown.
 * @module
 */

import * as Plot from '@observablehq/plot';
import type { PlanOutcome } from '../app/plan.js';
import type { Estimate } from '../perf/estimate.js';
import { type DesignPoint, type DesignResult, usd } from '../plan/design.js';
import type { SearchResult } from '../plan/search.js';
import type { ResolvedPlan } from '../spec/resolve.js';
import { memoryParts, stepParts } from './breakdown.js';
import {
  CATEGORY_COLORS,
  chartFigure,
  finiteExtent,
  frameOf,
  labelMarks,
  logTicks,
  PALETTE,
  placeLabels,
  plainNumber,
  plotElement,
  rangeText,
  renderChart,
} from './charts.js';
import { formatCount, formatInteger, planLayout, significant } from './format.js';
import { escapeHtml, htmlPage, htmlTable, markdownTable } from './html.js';
import { renderTable } from './table.js';

export type { PlanOutcome };

const GiB = 2 ** 30;
const money = usd;
const layout = (plan: ResolvedPlan) => `${planLayout(plan)} mb${plan.microBatch}`;
const memoryOption = (plan: ResolvedPlan) =>
  [
    plan.sharding,
    plan.recomputation === 'full'
      ? `recompute${plan.recomputeLayers ? ` ${plan.recomputeLayers}/chunk` : ''}`
      : 'no recompute',
    plan.activationOffloadLayers ? `offload ${plan.activationOffloadLayers} layers` : '',
    plan.lowPrecisionWeights ? 'FP8 weights' : '',
  ]
    .filter(Boolean)
    .join(', ');

interface Tables {
  readonly plans?: { headers: string[]; rows: string[][] };
  readonly pareto?: { headers: string[]; rows: string[][] };
  readonly step?: { headers: string[]; rows: string[][] };
  readonly memory?: { headers: string[]; rows: string[][] };
  readonly network?: { headers: string[]; rows: string[][] };
  readonly power?: { headers: string[]; rows: string[][] };
  readonly cost?: { headers: string[]; rows: string[][] };
}

function tables(outcome: PlanOutcome): Tables {
  const out: Record<string, { headers: string[]; rows: string[][] }> = {};
  if (outcome.search) {
    out.plans = {
      headers: ['#', 'layout', 'precision', 'memory', 'tokens/s/GPU', 'MFU', 'step s', 'GiB/GPU'],
      rows: outcome.search.best.map((ranked, i) => [
        String(i + 1),
        layout(ranked.plan),
        ranked.precision,
        memoryOption(ranked.plan),
        formatInteger(ranked.estimate.tokensPerSecondPerGpu),
        `${(100 * ranked.estimate.mfu).toFixed(1)}%`,
        ranked.estimate.step.seconds.toFixed(2),
        (ranked.estimate.memory.total / GiB).toFixed(1),
      ]),
    };
  }
  if (outcome.design) {
    out.pareto = {
      headers: ['accelerator', 'GPUs', 'layout', 'days', 'run cost', 'MW', '$/M tokens'],
      rows: outcome.design.pareto.map((p: DesignPoint) => [
        p.accelerator,
        formatInteger(p.gpus),
        layout(p.plan),
        p.factory.kpis.timeToTrainDays.toFixed(1),
        money(p.factory.costUSD.run),
        (p.factory.powerKW.facility / 1000).toFixed(2),
        p.factory.kpis.usdPerMillionTokens.toFixed(3),
      ]),
    };
  }
  const chosen = outcome.chosen;
  if (chosen) {
    const s = chosen.estimate.step;
    out.step = {
      headers: ['step part', 'seconds', 'share'],
      rows: [
        ...stepParts(s).map(([name, v]) => [name, v.toFixed(3), `${((100 * v) / s.seconds).toFixed(1)}%`]),
        ['total', s.seconds.toFixed(3), '100%'],
      ],
    };
    const m = chosen.estimate.memory;
    out.memory = {
      headers: ['memory per GPU', 'GiB'],
      rows: [...memoryParts(m), ['capacity', m.capacity] as [string, number]].map(([name, v]) => [
        name,
        (v / GiB).toFixed(1),
      ]),
    };
    const f = chosen.factory;
    if (f) {
      out.network = {
        headers: ['bill of materials', 'count'],
        rows: [
          ['GPUs', formatInteger(f.gpus)],
          ['servers / compute trays', formatInteger(f.nodes)],
          [`racks (${f.gpusPerRack} GPUs each)`, formatInteger(f.racks)],
          [`leaf switches (${f.fabric.radix}-port)`, formatInteger(f.fabric.leaves)],
          ['spine switches', formatInteger(f.fabric.spines)],
          ['core switches', formatInteger(f.fabric.cores)],
          ...(f.fabric.tiers === 4 ? [['super-core switches', formatInteger(f.fabric.superCores)]] : []),
          ['host links (NIC to leaf)', formatInteger(f.fabric.hostLinks)],
          ['leaf-spine links', formatInteger(f.fabric.leafSpineLinks)],
          ['spine-core links', formatInteger(f.fabric.spineCoreLinks)],
          ...(f.fabric.tiers === 4 ? [['core-super-core links', formatInteger(f.fabric.coreSuperCoreLinks)]] : []),
          ['optical transceivers', formatInteger(f.fabric.transceivers)],
          ['checkpoint write bandwidth', `${f.storage.writeGBps.toFixed(0)} GB/s`],
        ],
      };
      out.power = {
        headers: ['power', 'MW'],
        rows: [
          ['compute (servers, racks)', f.powerKW.compute],
          ['network (switches, optics)', f.powerKW.network],
          ['storage and management', f.powerKW.storage],
          ['IT total', f.powerKW.it],
          ['facility (× PUE)', f.powerKW.facility],
        ].map(([name, v]) => [String(name), ((v as number) / 1000).toFixed(2)]),
      };
      out.cost = {
        headers: ['cost and KPIs', 'value'],
        rows: [
          ['servers', money(f.costUSD.servers)],
          ['network', money(f.costUSD.network)],
          ['building', money(f.costUSD.building)],
          ['capex', money(f.costUSD.capex)],
          ['$ per GPU-hour (amortised + energy)', `$${f.costUSD.perGpuHour.toFixed(2)}`],
          ['training run', money(f.costUSD.run)],
          ['time to train', `${f.kpis.timeToTrainDays.toFixed(1)} days`],
          ['$ per million tokens', `$${f.kpis.usdPerMillionTokens.toFixed(3)}`],
          ['tokens per MWh', formatCount(f.kpis.tokensPerMWh)],
        ],
      };
    }
  }
  return out as Tables;
}

/** Plain-text report. */
export function renderPlanText(outcome: PlanOutcome): string {
  const t = tables(outcome);
  const parts: string[] = [outcome.title];
  const table = (tab: { headers: string[]; rows: string[][] } | undefined) =>
    tab
      ? renderTable(
          tab.headers.map((header, i) => ({
            header,
            align: i === 0 || ['layout', 'memory', 'accelerator', 'precision'].includes(header) ? 'left' : 'right',
          })),
          tab.rows,
        )
      : undefined;
  if (outcome.search) {
    const rejected = Object.entries(outcome.search.rejected)
      .map(([code, n]) => `${formatInteger(n)} ${code.replaceAll('_', ' ')}`)
      .join(', ');
    parts.push(
      '',
      `${formatInteger(outcome.search.candidates)} layouts, ${formatInteger(outcome.search.feasible)} feasible${rejected ? `; rejected: ${rejected}` : ''}`,
    );
    parts.push('', table(t.plans) ?? '');
  }
  if (outcome.design) {
    parts.push(
      '',
      `${outcome.design.points.length} designs evaluated, ${outcome.design.skipped.length} skipped; Pareto front over time, cost and power:`,
    );
    parts.push('', table(t.pareto) ?? '');
  }
  if (outcome.binding.length > 0) parts.push('', `${noResult(outcome)}:`, ...outcome.binding.map((b) => `  - ${b}`));
  const chosen = outcome.chosen;
  if (chosen) {
    parts.push(
      '',
      `Chosen: ${formatInteger(chosen.system.gpuCount)} × ${chosen.system.accelerator.name}, ${layout(chosen.plan)}, ${memoryOption(chosen.plan)}`,
    );
    parts.push(...chosen.reasons.map((reason) => `  - ${reason}`));
    for (const key of ['step', 'memory', 'network', 'power', 'cost'] as const) {
      const tab = table(t[key]);
      if (tab) parts.push('', tab);
    }
    if (chosen.factoryIssues?.length) parts.push('', ...chosen.factoryIssues.map((issue) => `factory: ${issue}`));
  }
  return parts.join('\n');
}

const noResult = (outcome: PlanOutcome) =>
  outcome.mode === 'plans' ? 'No plan runs on this system' : 'No design meets the constraints';

/** Markdown report. */
export function renderPlanMarkdown(outcome: PlanOutcome): string {
  const t = tables(outcome);
  const md = markdownTable;
  const parts = [`# ${outcome.title}`];
  if (t.plans) parts.push('## Best plans', md(t.plans));
  if (t.pareto) parts.push('## Pareto front (time, cost, power)', md(t.pareto));
  if (outcome.binding.length) parts.push(`## ${noResult(outcome)}`, ...outcome.binding.map((b) => `- ${b}`));
  if (outcome.chosen) {
    parts.push('## Chosen design', ...outcome.chosen.reasons.map((r) => `- ${r}`));
    if (t.step) parts.push('### Step time', md(t.step));
    if (t.memory) parts.push('### Memory per GPU', md(t.memory));
    if (t.network) parts.push('### Bill of materials', md(t.network));
    if (t.power) parts.push('### Power', md(t.power));
    if (t.cost) parts.push('### Cost and KPIs', md(t.cost));
    if (outcome.chosen.factoryIssues?.length) {
      parts.push('### Factory', ...outcome.chosen.factoryIssues.map((issue) => `- cannot be built: ${issue}`));
    }
  }
  return `${parts.join('\n\n')}\n`;
}

const CHART_MARGINS = { marginTop: 24, marginRight: 24, marginBottom: 48, marginLeft: 72 } as const;
const AXIS = { labelAnchor: 'center', labelArrow: 'none' } as const;
/** Pixels a label of `text` takes at the chart font, for margins left of bar charts. */
const textWidth = (texts: readonly string[]) => Math.ceil(Math.max(0, ...texts.map((t) => t.length)) * 7.2) + 16;

/** A cost with three significant digits in $K, $M or $B: $17.6K, $412M. */
const costText = (usd: number) => {
  const unit = costUnit(usd);
  return `$${significant(usd / unit.divisor)}${unit.name.slice(1)}`;
};

/** Accelerator names without their parenthetical ("GB300 (per Blackwell Ultra GPU ...)" is "GB300"), when unique. */
function shortNames(points: readonly DesignPoint[]): (p: DesignPoint) => string {
  const short = (full: string) => full.replace(/\s*\(.*\)\s*$/, '') || full;
  const byShort = new Map<string, Set<string>>();
  for (const p of points) {
    const s = short(p.acceleratorName);
    byShort.set(s, (byShort.get(s) ?? new Set()).add(p.acceleratorName));
  }
  return (p) => {
    const s = short(p.acceleratorName);
    return (byShort.get(s)?.size ?? 0) > 1 ? p.acceleratorName : s;
  };
}

/** Run cost in $K, $M or $B, whichever keeps the largest cost readable. */
function costUnit(maxUSD: number): { divisor: number; name: string } {
  if (maxUSD >= 1e9) return { divisor: 1e9, name: '$B' };
  if (maxUSD >= 1e6) return { divisor: 1e6, name: '$M' };
  return { divisor: 1e3, name: '$K' };
}

/**
 * The design search as a scatter: time to train (x, log) against run cost (y), one colour per accelerator,
 * dot size growing with facility power, the other evaluated designs in grey, the recommended design ringed and
 * the deadline as a rule. Labels (GPU counts) are placed so they do not overprint; the table below has them all.
 */
function paretoChart(design: DesignResult, deadlineDays: number | undefined): string {
  const front = design.pareto;
  if (front.length === 0) return '';
  const onFront = new Set(front);
  const others = design.points.filter((p) => !onFront.has(p));
  const chosen = design.recommended;
  const days = (p: DesignPoint) => p.factory.kpis.timeToTrainDays;
  const mw = (p: DesignPoint) => p.factory.powerKW.facility / 1000;
  const unit = costUnit(Math.max(...design.points.map((p) => p.factory.costUSD.run)));
  const cost = (p: DesignPoint) => p.factory.costUSD.run / unit.divisor;
  const name = shortNames(front);
  const names = [...new Set(front.map(name))];
  const OTHER = 'other designs evaluated';
  const domain = others.length > 0 ? [...names, OTHER] : names;
  const range = [...names.map((_, i) => CATEGORY_COLORS[i % CATEGORY_COLORS.length] ?? PALETTE.blue), PALETTE.grey];
  const [mwLo, mwHi] = finiteExtent(front.map(mw)) ?? [0, 1];
  const title = (p: DesignPoint) =>
    `${formatInteger(p.gpus)} × ${p.acceleratorName}, ${layout(p.plan)}: ${days(p).toFixed(1)} days, ${money(p.factory.costUSD.run)}, ${mw(p).toFixed(2)} MW`;
  const deadline =
    deadlineDays !== undefined && Number.isFinite(deadlineDays) && deadlineDays > 0 ? deadlineDays : undefined;
  const deadlineText = deadline === undefined ? '' : `deadline ${plainNumber(deadline)} days`;
  const [xLo, xHi] = finiteExtent([...design.points.map(days), ...(deadline === undefined ? [] : [deadline])]) ?? [
    1, 1,
  ];
  const xDomain = [xLo / 1.2, xHi * 1.2];
  const yMax = Math.max(...design.points.map(cost).filter(Number.isFinite), 0);
  const base = (extra: Plot.Markish[]): Plot.PlotOptions => ({
    ariaLabel: 'Pareto front',
    height: 460,
    ...CHART_MARGINS,
    grid: true,
    x: {
      type: 'log',
      domain: xDomain,
      ticks: logTicks(xDomain[0] ?? 1, xDomain[1] ?? 1),
      tickFormat: plainNumber,
      label: 'time to train, days (log scale)',
      ...AXIS,
    },
    y: { domain: [0, (yMax || 1) * 1.1], label: `run cost, ${unit.name}`, ...AXIS },
    r: {
      type: 'linear' as const,
      domain: mwLo < mwHi ? [mwLo, mwHi] : [0, mwHi || 1],
      range: mwLo < mwHi ? [4, 12] : [0, 8],
    },
    color: { domain, range, legend: domain.length > 1 },
    marks: [
      deadline === undefined
        ? null
        : Plot.ruleX([deadline], {
            stroke: PALETTE.red,
            strokeWidth: 1.5,
            strokeDasharray: '6,4',
            ariaDescription: 'deadline',
            ariaLabel: () => deadlineText,
          }),
      deadline === undefined
        ? null
        : Plot.text([deadline], {
            x: (d: number) => d,
            text: () => deadlineText,
            frameAnchor: 'top',
            lineAnchor: 'top',
            textAnchor: 'start',
            dx: 4,
            dy: 4,
            fill: PALETTE.red,
            ariaDescription: 'deadline label',
          }),
      Plot.dot(others, {
        x: days,
        y: cost,
        r: 3,
        stroke: () => OTHER,
        fill: 'none',
        title,
        ariaDescription: 'other designs',
      }),
      Plot.dot(front, {
        x: days,
        y: cost,
        r: mw,
        fill: name,
        fillOpacity: 0.85,
        stroke: '#fff',
        title,
        ariaDescription: 'Pareto front',
      }),
      chosen
        ? Plot.dot([chosen], {
            x: days,
            y: cost,
            r: (p: DesignPoint) => (onFront.has(p) ? mw(p) : 3),
            stroke: PALETTE.ink,
            strokeWidth: 2.5,
            fill: 'none',
            title: (p: DesignPoint) => `recommended: ${title(p)}`,
            ariaDescription: 'chosen design',
            ariaLabel: (p: DesignPoint) => `recommended: ${formatInteger(p.gpus)} × ${name(p)}`,
          })
        : null,
      ...extra,
    ],
  });
  // First pass: the scales, to place the labels in pixels; second pass: the same scales with the labels.
  const first = plotElement(base([]));
  const x = first.scale('x');
  const y = first.scale('y');
  const r = first.scale('r');
  const frame = frameOf(first);
  if (!x || !y || !frame) return renderChart('pareto', base([]));
  const pixel = (p: DesignPoint, text: string, radius: number) => ({
    datum: p,
    px: Number(x.apply(days(p))),
    py: Number(y.apply(cost(p))),
    text,
    radius,
  });
  const radius = (p: DesignPoint) => (onFront.has(p) && r ? Number(r.apply(mw(p))) : 3) + 1.5;
  const requests = [
    ...(chosen ? [pixel(chosen, `recommended: ${formatInteger(chosen.gpus)} × ${name(chosen)}`, radius(chosen))] : []),
    ...[...front].sort((a, b) => days(a) - days(b)).map((p) => pixel(p, formatInteger(p.gpus), radius(p))),
  ];
  const boxes =
    deadline === undefined
      ? []
      : [
          {
            x0: Number(x.apply(deadline)) - 2,
            x1: Number(x.apply(deadline)) + 8 + deadlineText.length * 7.2,
            y0: frame.y0,
            y1: frame.y0 + 22,
          },
        ];
  const placed = placeLabels(requests, { frame, boxes, dots: others.map((p) => pixel(p, '', 3)) });
  const chosenLabel = placed.filter((l) => l.text.startsWith('recommended'));
  const pointLabels = placed.filter((l) => !l.text.startsWith('recommended'));
  return renderChart(
    'pareto',
    base([...labelMarks(pointLabels, x, y, 'point labels'), ...labelMarks(chosenLabel, x, y, 'chosen design label')]),
  );
}

/** Points on the front drawn on the same spot (same time and cost to 0.5%), named so none goes unseen. */
function coincident(front: readonly DesignPoint[]): string {
  const close = (a: number, b: number) => Math.abs(a - b) <= 0.005 * Math.max(Math.abs(a), Math.abs(b));
  const groups: DesignPoint[][] = [];
  for (const p of front) {
    const group = groups.find((g) => {
      const q = g[0];
      return (
        q !== undefined &&
        close(q.factory.kpis.timeToTrainDays, p.factory.kpis.timeToTrainDays) &&
        close(q.factory.costUSD.run, p.factory.costUSD.run)
      );
    });
    if (group) group.push(p);
    else groups.push([p]);
  }
  const same = groups
    .filter((g) => g.length > 1)
    .map((g) => g.map((p) => `${formatInteger(p.gpus)} × ${p.acceleratorName}`).join(' and '));
  return same.length ? `Drawn on the same spot: ${same.join('; ')}.` : '';
}

/** The caption of the Pareto chart: what is drawn and the real range of the data. */
function paretoCaption(design: DesignResult, deadlineDays: number | undefined): string {
  const front = design.pareto;
  const chosen = design.recommended;
  return [
    `${front.length} designs on the Pareto front over time, cost and power, of ${design.points.length} evaluated (grey rings: the others).`,
    `Time to train ${rangeText(
      front.map((p) => p.factory.kpis.timeToTrainDays),
      (v) => v.toFixed(1),
      'days',
    )}; run cost ${rangeText(
      front.map((p) => p.factory.costUSD.run),
      costText,
    )}; facility power ${rangeText(
      front.map((p) => p.factory.powerKW.facility / 1000),
      (v) => v.toFixed(2),
      'MW',
    )} (the larger the dot, the more power).`,
    'Labels give GPU counts where they fit; the table below lists every point.',
    coincident(front),
    chosen
      ? `Black ring: the recommended design, ${formatInteger(chosen.gpus)} × ${chosen.acceleratorName}, ${chosen.factory.kpis.timeToTrainDays.toFixed(1)} days for ${costText(chosen.factory.costUSD.run)}.`
      : 'No design meets the constraints, so none is recommended.',
    deadlineDays !== undefined ? `Red dashed line: the ${plainNumber(deadlineDays)}-day deadline.` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** The best plans on the spec's system as bars of tokens/s per GPU (MFU in the labels), the chosen one outlined. */
function plansChart(search: SearchResult, chosenPlan: ResolvedPlan | undefined): string {
  const rows = search.best.map((ranked, i) => ({
    label: `#${i + 1} ${layout(ranked.plan)} ${ranked.precision}, ${memoryOption(ranked.plan)}`,
    tokens: ranked.estimate.tokensPerSecondPerGpu,
    text: `${formatInteger(ranked.estimate.tokensPerSecondPerGpu)} tok/s, MFU ${(100 * ranked.estimate.mfu).toFixed(1)}%`,
    series: ranked.plan === chosenPlan ? 'chosen plan' : 'other plans',
    title: `${layout(ranked.plan)}, ${ranked.precision}, ${memoryOption(ranked.plan)}: ${formatInteger(ranked.estimate.tokensPerSecondPerGpu)} tokens/s per GPU, MFU ${(100 * ranked.estimate.mfu).toFixed(1)}%, ${ranked.estimate.step.seconds.toFixed(2)} s per step`,
  }));
  const finite = rows.filter((r) => Number.isFinite(r.tokens));
  if (finite.length === 0) return '';
  const max = Math.max(...finite.map((r) => r.tokens));
  const series = [...new Set(finite.map((r) => r.series))].sort();
  const colors: Record<string, string> = { 'chosen plan': PALETTE.blue, 'other plans': '#a6c8e6' };
  return renderChart('plans', {
    ariaLabel: 'best plans',
    height: 34 * finite.length + 72,
    ...CHART_MARGINS,
    marginLeft: textWidth(finite.map((r) => r.label)),
    x: { label: 'tokens/s per GPU', domain: [0, (max || 1) * 1.3], grid: true, ...AXIS },
    y: { label: null, domain: finite.map((r) => r.label), padding: 0.25 },
    color: { domain: series, range: series.map((s) => colors[s] ?? PALETTE.blue), legend: series.length > 1 },
    marks: [
      Plot.barX(
        finite.filter((r) => r.series !== 'chosen plan'),
        { x: 'tokens', y: 'label', fill: 'series', title: 'title', ariaDescription: 'other plans' },
      ),
      Plot.barX(
        finite.filter((r) => r.series === 'chosen plan'),
        {
          x: 'tokens',
          y: 'label',
          fill: 'series',
          stroke: PALETTE.ink,
          strokeWidth: 1.5,
          title: 'title',
          ariaDescription: 'chosen plan',
          ariaLabel: (r: { label: string }) => `chosen: ${r.label}`,
        },
      ),
      Plot.text(finite, {
        x: 'tokens',
        y: 'label',
        text: 'text',
        textAnchor: 'start',
        dx: 5,
        ariaDescription: 'values',
      }),
      Plot.ruleX([0]),
    ],
  });
}

/** The chosen plan's step time by part, as labelled bars. */
function stepChart(estimate: Estimate): string {
  const s = estimate.step;
  const rows = stepParts(s)
    .filter(([, v]) => Number.isFinite(v))
    .map(([name, v]) => ({
      name,
      seconds: v,
      text: `${v.toFixed(3)} s (${s.seconds > 0 ? ((100 * v) / s.seconds).toFixed(1) : '0.0'}%)`,
    }));
  if (rows.length === 0) return '';
  const max = Math.max(...rows.map((r) => r.seconds));
  return renderChart('step', {
    ariaLabel: 'step time breakdown',
    height: 32 * rows.length + 72,
    ...CHART_MARGINS,
    marginLeft: textWidth(rows.map((r) => r.name)),
    x: {
      label: 'seconds per step',
      domain: [Math.min(0, ...rows.map((r) => r.seconds)), (max || 1) * 1.3],
      grid: true,
      ...AXIS,
    },
    y: { label: null, domain: rows.map((r) => r.name), padding: 0.25 },
    marks: [
      Plot.barX(rows, { x: 'seconds', y: 'name', fill: PALETTE.blue, ariaDescription: 'step parts' }),
      Plot.text(rows, { x: 'seconds', y: 'name', text: 'text', textAnchor: 'start', dx: 5, ariaDescription: 'values' }),
      Plot.ruleX([0]),
    ],
  });
}

const BUSIEST = 'busiest GPU';

/** The chosen plan's memory per GPU as one stacked bar by kind, against the GPU's capacity (a rule). */
function memoryChart(estimate: Estimate): string {
  const m = estimate.memory;
  const parts = memoryParts(m)
    .filter(([name, v]) => name !== 'total' && Number.isFinite(v))
    .map(([name, v]) => ({ name: `${name} ${(v / GiB).toFixed(1)} GiB`, gib: Math.max(0, v / GiB) }));
  if (parts.length === 0 || !Number.isFinite(m.capacity)) return '';
  const total = m.total / GiB;
  const capacity = m.capacity / GiB;
  const domain = parts.map((p) => p.name);
  return renderChart('memory', {
    ariaLabel: 'memory per GPU',
    height: 170,
    ...CHART_MARGINS,
    marginLeft: 100,
    marginTop: 36,
    x: { label: 'memory per GPU, GiB', domain: [0, Math.max(total, capacity, 1e-9) * 1.08], grid: true, ...AXIS },
    y: { label: null, domain: [BUSIEST] },
    color: {
      domain,
      range: domain.map((_, i) => CATEGORY_COLORS[i % CATEGORY_COLORS.length] ?? PALETTE.blue),
      legend: true,
    },
    marks: [
      Plot.barX(parts, {
        x: 'gib',
        y: () => BUSIEST,
        fill: 'name',
        title: 'name',
        insetTop: 18,
        insetBottom: 8,
        ariaDescription: 'memory parts',
      }),
      Plot.ruleX([capacity], {
        stroke: PALETTE.red,
        strokeWidth: 2,
        strokeDasharray: '6,4',
        ariaDescription: 'capacity',
        ariaLabel: () => `capacity ${capacity.toFixed(1)} GiB`,
      }),
      Plot.text([capacity], {
        x: (d: number) => d,
        text: () => `capacity ${capacity.toFixed(1)} GiB`,
        frameAnchor: 'top',
        lineAnchor: 'bottom',
        textAnchor: capacity >= total ? 'end' : 'start',
        dx: capacity >= total ? -4 : 4,
        dy: -2,
        fill: PALETTE.red,
        ariaDescription: 'capacity label',
      }),
      Plot.text([total], {
        x: (d: number) => d,
        text: () => `total ${total.toFixed(1)} GiB`,
        frameAnchor: 'top',
        lineAnchor: 'top',
        textAnchor: total > capacity * 0.8 && total <= capacity ? 'end' : 'start',
        dx: total > capacity * 0.8 && total <= capacity ? -4 : 4,
        dy: 2,
        ariaDescription: 'total label',
      }),
      Plot.ruleX([0]),
    ],
  });
}

/** The charts of the chosen plan, each in a figure with its caption. */
function chosenCharts(estimate: Estimate): string {
  const step = stepChart(estimate);
  const memory = memoryChart(estimate);
  const parts = stepParts(estimate.step).map(([, v]) => v);
  const m = estimate.memory;
  return [
    step
      ? `<h3>Step time</h3>${chartFigure(step, `Step time ${estimate.step.seconds.toFixed(3)} s in ${parts.length} part${parts.length === 1 ? '' : 's'}, each ${rangeText(parts, (v) => v.toFixed(3), 's')}; the labels give each part's share of the step.`)}`
      : '',
    memory
      ? `<h3>Memory per GPU</h3>${chartFigure(
          memory,
          `${(m.total / GiB).toFixed(1)} GiB used of ${(m.capacity / GiB).toFixed(1)} GiB (${m.capacity > 0 ? ((100 * m.total) / m.capacity).toFixed(0) : '0'}%) on the busiest GPU; parts of ${rangeText(
            memoryParts(m)
              .filter(([name]) => name !== 'total')
              .map(([, v]) => v / GiB),
            (v) => v.toFixed(1),
            'GiB',
          )}. Red dashed line: the capacity.`,
        )}`
      : '',
  ].join('');
}

/** Self-contained HTML report: inline CSS and SVG charts (Observable Plot), no scripts, no external resources. */
export function renderPlanHtml(outcome: PlanOutcome): string {
  const t = tables(outcome);
  const html = htmlTable;
  const design = outcome.design;
  const pareto = design ? paretoChart(design, outcome.deadlineDays) : '';
  const search = outcome.search;
  const plans = search ? plansChart(search, outcome.chosen?.plan) : '';
  const best = search?.best ?? [];
  const sections = [
    `<h1>${escapeHtml(outcome.title)}</h1>`,
    design
      ? `<h2>Pareto front</h2>${pareto ? chartFigure(pareto, paretoCaption(design, outcome.deadlineDays)) : ''}${html('Pareto points', t.pareto)}`
      : '',
    search
      ? `<h2>Best plans</h2>${
          plans
            ? chartFigure(
                plans,
                `The ${best.length} best of ${formatInteger(search.feasible)} feasible layouts: ${rangeText(
                  best.map((r) => r.estimate.tokensPerSecondPerGpu),
                  formatInteger,
                  'tokens/s per GPU',
                )}, MFU ${rangeText(
                  best.map((r) => 100 * r.estimate.mfu),
                  (v) => `${v.toFixed(1)}%`,
                )}. Outlined: the chosen plan.`,
              )
            : ''
        }${html('Best plans', t.plans)}`
      : '',
    outcome.binding.length
      ? `<h2>${noResult(outcome)}</h2><ul>${outcome.binding.map((b) => `<li>${escapeHtml(b)}</li>`).join('')}</ul>`
      : '',
    outcome.chosen
      ? `<h2>Chosen design</h2><ul>${outcome.chosen.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>${chosenCharts(outcome.chosen.estimate)}${html('Step time', t.step)}${html('Memory per GPU', t.memory)}${html('Bill of materials', t.network)}${html('Power', t.power)}${html('Cost and KPIs', t.cost)}${outcome.chosen.factoryIssues?.length ? `<h3>Factory</h3><ul>${outcome.chosen.factoryIssues.map((issue) => `<li>cannot be built: ${escapeHtml(issue)}</li>`).join('')}</ul>` : ''}`
      : '',
  ];
  return htmlPage(outcome.title, sections.join(''));
}
