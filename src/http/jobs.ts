/**
 * Long work as job resources: a job runs one use case with its own `AbortController`, records the use case's
 * progress (the app's {@link Progress} port) as a log of numbered events that any number of server-sent-event
 * clients replay and follow, and keeps its result or problem once it ends. Bounded three ways: at most
 * `maxActive` runs at once (jobs and the synchronous long routes alike; more is a 429), at most `maxKept` jobs
 * are kept (the oldest finished go first) and a finished job is forgotten `keepMs` after it ended.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Progress } from '../app/ports.js';
import { HttpProblem, type Problem, toProblem } from './problem.js';

/** Where a job is: running, or how it ended. */
export type JobStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One event of a job's log, as the SSE stream sends it (`id` is its number in the log, from 1). */
export interface JobEvent {
  readonly id: number;
  readonly event: 'stage' | 'progress' | 'status';
  readonly data: Record<string, unknown>;
}

/** The progress of a job's current stage. */
export interface JobProgress {
  readonly stage: string;
  readonly total: number;
  readonly done: number;
}

/** A job as `GET /v1/jobs/{id}` shows it. */
export interface JobView {
  readonly id: string;
  readonly kind: string;
  readonly status: JobStatus;
  readonly createdAt: string;
  readonly finishedAt?: string;
  readonly progress?: JobProgress;
  readonly result?: unknown;
  readonly problem?: Problem;
}

/** Most events one job logs; past it, progress ticks are dropped (stages and the end are always logged). */
export const MAX_JOB_EVENTS = 10_000;

interface Job {
  readonly id: string;
  readonly kind: string;
  readonly controller: AbortController;
  readonly createdAt: number;
  status: JobStatus;
  finishedAt?: number;
  progress?: { stage: string; total: number; done: number };
  result?: unknown;
  problem?: Problem;
  readonly events: JobEvent[];
  /** Called on every new event and when the job ends. */
  readonly listeners: Set<() => void>;
}

/** The bounds of a {@link JobStore}. */
export interface JobLimits {
  /** Most runs at once (jobs and synchronous long requests). */
  readonly maxActive: number;
  /** Most jobs kept, running or finished. */
  readonly maxKept: number;
  /** How long a finished job is kept, milliseconds. */
  readonly keepMs: number;
}

/** The default bounds: 4 runs at once, 100 jobs kept, each for an hour after it ended. */
export const DEFAULT_JOB_LIMITS: JobLimits = { maxActive: 4, maxKept: 100, keepMs: 3_600_000 };

/** Work a job runs: given its signal and progress port, the result document, or a thrown problem. */
export type JobWork = (signal: AbortSignal, progress: Progress) => Promise<unknown>;

/** The jobs of one server. */
export class JobStore {
  readonly limits: JobLimits;
  #jobs = new Map<string, Job>();
  #active = 0;
  #closed = false;
  readonly #now: () => number;

  constructor(limits: Partial<JobLimits> = {}, now: () => number = Date.now) {
    this.limits = { ...DEFAULT_JOB_LIMITS, ...limits };
    this.#now = now;
  }

  /** Runs at once now. */
  get active(): number {
    return this.#active;
  }

  /**
   * Takes a run slot for `work` and runs it, or throws the 429 problem when all slots are taken (or 503 once the
   * store is closed); the slot is held until the work settles, even after a cancellation.
   */
  async #slot<T>(work: () => Promise<T>): Promise<T> {
    this.#checkRoom();
    this.#active++;
    try {
      return await work();
    } finally {
      this.#active--;
    }
  }

  /** Throws the 503 problem once closed, the 429 problem when every run slot is taken. */
  #checkRoom(): void {
    if (this.#closed) throw new HttpProblem('UNAVAILABLE', 'the server is stopping');
    if (this.#active >= this.limits.maxActive) {
      throw new HttpProblem(
        'TOO_MANY_JOBS',
        `${this.#active} runs are in progress, the most this server runs at once; retry when one has finished`,
        { headers: { 'Retry-After': '5' } },
      );
    }
  }

  /** Runs `work` now, within the run limit, aborted with `signal` (a synchronous route: its request's signal). */
  runNow<T>(signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    setMaxListeners(0, signal);
    return this.#slot(() => work(signal));
  }

  /** Starts a job of `kind` running `work`; throws the 429 problem when all run slots are taken. */
  start(kind: string, work: JobWork): JobView {
    this.prune();
    this.#checkRoom();
    const job: Job = {
      id: randomUUID(),
      kind,
      controller: new AbortController(),
      createdAt: this.#now(),
      status: 'running',
      events: [],
      listeners: new Set(),
    };
    // Every task of the job listens to its signal (thousands in a large study): no listener limit.
    setMaxListeners(0, job.controller.signal);
    this.#jobs.set(job.id, job);
    this.#evictOverCount();
    this.#emit(job, 'status', { status: 'running' });
    const progress = this.#progressPort(job);
    this.#slot(() => work(job.controller.signal, progress)).then(
      (result) => this.#finish(job, 'succeeded', { result }),
      (error: unknown) => {
        if (job.controller.signal.aborted) this.#finish(job, 'cancelled', {});
        else this.#finish(job, 'failed', { problem: toProblem(error, `/v1/jobs/${job.id}`).body });
      },
    );
    return this.view(job.id) as JobView;
  }

  /** The job's view, or undefined when there is no such job (or it was forgotten). */
  view(id: string): JobView | undefined {
    const job = this.#jobs.get(id);
    if (!job) return undefined;
    return {
      id: job.id,
      kind: job.kind,
      status: job.status,
      createdAt: new Date(job.createdAt).toISOString(),
      ...(job.finishedAt !== undefined && { finishedAt: new Date(job.finishedAt).toISOString() }),
      ...(job.progress && { progress: { ...job.progress } }),
      ...(job.status === 'succeeded' && { result: job.result }),
      ...(job.problem && { problem: job.problem }),
    };
  }

  /** Every job kept, newest first, without results. */
  list(): Omit<JobView, 'result' | 'problem'>[] {
    this.prune();
    return [...this.#jobs.keys()].reverse().map((id) => {
      const { result: _result, problem: _problem, ...view } = this.view(id) as JobView;
      return view;
    });
  }

  /**
   * Cancels a running job (its signal aborts; its status says `cancelled` at once, and its event stream ends)
   * and answers its view; a finished job is forgotten instead (answers undefined). Throws 404 for no such job.
   */
  cancel(id: string): JobView | undefined {
    const job = this.#jobs.get(id);
    if (!job) throw new HttpProblem('NOT_FOUND', `no job ${id} (finished jobs are kept for a while, then forgotten)`);
    if (job.status !== 'running') {
      this.#jobs.delete(id);
      return undefined;
    }
    job.controller.abort(abortReason('the job was cancelled'));
    this.#finish(job, 'cancelled', {});
    return this.view(id);
  }

  /**
   * The job's events after `after`, then each new one as it comes, until the job has ended and all are sent or
   * `signal` aborts. Throws 404 for no such job.
   */
  async *events(id: string, after: number, signal: AbortSignal): AsyncGenerator<JobEvent> {
    const job = this.#jobs.get(id);
    if (!job) throw new HttpProblem('NOT_FOUND', `no job ${id}`);
    let next = Math.max(0, after);
    while (!signal.aborted) {
      while (next < job.events.length) {
        const event = job.events[next++];
        if (event) yield event;
        if (signal.aborted) return;
      }
      if (job.status !== 'running') return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          job.listeners.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        job.listeners.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** Forgets the finished jobs kept longer than `keepMs`. */
  prune(): void {
    const now = this.#now();
    for (const [id, job] of this.#jobs) {
      if (job.finishedAt !== undefined && now - job.finishedAt > this.limits.keepMs) this.#jobs.delete(id);
    }
  }

  /** Refuses new work and cancels every running job. */
  close(): void {
    this.#closed = true;
    for (const job of this.#jobs.values()) {
      if (job.status === 'running') {
        job.controller.abort(abortReason('the server is stopping'));
        this.#finish(job, 'cancelled', {});
      }
    }
  }

  /** Over `maxKept`, forgets the oldest finished jobs (running ones stay: `maxActive` bounds them). */
  #evictOverCount(): void {
    for (const [id, job] of this.#jobs) {
      if (this.#jobs.size <= this.limits.maxKept) return;
      if (job.status !== 'running') this.#jobs.delete(id);
    }
  }

  #finish(job: Job, status: Exclude<JobStatus, 'running'>, outcome: { result?: unknown; problem?: Problem }): void {
    if (job.status !== 'running') return;
    job.status = status;
    job.finishedAt = this.#now();
    if (outcome.result !== undefined) job.result = outcome.result;
    if (outcome.problem) job.problem = outcome.problem;
    this.#emit(job, 'status', { status, ...(outcome.problem && { problem: outcome.problem }) }, true);
  }

  #emit(job: Job, event: JobEvent['event'], data: Record<string, unknown>, always = false): void {
    if (always || event !== 'progress' || job.events.length < MAX_JOB_EVENTS) {
      job.events.push({ id: job.events.length + 1, event, data });
    }
    for (const wake of [...job.listeners]) wake();
  }

  /** The app's progress port for `job`: each stage and tick becomes an event; nothing once the job has ended. */
  #progressPort(job: Job): Progress {
    return {
      start: (stage, total) => {
        if (job.status !== 'running') return;
        job.progress = { stage, total, done: 0 };
        this.#emit(job, 'stage', { stage, total });
      },
      tick: (amount = 1) => {
        const current = job.progress;
        if (job.status !== 'running' || !current) return;
        current.done = Math.min(current.total, current.done + amount);
        this.#emit(job, 'progress', { ...current });
      },
      done: () => {
        const current = job.progress;
        if (job.status !== 'running' || !current || current.done === current.total) return;
        current.done = current.total;
        this.#emit(job, 'progress', { ...current });
      },
    };
  }
}

/** An `AbortError` carrying `message` (what the use cases reject with). */
function abortReason(message: string): Error {
  const error = new Error(message);
  error.name = 'AbortError';
  return error;
}
