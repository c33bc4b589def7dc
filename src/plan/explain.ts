/**
 * Why a plan looks the way it does: the three strongest reasons, found by trying the simpler neighbours of the
 * chosen plan (less pipeline or tensor parallelism, no recomputation) and reading the estimate's breakdown.
 * @module
 */
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
  const neighbour = (change: Partial<ResolvedPlan>) => estimate(workload, system, { ...plan, ...change });

  if (plan.pp > 1) {
    const fewer = neighbour({ pp: plan.pp / 2, dp: plan.dp * 2, virtualStages: 1 });
    if (!fewer.ok && fewer.memory) {
      reasons.push({
        weight: 3,
        text: `PP${plan.pp} is needed to fit ${model} with TP${plan.tp} in ${hbm}: PP${plan.pp / 2} would need ${(fewer.memory.total / GiB).toFixed(0)} GiB per GPU`,
      });
    } else if (fewer.ok) {
      reasons.push({
        weight: 1 + (result.tokensPerSecond / fewer.tokensPerSecond - 1),
        text: `PP${plan.pp} beats PP${plan.pp / 2} by ${pct(result.tokensPerSecond / fewer.tokensPerSecond - 1)} (less data-parallel traffic per GPU)`,
      });
    }
  }
  if (plan.tp > 1) {
    const narrower = neighbour({ tp: plan.tp / 2, dp: plan.dp * 2, sequenceParallel: plan.tp / 2 > 1 });
    if (!narrower.ok && narrower.memory) {
      reasons.push({
        weight: 2.5,
        text: `TP${plan.tp} keeps each GPU's share of the layers in memory: TP${plan.tp / 2} would need ${(narrower.memory.total / GiB).toFixed(0)} GiB`,
      });
    } else if (narrower.ok) {
      reasons.push({
        weight: 1 + (result.tokensPerSecond / narrower.tokensPerSecond - 1),
        text: `TP${plan.tp} beats TP${plan.tp / 2} by ${pct(result.tokensPerSecond / narrower.tokensPerSecond - 1)} within the ${system.scaleUp.domainSize}-GPU NVLink domain`,
      });
    }
  }
  if (plan.recomputation === 'full') {
    const stored = neighbour({ recomputation: 'none' });
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
