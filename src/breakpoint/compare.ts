/**
 * The comparison: one training workload at each job size, on (a) a dedicated factory designed by `plan` and run
 * by the twin, and (b) a shared data center of the same hardware, where the flagship gang queues behind tenants,
 * lands fragmented on a tapered fabric shared with them, waits for its slowest worker, may land on older GPUs,
 * is preempted and has no hot spares. Each effect can be switched off. For each side: time to start, time to
 * train, effective tokens/s, goodput and cost per million tokens; the breakpoint is the smallest size from which
 * the factory wins on both time and cost (docs/breakpoint.md). A size is prepared ({@link prepareComparePoint}:
 * plans, the shared cluster, the two twins' settings), its twin replicas run (anywhere: they are independent) and
 * it is finished from their figures ({@link finishComparePoint}); {@link comparePoint} does all three here.
 * @module
 */
import { findAccelerator } from '../catalog/index.js';
import { estimate } from '../perf/estimate.js';
import { catalogSystem } from '../plan/design.js';
import { whyNoPlan } from '../plan/explain.js';
import { designFactory } from '../plan/factory.js';
import { planLayout } from '../plan/layout.js';
import { searchPlans } from '../plan/search.js';
import { ReplicaStreams } from '../sim/index.js';
import type { CompareInput } from '../spec/compare.js';
import {
  acceleratorFromEntry,
  type ResolvedFacility,
  type ResolvedSystem,
  type ResolvedWorkload,
} from '../spec/resolve.js';
import type { TwinInput } from '../spec/twin.js';
import { type RunResult, type RunSummary, simulateRun } from '../twin/run.js';
import { optimalInterval, type TwinConfig, twinConfig } from '../twin/setup.js';
import { runReplicas, type StudyResult, summarizeStudy } from '../twin/study.js';
import { interferenceSlowdown, mixedGenerationStep, placedSystem } from './effects.js';
import { TenantCluster, type TenantMix, tenantTable } from './tenants.js';
import type { TraceNode } from './trace.js';

/** One side's figures at one size. */
export interface SideFigures {
  readonly timeToStartHours: number;
  readonly timeToTrainDays: number;
  readonly effectiveTokensPerSecond: number;
  readonly goodput: number;
  readonly ettr: number;
  readonly usdPerMillionTokens: number;
}

/** Both sides at one size. */
export interface ComparePoint {
  readonly gpus: number;
  readonly layout: string;
  readonly dedicated: SideFigures & { readonly spareNodes: number; readonly usdPerGpuHour: number };
  readonly shared: SideFigures & {
    readonly slowdown: {
      readonly fabric: number;
      readonly interference: number;
      readonly mixedGenerations: number;
      readonly total: number;
    };
    readonly leaves: number | null;
    readonly olderNodes: number | null;
    /** Whether the gang started within the time watched (48 h under backfill, 60 days under FIFO). */
    readonly started: boolean;
    /** The shared cluster's utilisation from its tenants (before the flagship). */
    readonly clusterUtilisation: number;
    /** Mean extra wait the flagship caused the tenants arriving after it, seconds. */
    readonly tenantExtraWaitSeconds: number;
    readonly usdPerGpuHour: number;
  };
  readonly factoryWins: { readonly time: boolean; readonly cost: boolean };
  /** The factory utilisation below which it stops winning on cost (its cost at full use / the shared cost). */
  readonly breakEvenUtilisation: number;
}

/** Where the factory starts to win. */
export interface Breakpoint {
  /** Smallest size from which the factory wins on time and cost at every larger size; null when none in range. */
  readonly gpus: number | null;
  /**
   * `breakpoint`: found; `factory-everywhere`: it wins at every size; `shared-at-largest`: not even at the top;
   * `none`: no size could be compared.
   */
  readonly status: 'breakpoint' | 'factory-everywhere' | 'shared-at-largest' | 'none';
  readonly reason: string;
}

/** The whole comparison. */
export interface CompareResult {
  readonly points: ComparePoint[];
  readonly skipped: { readonly gpus: number; readonly reason: string }[];
  readonly breakpoint: Breakpoint;
}

/** Inputs the comparison takes from traces: by default {@link DEFAULT_COMPARE_DATA} (src/breakpoint/default-data.ts). */
export interface CompareData {
  readonly tenants: TenantMix;
  /** Median per-step coefficient of variation of worker times (Alibaba PAI trace). */
  readonly interferenceCov: number;
}

/** Default sweep: 64 GPUs, doubling to 16,384. */
export const DEFAULT_SIZES = [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

const HOUR = 3600;
/**
 * The flagship arrives after an hour of tenants. Under FIFO nothing that arrives after it can start before it,
 * so tenants arrive for 6 more hours (to measure the extra wait it causes) and the cluster then drains for up to
 * 60 days; under backfill later tenants can keep jumping ahead, so they arrive for the whole 48 hours watched.
 */
const ARRIVAL = HOUR;
const FIFO_WINDOW = 6 * HOUR;
const FIFO_HORIZON = 60 * 24 * HOUR;
const BACKFILL_HORIZON = 48 * HOUR;

/** A size that could not be compared, and why. */
export interface SkippedPoint {
  readonly gpus: number;
  readonly reason: string;
}

/**
 * A size ready for its twin studies: the twin settings of both sides and every figure of the point that does not
 * come from them. Plain data, so it travels between threads.
 */
export interface PreparedPoint {
  readonly gpus: number;
  readonly layout: string;
  readonly replicas: number;
  readonly seed: number;
  /** The factory's twin, and the shared run's (slower steps, preemptions, no spares, its own checkpoints). */
  readonly dedicatedTwin: TwinConfig;
  readonly sharedTwin: TwinConfig;
  readonly tokens: number;
  readonly spareNodes: number;
  readonly spareShare: number;
  readonly factoryPerHour: number;
  readonly factoryPerGpuHour: number;
  readonly dedicatedUtilisation: number;
  readonly waitSeconds: number;
  readonly sharedPrice: number;
  readonly started: boolean;
  readonly leaves: number;
  readonly olderNodes: number | null;
  readonly clusterUtilisation: number;
  readonly tenantExtraWaitSeconds: number;
  readonly slowdown: ComparePoint['shared']['slowdown'];
}

/** The figures of a twin study a point is finished from (a {@link StudyResult} has them). */
export type StudyFigures = Pick<StudyResult, 'figures'>;

/** One size of the comparison, on the calling thread: prepared, both twin studies run, finished. */
export function comparePoint(
  workload: ResolvedWorkload,
  acceleratorId: string,
  facility: ResolvedFacility,
  twin: TwinInput | undefined,
  scenario: CompareInput,
  data: CompareData,
  gpus: number,
): ComparePoint | SkippedPoint {
  const prepared = prepareComparePoint(workload, acceleratorId, facility, twin, scenario, data, gpus);
  if ('reason' in prepared) return prepared;
  const { seed, replicas } = prepared;
  const study = (config: TwinConfig) =>
    studyOf(seed, firstReplica(config, seed), runReplicas(config, seed, 1, replicas));
  return finishComparePoint(prepared, study(prepared.dedicatedTwin), study(prepared.sharedTwin));
}

/** Replica 0 of a side's study, without its event log or timeline (the comparison reads only figures). */
export function firstReplica(config: TwinConfig, seed: number): RunResult {
  return simulateRun(config, seed, 0, { detail: false });
}

/** A side's study from its replica 0 and the summaries of replicas 1 to n − 1, in replica order. */
export function studyOf(seed: number, first: RunResult, rest: readonly RunSummary[]): StudyResult {
  return summarizeStudy(seed, [first.summary, ...rest], first);
}

/**
 * One size made ready for its twin studies: the plan and factory, the checks that may skip the size, the shared
 * cluster (the flagship's wait and placement, the tenants' extra wait, the spare-server wait) and the slowdowns.
 */
export function prepareComparePoint(
  workload: ResolvedWorkload,
  acceleratorId: string,
  facility: ResolvedFacility,
  twin: TwinInput | undefined,
  scenario: CompareInput,
  data: CompareData,
  gpus: number,
): PreparedPoint | SkippedPoint {
  const { shared, effects } = scenario;
  const system = catalogSystem(acceleratorId, gpus);
  if (!system) return { gpus, reason: `no server of ${acceleratorId} in the catalog` };
  if (gpus > shared.gpus) return { gpus, reason: `larger than the shared cluster (${shared.gpus} GPUs)` };
  if (gpus % system.gpusPerNode !== 0)
    return { gpus, reason: whyNoPlan(workload, system, { candidates: 0, rejected: {} }) };
  const search = searchPlans(workload, system, { top: 1 });
  const best = search.best[0];
  if (!best) return { gpus, reason: whyNoPlan(workload, system, search) };
  const plan = best.plan;
  const factory = designFactory(workload, system, facility, best.estimate, plan);
  if (!factory.ok) return { gpus, reason: factory.issues.map((i) => i.message).join('; ') };
  const design = { name: `${gpus} GPUs`, workload, system, plan, facility, estimate: best.estimate, factory };
  const config = twinConfig(design, twin);
  if (!config.ok) return { gpus, reason: config.issues.map((i) => i.message).join('; ') };
  const tokens = workload.training.totalTokens;

  // The gang must fit in the servers it may use (its own GPU model only, when it asks for that).
  const nodeCount = Math.floor(shared.gpus / system.gpusPerNode);
  const olderCount = Math.round(shared.olderShare * nodeCount);
  const usable = nodeCount - (shared.sameGeneration ? olderCount : 0);
  const gangNodes = Math.ceil(gpus / system.gpusPerNode);
  if (gangNodes > usable) {
    return {
      gpus,
      reason: `the shared cluster has only ${usable.toLocaleString('en-US')} servers the gang may use, it needs ${gangNodes.toLocaleString('en-US')}`,
    };
  }

  // (a) Dedicated: the twin on the plan's design, its spares bought with it.
  const spareNodes = config.value.spares.nodes;
  const spareShare = (spareNodes * system.gpusPerNode) / gpus;

  // (b) Shared: the flagship gang arrives into a loaded cluster of the same servers, some of an older generation.
  const stream = new ReplicaStreams(scenario.seed, gpus).stream(0);
  const older = new Set<number>();
  while (older.size < olderCount) older.add(Math.floor(stream.uniform() * nodeCount));
  const nodes: TraceNode[] = Array.from({ length: nodeCount }, (_, i) => ({
    name: `node-${i}`,
    gpus: system.gpusPerNode,
    gpuModel: older.has(i) ? shared.olderAccelerator : acceleratorId,
    cpuMilli: 0,
    memoryMiB: 0,
  }));
  // Tenants ask for at most one server (requests larger than this server are left out of the mix).
  const mix = {
    gpuRequests: data.tenants.gpuRequests.filter((g) => g <= system.gpusPerNode),
    durations: data.tenants.durations,
  };
  const tenants = tenantTable(mix, {
    clusterGpus: nodeCount * system.gpusPerNode,
    utilisation: shared.utilisation,
    from: 0,
    to: shared.policy === 'fifo' ? ARRIVAL + FIFO_WINDOW : BACKFILL_HORIZON,
    stream,
  });
  const horizon = shared.policy === 'fifo' ? FIFO_HORIZON : BACKFILL_HORIZON;
  const clusterOptions = { policy: shared.policy, nodesPerLeaf: shared.nodesPerLeaf, horizon };
  // The tenants alone, run once up to the flagship's arrival and forked for both gangs below.
  const cluster = new TenantCluster(nodes, tenants, ARRIVAL, clusterOptions);
  const gang = (servers: number) => ({
    arrival: ARRIVAL,
    gangNodes: servers,
    holdSeconds: horizon,
    ...(shared.sameGeneration && { gpuModels: [acceleratorId] }),
  });
  const start = cluster.flagship(gang(gangNodes));
  if (start.unplaceable) return { gpus, reason: 'no set of servers of the shared cluster can hold the gang' };
  // Whether the gang got servers in the time watched (with the queue effect off, it is taken to start at once).
  const started = start.placement !== undefined || !effects.queue;
  const waitSeconds = effects.queue ? start.waitSeconds : 0;
  const leaves = start.placement?.leaves ?? Math.ceil(gangNodes / shared.nodesPerLeaf);
  const olderNodes = start.placement ? start.placement.nodes.filter((n) => older.has(n)).length : null;

  // Slowdowns of the step, each from its own effect. On the fabric it got, the job runs the best plan for that
  // fabric (plan search on the placed system), against the factory's best plan on its non-blocking one.
  let fabric = 1;
  if (effects.fragmentation || effects.contention) {
    const sharedFabric = {
      gpusPerLeaf: shared.nodesPerLeaf * system.gpusPerNode,
      taper: effects.fragmentation ? shared.taper : 1,
      tenantLinkLoad: effects.contention ? shared.tenantLinkLoad : 0,
    };
    const placedLeaves = effects.fragmentation ? leaves : Math.ceil(gangNodes / shared.nodesPerLeaf);
    const replanned = searchPlans(workload, placedSystem(system, placedLeaves, sharedFabric), { top: 1 }).best[0];
    fabric = replanned ? replanned.estimate.step.seconds / best.estimate.step.seconds : 1;
  }
  const interference = effects.interference
    ? interferenceSlowdown(shared.interferenceCov ?? data.interferenceCov, gangNodes)
    : 1;
  let mixed = 1;
  if (effects.mixedGenerations && shared.olderShare > 0 && !shared.sameGeneration) {
    const olderSystem = withAccelerator(system, shared.olderAccelerator);
    const olderEstimate = olderSystem ? estimate(workload, olderSystem, plan) : undefined;
    const ratio = olderEstimate?.ok ? olderEstimate.step.seconds / best.estimate.step.seconds : 1;
    mixed =
      olderNodes === null
        ? mixedGenerationStep(1, ratio, shared.olderShare, gangNodes).seconds
        : olderNodes > 0
          ? Math.max(1, ratio)
          : 1;
  }
  const slowdown = fabric * interference * mixed;

  // The shared run: slower steps, preemptions, and (without spares) each failed host replaced when the pool
  // frees a server of its model: the wait of a one-server gang arriving at the same moment. After an
  // interruption the job restarts on its own hosts (large jobs are requeued with their nodes held).
  const base = config.value;
  const replacementWait = effects.noSpares ? cluster.waitSeconds(gang(1)) : 0;
  const sharedConfig: TwinConfig = {
    ...base,
    stepSeconds: base.stepSeconds * slowdown,
    tokensPerSecond: base.tokensPerSecond / slowdown,
    idealSeconds: base.idealSeconds * slowdown,
    limitSeconds: base.limitSeconds * slowdown,
    classes: effects.preemption
      ? [
          ...base.classes,
          {
            id: 'preemption',
            label: 'preemption',
            per: 'job',
            count: 1,
            ratePerSecond: shared.preemptionsPerDay / 86400,
            weibullShape: 1,
            ageSeconds: 0,
            detection: 'crash',
            replacesNode: false,
          },
        ]
      : base.classes,
    spares: effects.noSpares
      ? {
          ...base.spares,
          nodes: 0,
          auto: false,
          policy: 'wait',
          autoRepairSeconds: Math.max(1, Number.isFinite(replacementWait) ? replacementWait : horizon),
          manualRepairSeconds: 0,
          manualShare: 0,
        }
      : base.spares,
  };
  // Checkpoints at the interval that is optimal for the shared run's own interruption rate.
  const preemptionRate = effects.preemption ? shared.preemptionsPerDay / 86400 : 0;
  const mtbf = 1 / (1 / base.mtbfSeconds + preemptionRate);
  const tuned: TwinConfig = base.checkpoint.optimal
    ? {
        ...sharedConfig,
        mtbfSeconds: mtbf,
        checkpoint: {
          ...base.checkpoint,
          intervalSeconds: optimalInterval({
            mode: base.checkpoint.mode,
            writeSeconds: base.checkpoint.writeSeconds,
            stallSeconds: base.checkpoint.stallSeconds,
            stepSeconds: sharedConfig.stepSeconds,
            runSeconds: base.windowSeconds ?? sharedConfig.idealSeconds,
            mtbfSeconds: mtbf,
            recoverySeconds: base.meanRecoverySeconds,
          }),
        },
      }
    : sharedConfig;
  // Same hardware at cost, recovered over the GPU-hours tenants use: price = cost per GPU-hour / utilisation.
  // (per GPU bought: whole NVL72 racks leave unused slots the shared cluster would not have).
  const sharedPrice = factory.costUSD.perHour / factory.purchasedGpus / Math.max(0.05, start.utilisation);
  return {
    gpus,
    layout: planLayout(plan),
    replicas: scenario.replicas,
    seed: scenario.seed,
    dedicatedTwin: config.value,
    sharedTwin: tuned,
    tokens,
    spareNodes,
    spareShare,
    factoryPerHour: factory.costUSD.perHour,
    factoryPerGpuHour: factory.costUSD.perGpuHour,
    dedicatedUtilisation: scenario.dedicated.utilisation,
    waitSeconds,
    sharedPrice,
    started,
    leaves,
    olderNodes,
    clusterUtilisation: start.utilisation,
    tenantExtraWaitSeconds: start.tenantWait.withFlagship - start.tenantWait.withoutFlagship,
    slowdown: { fabric, interference, mixedGenerations: mixed, total: slowdown },
  };
}

/** The point of a prepared size from its two twin studies (the factory's, the shared run's). */
export function finishComparePoint(
  prepared: PreparedPoint,
  dedicatedStudy: StudyFigures,
  sharedStudy: StudyFigures,
): ComparePoint {
  const { tokens, waitSeconds, sharedPrice, gpus, started, leaves } = prepared;
  const dedicatedDays = dedicatedStudy.figures.timeToTrainDays.p50;
  const dedicatedCostAtFullUse = prepared.factoryPerHour * (1 + prepared.spareShare) * dedicatedDays * 24;
  const dedicatedCost = dedicatedCostAtFullUse / prepared.dedicatedUtilisation;
  const sharedRunDays = sharedStudy.figures.timeToTrainDays.p50;
  const sharedDays = Number.isFinite(waitSeconds) ? waitSeconds / 86400 + sharedRunDays : Number.POSITIVE_INFINITY;
  const sharedCost = sharedPrice * gpus * sharedRunDays * 24;
  const millions = tokens / 1e6;
  const side = (days: number, startHours: number, s: StudyFigures, cost: number): SideFigures => ({
    timeToStartHours: startHours,
    timeToTrainDays: days,
    effectiveTokensPerSecond: Number.isFinite(days) ? tokens / (days * 86400) : 0,
    goodput: s.figures.goodput.p50,
    ettr: s.figures.ettr.p50,
    usdPerMillionTokens: cost / millions,
  });
  const dedicatedSide = side(dedicatedDays, 0, dedicatedStudy, dedicatedCost);
  const sharedSide = side(
    sharedDays,
    waitSeconds / HOUR,
    sharedStudy,
    Number.isFinite(sharedDays) ? sharedCost : Number.POSITIVE_INFINITY,
  );
  return {
    gpus,
    layout: prepared.layout,
    dedicated: { ...dedicatedSide, spareNodes: prepared.spareNodes, usdPerGpuHour: prepared.factoryPerGpuHour },
    shared: {
      ...sharedSide,
      slowdown: prepared.slowdown,
      started,
      leaves: started ? leaves : null,
      olderNodes: prepared.olderNodes,
      clusterUtilisation: prepared.clusterUtilisation,
      tenantExtraWaitSeconds: prepared.tenantExtraWaitSeconds,
      usdPerGpuHour: sharedPrice,
    },
    factoryWins: {
      time: dedicatedSide.timeToTrainDays <= sharedSide.timeToTrainDays,
      cost: dedicatedSide.usdPerMillionTokens <= sharedSide.usdPerMillionTokens,
    },
    breakEvenUtilisation: dedicatedCostAtFullUse / millions / sharedSide.usdPerMillionTokens,
  };
}

/** The same system with another catalog accelerator (same servers and fabric). */
function withAccelerator(system: ResolvedSystem, id: string): ResolvedSystem | undefined {
  const found = findAccelerator(id);
  return found.found ? { ...system, accelerator: acceleratorFromEntry(found.entry) } : undefined;
}

/** The breakpoint over the points (in size order): the smallest size from which the factory always wins. */
export function findBreakpoint(unsorted: readonly ComparePoint[]): Breakpoint {
  const points = [...unsorted].sort((a, b) => a.gpus - b.gpus);
  if (points.length === 0) return { gpus: null, status: 'none', reason: 'no size could be compared' };
  const wins = points.map((p) => p.factoryWins.time && p.factoryWins.cost);
  const smallest = points[0]?.gpus;
  const largest = points[points.length - 1]?.gpus;
  if (wins.every(Boolean)) {
    return {
      gpus: null,
      status: 'factory-everywhere',
      reason: `the factory wins on time and cost at every size from ${smallest} to ${largest} GPUs`,
    };
  }
  if (!wins[wins.length - 1]) {
    return {
      gpus: null,
      status: 'shared-at-largest',
      reason: `the shared data center still wins at ${largest} GPUs, the largest size compared`,
    };
  }
  let first = wins.length - 1;
  while (first > 0 && wins[first - 1]) first--;
  return {
    gpus: points[first]?.gpus ?? null,
    status: 'breakpoint',
    reason: 'the smallest size from which the factory wins on both time and cost',
  };
}
