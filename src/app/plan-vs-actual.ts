/**
 * Plan versus actual: an observed run's KPIs held against what Tokenworks predicted for its design, each figure
 * with the band the prediction is good to and, outside it, the likely cause.
 *
 * Bands:
 * - step time, tokens/s and MFU: the model's held-out P90 error (docs/validation.md, "held out, dense" 16.5 %,
 *   "held out, MoE" 40.5 %): nine in ten published runs the model was not fitted on fall inside;
 * - GPU board power: ±{@link POWER_TOLERANCE} around the twin's training level (assumed: the catalog's training
 *   share of TDP is one figure for every model, docs/twin.md);
 * - ETTR, goodput and interruptions: the twin's P10–P90 over replicas of a run as long as the one observed.
 *
 * Pure: no Node APIs.
 * @module
 */
import type { Estimate } from '../perf/estimate.js';
import { DOWNTIME_CAUSES, type ObservedKpis } from '../telemetry/kpis.js';
import type { StragglerSummary } from '../telemetry/megatron-straggler.js';
import type { StudyResult } from '../twin/study.js';

/** Held-out P90 |predicted/measured − 1| of the step-time model (docs/validation.md, summary table). */
export const MODEL_ERROR_P90 = { dense: 0.165, moe: 0.405 } as const;

/** Relative band of the GPU power prediction (assumed; see the module comment). */
export const POWER_TOLERANCE = 0.15;

/** GPU signals the comparison uses, from dcgm-exporter files, a store or PromQL. */
export interface ObservedGpu {
  readonly gpus: number;
  /** Mean board power per GPU over the window, W. */
  readonly meanPowerW?: number;
  /** Share of GPU time with a slowing clock-event reason (power or thermal), 0–1. */
  readonly throttledShare?: number;
  /** Mean graphics-engine activity (DCGM_FI_PROF_GR_ENGINE_ACTIVE, else GPU_UTIL), 0–1. */
  readonly utilisation?: number;
  readonly xidEvents?: number;
}

/** Whether a figure is inside its band. */
export type ComparisonStatus = 'within' | 'above' | 'below' | 'unobserved';

/** One figure of the plan held against the run. */
export interface Comparison {
  readonly metric: 'stepSeconds' | 'tokensPerSecond' | 'mfu' | 'gpuPowerW' | 'ettr' | 'goodput' | 'interruptions';
  readonly label: string;
  readonly unit: string;
  readonly predicted: number;
  readonly band: { readonly low: number; readonly high: number };
  /** Where the band comes from. */
  readonly bandSource: string;
  readonly actual?: number;
  /** actual ÷ predicted − 1. */
  readonly gap?: number;
  readonly status: ComparisonStatus;
  /** Outside the band: what most likely explains it. */
  readonly likelyCause?: string;
}

/** What the comparison needs. */
export interface PlanVersusActualInput {
  readonly estimate: Estimate;
  readonly moe: boolean;
  /** The twin's study of a run as long as the one observed. */
  readonly study?: StudyResult;
  /** The twin's board power of one training GPU, W (TwinConfig.power.gpuRunningW). */
  readonly gpuRunningW?: number;
  readonly observed: ObservedKpis;
  readonly gpu?: ObservedGpu;
  /** Megatron's straggler detector, when the log has its lines. */
  readonly stragglers?: StragglerSummary;
}

/** A median max ÷ min rank time above this marks uneven ranks (NVRx flags a rank below 0.75 of the best: 1/0.75 is
 * the extreme; a tenth is the level at which a synchronous job already loses a tenth of its step to waiting). */
export const STRAGGLER_SPREAD = 1.1;

const finite = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);

function status(actual: number | undefined, low: number, high: number): ComparisonStatus {
  if (!finite(actual)) return 'unobserved';
  return actual > high ? 'above' : actual < low ? 'below' : 'within';
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Why the run's steps are slower than predicted, from what was observed (first match wins). */
function slowStepCause(input: PlanVersusActualInput, ratio: number): string {
  const { observed, gpu, estimate } = input;
  if (finite(gpu?.throttledShare) && gpu.throttledShare > 0.05) {
    return `GPUs were clock-throttled ${pct(gpu.throttledShare)} of the time (power or thermal): check cooling, power caps and the clock-event reasons`;
  }
  const s = input.stragglers;
  if (s && s.rttSpread.median > STRAGGLER_SPREAD) {
    const top = s.slowestRanks[0];
    return `ranks are uneven: the slowest rank takes ${s.rttSpread.median.toFixed(2)} × the fastest's time (median of ${s.reports} straggler-detector lines)${top ? `, rank ${top.rank} slowest in ${top.reports} of them` : ''}: a straggler holds the synchronous job back`;
  }
  const spread = observed.steady.p50 > 0 ? observed.steady.p90 / observed.steady.p50 : 1;
  if (spread > 1.2) {
    return `step time varies (P90 ${spread.toFixed(2)} × the median): stragglers, a noisy fabric or data-loader stalls`;
  }
  if (finite(gpu?.utilisation) && gpu.utilisation < 0.8) {
    return `GPUs were busy only ${pct(gpu.utilisation)} of the time: input pipeline, host work or exposed communication the model does not see`;
  }
  // Fixed per-step costs (launches, host synchronisation, logging) weigh most on short steps of small models.
  if (estimate.step.seconds < 0.5 && ratio > 2) {
    return `the predicted step is ${estimate.step.seconds.toFixed(3)} s of FLOPs and bytes; a step this short is dominated by fixed per-step costs (kernel launches, host synchronisation, deterministic collectives) that the model does not count`;
  }
  return `the model is ${pct(ratio - 1)} optimistic for this run: \`tokenworks calibrate\` fits a site factor from it`;
}

/** Holds the observed run against the prediction; every figure with its band, status and likely cause. */
export function planVersusActual(input: PlanVersusActualInput): Comparison[] {
  const { estimate, observed, study, gpu } = input;
  const error = input.moe ? MODEL_ERROR_P90.moe : MODEL_ERROR_P90.dense;
  const modelSource = `model's held-out P90 error (${pct(error)}, ${input.moe ? 'MoE' : 'dense'}; docs/validation.md)`;
  const out: Comparison[] = [];
  const step = observed.empty ? undefined : observed.steady.p50;
  const stepRatio = finite(step) ? step / estimate.step.seconds : undefined;
  const speedCause = (s: ComparisonStatus, slow: ComparisonStatus) =>
    s === slow && stepRatio !== undefined
      ? slowStepCause(input, stepRatio)
      : s !== 'within' && s !== 'unobserved'
        ? 'faster than the model: the run may differ from the spec (batch, precision, overlap, layout), or the site beats the fit; check the spec, then `tokenworks calibrate`'
        : undefined;
  const add = (c: Omit<Comparison, 'gap'>) => {
    const gap = finite(c.actual) && c.predicted !== 0 ? c.actual / c.predicted - 1 : undefined;
    out.push({ ...c, ...(finite(gap) && { gap }) });
  };
  {
    const low = estimate.step.seconds * (1 - error);
    const high = estimate.step.seconds * (1 + error);
    const s = status(step, low, high);
    const cause = speedCause(s, 'above');
    add({
      metric: 'stepSeconds',
      label: 'step time (median of steady steps)',
      unit: 's',
      predicted: estimate.step.seconds,
      band: { low, high },
      bandSource: modelSource,
      ...(finite(step) && { actual: step }),
      status: s,
      ...(cause !== undefined && { likelyCause: cause }),
    });
  }
  for (const [metric, label, unit, predicted, actual] of [
    ['tokensPerSecond', 'tokens/s', 'tokens/s', estimate.tokensPerSecond, observed.throughput?.tokensPerSecond],
    ['mfu', 'MFU', '', estimate.mfu, observed.throughput?.mfu],
  ] as const) {
    // Throughput is tokens per step ÷ step time: its band is the step band inverted.
    const low = predicted / (1 + error);
    const high = predicted / (1 - error);
    const s = status(actual, low, high);
    // Throughput follows the step time: its cause is the step's, said once there.
    const cause =
      s === 'within' || s === 'unobserved' ? undefined : 'follows the step time (tokens per step ÷ step time)';
    add({
      metric,
      label,
      unit,
      predicted,
      band: { low, high },
      bandSource: modelSource,
      ...(finite(actual) && { actual }),
      status: s,
      ...(cause !== undefined && { likelyCause: cause }),
    });
  }
  if (finite(input.gpuRunningW) && input.gpuRunningW > 0) {
    const predicted = input.gpuRunningW;
    const low = predicted * (1 - POWER_TOLERANCE);
    const high = predicted * (1 + POWER_TOLERANCE);
    const actual = gpu?.meanPowerW;
    const s = status(actual, low, high);
    const cause =
      s === 'above'
        ? 'GPUs draw more than the training level the plan assumed: a more compute-bound step than modelled, or a higher power limit than the spec sets'
        : s === 'below'
          ? finite(gpu?.utilisation) && gpu.utilisation < 0.8
            ? `GPUs draw less than planned because they are busy only ${pct(gpu.utilisation)} of the time`
            : 'GPUs draw less than planned: a lower power limit, throttling, or waiting on communication'
          : undefined;
    add({
      metric: 'gpuPowerW',
      label: 'GPU board power (mean per GPU)',
      unit: 'W',
      predicted,
      band: { low, high },
      bandSource: `±${pct(POWER_TOLERANCE)} around the twin's training level (assumed)`,
      ...(finite(actual) && { actual }),
      status: s,
      ...(cause !== undefined && { likelyCause: cause }),
    });
  }
  if (study !== undefined) {
    // ETTR and goodput below their band: name the largest downtime cause (slow steps are not downtime).
    const byCause = DOWNTIME_CAUSES.map((c) => [c, observed.badputSeconds[c]] as const).sort((a, b) => b[1] - a[1]);
    const [topCause, topSeconds] = byCause[0] ?? ['', 0];
    const downtimeCause =
      topSeconds > 0
        ? `most lost time is ${topCause} (${(topSeconds / 3600).toFixed(2)} h, ${pct(observed.wallSeconds > 0 ? topSeconds / observed.wallSeconds : 0)} of the wall)`
        : 'no lost time was seen';
    const twinSource = `the twin's P10–P90 over ${study.replicas} replicas of a run this long`;
    for (const [metric, label, figure, actual] of [
      ['ettr', 'ETTR', study.figures.ettr, observed.empty ? undefined : observed.ettr],
      ['goodput', 'goodput', study.figures.goodput, observed.empty ? undefined : observed.goodput],
    ] as const) {
      const s = status(actual, figure.p10, figure.p90);
      add({
        metric,
        label,
        unit: '',
        predicted: figure.p50,
        band: { low: figure.p10, high: figure.p90 },
        bandSource: twinSource,
        ...(finite(actual) && { actual }),
        status: s,
        ...(s === 'below' && { likelyCause: `below the twin's band: ${downtimeCause}` }),
        ...(s === 'above' && {
          likelyCause:
            metric === 'goodput'
              ? 'the log measures slow steps against the run’s own median: a slowdown in every step (throttling, a slow host) is inside the median and shows as step time instead'
              : 'fewer or shorter interruptions than the twin expects at this scale',
        }),
      });
    }
    // A log shows unexpected and planned restarts alike: the band adds the twin's two counts' P10s and P90s.
    const unexpected = study.figures.unexpectedInterruptions;
    const planned = study.figures.plannedInterruptions;
    const seen = observed.empty ? undefined : observed.restarts;
    const low = unexpected.p10 + planned.p10;
    const high = unexpected.p90 + planned.p90;
    const s = status(seen, low, high);
    add({
      metric: 'interruptions',
      label: 'restarts seen (unexpected and planned)',
      unit: '',
      predicted: unexpected.p50 + planned.p50,
      band: { low, high },
      bandSource: twinSource,
      ...(finite(seen) && { actual: seen }),
      status: s,
      ...(s === 'above' && {
        likelyCause: `more restarts than the twin's failure rates give${finite(gpu?.xidEvents) && gpu.xidEvents > 0 ? ` (${gpu.xidEvents} XID events seen)` : ''}: a failing part or a software fault; the forecast updates the rate from what was seen`,
      }),
      ...(s === 'below' && {
        likelyCause: 'fewer restarts than the twin expects: restarts between logged lines are not seen',
      }),
    });
  }
  return out;
}
