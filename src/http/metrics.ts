/**
 * `GET /metrics`: the server's own metrics in the Prometheus text format (prom-client, on a registry of its own,
 * never the global one). Requests by route template, method and status; the jobs kept, by kind and status; how
 * long each job ran, by kind; and the build. Every label value is bounded: a route is the template it matched
 * (`/v1/jobs/{id}`, never the raw path) or `unmatched`, a method one of a fixed few or `other`, a kind one of the
 * long use cases. Nothing of a request's spec reaches a label.
 *
 * Beside them, each observed run's KPIs and plan gap (`observe.ts` keeps each run's latest outcome), so that a
 * Grafana user charts them beside dcgm-exporter's series: goodput, ETTR, steady step-time quantiles, tokens/s, MFU,
 * actual ÷ planned − 1 of every figure plan versus actual compares, and the detectors' straggler score per host.
 * A run's name is a label, so the runs exported are bounded ({@link MAX_EXPORTED_RUNS}, the most recently
 * observed; the others are counted in `tokenworks_observed_series_dropped{kind="run"}`), and so are the hosts of a
 * run ({@link MAX_EXPORTED_HOSTS}, the lowest scores, i.e. the slowest; `kind="host"`).
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { Counter, Gauge, Histogram, type Metric, Registry } from 'prom-client';
import { VERSION } from '../version.js';
import type { JobStatus, JobStore } from './jobs.js';
import type { ObservedRun, ObservedRuns } from './observe.js';

/** Most observed runs exported (the most recently observed); the rest are counted as dropped. */
export const MAX_EXPORTED_RUNS = 32;

/** Most hosts of one run whose straggler score is exported (the lowest scores: the slowest hosts). */
export const MAX_EXPORTED_HOSTS = 32;

/** The steady step-time quantiles exported, and the figure of the KPIs each one is. */
const STEP_QUANTILES = [
  ['0.1', 'p10'],
  ['0.5', 'p50'],
  ['0.9', 'p90'],
  ['0.99', 'p99'],
] as const;

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

/**
 * The metrics of the API whose jobs are `jobs`, of the job kinds `kinds`, and the KPIs of the runs `observed`
 * holds.
 */
export function createMetrics(jobs: JobStore, kinds: readonly string[], observed?: ObservedRuns): ApiMetrics {
  const registry = new Registry();
  if (observed !== undefined) registerKpis(registry, observed);
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

/** Each observed run's latest KPIs, plan gap and straggler scores as gauges, set from `observed` at each scrape. */
function registerKpis(registry: Registry, observed: ObservedRuns): void {
  // Each scrape sets every series afresh from the runs exported, so a run dropped past the bound disappears.
  const exportedRuns = () => observed.latest().slice(0, MAX_EXPORTED_RUNS);
  new Gauge({
    name: 'tokenworks_observed_series_dropped',
    help: 'Observed runs (kind=run) and hosts (kind=host) left out of the KPI metrics by the label bounds',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      const all = observed.latest();
      let hosts = 0;
      for (const run of all.slice(0, MAX_EXPORTED_RUNS)) {
        hosts += Math.max(0, stragglerHosts(run).length - MAX_EXPORTED_HOSTS);
      }
      this.set({ kind: 'run' }, Math.max(0, all.length - MAX_EXPORTED_RUNS));
      this.set({ kind: 'host' }, hosts);
    },
  });
  /** A gauge per run; `value` undefined leaves the run out (an empty log has no ETTR). */
  const perRun = (name: string, help: string, value: (run: ObservedRun) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['run'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const run of exportedRuns()) {
          const v = value(run);
          if (v !== undefined && Number.isFinite(v)) this.set({ run: run.run }, v);
        }
      },
    });
  const kpis = (run: ObservedRun) => (run.outcome.kpis.run.empty ? undefined : run.outcome.kpis.run);
  new Gauge({
    name: 'tokenworks_observed_runs',
    help: 'Observed runs the server holds an outcome of (exported or not)',
    registers: [registry],
    collect() {
      this.set(observed.latest().length);
    },
  });
  perRun(
    'tokenworks_goodput_ratio',
    'Observed goodput: productive share of the run’s wall time',
    (r) => kpis(r)?.goodput,
  );
  perRun('tokenworks_ettr', 'Observed effective training time ratio of the run', (r) => kpis(r)?.ettr);
  perRun(
    'tokenworks_tokens_per_second',
    'Observed training throughput of the whole run, tokens per second',
    (r) => kpis(r)?.throughput?.tokensPerSecond,
  );
  perRun('tokenworks_mfu_ratio', 'Observed model FLOPs utilisation of the run', (r) => kpis(r)?.throughput?.mfu);
  perRun('tokenworks_observed_at_seconds', 'When the run was last observed, Unix seconds', (r) => r.at / 1000);
  // A summary (a `quantile` label is a summary's, promtool says): the steady steps' quantiles and their count. Its
  // values are set, not observed, so it is a metric of its own rather than prom-client's Summary; no `_sum`: the
  // KPIs do not keep the steady steps' total.
  const stepName = 'tokenworks_step_seconds';
  const stepHelp = 'Observed steady step time of the run, seconds: quantiles over its steady steps, and their count';
  registry.registerMetric({
    name: stepName,
    help: stepHelp,
    async get() {
      const values: { metricName?: string; labels: Record<string, string>; value: number }[] = [];
      for (const run of exportedRuns()) {
        const k = kpis(run);
        if (k === undefined || k.steady.count === 0) continue;
        for (const [quantile, key] of STEP_QUANTILES) {
          if (Number.isFinite(k.steady[key])) values.push({ labels: { run: run.run, quantile }, value: k.steady[key] });
        }
        values.push({ metricName: `${stepName}_count`, labels: { run: run.run }, value: k.steady.count });
      }
      return { name: stepName, help: stepHelp, type: 'summary', aggregator: 'sum', values };
    },
    reset() {},
  } as unknown as Metric);
  new Gauge({
    name: 'tokenworks_plan_gap_ratio',
    help: 'Plan versus actual: actual ÷ planned − 1 of each figure compared (stepSeconds, tokensPerSecond, mfu, …)',
    labelNames: ['run', 'figure'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const run of exportedRuns()) {
        for (const c of run.outcome.planVersusActual) {
          if (c.gap !== undefined && Number.isFinite(c.gap)) this.set({ run: run.run, figure: c.metric }, c.gap);
        }
      }
    },
  });
  new Gauge({
    name: 'tokenworks_straggler_score',
    help: 'The detectors’ lowest straggler score of each host (1: as fast as the reference; flagged below the threshold)',
    labelNames: ['run', 'host'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const run of exportedRuns()) {
        for (const [host, score] of stragglerHosts(run).slice(0, MAX_EXPORTED_HOSTS)) {
          this.set({ run: run.run, host }, score);
        }
      }
    },
  });
}

/** The run's hosts with their lowest straggler score (the detect outcome's), lowest first. */
function stragglerHosts(run: ObservedRun): [string, number][] {
  const lowest = new Map<string, number>();
  for (const d of run.outcome.detect?.detections ?? []) {
    if (d.kind !== 'straggler' || d.host === undefined || !Number.isFinite(d.score)) continue;
    lowest.set(d.host, Math.min(lowest.get(d.host) ?? Number.POSITIVE_INFINITY, d.score));
  }
  return [...lowest].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
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
