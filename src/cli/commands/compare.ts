/**
 * `tokenworks compare <scenario>`: the same workload at each job size on a dedicated factory and on a shared data
 * center of the same hardware; the breakpoint size from which the factory wins on time and cost. Text, JSON
 * (`--json`, with a top-level `breakpoint`) and a self-contained report (`--report out.html` or `out.md`). The tenants
 * come from the figures derived from the openb and Philly traces, or from the user's own traces (`--trace-pods`,
 * `--trace-runtimes`).
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import {
  type ComparePoint,
  type CompareResult,
  comparePoint,
  DEFAULT_SIZES,
  findBreakpoint,
} from '../../breakpoint/compare.js';
import { TokenworksError } from '../../errors.js';
import { loadCompareData } from '../../node/compare-data.js';
import { loadSpecFile, writeUserFile } from '../../node/files.js';
import { createOutput, type OutputStreams } from '../../node/output.js';
import { createSearchPool } from '../../node/pool.js';
import {
  type CompareOutcome,
  renderCompareHtml,
  renderCompareMarkdown,
  renderCompareText,
} from '../../report/compare-report.js';
import { LIMITS } from '../../spec/common.js';
import { CompareSchema, type Effects, EffectsSchema, MAX_SIZES } from '../../spec/compare.js';
import { resolveFacility } from '../../spec/resolve.js';
import { integerOption, reportFormat, seedOption, threadsOption } from '../options.js';
import { checkReportPath } from './simulate.js';

/** Parses `--sweep`: `64..16384` (doubling) or a list `64,256,1024`; at most {@link MAX_SIZES} sizes. */
export function parseSweep(text: string): number[] {
  const range = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/.exec(text);
  let sizes: number[];
  if (range) {
    const from = Number(range[1]);
    const to = Number(range[2]);
    if (from < 1 || to < from || to > LIMITS.gpus) {
      throw new TokenworksError(
        'USAGE',
        `--sweep ${text}: the range must run upwards from 1 to at most ${LIMITS.gpus.toLocaleString('en-US')} GPUs, e.g. 64..16384`,
      );
    }
    sizes = [];
    for (let g = from; g <= to && sizes.length <= MAX_SIZES; g *= 2) sizes.push(g);
  } else {
    sizes = text.split(',').map((part) => (part.trim() === '' ? Number.NaN : Number(part.trim())));
    if (sizes.some((g) => !Number.isInteger(g) || g < 1 || g > LIMITS.gpus)) {
      throw new TokenworksError(
        'USAGE',
        `--sweep must be a range like 64..16384 or a list like 64,256,1024 of GPU counts from 1 to ${LIMITS.gpus.toLocaleString('en-US')}, got "${text}"`,
      );
    }
    sizes = [...new Set(sizes)].sort((a, b) => a - b);
  }
  if (sizes.length > MAX_SIZES) {
    throw new TokenworksError('USAGE', `--sweep ${text}: at most ${MAX_SIZES} sizes, got ${sizes.length}`);
  }
  return sizes;
}

/** Parses `--without`: effects to switch off, from the names of the spec's `compare.effects`. */
export function parseWithout(text: string): (keyof Effects)[] {
  const names = text.split(',').map((part) => part.trim());
  const valid = Object.keys(EffectsSchema.shape);
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
      `switch effects off, comma-separated: ${Object.keys(EffectsSchema.shape).join(', ')} (or set compare.effects.<name>: false in the spec)`,
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
    .option('--json', 'print the outcome as JSON')
    .option('--report <file>', 'write a self-contained report: .html or .md')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      await checkReportPath(options.report);
      const threads = threadsOption(options.threads, output);
      const sweep = options.sweep !== undefined ? parseSweep(options.sweep) : undefined;
      const replicas =
        options.replicas !== undefined ? integerOption('--replicas', options.replicas, 1, 1000) : undefined;
      const seed = options.seed !== undefined ? seedOption(options.seed) : undefined;
      const without = options.without !== undefined ? parseWithout(options.without) : [];
      const spec = await loadSpecFile(file);
      const written = spec.compare ?? CompareSchema.parse({});
      const scenario = {
        ...written,
        ...(replicas !== undefined && { replicas }),
        ...(seed !== undefined && { seed }),
        effects: { ...written.effects, ...Object.fromEntries(without.map((name) => [name, false])) },
      };
      const sizes = sweep ?? scenario.sizes ?? DEFAULT_SIZES;
      const acceleratorId = spec.system?.accelerator.id ?? 'h100-sxm';
      const facility = spec.facility ?? resolveFacility({ cooling: 'direct-liquid' });
      const data = await loadCompareData({
        ...(options.tracePods !== undefined && { tracePods: options.tracePods }),
        ...(options.traceRuntimes !== undefined && { traceRuntimes: options.traceRuntimes }),
      });
      const mixSource = `${options.tracePods ?? 'openb'} requests, ${options.traceRuntimes ?? 'Philly'} run times`;
      const progress = output.progress('sizes', sizes.length);
      const task = (gpus: number) =>
        ({
          kind: 'compare',
          workload: spec.workload,
          acceleratorId,
          facility,
          twin: spec.twin,
          scenario,
          data,
          gpus,
        }) as const;
      let outcomes: (ComparePoint | { gpus: number; reason: string })[];
      if (threads > 1 && sizes.length > 1) {
        const pool = createSearchPool(Math.min(threads, sizes.length));
        try {
          outcomes = await Promise.all(
            sizes.map((gpus) =>
              pool.run<ComparePoint | { gpus: number; reason: string }>(task(gpus)).then((outcome) => {
                progress.tick();
                return outcome;
              }),
            ),
          );
        } finally {
          await pool.close();
        }
      } else {
        outcomes = sizes.map((gpus) => {
          const outcome = comparePoint(spec.workload, acceleratorId, facility, spec.twin, scenario, data, gpus);
          progress.tick();
          return outcome;
        });
      }
      progress.done();
      const points = outcomes.filter((o): o is ComparePoint => !('reason' in o));
      const skipped = outcomes.filter((o): o is { gpus: number; reason: string } => 'reason' in o);
      if (points.length === 0) {
        // An empty table is not an answer: say why each size could not be compared.
        throw new TokenworksError('NO_RESULT', `${file}: no job size could be compared`, {
          file,
          issues: skipped.map((point) => ({
            code: 'no_result',
            path: options.sweep !== undefined ? '--sweep' : 'compare.sizes',
            message: point.reason.startsWith(`${point.gpus.toLocaleString('en-US')} GPUs`)
              ? point.reason
              : `${point.gpus.toLocaleString('en-US')} GPUs: ${point.reason}`,
          })),
        });
      }
      const result: CompareResult = { points, skipped, breakpoint: findBreakpoint(points) };
      const s = scenario.shared;
      const outcome: CompareOutcome = {
        title: spec.name ?? `${spec.workload.model.name}: dedicated factory versus shared data center`,
        settings: [
          `${spec.workload.model.name} on ${acceleratorId}, ${(spec.workload.training.totalTokens / 1e12).toFixed(2)}T tokens; ${scenario.replicas} twin replicas per side and size, seed ${scenario.seed}`,
          `shared: ${formatGpus(s.gpus)} GPUs, ${s.nodesPerLeaf} servers per leaf, ${s.taper}:1 above it with ${(100 * s.tenantLinkLoad).toFixed(0)}% tenant load, tenants offering ${(100 * s.utilisation).toFixed(0)}% (${mixSource}), ${s.policy}; ${(100 * s.olderShare).toFixed(0)}% ${s.olderAccelerator} servers${s.sameGeneration ? ' (the flagship asks for its own GPU)' : ''}; ${s.preemptionsPerDay} preemptions a day`,
          `dedicated: the plan's factory with its hot spares, used ${(100 * scenario.dedicated.utilisation).toFixed(0)}% of its life; shared GPU-hours priced at the same cost over the cluster's utilisation`,
          `effects on: ${Object.entries(scenario.effects)
            .filter(([, v]) => v)
            .map(([k]) => k)
            .join(', ')}`,
        ],
        result,
      };
      if (options.report !== undefined) {
        const markdown = reportFormat(options.report) === 'markdown';
        await writeUserFile(options.report, markdown ? renderCompareMarkdown(outcome) : renderCompareHtml(outcome));
        output.info(`wrote ${options.report}`);
      }
      output.result(renderCompareText(outcome), {
        title: outcome.title,
        breakpoint: result.breakpoint.gpus,
        breakpointStatus: result.breakpoint.status,
        breakpointReason: result.breakpoint.reason,
        settings: outcome.settings,
        scenario,
        points: result.points,
        skipped: result.skipped,
      });
    });
}

const formatGpus = (gpus: number) => gpus.toLocaleString('en-US');
