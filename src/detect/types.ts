/**
 * Detections and actions as data: what the detectors of this room report and what the operate side proposes to do
 * about it. A detection says what was found (its kind), when (time and, for step-time detectors, the iteration),
 * where (host, rank or GPU), how strongly (a score against the detector's threshold) and on what evidence. An
 * action says what to do, why, and what the twin expects it to buy (ETTR with and without it); actuators
 * (src/node/actuators.ts) deliver actions and detections to webhooks and Alertmanager, and `tokenworks rules`
 * writes the same conditions as Prometheus rules.
 *
 * Pure: no Node APIs.
 * @module
 */

/** What a detector found. */
export const DETECTION_KINDS = [
  /** A rank or host slower than the job's fastest (relative score) or than its own best (individual score). */
  'straggler',
  /** A sustained shift of the job's step time (a change point, Greyhound's validation rules). */
  'fail-slow',
  /** One step far above the job's typical step time (the robust spike rule). */
  'stall',
  /** A host whose error counters (XID, ECC, row remaps, PCIe replay, NVLink, thermal) say a failure is coming. */
  'failure-risk',
] as const;
export type DetectionKind = (typeof DETECTION_KINDS)[number];

/** How urgent a detection is (Alertmanager's `severity` label). */
export type Severity = 'info' | 'warning' | 'critical';

/** One detection. */
export interface Detection {
  readonly kind: DetectionKind;
  /** Unix seconds (or seconds from the run's start, for an emulated run) when the detector decided. */
  readonly time: number;
  /** The training iteration it concerns (step-time detectors). */
  readonly step?: number;
  /** The host it concerns, when localised. */
  readonly host?: string;
  /** The rank it concerns (per-rank timings). */
  readonly rank?: number;
  /** The GPU it concerns (per-GPU signals): its dcgm key (UUID or host/index). */
  readonly gpu?: string;
  /**
   * The detector's score. Straggler scores are performance ratios in (0, 1] (1: as fast as the reference), flagged
   * below the threshold; the other kinds are flagged at or above it.
   */
  readonly score: number;
  readonly threshold: number;
  readonly severity: Severity;
  /** One sentence a person reads: what was seen, against what. */
  readonly evidence: string;
  /** The figures behind the evidence, by name (e.g. `medianSeconds`, `referenceSeconds`). */
  readonly signals?: Readonly<Record<string, number>>;
}

/** What the operate side can do about a detection. */
export const ACTION_KINDS = [
  /** Take a host out of the job at the next restart (its work moves to a spare). */
  'drain-host',
  /** Replace a host now: checkpoint, restart on a spare. */
  'swap-host',
  /** Save a checkpoint now, before a failure that looks near. */
  'checkpoint-now',
  /** Change the checkpoint interval (Young/Daly for the observed failure rate). */
  'set-checkpoint-interval',
  /** Cap GPU power (a host running hot, or a facility limit). */
  'cap-power',
] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

/** The twin's expectation for an action: ETTR over the run with and without it. */
export interface ExpectedGain {
  readonly ettrWithout: number;
  readonly ettrWith: number;
  /** Where the figures come from (e.g. "twin, 20 replicas of the plan"). */
  readonly basis: string;
}

/** One proposed action. */
export interface Action {
  readonly kind: ActionKind;
  /** The host it acts on (drain, swap, cap). */
  readonly host?: string;
  /** Why: the detection(s) in a sentence. */
  readonly reason: string;
  /** The detections that led to it. */
  readonly detections: readonly Detection[];
  /** Settings of the action: `intervalSeconds` for a checkpoint interval, `powerCapW` for a cap. */
  readonly parameters?: Readonly<Record<string, number>>;
  readonly expectedGain?: ExpectedGain;
  /** Unix seconds (or run seconds) when it was proposed. */
  readonly time: number;
}

/** Detections a detector keeps at most (the rest are counted in its `dropped`): memory stays bounded in run length. */
export const MAX_KEPT_DETECTIONS = 100_000;

/** Appends `item` unless `list` holds {@link MAX_KEPT_DETECTIONS}; whether it was kept. */
export function keep<T>(list: T[], item: T): boolean {
  if (list.length >= MAX_KEPT_DETECTIONS) return false;
  list.push(item);
  return true;
}
