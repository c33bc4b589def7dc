/**
 * A client of the Prometheus HTTP query API (`/api/v1/query`, `/api/v1/query_range`; Prometheus and
 * VictoriaMetrics serve the same endpoints, operate.md §1.4), and the GPU KPI aggregates pushed down into PromQL.
 *
 * The envelope (`{status, data, errorType, error, warnings}`) is checked with zod; sample values arrive as strings
 * (`"NaN"`, `"+Inf"` included) and are parsed like exposition values. Errors (HTTP 400 bad parameters, 422 cannot
 * execute, 503 timeout or shutting down, an unreachable server, a body that is not the API's) become
 * {@link TokenworksError}s that name the URL, the query, the server's own error text and the fix. Every call has a
 * timeout and honours an abort signal (an abort rejects with the signal's reason, not a TokenworksError).
 *
 * {@link promGpuAggregates} never pulls raw series for the bulk of the data: one instant query per statistic at
 * `end` over the range `end − start` (`count_over_time`, `sum_over_time`, `min_over_time`, `max_over_time`), each
 * an `or` of one term per metric name that can carry a KPI field (current `DCGM_FI_*`, 1.x lower-case and
 * `nvidia_smi_*` names), tagged with `label_replace(…, "tw_name", "<name>", …)` because Prometheus drops `__name__`
 * after a function and VictoriaMetrics keeps it (operate.md §1.4): nothing here depends on `__name__`. Only two
 * low-cardinality gauges are read raw, and only for the GPUs where it matters: the clock-event bitmask where its
 * `max_over_time` reaches the lowest slowing bit (PromQL has no bitwise operators), and the last-XID gauge where its
 * `max_over_time` is above 0 (XID events are changes to a non-zero code, which `changes()` cannot tell from a return
 * to 0). Result labels go through dcgm.ts's normalisation, so `Hostname`/`hostname`, `UUID`/`uuid` and `exported_*`
 * name the same GPUs as the file path does.
 * @module
 */
import { z } from 'zod';
import { abortError } from '../app/ports.js';
import { TokenworksError } from '../errors.js';
import { DCGM_1X_NAMES, normaliseDcgmSample } from '../telemetry/dcgm.js';
import {
  compareAggregates,
  GPU_KPI_FIELD,
  GPU_KPI_FIELDS,
  type GpuFieldAggregate,
  type GpuXidEvent,
  isSlowing,
  LOWEST_SLOWING_BIT,
  mergeAggregates,
  THROTTLE_FIELDS,
} from '../telemetry/gpu-kpis.js';
import { XidTracker } from '../telemetry/gpu-signals.js';
import { gpuFieldOf, nvidiaSmiNamesOf } from '../telemetry/nvidia-smi.js';
import { parsePromValue } from '../telemetry/prometheus-text.js';

/** Options of every API call. */
export interface PromCallOptions {
  /** A call that takes longer fails (default 30,000 ms). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called with each answer's size and time (what crosses the wire: bench/fleet.mjs, `observe --fleet`). */
  readonly onResponse?: (response: PromResponseInfo) => void;
}

/** One answer of the API: its body's bytes as parsed (after any Content-Encoding), the bytes on the wire when the server said (`content-length`), and the time from request to body. */
export interface PromResponseInfo {
  readonly endpoint: 'query' | 'query_range';
  readonly query: string;
  readonly status: number;
  readonly bytes: number;
  readonly wireBytes?: number;
  readonly ms: number;
}

/** Labels of a series or result element. */
export type PromLabels = Readonly<Record<string, string>>;

/** One sample: Unix seconds and the value (strings parsed; NaN and ±Inf kept). */
export interface PromPoint {
  readonly time: number;
  readonly value: number;
}

/** One element of an instant vector. */
export interface PromVectorElement {
  readonly metric: PromLabels;
  readonly point: PromPoint;
}

/** One series of a range vector. */
export interface PromSeries {
  readonly metric: PromLabels;
  readonly points: readonly PromPoint[];
}

/** What a query returned, by result type. */
export type PromResult =
  | { readonly resultType: 'vector'; readonly result: readonly PromVectorElement[] }
  | { readonly resultType: 'matrix'; readonly result: readonly PromSeries[] }
  | { readonly resultType: 'scalar'; readonly result: PromPoint }
  | { readonly resultType: 'string'; readonly result: { readonly time: number; readonly value: string } };

const SampleValue = z.tuple([z.number(), z.string()]);
const Labels = z.record(z.string(), z.string());
const Envelope = z.object({
  status: z.enum(['success', 'error']),
  data: z.unknown().optional(),
  errorType: z.string().optional(),
  error: z.string().optional(),
  warnings: z.array(z.string()).optional(),
});
const Data = z.discriminatedUnion('resultType', [
  z.object({ resultType: z.literal('vector'), result: z.array(z.object({ metric: Labels, value: SampleValue })) }),
  z.object({
    resultType: z.literal('matrix'),
    result: z.array(z.object({ metric: Labels, values: z.array(SampleValue) })),
  }),
  z.object({ resultType: z.literal('scalar'), result: SampleValue }),
  z.object({ resultType: z.literal('string'), result: SampleValue }),
]);

const point = ([time, text]: [number, string]): PromPoint => ({ time, value: parsePromValue(text) ?? Number.NaN });

/** The query as an error message shows it: whole when short, else its start and its length. */
const shown = (query: string) => (query.length <= 300 ? query : `${query.slice(0, 300)}… (${query.length} chars)`);

/** The fix for an API error, by HTTP status. */
function fixFor(status: number): string {
  if (status === 400)
    return 'check the query and the selector (--match): a PromQL label-matcher list in braces, such as {Hostname=~"node.*"}';
  if (status === 422) return 'the server could not execute the query: shorten the window or narrow the selector';
  if (status === 503)
    return "the server timed out or is shutting down: shorten the window, narrow the selector, or raise the server's --query.timeout";
  return 'check that the URL is the base URL of a Prometheus or VictoriaMetrics server (without /api/v1)';
}

/** Base URL without a trailing slash; refuses what is not http(s). */
function baseUrl(url: string): string {
  if (!/^https?:\/\/[^/\s]+/i.test(url)) {
    throw new TokenworksError(
      'USAGE',
      `Prometheus URL ${JSON.stringify(url)} is not an http(s) URL: give the server's base URL, such as http://127.0.0.1:9090`,
    );
  }
  return url.replace(/\/+$/, '');
}

/** POSTs a form to an API endpoint and returns the checked `data`. */
async function callApi(
  url: string,
  endpoint: 'query' | 'query_range',
  params: Readonly<Record<string, string>>,
  options: PromCallOptions,
): Promise<PromResult> {
  const base = baseUrl(url);
  const target = `${base}/api/v1/${endpoint}`;
  const query = params.query ?? '';
  const timeoutMs = Math.max(1, options.timeoutMs ?? 30_000);
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  let text: string;
  const started = performance.now();
  try {
    response = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(params).toString(),
      signal,
    });
    text = await response.text();
  } catch (error) {
    if (options.signal?.aborted) throw abortError(options.signal);
    if (timeout.aborted) {
      throw new TokenworksError(
        'USAGE',
        `Prometheus at ${base} did not answer ${endpoint} ${shown(query)} within ${timeoutMs} ms: shorten the window, narrow the selector or raise the timeout`,
        { cause: error },
      );
    }
    const cause =
      error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new TokenworksError(
      'USAGE',
      `cannot reach Prometheus at ${base} (${cause}): check that the server runs and that the URL (--prometheus) is its base URL, such as http://127.0.0.1:9090`,
      { cause: error },
    );
  }
  if (options.onResponse !== undefined) {
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    options.onResponse({
      endpoint,
      query,
      status: response.status,
      bytes: Buffer.byteLength(text),
      ...(Number.isFinite(length) && { wireBytes: length }),
      ms: performance.now() - started,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const envelope = Envelope.safeParse(json);
  if (!envelope.success) {
    throw new TokenworksError(
      'USAGE',
      `${target} answered HTTP ${response.status} with a body that is not the Prometheus API's JSON (${shown(text.trim()) || 'empty'}) to ${shown(query)}: ${fixFor(0)}`,
    );
  }
  if (envelope.data.status === 'error' || !response.ok) {
    const kind = envelope.data.errorType ?? 'error';
    throw new TokenworksError(
      'USAGE',
      `Prometheus at ${base} rejected ${endpoint} ${shown(query)}: HTTP ${response.status} ${kind}: ${envelope.data.error ?? response.statusText}. Fix: ${fixFor(response.status)}`,
    );
  }
  const data = Data.safeParse(envelope.data.data);
  if (!data.success) {
    throw new TokenworksError(
      'USAGE',
      `${target} answered ${shown(query)} with data that is not a Prometheus result (${data.error.issues[0]?.message ?? 'bad shape'}): ${fixFor(0)}`,
    );
  }
  const result = data.data;
  switch (result.resultType) {
    case 'vector':
      return {
        resultType: 'vector',
        result: result.result.map((element) => ({ metric: element.metric, point: point(element.value) })),
      };
    case 'matrix':
      return {
        resultType: 'matrix',
        result: result.result.map((series) => ({ metric: series.metric, points: series.values.map(point) })),
      };
    case 'scalar':
      return { resultType: 'scalar', result: point(result.result) };
    case 'string':
      return { resultType: 'string', result: { time: result.result[0], value: result.result[1] } };
  }
}

/** An instant query (`/api/v1/query`) at `time` (Unix seconds; default the server's now). */
export async function promQuery(
  url: string,
  query: string,
  options: PromCallOptions & { readonly time?: number } = {},
): Promise<PromResult> {
  const params: Record<string, string> = { query };
  if (options.time !== undefined) params.time = String(options.time);
  return callApi(url, 'query', params, options);
}

/** A range query (`/api/v1/query_range`) from `start` to `end` (Unix seconds) every `stepSeconds`. */
export async function promQueryRange(
  url: string,
  query: string,
  options: PromCallOptions & { readonly start: number; readonly end: number; readonly stepSeconds: number },
): Promise<readonly PromSeries[]> {
  if (!(options.end > options.start) || !(options.stepSeconds > 0)) {
    throw new TokenworksError(
      'USAGE',
      `query_range needs end > start and a step > 0 (got start ${options.start}, end ${options.end}, step ${options.stepSeconds})`,
    );
  }
  const result = await callApi(
    url,
    'query_range',
    { query, start: String(options.start), end: String(options.end), step: String(options.stepSeconds) },
    options,
  );
  if (result.resultType !== 'matrix') {
    throw new TokenworksError('INTERNAL', `query_range ${shown(query)} returned a ${result.resultType}, not a matrix`);
  }
  return result.result;
}

/** Raw samples of a series selector over `[time − rangeSeconds, time]` (an instant query of a range vector). */
export async function promRawSeries(
  url: string,
  selector: string,
  options: PromCallOptions & { readonly time: number; readonly rangeSeconds: number },
): Promise<readonly PromSeries[]> {
  const query = `${selector}[${durationOf(options.rangeSeconds)}]`;
  const result = await promQuery(url, query, options);
  if (result.resultType !== 'matrix') {
    throw new TokenworksError('INTERNAL', `${shown(query)} returned a ${result.resultType}, not a matrix`);
  }
  return result.result;
}

/** A PromQL duration of whole milliseconds (PromQL durations take integers only). */
function durationOf(seconds: number): string {
  return `${Math.max(1, Math.round(seconds * 1000))}ms`;
}

/** A label value as a PromQL string literal. */
export function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * The matchers inside a `{…}` selector (`''` for none). The selector must be a label-matcher list in braces; its
 * syntax is the server's to judge (a bad one comes back as its HTTP 400 error).
 */
export function selectorMatchers(match: string | undefined): string {
  const text = (match ?? '').trim();
  if (text === '') return '';
  if (!text.startsWith('{') || !text.endsWith('}')) {
    throw new TokenworksError(
      'USAGE',
      `selector ${JSON.stringify(match)} is not a label-matcher list: write it in braces without a metric name, such as {Hostname=~"node.*"} or {job="dcgm"}`,
    );
  }
  return text.slice(1, -1).trim();
}

/** Every metric name that can carry `field`: the current name, its 1.x names, lower case, and nvidia-smi's. */
export function metricNamesOf(field: string): string[] {
  const oldNames = Object.entries(DCGM_1X_NAMES)
    .filter(([, current]) => current === field)
    .map(([name]) => name);
  return [...new Set([field, ...oldNames, field.toLowerCase(), ...nvidiaSmiNamesOf(field)])];
}

/** Options of {@link promGpuAggregates}. */
export interface PromGpuAggregateOptions extends PromCallOptions {
  /** A label-matcher list in braces, such as `{Hostname=~"node.*"}`; default every series. */
  readonly match?: string;
  /** The window, Unix seconds: samples in [start, end] (Prometheus 2.x range selection). */
  readonly start: number;
  readonly end: number;
  /** The fields to aggregate (default the KPI fields, {@link GPU_KPI_FIELDS}). */
  readonly fields?: readonly string[];
  /** Raw-series queries at once (default 4). */
  readonly concurrency?: number;
}

const STATS = ['count', 'sum', 'min', 'max'] as const;
type Stat = (typeof STATS)[number];
const NAME_LABEL = 'tw_name';

interface SeriesStats {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly stats: Partial<Record<Stat, number>>;
}

/** A key of a label set, order-free. */
const labelKey = (labels: PromLabels) =>
  JSON.stringify(
    Object.entries(labels)
      .filter(([name]) => name !== '__name__')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );

/** Runs `tasks` with at most `limit` in flight. */
export async function pooled<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await (tasks[index] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/**
 * The per-GPU per-field aggregates of the window [start, end] computed by the server (see the module comment): the
 * same {@link GpuFieldAggregate}s a `GpuAggregator` gives from the same samples, less `firstTime`/`lastTime`
 * (PromQL 2.x has no first-sample time stamp; give the KPIs `windowSeconds` = end − start instead).
 */
export async function promGpuAggregates(url: string, options: PromGpuAggregateOptions): Promise<GpuFieldAggregate[]> {
  const { start, end } = options;
  if (!(Number.isFinite(start) && Number.isFinite(end) && end > start)) {
    throw new TokenworksError(
      'USAGE',
      `the window must have end > start (Unix seconds; got start ${start}, end ${end}): give a later end`,
    );
  }
  const matchers = selectorMatchers(options.match);
  const selectorOf = (name: string, extra = '') =>
    `${name}{${[matchers, extra].filter((part) => part !== '').join(',')}}`;
  const range = durationOf(end - start);
  const names = (options.fields ?? GPU_KPI_FIELDS).flatMap(metricNamesOf);
  const series = new Map<string, SeriesStats>();
  await Promise.all(
    STATS.map(async (stat) => {
      const query = names
        .map(
          (name) =>
            `label_replace(${stat}_over_time(${selectorOf(name)}[${range}]), ${promString(NAME_LABEL)}, ${promString(name)}, ${promString(NAME_LABEL)}, ".*")`,
        )
        .join(' or ');
      const result = await promQuery(url, query, { ...options, time: end });
      if (result.resultType !== 'vector') {
        throw new TokenworksError('INTERNAL', `${stat}_over_time returned a ${result.resultType}, not a vector`);
      }
      for (const element of result.result) {
        const { [NAME_LABEL]: name, __name__: _dropped, ...labels } = element.metric;
        if (name === undefined) continue;
        const key = `${name}\u0000${labelKey(labels)}`;
        let entry = series.get(key);
        if (entry === undefined) {
          entry = { name, labels, stats: {} };
          series.set(key, entry);
        }
        entry.stats[stat] = element.point.value;
      }
    }),
  );

  // Raw samples of one series (exact label set), in time order.
  const rawOf = async (entry: SeriesStats): Promise<readonly PromPoint[]> => {
    const extra = Object.entries(entry.labels)
      .map(([name, value]) => `${name}=${promString(value)}`)
      .join(',');
    const found = await promRawSeries(url, selectorOf(entry.name, extra), {
      ...options,
      time: end,
      rangeSeconds: end - start,
    });
    const key = labelKey(entry.labels);
    const exact = found.filter((s) => labelKey(s.metric) === key);
    return exact.flatMap((s) => s.points).sort((a, b) => a.time - b.time);
  };

  const aggregates: GpuFieldAggregate[] = [];
  const rawTasks: (() => Promise<void>)[] = [];
  for (const entry of series.values()) {
    const mapping = gpuFieldOf(entry.name);
    const { count, sum, min, max } = entry.stats;
    if (mapping === undefined || count === undefined || sum === undefined || min === undefined || max === undefined)
      continue;
    const sample = normaliseDcgmSample({ name: entry.name, labels: entry.labels, value: 0, line: 0 }, mapping.field);
    if (sample.gpuKey === undefined || count <= 0) continue;
    const aggregate: { -readonly [K in keyof GpuFieldAggregate]: GpuFieldAggregate[K] } = {
      gpuKey: sample.gpuKey,
      ...(sample.gpu.hostname !== undefined && { hostname: sample.gpu.hostname }),
      field: mapping.field,
      count,
      // Unit factor of the dialect (nvidia-smi ratio → %, Hz → MHz): Σ(s·x) = s·Σx, min and max scale alike (s > 0).
      sum: sum * mapping.scale,
      min: min * mapping.scale,
      max: max * mapping.scale,
    };
    if (THROTTLE_FIELDS.includes(mapping.field)) {
      aggregate.slowing = 0;
      // Below the lowest slowing bit no sample can carry a slowing reason; else count them in the raw samples.
      if (max >= LOWEST_SLOWING_BIT || Number.isNaN(max)) {
        rawTasks.push(async () => {
          aggregate.slowing = (await rawOf(entry)).filter((p) => isSlowing(p.value * mapping.scale)).length;
        });
      }
    }
    if (mapping.field === GPU_KPI_FIELD.xid) {
      aggregate.xidEvents = [];
      if (max > 0 || Number.isNaN(max)) {
        rawTasks.push(async () => {
          const tracker = new XidTracker();
          const events: GpuXidEvent[] = [];
          for (const p of await rawOf(entry)) {
            const event = tracker.push(sample.gpuKey as string, p.value, p.time);
            if (event !== undefined) events.push({ time: p.time, xid: event.xid });
          }
          aggregate.xidEvents = events;
        });
      }
    }
    aggregates.push(aggregate);
  }
  await pooled(rawTasks, Math.max(1, options.concurrency ?? 4));

  // One aggregate per GPU and field, as the file path gives (several jobs or series of one GPU merge).
  const merged = new Map<string, GpuFieldAggregate>();
  for (const aggregate of aggregates) {
    const key = `${aggregate.gpuKey}\u0000${aggregate.field}`;
    const known = merged.get(key);
    merged.set(key, known === undefined ? aggregate : mergeAggregates(known, aggregate));
  }
  return [...merged.values()].sort(compareAggregates);
}
