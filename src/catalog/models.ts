/**
 * Model presets: published architectures with the parameter totals their authors state, so that the parameter
 * counting in `perf/model-size.ts` can be checked against them.
 * @module
 */
import { type Figure, fig } from './figure.js';

/**
 * How a publisher counted "active" parameters for a mixture-of-experts model. Publishers differ: Mistral counts
 * every parameter a token touches, embedding row included; DeepSeek's 37B matches the parameters that take part in
 * matrix multiplies (the input-embedding lookup left out).
 */
export type ActiveParamsConvention = 'all-touched' | 'matmul';

/**
 * A preset's architecture as a spec would write it (the catalog sits below `spec/`, so it states the fields here;
 * spec/workload.ts checks at compile time that every preset is a valid `ModelInput`).
 */
export interface PresetArchitecture {
  readonly name: string;
  readonly layers: number;
  readonly hiddenSize: number;
  readonly heads: number;
  readonly kvHeads?: number;
  readonly headDim?: number;
  readonly ffnHiddenSize: number;
  readonly gatedMlp?: boolean;
  readonly vocabSize: number;
  readonly tiedEmbeddings?: boolean;
  readonly positionEmbedding?: 'rope' | 'learned';
  readonly maxPositions?: number;
  readonly normalization?: 'rmsnorm' | 'layernorm';
  readonly linearBias?: boolean;
  readonly dropout?: boolean;
  readonly mla?: {
    readonly qLoraRank: number;
    readonly kvLoraRank: number;
    readonly qkNopeHeadDim: number;
    readonly qkRopeHeadDim: number;
    readonly vHeadDim: number;
  };
  readonly moe?: {
    readonly experts: number;
    readonly topK: number;
    readonly expertFfnHiddenSize: number;
    readonly sharedExperts?: number;
    readonly sharedExpertFfnHiddenSize?: number;
    readonly firstDenseLayers?: number;
    readonly layerInterval?: number;
    readonly capacityFactor?: number;
  };
}

/** A published model architecture. */
export interface ModelPreset {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly model: PresetArchitecture;
  /** Sequence length the model was pre-trained with (the longest pre-training stage for most). */
  readonly trainingSequenceLength: number;
  /** Where the architecture figures come from. */
  readonly source: string;
  /** Published parameter totals, in billions. */
  readonly published: {
    readonly totalParamsB: Figure;
    readonly activeParamsB?: Figure & { readonly convention: ActiveParamsConvention };
  };
}

const LLAMA3_PAPER = 'Llama Team, The Llama 3 Herd of Models, arXiv:2407.21783, Table 3';
const LLAMA3_CONFIG = 'meta-llama Meta-Llama-3.1 config.json (vocab_size 128256, rms_norm, untied embeddings)';

/** Every model preset. */
export const MODEL_PRESETS: readonly ModelPreset[] = Object.freeze([
  {
    id: 'gpt3-175b',
    aliases: ['gpt-3', 'gpt3', 'gpt-3-175b'],
    model: {
      name: 'GPT-3 175B',
      layers: 96,
      hiddenSize: 12288,
      heads: 96,
      headDim: 128,
      ffnHiddenSize: 49152,
      gatedMlp: false,
      vocabSize: 50257,
      tiedEmbeddings: true,
      positionEmbedding: 'learned',
      maxPositions: 2048,
      normalization: 'layernorm',
      linearBias: true,
    },
    trainingSequenceLength: 2048,
    source:
      'Brown et al., Language Models are Few-Shot Learners, arXiv:2005.14165, Table 2.1 (n_layers 96, d_model 12288, n_heads 96, d_head 128, n_ctx 2048; FFN 4 d_model and GPT-2 BPE vocabulary of 50257 per sec. 2.1 / GPT-2)',
    published: { totalParamsB: fig(175, 'billion parameters', 'Brown et al. 2020, arXiv:2005.14165, Table 2.1') },
  },
  {
    id: 'llama3-8b',
    aliases: ['llama-3-8b', 'llama3.1-8b', 'llama-3.1-8b'],
    model: {
      name: 'Llama 3 8B',
      layers: 32,
      hiddenSize: 4096,
      heads: 32,
      kvHeads: 8,
      ffnHiddenSize: 14336,
      vocabSize: 128256,
    },
    trainingSequenceLength: 8192,
    source: `${LLAMA3_PAPER}; ${LLAMA3_CONFIG}`,
    published: { totalParamsB: fig(8.03, 'billion parameters', 'meta-llama/Meta-Llama-3.1-8B model card (8.03B)') },
  },
  {
    id: 'llama3-70b',
    aliases: ['llama-3-70b', 'llama3.1-70b', 'llama-3.1-70b'],
    model: {
      name: 'Llama 3 70B',
      layers: 80,
      hiddenSize: 8192,
      heads: 64,
      kvHeads: 8,
      ffnHiddenSize: 28672,
      vocabSize: 128256,
    },
    trainingSequenceLength: 8192,
    source: `${LLAMA3_PAPER}; ${LLAMA3_CONFIG}`,
    published: { totalParamsB: fig(70.6, 'billion parameters', 'meta-llama/Meta-Llama-3.1-70B model card (70.6B)') },
  },
  {
    id: 'llama3-405b',
    aliases: ['llama-3-405b', 'llama3.1-405b', 'llama-3.1-405b'],
    model: {
      name: 'Llama 3 405B',
      layers: 126,
      hiddenSize: 16384,
      heads: 128,
      kvHeads: 8,
      ffnHiddenSize: 53248,
      vocabSize: 128256,
    },
    trainingSequenceLength: 8192,
    source: `${LLAMA3_PAPER}; ${LLAMA3_CONFIG}`,
    published: { totalParamsB: fig(405, 'billion parameters', `${LLAMA3_PAPER} (405B)`) },
  },
  {
    id: 'mixtral-8x7b',
    aliases: ['mixtral', 'mixtral-8x7b-v0.1'],
    model: {
      name: 'Mixtral 8x7B',
      layers: 32,
      hiddenSize: 4096,
      heads: 32,
      kvHeads: 8,
      headDim: 128,
      ffnHiddenSize: 14336,
      vocabSize: 32000,
      moe: { experts: 8, topK: 2, expertFfnHiddenSize: 14336 },
    },
    trainingSequenceLength: 32768,
    source:
      'Jiang et al., Mixtral of Experts, arXiv:2401.04088, Table 1 (dim 4096, 32 layers, head_dim 128, hidden_dim 14336, 32 heads, 8 kv heads, context 32768, vocab 32000, 8 experts, top-2)',
    published: {
      totalParamsB: fig(
        46.7,
        'billion parameters',
        'Mistral AI, Mixtral of experts (announcement, 2023-12-11)',
        'the paper rounds to 47B',
      ),
      activeParamsB: {
        ...fig(
          12.9,
          'billion parameters per token',
          'Mistral AI, Mixtral of experts (announcement, 2023-12-11)',
          'the paper rounds to 13B',
        ),
        convention: 'all-touched',
      },
    },
  },
  {
    id: 'deepseek-v3',
    aliases: ['deepseek-v3-671b', 'deepseekv3'],
    model: {
      name: 'DeepSeek-V3',
      layers: 61,
      hiddenSize: 7168,
      heads: 128,
      ffnHiddenSize: 18432,
      vocabSize: 129280,
      mla: { qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 },
      moe: {
        experts: 256,
        topK: 8,
        expertFfnHiddenSize: 2048,
        sharedExperts: 1,
        firstDenseLayers: 3,
      },
    },
    trainingSequenceLength: 4096,
    source:
      'DeepSeek-AI, DeepSeek-V3 Technical Report, arXiv:2412.19437, sec. 4.2 (61 layers, hidden 7168, 128 heads, MLA ranks 1536/512, head dims 128+64, 1 shared + 256 routed experts of 2048, top-8, first 3 layers dense) and config.json (ffn 18432, vocab 129280); main model without the multi-token-prediction module',
    published: {
      totalParamsB: fig(
        671,
        'billion parameters',
        'DeepSeek-V3 Technical Report, arXiv:2412.19437, abstract',
        'main model; 685B with the MTP module',
      ),
      activeParamsB: {
        ...fig(
          37,
          'billion parameters per token',
          'DeepSeek-V3 Technical Report, arXiv:2412.19437, abstract',
          'two significant digits',
        ),
        convention: 'matmul',
      },
    },
  },
]);
