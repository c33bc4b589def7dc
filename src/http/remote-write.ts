/**
 * `POST /api/v1/write`: a Prometheus remote-write receiver (remote write 1.0: a protobuf `prometheus.WriteRequest`,
 * Snappy block-compressed), so that a user's Prometheus or vmagent forwards a job's series into the server's store.
 * dcgm-exporter series become GPU points through the ingest's own label normalisation (`telemetry/dcgm.ts`: one
 * `DCGM_FI_*` vocabulary, one GPU key whatever the exporter version); every other series is counted and dropped
 * (no Megatron or PyTorch exporter has a step-metric convention to map). The run is `?run=NAME`, else each
 * series' `job` label. Idempotent per series: a series' newest stored time stamp is its source's cursor in the
 * store (`remote-write:<field>:<gpu>`, committed with the points), so a batch Prometheus sends again after a
 * failure, or an older sample, is not stored twice. Answers 204 (what Prometheus expects), 400 with a problem for
 * a body that does not decode (Prometheus does not retry a 4xx), 415 for remote write 2.0 or another encoding.
 *
 * The messages, from prometheus/prometheus `prompb/types.proto` (Label, Sample, TimeSeries) and `prompb/remote.proto`
 * (WriteRequest), field numbers as there; exemplars (3), native histograms (4) and metadata (3 of WriteRequest)
 * are skipped as unknown fields.
 * @module
 */
import { createHash } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { Counter, type Registry } from 'prom-client';
import type { Type } from 'protobufjs/light.js';
import type { GpuPoint, SourceCursor, TelemetryStore } from '../app/ports.js';
import type { DuckDbTelemetryStore, GpuPointColumns, GpuSeriesKey } from '../node/duckdb-store.js';
import { dcgmFieldName, normaliseDcgmSample } from '../telemetry/dcgm.js';
import type { ObservedRuns } from './observe.js';
import { HttpProblem } from './problem.js';

/** The remote write 1.0 messages as a protobufjs JSON descriptor (prompb/types.proto and prompb/remote.proto). */
const PROMPB = {
  nested: {
    prometheus: {
      nested: {
        WriteRequest: {
          fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 } },
          reserved: [[2, 2]],
        },
        TimeSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
          },
        },
        Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
      },
    },
  },
};

/** The codec, loaded on the first write (protobufjs and snappyjs take tens of ms to load: not at start-up). */
interface Codec {
  readonly writeRequest: Type;
  readonly compress: (data: Uint8Array) => Uint8Array;
  readonly uncompress: (data: Uint8Array, maxLength?: number) => Uint8Array;
}

let codec: Promise<Codec> | undefined;

/** The protobuf type of `WriteRequest` and Snappy, loaded once. */
function codecOf(): Promise<Codec> {
  codec ??= Promise.all([import('protobufjs/light.js'), import('snappyjs')]).then(([protobuf, snappy]) => ({
    writeRequest: protobuf.default.Root.fromJSON(PROMPB).lookupType('prometheus.WriteRequest'),
    compress: snappy.compress,
    uncompress: snappy.uncompress,
  }));
  return codec;
}

/** Largest decompressed body, bytes: 32 MiB (a Snappy header may declare far more than it carries). */
export const MAX_UNCOMPRESSED_BYTES = 32 * 1024 * 1024;

/** One series of a write request: its labels (the metric name as `__name__`) and samples (Unix ms). */
export interface WriteSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly samples: readonly { readonly value: number; readonly timestamp: number }[];
}

/** A body that is not a Snappy-compressed `WriteRequest`. */
export class RemoteWriteError extends Error {
  override readonly name = 'RemoteWriteError';
  /** The body would decompress to more than the limit. */
  readonly tooLarge: boolean;

  constructor(message: string, tooLarge = false) {
    super(message);
    this.tooLarge = tooLarge;
  }
}

/** A protobufjs int64: a number, or a `Long` when it is past 2^53 or `long` is installed. */
type Int64 = number | { toNumber(): number };

/** Decodes a Snappy block-compressed `prometheus.WriteRequest`; a {@link RemoteWriteError} when it is not one. */
export async function decodeWriteRequest(
  body: Uint8Array,
  maxBytes: number = MAX_UNCOMPRESSED_BYTES,
): Promise<WriteSeries[]> {
  const { writeRequest, uncompress } = await codecOf();
  let raw: Uint8Array;
  try {
    raw = uncompress(body, maxBytes);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/too big/.test(message)) {
      throw new RemoteWriteError(
        `the body would decompress to more than ${maxBytes.toLocaleString('en-US')} bytes`,
        true,
      );
    }
    throw new RemoteWriteError(`the body is not Snappy block-compressed (${message})`);
  }
  let decoded: {
    timeseries?: { labels?: { name?: string; value?: string }[]; samples?: { value?: number; timestamp?: Int64 }[] }[];
  };
  try {
    decoded = writeRequest.decode(raw) as typeof decoded;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new RemoteWriteError(`the body is not a prometheus.WriteRequest (${message})`);
  }
  return (decoded.timeseries ?? []).map((series) => {
    const labels: Record<string, string> = {};
    for (const label of series.labels ?? []) labels[label.name ?? ''] = label.value ?? '';
    return {
      labels,
      samples: (series.samples ?? []).map((s) => ({
        value: s.value ?? 0,
        timestamp: typeof s.timestamp === 'number' ? s.timestamp : (s.timestamp?.toNumber() ?? 0),
      })),
    };
  });
}

/** Encodes series as a Snappy block-compressed `WriteRequest` (what Prometheus sends; for tests and tools). */
export async function encodeWriteRequest(series: readonly WriteSeries[]): Promise<Uint8Array> {
  const { writeRequest, compress } = await codecOf();
  const message = writeRequest.fromObject({
    timeseries: series.map((s) => ({
      labels: Object.entries(s.labels)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, value]) => ({ name, value })),
      samples: s.samples,
    })),
  });
  return compress(writeRequest.encode(message).finish());
}

/** A run name from a label value: the characters a run name takes, at most 128 (`observe.ts`'s rule). */
function runNameOf(value: string): string {
  const name = value.replace(/[^A-Za-z0-9._:@-]/g, '_').slice(0, 128);
  return /^[A-Za-z0-9]/.test(name) ? name : `r${name}`.slice(0, 128);
}

/** What one write did with its samples. */
export interface WriteCounts {
  /** GPU points appended to the store. */
  stored: number;
  /** Samples at or before their series' newest stored time (sent again, or out of order). */
  duplicate: number;
  /** Samples of series that are not dcgm-exporter's. */
  foreign: number;
  /** dcgm-exporter samples naming no GPU. */
  unattributed: number;
  /** Staleness markers and other NaN values. */
  stale: number;
}

/** The GPU points of one run and one series, in time order. */
interface SeriesPoints {
  readonly key: GpuSeriesKey;
  readonly source: string;
  readonly points: { time: number; value: number }[];
}

/** The store source of a series: readable when short, a digest when its name would pass the store's 200. */
function sourceOf(key: GpuSeriesKey): string {
  const name = `remote-write:${key.field}:${key.gpuKey}`;
  if (name.length <= 200) return name;
  return `remote-write:${createHash('sha256')
    .update(`${key.field}\0${key.gpuKey}\0${key.hostname ?? ''}`)
    .digest('hex')
    .slice(0, 32)}`;
}

/**
 * Receives write requests into the store: maps the series, drops what each series already holds, and appends the
 * rest with every series' cursor in one transaction per run. Writes are serialised (Prometheus sends from several
 * shards at once; a series' newest time must be read and moved by one write at a time).
 */
export class RemoteWriteReceiver {
  readonly totals: WriteCounts = { stored: 0, duplicate: 0, foreign: 0, unattributed: 0, stale: 0 };
  readonly #runs: ObservedRuns;
  /**
   * Each series' cursor by run and source, read from the store on first sight: `offset` is its newest stored time
   * stamp (Unix ms), `nextLine` one more than the samples stored.
   */
  readonly #cursors = new Map<string, Map<string, SourceCursor>>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(runs: ObservedRuns) {
    this.#runs = runs;
  }

  /** Stores the series under `run` (each series' `job` label when undefined); the counts of what it did. */
  write(series: readonly WriteSeries[], run: string | undefined): Promise<WriteCounts> {
    const next = this.#queue.then(() => this.#write(series, run));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #write(series: readonly WriteSeries[], fixedRun: string | undefined): Promise<WriteCounts> {
    const counts: WriteCounts = { stored: 0, duplicate: 0, foreign: 0, unattributed: 0, stale: 0 };
    const byRun = new Map<string, Map<string, SeriesPoints>>();
    for (const { labels, samples } of series) {
      const { __name__: name = '', ...rest } = labels;
      const field = dcgmFieldName(name);
      if (field === undefined) {
        counts.foreign += samples.length;
        continue;
      }
      const dcgm = normaliseDcgmSample({ name, labels: rest, value: 0, line: 0 }, field);
      if (dcgm.gpuKey === undefined) {
        counts.unattributed += samples.length;
        continue;
      }
      const run = fixedRun ?? runNameOf(rest.job ?? 'remote-write');
      const key: GpuSeriesKey = { gpuKey: dcgm.gpuKey, hostname: dcgm.gpu.hostname, field };
      const source = sourceOf(key);
      const ofRun = byRun.get(run) ?? new Map<string, SeriesPoints>();
      byRun.set(run, ofRun);
      const entry = ofRun.get(source) ?? { key, source, points: [] };
      ofRun.set(source, entry);
      for (const sample of samples) {
        if (Number.isNaN(sample.value)) counts.stale += 1;
        else entry.points.push({ time: sample.timestamp, value: sample.value });
      }
    }
    const store = await this.#runs.store();
    for (const [run, ofRun] of byRun) {
      const cursors = this.#cursors.get(run) ?? new Map<string, SourceCursor>();
      this.#cursors.set(run, cursors);
      const kept: { entry: SeriesPoints; points: { time: number; value: number }[]; cursor: SourceCursor }[] = [];
      for (const entry of ofRun.values()) {
        let cursor = cursors.get(entry.source);
        if (cursor === undefined) {
          cursor = (await store.cursor(run, entry.source)) ?? { offset: -1, nextLine: 1 };
          cursors.set(entry.source, cursor);
        }
        entry.points.sort((a, b) => a.time - b.time);
        const points: { time: number; value: number }[] = [];
        let at = cursor.offset;
        for (const p of entry.points) {
          if (p.time > at) {
            points.push(p);
            at = p.time;
          } else counts.duplicate += 1;
        }
        if (points.length === 0) continue;
        kept.push({ entry, points, cursor: { offset: at, nextLine: cursor.nextLine + points.length } });
      }
      if (kept.length === 0) continue;
      await append(store, run, kept);
      for (const { entry, points, cursor } of kept) {
        cursors.set(entry.source, cursor);
        counts.stored += points.length;
      }
    }
    for (const k of Object.keys(counts) as (keyof WriteCounts)[]) this.totals[k] += counts[k];
    return counts;
  }
}

/** Appends the kept points of every series of `run` with their cursors: one transaction where the store allows. */
async function append(
  store: TelemetryStore,
  run: string,
  kept: readonly {
    entry: SeriesPoints;
    points: readonly { time: number; value: number }[];
    cursor: SourceCursor;
  }[],
): Promise<void> {
  // The DuckDB store's batch append (duckdb-store.ts `takesGpuPointColumns`, not imported: that loads DuckDB).
  if (typeof (store as Partial<DuckDbTelemetryStore>).appendGpuBatch === 'function') {
    const batchStore = store as DuckDbTelemetryStore;
    const length = kept.reduce((sum, k) => sum + k.points.length, 0);
    const columns: GpuPointColumns = {
      length,
      series: kept.map((k) => k.entry.key),
      seriesIndex: new Int32Array(length),
      time: new Float64Array(length),
      value: new Float64Array(length),
    };
    let i = 0;
    for (const [index, { points }] of kept.entries()) {
      for (const p of points) {
        columns.seriesIndex[i] = index;
        columns.time[i] = p.time / 1000;
        columns.value[i] = p.value;
        i += 1;
      }
    }
    await batchStore.appendGpuBatch(run, {
      columns,
      sources: kept.map((k) => ({ source: k.entry.source, cursor: k.cursor })),
    });
    return;
  }
  for (const { entry, points, cursor } of kept) {
    const { key } = entry;
    const gpuPoints: GpuPoint[] = points.map((p) => ({
      time: p.time / 1000,
      gpuKey: key.gpuKey,
      ...(key.hostname !== undefined && { hostname: key.hostname }),
      field: key.field,
      value: p.value,
    }));
    await store.appendGpuPoints(run, entry.source, gpuPoints, cursor);
  }
}

/** Registers `POST /api/v1/write` on `app`, behind the body limit `limit`, counting samples in `registry`. */
export function registerRemoteWrite(
  app: OpenAPIHono,
  options: { readonly observed: ObservedRuns; readonly limit: MiddlewareHandler; readonly registry?: Registry },
): RemoteWriteReceiver {
  const receiver = new RemoteWriteReceiver(options.observed);
  const samples =
    options.registry &&
    new Counter({
      name: 'tokenworks_remote_write_samples_total',
      help: 'Remote-write samples received, by what became of them (stored, duplicate, foreign, unattributed, stale)',
      labelNames: ['outcome'] as const,
      registers: [options.registry],
    });
  for (const outcome of Object.keys(receiver.totals)) samples?.inc({ outcome }, 0);
  app.post('/api/v1/write', options.limit, async (c) => {
    const query = c.req.query();
    const unknown = Object.keys(query).filter((key) => key !== 'run');
    const run = query.run;
    const issues = [
      ...unknown.map((key) => ({
        code: 'unrecognized_keys',
        path: `query.${key}`,
        message: 'unknown parameter; valid: run',
      })),
      ...(run !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/.test(run)
        ? [
            {
              code: 'invalid_string',
              path: 'query.run',
              message: 'a run name of letters, digits and . _ : @ -, at most 128 characters',
            },
          ]
        : []),
    ];
    if (issues.length > 0) {
      throw new HttpProblem('QUERY_INVALID', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
    }
    const type = (c.req.header('content-type') ?? '').toLowerCase();
    const [media, ...parameters] = type.split(';').map((part) => part.trim());
    const proto = parameters.find((p) => p.startsWith('proto='))?.slice('proto='.length);
    if (media !== 'application/x-protobuf' || (proto !== undefined && proto !== 'prometheus.writerequest')) {
      throw new HttpProblem(
        'UNSUPPORTED_MEDIA_TYPE',
        `send remote write 1.0: application/x-protobuf (prometheus.WriteRequest)${type ? `, not ${type.slice(0, 100)}` : ''}`,
      );
    }
    const encoding = (c.req.header('content-encoding') ?? '').trim().toLowerCase();
    if (encoding !== 'snappy') {
      throw new HttpProblem(
        'UNSUPPORTED_MEDIA_TYPE',
        `send the body Snappy block-compressed with Content-Encoding: snappy${encoding ? `, not ${encoding.slice(0, 50)}` : ''}`,
      );
    }
    const body = new Uint8Array(await c.req.arrayBuffer());
    let series: WriteSeries[];
    try {
      series = await decodeWriteRequest(body);
    } catch (error) {
      if (error instanceof RemoteWriteError && error.tooLarge) throw new HttpProblem('TOO_LARGE', error.message);
      // 400, so that Prometheus drops the batch rather than retrying it.
      if (error instanceof RemoteWriteError) throw new HttpProblem('BODY_INVALID', error.message);
      throw error;
    }
    const counts = await receiver.write(series, run);
    for (const [outcome, count] of Object.entries(counts)) if (count > 0) samples?.inc({ outcome }, count);
    return c.body(null, 204);
  });
  return receiver;
}
