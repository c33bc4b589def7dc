/**
 * A factory emulator: what a real training run would emit, generated from one seeded twin replica (run with
 * detail). It walks the replica's wall clock with its event log and its settings and writes
 * - the training log as Megatron-LM lines (`megatron/training/training.py` `training_log`, the format
 *   step-log.ts parses), one per logged iteration, with step-time noise bootstrapped from a real iteration-time
 *   series (ratios to its median) rather than white noise;
 * - the ground truth: an events file (JSON lines: interruptions with their cause, the iteration reached and the
 *   one resumed from, restarts, checkpoints) and `truth.json` with the twin summary's ETTR, goodput, interruptions
 *   and badput by cause in seconds.
 *
 * How the walk reads the twin (src/twin/processes/detection-restart.ts):
 * - the job launches after `restartSeconds`; after an interruption it is down for the detection time of the
 *   failure's class (crash or hang) plus restart, checkpoint read and, for a class that replaces a host, the swap;
 *   a `waiting` event holds it down until `resumed`, then restart, read and swap; planned maintenance stops cleanly
 *   (a checkpoint at the current iteration, so no rewind) and costs restart and read;
 * - an interruption loses the iterations since the last durable checkpoint: the log rewinds to the checkpoint's
 *   iteration and repeats them, as Megatron does on resume (`--load` restores the iteration counter);
 * - a blocking checkpoint is taken at the first iteration boundary `intervalSeconds` of running after the last
 *   one (or the resume) and takes `writeSeconds`; an asynchronous one stalls for `stallSeconds`. Megatron stops its
 *   interval timer while saving, so the write shows as a gap between time stamps, not in the elapsed time;
 * - the first iteration after a (re)start is `firstIterationFactor` × slower (warm-up); that extra time is taken
 *   out of the silent gap, so total downtime stays the twin's;
 * - the twin's slowdowns are replayed: an iteration takes the nominal step × its noise ratio ÷ the job's step speed
 *   when it starts (the replica's `speedSegments`: slow hosts, throttling, a shrunk job), so the log does the work
 *   the twin did, to within the step noise. Their cost is not downtime in ETTR.
 * The noise series carries the step-time spread. A failure inside an iteration loses that partial iteration.
 *
 * Injected faults (`input.faults`, drawn by emulator-faults.ts) multiply the step time while they last (the largest
 * factor in force), change their GPUs in the scrape files, and are listed in the ground truth: a `fault` line in the
 * events per fault (at its start, with its end) and `faults` in `truth.json`. Without faults the output is as before,
 * byte for byte.
 *
 * Pure: no Node APIs. The same replica and noise give the same bytes.
 * @module
 */
import { ReplicaStreams } from '../sim/index.js';
import type { RunResult } from '../twin/run.js';
import { BADPUT_CAUSES } from '../twin/run.js';
import type { TwinConfig } from '../twin/setup.js';
import {
  type EmulatorFaults,
  FAULT_COUNTERS,
  type FaultKind,
  type GpuEffect,
  type InjectedFault,
} from './emulator-faults.js';
import { median } from './megatron-ci.js';

/** Most log lines the emulator writes by default; a longer run raises the log interval. */
export const MAX_EMULATED_LINES = 200_000;

/**
 * The random stream of the step-time noise ({@link ReplicaStreams} index), past the twin's own (src/twin/run.ts
 * uses 0 to 35), so emulating never shifts the twin's numbers. The dcgm spread uses `NOISE_STREAM + 2` (50) and
 * the injected faults 51 (emulator-faults.ts `FAULT_STREAM`).
 */
const NOISE_STREAM = 48;
const LOSS_STREAM = 49;

/** What the emulator needs: the twin replica and the run's shape. */
export interface EmulatorInput {
  /** One replica run with `detail: true` (its event log is the ground truth). */
  readonly run: RunResult;
  readonly config: TwinConfig;
  /** Sequences per global batch (Megatron's `global batch size`). */
  readonly globalBatchSequences: number;
  readonly sequenceLength: number;
  /** Iteration times (seconds) whose ratios to their median are resampled; absent or empty: no noise. */
  readonly noise?: readonly number[];
  /** Injected faults (emulator-faults.ts `injectFaults`); absent: none. */
  readonly faults?: EmulatorFaults;
}

/** Options of {@link emulateRun}. */
export interface EmulatorOptions {
  /** Iterations per log line (Megatron `--log-interval`); default 1. */
  readonly logInterval?: number;
  /** Most lines; the log interval is raised to stay under it (default {@link MAX_EMULATED_LINES}). */
  readonly maxLines?: number;
  /** How much slower the first iteration after a (re)start is; default 3. */
  readonly firstIterationFactor?: number;
  /** Wall-clock start of the run, milliseconds since the epoch; default 2026-01-01T00:00:00Z. */
  readonly startMs?: number;
}

/** One ground-truth event of the emulated run. */
export interface EmulatedEvent {
  /** Seconds from the start. */
  readonly t: number;
  readonly kind:
    | 'start'
    | 'interruption'
    | 'maintenance'
    | 'waiting'
    | 'resumed'
    | 'checkpoint'
    | 'finished'
    | 'end'
    | 'fault';
  readonly cause?: string;
  /** Iterations completed when it happened. */
  readonly iteration: number;
  /** Interruptions: the checkpoint iteration training resumes from; checkpoints: the one saved. */
  readonly resumeIteration?: number;
  /** Interruptions: it struck while the job was restarting, before any iteration ran, so no log line shows it. */
  readonly duringRestart?: boolean;
  /**
   * Interruptions that struck while training but before the first line since the (re)start was written: their pause
   * merges with the one before (one gap between two lines), so the log cannot show them on their own either.
   */
  readonly unlogged?: boolean;
  /** Faults: the kind injected, its host, its GPUs and when it ends (seconds from the start). */
  readonly fault?: FaultKind;
  readonly host?: string;
  readonly gpus?: readonly number[];
  readonly end?: number;
}

/** An injected fault in `truth.json`, with its wall-clock start and end (ISO 8601, UTC). */
export type TruthFault = InjectedFault & { readonly startTime: string; readonly endTime: string };

/** `truth.json`: the twin's own figures for the run. */
export interface EmulatorTruth {
  readonly seed: number;
  readonly replica: number;
  readonly wallSeconds: number;
  readonly finished: boolean;
  readonly ettr: number;
  readonly goodput: number;
  readonly unexpectedInterruptions: number;
  readonly plannedInterruptions: number;
  readonly interruptionsByCause: Readonly<Record<string, number>>;
  readonly badputSeconds: Readonly<Record<string, number>>;
  readonly stepSeconds: number;
  readonly tokensPerStep: number;
  readonly logInterval: number;
  /** Unexpected interruptions that struck while training ran (the others struck during a restart). */
  readonly interruptionsWhileTraining: number;
  /** Iteration rewinds in the log: lines whose iteration is not above the line before (Megatron resumes). */
  readonly rewinds: number;
  readonly iterations: number;
  readonly lines: number;
  readonly noisePoints: number;
  /** The injected faults (only when faults were given). */
  readonly faults?: readonly TruthFault[];
}

/** The emulated run: the log text, the events as JSON lines, the truth, and notes on what was decided. */
export interface EmulatedRun {
  readonly log: string;
  readonly events: string;
  readonly eventList: readonly EmulatedEvent[];
  readonly truth: EmulatorTruth;
  readonly notes: readonly string[];
}

/** Python's `%E` with six digits (`3.000000E-04`), as Megatron prints rates and losses. */
export function pythonExponent(x: number, digits = 6): string {
  const [mantissa, exponent = '0'] = x.toExponential(digits).toUpperCase().split('E');
  const e = Number(exponent);
  return `${mantissa}E${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

const pad = (n: number, width: number) => String(n).padStart(width, ' ');

/** The noise ratios: the series over its median, with its leading warm-up points (> 1.5 × median) left out. */
export function noiseRatios(series: readonly number[]): number[] {
  const finite = series.filter((x) => Number.isFinite(x) && x > 0);
  const m = median(finite);
  if (m === undefined || !(m > 0)) return [];
  let start = 0;
  while (start < finite.length && (finite[start] as number) > 1.5 * m) start++;
  return finite.slice(start).map((x) => x / m);
}

/** Emulates the telemetry of `input.run`; see the module comment for what is written and how. */
export function emulateRun(input: EmulatorInput, options: EmulatorOptions = {}): EmulatedRun {
  const { run, config, globalBatchSequences, sequenceLength } = input;
  const { summary } = run;
  const notes: string[] = [];
  const step = config.stepSeconds;
  const tokensPerStep = globalBatchSequences * sequenceLength;
  const totalIterations = Math.max(1, Math.ceil(config.totalTokens / tokensPerStep));
  const wall = summary.wallDays * 86400;
  const maxLines = Math.max(1, Math.floor(options.maxLines ?? MAX_EMULATED_LINES));
  let logInterval = Math.max(1, Math.floor(options.logInterval ?? 1));
  // Repeats after rewinds add to the iterations run: a quarter of margin.
  const expected = Math.ceil((1.25 * wall) / step);
  if (expected / logInterval > maxLines) {
    const raised = Math.ceil(expected / maxLines);
    notes.push(`log interval raised from ${logInterval} to ${raised} to keep the log under ${maxLines} lines`);
    logInterval = raised;
  }
  const ratios = noiseRatios(input.noise ?? []);
  if (ratios.length === 0) notes.push('no noise series: every iteration takes the nominal step time');
  const streams = new ReplicaStreams(run.seed, summary.replica);
  const noise = streams.stream(NOISE_STREAM);
  const lossNoise = streams.stream(LOSS_STREAM);
  const firstFactor = Math.max(1, options.firstIterationFactor ?? 3);
  const startMs = options.startMs ?? Date.UTC(2026, 0, 1);

  const lines: string[] = [];
  const events: EmulatedEvent[] = [];
  let now = 0;
  let iteration = 0;
  let checkpointed = 0;
  let nextCheckpoint = Number.POSITIVE_INFINITY;
  let intervalSum = 0;
  let intervalCount = 0;
  let lastLogged = 0;
  let rewinds = 0;
  let whileTraining = 0;
  let first = false;
  let truncated = false;
  let loggedSinceResume = true;

  const stamp = (t: number) => new Date(startMs + Math.round(t * 1000)).toISOString().replace('T', ' ').slice(0, 23);
  const emit = () => {
    const ms = (intervalSum / intervalCount) * 1000;
    const progress = iteration / totalIterations;
    const lr = 3e-4 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
    const loss = 1.7 + 9.3 / Math.sqrt(1 + iteration / 50) + 0.01 * lossNoise.normal();
    const gradNorm = 0.2 + 2 / Math.sqrt(1 + iteration / 20) + 0.02 * lossNoise.uniform();
    if (lines.length >= maxLines) {
      truncated = true;
      return;
    }
    lines.push(
      ` [${stamp(now)}] iteration ${pad(iteration, 8)}/${pad(totalIterations, 8)} | consumed samples: ${pad(iteration * globalBatchSequences, 12)} | elapsed time per iteration (ms): ${ms.toFixed(1)} | learning rate: ${pythonExponent(lr)} | global batch size: ${pad(globalBatchSequences, 5)} | lm loss: ${pythonExponent(loss)} | loss scale: 1.0 | grad norm: ${gradNorm.toFixed(3)} | number of skipped iterations: ${pad(0, 3)} | number of nan iterations: ${pad(0, 3)} |`,
    );
    if (iteration <= lastLogged) rewinds += 1;
    lastLogged = iteration;
    loggedSinceResume = true;
    intervalSum = 0;
    intervalCount = 0;
  };
  // The replica's step speed, read forward: the walk's clock never goes back.
  const segments = run.speedSegments;
  let segment = 0;
  const speedAt = (t: number) => {
    while (segment < segments.length && (segments[segment] as (typeof segments)[number]).end <= t) segment++;
    const s = segments[segment];
    return s !== undefined && s.start <= t ? s.speed : 1;
  };
  // The injected faults' step-time factor, read forward too.
  const faultSegments = input.faults?.stepSegments ?? [];
  let faultSegment = 0;
  const faultFactorAt = (t: number) => {
    while (faultSegment < faultSegments.length && (faultSegments[faultSegment] as { end: number }).end <= t) {
      faultSegment++;
    }
    const s = faultSegments[faultSegment];
    return s !== undefined && s.start <= t ? s.factor : 1;
  };
  const durationOfNext = () => {
    const ratio = ratios.length === 0 ? 1 : (ratios[Math.floor(noise.uniform() * ratios.length)] as number);
    const extra = first ? (firstFactor - 1) * step : 0;
    // Step time = nominal × noise ratio ÷ the job's speed (job.ts: speed = nominal step / step while running),
    // × the injected faults' factor (1 without them: the same bytes).
    const nominal = (step * ratio) / speedAt(now);
    return (faultSegments.length === 0 ? nominal : nominal * faultFactorAt(now)) + extra;
  };
  // The iteration reached when each injected fault starts (faults in start order).
  const injected = [...(input.faults?.faults ?? [])].sort((a, b) => a.start - b.start);
  const faultIterations: number[] = [];
  const passFaults = (before: number) => {
    while (
      faultIterations.length < injected.length &&
      (injected[faultIterations.length] as InjectedFault).start < before
    ) {
      faultIterations.push(iteration);
    }
  };
  const { checkpoint } = config;
  const checkpointGap = checkpoint.mode === 'blocking' ? checkpoint.writeSeconds : checkpoint.stallSeconds;

  /** Runs iterations from `now` until `end` (or the run has trained); true when the workload finished. */
  const runUntil = (end: number): boolean => {
    for (;;) {
      if (iteration >= totalIterations) return true;
      if (now >= nextCheckpoint) {
        if (now + checkpointGap > end) return false; // interrupted while writing: not durable
        now += checkpointGap;
        checkpointed = iteration;
        events.push({ t: now, kind: 'checkpoint', iteration, resumeIteration: iteration });
        nextCheckpoint = now + checkpoint.intervalSeconds;
      }
      const d = durationOfNext();
      if (injected.length > 0) passFaults(Math.min(now + d, end));
      if (now + d > end) return false;
      now += d;
      first = false;
      iteration += 1;
      intervalSum += d;
      intervalCount += 1;
      if (iteration % logInterval === 0 || iteration === totalIterations) emit();
    }
  };
  const resumeAt = (t: number) => {
    // The warm-up of the first iteration comes out of the silent gap.
    now = Math.max(now, t - (firstFactor - 1) * step);
    first = true;
    loggedSinceResume = false;
    intervalSum = 0;
    intervalCount = 0;
    nextCheckpoint = now + checkpoint.intervalSeconds;
  };
  const classOf = new Map(config.classes.map((c) => [c.id, c]));
  const reload = config.restartSeconds + checkpoint.readSeconds;

  events.push({ t: 0, kind: 'start', iteration: 0 });
  let running = false;
  let pending: number = config.restartSeconds;
  let done = false;
  for (const event of run.events) {
    if (done) break;
    if (!running && pending <= event.t) {
      resumeAt(pending);
      running = true;
    }
    if (running && (event.kind === 'interruption' || event.kind === 'maintenance' || event.kind === 'finished')) {
      if (runUntil(event.t)) {
        done = true;
        break;
      }
    }
    if (event.kind === 'interruption') {
      const failure = event.cause === undefined ? undefined : classOf.get(event.cause);
      const detection = failure?.detection === 'hang' ? config.detection.hangSeconds : config.detection.crashSeconds;
      const reached = iteration;
      const duringRestart = !running;
      const unlogged = running && !loggedSinceResume;
      if (running) whileTraining += 1;
      iteration = checkpointed;
      running = false;
      now = Math.max(now, event.t);
      pending = event.t + detection + reload + (failure?.replacesNode ? config.swapSeconds : 0);
      events.push({
        t: event.t,
        kind: 'interruption',
        ...(event.cause !== undefined && { cause: event.cause }),
        iteration: reached,
        resumeIteration: checkpointed,
        ...(duringRestart && { duringRestart }),
        ...(unlogged ? { unlogged } : {}),
      });
    } else if (event.kind === 'maintenance') {
      checkpointed = iteration;
      running = false;
      now = Math.max(now, event.t);
      pending = event.t + reload;
      events.push({ t: event.t, kind: 'maintenance', iteration, resumeIteration: iteration });
    } else if (event.kind === 'waiting') {
      pending = Number.POSITIVE_INFINITY;
      events.push({ t: event.t, kind: 'waiting', iteration });
    } else if (event.kind === 'resumed') {
      pending = event.t + reload + config.swapSeconds;
      events.push({ t: event.t, kind: 'resumed', iteration });
    } else if (event.kind === 'finished') {
      done = true;
    }
  }
  if (!done) {
    if (!running && pending <= wall) {
      resumeAt(pending);
      running = true;
    }
    if (running) done = runUntil(wall);
  }
  events.push({ t: done ? now : wall, kind: done ? 'finished' : 'end', iteration });
  if (injected.length > 0) {
    passFaults(Number.POSITIVE_INFINITY);
    injected.forEach((f, k) => {
      events.push({
        t: f.start,
        kind: 'fault',
        fault: f.kind,
        host: f.host,
        gpus: f.gpus,
        end: f.end,
        iteration: faultIterations[k] as number,
      });
    });
    // Fault lines among the others by time (a stable sort: the others keep their order).
    events.sort((a, b) => a.t - b.t);
  }
  if (run.eventsDropped > 0) notes.push(`the twin dropped ${run.eventsDropped} events; the emulated log stops short`);
  if (run.speedSegmentsDropped > 0) {
    notes.push(`the twin dropped ${run.speedSegmentsDropped} speed segments; past them the log runs at full speed`);
  }
  if (truncated) notes.push(`the log was cut at ${maxLines} lines`);

  const truth: EmulatorTruth = {
    seed: run.seed,
    replica: summary.replica,
    wallSeconds: wall,
    finished: summary.finished,
    ettr: summary.ettr,
    goodput: summary.goodput,
    unexpectedInterruptions: summary.unexpectedInterruptions,
    plannedInterruptions: summary.plannedInterruptions,
    interruptionsWhileTraining: whileTraining,
    interruptionsByCause: summary.interruptionsByCause,
    badputSeconds: Object.fromEntries(BADPUT_CAUSES.map((c) => [c, summary.badputHours[c] * 3600])),
    stepSeconds: step,
    tokensPerStep,
    logInterval,
    rewinds,
    iterations: iteration,
    lines: lines.length,
    noisePoints: ratios.length,
    ...(input.faults !== undefined && {
      faults: input.faults.faults.map((f) => ({
        ...f,
        startTime: new Date(startMs + Math.round(f.start * 1000)).toISOString(),
        endTime: new Date(startMs + Math.round(f.end * 1000)).toISOString(),
      })),
    }),
  };
  return {
    log: lines.length === 0 ? '' : `${lines.join('\n')}\n`,
    events: events.map((e) => JSON.stringify(e)).join('\n') + (events.length > 0 ? '\n' : ''),
    eventList: events,
    truth,
    notes,
  };
}

/** The GPUs a DCGM scrape describes. */
export interface DcgmGpus {
  /** dcgm-exporter `modelName`, e.g. `NVIDIA H100 80GB HBM3`. */
  readonly modelName: string;
  /** Board power while waiting (W): the twin's idle level (src/twin/setup.ts, `GPU_IDLE_POWER_SHARE` × TDP). */
  readonly idleW: number;
  /** Highest SM clock (MHz) and the idle one. */
  readonly maxSmClockMHz?: number;
  readonly idleSmClockMHz?: number;
}

/** Most sample lines all DCGM scrape files hold together; the scrapes are thinned to stay under it. */
export const MAX_DCGM_SAMPLES = 2_000_000;

const DCGM_FIELDS = [
  ['DCGM_FI_DEV_SM_CLOCK', 'SM clock frequency (in MHz).'],
  ['DCGM_FI_DEV_GPU_TEMP', 'GPU temperature (in C).'],
  ['DCGM_FI_DEV_POWER_USAGE', 'Power draw (in W).'],
  ['DCGM_FI_DEV_GPU_UTIL', 'GPU utilization (in %).'],
] as const;

/**
 * The fields written beside those when faults are injected (every GPU of every host, as an exporter configured
 * for them would), with dcgm-exporter's help texts and types (etc/default-counters.csv, dcp-metrics-included.csv).
 */
/* The counters in emulator-faults.ts FAULT_COUNTERS order. */
const FAULT_FIELDS: readonly (readonly [string, string, 'gauge' | 'counter'])[] = [
  ['DCGM_FI_DEV_CLOCKS_EVENT_REASONS', 'Current clock event reasons (bitmask).', 'gauge'],
  ['DCGM_FI_DEV_XID_ERRORS', 'Value of the last XID error encountered.', 'gauge'],
  ['DCGM_FI_DEV_ECC_SBE_VOL_TOTAL', 'Total number of single-bit volatile ECC errors.', 'counter'],
  ['DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', 'Number of remapped rows for correctable errors.', 'counter'],
  ['DCGM_FI_DEV_PCIE_REPLAY_COUNTER', 'Total number of PCIe retries.', 'counter'],
  ['DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL', 'Total number of NVLink flow-control CRC errors.', 'counter'],
];
/** The clock-event bit of an idle GPU (gpu-signals.ts `gpu_idle`). */
const GPU_IDLE_BIT = 0x1;

/**
 * One dcgm-exporter scrape file per host (`dcgm/host-NNNN.prom`): the Prometheus text exposition 0.0.4 of
 * SM clock, temperature, power and utilisation per GPU, one scrape per timeline bucket of the replica, each sample
 * time-stamped (ms) and each family's samples of every scrape in one group (the format declares a family once), labels as dcgm-exporter renders them (`internal/pkg/rendermetrics/render_metrics.go`: `gpu`,
 * `UUID`, `pci_bus_id`, `device`, `modelName`, `Hostname`). A GPU's power is the twin's idle level plus the bucket's
 * busy share of the running-minus-idle facility power spread over the GPUs (src/twin/setup.ts levels), with a
 * seeded ±2% spread per GPU and sample; clock, temperature and utilisation follow the busy share. Scrapes are
 * thinned to keep all files under {@link MAX_DCGM_SAMPLES} sample lines.
 *
 * With `faults`, every GPU also reports its clock-event bitmask, last XID and the error counters of
 * {@link FAULT_FIELDS}, and a faulty GPU's values change at the scrapes inside its fault (emulator-faults.ts); the
 * healthy GPUs' values are those written without faults (the faults draw from their own stream).
 */
export function emulateDcgm(
  input: Pick<EmulatorInput, 'run' | 'config' | 'faults'>,
  gpus: DcgmGpus,
  options: { readonly startMs?: number; readonly maxSamples?: number } = {},
): { readonly files: { readonly name: string; readonly text: string }[]; readonly notes: string[] } {
  const { run, config } = input;
  const { timeline } = run;
  const { power } = config;
  const notes: string[] = [];
  const buckets = timeline.powerMW.mean.length;
  const gpuCount = config.nodes * config.gpusPerNode;
  const { faults } = input;
  const fields: readonly (readonly [string, string, string])[] = [
    ...DCGM_FIELDS.map(([field, help]) => [field, help, 'gauge'] as const),
    ...(faults === undefined ? [] : FAULT_FIELDS),
  ];
  const perScrape = gpuCount * fields.length;
  const maxScrapes = Math.max(1, Math.floor((options.maxSamples ?? MAX_DCGM_SAMPLES) / perScrape));
  const stride = Math.max(1, Math.ceil(buckets / maxScrapes));
  if (stride > 1) notes.push(`DCGM scrapes thinned to one every ${stride} timeline buckets`);
  const startMs = options.startMs ?? Date.UTC(2026, 0, 1);
  const spread = new ReplicaStreams(run.seed, run.summary.replica).stream(NOISE_STREAM + 2);
  const swingMW = power.runningMW - power.idleMW;
  const activeGpuW = swingMW > 0 ? (swingMW * 1e6) / (power.pue * config.gpus) : 0;
  const maxClock = gpus.maxSmClockMHz ?? 1980;
  const idleClock = gpus.idleSmClockMHz ?? 345;
  // One group per metric family and host, every scrape's samples in it (0.0.4: a family's lines form one group).
  const hosts: string[][][] = Array.from({ length: config.nodes }, () => fields.map(() => []));
  // Faults: the effects on each GPU (key host × gpusPerNode + gpu), the counters and last XIDs so far.
  const effects = new Map<number, GpuEffect[]>();
  for (const e of faults?.gpuEffects ?? []) {
    const key = e.host * config.gpusPerNode + e.gpu;
    effects.set(key, [...(effects.get(key) ?? []), e]);
  }
  const counterIndex = new Map<string, number>(FAULT_COUNTERS.map((c, k) => [c, k]));
  const counters = new Map<number, number[]>();
  const xids = new Map<number, number>();
  const errors = faults?.errors ?? [];
  let nextError = 0;
  const modelName = gpus.modelName.replace(/["\\]/g, '\\$&');
  for (let b = 0; b < buckets; b += stride) {
    const mean = timeline.powerMW.mean[b] ?? power.idleMW;
    const busy = swingMW > 0 ? Math.min(1, Math.max(0, (mean - power.idleMW) / swingMW)) : 0;
    const ms = startMs + Math.round((b + 1) * timeline.bucketSeconds * 1000);
    const at = (b + 1) * timeline.bucketSeconds;
    for (; nextError < errors.length && (errors[nextError] as { t: number }).t <= at; nextError++) {
      const e = errors[nextError] as (typeof errors)[number];
      const key = e.host * config.gpusPerNode + e.gpu;
      if ('xid' in e) xids.set(key, e.xid);
      else {
        const row = counters.get(key) ?? FAULT_COUNTERS.map(() => 0);
        const k = counterIndex.get(e.counter) as number;
        row[k] = (row[k] as number) + e.count;
        counters.set(key, row);
      }
    }
    hosts.forEach((groups, host) => {
      const hostname = `host-${String(host).padStart(4, '0')}`;
      const values: number[][] = fields.map(() => []);
      for (let g = 0; g < config.gpusPerNode; g++) {
        const jitter = () => 1 + 0.02 * Math.max(-3, Math.min(3, spread.normal()));
        const key = host * config.gpusPerNode + g;
        const gpuBusy = key < config.gpus ? busy : 0;
        if (faults === undefined) {
          values[0]?.push(Math.round(gpuBusy > 0 ? Math.min(maxClock, maxClock * jitter()) : idleClock));
          values[1]?.push(Math.round((32 + 36 * gpuBusy) * jitter()));
          values[2]?.push(Number(((gpus.idleW + gpuBusy * activeGpuW) * jitter()).toFixed(3)));
          values[3]?.push(Math.min(100, Math.round(100 * gpuBusy * jitter())));
          continue;
        }
        // The same draws in the same order as without faults, then the faults' changes while the GPU is busy.
        const clockJitter = gpuBusy > 0 ? jitter() : 1;
        const temperatureJitter = jitter();
        const powerJitter = jitter();
        const utilisationJitter = jitter();
        let clockFactor = 1;
        let powerFactor = 1;
        let temperature: number | undefined;
        let reasons = gpuBusy > 0 ? 0 : GPU_IDLE_BIT;
        for (const e of gpuBusy > 0 ? (effects.get(key) ?? []) : []) {
          if (at < e.start || at >= e.end) continue;
          clockFactor = Math.min(clockFactor, e.clockFactor);
          powerFactor = Math.min(powerFactor, e.powerFactor);
          if (e.temperatureC !== undefined) temperature = Math.max(temperature ?? 0, e.temperatureC);
          reasons |= e.reasons;
        }
        values[0]?.push(Math.round(gpuBusy > 0 ? Math.min(maxClock, maxClock * clockJitter) * clockFactor : idleClock));
        values[1]?.push(Math.round((32 + ((temperature ?? 68) - 32) * gpuBusy) * temperatureJitter));
        values[2]?.push(Number(((gpus.idleW + gpuBusy * activeGpuW * powerFactor) * powerJitter).toFixed(3)));
        values[3]?.push(Math.min(100, Math.round(100 * gpuBusy * utilisationJitter)));
        values[4]?.push(reasons);
        values[5]?.push(xids.get(key) ?? 0);
        const row = counters.get(key);
        for (let k = 0; k < FAULT_COUNTERS.length; k++) values[6 + k]?.push(row?.[k] ?? 0);
      }
      fields.forEach(([field], f) => {
        const lines = groups[f] as string[];
        (values[f] ?? []).forEach((value, g) => {
          const uuid = `GPU-${String(run.seed >>> 0).padStart(8, '0')}-${String(host).padStart(4, '0')}-${String(g).padStart(4, '0')}`;
          const bus = `00000000:${(0x18 + g * 0x10).toString(16).toUpperCase().padStart(2, '0')}:00.0`;
          lines.push(
            `${field}{gpu="${g}",UUID="${uuid}",pci_bus_id="${bus}",device="nvidia${g}",modelName="${modelName}",Hostname="${hostname}"} ${value} ${ms}`,
          );
        });
      });
    });
  }
  return {
    files: hosts.map((groups, host) => ({
      name: `dcgm/host-${String(host).padStart(4, '0')}.prom`,
      text: fields
        .map(
          ([field, help, type], f) =>
            `# HELP ${field} ${help}\n# TYPE ${field} ${type}\n${(groups[f] ?? []).join('\n')}\n`,
        )
        .join(''),
    })),
    notes,
  };
}
