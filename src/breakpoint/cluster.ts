/**
 * A shared GPU cluster on the twin's event kernel: nodes with CPUs, memory and GPUs (whole or shared by
 * thousandths, as in Alibaba's openb trace), grouped into leaf-switch domains; tenant jobs that arrive, wait in a
 * queue, are placed and run; and a scheduler:
 * - `fifo`: strict arrival order; the head of the queue blocks everything behind it.
 * - `backfill`: any queued job that fits now starts, in arrival order (greedy backfill, no reservation: large
 *   gangs can starve, which is one of the costs of multi-tenancy this module measures).
 * Placement is best-fit (the tightest node, or GPU for shared pods; Weng et al. ATC'23 compare it with FGD), and
 * multi-node gangs take whole idle nodes, fewest leaf domains first. Everything is deterministic.
 * @module
 */
import { Simulation } from '../twin/engine/index.js';
import type { TraceNode, TracePod } from './trace.js';

/** A job of the shared cluster. Times are seconds. */
export interface ClusterJob {
  readonly name: string;
  readonly arrival: number;
  readonly duration: number;
  readonly cpuMilli: number;
  readonly memoryMiB: number;
  /** Whole GPUs on one node (0 for CPU-only), or 1 with `gpuMilli` < 1000 for a share of one GPU. */
  readonly gpus: number;
  readonly gpuMilli: number;
  /** GPU models the job may use; empty: any. */
  readonly gpuModels: readonly string[];
  /** A gang of this many whole idle nodes (all their GPUs), for multi-node jobs; `gpus` is then ignored. */
  readonly nodes?: number;
}

/** Where a job ran. */
export interface Placement {
  readonly nodes: readonly number[];
  /** Leaf domains its nodes span. */
  readonly leaves: number;
}

/** Options of {@link runCluster}. */
export interface ClusterOptions {
  readonly policy: 'fifo' | 'backfill';
  /** Nodes under one leaf switch (default 32: a DGX SuperPOD scalable unit). */
  readonly nodesPerLeaf?: number;
  /** Stop at this time (default: when every job has run). */
  readonly until?: number;
  /** Report the allocation over [first arrival, this time] instead of the whole run. */
  readonly allocationUntil?: number;
}

/** What happened to each job, and the cluster's GPU allocation over time. */
export interface ClusterRun {
  /** Start time of each job (index as in the input), or undefined if it never started. */
  readonly starts: (number | undefined)[];
  readonly placements: (Placement | undefined)[];
  /** Jobs no node of the cluster could ever hold (asked for more than a node has, or a missing GPU model). */
  readonly unplaceable: number[];
  readonly allocation: AllocationProfile;
  readonly gpus: number;
}

/** Allocated GPUs over a time span. */
export interface AllocationProfile {
  readonly from: number;
  readonly to: number;
  /** Time-averaged allocated GPUs (shares count as fractions). */
  readonly meanGpus: number;
  readonly peakGpus: number;
}

const FULL = 1000;

/** Time-weighted allocation of GPUs given [start, end, gpus] intervals, over [from, to]. */
export function allocationProfile(
  intervals: readonly (readonly [number, number, number])[],
  from: number,
  to: number,
): AllocationProfile {
  const events: [number, number][] = [];
  for (const [start, end, gpus] of intervals) {
    const a = Math.max(start, from);
    const b = Math.min(end, to);
    if (b > a && gpus > 0) events.push([a, gpus], [b, -gpus]);
  }
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let current = 0;
  let last = from;
  let area = 0;
  let peak = 0;
  for (const [t, delta] of events) {
    area += current * (t - last);
    current += delta;
    last = t;
    if (current > peak) peak = current;
  }
  return { from, to, meanGpus: to > from ? area / (to - from) : 0, peakGpus: peak };
}

/** GPUs a job holds (shares as fractions). */
export function jobGpus(job: ClusterJob, nodes: readonly TraceNode[], placement?: Placement): number {
  if (job.nodes !== undefined) return (placement?.nodes ?? []).reduce((sum, n) => sum + (nodes[n]?.gpus ?? 0), 0);
  if (job.gpus === 1 && job.gpuMilli < FULL) return job.gpuMilli / FULL;
  return job.gpus;
}

/** The jobs of a trace's pod list: every pod that ran, arriving at its creation and running as long as it did. */
export function jobsFromPods(pods: readonly TracePod[]): ClusterJob[] {
  return pods
    .filter((pod) => pod.scheduled !== undefined && pod.deleted >= (pod.scheduled as number))
    .map((pod) => ({
      name: pod.name,
      arrival: pod.created,
      duration: pod.deleted - (pod.scheduled as number),
      cpuMilli: pod.cpuMilli,
      memoryMiB: pod.memoryMiB,
      gpus: pod.gpus,
      gpuMilli: pod.gpus === 1 ? pod.gpuMilli : FULL,
      gpuModels: pod.gpuModels,
    }));
}

/** Mutable state of the cluster's nodes. */
class ClusterState {
  readonly freeCpu: Float64Array;
  readonly freeMemory: Float64Array;
  /** Free thousandths of each GPU, node by node. */
  readonly freeGpu: Int32Array[];
  readonly leaf: Int32Array;
  /** Whole free GPUs per node, and the nodes by that count (for unconstrained whole-GPU jobs and gangs). */
  private readonly whole: Int32Array;
  private readonly byWhole: Set<number>[];
  /** Nodes whose GPUs are all free. */
  private gpuIdle = 0;

  constructor(
    readonly nodes: readonly TraceNode[],
    nodesPerLeaf: number,
  ) {
    this.freeCpu = Float64Array.from(nodes, (n) => n.cpuMilli);
    this.freeMemory = Float64Array.from(nodes, (n) => n.memoryMiB);
    this.freeGpu = nodes.map((n) => new Int32Array(n.gpus).fill(FULL));
    this.leaf = Int32Array.from(nodes, (_, i) => Math.floor(i / nodesPerLeaf));
    this.whole = Int32Array.from(nodes, (n) => n.gpus);
    const most = Math.max(0, ...nodes.map((n) => n.gpus));
    this.byWhole = Array.from({ length: most + 1 }, () => new Set<number>());
    nodes.forEach((n, i) => {
      this.byWhole[n.gpus]?.add(i);
      if (n.gpus > 0) this.gpuIdle++;
    });
  }

  /** Recounts a node's whole free GPUs after a change. */
  private recount(node: number): void {
    const before = this.whole[node] as number;
    let after = 0;
    for (const milli of this.freeGpu[node] as Int32Array) if (milli === FULL) after++;
    if (after === before) return;
    const gpus = this.nodes[node]?.gpus ?? 0;
    this.byWhole[before]?.delete(node);
    this.byWhole[after]?.add(node);
    this.whole[node] = after;
    if (before === gpus) this.gpuIdle--;
    if (after === gpus) this.gpuIdle++;
  }

  private modelOk(job: ClusterJob, node: number): boolean {
    return job.gpuModels.length === 0 || job.gpuModels.includes(this.nodes[node]?.gpuModel ?? '');
  }

  private wholeFree(node: number): number {
    return this.whole[node] as number;
  }

  private idle(node: number): boolean {
    const n = this.nodes[node] as TraceNode;
    return (
      n.gpus > 0 &&
      this.wholeFree(node) === n.gpus &&
      this.freeCpu[node] === n.cpuMilli &&
      this.freeMemory[node] === n.memoryMiB
    );
  }

  /** Whether any node of an empty cluster could hold the job. */
  placeable(job: ClusterJob): boolean {
    if (job.nodes !== undefined) {
      return this.nodes.filter((n, i) => n.gpus > 0 && this.modelOk(job, i)).length >= job.nodes;
    }
    return this.nodes.some(
      (n, i) =>
        n.cpuMilli >= job.cpuMilli &&
        n.memoryMiB >= job.memoryMiB &&
        n.gpus >= job.gpus &&
        (job.gpus === 0 || this.modelOk(job, i)),
    );
  }

  /** Best-fit placement now, or undefined. */
  find(job: ClusterJob): Placement | undefined {
    if (job.nodes !== undefined) return this.findGang(job, job.nodes);
    if (
      job.cpuMilli === 0 &&
      job.memoryMiB === 0 &&
      job.gpuModels.length === 0 &&
      job.gpus > 0 &&
      job.gpuMilli >= FULL
    ) {
      // Unconstrained whole GPUs: best fit is the first node of the smallest bucket that holds them.
      for (let free = job.gpus; free < this.byWhole.length; free++) {
        for (const node of this.byWhole[free] as Set<number>) return { nodes: [node], leaves: 1 };
      }
      return undefined;
    }
    let best = -1;
    let bestScore = Number.POSITIVE_INFINITY;
    const sharing = job.gpus === 1 && job.gpuMilli < FULL;
    for (let i = 0; i < this.nodes.length; i++) {
      if ((this.freeCpu[i] as number) < job.cpuMilli || (this.freeMemory[i] as number) < job.memoryMiB) continue;
      if (job.gpus > 0 && !this.modelOk(job, i)) continue;
      let score: number;
      if (job.gpus === 0) {
        // CPU-only: the node left with the least CPU; GPU nodes after CPU nodes so GPUs stay reachable.
        score = (this.nodes[i]?.gpus ?? 0) * 1e9 + (this.freeCpu[i] as number) - job.cpuMilli;
      } else if (sharing) {
        // The GPU left with the fewest free thousandths that still holds the share.
        let tightest = Number.POSITIVE_INFINITY;
        for (const milli of this.freeGpu[i] as Int32Array) {
          if (milli >= job.gpuMilli && milli - job.gpuMilli < tightest) tightest = milli - job.gpuMilli;
        }
        if (!Number.isFinite(tightest)) continue;
        score = tightest * 1e3 + this.wholeFree(i);
      } else {
        const whole = this.wholeFree(i);
        if (whole < job.gpus) continue;
        score = (whole - job.gpus) * 1e9 + (this.freeCpu[i] as number) - job.cpuMilli;
      }
      if (score < bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return best < 0 ? undefined : { nodes: [best], leaves: 1 };
  }

  /** A gang of `count` idle nodes, taken from the leaf domains with the most idle nodes first. */
  private findGang(job: ClusterJob, count: number): Placement | undefined {
    if (this.gpuIdle < count) return undefined;
    const byLeaf = new Map<number, number[]>();
    const candidates = [...(this.byWhole[this.byWhole.length - 1] as Set<number>)];
    for (let gpus = 1; gpus < this.byWhole.length - 1; gpus++) {
      for (const node of this.byWhole[gpus] as Set<number>) if (this.nodes[node]?.gpus === gpus) candidates.push(node);
    }
    candidates.sort((a, b) => a - b);
    for (const i of candidates) {
      if (!this.modelOk(job, i) || !this.idle(i)) continue;
      const leaf = this.leaf[i] as number;
      const list = byLeaf.get(leaf);
      if (list) list.push(i);
      else byLeaf.set(leaf, [i]);
    }
    const leaves = [...byLeaf.entries()].sort((a, b) => b[1].length - a[1].length || a[0] - b[0]);
    const chosen: number[] = [];
    let spanned = 0;
    for (const [, list] of leaves) {
      if (chosen.length >= count) break;
      spanned++;
      for (const node of list) {
        if (chosen.length >= count) break;
        chosen.push(node);
      }
    }
    return chosen.length === count ? { nodes: chosen, leaves: spanned } : undefined;
  }

  /** Takes (sign 1) or gives back (sign −1) a job's resources on its placement. */
  apply(job: ClusterJob, placement: Placement, sign: 1 | -1, slots: Map<ClusterJob, number[]>): void {
    if (job.nodes !== undefined) {
      for (const node of placement.nodes) {
        const n = this.nodes[node] as TraceNode;
        (this.freeGpu[node] as Int32Array).fill(sign === 1 ? 0 : FULL);
        this.freeCpu[node] = sign === 1 ? 0 : n.cpuMilli;
        this.freeMemory[node] = sign === 1 ? 0 : n.memoryMiB;
        this.recount(node);
      }
      return;
    }
    const node = placement.nodes[0] as number;
    this.freeCpu[node] = (this.freeCpu[node] as number) - sign * job.cpuMilli;
    this.freeMemory[node] = (this.freeMemory[node] as number) - sign * job.memoryMiB;
    if (job.gpus === 0) return;
    const gpus = this.freeGpu[node] as Int32Array;
    const share = job.gpus === 1 && job.gpuMilli < FULL ? job.gpuMilli : FULL;
    if (sign === -1) {
      for (const gpu of slots.get(job) ?? []) gpus[gpu] = (gpus[gpu] as number) + share;
      slots.delete(job);
      this.recount(node);
      return;
    }
    const taken: number[] = [];
    if (share < FULL) {
      let pick = -1;
      for (let g = 0; g < gpus.length; g++) {
        const milli = gpus[g] as number;
        if (milli >= job.gpuMilli && (pick < 0 || milli < (gpus[pick] as number))) pick = g;
      }
      gpus[pick] = (gpus[pick] as number) - job.gpuMilli;
      taken.push(pick);
    } else {
      for (let g = 0; g < gpus.length && taken.length < job.gpus; g++) {
        if (gpus[g] === FULL) {
          gpus[g] = 0;
          taken.push(g);
        }
      }
    }
    slots.set(job, taken);
    this.recount(node);
  }
}

/** Runs `jobs` through a shared cluster of `nodes`. */
export function runCluster(
  nodes: readonly TraceNode[],
  jobs: readonly ClusterJob[],
  options: ClusterOptions,
): ClusterRun {
  const sim = new Simulation();
  const state = new ClusterState(nodes, options.nodesPerLeaf ?? 32);
  const starts: (number | undefined)[] = new Array(jobs.length).fill(undefined);
  const placements: (Placement | undefined)[] = new Array(jobs.length).fill(undefined);
  const unplaceable: number[] = [];
  const slots = new Map<ClusterJob, number[]>();
  const queue: number[] = [];
  const intervals: [number, number, number][] = [];

  const schedule = () => {
    for (let q = 0; q < queue.length; ) {
      const index = queue[q] as number;
      const job = jobs[index] as ClusterJob;
      const placement = state.find(job);
      if (!placement) {
        if (options.policy === 'fifo') return;
        q++;
        continue;
      }
      queue.splice(q, 1);
      state.apply(job, placement, 1, slots);
      starts[index] = sim.now;
      placements[index] = placement;
      const end = sim.now + job.duration;
      intervals.push([sim.now, end, jobGpus(job, nodes, placement)]);
      sim.at(
        end,
        () => {
          state.apply(job, placement, -1, slots);
          schedule();
        },
        0,
      );
    }
  };

  const order = jobs
    .map((_, i) => i)
    .sort((a, b) => (jobs[a] as ClusterJob).arrival - (jobs[b] as ClusterJob).arrival || a - b);
  for (const index of order) {
    const job = jobs[index] as ClusterJob;
    if (!state.placeable(job)) {
      unplaceable.push(index);
      continue;
    }
    sim.at(
      job.arrival,
      () => {
        queue.push(index);
        schedule();
      },
      1,
    );
  }
  sim.run(options.until ?? Number.POSITIVE_INFINITY);
  const from = jobs.reduce((min, j) => Math.min(min, j.arrival), Number.POSITIVE_INFINITY);
  const to = options.until ?? intervals.reduce((max, [, end]) => Math.max(max, end), from);
  return {
    starts,
    placements,
    unplaceable,
    allocation: allocationProfile(intervals, from, options.allocationUntil ?? to),
    gpus: nodes.reduce((sum, n) => sum + n.gpus, 0),
  };
}
