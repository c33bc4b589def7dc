/**
 * Memory per GPU: weights, gradients and optimizer state under ZeRO/FSDP and the distributed optimizer,
 * activations under tensor/sequence/context parallelism and recomputation (Korthikanti et al. 2022), the
 * micro-batches a pipeline schedule keeps in flight, communication buffers and allocator reserve; and the memory
 * of every pipeline stage of a plan, its busiest stage and that stage's breakdown (one formula, {@link stageMemory}).
 * @module
 */
import type { ResolvedModel, ResolvedPlan } from '../spec/resolve.js';
import type { MatmulPrecision } from '../spec/workload.js';
import { inFlightMicroBatches, type StageSplit } from './pipeline.js';

/** The shape of one micro-batch on one GPU. */
export interface ActivationShape {
  /** Sequence length. */
  readonly s: number;
  /** Micro-batch size. */
  readonly b: number;
  readonly tp: number;
  readonly cp: number;
  readonly sequenceParallel: boolean;
  readonly flashAttention: boolean;
  readonly recomputation: ResolvedPlan['recomputation'];
  /** Bytes per element of saved GEMM inputs: 2 in BF16, 1 when Transformer Engine keeps FP8 copies for backward. */
  readonly gemmInputBytes: number;
}

/**
 * Activation bytes one layer stores for the backward pass, for one micro-batch on one GPU. Tensor by tensor
 * after Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer Models", sec. 4):
 * with 2-byte activations, 1-byte dropout masks, MHA, a plain 4h GeLU MLP, dropout and no flash attention this is
 * exactly s·b·h·(34 + 5·a·s/h), divided by t under tensor + sequence parallelism (their eq. 5), and
 * s·b·h·(10 + 24/t + 5·a·s/(h·t)) without sequence parallelism (eq. 4). Selective recomputation drops the 5·a·s/h
 * term; flash attention never stores it and keeps the softmax statistics (4 bytes per query per head) instead.
 * Full recomputation keeps only the layer input (2·s·b·h, sharded under sequence parallelism).
 */
export function activationBytesPerLayer(model: ResolvedModel, shape: ActivationShape, moeLayer = false): number {
  const { b, tp, cp } = shape;
  const s = shape.s / cp; // context parallelism splits the sequence (Megatron-Core CP)
  const sbh = s * b * model.hiddenSize;
  const sp = shape.sequenceParallel ? tp : 1; // divisor of tensors outside the TP-sharded regions
  if (shape.recomputation === 'full') return (2 * sbh) / sp;

  const heads = model.heads;
  const qkDim = model.mla ? model.mla.qkNopeHeadDim + model.mla.qkRopeHeadDim : model.headDim;
  const vDim = model.mla ? model.mla.vHeadDim : model.headDim;
  const kvHeads = model.mla ? heads : model.kvHeads;
  const dropout = model.dropout ? 1 : 0;
  const g = shape.gemmInputBytes;

  // Attention block.
  let attention = 0;
  attention += (g * sbh) / sp; // QKV projection input
  attention += (2 * s * b * (heads * qkDim + kvHeads * qkDim)) / tp; // Q and K
  attention += (2 * s * b * kvHeads * vDim) / tp; // V
  attention += (2 * s * b * heads * vDim) / tp; // attention output (kept by the attention backward)
  if (g < 2) attention += (g * s * b * heads * vDim) / tp; // its quantized copy, the output-projection input
  attention += (dropout * sbh) / sp; // dropout mask after the output projection
  const scores = b * heads * s * shape.s; // causal or not, the s×s score matrix per head (keys span the full sequence)
  if (!shape.flashAttention && shape.recomputation === 'none') {
    attention += (2 * scores) / tp; // softmax output
    attention += (dropout * scores) / tp; // softmax dropout mask
    attention += (dropout * 2 * scores) / tp; // dropout output
  } else if (shape.flashAttention) {
    attention += (4 * s * b * heads) / tp; // log-sum-exp statistics (fp32) kept by flash attention
  }

  // MLP block (dense, or the routed experts of an MoE layer).
  let mlp = 0;
  mlp += (g * sbh) / sp; // MLP input
  if (moeLayer && model.moe) {
    const moe = model.moe;
    const routed = (s * b * moe.topK) / sp; // token copies dispatched to experts from this GPU's tokens
    const width = moe.expertFfnHiddenSize;
    mlp += g * routed * model.hiddenSize; // permuted expert inputs
    mlp += 2 * routed * width * (model.gatedMlp ? 2 : 1); // first expert GEMM output
    mlp += g * routed * width; // activation output = second expert GEMM input
    mlp += (4 * s * b * moe.experts) / sp; // router probabilities (fp32)
    const sharedWidth = moe.sharedExperts * (moe.sharedExpertFfnHiddenSize ?? width);
    mlp += (2 * s * b * sharedWidth * (model.gatedMlp ? 3 : 2)) / tp;
  } else {
    const width = model.ffnHiddenSize;
    mlp += (2 * s * b * width * (model.gatedMlp ? 2 : 1)) / tp; // first GEMM output (activation input)
    mlp += (g * s * b * width) / tp; // activation output = second GEMM input
  }
  mlp += (dropout * sbh) / sp; // dropout mask

  const norms = (4 * sbh) / sp; // inputs of the two norms
  return attention + mlp + norms;
}

/** Bytes of training state per parameter, by sharding, with `shards` data-parallel ranks sharing the state. */
export interface StateBytes {
  readonly weights: number;
  readonly gradients: number;
  readonly optimizer: number;
}

/**
 * Weights, gradients and optimizer state of `parameters` parameters on one GPU: BF16 weights (2 B), BF16
 * gradient buffer (2 B; Megatron-Core DDP reduces in the parameter dtype unless grad_reduce_in_fp32), and
 * Adam's FP32 master weights, momentum and variance (12 B) (Rajbhandari et al. 2020, ZeRO, sec. 3.1). ZeRO-1
 * (the distributed optimizer) shards the optimizer state over `shards` ranks, ZeRO-2 also the gradients,
 * ZeRO-3/FSDP also the weights. With FP8 primary weights (`weightBytes` 1) the BF16 copy is not kept.
 */
export function stateBytes(
  parameters: number,
  sharding: ResolvedPlan['sharding'],
  shards: number,
  weightBytes = 2,
): StateBytes {
  const level = { none: 0, zero1: 1, zero2: 2, zero3: 3, fsdp: 3 }[sharding];
  const over = (sharded: boolean) => (sharded ? shards : 1);
  return {
    weights: (weightBytes * parameters) / over(level >= 3),
    gradients: (2 * parameters) / over(level >= 2),
    optimizer: (12 * parameters) / over(level >= 1),
  };
}

/** Fixed per-GPU buffers: NCCL and tensor-parallel communication buffers, cuBLAS workspaces (our assumption). */
export const COMMUNICATION_BUFFER_BYTES = 1.5 * 2 ** 30;
/** Share of HBM lost to the CUDA context and allocator fragmentation (our assumption). */
export const ALLOCATOR_RESERVE_FRACTION = 0.03;

const GiB = 2 ** 30;

/** Bytes per weight: 1 with FP8 primary weights (`lowPrecisionWeights` on a low-precision run), else BF16's 2. */
export function weightBytesPerParameter(plan: ResolvedPlan, precision: MatmulPrecision): number {
  return plan.lowPrecisionWeights && precision !== 'bf16' ? 1 : 2;
}

/**
 * Bytes of the output layer's logits on the last stage for one micro-batch: BF16 logits and the FP32 softmax the
 * fused cross-entropy keeps for backward (6 B per logit), vocabulary-parallel over t and split over c.
 */
export function logitsBytes(microBatch: number, sequence: number, vocab: number, cp: number, tp: number): number {
  return (6 * microBatch * sequence * vocab) / cp / tp;
}

/** Activation bytes per layer for one micro-batch, by layer kind, with full recomputation's working set. */
export interface LayerActivationBytes {
  readonly dense: number;
  readonly moe: number;
  /** With full recomputation, one layer's working set while it is recomputed (0 otherwise). */
  readonly fullWorkingSet: number;
}

/**
 * Activation bytes per layer of `shape`. Full recomputation of only a share of each chunk's layers (Megatron
 * block method, `recomputedShare` < 1) mixes the bytes of recomputed and stored layers by that share.
 */
export function layerActivationBytes(
  model: ResolvedModel,
  shape: ActivationShape,
  recomputedShare: number,
): LayerActivationBytes {
  const perLayer = (moeLayer: boolean) => {
    const kept = activationBytesPerLayer(model, shape, moeLayer);
    if (shape.recomputation !== 'full' || recomputedShare >= 1) return kept;
    const stored = activationBytesPerLayer(model, { ...shape, recomputation: 'none' }, moeLayer);
    return recomputedShare * kept + (1 - recomputedShare) * stored;
  };
  const dense = perLayer(false);
  return {
    dense,
    moe: model.moe ? perLayer(true) : dense,
    fullWorkingSet:
      shape.recomputation === 'full'
        ? activationBytesPerLayer(model, { ...shape, recomputation: 'selective' }, Boolean(model.moe))
        : 0,
  };
}

/** Parameters one GPU holds per layer (and for the embedding), after tensor and expert parallelism. */
export interface LayerParameters {
  /** Attention of one layer, / t. */
  readonly attention: number;
  /** Dense MLP of one dense layer, / t. */
  readonly denseMlp: number;
  /** Router and shared experts of one MoE layer, / t. */
  readonly moeShared: number;
  /** Routed experts of one MoE layer on this GPU: E/ep experts (experts are not tensor-parallel). */
  readonly experts: number;
  /** Input embedding (first stage) or output layer (last stage), / t. */
  readonly embedding: number;
  /** The last stage holds its own output matrix (not tied to the embedding on the same GPU, pp = 1). */
  readonly separateHead: boolean;
}

/** What the memory of each pipeline stage of one plan depends on. */
export interface StageMemoryInputs {
  readonly split: StageSplit;
  readonly pp: number;
  readonly virtualStages: number;
  /** Micro-batches per optimizer step and replica. */
  readonly microBatches: number;
  readonly parameters: LayerParameters;
  readonly sharding: ResolvedPlan['sharding'];
  /** Ranks sharing the dense state (DP×CP) and the expert state (expert-DP). */
  readonly denseShards: number;
  readonly expertShards: number;
  readonly weightBytes: number;
  readonly activations: LayerActivationBytes;
  /** Logits bytes held by the last stage ({@link logitsBytes}). */
  readonly logitsBytes: number;
  readonly capacityBytes: number;
}

/** Memory of one GPU of the busiest pipeline stage, bytes. */
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

/** Dense parameters (attention, dense MLP, MoE router and shared experts, embedding, output layer) on `stage`. */
export function stageDenseParameters(inputs: StageMemoryInputs, stage: number): number {
  const { attention, denseMlp, moeShared, embedding, separateHead } = inputs.parameters;
  const d = inputs.split.stageDense[stage] ?? 0;
  const m = inputs.split.stageMoe[stage] ?? 0;
  // The first stage holds the embedding, the last the output layer unless tied to the embedding on the same GPU.
  const ends = (stage === 0 ? embedding : 0) + (stage === inputs.pp - 1 && separateHead ? embedding : 0);
  return (d + m) * attention + d * denseMlp + m * moeShared + ends;
}

/** Routed-expert parameters on `stage`. */
export function stageExpertParameters(inputs: StageMemoryInputs, stage: number): number {
  return (inputs.split.stageMoe[stage] ?? 0) * inputs.parameters.experts;
}

/** Activations of the micro-batches `stage` keeps in flight ({@link inFlightMicroBatches}), bytes. */
function inFlightBytes(inputs: StageMemoryInputs, stage: number): number {
  const inFlight = inFlightMicroBatches(stage, inputs.pp, inputs.virtualStages, inputs.microBatches);
  const { dense, moe } = inputs.activations;
  return inFlight * ((inputs.split.stageDense[stage] ?? 0) * dense + (inputs.split.stageMoe[stage] ?? 0) * moe);
}

/** Logits held by `stage`: only the last holds the output layer. */
function stageLogitsBytes(inputs: StageMemoryInputs, stage: number): number {
  return stage === inputs.pp - 1 ? inputs.logitsBytes : 0;
}

/**
 * Memory of one GPU of `stage`: weights, gradients and optimizer state of its parameters ({@link stateBytes}; with
 * ZeRO-3/FSDP also two gathered BF16 layers), the activations in flight plus full recomputation's working set and
 * the logits, fixed buffers and the allocator reserve.
 */
export function stageMemory(inputs: StageMemoryInputs, stage: number): MemoryBreakdown {
  const { attention, denseMlp, experts } = inputs.parameters;
  const denseState = stateBytes(
    stageDenseParameters(inputs, stage),
    inputs.sharding,
    inputs.denseShards,
    inputs.weightBytes,
  );
  const expertState = stateBytes(
    stageExpertParameters(inputs, stage),
    inputs.sharding,
    inputs.expertShards,
    inputs.weightBytes,
  );
  // ZeRO-3/FSDP gather layer by layer, the next one prefetched: two layers of BF16 weights (2 × 2 B).
  const gathered =
    inputs.sharding === 'zero3' || inputs.sharding === 'fsdp' ? 2 * 2 * (attention + Math.max(denseMlp, experts)) : 0;
  const weights = denseState.weights + expertState.weights + gathered;
  const gradients = denseState.gradients + expertState.gradients;
  const optimizer = denseState.optimizer + expertState.optimizer;
  const activations =
    inFlightBytes(inputs, stage) + inputs.activations.fullWorkingSet + stageLogitsBytes(inputs, stage);
  const capacity = inputs.capacityBytes;
  const reserve = ALLOCATOR_RESERVE_FRACTION * capacity;
  const total = weights + gradients + optimizer + activations + COMMUNICATION_BUFFER_BYTES + reserve;
  return {
    weights,
    gradients,
    optimizer,
    activations,
    buffers: COMMUNICATION_BUFFER_BYTES,
    reserve,
    total,
    capacity,
    stage,
  };
}

/**
 * The stage that needs the most memory (the first on ties). Every stage is checked: the first holds the most
 * micro-batches, middle stages may hold extra layers, the last holds the output layer. The scan ranks stages by
 * the parts of {@link stageMemory} that differ between them (state at its bytes per parameter, activations in
 * flight, logits), so it allocates nothing (hot path of plan search).
 */
export function busiestStage(inputs: StageMemoryInputs): number {
  const perDense = stateBytes(1, inputs.sharding, inputs.denseShards, inputs.weightBytes);
  const perExpert = stateBytes(1, inputs.sharding, inputs.expertShards, inputs.weightBytes);
  const denseBytes = perDense.weights + perDense.gradients + perDense.optimizer;
  const expertBytes = perExpert.weights + perExpert.gradients + perExpert.optimizer;
  let busiest = 0;
  let busiestBytes = -1;
  for (let stage = 0; stage < inputs.pp; stage++) {
    const state = stageDenseParameters(inputs, stage) * denseBytes + stageExpertParameters(inputs, stage) * expertBytes;
    const bytes = state + inFlightBytes(inputs, stage) + stageLogitsBytes(inputs, stage);
    if (bytes > busiestBytes) {
      busiestBytes = bytes;
      busiest = stage;
    }
  }
  return busiest;
}

/** HBM of one accelerator in bytes: catalog capacities are binary ("80 GB" H100 = 80 GiB). */
export function hbmBytes(hbmGiB: number): number {
  return hbmGiB * GiB;
}
