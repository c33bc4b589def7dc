import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findAccelerator } from '../src/catalog/index.js';
import { type Calibration, DEFAULT_CALIBRATION } from '../src/perf/calibration.js';
import { deviceRates } from '../src/perf/compute-rates.js';
import { DEVICE_FIT } from '../src/perf/device-fit.js';
import type { Accelerator } from '../src/spec/resolve.js';
import { median } from '../src/telemetry/megatron-ci.js';
import { devicePairs, fitDeviceCapability, pairRatioErrors } from '../src/validation/device-pairs.js';
import { type PublishedRun, parsePublishedRuns } from '../src/validation/runs.js';
import { predictRun, type ValidationRow } from '../src/validation/validate.js';
import { fullSpec } from './support/spec.js';

const acceleratorOf = (accelerator: string): Accelerator =>
  fullSpec(`workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 64 } } }
system: { accelerator: ${accelerator}, gpuCount: 8 }
plan: { tp: 1, pp: 1, dp: 8, microBatch: 1 }
`).system.accelerator;

const peakOnly: Calibration = { ...DEFAULT_CALIBRATION, deviceCapability: {} };
const catalog = (id: string) => {
  const found = findAccelerator(id);
  if (!found.found) throw new Error(`catalog lacks ${id}`);
  return found.entry;
};

describe('capability of a part without a GEMM measurement (device-fit.ts)', () => {
  const gb300 = acceleratorOf('gb300');
  const fit = DEVICE_FIT.gb300;

  it('the fitted capability replaces the ratio of dense peaks in proportion, BF16 and FP8 alike', () => {
    if (!fit) throw new Error('no GB300 fit');
    expect(gb300.measuredGemmTflops.bf16).toBeUndefined();
    const fitted = deviceRates(gb300);
    const peak = deviceRates(gb300, peakOnly);
    // Peak transfer: the H100's MAMF share applied to GB300's 2,500 TFLOP/s; fitted: the capability itself.
    const h100 = catalog('h100-sxm');
    const h100Mamf = h100.measuredGemmTflops.bf16?.value ?? Number.NaN;
    const peakCapability = (2500 / h100.peakTflops.bf16.value) * h100Mamf;
    expect(fitted.gemmFlops.bf16 / peak.gemmFlops.bf16).toBeCloseTo(fit.bf16GemmTflops / peakCapability, 10);
    expect(fitted.gemmFlops.fp8 / peak.gemmFlops.fp8).toBeCloseTo(fit.bf16GemmTflops / peakCapability, 10);
    // HBM-bound kernels do not move: the fit is of compute only.
    expect(fitted.memoryBytesPerSecond).toBe(peak.memoryBytesPerSecond);
  });

  it('FP4 runs at the fitted multiple of FP8 instead of the 3× of the dense peaks (15 and 5 PF)', () => {
    if (!fit?.fp4OverFp8) throw new Error('no GB300 FP4 fit');
    const fitted = deviceRates(gb300);
    const sustained = DEFAULT_CALIBRATION.sustainedEfficiency;
    expect(fitted.gemmFlops.fp4 / sustained.fp4 / (fitted.gemmFlops.fp8 / sustained.fp8)).toBeCloseTo(
      fit.fp4OverFp8,
      10,
    );
    const peak = deviceRates(gb300, peakOnly);
    expect(peak.gemmFlops.fp4 / sustained.fp4 / (peak.gemmFlops.fp8 / sustained.fp8)).toBeCloseTo(15000 / 5000, 10);
  });

  it('stays physical: above the reference part it was fitted against, below its own dense peaks', () => {
    if (!fit?.fp4OverFp8) throw new Error('no GB300 fit');
    const reference = catalog(fit.reference).measuredGemmTflops.bf16?.value ?? Number.NaN;
    expect(fit.bf16GemmTflops).toBeGreaterThan(reference);
    expect(fit.bf16GemmTflops).toBeLessThan(catalog('gb300').peakTflops.bf16.value);
    expect(fit.fp4OverFp8).toBeLessThanOrEqual(15000 / 5000);
  });

  it('a part with a MAMF keeps it at every precision, and an inline part (no catalog id) keeps the ratio of peaks', () => {
    const gb200 = acceleratorOf('gb200');
    const overridden: Calibration = {
      ...DEFAULT_CALIBRATION,
      deviceCapability: { ...DEFAULT_CALIBRATION.deviceCapability, gb200: { bf16GemmTflops: 1, fp4OverFp8: 1 } },
    };
    const measured = deviceRates(gb200, peakOnly).gemmFlops;
    expect(deviceRates(gb200, overridden).gemmFlops).toEqual(measured);
    const inline = acceleratorOf(
      '{ name: GB300, peakTflops: { bf16: 2500, fp8: 5000, fp4: 15000 }, hbmGiB: 288, hbmBandwidthGBps: 8000, scaleUpBandwidthGBps: 900, scaleUpDomainSize: 72, scaleOutGbps: 800 }',
    );
    expect(deviceRates(inline).gemmFlops.bf16).toBeCloseTo(deviceRates(gb300, peakOnly).gemmFlops.bf16, 0);
  });
});

describe('GB300 against GB200 in the published runs', () => {
  const raw = JSON.parse(
    readFileSync(join(import.meta.dirname, '../data/calibration/published-runs.calibration.json'), 'utf8'),
  ) as unknown[];
  const runs: PublishedRun[] = parsePublishedRuns(raw);
  const blackwell = runs.filter((run) => /gb[23]00/i.test(run.gpu_type ?? ''));
  const predicted = (calibration: Calibration) => {
    const rows = new Map<string, ValidationRow>();
    for (const run of blackwell) {
      const row = predictRun(run, { calibration });
      if (!('reason' in row)) rows.set(run.id, row);
    }
    return rows;
  };
  const shipped = predicted(DEFAULT_CALIBRATION);
  const peaks = predicted(peakOnly);
  const absMedian = (values: number[]) => median(values.map(Math.abs)) ?? Number.NaN;

  it('the rows the fit changes are exactly its listed rows and the MoE rows, so no fitted row counts as held out', () => {
    const changed = [...shipped].filter(([id, row]) => peaks.get(id)?.predicted !== row.predicted);
    const listed = new Set(DEVICE_FIT.gb300?.rows ?? []);
    expect(listed.size).toBeGreaterThanOrEqual(8);
    const changedDense = changed.filter(([, row]) => row.arch === 'dense').map(([id]) => id);
    expect(new Set(changedDense)).toEqual(listed);
    // Every changed row is a GB300 row; the changed MoE rows are not fit rows.
    expect(changed.every(([, row]) => row.gpu === 'gb300')).toBe(true);
    expect(changed.filter(([, row]) => row.arch === 'moe').every(([id]) => !listed.has(id))).toBe(true);
  });

  it('the shipped fit is what the fit gives on the committed runs (scripts/fit-device-capability.ts)', () => {
    const fit = DEVICE_FIT.gb300;
    if (!fit) throw new Error('no GB300 fit');
    const mamf = catalog(fit.reference).measuredGemmTflops.bf16?.value ?? Number.NaN;
    const refit = fitDeviceCapability(runs, peaks, peakOnly, 'gb300', fit.reference, mamf);
    expect(refit?.capability).toEqual({
      bf16GemmTflops: fit.bf16GemmTflops,
      ...(fit.fp4OverFp8 === undefined ? {} : { fp4OverFp8: fit.fp4OverFp8 }),
    });
    expect(refit?.rows).toEqual(fit.rows);
  }, 120_000);

  it('on the MoE pairs the fit never saw, the measured GB300/GB200 ratio is matched better than with the ratio of peaks, within 10%', () => {
    const pairs = devicePairs(runs, peaks, 'gb300', 'gb200', 'moe');
    expect(pairs.length).toBeGreaterThanOrEqual(20);
    const fitted = absMedian(pairRatioErrors(pairs, DEFAULT_CALIBRATION));
    expect(fitted).toBeLessThan(absMedian(pairRatioErrors(pairs, peakOnly)));
    expect(fitted).toBeLessThan(0.1);
  }, 120_000);
});
