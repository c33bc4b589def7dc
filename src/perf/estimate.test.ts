import { describe, expect, it } from 'vitest';
import { loadSpec } from '../spec/load.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { DEFAULT_CALIBRATION } from './calibration.js';
import { type Estimate, estimate } from './estimate.js';
import { H100_FIT } from './h100-fit.js';
import { splitLayers } from './pipeline.js';

function spec(text: string): ResolvedSpec {
  const result = loadSpec(text, 'yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

function run(text: string) {
  const s = spec(text);
  if (!s.system || !s.plan) throw new Error('spec needs system and plan');
  return estimate(s.workload, s.system, s.plan);
}

function ok(text: string): Estimate {
  const result = run(text);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result;
}

const llama8b = (system: string, plan: string, batch = 64) => `
workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: ${batch} } } }
system: ${system}
plan: ${plan}
`;

describe('pipeline bubble', () => {
  it.each([1, 2])('bubble / compute = (p−1)/(v·m) for v = %i (Narayanan et al. 2021 sec. 2.2)', (v) => {
    // 8 GPUs in one NVLink node, TP 1: no exposed in-layer communication, 32 layers split evenly over 4 stages.
    const result = ok(
      llama8b(
        '{ accelerator: h100-sxm, gpuCount: 8 }',
        `{ tp: 1, pp: 4, dp: 2, virtualStages: ${v}, microBatch: 1, recomputation: full }`,
      ),
    );
    const m = 64 / 2;
    expect(result.microBatchesPerStep).toBe(m);
    expect(result.step.bubble / result.step.compute).toBeCloseTo((4 - 1) / (v * m), 10);
  });

  it('splits uneven layer counts with the extra layers in the middle chunks', () => {
    const counts = splitLayers(126, 16);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(126);
    expect(Math.max(...counts) - Math.min(...counts)).toBe(1);
    expect(counts[0]).toBe(7);
    expect(counts[15]).toBe(7);
    // More chunks than layers: embedding and loss take the end chunks.
    expect(splitLayers(2, 4)).toEqual([0, 1, 1, 0]);
  });
});

describe('hand-computed step times', () => {
  it('one big layer on one H100 in BF16: 3 × GEMMs + attention + Adam, within 3%', () => {
    const h = 16384;
    const f = 65536;
    const s = 2048;
    const result = ok(
      `
workload:
  model: { name: wide, layers: 1, hiddenSize: ${h}, heads: 128, ffnHiddenSize: ${f}, gatedMlp: false, vocabSize: 1024 }
  training: { totalTokens: 1M, sequenceLength: ${s}, globalBatch: { sequences: 1 }, precision: bf16 }
system: { accelerator: h100-sxm, gpuCount: 8 }
plan: { tp: 1, pp: 1, dp: 8, sharding: none, microBatch: 1, recomputation: none }
`.replace('globalBatch: { sequences: 1 }', 'globalBatch: { sequences: 8 }'),
    );
    // GEMMs: QKV (h→3h), output (h→h), up (h→f), down (f→h): 2·s·(4h² + 2hf) FLOPs forward, 3× with backward,
    // at the fitted H100 rate times the sustained BF16 efficiency, plus Hockney's t0 per GEMM (4 forward, 8 backward).
    const rate = H100_FIT.gemm.bf16.tflops * 1e12 * DEFAULT_CALIBRATION.sustainedEfficiency.bf16;
    const gemms = (3 * 2 * s * (4 * h * h + 2 * h * f)) / rate + 12 * H100_FIT.gemm.bf16.overheadSeconds;
    // Causal attention: forward 2·heads·(s²/2)·(2·128) FLOPs, training 3.5× that at the saturating rate.
    const attentionRate =
      H100_FIT.attention.forwardBackward.tflops *
      1e12 *
      DEFAULT_CALIBRATION.sustainedEfficiency.bf16 *
      (s / (s + H100_FIT.attention.forwardBackward.halfSequence));
    const attention = (((3.5 * 2 * 128 * (s * s)) / 2) * 256) / attentionRate;
    // Adam over every parameter on this GPU: 34 bytes each at the achieved HBM bandwidth (2957 GB/s on H100).
    const parameters = 4 * h * h + 2 * h * f + 2 * 1024 * h;
    const optimizer = (34 * parameters) / (H100_FIT.copyGBps * 1e9);
    const handComputed = gemms + attention + optimizer;
    const dataParallel = result.step.exposedCommunication.dp;
    expect(Math.abs((result.step.seconds - dataParallel) / handComputed - 1)).toBeLessThan(0.03);
  });

  it('Llama 3 8B on 2 B200 without overlap: gradient all-reduce = 2 bytes × N × 2(n−1)/n over the NVLink bus', () => {
    const result = ok(
      llama8b(
        '{ accelerator: b200, gpuCount: 2, gpusPerNode: 2, scaleUp: { domainSize: 2 } }',
        '{ tp: 1, pp: 1, dp: 2, sharding: none, microBatch: 1, recomputation: full, overlap: { gradReduce: false } }',
        2,
      ),
    );
    // Parameters by hand (Table 3 of arXiv:2407.21783): 32 × (attention 41,943,040 + MLP 176,160,768) + embedding
    // and output 2 × 525,336,576 (norms are not reduced in the count and are negligible).
    const parameters = 32 * (41_943_040 + 176_160_768) + 2 * 525_336_576;
    // NVLink 5: 900 GB/s per direction at the 370/450 share NCCL reaches on NVLink 4 (nccl-tests#212).
    // Latency: 10 µs per collective + 2 ring steps of 1 µs on NVLink.
    const expected = 10e-6 + 2 * 1e-6 + (2 * parameters * 2 * (2 - 1)) / 2 / ((900e9 * 370) / 450);
    expect(result.step.exposedCommunication.dp).toBeCloseTo(expected, 6);
  });
});

describe('tensor parallelism across NVLink domains', () => {
  it('TP 16 over two 8-GPU H100 nodes is costed on the NICs, not overlapped: hand-computed', () => {
    const result = ok(
      llama8b(
        '{ accelerator: h100-sxm, gpuCount: 16 }',
        '{ tp: 16, pp: 1, dp: 1, microBatch: 1, recomputation: none, overlap: { tpComm: true } }',
      ),
    );
    // Each of the 32 layers runs two all-gathers and two reduce-scatters of its [8192 × 4096] BF16 activation forward
    // and as many backward, 8 rings (sequence parallelism, Korthikanti et al. 2022 sec. 4.2.2), the output layer one
    // of each; 64 micro-batches.
    // A ring over 16 ranks in 2 domains: 20 µs + 15 hops × 5 µs + 15/16 of the buffer at the bus bandwidth, one ring
    // per NIC rail: min(8 × 400 Gb/s × 47/50, NVLink 450 GB/s × 370/450) = 370 GB/s. TP overlap is asked for, but
    // userbuffers overlap only inside a domain, so nothing is hidden.
    const bytes = 2 * 8192 * 4096;
    const ring = 20e-6 + 15 * 5e-6 + (bytes * 15) / 16 / 370e9;
    const expected = 64 * (32 * 8 * ring + 2 * ring);
    expect(result.step.exposedCommunication.tp).toBeGreaterThanOrEqual(expected * 0.999);
    // Sharing the NIC with nothing else (dp 1), no more than the rings themselves.
    expect(result.step.exposedCommunication.tp).toBeLessThanOrEqual(expected * 1.001);
  });
});

describe('infeasible plans are values with reasons', () => {
  it('TP not dividing the heads', () => {
    const result = run(llama8b('{ accelerator: h100-sxm, gpuCount: 24 }', '{ tp: 3, pp: 1, dp: 8 }'));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.code)).toContain('tp_divides_heads');
  });

  it('a GPU count the plan does not use', () => {
    const result = run(llama8b('{ accelerator: h100-sxm, gpuCount: 16 }', '{ tp: 2, pp: 2, dp: 2 }'));
    expect(!result.ok && result.issues.some((i) => i.code === 'gpu_count' && i.message.includes('16'))).toBe(true);
  });

  it('out of memory, with the breakdown', () => {
    const result = run(`
workload: { model: llama3-405b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 8 } } }
system: { accelerator: h100-sxm, gpuCount: 8 }
plan: { tp: 8, pp: 1, dp: 1 }
`);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.issues[0]?.code).toBe('out_of_memory');
      expect(result.issues[0]?.message).toMatch(/weights .* gradients .* optimizer .* activations/);
      expect(result.memory?.total).toBeGreaterThan(result.memory?.capacity ?? Number.POSITIVE_INFINITY);
    }
  });
});

describe('consistency', () => {
  it('the step breakdown adds up to the step time', () => {
    const result = ok(
      llama8b('{ accelerator: h100-sxm, gpuCount: 64 }', '{ tp: 2, pp: 2, virtualStages: 2, dp: 16, microBatch: 1 }'),
    );
    const { step } = result;
    const c = step.exposedCommunication;
    const sum = step.compute + step.bubble + step.imbalance + c.tp + c.cp + c.ep + c.pp + c.dp + step.optimizer;
    expect(sum).toBeCloseTo(step.seconds, 9);
  });

  it('MFU = tokens/s × FLOPs per token / (GPUs × dense peak)', () => {
    const result = ok(
      llama8b('{ accelerator: h100-sxm, gpuCount: 8 }', '{ tp: 1, pp: 1, dp: 8, recomputation: full }'),
    );
    const flopsPerToken = 6 * 7_504_924_672 + 6 * 32 * 8192 * 32 * 256; // 6·N_matmul + attention
    expect(result.mfu).toBeCloseTo((result.tokensPerSecond * flopsPerToken) / (8 * 989.4e12), 3);
  });

  it('more GPUs at a fixed batch lower per-GPU throughput (communication and bubble grow)', () => {
    const small = ok(llama8b('{ accelerator: h100-sxm, gpuCount: 64 }', '{ tp: 1, pp: 1, dp: 64 }', 512));
    const large = ok(llama8b('{ accelerator: h100-sxm, gpuCount: 512 }', '{ tp: 1, pp: 1, dp: 512 }', 512));
    expect(large.tokensPerSecondPerGpu).toBeLessThan(small.tokensPerSecondPerGpu);
  });
});

describe('MoE layout', () => {
  const mixtral = (plan: string) => `
workload: { model: mixtral-8x7b, training: { totalTokens: 1T, sequenceLength: 4096, globalBatch: { sequences: 64 } } }
system: { accelerator: h100-sxm, gpuCount: 16 }
plan: ${plan}
`;

  it('expert data parallelism spans the tp·cp·dp/ep GPUs that hold the same experts', async () => {
    const { placeGroups } = await import('./layer-costs.js');
    const s = spec(mixtral('{ tp: 2, pp: 1, dp: 8, ep: 8 }'));
    if (!s.system || !s.plan) throw new Error('incomplete spec');
    const groups = placeGroups(s.system, s.plan);
    expect(groups.ep.size).toBe(8);
    expect(groups.ep.domains).toBe(1); // contiguous ranks: one NVLink node
    expect(groups.expertDp.size).toBe((2 * 1 * 8) / 8);
  });

  it('tensor parallelism on an MoE model without sequence parallelism is refused', () => {
    const result = run(mixtral('{ tp: 2, pp: 1, dp: 8, ep: 8, sequenceParallel: false }'));
    expect(!result.ok && result.issues.some((i) => i.path === 'plan.sequenceParallel')).toBe(true);
  });
});
