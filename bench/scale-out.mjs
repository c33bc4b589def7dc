/**
 * Benchmark of the scale-out runner (compiled code under plain node; `npm run bench:scale-out` builds first): one
 * 20,000-replica twin study of examples/llama3-8b.yaml (about 4 ms a replica) on the inline runner, then on the
 * BullMQ queue runner served by 1, 2 and 4 local `tokenworks worker` processes (one thread each) against a
 * redis-server this script starts on 127.0.0.1 and stops by PID. Reports the throughput (replicas/s), the scaling
 * efficiency (throughput over workers × the one-worker throughput) and whether every runner's study summary is
 * equal to the inline one, and the CPU seconds the caller, the workers and Redis used (the cost per replica, which
 * other load on the machine changes far less than the wall clock). Writes bench/results/scale-out-<date>.json (the previous figures kept as `before`).
 * Set SCALE_OUT_REPLICAS for a shorter run.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { designOf } from '../dist/app/design.js';
import { runStudyWith } from '../dist/app/fan-out.js';
import { createInlineRunner } from '../dist/app/inline-runner.js';
import { writeFileAtomic } from '../dist/node/files.js';
import { createQueueRunner } from '../dist/node/queue-runner.js';
import { loadSpec } from '../dist/spec/load.js';
import { twinConfig } from '../dist/twin/setup.js';
import { previousFigures } from './previous.mjs';

const REPLICAS = Number(process.env.SCALE_OUT_REPLICAS ?? 20_000);
const SEED = 1;
const WORKERS = [1, 2, 4];
const root = join(import.meta.dirname, '..');

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const exited = (child) =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', resolve);
  });

async function stop(child) {
  if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 10_000);
  await exited(child);
  clearTimeout(timer);
}

async function startRedis() {
  const dir = await mkdtemp(join(tmpdir(), 'tokenworks-bench-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', [...args, '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    const ok = await new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('error', () => resolve(false));
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(String(data).startsWith('+PONG'));
      });
    });
    if (ok) break;
    if (i > 200) throw new Error('redis-server did not answer');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    stop: async () => {
      await stop(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startWorker(url, queue) {
  const child = spawn(
    process.execPath,
    [join(root, 'bin', 'tokenworks.js'), 'worker', '--redis', url, '--queue', queue, '--concurrency', '1'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (chunk) => {
    log += String(chunk);
  });
  while (!log.includes('serving queue')) {
    if (child.exitCode !== null) throw new Error(`worker exited: ${log}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { child, log: () => log };
}

const spec = loadSpec(await readFile(join(root, 'examples', 'llama3-8b.yaml'), 'utf8'), 'yaml');
if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
const design = await designOf(spec.value, createInlineRunner());
if (!design.ok) throw new Error(JSON.stringify(design.issues));
const configured = twinConfig(design.value, spec.value.twin);
if (!configured.ok) throw new Error(JSON.stringify(configured.issues));
const config = configured.value;

const load = { before: loadavg().map((x) => Number(x.toFixed(2))) };
const runs = [];
const studies = [];

/** CPU seconds (user + system, all threads) a process has used so far, from /proc (Linux; clock ticks of 1/100 s). */
async function cpuSecondsOf(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of this process and of `pids` together. */
async function cpuSeconds(pids) {
  const own = process.cpuUsage();
  const others = await Promise.all(pids.map(cpuSecondsOf));
  return (own.user + own.system) / 1e6 + others.reduce((sum, x) => sum + x, 0);
}

async function timed(kind, workers, runner, pids = []) {
  // A short study first: workers start their thread, the first jobs pay for module loading.
  await runStudyWith(runner, config, { replicas: 200, seed: 2 });
  const cpuBefore = await cpuSeconds(pids);
  const start = performance.now();
  const study = await runStudyWith(runner, config, { replicas: REPLICAS, seed: SEED });
  const seconds = (performance.now() - start) / 1000;
  const cpu = (await cpuSeconds(pids)) - cpuBefore;
  studies.push(study);
  runs.push({
    kind,
    workers,
    seconds: Number(seconds.toFixed(2)),
    replicasPerSecond: Math.round(REPLICAS / seconds),
    // The caller, the workers and redis-server together: what the replicas cost whatever else shares the cores.
    cpuSeconds: Number(cpu.toFixed(2)),
    replicasPerCpuSecond: Math.round(REPLICAS / cpu),
  });
  console.log(
    `${kind}${workers ? ` × ${workers}` : ''}: ${seconds.toFixed(1)} s, ${Math.round(REPLICAS / seconds)} replicas/s`,
  );
}

await timed('inline', 0, createInlineRunner());

const redis = await startRedis();
try {
  for (const count of WORKERS) {
    const queue = `bench-${count}`;
    const workers = await Promise.all(Array.from({ length: count }, () => startWorker(redis.url, queue)));
    const runner = createQueueRunner({ url: redis.url, queue });
    try {
      await timed('queue', count, runner, [redis.pid, ...workers.map(({ child }) => child.pid)]);
    } finally {
      await runner.close();
      await Promise.all(workers.map(({ child }) => stop(child)));
    }
  }
} finally {
  await redis.stop();
}
load.after = loadavg().map((x) => Number(x.toFixed(2)));

const [inline] = runs;
const oneWorker = runs.find((run) => run.kind === 'queue' && run.workers === 1);
const figures = {
  replicas: REPLICAS,
  seed: SEED,
  spec: 'examples/llama3-8b.yaml',
  runs: runs.map((run) => ({
    ...run,
    ...(run.kind === 'queue' && {
      speedupOverInline: Number((run.replicasPerSecond / inline.replicasPerSecond).toFixed(2)),
      scalingEfficiency: Number((run.replicasPerSecond / (run.workers * oneWorker.replicasPerSecond)).toFixed(2)),
    }),
  })),
  summaryEqualAcrossRunners: studies.every((study) => isDeepStrictEqual(study, studies[0])),
};
const directory = join(root, 'bench', 'results');
const name = 'scale-out';
const before = previousFigures(directory, name);
const cores = availableParallelism();
const result = {
  benchmark: 'scale-out: one twin study on the inline runner and on the BullMQ queue runner with 1, 2 and 4 workers',
  date: new Date().toISOString(),
  node: process.version,
  machine: { cores, cpu: cpus()[0]?.model ?? 'unknown', loadAverage: load },
  note: `${cores} cores here: the workers, redis-server and this process share them (and any other load: see loadAverage), so ${cores} workers is the most that can run at once and 4 workers cannot scale past ${cores}×; the 4-worker efficiency measures contention, not the runner. Each worker is one process with one thread (--concurrency 1). Efficiency = replicas/s over (workers × the one-worker replicas/s). cpuSeconds adds up this process, the workers and redis-server during the study: replicasPerCpuSecond is the runner's cost, which other load on the machine does not change much.`,
  ...figures,
  ...(before && { before }),
};
await mkdir(directory, { recursive: true });
const file = join(directory, `${name}-${result.date.slice(0, 10)}.json`);
await writeFileAtomic(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
if (!figures.summaryEqualAcrossRunners) {
  console.error('the study summaries differ between runners');
  process.exitCode = 1;
}
