import { describe, expect, it } from 'vitest';
import { FailSlowDetector, MIN_STEADY, StallDetector, StepTimeDetector } from './step-time.js';
import { MAD_TO_SIGMA, RollingWindow, sortedMad } from './window.js';

describe('rolling window', () => {
  it('median and MAD match a hand computation, and the oldest value leaves first', () => {
    const w = new RollingWindow(5);
    for (const x of [1, 9, 2, 8, 3]) w.push(x);
    // sorted 1 2 3 8 9: median 3; |x − 3| = 2 6 1 5 0 → sorted 0 1 2 5 6: MAD 2.
    expect(w.median()).toBe(3);
    expect(w.sigma()).toBeCloseTo(MAD_TO_SIGMA * 2, 12);
    w.push(4); // drops 1: 2 3 4 8 9, median 4; deviations 2 1 0 4 5 → MAD 2
    expect(w.median()).toBe(4);
    expect(w.sigma()).toBeCloseTo(MAD_TO_SIGMA * 2, 12);
  });
  it('sortedMad of an even count averages the two middle deviations', () => {
    // 1 2 4 7, centre 3: deviations 2 1 1 4 → 1 1 2 4 → (1 + 2) / 2
    expect(sortedMad([1, 2, 4, 7], 3)).toBe(1.5);
  });
});

/** A steady series alternating a and b (median (a+b)/2 … for an even window, MAD |a−b|/2). */
function alternating(n: number, a: number, b: number) {
  return Array.from({ length: n }, (_, i) => ({ step: i + 1, seconds: i % 2 === 0 ? a : b, time: i + 1 }));
}

describe('stall rule', () => {
  it('threshold is the larger of median + 6 σ̂ and 2 × median', () => {
    const quiet = new StallDetector();
    for (const p of alternating(40, 1.0, 1.02)) quiet.push(p);
    // median 1.01, MAD 0.01, 1.01 + 6 × 1.4826 × 0.01 = 1.099 < 2.02: the floor
    expect(quiet.threshold()).toBeCloseTo(2.02, 9);
    const noisy = new StallDetector();
    for (const p of alternating(40, 1.0, 1.4)) noisy.push(p);
    // median 1.2, MAD 0.2: 1.2 + 6 × 1.4826 × 0.2 = 2.979 > 2.4
    expect(noisy.threshold()).toBeCloseTo(1.2 + 6 * MAD_TO_SIGMA * 0.2, 9);
  });
  it('flags a warm-up step once the window fills, and merges an episode into one detection', () => {
    const d = new StallDetector();
    const found = [];
    found.push(...d.push({ step: 1, seconds: 10, time: 1 }));
    for (let i = 2; i <= MIN_STEADY + 5; i++) found.push(...d.push({ step: i, seconds: 1, time: i }));
    expect(found.map((x) => x.step)).toEqual([1]);
    expect(found[0]?.time).toBe(MIN_STEADY); // decided when the window had its 20 steps
    for (const [step, seconds] of [
      [40, 5],
      [43, 6],
      [48, 3],
      [70, 4],
    ] as const)
      d.push({ step, seconds, time: step });
    expect(d.detections.map((x) => x.step)).toEqual([1, 40, 70]);
    expect(d.episodes[1]).toEqual({ first: 40, last: 48, peakStep: 43, peakRatio: 6 });
  });
});

describe('fail-slow change points', () => {
  it('finds a 20 % slowdown within 20 iterations and its recovery, not a lone spike', () => {
    const d = new StepTimeDetector();
    let step = 0;
    const noise = (i: number) => 1 + 0.01 * Math.sin(i * 1.7); // ±1 %
    for (let i = 0; i < 300; i++) d.push({ step: ++step, seconds: noise(i) * (i === 150 ? 8 : 1), time: step });
    for (let i = 0; i < 100; i++) d.push({ step: ++step, seconds: 1.2 * noise(i), time: step });
    for (let i = 0; i < 100; i++) d.push({ step: ++step, seconds: noise(i), time: step });
    const changes = d.failSlow.detections;
    expect(changes).toHaveLength(2);
    const [slow, back] = changes;
    expect(slow?.step).toBe(301);
    expect((slow?.signals?.detectedAtStep as number) - 301).toBeLessThanOrEqual(20);
    expect(slow?.signals?.shift).toBeCloseTo(0.2, 1);
    expect(back?.step).toBe(401);
    expect(back?.signals?.shift).toBeLessThan(-0.1);
    expect(d.stalls.detections.map((x) => x.step)).toEqual([151]);
  });
  it("ignores a 5 % drift (below Greyhound's 10 % bar)", () => {
    const d = new FailSlowDetector();
    for (let i = 0; i < 200; i++) d.push({ step: i + 1, seconds: 1 + 0.005 * Math.sin(i), time: i });
    for (let i = 200; i < 800; i++) d.push({ step: i + 1, seconds: 1.05 + 0.005 * Math.sin(i), time: i });
    expect(d.detections).toHaveLength(0);
  });
});

describe('fail-slow after a first slowdown', () => {
  it('finds a second slowdown on top of the first (a staircase), and a resume does not blind it', () => {
    const d = new FailSlowDetector();
    const noise = (i: number) => 1 + 0.01 * Math.sin(i * 1.7);
    let step = 0;
    for (const [count, level] of [
      [300, 1],
      [700, 1.2],
      [700, 1.5],
    ] as const) {
      for (let i = 0; i < count; i++) d.push({ step: ++step, seconds: level * noise(step), time: step });
    }
    expect(d.detections.map((x) => x.step)).toEqual([301, 1001]);
    expect(d.detections[1]?.signals?.shift).toBeCloseTo(0.25, 1);
    // A resume rewinds the counter to 1,500 at the slow level, then the job recovers at 1,800.
    step = 1500;
    for (let i = 0; i < 300; i++) d.push({ step: ++step, seconds: 1.5 * noise(step), time: 2000 + i });
    for (let i = 0; i < 200; i++) d.push({ step: ++step, seconds: noise(step), time: 2300 + i });
    const back = d.detections.at(-1);
    expect(back?.step).toBe(1801);
    expect(back?.signals?.shift).toBeLessThan(-0.3);
  });
});

describe('fail-slow by drifts', () => {
  it('reports a degradation in +7 % steps once it adds up to 10 % over the healthy level', () => {
    const d = new FailSlowDetector();
    const noise = (i: number) => 1 + 0.005 * Math.sin(i * 1.7);
    let step = 0;
    let level = 1;
    for (let k = 0; k < 4; k++) {
      for (let i = 0; i < 400; i++) d.push({ step: ++step, seconds: level * noise(step), time: step });
      level *= 1.07;
    }
    // 1.07² = 1.145 ≥ 1.1: found at the second drift (from iteration 801), not the first (1.07).
    expect(d.detections.length).toBeGreaterThanOrEqual(1);
    const first = d.detections[0];
    expect(first?.evidence).toMatch(/drifts below 10 % each/);
    expect(first?.step).toBeGreaterThan(800);
    expect(first?.step).toBeLessThan(1000);
    expect(first?.signals?.shift).toBeCloseTo(1.07 ** 2 - 1, 1);
  });
});
