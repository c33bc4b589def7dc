/**
 * Collectives that share a link (docs/model.md, "Collectives that share a link"): every overlapped collective of
 * a step draws on one NVLink and one NIC budget, so a link hides at most the compute it overlaps.
 */
import { describe, expect, it } from 'vitest';
import { estimate } from '../src/perf/estimate.js';
import { planKey, searchPlans } from '../src/plan/search.js';
import { loadSpec } from '../src/spec/load.js';

function load(text: string) {
  const loaded = loadSpec(text, 'yaml');
  if (!loaded.ok || !loaded.value.system) throw new Error(JSON.stringify(loaded));
  return { workload: loaded.value.workload, system: loaded.value.system, plan: loaded.value.plan };
}

describe('collectives that share a link', () => {
  it('FSDP traffic beyond the compute of a micro-batch is exposed (hand-computed)', () => {
    // Hand case: 4 layers, h = 4096, f = 16384 (plain MLP, no biases), vocabulary 32,768 tied to the embedding,
    // on 2 servers of 8 H100 with one 200 Gb/s NIC per GPU; TP1 PP1 DP16, FSDP, one micro-batch of 2,048 tokens.
    // Parameters per GPU: 4 · (4h² + 2hf) + V·h = 4 · (67,108,864 + 134,217,728) + 134,217,728 = 939,524,096.
    // The DP group (16 ranks, stride 1) has 8 members in each 8-GPU domain, so its ring runs over 8 NICs:
    // bus = min(NVLink 450 · 370/450 = 370 GB/s, 8 · 25 GB/s · 47/50 = 188 GB/s) = 188 GB/s.
    // One layer's gather of 2 B · P / 4 = 469,762,048 B: 20 µs + 15 hops · 5 µs + 469,762,048 · 15/16 / 188e9
    //   = 95 µs + 2.342563 ms = 2.437563 ms; FSDP gathers twice per layer (forward, backward) and reduce-scatters
    //   once, the same size: 3 · 4 · 2.437563 ms = 29.25076 ms of NIC traffic per micro-batch.
    // Gathers alone (19.50 ms) fit in forward + backward and the reduce-scatters alone (9.75 ms) in backward, so
    // the per-collective rules hid all 29.25 ms; the link can hide at most the micro-batch's compute (read below),
    // so exposed DP = 29.25076 ms − compute.
    const { workload, system, plan } = load(`
workload:
  model: { name: hand, layers: 4, hiddenSize: 4096, heads: 32, ffnHiddenSize: 16384, gatedMlp: false, vocabSize: 32768, tiedEmbeddings: true }
  training: { totalTokens: 1B, sequenceLength: 2048, globalBatch: { sequences: 16 }, precision: bf16 }
system: { accelerator: h100-sxm, gpuCount: 16, gpusPerNode: 8, scaleOut: { nicBandwidthGbps: 200 } }
plan: { tp: 1, pp: 1, dp: 16, sharding: fsdp, microBatch: 1, recomputation: none }
`);
    if (!plan) throw new Error('no plan');
    const result = estimate(workload, system, plan);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.microBatchesPerStep).toBe(1);
    const busy = result.links.scaleOutBusySeconds;
    expect(busy).toBeCloseTo(0.02925076, 7);
    const compute = result.step.compute;
    expect(compute).toBeLessThan(busy); // traffic exceeds compute
    expect(result.links.scaleOutHiddenSeconds).toBeCloseTo(compute, 9);
    expect(result.step.exposedCommunication.dp).toBeCloseTo(busy - compute, 9);
    expect(result.step.seconds).toBeGreaterThanOrEqual(busy);
    expect(result.links.scaleUpBusySeconds).toBe(0); // TP1, DP over the NICs: nothing on NVLink
  });

  it('the MT-NLG 530B search on 5,120 A100 picks no layout whose link traffic exceeds its step', () => {
    // MT-NLG 530B (Smith et al. 2022, arXiv:2201.11990: 105 layers, h 20480, 128 heads, sequence 2,048) on 5,120
    // A100 80GB with 200 Gb/s HDR per GPU, batch 2,560 (Narayanan et al. 2021 Table 2's 530B batch).
    const { workload, system } = load(`
workload:
  model: { name: MT-NLG 530B, layers: 105, hiddenSize: 20480, heads: 128, ffnHiddenSize: 81920, gatedMlp: false, vocabSize: 51200, normalization: layernorm, linearBias: true, positionEmbedding: learned, maxPositions: 2048 }
  training: { totalTokens: 270B, sequenceLength: 2048, globalBatch: { sequences: 2560 }, precision: bf16 }
system: { accelerator: a100-sxm-80gb, gpuCount: 5120, gpusPerNode: 8, scaleOut: { nicBandwidthGbps: 200, topology: fat-tree } }
`);
    const search = searchPlans(workload, system, { top: 10 });
    const best = search.best[0];
    if (!best) throw new Error('no plan');
    for (const { estimate: e } of search.best) {
      expect(e.links.scaleOutBusySeconds).toBeLessThanOrEqual(e.step.seconds);
      expect(e.links.scaleUpBusySeconds).toBeLessThanOrEqual(e.step.seconds);
    }
    // The layout the search used to pick, TP8 PP1 DP640 FSDP micro-batch 4 (15.75 s with 17.9 s on the NIC), is
    // now at least as long as its NIC traffic.
    const old = estimate(workload, system, {
      ...best.plan,
      tp: 8,
      pp: 1,
      virtualStages: 1,
      dp: 640,
      microBatch: 4,
      sharding: 'fsdp',
      recomputation: 'none',
      recomputeLayers: undefined,
      lowPrecisionWeights: false,
      sequenceParallel: true,
      overlap: { gradReduce: true, paramGather: true, tpComm: true, ppComm: true, epComm: false },
    });
    if (!old.ok) throw new Error(JSON.stringify(old.issues));
    expect(old.links.scaleOutBusySeconds).toBeGreaterThan(17.5);
    expect(old.step.seconds).toBeGreaterThanOrEqual(old.links.scaleOutBusySeconds);
    expect(planKey(best.plan)).not.toBe('8/1/1/1/1/640/4/none/-/fsdp/w16');
  });
});
