/**
 * Fits the GEMM efficiency of the stacks other than the calibration's own (src/perf/stack-fit.ts): for each stack and
 * precision, the share of the calibrated GEMM rate (src/perf/calibration.ts, fitted on Megatron-Core and NeMo rows)
 * that minimises the median absolute error on the EVEN-indexed rows (position in the row's file) of that stack and
 * precision; the odd-indexed rows are held out and reported apart (docs/validation.md). A stack and precision with
 * fewer than 4 fitting rows is not fitted (kept at 1): no constant is fitted to a row or two. Grid in steps of 0.01.
 * Stacks and the file whose rows they are fitted on:
 * - pytorch-fsdp and torchtitan: data/calibration/published-runs.pytorch.json;
 * - megatron-lm-2021, megatron-lm-2022 and megatron-deepspeed: data/calibration/published-runs.calibration.json.
 * Not fitted: megatron-core and nemo, whose rows the calibration itself is fitted on (a second factor would fit them
 * twice), and deepspeed-zero, whose rows are communication-bound (Narayanan et al. 2021 Table 2: ZeRO-3 throughput
 * halves when the GPUs double at a fixed batch), which no GEMM factor can represent.
 * Run with `npx tsx scripts/fit-stack-efficiency.ts`; it rewrites src/perf/stack-fit.ts and prints the errors.
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type PublishedRun, PublishedRunSchema } from '../src/validation/runs.js';
import { predictRun, summarize, type ValidationRow } from '../src/validation/validate.js';

const root = join(import.meta.dirname, '..');

/** The stacks fitted, each with the file (and validation set name) of its rows. */
const FITTED = [
  { stack: 'pytorch-fsdp', file: 'published-runs.pytorch.json', set: 'pytorch' },
  { stack: 'torchtitan', file: 'published-runs.pytorch.json', set: 'pytorch' },
  { stack: 'megatron-lm-2021', file: 'published-runs.calibration.json', set: 'runs' },
  { stack: 'megatron-lm-2022', file: 'published-runs.calibration.json', set: 'runs' },
  { stack: 'megatron-deepspeed', file: 'published-runs.calibration.json', set: 'runs' },
] as const;
const PRECISIONS = ['bf16', 'fp8'] as const;

/** Rows fitted on: even positions in their file. */
export const isStackFitRow = (index: number): boolean => index % 2 === 0;

async function readRuns(file: string) {
  const raw = JSON.parse(await readFile(join(root, 'data/calibration', file), 'utf8')) as unknown[];
  return raw.flatMap((row, index) => {
    const parsed = PublishedRunSchema.safeParse(row);
    return parsed.success ? [{ run: parsed.data, index }] : [];
  });
}

const predict = (subset: readonly PublishedRun[], set: string, gemmEfficiency?: number): ValidationRow[] =>
  subset.flatMap((run) => {
    const row = predictRun(run, {}, set, gemmEfficiency === undefined ? {} : { gemmEfficiency });
    return 'reason' in row ? [] : [row];
  });

const files = new Map<string, Awaited<ReturnType<typeof readRuns>>>();
for (const { file } of FITTED) if (!files.has(file)) files.set(file, await readRuns(file));

const fit: Record<string, Record<string, number>> = {};
const grid = Array.from({ length: 81 }, (_, i) => Math.round((0.6 + i * 0.01) * 100) / 100);
for (const { stack, file, set } of FITTED) {
  const runs = files.get(file) ?? [];
  const base = predict(
    runs.map(({ run }) => run),
    set,
  );
  const byId = new Map(base.map((row) => [row.id, row]));
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
    let best = { value: 1, error: summarize(predict(fitRows, set, 1).map((r) => r.error)).medianPct };
    if (fitRows.length >= 4) {
      for (const value of grid) {
        const error = summarize(predict(fitRows, set, value).map((r) => r.error)).medianPct;
        if (error < best.error) best = { value, error };
      }
    } else {
      best = { value: 1, error: best.error };
    }
    (fit[stack] as Record<string, number>)[precision] = best.value;
    const held = summarize(predict(heldOut, set, best.value).map((r) => r.error));
    console.log(
      `${stack} ${precision}: ${best.value} (fit rows ${fitRows.length}, median ${fitRows.length ? best.error.toFixed(1) : '-'}%; held out ${held.rows}, median ${held.rows ? held.medianPct.toFixed(1) : '-'}%, mean ${held.rows ? held.meanPct.toFixed(1) : '-'}%)${fitRows.length < 4 ? ' not fitted: fewer than 4 rows' : ''}`,
    );
  }
}

const entries = FITTED.map(({ stack }) => {
  const key = stack.includes('-') ? `'${stack}'` : stack;
  return `  ${key}: { bf16: ${fit[stack]?.bf16}, fp8: ${fit[stack]?.fp8} },`;
}).join('\n');
await writeFile(
  join(root, 'src/perf/stack-fit.ts'),
  `/**
 * GEMM efficiency of the stacks other than the calibration's own, relative to the calibrated rate, fitted by
 * scripts/fit-stack-efficiency.ts on the even-indexed rows of each stack (PyTorch stacks in
 * data/calibration/published-runs.pytorch.json, older Megatron stacks in data/calibration/published-runs.calibration.json;
 * the odd-indexed rows are held out; docs/validation.md reports both). Generated: do not edit by hand.
 * @module
 */

/** Fitted efficiency per stack and precision (1 where fewer than 4 rows could be fitted on). */
export const STACK_FIT = {
${entries}
} as const;
`,
);
