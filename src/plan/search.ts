/**
 * Plan search: for a workload on a system of a given size, enumerate every parallelism layout and memory
 * option Megatron-Core can run, prune by divisibility and memory before costing, estimate the rest and rank by
 * throughput. Deterministic: the same inputs give the same ranking, whatever the number of worker shards.
 * @module
 */
import type { Calibration } from '../perf/calibration.js';
import type { MatmulPrecision } from '../perf/compute-rates.js';
import {
  createEstimateCache,
  type Estimate,
  type EstimateResult,
  estimate,
  type Infeasibility,
} from '../perf/estimate.js';
import { offloadInstead } from '../perf/offload.js';
import type { ResolvedPlan, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';

/** Options of {@link searchPlans}. */
export interface SearchOptions {
  /** How many of the best plans to return (default 10). */
  readonly top?: number;
  /**
   * Precisions to try (default: the workload's); ones the accelerator lacks are skipped. FP8 and FP4 change
   * the training numerics, so trying them is the user's call.
   */
  readonly precisions?: readonly MatmulPrecision[];
  /** Largest micro-batch tried (default {@link DEFAULT_MAX_MICRO_BATCH}); every divisor of the local batch up to it is. */
  readonly maxMicroBatch?: number;
  /** Only the shard `index` of `count` of the candidate list (for worker threads); default the whole list. */
  readonly shard?: { readonly index: number; readonly count: number };
  readonly calibration?: Calibration;
}

/** A ranked plan with its estimate. */
export interface RankedPlan {
  readonly plan: ResolvedPlan;
  /** Precision of the matrix multiplies this plan was costed at. */
  readonly precision: MatmulPrecision;
  readonly estimate: Estimate;
}

/** What a search found and why it rejected the rest. */
export interface SearchResult {
  /** Best plans first (highest tokens/s; ties broken by the plan's key for determinism). */
  readonly best: RankedPlan[];
  /** Candidates enumerated. */
  readonly candidates: number;
  /** Candidates that passed every check and were costed to the end. */
  readonly feasible: number;
  /** Rejected candidates per reason code. */
  readonly rejected: Record<string, number>;
  /** Estimates computed (a candidate costs one per memory option tried). */
  readonly estimates: number;
}

const powersOfTwo = (limit: number) => {
  const out: number[] = [];
  for (let value = 1; value <= limit; value *= 2) out.push(value);
  return out;
};

/** A stable text key of a plan, for deterministic tie-breaking and de-duplication. */
export function planKey(plan: ResolvedPlan): string {
  return [
    plan.tp,
    plan.pp,
    plan.virtualStages,
    plan.cp,
    plan.ep,
    plan.dp,
    plan.microBatch,
    plan.recomputation,
    plan.recomputeLayers ?? '-',
    plan.sharding,
    plan.lowPrecisionWeights ? 'w8' : 'w16',
    ...(plan.activationOffloadLayers ? [`offload${plan.activationOffloadLayers}`] : []),
  ].join('/');
}

/** Largest micro-batch the search tries by default: larger ones rarely fit and gain little GEMM efficiency. */
export const DEFAULT_MAX_MICRO_BATCH = 8;

/** The divisors of `n` no larger than `limit`, ascending (at most `limit` of them). */
export function divisorsUpTo(n: number, limit: number): number[] {
  const out: number[] = [];
  if (!Number.isInteger(n) || n < 1) return out;
  for (let d = 1; d <= Math.min(n, limit); d++) if (n % d === 0) out.push(d);
  return out;
}

/**
 * Virtual stages (model chunks per stage) for `pp` stages: every v whose pp·v chunks divide the layers, or the
 * layers plus the embedding and the loss counted as one layer each (Megatron-Core layouts); 1 alone without a
 * pipeline. With 105 layers on 5 stages: 1, 3, 7 and 21.
 */
export function virtualStageCounts(layers: number, pp: number): number[] {
  if (pp === 1) return [1];
  const out: number[] = [];
  for (let v = 1; pp * v <= layers + 2; v++) {
    if (layers % (pp * v) === 0 || (layers + 2) % (pp * v) === 0) out.push(v);
  }
  return out;
}

/** One TP × CP × PP × DP layout of a GPU count, before EP, micro-batch and sharding are chosen. */
export interface LayoutShape {
  readonly tp: number;
  readonly cp: number;
  readonly pp: number;
  readonly dp: number;
  readonly virtualStages: readonly number[];
}

/**
 * Every TP × CP × PP × DP layout of `gpus` GPUs that Megatron-Core can lay out for the model, whatever the batch:
 * TP a power of two within the NVLink domain and the head count, CP a power of two for sequences of 8K or more,
 * PP dividing the rest and leaving at least one virtual-stage count ({@link virtualStageCounts}).
 */
export function layoutShapes(workload: ResolvedWorkload, domainSize: number, gpus: number): LayoutShape[] {
  const { model, training } = workload;
  const out: LayoutShape[] = [];
  for (const tp of powersOfTwo(Math.min(domainSize, model.heads))) {
    const cps = training.sequenceLength >= 8192 ? powersOfTwo(Math.min(16, training.sequenceLength / 4096)) : [1];
    for (const cp of cps) {
      if (gpus % (tp * cp) !== 0) continue;
      const rest = gpus / (tp * cp);
      for (let pp = 1; pp <= Math.min(rest, model.layers); pp++) {
        if (rest % pp !== 0) continue;
        const virtualStages = virtualStageCounts(model.layers, pp);
        if (virtualStages.length > 0) out.push({ tp, cp, pp, dp: rest / pp, virtualStages });
      }
    }
  }
  return out;
}

/**
 * Every candidate plan for the workload on the system, in a fixed order: every layout of {@link layoutShapes},
 * EP a power of two dividing the experts and tp·cp·dp, every micro-batch that divides each replica's share of the
 * batch up to `maxMicroBatch` (so at most that many per layout), ZeRO-1 or FSDP.
 */
export function enumeratePlans(
  workload: ResolvedWorkload,
  system: ResolvedSystem,
  maxMicroBatch = DEFAULT_MAX_MICRO_BATCH,
): ResolvedPlan[] {
  const { model, training } = workload;
  const plans: ResolvedPlan[] = [];
  for (const { tp, cp, pp, dp, virtualStages: virtuals } of layoutShapes(
    workload,
    system.scaleUp.domainSize,
    system.gpuCount,
  )) {
    const eps = model.moe
      ? powersOfTwo(Math.min(64, model.moe.experts)).filter((ep) => (tp * cp * dp) % ep === 0)
      : [1];
    const microBatches = divisorsUpTo(training.globalBatchSequences / dp, maxMicroBatch);
    for (const virtualStages of virtuals) {
      for (const ep of eps) {
        for (const microBatch of microBatches) {
          for (const sharding of ['zero1', 'fsdp'] as const) {
            plans.push(makePlan(tp, pp, virtualStages, dp, cp, ep, microBatch, sharding, 'none', undefined, false, 0));
          }
        }
      }
    }
  }
  return plans;
}

/**
 * Builds a plan with every field present and always in the same order, so all plans share one object shape and
 * the estimator's property reads stay monomorphic (a large share of search speed). Flash attention and every
 * overlap are on; sequence parallelism comes with TP.
 */
function makePlan(
  tp: number,
  pp: number,
  virtualStages: number,
  dp: number,
  cp: number,
  ep: number,
  microBatch: number,
  sharding: ResolvedPlan['sharding'],
  recomputation: ResolvedPlan['recomputation'],
  recomputeLayers: number | undefined,
  lowPrecisionWeights: boolean,
  activationOffloadLayers: number,
): ResolvedPlan {
  return {
    tp,
    pp,
    virtualStages,
    dp,
    cp,
    ep,
    sequenceParallel: tp > 1,
    sharding,
    microBatch,
    recomputation,
    recomputeLayers,
    activationOffloadLayers,
    flashAttention: true,
    lowPrecisionWeights,
    overlap: { gradReduce: true, paramGather: true, tpComm: tp > 1, ppComm: true, epComm: ep > 1 },
  };
}

/** `layout` with other memory settings, built by {@link makePlan} so it keeps the one plan shape. */
function withMemory(
  layout: ResolvedPlan,
  recomputation: ResolvedPlan['recomputation'],
  recomputeLayers: number | undefined,
  lowPrecisionWeights: boolean,
  activationOffloadLayers: number,
): ResolvedPlan {
  return makePlan(
    layout.tp,
    layout.pp,
    layout.virtualStages,
    layout.dp,
    layout.cp,
    layout.ep,
    layout.microBatch,
    layout.sharding,
    recomputation,
    recomputeLayers,
    lowPrecisionWeights,
    activationOffloadLayers,
  );
}

/** The workload trained at another matmul precision (the same object when it already is). */
export function withPrecision(workload: ResolvedWorkload, precision: MatmulPrecision): ResolvedWorkload {
  return precision === workload.training.precision
    ? workload
    : { ...workload, training: { ...workload.training, precision } };
}

/** Orders plans best first: higher tokens/s, then the precision and the plan key. */
export function compareRanked(a: RankedPlan, b: RankedPlan): number {
  const difference = b.estimate.tokensPerSecond - a.estimate.tokensPerSecond;
  if (difference !== 0) return difference;
  const ka = `${a.precision}/${planKey(a.plan)}`;
  const kb = `${b.precision}/${planKey(b.plan)}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Searches the plans of `workload` on `system` (or one shard of them). */
export function searchPlans(
  workload: ResolvedWorkload,
  system: ResolvedSystem,
  options: SearchOptions = {},
): SearchResult {
  const top = options.top ?? 10;
  const shard = options.shard ?? { index: 0, count: 1 };
  const rejected: Record<string, number> = {};
  const best: RankedPlan[] = [];
  let feasible = 0;
  let candidates = 0;
  let estimates = 0;
  // One variant of the workload per precision the accelerator supports, each with its own memo.
  const precisions = options.precisions ?? [workload.training.precision];
  const variants = precisions
    .filter((precision) => precision === 'bf16' || system.accelerator.peakTflops[precision] !== undefined)
    .map((precision) => {
      const variant =
        precision === workload.training.precision
          ? workload
          : { ...workload, training: { ...workload.training, precision } };
      return {
        precision,
        workload: variant,
        layouts: enumeratePlans(variant, system, options.maxMicroBatch),
        memoryOptionCache: new Map<number, Partial<ResolvedPlan>[]>(),
        estimateOptions: {
          ...(options.calibration && { calibration: options.calibration }),
          cache: createEstimateCache(),
        },
      };
    });
  const hostLink = system.accelerator.hostLinkGBps !== undefined;
  let index = -1;
  for (const { precision, workload: variantWorkload, layouts, memoryOptionCache, estimateOptions } of variants) {
    const lowPrecision = precision !== 'bf16';
    for (const layout of layouts) {
      index++;
      if (index % shard.count !== shard.index) continue;
      candidates++;
      // The least memory saving that fits: no recomputation, then FP8 weights, then full recomputation of a quarter,
      // half or all of each chunk's layers (Megatron recompute_num_layers), each also with FP8 weights.
      const chunkLayers = Math.ceil(variantWorkload.model.layers / (layout.pp * layout.virtualStages));
      let memoryOptions = memoryOptionCache.get(chunkLayers);
      if (!memoryOptions) {
        memoryOptions = memoryOptionsFor(chunkLayers, lowPrecision);
        memoryOptionCache.set(chunkLayers, memoryOptions);
      }
      const stored = estimate(variantWorkload, system, layout, estimateOptions);
      estimates++;
      let plan = layout;
      let result: EstimateResult = stored;
      for (const option of memoryOptions) {
        if (result.ok || result.issues[0]?.code !== 'out_of_memory') break;
        plan = withMemory(
          layout,
          option.recomputation ?? layout.recomputation,
          option.recomputeLayers,
          option.lowPrecisionWeights ?? layout.lowPrecisionWeights,
          0,
        );
        result = estimate(variantWorkload, system, plan, estimateOptions);
        estimates++;
      }
      // Without a pipeline, activation offload is the other way to fit (Megatron-Core: pp 1, no recomputation):
      // the fewest layers that fit, with BF16 and then FP8 weights, kept when faster than the recomputation above.
      if (layout.pp === 1 && hostLink && !stored.ok && stored.issues[0]?.code === 'out_of_memory') {
        const offloaded = offloadInstead(
          variantWorkload.model.layers,
          lowPrecision ? [false, true] : [false],
          (activationOffloadLayers, lowPrecisionWeights) => {
            const candidate = withMemory(layout, 'none', undefined, lowPrecisionWeights, activationOffloadLayers);
            estimates++;
            return { plan: candidate, result: estimate(variantWorkload, system, candidate, estimateOptions) };
          },
          result,
        );
        if (offloaded) {
          plan = offloaded.plan;
          result = offloaded.result;
        }
      }
      if (!result.ok) {
        const code = firstCode(result.issues);
        rejected[code] = (rejected[code] ?? 0) + 1;
        continue;
      }
      feasible++;
      const ranked = { plan, precision, estimate: result };
      if (best.length < top || compareRanked(ranked, best[best.length - 1] as RankedPlan) < 0) {
        // Binary insertion keeps the list sorted without re-sorting it.
        let low = 0;
        let high = best.length;
        while (low < high) {
          const middle = (low + high) >> 1;
          if (compareRanked(best[middle] as RankedPlan, ranked) <= 0) low = middle + 1;
          else high = middle;
        }
        best.splice(low, 0, ranked);
        if (best.length > top) best.pop();
      }
    }
  }
  return { best, candidates, feasible, rejected, estimates };
}

/** Merges shard results into one, keeping the global best `top` (same answer as one unsharded search). */
export function mergeSearches(results: readonly SearchResult[], top = 10): SearchResult {
  const rejected: Record<string, number> = {};
  for (const result of results) {
    for (const [code, count] of Object.entries(result.rejected)) rejected[code] = (rejected[code] ?? 0) + count;
  }
  return {
    best: results
      .flatMap((result) => result.best)
      .sort(compareRanked)
      .slice(0, top),
    candidates: results.reduce((sum, result) => sum + result.candidates, 0),
    feasible: results.reduce((sum, result) => sum + result.feasible, 0),
    rejected,
    estimates: results.reduce((sum, result) => sum + result.estimates, 0),
  };
}

function memoryOptionsFor(chunkLayers: number, lowPrecision: boolean): Partial<ResolvedPlan>[] {
  const counts = [...new Set([Math.ceil(chunkLayers / 4), Math.ceil(chunkLayers / 2), chunkLayers])];
  return [
    ...(lowPrecision ? [{ lowPrecisionWeights: true }] : []),
    ...counts.flatMap((recomputeLayers) => [
      { recomputation: 'full' as const, recomputeLayers },
      ...(lowPrecision ? [{ recomputation: 'full' as const, recomputeLayers, lowPrecisionWeights: true }] : []),
    ]),
  ];
}

function firstCode(issues: readonly Infeasibility[]): string {
  return issues[0]?.code ?? 'infeasible';
}
