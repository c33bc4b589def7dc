/**
 * `tokenworks compare <scenario>`: the same workload at each job size on a dedicated factory and on a shared data
 * center of the same hardware; the breakpoint size from which the factory wins on time and cost. Text, JSON
 * (`--json`, with a top-level `breakpoint`) and a self-contained report (`--report out.html` or `out.md`).
 * @module
 */
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
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
import { loadSpecFile, writeFileAtomic } from '../../node/files.js';
import { createOutput, type OutputStreams } from '../../node/output.js';
import { createSearchPool } from '../../node/pool.js';
import {
  type CompareOutcome,
  renderCompareHtml,
  renderCompareMarkdown,
  renderCompareText,
} from '../../report/compare-report.js';
import { CompareSchema } from '../../spec/compare.js';
import { resolveFacility } from '../../spec/resolve.js';
import { checkReportPath, positiveIntegerOption } from './simulate.js';

/** Parses `--sweep`: `64..16384` (doubling) or a list `64,256,1024`. */
export function parseSweep(text: string): number[] {
  const range = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/.exec(text);
  if (range) {
    const from = Number(range[1]);
    const to = Number(range[2]);
    if (from < 1 || to < from) {
      throw new TokenworksError('USAGE', `--sweep ${text}: the range must run from 1 or more upwards, e.g. 64..16384`);
    }
    const sizes: number[] = [];
    for (let g = from; g <= to; g *= 2) sizes.push(g);
    return sizes;
  }
  const sizes = text.split(',').map((part) => Number(part.trim()));
  if (sizes.length === 0 || sizes.some((g) => !Number.isInteger(g) || g < 1)) {
    throw new TokenworksError(
      'USAGE',
      `--sweep must be a range like 64..16384 or a list like 64,256,1024, got "${text}"`,
    );
  }
  return [...new Set(sizes)].sort((a, b) => a - b);
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
    .option('--threads <n>', 'worker threads (default: the cores available)')
    .option('--json', 'print the outcome as JSON')
    .option('--report <file>', 'write a self-contained report: .html or .md')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      checkReportPath(options.report);
      const threads =
        options.threads === undefined ? availableParallelism() : positiveIntegerOption('--threads', options.threads);
      const spec = await loadSpecFile(file);
      const scenario = spec.compare ?? CompareSchema.parse({});
      const sizes = options.sweep !== undefined ? parseSweep(options.sweep) : (scenario.sizes ?? DEFAULT_SIZES);
      const acceleratorId = spec.system?.accelerator.id ?? 'h100-sxm';
      const facility = spec.facility ?? resolveFacility({ cooling: 'direct-liquid' });
      const data = await loadCompareData();
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
        const pool = createSearchPool(threads);
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
      const result: CompareResult = { points, skipped, breakpoint: findBreakpoint(points) };
      const s = scenario.shared;
      const outcome: CompareOutcome = {
        title: spec.name ?? `${spec.workload.model.name}: dedicated factory versus shared data center`,
        settings: [
          `${spec.workload.model.name} on ${acceleratorId}, ${(spec.workload.training.totalTokens / 1e12).toFixed(2)}T tokens; ${scenario.replicas} twin replicas per side and size, seed ${scenario.seed}`,
          `shared: ${formatGpus(s.gpus)} GPUs, ${s.nodesPerLeaf} servers per leaf, ${s.taper}:1 above it with ${(100 * s.tenantLinkLoad).toFixed(0)}% tenant load, tenants offering ${(100 * s.utilisation).toFixed(0)}% (openb requests, Philly run times), ${s.policy}; ${(100 * s.olderShare).toFixed(0)}% ${s.olderAccelerator} servers${s.sameGeneration ? ' (the flagship asks for its own GPU)' : ''}; ${s.preemptionsPerDay} preemptions a day`,
          `dedicated: the plan's factory with its hot spares, used ${(100 * scenario.dedicated.utilisation).toFixed(0)}% of its life; shared GPU-hours priced at the same cost over the cluster's utilisation`,
          `effects on: ${Object.entries(scenario.effects)
            .filter(([, v]) => v)
            .map(([k]) => k)
            .join(', ')}`,
        ],
        result,
      };
      if (options.report !== undefined) {
        const markdown = extname(options.report).toLowerCase() === '.md';
        await writeFileAtomic(options.report, markdown ? renderCompareMarkdown(outcome) : renderCompareHtml(outcome));
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
