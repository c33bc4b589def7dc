/**
 * `tokenworks detect-eval <spec> --noise FILE… [--faults FILE] [--replicas N]`: the detectors' precision, recall and
 * detection latency per fault type over labelled emulated runs of the spec's job (its step time from the model),
 * with step-time noise resampled from real iteration-time series (Megatron CI golden files or training logs).
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import type { DetectEvalResult, FaultsFile } from '../../app/detect-eval.js';
import { TokenworksError } from '../../errors.js';
import { loadSpecFile, readDocumentFile } from '../../node/files.js';
import { createOutput, type OutputStreams, progressPort } from '../../node/output.js';
import { readStepFile } from '../../node/step-files.js';
import { specFailure } from '../failure.js';
import { withRunner } from '../runner.js';
import { RUNNER_HELP, SHARD_HELP, SHARD_OUT_HELP, scaleOutOf } from '../scale-out.js';

/** Most noise files. */
const MAX_NOISE_FILES = 64;
/** Most replicas (runs per size). */
const MAX_REPLICAS = 1000;

const percent = (x: number) => `${(x * 100).toFixed(1)} %`;

/** The table `detect-eval` prints. */
function table(result: DetectEvalResult & { design: string }): string {
  const s = result.stragglers;
  const lines = [
    `detectors on labelled emulated runs of ${result.design} (step ${result.settings.stepSeconds.toPrecision(3)} s; noise from ${result.settings.noise.length} series)`,
    '',
    'fault type        GPUs    faults  found  detections  precision  recall   latency P50 / P90',
    ...s.bySize.map(
      (x) =>
        `straggler ≥10 %  ${String(x.ranks).padStart(6)}  ${String(x.faults).padStart(6)}  ${String(x.found).padStart(5)}  ${String(x.detections).padStart(10)}  ${percent(x.precision).padStart(9)}  ${percent(x.recall).padStart(7)}  ${x.latencyP50.toFixed(0).padStart(5)} s / ${x.latencyP90.toFixed(0)} s`,
    ),
    `straggler, all           ${String(s.all.faults).padStart(6)}  ${String(s.all.found).padStart(5)}  ${String(s.all.detections).padStart(10)}  ${percent(s.all.precision).padStart(9)}  ${percent(s.all.recall).padStart(7)}  ${s.all.latencyP50.toFixed(0).padStart(5)} s / ${s.all.latencyP90.toFixed(0)} s   (found: within ${result.settings.latencySeconds} s)`,
    `fail-slow ×1.2–2         ${String(result.failSlow.faults).padStart(6)}  ${String(result.failSlow.found).padStart(5)}  ${String(result.failSlow.detections).padStart(10)}  ${percent(result.failSlow.precision).padStart(9)}  ${percent(result.failSlow.recall).padStart(7)}  ${result.failSlow.latencyP50.toFixed(0).padStart(5)} it / ${result.failSlow.latencyP90.toFixed(0)} it (found: change point within ${result.settings.changeIterations} iterations)`,
    `failure prediction       ${String(result.failureRisk.faults).padStart(6)}  ${String(result.failureRisk.found).padStart(5)}  ${String(result.failureRisk.detections).padStart(10)}  ${percent(result.failureRisk.precision).padStart(9)}  ${percent(result.failureRisk.recall).padStart(7)}  ${(result.failureRisk.latencyP50 / 3600).toFixed(1).padStart(5)} h / ${(result.failureRisk.latencyP90 / 3600).toFixed(1)} h lead (found: flagged 5 min to 24 h before; ${result.failureRisk.withPrecursor} of the failures had an error burst before them)`,
    '',
    `failure prediction against ByteDance's predictor (precision ${percent(result.failureRisk.precisionAnchor)}, SYSTOR'23): ${percent(result.failureRisk.precision)} here at ${(result.failureRisk.falseAlarmsPerHostDay * 1000).toFixed(2)} false alarms per 1,000 host-days; its recall is bounded by the share of failures that warn (${percent(result.failureRisk.withPrecursor / Math.max(1, result.failureRisk.faults))} in these runs, an assumption: docs/operate.md)`,
  ];
  return lines.join('\n');
}

/** Adds the `detect-eval` command to `program`. */
export function registerDetectEval(program: Command, streams: OutputStreams): void {
  program
    .command('detect-eval')
    .description('measure the detectors: precision, recall and latency per fault type on labelled emulated runs')
    .argument('<spec>', 'the job’s spec (or `tokenworks plan --json` output): its step time sets the runs’ pace')
    .requiredOption(
      '--noise <files...>',
      'iteration-time series the noise is resampled from (Megatron CI golden files or training logs)',
    )
    .option(
      '--faults <file>',
      'YAML/JSON settings of the injected faults (stragglers: slowdown, perRun, sizes, runSeconds; failSlow: runs, iterations; failures: runs, hosts, days, precursorShare)',
    )
    .option('--replicas <n>', 'labelled runs per job size', '10')
    .option('--seed <n>', 'random seed', '1')
    .option('--runner <url>', RUNNER_HELP)
    .option('--shard <i/n>', SHARD_HELP)
    .option('--out <file>', SHARD_OUT_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const progress = progressPort(output);
      // The design search (a spec without a system) is what fans out; the labelled runs stay on this thread.
      const scale = await scaleOutOf(command, options, { split: ['plans', 'design'], output, progress });
      const replicas = Number(options.replicas);
      if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
        throw new TokenworksError(
          'USAGE',
          `--replicas ${options.replicas}: give a whole number from 1 to ${MAX_REPLICAS}`,
        );
      }
      const seed = Number(options.seed);
      if (!Number.isSafeInteger(seed))
        throw new TokenworksError('USAGE', `--seed ${options.seed}: give a whole number`);
      if (options.noise.length > MAX_NOISE_FILES) {
        throw new TokenworksError(
          'USAGE',
          `--noise takes at most ${MAX_NOISE_FILES} files, got ${options.noise.length}`,
        );
      }
      const spec = await loadSpecFile(file);
      const { parseFaultsFile, runDetectEval } = await import('../../app/detect-eval.js');
      let faults: FaultsFile | undefined;
      if (options.faults !== undefined) {
        const read = await readDocumentFile(options.faults);
        const parsed = read.ok ? parseFaultsFile(read.value, options.faults) : read;
        if (!parsed.ok) throw specFailure(options.faults, parsed.issues);
        faults = parsed.value;
      }
      const noise: { source: string; seconds: number[] }[] = [];
      for (const path of options.noise) {
        const read = await readStepFile(path);
        noise.push({ source: path, seconds: read.points.map((p) => p.iterationSeconds ?? Number.NaN) });
      }
      const result = await withRunner(
        1,
        (runner) => runDetectEval({ spec, noise, replicas, seed, ...(faults && { faults }) }, { runner, progress }),
        undefined,
        scale,
      );
      if (!result.ok) throw specFailure(file, result.issues);
      output.result(table(result.value), result.value);
    });
}
