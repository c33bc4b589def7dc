/** `tokenworks detect-eval`: a real run's JSON against its schema, and bad input named with exit 2. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DetectEvalOutputSchema } from '../src/app/outputs.js';
import { run } from './run-cli.js';

const GOLDEN =
  '../shared/data/telemetry/megatron-ci/gpt3_weekly_mcore_tp2_pp2_current_scaling_native_fp8_tp_pp_sp_tp_overlap/golden_values_dev_dgx_h100.json';

describe('tokenworks detect-eval', () => {
  it('measures the detectors on a small labelled set, with --json matching its schema', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tokenworks-detect-eval-'));
    const faults = join(dir, 'faults.yaml');
    await writeFile(
      faults,
      'stragglers: { sizes: [64], perRun: 3, runSeconds: 300 }\nfailSlow: { runs: 10, iterations: 1000 }\nfailures: { runs: 1, hosts: 64, days: 7 }\n',
    );
    const { code, stdout, stderr } = await run(
      'detect-eval',
      'examples/llama3-70b.yaml',
      '--noise',
      GOLDEN,
      '--faults',
      faults,
      '--replicas',
      '3',
      '--json',
    );
    expect(code, stderr).toBe(0);
    const result = DetectEvalOutputSchema.parse(JSON.parse(stdout));
    expect(result.stragglers.all.faults).toBe(9);
    expect(result.failSlow.faults).toBe(10);
    expect(result.settings.noise).toEqual([GOLDEN]);
    // The step time is the spec's estimate: positive and finite, seconds per iteration.
    expect(result.settings.stepSeconds).toBeGreaterThan(0.1);
  });

  it('names a bad --replicas, a bad faults field and a short noise file, each with exit 2', async () => {
    const bad = await run('detect-eval', 'examples/llama3-70b.yaml', '--noise', GOLDEN, '--replicas', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--replicas 0: give a whole number from 1/);
    const dir = await mkdtemp(join(tmpdir(), 'tokenworks-detect-eval-'));
    const faults = join(dir, 'faults.yaml');
    await writeFile(faults, 'stragglers: { slowdown: [2, 1.2] }\n');
    const backwards = await run('detect-eval', 'examples/llama3-70b.yaml', '--noise', GOLDEN, '--faults', faults);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toMatch(/stragglers\.slowdown/);
    await writeFile(faults, 'stragglers: { sizez: [64] }\n');
    const unknown = await run('detect-eval', 'examples/llama3-70b.yaml', '--noise', GOLDEN, '--faults', faults);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/sizez/);
    const short = join(dir, 'short.csv');
    await writeFile(short, 'step,iteration_seconds\n1,1.0\n2,1.1\n');
    const few = await run('detect-eval', 'examples/llama3-70b.yaml', '--noise', short);
    expect(few.code).toBe(2);
    expect(few.stderr).toMatch(/fewer than 10 timed iterations/);
  });
});
