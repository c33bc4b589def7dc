/**
 * `tokenworks rules <spec or plan.json>`: Prometheus recording and alerting rules for the spec's design (tokens/s
 * under plan, the per-GPU straggler score, XID bursts, GPU power against the plan), as YAML on stdout or in a file
 * (`--out`, written atomically); `--json` prints the outcome with the rules as data (docs/act.md).
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import { TokenworksError } from '../../errors.js';
import { checkWritable, loadSpecFile, writeUserFile } from '../../node/files.js';
import { createOutput, type OutputStreams, progressPort } from '../../node/output.js';
import { specFailure } from '../failure.js';
import { threadsOption } from '../options.js';
import { withRunner } from '../runner.js';

/** Adds the `rules` command to `program`. */
export function registerRules(program: Command, streams: OutputStreams): void {
  program
    .command('rules')
    .description('write Prometheus alerting and recording rules for the plan: tokens/s, stragglers, XID bursts, power')
    .argument('<spec>', 'spec file, or the JSON output of `tokenworks plan --json`; e.g. examples/llama3-70b.yaml')
    .option('--out <file>', 'write the rules to this file (YAML) instead of stdout')
    .option(
      '--tokens-metric <selector>',
      'the training job’s trained-token counter (name ending _total) or tokens/s gauge, with optional matchers',
    )
    .option('--match <selector>', 'label matchers of the job’s dcgm-exporter series, e.g. {job="dcgm"}')
    .option('--fleet', 'also per-host 1-minute recording rules of the GPU KPI fields, for fleet-scale reads')
    .option('--threads <n>', 'worker threads for a plan search (default: the cores available)')
    .option('--json', 'print the outcome as JSON: the plan’s thresholds, the metrics expected and the rules')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const threads = threadsOption(options.threads, output);
      const { rulesSettingsIssues, rulesYaml, runRules } = await import('../../app/rules.js');
      const settings = {
        ...(options.tokensMetric !== undefined && { tokensMetric: options.tokensMetric }),
        ...(options.match !== undefined && { match: options.match }),
        ...(options.fleet === true && { fleet: true }),
      };
      const problems = rulesSettingsIssues(settings);
      if (problems.length > 0) {
        throw new TokenworksError(
          'USAGE',
          problems.map((issue) => `${issue.message}, got ${JSON.stringify(issue.value)}`).join('; '),
        );
      }
      if (options.out !== undefined) await checkWritable(options.out, '--out');
      const spec = await loadSpecFile(file);
      const result = await withRunner(threads, (runner) =>
        runRules({ spec, file, ...settings }, { runner, progress: progressPort(output) }),
      );
      if (!result.ok) throw specFailure(file, result.issues);
      const outcome = result.value;
      for (const note of outcome.notes) output.warn(note);
      const yaml = rulesYaml(outcome, file);
      if (options.out !== undefined) {
        await writeUserFile(options.out, yaml);
        output.info(`wrote ${options.out}: ${outcome.document.groups.length} rule groups`);
        if (output.json) output.result('', outcome);
        return;
      }
      output.result(yaml, outcome);
    });
}
