import { describe, expect, it } from 'vitest';
import { loadSpec } from '../spec/load.js';
import { bubbleSeconds, layerRange, moeLayersIn, type StageSplit, stageSplit, stageTimes } from './pipeline.js';

const workload = (model: string) => {
  const loaded = loadSpec(
    `workload: { model: ${model}, training: { totalTokens: 1T, sequenceLength: 4096, globalBatch: { sequences: 64 } } }`,
    'yaml',
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  return loaded.value.workload;
};

describe('layers on stages', () => {
  it('interleaved: chunk c on stage c mod p; the split is memoised per model', () => {
    const llama = workload('llama3-8b'); // 32 layers
    const split = stageSplit(llama, 4, 2); // 8 chunks of 4 layers
    expect(split.chunkLayers).toEqual([4, 4, 4, 4, 4, 4, 4, 4]);
    expect(split.stageDense).toEqual([8, 8, 8, 8]);
    expect(split.stageMoe).toEqual([0, 0, 0, 0]);
    expect(split.chunkMax).toBe(4);
    expect(stageSplit(llama, 4, 2)).toBe(split);
    expect(layerRange(stageSplit(llama, 3, 1))).toEqual({ min: 10, max: 11 });
  });

  it('MoE layers after the dense ones (DeepSeek-V3: first 3 of 61 dense)', () => {
    const v3 = workload('deepseek-v3');
    expect(moeLayersIn(v3, 0, 3)).toBe(0);
    expect(moeLayersIn(v3, 0, 61)).toBe(58);
    expect(moeLayersIn(v3, 2, 5)).toBe(2);
    const split = stageSplit(v3, 2, 1);
    expect(split.stageDense.reduce((a, b) => a + b, 0)).toBe(3);
    expect(split.stageMoe.reduce((a, b) => a + b, 0)).toBe(58);
  });
});

describe('stage times and bubble', () => {
  const split: StageSplit = { chunkLayers: [2, 1], chunkMax: 2, stageDense: [2, 0], stageMoe: [0, 1] };
  const dense = { forward: 1, backward: 2, recompute: 0, exposedTp: 0.5, exposedCp: 0, exposedEp: 0 };
  const moe = { forward: 2, backward: 4, recompute: 1, exposedTp: 0, exposedCp: 0.25, exposedEp: 1 };
  const head = { forward: 1, backward: 1, exposedTp: 0.5 };

  it('per micro-batch: layers × their time, the output layer on the last stage', () => {
    // Stage 0: 2 dense = compute 6, TP 1 → 7. Stage 1: 1 MoE + head = compute 9, TP 0.5, CP 0.25, EP 1 → 10.75.
    const times = stageTimes(split, dense, moe, head);
    expect(times).toEqual({
      slowest: 1,
      maxSeconds: 10.75,
      meanSeconds: (7 + 10.75) / 2,
      meanComputeSeconds: (6 + 9) / 2,
      exposedTp: 1.5 / 2,
      exposedCp: 0.25 / 2,
      exposedEp: 1 / 2,
    });
  });

  it('bubble: (p − 1)/v mean stage times (Narayanan et al. 2021 sec. 2.2)', () => {
    expect(bubbleSeconds(8, 1, 2)).toBe(14);
    expect(bubbleSeconds(8, 4, 2)).toBe(3.5);
    expect(bubbleSeconds(1, 1, 2)).toBe(0);
  });
});
