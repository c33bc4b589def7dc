/**
 * Streaming detectors on a job's step time (one value per logged iteration), each with a per-job noise model:
 *
 * - **Stalls** (a robust spike rule): a step is a stall when it is above both the job's median + 6 σ̂ (σ̂ = 1.4826
 *   × MAD over the last {@link STALL_WINDOW} steady steps; operate.md §2.2's median + 6·MAD rule) and twice the
 *   median (Holmes, NSDI'25: irregular iterations are > 2× normal [operate.md O22]). The MAD term is the job's noise:
 *   a noisy job needs a larger excursion. Flagged steps are kept out of the window, and flagged steps fewer than
 *   {@link EPISODE_GAP} iterations apart are one episode: one detection, at its first step, with its peak.
 *   The first {@link MIN_STEADY} steps have no reference yet: they are judged once the window holds that many.
 * - **Fail-slow** (change points): a one-sided CUSUM (Page 1954) on log step time against the window's median,
 *   with reference value k = δ/2 for the smallest shift worth finding, δ = ln 1.1, and each step's contribution
 *   clipped at ±2δ so that single spikes (stalls) cannot raise an alarm alone; alarm at h = 4δ. The change point
 *   is the step after the CUSUM last stood at zero. It is kept only under Greyhound's validation rules (ATC'25
 *   [operate.md O21]): at least {@link GREYHOUND_MIN_GAP} iterations after the previous change point and a mean
 *   shift of at least 10 %, here the median of the ≥ {@link VALIDATE_POINTS} steps since the change (robust to the
 *   spikes the clip lets through). The mirror-image CUSUM runs beside it and reports the way back (a negative
 *   shift); a validated change re-bases both on the new level, so a slowdown on top of a slowdown is found too.
 *
 * Pure: no Node APIs. Streaming: O(window) per step, no growth with run length.
 * @module
 */
import { type Detection, keep, MAX_KEPT_DETECTIONS } from './types.js';
import { RollingWindow } from './window.js';

/** Steady steps the stall rule's median and MAD are taken over. */
export const STALL_WINDOW = 200;
/** σ̂ multiples above the median a stall must reach (operate.md §2.2: rolling median + 6·MAD). */
export const STALL_SIGMAS = 6;
/** Times the median a stall must reach (Holmes: irregular iterations > 2× normal, operate.md O22). */
export const STALL_FLOOR = 2;
/** Steps in the window before the rule judges (the first ones are judged retroactively then). */
export const MIN_STEADY = 20;
/** Flagged steps closer than this many iterations are one episode (Greyhound's 10-iteration spacing, O21). */
export const EPISODE_GAP = 10;
/** Smallest mean shift a fail-slow change must show (Greyhound: ≥ 10 %, O21). */
export const GREYHOUND_MIN_SHIFT = 0.1;
/** Fewest iterations between two change points (Greyhound: ≥ 10, O21). */
export const GREYHOUND_MIN_GAP = 10;
/** Steps after a candidate change point whose median validates it. */
export const VALIDATE_POINTS = 10;

/** One logged step. */
export interface StepObservation {
  readonly step: number;
  readonly seconds: number;
  /** When it was logged (Unix seconds or run seconds); the detection's time. */
  readonly time: number;
}

/**
 * A stall episode: flagged steps fewer than {@link EPISODE_GAP} iterations apart. Its detection is issued at its first
 * step; the episode then grows to cover the steps that follow.
 */
export interface StallEpisode {
  readonly first: number;
  last: number;
  peakStep: number;
  /** The peak step's time over the median. */
  peakRatio: number;
}

/** The robust spike rule; `push` returns the detections it decides at that step. */
export class StallDetector {
  private readonly window = new RollingWindow(STALL_WINDOW);
  private readonly pending: StepObservation[] = [];
  /** The episodes so far, in order (at most {@link MAX_KEPT_DETECTIONS}); the open one may still grow. */
  readonly episodes: StallEpisode[] = [];
  private open: StallEpisode | undefined;
  /** Detections past {@link MAX_KEPT_DETECTIONS}, counted only. */
  dropped = 0;
  /** Whether the first {@link MIN_STEADY} steps have been judged (the rule judges each step as it comes from then). */
  private started = false;
  /** Detections decided so far (each is returned once by `push`, and kept here). */
  readonly detections: Detection[] = [];

  /** The threshold (seconds) a step must exceed now, or undefined before the window has {@link MIN_STEADY} steps. */
  threshold(): number | undefined {
    const median = this.window.median();
    if (median === undefined || !this.started) return undefined;
    // operate.md §2.2 (median + 6 σ̂) and Holmes O22 (> 2 × normal).
    return Math.max(median + STALL_SIGMAS * this.window.sigma(), STALL_FLOOR * median);
  }

  /** Whether the step pushed last was above the threshold (a stall, or a step of an open episode). */
  flagged = false;

  push(observation: StepObservation): Detection[] {
    this.flagged = false;
    if (!Number.isFinite(observation.seconds) || observation.seconds <= 0) return [];
    const out: Detection[] = [];
    if (!this.started) {
      this.pending.push(observation);
      this.window.push(observation.seconds);
      if (this.window.size < MIN_STEADY) return out;
      // The window now has a reference: judge the first steps against it (a warm-up step is a stall too), and
      // rebuild the window without the ones flagged.
      this.started = true;
      const early = this.pending.splice(0);
      const threshold = this.threshold() as number;
      this.window.clear();
      for (const point of early) if (point.seconds <= threshold) this.window.push(point.seconds);
      for (const point of early) this.judge(point, observation.time, out, threshold, false);
      this.flagged = observation.seconds > threshold;
      return out;
    }
    const threshold = this.threshold() as number;
    this.judge(observation, observation.time, out, threshold, true);
    this.flagged = observation.seconds > threshold;
    return out;
  }

  /** Flags `point` against `threshold` (opening or extending an episode), else adds it to the window when asked. */
  private judge(point: StepObservation, now: number, out: Detection[], threshold: number, addToWindow: boolean): void {
    const median = this.window.median() as number;
    const episode = this.open;
    if (point.seconds > threshold) {
      const ratio = point.seconds / median;
      // A rewound counter (a resume) opens a new episode.
      if (episode !== undefined && point.step >= episode.last && point.step - episode.last < EPISODE_GAP) {
        episode.last = point.step;
        if (ratio > episode.peakRatio) {
          episode.peakRatio = ratio;
          episode.peakStep = point.step;
        }
        return;
      }
      this.open = { first: point.step, last: point.step, peakStep: point.step, peakRatio: ratio };
      const detection: Detection = {
        kind: 'stall',
        time: now,
        step: point.step,
        score: point.seconds / median,
        threshold: threshold / median,
        severity: point.seconds > 5 * median ? 'warning' : 'info',
        evidence: `iteration ${point.step} took ${point.seconds.toPrecision(3)} s, ${(point.seconds / median).toFixed(1)}× the job's median ${median.toPrecision(3)} s (threshold ${threshold.toPrecision(3)} s: the larger of median + ${STALL_SIGMAS} σ̂ and ${STALL_FLOOR}× median)`,
        signals: { seconds: point.seconds, medianSeconds: median, thresholdSeconds: threshold },
      };
      if (keep(this.detections, detection)) this.episodes.push(this.open);
      else this.dropped++;
      out.push(detection);
      return;
    }
    if (addToWindow) this.window.push(point.seconds);
  }
}

/** Greyhound's δ: the smallest relative shift worth finding, in log step time. */
const DELTA = Math.log1p(GREYHOUND_MIN_SHIFT);
/** CUSUM reference value k = δ/2 (Page 1954; the optimal k for a shift of δ). */
const K = DELTA / 2;
/** Largest contribution one step makes (spikes are the stall rule's). */
const CLIP = 2 * DELTA;
/** Alarm level h = 4δ: at least three slow steps in a row (with the clip at 2δ). */
const H = 4 * DELTA;

/** One side's CUSUM: its sum and the candidate change point it opened (the step after it last stood at zero). */
interface Side {
  readonly sign: 1 | -1;
  sum: number;
  candidate: { step: number; logs: number[]; time: number } | undefined;
}

/**
 * CUSUM change points of the step time, validated by Greyhound's rules. Both one-sided CUSUMs run together (a
 * slowdown on top of a slowdown is found, as is the way back); a validated change re-bases both on the new level.
 */
export class FailSlowDetector {
  private readonly window = new RollingWindow(STALL_WINDOW);
  private readonly sides: readonly Side[] = [
    { sign: 1, sum: 0, candidate: undefined },
    { sign: -1, sum: 0, candidate: undefined },
  ];
  /** The level before the first validated slowdown (the job's healthy pace), log seconds. */
  private healthy: number | undefined;
  /**
   * The level at the start or at the last validated change, log seconds: drifts below the 10 % bar that the
   * reference absorbs one by one are held against it, so that a slow degradation is reported once it adds up.
   */
  private anchor: number | undefined;
  private lastChange = Number.NEGATIVE_INFINITY;
  private lastStep = Number.NEGATIVE_INFINITY;
  readonly detections: Detection[] = [];
  /** Detections past {@link MAX_KEPT_DETECTIONS}, counted only. */
  dropped = 0;

  /** `stall`: the stall rule flagged this step (it is left out). */
  push(observation: StepObservation, stall = false): Detection[] {
    if (stall || !Number.isFinite(observation.seconds) || observation.seconds <= 0) return [];
    // A resume rewinds the iteration counter: the change-point spacing starts again (the reference stays).
    if (observation.step <= this.lastStep) {
      this.lastChange = Number.NEGATIVE_INFINITY;
      for (const side of this.sides) {
        side.sum = 0;
        side.candidate = undefined;
      }
    }
    this.lastStep = observation.step;
    const x = Math.log(observation.seconds);
    const reference = this.window.median();
    if (reference === undefined || this.window.size < MIN_STEADY) {
      this.window.push(x);
      return [];
    }
    this.anchor ??= reference;
    let open = false;
    for (const side of this.sides) {
      const before = side.sum;
      side.sum = Math.max(0, side.sum + Math.max(-CLIP, Math.min(CLIP, side.sign * (x - reference))) - K);
      if (before === 0 && side.sum > 0) side.candidate = { step: observation.step, logs: [], time: observation.time };
      if (side.sum === 0) side.candidate = undefined;
      if (side.candidate !== undefined) {
        side.candidate.logs.push(x);
        open = true;
      }
    }
    // While a candidate is open its steps stay out of the reference (they may be the new level).
    if (!open) {
      this.window.push(x);
      return [];
    }
    for (const side of this.sides) {
      const candidate = side.candidate;
      if (candidate === undefined) continue;
      if (side.sum < H || candidate.logs.length < VALIDATE_POINTS) {
        if (candidate.logs.length >= STALL_WINDOW / 2) {
          const sorted = [...candidate.logs].sort((p, q) => p - q);
          const drift = this.drift(observation, candidate, sorted[sorted.length >> 1] as number);
          if (drift !== undefined) return [drift];
          this.rebase(candidate.logs);
        }
        continue;
      }
      const sorted = [...candidate.logs].sort((p, q) => p - q);
      const level = sorted[sorted.length >> 1] as number;
      const shift = Math.exp(level - reference) - 1;
      // A slowdown of ≥ 10 %, or a speed-up by the same ratio (1/1.1 − 1 = −9.1 %).
      const enough = side.sign === 1 ? shift >= GREYHOUND_MIN_SHIFT : shift <= 1 / (1 + GREYHOUND_MIN_SHIFT) - 1;
      if (!enough || candidate.step - this.lastChange < GREYHOUND_MIN_GAP) {
        // A drift below the 10 % bar that lasts: take its level as the reference, reported only once the drifts
        // since the anchor add up to the bar.
        if (candidate.logs.length >= STALL_WINDOW / 2) {
          const drift = this.drift(observation, candidate, level);
          if (drift !== undefined) return [drift];
          this.rebase(candidate.logs);
        }
        continue;
      }
      return [this.detect(observation, candidate, reference, level, shift)];
    }
    return [];
  }

  private detect(
    observation: StepObservation,
    candidate: { step: number; logs: number[]; time: number },
    reference: number,
    level: number,
    shift: number,
    note = '',
  ): Detection {
    const slowdown = shift > 0;
    if (slowdown) this.healthy ??= reference;
    const referenceSeconds = Math.exp(reference);
    const levelSeconds = Math.exp(level);
    const healthy = this.healthy === undefined ? undefined : Math.exp(this.healthy);
    const detection: Detection = {
      kind: 'fail-slow',
      time: observation.time,
      step: candidate.step,
      score: 1 + shift,
      threshold: slowdown ? 1 + GREYHOUND_MIN_SHIFT : 1 / (1 + GREYHOUND_MIN_SHIFT),
      severity: slowdown ? 'warning' : 'info',
      evidence: slowdown
        ? `step time rose ${(shift * 100).toFixed(0)} % from iteration ${candidate.step}: ${levelSeconds.toPrecision(3)} s against ${referenceSeconds.toPrecision(3)} s${healthy !== undefined && healthy < referenceSeconds ? ` (${healthy.toPrecision(3)} s when healthy)` : ''} (CUSUM change point, Greyhound's rules: ≥ 10 % shift, ≥ 10 iterations apart)${note}`
        : `step time fell ${(-shift * 100).toFixed(0)} % from iteration ${candidate.step}: ${levelSeconds.toPrecision(3)} s against ${referenceSeconds.toPrecision(3)} s`,
      signals: { shift, referenceSeconds, levelSeconds, detectedAtStep: observation.step, changeTime: candidate.time },
    };
    if (!keep(this.detections, detection)) this.dropped++;
    this.lastChange = candidate.step;
    this.anchor = level;
    // Re-base: the new level is the reference from here on, for both sides.
    this.rebase(candidate.logs);
    return detection;
  }

  /** A slowdown by drifts: the level is ≥ 10 % above the anchor though no single step was (Greyhound's bar). */
  private drift(
    observation: StepObservation,
    candidate: { step: number; logs: number[]; time: number },
    level: number,
  ): Detection | undefined {
    const anchor = this.anchor;
    if (anchor === undefined || Math.exp(level - anchor) - 1 < GREYHOUND_MIN_SHIFT) return undefined;
    return this.detect(
      observation,
      candidate,
      anchor,
      level,
      Math.exp(level - anchor) - 1,
      '; reached by drifts below 10 % each',
    );
  }

  private rebase(logs: readonly number[]): void {
    this.window.clear();
    for (const value of logs.slice(-STALL_WINDOW)) this.window.push(value);
    for (const side of this.sides) {
      side.sum = 0;
      side.candidate = undefined;
    }
  }
}

/** Both step-time detectors over one job's steps; a stall is kept out of the change-point detector. */
export class StepTimeDetector {
  readonly stalls = new StallDetector();
  readonly failSlow = new FailSlowDetector();

  push(observation: StepObservation): Detection[] {
    const stalls = this.stalls.push(observation);
    return [...stalls, ...this.failSlow.push(observation, this.stalls.flagged)];
  }

  get detections(): Detection[] {
    return [...this.stalls.detections, ...this.failSlow.detections].sort((a, b) => a.time - b.time);
  }
}
