/**
 * Fits what training shows of a part the catalog has no GEMM measurement (MAMF) for, against a part it has one for
 * (src/perf/device-fit.ts, read by the calibration's `deviceCapability`). The method is an A/B on identical
 * software: a pair is one recipe of one release run on both parts (same source, i.e. release; same model, precision
 * as the row names it, sequence, global batch and GPU count), each row with the layout its recipe states. For each pair
 * the model's throughput ratio is held against the measured one, so what the model gets wrong for the recipe or the
 * release on both parts cancels, and only the part's own speed is fitted:
 * - `bf16GemmTflops`, the part's BF16 GEMM capability in MAMF units (the reference's MAMF times a grid factor 0.80–1.60
 *   in steps of 0.005), on the dense pairs at BF16 and FP8 (FP8, FP8-CS, MXFP8), minimising the median of
 *   |predicted ratio / measured ratio − 1|;
 * - then `fp4OverFp8`, the rate of its FP4 GEMMs over its FP8 GEMMs (grid 1.00–4.00 in steps of 0.01), on the dense
 *   NVFP4 pairs, the same way.
 * A constant is fitted only on 4 pairs or more. The MoE rows of the part are not fitted on: they check the fit
 * (printed below and in docs/validation.md). Only the Megatron set (data/calibration/published-runs.calibration.json)
 * has such pairs.
 * Run with `npx tsx scripts/fit-device-capability.ts`; it rewrites src/perf/device-fit.ts and prints the errors.
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findAccelerator } from '../src/catalog/index.js';
import { type Calibration, DEFAULT_CALIBRATION, type DeviceCapability } from '../src/perf/calibration.js';
import { type PublishedRun, parsePublishedRuns } from '../src/validation/runs.js';
import { predictRun, summarize, type ValidationRow } from '../src/validation/validate.js';

const root = join(import.meta.dirname, '..');

/** Parts fitted, each against a reference part with a measured MAMF. */
const FITTED = [{ device: 'gb300', reference: 'gb200' }] as const;
const MIN_PAIRS = 4;

const raw = JSON.parse(
  await readFile(join(root, 'data/calibration/published-runs.calibration.json'), 'utf8'),
) as unknown[];
const runs: PublishedRun[] = parsePublishedRuns(raw);
const runById = new Map(runs.map((run) => [run.id, run]));

const predict = (run: PublishedRun, calibration: Calibration): ValidationRow | undefined => {
  const row = predictRun(run, { calibration });
  return 'reason' in row ? undefined : row;
};
const median = (values: readonly number[]) => summarize(values).medianPct;
const grid = (from: number, to: number, step: number) =>
  Array.from({ length: Math.round((to - from) / step) + 1 }, (_, i) => Math.round((from + i * step) * 1e6) / 1e6);

/** The recipe a row runs, as far as the row states it. */
const recipeKey = (run: PublishedRun) =>
  JSON.stringify([run.source, run.model_name, run.precision, run.seq_len, run.global_batch_sequences, run.num_gpus]);

interface Pair {
  readonly device: PublishedRun;
  readonly reference: ValidationRow;
  readonly measuredRatio: number;
}

const base = runs.flatMap((run) => {
  const row = predict(run, DEFAULT_CALIBRATION);
  return row ? [row] : [];
});

const lines: string[] = [];
const fits: Record<string, { reference: string; bf16GemmTflops: number; fp4OverFp8?: number; rows: string[] }> = {};
for (const { device, reference } of FITTED) {
  const referenceEntry = findAccelerator(reference);
  const referenceMamf = referenceEntry.found ? referenceEntry.entry.measuredGemmTflops.bf16?.value : undefined;
  if (referenceMamf === undefined) throw new Error(`reference ${reference} has no measured BF16 GEMM rate`);
  const references = new Map<string, ValidationRow>();
  for (const row of base) {
    const run = runById.get(row.id);
    if (run && row.gpu === reference && row.arch === 'dense') references.set(recipeKey(run), row);
  }
  const pairs: Pair[] = [];
  for (const row of base) {
    const run = runById.get(row.id);
    const partner = run && row.gpu === device && row.arch === 'dense' ? references.get(recipeKey(run)) : undefined;
    if (run && partner && partner.metric === row.metric)
      pairs.push({ device: run, reference: partner, measuredRatio: row.measured / partner.measured });
  }
  const withCapability = (capability: DeviceCapability): Calibration => ({
    ...DEFAULT_CALIBRATION,
    deviceCapability: { ...DEFAULT_CALIBRATION.deviceCapability, [device]: capability },
  });
  const ratioErrors = (subset: readonly Pair[], calibration: Calibration) =>
    subset.flatMap((pair) => {
      const row = predict(pair.device, calibration);
      return row ? [row.predicted / pair.reference.predicted / pair.measuredRatio - 1] : [];
    });
  const fitOn = (subset: readonly Pair[], values: readonly number[], apply: (value: number) => Calibration) => {
    let best = { value: Number.NaN, error: Number.POSITIVE_INFINITY };
    for (const value of values) {
      const error = median(ratioErrors(subset, apply(value)));
      if (error < best.error) best = { value, error };
    }
    return best;
  };
  const isFp4 = (pair: Pair) => pair.reference.precision === 'fp4';
  const gemmPairs = pairs.filter((pair) => !isFp4(pair));
  const fp4Pairs = pairs.filter(isFp4);
  if (gemmPairs.length < MIN_PAIRS) {
    lines.push(`${device}: ${gemmPairs.length} BF16/FP8 pairs with ${reference}, fewer than ${MIN_PAIRS}: not fitted`);
    continue;
  }
  const gemm = fitOn(gemmPairs, grid(0.8, 1.6, 0.005), (factor) =>
    withCapability({ bf16GemmTflops: Math.round(referenceMamf * factor) }),
  );
  const bf16GemmTflops = Math.round(referenceMamf * gemm.value);
  let fp4OverFp8: number | undefined;
  if (fp4Pairs.length >= MIN_PAIRS) {
    const fp4 = fitOn(fp4Pairs, grid(1, 4, 0.01), (ratio) => withCapability({ bf16GemmTflops, fp4OverFp8: ratio }));
    fp4OverFp8 = fp4.value;
  }
  const fitted = withCapability(fp4OverFp8 === undefined ? { bf16GemmTflops } : { bf16GemmTflops, fp4OverFp8 });
  // Against the transfer without a fit: the ratio of dense peaks.
  const before = 'ratio of peaks';
  const { [device]: _dropped, ...others } = DEFAULT_CALIBRATION.deviceCapability;
  const shipped: Calibration = { ...DEFAULT_CALIBRATION, deviceCapability: others };
  const pct = (value: number) => `${value.toFixed(1)}%`;
  lines.push(
    `${device} against ${reference} (MAMF ${referenceMamf} TFLOP/s): bf16GemmTflops ${bf16GemmTflops} (${gemm.value} × ${reference}), ` +
      `on ${gemmPairs.length} BF16/FP8 pairs: ratio error median ${pct(median(ratioErrors(gemmPairs, shipped)))} with the ${before}, ` +
      `${pct(median(ratioErrors(gemmPairs, fitted)))} fitted`,
  );
  lines.push(
    fp4OverFp8 === undefined
      ? `${device}: ${fp4Pairs.length} FP4 pairs, fewer than ${MIN_PAIRS}: FP4 keeps the ratio of dense peaks`
      : `${device}: fp4OverFp8 ${fp4OverFp8} on ${fp4Pairs.length} FP4 pairs: ratio error median ${pct(median(ratioErrors(fp4Pairs, shipped)))} with the ${before}, ${pct(median(ratioErrors(fp4Pairs, fitted)))} fitted`,
  );
  // Check on rows not fitted on: the part's MoE rows.
  const moe = runs.filter((run) => base.some((row) => row.id === run.id && row.gpu === device && row.arch === 'moe'));
  const moeErrors = (calibration: Calibration) =>
    moe.flatMap((run) => {
      const row = predict(run, calibration);
      return row ? [row.error] : [];
    });
  const shippedMoe = summarize(moeErrors(shipped));
  const fittedMoe = summarize(moeErrors(fitted));
  lines.push(
    `${device} MoE rows (held out, ${fittedMoe.rows}): median ${pct(shippedMoe.medianPct)} with the ${before}, ${pct(fittedMoe.medianPct)} fitted`,
  );
  fits[device] = {
    reference,
    bf16GemmTflops,
    ...(fp4OverFp8 === undefined ? {} : { fp4OverFp8 }),
    rows: [...gemmPairs, ...(fp4OverFp8 === undefined ? [] : fp4Pairs)].map((pair) => pair.device.id).sort(),
  };
}
for (const line of lines) console.log(line);

const entries = Object.entries(fits)
  .map(
    ([device, fit]) =>
      `  ${device}: {\n    reference: '${fit.reference}',\n    bf16GemmTflops: ${fit.bf16GemmTflops},\n` +
      (fit.fp4OverFp8 === undefined ? '' : `    fp4OverFp8: ${fit.fp4OverFp8},\n`) +
      `    rows: [\n${fit.rows.map((id) => `      '${id}',`).join('\n')}\n    ],\n  },`,
  )
  .join('\n');
await writeFile(
  join(root, 'src/perf/device-fit.ts'),
  `/**
 * What training shows of parts the catalog has no GEMM measurement for, fitted by scripts/fit-device-capability.ts on
 * pairs of one recipe of one release run on the part and on a reference part with a measured MAMF
 * (data/calibration/published-runs.calibration.json): ${lines.join('; ')}. Generated: do not edit by hand.
 * @module
 */

import type { DeviceFit } from './device-capability.js';

/** Fitted capability per catalog accelerator, with the reference part and the rows fitted on. */
export const DEVICE_FIT: Readonly<Record<string, DeviceFit>> = {
${entries}
};
`,
);
