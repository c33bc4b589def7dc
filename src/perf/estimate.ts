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
import { type AttentionKernel, DEFAULT_STACK, STACKS, type StackId } from '../catalog/stacks.js';
import type { ResolvedPlan, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';
import { type Calibration, DEFAULT_CALIBRATION } from './calibration.js';
import type { GroupLink } from './collectives.js';
import {
  allGatherSeconds,
  allReduceSeconds,
  allToAllSeconds,
  reduceScatterSeconds,
  sendSeconds,
} from './collectives.js';
import { type DeviceRates, deviceRates, memorySeconds } from './compute-rates.js';
import {
  type EstimateCache,
  groupsKey,
  type LayerCosts,
  type LayerTraffic,
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
  offloadedActivationBytes,
  type StageMemoryInputs,
  stageDenseParameters,
  stageExpertParameters,
  stageMemory,
  weightBytesPerParameter,
} from './memory.js';
import { attentionParameters, countParameters, flopsPerToken, mlpParameters } from './model-size.js';
import { bubbleSeconds, layerRange, moeLayersIn, type StageSplit, stageSplit, stageTimes } from './pipeline.js';

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
  /** Host copies of offloaded activations that the layers' compute does not hide (0 without offload). */
  readonly offload: number;
}

/** What the links of a GPU (its scale-up NVLink and its scale-out NIC) carry in one step. */
export interface LinkUse {
  /** Seconds of traffic of every collective and send on NVLink in one step, hidden or not. */
  readonly scaleUpBusySeconds: number;
  /** Of which hidden behind compute: never more than the compute the link overlaps. */
  readonly scaleUpHiddenSeconds: number;
  /** The same on the NIC. */
  readonly scaleOutBusySeconds: number;
  readonly scaleOutHiddenSeconds: number;
}

/** A successful estimate. */
export interface Estimate {
  readonly ok: true;
  readonly step: StepBreakdown;
  /** Traffic of the slowest stage's GPUs on each link (docs/model.md, "Collectives that share a link"). */
  readonly links: LinkUse;
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

/**
 * The attention kernel a plan runs: the unfused core without flash attention, else the plan's kernel, else its
 * stack's (src/catalog/stacks.ts; Megatron-Core's cuDNN when the plan names no stack).
 */
export function attentionKernelOf(
  plan: Pick<ResolvedPlan, 'flashAttention' | 'attentionKernel' | 'stack'>,
): AttentionKernel {
  if (!plan.flashAttention) return 'unfused';
  return plan.attentionKernel ?? STACKS[plan.stack ?? DEFAULT_STACK].attentionKernel;
}

/**
 * The plan as its stack can run it: an overlap or sequence parallelism the stack lacks is off (the stack fixes which
 * exist; the plan can only switch them off), flash attention off with the unfused kernel. A plan that names no stack
 * and no kernel is returned as it is (Megatron-Core, which has them all).
 */
export function stackPlan(plan: ResolvedPlan): ResolvedPlan {
  if (plan.stack === undefined && plan.attentionKernel === undefined) return plan;
  const stack = STACKS[plan.stack ?? DEFAULT_STACK];
  const o = plan.overlap;
  const has = stack.overlaps;
  return {
    ...plan,
    sequenceParallel: plan.sequenceParallel && stack.sequenceParallel,
    flashAttention: attentionKernelOf(plan) !== 'unfused',
    overlap: {
      tpComm: o.tpComm && has.tpComm,
      gradReduce: o.gradReduce && has.gradReduce,
      paramGather: o.paramGather && has.paramGather,
      ppComm: o.ppComm && has.ppComm,
      epComm: o.epComm && has.epComm,
    },
  };
}

/** GEMM rates scaled by a stack's efficiency, memoised per base rates and efficiency. */
const scaledRates = new WeakMap<DeviceRates, Map<string, DeviceRates>>();

/** The device rates with GEMMs at `bf16`/`fp8` of the calibrated rate (FP4 takes FP8's share); others unchanged. */
function stackRates(rates: DeviceRates, bf16: number, fp8: number): DeviceRates {
  if (bf16 === 1 && fp8 === 1) return rates;
  let byShare = scaledRates.get(rates);
  if (!byShare) {
    byShare = new Map();
    scaledRates.set(rates, byShare);
  }
  const key = `${bf16}/${fp8}`;
  let scaled = byShare.get(key);
  if (!scaled) {
    const g = rates.gemmFlops;
    scaled = { ...rates, gemmFlops: { bf16: g.bf16 * bf16, fp8: g.fp8 * fp8, fp4: g.fp4 * fp8 } };
    byShare.set(key, scaled);
  }
  return scaled;
}

/** The GEMM efficiency of a plan's stack per precision, or the plan's override for every precision. */
function gemmShares(plan: ResolvedPlan): { readonly bf16: number; readonly fp8: number } {
  if (plan.gemmEfficiency !== undefined) return { bf16: plan.gemmEfficiency, fp8: plan.gemmEfficiency };
  return STACKS[(plan.stack ?? DEFAULT_STACK) as StackId].gemmEfficiency;
}

/** Estimates one training step of `workload` on `system` under `plan`. */
export function estimate(
  workload: ResolvedWorkload,
  system: ResolvedSystem,
  planAsGiven: ResolvedPlan,
  options: EstimateOptions = {},
): EstimateResult {
  const issues = checkPlan(workload, system, planAsGiven);
  if (issues.length > 0) return { ok: false, issues };

  const plan = stackPlan(planAsGiven);
  const { model, training } = workload;
  const cache = options.cache;
  const p = plan.pp;
  const v = plan.virtualStages;
  const shares = gemmShares(plan);
  const rates = stackRates(deviceRates(system.accelerator, options.calibration), shares.bf16, shares.fp8);
  const links = memo(cache?.groups, cache && groupsKey(plan), () => placeGroups(system, plan));
  const stack = STACKS[plan.stack ?? DEFAULT_STACK];
  const stackMemory = stack.memory; // what the stack keeps (src/catalog/stacks.ts)
  const ctx: LayerContext = {
    model,
    plan,
    system,
    rates,
    precision: training.precision,
    sequenceLength: training.sequenceLength,
    attentionKernel: attentionKernelOf(plan),
    selectiveCheckpointing: stackMemory?.selectiveCheckpointing,
    fusedElementwise: plan.fusedElementwise ?? stack.fusedElementwise,
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
        selectiveCheckpointing: stackMemory?.selectiveCheckpointing,
      },
      recomputedShare,
    ),
    layers: cache ? new Map() : NO_MEMO,
  }));
  // Activation offload (pp 1): the first k layers' activations go to host memory; their bytes must fit there.
  const offloadLayers = plan.activationOffloadLayers ?? 0;
  const offloadMoe = offloadLayers > 0 ? moeLayersIn(workload, 0, offloadLayers) : 0;
  const offloadedBytes = offloadedActivationBytes(shape.activations, offloadLayers, offloadMoe);
  const hostCapacity = (system.accelerator.hostMemoryGiB ?? Number.POSITIVE_INFINITY) * 2 ** 30;
  if (offloadedBytes > hostCapacity) {
    return { ok: false, issues: [hostMemoryIssue(offloadedBytes, hostCapacity, offloadLayers)] };
  }
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
    offloadedBytes,
    logitsBytes: logitsBytes(
      plan.microBatch,
      training.sequenceLength,
      model.vocabSize,
      plan.cp,
      plan.tp,
      stackMemory?.lossBytesPerLogit,
    ),
    capacityBytes: hbmBytes(system.accelerator.hbmGiB),
    stackMemory,
  };
  const memory = stageMemory(memoryInputs, busiestStage(memoryInputs));
  if (memory.total > memory.capacity) return { ok: false, memory, issues: [outOfMemory(memory, p)] };

  // The layer costs depend on what the activations do plus EP and the overlaps: a second level of keys.
  const { dense, moe, head, traffic } = memo(shape.layers, cache && layerCostsKey(plan), () =>
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
  const dp = dataParallelSeconds({
    plan,
    links,
    parameters: busiest,
    denseLayers: stageDense[slowest] ?? 0,
    moeLayers: stageMoe[slowest] ?? 0,
    dense,
    moe,
    microBatches,
  });
  const shared = sharedLinks({ plan, links, split, slowest, microBatches, p2p }, { dense, moe, head, traffic }, dp);
  const exposedDp = dp.exposed;

  // Optimizer: Adam reads FP32 gradients, reads and writes master weights, momentum and variance, writes BF16
  // weights (4 + 8 + 8 + 8 + 2 = 30 bytes per parameter of the local shard), plus a gradient-norm pass (4 bytes).
  const shard = (parameters: number, group: number) => (plan.sharding !== 'none' ? parameters / group : parameters);
  const optimizerParameters = shard(busiest.dense, links.dp.size) + shard(busiest.expert, links.expertDp.size);
  const optimizer = memorySeconds(rates, 34 * optimizerParameters);

  // Exposed in-layer communication averaged over stages; the slowest stage's excess over the mean is imbalance,
  // so the parts add up to m·t_max.
  // A site calibration (src/spec/site-calibration.ts) divides every part of the modelled step by the measured
  // ratio modelled ÷ measured; 1 (no calibration) leaves the model as it is.
  const offload =
    offloadLayers > 0
      ? microBatches *
        offloadExposedSeconds(
          offloadedBytes,
          { dense, moe, denseLayers: stageDense[0] ?? 0, moeLayers: stageMoe[0] ?? 0 },
          system.accelerator.hostLinkGBps,
        )
      : 0;
  const site = 1 / (system.siteEfficiency ?? 1);
  const stepSeconds = (pipeline + exposedPp + exposedDp + optimizer + offload + shared.extra) * site;
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
        tp: (microBatches * times.exposedTp + shared.tp) * site,
        cp: (microBatches * times.exposedCp + shared.cp) * site,
        ep: (microBatches * times.exposedEp + shared.ep) * site,
        pp: (exposedPp + shared.pp) * site,
        dp: (exposedDp + shared.dp) * site,
      },
      optimizer: optimizer * site,
      offload: offload * site,
    },
    links: {
      scaleUpBusySeconds: shared.busyUp * site,
      scaleUpHiddenSeconds: shared.hiddenUp * site,
      scaleOutBusySeconds: shared.busyOut * site,
      scaleOutHiddenSeconds: shared.hiddenOut * site,
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

/**
 * Seconds per micro-batch that activation offload adds. Transformer Engine's OffloadSynchronizer (transformer_engine/
 * pytorch/cpu_offload.py, `_default_offload_sync_init`) copies out layers 0…k−1 one after another on its own stream,
 * layer i due before the forward of layer L − k + i, and copies them back during the backward, starting at layer
 * L − 1 − k + i, due before layer i's backward. The copies are serial on that stream while the layers compute, so
 * the forward stalls only when the k copies outlast the forward of the L − 2 layers between the first layer's end
 * and the last copy's deadline, and the backward likewise: exposed = max(0, Σ copy − (L−2)/L · F) + max(0, Σ copy −
 * (L−2)/L · B), with F and B the forward and backward of the L layers; the copies move `offloadedBytes` each way
 * ({@link offloadedActivationBytes}), `hostLinkGBps` per direction.
 */
function offloadExposedSeconds(
  offloadedBytes: number,
  stage: {
    readonly dense: LayerCost;
    readonly moe: LayerCost;
    readonly denseLayers: number;
    readonly moeLayers: number;
  },
  hostLinkGBps: number | undefined,
): number {
  const total = stage.denseLayers + stage.moeLayers;
  if (offloadedBytes <= 0 || hostLinkGBps === undefined || total < 1) return 0;
  const copies = offloadedBytes / (hostLinkGBps * 1e9);
  const share = Math.max(0, total - 2) / total;
  const forward = share * (stage.denseLayers * stage.dense.forward + stage.moeLayers * stage.moe.forward);
  const backward = share * (stage.denseLayers * stage.dense.backward + stage.moeLayers * stage.moe.backward);
  return Math.max(0, copies - forward) + Math.max(0, copies - backward);
}

/** The reason a plan's offloaded activations do not fit in host memory. */
function hostMemoryIssue(bytes: number, capacity: number, layers: number): Infeasibility {
  const gib = (b: number) => (b / 2 ** 30).toFixed(1);
  return {
    code: 'activation_offload',
    path: 'plan.activationOffloadLayers',
    message: `offloading ${layers} layers needs ${gib(bytes)} GiB of host memory per GPU, the host has ${gib(capacity)} GiB: offload fewer layers`,
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
 * Data-parallel communication of one step on the slowest stage's GPUs: what stays exposed under the
 * per-collective overlap rules, and the traffic and hidden seconds each link carries, for {@link sharedLinks}.
 */
interface DataParallelSeconds {
  /** Exposed seconds of the step under the per-collective rules. */
  readonly exposed: number;
  /** ZeRO-3/FSDP, every micro-batch: traffic and hidden seconds on the scale-up (Up) and scale-out (Out) links. */
  readonly microBatchTrafficUp: number;
  readonly microBatchTrafficOut: number;
  readonly microBatchHiddenUp: number;
  readonly microBatchHiddenOut: number;
  /** Distributed optimizer or DDP, once a step: traffic, the hidden gather (first micro-batch) and reduction (last). */
  readonly stepTrafficUp: number;
  readonly stepTrafficOut: number;
  readonly gatherHiddenUp: number;
  readonly gatherHiddenOut: number;
  readonly reduceHiddenUp: number;
  readonly reduceHiddenOut: number;
}

/** A group's collectives load the scale-out NIC when the group spans scale-up domains, else NVLink. */
const onScaleOut = (link: GroupLink) => link.domains > 1;

/**
 * Data-parallel communication of one step, seconds: gradient reduction and parameter all-gather (distributed
 * optimizer), bucketed and overlapped with the backward (gradients) and forward (parameters) of a micro-batch
 * (Megatron-Core DDP), or ZeRO-3/FSDP's per-layer gathers and reduce-scatters every micro-batch.
 */
function dataParallelSeconds(inputs: DataParallelInputs): DataParallelSeconds {
  const { plan, links, parameters: busiest, denseLayers, moeLayers, dense, moe, microBatches } = inputs;
  const shardedOptimizer = plan.sharding !== 'none';
  const fsdp = plan.sharding === 'zero3' || plan.sharding === 'fsdp';
  const gradientBytes = 2; // BF16 gradient reduction
  let dpReduce = 0;
  let dpGather = 0;
  let fsdpGather = 0;
  let fsdpReduce = 0;
  // Seconds on the scale-out link, so the scale-up share is the total less it.
  let reduceOut = 0;
  let gatherOut = 0;
  for (let group = 0; group < 2; group++) {
    const link = group === 0 ? links.dp : links.expertDp;
    const parameters = group === 0 ? busiest.dense : busiest.expert;
    if (parameters === 0 || link.size <= 1) continue;
    let reduce: number;
    let gather: number;
    if (fsdp) {
      // Weights gathered layer by layer for forward and again for backward, gradients reduce-scattered layer by
      // layer, every micro-batch (PyTorch FSDP / ZeRO-3 units are layers): each collective pays its latency.
      const units = Math.max(1, denseLayers + moeLayers);
      gather = 2 * units * allGatherSeconds(link, (2 * parameters) / units);
      reduce = units * reduceScatterSeconds(link, (gradientBytes * parameters) / units);
      fsdpGather += gather;
      fsdpReduce += reduce;
    } else if (shardedOptimizer) {
      reduce = reduceScatterSeconds(link, gradientBytes * parameters);
      gather = allGatherSeconds(link, 2 * parameters);
      dpReduce += reduce;
      dpGather += gather;
    } else {
      reduce = allReduceSeconds(link, gradientBytes * parameters);
      gather = 0;
      dpReduce += reduce;
    }
    if (onScaleOut(link)) {
      reduceOut += reduce;
      gatherOut += gather;
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
  // Hidden seconds fall on the links in proportion to each group's traffic (dense and expert DP groups may sit
  // on different links).
  const outShare = (part: number, whole: number) => (whole > 0 ? part / whole : 0);
  const fsdpHidden = hiddenGather + hiddenReduce;
  const fsdpOut = fsdp
    ? outShare(gatherOut, fsdpGather) * hiddenGather + outShare(reduceOut, fsdpReduce) * hiddenReduce
    : 0;
  const gatherHidden = dpGather - exposedGather;
  const reduceHidden = dpReduce - exposedReduce;
  const gatherHiddenOut = fsdp ? 0 : outShare(gatherOut, dpGather) * gatherHidden;
  const reduceHiddenOut = fsdp ? 0 : outShare(reduceOut, dpReduce) * reduceHidden;
  const fsdpTraffic = fsdpGather + fsdpReduce;
  const stepTraffic = dpGather + dpReduce;
  const trafficOut = gatherOut + reduceOut;
  // Written into one reused record, read at once by the caller: an object per estimate costs search speed.
  const out = DP_SCRATCH;
  out.exposed = exposedReduce + exposedGather + exposedFsdp;
  out.microBatchTrafficUp = fsdp ? fsdpTraffic - trafficOut : 0;
  out.microBatchTrafficOut = fsdp ? trafficOut : 0;
  out.microBatchHiddenUp = fsdpHidden - fsdpOut;
  out.microBatchHiddenOut = fsdpOut;
  out.stepTrafficUp = fsdp ? 0 : stepTraffic - trafficOut;
  out.stepTrafficOut = fsdp ? 0 : trafficOut;
  out.gatherHiddenUp = gatherHidden - gatherHiddenOut;
  out.gatherHiddenOut = gatherHiddenOut;
  out.reduceHiddenUp = reduceHidden - reduceHiddenOut;
  out.reduceHiddenOut = reduceHiddenOut;
  return out;
}

/** The record {@link dataParallelSeconds} fills (one thread runs one estimate at a time). */
const DP_SCRATCH: { -readonly [K in keyof DataParallelSeconds]: DataParallelSeconds[K] } = {
  exposed: 0,
  microBatchTrafficUp: 0,
  microBatchTrafficOut: 0,
  microBatchHiddenUp: 0,
  microBatchHiddenOut: 0,
  stepTrafficUp: 0,
  stepTrafficOut: 0,
  gatherHiddenUp: 0,
  gatherHiddenOut: 0,
  reduceHiddenUp: 0,
  reduceHiddenOut: 0,
};

/** What {@link sharedLinks} needs of the plan beyond the layer costs. */
interface SharedLinkInputs {
  readonly plan: ResolvedPlan;
  readonly links: PlacedGroups;
  readonly split: StageSplit;
  readonly slowest: number;
  readonly microBatches: number;
  /** One pipeline send, seconds (0 without pipeline parallelism). */
  readonly p2p: number;
}

/** Exposed seconds a step adds because collectives share a link, by cause, and each link's traffic. */
interface SharedLinks {
  /** Exposed seconds beyond the per-collective rules: the sum of the five causes below. */
  readonly extra: number;
  readonly tp: number;
  readonly cp: number;
  readonly ep: number;
  readonly pp: number;
  readonly dp: number;
  readonly busyUp: number;
  readonly hiddenUp: number;
  readonly busyOut: number;
  readonly hiddenOut: number;
}

/**
 * Collectives that share a link (docs/model.md, "Collectives that share a link"). Every overlapped collective of
 * the slowest stage's GPUs draws on one of two links, its NVLink or its NIC (the one that sets its bus bandwidth:
 * the NIC when its group spans scale-up domains). Within one micro-batch's window the seconds a link can hide are
 * at most the stage's compute of that micro-batch; the per-collective rules (TP behind the layer's GEMMs, CP behind
 * attention, EP behind another micro-batch's layer, PP in steady state, FSDP gathers behind forward and backward,
 * reduce-scatters behind backward, the distributed optimizer's reduction behind the last backward and its gather
 * behind the first forward) stay upper bounds on what each hides. Exposed = busy − min(Σ hidden by rule, window).
 */
function sharedLinks(inputs: SharedLinkInputs, costs: LayerCosts, dp: DataParallelSeconds): SharedLinks {
  const { plan, links, split, slowest, microBatches: m, p2p } = inputs;
  const { dense, moe, head, traffic } = costs;
  const d = split.stageDense[slowest] ?? 0;
  const e = split.stageMoe[slowest] ?? 0;
  const last = slowest === split.stageDense.length - 1;
  // The window: the stage's compute of one micro-batch (forward, backward, recomputation, output layer).
  const window =
    d * (dense.forward + dense.backward + dense.recompute) +
    e * (moe.forward + moe.backward + moe.recompute) +
    (last ? head.forward + head.backward : 0);
  // Traffic and what each rule hides, per micro-batch.
  const tpTraffic = d * traffic.dense.tp + e * traffic.moe.tp + (last ? traffic.headTp : 0);
  const tpHidden = tpTraffic - (d * dense.exposedTp + e * moe.exposedTp + (last ? head.exposedTp : 0));
  const cpTraffic = d * traffic.dense.cp + e * traffic.moe.cp;
  const cpHidden = cpTraffic - (d * dense.exposedCp + e * moe.exposedCp);
  const epTraffic = d * traffic.dense.ep + e * traffic.moe.ep;
  const epHidden = epTraffic - (d * dense.exposedEp + e * moe.exposedEp);
  // Steady-state 1F1B: every chunk sends its activations on and its input gradients back (the first chunk of
  // the pipeline and the last have one neighbour each), hidden when `overlap.ppComm` (Narayanan et al. 2021).
  const v = plan.virtualStages;
  const pipelineStages = split.stageDense.length;
  const sends = pipelineStages > 1 ? 2 * v - (slowest === 0 ? 1 : 0) - (last ? 1 : 0) : 0;
  const ppTraffic = sends * p2p;
  const ppHidden = plan.overlap.ppComm ? ppTraffic : 0;
  const tpOut = onScaleOut(links.tp);
  const cpOut = onScaleOut(links.cp);
  const epOut = onScaleOut(links.ep);
  const ppOut = onScaleOut(links.pp);
  const trafficUp =
    (tpOut ? 0 : tpTraffic) + (cpOut ? 0 : cpTraffic) + (epOut ? 0 : epTraffic) + (ppOut ? 0 : ppTraffic);
  const trafficOut = tpTraffic + cpTraffic + epTraffic + ppTraffic - trafficUp;
  const hiddenUp = (tpOut ? 0 : tpHidden) + (cpOut ? 0 : cpHidden) + (epOut ? 0 : epHidden) + (ppOut ? 0 : ppHidden);
  const hiddenOut = tpHidden + cpHidden + epHidden + ppHidden - hiddenUp;
  const upMb = hiddenUp + dp.microBatchHiddenUp;
  const outMb = hiddenOut + dp.microBatchHiddenOut;
  const extraUp = windowExcess(upMb, dp.gatherHiddenUp, dp.reduceHiddenUp, window, m);
  const extraOut = windowExcess(outMb, dp.gatherHiddenOut, dp.reduceHiddenOut, window, m);
  const busyUp = m * (trafficUp + dp.microBatchTrafficUp) + dp.stepTrafficUp;
  const busyOut = m * (trafficOut + dp.microBatchTrafficOut) + dp.stepTrafficOut;
  const stepHiddenUp = m * upMb + dp.gatherHiddenUp + dp.reduceHiddenUp;
  const stepHiddenOut = m * outMb + dp.gatherHiddenOut + dp.reduceHiddenOut;
  const extra = extraUp + extraOut;
  const out = SHARED_SCRATCH;
  out.extra = extra;
  out.busyUp = busyUp;
  out.busyOut = busyOut;
  out.hiddenUp = stepHiddenUp - extraUp;
  out.hiddenOut = stepHiddenOut - extraOut;
  if (extra === 0) {
    out.tp = 0;
    out.cp = 0;
    out.ep = 0;
    out.pp = 0;
    out.dp = 0;
    return out;
  }
  // What a link cannot hide is charged to its collectives in proportion to what each rule hid on it.
  const upShare = stepHiddenUp > 0 ? extraUp / stepHiddenUp : 0;
  const outShare = stepHiddenOut > 0 ? extraOut / stepHiddenOut : 0;
  const charge = (hidden: number, onNic: boolean) => m * hidden * (onNic ? outShare : upShare);
  out.tp = charge(tpHidden, tpOut);
  out.cp = charge(cpHidden, cpOut);
  out.ep = charge(epHidden, epOut);
  out.pp = charge(ppHidden, ppOut);
  out.dp =
    upShare * (m * dp.microBatchHiddenUp + dp.gatherHiddenUp + dp.reduceHiddenUp) +
    outShare * (m * dp.microBatchHiddenOut + dp.gatherHiddenOut + dp.reduceHiddenOut);
  return out;
}

/** The record {@link sharedLinks} fills (one thread runs one estimate at a time). */
const SHARED_SCRATCH: { -readonly [K in keyof SharedLinks]: SharedLinks[K] } = {
  extra: 0,
  tp: 0,
  cp: 0,
  ep: 0,
  pp: 0,
  dp: 0,
  busyUp: 0,
  hiddenUp: 0,
  busyOut: 0,
  hiddenOut: 0,
};

/**
 * Seconds over a step that one link cannot hide: in each of the m micro-batch windows it hides at most `window`
 * seconds of the `perMicroBatch` its rules would hide, plus the distributed optimizer's gather in the first window
 * and its gradient reduction in the last (one window holds both when m = 1).
 */
function windowExcess(perMicroBatch: number, gather: number, reduce: number, window: number, m: number): number {
  if (m <= 1) return Math.max(0, perMicroBatch + gather + reduce - window);
  return (
    (m - 2) * Math.max(0, perMicroBatch - window) +
    Math.max(0, perMicroBatch + gather - window) +
    Math.max(0, perMicroBatch + reduce - window)
  );
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
  // The traffic behind the exposed seconds, computed as layer-costs.ts times it before any overlap.
  const denseTraffic = trafficOf(ctx, false, recomputedShare);
  return {
    dense,
    moe,
    head: headCost(ctx),
    traffic: {
      dense: denseTraffic,
      moe: ctx.model.moe ? trafficOf(ctx, true, recomputedShare) : denseTraffic,
      headTp:
        ctx.plan.tp > 1
          ? tensorParallelPair(ctx, (2 * ctx.plan.microBatch * ctx.sequenceLength * ctx.model.hiddenSize) / ctx.plan.cp)
          : 0,
    },
  };
}

/**
 * One TP exchange of a [tokens, h] BF16 activation: an all-gather and a reduce-scatter with sequence parallelism,
 * an all-reduce without (Korthikanti et al. 2022 sec. 4.2.2).
 */
function tensorParallelPair(ctx: LayerContext, bytes: number): number {
  return ctx.plan.sequenceParallel
    ? allGatherSeconds(ctx.tpLink, bytes) + reduceScatterSeconds(ctx.tpLink, bytes)
    : allReduceSeconds(ctx.tpLink, bytes);
}

/** Traffic of one layer per micro-batch before overlap: the TP, CP and EP seconds layer-costs.ts starts from. */
function trafficOf(ctx: LayerContext, moeLayer: boolean, recomputedShare: number): LayerTraffic {
  const { model, plan } = ctx;
  const tokens = (plan.microBatch * ctx.sequenceLength) / plan.cp;
  // Two TP exchanges per layer forward and two backward (one pair in MoE layers, whose experts are not
  // tensor-parallel); full recomputation repeats the forward ones (Korthikanti et al. 2022 sec. 4.2.2).
  const pairs = moeLayer ? 1 : 2;
  const recomputed = plan.recomputation === 'full' ? recomputedShare : 0;
  const tp = plan.tp > 1 ? pairs * (2 + recomputed) * tensorParallelPair(ctx, 2 * tokens * model.hiddenSize) : 0;
  // Dispatch and combine all-to-alls forward and backward of the routed token copies (Megatron-Core MoE).
  const ep =
    moeLayer && model.moe && plan.ep > 1
      ? 4 * allToAllSeconds(ctx.epLink, (2 * tokens * model.moe.topK * model.hiddenSize) / plan.tp)
      : 0;
  return { tp, cp: contextParallelTraffic(ctx), ep };
}

/**
 * Seconds of the context-parallel ring of one layer per micro-batch: cp − 1 sends of a K/V chunk forward and twice
 * that backward (ring attention, as layer-costs.ts times it; Megatron-Core CP).
 */
function contextParallelTraffic(ctx: LayerContext): number {
  const { model, plan } = ctx;
  if (plan.cp <= 1) return 0;
  const tokens = (plan.microBatch * ctx.sequenceLength) / plan.cp;
  const kvHeads = model.mla ? model.heads : model.kvHeads;
  const qkDim = model.mla ? model.mla.qkNopeHeadDim + model.mla.qkRopeHeadDim : model.headDim;
  // K and V chunks in BF16 (2 tensors × 2 bytes), heads split by TP.
  return 3 * (plan.cp - 1) * sendSeconds(ctx.cpLink, (2 * 2 * tokens * kvHeads * qkDim) / plan.tp);
}
