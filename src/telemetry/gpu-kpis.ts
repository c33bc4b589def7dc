/**
 * The GPU KPIs of an observed run, defined once, from per-GPU per-field aggregates ({@link GpuFieldAggregate}:
 * count, sum, min, max of one `DCGM_FI_*` field of one GPU over a window). Every producer feeds the same function:
 * GPU points from scrape files or a store through {@link GpuAggregator}, or a Prometheus that computes the same
 * aggregates in PromQL (`node/prometheus-source.ts`: `count_over_time`, `sum_over_time`, `min_over_time`,
 * `max_over_time`), so the two paths agree to rounding.
 *
 * Definitions (each formula carries its source in a one-line comment where it is computed):
 * - **Utilisation**, per signal, as a ratio 0–1: `DCGM_FI_PROF_GR_ENGINE_ACTIVE` (graphics/compute engine active),
 *   `DCGM_FI_PROF_PIPE_TENSOR_ACTIVE` (tensor pipes active: the tensor-core proxy), `DCGM_FI_PROF_SM_ACTIVE` (off
 *   by default in dcgm-exporter, used when present) and `DCGM_FI_DEV_GPU_UTIL` (NVML's "a kernel was running",
 *   the fallback when DCP is not loaded). The DCP fields are ratios 0–1 and are kept; GPU_UTIL is a percentage
 *   (default-counters.csv "(in %)") and is divided by 100. Per GPU: the mean of its samples (sum / count); fleet:
 *   the mean of the per-GPU means (each GPU weighs the same whatever its sample count). `primary` is the first
 *   signal present of GR_ENGINE_ACTIVE, SM_ACTIVE, GPU_UTIL.
 * - **Power** (`DCGM_FI_DEV_POWER_USAGE`, W): mean and peak per GPU; IT power = Σ per-GPU means; facility power =
 *   IT × PUE (PUE = facility power / IT power, The Green Grid WP#49). The peak of the sum cannot be had from
 *   aggregates: `peakGpuW` is the highest single GPU's sample.
 * - **Energy** over the window = IT mean power × window seconds (mean power × time). The window is the one given
 *   (`facts.windowSeconds`: a Prometheus query's end − start), else the observed span of the power samples
 *   (last − first time stamp; n samples at interval Δ span (n − 1)Δ). It assumes every GPU drew its mean sampled
 *   power for the whole window. Facility energy = energy × PUE.
 * - **Tokens per MWh** = tokens/s ÷ power (W) × 3.6·10⁹ (1 MWh = 3.6·10⁹ J), against IT power and, with a PUE,
 *   against facility power.
 * - **Throttled time**: the share of samples of the clock-event bitmask (`DCGM_FI_DEV_CLOCKS_EVENT_REASONS`, older
 *   name `DCGM_FI_DEV_CLOCK_THROTTLE_REASONS`) whose reasons include a slowing one (gpu-signals.ts
 *   `SLOWING_REASONS`: power cap, hardware slowdown, software and hardware thermal, power brake; idle and
 *   clock-setting reasons are not throttling). Samples are evenly spaced at the scrape interval, so the sample share
 *   is the time share. Per GPU `slowing / count`; fleet: the mean of the per-GPU shares. PromQL has no bitwise
 *   operators, so a Prometheus producer computes `slowing` exactly from the raw samples of that one series, fetched
 *   only for GPUs whose `max_over_time` reaches the lowest slowing bit (0x4): below it no sample can slow.
 *   The `*_VIOLATION` counters (ns throttled) are off by default in dcgm-exporter and are not used.
 * - **XID events**: changes of the last-XID gauge `DCGM_FI_DEV_XID_ERRORS` to a non-zero code (gpu-signals.ts
 *   `XidTracker`), in time order, carried by the aggregate as `xidEvents`.
 * - **Temperature** (`DCGM_FI_DEV_GPU_TEMP`, °C): mean of the per-GPU means, and the maximum sample.
 * - **Counts**: GPUs (distinct keys with any KPI field), hosts (distinct host names), samples (Σ count).
 *
 * Unsupported values: an aggregate whose max reaches a DCGM blank sentinel (≥ 2^47: `DCGM_FT_FP64_BLANK` =
 * 140737488355328, `DCGM_FT_INT64_BLANK` = 0x7ffffffffffffff0, dcgm_fields.h), or any non-finite statistic (a NaN
 * sample), is left out and listed in `dropped`, whichever producer made it. Every number returned is finite.
 *
 * Pure: no Node APIs.
 * @module
 */
import type { GpuPoint } from '../app/ports.js';
import { TokenworksError } from '../errors.js';
import { SLOWING_REASONS, THROTTLE_REASONS, XidTracker } from './gpu-signals.js';

/** The `DCGM_FI_*` fields the GPU KPIs read. */
export const GPU_KPI_FIELD = {
  power: 'DCGM_FI_DEV_POWER_USAGE',
  gpuUtil: 'DCGM_FI_DEV_GPU_UTIL',
  grEngineActive: 'DCGM_FI_PROF_GR_ENGINE_ACTIVE',
  pipeTensorActive: 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE',
  smActive: 'DCGM_FI_PROF_SM_ACTIVE',
  gpuTemp: 'DCGM_FI_DEV_GPU_TEMP',
  clockEvents: 'DCGM_FI_DEV_CLOCKS_EVENT_REASONS',
  clockThrottle: 'DCGM_FI_DEV_CLOCK_THROTTLE_REASONS',
  xid: 'DCGM_FI_DEV_XID_ERRORS',
} as const;

/** Every field the KPIs read, for producers that fetch only those (a PromQL push-down). */
export const GPU_KPI_FIELDS: readonly string[] = Object.values(GPU_KPI_FIELD);

/** The clock-event bitmask fields, the current name first. */
export const THROTTLE_FIELDS: readonly string[] = [GPU_KPI_FIELD.clockEvents, GPU_KPI_FIELD.clockThrottle];

/** The bits of the slowing reasons (0x4 | 0x8 | 0x20 | 0x40 | 0x80 = 0xEC). */
export const SLOWING_MASK = THROTTLE_REASONS.filter((reason) =>
  (SLOWING_REASONS as readonly string[]).includes(reason.name),
).reduce((mask, reason) => mask | reason.bit, 0);

/** The lowest slowing bit: a bitmask below it has no slowing reason (0x4). */
export const LOWEST_SLOWING_BIT = SLOWING_MASK & -SLOWING_MASK;

/** Whether a clock-event bitmask sample has a slowing reason. */
export function isSlowing(bitmask: number): boolean {
  return Number.isInteger(bitmask) && bitmask >= 0 && (bitmask & SLOWING_MASK) !== 0;
}

/** Lowest value that is a DCGM blank sentinel rather than a reading (`DCGM_FT_FP64_BLANK` = 2^47, dcgm_fields.h). */
export const DCGM_BLANK_MIN = 2 ** 47;

/** An XID seen on a GPU, at a time (Unix seconds). */
export interface GpuXidEvent {
  readonly time: number;
  readonly xid: number;
}

/** One field of one GPU over a window: what every producer of GPU KPIs delivers. */
export interface GpuFieldAggregate {
  readonly gpuKey: string;
  readonly hostname?: string;
  /** `DCGM_FI_*` field name (other dialects converted to its unit). */
  readonly field: string;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  /** Time stamps (Unix seconds) of the first and last sample, where the producer knows them (files do). */
  readonly firstTime?: number;
  readonly lastTime?: number;
  /** Clock-event bitmask fields only: samples whose reasons include a slowing one ({@link isSlowing}). */
  readonly slowing?: number;
  /** `DCGM_FI_DEV_XID_ERRORS` only: the XID events, in time order. */
  readonly xidEvents?: readonly GpuXidEvent[];
}

/** Merges two aggregates of the same GPU and field (two scrape jobs, two batches). */
export function mergeAggregates(a: GpuFieldAggregate, b: GpuFieldAggregate): GpuFieldAggregate {
  const times = (x: number | undefined, y: number | undefined, pick: (p: number, q: number) => number) =>
    x === undefined ? y : y === undefined ? x : pick(x, y);
  const firstTime = times(a.firstTime, b.firstTime, Math.min);
  const lastTime = times(a.lastTime, b.lastTime, Math.max);
  const hostname = a.hostname ?? b.hostname;
  return {
    gpuKey: a.gpuKey,
    ...(hostname !== undefined && { hostname }),
    field: a.field,
    count: a.count + b.count,
    sum: a.sum + b.sum,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    ...(firstTime !== undefined && { firstTime }),
    ...(lastTime !== undefined && { lastTime }),
    ...((a.slowing !== undefined || b.slowing !== undefined) && { slowing: (a.slowing ?? 0) + (b.slowing ?? 0) }),
    ...((a.xidEvents !== undefined || b.xidEvents !== undefined) && {
      xidEvents: [...(a.xidEvents ?? []), ...(b.xidEvents ?? [])].sort((x, y) => x.time - y.time),
    }),
  };
}

interface Accumulator {
  gpuKey: string;
  hostname?: string;
  field: string;
  count: number;
  sum: number;
  min: number;
  max: number;
  firstTime: number;
  lastTime: number;
  slowing?: number;
  xidEvents?: GpuXidEvent[];
}

/**
 * Streams GPU points into per-GPU per-field aggregates, in memory bounded by GPUs × fields (plus the XID events).
 * Push points in time order per GPU (as a store returns them): XID events are changes between successive samples.
 * NaN samples count and make the sum NaN, as in PromQL's `sum_over_time`; min and max skip them, as PromQL does.
 */
export class GpuAggregator {
  private readonly byKey = new Map<string, Accumulator>();
  private readonly xid = new XidTracker();
  private readonly fields: ReadonlySet<string> | undefined;

  /** `fields`: keep only these (default: every field). */
  constructor(options: { readonly fields?: readonly string[] } = {}) {
    this.fields = options.fields === undefined ? undefined : new Set(options.fields);
  }

  /** Adds points. */
  push(points: readonly GpuPoint[]): void {
    for (const point of points) {
      if (this.fields !== undefined && !this.fields.has(point.field)) continue;
      const key = `${point.gpuKey}\u0000${point.field}`;
      let entry = this.byKey.get(key);
      if (entry === undefined) {
        entry = {
          gpuKey: point.gpuKey,
          field: point.field,
          count: 0,
          sum: 0,
          min: Number.NaN,
          max: Number.NaN,
          firstTime: point.time,
          lastTime: point.time,
        };
        if (THROTTLE_FIELDS.includes(point.field)) entry.slowing = 0;
        if (point.field === GPU_KPI_FIELD.xid) entry.xidEvents = [];
        this.byKey.set(key, entry);
      }
      if (entry.hostname === undefined && point.hostname !== undefined) entry.hostname = point.hostname;
      const value = point.value;
      entry.count += 1;
      entry.sum += value;
      // PromQL min_over_time/max_over_time: a NaN sample is replaced by any number (promql/functions.go).
      if (!Number.isNaN(value)) {
        if (Number.isNaN(entry.min) || value < entry.min) entry.min = value;
        if (Number.isNaN(entry.max) || value > entry.max) entry.max = value;
      }
      entry.firstTime = Math.min(entry.firstTime, point.time);
      entry.lastTime = Math.max(entry.lastTime, point.time);
      if (entry.slowing !== undefined && isSlowing(value)) entry.slowing += 1;
      if (entry.xidEvents !== undefined) {
        const event = this.xid.push(point.gpuKey, value, point.time);
        if (event !== undefined) entry.xidEvents.push({ time: point.time, xid: event.xid });
      }
    }
  }

  /** The aggregates so far, ordered by GPU key then field. */
  aggregates(): GpuFieldAggregate[] {
    return [...this.byKey.values()]
      .map((entry) => ({ ...entry, ...(entry.xidEvents !== undefined && { xidEvents: [...entry.xidEvents] }) }))
      .sort(compareAggregates);
  }
}

/** Orders aggregates by GPU key, then field. */
export function compareAggregates(a: GpuFieldAggregate, b: GpuFieldAggregate): number {
  return a.gpuKey < b.gpuKey ? -1 : a.gpuKey > b.gpuKey ? 1 : a.field < b.field ? -1 : a.field > b.field ? 1 : 0;
}

/** Aggregates of points in one pass (see {@link GpuAggregator}). */
export function aggregateGpuPoints(
  points: readonly GpuPoint[],
  options: { readonly fields?: readonly string[] } = {},
): GpuFieldAggregate[] {
  const aggregator = new GpuAggregator(options);
  aggregator.push(points);
  return aggregator.aggregates();
}

/** Facts the GPU series do not carry; each KPI that needs one is absent without it. */
export interface GpuKpiFacts {
  /** Facility power / IT power (≥ 1). */
  readonly pue?: number;
  /** The run's training throughput, tokens/s (from the step log). */
  readonly tokensPerSecond?: number;
  /** GPUs the run uses: coverage against the GPUs seen, and the per-GPU throughput. */
  readonly gpus?: number;
  /** The window the aggregates cover, seconds (a Prometheus query's end − start). */
  readonly windowSeconds?: number;
}

/** The utilisation signals, each as a ratio 0–1. */
export const UTILISATION_SIGNALS = [
  { signal: 'grEngineActive', field: GPU_KPI_FIELD.grEngineActive, scale: 1 },
  { signal: 'pipeTensorActive', field: GPU_KPI_FIELD.pipeTensorActive, scale: 1 },
  { signal: 'smActive', field: GPU_KPI_FIELD.smActive, scale: 1 },
  // GPU_UTIL is in % (default-counters.csv "GPU utilization (in %)"): / 100 to a ratio.
  { signal: 'gpuUtil', field: GPU_KPI_FIELD.gpuUtil, scale: 0.01 },
] as const;

/** One utilisation signal's name. */
export type UtilisationSignal = (typeof UTILISATION_SIGNALS)[number]['signal'];

/** Fleet utilisation of one signal. */
export interface SignalUtilisation {
  readonly signal: UtilisationSignal;
  readonly field: string;
  /** Mean of the per-GPU means, ratio 0–1. */
  readonly mean: number;
  /** Lowest and highest per-GPU mean. */
  readonly minGpuMean: number;
  readonly maxGpuMean: number;
  /** GPUs reporting it. */
  readonly gpus: number;
}

/** One GPU's KPIs. */
export interface GpuKpiRow {
  readonly gpuKey: string;
  readonly hostname?: string;
  readonly samples: number;
  readonly meanPowerW?: number;
  readonly peakPowerW?: number;
  /** Mean utilisation per signal present, ratio 0–1. */
  readonly utilisation: Partial<Record<UtilisationSignal, number>>;
  readonly meanTempC?: number;
  readonly maxTempC?: number;
  /** Share of clock-event samples with a slowing reason, 0–1. */
  readonly throttledShare?: number;
  readonly xidEvents: readonly GpuXidEvent[];
}

/** An aggregate left out of the KPIs, and why. */
export interface DroppedAggregate {
  readonly gpuKey: string;
  readonly field: string;
  readonly reason: string;
}

/** The GPU KPIs of a window. */
export interface GpuKpis {
  readonly counts: {
    readonly gpus: number;
    readonly hosts: number;
    readonly samples: number;
    /** `facts.gpus`, when given. */
    readonly gpusExpected?: number;
  };
  /** The window energy is taken over, seconds, and where it came from. */
  readonly window: { readonly seconds: number; readonly source: 'given' | 'observed' | 'none' };
  readonly utilisation: {
    /** The first present of GR_ENGINE_ACTIVE, SM_ACTIVE, GPU_UTIL. */
    readonly primary?: SignalUtilisation;
    /** PIPE_TENSOR_ACTIVE, the tensor-core proxy, when present. */
    readonly tensor?: SignalUtilisation;
    readonly signals: readonly SignalUtilisation[];
  };
  readonly power?: {
    /** GPUs reporting power. */
    readonly gpus: number;
    /** Σ per-GPU mean power, W. */
    readonly itMeanW: number;
    readonly meanPerGpuW: number;
    /** The highest single GPU sample, W. */
    readonly peakGpuW: number;
    readonly pue?: number;
    /** IT × PUE, W. */
    readonly facilityMeanW?: number;
    /** IT mean power × window, J (absent without a window). */
    readonly itEnergyJ?: number;
    readonly facilityEnergyJ?: number;
  };
  readonly tokens?: {
    readonly perSecond: number;
    readonly perSecondPerGpu: number;
    readonly perMWhIt?: number;
    readonly perMWhFacility?: number;
  };
  readonly throttle?: {
    /** GPUs reporting a clock-event bitmask. */
    readonly gpus: number;
    /** Mean of the per-GPU throttled shares, 0–1. */
    readonly share: number;
    readonly samples: number;
    readonly slowingSamples: number;
    /** GPUs with at least one slowing sample. */
    readonly gpusThrottled: number;
  };
  readonly xid: {
    readonly events: number;
    readonly gpus: number;
    /** Events per XID code. */
    readonly byCode: Readonly<Record<string, number>>;
  };
  readonly temperature?: { readonly gpus: number; readonly meanC: number; readonly maxC: number };
  readonly perGpu: readonly GpuKpiRow[];
  readonly dropped: readonly DroppedAggregate[];
}

function checkFacts(facts: GpuKpiFacts): void {
  const fail = (field: string, value: number, want: string) => {
    throw new TokenworksError('USAGE', `GPU KPI fact ${field} = ${value} is not valid: give ${want}`);
  };
  if (facts.pue !== undefined && !(Number.isFinite(facts.pue) && facts.pue >= 1 && facts.pue <= 10))
    fail('pue', facts.pue, 'a PUE from 1 to 10 (facility power / IT power)');
  if (facts.tokensPerSecond !== undefined && !(Number.isFinite(facts.tokensPerSecond) && facts.tokensPerSecond >= 0))
    fail('tokensPerSecond', facts.tokensPerSecond, 'a finite number of tokens/s, 0 or more');
  if (facts.gpus !== undefined && !(Number.isInteger(facts.gpus) && facts.gpus >= 1))
    fail('gpus', facts.gpus, 'a whole number of GPUs, 1 or more');
  if (facts.windowSeconds !== undefined && !(Number.isFinite(facts.windowSeconds) && facts.windowSeconds > 0))
    fail('windowSeconds', facts.windowSeconds, 'a window longer than 0 s');
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** The GPU KPIs of a window from its per-GPU per-field aggregates (see the module's definitions). */
export function gpuKpis(aggregates: readonly GpuFieldAggregate[], facts: GpuKpiFacts = {}): GpuKpis {
  checkFacts(facts);
  const dropped: DroppedAggregate[] = [];
  // One aggregate per GPU and field: merge duplicates (two producers or jobs of the same GPU).
  const merged = new Map<string, GpuFieldAggregate>();
  for (const aggregate of aggregates) {
    if (!GPU_KPI_FIELDS.includes(aggregate.field) || aggregate.count <= 0) continue;
    const key = `${aggregate.gpuKey}\u0000${aggregate.field}`;
    const known = merged.get(key);
    merged.set(key, known === undefined ? aggregate : mergeAggregates(known, aggregate));
  }
  const byGpu = new Map<string, Map<string, GpuFieldAggregate>>();
  const hostOf = new Map<string, string>();
  for (const aggregate of merged.values()) {
    if (![aggregate.sum, aggregate.min, aggregate.max].every(Number.isFinite)) {
      dropped.push({ gpuKey: aggregate.gpuKey, field: aggregate.field, reason: 'a sample is not a number (NaN/Inf)' });
      continue;
    }
    if (aggregate.max >= DCGM_BLANK_MIN) {
      dropped.push({
        gpuKey: aggregate.gpuKey,
        field: aggregate.field,
        reason: `value ${aggregate.max} is a DCGM blank sentinel (field not supported on this GPU)`,
      });
      continue;
    }
    let fields = byGpu.get(aggregate.gpuKey);
    if (fields === undefined) {
      fields = new Map();
      byGpu.set(aggregate.gpuKey, fields);
    }
    fields.set(aggregate.field, aggregate);
    if (aggregate.hostname !== undefined && !hostOf.has(aggregate.gpuKey))
      hostOf.set(aggregate.gpuKey, aggregate.hostname);
  }
  const gpuKeys = [...byGpu.keys()].sort();
  const meanOf = (a: GpuFieldAggregate) => a.sum / a.count; // sample mean = Σx / n

  const perGpu: GpuKpiRow[] = gpuKeys.map((gpuKey) => {
    const fields = byGpu.get(gpuKey) as Map<string, GpuFieldAggregate>;
    const power = fields.get(GPU_KPI_FIELD.power);
    const temp = fields.get(GPU_KPI_FIELD.gpuTemp);
    const throttle = THROTTLE_FIELDS.map((field) => fields.get(field)).find((a) => a !== undefined);
    const utilisation: Partial<Record<UtilisationSignal, number>> = {};
    for (const { signal, field, scale } of UTILISATION_SIGNALS) {
      const aggregate = fields.get(field);
      if (aggregate !== undefined) utilisation[signal] = meanOf(aggregate) * scale; // DCP ratio as is; % / 100
    }
    const hostname = hostOf.get(gpuKey);
    return {
      gpuKey,
      ...(hostname !== undefined && { hostname }),
      samples: [...fields.values()].reduce((total, a) => total + a.count, 0),
      ...(power !== undefined && { meanPowerW: meanOf(power), peakPowerW: power.max }),
      utilisation,
      ...(temp !== undefined && { meanTempC: meanOf(temp), maxTempC: temp.max }),
      // Throttled share = slowing samples / bitmask samples (samples evenly spaced: the time share).
      ...(throttle !== undefined && { throttledShare: (throttle.slowing ?? 0) / throttle.count }),
      xidEvents: fields.get(GPU_KPI_FIELD.xid)?.xidEvents ?? [],
    };
  });

  const signals: SignalUtilisation[] = [];
  for (const { signal, field } of UTILISATION_SIGNALS) {
    const means = perGpu.map((row) => row.utilisation[signal]).filter((v): v is number => v !== undefined);
    if (means.length === 0) continue;
    // Fleet utilisation = mean of the per-GPU means (each GPU weighs the same).
    signals.push({
      signal,
      field,
      mean: mean(means),
      minGpuMean: Math.min(...means),
      maxGpuMean: Math.max(...means),
      gpus: means.length,
    });
  }
  const signalOf = (name: UtilisationSignal) => signals.find((s) => s.signal === name);
  const primary = signalOf('grEngineActive') ?? signalOf('smActive') ?? signalOf('gpuUtil');
  const tensor = signalOf('pipeTensorActive');

  // The window: given, else the observed span of the power samples (last − first time stamp).
  const powerAggregates = gpuKeys
    .map((key) => byGpu.get(key)?.get(GPU_KPI_FIELD.power))
    .filter((a): a is GpuFieldAggregate => a !== undefined);
  const firsts = powerAggregates.map((a) => a.firstTime).filter((t): t is number => t !== undefined);
  const lasts = powerAggregates.map((a) => a.lastTime).filter((t): t is number => t !== undefined);
  const observedSpan = firsts.length > 0 && lasts.length > 0 ? Math.max(...lasts) - Math.min(...firsts) : 0;
  const window: GpuKpis['window'] =
    facts.windowSeconds !== undefined
      ? { seconds: facts.windowSeconds, source: 'given' }
      : observedSpan > 0
        ? { seconds: observedSpan, source: 'observed' }
        : { seconds: 0, source: 'none' };

  let power: GpuKpis['power'];
  const powerRows = perGpu.filter((row) => row.meanPowerW !== undefined);
  if (powerRows.length > 0) {
    const itMeanW = powerRows.reduce((total, row) => total + (row.meanPowerW as number), 0); // IT power = Σ GPU means
    const facilityMeanW = facts.pue === undefined ? undefined : itMeanW * facts.pue; // facility = IT × PUE (WP#49)
    const itEnergyJ = window.seconds > 0 ? itMeanW * window.seconds : undefined; // E = P̄ × t
    power = {
      gpus: powerRows.length,
      itMeanW,
      meanPerGpuW: itMeanW / powerRows.length,
      peakGpuW: Math.max(...powerRows.map((row) => row.peakPowerW as number)),
      ...(facts.pue !== undefined && { pue: facts.pue, facilityMeanW }),
      ...(itEnergyJ !== undefined && { itEnergyJ }),
      ...(itEnergyJ !== undefined && facts.pue !== undefined && { facilityEnergyJ: itEnergyJ * facts.pue }),
    };
  }

  let tokens: GpuKpis['tokens'];
  if (facts.tokensPerSecond !== undefined) {
    const gpus = facts.gpus ?? gpuKeys.length;
    // tokens/MWh = tokens/s ÷ W × 3.6e9 J/MWh
    const perMWh = (watts: number | undefined) =>
      watts !== undefined && watts > 0 ? (facts.tokensPerSecond as number) / (watts / 3.6e9) : undefined;
    const perMWhIt = perMWh(power?.itMeanW);
    const perMWhFacility = perMWh(power?.facilityMeanW);
    tokens = {
      perSecond: facts.tokensPerSecond,
      perSecondPerGpu: gpus > 0 ? facts.tokensPerSecond / gpus : 0,
      ...(perMWhIt !== undefined && { perMWhIt }),
      ...(perMWhFacility !== undefined && { perMWhFacility }),
    };
  }

  let throttle: GpuKpis['throttle'];
  const throttleAggregates = gpuKeys
    .map((key) => THROTTLE_FIELDS.map((field) => byGpu.get(key)?.get(field)).find((a) => a !== undefined))
    .filter((a): a is GpuFieldAggregate => a !== undefined);
  if (throttleAggregates.length > 0) {
    throttle = {
      gpus: throttleAggregates.length,
      // Fleet throttled share = mean over GPUs of slowing samples / samples.
      share: mean(throttleAggregates.map((a) => (a.slowing ?? 0) / a.count)),
      samples: throttleAggregates.reduce((total, a) => total + a.count, 0),
      slowingSamples: throttleAggregates.reduce((total, a) => total + (a.slowing ?? 0), 0),
      gpusThrottled: throttleAggregates.filter((a) => (a.slowing ?? 0) > 0).length,
    };
  }

  const byCode: Record<string, number> = {};
  let events = 0;
  for (const row of perGpu) {
    for (const event of row.xidEvents) {
      byCode[String(event.xid)] = (byCode[String(event.xid)] ?? 0) + 1;
      events += 1;
    }
  }

  let temperature: GpuKpis['temperature'];
  const tempRows = perGpu.filter((row) => row.meanTempC !== undefined);
  if (tempRows.length > 0) {
    temperature = {
      gpus: tempRows.length,
      meanC: mean(tempRows.map((row) => row.meanTempC as number)), // mean of per-GPU means
      maxC: Math.max(...tempRows.map((row) => row.maxTempC as number)),
    };
  }

  const hosts = new Set(gpuKeys.map((key) => hostOf.get(key)).filter((h) => h !== undefined));
  return {
    counts: {
      gpus: gpuKeys.length,
      hosts: hosts.size,
      samples: perGpu.reduce((total, row) => total + row.samples, 0),
      ...(facts.gpus !== undefined && { gpusExpected: facts.gpus }),
    },
    window,
    utilisation: { ...(primary && { primary }), ...(tensor && { tensor }), signals },
    ...(power !== undefined && { power }),
    ...(tokens !== undefined && { tokens }),
    ...(throttle !== undefined && { throttle }),
    xid: { events, gpus: perGpu.filter((row) => row.xidEvents.length > 0).length, byCode },
    ...(temperature !== undefined && { temperature }),
    perGpu,
    dropped,
  };
}
