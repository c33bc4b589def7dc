/**
 * The console's routes without a browser: the built files at `/` and `/assets/` with their media types and
 * policy, path traversal (plain, encoded, doubly encoded, backslashes, NUL) answered 404 on a real socket (raw
 * request lines, as a client that does not normalise sends them), the token rule (the page, its assets and the
 * event streams take `?token=`, nothing else does), `/v1/live` with and without a live run, and the demo replay's
 * bounds (its rings stay at their caps however long the run).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_CHART_POINTS, LiveReplay, MAX_HEATMAP_COLUMNS, prepareDemoRun } from '../src/app/demo.js';
import { createInlineRunner } from '../src/app/inline-runner.js';
import { type RunningServer, startServer } from '../src/http/server.js';
import { containedPath } from '../src/http/static.js';
import { createNodeDataSource } from '../src/node/data-source.js';
import { loadSpec } from '../src/spec/load.js';

const TOKEN = 'console-test-token-0123456789';

/** A small run for the demo: Llama 3 8B on 16 H100 (2 hosts). */
const DEMO_SPEC = `name: Llama 3 8B on 16 H100 (console test)
workload:
  model: llama3-8b
  training: { totalTokens: 15T, sequenceLength: 8192, globalBatch: { tokens: 1048576 }, precision: fp8 }
system: { accelerator: h100-sxm, gpuCount: 16, scaleOut: { fabric: ndr-ib } }
plan: { tp: 1, pp: 1, sharding: zero1, microBatch: 1, recomputation: none }
`;

let consoleRoot: string;
let open: RunningServer;
let guarded: RunningServer;

beforeAll(async () => {
  consoleRoot = join(await mkdtemp(join(tmpdir(), 'tw-console-')), 'web');
  execFileSync(process.execPath, ['scripts/build-web.mjs', '--out', consoleRoot], { stdio: 'pipe' });
  open = await startServer({ port: 0, threads: 1, consoleRoot });
  guarded = await startServer({ port: 0, threads: 1, consoleRoot, token: TOKEN });
}, 120_000);

afterAll(async () => {
  await Promise.all([open?.close(), guarded?.close()]);
});

/** A GET with the path sent as given (no URL normalisation), answering the status, headers and body. */
function rawGet(base: string, path: string, headers: Record<string, string> = {}) {
  const url = new URL(base);
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>(
    (resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('the console files', () => {
  it('serves the page and its assets with their media types, nosniff and a same-origin policy', async () => {
    const page = await rawGet(open.url, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const assets = [...page.body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
    expect(assets.length).toBe(2);
    for (const asset of assets) {
      const file = await rawGet(open.url, asset);
      expect(file.status, asset).toBe(200);
      expect(file.headers['content-type']).toMatch(asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      expect(file.headers['cache-control']).toContain('immutable');
    }
    // No CDN: nothing in the page or its script names another origin to load from.
    expect(page.body).not.toMatch(/(src|href)="https?:/);
  });

  it.each([
    '/assets/../../package.json',
    '/assets/../../../etc/passwd',
    '/assets/%2e%2e/%2e%2e/package.json',
    '/assets/..%2f..%2fpackage.json',
    '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
    '/assets/%252e%252e%252fpackage.json',
    '/assets/..%5c..%5cpackage.json',
    '/assets/%00',
    '/assets/',
    '/assets/%',
  ])('answers a path traversal attempt %s with 404', async (path) => {
    const answer = await rawGet(open.url, path);
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(answer.body).not.toContain('"name": "tokenworks"');
  });

  it('keeps resolved paths inside the folder', () => {
    const folder = join(consoleRoot, 'assets');
    expect(containedPath(folder, 'main.js')).toBe(join(folder, 'main.js'));
    for (const bad of ['../x', '..%2Fx', 'a/../../x', '/etc/passwd', '%2Fetc%2Fpasswd', 'a%00b', '..\\x', '%E0%A4%A']) {
      expect(containedPath(folder, bad), bad).toBeUndefined();
    }
  });

  it('is behind the token on a server with one: the header or ?token= on the page, its assets and streams only', async () => {
    expect((await rawGet(guarded.url, '/')).status).toBe(401);
    expect((await rawGet(guarded.url, '/?token=wrong-token-wrong-token')).status).toBe(401);
    const page = await rawGet(guarded.url, `/?token=${TOKEN}`);
    expect(page.status).toBe(200);
    const assets = [...page.body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
    expect(assets.length).toBe(2);
    for (const asset of assets) {
      expect(asset).toContain(`?token=${TOKEN}`);
      expect((await rawGet(guarded.url, asset)).status).toBe(200);
      expect((await rawGet(guarded.url, asset.replace(/\?.*$/, ''))).status).toBe(401);
    }
    expect((await rawGet(guarded.url, '/', { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    // The query token is not a credential anywhere else.
    expect((await rawGet(guarded.url, `/v1/live?token=${TOKEN}`)).status).toBe(401);
    expect((await rawGet(guarded.url, `/v1/jobs?token=${TOKEN}`)).status).toBe(401);
    const check = await fetch(new URL(`/v1/check?token=${TOKEN}`, guarded.url), {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: DEMO_SPEC,
    });
    expect(check.status).toBe(401);
    expect((await rawGet(guarded.url, '/v1/live', { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });
});

describe('/v1/live', () => {
  it('says there is no live run on a server without --demo, and its stream ends after saying so', async () => {
    const live = (await (await fetch(new URL('/v1/live', open.url))).json()) as { reason: string };
    expect(live).toMatchObject({ status: 'none', sequence: 0 });
    expect(live.reason).toContain('--demo');
    const events = await (await fetch(new URL('/v1/live/events', open.url))).text();
    expect(events).toContain('event: snapshot');
    expect(events).toContain('"status":"none"');
  });

  it('answers an unknown query parameter with a 400 problem naming it', async () => {
    const answer = await fetch(new URL('/v1/live?window=5', open.url));
    expect(answer.status).toBe(400);
    const problem = (await answer.json()) as { issues: { path: string }[] };
    expect(problem).toMatchObject({ code: 'QUERY_INVALID', status: 400 });
    expect(problem.issues[0]?.path).toBe('query.window');
  });
});

describe('the demo replay', () => {
  it('keeps its series at their caps over a run longer than they hold, and shows only what was logged by then', async () => {
    const loaded = loadSpec(DEMO_SPEC, 'yaml');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const runner = createInlineRunner(createNodeDataSource());
    const settings = { days: 0.25, bucketMinutes: 1, failureScale: 20, seed: 3, speed: 600, replicas: 0 };
    const prepared = await prepareDemoRun(loaded.value, settings, 0, { runner });
    if (!prepared.ok) throw new Error(JSON.stringify(prepared.issues));
    const run = prepared.value;
    expect(run.hosts).toEqual(['host-0000', 'host-0001']);
    const replay = new LiveReplay(run);
    replay.advanceTo(1800);
    const early = replay.view();
    const last = run.startTime + 1800;
    expect(early.progress?.lines).toBe(run.steps.filter((p) => (p.time ?? 0) <= last).length);
    expect(early.detections?.every((d) => d.time <= last)).toBe(true);
    // A scrape a minute over six hours: 360 columns, more than the heatmap keeps.
    replay.advanceTo(run.wallSeconds);
    const late = replay.view();
    expect(replay.finished).toBe(true);
    expect(late.heatmap?.hours.length).toBe(MAX_HEATMAP_COLUMNS);
    expect(late.heatmap?.stepTime.every((column) => column.length === 2)).toBe(true);
    expect(late.steps?.hours.length).toBeLessThanOrEqual(LIVE_CHART_POINTS);
    expect(late.progress?.lines).toBe(run.steps.length);
    expect(late.kpis?.run.empty).toBe(false);
    expect(late.gpu?.gpus).toBe(16);
    // The faults the demo injects show: the slow host's GPUs detected as stragglers.
    expect(late.detections?.some((d) => d.kind === 'straggler' || d.kind === 'fail-slow')).toBe(true);
    await runner.close();
    expect((await readdir(consoleRoot)).sort()).toEqual(['assets', 'index.html']);
  }, 60_000);
});
