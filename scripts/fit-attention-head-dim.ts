/**
 * Fits how much the published attention kernels (FlashAttention-2/3, Triton) slow down at head dimensions other than
 * 128 (src/perf/attention-fit.ts): d½ of the factor [d/(d + d½)] / [128/(128 + d½)] that compute-rates.ts applies to
 * their rates (cuDNN keeps its own d½, measured on our H100 with one d = 64 point, h100-fit.ts). Only rows whose head
 * dimension is not 128 carry information on it: the fit minimises the median absolute error on the EVEN-indexed such
 * rows of data/calibration/published-runs.pytorch.json (position in the file) and reports the odd-indexed ones as held
 * out. Grid 0–80 in steps of 1. Run before scripts/fit-stack-efficiency.ts (whose GEMM shares then see the fitted
 * kernels): `npx tsx scripts/fit-attention-head-dim.ts`; it rewrites src/perf/attention-fit.ts and prints the errors.
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ATTENTION_FIT } from '../src/perf/attention-fit.js';
import { DEFAULT_CALIBRATION } from '../src/perf/calibration.js';
import { PublishedRunSchema } from '../src/validation/runs.js';
import { predictRun, summarize } from '../src/validation/validate.js';

const root = join(import.meta.dirname, '..');
const file = join(root, 'src/perf/attention-fit.ts');
const raw = JSON.parse(await readFile(join(root, 'data/calibration/published-runs.pytorch.json'), 'utf8')) as unknown[];
const rows = raw.flatMap((row, index) => {
  const parsed = PublishedRunSchema.safeParse(row);
  if (!parsed.success) return [];
  const run = parsed.data;
  const heads = run.heads ?? 0;
  const headDim = heads > 0 && run.hidden ? run.hidden / heads : 128;
  return headDim === 128 ? [] : [{ run, index, headDim }];
});

/** The errors of `subset` with d½ = `half` (through the calibration the estimate reads it from). */
function errors(subset: typeof rows, half: number): number[] {
  const calibration = { ...DEFAULT_CALIBRATION, publishedHeadDimHalf: half };
  return subset.flatMap(({ run }) => {
    const row = predictRun(run, { calibration }, 'pytorch');
    return 'reason' in row ? [] : [row.error];
  });
}

const shipped: number = ATTENTION_FIT.publishedHeadDimHalf;
const fitRows = rows.filter(({ index }) => index % 2 === 0);
const heldOut = rows.filter(({ index }) => index % 2 === 1);
let best = { half: shipped, error: Number.POSITIVE_INFINITY };
if (fitRows.length >= 4) {
  for (let half = 0; half <= 80; half++) {
    const error = summarize(errors(fitRows, half)).medianPct;
    if (error < best.error - 1e-9) best = { half, error };
  }
}
const held = summarize(errors(heldOut, best.half));
const before = summarize(errors(heldOut, shipped));
console.log(
  `head dims: ${[...new Set(rows.map((r) => r.headDim))].join(', ')}; fit rows ${fitRows.length}, held out ${heldOut.length}`,
);
console.log(`d½ = ${best.half} (fit rows median ${best.error.toFixed(1)}%)`);
console.log(
  `held out: median ${held.medianPct.toFixed(1)}% (with the shipped ${shipped}: ${before.medianPct.toFixed(1)}%), P90 ${held.p90Pct.toFixed(1)}%`,
);
const text = (await readFile(file, 'utf8')).replace(
  /publishedHeadDimHalf: [\d.]+,/,
  `publishedHeadDimHalf: ${best.half},`,
);
await writeFile(file, text);
