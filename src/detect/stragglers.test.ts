import { describe, expect, it } from 'vitest';
import { RankStragglerDetector } from './stragglers.js';

/** Rank times: 1 s × a fixed ±1 % pattern, `slow` ranks × their factor from iteration `from`. */
function feed(d: RankStragglerDetector, iterations: number, step: number, slow: Map<number, [number, number]>) {
  for (let i = 0; i < iterations; i++) {
    const times = Array.from({ length: d.ranks }, (_, r) => {
      const [factor, from] = slow.get(r) ?? [1, 0];
      return (1 + 0.01 * Math.sin(r * 7.3 + i * 1.1)) * (i >= from ? factor : 1);
    });
    d.pushIteration((i + 1) * step, times);
  }
}

describe('rank stragglers', () => {
  it('flags a 20 % straggler once, with a score near 1/1.2 below its threshold', () => {
    const d = new RankStragglerDetector(64);
    feed(d, 40, 6, new Map([[9, [1.2, 10]]]));
    expect(d.detections.map((x) => x.rank)).toEqual([9]);
    const [found] = d.detections;
    expect(found?.score).toBeCloseTo(1 / 1.2, 1);
    expect(found?.score).toBeLessThan(found?.threshold as number);
    expect(found?.host).toBe('host-1');
    // Two slow iterations are needed: decided at the end of the 11th or 12th iteration (6 s each).
    expect(found?.time).toBeLessThanOrEqual(12 * 6);
  });

  it('one hiccup, however large, does not flag a rank', () => {
    const d = new RankStragglerDetector(8);
    const hiccup = new Map<number, [number, number]>();
    for (let i = 0; i < 30; i++) {
      const times = Array.from(
        { length: 8 },
        (_, r) => (1 + 0.03 * Math.sin(r * 7.3 + i * 1.1)) * (r === 3 && i === 12 ? 1.5 : 1),
      );
      d.pushIteration((i + 1) * 10, times);
    }
    expect(hiccup.size).toBe(0);
    expect(d.detections).toHaveLength(0);
  });

  it('a clock that goes back starts afresh instead of going quiet', () => {
    const d = new RankStragglerDetector(16);
    feed(d, 20, 10, new Map());
    // Run seconds restart from 0 with rank 2 twice as slow.
    for (let i = 0; i < 10; i++) {
      const times = Array.from({ length: 16 }, (_, r) => (r === 2 ? 2 : 1) * (1 + 0.01 * Math.sin(r + i)));
      d.pushIteration((i + 1) * 10, times);
    }
    expect(d.detections.map((x) => x.rank)).toEqual([2]);
  });
});
