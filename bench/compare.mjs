/**
 * Benchmark of the default comparison (examples/breakpoint.yaml: Llama 3 70B, 64 to 16,384 H100, a 32,768-GPU
 * shared cluster at 80% load) as a user runs it: `tokenworks compare examples/breakpoint.yaml --threads 2 --json`
 * in a cold process, several times. The wall time is measured here, from spawn to exit; the child's peak RSS
 * (worker threads included: they share the process) and CPU time come from its own `process.resourceUsage()` at
 * exit, reported on file descriptor 3 by a preloaded probe. The machine may be shared, so the load average is
 * recorded and the best run is the figure (every run is kept). Writes bench/results/compare.json with the best
 * wall time, peak RSS, CPU and the breakpoint. Runs: COMPARE_RUNS (default 3).
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../dist/node/files.js';

const root = join(import.meta.dirname, '..');
const args = ['compare', 'examples/breakpoint.yaml', '--threads', '2', '--json'];
const runs = Math.max(1, Number(process.env.COMPARE_RUNS ?? 3));
const probe = `data:text/javascript,${encodeURIComponent(
  "import { writeSync } from 'node:fs'; process.on('exit', () => { const u = process.resourceUsage(); " +
    'writeSync(3, JSON.stringify({ maxRssKB: u.maxRSS, userSeconds: u.userCPUTime / 1e6, systemSeconds: u.systemCPUTime / 1e6 })); });',
)}`;

/** One cold run: its wall time, the child's resource usage and its stdout. */
function run() {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['--import', probe, 'bin/tokenworks.js', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const chunks = { stdout: [], stderr: [], usage: [] };
    child.stdout.on('data', (chunk) => chunks.stdout.push(chunk));
    child.stderr.on('data', (chunk) => chunks.stderr.push(chunk));
    child.stdio[3].on('data', (chunk) => chunks.usage.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - start) / 1000;
      const text = (key) => Buffer.concat(chunks[key]).toString('utf8');
      if (code !== 0) return reject(new Error(`compare exited with ${code}: ${text('stderr')}`));
      const usage = JSON.parse(text('usage'));
      resolve({
        seconds: Number(seconds.toFixed(2)),
        cpuSeconds: Number((usage.userSeconds + usage.systemSeconds).toFixed(2)),
        peakRssMiB: Number((usage.maxRssKB / 1024).toFixed(1)),
        stdout: text('stdout'),
      });
    });
  });
}

const loadBefore = loadavg().map((l) => Number(l.toFixed(2)));
const results = [];
for (let i = 0; i < runs; i++) results.push(await run());
const loadAfter = loadavg().map((l) => Number(l.toFixed(2)));
if (results.some((r) => r.stdout !== results[0].stdout)) throw new Error('the runs gave different outputs');
const best = results.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const out = JSON.parse(best.stdout);
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
  benchmark: `compare: examples/breakpoint.yaml, default sweep, 2 worker threads, cold process (${args.join(' ')})`,
  date: new Date().toISOString(),
  node: process.version,
  cores: availableParallelism(),
  loadAverage: { before: loadBefore, after: loadAfter },
  runs: results.map(({ seconds, cpuSeconds, peakRssMiB }) => ({ seconds, cpuSeconds, peakRssMiB })),
  seconds: best.seconds,
  cpuSeconds: best.cpuSeconds,
  peakRssMiB: best.peakRssMiB,
  maxPeakRssMiB: Math.max(...results.map((r) => r.peakRssMiB)),
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
