/**
 * Fits what training shows of a part the catalog has no GEMM measurement (MAMF) for, against a part it has one for
 * (src/perf/device-fit.ts, read by the calibration's `deviceCapability`). The method is an A/B on identical
 * software: a pair is one recipe of one release run on both parts (same source, i.e. release; same model, precision
 * as the row names it, sequence, global batch and GPU count), each row with the layout its recipe states. For each pair
 * the model's throughput ratio is held against the measured one, so what the model gets wrong for the recipe or the
 * release on both parts cancels, and only the part's own speed is fitted:
 * - `bf16GemmTflops`, the part's BF16 GEMM capability in MAMF units (the reference's MAMF times a grid factor 0.80–1.60
 *   in steps of 0.005), on the dense pairs that are not FP4 (for GB300: FP8, FP8-CS and MXFP8; no BF16 pair),
 *   minimising the median of |predicted ratio / measured ratio − 1|;
 * - then `fp4OverFp8`, the rate of its FP4 GEMMs over its FP8 GEMMs (grid 1.00–4.00 in steps of 0.01), on the dense
 *   NVFP4 pairs, the same way.
 * A constant is fitted only on 4 pairs or more (src/validation/device-pairs.ts). The part's MoE rows are not fitted on:
 * they check the fit (printed below, docs/validation.md). The errors are printed per model as well as pooled. Only the
 * Megatron set (data/calibration/published-runs.calibration.json) has such pairs. A part with a measured MAMF is not
 * fitted: its measurement is used.
 * Run with `npx tsx scripts/fit-device-capability.ts`; it rewrites src/perf/device-fit.ts and prints the errors.
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findAccelerator } from '../src/catalog/index.js';
import { type Calibration, DEFAULT_CALIBRATION } from '../src/perf/calibration.js';
import { median } from '../src/telemetry/megatron-ci.js';
import { type DevicePair, devicePairs, fitDeviceCapability, pairRatioErrors } from '../src/validation/device-pairs.js';
import { type PublishedRun, parsePublishedRuns } from '../src/validation/runs.js';
import { predictRun, summarize, type ValidationRow } from '../src/validation/validate.js';

const root = join(import.meta.dirname, '..');

/** Parts fitted, each against a reference part with a measured MAMF. */
const FITTED = [{ device: 'gb300', reference: 'gb200' }] as const;

const raw = JSON.parse(
  await readFile(join(root, 'data/calibration/published-runs.calibration.json'), 'utf8'),
) as unknown[];
const runs: PublishedRun[] = parsePublishedRuns(raw);

/** Rows predicted with `calibration`, by id. */
const predictAll = (subset: readonly PublishedRun[], calibration: Calibration) => {
  const rows = new Map<string, ValidationRow>();
  for (const run of subset) {
    const row = predictRun(run, { calibration });
    if (!('reason' in row)) rows.set(run.id, row);
  }
  return rows;
};
const pct = (value: number) => `${value.toFixed(1)}%`;
const absMedian = (values: readonly number[]) => summarize(values).medianPct;
/** Signed median of the ratio errors per model, in percent. */
const perModel = (pairs: readonly DevicePair[], calibration: Calibration) => {
  const groups = new Map<string, number[]>();
  for (const pair of pairs) {
    const [error] = pairRatioErrors([pair], calibration);
    if (error === undefined) continue;
    const group = groups.get(pair.run.model_name) ?? [];
    group.push(error);
    groups.set(pair.run.model_name, group);
  }
  return [...groups]
    .map(([model, errors]) => {
      const mid = median(errors) ?? 0;
      return `${model} ${errors.length} pairs ${mid >= 0 ? '+' : ''}${pct(100 * mid)}`;
    })
    .join(', ');
};

// Every row predicted once with the shipped calibration: the pairs and the reference rows come from it.
const base = predictAll(runs, DEFAULT_CALIBRATION);

const lines: string[] = [];
const fits: Record<
  string,
  { reference: string; bf16GemmTflops: number; fp4OverFp8?: number; rows: readonly string[] }
> = {};
for (const { device, reference } of FITTED) {
  const part = findAccelerator(device);
  if (!part.found) throw new Error(`the catalog lacks ${device}`);
  if (part.entry.measuredGemmTflops.bf16 !== undefined)
    throw new Error(
      `${device} has a measured MAMF in the catalog: it is used, not fitted; remove ${device} from FITTED`,
    );
  const referenceEntry = findAccelerator(reference);
  const referenceMamf = referenceEntry.found ? referenceEntry.entry.measuredGemmTflops.bf16?.value : undefined;
  if (referenceMamf === undefined) throw new Error(`reference ${reference} has no measured BF16 GEMM rate`);
  // Against the transfer without a fit: the ratio of dense peaks.
  const { [device]: _dropped, ...others } = DEFAULT_CALIBRATION.deviceCapability;
  const peaks: Calibration = { ...DEFAULT_CALIBRATION, deviceCapability: others };
  const fit = fitDeviceCapability(runs, base, peaks, device, reference, referenceMamf);
  if (!fit) {
    lines.push(`${device}: fewer BF16/FP8 pairs with ${reference} than a fit needs: not fitted`);
    continue;
  }
  const fitted: Calibration = { ...peaks, deviceCapability: { ...others, [device]: fit.capability } };
  lines.push(
    `${device} against ${reference} (MAMF ${referenceMamf} TFLOP/s): bf16GemmTflops ${fit.capability.bf16GemmTflops} (${fit.factor} × ${reference}) ` +
      `on ${fit.gemmPairs.length} pairs not FP4 (${[...new Set(fit.gemmPairs.map((pair) => pair.run.precision))].join(', ')}): ratio error median ` +
      `${pct(absMedian(pairRatioErrors(fit.gemmPairs, peaks)))} with the ratio of peaks, ${pct(absMedian(pairRatioErrors(fit.gemmPairs, fitted)))} fitted ` +
      `(per model, signed: ${perModel(fit.gemmPairs, fitted)})`,
  );
  lines.push(
    fit.capability.fp4OverFp8 === undefined
      ? `${device}: ${fit.fp4Pairs.length} FP4 pairs, too few: FP4 keeps the ratio of dense peaks`
      : `${device}: fp4OverFp8 ${fit.capability.fp4OverFp8} on ${fit.fp4Pairs.length} FP4 pairs: ratio error median ` +
          `${pct(absMedian(pairRatioErrors(fit.fp4Pairs, peaks)))} with the ratio of peaks, ${pct(absMedian(pairRatioErrors(fit.fp4Pairs, fitted)))} fitted ` +
          `(per model, signed: ${perModel(fit.fp4Pairs, fitted)})`,
  );
  // Checks on rows not fitted on: the part's MoE rows, and its MoE pairs with the reference.
  const moe = runs.filter((run) => base.get(run.id)?.gpu === device && base.get(run.id)?.arch === 'moe');
  const moeError = (calibration: Calibration) =>
    summarize([...predictAll(moe, calibration).values()].map((row) => row.error));
  const moePairs = devicePairs(runs, base, device, reference, 'moe');
  lines.push(
    `${device} MoE rows (held out, ${moe.length}): median ${pct(moeError(peaks).medianPct)} with the ratio of peaks, ${pct(moeError(fitted).medianPct)} fitted; ` +
      `${moePairs.length} MoE pairs: ratio error median ${pct(absMedian(pairRatioErrors(moePairs, peaks)))} with the ratio of peaks, ${pct(absMedian(pairRatioErrors(moePairs, fitted)))} fitted`,
  );
  fits[device] = { reference, ...fit.capability, rows: fit.rows };
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
