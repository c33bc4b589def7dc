import { describe, expect, it } from 'vitest';
import type { SpecIssue } from './issues.js';
import { loadSpec } from './load.js';

const base = `
workload:
  model: llama3-8b
  training:
    totalTokens: 1T
    sequenceLength: 8192
    globalBatch: { sequences: 512 }
system:
  accelerator: h100-sxm
  gpuCount: 64
plan:
  tp: 2
  pp: 1
`;

function issuesOf(text: string, format: 'yaml' | 'json' = 'yaml'): SpecIssue[] {
  const result = loadSpec(text, format);
  if (result.ok) throw new Error('expected the spec to be rejected');
  return result.issues;
}

function issueAt(issues: SpecIssue[], path: string): SpecIssue {
  const issue = issues.find((candidate) => candidate.path === path);
  if (!issue) throw new Error(`no issue at ${path}; got ${issues.map((i) => `${i.path}: ${i.message}`).join(' | ')}`);
  return issue;
}

describe('loadSpec accepts good specs', () => {
  it('resolves catalog ids and fills defaults', () => {
    const result = loadSpec(base, 'yaml');
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const spec = result.value;
    expect(spec.workload.model.kvHeads).toBe(8);
    expect(spec.workload.model.headDim).toBe(128);
    expect(spec.workload.training.totalTokens).toBe(1e12);
    expect(spec.workload.training.globalBatchTokens).toBe(512 * 8192);
    expect(spec.system?.accelerator.peakTflops.bf16).toBeCloseTo(989.4);
    expect(spec.system?.scaleUp.domainSize).toBe(8);
    expect(spec.system?.nodes).toBe(8);
    expect(spec.plan?.dp).toBe(32); // 64 / (tp 2 · pp 1 · cp 1)
    expect(spec.plan?.sequenceParallel).toBe(true); // Megatron default once tp > 1
  });

  it('reads JSON as well as YAML', () => {
    const json = JSON.stringify({
      workload: {
        model: 'llama3-8b',
        training: { totalTokens: '15T', sequenceLength: 8192, globalBatch: { tokens: '16M' } },
      },
    });
    const result = loadSpec(json.replace('"16M"', '16777216'), 'json');
    expect(result.ok).toBe(true);
  });

  it('derives the number of switch tiers from the radix: 2(k/2)^L endpoints (hardware-catalog.md 2.2)', () => {
    const tiers = (gpus: number) => {
      const result = loadSpec(
        base.replace('gpuCount: 64', `gpuCount: ${gpus}\n  scaleOut: { fabric: ndr-ib }`),
        'yaml',
      );
      if (!result.ok) throw new Error(JSON.stringify(result.issues));
      return result.value.system?.scaleOut.tiers;
    };
    expect(tiers(64)).toBe(1); // one 64-port switch
    expect(tiers(2048)).toBe(2); // 64²/2
    expect(tiers(2056)).toBe(3);
    expect(tiers(65536)).toBe(3); // 64³/4
  });
});

describe('loadSpec rejects bad input with the field, the value and what is valid', () => {
  it('YAML syntax errors give the line', () => {
    const [issue] = issuesOf('workload:\n  model: llama3-8b\n  training: [1, 2\n');
    expect(issue?.code).toBe('yaml_syntax');
    expect(issue?.message).toMatch(/line \d+/);
  });

  it('JSON syntax errors are reported', () => {
    expect(issuesOf('{"workload": ', 'json')[0]?.code).toBe('json_syntax');
  });

  it('an empty document or a list is not a spec', () => {
    expect(issuesOf('')[0]?.message).toMatch(/workload/);
    expect(issuesOf('- 1\n- 2\n')[0]?.message).toMatch(/mapping/);
  });

  it('missing required fields name the path', () => {
    const issues = issuesOf('workload:\n  model: llama3-8b\n');
    expect(issueAt(issues, 'workload.training').message).toMatch(/required/);
  });

  it('wrong types name the path, the expected type and the value', () => {
    const issue = issueAt(issuesOf(base.replace('gpuCount: 64', 'gpuCount: many')), 'system.gpuCount');
    expect(issue.message).toContain('expected a number');
    expect(issue.message).toContain('"many"');
  });

  it('negative counts are rejected', () => {
    const issue = issueAt(issuesOf(base.replace('tp: 2', 'tp: -2')), 'plan.tp');
    expect(issue.message).toMatch(/greater than 0/);
    expect(issue.value).toBe(-2);
  });

  it('non-integer counts are rejected', () => {
    const issue = issueAt(issuesOf(base.replace('gpuCount: 64', 'gpuCount: 64.5')), 'system.gpuCount');
    expect(issue.message).toMatch(/integer/);
  });

  it('heads not divisible by kv heads lists the valid kv heads', () => {
    const inline = base.replace(
      'model: llama3-8b',
      'model: { name: x, layers: 4, hiddenSize: 512, heads: 8, kvHeads: 3, ffnHiddenSize: 1024, vocabSize: 1000 }',
    );
    const issue = issueAt(issuesOf(inline), 'workload.model.kvHeads');
    expect(issue.message).toContain('1, 2, 4, 8');
    expect(issue.value).toBe(3);
  });

  it('unknown accelerator ids suggest the closest catalog ids', () => {
    const issue = issueAt(
      issuesOf(base.replace('accelerator: h100-sxm', 'accelerator: h100-sxn')),
      'system.accelerator',
    );
    expect(issue.code).toBe('unknown_id');
    expect(issue.message).toContain('did you mean "h100-sxm"');
  });

  it('unknown model ids suggest presets', () => {
    const issue = issueAt(issuesOf(base.replace('model: llama3-8b', 'model: llama3-7b')), 'workload.model');
    expect(issue.message).toContain('llama3-8b');
  });

  it('misspelled fields suggest the right name', () => {
    const issue = issueAt(issuesOf(base.replace('gpuCount: 64', 'gpuCount: 64\n  gpusPerNod: 8')), 'system.gpusPerNod');
    expect(issue.code).toBe('unknown_key');
    expect(issue.message).toContain('"gpusPerNode"');
  });

  it('bad enum values list the valid ones', () => {
    const issue = issueAt(
      issuesOf(base.replace('globalBatch: { sequences: 512 }', 'globalBatch: { sequences: 512 }\n    precision: fp16')),
      'workload.training.precision',
    );
    expect(issue.message).toContain('"bf16", "fp8"');
  });

  it('FP8 on an accelerator without FP8 is refused', () => {
    const text = base
      .replace('accelerator: h100-sxm', 'accelerator: a100')
      .replace('globalBatch: { sequences: 512 }', 'globalBatch: { sequences: 512 }\n    precision: fp8');
    expect(issueAt(issuesOf(text), 'workload.training.precision').message).toMatch(/FP8/);
  });

  it('a GPU count that the plan cannot divide is refused', () => {
    const issue = issueAt(issuesOf(base.replace('pp: 1', 'pp: 3')), 'plan');
    expect(issue.message).toContain('tp·pp·cp = 6');
  });

  it('batch in tokens must be whole sequences', () => {
    const text = base.replace('globalBatch: { sequences: 512 }', 'globalBatch: { tokens: 10000 }');
    expect(issueAt(issuesOf(text), 'workload.training.globalBatch.tokens').message).toContain('8192');
  });

  it('reports several problems in one pass', () => {
    const text = base.replace('gpuCount: 64', 'gpuCount: -1').replace('tp: 2', 'tp: 0').replace('h100-sxm', 'h9000');
    expect(issuesOf(text).length).toBeGreaterThanOrEqual(2);
  });
});
