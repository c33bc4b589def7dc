/**
 * Time of one transformer layer for one micro-batch on one GPU: its GEMMs (forward, and the activation- and
 * weight-gradient GEMMs of the backward pass), causal flash attention, memory-bound kernels, and the
 * tensor-, context- and expert-parallel communication inside the layer.
 * @module
 */
import type { AttentionKernel } from '../catalog/stacks.js';
import type { ResolvedModel, ResolvedPlan, ResolvedSystem } from '../spec/resolve.js';
import {
  allGatherSeconds,
  allReduceSeconds,
  allToAllSeconds,
  type GroupLink,
  placeGroup,
  reduceScatterSeconds,
  sendSeconds,
} from './collectives.js';
import {
  attentionSeconds,
  type DeviceRates,
  gemmSeconds,
  type MatmulPrecision,
  memorySeconds,
} from './compute-rates.js';

/** Seconds and FLOPs of one layer for one micro-batch on one GPU. */
export interface LayerCost {
  /** GEMM seconds of the forward pass. */
  readonly forwardGemm: number;
  /** Attention-core seconds, forward only. */
  readonly forwardAttention: number;
  /** Attention-core seconds, forward and backward. */
  readonly trainingAttention: number;
  /** Memory-bound kernel seconds of the forward pass. */
  readonly forwardMemory: number;
  /** Forward seconds of the MoE block (router, experts, token permutation); 0 for dense layers. */
  readonly expertForward: number;
  /** Forward (F) and backward (B) compute, seconds; recomputation adds `recompute`. */
  readonly forward: number;
  readonly backward: number;
  readonly recompute: number;
  /** Exposed tensor-, context- and expert-parallel communication of forward and backward, seconds. */
  readonly exposedTp: number;
  readonly exposedCp: number;
  readonly exposedEp: number;
  /** Hardware FLOPs (forward + backward + recompute) actually executed on this GPU. */
  readonly hardwareFlops: number;
}

/** What a layer's cost depends on besides the model. */
export interface LayerContext {
  readonly model: ResolvedModel;
  readonly plan: ResolvedPlan;
  readonly system: ResolvedSystem;
  readonly rates: DeviceRates;
  readonly precision: MatmulPrecision;
  readonly sequenceLength: number;
  /** The attention kernel the stack (or the plan) runs (docs/model.md § Attention by kernel). */
  readonly attentionKernel: AttentionKernel;
  /** What the stack's selective checkpointing keeps (src/catalog/stacks.ts `memory`); absent: Megatron's. */
  readonly selectiveCheckpointing?: 'attention-core' | 'per-op';
  /** Element-wise kernels fused (the stack's or the plan's `fusedElementwise`); absent: fused. */
  readonly fusedElementwise?: boolean;
  readonly tpLink: GroupLink;
  readonly cpLink: GroupLink;
  readonly epLink: GroupLink;
}

/** The communication groups of a plan, each placed on the system. */
export interface PlacedGroups {
  readonly tp: GroupLink;
  readonly cp: GroupLink;
  readonly ep: GroupLink;
  /** Dense data parallelism: DP×CP ranks. */
  readonly dp: GroupLink;
  /** Expert data parallelism: tp·cp·dp/ep ranks. */
  readonly expertDp: GroupLink;
  /** A pipeline boundary: two ranks tp·cp·dp apart. */
  readonly pp: GroupLink;
}

/** Communication groups of a plan, placed on the system (Megatron rank order tp, cp, dp, pp). */
export function placeGroups(system: ResolvedSystem, plan: ResolvedPlan): PlacedGroups {
  const tp = placeGroup(system, plan.tp, 1);
  const cp = placeGroup(system, plan.cp, plan.tp);
  // Experts are not tensor-parallel (expert TP = 1): Megatron-Core lays expert ranks out as ep then expert-DP over
  // all tp·cp·dp GPUs of a stage, so EP groups are contiguous and expert-DP is tp·cp·dp/ep wide.
  const ep = placeGroup(system, plan.ep, 1);
  const dp = placeGroup(system, plan.dp * plan.cp, plan.tp); // dense gradients reduce over DP×CP
  const expertDp = placeGroup(system, (plan.tp * plan.cp * plan.dp) / plan.ep, plan.ep);
  const pp = placeGroup(system, 2, plan.tp * plan.cp * plan.dp);
  return { tp, cp, ep, dp, expertDp, pp };
}

interface Gemm {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** Identical GEMMs launched (grouped experts). */
  readonly count?: number;
  /** Runs in BF16 whatever the training precision (routers, small projections kept in BF16). */
  readonly bf16?: boolean;
  /** Part of the MoE block (router, routed and shared experts). */
  readonly expert?: boolean;
}

/** Cost of one layer (dense or MoE) for one micro-batch. */
export function layerCost(ctx: LayerContext, moeLayer: boolean): LayerCost {
  const { model, plan, rates } = ctx;
  const h = model.hiddenSize;
  const t = plan.tp;
  const tokens = (plan.microBatch * ctx.sequenceLength) / plan.cp; // tokens of this GPU's micro-batch slice
  const gemms: Gemm[] = [];

  // Attention projections, column-parallel in, row-parallel out (Shoeybi et al. 2019, Megatron-LM sec. 3).
  let qkDim = model.headDim;
  let vDim = model.headDim;
  if (model.mla) {
    const mla = model.mla;
    qkDim = mla.qkNopeHeadDim + mla.qkRopeHeadDim;
    vDim = mla.vHeadDim;
    if (mla.qLoraRank > 0) {
      gemms.push({ m: tokens, n: mla.qLoraRank, k: h });
      gemms.push({ m: tokens, n: (model.heads * qkDim) / t, k: mla.qLoraRank });
    } else {
      gemms.push({ m: tokens, n: (model.heads * qkDim) / t, k: h });
    }
    gemms.push({ m: tokens, n: mla.kvLoraRank + mla.qkRopeHeadDim, k: h });
    gemms.push({ m: tokens, n: (model.heads * (mla.qkNopeHeadDim + mla.vHeadDim)) / t, k: mla.kvLoraRank });
  } else {
    gemms.push({ m: tokens, n: ((model.heads + 2 * model.kvHeads) * model.headDim) / t, k: h });
  }
  gemms.push({ m: tokens, n: h, k: (model.heads * vDim) / t });

  // MLP: dense, or router + routed experts (grouped GEMM, dropless and balanced) + shared experts.
  const gate = model.gatedMlp ? 2 : 1;
  let memoryBytes = 0;
  let expertMemoryBytes = 0;
  if (moeLayer && model.moe) {
    const moe = model.moe;
    gemms.push({ m: tokens, n: moe.experts, k: h, bf16: true, expert: true });
    const localExperts = moe.experts / plan.ep;
    const perExpert = Math.max(1, (tokens * moe.topK * plan.ep) / (t * moe.experts));
    gemms.push({ m: perExpert, n: gate * moe.expertFfnHiddenSize, k: h, count: localExperts, expert: true });
    gemms.push({ m: perExpert, n: h, k: moe.expertFfnHiddenSize, count: localExperts, expert: true });
    if (moe.sharedExperts > 0) {
      const width = moe.sharedExperts * (moe.sharedExpertFfnHiddenSize ?? moe.expertFfnHiddenSize);
      gemms.push({ m: tokens, n: (gate * width) / t, k: h, expert: true });
      gemms.push({ m: tokens, n: h, k: width / t, expert: true });
    }
    // Permute and unpermute the routed token copies, forward: read and write each copy twice.
    expertMemoryBytes += 2 * 2 * 2 * ((tokens * moe.topK) / t) * h;
    expertMemoryBytes += 2 * ((tokens * moe.topK) / t) * moe.expertFfnHiddenSize * (gate + 1); // activation function
  } else {
    gemms.push({ m: tokens, n: (gate * model.ffnHiddenSize) / t, k: h });
    gemms.push({ m: tokens, n: h, k: model.ffnHiddenSize / t });
    memoryBytes += 2 * tokens * (model.ffnHiddenSize / t) * (gate + 1); // activation function reads gate·f, writes f
  }

  // Element-wise kernels outside the GEMMs, forward: two norms (read + write h), two residual adds (read 2h,
  // write h), rotary embedding on Q and K; sharded by t under sequence parallelism.
  const sp = plan.sequenceParallel ? t : 1;
  memoryBytes += (2 * tokens * h * (2 * 2 + 2 * 3)) / sp;
  memoryBytes += (2 * 2 * tokens * (model.heads + model.kvHeads) * qkDim) / t;
  if (ctx.fusedElementwise === false) memoryBytes += unfusedExtraBytes(model, tokens, t, sp, moeLayer);
  if (ctx.precision !== 'bf16') {
    // Quantising each GEMM's activation input (read 2 B, write 1 B) with Transformer Engine.
    memoryBytes += 3 * gemms.reduce((sum, g) => sum + (g.bf16 ? 0 : g.m * g.k * (g.count ?? 1)), 0);
  }

  let forwardGemm = 0;
  let expertForward = memorySeconds(rates, expertMemoryBytes);
  let gemmFlops = 0;
  for (const g of gemms) {
    const count = g.count ?? 1;
    const precision = g.bf16 ? 'bf16' : ctx.precision;
    // A grouped expert GEMM is one cuBLAS GEMM per local expert (Transformer Engine GroupedLinear:
    // multi_stream_cublas_gemm loops over the experts on 4 streams, transformer_engine/common/gemm/cublaslt_gemm.cu),
    // so each pays the kernel's fixed time t0; no credit is taken for the streams' overlap.
    const seconds = count * gemmSeconds(rates, g.m, g.n, g.k, precision);
    forwardGemm += seconds;
    if (g.expert) expertForward += seconds;
    gemmFlops += 2 * g.m * g.n * g.k * count;
  }

  // Causal attention: forward 2·b·heads·(s²/2)·(d_qk + d_v) per GPU; context parallelism splits the work.
  const headsHere = model.heads / t;
  const causalForwardFlops =
    (2 * plan.microBatch * headsHere * (ctx.sequenceLength * ctx.sequenceLength) * (qkDim + vDim)) / 2 / plan.cp;
  const attention = attentionCost(ctx, causalForwardFlops, (qkDim + vDim) / 2);
  const forwardAttention = attention.forward;
  const trainingAttention = attention.training;

  const forwardMemory = memorySeconds(rates, memoryBytes + expertMemoryBytes);
  // Backward: activation- and weight-gradient GEMMs, each as long as the forward GEMM (same FLOPs, Kaplan et al.
  // 2020 sec. 2.1); element-wise backward moves about twice the forward bytes.
  const forward = forwardGemm + forwardAttention + forwardMemory;
  const backward = 2 * forwardGemm + (trainingAttention - forwardAttention) + 2 * forwardMemory;
  // Full recomputation repeats the forward; selective recomputes the attention core, which flash attention
  // already does inside its backward, so it costs extra only without flash (Korthikanti et al. 2022 sec. 5).
  // Per-operator selective checkpointing keeps attention's and every other matmul's output and recomputes the rest:
  // the other matmuls and every element-wise kernel (torchtitan _save_list, "except every second mm").
  const selective = plan.recomputation === 'selective';
  const recompute =
    plan.recomputation === 'full'
      ? forward
      : selective && ctx.selectiveCheckpointing === 'per-op'
        ? recomputedMatmulShare(model, moeLayer) * forwardGemm + forwardMemory
        : selective && !plan.flashAttention
          ? forwardAttention
          : 0;

  // Tensor parallelism: per layer two all-gathers and two reduce-scatters of the [tokens, h] activation forward
  // and the same backward with sequence parallelism, or two all-reduces each way without (Korthikanti et al.
  // 2022 sec. 4.2.2). Full recomputation repeats the forward ones.
  const activationBytes = 2 * tokens * h;
  const tpOne = plan.sequenceParallel
    ? allGatherSeconds(ctx.tpLink, activationBytes) + reduceScatterSeconds(ctx.tpLink, activationBytes)
    : allReduceSeconds(ctx.tpLink, activationBytes);
  // An MoE layer (experts not tensor-parallel) keeps only the attention pair: tokens reach the experts through
  // the expert-parallel all-to-all instead.
  const tpOps = (moeLayer ? 1 : 2) * (plan.recomputation === 'full' ? 3 : 2);
  const tpComm = tpOne * tpOps;
  // Overlapped TP communication hides behind the GEMMs it is split with (Megatron-Core userbuffers), only inside
  // one NVLink domain; a TP group wider than the domain runs its collectives over the NICs, not overlapped.
  const exposedTp = tpOverlaps(ctx) ? Math.max(0.1 * tpComm, tpComm - 3 * forwardGemm) : tpComm;

  // Context parallelism: ring exchange of K and V chunks, cp−1 steps forward, keys/values and their gradients
  // backward, overlapped with the attention of the chunk in hand (Megatron-Core CP, ring attention).
  let exposedCp = 0;
  if (plan.cp > 1) {
    const kvHeads = model.mla ? model.heads : model.kvHeads;
    const chunk = (2 * 2 * tokens * kvHeads * qkDim) / t;
    const forwardComm = (plan.cp - 1) * sendSeconds(ctx.cpLink, chunk);
    exposedCp =
      Math.max(0, forwardComm - forwardAttention) +
      Math.max(0, 2 * forwardComm - (trainingAttention - forwardAttention));
  }

  // Expert parallelism: token dispatch and combine all-to-alls, forward and backward (Megatron-Core MoE).
  let exposedEp = 0;
  if (moeLayer && model.moe && plan.ep > 1) {
    const dispatchBytes = (2 * tokens * model.moe.topK * h) / t;
    const epComm = 4 * allToAllSeconds(ctx.epLink, dispatchBytes);
    // Overlapped with the computation of another micro-batch (Megatron-Core 1F1B EP overlap): only what exceeds
    // the layer's forward and backward compute stays exposed.
    const compute = 3 * forwardGemm + trainingAttention;
    exposedEp = plan.overlap.epComm ? Math.max(0, epComm - compute) : epComm;
  }

  const attentionFlops = attention.forwardFlops;
  const hardwareFlops =
    3 * gemmFlops + 3.5 * attentionFlops + (plan.recomputation === 'full' ? gemmFlops + attentionFlops : 0);
  return {
    forwardGemm,
    expertForward,
    forwardAttention,
    trainingAttention,
    forwardMemory,
    forward,
    backward,
    recompute,
    exposedTp,
    exposedCp,
    exposedEp,
    hardwareFlops,
  };
}

/**
 * Whether the plan's TP communication overlaps its GEMMs: asked for, and the TP group inside one scale-up domain
 * (Transformer Engine's userbuffers share buffers between the TP ranks through CUDA IPC over NVLink; a group across
 * domains runs plain NCCL collectives over the NICs).
 */
function tpOverlaps(ctx: LayerContext): boolean {
  return ctx.plan.overlap.tpComm && ctx.tpLink.domains <= 1;
}

/**
 * Forward bytes eager PyTorch moves beyond the fused kernels of {@link layerCost}, for `tokens` tokens of one layer
 * (backward moves twice them, as the fused ones). Counted op by op on the Llama code of torchtitan (models/norms.py,
 * model.py): RMSNorm as x.float(), pow(2), mean, x·rsqrt, type_as, ·weight reads 20 B and writes 16 B per element
 * where the fused kernel reads 2 and writes 2 (+32 B, two norms per layer); SwiGLU as silu(x₁) then ·x₃ moves 10 B
 * per element of f where the fused activation moves 6 (+4 B); rotary embedding as float(), complex multiply and
 * type_as moves 20 B per element of Q and K where the fused kernel moves 4 (+16 B). LayerNorm, GeLU, learned or ALiBi
 * positions and residual adds are one kernel each in eager PyTorch too: nothing extra.
 */
export function unfusedExtraBytes(model: ResolvedModel, tokens: number, t: number, sp: number, moeLayer: boolean) {
  let bytes = 0;
  if (model.normalization === 'rmsnorm') bytes += (2 * 32 * tokens * model.hiddenSize) / sp;
  if (model.gatedMlp && !(moeLayer && model.moe)) bytes += (4 * tokens * model.ffnHiddenSize) / t;
  if (model.positionEmbedding === 'rope') {
    const qkDim = model.mla ? model.mla.qkRopeHeadDim : model.headDim;
    bytes += (16 * tokens * (model.heads + model.kvHeads) * qkDim) / t;
  }
  return bytes;
}

/**
 * Share of a layer's forward matmul FLOPs that per-operator selective checkpointing recomputes: it saves the output
 * of the 1st, 3rd, 5th... matmul of the block in call order and recomputes the others (torchtitan
 * parallelize_llama.py `_save_list` policy: "save every other mm"). The Llama block calls wq, wk, wv, wo, then w1,
 * w3, w2 (gated) or w1, w2 (plain): wk, wo and w3 (or w2) are recomputed. An MoE layer's experts are taken as half
 * recomputed (the policy alternates over their grouped matmuls as well).
 */
export function recomputedMatmulShare(model: ResolvedModel, moeLayer: boolean): number {
  const h = model.hiddenSize;
  const q = model.heads * model.headDim * h;
  const kv = model.kvHeads * model.headDim * h;
  const attention = [q, kv, kv, q];
  const mlp = moeLayer && model.moe ? [] : model.gatedMlp ? [1, 1, 1] : [1, 1];
  const calls = [...attention, ...mlp.map(() => model.ffnHiddenSize * h)];
  let total = 0;
  let recomputed = 0;
  for (const [i, flops] of calls.entries()) {
    total += flops;
    if (i % 2 === 1) recomputed += flops;
  }
  if (moeLayer && model.moe) {
    const moe = model.moe;
    const experts = moe.topK * moe.expertFfnHiddenSize * h * (model.gatedMlp ? 3 : 2);
    total += experts;
    recomputed += experts / 2;
  }
  return total > 0 ? recomputed / total : 0;
}

/** Seconds of a layer's attention core for one micro-batch on one GPU, and the forward FLOPs its kernel executes. */
export interface AttentionCost {
  readonly forward: number;
  /** Forward and backward. */
  readonly training: number;
  /** Forward FLOPs executed: the causal half for fused kernels, the full s×s for the unfused core. */
  readonly forwardFlops: number;
}

/**
 * The attention core (QKᵀ, softmax, PV and their backward) on the context's kernel. Fused kernels skip the masked
 * blocks of causal attention (half the s² FLOPs; Dao 2023 sec. 4.1 counts causal FLOPs so) and run at their own
 * rate (compute-rates.ts: measured for cuDNN, published for FlashAttention-2/3 and Triton); backward FLOPs are 2.5×
 * forward (5 matmuls for 2 with recomputation, Dao 2023 sec. 4.1). The unfused core (Dao et al. 2022, Algorithm 0:
 * S = QKᵀ written to HBM, P = softmax(S) read and written, O = PV) computes the full s×s as two batched GEMMs at the
 * GEMM rate, backward four (dV, dP, dQ, dK; Korthikanti et al. 2022 sec. 3), plus the score matrices at HBM
 * bandwidth: forward S written (2 B), read and P written by the fused softmax (2 + 2 B), P read by PV (2 B), and with
 * dropout a 1 B mask written and P' written and read (2 + 2 B); backward about twice those bytes.
 */
export function attentionCost(ctx: LayerContext, causalForwardFlops: number, headDim: number): AttentionCost {
  const { plan, rates } = ctx;
  const length = ctx.sequenceLength / plan.cp;
  if (ctx.attentionKernel !== 'unfused') {
    const kernel = ctx.attentionKernel;
    return {
      forward: attentionSeconds(rates, causalForwardFlops, length, headDim, 'forward', kernel),
      training: attentionSeconds(rates, 3.5 * causalForwardFlops, length, headDim, 'training', kernel),
      forwardFlops: causalForwardFlops,
    };
  }
  const fullFlops = 2 * causalForwardFlops;
  // Score elements of this GPU: b · heads/t · (s/c queries) · s keys.
  const scores = (plan.microBatch * (ctx.model.heads / plan.tp) * ctx.sequenceLength * ctx.sequenceLength) / plan.cp;
  const forwardBytes = scores * (2 + 2 + 2 + 2 + (ctx.model.dropout ? 1 + 2 + 2 : 0));
  const gemm = fullFlops / rates.gemmFlops.bf16; // attention GEMMs run in BF16 (Transformer Engine keeps them so)
  const forward = rates.gemmOverheadSeconds * 2 + gemm + memorySeconds(rates, forwardBytes);
  const backward = rates.gemmOverheadSeconds * 4 + 2 * gemm + memorySeconds(rates, 2 * forwardBytes);
  return { forward, training: forward + backward, forwardFlops: fullFlops };
}

/** Seconds and FLOPs of the output layer (and loss) for one micro-batch on one GPU of the last stage. */
export interface HeadCost {
  readonly forward: number;
  readonly backward: number;
  readonly exposedTp: number;
  /** Hardware FLOPs executed. */
  readonly flops: number;
}

/** Cost of the output layer and loss (last stage) and embedding (first stage) for one micro-batch. */
export function headCost(ctx: LayerContext): HeadCost {
  const { model, plan, rates } = ctx;
  const tokens = (plan.microBatch * ctx.sequenceLength) / plan.cp;
  const vocab = model.vocabSize / plan.tp; // vocabulary-parallel output layer
  const gemm = gemmSeconds(rates, tokens, vocab, model.hiddenSize, 'bf16');
  // Cross-entropy over FP32 logits: write, read for max and sum, write gradients (≈ 4 passes of 4 bytes).
  const loss = memorySeconds(rates, 16 * tokens * vocab);
  const forward = gemm + loss / 2;
  const backward = 2 * gemm + loss / 2;
  // Gather the sequence-parallel activations before the output layer and reduce-scatter their gradient, or one
  // all-reduce of the input gradient without sequence parallelism; overlapped like a layer's when enabled.
  const activationBytes = 2 * tokens * model.hiddenSize;
  const tpComm =
    plan.tp <= 1
      ? 0
      : plan.sequenceParallel
        ? allGatherSeconds(ctx.tpLink, activationBytes) + reduceScatterSeconds(ctx.tpLink, activationBytes)
        : allReduceSeconds(ctx.tpLink, activationBytes);
  const exposedTp = tpOverlaps(ctx) ? Math.max(0.1 * tpComm, tpComm - 3 * gemm) : tpComm;
  return { forward, backward, exposedTp, flops: 3 * 2 * tokens * vocab * model.hiddenSize };
}
