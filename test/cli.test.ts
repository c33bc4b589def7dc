import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { reportError } from '../src/cli/errors.js';
import { createOutput } from '../src/node/output.js';
import { run } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokenworks-cli-'));
});

async function specFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('tokenworks check', () => {
  it('prints the size of the Llama 3 405B job', async () => {
    const { code, stdout, stderr } = await run('check', 'examples/llama3-405b.yaml');
    // The spec's 90-day deadline is checked against its own plan (160 days in the model): a warning, not an error.
    expect(stderr).toMatch(
      /^warning: examples\/llama3-405b.yaml: constraints.deadlineDays: the deadline binds: this plan trains in 1\d\d days, \d+% over the 90-day deadline\n$/,
    );
    expect(code).toBe(0);
    expect(stdout).toContain('valid');
    expect(stdout).toContain('406 B total (published 405 B');
    expect(stdout).toContain('8,192 × H100 SXM5 80GB');
    expect(stdout).toContain('TP 8 · PP 16 · DP 64');
  });

  it('--json gives the resolved spec and the summary', async () => {
    const { code, stdout } = await run('check', 'examples/deepseek-v3-h800.yaml', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.valid).toBe(true);
    expect(report.spec.system.accelerator.id).toBe('h800-sxm');
    expect(report.summary.parameters.total / 1e9).toBeCloseTo(671, 0);
    // total compute = FLOPs per token x tokens
    expect(report.summary.trainingFlops).toBeCloseTo(report.summary.flopsPerToken.total * 14.8e12, -10);
  });

  it('a missing file exits 2 with the path and no stack trace', async () => {
    const { code, stderr } = await run('check', join(dir, 'nope.yaml'));
    expect(code).toBe(2);
    expect(stderr).toContain('file not found');
    expect(stderr).toContain('nope.yaml');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('a directory exits 2', async () => {
    const { code, stderr } = await run('check', dir);
    expect(code).toBe(2);
    expect(stderr).toContain('is a directory');
  });

  it('bad YAML exits 2 with the line', async () => {
    const file = await specFile('syntax.yaml', 'workload:\n  model: llama3-8b\n  training: [1, 2\n');
    const { code, stderr } = await run('check', file);
    expect(code).toBe(2);
    expect(stderr).toMatch(/syntax.yaml: YAML syntax error: .*line \d+/);
  });

  it('prints one line per problem, each naming the file, the field and the value', async () => {
    const file = await specFile(
      'bad.yaml',
      [
        'workload:',
        '  model: { name: x, layers: 4, hiddenSize: 512, heads: 8, kvHeads: 3, ffnHiddenSize: 1024, vocabSize: 1000 }',
        '  training: { totalTokens: 1T, sequenceLength: 2048, globalBatch: { sequences: 8 } }',
        'system: { accelerator: h10, gpuCount: -8 }',
      ].join('\n'),
    );
    const { code, stdout, stderr } = await run('check', file);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.every((line) => line.startsWith(`${file}: `))).toBe(true);
    expect(stderr).toMatch(/workload\.model\.kvHeads: .*valid kvHeads: 1, 2, 4, 8 \(got 3\)/);
    expect(stderr).toMatch(/system\.gpuCount: must be greater than 0, got -8/);
    expect(stderr).toMatch(/system\.accelerator: unknown accelerator "h10"; did you mean "h100-sxm"/);
  });

  it('unknown commands and options exit 2', async () => {
    expect((await run('chek', 'x')).code).toBe(2);
    expect((await run('check', 'examples/llama3-8b.yaml', '--frobnicate')).code).toBe(2);
  });

  it('--help and --version exit 0', async () => {
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('check');
    expect((await run('--version')).code).toBe(0);
  });
});

describe('tokenworks catalog', () => {
  it('lists accelerators with dense peaks', async () => {
    const { code, stdout } = await run('catalog', 'accelerators');
    expect(code).toBe(0);
    expect(stdout).toMatch(/h100-sxm\s+H100 SXM5 80GB\s+989\.4\s+1979/);
  });

  it('lists every kind without an argument', async () => {
    const { stdout } = await run('catalog');
    for (const heading of ['Accelerators', 'Fabrics', 'Facilities', 'Models']) expect(stdout).toContain(heading);
  });

  it('shows one entry with the source of each figure, found by alias', async () => {
    const { code, stdout } = await run('catalog', 'accelerators', 'h100');
    expect(code).toBe(0);
    expect(stdout).toMatch(/peakTflops\.bf16\s+989\.4 TFLOP\/s dense .*\[https:\/\/glennklockwood\.com/);
  });

  it('--json returns the sourced entries', async () => {
    const { stdout } = await run('catalog', 'fabrics', '--json');
    const fabrics = JSON.parse(stdout);
    expect(fabrics.map((f: { id: string }) => f.id)).toContain('ndr-ib');
    expect(fabrics[0].switch.radix.source).toMatch(/nvidia/);
  });

  it('an unknown kind or id exits 2 with the valid choices', async () => {
    const kind = await run('catalog', 'gpus');
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain('accelerators, fabrics, facilities, models');
    const id = await run('catalog', 'models', 'lama3-70b');
    expect(id.code).toBe(2);
    expect(id.stderr).toContain('did you mean "llama3-70b"');
  });
});

describe('error reporting', () => {
  it('an internal error exits 1 with a short message, the stack only with --debug', () => {
    let text = '';
    const output = createOutput({ stdout: { write: () => true }, stderr: { write: (t: string) => (text += t) } });
    expect(reportError(new Error('boom'), output, false)).toBe(1);
    expect(text).toContain('internal error: boom');
    expect(text).not.toMatch(/\n\s+at /);
    text = '';
    expect(reportError(new Error('boom'), output, true)).toBe(1);
    expect(text).toMatch(/\n\s+at /);
  });
});

describe('tokenworks estimate', () => {
  it('prints the Llama 3 405B prediction on 8,192 H100', async () => {
    const { code, stdout } = await run('estimate', 'examples/llama3-405b.yaml');
    expect(code).toBe(0);
    expect(stdout).toMatch(/model TFLOP\/s per GPU\s+\d+ \(MFU \d+\.\d%/);
    expect(stdout).toContain('pipeline bubble');
    expect(stdout).toMatch(/memory per GPU/);
  });

  it('--json carries the breakdowns', async () => {
    const { stdout } = await run('estimate', 'examples/llama3-70b.yaml', '--json');
    const result = JSON.parse(stdout);
    expect(result.ok).toBe(true);
    expect(result.step.seconds).toBeGreaterThan(0);
    expect(result.memory.total).toBeLessThan(result.memory.capacity);
  });

  it('an infeasible plan exits 2 with the reason', async () => {
    const file = await specFile(
      'oom.yaml',
      `workload: { model: llama3-405b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 8 } } }
system: { accelerator: h100-sxm, gpuCount: 8 }
plan: { tp: 8, pp: 1, dp: 1 }`,
    );
    const { code, stderr } = await run('estimate', file);
    expect(code).toBe(2);
    expect(stderr).toMatch(/plan: needs \d+\.\d GiB per GPU/);
  });

  it('a spec without a plan is told what is missing', async () => {
    const file = await specFile(
      'noplan.yaml',
      `workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 8 } } }
system: { accelerator: h100-sxm, gpuCount: 8 }`,
    );
    const { code, stderr } = await run('estimate', file);
    expect(code).toBe(2);
    expect(stderr).toContain('plan');
  });
});

describe('tokenworks validate', () => {
  it('--json gives one object per row with the comparison and the summary', async () => {
    const { code, stdout } = await run('validate', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    const row = report.rows[0];
    for (const key of ['id', 'metric', 'measured', 'predicted', 'absPctError']) expect(row).toHaveProperty(key);
    expect(report.summary.medianPct).toBeGreaterThan(0);
  });

  it('reads any file of the row format, with extra keys, and lists rows it cannot express', async () => {
    const file = await specFile(
      'runs.json',
      JSON.stringify([
        {
          id: 'mine',
          source: 'my cluster',
          model_name: 'LLAMA3_8B',
          arch: 'dense',
          layers: 32,
          hidden: 4096,
          heads: 32,
          kv_heads: 8,
          ffn_hidden: 14336,
          vocab: 128256,
          seq_len: 8192,
          global_batch_sequences: 128,
          micro_batch: 1,
          gpu_type: 'H100',
          num_gpus: 8,
          gpus_per_node: 8,
          tp: 1,
          pp: 1,
          precision: 'bf16',
          tokens_per_sec_per_gpu: 10000,
          my_extra_key: 'kept',
        },
        { id: 'hybrid', source: 'x', model_name: 'Nemotron_3_Nano', arch: 'moe', tokens_per_sec_per_gpu: 1 },
      ]),
    );
    const { code, stdout } = await run('validate', '--runs', file, '--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.rows.map((r: { id: string }) => r.id)).toEqual(['mine']);
    expect(report.skipped[0].id).toBe('hybrid');
    expect(report.skipped[0].reason).toMatch(/Mamba/);
  });

  it('a file that is not a JSON array exits 2', async () => {
    const file = await specFile('bad.json', '{"rows": []}');
    const { code, stderr } = await run('validate', '--runs', file);
    expect(code).toBe(2);
    expect(stderr).toContain('JSON array');
  });
});

describe('tokenworks plan', () => {
  it('searches plans on the spec system, designs the factory and writes an HTML report', async () => {
    const report = join(dir, 'plan.html');
    const { code, stdout } = await run('plan', 'examples/llama3-8b.yaml', '--top', '3', '--report', report);
    expect(code).toBe(0);
    expect(stdout).toMatch(/layouts, \d[\d,]* feasible/);
    expect(stdout).toContain('bill of materials');
    expect(stdout).toContain('$ per million tokens');
    const html = await readFile(report, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3)/); // self-contained: no scripts, no external resources
    expect(html).toContain('Bill of materials');
  });

  it('--json holds the chosen plan, its estimate, network parts per tier, power and cost', async () => {
    const { stdout } = await run('plan', 'examples/llama3-8b.yaml', '--top', '2', '--json');
    const outcome = JSON.parse(stdout);
    expect(outcome.chosen.plan.tp).toBeGreaterThanOrEqual(1);
    expect(outcome.chosen.estimate.ok).toBe(true);
    for (const key of ['leaves', 'spines', 'cores', 'hostLinks', 'transceivers'])
      expect(outcome.chosen.factory.fabric).toHaveProperty(key);
    expect(outcome.chosen.factory.powerKW.facility).toBeGreaterThan(outcome.chosen.factory.powerKW.it);
    expect(outcome.chosen.factory.costUSD.capex).toBeGreaterThan(0);
  });

  it('an impossible deadline says which constraint binds and by how much, with exit 2', async () => {
    const file = await specFile(
      'deadline.yaml',
      `workload: { model: llama3-405b, training: { totalTokens: 15.6T, sequenceLength: 8192, globalBatch: { sequences: 2048 }, precision: fp8 } }
constraints: { deadlineDays: 1, maxGpus: 4096 }`,
    );
    const { code, stdout, stderr } = await run('plan', file);
    expect(code).toBe(2);
    expect(stdout).toContain('No design meets the constraints');
    expect(stderr).toMatch(/the deadline binds: the fastest design .* needs [\d.]+ days, (\d+%|[\d.]+×) over 1 days?/);
  });

  it('a power cap below one rack names the cap and the smallest draw', async () => {
    const file = await specFile(
      'power.yaml',
      `workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 512 } } }
constraints: { powerCapMW: 0.01, maxGpus: 256 }`,
    );
    const { code, stderr } = await run('plan', file);
    expect(code).toBe(2);
    expect(stderr).toMatch(/the power cap binds: .* needs [\d.]+ MW at full draw, (\d+%|[\d.]+×) over 0.01 MW/);
  });
});

describe('tokenworks plan, awkward sizes', () => {
  it('a best plan with an odd pipeline depth is explained, not crashed on', async () => {
    const file = await specFile(
      'odd.yaml',
      `workload: { model: llama3-405b, training: { totalTokens: 15T, sequenceLength: 8192, globalBatch: { sequences: 2048 } } }
system: { accelerator: h100-sxm, gpuCount: 3072 }`,
    );
    const { code, stdout } = await run('plan', file, '--top', '1', '--threads', '1');
    expect(code).toBe(0);
    expect(stdout).toMatch(/Chosen: 3,072 × H100/);
  });

  it('a GPU count no layout can use says why, naming the system', async () => {
    const file = await specFile(
      'awkward.yaml',
      `workload: { model: llama3-70b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 512 } } }
system: { accelerator: h100-sxm, gpuCount: 768 }`,
    );
    const { code, stderr } = await run('plan', file, '--threads', '1');
    expect(code).toBe(2);
    expect(stderr).toMatch(/system: no layout of 768 GPUs splits the 512-sequence batch/);
  });
});
