/**
 * Fleet benchmark (issue 16, "Fleet benchmark"; compiled code under plain node, `npm run bench:fleet` builds first):
 * a real VictoriaMetrics (Debian's, 127.0.0.1, temp data dir, stopped by PID) is remote-written a synthetic
 * dcgm-exporter load of {@link HOSTS} hosts × {@link GPUS} GPUs × {@link FIELDS}.length fields for a simulated hour
 * at a {@link SCRAPE_SECONDS} s scrape, ending a few minutes ago (VictoriaMetrics keeps any sample within its
 * retention), with injected anomalies: a slow host (SM clock 1,300 MHz against 1,980), a hot GPU, XIDs, throttling.
 * Then fleet mode (src/node/prometheus-fleet.ts) reads the hour's KPIs and reports the queries, the bytes of their
 * answers and their time; the KPIs are compared with those computed from the generated samples themselves, with
 * gpu-kpis.ts's definitions, fleet-wide and per host. Beside it: the bytes of a raw pull of every series, measured on
 * {@link RAW_SUBSET_HOSTS} hosts and scaled, the per-GPU path (`promGpuAggregates`) on the whole fleet, and
 * `tokenworks observe --prometheus` itself over the hour.
 * Writes bench/results/fleet-<date>.json; the figures of the results file it replaces (or its own `before`) are kept
 * as `before`.
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../dist/node/files.js';
import { promFleetKpis } from '../dist/node/prometheus-fleet.js';
import { promGpuAggregates, promRawSeries } from '../dist/node/prometheus-source.js';
import { remoteWrite } from '../dist/node/remote-write-client.js';
import { GpuAggregator, gpuKpis } from '../dist/telemetry/gpu-kpis.js';
import { mulberry32 } from '../dist/util/random.js';
import { previousFigures } from './previous.mjs';

const VICTORIA_METRICS = '/usr/bin/victoria-metrics';
const HOSTS = Number(process.env.FLEET_HOSTS ?? 1250);
const GPUS = 8;
const SCRAPE_SECONDS = Number(process.env.FLEET_SCRAPE_SECONDS ?? 15);
const HOUR = 3600;
const SCRAPES = HOUR / SCRAPE_SECONDS;
const FIELDS = [
  'DCGM_FI_DEV_POWER_USAGE',
  'DCGM_FI_DEV_GPU_TEMP',
  'DCGM_FI_DEV_GPU_UTIL',
  'DCGM_FI_DEV_SM_CLOCK',
  'DCGM_FI_DEV_CLOCKS_EVENT_REASONS',
  'DCGM_FI_DEV_XID_ERRORS',
];
/** Hosts per remote-write request (all their series, the whole hour). */
const HOSTS_PER_WRITE = 10;
/** Requests in flight. */
const WRITE_CONCURRENCY = 2;
/** Hosts whose raw series are pulled to measure what a raw pull of the fleet takes. */
const RAW_SUBSET_HOSTS = 10;
const SLOW_HOST = 'host-0042';
const HOT = { host: 'host-0777', gpu: 5 };
const XID_GPUS = [
  { host: 'host-0100', gpu: 2, xid: 79, from: 120 },
  { host: 'host-1000', gpu: 0, xid: 48, from: 200 },
];
const hostName = (h) => `host-${String(h).padStart(4, '0')}`;

/** One GPU's value of a field at scrape k. */
function sampleOf(field, host, g, k, rand) {
  const slow = host === SLOW_HOST;
  switch (field) {
    case 'DCGM_FI_DEV_POWER_USAGE':
      return Math.round(((slow ? 450 : 600) + 50 * Math.sin(k / 7 + g) + 20 * rand()) * 1000) / 1000;
    case 'DCGM_FI_DEV_GPU_TEMP':
      return host === HOT.host && g === HOT.gpu ? 89 : 58 + g + Math.round(5 * rand());
    case 'DCGM_FI_DEV_GPU_UTIL':
      return 85 + Math.round(15 * rand());
    case 'DCGM_FI_DEV_SM_CLOCK':
      return (slow ? 1300 : 1980) - Math.round(15 * rand());
    case 'DCGM_FI_DEV_CLOCKS_EVENT_REASONS': {
      if (slow && k % 2 === 0) return 0x24; // power cap + SW thermal: slowing
      if (host === HOT.host && g === HOT.gpu && k % 4 === 0) return 0x40; // HW thermal
      return k % 9 === 0 ? 1 : 0; // idle: not slowing
    }
    case 'DCGM_FI_DEV_XID_ERRORS': {
      const x = XID_GPUS.find((e) => e.host === host && e.gpu === g);
      return x !== undefined && k >= x.from ? x.xid : 0;
    }
  }
  return 0;
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

async function startVictoriaMetrics() {
  const root = mkdtempSync(join(tmpdir(), 'tokenworks-bench-vm-'));
  const port = await freePort();
  const child = spawn(
    VICTORIA_METRICS,
    [
      `-storageDataPath=${join(root, 'data')}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-retentionPeriod=100y',
      '-search.disableCache',
      '-search.latencyOffset=0s',
      '-loggerLevel=ERROR',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (c) => {
    output += c;
  });
  child.stderr.on('data', (c) => {
    output += c;
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    rmSync(root, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`victoria-metrics exited:\n${output}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {}
    if (i > 300) {
      await stop();
      throw new Error(`victoria-metrics not ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, pid: child.pid, stop, root };
}

/** A Megatron-LM log over the hour (the format of src/telemetry/step-log.ts), for `observe`. */
function writeLog(path, t0) {
  let text = '';
  const lines = HOUR / 10;
  for (let i = 1; i <= lines; i++) {
    const stamp = new Date((t0 + i * 10) * 1000).toISOString().replace('T', ' ').slice(0, 19);
    text += ` [${stamp}] iteration ${String(i).padStart(8)}/${String(100000).padStart(8)} | consumed samples: ${i * 1024} | elapsed time per iteration (ms): ${(10000 + (i % 7)).toFixed(1)} | learning rate: 1.500000E-04 | global batch size:  1024 | lm loss: 2.500000E+00 | loss scale: 1.0 | grad norm: 0.912 | number of skipped iterations:   0 | number of nan iterations:   0 |\n`;
  }
  writeFileSync(path, text);
}

const relDiff = (a, b) => (a === b ? 0 : Math.abs(a - b) / Math.max(1e-12, Math.abs(b)));

/** The largest relative difference over the fleet figures of two KPI sets, and the count figures that differ. */
function compare(actual, expected) {
  const pairs = [
    ['power.itMeanW', actual.power?.itMeanW, expected.power?.itMeanW],
    ['power.meanPerGpuW', actual.power?.meanPerGpuW, expected.power?.meanPerGpuW],
    ['power.peakGpuW', actual.power?.peakGpuW, expected.power?.peakGpuW],
    ['power.itEnergyJ', actual.power?.itEnergyJ, expected.power?.itEnergyJ],
    ['utilisation.primary.mean', actual.utilisation.primary?.mean, expected.utilisation.primary?.mean],
    [
      'utilisation.primary.minGpuMean',
      actual.utilisation.primary?.minGpuMean,
      expected.utilisation.primary?.minGpuMean,
    ],
    [
      'utilisation.primary.maxGpuMean',
      actual.utilisation.primary?.maxGpuMean,
      expected.utilisation.primary?.maxGpuMean,
    ],
    ['temperature.meanC', actual.temperature?.meanC, expected.temperature?.meanC],
    ['temperature.maxC', actual.temperature?.maxC, expected.temperature?.maxC],
    ['throttle.share', actual.throttle?.share, expected.throttle?.share],
  ];
  const exact = [
    ['counts.gpus', actual.counts.gpus, expected.counts.gpus],
    ['counts.hosts', actual.counts.hosts, expected.counts.hosts],
    ['counts.samples', actual.counts.samples, expected.counts.samples],
    ['throttle.gpusThrottled', actual.throttle?.gpusThrottled, expected.throttle?.gpusThrottled],
    ['throttle.samples', actual.throttle?.samples, expected.throttle?.samples],
    ['xid.events', actual.xid.events, expected.xid.events],
    ['xid.byCode', JSON.stringify(actual.xid.byCode), JSON.stringify(expected.xid.byCode)],
  ];
  let worst = 0;
  let worstName = '';
  for (const [name, a, b] of pairs) {
    const d = a === undefined || b === undefined ? (a === b ? 0 : Number.POSITIVE_INFINITY) : relDiff(a, b);
    if (d > worst) {
      worst = d;
      worstName = name;
    }
  }
  const mismatches = exact.filter(([, a, b]) => a !== b).map(([name, a, b]) => `${name}: ${a} ≠ ${b}`);
  return { maxRelativeDifference: worst, ...(worstName && { worstFigure: worstName }), mismatches };
}

const counter = () => {
  const c = { queries: 0, bytes: 0, ms: 0 };
  c.onResponse = (info) => {
    c.queries += 1;
    c.bytes += info.bytes;
    c.ms += info.ms;
  };
  return c;
};
/** Bytes: the JSON bodies as parsed; VictoriaMetrics gzips them on the wire (chunked, no content-length to read). */
const figures = ({ queries, bytes, ms }) => ({ queries, bytes, queryMs: Math.round(ms) });

async function main() {
  const vm = await startVictoriaMetrics();
  try {
    const nowS = Math.floor(Date.now() / 1000);
    const t0 = Math.floor((nowS - HOUR - 300) / SCRAPE_SECONDS) * SCRAPE_SECONDS;
    const start = t0 - SCRAPE_SECONDS / 2;
    const end = t0 + (SCRAPES - 1) * SCRAPE_SECONDS + SCRAPE_SECONDS / 2;

    // 1. Generate and remote-write, aggregating the raw samples on the way (gpu-kpis.ts's aggregator).
    const aggregator = new GpuAggregator();
    const rand = mulberry32(2026);
    let samples = 0;
    let bodyBytes = 0;
    let requests = 0;
    const writeStarted = performance.now();
    const cpuStarted = process.cpuUsage();
    const inFlight = new Set();
    for (let h0 = 0; h0 < HOSTS; h0 += HOSTS_PER_WRITE) {
      const series = [];
      const points = [];
      for (let h = h0; h < Math.min(HOSTS, h0 + HOSTS_PER_WRITE); h++) {
        const host = hostName(h);
        const hostLabel = h % 2 === 0 ? 'Hostname' : 'hostname';
        for (let g = 0; g < GPUS; g++) {
          const gpuKey = `${host}/GPU-${h}-${g}`;
          const labels = { [hostLabel]: host, gpu: String(g), UUID: `GPU-${h}-${g}`, hpc_job: `job-${h % 5}` };
          for (const field of FIELDS) {
            const values = new Array(SCRAPES);
            for (let k = 0; k < SCRAPES; k++) {
              const value = sampleOf(field, host, g, k, rand);
              const time = t0 + k * SCRAPE_SECONDS;
              values[k] = { value, timestamp: time * 1000 };
              points.push({ time, gpuKey, hostname: host, field, value });
            }
            series.push({ labels: { __name__: field, ...labels }, samples: values });
            samples += SCRAPES;
          }
        }
      }
      aggregator.push(points);
      const write = remoteWrite(`${vm.url}/api/v1/write`, series).then((r) => {
        bodyBytes += r.bytes;
        requests += 1;
        inFlight.delete(write);
      });
      inFlight.add(write);
      if (inFlight.size >= WRITE_CONCURRENCY) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    const writeSeconds = (performance.now() - writeStarted) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    await fetch(`${vm.url}/internal/force_flush`);
    const flushedAt = performance.now();
    // Wait until every sample is searchable (VictoriaMetrics indexes new series in the background).
    for (;;) {
      const response = await fetch(`${vm.url}/api/v1/query`, {
        method: 'POST',
        body: new URLSearchParams({ query: 'sum(count_over_time({__name__=~"DCGM_.*"}[2h]))', time: String(end) }),
      });
      const json = await response.json();
      const seen = Number(json.data?.result?.[0]?.value?.[1] ?? 0);
      if (seen >= samples || performance.now() - flushedAt > 120_000) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    console.log(`wrote ${samples.toLocaleString('en')} samples in ${writeSeconds.toFixed(1)} s (${requests} requests)`);

    // 2. The KPIs of the raw samples, fleet-wide and per host.
    const rawAggregates = aggregator.aggregates();
    const facts = { windowSeconds: end - start };
    const expected = gpuKpis(rawAggregates, facts);
    const byHost = new Map();
    for (const a of rawAggregates) byHost.set(a.hostname, [...(byHost.get(a.hostname) ?? []), a]);

    // 3. Fleet mode, cold then warm.
    const runs = [];
    let fleet;
    for (let i = 0; i < 2; i++) {
      const c = counter();
      const began = performance.now();
      fleet = await promFleetKpis(vm.url, { start, end, onResponse: c.onResponse, timeoutMs: 300_000 });
      runs.push({ ...figures(c), wallMs: Math.round(performance.now() - began) });
    }
    const fleetAgreement = compare(fleet.fleet, expected);
    let hostWorst = 0;
    const hostMismatches = [];
    for (const row of fleet.hosts) {
      const mine = gpuKpis(byHost.get(row.host) ?? [], facts);
      for (const [name, a, b] of [
        ['itMeanW', row.itMeanW, mine.power?.itMeanW],
        ['peakGpuW', row.peakGpuW, mine.power?.peakGpuW],
        ['itEnergyJ', row.itEnergyJ, mine.power?.itEnergyJ],
        ['utilisation', row.utilisation, mine.utilisation.primary?.mean],
        ['meanTempC', row.meanTempC, mine.temperature?.meanC],
        ['maxTempC', row.maxTempC, mine.temperature?.maxC],
        ['throttledShare', row.throttledShare, mine.throttle?.share],
      ]) {
        const d = a === undefined || b === undefined ? (a === b ? 0 : Number.POSITIVE_INFINITY) : relDiff(a, b);
        if (d > 1e-9) hostMismatches.push(`${row.host} ${name}: ${a} vs ${b}`);
        hostWorst = Math.max(hostWorst, d);
      }
      if (row.gpus !== mine.counts.gpus || row.xidEvents !== mine.xid.events || row.samples !== mine.counts.samples)
        hostMismatches.push(`${row.host} counts`);
    }

    // 4. What a raw pull takes: every series of RAW_SUBSET_HOSTS hosts, scaled to the fleet.
    const raw = counter();
    const subset = Array.from({ length: RAW_SUBSET_HOSTS }, (_, i) => hostName(i)).join('|');
    let rawSamples = 0;
    for (const label of ['Hostname', 'hostname']) {
      const got = await promRawSeries(vm.url, `{__name__=~"DCGM_.*",${label}=~"${subset}"}`, {
        time: end,
        rangeSeconds: end - start,
        onResponse: raw.onResponse,
        timeoutMs: 300_000,
      });
      rawSamples += got.reduce((n, s) => n + s.points.length, 0);
    }
    const rawScale = HOSTS / RAW_SUBSET_HOSTS;

    // 5. The per-GPU path over the whole fleet.
    const perGpu = counter();
    const perGpuStarted = performance.now();
    const perGpuAggregates = await promGpuAggregates(vm.url, {
      start,
      end,
      onResponse: perGpu.onResponse,
      timeoutMs: 300_000,
    });
    const perGpuWall = performance.now() - perGpuStarted;
    const perGpuAgreement = compare(gpuKpis(perGpuAggregates, facts), expected);

    // 6. `tokenworks observe --prometheus` over the hour (fleet mode chosen by itself: 10,000 GPUs > 512).
    const dir = mkdtempSync(join(tmpdir(), 'tokenworks-bench-fleet-'));
    let observe;
    try {
      const log = join(dir, 'train.log');
      writeLog(log, t0);
      const observeStarted = performance.now();
      const out = execFileSync(
        process.execPath,
        [
          join(import.meta.dirname, '..', 'bin', 'tokenworks.js'),
          'observe',
          join(import.meta.dirname, '..', 'examples', 'llama3-70b.yaml'),
          '--log',
          log,
          '--prometheus',
          vm.url,
          '--from',
          String(start),
          '--to',
          String(end),
          '--replicas',
          '0',
          '--json',
        ],
        { encoding: 'utf8', maxBuffer: 2 ** 28 },
      );
      const json = JSON.parse(out);
      observe = {
        wallMs: Math.round(performance.now() - observeStarted),
        prometheus: json.inputs?.prometheus,
        hosts: json.inputs?.fleet?.hosts?.length,
        flagged: json.inputs?.fleet?.stragglers?.flagged,
        gpus: json.gpu?.kpis?.counts?.gpus,
        itMeanW: json.gpu?.kpis?.power?.itMeanW,
        notes: (json.notes ?? []).filter((n) => /fleet|PromQL|SM clock/.test(n)),
      };
      const agree = json.gpu?.kpis ? compare(json.gpu.kpis, expected) : undefined;
      if (agree) observe.agreement = agree;
    } catch (error) {
      observe = {
        error: `${String(error.message ?? error).slice(0, 1000)} ${String(error.stderr ?? '').slice(0, 1000)}`,
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const directory = join(import.meta.dirname, 'results');
    const before = previousFigures(directory, 'fleet');
    const warm = runs[runs.length - 1];
    const result = {
      benchmark: `fleet: ${(HOSTS * GPUS).toLocaleString('en')} GPUs (${HOSTS} hosts × ${GPUS}) × ${FIELDS.length} dcgm fields, one hour at a ${SCRAPE_SECONDS} s scrape, remote-written into VictoriaMetrics 1.79.5 (single node, same machine); observe's fleet mode over the hour`,
      cpus: os.cpus().length,
      loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
      date: new Date().toISOString(),
      node: process.version,
      target:
        'issue 16: what crosses the wire grows with hosts, not GPUs × samples; the KPIs equal those of the raw series',
      write: {
        samples,
        series: HOSTS * GPUS * FIELDS.length,
        requests,
        snappyBytes: bodyBytes,
        seconds: Number(writeSeconds.toFixed(1)),
        samplesPerSecond: Math.round(samples / writeSeconds),
        clientCpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)),
        note: 'generation, protobuf encoding (protobufjs), Snappy (snappyjs), the raw-KPI aggregation and the POSTs, 2 in flight',
      },
      fleet: {
        cold: runs[0],
        warm,
        rawSeriesRead: fleet.transfer.rawSeries,
        throttle: fleet.transfer.throttle,
        hosts: fleet.hosts.length,
        jobs: fleet.jobs.length,
        stragglerHostsFlagged: fleet.stragglers.flagged,
        stragglerPoints: fleet.stragglers.points,
        bytesPerHost: Math.round(warm.bytes / HOSTS),
        agreement: {
          fleet: fleetAgreement,
          perHost: { maxRelativeDifference: hostWorst, mismatches: hostMismatches.slice(0, 20) },
        },
        kpis: {
          itMeanW: fleet.fleet.power?.itMeanW,
          itEnergyKWh: (fleet.fleet.power?.itEnergyJ ?? 0) / 3.6e6,
          utilisation: fleet.fleet.utilisation.primary?.mean,
          maxTempC: fleet.fleet.temperature?.maxC,
          throttledShare: fleet.fleet.throttle?.share,
          gpusThrottled: fleet.fleet.throttle?.gpusThrottled,
          xid: fleet.fleet.xid,
        },
      },
      rawPull: {
        measuredHosts: RAW_SUBSET_HOSTS,
        measured: { ...figures(raw), samples: rawSamples },
        estimatedFleetBytes: Math.round(raw.bytes * rawScale),
        estimatedFleetQueryMs: Math.round(raw.ms * rawScale),
        note: `every DCGM_* series of ${RAW_SUBSET_HOSTS} hosts over the hour (an instant query of a range vector), × ${rawScale} for the fleet`,
      },
      perGpuPath: {
        ...figures(perGpu),
        wallMs: Math.round(perGpuWall),
        agreement: perGpuAgreement,
        note: 'promGpuAggregates (prometheus-source.ts): count/sum/min/max per GPU and field, raw bitmask samples of the GPUs that can slow, raw XID samples of the GPUs with one',
      },
      bytesNote:
        'bytes are the JSON bodies as the client parses them; VictoriaMetrics gzips its answers on the wire (Content-Encoding: gzip), so fewer cross it',
      queryMsNote:
        'queryMs sums each query from request to body (fleet mode has 2 in flight); wallMs is the whole read, the client’s KPIs of every host and job included',
      ratios: {
        rawOverFleetBytes: Math.round((raw.bytes * rawScale) / warm.bytes),
        perGpuOverFleetBytes: Math.round(perGpu.bytes / warm.bytes),
      },
      observe,
      ...(before !== undefined && { before }),
    };
    await mkdir(directory, { recursive: true });
    const path = join(directory, `fleet-${result.date.slice(0, 10)}.json`);
    await writeFileAtomic(path, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await vm.stop();
  }
}

await main();
