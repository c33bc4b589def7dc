/**
 * The report of `tokenworks estimate`: the headline figures, the step-time breakdown and memory per GPU as text
 * tables, with a note when HFU reads below MFU.
 * @module
 */
import type { EstimateOutcome } from '../app/estimate.js';
import type { Estimate } from '../perf/estimate.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { memoryParts, stepParts } from './breakdown.js';
import { formatCount, formatDuration, formatInteger, significant } from './format.js';
import { renderPairs, renderTable } from './table.js';

export type { EstimateOutcome };

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
