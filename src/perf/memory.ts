/**
 * Memory per GPU: weights, gradients and optimizer state under ZeRO/FSDP and the distributed optimizer,
 * activations under tensor/sequence/context parallelism and recomputation (Korthikanti et al. 2022), the
 * micro-batches a pipeline schedule keeps in flight, communication buffers and allocator reserve.
 * @module
 */
import type { ResolvedModel, ResolvedPlan } from '../spec/resolve.js';

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
