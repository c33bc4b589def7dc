/**
 * Benchmark of the digital twin (compiled code under plain node; `npm run bench` builds first):
 *   1. one replica of a 90-day run on 100,000 H100 with every process on (Weibull early-life GPU failures,
 *      asynchronous checkpoints, spares with shrinking, slow hosts, throttling, power timeline);
 *   2. a 1,000-replica study of the Llama 3 case (examples/llama3-405b-54d.yaml) on two worker threads, and the
 *      main thread's heap after 250 and 1,000 replicas (memory should not grow with the replicas).
 * Writes bench/results/twin.json.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { designOf } from '../dist/app/design.js';
import { runStudyWith } from '../dist/app/fan-out.js';
import { createInlineRunner } from '../dist/app/inline-runner.js';
import { writeFileAtomic } from '../dist/node/files.js';
import { createPiscinaRunner } from '../dist/node/piscina-runner.js';
import { loadSpec } from '../dist/spec/load.js';
import { simulateRun } from '../dist/twin/run.js';
import { twinConfig } from '../dist/twin/setup.js';

async function configOf(text) {
  const spec = loadSpec(text, 'yaml');
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  const design = await designOf(spec.value, createInlineRunner());
  if (!design.ok) throw new Error(JSON.stringify(design.issues));
  const config = twinConfig(design.value, spec.value.twin);
  if (!config.ok) throw new Error(JSON.stringify(config.issues));
  return config.value;
}

// 1. 100,000 GPUs for 90 days: Llama 3 70B, TP8 PP10 DP1250 on 800G NICs.
const bigText = `
workload: { model: llama3-70b, training: { totalTokens: 200T, sequenceLength: 8192, globalBatch: { sequences: 5000 } } }
system: { accelerator: h100-sxm, gpuCount: 100000, scaleOut: { nicBandwidthGbps: 800 } }
plan: { tp: 8, pp: 10, dp: 1250, microBatch: 1, recomputation: selective }
facility: { cooling: direct-liquid }
twin:
  days: 90
  failures: { gpu: { weibullShape: 0.8 }, hbm: { weibullShape: 0.8 } }
  checkpoint: { mode: async, storageGBps: 2000 }
  spares: { policy: shrink }
`;
const big = await configOf(bigText);
// The same with blocking checkpoints (Young/Daly interval for a blocking write): an event pair per checkpoint.
const bigBlocking = await configOf(bigText.replace('mode: async', 'mode: blocking'));
function time(config) {
  for (let i = 0; i < 2; i++) simulateRun(config, 1, i); // warm up
  const runs = [];
  let last;
  for (let replica = 0; replica < 5; replica++) {
    const start = performance.now();
    last = simulateRun(config, 7, replica);
    runs.push((performance.now() - start) / 1000);
  }
  runs.sort((a, b) => a - b);
  return {
    seconds: Number((runs[2] ?? 0).toFixed(3)),
    kernelEvents: last.kernelEvents,
    unexpectedInterruptions: last.summary.unexpectedInterruptions,
    checkpoints: last.summary.checkpoints,
    checkpointIntervalSeconds: Number(config.checkpoint.intervalSeconds.toFixed(1)),
    ettr: Number(last.summary.ettr.toFixed(4)),
    finishedDays: last.summary.finished ? Number(last.summary.wallDays.toFixed(1)) : null,
    timelineBuckets: last.timeline.tokensPerSecond.length,
  };
}
const asyncRun = time(big);
const blockingRun = time(bigBlocking);

// 2. The Llama 3 study on two threads.
const llama = await configOf(readFileSync(join(import.meta.dirname, '..', 'examples', 'llama3-405b-54d.yaml'), 'utf8'));
const runner = createPiscinaRunner(2);
await runStudyWith(runner, llama, { replicas: 50, seed: 99 }); // start the workers
const heap = {};
const studies = {};
for (const replicas of [250, 1000]) {
  globalThis.gc?.();
  const start = performance.now();
  const study = await runStudyWith(runner, llama, { replicas, seed: 1 });
  studies[replicas] = { seconds: (performance.now() - start) / 1000, ettrP50: study.figures.ettr.p50 };
  globalThis.gc?.();
  heap[replicas] = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
}
await runner.close();

const result = {
  benchmark: 'digital twin',
  date: new Date().toISOString(),
  node: process.version,
  oneReplica100kGpus90DaysAsyncCheckpoints: asyncRun,
  oneReplica100kGpus90DaysBlockingCheckpoints: blockingRun,
  llamaStudy1000ReplicasTwoThreads: {
    seconds: Number(studies[1000].seconds.toFixed(2)),
    replicasPerSecond: Math.round(1000 / studies[1000].seconds),
    ettrP50: Number(studies[1000].ettrP50.toFixed(4)),
  },
  mainHeapMiB: { after250Replicas: heap[250], after1000Replicas: heap[1000], gcExposed: Boolean(globalThis.gc) },
};
const directory = join(import.meta.dirname, 'results');
await mkdir(directory, { recursive: true });
await writeFileAtomic(join(directory, 'twin.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
