/**
 * Twin set-up: from a design (workload, system, plan, its estimate and factory) and the spec's `twin` section to
 * the plain numbers the simulation runs on. Defaults come from src/catalog/reliability.ts; bad settings come
 * back as issues that name the field, the value and what would be valid.
 * @module
 */
import { TRAINING_POWER_SHARE } from '../catalog/costs.js';
import {
  type Detection,
  DOMAIN_LABELS,
  FAILURE_CLASSES,
  type FailureUnit,
  GPU_IDLE_POWER_SHARE,
  HOURS_PER_YEAR,
  SPARE_QUANTILE,
  STRAGGLER_SLOWDOWN_MAX,
  STRAGGLER_SLOWDOWN_SIGMA,
  THROTTLE_INTERVAL_MINUTES,
} from '../catalog/reliability.js';
import type { Estimate } from '../perf/estimate.js';
import type { Factory } from '../plan/factory.js';
import type { Result, SpecIssue } from '../spec/issues.js';
import type { ResolvedFacility, ResolvedPlan, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';
import type { TwinInput } from '../spec/twin.js';
import { resolveTwin } from '../spec/twin-settings.js';
import { formatCount, significant } from '../util/number.js';
import {
  COMM_POWER_SHARE,
  COOLING_TIME_CONSTANT_SECONDS,
  facilityGain,
  type PowerSettings,
  stepSpectrum,
} from './power.js';

/** One failure process of the twin. */
export interface TwinFailureClass {
  readonly id: string;
  readonly label: string;
  readonly per: FailureUnit;
  /** Components of this kind in the job. */
  readonly count: number;
  /** Failures per second over all `count` components (per component-year rate × count, scaled). */
  readonly ratePerSecond: number;
  /** Weibull shape of each component's time to failure (1 = exponential, a Poisson process). */
  readonly weibullShape: number;
  readonly ageSeconds: number;
  readonly detection: Detection;
  readonly replacesNode: boolean;
  /**
   * True when lemon hosts fail this class more often (the hardware classes, with lemons on): `ratePerSecond`
   * is then the thinning bound (every host at its heaviest weight) and each arrival is kept with probability
   * (weight of the job's hosts now) / (that bound); see processes/hosts.ts.
   */
  readonly lemonWeighted?: boolean;
}

/** A correlated failure domain: one event takes `hosts` hosts of the job down at once. */
export interface TwinDomain {
  readonly id: string;
  readonly label: string;
  /** Hosts in one domain. */
  readonly hosts: number;
  /** Domains the job spans. */
  readonly domains: number;
  /** Events per second over all `domains` domains. */
  readonly ratePerSecond: number;
  /** Mean time until the domain's hosts are back (exponential), s. */
  readonly repairSeconds: number;
  readonly detection: 'crash' | 'hang';
}

/** A setting far from an observed or stated reliability: data for the CLI to print, not an error. */
export interface TwinWarning {
  /** The spec field concerned. */
  readonly path: string;
  readonly message: string;
}

/** The mitigation policy of a run (spec `twin.mitigation`); every part absent is off. */
export interface TwinMitigation {
  /** Seconds from the start of a slow-host episode until it is detected (then drained if that pays). */
  readonly stragglerDetectSeconds?: number;
  /** Failures after which a host is excluded and replaced from the platform. */
  readonly excludeAfter?: number;
  /** Seconds for the host replacing an excluded one to arrive. */
  readonly replacementLeadSeconds: number;
  /** Failures predicted `leadSeconds` ahead with this recall; false alarms at recall·rate·(1/precision − 1). */
  readonly prediction?: { readonly recall: number; readonly precision: number; readonly leadSeconds: number };
  readonly checkpointInterval?: 'young' | 'daly';
}

/** Everything a twin run needs, in seconds, counts and MW. */
export interface TwinConfig {
  readonly name: string;
  readonly gpus: number;
  readonly nodes: number;
  readonly gpusPerNode: number;
  readonly dp: number;
  /** GPUs in one data-parallel replica: the unit the job shrinks by. */
  readonly replicaGpus: number;
  readonly stepSeconds: number;
  /** Tokens per second of the healthy job at full speed (the estimate's). */
  readonly tokensPerSecond: number;
  readonly totalTokens: number;
  /** Time to train with no failure, straggler or checkpoint: totalTokens / tokensPerSecond. */
  readonly idealSeconds: number;
  /** Wall-clock window to simulate, when the spec sets `twin.days`. */
  readonly windowSeconds?: number;
  /** Safety stop for runs that never finish (10 × ideal + 30 days). */
  readonly limitSeconds: number;
  readonly bucketSeconds: number;
  readonly classes: readonly TwinFailureClass[];
  readonly detection: { readonly crashSeconds: number; readonly hangSeconds: number };
  readonly restartSeconds: number;
  readonly swapSeconds: number;
  readonly checkpoint: {
    readonly mode: 'blocking' | 'async';
    readonly intervalSeconds: number;
    readonly optimal: boolean;
    readonly bytes: number;
    readonly storageGBps: number;
    readonly writeSeconds: number;
    /** Read bandwidth at a restart (GB/s) and the read of the checkpoint it gives. */
    readonly readGBps: number;
    readonly readSeconds: number;
    /** Time training stops per checkpoint: the whole write (blocking) or the host-memory snapshot (async). */
    readonly stallSeconds: number;
  };
  readonly spares: {
    readonly nodes: number;
    readonly auto: boolean;
    readonly policy: 'wait' | 'shrink';
    readonly autoRepairSeconds: number;
    readonly manualRepairSeconds: number;
    readonly manualShare: number;
    /** Seconds for a host requested from the platform to arrive; absent: the pool refills only by repairs. */
    readonly refillLeadSeconds?: number;
  };
  /**
   * Lemon hosts: host i of the fleet (the job's hosts, then the spares) is a lemon when ⌊(i+1)f⌋ > ⌊if⌋, so a
   * share f of any prefix is; lemons fail the lemon-weighted classes `multiplier` times as often.
   */
  readonly lemons?: {
    readonly fraction: number;
    readonly multiplier: number;
    /** Lemon-weighted class rates carry this factor over the healthy base rate: the thinning bound, W_max / nodes. */
    readonly rateFactor: number;
    /** Weight of the job's first allocation over its host count: (nodes − L + m·L) / nodes ≈ 1 − f + f·m. */
    readonly meanFactor: number;
  };
  readonly domains: readonly TwinDomain[];
  readonly mitigation: TwinMitigation;
  /** Settings far from an observed or stated reliability (the CLI prints them). */
  readonly warnings: readonly TwinWarning[];
  readonly stragglers: {
    readonly ratePerSecond: number;
    readonly meanSeconds: number;
    readonly slowdownMedian: number;
    readonly slowdownSigma: number;
    readonly slowdownMax: number;
  };
  readonly throttling: {
    /** Peak mean clock deficit of one GPU; the job runs at the slowest GPU's (max of n exponentials). */
    readonly peakMeanDeficit: number;
    readonly intervalSeconds: number;
  };
  readonly power: PowerSettings;
  /** Modelled mean time between unplanned interruptions, and mean recovery (detection + restart + reload + swap). */
  readonly mtbfSeconds: number;
  readonly meanRecoverySeconds: number;
}

/** A design the twin can run. */
export interface TwinDesign {
  readonly name: string;
  readonly workload: ResolvedWorkload;
  readonly system: ResolvedSystem;
  readonly plan: ResolvedPlan;
  readonly facility: ResolvedFacility;
  readonly estimate: Estimate;
  readonly factory: Factory;
}

/** Harmonic number H_n = sum 1/i: the mean of the maximum of n unit exponentials (Rényi representation). */
export function harmonic(n: number): number {
  if (n < 1000) {
    let sum = 0;
    for (let i = 1; i <= n; i++) sum += 1 / i;
    return sum;
  }
  // Asymptotic expansion H_n = ln n + γ + 1/(2n) − 1/(12n²) (Knuth, TAOCP vol. 1, 1.2.7).
  return Math.log(n) + 0.5772156649015329 + 1 / (2 * n) - 1 / (12 * n * n);
}

/** ln(n!): exact sum below 256, Stirling's series above (error < 1e-10 there). */
function logFactorial(n: number): number {
  if (n < 256) {
    let sum = 0;
    for (let i = 2; i <= n; i++) sum += Math.log(i);
    return sum;
  }
  // Stirling: ln n! = n ln n − n + ½ ln(2πn) + 1/(12n) − 1/(360n³).
  return n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + 1 / (12 * n) - 1 / (360 * n ** 3);
}

/** P(N = k) for N ~ Poisson(mean), computed in log space so large means do not underflow. */
export function poissonPmf(k: number, mean: number): number {
  if (mean <= 0) return k === 0 ? 1 : 0;
  return Math.exp(-mean + k * Math.log(mean) - logFactorial(k));
}

/** Smallest k with P(Poisson(mean) ≤ k) ≥ q. */
export function poissonQuantile(mean: number, q: number): number {
  if (mean <= 0) return 0;
  let cdf = 0;
  for (let k = 0; ; k++) {
    cdf += poissonPmf(k, mean);
    if (cdf >= q) return k;
  }
}

const DAY = 86400;

/**
 * Hot spares for a run of `runSeconds`: hosts fail at `rate` per second and stay `repairMean` seconds in repair,
 * so the number in repair is Poisson with mean rate·repairMean whatever the repair-time distribution (Palm's
 * theorem for the M/G/∞ queue). With k spares a failure finds the pool empty when at least k hosts are already
 * in repair, which happens rate·T·P(N ≥ k) times in expectation. Take at least ByteRobust's P99 of hosts in
 * repair, and enough that the run expects at most {@link SPARE_STOCKOUTS_PER_RUN} empty-pool failures.
 */
export function autoSpares(rate: number, repairMean: number, runSeconds: number): number {
  const mean = rate * repairMean;
  if (mean <= 0) return 0;
  // P(N ≥ k), summed upwards from k (not 1 − CDF, which loses everything to rounding once it nears 1).
  const tail = (k: number) => {
    let sum = 0;
    for (let n = k; ; n++) {
      const term = poissonPmf(n, mean);
      sum += term;
      if (n > mean && term <= sum * 1e-16) return sum;
    }
  };
  let k = poissonQuantile(mean, SPARE_QUANTILE.value);
  while (rate * runSeconds * tail(k) > SPARE_STOCKOUTS_PER_RUN) k++;
  return k;
}

/**
 * Mean time a failed host's slot stays empty when the platform refills it after `lead` seconds: E[min(X, L)] =
 * ∫₀ᴸ P(X > t) dt for the repair X = Exp(a) + Bernoulli(p)·Exp(b), whose survival is (1 − p)e^{−t/a} +
 * p(a·e^{−t/a} − b·e^{−t/b})/(a − b) (the hypoexponential, Ross, Introduction to Probability Models §5.2.4).
 */
export function refillMean(a: number, b: number, p: number, lead: number): number {
  const part = (m: number) => m * -Math.expm1(-lead / m); // ∫₀ᴸ e^{−t/m} dt
  // Equal means make the hypoexponential an Erlang-2; nudge b to keep the closed form (error O(1e-9)).
  const bb = Math.abs(a - b) < 1e-9 * a ? b * (1 + 1e-6) : b;
  const erlang = (a * part(a) - bb * part(bb)) / (a - bb);
  return (1 - p) * part(a) + p * erlang;
}

/** Expected failures per run that find no spare, in the automatic sizing (a planner choice). */
export const SPARE_STOCKOUTS_PER_RUN = 0.1;

/** Most component failures a run may expect: beyond this the settings are surely wrong (and would not finish). */
export const MAX_EXPECTED_FAILURES = 1e6;

/**
 * Most events one replica may expect from all its processes together (failures and their recovery, straggler
 * episodes, throttling samples, blocking checkpoints): a quarter of the kernel's hard budget (run.ts
 * MAX_RUN_EVENTS), so a run that is refused here is refused before it starts, not after minutes.
 */
export const MAX_EXPECTED_EVENTS = 5e6;

/** Most timeline buckets a run may have (four numbers per bucket go into `--json`: about 1.6 MB at most). */
export const MAX_BUCKETS = 20_000;

/**
 * The Weibull scale λ of one component of a class, seconds, such that each fails `ratePerYear` times in its first
 * year: (year/λ)^k = rate·year.
 */
export function weibullScale(failureClass: TwinFailureClass): number {
  const year = HOURS_PER_YEAR * 3600;
  const perComponent = (failureClass.ratePerSecond / failureClass.count) * year;
  return year / perComponent ** (1 / failureClass.weibullShape);
}

/**
 * Expected failures of a class over [0, T]: rate·T for a Poisson process; N[((a+T)/λ)^k − (a/λ)^k] for Weibull
 * shape k, components of age a and scale λ = year / rate^(1/k) per component (see run.ts).
 */
export function expectedFailures(failureClass: TwinFailureClass, seconds: number): number {
  const k = failureClass.weibullShape;
  if (k === 1 || failureClass.ratePerSecond === 0) return failureClass.ratePerSecond * seconds;
  const scale = weibullScale(failureClass);
  const a = failureClass.ageSeconds;
  return failureClass.count * (((a + seconds) / scale) ** k - (a / scale) ** k);
}

/**
 * The optimal checkpoint interval: Daly's first order (Daly 2006), τ = √(2δ(M + R)), with δ the stall (the write
 * when blocking, the snapshot when asynchronous). Asynchronous checkpoints come no sooner than the last one is
 * written; none is shorter than a step or longer than the run.
 */
export function optimalInterval(c: {
  readonly mode: 'blocking' | 'async';
  readonly writeSeconds: number;
  readonly stallSeconds: number;
  readonly stepSeconds: number;
  readonly runSeconds: number;
  readonly mtbfSeconds: number;
  readonly recoverySeconds: number;
}): number {
  let interval: number;
  if (!Number.isFinite(c.mtbfSeconds)) interval = Math.max(c.runSeconds, c.stallSeconds);
  else if (c.mode === 'blocking') interval = Math.sqrt(2 * c.writeSeconds * (c.mtbfSeconds + c.recoverySeconds));
  else {
    interval = Math.max(
      Math.sqrt(2 * c.stallSeconds * (c.mtbfSeconds + c.recoverySeconds)),
      c.writeSeconds + c.stallSeconds,
    );
  }
  return Math.min(Math.max(interval, c.stepSeconds), Math.max(c.runSeconds, c.stepSeconds));
}

/** Unplanned interruptions per 1,000 node-days of modern fleets: RSC-2 2.34 to OPT on Azure about 16. */
export const FLEET_RATE_RANGE = { low: 2, high: 16 } as const; // reliability-anchors.md §5.3

/** A rate the spec gives this many times above (or below) the census default is called out. */
const RATE_RATIO_WARNING = 10;

/** Recovery settings of the twin a spec may state in hours while leaving the others at minutes. */
const RECOVERY_FIELDS = [
  { path: 'twin.detection.crashSeconds', read: (t: TwinInput) => t.detection?.crashSeconds },
  { path: 'twin.detection.hangSeconds', read: (t: TwinInput) => t.detection?.hangSeconds },
  { path: 'twin.restart.seconds', read: (t: TwinInput) => t.restart?.seconds },
  { path: 'twin.restart.swapSeconds', read: (t: TwinInput) => t.restart?.swapSeconds },
] as const;

/**
 * Settings far from an observed or stated reliability: a fleet rate outside the range of published fleets, a
 * class rate ten times off the census, recovery stated in hours beside defaults of minutes, a fixed spare pool
 * the run is expected to find empty (each time a wait for a repair of `repairMean`).
 */
function reliabilityWarnings(c: {
  readonly twin: ReturnType<typeof resolveTwin>;
  readonly nodes: number;
  readonly failureRate: number;
  readonly hardwareRate: number;
  readonly runSeconds: number;
  readonly spareNodes: number;
  readonly repairMean: number;
  readonly recoverySeconds: number;
  readonly readSeconds: number;
}): TwinWarning[] {
  const warnings: TwinWarning[] = [];
  const { twin } = c;
  const written = twin.written;
  // Per 1,000 node-days: rate per second × 86,400 × 1,000 / nodes (reliability-anchors.md §1.1 and §5.3).
  const perThousandNodeDays = (c.failureRate * DAY * 1000) / c.nodes;
  const { low, high } = FLEET_RATE_RANGE;
  if (c.failureRate > 0 && (perThousandNodeDays < low || perThousandNodeDays > high)) {
    warnings.push({
      path: written.failureScale !== 1 ? 'twin.failureScale' : 'twin.failures',
      message: `${significant(perThousandNodeDays, 3)} unplanned interruptions per 1,000 node-days is outside the ${low}-${high} of published fleets (RSC-2 2.34, Llama 3 3.79, RSC-1 6.50, OPT on Azure about 16; reliability-anchors.md 5.3)`,
    });
  }
  for (const defaults of FAILURE_CLASSES) {
    const given = written.failures?.[defaults.id as keyof NonNullable<TwinInput['failures']>]?.ratePerYear;
    const base = defaults.ratePerYear.value;
    if (given === undefined || !(base > 0) || !(given > 0)) continue;
    const ratio = given / base;
    if (ratio >= RATE_RATIO_WARNING || ratio <= 1 / RATE_RATIO_WARNING) {
      warnings.push({
        path: `twin.failures.${defaults.id}.ratePerYear`,
        message: `${significant(given, 3)} per ${defaults.per}-year is ${significant(ratio, 2)}× the Llama 3 census rate (${significant(base, 3)}): check the unit (failures per component per year)`,
      });
    }
  }
  // Recovery stated in hours beside defaults of minutes: the defaults are a fast, automated fleet's (ByteRobust, Meta).
  const stated = RECOVERY_FIELDS.filter((f) => (f.read(written) ?? 0) >= 3600);
  const defaulted = RECOVERY_FIELDS.filter((f) => f.read(written) === undefined);
  if (stated.length > 0 && defaulted.length > 0) {
    warnings.push({
      path: defaulted[0]?.path ?? 'twin',
      message: `${stated.map((f) => f.path).join(', ')} states recovery in hours, but ${defaulted.map((f) => f.path).join(', ')} keep defaults of minutes from automated fleets (ByteRobust, Meta): set them to this fleet's times`,
    });
  }
  if (c.readSeconds >= 3600 && (written.restart?.seconds ?? 0) < 3600) {
    warnings.push({
      path: 'twin.checkpoint.readGBps',
      message: `reading the checkpoint back takes ${significant(c.readSeconds / 3600, 2)} h at every restart: the recovery (${significant(c.recoverySeconds / 60, 3)} min on average) is dominated by it`,
    });
  }
  // A fixed pool: failures finding it empty, rate·T·P(N ≥ k) with N ~ Poisson(rate·repair) (Palm, M/G/∞).
  if (twin.spares.nodes !== 'auto' && c.hardwareRate > 0) {
    const mean = c.hardwareRate * c.repairMean;
    let below = 0;
    for (let k = 0; k < c.spareNodes; k++) below += poissonPmf(k, mean);
    const empty = c.hardwareRate * c.runSeconds * Math.max(0, 1 - below);
    if (empty >= 1) {
      warnings.push({
        path: 'twin.spares.nodes',
        message: `${c.spareNodes} spare hosts: about ${significant(empty, 2)} host failures are expected to find the pool empty, each waiting for a repair of ${significant(c.repairMean / 3600, 3)} h on average; give more spares, "auto", or spares.refill`,
      });
    }
  }
  return warnings;
}

/** Builds the twin's configuration for a design; `input` is the spec's `twin` section (or undefined). */
export function twinConfig(design: TwinDesign, input: TwinInput | undefined): Result<TwinConfig> {
  // Every default is filled in spec/ (twin-settings.ts); below, settings are read, never the catalog.
  const twin = resolveTwin(input);
  const written = twin.written;
  const issues: SpecIssue[] = [];
  const { system, plan, estimate, factory, facility, workload } = design;
  const gpus = system.gpuCount;
  const nodes = system.nodes;
  const counts: Record<FailureUnit, number> = {
    gpu: gpus,
    node: nodes,
    nic: factory.fabric.hostLinks,
    link: factory.fabric.hostLinks + factory.fabric.switchLinks,
    job: 1,
  };
  const perSecond = 1 / (HOURS_PER_YEAR * 3600);
  const lemonsOn = twin.lemons.fraction > 0 && twin.lemons.multiplier > 1;
  const baseClasses: TwinFailureClass[] = FAILURE_CLASSES.map((defaults) => {
    const settings = twin.failures[defaults.id] ?? {
      ratePerYear: defaults.ratePerYear.value,
      weibullShape: 1,
      ageHours: 0,
    };
    const planned = defaults.detection === 'planned';
    const scale = planned ? 1 : twin.failureScale;
    const count = counts[defaults.per];
    return {
      id: defaults.id,
      label: defaults.label,
      per: defaults.per,
      count,
      ratePerSecond: settings.ratePerYear * perSecond * count * scale,
      weibullShape: settings.weibullShape,
      ageSeconds: settings.ageHours * 3600,
      detection: defaults.detection,
      replacesNode: defaults.replacesNode,
      ...(lemonsOn && defaults.replacesNode && { lemonWeighted: true }),
    };
  });
  // Lemon hosts fail the hardware classes m times as often: the job's first allocation weighs
  // (nodes − L + m·L) / nodes ≈ 1 − f + f·m of the base (AIReSim, arXiv 2603.07041 Table 1: 15% at 5×).
  const lemonHosts = (hosts: number) => Math.floor(hosts * twin.lemons.fraction);
  const lemonMeanFactor = lemonsOn
    ? (nodes - lemonHosts(nodes) + twin.lemons.multiplier * lemonHosts(nodes)) / nodes
    : 1;
  const withRateFactor = (factor: number) =>
    baseClasses.map((c) => (c.lemonWeighted ? { ...c, ratePerSecond: c.ratePerSecond * factor } : c));
  let classes = withRateFactor(lemonMeanFactor);

  const { crashSeconds, hangSeconds } = twin.detection;
  const { seconds: restartSeconds, swapSeconds } = twin.restart;

  // Correlated domains: hosts per rack from the factory, a PDU feeding two racks (planner assumption), the hosts
  // under one leaf switch (its host ports: one per host on a rail-optimized fabric).
  const hostsPerRack = Math.max(1, Math.floor(factory.gpusPerRack / system.gpusPerNode));
  const defaultDomainHosts: Record<string, number> = {
    rack: hostsPerRack,
    pdu: 2 * hostsPerRack,
    leaf: Math.max(1, Math.round(factory.fabric.hostLinks / Math.max(1, factory.fabric.leaves))),
  };
  const domains: TwinDomain[] = twin.domains.map((d) => {
    const hosts = Math.min(nodes, d.hosts ?? defaultDomainHosts[d.id] ?? 1);
    const count = Math.max(1, Math.floor(nodes / hosts));
    return {
      id: d.id,
      label: DOMAIN_LABELS[d.id] ?? d.id,
      hosts,
      domains: count,
      ratePerSecond: d.ratePerYear * perSecond * count * twin.failureScale,
      repairSeconds: d.repairHours * 3600,
      detection: d.id === 'leaf' ? 'hang' : 'crash',
    };
  });

  // Checkpoint: model and optimizer state (factory) written at the storage bandwidth, read back on restart.
  const bytes = factory.storage.checkpointBytes;
  const storageGBps = twin.checkpoint.storageGBps ?? factory.storage.writeGBps;
  const writeSeconds = bytes / (storageGBps * 1e9);
  // The restart reads the checkpoint back at its own bandwidth (ByteCheckpoint, NSDI 25: load and save differ).
  const readGBps = twin.checkpoint.readGBps ?? storageGBps;
  const readSeconds = bytes / (readGBps * 1e9);
  const { mode, snapshotGBps } = twin.checkpoint;
  const stallSeconds = mode === 'blocking' ? writeSeconds : bytes / gpus / (snapshotGBps * 1e9);

  const idealSeconds = workload.training.totalTokens / estimate.tokensPerSecond;
  const windowSeconds = twin.days !== undefined ? twin.days * DAY : undefined;
  const runSeconds = windowSeconds ?? idealSeconds;

  // Rates over the run: the Poisson rate, or a Weibull class's mean rate over the run (its expected count / T).
  const meanRate = (c: TwinFailureClass) => expectedFailures(c, runSeconds) / runSeconds;
  const unplanned = classes.filter((c) => c.detection !== 'planned');
  const domainRate = domains.reduce((sum, d) => sum + d.ratePerSecond, 0);
  const failureRate = unplanned.reduce((sum, c) => sum + meanRate(c), 0) + domainRate;
  const hardwareRate = unplanned.filter((c) => c.replacesNode).reduce((sum, c) => sum + meanRate(c), 0);
  const mtbfSeconds = failureRate > 0 ? 1 / failureRate : Number.POSITIVE_INFINITY;
  const detectionMean =
    failureRate > 0
      ? (unplanned.reduce((sum, c) => sum + meanRate(c) * (c.detection === 'hang' ? hangSeconds : crashSeconds), 0) +
          domains.reduce(
            (sum, d) => sum + d.ratePerSecond * (d.detection === 'hang' ? hangSeconds : crashSeconds),
            0,
          )) /
        failureRate
      : 0;
  const swapShare = failureRate > 0 ? (hardwareRate + domainRate) / failureRate : 0;
  const meanRecoverySeconds = detectionMean + restartSeconds + readSeconds + swapShare * swapSeconds;

  // Guard against settings that would flood the simulation (and are surely not meant).
  const horizon = Math.min(runSeconds * 10 + 30 * DAY, windowSeconds ?? Number.POSITIVE_INFINITY);
  const expected = [
    ...classes.map((c) => ({ id: c.id, failures: expectedFailures(c, horizon) })),
    ...domains.map((d) => ({ id: d.id, failures: d.ratePerSecond * horizon })),
  ];
  const total = expected.reduce((sum, c) => sum + c.failures, 0);
  const flooded = !(total <= MAX_EXPECTED_FAILURES);
  if (flooded) {
    const worst = expected.reduce((a, b) => (b.failures > a.failures ? b : a));
    const isDomain = domains.some((d) => d.id === worst.id);
    issues.push({
      code: 'invalid_value',
      path: isDomain ? `twin.domains.${worst.id}.ratePerYear` : `twin.failures.${worst.id}`,
      value: isDomain
        ? written.domains?.[worst.id as keyof NonNullable<TwinInput['domains']>]?.ratePerYear
        : written.failures?.[worst.id as keyof NonNullable<TwinInput['failures']>],
      message: `these rates give about ${total.toExponential(1)} failures in the run (${worst.id}: ${worst.failures.toExponential(1)}), more than ${MAX_EXPECTED_FAILURES.toExponential(0)}: lower ratePerYear, failureScale or ageHours (a Weibull shape above 1 makes old parts fail fast)`,
    });
  }

  let intervalSeconds: number;
  const interval = twin.checkpoint.intervalMinutes;
  // The mitigation policy sets the interval for the modelled failure rate whatever the spec fixed: Young (1974)
  // τ = √(2δM) (the recovery left out), or Daly (2006) first order τ = √(2δ(M + R)), as "optimal" does.
  const policyInterval = twin.mitigation.checkpointInterval;
  const optimal = interval === 'optimal' || policyInterval !== undefined;
  if (optimal) {
    intervalSeconds = optimalInterval({
      mode,
      writeSeconds,
      stallSeconds,
      stepSeconds: estimate.step.seconds,
      runSeconds,
      mtbfSeconds,
      recoverySeconds: policyInterval === 'young' ? 0 : meanRecoverySeconds,
    });
  } else {
    intervalSeconds = (interval as number) * 60;
    if (intervalSeconds > runSeconds) {
      issues.push({
        code: 'invalid_value',
        path: 'twin.checkpoint.intervalMinutes',
        value: interval,
        message: `a checkpoint every ${(intervalSeconds / 60).toFixed(0)} min is longer than the run (${(runSeconds / 60).toFixed(0)} min${windowSeconds ? ' simulated' : ' of training'}): choose fewer minutes or "optimal"`,
      });
    }
    if (mode === 'async' && intervalSeconds < writeSeconds + stallSeconds) {
      issues.push({
        code: 'invalid_value',
        path: 'twin.checkpoint.intervalMinutes',
        value: interval,
        message: `an asynchronous checkpoint every ${(intervalSeconds / 60).toFixed(2)} min starts before the previous one is snapshotted and written (${((writeSeconds + stallSeconds) / 60).toFixed(2)} min: ${stallSeconds.toFixed(1)} s snapshot at ${snapshotGBps} GB/s, ${writeSeconds.toFixed(1)} s write at ${significant(storageGBps)} GB/s): choose at least ${Math.ceil((writeSeconds + stallSeconds) / 60)} min, or raise snapshotGBps or storageGBps`,
      });
    }
  }

  // Spares: enough that the run rarely finds the pool empty (autoSpares).
  const autoRepairSeconds = twin.spares.autoRepairHours * 3600;
  const manualRepairSeconds = twin.spares.manualRepairHours * 3600;
  const { manualShare, policy } = twin.spares;
  const refillLeadSeconds = twin.spares.refillLeadHours !== undefined ? twin.spares.refillLeadHours * 3600 : undefined;
  // A refilled slot is back at min(repair, lead): the pool's "repair" mean is E[min(X, L)] (refillMean).
  const repairMean =
    refillLeadSeconds === undefined
      ? autoRepairSeconds + manualShare * manualRepairSeconds
      : refillMean(autoRepairSeconds, manualRepairSeconds, manualShare, refillLeadSeconds);
  const auto = twin.spares.nodes === 'auto';
  const spareNodes = auto
    ? flooded
      ? 0
      : autoSpares(hardwareRate, repairMean, runSeconds)
    : (twin.spares.nodes as number);
  if (spareNodes === 0 && policy === 'wait' && hardwareRate > 0 && !flooded && refillLeadSeconds === undefined) {
    issues.push({
      code: 'invalid_value',
      path: 'twin.spares.nodes',
      value: 0,
      message: `no spare hosts with policy "wait": each of the ${(hardwareRate * DAY).toFixed(1)} host failures a day would stop the run for a repair (mean ${(repairMean / 3600).toFixed(0)} h); give spares (or "auto") or set twin.spares.policy: shrink`,
    });
  }

  const dp = plan.dp;
  const replicaGpus = gpus / dp;

  // Throttling: the job runs at its slowest GPU. Each GPU's clock deficit over an interval is exponential with a
  // mean that follows the day; the maximum of n has mean m·H_n, so a peak-to-trough swing S at the reference
  // 16,384 GPUs needs a peak mean m = S / H_16384 per GPU (Llama 3: 1-2% over the day).
  const swing = twin.throttling.diurnalSwing;
  const peakMeanDeficit = swing / harmonic(16384);

  // Power: GPUs draw the training level while computing, the communication level during exposed communication and
  // the idle level while waiting (bubble, imbalance, checkpoints, restarts); the rest of the IT load (CPUs, fans,
  // NICs, switches, storage) is constant. Levels are facility MW (× PUE); the cooling overhead lags (power.ts).
  const tdp = system.accelerator.tdpW ?? 0;
  const capW = Math.min(tdp, system.gpuPowerLimitW ?? Number.POSITIVE_INFINITY);
  const busyW = Math.min(TRAINING_POWER_SHARE.value * tdp, capW);
  const idleW = Math.min(GPU_IDLE_POWER_SHARE.value * tdp, busyW);
  // Communication level: idle + COMM_POWER_SHARE of the gap to the training level (planner assumption, power.ts).
  const commW = idleW + COMM_POWER_SHARE * (busyW - idleW);
  const step = estimate.step;
  const computeSeconds = Math.min(step.seconds, step.compute + step.optimizer);
  const exposed = step.exposedCommunication;
  const commSeconds = Math.min(
    step.seconds - computeSeconds,
    Math.max(0, exposed.tp + exposed.cp + exposed.ep + exposed.pp + exposed.dp + step.offload),
  );
  const phases = [
    { name: 'compute', seconds: computeSeconds, gpuW: busyW },
    { name: 'communication', seconds: commSeconds, gpuW: commW },
    { name: 'waiting', seconds: Math.max(0, step.seconds - computeSeconds - commSeconds), gpuW: idleW },
  ];
  const otherKW = Math.max(0, factory.powerKW.it - (factory.purchasedGpus * busyW) / 1000);
  const pue = facility.pue;
  const mw = (kw: number) => (kw * pue) / 1000;
  // The step average: Σ phase seconds × phase level / step seconds.
  const runningGpuW = phases.reduce((sum, p) => sum + p.seconds * p.gpuW, 0) / step.seconds;
  const runningMW = mw((gpus * runningGpuW + (factory.purchasedGpus - gpus) * idleW) / 1000 + otherKW);
  const idleMW = mw((factory.purchasedGpus * idleW) / 1000 + otherKW);
  const coolingTimeConstantSeconds = COOLING_TIME_CONSTANT_SECONDS;
  const stepPhases = phases.map((p) => ({ name: p.name, seconds: p.seconds, mw: (gpus * p.gpuW) / 1e6 }));
  const held = stepPhases.filter((p) => p.seconds > 0).map((p) => p.mw);
  const stepSwingMW = held.length > 0 ? Math.max(...held) - Math.min(...held) : 0;

  const stragglerRate = twin.stragglers.ratePerNodeYear;
  const throttleIntervalSeconds = THROTTLE_INTERVAL_MINUTES.value * 60;

  // Lemons: arrivals of the lemon-weighted classes at the thinning bound, every lemon of the fleet (job and spares)
  // in the job at once: W_max = nodes + (m − 1)·min(L, nodes); each is kept with probability W_now / W_max.
  let lemons: TwinConfig['lemons'];
  if (lemonsOn) {
    const { fraction, multiplier } = twin.lemons;
    const heaviest = nodes + (multiplier - 1) * Math.min(lemonHosts(nodes + spareNodes), nodes);
    const rateFactor = heaviest / nodes;
    classes = withRateFactor(rateFactor);
    lemons = { fraction, multiplier, rateFactor, meanFactor: lemonMeanFactor };
  }

  const prediction = twin.mitigation.prediction;
  const stragglerDetect = twin.mitigation.stragglerDetectMinutes;

  // One event budget for every process: what a replica is expected to fire over the run.
  if (!flooded) {
    const perSecondOfYear = 1 / (HOURS_PER_YEAR * 3600);
    const sources = [
      { path: 'twin.failures', events: 4 * total * (runSeconds / horizon), fix: 'lower the failure rates' },
      {
        path: 'twin.stragglers.ratePerNodeYear',
        events: 2 * stragglerRate * perSecondOfYear * nodes * runSeconds,
        value: written.stragglers?.ratePerNodeYear,
        fix: 'give fewer episodes per host-year (the default is 0.5)',
      },
      {
        path: 'twin.checkpoint.intervalMinutes',
        events: mode === 'blocking' ? (2 * runSeconds) / intervalSeconds : 0,
        value: written.checkpoint?.intervalMinutes,
        fix: 'checkpoint less often, or "optimal"',
      },
      { path: 'twin.days', events: runSeconds / throttleIntervalSeconds, fix: 'simulate fewer days' },
      {
        // A warning, a checkpoint's start and end per prediction; true ones at recall·rate, all at recall·rate/precision.
        path: 'twin.mitigation.prediction',
        events: prediction ? (3 * prediction.recall * failureRate * runSeconds) / prediction.precision : 0,
        fix: 'raise the precision (fewer false alarms) or lower the failure rates',
      },
      {
        // A detection timer per slow-host episode, and a drain's write and restart.
        path: 'twin.mitigation.stragglers',
        events: stragglerDetect !== undefined ? 3 * stragglerRate * perSecondOfYear * nodes * runSeconds : 0,
        fix: 'give fewer slow-host episodes per host-year',
      },
    ];
    const events = sources.reduce((sum, source) => sum + source.events, 0);
    if (!(events <= MAX_EXPECTED_EVENTS)) {
      const worst = sources.reduce((a, b) => (b.events > a.events ? b : a));
      issues.push({
        code: 'too_big',
        path: worst.path,
        ...(worst.value !== undefined && { value: worst.value }),
        message: `the run would fire about ${formatCount(events)} events (${formatCount(worst.events)} of them from this setting), more than the ${formatCount(MAX_EXPECTED_EVENTS)} a replica may: ${worst.fix}`,
      });
    }
  }
  const bucketSeconds = twin.bucketMinutes * 60;
  const buckets = runSeconds / bucketSeconds;
  if (!(buckets <= MAX_BUCKETS)) {
    const fewest = Math.ceil(runSeconds / MAX_BUCKETS / 60);
    issues.push({
      code: 'too_small',
      path: 'twin.bucketMinutes',
      value: twin.bucketMinutes,
      message: `buckets of ${significant(twin.bucketMinutes, 3)} min cut the ${significant(runSeconds / DAY, 3)}-day run into ${formatCount(buckets)} buckets, more than ${MAX_BUCKETS.toLocaleString('en-US')}: use at least ${fewest} min`,
    });
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    value: {
      name: design.name,
      gpus,
      nodes,
      gpusPerNode: system.gpusPerNode,
      dp,
      replicaGpus,
      stepSeconds: estimate.step.seconds,
      tokensPerSecond: estimate.tokensPerSecond,
      totalTokens: workload.training.totalTokens,
      idealSeconds,
      ...(windowSeconds !== undefined && { windowSeconds }),
      limitSeconds: 10 * idealSeconds + 30 * DAY,
      bucketSeconds,
      classes,
      detection: { crashSeconds, hangSeconds },
      restartSeconds,
      swapSeconds,
      checkpoint: {
        mode,
        intervalSeconds,
        optimal,
        bytes,
        storageGBps,
        writeSeconds,
        readGBps,
        readSeconds,
        stallSeconds,
      },
      spares: {
        nodes: spareNodes,
        auto,
        policy,
        autoRepairSeconds,
        manualRepairSeconds,
        manualShare,
        ...(refillLeadSeconds !== undefined && { refillLeadSeconds }),
      },
      ...(lemons && { lemons }),
      domains,
      mitigation: {
        ...(stragglerDetect !== undefined && { stragglerDetectSeconds: stragglerDetect * 60 }),
        ...(twin.mitigation.excludeAfter !== undefined && { excludeAfter: twin.mitigation.excludeAfter }),
        replacementLeadSeconds: twin.mitigation.replacementLeadHours * 3600,
        ...(prediction && { prediction: { ...prediction, leadSeconds: prediction.leadMinutes * 60 } }),
        ...(policyInterval && { checkpointInterval: policyInterval }),
      },
      warnings: reliabilityWarnings({
        twin,
        nodes,
        failureRate,
        hardwareRate,
        runSeconds,
        spareNodes,
        repairMean,
        recoverySeconds: meanRecoverySeconds,
        readSeconds,
      }),
      stragglers: {
        ratePerSecond: stragglerRate * perSecond * nodes,
        meanSeconds: twin.stragglers.meanMinutes * 60,
        slowdownMedian: twin.stragglers.slowdown,
        slowdownSigma: STRAGGLER_SLOWDOWN_SIGMA.value,
        slowdownMax: Math.max(
          STRAGGLER_SLOWDOWN_MAX.value,
          twin.stragglers.slowdownGiven ? twin.stragglers.slowdown : 1,
        ),
      },
      throttling: { peakMeanDeficit, intervalSeconds: throttleIntervalSeconds },
      power: {
        pue,
        runningMW,
        idleMW,
        // The IT swing at the facility: a first-order cooling lag of τ ≫ step passes (PUE − 1)/√(1 + (ωτ)²) of it.
        stepSwingMW: stepSwingMW * facilityGain(1 / step.seconds, pue, coolingTimeConstantSeconds),
        gpuRunningW: runningGpuW,
        stepHz: 1 / step.seconds,
        phases,
        spectrum: stepSpectrum(stepPhases, pue, coolingTimeConstantSeconds),
        coolingTimeConstantSeconds,
      },
      mtbfSeconds,
      meanRecoverySeconds,
    },
  };
}
