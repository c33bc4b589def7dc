/**
 * Software stacks as data: what each training framework can overlap, shard and fuse, which attention kernel it
 * runs, and how much of the modelled GEMM rate it sustains. A plan names its stack (`plan.stack`); without one it is
 * `megatron-core`, the stack the calibration (src/perf/calibration.ts) was fitted on, so an old spec estimates as
 * before. Every default carries its source in a one-line comment; every knob is overridable in the plan
 * (`plan.attentionKernel`, `plan.gemmEfficiency`, `plan.overlap`, `plan.sequenceParallel`, `plan.sharding`).
 * docs/model.md § Software stacks explains how the estimator reads them.
 * @module
 */
import { STACK_FIT } from '../perf/stack-fit.js';

/** Attention kernels the model times (docs/model.md § Attention by kernel). */
export const ATTENTION_KERNELS = ['cudnn', 'flash-attention-3', 'flash-attention-2', 'triton', 'unfused'] as const;
export type AttentionKernel = (typeof ATTENTION_KERNELS)[number];

/** Stack profiles, by id. */
export const STACK_IDS = [
  'megatron-core',
  'nemo',
  'megatron-lm-2021',
  'megatron-lm-2022',
  'megatron-deepspeed',
  'deepspeed-zero',
  'pytorch-fsdp',
  'torchtitan',
] as const;
export type StackId = (typeof STACK_IDS)[number];

/** Which overlaps a stack implements; a plan can switch one off, never on where the stack lacks it. */
export interface StackOverlaps {
  readonly tpComm: boolean;
  readonly gradReduce: boolean;
  readonly paramGather: boolean;
  readonly ppComm: boolean;
  readonly epComm: boolean;
}

/**
 * How a stack holds memory where it differs from Megatron-Core (docs/model.md § Memory per GPU). A profile without
 * one is modelled as Megatron-Core: selective recomputation of the attention core, a fused cross-entropy.
 */
export interface StackMemory {
  /**
   * What selective checkpointing keeps: `attention-core` (Megatron, Korthikanti et al. 2022: everything but the s²
   * core) or `per-op` (torch.utils.checkpoint selective policy: the outputs of every other matmul and of attention).
   */
  readonly selectiveCheckpointing: 'attention-core' | 'per-op';
  /** Bytes per logit at the loss's peak on the last stage (Megatron's fused cross-entropy: 6). */
  readonly lossBytesPerLogit: number;
  /**
   * FSDP keeps the root unit (embedding, final norm, output layer) gathered through the step; with pipeline
   * parallelism it keeps the whole stage gathered and accumulates unsharded FP32 gradients over the micro-batches.
   */
  readonly fsdpUnshardedRootAndStage: boolean;
  /** The last pipeline stage keeps every micro-batch's BF16 output logits until the step ends. */
  readonly pipelineKeepsOutputs: boolean;
  /**
   * What the stack logs as its peak memory: `device` (all memory in use) or `allocator-reserved` (the caching
   * allocator's reserved peak, which leaves out the CUDA context and NCCL's own buffers).
   */
  readonly reportedPeak: 'device' | 'allocator-reserved';
  /**
   * With `allocator-reserved`: what the caching allocator holds reserved beyond the live tensors at the peak, as a
   * share of them (freed blocks it keeps cached, blocks split and rounded to its 2 MiB/20 MiB segment sizes).
   */
  readonly allocatorCachedShare: number;
}

/** One software stack. */
export interface StackProfile {
  readonly id: StackId;
  readonly name: string;
  readonly overlaps: StackOverlaps;
  /** Megatron sequence parallelism (Korthikanti et al. 2022) or its equivalent exists. */
  readonly sequenceParallel: boolean;
  /** Data-parallel sharding the stack runs by default and the ones it supports. */
  readonly defaultSharding: 'none' | 'zero1' | 'zero2' | 'zero3' | 'fsdp';
  readonly shardings: readonly ('none' | 'zero1' | 'zero2' | 'zero3' | 'fsdp')[];
  /** The attention kernel it runs by default. */
  readonly attentionKernel: AttentionKernel;
  /** Elementwise fusion of norms, activations and residuals (Transformer Engine, torch.compile). */
  readonly fusedElementwise: boolean;
  /**
   * Layer-wise activation offload to host memory exists (Megatron-Core `cpu_offloading_num_layers`, Transformer
   * Engine's CPU offload context): the plan's `activationOffloadLayers` needs it.
   */
  readonly activationOffload: boolean;
  /**
   * Share of the calibrated GEMM rate (fitted on Megatron-Core, src/perf/calibration.ts) this stack sustains, per
   * precision: 1 for Megatron-Core; fitted on a stated subset for the others (scripts/fit-stack-efficiency.ts).
   */
  readonly gemmEfficiency: { readonly bf16: number; readonly fp8: number };
  /** Memory behaviour where it is not Megatron-Core's (absent: Megatron-Core's). */
  readonly memory?: StackMemory;
  /** Where the defaults come from. */
  readonly sources: readonly string[];
}

const ALL_OVERLAPS: StackOverlaps = { tpComm: true, gradReduce: true, paramGather: true, ppComm: true, epComm: true };

/** The profiles. */
export const STACKS: Readonly<Record<StackId, StackProfile>> = {
  'megatron-core': {
    id: 'megatron-core',
    name: 'Megatron-Core (Megatron-LM core, Megatron-Bridge)',
    // --tp-comm-overlap, --overlap-grad-reduce, --overlap-param-gather, --overlap-p2p-communication and MoE EP/A2A
    // overlap (megatron/training/arguments.py; Megatron-Core docs "Communication overlap").
    overlaps: ALL_OVERLAPS,
    // --sequence-parallel (Korthikanti et al. 2022), on with TP in every NeMo/Bridge recipe.
    sequenceParallel: true,
    // --use-distributed-optimizer (ZeRO-1) in the recipes; Megatron FSDP (--use-megatron-fsdp) also exists.
    defaultSharding: 'zero1',
    shardings: ['none', 'zero1', 'zero2', 'zero3', 'fsdp'],
    // Transformer Engine DotProductAttention, cuDNN fused attention on Hopper (TE docs, attention backends).
    attentionKernel: 'cudnn',
    fusedElementwise: true,
    // cpu_offloading / cpu_offloading_num_layers (megatron/core/transformer/transformer_config.py): PP 1, no recompute.
    activationOffload: true,
    gemmEfficiency: { bf16: 1, fp8: 1 }, // the calibration is fitted on this stack's rows (calibration.ts)
    sources: [
      'github:NVIDIA/Megatron-LM megatron/training/arguments.py',
      'https://docs.nvidia.com/deeplearning/transformer-engine/user-guide/examples/attention/attention.html',
    ],
  },
  nemo: {
    id: 'nemo',
    name: 'NeMo (on Megatron-Core)',
    overlaps: ALL_OVERLAPS, // NeMo 2 performance recipes turn on TP, DP and PP overlap (NeMo docs, performance tuning guide)
    sequenceParallel: true, // NeMo recipes: sequence_parallel = tp > 1
    defaultSharding: 'zero1', // NeMo recipes: use_distributed_optimizer = True
    shardings: ['none', 'zero1', 'fsdp'],
    attentionKernel: 'cudnn', // NeMo uses TE attention (cuDNN fused attention on Hopper)
    fusedElementwise: true,
    activationOffload: true, // Megatron-Core's cpu_offloading (NeMo and Megatron-Bridge recipes set cpu_offloading_num_layers)
    gemmEfficiency: { bf16: 1, fp8: 1 }, // same kernels as Megatron-Core
    sources: ['https://docs.nvidia.com/nemo-framework/user-guide/latest/performance/performance-guide.html'],
  },
  'megatron-lm-2021': {
    id: 'megatron-lm-2021',
    name: 'Megatron-LM 2021 (PTD-P)',
    // Narayanan et al. 2021: gradients all-reduced after the backward, no TP overlap; pipeline sends overlapped
    // in steady state (sec. 4.1 scatter/gather optimisation), no distributed optimizer, no experts.
    overlaps: { tpComm: false, gradReduce: false, paramGather: false, ppComm: true, epComm: false },
    sequenceParallel: false, // introduced by Korthikanti et al. 2022, after this release
    defaultSharding: 'none',
    shardings: ['none'],
    // Fused scale-mask-softmax CUDA kernel between two batched GEMMs (megatron/fused_kernels, 2021): unfused core.
    attentionKernel: 'unfused',
    fusedElementwise: true, // fused bias-GeLU and bias-dropout-add kernels (Narayanan et al. 2021 sec. 4.2)
    activationOffload: false, // cpu_offloading came with Megatron-Core (2024), after this release
    gemmEfficiency: STACK_FIT['megatron-lm-2021'], // fitted on its even-indexed rows (scripts/fit-stack-efficiency.ts)
    sources: ['Narayanan et al. 2021, arXiv:2104.04473 sec. 4'],
  },
  'megatron-lm-2022': {
    id: 'megatron-lm-2022',
    name: 'Megatron-LM 2022 (sequence parallelism, selective recomputation)',
    overlaps: { tpComm: false, gradReduce: false, paramGather: false, ppComm: true, epComm: false }, // as 2021
    sequenceParallel: true, // Korthikanti et al. 2022 sec. 4.2.2
    defaultSharding: 'none',
    shardings: ['none'],
    attentionKernel: 'unfused', // Korthikanti et al. 2022 time the s² softmax and dropout (sec. 5): no flash attention
    fusedElementwise: true,
    activationOffload: false, // cpu_offloading came with Megatron-Core (2024), after this release
    gemmEfficiency: STACK_FIT['megatron-lm-2022'], // fitted on its even-indexed rows (scripts/fit-stack-efficiency.ts)
    sources: ['Korthikanti et al. 2022, arXiv:2205.05198 sec. 4-6'],
  },
  'megatron-deepspeed': {
    id: 'megatron-deepspeed',
    name: 'Megatron-DeepSpeed',
    // DeepSpeed ZeRO-1 with overlap_comm; Megatron's TP without comm overlap (microsoft/Megatron-DeepSpeed).
    overlaps: { tpComm: false, gradReduce: true, paramGather: true, ppComm: true, epComm: false },
    sequenceParallel: false, // Megatron sequence parallelism is not in its 2023 release (arguments.py)
    defaultSharding: 'zero1',
    shardings: ['none', 'zero1', 'zero2', 'zero3'],
    attentionKernel: 'unfused', // --use-flash-attn(-v2) is opt-in (megatron/arguments.py); default the unfused core
    fusedElementwise: true,
    activationOffload: false, // Megatron-DeepSpeed has no layer-wise activation offload (DeepSpeed's only offloads checkpoints)
    gemmEfficiency: STACK_FIT['megatron-deepspeed'], // fitted where it has 4 even-indexed rows (fit-stack-efficiency.ts)
    sources: ['github:microsoft/Megatron-DeepSpeed megatron/arguments.py'],
  },
  'deepspeed-zero': {
    id: 'deepspeed-zero',
    name: 'DeepSpeed ZeRO (no model parallelism)',
    // ZeRO-3 prefetches parameters (stage3_prefetch_bucket_size); overlap_comm, which overlaps the gradient reduction
    // with backward, defaults to false (DeepSpeed config docs, ZeRO optimizations).
    overlaps: { tpComm: false, gradReduce: false, paramGather: true, ppComm: false, epComm: false },
    sequenceParallel: false,
    defaultSharding: 'zero3',
    shardings: ['none', 'zero1', 'zero2', 'zero3'],
    attentionKernel: 'unfused', // Narayanan et al. 2021 Table 2's ZeRO-3 baseline ran Megatron's unfused attention core
    fusedElementwise: false,
    activationOffload: false, // DeepSpeed's cpu_checkpointing offloads only recomputation checkpoints: not modelled
    gemmEfficiency: { bf16: 1, fp8: 1 },
    sources: ['https://www.deepspeed.ai/docs/config-json/#zero-optimizations-for-fp16-training'],
  },
  'pytorch-fsdp': {
    id: 'pytorch-fsdp',
    name: 'PyTorch FSDP (Composer / llm-foundry)',
    // FSDP FULL_SHARD with backward prefetch and limit_all_gathers (llm-foundry
    // scripts/train/benchmarking/submit_benchmarks.py); no TP, PP or expert parallelism in these runs.
    overlaps: { tpComm: false, gradReduce: true, paramGather: true, ppComm: false, epComm: false },
    sequenceParallel: false,
    defaultSharding: 'fsdp',
    shardings: ['none', 'zero2', 'fsdp'],
    // --attn_impl default 'triton' (submit_benchmarks.py): the Triton flash-attention kernel with an ALiBi bias.
    attentionKernel: 'triton',
    fusedElementwise: false, // eager PyTorch (image mosaicml/pytorch:1.13.1 in submit_benchmarks.py): no compile
    activationOffload: false, // llm-foundry FSDP: no activation offload in the benchmarked recipes
    gemmEfficiency: STACK_FIT['pytorch-fsdp'], // fitted on even-indexed llm-foundry rows (scripts/fit-stack-efficiency.ts)
    sources: [
      'github:mosaicml/llm-foundry scripts/train/benchmarking/submit_benchmarks.py',
      'https://pytorch.org/docs/stable/fsdp.html',
    ],
  },
  torchtitan: {
    id: 'torchtitan',
    name: 'torchtitan (FSDP2, DTensor TP, PP, CP)',
    // FSDP2 prefetches the next gather and overlaps reduce-scatter; async TP is opt-in (torchtitan docs/composability.md);
    // pipeline sends are overlapped by its schedules (torch.distributed.pipelining).
    overlaps: { tpComm: false, gradReduce: true, paramGather: true, ppComm: true, epComm: false },
    sequenceParallel: true, // torchtitan parallelize_llama: SequenceParallel on norms with TP
    defaultSharding: 'fsdp',
    shardings: ['none', 'fsdp'],
    // scaled_dot_product_attention's flash backend, FlashAttention-2 since PyTorch 2.2 (PyTorch 2.2 release notes).
    attentionKernel: 'flash-attention-2',
    // Eager by default (torchtitan job config `training.compile` defaults to false); a run with torch.compile sets
    // plan.fusedElementwise (validate does where the row says so).
    fusedElementwise: false,
    activationOffload: false, // torchtitan at the benchmarked release (2024-12) had no activation offload
    gemmEfficiency: STACK_FIT.torchtitan, // fitted on even-indexed torchtitan rows (scripts/fit-stack-efficiency.ts)
    memory: {
      // selective_ac_option 'op': _save_list (aten.mm, SDPA, reduce_scatter), "except every second mm"
      // (torchtitan models/llama/parallelize_llama.py _apply_ac_to_transformer_block, 2024-12).
      selectiveCheckpointing: 'per-op',
      // loss_fn = cross_entropy(pred.flatten(0, 1).float(), ...) (torchtitan train.py): BF16 logits upcast to FP32;
      // the peak is the log-softmax backward, its FP32 output, incoming and outgoing gradient (3 × 4 B).
      lossBytesPerLogit: 12,
      // FSDP2 leaves the root unit gathered after forward (torch fully_shard _lazy_init); torchtitan apply_fsdp:
      // reshard_after_forward = not pp_enabled; torch.distributed.pipelining stage.py backward_maybe_with_nosync:
      // set_requires_gradient_sync(False) until the last micro-batch, FSDPParam.to_accumulated_grad_if_needed: FP32.
      fsdpUnshardedRootAndStage: true,
      // torch.distributed.pipelining stage.py forward_one_chunk: `if self.is_last: self.output_chunks.append(output)`.
      pipelineKeepsOutputs: true,
      // torchtitan metrics.py logs memory as device_mem_stats.max_reserved_gib (torch.cuda reserved_bytes.all.peak).
      reportedPeak: 'allocator-reserved',
      // Fitted: the median reserved/allocated ratio on the even-positioned rows that state their peak, the odd ones
      // held out (scripts/fit-allocator-share.ts; docs/validation.md). It also absorbs what the model leaves out.
      allocatorCachedShare: 0.16,
    },
    sources: [
      'github:pytorch/torchtitan benchmarks/llama3_h100_202412_torchtitan.md',
      'https://pytorch.org/blog/pytorch2-2/',
      'github:pytorch/torchtitan torchtitan/parallelisms/parallelize_llama.py, train.py, torchtitan/metrics.py @9dec370',
      'github:pytorch/pytorch torch/distributed/pipelining/stage.py, torch/distributed/_composable/fsdp',
    ],
  },
};

/** The stack of a plan that names none: today's model (the calibration's stack). */
export const DEFAULT_STACK: StackId = 'megatron-core';

/** Framework texts of published runs, matched to a stack (first match wins). */
const FRAMEWORK_PATTERNS: readonly [RegExp, StackId][] = [
  [/torchtitan/i, 'torchtitan'],
  [/composer|llm-foundry|pytorch fsdp/i, 'pytorch-fsdp'],
  [/megatron-deepspeed/i, 'megatron-deepspeed'],
  [/deepspeed/i, 'deepspeed-zero'],
  [/megatron-lm \(2022\)/i, 'megatron-lm-2022'],
  [/megatron-lm \(2021\)|megatron-lm ptd-p|ptd-p/i, 'megatron-lm-2021'],
  [/nemo/i, 'nemo'],
  [/megatron-core|megatron-bridge/i, 'megatron-core'],
];

/** The stack a framework text names ("Composer + PyTorch FSDP (llm-foundry)"), or undefined. */
export function stackOfFramework(framework: string | null | undefined): StackId | undefined {
  if (!framework) return undefined;
  return FRAMEWORK_PATTERNS.find(([pattern]) => pattern.test(framework))?.[1];
}
