/**
 * The other tenants of a shared cluster: jobs whose GPU requests come from the openb pod list (GPU pods; a share
 * of one GPU counts as one whole GPU in a training cluster) and whose run times come from Microsoft Philly's
 * (83,152 jobs; Jeon et al., ATC'19, via Alibaba clusterdata v2020), arriving as a Poisson process at the rate
 * that offers the cluster a target utilisation: λ = ρ·G / (E[GPUs]·E[run time]). And the flagship gang's wait to
 * start in that cluster, with the tenants' extra waiting it causes. By default the mix is built from the figures
 * derived from those traces (src/catalog/trace-figures.ts: the request histogram and 1,000 equal-probability
 * run-time bins); {@link tenantMix} builds the same form from raw traces.
 * @module
 */
import type { RandomStream } from '../twin/engine/index.js';
import { type ClusterJob, type ClusterOptions, type ClusterRun, type Placement, runCluster } from './cluster.js';
import { expandGpuRequests, type GpuRequestCount, gpuRequestHistogram, RUNTIME_BINS, runtimeBins } from './figures.js';
import type { TraceNode, TracePod } from './trace.js';

/** Empirical distributions to draw tenant jobs from: each draw picks an element with equal probability. */
export interface TenantMix {
  /** GPUs asked for, one element per pod, ascending. */
  readonly gpuRequests: readonly number[];
  /** Run times, seconds, ascending: equal-probability bins of a trace, or the values themselves. */
  readonly durations: readonly number[];
}

/** The tenant mix of a request histogram and a run-time table (src/catalog/trace-figures.ts). */
export function tenantMixFromFigures(gpuRequests: readonly GpuRequestCount[], durations: readonly number[]): TenantMix {
  return { gpuRequests: expandGpuRequests(gpuRequests), durations: [...durations].sort((a, b) => a - b) };
}

/**
 * The tenant mix of raw traces, in the form of the default one: the GPU pods (shares rounded up to one GPU) in
 * ascending order, and the positive run times as {@link RUNTIME_BINS} equal-probability bins of conditional means
 * (the values themselves when there are no more than that), which keep the mean run time exactly.
 */
export function tenantMix(pods: readonly TracePod[], runtimes: readonly number[]): TenantMix {
  return tenantMixFromFigures(gpuRequestHistogram(pods), runtimeBins(runtimes, RUNTIME_BINS));
}

const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

/**
 * Tenant jobs over [from, to) offering `utilisation` of `clusterGpus`. The cluster starts in steady state: the
 * jobs already running at `from` are those of an M/G/∞ system in equilibrium, Poisson(λ·E[d]) of them, each of a
 * length-biased duration (drawn with probability ∝ d) with a uniform share of it left (the renewal-theory
 * residual life). Without this, Philly's heavy tail (P99 3.3 days) would take weeks of warm-up to load the cluster.
 */
export function tenantJobs(
  mix: TenantMix,
  options: { clusterGpus: number; utilisation: number; from: number; to: number; stream: RandomStream },
): ClusterJob[] {
  const { clusterGpus, utilisation, from, to, stream } = options;
  const meanDuration = mean(mix.durations);
  // Offered load ρ = λ·E[g]·E[d] / G (Little's law for an infinite-server system).
  const rate = (utilisation * clusterGpus) / (mean(mix.gpuRequests) * meanDuration);
  const pick = (values: readonly number[]) => values[Math.floor(stream.uniform() * values.length)] as number;
  // Cumulative durations, to draw a duration with probability proportional to its length.
  const cumulative: number[] = [];
  let total = 0;
  for (const d of mix.durations) {
    total += d;
    cumulative.push(total);
  }
  const lengthBiased = () => {
    const target = stream.uniform() * total;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((cumulative[middle] as number) < target) low = middle + 1;
      else high = middle;
    }
    return mix.durations[low] as number;
  };
  const jobs: ClusterJob[] = [];
  const job = (arrival: number, duration: number): ClusterJob => ({
    name: `tenant-${jobs.length}`,
    arrival,
    duration,
    cpuMilli: 0,
    memoryMiB: 0,
    gpus: pick(mix.gpuRequests),
    gpuMilli: 1000,
    gpuModels: [],
  });
  // Poisson(λE[d]) jobs in the system at the start, by counting unit-rate arrivals before λE[d].
  const running = rate * meanDuration;
  for (let arrivals = stream.exponential(1); arrivals < running; arrivals += stream.exponential(1)) {
    jobs.push(job(from, stream.uniform() * lengthBiased()));
  }
  for (let t = from + stream.exponential(1 / rate); t < to; t += stream.exponential(1 / rate)) {
    jobs.push(job(t, pick(mix.durations)));
  }
  return jobs;
}

/** A flagship gang's experience of the shared cluster. */
export interface FlagshipStart {
  /** Seconds from its arrival to its start (Infinity if it never started before the horizon). */
  readonly waitSeconds: number;
  readonly placement?: Placement;
  /** Mean wait of the tenants arriving from the flagship's arrival on (any server could hold), with and without it. */
  readonly tenantWait: { readonly withFlagship: number; readonly withoutFlagship: number };
  /** Mean GPU allocation of the cluster without the flagship while tenants arrive: its normal utilisation. */
  readonly utilisation: number;
  /** True when no set of servers of the cluster could ever hold the gang (too few of its GPU model). */
  readonly unplaceable: boolean;
}

/**
 * The cluster with its tenants alone until `horizon`, its allocation read while tenants still arrive (from
 * `from`, the flagship's arrival, to the last arrival). Shared by every gang compared against the same tenants.
 */
export function tenantBaseline(
  nodes: readonly TraceNode[],
  tenants: readonly ClusterJob[],
  from: number,
  options: ClusterOptions & { readonly horizon: number },
): ClusterRun {
  const lastArrival = tenants.reduce((last, job) => Math.max(last, job.arrival), from);
  return runCluster(nodes, tenants, { ...options, until: options.horizon, allocationUntil: lastArrival });
}

/**
 * Runs the cluster with and without a flagship gang of `gangNodes` whole nodes that arrives at `arrival` and
 * holds its nodes for `holdSeconds` once started. Both runs go on until `horizon` (after the last tenant arrives
 * the cluster only drains, so a long horizon is cheap); the cluster's utilisation is read from the run without the
 * flagship while tenants still arrive. Tenants that arrive from the flagship's arrival on are compared.
 */
export function flagshipStart(
  nodes: readonly TraceNode[],
  tenants: readonly ClusterJob[],
  flagship: {
    readonly arrival: number;
    readonly gangNodes: number;
    readonly holdSeconds: number;
    /** GPU models the gang may use; empty: any. */
    readonly gpuModels?: readonly string[];
  },
  options: ClusterOptions & { readonly horizon: number },
  baseline: ClusterRun = tenantBaseline(nodes, tenants, flagship.arrival, options),
): FlagshipStart {
  const gang: ClusterJob = {
    name: 'flagship',
    arrival: flagship.arrival,
    duration: flagship.holdSeconds,
    cpuMilli: 0,
    memoryMiB: 0,
    gpus: 0,
    gpuMilli: 1000,
    gpuModels: flagship.gpuModels ?? [],
    nodes: flagship.gangNodes,
  };
  const withFlagship = runCluster(nodes, [...tenants, gang], { ...options, until: options.horizon });
  const without = baseline;
  const start = withFlagship.starts[tenants.length];
  const never = new Set(without.unplaceable);
  const observed = (starts: readonly (number | undefined)[], until: number) => {
    let sum = 0;
    let count = 0;
    tenants.forEach((job, i) => {
      if (job.arrival < flagship.arrival || never.has(i)) return;
      // A tenant still waiting when the run stops counts its wait so far.
      sum += (starts[i] ?? until) - job.arrival;
      count++;
    });
    return count > 0 ? sum / count : 0;
  };
  return {
    waitSeconds: start === undefined ? Number.POSITIVE_INFINITY : start - flagship.arrival,
    ...(withFlagship.placements[tenants.length] && { placement: withFlagship.placements[tenants.length] }),
    tenantWait: {
      withFlagship: observed(withFlagship.starts, options.horizon),
      withoutFlagship: observed(without.starts, options.horizon),
    },
    utilisation: without.allocation.meanGpus / without.gpus,
    unplaceable: withFlagship.unplaceable.includes(tenants.length),
  };
}
