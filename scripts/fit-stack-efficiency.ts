/**
 * Fits the GEMM efficiency of the PyTorch stacks (src/perf/stack-fit.ts): for each stack and precision, the share of
 * the calibrated GEMM rate (src/perf/calibration.ts, fitted on Megatron-Core) that minimises the median absolute
 * error on the EVEN-indexed rows (position in data/calibration/published-runs.pytorch.json) of that stack and
 * precision; the odd-indexed rows are held out and reported apart (docs/validation.md). A stack and precision with
 * fewer than 4 fitting rows is not fitted (kept at 1): no constant is fitted to a row or two. Grid in steps of 0.01.
 * Run with `npx tsx scripts/fit-stack-efficiency.ts`; it rewrites src/perf/stack-fit.ts and prints the errors.
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type PublishedRun, PublishedRunSchema } from '../src/validation/runs.js';
import { predictRun, summarize, type ValidationRow } from '../src/validation/validate.js';

const root = join(import.meta.dirname, '..');
const raw = JSON.parse(await readFile(join(root, 'data/calibration/published-runs.pytorch.json'), 'utf8')) as unknown[];
const runs = raw.flatMap((row, index) => {
  const parsed = PublishedRunSchema.safeParse(row);
  return parsed.success ? [{ run: parsed.data, index }] : [];
});

/** Rows fitted on: even positions in the file. */
export const isStackFitRow = (index: number): boolean => index % 2 === 0;

const predict = (subset: readonly PublishedRun[], gemmEfficiency?: number): ValidationRow[] =>
  subset.flatMap((run) => {
    const row = predictRun(run, {}, 'pytorch', gemmEfficiency === undefined ? {} : { gemmEfficiency });
    return 'reason' in row ? [] : [row];
  });

const base = predict(runs.map(({ run }) => run));
const byId = new Map(base.map((row) => [row.id, row]));
const STACKS = ['pytorch-fsdp', 'torchtitan'] as const;
const PRECISIONS = ['bf16', 'fp8'] as const;
const fit: Record<string, Record<string, number>> = {};
const grid = Array.from({ length: 81 }, (_, i) => Math.round((0.6 + i * 0.01) * 100) / 100);
for (const stack of STACKS) {
  fit[stack] = {};
  for (const precision of PRECISIONS) {
    const of = (even: boolean) =>
      runs
        .filter(({ run, index }) => {
          const row = byId.get(run.id);
          return row?.stack === stack && row.precision === precision && isStackFitRow(index) === even;
        })
        .map(({ run }) => run);
    const fitRows = of(true);
    const heldOut = of(false);
    let best = { value: 1, error: summarize(predict(fitRows, 1).map((r) => r.error)).medianPct };
    if (fitRows.length >= 4) {
      for (const value of grid) {
        const error = summarize(predict(fitRows, value).map((r) => r.error)).medianPct;
        if (error < best.error) best = { value, error };
      }
    }
    (fit[stack] as Record<string, number>)[precision] = best.value;
    const held = summarize(predict(heldOut, best.value).map((r) => r.error));
    console.log(
      `${stack} ${precision}: ${best.value} (fit rows ${fitRows.length}, median ${best.error.toFixed(1)}%; held out ${held.rows}, median ${held.medianPct.toFixed(1)}%, P90 ${held.p90Pct.toFixed(1)}%)${fitRows.length < 4 ? ' not fitted: fewer than 4 rows' : ''}`,
    );
  }
}

const entries = STACKS.map((stack) => {
  const key = stack.includes('-') ? `'${stack}'` : stack;
  return `  ${key}: { bf16: ${fit[stack]?.bf16}, fp8: ${fit[stack]?.fp8} },`;
}).join('\n');
await writeFile(
  join(root, 'src/perf/stack-fit.ts'),
  `/**
 * GEMM efficiency of the non-Megatron stacks relative to the calibrated rate, fitted by
 * scripts/fit-stack-efficiency.ts on the even-indexed rows of each stack in data/calibration/published-runs.pytorch.json
 * (the odd-indexed rows are held out; docs/validation.md reports both). Generated: do not edit by hand.
 * @module
 */

/** Fitted efficiency per stack and precision (1 where fewer than 4 rows could be fitted on). */
export const STACK_FIT = {
${entries}
} as const;
`,
);
