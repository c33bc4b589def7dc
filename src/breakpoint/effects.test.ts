import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { estimate } from '../perf/estimate.js';
import { validateSpec } from '../spec/load.js';
import {
  expectedMaxNormal,
  interferenceSlowdown,
  mixedGenerationStep,
  placedSystem,
  placementCost,
  type SharedFabric,
  traceCovValues,
} from './effects.js';

describe('fragmented placement on a tapered shared fabric', () => {
  // Llama 3 8B on 64 H100: TP8 inside each node, DP8 across nodes, plain all-reduce of gradients not overlapped,
  // so the step's only scale-out traffic is the DP all-reduce.
  const spec = validateSpec({
    workload: {
      model: 'llama3-8b',
      training: { totalTokens: '1T', sequenceLength: 8192, globalBatch: { sequences: 64 } },
    },
    system: { accelerator: 'h100-sxm', gpuCount: 64 },
    plan: { tp: 8, pp: 1, dp: 8, sharding: 'none', overlap: { gradReduce: false } },
  });
  if (!spec.ok || !spec.value.system || !spec.value.plan) throw new Error('spec');
  const { workload, system, plan } = spec.value as Required<typeof spec.value>;
  const fabric: SharedFabric = { gpusPerLeaf: 32, taper: 4, tenantLinkLoad: 0.25 };

  it('is free inside one leaf, and slower by the taper over two', () => {
    const one = placementCost(workload, system, plan, 1, fabric);
    const two = placementCost(workload, system, plan, 2, fabric);
    if (!one || !two) throw new Error('estimate failed');
    expect(one.slowdown).toBe(1);
    const aligned = estimate(workload, placedSystem(system, 1, fabric), plan);
    const placed = estimate(workload, placedSystem(system, 2, fabric), plan);
    if (!aligned.ok || !placed.ok) throw new Error('estimate failed');
    // Hand computation: the DP ring has one GPU per node (stride 8), so its bus bandwidth is one NIC's, 47 GB/s,
    // cut by the taper over the other tenants' share: 4 / (1 − 0.25) = 5.33×. Latency: 20 µs + 6 tree steps × 5 µs.
    const latency = 20e-6 + 6 * 5e-6;
    const expectedDp = latency + (aligned.step.exposedCommunication.dp - latency) * (4 / 0.75);
    expect(placed.step.exposedCommunication.dp).toBeCloseTo(expectedDp, 9);
    // Nothing else in the step changes.
    expect(two.placedSeconds - two.alignedSeconds).toBeCloseTo(expectedDp - aligned.step.exposedCommunication.dp, 9);
    expect(two.slowdown).toBeGreaterThan(1);
  });
});

describe('interference: a synchronous step waits for its slowest worker', () => {
  it('uses the closed-form expected maximum of n standard normals', () => {
    expect(expectedMaxNormal(1)).toBe(0);
    expect(expectedMaxNormal(2)).toBeCloseTo(1 / Math.sqrt(Math.PI), 5);
    expect(expectedMaxNormal(3)).toBeCloseTo(3 / (2 * Math.sqrt(Math.PI)), 5);
    // Tabulated: E[max of 10] = 1.538753 (Teichroew 1956).
    expect(expectedMaxNormal(10)).toBeCloseTo(1.538753, 4);
  });

  it('gives the PAI trace median spread (CoV 0.093 across workers) its cost at 128 workers', () => {
    const rows = parse(
      readFileSync(
        // The raw trace is test data from the team's copy (../shared/data/traces/), not part of Tokenworks.
        new URL(
          '../../../shared/data/traces/alibaba-pai-v2020/minibatch_time_coefficient_variation.csv',
          import.meta.url,
        ),
        'utf8',
      ),
    ) as string[][];
    const values = traceCovValues(rows);
    const median = values[values.length >> 1] as number;
    expect(median).toBeCloseTo(0.0935, 3);
    // 1 + 0.0935 × E[max of 128 N(0,1)] (2.6 from the tables): about 1.24.
    expect(interferenceSlowdown(median, 128)).toBeCloseTo(1 + median * expectedMaxNormal(128), 12);
    expect(expectedMaxNormal(128)).toBeGreaterThan(2.5);
    expect(expectedMaxNormal(128)).toBeLessThan(2.7);
  });
});

describe('mixed GPU generations', () => {
  it('runs at the older GPU whenever the placement includes one', () => {
    // 10% older nodes, 2 nodes drawn: P(at least one older) = 1 − 0.9² = 0.19; 0.81 × 10 s + 0.19 × 15 s.
    const mixed = mixedGenerationStep(10, 15, 0.1, 2);
    expect(mixed.probabilityOlder).toBeCloseTo(0.19, 12);
    expect(mixed.seconds).toBeCloseTo(10.95, 12);
    expect(mixedGenerationStep(10, 15, 0, 100).seconds).toBe(10);
  });
});
