/**
 * Plan: how one training job is laid out on the system (parallelism degrees, sharding, micro-batch,
 * activation recomputation and communication overlap). Names follow Megatron-LM.
 * @module
 */
import { z } from 'zod';
import { ATTENTION_KERNELS, STACK_IDS } from '../catalog/stacks.js';
import { ALWAYS, isCount, LIMITS, positiveInt } from './common.js';

/** Which training state is sharded across data-parallel ranks (ZeRO, Rajbhandari et al. 2020; FSDP). */
export const ShardingSchema = z
  .enum(['none', 'zero1', 'zero2', 'zero3', 'fsdp'])
  .describe(
    'none; zero1 = optimizer state (Megatron distributed optimizer); zero2 = + gradients; zero3/fsdp = + weights',
  );

/** Which communication is overlapped with compute. */
export const OverlapSchema = z.strictObject({
  gradReduce: z.boolean().default(true).describe('Data-parallel gradient reduction overlapped with backward'),
  paramGather: z.boolean().default(true).describe('Sharded-weight all-gather overlapped with forward'),
  tpComm: z.boolean().default(false).describe('Tensor-parallel collectives overlapped with GEMMs'),
  ppComm: z.boolean().default(true).describe('Pipeline sends/receives overlapped with compute'),
  epComm: z
    .boolean()
    .default(false)
    .describe('Expert-parallel all-to-all overlapped with another micro-batch (Megatron-Core EP overlap)'),
});

/** A parallelism plan. `dp` is derived from the GPU count when left out. */
export const PlanSchema = z
  .strictObject({
    tp: positiveInt(LIMITS.gpus).default(1).describe('Tensor-parallel degree'),
    pp: positiveInt(LIMITS.layers).default(1).describe('Pipeline-parallel stages'),
    virtualStages: positiveInt(LIMITS.layers).default(1).describe('Model chunks per pipeline rank (interleaved 1F1B)'),
    dp: positiveInt(LIMITS.gpus).optional().describe('Data-parallel degree; default gpuCount / (tp·pp·cp)'),
    cp: positiveInt(LIMITS.gpus).default(1).describe('Context-parallel degree'),
    ep: positiveInt(LIMITS.gpus).default(1).describe('Expert-parallel degree (MoE)'),
    sequenceParallel: z.boolean().optional().describe('Megatron sequence parallelism; default on when tp > 1'),
    sharding: ShardingSchema.default('zero1'),
    microBatch: positiveInt(LIMITS.gpus).default(1).describe('Sequences per micro-batch'),
    recomputation: z
      .enum(['none', 'selective', 'full'])
      .default('selective')
      .describe('Activation recomputation: selective = attention core (Korthikanti et al. 2022); full = every layer'),
    recomputeLayers: positiveInt(LIMITS.layers)
      .optional()
      .describe(
        'With full recomputation, how many layers of each model chunk recompute (Megatron recompute_num_layers); default all',
      ),
    activationOffloadLayers: z
      .number()
      .int()
      .min(0)
      .max(LIMITS.layers)
      .optional()
      .describe(
        'Layers whose activations go to host memory in forward and come back for backward (Megatron-Core cpu_offloading_num_layers); needs pp 1, recomputation none and fewer than the model layers; default 0',
      ),
    flashAttention: z.boolean().default(true).describe('Fused (flash) attention: no s×s scores stored'),
    lowPrecisionWeights: z
      .boolean()
      .default(false)
      .describe('Keep model weights in FP8 between steps (Transformer Engine fp8_param); FP8/FP4 training only'),
    stack: z
      .enum(STACK_IDS)
      .optional()
      .describe(
        'Software stack (src/catalog/stacks.ts): which overlaps and sequence parallelism exist, the attention kernel and GEMM efficiency; default megatron-core',
      ),
    attentionKernel: z
      .enum(ATTENTION_KERNELS)
      .optional()
      .describe("Attention kernel; default the stack's (unfused when flashAttention is false)"),
    fusedElementwise: z
      .boolean()
      .optional()
      .describe(
        "Element-wise kernels fused (Transformer Engine, torch.compile); false runs eager PyTorch's separate kernels; default the stack's",
      ),
    gemmEfficiency: z
      .number()
      .positive()
      .max(2)
      .optional()
      .describe("Share of the calibrated GEMM rate this stack sustains; default the stack's fitted figure"),
    overlap: OverlapSchema.default({ gradReduce: true, paramGather: true, tpComm: false, ppComm: true, epComm: false }),
  })
  .superRefine((plan, ctx) => {
    if (isCount(plan.virtualStages) && plan.virtualStages > 1 && plan.pp === 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['virtualStages'],
        input: plan.virtualStages,
        message: 'virtual stages need pipeline parallelism: set pp > 1 or virtualStages: 1',
      });
    }
  }, ALWAYS)
  .describe('Parallelism, sharding, micro-batch, recomputation and overlap');

export type Plan = z.output<typeof PlanSchema>;
export type Sharding = z.output<typeof ShardingSchema>;
