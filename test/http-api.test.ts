/**
 * The HTTP API's contract (docs/api.md), on a real socket on 127.0.0.1 with an inline runner: every route's
 * status, media type and body (validated against the CLI's output schemas), problems (422 with the spec issues'
 * field paths, 400, 413, 415, 401, 403, 404, 429), jobs with their server-sent events and cancellation, and the
 * OpenAPI 3.1 document listing every route.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createInlineRunner } from '../src/app/inline-runner.js';
import { OUTPUT_SCHEMAS } from '../src/app/outputs.js';
import { createApi } from '../src/http/app.js';
import { JobStore } from '../src/http/jobs.js';
import { ProblemSchema } from '../src/http/problem.js';
import { type RunningServer, startServer } from '../src/http/server.js';
import { run } from './run-cli.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read answers field by field after checking them against their schemas
type Json = any;

/** A response's JSON body. */
const json = async (response: Response): Promise<Json> => response.json();

const yamlOf = (file: string) => readFileSync(file, 'utf8');
const SPEC_70B = yamlOf('examples/llama3-70b.yaml');
const SPEC_8B = yamlOf('examples/llama3-8b.yaml');
/** Llama 3 8B without its system and plan: `plan` then searches accelerators and sizes (a design search). */
const DESIGN_SEARCH = (() => {
  const { system: _system, plan: _plan, ...rest } = parse(SPEC_8B) as Record<string, unknown>;
  return stringify(rest);
})();
const YAML = { 'content-type': 'application/yaml' };
const TOKEN = 'a-test-token-of-32-characters-ok';

let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startServer({ port: 0, threads: 1 });
  base = server.url;
});
afterAll(async () => {
  await server?.close();
});

const post = (path: string, body: string, headers: Record<string, string> = YAML) =>
  fetch(new URL(path, base), { method: 'POST', body, headers });

/** A successful use-case answer: 200, JSON, valid against the output schema of `name`. */
async function outcome(response: Response, name: keyof typeof OUTPUT_SCHEMAS) {
  const body = await json(response);
  expect(response.status, JSON.stringify(body).slice(0, 500)).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const parsed = OUTPUT_SCHEMAS[name].safeParse(body);
  expect(parsed.success, parsed.error?.message).toBe(true);
  return body;
}

/** A problem answer: its status, the problem media type, a valid problem document. */
async function problem(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const body = await json(response);
  expect(ProblemSchema.safeParse(body).success).toBe(true);
  expect(body.status).toBe(status);
  return body;
}

/** One server-sent event. */
interface Sse {
  readonly id: string;
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** Reads a job's event stream until it ends, calling `onEvent` on each event. */
async function readEvents(url: URL | string, onEvent: (event: Sse) => void = () => {}): Promise<Sse[]> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: Sse[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const field = (name: string) =>
        frame
          .split('\n')
          .find((line) => line.startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim();
      const data = field('data');
      if (data !== undefined) {
        const event = { id: field('id') ?? '', event: field('event') ?? 'message', data: JSON.parse(data) };
        events.push(event);
        onEvent(event);
      }
      end = buffer.indexOf('\n\n');
    }
  }
  return events;
}

describe('the use-case routes answer what the CLI --json prints', () => {
  it('POST /v1/check', async () => {
    const body = await outcome(await post('/v1/check', SPEC_70B), 'check');
    expect(body.feasible).toBe(true);
    const cli = await run('check', 'examples/llama3-70b.yaml', '--json');
    const { file: _file, ...expected } = JSON.parse(cli.stdout);
    expect(body).toEqual(expected);
  });

  it('POST /v1/estimate, YAML and JSON alike', async () => {
    const yaml = await outcome(await post('/v1/estimate', SPEC_70B), 'estimate');
    const json = await outcome(
      await post('/v1/estimate', JSON.stringify(parse(SPEC_70B)), { 'content-type': 'application/json' }),
      'estimate',
    );
    expect(json).toEqual(yaml);
    const cli = await run('estimate', 'examples/llama3-70b.yaml', '--json');
    const { file: _file, ...expected } = JSON.parse(cli.stdout);
    expect(yaml).toEqual(expected);
  });

  it('POST /v1/plan', async () => {
    const body = await outcome(await post('/v1/plan?top=3', SPEC_8B), 'plan');
    expect(body.mode).toBe('plans');
    expect(body.search.best).toHaveLength(3);
  });

  it('POST /v1/simulate', async () => {
    const body = await outcome(await post('/v1/simulate?replicas=3&seed=7', SPEC_8B), 'simulate');
    expect(body.replicas).toBe(3);
    expect(body.seed).toBe(7);
  });

  it('POST /v1/compare', async () => {
    const body = await outcome(
      await post('/v1/compare?sizes=64&replicas=2', yamlOf('examples/breakpoint.yaml')),
      'compare',
    );
    expect(body.points.map((p: { gpus: number }) => p.gpus)).toEqual([64]);
  });

  it('POST /v1/validate: the shipped runs when the body is empty', async () => {
    const body = await outcome(await fetch(new URL('/v1/validate', base), { method: 'POST' }), 'validate');
    expect(body.rows.length + body.skipped.length).toBeGreaterThan(300);
  });

  it('GET /healthz', async () => {
    const response = await fetch(new URL('/healthz', base));
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({ status: 'ok' });
  });
});

describe('errors are problem details', () => {
  it('an invalid spec is a 422 whose issues carry the field paths', async () => {
    const bad = SPEC_70B.replace('totalTokens: 15T', 'totalTokens: -5').replace('tp: 4', 'tp: many');
    const body = await problem(await post('/v1/estimate', bad), 422);
    expect(body.code).toBe('SPEC_INVALID');
    expect(body.instance).toBe('/v1/estimate');
    const paths = body.issues.map((issue: { path: string }) => issue.path);
    expect(paths).toContain('workload.training.totalTokens');
    expect(paths).toContain('plan.tp');
  });

  it('a job is not started for an invalid spec (422), and a YAML syntax error is one too', async () => {
    const body = await problem(await post('/v1/jobs/simulate', 'workload: [unclosed'), 422);
    expect(body.issues[0].code).toBe('yaml_syntax');
  });

  it('a bad query parameter is a 400 naming it', async () => {
    const body = await problem(await post('/v1/simulate?replicas=0&colour=red', SPEC_8B), 400);
    expect(body.issues.map((issue: { path: string }) => issue.path).sort()).toEqual(['query.colour', 'query.replicas']);
  });

  it('a body over the limit is a 413', async () => {
    const body = await problem(await post('/v1/check', `# ${'x'.repeat(1_100_000)}\n${SPEC_70B}`), 413);
    expect(body.code).toBe('TOO_LARGE');
    // Streamed without a Content-Length: cut off once past the limit.
    const chunks = Array.from({ length: 20 }, () => new TextEncoder().encode(`# ${'y'.repeat(100_000)}\n`));
    const streamed = await fetch(new URL('/v1/check', base), {
      method: 'POST',
      headers: YAML,
      body: new ReadableStream({
        pull(controller) {
          const chunk = chunks.shift();
          if (chunk) controller.enqueue(chunk);
          else controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect((await problem(streamed, 413)).code).toBe('TOO_LARGE');
  });

  it('a body of another media type is a 415', async () => {
    await problem(await post('/v1/check', SPEC_70B, { 'content-type': 'text/plain' }), 415);
  });

  it('an unknown route or job is a 404', async () => {
    await problem(await fetch(new URL('/v1/nothing', base)), 404);
    await problem(await fetch(new URL('/v1/jobs/no-such-job', base)), 404);
    await problem(await fetch(new URL('/v1/jobs/no-such-job/events', base)), 404);
    await problem(await post('/v1/jobs/estimate', SPEC_70B), 404);
  });

  it('a loopback server without a token answers loopback Host names only (DNS rebinding)', async () => {
    const { app } = createApi({ runner: createInlineRunner(), loopbackHostsOnly: true });
    const evil = await app.request('/healthz', { headers: { host: 'evil.example:8080' } });
    await problem(evil, 403);
    expect((await app.request('/healthz', { headers: { host: 'localhost:8080' } })).status).toBe(200);
    expect((await app.request('/healthz', { headers: { host: '127.0.0.1:8080' } })).status).toBe(200);
    expect((await app.request('/healthz', { headers: { host: '[::1]:8080' } })).status).toBe(200);
  });
});

describe('security', () => {
  it('a server with a token answers 401 without it or with a wrong one, 200 with it; /healthz is open', async () => {
    const guarded = await startServer({ port: 0, threads: 1, token: TOKEN });
    try {
      const url = new URL('/v1/check', guarded.url);
      const without = await fetch(url, { method: 'POST', body: SPEC_70B, headers: YAML });
      await problem(without, 401);
      expect(without.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const wrong = await fetch(url, {
        method: 'POST',
        body: SPEC_70B,
        headers: { ...YAML, authorization: `Bearer ${TOKEN.replace('a', 'b')}` },
      });
      await problem(wrong, 401);
      await problem(await fetch(new URL('/openapi.json', guarded.url)), 401);
      await problem(await fetch(new URL('/v1/jobs', guarded.url)), 401);
      const right = await fetch(url, {
        method: 'POST',
        body: SPEC_70B,
        headers: { ...YAML, authorization: `Bearer ${TOKEN}` },
      });
      await outcome(right, 'check');
      expect((await fetch(new URL('/healthz', guarded.url))).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it('binding beyond loopback without a token is refused', async () => {
    await expect(startServer({ host: '0.0.0.0', port: 0, threads: 1 })).rejects.toThrow(/token/);
    const cli = await run('serve', '--host', '0.0.0.0', '--port', '0', '--threads', '1');
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/--token or TOKENWORKS_TOKEN/);
  });

  it('sends no CORS headers unless an origin is given, then that one origin', async () => {
    const headers = { origin: 'https://elsewhere.example' };
    const plain = await fetch(new URL('/healthz', base), { headers });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    const { app } = createApi({ runner: createInlineRunner(), cors: 'http://localhost:5173', token: TOKEN });
    const preflight = await app.request('/v1/check', {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const other = await app.request('/healthz', { headers });
    expect(other.headers.get('access-control-allow-origin')).not.toBe('https://elsewhere.example');
  });
});

describe('jobs', () => {
  it('a job reports its progress as server-sent events, then its result', async () => {
    const started = await post('/v1/jobs/simulate?replicas=20', SPEC_8B);
    expect(started.status).toBe(202);
    const job = await json(started);
    expect(started.headers.get('location')).toBe(`/v1/jobs/${job.id}`);
    expect(job).toMatchObject({ kind: 'simulate', status: 'running' });
    const events = await readEvents(new URL(`/v1/jobs/${job.id}/events`, base));
    expect(events[0]).toMatchObject({ id: '1', event: 'status', data: { status: 'running' } });
    expect(events.map((e) => Number(e.id))).toEqual(events.map((_, i) => i + 1));
    expect(events.find((e) => e.event === 'stage')?.data).toEqual({ stage: 'replicas', total: 20 });
    const ticks = events.filter((e) => e.event === 'progress').map((e) => e.data.done as number);
    expect(ticks.length).toBeGreaterThan(1);
    expect(ticks).toEqual([...ticks].sort((a, b) => a - b));
    expect(ticks.at(-1)).toBe(20);
    expect(events.at(-1)).toMatchObject({ event: 'status', data: { status: 'succeeded' } });
    const done = await json(await fetch(new URL(`/v1/jobs/${job.id}`, base)));
    expect(done.status).toBe('succeeded');
    expect(OUTPUT_SCHEMAS.simulate.safeParse(done.result).success).toBe(true);
    // A late reader replays the log; Last-Event-ID resumes after an event.
    expect(await readEvents(new URL(`/v1/jobs/${job.id}/events`, base))).toEqual(events);
    const resumed = await fetch(new URL(`/v1/jobs/${job.id}/events`, base), { headers: { 'last-event-id': '2' } });
    expect(await resumed.text()).not.toMatch(/^id: [12]$/m);
    const listed = await json(await fetch(new URL('/v1/jobs', base)));
    expect(listed.jobs.map((j: { id: string }) => j.id)).toContain(job.id);
    // DELETE forgets a finished job.
    expect((await fetch(new URL(`/v1/jobs/${job.id}`, base), { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(new URL(`/v1/jobs/${job.id}`, base))).status).toBe(404);
  });

  it('DELETE cancels a running job: its status says cancelled and its event stream ends', async () => {
    const started = await post('/v1/jobs/plan', DESIGN_SEARCH);
    expect(started.status).toBe(202);
    const { id } = await json(started);
    let cancelled: Promise<Response> | undefined;
    const events = await readEvents(new URL(`/v1/jobs/${id}/events`, base), (event) => {
      if (event.event === 'progress' && !cancelled) {
        cancelled = fetch(new URL(`/v1/jobs/${id}`, base), { method: 'DELETE' });
      }
    });
    expect(cancelled).toBeDefined();
    const answer = await (cancelled as Promise<Response>);
    expect(answer.status).toBe(200);
    expect((await json(answer)).status).toBe('cancelled');
    expect(events.at(-1)).toMatchObject({ event: 'status', data: { status: 'cancelled' } });
    const job = await json(await fetch(new URL(`/v1/jobs/${id}`, base)));
    expect(job.status).toBe('cancelled');
    expect(job.progress.done).toBeLessThan(job.progress.total);
    expect(job.result).toBeUndefined();
  });

  it('more runs than the limit get a 429 with Retry-After', async () => {
    const { app, jobs } = createApi({ runner: createInlineRunner(), jobs: { maxActive: 1 } });
    const first = await app.request('/v1/jobs/plan', { method: 'POST', body: DESIGN_SEARCH, headers: YAML });
    expect(first.status).toBe(202);
    const second = await app.request('/v1/plan', { method: 'POST', body: SPEC_8B, headers: YAML });
    await problem(second, 429);
    expect(second.headers.get('retry-after')).toBe('5');
    await problem(await app.request('/v1/jobs/simulate', { method: 'POST', body: SPEC_8B, headers: YAML }), 429);
    jobs.close();
    await problem(await app.request('/v1/jobs/simulate', { method: 'POST', body: SPEC_8B, headers: YAML }), 503);
  });

  it('keeps at most maxKept jobs (the oldest finished go first) and forgets finished ones keepMs after they end', async () => {
    let now = 0;
    const store = new JobStore({ maxActive: 10, maxKept: 2, keepMs: 1000 }, () => now);
    const a = store.start('plan', async () => 1).id;
    const b = store.start('plan', async () => 2).id;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(store.view(b)).toMatchObject({ status: 'succeeded', result: 2 });
    const c = store.start('plan', () => new Promise(() => {})).id;
    expect(store.list().map((job) => job.id)).toEqual([c, b]);
    now = 900;
    store.prune();
    expect(store.view(b)).toBeDefined();
    now = 1100;
    store.prune();
    expect(store.view(b)).toBeUndefined();
    expect(store.view(a)).toBeUndefined();
    expect(store.view(c)?.status).toBe('running');
    store.close();
    expect(store.view(c)?.status).toBe('cancelled');
  });
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document listing every route, whose references resolve', async () => {
    const response = await fetch(new URL('/openapi.json', base));
    expect(response.status).toBe(200);
    const document = await json(response);
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toMatchObject({ title: 'Tokenworks API' });
    const routes = Object.entries(document.paths as Record<string, object>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        ...['check', 'estimate', 'plan', 'simulate', 'compare', 'validate', 'observe'].map(
          (name) => `POST /v1/${name}`,
        ),
        ...['plan', 'simulate', 'compare', 'observe'].map((name) => `POST /v1/jobs/${name}`),
        'GET /v1/jobs',
        'GET /v1/jobs/{id}',
        'DELETE /v1/jobs/{id}',
        'GET /v1/jobs/{id}/events',
        'GET /healthz',
        'GET /openapi.json',
      ].sort(),
    );
    for (const name of ['check', 'estimate', 'plan', 'simulate', 'compare', 'validate', 'observe']) {
      const ok = document.paths[`/v1/${name}`].post.responses['200'].content['application/json'].schema;
      expect(ok).toEqual({ $ref: `#/components/schemas/${name}Output` });
    }
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)];
    for (const [, name] of refs) expect(document.components.schemas, name).toHaveProperty(name as string);
    expect(document.paths['/v1/simulate'].post.parameters.map((p: { name: string }) => p.name)).toEqual([
      'replicas',
      'seed',
      'days',
      'mitigation',
    ]);
  });
});
