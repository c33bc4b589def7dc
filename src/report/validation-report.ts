/**
 * The report of `tokenworks validate`: the error of the model against published runs, overall and by group, the
 * peak memory per GPU against the rows that state it, the worst rows and the rows it could not predict, as text
 * tables.
 * @module
 */
import type { ErrorSummary, PeakMemory, ValidationReport } from '../validation/validate.js';
import { renderTable } from './table.js';

const pct = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)}%` : '-');

function summaryTable(title: string, groups: Readonly<Record<string, ErrorSummary>>): string {
  return renderTable(
    [
      { header: title },
      { header: 'rows', align: 'right' },
      { header: 'median', align: 'right' },
      { header: 'mean', align: 'right' },
      { header: 'P90', align: 'right' },
    ],
    Object.entries(groups).map(([name, s]) => [name, String(s.rows), pct(s.medianPct), pct(s.meanPct), pct(s.p90Pct)]),
  );
}

/** How many predicted rows had each field filled (the field name before "=", " (" or ":"), most first. */
export function filledCounts(report: ValidationReport): string[][] {
  const counts = new Map<string, number>();
  for (const row of report.rows) {
    for (const field of new Set(row.filled.map((f) => f.split(/=| \(|:/)[0] ?? f))) {
      counts.set(field, (counts.get(field) ?? 0) + 1);
    }
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, v]) => [k, String(v)]);
}

/** Rows (predicted or predicted out of memory) that state their peak memory per GPU, with the model's. */
export function peakMemoryRows(report: ValidationReport): { id: string; set?: string; peakMemory: PeakMemory }[] {
  return [...report.rows, ...report.skipped].flatMap((row) =>
    row.peakMemory ? [{ id: row.id, ...(row.set !== undefined && { set: row.set }), peakMemory: row.peakMemory }] : [],
  );
}

const signedPct = (error: number) => `${error >= 0 ? '+' : ''}${(100 * error).toFixed(1)}%`;

/** Renders a validation report as text tables (absolute percentage errors). */
export function renderValidation(report: ValidationReport): string {
  const parts = [
    `${report.rows.length} runs predicted, ${report.skipped.length} not (listed at the end); absolute percentage error of the predicted metric`,
    '',
    summaryTable('all', { all: report.summary }),
  ];
  if (report.peakMemory) {
    parts.push(
      '',
      'peak memory per GPU, rows that state it (modelled busiest GPU against the stated peak):',
      '',
      summaryTable('peak memory', { 'peak memory': report.peakMemory }),
      '',
      renderTable(
        [
          { header: 'row' },
          { header: 'stated GiB', align: 'right' },
          { header: 'model GiB', align: 'right' },
          { header: 'error', align: 'right' },
        ],
        peakMemoryRows(report).map(({ id, peakMemory }) => [
          id,
          peakMemory.statedGiB.toFixed(1),
          peakMemory.predictedGiB.toFixed(1),
          signedPct(peakMemory.error),
        ]),
      ),
    );
  }
  for (const [key, title] of [
    ['arch', 'dense / MoE'],
    ['gpu', 'GPU'],
    ['precision', 'precision'],
    ['source', 'source'],
    ['specified', 'plan fields'],
    ['set', 'set'],
    ['framework', 'framework'],
  ] as const) {
    parts.push('', summaryTable(title, report.groups[key]));
  }
  const sets = [...new Set([...report.rows.map((r) => r.set), ...report.skipped.flatMap((r) => r.set ?? [])])];
  parts.push(
    '',
    renderTable(
      [
        { header: 'set' },
        { header: 'rows', align: 'right' },
        { header: 'predicted', align: 'right' },
        { header: 'unsupported', align: 'right' },
        { header: 'infeasible', align: 'right' },
        { header: 'invalid', align: 'right' },
      ],
      sets.map((set) => {
        const skipped = report.skipped.filter((r) => r.set === set);
        const predicted = report.rows.filter((r) => r.set === set).length;
        const kind = (k: string) => String(skipped.filter((r) => r.kind === k).length);
        return [
          set,
          String(predicted + skipped.length),
          String(predicted),
          kind('unsupported'),
          kind('infeasible'),
          kind('invalid'),
        ];
      }),
    ),
    '',
    renderTable([{ header: 'default filled' }, { header: 'rows', align: 'right' }], filledCounts(report)),
  );
  parts.push(
    '',
    renderTable(
      [
        { header: 'worst rows' },
        { header: 'metric' },
        { header: 'measured', align: 'right' },
        { header: 'predicted', align: 'right' },
        { header: 'error', align: 'right' },
      ],
      report.worst.map((row) => [
        row.id,
        row.metric,
        row.measured.toFixed(1),
        row.predicted.toFixed(1),
        `${row.error >= 0 ? '+' : ''}${(100 * row.error).toFixed(1)}%`,
      ]),
    ),
  );
  if (report.skipped.length > 0) {
    parts.push(
      '',
      renderTable(
        [{ header: 'not predicted' }, { header: 'why' }],
        report.skipped.map((row) => [
          sets.length > 1 && row.set ? `${row.set}: ${row.id}` : row.id,
          `${row.kind}: ${row.reason}`,
        ]),
      ),
    );
  }
  return parts.join('\n');
}
