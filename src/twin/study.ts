/**
 * Studies: many replicas of one twin, each with its own random streams (seeded from the study seed and its
 * index), summarised as P10/P50/P90 and mean of every figure. Replicas are independent, so a study split across
 * worker threads gives the same numbers as one thread. Only each replica's scalar figures are kept (about 40
 * numbers), plus the event log and timeline of replica 0 for the report.
 * @module
 */
import { BADPUT_CAUSES, type BadputCause, ETTR_CAUSES, type RunResult, type RunSummary, simulateRun } from './run.js';
import type { TwinConfig } from './setup.js';

/** Distribution of one figure over the replicas. */
export interface StudyStat {
  readonly p10: number;
  readonly p50: number;
  readonly p90: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** The figures a study summarises, read from each replica's summary. */
export const STUDY_FIGURES = {
  ettr: (s: RunSummary) => s.ettr,
  goodput: (s: RunSummary) => s.goodput,
  timeToTrainDays: (s: RunSummary) => s.timeToTrainDays,
  unexpectedInterruptions: (s: RunSummary) => s.unexpectedInterruptions,
  plannedInterruptions: (s: RunSummary) => s.plannedInterruptions,
  failures: (s: RunSummary) => s.failures,
  goodputTokensPerSecond: (s: RunSummary) => s.goodputTokensPerSecond,
  tokensTrained: (s: RunSummary) => s.tokensTrained,
  wallDays: (s: RunSummary) => s.wallDays,
  checkpoints: (s: RunSummary) => s.checkpoints,
  fewestFreeSpares: (s: RunSummary) => s.spares.fewestFree,
  spareWaits: (s: RunSummary) => s.spares.waits,
  meanMW: (s: RunSummary) => s.power.meanMW,
  energyMWh: (s: RunSummary) => s.power.energyMWh,
  dipsPerDay: (s: RunSummary) => s.power.dipsPerDay,
} as const;
export type StudyFigure = keyof typeof STUDY_FIGURES;

/** A study's outcome. */
export interface StudyResult {
  readonly replicas: number;
  readonly seed: number;
  /** Replicas that trained the whole workload (the rest ran out of their window). */
  readonly finished: number;
  readonly figures: Readonly<Record<StudyFigure, StudyStat>>;
  readonly badputHours: Readonly<Record<BadputCause, StudyStat>>;
  readonly interruptionsByCause: Readonly<Record<string, StudyStat>>;
  /** ETTR of every replica, in replica order (for the distribution chart). */
  readonly ettrValues: number[];
  /** Replica 0 in full: its events and timeline. */
  readonly example: RunResult;
}

/**
 * Percentile of sorted values by linear interpolation between order statistics (Hyndman and Fan 1996,
 * definition 7, the default of R and NumPy).
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const position = (n - 1) * p;
  const below = Math.floor(position);
  const above = Math.min(n - 1, below + 1);
  const low = sorted[below] as number;
  const high = sorted[above] as number;
  // Equal neighbours (infinite ones included) need no interpolation; Inf − Inf would give NaN.
  if (position === below || low === high) return low;
  return low + (high - low) * (position - below);
}

/** P10, P50, P90, mean, min and max of `values`. */
export function describe(values: ArrayLike<number>): StudyStat {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    p10: percentile(sorted, 0.1),
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    mean: sum / sorted.length,
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** Runs replicas `from` to `to - 1` without their logs: the unit of work of a worker thread. */
export function runReplicas(config: TwinConfig, seed: number, from: number, to: number): RunSummary[] {
  const out: RunSummary[] = [];
  for (let replica = from; replica < to; replica++) {
    out.push(simulateRun(config, seed, replica, { detail: false }).summary);
  }
  return out;
}

/** Summarises replica summaries (in replica order) and the full run of replica 0. */
export function summarizeStudy(seed: number, summaries: readonly RunSummary[], example: RunResult): StudyResult {
  const column = (read: (s: RunSummary) => number) => describe(summaries.map(read));
  const figures = Object.fromEntries(Object.entries(STUDY_FIGURES).map(([key, read]) => [key, column(read)])) as Record<
    StudyFigure,
    StudyStat
  >;
  const badputHours = Object.fromEntries(
    BADPUT_CAUSES.map((cause) => [cause, column((s) => s.badputHours[cause])]),
  ) as Record<BadputCause, StudyStat>;
  const causes = Object.keys(summaries[0]?.interruptionsByCause ?? {});
  const interruptionsByCause = Object.fromEntries(
    causes.map((cause) => [cause, column((s) => s.interruptionsByCause[cause] ?? 0)]),
  );
  return {
    replicas: summaries.length,
    seed,
    finished: summaries.filter((s) => s.finished).length,
    figures,
    badputHours,
    interruptionsByCause,
    ettrValues: summaries.map((s) => s.ettr),
    example,
  };
}

/** Options of {@link runStudy}. */
export interface StudyOptions {
  readonly replicas: number;
  readonly seed: number;
  /** Called after each replica with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Runs a study on the calling thread. */
export function runStudy(config: TwinConfig, options: StudyOptions): StudyResult {
  const { replicas, seed } = options;
  if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError(`replicas must be ≥ 1, got ${replicas}`);
  const example = simulateRun(config, seed, 0, { detail: true });
  const summaries: RunSummary[] = [example.summary];
  options.onProgress?.(1, replicas);
  for (let replica = 1; replica < replicas; replica++) {
    summaries.push(simulateRun(config, seed, replica, { detail: false }).summary);
    options.onProgress?.(replica + 1, replicas);
  }
  return summarizeStudy(seed, summaries, example);
}

/** A cause of ETTR's downtime. */
export type EttrCause = (typeof ETTR_CAUSES)[number];

/** ETTR and goodput of one twin with and without its mitigation policy, replica by replica on the same seeds. */
export interface MitigationComparison {
  readonly replicas: number;
  readonly seed: number;
  readonly without: { readonly ettr: StudyStat; readonly goodput: StudyStat };
  readonly with: { readonly ettr: StudyStat; readonly goodput: StudyStat };
  /** ETTR with the policy less without, paired by replica. */
  readonly ettrGain: StudyStat;
  readonly goodputGain: StudyStat;
  /**
   * The mean ETTR gain by cause: (badput_c / wall) without less with, averaged over replicas. Since ETTR =
   * 1 − Σ_c badput_c / wall, these sum to the mean ETTR gain (up to rounding).
   */
  readonly ettrGainByCause: Readonly<Record<EttrCause, number>>;
  /** Mean badput hours by cause (every cause, slowdowns too), without and with. */
  readonly badputHours: {
    readonly without: Readonly<Record<BadputCause, number>>;
    readonly with: Readonly<Record<BadputCause, number>>;
  };
  /** What the policy did, mean per replica. */
  readonly actions: {
    readonly predictedCheckpoints: number;
    readonly falseAlarms: number;
    readonly drains: number;
    readonly excluded: number;
  };
}

/** The share of wall time a replica lost to `cause`. */
function wallShare(s: RunSummary, cause: BadputCause): number {
  return s.badputHours[cause] / (s.wallDays * 24);
}

/**
 * Runs `withPolicy` and `without` (the same design and settings less the mitigation) on the same seeds and
 * replicas, and explains the ETTR difference by cause. Common random numbers: every process draws from its own
 * stream (run.ts), so the policy's own draws leave the failures, repairs and slow hosts of a replica as they were.
 */
export function compareMitigation(
  without: TwinConfig,
  withPolicy: TwinConfig,
  options: { readonly replicas: number; readonly seed: number },
): MitigationComparison {
  const { replicas, seed } = options;
  if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError(`replicas must be ≥ 1, got ${replicas}`);
  const base = runReplicas(without, seed, 0, replicas);
  const policy = runReplicas(withPolicy, seed, 0, replicas);
  const pairs = base.map((b, i) => [b, policy[i] as RunSummary] as const);
  const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  const meanHours = (list: readonly RunSummary[]) =>
    Object.fromEntries(BADPUT_CAUSES.map((c) => [c, mean(list.map((s) => s.badputHours[c]))])) as Record<
      BadputCause,
      number
    >;
  return {
    replicas,
    seed,
    without: { ettr: describe(base.map((s) => s.ettr)), goodput: describe(base.map((s) => s.goodput)) },
    with: { ettr: describe(policy.map((s) => s.ettr)), goodput: describe(policy.map((s) => s.goodput)) },
    ettrGain: describe(pairs.map(([b, p]) => p.ettr - b.ettr)),
    goodputGain: describe(pairs.map(([b, p]) => p.goodput - b.goodput)),
    ettrGainByCause: Object.fromEntries(
      ETTR_CAUSES.map((c) => [c, mean(pairs.map(([b, p]) => wallShare(b, c) - wallShare(p, c)))]),
    ) as Record<EttrCause, number>,
    badputHours: { without: meanHours(base), with: meanHours(policy) },
    actions: {
      predictedCheckpoints: mean(policy.map((s) => s.mitigation.predictedCheckpoints)),
      falseAlarms: mean(policy.map((s) => s.mitigation.falseAlarms)),
      drains: mean(policy.map((s) => s.mitigation.drains)),
      excluded: mean(policy.map((s) => s.spares.excluded)),
    },
  };
}
