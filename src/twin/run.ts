/**
 * One replica of the digital twin: the training job as a state machine (running, checkpointing, detecting a
 * failure, restarting, waiting for spares) driven by independent processes on the event kernel: failures by
 * class, planned maintenance, repairs, slow hosts and diurnal throttling. Every second of wall-clock time is
 * accounted to useful work or to one badput cause, so wall = useful + sum of badput exactly.
 * docs/twin.md explains the model; src/twin/setup.ts builds its configuration.
 * @module
 */
import { type EventHandle, type RandomStream, ReplicaStreams, Simulation } from '../sim/index.js';
import { type TwinConfig, weibullScale } from './setup.js';

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

/** The timeline: per bucket, tokens per second produced and facility power (average, minimum, maximum). */
export interface Timeline {
  readonly bucketSeconds: number;
  readonly tokensPerSecond: number[];
  readonly powerMW: { readonly mean: number[]; readonly min: number[]; readonly max: number[] };
}

/** The figures of one run. */
export interface RunSummary {
  readonly replica: number;
  readonly finished: boolean;
  readonly wallDays: number;
  /** Wall-clock days to train the workload; projected from the rate so far when the run stopped first. */
  readonly timeToTrainDays: number;
  readonly projected: boolean;
  readonly idealDays: number;
  /** Effective training time ratio: time spent training (at any speed) and kept, over wall time (Meta). */
  readonly ettr: number;
  /** Useful work over wall time at nominal speed: ETTR less the stragglers, throttling and shrinking. */
  readonly goodput: number;
  readonly goodputTokensPerSecond: number;
  readonly tokensTrained: number;
  readonly badputHours: Readonly<Record<BadputCause, number>>;
  readonly unexpectedInterruptions: number;
  readonly plannedInterruptions: number;
  readonly interruptionsByCause: Readonly<Record<string, number>>;
  /** Component failures, including those that struck while the job was already down. */
  readonly failures: number;
  readonly checkpoints: number;
  readonly spares: {
    readonly pool: number;
    readonly fewestFree: number;
    readonly waits: number;
    readonly shrinks: number;
  };
  readonly power: {
    readonly meanMW: number;
    readonly peakMW: number;
    readonly minimumMW: number;
    readonly energyMWh: number;
    readonly stepSwingMW: number;
    readonly stepHz: number;
    /** Drops from the training level to the waiting level (failures, blocking checkpoints), per day. */
    readonly dipsPerDay: number;
    readonly dipMW: number;
  };
}

/** A run's summary, event log and timeline. */
export interface RunResult {
  readonly seed: number;
  readonly summary: RunSummary;
  readonly events: TwinEvent[];
  /** Events left out of the log once it held {@link MAX_EVENTS}. */
  readonly eventsDropped: number;
  readonly timeline: Timeline;
  readonly kernelEvents: number;
}

/** Options of {@link simulateRun}. */
export interface RunOptions {
  /** Keep the event log and timeline (studies turn them off for every replica but one). */
  readonly detail?: boolean;
}

/** Most events a run's log keeps. */
export const MAX_EVENTS = 20000;

/**
 * Most events one replica may fire, all processes together (failures, repairs, stragglers, throttling samples,
 * checkpoints). `twinConfig` refuses settings expected to come near it; this is the backstop.
 */
export const MAX_RUN_EVENTS = 2e7;

type State = 'running' | 'checkpointing' | 'detecting' | 'restarting' | 'waiting' | 'done';

/** Priorities at equal times: failures first, then the job's own timers, then sampling processes. */
const PRIORITY = { failure: 0, job: 1, sampler: 2 } as const;

/** Stream indices: one per failure class, then the fixed processes. */
const STREAM = { repair: 32, straggler: 33, throttle: 34, thinning: 35 } as const;

/**
 * The largest of n independent exponential variables of mean `mean`, drawn from one uniform `u` by inverting
 * its CDF (1 − e^{−x/mean})^n: x = −mean·ln(1 − u^{1/n}), with expm1 keeping precision at large n.
 */
export function maxOfExponentials(u: number, mean: number, n: number): number {
  return -mean * Math.log(-Math.expm1(Math.log(u) / n));
}

/** Runs one replica of `config` with `seed`. */
export function simulateRun(config: TwinConfig, seed: number, replica: number, options: RunOptions = {}): RunResult {
  const detail = options.detail ?? true;
  const sim = new Simulation(MAX_RUN_EVENTS);
  const streams = new ReplicaStreams(seed, replica);
  const end = config.windowSeconds ?? config.limitSeconds;
  const { power } = config;

  // Job state.
  let state: State = 'restarting';
  let restartCause: 'restart' | 'maintenance' = 'restart';
  let lastT = 0;
  let work = 0; // ideal-seconds of training done, kept or not yet checkpointed
  let kept = 0; // ideal-seconds saved in a durable checkpoint
  let finishedAt: number | undefined;
  let jobNodes = config.nodes; // hosts in the job's allocation
  let failedNodes = 0; // hosts of the allocation that failed and wait for a replacement
  let freeSpares = config.spares.nodes;
  let fewestFree = freeSpares;
  let dpActive = config.dp;
  let stragglerFactor = 1;
  let throttleFactor = 1;
  const badput: Record<BadputCause, number> = Object.fromEntries(BADPUT_CAUSES.map((c) => [c, 0])) as Record<
    BadputCause,
    number
  >;
  const byCause: Record<string, number> = Object.fromEntries(config.classes.map((c) => [c.id, 0]));
  let unexpected = 0;
  let planned = 0;
  let failures = 0;
  let checkpoints = 0;
  let waits = 0;
  let shrinks = 0;
  let dips = 0;
  let energyMWs = 0;
  let peakMW = 0;
  let minimumMW = Number.POSITIVE_INFINITY;
  const events: TwinEvent[] = [];
  let eventsDropped = 0;
  const log = (kind: TwinEventKind, cause?: string) => {
    if (!detail) return;
    if (events.length >= MAX_EVENTS) eventsDropped++;
    else events.push(cause === undefined ? { t: sim.now, kind } : { t: sim.now, kind, cause });
  };

  // Timeline buckets.
  const bucket = config.bucketSeconds;
  const tokensRate: number[] = [];
  const powerMean: number[] = [];
  const powerMin: number[] = [];
  const powerMax: number[] = [];
  const record = (t0: number, t1: number, tokensPerSecond: number, mw: number) => {
    energyMWs += mw * (t1 - t0);
    if (mw > peakMW) peakMW = mw;
    if (mw < minimumMW) minimumMW = mw;
    if (!detail) return;
    if (!(t1 > t0)) return;
    // Walk the buckets by index, not by float time: t = (i + 1)·bucket can round back into bucket i and stall.
    const last = Math.floor(t1 / bucket);
    for (let index = Math.floor(t0 / bucket); index <= last; index++) {
      const from = Math.max(t0, index * bucket);
      const until = Math.min(t1, (index + 1) * bucket);
      if (!(until > from)) continue;
      while (tokensRate.length <= index) {
        tokensRate.push(0);
        powerMean.push(0);
        powerMin.push(Number.POSITIVE_INFINITY);
        powerMax.push(0);
      }
      const share = (until - from) / bucket;
      tokensRate[index] = (tokensRate[index] as number) + tokensPerSecond * share;
      powerMean[index] = (powerMean[index] as number) + mw * share;
      if (mw < (powerMin[index] as number)) powerMin[index] = mw;
      if (mw > (powerMax[index] as number)) powerMax[index] = mw;
    }
  };

  // Asynchronous checkpoints stop training only for the host-memory snapshot, a few milliseconds every interval:
  // they are spread over the running time as a steady overhead instead of an event each.
  const asyncCheckpoints = config.checkpoint.mode === 'async';
  const checkpointFactor = asyncCheckpoints
    ? 1 / (1 - config.checkpoint.stallSeconds / config.checkpoint.intervalSeconds)
    : 1;
  const speed = () => dpActive / config.dp / (stragglerFactor * throttleFactor * checkpointFactor);

  // Asynchronous checkpoints: snapshots at runningSince + k·interval, durable `writeSeconds` later. The work done
  // up to each snapshot is read off the (time, work) breakpoints of the current running period.
  let runningSince = 0;
  const breakTimes: number[] = [];
  const breakWork: number[] = [];
  const workAt = (t: number): number => {
    // Work is linear between breakpoints (speed changes only at events, and every event records one).
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
  };
  /** Saves the newest durable asynchronous snapshot as kept work, and counts the snapshots taken. */
  const settleSnapshots = (t: number) => {
    const { intervalSeconds, writeSeconds } = config.checkpoint;
    const durable = Math.floor((t - runningSince - writeSeconds) / intervalSeconds);
    if (durable >= 1) kept = Math.max(kept, workAt(runningSince + durable * intervalSeconds));
    checkpoints += Math.max(0, Math.floor((t - runningSince) / intervalSeconds));
  };

  /** Accounts the time since the last call to the current state. */
  const advance = () => {
    const t = sim.now;
    const dt = t - lastT;
    if (dt <= 0) return;
    if (state === 'running') {
      const s = speed();
      const done = dt * s;
      work += done;
      // The slow part of the segment, split between its causes by their share of log(total slowdown).
      const slow = dt - done;
      if (slow > 0) {
        const shrinkLog = Math.log(config.dp / dpActive);
        const stragglerLog = Math.log(stragglerFactor);
        const throttleLog = Math.log(throttleFactor);
        const checkpointLog = Math.log(checkpointFactor);
        const total = shrinkLog + stragglerLog + throttleLog + checkpointLog;
        badput.shrink += (slow * shrinkLog) / total;
        badput.stragglers += (slow * stragglerLog) / total;
        badput.throttling += (slow * throttleLog) / total;
        badput.checkpoint += (slow * checkpointLog) / total;
      }
      record(lastT, t, s * config.tokensPerSecond, power.runningMW);
      if (asyncCheckpoints) {
        // Keep the breakpoints back to the oldest snapshot that may still become the durable one.
        breakTimes.push(t);
        breakWork.push(work);
        const horizon = t - config.checkpoint.intervalSeconds - config.checkpoint.writeSeconds;
        let drop = 0;
        while (drop + 1 < breakTimes.length && (breakTimes[drop + 1] as number) <= horizon) drop++;
        if (drop > 64) {
          breakTimes.splice(0, drop);
          breakWork.splice(0, drop);
        }
      }
    } else {
      if (state === 'checkpointing') badput.checkpoint += dt;
      else if (state === 'detecting') badput.detection += dt;
      else if (state === 'restarting') badput[restartCause] += dt;
      else if (state === 'waiting') badput.spares += dt;
      if (state !== 'done') record(lastT, t, 0, power.idleMW);
    }
    lastT = t;
  };

  // Timers of the job; each is cancelled when the state it belongs to ends.
  let stateTimer: EventHandle | undefined;
  let checkpointTimer: EventHandle | undefined;
  let finishTimer: EventHandle | undefined;

  /**
   * Keeps an event at or before the time the work completes at the current speed. A pending one that is not
   * later is kept (it re-checks when it fires), so slowdowns and stops cost no heap churn.
   */
  const scheduleFinish = () => {
    if (state !== 'running') return;
    const s = speed();
    if (!(s > 0)) throw new Error(`internal: the job runs at speed ${s}; twin settings should have been rejected`);
    const at = sim.now + Math.max(0, (config.idealSeconds - work) / s);
    if (finishTimer && !finishTimer.cancelled && finishTimer.time <= at) return;
    sim.cancel(finishTimer);
    finishTimer = sim.at(at, checkFinish, PRIORITY.job);
  };

  const checkFinish = () => {
    if (state !== 'running') return;
    advance();
    // A relative tolerance: the work is summed over many segments.
    if (work >= config.idealSeconds * (1 - 1e-12)) finish();
    else scheduleFinish();
  };

  const finish = () => {
    work = config.idealSeconds;
    if (asyncCheckpoints) settleSnapshots(sim.now);
    kept = work;
    state = 'done';
    finishedAt = sim.now;
    sim.cancel(checkpointTimer);
    log('finished');
    sim.stop();
  };

  const enterRunning = () => {
    advance();
    state = 'running';
    runningSince = sim.now;
    if (asyncCheckpoints) {
      breakTimes.length = 0;
      breakWork.length = 0;
      breakTimes.push(sim.now);
      breakWork.push(work);
    } else {
      checkpointTimer = sim.after(config.checkpoint.intervalSeconds, startCheckpoint, PRIORITY.job);
    }
    scheduleFinish();
  };

  /** A blocking checkpoint: training stops while the state is written. */
  const startCheckpoint = () => {
    advance();
    checkpoints++;
    dips++;
    const snapshot = work;
    state = 'checkpointing';
    stateTimer = sim.after(
      config.checkpoint.writeSeconds,
      () => {
        advance();
        kept = snapshot;
        enterRunning();
      },
      PRIORITY.job,
    );
  };

  /** Takes spares for failed hosts (and to regrow a shrunk job), then restarts, waits or shrinks. */
  const beginRestart = () => {
    advance();
    let swapped = false;
    const take = Math.min(failedNodes, freeSpares);
    if (take > 0) {
      freeSpares -= take;
      failedNodes -= take;
      swapped = true;
    }
    const regrow = Math.min(config.nodes - jobNodes, freeSpares);
    if (failedNodes === 0 && regrow > 0) {
      freeSpares -= regrow;
      jobNodes += regrow;
      swapped = true;
    }
    fewestFree = Math.min(fewestFree, freeSpares);
    if (failedNodes > 0 && config.spares.policy === 'shrink') {
      const remaining = jobNodes - failedNodes;
      const replicas = Math.min(config.dp, Math.floor((remaining * config.gpusPerNode) / config.replicaGpus));
      if (replicas >= 1) {
        jobNodes = remaining;
        failedNodes = 0;
        if (replicas < dpActive) shrinks++;
        dpActive = replicas;
        log('shrunk');
      }
    }
    if (failedNodes > 0) {
      if (state !== 'waiting') {
        waits++;
        log('waiting');
      }
      state = 'waiting';
      return;
    }
    if (state === 'waiting') log('resumed');
    dpActive = Math.min(config.dp, Math.floor((jobNodes * config.gpusPerNode) / config.replicaGpus));
    state = 'restarting';
    const seconds = config.restartSeconds + config.checkpoint.readSeconds + (swapped ? config.swapSeconds : 0);
    stateTimer = sim.after(seconds, enterRunning, PRIORITY.job);
  };

  /** Stops the job: work since the last durable checkpoint is lost unless `clean`. */
  const stopJob = (clean: boolean) => {
    advance();
    // A blocking checkpoint already dropped to the waiting level.
    if (state === 'running') dips++;
    if (asyncCheckpoints && state === 'running') settleSnapshots(sim.now);
    if (clean) kept = work;
    badput.lostWork += work - kept;
    work = kept;
    sim.cancel(stateTimer);
    sim.cancel(checkpointTimer);
  };

  const repair = streams.stream(STREAM.repair);
  const sendToRepair = () => {
    const { autoRepairSeconds, manualRepairSeconds, manualShare } = config.spares;
    const seconds =
      repair.exponential(autoRepairSeconds) +
      (repair.bernoulli(manualShare) ? repair.exponential(manualRepairSeconds) : 0);
    sim.after(
      seconds,
      () => {
        freeSpares++;
        if (state === 'waiting') beginRestart();
      },
      PRIORITY.job,
    );
  };

  const thinning = streams.stream(STREAM.thinning);
  const onFailure = (index: number) => {
    const failureClass = config.classes[index];
    if (!failureClass || state === 'done') return;
    // Failures arrive for the full allocation; a shrunk job has fewer hosts, so keep each with that probability.
    if (failureClass.per !== 'job' && jobNodes < config.nodes && !thinning.bernoulli(jobNodes / config.nodes)) return;
    if (failureClass.detection === 'planned') {
      if (state !== 'running' && state !== 'checkpointing') return;
      planned++;
      log('maintenance');
      stopJob(true);
      restartCause = 'maintenance';
      beginRestart();
      return;
    }
    failures++;
    if (failureClass.replacesNode) {
      failedNodes++;
      sendToRepair();
    }
    if (state === 'detecting' || state === 'waiting') return; // one interruption already under way
    unexpected++;
    byCause[failureClass.id] = (byCause[failureClass.id] ?? 0) + 1;
    log('interruption', failureClass.id);
    stopJob(false);
    state = 'detecting';
    restartCause = 'restart';
    const seconds = failureClass.detection === 'hang' ? config.detection.hangSeconds : config.detection.crashSeconds;
    stateTimer = sim.after(seconds, beginRestart, PRIORITY.job);
  };

  // Failure processes: Poisson, or a non-homogeneous Poisson process with the Weibull cumulative hazard
  // Λ(t) = N((a + t)/λ)^k, sampled by inversion (Çinlar 1975): the next time solves Λ(t') = Λ(t) + Exp(1).
  config.classes.forEach((failureClass, index) => {
    if (failureClass.ratePerSecond <= 0) return;
    const stream: RandomStream = streams.stream(index);
    const k = failureClass.weibullShape;
    const scale = k === 1 ? 0 : weibullScale(failureClass);
    const age = failureClass.ageSeconds;
    const next = (from: number): number => {
      if (k === 1) return from + stream.exponential(1 / failureClass.ratePerSecond);
      const hazard = ((age + from) / scale) ** k + stream.exponential(1) / failureClass.count;
      // Rounding can land a hair before `from` when the increment is below one ulp of the hazard.
      return Math.max(from, scale * hazard ** (1 / k) - age);
    };
    const arrive = () => {
      onFailure(index);
      const t = next(sim.now);
      if (t <= end) sim.at(t, arrive, PRIORITY.failure);
    };
    const first = next(0);
    if (first <= end) sim.at(first, arrive, PRIORITY.failure);
  });

  // Slow hosts: episodes arrive as one Poisson stream over all hosts; the job runs at its slowest host's pace.
  const stragglerStream = streams.stream(STREAM.straggler);
  const episodes: number[] = [];
  const { stragglers } = config;
  const updateStragglers = () => {
    advance();
    stragglerFactor = episodes.length === 0 ? 1 : Math.max(...episodes);
    scheduleFinish();
  };
  if (stragglers.ratePerSecond > 0) {
    const arrive = () => {
      const slowdown = Math.min(
        stragglers.slowdownMax,
        Math.max(1, stragglerStream.logNormal(stragglers.slowdownMedian, stragglers.slowdownSigma)),
      );
      episodes.push(slowdown);
      updateStragglers();
      sim.after(
        stragglerStream.exponential(stragglers.meanSeconds),
        () => {
          episodes.splice(episodes.indexOf(slowdown), 1);
          updateStragglers();
        },
        PRIORITY.sampler,
      );
      sim.after(stragglerStream.exponential(1 / stragglers.ratePerSecond), arrive, PRIORITY.sampler);
    };
    sim.after(stragglerStream.exponential(1 / stragglers.ratePerSecond), arrive, PRIORITY.sampler);
  }

  // Diurnal throttling: each interval, the slowest of n GPUs sets the pace. The maximum of n exponential clock
  // deficits of mean m is drawn directly by inversion of its CDF (1 − e^{−x/m})^n: x = −m·ln(1 − U^{1/n}).
  const throttleStream = streams.stream(STREAM.throttle);
  const { peakMeanDeficit, intervalSeconds } = config.throttling;
  if (peakMeanDeficit > 0) {
    const day = 86400;
    const sample = () => {
      // Mean deficit peaks at 14:00 and is zero at 02:00 (the run starts at midnight).
      const mean = (peakMeanDeficit * (1 + Math.cos((2 * Math.PI * (sim.now - 14 * 3600)) / day))) / 2;
      const n = jobNodes * config.gpusPerNode;
      const deficit = maxOfExponentials(throttleStream.uniform(), mean, n);
      advance();
      throttleFactor = 1 + deficit;
      scheduleFinish();
      if (sim.now + intervalSeconds <= end) sim.after(intervalSeconds, sample, PRIORITY.sampler);
    };
    sim.at(0, sample, PRIORITY.sampler);
  }

  // Start: the job launches (restart, reading no checkpoint), then trains.
  stateTimer = sim.after(config.restartSeconds, enterRunning, PRIORITY.job);
  const stopped = sim.run(end);
  if (!stopped) {
    advance();
    if (asyncCheckpoints && (state as State) === 'running') settleSnapshots(end);
  }
  const wall = finishedAt ?? end;
  const finished = finishedAt !== undefined;

  const hours = (seconds: number) => seconds / 3600;
  const downtime =
    badput.lostWork + badput.detection + badput.restart + badput.checkpoint + badput.maintenance + badput.spares;
  const timeToTrain = finished ? wall : work > 0 ? (wall * config.idealSeconds) / work : Number.POSITIVE_INFINITY;
  const summary: RunSummary = {
    replica,
    finished,
    wallDays: wall / 86400,
    timeToTrainDays: timeToTrain / 86400,
    projected: !finished,
    idealDays: config.idealSeconds / 86400,
    ettr: 1 - downtime / wall,
    goodput: work / wall,
    goodputTokensPerSecond: (work * config.tokensPerSecond) / wall,
    tokensTrained: work * config.tokensPerSecond,
    badputHours: Object.fromEntries(BADPUT_CAUSES.map((c) => [c, hours(badput[c])])) as Record<BadputCause, number>,
    unexpectedInterruptions: unexpected,
    plannedInterruptions: planned,
    interruptionsByCause: byCause,
    failures,
    checkpoints,
    spares: { pool: config.spares.nodes, fewestFree, waits, shrinks },
    power: {
      meanMW: energyMWs / wall,
      peakMW,
      minimumMW: Number.isFinite(minimumMW) ? minimumMW : 0,
      energyMWh: energyMWs / 3600,
      stepSwingMW: power.stepSwingMW,
      stepHz: power.stepHz,
      dipsPerDay: dips / (wall / 86400),
      dipMW: power.runningMW - power.idleMW,
    },
  };
  return {
    seed,
    summary,
    events,
    eventsDropped,
    timeline: {
      bucketSeconds: bucket,
      tokensPerSecond: tokensRate,
      powerMW: { mean: powerMean, min: powerMin.map((v) => (Number.isFinite(v) ? v : 0)), max: powerMax },
    },
    kernelEvents: sim.eventsProcessed,
  };
}
