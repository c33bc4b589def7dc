/**
 * `GET /metrics` (docs/api.md) scraped by a real Prometheus (Debian's, on 127.0.0.1, stopped by PID): the server
 * runs with a token, so the scrape sends it as a bearer credential and an unauthenticated request is a 401.
 * Two estimates and one invalid spec are counted under the route template, the text passes `promtool check
 * metrics`, a job shows in the jobs gauge and the duration histogram, and no label carries a raw path or spec.
 * A run observed through the API (an emulated Llama 3 8B run on 64 H100 with one slow host, observed with the
 * detectors) has its KPIs, plan gap and straggler scores queryable in Prometheus, equal to the figures of the
 * observe answer; the runs and hosts exported are bounded, and a run observed again replaces its figures.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObserveOutcome } from '../src/app/observe.js';
import { JobStore } from '../src/http/jobs.js';
import { createMetrics, MAX_EXPORTED_HOSTS, MAX_EXPORTED_RUNS } from '../src/http/metrics.js';
import { ObservedRuns } from '../src/http/observe.js';
import { type RunningServer, startServer } from '../src/http/server.js';
import { VERSION } from '../src/version.js';
import { run } from './run-cli.js';
import {
  ensurePrometheus,
  PROMTOOL_PATH,
  prometheusUnavailable,
  type RunningPrometheus,
  startPrometheus,
} from './support/prometheus.js';

const unavailable = prometheusUnavailable();
if (unavailable !== undefined) console.warn(`skipping the /metrics scrape by a real Prometheus: ${unavailable}`);

const SPEC_70B = readFileSync('examples/llama3-70b.yaml', 'utf8');
const SPEC_8B = readFileSync('examples/llama3-8b.yaml', 'utf8');
const TOKEN = 'a-metrics-token-of-32-characters';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const YAML = { 'content-type': 'application/yaml', ...AUTH };
/** The route templates a label may name (besides `unmatched`). */
const TEMPLATES = new Set([
  '/v1/estimate',
  '/v1/jobs/simulate',
  '/v1/jobs/{id}',
  '/v1/observe',
  '/metrics',
  '/healthz',
]);

/** A run to observe: Llama 3 8B on 64 H100 (8 hosts) for 12 hours, host 1 slow for 3 of them. */
const FAULTY_SPEC = `name: Llama 3 8B on 64 H100, 10-minute scrapes
workload:
  model: llama3-8b
  training: { totalTokens: 15T, sequenceLength: 8192, globalBatch: { tokens: 4194304 }, precision: fp8 }
system: { accelerator: h100-sxm, gpuCount: 64, scaleOut: { fabric: ndr-ib } }
plan: { tp: 1, pp: 1, sharding: zero1, microBatch: 1, recomputation: none }
twin: { days: 0.5, bucketMinutes: 10 }
`;
const FAULTS = 'faults:\n  - { kind: slow-host, host: 1, startHours: 2, durationHours: 3, slowdown: 1.3 }\n';

/** The folder the emulated run lies in: the server's data dir. */
let dataDir: string;

let server: RunningServer;
let prometheus: RunningPrometheus | undefined;

const url = (path: string) => new URL(path, server.url);
const post = (path: string, body: string) => fetch(url(path), { method: 'POST', body, headers: YAML });

/** The current value of each series of a PromQL query, keyed by its labels' `k=v` joined with commas. */
async function query(promql: string): Promise<Map<string, number>> {
  const response = await fetch(
    `${(prometheus as RunningPrometheus).url}/api/v1/query?query=${encodeURIComponent(promql)}`,
  );
  const body = (await response.json()) as {
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  const series = new Map<string, number>();
  for (const { metric, value } of body.data.result) {
    const { __name__: _name, instance: _instance, job: _job, ...labels } = metric;
    const key = Object.entries(labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    series.set(key, Number(value[1]));
  }
  return series;
}

describe.skipIf(unavailable !== undefined)('GET /metrics scraped by a real Prometheus', () => {
  beforeAll(() => ensurePrometheus(), 300_000);

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tw-metrics-'));
    await writeFile(join(dataDir, 'spec.yaml'), FAULTY_SPEC);
    await writeFile(join(dataDir, 'faults.yaml'), FAULTS);
    const emulated = await run(
      'emulate',
      join(dataDir, 'spec.yaml'),
      '--out',
      join(dataDir, 'run'),
      '--faults',
      join(dataDir, 'faults.yaml'),
    );
    expect(emulated.code, emulated.stderr).toBe(0);
  }, 120_000);

  beforeAll(async () => {
    server = await startServer({ port: 0, threads: 1, token: TOKEN, dataDir });
    const target = new URL(server.url).host;
    prometheus = await startPrometheus({
      config: [
        'global: {scrape_interval: 1s, scrape_timeout: 1s}',
        'scrape_configs:',
        '  - job_name: tokenworks',
        '    metrics_path: /metrics',
        `    authorization: {type: Bearer, credentials: ${TOKEN}}`,
        `    static_configs: [{targets: ["${target}"]}]`,
        '',
      ].join('\n'),
    });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await server?.close();
  });

  it('needs the token like every route but /healthz', async () => {
    const bare = await fetch(url('/metrics'));
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(url('/healthz'))).status).toBe(200);
    const ok = await fetch(url('/metrics'), { headers: AUTH });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('counts requests by route template and status, queryable in Prometheus, and passes promtool', async () => {
    expect((await post('/v1/estimate', SPEC_70B)).status).toBe(200);
    expect((await post('/v1/estimate', SPEC_8B)).status).toBe(200);
    const bad = SPEC_70B.replace('totalTokens: 15T', 'totalTokens: -5');
    expect((await post('/v1/estimate', bad)).status).toBe(422);
    // A job, for the jobs gauge and the duration histogram; and a raw path that must not become a label.
    const started = await post('/v1/jobs/simulate?replicas=2', SPEC_8B);
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    for (let status = 'running'; status === 'running'; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = ((await (await fetch(url(`/v1/jobs/${id}`), { headers: AUTH })).json()) as { status: string }).status;
      expect(['running', 'succeeded']).toContain(status);
    }
    expect((await fetch(url('/no/such/secret-path'), { headers: AUTH })).status).toBe(404);

    const deadline = Date.now() + 15_000;
    let requests = new Map<string, number>();
    for (;;) {
      requests = await query('tokenworks_http_requests_total');
      const counts = [
        requests.get('method=POST,route=/v1/estimate,status=200'),
        requests.get('method=POST,route=/v1/estimate,status=422'),
      ];
      // The 404 came last: a scrape that has it saw the job finished too.
      const last = requests.get('method=GET,route=unmatched,status=404');
      if (counts[0] === 2 && counts[1] === 1 && last === 1) break;
      if (Date.now() > deadline) {
        throw new Error(
          `Prometheus did not have the counts within 15 s: ${JSON.stringify([...requests])}\n${prometheus?.log()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(requests.get('method=POST,route=/v1/jobs/simulate,status=202')).toBe(1);
    expect(requests.get('method=GET,route=/metrics,status=401')).toBe(1);
    for (const key of requests.keys()) {
      const route = /route=([^,]*)/.exec(key)?.[1] as string;
      expect(route === 'unmatched' || TEMPLATES.has(route), key).toBe(true);
    }

    const text = await (await fetch(url('/metrics'), { headers: AUTH })).text();
    expect(text).not.toContain('secret-path');
    expect(text).not.toContain(id);
    expect(text).toContain('tokenworks_jobs{kind="simulate",state="succeeded"} 1');
    expect(text).toContain('tokenworks_jobs{kind="plan",state="running"} 0');
    expect(text).toContain('tokenworks_job_seconds_count{kind="simulate"} 1');
    expect(text).toContain(`tokenworks_build_info{version="${VERSION}"} 1`);
    // promtool exits non-zero on a malformed exposition or a lint problem.
    execFileSync(PROMTOOL_PATH, ['check', 'metrics'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] });

    const jobs = await query('tokenworks_jobs{kind="simulate"}');
    expect(jobs.get('kind=simulate,state=succeeded')).toBe(1);
    const build = await query('tokenworks_build_info');
    expect(build.get(`version=${VERSION}`)).toBe(1);
  }, 60_000);

  it("exports an observed run's KPIs, plan gap and straggler scores, equal to the observe answer's figures", async () => {
    const response = await fetch(url('/v1/observe'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...AUTH },
      body: JSON.stringify({
        spec: FAULTY_SPEC,
        run: 'faulty',
        logs: ['run/training.log'],
        dcgm: ['run/dcgm'],
        detect: true,
        replicas: 0,
        forecast: false,
      }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: read field by field
    const outcome: any = await response.json();
    expect(response.status, JSON.stringify(outcome).slice(0, 500)).toBe(200);
    const k = outcome.kpis.run;
    expect(k.empty).toBe(false);

    const deadline = Date.now() + 15_000;
    let goodput = await query('tokenworks_goodput_ratio');
    while (goodput.get('run=faulty') === undefined) {
      if (Date.now() > deadline) throw new Error(`Prometheus did not have the KPIs within 15 s\n${prometheus?.log()}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      goodput = await query('tokenworks_goodput_ratio');
    }
    expect(goodput.get('run=faulty')).toBeCloseTo(k.goodput, 12);
    expect((await query('tokenworks_ettr')).get('run=faulty')).toBeCloseTo(k.ettr, 12);
    expect((await query('tokenworks_tokens_per_second')).get('run=faulty')).toBeCloseTo(
      k.throughput.tokensPerSecond,
      6,
    );
    expect((await query('tokenworks_mfu_ratio')).get('run=faulty')).toBeCloseTo(k.throughput.mfu, 12);
    const steps = await query('tokenworks_step_seconds');
    for (const [quantile, key] of [
      ['0.1', 'p10'],
      ['0.5', 'p50'],
      ['0.9', 'p90'],
      ['0.99', 'p99'],
    ]) {
      expect(steps.get(`quantile=${quantile},run=faulty`), quantile).toBeCloseTo(k.steady[key as string], 12);
    }
    const gaps = await query('tokenworks_plan_gap_ratio');
    const compared = outcome.planVersusActual.filter((c: { gap?: number }) => c.gap !== undefined);
    expect(compared.length).toBeGreaterThan(2);
    for (const c of compared) expect(gaps.get(`figure=${c.metric},run=faulty`), c.metric).toBeCloseTo(c.gap, 12);
    expect(gaps.size).toBe(compared.length);
    // The lowest straggler score of each host among the answer's detections.
    const lowest = new Map<string, number>();
    for (const d of outcome.detect.detections) {
      if (d.kind === 'straggler' && d.host !== undefined)
        lowest.set(d.host, Math.min(lowest.get(d.host) ?? 1, d.score));
    }
    expect(lowest.has('host-0001')).toBe(true);
    const scores = await query('tokenworks_straggler_score');
    expect(new Set(scores.keys())).toEqual(new Set([...lowest.keys()].map((host) => `host=${host},run=faulty`)));
    for (const [host, score] of lowest) expect(scores.get(`host=${host},run=faulty`), host).toBeCloseTo(score, 12);

    const text = await (await fetch(url('/metrics'), { headers: AUTH })).text();
    execFileSync(PROMTOOL_PATH, ['check', 'metrics'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] });
  }, 120_000);
});

describe('the KPI metrics’ bounds', () => {
  /** An outcome with these figures (the rest of an outcome is not read by the metrics). */
  const outcomeOf = (goodput: number, hosts: number) =>
    ({
      kpis: {
        run: {
          empty: false,
          goodput,
          ettr: goodput,
          steady: { count: 0, p10: 0, p50: 0, p90: 0, p99: 0 },
        },
      },
      planVersusActual: [],
      detect: {
        detections: Array.from({ length: hosts }, (_, i) => ({
          kind: 'straggler',
          host: `host-${String(i).padStart(4, '0')}`,
          score: 0.5 + i / (4 * hosts),
        })),
      },
    }) as unknown as ObserveOutcome;

  it('exports the most recently observed runs and the slowest hosts, counts the others, and follows re-observation', async () => {
    const observed = new ObservedRuns();
    const metrics = createMetrics(new JobStore(), ['observe'], observed);
    const runs = MAX_EXPORTED_RUNS + 8;
    for (let i = 0; i < runs; i++) observed.record(`run-${i}`, outcomeOf(i / 100, i === runs - 1 ? 40 : 1), i);
    const lines = (await metrics.expose()).body.split('\n');
    const goodput = lines.filter((l) => l.startsWith('tokenworks_goodput_ratio{'));
    expect(goodput).toHaveLength(MAX_EXPORTED_RUNS);
    // The oldest 8 are the ones left out.
    expect(goodput.some((l) => l.includes('run="run-7"'))).toBe(false);
    expect(goodput).toContain(`tokenworks_goodput_ratio{run="run-8"} ${8 / 100}`);
    expect(lines).toContain('tokenworks_observed_series_dropped{kind="run"} 8');
    const scores = lines.filter((l) => l.startsWith(`tokenworks_straggler_score{run="run-${runs - 1}"`));
    expect(scores).toHaveLength(MAX_EXPORTED_HOSTS);
    // The lowest scores are kept: host-0000 (0.5) in, host-0039 (the highest) out.
    expect(scores.some((l) => l.includes('host="host-0000"'))).toBe(true);
    expect(scores.some((l) => l.includes('host="host-0039"'))).toBe(false);
    expect(lines).toContain(`tokenworks_observed_series_dropped{kind="host"} ${40 - MAX_EXPORTED_HOSTS}`);
    // Observed again: the new figure replaces the old, and the run is the most recent (run-0 comes back).
    observed.record('run-0', outcomeOf(0.75, 1), runs);
    const again = (await metrics.expose()).body.split('\n');
    expect(again).toContain('tokenworks_goodput_ratio{run="run-0"} 0.75');
    expect(again.some((l) => l.startsWith('tokenworks_goodput_ratio{run="run-8"}'))).toBe(false);
  });
});
