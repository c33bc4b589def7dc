/**
 * Activation offload (plan.activationOffloadLayers, Megatron-Core cpu_offloading_num_layers): the memory it frees, the
 * host-link time it exposes, Megatron-Core's constraints, and where plan search and validation choose it.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { type EstimateResult, estimate } from '../src/perf/estimate.js';
import { activationBytesPerLayer } from '../src/perf/memory.js';
import { explainPlan } from '../src/plan/explain.js';
import { searchPlans } from '../src/plan/search.js';
import { loadSpec } from '../src/spec/load.js';
import { PublishedRunSchema } from '../src/validation/runs.js';
import { predictRun } from '../src/validation/validate.js';
import { fullSpec } from './support/spec.js';

const spec = fullSpec;

const WORKLOAD =
  'workload: { model: llama3-70b, training: { totalTokens: 1T, sequenceLength: 8192, precision: fp8, globalBatch: { sequences: 128 } } }';
/** A GB200-like part described inline, so the host link can be set. */
const inline = (hostLinkGBps: number, hostMemoryGiB = 240, hbmGiB = 186) =>
  `{ name: test-gpu, peakTflops: { bf16: 2500, fp8: 5000 }, hbmGiB: ${hbmGiB}, hbmBandwidthGBps: 8000, scaleUpBandwidthGBps: 900, scaleUpDomainSize: 72, scaleOutGbps: 400, hostLinkGBps: ${hostLinkGBps}, hostMemoryGiB: ${hostMemoryGiB} }`;
const PLAN = 'tp: 1, pp: 1, dp: 64, microBatch: 2, sharding: fsdp, recomputation: none';

function run(accelerator: string, plan: string): { result: EstimateResult; s: ReturnType<typeof spec> } {
  const s = spec(`${WORKLOAD}\nsystem: { accelerator: ${accelerator}, gpuCount: 64 }\nplan: { ${plan} }`);
  return { result: estimate(s.workload, s.system, s.plan), s };
}

/** Stored activations of one Llama 3 70B layer at this shape, from the tensor-by-tensor formula (memory.ts). */
function layerBytes(s: ReturnType<typeof spec>): number {
  return activationBytesPerLayer(s.workload.model, {
    s: 8192,
    b: 2,
    tp: 1,
    cp: 1,
    sequenceParallel: false,
    flashAttention: true,
    recomputation: 'none',
    gemmInputBytes: 1,
  });
}

describe('activation offload', () => {
  it('frees the stored activations of all k layers (TE OffloadSynchronizer: peak (L − k) · T)', () => {
    const base = run('gb200', PLAN);
    const offloaded = run('gb200', `${PLAN}, activationOffloadLayers: 40`);
    const before = base.result.ok ? base.result.memory : base.result.memory;
    const after = offloaded.result.ok ? offloaded.result.memory : offloaded.result.memory;
    if (!before || !after) throw new Error('no memory breakdown');
    // 80 layers at about 3.7 GB each (micro-batch 2) do not fit in 186 GiB; 40 offloaded do.
    expect(base.result.ok).toBe(false);
    expect(offloaded.result.ok).toBe(true);
    expect(before.activations - after.activations).toBeCloseTo(40 * layerBytes(base.s), -3);
  });

  it('a few layers over a PCIe-class link hide behind the other layers; on a slow link each second of copy shows', () => {
    // 4 layers' copies (4 × 3.7 GB at 31.5 GB/s ≈ 0.47 s each way) queue on the offload stream while the other 78
    // layers run (about 1 s forward, 2 s backward at this shape): nothing is exposed. A per-layer overlap would
    // expose 4 × (copy − one layer's forward) instead.
    // (A 330 GiB part, so that 4 offloaded layers are enough.)
    const pcie = run(inline(31.5, 240, 330), `${PLAN}, activationOffloadLayers: 4`);
    if (!pcie.result.ok) throw new Error(JSON.stringify(pcie.result.issues));
    expect(pcie.result.step.offload).toBe(0);

    // At 1 and 2 GB/s the 44 copies outlast the compute both ways, so the exposed time differs by exactly the copy
    // time difference: 2 directions × m micro-batches × 44 layers × bytes × (1/1 − 1/2) GB/s.
    const slow = run(inline(1), `${PLAN}, activationOffloadLayers: 44`);
    const slower = run(inline(2), `${PLAN}, activationOffloadLayers: 44`);
    if (!slow.result.ok || !slower.result.ok) throw new Error('slow links should still fit');
    const m = 128 / (64 * 2);
    const expected = 2 * m * 44 * (layerBytes(slow.s) / 1e9) * (1 - 1 / 2);
    expect(slow.result.step.offload - slower.result.step.offload).toBeCloseTo(expected, 6);
    // Nothing else in the step changes with the link.
    expect(slow.result.step.seconds - slow.result.step.offload).toBeCloseTo(
      slower.result.step.seconds - slower.result.step.offload,
      9,
    );
  });

  it('an MoE model with dense first layers offloads each layer at its own size', () => {
    const moe = `workload:
  model: { name: small-moe, layers: 8, hiddenSize: 2048, heads: 16, kvHeads: 4, headDim: 128, ffnHiddenSize: 8192, vocabSize: 32000, moe: { experts: 16, topK: 2, expertFfnHiddenSize: 1024, firstDenseLayers: 3 } }
  training: { totalTokens: 1B, sequenceLength: 8192, globalBatch: { sequences: 8 }, precision: bf16 }
system: { accelerator: gb200, gpuCount: 8 }
plan: { tp: 1, pp: 1, dp: 8, ep: 8, microBatch: 1, recomputation: none, activationOffloadLayers: __K__ }`;
    const at = (k: number) => {
      const s = spec(moe.replace('__K__', String(k)));
      const result = estimate(s.workload, s.system, s.plan);
      if (!result.ok) throw new Error(JSON.stringify(result.issues));
      return { s, memory: result.memory };
    };
    const none = at(0);
    const five = at(5);
    const shape = {
      s: 8192,
      b: 1,
      tp: 1,
      cp: 1,
      sequenceParallel: false,
      flashAttention: true,
      recomputation: 'none' as const,
      gemmInputBytes: 2,
    };
    const model = none.s.workload.model;
    // Layers 0-2 are dense, 3 and 4 MoE (firstDenseLayers: 3).
    const expected = 3 * activationBytesPerLayer(model, shape, false) + 2 * activationBytesPerLayer(model, shape, true);
    expect(none.memory.activations - five.memory.activations).toBeCloseTo(expected, -3);
  });

  it.each([
    ['pp: 2', 'tp: 1, pp: 2, dp: 32, microBatch: 2, sharding: fsdp, recomputation: none', /pp 1/],
    ['recomputation', 'tp: 1, pp: 1, dp: 64, microBatch: 2, sharding: fsdp, recomputation: selective', /recomputation/],
    ['a stack without it', `${PLAN}, stack: torchtitan`, /no activation offload/],
  ])('refuses offload with %s (Megatron-Core TransformerConfig checks)', (_, plan, message) => {
    const { result } = run('gb200', `${plan}, activationOffloadLayers: 10`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const issue = result.issues.find((i) => i.code === 'activation_offload');
    expect(issue?.path).toBe('plan.activationOffloadLayers');
    expect(issue?.message).toMatch(message);
  });

  it('refuses all the layers, a GPU without a host link, and more than the host memory', () => {
    const all = run('gb200', `${PLAN}, activationOffloadLayers: 80`).result;
    expect(!all.ok && all.issues.some((i) => /fewer than the model's layers/.test(i.message))).toBe(true);
    const tpu = run('tpu-v5p', `${PLAN}, activationOffloadLayers: 10`).result;
    expect(!tpu.ok && tpu.issues.some((i) => /no host link/.test(i.message))).toBe(true);
    // 44 layers of about 3.7 GB do not fit in 16 GiB of host memory.
    const small = run(inline(225, 16), `${PLAN}, activationOffloadLayers: 44`).result;
    expect(
      !small.ok && small.issues.some((i) => /GiB of host memory per GPU, the host has 16\.0 GiB/.test(i.message)),
    ).toBe(true);
  });

  it('plan search offloads over NVLink-C2C where it is faster than recomputing, and recomputes over a slow link', () => {
    // One GPU: only pp 1 layouts; 32K tokens of Llama 3 8B do not fit stored.
    const text = (
      accelerator: string,
    ) => `workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 32768, globalBatch: { sequences: 4 } } }
system: { accelerator: ${accelerator}, gpuCount: 1, gpusPerNode: 1 }`;
    const search = (accelerator: string) => {
      const result = loadSpec(text(accelerator), 'yaml');
      if (!result.ok || !result.value.system) throw new Error('bad spec');
      return searchPlans(result.value.workload, result.value.system, { top: 1 }).best[0];
    };
    const grace = search('gb200');
    expect(grace?.plan.activationOffloadLayers ?? 0).toBeGreaterThan(0);
    expect(grace?.plan.recomputation).toBe('none');
    const slow = search(inline(0.5));
    expect(slow?.plan.activationOffloadLayers ?? 0).toBe(0);
    expect(slow?.plan.recomputation).toBe('full');
  });

  it('explain tries offload for a pipeline-free neighbour and says so', () => {
    // Llama 3 8B on 8 GPUs of 34 GiB (inline): PP1 needs 48 GiB even fully recomputed; with a host link the fewest
    // offloaded layers are tried too, and the reason names both savings. On 60 GiB PP1 fits (and is faster).
    const text = (
      hbm: number,
      host: string,
    ) => `workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 4096, globalBatch: { sequences: 64 } } }
system: { accelerator: { name: small-gpu, peakTflops: { bf16: 989 }, hbmGiB: ${hbm}, hbmBandwidthGBps: 3350, scaleUpBandwidthGBps: 450, scaleUpDomainSize: 8, scaleOutGbps: 400${host} }, gpuCount: 8 }
plan: { tp: 1, pp: 2, dp: 4, microBatch: 1, sharding: zero1, recomputation: full }`;
    const reasons = (hbm: number, host: string) => {
      const s = spec(text(hbm, host));
      const result = estimate(s.workload, s.system, s.plan);
      if (!result.ok) throw new Error(JSON.stringify(result.issues));
      return explainPlan(s.workload, s.system, s.plan, result).join(' | ');
    };
    const withHost = ', hostLinkGBps: 31.5, hostMemoryGiB: 256';
    expect(reasons(34, withHost)).toMatch(/PP2 is needed .* even with full recomputation or activation offload/);
    expect(reasons(34, '')).toMatch(/PP2 is needed .* even with full recomputation(?! or)/);
    expect(reasons(60, withHost)).toMatch(/PP1 would be \d+% faster than PP2/);
  });

  it('validate fills the 40 offloaded layers of the Megatron-Bridge GB200 recipe for Llama 3 70B FSDP', async () => {
    // scripts/performance/configs/llama/llama3_workload_base_configs.py: GB200 FP8-CS, micro-batch 2, Megatron FSDP,
    // cpu_offloading_num_layers=40; the row does not state it.
    const rows = JSON.parse(await readFile('data/calibration/published-runs.calibration.json', 'utf8'));
    const row = PublishedRunSchema.parse(
      rows.find((r: { id: string }) => r.id === 'bridge-arch-26.04-llama3-70b-dgx-gb200-64-fp8-97'),
    );
    const predicted = predictRun(row);
    if ('reason' in predicted) throw new Error(predicted.reason);
    const filled = predicted.filled.join('; ');
    const layers = Number(/activationOffloadLayers=(\d+)/.exec(filled)?.[1]);
    // The fewest layers the memory model lets fit: within 2 of the recipe's 40 (a layer is about 2% of HBM here).
    expect(layers).toBeGreaterThanOrEqual(38);
    expect(layers).toBeLessThanOrEqual(42);
  });
});
