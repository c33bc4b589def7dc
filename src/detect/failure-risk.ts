/**
 * Failure risk per host from its GPUs' error signals: XID codes by class, ECC and row-remap counters, PCIe replays,
 * NVLink errors and thermal excursions, as dcgm-exporter reports them (operate.md §1.1: `DCGM_FI_DEV_XID_ERRORS` is
 * the last XID, a gauge; the ECC, remap, replay and NVLink fields are counters that need deltas and reset handling).
 *
 * The score is a decayed weighted count of error events (an exponentially weighted moving sum, time constant
 * {@link DECAY_SECONDS}): each event adds its class's weight and the sum decays as e^(−Δt/τ). A host is flagged
 * when its score reaches 1: one fatal-class event (an uncorrectable ECC error, a GPU off the bus) on its own, or a
 * burst of lesser ones (correctable errors, remaps, replays) within about τ. The weights are planner assumptions
 * ranked by NVIDIA's XID catalog's severity (which XIDs call for a reset or a node drain) and are stated in
 * {@link EVENT_WEIGHTS}; XIDs the catalog attributes to the application (13, 31, 43, 45) weigh nothing. A flagged host
 * is re-armed after {@link REARM_SECONDS} without a new flag, so one episode is one detection.
 *
 * Counters: a value below the previous one is a reset (the counter restarted at 0; its new value is the delta).
 *
 * Pure: no Node APIs. Memory: one record per host and counter.
 * @module
 */
import { type Detection, keep, MAX_KEPT_DETECTIONS } from './types.js';

/** The score's decay time constant: two hours (a burst within hours, not a month's trickle, predicts a failure). */
export const DECAY_SECONDS = 2 * 3600;
/** A flagged host is not flagged again for a day. */
export const REARM_SECONDS = 24 * 3600;
/** The score at which a host is flagged. */
export const RISK_THRESHOLD = 1;
/** A GPU temperature above this is a thermal excursion (H100 slowdown temperature is about 87–90 °C; assumption). */
export const THERMAL_EXCURSION_C = 87;
/** Degrees below the excursion temperature that end an excursion. */
export const THERMAL_HYSTERESIS_C = 3;

/** The error events the score counts. */
export type ErrorEvent =
  | { readonly kind: 'xid'; readonly code: number }
  | {
      readonly kind:
        | 'ecc-sbe'
        | 'ecc-dbe'
        | 'row-remap'
        | 'row-remap-failure'
        | 'pcie-replay'
        | 'nvlink-error'
        | 'thermal';
      readonly count: number;
    };

/**
 * Weight per event (planner assumptions, ranked by the NVIDIA XID catalog's resolution for each code: reset the
 * GPU or drain the node weighs 1, a correctable error weighs a fifth or less). XID classes:
 * 48 double-bit ECC, 79 fallen off the bus, 94/95 contained/uncontained ECC, 119/120 GSP errors, 64 row-remap
 * failure: fatal (1); 63 row remap pending, 92 high single-bit ECC rate, 74 NVLink error: 0.5; others not listed: 0.2;
 * application XIDs 13, 31, 43, 45: 0.
 */
export const EVENT_WEIGHTS = {
  xidFatal: 1,
  xidSerious: 0.5,
  xidOther: 0.2,
  'ecc-dbe': 1,
  'row-remap-failure': 1,
  'row-remap': 0.5,
  'ecc-sbe': 0.2,
  'nvlink-error': 0.2,
  'pcie-replay': 0.1,
  thermal: 0.3,
} as const;

/** Events one counter reading counts for at most. */
const MAX_COUNT_PER_READING = 3;

const FATAL_XIDS = new Set([48, 64, 79, 94, 95, 119, 120]);
const SERIOUS_XIDS = new Set([63, 74, 92]);
const APPLICATION_XIDS = new Set([13, 31, 43, 45]);

/** The weight of one event of `event`'s class. */
export function eventWeight(event: ErrorEvent): number {
  if (event.kind === 'xid') {
    if (APPLICATION_XIDS.has(event.code) || event.code === 0) return 0;
    if (FATAL_XIDS.has(event.code)) return EVENT_WEIGHTS.xidFatal;
    if (SERIOUS_XIDS.has(event.code)) return EVENT_WEIGHTS.xidSerious;
    return EVENT_WEIGHTS.xidOther;
  }
  // Many events of one counter in one scrape add up, but a flood counts as at most three (a replay storm is one sign).
  return EVENT_WEIGHTS[event.kind] * Math.min(MAX_COUNT_PER_READING, Math.max(0, event.count));
}

interface HostState {
  score: number;
  at: number;
  flaggedAt: number;
  /** The last events behind the score, newest last (at most 8), for the evidence. */
  readonly recent: { time: number; label: string }[];
  /** Counter values by `gpu/field`, for deltas. */
  readonly counters: Map<string, number>;
  /** Last XID value by GPU (the gauge holds the last code: a change is a new event). */
  readonly xids: Map<string, number>;
  /** GPUs above the excursion temperature now (an excursion counts once, on the way up). */
  readonly hot: Set<string>;
}

const label = (event: ErrorEvent) =>
  event.kind === 'xid' ? `XID ${event.code}` : `${event.count > 1 ? `${event.count}× ` : ''}${event.kind}`;

/** Failure risk per host, fed with events or raw dcgm values. */
export class FailureRiskDetector {
  private readonly hosts = new Map<string, HostState>();
  readonly detections: Detection[] = [];
  /** Detections past {@link MAX_KEPT_DETECTIONS}, counted only. */
  dropped = 0;

  private state(host: string): HostState {
    let state = this.hosts.get(host);
    if (state === undefined) {
      state = {
        score: 0,
        at: 0,
        flaggedAt: Number.NEGATIVE_INFINITY,
        recent: [],
        counters: new Map(),
        xids: new Map(),
        hot: new Set(),
      };
      this.hosts.set(host, state);
    }
    return state;
  }

  /** The host's score at `time` (decayed). */
  score(host: string, time: number): number {
    const state = this.hosts.get(host);
    return state === undefined ? 0 : state.score * Math.exp(-Math.max(0, time - state.at) / DECAY_SECONDS);
  }

  /** One error event on `host` at `time`; returns the detection it raises, if any. */
  event(host: string, time: number, event: ErrorEvent, gpu?: string): Detection[] {
    const weight = eventWeight(event);
    if (!(weight > 0) || !Number.isFinite(time)) return [];
    const state = this.state(host);
    // Exponentially weighted moving sum: decay to now, then add.
    state.score = state.score * Math.exp(-Math.max(0, time - state.at) / DECAY_SECONDS) + weight;
    state.at = Math.max(state.at, time);
    state.recent.push({ time, label: `${label(event)}${gpu === undefined ? '' : ` on ${gpu}`}` });
    if (state.recent.length > 8) state.recent.shift();
    if (state.score < RISK_THRESHOLD || time - state.flaggedAt < REARM_SECONDS) return [];
    state.flaggedAt = time;
    const fatal = weight >= 1;
    const detection: Detection = {
      kind: 'failure-risk',
      time,
      host,
      ...(gpu !== undefined && { gpu }),
      score: state.score,
      threshold: RISK_THRESHOLD,
      severity: fatal ? 'critical' : 'warning',
      evidence: `${host}: error score ${state.score.toFixed(2)} ≥ ${RISK_THRESHOLD} (decayed sum of weighted events, τ = ${DECAY_SECONDS / 3600} h): ${state.recent.map((e) => e.label).join(', ')}`,
      signals: { score: state.score, events: state.recent.length },
    };
    if (!keep(this.detections, detection)) this.dropped++;
    return [detection];
  }

  /**
   * A counter's value (cumulative) for one GPU's field; the delta since the last value is the events (a lower
   * value is a counter reset: the new value is the delta). The first value only sets the base.
   */
  counter(
    host: string,
    gpu: string,
    kind: Exclude<ErrorEvent['kind'], 'xid' | 'thermal'>,
    time: number,
    value: number,
  ): Detection[] {
    if (!Number.isFinite(value) || value < 0) return [];
    const state = this.state(host);
    const key = `${gpu}/${kind}`;
    const previous = state.counters.get(key);
    state.counters.set(key, value);
    if (previous === undefined) return [];
    const delta = value >= previous ? value - previous : value;
    return delta > 0 ? this.event(host, time, { kind, count: delta }, gpu) : [];
  }

  /**
   * The last-XID gauge of one GPU: a change to a non-zero code is a new XID. The first reading is the base (the
   * gauge keeps an old code: a detector started later must not count it again).
   */
  xidGauge(host: string, gpu: string, time: number, code: number): Detection[] {
    if (!Number.isInteger(code) || code < 0) return [];
    const state = this.state(host);
    const previous = state.xids.get(gpu);
    state.xids.set(gpu, code);
    return previous !== undefined && code !== 0 && code !== previous
      ? this.event(host, time, { kind: 'xid', code }, gpu)
      : [];
  }

  /**
   * A temperature reading: rising above {@link THERMAL_EXCURSION_C} is one excursion; the GPU re-arms once it is
   * {@link THERMAL_HYSTERESIS_C} below.
   */
  temperature(host: string, gpu: string, time: number, celsius: number): Detection[] {
    if (!Number.isFinite(celsius)) return [];
    const state = this.state(host);
    if (celsius > THERMAL_EXCURSION_C) {
      if (state.hot.has(gpu)) return [];
      state.hot.add(gpu);
      return this.event(host, time, { kind: 'thermal', count: 1 }, gpu);
    }
    if (celsius < THERMAL_EXCURSION_C - THERMAL_HYSTERESIS_C) state.hot.delete(gpu);
    return [];
  }
}
