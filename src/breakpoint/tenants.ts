/**
 * The other tenants of a shared cluster: jobs whose GPU requests come from the openb pod list (GPU pods; a share
 * of one GPU counts as one whole GPU in a training cluster) and whose run times come from Microsoft Philly's
 * (83,152 jobs; Jeon et al., ATC'19, via Alibaba clusterdata v2020), arriving as a Poisson process at the rate
 * that offers the cluster a target utilisation: λ = ρ·G / (E[GPUs]·E[run time]). And the flagship gang's wait to
 * start in that cluster, with the tenants' extra waiting it causes. By default the mix is built from the figures
 * derived from those traces (src/catalog/trace-figures.ts: the request histogram and 1,000 equal-probability
 * run-time bins); {@link tenantMix} builds the same form from raw traces. {@link TenantCluster} runs the tenants
 * once up to the flagship's arrival and forks that run for each gang it is asked about.
 * @module
 */
import type { RandomStream } from '../sim/index.js';
import { type ClusterJob, type ClusterOptions, ClusterSimulation, type JobTable, type Placement } from './cluster.js';
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

/** The GPU models of a tenant job: any (one list for all of them). */
const ANY_MODEL: readonly string[] = Object.freeze([]);

const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

/** Options of {@link tenantJobs} and {@link tenantTable}. */
export interface TenantLoad {
  readonly clusterGpus: number;
  readonly utilisation: number;
  readonly from: number;
  readonly to: number;
  readonly stream: RandomStream;
}

/**
 * Tenant jobs over [from, to) offering `utilisation` of `clusterGpus`, as columns (see {@link tenantJobs}). The
 * cluster starts in steady state: the jobs already running at `from` are those of an M/G/∞ system in
 * equilibrium, Poisson(λ·E[d]) of them, each of a length-biased duration (drawn with probability ∝ d) with a
 * uniform share of it left (the renewal-theory residual life). Without this, Philly's heavy tail (P99 3.3 days)
 * would take weeks of warm-up to load the cluster.
 */
export function tenantTable(mix: TenantMix, options: TenantLoad): JobTable {
  const { clusterGpus, utilisation, from, to, stream } = options;
  const meanDuration = mean(mix.durations);
  // Offered load ρ = λ·E[g]·E[d] / G (Little's law for an infinite-server system).
  const rate = (utilisation * clusterGpus) / (mean(mix.gpuRequests) * meanDuration);
  const pick = (values: readonly number[]) => values[Math.floor(stream.uniform() * values.length)] as number;
  // Cumulative durations, to draw a duration with probability proportional to its length.
  const cumulative = new Float64Array(mix.durations.length);
  let total = 0;
  mix.durations.forEach((d, i) => {
    total += d;
    cumulative[i] = total;
  });
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
  // Columns that double as they fill (about λ·(E[d] + to − from) jobs).
  let count = 0;
  let arrival = new Float64Array(1024);
  let duration = new Float64Array(1024);
  let gpus = new Int32Array(1024);
  const job = (at: number, length: number) => {
    if (count === arrival.length) {
      const grow = <A extends Float64Array | Int32Array>(array: A, next: A): A => {
        next.set(array);
        return next;
      };
      arrival = grow(arrival, new Float64Array(2 * count));
      duration = grow(duration, new Float64Array(2 * count));
      gpus = grow(gpus, new Int32Array(2 * count));
    }
    // The draws in this order: the duration (by the caller), then the GPUs.
    const request = pick(mix.gpuRequests);
    if (!Number.isInteger(request) || request < 0) throw new RangeError(`a tenant asks for ${request} GPUs`);
    arrival[count] = at;
    duration[count] = length;
    gpus[count++] = request;
  };
  // Poisson(λE[d]) jobs in the system at the start, by counting unit-rate arrivals before λE[d].
  const running = rate * meanDuration;
  for (let arrivals = stream.exponential(1); arrivals < running; arrivals += stream.exponential(1)) {
    job(from, stream.uniform() * lengthBiased());
  }
  for (let t = from + stream.exponential(1 / rate); t < to; t += stream.exponential(1 / rate)) {
    job(t, pick(mix.durations));
  }
  return {
    count,
    arrival: arrival.slice(0, count),
    duration: duration.slice(0, count),
    gpus: gpus.slice(0, count),
  };
}

/** The tenant jobs of {@link tenantTable} as cluster jobs, named `tenant-<index>`. */
export function tenantJobs(mix: TenantMix, options: TenantLoad): ClusterJob[] {
  const table = tenantTable(mix, options);
  return Array.from({ length: table.count }, (_, i) => ({
    name: `tenant-${i}`,
    arrival: table.arrival[i] as number,
    duration: table.duration[i] as number,
    cpuMilli: 0,
    memoryMiB: 0,
    gpus: table.gpus[i] as number,
    gpuMilli: 1000,
    gpuModels: ANY_MODEL,
  }));
}

/** Arrival times of jobs given as objects or as a table. */
function arrivals(jobs: readonly ClusterJob[] | JobTable): Float64Array {
  return Array.isArray(jobs)
    ? Float64Array.from(jobs as readonly ClusterJob[], (job) => job.arrival)
    : (jobs as JobTable).arrival;
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

/** A flagship gang: when it arrives, how many whole servers it takes and for how long, and of which GPU models. */
export interface FlagshipGang {
  readonly arrival: number;
  readonly gangNodes: number;
  readonly holdSeconds: number;
  /** GPU models the gang may use; empty: any. */
  readonly gpuModels?: readonly string[];
}

/**
 * A shared cluster and its tenants, to ask how flagship gangs arriving at `arrival` fare. The tenants' run is
 * simulated once up to the arrival; each gang then goes into a fork of it, which equals a whole run with the gang
 * in the job list. Every run stops once the jobs it is asked about have started (or at `horizon`): after the last
 * tenant arrives the cluster only drains, and nothing asked about happens later.
 */
export class TenantCluster {
  /** The run up to the arrival, every event at that time included: where each gang's fork starts. */
  private readonly atArrival: ClusterSimulation;
  /** Tenants that arrive from the flagship's arrival on and can be placed: those whose waits are compared. */
  private readonly compared: Int32Array;
  private readonly arrivals: Float64Array;
  /** Mean wait of the compared tenants without a flagship. */
  readonly tenantWaitWithout: number;
  /** Mean GPU allocation without a flagship while tenants arrive (from the arrival to the last one), over the GPUs. */
  readonly utilisation: number;

  constructor(
    nodes: readonly TraceNode[],
    tenants: readonly ClusterJob[] | JobTable,
    private readonly arrival: number,
    private readonly options: ClusterOptions & { readonly horizon: number },
  ) {
    const run = new ClusterSimulation(nodes, tenants, options);
    run.run(Math.min(arrival, options.horizon));
    this.atArrival = run.fork();
    this.arrivals = arrivals(tenants);
    const never = new Uint8Array(this.arrivals.length);
    for (const i of run.unplaceable) never[i] = 1;
    const compared = new Int32Array(this.arrivals.length);
    let count = 0;
    let lastArrival = arrival;
    let first = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.arrivals.length; i++) {
      const t = this.arrivals[i] as number;
      if (t >= arrival && never[i] === 0) compared[count++] = i;
      lastArrival = Math.max(lastArrival, t);
      first = Math.min(first, t);
    }
    this.compared = compared.subarray(0, count);
    // The tenants alone: the allocation is read while they arrive, so the run goes at least to the last arrival.
    run.run(Math.min(lastArrival, options.horizon));
    run.watch(this.compared);
    run.run(options.horizon, { stopWhenWatchedStart: true });
    this.tenantWaitWithout = this.meanWait(run);
    this.utilisation = run.allocation(first, lastArrival).meanGpus / run.gpus;
  }

  /** Mean wait of the compared tenants; one still waiting when the run stops counts its wait until the horizon. */
  private meanWait(run: ClusterSimulation): number {
    let sum = 0;
    const horizon = this.options.horizon;
    for (let k = 0; k < this.compared.length; k++) {
      const i = this.compared[k] as number;
      const start = run.startTimeOf(i);
      sum += (Number.isNaN(start) ? horizon : start) - (this.arrivals[i] as number);
    }
    return this.compared.length > 0 ? sum / this.compared.length : 0;
  }

  /** The gang's run: a fork of the tenants' run at the arrival with the gang added, until `watchTenants` start too. */
  private withGang(gang: FlagshipGang, watchTenants: boolean) {
    if (gang.arrival !== this.arrival) {
      throw new RangeError(`internal: a gang arriving at ${gang.arrival} asked of tenants forked at ${this.arrival}`);
    }
    const run = this.atArrival.fork();
    const index = run.add({
      name: 'flagship',
      arrival: gang.arrival,
      duration: gang.holdSeconds,
      cpuMilli: 0,
      memoryMiB: 0,
      gpus: 0,
      gpuMilli: 1000,
      gpuModels: gang.gpuModels ?? [],
      nodes: gang.gangNodes,
    });
    run.watch([index]);
    if (watchTenants) run.watch(this.compared);
    run.run(this.options.horizon, { stopWhenWatchedStart: true });
    return { run, index };
  }

  /** How the gang fares, and what it costs the tenants arriving after it. */
  flagship(gang: FlagshipGang): FlagshipStart {
    const { run, index } = this.withGang(gang, true);
    const start = run.startOf(index);
    const placement = run.placementOf(index);
    return {
      waitSeconds: start === undefined ? Number.POSITIVE_INFINITY : start - gang.arrival,
      ...(placement && { placement }),
      tenantWait: { withFlagship: this.meanWait(run), withoutFlagship: this.tenantWaitWithout },
      utilisation: this.utilisation,
      unplaceable: run.unplaceable.includes(index),
    };
  }

  /** Only the gang's wait to start (Infinity if it does not start before the horizon): its run stops there. */
  waitSeconds(gang: FlagshipGang): number {
    const { run, index } = this.withGang(gang, false);
    const start = run.startOf(index);
    return start === undefined ? Number.POSITIVE_INFINITY : start - gang.arrival;
  }
}

/**
 * Runs the cluster with and without a flagship gang of `gangNodes` whole nodes that arrives at `arrival` and
 * holds its nodes for `holdSeconds` once started, up to `horizon`; the cluster's utilisation is read from the run
 * without the flagship while tenants still arrive. Tenants that arrive from the flagship's arrival on are
 * compared. (One gang; {@link TenantCluster} asks about several against the same tenants.)
 */
export function flagshipStart(
  nodes: readonly TraceNode[],
  tenants: readonly ClusterJob[] | JobTable,
  flagship: FlagshipGang,
  options: ClusterOptions & { readonly horizon: number },
): FlagshipStart {
  return new TenantCluster(nodes, tenants, flagship.arrival, options).flagship(flagship);
}
