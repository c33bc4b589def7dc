/**
 * Search gaps (docs/model.md, "Plan search"): every micro-batch dividing the local batch, every interleaving
 * dividing the layers per stage, and nearest-valid advice instead of a bare "0 layouts".
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { divisorsUpTo, enumeratePlans, searchPlans, virtualStageCounts } from '../src/plan/search.js';
import { loadSpec } from '../src/spec/load.js';
import { run } from './run-cli.js';

// MT-NLG 530B (Smith et al. 2022, arXiv:2201.11990) on A100 80GB with 200 Gb/s HDR per GPU.
const spec = (gpus: number, sequences: number) => `
workload:
  model: { name: MT-NLG 530B, layers: 105, hiddenSize: 20480, heads: 128, ffnHiddenSize: 81920, gatedMlp: false, vocabSize: 51200, normalization: layernorm, linearBias: true, positionEmbedding: learned, maxPositions: 2048 }
  training: { totalTokens: 270B, sequenceLength: 2048, globalBatch: { sequences: ${sequences} }, precision: bf16 }
system: { accelerator: a100-sxm-80gb, gpuCount: ${gpus}, gpusPerNode: 8, scaleOut: { nicBandwidthGbps: 200, topology: fat-tree } }
`;

function load(text: string) {
  const loaded = loadSpec(text, 'yaml');
  if (!loaded.ok || !loaded.value.system) throw new Error(JSON.stringify(loaded));
  return { workload: loaded.value.workload, system: loaded.value.system };
}

describe('plan search gaps', () => {
  it('tries every micro-batch dividing the local batch, bounded', () => {
    expect(divisorsUpTo(12, 16)).toEqual([1, 2, 3, 4, 6, 12]);
    expect(divisorsUpTo(3, 16)).toEqual([1, 3]);
    expect(divisorsUpTo(720720, 16)).toHaveLength(16); // never more than the bound
    expect(divisorsUpTo(2.5, 16)).toEqual([]);
  });

  it('5,128 GPUs with 1,923 sequences: micro-batch 3 (local batch 3 at DP 641) is searched and chosen', () => {
    const { workload, system } = load(spec(5128, 1923));
    const plans = enumeratePlans(workload, system);
    expect(plans.some((plan) => plan.dp === 641 && plan.microBatch === 3)).toBe(true);
    const best = searchPlans(workload, system, { top: 1 }).best[0];
    expect(best?.plan.microBatch).toBe(3);
  });

  it('tries every interleaving dividing the layers per stage: 7 and 21 for 105 layers on 5 stages', () => {
    expect(virtualStageCounts(105, 5)).toEqual([1, 3, 7, 21]);
    expect(virtualStageCounts(126, 16)).toEqual([1, 2, 4, 8]); // 128 = 126 + embedding + loss
    expect(virtualStageCounts(80, 3)).toEqual([]);
    const { workload, system } = load(spec(5120, 2560));
    const virtuals = new Set(
      enumeratePlans(workload, system)
        .filter((p) => p.pp === 5)
        .map((p) => p.virtualStages),
    );
    expect([...virtuals].sort((a, b) => a - b)).toEqual([1, 3, 7, 21]);
  });

  it('5,128 GPUs with 2,520 sequences: nearest valid batches and GPU counts, in the text and --json', async () => {
    // 5,128 = 8 · 641 and 641 is prime, so every layout has DP 641 · 2^k, none of which divides 2,520.
    // Calculon's rule (largest multiple of DP not above the batch) gives 3 · 641 = 1,923; the smallest multiple above
    // it is 2,564 (4 · 641, and DP 2,564 itself); 5,040 GPUs (TP2 DP2520) and 5,400 (TP8 PP15 DP45) are the nearest counts that split 2,520.
    const directory = await mkdtemp(join(tmpdir(), 'tokenworks-search-gaps-'));
    const file = join(directory, 'mtnlg-5128.yaml');
    await writeFile(file, spec(5128, 2520));
    const text = await run('plan', file, '--threads', '1');
    expect(text.code).toBe(2);
    for (const output of [text.stdout, text.stderr]) {
      expect(output).toMatch(/1,923 sequences \(DP 641: the largest multiple of DP not above the batch/);
      expect(output).toMatch(/2,564 \(DP 2,564: the smallest multiple of DP above it\)/);
      expect(output).toMatch(/nearest GPU counts for 2,520 sequences: 5,040 or 5,400/);
    }
    const json = await run('plan', file, '--threads', '1', '--json');
    const outcome = JSON.parse(json.stdout);
    expect(outcome.binding.join(' ')).toMatch(/1,923 sequences/);
    expect(outcome.binding.join(' ')).toMatch(/5,040 or 5,400/);
  });
});
