/**
 * `GET /metrics`: the server's own metrics in the Prometheus text format (prom-client, on a registry of its own,
 * never the global one). Requests by route template, method and status; the jobs kept, by kind and status; how
 * long each job ran, by kind; and the build. Every label value is bounded: a route is the template it matched
 * (`/v1/jobs/{id}`, never the raw path) or `unmatched`, a method one of a fixed few or `other`, a kind one of the
 * long use cases. Nothing of a request's spec reaches a label.
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { VERSION } from '../version.js';
import type { JobStatus, JobStore } from './jobs.js';

/** The job statuses, each exported (at 0 when no job has it) so that a series exists before its first job. */
const JOB_STATUSES: readonly JobStatus[] = ['running', 'succeeded', 'failed', 'cancelled'];

/** The methods labelled as themselves; any other is `other`. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Upper bounds of the job duration buckets, seconds: a quick plan to an hour-long study. */
const JOB_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** The metrics of one API. */
export interface ApiMetrics {
  readonly registry: Registry;
  /** Middleware counting every request once it has been answered (problems included). */
  readonly count: MiddlewareHandler;
  /** Runs a job's work, observing how long it ran under its kind. */
  time<T>(kind: string, work: () => Promise<T>): Promise<T>;
  /** The registry's exposition, with its media type. */
  expose(): Promise<{ body: string; contentType: string }>;
}

/** The metrics of the API whose jobs are `jobs`, of the job kinds `kinds`. */
export function createMetrics(jobs: JobStore, kinds: readonly string[]): ApiMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'tokenworks_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'tokenworks_jobs',
    help: 'Jobs kept by the server, by kind and status',
    labelNames: ['kind', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const kind of kinds) for (const state of JOB_STATUSES) this.set({ kind, state }, 0);
      for (const job of jobs.list()) this.inc({ kind: job.kind, state: job.status });
    },
  });
  const jobSeconds = new Histogram({
    name: 'tokenworks_job_seconds',
    help: 'How long jobs ran, by kind, seconds (cancelled and failed ones included)',
    labelNames: ['kind'] as const,
    buckets: JOB_BUCKETS,
    registers: [registry],
  });
  const build = new Gauge({
    name: 'tokenworks_build_info',
    help: 'The Tokenworks build serving: always 1, its version as a label',
    labelNames: ['version'] as const,
    registers: [registry],
  });
  build.set({ version: VERSION }, 1);

  return {
    registry,
    count: async (c, next) => {
      try {
        await next();
      } finally {
        requests.inc({ route: routeOf(c), method: methodOf(c.req.method), status: String(c.res.status) });
      }
    },
    async time(kind, work) {
      const end = jobSeconds.startTimer({ kind });
      try {
        return await work();
      } finally {
        end();
      }
    },
    async expose() {
      return { body: await registry.metrics(), contentType: registry.contentType };
    },
  };
}

/** The template of the route that answered (`/v1/jobs/{id}`, OpenAPI style), or `unmatched`. */
function routeOf(c: Context): string {
  // Middleware is registered for every method (`ALL`); a route is registered for its own.
  const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL');
  return route ? route.path.replace(/:(\w+)/g, '{$1}') : 'unmatched';
}

function methodOf(method: string): string {
  const upper = method.toUpperCase();
  return METHODS.has(upper) ? upper : 'other';
}
