/**
 * Fleet mode of the Prometheus source: every GPU KPI and detector input of `observe` computed by the server and
 * aggregated per host (and per job) in PromQL, so that what crosses the wire grows with hosts, not GPUs × samples
 * (docs/fleet.md). The per-GPU path (`promGpuAggregates`, prometheus-source.ts) returns four values per GPU and
 * field; this one returns two to five per host and field.
 *
 * Per host and job, for each KPI field, instant queries at `end` over the range `end − start`:
 * - `gpus` = `count by (host, job)` of the per-GPU `count_over_time`, `samples` = its `sum by`;
 * - `meanSum` = `sum by` of the per-GPU `avg_over_time` (Σ per-GPU means); for the utilisation signals also
 *   `meanMin` / `meanMax`, its `min by` / `max by`; for power and temperature `max` = `max by` of the per-GPU
 *   `max_over_time`; for the SM clock only `median` = `quantile by (0.5)` of the per-GPU `quantile_over_time(0.5)`.
 * A GPU's series enters only when its values are readings (max below the DCGM blank sentinel 2^47, sum finite), as
 * gpu-kpis.ts leaves the others out: one query first counts, per field, the series that are not, and only those
 * fields' queries carry the check (two more passes over every series). Each metric name a field goes by (current,
 * 1.x, lower case, nvidia-smi) is one `or` term, times the dialect's unit factor (which also drops `__name__`, kept
 * by VictoriaMetrics after a rollup: operate.md §1.4). The host is `hostname`, else `Hostname`, else their
 * `exported_` forms (dcgm.ts's precedence: the exporter's own label wins), copied into `tw_host` with
 * `label_replace`; the job is `hpc_job` (dcgm-exporter's
 * HPC mode) or a label named by `jobLabel`, into `tw_job`.
 *
 * The throttled share needs each bitmask sample's reasons, and PromQL has no bitwise operators. On a MetricsQL
 * server (VictoriaMetrics) the non-slowing samples are counted exactly with `count_le_over_time` over the runs of
 * bitmask values 0–511 that carry no slowing bit (derived from gpu-kpis.ts `SLOWING_MASK`), and the server sums
 * `slowing / count` per host; a GPU whose bitmask reaches 512 has its raw samples read. A Prometheus falls back to
 * the per-GPU path for the bitmask alone (`promGpuAggregates` with the throttle fields), reported as such.
 * XID events (changes of the last-XID gauge to a non-zero code, gpu-signals.ts `XidTracker`) need the raw samples:
 * they are read only for the GPUs whose `max_over_time` is above 0.
 *
 * The per-host straggler signal: `quantile by (host) (0.5, SM clock)` as a range query (one median per host per
 * step), fed to the straggler detector's per-GPU-signal mode (stragglers.ts `RankStragglerDetector` with the SM
 * clock's `GPU_STRAGGLER_SIGNALS` entry) with hosts as its ranks.
 *
 * The KPIs themselves are gpu-kpis.ts's: each (host, job) becomes `gpus` host-share aggregates ({@link
 * fleetShareAggregates}) whose per-GPU means are the host's lowest, its highest, and the rest evenly, with the
 * host's sample count split among them, so `gpuKpis` gives every fleet, host and job figure from them exactly: the
 * means of per-GPU means, IT power, energy, peaks, the throttled share (mean of per-GPU shares) and GPUs throttled,
 * XID counts by code. Only `throttle.slowingSamples` is the host's share-weighted figure, exact when a host's GPUs
 * have the same number of samples (one scrape interval).
 * @module
 */

import { GPU_STRAGGLER_SIGNALS, RankStragglerDetector } from '../detect/stragglers.js';
import type { Detection } from '../detect/types.js';
import { TokenworksError } from '../errors.js';
import { normaliseDcgmSample } from '../telemetry/dcgm.js';
import {
  DCGM_BLANK_MIN,
  GPU_KPI_FIELD,
  GPU_KPI_FIELDS,
  type GpuFieldAggregate,
  type GpuKpiFacts,
  type GpuKpis,
  type GpuXidEvent,
  gpuKpis,
  isSlowing,
  SLOWING_MASK,
  THROTTLE_FIELDS,
  UTILISATION_SIGNALS,
} from '../telemetry/gpu-kpis.js';
import { THROTTLE_REASONS, XidTracker } from '../telemetry/gpu-signals.js';
import { gpuFieldOf } from '../telemetry/nvidia-smi.js';
import {
  metricNamesOf,
  type PromCallOptions,
  type PromLabels,
  type PromResponseInfo,
  pooled,
  promGpuAggregates,
  promQuery,
  promQueryRange,
  promRawSeries,
  promString,
  selectorMatchers,
} from './prometheus-source.js';

/** `observe --prometheus` switches to fleet mode by itself above this many GPUs in the window. */
export const FLEET_AUTO_GPUS = 512;

/** The SM clock (the straggler signal; not a KPI field). */
export const SM_CLOCK_FIELD = 'DCGM_FI_DEV_SM_CLOCK';

/** Seconds between two points of the per-host straggler signal (default). */
export const FLEET_SIGNAL_STEP_SECONDS = 60;

/** Longest query sent at once: VictoriaMetrics refuses queries over `-search.maxQueryLen` (16 KiB by default). */
export const MAX_QUERY_CHARS = 12_000;

/** The label of dcgm-exporter's HPC mode that names the job (`DCGM_HPC_JOB_MAPPING_DIR`, operate.md §1.1). */
export const DEFAULT_JOB_LABEL = 'hpc_job';

/** Bitmask values at or above this have bits beyond the reasons known (0x100 is the highest, gpu-signals.ts). */
const BITMASK_BOUND = 2 * THROTTLE_REASONS.reduce((top, reason) => Math.max(top, reason.bit), 0);

const HOST = 'tw_host';
const JOB = 'tw_job';
const STAT = 'tw_stat';
const FIELD = 'tw_field';

/** Options of {@link promFleetKpis}. */
export interface FleetOptions extends PromCallOptions {
  /** A label-matcher list in braces, such as `{job="dcgm"}`; default every series. */
  readonly match?: string;
  /** The window, Unix seconds. */
  readonly start: number;
  readonly end: number;
  /** The label naming a GPU's job (default {@link DEFAULT_JOB_LABEL}; its `exported_` form too). */
  readonly jobLabel?: string;
  /** Seconds between points of the per-host SM-clock signal (default {@link FLEET_SIGNAL_STEP_SECONDS}). */
  readonly signalStepSeconds?: number;
  /** Raw-series reads at once (XID GPUs; default 4). */
  readonly concurrency?: number;
  /** Facts for the KPIs (PUE, tokens/s); `windowSeconds` is end − start. */
  readonly facts?: Omit<GpuKpiFacts, 'windowSeconds'>;
}

/** The server's figures of one field on one host and job. */
export interface FleetFieldStats {
  /** GPUs reporting the field (0 for the SM clock, of which only the median is asked). */
  readonly gpus: number;
  /** Σ per-GPU sample counts. */
  readonly samples: number;
  /** Σ per-GPU means (in the field's `DCGM_FI_*` unit). */
  readonly meanSum: number;
  /** Lowest and highest per-GPU mean. */
  readonly meanMin: number;
  readonly meanMax: number;
  /** Highest sample (power and temperature; the highest GPU mean for the others). */
  readonly max: number;
  /** Median over the host's GPUs of each GPU's median (SM clock only). */
  readonly median?: number;
}

/** The clock-event bitmask on one host and job. */
export interface FleetThrottleStats {
  readonly gpus: number;
  readonly samples: number;
  /** Σ per-GPU slowing samples of the GPUs read raw (bitmasks past the known bits; all of them on Prometheus). */
  readonly slowing: number;
  /** Σ per-GPU throttled shares (slowing / count). */
  readonly shareSum: number;
  /** GPUs with at least one slowing sample. */
  readonly throttled: number;
}

/** One host and job: what the server returned for it. */
export interface FleetGroup {
  readonly host: string;
  readonly job?: string;
  readonly fields: Readonly<Record<string, FleetFieldStats>>;
  readonly throttle?: FleetThrottleStats;
  /** XID events of its GPUs (raw samples of the GPUs with any), by GPU key. */
  readonly xid: readonly { readonly gpuKey: string; readonly events: readonly GpuXidEvent[] }[];
}

/** One host's (or job's) KPIs, from gpu-kpis.ts over its host-share aggregates. */
export interface FleetRow {
  readonly host?: string;
  readonly job?: string;
  readonly gpus: number;
  readonly samples: number;
  /** Σ per-GPU mean power, W (the host's IT power). */
  readonly itMeanW?: number;
  readonly meanPowerPerGpuW?: number;
  readonly peakGpuW?: number;
  /** IT mean power × window, J. */
  readonly itEnergyJ?: number;
  /** The primary utilisation signal's mean of per-GPU means, 0–1, and the tensor pipes'. */
  readonly utilisation?: number;
  readonly tensorActive?: number;
  readonly meanTempC?: number;
  readonly maxTempC?: number;
  readonly throttledShare?: number;
  readonly gpusThrottled?: number;
  readonly xidEvents: number;
  /** Median of the per-GPU median SM clocks, MHz. */
  readonly smClockMedianMHz?: number;
}

/** What crossed the wire. */
export interface FleetTransfer {
  readonly queries: number;
  /** Response bodies, bytes as parsed. */
  readonly bytes: number;
  /** Σ per-query time, ms, and the wall time of the whole read. */
  readonly queryMs: number;
  readonly wallMs: number;
  /** Raw series read (XID GPUs, bitmasks past 511), and how the throttled share was had. */
  readonly rawSeries: number;
  readonly throttle: 'metricsql' | 'per-gpu' | 'none';
}

/** Fleet mode's answer. */
export interface FleetKpis {
  readonly window: { readonly start: number; readonly end: number; readonly seconds: number };
  /** The fleet's KPIs (gpu-kpis.ts), without per-GPU rows. */
  readonly fleet: Omit<GpuKpis, 'perGpu'>;
  readonly hosts: readonly FleetRow[];
  readonly jobs: readonly FleetRow[];
  /** The host-share aggregates the KPIs come from (for `observe`'s plan versus actual). */
  readonly aggregates: readonly GpuFieldAggregate[];
  readonly groups: readonly FleetGroup[];
  /** The per-host SM-clock signal and what the straggler detector made of it. */
  readonly stragglers: {
    readonly hosts: number;
    readonly points: number;
    readonly stepSeconds: number;
    readonly detections: readonly Detection[];
    /** Hosts flagged, by name. */
    readonly flagged: readonly string[];
  };
  readonly transfer: FleetTransfer;
  readonly notes: readonly string[];
}

/** A PromQL duration of whole milliseconds. */
const durationOf = (seconds: number) => `${Math.max(1, Math.round(seconds * 1000))}ms`;

/** The names a field goes by, with each one's unit factor to the `DCGM_FI_*` unit. */
function namesOf(field: string): { name: string; scale: number }[] {
  return metricNamesOf(field).flatMap((name) => {
    const mapping = gpuFieldOf(name);
    return mapping !== undefined && mapping.field === field ? [{ name, scale: mapping.scale }] : [];
  });
}

/** Copies the host and job labels into `tw_host` and `tw_job` (the un-prefixed label wins: applied last). */
function withHostJob(expr: string, jobLabel: string): string {
  let out = expr;
  for (const source of ['exported_Hostname', 'exported_hostname', 'Hostname', 'hostname']) {
    out = `label_replace(${out}, ${promString(HOST)}, "$1", ${promString(source)}, "(.+)")`;
  }
  for (const source of [`exported_${jobLabel}`, jobLabel]) {
    out = `label_replace(${out}, ${promString(JOB)}, "$1", ${promString(source)}, "(.+)")`;
  }
  return out;
}

/** Tags a vector with a constant label. */
const tagged = (expr: string, label: string, value: string) =>
  `label_replace(${expr}, ${promString(label)}, ${promString(value)}, "", "")`;

/**
 * Runs of consecutive bitmask values in [0, {@link BITMASK_BOUND}) that carry no slowing reason (value & SLOWING_MASK
 * = 0): with the mask 0xEC, 0–3, 16–19, 256–259 and 272–275.
 */
export function nonSlowingRuns(): [number, number][] {
  const runs: [number, number][] = [];
  for (let v = 0; v < BITMASK_BOUND; v++) {
    if ((v & SLOWING_MASK) !== 0) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === v - 1) last[1] = v;
    else runs.push([v, v]);
  }
  return runs;
}

/** Whether the server speaks MetricsQL's `count_le_over_time` (VictoriaMetrics; Prometheus answers 400). */
async function speaksMetricsQl(url: string, options: PromCallOptions & { time: number }): Promise<boolean> {
  try {
    await promQuery(url, 'count_le_over_time(tw_fleet_probe[1m], 0)', options);
    return true;
  } catch (error) {
    if (error instanceof TokenworksError && /HTTP 4\d\d/.test(error.message)) return false;
    throw error;
  }
}

/** The GPUs in the window that report power (or, failing that, any KPI field): one number from the server. */
export async function promFleetGpuCount(
  url: string,
  options: PromCallOptions & { readonly match?: string; readonly start: number; readonly end: number },
): Promise<number> {
  const matchers = selectorMatchers(options.match);
  const range = durationOf(options.end - options.start);
  const terms = [GPU_KPI_FIELD.power, GPU_KPI_FIELD.gpuUtil].flatMap(namesOf);
  const query = `count(${terms.map(({ name }) => `(count_over_time(${name}{${matchers}}[${range}]) * 1)`).join(' or ')})`;
  const result = await promQuery(url, query, { ...options, time: options.end });
  if (result.resultType !== 'vector') return 0;
  return result.result[0]?.point.value ?? 0;
}

/**
 * The GPU series of a field whose values are not all readings (gpu-kpis.ts leaves them out: a max at the DCGM blank
 * sentinel or past it, a NaN or infinite sum): `count by (field)`, normally an empty answer.
 */
function notReadings(field: string, selectorOf: (name: string) => string, range: string): string {
  const terms = namesOf(field).map(({ name }) => {
    const sum = `sum_over_time(${selectorOf(name)}[${range}])`;
    return `((max_over_time(${selectorOf(name)}[${range}]) >= ${DCGM_BLANK_MIN}) * 1) or ((${sum} != ${sum}) * 1) or ((abs(${sum}) == +Inf) * 1)`;
  });
  return tagged(`count(${terms.join(' or ')})`, FIELD, field);
}

/**
 * The stats queries of one field: `[stat, expression]`, each a vector by host and job. `guarded`: some series are
 * not readings ({@link notReadings}), so each series enters only when its max is below the DCGM blank and its sum
 * finite (the check costs two more rollups per series: only when needed).
 */
function fieldStats(
  field: string,
  selectorOf: (name: string) => string,
  range: string,
  jobLabel: string,
  guarded: boolean,
) {
  const names = namesOf(field);
  const guard = (name: string) =>
    guarded
      ? ` and (max_over_time(${selectorOf(name)}[${range}]) < ${DCGM_BLANK_MIN}) and (sum_over_time(${selectorOf(name)}[${range}]) > -Inf < +Inf)`
      : '';
  const perGpu = (fn: (selector: string) => string) =>
    withHostJob(
      names
        .map(({ name, scale }) => `((${fn(`${selectorOf(name)}[${range}]`)} * ${scale})${guard(name)})`)
        .join(' or '),
      jobLabel,
    );
  const by = `by (${HOST}, ${JOB})`;
  const count = perGpu((s) => `count_over_time(${s})`);
  const avg = perGpu((s) => `avg_over_time(${s})`);
  // Only what gpu-kpis.ts reads of the field: the lowest and highest GPU mean for utilisation, the highest sample
  // for power and temperature, counts alone for the XID gauge (its events come from raw samples), the median alone
  // for the SM clock (each statistic is one more pass over the series).
  const stats: [string, string][] =
    field === SM_CLOCK_FIELD
      ? [['median', `quantile ${by} (0.5, ${perGpu((s) => `quantile_over_time(0.5, ${s})`)})`]]
      : [
          ['gpus', `count ${by} (${count})`],
          ['samples', `sum ${by} (${count})`],
        ];
  if (field !== SM_CLOCK_FIELD && field !== GPU_KPI_FIELD.xid) stats.push(['meanSum', `sum ${by} (${avg})`]);
  if (UTILISATION_SIGNALS.some((u) => u.field === field)) {
    stats.push(['meanMin', `min ${by} (${avg})`], ['meanMax', `max ${by} (${avg})`]);
  } else if (field === GPU_KPI_FIELD.power || field === GPU_KPI_FIELD.gpuTemp) {
    stats.push(['max', `max ${by} (${perGpu((s) => `max_over_time(${s})`)})`]);
  }
  return stats.map(([stat, expr]) => [stat, tagged(tagged(expr, STAT, stat), FIELD, field)] as const);
}

/** Packs expressions into `or` queries of at most {@link MAX_QUERY_CHARS} characters. */
function packed(expressions: readonly string[]): string[] {
  const queries: string[] = [];
  let current = '';
  for (const expr of expressions) {
    if (current !== '' && current.length + expr.length + 4 > MAX_QUERY_CHARS) {
      queries.push(current);
      current = '';
    }
    current = current === '' ? expr : `${current} or ${expr}`;
  }
  if (current !== '') queries.push(current);
  return queries;
}

const groupKey = (host: string, job: string | undefined) => `${host}\u0000${job ?? ''}`;

interface MutableGroup {
  host: string;
  job?: string;
  fields: Record<string, Partial<Record<keyof FleetFieldStats, number>>>;
  throttle?: Partial<Record<keyof FleetThrottleStats, number>>;
  xid: { gpuKey: string; events: GpuXidEvent[] }[];
}

/** Adds one GPU's bitmask figures (read client-side) to a group. */
function addThrottle(group: MutableGroup, samples: number, slowing: number): void {
  const t = group.throttle ?? {};
  group.throttle = t;
  t.gpus = (t.gpus ?? 0) + 1;
  t.samples = (t.samples ?? 0) + samples;
  t.slowing = (t.slowing ?? 0) + slowing;
  t.shareSum = (t.shareSum ?? 0) + (samples > 0 ? slowing / samples : 0);
  t.throttled = (t.throttled ?? 0) + (slowing > 0 ? 1 : 0);
}

/**
 * The fleet's GPU KPIs over [start, end], per host, per job and in all, computed by the server (see the module
 * comment): bytes returned grow with hosts.
 */
export async function promFleetKpis(url: string, options: FleetOptions): Promise<FleetKpis> {
  const { start, end } = options;
  if (!(Number.isFinite(start) && Number.isFinite(end) && end > start)) {
    throw new TokenworksError(
      'USAGE',
      `the window must have end > start (Unix seconds; got start ${start}, end ${end}): give a later --to`,
    );
  }
  const jobLabel = options.jobLabel ?? DEFAULT_JOB_LABEL;
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(jobLabel)) {
    throw new TokenworksError('USAGE', `the job label ${JSON.stringify(jobLabel)} is not a Prometheus label name`);
  }
  const stepSeconds = options.signalStepSeconds ?? FLEET_SIGNAL_STEP_SECONDS;
  if (!(Number.isFinite(stepSeconds) && stepSeconds >= 1)) {
    throw new TokenworksError('USAGE', `the straggler signal step must be 1 s or more, got ${stepSeconds}`);
  }
  const wallStart = performance.now();
  let queries = 0;
  let bytes = 0;
  let queryMs = 0;
  let rawSeries = 0;
  const onResponse = (info: PromResponseInfo) => {
    queries += 1;
    bytes += info.bytes;
    queryMs += info.ms;
    options.onResponse?.(info);
  };
  const call: PromCallOptions = {
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    ...(options.signal && { signal: options.signal }),
    onResponse,
  };
  const notes: string[] = [];
  const matchers = selectorMatchers(options.match);
  const selectorOf = (name: string, extra = '') =>
    `${name}{${[matchers, extra].filter((part) => part !== '').join(',')}}`;
  const range = durationOf(end - start);
  const groups = new Map<string, MutableGroup>();
  const groupOf = (labels: PromLabels): MutableGroup => {
    const host = labels[HOST] ?? '';
    const job = labels[JOB] === undefined || labels[JOB] === '' ? undefined : labels[JOB];
    const key = groupKey(host, job);
    let group = groups.get(key);
    if (group === undefined) {
      group = { host, ...(job !== undefined && { job }), fields: {}, xid: [] };
      groups.set(key, group);
    }
    return group;
  };

  // 1. Per-field stats by host and job; first, which fields have series that are not readings.
  const limit = Math.max(1, options.concurrency ?? 2);
  const fields = [...GPU_KPI_FIELDS.filter((f) => !THROTTLE_FIELDS.includes(f)), SM_CLOCK_FIELD];
  const guarded = new Set<string>();
  for (const query of packed(fields.map((field) => notReadings(field, selectorOf, range)))) {
    const result = await promQuery(url, query, { ...call, time: end });
    if (result.resultType !== 'vector') continue;
    for (const element of result.result) {
      const field = element.metric[FIELD];
      if (field === undefined || !(element.point.value > 0)) continue;
      guarded.add(field);
      notes.push(
        `${element.point.value} GPU series of ${field} are not readings (a DCGM blank or NaN) and were left out`,
      );
    }
  }
  const expressions = fields.flatMap((field) =>
    fieldStats(field, selectorOf, range, jobLabel, guarded.has(field)).map(([, e]) => e),
  );
  await pooled(
    packed(expressions).map((query) => async () => {
      const result = await promQuery(url, query, { ...call, time: end });
      if (result.resultType !== 'vector') return;
      for (const element of result.result) {
        const field = element.metric[FIELD];
        const stat = element.metric[STAT] as keyof FleetFieldStats | undefined;
        if (field === undefined || stat === undefined) continue;
        const group = groupOf(element.metric);
        group.fields[field] ??= {};
        (group.fields[field] as Record<string, number>)[stat] = element.point.value;
      }
    }),
    limit,
  );

  /** The window's raw samples (the GPUs read raw: bitmasks that can slow, XID gauges above 0). */
  const window = { ...call, time: end, rangeSeconds: end - start };

  // 2. The throttled share.
  let throttleMode: FleetTransfer['throttle'] = 'none';
  const bitmaskNames = THROTTLE_FIELDS.flatMap(namesOf).filter(({ scale }) => scale === 1);
  if (await speaksMetricsQl(url, { ...call, time: end })) {
    throttleMode = 'metricsql';
    const runs = nonSlowingRuns();
    // Bitmasks past the known bits (rare): their GPUs' raw samples are read, and the others' counted by the server.
    const beyond = bitmaskNames
      .map(({ name }) => `((max_over_time(${selectorOf(name)}[${range}]) >= ${BITMASK_BOUND}) * 1)`)
      .join(' or ');
    const odd = await promQuery(url, withHostJob(beyond, jobLabel), { ...call, time: end });
    const oddGpus = odd.resultType === 'vector' ? odd.result : [];
    const perGpu = (fn: (name: string) => string) =>
      withHostJob(
        bitmaskNames
          .map(({ name }) =>
            oddGpus.length === 0
              ? `(${fn(name)})`
              : `((${fn(name)}) and (max_over_time(${selectorOf(name)}[${range}]) < ${BITMASK_BOUND}))`,
          )
          .join(' or '),
        jobLabel,
      );
    const countOf = (name: string) => `count_over_time(${selectorOf(name)}[${range}])`;
    const le = (name: string, value: number) => `count_le_over_time(${selectorOf(name)}[${range}], ${value})`;
    // Slowing samples = all − those in a run of values without a slowing bit (count ≤ b − count ≤ a − 1).
    const slowingOf = (name: string) =>
      `${countOf(name)} - (${runs.map(([a, b]) => (a === 0 ? le(name, b) : `${le(name, b)} - ${le(name, a - 1)}`)).join(' + ')})`;
    const by = `by (${HOST}, ${JOB})`;
    const stats: [string, string][] = [
      ['gpus', `count ${by} (${perGpu(countOf)})`],
      ['samples', `sum ${by} (${perGpu(countOf)})`],
      ['shareSum', `sum ${by} (${perGpu((n) => `(${slowingOf(n)}) / ${countOf(n)}`)})`],
      ['throttled', `count ${by} (${perGpu((n) => `(${slowingOf(n)}) > 0`)})`],
    ];
    const queriesOf = packed(stats.map(([stat, expr]) => tagged(expr, STAT, stat)));
    await pooled(
      queriesOf.map((query) => async () => {
        const result = await promQuery(url, query, { ...call, time: end });
        if (result.resultType !== 'vector') return;
        for (const element of result.result) {
          const stat = element.metric[STAT];
          if (stat === undefined) continue;
          const group = groupOf(element.metric);
          group.throttle ??= {};
          (group.throttle as Record<string, number>)[stat] = element.point.value;
        }
      }),
      limit,
    );
    if (oddGpus.length > 0) {
      const tasks = oddGpus.map((element) => async () => {
        const found = await firstRawPoints(url, bitmaskNames, element.metric, selectorOf, window);
        if (found === undefined) return;
        rawSeries += 1;
        const slowing = found.points.filter((p) => isSlowing(p.value)).length;
        addThrottle(groupOf(element.metric), found.points.length, slowing);
      });
      await pooled(tasks, Math.max(1, options.concurrency ?? 4));
      notes.push(`${oddGpus.length} GPU bitmask(s) reach ${BITMASK_BOUND}: their raw samples were read`);
    }
  } else {
    // Prometheus: no counting by value; the per-GPU path for the bitmask alone (raw samples where it can slow).
    const aggregates = await promGpuAggregates(url, {
      ...call,
      start,
      end,
      fields: THROTTLE_FIELDS,
      ...(options.match !== undefined && { match: options.match }),
    });
    if (aggregates.length > 0) throttleMode = 'per-gpu';
    const seen = new Set<string>();
    for (const a of aggregates) {
      if (seen.has(a.gpuKey) || a.max >= DCGM_BLANK_MIN || !Number.isFinite(a.sum)) continue;
      seen.add(a.gpuKey);
      addThrottle(groupOf({ [HOST]: a.hostname ?? '' }), a.count, a.slowing ?? 0);
    }
    if (aggregates.length > 0) {
      notes.push(
        'the server has no count_le_over_time (MetricsQL): the throttled share came from the per-GPU path (bitmask stats per GPU, raw samples of the GPUs that can slow), per host only',
      );
    }
  }

  // 3. XID events: raw samples of the GPUs whose last-XID gauge was above 0 in the window.
  const xidNames = namesOf(GPU_KPI_FIELD.xid);
  const xidQuery = withHostJob(
    xidNames.map(({ name, scale }) => `((max_over_time(${selectorOf(name)}[${range}]) * ${scale}) > 0)`).join(' or '),
    jobLabel,
  );
  const xidGpus = await promQuery(url, xidQuery, { ...call, time: end });
  if (xidGpus.resultType === 'vector' && xidGpus.result.length > 0) {
    // The name is not in the result (the arithmetic drops it): read each candidate name with the GPU's labels.
    const tasks = xidGpus.result.map((element) => async () => {
      const found = await firstRawPoints(url, xidNames, element.metric, selectorOf, window);
      if (found === undefined) return;
      rawSeries += 1;
      const { name, scale, labels, points } = found;
      const sample = normaliseDcgmSample({ name, labels, value: 0, line: 0 }, GPU_KPI_FIELD.xid);
      const gpuKey = sample.gpuKey ?? JSON.stringify(labels);
      const tracker = new XidTracker();
      const events: GpuXidEvent[] = [];
      for (const p of points) {
        const event = tracker.push(gpuKey, p.value * scale, p.time);
        if (event !== undefined) events.push({ time: p.time, xid: event.xid });
      }
      if (events.length > 0) groupOf(element.metric).xid.push({ gpuKey, events });
    });
    await pooled(tasks, Math.max(1, options.concurrency ?? 4));
  }

  // 4. The per-host SM-clock signal (median over the host's GPUs, every step) and the straggler detector on it.
  const clockTerms = namesOf(SM_CLOCK_FIELD)
    .map(({ name, scale }) => `(${selectorOf(name)} * ${scale})`)
    .join(' or ');
  const signal = await promQueryRange(url, `quantile by (${HOST}) (0.5, ${withHostJob(clockTerms, jobLabel)})`, {
    ...call,
    start,
    end,
    stepSeconds,
  });
  const stragglers = hostStragglers(signal, stepSeconds);

  const finished = [...groups.values()]
    .map(frozen)
    .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : (a.job ?? '') < (b.job ?? '') ? -1 : 1));
  const aggregates = fleetShareAggregates(finished);
  const windowSeconds = end - start;
  const facts: GpuKpiFacts = { ...options.facts, windowSeconds };
  const { perGpu: _rows, ...fleet } = gpuKpis(aggregates, facts);
  const rowsBy = (keyOf: (g: FleetGroup) => string | undefined, kind: 'host' | 'job') => {
    const byKey = new Map<string, FleetGroup[]>();
    for (const group of finished) {
      const key = keyOf(group);
      if (key === undefined) continue;
      byKey.set(key, [...(byKey.get(key) ?? []), group]);
    }
    return [...byKey].map(([key, members]) =>
      fleetRow(members, { ...options.facts, windowSeconds }, kind === 'host' ? { host: key } : { job: key }),
    );
  };
  const transfer: FleetTransfer = {
    queries,
    bytes,
    queryMs,
    wallMs: performance.now() - wallStart,
    rawSeries,
    throttle: throttleMode,
  };
  return {
    window: { start, end, seconds: windowSeconds },
    fleet,
    hosts: rowsBy((g) => g.host, 'host'),
    jobs: rowsBy((g) => g.job, 'job'),
    aggregates,
    groups: finished,
    stragglers,
    transfer,
    notes,
  };
}

/** Raw samples of `name` with exactly `labels` over the window, in time order. */
async function rawPoints(
  url: string,
  name: string,
  labels: PromLabels,
  selectorOf: (name: string, extra?: string) => string,
  options: PromCallOptions & { time: number; rangeSeconds: number },
) {
  const extra = Object.entries(labels)
    .map(([label, value]) => `${label}=${promString(value)}`)
    .join(',');
  const found = await promRawSeries(url, selectorOf(name, extra), options);
  const want = Object.keys(labels).length;
  return found
    .filter((s) => Object.keys(s.metric).filter((k) => k !== '__name__').length === want)
    .flatMap((s) => s.points)
    .sort((a, b) => a.time - b.time);
}

/**
 * The raw samples of one GPU (its result labels, less the name, host and job the query added) under the first of
 * `names` that has any: the name is not in an aggregated result (the arithmetic drops it).
 */
async function firstRawPoints<N extends { readonly name: string; readonly scale: number }>(
  url: string,
  names: readonly N[],
  metric: PromLabels,
  selectorOf: (name: string, extra?: string) => string,
  options: PromCallOptions & { time: number; rangeSeconds: number },
): Promise<(N & { labels: PromLabels; points: Awaited<ReturnType<typeof rawPoints>> }) | undefined> {
  const { __name__: _n, [HOST]: _h, [JOB]: _j, ...labels } = metric;
  for (const name of names) {
    const points = await rawPoints(url, name.name, labels, selectorOf, options);
    if (points.length > 0) return { ...name, labels, points };
  }
  return undefined;
}

/** A group with its partial stats made whole (stats the server left out are dropped with their field). */
function frozen(group: MutableGroup): FleetGroup {
  const fields: Record<string, FleetFieldStats> = {};
  for (const [field, s] of Object.entries(group.fields)) {
    const { gpus, samples, meanSum = 0, meanMin, meanMax, max, median } = s;
    if (field === SM_CLOCK_FIELD && median !== undefined) {
      fields[field] = { gpus: 0, samples: 0, meanSum: 0, meanMin: median, meanMax: median, max: median, median };
      continue;
    }
    if (gpus === undefined || samples === undefined || !(gpus >= 1)) continue;
    fields[field] = {
      gpus,
      samples,
      meanSum,
      meanMin: meanMin ?? meanSum / gpus,
      meanMax: meanMax ?? meanSum / gpus,
      max: max ?? meanMax ?? meanSum / gpus,
    };
  }
  const t = group.throttle;
  const throttle: FleetThrottleStats | undefined =
    t?.gpus !== undefined && t.gpus >= 1 && t.samples !== undefined
      ? {
          gpus: t.gpus,
          samples: t.samples,
          slowing: t.slowing ?? 0,
          shareSum: t.shareSum ?? 0,
          throttled: t.throttled ?? 0,
        }
      : undefined;
  return {
    host: group.host,
    ...(group.job !== undefined && { job: group.job }),
    fields,
    ...(throttle && { throttle }),
    xid: group.xid,
  };
}

/** `n` whole counts summing to `total` (the first `total mod n` one larger). */
function splitCount(total: number, n: number): number[] {
  const whole = Math.round(total);
  const base = Math.floor(whole / n);
  return Array.from({ length: n }, (_, i) => base + (i < whole - base * n ? 1 : 0));
}

/**
 * `n` per-GPU means with the given sum, lowest and highest: [lowest, highest, and the rest evenly]. Their mean,
 * lowest and highest are the host's.
 */
function splitMeans(n: number, sum: number, lo: number, hi: number): number[] {
  if (n === 1) return [sum];
  if (n === 2) return [sum - hi, hi];
  const rest = (sum - lo - hi) / (n - 2);
  return [lo, hi, ...Array.from({ length: n - 2 }, () => rest)];
}

/**
 * The host-share aggregates of the groups: a group of n GPUs becomes n aggregates per field (keys
 * `host[@job]/share<i>`), whose means are the host's lowest, highest and the rest evenly, with the host's samples
 * split among them and its highest sample as their max; throttled shares on as many as were throttled; each XID
 * GPU's events on one of them. gpu-kpis.ts over them gives the host's, the job's and the fleet's KPIs.
 */
export function fleetShareAggregates(groups: readonly FleetGroup[]): GpuFieldAggregate[] {
  const out: GpuFieldAggregate[] = [];
  for (const group of groups) {
    const prefix = `${group.host}${group.job === undefined ? '' : `@${group.job}`}/share`;
    const hostname = group.host === '' ? undefined : group.host;
    const base = (i: number) => ({ gpuKey: `${prefix}${i}`, ...(hostname !== undefined && { hostname }) });
    for (const [field, s] of Object.entries(group.fields)) {
      if (!GPU_KPI_FIELDS.includes(field)) continue;
      const counts = splitCount(s.samples, s.gpus);
      const means = splitMeans(s.gpus, s.meanSum, s.meanMin, s.meanMax);
      const xid = field === GPU_KPI_FIELD.xid ? group.xid : [];
      counts.forEach((count, i) => {
        const mean = means[i] as number;
        out.push({
          ...base(i),
          field,
          count,
          sum: mean * count, // Σx = mean × n
          min: Math.min(mean, s.max),
          max: s.max,
          ...(field === GPU_KPI_FIELD.xid && { xidEvents: xid[i]?.events ?? [] }),
        });
      });
      // More XID GPUs than rows cannot be (each reports the field); keep their events on the last row regardless.
      for (const extra of xid.slice(counts.length)) {
        const last = out[out.length - 1];
        if (last?.xidEvents !== undefined) {
          out[out.length - 1] = { ...last, xidEvents: [...last.xidEvents, ...extra.events] };
        }
      }
    }
    const t = group.throttle;
    if (t !== undefined) {
      const counts = splitCount(t.samples, t.gpus);
      const throttled = Math.min(t.throttled, t.gpus);
      counts.forEach((count, i) => {
        // Each throttled row's share = the host's Σ share / GPUs throttled, so the mean of the per-GPU shares holds.
        const share = i < throttled && throttled > 0 ? t.shareSum / throttled : 0;
        out.push({
          ...base(i),
          field: THROTTLE_FIELDS[0] as string,
          count,
          sum: 0,
          min: 0,
          max: 0,
          slowing: share * count,
        });
      });
    }
  }
  return out;
}

/** The KPIs of some groups (a host's, a job's), from gpu-kpis.ts over their host-share aggregates. */
function fleetRow(groups: readonly FleetGroup[], facts: GpuKpiFacts, key: { host?: string; job?: string }): FleetRow {
  const k = gpuKpis(fleetShareAggregates(groups), facts);
  const clocks = groups.map((g) => g.fields[SM_CLOCK_FIELD]?.median).filter((v): v is number => v !== undefined);
  const clock = groups.length === 1 ? clocks[0] : undefined;
  return {
    ...key,
    gpus: k.counts.gpus,
    samples: k.counts.samples,
    ...(k.power && {
      itMeanW: k.power.itMeanW,
      meanPowerPerGpuW: k.power.meanPerGpuW,
      peakGpuW: k.power.peakGpuW,
      ...(k.power.itEnergyJ !== undefined && { itEnergyJ: k.power.itEnergyJ }),
    }),
    ...(k.utilisation.primary && { utilisation: k.utilisation.primary.mean }),
    ...(k.utilisation.tensor && { tensorActive: k.utilisation.tensor.mean }),
    ...(k.temperature && { meanTempC: k.temperature.meanC, maxTempC: k.temperature.maxC }),
    ...(k.throttle && { throttledShare: k.throttle.share, gpusThrottled: k.throttle.gpusThrottled }),
    xidEvents: k.xid.events,
    ...(clock !== undefined && { smClockMedianMHz: clock }),
  };
}

/** The straggler detector over the per-host SM-clock medians (hosts as its ranks). */
function hostStragglers(
  series: readonly { readonly metric: PromLabels; readonly points: readonly { time: number; value: number }[] }[],
  stepSeconds: number,
): FleetKpis['stragglers'] {
  const hosts = series.map((s) => s.metric[HOST] ?? '').filter((h) => h !== '');
  const unique = [...new Set(hosts)].sort();
  let points = 0;
  if (unique.length < 2) return { hosts: unique.length, points, stepSeconds, detections: [], flagged: [] };
  const index = new Map(unique.map((host, i) => [host, i]));
  const byTime = new Map<number, Float64Array>();
  for (const s of series) {
    const at = index.get(s.metric[HOST] ?? '');
    if (at === undefined) continue;
    for (const p of s.points) {
      let row = byTime.get(p.time);
      if (row === undefined) {
        row = new Float64Array(unique.length).fill(Number.NaN);
        byTime.set(p.time, row);
      }
      row[at] = p.value;
      points += 1;
    }
  }
  const detector = new RankStragglerDetector(unique.length, {
    hostOf: (i) => unique[i] as string,
    signal: { ...GPU_STRAGGLER_SIGNALS.smClock, name: 'host median SM clock', gpuOf: (i) => unique[i] as string },
  });
  for (const time of [...byTime.keys()].sort((a, b) => a - b))
    detector.pushIteration(time, byTime.get(time) as Float64Array);
  const detections = detector.detections;
  const flagged = [...new Set(detections.map((d) => d.host ?? d.gpu ?? ''))].filter((h) => h !== '').sort();
  return { hosts: unique.length, points, stepSeconds, detections, flagged };
}
