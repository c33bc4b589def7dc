import { describe, expect, it } from 'vitest';
import { EventHeap, type QueuedEvent } from './heap.js';
import { ReplicaStreams } from './random.js';
import { Simulation } from './simulation.js';

describe('event heap', () => {
  it('pops in (time, priority, sequence) order, matching a stable sort', () => {
    const heap = new EventHeap();
    const pushed: QueuedEvent[] = [];
    let state = 12345;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    for (let sequence = 0; sequence < 2000; sequence++) {
      // Few distinct times and priorities, so ties are common.
      const event = {
        time: Math.floor(next() * 50),
        priority: Math.floor(next() * 3),
        sequence,
        fire: () => {},
        cancelled: false,
      };
      pushed.push(event);
      heap.push(event);
    }
    const expected = [...pushed].sort((a, b) => a.time - b.time || a.priority - b.priority || a.sequence - b.sequence);
    const popped: QueuedEvent[] = [];
    for (let event = heap.pop(); event; event = heap.pop()) popped.push(event);
    expect(popped.map((e) => e.sequence)).toEqual(expected.map((e) => e.sequence));
  });
});

describe('simulation kernel', () => {
  it('fires same-time events by priority, then in scheduling order, and skips cancelled ones', () => {
    const sim = new Simulation();
    const fired: string[] = [];
    sim.at(5, () => fired.push('b1'), 1);
    sim.at(5, () => fired.push('a'), 0);
    sim.at(5, () => fired.push('b2'), 1);
    const cancelled = sim.at(3, () => fired.push('never'));
    sim.at(1, () => {
      fired.push('first');
      sim.after(1, () => fired.push('nested'));
    });
    sim.cancel(cancelled);
    sim.run(100);
    expect(fired).toEqual(['first', 'nested', 'a', 'b1', 'b2']);
    expect(sim.now).toBe(100);
    expect(sim.eventsProcessed).toBe(5);
  });

  it('runs until a time, leaves later events queued, and stops when asked', () => {
    const sim = new Simulation();
    const fired: number[] = [];
    for (const t of [1, 2, 3, 4]) sim.at(t, () => fired.push(t));
    expect(sim.run(2.5)).toBe(false);
    expect(fired).toEqual([1, 2]);
    expect(sim.now).toBe(2.5);
    sim.at(3, () => sim.stop());
    expect(sim.run(10)).toBe(true);
    expect(sim.now).toBe(3);
    expect(() => sim.at(1, () => {})).toThrow(/clock is at 3/);
  });
});

describe('random streams', () => {
  const draws = (streams: ReplicaStreams, index: number, n: number) =>
    Array.from({ length: n }, () => streams.stream(index).uniform());

  it('repeat for the same seed, replica and stream, and differ otherwise', () => {
    const a = draws(new ReplicaStreams(7, 3), 2, 5);
    expect(draws(new ReplicaStreams(7, 3), 2, 5)).toEqual(a);
    expect(draws(new ReplicaStreams(7, 4), 2, 5)).not.toEqual(a);
    expect(draws(new ReplicaStreams(8, 3), 2, 5)).not.toEqual(a);
    expect(draws(new ReplicaStreams(7, 3), 1, 5)).not.toEqual(a);
  });

  it('keeps streams independent: drawing from one never shifts another', () => {
    const quiet = new ReplicaStreams(1, 0);
    const busy = new ReplicaStreams(1, 0);
    draws(busy, 0, 1000);
    expect(draws(busy, 1, 10)).toEqual(draws(quiet, 1, 10));
  });

  it('gives uniforms and exponentials with the right means (4 standard errors)', () => {
    const stream = new ReplicaStreams(42, 0).stream(0);
    const n = 100_000;
    let uniformSum = 0;
    let exponentialSum = 0;
    let inRange = true;
    for (let i = 0; i < n; i++) {
      const u = stream.uniform();
      if (!(u > 0 && u < 1)) inRange = false;
      uniformSum += u;
      exponentialSum += stream.exponential(3);
    }
    expect(inRange).toBe(true);
    // Uniform(0,1): mean 1/2, sd sqrt(1/12); exponential of mean 3: sd 3.
    expect(Math.abs(uniformSum / n - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(exponentialSum / n - 3)).toBeLessThan(4 * (3 / Math.sqrt(n)));
  });
});
