/**
 * Fleet mode of the Prometheus source (src/node/prometheus-fleet.ts) against a real VictoriaMetrics (Debian's,
 * started on 127.0.0.1 and stopped by PID): a synthetic fleet of 16 hosts × 8 GPUs × 20 min of dcgm-exporter series
 * (both host-label spellings and an `exported_` one, two HPC jobs, a slow host, a hot GPU, XIDs, throttling, a
 * bitmask past the known bits, missing samples) imported as exposition text with time stamps; the KPIs the server
 * aggregates per host equal those gpu-kpis.ts computes from the generated samples themselves, fleet-wide, per host
 * and per job; the per-host SM-clock signal flags the slow host alone; and far fewer bytes come back than the raw
 * series take.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuPoint } from '../src/app/ports.js';
import { fleetRecordingGroup } from '../src/app/rules.js';
import { promFleetKpis } from '../src/node/prometheus-fleet.js';
import { type PromResponseInfo, promQuery, promRawSeries } from '../src/node/prometheus-source.js';
import { normaliseDcgmSample } from '../src/telemetry/dcgm.js';
import { aggregateGpuPoints, type GpuKpis, gpuKpis } from '../src/telemetry/gpu-kpis.js';
import { mulberry32 } from '../src/util/random.js';
import { run } from './run-cli.js';
import { debianPackageUnavailable, VICTORIA_METRICS } from './support/debian.js';
import { type RunningVictoriaMetrics, startVictoriaMetrics } from './support/victoria-metrics.js';

const unavailable = debianPackageUnavailable(VICTORIA_METRICS);

const HOSTS = 16;
const GPUS = 8;
const SCRAPES = 80; // 20 min at 15 s
const INTERVAL = 15;
const SLOW_HOST = 'host-05';
const HOT = { host: 'host-09', gpu: 3 };

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
  /** Unix seconds. */
  readonly time: number;
}

/** The fleet's samples. */
function generate(t0: number): Sample[] {
  const rand = mulberry32(16);
  const out: Sample[] = [];
  for (let h = 0; h < HOSTS; h++) {
    const host = `host-${String(h).padStart(2, '0')}`;
    // Both spellings of the host label (operate.md §1.1), and one host only as `exported_Hostname`.
    const hostLabel = h === 15 ? 'exported_Hostname' : h % 2 === 0 ? 'Hostname' : 'hostname';
    for (let g = 0; g < GPUS; g++) {
      const labels = {
        [hostLabel]: host,
        gpu: String(g),
        UUID: `GPU-${h}-${g}`,
        modelName: 'NVIDIA H100 80GB HBM3',
        hpc_job: h < 8 ? 'job-a' : 'job-b',
      };
      for (let k = 0; k < SCRAPES; k++) {
        const time = t0 + k * INTERVAL;
        const slow = host === SLOW_HOST;
        const push = (name: string, value: number) => out.push({ name, labels, value, time });
        if (!(host === 'host-07' && g === 2 && k >= 10 && k < 13)) {
          push('DCGM_FI_DEV_POWER_USAGE', (slow ? 450 : 600) + 50 * Math.sin(k / 7 + g) + 20 * rand());
        }
        push('DCGM_FI_DEV_GPU_TEMP', host === HOT.host && g === HOT.gpu ? 88 + rand() : 60 + g + 5 * rand());
        push('DCGM_FI_DEV_GPU_UTIL', Math.round(85 + 15 * rand()));
        push('DCGM_FI_PROF_GR_ENGINE_ACTIVE', 0.8 + 0.15 * rand());
        // One GPU's tensor field reports the DCGM blank once (unsupported): gpu-kpis.ts leaves that series out.
        push('DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', h === 4 && g === 6 && k === 50 ? 2 ** 47 : 0.4 + 0.2 * rand());
        push('DCGM_FI_DEV_SM_CLOCK', Math.round((slow ? 1300 : 1980) - 15 * rand()));
        // Bitmask: idle (0x1) and sync boost (0x10) do not slow; power cap (0x4) and SW thermal (0x20) do.
        let bitmask = k % 9 === 0 ? 1 : k % 11 === 0 ? 16 : 0;
        if (slow && k % 2 === 0) bitmask = 0x24;
        if (h === 3 && g < 4 && k >= 60) bitmask = 4 | (k % 3 === 0 ? 16 : 0);
        if (h === 2 && g === 0 && k === 30) bitmask = 512; // past the known bits: not slowing
        if (h === 2 && g === 0 && k === 31) bitmask = 512 | 4; // past the known bits, slowing
        push('DCGM_FI_DEV_CLOCKS_EVENT_REASONS', bitmask);
        let xid = 0;
        if (h === 12 && g === 1) xid = k >= 40 && k < 45 ? 79 : k >= 60 ? 79 : 0;
        if (h === 3 && g === 7 && k >= 70) xid = 13;
        push('DCGM_FI_DEV_XID_ERRORS', xid);
      }
    }
  }
  return out;
}

const text = (samples: readonly Sample[]) =>
  samples
    .map((s) => {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      return `${s.name}{${labels}} ${s.value} ${Math.round(s.time * 1000)}\n`;
    })
    .join('');

/** The generated samples as GPU points, through the project's own label normalisation. */
function pointsOf(samples: readonly Sample[]): (GpuPoint & { job: string })[] {
  return samples.map((s) => {
    const n = normaliseDcgmSample({ name: s.name, labels: s.labels, value: s.value, line: 0 }, s.name);
    return {
      time: s.time,
      gpuKey: n.gpuKey as string,
      hostname: n.gpu.hostname as string,
      field: s.name,
      value: s.value,
      job: s.labels.hpc_job as string,
    };
  });
}

const close = (actual: number | undefined, expected: number | undefined) => {
  expect(actual).toBeDefined();
  expect(expected).toBeDefined();
  expect(Math.abs((actual as number) - (expected as number))).toBeLessThanOrEqual(
    1e-9 * Math.max(1, Math.abs(expected as number)),
  );
};

/** Every fleet figure of two KPI sets agrees (per-GPU rows aside). */
function expectSameKpis(actual: Omit<GpuKpis, 'perGpu'>, expected: GpuKpis) {
  expect(actual.counts.gpus).toBe(expected.counts.gpus);
  expect(actual.counts.hosts).toBe(expected.counts.hosts);
  expect(actual.counts.samples).toBe(expected.counts.samples);
  expect(actual.utilisation.signals.map((s) => s.signal)).toEqual(expected.utilisation.signals.map((s) => s.signal));
  for (const [i, signal] of expected.utilisation.signals.entries()) {
    const got = actual.utilisation.signals[i];
    expect(got?.gpus).toBe(signal.gpus);
    close(got?.mean, signal.mean);
    close(got?.minGpuMean, signal.minGpuMean);
    close(got?.maxGpuMean, signal.maxGpuMean);
  }
  expect(actual.utilisation.primary?.signal).toBe(expected.utilisation.primary?.signal);
  expect(actual.power?.gpus).toBe(expected.power?.gpus);
  close(actual.power?.itMeanW, expected.power?.itMeanW);
  close(actual.power?.meanPerGpuW, expected.power?.meanPerGpuW);
  close(actual.power?.peakGpuW, expected.power?.peakGpuW);
  close(actual.power?.itEnergyJ, expected.power?.itEnergyJ);
  expect(actual.temperature?.gpus).toBe(expected.temperature?.gpus);
  close(actual.temperature?.meanC, expected.temperature?.meanC);
  close(actual.temperature?.maxC, expected.temperature?.maxC);
  expect(actual.throttle?.gpus).toBe(expected.throttle?.gpus);
  expect(actual.throttle?.samples).toBe(expected.throttle?.samples);
  expect(actual.throttle?.gpusThrottled).toBe(expected.throttle?.gpusThrottled);
  close(actual.throttle?.share, expected.throttle?.share);
  expect(actual.xid).toEqual(expected.xid);
}

let vm: RunningVictoriaMetrics | undefined;
let samples: Sample[];
let window: { start: number; end: number };

describe.skipIf(unavailable !== undefined)(
  `fleet KPIs from VictoriaMetrics${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    beforeAll(async () => {
      vm = await startVictoriaMetrics();
      // Twenty minutes ending ten minutes ago, on whole 15 s, inside the window with half a scrape to spare.
      const t0 = Math.floor(Date.now() / 1000 / 60) * 60 - 30 * 60;
      samples = generate(t0);
      window = { start: t0 - 7, end: t0 + (SCRAPES - 1) * INTERVAL + 7 };
      const chunk = 20_000;
      for (let i = 0; i < samples.length; i += chunk) {
        const response = await fetch(`${vm.url}/api/v1/import/prometheus`, {
          method: 'POST',
          body: text(samples.slice(i, i + chunk)),
        });
        expect(response.status).toBe(204);
      }
      await vm.flush();
    }, 60_000);

    afterAll(async () => {
      await vm?.stop();
    });

    it('gives the KPIs of the raw samples, fleet-wide, per host and per job', async () => {
      const url = (vm as RunningVictoriaMetrics).url;
      const fleet = await promFleetKpis(url, window);
      const points = pointsOf(samples);
      const windowSeconds = window.end - window.start;
      const expected = gpuKpis(aggregateGpuPoints(points), { windowSeconds });
      expect(expected.counts.gpus).toBe(HOSTS * GPUS);
      expectSameKpis(fleet.fleet, expected);
      expect(fleet.transfer.throttle).toBe('metricsql');
      expect(expected.utilisation.tensor?.gpus).toBe(HOSTS * GPUS - 1);
      expect(fleet.notes.join('\n')).toMatch(/1 GPU series of DCGM_FI_PROF_PIPE_TENSOR_ACTIVE are not readings/);
      // The two bitmask samples past 511 were read raw (one GPU), and the two XID GPUs.
      expect(fleet.transfer.rawSeries).toBe(3);
      expect(fleet.fleet.xid.events).toBe(3);
      expect(fleet.fleet.xid.byCode).toEqual({ '13': 1, '79': 2 });

      // IT power by hand: Σ over GPUs of each GPU's mean sampled power.
      const byGpu = new Map<string, { sum: number; n: number }>();
      for (const p of points.filter((q) => q.field === 'DCGM_FI_DEV_POWER_USAGE')) {
        const at = byGpu.get(p.gpuKey) ?? { sum: 0, n: 0 };
        at.sum += p.value;
        at.n += 1;
        byGpu.set(p.gpuKey, at);
      }
      close(
        fleet.fleet.power?.itMeanW,
        [...byGpu.values()].reduce((total, g) => total + g.sum / g.n, 0),
      );

      expect(fleet.hosts.map((h) => h.host)).toEqual(
        Array.from({ length: HOSTS }, (_, h) => `host-${String(h).padStart(2, '0')}`),
      );
      for (const row of fleet.hosts) {
        const mine = gpuKpis(aggregateGpuPoints(points.filter((p) => p.hostname === row.host)), { windowSeconds });
        expect(row.gpus).toBe(GPUS);
        expect(row.samples).toBe(mine.counts.samples);
        close(row.itMeanW, mine.power?.itMeanW);
        close(row.peakGpuW, mine.power?.peakGpuW);
        close(row.itEnergyJ, mine.power?.itEnergyJ);
        close(row.utilisation, mine.utilisation.primary?.mean);
        close(row.tensorActive, mine.utilisation.tensor?.mean);
        close(row.meanTempC, mine.temperature?.meanC);
        close(row.maxTempC, mine.temperature?.maxC);
        close(row.throttledShare, mine.throttle?.share);
        expect(row.gpusThrottled).toBe(mine.throttle?.gpusThrottled);
        expect(row.xidEvents).toBe(mine.xid.events);
      }
      const hot = fleet.hosts.find((h) => h.host === HOT.host);
      expect(hot?.maxTempC).toBeGreaterThanOrEqual(88);
      expect(fleet.fleet.temperature?.maxC).toBe(hot?.maxTempC);

      expect(fleet.jobs.map((j) => j.job)).toEqual(['job-a', 'job-b']);
      for (const row of fleet.jobs) {
        const mine = gpuKpis(aggregateGpuPoints(points.filter((p) => p.job === row.job)), { windowSeconds });
        expect(row.gpus).toBe(mine.counts.gpus);
        close(row.itMeanW, mine.power?.itMeanW);
        close(row.utilisation, mine.utilisation.primary?.mean);
        close(row.throttledShare, mine.throttle?.share);
        expect(row.xidEvents).toBe(mine.xid.events);
      }
    });

    it('flags the slow host by its median SM clock, and no other', async () => {
      const fleet = await promFleetKpis((vm as RunningVictoriaMetrics).url, window);
      expect(fleet.stragglers.hosts).toBe(HOSTS);
      expect(fleet.stragglers.flagged).toEqual([SLOW_HOST]);
      const slow = fleet.hosts.find((h) => h.host === SLOW_HOST);
      expect(slow?.smClockMedianMHz).toBeLessThan(1300);
      expect(slow?.smClockMedianMHz).toBeGreaterThan(1285);
    });

    it('returns far fewer bytes than the raw series take', async () => {
      const url = (vm as RunningVictoriaMetrics).url;
      let fleetBytes = 0;
      const fleet = await promFleetKpis(url, {
        ...window,
        onResponse: (info: PromResponseInfo) => {
          fleetBytes += info.bytes;
        },
      });
      expect(fleetBytes).toBe(fleet.transfer.bytes);
      let rawBytes = 0;
      const raw = await promRawSeries(url, '{__name__=~"DCGM_.*"}', {
        time: window.end,
        rangeSeconds: window.end - window.start,
        onResponse: (info) => {
          rawBytes += info.bytes;
        },
      });
      expect(raw.reduce((n, s) => n + s.points.length, 0)).toBe(samples.length);
      expect(fleetBytes * 5).toBeLessThan(rawBytes);
    });

    it('evaluates the fleet recording rules to the raw samples’ per-host figures', async () => {
      const url = (vm as RunningVictoriaMetrics).url;
      const group = fleetRecordingGroup(undefined);
      const exprOf = (record: string) => group.rules.find((r) => 'record' in r && r.record === record)?.expr as string;
      // At scrape 30 + 7 s: the minute (t − 60 s, t] holds scrapes 27 to 30.
      const t0 = window.start + 7;
      const at = t0 + 30 * INTERVAL + 7;
      const inMinute = (p: { time: number }) => p.time > at - 60 && p.time <= at;
      const result = await promQuery(url, exprOf('host:dcgm_power_usage:avg1m_sum'), { time: at });
      const got = new Map(
        result.resultType === 'vector' ? result.result.map((e) => [e.metric.host as string, e.point.value]) : [],
      );
      const points = pointsOf(samples).filter((p) => p.field === 'DCGM_FI_DEV_POWER_USAGE' && inMinute(p));
      // The rules read Hostname and hostname (rules.ts withHost), not exported_Hostname: host-15 has no host label.
      for (let h = 0; h < HOSTS - 1; h++) {
        const host = `host-${String(h).padStart(2, '0')}`;
        const byGpu = new Map<string, number[]>();
        for (const p of points.filter((q) => q.hostname === host))
          byGpu.set(p.gpuKey, [...(byGpu.get(p.gpuKey) ?? []), p.value]);
        const expected = [...byGpu.values()].reduce((total, v) => total + v.reduce((a, b) => a + b, 0) / v.length, 0);
        close(got.get(host), expected);
      }
      const median = await promQuery(url, exprOf('host:dcgm_sm_clock:median1m'), { time: at });
      const slow = median.resultType === 'vector' ? median.result.find((e) => e.metric.host === SLOW_HOST) : undefined;
      expect(slow?.point.value).toBeLessThan(1300);
    });

    it('observe --detect in fleet mode names the slow host among its straggler detections', async () => {
      const folder = await mkdtemp(join(tmpdir(), 'tw-fleet-detect-'));
      try {
        // A Megatron log over the window, one line a scrape at a steady 9.5 s step.
        const log = join(folder, 'train.log');
        const t0 = window.start + 7;
        await writeFile(
          log,
          Array.from({ length: SCRAPES }, (_, i) => {
            const stamp = new Date((t0 + i * INTERVAL) * 1000).toISOString().slice(0, 19).replace('T', ' ');
            return ` [${stamp}] iteration ${String(i + 1).padStart(8)}/   10000 | consumed samples: ${(i + 1) * 1024} | elapsed time per iteration (ms): 9500.0 | learning rate: 1.500000E-04 | global batch size:  1024 | lm loss: 2.500000E+00 | loss scale: 1.0 | number of skipped iterations:   0 | number of nan iterations:   0 |\n`;
          }).join(''),
        );
        const result = await run(
          'observe',
          'examples/llama3-70b.yaml',
          '--log',
          log,
          '--prometheus',
          (vm as RunningVictoriaMetrics).url,
          '--fleet',
          '--from',
          String(window.start),
          '--to',
          String(window.end),
          '--detect',
          '--replicas',
          '1',
          '--json',
        );
        expect(result.code, result.stderr).toBe(0);
        const out = JSON.parse(result.stdout);
        const stragglers = out.detect.detections.filter((d: { kind: string }) => d.kind === 'straggler');
        const named = new Set(stragglers.map((d: { host?: string; gpu?: string }) => d.host ?? d.gpu));
        expect([...named]).toEqual([SLOW_HOST]);
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
    }, 120_000);

    it('refuses --fleet without --prometheus, naming the options (exit 2)', async () => {
      const result = await run('observe', 'examples/llama3-70b.yaml', '--log', 'x.log', '--fleet');
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/--fleet and --no-fleet .*--prometheus/);
    });
  },
);
