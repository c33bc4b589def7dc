/**
 * `tokenworks calibrate` and `tokenworks observe` end to end on emulated runs whose step time is set by
 * construction: a spec with `siteEfficiency: 0.8` emulates steps 1/0.8 as long as the model's; calibrating the
 * same spec without the factor must find 0.8, and the calibrated spec must then predict the measured step.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './run-cli.js';

const SPEC = `
name: calibration test
workload:
  model: llama3-8b
  training: { totalTokens: 20B, sequenceLength: 8192, globalBatch: { tokens: 4194304 }, precision: bf16 }
system: { accelerator: h100-sxm, gpuCount: 64 SITE }
plan: { tp: 1, pp: 1, microBatch: 1 }
# No throttling and no slow hosts: every emulated iteration takes the slow site's step exactly.
twin: { throttling: { diurnalSwing: 0 }, stragglers: { ratePerNodeYear: 0 } }
`;

describe('calibrate', () => {
  it('recovers the site factor an emulated site runs at, and the calibrated spec predicts the measured step', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tw-calibrate-'));
    await writeFile(join(dir, 'slow-site.yaml'), SPEC.replace(' SITE', ', siteEfficiency: 0.8'));
    await writeFile(join(dir, 'spec.yaml'), SPEC.replace(' SITE', ''));
    await writeFile(join(dir, 'calibrated.yaml'), SPEC.replace(' SITE', ', calibration: site.json'));
    const emulated = await run('emulate', join(dir, 'slow-site.yaml'), '--days', '0.5', '--out', join(dir, 'run'));
    expect(emulated.code, emulated.stderr).toBe(0);
    const log = join(dir, 'run', 'training.log');
    const calibrated = await run('calibrate', join(dir, 'spec.yaml'), log, '--out', join(dir, 'site.json'), '--json');
    expect(calibrated.code, calibrated.stderr).toBe(0);
    const site = JSON.parse(await readFile(join(dir, 'site.json'), 'utf8'));
    // Without noise every emulated iteration takes the slow site's step: the fit is 0.8 up to the log's rounding
    // of milliseconds to one decimal.
    expect(site.siteEfficiency).toBeCloseTo(0.8, 3);
    expect(site.runs).toHaveLength(1);
    expect(JSON.parse(calibrated.stdout).siteEfficiency).toBe(site.siteEfficiency);
    const before = JSON.parse((await run('estimate', join(dir, 'spec.yaml'), '--json')).stdout);
    const after = JSON.parse((await run('estimate', join(dir, 'calibrated.yaml'), '--json')).stdout);
    expect(after.step.seconds).toBeCloseTo(before.step.seconds / site.siteEfficiency, 9);
    expect(after.step.seconds).toBeCloseTo(site.runs[0].observedStepSeconds, 9);

    // A second run (another seed of the same site) fitted together with the first (--add): two runs, each at 0.8,
    // so the same factor; the first log given again replaces its row instead of counting twice.
    const second = await run(
      'emulate',
      join(dir, 'slow-site.yaml'),
      '--days',
      '0.5',
      '--seed',
      '2',
      '--out',
      join(dir, 'run2'),
    );
    expect(second.code, second.stderr).toBe(0);
    const log2 = join(dir, 'run2', 'training.log');
    const again = await run(
      'calibrate',
      join(dir, 'spec.yaml'),
      log2,
      log,
      '--add',
      join(dir, 'site.json'),
      '--out',
      join(dir, 'site2.json'),
    );
    expect(again.code, again.stderr).toBe(0);
    const site2 = JSON.parse(await readFile(join(dir, 'site2.json'), 'utf8'));
    expect(site2.runs.map((r: { run: string }) => r.run).sort()).toEqual([log, log2].sort());
    expect(site2.siteEfficiency).toBeCloseTo(0.8, 3);

    // observe on the slow site's log against the uncalibrated spec: the step is 25 % above the prediction
    // (1/0.8 − 1), outside the dense band (16.5 %), and the cause points at calibrate.
    const observed = await run('observe', join(dir, 'spec.yaml'), '--log', log, '--replicas', '0', '--json');
    expect(observed.code, observed.stderr).toBe(0);
    const step = JSON.parse(observed.stdout).planVersusActual.find(
      (c: { metric: string }) => c.metric === 'stepSeconds',
    );
    expect(step.gap).toBeCloseTo(0.25, 2);
    expect(step.status).toBe('above');
    expect(step.likelyCause).toMatch(/calibrate/);
    // Against the calibrated spec the same run sits on its prediction.
    const fitted = await run('observe', join(dir, 'calibrated.yaml'), '--log', log, '--replicas', '0', '--json');
    const fittedStep = JSON.parse(fitted.stdout).planVersusActual.find(
      (c: { metric: string }) => c.metric === 'stepSeconds',
    );
    expect(Math.abs(fittedStep.gap)).toBeLessThan(1e-3);
    expect(fittedStep.status).toBe('within');
  }, 60_000);

  it('refuses a log with no timed steps, naming it, with exit 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tw-calibrate-'));
    await writeFile(join(dir, 'spec.yaml'), SPEC.replace(' SITE', ''));
    await writeFile(join(dir, 'empty.log'), 'nothing to see\n');
    const result = await run('calibrate', join(dir, 'spec.yaml'), join(dir, 'empty.log'), '--out', join(dir, 'x.json'));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/empty\.log.*timed iterations/);
  });
});
