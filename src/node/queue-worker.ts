/**
 * The worker side of the queue runner: a BullMQ Worker that takes jobs from the queue, runs each task on a
 * {@link TaskRunner} (worker threads in `tokenworks worker`, so the event loop stays free to renew job locks),
 * and returns the result in wire JSON; a failing task fails its job with its error, code and all. A worker that
 * dies mid-task stops renewing its lock: after `lockDuration` another worker's stalled-job check (every
 * `stalledInterval`) puts the job back in the queue, at most `maxStalledCount` times.
 * @module
 */
import { type Job, Worker } from 'bullmq';
import type { TaskRunner } from '../app/ports.js';
import type { Task } from '../app/tasks.js';
import { type DEFAULT_QUEUE, parseRedisUrl } from './queue-runner.js';
import { errorToWire, fromWire, toWire } from './wire.js';

/** How long a job's lock lasts without renewal before other workers may take the job, milliseconds. */
export const DEFAULT_LOCK_DURATION_MS = 30_000;

/** How many times a job may be put back after its worker vanished before it fails. */
export const DEFAULT_MAX_STALLED = 2;

/** Options of {@link createQueueWorker}. */
export interface QueueWorkerOptions {
  /** The Redis URL (`redis://host:port[/db][?queue=NAME]`). */
  readonly url: string;
  /** The queue (overrides the URL's `?queue=`; default {@link DEFAULT_QUEUE}). */
  readonly queue?: string;
  /** Runs the tasks; its concurrency is how many jobs the worker takes at once. */
  readonly runner: TaskRunner;
  /** Lock duration, milliseconds (default {@link DEFAULT_LOCK_DURATION_MS}). */
  readonly lockDurationMs?: number;
  /** Stalled-job check interval, milliseconds (default: the lock duration). */
  readonly stalledIntervalMs?: number;
  /** Default {@link DEFAULT_MAX_STALLED}. */
  readonly maxStalledCount?: number;
  /** The worker's name, stored on every job it processes (`job.processedBy`). */
  readonly name?: string;
  /** Called after each task, with its job id and whether it succeeded. */
  readonly onTask?: (jobId: string, ok: boolean) => void;
  /** Called with the worker's connection errors (ioredis reconnects by itself). */
  readonly onError?: (error: Error) => void;
  /** The option the URL came from, for error messages (default "--redis"). */
  readonly option?: string;
}

/** A running queue worker. */
export interface QueueWorker {
  readonly queue: string;
  /** Tasks finished so far (succeeded or failed). */
  served(): number;
  /** Resolves when the worker is connected and taking jobs. */
  ready(): Promise<void>;
  /** Stops taking jobs, waits for the running ones and closes the connections (not the runner). */
  close(): Promise<void>;
}

/** Starts a worker on the queue at `options.url`. */
export function createQueueWorker(options: QueueWorkerOptions): QueueWorker {
  const target = parseRedisUrl(options.url, options.option ?? '--redis', options.queue);
  const lockDuration = options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS;
  let served = 0;
  const processor = async (job: Job) => {
    let ok = false;
    try {
      const result = await options.runner.run(fromWire(job.data) as Task);
      ok = true;
      return toWire(result);
    } catch (error) {
      throw new Error(errorToWire(error));
    } finally {
      served += 1;
      options.onTask?.(job.id ?? '', ok);
    }
  };
  const worker = new Worker(target.queue, processor, {
    // Workers block on Redis: BullMQ needs ioredis to retry forever rather than fail a pending command.
    connection: { url: target.url, maxRetriesPerRequest: null },
    concurrency: Math.max(1, options.runner.concurrency),
    lockDuration,
    stalledInterval: options.stalledIntervalMs ?? lockDuration,
    maxStalledCount: options.maxStalledCount ?? DEFAULT_MAX_STALLED,
    ...(options.name !== undefined && { name: options.name }),
  });
  worker.on('error', (error) => options.onError?.(error));
  return {
    queue: target.queue,
    served: () => served,
    ready: async () => {
      await worker.waitUntilReady();
    },
    close: () => worker.close(),
  };
}
