/**
 * Reports of an observed run: the KPIs, plan versus actual (each figure with its band, status and likely cause),
 * badput by cause, the forecast when there is one, as plain text, JSON, Markdown and a self-contained HTML page
 * whose chart draws the step times against the predicted step and its band.
 * @module
 */
import * as Plot from '@observablehq/plot';
import type { ObserveOutcome } from '../app/observe.js';
import type { Comparison } from '../app/plan-vs-actual.js';
import type { Action, Detection } from '../detect/types.js';
import { OBSERVED_BADPUT_CAUSES, type ObservedBadputCause, type ObservedKpis } from '../telemetry/kpis.js';
import { chartFigure, PALETTE, plainNumber, renderChart } from './charts.js';
import { formatCount, formatDuration, formatInteger, significant } from './format.js';
import { escapeHtml, htmlPage, htmlTable, markdownTable, type TextTable } from './html.js';
import { renderPairs, renderTable } from './table.js';

export type { ObserveOutcome };

const CAUSE_LABELS: Readonly<Record<ObservedBadputCause, string>> = {
  lostWork: 'work repeated after a rewind',
  restart: 'restarts (detection, relaunch, reload, first steps)',
  checkpoint: 'short pauses (checkpoint saves, evaluation)',
  warmup: 'warm-up',
  stall: 'stalls (> 5 × median)',
  stragglers: 'slow steps (> 1.5 × median)',
};

const STATUS_TEXT: Readonly<Record<Comparison['status'], string>> = {
  within: 'within',
  above: 'ABOVE',
  below: 'BELOW',
  unobserved: 'not observed',
};

/** A value in a comparison's unit. */
function valueText(c: Comparison, v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  if (c.metric === 'mfu' || c.metric === 'ettr' || c.metric === 'goodput') return `${(100 * v).toFixed(1)}%`;
  if (c.metric === 'stepSeconds') return `${significant(v)} s`;
  if (c.metric === 'tokensPerSecond') return formatCount(v);
  if (c.metric === 'gpuPowerW') return `${Math.round(v)} W`;
  return Number.isInteger(v) ? formatInteger(v) : v.toFixed(1);
}

const gapText = (gap: number | undefined) =>
  gap === undefined || !Number.isFinite(gap) ? '' : `${gap >= 0 ? '+' : ''}${(100 * gap).toFixed(1)}%`;

function comparisonTable(outcome: ObserveOutcome): TextTable {
  return {
    headers: ['figure', 'predicted', 'band', 'actual', 'gap', 'status'],
    rows: outcome.planVersusActual.map((c) => [
      c.label,
      valueText(c, c.predicted),
      `${valueText(c, c.band.low)} – ${valueText(c, c.band.high)}`,
      valueText(c, c.actual),
      gapText(c.gap),
      STATUS_TEXT[c.status],
    ]),
  };
}

function kpiTable(k: ObservedKpis): TextTable {
  const t = k.throughput;
  const rows: [string, string][] = [
    ['steps logged (timed)', `${formatInteger(k.points)} (${formatInteger(k.timedPoints)})`],
    [
      'step time P10 / P50 / P90 / P99',
      `${[k.steady.p10, k.steady.p50, k.steady.p90, k.steady.p99].map((v) => significant(v)).join(' / ')} s`,
    ],
    ['wall time covered', formatDuration(k.wallSeconds)],
    ['restarts seen', formatInteger(k.restarts)],
    ['ETTR', `${(100 * k.ettr).toFixed(2)}%`],
    ['goodput', `${(100 * k.goodput).toFixed(2)}%`],
  ];
  if (t) {
    rows.push(['tokens/s (at the median step)', formatCount(t.tokensPerSecond)]);
    rows.push(['goodput tokens/s', formatCount(t.goodputTokensPerSecond)]);
    if (t.tokensPerSecondPerGpu !== undefined) rows.push(['tokens/s per GPU', formatCount(t.tokensPerSecondPerGpu)]);
    if (t.modelTflopsPerGpu !== undefined) rows.push(['model TFLOP/s per GPU', significant(t.modelTflopsPerGpu)]);
    if (t.mfu !== undefined) rows.push(['MFU', `${(100 * t.mfu).toFixed(1)}%`]);
  }
  return { headers: ['KPI', 'value'], rows };
}

function badputTable(k: ObservedKpis): TextTable {
  return {
    headers: ['cause', 'hours', 'share of wall'],
    rows: OBSERVED_BADPUT_CAUSES.map((c) => [
      CAUSE_LABELS[c],
      (k.badputSeconds[c] / 3600).toFixed(3),
      `${(100 * k.badputShare[c]).toFixed(2)}%`,
    ]),
  };
}

function breakdownTable(outcome: ObserveOutcome): TextTable {
  const s = outcome.predictedStep;
  const share = (v: number) => (s.seconds > 0 ? `${((100 * v) / s.seconds).toFixed(1)}%` : '');
  return {
    headers: ['predicted step', 'seconds', 'share'],
    rows: [
      ['compute', s.compute, share(s.compute)],
      ['pipeline bubble', s.bubble, share(s.bubble)],
      ['stage imbalance', s.imbalance, share(s.imbalance)],
      ['exposed communication', s.exposedCommunication, share(s.exposedCommunication)],
      ['optimizer', s.optimizer, share(s.optimizer)],
      ['total', s.seconds, share(s.seconds)],
    ].map(([name, v, sh]) => [name as string, significant(v as number), sh as string]),
  };
}

const SIGNAL_LABELS: Readonly<Record<string, string>> = {
  grEngineActive: 'graphics engine active (GR_ENGINE_ACTIVE)',
  pipeTensorActive: 'tensor pipes active (PIPE_TENSOR_ACTIVE)',
  smActive: 'SM active (SM_ACTIVE)',
  gpuUtil: 'GPU utilisation (GPU_UTIL)',
};

/** The GPU KPIs as label/value rows; undefined without GPU samples. */
function gpuTable(outcome: ObserveOutcome): TextTable | undefined {
  const gpu = outcome.gpu;
  if (!gpu || gpu.kpis.counts.gpus === 0) return undefined;
  const k = gpu.kpis;
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const rows: [string, string][] = [
    ['GPUs (hosts) seen', `${formatInteger(k.counts.gpus)} (${formatInteger(k.counts.hosts)}) in ${gpu.source}`],
    ['samples', formatInteger(k.counts.samples)],
  ];
  for (const signal of k.utilisation.signals) {
    rows.push([
      SIGNAL_LABELS[signal.signal] ?? signal.field,
      `${pct(signal.mean)} (GPUs ${pct(signal.minGpuMean)}–${pct(signal.maxGpuMean)})`,
    ]);
  }
  if (k.power) {
    rows.push([
      'board power, mean per GPU',
      `${Math.round(k.power.meanPerGpuW)} W (peak sample ${Math.round(k.power.peakGpuW)} W)`,
    ]);
    rows.push(['IT power of the GPUs seen', `${significant(k.power.itMeanW / 1000)} kW`]);
    if (k.power.facilityMeanW !== undefined) {
      rows.push([
        `facility power of the GPUs seen (× PUE ${k.power.pue ?? ''})`,
        `${significant(k.power.facilityMeanW / 1000)} kW`,
      ]);
    }
    if (k.power.facilityEnergyJ !== undefined) {
      rows.push([
        `facility energy of the GPUs seen over ${formatDuration(k.window.seconds)}`,
        `${significant(k.power.facilityEnergyJ / 3.6e9)} MWh`,
      ]);
    }
  }
  if (k.tokens?.perMWhFacility !== undefined) {
    rows.push(['tokens per facility MWh of the GPUs seen', formatCount(k.tokens.perMWhFacility)]);
  }
  if (k.throttle) {
    rows.push([
      'throttled time (slowing clock-event reasons)',
      `${pct(k.throttle.share)} (${k.throttle.gpusThrottled} GPUs ever)`,
    ]);
  }
  if (k.temperature)
    rows.push([
      'GPU temperature mean / max',
      `${k.temperature.meanC.toFixed(1)} / ${k.temperature.maxC.toFixed(0)} °C`,
    ]);
  const codes = Object.entries(k.xid.byCode)
    .map(([code, n]) => `XID ${code} × ${n}`)
    .join(', ');
  rows.push(['XID events', k.xid.events === 0 ? 'none' : `${k.xid.events} on ${k.xid.gpus} GPUs (${codes})`]);
  if (k.dropped.length > 0) rows.push(['values left out (blank or not finite)', formatInteger(k.dropped.length)]);
  return { headers: ['GPU KPI', 'value'], rows };
}

/** Megatron's straggler detector as label/value rows; undefined when the logs have no straggler lines. */
function stragglerTable(outcome: ObserveOutcome): TextTable | undefined {
  const s = outcome.stragglers;
  if (!s) return undefined;
  const rows: [string, string][] = [
    ['straggler-detector lines', formatInteger(s.reports)],
    ['slowest ÷ fastest rank time', `median ${s.rttSpread.median.toFixed(3)}×, worst ${s.rttSpread.max.toFixed(3)}×`],
    ['slowest ranks (lines)', s.slowestRanks.map((r) => `${r.rank} (${r.reports})`).join(', ')],
  ];
  if (s.clockMHz) rows.push(['SM clock across ranks', `${s.clockMHz.min}–${s.clockMHz.max} MHz`]);
  if (s.powerW) rows.push(['power across ranks', `${Math.round(s.powerW.min)}–${Math.round(s.powerW.max)} W`]);
  if (s.maxTempC !== undefined) rows.push(['hottest rank', `${s.maxTempC} °C`]);
  return { headers: ['straggler detector', 'value'], rows };
}

/** Detections marked on the step chart at most. */
const MAX_MARKED = 200;

/** Detections shown in a report table at most (the JSON carries them all). */
const DETECTIONS_SHOWN = 20;

/** Where a detection points: host, rank or GPU, or the iteration. */
function detectionPlace(d: Detection): string {
  const place = [d.host, d.rank !== undefined ? `rank ${d.rank}` : undefined, d.gpu].filter((x) => x !== undefined);
  if (place.length > 0) return place.join(' ');
  return d.step !== undefined ? `iteration ${formatInteger(d.step)}` : '';
}

/** `observe --detect`'s detections, newest severities first, and its actions; undefined without `--detect`. */
function detectTables(outcome: ObserveOutcome): { detections: TextTable; actions: TextTable } | undefined {
  const found = outcome.detect;
  if (!found) return undefined;
  const rank = { critical: 0, warning: 1, info: 2 } as const;
  const shown = [...found.detections].sort((a, b) => rank[a.severity] - rank[b.severity] || a.time - b.time);
  const rows = shown
    .slice(0, DETECTIONS_SHOWN)
    .map((d) => [d.kind, d.severity, detectionPlace(d), d.score.toFixed(3), d.evidence]);
  const more = found.detections.length - Math.min(found.detections.length, DETECTIONS_SHOWN) + found.moreDetections;
  if (more > 0) rows.push(['…', '', '', '', `${formatInteger(more)} more (--json lists them)`]);
  if (rows.length === 0) rows.push(['none', '', '', '', 'no detector fired']);
  const gainOf = (a: Action) =>
    a.expectedGain ? `ETTR ${a.expectedGain.ettrWithout.toFixed(4)} → ${a.expectedGain.ettrWith.toFixed(4)}` : '';
  const actions = found.actions.map((a) => [a.kind, a.host ?? '', gainOf(a), a.reason]);
  if (actions.length === 0) actions.push(['none', '', '', 'nothing to do']);
  return {
    detections: { headers: ['detection', 'severity', 'where', 'score', 'evidence'], rows },
    actions: { headers: ['action', 'host', 'expected (twin)', 'reason'], rows: actions },
  };
}

/** The forecast as label/value rows; undefined without one. */
function forecastTable(outcome: ObserveOutcome): TextTable | undefined {
  const f = outcome.forecast;
  if (!f) return undefined;
  const days = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} days` : '∞');
  const perDay = (v: number) => `${v.toFixed(2)}/day`;
  const rows: [string, string][] = [
    [
      'observed so far',
      `${f.elapsedDays.toFixed(1)} days, ${(100 * (1 - f.remainingShare)).toFixed(1)}% of the tokens`,
    ],
  ];
  if (f.replicas === 0) rows.push(['time to train', 'no work left']);
  else {
    const t = f.timeToTrainDays;
    rows.push(['time to train P10 / P50 / P90', `${days(t.p10)} / ${days(t.p50)} / ${days(t.p90)} from the start`]);
    rows.push([
      'failure rate: planned → updated',
      `${perDay(f.failureRate.prior.mean)} → ${perDay(f.failureRate.posterior.mean)} (P10–P90 ${perDay(f.failureRate.posterior.p10)}–${perDay(f.failureRate.posterior.p90)}), ${f.failureRate.interruptions} interruptions in ${f.failureRate.exposureDays.toFixed(1)} days`,
    ]);
    rows.push([
      'recovery: planned → used',
      `${formatDuration(f.recoverySeconds.planned)} → ${formatDuration(f.recoverySeconds.used)}`,
    ]);
    rows.push([
      'step: planned → observed',
      `${significant(f.stepSeconds.planned)} s → ${significant(f.stepSeconds.observed)} s`,
    ]);
    if (f.meetDeadlineProbability !== undefined && f.deadlineDays !== undefined) {
      rows.push([
        `meets the ${f.deadlineDays}-day deadline`,
        `${(100 * f.meetDeadlineProbability).toFixed(0)}% of ${f.replicas} replicas`,
      ]);
    }
  }
  return { headers: ['forecast', 'value'], rows };
}

function causes(outcome: ObserveOutcome): string[] {
  return outcome.planVersusActual
    .filter((c) => c.likelyCause !== undefined && c.status !== 'within')
    .map((c) => `${c.label}: ${c.likelyCause}`);
}

function heading(outcome: ObserveOutcome): string[] {
  const d = outcome.design;
  return [
    `${formatInteger(d.gpus)} × ${d.accelerator}, ${d.layout}${d.siteEfficiency !== 1 ? `, site efficiency ${d.siteEfficiency.toFixed(3)}` : ''}`,
    ...(outcome.twin
      ? [`twin band: ${outcome.twin.replicas} replicas of a ${significant(outcome.twin.days)}-day run`]
      : []),
  ];
}

const toText = (t: TextTable) =>
  renderTable(
    t.headers.map((h, i) => ({ header: h, align: i === 0 ? ('left' as const) : ('right' as const) })),
    t.rows,
  );

/** The `--window` KPIs in one line, or why there are none; undefined without a window. */
function windowLine(outcome: ObserveOutcome): string | undefined {
  const w = outcome.kpis.window;
  if (!w) return undefined;
  if (w.empty) return `window: no KPIs (${w.reason})`;
  return `window: ${formatInteger(w.points)} steps, median ${significant(w.steady.p50)} s, ETTR ${(100 * w.ettr).toFixed(2)}%, goodput ${(100 * w.goodput).toFixed(2)}%, ${w.restarts} restarts`;
}

/** The terminal report. */
export function renderObserveText(outcome: ObserveOutcome): string {
  const k = outcome.kpis.run;
  const parts = [outcome.title, ...heading(outcome), ''];
  if (k.empty) parts.push(`no KPIs: ${k.reason}`, '');
  else {
    parts.push(renderPairs(kpiTable(k).rows.map((r) => [r[0] as string, r[1] as string])), '');
    parts.push(toText(comparisonTable(outcome)), '');
    const why = causes(outcome);
    if (why.length > 0) parts.push('likely causes:', ...why.map((w) => `- ${w}`), '');
    parts.push(toText(badputTable(k)), '');
    const gpu = gpuTable(outcome);
    if (gpu) parts.push(renderPairs(gpu.rows.map((r) => [r[0] as string, r[1] as string])), '');
    const forecast = forecastTable(outcome);
    if (forecast) parts.push(renderPairs(forecast.rows.map((r) => [r[0] as string, r[1] as string])), '');
    const stragglers = stragglerTable(outcome);
    if (stragglers) parts.push(renderPairs(stragglers.rows.map((r) => [r[0] as string, r[1] as string])), '');
    const detect = detectTables(outcome);
    if (detect) parts.push(toText(detect.detections), '', toText(detect.actions), '');
    parts.push(toText(breakdownTable(outcome)));
  }
  const w = windowLine(outcome);
  if (w) parts.push('', w);
  for (const note of outcome.notes) parts.push(`note: ${note}`);
  return parts.join('\n');
}

/** The JSON output (the chart series left out: they are the report's). */
export function observeJson(outcome: ObserveOutcome): unknown {
  const { chart: _chart, twin, gpu, ...rest } = outcome;
  return {
    ...rest,
    ...(gpu && {
      gpu: { source: gpu.source, observed: gpu.observed, kpis: { ...gpu.kpis, perGpu: gpu.kpis.perGpu.slice(0, 100) } },
    }),
    ...(twin && {
      twin: {
        days: twin.days,
        replicas: twin.replicas,
        ettr: twin.study.figures.ettr,
        goodput: twin.study.figures.goodput,
        unexpectedInterruptions: twin.study.figures.unexpectedInterruptions,
      },
    }),
  };
}

/** The Markdown report. */
export function renderObserveMarkdown(outcome: ObserveOutcome): string {
  const k = outcome.kpis.run;
  const parts = [`# ${outcome.title}`, '', ...heading(outcome).map((h) => `- ${h}`), ''];
  if (k.empty) parts.push(`No KPIs: ${k.reason}.`);
  else {
    parts.push('## KPIs', '', markdownTable(kpiTable(k)), '', '## Plan versus actual', '');
    parts.push(markdownTable(comparisonTable(outcome)), '');
    for (const w of causes(outcome)) parts.push(`- ${w}`);
    parts.push('', '## Badput by cause', '', markdownTable(badputTable(k)), '');
    const gpu = gpuTable(outcome);
    if (gpu) parts.push('## GPUs', '', markdownTable(gpu), '');
    const forecast = forecastTable(outcome);
    if (forecast) parts.push('## Forecast', '', markdownTable(forecast), '');
    const stragglers = stragglerTable(outcome);
    if (stragglers) parts.push('## Straggler detector', '', markdownTable(stragglers), '');
    const detect = detectTables(outcome);
    if (detect) {
      parts.push('## Detections', '', markdownTable(detect.detections), '');
      parts.push('## Actions', '', markdownTable(detect.actions), '');
    }
    parts.push('## Predicted step', '', markdownTable(breakdownTable(outcome)));
  }
  const w = windowLine(outcome);
  if (w) parts.push('', w);
  for (const note of outcome.notes) parts.push('', `Note: ${note}`);
  return `${parts.join('\n')}\n`;
}

/** A prediction's band (a shaded rectangle over `x`) and its value (a rule), named for the legend and readers. */
function planMarks(
  c: Comparison,
  [x1, x2]: readonly [number, number],
  band: string,
  predicted: string,
  [bandDescription, predictedDescription]: readonly [string, string],
): Plot.Markish[] {
  return [
    Plot.rectY([{ x1, x2, y1: c.band.low, y2: c.band.high }], {
      x1: 'x1',
      x2: 'x2',
      y1: 'y1',
      y2: 'y2',
      fill: () => band,
      fillOpacity: 0.6,
      ariaDescription: bandDescription,
    }),
    Plot.ruleY([c.predicted], { stroke: () => predicted, strokeWidth: 1.5, ariaDescription: predictedDescription }),
  ];
}

/** Step times against the predicted step and its band (the model's held-out P90 error). */
function stepChart(outcome: ObserveOutcome): string {
  const points = outcome.chart.steps;
  const step = outcome.planVersusActual.find((c) => c.metric === 'stepSeconds');
  if (points.length === 0 || !step) return '';
  const MEASURED = 'logged step time';
  const PREDICTED = 'predicted step';
  const BAND = 'model band (held-out P90 error)';
  const first = points[0]?.step ?? 0;
  const last = points[points.length - 1]?.step ?? first + 1;
  const sorted = points.map((p) => p.seconds).sort((a, b) => a - b);
  // Clip the y axis at the P99 of the logged times and the band, so that a few stalls do not flatten the chart.
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))] ?? 1;
  const top = Math.max(p99, step.band.high) * 1.1;
  // `--detect`: the iterations where a stall episode began or the step time changed, as rules on the chart.
  const STALL = 'stall detected';
  const CHANGE = 'fail-slow change detected';
  const marked = (outcome.detect?.detections ?? [])
    .filter(
      (d) => d.step !== undefined && (d.kind === 'stall' || (d.kind === 'fail-slow' && (d.signals?.shift ?? 0) > 0)),
    )
    .slice(0, MAX_MARKED)
    .map((d) => ({ step: d.step as number, kind: d.kind === 'stall' ? STALL : CHANGE }));
  const kinds = [STALL, CHANGE].filter((k) => marked.some((m) => m.kind === k));
  const svg = renderChart('observe-steps', {
    ariaLabel: 'step time against the plan',
    height: 280,
    marginLeft: 60,
    x: { label: 'iteration', grid: true },
    y: { label: 'seconds per iteration', domain: [0, top], grid: true, clamp: true },
    color: {
      domain: [MEASURED, PREDICTED, BAND, ...kinds],
      range: [
        PALETTE.blue,
        PALETTE.orange,
        '#ffd0a3',
        ...kinds.map((k) => (k === STALL ? PALETTE.red : PALETTE.purple)),
      ],
      legend: true,
    },
    marks: [
      ...planMarks(step, [first, last], BAND, PREDICTED, ['model band', 'predicted step']),
      ...(marked.length > 0
        ? [
            Plot.ruleX(marked, {
              x: 'step',
              stroke: 'kind',
              strokeWidth: 1.5,
              strokeDasharray: '4,3',
              ariaDescription: 'detections',
            }),
          ]
        : []),
      Plot.dot(points, {
        x: 'step',
        y: 'seconds',
        r: 1.2,
        fill: () => MEASURED,
        clip: true,
        ariaDescription: 'logged step times',
      }),
      Plot.ruleY([0]),
    ],
  });
  const detections =
    marked.length > 0
      ? ` Dashed lines: ${formatInteger(marked.length)} detections (stall episodes and step-time changes).`
      : '';
  const caption = `${formatInteger(points.length)} logged step times (thinned to at most 2,000) from iteration ${formatInteger(first)} to ${formatInteger(last)}; predicted ${plainNumber(step.predicted)} s, band ${plainNumber(step.band.low)}–${plainNumber(step.band.high)} s; measured median ${plainNumber(step.actual ?? Number.NaN)} s; the axis is cut at ${plainNumber(top)} s.${detections}`;
  return chartFigure(svg, caption, 'step time against the plan');
}

/** Mean board power per GPU over time against the twin's training level and its band. */
function powerChart(outcome: ObserveOutcome): string {
  const points = outcome.chart.power;
  const planned = outcome.planVersusActual.find((c) => c.metric === 'gpuPowerW');
  if (points.length < 2 || !planned) return '';
  const MEASURED = 'mean board power per GPU';
  const PREDICTED = 'planned training level';
  const BAND = 'plan band (±15 %)';
  const last = points[points.length - 1]?.hours ?? 1;
  const top = Math.max(planned.band.high, ...points.map((p) => p.meanW)) * 1.08;
  const svg = renderChart('observe-power', {
    ariaLabel: 'GPU power against the plan',
    height: 240,
    marginLeft: 60,
    x: { label: 'hours since the first sample', grid: true },
    y: { label: 'W per GPU', domain: [0, top], grid: true },
    color: { domain: [MEASURED, PREDICTED, BAND], range: [PALETTE.blue, PALETTE.orange, '#ffd0a3'], legend: true },
    marks: [
      ...planMarks(planned, [0, last], BAND, PREDICTED, ['plan band', 'planned level']),
      Plot.lineY(points, {
        x: 'hours',
        y: 'meanW',
        stroke: () => MEASURED,
        strokeWidth: 1.2,
        ariaDescription: 'mean board power',
      }),
      Plot.ruleY([0]),
    ],
  });
  const caption = `Mean board power per GPU at ${formatInteger(points.length)} times over ${plainNumber(last)} h (thinned to at most 2,000); planned ${Math.round(planned.predicted)} W, band ${Math.round(planned.band.low)}–${Math.round(planned.band.high)} W; measured mean ${Math.round(planned.actual ?? Number.NaN)} W.`;
  return chartFigure(svg, caption, 'GPU power against the plan');
}

/** The self-contained HTML report. */
export function renderObserveHtml(outcome: ObserveOutcome): string {
  const k = outcome.kpis.run;
  const body = [`<h1>${escapeHtml(outcome.title)}</h1>`, ...heading(outcome).map((h) => `<p>${escapeHtml(h)}</p>`)];
  if (k.empty) body.push(`<p>No KPIs: ${escapeHtml(k.reason ?? '')}</p>`);
  else {
    body.push('<h2>Plan versus actual</h2>', htmlTable('each figure against its band', comparisonTable(outcome)));
    const why = causes(outcome);
    if (why.length > 0) body.push(`<ul>${why.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>`);
    body.push(stepChart(outcome), powerChart(outcome));
    body.push('<h2>KPIs</h2>', htmlTable('the whole run', kpiTable(k)));
    body.push(htmlTable('forecast of the time to train', forecastTable(outcome)));
    body.push(htmlTable('Megatron’s straggler detector', stragglerTable(outcome)));
    const detect = detectTables(outcome);
    if (detect) {
      body.push('<h2>Detections and actions</h2>', htmlTable('what the detectors found', detect.detections));
      body.push(htmlTable('what to do, with the twin’s expected ETTR', detect.actions));
    }
    body.push(htmlTable('badput by cause', badputTable(k)), htmlTable('GPUs', gpuTable(outcome)));
    body.push(htmlTable('the estimate’s step', breakdownTable(outcome)));
  }
  const w = windowLine(outcome);
  if (w) body.push(`<p>${escapeHtml(w)}</p>`);
  for (const note of outcome.notes) body.push(`<p>Note: ${escapeHtml(note)}</p>`);
  return htmlPage(outcome.title, body.join(''));
}
