/**
 * Labelled emulated runs for measuring the detectors: a job's per-rank section times and step times with faults
 * injected at known ranks, times and sizes, and the labels (the ground truth) beside them.
 *
 * The noise comes from a real iteration-time series (the Megatron CI golden values, `../shared/data/telemetry/`):
 * - the step's common part (what every rank sees: data loading, a slow collective, a hiccup) is a ratio to the
 *   series' median resampled from the series, its heavy tail included;
 * - a rank's own part is log-normal with σ = 1.4826 × the MAD of the series' log ratios, the Gaussian core of the
 *   same series. This is a modelling choice (no public per-rank section times were found): the series' spikes are
 *   job-wide in a synchronous job, so they go in the common part, and ranks differ by the core's width.
 * Faults:
 * - a straggler: one rank's section time × a slowdown (default uniform in [1.1, 2]), from an onset to the end of
 *   the run; the step then takes the slowest rank's time;
 * - fail-slow: the step time × a factor (default uniform in [1.2, 2], Greyhound's mean JCT slowdown is 1.34) for an
 *   episode of 100–400 iterations.
 *
 * Pure: no Node APIs. The same seed gives the same run.
 * @module
 */
import type { RandomStream } from '../sim/index.js';
import { MAD_TO_SIGMA, sortedMad, sortedMedian } from './window.js';

/** Ratios to the median of a real iteration-time series, and the width of its Gaussian core in log space. */
export interface NoiseModel {
  /** Where the series comes from (a file name). */
  readonly source: string;
  readonly ratios: readonly number[];
  /** 1.4826 × MAD of the log ratios. */
  readonly sigma: number;
}

/** A noise model from a series of iteration times (seconds; non-positive and non-finite ones are left out). */
export function noiseModel(source: string, seconds: readonly number[]): NoiseModel {
  const valid = seconds.filter((s) => Number.isFinite(s) && s > 0).sort((a, b) => a - b);
  if (valid.length < 10) throw new RangeError(`${source}: ${valid.length} iteration times; at least 10 are needed`);
  const median = sortedMedian(valid) as number;
  const ratios = valid.map((s) => s / median);
  const logs = ratios.map(Math.log);
  return { source, ratios, sigma: MAD_TO_SIGMA * sortedMad(logs, 0) };
}

/** One injected straggler. */
export interface StragglerFault {
  readonly rank: number;
  /** Run seconds when it starts; it lasts to the end of the run. */
  readonly onset: number;
  readonly slowdown: number;
}

/** Settings of one straggler run. */
export interface StragglerRunSettings {
  readonly ranks: number;
  /** The step's nominal time (the model's estimate). */
  readonly stepSeconds: number;
  readonly durationSeconds: number;
  readonly faults: number;
  /** Slowdowns drawn uniformly in this range (default [1.1, 2]). */
  readonly slowdown?: readonly [number, number];
  /** No onset before this many seconds (default 60: the detectors' window fills first). */
  readonly quietSeconds?: number;
  readonly noise: NoiseModel;
}

/**
 * Runs one labelled straggler run: `onIteration(time, sections)` gets each iteration's per-rank section times (the
 * array is reused: copy it to keep it). Returns the faults injected.
 */
export function emulateStragglerRun(
  settings: StragglerRunSettings,
  random: RandomStream,
  onIteration: (time: number, sections: Float64Array) => void,
): StragglerFault[] {
  const { ranks, stepSeconds, durationSeconds, noise } = settings;
  const [low, high] = settings.slowdown ?? [1.1, 2];
  const quiet = settings.quietSeconds ?? 60;
  const faults: StragglerFault[] = [];
  const taken = new Set<number>();
  for (let f = 0; f < Math.min(settings.faults, ranks - 1); f++) {
    let rank = Math.floor(random.uniform() * ranks);
    while (taken.has(rank)) rank = (rank + 1) % ranks;
    taken.add(rank);
    const onset = quiet + random.uniform() * Math.max(0, durationSeconds - quiet - 90);
    faults.push({ rank, onset, slowdown: low + random.uniform() * (high - low) });
  }
  const slow = new Float64Array(ranks).fill(1);
  const sections = new Float64Array(ranks);
  const pending = [...faults].sort((a, b) => a.onset - b.onset);
  let time = 0;
  while (time < durationSeconds) {
    while (pending.length > 0 && (pending[0] as StragglerFault).onset <= time) {
      const fault = pending.shift() as StragglerFault;
      slow[fault.rank] = fault.slowdown;
    }
    const common = noise.ratios[Math.floor(random.uniform() * noise.ratios.length)] as number;
    let slowest = 0;
    for (let r = 0; r < ranks; r++) {
      const s = stepSeconds * common * Math.exp(noise.sigma * random.normal()) * (slow[r] as number);
      sections[r] = s;
      if (s > slowest) slowest = s;
    }
    // A synchronous step ends when its slowest rank does.
    time += slowest;
    onIteration(time, sections);
  }
  return faults;
}

/** One injected fail-slow episode (iterations are 1-based). */
export interface FailSlowFault {
  readonly onsetStep: number;
  readonly endStep: number;
  readonly factor: number;
}

/** Settings of one fail-slow run. */
export interface FailSlowRunSettings {
  readonly iterations: number;
  readonly stepSeconds: number;
  /** Factors drawn uniformly in this range (default [1.2, 2]). */
  readonly factor?: readonly [number, number];
  /** Episode lengths drawn uniformly in this range of iterations (default [100, 400]). */
  readonly length?: readonly [number, number];
  readonly noise: NoiseModel;
}

/** One labelled fail-slow run: its step times (seconds, index i is iteration i + 1) and its one episode. */
export function emulateFailSlowRun(
  settings: FailSlowRunSettings,
  random: RandomStream,
): { seconds: Float64Array; fault: FailSlowFault } {
  const { iterations, stepSeconds, noise } = settings;
  const [low, high] = settings.factor ?? [1.2, 2];
  const [shortest, longest] = settings.length ?? [100, 400];
  const length = Math.round(shortest + random.uniform() * (longest - shortest));
  const earliest = Math.min(300, Math.floor(iterations / 4));
  const onsetStep = earliest + Math.floor(random.uniform() * Math.max(1, iterations - length - earliest));
  const fault = {
    onsetStep,
    endStep: Math.min(iterations, onsetStep + length - 1),
    factor: low + random.uniform() * (high - low),
  };
  const seconds = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const ratio = noise.ratios[Math.floor(random.uniform() * noise.ratios.length)] as number;
    const step = i + 1;
    seconds[i] = stepSeconds * ratio * (step >= fault.onsetStep && step <= fault.endStep ? fault.factor : 1);
  }
  return { seconds, fault };
}

/** Background error rates of a healthy host and the precursors of a failing one (planner assumptions). */
export interface HostErrorModel {
  /** Failures per host-day (default 0.0038: Llama 3 405B, 419 interruptions in 54 days on 2,048 hosts). */
  readonly failuresPerHostDay: number;
  /** Share of failures with an error burst before them (default 0.5; the 504-GPU B200 study saw 2 of 10 before the XID). */
  readonly precursorShare: number;
  /** Lead of the burst before the failure, hours, uniform in this range (default [0.5, 12]). */
  readonly leadHours: readonly [number, number];
  /** Error events per hour during a burst (default 3). */
  readonly burstEventsPerHour: number;
  /**
   * Share of hosts that emit errors at {@link HostErrorModel.noisyFactor} × the background without failing more
   * (chronic correctable errors, a flaky link): the false alarms a predictor must tell apart (default 5 %).
   */
  readonly noisyShare: number;
  readonly noisyFactor: number;
  /** Background events per host-day, by kind (defaults: correctable ECC 1/week, PCIe replays 1/2 weeks, NVLink 1/month, application XIDs 1/3 days, thermal excursions 1/month). */
  readonly backgroundPerHostDay: Readonly<
    Record<'ecc-sbe' | 'pcie-replay' | 'nvlink-error' | 'xid-app' | 'thermal', number>
  >;
}

export const DEFAULT_HOST_ERROR_MODEL: HostErrorModel = {
  failuresPerHostDay: 419 / 54 / 2048,
  precursorShare: 0.5,
  leadHours: [0.5, 12],
  burstEventsPerHour: 3,
  noisyShare: 0.05,
  noisyFactor: 20,
  backgroundPerHostDay: {
    'ecc-sbe': 1 / 7,
    'pcie-replay': 1 / 14,
    'nvlink-error': 1 / 30,
    'xid-app': 1 / 3,
    thermal: 1 / 30,
  },
};

/** One emulated error event on a host. */
export interface HostErrorEvent {
  readonly time: number;
  readonly host: number;
  readonly event:
    | { readonly kind: 'xid'; readonly code: number }
    | { readonly kind: 'ecc-sbe' | 'row-remap' | 'pcie-replay' | 'nvlink-error' | 'thermal'; readonly count: number };
}

/** A host failure of the labelled run (the host is replaced: its later events are a new host's). */
export interface HostFailure {
  readonly time: number;
  readonly host: number;
  readonly precursor: boolean;
}

/** Precursor event kinds and their shares in a burst (planner assumption). */
const BURST_KINDS = [
  [0.4, { kind: 'ecc-sbe', count: 1 }],
  [0.2, { kind: 'pcie-replay', count: 2 }],
  [0.15, { kind: 'row-remap', count: 1 }],
  [0.15, { kind: 'nvlink-error', count: 1 }],
  [0.1, { kind: 'xid', code: 92 }],
] as const;

/**
 * One labelled fleet run for the failure-risk detector: `hosts` hosts over `days`, background errors on every host,
 * failures at the model's rate, a precursor burst before a share of them. Events come sorted by time; host ids of
 * a replaced host continue past `hosts`.
 */
export function emulateHostErrors(
  hosts: number,
  days: number,
  model: HostErrorModel,
  random: RandomStream,
): { events: HostErrorEvent[]; failures: HostFailure[] } {
  const end = days * 86_400;
  const events: HostErrorEvent[] = [];
  const failures: HostFailure[] = [];
  let nextId = hosts;
  const slot = Array.from({ length: hosts }, (_, h) => h);
  for (let s = 0; s < hosts; s++) {
    let start = 0;
    while (start < end) {
      const host = slot[s] as number;
      const failAt = start + random.exponential(86_400 / model.failuresPerHostDay);
      const until = Math.min(failAt, end);
      const factor = random.bernoulli(model.noisyShare) ? model.noisyFactor : 1;
      for (const [kind, base] of Object.entries(model.backgroundPerHostDay)) {
        const perDay = base * factor;
        for (let t = start + random.exponential(86_400 / perDay); t < until; t += random.exponential(86_400 / perDay)) {
          const event =
            kind === 'xid-app'
              ? ({ kind: 'xid', code: [13, 31, 43][Math.floor(random.uniform() * 3)] as number } as const)
              : ({
                  kind: kind as 'ecc-sbe',
                  count: kind === 'pcie-replay' ? 1 + Math.floor(random.exponential(4)) : 1,
                } as const);
          events.push({ time: t, host, event });
        }
      }
      if (failAt >= end) break;
      const precursor = random.bernoulli(model.precursorShare);
      if (precursor) {
        const [low, high] = model.leadHours;
        const lead = (low + random.uniform() * (high - low)) * 3600;
        for (
          let t = Math.max(start, failAt - lead) + random.exponential(3600 / model.burstEventsPerHour);
          t < failAt;
        ) {
          let u = random.uniform();
          let chosen: HostErrorEvent['event'] = BURST_KINDS[0][1];
          for (const [share, event] of BURST_KINDS) {
            if (u < share) {
              chosen = event;
              break;
            }
            u -= share;
          }
          events.push({ time: t, host, event: chosen });
          t += random.exponential(3600 / model.burstEventsPerHour);
        }
      }
      failures.push({ time: failAt, host, precursor });
      // The failed host is replaced by a fresh one.
      slot[s] = nextId++;
      start = failAt;
    }
  }
  events.sort((a, b) => a.time - b.time);
  return { events, failures };
}
