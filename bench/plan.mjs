/**
 * Benchmark: a full plan search for Llama 3 405B on 16,384 H100 (16M-token batch), one thread. Reports the wall
 * time of the search (median of 101), estimates per second (a layout that runs out of memory is estimated again
 * with each memory saving, so a search makes more estimates than it has layouts) and layouts searched per second.
 * Runs the compiled code (dist/) with plain node, as the CLI does: `npm run bench` builds first. Writes
 * bench/results/plan.json.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../dist/node/files.js';
import { planKey, searchPlans } from '../dist/plan/search.js';
import { loadSpec } from '../dist/spec/load.js';

const loaded = loadSpec(
  `workload: { model: llama3-405b, training: { totalTokens: 15.6T, sequenceLength: 8192, globalBatch: { sequences: 2048 } } }
system: { accelerator: h100-sxm, gpuCount: 16384, scaleOut: { nicBandwidthGbps: 400, podSize: 3072, oversubscription: 7 } }`,
  'yaml',
);
if (!loaded.ok || !loaded.value.system) throw new Error(JSON.stringify(loaded));
const { workload } = loaded.value;
const system = loaded.value.system;

for (let i = 0; i < 50; i++) searchPlans(workload, system); // warm up the JIT
const runs = [];
let last = searchPlans(workload, system);
for (let i = 0; i < 101; i++) {
  const start = performance.now();
  last = searchPlans(workload, system);
  runs.push({ seconds: (performance.now() - start) / 1000, estimates: last.estimates, candidates: last.candidates });
}
runs.sort((a, b) => a.seconds - b.seconds);
const median = runs[50] ?? runs[0];
if (!median) throw new Error('no runs');
const result = {
  benchmark: 'plan search: Llama 3 405B on 16,384 H100, one thread',
  date: new Date().toISOString(),
  node: process.version,
  searchSeconds: Number(median.seconds.toFixed(4)),
  candidates: median.candidates,
  estimatesPerSecond: Math.round(median.estimates / median.seconds),
  layoutsPerSecond: Math.round(median.candidates / median.seconds),
  estimates: median.estimates,
  feasible: last.feasible,
  rejected: last.rejected,
  best: last.best.slice(0, 3).map((b) => ({
    plan: planKey(b.plan),
    tokensPerSecondPerGpu: Math.round(b.estimate.tokensPerSecondPerGpu),
    mfu: Number(b.estimate.mfu.toFixed(3)),
  })),
};
const directory = join(import.meta.dirname, 'results');
await mkdir(directory, { recursive: true });
await writeFileAtomic(join(directory, 'plan.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
