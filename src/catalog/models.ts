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
 * The MLP's activation. SwiGLU and GeGLU are gated (Shazeer 2020, arXiv:2002.05202): a gate matrix beside the
 * up-projection, three h·f matrices; GeLU, ReLU and squared ReLU (So et al. 2021, Primer) are plain, two.
 */
export type MlpActivation = 'gelu' | 'relu' | 'squared-relu' | 'swiglu' | 'geglu';

/** Activations with a gate matrix (three h·f matrices). */
export const GATED_ACTIVATIONS: readonly MlpActivation[] = Object.freeze(['swiglu', 'geglu']);

/**
 * Positions: rotary (Su et al. 2021, no parameters), learned absolute (a table of maxPositions × h) or ALiBi
 * (Press et al. 2022, a fixed linear bias on the attention scores, no parameters).
 */
export type PositionEmbedding = 'rope' | 'learned' | 'alibi';

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
  readonly activation?: MlpActivation;
  readonly vocabSize: number;
  readonly tiedEmbeddings?: boolean;
  readonly positionEmbedding?: PositionEmbedding;
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

/** The conventions a model family's architectures share: what a row or table naming only the sizes leaves out. */
export type FamilyArchitecture = Required<
  Pick<
    PresetArchitecture,
    'gatedMlp' | 'activation' | 'positionEmbedding' | 'normalization' | 'linearBias' | 'tiedEmbeddings'
  >
>;

/** A family of published models and the architecture conventions its members share, with their sources. */
export interface ModelFamily {
  readonly id: string;
  readonly name: string;
  /**
   * How the family's models are named in papers and benchmark tables (tested against the start of a model name,
   * case-insensitively); the architecture comes from `architecture` and its source, never from the name itself.
   */
  readonly namePattern: RegExp;
  readonly architecture: FamilyArchitecture;
  /** Per-head dimension where the family fixes it whatever hidden / heads is (Qwen3: 128). */
  readonly headDim?: number;
  /** Where each convention comes from. */
  readonly source: string;
  /** Published members, with the parameter totals their authors state (checked in src/perf/model-size.test.ts). */
  readonly members: readonly ModelPreset[];
}

/** Pre-RMSNorm, SwiGLU, rotary positions, no biases, untied output: Llama's conventions (arXiv:2302.13971 sec. 2.2). */
const LLAMA_STYLE: FamilyArchitecture = Object.freeze({
  gatedMlp: true,
  activation: 'swiglu',
  positionEmbedding: 'rope',
  normalization: 'rmsnorm',
  linearBias: false,
  tiedEmbeddings: false,
});

/** MPT's conventions: plain GeLU MLP, ALiBi, LayerNorm, no biases, tied output (MPT_CONFIG below). */
const MPT_STYLE: FamilyArchitecture = Object.freeze({
  gatedMlp: false,
  activation: 'gelu',
  positionEmbedding: 'alibi',
  normalization: 'layernorm',
  linearBias: false,
  tiedEmbeddings: true,
});

const MPT_CONFIG =
  'mosaicml/llm-foundry llmfoundry/models/mpt/configuration_mpt.py (expansion_ratio 4, no_bias True, alibi, ffn_type mptmlp with GeLU, tie_word_embeddings True, norm_type low_precision_layernorm)';
const OPT_PAPER = 'Zhang et al., OPT: Open Pre-trained Transformer Language Models, arXiv:2205.01068';
const OPT_CONFIG =
  'facebook/opt-175b config (HF OPTConfig: activation_function relu, enable_bias True, do_layer_norm_before True, ffn_dim 4·d_model, vocab_size 50272, max_position_embeddings 2048 + offset 2, word embeddings tied to lm_head)';
const BLOOM_PAPER = 'BigScience, BLOOM: A 176B-Parameter Open-Access Multilingual Language Model, arXiv:2211.05100';

/**
 * Model families. A published run or table that gives only a model's sizes takes the rest of its architecture
 * from here (src/validation/runs.ts), and says so in the defaults it lists.
 */
export const MODEL_FAMILIES: readonly ModelFamily[] = Object.freeze([
  {
    id: 'gpt',
    name: 'GPT-2/3 and Megatron-LM GPT (incl. MT-NLG)',
    namePattern: /^(gpt(?![-_ ]?oss)|mt-nlg|megatron[-_ ]?gpt|turing)/i,
    architecture: {
      gatedMlp: false,
      activation: 'gelu',
      positionEmbedding: 'learned',
      normalization: 'layernorm',
      linearBias: true,
      tiedEmbeddings: true,
    },
    source:
      'Radford et al. 2019 (GPT-2) sec. 2.3 and Brown et al. 2020, arXiv:2005.14165, sec. 2.1: GeLU MLP of 4h with biases, LayerNorm, learned positions, output head tied to the token embedding; Megatron-LM arguments.py defaults (--position-embedding-type learned_absolute, output tied unless --untie-embeddings-and-output-weights); Narayanan et al. 2021 eq. (2) counts V·h once and s·h positions',
    members: [],
  },
  {
    id: 'llama',
    name: 'Llama 1/2/3',
    namePattern: /^llama/i,
    architecture: LLAMA_STYLE,
    source:
      'Touvron et al. 2023, LLaMA, arXiv:2302.13971, sec. 2.2 (pre-RMSNorm, SwiGLU, rotary, no biases); Llama 2, arXiv:2307.09288, sec. 2.2; Llama 3, arXiv:2407.21783, sec. 3.1; meta-llama config.json tie_word_embeddings false (Llama 3.2 1B/3B tie theirs: give tied_embeddings on such rows)',
    members: [],
  },
  {
    id: 'qwen3',
    name: 'Qwen3 (dense and MoE)',
    namePattern: /^qwen[-_ ]?3/i,
    architecture: LLAMA_STYLE,
    headDim: 128,
    source:
      'Qwen3 Technical Report, arXiv:2505.09388, sec. 2 (GQA, SwiGLU, RoPE, RMSNorm, QK-norm, no QKV bias); Qwen/Qwen3-30B-A3B and Qwen3-235B-A22B config.json head_dim 128 and tie_word_embeddings false (the 0.6B-4B models tie theirs)',
    members: [],
  },
  {
    id: 'mistral',
    name: 'Mistral and Mixtral',
    namePattern: /^(mistral|mixtral)/i,
    architecture: LLAMA_STYLE,
    source:
      'Jiang et al. 2023, Mistral 7B, arXiv:2310.06825, sec. 2 (Llama architecture); Jiang et al. 2024, Mixtral of Experts, arXiv:2401.04088, sec. 2 (SwiGLU experts)',
    members: [],
  },
  {
    id: 'deepseek',
    name: 'DeepSeek-V2/V3 and Kimi K2',
    namePattern: /^(deepseek|kimi)/i,
    architecture: LLAMA_STYLE,
    source:
      'DeepSeek-AI, DeepSeek-V3 Technical Report, arXiv:2412.19437, sec. 2.1 (MLA with decoupled RoPE, SwiGLU experts, RMSNorm) and config.json (tie_word_embeddings false); Moonshot AI Kimi K2 config.json (DeepSeek-V3 architecture)',
    members: [],
  },
  {
    id: 'nemotron-4',
    name: 'Nemotron-4 (NeMo Nemotron 8B/15B/22B/340B)',
    namePattern: /^nemotron[-_ ]?(4|\d+b)/i,
    architecture: {
      gatedMlp: false,
      activation: 'squared-relu',
      positionEmbedding: 'rope',
      normalization: 'layernorm',
      linearBias: false,
      tiedEmbeddings: false,
    },
    source:
      'Parmar et al. 2024, Nemotron-4 15B Technical Report, arXiv:2402.16819, sec. 2 (RoPE, squared ReLU MLP, no bias terms, untied input-output embeddings, GQA); Nemotron-4 340B Technical Report, arXiv:2406.11704, sec. 2.1 (same architecture); NeMo config normalization layernorm1p',
    members: [],
  },
  {
    id: 'mpt',
    name: 'MosaicML MPT',
    namePattern: /^mpt/i,
    architecture: MPT_STYLE,
    source: `MosaicML, Introducing MPT-7B (2023-05-05): ALiBi in place of position embeddings, no biases, FlashAttention; ${MPT_CONFIG}`,
    members: [
      {
        id: 'mpt-7b',
        aliases: ['mpt-7b-base'],
        model: {
          name: 'MPT-7B',
          layers: 32,
          hiddenSize: 4096,
          heads: 32,
          ffnHiddenSize: 16384,
          vocabSize: 50432,
          ...MPT_STYLE,
        },
        trainingSequenceLength: 2048,
        source: `mosaicml/mpt-7b model card (n_layers 32, n_heads 32, d_model 4096, vocab size 50432, sequence length 2048); ${MPT_CONFIG}`,
        published: { totalParamsB: fig(6.7, 'billion parameters', 'mosaicml/mpt-7b model card (n_parameters 6.7B)') },
      },
      {
        id: 'mpt-30b',
        aliases: ['mpt-30b-base'],
        model: {
          name: 'MPT-30B',
          layers: 48,
          hiddenSize: 7168,
          heads: 64,
          ffnHiddenSize: 28672,
          vocabSize: 50432,
          ...MPT_STYLE,
        },
        trainingSequenceLength: 8192,
        source: `mosaicml/mpt-30b model card (n_layers 48, n_heads 64, d_model 7168, vocab size 50432, sequence length 8192); ${MPT_CONFIG}`,
        published: {
          totalParamsB: fig(29.95, 'billion parameters', 'mosaicml/mpt-30b model card (n_parameters 29.95B)'),
        },
      },
    ],
  },
  {
    id: 'opt',
    name: 'Meta OPT',
    namePattern: /^opt[-_ ]/i,
    architecture: {
      gatedMlp: false,
      activation: 'relu',
      positionEmbedding: 'learned',
      normalization: 'layernorm',
      linearBias: true,
      tiedEmbeddings: true,
    },
    source: `${OPT_PAPER}, sec. 2.2 (ReLU; otherwise GPT-3's architecture: learned positions, LayerNorm, biases); ${OPT_CONFIG}`,
    members: [
      {
        id: 'opt-175b',
        aliases: ['opt'],
        model: {
          name: 'OPT-175B',
          layers: 96,
          hiddenSize: 12288,
          heads: 96,
          ffnHiddenSize: 49152,
          gatedMlp: false,
          activation: 'relu',
          vocabSize: 50272,
          tiedEmbeddings: true,
          positionEmbedding: 'learned',
          maxPositions: 2050,
          normalization: 'layernorm',
          linearBias: true,
        },
        trainingSequenceLength: 2048,
        source: `${OPT_PAPER}, Table 1 (175B: 96 layers, 96 heads, embedding size 12288); ${OPT_CONFIG}`,
        published: { totalParamsB: fig(175, 'billion parameters', `${OPT_PAPER}, Table 1`) },
      },
    ],
  },
  {
    id: 'bloom',
    name: 'BigScience BLOOM',
    namePattern: /^bloom/i,
    architecture: {
      gatedMlp: false,
      activation: 'gelu',
      positionEmbedding: 'alibi',
      normalization: 'layernorm',
      linearBias: true,
      tiedEmbeddings: true,
    },
    source: `${BLOOM_PAPER}, sec. 3.2.2 (ALiBi positions, an extra LayerNorm after the embedding, GeLU MLP of 4h, biases) and sec. 3.2.3 (output head tied to the embedding)`,
    members: [
      {
        id: 'bloom-176b',
        aliases: ['bloom'],
        model: {
          name: 'BLOOM 176B',
          layers: 70,
          hiddenSize: 14336,
          heads: 112,
          ffnHiddenSize: 57344,
          gatedMlp: false,
          activation: 'gelu',
          vocabSize: 250880,
          tiedEmbeddings: true,
          positionEmbedding: 'alibi',
          normalization: 'layernorm',
          linearBias: true,
        },
        trainingSequenceLength: 2048,
        source: `${BLOOM_PAPER}, Table 3 (176B: 70 layers, hidden 14336, 112 heads, sequence 2048) and sec. 3.2 (vocabulary 250,680, padded to 250,880 in bigscience/bloom config.json); the embedding LayerNorm's 28,672 parameters are not counted`,
        published: {
          totalParamsB: fig(176.247, 'billion parameters', 'bigscience/bloom model card (176,247,271,424 parameters)'),
        },
      },
    ],
  },
]);

/** The family a model name belongs to, by the family's naming pattern; undefined when none matches. */
export function findModelFamily(name: string): ModelFamily | undefined {
  return MODEL_FAMILIES.find((family) => family.namePattern.test(name.trim()));
}
