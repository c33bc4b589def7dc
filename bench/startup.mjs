/**
 * Cold start of the CLI (compiled code under plain node; `npm run bench` builds first): whole-process wall time of
 * `--version`, `check`, `estimate` and `catalog models` from spawn to exit, best and median of 7 runs each, beside
 * the load average they ran under. Writes bench/results/startup.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../dist/node/files.js';

const root = join(import.meta.dirname, '..');
const COMMANDS = {
  version: ['--version'],
  check: ['check', 'examples/llama3-70b.yaml'],
  estimate: ['estimate', 'examples/llama3-405b.yaml'],
  catalogModels: ['catalog', 'models'],
};
const RUNS = 7;

const results = {};
for (const [name, argv] of Object.entries(COMMANDS)) {
  const seconds = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    const child = spawnSync(process.execPath, [join(root, 'bin', 'tokenworks.js'), ...argv], { cwd: root });
    seconds.push((performance.now() - start) / 1000);
    if (child.status !== 0) throw new Error(`${name}: exit ${child.status}: ${child.stderr}`);
  }
  seconds.sort((a, b) => a - b);
  results[name] = {
    bestSeconds: Number(seconds[0].toFixed(3)),
    medianSeconds: Number(seconds[RUNS >> 1].toFixed(3)),
  };
}
const nodeAlone = [];
for (let run = 0; run < RUNS; run++) {
  const start = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  nodeAlone.push((performance.now() - start) / 1000);
}
nodeAlone.sort((a, b) => a - b);
const result = {
  benchmark: 'CLI cold start',
  date: new Date().toISOString(),
  node: process.version,
  loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
  nodeAloneBestSeconds: Number(nodeAlone[0].toFixed(3)),
  ...results,
};
const directory = join(import.meta.dirname, 'results');
await mkdir(directory, { recursive: true });
await writeFileAtomic(join(directory, 'startup.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
