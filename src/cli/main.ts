/**
 * The `tokenworks` command line: builds the commander program, runs it and maps every failure to an exit code.
 * `runCli` takes its streams as arguments so tests run commands in-process.
 * @module
 */
import { Command } from '@commander-js/extra-typings';
import { EXIT_CODES } from '../errors.js';
import { createOutput, type OutputStreams } from '../node/output.js';
import { VERSION } from '../version.js';
import { registerCalibrate } from './commands/calibrate.js';
import { registerCatalog } from './commands/catalog.js';
import { registerCheck } from './commands/check.js';
import { registerCompare } from './commands/compare.js';
import { registerDetectEval } from './commands/detect-eval.js';
import { registerEmulate } from './commands/emulate.js';
import { registerEstimate } from './commands/estimate.js';
import { registerK8sJob } from './commands/k8s-job.js';
import { registerMerge } from './commands/merge.js';
import { registerObserve } from './commands/observe.js';
import { registerPlan } from './commands/plan.js';
import { registerRules } from './commands/rules.js';
import { registerServe } from './commands/serve.js';
import { registerSimulate } from './commands/simulate.js';
import { registerValidate } from './commands/validate.js';
import { registerWorker } from './commands/worker.js';
import { reportError } from './errors.js';

/** Options every command accepts. */
export interface GlobalOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly debug?: boolean;
}

/** Builds the program; commands write through `streams`. */
export function buildProgram(streams: OutputStreams): Command {
  const program = new Command()
    .name('tokenworks')
    .description('Plan, estimate and simulate AI factories: GPU clusters whose output is trained tokens.')
    .version(VERSION)
    .option('--debug', 'print stack traces of internal errors')
    .option('-q, --quiet', 'print results only, no messages')
    .showHelpAfterError('(run tokenworks --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => streams.stdout.write(text),
      writeErr: (text) => streams.stderr.write(text),
    });
  registerCalibrate(program, streams);
  registerCatalog(program, streams);
  registerCheck(program, streams);
  registerCompare(program, streams);
  registerDetectEval(program, streams);
  registerEmulate(program, streams);
  registerEstimate(program, streams);
  registerK8sJob(program, streams);
  registerMerge(program, streams, runCli);
  registerObserve(program, streams);
  registerPlan(program, streams);
  registerRules(program, streams);
  registerServe(program, streams);
  registerSimulate(program, streams);
  registerValidate(program, streams);
  registerWorker(program, streams);
  return program;
}

/** Runs the CLI on `argv` (without the node and script paths) and returns the exit code. */
export async function runCli(argv: readonly string[], streams: OutputStreams): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    await buildProgram(streams).parseAsync([...argv], { from: 'user' });
    return EXIT_CODES.ok;
  } catch (error) {
    const output = createOutput(streams, { json: false });
    return reportError(error, output, debug);
  }
}

/**
 * The process entry (`bin/tokenworks.js`): runs the CLI on the process's arguments and streams and sets the exit
 * code. A reader that stops early (`tokenworks plan --json | head -c 10`) closes the pipe: the command then ends
 * quietly, as Unix tools do, instead of dying on an unhandled EPIPE.
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(EXIT_CODES.ok);
      throw error;
    });
  }
  process.exitCode = await runCli(argv, { stdout: process.stdout, stderr: process.stderr });
}
