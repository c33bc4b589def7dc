/**
 * `tokenworks estimate <spec>`: the performance and memory model for the spec's workload, system and plan:
 * step-time breakdown, throughput, MFU/HFU, memory per GPU and time to train; `--json` for scripts.
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import { loadSpecFile } from '../../node/files.js';
import { createOutput, type OutputStreams } from '../../node/output.js';
import { specFailure } from '../failure.js';

/** Adds the `estimate` command to `program`. */
export function registerEstimate(program: Command, streams: OutputStreams): void {
  program
    .command('estimate')
    .description('predict step time, throughput, MFU and memory per GPU for a spec with a system and a plan')
    .argument('<spec>', 'spec file with workload, system and plan, e.g. examples/llama3-405b.yaml')
    .option('--json', 'print the estimate as JSON')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const spec = await loadSpecFile(file);
      const [{ runEstimate }, { renderEstimate }] = await Promise.all([
        import('../../app/estimate.js'),
        import('../../report/estimate-report.js'),
      ]);
      const result = await runEstimate({ spec, file });
      if (!result.ok) throw specFailure(file, result.issues, `${file}: an estimate needs a system and a plan`);
      const outcome = result.value;
      if (!outcome.ok) {
        // An infeasible plan is an answer, not a crash: JSON readers get it on stdout; everyone gets one line per
        // reason on stderr and exit code 2.
        if (output.json) output.result('', outcome);
        throw specFailure(
          file,
          outcome.issues.map((issue) => ({ code: issue.code, path: issue.path, message: issue.message })),
          `${file}: the plan is infeasible`,
        );
      }
      output.result(renderEstimate(file, spec, outcome), outcome);
    });
}
