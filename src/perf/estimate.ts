/**
 * The estimate: for one workload, system and plan, the step time broken into compute, exposed communication,
 * pipeline bubble and optimizer; throughput, MFU and HFU; memory per GPU with a fit check; time to train.
 * Infeasible plans come back as typed reasons, never as exceptions. docs/model.md explains every term.
 *
 * This file assembles the parts: feasibility.ts (can the plan be laid out), pipeline.ts (layers per stage,
 * micro-batches in flight, stage times, bubble), memory.ts (memory of each stage), layer-costs.ts (time of a
 * layer), collectives.ts (communication), estimate-cache.ts (the memo plan search shares).
 * @module
 */
import type { ResolvedPlan, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';
import { type Calibration, DEFAULT_CALIBRATION } from './calibration.js';
import { allGatherSeconds, allReduceSeconds, reduceScatterSeconds, sendSeconds } from './collectives.js';
import { deviceRates, memorySeconds } from './compute-rates.js';
import {
  type EstimateCache,
  groupsKey,
  type LayerCosts,
  layerCostsKey,
  memo,
  type ShapeEntry,
  shapeKey,
} from './estimate-cache.js';
import { checkPlan, type Infeasibility, outOfMemory } from './feasibility.js';
import {
  headCost,
  type LayerContext,
  type LayerCost,
  layerCost,
  type PlacedGroups,
  placeGroups,
} from './layer-costs.js';
import {
  busiestStage,
  hbmBytes,
  layerActivationBytes,
  logitsBytes,
  type MemoryBreakdown,
  type StageMemoryInputs,
  stageDenseParameters,
  stageExpertParameters,
  stageMemory,
  weightBytesPerParameter,
} from './memory.js';
import { attentionParameters, countParameters, flopsPerToken, mlpParameters } from './model-size.js';
import { bubbleSeconds, layerRange, stageSplit, stageTimes } from './pipeline.js';

export { createEstimateCache, type EstimateCache } from './estimate-cache.js';
export { checkPlan, type Infeasibility } from './feasibility.js';
export type { MemoryBreakdown } from './memory.js';

/** Seconds of one optimizer step, by cause. */
export interface StepBreakdown {
  readonly seconds: number;
  /** Forward, backward and recomputation of every micro-batch, averaged over pipeline stages. */
  readonly compute: number;
  /** Pipeline fill and drain. */
  readonly bubble: number;
  /** Time the slowest stage adds over the average one (uneven layer split, embedding, output layer). */
  readonly imbalance: number;
  readonly exposedCommunication: {
    readonly tp: number;
    readonly cp: number;
    readonly ep: number;
    readonly pp: number;
    readonly dp: number;
  };
  readonly optimizer: number;
}

/** A successful estimate. */
export interface Estimate {
  readonly ok: true;
  readonly step: StepBreakdown;
  readonly microBatchesPerStep: number;
  readonly layersPerStage: { readonly min: number; readonly max: number };
  readonly tokensPerSecond: number;
  readonly tokensPerSecondPerGpu: number;
  /** Model FLOPs (docs/model.md) per second per GPU, TFLOP/s. */
  readonly modelTflopsPerGpu: number;
  /** Model FLOPs utilisation against the dense peak of the training precision. */
  readonly mfu: number;
  /** Hardware FLOPs (causal attention, recomputation included) utilisation. */
  readonly hfu: number;
  readonly memory: MemoryBreakdown;
  readonly optimizerSteps: number;
  readonly timeToTrainSeconds: number;
  readonly gpuHours: number;
}

/** An estimate or the reasons the plan cannot run (with the memory breakdown when it does not fit). */
export type EstimateResult =
  | Estimate
  | { readonly ok: false; readonly issues: readonly Infeasibility[]; readonly memory?: MemoryBreakdown };

/** Options of {@link estimate}. */
export interface EstimateOptions {
  /** Fitted constants; the default is the shipped fit (perf/calibration.ts). */
  readonly calibration?: Calibration;
  /**
   * Memo shared by estimates of one workload on one system (plan search): plans that differ only in PP, virtual
   * stages or DP reuse placements, activation sizes and per-layer costs. Never share it across workloads or
   * systems. Create one with {@link createEstimateCache}.
   */
  readonly cache?: EstimateCache;
}

/** The layer-cost map of a shape without a cache: never written, since its key is always undefined then. */
const NO_MEMO: Map<number, LayerCosts> = new Map();

/** Estimates one training step of `workload` on `system` under `plan`. */
export function estimate(
  workload: ResolvedWorkload,
  system: ResolvedSystem,
  plan: ResolvedPlan,
  options: EstimateOptions = {},
): EstimateResult {
  const issues = checkPlan(workload, system, plan);
  if (issues.length > 0) return { ok: false, issues };

  const { model, training } = workload;
  const cache = options.cache;
  const p = plan.pp;
  const v = plan.virtualStages;
  const rates = deviceRates(system.accelerator, options.calibration);
  const links = memo(cache?.groups, cache && groupsKey(plan), () => placeGroups(system, plan));
  const ctx: LayerContext = {
    model,
    plan,
    system,
    rates,
    precision: training.precision,
    sequenceLength: training.sequenceLength,
    tpLink: links.tp,
    cpLink: links.cp,
    epLink: links.ep,
  };
  // Layers of each stage: chunk c belongs to stage c mod p (interleaved assignment).
  const split = stageSplit(workload, p, v);
  const { chunkMax, stageDense, stageMoe } = split;

  // Full recomputation of only `recomputeLayers` layers per chunk (Megatron block method): mix the costs and
  // activations of recomputed and stored layers by the recomputed share.
  const recomputedShare =
    plan.recomputation === 'full' ? Math.min(1, (plan.recomputeLayers ?? chunkMax) / chunkMax) : 0;
  const microBatches = training.globalBatchSequences / (plan.dp * plan.microBatch);

  // Memory first, before any timing, so plan search prunes what does not fit cheaply.
  const shape: ShapeEntry = memo(cache?.shapes, cache && shapeKey(plan, chunkMax), () => ({
    activations: layerActivationBytes(
      model,
      {
        s: training.sequenceLength,
        b: plan.microBatch,
        tp: plan.tp,
        cp: plan.cp,
        sequenceParallel: plan.sequenceParallel,
        flashAttention: plan.flashAttention,
        recomputation: plan.recomputation,
        gemmInputBytes: training.precision === 'bf16' ? 2 : 1,
      },
      recomputedShare,
    ),
    layers: cache ? new Map() : NO_MEMO,
  }));
  // Parameters one GPU holds per layer: attention and dense MLP / t, routed experts × E/ep, router and shared
  // experts / t, embedding and output layer / t.
  const counts = countParameters(model);
  const memoryInputs: StageMemoryInputs = {
    split,
    pp: p,
    virtualStages: v,
    microBatches,
    parameters: {
      attention: attentionParameters(model) / plan.tp,
      denseMlp: mlpParameters(model, model.ffnHiddenSize) / plan.tp,
      moeShared: model.moe ? (counts.moeLayerTotal - model.moe.experts * counts.expertPerLayer) / plan.tp : 0,
      experts: model.moe ? (model.moe.experts / plan.ep) * counts.expertPerLayer : 0,
      embedding: (model.vocabSize * model.hiddenSize) / plan.tp,
      separateHead: p > 1 || !model.tiedEmbeddings,
    },
    sharding: plan.sharding,
    denseShards: links.dp.size,
    expertShards: links.expertDp.size,
    weightBytes: weightBytesPerParameter(plan, training.precision),
    activations: shape.activations,
    logitsBytes: logitsBytes(plan.microBatch, training.sequenceLength, model.vocabSize, plan.cp, plan.tp),
    capacityBytes: hbmBytes(system.accelerator.hbmGiB),
  };
  const memory = stageMemory(memoryInputs, busiestStage(memoryInputs));
  if (memory.total > memory.capacity) return { ok: false, memory, issues: [outOfMemory(memory, p)] };

  // The layer costs depend on what the activations do plus EP and the overlaps: a second level of keys.
  const { dense, moe, head } = memo(shape.layers, cache && layerCostsKey(plan), () =>
    layerCosts(ctx, recomputedShare, options.calibration ?? DEFAULT_CALIBRATION),
  );
  const times = stageTimes(split, dense, moe, head);
  const slowest = times.slowest;

  // 1F1B: m micro-batches at the slowest stage's pace plus the fill and drain (Narayanan et al. 2021 sec. 2.2).
  const bubble = bubbleSeconds(p, v, times.meanSeconds);
  const pipeline = microBatches * times.maxSeconds + bubble;

  // Pipeline point-to-point: activations (sharded by sequence parallelism) forward, gradients backward; hidden
  // behind compute in steady state, exposed during fill and drain.
  const boundaryBytes =
    (2 * plan.microBatch * training.sequenceLength * model.hiddenSize) /
    plan.cp /
    (plan.sequenceParallel ? plan.tp : 1);
  const p2p = p > 1 ? sendSeconds(links.pp, boundaryBytes) : 0;
  const exposedPp = 2 * (p - 1) * p2p + (plan.overlap.ppComm ? 0 : 2 * microBatches * v * p2p);

  // Data-parallel communication and the optimizer step of the slowest stage's GPUs.
  const busiest = {
    dense: stageDenseParameters(memoryInputs, slowest),
    expert: stageExpertParameters(memoryInputs, slowest),
  };
  const exposedDp = exposedDataParallelSeconds({
    plan,
    links,
    parameters: busiest,
    denseLayers: stageDense[slowest] ?? 0,
    moeLayers: stageMoe[slowest] ?? 0,
    dense,
    moe,
    microBatches,
  });

  // Optimizer: Adam reads FP32 gradients, reads and writes master weights, momentum and variance, writes BF16
  // weights (4 + 8 + 8 + 8 + 2 = 30 bytes per parameter of the local shard), plus a gradient-norm pass (4 bytes).
  const shard = (parameters: number, group: number) => (plan.sharding !== 'none' ? parameters / group : parameters);
  const optimizerParameters = shard(busiest.dense, links.dp.size) + shard(busiest.expert, links.expertDp.size);
  const optimizer = memorySeconds(rates, 34 * optimizerParameters);

  // Exposed in-layer communication averaged over stages; the slowest stage's excess over the mean is imbalance,
  // so the parts add up to m·t_max.
  // A site calibration (src/spec/site-calibration.ts) divides every part of the modelled step by the measured
  // ratio modelled ÷ measured; 1 (no calibration) leaves the model as it is.
  const site = 1 / (system.siteEfficiency ?? 1);
  const stepSeconds = (pipeline + exposedPp + exposedDp + optimizer) * site;
  const computeSeconds = microBatches * times.meanComputeSeconds * site;

  const tokensPerStep = training.globalBatchTokens;
  const tokensPerSecond = tokensPerStep / stepSeconds;
  const modelFlopsPerStep = flopsPerToken(model, training.sequenceLength).total * tokensPerStep;
  const peak = (system.accelerator.peakTflops[training.precision] ?? system.accelerator.peakTflops.bf16) * 1e12;
  // Every GPU of a stage runs that stage's layers on its slice: dp·tp·cp GPUs per stage, m micro-batches.
  const layerFlops =
    stageDense.reduce((a, b) => a + b, 0) * dense.hardwareFlops +
    stageMoe.reduce((a, b) => a + b, 0) * moe.hardwareFlops;
  const hardwareFlopsPerStep = plan.dp * plan.tp * plan.cp * microBatches * (layerFlops + head.flops);
  const optimizerSteps = Math.ceil(training.totalTokens / tokensPerStep);
  const timeToTrainSeconds = optimizerSteps * stepSeconds;
  return {
    ok: true,
    step: {
      seconds: stepSeconds,
      compute: computeSeconds,
      bubble: bubble * site,
      imbalance: microBatches * (times.maxSeconds - times.meanSeconds) * site,
      exposedCommunication: {
        tp: microBatches * times.exposedTp * site,
        cp: microBatches * times.exposedCp * site,
        ep: microBatches * times.exposedEp * site,
        pp: exposedPp * site,
        dp: exposedDp * site,
      },
      optimizer: optimizer * site,
    },
    microBatchesPerStep: microBatches,
    layersPerStage: layerRange(split),
    tokensPerSecond,
    tokensPerSecondPerGpu: tokensPerSecond / system.gpuCount,
    modelTflopsPerGpu: modelFlopsPerStep / stepSeconds / system.gpuCount / 1e12,
    mfu: modelFlopsPerStep / stepSeconds / system.gpuCount / peak,
    hfu: hardwareFlopsPerStep / stepSeconds / system.gpuCount / peak,
    memory,
    optimizerSteps,
    timeToTrainSeconds,
    gpuHours: (timeToTrainSeconds * system.gpuCount) / 3600,
  };
}

/** What the data-parallel communication of a step depends on: the slowest stage's parameters and layers. */
interface DataParallelInputs {
  readonly plan: ResolvedPlan;
  readonly links: PlacedGroups;
  /** Dense and routed-expert parameters on one GPU of the stage. */
  readonly parameters: { readonly dense: number; readonly expert: number };
  readonly denseLayers: number;
  readonly moeLayers: number;
  readonly dense: LayerCost;
  readonly moe: LayerCost;
  readonly microBatches: number;
}

/**
 * Exposed data-parallel communication of one step, seconds: gradient reduction and parameter all-gather
 * (distributed optimizer), bucketed and overlapped with the backward (gradients) and forward (parameters) of a
 * micro-batch (Megatron-Core DDP), or ZeRO-3/FSDP's per-layer gathers and reduce-scatters every micro-batch.
 */
function exposedDataParallelSeconds(inputs: DataParallelInputs): number {
  const { plan, links, parameters: busiest, denseLayers, moeLayers, dense, moe, microBatches } = inputs;
  const shardedOptimizer = plan.sharding !== 'none';
  const gradientBytes = 2; // BF16 gradient reduction
  const dpGroups = [
    { link: links.dp, parameters: busiest.dense },
    { link: links.expertDp, parameters: busiest.expert },
  ];
  let dpReduce = 0;
  let dpGather = 0;
  let fsdpGather = 0;
  let fsdpReduce = 0;
  for (const { link, parameters } of dpGroups) {
    if (parameters === 0 || link.size <= 1) continue;
    if (plan.sharding === 'zero3' || plan.sharding === 'fsdp') {
      // Weights gathered layer by layer for forward and again for backward, gradients reduce-scattered layer by
      // layer, every micro-batch (PyTorch FSDP / ZeRO-3 units are layers): each collective pays its latency.
      const units = Math.max(1, denseLayers + moeLayers);
      fsdpGather += 2 * units * allGatherSeconds(link, (2 * parameters) / units);
      fsdpReduce += units * reduceScatterSeconds(link, (gradientBytes * parameters) / units);
    } else if (shardedOptimizer) {
      dpReduce += reduceScatterSeconds(link, gradientBytes * parameters);
      dpGather += allGatherSeconds(link, 2 * parameters);
    } else {
      dpReduce += allReduceSeconds(link, gradientBytes * parameters);
    }
  }
  const stageBackward = denseLayers * (dense.backward + dense.recompute) + moeLayers * (moe.backward + moe.recompute);
  const stageForward = denseLayers * dense.forward + moeLayers * moe.forward;
  // Megatron-Core DDP buckets (bucket_size default max(40M, 1M·dp) parameters; we take 40M): the last is exposed.
  const bucketShare = Math.min(1, 40e6 / Math.max(1, busiest.dense + busiest.expert));
  const exposedReduce = plan.overlap.gradReduce ? Math.max(bucketShare * dpReduce, dpReduce - stageBackward) : dpReduce;
  const exposedGather = plan.overlap.paramGather ? Math.max(bucketShare * dpGather, dpGather - stageForward) : dpGather;
  // ZeRO-3/FSDP: prefetched gathers hide behind the micro-batch's compute, reduce-scatters behind its backward,
  // each only when its overlap is on.
  const hiddenGather = plan.overlap.paramGather ? Math.min(fsdpGather, stageForward + stageBackward) : 0;
  const hiddenReduce = plan.overlap.gradReduce ? Math.min(fsdpReduce, stageBackward) : 0;
  const exposedFsdp = microBatches * (fsdpGather - hiddenGather + fsdpReduce - hiddenReduce);
  return exposedReduce + exposedGather + exposedFsdp;
}

/**
 * Costs of a dense and an MoE layer and of the output layer. Partial full recomputation mixes the costs of
 * recomputed and stored layers by `recomputedShare`; the MoE block runs at the fitted `moeLayerEfficiency` of its
 * modelled speed (calibration.ts), the rest of the layer does not.
 */
function layerCosts(ctx: LayerContext, recomputedShare: number, calibration: Calibration): LayerCosts {
  const plan = ctx.plan;
  const storedPlan = { ...plan, recomputation: 'none' as const };
  const mixed = (moeLayer: boolean): LayerCost => {
    const full = layerCost(ctx, moeLayer);
    if (plan.recomputation !== 'full' || recomputedShare >= 1) return full;
    const stored = layerCost({ ...ctx, plan: storedPlan }, moeLayer);
    const mix = (a: number, b: number) => recomputedShare * a + (1 - recomputedShare) * b;
    return {
      ...full,
      recompute: mix(full.recompute, stored.recompute),
      exposedTp: mix(full.exposedTp, stored.exposedTp),
      hardwareFlops: mix(full.hardwareFlops, stored.hardwareFlops),
    };
  };
  const dense = mixed(false);
  const moeEfficiency = calibration.moeLayerEfficiency;
  const slowed = (cost: LayerCost): LayerCost => {
    const extra = cost.expertForward * (1 / moeEfficiency - 1);
    return {
      ...cost,
      forward: cost.forward + extra,
      backward: cost.backward + 2 * extra,
      recompute: cost.recompute > 0 ? cost.recompute + extra * Math.min(1, cost.recompute / cost.forward) : 0,
    };
  };
  const moe = ctx.model.moe ? slowed(mixed(true)) : dense;
  return { dense, moe, head: headCost(ctx) };
}
