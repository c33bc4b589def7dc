/**
 * The embedded, durable {@link TelemetryStore}: one DuckDB database file (`@duckdb/node-api`), or `:memory:`.
 *
 * Tables (one row per stored thing; `run` and `source` on every row):
 * - `steps`: one training step sample per row, in append order (`seq`), every typed {@link StepSample} field as a
 *   column (`time` is the time stamp in Unix seconds, from `stampSeconds`, NULL when the line printed none) and the
 *   line's printed fields as a field set (`field_set`: an id into `step_field_sets`, whose `keys` is the JSON array
 *   of the field names in order; a log has a handful of sets) and `field_values`, the values comma-separated in the
 *   set's order, empty where the value is its typed column's (not stored twice), NaN and ±Infinity as `Number` reads
 *   them. A store written before field sets keeps its `fields` JSON column, read for its old rows. Rows are appended
 *   straight into `steps` as data chunks whose number columns and NULLs (validity bits) are bulk-copied and whose
 *   strings are assigned once per distinct string in a chunk ({@link StringColumn}); a store written before field
 *   sets (another column order), or bindings without the bulk copy, stage them without NULLs in a temporary table
 *   moved by one INSERT … SELECT (the client library's `setItem(null)` costs several BigInt operations);
 * - `gpu_points` (a view): `run, time, gpu_key, hostname, field, value`, joined from `gpu_series` (one row per run,
 *   GPU, host and `DCGM_FI_*` field) and `gpu_samples` (`series, time, value`). Storing the strings once per series
 *   rather than once per sample is what keeps the ingest of dcgm scrapes over 1M samples/s (bench/observe.mjs): a
 *   sample row is 20 bytes of numbers, with no string crossing from JavaScript into DuckDB per sample, appended as
 *   columns ({@link DuckDbTelemetryStore.appendGpuPointColumns}), bulk-copied into DuckDB's vectors, in commits of
 *   more than a row group (122,880 rows), which DuckDB writes straight to the file rather than through its
 *   write-ahead log;
 * - `events`: `run, source, seq, time, kind, gpu_key, detail`;
 * - `cursors`: `run, source, offset, next_line`, one row per source, where it resumes.
 * Every append writes its rows and upserts its source's cursor inside one `BEGIN … COMMIT` (rolled back on any
 * error), so a store reopened after a crash (even `kill -9`) holds exactly the committed batches and their cursors:
 * a source resumed from its cursor reads nothing twice and loses nothing committed. DuckDB lets one process hold a
 * database file for writing; a second process gets a {@link TokenworksError} naming the file and the fix.
 * @module
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import {
  BIGINT,
  DOUBLE,
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  type DuckDBResultReader,
  type DuckDBType,
  INTEGER,
  VARCHAR,
} from '@duckdb/node-api';
import type { ExportedTable, GpuPoint, RunEvent, SourceCursor, StoreCounts, TelemetryStore } from '../app/ports.js';
import { TokenworksError } from '../errors.js';
import {
  MegatronRows,
  type StepLogFormat,
  type StepSample,
  type StepSegment,
  stampSeconds,
} from '../telemetry/step-log.js';

/** Longest run or source name a store takes (a name is a label in reports, not a document). */
export const MAX_NAME_LENGTH = 200;

/**
 * GPU points per batch {@link TelemetryStore.gpuPoints} yields: 65,536 points of five fields are a few MiB, so
 * reading a run of any length holds about that much.
 */
export const GPU_POINT_BATCH = 65_536;

/** Rows per DuckDB data chunk: DuckDB's `STANDARD_VECTOR_SIZE` (2,048), the most a chunk may hold. */
const CHUNK_ROWS = 2048;

/** The columns of `gpu_samples`: series, time, value. */
const GPU_SAMPLE_TYPES = [INTEGER, DOUBLE, DOUBLE];

/**
 * The two calls of `@duckdb/node-bindings` (the package `@duckdb/node-api` is built on, and exports as the
 * public low-level API) that write a typed array into a data chunk's vector with one copy: `data_chunk_get_vector`
 * and `copy_data_to_vector`. Filling a vector by `setItem` costs a call per value and a second copy at `flush`.
 */
/** Copies `bytes` bytes of `buffer` from `byteOffset` into a vector's data (or validity) at `offset`. */
type CopyInto = (vector: unknown, offset: number, buffer: ArrayBufferLike, byteOffset: number, bytes: number) => void;

interface VectorCopy {
  data_chunk_get_vector(chunk: DuckDBDataChunk['chunk'], column: number): unknown;
  copy_data_to_vector: CopyInto;
  vector_ensure_validity_writable(vector: unknown): void;
  copy_data_to_vector_validity: CopyInto;
  vector_assign_string_element(vector: unknown, index: number, text: string): void;
  vector_get_data(vector: unknown, bytes: number): Uint8Array;
  vector_size(): number;
}

/**
 * The bindings `@duckdb/node-api` itself loads (resolved from its own location), or undefined when they cannot be
 * loaded or lack a call (another version): the store then fills its vectors by `setItem`, the same rows either way.
 */
function loadVectorCopy(): VectorCopy | undefined {
  try {
    const require = createRequire(import.meta.url);
    const bindings = createRequire(require.resolve('@duckdb/node-api'))('@duckdb/node-bindings') as Partial<VectorCopy>;
    if (
      typeof bindings.data_chunk_get_vector === 'function' &&
      typeof bindings.copy_data_to_vector === 'function' &&
      typeof bindings.vector_ensure_validity_writable === 'function' &&
      typeof bindings.copy_data_to_vector_validity === 'function' &&
      typeof bindings.vector_assign_string_element === 'function' &&
      typeof bindings.vector_get_data === 'function' &&
      typeof bindings.vector_size === 'function' &&
      bindings.vector_size() >= CHUNK_ROWS
    ) {
      return bindings as VectorCopy;
    }
  } catch {
    // The setItem path.
  }
  return undefined;
}

const VECTOR_COPY = loadVectorCopy();

/** Bytes of one element of a VARCHAR vector: the C API's `duckdb_string_t`. */
const STRING_BYTES = 16;

/**
 * Writes a VARCHAR column of a data chunk with one call per distinct string rather than one per row (a call costs
 * 0.3 to 0.6 µs): each distinct string is assigned once (`vector_assign_string_element` copies it into the vector's
 * own string heap) and each row repeating it gets a copy of that row's element, a `duckdb_string_t` (the length and
 * the string itself when 12 bytes or shorter, else its length, prefix and pointer into that heap), the elements
 * written back by one copy. `lookup`: repeats are found anywhere in the chunk (a map), else only on the row before.
 */
class StringColumn {
  /**
   * The first column made, kept for the module's life (a few KiB), so the class's hidden class outlives every append:
   * V8 drops the code compiled for it when its last instance dies at a GC, and the next append compiles it again.
   */
  private static kept: StringColumn | undefined;
  private vector: unknown;
  private readonly first = new Map<string, number>();
  /** The row whose element each row repeats, or -1. */
  private readonly source = new Int32Array(CHUNK_ROWS);
  private readonly elements = new Uint8Array(CHUNK_ROWS * STRING_BYTES);
  private repeats = 0;
  private last: string | undefined;
  private lastRow = -1;

  constructor(
    private readonly copy: VectorCopy,
    private readonly lookup: boolean,
  ) {
    StringColumn.kept ??= this;
  }

  /** Starts the column of a chunk's vector. */
  start(vector: unknown): void {
    this.vector = vector;
    this.first.clear();
    this.source.fill(-1);
    this.repeats = 0;
    this.last = undefined;
    this.lastRow = -1;
  }

  /** Row `r`'s string (rows not set are NULL, their validity cleared by the caller). */
  set(r: number, text: string): void {
    let at = text === this.last ? this.lastRow : -1;
    if (at < 0 && this.lookup) at = this.first.get(text) ?? -1;
    if (at >= 0) {
      this.source[r] = at;
      this.repeats++;
      return;
    }
    this.copy.vector_assign_string_element(this.vector, r, text);
    if (this.lookup) this.first.set(text, r);
    this.last = text;
    this.lastRow = r;
  }

  /** Every one of the chunk's `count` rows `text` (a column one value for the chunk): one string assigned, copied. */
  fill(count: number, text: string): void {
    this.copy.vector_assign_string_element(this.vector, 0, text);
    const elements = this.elements;
    elements.set(this.copy.vector_get_data(this.vector, STRING_BYTES));
    for (let done = 1; done < count; done *= 2) {
      elements.copyWithin(done * STRING_BYTES, 0, Math.min(done, count - done) * STRING_BYTES);
    }
    this.copy.copy_data_to_vector(this.vector, 0, elements.buffer, 0, count * STRING_BYTES);
  }

  /** Writes the repeated rows' elements, after the chunk's last {@link set}. */
  finish(count: number): void {
    if (this.repeats === 0) return;
    const elements = this.elements;
    elements.set(this.copy.vector_get_data(this.vector, count * STRING_BYTES));
    for (let r = 0; r < count; r++) {
      const at = this.source[r] as number;
      if (at >= 0) elements.copyWithin(r * STRING_BYTES, at * STRING_BYTES, (at + 1) * STRING_BYTES);
    }
    this.copy.copy_data_to_vector(this.vector, 0, elements.buffer, 0, count * STRING_BYTES);
  }
}

/** Which series a GPU point belongs to: its GPU, host and `DCGM_FI_*` field. */
export interface GpuSeriesKey {
  readonly gpuKey: string;
  readonly hostname?: string | undefined;
  readonly field: string;
}

/**
 * GPU points column by column (what {@link DuckDbTelemetryStore.appendGpuPointColumns} takes): `length` points, the
 * i-th of series `series[seriesIndex[i]]` at `time[i]` (Unix seconds) with `value[i]`. The arrays may be longer
 * than `length`.
 */
export interface GpuPointColumns {
  readonly length: number;
  readonly series: readonly GpuSeriesKey[];
  readonly seriesIndex: Int32Array;
  readonly time: Float64Array;
  readonly value: Float64Array;
}

/** A source's cursor in a {@link GpuBatch}, and the events of that source it commits with it. */
export interface GpuBatchSource {
  readonly source: string;
  readonly cursor: SourceCursor;
  /** Events appended under `source` (e.g. a file's malformed lines), none when absent. */
  readonly events?: readonly RunEvent[];
}

/**
 * What {@link DuckDbTelemetryStore.appendGpuBatch} commits in one transaction: GPU points of several sources (small
 * files committed together) and every one of their cursors.
 */
export interface GpuBatch {
  readonly columns: GpuPointColumns;
  readonly sources: readonly GpuBatchSource[];
}

/** Options of {@link DuckDbTelemetryStore.appendStepSegments}. */
export interface StepAppendOptions {
  /**
   * Leave the transaction open, the source's cursor not yet written: the next append of the same run and source
   * joins it, and any other operation of the store (or {@link DuckDbTelemetryStore.close}) commits it first, with
   * the last cursor given. What a crash loses is only what was never committed, its cursor with it: a resumed
   * source reads it again. A transaction of more than a row group (122,880 rows) is written by DuckDB straight
   * into the database file, row group by row group as it fills, rather than through the write-ahead log, held in
   * memory until a checkpoint (see src/node/ingest.ts's {@link ingestLog}).
   */
  readonly hold?: boolean;
}

/** The DuckDB store: the port, and GPU points appended column by column (no object per point). */
export interface DuckDbTelemetryStore extends TelemetryStore {
  /** {@link TelemetryStore.appendStepSegments}, the transaction left open when {@link StepAppendOptions.hold}. */
  appendStepSegments(
    run: string,
    source: string,
    segments: readonly StepSegment[],
    cursor: SourceCursor,
    options?: StepAppendOptions,
  ): Promise<void>;
  /** {@link TelemetryStore.appendGpuPoints} of columns: the points and the source's cursor, atomically. */
  appendGpuPointColumns(run: string, source: string, columns: GpuPointColumns, cursor: SourceCursor): Promise<void>;
  /**
   * The points of several sources, their events and all of their cursors in one transaction: all of it is
   * committed or none (a failure or a crash mid-batch leaves every cursor of the batch where it was).
   */
  appendGpuBatch(run: string, batch: GpuBatch): Promise<void>;
  /** Whether number columns go into DuckDB's vectors by one bulk copy each ({@link DuckDbStoreOptions.bulkCopy}). */
  readonly bulkCopy: boolean;
  /** Marks a store whose step appends take {@link StepAppendOptions} (`hold`). */
  readonly holdsStepAppends: true;
}

/** Whether `store`'s step appends can hold their transaction open ({@link StepAppendOptions.hold}). */
export function holdsStepAppends(store: TelemetryStore): store is DuckDbTelemetryStore {
  return (store as Partial<DuckDbTelemetryStore>).holdsStepAppends === true;
}

/** Whether `store` takes GPU points as columns (the DuckDB store, or an object built on it). */
export function takesGpuPointColumns(store: TelemetryStore): store is DuckDbTelemetryStore {
  return typeof (store as Partial<DuckDbTelemetryStore>).appendGpuPointColumns === 'function';
}

/** Options of {@link openDuckDbStore}. */
export interface DuckDbStoreOptions {
  /** DuckDB worker threads (default: DuckDB's, one per core). */
  readonly threads?: number;
  /** DuckDB's memory limit, e.g. `'512MB'` (default: DuckDB's, 80% of RAM); beyond it DuckDB spills to disk. */
  readonly memoryLimit?: string;
  /**
   * Write-ahead log size past which DuckDB checkpoints, e.g. `'64MB'` (default {@link CHECKPOINT_THRESHOLD}). Each
   * checkpoint rewrites the table's last row group, so a small threshold costs more per row appended.
   */
  readonly checkpointThreshold?: string;
  /**
   * Write number columns into DuckDB's vectors with one bulk copy each (default true where the bindings offer it);
   * false fills them value by value (`setItem`), the client library's plain path. Both store the same rows.
   */
  readonly bulkCopy?: boolean;
}

/**
 * The store's default checkpoint threshold: DuckDB's own (16 MB) checkpoints every few thousand step rows, which
 * doubled the cost of a commit (bench/observe.mjs); 64 MB of write-ahead log is quick to replay on reopening.
 */
export const CHECKPOINT_THRESHOLD = '64MB';

/**
 * Rows committed (steps and GPU points) between two trims of DuckDB's cache of the blocks it wrote at least
 * ({@link DuckDbStore.trimCache}): a row group's worth.
 */
const TRIM_ROWS = 122_880;

/**
 * Bytes of written table blocks DuckDB keeps cached after a trim at most. DuckDB keeps every block it writes (the
 * rows a commit or a checkpoint writes into the file) in its buffer pool until the pool reaches `memory_limit`, so
 * without a trim the process's memory grows with the store's file up to that limit (about 3 bytes a GPU point,
 * 18 a step row: bench/observe.mjs). The ingest reads none of them back.
 */
const CACHE_KEEP = 2 ** 20;

/** The typed number columns of `steps`, in table order after `run, source, seq, line, format`, and their sample keys. */
const STEP_NUMBERS: readonly (readonly [string, keyof StepSample])[] = [
  ['step', 'step'],
  ['iteration_seconds', 'iterationSeconds'],
  ['loss', 'loss'],
  ['consumed_samples', 'consumedSamples'],
  ['tokens', 'tokens'],
  ['train_iterations', 'trainIterations'],
  ['global_batch_size', 'globalBatchSize'],
  ['tflops_per_gpu', 'tflopsPerGpu'],
  ['learning_rate', 'learningRate'],
  ['tokens_per_second_per_gpu', 'tokensPerSecondPerGpu'],
  ['grad_norm', 'gradNorm'],
  ['mfu_percent', 'mfuPercent'],
  ['memory_gib', 'memoryGiB'],
  ['skipped_iterations', 'skippedIterations'],
  ['nan_iterations', 'nanIterations'],
];

type NumberOf = (sample: StepSample) => number | undefined;

/**
 * Each typed number field read by a function of its own (a property load that sees one key, where a load by a
 * variable key over fifteen keys is a slow lookup per row), by its sample key.
 */
const NUMBER_OF: Readonly<Record<string, NumberOf>> = {
  step: (s) => s.step,
  iterationSeconds: (s) => s.iterationSeconds,
  loss: (s) => s.loss,
  consumedSamples: (s) => s.consumedSamples,
  tokens: (s) => s.tokens,
  trainIterations: (s) => s.trainIterations,
  globalBatchSize: (s) => s.globalBatchSize,
  tflopsPerGpu: (s) => s.tflopsPerGpu,
  learningRate: (s) => s.learningRate,
  tokensPerSecondPerGpu: (s) => s.tokensPerSecondPerGpu,
  gradNorm: (s) => s.gradNorm,
  mfuPercent: (s) => s.mfuPercent,
  memoryGiB: (s) => s.memoryGiB,
  skippedIterations: (s) => s.skippedIterations,
  nanIterations: (s) => s.nanIterations,
};

/** The formats a step line is read as (the `format` column is the text; the staging table carries the index). */
const FORMATS: readonly StepLogFormat[] = ['megatron', 'nemo', 'torchtitan', 'csv', 'jsonl'];

/**
 * Fields printed in another unit than their typed column's: the field is the column times this (Megatron prints the
 * iteration time in milliseconds, the sample holds seconds). The field is stored once, in the column, where the
 * product gives it back exactly (98.6% of 0.1 ms values here); else in `field_values` as printed.
 */
const FIELD_SCALES: Readonly<Record<string, number>> = {
  'elapsed time per iteration (ms)': 1000,
};

/**
 * The typed sample field each format fills from a printed field, by the field's printed name
 * (src/telemetry/step-log.ts). A field whose value equals its typed field's is stored once, in the typed column.
 */
const FIELD_COLUMNS: Readonly<Record<string, keyof StepSample>> = {
  'elapsed time per iteration (ms)': 'iterationSeconds',
  'consumed samples': 'consumedSamples',
  'throughput per GPU (TFLOP/s/GPU)': 'tflopsPerGpu',
  'learning rate': 'learningRate',
  'global batch size': 'globalBatchSize',
  'lm loss': 'loss',
  'grad norm': 'gradNorm',
  'number of skipped iterations': 'skippedIterations',
  'number of nan iterations': 'nanIterations',
  lr: 'learningRate',
  global_batch_size: 'globalBatchSize',
  global_step: 'step',
  reduced_train_loss: 'loss',
  'train_step_timing in s': 'iterationSeconds',
  TFLOPS_per_GPU: 'tflopsPerGpu',
  tokens_per_sec_per_gpu: 'tokensPerSecondPerGpu',
  consumed_samples: 'consumedSamples',
  step: 'step',
  loss: 'loss',
  grad_norm: 'gradNorm',
  tps: 'tokensPerSecondPerGpu',
  tflops: 'tflopsPerGpu',
  mfu: 'mfuPercent',
  memory_gib: 'memoryGiB',
  time: 'iterationSeconds',
  tokens: 'tokens',
  samples: 'consumedSamples',
};

/** Bits of `steps_stage.present` for the time and the time stamp (the number columns take bits 0 to 15). */
const TIME_BIT = 1 << 16;
const TIMESTAMP_BIT = 1 << 17;

/** The staging table of a steps append: every value non-NULL, `present` saying which are real. */
const STAGE_COLUMNS: readonly (readonly [string, 'INTEGER' | 'DOUBLE' | 'VARCHAR'])[] = [
  ['i', 'INTEGER'],
  ['present', 'INTEGER'],
  ['format', 'INTEGER'],
  ['line', 'DOUBLE'],
  ['time', 'DOUBLE'],
  ...STEP_NUMBERS.map(([name]) => [name, 'DOUBLE'] as const),
  ['field_set', 'INTEGER'],
  // The field values (ASCII, no '|'), a '|' and the time stamp: one string per row rather than two.
  ['text', 'VARCHAR'],
];
const STAGE_TYPES = STAGE_COLUMNS.map(([, type]) =>
  type === 'INTEGER' ? INTEGER : type === 'DOUBLE' ? DOUBLE : VARCHAR,
);

/** Moves the staged rows into `steps` ($1 run, $2 source, $3 the first row's seq). */
const STAGE_INSERT = `INSERT INTO steps (run, source, seq, line, format, ${STEP_NUMBERS.map(([name]) => name).join(', ')}, time, timestamp, field_set, field_values)
  SELECT $1, $2, CAST($3 AS BIGINT) + i, line, [${FORMATS.map((f) => `'${f}'`).join(', ')}][format + 1],
    ${STEP_NUMBERS.map(([name], c) => `CASE WHEN present & ${1 << c} <> 0 THEN ${name} END`).join(', ')},
    CASE WHEN present & ${TIME_BIT} <> 0 THEN time END,
    CASE WHEN present & ${TIMESTAMP_BIT} <> 0 THEN text[length(split_part(text, '|', 1)) + 2:] END,
    field_set, split_part(text, '|', 1)
  FROM steps_stage`;

/** The columns of `steps` in table order (a store written before field sets has others: it is staged). */
const STEP_COLUMNS: readonly string[] = [
  'run',
  'source',
  'seq',
  'line',
  'format',
  ...STEP_NUMBERS.map(([name]) => name),
  'time',
  'timestamp',
  'field_set',
  'field_values',
];
const STEP_TYPES = [
  VARCHAR,
  VARCHAR,
  BIGINT,
  DOUBLE,
  VARCHAR,
  ...STEP_NUMBERS.map(() => DOUBLE),
  DOUBLE,
  VARCHAR,
  INTEGER,
  VARCHAR,
];
/** Where the direct append finds its columns in {@link STEP_COLUMNS}. */
const STEP_AT = Object.fromEntries(STEP_COLUMNS.map((name, index) => [name, index])) as Record<string, number>;

/** A chunk's validity words (bit r of word r >> 5: row r is not NULL), little-endian as DuckDB's 64-bit words. */
const VALIDITY_WORDS = CHUNK_ROWS / 32;

/** The number columns the direct append writes: the line, the typed numbers ({@link STEP_NUMBERS}) and the time. */
const NUMBER_COLUMNS = 2 + STEP_NUMBERS.length;

/**
 * A step line's printed fields as stored: the field names are the row's field set (`field_set`, an id into the
 * `step_field_sets` table: one row per distinct list of names, a log has a handful), and the values are
 * `field_values`, comma-separated in the set's order, empty where the value is its typed column's. NaN and
 * ±Infinity are written as `Number` reads them back.
 */
function fieldValues(sample: StepSample, set: FieldSet, values?: Float64Array, base = 0): string {
  let text = '';
  const { keys, numbers } = set;
  const fields = sample.fields;
  for (let k = 0; k < keys.length; k++) {
    // A MegatronRows row's values by index from `base` (its keys are the set's, in order); else by key.
    const value = values === undefined ? (fields[keys[k] as string] as number) : (values[base + k] as number);
    if (k > 0) text += ',';
    const number = numbers[k];
    const negativeZero = value === 0 && 1 / value < 0;
    if (number !== undefined && Object.is(number(sample), value) && !negativeZero) continue;
    text += negativeZero ? '-0' : String(value);
  }
  return text;
}

/**
 * Step rows to write: `count` of them, row `i` read by `at(i)`, a sample or (for {@link MegatronRows}) one object
 * refilled for each row, valid until the next call (read each row once).
 */
/** The columns one step chunk is filled into, and what carries over from one chunk to the next. */
interface StepChunkState {
  readonly matrix: Float64Array;
  readonly validity: Uint32Array;
  readonly present: Int32Array;
  readonly seq: Uint32Array;
  readonly sets: Int32Array;
  readonly valid: Uint32Array;
  readonly formats: StringColumn;
  readonly stampColumn: StringColumn;
  readonly valueColumn: StringColumn;
  readonly fresh: [number, string][];
  lastKeys: readonly string[];
  lastSet: number;
  lastFields: Readonly<Record<string, number>>;
  stamped: number;
}

/**
 * The last step chunk state made (one chunk's columns, about 0.3 MiB), kept for the module's life: V8 drops the code
 * of fillStepChunk compiled for the state's hidden class when its last object dies at a GC.
 */
const keptStepState: { last: StepChunkState | undefined } = { last: undefined };

/** The fields of no row: {@link StepChunkState}'s `lastFields` before its first row. */
const NO_FIELDS: Readonly<Record<string, number>> = Object.freeze({});

interface StepRows {
  readonly count: number;
  readonly at: (i: number) => StepSample;
  /** Row `i`'s time stamp as stored: {@link PLAIN_STAMP} for one its time prints back as, else as printed. */
  readonly stamp: (i: number) => string | undefined;
  /** Seconds of row `i`'s time stamp. */
  readonly time: (i: number) => number | undefined;
  /** For a MegatronRows: its values (row `i`'s at `(from + i) × width`, in its keys' order). */
  readonly row?: { readonly values: Float64Array; readonly width: number; readonly from: number };
  /** For a MegatronRows: {@link at} with only the typed fields refilled (its `fields` stay the first row's). */
  readonly typedAt?: (i: number) => StepSample;
}

/**
 * The `timestamp` of a row whose stamp is `YYYY-MM-DD HH:MM:SS` (or with `.fff`), the text its `time` prints back
 * as (read back through {@link stampSql}): one short string for every such row instead of a string each. Neither
 * is a stamp the parser reads (src/telemetry/step-log.ts).
 */
const PLAIN_STAMP = '';
const MILLISECOND_STAMP = '.';

/** The stamp as printed, from a row's `timestamp` and `time` columns (`prefix`: the table's alias and a dot). */
const stampSql = (prefix: string) => {
  const at = `epoch_ms(CAST(round(${prefix}time * 1000) AS BIGINT))`;
  return `CASE WHEN ${prefix}time IS NULL THEN ${prefix}timestamp WHEN ${prefix}timestamp = '${PLAIN_STAMP}' THEN strftime(${at}, '%Y-%m-%d %H:%M:%S') WHEN ${prefix}timestamp = '${MILLISECOND_STAMP}' THEN strftime(${at}, '%Y-%m-%d %H:%M:%S.%g') ELSE ${prefix}timestamp END`;
};

/** A segment as {@link StepRows}: a MegatronRows from its `start`, through one reused sample. */
function stepRows(segment: StepSegment): StepRows {
  if (segment instanceof MegatronRows) {
    const from = segment.start;
    const count = Math.max(0, segment.count - from);
    const scratch = count === 0 ? undefined : segment.sample(from);
    return {
      count,
      at: (i) => segment.fill(from + i, scratch as StepSample),
      typedAt: (i) => segment.fillTyped(from + i, scratch as StepSample),
      stamp: (i) => {
        const form = segment.stampForm(from + i);
        return form === 1 ? PLAIN_STAMP : form === 2 ? MILLISECOND_STAMP : segment.timestamp(from + i);
      },
      time: (i) => {
        const time = segment.times[from + i] as number;
        return Number.isNaN(time) ? undefined : time;
      },
      row: { values: segment.values, width: segment.keys.length, from },
    };
  }
  const samples = segment as readonly StepSample[];
  return {
    count: samples.length,
    at: (i) => samples[i] as StepSample,
    stamp: (i) => (samples[i] as StepSample).timestamp,
    time: (i) => stampSeconds((samples[i] as StepSample).timestamp),
  };
}

/** The rows as sample objects of their own (for the staging path). */
function samplesOf(rows: StepRows): StepSample[] {
  return Array.from({ length: rows.count }, (_, i) => {
    const { timestamp: _stamp, ...sample } = rows.at(i);
    const stamp = rows.stamp(i);
    const timestamp =
      stamp === PLAIN_STAMP || stamp === MILLISECOND_STAMP ? stampText(rows.time(i) as number, stamp) : stamp;
    return { ...sample, ...(timestamp !== undefined && { timestamp }), fields: { ...sample.fields } };
  });
}

/** The `YYYY-MM-DD HH:MM:SS[.fff]` text of a stamp's seconds (UTC, as they were read), by its marker. */
function stampText(seconds: number, marker: string): string {
  const text = new Date(Math.round(seconds * 1000)).toISOString().replace('T', ' ');
  return marker === MILLISECOND_STAMP ? text.slice(0, 23) : text.slice(0, 19);
}

/** A field set: the names of a line's fields in order, and the typed field each may be stored in. */
interface FieldSet {
  readonly keys: readonly string[];
  readonly columns: readonly (keyof StepSample | undefined)[];
  /** Each key's typed field read by its {@link NUMBER_OF} function, where it has one. */
  readonly numbers: readonly (NumberOf | undefined)[];
}

function fieldSetOf(keys: readonly string[]): FieldSet {
  const columns = keys.map((key) => (Object.hasOwn(FIELD_COLUMNS, key) ? FIELD_COLUMNS[key] : undefined));
  return {
    keys,
    columns,
    numbers: columns.map((column, k) => {
      if (column === undefined || !Object.hasOwn(NUMBER_OF, column)) return undefined;
      const number = NUMBER_OF[column] as NumberOf;
      const scale = fieldScale(keys[k] as string);
      if (scale === 1) return number;
      return (sample: StepSample) => {
        const value = number(sample);
        return value === undefined ? undefined : value * scale;
      };
    }),
  };
}

/** What a field's typed column is multiplied by to give the field as printed ({@link FIELD_SCALES}). */
function fieldScale(key: string): number {
  return Object.hasOwn(FIELD_SCALES, key) ? (FIELD_SCALES[key] as number) : 1;
}

/** Reads back what {@link fieldValues} wrote, the typed fields of `sample` already filled. */
function readFieldValues(
  sample: Readonly<Record<string, unknown>>,
  keys: readonly string[],
  text: string,
): Record<string, number> {
  const fields: Record<string, number> = {};
  const values = text.split(',');
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k] as string;
    const token = values[k] ?? '';
    fields[key] = token === '' ? (sample[FIELD_COLUMNS[key] as string] as number) * fieldScale(key) : Number(token);
  }
  return fields;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS steps (run VARCHAR NOT NULL, source VARCHAR NOT NULL, seq BIGINT NOT NULL, line DOUBLE, format VARCHAR, ${STEP_NUMBERS.map(
    ([name]) => `${name} DOUBLE`,
  ).join(', ')}, time DOUBLE, timestamp VARCHAR, field_set INTEGER, field_values VARCHAR)`,
  'CREATE TABLE IF NOT EXISTS step_field_sets (id INTEGER PRIMARY KEY, keys VARCHAR NOT NULL)',
  'CREATE TABLE IF NOT EXISTS gpu_series (series INTEGER PRIMARY KEY, run VARCHAR NOT NULL, gpu_key VARCHAR NOT NULL, hostname VARCHAR, field VARCHAR NOT NULL)',
  'CREATE TABLE IF NOT EXISTS gpu_samples (series INTEGER NOT NULL, time DOUBLE NOT NULL, value DOUBLE)',
  `CREATE VIEW IF NOT EXISTS gpu_points AS SELECT s.run, p.time, s.gpu_key, s.hostname, s.field, p.value
     FROM gpu_samples p JOIN gpu_series s USING (series)`,
  'CREATE TABLE IF NOT EXISTS events (run VARCHAR NOT NULL, source VARCHAR NOT NULL, seq BIGINT NOT NULL, time DOUBLE, kind VARCHAR NOT NULL, gpu_key VARCHAR, detail VARCHAR)',
  'CREATE TABLE IF NOT EXISTS cursors (run VARCHAR NOT NULL, source VARCHAR NOT NULL, "offset" BIGINT NOT NULL, next_line BIGINT NOT NULL, PRIMARY KEY (run, source))',
];

/** Reads the `fields` JSON of a store written before field sets (NaN and ±Infinity as strings). */
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

function checkName(what: 'run' | 'source' | 'kind', name: string): void {
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

/** A source's cursor, inserted once and then updated (the store's most frequent statements, prepared once). */
/**
 * A cursor the table does not hold yet (the store holds its file's lock, and knows every cursor: `cursors`): a
 * plain INSERT; INSERT OR REPLACE cost about 3 ms a row in DuckDB 1.5.
 */
const CURSOR_INSERT = 'INSERT INTO cursors VALUES ($1, $2, CAST($3 AS BIGINT), CAST($4 AS BIGINT))';
/** The cursor of a source the table holds: an UPDATE, about a third of the upsert's cost. */
const CURSOR_UPDATE =
  'UPDATE cursors SET "offset" = CAST($3 AS BIGINT), next_line = CAST($4 AS BIGINT) WHERE run = $1 AND source = $2';

/** Opens (creating when missing) the DuckDB store at `path`, or an in-memory one for `':memory:'`. */
export async function openDuckDbStore(
  path: string | ':memory:',
  options: DuckDbStoreOptions = {},
): Promise<DuckDbTelemetryStore> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TokenworksError('USAGE', 'the store path is empty: give a file name, or :memory:');
  }
  const file = path === ':memory:' ? path : resolve(path);
  const config: Record<string, string> = {};
  if (options.threads !== undefined) config.threads = String(Math.max(1, Math.floor(options.threads)));
  if (options.memoryLimit !== undefined) config.memory_limit = options.memoryLimit;
  config.checkpoint_threshold = options.checkpointThreshold ?? CHECKPOINT_THRESHOLD;
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
  const store = new DuckDbStore(
    path,
    instance,
    connection,
    options.bulkCopy === false ? undefined : VECTOR_COPY,
    options.memoryLimit,
  );
  await store.load();
  return store;
}

/** A (run, source) pair as one unambiguous key. */
const cursorKey = (run: string, source: string) => JSON.stringify([run, source]);

/** Series ids by run, field, GPU key and host name (`''` for none). */
type SeriesIds = Map<string, Map<string, Map<string, Map<string, number>>>>;

/**
 * Sets `used[index]` for each series index of `seriesIndex[0, length)`. The per-point loops of
 * {@link DuckDbStore.writeGpuPoints} are functions of their own over typed arrays: small, they are optimized once and
 * stay so. Inside writeGpuPoints (run once a batch) V8 compiled the method while its loop ran (on-stack replacement),
 * that code deoptimized in the next ingest's first batch (at a site it had no feedback for), and V8 compiled the
 * method and its chunk callback again: about 0.05 CPU-s of compiling in each ingest (bench/observe's 1× dcgm).
 */
function markUsed(seriesIndex: Int32Array, length: number, used: Uint8Array): void {
  for (let i = 0; i < length; i++) used[seriesIndex[i] as number] = 1;
}

/** `into[r]`: the store id of row `start + r`'s series, for `count` rows (a function of its own: see markUsed). */
function storeIdsOf(into: Int32Array, ids: Int32Array, seriesIndex: Int32Array, start: number, count: number): void {
  for (let r = 0; r < count; r++) into[r] = ids[seriesIndex[start + r] as number] as number;
}

class DuckDbStore implements DuckDbTelemetryStore {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private stepSeq = 0;
  private eventSeq = 0;
  private nextSeries = 0;
  private readonly series: SeriesIds = new Map();
  /** Field sets by id, and their ids by JSON text. */
  private readonly fieldSets: FieldSet[] = [];
  private readonly fieldSetIds = new Map<string, number>();
  /** Whether `steps` has the `fields` JSON column of stores written before field sets. */
  private legacyFields = false;
  /** The cursors the table holds, by {@link cursorKey}: read without a query; updated, not upserted. */
  private readonly cursors = new Map<string, SourceCursor>();
  /** Prepared statements by their SQL ({@link prepared}). */
  private readonly statements = new Map<string, DuckDBPreparedStatement>();
  /** Whether step rows are appended straight into `steps` (else staged): see {@link load}. */
  private directSteps = false;
  /** The step appends of a transaction left open ({@link StepAppendOptions.hold}): their source and last cursor. */
  private held: { readonly run: string; readonly source: string; readonly cursor: SourceCursor } | undefined;
  /** What to undo in this object when the open transaction rolls back (its appends' sequence numbers, field sets). */
  private undo: (() => void)[] = [];
  /** Streaming reads open on connections of their own ({@link gpuPoints}): no {@link trimCache} while any is. */
  private streams = 0;
  /** Rows appended in the open transaction, and rows committed since the last {@link trimCache}. */
  private pendingRows = 0;
  private rowsSinceTrim = 0;
  /** One data chunk per row shape, refilled for every chunk appended: see {@link chunkOf}. */
  private readonly chunks = new Map<readonly DuckDBType[], DuckDBDataChunk>();

  constructor(
    private readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly vectorCopy: VectorCopy | undefined,
    /** The `memory_limit` the store was opened with (undefined: DuckDB's default), restored after a trim. */
    private readonly memoryLimit: string | undefined,
  ) {}

  readonly holdsStepAppends = true;

  /** Whether number columns go into DuckDB's vectors by one bulk copy each ({@link DuckDbStoreOptions.bulkCopy}). */
  get bulkCopy(): boolean {
    return this.vectorCopy !== undefined;
  }

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
    for (const [run, source, offset, nextLine] of await this.rows(
      'SELECT run, source, "offset", next_line FROM cursors',
    )) {
      this.cursors.set(cursorKey(run as string, source as string), {
        offset: Number(offset),
        nextLine: Number(nextLine),
      });
    }
    for (const [id, keys] of await this.rows('SELECT id, keys FROM step_field_sets ORDER BY id')) {
      this.fieldSets[Number(id)] = fieldSetOf(JSON.parse(keys as string) as string[]);
      this.fieldSetIds.set(keys as string, Number(id));
    }
    const names = async () =>
      (
        await this.rows(
          "SELECT column_name FROM duckdb_columns() WHERE table_name = 'steps' AND schema_name = 'main' AND database_name = current_database() ORDER BY column_index",
        )
      ).map(([name]) => name as string);
    let columns = await names();
    this.legacyFields = columns.includes('fields');
    if (!columns.includes('field_set')) {
      await this.connection.run('ALTER TABLE steps ADD COLUMN field_set INTEGER');
      await this.connection.run('ALTER TABLE steps ADD COLUMN field_values VARCHAR');
      columns = await names();
    }
    // Rows are appended straight into `steps` when its columns are this version's, in its order (a store written
    // before field sets has a `fields` column: its rows are staged); else staged and moved by INSERT … SELECT.
    this.directSteps =
      this.vectorCopy !== undefined &&
      columns.length === STEP_COLUMNS.length &&
      columns.every((name, index) => name === STEP_COLUMNS[index]);
    await this.connection.run(
      `CREATE TEMP TABLE IF NOT EXISTS steps_stage (${STAGE_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ')})`,
    );
    for (const [id, run, gpuKey, hostname, field] of await this.rows(
      'SELECT series, run, gpu_key, hostname, field FROM gpu_series',
    )) {
      this.seriesMap(run as string, field as string, gpuKey as string).set(
        (hostname as string | null) ?? '',
        Number(id),
      );
    }
  }

  /**
   * Runs one of the store's frequent statements (a cursor's read or upsert) from its prepared statement, prepared
   * on first use: parsing and planning them each time cost about a millisecond.
   */
  private async prepared(sql: string, values: (string | number)[]): Promise<DuckDBResultReader> {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = await this.connection.prepare(sql);
      this.statements.set(sql, statement);
    }
    statement.bind(values);
    return statement.runAndReadAll();
  }

  private async rows(sql: string, values?: (string | number)[]): Promise<Row[]> {
    const reader = await this.connection.runAndReadAll(sql, values);
    return reader.getRows();
  }

  /**
   * Runs `work` after every earlier operation: one connection, one transaction at a time. A transaction left open by
   * {@link StepAppendOptions.hold} is committed first, unless `continues` (an append that may join it).
   */
  private serial<T>(work: () => Promise<T>, continues = false): Promise<T> {
    if (this.closed) return Promise.reject(new TokenworksError('INTERNAL', `the store ${this.path} is closed`));
    const next = this.queue.then(async () => {
      if (!continues) await this.commitHeld();
      return work();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Commits the transaction {@link StepAppendOptions.hold} left open, with its source's cursor; rolls back on error. */
  private async commitHeld(): Promise<void> {
    const held = this.held;
    if (held === undefined) return;
    try {
      await this.upsertCursors(held.run, [held]);
      await this.connection.run('COMMIT');
      this.held = undefined;
      this.undo = [];
      this.cursors.set(cursorKey(held.run, held.source), { ...held.cursor });
    } catch (error) {
      await this.rollback();
      throw this.appendError(error);
    }
    await this.committed();
  }

  /** After a commit: counts its rows, and trims DuckDB's block cache every {@link TRIM_ROWS} rows. */
  private async committed(): Promise<void> {
    this.rowsSinceTrim += this.pendingRows;
    this.pendingRows = 0;
    if (this.rowsSinceTrim >= TRIM_ROWS) await this.trimCache();
  }

  /**
   * Evicts DuckDB's cached table blocks down to {@link CACHE_KEEP} (outside any transaction; the blocks a later
   * commit or query needs are read back from the file): DuckDB evicts when its `memory_limit` is set, so the limit
   * is set to what the rest of its memory holds plus CACHE_KEEP, then restored at once. Only unpinned blocks go; a limit DuckDB cannot reach is refused and left as it was (the
   * blocks it could evict are gone anyway). A trim stores nothing: a failure is ignored. An in-memory store keeps
   * its tables in those blocks: it is never trimmed.
   */
  private async trimCache(): Promise<void> {
    this.rowsSinceTrim = 0;
    if (this.path === ':memory:' || this.streams > 0) return;
    try {
      const [row] = await this.rows(
        "SELECT sum(memory_usage_bytes) FILTER (WHERE tag <> 'BASE_TABLE'), sum(memory_usage_bytes) FILTER (WHERE tag = 'BASE_TABLE') FROM duckdb_memory()",
      );
      if (Number(row?.[1] ?? 0) <= CACHE_KEEP) return;
      const target = Math.ceil(Number(row?.[0] ?? 0) + CACHE_KEEP);
      await this.connection.run(`SET memory_limit = '${target}B'`);
    } catch {
      return;
    }
    // The limit was lowered: restored at once (a failure here would leave it low, so it is thrown).
    await this.connection.run(
      this.memoryLimit === undefined ? 'RESET memory_limit' : `SET memory_limit = ${sqlString(this.memoryLimit)}`,
    );
  }

  /** Rolls the open transaction back, and what its appends changed in this object. */
  private async rollback(): Promise<void> {
    this.held = undefined;
    this.pendingRows = 0;
    await this.connection.run('ROLLBACK').catch(() => undefined);
    for (const undo of this.undo.splice(0).reverse()) undo();
  }

  private appendError(error: unknown): TokenworksError {
    if (error instanceof TokenworksError) return error;
    return new TokenworksError('FILE_UNWRITABLE', `cannot append to the store ${this.path}: ${message(error)}`, {
      file: this.path,
      cause: error,
    });
  }

  private async upsertCursors(
    run: string,
    cursors: readonly { readonly source: string; readonly cursor: SourceCursor }[],
  ): Promise<void> {
    for (const { source, cursor } of cursors) {
      const known = this.cursors.has(cursorKey(run, source));
      await this.prepared(known ? CURSOR_UPDATE : CURSOR_INSERT, [run, source, cursor.offset, cursor.nextLine]);
    }
  }

  /** Runs `work` in one transaction with the cursor upsert; rolls back on any error. */
  private transaction(
    run: string,
    source: string,
    cursor: SourceCursor,
    work: () => Promise<void>,
    hold = false,
  ): Promise<void> {
    return this.transactionOf(run, [{ source, cursor }], work, hold);
  }

  /**
   * Runs `work` in one transaction with the upserts of every source's cursor; rolls back on any error (and the
   * appends held before it in the same transaction). `hold`: the transaction stays open, its cursor not yet
   * written ({@link StepAppendOptions.hold}).
   */
  private async transactionOf(
    run: string,
    cursors: readonly { readonly source: string; readonly cursor: SourceCursor }[],
    work: () => Promise<void>,
    hold = false,
  ): Promise<void> {
    checkName('run', run);
    for (const { source, cursor } of cursors) {
      checkName('source', source);
      checkCursor(cursor);
    }
    const only = cursors.length === 1 ? cursors[0] : undefined;
    return this.serial(async () => {
      // An append of the held source continues its transaction; anything else commits it first.
      const held = this.held;
      if (held !== undefined && (only === undefined || held.run !== run || held.source !== only.source)) {
        await this.commitHeld();
      }
      if (this.held === undefined) await this.connection.run('BEGIN TRANSACTION');
      try {
        await work();
        if (hold && only !== undefined) {
          this.held = { run, source: only.source, cursor: only.cursor };
          return;
        }
        this.held = undefined;
        await this.upsertCursors(run, cursors);
        await this.connection.run('COMMIT');
        this.undo = [];
        for (const { source, cursor } of cursors) this.cursors.set(cursorKey(run, source), { ...cursor });
      } catch (error) {
        await this.rollback();
        throw this.appendError(error);
      }
      await this.committed();
    }, true);
  }

  /**
   * The store's data chunk of `types`, emptied and sized to `count` rows: the appender copies a chunk's rows, so one
   * chunk serves every append. A chunk's memory is DuckDB's, freed only when the garbage collector finalizes its
   * JavaScript object, and V8 does not see it: a fresh chunk per 2,048 rows held about 20 bytes a GPU point (0.3 KB a
   * step row) until a collection came, so the process's RSS grew with the run (bench/observe.mjs).
   */
  private chunkOf(types: readonly DuckDBType[], count: number): DuckDBDataChunk {
    let chunk = this.chunks.get(types);
    if (chunk === undefined) {
      chunk = DuckDBDataChunk.create(types);
      this.chunks.set(types, chunk);
    } else chunk.reset();
    chunk.rowCount = count;
    return chunk;
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

  /** The id of a field set (the names of a line's fields, in order), adding it to `fresh` when new. */
  private fieldSet(keys: readonly string[], fresh: [number, string][]): number {
    const text = JSON.stringify(keys);
    let id = this.fieldSetIds.get(text);
    if (id === undefined) {
      id = this.fieldSets.length;
      this.fieldSets.push(fieldSetOf(keys));
      this.fieldSetIds.set(text, id);
      fresh.push([id, text]);
    }
    return id;
  }

  appendSteps(run: string, source: string, samples: readonly StepSample[], cursor: SourceCursor): Promise<void> {
    return this.appendStepSegments(run, source, [samples], cursor);
  }

  appendStepSegments(
    run: string,
    source: string,
    segments: readonly StepSegment[],
    cursor: SourceCursor,
    options: StepAppendOptions = {},
  ): Promise<void> {
    const fresh: [number, string][] = [];
    return this.transaction(
      run,
      source,
      cursor,
      async () => {
        const rows = segments.map(stepRows).filter((segment) => segment.count > 0);
        const count = rows.reduce((sum, segment) => sum + segment.count, 0);
        if (count === 0) return;
        const first = this.stepSeq;
        // Undone when the transaction rolls back (this append's failure, or a later one's while it is held): the
        // sequence numbers go back, and the new field sets are forgotten (they roll back with the transaction).
        this.undo.push(() => {
          this.stepSeq = first;
          for (const [id, text] of fresh) {
            this.fieldSetIds.delete(text);
            this.fieldSets.length = Math.min(this.fieldSets.length, id);
          }
        });
        try {
          if (this.directSteps) await this.writeSteps(run, source, rows, first, fresh);
          else await this.stageSteps(rows.flatMap(samplesOf), fresh);
          if (fresh.length > 0) {
            await this.appender('step_field_sets', (appender) => {
              for (const [id, keys] of fresh) {
                appender.appendInteger(id);
                appender.appendVarchar(keys);
                appender.endRow();
              }
            });
          }
          if (!this.directSteps) {
            await this.connection.run(STAGE_INSERT, [run, source, first]);
            await this.connection.run('DELETE FROM steps_stage');
          }
          this.stepSeq = first + count;
          this.pendingRows += count;
        } catch (error) {
          if (!this.directSteps) await this.connection.run('DELETE FROM steps_stage').catch(() => undefined);
          throw error;
        }
      },
      options.hold === true,
    );
  }

  /**
   * Appends step rows straight into `steps` (inside a transaction), each column of a chunk written at once: the
   * numbers and their NULLs (validity bits) by bulk copy, the strings one call each. No staging table, no
   * INSERT … SELECT, and no BigInt per NULL (the client library's `setItem(null)` costs several).
   */
  private async writeSteps(
    run: string,
    source: string,
    segments: readonly StepRows[],
    first: number,
    fresh: [number, string][],
  ): Promise<void> {
    const copy = this.vectorCopy as VectorCopy;
    const matrix = new Float64Array(NUMBER_COLUMNS * CHUNK_ROWS);
    const validity = new Uint32Array(NUMBER_COLUMNS * VALIDITY_WORDS);
    const present = new Int32Array(NUMBER_COLUMNS);
    const seq = new Uint32Array(2 * CHUNK_ROWS);
    const sets = new Int32Array(CHUNK_ROWS);
    const valid = new Uint32Array(VALIDITY_WORDS);
    const runs = new StringColumn(copy, false);
    const sources = new StringColumn(copy, false);
    const formats = new StringColumn(copy, true);
    const stampColumn = new StringColumn(copy, false);
    const valueColumn = new StringColumn(copy, true);
    const state: StepChunkState = {
      matrix,
      validity,
      present,
      seq,
      sets,
      valid,
      formats,
      stampColumn,
      valueColumn,
      fresh,
      lastKeys: [],
      lastSet: this.fieldSet([], fresh),
      // An object from the start, never undefined: a field that changes kind changes the state's hidden class.
      lastFields: NO_FIELDS,
      stamped: 0,
    };
    keptStepState.last = state; // its hidden class outlives the append (see keptStepState)
    let seqAt = first;
    await this.appender('steps', (appender) => {
      for (const { count: length, at: sampleAt, typedAt, stamp: stampOf, time: timeOf, row } of segments) {
        // The typed fields are all a row's sample is read for here (a MegatronRows row's values by index).
        const at = typedAt ?? sampleAt;
        for (let start = 0; start < length; start += CHUNK_ROWS) {
          const count = Math.min(CHUNK_ROWS, length - start);
          const chunk = this.chunkOf(STEP_TYPES, count);
          const vector = (name: string) => copy.data_chunk_get_vector(chunk.chunk, STEP_AT[name] as number);
          runs.start(vector('run'));
          sources.start(vector('source'));
          formats.start(vector('format'));
          stampColumn.start(vector('timestamp'));
          valueColumn.start(vector('field_values'));
          valid.fill(0);
          // The numbers, row by row (a read of each field by name, where a read by a variable key over many keys is a
          // slow lookup per value): a value where the sample has one, else NULL.
          matrix.fill(0, 0, NUMBER_COLUMNS * CHUNK_ROWS);
          validity.fill(0);
          present.fill(0);
          // The run and source are the chunk's, and a MegatronRows' format is too: one string each.
          runs.fill(count, run);
          sources.fill(count, source);
          if (row !== undefined) formats.fill(count, 'megatron');
          state.stamped = 0;
          this.fillStepChunk(state, count, start, seqAt, at, row, stampOf, timeOf);
          const stamped = state.stamped;
          for (const column of [runs, sources, formats, stampColumn, valueColumn]) column.finish(count);
          const stamps = vector('timestamp');
          if (stamped < count) {
            copy.vector_ensure_validity_writable(stamps);
            copy.copy_data_to_vector_validity(stamps, 0, valid.buffer, 0, Math.ceil(count / 64) * 8);
          }
          copy.copy_data_to_vector(vector('seq'), 0, seq.buffer, 0, count * 8);
          copy.copy_data_to_vector(vector('field_set'), 0, sets.buffer, 0, count * 4);
          for (let c = 0; c < NUMBER_COLUMNS; c++) {
            const index =
              c === 0 ? (STEP_AT.line as number) : c === NUMBER_COLUMNS - 1 ? (STEP_AT.time as number) : 4 + c;
            const vector = copy.data_chunk_get_vector(chunk.chunk, index);
            copy.copy_data_to_vector(vector, 0, matrix.buffer, c * CHUNK_ROWS * 8, count * 8);
            if (present[c] !== count) {
              copy.vector_ensure_validity_writable(vector);
              copy.copy_data_to_vector_validity(
                vector,
                0,
                validity.buffer,
                c * VALIDITY_WORDS * 4,
                Math.ceil(count / 64) * 8,
              );
            }
          }
          appender.appendDataChunk(chunk);
        }
        seqAt += length;
      }
    });
  }

  /**
   * Fills one chunk's columns from rows `start` to `start + count` of a segment: the numbers into the matrix with
   * their validity, the sequence numbers, field sets, field values and stamps. A method of its own, called once a
   * chunk, so V8 compiles it as a function and keeps it from one ingest to the next (the same loop inlined in the
   * appender's callback was compiled mid-loop there and thrown away at every ingest: bench/observe.mjs).
   */
  private fillStepChunk(
    state: StepChunkState,
    count: number,
    start: number,
    seqAt: number,
    at: (i: number) => StepSample,
    row: StepRows['row'],
    stampOf: StepRows['stamp'],
    timeOf: StepRows['time'],
  ): void {
    const { matrix, validity, present, seq, sets, valid, formats, stampColumn, valueColumn, fresh } = state;
    const number = (c: number, r: number, value: number | undefined) => {
      if (typeof value === 'number') {
        matrix[c * CHUNK_ROWS + r] = value;
        const word = c * VALIDITY_WORDS + (r >> 5);
        validity[word] = (validity[word] as number) | (1 << (r & 31));
        present[c] = (present[c] as number) + 1;
      }
    };
    for (let r = 0; r < count; r++) {
      const sample = at(start + r);
      if (row === undefined) formats.set(r, String(sample.format));
      const index = seqAt + start + r;
      seq[2 * r] = index >>> 0;
      seq[2 * r + 1] = Math.floor(index / 2 ** 32);
      // Consecutive lines of one log print the same fields: the set of the row before, without a lookup (and
      // rows of one MegatronRows share one fields object: no keys to compare).
      if (sample.fields !== state.lastFields) {
        state.lastFields = sample.fields;
        const keys = Object.keys(sample.fields);
        if (keys.length !== state.lastKeys.length || keys.some((key, k) => key !== state.lastKeys[k])) {
          state.lastKeys = keys;
          state.lastSet = this.fieldSet(keys, fresh);
        }
      }
      sets[r] = state.lastSet;
      const set = this.fieldSets[state.lastSet] as FieldSet;
      valueColumn.set(
        r,
        row === undefined
          ? fieldValues(sample, set)
          : fieldValues(sample, set, row.values, (row.from + start + r) * row.width),
      );
      const stamp = stampOf(start + r);
      if (stamp !== undefined) {
        stampColumn.set(r, stamp);
        valid[r >> 5] = (valid[r >> 5] as number) | (1 << (r & 31));
        state.stamped++;
      }
      // In the order of STEP_NUMBERS, between the line and the time.
      number(0, r, sample.line);
      number(1, r, sample.step);
      number(2, r, sample.iterationSeconds);
      number(3, r, sample.loss);
      number(4, r, sample.consumedSamples);
      number(5, r, sample.tokens);
      number(6, r, sample.trainIterations);
      number(7, r, sample.globalBatchSize);
      number(8, r, sample.tflopsPerGpu);
      number(9, r, sample.learningRate);
      number(10, r, sample.tokensPerSecondPerGpu);
      number(11, r, sample.gradNorm);
      number(12, r, sample.mfuPercent);
      number(13, r, sample.memoryGiB);
      number(14, r, sample.skippedIterations);
      number(15, r, sample.nanIterations);
      number(16, r, timeOf(start + r));
    }
  }

  /**
   * Stages step rows in `steps_stage` (inside a transaction), for {@link STAGE_INSERT} to move: a store written
   * before field sets, or bindings without bulk copy.
   */
  private async stageSteps(samples: readonly StepSample[], fresh: [number, string][]): Promise<void> {
    await this.appender('steps_stage', (appender) => {
      let lastKeys: readonly string[] = [];
      let lastSet = this.fieldSet(lastKeys, fresh);
      for (let start = 0; start < samples.length; start += CHUNK_ROWS) {
        const count = Math.min(CHUNK_ROWS, samples.length - start);
        const chunk = this.chunkOf(STAGE_TYPES, count);
        const present = new Int32Array(count);
        const index = chunk.getColumnVector(0);
        const format = chunk.getColumnVector(2);
        const line = chunk.getColumnVector(3);
        const time = chunk.getColumnVector(4);
        const fieldSet = chunk.getColumnVector(5 + STEP_NUMBERS.length);
        const valuesVector = chunk.getColumnVector(6 + STEP_NUMBERS.length);
        for (let r = 0; r < count; r++) {
          const sample = samples[start + r] as StepSample;
          index.setItem(r, start + r);
          format.setItem(r, FORMATS.indexOf(sample.format));
          line.setItem(r, sample.line);
          const seconds = stampSeconds(sample.timestamp);
          time.setItem(r, seconds ?? 0);
          let mask = (seconds === undefined ? 0 : TIME_BIT) | (sample.timestamp === undefined ? 0 : TIMESTAMP_BIT);
          // Consecutive lines of one log print the same fields: the set of the row before, without a lookup.
          const keys = Object.keys(sample.fields);
          if (keys.length !== lastKeys.length || keys.some((key, k) => key !== lastKeys[k])) {
            lastKeys = keys;
            lastSet = this.fieldSet(keys, fresh);
          }
          fieldSet.setItem(r, lastSet);
          valuesVector.setItem(
            r,
            `${fieldValues(sample, this.fieldSets[lastSet] as FieldSet)}|${sample.timestamp ?? ''}`,
          );
          present[r] = mask;
          mask = 0;
        }
        STEP_NUMBERS.forEach(([, key], c) => {
          const vector = chunk.getColumnVector(5 + c);
          const bit = 1 << c;
          const number = NUMBER_OF[key] as NumberOf;
          for (let r = 0; r < count; r++) {
            const value = number(samples[start + r] as StepSample);
            if (value === undefined) vector.setItem(r, 0);
            else {
              vector.setItem(r, value);
              present[r] = (present[r] as number) | bit;
            }
          }
          vector.flush();
        });
        const mask = chunk.getColumnVector(1);
        for (let r = 0; r < count; r++) mask.setItem(r, present[r] as number);
        for (const vector of [index, mask, format, line, time, fieldSet, valuesVector]) vector.flush();
        appender.appendDataChunk(chunk);
      }
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
    const series: GpuSeriesKey[] = [];
    const seriesIndex = new Int32Array(points.length);
    const time = new Float64Array(points.length);
    const value = new Float64Array(points.length);
    let last: GpuPoint | undefined;
    for (let i = 0; i < points.length; i++) {
      const point = points[i] as GpuPoint;
      if (typeof point.gpuKey !== 'string' || point.gpuKey === '' || typeof point.field !== 'string') {
        return this.transaction(run, source, cursor, async () => {
          throw new TokenworksError(
            'USAGE',
            `GPU point ${i} has no gpuKey or field (${JSON.stringify(point).slice(0, 120)}): every point names its GPU and DCGM field`,
          );
        });
      }
      // Consecutive points of one series (a scrape's family group) share one entry of the batch's series table.
      if (
        last === undefined ||
        point.gpuKey !== last.gpuKey ||
        point.field !== last.field ||
        point.hostname !== last.hostname
      ) {
        series.push(point);
      }
      last = point;
      seriesIndex[i] = series.length - 1;
      time[i] = point.time;
      value[i] = point.value;
    }
    return this.appendGpuPointColumns(run, source, { length: points.length, series, seriesIndex, time, value }, cursor);
  }

  appendGpuPointColumns(run: string, source: string, columns: GpuPointColumns, cursor: SourceCursor): Promise<void> {
    const added: [Map<string, number>, string][] = [];
    return this.forgetOnFailure(
      added,
      this.transaction(run, source, cursor, () => this.writeGpuPoints(run, columns, added)),
    );
  }

  appendGpuBatch(run: string, batch: GpuBatch): Promise<void> {
    const added: [Map<string, number>, string][] = [];
    return this.forgetOnFailure(
      added,
      this.transactionOf(run, batch.sources, async () => {
        await this.writeGpuPoints(run, batch.columns, added);
        for (const { source, events } of batch.sources) {
          if (events !== undefined) await this.writeEvents(run, source, events);
        }
      }),
    );
  }

  /** The new series ids roll back with a failed transaction: forget them here too. */
  private async forgetOnFailure(added: readonly [Map<string, number>, string][], done: Promise<void>): Promise<void> {
    try {
      await done;
    } catch (error) {
      for (const [hosts, host] of added) hosts.delete(host);
      throw error;
    }
  }

  /** Appends GPU points (inside a transaction), noting the series ids it adds in `added`. */
  private async writeGpuPoints(
    run: string,
    columns: GpuPointColumns,
    added: [Map<string, number>, string][],
  ): Promise<void> {
    {
      const { length, seriesIndex, time, value } = columns;
      if (length === 0) return;
      this.pendingRows += length;
      // Store ids of the batch's series, resolved when first used (-1: not yet).
      const ids = new Int32Array(columns.series.length).fill(-1);
      const fresh: [number, GpuSeriesKey][] = [];
      const resolve = (index: number): number => {
        const key = columns.series[index];
        if (key === undefined || typeof key.gpuKey !== 'string' || key.gpuKey === '' || typeof key.field !== 'string') {
          throw new TokenworksError(
            'USAGE',
            `GPU series ${index} has no gpuKey or field (${JSON.stringify(key).slice(0, 120)}): every point names its GPU and DCGM field`,
          );
        }
        const hosts = this.seriesMap(run, key.field, key.gpuKey);
        const host = key.hostname ?? '';
        let id = hosts.get(host);
        if (id === undefined) {
          id = this.nextSeries++;
          hosts.set(host, id);
          added.push([hosts, host]);
          fresh.push([id, key]);
        }
        ids[index] = id;
        return id;
      };
      // Every series of the batch resolved first (a new one is added to `gpu_series` before its samples), in the
      // order of their indexes (the order the reader met them); the per-point loop is markUsed's.
      const used = new Uint8Array(columns.series.length);
      markUsed(seriesIndex, length, used);
      for (let index = 0; index < used.length; index++) if (used[index] === 1) resolve(index);
      if (fresh.length > 0) {
        await this.appender('gpu_series', (appender) => {
          for (const [id, key] of fresh) {
            appender.appendInteger(id);
            appender.appendVarchar(run);
            appender.appendVarchar(key.gpuKey);
            if (key.hostname === undefined || key.hostname === '') appender.appendNull();
            else appender.appendVarchar(key.hostname);
            appender.appendVarchar(key.field);
            appender.endRow();
          }
        });
      }
      const copy = this.vectorCopy;
      // The store ids of a chunk's rows, copied into its series vector at once (bulk copy).
      const idsOfChunk = new Int32Array(CHUNK_ROWS);
      await this.appender('gpu_samples', (appender) => {
        for (let start = 0; start < length; start += CHUNK_ROWS) {
          const count = Math.min(CHUNK_ROWS, length - start);
          const chunk = this.chunkOf(GPU_SAMPLE_TYPES, count);
          storeIdsOf(idsOfChunk, ids, seriesIndex, start, count);
          if (copy !== undefined) {
            // An emptied chunk's vectors are all valid (no NULL): only the values are written.
            copy.copy_data_to_vector(copy.data_chunk_get_vector(chunk.chunk, 0), 0, idsOfChunk.buffer, 0, count * 4);
            copy.copy_data_to_vector(
              copy.data_chunk_get_vector(chunk.chunk, 1),
              0,
              time.buffer,
              time.byteOffset + start * 8,
              count * 8,
            );
            copy.copy_data_to_vector(
              copy.data_chunk_get_vector(chunk.chunk, 2),
              0,
              value.buffer,
              value.byteOffset + start * 8,
              count * 8,
            );
          } else {
            const seriesVector = chunk.getColumnVector(0);
            const timeVector = chunk.getColumnVector(1);
            const valueVector = chunk.getColumnVector(2);
            for (let r = 0; r < count; r++) {
              seriesVector.setItem(r, idsOfChunk[r] as number);
              timeVector.setItem(r, time[start + r] as number);
              valueVector.setItem(r, value[start + r] as number);
            }
            seriesVector.flush();
            timeVector.flush();
            valueVector.flush();
          }
          appender.appendDataChunk(chunk);
        }
      });
    }
  }

  appendEvents(run: string, source: string, events: readonly RunEvent[], cursor: SourceCursor): Promise<void> {
    return this.transaction(run, source, cursor, () => this.writeEvents(run, source, events));
  }

  /** Appends events (inside a transaction). */
  private async writeEvents(run: string, source: string, events: readonly RunEvent[]): Promise<void> {
    {
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
    }
  }

  async cursor(run: string, source: string): Promise<SourceCursor | undefined> {
    checkName('run', run);
    checkName('source', source);
    // The table's cursors, as committed (read at open, kept on each commit): after every earlier append.
    return this.serial(async () => this.cursors.get(cursorKey(run, source)));
  }

  async steps(run: string): Promise<StepSample[]> {
    checkName('run', run);
    return this.serial(async () => {
      const numbers = STEP_NUMBERS.map(([name]) => name);
      const rows = await this.rows(
        `SELECT line, format, ${stampSql('')}, field_set, field_values, ${this.legacyFields ? 'fields' : 'NULL'}, ${numbers.join(', ')}
           FROM steps WHERE run = $1 ORDER BY seq`,
        [run],
      );
      return rows.map((row) => {
        const [line, format, timestamp, set, values, legacy] = row;
        const sample: Record<string, unknown> = { format: format as StepLogFormat, line };
        STEP_NUMBERS.forEach(([, key], index) => {
          const value = row[6 + index];
          if (value !== null && value !== undefined) sample[key] = value;
        });
        if (timestamp !== null) sample.timestamp = timestamp;
        const keys = set === null ? undefined : this.fieldSets[Number(set)]?.keys;
        sample.fields =
          keys !== undefined
            ? readFieldValues(sample, keys, (values as string | null) ?? '')
            : readFields(legacy as string | null);
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
    this.streams++; // no cache trim while a stream reads: its chunks must not meet a lowered memory_limit
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
      this.streams--;
      connection.closeSync();
    }
  }

  async events(run: string, options: { readonly kind?: string; readonly limit?: number } = {}): Promise<RunEvent[]> {
    checkName('run', run);
    if (options.kind !== undefined) checkName('kind', options.kind);
    const limit = options.limit;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
      throw new TokenworksError('USAGE', `events limit must be a whole number of events, 0 or more, got ${limit}`);
    }
    return this.serial(async () => {
      const rows = await this.rows(
        `SELECT time, kind, gpu_key, detail FROM events WHERE run = $1${options.kind === undefined ? '' : ' AND kind = $2'} ORDER BY seq${limit === undefined ? '' : ` LIMIT ${limit}`}`,
        options.kind === undefined ? [run] : [run, options.kind],
      );
      return rows.map(([time, kind, gpuKey, detail]) => ({
        time: (time as number | null) ?? Number.NaN,
        kind: kind as string,
        ...(typeof gpuKey === 'string' && { gpuKey }),
        detail: (detail as string | null) ?? '',
      }));
    });
  }

  async countEvents(run: string, kind: string): Promise<number> {
    checkName('run', run);
    checkName('kind', kind);
    return this.serial(async () => {
      const [row] = await this.rows('SELECT count(*) FROM events WHERE run = $1 AND kind = $2', [run, kind]);
      return Number(row?.[0] ?? 0);
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
        // The field set's names beside the values (an empty value is its typed column's), not the set's id.
        [
          'steps',
          `SELECT s.* EXCLUDE (field_set, timestamp), ${stampSql('s.')} AS timestamp, f.keys AS field_names FROM steps s LEFT JOIN step_field_sets f ON f.id = s.field_set WHERE s.run = $1 ORDER BY s.seq`,
        ],
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
    // A held transaction is committed first; the database is closed even when that fails (the error is thrown).
    const done = this.serial(async () => {
      try {
        await this.commitHeld();
      } finally {
        for (const statement of this.statements.values()) statement.destroySync();
        this.statements.clear();
        this.connection.closeSync();
        this.instance.closeSync();
      }
    }, true);
    this.closed = true;
    return done;
  }
}
