/**
 * The memo that estimates of one workload on one system share (plan search): placed communication groups, the
 * activation bytes of a micro-batch shape and, under each shape, the layer costs. Keys are integers packed from
 * the plan fields each entry depends on, by {@link packField}, which refuses a value too wide for its field: such
 * a plan is then estimated without the memo, never confused with another.
 * @module
 */
import { ATTENTION_KERNELS, STACK_IDS } from '../catalog/stacks.js';
import type { ResolvedPlan } from '../spec/resolve.js';
import type { HeadCost, LayerCost, PlacedGroups } from './layer-costs.js';
import type { LayerActivationBytes } from './memory.js';

/**
 * Seconds of communication one layer puts on the wire per micro-batch, before any overlap: what the link is
 * busy with whether the compute hides it or not (the traffic behind `exposedTp`, `exposedCp`, `exposedEp`).
 */
export interface LayerTraffic {
  readonly tp: number;
  readonly cp: number;
  readonly ep: number;
}

/** Costs of the layers of one plan: a dense layer, an MoE layer (the dense one for dense models), the output layer. */
export interface LayerCosts {
  readonly dense: LayerCost;
  readonly moe: LayerCost;
  readonly head: HeadCost;
  /** Traffic of a dense layer, an MoE layer and the output layer (TP only), per micro-batch. */
  readonly traffic: { readonly dense: LayerTraffic; readonly moe: LayerTraffic; readonly headTp: number };
}

/** What one micro-batch shape memoises. */
export interface ShapeEntry {
  readonly activations: LayerActivationBytes;
  /** Layer costs of this shape, by {@link layerCostsKey} (EP and the overlaps). */
  readonly layers: Map<number, LayerCosts>;
}

/**
 * Memo of placements, activation sizes and layer costs for one workload on one system. Never share it across
 * workloads or systems: the keys hold only plan fields.
 */
export interface EstimateCache {
  /** Placed groups, by {@link groupsKey}. */
  readonly groups: Map<number, PlacedGroups>;
  /** Activation bytes and layer costs, by {@link shapeKey}. */
  readonly shapes: Map<number, ShapeEntry>;
}

/** An empty memo for one workload on one system. */
export function createEstimateCache(): EstimateCache {
  return { groups: new Map(), shapes: new Map() };
}

/**
 * Bits of each field of the three keys. Each key's widths add up to at most 53, so it is exact in a double; a
 * plan with a wider value (tp ≥ 1024, say) is not memoised.
 */
export const KEY_BITS = {
  groups: { tp: 10, cp: 8, ep: 10, dp: 25 },
  shape: {
    tp: 10,
    cp: 8,
    microBatch: 10,
    sequenceParallel: 1,
    flashAttention: 1,
    recomputation: 2,
    recomputeLayers: 10,
    chunkMax: 10,
  },
  layers: { ep: 25, tpComm: 1, epComm: 1, stack: 4, kernel: 3, fused: 2 },
} as const;

/**
 * Appends `value` as a field of `bits` bits to `key` (key · 2^bits + value). NaN when `value` is not an integer
 * in [0, 2^bits) or `key` is already NaN, so one field out of range spoils the whole key.
 */
export function packField(key: number, value: number, bits: number): number {
  const size = POWERS_OF_TWO[bits] ?? Number.NaN;
  return value >>> 0 === value && value < size ? key * size + value : Number.NaN;
}

// 2^0 … 2^32 (a field wider than 32 bits fails the `>>> 0` test anyway); a table load is cheaper than `2 ** bits`.
const POWERS_OF_TWO: readonly number[] = Array.from({ length: 33 }, (_, bits) => 2 ** bits);

const done = (key: number): number | undefined => (Number.isNaN(key) ? undefined : key);
const bit = (flag: boolean): number => (flag ? 1 : 0);
const RECOMPUTATION_CODE = { none: 0, selective: 1, full: 2 } as const;

/** Key of the placed groups: they depend on tp, cp, ep and dp (and the system). */
export function groupsKey(plan: ResolvedPlan): number | undefined {
  const bits = KEY_BITS.groups;
  let key = packField(0, plan.tp, bits.tp);
  key = packField(key, plan.cp, bits.cp);
  key = packField(key, plan.ep, bits.ep);
  return done(packField(key, plan.dp, bits.dp));
}

/**
 * Key of a micro-batch shape: tp, cp, micro-batch, sequence parallelism, flash attention, recomputation, the
 * layers recomputed per chunk (0 for all) and the layers of the largest chunk (which set the recomputed share).
 */
export function shapeKey(plan: ResolvedPlan, chunkMax: number): number | undefined {
  const bits = KEY_BITS.shape;
  let key = packField(0, plan.tp, bits.tp);
  key = packField(key, plan.cp, bits.cp);
  key = packField(key, plan.microBatch, bits.microBatch);
  key = packField(key, bit(plan.sequenceParallel), bits.sequenceParallel);
  key = packField(key, bit(plan.flashAttention), bits.flashAttention);
  key = packField(key, RECOMPUTATION_CODE[plan.recomputation], bits.recomputation);
  key = packField(key, plan.recomputeLayers ?? 0, bits.recomputeLayers);
  return done(packField(key, chunkMax, bits.chunkMax));
}

/**
 * Key of the layer costs under one shape: ep, the TP and EP overlaps, the stack, the attention kernel and the
 * element-wise fusion override; a plan
 * that overrides the GEMM efficiency is not memoised (its layer costs depend on a real number).
 */
export function layerCostsKey(plan: ResolvedPlan): number | undefined {
  if (plan.gemmEfficiency !== undefined) return undefined;
  const bits = KEY_BITS.layers;
  let key = packField(0, plan.ep, bits.ep);
  key = packField(key, bit(plan.overlap.tpComm), bits.tpComm);
  key = packField(key, bit(plan.overlap.epComm), bits.epComm);
  key = packField(key, plan.stack === undefined ? 0 : STACK_IDS.indexOf(plan.stack) + 1, bits.stack);
  const kernel = plan.attentionKernel === undefined ? 0 : ATTENTION_KERNELS.indexOf(plan.attentionKernel) + 1;
  key = packField(key, kernel, bits.kernel);
  return done(packField(key, plan.fusedElementwise === undefined ? 0 : plan.fusedElementwise ? 2 : 1, bits.fused));
}

/** The value of `key` in `map`, computed and stored on a miss; computed every time without a map or a key. */
export function memo<V>(map: Map<number, V> | undefined, key: number | undefined, compute: () => V): V {
  if (map === undefined || key === undefined) return compute();
  let value = map.get(key);
  if (value === undefined) {
    value = compute();
    map.set(key, value);
  }
  return value;
}
