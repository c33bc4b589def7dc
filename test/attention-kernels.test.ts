import { describe, expect, it } from 'vitest';
import { ATTENTION_FIT } from '../src/perf/attention-fit.js';
import { DEFAULT_CALIBRATION } from '../src/perf/calibration.js';
import {
  attentionSeconds,
  deviceRates,
  memorySeconds,
  PUBLISHED_ATTENTION,
  trainingShare,
} from '../src/perf/compute-rates.js';
import { type Estimate, estimate } from '../src/perf/estimate.js';
import { H100_FIT } from '../src/perf/h100-fit.js';
import { attentionCost, type LayerContext } from '../src/perf/layer-costs.js';
import { fullSpec } from './support/spec.js';

const spec = fullSpec;

const llama8b = (accelerator: string, plan: string, sequence = 8192) =>
  spec(`
workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: ${sequence}, globalBatch: { sequences: 64 } } }
system: { accelerator: ${accelerator}, gpuCount: 8 }
plan: ${plan}
`);

function ok(s: ReturnType<typeof spec>): Estimate {
  const result = estimate(s.workload, s.system, s.plan);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result;
}

const SUSTAINED = DEFAULT_CALIBRATION.sustainedEfficiency.bf16;

describe('attention timed by kernel (published kernel figures)', () => {
  it('FlashAttention-2 on A100 at 16K runs at 73% of the 312 TFLOP/s peak (Dao 2023), times the sustained share', () => {
    const s = llama8b('a100-sxm-80gb', '{ tp: 1, dp: 8 }');
    const rates = deviceRates(s.system.accelerator);
    // One layer of one sequence, 32 heads of 128, causal: 4·s²·d·heads / 2 forward FLOPs (Dao 2023 sec. 4.1).
    const flops = (4 * 16384 ** 2 * 128 * 32) / 2;
    const expected = flops / (0.73 * 312e12 * SUSTAINED);
    const seconds = attentionSeconds(rates, flops, 16384, 128, 'forward', 'flash-attention-2');
    expect(seconds).toBeCloseTo(expected, 6);
  });

  it('FlashAttention-2 reaches 335 of 989 TFLOP/s forward+backward on H100 (Dao 2023 sec. 4.1, Fig. 7)', () => {
    expect(trainingShare(PUBLISHED_ATTENTION.hopper['flash-attention-2'])).toBeCloseTo(335 / 989, 6);
  });

  it('on H100, FlashAttention-3 forward is 0.75/0.35 times FlashAttention-2 (Shah et al. 2024)', () => {
    const rates = deviceRates(llama8b('h100-sxm', '{ tp: 1, dp: 8 }').system.accelerator);
    const fa2 = attentionSeconds(rates, 1e12, 8192, 128, 'forward', 'flash-attention-2');
    const fa3 = attentionSeconds(rates, 1e12, 8192, 128, 'forward', 'flash-attention-3');
    expect(fa2 / fa3).toBeCloseTo(0.75 / 0.35, 6);
  });

  it('head dimension 64: the published kernels take their fitted d½, cuDNN its measured one; 128 is the reference', () => {
    const rates = deviceRates(llama8b('a100-sxm-80gb', '{ tp: 1, dp: 8 }').system.accelerator);
    const factor = (d: number, half: number) => d / (d + half) / (128 / (128 + half));
    for (const [kernel, half] of [
      ['flash-attention-2', ATTENTION_FIT.publishedHeadDimHalf],
      ['triton', ATTENTION_FIT.publishedHeadDimHalf],
      ['cudnn', H100_FIT.attention.headDimHalf],
    ] as const) {
      const at = (d: number) => attentionSeconds(rates, 1e12, 8192, d, 'training', kernel);
      expect(at(64) / at(128)).toBeCloseTo(1 / factor(64, half), 9);
    }
    // The fitted d½ is far below cuDNN's: FlashAttention-2 keeps most of its rate at d = 64 (fit on MPT-125M/350M).
    expect(ATTENTION_FIT.publishedHeadDimHalf).toBeLessThan(H100_FIT.attention.headDimHalf / 2);
  });

  it('Triton is 1.4× slower forward and 2× slower backward than FlashAttention-2 (Dao 2023 sec. 4.1)', () => {
    const triton = PUBLISHED_ATTENTION.ampere.triton;
    const fa2 = PUBLISHED_ATTENTION.ampere['flash-attention-2'];
    expect(fa2.forward / triton.forward).toBeCloseTo(1.4, 9);
    expect(fa2.backward / triton.backward).toBeCloseTo(2, 9);
  });

  it('the unfused core is two s×s GEMMs at the GEMM rate plus the score matrices at HBM bandwidth', () => {
    const s = llama8b('h100-sxm', '{ tp: 1, dp: 8, flashAttention: false }', 2048);
    const rates = deviceRates(s.system.accelerator);
    const ctx = {
      model: { ...s.workload.model, dropout: false },
      plan: { ...s.plan, microBatch: 1, tp: 1, cp: 1 },
      rates,
      sequenceLength: 2048,
      attentionKernel: 'unfused',
    } as unknown as LayerContext;
    const heads = 32;
    const causal = (2 * heads * 2048 ** 2 * (128 + 128)) / 2;
    // Hand count: QKᵀ and PV, 2·s²·d each per head; S written, read and P written, P read: 8 bytes per score.
    const gemmFlops = 2 * 2 * heads * 2048 ** 2 * 128;
    const bytes = 8 * heads * 2048 ** 2;
    const forward = 2 * rates.gemmOverheadSeconds + gemmFlops / rates.gemmFlops.bf16 + memorySeconds(rates, bytes);
    const cost = attentionCost(ctx, causal, 128);
    expect(cost.forward).toBeCloseTo(forward, 9);
    // Backward: four GEMMs of the same size and twice the bytes.
    const backward =
      4 * rates.gemmOverheadSeconds + (2 * gemmFlops) / rates.gemmFlops.bf16 + memorySeconds(rates, 2 * bytes);
    expect(cost.training).toBeCloseTo(forward + backward, 9);
    // No masked block is skipped: twice the FLOPs of a fused causal kernel.
    expect(cost.forwardFlops).toBe(2 * causal);
    const fused = attentionCost({ ...ctx, attentionKernel: 'flash-attention-2' } as LayerContext, causal, 128);
    expect(fused.forwardFlops).toBe(causal);
  });

  it('a slower kernel makes long-context steps slower, more so at longer sequences', () => {
    const step = (kernel: string, sequence: number) =>
      ok(
        llama8b(
          'h100-sxm',
          `{ tp: 1, dp: 8, sharding: fsdp, attentionKernel: ${kernel}, recomputation: full }`,
          sequence,
        ),
      ).step.seconds;
    const at8k = step('triton', 8192) / step('flash-attention-3', 8192);
    const at32k = step('triton', 32768) / step('flash-attention-3', 32768);
    expect(at8k).toBeGreaterThan(1);
    expect(at32k).toBeGreaterThan(at8k);
  });
});
