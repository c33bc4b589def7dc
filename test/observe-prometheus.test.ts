/**
 * `tokenworks observe --prometheus` against a real Prometheus (Debian's, started on 127.0.0.1 and stopped by PID):
 * an emulated run's dcgm-exporter scrape files are backfilled with promtool (operate.md §3.3), and observing the run
 * with the GPU KPIs computed in PromQL over the files' window gives the same GPU KPIs, and the same plan versus
 * actual, as observing it with the files themselves.
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../src/telemetry/prometheus-text.js';
import { run } from './run-cli.js';
import { emulateObservedRun } from './support/observed-run.js';
import {
  ensurePrometheus,
  PROMTOOL_PATH,
  prometheusUnavailable,
  type RunningPrometheus,
  startPrometheus,
} from './support/prometheus.js';

const unavailable = prometheusUnavailable();
let dir: string;
let dcgm: string[];
let prometheus: RunningPrometheus | undefined;
let window: { from: number; to: number };

describe.skipIf(unavailable !== undefined)('observe --prometheus', () => {
  beforeAll(() => ensurePrometheus(), 300_000);

  beforeAll(async () => {
    const files = await emulateObservedRun();
    dir = files.dir;
    dcgm = files.dcgm;
    // OpenMetrics for promtool: each family's samples in one block, time stamps in seconds, then `# EOF`.
    const families = new Map<string, string[]>();
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const file of dcgm) {
      for (const s of parsePrometheusText(await readFile(file, 'utf8')).samples) {
        const seconds = (s.timestamp as number) / 1000;
        first = Math.min(first, seconds);
        last = Math.max(last, seconds);
        const labels = Object.entries(s.labels)
          .map(([k, v]) => `${k}="${v}"`)
          .join(',');
        families.set(s.name, [...(families.get(s.name) ?? []), `${s.name}{${labels}} ${s.value} ${seconds}`]);
      }
    }
    const text = [...families].flatMap(([name, lines]) => [`# TYPE ${name} gauge`, ...lines]).join('\n');
    await writeFile(join(dir, 'in.om'), `${text}\n# EOF\n`);
    execFileSync(
      PROMTOOL_PATH,
      ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'in.om'), join(dir, 'blocks')],
      {
        stdio: 'pipe',
      },
    );
    const blocks = (await readdir(join(dir, 'blocks'))).map((b) => join(dir, 'blocks', b));
    prometheus = await startPrometheus({ config: 'global: {scrape_interval: 1m}\nscrape_configs: []\n', blocks });
    // The files' first and last sample, with a second's margin before the first (a range excludes its start).
    window = { from: first - 1, to: last };
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
  });

  it('gives the GPU KPIs and plan versus actual the files give', async () => {
    const common = [
      'observe',
      join(dir, 'spec.yaml'),
      '--log',
      join(dir, 'run', 'training.log'),
      '--replicas',
      '0',
      '--json',
    ];
    const files = await run(...common, '--dcgm', ...dcgm);
    const prom = await run(
      ...common,
      '--prometheus',
      (prometheus as RunningPrometheus).url,
      '--match',
      '{Hostname=~"host-.*"}',
      '--from',
      String(window.from),
      '--to',
      String(window.to),
    );
    expect(files.code, files.stderr).toBe(0);
    expect(prom.code, prom.stderr).toBe(0);
    const a = JSON.parse(files.stdout);
    const b = JSON.parse(prom.stdout);
    expect(b.gpu.kpis.counts.gpus).toBe(16);
    expect(b.gpu.kpis.counts.samples).toBe(a.gpu.kpis.counts.samples);
    const close = (x: number, y: number) =>
      expect(Math.abs(x - y)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(y)));
    close(b.gpu.kpis.power.meanPerGpuW, a.gpu.kpis.power.meanPerGpuW);
    close(b.gpu.kpis.power.peakGpuW, a.gpu.kpis.power.peakGpuW);
    close(b.gpu.kpis.utilisation.primary.mean, a.gpu.kpis.utilisation.primary.mean);
    close(b.gpu.kpis.temperature.maxC, a.gpu.kpis.temperature.maxC);
    expect(b.gpu.kpis.xid.events).toBe(a.gpu.kpis.xid.events);
    const power = (out: { planVersusActual: { metric: string; actual: number; status: string }[] }) =>
      out.planVersusActual.find((c) => c.metric === 'gpuPowerW');
    close(power(b)?.actual as number, power(a)?.actual as number);
    expect(power(b)?.status).toBe(power(a)?.status);
  }, 60_000);

  it('names the server’s error and the fix for a bad selector', async () => {
    const result = await run(
      'observe',
      join(dir, 'spec.yaml'),
      '--log',
      join(dir, 'run', 'training.log'),
      '--replicas',
      '0',
      '--prometheus',
      (prometheus as RunningPrometheus).url,
      '--match',
      '{Hostname~"host"}',
      '--from',
      String(window.from),
      '--to',
      String(window.to),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/400/);
  }, 30_000);
});
