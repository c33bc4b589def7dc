/**
 * Reports of a twin study: plain text for the terminal, Markdown, and a self-contained HTML page with the
 * timeline of replica 0 (tokens/s and facility power, interruptions marked), the ETTR distribution over the
 * replicas and badput by cause.
 * @module
 */
import { BADPUT_CAUSES, type BadputCause } from '../twin/run.js';
import type { TwinConfig } from '../twin/setup.js';
import type { StudyFigure, StudyResult, StudyStat } from '../twin/study.js';
import { formatBytes, formatCount, formatDuration, formatInteger, significant } from './format.js';
import { escapeHtml, htmlPage, htmlTable, markdownTable, type TextTable } from './html.js';
import { renderTable } from './table.js';

/** What `tokenworks simulate` produced. */
export interface SimulateOutcome {
  readonly title: string;
  readonly design: {
    readonly gpus: number;
    readonly accelerator: string;
    readonly layout: string;
    readonly tokensPerSecond: number;
    readonly stepSeconds: number;
  };
  readonly config: TwinConfig;
  readonly study: StudyResult;
}

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
    `modelled MTBF ${formatDuration(config.mtbfSeconds)}, mean recovery ${formatDuration(config.meanRecoverySeconds)} (detection, ${formatDuration(config.restartSeconds)} restart, checkpoint read, host swap)`,
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
        'swing inside each step',
        `${p.stepSwingMW.toFixed(2)} MW at ${p.stepHz.toFixed(3)} Hz${inBand ? ' (inside the 0.1-20 Hz band utilities watch)' : ''}`,
      ],
      ['drops to the waiting level', `${p.dipsPerDay.toFixed(1)} a day, ${p.dipMW.toFixed(2)} MW each`],
      ['energy', `${formatInteger(p.energyMWh)} MWh`],
    ],
  };
  return { figures, badput, causes, power };
}

/** Plain-text report. */
export function renderSimulateText(outcome: SimulateOutcome): string {
  const t = tables(outcome);
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
  ].join('\n');
}

/** Markdown report. */
export function renderSimulateMarkdown(outcome: SimulateOutcome): string {
  const t = tables(outcome);
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
  ].join('\n\n')}\n`;
}

const WIDTH = 720;
const HEIGHT = 260;
const PAD = 48;

/** Timeline of replica 0: tokens/s (blue) and facility power (orange, mean per bucket), interruptions as ticks. */
function timelineSvg(outcome: SimulateOutcome): string {
  const { timeline, events } = outcome.study.example;
  const n = timeline.tokensPerSecond.length;
  if (n === 0) return '';
  const hours = (n * timeline.bucketSeconds) / 3600;
  const x = (i: number) => PAD + (i / n) * (WIDTH - 2 * PAD);
  const maxTokens = Math.max(...timeline.tokensPerSecond, 1);
  const maxPower = Math.max(...timeline.powerMW.max, 1e-9);
  const y = (value: number, max: number) => HEIGHT - PAD - (value / max) * (HEIGHT - 2 * PAD);
  const line = (values: readonly number[], max: number) =>
    values.map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i + 0.5).toFixed(1)},${y(v, max).toFixed(1)}`).join('');
  const ticks = events
    .filter((e) => e.kind === 'interruption' || e.kind === 'maintenance' || e.kind === 'waiting')
    .map((e) => {
      const cx = x((e.t / timeline.bucketSeconds) as number).toFixed(1);
      const color = e.kind === 'interruption' ? '#d62728' : e.kind === 'waiting' ? '#9467bd' : '#2ca02c';
      return `<line x1="${cx}" x2="${cx}" y1="${PAD - 12}" y2="${PAD - 4}" stroke="${color}"><title>${escapeHtml(`${(e.t / 3600).toFixed(1)} h: ${e.kind}${e.cause ? ` (${e.cause})` : ''}`)}</title></line>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="timeline"><path d="${line(timeline.tokensPerSecond, maxTokens)}" fill="none" stroke="#1f77b4"/><path d="${line(timeline.powerMW.mean, maxPower)}" fill="none" stroke="#ff7f0e"/>${ticks}<line x1="${PAD}" y1="${HEIGHT - PAD}" x2="${WIDTH - PAD}" y2="${HEIGHT - PAD}" stroke="#444"/><text x="${WIDTH / 2}" y="${HEIGHT - 14}" text-anchor="middle">hours 0 to ${hours.toFixed(0)} (buckets of ${formatDuration(timeline.bucketSeconds)})</text><text x="${PAD}" y="${PAD - 18}">ticks: interruption (red), planned (green), waiting for spares (purple)</text><text x="${PAD + 4}" y="${y(maxTokens, maxTokens) + 12}" fill="#1f77b4">tokens/s, max ${formatCount(maxTokens)}</text><text x="${WIDTH - PAD - 4}" y="${y(maxPower, maxPower) + 12}" text-anchor="end" fill="#ff7f0e">facility MW, max ${maxPower.toFixed(1)}</text></svg>`;
}

/** Histogram of ETTR over the replicas. */
function ettrSvg(values: readonly number[]): string {
  if (values.length < 2) return '';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const bins = Math.min(30, Math.max(5, Math.ceil(Math.sqrt(values.length))));
  const width = (hi - lo) / bins || 1e-9;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    const bin = Math.min(bins - 1, Math.floor((v - lo) / width));
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  const top = Math.max(...counts);
  const barWidth = (WIDTH - 2 * PAD) / bins;
  const bars = counts
    .map((count, i) => {
      const h = (count / top) * (HEIGHT - 2 * PAD);
      const from = lo + i * width;
      return `<rect x="${(PAD + i * barWidth).toFixed(1)}" y="${(HEIGHT - PAD - h).toFixed(1)}" width="${(barWidth - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="#1f77b4"><title>${from.toFixed(4)}-${(from + width).toFixed(4)}: ${count}</title></rect>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="ETTR distribution">${bars}<line x1="${PAD}" y1="${HEIGHT - PAD}" x2="${WIDTH - PAD}" y2="${HEIGHT - PAD}" stroke="#444"/><text x="${PAD}" y="${HEIGHT - 28}">${lo.toFixed(3)}</text><text x="${WIDTH - PAD}" y="${HEIGHT - 28}" text-anchor="end">${hi.toFixed(3)}</text><text x="${WIDTH / 2}" y="${HEIGHT - 12}" text-anchor="middle">ETTR over ${values.length} replicas (most frequent bin: ${top})</text></svg>`;
}

/** Horizontal bars of mean badput hours by cause. */
function badputSvg(study: StudyResult): string {
  const rows = BADPUT_CAUSES.map((cause) => [CAUSE_LABELS[cause], study.badputHours[cause].mean] as const);
  const top = Math.max(...rows.map(([, v]) => v), 1e-9);
  const rowHeight = 22;
  const height = rows.length * rowHeight + 20;
  const left = 240;
  const bars = rows
    .map(([label, value], i) => {
      const w = (value / top) * (WIDTH - left - 80);
      const yy = 10 + i * rowHeight;
      return `<text x="${left - 8}" y="${yy + 14}" text-anchor="end">${escapeHtml(label)}</text><rect x="${left}" y="${yy + 3}" width="${w.toFixed(1)}" height="${rowHeight - 6}" fill="#d62728"/><text x="${(left + w + 6).toFixed(1)}" y="${yy + 14}">${value.toFixed(1)} h</text>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="badput by cause">${bars}</svg>`;
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
    timelineSvg(outcome),
    '<h2>ETTR distribution</h2>',
    ettrSvg(outcome.study.ettrValues),
    '<h2>Badput by cause (mean hours)</h2>',
    badputSvg(outcome.study),
    htmlTable('Badput by cause', t.badput),
    htmlTable('Unexpected interruptions by cause', t.causes),
    htmlTable('Power', t.power),
  ];
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
    example: study.example,
  };
}
