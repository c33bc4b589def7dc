import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { allocationProfile, type ClusterJob, ClusterSimulation, jobsFromPods, runCluster } from './cluster.js';
import { nodesFromRecords, podsFromRecords, type TraceNode } from './trace.js';

const node = (name: string, gpus: number, gpuModel = 'H100'): TraceNode => ({
  name,
  gpus,
  gpuModel,
  cpuMilli: 96000,
  memoryMiB: 1 << 20,
});
const job = (name: string, arrival: number, duration: number, gpus: number, extra: Partial<ClusterJob> = {}) => ({
  name,
  arrival,
  duration,
  cpuMilli: 1000,
  memoryMiB: 1024,
  gpus,
  gpuMilli: 1000,
  gpuModels: [],
  ...extra,
});

describe('shared cluster scheduler (hand-checked cases)', () => {
  // Two 8-GPU nodes, one per leaf. A takes node 0 for 10 s; the gang B needs both nodes; C asks for 4 GPUs.
  const nodes = [node('n0', 8), node('n1', 8)];
  const jobs = [job('A', 0, 10, 8), job('B', 1, 5, 0, { nodes: 2 }), job('C', 2, 20, 4)];

  it('FIFO: the waiting gang blocks the queue behind it', () => {
    const run = runCluster(nodes, jobs, { policy: 'fifo', nodesPerLeaf: 1 });
    // A at 0; B waits for A (10); C waits behind B and starts when B ends (15).
    expect(run.starts).toEqual([0, 10, 15]);
    expect(run.placements[1]).toEqual({ nodes: [0, 1], leaves: 2 });
  });

  it('backfill: a small job jumps ahead and starves the gang', () => {
    const run = runCluster(nodes, jobs, { policy: 'backfill', nodesPerLeaf: 1 });
    // C fits on node 1 at 2 and holds it until 22; B needs both nodes idle: 22.
    expect(run.starts).toEqual([0, 22, 2]);
    // GPU-seconds: A 8·10, B 16·5, C 4·20 = 240 over 27 s.
    expect(run.allocation.meanGpus).toBeCloseTo(240 / 27, 12);
    // Peak: the gang alone holds all 16 (A + C reach only 12; C ends as B starts at 22).
    expect(run.allocation.peakGpus).toBe(16);
  });

  it('packs GPU shares by best fit, and honours GPU-model constraints', () => {
    const shared = [node('a', 1), node('b', 1, 'T4')];
    const run = runCluster(
      shared,
      [
        job('s600', 0, 10, 1, { gpuMilli: 600 }),
        job('s500', 0, 10, 1, { gpuMilli: 500, gpuModels: ['H100'] }),
        job('s400', 0, 10, 1, { gpuMilli: 400 }),
        job('t4', 0, 10, 1, { gpuModels: ['T4'] }),
        job('v100', 0, 10, 1, { gpuModels: ['V100'] }),
      ],
      { policy: 'backfill' },
    );
    // s600 takes node a (first of equals); s500 must have an H100 and 400 are left: it waits for s600 (10);
    // s400 fits the 400 left on a (tightest); t4 takes node b; no V100 anywhere.
    expect(run.starts).toEqual([0, 10, 0, 0, undefined]);
    expect(run.placements[2]?.nodes).toEqual([0]);
    expect(run.unplaceable).toEqual([4]);
  });
});

describe('the openb trace (Alibaba cluster-trace-gpu-v2023) replayed on its own nodes', () => {
  // The raw trace is test data from the team's copy (../shared/data/traces/), not part of Tokenworks.
  const dir = new URL('../../../shared/data/traces/alibaba-openb-v2023/', import.meta.url);
  const read = (file: string) =>
    parse(readFileSync(new URL(file, dir), 'utf8'), { columns: true, skip_empty_lines: true }) as Record<
      string,
      string
    >[];
  const nodes = nodesFromRecords(read('openb_node_list_all_node.csv'));
  const pods = podsFromRecords(read('openb_pod_list_default.csv'));
  if (!nodes.ok || !pods.ok) throw new Error('trace does not parse');

  it('has the published shape: 1,523 nodes, 6,212 GPUs, 8,152 pods', () => {
    expect(nodes.value.length).toBe(1523);
    expect(nodes.value.reduce((sum, n) => sum + n.gpus, 0)).toBe(6212);
    expect(pods.value.length).toBe(8152);
  });

  it("reproduces the trace's own GPU allocation, and its near-zero queueing", () => {
    const jobs = jobsFromPods(pods.value);
    const run = runCluster(nodes.value, jobs, { policy: 'fifo' });
    expect(run.unplaceable).toEqual([]);
    // The trace's own allocation: every pod that ran, from its scheduled to its deletion time.
    const ran = pods.value.filter((p) => p.scheduled !== undefined);
    const end = Math.max(...pods.value.map((p) => p.deleted));
    const trace = allocationProfile(
      ran.map((p) => [
        p.scheduled as number,
        p.deleted,
        p.gpus === 1 && p.gpuMilli < 1000 ? p.gpuMilli / 1000 : p.gpus,
      ]),
      0,
      end,
    );
    expect(Math.abs(run.allocation.meanGpus / trace.meanGpus - 1)).toBeLessThan(0.01);
    expect(Math.abs(run.allocation.peakGpus / trace.peakGpus - 1)).toBeLessThan(0.05);
    // Queueing: the trace's median wait is 2 s (scheduler latency, not modelled); the replay has no wait at all,
    // since this sample of pods never holds more than about 1% of the GPUs.
    const waits = ran.map((p) => (p.scheduled as number) - p.created).sort((a, b) => a - b);
    expect(waits[waits.length >> 1]).toBe(2);
    const simulated = jobs.map((j, i) => (run.starts[i] as number) - j.arrival).sort((a, b) => a - b);
    expect(simulated[simulated.length - 1]).toBe(0);
    expect(trace.peakGpus / 6212).toBeLessThan(0.011);
  });

  it('names the row, column and value of a bad record', () => {
    const bad = nodesFromRecords([{ sn: 'x', cpu_milli: '1000', memory_mib: '10', gpu: '-8', model: 'H100' }], 'n.csv');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues[0]).toMatchObject({ path: 'n.csv:2.gpu', value: '-8' });
  });
});

describe('forks and early stops give the whole run', () => {
  // A small loaded cluster: 12 nodes of 1-8 GPUs in leaves of 4, two GPU models, jobs of whole GPUs, shares and
  // CPU, arriving at whole seconds (ties included).
  const nodes = Array.from({ length: 12 }, (_, i) =>
    node(`n${i}`, [8, 4, 2, 1][i % 4] as number, i % 3 ? 'H100' : 'A100'),
  );
  let state = 7;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const jobs: ClusterJob[] = Array.from({ length: 300 }, (_, i) =>
    job(`j${i}`, Math.floor(next() * 400), Math.floor(next() * 120), 1 + Math.floor(next() * 4), {
      ...(i % 7 === 0 && { gpuMilli: 250 + Math.floor(next() * 7) * 100 }),
      ...(i % 5 === 0 && { cpuMilli: 0, memoryMiB: 0 }),
    }),
  );
  const gang = job('gang', 150, 500, 0, { nodes: 3, gpuModels: ['H100'] });

  it.each(['fifo', 'backfill'] as const)(
    '%s: a fork with the gang added at its arrival is the run with it',
    (policy) => {
      const whole = runCluster(nodes, [...jobs, gang], { policy, nodesPerLeaf: 4 });
      const base = new ClusterSimulation(nodes, jobs, { policy, nodesPerLeaf: 4 });
      base.run(150);
      const fork = base.fork();
      const index = fork.add(gang);
      expect(index).toBe(jobs.length);
      fork.run(Number.POSITIVE_INFINITY);
      expect(fork.starts()).toEqual(whole.starts);
      expect(fork.placementOf(index)).toEqual(whole.placements[index]);
      // The run it was forked from goes on as the run without the gang.
      base.run(Number.POSITIVE_INFINITY);
      expect(base.starts()).toEqual(runCluster(nodes, jobs, { policy, nodesPerLeaf: 4 }).starts);
    },
  );

  it('a run stopped when its watched jobs start has their starts', () => {
    const whole = runCluster(nodes, [...jobs, gang], { policy: 'fifo', nodesPerLeaf: 4 });
    const run = new ClusterSimulation(nodes, [...jobs, gang], { policy: 'fifo', nodesPerLeaf: 4 });
    const watched = [jobs.length, 10, 200, 250];
    run.watch(watched);
    expect(run.run(Number.POSITIVE_INFINITY, { stopWhenWatchedStart: true })).toBe(true);
    for (const i of watched) expect(run.startOf(i)).toBe(whole.starts[i]);
  });

  it('the allocation of whole GPUs, without a comparison sort, is the sorted definition exactly', () => {
    const sorted = (intervals: [number, number, number][], from: number, to: number) => {
      const events: [number, number][] = [];
      for (const [s, e, g] of intervals) {
        const a = Math.max(s, from);
        const b = Math.min(e, to);
        if (b > a && g > 0) events.push([a, g], [b, -g]);
      }
      events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
      let current = 0;
      let last = from;
      let area = 0;
      let peak = 0;
      for (const [t, d] of events) {
        area += current * (t - last);
        current += d;
        last = t;
        if (current > peak) peak = current;
      }
      return { from, to, meanGpus: to > from ? area / (to - from) : 0, peakGpus: peak };
    };
    for (const share of [false, true]) {
      const intervals = Array.from({ length: 500 }, (): [number, number, number] => {
        const a = Math.floor(next() * 100) / 3;
        return [a, a + Math.floor(next() * 40) / 7, share ? Math.floor(next() * 10) / 10 : Math.floor(next() * 9)];
      });
      expect(allocationProfile(intervals, 2, 90)).toEqual(sorted(intervals, 2, 90));
    }
  });
});
