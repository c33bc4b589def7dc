import { describe, expect, it } from 'vitest';
import { loadSpec } from '../spec/load.js';
import type { ResolvedSystem } from '../spec/resolve.js';
import { allGatherSeconds, allReduceSeconds, allToAllSeconds, placeGroup } from './collectives.js';

function system(gpus: number, extra = ''): ResolvedSystem {
  const result = loadSpec(
    `workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 64 } } }
system: { accelerator: h100-sxm, gpuCount: ${gpus}${extra} }`,
    'yaml',
  );
  if (!result.ok || !result.value.system) throw new Error(JSON.stringify(result));
  return result.value.system;
}

describe('collectives', () => {
  const nvlinkBus = 370e9; // nccl-tests#212: 370 GB/s bus bandwidth on H100 NVLink
  const nicBus = 47e9; // nccl-tests#290: 47 GB/s per 400G NIC

  it('a TP group inside one node gets NVLink bus bandwidth', () => {
    const link = placeGroup(system(64), 8, 1);
    expect(link.domains).toBe(1);
    expect(link.busBytesPerSecond).toBeCloseTo(nvlinkBus, -6);
  });

  it('ring all-reduce moves 2(n−1)/n of the buffer per rank', () => {
    const link = placeGroup(system(64), 8, 1);
    const bytes = 1e9;
    // latency: a double binary tree's 2·log2(8) = 6 steps beat a ring's 14
    const expected = link.latencySeconds + 6 * link.hopSeconds + (bytes * 2 * 7) / 8 / nvlinkBus;
    expect(allReduceSeconds(link, bytes)).toBeCloseTo(expected, 9);
    // and all-gather half of that volume, over a ring of 7 steps
    expect(allGatherSeconds(link, bytes) - link.latencySeconds - 7 * link.hopSeconds).toBeCloseTo(
      (bytes * 7) / 8 / nvlinkBus,
      9,
    );
  });

  it('a ring over thousands of ranks is latency-bound: n − 1 network hops', () => {
    const link = placeGroup(system(8192), 4096, 2);
    expect(link.hopSeconds).toBe(5e-6);
    expect(allGatherSeconds(link, 1e6)).toBeGreaterThan(4095 * 5e-6);
  });

  it('a DP group with one GPU per node runs at one NIC; with eight per node at eight NICs capped by NVLink', () => {
    const one = placeGroup(system(512), 64, 8); // stride 8 = TP 8 inside each node
    expect(one.domains).toBe(64);
    expect(one.busBytesPerSecond).toBeCloseTo(nicBus, -6);
    const eight = placeGroup(system(512), 512, 1);
    expect(eight.busBytesPerSecond).toBeCloseTo(Math.min(nvlinkBus, 8 * nicBus), -6);
  });

  it('oversubscription tapers traffic that leaves a pod', () => {
    const tapered = placeGroup(system(8192, ', scaleOut: { podSize: 3072, oversubscription: 7 }'), 64, 128);
    expect(tapered.scaleOutBytesPerSecond).toBeCloseTo(nicBus / 7, -6);
    const inside = placeGroup(system(8192, ', scaleOut: { podSize: 3072, oversubscription: 7 }'), 8, 8);
    expect(inside.scaleOutBytesPerSecond).toBeCloseTo(nicBus, -6);
  });

  it('all-to-all splits traffic between NVLink peers and remote peers', () => {
    const link = placeGroup(system(64), 16, 1); // 8 per node, 2 nodes
    const bytes = 16e6;
    const expected =
      link.latencySeconds +
      (bytes * 7) / 16 / link.scaleUpBytesPerSecond +
      (bytes * 8) / 16 / link.scaleOutBytesPerSecond;
    expect(allToAllSeconds(link, bytes)).toBeCloseTo(expected, 12);
  });

  it('a group of one costs nothing', () => {
    const link = placeGroup(system(8), 1, 1);
    expect(allReduceSeconds(link, 1e9)).toBe(0);
  });
});
