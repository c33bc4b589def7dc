import { describe, expect, it } from 'vitest';
import { MODEL_PRESETS } from '../catalog/models.js';
import { resolveModel } from '../spec/resolve.js';
import { type ModelInput, ModelSchema } from '../spec/workload.js';
import { countMoeLayers, countParameters, flopsPerToken } from './model-size.js';

const model = (input: ModelInput) => resolveModel(ModelSchema.parse(input));
const preset = (id: string) => {
  const found = MODEL_PRESETS.find((p) => p.id === id);
  if (!found) throw new Error(`no preset ${id}`);
  return found;
};

describe('parameter counts against published totals', () => {
  // Acceptance: every preset's total within 1% of the figure its authors publish.
  it.each(MODEL_PRESETS.map((p) => [p.id, p] as const))('%s total within 1%% of the published figure', (_, p) => {
    const counts = countParameters(model(p.model));
    const published = p.published.totalParamsB.value * 1e9;
    expect(Math.abs(counts.total - published) / published).toBeLessThan(0.01);
  });

  it('Mixtral 8x7B: 46.7B total and 12.9B active (Mistral counts every parameter a token touches)', () => {
    const counts = countParameters(model(preset('mixtral-8x7b').model));
    expect(Math.abs(counts.total / 46.7e9 - 1)).toBeLessThan(0.01);
    expect(Math.abs(counts.active / 12.9e9 - 1)).toBeLessThan(0.01);
  });

  it('DeepSeek-V3: 671B total; 37B active counts the parameters in matmuls', () => {
    const counts = countParameters(model(preset('deepseek-v3').model));
    expect(Math.abs(counts.total / 671e9 - 1)).toBeLessThan(0.01);
    // "37B" has two significant digits: our count must round to it, and it lands 1.0% below it.
    expect(Math.round(counts.activeMatmul / 1e9)).toBe(37);
    expect(Math.abs(counts.activeMatmul / 37e9 - 1)).toBeLessThan(0.011);
  });
});

describe('parameter counts by hand', () => {
  it('Llama 3 8B per-layer terms (hand-computed from Table 3 of arXiv:2407.21783)', () => {
    const counts = countParameters(model(preset('llama3-8b').model));
    // q 4096x4096 + k,v 2 x 4096x1024 + o 4096x4096
    expect(counts.attentionPerLayer).toBe(4096 * 4096 * 2 + 2 * 4096 * 1024);
    // SwiGLU: gate, up and down, 3 x 4096 x 14336
    expect(counts.denseMlpPerLayer).toBe(3 * 4096 * 14336);
    expect(counts.embedding).toBe(128256 * 4096);
    expect(counts.lmHead).toBe(128256 * 4096);
    expect(counts.total).toBe(32 * (41943040 + 176160768) + 2 * 525336576 + (32 * 2 + 1) * 4096);
  });

  it('a tiny GPT-2-style model, every parameter counted by hand', () => {
    // h=8, 2 layers, 2 heads, ffn 32, vocab 10, learned positions 4, LayerNorm, biases, tied embeddings.
    const tiny = model({
      name: 'tiny',
      layers: 2,
      hiddenSize: 8,
      heads: 2,
      ffnHiddenSize: 32,
      gatedMlp: false,
      vocabSize: 10,
      tiedEmbeddings: true,
      positionEmbedding: 'learned',
      maxPositions: 4,
      normalization: 'layernorm',
      linearBias: true,
    });
    const attention = 4 * 8 * 8 + 4 * 8; // QKVO weights + biases
    const mlp = 2 * 8 * 32 + 32 + 8; // two matrices + biases
    const norms = 2 * 2 * (2 * 8) + 2 * 8; // two LayerNorms per layer + final, gain and bias
    const counts = countParameters(tiny);
    expect(counts.total).toBe(2 * (attention + mlp) + norms + 10 * 8 + 4 * 8);
    expect(counts.activeMatmul).toBe(counts.total - 4 * 8); // tied head still multiplies; positions do not
  });

  it('MoE layer placement: first dense layers and interval', () => {
    const base: ModelInput = {
      name: 'moe',
      layers: 10,
      hiddenSize: 8,
      heads: 2,
      ffnHiddenSize: 16,
      vocabSize: 10,
      moe: { experts: 4, topK: 1, expertFfnHiddenSize: 8 },
    };
    expect(countMoeLayers(model(base))).toBe(10);
    expect(
      countMoeLayers(model({ ...base, moe: { experts: 4, topK: 1, expertFfnHiddenSize: 8, firstDenseLayers: 3 } })),
    ).toBe(7);
    expect(
      countMoeLayers(model({ ...base, moe: { experts: 4, topK: 1, expertFfnHiddenSize: 8, layerInterval: 2 } })),
    ).toBe(5);
  });
});

describe('FLOPs per token', () => {
  it('dense model: 6N + 12·L·h·s (PaLM appendix B), GPT-3 by hand', () => {
    const gpt3 = model(preset('gpt3-175b').model);
    const counts = countParameters(gpt3);
    const flops = flopsPerToken(gpt3, 2048);
    expect(flops.dense).toBe(6 * counts.activeMatmul);
    expect(flops.attention).toBe(12 * 96 * 12288 * 2048);
    // Megatron's per-iteration formula 72·B·s·l·h²·(1 + s/6h + V/(12·h·l)) (Narayanan et al. 2021 eq. 3)
    // counts the same model without biases, norms and positions: agree within 0.5%.
    const megatronPerToken = 72 * 96 * 12288 ** 2 * (1 + 2048 / (6 * 12288) + 50257 / (12 * 12288 * 96));
    expect(Math.abs(flops.total / megatronPerToken - 1)).toBeLessThan(0.005);
  });

  it('MoE model: only routed experts a token uses count', () => {
    const mixtral = model(preset('mixtral-8x7b').model);
    const counts = countParameters(mixtral);
    expect(flopsPerToken(mixtral, 4096).dense).toBe(6 * counts.activeMatmul);
    expect(counts.activeMatmul).toBeLessThan(counts.total / 3);
  });
});
