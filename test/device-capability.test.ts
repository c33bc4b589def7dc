import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findAccelerator } from '../src/catalog/index.js';
import { type Calibration, DEFAULT_CALIBRATION } from '../src/perf/calibration.js';
import { deviceRates } from '../src/perf/compute-rates.js';
import { DEVICE_FIT } from '../src/perf/device-fit.js';
import { loadSpec } from '../src/spec/load.js';
import type { Accelerator } from '../src/spec/resolve.js';
import { type PublishedRun, parsePublishedRuns } from '../src/validation/runs.js';
import { predictRun, type ValidationRow } from '../src/validation/validate.js';

function acceleratorOf(accelerator: string): Accelerator {
  const loaded = loadSpec(
    `workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 64 } } }
system: { accelerator: ${accelerator}, gpuCount: 8 }
plan: { tp: 1, pp: 1, dp: 8, microBatch: 1 }
`,
    'yaml',
  );
  if (!loaded.ok || !loaded.value.system) throw new Error(JSON.stringify(loaded.ok ? 'no system' : loaded.issues));
  return loaded.value.system.accelerator;
}

const peakOnly: Calibration = { ...DEFAULT_CALIBRATION, deviceCapability: {} };
const catalog = (id: string) => {
  const found = findAccelerator(id);
  if (!found.found) throw new Error(`catalog lacks ${id}`);
  return found.entry;
};

describe('capability of a part without a GEMM measurement (device-fit.ts)', () => {
  const gb300 = acceleratorOf('gb300');
  const fit = DEVICE_FIT.gb300;

  it('GB300 has no MAMF in the catalog, so the fit is what its rates use', () => {
    expect(gb300.measuredGemmTflops.bf16).toBeUndefined();
    expect(fit).toBeDefined();
  });

  it('the fitted capability replaces the ratio of dense peaks in proportion, BF16 and FP8 alike', () => {
    if (!fit) throw new Error('no GB300 fit');
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

  it('a part with a MAMF keeps it, and an inline part (no catalog id) keeps the ratio of peaks', () => {
    const gb200 = acceleratorOf('gb200');
    const overridden: Calibration = {
      ...DEFAULT_CALIBRATION,
      deviceCapability: { gb200: { bf16GemmTflops: 1 }, ...DEFAULT_CALIBRATION.deviceCapability },
    };
    expect(deviceRates(gb200, overridden).gemmFlops.bf16).toBe(deviceRates(gb200, peakOnly).gemmFlops.bf16);
    const inline = acceleratorOf(
      '{ name: GB300, peakTflops: { bf16: 2500, fp8: 5000, fp4: 15000 }, hbmGiB: 288, hbmBandwidthGBps: 8000, scaleUpBandwidthGBps: 900, scaleUpDomainSize: 72, scaleOutGbps: 800 }',
    );
    expect(deviceRates(inline).gemmFlops.bf16).toBeCloseTo(deviceRates(gb300, peakOnly).gemmFlops.bf16, 0);
  });
});

describe('GB300 against GB200 on the same recipe, on MoE rows the fit never saw', () => {
  const raw = JSON.parse(
    readFileSync(join(import.meta.dirname, '../data/calibration/published-runs.calibration.json'), 'utf8'),
  ) as unknown[];
  const runs: PublishedRun[] = parsePublishedRuns(raw);
  const key = (run: PublishedRun) =>
    JSON.stringify([run.source, run.model_name, run.precision, run.seq_len, run.global_batch_sequences, run.num_gpus]);
  const moe = runs.filter((run) => run.arch === 'moe' && /gb[23]00/i.test(run.gpu_type ?? ''));
  const predicted = (calibration: Calibration) => {
    const rows = new Map<string, ValidationRow>();
    for (const run of moe) {
      const row = predictRun(run, { calibration });
      if (!('reason' in row)) rows.set(run.id, row);
    }
    return rows;
  };
  /** |predicted ratio / measured ratio − 1| over the GB300–GB200 pairs of one recipe in one release. */
  const pairErrors = (rows: Map<string, ValidationRow>) => {
    const reference = new Map<string, ValidationRow>();
    for (const run of moe) {
      const row = rows.get(run.id);
      if (row?.gpu === 'gb200') reference.set(key(run), row);
    }
    return moe.flatMap((run) => {
      const row = rows.get(run.id);
      const partner = row?.gpu === 'gb300' ? reference.get(key(run)) : undefined;
      if (!row || !partner || partner.metric !== row.metric) return [];
      return [Math.abs(row.predicted / partner.predicted / (row.measured / partner.measured) - 1)];
    });
  };
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  };

  it('the MoE rows are held out of the fit', () => {
    const fitted = new Set(DEVICE_FIT.gb300?.rows ?? []);
    expect(moe.some((run) => fitted.has(run.id))).toBe(false);
  });

  it('the measured GB300/GB200 ratio is matched better with the fit than with the ratio of peaks, and within 10%', () => {
    const fitted = pairErrors(predicted(DEFAULT_CALIBRATION));
    const peak = pairErrors(predicted(peakOnly));
    expect(fitted.length).toBeGreaterThanOrEqual(20);
    expect(median(fitted)).toBeLessThan(median(peak));
    expect(median(fitted)).toBeLessThan(0.1);
  }, 120_000);
});
