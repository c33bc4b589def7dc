import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpecFile } from '../src/node/files.js';
import { estimate } from '../src/perf/estimate.js';
import { loadSpec } from '../src/spec/load.js';
import { fitSiteCalibration, parseSiteCalibration } from '../src/spec/site-calibration.js';

const SPEC = `
workload:
  model: llama3-8b
  training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { tokens: 16777216 }, precision: bf16 }
system: { accelerator: h100-sxm, gpuCount: 64 }
plan: { tp: 1, pp: 1, microBatch: 1 }
`;

function resolved(text: string) {
  const result = loadSpec(text, 'yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

function calibrationFile(siteEfficiency: number, accelerator = 'h100-sxm') {
  const fit = fitSiteCalibration([
    {
      run: 'a.log',
      accelerator,
      predictedStepSeconds: siteEfficiency,
      observedStepSeconds: 1,
      steadySteps: 100,
    },
  ]);
  if (!fit.ok) throw new Error('fit failed');
  return JSON.stringify(fit.value);
}

describe('site efficiency', () => {
  it('divides every part of the modelled step by the factor', () => {
    const base = resolved(SPEC);
    const site = resolved(SPEC.replace('gpuCount: 64', 'gpuCount: 64, siteEfficiency: 0.8'));
    if (!base.system || !base.plan || !site.system || !site.plan) throw new Error('spec without system or plan');
    const a = estimate(base.workload, base.system, base.plan);
    const b = estimate(site.workload, site.system, site.plan);
    if (!a.ok || !b.ok) throw new Error('infeasible');
    // Closed form: step' = step / 0.8; throughput and MFU × 0.8.
    expect(b.step.seconds).toBeCloseTo(a.step.seconds / 0.8, 12);
    expect(b.tokensPerSecond).toBeCloseTo(a.tokensPerSecond * 0.8, 6);
    expect(b.mfu).toBeCloseTo(a.mfu * 0.8, 12);
    const s = b.step;
    const parts =
      s.compute +
      s.bubble +
      s.imbalance +
      s.optimizer +
      Object.values(s.exposedCommunication).reduce((x, y) => x + y, 0);
    expect(parts).toBeCloseTo(s.seconds, 9);
  });

  it('fits the geometric mean of predicted ÷ observed over the runs', () => {
    const fit = fitSiteCalibration([
      { run: 'a', accelerator: 'h100-sxm', predictedStepSeconds: 0.8, observedStepSeconds: 1, steadySteps: 10 },
      { run: 'b', accelerator: 'h100-sxm', predictedStepSeconds: 1.8, observedStepSeconds: 2, steadySteps: 10 },
    ]);
    expect(fit.ok).toBe(true);
    if (!fit.ok) return;
    // √(0.8 × 0.9) = 0.84853 (hand-computed).
    expect(fit.value.siteEfficiency).toBeCloseTo(Math.sqrt(0.72), 12);
    expect(fit.value.spread.min).toBeCloseTo(0.8, 12);
    expect(fit.value.spread.max).toBeCloseTo(0.9, 12);
    expect(fit.value.warnings).toEqual([]);
    expect(parseSiteCalibration(JSON.stringify(fit.value)).ok).toBe(true);
  });

  it('warns when one run or an implausible factor is all it has, and refuses mixed accelerators', () => {
    const one = fitSiteCalibration([
      { run: 'a', accelerator: 'h100-sxm', predictedStepSeconds: 0.11, observedStepSeconds: 1.14, steadySteps: 10 },
    ]);
    expect(one.ok && one.value.warnings.join(' ')).toMatch(/outside 0.5–1.25.*\n?.*|one run/);
    expect(one.ok && one.value.warnings.length).toBe(2);
    const mixed = fitSiteCalibration([
      { run: 'a', accelerator: 'h100-sxm', predictedStepSeconds: 1, observedStepSeconds: 1, steadySteps: 10 },
      { run: 'b', accelerator: 'gb200', predictedStepSeconds: 1, observedStepSeconds: 1, steadySteps: 10 },
    ]);
    expect(mixed.ok).toBe(false);
    expect(!mixed.ok && mixed.issues[0]?.message).toMatch(/different accelerators/);
  });

  it('is read from the file system.calibration names, relative to the spec', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tw-cal-'));
    await writeFile(join(dir, 'site.json'), calibrationFile(0.9));
    await writeFile(join(dir, 'spec.yaml'), SPEC.replace('gpuCount: 64', 'gpuCount: 64, calibration: site.json'));
    const spec = await loadSpecFile(join(dir, 'spec.yaml'));
    expect(spec.system?.siteEfficiency).toBeCloseTo(0.9, 12);
  });

  it('names the field and the fix for a missing, malformed, conflicting or foreign calibration', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tw-cal-'));
    const write = async (name: string, text: string) => writeFile(join(dir, name), text);
    const failure = async (name: string) => {
      try {
        await loadSpecFile(join(dir, name));
      } catch (error) {
        return JSON.stringify((error as { issues?: unknown }).issues);
      }
      throw new Error('loaded');
    };
    await write('missing.yaml', SPEC.replace('gpuCount: 64', 'gpuCount: 64, calibration: nope.json'));
    expect(await failure('missing.yaml')).toMatch(/system\.calibration.*cannot read the calibration file.*nope\.json/);
    await write('bad.json', '{"kind": "something else"}');
    await write('bad.yaml', SPEC.replace('gpuCount: 64', 'gpuCount: 64, calibration: bad.json'));
    expect(await failure('bad.yaml')).toMatch(/system\.calibration\.kind.*tokenworks calibrate/);
    await write('site.json', calibrationFile(0.9));
    await write('both.yaml', SPEC.replace('gpuCount: 64', 'gpuCount: 64, calibration: site.json, siteEfficiency: 0.7'));
    expect(await failure('both.yaml')).toMatch(/not both/);
    await write('gb.json', calibrationFile(0.9, 'gb200'));
    await write('gb.yaml', SPEC.replace('gpuCount: 64', 'gpuCount: 64, calibration: gb.json'));
    expect(await failure('gb.yaml')).toMatch(/fitted on gb200.*h100-sxm/);
  });
});
