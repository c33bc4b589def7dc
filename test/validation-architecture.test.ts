/**
 * Architecture, GPU, network, layout and sharding of published runs read as data (issue 14): from the row's own
 * fields, else from the model family's sourced catalog entry, never guessed from a name; every default listed.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { ValidateOutputSchema } from '../src/app/outputs.js';
import { MODEL_FAMILIES } from '../src/catalog/models.js';
import { countParameters } from '../src/perf/model-size.js';
import { validateSpec } from '../src/spec/load.js';
import { type PublishedRun, scenarioFromRun } from '../src/validation/runs.js';
import { type ValidationReport, validateRuns } from '../src/validation/validate.js';
import { run } from './run-cli.js';

const member = (id: string) => {
  const found = MODEL_FAMILIES.flatMap((family) => family.members).find((preset) => preset.id === id);
  if (!found) throw new Error(`no catalog member ${id}`);
  return found;
};

function totalB(id: string): number {
  const spec = validateSpec({
    name: id,
    workload: {
      model: member(id).model,
      training: { totalTokens: 1e9, sequenceLength: 2048, globalBatch: { sequences: 8 } },
    },
  });
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  return countParameters(spec.value.workload.model).total / 1e9;
}

describe('plain-MLP families count their published sizes', () => {
  // Each expected figure is the publisher's: a gated (SwiGLU) MLP would add 31-33% to each.
  it.each([
    ['mpt-7b', 6.7, 0.01], // mosaicml/mpt-7b model card: n_parameters 6.7B
    ['mpt-30b', 29.95, 0.005], // mosaicml/mpt-30b model card: n_parameters 29.95B
    ['opt-175b', 175, 0.005], // Zhang et al. 2022, OPT, arXiv:2205.01068, Table 1: 175B
    ['bloom-176b', 176.247271424, 1e-6], // bigscience/bloom model card: 176,247,271,424 parameters
  ])('%s: %f B', (id, published, tolerance) => {
    expect(Math.abs(totalB(id) / published - 1)).toBeLessThan(tolerance);
    expect(member(id).published.totalParamsB.value).toBeCloseTo(published, 2);
  });

  it('the families state what their members are', () => {
    for (const family of MODEL_FAMILIES) {
      expect(family.source.length).toBeGreaterThan(40);
      for (const preset of family.members) {
        expect(preset.model.gatedMlp).toBe(family.architecture.gatedMlp);
        expect(preset.model.activation).toBe(family.architecture.activation);
      }
    }
  });
});

const BASE: PublishedRun = {
  id: 'row',
  source: 'test',
  model_name: 'Some model',
  arch: 'dense',
  layers: 32,
  hidden: 4096,
  heads: 32,
  ffn_hidden: 16384,
  vocab: 50432,
  seq_len: 2048,
  global_batch_sequences: 512,
  micro_batch: 8,
  gpu_type: 'H100-SXM5-80GB',
  num_gpus: 64,
  gpus_per_node: 8,
  tp: 1,
  pp: 1,
  precision: 'bf16',
  tokens_per_sec_per_gpu: 3000,
};

function scenario(row: Partial<PublishedRun>) {
  const result = scenarioFromRun({ ...BASE, ...row });
  if (!result.ok) throw new Error(result.reason);
  return result;
}

describe('row translation', () => {
  it('an MPT row gets its family architecture, listed, and the published 6.7B parameters', () => {
    const s = scenario({ model_name: 'MPT-7b', arch: 'dense (ALiBi, no bias, FlashAttention/triton attn)' });
    const model = s.spec.workload.model;
    expect(model.gatedMlp).toBe(false);
    expect(model.activation).toBe('gelu');
    expect(model.positionEmbedding).toBe('alibi'); // stated by the row's arch text, so not listed
    expect(model.linearBias).toBe(false);
    expect(s.filled).toContain('gatedMlp=false (catalog family mpt)');
    expect(s.filled.some((f) => f.startsWith('positionEmbedding'))).toBe(false);
    expect(countParameters(model).total / 6.7e9).toBeCloseTo(1, 1); // mosaicml/mpt-7b model card: 6.7B
  });

  it("the row's own architecture fields win over the family's", () => {
    const s = scenario({ model_name: 'MPT-7b', activation: 'SwiGLU', tied_embeddings: false });
    expect(s.spec.workload.model.gatedMlp).toBe(true);
    expect(s.spec.workload.model.activation).toBe('swiglu');
    expect(s.spec.workload.model.tiedEmbeddings).toBe(false);
    expect(s.filled.some((f) => f.startsWith('gatedMlp') || f.startsWith('activation'))).toBe(false);
  });

  it('a model no family covers takes the spec defaults, and says so', () => {
    const s = scenario({ model_name: 'Unheard-of 7B' });
    expect(s.spec.workload.model.gatedMlp).toBe(true);
    expect(s.filled.find((f) => f.startsWith('gatedMlp'))).toMatch(/spec default: no catalog family/);
  });

  it('GPU variants: the part of that HBM size, or the row is listed rather than collapsed', () => {
    expect(scenario({ gpu_type: 'A100-SXM4-80GB' }).spec.system.accelerator.id).toBe('a100-sxm-80gb');
    const bare = scenario({ gpu_type: 'H100' });
    expect(bare.spec.system.accelerator.id).toBe('h100-sxm');
    expect(bare.filled.some((f) => f.startsWith('gpu=h100-sxm'))).toBe(true);
    const h100_96 = scenario({ gpu_type: 'H100 (96GB HBM2e, 500W power limit)', gpu_memory_gb: 96 });
    expect(h100_96.spec.system.accelerator.id).toBe('h100-sxm-96gb');
    expect(h100_96.spec.system.gpuPowerLimitW).toBe(500);
    const variant = scenarioFromRun({ ...BASE, gpu_type: 'H100 PCIe 96GB', gpu_memory_gb: 96 });
    expect(variant.ok).toBe(false);
    if (!variant.ok) expect(variant.reason).toMatch(/H100 PCIe 96 GB .* not in the catalog/);
    expect(scenarioFromRun({ ...BASE, gpu_type: 'A100-PCIe-40GB' }).ok).toBe(false);
    expect(scenario({ gpu_type: 'GB200 (NVL72)' }).spec.system.accelerator.id).toBe('gb200');
  });

  it('the network: nic_gbps_per_gpu, per-GPU text, per-node text, else the default (listed)', () => {
    const nic = (row: Partial<PublishedRun>) => scenario(row).spec.system.scaleOut.nicBandwidthGbps;
    expect(nic({ nic_gbps_per_gpu: 100 })).toBe(100);
    expect(nic({ network: 'RDMA backend 400 Gb/s per GPU (Grand Teton)' })).toBe(400);
    expect(nic({ network: '1600 Gb/s node-to-node RoCE', gpu_type: 'A100-SXM4-80GB' })).toBe(200); // 1600 / 8
    expect(nic({ network: 'Selene DGX A100 (8x 200 Gb/s HDR IB per node)', gpu_type: 'A100-SXM4-80GB' })).toBe(200);
    expect(scenario({ network: 'not stated' }).filled.some((f) => f.startsWith('nicBandwidthGbps'))).toBe(true);
  });

  it('pure data-parallel rows without tp/pp, and ZeRO stages from the sharding text', () => {
    const dp = scenario({ tp: null, pp: null, dp: 64, sharding: 'FSDP FULL_SHARD' });
    expect([dp.spec.plan.tp, dp.spec.plan.pp, dp.spec.plan.dp, dp.spec.plan.sharding]).toEqual([1, 1, 64, 'fsdp']);
    expect(dp.filled).toContain('tp=1, pp=1 (num_gpus = dp·cp)');
    expect(scenario({ tp: null, pp: null, sharding: 'FSDP' }).spec.plan.dp).toBe(64);
    expect(scenario({ sharding: 'FSDP SHARD_GRAD_OP' }).spec.plan.sharding).toBe('zero2');
    expect(scenario({ sharding: 'ZeRO-3 (DeepSpeed)' }).spec.plan.sharding).toBe('zero3');
    expect(scenario({ sharding: 'ZeRO-1' }).spec.plan.sharding).toBe('zero1');
    expect(scenario({ tp: 8, pp: null, dp: 8 }).spec.plan.pp).toBe(1);
    expect(scenarioFromRun({ ...BASE, tp: null, pp: null, sharding: 'DDP/distributed optimizer' }).ok).toBe(false);
  });
});

describe('spec: the activation agrees with gatedMlp', () => {
  const spec = (model: object) =>
    validateSpec({
      name: 'x',
      workload: {
        model: { ...member('mpt-7b').model, ...model },
        training: { totalTokens: 1e9, sequenceLength: 2048, globalBatch: { sequences: 8 } },
      },
    });
  it('a plain activation on a gated MLP is an issue naming the fix', () => {
    const result = spec({ activation: 'gelu', gatedMlp: true });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues[0]?.message).toMatch(/set gatedMlp: false/);
  });
  it('models without an activation load as before (gated by default)', () => {
    const result = spec({ activation: undefined, gatedMlp: undefined });
    expect(result.ok && result.value.workload.model.gatedMlp).toBe(true);
  });
});

describe('the PyTorch set (data/calibration/published-runs.pytorch.json)', () => {
  let report: ValidationReport;
  beforeAll(async () => {
    const data = JSON.parse(await readFile('data/calibration/published-runs.pytorch.json', 'utf8'));
    report = validateRuns(data, {}, 'pytorch');
  });

  it('every MPT row is predicted, none that ran is predicted out of memory', () => {
    expect(report.rows.length + report.skipped.length).toBe(156);
    expect(report.rows.filter((r) => /^MPT/.test(r.model)).length).toBe(138);
    expect(report.skipped.filter((r) => r.kind === 'infeasible' && /^MPT/.test(r.model))).toEqual([]);
  });

  it('every torchtitan row is predicted; per-operator checkpointing is counted as such', () => {
    // torchtitan's per-operator selective checkpointing keeps less than Megatron's selective recompute (issue 14
    // item 7): the memory model counts what it keeps (src/perf/memory.ts), so 8B at local batch 2 × 8192 without
    // Float8 fits with it on 96 GiB and no layer is fully recomputed.
    expect(report.rows.filter((r) => r.id.startsWith('torchtitan')).length).toBe(18);
    expect(report.skipped).toEqual([]);
    const t1 = report.rows.find((r) => r.id === 'torchtitan-t1-8b-8gpu-fsdp');
    expect(t1?.filled.some((f) => /recompute=full/.test(f))).toBe(false);
    expect(t1?.stack).toBe('torchtitan');
  });

  it('every predicted row lists the defaults filled, grouped per set and framework', () => {
    for (const row of report.rows) expect(row.filled.length).toBeGreaterThan(0);
    expect(Object.keys(report.groups.set)).toEqual(['pytorch']);
    expect(Object.keys(report.groups.framework)).toContain('Composer + PyTorch FSDP (llm-foundry)');
  });
});

describe('tokenworks validate --set', () => {
  it('runs both shipped sets and reports each', async () => {
    const { code, stdout } = await run('validate', '--set', 'all', '--json');
    expect(code).toBe(0);
    const report = ValidateOutputSchema.parse(JSON.parse(stdout));
    expect(Object.keys(report.groups.set ?? {}).sort()).toEqual(['megatron', 'pytorch']);
    expect(report.rows.every((row) => row.filled.length > 0)).toBe(true);
  }, 120_000);

  it('an unknown set name exits 2 naming the sets', async () => {
    const { code, stderr } = await run('validate', '--set', 'jax');
    expect(code).toBe(2);
    expect(stderr).toMatch(/megatron, pytorch, all/);
  });
});
