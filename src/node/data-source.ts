/**
 * The Node {@link DataSource}: resolves the comparison's trace data by reference, the shipped figures or the
 * user's own trace files (reduced as the shipped ones are, by `loadCompareData`), reading each at most once per
 * process (workers each keep their own cache).
 * @module
 */
import type { CompareDataRef, DataSource } from '../app/ports.js';
import type { CompareData } from '../breakpoint/compare.js';
import { loadCompareData } from './compare-data.js';

/** Creates a data source with a per-process cache keyed by the reference. */
export function createNodeDataSource(): DataSource {
  const cache = new Map<string, Promise<CompareData>>();
  return {
    compareData(ref: CompareDataRef) {
      const key = JSON.stringify([ref.pods ?? null, ref.runtimes ?? null]);
      let data = cache.get(key);
      if (!data) {
        data = loadCompareData({
          ...(ref.pods !== undefined && { tracePods: ref.pods }),
          ...(ref.runtimes !== undefined && { traceRuntimes: ref.runtimes }),
        });
        cache.set(key, data);
      }
      return data;
    },
  };
}
