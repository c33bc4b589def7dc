import { describe, expect, it } from 'vitest';
import { loadSpec } from '../spec/load.js';
import type { ResolvedPlan } from '../spec/resolve.js';
import { groupsKey, KEY_BITS, layerCostsKey, memo, packField, shapeKey } from './estimate-cache.js';

const base: ResolvedPlan = (() => {
  const loaded = loadSpec(
    `workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 64 } } }
system: { accelerator: h100-sxm, gpuCount: 8 }
plan: { tp: 2, pp: 2, dp: 2 }`,
    'yaml',
  );
  if (!loaded.ok || !loaded.value.plan) throw new Error('spec');
  return loaded.value.plan;
})();
const plan = (over: Partial<ResolvedPlan>): ResolvedPlan => ({ ...base, ...over });

describe('estimate memo keys', () => {
  it.each(Object.entries(KEY_BITS))('the %s key fits a double exactly (at most 53 bits)', (_, bits) => {
    expect(Object.values(bits).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(53);
  });

  it('packs fields most significant first and refuses what does not fit', () => {
    expect(packField(packField(0, 3, 4), 5, 4)).toBe(3 * 16 + 5);
    expect(packField(0, 16, 4)).toBeNaN();
    expect(packField(0, -1, 4)).toBeNaN();
    expect(packField(0, 1.5, 4)).toBeNaN();
    expect(packField(Number.NaN, 1, 4)).toBeNaN();
  });

  it('no memo for a plan wider than a field (never a shared key)', () => {
    expect(groupsKey(plan({ tp: 1024 }))).toBeUndefined();
    expect(shapeKey(plan({}), 1024)).toBeUndefined();
    expect(layerCostsKey(plan({ ep: 2 ** 25 }))).toBeUndefined();
  });

  it('distinct plans get distinct keys', () => {
    const groups = new Set<number | undefined>();
    const shapes = new Set<number | undefined>();
    let count = 0;
    for (const tp of [1, 2, 8, 64, 1023])
      for (const cp of [1, 2, 255])
        for (const ep of [1, 4, 1023])
          for (const dp of [1, 3, 2 ** 24]) {
            groups.add(groupsKey(plan({ tp, cp, ep, dp })));
            count++;
          }
    expect(groups.size).toBe(count);
    count = 0;
    for (const microBatch of [1, 2, 1023])
      for (const recomputation of ['none', 'selective', 'full'] as const)
        for (const recomputeLayers of [undefined, 1, 2, 1023])
          for (const chunkMax of [1, 2, 1023])
            for (const flag of [false, true]) {
              shapes.add(
                shapeKey(
                  plan({ microBatch, recomputation, recomputeLayers, sequenceParallel: flag, flashAttention: !flag }),
                  chunkMax,
                ),
              );
              count++;
            }
    expect(shapes.has(undefined)).toBe(false);
    expect(shapes.size).toBe(count);
    const overlap = (tpComm: boolean, epComm: boolean) => ({ ...base.overlap, tpComm, epComm });
    const layers = [1, 2].flatMap((ep) =>
      [false, true].flatMap((a) => [false, true].map((b) => layerCostsKey(plan({ ep, overlap: overlap(a, b) })))),
    );
    expect(new Set(layers).size).toBe(8);
  });

  it('memo computes once per key, every time without a map or a key', () => {
    const map = new Map<number, { n: number }>();
    let calls = 0;
    const compute = () => ({ n: ++calls });
    expect(memo(map, 7, compute)).toBe(memo(map, 7, compute));
    expect(calls).toBe(1);
    memo(map, undefined, compute);
    memo(undefined, 7, compute);
    expect(calls).toBe(3);
    expect(map.size).toBe(1);
  });
});
