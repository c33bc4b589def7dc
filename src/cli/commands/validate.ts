/**
 * `tokenworks validate [--runs FILE]`: predicts every published run of a calibration file and reports the error
 * per row and in summary (median, mean, P90), grouped by source, GPU, dense/MoE, precision and whether the row
 * was fully specified, with the worst ten rows and the rows that could not be predicted.
 * @module
 */
import { join } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { TokenworksError } from '../../errors.js';
import { readTextFile } from '../../node/files.js';
import { createOutput, type OutputStreams } from '../../node/output.js';
import { renderTable } from '../../report/table.js';
import { type ErrorSummary, type ValidationReport, validateRuns } from '../../validation/validate.js';

/** The calibration set shipped with the package. */
export const DEFAULT_RUNS_FILE = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'data',
  'calibration',
  'published-runs.calibration.json',
);

/** Adds the `validate` command to `program`. */
export function registerValidate(program: Command, streams: OutputStreams): void {
  program
    .command('validate')
    .description('compare the performance model with published training runs')
    .option(
      '--runs <file>',
      'published runs, a JSON array in the calibration row format (default: the shipped set, data/calibration/published-runs.calibration.json)',
    )
    .option('--json', 'one object per row plus the summary, as JSON')
    .action(async (options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const runsFile = options.runs ?? DEFAULT_RUNS_FILE;
      const text = await readTextFile(runsFile);
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (error) {
        throw new TokenworksError('SPEC_INVALID', `${runsFile}: not valid JSON (${(error as Error).message})`, {
          file: runsFile,
        });
      }
      if (!Array.isArray(data)) {
        throw new TokenworksError('SPEC_INVALID', `${runsFile}: expected a JSON array of runs, got ${typeof data}`, {
          file: runsFile,
        });
      }
      const report = validateRuns(data);
      if (report.rows.length === 0) {
        // Nothing predicted is not a validation: say why each row was left out.
        const reasons = report.skipped.map((row) => ({
          code: 'no_result',
          path: row.id,
          message: `${row.kind}: ${row.reason}`,
        }));
        throw new TokenworksError('NO_RESULT', `${runsFile}: no row could be predicted`, {
          file: runsFile,
          issues: reasons.length > 0 ? reasons : [{ code: 'no_result', path: '', message: 'the array holds no runs' }],
        });
      }
      output.result(renderValidation(report), report);
    });
}

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

/** Renders a validation report as text tables (absolute percentage errors). */
export function renderValidation(report: ValidationReport): string {
  const parts = [
    `${report.rows.length} runs predicted, ${report.skipped.length} not (listed at the end); absolute percentage error of the predicted metric`,
    '',
    summaryTable('all', { all: report.summary }),
  ];
  for (const [key, title] of [
    ['arch', 'dense / MoE'],
    ['gpu', 'GPU'],
    ['precision', 'precision'],
    ['source', 'source'],
    ['specified', 'plan fields'],
  ] as const) {
    parts.push('', summaryTable(title, report.groups[key]));
  }
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
        report.skipped.map((row) => [row.id, `${row.kind}: ${row.reason}`]),
      ),
    );
  }
  return parts.join('\n');
}
