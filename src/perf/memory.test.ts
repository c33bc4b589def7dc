import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STACKS, type StackMemory } from '../catalog/stacks.js';
import { resolveModel } from '../spec/resolve.js';
import { ModelSchema } from '../spec/workload.js';
import {
  type ActivationShape,
  activationBytesPerLayer,
  busiestStage,
  logitsBytes,
  perOpCheckpointBytesPerLayer,
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

// Llama 3 8B (model card): GQA with 8 KV heads of 128, SwiGLU of 14,336, vocabulary 128,256.
const llama8b = resolveModel(
  ModelSchema.parse({
    name: 'llama-3-8b',
    layers: 32,
    hiddenSize: 4096,
    heads: 32,
    kvHeads: 8,
    ffnHiddenSize: 14336,
    gatedMlp: true,
    vocabSize: 128256,
  }),
);

describe('per-operator selective checkpointing (torchtitan _save_list, every other matmul)', () => {
  const titan = (over: Partial<ActivationShape>): ActivationShape =>
    shape({
      s: 8192,
      b: 2,
      flashAttention: true,
      recomputation: 'selective',
      selectiveCheckpointing: 'per-op',
      ...over,
    });

  it('keeps the input, attention output and log-sum-exp, and wq, wv, w1, w2 outputs of a layer', () => {
    const tokens = 8192 * 2;
    // Hand count, BF16 unless said: input 2·4096, wq 2·32·128, wv 2·8·128, attention output 2·32·128,
    // log-sum-exp 4 B × 32 heads, w1 2·14336, w2 2·4096: 63,616 B per token.
    const perToken = 2 * 4096 + 2 * 4096 + 2 * 1024 + 2 * 4096 + 4 * 32 + 2 * 14336 + 2 * 4096;
    expect(perToken).toBe(63616);
    expect(activationBytesPerLayer(llama8b, titan({}))).toBe(tokens * perToken);
    expect(perOpCheckpointBytesPerLayer(llama8b, titan({}))).toBe(tokens * perToken);
  });

  it('keeps less than Megatron selective recomputation, more than full recomputation', () => {
    const perOp = activationBytesPerLayer(llama8b, titan({}));
    const megatron = activationBytesPerLayer(llama8b, titan({ selectiveCheckpointing: 'attention-core' }));
    const full = activationBytesPerLayer(llama8b, titan({ recomputation: 'full' }));
    expect(perOp).toBeLessThan(megatron);
    expect(perOp).toBeGreaterThan(full);
  });

  it('under TP with sequence parallelism: column outputs / t, row outputs full size plus the reduce-scatter / t', () => {
    const t = 8;
    const tokens = 8192 * 2;
    // input 2h/t; wq 2·a·d/t; wv 2·kv·d/t; attention 2·a·d/t + 4·a/t; w1 2f/t; w2 partial 2h;
    // reduce-scatter outputs of wo and w2 2h/t each.
    const perToken =
      (2 * 4096 + 2 * 4096 + 2 * 1024 + 2 * 4096 + 4 * 32 + 2 * 14336) / t + 2 * 4096 + (2 * 2 * 4096) / t;
    const bytes = activationBytesPerLayer(llama8b, titan({ tp: t, sequenceParallel: true }));
    expect(bytes).toBeCloseTo(tokens * perToken, 0);
  });
});

describe('loss bytes per logit', () => {
  it('b·s·V/(c·t) logits at 6 B (Megatron fused cross-entropy) or the stack’s 12 B (FP32 upcast)', () => {
    expect(logitsBytes(2, 8192, 128256, 1, 1)).toBe(6 * 2 * 8192 * 128256);
    expect(logitsBytes(1, 32768, 128256, 4, 8, 12)).toBe((12 * 32768 * 128256) / 4 / 8);
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

  const titanMemory: StackMemory = { ...(STACKS.torchtitan.memory as StackMemory), allocatorCachedShare: 0.25 };

  it('FSDP2 with PP (torchtitan): the stage stays gathered, 2 B weights and 4 B FP32 gradients per parameter', () => {
    const m = inputs({ sharding: 'fsdp', stackMemory: titanMemory, layers: [10, 10] });
    const stage0 = stageMemory(m, 0);
    const params = 10 * (1e8 + 3e8) + 5e8; // ten layers and the embedding
    const sharded = stateBytes(params, 'fsdp', 8);
    expect(stage0.weights).toBe(sharded.weights + 2 * params); // no separate prefetch: all layers gathered
    expect(stage0.gradients).toBe(sharded.gradients + 4 * params);
    expect(stage0.optimizer).toBe(sharded.optimizer);
  });

  it('FSDP2 without PP: the two prefetched layers and the root unit (embedding and output layer) gathered', () => {
    const m = inputs({
      sharding: 'fsdp',
      stackMemory: titanMemory,
      layers: [32],
      parameters: { ...inputs({}).parameters, experts: 0, separateHead: true },
    });
    const only = stageMemory(m, 0);
    const params = 32 * (1e8 + 3e8) + 2 * 5e8;
    // 2 B × (two layers of 1e8 + 3e8, plus the embedding and the output layer of 5e8 each)
    expect(only.weights).toBe(stateBytes(params, 'fsdp', 8).weights + 2 * 2 * (1e8 + 3e8) + 2 * 2 * 5e8);
  });

  it('torchtitan last stage: the larger of loss and working set, plus every micro-batch’s BF16 output logits', () => {
    const loss = 12e8; // 12 B per logit: 1e8 logits per micro-batch
    const m = inputs({
      sharding: 'fsdp',
      stackMemory: titanMemory,
      layers: [10, 10],
      logitsBytes: loss,
      activations: { dense: 2e8, moe: 3e8, fullWorkingSet: 5e8 },
    });
    const last = stageMemory(m, 1);
    // 1F1B last stage: one micro-batch in flight; max(1.2e9, 5e8); 16 micro-batches × 1e8 logits × 2 B.
    expect(last.activations).toBe(10 * 2e8 + 12e8 + 16 * 1e8 * 2);
    // Megatron-Core (no stack memory): the working set and the logits add, no outputs kept.
    const megatron = stageMemory({ ...m, stackMemory: undefined }, 1);
    expect(megatron.activations).toBe(10 * 2e8 + 12e8 + 5e8);
  });

  it('allocator-reserved stacks report the live tensors plus the cached share; Megatron-Core reports the total', () => {
    const m = inputs({ sharding: 'fsdp', stackMemory: titanMemory, layers: [10, 10] });
    const last = stageMemory(m, 1);
    const tensors = last.weights + last.gradients + last.optimizer + last.activations;
    expect(last.reported).toBeCloseTo(1.25 * tensors, 0);
    expect(last.total).toBeCloseTo((last.reported ?? 0) + last.buffers + 0.03 * 80 * 2 ** 30, 0);
    const megatron = stageMemory(inputs({}), 3);
    expect(megatron.reported).toBe(megatron.total);
  });

  it('the busiest stage is the one whose breakdown needs the most (same formula)', () => {
    const stage = fc.record({
      pp: fc.integer({ min: 1, max: 24 }),
      layers: fc.integer({ min: 24, max: 130 }),
      moeEvery: fc.integer({ min: 0, max: 3 }),
      microBatches: fc.integer({ min: 1, max: 64 }),
      virtualStages: fc.constantFrom(1, 2),
      sharding: fc.constantFrom('none', 'zero1', 'zero2', 'zero3', 'fsdp' as const),
      titan: fc.boolean(),
      workingSet: fc.double({ min: 0, max: 1e10, noNaN: true }),
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
          activations: { dense: 2e8, moe: 3e8, fullWorkingSet: c.workingSet },
          ...(c.titan && { stackMemory: titanMemory }),
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
