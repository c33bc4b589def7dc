/**
 * Reports of a dedicated-versus-shared comparison: a table per size and side, the breakpoint, and (HTML) charts of
 * time to train and cost per million tokens against job size.
 * @module
 */
import type { ComparePoint, CompareResult } from '../breakpoint/compare.js';
import { formatInteger, significant } from './format.js';
import { escapeHtml, htmlPage, htmlTable, markdownTable, type TextTable } from './html.js';
import { renderTable } from './table.js';

/** What `tokenworks compare` produced. */
export interface CompareOutcome {
  readonly title: string;
  readonly settings: readonly string[];
  readonly result: CompareResult;
}

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

const WIDTH = 720;
const HEIGHT = 300;
const PAD = 56;

/** A log-log line chart of one figure against GPUs, factory (blue) and shared (orange). */
function chart(points: readonly ComparePoint[], label: string, read: (p: ComparePoint) => [number, number]): string {
  const values = points.flatMap((p) => read(p)).filter((v) => Number.isFinite(v) && v > 0);
  if (points.length === 0 || values.length === 0) return '';
  const lx0 = Math.log10(points[0]?.gpus ?? 1);
  const lx1 = Math.log10(points[points.length - 1]?.gpus ?? 1) + 1e-9;
  const ly0 = Math.log10(Math.min(...values)) - 0.05;
  const ly1 = Math.log10(Math.max(...values)) + 0.05;
  const x = (gpus: number) => PAD + ((Math.log10(gpus) - lx0) / (lx1 - lx0 || 1)) * (WIDTH - 2 * PAD);
  const y = (v: number) => HEIGHT - PAD - ((Math.log10(v) - ly0) / (ly1 - ly0 || 1)) * (HEIGHT - 2 * PAD);
  const line = (side: 0 | 1, color: string) => {
    const parts = points
      .map((p) => [p.gpus, read(p)[side]] as const)
      .filter(([, v]) => Number.isFinite(v) && v > 0)
      .map(([g, v], i) => `${i === 0 ? 'M' : 'L'}${x(g).toFixed(1)},${y(v).toFixed(1)}`)
      .join('');
    const dots = points
      .map((p) => [p.gpus, read(p)[side]] as const)
      .filter(([, v]) => Number.isFinite(v) && v > 0)
      .map(
        ([g, v]) =>
          `<circle cx="${x(g).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" style="fill:${color}"><title>${escapeHtml(`${g} GPUs: ${significant(v)}`)}</title></circle>`,
      )
      .join('');
    return `<path d="${parts}" fill="none" stroke="${color}"/>${dots}`;
  };
  const ticks = points
    .map(
      (p) =>
        `<text x="${x(p.gpus).toFixed(1)}" y="${HEIGHT - PAD + 16}" text-anchor="middle">${formatInteger(p.gpus)}</text>`,
    )
    .join('');
  return `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeHtml(label)}"><line x1="${PAD}" y1="${HEIGHT - PAD}" x2="${WIDTH - PAD}" y2="${HEIGHT - PAD}" stroke="#444"/>${ticks}${line(0, '#1f77b4')}${line(1, '#ff7f0e')}<text x="${WIDTH / 2}" y="${HEIGHT - 12}" text-anchor="middle">GPUs (log scale); ${escapeHtml(label)} (log scale): factory blue, shared orange</text><text x="${PAD}" y="${PAD - 16}">${escapeHtml(label)} from ${significant(10 ** ly0)} to ${significant(10 ** ly1)}</text></svg>`;
}

/** Self-contained HTML report. */
export function renderCompareHtml(outcome: CompareOutcome): string {
  const t = tables(outcome);
  const points = outcome.result.points;
  return htmlPage(
    outcome.title,
    [
      `<h1>${escapeHtml(outcome.title)}</h1>`,
      `<ul>${outcome.settings.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`,
      `<p><strong>${escapeHtml(breakpointLine(outcome.result))}</strong></p>`,
      '<h2>Time to train</h2>',
      chart(points, 'time to train, days', (p) => [p.dedicated.timeToTrainDays, p.shared.timeToTrainDays]),
      '<h2>Cost per million tokens</h2>',
      chart(points, 'USD per million tokens', (p) => [p.dedicated.usdPerMillionTokens, p.shared.usdPerMillionTokens]),
      htmlTable('Both sides by size', t.sides),
      htmlTable('The shared side, effect by effect', t.shared),
      outcome.result.skipped.length
        ? `<h3>Skipped</h3><ul>${outcome.result.skipped.map((s) => `<li>${escapeHtml(`${formatInteger(s.gpus)} GPUs: ${s.reason}`)}</li>`).join('')}</ul>`
        : '',
    ].join(''),
  );
}
