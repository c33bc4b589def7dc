/**
 * Why a plan looks the way it does: the three strongest reasons, found by trying the simpler neighbours of the
 * chosen plan (less pipeline or tensor parallelism, no recomputation) and reading the estimate's breakdown.
 * @module
 */

import type { MatmulPrecision } from '../perf/compute-rates.js';
import { type Estimate, estimate } from '../perf/estimate.js';
import type { ResolvedPlan, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';

interface Reason {
  readonly weight: number;
  readonly text: string;
}

const GiB = 2 ** 30;
const pct = (value: number) => `${(100 * value).toFixed(0)}%`;

/** Up to three reasons for `plan`, strongest first. */
export function explainPlan(
  workload: ResolvedWorkload,
  system: ResolvedSystem,
  plan: ResolvedPlan,
  result: Estimate,
): string[] {
  const reasons: Reason[] = [];
  const model = workload.model.name;
  const hbm = `${system.accelerator.hbmGiB} GiB`;
  // A neighbour of the plan, given the same memory options the search tries (least saving that fits).
  const neighbour = (change: Partial<ResolvedPlan>) => {
    const base = { ...plan, ...change };
    let last = estimate(workload, system, base);
    const options: Partial<ResolvedPlan>[] = [
      { recomputation: 'none', recomputeLayers: undefined, lowPrecisionWeights: false },
      {
        recomputation: 'none',
        recomputeLayers: undefined,
        lowPrecisionWeights: workload.training.precision !== 'bf16',
      },
      {
        recomputation: 'full',
        recomputeLayers: undefined,
        lowPrecisionWeights: workload.training.precision !== 'bf16',
      },
    ];
    for (const option of options) {
      if (last.ok) break;
      last = estimate(workload, system, { ...base, ...option });
    }
    return last;
  };
  const layers = workload.model.layers;
  const virtualFits = (pp: number, v: number) => layers % (pp * v) === 0 || (layers + 2) % (pp * v) === 0;

  if (plan.pp > 1 && plan.pp % 2 === 0) {
    const pp = plan.pp / 2;
    const v = pp > 1 && virtualFits(pp, plan.virtualStages) ? plan.virtualStages : 1;
    const fewer = neighbour({ pp, dp: plan.dp * 2, virtualStages: v });
    const also = v !== plan.virtualStages ? ` (and ${v} virtual stage${v === 1 ? '' : 's'})` : '';
    if (!fewer.ok && fewer.memory) {
      reasons.push({
        weight: 3,
        text: `PP${plan.pp} is needed to fit ${model} with TP${plan.tp} in ${hbm}: PP${pp}${also} would need ${(fewer.memory.total / GiB).toFixed(0)} GiB per GPU even with full recomputation`,
      });
    } else if (fewer.ok) {
      const gain = result.tokensPerSecond / fewer.tokensPerSecond - 1;
      reasons.push({
        weight: 1 + gain,
        text: `PP${plan.pp} is ${pct(gain)} faster than PP${pp}${also} at the same GPU count`,
      });
    }
  }
  if (plan.tp > 1 && plan.tp % 2 === 0) {
    const tp = plan.tp / 2;
    const narrower = neighbour({ tp, dp: plan.dp * 2, sequenceParallel: tp > 1 });
    if (!narrower.ok && narrower.memory) {
      reasons.push({
        weight: 2.5,
        text: `TP${plan.tp} keeps each GPU's share of the layers in memory: TP${tp} would need ${(narrower.memory.total / GiB).toFixed(0)} GiB even with full recomputation`,
      });
    } else if (narrower.ok) {
      const gain = result.tokensPerSecond / narrower.tokensPerSecond - 1;
      reasons.push({
        weight: 1 + gain,
        text: `TP${plan.tp} is ${pct(gain)} faster than TP${tp} within the ${system.scaleUp.domainSize}-GPU NVLink domain`,
      });
    }
  }
  if (plan.recomputation === 'full') {
    const stored = estimate(workload, system, { ...plan, recomputation: 'none', recomputeLayers: undefined });
    if (!stored.ok && stored.memory) {
      reasons.push({
        weight: 2,
        text: `full recomputation${plan.recomputeLayers ? ` of ${plan.recomputeLayers} layers per chunk` : ''} is needed: storing every activation would take ${(stored.memory.total / GiB).toFixed(0)} GiB per GPU`,
      });
    }
  }
  const step = result.step;
  const bubbleShare = step.bubble / step.seconds;
  if (bubbleShare > 0.05) {
    reasons.push({
      weight: 1 + bubbleShare,
      text: `the pipeline bubble takes ${pct(bubbleShare)} of the step (${result.microBatchesPerStep} micro-batches over ${plan.pp} stages${plan.virtualStages > 1 ? `, ${plan.virtualStages} virtual` : ''}); a larger batch would cut it`,
    });
  }
  const comm = step.exposedCommunication;
  const [kind, seconds] = Object.entries(comm).sort((a, b) => b[1] - a[1])[0] ?? ['tp', 0];
  if (seconds / step.seconds > 0.05) {
    reasons.push({
      weight: 1 + seconds / step.seconds,
      text: `exposed ${kind.toUpperCase()} communication is ${pct(seconds / step.seconds)} of the step`,
    });
  }
  reasons.push({
    weight: 0.5,
    text: `MFU ${pct(result.mfu)}: ${result.modelTflopsPerGpu.toFixed(0)} model TFLOP/s per GPU`,
  });
  return reasons
    .sort((a, b) => b.weight - a.weight)
    .slice(0, 3)
    .map((reason) => reason.text);
}

/** Why a plan search on a given system found nothing, in terms of the spec's numbers. */
export function whyNoPlan(
  workload: ResolvedWorkload,
  system: ResolvedSystem,
  search: { candidates: number; rejected: Record<string, number> },
  precisions?: readonly MatmulPrecision[],
): string {
  const wanted = precisions ?? [workload.training.precision];
  const supported = wanted.filter((p) => p === 'bf16' || system.accelerator.peakTflops[p] !== undefined);
  if (supported.length === 0) {
    return `${system.accelerator.name} supports none of ${wanted.join(', ')}: try --precisions bf16`;
  }
  if (system.gpuCount % system.gpusPerNode !== 0) {
    const nearest = Math.max(1, Math.round(system.gpuCount / system.gpusPerNode)) * system.gpusPerNode;
    return `${system.gpuCount.toLocaleString('en-US')} GPUs is not a whole number of ${system.gpusPerNode}-GPU servers (nearest: ${nearest.toLocaleString('en-US')})`;
  }
  if (search.candidates === 0) {
    const { globalBatchSequences } = workload.training;
    return noLayoutAdvice(system.gpuCount, globalBatchSequences, workload.model.layers);
  }
  const reasons = Object.entries(search.rejected).map(([code, n]) => `${n} ${code.replaceAll('_', ' ')}`);
  return `none of the ${search.candidates} layouts runs on this system (${reasons.join('; ')}): add GPUs or choose a larger-memory accelerator`;
}

/**
 * Why no layout of `gpus` exists, naming the cause: the batch when it has fewer sequences than the GPUs need
 * (even at TP8 × PP per layer), else the factors that neither the batch nor the layers share.
 */
export function noLayoutAdvice(gpus: number, batchSequences: number, layers: number): string {
  const batch = `${batchSequences.toLocaleString('en-US')}-sequence batch`;
  const count = gpus.toLocaleString('en-US');
  const oddPart = (n: number) => {
    let m = n;
    while (m % 2 === 0) m /= 2;
    return m;
  };
  if (oddPart(gpus) === 1) {
    return `no layout of ${count} GPUs fits the ${batch} and the ${layers} layers: each data-parallel replica needs at least one sequence, so ${count} GPUs need a batch of at least ${Math.ceil(gpus / (8 * layers)).toLocaleString('en-US')} sequences even at TP8 with a pipeline stage per layer; use fewer GPUs or a larger batch`;
  }
  return `no layout of ${count} GPUs splits the ${batch} over data-parallel replicas and the ${layers} layers over pipeline stages: the odd factor ${oddPart(gpus)} of the GPU count divides neither; choose a GPU count whose odd factors divide the batch or the layers (e.g. a power of two)`;
}
