/**
 * The observed-run KPIs on a hand-made series (every figure worked out by hand below) and on the team's copy of
 * Megatron-LM's CI golden values (../shared/data/telemetry/megatron-ci/, BSD-3-Clause NVIDIA; not part of
 * Tokenworks): the reference median must be index.json's, tokens/s the config's tokens over it, ETTR the stall list's.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OBSERVED_BADPUT_CAUSES, observedKpis, runKpis } from './kpis.js';
import { readMegatronCiGolden, type StepPoint } from './megatron-ci.js';

const CI = fileURLToPath(new URL('../../../shared/data/telemetry/megatron-ci/', import.meta.url));
interface IndexCase {
  id: string;
  file: string;
  median_iteration_s: number;
  log_interval: number;
  stalls: { step: number; seconds: number; peak_mem_reset: boolean | null }[];
}
const index = JSON.parse(readFileSync(`${CI}index.json`, 'utf8')) as { cases: IndexCase[] };
const read = (file: string) => {
  const result = readMegatronCiGolden(readFileSync(`${CI}${file}`, 'utf8'));
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value.points;
};
const byId = (id: string) => index.cases.find((c) => c.id === id) as IndexCase;

// Steps 1..12 at 1 s except a 10 s stall at step 6; then a rewind to step 9 (resumed from a checkpoint) and steps
// 9..16 at 1 s except a 2 s slow step at 14: 12 + 8 = 20 points.
const HAND: StepPoint[] = [
  ...Array.from({ length: 12 }, (_, i) => ({ step: i + 1, iterationSeconds: i + 1 === 6 ? 10 : 1 })),
  ...Array.from({ length: 8 }, (_, i) => ({ step: i + 9, iterationSeconds: i + 9 === 14 ? 2 : 1 })),
];

describe('observedKpis on a hand-made series', () => {
  const k = observedKpis(HAND, { tokensPerStep: 1000, gpus: 4, flopsPerToken: 6e9, peakTflopsPerGpu: 100 });
  it('has the hand-computed distribution', () => {
    // 18 ones, one 10, one 2: median of 20 = mean of the 10th and 11th sorted = 1.
    expect(k.medianSeconds).toBe(1);
    expect(k.warmupPoints).toBe(0); // the first point, 1 s, is not above 1.5 × 1
    // Steady = all but the stall (10 > 5 × 1): 18 ones and a 2. Type 7: P90 at (19 − 1)·0.9 = 16.2 → 1;
    // P99 at 18·0.99 = 17.82 → 1 + 0.82·(2 − 1) = 1.82.
    expect(k.steady).toEqual({ count: 19, p10: 1, p50: 1, p90: 1, p99: expect.closeTo(1.82, 12) });
    expect([k.stallPoints, k.slowPoints, k.restarts]).toEqual([1, 1, 1]);
  });
  it('has the hand-computed wall, badput, ETTR and goodput', () => {
    // Every w = 1 (steps 1 apart; the rewind point counts 1): wall = Σ t = 18·1 + 10 + 2 = 30.
    expect(k.wallSeconds).toBe(30);
    // Stall: 10 − 1 = 9; slow step: 2 − 1 = 1; lost work: steps 9..12 of the first pass, 4 × 1 s = 4; the rewind
    // point runs at the median, so no restart time.
    expect(k.badputSeconds).toEqual({ lostWork: 4, restart: 0, checkpoint: 0, warmup: 0, stall: 9, stragglers: 1 });
    expect(k.badputShare.stall).toBeCloseTo(9 / 30, 12);
    // Productive = 30 − 9 − 1 − 4 = 16 over 16 steps advanced (1..16).
    expect(k.productiveSeconds).toBe(16);
    expect(k.productiveSteps).toBe(16);
    expect(k.observedSteps).toBe(20);
    // ETTR = 1 − (lostWork + stall)/wall = 1 − 13/30 = 17/30; goodput = 16/30.
    expect(k.ettr).toBeCloseTo(17 / 30, 12);
    expect(k.goodput).toBeCloseTo(16 / 30, 12);
  });
  it('has the hand-computed rates', () => {
    // 1000 tokens / 1 s; / 4 GPUs = 250; × 6e9 FLOPs / 1e12 = 1.5 TFLOP/s; / 100 = 1.5 % MFU;
    // goodput 1000 × 16 steps / 30 s.
    expect(k.throughput?.tokensPerSecond).toBe(1000);
    expect(k.throughput?.tokensPerSecondPerGpu).toBe(250);
    expect(k.throughput?.modelTflopsPerGpu).toBeCloseTo(1.5, 12);
    expect(k.throughput?.mfu).toBeCloseTo(0.015, 12);
    expect(k.throughput?.goodputTokensPerSecond).toBeCloseTo(16000 / 30, 9);
  });
  it('takes a window and says when it is empty', () => {
    const { run, window } = runKpis(HAND, {}, { window: { fromStep: 100 } });
    expect(run.wallSeconds).toBe(30);
    expect(window?.empty).toBe(true);
    expect(window?.ettr).toBe(0);
    expect(observedKpis([]).empty).toBe(true);
    expect(observedKpis([]).throughput).toBeUndefined();
  });
});

describe('observedKpis on Megatron CI golden values', () => {
  it('the reference median is index.json median_iteration_s for all 8 series', () => {
    expect(index.cases).toHaveLength(8);
    for (const c of index.cases) {
      const k = observedKpis(read(c.file), { logInterval: c.log_interval });
      expect(Math.abs(k.medianSeconds - c.median_iteration_s), c.id).toBeLessThan(1e-9);
      expect(Number.isFinite(k.ettr) && Number.isFinite(k.goodput), c.id).toBe(true);
    }
  });
  it('tokens/s of the 8-GPU H100 weekly run = 128 × 1024 / median', () => {
    const c = byId('gpt3_weekly_mcore_tp2_pp2_current_scaling_native_fp8_tp_pp_sp_tp_overlap@dgx_h100');
    const k = observedKpis(read(c.file), { tokensPerStep: 128 * 1024, gpus: 8 });
    // 131072 / 1.14005 = 114970.40 tokens/s; / 8 = 14371.30 per GPU.
    expect(k.throughput?.tokensPerSecond).toBeCloseTo(131072 / 1.14005, 6);
    expect(k.throughput?.tokensPerSecond).toBeCloseTo(114970.4, 0);
    expect(k.throughput?.tokensPerSecondPerGpu).toBeCloseTo(14371.3, 0);
  });
  it('ETTR of the Mixtral H100 run from its stall list', () => {
    const c = byId('mixtral_8x7b_alltoall_tp2pp4ep4_release@dgx_h100');
    const points = read(c.file).filter((p) => p.iterationSeconds !== undefined);
    const m = c.median_iteration_s;
    // Log interval 1, sampled every 5 steps: each point stands for w = step − previous (≤ 5) steps; a stall is one
    // slow iteration, so wall = Σ t·w − Σ_stalls (s − m)(w − 1) and downtime = Σ_stalls (s − m) (step 1 is the
    // warm-up, the four others restarts).
    let wall = 0;
    const w = new Map<number, number>();
    points.forEach((p, i) => {
      const weight = i === 0 ? 1 : Math.min(5, p.step - (points[i - 1] as StepPoint).step);
      w.set(p.step, weight);
      wall += (p.iterationSeconds as number) * weight;
    });
    // The slow steps (1.5–5 × m: 13020, 20020, 20025, 20455) are single iterations too (wall only, not downtime).
    for (const p of points) {
      const t = p.iterationSeconds as number;
      if (t > 1.5 * m) wall -= (t - m) * ((w.get(p.step) as number) - 1);
    }
    let downtime = 0;
    for (const s of c.stalls) downtime += s.seconds - m;
    const k = observedKpis(read(c.file), { logInterval: 1 });
    expect(k.wallSeconds).toBeCloseTo(wall, 3);
    expect(Math.abs(k.ettr - (1 - downtime / wall))).toBeLessThan(1e-6);
    // 17 memory resets, of which the four stalls marked R show their cost.
    expect(k.restarts).toBe(17);
    expect(k.badputSeconds.restart).toBeCloseTo(88.10275 + 87.2285 + 88.02297 + 86.52409 - 4 * m, 6);
    expect(k.badputSeconds.warmup).toBeCloseTo(92.35132 - m, 6);
  });
});

describe('every shared Megatron CI series against a hand computation from its golden values', () => {
  /**
   * Written out from the rules (kpis.ts module comment), straight off the golden JSON, without the parsers:
   * - restarts: a drop of `mem-max-allocated-bytes` below the last value seen (a new process), counted at the
   *   next step that has an iteration time (several drops between two timed steps are one restart);
   * - each timed step stands for w = min(step − previous timed step, step_interval) steps (1 for the first);
   * - warm-up (the leading steps above 1.5 m), stalls (> 5 m) and slow restart steps (> 1.5 m) are downtime,
   *   charged (t − m) × min(log interval, w); slow steps between 1.5 m and 5 m are not downtime; every step above
   *   1.5 m counts m for its other w − min(L, w) steps;
   * - ETTR = 1 − downtime / wall, wall = Σ t·w less those excesses.
   */
  interface Golden {
    'iteration-time': { step_interval: number; values: Record<string, number | string> };
    'mem-max-allocated-bytes'?: { values: Record<string, number | string> };
  }
  for (const c of index.cases) {
    it(`${c.id}: median, restarts and ETTR`, () => {
      const golden = JSON.parse(readFileSync(`${CI}${c.file}`, 'utf8')) as Golden;
      const times = golden['iteration-time'];
      const peaks = golden['mem-max-allocated-bytes']?.values ?? {};
      const steps = [...new Set([...Object.keys(times.values), ...Object.keys(peaks)].map(Number))].sort(
        (a, b) => a - b,
      );
      const m = c.median_iteration_s;
      const L = c.log_interval;
      let restarts = 0;
      let pending = false;
      let lastPeak: number | undefined;
      let previous: number | undefined;
      let wall = 0;
      let downtime = 0;
      let warm = true;
      for (const step of steps) {
        const peak = peaks[String(step)];
        if (typeof peak === 'number') {
          if (lastPeak !== undefined && peak < lastPeak) pending = true;
          lastPeak = peak;
        }
        const t = times.values[String(step)];
        if (typeof t !== 'number') continue;
        const w = previous === undefined ? 1 : Math.min(step - previous, times.step_interval);
        previous = step;
        const restart = pending;
        pending = false;
        if (restart) restarts += 1;
        if (warm && t > 1.5 * m) {
          downtime += (t - m) * Math.min(L, w);
          wall += m * w + (t - m) * Math.min(L, w);
          continue;
        }
        warm = false;
        if (t > 1.5 * m) {
          if (t > 5 * m || restart) downtime += (t - m) * Math.min(L, w);
          wall += m * w + (t - m) * Math.min(L, w);
        } else wall += t * w;
      }
      const k = observedKpis(read(c.file), { logInterval: L, stepInterval: times.step_interval });
      expect(Math.abs(k.medianSeconds - m)).toBeLessThan(1e-9);
      expect(k.restarts).toBe(restarts);
      expect(k.wallSeconds).toBeCloseTo(wall, 6);
      expect(Math.abs(k.ettr - (1 - downtime / wall))).toBeLessThan(1e-9);
    });
  }
});

describe('observedKpis properties', () => {
  it('ETTR in [0, 1] and productive + Σ badput = wall', () => {
    const point = fc.record({
      step: fc.integer({ min: 0, max: 200 }),
      iterationSeconds: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined }),
      memMaxAllocatedBytes: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(point, { maxLength: 60 }), fc.integer({ min: 1, max: 10 }), (raw, logInterval) => {
        const series = raw.map((p) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)));
        const k = observedKpis(series as unknown as StepPoint[], { logInterval, tokensPerStep: 10 });
        const badput = OBSERVED_BADPUT_CAUSES.reduce((sum, c) => sum + k.badputSeconds[c], 0);
        expect(k.ettr).toBeGreaterThanOrEqual(0);
        expect(k.ettr).toBeLessThanOrEqual(1);
        expect(Math.abs(k.productiveSeconds + badput - k.wallSeconds)).toBeLessThanOrEqual(1e-9 * (1 + k.wallSeconds));
        for (const v of [k.wallSeconds, k.goodput, k.medianSeconds, k.steady.p99, k.throughput?.tokensPerSecond ?? 0])
          expect(Number.isFinite(v)).toBe(true);
      }),
    );
  });
});

describe('time stamps: pauses between log lines', () => {
  it('counts a long pause between stamps as a restart, a short one as a checkpoint, and ignores stamp rounding', () => {
    // 12 steps of 0.9 s, stamped to the whole second (resolution 1 s), so consecutive stamps differ by 0 or 1 s
    // against 0.9 s logged: rounding, not a pause. The clock jumps 301 s between steps 5 and 6 (300.1 s beyond
    // the 0.9 s logged: a restart, above 60 s) and 6 s between steps 9 and 10 (5.1 s: a checkpoint save).
    const times = [0, 1, 2, 3, 4, 305, 306, 307, 308, 314, 315, 316];
    const series = times.map((time, i) => ({ step: i + 1, iterationSeconds: 0.9, time }));
    const k = observedKpis(series);
    expect(k.badputSeconds.restart).toBeCloseTo(300.1, 9);
    expect(k.badputSeconds.checkpoint).toBeCloseTo(5.1, 9);
    expect(k.restarts).toBe(1);
    // Wall = 12 × 0.9 + 300.1 + 5.1 = 316 s, the stamps' span plus the first line's 0.9 s; ETTR = 1 − 305.2 / 316.
    expect(k.wallSeconds).toBeCloseTo(316, 9);
    expect(k.ettr).toBeCloseTo(1 - 305.2 / 316, 12);
    expect(k.productiveSeconds).toBeCloseTo(10.8, 9);
    // The same series without stamps has no pause.
    const bare = observedKpis(series.map(({ time: _time, ...point }) => point));
    expect(bare.badputSeconds.restart + bare.badputSeconds.checkpoint).toBe(0);
  });

  it('takes a pause up to twice the planned checkpoint pause for a save, not a restart', () => {
    // Three blocking saves of 240 s between lines of 1 s (fewer than ten pauses: no typical pause to learn): over
    // a minute, so restarts by default; checkpoints when the plan says a save takes 150 s (240 ≤ 2 × 150).
    const times = [0, 1, 242, 243, 484, 485, 726, 727];
    const series = times.map((time, i) => ({ step: i + 1, iterationSeconds: 1, time }));
    const bare = observedKpis(series);
    expect(bare.restarts).toBe(3);
    const planned = observedKpis(series, {}, { checkpointPauseSeconds: 150 });
    expect(planned.restarts).toBe(0);
    expect(planned.badputSeconds.checkpoint).toBeCloseTo(3 * 240, 9);
  });

  it('takes missing lines for missing lines, not a pause', () => {
    // Lines every 10 steps of 1 s, stamped on time, with the lines of steps 101–300 missing (a segment not given):
    // the clock ran 200 s for 200 steps, so there is no pause and no restart.
    const series = [
      ...Array.from({ length: 10 }, (_, i) => 10 * (i + 1)),
      ...Array.from({ length: 10 }, (_, i) => 310 + 10 * i),
    ].map((step) => ({ step, iterationSeconds: 1, time: step }));
    const k = observedKpis(series);
    expect(k.restarts).toBe(0);
    expect(k.badputSeconds.restart + k.badputSeconds.checkpoint).toBe(0);
    expect(k.ettr).toBe(1);
    expect(k.unobservedSteps).toBe(200);
  });

  it('counts a pause at a rewind as the restart the rewind shows, once', () => {
    // Steps 1..4 at 1 s stamped every second (ms stamps), then a rewind to step 3 after 120 s of downtime.
    const series = [
      { step: 1, iterationSeconds: 1, time: 0 },
      { step: 2, iterationSeconds: 1, time: 1 },
      { step: 3, iterationSeconds: 1, time: 2 },
      { step: 4, iterationSeconds: 1, time: 3 },
      { step: 3, iterationSeconds: 1, time: 124 },
      { step: 4, iterationSeconds: 1, time: 125 },
    ];
    const k = observedKpis(series);
    expect(k.restarts).toBe(1);
    // 124 − 3 − 1 × 1 = 120 s of pause; steps 3 and 4 of the first pass are lost work (2 s), and so is the
    // iteration the failure interrupted, half a median step on average (0.5 s), taken out of the pause.
    expect(k.badputSeconds.restart).toBeCloseTo(119.5, 9);
    expect(k.badputSeconds.lostWork).toBeCloseTo(2.5, 9);
  });
});
