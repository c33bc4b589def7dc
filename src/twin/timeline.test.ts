import { describe, expect, it } from 'vitest';
import { TimelineRecorder } from './timeline.js';

describe('timeline', () => {
  it('spreads a segment over the buckets it overlaps, time-weighted, with the lowest and highest level among its segments', () => {
    const recorder = new TimelineRecorder(10);
    recorder.record(5, 25, 100, 2);
    recorder.record(25, 30, 0, 1);
    const timeline = recorder.timeline();
    expect(timeline.tokensPerSecond).toEqual([50, 100, 50]);
    expect(timeline.powerMW.mean).toEqual([1, 2, 1.5]);
    // The mean counts the time no segment covered as 0 MW; the minimum is over the segments only.
    expect(timeline.powerMW.min).toEqual([2, 2, 1]);
    expect(timeline.powerMW.max).toEqual([2, 2, 2]);
  });

  it('walks buckets by index, so bucket edges that do not round-trip in floating point never stall it', () => {
    // 0.1 is not exact in binary: (i + 1)·0.1 can land back inside bucket i.
    const recorder = new TimelineRecorder(0.1);
    let t = 0;
    for (let i = 0; i < 1000; i++) {
      recorder.record(t, t + 0.07, 1, 1);
      t += 0.07;
    }
    const timeline = recorder.timeline();
    expect(timeline.tokensPerSecond.length).toBe(Math.ceil(t / 0.1));
    const total = timeline.tokensPerSecond.reduce((sum, rate) => sum + rate * 0.1, 0);
    expect(total).toBeCloseTo(t, 9);
  });

  it('ignores empty segments', () => {
    const recorder = new TimelineRecorder(60);
    recorder.record(30, 30, 5, 5);
    expect(recorder.timeline().tokensPerSecond).toEqual([]);
  });
});
