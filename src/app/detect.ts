/**
 * The `observe --detect` use case: the detectors of src/detect/ run over what was observed of a run (its steps,
 * Megatron's straggler lines, its GPUs' dcgm samples in time order), and the actions they call for, each with its
 * reason and the twin's expected gain (ETTR over the run with and without the policy that takes it, on the same
 * seeds: src/twin/study.ts `compareMitigation`).
 *
 * Actions:
 * - a straggler or a fail-slow change localised to a host → `drain-host` (the twin's straggler policy: detected
 *   slow hosts are drained at a clean stop and swapped for a spare);
 * - a host at failure risk → `swap-host`: checkpoint now and restart on a spare (the twin's prediction policy);
 * - a fail-slow change not yet tied to a host → `checkpoint-now`, so that a restart to shed it costs no work;
 * - stalls and recoveries call for nothing (they are reported; a webhook gets them as detections);
 * - a failure rate observed off the plan's (restarts per hour) so that Young's interval τ = √(2 δ M) (Young 1974)
 *   for the observed mean time between restarts M and the checkpoint's stall δ is off the planned interval by more
 *   than a quarter → `set-checkpoint-interval`, its gain from the twin at the observed rate (`failureScale`);
 * - a GPU hotter than the job's others → `cap-power` (a cap at 85 % of the board limit: a planner assumption, the
 *   H100's clock holds near its top under such a cap in ../shared/data/telemetry/h100-power-2026-11-25.csv).
 *
 * Pure: no Node APIs.
 * @module
 */
import { FailureRiskDetector } from '../detect/failure-risk.js';
import { StepTimeDetector } from '../detect/step-time.js';
import { gpuSignalDetector, type RankStragglerDetector } from '../detect/stragglers.js';
import type { Action, Detection, ExpectedGain } from '../detect/types.js';
import type { Result } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { withoutMitigation } from '../spec/twin.js';
import type { StepPoint } from '../telemetry/megatron-ci.js';
import type { StragglerReport } from '../telemetry/megatron-straggler.js';
import { expectedFailures, twinConfig } from '../twin/setup.js';
import { compareMitigation } from '../twin/study.js';
import { designOf } from './design.js';
import type { Ports, UseCaseOptions } from './ports.js';

/** Most detections kept (the rest are counted). */
export const MAX_DETECTIONS = 10_000;
/** A Megatron straggler line flags its slowest rank when the fastest is below this share of it (a 10 % straggler). */
export const MEGATRON_RTT_SCORE = 1 / 1.1;
/** … in this many consecutive lines (persistence stands in for a noise model: the lines give only the extremes). */
export const MEGATRON_PERSISTENCE = 3;
/** Power cap proposed for a hot GPU: 85 % of its board limit (planner assumption, see the module note). */
export const HOT_GPU_CAP_SHARE = 0.85;

/** Samples this close in time to a scrape's first belong to that scrape (a third of dcgm-exporter's 15 s default). */
export const SCRAPE_GROUP_SECONDS = 5;

/** dcgm fields the detectors read. */
const FIELD = {
  smClock: 'DCGM_FI_DEV_SM_CLOCK',
  temperature: 'DCGM_FI_DEV_GPU_TEMP',
  xid: 'DCGM_FI_DEV_XID_ERRORS',
} as const;
/** dcgm counters of the failure-risk score, by the event kind they count. */
const COUNTERS = {
  DCGM_FI_DEV_ECC_SBE_VOL_TOTAL: 'ecc-sbe',
  DCGM_FI_DEV_ECC_DBE_VOL_TOTAL: 'ecc-dbe',
  DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS: 'row-remap',
  DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS: 'row-remap-failure',
  DCGM_FI_DEV_ROW_REMAP_FAILURE: 'row-remap-failure',
  DCGM_FI_DEV_PCIE_REPLAY_COUNTER: 'pcie-replay',
  DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL: 'nvlink-error',
  DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL: 'nvlink-error',
} as const;

/** The dcgm fields `observe --detect` reads from the store. */
export const DETECT_FIELDS: readonly string[] = [...Object.values(FIELD), ...Object.keys(COUNTERS)];

/** One GPU sample in time order. */
export interface GpuSample {
  readonly time: number;
  readonly gpuKey: string;
  readonly hostname?: string | undefined;
  readonly field: string;
  readonly value: number;
}

/**
 * The GPU detectors over dcgm samples fed in time order: per-GPU straggler signals (SM clock, temperature) per
 * scrape, and the failure risk per host from XIDs and counters.
 */
export class GpuDetectors {
  readonly risk = new FailureRiskDetector();
  private signals: { clock: RankStragglerDetector; temperature: RankStragglerDetector } | undefined;
  private gpus: { gpu: string; host: string }[] = [];
  private readonly index = new Map<string, number>();
  private scrape: { time: number; clock: Map<string, number>; temperature: Map<string, number> } | undefined;
  /** GPUs first seen after the first scrape (left out of the straggler signals). */
  lateGpus = 0;
  /** Start times of the last scrapes (at most 64), for the scrape interval. */
  private readonly scrapeTimes: number[] = [];
  samples = 0;

  push(sample: GpuSample): void {
    const { time, gpuKey, field, value } = sample;
    if (!Number.isFinite(time) || !Number.isFinite(value)) return;
    this.samples++;
    const host = sample.hostname ?? gpuKey;
    // Hosts are scraped at their own moments: samples within SCRAPE_GROUP_SECONDS of a scrape's first are that scrape.
    if (this.scrape !== undefined && Math.abs(time - this.scrape.time) >= SCRAPE_GROUP_SECONDS) this.flush();
    this.scrape ??= { time, clock: new Map(), temperature: new Map() };
    if (field === FIELD.smClock) this.scrape.clock.set(gpuKey, value);
    else if (field === FIELD.temperature) {
      this.scrape.temperature.set(gpuKey, value);
      this.risk.temperature(host, gpuKey, time, value);
    } else if (field === FIELD.xid) this.risk.xidGauge(host, gpuKey, time, value);
    else {
      const kind = COUNTERS[field as keyof typeof COUNTERS];
      if (kind !== undefined) this.risk.counter(host, gpuKey, kind, time, value);
    }
    if (!this.index.has(gpuKey) && (field === FIELD.smClock || field === FIELD.temperature)) {
      if (this.signals === undefined) {
        this.index.set(gpuKey, this.gpus.length);
        this.gpus.push({ gpu: gpuKey, host });
      } else {
        this.index.set(gpuKey, -1);
        this.lateGpus++;
      }
    }
  }

  /** The median time between scrapes so far (0 before two). */
  scrapeSeconds(): number {
    const gaps = this.scrapeTimes.slice(1).map((t, i) => t - (this.scrapeTimes[i] as number));
    return gaps.length === 0 ? 0 : (gaps.sort((a, b) => a - b)[gaps.length >> 1] as number);
  }

  /** Ends the scrape being read (call once after the last sample). */
  flush(): void {
    const scrape = this.scrape;
    this.scrape = undefined;
    if (scrape !== undefined) {
      this.scrapeTimes.push(scrape.time);
      if (this.scrapeTimes.length > 64) this.scrapeTimes.shift();
    }
    if (scrape === undefined || this.gpus.length < 2) return;
    this.signals ??= {
      clock: gpuSignalDetector(this.gpus, 'smClock'),
      temperature: gpuSignalDetector(this.gpus, 'temperature'),
    };
    for (const [values, detector] of [
      [scrape.clock, this.signals.clock],
      [scrape.temperature, this.signals.temperature],
    ] as const) {
      if (values.size === 0) continue;
      const row = new Float64Array(this.gpus.length).fill(Number.NaN);
      for (const [gpu, value] of values) {
        const at = this.index.get(gpu);
        if (at !== undefined && at >= 0) row[at] = value;
      }
      detector.pushIteration(scrape.time, row);
    }
  }

  get detections(): Detection[] {
    return [
      ...(this.signals?.clock.detections ?? []),
      ...(this.signals?.temperature.detections ?? []),
      ...this.risk.detections,
    ];
  }
}

/** Stragglers from Megatron's straggler lines: the rank slowest in {@link MEGATRON_PERSISTENCE} lines in a row. */
export function megatronStragglers(reports: readonly StragglerReport[]): Detection[] {
  const out: Detection[] = [];
  let run = 0;
  let rank = -1;
  let flagged = -1;
  for (const report of reports) {
    const rtt = report.metrics.Rtt;
    if (rtt === undefined || !(rtt.max > 0)) continue;
    const score = rtt.min / rtt.max;
    if (score >= MEGATRON_RTT_SCORE) {
      run = 0;
      flagged = -1;
      continue;
    }
    run = rtt.maxRank === rank ? run + 1 : 1;
    rank = rtt.maxRank;
    if (run < MEGATRON_PERSISTENCE || flagged === rank) continue;
    flagged = rank;
    out.push({
      kind: 'straggler',
      time: report.time ?? report.line,
      rank,
      score,
      threshold: MEGATRON_RTT_SCORE,
      severity: score < 0.75 ? 'critical' : 'warning',
      evidence: `rank ${rank} was the slowest in ${run} straggler lines in a row: its section time ${rtt.max.toFixed(1)} ms against the fastest rank's ${rtt.min.toFixed(1)} ms (score ${score.toFixed(3)}, line ${report.line})`,
      signals: { maxMs: rtt.max, minMs: rtt.min, line: report.line },
    });
  }
  return out;
}

/** A fail-slow change is tied to a host whose GPU was flagged within this many seconds of it. */
export const LOCALISE_SECONDS = 120;

/**
 * Fail-slow changes tied to a host where per-GPU data exists: the host of a GPU straggler detection from
 * {@link LOCALISE_SECONDS} (or two scrape intervals, if longer) before the change point to as long after the
 * decision, the nearest to the change point; the others unchanged. The log's
 * time stamps and the scrapes' must share a clock (Unix seconds).
 */
export function localise(
  stepDetections: readonly Detection[],
  gpuDetections: readonly Detection[],
  scrapeSeconds = 0,
): Detection[] {
  // A GPU is flagged at a scrape after the change: the window is at least two scrape intervals.
  const bound = Math.max(LOCALISE_SECONDS, 2 * scrapeSeconds);
  return stepDetections.map((d) => {
    if (d.kind !== 'fail-slow' || (d.signals?.shift ?? 0) <= 0 || gpuDetections.length === 0) return d;
    let nearest: Detection | undefined;
    // From the change point's time to the decision's: the GPU may have been flagged at the onset.
    const from = (d.signals?.changeTime ?? d.time) - bound;
    const to = d.time + bound;
    const distance = (g: Detection) => Math.abs(g.time - (d.signals?.changeTime ?? d.time));
    for (const g of gpuDetections) {
      if (g.host === undefined || g.kind !== 'straggler' || g.time < from || g.time > to) continue;
      if (nearest === undefined || distance(g) < distance(nearest)) nearest = g;
    }
    if (nearest === undefined) return d;
    return {
      ...d,
      host: nearest.host as string,
      ...(nearest.gpu !== undefined && { gpu: nearest.gpu }),
      evidence: `${d.evidence}; localised to ${nearest.host}: ${nearest.evidence}`,
    };
  });
}

/** What `observe --detect` found and proposes. */
export interface DetectOutcome {
  readonly detections: readonly Detection[];
  /** Detections past {@link MAX_DETECTIONS}, counted only. */
  readonly moreDetections: number;
  readonly actions: readonly Action[];
  readonly counts: Readonly<Record<Detection['kind'], number>>;
  readonly notes: readonly string[];
}

/** What the detectors read. */
export interface DetectInput {
  readonly spec: ResolvedSpec;
  readonly steps: readonly StepPoint[];
  readonly stragglerReports?: readonly StragglerReport[];
  /** The GPU detectors, already fed (the caller streams the samples in time order). */
  readonly gpu?: GpuDetectors;
  /**
   * Detections made elsewhere on aggregates (observe's fleet mode: the per-host SM-clock straggler signal a PromQL
   * server computed, src/node/prometheus-fleet.ts), taken as they are.
   */
  readonly detections?: readonly Detection[];
  /** Restarts and hours observed (observe's KPIs), for the checkpoint interval. */
  readonly observed?: { readonly restarts: number; readonly hours: number };
  /** Twin replicas for the expected gains (0: none). */
  readonly replicas: number;
  readonly seed: number;
}

/** Runs the detectors over the observed run and proposes actions with the twin's expected gains. */
export async function runDetect(
  input: DetectInput,
  ports: Ports,
  options: UseCaseOptions = {},
): Promise<Result<DetectOutcome>> {
  const design = await designOf(input.spec, ports.runner, { ...(options.signal && { signal: options.signal }) });
  if (!design.ok) return design;
  const notes: string[] = [];
  const steps = new StepTimeDetector();
  for (const p of input.steps) {
    if (p.iterationSeconds !== undefined)
      steps.push({ step: p.step, seconds: p.iterationSeconds, time: p.time ?? p.step });
  }
  const gpuDetections = input.gpu?.detections ?? [];
  const all = [
    ...localise(steps.detections, gpuDetections, input.gpu?.scrapeSeconds() ?? 0),
    ...megatronStragglers(input.stragglerReports ?? []),
    ...gpuDetections,
    ...(input.detections ?? []),
  ];
  all.sort((a, b) => a.time - b.time);
  if ((input.gpu?.lateGpus ?? 0) > 0) {
    notes.push(
      `${input.gpu?.lateGpus} GPUs appeared after the first scrape and were left out of the per-GPU straggler scores`,
    );
  }
  const counts = { straggler: 0, 'fail-slow': 0, stall: 0, 'failure-risk': 0 };
  for (const d of all) counts[d.kind]++;
  // The twin's expected gains: one comparison per policy an action calls for.
  const base = withoutMitigation(input.spec.twin);
  /** ETTR of the twin under `withSettings` against `withoutSettings`, on the same seeds. */
  const pairedGain = (
    withoutSettings: typeof base,
    withSettings: typeof base,
    label: string,
  ): ExpectedGain | undefined => {
    if (input.replicas <= 0) return undefined;
    const without = twinConfig(design.value, withoutSettings);
    const withPolicy = twinConfig(design.value, withSettings);
    if (!without.ok || !withPolicy.ok) return undefined;
    const comparison = compareMitigation(without.value, withPolicy.value, {
      replicas: input.replicas,
      seed: input.seed,
    });
    return {
      ettrWithout: comparison.without.ettr.mean,
      ettrWith: comparison.with.ettr.mean,
      basis: `twin, ${input.replicas} replicas of ${design.value.name} with and without ${label}, same seeds`,
    };
  };
  const gain = (mitigation: Record<string, unknown>, label: string) =>
    pairedGain(base, { ...base, mitigation } as typeof base, label);
  const gains = new Map<string, ExpectedGain | undefined>();
  const cached = (key: string, mitigation: Record<string, unknown>, label: string) => {
    if (!gains.has(key)) gains.set(key, gain(mitigation, label));
    return gains.get(key);
  };
  const actions: Action[] = [];
  /** Hosts with an action of each kind already (one drain, one cap, one swap per host). */
  const acted = { drain: new Set<string>(), cap: new Set<string>() };
  for (const d of all) {
    const hot = d.kind === 'straggler' && d.signals?.hot === 1;
    const done = hot ? acted.cap : acted.drain;
    if (d.kind === 'straggler' && d.host !== undefined && !done.has(d.host)) {
      done.add(d.host);
      const expectedGain = cached('stragglers', { stragglers: { detectMinutes: 1 } }, 'draining detected slow hosts');
      actions.push({
        kind: hot ? 'cap-power' : 'drain-host',
        host: d.host,
        reason: hot
          ? `${d.gpu} runs hotter than the job's other GPUs; a cap at ${HOT_GPU_CAP_SHARE * 100} % of its board limit keeps its clock steady`
          : `${d.host} slows the job: ${d.evidence}`,
        detections: [d],
        ...(hot && { parameters: { powerCapShare: HOT_GPU_CAP_SHARE } }),
        ...(expectedGain && !hot && { expectedGain }),
        time: d.time,
      });
    } else if (d.kind === 'failure-risk' && d.host !== undefined) {
      const expectedGain = cached(
        'prediction',
        { prediction: { recall: 0.5, precision: 0.85, leadMinutes: 60 } },
        'checkpointing on predicted failures (recall 0.5, precision 0.85, 1 h ahead)',
      );
      actions.push({
        kind: 'swap-host',
        host: d.host,
        reason: `${d.host} is at failure risk: checkpoint now and restart on a spare, so that its failure costs no work (${d.evidence})`,
        detections: [d],
        ...(expectedGain && { expectedGain }),
        time: d.time,
      });
    } else if (d.kind === 'fail-slow' && (d.signals?.shift ?? 0) > 0 && d.host !== undefined) {
      if (!acted.drain.has(d.host)) {
        acted.drain.add(d.host);
        const expectedGain = cached('stragglers', { stragglers: { detectMinutes: 1 } }, 'draining detected slow hosts');
        actions.push({
          kind: 'drain-host',
          host: d.host,
          reason: `the job slowed down with ${d.host}: ${d.evidence}`,
          detections: [d],
          ...(expectedGain && { expectedGain }),
          time: d.time,
        });
      }
    } else if (d.kind === 'fail-slow' && (d.signals?.shift ?? 0) > 0) {
      actions.push({
        kind: 'checkpoint-now',
        reason: `the job slowed down and no host is named yet: save now, so that a restart that sheds the slow part loses nothing (${d.evidence})`,
        detections: [d],
        time: d.time,
      });
    }
  }
  // Young's interval for the observed failure rate, when it is off the plan's by more than a quarter.
  const observed = input.observed;
  const planned = twinConfig(design.value, base);
  if (observed !== undefined && observed.restarts > 0 && observed.hours > 0 && planned.ok) {
    const mtbfSeconds = (observed.hours * 3600) / observed.restarts;
    // δ: what a checkpoint stops training for (the write when blocking, the snapshot when asynchronous).
    const delta = planned.value.checkpoint.stallSeconds;
    // Young (1974): the interval that minimises lost work plus checkpoint cost, τ = √(2 δ M).
    const young = Math.sqrt(2 * delta * mtbfSeconds);
    const current = planned.value.checkpoint.intervalSeconds;
    if (Math.abs(young - current) / current > 0.25) {
      // The twin at the observed failure rate, with the planned interval against Young's.
      const runSeconds = planned.value.windowSeconds ?? planned.value.idealSeconds;
      const modelled = planned.value.classes.reduce((sum, c) => sum + expectedFailures(c, runSeconds), 0) / runSeconds;
      const scale = modelled > 0 ? Math.min(1000, 1 / mtbfSeconds / modelled) : undefined;
      const atObserved = { ...base, ...(scale !== undefined && { failureScale: scale }) } as typeof base;
      const expectedGain =
        scale === undefined
          ? undefined
          : pairedGain(
              atObserved,
              { ...atObserved, checkpoint: { ...atObserved.checkpoint, intervalMinutes: young / 60 } } as typeof base,
              "Young's interval at the observed failure rate",
            );
      actions.push({
        kind: 'set-checkpoint-interval',
        reason: `${observed.restarts} restarts in ${observed.hours.toFixed(1)} h (one every ${(mtbfSeconds / 3600).toFixed(2)} h): Young's interval √(2 × ${delta.toFixed(0)} s × ${mtbfSeconds.toFixed(0)} s) = ${(young / 60).toFixed(1)} min, against ${(current / 60).toFixed(1)} min planned`,
        detections: [],
        parameters: { intervalSeconds: young, currentSeconds: current, mtbfSeconds },
        ...(expectedGain && { expectedGain }),
        time: input.steps.at(-1)?.time ?? input.steps.at(-1)?.step ?? 0,
      });
    }
  }
  const kept = all.slice(0, MAX_DETECTIONS);
  return {
    ok: true,
    value: { detections: kept, moreDetections: all.length - kept.length, actions, counts, notes },
  };
}
