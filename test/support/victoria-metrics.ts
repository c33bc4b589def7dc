/**
 * A real VictoriaMetrics for the tests: Debian's `victoria-metrics` (installed by vitest's global setup on CI,
 * test/support/debian.ts), started on 127.0.0.1 at a free port with a temp data dir and stopped by its PID (never
 * by name). Flags as tested in the research (ecosystem.md (b), operate.md §3.3): a 100-year retention, so that
 * samples of any past time are kept; the response cache off (data is written, then queried at once).
 * @module
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VICTORIA_METRICS } from './debian.js';
import { freePort } from './prometheus.js';
import { answers, startService } from './service.js';

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

/** Starts VictoriaMetrics and waits for `/health`. `flags` are added to the defaults. */
export async function startVictoriaMetrics(flags: readonly string[] = []): Promise<RunningVictoriaMetrics> {
  const root = await mkdtemp(join(tmpdir(), 'tokenworks-vm-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = await startService({
    name: 'victoria-metrics',
    binary: VICTORIA_METRICS.binary,
    args: [
      `-storageDataPath=${join(root, 'data')}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-retentionPeriod=100y',
      '-search.disableCache',
      // Points of the last 30 s are hidden by default (-search.latencyOffset): the tests query just-written data.
      '-search.latencyOffset=0s',
      '-loggerLevel=ERROR',
      ...flags,
    ],
    folder: root,
    ready: () => answers(`${url}/health`),
  });
  const flush = async () => {
    const response = await fetch(`${url}/internal/force_flush`);
    if (!response.ok) throw new Error(`force_flush: HTTP ${response.status}`);
  };
  return { url, flush, ...service };
}
