/**
 * The estimate: for one workload, system and plan, the step time broken into compute, exposed communication,
 * pipeline bubble and optimizer; throughput, MFU and HFU; memory per GPU with a fit check; time to train.
 * Infeasible plans come back as typed reasons, never as exceptions. docs/model.md explains every term.
 * @module
 */
import type { ResolvedPlan, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';
import { type Calibration, DEFAULT_CALIBRATION } from './calibration.js';
import { allGatherSeconds, allReduceSeconds, reduceScatterSeconds, sendSeconds } from './collectives.js';
import { deviceRates, memorySeconds } from './compute-rates.js';
import { headCost, type LayerContext, type LayerCost, layerCost, placeGroups } from './layer-costs.js';
import {
  ALLOCATOR_RESERVE_FRACTION,
  activationBytesPerLayer,
  COMMUNICATION_BUFFER_BYTES,
  stateBytes,
} from './memory.js';
import { attentionParameters, countParameters, flopsPerToken, mlpParameters } from './model-size.js';

/** Why a plan cannot run. */
export interface Infeasibility {
  readonly code:
    | 'tp_divides_heads'
    | 'tp_exceeds_domain'
    | 'gpu_count'
    | 'pipeline_layers'
    | 'global_batch'
    | 'expert_parallel'
    | 'context_parallel'
    | 'out_of_memory';
  /** The plan or spec field at fault. */
  readonly path: string;
  readonly message: string;
}

/** Memory of the busiest GPU, bytes. */
export interface MemoryBreakdown {
  readonly weights: number;
  readonly gradients: number;
  readonly optimizer: number;
  readonly activations: number;
  readonly buffers: number;
  readonly reserve: number;
  readonly total: number;
  readonly capacity: number;
  /** The pipeline stage (0 = first) that needs the most memory. */
  readonly stage: number;
}

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

const GiB = 2 ** 30;

/** The out-of-memory reason; its message is written only when read (plan search discards most of them). */
class OutOfMemory implements Infeasibility {
  readonly code = 'out_of_memory' as const;
  readonly path = 'plan';
  constructor(
    private readonly memory: MemoryBreakdown,
    private readonly pp: number,
  ) {}

  get message(): string {
    const m = this.memory;
    const gib = (bytes: number) => (bytes / GiB).toFixed(1);
    return `needs ${gib(m.total)} GiB per GPU on pipeline stage ${m.stage + 1} of ${this.pp}, the GPU has ${gib(m.capacity)} GiB (weights ${gib(m.weights)}, gradients ${gib(m.gradients)}, optimizer ${gib(m.optimizer)}, activations ${gib(m.activations)}, buffers and reserve ${gib(m.buffers + m.reserve)})`;
  }

  /** Plain data for JSON and structured clone (the getter is not copied otherwise). */
  toJSON(): Infeasibility {
    return { code: this.code, path: this.path, message: this.message };
  }
}

function layerRange(dense: readonly number[], moe: readonly number[]): { min: number; max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < dense.length; i++) {
    const layers = (dense[i] ?? 0) + (moe[i] ?? 0);
    if (layers < min) min = layers;
    if (layers > max) max = layers;
  }
  return { min, max };
}

/** Checks that the plan can be laid out at all. */
export function checkPlan(workload: ResolvedWorkload, system: ResolvedSystem, plan: ResolvedPlan): Infeasibility[] {
  const { model, training } = workload;
  const issues: Infeasibility[] = [];
  for (const field of ['tp', 'pp', 'dp', 'cp', 'ep', 'virtualStages', 'microBatch'] as const) {
    if (!Number.isInteger(plan[field]) || plan[field] < 1) {
      return [
        {
          code: 'gpu_count',
          path: `plan.${field}`,
          message: `${field} must be a positive integer, got ${plan[field]}`,
        },
      ];
    }
  }
  const kvHeads = model.mla ? model.heads : model.kvHeads;
  if (model.heads % plan.tp !== 0 || (kvHeads % plan.tp !== 0 && plan.tp % kvHeads !== 0)) {
    issues.push({
      code: 'tp_divides_heads',
      path: 'plan.tp',
      message: `tp ${plan.tp} must divide the ${model.heads} attention heads and the ${kvHeads} key/value heads (or be a multiple of them)`,
    });
  }
  if (plan.tp > system.scaleUp.domainSize) {
    issues.push({
      code: 'tp_exceeds_domain',
      path: 'plan.tp',
      message: `tp ${plan.tp} is wider than the scale-up domain (${system.scaleUp.domainSize} GPUs): tensor parallelism needs NVLink-class bandwidth`,
    });
  }
  const used = plan.tp * plan.pp * plan.cp * plan.dp;
  if (used !== system.gpuCount) {
    issues.push({
      code: 'gpu_count',
      path: 'plan.dp',
      message: `tp·pp·cp·dp = ${plan.tp}·${plan.pp}·${plan.cp}·${plan.dp} = ${used} GPUs, but the system has ${system.gpuCount}`,
    });
  }
  // Megatron-Core pipeline layouts may count the embedding and the loss as one layer each.
  if (model.layers + 2 < plan.pp * plan.virtualStages) {
    issues.push({
      code: 'pipeline_layers',
      path: 'plan.pp',
      message: `${model.layers} layers (plus embedding and loss) cannot fill pp·virtualStages = ${plan.pp * plan.virtualStages} model chunks`,
    });
  }
  const sequencesPerReplica = training.globalBatchSequences / plan.dp;
  if (!Number.isInteger(sequencesPerReplica / plan.microBatch)) {
    issues.push({
      code: 'global_batch',
      path: 'plan.microBatch',
      message: `the global batch of ${training.globalBatchSequences} sequences does not split into micro-batches of ${plan.microBatch} over dp ${plan.dp}`,
    });
  }
  if (plan.ep > 1) {
    if (!model.moe) {
      issues.push({
        code: 'expert_parallel',
        path: 'plan.ep',
        message: 'expert parallelism needs an MoE model: set ep: 1',
      });
    } else if (model.moe.experts % plan.ep !== 0 || (plan.tp * plan.cp * plan.dp) % plan.ep !== 0) {
      issues.push({
        code: 'expert_parallel',
        path: 'plan.ep',
        message: `ep ${plan.ep} must divide the ${model.moe.experts} experts and tp·cp·dp = ${plan.tp * plan.cp * plan.dp}`,
      });
    }
  }
  if (model.moe && plan.tp > 1 && !plan.sequenceParallel) {
    issues.push({
      code: 'expert_parallel',
      path: 'plan.sequenceParallel',
      message:
        'MoE layers with tensor parallelism need sequence parallelism (Megatron-Core): set sequenceParallel: true',
    });
  }
  if (plan.cp > 1 && training.sequenceLength % (2 * plan.cp) !== 0) {
    issues.push({
      code: 'context_parallel',
      path: 'plan.cp',
      message: `sequence length ${training.sequenceLength} must split into 2·cp = ${2 * plan.cp} chunks for load-balanced context parallelism`,
    });
  }
  return issues;
}

/** MoE layers among layers [start, end): after `firstDenseLayers`, every `layerInterval`-th one. */
function moeLayersIn(workload: ResolvedWorkload, start: number, end: number): number {
  const moe = workload.model.moe;
  if (!moe) return 0;
  const from = Math.max(start, moe.firstDenseLayers) - moe.firstDenseLayers;
  const to = end - moe.firstDenseLayers;
  if (to <= from) return 0;
  // Multiples of the interval in [from, to).
  return Math.ceil(to / moe.layerInterval) - Math.ceil(from / moe.layerInterval);
}

/**
 * Micro-batches' worth of activations pipeline stage r (0-based) holds at its peak. Plain 1F1B: min(m, p − r).
 * Interleaved: Megatron-Core warms up 2(p − r − 1) + (v − 1)·p chunks and holds one more, each a v-th of the
 * stage's layers, which at r = 0 gives Narayanan et al.'s p·(1 + (p − 1)/(p·v)).
 */
export function inFlightMicroBatches(stage: number, pp: number, virtualStages: number, microBatches: number): number {
  if (virtualStages === 1) return Math.min(microBatches, pp - stage);
  const chunks = Math.min(microBatches * virtualStages, 2 * (pp - stage - 1) + (virtualStages - 1) * pp + 1);
  return chunks / virtualStages;
}

/**
 * Splits the layers over pp·v model chunks as evenly as possible, extra layers going to the middle chunks so the
 * end stages, which also carry the embedding and the output layer, get the fewer (Megatron-Core pipeline layouts).
 */
export function splitLayers(layers: number, chunks: number): number[] {
  if (layers <= chunks) {
    // More chunks than layers: the embedding and the loss take the end chunks (Megatron-Core layouts).
    const counts = new Array<number>(chunks).fill(0);
    const start = chunks - layers > 1 ? 1 : 0;
    for (let i = 0; i < layers; i++) counts[start + i] = 1;
    return counts;
  }
  const base = Math.floor(layers / chunks);
  const extra = layers - base * chunks;
  const counts = new Array<number>(chunks).fill(base);
  const start = Math.floor((chunks - extra) / 2);
  for (let i = 0; i < extra; i++) counts[start + i] = (counts[start + i] ?? base) + 1;
  return counts;
}

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

/** Memo of placements, activation sizes and layer costs, keyed by packed integers (cheap to hash). */
export interface EstimateCache {
  readonly links: Map<number, unknown>;
  readonly activations: Map<number, unknown>;
  readonly layers: Map<number, Map<number, unknown>>;
}

/** An empty memo for one workload on one system. */
export function createEstimateCache(): EstimateCache {
  return { links: new Map(), activations: new Map(), layers: new Map() };
}

const RECOMPUTATION_CODE = { none: 0, selective: 1, full: 2 } as const;

const stageCache = new WeakMap<ResolvedWorkload['model'], Map<number, StageSplit>>();

/** Layers per chunk, and dense and MoE layers per pipeline stage. Shared and frozen: never mutate. */
interface StageSplit {
  readonly chunkLayers: readonly number[];
  /** Layers of the largest chunk (at least 1). */
  readonly chunkMax: number;
  readonly stageDense: readonly number[];
  readonly stageMoe: readonly number[];
}

/** How the layers fall on p stages with v chunks each (chunk c on stage c mod p), memoised per model. */
function stageSplit(workload: ResolvedWorkload, p: number, v: number): StageSplit {
  let byModel = stageCache.get(workload.model);
  if (!byModel) {
    byModel = new Map();
    stageCache.set(workload.model, byModel);
  }
  const key = p * 65536 + v;
  let split = byModel.get(key);
  if (!split) {
    const chunkLayers = splitLayersCached(workload.model.layers, p * v);
    const stageDense = new Array<number>(p).fill(0);
    const stageMoe = new Array<number>(p).fill(0);
    let layerIndex = 0;
    for (let chunk = 0; chunk < chunkLayers.length; chunk++) {
      const count = chunkLayers[chunk] ?? 0;
      const moeCount = moeLayersIn(workload, layerIndex, layerIndex + count);
      const stage = chunk % p;
      stageMoe[stage] = (stageMoe[stage] ?? 0) + moeCount;
      stageDense[stage] = (stageDense[stage] ?? 0) + count - moeCount;
      layerIndex += count;
    }
    let chunkMax = 1;
    for (const count of chunkLayers) if (count > chunkMax) chunkMax = count;
    // Not frozen: frozen arrays lose V8's fast element access; the readonly types keep callers honest.
    split = { chunkLayers, chunkMax, stageDense, stageMoe };
    byModel.set(key, split);
  }
  return split;
}

const splitCache = new Map<number, readonly number[]>();

/** {@link splitLayers}, memoised (the result is shared: never mutate it). */
function splitLayersCached(layers: number, chunks: number): readonly number[] {
  const key = layers * 65536 + chunks;
  let counts = splitCache.get(key);
  if (!counts) {
    counts = splitLayers(layers, chunks);
    splitCache.set(key, counts);
  }
  return counts;
}

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
  const p = plan.pp;
  const v = plan.virtualStages;
  const rates = deviceRates(system.accelerator, options.calibration);
  // tp < 2^7, cp < 2^6, ep < 2^10, dp < 2^21: 44 bits.
  const linksKey = ((plan.tp * 64 + plan.cp) * 1024 + plan.ep) * 2097152 + plan.dp;
  let links = options.cache?.links.get(linksKey) as ReturnType<typeof placeGroups> | undefined;
  if (!links) {
    links = placeGroups(system, plan);
    options.cache?.links.set(linksKey, links);
  }
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
  const { chunkMax, stageDense, stageMoe } = stageSplit(workload, p, v);

  // Full recomputation of only `recomputeLayers` layers per chunk (Megatron block method): mix the costs and
  // activations of recomputed and stored layers by the recomputed share.
  const recomputedShare =
    plan.recomputation === 'full' ? Math.min(1, (plan.recomputeLayers ?? chunkMax) / chunkMax) : 0;
  const microBatches = training.globalBatchSequences / (plan.dp * plan.microBatch);

  // Parameters held by each stage's GPUs.
  const attention = attentionParameters(model) / plan.tp;
  const denseMlp = mlpParameters(model, model.ffnHiddenSize) / plan.tp;
  const counts = countParameters(model);
  const expertsHere = model.moe ? (model.moe.experts / plan.ep) * counts.expertPerLayer : 0;
  const moeShared = model.moe ? (counts.moeLayerTotal - model.moe.experts * counts.expertPerLayer) / plan.tp : 0;
  const embedding = (model.vocabSize * model.hiddenSize) / plan.tp;
  const stageParameters = (stage: number) => {
    const d = stageDense[stage] ?? 0;
    const m = stageMoe[stage] ?? 0;
    // The output layer has its own matrix unless tied to the embedding on the same GPU (pp = 1).
    const ends = (stage === 0 ? embedding : 0) + (stage === p - 1 && (p > 1 || !model.tiedEmbeddings) ? embedding : 0);
    return { dense: (d + m) * attention + d * denseMlp + m * moeShared + ends, expert: m * expertsHere };
  };

  // Memory first, before any timing, so plan search prunes what does not fit cheaply: the first stage keeps the
  // most micro-batches in flight, the last also holds the logits.
  const shape = {
    s: training.sequenceLength,
    b: plan.microBatch,
    tp: plan.tp,
    cp: plan.cp,
    sequenceParallel: plan.sequenceParallel,
    flashAttention: plan.flashAttention,
    recomputation: plan.recomputation,
    gemmInputBytes: training.precision === 'bf16' ? 2 : 1,
  };
  const activationsPerLayer = (moeLayer: boolean) => {
    const kept = activationBytesPerLayer(model, shape, moeLayer);
    if (plan.recomputation !== 'full' || recomputedShare >= 1) return kept;
    const stored = activationBytesPerLayer(model, { ...shape, recomputation: 'none' }, moeLayer);
    return recomputedShare * kept + (1 - recomputedShare) * stored;
  };
  // tp, cp, micro-batch, sequence parallel, flash, recomputation and its share (recomputed layers of the
  // largest chunk): 7 + 6 + 7 + 1 + 1 + 2 + 9 + 9 = 42 bits.
  const activationKey =
    ((((((plan.tp * 64 + plan.cp) * 128 + plan.microBatch) * 2 + (plan.sequenceParallel ? 1 : 0)) * 2 +
      (plan.flashAttention ? 1 : 0)) *
      4 +
      RECOMPUTATION_CODE[plan.recomputation]) *
      512 +
      Math.min(511, plan.recomputeLayers ?? 511)) *
      512 +
    Math.min(511, chunkMax);
  let activations = options.cache?.activations.get(activationKey) as [number, number, number] | undefined;
  if (!activations) {
    const denseBytes = activationsPerLayer(false);
    activations = [
      denseBytes,
      model.moe ? activationsPerLayer(true) : denseBytes,
      plan.recomputation === 'full'
        ? activationBytesPerLayer(model, { ...shape, recomputation: 'selective' }, Boolean(model.moe))
        : 0,
    ];
    options.cache?.activations.set(activationKey, activations);
  }
  const [denseActivations, moeActivations, fullWorkingSet] = activations;
  const memoryOf = (stage: number): MemoryBreakdown => {
    const parameters = stageParameters(stage);
    const weightBytes = plan.lowPrecisionWeights && training.precision !== 'bf16' ? 1 : 2;
    const denseState = stateBytes(parameters.dense, plan.sharding, links.dp.size, weightBytes);
    const expertState = stateBytes(parameters.expert, plan.sharding, links.expertDp.size, weightBytes);
    const inFlight = inFlightMicroBatches(stage, p, v, microBatches);
    const perMicroBatch = (stageDense[stage] ?? 0) * denseActivations + (stageMoe[stage] ?? 0) * moeActivations;
    // Output layer: BF16 logits and the FP32 softmax the fused cross-entropy keeps for backward (6 B per logit).
    const logits =
      stage === p - 1 ? (6 * plan.microBatch * training.sequenceLength * model.vocabSize) / plan.cp / plan.tp : 0;
    const gathered =
      plan.sharding === 'zero3' || plan.sharding === 'fsdp' ? 2 * 2 * (attention + Math.max(denseMlp, expertsHere)) : 0;
    const weights = denseState.weights + expertState.weights + gathered;
    const gradients = denseState.gradients + expertState.gradients;
    const optimizerState = denseState.optimizer + expertState.optimizer;
    const activations = inFlight * perMicroBatch + fullWorkingSet + logits;
    const capacity = system.accelerator.hbmGiB * GiB;
    const reserve = ALLOCATOR_RESERVE_FRACTION * capacity;
    const totalBytes = weights + gradients + optimizerState + activations + COMMUNICATION_BUFFER_BYTES + reserve;
    return {
      weights,
      gradients,
      optimizer: optimizerState,
      activations,
      buffers: COMMUNICATION_BUFFER_BYTES,
      reserve,
      total: totalBytes,
      capacity,
      stage,
    };
  };
  // Every stage is checked: the first holds the most micro-batches, middle stages may hold extra layers, the
  // last holds the output layer. The scan uses bytes per parameter so it allocates nothing (hot path).
  const weightBytes = plan.lowPrecisionWeights && training.precision !== 'bf16' ? 1 : 2;
  const perDense = stateBytes(1, plan.sharding, links.dp.size, weightBytes);
  const perExpert = stateBytes(1, plan.sharding, links.expertDp.size, weightBytes);
  const denseBytes = perDense.weights + perDense.gradients + perDense.optimizer;
  const expertBytes = perExpert.weights + perExpert.gradients + perExpert.optimizer;
  let busiestStage = 0;
  let busiestBytes = -1;
  for (let stage = 0; stage < p; stage++) {
    const d = stageDense[stage] ?? 0;
    const e = stageMoe[stage] ?? 0;
    const ends = (stage === 0 ? embedding : 0) + (stage === p - 1 && (p > 1 || !model.tiedEmbeddings) ? embedding : 0);
    const state =
      ((d + e) * attention + d * denseMlp + e * moeShared + ends) * denseBytes + e * expertsHere * expertBytes;
    const inFlight = inFlightMicroBatches(stage, p, v, microBatches);
    const logits =
      stage === p - 1 ? (6 * plan.microBatch * training.sequenceLength * model.vocabSize) / plan.cp / plan.tp : 0;
    const bytes = state + inFlight * (d * denseActivations + e * moeActivations) + logits;
    if (bytes > busiestBytes) {
      busiestBytes = bytes;
      busiestStage = stage;
    }
  }
  const memory = memoryOf(busiestStage);
  if (memory.total > memory.capacity) {
    return { ok: false, memory, issues: [new OutOfMemory(memory, p)] };
  }

  // The layer costs depend on what the activations do plus EP and the overlaps: a second level of keys.
  const layerKey = plan.ep * 4 + (plan.overlap.tpComm ? 2 : 0) + (plan.overlap.epComm ? 1 : 0);
  let byLayout = options.cache?.layers.get(activationKey);
  if (options.cache && !byLayout) {
    byLayout = new Map();
    options.cache.layers.set(activationKey, byLayout);
  }
  const cached = byLayout?.get(layerKey) as
    | { dense: LayerCost; moe: LayerCost; head: ReturnType<typeof headCost> }
    | undefined;
  const costs = cached ?? layerCosts();
  if (byLayout && !cached) byLayout.set(layerKey, costs);
  const { dense, moe, head } = costs;

  function layerCosts() {
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
    const moeEfficiency = (options.calibration ?? DEFAULT_CALIBRATION).moeLayerEfficiency;
    // The MoE block runs at a fitted share of its modelled speed (calibration.ts); the rest of the layer does not.
    const slowed = (cost: LayerCost): LayerCost => {
      const extra = cost.expertForward * (1 / moeEfficiency - 1);
      return {
        ...cost,
        forward: cost.forward + extra,
        backward: cost.backward + 2 * extra,
        recompute: cost.recompute > 0 ? cost.recompute + extra * Math.min(1, cost.recompute / cost.forward) : 0,
      };
    };
    const moe = model.moe ? slowed(mixed(true)) : dense;
    return { dense, moe, head: headCost(ctx) };
  }

  // Per-micro-batch time of each stage: compute, plus the in-layer communication it cannot hide. Plain loops,
  // no allocation per stage: this is the hot path of plan search.
  const denseTotal = dense.forward + dense.backward + dense.recompute;
  const moeTotal = moe.forward + moe.backward + moe.recompute;
  const stageTimes = new Array<number>(p);
  const exposedSum = { tp: 0, cp: 0, ep: 0 };
  let slowest = 0;
  let tMax = -1;
  let totalsSum = 0;
  for (let stage = 0; stage < p; stage++) {
    const d = stageDense[stage] ?? 0;
    const m = stageMoe[stage] ?? 0;
    const last = stage === p - 1;
    const compute = d * denseTotal + m * moeTotal + (last ? head.forward + head.backward : 0);
    const tp = d * dense.exposedTp + m * moe.exposedTp + (last ? head.exposedTp : 0);
    const cp = d * dense.exposedCp + m * moe.exposedCp;
    const ep = d * dense.exposedEp + m * moe.exposedEp;
    stageTimes[stage] = compute;
    exposedSum.tp += tp;
    exposedSum.cp += cp;
    exposedSum.ep += ep;
    const stageTotal = compute + tp + cp + ep;
    totalsSum += stageTotal;
    if (stageTotal > tMax) {
      tMax = stageTotal;
      slowest = stage;
    }
  }
  const tMean = totalsSum / p;

  // 1F1B with v model chunks per stage: m micro-batches at the slowest stage's pace plus a fill and drain of
  // (p−1)/v average stage times (Narayanan et al. 2021 sec. 2.2: bubble fraction (p−1)/(v·m)).
  const bubble = ((p - 1) * tMean) / v;
  const pipeline = microBatches * tMax + bubble;

  // Pipeline point-to-point: activations (sharded by sequence parallelism) forward, gradients backward; hidden
  // behind compute in steady state, exposed during fill and drain.
  const boundaryBytes =
    (2 * plan.microBatch * training.sequenceLength * model.hiddenSize) /
    plan.cp /
    (plan.sequenceParallel ? plan.tp : 1);
  const p2p = p > 1 ? sendSeconds(links.pp, boundaryBytes) : 0;
  const exposedPp = 2 * (p - 1) * p2p + (plan.overlap.ppComm ? 0 : 2 * microBatches * v * p2p);

  // Data-parallel gradient reduction and parameter all-gather (distributed optimizer), bucketed and overlapped
  // with the backward (gradients) and forward (parameters) of a micro-batch (Megatron-Core DDP).
  const busiest = stageParameters(slowest);
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
      const units = Math.max(1, (stageDense[slowest] ?? 0) + (stageMoe[slowest] ?? 0));
      fsdpGather += 2 * units * allGatherSeconds(link, (2 * parameters) / units);
      fsdpReduce += units * reduceScatterSeconds(link, (gradientBytes * parameters) / units);
    } else if (shardedOptimizer) {
      dpReduce += reduceScatterSeconds(link, gradientBytes * parameters);
      dpGather += allGatherSeconds(link, 2 * parameters);
    } else {
      dpReduce += allReduceSeconds(link, gradientBytes * parameters);
    }
  }
  const stageBackward =
    (stageDense[slowest] ?? 0) * (dense.backward + dense.recompute) +
    (stageMoe[slowest] ?? 0) * (moe.backward + moe.recompute);
  const stageForward = (stageDense[slowest] ?? 0) * dense.forward + (stageMoe[slowest] ?? 0) * moe.forward;
  const bucketShare = Math.min(1, 40e6 / Math.max(1, busiest.dense + busiest.expert)); // 40M-parameter buckets
  const exposedReduce = plan.overlap.gradReduce ? Math.max(bucketShare * dpReduce, dpReduce - stageBackward) : dpReduce;
  const exposedGather = plan.overlap.paramGather ? Math.max(bucketShare * dpGather, dpGather - stageForward) : dpGather;
  // ZeRO-3/FSDP: prefetched gathers hide behind the micro-batch's compute, reduce-scatters behind its backward,
  // each only when its overlap is on.
  const hiddenGather = plan.overlap.paramGather ? Math.min(fsdpGather, stageForward + stageBackward) : 0;
  const hiddenReduce = plan.overlap.gradReduce ? Math.min(fsdpReduce, stageBackward) : 0;
  const exposedFsdp = microBatches * (fsdpGather - hiddenGather + fsdpReduce - hiddenReduce);
  const exposedDp = exposedReduce + exposedGather + exposedFsdp;

  // Optimizer: Adam reads FP32 gradients, reads and writes master weights, momentum and variance, writes BF16
  // weights (4 + 8 + 8 + 8 + 2 = 30 bytes per parameter of the local shard), plus a gradient-norm pass (4 bytes).
  const shard = (parameters: number, group: number) => (shardedOptimizer ? parameters / group : parameters);
  const optimizerParameters = shard(busiest.dense, links.dp.size) + shard(busiest.expert, links.expertDp.size);
  const optimizer = memorySeconds(rates, 34 * optimizerParameters);

  // Exposed in-layer communication averaged over stages; the slowest stage's excess over the mean is imbalance,
  // so the parts add up to m·t_max.
  const exposed = { tp: exposedSum.tp / p, cp: exposedSum.cp / p, ep: exposedSum.ep / p };
  const stepSeconds = pipeline + exposedPp + exposedDp + optimizer;
  let meanStageTime = 0;
  for (const seconds of stageTimes) meanStageTime += seconds / p;
  const computeSeconds = microBatches * meanStageTime;

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
      bubble,
      imbalance: microBatches * (tMax - tMean),
      exposedCommunication: {
        tp: microBatches * exposed.tp,
        cp: microBatches * exposed.cp,
        ep: microBatches * exposed.ep,
        pp: exposedPp,
        dp: exposedDp,
      },
      optimizer,
    },
    microBatchesPerStep: microBatches,
    layersPerStage: layerRange(stageDense, stageMoe),
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
