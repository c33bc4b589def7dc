/**
 * The live demo factory of `tokenworks serve --demo`: the factory emulator's run of a spec (src/app/emulate.ts:
 * the Megatron log and the dcgm-exporter scrapes, with a slow host, a hot GPU and an error burst injected) replayed
 * in accelerated real time as a live observed run, so that the console's Operate page has a factory to watch.
 *
 * What the replay shows at run time t is what the tools would have shown at t:
 * - the KPIs of the steps logged by t (src/telemetry/kpis.ts `runKpis`, the definitions `observe` uses: over the
 *   whole run, at most the last {@link MAX_LIVE_STEPS} steps, and over its last hour), held against the plan
 *   (plan-vs-actual.ts); ETTR, goodput and restarts against the twin's band (a study of a run as long as the
 *   emulated one) once a day has been replayed, as `observe` gives it (observe.ts `MIN_TWIN_BAND_SECONDS`: a
 *   shorter stretch is mostly the run's start-up);
 * - the GPU KPIs of the samples scraped by t (src/telemetry/gpu-kpis.ts, one aggregator fed as the replay goes);
 * - per host and scrape, for the heatmap: mean board power, hottest GPU, and a relative step time read from the
 *   slowest GPU's SM clock (compute time ∝ 1 / clock; a synchronous job waits for its slowest host);
 * - the detections and actions of src/app/detect.ts whose decision time is ≤ t: the detectors run once over the
 *   emulated run when it is generated, and are online (each decides from what came before), so revealing them at
 *   their decision time shows what they would have said live;
 * - the forecast of the time to train (forecast.ts) from what was observed by t, recomputed every
 *   {@link FORECAST_EVERY_SECONDS} of run time: its P10–P90 over the run is the fan.
 * When the emulated run ends, the next run (the next seed) is emulated and replayed. Memory stays flat: one run is
 * held at a time (its length is the demo's `days`), and every series shown is a bounded ring.
 *
 * Pure: no Node APIs (timers are the platform's).
 * @module
 */
import type { Action, Detection } from '../detect/types.js';
import { flopsPerToken } from '../perf/model-size.js';
import { planLayout } from '../plan/layout.js';
import type { Result } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { TWIN_DEFAULTS } from '../spec/twin.js';
import { gpuPointsOf, normaliseDcgm } from '../telemetry/dcgm.js';
import { GpuAggregator, gpuKpis } from '../telemetry/gpu-kpis.js';
import { type ObservedKpis, type RunFacts, runKpis } from '../telemetry/kpis.js';
import type { StepPoint } from '../telemetry/megatron-ci.js';
import { parseStepLog, toStepPoints } from '../telemetry/step-log.js';
import { type TwinConfig, type TwinDesign, twinConfig } from '../twin/setup.js';
import type { StudyResult } from '../twin/study.js';
import { designOf } from './design.js';
import { DETECT_FIELDS, GpuDetectors, runDetect } from './detect.js';
import { type EmulateFaultsFile, runEmulate } from './emulate.js';
import { runStudyWith } from './fan-out.js';
import { runForecast } from './forecast.js';
import { forecastObservation, MIN_TWIN_BAND_SECONDS, observedGpu, thin } from './observe.js';
import { type Comparison, planVersusActual } from './plan-vs-actual.js';
import type { Ports } from './ports.js';
import { twinWithDays } from './simulate.js';

/** How the demo emulates its runs. */
export interface DemoSettings {
  /** Wall-clock days of each emulated run. */
  readonly days: number;
  /** Minutes between two dcgm scrapes (the twin's timeline bucket). */
  readonly bucketMinutes: number;
  /** Multiplies the spec's failure rates, so that a day shows interruptions. */
  readonly failureScale: number;
  /** Seed of the first run; each next run takes the next seed. */
  readonly seed: number;
  /** Run seconds per real second. */
  readonly speed: number;
  /** Twin replicas of the ETTR and goodput band, the actions' expected gains and each forecast. */
  readonly replicas: number;
}

/** The demo's defaults: 36 h per run, a scrape every 15 min, failures × 20, 120× real time, 16 replicas. */
export const DEMO_DEFAULTS: DemoSettings = {
  days: 1.5,
  bucketMinutes: 15,
  failureScale: 20,
  seed: 1,
  speed: 120,
  replicas: 16,
};

/** Most steps the live KPIs are computed over (the latest ones). */
export const MAX_LIVE_STEPS = 50_000;
/** Points of the step-time chart in a snapshot. */
export const LIVE_CHART_POINTS = 600;
/** Scrapes (heatmap columns) kept. */
export const MAX_HEATMAP_COLUMNS = 96;
/** Detections and actions a snapshot lists (the latest). */
export const LIVE_DETECTIONS = 50;
/** Forecasts kept for the fan. */
export const MAX_FORECASTS = 200;
/** Run seconds between two forecasts. */
export const FORECAST_EVERY_SECONDS = 3600;
/** Real milliseconds between two ticks of the replay. */
export const TICK_MS = 1000;

/** The faults the demo injects into a run of `nodes` hosts over `hours`: a slow host, a hot GPU and an error burst. */
export function demoFaults(nodes: number, gpusPerNode: number, hours: number): EmulateFaultsFile {
  const host = (k: number) => Math.min(nodes - 1, k);
  return {
    faults: [
      { kind: 'slow-host', host: host(3), startHours: 0.15 * hours, durationHours: 0.25 * hours, slowdown: 1.3 },
      {
        kind: 'thermal',
        host: host(10),
        gpu: Math.min(gpusPerNode - 1, 5),
        startHours: 0.45 * hours,
        durationHours: 0.2 * hours,
        temperatureC: 90,
        clockRatio: 0.8,
      },
      {
        kind: 'error-burst',
        host: host(20),
        gpu: Math.min(gpusPerNode - 1, 2),
        startHours: 0.65 * hours,
        durationHours: 0.15 * hours,
        eventsPerHour: 6,
        failure: 'xid',
      },
    ],
  };
}

/** The GPU samples of a run, in time order, in typed arrays (a GPU and a field by their index). */
interface SampleTable {
  readonly time: Float64Array;
  readonly gpu: Int32Array;
  readonly field: Uint8Array;
  readonly value: Float64Array;
  /** Each GPU's key and host index. */
  readonly gpus: readonly { readonly key: string; readonly host: number }[];
  readonly fields: readonly string[];
}

/** One emulated run, ready to replay. */
export interface DemoRun {
  readonly index: number;
  readonly seed: number;
  readonly title: string;
  readonly design: TwinDesign;
  /** Unix seconds of the run's start (the emulator's clock). */
  readonly startTime: number;
  readonly wallSeconds: number;
  readonly steps: readonly StepPoint[];
  readonly samples: SampleTable;
  readonly hosts: readonly string[];
  readonly detections: readonly Detection[];
  readonly actions: readonly Action[];
  readonly facts: RunFacts;
  readonly checkpointPauseSeconds?: number;
  /** The twin's study of a run as long as the emulated one (the ETTR and goodput band). */
  readonly study?: StudyResult;
  readonly config?: TwinConfig;
  readonly deadlineDays?: number;
}

/** Unix seconds at which the emulator's clock starts (its default, src/telemetry/emulator.ts: 2026-01-01 UTC). */
const EMULATOR_START = Date.UTC(2026, 0, 1) / 1000;

const FIELD = {
  power: 'DCGM_FI_DEV_POWER_USAGE',
  temperature: 'DCGM_FI_DEV_GPU_TEMP',
  clock: 'DCGM_FI_DEV_SM_CLOCK',
} as const;

/** The spec the demo emulates: the spec's twin settings with the demo's scrape interval and failure scale. */
function demoSpec(spec: ResolvedSpec, settings: DemoSettings): ResolvedSpec {
  const twin = twinWithDays(spec, settings.days) ?? { ...TWIN_DEFAULTS, days: settings.days };
  return { ...spec, twin: { ...twin, bucketMinutes: settings.bucketMinutes, failureScale: settings.failureScale } };
}

/** Emulates run `index` of the demo (seed `settings.seed + index`) and prepares it for the replay. */
export async function prepareDemoRun(
  spec: ResolvedSpec,
  settings: DemoSettings,
  index: number,
  ports: Ports,
): Promise<Result<DemoRun>> {
  const seed = settings.seed + index;
  const emulated = demoSpec(spec, settings);
  const design = await designOf(emulated, ports.runner);
  if (!design.ok) return design;
  const { system, workload, facility } = design.value;
  const outcome = await runEmulate(
    {
      spec: emulated,
      seed,
      days: settings.days,
      // The run ends when the workload has trained, if that comes before the demo's days.
      faults: demoFaults(
        system.nodes,
        system.gpusPerNode,
        Math.min(settings.days * 24, design.value.estimate.timeToTrainSeconds / 3600),
      ),
    },
    { runner: ports.runner },
  );
  if (!outcome.ok) return outcome;
  const log = outcome.value.files.find((f) => f.name === 'training.log')?.text ?? '';
  const steps = toStepPoints(parseStepLog(log).samples);
  const hostFiles = outcome.value.files.filter((f) => f.name.endsWith('.prom'));
  const samples = sampleTable(hostFiles.map((f) => f.text));
  const hosts = hostFiles.map((f) => f.name.replace(/^.*\//, '').replace(/\.prom$/, ''));
  // The detectors read the samples in time order, as a store returns them.
  const detectors = new GpuDetectors();
  for (let i = 0; i < samples.time.length; i++) {
    const gpu = samples.gpus[samples.gpu[i] as number] as SampleTable['gpus'][number];
    detectors.push({
      time: samples.time[i] as number,
      gpuKey: gpu.key,
      hostname: hosts[gpu.host],
      field: samples.fields[samples.field[i] as number] as string,
      value: samples.value[i] as number,
    });
  }
  detectors.flush();
  const facts: RunFacts = {
    tokensPerStep: workload.training.globalBatchTokens,
    gpus: system.gpuCount,
    flopsPerToken: flopsPerToken(workload.model, workload.training.sequenceLength).total,
    peakTflopsPerGpu: system.accelerator.peakTflops[workload.training.precision] ?? system.accelerator.peakTflops.bf16,
    logInterval: outcome.value.truth.logInterval,
  };
  const all = runKpis(steps, facts).run;
  const detect = await runDetect(
    {
      spec: emulated,
      steps,
      gpu: detectors,
      observed: { restarts: all.restarts, hours: all.wallSeconds / 3600 },
      replicas: settings.replicas,
      seed,
    },
    { runner: ports.runner },
  );
  const config = twinConfig(design.value, twinWithDays(emulated, settings.days));
  let study: StudyResult | undefined;
  if (config.ok && settings.days >= 1 && settings.replicas > 0) {
    study = await runStudyWith(ports.runner, config.value, { replicas: settings.replicas, seed });
  }
  const checkpoint = config.ok
    ? config.value.checkpoint.mode === 'blocking'
      ? config.value.checkpoint.writeSeconds
      : config.value.checkpoint.stallSeconds
    : undefined;
  const deadlineDays = spec.constraints?.deadlineDays;
  return {
    ok: true,
    value: {
      index,
      seed,
      title: `${design.value.name}: live (emulated run ${index + 1}, seed ${seed})`,
      design: { ...design.value, facility },
      startTime: EMULATOR_START,
      wallSeconds: outcome.value.truth.wallSeconds,
      steps,
      samples,
      hosts,
      detections: detect.ok ? detect.value.detections : [],
      actions: detect.ok ? detect.value.actions : [],
      facts,
      ...(checkpoint !== undefined && { checkpointPauseSeconds: checkpoint }),
      ...(study && { study }),
      ...(config.ok && { config: config.value }),
      ...(deadlineDays !== undefined && { deadlineDays }),
    },
  };
}

/** The scrape files' samples of the fields the KPIs, the heatmap and the detectors read, in time order. */
function sampleTable(texts: readonly string[]): SampleTable {
  const fields = [...new Set([...Object.values(FIELD), ...DETECT_FIELDS, 'DCGM_FI_DEV_GPU_UTIL'])].concat(
    'DCGM_FI_DEV_CLOCKS_EVENT_REASONS',
  );
  const fieldIndex = new Map(fields.map((f, i) => [f, i]));
  const gpus: { key: string; host: number }[] = [];
  const gpuIndex = new Map<string, number>();
  const rows: { time: number[]; gpu: number[]; field: number[]; value: number[] } = {
    time: [],
    gpu: [],
    field: [],
    value: [],
  };
  texts.forEach((text, host) => {
    for (const point of gpuPointsOf(normaliseDcgm(text), 0)) {
      const f = fieldIndex.get(point.field);
      if (f === undefined) continue;
      let g = gpuIndex.get(point.gpuKey);
      if (g === undefined) {
        g = gpus.length;
        gpuIndex.set(point.gpuKey, g);
        gpus.push({ key: point.gpuKey, host });
      }
      rows.time.push(point.time);
      rows.gpu.push(g);
      rows.field.push(f);
      rows.value.push(point.value);
    }
  });
  const order = Uint32Array.from(rows.time.keys()).sort((a, b) => (rows.time[a] as number) - (rows.time[b] as number));
  const pick = <A extends Float64Array | Int32Array | Uint8Array>(make: (n: number) => A, from: number[]): A => {
    const out = make(order.length);
    order.forEach((k, i) => {
      out[i] = from[k] as number;
    });
    return out;
  };
  return {
    time: pick((n) => new Float64Array(n), rows.time),
    gpu: pick((n) => new Int32Array(n), rows.gpu),
    field: pick((n) => new Uint8Array(n), rows.field),
    value: pick((n) => new Float64Array(n), rows.value),
    gpus,
    fields,
  };
}

/** A heatmap column: one scrape, per host. */
interface Column {
  readonly time: number;
  readonly powerSum: Float64Array;
  readonly powerCount: Uint32Array;
  readonly maxTemperature: Float64Array;
  readonly minClock: Float64Array;
}

/** One forecast of the fan: when it was made and its time to train, days. */
export interface ForecastPoint {
  readonly hours: number;
  readonly p10: number | null;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly meetDeadlineProbability?: number;
}

/** What the live endpoint answers: the live run at the time of the snapshot (`status: none` without one). */
export interface LiveSnapshot {
  readonly status: 'running' | 'preparing' | 'none';
  /** Why there is no live run, or what is being prepared. */
  readonly reason?: string;
  /** Increases with every snapshot of one feed. */
  readonly sequence: number;
  readonly run?: {
    readonly index: number;
    readonly seed: number;
    readonly title: string;
    readonly design: {
      readonly name: string;
      readonly gpus: number;
      readonly hosts: number;
      readonly accelerator: string;
      readonly layout: string;
    };
    /** ISO 8601 (the emulator's clock). */
    readonly startTime: string;
    readonly wallSeconds: number;
  };
  readonly clock?: {
    /** Run seconds replayed. */
    readonly runSeconds: number;
    /** Run seconds per real second. */
    readonly speed: number;
    /** Share of the emulated run replayed, 0–1. */
    readonly share: number;
  };
  readonly progress?: {
    /** The last iteration logged (it rewinds with a restart from a checkpoint). */
    readonly iteration: number;
    readonly lines: number;
    readonly lastStepSeconds?: number;
  };
  readonly kpis?: { readonly run: ObservedKpis; readonly window?: ObservedKpis };
  readonly planVersusActual?: readonly Comparison[];
  readonly gpu?: {
    readonly gpus: number;
    readonly hosts: number;
    readonly samples: number;
    readonly meanPowerW?: number;
    readonly peakGpuW?: number;
    readonly throttledShare?: number;
    readonly utilisation?: number;
    readonly meanTemperatureC?: number;
    readonly maxTemperatureC?: number;
    readonly xidEvents: number;
    readonly tokensPerMWh?: number;
  };
  /** The step-time chart: hours since the run's start and seconds per iteration. */
  readonly steps?: { readonly hours: readonly number[]; readonly seconds: readonly number[] };
  /** Per host (rows) and scrape (columns): relative step time, mean board power (W), hottest GPU (°C). */
  readonly heatmap?: {
    readonly hosts: readonly string[];
    readonly hours: readonly number[];
    readonly stepTime: readonly (readonly (number | null)[])[];
    readonly powerW: readonly (readonly (number | null)[])[];
    readonly temperatureC: readonly (readonly (number | null)[])[];
  };
  readonly detections?: readonly Detection[];
  readonly detectionCount?: number;
  readonly actions?: readonly Action[];
  readonly forecast?: { readonly points: readonly ForecastPoint[]; readonly deadlineDays?: number };
}

const round = (x: number, digits = 4) => (Number.isFinite(x) ? Number(x.toPrecision(digits)) : null);

/** The replay of one {@link DemoRun}: advance it to a run time, then read its snapshot. */
export class LiveReplay {
  private stepCursor = 0;
  private sampleCursor = 0;
  private runSeconds = 0;
  private readonly aggregator = new GpuAggregator();
  private readonly columns: Column[] = [];
  private readonly forecasts: ForecastPoint[] = [];
  private cached: Omit<LiveSnapshot, 'sequence' | 'status' | 'clock'> | undefined;
  private lastForecastAt = Number.NEGATIVE_INFINITY;

  constructor(readonly run: DemoRun) {}

  /** Whether the whole run has been replayed. */
  get finished(): boolean {
    return this.runSeconds >= this.run.wallSeconds;
  }

  /** Run seconds replayed. */
  get seconds(): number {
    return this.runSeconds;
  }

  /** Reveals what the run logged and scraped up to `runSeconds` from its start. */
  advanceTo(runSeconds: number): void {
    const target = Math.min(this.run.wallSeconds, Math.max(this.runSeconds, runSeconds));
    const until = this.run.startTime + target;
    const { steps, samples } = this.run;
    while (this.stepCursor < steps.length && ((steps[this.stepCursor] as StepPoint).time ?? 0) <= until) {
      this.stepCursor++;
    }
    const points = [];
    while (this.sampleCursor < samples.time.length && (samples.time[this.sampleCursor] as number) <= until) {
      const i = this.sampleCursor++;
      const gpu = samples.gpus[samples.gpu[i] as number] as SampleTable['gpus'][number];
      const field = samples.fields[samples.field[i] as number] as string;
      const time = samples.time[i] as number;
      const value = samples.value[i] as number;
      points.push({ time, gpuKey: gpu.key, hostname: this.run.hosts[gpu.host] as string, field, value });
      this.heat(time, gpu.host, field, value);
    }
    if (points.length > 0) this.aggregator.push(points);
    if (target !== this.runSeconds || points.length > 0) this.cached = undefined;
    this.runSeconds = target;
  }

  /** Adds one sample to the heatmap column of its scrape. */
  private heat(time: number, host: number, field: string, value: number): void {
    if (field !== FIELD.power && field !== FIELD.temperature && field !== FIELD.clock) return;
    let column = this.columns.at(-1);
    if (column === undefined || column.time !== time) {
      const n = this.run.hosts.length;
      column = {
        time,
        powerSum: new Float64Array(n),
        powerCount: new Uint32Array(n),
        maxTemperature: new Float64Array(n).fill(Number.NaN),
        minClock: new Float64Array(n).fill(Number.NaN),
      };
      this.columns.push(column);
      if (this.columns.length > MAX_HEATMAP_COLUMNS) this.columns.shift();
    }
    if (field === FIELD.power) {
      column.powerSum[host] = (column.powerSum[host] as number) + value;
      column.powerCount[host] = (column.powerCount[host] as number) + 1;
    } else if (field === FIELD.temperature) {
      const t = column.maxTemperature[host] as number;
      if (!(t >= value)) column.maxTemperature[host] = value;
    } else {
      const c = column.minClock[host] as number;
      if (!(c <= value)) column.minClock[host] = value;
    }
  }

  /** The steps the KPIs read: the latest {@link MAX_LIVE_STEPS} logged so far. */
  private observedSteps(): readonly StepPoint[] {
    return this.run.steps.slice(Math.max(0, this.stepCursor - MAX_LIVE_STEPS), this.stepCursor);
  }

  /** Whether a forecast is due ({@link FORECAST_EVERY_SECONDS} of run time since the last one). */
  get forecastDue(): boolean {
    return this.stepCursor > 10 && this.runSeconds - this.lastForecastAt >= FORECAST_EVERY_SECONDS;
  }

  /** Forecasts the time to train from what has been observed so far and adds it to the fan. */
  async forecast(spec: ResolvedSpec, replicas: number, ports: Ports): Promise<void> {
    this.lastForecastAt = this.runSeconds;
    const steps = this.observedSteps();
    const kpis = runKpis(steps, this.run.facts, this.kpiOptions()).run;
    if (kpis.empty) return;
    const observed = forecastObservation(kpis, steps, this.run.config);
    const result = await runForecast(
      {
        spec,
        observed,
        replicas,
        seed: this.run.seed,
        ...(this.run.deadlineDays !== undefined && { deadlineDays: this.run.deadlineDays }),
      },
      ports,
    );
    if (!result.ok) return;
    const days = result.value.timeToTrainDays;
    const finite = (x: number) => (Number.isFinite(x) ? x : null);
    this.forecasts.push({
      hours: this.runSeconds / 3600,
      p10: finite(days.p10),
      p50: finite(days.p50),
      p90: finite(days.p90),
      ...(result.value.meetDeadlineProbability !== undefined && {
        meetDeadlineProbability: result.value.meetDeadlineProbability,
      }),
    });
    if (this.forecasts.length > MAX_FORECASTS) this.forecasts.shift();
    this.cached = undefined;
  }

  private kpiOptions() {
    const last = this.run.steps[this.stepCursor - 1]?.time;
    const fromTime = last === undefined ? undefined : last - 3600;
    const from = fromTime === undefined ? undefined : this.run.steps.find((p) => (p.time ?? 0) >= fromTime)?.step;
    return {
      ...(from !== undefined && { window: { fromStep: from } }),
      ...(this.run.checkpointPauseSeconds !== undefined && {
        checkpointPauseSeconds: this.run.checkpointPauseSeconds,
      }),
    };
  }

  /** The live run now, as the live endpoint answers it (without its status, sequence and clock). */
  view(): Omit<LiveSnapshot, 'sequence' | 'status' | 'clock'> {
    this.cached ??= this.compute();
    return this.cached;
  }

  private compute(): Omit<LiveSnapshot, 'sequence' | 'status' | 'clock'> {
    const { run } = this;
    const { design } = run;
    const steps = this.observedSteps();
    const kpis = runKpis(steps, run.facts, this.kpiOptions());
    const seen = new Set<string>();
    const aggregates = this.aggregator.aggregates();
    for (const a of aggregates) seen.add(a.gpuKey);
    const tokensPerSecond = kpis.run.throughput?.tokensPerSecond;
    const gpu = gpuKpis(aggregates, {
      pue: design.facility.pue,
      gpus: design.system.gpuCount,
      ...(tokensPerSecond !== undefined &&
        tokensPerSecond > 0 && { tokensPerSecond: tokensPerSecond * Math.min(1, seen.size / design.system.gpuCount) }),
    });
    const observed = aggregates.length > 0 ? observedGpu(gpu) : undefined;
    const comparisons = planVersusActual({
      estimate: design.estimate,
      moe: design.workload.model.moe !== undefined,
      ...(run.study && kpis.run.wallSeconds >= MIN_TWIN_BAND_SECONDS && { study: run.study }),
      ...(run.config && { gpuRunningW: run.config.power.gpuRunningW }),
      observed: kpis.run,
      ...(observed && { gpu: observed }),
    });
    const chart = thin(
      steps.filter((p) => p.iterationSeconds !== undefined && p.time !== undefined),
      LIVE_CHART_POINTS,
    );
    const last = steps.at(-1);
    const detections = run.detections.filter((d) => d.time <= run.startTime + this.runSeconds);
    const actions = run.actions.filter((a) => a.time <= run.startTime + this.runSeconds);
    const restartPauses = (k: ObservedKpis): ObservedKpis => ({ ...k, restartPauses: k.restartPauses.slice(-20) });
    return {
      run: {
        index: run.index,
        seed: run.seed,
        title: run.title,
        design: {
          name: design.name,
          gpus: design.system.gpuCount,
          hosts: run.hosts.length,
          accelerator: design.system.accelerator.name,
          layout: planLayout(design.plan),
        },
        startTime: new Date(run.startTime * 1000).toISOString(),
        wallSeconds: run.wallSeconds,
      },
      progress: {
        iteration: last?.step ?? 0,
        lines: this.stepCursor,
        ...(last?.iterationSeconds !== undefined && { lastStepSeconds: last.iterationSeconds }),
      },
      kpis: { run: restartPauses(kpis.run), ...(kpis.window && { window: restartPauses(kpis.window) }) },
      planVersusActual: comparisons,
      gpu: {
        gpus: gpu.counts.gpus,
        hosts: gpu.counts.hosts,
        samples: gpu.counts.samples,
        ...(gpu.power && { meanPowerW: gpu.power.meanPerGpuW, peakGpuW: gpu.power.peakGpuW }),
        ...(gpu.throttle && { throttledShare: gpu.throttle.share }),
        ...(gpu.utilisation.primary && { utilisation: gpu.utilisation.primary.mean }),
        ...(gpu.temperature && { meanTemperatureC: gpu.temperature.meanC, maxTemperatureC: gpu.temperature.maxC }),
        xidEvents: gpu.xid.events,
        ...(gpu.tokens?.perMWhFacility !== undefined && { tokensPerMWh: gpu.tokens.perMWhFacility }),
      },
      steps: {
        hours: chart.map((p) => round(((p.time as number) - run.startTime) / 3600, 6) ?? 0),
        seconds: chart.map((p) => round(p.iterationSeconds as number) ?? 0),
      },
      heatmap: this.heatmap(),
      detections: detections.slice(-LIVE_DETECTIONS),
      detectionCount: detections.length,
      actions: actions.slice(-LIVE_DETECTIONS),
      forecast: {
        points: [...this.forecasts],
        ...(run.deadlineDays !== undefined && { deadlineDays: run.deadlineDays }),
      },
    };
  }

  /** The heatmap's columns: relative step time from the slowest GPU's clock, mean power, hottest GPU. */
  private heatmap(): NonNullable<LiveSnapshot['heatmap']> {
    const stepTime: (number | null)[][] = [];
    const powerW: (number | null)[][] = [];
    const temperatureC: (number | null)[][] = [];
    for (const column of this.columns) {
      const clocks = [...column.minClock].filter((c) => c > 0).sort((a, b) => a - b);
      // The median host's slowest clock is the reference: a host at half its clock takes twice as long.
      const reference = clocks[clocks.length >> 1];
      stepTime.push(
        [...column.minClock].map((c) => (reference !== undefined && c > 0 ? round(reference / c, 3) : null)),
      );
      powerW.push(
        [...column.powerSum].map((sum, h) => {
          const n = column.powerCount[h] as number;
          return n > 0 ? round(sum / n, 4) : null;
        }),
      );
      temperatureC.push([...column.maxTemperature].map((t) => (Number.isFinite(t) ? round(t, 3) : null)));
    }
    return {
      hosts: this.run.hosts,
      hours: this.columns.map((c) => round((c.time - this.run.startTime) / 3600, 5) ?? 0),
      stepTime,
      powerW,
      temperatureC,
    };
  }
}

/** A live observed run the API serves (`GET /v1/live`): its snapshot now, and each new one as it comes. */
export interface LiveFeed {
  snapshot(): LiveSnapshot;
  /** Calls `listener` with each new snapshot; returns the unsubscribe. */
  subscribe(listener: (snapshot: LiveSnapshot) => void): () => void;
  close(): void;
}

/** How {@link startDemo} runs. */
export interface DemoOptions extends Partial<DemoSettings> {
  readonly spec: ResolvedSpec;
  /** Told when a run cannot be emulated (the demo then stops). */
  readonly onError?: (error: unknown) => void;
  /** The clock, milliseconds (default `Date.now`). */
  readonly now?: () => number;
  /** Emulates a run (default {@link prepareDemoRun} on this thread; node/demo.ts runs it on a worker thread). */
  readonly prepare?: (index: number, settings: DemoSettings, signal: AbortSignal) => Promise<Result<DemoRun>>;
}

/**
 * Starts the demo: emulates the first run, replays it at `speed` × real time with a tick every {@link TICK_MS},
 * emulates the next when it ends; {@link LiveFeed.close} stops it.
 */
export function startDemo(options: DemoOptions, ports: Ports): LiveFeed {
  const settings: DemoSettings = {
    days: options.days ?? DEMO_DEFAULTS.days,
    bucketMinutes: options.bucketMinutes ?? DEMO_DEFAULTS.bucketMinutes,
    failureScale: options.failureScale ?? DEMO_DEFAULTS.failureScale,
    seed: options.seed ?? DEMO_DEFAULTS.seed,
    speed: options.speed ?? DEMO_DEFAULTS.speed,
    replicas: options.replicas ?? DEMO_DEFAULTS.replicas,
  };
  const now = options.now ?? Date.now;
  const listeners = new Set<(snapshot: LiveSnapshot) => void>();
  let replay: LiveReplay | undefined;
  let startedAt = now();
  let sequence = 0;
  let closed = false;
  let busy = false;
  let state: { status: 'preparing' | 'none'; reason: string } | undefined = {
    status: 'preparing',
    reason: 'emulating the first run',
  };
  let latest: LiveSnapshot | undefined;
  /** Aborted on close: a run being emulated is given up. */
  const stopping = new AbortController();

  const snapshot = (): LiveSnapshot => {
    if (latest !== undefined) return latest;
    if (replay === undefined || state?.status === 'none') {
      latest = { status: state?.status ?? 'preparing', reason: state?.reason ?? '', sequence };
    } else {
      latest = {
        status: 'running',
        sequence,
        ...(state && { reason: state.reason }),
        ...replay.view(),
        clock: {
          runSeconds: replay.seconds,
          speed: settings.speed,
          share: replay.run.wallSeconds > 0 ? Math.min(1, replay.seconds / replay.run.wallSeconds) : 1,
        },
      };
    }
    return latest;
  };
  const publish = () => {
    sequence++;
    latest = undefined;
    if (listeners.size === 0) return;
    const next = snapshot();
    for (const listener of listeners) listener(next);
  };
  const prepare = async (index: number) => {
    const prepare = options.prepare ?? ((i, s) => prepareDemoRun(options.spec, s, i, ports));
    const prepared = await prepare(index, settings, stopping.signal);
    if (closed) return;
    if (!prepared.ok) {
      state = {
        status: 'none',
        reason: `the demo cannot emulate its spec: ${prepared.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      };
      options.onError?.(new Error(state.reason));
      return;
    }
    replay = new LiveReplay(prepared.value);
    startedAt = now();
    state = undefined;
  };
  const tick = async () => {
    if (closed || busy) return;
    busy = true;
    try {
      if (replay === undefined) {
        if (state?.status !== 'none') await prepare(0);
      } else if (replay.finished) {
        const next = replay.run.index + 1;
        state = { status: 'preparing', reason: `emulating run ${next + 1}` };
        publish();
        await prepare(next);
      } else {
        replay.advanceTo(((now() - startedAt) / 1000) * settings.speed);
        if (replay.forecastDue && settings.replicas > 0) await replay.forecast(options.spec, settings.replicas, ports);
      }
    } catch (error) {
      state = { status: 'none', reason: 'the demo stopped on an internal error' };
      options.onError?.(error);
    } finally {
      busy = false;
    }
    if (!closed) publish();
  };
  const timer = setInterval(() => void tick(), TICK_MS);
  void tick();
  return {
    snapshot,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      clearInterval(timer);
      stopping.abort();
      // The followers are told the run is gone, so that their streams end.
      state = { status: 'none', reason: 'the server is stopping' };
      sequence++;
      latest = undefined;
      const last = snapshot();
      for (const listener of listeners) listener(last);
      listeners.clear();
    },
  };
}
