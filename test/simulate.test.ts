import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokenworks-simulate-'));
});

describe('tokenworks simulate', () => {
  it('runs a study of the Llama 3 case and writes the HTML report', async () => {
    const report = join(dir, 'twin.html');
    const { code, stdout, stderr } = await run(
      'simulate',
      'examples/llama3-405b-54d.yaml',
      '--replicas',
      '12',
      '--threads',
      '1',
      '--report',
      report,
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('16,384 × H100 SXM5 80GB, TP8 PP16 DP128');
    expect(stdout).toMatch(/checkpoint every 4\.\d+ min \(Young\/Daly\), blocking/);
    expect(stdout).toContain('Badput by cause');
    const html = await readFile(report, 'utf8');
    expect(html).toContain('aria-label="timeline"');
    expect(html).toContain('aria-label="ETTR distribution"');
    expect(html).toContain('aria-label="badput by cause"');
    expect(html).not.toMatch(/<script|https?:\/\//);
  });

  it('--json carries ettr, goodput, timeToTrainDays and unexpectedInterruptions as percentiles', async () => {
    const { code, stdout } = await run(
      'simulate',
      'examples/llama3-405b-54d.yaml',
      '--replicas',
      '5',
      '--seed',
      '9',
      '--threads',
      '1',
      '--json',
    );
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    for (const key of ['ettr', 'goodput', 'timeToTrainDays', 'unexpectedInterruptions']) {
      expect(Object.keys(out[key]).sort()).toEqual(['mean', 'p10', 'p50', 'p90']);
      expect(out[key].p10).toBeLessThanOrEqual(out[key].p50);
      expect(out[key].p50).toBeLessThanOrEqual(out[key].p90);
    }
    expect(out.replicas).toBe(5);
    expect(out.seed).toBe(9);
  });

  it('gives the same answer on worker threads as on one thread', async () => {
    const args = ['simulate', 'examples/llama3-405b-54d.yaml', '--replicas', '9', '--seed', '3', '--json'];
    const one = await run(...args, '--threads', '1');
    const two = await run(...args, '--threads', '2');
    expect(one.code).toBe(0);
    expect(two.stdout).toBe(one.stdout);
  }, 60_000);

  it('simulates the design that plan --json chose, and plan --simulate runs the twin itself', async () => {
    const planned = await run('plan', 'examples/llama3-70b.yaml', '--json', '--threads', '1');
    expect(planned.code).toBe(0);
    const design = join(dir, 'design.json');
    await writeFile(design, planned.stdout);
    const { code, stdout } = await run('simulate', design, '--replicas', '3', '--threads', '1', '--days', '7');
    expect(code).toBe(0);
    const chosen = JSON.parse(planned.stdout).chosen;
    const virtual = chosen.plan.virtualStages > 1 ? `×${chosen.plan.virtualStages}` : '';
    expect(stdout).toContain(`TP${chosen.plan.tp} PP${chosen.plan.pp}${virtual} DP${chosen.plan.dp}`);
    expect(stdout).toContain('7.00-day window');
    const both = await run('plan', 'examples/llama3-70b.yaml', '--simulate', '3', '--threads', '1', '--json');
    expect(both.code).toBe(0);
    expect(JSON.parse(both.stdout).simulation.replicas).toBe(3);
  }, 60_000);

  it('carries the precision a design search chose into the design document', async () => {
    const spec = join(dir, 'search.yaml');
    await writeFile(
      spec,
      `workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 512 }, precision: bf16 } }
constraints: { maxGpus: 256 }
`,
    );
    const planned = await run('plan', spec, '--precisions', 'bf16,fp8', '--json', '--threads', '1');
    expect(planned.code, planned.stderr).toBe(0);
    const out = JSON.parse(planned.stdout);
    const chosen = out.design.recommended;
    expect(out.spec.workload.training.precision).toBe(chosen.precision);
    // Simulating the document runs the same design: the same nominal throughput.
    const design = join(dir, 'search-design.json');
    await writeFile(design, planned.stdout);
    const simulated = await run('simulate', design, '--replicas', '1', '--days', '1', '--json', '--threads', '1');
    expect(simulated.code, simulated.stderr).toBe(0);
    expect(JSON.parse(simulated.stdout).design.tokensPerSecond).toBeCloseTo(chosen.estimate.tokensPerSecond, 6);
  }, 60_000);

  it('rejects bad twin settings and options with the field, the value and the fix', async () => {
    const spec = join(dir, 'bad.yaml');
    const text = await readFile('examples/llama3-405b-54d.yaml', 'utf8');
    await writeFile(
      spec,
      text.replace('    storageGBps: 2000', '    storageGBps: 2000\n  failures:\n    gpu: { ratePerYear: -0.1 }'),
    );
    const bad = await run('simulate', spec);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('twin.failures.gpu.ratePerYear');
    const spares = join(dir, 'spares.yaml');
    await writeFile(spares, `${text}  spares: { nodes: 0, policy: wait }\n`);
    const none = await run('simulate', spares);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('twin.spares.nodes');
    expect(none.stderr).toContain('policy: shrink');
    const usage = await run('simulate', 'examples/llama3-405b-54d.yaml', '--replicas', '0');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--replicas must be an integer from 1 to 100,000, got "0"');
  });
});
