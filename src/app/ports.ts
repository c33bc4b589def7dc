/**
 * The ports of the use cases: what an `app/` module needs from outside, as interfaces that adapters implement.
 * A {@link TaskRunner} runs serialisable tasks (inline in the core, on worker threads in `node/`, later on a
 * queue); {@link Progress} reports long work; {@link DataSource} resolves trace data by reference, so tasks
 * carry an id, not 90k inline numbers. Pure: no Node APIs.
 * @module
 */
import type { MalformedStepLine, StepSample } from '../telemetry/step-log.js';
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
