/**
 * A real Redis for the queue-runner tests: Debian's `redis-server` (vitest's global setup installs it when missing
 * and root), started on 127.0.0.1 at a free port with a temp working dir, no persistence and the `noeviction` policy
 * BullMQ requires (ecosystem.md §2 (a)), and stopped by its PID (never by name).
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REDIS } from './debian.js';
import { freePort } from './prometheus.js';
import { startService } from './service.js';

/** A running redis-server. */
export interface RunningRedis {
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** What it printed so far (for failure messages). */
  log(): string;
  /** Stops it by PID (SIGTERM, SIGKILL after 5 s) and removes its working dir. */
  stop(): Promise<void>;
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

/** Sends PING over a raw socket and resolves true on +PONG (false on any error or after 1 s). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(String(data).startsWith('+PONG')));
  });
}

/** Starts redis-server on 127.0.0.1 at a free port and waits until it answers PING. */
export async function startRedis(): Promise<RunningRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'tokenworks-redis-'));
  const port = await freePort();
  const service = await startService({
    name: 'redis-server',
    binary: REDIS.binary,
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    folder: dir,
    ready: () => ping(port),
    timeoutMs: 20_000,
  });
  return { url: `redis://127.0.0.1:${port}`, port, ...service };
}

/** A `tokenworks worker` process (on the TypeScript sources, through test/support/cli-entry.ts). */
export interface WorkerProcess {
  readonly pid: number;
  /** The name it stores on the jobs it takes (`job.processedBy`): host name and PID. */
  readonly name: string;
  /** What it printed so far. */
  log(): string;
  /** SIGTERM by PID; resolves with its exit code (or signal) once it has exited. */
  stop(): Promise<number | NodeJS.Signals | null>;
  /** SIGKILL by PID (kill -9), and waits for it to be gone. */
  kill(): Promise<void>;
}

/** Starts `tokenworks worker --redis URL ...args` and waits until it serves the queue (its "serving" line). */
export async function startWorker(url: string, args: readonly string[] = []): Promise<WorkerProcess> {
  const entry = new URL('./cli-entry.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', entry, 'worker', '--redis', url, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: unknown) => {
    output += String(chunk);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const pid = child.pid;
  if (pid === undefined) throw new Error('the worker did not start');
  const deadline = Date.now() + 60_000;
  while (!output.includes('serving queue')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the worker exited:\n${output}`);
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      throw new Error(`the worker did not start serving within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { hostname } = await import('node:os');
  const stopped = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, signal);
    await exited(child);
    return child.exitCode ?? child.signalCode;
  };
  return {
    pid,
    name: `${hostname()}-${pid}`,
    log: () => output,
    stop: () => stopped('SIGTERM'),
    kill: async () => {
      await stopped('SIGKILL');
    },
  };
}
