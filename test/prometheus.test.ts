/**
 * GPU KPIs through a real Prometheus (Debian's 2.42 package, started on 127.0.0.1 and stopped by PID) equal the
 * KPIs computed from the same exporter text read as files.
 *
 * Design, so that the comparison is honest: a fixture server serves, per scrape target, the shared fixture files
 * (../shared/data/telemetry/dcgm/datadog/metrics.txt and serve-metrics, nvidia_gpu_exporter's H100 and H200-MIG
 * load metrics) and an emulated 8-GPU H100 dcgm-exporter scrape in five label spellings, each scrape with new
 * values (the text is the file's, only the sample values change). It records every body it served. After
 * SCRAPES bodies a target answers 503, so Prometheus stores nothing more and the record is complete; the test
 * waits for that 503, which Prometheus requests only after it committed the previous scrape. Prometheus stamps each
 * sample with its scrape time, so the file side reads those stamps back raw (`up{job=…}[w]` = 1, one per
 * successful scrape, in order) and gives the k-th recorded body the k-th stamp. Then both sides hold exactly the
 * same samples: the file side runs normaliseGpuScrape → gpuPointsOf → GpuAggregator; the Prometheus side runs
 * promGpuAggregates (count/sum/min/max_over_time pushed down, raw series only for the throttle bitmask and XID
 * gauges where they matter). Their aggregates and their gpuKpis must agree within 1e-9 relative.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  metricNamesOf,
  promGpuAggregates,
  promQuery,
  promQueryRange,
  promRawSeries,
} from '../src/node/prometheus-source.js';
import { gpuPointsOf } from '../src/telemetry/dcgm.js';
import {
  GPU_KPI_FIELD,
  GPU_KPI_FIELDS,
  GpuAggregator,
  type GpuFieldAggregate,
  type GpuKpiFacts,
  gpuKpis,
} from '../src/telemetry/gpu-kpis.js';
import { normaliseGpuScrape } from '../src/telemetry/nvidia-smi.js';
import {
  ensurePrometheus,
  type FixtureServer,
  freePort,
  PROMTOOL_PATH,
  prometheusUnavailable,
  type RunningPrometheus,
  startFixtureServer,
  startPrometheus,
} from './support/prometheus.js';

const TELEMETRY = fileURLToPath(new URL('../../shared/data/telemetry/', import.meta.url));
const read = (path: string) => readFileSync(`${TELEMETRY}${path}`, 'utf8');
const SCRAPES = 6;
const RELATIVE = 1e-9;

const XID_SEQUENCE = [0, 0, 79, 79, 0, 13];
/** Clock-event bitmasks: idle, power cap, idle, power cap + hw thermal, display clocks, hw slowdown. */
const THROTTLE_SEQUENCE = [1, 0x4, 1, 0x44, 0x100, 0x8];

/**
 * A shared fixture's text with new sample values for scrape k; every other byte as in the file. Ratios stay in
 * [0, 1), bitmasks and XID codes follow the sequences above, other values grow by 5 % and 0.25 per scrape.
 */
function vary(text: string, k: number): string {
  let line = 0;
  return text
    .split('\n')
    .map((raw) => {
      line += 1;
      if (raw.startsWith('#') || raw.trim() === '') return raw;
      const match = /^(.*[\s}])(\S+)$/.exec(raw);
      if (match === null) return raw;
      const [, head = '', valueText = ''] = match;
      const name = head.split(/[{\s]/)[0] ?? '';
      const value = Number(valueText);
      let next: number;
      if (/XID/i.test(name)) next = XID_SEQUENCE[k] ?? 0;
      else if (/THROTTLE_REASONS|clocks_event_reasons_active/.test(name)) next = THROTTLE_SEQUENCE[(k + line) % 6] ?? 0;
      else if (/ACTIVE|_ratio$/.test(name)) next = (value + 0.1 * k + 0.013 * line) % 1;
      else next = value * (1 + 0.05 * k) + 0.25 * k;
      return `${head}${Number(next.toFixed(6))}`;
    })
    .join('\n');
}

type Variant = 'current' | 'old' | 'oldns' | 'exported' | 'v1';

/** An emulated dcgm-exporter scrape of 2 hosts × 4 H100s, scrape k, in one of five label/name spellings. */
function h100Body(variant: Variant, k: number): string {
  const host = variant === 'current' || variant === 'oldns' || variant === 'v1' ? 'hostname' : 'Hostname';
  const uuid = variant === 'oldns' ? 'uuid' : 'UUID';
  const name = (field: string) => {
    if (variant !== 'v1') return field;
    // 1.x names where dcgm-exporter 1.x had one (1.x-compatibility-metrics.csv); the old throttle name otherwise.
    const old = metricNamesOf(field).find((n) => /^dcgm_(?!fi_dev)/.test(n));
    return field === GPU_KPI_FIELD.clockEvents ? GPU_KPI_FIELD.clockThrottle : (old ?? field);
  };
  const lines: string[] = [];
  const family = (field: string, help: string, value: (h: number, i: number) => number) => {
    lines.push(`# HELP ${name(field)} ${help}`, `# TYPE ${name(field)} gauge`);
    for (let h = 0; h < 2; h++) {
      for (let i = 0; i < 4; i++) {
        const k8s = variant === 'exported' ? ',container="trainer",namespace="ml",pod="train-0"' : '';
        const labels = `gpu="${i}",${uuid}="GPU-0000${h}${i}-h100",pci_bus_id="00000000:${18 + i}:00.0",device="nvidia${i}",modelName="NVIDIA H100 80GB HBM3",${host}="node-${h}",DCGM_FI_DRIVER_VERSION="570.86.15"${k8s}`;
        lines.push(`${name(field)}{${labels}} ${Number(value(h, i).toFixed(6))}`);
      }
    }
  };
  const activity = (h: number, i: number) => 0.1 + (0.8 * ((k + i + h) % 5)) / 4;
  family(GPU_KPI_FIELD.power, 'Power draw (in W).', (h, i) => 250 + 40 * i + 100 * h + 37.125 * k);
  family(GPU_KPI_FIELD.gpuUtil, 'GPU utilization (in %).', (_h, i) => (60 + 7 * k + 3 * i) % 101);
  family(GPU_KPI_FIELD.grEngineActive, 'Ratio of time the graphics engine is active.', activity);
  family(
    GPU_KPI_FIELD.pipeTensorActive,
    'Ratio of cycles the tensor (HMMA) pipe is active.',
    (h, i) => 0.55 * activity(h, i),
  );
  family(
    GPU_KPI_FIELD.smActive,
    'The ratio of cycles an SM has at least 1 warp assigned.',
    (h, i) => 0.93 * activity(h, i),
  );
  family(GPU_KPI_FIELD.gpuTemp, 'GPU temperature (in C).', (h, i) => 45 + k + i + 2 * h);
  // GPU 0 of node-0 only idles (bitmask 0 or 1: no raw fetch needed); the others cycle through slowing reasons.
  family(GPU_KPI_FIELD.clockEvents, 'Current clock event reasons.', (h, i) =>
    h === 0 && i === 0 ? k % 2 : (THROTTLE_SEQUENCE[(k + i) % 6] ?? 0),
  );
  family(GPU_KPI_FIELD.xid, 'Value of the last XID error encountered.', (h, i) =>
    h === 1 && i === 1 ? (XID_SEQUENCE[k] ?? 0) : 0,
  );
  return `${lines.join('\n')}\n`;
}

const ROUTES: Record<string, { readonly job: string; readonly body: (k: number) => string }> = {
  '/datadog/metrics.txt': { job: 'datadog', body: (k) => vary(read('dcgm/datadog/metrics.txt'), k) },
  '/datadog/serve-metrics': { job: 'datadog-serve', body: (k) => vary(read('dcgm/datadog/serve-metrics'), k) },
  '/nvidia-smi/h100-load': {
    job: 'nvsmi-h100',
    body: (k) => vary(read('nvidia-smi/testdata/linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load.metrics'), k),
  },
  '/nvidia-smi/h200-mig-load': {
    job: 'nvsmi-h200-mig',
    body: (k) => vary(read('nvidia-smi/testdata/linux-x86_64__nvidia-h200-mig__590.48.01__load.metrics'), k),
  },
  '/h100/current': { job: 'h100-current', body: (k) => h100Body('current', k) },
  '/h100/old': { job: 'h100-old', body: (k) => h100Body('old', k) },
  '/h100/oldns': { job: 'h100-oldns', body: (k) => h100Body('oldns', k) },
  '/h100/exported': { job: 'h100-exported', body: (k) => h100Body('exported', k) },
  '/h100/v1': { job: 'h100-v1', body: (k) => h100Body('v1', k) },
};

const unavailable = prometheusUnavailable();

/** Relative closeness, with an absolute floor for values at 0. */
const close = (a: number, b: number) => Math.abs(a - b) <= RELATIVE * Math.max(Math.abs(a), Math.abs(b), 1e-12);

/** Paths where two values differ beyond the tolerance (numbers) or at all (anything else). */
function differences(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a === 'number' && typeof b === 'number') return close(a, b) ? [] : [`${path}: ${a} vs ${b}`];
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object')
    return a === b ? [] : [`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((key) =>
    differences((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}.${key}`),
  );
}

/** An aggregate without what only the file side knows (first and last time stamps). */
const comparable = ({ firstTime: _f, lastTime: _l, ...rest }: GpuFieldAggregate) => rest;

describe.skipIf(unavailable !== undefined)('GPU KPIs from a real Prometheus that scraped a fixture server', () => {
  let prometheus: RunningPrometheus | undefined;
  let fixtures: FixtureServer | undefined;
  let start = 0;
  let end = 0;

  beforeAll(() => ensurePrometheus(), 300_000);

  beforeAll(async () => {
    fixtures = await startFixtureServer(
      Object.fromEntries(
        Object.entries(ROUTES).map(([path, route]) => [path, (k: number) => (k < SCRAPES ? route.body(k) : undefined)]),
      ),
    );
    const target = fixtures.url.replace(/^http:\/\//, '');
    const jobs = Object.entries(ROUTES).map(([path, { job }]) => {
      // The exported job's target labels clash with the exporter's own: Prometheus renames those to exported_*.
      const labels =
        job === 'h100-exported'
          ? `, labels: {Hostname: scraper-host, UUID: scraper-uuid, pod: dcgm-exporter-0, namespace: monitoring}`
          : '';
      return `  - job_name: ${job}\n    metrics_path: ${path}\n    static_configs: [{targets: ['${target}']${labels}}]`;
    });
    start = Date.now() / 1000 - 1;
    prometheus = await startPrometheus({
      config: `global: {scrape_interval: 1s, scrape_timeout: 900ms}\nscrape_configs:\n${jobs.join('\n')}\n`,
    });
    // Every target has had its SCRAPES bodies and then a 503, so Prometheus committed them all.
    const deadline = Date.now() + 45_000;
    while (Object.keys(ROUTES).some((path) => (fixtures as FixtureServer).requests(path) <= SCRAPES)) {
      if (Date.now() > deadline) throw new Error(`targets not scraped ${SCRAPES + 1} times:\n${prometheus.log()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    end = Date.now() / 1000 + 0.5;
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop();
    await fixtures?.close();
  });

  /** The file side: the bodies a job was served, stamped with Prometheus's scrape times. */
  async function fileAggregates(path: string): Promise<GpuFieldAggregate[]> {
    const { job } = ROUTES[path] as { job: string };
    const up = await promRawSeries((prometheus as RunningPrometheus).url, `up{job="${job}"}`, {
      time: end,
      rangeSeconds: end - start,
    });
    const stamps = (up[0]?.points ?? []).filter((p) => p.value === 1).map((p) => p.time);
    const served = (fixtures as FixtureServer).served(path);
    expect(served).toHaveLength(SCRAPES);
    expect(stamps, `successful scrapes of ${job}`).toHaveLength(SCRAPES);
    const aggregator = new GpuAggregator({ fields: GPU_KPI_FIELDS });
    served.forEach((body, k) => {
      const scrape = normaliseGpuScrape(body.body);
      expect(scrape.malformed).toEqual([]);
      aggregator.push(gpuPointsOf(scrape, stamps[k] as number));
    });
    return aggregator.aggregates();
  }

  const promAggregates = (job: string) =>
    promGpuAggregates((prometheus as RunningPrometheus).url, { match: `{job="${job}"}`, start, end });

  const facts = (): GpuKpiFacts => ({ pue: 1.3, tokensPerSecond: 120_000, gpus: 8, windowSeconds: end - start });

  it.each(Object.keys(ROUTES))('%s: aggregates and KPIs via PromQL equal those from the served files', async (path) => {
    const { job } = ROUTES[path] as { job: string };
    const files = await fileAggregates(path);
    const prom = await promAggregates(job);
    expect(prom.map((a) => `${a.gpuKey} ${a.field}`)).toEqual(files.map((a) => `${a.gpuKey} ${a.field}`));
    expect(files.length).toBeGreaterThan(0);
    expect(differences(prom.map(comparable), files.map(comparable))).toEqual([]);
    expect(differences(gpuKpis(prom, facts()), gpuKpis(files, facts()))).toEqual([]);
  });

  it('the emulated H100 run: what the KPIs say, and the raw fetches they needed', async () => {
    const kpis = gpuKpis(await promAggregates('h100-current'), facts());
    expect(kpis.counts).toMatchObject({ gpus: 8, hosts: 2, samples: 8 * 8 * SCRAPES });
    // Power: GPU i of host h draws 250 + 40i + 100h + 37.125k W; mean over k = 0..5 adds 37.125 × 2.5.
    const itMeanW = 8 * 250 + 2 * 40 * (0 + 1 + 2 + 3) + 4 * 100 + 8 * 37.125 * 2.5;
    expect(kpis.power?.itMeanW).toBeCloseTo(itMeanW, 6);
    expect(kpis.power?.facilityMeanW).toBeCloseTo(itMeanW * 1.3, 6);
    expect(kpis.tokens?.perMWhIt).toBeCloseTo((120_000 / itMeanW) * 3.6e9, 0);
    // Throttle: GPU 0 of node-0 never slows; the others see 3 slowing masks (0x4, 0x44, 0x8) in 6 scrapes.
    expect(kpis.throttle).toMatchObject({ gpus: 8, gpusThrottled: 7, slowingSamples: 7 * 3 });
    expect(kpis.throttle?.share).toBeCloseTo((7 * 0.5) / 8, 12);
    // XID on GPU 1 of node-1: 0, 0, 79, 79, 0, 13 → events 79 and 13.
    expect(kpis.xid).toEqual({ events: 2, gpus: 1, byCode: { '79': 1, '13': 1 } });
    expect(kpis.utilisation.primary?.signal).toBe('grEngineActive');
    expect(kpis.utilisation.tensor?.mean).toBeCloseTo(0.55 * (kpis.utilisation.primary?.mean ?? 0), 12);
  });

  it('label variants Hostname/hostname, UUID/uuid, exported_* and 1.x names map to the same GPUs and KPIs', async () => {
    const url = (prometheus as RunningPrometheus).url;
    // The exported job really carries exported_* labels: the exporter's own values, renamed by Prometheus.
    // (A range read: after the 503s the series are stale, so an instant query at `end` finds nothing.)
    const raw = await promRawSeries(url, `DCGM_FI_DEV_POWER_USAGE{job="h100-exported"}`, {
      time: end,
      rangeSeconds: end - start,
    });
    expect(raw).toHaveLength(8);
    const metric = raw[0]?.metric;
    expect(metric).toMatchObject({ Hostname: 'scraper-host', UUID: 'scraper-uuid', exported_pod: 'train-0' });
    expect(metric?.exported_Hostname).toMatch(/^node-/);
    expect(metric?.exported_UUID).toMatch(/^GPU-0000/);

    const reference = gpuKpis(await promAggregates('h100-current'), facts());
    expect(reference.perGpu.map((row) => row.gpuKey)).toEqual([
      'node-0/GPU-000000-h100',
      'node-0/GPU-000001-h100',
      'node-0/GPU-000002-h100',
      'node-0/GPU-000003-h100',
      'node-1/GPU-000010-h100',
      'node-1/GPU-000011-h100',
      'node-1/GPU-000012-h100',
      'node-1/GPU-000013-h100',
    ]);
    for (const job of ['h100-old', 'h100-oldns', 'h100-exported', 'h100-v1']) {
      const kpis = gpuKpis(await promAggregates(job), facts());
      expect(differences(kpis, reference), job).toEqual([]);
    }
  });

  it('query_range steps the up series of a job', async () => {
    const series = await promQueryRange((prometheus as RunningPrometheus).url, 'up{job="h100-current"}', {
      start,
      end,
      stepSeconds: 1,
    });
    expect(series).toHaveLength(1);
    const values = new Set(series[0]?.points.map((p) => p.value));
    expect([...values].every((v) => v === 0 || v === 1)).toBe(true);
    expect(values.has(1)).toBe(true);
  });

  it('a bad selector comes back as the server’s 400 error, with the URL, the query and the fix', async () => {
    const url = (prometheus as RunningPrometheus).url;
    const failure = promGpuAggregates(url, { match: '{Hostname~"node.*"}', start, end });
    await expect(failure).rejects.toMatchObject({ name: 'TokenworksError', code: 'USAGE' });
    await expect(failure).rejects.toThrow(/HTTP 400 bad_data: .*parse error/);
    await expect(failure).rejects.toThrow(url);
    await expect(failure).rejects.toThrow(/Hostname~"node\.\*"/);
    await expect(failure).rejects.toThrow(/Fix: check the query and the selector/);
    await expect(promGpuAggregates(url, { match: 'DCGM_FI_DEV_POWER_USAGE', start, end })).rejects.toThrow(
      /not a label-matcher list: write it in braces/,
    );
    await expect(promQuery(url, 'sum(')).rejects.toThrow(/HTTP 400/);
  });

  it('an aborted call rejects with the abort, not a TokenworksError', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      promQuery((prometheus as RunningPrometheus).url, 'up', { signal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });
});

/**
 * The second recipe (operate.md §3.3): the same emulated scrapes written as OpenMetrics with explicit second time
 * stamps (15 s apart, in January 2026), turned into a TSDB block by `promtool tsdb create-blocks-from openmetrics`,
 * and served by a Prometheus started on that block. Here the file side knows every time stamp without reading
 * anything back, so XID event times and the observed span are checked exactly too.
 */
describe.skipIf(unavailable !== undefined)('GPU KPIs from a Prometheus backfilled with promtool', () => {
  const T0 = Date.UTC(2026, 0, 1) / 1000;
  const stamps = Array.from({ length: SCRAPES }, (_, k) => T0 + 15 * k);
  const bodies = stamps.map((_, k) => h100Body('current', k));
  let prometheus: RunningPrometheus | undefined;
  let work: string | undefined;

  beforeAll(() => ensurePrometheus(), 300_000);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'tokenworks-backfill-'));
    // OpenMetrics: one block per family (families must not interleave), each sample with its time stamp in seconds.
    const families = new Map<string, string[]>();
    bodies.forEach((body, k) => {
      for (const line of body.split('\n')) {
        if (line === '' || line.startsWith('#')) continue;
        const name = line.split('{')[0] as string;
        families.set(name, [...(families.get(name) ?? []), `${line} ${stamps[k]}`]);
      }
    });
    const text = [...families].flatMap(([name, lines]) => [`# TYPE ${name} gauge`, ...lines]).join('\n');
    writeFileSync(join(work, 'in.om'), `${text}\n# EOF\n`);
    execFileSync(
      PROMTOOL_PATH,
      ['tsdb', 'create-blocks-from', 'openmetrics', join(work, 'in.om'), join(work, 'blocks')],
      {
        stdio: 'pipe',
      },
    );
    const blocks = readdirSync(join(work, 'blocks')).map((block) => join(work as string, 'blocks', block));
    expect(blocks.length).toBeGreaterThan(0);
    prometheus = await startPrometheus({ config: 'global: {scrape_interval: 1m}\nscrape_configs: []\n', blocks });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('aggregates and KPIs equal the files’, XID event times included', async () => {
    const start = T0 - 7.5;
    const end = stamps[SCRAPES - 1] as number;
    const prom = await promGpuAggregates((prometheus as RunningPrometheus).url, {
      match: '{hostname=~"node-.*"}',
      start,
      end,
    });
    const aggregator = new GpuAggregator({ fields: GPU_KPI_FIELDS });
    bodies.forEach((body, k) => {
      aggregator.push(gpuPointsOf(normaliseGpuScrape(body), stamps[k] as number));
    });
    const files = aggregator.aggregates();
    expect(prom.map((a) => `${a.gpuKey} ${a.field}`)).toEqual(files.map((a) => `${a.gpuKey} ${a.field}`));
    expect(differences(prom.map(comparable), files.map(comparable))).toEqual([]);
    const facts = { windowSeconds: end - start, pue: 1.1 };
    expect(differences(gpuKpis(prom, facts), gpuKpis(files, facts))).toEqual([]);
    const xid = gpuKpis(prom).perGpu.find((row) => row.xidEvents.length > 0);
    expect(xid?.xidEvents).toEqual([
      { time: T0 + 30, xid: 79 },
      { time: T0 + 75, xid: 13 },
    ]);
    // Without a window the files' KPIs span the samples: 5 intervals of 15 s.
    expect(gpuKpis(files).window).toEqual({ seconds: 75, source: 'observed' });
    // The window's end is inclusive (the last scrape is at `end`), and samples before its start are left out.
    const later = await promGpuAggregates((prometheus as RunningPrometheus).url, { start: T0 + 0.5, end });
    expect(later.find((a) => a.field === GPU_KPI_FIELD.power)?.count).toBe(SCRAPES - 1);
  });
});

describe('a Prometheus that is not there', () => {
  it('gives a clear error naming the URL and the fix', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const failure = promGpuAggregates(url, { start: 1000, end: 2000 });
    await expect(failure).rejects.toMatchObject({ name: 'TokenworksError', code: 'USAGE' });
    await expect(failure).rejects.toThrow(
      new RegExp(
        `cannot reach Prometheus at ${url.replace(/\./g, '\\.')} \\(.*ECONNREFUSED.*\\): check that the server runs`,
      ),
    );
    await expect(promQuery('ftp://x', 'up')).rejects.toThrow(/not an http\(s\) URL/);
  });
});
