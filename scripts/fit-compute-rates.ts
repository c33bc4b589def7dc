/**
 * Fits the compute-rate model to data/calibration/h100-microbench.json and writes src/perf/h100-fit.ts.
 * Run with `npx tsx scripts/fit-compute-rates.ts` after the microbenchmark changes.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/node/files.js';
import { fitH100 } from '../src/perf/h100-microbench.js';

const root = join(import.meta.dirname, '..');
const bench = JSON.parse(await readFile(join(root, 'data/calibration/h100-microbench.json'), 'utf8'));
const fit = fitH100(bench);
const text = `/**
 * Compute-rate constants fitted to one H100 SXM (data/calibration/h100-microbench.json) by
 * scripts/fit-compute-rates.ts. Generated: do not edit by hand; test/compute-fit.test.ts checks it.
 * @module
 */

/** The fitted H100 constants and how well they reproduce the measurements. */
export const H100_FIT = ${JSON.stringify(fit, null, 2)} as const;
`;
await writeFileAtomic(join(root, 'src/perf/h100-fit.ts'), text);
console.log(JSON.stringify(fit, null, 2));
