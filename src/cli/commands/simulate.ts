/**
 * `tokenworks simulate <spec or design.json>`: the digital twin of the whole training run on the spec's design
 * (or the plan or design that `plan` would choose), over many seeded replicas across worker threads. Text,
 * JSON (`--json`) and a self-contained report (`--report out.html` or `out.md`).
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import { loadSpecFile } from '../../node/files.js';
import { createOutput, type OutputStreams, progressPort } from '../../node/output.js';
import { specFailure } from '../failure.js';
import { daysOption, replicasOption, seedOption, threadsOption } from '../options.js';
import { checkReportPath, writeReport } from '../report-file.js';
import { withRunner } from '../runner.js';
import { RUNNER_HELP, SHARD_HELP, SHARD_OUT_HELP, scaleOutOf } from '../scale-out.js';

/** Adds the `simulate` command to `program`. */
export function registerSimulate(program: Command, streams: OutputStreams): void {
  program
    .command('simulate')
    .description('simulate the whole training run: failures, checkpoints, spares, stragglers, power (ETTR, goodput)')
    .argument('<spec>', 'spec file, or the JSON output of `tokenworks plan --json`; e.g. examples/llama3-405b-54d.yaml')
    .option('--replicas <n>', 'independent replicas of the run (Monte Carlo)', '100')
    .option('--seed <s>', 'seed of the random streams: the same seed gives the same result', '1')
    .option('--days <d>', 'simulate this many wall-clock days instead of until trained (overrides twin.days)')
    .option('--threads <n>', 'worker threads (default: the cores available)')
    .option('--runner <url>', RUNNER_HELP)
    .option('--shard <i/n>', SHARD_HELP)
    .option('--out <file>', SHARD_OUT_HELP)
    .option('--json', 'print the outcome as JSON')
    .option('--report <file>', 'write a self-contained report: .html or .md')
    .option(
      '--mitigation',
      "also run the replicas without the spec's twin.mitigation policy on the same seeds: ETTR without and with, the gain by cause",
    )
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const replicas = replicasOption('--replicas', options.replicas);
      const seed = seedOption(options.seed);
      const threads = threadsOption(options.threads, output);
      const days = options.days === undefined ? undefined : daysOption(options.days);
      await checkReportPath(options.report);
      const progress = progressPort(output);
      const scale = await scaleOutOf(command, options, { split: ['twin'], output, progress });
      const spec = await loadSpecFile(file);
      const [
        { runSimulate },
        { renderSimulateHtml, renderSimulateMarkdown, renderSimulateText, simulateJson, simulateWarnings },
      ] = await Promise.all([import('../../app/simulate.js'), import('../../report/twin-report.js')]);
      const result = await withRunner(
        threads,
        (runner) =>
          runSimulate(
            {
              spec,
              replicas,
              seed,
              ...(days !== undefined && { days }),
              ...(options.mitigation && { mitigation: true }),
            },
            { runner, progress },
          ),
        undefined,
        scale,
      );
      if (!result.ok) throw specFailure(file, result.issues);
      const outcome = result.value;
      for (const line of simulateWarnings(outcome)) output.warn(line);
      if (options.report !== undefined) {
        await writeReport(options.report, {
          markdown: () => renderSimulateMarkdown(outcome),
          html: () => renderSimulateHtml(outcome),
        });
        output.info(`wrote ${options.report}`);
      }
      output.result(renderSimulateText(outcome), simulateJson(outcome));
    });
}
