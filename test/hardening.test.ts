/**
 * The repros of issue 10 ("no input hangs, crashes or prints NaN"), one by one: each must end with exit 2 and a
 * message naming the field (or flag), the value and what would be valid, or with a correct result. A repro that
 * hung before fails here by its timeout.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSpec } from '../src/spec/load.js';
import { run } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokenworks-hardening-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const BASE = `workload:
  model: llama3-8b
  training:
    totalTokens: 1T
    sequenceLength: 8192
    globalBatch: { sequences: 512 }
system:
  accelerator: h100-sxm
  gpuCount: 64
plan: { tp: 1, pp: 1 }
`;

async function spec(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** Asserts a user error: exit 2, no stack trace, no "internal error", every `expected` fragment on stderr. */
function expectUserError(result: { code: number; stderr: string; stdout: string }, ...expected: (string | RegExp)[]) {
  expect(result.code).toBe(2);
  expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
  for (const fragment of expected) {
    if (typeof fragment === 'string') expect(result.stderr).toContain(fragment);
    else expect(result.stderr).toMatch(fragment);
  }
}

const TWIN_54D = await readFile('examples/llama3-405b-54d.yaml', 'utf8');
const withTwin = (lines: string) => TWIN_54D.replace('twin:\n', `twin:\n${lines}`);

describe('hangs', () => {
  it.each([4.37, 7.77, 75.13])(
    'simulate with bucketMinutes %s finishes, its timeline covering the window',
    async (minutes) => {
      const file = await spec(`bucket-${minutes}.yaml`, withTwin(`  bucketMinutes: ${minutes}\n`));
      const result = await run('simulate', file, '--replicas', '2', '--threads', '1', '--json');
      expect(result.code).toBe(0);
      const outcome = JSON.parse(result.stdout);
      // 54 days in buckets of `minutes`: the timeline has ceil(54·1440/minutes) buckets (the run fills its window).
      expect(outcome.example.timeline.tokensPerSecond).toHaveLength(Math.ceil((54 * 1440) / minutes));
    },
  );

  it.each([1.23, 0.01, 1e-6])('bucketMinutes %s is refused with the smallest width that fits', async (minutes) => {
    const file = await spec(`bucket-small-${minutes}.yaml`, withTwin(`  bucketMinutes: ${minutes}\n`));
    const result = await run('simulate', file, '--replicas', '2');
    expectUserError(result, 'twin.bucketMinutes');
    // 54 days in at most 20,000 buckets: at least 54·1440/20,000 = 3.9, so 4 min (or the schema's floor).
    expect(result.stderr).toMatch(/use at least 4 min|must be at least 0.01/);
  });

  it('a straggler rate of 10^4 per host-year is refused by the event budget before the run starts', async () => {
    const file = await spec('stragglers.yaml', withTwin('  stragglers:\n    ratePerNodeYear: 10000\n'));
    const result = await run('simulate', file, '--replicas', '2');
    // 10^4 episodes per host-year × 2,048 hosts × 54 days × 2 events each ≈ 6.06 M events, over the 5 M budget.
    expectUserError(result, 'twin.stragglers.ratePerNodeYear', /6\.0\d M of them/, 'default is 0.5');
  });

  it('a checkpoint every 6 ms is refused by the same budget', async () => {
    const file = await spec(
      'checkpoints.yaml',
      TWIN_54D.replace('  checkpoint:\n', '  checkpoint:\n    intervalMinutes: 0.01\n'),
    );
    const result = await run('simulate', file, '--replicas', '2');
    // 54 days / 0.6 s × 2 events per blocking checkpoint = 15.6 M events.
    expectUserError(result, 'twin.checkpoint.intervalMinutes', /15\.\d M of them/);
  });

  it('32,000 keys are checked in one linear pass, and the output is capped', async () => {
    const keys = Array.from({ length: 32_000 }, (_, i) => `k${i}: 1\n`).join('');
    const file = await spec('keys.yaml', BASE + keys);
    const result = await run('check', file);
    expectUserError(result, 'k0: unknown field', '… and 31,980 more problems');
    expect(result.stderr.split('\n').length).toBeLessThan(25);
  });

  it('a duplicated key is reported with its line', async () => {
    const result = loadSpec(`${BASE}plan: { tp: 2 }\n`, 'yaml');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues[0]?.message).toMatch(/"plan" appears twice in one mapping, at line 11/);
  });
});

describe('crashes', () => {
  it('a --report folder that is missing or a folder itself is refused before any work, naming the path', async () => {
    const missing = await run('compare', 'examples/breakpoint.yaml', '--report', join(dir, 'nowhere', 'r.html'));
    expectUserError(missing, 'nowhere', 'does not exist');
    const folder = join(dir, 'folder.html');
    await mkdir(folder);
    const isFolder = await run('plan', 'examples/llama3-8b.yaml', '--report', folder);
    expectUserError(isFolder, 'is a folder');
  });

  it('a read-only --report folder is refused (when the user is not root)', async () => {
    const readOnly = join(dir, 'read-only');
    await mkdir(readOnly);
    await chmod(readOnly, 0o555);
    const result = await run('plan', 'examples/llama3-8b.yaml', '--report', join(readOnly, 'r.html'));
    if (process.getuid?.() === 0) {
      // Root may write anywhere: the report is written.
      expect(result.code).toBe(0);
      expect((await stat(join(readOnly, 'r.html'))).isFile()).toBe(true);
    } else expectUserError(result, 'is not writable');
  });

  it('--json into a reader that stops after 10 bytes ends quietly', () => {
    const child = spawnSync(
      'bash',
      [
        '-c',
        `set -o pipefail; node --import tsx -e "import('./src/cli/main.ts').then((m) => m.main(['catalog', 'accelerators', '--json']))" | head -c 10`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(child.stdout).toHaveLength(10);
    expect(child.stderr).not.toMatch(/EPIPE|Error/);
    expect(child.status).toBe(0);
  });

  it.each([
    [
      ['simulate', 'examples/llama3-405b-54d.yaml', '--replicas', '1e9'],
      '--replicas must be an integer from 1 to 100,000',
    ],
    [['plan', 'examples/llama3-8b.yaml', '--simulate', '1e9'], '--simulate must be an integer from 1 to 100,000'],
    [['plan', 'examples/llama3-8b.yaml', '--top', '0'], '--top must be an integer from 1 to 1,000'],
    [['compare', 'examples/breakpoint.yaml', '--sweep', '1..99999999'], 'at most 16,777,216 GPUs'],
    [['compare', 'examples/breakpoint.yaml', '--without', 'queue,spares'], 'unknown effect "spares"'],
  ])('%j is a usage error', async (argv, message) => {
    expectUserError(await run(...argv), message);
  });

  it('--threads above the cores is cut to them with a warning', async () => {
    const result = await run(
      'simulate',
      'examples/llama3-405b-54d.yaml',
      '--replicas',
      '2',
      '--days',
      '1',
      '--threads',
      '999',
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/warning: --threads 999 is more than the \d+ cores available; using \d+/);
  });

  it('an alias bomb and binary input are refused; loadSpec never throws', async () => {
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x]'];
    for (const name of ['b', 'c', 'd', 'e', 'f']) {
      const previous = String.fromCharCode(name.charCodeAt(0) - 1);
      bomb.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    const text = `${bomb.join('\n')}\n`;
    expectUserError(await run('check', await spec('bomb.yaml', text)), 'YAML aliases expand too far');
    expect(() => loadSpec(text, 'yaml')).not.toThrow();
    expectUserError(await run('check', await spec('binary.yaml', 'work\u0000load: 1\n')), 'NUL bytes');
  });
});

describe('nonsense is refused, not printed', () => {
  it.each([
    ['  scaleOut: { oversubscription: 1e308 }\n', 'system.scaleOut.oversubscription: must be at most 64'],
    ['  pricePerGpuUSD: 1e308\n', 'system.pricePerGpuUSD: must be at most 10,000,000'],
    ['  scaleUp: { bandwidthGBps: 1e400 }\n', 'expected a finite number, got Infinity'],
    [
      '  accelerator:\n    name: x\n    peakTflops: { bf16: 1000 }\n    hbmGiB: 1e308\n    hbmBandwidthGBps: 3000\n    scaleUpBandwidthGBps: 450\n    scaleUpDomainSize: 8\n',
      'system.accelerator.hbmGiB: must be at most 65,536',
    ],
  ])('system field %j', async (lines, message) => {
    const text = BASE.replace(
      '  accelerator: h100-sxm\n',
      lines.includes('accelerator:') ? '' : '  accelerator: h100-sxm\n',
    ).replace('  gpuCount: 64\n', `  gpuCount: 64\n${lines}`);
    expectUserError(await run('check', await spec('field.yaml', text)), message);
  });

  it('failureScale 0 is a run without unplanned failures, printed without Infinity or NaN', async () => {
    const file = await spec('no-failures.yaml', withTwin('  failureScale: 0\n'));
    const result = await run('simulate', file, '--replicas', '3', '--days', '2');
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/NaN|Infinity/);
    expect(result.stdout).toMatch(/unexpected interruptions\s+0\s+0\s+0/);
  });

  it('compare --sweep with no size that can be compared is an error that says why', async () => {
    const result = await run('compare', 'examples/breakpoint.yaml', '--sweep', '65..130', '--quiet');
    expectUserError(result, '65 GPUs is not a whole number of 8-GPU servers (nearest: 64)', 'nearest: 128');
    expect(result.stdout).toBe('');
  });

  it('validate --runs with no readable row is an error naming the row', async () => {
    const file = await spec('runs.json', '[{"foo":1}]');
    expectUserError(await run('validate', '--runs', file), 'row 0: invalid: id');
  });

  it('a 131,072-GPU system gets a bill of materials from a four-tier fabric', async () => {
    const text = BASE.replace('gpuCount: 64', 'gpuCount: 131072')
      .replace('sequences: 512', 'sequences: 16384')
      .replace('plan: { tp: 1, pp: 1 }', 'plan: { tp: 8, pp: 1 }');
    const result = await run('plan', await spec('huge.yaml', text), '--json');
    expect(result.code).toBe(0);
    const fabric = JSON.parse(result.stdout).chosen.factory.fabric;
    expect(fabric.tiers).toBe(4);
    expect(fabric.superCores).toBeGreaterThan(0);
  });

  it('beyond the largest modelled fabric, check refuses with the largest size that fits', async () => {
    // 2^22 GPUs on 64-port NDR switches, 8 rails: four tiers reach 2·32^4 = 2,097,152 (hardware-catalog.md 2.2).
    const text = BASE.replace('gpuCount: 64', 'gpuCount: 4194304').replace('sequences: 512', 'sequences: 1048576');
    expectUserError(await run('check', await spec('beyond.yaml', text)), 'reach 2,097,152 GPUs');
  });
});

describe('input that was silently ignored', () => {
  it('the shipped 405B example: plan reports the deadline it misses, exit 0, and 2 with --strict', async () => {
    const result = await run('plan', 'examples/llama3-405b.yaml', '--top', '1');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /constraints: the deadline binds: this plan trains in \d+(\.\d)? days, \d+% over the 90-day deadline/,
    );
    const strict = await run('plan', 'examples/llama3-405b.yaml', '--top', '1', '--strict');
    expectUserError(strict, 'the deadline binds');
  });

  it.each([
    ['plan: { tp: 1, pp: 1, dp: 7 }', 'gpuCount: 1024', 'tp·pp·cp·dp = 1·1·1·7 = 7 GPUs, but the system has 1024'],
    ['plan: { tp: 6, pp: 1 }', 'gpuCount: 48', 'tp 6 must divide the 32 attention heads'],
    ['plan: { tp: 1, pp: 1, ep: 8 }', 'gpuCount: 64', 'expert parallelism needs an MoE model'],
  ])('check says "valid spec, plan infeasible" for %s', async (plan, gpus, message) => {
    const text = BASE.replace('plan: { tp: 1, pp: 1 }', plan).replace('gpuCount: 64', gpus);
    expectUserError(await run('check', await spec('infeasible.yaml', text)), 'valid spec, plan infeasible', message);
  });

  it('check finds a plan that runs out of memory, and every shipped example passes check', async () => {
    const text = BASE.replace('llama3-8b', 'llama3-405b').replace(
      'plan: { tp: 1, pp: 1 }',
      'plan: { tp: 1, pp: 1, sharding: none, recomputation: none }',
    );
    expectUserError(await run('check', await spec('oom.yaml', text)), 'valid spec, plan infeasible: needs');
    for (const example of ['deepseek-v3-h800', 'gpt3-175b-a100', 'mixtral-8x7b', 'llama3-70b', 'llama3-8b']) {
      const files = (await import('node:fs')).readdirSync('examples').filter((f) => f.startsWith(example));
      for (const file of files) expect((await run('check', `examples/${file}`)).code).toBe(0);
    }
  });
});

describe('messages that pointed the wrong way', () => {
  it('a missing globalBatch names both forms', async () => {
    const result = await run(
      'check',
      await spec('batch.yaml', BASE.replace('globalBatch: { sequences: 512 }', 'globalBatch: {}')),
    );
    expectUserError(result, 'workload.training.globalBatch: needs `sequences` or `tokens`');
  });

  it('a power-of-two GPU count too large for the batch blames the batch', async () => {
    const text = BASE.replace('gpuCount: 64', 'gpuCount: 65536').replace('sequences: 512', 'sequences: 8');
    const result = await run('plan', await spec('batch-small.yaml', text));
    // The batch is named, with the nearest batch that would split (issue 14: never a bare "0 layouts").
    expectUserError(result, /splits the 8-sequence batch[\s\S]*nearest batches that split: [\d,]+ \(DP/);
    expect(result.stderr).not.toContain('power of two');
  });

  it('an unknown id without suggestions has no dangling separator', async () => {
    const result = await run('check', await spec('unknown.yaml', BASE.replace('h100-sxm', 'zzzzzzzzzzzz')));
    expectUserError(result, /unknown accelerator "zzzzzzzzzzzz" \(list: tokenworks catalog accelerators\)/);
  });

  it('a long key is shortened in the message', async () => {
    const result = await run('check', await spec('long.yaml', `${BASE}${'x'.repeat(900)}: 1\n`));
    expectUserError(result, '…: unknown field');
    expect(result.stderr.length).toBeLessThan(500);
  });
});
