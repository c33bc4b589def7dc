/**
 * The figures the comparison keeps from public cluster traces, and how they are derived. The raw traces are not
 * part of Tokenworks (the team's copy is ../shared/data/traces/); scripts/derive-trace-figures.ts reads them,
 * calls {@link deriveTraceFigures} and writes the result to src/catalog/trace-figures.ts, which the comparison
 * uses by default (src/breakpoint/default-data.ts). Pure: no Node APIs.
 *
 * - Tenant GPU requests: a histogram of the openb GPU pods (whole GPUs asked for; a share of one GPU counts as
 *   one), expanded back into an ascending list by {@link expandGpuRequests}.
 * - Tenant run times: 1,000 equal-probability bins of Philly's positive run times, each represented by its
 *   conditional mean ({@link runtimeBins}). Their mean is the trace's mean, so the arrival rate of Little's law
 *   (λ = ρ·G / (E[GPUs]·E[run time])) is unchanged; a draw `bins[⌊u·1000⌋]` is a draw from the trace's
 *   distribution at a resolution of 0.1% of probability.
 * - Worker-time spread: the median and 101 percentiles of the per-iteration CoVs of Alibaba PAI's mini-batch trace.
 * - AcmeTrace: the published median and mean GPU-job queueing of five shared clusters.
 * @module
 */
import { traceCovValues } from './effects.js';
import type { TraceNode, TracePod } from './trace.js';

/** How many pods of the openb list asked for `gpus` whole GPUs (1 includes the shares of one GPU). */
export interface GpuRequestCount {
  readonly gpus: number;
  readonly pods: number;
}

/** The tenant GPU requests of the openb pod list (Alibaba cluster-trace-gpu-v2023). */
export interface OpenbPodFigures {
  readonly source: string;
  /** All pods of the list, CPU-only ones included. */
  readonly pods: number;
  /** Pods asking for one GPU or more (a share of one GPU counts as one): the tenants' requests. */
  readonly gpuPods: number;
  /** Whole-GPU requests → pods, ascending by GPUs; the counts sum to {@link OpenbPodFigures.gpuPods}. */
  readonly gpuRequests: readonly GpuRequestCount[];
  /** GPU pods asking for a share of one GPU (`num_gpu` 1, `gpu_milli` < 1000), counted as one GPU above. */
  readonly sharedRequests: number;
  /** GPU pods by GPU-model constraint (`gpu_spec`, `|`-separated alternatives kept as written); `any`: none. */
  readonly gpuModelConstraints: Readonly<Record<string, number>>;
}

/** The GPUs of the openb node list by model: the source of the default share of older servers. */
export interface OpenbNodeFigures {
  readonly source: string;
  readonly nodes: number;
  readonly gpus: number;
  /** GPUs by model code (G1-G3 are undisclosed Alibaba codes). */
  readonly gpusByModel: Readonly<Record<string, number>>;
}

/** Microsoft Philly's run times, as the comparison draws them. */
export interface PhillyRuntimeFigures {
  readonly source: string;
  /** Jobs with a positive run time (the ones kept). */
  readonly jobs: number;
  /** Jobs with a run time of 0 s, left out. */
  readonly zeroRuntimes: number;
  /** Mean of the kept run times, seconds (the mean of {@link PhillyRuntimeFigures.bins} too). */
  readonly meanSeconds: number;
  readonly medianSeconds: number;
  readonly p99Seconds: number;
  readonly maxSeconds: number;
  /**
   * E[d²]/E[d], the mean of a length-biased draw (twice the equilibrium residual life), seconds: of the trace and
   * of the bins. The bins lose the spread inside each bin, so theirs is a little lower.
   */
  readonly lengthBiasedMeanSeconds: { readonly trace: number; readonly bins: number };
  /** Conditional means of 1,000 equal-probability bins, ascending, seconds (rounded to the microsecond). */
  readonly bins: readonly number[];
}

/** The per-step spread of worker times in a shared cluster (Alibaba PAI mini-batch trace). */
export interface PaiCovFigures {
  readonly source: string;
  /** Distributed jobs in the trace (10 workers each). */
  readonly jobs: number;
  /** Per-iteration CoV values (all jobs' iterations). */
  readonly iterations: number;
  /** The median CoV as the comparison uses it: the sorted values' element ⌊n/2⌋, exact. */
  readonly median: number;
  /** Percentiles 0, 1, …, 100 of the CoV values (linear interpolation, R type 7; rounded to 1e-6). */
  readonly percentiles: readonly number[];
}

/** One cluster of the AcmeTrace cluster summary. */
export interface AcmeCluster {
  readonly name: string;
  readonly gpuJobs: number;
  readonly medianQueueSeconds: number;
  readonly meanQueueSeconds: number;
}

/** Published GPU-job queueing of five shared clusters (AcmeTrace cluster summary). */
export interface AcmeFigures {
  readonly source: string;
  readonly clusters: readonly AcmeCluster[];
}

/** Everything the product keeps from the traces (src/catalog/trace-figures.ts). */
export interface TraceFigures {
  readonly openbPods: OpenbPodFigures;
  readonly openbNodes: OpenbNodeFigures;
  readonly phillyRuntimes: PhillyRuntimeFigures;
  readonly paiCov: PaiCovFigures;
  readonly acme: AcmeFigures;
}

/** Where each figure comes from: paper, dataset and licence. */
export const TRACE_SOURCES = {
  openbPods:
    'Alibaba clusterdata cluster-trace-gpu-v2023, openb_pod_list_default.csv (Weng et al., USENIX ATC\'23, "Beware of Fragmentation: Scheduling GPU-Sharing Workloads with Fragmentation Gradient Descent"), CC BY 4.0',
  openbNodes:
    "Alibaba clusterdata cluster-trace-gpu-v2023, openb_node_list_all_node.csv (Weng et al., USENIX ATC'23), CC BY 4.0",
  phillyRuntimes:
    'Microsoft Philly (Jeon et al., USENIX ATC\'19, "Analysis of Large-Scale Multi-Tenant GPU Clusters for DNN Training Workloads"), philly_runtime.csv via Alibaba clusterdata cluster-trace-gpu-v2020 analysis/, CC BY 4.0',
  paiCov:
    'Alibaba clusterdata cluster-trace-gpu-v2020 mini-batch time, minibatch_time_coefficient_variation.csv (Xiao et al., USENIX OSDI\'20, "AntMan: Dynamic Scaling on GPU Clusters for Deep Learning"), CC BY 4.0',
  acme: 'InternLM AcmeTrace data/cluster_summary.csv (Hu et al., USENIX NSDI\'24, "Characterization of Large Language Model Development in the Datacenter"); no licence stated in the team\'s copy, so only these summary figures are quoted',
} as const;

/** Bins of the run-time table. */
export const RUNTIME_BINS = 1000;

const round = (value: number, digits: number) => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

/** The histogram of whole-GPU requests of the pods asking for one GPU or more, ascending by GPUs. */
export function gpuRequestHistogram(pods: readonly TracePod[]): GpuRequestCount[] {
  const counts = new Map<number, number>();
  for (const pod of pods) if (pod.gpus >= 1) counts.set(pod.gpus, (counts.get(pod.gpus) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a - b).map(([gpus, count]) => ({ gpus, pods: count }));
}

/** The histogram as a list of requests in ascending order, each repeated by its count (the `TenantMix` form). */
export function expandGpuRequests(histogram: readonly GpuRequestCount[]): number[] {
  return [...histogram]
    .sort((a, b) => a.gpus - b.gpus)
    .flatMap(({ gpus, pods }) => Array.from({ length: pods }, () => gpus));
}

/**
 * Positive run times as `bins` equal-probability bins, each the conditional mean of the run times inside it,
 * ascending. Bin i holds the sorted values' share from i·n/bins to (i+1)·n/bins, splitting a value between two
 * bins where n is not a multiple of `bins` (the weights are exact integers in units of 1/bins of a value). The bins'
 * mean is the values' mean (to the rounding of each bin to 1e-6 of its unit). With n ≤ bins the sorted values are
 * returned as they are.
 */
export function runtimeBins(runtimes: readonly number[], bins = RUNTIME_BINS): number[] {
  const sorted = runtimes.filter((r) => r > 0).sort((a, b) => a - b);
  const n = sorted.length;
  if (n <= bins) return sorted;
  const means: number[] = [];
  // In units of 1/bins of a value: value j covers [j·bins, (j+1)·bins), bin i covers [i·n, (i+1)·n).
  let j = 0;
  for (let i = 0; i < bins; i++) {
    const from = i * n;
    const to = from + n;
    let sum = 0;
    while (j < n) {
      const overlap = Math.min(to, (j + 1) * bins) - Math.max(from, j * bins);
      sum += overlap * (sorted[j] as number);
      if ((j + 1) * bins > to) break;
      j++;
    }
    means.push(round(sum / n, 6));
  }
  return means;
}

/** The quantile p (0-1) of ascending `sorted` values by linear interpolation (R type 7). */
export function quantile(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const low = Math.floor(h);
  const a = sorted[low] as number;
  const b = sorted[Math.min(low + 1, sorted.length - 1)] as number;
  return a + (h - low) * (b - a);
}

const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
const lengthBiasedMean = (values: readonly number[]) =>
  values.reduce((sum, v) => sum + v * v, 0) / values.reduce((sum, v) => sum + v, 0);

/** The openb pod-list figures. */
export function openbPodFigures(pods: readonly TracePod[]): OpenbPodFigures {
  const gpuPods = pods.filter((p) => p.gpus >= 1);
  const constraints: Record<string, number> = {};
  for (const pod of gpuPods) {
    const key = pod.gpuModels.length === 0 ? 'any' : pod.gpuModels.join('|');
    constraints[key] = (constraints[key] ?? 0) + 1;
  }
  return {
    source: TRACE_SOURCES.openbPods,
    pods: pods.length,
    gpuPods: gpuPods.length,
    gpuRequests: gpuRequestHistogram(pods),
    sharedRequests: gpuPods.filter((p) => p.gpus === 1 && p.gpuMilli < 1000).length,
    gpuModelConstraints: Object.fromEntries(Object.entries(constraints).sort(([a], [b]) => a.localeCompare(b))),
  };
}

/** The openb node-list figures. */
export function openbNodeFigures(nodes: readonly TraceNode[]): OpenbNodeFigures {
  const byModel: Record<string, number> = {};
  for (const node of nodes) if (node.gpus > 0) byModel[node.gpuModel] = (byModel[node.gpuModel] ?? 0) + node.gpus;
  return {
    source: TRACE_SOURCES.openbNodes,
    nodes: nodes.length,
    gpus: nodes.reduce((sum, n) => sum + n.gpus, 0),
    gpusByModel: Object.fromEntries(Object.entries(byModel).sort(([, a], [, b]) => b - a)),
  };
}

/** The Philly run-time figures, with the {@link RUNTIME_BINS} bins. */
export function phillyRuntimeFigures(runtimes: readonly number[]): PhillyRuntimeFigures {
  const kept = runtimes.filter((r) => r > 0).sort((a, b) => a - b);
  const bins = runtimeBins(kept);
  return {
    source: TRACE_SOURCES.phillyRuntimes,
    jobs: kept.length,
    zeroRuntimes: runtimes.length - kept.length,
    meanSeconds: round(mean(kept), 6),
    medianSeconds: quantile(kept, 0.5),
    p99Seconds: round(quantile(kept, 0.99), 6),
    maxSeconds: kept[kept.length - 1] ?? 0,
    lengthBiasedMeanSeconds: { trace: round(lengthBiasedMean(kept), 3), bins: round(lengthBiasedMean(bins), 3) },
    bins,
  };
}

/** The PAI CoV figures from the trace's rows (header row first, then one row per job). */
export function paiCovFigures(rows: readonly (readonly string[])[]): PaiCovFigures {
  const sortedValues = traceCovValues(rows);
  return {
    source: TRACE_SOURCES.paiCov,
    jobs: Math.max(0, rows.length - 1),
    iterations: sortedValues.length,
    median: sortedValues[sortedValues.length >> 1] ?? 0,
    percentiles: Array.from({ length: 101 }, (_, p) => round(quantile(sortedValues, p / 100), 6)),
  };
}

/** The AcmeTrace figures from the records of cluster_summary.csv (`id`, `gpu_job_num`, `med_que_time_gpu`, …). */
export function acmeFigures(records: readonly Readonly<Record<string, string | undefined>>[]): AcmeFigures {
  const number = (row: Readonly<Record<string, string | undefined>>, column: string) => {
    const value = Number(row[column]);
    if (row[column] === undefined || row[column] === '' || !Number.isFinite(value)) {
      throw new Error(`cluster summary, ${row.id ?? '?'}.${column}: expected a number, got "${row[column] ?? ''}"`);
    }
    return value;
  };
  return {
    source: TRACE_SOURCES.acme,
    clusters: records.map((row) => ({
      name: row.id ?? '',
      gpuJobs: number(row, 'gpu_job_num'),
      medianQueueSeconds: number(row, 'med_que_time_gpu'),
      meanQueueSeconds: number(row, 'avg_que_time_gpu'),
    })),
  };
}

/** The raw traces, parsed. */
export interface RawTraces {
  readonly pods: readonly TracePod[];
  readonly nodes: readonly TraceNode[];
  readonly runtimes: readonly number[];
  /** The PAI CoV table as rows of cells, header row first (`traceCovValues` reads it). */
  readonly covRows: readonly (readonly string[])[];
  readonly acmeRecords: readonly Readonly<Record<string, string | undefined>>[];
}

/** All figures of src/catalog/trace-figures.ts from the raw traces. */
export function deriveTraceFigures(raw: RawTraces): TraceFigures {
  return {
    openbPods: openbPodFigures(raw.pods),
    openbNodes: openbNodeFigures(raw.nodes),
    phillyRuntimes: phillyRuntimeFigures(raw.runtimes),
    paiCov: paiCovFigures(raw.covRows),
    acme: acmeFigures(raw.acmeRecords),
  };
}
