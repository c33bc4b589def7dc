/**
 * `tokenworks compare <scenario>`: the same workload at each job size on a dedicated factory and on a shared data
 * center of the same hardware; the breakpoint size from which the factory wins on time and cost. Text, JSON
 * (`--json`, with a top-level `breakpoint`) and a self-contained report (`--report out.html` or `out.md`). The tenants
 * come from the figures derived from the openb and Philly traces, or from the user's own traces (`--trace-pods`,
 * `--trace-runtimes`).
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import { EFFECT_NAMES, SWEEP_LIMITS } from '../../app/limits.js';
import { TokenworksError } from '../../errors.js';
import { loadSpecFile } from '../../node/files.js';
import { createOutput, type OutputStreams, progressPort } from '../../node/output.js';
import type { Effects } from '../../spec/compare.js';
import { specFailure } from '../failure.js';
import { integerOption, seedOption, threadsOption } from '../options.js';
import { checkReportPath, writeReport } from '../report-file.js';
import { withRunner } from '../runner.js';
import { RUNNER_HELP, SHARD_HELP, SHARD_OUT_HELP, scaleOutOf } from '../scale-out.js';

/** Parses `--sweep`: `64..16384` (doubling) or a list `64,256,1024`; at most {@link SWEEP_LIMITS.sizes} sizes. */
export function parseSweep(text: string): number[] {
  const range = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/.exec(text);
  let sizes: number[];
  if (range) {
    const from = Number(range[1]);
    const to = Number(range[2]);
    if (from < 1 || to < from || to > SWEEP_LIMITS.gpus) {
      throw new TokenworksError(
        'USAGE',
        `--sweep ${text}: the range must run upwards from 1 to at most ${SWEEP_LIMITS.gpus.toLocaleString('en-US')} GPUs, e.g. 64..16384`,
      );
    }
    sizes = [];
    for (let g = from; g <= to && sizes.length <= SWEEP_LIMITS.sizes; g *= 2) sizes.push(g);
  } else {
    sizes = text.split(',').map((part) => (part.trim() === '' ? Number.NaN : Number(part.trim())));
    if (sizes.some((g) => !Number.isInteger(g) || g < 1 || g > SWEEP_LIMITS.gpus)) {
      throw new TokenworksError(
        'USAGE',
        `--sweep must be a range like 64..16384 or a list like 64,256,1024 of GPU counts from 1 to ${SWEEP_LIMITS.gpus.toLocaleString('en-US')}, got "${text}"`,
      );
    }
    sizes = [...new Set(sizes)].sort((a, b) => a - b);
  }
  if (sizes.length > SWEEP_LIMITS.sizes) {
    throw new TokenworksError('USAGE', `--sweep ${text}: at most ${SWEEP_LIMITS.sizes} sizes, got ${sizes.length}`);
  }
  return sizes;
}

/** Parses `--without`: effects to switch off, from the names of the spec's `compare.effects`. */
export function parseWithout(text: string): (keyof Effects)[] {
  const names = text.split(',').map((part) => part.trim());
  const valid: readonly string[] = EFFECT_NAMES;
  const unknown = names.filter((name) => !valid.includes(name));
  if (unknown.length > 0) {
    throw new TokenworksError(
      'USAGE',
      `--without: unknown effect "${unknown.join('", "')}"; valid: ${valid.join(', ')}`,
    );
  }
  return names as (keyof Effects)[];
}

/** Adds the `compare` command to `program`. */
export function registerCompare(program: Command, streams: OutputStreams): void {
  program
    .command('compare')
    .description('dedicated factory versus shared data center: the job size from which the factory wins')
    .argument(
      '<scenario>',
      "spec with a workload, the system's accelerator and a compare section (plans are searched per size), e.g. examples/breakpoint.yaml",
    )
    .option('--sweep <sizes>', 'job sizes in GPUs: a doubling range 64..16384 or a list 64,256,1024')
    .option('--replicas <n>', 'twin replicas per side and size (overrides compare.replicas; default 5)')
    .option('--seed <s>', 'seed of the twin and the tenant load (overrides compare.seed; default 1)')
    .option(
      '--without <effects>',
      `switch effects off, comma-separated: ${EFFECT_NAMES.join(', ')} (or set compare.effects.<name>: false in the spec)`,
    )
    .option(
      '--trace-pods <file>',
      'tenant GPU requests from an openb-format pod list (num_gpu, gpu_milli, ...) instead of the openb histogram',
    )
    .option(
      '--trace-runtimes <file>',
      'tenant run times from a CSV with a "runtime" column of seconds (as Philly\'s) instead of the Philly table',
    )
    .option('--threads <n>', 'worker threads (default: the cores available)')
    .option('--runner <url>', RUNNER_HELP)
    .option('--shard <i/n>', SHARD_HELP)
    .option('--out <file>', SHARD_OUT_HELP)
    .option('--json', 'print the outcome as JSON')
    .option('--report <file>', 'write a self-contained report: .html or .md')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      await checkReportPath(options.report);
      const progress = progressPort(output);
      const scale = await scaleOutOf(command, options, { split: ['twin'], output, progress });
      const threads = threadsOption(options.threads, output);
      const sizes = options.sweep !== undefined ? parseSweep(options.sweep) : undefined;
      const replicas =
        options.replicas !== undefined ? integerOption('--replicas', options.replicas, 1, 1000) : undefined;
      const seed = options.seed !== undefined ? seedOption(options.seed) : undefined;
      const without = options.without !== undefined ? parseWithout(options.without) : [];
      const data = {
        ...(options.tracePods !== undefined && { pods: options.tracePods }),
        ...(options.traceRuntimes !== undefined && { runtimes: options.traceRuntimes }),
      };
      const spec = await loadSpecFile(file);
      const [{ runCompare, compareOutput }, { createNodeDataSource }, report] = await Promise.all([
        import('../../app/compare.js'),
        import('../../node/data-source.js'),
        import('../../report/compare-report.js'),
      ]);
      // The user's trace files are read here first, so that a bad file is a user error before any work starts.
      const source = createNodeDataSource();
      await source.compareData(data);
      const result = await withRunner(
        Math.min(threads, sizes?.length ?? threads),
        (runner) =>
          runCompare(
            {
              spec,
              ...(sizes && { sizes }),
              ...(replicas !== undefined && { replicas }),
              ...(seed !== undefined && { seed }),
              without,
              data,
            },
            { runner, progress },
          ),
        source,
        scale,
      );
      if (!result.ok) throw specFailure(file, result.issues, `${file}: no job size could be compared`);
      const outcome = result.value;
      if (options.report !== undefined) {
        await writeReport(options.report, {
          markdown: () => report.renderCompareMarkdown(outcome),
          html: () => report.renderCompareHtml(outcome),
        });
        output.info(`wrote ${options.report}`);
      }
      output.result(report.renderCompareText(outcome), compareOutput(outcome));
    });
}
