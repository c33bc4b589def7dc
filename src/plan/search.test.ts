import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { estimate } from '../perf/estimate.js';
import { loadSpec } from '../spec/load.js';
import { PublishedRunSchema, scenarioFromRun } from '../validation/runs.js';
import { enumeratePlans, mergeSearches, planKey, searchPlans } from './search.js';

describe('plan search', () => {
  it('Llama 3 70B on 64 H100: the plan found is at least as fast as the layout NVIDIA published', async () => {
    const rows = JSON.parse(await readFile('data/calibration/published-runs.calibration.json', 'utf8'));
    // Megatron-Bridge 26.04 H100 recipe: TP 4, PP 8, 5 virtual stages, micro-batch 1, FP8, 256 sequences of 8K.
    const row = PublishedRunSchema.parse(
      rows.find((r: { id: string }) => r.id === 'bridge-arch-26.04-llama3-70b-dgx-h100-64-fp8-98'),
    );
    const scenario = scenarioFromRun(row);
    if (!scenario.ok) throw new Error(scenario.reason);
    const { workload, system, plan } = scenario.spec;
    const published = estimate(workload, system, { ...plan, recomputation: 'none' });
    if (!published.ok) throw new Error(JSON.stringify(published.issues));
    const found = searchPlans(workload, system, { top: 1 });
    const best = found.best[0];
    expect(best).toBeDefined();
    expect(best?.estimate.tokensPerSecond).toBeGreaterThanOrEqual(published.tokensPerSecond);
    // NVIDIA's layout is among the candidates the search costed.
    expect(
      enumeratePlans(workload, system).some(
        (p) => p.tp === 4 && p.pp === 8 && p.virtualStages === 5 && p.microBatch === 1,
      ),
    ).toBe(true);
  });

  it('explains rejections by reason and counts every candidate once', () => {
    const result = loadSpec(
      `workload: { model: llama3-405b, training: { totalTokens: 15T, sequenceLength: 8192, globalBatch: { sequences: 512 } } }
system: { accelerator: h100-sxm, gpuCount: 256 }`,
      'yaml',
    );
    if (!result.ok || !result.value.system) throw new Error('bad spec');
    const search = searchPlans(result.value.workload, result.value.system, { top: 5 });
    const rejected = Object.values(search.rejected).reduce((a, b) => a + b, 0);
    expect(search.feasible + rejected).toBe(search.candidates);
    expect(search.rejected.out_of_memory).toBeGreaterThan(0); // 405B does not fit on few GPUs per replica
    // best first
    const rates = search.best.map((b) => b.estimate.tokensPerSecond);
    expect([...rates].sort((a, b) => b - a)).toEqual(rates);
  });

  it('sharded searches merge to the same answer as one search', () => {
    const result = loadSpec(
      `workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 256 } } }
system: { accelerator: h100-sxm, gpuCount: 64 }`,
      'yaml',
    );
    if (!result.ok || !result.value.system) throw new Error('bad spec');
    const { workload, system } = result.value;
    const whole = searchPlans(workload, system, { top: 5 });
    const shards = [0, 1, 2].map((index) => searchPlans(workload, system, { top: 5, shard: { index, count: 3 } }));
    const merged = mergeSearches(shards, 5);
    expect(merged.best.map((b) => planKey(b.plan))).toEqual(whole.best.map((b) => planKey(b.plan)));
    expect(merged.candidates).toBe(whole.candidates);
    expect(merged.rejected).toEqual(whole.rejected);
  });
});

describe('precision options', () => {
  it('trying BF16 and FP8 on H100 costs both and ranks FP8 first for a GEMM-bound model', () => {
    const result = loadSpec(
      `workload: { model: llama3-70b, training: { totalTokens: 15T, sequenceLength: 8192, globalBatch: { sequences: 256 }, precision: bf16 } }
system: { accelerator: h100-sxm, gpuCount: 64 }`,
      'yaml',
    );
    if (!result.ok || !result.value.system) throw new Error('bad spec');
    const { workload, system } = result.value;
    const bf16Only = searchPlans(workload, system, { top: 1 });
    const both = searchPlans(workload, system, { top: 5, precisions: ['bf16', 'fp8'] });
    expect(both.candidates).toBe(2 * bf16Only.candidates);
    expect(both.best[0]?.precision).toBe('fp8');
    expect(both.best[0]?.estimate.tokensPerSecond).toBeGreaterThan(bf16Only.best[0]?.estimate.tokensPerSecond ?? 0);
    // A100 has no FP8: that precision is skipped, not an error.
    const a100 = loadSpec(
      `workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 64 } } }
system: { accelerator: a100, gpuCount: 8 }`,
      'yaml',
    );
    if (!a100.ok || !a100.value.system) throw new Error('bad spec');
    const skipped = searchPlans(a100.value.workload, a100.value.system, { precisions: ['bf16', 'fp8'] });
    expect(skipped.best.every((ranked) => ranked.precision === 'bf16')).toBe(true);
  });
});
