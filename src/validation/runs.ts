/**
 * Published training runs in the row format of data/calibration/published-runs.calibration.json, and their
 * translation into a workload, system and plan. Fields a row leaves unknown are filled as the row's framework
 * documents its defaults; the translation records which ones, so fully specified rows can be reported apart.
 * @module
 */
import { z } from 'zod';
import { findModelPreset } from '../catalog/index.js';
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
  num_gpus: count,
  gpus_per_node: count,
  nvlink_domain: count,
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
  tflops_per_gpu: number,
  tflops_basis: text,
  step_time_s: number,
  tokens_per_sec_per_gpu: number,
});

export type PublishedRun = z.output<typeof PublishedRunSchema>;

/** Plan settings that trade compute for memory. */
export type MemoryOption = Pick<ResolvedPlan, 'recomputation' | 'lowPrecisionWeights' | 'recomputeLayers'>;

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
    }
  | { readonly ok: false; readonly reason: string };

const GPU_IDS: readonly [RegExp, string][] = [
  [/^GB300/i, 'gb300'],
  [/^GB200/i, 'gb200'],
  [/^B300/i, 'b300'],
  [/^B200/i, 'b200'],
  [/^H200/i, 'h200-sxm'],
  [/^H100/i, 'h100-sxm'],
  [/^H800/i, 'h800-sxm'],
  [/^A100/i, 'a100-sxm-80gb'],
];

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

const isGptFamily = (name: string) => /^(GPT|MT-NLG)/i.test(name) && !/oss/i.test(name);
const isMegatron2021 = (run: PublishedRun) =>
  /Narayanan|Korthikanti|Megatron-LM \(20/i.test(`${run.source} ${run.framework ?? ''}`);

/** Translates a published run into a resolved spec, filling unknowns with the framework's defaults. */
export function scenarioFromRun(run: PublishedRun): Scenario {
  const filled: string[] = [];
  const name = run.model_name;
  if (/lora/i.test(name)) return { ok: false, reason: 'LoRA fine-tuning (frozen base weights) is not modelled' };
  if (/nemotron[-_ ]?3(?!\d)/i.test(name))
    return { ok: false, reason: 'hybrid Mamba-Transformer layers are not modelled' };

  let model: ModelInput;
  const known = knownArchitecture(name);
  if (known) {
    model = known.model;
  } else {
    if (!run.layers || !run.hidden || !run.heads) {
      return { ok: false, reason: 'the row does not give the architecture (layers, hidden size, heads)' };
    }
    const gpt = isGptFamily(name);
    let ffn = run.ffn_hidden ?? undefined;
    if (ffn === undefined) {
      if (!gpt) return { ok: false, reason: 'the row does not give the MLP hidden size' };
      ffn = 4 * run.hidden; // GPT family: 4h MLP (Radford et al. 2019; Megatron-LM default ffn_hidden_size)
      filled.push('ffn_hidden');
    }
    let vocab = run.vocab ?? undefined;
    if (vocab === undefined) {
      vocab = 51200; // Megatron-LM's padded GPT-2 vocabulary
      filled.push('vocab');
    }
    const moe =
      run.moe_experts && run.moe_top_k && run.moe_ffn_hidden
        ? { experts: run.moe_experts, topK: run.moe_top_k, expertFfnHiddenSize: run.moe_ffn_hidden }
        : undefined;
    if (run.arch === 'moe' && !moe) return { ok: false, reason: 'the row does not give the expert configuration' };
    model = {
      name,
      layers: run.layers,
      hiddenSize: run.hidden,
      heads: run.heads,
      ...(run.kv_heads && { kvHeads: run.kv_heads }),
      // Qwen3 uses 128-dimensional heads whatever hidden/heads is (Qwen3 config.json head_dim 128).
      ...((run.hidden % run.heads !== 0 || /qwen3/i.test(name)) && { headDim: 128 }),
      ffnHiddenSize: ffn,
      gatedMlp: !gpt, // GPT family: GeLU MLP; Llama, Qwen and the rest: SwiGLU
      vocabSize: vocab,
      ...(gpt && { normalization: 'layernorm' as const, linearBias: true }),
      ...(moe && { moe }),
    };
  }

  const gpuType = run.gpu_type ?? '';
  const accelerator = GPU_IDS.find(([pattern]) => pattern.test(gpuType))?.[1];
  if (!accelerator) return { ok: false, reason: `GPU type "${gpuType}" is not in the catalog` };
  if (!run.num_gpus || !run.seq_len)
    return { ok: false, reason: 'the row does not give the GPU count or sequence length' };
  if (!run.tp || !run.pp) return { ok: false, reason: 'the row does not give its parallel layout (tp and pp)' };
  const tp = run.tp;
  const pp = run.pp;
  const cp = run.cp ?? 1;
  if (!run.cp) filled.push('cp');
  const dp = run.dp ?? run.num_gpus / (tp * pp * cp);
  if (run.dp === null || run.dp === undefined) filled.push('dp');
  if (!Number.isInteger(dp)) return { ok: false, reason: `num_gpus ${run.num_gpus} is not divisible by tp·pp·cp` };
  const sequences =
    run.global_batch_sequences ?? (run.global_batch_tokens ? run.global_batch_tokens / run.seq_len : undefined);
  if (!sequences) return { ok: false, reason: 'the row does not give the global batch' };

  const precisionText = (run.precision ?? '').toLowerCase();
  const precision = /fp4/.test(precisionText) ? 'fp4' : /fp8/.test(precisionText) ? 'fp8' : 'bf16';
  if (!run.precision) filled.push('precision');

  const legacy = isMegatron2021(run);
  const recomputeText = (run.recompute ?? '').toLowerCase();
  const recomputation: ResolvedPlan['recomputation'] = recomputeText.startsWith('full')
    ? 'full'
    : recomputeText.startsWith('selective')
      ? 'selective'
      : 'none';
  const lowPrecision = precision !== 'bf16' && !legacy;
  const memoryOptions: MemoryOption[] = [];
  const recomputeOptions: ResolvedPlan['recomputation'][] = run.recompute
    ? [recomputation]
    : ['none', 'selective', 'full'];
  const chunkLayers = Math.ceil(model.layers / (pp * (pp > 1 ? (run.vpp ?? 1) : 1)));
  for (const option of recomputeOptions) {
    // Full recomputation of only some layers per chunk (recompute_num_layers) comes before all of them.
    const counts =
      option === 'full' && !run.recompute ? Array.from({ length: chunkLayers }, (_, i) => i + 1) : [undefined];
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
  if (!run.recompute) filled.push('recompute');
  const shardingText = (run.sharding ?? '').toLowerCase();
  const sharding = /fsdp/.test(shardingText)
    ? 'fsdp'
    : /zero-3/.test(shardingText)
      ? 'zero3'
      : /distributed optimizer/.test(shardingText) || (!run.sharding && !legacy)
        ? 'zero1'
        : 'none';
  if (!run.sharding) filled.push('sharding');
  if (!run.micro_batch) filled.push('micro_batch');
  if (run.sequence_parallel === null || run.sequence_parallel === undefined) filled.push('sequence_parallel');
  if (run.ep === null || run.ep === undefined) {
    if (run.arch === 'moe') filled.push('ep');
  }
  if (run.vpp === null || run.vpp === undefined) {
    if (pp > 1) filled.push('vpp');
  }

  const spec = {
    name: run.id,
    workload: {
      model: { ...model, ...(legacy && { dropout: true }) },
      training: {
        totalTokens: sequences * run.seq_len,
        sequenceLength: run.seq_len,
        globalBatch: { sequences },
        precision,
      },
    },
    system: {
      accelerator,
      gpuCount: run.num_gpus,
      gpusPerNode: run.gpus_per_node ?? 8,
      ...(run.nvlink_domain && { scaleUp: { domainSize: run.nvlink_domain } }),
    },
    plan: {
      tp,
      pp,
      dp,
      cp,
      ep: run.ep ?? 1,
      virtualStages: pp > 1 ? (run.vpp ?? 1) : 1,
      // Megatron-Core turns sequence parallelism on with TP in every NeMo/Bridge recipe; Megatron-LM 2021 had none.
      sequenceParallel: run.sequence_parallel ?? (!legacy && tp > 1),
      sharding,
      microBatch: run.micro_batch ?? 1,
      recomputation,
      flashAttention: !legacy,
      // NeMo/Bridge performance recipes overlap TP, DP and PP communication; Megatron-LM 2021-22 overlapped none
      // of the data-parallel reduction and had no TP overlap.
      overlap: { tpComm: !legacy && tp > 1, gradReduce: !legacy, paramGather: !legacy, ppComm: true, epComm: !legacy },
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
  return { ok: true, spec: { ...result.value, system, plan }, filled, memoryOptions };
}
