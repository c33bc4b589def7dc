/**
 * Fits the constants of src/perf/calibration.ts on a declared subset of the published runs and prints them with
 * the errors on the fitted and the held-out rows. Each constant is fitted on its own subset:
 * - BF16 and FP8 sustained efficiency: dense models on H100;
 * - MoE layer efficiency: MoE models on H100;
 * - FP4 sustained efficiency: dense models on GB200 (no H100 runs FP4).
 * The objective is the median absolute percentage error on the subset; a grid in steps of 0.01.
 * Run with `npx tsx scripts/fit-training-efficiency.ts`, then copy the printed constants into calibration.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Calibration, DEFAULT_CALIBRATION } from '../src/perf/calibration.js';
import { type PublishedRun, parsePublishedRuns } from '../src/validation/runs.js';
import { predictRun, summarize, type ValidationRow } from '../src/validation/validate.js';

const root = join(import.meta.dirname, '..');
const raw = JSON.parse(
  await readFile(join(root, 'data/calibration/published-runs.calibration.json'), 'utf8'),
) as unknown[];
const runs: PublishedRun[] = parsePublishedRuns(raw);

const predict = (subset: PublishedRun[], calibration: Calibration): ValidationRow[] =>
  subset.flatMap((run) => {
    const row = predictRun(run, { calibration });
    return 'reason' in row ? [] : [row];
  });
const median = (rows: ValidationRow[]) => summarize(rows.map((row) => row.error)).medianPct;

// Which rows belong to which subset (decided once, with the shipped calibration).
const base = predict(runs, DEFAULT_CALIBRATION);
const ids = (test: (row: ValidationRow) => boolean) => new Set(base.filter(test).map((row) => row.id));
const subsets = {
  hopperDense: ids((row) => row.gpu === 'h100-sxm' && row.arch === 'dense'),
  hopperMoe: ids((row) => row.gpu === 'h100-sxm' && row.arch === 'moe'),
  fp4: ids((row) => row.gpu === 'gb200' && row.arch === 'dense' && row.precision === 'fp4'),
};
const rowsOf = (set: Set<string>) => runs.filter((run) => set.has(run.id));
const grid = (from: number, to: number) =>
  Array.from({ length: Math.round((to - from) / 0.01) + 1 }, (_, i) => from + i * 0.01);

let calibration: Calibration = {
  ...DEFAULT_CALIBRATION,
  sustainedEfficiency: { bf16: 1, fp8: 1, fp4: 1 },
  moeLayerEfficiency: 1,
};
// BF16 and FP8 jointly on dense H100 rows.
let best = { error: Number.POSITIVE_INFINITY, bf16: 1, fp8: 1 };
for (const bf16 of grid(0.6, 1)) {
  for (const fp8 of grid(0.5, 1)) {
    const candidate = { ...calibration, sustainedEfficiency: { bf16, fp8, fp4: 1 } };
    const error = median(predict(rowsOf(subsets.hopperDense), candidate));
    if (error < best.error) best = { error, bf16, fp8 };
  }
}
calibration = { ...calibration, sustainedEfficiency: { bf16: best.bf16, fp8: best.fp8, fp4: 1 } };
// FP4 on GB200 dense rows, then the MoE layer on H100 MoE rows.
const fitOne = (subset: Set<string>, values: number[], apply: (value: number) => Calibration) => {
  let bestValue = values[0] ?? 1;
  let bestError = Number.POSITIVE_INFINITY;
  for (const value of values) {
    const error = median(predict(rowsOf(subset), apply(value)));
    if (error < bestError) {
      bestError = error;
      bestValue = value;
    }
  }
  return bestValue;
};
const fp4 = fitOne(subsets.fp4, grid(0.3, 1), (value) => ({
  ...calibration,
  sustainedEfficiency: { ...calibration.sustainedEfficiency, fp4: value },
}));
calibration = { ...calibration, sustainedEfficiency: { ...calibration.sustainedEfficiency, fp4 } };
const moeLayerEfficiency = fitOne(subsets.hopperMoe, grid(0.4, 1), (value) => ({
  ...calibration,
  moeLayerEfficiency: value,
}));
calibration = { ...calibration, moeLayerEfficiency };

const round = (value: number) => Number(value.toFixed(2));
const fitted = {
  sustainedEfficiency: {
    bf16: round(calibration.sustainedEfficiency.bf16),
    fp8: round(calibration.sustainedEfficiency.fp8),
    fp4: round(calibration.sustainedEfficiency.fp4),
  },
  moeLayerEfficiency: round(calibration.moeLayerEfficiency),
};
const all = predict(runs, { ...DEFAULT_CALIBRATION, ...fitted });
const fitIds = new Set([...subsets.hopperDense, ...subsets.hopperMoe, ...subsets.fp4]);
const report = (rows: ValidationRow[]) => {
  const s = summarize(rows.map((row) => row.error));
  return `${s.rows} rows, median ${s.medianPct.toFixed(1)}%, P90 ${s.p90Pct.toFixed(1)}%`;
};
console.log(JSON.stringify(fitted, null, 2));
console.log(`fitted rows:   ${report(all.filter((row) => fitIds.has(row.id)))}`);
console.log(`held-out rows: ${report(all.filter((row) => !fitIds.has(row.id)))}`);
console.log(`  dense:       ${report(all.filter((row) => !fitIds.has(row.id) && row.arch === 'dense'))}`);
console.log(`  MoE:         ${report(all.filter((row) => !fitIds.has(row.id) && row.arch === 'moe'))}`);
