/**
 * A server process for the tests (Prometheus, VictoriaMetrics, Redis): started with its arguments, its output kept
 * for failure messages, polled until it is ready, and stopped by its PID (SIGTERM, then SIGKILL after 5 s; never by
 * name), its temp folder removed after.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';

/** A started server. */
export interface RunningService {
  readonly pid: number;
  /** What it printed so far. */
  log(): string;
  /** Stops it by PID and removes its folder. */
  stop(): Promise<void>;
}

/** What {@link startService} runs. */
export interface ServiceOptions {
  /** The name in messages. */
  readonly name: string;
  readonly binary: string;
  readonly args: readonly string[];
  /** A temp folder of its own, removed when it stops. */
  readonly folder: string;
  /** Whether it answers yet (a failed connection is a no). */
  readonly ready: () => Promise<boolean>;
  /** How long it may take to be ready (default 30 s). */
  readonly timeoutMs?: number;
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

/** Starts the server and waits until `ready` says so; throws with its output when it exits or times out first. */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const child = spawn(options.binary, [...options.args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.binary} did not start`);
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (running()) {
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (running()) process.kill(pid, 'SIGKILL');
      }, 5_000);
      await exited(child);
      clearTimeout(timer);
    }
    await rm(options.folder, { recursive: true, force: true });
  };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!running()) {
      await stop();
      throw new Error(`${options.name} exited before it was ready:\n${output}`);
    }
    if (await options.ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${options.name} was not ready within ${timeoutMs / 1000} s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { pid, log: () => output, stop };
}

/** Whether `url` answers 2xx within a second. */
export async function answers(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
  return response.ok;
}
