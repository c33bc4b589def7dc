/**
 * `tokenworks observe <spec> --log FILE…`: an observed training run read against the design its spec describes:
 * its KPIs, plan versus actual with the likely cause of every figure outside its band, badput by cause and the
 * estimate's step beside it. Text, JSON (`--json`) and a report (`--report out.html` or `.md`).
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import { TokenworksError } from '../../errors.js';
import { loadSpecFile } from '../../node/files.js';
import { createOutput, type OutputStreams, progressPort } from '../../node/output.js';
import { type MalformedAt, readStepFile } from '../../node/step-files.js';
import type { StepPoint } from '../../telemetry/megatron-ci.js';
import { specFailure } from '../failure.js';
import { replicasOption, seedOption, threadsOption } from '../options.js';
import { checkReportPath, writeReport } from '../report-file.js';
import { withRunner } from '../runner.js';

/** Most files one `--log` list takes. */
export const MAX_LOG_FILES = 1000;

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Parses `--window FROM:TO` (iterations, both inclusive; either side may be empty). */
export function windowOption(text: string): { fromStep?: number; toStep?: number } {
  const match = /^\s*(\d*)\s*:\s*(\d*)\s*$/.exec(text);
  const from = match?.[1] ? Number(match[1]) : undefined;
  const to = match?.[2] ? Number(match[2]) : undefined;
  if (!match || (from === undefined && to === undefined) || (from !== undefined && to !== undefined && from > to)) {
    throw new TokenworksError(
      'USAGE',
      `--window must be FROM:TO in iterations (e.g. 1000:5000, or 1000: for the rest), got "${text}"`,
    );
  }
  return { ...(from !== undefined && { fromStep: from }), ...(to !== undefined && { toStep: to }) };
}

/** Adds the `observe` command to `program`. */
export function registerObserve(program: Command, streams: OutputStreams): void {
  program
    .command('observe')
    .description('read a training run against its plan: KPIs, plan versus actual, badput by cause')
    .argument('<spec>', 'the run’s spec, or the JSON output of `tokenworks plan --json`')
    .option(
      '--log <file>',
      'a training log or Megatron CI golden-values file (repeat for job segments, in order)',
      collect,
    )
    .option('--window <from:to>', 'also report the KPIs of these iterations')
    .option('--replicas <n>', 'replicas of the twin band (ETTR, goodput, restarts)', '100')
    .option('--seed <s>', 'seed of the twin band', '1')
    .option('--threads <n>', 'worker threads (default: the cores available)')
    .option('--json', 'print the outcome as JSON')
    .option('--report <file>', 'write a self-contained report: .html or .md')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const logs = options.log ?? [];
      if (logs.length === 0) {
        throw new TokenworksError('USAGE', 'observe needs at least one --log FILE (a training log or golden values)');
      }
      if (logs.length > MAX_LOG_FILES) {
        throw new TokenworksError('USAGE', `--log takes at most ${MAX_LOG_FILES} files, got ${logs.length}`);
      }
      const replicas = options.replicas === '0' ? 0 : replicasOption('--replicas', options.replicas);
      const seed = seedOption(options.seed);
      const threads = threadsOption(options.threads, output);
      const window = options.window === undefined ? undefined : windowOption(options.window);
      await checkReportPath(options.report);
      const spec = await loadSpecFile(file);
      const steps: StepPoint[] = [];
      const malformed: MalformedAt[] = [];
      let malformedCount = 0;
      let ignored = 0;
      for (const log of logs) {
        const read = await readStepFile(log);
        for (const p of read.points) steps.push(p);
        malformed.push(...read.malformed);
        malformedCount += read.malformedCount;
        ignored += read.ignored;
      }
      if (malformedCount > 0) {
        const first = malformed
          .slice(0, 3)
          .map((m) => `${m.file}:${m.line}: ${m.reason}`)
          .join('; ');
        output.warn(`${malformedCount} malformed step line${malformedCount === 1 ? '' : 's'} skipped (${first})`);
      }
      const [{ runObserve }, report] = await Promise.all([
        import('../../app/observe.js'),
        import('../../report/observe-report.js'),
      ]);
      const result = await withRunner(threads, (runner) =>
        runObserve(
          { spec, steps, replicas, seed, ...(window && { window }) },
          { runner, progress: progressPort(output) },
        ),
      );
      if (!result.ok) throw specFailure(file, result.issues);
      const outcome = result.value;
      if (options.report !== undefined) {
        await writeReport(options.report, {
          markdown: () => report.renderObserveMarkdown(outcome),
          html: () => report.renderObserveHtml(outcome),
        });
        output.info(`wrote ${options.report}`);
      }
      const inputs = { logs, malformedLines: malformedCount, malformed: malformed.slice(0, 20), ignoredLines: ignored };
      output.result(report.renderObserveText(outcome), { ...(report.observeJson(outcome) as object), inputs });
    });
}
