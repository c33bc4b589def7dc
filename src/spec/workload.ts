/**
 * Workload: what is trained (the model architecture) and how (tokens, batch, sequence length, precision,
 * optimizer). A workload names a catalog model (`model: llama3-70b`) or spells the architecture out inline.
 * @module
 */
import { z } from 'zod';
import { findModelPreset } from '../catalog/index.js';
import { GATED_ACTIVATIONS, type PresetArchitecture } from '../catalog/models.js';
import { checkCatalogId } from './catalog-refs.js';
import { ALWAYS, isCount, LIMITS, positiveInt, quantity } from './common.js';

/** Routed experts per layer: 65,536, 256× DeepSeek-V3's 256. */
const MAX_EXPERTS = 65_536;
/** Vocabulary: 2^24 = 16.8 M entries, 65× Gemma's 256k. */
const MAX_VOCABULARY = 2 ** 24;
/** Sequences in one global batch: 2^24, 4,000× the 4,096-sequence batches of today's largest runs. */
const MAX_BATCH_SEQUENCES = 2 ** 24;
/** Tokens in one global batch: 10^11, 6,000× Llama 3 405B's 16 M-token batch. */
const MAX_BATCH_TOKENS = 1e11;

/**
 * Multi-head latent attention (DeepSeek-V2/V3, arXiv:2405.04434 sec. 2.1): queries and keys/values pass through
 * low-rank projections; keys split into a positional (RoPE) part and a non-positional part.
 */
export const MlaSchema = z
  .strictObject({
    qLoraRank: z
      .number()
      .int()
      .nonnegative()
      .max(LIMITS.width)
      .describe('Rank of the query down-projection; 0 = no query compression'),
    kvLoraRank: positiveInt(LIMITS.width).describe('Rank of the joint key/value down-projection'),
    qkNopeHeadDim: positiveInt(LIMITS.width).describe('Per-head query/key dimension without rotary embedding'),
    qkRopeHeadDim: positiveInt(LIMITS.width).describe(
      'Per-head query/key dimension carrying rotary embedding (key part shared)',
    ),
    vHeadDim: positiveInt(LIMITS.width).describe('Per-head value dimension'),
  })
  .describe('Multi-head latent attention (DeepSeek-V2/V3)');

/** Mixture-of-experts feed-forward layers. */
export const MoeSchema = z
  .strictObject({
    experts: positiveInt(MAX_EXPERTS).describe('Routed experts per MoE layer'),
    topK: positiveInt(MAX_EXPERTS).describe('Routed experts each token goes to'),
    expertFfnHiddenSize: positiveInt(LIMITS.width).describe('Hidden size of one routed expert MLP'),
    sharedExperts: z
      .number()
      .int()
      .nonnegative()
      .max(MAX_EXPERTS)
      .default(0)
      .describe('Always-active shared experts per MoE layer'),
    sharedExpertFfnHiddenSize: positiveInt(LIMITS.width)
      .optional()
      .describe('Hidden size of one shared expert MLP; defaults to expertFfnHiddenSize'),
    firstDenseLayers: z
      .number()
      .int()
      .nonnegative()
      .max(LIMITS.layers)
      .default(0)
      .describe('Leading layers that keep a dense MLP (DeepSeek-V3: 3)'),
    layerInterval: positiveInt(LIMITS.layers)
      .default(1)
      .describe('After the dense layers, every n-th layer is MoE (1 = all, 2 = alternate)'),
    capacityFactor: z
      .number()
      .positive()
      .max(MAX_EXPERTS)
      .optional()
      .describe('Expert capacity factor; absent = dropless routing'),
  })
  .refine((moe) => !isCount(moe.topK) || !isCount(moe.experts) || moe.topK <= moe.experts, {
    ...ALWAYS,
    path: ['topK'],
    message: 'topK cannot exceed the number of routed experts',
  });

/** A decoder-only transformer architecture. */
export const ModelSchema = z
  .strictObject({
    name: z.string().min(1).describe('Display name'),
    layers: positiveInt(LIMITS.layers).describe('Transformer layers (decoder blocks)'),
    hiddenSize: positiveInt(LIMITS.width).describe('Model (residual stream) dimension'),
    heads: positiveInt(LIMITS.heads).describe('Attention (query) heads'),
    kvHeads: positiveInt(LIMITS.heads).optional().describe('Key/value heads (GQA); defaults to heads (MHA); 1 = MQA'),
    headDim: positiveInt(LIMITS.width).optional().describe('Per-head dimension; defaults to hiddenSize / heads'),
    ffnHiddenSize: positiveInt(LIMITS.width).describe('Hidden size of the dense MLP'),
    gatedMlp: z.boolean().default(true).describe('Gated MLP (SwiGLU, three matrices) or plain (two matrices)'),
    activation: z
      .enum(['gelu', 'relu', 'squared-relu', 'swiglu', 'geglu'])
      .optional()
      .describe('MLP activation; swiglu and geglu are gated (gatedMlp true), the others plain (gatedMlp false)'),
    vocabSize: positiveInt(MAX_VOCABULARY).describe('Vocabulary size'),
    tiedEmbeddings: z.boolean().default(false).describe('Output head shares the input embedding matrix'),
    positionEmbedding: z
      .enum(['rope', 'learned', 'alibi'])
      .default('rope')
      .describe('Rotary (no parameters), learned absolute positions, or ALiBi score biases (no parameters)'),
    maxPositions: positiveInt(LIMITS.sequence)
      .optional()
      .describe('Rows of the learned position table (learned positions only)'),
    normalization: z.enum(['rmsnorm', 'layernorm']).default('rmsnorm'),
    linearBias: z.boolean().default(false).describe('Linear layers carry bias vectors (GPT-2/3 style)'),
    dropout: z.boolean().default(false).describe('Dropout after attention and MLP (GPT-3 era); stores masks'),
    mla: MlaSchema.optional(),
    moe: MoeSchema.optional(),
  })
  .superRefine((model, ctx) => {
    const kvHeads = model.kvHeads ?? model.heads;
    if (isCount(model.heads) && isCount(kvHeads) && model.heads % kvHeads !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['kvHeads'],
        input: kvHeads,
        message: `heads (${model.heads}) must be divisible by kvHeads; valid kvHeads: ${divisors(model.heads).join(', ')}`,
      });
    }
    const headDimNeeded = model.headDim === undefined && model.mla === undefined;
    if (headDimNeeded && isCount(model.hiddenSize) && isCount(model.heads) && model.hiddenSize % model.heads !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['headDim'],
        message: `hiddenSize (${model.hiddenSize}) is not divisible by heads (${model.heads}): set headDim explicitly`,
      });
    }
    const activation = model.activation;
    if (
      activation !== undefined &&
      typeof model.gatedMlp === 'boolean' &&
      GATED_ACTIVATIONS.includes(activation) !== model.gatedMlp
    ) {
      // SwiGLU/GeGLU carry a gate matrix (Shazeer 2020, arXiv:2002.05202); GeLU, ReLU and squared ReLU do not.
      const gated = GATED_ACTIVATIONS.includes(activation);
      ctx.addIssue({
        code: 'custom',
        path: ['gatedMlp'],
        input: model.gatedMlp,
        message: `activation ${activation} is ${gated ? 'a gated' : 'a plain'} MLP: set gatedMlp: ${gated}`,
      });
    }
    if (model.positionEmbedding === 'learned' && model.maxPositions === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxPositions'],
        message: 'learned position embeddings need maxPositions (rows of the position table, e.g. 2048)',
      });
    }
    const firstDense = model.moe?.firstDenseLayers;
    if (isCount(model.layers) && typeof firstDense === 'number' && firstDense >= model.layers) {
      ctx.addIssue({
        code: 'custom',
        path: ['moe', 'firstDenseLayers'],
        input: firstDense,
        message: `must be less than layers (${model.layers}) so that at least one layer is MoE`,
      });
    }
  }, ALWAYS)
  .describe('Decoder-only transformer architecture');

/** Training settings: the job's size and numerics. */
export const TrainingSchema = z
  .strictObject({
    totalTokens: quantity(LIMITS.tokens).describe('Tokens to train on (e.g. 15.6T)'),
    sequenceLength: positiveInt(LIMITS.sequence).describe('Tokens per training sequence'),
    globalBatch: z
      .union([
        z.strictObject({ sequences: positiveInt(MAX_BATCH_SEQUENCES).describe('Sequences per optimizer step') }),
        z.strictObject({
          tokens: quantity(MAX_BATCH_TOKENS).describe('Tokens per optimizer step (a multiple of sequenceLength)'),
        }),
      ])
      .describe('Global batch, in sequences or in tokens'),
    precision: z
      .enum(['bf16', 'fp8', 'fp4'])
      .default('bf16')
      .describe('Precision of the linear-layer matrix multiplies (fp8: Transformer Engine FP8/MXFP8; fp4: NVFP4)'),
    optimizer: z.enum(['adamw', 'adam', 'sgd-momentum']).default('adamw'),
  })
  .superRefine((training, ctx) => {
    const batch = training.globalBatch as { tokens?: unknown } | undefined;
    const tokens = batch?.tokens;
    const length = training.sequenceLength;
    if (isCount(tokens) && isCount(length) && tokens % length !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['globalBatch', 'tokens'],
        input: tokens,
        message: `must be a multiple of sequenceLength (${length}); nearest: ${Math.max(1, Math.round(tokens / length)) * length}`,
      });
    }
  }, ALWAYS);

/** A workload: a model (catalog id or inline architecture) and its training settings. */
export const WorkloadSchema = z
  .strictObject({
    model: z
      .union([z.string().min(1), ModelSchema])
      .describe('Catalog model id (see `tokenworks catalog models`) or an inline architecture'),
    training: TrainingSchema,
  })
  .superRefine((workload, ctx) => {
    checkCatalogId(ctx, ['model'], workload.model, 'model', findModelPreset, 'tokenworks catalog models');
  }, ALWAYS)
  .describe('What is trained and how');

/** A model architecture after defaults are applied. */
export type Model = z.output<typeof ModelSchema>;
/** A model architecture as written in a spec. */
export type ModelInput = z.input<typeof ModelSchema>;

/** Compile-time check: a catalog preset's architecture is a model a spec may write (fails to compile if not). */
export type PresetArchitectureIsModelInput = PresetArchitecture extends ModelInput ? true : never;
/** The check applied: this line stops compiling when a preset field drifts from the schema. */
export const PRESETS_ARE_MODEL_INPUTS: PresetArchitectureIsModelInput = true;
export type Moe = z.output<typeof MoeSchema>;
export type Mla = z.output<typeof MlaSchema>;
export type Training = z.output<typeof TrainingSchema>;
/** Precisions of matrix multiplies: the training precision (the performance model's kernel rates are per precision). */
export type MatmulPrecision = Training['precision'];
/** A workload as parsed, before the model id is resolved against the catalog. */
export type WorkloadInput = z.output<typeof WorkloadSchema>;
/** A workload with its model resolved. */
export interface Workload {
  readonly model: Model;
  readonly training: Training;
}

function divisors(n: number): number[] {
  const result: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) result.push(d);
  return result;
}
