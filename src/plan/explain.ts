/**
 * Why a plan looks the way it does: the three strongest reasons, found by trying the simpler neighbours of the
 * chosen plan (less pipeline or tensor parallelism, no recomputation) and reading the estimate's breakdown.
 * @module
 */

import type { MatmulPrecision } from '../perf/compute-rates.js';
import { type Estimate, estimate } from '../perf/estimate.js';
import { offloadInstead } from '../perf/offload.js';
import type { ResolvedPlan, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';
import { layoutShapes } from './search.js';

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
    const merged = { ...plan, ...change };
    // Activation offload needs pp 1: a neighbour with a pipeline drops it (and tries the memory options instead).
    const base = merged.pp > 1 ? { ...merged, activationOffloadLayers: undefined } : merged;
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
        activationOffloadLayers: undefined,
      },
    ];
    for (const option of options) {
      if (last.ok) break;
      last = estimate(workload, system, { ...base, ...option });
    }
    // Without a pipeline, the fewest offloaded layers that fit, as the search tries them.
    if (!last.ok && base.pp === 1 && system.accelerator.hostLinkGBps !== undefined) {
      const offloaded = offloadInstead(
        workload.model.layers,
        workload.training.precision !== 'bf16' ? [false, true] : [false],
        (activationOffloadLayers, lowPrecisionWeights) => {
          const candidate = { ...base, recomputation: 'none' as const, lowPrecisionWeights, activationOffloadLayers };
          return { plan: candidate, result: estimate(workload, system, candidate) };
        },
        last,
      );
      if (offloaded) last = offloaded.result;
    }
    return last;
  };
  const savings = (pp: number) =>
    pp === 1 && system.accelerator.hostLinkGBps !== undefined
      ? 'full recomputation or activation offload'
      : 'full recomputation';
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
        text: `PP${plan.pp} is needed to fit ${model} with TP${plan.tp} in ${hbm}: PP${pp}${also} would need ${(fewer.memory.total / GiB).toFixed(0)} GiB per GPU even with ${savings(pp)}`,
      });
    } else if (fewer.ok) {
      const gain = result.tokensPerSecond / fewer.tokensPerSecond - 1;
      reasons.push({
        weight: 1 + gain,
        text:
          gain >= 0
            ? `PP${plan.pp} is ${pct(gain)} faster than PP${pp}${also} at the same GPU count`
            : `PP${pp}${also} would be ${pct(1 / (1 + gain) - 1)} faster than PP${plan.pp} at the same GPU count`,
      });
    }
  }
  if (plan.tp > 1 && plan.tp % 2 === 0) {
    const tp = plan.tp / 2;
    const narrower = neighbour({ tp, dp: plan.dp * 2, sequenceParallel: tp > 1 });
    if (!narrower.ok && narrower.memory) {
      reasons.push({
        weight: 2.5,
        text: `TP${plan.tp} keeps each GPU's share of the layers in memory: TP${tp} would need ${(narrower.memory.total / GiB).toFixed(0)} GiB even with ${savings(plan.pp)}`,
      });
    } else if (narrower.ok) {
      const gain = result.tokensPerSecond / narrower.tokensPerSecond - 1;
      reasons.push({
        weight: 1 + gain,
        text:
          gain >= 0
            ? `TP${plan.tp} is ${pct(gain)} faster than TP${tp} within the ${system.scaleUp.domainSize}-GPU NVLink domain`
            : `TP${tp} would be ${pct(1 / (1 + gain) - 1)} faster than TP${plan.tp} within the ${system.scaleUp.domainSize}-GPU NVLink domain`,
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
  const offloaded = plan.activationOffloadLayers ?? 0;
  if (offloaded > 0) {
    const kept = estimate(workload, system, { ...plan, activationOffloadLayers: undefined });
    const cost = result.step.offload / result.step.seconds;
    if (!kept.ok && kept.memory) {
      reasons.push({
        weight: 2,
        text: `offloading ${offloaded} layers' activations to host memory is needed: keeping them would take ${(kept.memory.total / GiB).toFixed(0)} GiB per GPU; the copies the compute does not hide cost ${pct(cost)} of the step`,
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
  if (search.candidates === 0) return noLayoutAdvice(workload, system);
  const reasons = Object.entries(search.rejected).map(([code, n]) => `${n} ${code.replaceAll('_', ' ')}`);
  return `none of the ${search.candidates} layouts runs on this system (${reasons.join('; ')}): add GPUs or choose a larger-memory accelerator`;
}

/** How far {@link noLayoutAdvice} looks for another GPU count, in servers each way. */
const GPU_COUNT_SEARCH_SERVERS = 1024;

/** Whether some layout of `gpus` GPUs ({@link layoutShapes}) splits `batch` sequences evenly over its replicas. */
function splitsBatch(workload: ResolvedWorkload, domainSize: number, gpus: number, batch: number): boolean {
  return layoutShapes(workload, domainSize, gpus).some((shape) => batch % shape.dp === 0);
}

/**
 * Why no layout of the system's GPUs takes the batch, with the nearest batches and GPU counts that do. Batches
 * follow Calculon's rule (Isaev et al. 2023: the largest multiple of the data-parallel degree not above the
 * batch), taken over every data-parallel degree the GPU count allows, and the smallest multiple above it; GPU
 * counts are the nearest whole numbers of servers, below and above, with a layout whose replicas split the batch.
 */
export function noLayoutAdvice(workload: ResolvedWorkload, system: ResolvedSystem): string {
  const gpus = system.gpuCount;
  const batchSequences = workload.training.globalBatchSequences;
  const layers = workload.model.layers;
  const domain = system.scaleUp.domainSize;
  const n = (value: number) => value.toLocaleString('en-US');
  const head = `no layout of ${n(gpus)} GPUs splits the ${n(batchSequences)}-sequence batch over data-parallel replicas and the ${layers} layers over pipeline stages`;
  const degrees = [...new Set(layoutShapes(workload, domain, gpus).map((shape) => shape.dp))].sort((a, b) => a - b);
  const advice: string[] = [];
  if (degrees.length > 0) {
    const shown = degrees.length > 6 ? `${degrees.slice(0, 6).map(n).join(', ')}, …` : degrees.map(n).join(', ');
    advice.push(`the data-parallel degrees ${n(gpus)} GPUs allow (${shown}) do not divide ${n(batchSequences)}`);
    // Calculon's rule for each degree: the largest multiple of DP not above the batch; the closest wins, and of
    // equally close ones the widest DP (degrees ascend).
    let below: { batch: number; dp: number } | undefined;
    let above: { batch: number; dp: number } | undefined;
    for (const dp of degrees) {
      const down = Math.floor(batchSequences / dp) * dp;
      if (down >= dp && (!below || down >= below.batch)) below = { batch: down, dp };
      const up = Math.ceil(batchSequences / dp) * dp;
      if (!above || up <= above.batch) above = { batch: up, dp };
    }
    const batches = [
      below &&
        `${n(below.batch)} sequences (DP ${n(below.dp)}: the largest multiple of DP not above the batch, Calculon's rule)`,
      above && `${n(above.batch)} (DP ${n(above.dp)}: the smallest multiple of DP above it)`,
    ].filter(Boolean);
    advice.push(`nearest batches that split: ${batches.join(' or ')}`);
  } else {
    advice.push(
      `the layers fill no pipeline of ${n(gpus)} GPUs (TP a power of two up to ${domain}, PP dividing the rest)`,
    );
  }
  // The nearest GPU counts, in whole servers, whose layouts split the batch as it is.
  const step = system.gpusPerNode;
  let fewer: number | undefined;
  let more: number | undefined;
  for (let k = 1; k <= GPU_COUNT_SEARCH_SERVERS && (fewer === undefined || more === undefined); k++) {
    const down = gpus - k * step;
    if (fewer === undefined && down >= step && splitsBatch(workload, domain, down, batchSequences)) fewer = down;
    const up = gpus + k * step;
    if (more === undefined && splitsBatch(workload, domain, up, batchSequences)) more = up;
  }
  const counts = [fewer, more].filter((count): count is number => count !== undefined).map(n);
  if (counts.length > 0) advice.push(`nearest GPU counts for ${n(batchSequences)} sequences: ${counts.join(' or ')}`);
  return `${head}: ${advice.join('; ')}`;
}
