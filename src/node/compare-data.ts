/**
 * The trace data the comparison draws from. By default it is the figures derived from public traces
 * (src/breakpoint/default-data.ts: the openb GPU-request histogram, 1,000 bins of Philly run times, the PAI
 * median CoV); no file is read. `tokenworks compare --trace-pods FILE` (an openb-format pod list) and
 * `--trace-runtimes FILE` (a Philly-format `runtime` column) replace the request histogram and the run times with
 * a user's own trace, in the same form (`tenantMix`). File problems are user errors naming the path.
 * @module
 */
import type { CompareData } from '../breakpoint/compare.js';
import { DEFAULT_COMPARE_DATA } from '../breakpoint/default-data.js';
import { tenantMix } from '../breakpoint/tenants.js';
import { TokenworksError } from '../errors.js';
import { readTracePods, readTraceRuntimes } from './traces.js';

/** Raw traces that replace parts of the default data. */
export interface CompareTraceFiles {
  /** An openb-format pod list: its GPU pods replace the tenants' GPU requests. */
  readonly tracePods?: string;
  /** A Philly-format run-time list: its positive run times replace the tenants' run times. */
  readonly traceRuntimes?: string;
}

/** The comparison's data: the default figures, with the tenant requests or run times of the given traces. */
export async function loadCompareData(files: CompareTraceFiles = {}): Promise<CompareData> {
  if (files.tracePods === undefined && files.traceRuntimes === undefined) return DEFAULT_COMPARE_DATA;
  const defaults = DEFAULT_COMPARE_DATA.tenants;
  let gpuRequests = defaults.gpuRequests;
  let durations = defaults.durations;
  if (files.tracePods !== undefined) {
    const path = files.tracePods;
    gpuRequests = tenantMix(await readTracePods(path), []).gpuRequests;
    if (gpuRequests.length === 0) {
      throw new TokenworksError('SPEC_INVALID', `${path}: no pod asks for a GPU (num_gpu ≥ 1)`, { file: path });
    }
  }
  if (files.traceRuntimes !== undefined) {
    durations = tenantMix([], await readTraceRuntimes(files.traceRuntimes)).durations;
  }
  return { ...DEFAULT_COMPARE_DATA, tenants: { gpuRequests, durations } };
}
