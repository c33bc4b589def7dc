/**
 * `POST /api/v1/write` (docs/api.md) fed by a real Prometheus (Debian's, on 127.0.0.1, stopped by PID): it scrapes a
 * fixture server serving DataDog's dcgm-exporter fixture (two T4 hosts) every second and forwards the series by
 * remote write (protobuf + Snappy) to the server under `?run=rw`; within a bounded wait the server's store holds
 * GPU points of every GPU series of the fixture, each with the fixture's value (the fixture parsed here with the
 * exposition parser, keyed by `Hostname/UUID` as dcgm-exporter names a GPU). A batch sent twice is stored once;
 * a body that does not decode is a 400 problem, another media type or encoding a 415, a query parameter unknown
 * a 400 naming it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemSchema } from '../src/http/problem.js';
import { encodeWriteRequest, type WriteSeries } from '../src/http/remote-write.js';
import { type RunningServer, startServer } from '../src/http/server.js';
import { parsePrometheusText } from '../src/telemetry/prometheus-text.js';
import {
  ensurePrometheus,
  type FixtureServer,
  prometheusUnavailable,
  type RunningPrometheus,
  startFixtureServer,
  startPrometheus,
} from './support/prometheus.js';

const unavailable = prometheusUnavailable();
if (unavailable !== undefined) console.warn(`skipping remote write from a real Prometheus: ${unavailable}`);

/** DataDog's dcgm-exporter test server body (README: the T4 part of metrics.txt, no final newline). */
const FIXTURE = readFileSync('../shared/data/telemetry/dcgm/datadog/serve-metrics', 'utf8');

/** The fixture's GPU series: `Hostname/UUID|field` → value. */
const EXPECTED = new Map<string, number>();
for (const sample of parsePrometheusText(FIXTURE).samples) {
  const { Hostname: host, UUID: uuid } = sample.labels;
  if (!sample.name.startsWith('DCGM_FI_') || uuid === undefined) continue;
  EXPECTED.set(`${host ?? ''}/${uuid}|${sample.name}`, sample.value);
}

let server: RunningServer;
let fixture: FixtureServer;
let prometheus: RunningPrometheus | undefined;

const write = (body: Uint8Array | string, headers: Record<string, string>, query = '?run=direct') =>
  fetch(new URL(`/api/v1/write${query}`, server.url), { method: 'POST', body, headers });
const PROTOBUF = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' };

/** Every stored point of `run`: `gpuKey|field` → values. */
async function stored(run: string): Promise<Map<string, number[]>> {
  const store = await server.api.observed.store();
  const points = new Map<string, number[]>();
  for await (const batch of store.gpuPoints(run)) {
    for (const p of batch) {
      const key = `${p.gpuKey}|${p.field}`;
      points.set(key, [...(points.get(key) ?? []), p.value]);
    }
  }
  return points;
}

beforeAll(async () => {
  server = await startServer({ port: 0, threads: 1 });
});
afterAll(async () => {
  await prometheus?.stop();
  await fixture?.close();
  await server?.close();
});

describe.skipIf(unavailable !== undefined)('remote write from a real Prometheus', () => {
  beforeAll(() => ensurePrometheus(), 300_000);

  beforeAll(async () => {
    fixture = await startFixtureServer({ '/metrics': () => `${FIXTURE}\n` });
    prometheus = await startPrometheus({
      config: [
        'global: {scrape_interval: 1s, scrape_timeout: 1s}',
        'scrape_configs:',
        '  - job_name: dcgm',
        `    static_configs: [{targets: ["${new URL(fixture.url).host}"]}]`,
        'remote_write:',
        `  - url: ${new URL('/api/v1/write?run=rw', server.url).href}`,
        '    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}',
        '',
      ].join('\n'),
    });
  }, 60_000);

  it('lands every GPU series of the scraped fixture in the store, with the fixture’s values', async () => {
    expect(EXPECTED.size).toBeGreaterThan(20);
    const deadline = Date.now() + 30_000;
    let points = await stored('rw');
    // Two scrapes of every series: the first batch may hold only part of one.
    while ([...EXPECTED.keys()].some((key) => (points.get(key)?.length ?? 0) < 2)) {
      if (Date.now() > deadline) {
        throw new Error(
          `the store did not hold every fixture series within 30 s: ${points.size} of ${EXPECTED.size}\n${prometheus?.log()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
      points = await stored('rw');
    }
    expect(new Set(points.keys())).toEqual(new Set(EXPECTED.keys()));
    for (const [key, values] of points) {
      for (const value of values) expect(value, key).toBe(EXPECTED.get(key));
    }
    // Prometheus's own series (up, scrape_duration_seconds, …) are not dcgm-exporter's: counted, not stored.
    const text = await (await fetch(new URL('/metrics', server.url))).text();
    expect(Number(/tokenworks_remote_write_samples_total\{outcome="foreign"\} (\d+)/.exec(text)?.[1])).toBeGreaterThan(
      0,
    );
    expect(Number(/tokenworks_remote_write_samples_total\{outcome="stored"\} (\d+)/.exec(text)?.[1])).toBeGreaterThan(
      0,
    );
  }, 60_000);
});

describe('POST /api/v1/write', () => {
  const series: WriteSeries[] = [
    {
      labels: { __name__: 'DCGM_FI_DEV_POWER_USAGE', Hostname: 'node-1', UUID: 'GPU-1', gpu: '0', job: 'dcgm' },
      samples: [
        { value: 300.5, timestamp: 1_700_000_000_000 },
        { value: 310.25, timestamp: 1_700_000_015_000 },
      ],
    },
    { labels: { __name__: 'up', job: 'dcgm' }, samples: [{ value: 1, timestamp: 1_700_000_000_000 }] },
  ];

  it('stores a batch once when it is sent twice, under the run the query names', async () => {
    const body = await encodeWriteRequest(series);
    expect((await write(body, PROTOBUF)).status).toBe(204);
    expect((await write(body, PROTOBUF)).status).toBe(204);
    expect(await stored('direct')).toEqual(new Map([['node-1/GPU-1|DCGM_FI_DEV_POWER_USAGE', [300.5, 310.25]]]));
    const counts = await (await server.api.observed.store()).counts('direct');
    expect(counts.gpuPoints).toBe(2);
  });

  it('names the run by the job label without ?run=', async () => {
    expect((await write(await encodeWriteRequest(series), PROTOBUF, '')).status).toBe(204);
    expect((await stored('dcgm')).get('node-1/GPU-1|DCGM_FI_DEV_POWER_USAGE')).toEqual([300.5, 310.25]);
  });

  it('answers a body that does not decode with a 400 problem, other media types and encodings with 415', async () => {
    const bad = await write('not snappy at all', PROTOBUF);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = ProblemSchema.parse(await bad.json());
    expect(problem.code).toBe('BODY_INVALID');
    expect(problem.detail).toMatch(/Snappy/);
    const body = await encodeWriteRequest(series);
    expect((await write(body, { ...PROTOBUF, 'content-encoding': 'gzip' })).status).toBe(415);
    expect((await write(body, { ...PROTOBUF, 'content-type': 'application/json' })).status).toBe(415);
    const v2 = { ...PROTOBUF, 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request' };
    expect((await write(body, v2)).status).toBe(415);
    const query = await write(body, PROTOBUF, '?job=x');
    expect(query.status).toBe(400);
    expect(ProblemSchema.parse(await query.json()).issues?.map((i) => i.path)).toEqual(['query.job']);
  });
});
