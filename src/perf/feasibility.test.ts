import { describe, expect, it } from 'vitest';
import { loadSpec } from '../spec/load.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { checkPlan, outOfMemory, plainIssue } from './feasibility.js';
import type { MemoryBreakdown } from './memory.js';

function spec(plan: string): Required<Pick<ResolvedSpec, 'workload' | 'system' | 'plan'>> {
  const loaded = loadSpec(
    `workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 64 } } }
system: { accelerator: h100-sxm, gpuCount: 8 }
plan: ${plan}`,
    'yaml',
  );
  if (!loaded.ok || !loaded.value.system || !loaded.value.plan) throw new Error(JSON.stringify(loaded));
  return { workload: loaded.value.workload, system: loaded.value.system, plan: loaded.value.plan };
}

describe('checkPlan', () => {
  it('a degree that is not a positive integer has its own code, reported alone', () => {
    const s = spec('{ tp: 2, pp: 2, dp: 2 }');
    for (const tp of [0, 1.5, -2]) {
      const issues = checkPlan(s.workload, s.system, { ...s.plan, tp });
      expect(issues).toEqual([{ code: 'invalid_degree', path: 'plan.tp', message: expect.stringContaining(`${tp}`) }]);
    }
    const micro = checkPlan(s.workload, s.system, { ...s.plan, microBatch: 0.5 });
    expect(micro.map((i) => [i.code, i.path])).toEqual([['invalid_degree', 'plan.microBatch']]);
  });

  it('a wrong GPU count stays gpu_count', () => {
    const s = spec('{ tp: 2, pp: 2, dp: 2 }');
    const issues = checkPlan(s.workload, s.system, { ...s.plan, dp: 4 });
    expect(issues.map((i) => i.code)).toEqual(['gpu_count']);
  });
});

describe('out of memory', () => {
  const GiB = 2 ** 30;
  const memory: MemoryBreakdown = {
    weights: 10 * GiB,
    gradients: 10 * GiB,
    optimizer: 60 * GiB,
    activations: 5 * GiB,
    buffers: 1.5 * GiB,
    reserve: 2.4 * GiB,
    total: 88.9 * GiB,
    capacity: 80 * GiB,
    stage: 0,
  };
  const message =
    'needs 88.9 GiB per GPU on pipeline stage 1 of 4, the GPU has 80.0 GiB (weights 10.0, gradients 10.0, optimizer 60.0, activations 5.0, buffers and reserve 3.9)';

  it('names the stage and the breakdown', () => {
    const issue = outOfMemory(memory, 4);
    expect([issue.code, issue.path, issue.message]).toEqual(['out_of_memory', 'plan', message]);
  });

  it('JSON and plainIssue carry the message as plain data (structured clone alone would drop it)', () => {
    const issue = outOfMemory(memory, 4);
    const plain = { code: 'out_of_memory', path: 'plan', message };
    expect(JSON.parse(JSON.stringify(issue))).toEqual(plain);
    expect(structuredClone(plainIssue(issue))).toEqual(plain);
    expect((structuredClone(issue) as { message?: string }).message).toBeUndefined(); // the trap plainIssue avoids
  });
});
