/**
 * `tokenworks check <spec>`: loads and validates a spec, checks what it describes can run (the fabric's reach,
 * the plan's layout and memory; the constraints the plan misses are warnings) and prints the size of its job.
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import { loadSpecFile } from '../../node/files.js';
import { createOutput, type OutputStreams } from '../../node/output.js';
import { specFailure } from '../failure.js';

/** Adds the `check` command to `program`. */
export function registerCheck(program: Command, streams: OutputStreams): void {
  program
    .command('check')
    .description('validate a spec (YAML or JSON), check its plan can run and print the size of its job')
    .argument('<spec>', 'spec file, e.g. examples/llama3-70b.yaml')
    .option('--json', 'print the resolved spec, the feasibility and the summary as JSON')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const spec = await loadSpecFile(file);
      const [{ runCheck }, { renderCheck }] = await Promise.all([
        import('../../app/check.js'),
        import('../../report/check-report.js'),
      ]);
      const result = await runCheck({ spec, file });
      if (!result.ok) throw specFailure(file, result.issues);
      const outcome = result.value;
      if (!outcome.feasible) {
        // The spec is well formed but what it describes cannot run: an answer, with exit code 2.
        if (output.json) output.result('', outcome);
        throw specFailure(
          file,
          outcome.issues.map((issue) => ({ ...issue, message: `valid spec, plan infeasible: ${issue.message}` })),
          `${file}: valid spec, plan infeasible`,
        );
      }
      for (const warning of outcome.warnings) output.warn(`${file}: ${warning.path}: ${warning.message}`);
      output.result(renderCheck(file, spec, outcome.summary), outcome);
    });
}
