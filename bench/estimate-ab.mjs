/**
 * Before/after benchmark of `estimate` in one process: the bench/estimate.mjs case (Llama 3 405B on 16,384 H100,
 * TP8 PP16 DP128) on two builds, alternating short bursts of each so both meet the same machine load, timed in CPU
 * seconds of this process (process.cpuUsage) rather than wall time. Usage:
 *   node bench/estimate-ab.mjs <before-build-dir> <after-build-dir> [rounds]
 * where each directory holds a built tree (`dist/`, e.g. `git archive <rev> | tar -x -C dir` then
 * `npx tsc -p tsconfig.build.json` there). Writes bench/results/estimate-ab-<date>.json: estimates per CPU-second of
 * each build over all rounds, and the after/before ratio per round (median and quartiles).
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileAtomic } from '../dist/node/files.js';
import { ESTIMATE_CASE } from './estimate-case.mjs';

const [beforeDir, afterDir, roundsText] = process.argv.slice(2);
if (!beforeDir || !afterDir) {
  console.error('usage: node bench/estimate-ab.mjs <before-build-dir> <after-build-dir> [rounds]');
  process.exit(2);
}
const ROUNDS = Math.min(500, Math.max(5, Number(roundsText ?? 40) || 40));
/** Milliseconds of one burst of one build. */
const BURST_MS = 400;

const spec = ESTIMATE_CASE;

async function runner(directory) {
  const root = pathToFileURL(`${resolve(directory)}/`);
  const { estimate } = await import(new URL('dist/perf/estimate.js', root).href);
  const { loadSpec } = await import(new URL('dist/spec/load.js', root).href);
  const loaded = loadSpec(spec, 'yaml');
  if (!loaded.ok) throw new Error(`${directory}: ${JSON.stringify(loaded.issues)}`);
  const { workload, system, plan } = loaded.value;
  return { directory, run: () => estimate(workload, system, plan), estimates: 0, cpuSeconds: 0, step: 0 };
}

/** One burst: estimates and CPU seconds, added to the runner's totals; the rate of the burst. */
function burst(r, ms) {
  const start = process.cpuUsage();
  const end = performance.now() + ms;
  let n = 0;
  let step = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 500; i++) {
      const result = r.run();
      if (result.ok) step = result.step.seconds;
    }
    n += 500;
  }
  const used = process.cpuUsage(start);
  const seconds = (used.user + used.system) / 1e6;
  r.estimates += n;
  r.cpuSeconds += seconds;
  r.step = step;
  return n / seconds;
}

const runners = [await runner(beforeDir), await runner(afterDir)];
for (const r of runners) burst(r, 1500); // JIT warm-up, not counted
for (const r of runners) {
  r.estimates = 0;
  r.cpuSeconds = 0;
}
const ratios = [];
for (let k = 0; k < ROUNDS; k++) {
  // Alternate which build goes first, so neither always follows the other.
  const order = k % 2 === 0 ? [0, 1] : [1, 0];
  const rates = [0, 0];
  for (const i of order) rates[i] = burst(runners[i], BURST_MS);
  ratios.push(rates[1] / rates[0]);
}
const sorted = [...ratios].sort((a, b) => a - b);
const at = (q) => Number((sorted[Math.floor(q * (sorted.length - 1))] ?? 0).toFixed(3));
const [before, after] = runners;
const result = {
  benchmark: 'estimate before/after in one process: Llama 3 405B on 16,384 H100 (TP8 PP16 DP128)',
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
  rounds: ROUNDS,
  burstMilliseconds: BURST_MS,
  before: {
    build: before.directory,
    estimatesPerCpuSecond: Math.round(before.estimates / before.cpuSeconds),
    stepSeconds: before.step,
  },
  after: {
    build: after.directory,
    estimatesPerCpuSecond: Math.round(after.estimates / after.cpuSeconds),
    stepSeconds: after.step,
  },
  afterOverBefore: {
    overall: Number((after.estimates / after.cpuSeconds / (before.estimates / before.cpuSeconds)).toFixed(3)),
    perRoundMedian: at(0.5),
    perRoundQuartiles: [at(0.25), at(0.75)],
  },
};
const directory = join(import.meta.dirname, 'results');
await mkdir(directory, { recursive: true });
await writeFileAtomic(
  join(directory, `estimate-ab-${result.date.slice(0, 10)}.json`),
  `${JSON.stringify(result, null, 2)}\n`,
);
console.log(JSON.stringify(result, null, 2));
