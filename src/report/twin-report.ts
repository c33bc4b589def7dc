/**
 * Reports of a twin study: plain text for the terminal, Markdown, and a self-contained HTML page with charts
 * drawn by Observable Plot (`charts.ts`): the timeline of replica 0 (tokens/s and facility power on their own
 * axes, interruptions marked), the ETTR distribution over the replicas (P10/P50/P90 marked) and badput by cause.
 * @module
 */

import * as Plot from '@observablehq/plot';
import type { SimulateOutcome } from '../app/simulate.js';
import { BADPUT_CAUSES, type BadputCause, ETTR_CAUSES, type TwinEventKind } from '../twin/run.js';
import type { StudyFigure, StudyResult, StudyStat } from '../twin/study.js';
import {
  chartFigure,
  finiteExtent,
  integerTicks,
  linearTicks,
  PALETTE,
  plainNumber,
  rangeText,
  renderChart,
  unitScale,
} from './charts.js';
import { formatBytes, formatCount, formatDuration, formatInteger, significant } from './format.js';
import { escapeHtml, htmlPage, htmlTable, markdownTable, type TextTable } from './html.js';
import { renderTable } from './table.js';

export type { SimulateOutcome };

const CAUSE_LABELS: Readonly<Record<BadputCause, string>> = {
  lostWork: 'work lost since the last checkpoint',
  detection: 'detecting failures',
  restart: 'restart, reload and host swap',
  checkpoint: 'writing checkpoints',
  maintenance: 'planned maintenance',
  spares: 'waiting for spares',
  shrink: 'running shrunk',
  stragglers: 'slow hosts',
  throttling: 'thermal throttling',
};

/** Counts as integers when they are, else with one decimal (means and interpolated percentiles). */
const count = (v: number) => (Number.isInteger(v) ? formatInteger(v) : v.toFixed(1));

/** A figure that may be infinite (a replica that trained nothing projects an infinite time to train). */
const finite = (format: (v: number) => string) => (v: number) => (Number.isFinite(v) ? format(v) : '∞');

const FIGURE_ROWS: readonly [StudyFigure, string, (v: number) => string][] = [
  ['ettr', 'ETTR (effective training time ratio)', (v) => v.toFixed(3)],
  ['goodput', 'goodput (useful work / wall time)', (v) => v.toFixed(3)],
  ['timeToTrainDays', 'time to train, days', finite((v) => v.toFixed(1))],
  ['unexpectedInterruptions', 'unexpected interruptions', count],
  ['plannedInterruptions', 'planned interruptions', count],
  ['goodputTokensPerSecond', 'goodput, tokens/s', (v) => formatCount(v)],
  ['fewestFreeSpares', 'fewest spare hosts left', count],
  ['meanMW', 'mean facility power, MW', (v) => v.toFixed(2)],
  ['energyMWh', 'energy, MWh', (v) => formatInteger(v)],
];

function settings(outcome: SimulateOutcome): string[] {
  const { config, design, study } = outcome;
  const c = config.checkpoint;
  const window = config.windowSeconds ? `${significant(config.windowSeconds / 86400)}-day window` : 'until trained';
  return [
    `${formatInteger(design.gpus)} × ${design.accelerator}, ${design.layout}: ${formatCount(design.tokensPerSecond)} tokens/s, ${design.stepSeconds.toFixed(2)} s per step; ideal ${significant(config.idealSeconds / 86400)} days`,
    `${study.replicas} replica${study.replicas === 1 ? '' : 's'}, seed ${study.seed}, ${window}; ${study.finished === study.replicas ? 'all trained' : study.finished === 0 ? 'time to train projected from the work done' : `${study.finished} trained, the others' time to train projected`}`,
    `${Number.isFinite(config.mtbfSeconds) ? `modelled MTBF ${formatDuration(config.mtbfSeconds)}` : 'no unplanned failures modelled'}, mean recovery ${formatDuration(config.meanRecoverySeconds)} (detection, ${formatDuration(config.restartSeconds)} restart, checkpoint read, host swap)`,
    `checkpoint every ${formatDuration(c.intervalSeconds)}${c.optimal ? ' (Young/Daly)' : ''}, ${c.mode}, ${formatDuration(c.writeSeconds)} to write ${formatBytes(c.bytes)} at ${significant(c.storageGBps)} GB/s${c.mode === 'async' ? ` (${formatDuration(c.stallSeconds)} snapshot stall)` : ''}`,
    `${config.spares.nodes} spare hosts${config.spares.auto ? ' (automatic)' : ''}, policy ${config.spares.policy}`,
  ];
}

const stat = (s: StudyStat | undefined, format: (v: number) => string) =>
  s ? [format(s.p10), format(s.p50), format(s.p90), format(s.mean)] : ['', '', '', ''];

function tables(outcome: SimulateOutcome): {
  figures: TextTable;
  badput: TextTable;
  causes: TextTable;
  power: TextTable;
} {
  const { study, config } = outcome;
  // Replicas that stopped at the window (or the safety limit) project their time to train from the rate so far.
  const projected = study.finished < study.replicas;
  const figures = {
    headers: ['figure', 'P10', 'P50', 'P90', 'mean'],
    rows: FIGURE_ROWS.map(([key, label, format]) => [
      key === 'timeToTrainDays' && projected ? `${label} (projected)` : label,
      ...stat(study.figures[key], format),
    ]),
  };
  const totalBadput = BADPUT_CAUSES.reduce((sum, cause) => sum + study.badputHours[cause].mean, 0);
  const wallHours = study.figures.wallDays.mean * 24;
  const badput = {
    headers: ['cause', 'hours (mean)', 'of wall time', 'P10', 'P90'],
    rows: [
      ...BADPUT_CAUSES.map((cause) => {
        const s = study.badputHours[cause];
        return [
          CAUSE_LABELS[cause],
          s.mean.toFixed(1),
          `${((100 * s.mean) / wallHours).toFixed(2)}%`,
          s.p10.toFixed(1),
          s.p90.toFixed(1),
        ];
      }),
      ['total', totalBadput.toFixed(1), `${((100 * totalBadput) / wallHours).toFixed(2)}%`, '', ''],
    ],
  };
  const unexpected = study.figures.unexpectedInterruptions.mean;
  const causes = {
    headers: ['cause', 'interruptions (mean)', 'share', 'P10', 'P90'],
    rows: config.classes
      .filter((c) => c.detection !== 'planned' && c.ratePerSecond > 0)
      .map((c) => {
        const s = study.interruptionsByCause[c.id];
        const mean = s?.mean ?? 0;
        return [
          c.label,
          mean.toFixed(1),
          `${unexpected > 0 ? ((100 * mean) / unexpected).toFixed(1) : '0.0'}%`,
          count(s?.p10 ?? 0),
          count(s?.p90 ?? 0),
        ];
      }),
  };
  const p = study.example.summary.power;
  const inBand = p.stepHz >= 0.1 && p.stepHz <= 20;
  const power = {
    headers: ['power (replica 0)', 'value'],
    rows: [
      ['mean facility power', `${p.meanMW.toFixed(2)} MW`],
      ['training level / waiting level', `${p.peakMW.toFixed(2)} / ${p.minimumMW.toFixed(2)} MW`],
      [
        'step phases, one GPU',
        p.phases
          .filter((phase) => phase.seconds > 0)
          .map((phase) => `${phase.name} ${phase.seconds.toFixed(2)} s at ${formatInteger(phase.gpuW)} W`)
          .join(', '),
      ],
      [
        'swing inside each step',
        `${p.stepSwingMW.toFixed(2)} MW peak to peak at ${p.stepHz.toFixed(3)} Hz${inBand ? ' (inside the 0.1-20 Hz band utilities watch)' : ''}`,
      ],
      [
        'its largest harmonics',
        p.spectrum.harmonics.map((h) => `${h.hz.toFixed(3)} Hz ${h.amplitudeMW.toFixed(2)} MW`).join(', ') || 'none',
      ],
      ['share of the swing at 0.1-20 Hz', `${(100 * p.spectrum.bandShare).toFixed(1)}%`],
      [
        'facility overhead',
        `PUE ${outcome.config.power.pue} on the IT load averaged over ${formatInteger(p.coolingTimeConstantSeconds)} s (cooling)`,
      ],
      ['drops to the waiting level', `${p.dipsPerDay.toFixed(1)} a day, ${p.dipMW.toFixed(2)} MW each as they happen`],
      ['energy', `${formatInteger(p.energyMWh)} MWh`],
    ],
  };
  return { figures, badput, causes, power };
}

/** ETTR points with their sign, to five decimals (the policy's gains are a few 10^-4 on the Llama 3 case). */
const points = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(5)}`;

/** The mitigation comparison as a table: ETTR without and with, the paired gain, then the gain by cause. */
function mitigationTable(outcome: SimulateOutcome): TextTable | undefined {
  const m = outcome.mitigation;
  if (!m) return undefined;
  const stat = (s: { p10: number; p50: number; p90: number; mean: number }, format: (v: number) => string) => [
    format(s.p10),
    format(s.p50),
    format(s.p90),
    format(s.mean),
  ];
  const ettr = (v: number) => v.toFixed(5);
  return {
    headers: ['mitigation (same seeds)', 'P10', 'P50', 'P90', 'mean'],
    rows: [
      ['ETTR without the policy', ...stat(m.without.ettr, ettr)],
      ['ETTR with the policy', ...stat(m.with.ettr, ettr)],
      ['gain (paired by replica)', ...stat(m.ettrGain, points)],
      ...ETTR_CAUSES.map((c) => [`gain from ${CAUSE_LABELS[c]}`, '', '', '', points(m.ettrGainByCause[c])]),
    ],
  };
}

/** What the policy did, one line. */
function mitigationActions(m: NonNullable<SimulateOutcome['mitigation']>): string {
  return `Actions a run (mean over ${m.replicas} replicas): ${m.actions.predictedCheckpoints.toFixed(1)} predicted checkpoints, ${m.actions.falseAlarms.toFixed(1)} false alarms, ${m.actions.excluded.toFixed(1)} hosts excluded, ${m.actions.drains.toFixed(1)} drains.`;
}

/** The reliability warnings of the twin's settings, one line each (`path: message`). */
export function simulateWarnings(outcome: SimulateOutcome): string[] {
  return outcome.warnings.map((w) => `${w.path}: ${w.message}`);
}

/** Plain-text report. */
export function renderSimulateText(outcome: SimulateOutcome): string {
  const t = tables(outcome);
  const mitigation = mitigationTable(outcome);
  const text = (tab: TextTable) =>
    renderTable(
      tab.headers.map((header, i) => ({ header, align: i === 0 || header === 'value' ? 'left' : 'right' })),
      tab.rows,
    );
  return [
    outcome.title,
    ...settings(outcome).map((line) => `  ${line}`),
    '',
    text(t.figures),
    '',
    'Badput by cause',
    text(t.badput),
    '',
    'Unexpected interruptions by cause',
    text(t.causes),
    '',
    text(t.power),
    ...(mitigation && outcome.mitigation ? ['', text(mitigation), mitigationActions(outcome.mitigation)] : []),
  ].join('\n');
}

/** Markdown report. */
export function renderSimulateMarkdown(outcome: SimulateOutcome): string {
  const t = tables(outcome);
  const mitigation = mitigationTable(outcome);
  return `${[
    `# ${outcome.title}`,
    settings(outcome)
      .map((line) => `- ${line}`)
      .join('\n'),
    '## Figures',
    markdownTable(t.figures),
    '## Badput by cause',
    markdownTable(t.badput),
    '## Unexpected interruptions by cause',
    markdownTable(t.causes),
    '## Power',
    markdownTable(t.power),
    ...(mitigation && outcome.mitigation
      ? ['## Mitigation', markdownTable(mitigation), mitigationActions(outcome.mitigation)]
      : []),
  ].join('\n\n')}\n`;
}

const MARGINS = { marginTop: 20, marginRight: 24, marginBottom: 46, marginLeft: 72 } as const;
const AXIS = { labelAnchor: 'center', labelArrow: 'none' } as const;

/** Most events of replica 0 that `--json` lists (its summary counts them all). */
export const MAX_JSON_EVENTS = 2000;

/** Most points (and rules per kind) one timeline draws: about one per pixel of its width. */
const CHART_POINTS = 1000;

/** The events the timeline marks, their legend names and colours (a fixed order, so the legend is stable). */
const EVENT_KINDS: readonly { kind: TwinEventKind; name: string; color: string }[] = [
  { kind: 'interruption', name: 'unexpected interruption', color: PALETTE.red },
  { kind: 'maintenance', name: 'planned maintenance', color: PALETTE.green },
  { kind: 'waiting', name: 'waiting for spares', color: PALETTE.purple },
];

/**
 * The timeline of replica 0 as two panels over one time axis: training throughput (tokens/s) and facility
 * power (MW: the bucket mean, and its minimum to maximum), each on its own labelled axis; interruptions,
 * maintenance and waits for spares as vertical rules in both.
 */
function timelineFigure(outcome: SimulateOutcome): string {
  const { timeline, events } = outcome.study.example;
  const n = timeline.tokensPerSecond.length;
  if (n === 0 || !(timeline.bucketSeconds > 0)) return '';
  const totalSeconds = n * timeline.bucketSeconds;
  const inDays = totalSeconds > 3 * 86400;
  const perUnit = inDays ? 86400 : 3600;
  const timeLabel = inDays ? 'time since start, days' : 'time since start, hours';
  const clean = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : 0);
  const tokensMax = Math.max(0, ...timeline.tokensPerSecond.map(clean));
  const unit = unitScale(tokensMax);
  // The chart is about a thousand pixels wide: buckets are merged (mean throughput and power, the min and max of
  // power) down to at most CHART_POINTS points, and events to one rule per kind per point, so a run of 20,000
  // buckets and thousands of interruptions draws the same picture in a bounded page.
  const group = Math.max(1, Math.ceil(n / CHART_POINTS));
  const rows: { t: number; tokens: number; mean: number; min: number; max: number }[] = [];
  for (let start = 0; start < n; start += group) {
    const end = Math.min(n, start + group);
    let tokens = 0;
    let mean = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (let i = start; i < end; i++) {
      tokens += clean(timeline.tokensPerSecond[i]);
      mean += clean(timeline.powerMW.mean[i]);
      min = Math.min(min, clean(timeline.powerMW.min[i]));
      max = Math.max(max, clean(timeline.powerMW.max[i]));
    }
    rows.push({
      t: (((start + end) / 2) * timeline.bucketSeconds) / perUnit,
      tokens: tokens / (end - start) / unit.divisor,
      mean: mean / (end - start),
      min: Number.isFinite(min) ? min : 0,
      max,
    });
  }
  const pixel = totalSeconds / CHART_POINTS;
  const seen = new Map<string, { t: number; kind: string; cause: string | undefined; count: number }>();
  for (const e of events) {
    const kind = EVENT_KINDS.find((k) => k.kind === e.kind)?.name;
    if (kind === undefined || !Number.isFinite(e.t)) continue;
    const key = `${kind}:${Math.floor(e.t / pixel)}`;
    const mark = seen.get(key);
    if (mark) mark.count++;
    else seen.set(key, { t: e.t / perUnit, kind, cause: e.cause, count: 1 });
  }
  const unitName = inDays ? 'days' : 'h';
  const marked = [...seen.values()].map((m) => ({
    t: m.t,
    kind: m.kind,
    title: `${plainNumber(m.t)} ${unitName}: ${m.count > 1 ? `${m.count} × ${m.kind}` : `${m.kind}${m.cause ? ` (${m.cause})` : ''}`}`,
  }));
  const kinds = EVENT_KINDS.filter((k) => marked.some((m) => m.kind === k.name));
  const x = { domain: [0, totalSeconds / perUnit], label: timeLabel, ...AXIS };
  const THROUGHPUT = 'training throughput';
  const eventRules = (scaled: boolean) =>
    kinds.map((k) =>
      Plot.ruleX(
        marked.filter((m) => m.kind === k.name),
        {
          x: 't',
          stroke: scaled ? 'kind' : k.color,
          strokeOpacity: 0.55,
          title: 'title',
          ariaDescription: 'interruptions',
        },
      ),
    );
  const tokensLabel = `throughput, ${unit.prefix ? `${unit.prefix} ` : ''}tokens/s`;
  const tokensChart = renderChart('timeline-tokens', {
    ariaLabel: 'timeline: tokens per second',
    height: 250,
    ...MARGINS,
    x,
    y: {
      label: tokensLabel,
      domain: [0, (tokensMax / unit.divisor || 1) * 1.08],
      grid: true,
      ...AXIS,
    },
    color: {
      domain: [THROUGHPUT, ...kinds.map((k) => k.name)],
      range: [PALETTE.blue, ...kinds.map((k) => k.color)],
      legend: kinds.length > 0,
    },
    marks: [
      ...eventRules(true),
      Plot.lineY(rows, {
        x: 't',
        y: 'tokens',
        stroke: () => THROUGHPUT,
        strokeWidth: 1.5,
        ariaDescription: 'tokens per second',
      }),
      Plot.ruleY([0]),
    ],
  });
  const MEAN = 'facility power, bucket mean';
  const RANGE = 'minimum to maximum within the bucket';
  const powerMax = Math.max(0, ...rows.map((r) => r.max));
  const powerChart = renderChart('timeline-power', {
    ariaLabel: 'timeline: facility power',
    height: 230,
    ...MARGINS,
    x,
    y: {
      label: 'facility power, MW',
      domain: [0, (powerMax || 1) * 1.08],
      grid: true,
      ...AXIS,
    },
    color: { domain: [MEAN, RANGE], range: [PALETTE.orange, '#ffd0a3'], legend: true },
    marks: [
      Plot.areaY(rows, { x: 't', y1: 'min', y2: 'max', fill: () => RANGE, ariaDescription: 'power range' }),
      ...eventRules(false),
      Plot.lineY(rows, { x: 't', y: 'mean', stroke: () => MEAN, strokeWidth: 1.5, ariaDescription: 'facility power' }),
      Plot.ruleY([0]),
    ],
  });
  const counts = EVENT_KINDS.map((k) => {
    const count = marked.filter((m) => m.kind === k.name).length;
    const name =
      k.kind === 'waiting'
        ? count === 1
          ? 'wait for spares'
          : 'waits for spares'
        : `${k.name}${count === 1 ? '' : 's'}`;
    return `${count} ${name}`;
  });
  const caption = [
    `Replica 0 over ${plainNumber(totalSeconds / perUnit)} ${inDays ? 'days' : 'hours'} in buckets of ${formatDuration(timeline.bucketSeconds)}.`,
    `Throughput ${rangeText(
      rows.map((r) => r.tokens),
      plainNumber,
      `${unit.prefix ? `${unit.prefix} ` : ''}tokens/s`,
    )};`,
    `facility power ${rangeText(
      rows.map((r) => r.mean),
      (v) => v.toFixed(2),
      'MW',
    )} as bucket means, ${rangeText([...rows.map((r) => r.min), ...rows.map((r) => r.max)], (v) => v.toFixed(2), 'MW')} within buckets.`,
    `Vertical lines: ${counts.join(', ')}.`,
  ].join(' ');
  return chartFigure([tokensChart, powerChart], caption, 'timeline');
}

/** Histogram of ETTR over the replicas, with the P10, P50 and P90 as labelled rules. */
function ettrFigure(study: StudyResult): string {
  const values = study.ettrValues.filter(Number.isFinite);
  const extent = finiteExtent(values);
  if (!extent) return '';
  const [lo, hi] = extent;
  // All replicas alike (or just one): one narrow bar centred on the value, in a window around it.
  const alike = hi - lo < 1e-6;
  const wanted = Math.min(30, Math.max(5, Math.ceil(Math.sqrt(values.length))));
  const ticks = linearTicks(lo, hi, wanted);
  const step = alike ? 0.001 : ticks.length > 1 ? (ticks[1] ?? 0) - (ticks[0] ?? 0) : (hi - lo) / wanted;
  const first = alike ? lo - step / 2 : Math.floor(lo / step + 1e-9) * step;
  const bins = alike ? 1 : Math.max(1, Math.ceil((hi - first) / step - 1e-9));
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    const bin = Math.min(bins - 1, Math.max(0, Math.floor((v - first) / step + 1e-9)));
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  const rows = counts.map((count, i) => ({ x1: first + i * step, x2: first + (i + 1) * step, count }));
  const top = Math.max(...counts);
  const e = study.figures.ettr;
  const percentiles = [
    { name: 'P10', value: e.p10, dy: -34 },
    { name: 'P50', value: e.p50, dy: -19 },
    { name: 'P90', value: e.p90, dy: -4 },
  ].filter((p) => Number.isFinite(p.value));
  const digits = step < 0.001 ? 4 : 3;
  const svg = renderChart('ettr', {
    ariaLabel: 'ETTR distribution',
    height: 300,
    ...MARGINS,
    marginTop: 50,
    x: {
      label: 'ETTR (effective training time ratio)',
      domain: alike
        ? [lo - 0.005, lo + 0.005]
        : [
            Math.min(first, ...percentiles.map((p) => p.value)),
            Math.max(first + bins * step, ...percentiles.map((p) => p.value)),
          ],
      tickFormat: (v: number) => v.toFixed(digits),
      ...AXIS,
    },
    y: {
      label: 'replicas',
      domain: [0, top],
      ticks: integerTicks(top),
      tickFormat: (v: number) => String(v),
      grid: true,
      ...AXIS,
    },
    marks: [
      Plot.rectY(rows, {
        x1: 'x1',
        x2: 'x2',
        y: 'count',
        fill: PALETTE.blue,
        insetLeft: 1,
        insetRight: 1,
        title: (r: { x1: number; x2: number; count: number }) => `${r.x1.toFixed(4)} to ${r.x2.toFixed(4)}: ${r.count}`,
        ariaDescription: 'histogram',
      }),
      ...[true, false].map((median) =>
        Plot.ruleX(
          percentiles.filter((p) => (p.name === 'P50') === median),
          {
            x: 'value',
            stroke: PALETTE.ink,
            strokeWidth: 1.5,
            strokeDasharray: median ? 'none' : '5,3',
            ariaDescription: 'percentiles',
            ariaLabel: (p: { name: string; value: number }) => `${p.name} ${p.value.toFixed(digits)}`,
          },
        ),
      ),
      ...percentiles.map((p) =>
        Plot.text([p], {
          x: 'value',
          text: (d: { name: string; value: number }) => `${d.name} ${d.value.toFixed(digits)}`,
          frameAnchor: 'top',
          lineAnchor: 'bottom',
          textAnchor: 'start',
          dx: 3,
          dy: p.dy,
          ariaDescription: 'percentile labels',
        }),
      ),
      Plot.ruleY([0]),
    ],
  });
  const caption = `ETTR of ${values.length} replica${values.length === 1 ? '' : 's'}, ${rangeText(values, (v) => v.toFixed(digits))}, ${alike ? 'all alike' : `in bins of ${plainNumber(step)}`}; vertical lines: P10 ${e.p10.toFixed(digits)}, P50 ${e.p50.toFixed(digits)} (solid), P90 ${e.p90.toFixed(digits)}.`;
  return chartFigure(svg, caption);
}

/** Horizontal bars of mean badput hours by cause, largest first, each labelled with its hours and share. */
function badputFigure(study: StudyResult): string {
  const wallHours = study.figures.wallDays.mean * 24;
  const rows = BADPUT_CAUSES.map((cause) => {
    const hours = Number.isFinite(study.badputHours[cause].mean) ? study.badputHours[cause].mean : 0;
    const share = wallHours > 0 ? ` (${((100 * hours) / wallHours).toFixed(2)}%)` : '';
    return { cause: CAUSE_LABELS[cause], hours, text: `${hours.toFixed(1)} h${share}` };
  })
    .map((r, i) => ({ ...r, i }))
    .sort((a, b) => b.hours - a.hours || a.i - b.i);
  const max = Math.max(0, ...rows.map((r) => r.hours));
  const svg = renderChart('badput', {
    ariaLabel: 'badput by cause',
    height: 30 * rows.length + 66,
    ...MARGINS,
    marginLeft: Math.ceil(Math.max(...rows.map((r) => r.cause.length)) * 7.2) + 16,
    x: {
      label: 'hours lost, mean over the replicas',
      domain: [0, (max || 1) * 1.3],
      grid: true,
      ...AXIS,
    },
    y: { label: null, domain: rows.map((r) => r.cause), padding: 0.25 },
    marks: [
      Plot.barX(rows, { x: 'hours', y: 'cause', fill: PALETTE.red, ariaDescription: 'badput' }),
      Plot.text(rows, { x: 'hours', y: 'cause', text: 'text', textAnchor: 'start', dx: 5, ariaDescription: 'values' }),
      Plot.ruleX([0]),
    ],
  });
  const total = rows.reduce((sum, r) => sum + r.hours, 0);
  const caption = `Mean over ${study.replicas} replica${study.replicas === 1 ? '' : 's'}: ${total.toFixed(1)} h lost in all${wallHours > 0 ? ` (${((100 * total) / wallHours).toFixed(2)}% of ${plainNumber(wallHours)} h of wall time)` : ''}; by cause ${rangeText(
    rows.map((r) => r.hours),
    (v) => v.toFixed(1),
    'h',
  )}. Labels: hours and share of wall time.`;
  return chartFigure(svg, caption);
}

/** Horizontal bars of the mean ETTR gain by cause (negative: the policy costs there), with the total as a caption. */
function mitigationFigure(m: NonNullable<SimulateOutcome['mitigation']>): string {
  const rows = ETTR_CAUSES.map((cause) => ({
    cause: CAUSE_LABELS[cause],
    gain: m.ettrGainByCause[cause],
    text: points(m.ettrGainByCause[cause]),
  }));
  const extent = Math.max(1e-9, ...rows.map((r) => Math.abs(r.gain)));
  const svg = renderChart('mitigation', {
    ariaLabel: 'ETTR gain by cause',
    height: 30 * rows.length + 66,
    ...MARGINS,
    marginLeft: Math.ceil(Math.max(...rows.map((r) => r.cause.length)) * 7.2) + 16,
    x: {
      label: 'ETTR gain, mean over the paired replicas',
      domain: [-extent * 1.4, extent * 1.4],
      grid: true,
      ...AXIS,
    },
    y: { label: null, domain: rows.map((r) => r.cause), padding: 0.25 },
    marks: [
      Plot.barX(rows, { x: 'gain', y: 'cause', fill: PALETTE.green, ariaDescription: 'gain' }),
      Plot.text(rows, { x: 'gain', y: 'cause', text: 'text', textAnchor: 'start', dx: 5, ariaDescription: 'values' }),
      Plot.ruleX([0]),
    ],
  });
  const caption = `${m.replicas} replica${m.replicas === 1 ? '' : 's'} from seed ${m.seed}, each run without and with the policy: ETTR ${m.without.ettr.mean.toFixed(5)} → ${m.with.ettr.mean.toFixed(5)}, gain ${points(m.ettrGain.mean)}, the sum of the bars.`;
  return chartFigure(svg, caption);
}

/** Self-contained HTML report. */
export function renderSimulateHtml(outcome: SimulateOutcome): string {
  const t = tables(outcome);
  const body = [
    `<h1>${escapeHtml(outcome.title)}</h1>`,
    `<ul>${settings(outcome)
      .map((line) => `<li>${escapeHtml(line)}</li>`)
      .join('')}</ul>`,
    htmlTable('Figures over the replicas', t.figures),
    '<h2>Timeline of replica 0</h2>',
    timelineFigure(outcome),
    '<h2>ETTR distribution</h2>',
    ettrFigure(outcome.study),
    '<h2>Badput by cause (mean hours)</h2>',
    badputFigure(outcome.study),
    htmlTable('Badput by cause', t.badput),
    htmlTable('Unexpected interruptions by cause', t.causes),
    htmlTable('Power', t.power),
  ];
  const mitigation = mitigationTable(outcome);
  if (mitigation && outcome.mitigation) {
    body.push('<h2>Mitigation: ETTR gain by cause</h2>', mitigationFigure(outcome.mitigation));
    body.push(
      htmlTable('Mitigation (same seeds)', mitigation),
      `<p>${escapeHtml(mitigationActions(outcome.mitigation))}</p>`,
    );
  }
  return htmlPage(outcome.title, body.join(''));
}

/** The JSON document of `simulate --json`: the four headline figures at the top level, then everything else. */
export function simulateJson(outcome: SimulateOutcome): unknown {
  const { study } = outcome;
  const pick = (s: StudyStat) => ({ p10: s.p10, p50: s.p50, p90: s.p90, mean: s.mean });
  return {
    title: outcome.title,
    design: outcome.design,
    replicas: study.replicas,
    seed: study.seed,
    finished: study.finished,
    ettr: pick(study.figures.ettr),
    goodput: pick(study.figures.goodput),
    timeToTrainDays: pick(study.figures.timeToTrainDays),
    unexpectedInterruptions: pick(study.figures.unexpectedInterruptions),
    figures: study.figures,
    badputHours: study.badputHours,
    interruptionsByCause: study.interruptionsByCause,
    settings: outcome.config,
    warnings: outcome.warnings,
    ...(outcome.mitigation && { mitigation: outcome.mitigation }),
    // Replica 0 in full, its event log cut to the first MAX_JSON_EVENTS (the count of the rest is kept); its
    // speed segments (the emulator's input, thousands over a long run) are left out.
    example: (({ speedSegments: _segments, speedSegmentsDropped: _dropped, ...example }) => ({
      ...example,
      events: study.example.events.slice(0, MAX_JSON_EVENTS),
      eventsDropped: study.example.eventsDropped + Math.max(0, study.example.events.length - MAX_JSON_EVENTS),
    }))(study.example),
  };
}
