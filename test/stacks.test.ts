import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STACKS, stackOfFramework } from '../src/catalog/stacks.js';
import { type Estimate, estimate, stackPlan } from '../src/perf/estimate.js';
import { recomputedMatmulShare } from '../src/perf/layer-costs.js';
import { loadSpec } from '../src/spec/load.js';
import type { ResolvedSpec } from '../src/spec/resolve.js';

function spec(plan: string): ResolvedSpec & Required<Pick<ResolvedSpec, 'system' | 'plan'>> {
  const result = loadSpec(
    `
workload: { model: llama3-70b, training: { totalTokens: 1T, sequenceLength: 4096, globalBatch: { sequences: 64 } } }
system: { accelerator: h100-sxm, gpuCount: 64 }
plan: ${plan}
`,
    'yaml',
  );
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  const { system, plan: resolved } = result.value;
  if (!system || !resolved) throw new Error('spec needs system and plan');
  return { ...result.value, system, plan: resolved };
}

function ok(s: ReturnType<typeof spec>): Estimate {
  const result = estimate(s.workload, s.system, s.plan);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result;
}

describe('software stacks as data', () => {
  it('every framework named in the shipped calibration files maps to a profile', () => {
    const root = join(import.meta.dirname, '..', 'data', 'calibration');
    const frameworks = new Set<string>();
    for (const file of ['published-runs.calibration.json', 'published-runs.pytorch.json']) {
      for (const row of JSON.parse(readFileSync(join(root, file), 'utf8')) as { framework?: string }[]) {
        if (row.framework) frameworks.add(row.framework);
      }
    }
    const unmapped = [...frameworks].filter((framework) => stackOfFramework(framework) === undefined);
    expect(unmapped).toEqual([]);
    expect(stackOfFramework('Composer + PyTorch FSDP (llm-foundry)')).toBe('pytorch-fsdp');
    expect(stackOfFramework('torchtitan (FSDP2/DTensor)')).toBe('torchtitan');
    expect(stackOfFramework('Megatron-LM (2021)')).toBe('megatron-lm-2021');
    expect(stackOfFramework('a framework nobody heard of')).toBeUndefined();
  });

  it('naming megatron-core changes nothing: no stack is today’s model', () => {
    const plan = '{ tp: 8, pp: 2, microBatch: 1 }';
    const without = ok(spec(plan));
    const named = ok(spec(plan.replace('}', ', stack: megatron-core }')));
    expect(named.step.seconds).toBe(without.step.seconds);
  });

  it('a stack without TP overlap or sequence parallelism switches them off (Megatron-LM 2021)', () => {
    const s = spec('{ tp: 8, pp: 2, microBatch: 1, stack: megatron-lm-2021, overlap: { tpComm: true } }');
    const plan = stackPlan(s.plan);
    expect(STACKS['megatron-lm-2021'].overlaps.tpComm).toBe(false);
    expect(plan.overlap.tpComm).toBe(false);
    expect(plan.sequenceParallel).toBe(false);
    expect(plan.flashAttention).toBe(false); // its unfused attention core
    // Exposed TP communication and the unfused core make the same layout slower than on Megatron-Core.
    const core = ok(spec('{ tp: 8, pp: 2, microBatch: 1, overlap: { tpComm: true } }'));
    expect(ok(s).step.seconds).toBeGreaterThan(core.step.seconds);
  });

  it('the plan overrides a stack default: the kernel and the GEMM efficiency', () => {
    const fsdp = '{ tp: 1, dp: 64, sharding: fsdp, recomputation: full, stack: pytorch-fsdp';
    const base = ok(spec(`${fsdp} }`));
    const faster = ok(spec(`${fsdp}, attentionKernel: flash-attention-3 }`));
    expect(faster.step.seconds).toBeLessThan(base.step.seconds);
    // Halving the GEMM rate at least doubles nothing but GEMM time: the step grows, by less than 2×.
    const half = ok(spec(`${fsdp}, gemmEfficiency: ${STACKS['pytorch-fsdp'].gemmEfficiency.bf16 / 2} }`));
    expect(half.step.seconds / base.step.seconds).toBeGreaterThan(1.3);
    expect(half.step.seconds / base.step.seconds).toBeLessThan(2);
  });

  it('per-operator selective checkpointing recomputes wk, wo and w3: 19,456 of 53,248 weight columns on Llama 3 8B', () => {
    const loaded = loadSpec(
      'workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 64 } } }',
      'yaml',
    );
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    // h 4096, 32 query heads and 8 KV heads of 128, SwiGLU 14336 (Llama 3 8B): call order wq wk wv wo w1 w3 w2, the
    // 2nd, 4th and 6th recomputed: (1024 + 4096 + 14336) / (2·4096 + 2·1024 + 3·14336), all times h.
    expect(recomputedMatmulShare(loaded.value.workload.model, false)).toBeCloseTo(19456 / 53248, 12);
  });

  it("torchtitan's selective recompute costs more than Megatron's and less than full recomputation", () => {
    const step = (stack: string, recomputation: string) =>
      ok(
        spec(
          `{ tp: 4, dp: 16, sharding: fsdp, microBatch: 1, recomputation: ${recomputation}, stack: ${stack}, attentionKernel: flash-attention-2, gemmEfficiency: 1 }`,
        ),
      ).step.compute; // compute seconds: at 64 GPUs the FSDP link, not compute, can set the step
    // Megatron's selective recompute is free under flash attention (Korthikanti et al. 2022 sec. 5).
    expect(step('megatron-core', 'selective')).toBeCloseTo(step('megatron-core', 'none'), 9);
    const perOp = step('torchtitan', 'selective');
    expect(perOp).toBeGreaterThan(step('torchtitan', 'none'));
    const none = step('torchtitan', 'none');
    // Recomputing 36.5% of the matmuls and the element-wise kernels: more than a tenth of full recomputation's extra
    // (all of the forward), and less than all of it.
    expect(perOp - none).toBeGreaterThan(0.1 * (step('torchtitan', 'full') - none));
    expect(perOp).toBeLessThan(step('torchtitan', 'full'));
  });
});
