/**
 * What `tokenworks observe` reads, gathered in one place: training logs (and Megatron CI golden files) and
 * dcgm-exporter scrape files or endpoints into a store (the embedded DuckDB one: a file that keeps them, or an
 * in-memory one), or the GPU aggregates a Prometheus computes in PromQL; then the run's step series and GPU
 * aggregates back out of it. A followed log keeps being read until the signal aborts or it stays idle.
 * @module
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TelemetryStore } from '../app/ports.js';
import { TokenworksError } from '../errors.js';
import { gpuPointsOf } from '../telemetry/dcgm.js';
import { GPU_KPI_FIELD, GPU_KPI_FIELDS, GpuAggregator, type GpuFieldAggregate } from '../telemetry/gpu-kpis.js';
import type { StepPoint } from '../telemetry/megatron-ci.js';
import {
  parseStragglerLine,
  STRAGGLER_HINT,
  type StragglerReport,
  type StragglerSummary,
  summariseStragglers,
} from '../telemetry/megatron-straggler.js';
import { toStepPoints } from '../telemetry/step-log.js';
import { escapeControls } from '../util/text.js';
import { scrapeDcgm } from './dcgm-scrape-source.js';
import { openDuckDbStore } from './duckdb-store.js';
import { ingestDcgmFiles, ingestLog } from './ingest.js';
import { FLEET_AUTO_GPUS, type FleetKpis, promFleetGpuCount, promFleetKpis } from './prometheus-fleet.js';
import {
  metricNamesOf,
  type PromResponseInfo,
  promGpuAggregates,
  promQueryRange,
  promString,
  selectorMatchers,
} from './prometheus-source.js';
import { MAX_MALFORMED_KEPT, type MalformedAt, readGoldenFile } from './step-files.js';

/** Mean board power per GPU at one time. */
export interface PowerPoint {
  /** Unix seconds. */
  readonly time: number;
  readonly meanW: number;
}

/** Most distinct sample times the power chart keeps from a store (a scrape every 15 s for 52 days). */
const MAX_POWER_TIMES = 300_000;

/** Where the GPU samples come from. */
export type GpuInput =
  | { readonly kind: 'none' }
  | { readonly kind: 'dcgm'; readonly sources: readonly string[] }
  | {
      readonly kind: 'prometheus';
      readonly url: string;
      readonly match?: string;
      /** Unix seconds; default the logs' first and last time stamps. */
      readonly from?: number;
      readonly to?: number;
      /** Fleet mode (KPIs aggregated per host by the server, prometheus-fleet.ts): on, off, or (undefined) above {@link FLEET_AUTO_GPUS} GPUs. */
      readonly fleet?: boolean;
    };

/** What to read. */
export interface ObserveSources {
  readonly run: string;
  readonly logs: readonly string[];
  readonly gpu: GpuInput;
  /** A DuckDB file that keeps what was read (reopening resumes); default in memory. */
  readonly store?: string;
}

/** What ingesting the sources gave beyond the store: golden-file steps and what was left out. */
export interface Ingested {
  readonly golden: StepPoint[];
  readonly skippedGpuSamples: number;
  /** The GPU samples left out, by metric name. */
  readonly skippedByName: Readonly<Record<string, number>>;
  readonly ignoredLines: number;
}

/** What was read. */
export interface ObserveInputs {
  readonly steps: StepPoint[];
  readonly gpu?: {
    readonly aggregates: GpuFieldAggregate[];
    readonly windowSeconds?: number;
    readonly source: string;
    /** Mean board power per GPU over time, for the chart. */
    readonly powerSeries: readonly PowerPoint[];
  };
  /** Megatron's straggler-detector lines across the logs, summarised (absent when the logs have none). */
  readonly stragglers?: StragglerSummary;
  /** `--prometheus` in fleet mode: the per-host and per-job KPIs, the per-host straggler signal, what crossed the wire. */
  readonly fleet?: Omit<FleetKpis, 'aggregates' | 'groups'>;
  /** `--prometheus`: the queries, bytes and time of the read (both modes). */
  readonly transfer?: {
    readonly mode: 'fleet' | 'per-gpu';
    readonly queries: number;
    readonly bytes: number;
    readonly ms: number;
  };
  readonly malformed: MalformedAt[];
  readonly malformedCount: number;
  readonly ignoredLines: number;
  /** dcgm samples not stored: another exporter's metrics, or naming no GPU. */
  readonly skippedGpuSamples: number;
  readonly notes: string[];
}

/** Most straggler lines read from a run's logs (one per log interval: 54 days of 10 s steps at interval 10). */
export const MAX_STRAGGLER_LINES = 500_000;

/** The straggler-detector lines of the logs, streamed line by line (a cheap test before each parse). */
export async function readStragglerLines(paths: readonly string[]): Promise<StragglerReport[]> {
  const reports: StragglerReport[] = [];
  for (const path of paths) {
    if (await readGoldenFile(path)) continue;
    const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
    let line = 0;
    for await (const text of lines) {
      line += 1;
      if (!text.includes(STRAGGLER_HINT)) continue;
      const report = parseStragglerLine(text, line);
      if (report) reports.push(report);
      if (reports.length >= MAX_STRAGGLER_LINES) return reports;
    }
  }
  return reports;
}

/** The store `observe` reads into: the file given, or an in-memory one. */
export function openObserveStore(path: string | undefined): Promise<TelemetryStore> {
  return openDuckDbStore(path ?? ':memory:');
}

const isUrl = (source: string) => /^https?:\/\//i.test(source);

/** Most scrape files one folder given to `--dcgm` may hold. */
export const MAX_DCGM_FILES = 100_000;

/**
 * The dcgm sources with each folder replaced by its `.prom` and `.txt` files (sorted by name); URLs and files as
 * given. A folder with none is an error naming it.
 */
export async function expandDcgmSources(sources: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const source of sources) {
    if (isUrl(source)) {
      out.push(source);
      continue;
    }
    const info = await stat(source).catch(() => undefined);
    if (!info?.isDirectory()) {
      out.push(source);
      continue;
    }
    const files = (await readdir(source)).filter((name) => /\.(prom|txt|metrics)$/i.test(name)).sort();
    if (files.length === 0) {
      throw new TokenworksError('FILE_NOT_FOUND', `--dcgm ${source} is a folder without .prom, .txt or .metrics files`);
    }
    if (out.length + files.length > MAX_DCGM_FILES) {
      throw new TokenworksError('USAGE', `--dcgm names more than ${MAX_DCGM_FILES} scrape files`);
    }
    for (const name of files) out.push(join(source, name));
  }
  return out;
}

/** Ingests the logs (following them while `follow.signal` lives) and the GPU sources into `store`. */
export async function ingestObserveSources(
  store: TelemetryStore,
  sources: ObserveSources,
  options: {
    readonly follow?: boolean;
    readonly signal?: AbortSignal;
    readonly pollMs?: number;
    /** Milliseconds between scrapes of an endpoint while following (default 15,000). */
    readonly scrapeIntervalMs?: number;
  } = {},
): Promise<Ingested> {
  const golden: StepPoint[] = [];
  let ignoredLines = 0;
  const follows: Promise<unknown>[] = [];
  for (const [index, log] of sources.logs.entries()) {
    const read = await readGoldenFile(log);
    if (read) {
      for (const p of read) golden.push(p);
      continue;
    }
    // A run's segments are read to their end in order; only the last one, the segment still being written, is
    // followed (following several at once would interleave their steps in the store).
    const followThis = options.follow === true && index === sources.logs.length - 1;
    const ingest = ingestLog(store, sources.run, log, {
      ...(followThis && { follow: true }),
      ...(options.signal && { signal: options.signal }),
      ...(options.pollMs !== undefined && { pollMs: options.pollMs }),
    }).then((counts) => {
      ignoredLines += counts.ignored;
    });
    if (followThis) follows.push(ingest);
    else await ingest;
  }
  let skippedGpuSamples = 0;
  const skippedByName = new Map<string, number>();
  const skip = (name: string, count = 1) => skippedByName.set(name, (skippedByName.get(name) ?? 0) + count);
  if (sources.gpu.kind === 'dcgm') {
    const files = sources.gpu.sources.filter((s) => !isUrl(s));
    if (files.length > 0) {
      const counts = await ingestDcgmFiles(store, sources.run, files);
      skippedGpuSamples += counts.skipped;
      for (const [name, count] of Object.entries(counts.skippedByName)) skip(name, count);
    }
    for (const url of sources.gpu.sources.filter(isUrl)) {
      // Once, or every `scrapeIntervalMs` while following; a failed scrape of a followed endpoint is skipped (an
      // exporter restarting must not end the follow), a failed single scrape is an error.
      const scraping = (async () => {
        let scrapes = ((await store.cursor(sources.run, `scrape:${url}`))?.offset ?? 0) + 1;
        for await (const scrape of scrapeDcgm(url, {
          ...(options.follow ? { intervalMs: options.scrapeIntervalMs ?? 15_000 } : { scrapes: 1 }),
          ...(options.signal && { signal: options.signal }),
        })) {
          if (!scrape.ok) {
            if (options.follow) continue;
            throw new TokenworksError('FILE_UNREADABLE', `cannot scrape ${url}: ${scrape.error}`);
          }
          skippedGpuSamples += scrape.scrape.foreign.length + scrape.scrape.unattributed.length;
          for (const sample of scrape.scrape.foreign) skip(sample.name);
          for (const sample of scrape.scrape.unattributed) skip(sample.sourceName);
          const points = gpuPointsOf(scrape.scrape, scrape.at / 1000);
          await store.appendGpuPoints(sources.run, `scrape:${url}`, points, { offset: scrapes, nextLine: scrapes + 1 });
          scrapes += 1;
        }
      })();
      if (options.follow) follows.push(scraping);
      else await scraping;
    }
  }
  await Promise.all(follows);
  return { golden, skippedGpuSamples, skippedByName: Object.fromEntries(skippedByName), ignoredLines };
}

/** The run's steps and GPU aggregates out of `store` (or out of Prometheus). */
export async function readObserveInputs(
  store: TelemetryStore,
  sources: ObserveSources,
  ingested: Ingested,
  options: { readonly signal?: AbortSignal } = {},
): Promise<ObserveInputs> {
  const notes: string[] = [];
  const steps = [...ingested.golden, ...toStepPoints(await store.steps(sources.run))];
  // The first malformed lines for the report, and how many there are, without loading them all.
  const malformedCount = await store.countEvents(sources.run, 'malformed');
  const malformedEvents = await store.events(sources.run, { kind: 'malformed', limit: MAX_MALFORMED_KEPT });
  const malformed: MalformedAt[] = malformedEvents.map((e) => {
    // ingest.ts writes `path:line: reason: text`.
    const match = /^(.*?):(\d+): (.*)$/s.exec(e.detail);
    return match
      ? { file: match[1] as string, line: Number(match[2]), reason: match[3] as string, text: '' }
      : { file: '', line: 0, reason: e.detail, text: '' };
  });
  let gpu: ObserveInputs['gpu'];
  let fleet: ObserveInputs['fleet'];
  let transfer: ObserveInputs['transfer'];
  if (sources.gpu.kind === 'dcgm') {
    const aggregator = new GpuAggregator({ fields: GPU_KPI_FIELDS });
    // Mean power per GPU at each sample time (a scrape's samples share it), for the chart.
    // Past MAX_POWER_TIMES distinct times, the times are bucketed ever coarser (the width doubles and the buckets
    // so far are merged), so memory stays bounded whatever the run's length.
    let power = new Map<number, { sum: number; count: number }>();
    let width = 0;
    const bucket = (time: number) => (width === 0 ? time : Math.floor(time / width) * width);
    for await (const batch of store.gpuPoints(sources.run, { fields: GPU_KPI_FIELDS })) {
      aggregator.push(batch);
      for (const point of batch) {
        if (point.field !== GPU_KPI_FIELD.power || !Number.isFinite(point.value)) continue;
        const key = bucket(point.time);
        const at = power.get(key) ?? { sum: 0, count: 0 };
        at.sum += point.value;
        at.count += 1;
        power.set(key, at);
        if (power.size > MAX_POWER_TIMES) {
          let first = Number.POSITIVE_INFINITY;
          let last = Number.NEGATIVE_INFINITY;
          for (const time of power.keys()) {
            first = Math.min(first, time);
            last = Math.max(last, time);
          }
          width = width === 0 ? Math.max(1, (last - first) / (MAX_POWER_TIMES / 4)) : 2 * width;
          const merged = new Map<number, { sum: number; count: number }>();
          for (const [time, v] of power) {
            const m = merged.get(bucket(time)) ?? { sum: 0, count: 0 };
            m.sum += v.sum;
            m.count += v.count;
            merged.set(bucket(time), m);
          }
          power = merged;
        }
      }
    }
    const powerSeries = [...power].map(([time, { sum, count }]) => ({ time, meanW: sum / count }));
    gpu = { aggregates: aggregator.aggregates(), source: `${sources.gpu.sources.length} dcgm source(s)`, powerSeries };
  } else if (sources.gpu.kind === 'prometheus') {
    let first: number | undefined;
    let last: number | undefined;
    for (const p of steps) {
      if (p.time === undefined) continue;
      first = Math.min(first ?? p.time, p.time);
      last = Math.max(last ?? p.time, p.time);
    }
    const from = sources.gpu.from ?? first;
    const to = sources.gpu.to ?? last;
    if (from === undefined || to === undefined) {
      throw new TokenworksError(
        'USAGE',
        '--prometheus needs a window: give --from and --to (ISO 8601 or Unix seconds), or a log with time stamps',
      );
    }
    if (!(to > from)) {
      throw new TokenworksError(
        'USAGE',
        `the --prometheus window must end after it starts: from ${new Date(from * 1000).toISOString()} to ${new Date(to * 1000).toISOString()}`,
      );
    }
    let queries = 0;
    let bytes = 0;
    const began = performance.now();
    const onResponse = (info: PromResponseInfo) => {
      queries += 1;
      bytes += info.bytes;
    };
    const window = {
      start: from,
      end: to,
      ...(sources.gpu.match !== undefined && { match: sources.gpu.match }),
      ...(options.signal && { signal: options.signal }),
      onResponse,
    };
    // Fleet mode when asked, or by itself above FLEET_AUTO_GPUS GPUs (one count from the server).
    const gpusSeen = sources.gpu.fleet === undefined ? await promFleetGpuCount(sources.gpu.url, window) : undefined;
    const fleetMode = sources.gpu.fleet ?? (gpusSeen as number) > FLEET_AUTO_GPUS;
    let aggregates: GpuFieldAggregate[];
    if (fleetMode) {
      const { aggregates: shares, groups: _groups, ...result } = await promFleetKpis(sources.gpu.url, window);
      aggregates = [...shares];
      fleet = result;
      notes.push(
        `fleet mode${gpusSeen === undefined ? ' (--fleet)' : ` (${gpusSeen} GPUs > ${FLEET_AUTO_GPUS})`}: GPU KPIs aggregated per host by the server, ${result.hosts.length} hosts, ${result.jobs.length} jobs; per-GPU rows are host shares (prometheus-fleet.ts)`,
        ...result.notes,
      );
      if (result.stragglers.flagged.length > 0) {
        notes.push(
          `per-host SM clock: ${result.stragglers.flagged.length} host(s) below the fleet's typical host: ${result.stragglers.flagged.slice(0, 10).join(', ')}`,
        );
      }
    } else {
      aggregates = await promGpuAggregates(sources.gpu.url, window);
    }
    // The mean board power per GPU over time, computed by the server: one query over every name power goes by.
    const names = metricNamesOf(GPU_KPI_FIELD.power).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    const matchers = selectorMatchers(sources.gpu.match);
    const query = `avg({__name__=~${promString(names.join('|'))}${matchers === '' ? '' : `, ${matchers}`}})`;
    const stepSeconds = Math.max(1, Math.ceil((to - from) / 1000));
    const series = await promQueryRange(sources.gpu.url, query, {
      start: from,
      end: to,
      stepSeconds,
      ...(options.signal && { signal: options.signal }),
      onResponse,
    });
    transfer = { mode: fleetMode ? 'fleet' : 'per-gpu', queries, bytes, ms: performance.now() - began };
    const powerSeries = (series[0]?.points ?? [])
      .filter((p) => Number.isFinite(p.value))
      .map((p) => ({ time: p.time, meanW: p.value }));
    gpu = { aggregates, windowSeconds: to - from, source: `Prometheus ${sources.gpu.url}`, powerSeries };
    notes.push(
      `GPU KPIs computed by ${sources.gpu.url} in PromQL over ${new Date(from * 1000).toISOString()} – ${new Date(to * 1000).toISOString()}: ${queries} queries, ${bytes.toLocaleString('en-US')} bytes, ${Math.round(transfer.ms)} ms`,
    );
  }
  if (ingested.skippedGpuSamples > 0) {
    const names = Object.entries(ingested.skippedByName).sort((a, b) => b[1] - a[1]);
    const shown = names
      .slice(0, 8)
      .map(([name, count]) => `${escapeControls(name).slice(0, 80)} × ${count}`)
      .join(', ');
    notes.push(
      `${ingested.skippedGpuSamples} GPU samples were not dcgm-exporter's or named no GPU, and were left out: ${shown}${names.length > 8 ? `, and ${names.length - 8} more metrics` : ''}`,
    );
  }
  const stragglers = summariseStragglers(await readStragglerLines(sources.logs));
  return {
    steps,
    ...(gpu && { gpu }),
    ...(stragglers && { stragglers }),
    ...(fleet && { fleet }),
    ...(transfer && { transfer }),
    malformed,
    malformedCount,
    ignoredLines: ingested.ignoredLines,
    skippedGpuSamples: ingested.skippedGpuSamples,
    notes,
  };
}
