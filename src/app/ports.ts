/**
 * The ports of the use cases: what an `app/` module needs from outside, as interfaces that adapters implement.
 * A {@link TaskRunner} runs serialisable tasks (inline in the core, on worker threads in `node/`, later on a
 * queue); {@link Progress} reports long work; {@link DataSource} resolves trace data by reference, so tasks
 * carry an id, not 90k inline numbers. Pure: no Node APIs.
 * @module
 */
import type { MalformedStepLine, MegatronRows, StepSample, StepSegment } from '../telemetry/step-log.js';
import type { DataSource } from './data.js';
import type { Task, TaskResult } from './tasks.js';

export type { CompareDataRef, DataSource } from './data.js';

/** Options of one {@link TaskRunner.run} call. */
export interface RunOptions {
  /** Aborting rejects the returned promise with an `AbortError` and drops the task if it has not started. */
  readonly signal?: AbortSignal;
}

/** Runs serialisable tasks; every runner gives the inline runner's answer (see runner.contract.ts). */
export interface TaskRunner {
  /** How many tasks it runs at once: the fan-out splits work into about this many shards. */
  readonly concurrency: number;
  /** Runs one task. */
  run<T extends Task>(task: T, options?: RunOptions): Promise<TaskResult<T>>;
  /** Releases the runner's resources (threads, connections). */
  close(): Promise<void>;
}

/** Reports the progress of long work: one stage at a time. */
export interface Progress {
  /** A stage of `total` units begins (e.g. "replicas", 100). */
  start(stage: string, total: number): void;
  /** `amount` more units of the current stage are done. */
  tick(amount?: number): void;
  /** The current stage ended. */
  done(): void;
}

/** A {@link Progress} that reports nothing. */
export const SILENT: Progress = { start() {}, tick() {}, done() {} };

/**
 * A batch of an observed run's training steps, as a telemetry source delivers them: in log order, with the
 * malformed lines met on the way and where a reopened source resumes.
 */
export interface StepBatch {
  readonly samples: readonly StepSample[];
  /** The same samples as segments (runs of Megatron lines as columns), where the source reads them so. */
  readonly segments?: readonly StepSegment[];
  readonly malformed: readonly MalformedStepLine[];
  /** Lines of the batch that were no step line of any format. */
  readonly ignored: number;
  /** Bytes of complete lines read so far: pass it back as `fromOffset` to resume without duplicates. */
  readonly offset: number;
  /** The number of the next line to read (1-based), for `fromLine`. */
  readonly nextLine: number;
}

/** Where an observed run's telemetry comes from (a log file read or followed, later scrapes and PromQL). */
export interface TelemetrySource {
  /** The run's training steps, batch by batch; a followed source ends when `signal` aborts. */
  steps(options?: { readonly signal?: AbortSignal }): AsyncIterable<StepBatch>;
}

/** One GPU sample as stored: when (Unix seconds), which GPU, which `DCGM_FI_*` field, and its value. */
export interface GpuPoint {
  readonly time: number;
  /** The GPU's stable key (`DcgmSample.gpuKey`: `hostname/uuid`, or the index or device). */
  readonly gpuKey: string;
  readonly hostname?: string;
  readonly field: string;
  readonly value: number;
}

/** Something that happened to an observed run at a time (an XID, a restart seen, a note a source made). */
export interface RunEvent {
  /** Unix seconds. */
  readonly time: number;
  /** What kind (`xid`, `restart`, `malformed`, …). */
  readonly kind: string;
  readonly gpuKey?: string;
  readonly detail: string;
}

/** Where a source stopped: pass it back to the source to resume without reading anything twice. */
export interface SourceCursor {
  /** Bytes of the source consumed (complete lines). */
  readonly offset: number;
  /** The number of the next line to read (1-based). */
  readonly nextLine: number;
}

/** How much a store holds of one run. */
export interface StoreCounts {
  readonly steps: number;
  readonly gpuPoints: number;
  readonly events: number;
}

/** One table a store exported, where it went, and its row count. */
export interface ExportedTable {
  readonly table: string;
  readonly path: string;
  readonly rows: number;
}

/**
 * A durable store of observed runs (the default is embedded: DuckDB in `node/`). Every append writes its rows and
 * the source's new cursor in one transaction, so a store reopened after a crash resumes each source where its last
 * committed batch ended, with nothing lost and nothing twice.
 */
export interface TelemetryStore {
  /** Appends a source's step samples and its cursor, atomically. */
  appendSteps(run: string, source: string, samples: readonly StepSample[], cursor: SourceCursor): Promise<void>;
  /**
   * {@link appendSteps} of segments (runs of Megatron lines as columns: no object per line), where the store takes
   * them; each {@link MegatronRows} from its `start`.
   */
  appendStepSegments?(
    run: string,
    source: string,
    segments: readonly StepSegment[],
    cursor: SourceCursor,
  ): Promise<void>;
  /** Appends a source's GPU samples and its cursor, atomically. */
  appendGpuPoints(run: string, source: string, points: readonly GpuPoint[], cursor: SourceCursor): Promise<void>;
  /** Appends a source's events and its cursor, atomically. */
  appendEvents(run: string, source: string, events: readonly RunEvent[], cursor: SourceCursor): Promise<void>;
  /** Where `source` of `run` stopped; undefined if it never delivered. */
  cursor(run: string, source: string): Promise<SourceCursor | undefined>;
  /** The run's step samples in the order they were appended (log order, rewinds kept). */
  steps(run: string): Promise<StepSample[]>;
  /** The run's GPU samples in time order, in batches (memory bounded by the batch, not the run). */
  gpuPoints(run: string, options?: { readonly fields?: readonly string[] }): AsyncIterable<readonly GpuPoint[]>;
  /** The run's events in the order appended; `kind` keeps one kind, `limit` the first that many. */
  events(run: string, options?: { readonly kind?: string; readonly limit?: number }): Promise<RunEvent[]>;
  /** How many events of `kind` the run holds. */
  countEvents(run: string, kind: string): Promise<number>;
  counts(run: string): Promise<StoreCounts>;
  /** The runs the store holds. */
  runs(): Promise<string[]>;
  /** Writes the run's tables as Parquet files into `folder`. */
  exportParquet(run: string, folder: string): Promise<ExportedTable[]>;
  close(): Promise<void>;
}

/** What every use case may be given. */
export interface Ports {
  readonly runner: TaskRunner;
  readonly progress?: Progress;
  readonly data?: DataSource;
}

/** Options every use case takes. */
export interface UseCaseOptions {
  readonly signal?: AbortSignal;
}

/** The error a cancelled use case or task rejects with (the DOM's `AbortError`). */
export function abortError(signal: AbortSignal | undefined): Error {
  const reason = signal?.reason;
  if (reason instanceof Error) return reason;
  const error = new Error(typeof reason === 'string' ? reason : 'the operation was aborted');
  error.name = 'AbortError';
  return error;
}

/** Throws the abort error when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
