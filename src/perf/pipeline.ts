/**
 * The pipeline of one plan: how the layers fall on p stages of v model chunks each (Megatron-Core layouts), how
 * many micro-batches each stage keeps in flight under 1F1B, the per-micro-batch time of every stage, and the
 * fill-and-drain bubble. docs/model.md ("Step time", "Memory per GPU") explains the formulas.
 * @module
 */
import type { ResolvedWorkload } from '../spec/resolve.js';

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

/** MoE layers among layers [start, end): after `firstDenseLayers`, every `layerInterval`-th one. */
export function moeLayersIn(workload: ResolvedWorkload, start: number, end: number): number {
  const moe = workload.model.moe;
  if (!moe) return 0;
  const from = Math.max(start, moe.firstDenseLayers) - moe.firstDenseLayers;
  const to = end - moe.firstDenseLayers;
  if (to <= from) return 0;
  // Multiples of the interval in [from, to).
  return Math.ceil(to / moe.layerInterval) - Math.ceil(from / moe.layerInterval);
}

/** Layers per chunk, and dense and MoE layers per pipeline stage. Shared and memoised: never mutate. */
export interface StageSplit {
  readonly chunkLayers: readonly number[];
  /** Layers of the largest chunk (at least 1). */
  readonly chunkMax: number;
  readonly stageDense: readonly number[];
  readonly stageMoe: readonly number[];
}

// Memos of the split, per model by (p, v) and by (layers, chunks), each key a·2^16 + b: distinct while b < 2^16,
// which the guards below make sure of (checkPlan already bounds pp·v by the layers + 2, at most 10,002).
const KEY_PART = 65536;
const stageCache = new WeakMap<ResolvedWorkload['model'], Map<number, StageSplit>>();
const splitCache = new Map<number, readonly number[]>();

/** {@link splitLayers}, memoised (the result is shared: never mutate it). */
function splitLayersCached(layers: number, chunks: number): readonly number[] {
  if (layers >= KEY_PART || chunks >= KEY_PART) return splitLayers(layers, chunks);
  const key = layers * KEY_PART + chunks;
  let counts = splitCache.get(key);
  if (!counts) {
    counts = splitLayers(layers, chunks);
    splitCache.set(key, counts);
  }
  return counts;
}

/** How the layers fall on p stages with v chunks each (chunk c on stage c mod p), memoised per model. */
export function stageSplit(workload: ResolvedWorkload, p: number, v: number): StageSplit {
  if (p >= KEY_PART || v >= KEY_PART) return computeStageSplit(workload, p, v);
  let byModel = stageCache.get(workload.model);
  if (!byModel) {
    byModel = new Map();
    stageCache.set(workload.model, byModel);
  }
  const key = p * KEY_PART + v;
  let split = byModel.get(key);
  if (!split) {
    split = computeStageSplit(workload, p, v);
    byModel.set(key, split);
  }
  return split;
}

function computeStageSplit(workload: ResolvedWorkload, p: number, v: number): StageSplit {
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
  return { chunkLayers, chunkMax, stageDense, stageMoe };
}

/** Fewest and most layers on one stage. */
export function layerRange(split: StageSplit): { min: number; max: number } {
  const { stageDense: dense, stageMoe: moe } = split;
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < dense.length; i++) {
    const layers = (dense[i] ?? 0) + (moe[i] ?? 0);
    if (layers < min) min = layers;
    if (layers > max) max = layers;
  }
  return { min, max };
}

/** Seconds of one layer kind for one micro-batch, as the stage scan needs them. */
export interface LayerSeconds {
  readonly forward: number;
  readonly backward: number;
  readonly recompute: number;
  readonly exposedTp: number;
  readonly exposedCp: number;
  readonly exposedEp: number;
}

/** Seconds of the output layer for one micro-batch (last stage only). */
export interface HeadSeconds {
  readonly forward: number;
  readonly backward: number;
  readonly exposedTp: number;
}

/** Per-micro-batch times of the stages of one pipeline. */
export interface StageTimes {
  /** The stage with the longest per-micro-batch time (compute plus exposed in-layer communication). */
  readonly slowest: number;
  /** Its time, seconds. */
  readonly maxSeconds: number;
  /** Mean over stages of the same, seconds. */
  readonly meanSeconds: number;
  /** Mean over stages of the compute alone (forward, backward, recomputation), seconds. */
  readonly meanComputeSeconds: number;
  /** Mean over stages of the exposed TP, CP and EP communication, seconds. */
  readonly exposedTp: number;
  readonly exposedCp: number;
  readonly exposedEp: number;
}

/**
 * Per-micro-batch time of each stage: compute, plus the in-layer communication it cannot hide; the last stage
 * adds the output layer. Plain loops with no allocation per stage: this is the hot path of plan search.
 */
export function stageTimes(split: StageSplit, dense: LayerSeconds, moe: LayerSeconds, head: HeadSeconds): StageTimes {
  const { stageDense, stageMoe } = split;
  const p = stageDense.length;
  const denseTotal = dense.forward + dense.backward + dense.recompute;
  const moeTotal = moe.forward + moe.backward + moe.recompute;
  let tpSum = 0;
  let cpSum = 0;
  let epSum = 0;
  let slowest = 0;
  let tMax = -1;
  let totalsSum = 0;
  let meanCompute = 0;
  for (let stage = 0; stage < p; stage++) {
    const d = stageDense[stage] ?? 0;
    const m = stageMoe[stage] ?? 0;
    const last = stage === p - 1;
    const compute = d * denseTotal + m * moeTotal + (last ? head.forward + head.backward : 0);
    const tp = d * dense.exposedTp + m * moe.exposedTp + (last ? head.exposedTp : 0);
    const cp = d * dense.exposedCp + m * moe.exposedCp;
    const ep = d * dense.exposedEp + m * moe.exposedEp;
    meanCompute += compute / p;
    tpSum += tp;
    cpSum += cp;
    epSum += ep;
    const stageTotal = compute + tp + cp + ep;
    totalsSum += stageTotal;
    if (stageTotal > tMax) {
      tMax = stageTotal;
      slowest = stage;
    }
  }
  return {
    slowest,
    maxSeconds: tMax,
    meanSeconds: totalsSum / p,
    meanComputeSeconds: meanCompute,
    exposedTp: tpSum / p,
    exposedCp: cpSum / p,
    exposedEp: epSum / p,
  };
}

/**
 * Fill and drain of 1F1B with v model chunks per stage: (p − 1)/v average stage times, that is a bubble fraction
 * (p − 1)/(v·m) of m micro-batches' work (Narayanan et al. 2021 sec. 2.2).
 */
export function bubbleSeconds(pp: number, virtualStages: number, meanStageSeconds: number): number {
  return ((pp - 1) * meanStageSeconds) / virtualStages;
}
