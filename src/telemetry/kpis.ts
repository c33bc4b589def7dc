/**
 * The KPIs of an observed run, from its step series (the output of the parsers: {@link StepPoint}s), with the same
 * definitions as the planner and the twin so that plan and actual compare:
 * - step-time distribution over steady steps, with the twin's {@link percentile} (Hyndman–Fan type 7);
 * - tokens/s, tokens/s per GPU, model TFLOP/s per GPU and MFU as `estimate` defines them (src/perf/estimate.ts:
 *   MFU = model FLOPs per second / (GPUs × dense peak));
 * - ETTR and goodput as the twin defines them (src/twin/run.ts: ETTR = 1 − downtime / wall, goodput = useful work /
 *   wall), with badput by cause named like the twin's `BADPUT_CAUSES` where they match.
 *
 * Rules (each a parameter):
 * - The reference median `m` is the median iteration time over every timed point of the window: the statistic the
 *   stall detector of megatron-ci.ts and index.json's `stall_rule` ("numeric iteration-time > 5 × median") use.
 * - Warm-up: the leading points slower than `slowFactor` × m (until the first point at or below it).
 * - Stall: a point above `stallFactor` (5) × m (megatron-ci.ts `stalls`; docs/research operate.md §2.2 uses the same
 *   golden series). Slow step: above `slowFactor` (1.5) × m and not a stall (Holmes, operate.md §2, calls > 2× normal
 *   irregular; 1.5 is stricter). Restart: an iteration rewind or a memory reset (megatron-ci.ts `detectRestarts`).
 * - Steady steps: every timed point that is neither warm-up nor a stall.
 *
 * Wall time (the Megatron CI series has no timestamps): each point stands for the steps since the previous timed
 * point, `w = step − previous step` (1 for the first point and after a rewind), capped at the sampling interval
 * (the most common step difference) so that unlogged stretches count as unobserved rather than as that point's
 * time; wall = Σ t × w. CI values are log-interval means sampled every `step_interval` steps, so this is an
 * approximation. When the log interval is known and shorter than `w`, a spike's excess over m is charged for
 * `min(logInterval, w)` steps only (a 1-iteration stall sampled every 5 steps is one slow iteration, not five); the
 * other steps of the point are taken at m.
 *
 * Badput, each the time above m unless said otherwise: `lostWork` (productive time of steps repeated after a rewind,
 * plus half a median step per failure for the iteration it interrupted), `restart` (restart points slower than
 * `slowFactor` × m, and, when points carry time stamps, the pause before a restart: clock time between two lines
 * beyond the iterations the later one logged: detection, relaunch, reload), `checkpoint` (the other, shorter pauses:
 * checkpoint saves and evaluation, which Megatron's interval timer leaves out), `warmup`, `stall`, `stragglers`
 * (slow steps). Pauses are added to the wall; one at a rewind, or longer than {@link RESTART_PAUSE_FACTOR} × the
 * typical pause and a minute, is a restart and counts as one. Downtime (ETTR) = lostWork + restart + checkpoint +
 * warmup + stall, as the twin counts checkpoints; slow steps lower goodput but not ETTR, as stragglers do in the
 * twin. productive + Σ badput = wall.
 *
 * Pure, no Node APIs; every number is finite (an empty window gives zeros and `empty: true` with the reason).
 * @module
 */
import { percentile } from '../twin/study.js';
import { detectRestarts, type StepPoint } from './megatron-ci.js';

/** Causes of lost time in an observed run; `lostWork`, `restart` and `stragglers` are the twin's names. */
export const OBSERVED_BADPUT_CAUSES = ['lostWork', 'restart', 'checkpoint', 'warmup', 'stall', 'stragglers'] as const;
/** One cause of lost time in an observed run. */
export type ObservedBadputCause = (typeof OBSERVED_BADPUT_CAUSES)[number];
/** The causes counted as downtime in ETTR (the twin's ETTR leaves stragglers out). */
export const DOWNTIME_CAUSES: readonly ObservedBadputCause[] = ['lostWork', 'restart', 'checkpoint', 'warmup', 'stall'];

/**
 * A pause between two lines without a restart counts as a restart (maintenance, or a failure right after a
 * checkpoint, so no rewind shows) when it is this many times the typical pause (the median, checkpoint saves)…
 */
export const RESTART_PAUSE_FACTOR = 5;
/** …and at least this long, seconds: below a minute no job is detected down, relaunched and reloaded. */
export const MIN_RESTART_PAUSE_SECONDS = 60;
/** Pauses without a restart needed before their median is taken as the typical (checkpoint) pause. */
export const MIN_PAUSES_FOR_TYPICAL = 10;
/** Most restart pauses a result lists. */
export const MAX_RESTART_PAUSES = 10_000;
/** Share of a line's logged time its time stamps may drift from it (log printing, barriers) without a pause. */
export const PAUSE_JITTER_SHARE = 0.01;

/** The resolution of a series' time stamps: 1 s when every stamp is a whole second, else 1 ms. */
export function stampResolution(times: readonly number[]): number {
  return times.every((t) => Number.isInteger(t)) ? 1 : 0.001;
}

/** Facts about the run that the series does not carry; each KPI that needs one is absent without it. */
export interface RunFacts {
  /** Global batch × sequence length. */
  readonly tokensPerStep?: number;
  readonly gpus?: number;
  /** Model FLOPs per token (`flopsPerToken(model, seq).total`, src/perf/model-size.ts). */
  readonly flopsPerToken?: number;
  /** Dense peak TFLOP/s per GPU at the run's precision. */
  readonly peakTflopsPerGpu?: number;
  /** Iterations each iteration time averages (`--log-interval`); unknown: the excess is charged for every step. */
  readonly logInterval?: number;
  /** Steps between samples; default: the most common step difference between timed points. */
  readonly stepInterval?: number;
}

/** Thresholds and the window. */
export interface KpiOptions {
  /** Steps in [fromStep, toStep] (both inclusive); default the whole series. */
  readonly window?: { readonly fromStep?: number; readonly toStep?: number };
  /** Stall above this × median (default 5). */
  readonly stallFactor?: number;
  /** Slow step (and warm-up) above this × median (default 1.5). */
  readonly slowFactor?: number;
  /**
   * The planned checkpoint pause, seconds (the twin's blocking write or async snapshot): a pause without a rewind
   * up to twice it is a checkpoint save, whatever the window's other pauses say.
   */
  readonly checkpointPauseSeconds?: number;
}

/** P10/P50/P90/P99 of the steady step times (seconds), with their count. */
export interface StepTimeDistribution {
  readonly count: number;
  readonly p10: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

/** Rates that need the run facts. */
export interface ThroughputKpis {
  /** tokensPerStep / m. */
  readonly tokensPerSecond: number;
  /** Tokens of steps that advanced the model, per wall second. */
  readonly goodputTokensPerSecond: number;
  readonly tokensPerSecondPerGpu?: number;
  readonly modelTflopsPerGpu?: number;
  readonly mfu?: number;
}

/** The KPIs of one window of an observed run. */
export interface ObservedKpis {
  readonly empty: boolean;
  /** Why the result is empty. */
  readonly reason?: string;
  readonly points: number;
  readonly timedPoints: number;
  /** Reference median iteration time over every timed point (s). */
  readonly medianSeconds: number;
  readonly steady: StepTimeDistribution;
  readonly warmupPoints: number;
  readonly stallPoints: number;
  readonly slowPoints: number;
  readonly restarts: number;
  /** Restarts seen as an iteration rewind or a memory reset: interrupted work, so unexpected ones. */
  readonly restartsAtRewind: number;
  /** The pause of each restart the time stamps show, seconds, in order (at most {@link MAX_RESTART_PAUSES}). */
  readonly restartPauses: readonly number[];
  readonly wallSeconds: number;
  readonly productiveSeconds: number;
  /** Steps the wall time stands for, and those of them that advanced the model (not repeated later). */
  readonly observedSteps: number;
  readonly productiveSteps: number;
  /** Steps in stretches longer than the sampling interval, left out of the wall time. */
  readonly unobservedSteps: number;
  readonly badputSeconds: Readonly<Record<ObservedBadputCause, number>>;
  /** Each cause over wall time. */
  readonly badputShare: Readonly<Record<ObservedBadputCause, number>>;
  /** 1 − downtime / wall (src/twin/run.ts). */
  readonly ettr: number;
  /** productive / wall (src/twin/run.ts `goodput`). */
  readonly goodput: number;
  readonly throughput?: ThroughputKpis;
}

const zeroCauses = (): Record<ObservedBadputCause, number> =>
  Object.fromEntries(OBSERVED_BADPUT_CAUSES.map((c) => [c, 0])) as Record<ObservedBadputCause, number>;

const finite = (x: number) => (Number.isFinite(x) ? x : 0);
const clamp01 = (x: number) => Math.min(1, Math.max(0, finite(x)));
const positive = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x) && x > 0;

function emptyKpis(points: number, timedPoints: number, reason: string): ObservedKpis {
  return {
    empty: true,
    reason,
    points,
    timedPoints,
    medianSeconds: 0,
    steady: { count: 0, p10: 0, p50: 0, p90: 0, p99: 0 },
    warmupPoints: 0,
    stallPoints: 0,
    slowPoints: 0,
    restarts: 0,
    restartsAtRewind: 0,
    restartPauses: [],
    wallSeconds: 0,
    productiveSeconds: 0,
    observedSteps: 0,
    productiveSteps: 0,
    unobservedSteps: 0,
    badputSeconds: zeroCauses(),
    badputShare: zeroCauses(),
    ettr: 0,
    goodput: 0,
  };
}

/** The most common positive difference of consecutive steps (the smallest on ties); 1 when there is none. */
export function modeInterval(steps: readonly number[]): number {
  const counts = new Map<number, number>();
  for (let i = 1; i < steps.length; i++) {
    const d = (steps[i] as number) - (steps[i - 1] as number);
    if (d > 0) counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let best = 1;
  let bestCount = 0;
  for (const [d, n] of counts) if (n > bestCount || (n === bestCount && d < best)) [best, bestCount] = [d, n];
  return best;
}

/** A pause before a point: clock time its time stamps show beyond the iterations it logged, and its cause. */
interface Pause {
  readonly seconds: number;
  readonly cause: 'restart' | 'checkpoint';
}

/**
 * The pauses a series' time stamps show (module comment): `gap = Δtime − t × w` beyond twice the stamps' resolution
 * and {@link PAUSE_JITTER_SHARE} of the line's time. A pause at a rewind or memory reset is a restart's downtime;
 * another is a restart when it exceeds {@link RESTART_PAUSE_FACTOR} × the median such pause (given at least
 * {@link MIN_PAUSES_FOR_TYPICAL} of them) and {@link MIN_RESTART_PAUSE_SECONDS}, else a checkpoint save (Megatron stops its interval timer while saving and
 * evaluating, so those show only between stamps).
 */
function linePauses(
  timed: readonly { step: number; t: number; restart: boolean; rewind: boolean; time: number | undefined }[],
  weight: (i: number) => number,
  checkpointPauseSeconds = 0,
): (Pause | undefined)[] {
  const stamps = timed.flatMap((p) => (p.time === undefined ? [] : [p.time]));
  if (stamps.length < 2) return [];
  const resolution = stampResolution(stamps);
  const gaps = timed.map((p, i) => {
    const previous = timed[i - 1];
    if (previous?.time === undefined || p.time === undefined) return 0;
    // The clock ran for every step since the previous line, logged or not (lines left out of the log are missing
    // lines, not a pause): compare with all of them, not only the capped weight.
    const steps = p.rewind ? weight(i) : Math.max(weight(i), p.step - previous.step);
    const logged = p.t * steps;
    const gap = p.time - previous.time - logged;
    return gap > 2 * resolution + PAUSE_JITTER_SHARE * logged ? gap : 0;
  });
  const atRestart = (i: number) =>
    (timed[i] as (typeof timed)[number]).restart || (timed[i] as (typeof timed)[number]).rewind;
  const plain = Float64Array.from(gaps.filter((g, i) => g > 0 && !atRestart(i))).sort();
  // The median is the typical checkpoint pause only when restarts are a minority of many pauses.
  const typical = plain.length >= MIN_PAUSES_FOR_TYPICAL ? percentile(plain, 0.5) : 0;
  const restartPause = Math.max(
    RESTART_PAUSE_FACTOR * typical,
    MIN_RESTART_PAUSE_SECONDS,
    2 * (Number.isFinite(checkpointPauseSeconds) ? checkpointPauseSeconds : 0),
  );
  return gaps.map((gap, i) =>
    gap > 0 ? { seconds: gap, cause: atRestart(i) || gap > restartPause ? 'restart' : 'checkpoint' } : undefined,
  );
}

/**
 * The KPIs of a step series over a window (default the whole series): see the module comment for every rule.
 * Points keep their series order (a rewind is a step not above the previous one). Never throws; never NaN.
 */
export function observedKpis(
  series: readonly StepPoint[],
  facts: RunFacts = {},
  options: KpiOptions = {},
): ObservedKpis {
  const stallFactor = options.stallFactor ?? 5;
  const slowFactor = options.slowFactor ?? 1.5;
  const from = options.window?.fromStep ?? Number.NEGATIVE_INFINITY;
  const to = options.window?.toStep ?? Number.POSITIVE_INFINITY;
  const points = series.filter((p) => p.step >= from && p.step <= to);
  const restartAt = new Set(detectRestarts(points).map((r) => r.index));
  // Timed points, each with whether a restart shows at it or at an untimed point since the previous timed one.
  const timed: { step: number; t: number; restart: boolean; rewind: boolean; time: number | undefined }[] = [];
  let pendingRestart = false;
  let lastStep: number | undefined;
  let pendingRewind = false;
  points.forEach((p, index) => {
    if (lastStep !== undefined && p.step <= lastStep) pendingRewind = true;
    lastStep = p.step;
    pendingRestart ||= restartAt.has(index);
    const t = p.iterationSeconds;
    if (t === undefined || !Number.isFinite(t) || t < 0) return;
    const time = p.time !== undefined && Number.isFinite(p.time) ? p.time : undefined;
    timed.push({ step: p.step, t, restart: pendingRestart, rewind: pendingRewind, time });
    pendingRestart = false;
    pendingRewind = false;
  });
  if (timed.length === 0) return emptyKpis(points.length, 0, 'no point with an iteration time in the window');
  const sortedAll = Float64Array.from(timed, (p) => p.t).sort();
  // Median = Hyndman–Fan type 7 at p = 0.5 (src/twin/study.ts `percentile`).
  const m = percentile(sortedAll, 0.5);
  if (!(m > 0)) return emptyKpis(points.length, timed.length, 'median iteration time is not positive');

  let warmupEnd = 0;
  while (warmupEnd < timed.length && (timed[warmupEnd] as (typeof timed)[number]).t > slowFactor * m) warmupEnd++;
  const cap = positive(facts.stepInterval) ? facts.stepInterval : modeInterval(timed.map((p) => p.step));
  const badput = zeroCauses();
  const kept: { step: number; seconds: number; steps: number }[] = [];
  const steadyTimes: number[] = [];
  let wall = 0;
  let observedSteps = 0;
  let unobservedSteps = 0;
  let stallPoints = 0;
  let slowPoints = 0;
  let restarts = 0;
  let restartsAtRewind = 0;
  const restartPauses: number[] = [];
  // Steps each point stands for: since the previous timed point, capped at the sampling interval (module comment).
  const weight = (i: number) => {
    const p = timed[i] as (typeof timed)[number];
    const previous = timed[i - 1];
    return previous === undefined || p.rewind ? 1 : Math.min(p.step - previous.step, cap);
  };
  const pauses = linePauses(timed, weight, options.checkpointPauseSeconds);
  timed.forEach((p, i) => {
    const previous = timed[i - 1];
    const w = weight(i);
    if (previous !== undefined && !p.rewind) unobservedSteps += p.step - previous.step - w;
    if (p.rewind) {
      // Steps repeated after a rewind: the earlier pass's productive time is lost work (the twin's lostWork).
      while (kept.length > 0 && (kept[kept.length - 1] as (typeof kept)[number]).step >= p.step) {
        const lost = kept.pop() as (typeof kept)[number];
        badput.lostWork += lost.seconds;
      }
    }
    // A pause between time stamps: a restart's downtime (detection, relaunch, reload) or a checkpoint save.
    const pause = pauses[i];
    const restartHere = p.restart || p.rewind || pause?.cause === 'restart';
    if (restartHere) restarts += 1;
    if (p.restart || p.rewind) restartsAtRewind += 1;
    if (pause?.cause === 'restart' && restartPauses.length < MAX_RESTART_PAUSES) restartPauses.push(pause.seconds);
    if (pause !== undefined) {
      // A failure strikes mid-iteration: the iteration in progress is lost too, on average half a step (failure
      // times uniform within it), and the pause before the rewound line holds that time.
      const partial = p.rewind && pause.cause === 'restart' ? Math.min(pause.seconds, m / 2) : 0;
      badput.lostWork += partial;
      badput[pause.cause] += pause.seconds - partial;
      wall += pause.seconds;
    }
    const cause: ObservedBadputCause | undefined =
      i < warmupEnd
        ? 'warmup'
        : restartHere && p.t > slowFactor * m
          ? 'restart'
          : p.t > stallFactor * m
            ? 'stall'
            : p.t > slowFactor * m
              ? 'stragglers'
              : undefined;
    if (cause === 'stall') stallPoints += 1;
    if (cause === 'stragglers') slowPoints += 1;
    if (cause !== 'warmup' && p.t <= stallFactor * m) steadyTimes.push(p.t);
    observedSteps += w;
    if (cause === undefined) {
      // Wall = Σ t × w (module comment).
      wall += p.t * w;
      kept.push({ step: p.step, seconds: p.t * w, steps: w });
      return;
    }
    // A spike's excess over m counts for min(logInterval, w) steps; the point's other steps at m (module comment).
    const spikeSteps = positive(facts.logInterval) ? Math.min(facts.logInterval, w) : w;
    const excess = (p.t - m) * spikeSteps;
    wall += m * w + excess;
    badput[cause] += excess;
    kept.push({ step: p.step, seconds: m * w, steps: w });
  });
  const productive = kept.reduce((sum, k) => sum + k.seconds, 0);
  const productiveSteps = kept.reduce((sum, k) => sum + k.steps, 0);
  const downtime = DOWNTIME_CAUSES.reduce((sum, c) => sum + badput[c], 0);
  const sortedSteady = Float64Array.from(steadyTimes).sort();
  const q = (p: number) => (sortedSteady.length === 0 ? 0 : finite(percentile(sortedSteady, p)));
  const share = Object.fromEntries(
    OBSERVED_BADPUT_CAUSES.map((c) => [c, wall > 0 ? finite(badput[c] / wall) : 0]),
  ) as Record<ObservedBadputCause, number>;

  let throughput: ThroughputKpis | undefined;
  if (positive(facts.tokensPerStep)) {
    // Tokens per second = tokens per step / step time (src/perf/estimate.ts, throughput at the steady step time).
    const tokensPerSecond = finite(facts.tokensPerStep / m);
    // Goodput tokens/s = tokens of steps that advanced the model / wall (src/twin/run.ts goodputTokensPerSecond).
    const goodputTokensPerSecond = wall > 0 ? finite((facts.tokensPerStep * productiveSteps) / wall) : 0;
    const perGpu = positive(facts.gpus) ? finite(tokensPerSecond / facts.gpus) : undefined;
    // Model TFLOP/s per GPU = tokens/s per GPU × model FLOPs per token / 1e12 (src/perf/estimate.ts).
    const modelTflopsPerGpu =
      perGpu !== undefined && positive(facts.flopsPerToken) ? finite((perGpu * facts.flopsPerToken) / 1e12) : undefined;
    // MFU = model FLOPs/s / (GPUs × dense peak) (src/perf/estimate.ts `mfu`).
    const mfu =
      modelTflopsPerGpu !== undefined && positive(facts.peakTflopsPerGpu)
        ? finite(modelTflopsPerGpu / facts.peakTflopsPerGpu)
        : undefined;
    throughput = {
      tokensPerSecond,
      goodputTokensPerSecond,
      ...(perGpu !== undefined ? { tokensPerSecondPerGpu: perGpu } : {}),
      ...(modelTflopsPerGpu !== undefined ? { modelTflopsPerGpu } : {}),
      ...(mfu !== undefined ? { mfu } : {}),
    };
  }

  return {
    empty: false,
    points: points.length,
    timedPoints: timed.length,
    medianSeconds: m,
    steady: { count: sortedSteady.length, p10: q(0.1), p50: q(0.5), p90: q(0.9), p99: q(0.99) },
    warmupPoints: warmupEnd,
    stallPoints,
    slowPoints,
    restarts,
    restartsAtRewind,
    restartPauses,
    wallSeconds: wall,
    productiveSeconds: productive,
    observedSteps,
    productiveSteps,
    unobservedSteps,
    badputSeconds: badput,
    badputShare: share,
    // ETTR = 1 − downtime / wall (src/twin/run.ts), clamped against rounding.
    ettr: wall > 0 ? clamp01(1 - downtime / wall) : 0,
    // Goodput = useful work / wall (src/twin/run.ts).
    goodput: wall > 0 ? clamp01(productive / wall) : 0,
    ...(throughput !== undefined ? { throughput } : {}),
  };
}

/** The KPIs of the whole run and, when a window is given, of that window. */
export function runKpis(
  series: readonly StepPoint[],
  facts: RunFacts = {},
  options: KpiOptions = {},
): { readonly run: ObservedKpis; readonly window?: ObservedKpis } {
  const { window, ...thresholds } = options;
  const run = observedKpis(series, facts, thresholds);
  return window === undefined ? { run } : { run, window: observedKpis(series, facts, options) };
}
