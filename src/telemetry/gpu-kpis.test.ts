/**
 * GPU KPIs on hand-written samples, each figure computed by hand in the comment beside it.
 */
import { describe, expect, it } from 'vitest';
import type { GpuPoint } from '../app/ports.js';
import { TokenworksError } from '../errors.js';
import {
  aggregateGpuPoints,
  GPU_KPI_FIELD as F,
  GpuAggregator,
  gpuKpis,
  isSlowing,
  LOWEST_SLOWING_BIT,
  mergeAggregates,
  SLOWING_MASK,
} from './gpu-kpis.js';

/** Points of one GPU and field at t = 0, 10, 20 s. */
const series = (gpuKey: string, field: string, values: readonly number[]): GpuPoint[] =>
  values.map((value, i) => ({ time: 1000 + 10 * i, gpuKey, hostname: 'h1', field, value }));

const A = 'h1/GPU-a';
const B = 'h1/GPU-b';
const POINTS: GpuPoint[] = [
  ...series(A, F.power, [300, 400, 500]), // mean 400, peak 500
  ...series(B, F.power, [600, 600, 600]), // mean 600
  ...series(A, F.grEngineActive, [0.5, 0.7, 0.9]), // 0.7
  ...series(B, F.grEngineActive, [0.2, 0.2, 0.2]), // 0.2
  ...series(A, F.gpuUtil, [100, 100, 40]), // 80 % -> 0.8
  ...series(B, F.gpuUtil, [50, 50, 50]), // 0.5
  ...series(A, F.pipeTensorActive, [0.3, 0.3, 0.3]),
  ...series(A, F.gpuTemp, [40, 50, 60]), // mean 50, max 60
  ...series(B, F.gpuTemp, [70, 70, 70]),
  ...series(A, F.clockEvents, [0, 0x4, 0x1]), // power cap slows, idle does not: 1/3
  ...series(B, F.clockEvents, [0x44, 0x100, 0x40]), // power cap + hw thermal, display clocks, hw thermal: 2/3
  ...series(A, F.xid, [0, 79, 79]), // one event: 79 at t = 1010
  ...series(B, F.xid, [13, 0, 13]), // two events: 13 at 1000 and at 1020
  ...series(A, 'DCGM_FI_DEV_FB_USED', [1, 2, 3]), // not a KPI field: ignored
].sort((a, b) => a.time - b.time);

/** Every number in a value, with its path. */
function numbers(value: unknown, path = ''): [string, number][] {
  if (typeof value === 'number') return [[path, value]];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => numbers(inner, `${path}.${key}`));
}

describe('gpuKpis on two GPUs with known values', () => {
  const aggregates = aggregateGpuPoints(POINTS);
  const kpis = gpuKpis(aggregates, { pue: 1.25, tokensPerSecond: 1000, gpus: 2, windowSeconds: 20 });

  it('aggregates per GPU and field: count, sum, min, max, first and last time', () => {
    const power = aggregates.find((a) => a.gpuKey === A && a.field === F.power);
    expect(power).toEqual({
      gpuKey: A,
      hostname: 'h1',
      field: F.power,
      count: 3,
      sum: 1200,
      min: 300,
      max: 500,
      firstTime: 1000,
      lastTime: 1020,
    });
    expect(aggregates.find((a) => a.gpuKey === B && a.field === F.clockEvents)?.slowing).toBe(2);
  });

  it('counts GPUs, hosts and samples (A: 7 fields × 3, B: 6 × 3; FB_USED is no KPI field)', () => {
    expect(kpis.counts).toEqual({ gpus: 2, hosts: 1, samples: 39, gpusExpected: 2 });
  });

  it('utilisation: DCP ratios as they are, GPU_UTIL % / 100, fleet = mean of GPU means', () => {
    const signal = (name: string) => kpis.utilisation.signals.find((s) => s.signal === name);
    expect(signal('grEngineActive')?.mean).toBeCloseTo((0.7 + 0.2) / 2, 12);
    expect(signal('gpuUtil')?.mean).toBeCloseTo((0.8 + 0.5) / 2, 12);
    expect(signal('gpuUtil')).toMatchObject({ minGpuMean: 0.5, gpus: 2 });
    expect(signal('gpuUtil')?.maxGpuMean).toBeCloseTo(0.8, 12);
    expect(kpis.utilisation.tensor).toMatchObject({ gpus: 1 });
    expect(kpis.utilisation.tensor?.mean).toBeCloseTo(0.3, 12);
    expect(signal('smActive')).toBeUndefined();
    expect(kpis.utilisation.primary?.signal).toBe('grEngineActive');
    expect(kpis.perGpu[0]?.utilisation.grEngineActive).toBeCloseTo(0.7, 12);
  });

  it('power, facility power, energy and tokens per MWh', () => {
    expect(kpis.power).toEqual({
      gpus: 2,
      itMeanW: 1000, // 400 + 600
      meanPerGpuW: 500,
      peakGpuW: 600,
      pue: 1.25,
      facilityMeanW: 1250, // 1000 × 1.25
      itEnergyJ: 20_000, // 1000 W × 20 s
      facilityEnergyJ: 25_000,
    });
    // 1000 tokens/s at 1000 W = 1 token/J = 3.6e9 tokens/MWh; at 1250 W, 2.88e9.
    expect(kpis.tokens?.perMWhIt).toBeCloseTo(3.6e9, 3);
    expect(kpis.tokens?.perMWhFacility).toBeCloseTo(2.88e9, 3);
    expect(kpis.tokens?.perSecondPerGpu).toBe(500);
    expect(kpis.perGpu.map((row) => [row.meanPowerW, row.peakPowerW])).toEqual([
      [400, 500],
      [600, 600],
    ]);
  });

  it('without a window, energy spans the power samples (last − first = 20 s)', () => {
    const observed = gpuKpis(aggregates);
    expect(observed.window).toEqual({ seconds: 20, source: 'observed' });
    expect(observed.power?.itEnergyJ).toBe(20_000);
    expect(observed.tokens).toBeUndefined();
  });

  it('throttled share: samples with a slowing reason; fleet = mean of GPU shares (1/3 and 2/3)', () => {
    expect(SLOWING_MASK).toBe(0xec);
    expect(LOWEST_SLOWING_BIT).toBe(0x4);
    expect([0, 1, 2, 3, 4, 0x10, 0x100, 0x40].map(isSlowing)).toEqual([
      false,
      false,
      false,
      false,
      true,
      false,
      false,
      true,
    ]);
    expect(kpis.throttle).toMatchObject({ gpus: 2, samples: 6, slowingSamples: 3, gpusThrottled: 2 });
    expect(kpis.throttle?.share).toBeCloseTo(0.5, 12);
    expect(kpis.perGpu.map((row) => row.throttledShare)).toEqual([1 / 3, 2 / 3]);
  });

  it('XID events are changes to a non-zero code', () => {
    expect(kpis.xid).toEqual({ events: 3, gpus: 2, byCode: { '79': 1, '13': 2 } });
    expect(kpis.perGpu.map((row) => row.xidEvents)).toEqual([
      [{ time: 1010, xid: 79 }],
      [
        { time: 1000, xid: 13 },
        { time: 1020, xid: 13 },
      ],
    ]);
  });

  it('temperature: mean of GPU means and the hottest sample', () => {
    expect(kpis.temperature).toEqual({ gpus: 2, meanC: 60, maxC: 70 });
  });

  it('every number is finite', () => {
    for (const [path, value] of numbers(kpis)) expect(Number.isFinite(value), path).toBe(true);
  });
});

describe('gpuKpis edge cases', () => {
  it('two aggregators merged give what one gives', () => {
    const first = new GpuAggregator();
    const second = new GpuAggregator();
    first.push(POINTS.filter((p) => p.time < 1010));
    second.push(POINTS.filter((p) => p.time >= 1010));
    const byKey = new Map(first.aggregates().map((a) => [`${a.gpuKey} ${a.field}`, a]));
    const merged = second.aggregates().map((b) => {
      const a = byKey.get(`${b.gpuKey} ${b.field}`);
      return a === undefined ? b : mergeAggregates(a, b);
    });
    const one = aggregateGpuPoints(POINTS);
    // Same statistics; XID events differ only where a change spans the cut (13 at 1020 follows 0 at 1010 in both).
    expect(merged.map(({ xidEvents: _, ...rest }) => rest)).toEqual(one.map(({ xidEvents: _, ...rest }) => rest));
    expect(gpuKpis(merged, { windowSeconds: 20 }).power).toEqual(gpuKpis(one, { windowSeconds: 20 }).power);
  });

  it('drops DCGM blank sentinels and NaN, and falls back to GPU_UTIL as primary utilisation', () => {
    const points: GpuPoint[] = [
      ...series('h/GPU-c', F.gpuTemp, [Number('9223372036854775794'), Number('9223372036854775794')]),
      ...series('h/GPU-c', F.power, [100, Number.NaN]),
      ...series('h/GPU-c', F.gpuUtil, [20, 40]),
    ];
    const kpis = gpuKpis(aggregateGpuPoints(points));
    expect(kpis.dropped.map((d) => d.field).sort()).toEqual([F.power, F.gpuTemp].sort());
    expect(kpis.dropped.find((d) => d.field === F.gpuTemp)?.reason).toMatch(/blank sentinel/);
    expect(kpis.power).toBeUndefined();
    expect(kpis.temperature).toBeUndefined();
    expect(kpis.utilisation.primary).toMatchObject({ signal: 'gpuUtil', gpus: 1 });
    expect(kpis.utilisation.primary?.mean).toBeCloseTo(0.3, 12);
    expect(kpis.window).toEqual({ seconds: 0, source: 'none' });
  });

  it('nothing in, zeros out, all finite', () => {
    const kpis = gpuKpis([], { tokensPerSecond: 10 });
    expect(kpis.counts).toEqual({ gpus: 0, hosts: 0, samples: 0 });
    expect(kpis.tokens).toEqual({ perSecond: 10, perSecondPerGpu: 0 });
    for (const [path, value] of numbers(kpis)) expect(Number.isFinite(value), path).toBe(true);
  });

  it('refuses facts out of range, naming the fact, its value and what to give', () => {
    expect(() => gpuKpis([], { pue: 0.9 })).toThrowError(TokenworksError);
    expect(() => gpuKpis([], { pue: 0.9 })).toThrowError(/pue = 0.9 .*PUE from 1 to 10/);
    expect(() => gpuKpis([], { gpus: 1.5 })).toThrowError(/gpus = 1.5/);
    expect(() => gpuKpis([], { windowSeconds: 0 })).toThrowError(/windowSeconds = 0/);
    expect(() => gpuKpis([], { tokensPerSecond: Number.NaN })).toThrowError(/tokensPerSecond = NaN/);
  });
});
