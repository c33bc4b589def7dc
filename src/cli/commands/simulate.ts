/**
 * `tokenworks simulate <spec or design.json>`: the digital twin of the whole training run on the spec's design
 * (or the plan or design that `plan` would choose), over many seeded replicas across worker threads. Text,
 * JSON (`--json`) and a self-contained report (`--report out.html` or `out.md`).
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import { TokenworksError } from '../../errors.js';
import { checkWritable, loadSpecFile, writeUserFile } from '../../node/files.js';
import { createOutput, type Output, type OutputStreams } from '../../node/output.js';
import { createSearchPool } from '../../node/pool.js';
import { planLayout } from '../../report/format.js';
import {
  renderSimulateHtml,
  renderSimulateMarkdown,
  renderSimulateText,
  type SimulateOutcome,
  simulateJson,
} from '../../report/twin-report.js';
import type { SpecIssue } from '../../spec/issues.js';
import type { TwinInput } from '../../spec/twin.js';
import { TwinSchema } from '../../spec/twin.js';
import { twinDesign } from '../../twin/design.js';
import { type TwinDesign, twinConfig } from '../../twin/setup.js';
import { runStudy } from '../../twin/study.js';
import { daysOption, replicasOption, reportFormat, seedOption, threadsOption } from '../options.js';

/** Studies smaller than this run on the calling thread: starting workers costs more. */
const PARALLEL_REPLICAS = 8;

/** Runs a study of `design` and returns the outcome; issues of the twin settings become a spec error. */
export async function simulateDesign(
  design: TwinDesign,
  twin: TwinInput | undefined,
  options: { replicas: number; seed: number; threads: number; output: Output; file: string },
): Promise<SimulateOutcome> {
  const config = twinConfig(design, twin);
  if (!config.ok) throw specError(options.file, config.issues);
  const { replicas, seed, threads, output } = options;
  const progress = output.progress('replicas', replicas);
  let ticked = 0;
  const onProgress = (done: number) => {
    progress.tick(done - ticked);
    ticked = done;
  };
  let study: SimulateOutcome['study'];
  try {
    if (threads > 1 && replicas >= PARALLEL_REPLICAS) {
      const pool = createSearchPool(Math.min(threads, replicas));
      try {
        study = await pool.runStudy(config.value, { replicas, seed, onProgress });
      } finally {
        await pool.close();
      }
    } else {
      study = runStudy(config.value, { replicas, seed, onProgress });
    }
  } catch (error) {
    // The kernel's event budget is the backstop behind twinConfig's estimate; crossing it is a setting to change.
    const message = error instanceof Error ? error.message : String(error);
    if (!message.startsWith('event budget exceeded')) throw error;
    throw specError(options.file, [
      {
        code: 'too_big',
        path: 'twin',
        message: `${message}: lower the failure or straggler rates, or simulate fewer days`,
      },
    ]);
  }
  progress.done();
  return {
    title: `${design.name}: digital twin`,
    design: {
      gpus: design.system.gpuCount,
      accelerator: design.system.accelerator.name,
      layout: planLayout(design.plan),
      tokensPerSecond: design.estimate.tokensPerSecond,
      stepSeconds: design.estimate.step.seconds,
    },
    config: config.value,
    study,
  };
}

function specError(file: string, issues: readonly SpecIssue[]): TokenworksError {
  const count = issues.length;
  return new TokenworksError('SPEC_INVALID', `${file}: ${count} problem${count === 1 ? '' : 's'}`, {
    file,
    issues: [...issues],
  });
}

/** Writes the report named by `--report` (.html or .md). */
export async function writeSimulateReport(path: string, outcome: SimulateOutcome): Promise<void> {
  const markdown = reportFormat(path) === 'markdown';
  await writeUserFile(path, markdown ? renderSimulateMarkdown(outcome) : renderSimulateHtml(outcome));
}

/** Checks a `--report` path before any work: its extension, and that it can be written. */
export async function checkReportPath(report: string | undefined): Promise<void> {
  if (report === undefined) return;
  reportFormat(report);
  await checkWritable(report, '--report');
}

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
    .option('--json', 'print the outcome as JSON')
    .option('--report <file>', 'write a self-contained report: .html or .md')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const replicas = replicasOption('--replicas', options.replicas);
      const seed = seedOption(options.seed);
      const threads = threadsOption(options.threads, output);
      const days = options.days === undefined ? undefined : daysOption(options.days);
      await checkReportPath(options.report);
      const spec = await loadSpecFile(file);
      const design = twinDesign(spec);
      if (!design.ok) throw specError(file, design.issues);
      const twin = { ...(spec.twin ?? TwinSchema.parse({})), ...(days !== undefined && { days }) };
      const outcome = await simulateDesign(design.value, twin, { replicas, seed, threads, output, file });
      if (options.report !== undefined) {
        await writeSimulateReport(options.report, outcome);
        output.info(`wrote ${options.report}`);
      }
      output.result(renderSimulateText(outcome), simulateJson(outcome));
    });
}
