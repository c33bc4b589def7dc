/**
 * The Node {@link DataSource}: resolves the comparison's trace data by reference, the shipped figures or the
 * user's own trace files, reading each at most once per process (workers each keep their own cache).
 * @module
 */
import { parse } from 'csv-parse/sync';
import type { CompareDataRef, DataSource } from '../app/ports.js';
import type { CompareData } from '../breakpoint/compare.js';
import { TokenworksError } from '../errors.js';
import { loadCompareData } from './compare-data.js';
import { readTextFile } from './files.js';
import { readTracePods } from './traces.js';

/** The shipped figures, with the user's trace files in place of the parts they replace. */
async function load(ref: CompareDataRef): Promise<CompareData> {
  const shipped = await loadCompareData();
  if (ref.pods === undefined && ref.runtimes === undefined) return shipped;
  // Whole-GPU requests, as the shipped histogram counts them (shares below one GPU do not gang-schedule).
  const gpuRequests =
    ref.pods === undefined
      ? shipped.tenants.gpuRequests
      : (await readTracePods(ref.pods)).filter((pod) => pod.gpus >= 1).map((pod) => pod.gpus);
  let durations = shipped.tenants.durations;
  if (ref.runtimes !== undefined) {
    const rows = parse(await readTextFile(ref.runtimes), { columns: true }) as { runtime?: string }[];
    durations = rows.map((row) => Number(row.runtime)).filter((seconds) => seconds > 0 && Number.isFinite(seconds));
  }
  if (gpuRequests.length === 0) {
    throw new TokenworksError('SPEC_INVALID', `${ref.pods}: no pod requests a whole GPU (the gpu_milli column)`, {
      file: ref.pods,
    });
  }
  if (durations.length === 0) {
    throw new TokenworksError('SPEC_INVALID', `${ref.runtimes}: no positive run time in a "runtime" column`, {
      file: ref.runtimes,
    });
  }
  return { ...shipped, tenants: { gpuRequests, durations } };
}

/** Creates a data source with a per-process cache keyed by the reference. */
export function createNodeDataSource(): DataSource {
  const cache = new Map<string, Promise<CompareData>>();
  return {
    compareData(ref: CompareDataRef) {
      const key = JSON.stringify([ref.pods ?? null, ref.runtimes ?? null]);
      let data = cache.get(key);
      if (!data) {
        data = load(ref);
        cache.set(key, data);
      }
      return data;
    },
  };
}
