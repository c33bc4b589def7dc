import { describe, expect, it } from 'vitest';
import { DECAY_SECONDS, eventWeight, FailureRiskDetector, REARM_SECONDS } from './failure-risk.js';

describe('failure risk per host', () => {
  it('weighs XIDs by class: fatal 1, serious 0.5, application 0', () => {
    expect(eventWeight({ kind: 'xid', code: 79 })).toBe(1);
    expect(eventWeight({ kind: 'xid', code: 48 })).toBe(1);
    expect(eventWeight({ kind: 'xid', code: 92 })).toBe(0.5);
    expect(eventWeight({ kind: 'xid', code: 13 })).toBe(0);
    expect(eventWeight({ kind: 'xid', code: 43 })).toBe(0);
    // A replay storm counts as at most three replays.
    expect(eventWeight({ kind: 'pcie-replay', count: 1000 })).toBeCloseTo(0.3, 12);
  });

  it('decays as e^(−Δt/τ) and flags at 1: two serious XIDs an hour apart flag, a day apart do not', () => {
    const d = new FailureRiskDetector();
    expect(d.event('a', 0, { kind: 'xid', code: 92 })).toHaveLength(0);
    // 0.5 e^(−3600/7200) + 0.5 = 0.803: not yet
    expect(d.event('a', 3600, { kind: 'xid', code: 92 })).toHaveLength(0);
    expect(d.score('a', 3600)).toBeCloseTo(0.5 * Math.exp(-3600 / DECAY_SECONDS) + 0.5, 12);
    // + 0.5 at the same time: 1.303 ≥ 1
    const flagged = d.event('a', 3600, { kind: 'row-remap', count: 1 });
    expect(flagged).toHaveLength(1);
    expect(flagged[0]?.kind).toBe('failure-risk');
    expect(flagged[0]?.evidence).toMatch(/XID 92, XID 92, row-remap/);
    const e = new FailureRiskDetector();
    e.event('b', 0, { kind: 'xid', code: 92 });
    expect(e.event('b', 86_400, { kind: 'xid', code: 92 })).toHaveLength(0);
  });

  it('a flagged host is re-armed only after a day', () => {
    const d = new FailureRiskDetector();
    expect(d.event('a', 0, { kind: 'xid', code: 79 })).toHaveLength(1);
    expect(d.event('a', 60, { kind: 'xid', code: 79 })).toHaveLength(0);
    expect(d.event('a', REARM_SECONDS + 1, { kind: 'xid', code: 79 })).toHaveLength(1);
  });

  it('counters: deltas, a reset reads its new value as the delta, the first value is the base', () => {
    const d = new FailureRiskDetector();
    d.counter('a', 'g0', 'row-remap', 0, 7); // base
    expect(d.score('a', 0)).toBe(0);
    d.counter('a', 'g0', 'row-remap', 10, 8); // +1 → 0.5
    expect(d.score('a', 10)).toBeCloseTo(0.5, 12);
    d.counter('a', 'g0', 'row-remap', 20, 1); // reset: +1
    expect(d.score('a', 20)).toBeCloseTo(0.5 * Math.exp(-10 / DECAY_SECONDS) + 0.5, 12);
  });

  it('the last-XID gauge: a change to a non-zero code is one event; the same code held is not', () => {
    const d = new FailureRiskDetector();
    d.xidGauge('a', 'g0', 0, 0);
    d.xidGauge('a', 'g0', 15, 92);
    d.xidGauge('a', 'g0', 30, 92);
    expect(d.score('a', 30)).toBeCloseTo(0.5 * Math.exp(-15 / DECAY_SECONDS), 12);
    // A stale code at the first reading is the base, not an event.
    d.xidGauge('b', 'g0', 0, 79);
    expect(d.score('b', 0)).toBe(0);
  });

  it('a thermal excursion counts once on the way up, and again only after cooling 3 °C below 87 °C', () => {
    const d = new FailureRiskDetector();
    for (let t = 0; t < 10; t++) d.temperature('a', 'g0', t * 15, 90);
    expect(d.score('a', 135)).toBeCloseTo(0.3 * Math.exp(-0 / DECAY_SECONDS) * Math.exp(-135 / DECAY_SECONDS), 12);
    d.temperature('a', 'g0', 150, 85); // still within the hysteresis: no re-arm
    d.temperature('a', 'g0', 165, 90);
    expect(d.score('a', 165)).toBeCloseTo(0.3 * Math.exp(-165 / DECAY_SECONDS), 12);
    d.temperature('a', 'g0', 180, 80);
    d.temperature('a', 'g0', 195, 90);
    expect(d.score('a', 195)).toBeCloseTo(0.3 * Math.exp(-195 / DECAY_SECONDS) + 0.3, 12);
  });
});
