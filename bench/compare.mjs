/**
 * Benchmark of the default comparison (examples/breakpoint.yaml: Llama 3 70B, 64 to 16,384 H100, a 32,768-GPU
 * shared cluster at 80% load) through the CLI on two worker threads, as a user runs it. Writes
 * bench/results/compare.json with the wall time and the breakpoint.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../dist/cli/main.js';
import { writeFileAtomic } from '../dist/node/files.js';

let stdout = '';
const start = performance.now();
const code = await runCli(['compare', 'examples/breakpoint.yaml', '--threads', '2', '--json'], {
  stdout: { write: (text) => (stdout += text) },
  stderr: { write: () => true, isTTY: false },
});
const seconds = (performance.now() - start) / 1000;
if (code !== 0) throw new Error(`compare exited with ${code}`);
const out = JSON.parse(stdout);
const at = (gpus) => out.points.find((p) => p.gpus === gpus);
const gap = (gpus) => {
  const p = at(gpus);
  return p
    ? {
        factoryDays: p.dedicated.timeToTrainDays,
        sharedDays: p.shared.timeToTrainDays,
        factoryUsdPerMillionTokens: p.dedicated.usdPerMillionTokens,
        sharedUsdPerMillionTokens: p.shared.usdPerMillionTokens,
      }
    : null;
};
const result = {
  benchmark: 'compare: examples/breakpoint.yaml, default sweep, 2 worker threads',
  date: new Date().toISOString(),
  node: process.version,
  seconds: Number(seconds.toFixed(1)),
  sizes: out.points.length + out.skipped.length,
  breakpoint: out.breakpoint,
  breakpointStatus: out.breakpointStatus,
  breakpointReason: out.breakpointReason,
  at1024: gap(1024),
  at16384: gap(16384),
};
const directory = join(import.meta.dirname, 'results');
await mkdir(directory, { recursive: true });
await writeFileAtomic(join(directory, 'compare.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
