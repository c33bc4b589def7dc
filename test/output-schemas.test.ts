/**
 * Outputs are contracts: every command's `--json` validates against its published output schema
 * (src/app/outputs.ts, written to schemas/<use-case>-output.schema.json), and the files on disk are current.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { OUTPUT_SCHEMAS, outputJsonSchemas } from '../src/app/outputs.js';
import { run } from './run-cli.js';

function expectValid(schema: z.ZodType, stdout: string) {
  const parsed = schema.safeParse(JSON.parse(stdout));
  expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 5), null, 1)).toBe(true);
}

describe('--json output contracts', () => {
  it.each(Object.entries(outputJsonSchemas()))(
    'schemas/%s is up to date (run npm run schemas)',
    async (file, schema) => {
      expect(JSON.parse(await readFile(`schemas/${file}`, 'utf8'))).toEqual(schema);
    },
  );

  it.each([
    ['check', ['check', 'examples/deepseek-v3-h800.yaml', '--json']],
    ['check', ['check', 'examples/llama3-405b.yaml', '--json']],
    ['estimate', ['estimate', 'examples/llama3-405b.yaml', '--json']],
    ['plan', ['plan', 'examples/llama3-8b.yaml', '--top', '3', '--json', '--threads', '1']],
    ['simulate', ['simulate', 'examples/llama3-405b-54d.yaml', '--replicas', '4', '--threads', '1', '--json']],
    ['validate', ['validate', '--json']],
  ] as const)('%s --json validates against its schema (%j)', async (name, argv) => {
    const { code, stdout, stderr } = await run(...argv);
    expect(code, stderr).toBe(0);
    expectValid(OUTPUT_SCHEMAS[name], stdout);
  });

  it('an infeasible estimate prints the reasons as its schema says, with exit 2', async () => {
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'tokenworks-outputs-'));
    const file = join(dir, 'oom.yaml');
    await writeFile(
      file,
      `workload: { model: llama3-405b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 8 } } }
system: { accelerator: h100-sxm, gpuCount: 8 }
plan: { tp: 8, pp: 1, dp: 1 }`,
    );
    const { code, stdout } = await run('estimate', file, '--json');
    expect(code).toBe(2);
    expectValid(OUTPUT_SCHEMAS.estimate, stdout);
    expect(JSON.parse(stdout).ok).toBe(false);
  });

  it('plan --json of a design search and with --simulate validate', async () => {
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'tokenworks-outputs-'));
    const file = join(dir, 'search.yaml');
    await writeFile(
      file,
      `workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 512 } } }
constraints: { maxGpus: 128, deadlineDays: 60 }
`,
    );
    const designs = await run('plan', file, '--json', '--threads', '1');
    expect(designs.code, designs.stderr).toBe(0);
    expectValid(OUTPUT_SCHEMAS.plan, designs.stdout);
    const simulated = await run('plan', 'examples/llama3-8b.yaml', '--simulate', '3', '--json', '--threads', '1');
    expect(simulated.code, simulated.stderr).toBe(0);
    expectValid(OUTPUT_SCHEMAS.plan, simulated.stdout);
    expectValid(OUTPUT_SCHEMAS.simulate, JSON.stringify(JSON.parse(simulated.stdout).simulation));
  }, 120_000);

  it('compare --json validates against its schema', async () => {
    const { code, stdout, stderr } = await run(
      'compare',
      'examples/breakpoint.yaml',
      '--sweep',
      '64,256',
      '--replicas',
      '2',
      '--json',
      '--quiet',
    );
    expect(code, stderr).toBe(0);
    expectValid(OUTPUT_SCHEMAS.compare, stdout);
  }, 120_000);

  it('emulate --json validates against its schema', async () => {
    const { mkdtemp } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const out = await mkdtemp(join(tmpdir(), 'tokenworks-emulate-'));
    const { code, stdout, stderr } = await run(
      'emulate',
      'examples/llama3-8b.yaml',
      '--days',
      '0.5',
      '--out',
      out,
      '--json',
      '--quiet',
    );
    expect(code, stderr).toBe(0);
    expectValid(OUTPUT_SCHEMAS.emulate, stdout);
    // The emulated log, observed with its GPU scrapes and a forecast, and calibrated on.
    const log = join(out, 'training.log');
    const observed = await run(
      'observe',
      'examples/llama3-8b.yaml',
      '--log',
      log,
      '--dcgm',
      join(out, 'dcgm'),
      '--replicas',
      '4',
      '--json',
      '--quiet',
    );
    expect(observed.code, observed.stderr).toBe(0);
    expectValid(OUTPUT_SCHEMAS.observe, observed.stdout);
    const calibrated = await run(
      'calibrate',
      'examples/llama3-8b.yaml',
      log,
      '--out',
      join(out, 'site.json'),
      '--json',
      '--quiet',
    );
    expect(calibrated.code, calibrated.stderr).toBe(0);
    expectValid(OUTPUT_SCHEMAS.calibrate, calibrated.stdout);
  }, 120_000);
});
