/**
 * Parameter counts, model FLOPs per token and weight memory of a decoder-only transformer, dense or MoE, with
 * standard (MHA/GQA/MQA) or multi-head latent attention. docs/model.md explains every term.
 * @module
 */
import type { ResolvedModel } from '../spec/resolve.js';

/** Parameter counts of a model (plain counts, not billions). */
export interface ParameterCounts {
  /** Every parameter. */
  readonly total: number;
  /** Parameters one token touches: total minus the routed experts it is not sent to. */
  readonly active: number;
  /** Active parameters that take part in matrix multiplies: `active` without the input-embedding lookup. */
  readonly activeMatmul: number;
  readonly embedding: number;
  /** Output projection to the vocabulary; 0 when tied to the embedding. */
  readonly lmHead: number;
  readonly positionEmbedding: number;
  /** Attention of one layer (projections and their norms and biases). */
  readonly attentionPerLayer: number;
  /** Dense MLP of one layer. */
  readonly denseMlpPerLayer: number;
  /** One routed expert MLP (0 for a dense model). */
  readonly expertPerLayer: number;
  /** All experts of one MoE layer with its router (0 for a dense model). */
  readonly moeLayerTotal: number;
  /** What one token uses of one MoE layer: top-k routed plus shared experts and the router. */
  readonly moeLayerActive: number;
  readonly denseLayers: number;
  readonly moeLayers: number;
  /** Norm weights (and biases) outside attention and MLP: per-layer pre-norms and the final norm. */
  readonly norms: number;
}

/** Number of MoE layers: after `firstDenseLayers`, every `layerInterval`-th layer (counting from the first). */
export function countMoeLayers(model: ResolvedModel): number {
  if (!model.moe) return 0;
  const eligible = model.layers - model.moe.firstDenseLayers;
  return Math.ceil(eligible / model.moe.layerInterval);
}

/** Parameters of one attention block. */
export function attentionParameters(model: ResolvedModel): number {
  const h = model.hiddenSize;
  const bias = model.linearBias;
  const mla = model.mla;
  if (mla) {
    // DeepSeek-V2 (arXiv:2405.04434) sec. 2.1.2-2.1.3: W_DQ, W_UQ/W_QR; W_DKV, W_KR; W_UK, W_UV; W_O; RMSNorm on the latents.
    const qkHead = mla.qkNopeHeadDim + mla.qkRopeHeadDim;
    const query =
      mla.qLoraRank > 0
        ? h * mla.qLoraRank + mla.qLoraRank + mla.qLoraRank * model.heads * qkHead
        : h * model.heads * qkHead;
    const keyValueDown = h * (mla.kvLoraRank + mla.qkRopeHeadDim) + mla.kvLoraRank;
    const keyValueUp = mla.kvLoraRank * model.heads * (mla.qkNopeHeadDim + mla.vHeadDim);
    const output = model.heads * mla.vHeadDim * h;
    return query + keyValueDown + keyValueUp + output;
  }
  // Q, K, V and output projections; GQA shares each K/V head among heads/kvHeads query heads (Ainslie et al. 2023).
  const queryWidth = model.heads * model.headDim;
  const keyValueWidth = model.kvHeads * model.headDim;
  const weights = h * queryWidth + 2 * h * keyValueWidth + queryWidth * h;
  const biases = bias ? queryWidth + 2 * keyValueWidth + h : 0;
  return weights + biases;
}

/** Parameters of one MLP with hidden size `ffn`: gated (SwiGLU, Shazeer 2020) has three matrices, plain has two. */
export function mlpParameters(model: ResolvedModel, ffn: number): number {
  const matrices = model.gatedMlp ? 3 : 2;
  const biases = model.linearBias ? (model.gatedMlp ? 2 * ffn : ffn) + model.hiddenSize : 0;
  return matrices * model.hiddenSize * ffn + biases;
}

const countCache = new WeakMap<ResolvedModel, ParameterCounts>();

/** Counts the parameters of a model (memoised per model object: estimates call it in hot loops). */
export function countParameters(model: ResolvedModel): ParameterCounts {
  let counts = countCache.get(model);
  if (counts === undefined) {
    counts = Object.freeze(computeParameterCounts(model));
    countCache.set(model, counts);
  }
  return counts;
}

function computeParameterCounts(model: ResolvedModel): ParameterCounts {
  const h = model.hiddenSize;
  const moeLayers = countMoeLayers(model);
  const denseLayers = model.layers - moeLayers;
  const normSize = model.normalization === 'layernorm' ? 2 * h : h; // LayerNorm has a gain and a bias; RMSNorm a gain.
  const attentionPerLayer = attentionParameters(model);
  const denseMlpPerLayer = mlpParameters(model, model.ffnHiddenSize);
  let expertPerLayer = 0;
  let moeLayerTotal = 0;
  let moeLayerActive = 0;
  if (model.moe) {
    const moe = model.moe;
    expertPerLayer = mlpParameters(model, moe.expertFfnHiddenSize);
    const shared = moe.sharedExperts * mlpParameters(model, moe.sharedExpertFfnHiddenSize ?? moe.expertFfnHiddenSize);
    const router = h * moe.experts; // one logit per routed expert (Fedus et al. 2021, Switch Transformer sec. 2.1)
    moeLayerTotal = moe.experts * expertPerLayer + shared + router;
    moeLayerActive = moe.topK * expertPerLayer + shared + router;
  }
  const embedding = model.vocabSize * h;
  const lmHead = model.tiedEmbeddings ? 0 : model.vocabSize * h;
  const positionEmbedding = model.positionEmbedding === 'learned' ? (model.maxPositions ?? 0) * h : 0;
  const norms = model.layers * 2 * normSize + normSize; // two pre-norms per layer plus the final norm
  const shared = embedding + lmHead + positionEmbedding + norms + model.layers * attentionPerLayer;
  const total = shared + denseLayers * denseMlpPerLayer + moeLayers * moeLayerTotal;
  const active = shared + denseLayers * denseMlpPerLayer + moeLayers * moeLayerActive;
  // The input embedding is a table lookup; with tied embeddings the same matrix still multiplies in the LM head.
  const activeMatmul = active - (model.tiedEmbeddings ? 0 : embedding) - positionEmbedding;
  return {
    total,
    active,
    activeMatmul,
    embedding,
    lmHead,
    positionEmbedding,
    attentionPerLayer,
    denseMlpPerLayer,
    expertPerLayer,
    moeLayerTotal,
    moeLayerActive,
    denseLayers,
    moeLayers,
    norms,
  };
}

/** Model FLOPs of one training token, split into its two terms. */
export interface FlopsPerToken {
  /** 6 × active matmul parameters: forward 2N, backward 4N (Kaplan et al. 2020 sec. 2.1). */
  readonly dense: number;
  /** Attention score and value products over the sequence (PaLM, Chowdhery et al. 2022, appendix B). */
  readonly attention: number;
  readonly total: number;
}

/**
 * Model FLOPs per trained token: 6·N_matmul + 6·L·s·heads·(d_qk + d_v). With d_qk = d_v = h/heads the attention
 * term is PaLM's 12·L·h·s (appendix B), equal to Megatron's s/(6h) term (Narayanan et al. 2021 sec. 5.1). The
 * attention term counts the full s×s product, as those conventions do, not the causal half that flash kernels
 * compute; hardware FLOPs (HFU) are the estimator's business.
 */
export function flopsPerToken(model: ResolvedModel, sequenceLength: number): FlopsPerToken {
  const counts = countParameters(model);
  const dense = 6 * counts.activeMatmul;
  const qkDim = model.mla ? model.mla.qkNopeHeadDim + model.mla.qkRopeHeadDim : model.headDim;
  const vDim = model.mla ? model.mla.vHeadDim : model.headDim;
  const attention = 6 * model.layers * sequenceLength * model.heads * (qkDim + vDim);
  return { dense, attention, total: dense + attention };
}

/** Bytes per parameter of the weights as stored for training: BF16 (FP8 runs keep BF16 weights too). */
export const WEIGHT_BYTES_PER_PARAMETER = 2;

/**
 * Bytes per parameter of the full mixed-precision Adam training state without sharding: 2 (bf16 weights) +
 * 2 (gradients) + 12 (fp32 master weights, momentum, variance) = 16 (Rajbhandari et al. 2020, ZeRO, sec. 3.1).
 */
export const ADAM_STATE_BYTES_PER_PARAMETER = 16;
