/**
 * A {@link TaskRunner} on a BullMQ queue in Redis (ecosystem.md §2 (a)): each task is one job, its data the task in
 * wire JSON (trace data by reference, never inline), its return value the result; `tokenworks worker` processes
 * (queue-worker.ts) serve the queue from any number of machines. Results come back through one QueueEvents stream
 * and are keyed by job id, so each task resolves once, whichever worker finished it: a worker killed mid-task loses
 * its lock, BullMQ's stalled-job check hands the job to another worker, and the caller still gets one answer.
 * Job ids carry a per-run id, so concurrent runs on one queue (and one set of workers) never mix their results.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { abortError, type RunOptions, type TaskRunner } from '../app/ports.js';
import type { Task, TaskResult } from '../app/tasks.js';
import { TokenworksError } from '../errors.js';
import { errorFromWire, fromWire, toWire } from './wire.js';

/** The queue a runner and a worker use when none is named. */
export const DEFAULT_QUEUE = 'tokenworks';

/** The concurrency a queue runner reports by default: how finely the fan-out splits work for the workers. */
export const DEFAULT_QUEUE_CONCURRENCY = 16;

/** How long connecting to Redis (and its first answer) may take before the runner gives up, milliseconds. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** BullMQ's key prefix (its default). */
const PREFIX = 'bull';

/** A Redis URL as the runner and worker take it: the connection, and the queue named in `?queue=`. */
export interface RedisTarget {
  /** The URL without the `queue` parameter (what ioredis connects to). */
  readonly url: string;
  /** The URL as messages show it: any password replaced by `***`. */
  readonly shown: string;
  readonly queue: string;
}

/**
 * Parses `text` (`redis://[user:password@]host:port[/db][?queue=NAME]`, or `rediss://` for TLS) given as `option`;
 * `queue`, when given, overrides the URL's. A usage error names the option, the value and the form expected.
 */
export function parseRedisUrl(text: string, option: string, queue?: string): RedisTarget {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
    throw new TokenworksError(
      'USAGE',
      `${option} must be a Redis URL such as redis://127.0.0.1:6379 (optionally /DB and ?queue=NAME), got "${text}"`,
    );
  }
  const named = queue ?? url.searchParams.get('queue') ?? DEFAULT_QUEUE;
  checkQueueName(named, queue === undefined ? `${option} ${text}` : 'the queue');
  url.searchParams.delete('queue');
  const connectTo = url.toString();
  if (url.password !== '') url.password = '***';
  return { url: connectTo, shown: url.toString(), queue: named };
}

/** Checks a queue name (1 to 100 letters, digits, "_", "." or "-"); a usage error names `where` otherwise. */
export function checkQueueName(name: string, where: string): void {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(name)) {
    throw new TokenworksError(
      'USAGE',
      `${where}: the queue name must be 1 to 100 letters, digits, "_", "." or "-", got "${name}"`,
    );
  }
}

/**
 * Connects to `target` once, with a bounded timeout and no retries, checks that it is a Redis of at least 6.2
 * (what BullMQ needs), and returns the id of the last event of the queue's event stream ("0-0" when empty), from
 * which a new listener starts without missing anything. Failures are usage errors naming `option` and the URL.
 */
export async function probeRedis(target: RedisTarget, option: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<string> {
  const client = new Redis(target.url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // With no retries, connect() rejects with "Connection is closed": the reason is the socket's error before it.
  let socketError: Error | undefined;
  client.on('error', (error: Error) => {
    socketError ??= error;
  });
  const reasonOf = (error: unknown) =>
    (socketError ?? (error instanceof Error ? error : new Error(String(error)))).message;
  const fail = (reason: string) =>
    new TokenworksError(
      'USAGE',
      `${option} ${target.shown}: ${reason}; start redis-server there (Redis 6.2 or later) or check the URL`,
    );
  const probe = async () => {
    try {
      await client.connect();
    } catch (error) {
      throw fail(`cannot reach Redis (${reasonOf(error)})`);
    }
    let info: string;
    try {
      info = await client.info('server');
    } catch (error) {
      throw fail(`Redis did not answer (${reasonOf(error)})`);
    }
    const version = /redis_version:(\d+)\.(\d+)/.exec(info);
    const [major, minor] = version ? [Number(version[1]), Number(version[2])] : [0, 0];
    if (major < 6 || (major === 6 && minor < 2)) {
      throw fail(`this Redis is version ${version ? `${major}.${minor}` : 'unknown'}, BullMQ needs 6.2 or later`);
    }
    const last = (await client.xrevrange(`${PREFIX}:${target.queue}:events`, '+', '-', 'COUNT', 1)) as [
      string,
      string[],
    ][];
    return last[0]?.[0] ?? '0-0';
  };
  // One bound on the whole exchange: a server that accepts the connection and never answers must not hang us.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(fail(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    return await Promise.race([probe(), deadline]);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** The tasks waiting on each signal: one listener per signal, however many tasks share it (a study's hundreds). */
const aborts = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `onAbort` when `signal` aborts; returns the function that stops it. */
function onAbortOf(signal: AbortSignal, onAbort: () => void): () => void {
  let set = aborts.get(signal);
  if (!set) {
    const handlers = new Set<() => void>();
    set = handlers;
    aborts.set(signal, handlers);
    signal.addEventListener(
      'abort',
      () => {
        for (const handler of [...handlers]) handler();
      },
      { once: true },
    );
  }
  set.add(onAbort);
  const handlers = set;
  return () => handlers.delete(onAbort);
}

/** Options of {@link createQueueRunner}. */
export interface QueueRunnerOptions {
  /** The Redis URL (see {@link parseRedisUrl}). */
  readonly url: string;
  /** The queue (overrides the URL's `?queue=`; default {@link DEFAULT_QUEUE}). */
  readonly queue?: string;
  /** The concurrency the fan-out splits work for (default {@link DEFAULT_QUEUE_CONCURRENCY}). */
  readonly concurrency?: number;
  /** Bound on connecting to Redis, milliseconds (default {@link CONNECT_TIMEOUT_MS}). */
  readonly connectTimeoutMs?: number;
  /** The option the URL came from, for error messages (default "--runner"). */
  readonly option?: string;
}

/** A {@link TaskRunner} on a BullMQ queue. */
export interface QueueRunner extends TaskRunner {
  /** The queue's name. */
  readonly queue: string;
  /** The Redis URL as messages show it (no password). */
  readonly shown: string;
  /** Connects (once): resolves when the queue and its result stream are ready, or rejects with a usage error. */
  ready(): Promise<void>;
}

/** A task waiting for its job's result. */
interface Waiting {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly detach: () => void;
  added: boolean;
}

/** A job to add with the next batch. */
interface Submission {
  readonly id: string;
  readonly name: string;
  readonly data: unknown;
}

/**
 * Creates a runner that sends every task to the BullMQ queue at `options.url`; it connects on {@link
 * QueueRunner.ready} or the first task. Cancelling a task removes its job when no worker has taken it yet, and
 * rejects with an `AbortError` either way (a worker already on it finishes, and its answer is dropped).
 */
export function createQueueRunner(options: QueueRunnerOptions): QueueRunner {
  const option = options.option ?? '--runner';
  const target = parseRedisUrl(options.url, option, options.queue);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_QUEUE_CONCURRENCY));
  const run = randomUUID();
  const waiting = new Map<string, Waiting>();
  let sequence = 0;
  let batch: Submission[] = [];
  let connection: Promise<{ queue: Queue; events: QueueEvents }> | undefined;
  let closed = false;

  const settle = (id: string, outcome: { value: unknown } | { error: unknown }) => {
    const entry = waiting.get(id);
    // Not this run's job, or already answered (aborted, or a duplicate event): each task resolves once.
    if (!entry) return;
    waiting.delete(id);
    entry.detach();
    if ('error' in outcome) entry.reject(outcome.error);
    else entry.resolve(outcome.value);
  };

  const connect = async () => {
    const lastEventId = await probeRedis(target, option, options.connectTimeoutMs);
    const connectionOptions = { url: target.url, connectTimeout: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS };
    const queue = new Queue(target.queue, { connection: connectionOptions, prefix: PREFIX });
    // From the stream's last event before any job of this run is added: no answer can be missed.
    const events = new QueueEvents(target.queue, { connection: connectionOptions, prefix: PREFIX, lastEventId });
    queue.on('error', () => undefined);
    events.on('error', () => undefined);
    events.on('completed', ({ jobId, returnvalue }) => {
      let value: unknown;
      try {
        value = fromWire(returnvalue);
      } catch (error) {
        settle(jobId, { error });
        return;
      }
      settle(jobId, { value });
    });
    events.on('failed', ({ jobId, failedReason }) => {
      settle(jobId, { error: errorFromWire(failedReason, `queue job ${jobId} failed`) });
    });
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return { queue, events };
  };
  const ready = () => {
    if (closed) return Promise.reject(new Error('internal: the queue runner is closed'));
    connection ??= connect();
    return connection;
  };

  const flush = async () => {
    const submissions = batch.filter((submission) => waiting.has(submission.id));
    batch = [];
    if (submissions.length === 0) return;
    try {
      const { queue } = await ready();
      await queue.addBulk(
        submissions.map(({ id, name, data }) => ({
          name,
          data,
          // Deterministic tasks: a failure fails again, so one attempt; a stalled job is retried by BullMQ.
          opts: { jobId: id, attempts: 1, removeOnComplete: true, removeOnFail: { age: 24 * 3600 } },
        })),
      );
      for (const { id } of submissions) {
        const entry = waiting.get(id);
        if (entry) entry.added = true;
        // Aborted while the batch was being added: take the job back if no worker has it yet.
        else void queue.remove(id).catch(() => undefined);
      }
    } catch (error) {
      for (const { id } of submissions) settle(id, { error });
    }
  };

  return {
    concurrency,
    queue: target.queue,
    shown: target.shown,
    async ready() {
      await ready();
    },
    run<T extends Task>(task: T, { signal }: RunOptions = {}): Promise<TaskResult<T>> {
      if (signal?.aborted) return Promise.reject(abortError(signal));
      if (closed) return Promise.reject(new Error('internal: the queue runner is closed'));
      let data: unknown;
      try {
        data = toWire(task);
      } catch (error) {
        return Promise.reject(error);
      }
      sequence += 1;
      const id = `${run}-${sequence}`;
      return new Promise<TaskResult<T>>((resolve, reject) => {
        const onAbort = () => {
          const entry = waiting.get(id);
          if (!entry) return;
          waiting.delete(id);
          reject(abortError(signal));
          if (entry.added) void connection?.then(({ queue }) => queue.remove(id)).catch(() => undefined);
        };
        waiting.set(id, {
          resolve: resolve as (value: unknown) => void,
          reject,
          detach: signal ? onAbortOf(signal, onAbort) : () => undefined,
          added: false,
        });
        batch.push({ id, name: task.kind, data });
        // Tasks submitted together (a fan-out's loop) go to Redis in one addBulk.
        if (batch.length === 1) setImmediate(() => void flush());
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      if (!connection) return;
      const { queue, events } = await connection.catch(() => ({ queue: undefined, events: undefined }));
      const left = [...waiting.keys()];
      for (const id of left)
        settle(id, { error: new Error('internal: the queue runner was closed with the task pending') });
      if (queue) await Promise.all(left.map((id) => queue.remove(id).catch(() => 0)));
      await events?.close();
      await queue?.close();
    },
  };
}
