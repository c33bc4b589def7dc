/**
 * `GET /metrics` (docs/api.md) scraped by a real Prometheus (Debian's, on 127.0.0.1, stopped by PID): the server
 * runs with a token, so the scrape sends it as a bearer credential and an unauthenticated request is a 401.
 * Two estimates and one invalid spec are counted under the route template, the text passes `promtool check
 * metrics`, a job shows in the jobs gauge and the duration histogram, and no label carries a raw path or spec.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/http/server.js';
import { VERSION } from '../src/version.js';
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
const TEMPLATES = new Set(['/v1/estimate', '/v1/jobs/simulate', '/v1/jobs/{id}', '/metrics', '/healthz']);

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
    server = await startServer({ port: 0, threads: 1, token: TOKEN });
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
});
