import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normaliseDcgm } from './dcgm.js';
import { CounterTracker, SLOWING_REASONS, THROTTLE_REASONS, throttleReasons, XidTracker } from './gpu-signals.js';

const DATADOG = new URL('../../../shared/data/telemetry/dcgm/datadog/metrics.txt', import.meta.url);

describe('GPU signals from successive scrapes', () => {
  it('decodes the throttle bitmask bit by bit (0x4 power cap, 0x40 hardware thermal, ...)', () => {
    expect(throttleReasons(0)).toEqual([]);
    expect(throttleReasons(0x1)).toEqual(['gpu_idle']);
    expect(throttleReasons(0x4 | 0x40)).toEqual(['power_cap', 'hw_thermal']);
    expect(throttleReasons(0x1ff)).toEqual(THROTTLE_REASONS.map((r) => r.name));
    expect(throttleReasons(0x200)).toEqual([]);
    expect(throttleReasons(-1)).toEqual([]);
    expect(SLOWING_REASONS).not.toContain('gpu_idle');
  });

  it('the idle T4s of the DataDog fixture report the gpu_idle reason (bitmask 1)', () => {
    const scrape = normaliseDcgm(readFileSync(DATADOG, 'utf8'));
    const reasons = scrape.samples.filter((s) => s.field === 'DCGM_FI_DEV_CLOCK_THROTTLE_REASONS');
    expect(reasons.length).toBeGreaterThan(0);
    for (const sample of reasons) expect(throttleReasons(sample.value)).toEqual(['gpu_idle']);
  });

  it('counts counter growth and takes a decrease as a reset', () => {
    const counters = new CounterTracker();
    expect(counters.push('energy', 1000)).toBeUndefined();
    expect(counters.push('energy', 1500)).toEqual({ delta: 500, reset: false });
    expect(counters.push('energy', 200)).toEqual({ delta: 200, reset: true });
    expect(counters.push('energy', 260)).toEqual({ delta: 60, reset: false });
    expect(counters.push('other', 5)).toBeUndefined();
  });

  it('turns the last-XID gauge into one event per change to a non-zero code', () => {
    const xids = new XidTracker();
    const seen = [0, 0, 79, 79, 0, 48, 48, 79].map((value, t) => xids.push('host/gpu0', value, t));
    expect(seen.filter((e) => e !== undefined)).toEqual([
      { gpuKey: 'host/gpu0', xid: 79, timestamp: 2 },
      { gpuKey: 'host/gpu0', xid: 48, timestamp: 5 },
      { gpuKey: 'host/gpu0', xid: 79, timestamp: 7 },
    ]);
  });
});
