/**
 * The `observe` use case: an observed training run (its step samples, and its GPU signals when given) read
 * against the design its spec describes: the run's KPIs over the whole run and a window (src/telemetry/kpis.ts),
 * plan versus actual with the estimate's breakdown beside it (plan-vs-actual.ts), and the twin's band for a run as
 * long as the one observed. Pure: sources and stores are the caller's (node/ adapters).
 * @module
 */
import { flopsPerToken } from '../perf/model-size.js';
import { planLayout } from '../plan/layout.js';
import type { Result } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { type GpuFieldAggregate, type GpuKpis, gpuKpis } from '../telemetry/gpu-kpis.js';
import { modeInterval, type ObservedKpis, type RunFacts, runKpis } from '../telemetry/kpis.js';
import type { StepPoint } from '../telemetry/megatron-ci.js';
import type { StragglerSummary } from '../telemetry/megatron-straggler.js';
import { expectedFailures, type TwinConfig, twinConfig } from '../twin/setup.js';
import type { StudyResult } from '../twin/study.js';
import { designOf } from './design.js';
import type { DetectOutcome } from './detect.js';
import { runStudyWith } from './fan-out.js';
import { type ForecastOutcome, type ObservedRun, runForecast } from './forecast.js';
import { type Comparison, type ObservedGpu, planVersusActual } from './plan-vs-actual.js';
import type { Ports, UseCaseOptions } from './ports.js';
import { eventBudgetIssue, twinWithDays } from './simulate.js';

/** Most points a chart series keeps (longer series are thinned evenly, first and last kept). */
export const MAX_CHART_POINTS = 2000;

/**
 * Shortest observed run the twin's ETTR band is given for: a twin run of hours is dominated by its start-up
 * (the first checkpoint load and warm-up), which a log that starts at its first iteration does not see.
 */
export const MIN_TWIN_BAND_SECONDS = 86_400;

/** The input of {@link runObserve}. */
export interface ObserveInput {
  readonly spec: ResolvedSpec;
  /** The run's steps in log order (rewinds kept). */
  readonly steps: readonly StepPoint[];
  /** The run's GPU samples as per-GPU per-field aggregates (from files, a store or PromQL: gpu-kpis.ts). */
  readonly gpu?: {
    readonly aggregates: readonly GpuFieldAggregate[];
    /** The window the aggregates cover, seconds (a PromQL query's end − start); default their observed span. */
    readonly windowSeconds?: number;
    /** Where they came from, for the report. */
    readonly source: string;
    /** Mean board power per GPU over time (Unix seconds), for the chart. */
    readonly powerSeries?: readonly { readonly time: number; readonly meanW: number }[];
  };
  /** Megatron's straggler-detector lines, summarised. */
  readonly stragglers?: StragglerSummary;
  /** A window of steps to report beside the whole run. */
  readonly window?: { readonly fromStep?: number; readonly toStep?: number };
  /** Iterations each logged time averages (Megatron `--log-interval`); default the most common step difference. */
  readonly logInterval?: number;
  /** Replicas of the twin band (0: no twin band). */
  readonly replicas: number;
  readonly seed: number;
  /** Forecast the time to train from what was observed, with this many replicas (0 or absent: no forecast). */
  readonly forecastReplicas?: number;
  /** The deadline the forecast is held against, days from the start (default the spec's constraints). */
  readonly deadlineDays?: number;
}

/** One point of the step-time chart. */
export interface StepChartPoint {
  readonly step: number;
  readonly seconds: number;
  /** Seconds since the first time-stamped line, when the log has stamps. */
  readonly elapsed?: number;
}

/** What `tokenworks observe` found. */
export interface ObserveOutcome {
  readonly title: string;
  readonly design: {
    readonly name: string;
    readonly gpus: number;
    readonly accelerator: string;
    readonly layout: string;
    readonly siteEfficiency: number;
  };
  readonly facts: RunFacts;
  readonly kpis: { readonly run: ObservedKpis; readonly window?: ObservedKpis };
  readonly planVersusActual: readonly Comparison[];
  /** The estimate's step, by part, seconds. */
  readonly predictedStep: {
    readonly seconds: number;
    readonly compute: number;
    readonly bubble: number;
    readonly imbalance: number;
    readonly exposedCommunication: number;
    readonly optimizer: number;
  };
  /** The twin study the bands come from (absent with 0 replicas or an empty run). */
  readonly twin?: { readonly days: number; readonly replicas: number; readonly study: StudyResult };
  /** The GPU KPIs (gpu-kpis.ts) and the figures plan versus actual took from them. */
  readonly gpu?: { readonly source: string; readonly kpis: GpuKpis; readonly observed: ObservedGpu };
  readonly stragglers?: StragglerSummary;
  /** `--detect`: the detections and the actions they call for (src/app/detect.ts). */
  readonly detect?: DetectOutcome;
  /** Time to train projected from what was observed (absent when not asked for, or when no work is left). */
  readonly forecast?: ForecastOutcome;
  readonly chart: {
    readonly steps: readonly StepChartPoint[];
    /** Mean board power per GPU, hours since the first sample, thinned to {@link MAX_CHART_POINTS}. */
    readonly power: readonly { readonly hours: number; readonly meanW: number }[];
  };
  readonly notes: readonly string[];
}

/**
 * What the forecast is given, read from the log as a user would: the wall observed, the iteration reached (the
 * counter rewinds with the checkpoint, so it is the work kept), the median step, the restart pauses as recovery
 * times, and the unexpected interruptions: every restart at a rewind, plus the restarts without one beyond the
 * planned stops the twin's maintenance calendar expects over the wall (a planned stop checkpoints first, so it
 * shows no rewind).
 */
export function forecastObservation(
  kpis: ObservedKpis,
  steps: readonly StepPoint[],
  config: TwinConfig | undefined,
): ObservedRun {
  const planned = (config?.classes ?? [])
    .filter((c) => c.detection === 'planned')
    .reduce((sum, c) => sum + expectedFailures(c, kpis.wallSeconds), 0);
  const withoutRewind = kpis.restarts - kpis.restartsAtRewind;
  const last = steps[steps.length - 1]?.step ?? 0;
  return {
    elapsedSeconds: kpis.wallSeconds,
    productiveSteps: Math.max(0, last),
    interruptions: kpis.restartsAtRewind + Math.max(0, Math.round(withoutRewind - planned)),
    recoverySeconds: kpis.restartPauses,
    stepSeconds: kpis.medianSeconds,
  };
}

/** The GPU figures plan versus actual holds against the plan, from the GPU KPIs. */
export function observedGpu(k: GpuKpis): ObservedGpu {
  return {
    gpus: k.counts.gpus,
    ...(k.power && { meanPowerW: k.power.meanPerGpuW }),
    ...(k.throttle && { throttledShare: k.throttle.share }),
    ...(k.utilisation.primary && { utilisation: k.utilisation.primary.mean }),
    xidEvents: k.xid.events,
  };
}

/** The power chart's points: hours since the first sample, in time order, thinned. */
function powerChart(series: readonly { readonly time: number; readonly meanW: number }[]) {
  const sorted = [...series]
    .filter((p) => Number.isFinite(p.time) && Number.isFinite(p.meanW))
    .sort((a, b) => a.time - b.time);
  const first = sorted[0]?.time ?? 0;
  return thin(sorted.map((p) => ({ hours: (p.time - first) / 3600, meanW: p.meanW })));
}

/** Evenly thinned copy of `values` with at most `max` entries, first and last kept. */
export function thin<T>(values: readonly T[], max: number = MAX_CHART_POINTS): T[] {
  if (values.length <= max) return [...values];
  const out: T[] = [];
  const stride = (values.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(values[Math.round(i * stride)] as T);
  return out;
}

/** Reads the observed run against the spec's design. */
export async function runObserve(
  input: ObserveInput,
  ports: Ports,
  options: UseCaseOptions = {},
): Promise<Result<ObserveOutcome>> {
  const { spec } = input;
  const design = await designOf(spec, ports.runner, {
    ...(options.signal && { signal: options.signal }),
    ...(ports.progress && { progress: ports.progress }),
  });
  if (!design.ok) return design;
  const { workload, system, plan, estimate } = design.value;
  const { training, model } = workload;
  const notes: string[] = [];
  const stepsWithTime = input.steps.filter((p) => p.iterationSeconds !== undefined);
  const logInterval = input.logInterval ?? modeInterval(stepsWithTime.map((p) => p.step));
  const facts: RunFacts = {
    tokensPerStep: training.globalBatchTokens,
    gpus: system.gpuCount,
    flopsPerToken: flopsPerToken(model, training.sequenceLength).total,
    peakTflopsPerGpu: system.accelerator.peakTflops[training.precision] ?? system.accelerator.peakTflops.bf16,
    logInterval,
  };
  // The planned checkpoint pause tells a long save from a restart in a window too short to learn it from.
  const planned = twinConfig(design.value, spec.twin);
  const checkpoint = planned.ok
    ? planned.value.checkpoint.mode === 'blocking'
      ? planned.value.checkpoint.writeSeconds
      : planned.value.checkpoint.stallSeconds
    : undefined;
  const kpis = runKpis(input.steps, facts, {
    ...(input.window && { window: input.window }),
    ...(checkpoint !== undefined && { checkpointPauseSeconds: checkpoint }),
  });

  let gpu: ObserveOutcome['gpu'];
  if (input.gpu !== undefined) {
    // Tokens per MWh of the GPUs seen: the run's tokens/s scaled to their share of its GPUs (the others are taken
    // to draw the same), so that scraping one host of 64 does not give 64 × the figure.
    const seen = new Set(input.gpu.aggregates.map((a) => a.gpuKey)).size;
    const runTokens = kpis.run.throughput?.tokensPerSecond;
    const tokensPerSecond = runTokens === undefined ? undefined : runTokens * Math.min(1, seen / system.gpuCount);
    const gpuKpiValues = gpuKpis(input.gpu.aggregates, {
      pue: design.value.facility.pue,
      gpus: system.gpuCount,
      ...(tokensPerSecond !== undefined && tokensPerSecond > 0 && { tokensPerSecond }),
      ...(input.gpu.windowSeconds !== undefined && { windowSeconds: input.gpu.windowSeconds }),
    });
    gpu = { source: input.gpu.source, kpis: gpuKpiValues, observed: observedGpu(gpuKpiValues) };
    if (gpuKpiValues.counts.gpus === 0) notes.push(`no GPU samples in ${input.gpu.source}`);
    else if (gpuKpiValues.counts.gpus < system.gpuCount) {
      notes.push(
        `GPU samples cover ${gpuKpiValues.counts.gpus} of the run's ${system.gpuCount} GPUs: GPU figures are theirs`,
      );
    }
  }
  let twin: ObserveOutcome['twin'];
  const days = Math.max(1, kpis.run.wallSeconds / 86_400);
  const config = twinConfig(design.value, twinWithDays(spec, days));
  if (!config.ok) {
    // A twin the spec's settings cannot run leaves the speed figures to compare; say why the band is missing.
    notes.push(`no twin band: ${config.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  } else if (input.replicas > 0 && !kpis.run.empty && kpis.run.wallSeconds < MIN_TWIN_BAND_SECONDS) {
    notes.push(
      `no twin band for ETTR and goodput: the run covers ${(kpis.run.wallSeconds / 3600).toFixed(2)} h, and a twin run shorter than a day is mostly its start-up`,
    );
  } else if (input.replicas > 0 && !kpis.run.empty) {
    try {
      const study = await runStudyWith(
        ports.runner,
        config.value,
        { replicas: input.replicas, seed: input.seed },
        { ...(options.signal && { signal: options.signal }), ...(ports.progress && { progress: ports.progress }) },
      );
      twin = { days, replicas: input.replicas, study };
    } catch (error) {
      return { ok: false, issues: eventBudgetIssue(error, 'observe a shorter window, or lower the failure rates') };
    }
  }
  let forecast: ForecastOutcome | undefined;
  if ((input.forecastReplicas ?? 0) > 0 && !kpis.run.empty) {
    const observed = forecastObservation(kpis.run, input.steps, config.ok ? config.value : undefined);
    const result = await runForecast(
      {
        spec,
        observed,
        replicas: input.forecastReplicas as number,
        seed: input.seed,
        ...(input.deadlineDays !== undefined && { deadlineDays: input.deadlineDays }),
      },
      ports,
      options,
    );
    if (result.ok) forecast = result.value;
    else notes.push(`no forecast: ${result.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
  const comparisons = planVersusActual({
    estimate,
    moe: model.moe !== undefined,
    ...(twin && { study: twin.study }),
    ...(config.ok && { gpuRunningW: config.value.power.gpuRunningW }),
    observed: kpis.run,
    ...(gpu && { gpu: gpu.observed }),
    ...(input.stragglers && { stragglers: input.stragglers }),
  });
  const firstTime = input.steps.find((p) => p.time !== undefined)?.time;
  const chartSteps: StepChartPoint[] = stepsWithTime.map((p) => ({
    step: p.step,
    seconds: p.iterationSeconds as number,
    ...(p.time !== undefined && firstTime !== undefined && { elapsed: p.time - firstTime }),
  }));
  const e = estimate.step.exposedCommunication;
  return {
    ok: true,
    value: {
      title: `${design.value.name}: plan versus actual`,
      design: {
        name: design.value.name,
        gpus: system.gpuCount,
        accelerator: system.accelerator.name,
        layout: planLayout(plan),
        siteEfficiency: system.siteEfficiency ?? 1,
      },
      facts,
      kpis,
      planVersusActual: comparisons,
      predictedStep: {
        seconds: estimate.step.seconds,
        compute: estimate.step.compute,
        bubble: estimate.step.bubble,
        imbalance: estimate.step.imbalance,
        exposedCommunication: e.tp + e.cp + e.ep + e.pp + e.dp + estimate.step.offload,
        optimizer: estimate.step.optimizer,
      },
      ...(twin && { twin }),
      ...(gpu && { gpu }),
      ...(forecast && { forecast }),
      ...(input.stragglers && { stragglers: input.stragglers }),
      chart: { steps: thin(chartSteps), power: powerChart(input.gpu?.powerSeries ?? []) },
      notes,
    },
  };
}
