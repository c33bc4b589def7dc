/**
 * Benchmark: estimates per second on one core for Llama 3 405B on 16,384 H100 (TP 8, PP 16, DP 128, the Llama 3
 * paper's 16K-GPU layout). Run with `npm run bench`; writes bench/results/estimate.json.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../dist/node/files.js';
import { estimate } from '../dist/perf/estimate.js';
import { loadSpec } from '../dist/spec/load.js';
import { ESTIMATE_CASE } from './estimate-case.mjs';

const spec = ESTIMATE_CASE;
const loaded = loadSpec(spec, 'yaml');
if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
const { workload } = loaded.value;
const system = loaded.value.system;
const plan = loaded.value.plan;
if (!system || !plan) throw new Error('spec lacks system or plan');
const run = () => estimate(workload, system, plan);

function measure(seconds) {
  let estimates = 0;
  let checksum = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) {
      const result = run();
      if (result.ok) checksum += result.step.seconds;
    }
    estimates += 1000;
  }
  if (checksum <= 0) throw new Error('no feasible estimate');
  return { estimates, elapsed: (performance.now() - start) / 1000 };
}

measure(1); // warm up the JIT
const runs = [measure(2), measure(2), measure(2)].map((run) => run.estimates / run.elapsed);
const perSecond = runs.sort((a, b) => a - b)[1] ?? 0;
const result = {
  benchmark: 'estimate: Llama 3 405B on 16,384 H100 (TP8 PP16 DP128)',
  date: new Date().toISOString(),
  node: process.version,
  estimatesPerSecond: Math.round(perSecond),
  runs: runs.map(Math.round),
  microsecondsPerEstimate: Number((1e6 / perSecond).toFixed(2)),
};
const directory = join(import.meta.dirname, 'results');
await mkdir(directory, { recursive: true });
await writeFileAtomic(join(directory, 'estimate.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
