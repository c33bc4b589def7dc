/**
 * `tokenworks validate [--set NAME]... [--runs FILE]...`: predicts every published run of one or more calibration
 * files and reports the error per row and in summary (median, mean, P90), per set and per framework, grouped by
 * source, GPU, dense/MoE, precision and whether the row was fully specified, with the defaults filled, the worst
 * ten rows and the rows that could not be predicted.
 * @module
 */
import { basename, join } from 'node:path';
import { type Command, InvalidArgumentError } from '@commander-js/extra-typings';
import { readTextFile } from '../../node/files.js';
import { createOutput, type OutputStreams } from '../../node/output.js';
import { specFailure } from '../failure.js';

const CALIBRATION_DIR = join(import.meta.dirname, '..', '..', '..', 'data', 'calibration');

/** The sets shipped with the package, by name. */
export const SHIPPED_SETS: Readonly<Record<string, string>> = {
  // Megatron-LM / NeMo / Megatron-Bridge runs (data/README.md).
  megatron: join(CALIBRATION_DIR, 'published-runs.calibration.json'),
  // MosaicML llm-foundry (Composer FSDP) and torchtitan runs (data/README.md).
  pytorch: join(CALIBRATION_DIR, 'published-runs.pytorch.json'),
};

/** The calibration set shipped with the package, the default input. */
export const DEFAULT_RUNS_FILE = SHIPPED_SETS.megatron as string;

const collect = (value: string, previous: string[]) => [...previous, value];

function setNames(value: string, previous: string[]): string[] {
  const names = value === 'all' ? Object.keys(SHIPPED_SETS) : value.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(name in SHIPPED_SETS)) {
      throw new InvalidArgumentError(
        `unknown set "${name}"; the shipped sets: ${Object.keys(SHIPPED_SETS).join(', ')}, all`,
      );
    }
  }
  return [...previous, ...names];
}

/** The name a runs file is reported under: its file name without "published-runs." and ".json". */
const setName = (file: string) =>
  basename(file)
    .replace(/^published-runs\./, '')
    .replace(/\.json$/i, '');

/** Adds the `validate` command to `program`. */
export function registerValidate(program: Command, streams: OutputStreams): void {
  program
    .command('validate')
    .description('compare the performance model with published training runs')
    .option(
      '--runs <file>',
      'published runs, a JSON array in the calibration row format; repeat for several sets (default: the shipped megatron set)',
      collect,
      [] as string[],
    )
    .option(
      '--set <names>',
      'shipped sets to run: megatron (data/calibration/published-runs.calibration.json), pytorch (published-runs.pytorch.json), or all; repeat or separate by commas',
      setNames,
      [] as string[],
    )
    .option('--json', 'one object per row plus the summary, as JSON')
    .action(async (options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const files = [
        ...[...new Set(options.set)].map((name) => ({ name, file: SHIPPED_SETS[name] as string })),
        ...options.runs.map((file) => ({ name: setName(file), file })),
      ];
      if (files.length === 0) files.push({ name: 'megatron', file: DEFAULT_RUNS_FILE });
      const sets = await Promise.all(files.map(async ({ name, file }) => ({ name, text: await readTextFile(file) })));
      const [{ runValidate }, { renderValidation }] = await Promise.all([
        import('../../app/validate.js'),
        import('../../report/validation-report.js'),
      ]);
      const result = await runValidate({ sets });
      const label = files.map(({ file }) => file).join(', ');
      if (!result.ok) throw specFailure(label, result.issues, `${label}: no row could be predicted`);
      output.result(renderValidation(result.value), result.value);
    });
}
