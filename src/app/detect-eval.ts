/**
 * The `detect-eval` use case: the detectors' precision, recall and detection latency per fault type, measured on
 * labelled emulated runs (src/detect/faults.ts) whose noise is resampled from real iteration-time series.
 *
 * - **Stragglers:** a detection is a true positive when its rank is one with a straggler injected and it comes
 *   after the onset; a straggler is found when a true positive comes within `latencySeconds` (60 s, issue 13) of
 *   its onset. Precision = true positives ÷ detections; recall = found ÷ injected.
 * - **Fail-slow:** a slowdown detection (positive shift) is a true positive when its change point is within
 *   `changeIterations` (20, issue 13) of the episode's onset and it is decided within that many iterations of the
 *   onset too; found = a true positive for the episode. Recoveries (negative shifts) are reported, not scored.
 *
 * Pure: no Node APIs; the same seed gives the same table.
 * @module
 */

import { emulateFailSlowRun, emulateStragglerRun, type NoiseModel } from '../detect/faults.js';
import { FailSlowDetector, StallDetector } from '../detect/step-time.js';
import { RankStragglerDetector } from '../detect/stragglers.js';
import { ReplicaStreams } from '../sim/index.js';
import { percentile } from '../twin/study.js';
import type { Progress } from './ports.js';

/** Random streams of the evaluation (one replica per run). */
const STRAGGLER_STREAM = 0;
const FAIL_SLOW_STREAM = 1;

/** What to evaluate. */
export interface DetectEvalInput {
  /** Noise models, used in turn by the runs. */
  readonly noise: readonly NoiseModel[];
  /** The step's nominal time (seconds). */
  readonly stepSeconds: number;
  /** Job sizes (ranks = GPUs) of the straggler runs. */
  readonly sizes: readonly number[];
  /** Straggler runs per size. */
  readonly runsPerSize: number;
  /** Stragglers injected per run. */
  readonly faultsPerRun: number;
  /** Simulated seconds of each straggler run. */
  readonly runSeconds: number;
  /** Fail-slow runs (one episode each). */
  readonly failSlowRuns: number;
  readonly failSlowIterations: number;
  readonly seed: number;
  readonly latencySeconds?: number;
  readonly changeIterations?: number;
}

/** One fault type's figures. */
export interface DetectionScore {
  readonly faults: number;
  readonly found: number;
  readonly detections: number;
  readonly truePositives: number;
  readonly precision: number;
  readonly recall: number;
  /** Detection latency of the faults found: P50 and P90, in seconds (stragglers) or iterations (fail-slow). */
  readonly latencyP50: number;
  readonly latencyP90: number;
}

export interface DetectEvalResult {
  readonly stragglers: {
    readonly bySize: readonly (DetectionScore & { readonly ranks: number })[];
    readonly all: DetectionScore;
  };
  readonly failSlow: DetectionScore & { readonly recoveries: number };
  readonly settings: {
    readonly stepSeconds: number;
    readonly latencySeconds: number;
    readonly changeIterations: number;
    readonly noise: readonly string[];
    readonly seed: number;
  };
}

function score(
  faults: number,
  found: number,
  detections: number,
  truePositives: number,
  latencies: number[],
): DetectionScore {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    faults,
    found,
    detections,
    truePositives,
    precision: detections === 0 ? 1 : truePositives / detections,
    recall: faults === 0 ? 1 : found / faults,
    latencyP50: sorted.length === 0 ? 0 : percentile(sorted, 0.5),
    latencyP90: sorted.length === 0 ? 0 : percentile(sorted, 0.9),
  };
}

/** Sums per-size scores into one. */
function total(scores: readonly DetectionScore[], latencies: number[]): DetectionScore {
  const sum = (key: 'faults' | 'found' | 'detections' | 'truePositives') => scores.reduce((s, x) => s + x[key], 0);
  return score(sum('faults'), sum('found'), sum('detections'), sum('truePositives'), latencies);
}

/** Measures the detectors on labelled emulated runs. */
export function evaluateDetectors(input: DetectEvalInput, progress?: Progress): DetectEvalResult {
  if (input.noise.length === 0) throw new RangeError('detect-eval needs at least one noise series');
  const latencyBound = input.latencySeconds ?? 60;
  const changeBound = input.changeIterations ?? 20;
  const totalRuns = input.sizes.length * input.runsPerSize + input.failSlowRuns;
  progress?.start('labelled runs', totalRuns);
  const tick = () => progress?.tick(1);
  const bySize: (DetectionScore & { ranks: number })[] = [];
  const allLatencies: number[] = [];
  let replica = 0;
  for (const ranks of input.sizes) {
    let faults = 0;
    let found = 0;
    let detections = 0;
    let truePositives = 0;
    const latencies: number[] = [];
    for (let run = 0; run < input.runsPerSize; run++) {
      const streams = new ReplicaStreams(input.seed, replica);
      const noise = input.noise[replica % input.noise.length] as NoiseModel;
      replica++;
      const detector = new RankStragglerDetector(ranks);
      const injected = emulateStragglerRun(
        { ranks, stepSeconds: input.stepSeconds, durationSeconds: input.runSeconds, faults: input.faultsPerRun, noise },
        streams.stream(STRAGGLER_STREAM),
        (time, sections) => detector.pushIteration(time, sections),
      );
      const byRank = new Map(injected.map((f) => [f.rank, f]));
      faults += injected.length;
      detections += detector.detections.length;
      const first = new Map<number, number>();
      for (const d of detector.detections) {
        const fault = byRank.get(d.rank as number);
        if (fault === undefined || d.time < fault.onset) continue;
        truePositives++;
        if (!first.has(fault.rank)) first.set(fault.rank, d.time - fault.onset);
      }
      for (const latency of first.values()) {
        if (latency <= latencyBound) {
          found++;
          latencies.push(latency);
        }
      }
      tick();
    }
    allLatencies.push(...latencies);
    bySize.push({ ranks, ...score(faults, found, detections, truePositives, latencies) });
  }
  let found = 0;
  let detections = 0;
  let truePositives = 0;
  let recoveries = 0;
  const latencies: number[] = [];
  for (let run = 0; run < input.failSlowRuns; run++) {
    const streams = new ReplicaStreams(input.seed, replica);
    const noise = input.noise[replica % input.noise.length] as NoiseModel;
    replica++;
    const { seconds, fault } = emulateFailSlowRun(
      { iterations: input.failSlowIterations, stepSeconds: input.stepSeconds, noise },
      streams.stream(FAIL_SLOW_STREAM),
    );
    const stalls = new StallDetector();
    const failSlow = new FailSlowDetector();
    for (let i = 0; i < seconds.length; i++) {
      const observation = { step: i + 1, seconds: seconds[i] as number, time: i + 1 };
      stalls.push(observation);
      const threshold = stalls.threshold();
      failSlow.push(observation, threshold !== undefined && observation.seconds > threshold);
    }
    let hit = false;
    for (const d of failSlow.detections) {
      if ((d.signals?.shift ?? 0) < 0) {
        recoveries++;
        continue;
      }
      detections++;
      const decided = d.signals?.detectedAtStep as number;
      if (Math.abs((d.step as number) - fault.onsetStep) <= changeBound && decided - fault.onsetStep <= changeBound) {
        truePositives++;
        if (!hit) latencies.push(decided - fault.onsetStep);
        hit = true;
      }
    }
    if (hit) found++;
    tick();
  }
  progress?.done();
  return {
    stragglers: { bySize, all: total(bySize, allLatencies) },
    failSlow: { ...score(input.failSlowRuns, found, detections, truePositives, latencies), recoveries },
    settings: {
      stepSeconds: input.stepSeconds,
      latencySeconds: latencyBound,
      changeIterations: changeBound,
      noise: input.noise.map((n) => n.source),
      seed: input.seed,
    },
  };
}
