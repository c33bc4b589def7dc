/**
 * Published training runs in the row format of data/calibration/published-runs.calibration.json, and their
 * translation into a workload, system and plan. Fields a row leaves unknown are filled as the row's framework
 * documents its defaults; the translation records which ones, so fully specified rows can be reported apart.
 * @module
 */
import { z } from 'zod';
import { ACCELERATORS, findModelPreset } from '../catalog/index.js';
import { findModelFamily, GATED_ACTIVATIONS, type MlpActivation } from '../catalog/models.js';
import { DEFAULT_STACK, STACKS, type StackId, stackOfFramework } from '../catalog/stacks.js';
import { mustFind } from '../spec/catalog-refs.js';
import { validateSpec } from '../spec/load.js';
import type { ResolvedPlan, ResolvedSpec } from '../spec/resolve.js';
import type { ModelInput } from '../spec/workload.js';

const count = z.number().int().positive().nullable().optional();
const number = z.number().nullable().optional();
const text = z.string().nullable().optional();

/** One published run. Extra keys are allowed; unknown values are null. */
export const PublishedRunSchema = z.looseObject({
  id: z.string(),
  source: z.string(),
  model_name: z.string(),
  /** Free text; torchtitan rows state their peak memory here ("Peak memory 82.4 GiB"). */
  notes: text,
  arch: text,
  layers: count,
  hidden: count,
  heads: count,
  kv_heads: count,
  ffn_hidden: count,
  vocab: count,
  seq_len: count,
  moe_experts: count,
  moe_top_k: count,
  moe_ffn_hidden: count,
  global_batch_sequences: count,
  global_batch_tokens: count,
  micro_batch: count,
  gpu_type: text,
  /** HBM per GPU as the row states it, GB; picks the catalog variant. */
  gpu_memory_gb: number,
  /** Power cap per GPU, W, when the row states one apart from `gpu_type`. */
  gpu_power_limit_w: number,
  num_gpus: count,
  gpus_per_node: count,
  nvlink_domain: count,
  /** The scale-out network as the source describes it ("400 Gb/s per GPU", "1600 Gb/s node-to-node RoCE"). */
  network: text,
  /** Scale-out NIC bandwidth per GPU, Gb/s, when the row gives it as a number. */
  nic_gbps_per_gpu: number,
  tp: count,
  pp: count,
  dp: count,
  cp: count,
  ep: count,
  vpp: count,
  sequence_parallel: z.boolean().nullable().optional(),
  recompute: text,
  sharding: text,
  precision: text,
  framework: text,
  pipeline_schedule: text,
  grad_accum: count,
  /** Architecture facts a row may state; unstated ones come from the model family's catalog entry. */
  activation: text,
  gated_mlp: z.boolean().nullable().optional(),
  position_embedding: text,
  tied_embeddings: z.boolean().nullable().optional(),
  linear_bias: z.boolean().nullable().optional(),
  normalization: text,
  tflops_per_gpu: number,
  tflops_basis: text,
  step_time_s: number,
  tokens_per_sec_per_gpu: number,
});

export type PublishedRun = z.output<typeof PublishedRunSchema>;

/** The rows of a runs file that parse as published runs (the fit scripts' inputs); the others are left out. */
export function parsePublishedRuns(raw: readonly unknown[]): PublishedRun[] {
  return raw.flatMap((row) => {
    const parsed = PublishedRunSchema.safeParse(row);
    return parsed.success ? [parsed.data] : [];
  });
}

/** Plan settings that trade compute for memory. */
export type MemoryOption = Pick<
  ResolvedPlan,
  'recomputation' | 'lowPrecisionWeights' | 'recomputeLayers' | 'activationOffloadLayers'
>;

/** A row turned into something the estimator takes, or the reason it cannot be. */
export type Scenario =
  | {
      readonly ok: true;
      readonly spec: ResolvedSpec & {
        readonly system: NonNullable<ResolvedSpec['system']>;
        readonly plan: ResolvedPlan;
      };
      /** Plan and model fields the row left unknown and that were filled with the framework's defaults. */
      readonly filled: readonly string[];
      /**
       * Memory options to try in order when the row does not say (recomputation, FP8 primary weights): the
       * recipes switch them on only when a run would not fit otherwise, so the least that fits is taken.
       */
      readonly memoryOptions: readonly MemoryOption[];
      /**
       * Whether activation offload may replace recomputation: the stack has it, the row has no pipeline and says
       * nothing of recomputation. `lowPrecisionWeights` lists the weight options to try with it (FP8 weights too on
       * a low-precision run). Taken when faster than the recomputation that fits (the recipes are tuned for
       * throughput).
       */
      readonly offload?: { readonly lowPrecisionWeights: readonly boolean[] };
      /** The software stack the row's framework text maps to; `stackMapped` false when it maps to none. */
      readonly stack: StackId;
      readonly stackMapped: boolean;
    }
  | { readonly ok: false; readonly reason: string };

/** Architectures the rows name but do not spell out, from the models' published configurations. */
function knownArchitecture(name: string): { model: ModelInput; note: string } | undefined {
  if (/deepseek-?v3/i.test(name)) {
    const base = mustFind(findModelPreset('deepseek-v3'), 'deepseek-v3').model;
    if (/w\/ MTP/i.test(name)) {
      // The multi-token-prediction module adds one more MoE block (arXiv:2412.19437 sec. 2.2), modelled as a layer.
      return { model: { ...base, name, layers: base.layers + 1 }, note: 'MTP module modelled as one extra MoE layer' };
    }
    return { model: { ...base, name }, note: 'DeepSeek-V3 preset (MLA, 1 shared expert, 3 dense layers)' };
  }
  if (/kimi.?k2/i.test(name)) {
    // Moonshot AI Kimi K2 config.json: DeepSeek-V3 architecture with 384 experts, 64 heads, 1 dense layer.
    const base = mustFind(findModelPreset('deepseek-v3'), 'deepseek-v3').model;
    return {
      model: {
        ...base,
        name,
        heads: 64,
        vocabSize: 163840,
        moe: { experts: 384, topK: 8, expertFfnHiddenSize: 2048, sharedExperts: 1, firstDenseLayers: 1 },
      },
      note: 'Kimi K2 configuration (DeepSeek-V3 architecture, 384 experts, 64 heads, first layer dense)',
    };
  }
  if (/gpt.?oss.?120b/i.test(name)) {
    // OpenAI gpt-oss-120b model card: 36 layers, hidden 2880, 64 heads of 64, 8 KV heads, 128 experts top-4 of
    // width 2880, vocabulary 201088; its alternating 128-token sliding-window layers are modelled as full attention.
    return {
      model: {
        name,
        layers: 36,
        hiddenSize: 2880,
        heads: 64,
        kvHeads: 8,
        headDim: 64,
        ffnHiddenSize: 2880,
        vocabSize: 201088,
        moe: { experts: 128, topK: 4, expertFfnHiddenSize: 2880 },
      },
      note: 'gpt-oss-120b configuration; sliding-window layers modelled as full attention',
    };
  }
  return undefined;
}

const isMegatron2021 = (run: PublishedRun) =>
  /Narayanan|Korthikanti|Megatron-LM \(20/i.test(`${run.source} ${run.framework ?? ''}`);

/** The architecture facts a family or a row fixes; everything else a row gives as sizes. */
type ArchitectureFacts = Pick<
  ModelInput,
  'gatedMlp' | 'activation' | 'positionEmbedding' | 'normalization' | 'linearBias' | 'tiedEmbeddings'
>;
type FactName = keyof ArchitectureFacts;

/** The spec's defaults (src/spec/workload.ts), for a model no catalog family covers. */
const SPEC_DEFAULTS: ArchitectureFacts = {
  gatedMlp: true,
  positionEmbedding: 'rope',
  normalization: 'rmsnorm',
  linearBias: false,
  tiedEmbeddings: false,
};

const ACTIVATION_WORDS: readonly [RegExp, MlpActivation][] = [
  [/swiglu|silu/i, 'swiglu'],
  [/geglu/i, 'geglu'],
  [/squared[-_ ]?relu|relu\s*(2|²|\^2)/i, 'squared-relu'],
  [/\brelu\b/i, 'relu'],
  [/gelu/i, 'gelu'],
];

const firstMatch = <T>(text: string, table: readonly [RegExp, T][]): T | undefined =>
  table.find(([pattern]) => pattern.test(text))?.[1];

/** What the row itself says about the architecture: its own fields first, then the words of its `arch` text. */
function statedArchitecture(run: PublishedRun): Partial<ArchitectureFacts> {
  const arch = run.arch ?? '';
  const stated: Partial<ArchitectureFacts> = {};
  const activation = firstMatch(run.activation ?? '', ACTIVATION_WORDS) ?? firstMatch(arch, ACTIVATION_WORDS);
  if (activation) stated.activation = activation;
  if (typeof run.gated_mlp === 'boolean') stated.gatedMlp = run.gated_mlp;
  else if (activation) stated.gatedMlp = GATED_ACTIVATIONS.includes(activation);
  else if (/\bgated\b/i.test(arch)) stated.gatedMlp = !/\b(not|non)[- ]gated\b/i.test(arch);
  const positions: [RegExp, ArchitectureFacts['positionEmbedding']][] = [
    [/alibi/i, 'alibi'],
    [/rope|rotary/i, 'rope'],
    [/learned|absolute/i, 'learned'],
  ];
  const position = firstMatch(run.position_embedding ?? '', positions) ?? firstMatch(arch, positions);
  if (position) stated.positionEmbedding = position;
  const norms: [RegExp, ArchitectureFacts['normalization']][] = [
    [/rms/i, 'rmsnorm'],
    [/layer[-_ ]?norm/i, 'layernorm'],
  ];
  const norm = firstMatch(run.normalization ?? '', norms) ?? firstMatch(arch, norms);
  if (norm) stated.normalization = norm;
  if (typeof run.linear_bias === 'boolean') stated.linearBias = run.linear_bias;
  else if (/\bno[-_ ]bias/i.test(arch)) stated.linearBias = false;
  else if (/\bwith bias/i.test(arch)) stated.linearBias = true;
  if (typeof run.tied_embeddings === 'boolean') stated.tiedEmbeddings = run.tied_embeddings;
  else if (/\buntied\b/i.test(arch)) stated.tiedEmbeddings = false;
  else if (/\btied\b/i.test(arch)) stated.tiedEmbeddings = true;
  return stated;
}

/**
 * The row's architecture conventions: what the row states, the rest from its model family's catalog entry
 * (src/catalog/models.ts, each with its source), else the spec's defaults; every fact not stated is listed.
 */
function architectureOfRun(run: PublishedRun, filled: string[]): ArchitectureFacts & { headDim?: number } {
  const stated = statedArchitecture(run);
  const family = findModelFamily(run.model_name);
  const base: ArchitectureFacts = family?.architecture ?? SPEC_DEFAULTS;
  const from = family ? `catalog family ${family.id}` : `spec default: no catalog family for "${run.model_name}"`;
  const facts: ArchitectureFacts = { ...stated };
  for (const name of ['gatedMlp', 'positionEmbedding', 'normalization', 'linearBias', 'tiedEmbeddings'] as const) {
    if (facts[name] !== undefined) continue;
    (facts as Record<FactName, unknown>)[name] = base[name];
    filled.push(`${name}=${String(base[name])} (${from})`);
  }
  // The family's activation, only where it agrees with the gating the row states.
  if (facts.activation === undefined && base.activation !== undefined) {
    if (GATED_ACTIVATIONS.includes(base.activation) === facts.gatedMlp) {
      facts.activation = base.activation;
      filled.push(`activation=${base.activation} (${from})`);
    }
  }
  return family?.headDim ? { ...facts, headDim: family.headDim } : facts;
}

/** The first token of a GPU's name: "H100", "GB200", "A100", "MI300X". */
const gpuFamily = (text: string) => /^\s*([A-Z]{1,2}\d{2,3}[A-Z]?)(?![A-Z\d])/i.exec(text)?.[1]?.toUpperCase();
/** Form factors other than SXM, as written in part names ("NVL72" is a rack, not the H100 NVL card). */
const formFactor = (text: string) => (/pcie/i.test(text) ? 'PCIe' : /\bNVL\b(?!\d)/i.test(text) ? 'NVL' : 'SXM');

/**
 * The catalog accelerator a row's GPU is: the part of that name, form factor and HBM size. A variant the catalog
 * does not have is reported, never moved onto another part (an H100 96 GB is not the 80 GB one).
 */
function acceleratorOfRun(
  run: PublishedRun,
  filled: string[],
): { ok: true; id: string; powerLimitW?: number } | { ok: false; reason: string } {
  const text = run.gpu_type ?? '';
  const family = gpuFamily(text);
  const parts = ACCELERATORS.filter((part) => family !== undefined && gpuFamily(part.name) === family);
  if (!family || parts.length === 0) return { ok: false, reason: `GPU type "${text}" is not in the catalog` };
  const memoryGB = run.gpu_memory_gb ?? Number(/(\d+)\s*GB\b/i.exec(text)?.[1] ?? Number.NaN);
  const form = formFactor(text);
  const ofForm = parts.filter((part) => formFactor(part.name) === form);
  const fits = Number.isFinite(memoryGB) ? ofForm.filter((part) => part.hbmCapacityGiB.value === memoryGB) : ofForm;
  const power = run.gpu_power_limit_w ?? Number(/(\d+)\s*W\b/.exec(text)?.[1] ?? Number.NaN);
  const powerLimit = Number.isFinite(power) && power > 0 ? { powerLimitW: power } : {};
  const chosen = fits[0];
  if (!chosen) {
    const have = parts.map((part) => `${part.id} ${part.hbmCapacityGiB.value} GB`).join(', ');
    const want = `${family} ${form}${Number.isFinite(memoryGB) ? ` ${memoryGB} GB` : ''}`;
    return { ok: false, reason: `GPU variant ${want} ("${text}") is not in the catalog (it has ${have})` };
  }
  if (!Number.isFinite(memoryGB)) filled.push(`gpu=${chosen.id} (HBM not stated: the catalog's ${family} ${form})`);
  return { ok: true, id: chosen.id, ...powerLimit };
}

/**
 * Scale-out NIC bandwidth per GPU, Gb/s, from `nic_gbps_per_gpu` or the row's network text ("400 Gb/s per GPU",
 * "1600 Gb/s node-to-node", "8x 200 Gb/s ... per node"); undefined (the accelerator's default, listed) otherwise.
 */
function nicOfRun(run: PublishedRun, gpusPerNode: number, filled: string[]): number | undefined {
  if (run.nic_gbps_per_gpu) return run.nic_gbps_per_gpu;
  const text = run.network ?? '';
  const rate = String.raw`(\d+(?:\.\d+)?)\s*Gb(?:\/s|ps|s)`;
  const perGpu = new RegExp(`${rate}\\s*(?:per|/)\\s*GPU`, 'i').exec(text);
  if (perGpu) return Number(perGpu[1]);
  const nics = new RegExp(String.raw`(\d+)\s*[x×]\s*${rate}`, 'i').exec(text);
  if (nics) return (Number(nics[1]) * Number(nics[2])) / gpusPerNode;
  const perNode = new RegExp(`${rate}\\s*(?:per\\s+node|node[- ]to[- ]node)`, 'i').exec(text);
  if (perNode) return Number(perNode[1]) / gpusPerNode;
  filled.push(
    `nicBandwidthGbps (network ${text ? `"${shorten(text, 40)}"` : 'not stated'}: the accelerator's default)`,
  );
  return undefined;
}

const shorten = (text: string, length: number) => (text.length > length ? `${text.slice(0, length - 1)}…` : text);

/** ZeRO stage or FSDP mode from the row's text (FSDP SHARD_GRAD_OP shards gradients and optimizer: ZeRO-2). */
function shardingOfRun(run: PublishedRun, legacy: boolean): ResolvedPlan['sharding'] {
  const text = (run.sharding ?? '').toLowerCase();
  if (/shard_grad_op|zero[-_ ]?2/.test(text)) return 'zero2';
  if (/zero[-_ ]?3/.test(text)) return 'zero3';
  if (/fsdp|full_shard/.test(text)) return 'fsdp';
  if (/zero[-_ ]?1|distributed optimizer/.test(text)) return 'zero1';
  // Megatron-Core recipes use the distributed optimizer; Megatron-LM 2021 had none.
  return !run.sharding && !legacy ? 'zero1' : 'none';
}

/**
 * TP and PP as stated, or derived from the GPU count when dp (and cp) are given; a data-parallel-sharded row
 * (FSDP/ZeRO) that states neither is pure data parallel, as those stacks run by default.
 */
function layoutOfRun(
  run: PublishedRun,
  gpus: number,
  cp: number,
  filled: string[],
): { ok: true; tp: number; pp: number } | { ok: false; reason: string } {
  const dataSharded = /fsdp|zero/i.test(run.sharding ?? '');
  if (run.tp && run.pp) return { ok: true, tp: run.tp, pp: run.pp };
  if (!run.tp && !run.pp) {
    if (run.dp && run.dp * cp === gpus) {
      filled.push('tp=1, pp=1 (num_gpus = dp·cp)');
      return { ok: true, tp: 1, pp: 1 };
    }
    if (dataSharded && !run.dp) {
      filled.push('tp=1, pp=1 (FSDP/ZeRO row without a layout: pure data parallel)');
      return { ok: true, tp: 1, pp: 1 };
    }
    return { ok: false, reason: 'the row does not give its parallel layout (tp and pp)' };
  }
  const known = (run.tp ?? run.pp) as number;
  const missing = run.tp ? 'pp' : 'tp';
  let other = 1;
  if (run.dp) {
    other = gpus / (known * run.dp * cp);
    if (!Number.isInteger(other))
      return { ok: false, reason: `num_gpus ${gpus} is not divisible by the stated layout` };
    filled.push(`${missing}=${other} (num_gpus / (${run.tp ? 'tp' : 'pp'}·dp·cp))`);
  } else {
    filled.push(`${missing}=1 (not stated)`);
  }
  return run.tp ? { ok: true, tp: run.tp, pp: other } : { ok: true, tp: other, pp: run.pp as number };
}

/** Translates a published run into a resolved spec, filling unknowns with the framework's defaults. */
export function scenarioFromRun(run: PublishedRun): Scenario {
  const filled: string[] = [];
  const name = run.model_name;
  if (/lora/i.test(name)) return { ok: false, reason: 'LoRA fine-tuning (frozen base weights) is not modelled' };
  if (/nemotron[-_ ]?3(?!\d)/i.test(name))
    return { ok: false, reason: 'hybrid Mamba-Transformer layers are not modelled' };
  const torchtitan = /torchtitan/i.test(run.framework ?? '');
  let seqLen = run.seq_len ?? undefined;
  if (!seqLen && torchtitan) {
    seqLen = 8192; // torchtitan torchtitan/models/llama3/train_configs/llama3_{8b,70b,405b}.toml: seq_len = 8192
    filled.push('seq_len=8192 (torchtitan Llama 3 train configs)');
  }

  let model: ModelInput;
  const known = knownArchitecture(name);
  if (known) {
    model = known.model;
    filled.push(`architecture: ${known.note}`);
  } else {
    if (!run.layers || !run.hidden || !run.heads) {
      return { ok: false, reason: 'the row does not give the architecture (layers, hidden size, heads)' };
    }
    const { headDim: familyHeadDim, ...facts } = architectureOfRun(run, filled);
    let ffn = run.ffn_hidden ?? undefined;
    if (ffn === undefined) {
      if (facts.gatedMlp) return { ok: false, reason: 'the row does not give the MLP hidden size' };
      ffn = 4 * run.hidden; // plain MLPs of GPT, OPT, BLOOM, MPT: 4h (Radford et al. 2019; Megatron-LM ffn_hidden_size)
      filled.push('ffn_hidden=4·hidden (plain MLP)');
    }
    let vocab = run.vocab ?? undefined;
    if (vocab === undefined) {
      vocab = 51200; // Megatron-LM's padded GPT-2 vocabulary
      filled.push('vocab=51200 (Megatron-LM padded GPT-2 vocabulary)');
    }
    const moe =
      run.moe_experts && run.moe_top_k && run.moe_ffn_hidden
        ? { experts: run.moe_experts, topK: run.moe_top_k, expertFfnHiddenSize: run.moe_ffn_hidden }
        : undefined;
    if (run.arch === 'moe' && !moe) return { ok: false, reason: 'the row does not give the expert configuration' };
    const learned = facts.positionEmbedding === 'learned';
    if (learned && seqLen) filled.push(`maxPositions=${seqLen} (the sequence length, Megatron-LM's default)`);
    model = {
      name,
      layers: run.layers,
      hiddenSize: run.hidden,
      heads: run.heads,
      ...(run.kv_heads && { kvHeads: run.kv_heads }),
      ...(familyHeadDim ? { headDim: familyHeadDim } : run.hidden % run.heads !== 0 && { headDim: 128 }),
      ffnHiddenSize: ffn,
      vocabSize: vocab,
      ...facts,
      ...(learned && seqLen && { maxPositions: seqLen }),
      ...(moe && { moe }),
    };
  }

  const accelerator = acceleratorOfRun(run, filled);
  if (!accelerator.ok) return { ok: false, reason: accelerator.reason };
  if (!run.num_gpus || !seqLen) return { ok: false, reason: 'the row does not give the GPU count or sequence length' };
  const cp = run.cp ?? 1;
  if (!run.cp) filled.push('cp=1');
  const layout = layoutOfRun(run, run.num_gpus, cp, filled);
  if (!layout.ok) return { ok: false, reason: layout.reason };
  const { tp, pp } = layout;
  const dp = run.dp ?? run.num_gpus / (tp * pp * cp);
  if (run.dp === null || run.dp === undefined) filled.push('dp=num_gpus/(tp·pp·cp)');
  if (!Number.isInteger(dp)) return { ok: false, reason: `num_gpus ${run.num_gpus} is not divisible by tp·pp·cp` };
  let sequences =
    run.global_batch_sequences ?? (run.global_batch_tokens ? run.global_batch_tokens / seqLen : undefined);
  if (!sequences && run.micro_batch) {
    // A local batch per data-parallel rank with no accumulation stated (torchtitan's "local batch size").
    sequences = run.micro_batch * dp * (run.grad_accum ?? 1);
    filled.push(`global_batch=${sequences} (micro_batch·dp${run.grad_accum ? '·grad_accum' : ', no accumulation'})`);
  }
  if (!sequences) return { ok: false, reason: 'the row does not give the global batch' };

  const precisionText = (run.precision ?? '').toLowerCase();
  const precision = /fp4/.test(precisionText) ? 'fp4' : /fp8/.test(precisionText) ? 'fp8' : 'bf16';
  if (!run.precision) filled.push('precision=bf16');

  const legacy = isMegatron2021(run);
  const mappedStack = stackOfFramework(run.framework);
  const stackId: StackId = mappedStack ?? (legacy ? 'megatron-lm-2021' : DEFAULT_STACK);
  if (!mappedStack)
    filled.push(`stack=${stackId} (framework "${shorten(run.framework ?? 'not stated', 40)}" not mapped)`);
  const stack = STACKS[stackId];
  const recomputeText = (run.recompute ?? '').toLowerCase();
  const recomputation: ResolvedPlan['recomputation'] = recomputeText.startsWith('full')
    ? 'full'
    : recomputeText.startsWith('selective')
      ? 'selective'
      : 'none';
  const lowPrecision = precision !== 'bf16' && !legacy;
  const memoryOptions: MemoryOption[] = [];
  // torchtitan's selective checkpointing is per operator (torchtitan activation_checkpoint.py: op-level SAC keeps
  // matmul outputs and recomputes the rest and every other matmul), so it saves more than Megatron's selective
  // recomputation of the attention core; the memory model counts what it keeps (the stack's selectiveCheckpointing,
  // src/perf/memory.ts perOpCheckpointBytesPerLayer) and, where that does not fit, the fewest fully recomputed layers
  // per chunk that fit are taken (listed as filled).
  const perOpSac = mappedStack === 'torchtitan' && recomputation === 'selective';
  const recomputeOptions: ResolvedPlan['recomputation'][] = run.recompute
    ? perOpSac
      ? ['selective', 'full']
      : [recomputation]
    : ['none', 'selective', 'full'];
  const chunkLayers = Math.ceil(model.layers / (pp * (pp > 1 ? (run.vpp ?? 1) : 1)));
  for (const option of recomputeOptions) {
    // Full recomputation of only some layers per chunk (recompute_num_layers) comes before all of them.
    const counts =
      option === 'full' && (!run.recompute || perOpSac)
        ? Array.from({ length: chunkLayers }, (_, i) => i + 1)
        : [undefined];
    for (const layers of counts) {
      for (const lowPrecisionWeights of lowPrecision ? [false, true] : [false]) {
        memoryOptions.push({
          recomputation: option,
          lowPrecisionWeights,
          ...(layers !== undefined && { recomputeLayers: layers }),
        });
      }
    }
  }
  // Activation offload (Megatron-Core cpu_offloading_num_layers: pp 1, no recomputation, fewer than the layers).
  const offload =
    !run.recompute && stack.activationOffload && pp === 1
      ? { lowPrecisionWeights: lowPrecision ? [false, true] : [false] }
      : undefined;
  if (!run.recompute) filled.push('recompute');
  const sharding = shardingOfRun(run, legacy);
  if (!run.sharding) filled.push(`sharding=${sharding}`);
  if (!run.micro_batch) filled.push('micro_batch=1');
  // torchtitan with PP: the row's micro_batch is the local batch per data-parallel rank, which the pipeline splits
  // into pipeline_parallel_microbatches, default the PP degree, in the benchmarked release (torchtitan 9dec370,
  // 2024-12, parallelisms/pipelining_utils.py build_pipeline_schedule: `n_microbatches = ... or pipeline_parallel_degree`;
  // later releases split by pipeline_parallel_microbatch_size instead); its interleaved schedules run 2 stages per rank
  // unless told otherwise (torchtitan pipelining utilities).
  const titanPipeline = stackId === 'torchtitan' && pp > 1;
  const localBatch = run.micro_batch ?? 1;
  const titanMicroBatch = localBatch % pp === 0 ? localBatch / pp : 1;
  const microBatch = titanPipeline ? titanMicroBatch : localBatch;
  if (titanPipeline)
    filled.push(`micro_batch=${titanMicroBatch} (torchtitan 2024-12: the local batch in pp micro-batches)`);
  const interleaved = /interleaved/i.test(run.pipeline_schedule ?? '');
  const virtualStages = pp > 1 ? (run.vpp ?? (titanPipeline && interleaved ? 2 : 1)) : 1;
  if (titanPipeline && interleaved && !run.vpp)
    filled.push('vpp=2 (torchtitan interleaved schedule: 2 stages per rank)');
  const sequenceParallel = run.sequence_parallel ?? (stack.sequenceParallel && !legacy && tp > 1);
  if (run.sequence_parallel === null || run.sequence_parallel === undefined)
    filled.push(`sequence_parallel=${sequenceParallel}`);
  if (run.ep === null || run.ep === undefined) {
    if (run.arch === 'moe') filled.push('ep=1');
  }
  if (run.vpp === null || run.vpp === undefined) {
    if (pp > 1) filled.push('vpp=1');
  }
  const gpusPerNode = run.gpus_per_node ?? 8;
  if (!run.gpus_per_node) filled.push('gpus_per_node=8');
  const nic = nicOfRun(run, gpusPerNode, filled);

  const spec = {
    name: run.id,
    workload: {
      model: { ...model, ...(legacy && { dropout: true }) },
      training: {
        totalTokens: sequences * seqLen,
        sequenceLength: seqLen,
        globalBatch: { sequences },
        precision,
      },
    },
    system: {
      accelerator: accelerator.id,
      gpuCount: run.num_gpus,
      gpusPerNode,
      // Recorded as the row states it; issue 14 item 4 (a power-capped clock) is what will read it.
      ...(accelerator.powerLimitW !== undefined && { gpuPowerLimitW: accelerator.powerLimitW }),
      ...(run.nvlink_domain && { scaleUp: { domainSize: run.nvlink_domain } }),
      ...(nic !== undefined && { scaleOut: { nicBandwidthGbps: nic } }),
    },
    plan: {
      tp,
      pp,
      dp,
      cp,
      ep: run.ep ?? 1,
      virtualStages,
      // Megatron-Core turns sequence parallelism on with TP in every NeMo/Bridge recipe; Megatron-LM 2021 had none.
      sequenceParallel,
      sharding,
      microBatch,
      recomputation,
      // The stack's kernel (src/catalog/stacks.ts): no flash attention on Megatron-LM 2021-22 or DeepSpeed ZeRO-3.
      flashAttention: stack.attentionKernel !== 'unfused',
      stack: stackId,
      // torchtitan runs eager unless the row says torch.compile (its Techniques column); other stacks keep theirs.
      ...(stackId === 'torchtitan' && {
        fusedElementwise: /\bcompile\b/i.test(`${run.id} ${run.notes ?? ''}`),
      }),
      // Every overlap the stack has (the estimator switches off those it lacks); TP overlap needs TP, and on
      // torchtitan it is async TP, on only where the row says so (torchtitan docs/async_tp.md).
      overlap: {
        tpComm: tp > 1 && (stackId !== 'torchtitan' || /async[-_ ]?tp/i.test(`${run.id} ${run.notes ?? ''}`)),
        gradReduce: true,
        paramGather: true,
        ppComm: true,
        epComm: true,
      },
    },
  };
  const result = validateSpec(spec);
  if (!result.ok) {
    return {
      ok: false,
      reason: `the row does not make a valid spec: ${result.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    };
  }
  const { system, plan } = result.value;
  if (!system || !plan) return { ok: false, reason: 'internal: spec without system or plan' };
  return {
    ok: true,
    spec: { ...result.value, system, plan },
    filled,
    memoryOptions,
    ...(offload && { offload }),
    stack: stackId,
    stackMapped: mappedStack !== undefined,
  };
}
