/**
 * Checkpoints: when the job's work becomes durable, so that a failure loses only the work since.
 *
 * - Blocking: every interval of running, training stops for the write ({@link Job.checkpoint}); the work at
 *   the start of the write is kept when it ends.
 * - Asynchronous: training stops only for the host-memory snapshot, a few milliseconds every interval, spread
 *   over the running time as a steady overhead 1 / (1 − stall/interval) instead of an event each. Snapshots
 *   are taken at runningSince + k·interval and become durable `writeSeconds` later. When the running period
 *   ends, the newest durable one is found exactly: the largest k ≥ 1 with k·τ + write ≤ time running, its work
 *   read off the (time, work) breakpoints of the period.
 *
 * docs/twin.md (Checkpoints) explains both, and setup.ts picks the interval (Daly 2006).
 * @module
 */
import type { EventHandle } from '../../sim/index.js';
import { PRIORITY, type RunContext } from '../context.js';
import type { CheckpointProcess, Job } from '../job.js';

/** The checkpoint process `config.checkpoint.mode` asks for. */
export function checkpointProcess(ctx: RunContext): CheckpointProcess {
  return ctx.config.checkpoint.mode === 'async' ? new AsyncCheckpoints(ctx) : new BlockingCheckpoints(ctx);
}

/** Blocking checkpoints: a timer every interval of running, then the write stops training. */
export class BlockingCheckpoints implements CheckpointProcess {
  readonly speedFactor = 1;
  count = 0;
  private timer: EventHandle | undefined;
  private job: Job | undefined;

  constructor(private readonly ctx: RunContext) {}

  running(job: Job, carried = 0): void {
    this.job = job;
    this.timer = this.ctx.sim.after(this.ctx.config.checkpoint.intervalSeconds - carried, this.take, PRIORITY.job);
  }

  pause(t: number): number {
    const { intervalSeconds } = this.ctx.config.checkpoint;
    const timer = this.timer;
    const remaining = timer && !timer.cancelled ? Math.max(0, timer.time - t) : intervalSeconds;
    this.ctx.sim.cancel(timer);
    return intervalSeconds - remaining;
  }

  private readonly take = (): void => {
    this.count++;
    this.job?.checkpoint(this.ctx.config.checkpoint.writeSeconds);
  };

  segment(): void {}

  settle(_t: number, kept: number): number {
    return kept;
  }

  cancel(): void {
    this.ctx.sim.cancel(this.timer);
  }

  force(): void {}
}

/** Asynchronous checkpoints: no events, only the (time, work) breakpoints of the running period. */
export class AsyncCheckpoints implements CheckpointProcess {
  readonly speedFactor: number;
  count = 0;
  private runningSince = 0;
  private readonly breakTimes: number[] = [];
  private readonly breakWork: number[] = [];

  constructor(private readonly ctx: RunContext) {
    const { stallSeconds, intervalSeconds } = ctx.config.checkpoint;
    this.speedFactor = 1 / (1 - stallSeconds / intervalSeconds);
  }

  running(job: Job, carried = 0): void {
    const now = this.ctx.sim.now;
    // Snapshots go on at runningSince + k·interval: `carried` seconds into a cycle, the next one comes after the rest.
    this.runningSince = now - carried;
    this.breakTimes.length = 0;
    this.breakWork.length = 0;
    this.breakTimes.push(now);
    this.breakWork.push(job.work);
  }

  segment(t: number, work: number): void {
    const { breakTimes, breakWork } = this;
    const { intervalSeconds, writeSeconds } = this.ctx.config.checkpoint;
    // Keep the breakpoints back to the oldest snapshot that may still become the durable one.
    breakTimes.push(t);
    breakWork.push(work);
    const horizon = t - intervalSeconds - writeSeconds;
    let drop = 0;
    while (drop + 1 < breakTimes.length && (breakTimes[drop + 1] as number) <= horizon) drop++;
    if (drop > 64) {
      breakTimes.splice(0, drop);
      breakWork.splice(0, drop);
    }
  }

  settle(t: number, kept: number): number {
    const { intervalSeconds, writeSeconds } = this.ctx.config.checkpoint;
    const since = this.runningSince;
    const durable = Math.floor((t - since - writeSeconds) / intervalSeconds);
    let settled = durable >= 1 ? Math.max(kept, this.workAt(since + durable * intervalSeconds, kept)) : kept;
    const pending = this.pending;
    for (let i = pending.length - 1; i >= 0; i--) {
      const snapshot = pending[i] as { readonly at: number; readonly work: number };
      if (snapshot.at > t) continue;
      settled = Math.max(settled, snapshot.work);
      pending.splice(i, 1);
    }
    this.count += Math.max(0, Math.floor((t - since) / intervalSeconds));
    return settled;
  }

  pause(t: number): number {
    const { intervalSeconds, writeSeconds } = this.ctx.config.checkpoint;
    const since = this.runningSince;
    const taken = Math.floor((t - since) / intervalSeconds);
    const last = since + taken * intervalSeconds;
    // The newest periodic snapshot, still being written, stays pending: the next period's breakpoints lack it.
    if (taken >= 1 && last + writeSeconds > t) {
      this.pending.push({ at: last + writeSeconds, work: this.workAt(last, 0) });
    }
    return t - last;
  }

  cancel(): void {
    // Snapshots not yet durable when the job stops are lost with it.
    const now = this.ctx.sim.now;
    for (let i = this.pending.length - 1; i >= 0; i--) {
      if ((this.pending[i] as { readonly at: number }).at > now) this.pending.splice(i, 1);
    }
  }

  force(durableAt: number, work: number): void {
    this.pending.push({ at: durableAt, work });
  }

  /**
   * Snapshots durable at `at` that the current period's breakpoints do not cover: one taken outside the schedule
   * (mitigation.ts), and the periodic one a pause found still being written.
   */
  private readonly pending: { readonly at: number; readonly work: number }[] = [];

  /** The work done at `t`, linear between breakpoints (speed changes only at events, and every event records one). */
  private workAt(t: number, kept: number): number {
    const { breakTimes, breakWork } = this;
    for (let i = breakTimes.length - 1; i >= 0; i--) {
      const t0 = breakTimes[i] as number;
      if (t0 <= t) {
        const t1 = breakTimes[i + 1];
        if (t1 === undefined) return breakWork[i] as number;
        const w0 = breakWork[i] as number;
        return w0 + (((breakWork[i + 1] as number) - w0) * (t - t0)) / (t1 - t0);
      }
    }
    return breakWork[0] ?? kept;
  }
}
