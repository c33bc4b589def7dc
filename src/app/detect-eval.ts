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

import { z } from 'zod';
import { FailureRiskDetector } from '../detect/failure-risk.js';
import {
  DEFAULT_HOST_ERROR_MODEL,
  emulateFailSlowRun,
  emulateHostErrors,
  emulateStragglerRun,
  type HostErrorModel,
  type NoiseModel,
  noiseModel,
} from '../detect/faults.js';
import { StepTimeDetector } from '../detect/step-time.js';
import { RankStragglerDetector } from '../detect/stragglers.js';
import { ReplicaStreams } from '../sim/index.js';
import type { Result } from '../spec/issues.js';
import { fromZodIssues } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { percentile } from '../twin/study.js';
import { designOf } from './design.js';
import type { Ports, Progress, UseCaseOptions } from './ports.js';

/** Random streams of the evaluation (one replica per run). */
const STRAGGLER_STREAM = 0;
const FAIL_SLOW_STREAM = 1;
const HOST_ERROR_STREAM = 2;

/** A failure counts as predicted when a flag comes at least this long before it … */
export const MIN_LEAD_SECONDS = 300;
/** … and at most this long (the ByteDance predictor's horizon is a day; SYSTOR'23 [operate.md O31]). */
export const HORIZON_SECONDS = 86_400;
/** The failure-prediction anchor: ByteDance's GPU failure predictor, precision 85.4 % (SYSTOR'23, O31). */
export const PREDICTION_PRECISION_ANCHOR = 0.854;

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
  /** Slowdown range of the stragglers (default [1.1, 2]). */
  readonly slowdown?: readonly [number, number];
  /** Fail-slow runs (one episode each). */
  readonly failSlowRuns: number;
  readonly failSlowIterations: number;
  readonly seed: number;
  readonly latencySeconds?: number;
  readonly changeIterations?: number;
  /** Fleet runs of the failure-risk detector (default 0: none). */
  readonly failureRuns?: number;
  readonly failureHosts?: number;
  readonly failureDays?: number;
  readonly hostErrors?: HostErrorModel;
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
  /** Failure prediction: latencies are leads (seconds before the failure); false alarms per host-day. */
  readonly failureRisk: DetectionScore & {
    readonly withPrecursor: number;
    readonly falseAlarmsPerHostDay: number;
    readonly precisionAnchor: number;
  };
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

/** The failure-risk detector on labelled fleet runs (replicas from `replica` on). */
function evaluateFailureRisk(
  input: DetectEvalInput,
  replica: number,
  runs: number,
  tick: () => void,
): DetectEvalResult['failureRisk'] {
  const hosts = input.failureHosts ?? 1024;
  const days = input.failureDays ?? 14;
  const model = input.hostErrors ?? DEFAULT_HOST_ERROR_MODEL;
  let faults = 0;
  let found = 0;
  let detections = 0;
  let truePositives = 0;
  let withPrecursor = 0;
  const leads: number[] = [];
  for (let run = 0; run < runs; run++) {
    const streams = new ReplicaStreams(input.seed, replica + run);
    const { events, failures } = emulateHostErrors(hosts, days, model, streams.stream(HOST_ERROR_STREAM));
    const detector = new FailureRiskDetector();
    for (const { time, host, event } of events) detector.event(`host-${host}`, time, event);
    const failureOf = new Map(failures.map((f) => [`host-${f.host}`, f]));
    faults += failures.length;
    withPrecursor += failures.filter((f) => f.precursor).length;
    const predicted = new Set<string>();
    for (const d of detector.detections) {
      detections++;
      const failure = failureOf.get(d.host as string);
      const lead = failure === undefined ? -1 : failure.time - d.time;
      if (lead >= MIN_LEAD_SECONDS && lead <= HORIZON_SECONDS) {
        truePositives++;
        if (!predicted.has(d.host as string)) leads.push(lead);
        predicted.add(d.host as string);
      }
    }
    found += predicted.size;
    tick();
  }
  const hostDays = runs * hosts * days;
  return {
    ...score(faults, found, detections, truePositives, leads),
    withPrecursor,
    falseAlarmsPerHostDay: hostDays === 0 ? 0 : (detections - truePositives) / hostDays,
    precisionAnchor: PREDICTION_PRECISION_ANCHOR,
  };
}

/** Measures the detectors on labelled emulated runs. */
export function evaluateDetectors(input: DetectEvalInput, progress?: Progress): DetectEvalResult {
  if (input.noise.length === 0) throw new RangeError('detect-eval needs at least one noise series');
  const latencyBound = input.latencySeconds ?? 60;
  const changeBound = input.changeIterations ?? 20;
  const failureRuns = input.failureRuns ?? 0;
  const totalRuns = input.sizes.length * input.runsPerSize + input.failSlowRuns + failureRuns;
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
        {
          ranks,
          stepSeconds: input.stepSeconds,
          durationSeconds: input.runSeconds,
          faults: input.faultsPerRun,
          noise,
          ...(input.slowdown && { slowdown: input.slowdown }),
        },
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
    const detector = new StepTimeDetector();
    for (let i = 0; i < seconds.length; i++) detector.push({ step: i + 1, seconds: seconds[i] as number, time: i + 1 });
    const failSlow = detector.failSlow;
    let hit = false;
    for (const d of failSlow.detections) {
      if ((d.signals?.shift ?? 0) < 0) {
        recoveries++;
        continue;
      }
      detections++;
      const decided = d.signals?.detectedAtStep as number;
      const lag = decided - fault.onsetStep;
      if (Math.abs((d.step as number) - fault.onsetStep) <= changeBound && lag >= 0 && lag <= changeBound) {
        truePositives++;
        if (!hit) latencies.push(decided - fault.onsetStep);
        hit = true;
      }
    }
    if (hit) found++;
    tick();
  }
  const failureRisk = evaluateFailureRisk(input, replica, failureRuns, tick);
  progress?.done();
  return {
    failureRisk,
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

/** The labelled-run settings a `--faults` file may set (YAML or JSON); every field is optional. */
export const FaultsFileSchema = z
  .object({
    stragglers: z
      .object({
        /** Slowdown range of an injected straggler (the acceptance's stragglers slow a rank by ≥ 10 %). */
        slowdown: z.tuple([z.number().min(1.01).max(10), z.number().min(1.01).max(10)]).optional(),
        perRun: z.number().int().min(1).max(64).optional(),
        sizes: z.array(z.number().int().min(8).max(131_072)).min(1).max(12).optional(),
        runSeconds: z.number().min(120).max(7200).optional(),
      })
      .strict()
      .optional(),
    failSlow: z
      .object({
        runs: z.number().int().min(1).max(10_000).optional(),
        iterations: z.number().int().min(600).max(100_000).optional(),
      })
      .strict()
      .optional(),
    failures: z
      .object({
        runs: z.number().int().min(0).max(1000).optional(),
        hosts: z.number().int().min(8).max(16_384).optional(),
        days: z.number().min(1).max(120).optional(),
        /** Share of failures with an error burst before them. */
        precursorShare: z.number().min(0).max(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type FaultsFile = z.infer<typeof FaultsFileSchema>;

/** Sizes of the straggler runs by default: 64 to 16,384 GPUs (issue 13). */
export const DEFAULT_SIZES = [64, 256, 1024, 4096, 16_384] as const;

/** Reads a `--faults` document (already parsed from YAML/JSON) into settings, or issues naming the field. */
export function parseFaultsFile(document: unknown, file: string): Result<FaultsFile> {
  const parsed = FaultsFileSchema.safeParse(document ?? {});
  if (parsed.success) {
    const range = parsed.data.stragglers?.slowdown;
    if (range !== undefined && range[0] > range[1]) {
      return {
        ok: false,
        issues: [
          {
            code: 'invalid_value',
            path: 'stragglers.slowdown',
            message: `${file}: slowdown [${range[0]}, ${range[1]}] runs backwards; give [low, high]`,
          },
        ],
      };
    }
    return { ok: true, value: parsed.data };
  }
  return { ok: false, issues: fromZodIssues(parsed.error.issues) };
}

/** `detect-eval`: the spec's step time (its design's estimate) and labelled runs with `replicas` runs per size. */
export async function runDetectEval(
  input: {
    readonly spec: ResolvedSpec;
    /** Iteration-time series (seconds) the noise is resampled from, each with its source's name. */
    readonly noise: readonly { readonly source: string; readonly seconds: readonly number[] }[];
    readonly replicas: number;
    readonly faults?: FaultsFile;
    readonly seed?: number;
  },
  ports: Ports,
  options: UseCaseOptions = {},
): Promise<Result<DetectEvalResult & { readonly design: string }>> {
  const design = await designOf(input.spec, ports.runner, {
    ...(options.signal && { signal: options.signal }),
  });
  if (!design.ok) return design;
  const stepSeconds = design.value.estimate.step.seconds;
  const stragglers = input.faults?.stragglers;
  const failSlow = input.faults?.failSlow;
  const sizes = stragglers?.sizes ?? DEFAULT_SIZES;
  // At least 200 faults of each type by default (issue 13): 4 stragglers a run, 200 fail-slow runs.
  const perRun = stragglers?.perRun ?? 4;
  const noise: NoiseModel[] = [];
  for (const series of input.noise) {
    if (series.seconds.filter((x) => Number.isFinite(x) && x > 0).length < 10) {
      return {
        ok: false,
        issues: [
          {
            code: 'too_small',
            path: 'noise',
            message: `${series.source}: fewer than 10 timed iterations; give a training log or a Megatron CI golden file`,
          },
        ],
      };
    }
    noise.push(noiseModel(series.source, series.seconds));
  }
  const result = evaluateDetectors(
    {
      noise,
      stepSeconds,
      sizes,
      runsPerSize: input.replicas,
      faultsPerRun: perRun,
      runSeconds: stragglers?.runSeconds ?? 600,
      ...(stragglers?.slowdown && { slowdown: stragglers.slowdown }),
      failSlowRuns: failSlow?.runs ?? Math.max(200, input.replicas * sizes.length),
      failSlowIterations: failSlow?.iterations ?? 2000,
      failureRuns: input.faults?.failures?.runs ?? 4,
      failureHosts: input.faults?.failures?.hosts ?? 1024,
      failureDays: input.faults?.failures?.days ?? 14,
      hostErrors: {
        ...DEFAULT_HOST_ERROR_MODEL,
        ...(input.faults?.failures?.precursorShare !== undefined && {
          precursorShare: input.faults.failures.precursorShare,
        }),
      },
      seed: input.seed ?? 1,
    },
    ports.progress,
  );
  return { ok: true, value: { ...result, design: design.value.name } };
}
