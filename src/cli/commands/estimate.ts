/**
 * `tokenworks estimate <spec>`: the performance and memory model for the spec's workload, system and plan:
 * step-time breakdown, throughput, MFU/HFU, memory per GPU and time to train; `--json` for scripts.
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import { TokenworksError } from '../../errors.js';
import { loadSpecFile } from '../../node/files.js';
import { createOutput, type OutputStreams } from '../../node/output.js';
import { type Estimate, estimate } from '../../perf/estimate.js';
import { memoryParts, stepParts } from '../../report/breakdown.js';
import { formatCount, formatDuration, formatInteger, significant } from '../../report/format.js';
import { renderPairs, renderTable } from '../../report/table.js';
import type { ResolvedSpec } from '../../spec/resolve.js';

/** Adds the `estimate` command to `program`. */
export function registerEstimate(program: Command, streams: OutputStreams): void {
  program
    .command('estimate')
    .description('predict step time, throughput, MFU and memory per GPU for a spec with a system and a plan')
    .argument('<spec>', 'spec file with workload, system and plan, e.g. examples/llama3-405b.yaml')
    .option('--json', 'print the estimate as JSON')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const spec = await loadSpecFile(file);
      const { system, plan } = spec;
      if (!system || !plan) {
        const missing = [!system && 'system', !plan && 'plan'].filter((part): part is string => Boolean(part));
        throw new TokenworksError('SPEC_INVALID', `${file}: an estimate needs ${missing.join(' and ')}`, {
          file,
          issues: missing.map((section) => ({
            code: 'missing_value',
            path: section,
            message: `an estimate needs a ${section} section (see examples/)`,
          })),
        });
      }
      const result = estimate(spec.workload, system, plan);
      if (!result.ok) {
        // An infeasible plan is an answer, not a crash: JSON readers get it on stdout; everyone gets one line per
        // reason on stderr and exit code 2.
        if (output.json) output.result('', { file, ...result });
        throw new TokenworksError('SPEC_INVALID', `${file}: the plan is infeasible`, {
          file,
          issues: result.issues.map((issue) => ({ code: issue.code, path: issue.path, message: issue.message })),
        });
      }
      output.result(renderEstimate(file, spec, result), { file, ...result });
    });
}

const GiB = 2 ** 30;
const seconds = (value: number) => `${significant(value, 3)} s`;
const share = (value: number, total: number) => `${((100 * value) / total).toFixed(1)}%`;

/** Renders an estimate as tables. */
export function renderEstimate(file: string, spec: ResolvedSpec, result: Estimate): string {
  const step = result.step;
  const stepTable = renderTable(
    [{ header: 'step time' }, { header: 'seconds', align: 'right' }, { header: 'share', align: 'right' }],
    [...stepParts(step), ['total', step.seconds] as [string, number]].map(([name, value]) => [
      name,
      seconds(value),
      share(value, step.seconds),
    ]),
  );
  const memory = result.memory;
  const memoryTable = renderTable(
    [{ header: `memory per GPU (pipeline stage ${memory.stage + 1})` }, { header: 'GiB', align: 'right' }],
    [
      ...memoryParts(memory).map(([name, value]) => [name, (value / GiB).toFixed(1)]),
      ['capacity', (memory.capacity / GiB).toFixed(1)],
    ],
  );
  const system = spec.system;
  const plan = spec.plan;
  const headline = renderPairs([
    [
      'throughput',
      `${formatInteger(result.tokensPerSecond)} tokens/s (${formatInteger(result.tokensPerSecondPerGpu)} per GPU)`,
    ],
    [
      'model TFLOP/s per GPU',
      `${result.modelTflopsPerGpu.toFixed(0)} (MFU ${(100 * result.mfu).toFixed(1)}%, HFU ${(100 * result.hfu).toFixed(1)}%)`,
    ],
    [
      'step',
      `${seconds(step.seconds)} for ${formatCount(spec.workload.training.globalBatchTokens)} tokens, ${formatInteger(result.microBatchesPerStep)} micro-batches per replica`,
    ],
    [
      'time to train',
      `${formatDuration(result.timeToTrainSeconds)} (${formatInteger(result.optimizerSteps)} steps, ${formatCount(result.gpuHours)} GPU-hours)`,
    ],
  ]);
  const title = `${file}: ${spec.workload.model.name} on ${formatInteger(system?.gpuCount ?? 0)} × ${system?.accelerator.name ?? ''}, TP ${plan?.tp} · PP ${plan?.pp}${(plan?.virtualStages ?? 1) > 1 ? `×${plan?.virtualStages}` : ''} · DP ${plan?.dp} · CP ${plan?.cp} · EP ${plan?.ep}, ${spec.workload.training.precision}`;
  const notes =
    result.hfu < result.mfu
      ? [
          '',
          'HFU is below MFU: MFU counts the full s×s attention product (the 6N + attention convention of docs/model.md),',
          'HFU the FLOPs the GPUs run, where causal flash attention computes only half of it.',
        ]
      : [];
  return [title, '', headline, '', stepTable, '', memoryTable, ...notes].join('\n');
}
