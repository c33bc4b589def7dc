/**
 * The HTTP API as a Hono app (no socket: `server.ts` serves it; tests call `app.request`). Every use case is a
 * `POST /v1/<use case>` taking the spec document (JSON, or YAML as `application/yaml`), loaded by the CLI's spec
 * loader and answered with the CLI's `--json` document; the long ones (plan, simulate, compare) are also job
 * resources under `/v1/jobs` with progress as server-sent events and cancellation. Errors are problem details
 * from one `onError`. Guards, in order: the Host header (a loopback server without a token answers loopback
 * names only, against DNS rebinding), CORS (off unless an origin is given), the bearer token (every route but
 * `/healthz`; the console's page and the event streams also take it as `?token=`, as browsers cannot send a header
 * there), the body limit (413) and the run limit (429). With a console folder, the web console is served at `/`
 * (`static.ts`); `/v1/live` follows the live run (`live.ts`, the `--demo` feed). Every request is counted
 * for `GET /metrics` (`metrics.ts`), by the template of its route.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { streamSSE } from 'hono/streaming';
import type { LiveFeed } from '../app/demo.js';
import type { TaskRunner, TelemetryStore } from '../app/ports.js';
import type { SpecFormat } from '../spec/load.js';
import { VERSION } from '../version.js';
import { type JobLimits, JobStore } from './jobs.js';
import { registerLive } from './live.js';
import { type ApiMetrics, createMetrics } from './metrics.js';
import { ObservedRuns } from './observe.js';
import { DOCUMENT_INFO, registerDocument } from './openapi.js';
import { HttpProblem, PROBLEM_TYPE, toProblem } from './problem.js';
import { registerRemoteWrite } from './remote-write.js';
import { acceptsQueryToken, registerConsole } from './static.js';
import { LONG_USE_CASES, prepare, USE_CASES, type UseCaseName } from './use-cases.js';

/** Largest request body accepted by default, bytes: 1 MiB (a spec may be at most 1 M characters). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Seconds between keep-alive comments on an idle event stream. */
const KEEP_ALIVE_MS = 15_000;

/** How the API is set up. */
export interface ApiOptions {
  /** Runs the use cases' tasks (shared by every request and job). */
  readonly runner: TaskRunner;
  /** When given, every route but `/healthz` needs `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** The one origin allowed cross-origin requests; none when absent. */
  readonly cors?: string;
  /** Answer only Host headers naming a loopback address (a loopback server without a token). */
  readonly loopbackHostsOnly?: boolean;
  /** Largest request body, bytes (default {@link DEFAULT_BODY_LIMIT}). */
  readonly bodyLimit?: number;
  readonly jobs?: Partial<JobLimits>;
  /** Told of every internal error (a 500), for the server's log. */
  readonly onInternalError?: (error: unknown) => void;
  /** Where observed runs are kept: a DuckDB file, `:memory:` (default) or an open store. */
  readonly store?: string | TelemetryStore;
  /** The one folder whose files observe requests may name (none: the API reads no files). */
  readonly dataDir?: string;
  /** The live run `GET /v1/live` follows (`serve --demo`); none: it answers `status: none`. */
  readonly live?: LiveFeed;
  /** The built web console's folder (`dist/web`), served at `/`; none: no console. */
  readonly consoleRoot?: string;
}

/** The API: the Hono app and its jobs. */
export interface Api {
  readonly app: OpenAPIHono;
  readonly jobs: JobStore;
  readonly metrics: ApiMetrics;
  /** The observed runs: the store, and each run's latest outcome. */
  readonly observed: ObservedRuns;
}

/** Builds the API. */
export function createApi(options: ApiOptions): Api {
  const app = new OpenAPIHono();
  const jobs = new JobStore(options.jobs);
  const { runner } = options;
  const observed = new ObservedRuns({
    ...(options.store !== undefined && { store: options.store }),
    ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
  });
  const metrics = createMetrics(jobs, LONG_USE_CASES, observed);

  app.onError((error, c) => {
    const { status, body, headers } = toProblem(error, new URL(c.req.url).pathname);
    if (status >= 500 && body.code !== 'UNAVAILABLE') options.onInternalError?.(error);
    return c.body(JSON.stringify(body), status, { ...headers, 'Content-Type': PROBLEM_TYPE });
  });
  app.notFound(() => {
    throw new HttpProblem('NOT_FOUND', 'no such route; GET /openapi.json lists them');
  });

  app.use(metrics.count);
  if (options.loopbackHostsOnly) {
    app.use(async (c, next) => {
      const host = c.req.header('host');
      if (host !== undefined && !isLoopbackHost(host)) {
        throw new HttpProblem(
          'FORBIDDEN_HOST',
          `this server answers loopback names only (localhost, 127.0.0.1, [::1]), not ${JSON.stringify(host.slice(0, 100))}; start it with a token to serve other names`,
        );
      }
      await next();
    });
  }
  if (options.cors !== undefined) {
    app.use(
      cors({
        origin: options.cors,
        allowMethods: ['GET', 'POST', 'DELETE'],
        allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'],
        exposeHeaders: ['Location', 'Retry-After'],
        maxAge: 600,
      }),
    );
  }
  if (options.token !== undefined) {
    const expected = digest(options.token);
    app.use(async (c, next) => {
      if (c.req.path !== '/healthz') {
        const header = c.req.header('authorization') ?? '';
        const match = /^Bearer\s+(.+)$/i.exec(header);
        const queried = acceptsQueryToken(c.req.method, c.req.path) ? c.req.query('token') : undefined;
        const given = match?.[1] ?? queried;
        if (given === undefined || !timingSafeEqual(digest(given), expected)) {
          throw new HttpProblem(
            'UNAUTHORIZED',
            given !== undefined
              ? 'the bearer token is wrong'
              : 'send the server token as Authorization: Bearer <token>',
            { headers: { 'WWW-Authenticate': 'Bearer realm="tokenworks"' } },
          );
        }
      }
      await next();
    });
  }
  const maxSize = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const tooLarge = () => {
    throw new HttpProblem(
      'TOO_LARGE',
      `the body is larger than the ${maxSize.toLocaleString('en-US')} bytes this server accepts`,
      // The rest of the body is not read: the connection cannot carry another request.
      { headers: { Connection: 'close' } },
    );
  };
  const streamedLimit = bodyLimit({ maxSize, onError: tooLarge });
  // A body that says its length is checked on the header alone (Node's parser reads no more than it says), so that
  // the route reads it straight from the socket; Hono's bodyLimit wraps it in a web stream first, a fifth of an
  // estimate's cost (bench/http.mjs). A streamed (chunked) body goes through bodyLimit, cut off at the limit.
  const limit: MiddlewareHandler = async (c, next) => {
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return streamedLimit(c, next);
    if (!/^\d+$/.test(length) || Number(length) > maxSize) tooLarge();
    await next();
  };

  app.get('/healthz', (c) => c.json({ status: 'ok', version: VERSION }));

  registerDocument(app);
  let document: string | undefined;
  app.get('/openapi.json', (c) => {
    document ??= JSON.stringify(app.getOpenAPI31Document(DOCUMENT_INFO));
    return c.body(document, 200, { 'Content-Type': 'application/json' });
  });
  app.get('/metrics', async (c) => {
    const { body, contentType } = await metrics.expose();
    return c.body(body, 200, { 'Content-Type': contentType });
  });

  const isLong = (name: UseCaseName) => (LONG_USE_CASES as readonly string[]).includes(name);
  for (const name of USE_CASES) {
    app.post(`/v1/${name}`, limit, async (c) => {
      const run = await prepare(name, await requestOf(c, name), { observed });
      const signal = c.req.raw.signal;
      const result = isLong(name)
        ? await jobs.runNow(signal, (s) => run({ runner, signal: s }))
        : await run({ runner, signal });
      return c.json(result as object);
    });
  }
  for (const name of LONG_USE_CASES) {
    app.post(`/v1/jobs/${name}`, limit, async (c) => {
      const run = await prepare(name, await requestOf(c, name), { observed });
      const job = jobs.start(name, (signal, progress) => metrics.time(name, () => run({ runner, progress, signal })));
      return c.json(job, 202, { Location: `/v1/jobs/${job.id}` });
    });
  }
  registerRemoteWrite(app, { observed, limit, registry: metrics.registry });
  app.get('/v1/jobs', (c) => c.json({ jobs: jobs.list() }));
  app.get('/v1/jobs/:id', (c) => {
    const job = jobs.view(c.req.param('id'));
    if (!job) throw noJob(c.req.param('id'));
    return c.json(job);
  });
  app.delete('/v1/jobs/:id', (c) => {
    const job = jobs.cancel(c.req.param('id'));
    return job ? c.json(job) : c.body(null, 204);
  });
  app.get('/v1/jobs/:id/events', (c) => {
    const id = c.req.param('id');
    if (!jobs.view(id)) throw noJob(id);
    const last = Number(c.req.header('last-event-id') ?? c.req.query('after') ?? 0);
    return streamSSE(c, async (stream) => {
      const closed = new AbortController();
      stream.onAbort(() => closed.abort());
      const keepAlive = setInterval(() => void stream.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
      keepAlive.unref();
      try {
        for await (const event of jobs.events(id, Number.isInteger(last) ? last : 0, closed.signal)) {
          await stream.writeSSE({ id: String(event.id), event: event.event, data: JSON.stringify(event.data) });
        }
      } finally {
        clearInterval(keepAlive);
      }
    });
  });
  registerLive(app, options.live);
  if (options.consoleRoot !== undefined) registerConsole(app, options.consoleRoot);

  return { app, jobs, metrics, observed };
}

/** The request's body and format, and its query (a body of another media type is a 415). */
async function requestOf(c: Context, name: UseCaseName) {
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const body = await c.req.text();
  let format: SpecFormat;
  if (type === 'application/json' || type.endsWith('+json')) format = 'json';
  else if (/^(application|text)\/(x-)?yaml$/.test(type)) format = 'yaml';
  else if (type === '' && body === '' && name === 'validate') format = 'json';
  else {
    throw new HttpProblem(
      'UNSUPPORTED_MEDIA_TYPE',
      `send the ${name === 'validate' ? 'runs' : 'spec'} as application/json${name === 'validate' ? '' : ' or application/yaml'}${type ? `, not ${type}` : ' (no Content-Type was given)'}`,
    );
  }
  return { body, format, query: c.req.query() };
}

function noJob(id: string): HttpProblem {
  return new HttpProblem(
    'NOT_FOUND',
    `no job ${id.slice(0, 100)} (finished jobs are kept for a while, then forgotten)`,
  );
}

/** SHA-256 of a token: equal-length buffers for the constant-time compare, whatever the lengths given. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Whether a Host header names a loopback address (with or without a port). */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  const lower = name.toLowerCase();
  return lower === 'localhost' || lower === '[::1]' || /^127(\.\d{1,3}){3}$/.test(lower);
}
