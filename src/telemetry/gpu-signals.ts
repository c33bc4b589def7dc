/**
 * What successive dcgm-exporter scrapes of a GPU say beyond their values: counter deltas with reset detection
 * (an exporter or driver restart starts a counter again), XID errors as changes of the last-XID gauge, and the
 * clock throttle reasons decoded from their bitmask. Pure, fed one sample at a time.
 * @module
 */

/**
 * Clock throttle (clock event) reasons by bit, as dcgm-exporter's clock_events_collector.go and NVML's
 * nvmlClocksThrottleReasons define them (operate.md §1.1, [O3]).
 */
export const THROTTLE_REASONS = [
  { bit: 0x1, name: 'gpu_idle' },
  { bit: 0x2, name: 'clocks_setting' },
  { bit: 0x4, name: 'power_cap' },
  { bit: 0x8, name: 'hw_slowdown' },
  { bit: 0x10, name: 'sync_boost' },
  { bit: 0x20, name: 'sw_thermal' },
  { bit: 0x40, name: 'hw_thermal' },
  { bit: 0x80, name: 'hw_power_brake' },
  { bit: 0x100, name: 'display_clocks' },
] as const;

/** A throttle reason's name. */
export type ThrottleReason = (typeof THROTTLE_REASONS)[number]['name'];

/** Reasons a GPU does not run at its full clock, that slow a job (idle and display clocks do not). */
export const SLOWING_REASONS: readonly ThrottleReason[] = [
  'power_cap',
  'hw_slowdown',
  'sw_thermal',
  'hw_thermal',
  'hw_power_brake',
];

/** The reasons set in a throttle bitmask, in bit order; bits beyond those defined are ignored. */
export function throttleReasons(bitmask: number): ThrottleReason[] {
  if (!Number.isInteger(bitmask) || bitmask < 0) return [];
  return THROTTLE_REASONS.filter((reason) => (bitmask & reason.bit) !== 0).map((reason) => reason.name);
}

/** One counter step: how much it grew since the previous sample, and whether it was reset in between. */
export interface CounterDelta {
  readonly delta: number;
  readonly reset: boolean;
}

/**
 * Deltas of monotonic counters per series (energy in mJ, violation nanoseconds, error counts). A value below the
 * previous one is a reset (the counter restarted from zero): the delta is then the new value, as Prometheus's
 * `increase()` counts it (Prometheus docs, "Counters": resets are detected by a decrease).
 */
export class CounterTracker {
  private readonly last = new Map<string, number>();

  /** Feeds the value of series `key`; the first sample of a series has no delta. */
  push(key: string, value: number): CounterDelta | undefined {
    if (!Number.isFinite(value)) return undefined;
    const previous = this.last.get(key);
    this.last.set(key, value);
    if (previous === undefined) return undefined;
    return value >= previous ? { delta: value - previous, reset: false } : { delta: value, reset: true };
  }
}

/** An XID error seen on a GPU. */
export interface XidEvent {
  readonly gpuKey: string;
  readonly xid: number;
  readonly timestamp?: number;
}

/**
 * XID errors from `DCGM_FI_DEV_XID_ERRORS`, a gauge holding the last XID a GPU reported (0 when none): an event
 * whenever the value changes to a non-zero code (operate.md §1.1: "value of the last XID"). The same code twice in
 * a row cannot be told from no new error; the exporter's optional `DCGM_EXP_XID_ERRORS_COUNT` window counts them.
 */
export class XidTracker {
  private readonly last = new Map<string, number>();

  /** Feeds a GPU's XID gauge; returns the event it reveals, if any. */
  push(gpuKey: string, value: number, timestamp?: number): XidEvent | undefined {
    if (!Number.isInteger(value) || value < 0) return undefined;
    const previous = this.last.get(gpuKey);
    this.last.set(gpuKey, value);
    if (value === 0 || value === previous) return undefined;
    return { gpuKey, xid: value, ...(timestamp !== undefined && { timestamp }) };
  }
}
