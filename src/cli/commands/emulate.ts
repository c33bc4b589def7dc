/**
 * `tokenworks emulate <spec> --days D --out DIR`: writes what a real run of the spec's design would emit, from one
 * seeded twin replica: `training.log` (Megatron-LM `training_log` lines), `events.jsonl` (the ground truth) and
 * `truth.json` (the twin's ETTR, goodput, interruptions and badput by cause) and `dcgm/host-NNNN.prom` (one
 * dcgm-exporter scrape file per host: power, SM clock, temperature, utilisation per GPU). Step-time noise is resampled from a
 * Megatron CI iteration-time series: `--noise FILE`, or by default the shared series beside the checkout when it
 * is there (the package ships no third-party data; without a series there is no noise, and the command says so).
 * `--faults FILE` (YAML or JSON) injects slow hosts, thermal throttling, flapping links and error bursts, listed in
 * the ground truth (docs/operate.md § Fault injection; examples/faults/emulate-faults.yaml).
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import type { EmulateFaultsFile } from '../../app/emulate.js';
import { checkWritable, loadSpecFile, readDocumentFile, readTextFile, writeUserFile } from '../../node/files.js';
import { createOutput, type OutputStreams, progressPort } from '../../node/output.js';
import { specFailure } from '../failure.js';
import { daysOption, integerOption, seedOption, threadsOption } from '../options.js';
import { withRunner } from '../runner.js';

/** Most iterations per log line `--log-interval` takes. */
export const MAX_LOG_INTERVAL = 1_000_000;

/** Adds the `emulate` command to `program`. */
export function registerEmulate(program: Command, streams: OutputStreams): void {
  program
    .command('emulate')
    .description('write the telemetry a real run would emit (Megatron log, ground-truth events, truth.json)')
    .argument('<spec>', 'spec file; e.g. examples/llama3-8b.yaml')
    .requiredOption('--out <dir>', 'folder to write into (created when missing)')
    .option('--days <d>', 'emulate this many wall-clock days (overrides twin.days)')
    .option('--seed <s>', 'seed of the twin replica and the noise: the same seed gives the same bytes', '1')
    .option(
      '--noise <file>',
      'iteration times to resample (a Megatron CI golden-values file or a training log); without it, no noise',
    )
    .option('--log-interval <n>', 'iterations per log line (Megatron --log-interval)', '1')
    .option(
      '--faults <file>',
      'YAML/JSON list of faults to inject (slow-host, thermal, flapping-link, error-burst), listed in the ground truth',
    )
    .option('--json', 'print truth.json and the files written as JSON')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const seed = seedOption(options.seed);
      const days = options.days === undefined ? undefined : daysOption(options.days);
      const logInterval = integerOption('--log-interval', options.logInterval, 1, MAX_LOG_INTERVAL);
      await mkdir(options.out, { recursive: true }).catch(() => undefined);
      await checkWritable(join(options.out, 'truth.json'), '--out');
      const spec = await loadSpecFile(file);
      let noise: { name: string; text: string } | undefined;
      if (options.noise !== undefined) noise = { name: options.noise, text: await readTextFile(options.noise) };
      else {
        output.info(
          'no --noise file: every iteration takes the nominal step time (give a Megatron CI golden-values file or a training log to resample real step-time noise)',
        );
      }
      const { parseEmulateFaults, runEmulate } = await import('../../app/emulate.js');
      let faults: EmulateFaultsFile | undefined;
      if (options.faults !== undefined) {
        const read = await readDocumentFile(options.faults);
        const parsed = read.ok ? parseEmulateFaults(read.value) : read;
        if (!parsed.ok) throw specFailure(options.faults, parsed.issues);
        faults = parsed.value;
      }
      const result = await withRunner(threadsOption(undefined, output), (runner) =>
        runEmulate(
          {
            spec,
            seed,
            logInterval,
            ...(days !== undefined && { days }),
            ...(noise && { noise }),
            ...(faults && { faults }),
          },
          { runner, progress: progressPort(output) },
        ),
      );
      if (!result.ok) {
        // Faults out of the design's range are the faults file's problems.
        const ofFaults = options.faults !== undefined && result.issues.every((i) => i.path.startsWith('faults'));
        throw specFailure(ofFaults ? (options.faults as string) : file, result.issues);
      }
      const outcome = result.value;
      for (const note of outcome.notes) output.info(note);
      const written: string[] = [];
      for (const emitted of outcome.files) {
        const path = join(options.out, emitted.name);
        await mkdir(dirname(path), { recursive: true }).catch(() => undefined);
        await writeUserFile(path, emitted.text);
        written.push(path);
      }
      const { truth } = outcome;
      const text = [
        outcome.title,
        ...written.filter((path) => !path.endsWith('.prom')).map((path) => `wrote ${path}`),
        `wrote ${written.filter((path) => path.endsWith('.prom')).length} dcgm-exporter scrape files in ${join(options.out, 'dcgm')}`,
        `ETTR ${truth.ettr.toFixed(4)}, goodput ${truth.goodput.toFixed(4)}, ${truth.unexpectedInterruptions} unexpected interruptions (${truth.rewinds} rewinds in the log), ${truth.plannedInterruptions} planned`,
        `${truth.lines} log lines, ${truth.iterations} iterations at log interval ${truth.logInterval}`,
      ].join('\n');
      output.result(text, { files: written, truth, notes: outcome.notes });
    });
}
