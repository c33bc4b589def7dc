/**
 * Memory per GPU: weights, gradients and optimizer state under ZeRO/FSDP and the distributed optimizer,
 * activations under tensor/sequence/context parallelism and recomputation (Korthikanti et al. 2022), the
 * micro-batches a pipeline schedule keeps in flight, communication buffers and allocator reserve; and the memory
 * of every pipeline stage of a plan, its busiest stage and that stage's breakdown (one formula, {@link stageMemory}).
 * @module
 */
import type { StackMemory } from '../catalog/stacks.js';
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
  /** What selective recomputation keeps (the stack's, src/catalog/stacks.ts); absent: Megatron's attention core. */
  readonly selectiveCheckpointing?: StackMemory['selectiveCheckpointing'];
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
  if (shape.recomputation === 'selective' && shape.selectiveCheckpointing === 'per-op' && !model.mla && !moeLayer) {
    return perOpCheckpointBytesPerLayer(model, shape);
  }

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

/**
 * Activation bytes one dense layer keeps under per-operator selective checkpointing (torch.utils.checkpoint with
 * torchtitan's policy, torchtitan parallelize_llama.py `_save_list`): the layer input, the output of attention (and
 * its FP32 log-sum-exp) and of every odd-numbered matmul of the layer ("saves output of all compute ops, except
 * every second mm"), counted per layer in forward order wq, wk, wv, wo, w1, w3, w2 (torchtitan models/llama/model.py).
 * Column-parallel outputs are / t; a row-parallel matmul's output is the full-size partial sum, and the
 * reduce-scatter after it (also in `_save_list`) keeps its / t result under sequence parallelism. Everything
 * else (norms, rotary embedding, the activation function) is recomputed. The matmuls of torchao's float8 linears
 * are `_scaled_mm`, not `aten.mm`; the compiled float8 rows state the compiled BF16 rows' peak (torchtitan
 * benchmarks 2024-12, Tables 1 and 3: 76.8 against 77.0 GiB, 61.8 against 62.0), so their outputs are kept alike.
 */
export function perOpCheckpointBytesPerLayer(model: ResolvedModel, shape: ActivationShape): number {
  const { b, tp, cp } = shape;
  const tokens = (shape.s / cp) * b;
  const h = model.hiddenSize;
  const sp = shape.sequenceParallel ? tp : 1;
  const d = model.headDim;
  const f = model.ffnHiddenSize;
  // Output width of each matmul in forward order, and whether it is row-parallel (wo, w2).
  const matmuls: [number, boolean][] = [
    [model.heads * d, false], // wq
    [model.kvHeads * d, false], // wk
    [model.kvHeads * d, false], // wv
    [h, true], // wo
    [f, false], // w1
    ...(model.gatedMlp ? [[f, false] as [number, boolean]] : []), // w3
    [h, true], // w2
  ];
  let bytes = (2 * tokens * h) / sp; // the checkpointed layer's input
  bytes += (2 * tokens * model.heads * d) / tp + (4 * tokens * model.heads) / tp; // attention output, log-sum-exp
  matmuls.forEach(([width, rowParallel], i) => {
    if (i % 2 === 0) bytes += (2 * tokens * width) / (rowParallel ? 1 : tp); // 1st, 3rd, ... matmul kept
    if (rowParallel && tp > 1 && shape.sequenceParallel) bytes += (2 * tokens * width) / tp; // reduce-scatter output
  });
  return bytes;
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

/** Bytes per logit of Megatron's fused cross-entropy: BF16 logits and the FP32 softmax it keeps for backward. */
export const MEGATRON_LOSS_BYTES_PER_LOGIT = 6;

/**
 * Bytes of the output layer's logits on the last stage for one micro-batch at the loss's peak, vocabulary-parallel
 * over t and split over c: `bytesPerLogit` each (Megatron's fused cross-entropy 6; the stack's, src/catalog/stacks.ts).
 */
export function logitsBytes(
  microBatch: number,
  sequence: number,
  vocab: number,
  cp: number,
  tp: number,
  bytesPerLogit = MEGATRON_LOSS_BYTES_PER_LOGIT,
): number {
  return (bytesPerLogit * microBatch * sequence * vocab) / cp / tp;
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
  /** Activation bytes offloaded to host memory at the peak ({@link offloadedActivationBytes}); pp 1 only. */
  readonly offloadedBytes?: number;
  readonly capacityBytes: number;
  /** The stack's memory behaviour (src/catalog/stacks.ts); absent: Megatron-Core's. */
  readonly stackMemory?: StackMemory;
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
  /**
   * What the stack logs as its peak ({@link StackMemory.reportedPeak}): `total`, or the caching allocator's
   * reserved peak: the tensors and the allocator's cached share (the CUDA context, NCCL buffers and workspaces are
   * outside it). Always set by {@link stageMemory}; absent in a breakdown built elsewhere, where it is `total`.
   */
  readonly reported?: number;
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

/** Logits held by `stage` at the loss: only the last holds the output layer. */
function stageLogitsBytes(inputs: StageMemoryInputs, stage: number): number {
  return stage === inputs.pp - 1 ? inputs.logitsBytes : 0;
}

/**
 * BF16 output logits of every micro-batch of the step, kept by the last stage of a stack whose pipeline schedule
 * returns them (torch.distributed.pipelining `output_chunks`): m micro-batches × 2 B per logit.
 */
function pipelineOutputBytes(inputs: StageMemoryInputs, stage: number): number {
  const stack = inputs.stackMemory;
  if (!stack?.pipelineKeepsOutputs || inputs.pp === 1 || stage !== inputs.pp - 1) return 0;
  return (inputs.microBatches * inputs.logitsBytes * 2) / stack.lossBytesPerLogit;
}

/**
 * Activations of `stage` at its peak: the micro-batches in flight, plus the larger of the loss's logits and full
 * recomputation's one-layer working set where the stack says when each is live (the logits' buffers are freed by
 * the output layer's backward, before the last layer is recomputed); Megatron-Core's model adds both.
 */
function stageActivationBytes(inputs: StageMemoryInputs, stage: number): number {
  const loss = stageLogitsBytes(inputs, stage);
  const working = inputs.activations.fullWorkingSet;
  const transient = inputs.stackMemory ? Math.max(loss, working) : loss + working;
  const offloaded = inputs.offloadedBytes ?? 0;
  return inFlightBytes(inputs, stage) - offloaded + transient + pipelineOutputBytes(inputs, stage);
}

/**
 * Activation bytes that activation offload keeps off the GPU at the memory peak (end of forward, pp 1, one
 * micro-batch in flight): the stored activations of the first `layers` layers, `moeLayers` of them MoE layers.
 * Transformer Engine's OffloadSynchronizer offloads layers 0…k−1, each due before the forward of layer L − k + i
 * and reloaded from the backward of layer L − 1 − k + i, so that "peak memory usage of saving activations is
 * (num_layers − num_offloaded_layers) · T" (transformer_engine/pytorch/cpu_offload.py, `_default_offload_sync_init`).
 */
export function offloadedActivationBytes(activations: LayerActivationBytes, layers: number, moeLayers: number): number {
  if (layers <= 0) return 0;
  return (layers - moeLayers) * activations.dense + moeLayers * activations.moe;
}

/**
 * Parameters of `stage` that FSDP keeps gathered beyond the two prefetched layers, with the stack's FSDP2 behaviour:
 * without pipeline parallelism the root unit (embedding, final norm, output layer: the stage's ends), with it the
 * whole stage (torchtitan: reshard_after_forward = not pp_enabled). 0 on other stacks and shardings.
 */
function stageGatheredParameters(inputs: StageMemoryInputs, stage: number): number {
  if (!inputs.stackMemory?.fsdpUnshardedRootAndStage) return 0;
  if (inputs.sharding !== 'zero3' && inputs.sharding !== 'fsdp') return 0;
  if (inputs.pp > 1) return stageDenseParameters(inputs, stage) + stageExpertParameters(inputs, stage);
  const { embedding, separateHead } = inputs.parameters;
  return embedding * (separateHead ? 2 : 1);
}

/**
 * Memory of one GPU of `stage`: weights, gradients and optimizer state of its parameters ({@link stateBytes}; with
 * ZeRO-3/FSDP also two gathered BF16 layers, or what the stack keeps gathered), the activations in flight plus full
 * recomputation's working set and the logits ({@link stageActivationBytes}), fixed buffers and the allocator reserve.
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
  const fsdp = inputs.sharding === 'zero3' || inputs.sharding === 'fsdp';
  const stageGathered = stageGatheredParameters(inputs, stage);
  // ZeRO-3/FSDP gather layer by layer, the next one prefetched: two layers of BF16 weights (2 × 2 B), unless the
  // whole stage stays gathered (pipeline parallelism on an FSDP2 stack).
  const prefetched =
    fsdp && !(stageGathered > 0 && inputs.pp > 1) ? 2 * 2 * (attention + Math.max(denseMlp, experts)) : 0;
  // What the stack keeps gathered: BF16 weights (2 B); with pipeline parallelism also the unsharded FP32 gradients
  // accumulated over the micro-batches (4 B, FSDP2 reduce_dtype float32, FSDPParam.unsharded_accumulated_grad).
  const weights = denseState.weights + expertState.weights + prefetched + 2 * stageGathered;
  const gradients = denseState.gradients + expertState.gradients + (inputs.pp > 1 ? 4 * stageGathered : 0);
  const optimizer = denseState.optimizer + expertState.optimizer;
  const activations = stageActivationBytes(inputs, stage);
  const capacity = inputs.capacityBytes;
  const tensors = weights + gradients + optimizer + activations;
  // A stack that logs the caching allocator's reserved peak: the allocator holds its cached share beyond the live
  // tensors (the stack's fitted allocatorCachedShare), on top of the context-and-fragmentation reserve.
  const reserved = inputs.stackMemory?.reportedPeak === 'allocator-reserved';
  const cached = reserved ? (inputs.stackMemory?.allocatorCachedShare ?? 0) * tensors : 0;
  const reserve = ALLOCATOR_RESERVE_FRACTION * capacity + cached;
  const total = tensors + COMMUNICATION_BUFFER_BYTES + reserve;
  return {
    weights,
    gradients,
    optimizer,
    activations,
    buffers: COMMUNICATION_BUFFER_BYTES,
    reserve,
    total,
    capacity,
    reported: reserved ? tensors + cached : total,
    stage,
  };
}

/**
 * The stage that needs the most memory (the first on ties). Every stage is checked: the first holds the most
 * micro-batches, middle stages may hold extra layers, the last holds the output layer. The scan ranks stages by
 * the parts of {@link stageMemory} that differ between them (state at its bytes per parameter, what the stack keeps
 * gathered, activations in flight, logits), so it allocates nothing (hot path of plan search).
 */
export function busiestStage(inputs: StageMemoryInputs): number {
  const perDense = stateBytes(1, inputs.sharding, inputs.denseShards, inputs.weightBytes);
  const perExpert = stateBytes(1, inputs.sharding, inputs.expertShards, inputs.weightBytes);
  const denseBytes = perDense.weights + perDense.gradients + perDense.optimizer;
  const expertBytes = perExpert.weights + perExpert.gradients + perExpert.optimizer;
  let busiest = 0;
  let busiestBytes = -1;
  // A stage the stack keeps gathered holds 2 B of weights and, with pipeline parallelism, 4 B of gradients more.
  const gatheredBytes = inputs.pp > 1 ? 6 : 2;
  for (let stage = 0; stage < inputs.pp; stage++) {
    const state = stageDenseParameters(inputs, stage) * denseBytes + stageExpertParameters(inputs, stage) * expertBytes;
    const gathered = gatheredBytes * stageGatheredParameters(inputs, stage);
    const bytes = state + gathered + stageActivationBytes(inputs, stage);
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
