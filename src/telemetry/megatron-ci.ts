/**
 * Megatron-LM's CI golden values as a step series, and the restart and stall detectors that run on any step series.
 *
 * Format (NVIDIA/Megatron-LM, `tests/functional_tests/test_cases/<model>/<case>/golden_values_<env>_<platform>.json`,
 * written by `tests/functional_tests/python_test_utils/common.py` from the TensorBoard scalars that
 * `megatron/training/training.py` `training_log` records): one object per metric,
 * `{"<metric>": {start_step, end_step, step_interval, values: {"<step>": number | "nan"}}}`. The metrics read here are
 * `iteration-time` (seconds: the wall time of the last `--log-interval` iterations over their number), `lm loss`,
 * `mem-allocated-bytes` and `mem-max-allocated-bytes` (`torch.cuda.memory_stats()` current and peak allocated bytes of
 * the logging rank). `"nan"` means nothing was logged at that step; such points are skipped and counted.
 *
 * Pure: takes the file's text or its parsed value, never touches files, never throws.
 * @module
 */
import { percentile } from '../twin/study.js';

/** One logged step of a training run. A field is absent where that metric was not logged (`"nan"`) at the step. */
export interface StepPoint {
  readonly step: number;
  /** Seconds per iteration, averaged over the log interval that ends at this step. */
  readonly iterationSeconds?: number;
  readonly loss?: number;
  readonly memAllocatedBytes?: number;
  /** Peak allocated bytes since the process started: a drop means a new process. */
  readonly memMaxAllocatedBytes?: number;
  /** When the line was logged, seconds on the log's clock (from its time stamp); absent when it has none. */
  readonly time?: number;
}

/** The metric keys of the golden-values file this reader maps, and the {@link StepPoint} field each fills. */
export const MEGATRON_CI_METRICS = {
  'iteration-time': 'iterationSeconds',
  'lm loss': 'loss',
  'mem-allocated-bytes': 'memAllocatedBytes',
  'mem-max-allocated-bytes': 'memMaxAllocatedBytes',
} as const satisfies Record<string, keyof StepPoint>;

/** A metric key of the golden-values file that this reader maps. */
export type MegatronCiMetric = keyof typeof MEGATRON_CI_METRICS;

/** A golden-values file read into a step series. */
export interface MegatronCiSeries {
  /** Steps in ascending order; a step appears when at least one mapped metric has a number there. */
  readonly points: StepPoint[];
  /** `"nan"` points skipped, per mapped metric present in the file. */
  readonly nanPoints: Partial<Record<MegatronCiMetric, number>>;
  /** Steps at which every mapped metric was `"nan"` (left out of `points`). */
  readonly emptySteps: number;
  /** `step_interval` of `iteration-time` (or of the first mapped metric). */
  readonly stepInterval: number | undefined;
  /** Metric keys in the file that this reader does not map (for example `num-zeros`, `mtp_1 loss`). */
  readonly otherMetrics: string[];
}

/** What went wrong reading a golden-values file: a path into the document and a message. */
export interface MegatronCiIssue {
  readonly path: string;
  readonly message: string;
}

/** The reader's answer: the series, or the problems that stopped it. */
export type MegatronCiResult =
  | { readonly ok: true; readonly value: MegatronCiSeries }
  | { readonly ok: false; readonly issues: MegatronCiIssue[] };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads Megatron-LM CI golden values (text or an already parsed value) into a step series. Points whose value is
 * the string `"nan"` are skipped and counted; any other non-number, a non-integer step key or a missing `values`
 * object is an issue. Never throws.
 */
export function readMegatronCiGolden(input: string | unknown): MegatronCiResult {
  let document: unknown = input;
  if (typeof input === 'string') {
    try {
      document = JSON.parse(input);
    } catch (error) {
      return { ok: false, issues: [{ path: '', message: `not JSON: ${(error as Error).message}` }] };
    }
  }
  if (!isRecord(document)) return { ok: false, issues: [{ path: '', message: 'expected an object of metrics' }] };
  const issues: MegatronCiIssue[] = [];
  const byStep = new Map<number, Record<string, number>>();
  const touched = new Set<number>();
  const nanPoints: Partial<Record<MegatronCiMetric, number>> = {};
  const otherMetrics: string[] = [];
  let stepInterval: number | undefined;
  for (const [metric, body] of Object.entries(document)) {
    if (!(metric in MEGATRON_CI_METRICS)) {
      otherMetrics.push(metric);
      continue;
    }
    const key = metric as MegatronCiMetric;
    const field = MEGATRON_CI_METRICS[key];
    if (!isRecord(body) || !isRecord(body.values)) {
      issues.push({ path: metric, message: 'expected { start_step, end_step, step_interval, values }' });
      continue;
    }
    if (typeof body.step_interval === 'number' && (stepInterval === undefined || key === 'iteration-time')) {
      stepInterval = body.step_interval;
    }
    let nan = 0;
    for (const [stepText, value] of Object.entries(body.values)) {
      const step = Number(stepText);
      if (!/^-?\d+$/.test(stepText) || !Number.isSafeInteger(step)) {
        issues.push({ path: `${metric}.values.${stepText}`, message: 'step key is not an integer' });
        continue;
      }
      touched.add(step);
      if (value === 'nan' || value === 'NaN') {
        nan += 1;
        continue;
      }
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        issues.push({
          path: `${metric}.values.${stepText}`,
          message: `expected a number or "nan", got ${String(value)}`,
        });
        continue;
      }
      const point = byStep.get(step) ?? {};
      point[field] = value;
      byStep.set(step, point);
    }
    nanPoints[key] = nan;
  }
  if (issues.length > 0) return { ok: false, issues };
  const points = [...byStep.entries()]
    .sort(([a], [b]) => a - b)
    .map(([step, fields]): StepPoint => ({ step, ...fields }));
  return {
    ok: true,
    value: { points, nanPoints, emptySteps: touched.size - byStep.size, stepInterval, otherMetrics },
  };
}

/** The median of a list of numbers (the twin's Hyndman–Fan type 7 percentile at 0.5); `undefined` when empty. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  return percentile(Float64Array.from(values).sort(), 0.5);
}

/** The median iteration time of a series, over the points that have one. */
export function medianIterationSeconds(series: readonly StepPoint[]): number | undefined {
  return median(series.flatMap((point) => (point.iterationSeconds === undefined ? [] : [point.iterationSeconds])));
}

/** A point where a new training process (or a resumed job segment) shows in a step series. */
export interface Restart {
  readonly step: number;
  /** Position of the point in the series given. */
  readonly index: number;
  /** The step is not above the previous point's: the iteration counter went back (resumed from a checkpoint). */
  readonly rewind: boolean;
  /** `memMaxAllocatedBytes` is below the last value seen: the allocator's peak counter restarted, a new process. */
  readonly memoryReset: boolean;
}

/**
 * Restarts in a step series, in the order given: iteration rewinds (a step not above the one before it) and memory
 * resets (`memMaxAllocatedBytes` below the last value seen; the first value starts the comparison). Both can mark
 * one point. A golden-values series is sorted by step, so only memory resets show there; a log that was appended
 * to across job segments shows rewinds as well.
 */
export function detectRestarts(series: readonly StepPoint[]): Restart[] {
  const restarts: Restart[] = [];
  let previousStep: number | undefined;
  let previousPeak: number | undefined;
  series.forEach((point, index) => {
    const rewind = previousStep !== undefined && point.step <= previousStep;
    const peak = point.memMaxAllocatedBytes;
    const memoryReset = peak !== undefined && previousPeak !== undefined && peak < previousPeak;
    if (rewind || memoryReset) restarts.push({ step: point.step, index, rewind, memoryReset });
    previousStep = point.step;
    if (peak !== undefined) previousPeak = peak;
  });
  return restarts;
}

/** A step whose iteration time is far above the series' typical one. */
export interface Stall {
  readonly step: number;
  readonly seconds: number;
  /** `seconds` over the series median. */
  readonly ratio: number;
}

/**
 * Steps whose iteration time exceeds `factor` × the series median (the median over every point with an iteration
 * time), in series order. Empty when no point has an iteration time. Note that a series of log-interval means
 * (`--log-interval` > 1) dilutes a single slow iteration and can hide it.
 */
export function stalls(series: readonly StepPoint[], factor = 5): Stall[] {
  const typical = medianIterationSeconds(series);
  if (typical === undefined || !(typical > 0)) return [];
  return series.flatMap((point) =>
    point.iterationSeconds !== undefined && point.iterationSeconds > factor * typical
      ? [{ step: point.step, seconds: point.iterationSeconds, ratio: point.iterationSeconds / typical }]
      : [],
  );
}
