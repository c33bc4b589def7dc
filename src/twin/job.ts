/**
 * The training job of one replica: its state machine and its accounting. The job is always in one of six states
 * (running, checkpointing, detecting, restarting, waiting, done). {@link Job.advance} charges the time since the
 * last call to the current state: useful work s·dt while running at speed s, the rest of the segment to the
 * causes of the slowdown, and every other state to one badput cause, so wall = useful + Σ badput exactly.
 *
 * The job decides nothing about when things happen: the processes (processes/*.ts) call its transitions, and
 * it keeps the timer of the current state so that a stop cancels it.
 * @module
 */
import type { EventHandle } from '../sim/index.js';
import { PRIORITY, type RunContext } from './context.js';
import type { PowerMeter } from './power.js';
import type { TimelineRecorder } from './timeline.js';

/** Causes of lost time. */
export const BADPUT_CAUSES = [
  'lostWork',
  'detection',
  'restart',
  'checkpoint',
  'maintenance',
  'spares',
  'shrink',
  'stragglers',
  'throttling',
] as const;
export type BadputCause = (typeof BADPUT_CAUSES)[number];

/** Kinds of event in a run's log. */
export type TwinEventKind = 'interruption' | 'maintenance' | 'waiting' | 'shrunk' | 'resumed' | 'finished';

/** One logged event; `cause` is the failure class for interruptions. */
export interface TwinEvent {
  /** Seconds from the start. */
  readonly t: number;
  readonly kind: TwinEventKind;
  readonly cause?: string;
}

/** Most events a run's log keeps. */
export const MAX_EVENTS = 20000;

/**
 * Most speed segments a run's detail keeps: one a throttling sample (every 10 minutes by default, 52,560 a year)
 * plus two a straggler episode and one a shrink or regrowth; past it the rest are only counted.
 */
export const MAX_SPEED_SEGMENTS = 200_000;

/**
 * A stretch of constant step speed: `speed` is the nominal step time over the step time while the job runs,
 * the product of (replicas running / planned), 1/slowdown of the slowest slow host and 1/(1 + deficit) of the
 * slowest GPU. The asynchronous checkpoint overhead is left out (its stalls are events of their own). Stretches
 * at speed 1 are not listed.
 */
export interface SpeedSegment {
  /** Seconds from the start. */
  readonly start: number;
  readonly end: number;
  readonly speed: number;
}

/** The states of the job; docs/twin.md lists what each is counted as. */
export type JobState = 'running' | 'checkpointing' | 'detecting' | 'restarting' | 'waiting' | 'done';

/** The event log of a run: at most {@link MAX_EVENTS} entries, the rest only counted. */
export class EventLog {
  readonly events: TwinEvent[] = [];
  /** Events left out once the log was full. */
  dropped = 0;

  /** @param keep false for a log that records nothing (studies keep only replica 0's). */
  constructor(
    private readonly ctx: RunContext,
    private readonly keep: boolean,
  ) {}

  /** Logs an event at the current time. */
  add(kind: TwinEventKind, cause?: string): void {
    if (!this.keep) return;
    const t = this.ctx.sim.now;
    if (this.events.length >= MAX_EVENTS) this.dropped++;
    else this.events.push(cause === undefined ? { t, kind } : { t, kind, cause });
  }
}

/**
 * The step speed of a run over time, as {@link SpeedSegment}s: at most {@link MAX_SPEED_SEGMENTS}, the rest only
 * counted. Only runs with detail keep one.
 */
export class SpeedLog {
  readonly segments: SpeedSegment[] = [];
  /** Segments left out once the list was full. */
  dropped = 0;
  private since = 0;
  private speed = 1;

  /** The speed is `speed` from `t` on. */
  set(t: number, speed: number): void {
    if (speed === this.speed) return;
    this.close(t);
    this.since = t;
    this.speed = speed;
  }

  /** Ends the current segment at `t` (the end of the run). */
  close(t: number): void {
    if (this.speed === 1 || !(t > this.since)) return;
    if (this.segments.length >= MAX_SPEED_SEGMENTS) this.dropped++;
    else this.segments.push({ start: this.since, end: t, speed: this.speed });
    this.since = t;
  }
}

/**
 * What the job needs of its checkpoints (processes/checkpoints.ts implements it for blocking and asynchronous
 * checkpoints): a steady speed factor, and hooks at the start, each segment and the end of a running period.
 */
export interface CheckpointProcess {
  /** The steady slowdown of running: 1 / (1 − stall/interval) for asynchronous checkpoints, 1 for blocking. */
  readonly speedFactor: number;
  /** Checkpoints taken so far (asynchronous ones are counted when their running period is settled). */
  readonly count: number;
  /**
   * The job starts (or resumes) running now. `carried`: running seconds since the last periodic checkpoint that the
   * schedule carries on from (after a checkpoint outside it, {@link CheckpointProcess.pause}); 0 starts a new cycle.
   */
  running(job: Job, carried?: number): void;
  /**
   * Training pauses at `t` for a checkpoint outside the schedule (mitigation): the periodic schedule is held, not
   * restarted, and the running seconds since its last checkpoint are returned for `running` to carry on from.
   */
  pause(t: number): number;
  /** A running segment of the job ended at `t` with `work` ideal seconds done. */
  segment(t: number, work: number): void;
  /** The running period ends at `t`: the kept work, raised to the newest checkpoint that became durable by then. */
  settle(t: number, kept: number): number;
  /** The job stopped or finished: pending checkpoint timers are dropped. */
  cancel(): void;
  /**
   * A checkpoint taken now outside the schedule (mitigation): `work` becomes durable at `durableAt` unless the
   * job stops first. Blocking checkpoints write it in the job's own `checkpointing` state instead.
   */
  force(durableAt: number, work: number): void;
}

/** Where the job sends what it records. */
export interface JobRecorders {
  readonly power: PowerMeter;
  /** Absent when the run keeps no timeline. */
  readonly timeline: TimelineRecorder | undefined;
  readonly log: EventLog;
  /** Absent when the run keeps no detail. */
  readonly speeds?: SpeedLog | undefined;
}

/** The job: state, allocation, speed factors and the accounting of every second. */
export class Job {
  state: JobState = 'restarting';
  /** What the `restarting` state is counted as: a restart after a failure, or planned maintenance. */
  restartCause: 'restart' | 'maintenance' = 'restart';
  /** Ideal seconds of training done, kept or not yet checkpointed. */
  work = 0;
  /** Ideal seconds saved in a durable checkpoint. */
  kept = 0;
  finishedAt: number | undefined;
  /** Hosts in the job's allocation. */
  nodes: number;
  /** Hosts of the allocation that failed and wait for a replacement. */
  failedNodes = 0;
  /** Data-parallel replicas running (fewer than planned when shrunk). */
  dpActive: number;
  /** Slowdown of the slowest slow host (≥ 1). */
  stragglerFactor = 1;
  /** 1 + clock deficit of the slowest GPU. */
  throttleFactor = 1;
  /** Badput seconds by cause. */
  readonly badput: Record<BadputCause, number>;
  /** Times the job started waiting for spares, and times it shrank. */
  waits = 0;
  shrinks = 0;
  readonly power: PowerMeter;
  readonly log: EventLog;
  private readonly timeline: TimelineRecorder | undefined;
  private readonly speeds: SpeedLog | undefined;
  private lastT = 0;
  /** The timer that ends the current state (a checkpoint write, detection, a restart). */
  private stateTimer: EventHandle | undefined;
  private finishTimer: EventHandle | undefined;

  constructor(
    private readonly ctx: RunContext,
    private readonly checkpoints: CheckpointProcess,
    recorders: JobRecorders,
  ) {
    this.nodes = ctx.config.nodes;
    this.dpActive = ctx.config.dp;
    this.badput = Object.fromEntries(BADPUT_CAUSES.map((c) => [c, 0])) as Record<BadputCause, number>;
    this.power = recorders.power;
    this.timeline = recorders.timeline;
    this.log = recorders.log;
    this.speeds = recorders.speeds;
  }

  /** Speed while running, as a share of nominal: shrinking, the slowest host and GPU, async checkpoints. */
  speed(): number {
    return (
      this.dpActive / this.ctx.config.dp / (this.stragglerFactor * this.throttleFactor * this.checkpoints.speedFactor)
    );
  }

  /** Accounts the time since the last call to the current state. */
  advance(): void {
    const t = this.ctx.sim.now;
    const lastT = this.lastT;
    const dt = t - lastT;
    if (dt <= 0) return;
    const { config } = this.ctx;
    const state = this.state;
    if (state === 'running') {
      const s = this.speed();
      const done = dt * s;
      this.work += done;
      // The slow part of the segment, split between its causes by their share of log(total slowdown).
      const slow = dt - done;
      if (slow > 0) {
        const badput = this.badput;
        const shrinkLog = Math.log(config.dp / this.dpActive);
        const stragglerLog = Math.log(this.stragglerFactor);
        const throttleLog = Math.log(this.throttleFactor);
        const checkpointLog = Math.log(this.checkpoints.speedFactor);
        const total = shrinkLog + stragglerLog + throttleLog + checkpointLog;
        badput.shrink += (slow * shrinkLog) / total;
        badput.stragglers += (slow * stragglerLog) / total;
        badput.throttling += (slow * throttleLog) / total;
        badput.checkpoint += (slow * checkpointLog) / total;
      }
      const mw = this.power.runningMW;
      this.power.record(lastT, t, mw);
      this.timeline?.record(lastT, t, s * config.tokensPerSecond, mw);
      this.checkpoints.segment(t, this.work);
    } else {
      const badput = this.badput;
      if (state === 'checkpointing') badput.checkpoint += dt;
      else if (state === 'detecting') badput.detection += dt;
      else if (state === 'restarting') badput[this.restartCause] += dt;
      else if (state === 'waiting') badput.spares += dt;
      if (state !== 'done') {
        const mw = this.power.idleMW;
        this.power.record(lastT, t, mw);
        this.timeline?.record(lastT, t, 0, mw);
      }
    }
    this.lastT = t;
  }

  /** Ends the current state after `seconds` with `next` (at the job's priority); a stop cancels it. */
  schedule(seconds: number, next: () => void): void {
    this.stateTimer = this.ctx.sim.after(seconds, next, PRIORITY.job);
  }

  /** The job launches: a restart that reads no checkpoint, then training. */
  launch(): void {
    this.schedule(this.ctx.config.restartSeconds, this.enterRunning);
  }

  /** Training starts or resumes, a new checkpoint cycle. */
  readonly enterRunning = (): void => this.resume(0);

  /** Training resumes, the periodic checkpoints `carried` running seconds into their cycle. */
  private resume(carried: number): void {
    this.advance();
    this.state = 'running';
    this.checkpoints.running(this, carried);
    this.scheduleFinish();
  }

  /**
   * A blocking checkpoint: training stops while the state is written for `seconds`; the work done now becomes
   * durable when the write ends, and training resumes, the periodic schedule `carried` seconds into its cycle.
   */
  checkpoint(seconds: number, carried = 0): void {
    this.advance();
    this.power.dip();
    const snapshot = this.work;
    this.state = 'checkpointing';
    this.schedule(seconds, () => {
      this.advance();
      this.kept = snapshot;
      this.resume(carried);
    });
  }

  /**
   * Checkpoints now, outside the schedule (a predicted failure): a blocking write, or an asynchronous snapshot,
   * durable after its background write. The periodic schedule is held, not restarted: it counts running time
   * since its own last checkpoint, as Megatron-LM's `iteration % save_interval == 0` counts steps whatever other
   * saves came between (megatron/training/training.py, checkpoint_and_decide_exit). False when the job is not
   * training.
   */
  checkpointNow(): boolean {
    if (this.state !== 'running') return false;
    const { checkpoint } = this.ctx.config;
    this.advance();
    const now = this.ctx.sim.now;
    const carried = this.checkpoints.pause(now);
    if (checkpoint.mode === 'blocking') {
      this.checkpoint(checkpoint.writeSeconds, carried);
      return true;
    }
    this.kept = this.checkpoints.settle(now, this.kept);
    this.checkpoints.force(now + checkpoint.stallSeconds + checkpoint.writeSeconds, this.work);
    this.state = 'checkpointing';
    this.schedule(checkpoint.stallSeconds, () => this.resume(carried));
    return true;
  }

  /**
   * Writes the state for `seconds` (counted as checkpoint), then `next` (a drain's clean stop). Training stops
   * now; a failure during the write loses the work since the last durable checkpoint.
   */
  writeThen(seconds: number, next: () => void): void {
    this.advance();
    if (this.state === 'running') {
      this.power.dip();
      this.kept = this.checkpoints.settle(this.ctx.sim.now, this.kept);
    }
    this.checkpoints.cancel();
    this.state = 'checkpointing';
    this.schedule(seconds, () => {
      this.advance();
      next();
    });
  }

  /** Stops the job: work since the last durable checkpoint is lost unless `clean`. The caller sets the state. */
  stop(clean: boolean): void {
    this.advance();
    if (this.state === 'running') {
      // A blocking checkpoint already dropped to the waiting level.
      this.power.dip();
      this.kept = this.checkpoints.settle(this.ctx.sim.now, this.kept);
    }
    if (clean) this.kept = this.work;
    this.badput.lostWork += this.work - this.kept;
    this.work = this.kept;
    this.ctx.sim.cancel(this.stateTimer);
    this.checkpoints.cancel();
  }

  /** A failure was noticed as such only after `seconds` (counted as detection); then `next`. */
  detect(seconds: number, next: () => void): void {
    this.state = 'detecting';
    this.restartCause = 'restart';
    this.schedule(seconds, next);
  }

  /** Restarts with every host present: `seconds` of restart (or maintenance), then training. */
  restart(seconds: number): void {
    const { config } = this.ctx;
    if (this.state === 'waiting') this.log.add('resumed');
    this.dpActive = Math.min(config.dp, Math.floor((this.nodes * config.gpusPerNode) / config.replicaGpus));
    this.noteSpeed();
    this.state = 'restarting';
    this.schedule(seconds, this.enterRunning);
  }

  /** Hosts are missing and no spare is free: the job waits (counted as spares). */
  waitForSpares(): void {
    if (this.state !== 'waiting') {
      this.waits++;
      this.log.add('waiting');
    }
    this.state = 'waiting';
  }

  /** Goes on without the failed hosts: `replicas` data-parallel replicas on the remaining hosts. */
  shrink(replicas: number): void {
    this.nodes -= this.failedNodes;
    this.failedNodes = 0;
    if (replicas < this.dpActive) this.shrinks++;
    this.dpActive = replicas;
    this.noteSpeed();
    this.log.add('shrunk');
  }

  /** Changes the slowest host's slowdown. */
  setStragglerFactor(factor: number): void {
    this.advance();
    this.stragglerFactor = factor;
    this.noteSpeed();
    this.scheduleFinish();
  }

  /** Changes the slowest GPU's throttling factor. */
  setThrottleFactor(factor: number): void {
    this.advance();
    this.throttleFactor = factor;
    this.noteSpeed();
    this.scheduleFinish();
  }

  /** Ends the run at the end of the window (the job has not finished): accounts the last segment. */
  close(): void {
    this.advance();
    if (this.state === 'running') this.kept = this.checkpoints.settle(this.ctx.end, this.kept);
    this.speeds?.close(this.ctx.end);
  }

  /** Records the step speed (runs with detail): shrinking and the slowest host and GPU, without the async overhead. */
  private noteSpeed(): void {
    // Step speed = (replicas running / planned) / (slowdown × (1 + deficit)), as speed() less the checkpoint factor.
    this.speeds?.set(
      this.ctx.sim.now,
      this.dpActive / this.ctx.config.dp / (this.stragglerFactor * this.throttleFactor),
    );
  }

  /**
   * Keeps an event at or before the time the work completes at the current speed. A pending one that is not
   * later is kept (it re-checks when it fires), so slowdowns and stops cost no heap churn.
   */
  private scheduleFinish(): void {
    if (this.state !== 'running') return;
    const { sim, config } = this.ctx;
    const s = this.speed();
    if (!(s > 0)) throw new Error(`internal: the job runs at speed ${s}; twin settings should have been rejected`);
    const at = sim.now + Math.max(0, (config.idealSeconds - this.work) / s);
    const pending = this.finishTimer;
    if (pending && !pending.cancelled && pending.time <= at) return;
    sim.cancel(pending);
    this.finishTimer = sim.at(at, this.checkFinish, PRIORITY.job);
  }

  private readonly checkFinish = (): void => {
    if (this.state !== 'running') return;
    this.advance();
    // A relative tolerance: the work is summed over many segments.
    if (this.work >= this.ctx.config.idealSeconds * (1 - 1e-12)) this.finish();
    else this.scheduleFinish();
  };

  private finish(): void {
    const { sim, config } = this.ctx;
    this.work = config.idealSeconds;
    this.checkpoints.settle(sim.now, this.kept);
    this.kept = this.work;
    this.state = 'done';
    this.finishedAt = sim.now;
    this.checkpoints.cancel();
    this.speeds?.close(sim.now);
    this.log.add('finished');
    sim.stop();
  }
}
