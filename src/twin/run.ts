/**
 * One replica of the digital twin: the composition of the training job (job.ts) with the processes that drive
 * it on the event kernel (processes/: failures, detection and restart, checkpoints, spares and repairs, slow
 * hosts, throttling) and the recorders it feeds (power.ts, timeline.ts). Every second of wall-clock time is
 * accounted to useful work or to one badput cause, so wall = useful + sum of badput exactly.
 * docs/twin.md explains the model; src/twin/setup.ts builds its configuration.
 * @module
 */
import { ReplicaStreams, Simulation } from '../sim/index.js';
import type { RunContext } from './context.js';
import { BADPUT_CAUSES, type BadputCause, EventLog, Job, SpeedLog, type SpeedSegment, type TwinEvent } from './job.js';
import { PowerMeter, type PowerSummary } from './power.js';
import { checkpointProcess } from './processes/checkpoints.js';
import { Recovery } from './processes/detection-restart.js';
import { startDomains } from './processes/domains.js';
import { type FailureProcess, randomFailures } from './processes/failures.js';
import { Fleet } from './processes/hosts.js';
import { Predictor } from './processes/mitigation.js';
import { SparePool } from './processes/spares.js';
import { startStragglers } from './processes/stragglers.js';
import { startThrottling } from './processes/throttling.js';
import type { TwinConfig } from './setup.js';
import { type Timeline, TimelineRecorder } from './timeline.js';

export {
  BADPUT_CAUSES,
  type BadputCause,
  MAX_EVENTS,
  MAX_SPEED_SEGMENTS,
  type SpeedSegment,
  type TwinEvent,
  type TwinEventKind,
} from './job.js';
export type { FailureContext, FailureProcess } from './processes/failures.js';
export { randomFailures } from './processes/failures.js';
export { maxOfExponentials } from './processes/throttling.js';
export type { Timeline } from './timeline.js';

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
    /** Host slots the platform refilled before the repair, and hosts excluded for good (mitigation). */
    readonly refills: number;
    readonly excluded: number;
  };
  /** What the mitigation policy did (all zero without one). */
  readonly mitigation: {
    readonly predictedCheckpoints: number;
    readonly falseAlarms: number;
    readonly drains: number;
  };
  readonly power: PowerSummary;
}

/** A run's summary, event log and timeline. */
export interface RunResult {
  readonly seed: number;
  readonly summary: RunSummary;
  readonly events: TwinEvent[];
  /** Events left out of the log once it held {@link MAX_EVENTS}. */
  readonly eventsDropped: number;
  /**
   * The job's step speed over time where it is not 1 (stragglers, throttling, shrinking; runs with detail only,
   * empty otherwise), at most {@link MAX_SPEED_SEGMENTS}: what an emulator needs to replay the slowdowns.
   */
  readonly speedSegments: SpeedSegment[];
  /** Speed segments left out once the list held {@link MAX_SPEED_SEGMENTS}. */
  readonly speedSegmentsDropped: number;
  readonly timeline: Timeline;
  readonly kernelEvents: number;
}

/**
 * The badput causes ETTR charges (Meta's effective training time ratio: time training at any speed and kept):
 * ETTR = 1 − Σ these / wall. Stragglers, throttling and shrinking slow the job but are not downtime.
 */
export const ETTR_CAUSES = [
  'lostWork',
  'detection',
  'restart',
  'checkpoint',
  'maintenance',
  'spares',
] as const satisfies readonly BadputCause[];

/** Options of {@link simulateRun}. */
export interface RunOptions {
  /** Keep the event log and timeline (studies turn them off for every replica but one). */
  readonly detail?: boolean;
  /** Where failures come from; default {@link randomFailures} (Poisson or Weibull per class, seeded). */
  readonly failures?: FailureProcess;
}

/**
 * Most events one replica may fire, all processes together (failures, repairs, stragglers, throttling samples,
 * checkpoints). `twinConfig` refuses settings expected to come near it; this is the backstop.
 */
export const MAX_RUN_EVENTS = 2e7;

/**
 * The layout of a replica's random streams ({@link ReplicaStreams} indices): failure class i draws from stream i,
 * for at most {@link MAX_FAILURE_CLASSES} classes, then the fixed processes. The numbers are part of every
 * result (a renumbering changes all of them), so the fixed ones stay after the classes.
 */
const STREAM = {
  repair: 32,
  straggler: 33,
  throttle: 34,
  thinning: 35,
  /** Which host fails, and the thinning of lemon-weighted classes. */
  hosts: 36,
  /** Domain kind j (rack, PDU, leaf switch) draws from stream 37 + j: 37 to 39. */
  domains: 37,
  // 40 is the forecast's posterior rate (app/forecast.ts).
  /** Which failures the predictor sees coming, and its false alarms. */
  predictions: 41,
  falseAlarms: 42,
  /** Which host a drain swaps out. */
  drains: 43,
} as const;

/** Most domain kinds: their streams 37 to 39 end where the forecast's 40 begins. */
const MAX_DOMAINS = 3;

/** Most failure classes a run can have: their streams 0 to 31 end where the fixed processes' begin. */
export const MAX_FAILURE_CLASSES = STREAM.repair;

/** Runs one replica of `config` with `seed`. */
export function simulateRun(config: TwinConfig, seed: number, replica: number, options: RunOptions = {}): RunResult {
  if (config.classes.length > MAX_FAILURE_CLASSES) {
    throw new RangeError(
      `internal: ${config.classes.length} failure classes; their random streams would overlap the fixed processes' (at most ${MAX_FAILURE_CLASSES})`,
    );
  }
  if (config.domains.length > MAX_DOMAINS) {
    throw new RangeError(`internal: ${config.domains.length} failure domains; at most ${MAX_DOMAINS} have streams`);
  }
  const detail = options.detail ?? true;
  const drainCounts = { predictedCheckpoints: 0, falseAlarms: 0, drains: 0 };
  const sim = new Simulation(MAX_RUN_EVENTS);
  const streams = new ReplicaStreams(seed, replica);
  const ctx: RunContext = { sim, config, end: config.windowSeconds ?? config.limitSeconds };

  const power = new PowerMeter(config.power);
  const timeline = new TimelineRecorder(config.bucketSeconds);
  const log = new EventLog(ctx, detail);
  const speeds = detail ? new SpeedLog() : undefined;
  const checkpoints = checkpointProcess(ctx);
  const job = new Job(ctx, checkpoints, { power, timeline: detail ? timeline : undefined, log, speeds });
  const lemons = config.lemons;
  const fleet = new Fleet(
    config.nodes,
    config.nodes + config.spares.nodes,
    lemons?.fraction ?? 0,
    lemons?.multiplier ?? 1,
  );
  const spares = new SparePool(ctx, fleet, streams.stream(STREAM.repair), () => recovery.hostReturned());
  const recovery = new Recovery(ctx, job, spares, fleet, streams.stream(STREAM.thinning), streams.stream(STREAM.hosts));
  const mitigation = config.mitigation;
  const predictor = mitigation.prediction
    ? new Predictor(ctx, job, streams.stream(STREAM.predictions), streams.stream(STREAM.falseAlarms))
    : undefined;

  // The order of these calls is part of the result: events at equal times and priorities fire in scheduling order.
  (options.failures ?? randomFailures).start({
    ...ctx,
    stream: (classIndex) => streams.stream(classIndex),
    strike: recovery.strike,
    ...(predictor && {
      scheduled: (classIndex: number, t: number) =>
        predictor.scheduled(t, config.classes[classIndex]?.detection === 'planned'),
      aheadSeconds: mitigation.prediction?.leadSeconds ?? 0,
    }),
  });
  startStragglers(
    ctx,
    job,
    streams.stream(STREAM.straggler),
    mitigation.stragglerDetectSeconds !== undefined
      ? { recovery, stream: streams.stream(STREAM.drains), counts: predictor?.counts ?? drainCounts }
      : undefined,
  );
  startThrottling(ctx, job, streams.stream(STREAM.throttle));
  startDomains(ctx, recovery, (j) => streams.stream(STREAM.domains + j), predictor && ((t) => predictor.scheduled(t)));
  predictor?.start();
  job.launch();

  if (!sim.run(ctx.end)) job.close();
  const finished = job.finishedAt !== undefined;
  const wall = job.finishedAt ?? ctx.end;
  const { work, badput } = job;
  const counts = recovery.counts();

  const hours = (seconds: number) => seconds / 3600;
  const downtime = ETTR_CAUSES.reduce((sum, cause) => sum + badput[cause], 0);
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
    unexpectedInterruptions: counts.unexpected,
    plannedInterruptions: counts.planned,
    interruptionsByCause: counts.byCause,
    failures: counts.failures,
    checkpoints: checkpoints.count,
    spares: {
      pool: config.spares.nodes,
      fewestFree: spares.fewestFree,
      waits: job.waits,
      shrinks: job.shrinks,
      refills: spares.refills,
      excluded: spares.excluded,
    },
    mitigation: { ...(predictor?.counts ?? drainCounts) },
    power: power.summary(wall),
  };
  return {
    seed,
    summary,
    events: log.events,
    eventsDropped: log.dropped,
    speedSegments: speeds?.segments ?? [],
    speedSegmentsDropped: speeds?.dropped ?? 0,
    timeline: timeline.timeline(),
    kernelEvents: sim.eventsProcessed,
  };
}
