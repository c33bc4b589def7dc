import { describe, expect, it } from 'vitest';
import { deviceRates, gemmSeconds } from '../src/perf/compute-rates.js';
import { type LayerContext, layerCost, placeGroups, unfusedExtraBytes } from '../src/perf/layer-costs.js';
import { loadSpec } from '../src/spec/load.js';

/** The layer context of a Mixtral 8x7B plan on 8 H100s (TP 1, EP `ep`), as estimate.ts builds it. */
function context(ep: number, fusedElementwise = true): LayerContext {
  const loaded = loadSpec(
    `
workload: { model: mixtral-8x7b, training: { totalTokens: 1T, sequenceLength: 4096, globalBatch: { sequences: 64 } } }
system: { accelerator: h100-sxm, gpuCount: 8 }
plan: { tp: 1, pp: 1, dp: 8, ep: ${ep}, microBatch: 1 }
`,
    'yaml',
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const { workload, system, plan } = loaded.value;
  if (!system || !plan) throw new Error('spec needs system and plan');
  const links = placeGroups(system, plan);
  return {
    model: workload.model,
    plan,
    system,
    rates: deviceRates(system.accelerator),
    precision: workload.training.precision,
    sequenceLength: workload.training.sequenceLength,
    attentionKernel: 'cudnn',
    fusedElementwise,
    tpLink: links.tp,
    cpLink: links.cp,
    epLink: links.ep,
  };
}

describe('grouped expert GEMMs', () => {
  it('each local expert is a GEMM of its own and pays the kernel fixed time (TE multi-stream cuBLAS)', () => {
    // Mixtral 8x7B: 8 experts, top-2, h 4096, expert width 14336, SwiGLU. EP 1: 8 local experts, each gets
    // 4096·2/8 = 1024 tokens; EP 8: 1 local expert with 8192 tokens. The routed expert GEMMs of EP 1 are eight
    // GEMMs of m = 1024, those of EP 8 one GEMM of m = 8192: same FLOPs, 7 more fixed times t0 per GEMM pair.
    const one = context(1);
    const eight = context(8);
    const { rates, precision } = one;
    const routed = (m: number, count: number) =>
      count * (gemmSeconds(rates, m, 2 * 14336, 4096, precision) + gemmSeconds(rates, m, 4096, 14336, precision));
    const difference = layerCost(one, true).expertForward - layerCost(eight, true).expertForward;
    // The router GEMM and shared parts are the same; the permutation bytes are the same per GPU.
    expect(difference).toBeCloseTo(routed(1024, 8) - routed(8192, 1), 12);
    expect(difference).toBeGreaterThan(2 * 7 * rates.gemmOverheadSeconds * 0.999);
  });
});

describe('eager element-wise kernels', () => {
  it('Llama 3 8B: 64·h + 4·f + 16·(a + a_kv)·d = 401,408 extra bytes per token and layer, forward', () => {
    const loaded = loadSpec(
      'workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 64 } } }',
      'yaml',
    );
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    // RMSNorm ×2: 32 B × 4096; SwiGLU: 4 B × 14336; RoPE on 32 + 8 heads of 128: 16 B × 5120.
    expect(unfusedExtraBytes(loaded.value.workload.model, 1, 1, 1, false)).toBe(2 * 32 * 4096 + 4 * 14336 + 16 * 5120);
  });

  it('eager kernels move those bytes three times a step (forward, twice backward) at the HBM rate', () => {
    const fused = layerCost(context(8, true), false);
    const eager = layerCost(context(8, false), false);
    const ctx = context(8);
    // Mixtral: RMSNorm, SwiGLU, RoPE (32 query and 8 KV heads of 128); 4096 tokens of one micro-batch.
    const bytes = unfusedExtraBytes(ctx.model, 4096, 1, 1, false);
    const seconds = bytes / ctx.rates.memoryBytesPerSecond;
    expect(eager.forward - fused.forward).toBeCloseTo(seconds, 12);
    expect(eager.backward - fused.backward).toBeCloseTo(2 * seconds, 12);
  });
});
