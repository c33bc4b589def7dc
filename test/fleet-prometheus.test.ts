/**
 * Fleet mode against a real Prometheus (Debian's 2.42, started on 127.0.0.1 and stopped by PID, the samples
 * backfilled with promtool: operate.md §3.3): plain PromQL has no `count_le_over_time`, so the throttled share comes
 * from the per-GPU path for the bitmask alone; every other figure is aggregated per host by the server, and all of
 * them equal gpu-kpis.ts's over the generated samples.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promFleetKpis } from '../src/node/prometheus-fleet.js';
import { aggregateGpuPoints, gpuKpis } from '../src/telemetry/gpu-kpis.js';
import {
  ensurePrometheus,
  PROMTOOL_PATH,
  prometheusUnavailable,
  type RunningPrometheus,
  startPrometheus,
} from './support/prometheus.js';

const unavailable = prometheusUnavailable();
const HOSTS = 4;
const GPUS = 2;
const SCRAPES = 40;
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z
const FIELDS = {
  DCGM_FI_DEV_POWER_USAGE: (h: number, g: number, k: number) => 500 + 10 * h + g + (k % 7),
  DCGM_FI_DEV_GPU_TEMP: (h: number, g: number, k: number) => 60 + h + g + (k % 3),
  DCGM_FI_DEV_GPU_UTIL: (h: number, _g: number, k: number) => 80 + ((h * 7 + k) % 20),
  DCGM_FI_DEV_SM_CLOCK: (h: number, _g: number, k: number) => (h === 2 ? 1300 : 1980) - (k % 5),
  DCGM_FI_DEV_CLOCKS_EVENT_REASONS: (h: number, g: number, k: number) =>
    h === 1 && g === 0 && k % 4 === 0 ? 4 : k % 9 === 0 ? 1 : 0,
  DCGM_FI_DEV_XID_ERRORS: (h: number, g: number, k: number) => (h === 3 && g === 1 && k >= 20 ? 79 : 0),
};

let dir: string;
let prometheus: RunningPrometheus | undefined;
const points: { time: number; gpuKey: string; hostname: string; field: string; value: number }[] = [];

describe.skipIf(unavailable !== undefined)(
  `fleet KPIs from Prometheus${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    beforeAll(() => ensurePrometheus(), 300_000);
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tokenworks-fleet-prom-'));
      const lines: string[] = [];
      for (const [name, sampleOf] of Object.entries(FIELDS)) {
        lines.push(`# TYPE ${name} gauge`);
        for (let h = 0; h < HOSTS; h++) {
          for (let g = 0; g < GPUS; g++) {
            for (let k = 0; k < SCRAPES; k++) {
              const time = T0 + 15 * k;
              const value = sampleOf(h, g, k);
              lines.push(`${name}{Hostname="host-${h}",gpu="${g}",UUID="GPU-${h}-${g}"} ${value} ${time}`);
              points.push({ time, gpuKey: `host-${h}/GPU-${h}-${g}`, hostname: `host-${h}`, field: name, value });
            }
          }
        }
      }
      await writeFile(join(dir, 'in.om'), `${lines.join('\n')}\n# EOF\n`);
      execFileSync(
        PROMTOOL_PATH,
        ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'in.om'), join(dir, 'blocks')],
        {
          stdio: 'pipe',
        },
      );
      const blocks = (await readdir(join(dir, 'blocks'))).map((b) => join(dir, 'blocks', b));
      prometheus = await startPrometheus({ config: 'global: {scrape_interval: 1m}\nscrape_configs: []\n', blocks });
    }, 60_000);
    afterAll(async () => {
      await prometheus?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('gives the raw samples’ KPIs, the bitmask through the per-GPU path', async () => {
      const window = { start: T0 - 7, end: T0 + 15 * (SCRAPES - 1) + 7 };
      const fleet = await promFleetKpis((prometheus as RunningPrometheus).url, window);
      const expected = gpuKpis(aggregateGpuPoints(points), { windowSeconds: window.end - window.start });
      expect(fleet.transfer.throttle).toBe('per-gpu');
      expect(fleet.fleet.counts).toEqual(expected.counts);
      expect(fleet.fleet.power?.itMeanW).toBeCloseTo(expected.power?.itMeanW as number, 9);
      expect(fleet.fleet.power?.peakGpuW).toBe(expected.power?.peakGpuW);
      expect(fleet.fleet.utilisation.primary?.mean).toBeCloseTo(expected.utilisation.primary?.mean as number, 12);
      expect(fleet.fleet.utilisation.primary?.minGpuMean).toBeCloseTo(
        expected.utilisation.primary?.minGpuMean as number,
        12,
      );
      expect(fleet.fleet.temperature?.maxC).toBe(expected.temperature?.maxC);
      expect(fleet.fleet.throttle?.share).toBeCloseTo(expected.throttle?.share as number, 12);
      expect(fleet.fleet.throttle?.gpusThrottled).toBe(1);
      expect(fleet.fleet.xid).toEqual(expected.xid);
      expect(fleet.fleet.xid.events).toBe(1);
      expect(fleet.stragglers.flagged).toEqual(['host-2']);
    });
  },
);
