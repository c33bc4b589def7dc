/**
 * Fits the torchtitan profile's `allocatorCachedShare` (src/catalog/stacks.ts): torchtitan logs the caching
 * allocator's reserved peak (torchtitan metrics.py, max_reserved_gib), which exceeds the live tensors the memory
 * model counts (src/perf/memory.ts) by what the allocator keeps cached and fragmented. Closed form: reserved =
 * (1 + share) × tensors, so the share that minimises the median absolute log error on the fitted rows is the
 * median of stated / tensors, minus 1. Fitted on the EVEN-positioned rows (position in
 * data/calibration/published-runs.pytorch.json) that state their peak memory; the odd-positioned ones are held out.
 * Run with `npx tsx scripts/fit-allocator-share.ts`; it prints the share and the errors, and says whether the
 * shipped constant matches (it does not rewrite the profile).
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STACKS } from '../src/catalog/stacks.js';
import { PublishedRunSchema } from '../src/validation/runs.js';
import { predictRun, summarize } from '../src/validation/validate.js';

const root = join(import.meta.dirname, '..');
const raw = JSON.parse(await readFile(join(root, 'data/calibration/published-runs.pytorch.json'), 'utf8')) as unknown[];
const shipped = STACKS.torchtitan.memory?.allocatorCachedShare ?? 0;

/** Rows that state their peak, with their position in the file and the modelled live tensors (GiB). */
const rows = raw.flatMap((row, index) => {
  const parsed = PublishedRunSchema.safeParse(row);
  if (!parsed.success) return [];
  const predicted = predictRun(parsed.data, {}, 'pytorch');
  const memory = predicted.peakMemory;
  if (!memory) return [];
  // The reported figure is tensors × (1 + shipped share): divide it out to get the tensors alone.
  return [{ id: parsed.data.id, index, stated: memory.statedGiB, tensors: memory.predictedGiB / (1 + shipped) }];
});

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const fitRows = rows.filter((row) => row.index % 2 === 0);
const heldOut = rows.filter((row) => row.index % 2 === 1);
const share = Math.round((median(fitRows.map((row) => row.stated / row.tensors)) - 1) * 100) / 100;
const errors = (subset: typeof rows) => subset.map((row) => (row.tensors * (1 + share)) / row.stated - 1);
const line = (name: string, subset: typeof rows) => {
  const s = summarize(errors(subset));
  return `${name}: ${subset.length} rows, median ${s.medianPct.toFixed(1)}%, mean ${s.meanPct.toFixed(1)}%, P90 ${s.p90Pct.toFixed(1)}%`;
};
console.log(`allocatorCachedShare fitted on ${fitRows.length} even-positioned rows: ${share.toFixed(2)}`);
console.log(line('fitted rows', fitRows));
console.log(line('held out', heldOut));
console.log(line('all', rows));
for (const row of rows) {
  const error = (row.tensors * (1 + share)) / row.stated - 1;
  console.log(
    `  ${row.index % 2 === 0 ? 'fit ' : 'held'} ${row.id}: stated ${row.stated.toFixed(1)} GiB, tensors ${row.tensors.toFixed(1)}, error ${(100 * error).toFixed(1)}%`,
  );
}
console.log(
  share === shipped
    ? 'the shipped constant matches'
    : `the shipped constant is ${shipped}: update src/catalog/stacks.ts`,
);
