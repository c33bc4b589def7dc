/**
 * `tokenworks validate [--runs FILE]`: predicts every published run of a calibration file and reports the error
 * per row and in summary (median, mean, P90), grouped by source, GPU, dense/MoE, precision and whether the row
 * was fully specified, with the worst ten rows and the rows that could not be predicted.
 * @module
 */
import { join } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { readTextFile } from '../../node/files.js';
import { createOutput, type OutputStreams } from '../../node/output.js';
import { specFailure } from '../failure.js';

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
      const [{ runValidate }, { renderValidation }] = await Promise.all([
        import('../../app/validate.js'),
        import('../../report/validation-report.js'),
      ]);
      const result = await runValidate({ text });
      if (!result.ok) throw specFailure(runsFile, result.issues, `${runsFile}: no row could be predicted`);
      output.result(renderValidation(result.value), result.value);
    });
}
