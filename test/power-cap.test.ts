import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { fitPowerClock, type PowerClockInput } from '../scripts/fit-power-clock.js';
import { deviceRates, MIN_POWER_LIMIT_SHARE, powerCapClockRatio } from '../src/perf/compute-rates.js';
import { type Estimate, estimate } from '../src/perf/estimate.js';
import { POWER_CLOCK_FIT } from '../src/perf/power-clock-fit.js';
import { loadSpec } from '../src/spec/load.js';
import type { ResolvedSpec } from '../src/spec/resolve.js';
import { validateRuns } from '../src/validation/validate.js';

function spec(text: string): ResolvedSpec {
  const result = loadSpec(text, 'yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

const llama8b = (system: string) => `
workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 64 } } }
system: ${system}
plan: { tp: 1, pp: 1, dp: 8, microBatch: 1, recomputation: full }
`;

function ok(text: string): Estimate {
  const s = spec(text);
  if (!s.system || !s.plan) throw new Error('spec needs system and plan');
  const result = estimate(s.workload, s.system, s.plan);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result;
}

describe('power-capped clock fit (scripts/fit-power-clock.ts)', () => {
  it('power-clock-fit.ts holds what the committed trace samples give (rerun the script if not)', async () => {
    const input = JSON.parse(await readFile('data/calibration/h100-power-clock.json', 'utf8')) as PowerClockInput;
    expect(fitPowerClock(input)).toEqual(POWER_CLOCK_FIT);
  });

  it('agrees with the microbenchmark summary of the same run: idle about 118 W, GEMM clock 1.28-1.41 GHz', async () => {
    const input = JSON.parse(await readFile('data/calibration/h100-power-clock.json', 'utf8')) as PowerClockInput;
    expect(POWER_CLOCK_FIT.floorW).toBeCloseTo(input.powerObserved.idle_w, -1);
    const [low, high] = input.powerObserved.sm_clock_mhz_under_sustained_gemm;
    expect(POWER_CLOCK_FIT.cappedSmMhz).toBeGreaterThanOrEqual(low ?? 0);
    expect(POWER_CLOCK_FIT.cappedSmMhz).toBeLessThanOrEqual(high ?? 0);
    // The cube law through the median capped point explains each capped sample's clock to a few percent.
    expect(POWER_CLOCK_FIT.residuals.median).toBeLessThan(0.05);
  });
});

describe('power cap (gpuPowerLimitW) on compute rates', () => {
  it('H100 at 500 W: the clock falls to 0.869 of its 700 W value (hand-computed)', () => {
    // Floor P0 = 0.1687 × 700 W = 118.1 W (the fitted idle share). Cube law P = P0 + (700 − P0)(f/f700)³, so
    // f500/f700 = ((500 − 118.1) / (700 − 118.1))^(1/3) = (381.9 / 581.9)^(1/3) = 0.6563^(1/3) = 0.8690,
    // i.e. 1,365 MHz at the cap (the trace's median) → about 1,186 MHz.
    expect(POWER_CLOCK_FIT.floorShareOfLimit).toBeCloseTo(0.1687, 4);
    expect(powerCapClockRatio(700, 500)).toBeCloseTo(0.869, 3);
  });

  it('no cap, a cap at or above the TDP, or no published TDP: no change', () => {
    expect(powerCapClockRatio(700, undefined)).toBe(1);
    expect(powerCapClockRatio(700, 700)).toBe(1);
    expect(powerCapClockRatio(700, 900)).toBe(1);
    expect(powerCapClockRatio(undefined, 300)).toBe(1);
  });

  it('a cap below the driver minimum (200 of 700 W on the H100) is taken at the minimum', () => {
    expect(MIN_POWER_LIMIT_SHARE).toBeCloseTo(200 / 700, 12);
    expect(powerCapClockRatio(700, 100)).toBe(powerCapClockRatio(700, 200));
    // ((200 − 118.1) / 581.9)^(1/3) = 0.1408^(1/3) = 0.520
    expect(powerCapClockRatio(700, 200)).toBeCloseTo(0.52, 2);
  });

  it('scales GEMM and attention rates, not memory-bound kernels', () => {
    const free = spec(llama8b('{ accelerator: h100-sxm, gpuCount: 8 }')).system;
    const capped = spec(llama8b('{ accelerator: h100-sxm, gpuCount: 8, gpuPowerLimitW: 500 }')).system;
    if (!free || !capped) throw new Error('system expected');
    expect(free.accelerator.powerLimitW).toBeUndefined();
    expect(capped.accelerator.powerLimitW).toBe(500);
    const a = deviceRates(free.accelerator);
    const b = deviceRates(capped.accelerator);
    const ratio = powerCapClockRatio(700, 500);
    expect(b.gemmFlops.bf16 / a.gemmFlops.bf16).toBeCloseTo(ratio, 12);
    expect(b.gemmFlops.fp8 / a.gemmFlops.fp8).toBeCloseTo(ratio, 12);
    expect(b.attentionTrainingFlops / a.attentionTrainingFlops).toBeCloseTo(ratio, 12);
    expect(b.memoryBytesPerSecond).toBe(a.memoryBytesPerSecond);
    expect(b.gemmOverheadSeconds).toBe(a.gemmOverheadSeconds);
  });

  it('default specs are unchanged: no limit and a limit equal to the TDP give the same estimate', () => {
    const base = ok(llama8b('{ accelerator: h100-sxm, gpuCount: 8 }'));
    const atTdp = ok(llama8b('{ accelerator: h100-sxm, gpuCount: 8, gpuPowerLimitW: 700 }'));
    expect(atTdp.step).toEqual(base.step);
    expect(atTdp.tokensPerSecondPerGpu).toBe(base.tokensPerSecondPerGpu);
  });

  it('a 500 W cap slows a compute-bound step by at most 1/0.869 and leaves memory unchanged', () => {
    const base = ok(llama8b('{ accelerator: h100-sxm, gpuCount: 8 }'));
    const capped = ok(llama8b('{ accelerator: h100-sxm, gpuCount: 8, gpuPowerLimitW: 500 }'));
    const slowdown = capped.step.seconds / base.step.seconds;
    expect(slowdown).toBeGreaterThan(1.05);
    expect(slowdown).toBeLessThanOrEqual(1 / powerCapClockRatio(700, 500) + 1e-9);
    expect(capped.memory.total).toBe(base.memory.total);
  });
});

describe('torchtitan rows at 500 W (data/calibration/published-runs.pytorch.json)', () => {
  it('are predicted on the H100 96 GB with their cap, slower than without it', async () => {
    const runs = JSON.parse(await readFile('data/calibration/published-runs.pytorch.json', 'utf8')) as {
      id: string;
      gpu_type?: string;
    }[];
    const torchtitan = runs.filter((run) => run.id.startsWith('torchtitan'));
    const uncapped = torchtitan.map((run) => ({ ...run, gpu_type: run.gpu_type?.replace(/,\s*500W power limit/, '') }));
    const withCap = validateRuns(torchtitan, {}, 'pytorch');
    const without = validateRuns(uncapped, {}, 'pytorch');
    expect(withCap.rows.length).toBeGreaterThanOrEqual(16);
    expect(withCap.rows.every((row) => row.gpu === 'h100-sxm-96gb')).toBe(true);
    for (const row of withCap.rows) {
      const other = without.rows.find((candidate) => candidate.id === row.id);
      expect(other, row.id).toBeDefined();
      const ratio = row.predicted / (other?.predicted ?? Number.NaN);
      // Throughput falls by at most the clock ratio (communication and memory-bound time do not slow).
      expect(ratio, row.id).toBeLessThan(1);
      expect(ratio, row.id).toBeGreaterThanOrEqual(powerCapClockRatio(700, 500) - 1e-9);
    }
  });
});
