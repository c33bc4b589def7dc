/**
 * The embedded, durable {@link TelemetryStore}: one DuckDB database file (`@duckdb/node-api`), or `:memory:`.
 *
 * Tables (one row per stored thing; `run` and `source` on every row):
 * - `steps`: one training step sample per row, in append order (`seq`), every typed {@link StepSample} field as a
 *   column (`time` is the time stamp in Unix seconds, from `stampSeconds`, NULL when the line printed none) and the
 *   line's numeric fields as JSON text (`fields`; NaN and ±Infinity written as the strings "NaN", "Infinity",
 *   "-Infinity", which JSON cannot hold);
 * - `gpu_points` (a view): `run, time, gpu_key, hostname, field, value`, joined from `gpu_series` (one row per run,
 *   GPU, host and `DCGM_FI_*` field) and `gpu_samples` (`series, time, value`). Storing the strings once per series
 *   rather than once per sample is what keeps the ingest of dcgm scrapes over 1M samples/s (bench/observe.mjs): a
 *   sample row is 20 bytes of numbers, with no string crossing from JavaScript into DuckDB per sample;
 * - `events`: `run, source, seq, time, kind, gpu_key, detail`;
 * - `cursors`: `run, source, offset, next_line`, one row per source, where it resumes.
 * Every append writes its rows and upserts its source's cursor inside one `BEGIN … COMMIT` (rolled back on any
 * error), so a store reopened after a crash (even `kill -9`) holds exactly the committed batches and their cursors:
 * a source resumed from its cursor reads nothing twice and loses nothing committed. DuckDB lets one process hold a
 * database file for writing; a second process gets a {@link TokenworksError} naming the file and the fix.
 * @module
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  BIGINT,
  DOUBLE,
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  INTEGER,
  VARCHAR,
} from '@duckdb/node-api';
import type { ExportedTable, GpuPoint, RunEvent, SourceCursor, StoreCounts, TelemetryStore } from '../app/ports.js';
import { TokenworksError } from '../errors.js';
import { type StepLogFormat, type StepSample, stampSeconds } from '../telemetry/step-log.js';

/** Longest run or source name a store takes (a name is a label in reports, not a document). */
export const MAX_NAME_LENGTH = 200;

/**
 * GPU points per batch {@link TelemetryStore.gpuPoints} yields: 65,536 points of five fields are a few MiB, so
 * reading a run of any length holds about that much.
 */
export const GPU_POINT_BATCH = 65_536;

/** Rows per DuckDB data chunk: DuckDB's `STANDARD_VECTOR_SIZE` (2,048), the most a chunk may hold. */
const CHUNK_ROWS = 2048;

/** Options of {@link openDuckDbStore}. */
export interface DuckDbStoreOptions {
  /** DuckDB worker threads (default: DuckDB's, one per core). */
  readonly threads?: number;
  /** DuckDB's memory limit, e.g. `'512MB'` (default: DuckDB's, 80% of RAM); beyond it DuckDB spills to disk. */
  readonly memoryLimit?: string;
}

/** Steps columns in table order, after `run, source, seq`; each reads its value off a sample. */
const STEP_COLUMNS: readonly (readonly [
  string,
  'DOUBLE' | 'VARCHAR',
  (s: StepSample) => number | string | undefined,
])[] = [
  ['line', 'DOUBLE', (s) => s.line],
  ['format', 'VARCHAR', (s) => s.format],
  ['step', 'DOUBLE', (s) => s.step],
  ['iteration_seconds', 'DOUBLE', (s) => s.iterationSeconds],
  ['loss', 'DOUBLE', (s) => s.loss],
  ['time', 'DOUBLE', (s) => stampSeconds(s.timestamp)],
  ['timestamp', 'VARCHAR', (s) => s.timestamp],
  ['consumed_samples', 'DOUBLE', (s) => s.consumedSamples],
  ['tokens', 'DOUBLE', (s) => s.tokens],
  ['train_iterations', 'DOUBLE', (s) => s.trainIterations],
  ['global_batch_size', 'DOUBLE', (s) => s.globalBatchSize],
  ['tflops_per_gpu', 'DOUBLE', (s) => s.tflopsPerGpu],
  ['learning_rate', 'DOUBLE', (s) => s.learningRate],
  ['tokens_per_second_per_gpu', 'DOUBLE', (s) => s.tokensPerSecondPerGpu],
  ['grad_norm', 'DOUBLE', (s) => s.gradNorm],
  ['mfu_percent', 'DOUBLE', (s) => s.mfuPercent],
  ['memory_gib', 'DOUBLE', (s) => s.memoryGiB],
  ['skipped_iterations', 'DOUBLE', (s) => s.skippedIterations],
  ['nan_iterations', 'DOUBLE', (s) => s.nanIterations],
  ['fields', 'VARCHAR', (s) => JSON.stringify(s.fields, nonFinite)],
];

/** The sample key each steps column fills when read back (`time` and `fields` are handled apart). */
const STEP_KEYS: Readonly<Record<string, keyof StepSample>> = {
  line: 'line',
  format: 'format',
  step: 'step',
  iteration_seconds: 'iterationSeconds',
  loss: 'loss',
  timestamp: 'timestamp',
  consumed_samples: 'consumedSamples',
  tokens: 'tokens',
  train_iterations: 'trainIterations',
  global_batch_size: 'globalBatchSize',
  tflops_per_gpu: 'tflopsPerGpu',
  learning_rate: 'learningRate',
  tokens_per_second_per_gpu: 'tokensPerSecondPerGpu',
  grad_norm: 'gradNorm',
  mfu_percent: 'mfuPercent',
  memory_gib: 'memoryGiB',
  skipped_iterations: 'skippedIterations',
  nan_iterations: 'nanIterations',
};

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS steps (run VARCHAR NOT NULL, source VARCHAR NOT NULL, seq BIGINT NOT NULL, ${STEP_COLUMNS.map(
    ([name, type]) => `${name} ${type}`,
  ).join(', ')})`,
  'CREATE TABLE IF NOT EXISTS gpu_series (series INTEGER PRIMARY KEY, run VARCHAR NOT NULL, gpu_key VARCHAR NOT NULL, hostname VARCHAR, field VARCHAR NOT NULL)',
  'CREATE TABLE IF NOT EXISTS gpu_samples (series INTEGER NOT NULL, time DOUBLE NOT NULL, value DOUBLE)',
  `CREATE VIEW IF NOT EXISTS gpu_points AS SELECT s.run, p.time, s.gpu_key, s.hostname, s.field, p.value
     FROM gpu_samples p JOIN gpu_series s USING (series)`,
  'CREATE TABLE IF NOT EXISTS events (run VARCHAR NOT NULL, source VARCHAR NOT NULL, seq BIGINT NOT NULL, time DOUBLE, kind VARCHAR NOT NULL, gpu_key VARCHAR, detail VARCHAR)',
  'CREATE TABLE IF NOT EXISTS cursors (run VARCHAR NOT NULL, source VARCHAR NOT NULL, "offset" BIGINT NOT NULL, next_line BIGINT NOT NULL, PRIMARY KEY (run, source))',
];

/** JSON replacer keeping the numbers JSON cannot write. */
function nonFinite(_key: string, value: unknown): unknown {
  if (typeof value !== 'number' || Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}

/** Reads back what {@link nonFinite} wrote. */
function readFields(text: string | null): Record<string, number> {
  if (text === null) return {};
  const parsed = JSON.parse(text) as Record<string, number | string>;
  const fields: Record<string, number> = {};
  for (const [key, value] of Object.entries(parsed)) fields[key] = typeof value === 'number' ? value : Number(value);
  return fields;
}

/** A single-quoted SQL string literal (quotes doubled): for paths, which COPY cannot take as parameters. */
export function sqlString(text: string): string {
  if (text.includes('\0')) throw new TokenworksError('USAGE', `a path holds a NUL character: ${JSON.stringify(text)}`);
  return `'${text.replaceAll("'", "''")}'`;
}

function checkName(what: 'run' | 'source', name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new TokenworksError(
      'USAGE',
      `the ${what} name ${JSON.stringify(typeof name === 'string' ? name.slice(0, 40) : name)} is ${
        typeof name !== 'string' || name.length === 0 ? 'empty' : `${name.length} characters long`
      }: give a ${what} name of 1 to ${MAX_NAME_LENGTH} characters`,
    );
  }
}

function checkCursor(cursor: SourceCursor): void {
  const ok = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (!ok(cursor.offset) || !ok(cursor.nextLine) || cursor.nextLine < 1) {
    throw new TokenworksError(
      'USAGE',
      `bad source cursor {offset: ${cursor.offset}, nextLine: ${cursor.nextLine}}: the offset must be a whole number of bytes ≥ 0 and nextLine a line number ≥ 1`,
    );
  }
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The error for a database that cannot be opened, naming the file and the fix. */
function openError(path: string, error: unknown): TokenworksError {
  const text = message(error);
  if (/lock/i.test(text)) {
    return new TokenworksError(
      'FILE_UNREADABLE',
      `the store ${path} is in use by another process (DuckDB allows one writer: ${text}); stop the other tokenworks process or give another --store file`,
      { file: path, cause: error },
    );
  }
  if (/not a valid DuckDB database|invalid|corrupt|version number|Serialization|checksum/i.test(text)) {
    return new TokenworksError(
      'FILE_UNREADABLE',
      `the store ${path} is not a readable DuckDB database (${text}); give a new --store file, or move this one away if it is not a store`,
      { file: path, cause: error },
    );
  }
  return new TokenworksError('FILE_UNREADABLE', `cannot open the store ${path}: ${text}`, { file: path, cause: error });
}

type Row = readonly unknown[];

/** Opens (creating when missing) the DuckDB store at `path`, or an in-memory one for `':memory:'`. */
export async function openDuckDbStore(
  path: string | ':memory:',
  options: DuckDbStoreOptions = {},
): Promise<TelemetryStore> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TokenworksError('USAGE', 'the store path is empty: give a file name, or :memory:');
  }
  const file = path === ':memory:' ? path : resolve(path);
  const config: Record<string, string> = {};
  if (options.threads !== undefined) config.threads = String(Math.max(1, Math.floor(options.threads)));
  if (options.memoryLimit !== undefined) config.memory_limit = options.memoryLimit;
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  try {
    instance = await DuckDBInstance.create(file, config);
  } catch (error) {
    throw openError(path, error);
  }
  try {
    connection = await instance.connect();
    for (const statement of SCHEMA) await connection.run(statement);
  } catch (error) {
    instance.closeSync();
    throw openError(path, error);
  }
  const store = new DuckDbStore(path, instance, connection);
  await store.load();
  return store;
}

/** Series ids by run, field, GPU key and host name (`''` for none). */
type SeriesIds = Map<string, Map<string, Map<string, Map<string, number>>>>;

class DuckDbStore implements TelemetryStore {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private stepSeq = 0;
  private eventSeq = 0;
  private nextSeries = 0;
  private readonly series: SeriesIds = new Map();

  constructor(
    private readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  /** Reads the counters and the series ids of what the file already holds. */
  async load(): Promise<void> {
    const [[steps], [events], [series]] = await Promise.all([
      this.rows('SELECT coalesce(max(seq), -1) + 1 FROM steps'),
      this.rows('SELECT coalesce(max(seq), -1) + 1 FROM events'),
      this.rows('SELECT coalesce(max(series), -1) + 1 FROM gpu_series'),
    ]);
    this.stepSeq = Number(steps?.[0] ?? 0);
    this.eventSeq = Number(events?.[0] ?? 0);
    this.nextSeries = Number(series?.[0] ?? 0);
    for (const [id, run, gpuKey, hostname, field] of await this.rows(
      'SELECT series, run, gpu_key, hostname, field FROM gpu_series',
    )) {
      this.seriesMap(run as string, field as string, gpuKey as string).set(
        (hostname as string | null) ?? '',
        Number(id),
      );
    }
  }

  private async rows(sql: string, values?: (string | number)[]): Promise<Row[]> {
    const reader = await this.connection.runAndReadAll(sql, values);
    return reader.getRows();
  }

  /** Runs `work` after every earlier operation: one connection, one transaction at a time. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new TokenworksError('INTERNAL', `the store ${this.path} is closed`));
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Runs `work` in one transaction with the cursor upsert; rolls back on any error. */
  private async transaction(
    run: string,
    source: string,
    cursor: SourceCursor,
    work: () => Promise<void>,
  ): Promise<void> {
    checkName('run', run);
    checkName('source', source);
    checkCursor(cursor);
    return this.serial(async () => {
      await this.connection.run('BEGIN TRANSACTION');
      try {
        await work();
        await this.connection.run(
          'INSERT OR REPLACE INTO cursors VALUES ($1, $2, CAST($3 AS BIGINT), CAST($4 AS BIGINT))',
          [run, source, cursor.offset, cursor.nextLine],
        );
        await this.connection.run('COMMIT');
      } catch (error) {
        await this.connection.run('ROLLBACK').catch(() => undefined);
        if (error instanceof TokenworksError) throw error;
        throw new TokenworksError('FILE_UNWRITABLE', `cannot append to the store ${this.path}: ${message(error)}`, {
          file: this.path,
          cause: error,
        });
      }
    });
  }

  private async appender(table: string, rows: (appender: DuckDBAppender) => void): Promise<void> {
    const appender = await this.connection.createAppender(table);
    try {
      rows(appender);
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  appendSteps(run: string, source: string, samples: readonly StepSample[], cursor: SourceCursor): Promise<void> {
    return this.transaction(run, source, cursor, async () => {
      if (samples.length === 0) return;
      let seq = this.stepSeq;
      const types = [
        VARCHAR,
        VARCHAR,
        BIGINT,
        ...STEP_COLUMNS.map(([, type]) => (type === 'DOUBLE' ? DOUBLE : VARCHAR)),
      ];
      await this.appender('steps', (appender) => {
        // Column by column into data chunks: a number column is filled in JavaScript and copied once.
        for (let start = 0; start < samples.length; start += CHUNK_ROWS) {
          const count = Math.min(CHUNK_ROWS, samples.length - start);
          const chunk = DuckDBDataChunk.create(types, count);
          const runs = chunk.getColumnVector(0);
          const sources = chunk.getColumnVector(1);
          const seqs = chunk.getColumnVector(2);
          for (let r = 0; r < count; r++) {
            runs.setItem(r, run);
            sources.setItem(r, source);
            seqs.setItem(r, BigInt(seq++));
          }
          runs.flush();
          sources.flush();
          seqs.flush();
          STEP_COLUMNS.forEach(([, , read], c) => {
            const vector = chunk.getColumnVector(c + 3);
            for (let r = 0; r < count; r++) vector.setItem(r, read(samples[start + r] as StepSample) ?? null);
            vector.flush();
          });
          appender.appendDataChunk(chunk);
        }
      });
      this.stepSeq = seq;
    });
  }

  private seriesMap(run: string, field: string, gpuKey: string): Map<string, number> {
    let fields = this.series.get(run);
    if (fields === undefined) {
      fields = new Map();
      this.series.set(run, fields);
    }
    let keys = fields.get(field);
    if (keys === undefined) {
      keys = new Map();
      fields.set(field, keys);
    }
    let hosts = keys.get(gpuKey);
    if (hosts === undefined) {
      hosts = new Map();
      keys.set(gpuKey, hosts);
    }
    return hosts;
  }

  appendGpuPoints(run: string, source: string, points: readonly GpuPoint[], cursor: SourceCursor): Promise<void> {
    const added: [Map<string, number>, string][] = [];
    return this.transaction(run, source, cursor, async () => {
      if (points.length === 0) return;
      const ids = new Int32Array(points.length);
      const fresh: [number, GpuPoint][] = [];
      let lastKey: string | undefined;
      let lastField: string | undefined;
      let lastHosts: Map<string, number> | undefined;
      for (let i = 0; i < points.length; i++) {
        const point = points[i] as GpuPoint;
        if (typeof point.gpuKey !== 'string' || point.gpuKey === '' || typeof point.field !== 'string') {
          throw new TokenworksError(
            'USAGE',
            `GPU point ${i} has no gpuKey or field (${JSON.stringify(point).slice(0, 120)}): every point names its GPU and DCGM field`,
          );
        }
        // Consecutive points of one GPU and field (a scrape's family group) skip the map walk.
        const hosts =
          point.gpuKey === lastKey && point.field === lastField && lastHosts !== undefined
            ? lastHosts
            : this.seriesMap(run, point.field, point.gpuKey);
        lastKey = point.gpuKey;
        lastField = point.field;
        lastHosts = hosts;
        const host = point.hostname ?? '';
        let id = hosts.get(host);
        if (id === undefined) {
          id = this.nextSeries++;
          hosts.set(host, id);
          added.push([hosts, host]);
          fresh.push([id, point]);
        }
        ids[i] = id;
      }
      try {
        if (fresh.length > 0) {
          await this.appender('gpu_series', (appender) => {
            for (const [id, point] of fresh) {
              appender.appendInteger(id);
              appender.appendVarchar(run);
              appender.appendVarchar(point.gpuKey);
              if (point.hostname === undefined || point.hostname === '') appender.appendNull();
              else appender.appendVarchar(point.hostname);
              appender.appendVarchar(point.field);
              appender.endRow();
            }
          });
        }
        await this.appender('gpu_samples', (appender) => {
          for (let start = 0; start < points.length; start += CHUNK_ROWS) {
            const count = Math.min(CHUNK_ROWS, points.length - start);
            const chunk = DuckDBDataChunk.create([INTEGER, DOUBLE, DOUBLE], count);
            const series = chunk.getColumnVector(0);
            const time = chunk.getColumnVector(1);
            const value = chunk.getColumnVector(2);
            for (let r = 0; r < count; r++) {
              const point = points[start + r] as GpuPoint;
              series.setItem(r, ids[start + r] as number);
              time.setItem(r, point.time);
              value.setItem(r, point.value);
            }
            series.flush();
            time.flush();
            value.flush();
            appender.appendDataChunk(chunk);
          }
        });
      } catch (error) {
        // The new series ids roll back with the transaction: forget them here too.
        for (const [hosts, host] of added) hosts.delete(host);
        throw error;
      }
    });
  }

  appendEvents(run: string, source: string, events: readonly RunEvent[], cursor: SourceCursor): Promise<void> {
    return this.transaction(run, source, cursor, async () => {
      if (events.length === 0) return;
      let seq = this.eventSeq;
      await this.appender('events', (appender) => {
        for (const event of events) {
          appender.appendVarchar(run);
          appender.appendVarchar(source);
          appender.appendBigInt(BigInt(seq++));
          if (typeof event.time === 'number') appender.appendDouble(event.time);
          else appender.appendNull();
          appender.appendVarchar(String(event.kind));
          if (event.gpuKey === undefined) appender.appendNull();
          else appender.appendVarchar(event.gpuKey);
          appender.appendVarchar(String(event.detail));
          appender.endRow();
        }
      });
      this.eventSeq = seq;
    });
  }

  async cursor(run: string, source: string): Promise<SourceCursor | undefined> {
    checkName('run', run);
    checkName('source', source);
    return this.serial(async () => {
      const [row] = await this.rows('SELECT "offset", next_line FROM cursors WHERE run = $1 AND source = $2', [
        run,
        source,
      ]);
      return row === undefined ? undefined : { offset: Number(row[0]), nextLine: Number(row[1]) };
    });
  }

  async steps(run: string): Promise<StepSample[]> {
    checkName('run', run);
    return this.serial(async () => {
      const names = STEP_COLUMNS.map(([name]) => name);
      const rows = await this.rows(`SELECT ${names.join(', ')} FROM steps WHERE run = $1 ORDER BY seq`, [run]);
      return rows.map((row) => {
        const sample: Record<string, unknown> = {};
        names.forEach((name, index) => {
          const value = row[index];
          if (value === null || value === undefined || name === 'time') return;
          if (name === 'fields') sample.fields = readFields(value as string);
          else sample[STEP_KEYS[name] as string] = value;
        });
        sample.format = sample.format as StepLogFormat;
        sample.fields ??= {};
        return sample as unknown as StepSample;
      });
    });
  }

  async *gpuPoints(
    run: string,
    options: { readonly fields?: readonly string[] } = {},
  ): AsyncIterable<readonly GpuPoint[]> {
    checkName('run', run);
    const fields = options.fields ?? [];
    const filter = fields.length === 0 ? '' : ` AND field IN (${fields.map((_, i) => `$${i + 2}`).join(', ')})`;
    // A connection of its own: a streaming result stays valid while the store's connection appends.
    const connection = await this.instance.connect();
    try {
      const result = await connection.stream(
        `SELECT time, gpu_key, hostname, field, value FROM gpu_points WHERE run = $1${filter} ORDER BY time, gpu_key, field`,
        [run, ...fields],
      );
      let batch: GpuPoint[] = [];
      for (;;) {
        const chunk = await result.fetchChunk();
        if (chunk === null || chunk.rowCount === 0) break;
        const [time, gpuKey, hostname, field, value] = [0, 1, 2, 3, 4].map((i) => chunk.getColumnVector(i));
        for (let r = 0; r < chunk.rowCount; r++) {
          const host = hostname?.getItem(r);
          const point: GpuPoint = {
            time: time?.getItem(r) as number,
            gpuKey: gpuKey?.getItem(r) as string,
            ...(typeof host === 'string' && { hostname: host }),
            field: field?.getItem(r) as string,
            value: (value?.getItem(r) as number | null) ?? Number.NaN,
          };
          batch.push(point);
        }
        if (batch.length >= GPU_POINT_BATCH) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      connection.closeSync();
    }
  }

  async events(run: string): Promise<RunEvent[]> {
    checkName('run', run);
    return this.serial(async () => {
      const rows = await this.rows('SELECT time, kind, gpu_key, detail FROM events WHERE run = $1 ORDER BY seq', [run]);
      return rows.map(([time, kind, gpuKey, detail]) => ({
        time: (time as number | null) ?? Number.NaN,
        kind: kind as string,
        ...(typeof gpuKey === 'string' && { gpuKey }),
        detail: (detail as string | null) ?? '',
      }));
    });
  }

  async counts(run: string): Promise<StoreCounts> {
    checkName('run', run);
    return this.serial(async () => {
      const [row] = await this.rows(
        `SELECT (SELECT count(*) FROM steps WHERE run = $1), (SELECT count(*) FROM gpu_points WHERE run = $1),
           (SELECT count(*) FROM events WHERE run = $1)`,
        [run],
      );
      return { steps: Number(row?.[0] ?? 0), gpuPoints: Number(row?.[1] ?? 0), events: Number(row?.[2] ?? 0) };
    });
  }

  runs(): Promise<string[]> {
    return this.serial(async () => {
      const rows = await this.rows(
        `SELECT run FROM steps UNION SELECT run FROM gpu_series UNION SELECT run FROM events
           UNION SELECT run FROM cursors ORDER BY run`,
      );
      return rows.map(([run]) => run as string);
    });
  }

  async exportParquet(run: string, folder: string): Promise<ExportedTable[]> {
    checkName('run', run);
    return this.serial(async () => {
      const directory = resolve(folder);
      try {
        await mkdir(directory, { recursive: true });
      } catch (error) {
        throw new TokenworksError(
          'FILE_UNWRITABLE',
          `cannot create the export folder ${directory}: ${message(error)}`,
          {
            file: directory,
            cause: error,
          },
        );
      }
      const tables: readonly [string, string][] = [
        ['steps', 'SELECT * FROM steps WHERE run = $1 ORDER BY seq'],
        ['gpu_points', 'SELECT * FROM gpu_points WHERE run = $1 ORDER BY time, gpu_key, field'],
        ['events', 'SELECT * FROM events WHERE run = $1 ORDER BY seq'],
      ];
      const exported: ExportedTable[] = [];
      for (const [table, query] of tables) {
        const path = join(directory, `${table}.parquet`);
        // Written beside its final name, then renamed: a reader never sees half a file.
        const temporary = join(directory, `.${table}.parquet.${process.pid}.tmp`);
        try {
          const result = await this.connection.run(`COPY (${query}) TO ${sqlString(temporary)} (FORMAT parquet)`, [
            run,
          ]);
          await rename(temporary, path);
          exported.push({ table, path, rows: Number(result.rowsChanged) });
        } catch (error) {
          await rm(temporary, { force: true });
          throw new TokenworksError('FILE_UNWRITABLE', `cannot write ${path}: ${message(error)}`, {
            file: path,
            cause: error,
          });
        }
      }
      return exported;
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const done = this.serial(async () => {
      this.connection.closeSync();
      this.instance.closeSync();
    });
    this.closed = true;
    return done;
  }
}
