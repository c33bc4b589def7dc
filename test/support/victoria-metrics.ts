/**
 * A real VictoriaMetrics for the tests: Debian's `victoria-metrics` (installed by vitest's global setup on CI,
 * test/support/debian.ts), started on 127.0.0.1 at a free port with a temp data dir and stopped by its PID (never
 * by name). Flags as tested in the research (ecosystem.md (b), operate.md §3.3): a 100-year retention, so that
 * samples of any past time are kept; the response cache off (data is written, then queried at once).
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VICTORIA_METRICS } from './debian.js';
import { freePort } from './prometheus.js';

/** A running VictoriaMetrics. */
export interface RunningVictoriaMetrics {
  readonly url: string;
  readonly pid: number;
  /** What it printed so far (for failure messages). */
  log(): string;
  /** Makes what was written visible to queries (`/internal/force_flush`). */
  flush(): Promise<void>;
  /** Stops it by PID and removes its data dir. */
  stop(): Promise<void>;
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

/** Starts VictoriaMetrics and waits for `/health`. `flags` are added to the defaults. */
export async function startVictoriaMetrics(flags: readonly string[] = []): Promise<RunningVictoriaMetrics> {
  const root = await mkdtemp(join(tmpdir(), 'tokenworks-vm-'));
  const port = await freePort();
  const child = spawn(
    VICTORIA_METRICS.binary,
    [
      `-storageDataPath=${join(root, 'data')}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-retentionPeriod=100y',
      '-search.disableCache',
      // Points of the last 30 s are hidden by default (-search.latencyOffset): the tests query just-written data.
      '-search.latencyOffset=0s',
      '-loggerLevel=ERROR',
      ...flags,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${VICTORIA_METRICS.binary} did not start`);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
      }, 5_000);
      await exited(child);
      clearTimeout(timer);
    }
    await rm(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`victoria-metrics exited before it was ready:\n${output}`);
    }
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`victoria-metrics was not ready within 30 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const flush = async () => {
    const response = await fetch(`${url}/internal/force_flush`);
    if (!response.ok) throw new Error(`force_flush: HTTP ${response.status}`);
  };
  return { url, pid, log: () => output, flush, stop };
}
