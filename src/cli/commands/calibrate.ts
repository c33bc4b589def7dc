/**
 * `tokenworks calibrate <spec> <log…> --out site.json`: fits the site efficiency factor (modelled ÷ measured step
 * time) from observed runs of the spec, each log one run, into a file a spec references as
 * `system.calibration: site.json`. `--add FILE` fits these runs together with an earlier calibration's, so the
 * site's set grows run by run.
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import type { SiteCalibration } from '../../app/calibrate.js';
import { TokenworksError } from '../../errors.js';
import { checkWritable, loadSpecFile, readTextFile, writeUserFile } from '../../node/files.js';
import { createOutput, type OutputStreams, progressPort } from '../../node/output.js';
import { readStepFile } from '../../node/step-files.js';
import type { StepPoint } from '../../telemetry/megatron-ci.js';
import { specFailure } from '../failure.js';
import { threadsOption } from '../options.js';
import { withRunner } from '../runner.js';
import { MAX_LOG_FILES } from './observe.js';

/** Adds the `calibrate` command to `program`. */
export function registerCalibrate(program: Command, streams: OutputStreams): void {
  program
    .command('calibrate')
    .description('fit a site efficiency factor from observed runs, for system.calibration to reference')
    .argument('<spec>', 'the runs’ spec (or `tokenworks plan --json` output)')
    .argument('<logs...>', 'one training log or Megatron CI golden-values file per run')
    .requiredOption('--out <file>', 'calibration file to write (JSON)')
    .option('--add <file>', 'an earlier calibration whose runs are fitted together with these')
    .option('--threads <n>', 'worker threads (default: the cores available)')
    .option('--json', 'print the calibration as JSON')
    .action(async (file, logs, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      if (logs.length > MAX_LOG_FILES) {
        throw new TokenworksError('USAGE', `calibrate takes at most ${MAX_LOG_FILES} logs, got ${logs.length}`);
      }
      const threads = threadsOption(options.threads, output);
      await checkWritable(options.out, '--out');
      const spec = await loadSpecFile(file);
      const { parseSiteCalibration, runCalibrate } = await import('../../app/calibrate.js');
      let previous: SiteCalibration | undefined;
      if (options.add !== undefined) {
        const parsed = parseSiteCalibration(await readTextFile(options.add), '--add');
        if (!parsed.ok) throw specFailure(options.add, parsed.issues);
        previous = parsed.value;
      }
      const runs: { name: string; steps: StepPoint[] }[] = [];
      for (const log of logs) {
        const read = await readStepFile(log);
        if (read.malformedCount > 0) output.warn(`${log}: ${read.malformedCount} malformed step lines skipped`);
        runs.push({ name: log, steps: read.points });
      }
      const result = await withRunner(threads, (runner) =>
        runCalibrate(
          { spec, specName: file, runs, ...(previous && { previous }), createdAt: new Date().toISOString() },
          { runner, progress: progressPort(output) },
        ),
      );
      if (!result.ok) throw specFailure(file, result.issues);
      const calibration = result.value;
      await writeUserFile(options.out, `${JSON.stringify(calibration, null, 2)}\n`);
      for (const warning of calibration.warnings) output.warn(warning);
      const lines = [
        `site efficiency ${calibration.siteEfficiency.toFixed(4)} on ${calibration.accelerator} from ${calibration.runs.length} run${calibration.runs.length === 1 ? '' : 's'} (ratios ${calibration.spread.min.toFixed(3)}–${calibration.spread.max.toFixed(3)}, geometric SD ${calibration.spread.geometricSd.toFixed(3)})`,
        ...calibration.runs.map(
          (r) =>
            `  ${r.run}: predicted ${r.predictedStepSeconds.toPrecision(4)} s, measured ${r.observedStepSeconds.toPrecision(4)} s over ${r.steadySteps} steady steps`,
        ),
        `wrote ${options.out}: reference it from a spec as system.calibration`,
      ];
      output.result(lines.join('\n'), calibration);
    });
}
