/**
 * `tokenworks plan <spec>`: with a system in the spec, search every plan on it and design its factory (the
 * constraints it misses are warnings, errors with `--strict`); without one, search accelerators and cluster sizes
 * under the spec's constraints and recommend a factory. Text, JSON (`--json`, which carries the chosen design as a
 * spec document under `spec`) and a self-contained report (`--report out.html` or `out.md`); `--simulate` runs
 * the digital twin on the chosen design.
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import { TokenworksError } from '../../errors.js';
import { loadSpecFile } from '../../node/files.js';
import { createOutput, type OutputStreams, progressPort } from '../../node/output.js';
import type { MatmulPrecision } from '../../perf/compute-rates.js';
import { specFailure } from '../failure.js';
import { integerOption, MAX_TOP, replicasOption, seedOption, threadsOption } from '../options.js';
import { checkReportPath, writeReport } from '../report-file.js';
import { withRunner } from '../runner.js';
import { RUNNER_HELP, SHARD_HELP, SHARD_OUT_HELP, scaleOutOf } from '../scale-out.js';

/** Adds the `plan` command to `program`. */
export function registerPlan(program: Command, streams: OutputStreams): void {
  program
    .command('plan')
    .description('search plans (and, without a system, accelerators and sizes) and design the factory')
    .argument('<spec>', 'spec file, e.g. examples/llama3-70b.yaml')
    .option('--top <n>', 'how many plans to list', '10')
    .option('--json', 'print the outcome as JSON')
    .option('--report <file>', 'write a self-contained report: .html or .md')
    .option('--threads <n>', 'worker threads for large searches (default: the cores available)')
    .option('--runner <url>', RUNNER_HELP)
    .option('--shard <i/n>', SHARD_HELP)
    .option('--out <file>', SHARD_OUT_HELP)
    .option('--precisions <list>', 'matmul precisions to try, e.g. bf16,fp8 (default: the workload precision)')
    .option('--simulate [replicas]', 'run the digital twin on the chosen design (default 100 replicas)')
    .option('--seed <s>', 'seed of the twin with --simulate', '1')
    .option('--strict', 'exit 2 when the plan misses a constraint of the spec (deadline, power, budget, GPUs)')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const top = integerOption('--top', options.top, 1, MAX_TOP);
      const report = options.report;
      await checkReportPath(report);
      const threads = threadsOption(options.threads, output);
      const precisions = parsePrecisions(options.precisions);
      const simulate =
        options.simulate === undefined ? undefined : options.simulate === true ? '100' : options.simulate;
      const replicas = simulate === undefined ? 0 : replicasOption('--simulate', simulate);
      const seed = seedOption(options.seed);
      const progress = progressPort(output);
      // With --simulate the twin replicas are the last wave (the search feeds them); without, the search is.
      const split = replicas > 0 ? (['twin'] as const) : (['plans', 'design'] as const);
      const scale = await scaleOutOf(command, options, { split, output, progress });
      const spec = await loadSpecFile(file);
      const [{ runPlan }, { simulateDesign }, { renderPlanHtml, renderPlanMarkdown, renderPlanText }, twinReport] =
        await Promise.all([
          import('../../app/plan.js'),
          import('../../app/simulate.js'),
          import('../../report/plan-report.js'),
          import('../../report/twin-report.js'),
        ]);
      const { renderSimulateText, simulateJson } = twinReport;
      const { planned, simulation } = await withRunner(
        threads,
        async (runner) => {
          const ports = { runner, progress };
          const planned = await runPlan({ spec, top, ...(precisions && { precisions }) }, ports);
          const design = planned.ok ? planned.value.design : undefined;
          const simulation =
            replicas > 0 && design ? await simulateDesign(design, spec.twin, { replicas, seed }, ports) : undefined;
          return { planned, simulation };
        },
        undefined,
        scale,
      );
      if (!planned.ok) throw specFailure(file, planned.issues);
      if (simulation && !simulation.ok) throw specFailure(file, simulation.issues);
      const { outcome } = planned.value;
      if (report !== undefined) {
        await writeReport(report, { markdown: () => renderPlanMarkdown(outcome), html: () => renderPlanHtml(outcome) });
        output.info(`wrote ${report}`);
      }
      if (simulation?.ok) {
        output.result(`${renderPlanText(outcome)}\n\n${renderSimulateText(simulation.value)}`, {
          ...outcome,
          simulation: simulateJson(simulation.value),
        });
      } else {
        output.result(renderPlanText(outcome), outcome);
      }
      if (!outcome.chosen) {
        const path = outcome.mode === 'plans' ? 'system' : 'constraints';
        throw new TokenworksError('NO_RESULT', `${file}: no plan or design found`, {
          file,
          issues: outcome.binding.map((message) => ({ code: 'constraint', path, message })),
        });
      }
      if (outcome.mode === 'plans' && outcome.binding.length > 0) {
        // With a system there is no design to choose: the plan is given, and the constraints it misses are a verdict.
        const issues = outcome.binding.map((message) => ({ code: 'constraint', path: 'constraints', message }));
        if (options.strict) {
          throw new TokenworksError('NO_RESULT', `${file}: the plan misses the spec's constraints`, { file, issues });
        }
        for (const issue of issues)
          output.warn(`${file}: constraints: ${issue.message} (--strict makes this an error)`);
      }
    });
}

const PRECISIONS = ['bf16', 'fp8', 'fp4'] as const;

/** Parses `--precisions`: a comma-separated list of bf16, fp8, fp4. */
function parsePrecisions(list: string | undefined): MatmulPrecision[] | undefined {
  if (list === undefined) return undefined;
  const values = list.split(',').map((value) => value.trim().toLowerCase());
  const unknown = values.filter((value) => !(PRECISIONS as readonly string[]).includes(value));
  if (unknown.length > 0 || values.length === 0) {
    throw new TokenworksError(
      'USAGE',
      `--precisions: unknown "${unknown.join(', ')}"; valid: ${PRECISIONS.join(', ')}`,
    );
  }
  return values as MatmulPrecision[];
}
