/**
 * `tokenworks simulate <spec or design.json>`: the digital twin of the whole training run on the spec's design
 * (or the plan or design that `plan` would choose), over many seeded replicas across worker threads. Text,
 * JSON (`--json`) and a self-contained report (`--report out.html` or `out.md`).
 * @module
 */
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { TokenworksError } from '../../errors.js';
import { loadSpecFile, writeFileAtomic } from '../../node/files.js';
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

/** Studies smaller than this run on the calling thread: starting workers costs more. */
const PARALLEL_REPLICAS = 8;

/** Parses a positive integer option or fails with a usage error naming it. */
export function positiveIntegerOption(name: string, text: string, allowZero = false): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new TokenworksError(
      'USAGE',
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got "${text}"`,
    );
  }
  return value;
}

/** Parses a seed: an integer in [−2^31, 2^31 − 1], the range the random streams take without aliasing. */
export function seedOption(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < -(2 ** 31) || value > 2 ** 31 - 1) {
    throw new TokenworksError('USAGE', `--seed must be an integer from -2147483648 to 2147483647, got "${text}"`);
  }
  return value;
}

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
  if (threads > 1 && replicas >= PARALLEL_REPLICAS) {
    const pool = createSearchPool(threads);
    try {
      study = await pool.runStudy(config.value, { replicas, seed, onProgress });
    } finally {
      await pool.close();
    }
  } else {
    study = runStudy(config.value, { replicas, seed, onProgress });
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
  const markdown = extname(path).toLowerCase() === '.md';
  await writeFileAtomic(path, markdown ? renderSimulateMarkdown(outcome) : renderSimulateHtml(outcome));
}

/** Checks a `--report` path's extension. */
export function checkReportPath(report: string | undefined): void {
  if (report !== undefined && !['.html', '.htm', '.md'].includes(extname(report).toLowerCase())) {
    throw new TokenworksError('USAGE', `--report must end in .html or .md, got "${report}"`);
  }
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
      const replicas = positiveIntegerOption('--replicas', options.replicas);
      const seed = seedOption(options.seed);
      const threads =
        options.threads === undefined ? availableParallelism() : positiveIntegerOption('--threads', options.threads);
      checkReportPath(options.report);
      let days: number | undefined;
      if (options.days !== undefined) {
        days = Number(options.days);
        if (!(days > 0 && Number.isFinite(days))) {
          throw new TokenworksError('USAGE', `--days must be a positive number of days, got "${options.days}"`);
        }
      }
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
