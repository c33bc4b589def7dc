import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveModel } from '../spec/resolve.js';
import { ModelSchema } from '../spec/workload.js';
import {
  type ActivationShape,
  activationBytesPerLayer,
  busiestStage,
  type StageMemoryInputs,
  stageMemory,
  stateBytes,
} from './memory.js';
import { inFlightMicroBatches, splitLayers } from './pipeline.js';

// Korthikanti et al. 2022 setting: GPT with MHA, 4h GeLU MLP, LayerNorm, dropout, no flash attention, 2-byte
// activations. GPT-3 175B dimensions.
const gpt = resolveModel(
  ModelSchema.parse({
    name: 'gpt',
    layers: 96,
    hiddenSize: 12288,
    heads: 96,
    ffnHiddenSize: 4 * 12288,
    gatedMlp: false,
    vocabSize: 51200,
    normalization: 'layernorm',
    dropout: true,
  }),
);
const s = 2048;
const b = 1;
const h = 12288;
const a = 96;
const shape = (over: Partial<ActivationShape>): ActivationShape => ({
  s,
  b,
  tp: 1,
  cp: 1,
  sequenceParallel: false,
  flashAttention: false,
  recomputation: 'none',
  gemmInputBytes: 2,
  ...over,
});

describe('activation memory (Korthikanti et al. 2022, sec. 4)', () => {
  it('no parallelism: s·b·h·(34 + 5·a·s/h) per layer (eq. 1)', () => {
    expect(activationBytesPerLayer(gpt, shape({}))).toBeCloseTo(s * b * h * (34 + (5 * a * s) / h), 0);
  });

  it('tensor parallel without sequence parallel: s·b·h·(10 + 24/t + 5·a·s/(h·t)) (eq. 2)', () => {
    const t = 8;
    expect(activationBytesPerLayer(gpt, shape({ tp: t }))).toBeCloseTo(
      s * b * h * (10 + 24 / t + (5 * a * s) / (h * t)),
      0,
    );
  });

  it('tensor + sequence parallel: s·b·h·(34 + 5·a·s/h)/t (eq. 4)', () => {
    const t = 8;
    const bytes = activationBytesPerLayer(gpt, shape({ tp: t, sequenceParallel: true }));
    expect(bytes).toBeCloseTo((s * b * h * (34 + (5 * a * s) / h)) / t, 0);
  });

  it('selective recomputation drops the 5·a·s/h term: 34·s·b·h/t (eq. 6)', () => {
    const t = 8;
    const bytes = activationBytesPerLayer(gpt, shape({ tp: t, sequenceParallel: true, recomputation: 'selective' }));
    expect(bytes).toBeCloseTo((34 * s * b * h) / t, 0);
  });

  it('full recomputation keeps the layer input only: 2·s·b·h/t', () => {
    const t = 8;
    const bytes = activationBytesPerLayer(gpt, shape({ tp: t, sequenceParallel: true, recomputation: 'full' }));
    expect(bytes).toBe((2 * s * b * h) / t);
  });

  it('flash attention stores no s×s term, so memory grows linearly with sequence length', () => {
    const short = activationBytesPerLayer(gpt, shape({ flashAttention: true }));
    const long = activationBytesPerLayer(gpt, shape({ s: 2 * s, flashAttention: true }));
    expect(long / short).toBeCloseTo(2, 6);
  });
});

describe('training state', () => {
  it('16 bytes per parameter unsharded, 4 + 12/d with the distributed optimizer', () => {
    const none = stateBytes(1e9, 'none', 8);
    expect(none.weights + none.gradients + none.optimizer).toBe(16e9);
    const zero1 = stateBytes(1e9, 'zero1', 8);
    expect(zero1.weights + zero1.gradients + zero1.optimizer).toBe(4e9 + 12e9 / 8);
    const fsdp = stateBytes(1e9, 'fsdp', 8);
    expect(fsdp.weights + fsdp.gradients + fsdp.optimizer).toBe(16e9 / 8);
  });

  it('1F1B: stage r holds min(m, p − r) micro-batches; interleaving p·(1 + (p−1)/(p·v)) on the first', () => {
    expect(inFlightMicroBatches(0, 8, 1, 64)).toBe(8);
    expect(inFlightMicroBatches(5, 8, 1, 64)).toBe(3);
    expect(inFlightMicroBatches(0, 8, 1, 4)).toBe(4);
    // Narayanan et al. 2021 sec. 2.2 / Korthikanti et al. 2022 sec. 4.2.3
    expect(inFlightMicroBatches(0, 8, 4, 64)).toBeCloseTo(8 * (1 + 7 / 32), 12);
  });
});

describe('memory per stage', () => {
  const inputs = (over: Partial<StageMemoryInputs> & { layers?: number[]; moe?: number[] }): StageMemoryInputs => {
    const dense = over.layers ?? [10, 11, 11, 10];
    return {
      split: { chunkLayers: dense, chunkMax: 11, stageDense: dense, stageMoe: over.moe ?? dense.map(() => 0) },
      pp: dense.length,
      virtualStages: 1,
      microBatches: 16,
      parameters: { attention: 1e8, denseMlp: 3e8, moeShared: 5e7, experts: 1e9, embedding: 5e8, separateHead: true },
      sharding: 'zero1',
      denseShards: 8,
      expertShards: 2,
      weightBytes: 2,
      activations: { dense: 2e8, moe: 3e8, fullWorkingSet: 0 },
      logitsBytes: 4e9,
      capacityBytes: 80 * 2 ** 30,
      ...over,
    };
  };

  it('breakdown: state of the stage parameters, activations in flight, logits on the last stage', () => {
    const base = inputs({});
    const first = stageMemory(base, 0);
    const state = stateBytes(10 * (1e8 + 3e8) + 5e8, 'zero1', 8);
    expect(first.weights).toBe(state.weights);
    expect(first.optimizer).toBe(state.optimizer);
    expect(first.activations).toBe(4 * 10 * 2e8); // 1F1B: stage 0 of 4 holds 4 micro-batches
    const last = stageMemory(base, 3);
    expect(last.activations).toBe(1 * 10 * 2e8 + 4e9);
    expect(last.total).toBe(
      last.weights + last.gradients + last.optimizer + last.activations + last.buffers + last.reserve,
    );
  });

  it('the busiest stage is the one whose breakdown needs the most (same formula)', () => {
    const stage = fc.record({
      pp: fc.integer({ min: 1, max: 24 }),
      layers: fc.integer({ min: 24, max: 130 }),
      moeEvery: fc.integer({ min: 0, max: 3 }),
      microBatches: fc.integer({ min: 1, max: 64 }),
      virtualStages: fc.constantFrom(1, 2),
      sharding: fc.constantFrom('none', 'zero1', 'zero2', 'zero3' as const),
      logits: fc.double({ min: 0, max: 1e10, noNaN: true }),
      embedding: fc.double({ min: 0, max: 1e9, noNaN: true }),
    });
    fc.assert(
      fc.property(stage, (c) => {
        const chunks = splitLayers(c.layers, c.pp);
        const moe = chunks.map((n) => (c.moeEvery === 0 ? 0 : Math.floor(n / (c.moeEvery + 1))));
        const m = inputs({
          layers: chunks.map((n, i) => n - (moe[i] ?? 0)),
          moe,
          virtualStages: c.virtualStages,
          microBatches: c.microBatches,
          sharding: c.sharding,
          logitsBytes: c.logits,
          parameters: { ...inputs({}).parameters, embedding: c.embedding, separateHead: c.pp > 1 },
        });
        const totals = Array.from({ length: c.pp }, (_, s) => stageMemory(m, s).total);
        const most = Math.max(...totals);
        // Ties aside (rounding between two summation orders), the scan and the breakdown agree.
        expect(totals[busiestStage(m)]).toBeCloseTo(most, -3);
      }),
    );
  });
});
