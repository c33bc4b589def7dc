/**
 * One recipe of one release run on two parts: the A/B on identical software that the device-capability fit uses
 * (scripts/fit-device-capability.ts, src/perf/device-fit.ts) and its checks. A pair is a row on the part and a row on
 * the reference part with the same source (the release's table), model, precision as the row names it, sequence,
 * global batch and GPU count; each row keeps the layout its recipe states. Comparing the measured throughput ratio
 * with the predicted one cancels what the model gets wrong for the recipe or the release on both parts.
 * @module
 */
import type { Calibration, DeviceCapability } from '../perf/calibration.js';
import type { PublishedRun } from './runs.js';
import { predictRun, summarize, type ValidationRow } from './validate.js';

/** The recipe a row runs, as far as the row states it. */
export const recipeKey = (run: PublishedRun): string =>
  JSON.stringify([run.source, run.model_name, run.precision, run.seq_len, run.global_batch_sequences, run.num_gpus]);

/** A row on the part and its partner on the reference part, with the measured throughput ratio. */
export interface DevicePair {
  readonly run: PublishedRun;
  readonly row: ValidationRow;
  readonly reference: ValidationRow;
  readonly measuredRatio: number;
}

/**
 * The pairs of `device` with `reference` among predicted rows of one architecture (dense or MoE). A recipe key with
 * more than one row on either part is ambiguous (two variants of the recipe the row fields do not tell apart, such
 * as CUDA-graph scopes) and is left out.
 */
export function devicePairs(
  runs: readonly PublishedRun[],
  rows: ReadonlyMap<string, ValidationRow>,
  device: string,
  reference: string,
  arch: 'dense' | 'moe',
): DevicePair[] {
  const byKey = new Map<string, { device: PublishedRun[]; reference: ValidationRow[] }>();
  for (const run of runs) {
    const row = rows.get(run.id);
    if (!row || row.arch !== arch || (row.gpu !== device && row.gpu !== reference)) continue;
    const key = recipeKey(run);
    const entry = byKey.get(key) ?? { device: [], reference: [] };
    if (row.gpu === device) entry.device.push(run);
    else entry.reference.push(row);
    byKey.set(key, entry);
  }
  const pairs: DevicePair[] = [];
  for (const entry of byKey.values()) {
    const [run] = entry.device;
    const [partner] = entry.reference;
    if (entry.device.length !== 1 || entry.reference.length !== 1 || !run || !partner) continue;
    const row = rows.get(run.id);
    if (row && row.metric === partner.metric)
      pairs.push({ run, row, reference: partner, measuredRatio: row.measured / partner.measured });
  }
  return pairs;
}

/** predicted ratio / measured ratio − 1 of each pair under `calibration` (the reference row is not re-estimated). */
export function pairRatioErrors(pairs: readonly DevicePair[], calibration: Calibration): number[] {
  return pairs.flatMap((pair) => {
    const row = predictRun(pair.run, { calibration });
    return 'reason' in row ? [] : [row.predicted / pair.reference.predicted / pair.measuredRatio - 1];
  });
}

/** Fewest pairs a constant is fitted on: none is fitted to a row or two. */
export const MIN_PAIRS = 4;

/** The fit of one part, with what it used and how far the pairs are from it. */
export interface DeviceCapabilityFit {
  readonly capability: DeviceCapability;
  /** Multiple of the reference's MAMF the capability is. */
  readonly factor: number;
  readonly gemmPairs: readonly DevicePair[];
  readonly fp4Pairs: readonly DevicePair[];
  /** Ids of the part's rows the fitted constants were chosen on. */
  readonly rows: readonly string[];
}

const median = (values: readonly number[]) => summarize(values).medianPct;
const grid = (from: number, to: number, step: number) =>
  Array.from({ length: Math.round((to - from) / step) + 1 }, (_, i) => Math.round((from + i * step) * 1e6) / 1e6);

/**
 * Fits `device`'s capability on its dense pairs with `reference` (MAMF `referenceMamf`, TFLOP/s): the BF16 capability
 * in MAMF units as the reference's MAMF times a factor on a grid 0.80–1.60 in steps of 0.005, on the pairs that are
 * not FP4, then the FP4-over-FP8 rate on a grid 1.00–4.00 in steps of 0.01 on the FP4 pairs; each the value with the
 * least median |predicted ratio / measured ratio − 1| (the first on ties), each only on {@link MIN_PAIRS} pairs or
 * more. `undefined` when the BF16/FP8 pairs are too few.
 */
export function fitDeviceCapability(
  runs: readonly PublishedRun[],
  rows: ReadonlyMap<string, ValidationRow>,
  base: Calibration,
  device: string,
  reference: string,
  referenceMamf: number,
): DeviceCapabilityFit | undefined {
  const pairs = devicePairs(runs, rows, device, reference, 'dense');
  const gemmPairs = pairs.filter((pair) => pair.reference.precision !== 'fp4');
  const fp4Pairs = pairs.filter((pair) => pair.reference.precision === 'fp4');
  if (gemmPairs.length < MIN_PAIRS) return undefined;
  const withCapability = (capability: DeviceCapability): Calibration => ({
    ...base,
    deviceCapability: { ...base.deviceCapability, [device]: capability },
  });
  const best = (subset: readonly DevicePair[], values: readonly number[], apply: (value: number) => Calibration) => {
    let found = { value: values[0] ?? Number.NaN, error: Number.POSITIVE_INFINITY };
    for (const value of values) {
      const error = median(pairRatioErrors(subset, apply(value)));
      if (error < found.error) found = { value, error };
    }
    return found.value;
  };
  const factor = best(gemmPairs, grid(0.8, 1.6, 0.005), (value) =>
    withCapability({ bf16GemmTflops: Math.round(referenceMamf * value) }),
  );
  const bf16GemmTflops = Math.round(referenceMamf * factor);
  const fitFp4 = fp4Pairs.length >= MIN_PAIRS;
  const fp4OverFp8 = fitFp4
    ? best(fp4Pairs, grid(1, 4, 0.01), (ratio) => withCapability({ bf16GemmTflops, fp4OverFp8: ratio }))
    : undefined;
  return {
    capability: fp4OverFp8 === undefined ? { bf16GemmTflops } : { bf16GemmTflops, fp4OverFp8 },
    factor,
    gemmPairs,
    fp4Pairs,
    rows: [...gemmPairs, ...(fitFp4 ? fp4Pairs : [])].map((pair) => pair.run.id).sort(),
  };
}
