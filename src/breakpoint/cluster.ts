/**
 * A shared GPU cluster: nodes with CPUs, memory and GPUs (whole or shared by thousandths, as in Alibaba's openb
 * trace), grouped into leaf-switch domains; tenant jobs that arrive, wait in a queue, are placed and run; and a
 * scheduler:
 * - `fifo`: strict arrival order; the head of the queue blocks everything behind it.
 * - `backfill`: any queued job that fits now starts, in arrival order (greedy backfill, no reservation: large
 *   gangs can starve, which is one of the costs of multi-tenancy this module measures).
 * Placement is best-fit (the tightest node, or GPU for shared pods; Weng et al. ATC'23 compare it with FGD), and
 * multi-node gangs take whole idle nodes, fewest leaf domains first. Everything is deterministic.
 *
 * The event loop is the simulation kernel's (src/sim/) specialised to the cluster's two kinds of event, so that
 * a run can be paused, forked and stopped early: job ends (priority 0) fire before arrivals (priority 1) at equal
 * times, ends in the order their jobs started, arrivals in (arrival, index) order: the kernel's (time, priority,
 * sequence) order, so a run gives what the kernel gave. Its state lives in typed arrays: a run of 70,000 jobs
 * allocates a few megabytes and {@link ClusterSimulation.fork} copies them.
 * @module
 */
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

/**
 * Jobs as columns, for a load of many jobs that each ask for whole GPUs on one node of any model and nothing else
 * (the tenants of src/breakpoint/tenants.ts): what the simulation reads, without an object per job.
 */
export interface JobTable {
  readonly count: number;
  /** Arrival times, seconds. */
  readonly arrival: Float64Array;
  /** Run times, seconds. */
  readonly duration: Float64Array;
  /** Whole GPUs on one node; no CPUs or memory asked for, any GPU model. */
  readonly gpus: Int32Array;
}

/** The changes of an allocation: `events` pairs of (time, GPUs taken or, negative, given back). */
interface Changes {
  readonly times: Float64Array;
  readonly deltas: Float64Array;
  events: number;
  /** Every change is a whole number of GPUs at a finite time. */
  whole: boolean;
}

/** Room for the changes of `count` intervals. */
function changes(count: number): Changes {
  return { times: new Float64Array(2 * count), deltas: new Float64Array(2 * count), events: 0, whole: true };
}

/** Adds the interval [start, end) of `gpus` GPUs, clipped to [from, to]; an empty one adds nothing. */
function addInterval(c: Changes, start: number, end: number, gpus: number, from: number, to: number): void {
  const a = Math.max(start, from);
  const b = Math.min(end, to);
  if (!(b > a && gpus > 0)) return;
  c.times[c.events] = a;
  c.deltas[c.events++] = gpus;
  c.times[c.events] = b;
  c.deltas[c.events++] = -gpus;
  if (!Number.isInteger(gpus) || !Number.isFinite(a) || !Number.isFinite(b)) c.whole = false;
}

/**
 * The allocation over [from, to] of the intervals in `c`: the step function's time average and peak, its changes
 * taken in (time, change) order, releases before takes at equal times.
 */
function profileOf(c: Changes, from: number, to: number): AllocationProfile {
  return c.whole ? wholeProfile(c, from, to) : sortedProfile(c, from, to);
}

/** The profile with every change sorted by (time, change): the definition. */
function sortedProfile({ times, deltas, events }: Changes, from: number, to: number): AllocationProfile {
  const order = new Uint32Array(events);
  for (let e = 0; e < events; e++) order[e] = e;
  order.sort((x, y) => (times[x] as number) - (times[y] as number) || (deltas[x] as number) - (deltas[y] as number));
  let current = 0;
  let last = from;
  let area = 0;
  let peak = 0;
  for (let e = 0; e < events; e++) {
    const index = order[e] as number;
    const t = times[index] as number;
    area += current * (t - last);
    current += deltas[index] as number;
    last = t;
    if (current > peak) peak = current;
  }
  return { from, to, meanGpus: to > from ? area / (to - from) : 0, peakGpus: peak };
}

/**
 * The same profile when every change is a whole number of GPUs at a finite time, without a comparison sort: the
 * times of each size of change sorted natively, then merged. It gives the definition's figures exactly: sums of
 * whole numbers do not depend on their order, the changes at one time add nothing to the area (they multiply a
 * zero width), and with releases first the level peaks at the end of each time's changes.
 */
function wholeProfile({ times, deltas, events }: Changes, from: number, to: number): AllocationProfile {
  // Counting sort by size of change (few sizes: a linear search finds each), then each size's times sorted.
  const sizes: number[] = [];
  const slot = new Int32Array(events);
  let lastDelta = Number.NaN;
  let lastSlot = -1;
  for (let e = 0; e < events; e++) {
    const delta = deltas[e] as number;
    if (delta !== lastDelta) {
      lastSlot = sizes.indexOf(delta);
      if (lastSlot < 0) {
        lastSlot = sizes.length;
        sizes.push(delta);
      }
      lastDelta = delta;
    }
    slot[e] = lastSlot;
  }
  const counts = new Int32Array(sizes.length);
  for (let e = 0; e < events; e++) counts[slot[e] as number] = (counts[slot[e] as number] as number) + 1;
  const streams = sizes.map((_, s) => new Float64Array(counts[s] as number));
  const at = new Int32Array(sizes.length);
  for (let e = 0; e < events; e++) {
    const s = slot[e] as number;
    (streams[s] as Float64Array)[at[s] as number] = times[e] as number;
    at[s] = (at[s] as number) + 1;
  }
  for (const stream of streams) stream.sort();
  at.fill(0);
  let current = 0;
  let last = from;
  let area = 0;
  let peak = 0;
  for (;;) {
    let t = Number.POSITIVE_INFINITY;
    for (let s = 0; s < streams.length; s++) {
      const stream = streams[s] as Float64Array;
      const next = at[s] as number;
      if (next < stream.length && (stream[next] as number) < t) t = stream[next] as number;
    }
    if (t === Number.POSITIVE_INFINITY) break;
    area += current * (t - last);
    last = t;
    for (let s = 0; s < streams.length; s++) {
      const stream = streams[s] as Float64Array;
      let next = at[s] as number;
      while (next < stream.length && stream[next] === t) {
        current += sizes[s] as number;
        next++;
      }
      at[s] = next;
    }
    if (current > peak) peak = current;
  }
  return { from, to, meanGpus: to > from ? area / (to - from) : 0, peakGpus: peak };
}

/** Time-weighted allocation of GPUs given [start, end, gpus] intervals, over [from, to]. */
export function allocationProfile(
  intervals: readonly (readonly [number, number, number])[],
  from: number,
  to: number,
): AllocationProfile {
  const c = changes(intervals.length);
  for (const [start, end, gpus] of intervals) addInterval(c, start, end, gpus, from, to);
  return profileOf(c, from, to);
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

/** How a job is placed: a gang of whole nodes, whole GPUs anywhere (the common case), or by the general scan. */
const GANG = 0;
const ANYWHERE = 1;
const SCAN = 2;

function kindOf(job: ClusterJob): number {
  if (job.nodes !== undefined) return GANG;
  const anywhere =
    job.cpuMilli === 0 && job.memoryMiB === 0 && job.gpuModels.length === 0 && job.gpus > 0 && job.gpuMilli >= FULL;
  return anywhere ? ANYWHERE : SCAN;
}

/** The nodes of a cluster, fixed for the run and shared by its forks. */
class Nodes {
  readonly count: number;
  readonly gpus: Int32Array;
  readonly cpu: Float64Array;
  readonly memory: Float64Array;
  /** Where each node's GPUs start in the flat per-GPU arrays (length count + 1). */
  readonly gpuBase: Int32Array;
  /** Leaf domains (node i is under leaf floor(i / nodesPerLeaf)), numbered in ascending order of their id. */
  readonly leaves: number;
  /** Each node's leaf, by that number. */
  readonly leafOf: Int32Array;
  /** The nodes of leaf l, ascending: leafNodes[leafStart[l]] to leafNodes[leafStart[l + 1] - 1]. */
  readonly leafStart: Int32Array;
  readonly leafNodes: Int32Array;
  /** Each node's GPU model, as an index into {@link models}. */
  readonly model: Int32Array;
  readonly models: string[] = [];
  /** Most GPUs on one node, and on one node that asks nothing of a job's CPUs and memory. */
  readonly most: number;
  readonly mostForAnywhere: number;
  readonly totalGpus: number;

  constructor(nodes: readonly TraceNode[], nodesPerLeaf: number) {
    const count = nodes.length;
    this.count = count;
    this.gpus = new Int32Array(count);
    this.cpu = new Float64Array(count);
    this.memory = new Float64Array(count);
    this.gpuBase = new Int32Array(count + 1);
    this.model = new Int32Array(count);
    const ids = new Map<string, number>();
    let most = 0;
    let mostForAnywhere = 0;
    let total = 0;
    for (let i = 0; i < count; i++) {
      const n = nodes[i] as TraceNode;
      this.gpus[i] = n.gpus;
      this.cpu[i] = n.cpuMilli;
      this.memory[i] = n.memoryMiB;
      this.gpuBase[i + 1] = (this.gpuBase[i] as number) + n.gpus;
      let id = ids.get(n.gpuModel);
      if (id === undefined) {
        id = this.models.length;
        ids.set(n.gpuModel, id);
        this.models.push(n.gpuModel);
      }
      this.model[i] = id;
      most = Math.max(most, n.gpus);
      if (n.cpuMilli >= 0 && n.memoryMiB >= 0) mostForAnywhere = Math.max(mostForAnywhere, n.gpus);
      total += n.gpus;
    }
    this.most = most;
    this.mostForAnywhere = mostForAnywhere;
    this.totalGpus = total;
    const leafIds = Int32Array.from({ length: count }, (_, i) => Math.floor(i / nodesPerLeaf));
    const sortedIds = [...new Set(leafIds)].sort((a, b) => a - b);
    const number = new Map(sortedIds.map((id, l) => [id, l]));
    this.leaves = sortedIds.length;
    this.leafOf = leafIds.map((id) => number.get(id) as number);
    this.leafStart = new Int32Array(this.leaves + 1);
    for (let i = 0; i < count; i++) {
      const l = this.leafOf[i] as number;
      this.leafStart[l + 1] = (this.leafStart[l + 1] as number) + 1;
    }
    for (let l = 0; l < this.leaves; l++) {
      this.leafStart[l + 1] = (this.leafStart[l + 1] as number) + (this.leafStart[l] as number);
    }
    this.leafNodes = new Int32Array(count);
    const filled = this.leafStart.slice(0, this.leaves);
    for (let i = 0; i < count; i++) {
      const l = this.leafOf[i] as number;
      this.leafNodes[filled[l] as number] = i;
      filled[l] = (filled[l] as number) + 1;
    }
  }
}

/** The jobs a run started with, as columns; fixed for the run and shared by its forks. */
interface Jobs {
  readonly count: number;
  readonly arrival: Float64Array;
  readonly duration: Float64Array;
  readonly gpus: Int32Array;
  readonly kind: Int8Array;
  /** The caller's objects, when the jobs came as objects (a table's rows have none). */
  readonly objects: readonly ClusterJob[] | undefined;
}

function jobColumns(jobs: readonly ClusterJob[] | JobTable): Jobs {
  if (!Array.isArray(jobs)) {
    const table = jobs as JobTable;
    const kind = new Int8Array(table.count);
    for (let i = 0; i < table.count; i++) kind[i] = (table.gpus[i] as number) > 0 ? ANYWHERE : SCAN;
    return { ...table, kind, objects: undefined };
  }
  const list = jobs as readonly ClusterJob[];
  const count = list.length;
  const arrival = new Float64Array(count);
  const duration = new Float64Array(count);
  const gpus = new Int32Array(count);
  const kind = new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const job = list[i] as ClusterJob;
    arrival[i] = job.arrival;
    duration[i] = job.duration;
    gpus[i] = job.gpus;
    kind[i] = kindOf(job);
  }
  return { count, arrival, duration, gpus, kind, objects: list };
}

/** Jobs a run can take after it started ({@link ClusterSimulation.add}) before its job state must grow. */
const ROOM = 4;

/** Options of {@link ClusterSimulation.run}. */
export interface RunUntil {
  /** Stop once every job passed to {@link ClusterSimulation.watch} has started. */
  readonly stopWhenWatchedStart?: boolean;
}

/**
 * A shared cluster run that can be paused ({@link run} to a time), forked ({@link fork}: an independent copy of
 * the run so far), given a job later ({@link add}) and stopped once the jobs it watches have started. Running a
 * fork with a job added at time t after {@link run}(t) gives what one run with that job from the start gives.
 */
export class ClusterSimulation {
  private readonly nodes: Nodes;
  private readonly fifo: boolean;
  private readonly jobs: Jobs;
  /** Jobs added after the start: indices from jobs.count on. */
  private extra: ClusterJob[];
  /** Placeable jobs not yet arrived, in (arrival, index) order, from {@link nextArrival}. */
  private order: Int32Array;
  private nextArrival = 0;
  private unplaceableJobs: number[];
  /** The clock: the time of the event being fired, or of the last one. */
  now = 0;

  // Node state.
  private readonly freeCpu: Float64Array;
  private readonly freeMemory: Float64Array;
  /** Free thousandths of each GPU (flat, node by node: see Nodes.gpuBase). */
  private readonly freeGpu: Int32Array;
  /** Whole free GPUs per node. */
  private readonly whole: Int32Array;
  /**
   * The nodes by whole free GPUs: one insertion-ordered list per count (head, tail; next, previous per node), so
   * that best fit takes the node that has had that count longest, as a JavaScript Set iterates.
   */
  private readonly bucketHead: Int32Array;
  private readonly bucketTail: Int32Array;
  private readonly nextInBucket: Int32Array;
  private readonly previousInBucket: Int32Array;
  /** Nodes whose GPUs are all free, in all and per GPU model. */
  private gpuIdle = 0;
  private readonly idleByModel: Int32Array;

  // Job state, with room for jobs added later.
  private startTime: Float64Array;
  private endTime: Float64Array;
  /** The order in which each job started (it breaks ties between ends). */
  private ordinal: Int32Array;
  private started = 0;
  /** Job indices in start order. */
  private startOrder: Int32Array;
  /** The node of each single-node job that started (-1 otherwise); gangs' placements below. */
  private node: Int32Array;
  private readonly gangs: Map<number, Placement>;
  /** GPUs each single-node job holds: `slotCount[j]` flat GPU indices from `slots[slotFrom[j]]`. */
  private slotFrom: Int32Array;
  private slotCount: Int32Array;
  private slots: Int32Array;
  private slotsUsed = 0;
  private watched: Uint8Array;
  private watching = 0;

  // The queue (job indices from queueHead to queueTail) and the heap of running jobs by (end, start order).
  private queue: Int32Array;
  private queueHead = 0;
  private queueTail = 0;
  private heap: Int32Array;
  private heapSize = 0;

  /** A run of `jobs` on `nodes` at time 0, before any event; {@link run} moves it on. */
  constructor(
    nodes: readonly TraceNode[],
    jobs: readonly ClusterJob[] | JobTable,
    options: Pick<ClusterOptions, 'policy' | 'nodesPerLeaf'>,
  );
  /** A fork of `source` (see {@link fork}). */
  constructor(source: ClusterSimulation);
  constructor(
    source: readonly TraceNode[] | ClusterSimulation,
    jobList: readonly ClusterJob[] | JobTable = [],
    options: Pick<ClusterOptions, 'policy' | 'nodesPerLeaf'> = { policy: 'fifo' },
  ) {
    if (source instanceof ClusterSimulation) {
      // A fork: fixed data shared, state copied.
      const s = source;
      this.nodes = s.nodes;
      this.fifo = s.fifo;
      this.jobs = s.jobs;
      this.extra = [...s.extra];
      this.order = s.order;
      this.nextArrival = s.nextArrival;
      this.unplaceableJobs = [...s.unplaceableJobs];
      this.now = s.now;
      this.freeCpu = s.freeCpu.slice();
      this.freeMemory = s.freeMemory.slice();
      this.freeGpu = s.freeGpu.slice();
      this.whole = s.whole.slice();
      this.bucketHead = s.bucketHead.slice();
      this.bucketTail = s.bucketTail.slice();
      this.nextInBucket = s.nextInBucket.slice();
      this.previousInBucket = s.previousInBucket.slice();
      this.gpuIdle = s.gpuIdle;
      this.idleByModel = s.idleByModel.slice();
      this.startTime = s.startTime.slice();
      this.endTime = s.endTime.slice();
      this.ordinal = s.ordinal.slice();
      this.started = s.started;
      this.startOrder = s.startOrder.slice();
      this.node = s.node.slice();
      this.gangs = new Map(s.gangs);
      this.slotFrom = s.slotFrom.slice();
      this.slotCount = s.slotCount.slice();
      this.slots = s.slots.slice(0, s.slotsUsed + 1024);
      this.slotsUsed = s.slotsUsed;
      this.watched = s.watched.slice();
      this.watching = s.watching;
      this.queue = s.queue.slice(s.queueHead, Math.max(s.queueTail, s.queueHead + 1024));
      this.queueTail = s.queueTail - s.queueHead;
      this.heap = s.heap.slice(0, s.heapSize + 1024);
      this.heapSize = s.heapSize;
      return;
    }
    const nodes = new Nodes(source, options.nodesPerLeaf ?? 32);
    this.nodes = nodes;
    this.fifo = options.policy === 'fifo';
    const count = nodes.count;
    this.freeCpu = nodes.cpu.slice();
    this.freeMemory = nodes.memory.slice();
    this.freeGpu = new Int32Array(nodes.gpuBase[count] as number).fill(FULL);
    this.whole = nodes.gpus.slice();
    this.bucketHead = new Int32Array(nodes.most + 1).fill(-1);
    this.bucketTail = new Int32Array(nodes.most + 1).fill(-1);
    this.nextInBucket = new Int32Array(count).fill(-1);
    this.previousInBucket = new Int32Array(count).fill(-1);
    this.idleByModel = new Int32Array(nodes.models.length);
    for (let i = 0; i < count; i++) {
      const gpus = nodes.gpus[i] as number;
      this.append(gpus, i);
      if (gpus > 0) {
        this.gpuIdle++;
        const model = nodes.model[i] as number;
        this.idleByModel[model] = (this.idleByModel[model] as number) + 1;
      }
    }
    const jobs = jobColumns(jobList);
    this.jobs = jobs;
    this.extra = [];
    const n = jobs.count + ROOM;
    this.startTime = new Float64Array(n).fill(Number.NaN);
    this.endTime = new Float64Array(n);
    this.ordinal = new Int32Array(n);
    this.startOrder = new Int32Array(n);
    this.node = new Int32Array(n).fill(-1);
    this.gangs = new Map();
    this.slotFrom = new Int32Array(n);
    this.slotCount = new Int32Array(n);
    this.slots = new Int32Array(1024 + jobs.count);
    this.watched = new Uint8Array(n);
    this.queue = new Int32Array(1024);
    this.heap = new Int32Array(1024);
    // Arrivals in (arrival, index) order (a load generated in time order needs no sort); jobs no node could hold
    // never arrive.
    const { arrival } = jobs;
    let inOrder = true;
    for (let i = 1; i < jobs.count && inOrder; i++) {
      if (!((arrival[i - 1] as number) <= (arrival[i] as number))) inOrder = false;
    }
    let sorted = new Int32Array(jobs.count);
    for (let i = 0; i < jobs.count; i++) sorted[i] = i;
    if (!inOrder) {
      sorted = Int32Array.from(
        Array.from(sorted).sort((a, b) => (arrival[a] as number) - (arrival[b] as number) || a - b),
      );
    }
    this.unplaceableJobs = [];
    let placeable = 0;
    for (let k = 0; k < sorted.length; k++) {
      const index = sorted[k] as number;
      if (!this.placeable(index)) {
        this.unplaceableJobs.push(index);
        continue;
      }
      const time = arrival[index] as number;
      if (!(time >= 0)) throw new RangeError(`cannot schedule at ${time}: the clock is at 0`);
      sorted[placeable++] = index;
    }
    this.order = sorted.subarray(0, placeable);
  }

  /** An independent copy of this run as it stands. */
  fork(): ClusterSimulation {
    return new ClusterSimulation(this);
  }

  /** Total GPUs of the cluster. */
  get gpus(): number {
    return this.nodes.totalGpus;
  }

  /** Jobs no node of the cluster could ever hold, in arrival order. */
  get unplaceable(): readonly number[] {
    return this.unplaceableJobs;
  }

  /**
   * Adds a job arriving at or after {@link now}, after the jobs already there (its index is the next one), and
   * returns its index. It arrives after every event up to its arrival time that this run has already fired.
   */
  add(job: ClusterJob): number {
    if (!(job.arrival >= this.now)) {
      throw new RangeError(`cannot schedule at ${job.arrival}: the clock is at ${this.now}`);
    }
    const index = this.jobs.count + this.extra.length;
    this.extra.push(job);
    if (index >= this.startTime.length) this.grow(index + ROOM);
    if (!this.placeable(index)) {
      this.unplaceableJobs.push(index);
      return index;
    }
    // Into the arrivals still to come, after those arriving no later (their indices are smaller).
    const rest = this.order.subarray(this.nextArrival);
    let at = 0;
    while (at < rest.length && this.arrivalOf(rest[at] as number) <= job.arrival) at++;
    const order = new Int32Array(rest.length + 1);
    order.set(rest.subarray(0, at));
    order[at] = index;
    order.set(rest.subarray(at), at + 1);
    this.order = order;
    this.nextArrival = 0;
    return index;
  }

  /** Gives the job state room for `length` jobs. */
  private grow(length: number): void {
    const bigger = <A extends Float64Array | Int32Array | Uint8Array>(array: A, fill: number): A => {
      const next = new (array.constructor as new (length: number) => A)(length);
      next.fill(fill);
      next.set(array);
      return next;
    };
    this.startTime = bigger(this.startTime, Number.NaN);
    this.endTime = bigger(this.endTime, 0);
    this.ordinal = bigger(this.ordinal, 0);
    this.startOrder = bigger(this.startOrder, 0);
    this.node = bigger(this.node, -1);
    this.slotFrom = bigger(this.slotFrom, 0);
    this.slotCount = bigger(this.slotCount, 0);
    this.watched = bigger(this.watched, 0);
  }

  /** Watches jobs for {@link RunUntil.stopWhenWatchedStart}: those that can start and have not yet. */
  watch(indices: ArrayLike<number>): void {
    const never = new Set(this.unplaceableJobs);
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k] as number;
      if (this.watched[index] === 1 || never.has(index) || !Number.isNaN(this.startTime[index] as number)) continue;
      this.watched[index] = 1;
      this.watching++;
    }
  }

  /**
   * Fires every event up to `until` (inclusive), or until the watched jobs have all started when asked to.
   * Returns true when it stopped for the watched jobs.
   */
  run(until: number, options: RunUntil = {}): boolean {
    const stopEarly = options.stopWhenWatchedStart === true;
    if (stopEarly && this.watching === 0) return true;
    const { order, endTime } = this;
    for (;;) {
      const arrival =
        this.nextArrival < order.length ? this.arrivalOf(order[this.nextArrival] as number) : Number.POSITIVE_INFINITY;
      if (this.heapSize > 0 && (endTime[this.heap[0] as number] as number) <= arrival) {
        // Ends (priority 0) before arrivals (priority 1) at equal times.
        const end = endTime[this.heap[0] as number] as number;
        if (end > until) break;
        this.now = end;
        this.release(this.popEnd());
      } else if (this.nextArrival < order.length) {
        if (arrival > until) break;
        this.now = arrival;
        this.enqueue(order[this.nextArrival++] as number);
      } else break;
      this.schedule();
      if (stopEarly && this.watching === 0) return true;
    }
    return false;
  }

  /** When job `index` started, or NaN. */
  startTimeOf(index: number): number {
    return this.startTime[index] as number;
  }

  /** When job `index` started, or undefined. */
  startOf(index: number): number | undefined {
    const t = this.startTime[index] as number;
    return Number.isNaN(t) ? undefined : t;
  }

  /** Where job `index` ran, or undefined. */
  placementOf(index: number): Placement | undefined {
    const gang = this.gangs.get(index);
    if (gang) return gang;
    const node = this.node[index] as number;
    return node < 0 ? undefined : { nodes: [node], leaves: 1 };
  }

  /** The start of every job (undefined for those not started). */
  starts(): (number | undefined)[] {
    const count = this.jobs.count + this.extra.length;
    const starts: (number | undefined)[] = new Array(count);
    for (let i = 0; i < count; i++) starts[i] = this.startOf(i);
    return starts;
  }

  /** The allocation of GPUs over [from, to] by the jobs started so far. */
  allocation(from: number, to: number): AllocationProfile {
    const c = changes(this.started);
    for (let k = 0; k < this.started; k++) {
      const index = this.startOrder[k] as number;
      const kind = this.kindAt(index);
      let gpus: number;
      if (kind === GANG) {
        gpus = 0;
        for (const node of this.gangs.get(index)?.nodes ?? []) gpus += this.nodes.gpus[node] as number;
      } else if (kind === ANYWHERE) gpus = this.gpusOf(index);
      else {
        const job = this.objectOf(index);
        gpus = job.gpus === 1 && job.gpuMilli < FULL ? job.gpuMilli / FULL : job.gpus;
      }
      addInterval(c, this.startTime[index] as number, this.endTime[index] as number, gpus, from, to);
    }
    return profileOf(c, from, to);
  }

  // The jobs.

  private arrivalOf(index: number): number {
    const jobs = this.jobs;
    return index < jobs.count
      ? (jobs.arrival[index] as number)
      : (this.extra[index - jobs.count] as ClusterJob).arrival;
  }

  private durationOf(index: number): number {
    const jobs = this.jobs;
    return index < jobs.count
      ? (jobs.duration[index] as number)
      : (this.extra[index - jobs.count] as ClusterJob).duration;
  }

  private gpusOf(index: number): number {
    const jobs = this.jobs;
    return index < jobs.count ? (jobs.gpus[index] as number) : (this.extra[index - jobs.count] as ClusterJob).gpus;
  }

  private kindAt(index: number): number {
    const jobs = this.jobs;
    return index < jobs.count ? (jobs.kind[index] as number) : kindOf(this.extra[index - jobs.count] as ClusterJob);
  }

  /** The job as an object (a table's row as the object it stands for). */
  private objectOf(index: number): ClusterJob {
    const jobs = this.jobs;
    if (index >= jobs.count) return this.extra[index - jobs.count] as ClusterJob;
    return (
      jobs.objects?.[index] ?? {
        name: `job-${index}`,
        arrival: jobs.arrival[index] as number,
        duration: jobs.duration[index] as number,
        cpuMilli: 0,
        memoryMiB: 0,
        gpus: jobs.gpus[index] as number,
        gpuMilli: FULL,
        gpuModels: [],
      }
    );
  }

  // The scheduler.

  private enqueue(index: number): void {
    if (this.queueTail === this.queue.length) {
      // Full: slide the waiting jobs to the front, or move them to a queue twice as long.
      const length = this.queueTail - this.queueHead;
      if (2 * length <= this.queue.length) this.queue.copyWithin(0, this.queueHead, this.queueTail);
      else {
        const queue = new Int32Array(2 * this.queue.length + 16);
        queue.set(this.queue.subarray(this.queueHead, this.queueTail));
        this.queue = queue;
      }
      this.queueHead = 0;
      this.queueTail = length;
    }
    this.queue[this.queueTail++] = index;
  }

  /** Starts what the policy lets start now: the head of the queue while it fits (FIFO), or every job that fits. */
  private schedule(): void {
    const queue = this.queue;
    if (this.fifo) {
      while (this.queueHead < this.queueTail) {
        if (!this.tryStart(queue[this.queueHead] as number)) return;
        this.queueHead++;
      }
      return;
    }
    let kept = this.queueHead;
    for (let q = this.queueHead; q < this.queueTail; q++) {
      const index = queue[q] as number;
      if (!this.tryStart(index)) queue[kept++] = index;
    }
    this.queueTail = kept;
  }

  /** Places and starts job `index` if it fits now. */
  private tryStart(index: number): boolean {
    const kind = this.kindAt(index);
    if (kind === ANYWHERE) {
      const node = this.findAnywhere(this.gpusOf(index));
      if (node < 0) return false;
      this.node[index] = node;
      this.takeWhole(index, node, this.gpusOf(index));
    } else if (kind === GANG) {
      const job = this.objectOf(index);
      const placement = this.findGang(job, job.nodes as number);
      if (!placement) return false;
      this.gangs.set(index, placement);
      for (const node of placement.nodes) this.takeNode(node);
    } else {
      const job = this.objectOf(index);
      const node = this.findScan(job);
      if (node < 0) return false;
      this.node[index] = node;
      this.take(index, job, node);
    }
    const end = this.now + this.durationOf(index);
    if (!(end >= this.now)) throw new RangeError(`cannot schedule at ${end}: the clock is at ${this.now}`);
    this.startTime[index] = this.now;
    this.endTime[index] = end;
    this.ordinal[index] = this.started;
    this.startOrder[this.started++] = index;
    this.pushEnd(index);
    if (this.watched[index] === 1) {
      this.watched[index] = 0;
      this.watching--;
    }
    return true;
  }

  /** Unconstrained whole GPUs: best fit is the first node of the smallest bucket that holds them. */
  private findAnywhere(gpus: number): number {
    for (let free = gpus; free <= this.nodes.most; free++) {
      const head = this.bucketHead[free] as number;
      if (head >= 0) return head;
    }
    return -1;
  }

  private modelOk(job: ClusterJob, node: number): boolean {
    return (
      job.gpuModels.length === 0 ||
      job.gpuModels.includes(this.nodes.models[this.nodes.model[node] as number] as string)
    );
  }

  /** Best fit over every node: the tightest node, or the tightest GPU for a share. */
  private findScan(job: ClusterJob): number {
    const { nodes, freeCpu, freeMemory, freeGpu, whole } = this;
    let best = -1;
    let bestScore = Number.POSITIVE_INFINITY;
    const sharing = job.gpus === 1 && job.gpuMilli < FULL;
    for (let i = 0; i < nodes.count; i++) {
      if ((freeCpu[i] as number) < job.cpuMilli || (freeMemory[i] as number) < job.memoryMiB) continue;
      if (job.gpus > 0 && !this.modelOk(job, i)) continue;
      let score: number;
      if (job.gpus === 0) {
        // CPU-only: the node left with the least CPU; GPU nodes after CPU nodes so GPUs stay reachable.
        score = (nodes.gpus[i] as number) * 1e9 + (freeCpu[i] as number) - job.cpuMilli;
      } else if (sharing) {
        // The GPU left with the fewest free thousandths that still holds the share.
        let tightest = Number.POSITIVE_INFINITY;
        for (let g = nodes.gpuBase[i] as number; g < (nodes.gpuBase[i + 1] as number); g++) {
          const milli = freeGpu[g] as number;
          if (milli >= job.gpuMilli && milli - job.gpuMilli < tightest) tightest = milli - job.gpuMilli;
        }
        if (!Number.isFinite(tightest)) continue;
        score = tightest * 1e3 + (whole[i] as number);
      } else {
        const free = whole[i] as number;
        if (free < job.gpus) continue;
        score = (free - job.gpus) * 1e9 + (freeCpu[i] as number) - job.cpuMilli;
      }
      if (score < bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return best;
  }

  private idle(node: number): boolean {
    const nodes = this.nodes;
    const gpus = nodes.gpus[node] as number;
    return (
      gpus > 0 &&
      this.whole[node] === gpus &&
      this.freeCpu[node] === nodes.cpu[node] &&
      this.freeMemory[node] === nodes.memory[node]
    );
  }

  /** A gang of `count` idle nodes, taken from the leaf domains with the most idle nodes first. */
  private findGang(job: ClusterJob, count: number): Placement | undefined {
    if (this.gpuIdle < count) return undefined;
    const { nodes } = this;
    if (job.gpuModels.length > 0) {
      // Too few nodes of its models have all their GPUs free: no need to look further.
      let idle = 0;
      for (let id = 0; id < nodes.models.length; id++) {
        if (job.gpuModels.includes(nodes.models[id] as string)) idle += this.idleByModel[id] as number;
      }
      if (idle < count) return undefined;
    }
    const perLeaf = new Int32Array(nodes.leaves);
    for (let i = 0; i < nodes.count; i++) {
      const leaf = nodes.leafOf[i] as number;
      if (this.idle(i) && this.modelOk(job, i)) perLeaf[leaf] = (perLeaf[leaf] as number) + 1;
    }
    const leaves: number[] = [];
    for (let leaf = 0; leaf < nodes.leaves; leaf++) if ((perLeaf[leaf] as number) > 0) leaves.push(leaf);
    leaves.sort((a, b) => (perLeaf[b] as number) - (perLeaf[a] as number) || a - b);
    const chosen: number[] = [];
    let spanned = 0;
    for (const leaf of leaves) {
      if (chosen.length >= count) break;
      spanned++;
      const last = nodes.leafStart[leaf + 1] as number;
      for (let k = nodes.leafStart[leaf] as number; k < last && chosen.length < count; k++) {
        const i = nodes.leafNodes[k] as number;
        if (this.idle(i) && this.modelOk(job, i)) chosen.push(i);
      }
    }
    return chosen.length === count ? { nodes: chosen, leaves: spanned } : undefined;
  }

  /** Whether any node of an empty cluster could hold job `index`. */
  private placeable(index: number): boolean {
    const nodes = this.nodes;
    if (this.kindAt(index) === ANYWHERE) return this.gpusOf(index) <= nodes.mostForAnywhere;
    const job = this.objectOf(index);
    if (job.nodes !== undefined) {
      let count = 0;
      for (let i = 0; i < nodes.count; i++) if ((nodes.gpus[i] as number) > 0 && this.modelOk(job, i)) count++;
      return count >= job.nodes;
    }
    for (let i = 0; i < nodes.count; i++) {
      if (
        (nodes.cpu[i] as number) >= job.cpuMilli &&
        (nodes.memory[i] as number) >= job.memoryMiB &&
        (nodes.gpus[i] as number) >= job.gpus &&
        (job.gpus === 0 || this.modelOk(job, i))
      )
        return true;
    }
    return false;
  }

  // Resources.

  /** Takes a whole node for a gang. */
  private takeNode(node: number): void {
    this.freeGpu.fill(0, this.nodes.gpuBase[node], this.nodes.gpuBase[node + 1]);
    this.freeCpu[node] = 0;
    this.freeMemory[node] = 0;
    this.recount(node);
  }

  /** Room in the slot pool for `more` GPUs. */
  private slotRoom(more: number): void {
    if (this.slotsUsed + more <= this.slots.length) return;
    const slots = new Int32Array(2 * this.slots.length + more);
    slots.set(this.slots.subarray(0, this.slotsUsed));
    this.slots = slots;
  }

  /** Takes the first `gpus` whole free GPUs of `node` (a job that asks nothing else). */
  private takeWhole(index: number, node: number, gpus: number): void {
    this.slotRoom(gpus);
    const free = this.freeGpu;
    const last = this.nodes.gpuBase[node + 1] as number;
    const from = this.slotsUsed;
    let taken = 0;
    for (let g = this.nodes.gpuBase[node] as number; g < last && taken < gpus; g++) {
      if (free[g] === FULL) {
        free[g] = 0;
        this.slots[this.slotsUsed++] = g;
        taken++;
      }
    }
    this.slotFrom[index] = from;
    this.slotCount[index] = taken;
    this.recount(node);
  }

  /** Takes a single-node job's CPUs, memory and GPUs on `node`. */
  private take(index: number, job: ClusterJob, node: number): void {
    this.freeCpu[node] = (this.freeCpu[node] as number) - job.cpuMilli;
    this.freeMemory[node] = (this.freeMemory[node] as number) - job.memoryMiB;
    if (job.gpus === 0) return;
    if (!(job.gpuMilli < FULL && job.gpus === 1)) {
      this.takeWhole(index, node, job.gpus);
      return;
    }
    // A share: the tightest GPU that holds it.
    this.slotRoom(1);
    const free = this.freeGpu;
    let pick = -1;
    for (let g = this.nodes.gpuBase[node] as number; g < (this.nodes.gpuBase[node + 1] as number); g++) {
      const milli = free[g] as number;
      if (milli >= job.gpuMilli && (pick < 0 || milli < (free[pick] as number))) pick = g;
    }
    free[pick] = (free[pick] as number) - job.gpuMilli;
    this.slotFrom[index] = this.slotsUsed;
    this.slotCount[index] = 1;
    this.slots[this.slotsUsed++] = pick;
    this.recount(node);
  }

  /** Gives back what job `index` holds. */
  private release(index: number): void {
    const kind = this.kindAt(index);
    if (kind === GANG) {
      const nodes = this.nodes;
      for (const node of (this.gangs.get(index) as Placement).nodes) {
        this.freeGpu.fill(FULL, nodes.gpuBase[node], nodes.gpuBase[node + 1]);
        this.freeCpu[node] = nodes.cpu[node] as number;
        this.freeMemory[node] = nodes.memory[node] as number;
        this.recount(node);
      }
      return;
    }
    const node = this.node[index] as number;
    let share = FULL;
    if (kind === SCAN) {
      const job = this.objectOf(index);
      this.freeCpu[node] = (this.freeCpu[node] as number) + job.cpuMilli;
      this.freeMemory[node] = (this.freeMemory[node] as number) + job.memoryMiB;
      if (job.gpus === 0) return;
      if (job.gpus === 1 && job.gpuMilli < FULL) share = job.gpuMilli;
    }
    const from = this.slotFrom[index] as number;
    const to = from + (this.slotCount[index] as number);
    for (let s = from; s < to; s++) {
      const g = this.slots[s] as number;
      this.freeGpu[g] = (this.freeGpu[g] as number) + share;
    }
    this.slotCount[index] = 0;
    this.recount(node);
  }

  /** Recounts a node's whole free GPUs after a change, moving it between buckets. */
  private recount(node: number): void {
    const before = this.whole[node] as number;
    let after = 0;
    const last = this.nodes.gpuBase[node + 1] as number;
    for (let g = this.nodes.gpuBase[node] as number; g < last; g++) if (this.freeGpu[g] === FULL) after++;
    if (after === before) return;
    const gpus = this.nodes.gpus[node] as number;
    this.unlink(before, node);
    this.append(after, node);
    this.whole[node] = after;
    const model = this.nodes.model[node] as number;
    if (before === gpus) {
      this.gpuIdle--;
      this.idleByModel[model] = (this.idleByModel[model] as number) - 1;
    }
    if (after === gpus) {
      this.gpuIdle++;
      this.idleByModel[model] = (this.idleByModel[model] as number) + 1;
    }
  }

  private append(bucket: number, node: number): void {
    const tail = this.bucketTail[bucket] as number;
    this.previousInBucket[node] = tail;
    this.nextInBucket[node] = -1;
    if (tail >= 0) this.nextInBucket[tail] = node;
    else this.bucketHead[bucket] = node;
    this.bucketTail[bucket] = node;
  }

  private unlink(bucket: number, node: number): void {
    const previous = this.previousInBucket[node] as number;
    const next = this.nextInBucket[node] as number;
    if (previous >= 0) this.nextInBucket[previous] = next;
    else this.bucketHead[bucket] = next;
    if (next >= 0) this.previousInBucket[next] = previous;
    else this.bucketTail[bucket] = previous;
  }

  // The heap of running jobs, by (end time, start order).

  private before(a: number, b: number): boolean {
    const ta = this.endTime[a] as number;
    const tb = this.endTime[b] as number;
    return ta < tb || (ta === tb && (this.ordinal[a] as number) < (this.ordinal[b] as number));
  }

  private pushEnd(index: number): void {
    if (this.heapSize === this.heap.length) {
      const heap = new Int32Array(2 * this.heap.length + 16);
      heap.set(this.heap);
      this.heap = heap;
    }
    const heap = this.heap;
    let at = this.heapSize++;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const above = heap[parent] as number;
      if (!this.before(index, above)) break;
      heap[at] = above;
      at = parent;
    }
    heap[at] = index;
  }

  private popEnd(): number {
    const heap = this.heap;
    const top = heap[0] as number;
    const last = heap[--this.heapSize] as number;
    const size = this.heapSize;
    if (size === 0) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= size) break;
      const right = left + 1;
      let child = left;
      if (right < size && this.before(heap[right] as number, heap[left] as number)) child = right;
      const below = heap[child] as number;
      if (!this.before(below, last)) break;
      heap[at] = below;
      at = child;
    }
    heap[at] = last;
    return top;
  }
}

/** Runs `jobs` through a shared cluster of `nodes`. */
export function runCluster(
  nodes: readonly TraceNode[],
  jobs: readonly ClusterJob[],
  options: ClusterOptions,
): ClusterRun {
  const simulation = new ClusterSimulation(nodes, jobs, options);
  simulation.run(options.until ?? Number.POSITIVE_INFINITY);
  const starts = simulation.starts();
  const from = jobs.reduce((min, j) => Math.min(min, j.arrival), Number.POSITIVE_INFINITY);
  let to = options.until;
  if (to === undefined) {
    // Every job that started has ended: the run lasts until the last end.
    let last = from;
    jobs.forEach((job, i) => {
      const start = starts[i];
      if (start !== undefined) last = Math.max(last, start + job.duration);
    });
    to = last;
  }
  return {
    starts,
    placements: jobs.map((_, i) => simulation.placementOf(i)),
    unplaceable: [...simulation.unplaceable],
    allocation: simulation.allocation(from, options.allocationUntil ?? to),
    gpus: simulation.gpus,
  };
}
